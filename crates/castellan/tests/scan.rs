//! `castellan scan` and `castellan rules`, through the real binary: files, git history (with a
//! real `git`), the inventory link, baselines, output formats, bad input, and no raw secret in
//! any output or in the database.

mod common;

use std::path::Path;
use std::process::Command as Std;

use common::*;

/// Synthetic secrets planted in the tests.
const AWS_SECRET: &str = "Zp4mW8xQ2vN6bR1tY5uI9oP3aS7dF0gH2jK4lL6z";
const GH_TOKEN: &str = "ghp_Vb7Nm2Qw9Er4Ty6Ui1Op3As5Df8Gh0Jk2Lz4";
const PG_PASSWORD: &str = "q9T!vW2#xL7p-Rk4M";

fn git(dir: &Path, args: &[&str], date: &str) {
    let out = Std::new("git")
        .args([
            "-c",
            "user.name=Dev",
            "-c",
            "user.email=dev@example.invalid",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_DATE", date)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn plant_tree(d: &Path) {
    std::fs::create_dir_all(d.join("app/config")).expect("mkdir");
    std::fs::write(
        d.join("app/config/deploy.env"),
        format!(
            "AWS_ACCESS_KEY_ID=AKIAQNWDCIDEPLF05101\nAWS_SECRET_ACCESS_KEY={AWS_SECRET}\nGITHUB_TOKEN={GH_TOKEN}\n"
        ),
    )
    .expect("w");
    std::fs::write(
        d.join("app/.pgpass"),
        format!("db.internal:5432:payments:payments_app:{PG_PASSWORD}\n"),
    )
    .expect("w");
    std::fs::write(d.join("app/logo.png"), b"\x89PNG\r\n\x1a\n\0\0\0binary").expect("w");
}

fn assert_no_secret(hay: &[u8], what: &str) {
    for s in [AWS_SECRET, GH_TOKEN, PG_PASSWORD] {
        assert!(!contains(hay, s), "raw secret leaked into {what}");
    }
}

#[test]
fn scan_files_links_inventory_and_never_prints_secrets() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let estate = estate_in(d);
    castellan(d)
        .args(["run", estate.to_str().expect("utf8"), "--now", NOW])
        .assert()
        .success();
    plant_tree(d);

    let mut outputs = Vec::new();
    let a = castellan(d)
        .args(["scan", "app", "--now", NOW])
        .assert()
        .code(1);
    let table = String::from_utf8_lossy(&a.get_output().stdout).to_string();
    outputs.extend(a.get_output().stdout.clone());
    outputs.extend(a.get_output().stderr.clone());
    assert!(table.contains("config/deploy.env:1"), "{table}");
    assert!(
        table.contains("EXPOSED aws:123456789012"),
        "key tied to the inventory: {table}"
    );
    assert!(table.contains("unmanaged (new)"), "{table}");
    assert!(table.contains("skipped logo.png: binary"), "{table}");

    for format in ["json", "jsonl", "sarif"] {
        let a = castellan(d)
            .args(["scan", "app", "--no-store", "--format", format])
            .assert()
            .code(1);
        outputs.extend(a.get_output().stdout.clone());
    }
    let a = castellan(d)
        .args(["scan", "app", "--no-store", "--format", "json"])
        .assert()
        .code(1);
    let v = json(&a.get_output().stdout);
    let rules: Vec<&str> = v["sightings"]
        .as_array()
        .expect("sightings")
        .iter()
        .filter_map(|s| s["rule_id"].as_str())
        .collect();
    assert!(rules.contains(&"castellan.aws.access-key-id"), "{rules:?}");
    assert!(rules.iter().any(|r| r.contains("github")), "{rules:?}");
    assert!(rules.iter().any(|r| r.contains("pgpass")), "{rules:?}");
    let pg = v["sightings"]
        .as_array()
        .expect("sightings")
        .iter()
        .find(|s| s["rule_id"].as_str().is_some_and(|r| r.contains("pgpass")))
        .expect("pgpass sighting");
    assert_eq!(pg["place"]["path"], ".pgpass");
    assert_eq!(pg["place"]["line"], 1);

    // The exposed inventory key now fails NHI-GOV-016.
    let a = castellan(d)
        .args(["assess", "--now", NOW, "--json"])
        .assert();
    outputs.extend(a.get_output().stdout.clone());
    let a = castellan(d)
        .args(["findings", "list", "--json"])
        .assert()
        .success();
    let findings = String::from_utf8_lossy(&a.get_output().stdout).to_string();
    outputs.extend(a.get_output().stdout.clone());
    assert!(findings.contains("NHI-GOV-016"), "{findings}");
    assert!(findings.contains("unmanaged secret found"), "{findings}");

    // Everything Castellan wrote: the database (and WAL), the data directory, the evidence.
    for e in std::fs::read_dir(d).expect("ls").flatten() {
        let p = e.path();
        if p.ends_with("app") {
            continue; // the planted files themselves
        }
        if p.is_dir() {
            outputs.extend(all_bytes(&p));
        } else {
            outputs.extend(std::fs::read(&p).expect("read"));
        }
    }
    assert!(
        contains(&outputs, "Zp4m…lL6z"),
        "the redacted preview is kept"
    );
    assert_no_secret(&outputs, "outputs, database or data directory");
}

#[test]
fn sarif_output_is_sarif_2_1_0() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    plant_tree(d);
    let out = d.join("scan.sarif");
    castellan(d)
        .args(["scan", "app", "--no-store", "--format", "sarif", "--out"])
        .arg(&out)
        .assert()
        .code(1);
    let v = read_json(&out);
    assert_eq!(v["version"], "2.1.0");
    let run = &v["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    for r in run["results"].as_array().expect("results") {
        let idx = r["ruleIndex"].as_u64().expect("index") as usize;
        assert_eq!(
            rules[idx]["id"], r["ruleId"],
            "ruleIndex points at its rule"
        );
        assert!(r["partialFingerprints"]["castellanFingerprint/v1"].is_string());
        assert!(r["locations"][0]["physicalLocation"]["region"]["startLine"].as_u64() >= Some(1));
    }
}

