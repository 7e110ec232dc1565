//! The control catalogue and framework coverage from the command line.

mod common;

use common::*;
use predicates::prelude::*;

#[test]
fn controls_list_and_show() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = castellan(dir.path())
        .args(["controls", "list", "--json"])
        .assert()
        .success();
    let list = json(&out.get_output().stdout);
    let list = list.as_array().expect("array");
    assert_eq!(list.len(), 24);
    let builtin: Vec<&str> = list
        .iter()
        .filter(|c| c["automation"] == "builtin")
        .map(|c| c["id"].as_str().expect("id"))
        .collect();
    assert_eq!(
        builtin,
        [
            "NHI-GOV-001",
            "NHI-GOV-002",
            "NHI-GOV-004",
            "NHI-GOV-005",
            "NHI-GOV-007",
            "NHI-GOV-008",
            "NHI-GOV-009",
            "NHI-GOV-010",
            "NHI-GOV-011",
            "NHI-GOV-012",
            "NHI-GOV-014",
            "NHI-GOV-016",
            "NHI-GOV-021",
            "NHI-GOV-024"
        ]
    );
    assert!(list.iter().any(|c| c["automation"] == "manual"));
    castellan(dir.path())
        .args(["controls", "show", "NHI-GOV-005"])
        .assert()
        .success()
        .stdout(predicate::str::contains("rotation_max_age_days: 90"))
        .stdout(predicate::str::contains("Art.21(2)(h)"));
    castellan(dir.path())
        .args(["controls", "show", "NHI-GOV-999"])
        .assert()
        .code(2);
}

#[test]
fn coverage_matrix_shows_covered_and_uncovered_items() {
    let dir = tempfile::tempdir().expect("tmp");
    for fw in ["nis2", "cir", "csf2", "owasp-nhi", "cis8", "iso27001"] {
        let out = castellan(dir.path())
            .args(["controls", "map", "--framework", fw, "--json"])
            .assert()
            .success();
        let m = json(&out.get_output().stdout);
        let items = m["items"].as_u64().expect("items");
        let rows = m["rows"].as_array().expect("rows");
        assert_eq!(rows.len() as u64, items, "{fw}");
        assert!(m["covered"].as_u64().expect("covered") > 0, "{fw}");
    }
    let out = castellan(dir.path())
        .args(["controls", "map", "--framework", "owasp-nhi", "--json"])
        .assert()
        .success();
    let m = json(&out.get_output().stdout);
    assert_eq!(m["items"], 10);
    let out = castellan(dir.path())
        .args([
            "controls",
            "map",
            "--framework",
            "nis2",
            "--uncovered",
            "--json",
        ])
        .assert()
        .success();
    let m = json(&out.get_output().stdout);
    let rows = m["rows"].as_array().expect("rows");
    assert!(!rows.is_empty());
    assert!(
        rows.iter()
            .all(|r| r["controls"].as_array().is_some_and(Vec::is_empty))
    );
    assert!(
        rows.iter().any(|r| r["item"]["id"] == "Art.21(2)(g)"),
        "{rows:?}"
    );
    castellan(dir.path())
        .args(["controls", "map", "--framework", "sox"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("nis2"));
}

#[test]
fn controls_that_are_not_evaluated_are_never_reported_as_passing() {
    let dir = tempfile::tempdir().expect("tmp");
    estate_in(dir.path());
    castellan(dir.path())
        .args(["run", "estate", "--now", NOW, "-q"])
        .assert()
        .success();
    let summary = read_json(&dir.path().join("castellan-out/summary.json"));
    let controls = summary["controls"].as_array().expect("controls");
    assert_eq!(
        controls.len(),
        24 + 2,
        "catalogue + the estate's two custom controls"
    );
    for c in controls {
        let status = c["status"].as_str().expect("status");
        match c["automation"].as_str().expect("automation") {
            "builtin" => assert!(status == "failing" || status == "passing", "{c}"),
            "custom" => assert!(status == "failing" || status == "passing", "{c}"),
            "manual" => assert!(
                status == "manual_attestation_required" || status == "attested",
                "{c}"
            ),
            _ => assert_eq!(status, "not_evaluated"),
        }
    }
    // every built-in control fails at least once on the example estate
    assert!(
        controls
            .iter()
            .filter(|c| c["automation"] == "builtin")
            .all(|c| c["status"] == "failing")
    );
    let html = std::fs::read_to_string(dir.path().join("castellan-out/report.html")).expect("html");
    assert!(
        html.contains("not evaluated yet") && html.contains("attested by ciso@nordwind.example")
    );
}

#[test]
fn manual_controls_show_their_attestation() {
    let dir = tempfile::tempdir().expect("tmp");
    estate_in(dir.path());
    castellan(dir.path())
        .args(["run", "estate", "--now", NOW, "-q"])
        .assert()
        .success();
    let summary = read_json(&dir.path().join("castellan-out/summary.json"));
    let c023 = summary["controls"]
        .as_array()
        .expect("controls")
        .iter()
        .find(|c| c["id"] == "NHI-GOV-023")
        .expect("023")
        .clone();
    assert_eq!(c023["status"], "attested");
    assert!(
        c023["attestation"]["evidence"]
            .as_str()
            .expect("evidence")
            .contains("BRD-2026-10-014")
    );
    // after it expires, the control needs a new attestation
    castellan(dir.path())
        .args(["run", "estate", "--now", "2027-11-01T00:00:00Z", "-q"])
        .assert()
        .success();
    let summary = read_json(&dir.path().join("castellan-out/summary.json"));
    let c023 = summary["controls"]
        .as_array()
        .expect("controls")
        .iter()
        .find(|c| c["id"] == "NHI-GOV-023")
        .expect("023")
        .clone();
    assert_eq!(c023["status"], "manual_attestation_required");
}

#[test]
fn governance_naming_unknown_controls_or_self_approval_is_rejected() {
    let dir = tempfile::tempdir().expect("tmp");
    let estate = estate_in(dir.path());
    let gov = std::fs::read_to_string(estate.join("castellan.yaml")).expect("read");
    let bad = gov.replacen("control: NHI-GOV-005", "control: NHI-GOV-055", 1);
    let line = bad
        .lines()
        .position(|l| l.contains("NHI-GOV-055"))
        .expect("line")
        + 1;
    std::fs::write(estate.join("castellan.yaml"), &bad).expect("w");
    castellan(dir.path())
        .args(["run", "estate", "--now", NOW])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!("castellan.yaml:{line}")))
        .stderr(predicate::str::contains("NHI-GOV-055"));
    let selfish = gov.replacen(
        "requested_by: mehmet.yilmaz@nordwind.example",
        "requested_by: ciso@nordwind.example",
        1,
    );
    assert_ne!(selfish, gov);
    std::fs::write(estate.join("castellan.yaml"), &selfish).expect("w");
    castellan(dir.path())
        .args(["run", "estate", "--now", NOW])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("second person"));
}

