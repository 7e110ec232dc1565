//! The main job on the bundled estate, end to end through the real binary.

mod common;

use common::*;
use predicates::prelude::*;

#[test]
fn run_on_example_estate_writes_evidence_and_verifies() {
    let dir = tempfile::tempdir().expect("tmp");
    estate_in(dir.path());
    castellan(dir.path())
        .args(["run", "estate", "--now", NOW])
        .assert()
        .success()
        .stdout(predicate::str::contains("identities"))
        .stdout(predicate::str::contains("ledger"));
    let out = dir.path().join("castellan-out");
    for f in [
        "summary.json",
        "inventory.json",
        "findings.json",
        "report.html",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let summary = read_json(&out.join("summary.json"));
    assert_eq!(summary["inventory"]["identities"], 67);
    assert_eq!(summary["findings"]["excepted"], 3);
    assert!(summary["findings"]["open"].as_u64().expect("open") >= 10);
    castellan(dir.path())
        .args(["ledger", "verify"])
        .assert()
        .success()
        .stdout(predicate::str::contains("ledger OK"));
}

/// The planted problems of examples/estate (see its README) each produce their finding.
#[test]
fn every_planted_problem_is_found() {
    let dir = tempfile::tempdir().expect("tmp");
    estate_in(dir.path());
    castellan(dir.path())
        .args(["run", "estate", "--now", NOW, "-q"])
        .assert()
        .success();
    let out = castellan(dir.path())
        .args(["findings", "list", "--status", "all", "--json"])
        .assert()
        .success();
    let findings = json(&out.get_output().stdout);
    let ids: Vec<(String, String)> = findings
        .as_array()
        .expect("array")
        .iter()
        .map(|f| {
            (
                f["id"].as_str().expect("id").to_string(),
                f["status"].as_str().expect("status").to_string(),
            )
        })
        .collect();
    let has = |id: &str, status: &str| ids.iter().any(|(i, s)| i == id && s == status);
    let k = "k8s:prod-eks";
    for (id, status) in [
        (
            format!("NHI-GOV-002@{k}:tracking/sa/tracking-worker"),
            "open",
        ),
        (
            format!("NHI-GOV-011@{k}:tracking/sa/tracking-worker"),
            "open",
        ),
        (
            format!("NHI-GOV-005@{k}:payments/secret/payments-api-token"),
            "open",
        ),
        (
            format!("NHI-GOV-005@{k}:tracking/secret/legacy-sync-token"),
            "open",
        ),
        (
            format!("NHI-GOV-007@{k}:tracking/secret/legacy-sync-token"),
            "open",
        ),
        (format!("NHI-GOV-011@{k}:ci/sa/acme-deployer"), "open"),
        (format!("NHI-GOV-012@{k}:ci/sa/acme-deployer"), "open"),
    ] {
        assert!(has(&id, status), "{id} not {status}: {ids:?}");
    }
    assert!(
        !ids.iter()
            .any(|(i, _)| i.contains(&format!("{k}:kube-system/sa/replicaset-controller"))),
        "the control plane's own service account judged"
    );
    let p = "aws:123456789012:user";
    assert!(
        has(&format!("NHI-GOV-002@{p}/monitoring-probe"), "open"),
        "{ids:?}"
    );
    assert!(
        has(&format!("NHI-GOV-002@{p}/svc-tracking"), "open"),
        "{ids:?}"
    );
    assert!(has(
        &format!("NHI-GOV-005@{p}/terraform-prod/access-key-1"),
        "open"
    ));
    assert!(
        !ids.iter()
            .any(|(i, _)| i.contains("terraform-prod/access-key-2")),
        "inactive key judged"
    );
    assert!(has(
        &format!("NHI-GOV-005@{p}/legacy-batch/access-key-1"),
        "excepted"
    ));
    assert!(has(
        &format!("NHI-GOV-007@{p}/report-exporter/access-key-1"),
        "open"
    ));
    assert!(has(
        &format!("NHI-GOV-007@{p}/old-import-job/access-key-1"),
        "open"
    ));
    assert!(
        !ids.iter().any(|(i, _)| i.contains("queue-worker")),
        "fresh unused key flagged"
    );
    assert!(has(&format!("NHI-GOV-009@{p}/vendor-globex-etl"), "open"));
    assert!(
        !ids.iter()
            .any(|(i, _)| i.starts_with("NHI-GOV-009") && i.contains("vendor-acme"))
    );
    assert!(has(
        "NHI-GOV-007@aws:210987654321:user/experiment-bot/access-key-1",
        "excepted"
    ));
    assert!(has("NHI-GOV-024@exception:EX-2026-007", "open"), "{ids:?}");
    assert!(
        !ids.iter()
            .any(|(i, _)| i == "NHI-GOV-024@exception:EX-2026-004"),
        "a short exception flagged"
    );
    assert!(
        has("NHI-GOV-001@aws:210987654321", "open"),
        "stale sandbox export not flagged"
    );
    assert!(
        !ids.iter().any(|(i, _)| i == "NHI-GOV-001@aws:123456789012"),
        "fresh export flagged"
    );
    assert!(has("NHI-GOV-012@aws:210987654321:root", "open"));
    assert!(
        !ids.iter()
            .any(|(i, _)| i == "NHI-GOV-012@aws:123456789012:root"),
        "root with MFA and no keys flagged"
    );
    assert!(has(&format!("NHI-GOV-014@{p}/old-import-job"), "open"));
    // From the authorization-details export: administrator rights, their approval, and trust.
    let r = "aws:123456789012:role";
    for admin in ["terraform-prod", "legacy-batch", "anna.schmidt"] {
        assert!(has(&format!("NHI-GOV-011@{p}/{admin}"), "open"), "{admin}");
    }
    assert!(has(
        &format!("NHI-GOV-011@{r}/break-glass-admin"),
        "excepted"
    ));
    assert!(has(&format!("NHI-GOV-012@{p}/terraform-prod"), "open"));
    assert!(
        !ids.iter().any(|(i, _)| i.starts_with("NHI-GOV-011")
            && (i.contains("vendor-acme")
                || i.contains("ci-deployer")
                || i.contains("backup-agent"))),
        "denied, bounded or self-only key management counted as administrator"
    );
    assert!(has(
        &format!("NHI-GOV-010@{r}/github-actions-deploy"),
        "open"
    ));
    assert!(has(&format!("NHI-GOV-010@{r}/globex-etl-access"), "open"));
    assert!(has(&format!("NHI-GOV-009@{r}/globex-etl-access"), "open"));
    for fine in [
        "github-actions-readonly",
        "acme-cross-account-reader",
        "AWSServiceRoleForsupport",
    ] {
        assert!(
            !ids.iter().any(|(i, _)| i.ends_with(&format!("{r}/{fine}"))),
            "{fine} flagged: {ids:?}"
        );
    }
    assert!(
        has("NHI-GOV-004@aws:210987654321:user/sandbox-ci", "open"),
        "overdue sandbox review"
    );
    assert!(
        !ids.iter()
            .any(|(i, _)| i.starts_with("NHI-GOV-004@aws:123456789012")),
        "reviewed prod flagged"
    );
    assert!(
        has(&format!("NHI-GOV-008@{p}/old-import-job"), "open"),
        "revoke decision not carried out"
    );
    assert!(
        has(&format!("NHI-GOV-008@{p}/svc-tracking"), "open"),
        "leaver's identity not offboarded"
    );
    assert!(
        !ids.iter()
            .any(|(i, _)| i.starts_with("NHI-GOV-014") && i.contains("anna.schmidt")),
        "a person's console login flagged"
    );
}

fn strip_volatile(mut v: serde_json::Value) -> serde_json::Value {
    v["generated_at"] = serde_json::Value::Null;
    if let Some(items) = v["identities"].as_array_mut() {
        for it in items {
            it["provenance"]["last_run"] = serde_json::Value::Null;
            it["provenance"]["last_seen"] = serde_json::Value::Null;
            for c in it["credentials"].as_array_mut().expect("creds") {
                c["provenance"]["last_run"] = serde_json::Value::Null;
                c["provenance"]["last_seen"] = serde_json::Value::Null;
            }
        }
    }
    v
}

#[test]
fn running_twice_leaves_the_inventory_unchanged() {
    let dir = tempfile::tempdir().expect("tmp");
    estate_in(dir.path());
    castellan(dir.path())
        .args(["run", "estate", "--now", NOW, "-q"])
        .assert()
        .success();
    let first = read_json(&dir.path().join("castellan-out/inventory.json"));
    let findings1 = read_json(&dir.path().join("castellan-out/findings.json"));
    castellan(dir.path())
        .args(["run", "estate", "--now", "2026-12-02T09:00:00Z", "-q"])
        .assert()
        .success();
    let second = read_json(&dir.path().join("castellan-out/inventory.json"));
    assert!(
        strip_volatile(first.clone()) == strip_volatile(second.clone()),
        "inventory changed between runs"
    );
    // only last_seen moved
    let a = &first["identities"][0]["provenance"];
    let b = &second["identities"][0]["provenance"];
    assert_eq!(a["first_seen"], b["first_seen"]);
    assert_ne!(a["last_seen"], b["last_seen"]);
    // the ledger recorded no inventory change the second time
    let findings2 = read_json(&dir.path().join("castellan-out/findings.json"));
    assert_eq!(
        findings1["findings"].as_array().map(Vec::len),
        findings2["findings"].as_array().map(Vec::len)
    );
    let summary = read_json(&dir.path().join("castellan-out/summary.json"));
    for imp in summary["imports"].as_array().expect("imports") {
        assert_eq!(imp["added"], 0, "{imp}");
        assert_eq!(imp["changed"], 0, "{imp}");
        assert_eq!(imp["gone"], 0, "{imp}");
    }
    castellan(dir.path())
        .args(["ledger", "verify"])
        .assert()
        .success();
}

#[test]
fn estate_without_governance_file_makes_every_identity_unowned() {
    let dir = tempfile::tempdir().expect("tmp");
    let estate = estate_in(dir.path());
    std::fs::remove_file(estate.join("castellan.yaml")).expect("rm");
    castellan(dir.path())
        .args(["run", "estate", "--now", NOW, "-q"])
        .assert()
        .success();
    let inv = read_json(&dir.path().join("castellan-out/inventory.json"));
    let items = inv["identities"].as_array().expect("items");
    assert_eq!(items.len(), 67);
    let findings = read_json(&dir.path().join("castellan-out/findings.json"));
    let owner_findings = findings["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["control"] == "NHI-GOV-002")
        .count();
    // Nobody here can own AWS's service-linked role, the Kubernetes controller's service account
    // or the two auto-created `default` service accounts that nothing uses.
    assert_eq!(owner_findings, items.len() - 4);
}

#[test]
fn inventory_json_has_the_documented_fields() {
    let dir = tempfile::tempdir().expect("tmp");
    estate_in(dir.path());
    castellan(dir.path())
        .args(["run", "estate", "--now", NOW, "-q"])
        .assert()
        .success();
    let out = castellan(dir.path())
        .args(["inventory", "list", "--json"])
        .assert()
        .success();
    let items = json(&out.get_output().stdout);
    let items = items.as_array().expect("array");
    assert_eq!(items.len(), 67);
    for it in items {
        for k in [
            "id",
            "kind",
            "source",
            "name",
            "owner",
            "custodian",
            "service",
            "supplier",
            "status",
            "credentials",
            "risk",
        ] {
            assert!(it.get(k).is_some(), "missing {k} in {it}");
        }
        for c in it["credentials"].as_array().expect("creds") {
            for k in [
                "id",
                "kind",
                "status",
                "created_at",
                "last_rotated_at",
                "last_used_at",
                "expires_at",
                "fingerprint",
            ] {
                assert!(c.get(k).is_some(), "missing {k} in {c}");
            }
            for k in [
                "created_at",
                "last_rotated_at",
                "last_used_at",
                "expires_at",
            ] {
                let v = &c[k];
                assert!(
                    v.is_null()
                        || v.as_str()
                            .is_some_and(|s| s.ends_with('Z') && s.len() == 20),
                    "{k} = {v}"
                );
            }
        }
    }
    let text = serde_json::to_string(items).expect("json");
    for sentinel in ["N/A", "no_information", "not_supported"] {
        assert!(
            !text.contains(&format!("\"{sentinel}\"")),
            "sentinel {sentinel} leaked into the inventory"
        );
    }
    // the risk score is the sum of its explained factors
    for it in items {
        let sum: u64 = it["risk"]["factors"]
            .as_array()
            .expect("factors")
            .iter()
            .map(|f| f["points"].as_u64().expect("points"))
            .sum();
        assert_eq!(
            it["risk"]["score"].as_u64().expect("score"),
            sum.min(100),
            "{}",
            it["id"]
        );
    }
    let globex = items
        .iter()
        .find(|i| i["name"] == "vendor-globex-etl")
        .expect("globex");
    let factors: Vec<&str> = globex["risk"]["factors"]
        .as_array()
        .expect("factors")
        .iter()
        .map(|f| f["factor"].as_str().expect("factor"))
        .collect();
    assert!(
        factors.contains(&"third_party") && factors.contains(&"findings"),
        "{factors:?}"
    );
    let ci = items
        .iter()
        .find(|i| i["name"] == "ci-deployer")
        .expect("ci-deployer");
    assert_eq!(ci["owner"], "anna.schmidt@nordwind.example");
    let out = castellan(dir.path())
        .args([
            "inventory",
            "show",
            "aws:123456789012:user/vendor-globex-etl",
            "--json",
        ])
        .assert()
        .success();
    let shown = json(&out.get_output().stdout);
    assert_eq!(shown["supplier"], "globex");
    assert!(
        shown["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f["control"] == "NHI-GOV-009")
    );
    castellan(dir.path())
        .args(["inventory", "show", "nope"])
        .assert()
        .code(2);
}

#[test]
fn global_flags_work_before_and_after_the_verb() {
    let dir = tempfile::tempdir().expect("tmp");
    estate_in(dir.path());
    castellan(dir.path())
        .args(["--db", "x.db", "--now", NOW, "--quiet", "run", "estate"])
        .assert()
        .success()
        .stdout(predicate::str::is_empty());
    let out = castellan(dir.path())
        .args(["findings", "list", "--db", "x.db", "--json"])
        .assert()
        .success();
    assert!(json(&out.get_output().stdout).is_array());
    castellan(dir.path())
        .env("CASTELLAN_NOW", NOW)
        .env("CASTELLAN_DB", "x.db")
        .args(["assess", "--json"])
        .assert()
        .success();
}

#[test]
fn fail_on_sets_exit_code_one() {
    let dir = tempfile::tempdir().expect("tmp");
    estate_in(dir.path());
    castellan(dir.path())
        .args(["run", "estate", "--now", NOW, "--fail-on", "high", "-q"])
        .assert()
        .code(1);
    castellan(dir.path())
        .args(["assess", "--now", NOW, "--fail-on", "critical", "-q"])
        .assert()
        .code(1); // the sandbox root signs in without MFA
    // Without the sandbox account, the production policies and the GCP project (administrators
    // holding static keys) nothing critical is open.
    let other = tempfile::tempdir().expect("tmp");
    let estate = estate_in(other.path());
    std::fs::remove_file(estate.join("aws/sandbox-credential-report.json")).expect("rm");
    std::fs::remove_file(estate.join("aws/prod-authorization-details.json")).expect("rm");
    std::fs::remove_file(estate.join("k8s/prod-eks.json")).expect("rm");
    std::fs::remove_file(estate.join("gcp/nordwind-analytics.json")).expect("rm");
    // …and without the repository whose history leaks the CI deployer's key.
    std::fs::remove_dir_all(estate.join("repos")).expect("rm");
    castellan(other.path())
        .args(["run", "estate", "--now", NOW, "--fail-on", "critical", "-q"])
        .assert()
        .code(0);
}

#[test]
fn usage_errors_exit_two() {
    let dir = tempfile::tempdir().expect("tmp");
    castellan(dir.path()).args(["run"]).assert().code(2);
    castellan(dir.path())
        .args(["run", "no-such-folder"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no-such-folder"));
    castellan(dir.path())
        .args(["assess", "--now", "yesterday"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("RFC 3339"));
    castellan(dir.path()).args(["frobnicate"]).assert().code(2);
}

#[test]
fn evidence_snapshots() {
    let dir = tempfile::tempdir().expect("tmp");
    estate_in(dir.path());
    // A fixed fingerprint key: credentials a scan finds are named by their fingerprint.
    std::fs::create_dir_all(dir.path().join(".castellan")).expect("mkdir");
    std::fs::write(
        dir.path().join(".castellan/fingerprint.key"),
        "5a".repeat(32),
    )
    .expect("key");
    castellan(dir.path())
        .args(["run", "estate", "--now", NOW, "-q"])
        .assert()
        .success();
    let out = dir.path().join("castellan-out");
    let mut findings = read_json(&out.join("findings.json"));
    insta::assert_json_snapshot!("findings", findings.take());
    let mut summary = read_json(&out.join("summary.json"));
    summary["database"] = "<db>".into();
    for k in ["origin", "key_id", "signature"] {
        summary["ledger"]["checkpoint"][k] = format!("<{k}>").into();
    }
    insta::assert_json_snapshot!("summary", summary);
    let cp = &read_json(&out.join("summary.json"))["ledger"]["checkpoint"];
    let mut html = std::fs::read_to_string(out.join("report.html")).expect("html");
    for k in ["origin", "key_id", "signature"] {
        html = html.replace(cp[k].as_str().expect("field"), &format!("<{k}>"));
    }
    insta::assert_snapshot!("report_html", html);
}