#[test]
fn git_history_attribution_cache_range_and_staged() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let repo = d.join("repo");
    std::fs::create_dir_all(&repo).expect("mkdir");
    git(&repo, &["init", "-q"], "2026-01-01T00:00:00Z");
    std::fs::write(repo.join("README.md"), "service\n").expect("w");
    git(&repo, &["add", "."], "2026-01-01T00:00:00Z");
    git(
        &repo,
        &["commit", "-q", "-m", "init"],
        "2026-01-01T00:00:00Z",
    );
    std::fs::write(repo.join("ci.env"), format!("GITHUB_TOKEN={GH_TOKEN}\n")).expect("w");
    git(&repo, &["add", "."], "2026-01-02T00:00:00Z");
    git(
        &repo,
        &["commit", "-q", "-m", "ci token"],
        "2026-01-02T00:00:00Z",
    );
    git(&repo, &["rm", "-q", "ci.env"], "2026-01-03T00:00:00Z");
    git(
        &repo,
        &["commit", "-q", "-m", "remove"],
        "2026-01-03T00:00:00Z",
    );

    // The working tree holds nothing; the history does.
    castellan(d)
        .args(["scan", "repo", "--no-store"])
        .assert()
        .success();
    let a = castellan(d)
        .args(["scan", "repo", "--git", "--format", "json", "--now", NOW])
        .assert()
        .code(1);
    let v = json(&a.get_output().stdout);
    let s = &v["sightings"][0];
    assert_eq!(s["place"]["path"], "ci.env");
    assert_eq!(s["place"]["head"], false);
    assert!(s["place"]["commit"].as_str().is_some_and(|c| c.len() == 40));
    assert_eq!(v["roots"][0]["git"]["commits"], 3);

    // Unchanged: served from the cache, same result.
    let a = castellan(d)
        .args(["scan", "repo", "--git", "--format", "json", "--now", NOW])
        .assert()
        .code(1);
    let again = json(&a.get_output().stdout);
    assert_eq!(again["roots"][0]["git"]["blobs_scanned"], 0);
    assert_eq!(again["sightings"], v["sightings"]);

    // Only what came after HEAD~1: the removal adds nothing.
    castellan(d)
        .args([
            "scan",
            "repo",
            "--git",
            "--no-store",
            "--since-commit",
            "HEAD~1",
        ])
        .assert()
        .success();

    // Pre-commit: a staged secret fails the hook.
    std::fs::write(
        repo.join("new.cfg"),
        format!("password_db = \"{PG_PASSWORD}\"\ntoken={GH_TOKEN}\n"),
    )
    .expect("w");
    git(&repo, &["add", "new.cfg"], "2026-01-04T00:00:00Z");
    let a = castellan(&repo)
        .args(["scan", ".", "--staged"])
        .assert()
        .code(1);
    assert_no_secret(&a.get_output().stdout, "staged scan output");
}