#[test]
fn assess_can_evaluate_selected_controls_only() {
    let dir = tempfile::tempdir().expect("tmp");
    estate_in(dir.path());
    castellan(dir.path())
        .args(["run", "estate", "--now", NOW, "-q"])
        .assert()
        .success();
    let before = json(
        &castellan(dir.path())
            .args(["findings", "list", "--json"])
            .assert()
            .success()
            .get_output()
            .stdout,
    );
    let out = castellan(dir.path())
        .args(["assess", "--now", NOW, "--control", "NHI-GOV-009", "--json"])
        .assert()
        .success();
    let report = json(&out.get_output().stdout);
    let findings = report["findings"].as_array().expect("findings");
    assert!(!findings.is_empty());
    assert!(findings.iter().all(|f| f["control"] == "NHI-GOV-009"));
    assert_eq!(
        report["closed"], 0,
        "findings of other controls must not close"
    );
    let after = json(
        &castellan(dir.path())
            .args(["findings", "list", "--json"])
            .assert()
            .success()
            .get_output()
            .stdout,
    );
    assert_eq!(before, after);
    castellan(dir.path())
        .args(["assess", "--control", "NHI-GOV-023"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "not a control Castellan evaluates",
        ));
}

#[test]
fn high_assurance_profile_tightens_thresholds() {
    let dir = tempfile::tempdir().expect("tmp");
    let estate = estate_in(dir.path());
    let gov = std::fs::read_to_string(estate.join("castellan.yaml")).expect("read");
    let standard = gov
        .replace("thresholds:\n", "")
        .replace("  rotation_max_age_days: 90\n", "")
        .replace("  dormant_days: 45\n", "");
    std::fs::write(estate.join("castellan.yaml"), &standard).expect("w");
    castellan(dir.path())
        .args(["run", "estate", "--now", NOW, "-q"])
        .assert()
        .success();
    let n_standard = read_json(&dir.path().join("castellan-out/summary.json"))["findings"]["open"]
        .as_u64()
        .expect("open");
    let strict = standard.replace("profile: standard", "profile: high_assurance");
    assert_ne!(strict, standard, "fixture has no profile line");
    std::fs::write(estate.join("castellan.yaml"), &strict).expect("w");
    castellan(dir.path())
        .args(["run", "estate", "--now", NOW, "-q"])
        .assert()
        .success();
    let summary = read_json(&dir.path().join("castellan-out/summary.json"));
    assert!(summary["findings"]["open"].as_u64().expect("open") > n_standard);
    assert_eq!(summary["thresholds"]["rotation_max_age_days"], 30);
}

