//! Kubernetes exports through the real binary: the estate's `kubectl get … -A -o json` List and
//! a folder of manifest YAML. Service accounts, legacy tokens, RBAC privilege (direct and through
//! the `system:serviceaccounts:<ns>` group), consumers, lifecycle authority, cluster naming,
//! idempotence, gone records, secrets never stored, and bad input.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use predicates::prelude::*;
use serde_json::Value;

fn estate_export() -> PathBuf {
    repo_root().join("examples/estate/k8s/prod-eks.json")
}

fn manifests() -> PathBuf {
    repo_root().join("crates/castellan/tests/fixtures/k8s/manifests.yaml")
}

fn import(dir: &Path, extra: &[&str], files: &[&Path]) -> Value {
    let mut c = castellan(dir);
    c.args(["--json", "--now", NOW, "import", "kubernetes"]);
    c.args(extra);
    c.args(files);
    let out = c.assert().success();
    json(&out.get_output().stdout)
}

fn show(dir: &Path, id: &str) -> Value {
    let out = castellan(dir)
        .args(["inventory", "show", id, "--json"])
        .assert()
        .success();
    json(&out.get_output().stdout)
}

fn can(item: &Value, principal: &str) -> Vec<String> {
    item["attributes"]["lifecycle_authority"]["principals"]
        .as_array()
        .expect("principals")
        .iter()
        .find(|e| e["principal"] == principal)
        .map(|e| {
            e["can"]
                .as_array()
                .expect("can")
                .iter()
                .map(|s| s.as_str().expect("step").to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn service_accounts_tokens_privilege_consumers_and_authority() {
    let dir = tempfile::tempdir().expect("tmp");
    let report = import(dir.path(), &["--cluster", "prod"], &[&estate_export()]);
    assert_eq!(report[0]["source"], "kubernetes");
    let list = castellan(dir.path())
        .args(["inventory", "list", "--all", "--json"])
        .assert()
        .success();
    let list = json(&list.get_output().stdout);
    let ids: Vec<&str> = list
        .as_array()
        .expect("list")
        .iter()
        .map(|i| i["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids.len(), 9, "{ids:?}");
    assert!(ids.iter().all(|i| i.starts_with("k8s:prod:")), "{ids:?}");

    let api = show(dir.path(), "k8s:prod:payments/sa/payments-api");
    assert_eq!(api["kind"], "k8s-service-account");
    assert_eq!(api["source"], "kubernetes");
    assert_eq!(api["privilege"], "read"); // ClusterRole view through a RoleBinding
    let creds = api["credentials"].as_array().expect("credentials");
    assert_eq!(creds.len(), 1);
    let token = &creds[0];
    assert_eq!(token["id"], "k8s:prod:payments/secret/payments-api-token");
    assert_eq!(token["kind"], "token");
    assert_eq!(token["created_at"], "2024-03-04T09:12:00Z");
    assert_eq!(token["last_used_at"], "2026-11-30T00:00:00Z");
    assert_eq!(token["expires_at"], Value::Null);
    assert!(token["fingerprint"].as_str().is_some_and(|f| !f.is_empty()));
    let consumers = api["attributes"]["consumers"]
        .as_array()
        .expect("consumers");
    assert_eq!(
        consumers.len(),
        1,
        "two pods of one Deployment are one consumer"
    );
    assert_eq!(
        consumers[0]["id"],
        "k8s:prod:payments/deployment/payments-api"
    );
    assert_eq!(
        api["attributes"]["workload_identity"][0]["target"],
        "arn:aws:iam::123456789012:role/payments-api-irsa"
    );
    // who may issue, use and revoke its token
    assert_eq!(
        can(&api, "k8s:prod:group/platform-ops"),
        ["issue", "revoke", "use"]
    );
    assert_eq!(
        can(&api, "k8s:prod:ops/sa/secret-rotator"),
        ["issue", "revoke", "use"]
    );
    assert_eq!(
        can(&api, "k8s:prod:tracking/sa/tracking-worker"),
        ["issue", "revoke", "use"],
        "cluster-admin reaches every namespace"
    );
    assert!(can(&api, "k8s:prod:tracking/sa/legacy-sync").is_empty());

    let worker = show(dir.path(), "k8s:prod:tracking/sa/tracking-worker");
    assert_eq!(worker["privilege"], "admin");
    assert!(
        worker["attributes"]["privilege_reason"]
            .as_str()
            .is_some_and(|r| r.contains("ClusterRoleBinding tracking-worker-admin"))
    );
    let acme = show(dir.path(), "k8s:prod:ci/sa/acme-deployer");
    assert_eq!(
        acme["privilege"], "admin",
        "edit may impersonate service accounts"
    );
    let rs = show(dir.path(), "k8s:prod:kube-system/sa/replicaset-controller");
    assert_eq!(rs["attributes"]["managed_by"], "kubernetes");
    let alb = show(
        dir.path(),
        "k8s:prod:kube-system/sa/aws-load-balancer-controller",
    );
    assert!(
        alb["attributes"].get("managed_by").is_none(),
        "add-ons in kube-system are the organisation's"
    );

    // No token or secret value anywhere: database, WAL, keys, output.
    let out = castellan(dir.path())
        .args(["inventory", "list", "--all", "--json"])
        .assert()
        .success();
    let mut everything = all_bytes(dir.path());
    everything.extend(out.get_output().stdout.clone());
    let raw = std::fs::read_to_string(estate_export()).expect("read");
    let planted_b64 = raw
        .split("\"token\": \"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a token in the fixture")
        .to_string();
    let planted = String::from_utf8(
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &planted_b64)
            .expect("b64"),
    )
    .expect("utf8");
    for needle in [
        planted_b64.as_str(),
        &planted[..40],
        &planted[planted.len() - 30..],
        "Nordwind-demo-db-password-2024",
        "Tm9yZHdpbmQtZGVtby1kYi1wYXNzd29yZC0yMDI0",
    ] {
        assert!(!contains(&everything, needle), "found {needle}");
    }
}

#[test]
fn manifests_group_grants_and_templates() {
    let dir = tempfile::tempdir().expect("tmp");
    import(dir.path(), &[], &[&manifests()]);
    // the cluster is named after the file
    let etl = show(dir.path(), "k8s:manifests:data/sa/etl");
    // system:serviceaccounts:data may read every secret in the cluster
    assert_eq!(etl["privilege"], "admin");
    let consumers = etl["attributes"]["consumers"]
        .as_array()
        .expect("consumers");
    let kinds: Vec<(&str, &str)> = consumers
        .iter()
        .map(|c| {
            (
                c["kind"].as_str().expect("kind"),
                c["token"].as_str().expect("token"),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [("CronJob", "automounted"), ("Deployment", "projected")]
    );
    assert_eq!(etl["attributes"]["workload_identity"][0]["provider"], "gcp");
    let reader = show(dir.path(), "k8s:manifests:data/sa/metrics-reader");
    assert_eq!(reader["privilege"], "admin");
    let out = castellan(dir.path())
        .args(["--json", "assess"])
        .args(["--now", NOW])
        .assert();
    let out = json(&out.get_output().stdout);
    assert!(out.is_object(), "{out}");
}

#[test]
fn run_recognises_exports_and_reimport_is_idempotent() {
    let dir = tempfile::tempdir().expect("tmp");
    let estate = dir.path().join("estate");
    std::fs::create_dir_all(estate.join("clusters")).expect("mkdir");
    std::fs::copy(estate_export(), estate.join("clusters/prod-eks.json")).expect("copy");
    std::fs::copy(manifests(), estate.join("clusters/gitops.yaml")).expect("copy");
    castellan(dir.path())
        .args(["--now", NOW, "run"])
        .arg(&estate)
        .assert()
        .success();
    let first = castellan(dir.path())
        .args(["inventory", "list", "--all", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let first = json(&first);
    let ids: Vec<&str> = first
        .as_array()
        .expect("list")
        .iter()
        .map(|i| i["id"].as_str().expect("id"))
        .collect();
    assert!(ids.contains(&"k8s:prod-eks:payments/sa/payments-api"));
    assert!(ids.contains(&"k8s:gitops:data/sa/etl"));

    let again = import(dir.path(), &[], &[&estate.join("clusters/prod-eks.json")]);
    assert_eq!(again[0]["added"], 0);
    assert_eq!(again[0]["changed"], 0);
    assert_eq!(again[0]["gone"], 0);
    assert!(again[0]["unchanged"].as_u64().is_some_and(|n| n > 0));

    // A service account deleted from the cluster is gone at the next import.
    let text = std::fs::read_to_string(estate.join("clusters/prod-eks.json")).expect("read");
    let mut doc: Value = serde_json::from_str(&text).expect("json");
    let items = doc["items"].as_array_mut().expect("items");
    items.retain(|i| !(i["kind"] == "ServiceAccount" && i["metadata"]["name"] == "legacy-sync"));
    std::fs::write(
        estate.join("clusters/prod-eks.json"),
        serde_json::to_vec(&doc).expect("json"),
    )
    .expect("write");
    let after = import(dir.path(), &[], &[&estate.join("clusters/prod-eks.json")]);
    assert_eq!(after[0]["gone"], 1, "{after}");
    castellan(dir.path())
        .args(["ledger", "verify"])
        .assert()
        .success();
}

#[test]
fn bad_input_names_the_file_and_commits_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    import(dir.path(), &["--cluster", "prod"], &[&estate_export()]);
    let before = castellan(dir.path())
        .args(["inventory", "list", "--all", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = std::fs::read_to_string(estate_export()).expect("read");
    let mut laughs = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..14 {
        let p = i - 1;
        laughs.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    laughs.push_str("apiVersion: v1\nkind: ServiceAccount\n");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("truncated.json", text.as_bytes()[..text.len() / 3].to_vec(), "truncated"),
        (
            "wrong-type.json",
            text.replacen("\"name\": \"payments-api\"", "\"name\": 42", 1)
                .into_bytes(),
            "metadata.name",
        ),
        (
            "bad-date.json",
            text.replacen("\"creationTimestamp\": \"2024", "\"creationTimestamp\": \"last spring 2024", 1)
                .into_bytes(),
            "creationTimestamp",
        ),
        ("binary.json", b"\x00\x9f\x92\x96{\"kind\"".to_vec(), "UTF-8"),
        ("empty.json", Vec::new(), "empty"),
        (
            "deep.json",
            format!("{{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": {}{}}}", "[".repeat(100_000), "]".repeat(100_000))
                .into_bytes(),
            "deep.json",
        ),
        ("laughs.yaml", laughs.into_bytes(), "laughs.yaml"),
        (
            "nothing.json",
            br#"{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}]}"#.to_vec(),
            "no ServiceAccount",
        ),
    ];
    for (name, bytes, expect) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).expect("write");
        castellan(dir.path())
            .args(["--now", NOW, "import", "kubernetes", "--cluster", "prod"])
            .arg(&p)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(expect))
            .stderr(predicate::str::contains("panicked").not());
    }
    castellan(dir.path())
        .args(["import", "kubernetes", "--cluster", "a:b"])
        .arg(estate_export())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--cluster"));
    let after = castellan(dir.path())
        .args(["inventory", "list", "--all", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(before, after, "a failed import changed the inventory");
    castellan(dir.path())
        .args(["ledger", "verify"])
        .assert()
        .success();
}