#[test]
fn baseline_and_inline_allow() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    plant_tree(d);
    let base = d.join("baseline.json");
    castellan(d)
        .args(["scan", "app", "--no-store", "--format", "json", "--out"])
        .arg(&base)
        .assert()
        .code(1);
    castellan(d)
        .args(["scan", "app", "--no-store", "--baseline"])
        .arg(&base)
        .assert()
        .success();
    std::fs::write(
        d.join("app/extra.env"),
        format!(
            "GITHUB_TOKEN_2={} # castellan:allow\n",
            GH_TOKEN.replace('V', "W")
        ),
    )
    .expect("w");
    castellan(d)
        .args(["scan", "app", "--no-store", "--baseline"])
        .arg(&base)
        .assert()
        .success();
    // The same fingerprints in the folder's own .castellan-ignore.
    let v = read_json(&base);
    let fps: Vec<&str> = v["sightings"]
        .as_array()
        .expect("sightings")
        .iter()
        .filter_map(|s| s["fingerprint"].as_str())
        .collect();
    std::fs::write(
        d.join("app/.castellan-ignore"),
        format!("# reviewed 2026-12-04\n{}\n", fps.join("\n")),
    )
    .expect("w");
    castellan(d)
        .args(["scan", "app", "--no-store"])
        .assert()
        .success();
}

#[test]
fn shallow_and_bare_clones_scan_what_they_hold() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let repo = d.join("origin");
    std::fs::create_dir_all(&repo).expect("mkdir");
    git(&repo, &["init", "-q"], "2026-01-01T00:00:00Z");
    std::fs::write(repo.join("a.env"), format!("GITHUB_TOKEN={GH_TOKEN}\n")).expect("w");
    git(&repo, &["add", "."], "2026-01-01T00:00:00Z");
    git(
        &repo,
        &["commit", "-q", "-m", "one"],
        "2026-01-01T00:00:00Z",
    );
    std::fs::write(repo.join("b.txt"), "nothing\n").expect("w");
    git(&repo, &["add", "."], "2026-01-02T00:00:00Z");
    git(
        &repo,
        &["commit", "-q", "-m", "two"],
        "2026-01-02T00:00:00Z",
    );
    let url = format!("file://{}", repo.display());
    git(
        d,
        &["clone", "-q", "--depth", "1", &url, "shallow"],
        "2026-01-03T00:00:00Z",
    );
    git(
        d,
        &["clone", "-q", "--bare", &url, "bare.git"],
        "2026-01-03T00:00:00Z",
    );
    for r in ["shallow", "bare.git"] {
        let a = castellan(d)
            .args(["scan", r, "--git", "--no-store", "--format", "json"])
            .assert()
            .code(1);
        let v = json(&a.get_output().stdout);
        assert_eq!(v["sightings"][0]["place"]["path"], "a.env", "{r}: {v}");
    }
}