#[test]
fn custom_rego_controls_run_with_the_estate() {
    let dir = tempfile::tempdir().expect("tmp");
    estate_in(dir.path());
    castellan(dir.path())
        .args(["run", "estate", "--now", NOW, "-q"])
        .assert()
        .success();
    let out = castellan(dir.path())
        .args(["findings", "list", "--control", "CUSTOM-OPS-001", "--json"])
        .assert()
        .success();
    let f = json(&out.get_output().stdout);
    let subjects: Vec<&str> = f
        .as_array()
        .expect("array")
        .iter()
        .map(|x| x["subject"].as_str().expect("s"))
        .collect();
    assert_eq!(
        subjects,
        [
            "aws:123456789012:user/monitoring-probe",
            "aws:123456789012:user/old-import-job"
        ]
    );
    let summary = read_json(&dir.path().join("castellan-out/summary.json"));
    let custom: Vec<(String, String)> = summary["controls"]
        .as_array()
        .expect("controls")
        .iter()
        .filter(|c| c["automation"] == "custom")
        .map(|c| {
            (
                c["id"].as_str().expect("id").into(),
                c["status"].as_str().expect("st").into(),
            )
        })
        .collect();
    assert_eq!(
        custom,
        [
            ("CUSTOM-CI-001".to_string(), "passing".to_string()),
            ("CUSTOM-OPS-001".to_string(), "failing".to_string())
        ]
    );
}

#[test]
fn broken_or_endless_policies_are_reported_and_everything_else_still_runs() {
    let dir = tempfile::tempdir().expect("tmp");
    let estate = estate_in(dir.path());
    std::fs::write(
        estate.join("policies/broken.rego"),
        "package castellan.custom.broken\n\nmetadata := {\"id\": \"CUSTOM-BAD\", \"title\": \"x\", \"severity\": \"low\"}\n\nfindings contains f if {\n    f := \n}\n",
    )
    .expect("w");
    std::fs::write(
        estate.join("policies/endless.rego"),
        "package castellan.custom.endless\n\nmetadata := {\"id\": \"CUSTOM-SLOW\", \"title\": \"slow\", \"severity\": \"low\"}\n\nfindings contains f if {\n    some a in numbers.range(1, 100000)\n    some b in numbers.range(1, 100000)\n    a + b == -1\n    f := {\"subject\": \"x\"}\n}\n",
    )
    .expect("w");
    let started = std::time::Instant::now();
    castellan(dir.path())
        .env("CASTELLAN_POLICY_TIMEOUT_MS", "500")
        .args(["run", "estate", "--now", NOW, "-q"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("broken.rego"))
        .stderr(predicate::str::contains("syntax error"))
        .stderr(predicate::str::contains("endless.rego"))
        .stderr(predicate::str::contains(
            "2 custom policies were not evaluated",
        ));
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
    // the built-in controls and the working custom policies were still assessed and recorded
    let summary = read_json(&dir.path().join("castellan-out/summary.json"));
    assert!(summary["findings"]["open"].as_u64().expect("open") > 10);
    assert_eq!(summary["policy_errors"].as_array().map(Vec::len), Some(2));
    let out = castellan(dir.path())
        .args(["findings", "list", "--control", "CUSTOM-OPS-001", "--json"])
        .assert()
        .success();
    assert_eq!(
        json(&out.get_output().stdout).as_array().map(Vec::len),
        Some(2)
    );
    castellan(dir.path())
        .args(["ledger", "verify"])
        .assert()
        .success();
}