#[test]
fn bad_input_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let a = castellan(d)
        .args(["scan", "nowhere", "--no-store"])
        .assert()
        .code(2);
    assert!(String::from_utf8_lossy(&a.get_output().stderr).contains("nowhere: no such file"));
    std::fs::create_dir_all(d.join("plain")).expect("mkdir");
    let a = castellan(d)
        .args(["scan", "plain", "--git", "--no-store"])
        .assert()
        .code(2);
    assert!(String::from_utf8_lossy(&a.get_output().stderr).contains("not a git repository"));
    // A corrupt repository: objects replaced by junk.
    let repo = d.join("broken");
    std::fs::create_dir_all(repo.join("objects")).expect("mkdir");
    std::fs::create_dir_all(repo.join("refs/heads")).expect("mkdir");
    std::fs::write(repo.join("HEAD"), "ref: refs/heads/main\n").expect("w");
    std::fs::write(
        repo.join("refs/heads/main"),
        "0123456789abcdef0123456789abcdef01234567\n",
    )
    .expect("w");
    let a = castellan(d)
        .args(["scan", "broken", "--git", "--no-store", "--format", "json"])
        .assert();
    let code = a.get_output().status.code();
    assert!(matches!(code, Some(0) | Some(2)), "no panic: {code:?}");
    // Too large files are skipped and said so.
    std::fs::write(d.join("plain/big.txt"), vec![b'a'; 4096]).expect("w");
    let a = castellan(d)
        .args(["scan", "plain", "--no-store", "--max-file-size", "100"])
        .assert()
        .success();
    assert!(
        String::from_utf8_lossy(&a.get_output().stdout).contains("larger than --max-file-size")
    );
    // A bad user rule names its file.
    std::fs::create_dir_all(d.join("rules")).expect("mkdir");
    std::fs::write(
        d.join("rules/mine.yaml"),
        "rules:\n- id: my.rule\n  name: x\n  pattern: '(?P<secret>[a-'\n  keywords: [abc]\n  kind: token\n  provider: x\n  confidence: low\n",
    )
    .expect("w");
    let a = castellan(d)
        .args(["rules", "check", "--rules", "rules"])
        .assert()
        .code(2);
    assert!(String::from_utf8_lossy(&a.get_output().stderr).contains("mine.yaml"));
}

#[test]
fn rules_check_proves_every_builtin_rule() {
    let dir = tempfile::tempdir().expect("tmp");
    let a = castellan(dir.path())
        .args(["rules", "check", "--json"])
        .assert()
        .success();
    let v = json(&a.get_output().stdout);
    assert!(v["rules"].as_u64() >= Some(150), "{v}");
    assert_eq!(v["failures"], serde_json::json!([]));
}

#[test]
fn run_scans_the_estate_repository_and_shows_exposed_keys() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let estate = estate_in(d);
    let a = castellan(d)
        .args([
            "run",
            estate.to_str().expect("utf8"),
            "--now",
            NOW,
            "--json",
        ])
        .assert()
        .success();
    let v = json(&a.get_output().stdout);
    let scan = &v["scan"];
    assert!(scan["exposed_inventory"].as_u64() >= Some(1), "{scan}");
    let a = castellan(d)
        .args(["findings", "list", "--json"])
        .assert()
        .success();
    let f = String::from_utf8_lossy(&a.get_output().stdout).to_string();
    assert!(
        f.contains("AKIAQNWDCIDEPLF05101") || f.contains("ci-deployer"),
        "{f}"
    );
    // The evidence folder holds the SARIF of the scanned repositories.
    let sarif = read_json(&d.join("castellan-out/scan.sarif"));
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    assert!(!results.is_empty());
    assert!(results.iter().all(|r| {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .is_some_and(|u| u.starts_with("repos/nordwind-deploy.git/"))
    }));
}
