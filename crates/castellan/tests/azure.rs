//! Microsoft Entra ID and Azure RBAC through the real binary: the tenant bundle and the separate
//! `az` outputs. Applications, service principals and managed identities with their privilege
//! (RBAC, Graph application permissions, directory roles) and why; client secrets, certificates
//! and federated credentials with their dates, status and weaknesses; who may add and remove
//! credentials; third parties; idempotent re-import; bad input named with nothing committed;
//! secret values never stored.

mod common;
mod importers;

use std::path::{Path, PathBuf};

use common::*;
use importers::*;
use serde_json::{Value, json};

const T: &str = "3c7e9a41-52d8-4f6b-9e0a-1b2c3d4e5f60";
const CI: &str = "5e0c7b2a-91d4-4c3e-8f6a-2b1d0e9c8a71";
const PAY: &str = "8f2a4c6e-0b1d-4e3f-9a5c-7e9b1d3f5a70";
const LEGACY: &str = "2d4f6a8c-1e3b-4d5f-a7c9-0b2d4f6a8c1e";
const MI: &str = "71c3e5a7-9b1d-4f3a-8c5e-7a9b1c3d5e7f";
const VENDOR: &str = "4b6d8f0a-2c4e-4a6c-8e0a-2c4e6a8c0e2a";
const GRAPH: &str = "00000003-0000-0000-c000-000000000000";

fn app(a: &str) -> String {
    format!("azure:{T}:app/{a}")
}

fn sp(a: &str) -> String {
    format!("azure:{T}:sp/{a}")
}

fn user(o: &str) -> String {
    format!("azure:{T}:user/{o}")
}

fn cans(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn bundle(dir: &Path) -> PathBuf {
    copy_fixture(
        dir,
        "azure/acme-tenant-bundle.json",
        "azure/acme-tenant.json",
    )
}

#[test]
fn the_tenant_bundle() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let file = bundle(d);
    let reports = import(d, "azure", &[&file]);
    // 9 identities, 7 credentials, 6 grants (Alice's own Owner assignment is not one)
    assert_eq!(
        summary(&reports),
        [(
            "azure/acme-tenant.json".to_string(),
            "azure-entra".to_string(),
            22,
            22,
            0,
            0,
            0,
            0
        )]
    );
    let mut want = vec![
        app(CI),
        app(PAY),
        app(LEGACY),
        sp(CI),
        sp(PAY),
        sp(LEGACY),
        sp(MI),
        sp(VENDOR),
        sp(GRAPH),
    ];
    want.sort();
    assert_eq!(list_ids(d), want);

    // payments-api: its service principal holds Application.ReadWrite.All
    let pay = show(d, &app(PAY));
    assert_eq!(pay["kind"], "entra-application");
    assert_eq!(pay["source"], "azure-entra");
    assert_eq!(pay["name"], "payments-api");
    assert_eq!(pay["account"], T);
    assert_eq!(pay["status"], "active");
    assert_eq!(pay["created_at"], "2023-01-17T08:03:21Z");
    assert_eq!(pay["tags"], json!({"env": "prod", "service": "payments"}));
    assert_eq!(pay["privilege"], "admin");
    let a = &pay["attributes"];
    assert_eq!(
        a["privilege_reason"],
        "Microsoft Graph application permission Application.ReadWrite.All: may take over other applications or grant itself directory roles (held by its service principal)"
    );
    assert_eq!(
        a["privilege_sources"],
        json!(["azure-rbac", "graph-app-roles", "entra-directory-roles"])
    );
    assert_eq!(a["tenant_from"], "tenantId");
    assert_eq!(a["service_principal"], sp(PAY));
    assert_eq!(a["object_id"], "b8d4f2a1-3c5e-4f7a-9b1d-2e4f6a8c0e1b");
    let requested: Vec<&str> = a["requested_permissions"]
        .as_array()
        .expect("requested")
        .iter()
        .map(|p| p["permission"].as_str().expect("name"))
        .collect();
    assert_eq!(requested, ["Mail.Send", "Application.ReadWrite.All"]);
    assert_eq!(
        a["owners"],
        json!([{"name": "bob.okafor@acme.example", "principal": user("1b2c3d4e-5f6a-4b7c-9d8e-0f1a2b3c4d5e")}])
    );
    // who may add and remove its credentials: its owner, the tenant's Cloud Application
    // Administrator, an Application Administrator scoped to it, and its own service principal
    let who = vec![
        (
            format!("azure:{T}:object/3d4e5f6a-7b8c-4d9e-8f0a-2b3c4d5e6f7a"),
            cans(&["issue", "revoke", "rotate"]),
        ),
        (sp(PAY), cans(&["issue", "revoke", "rotate"])),
        (
            user("1b2c3d4e-5f6a-4b7c-9d8e-0f1a2b3c4d5e"),
            cans(&["issue", "revoke", "rotate"]),
        ),
        (
            user("2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f"),
            cans(&["issue", "revoke", "rotate"]),
        ),
    ];
    assert_eq!(authority(&pay["lifecycle_authority"]), who);
    let principals = pay["lifecycle_authority"]["principals"]
        .as_array()
        .expect("principals");
    assert_eq!(principals[2]["via"], json!(["owner of the application"]));
    assert_eq!(principals[3]["name"], "carol.nguyen@acme.example");
    assert_eq!(
        principals[3]["via"],
        json!(["Entra directory role Cloud Application Administrator at /"])
    );
    assert_eq!(
        principals[0]["via"],
        json!([
            "Entra directory role Application Administrator at /b8d4f2a1-3c5e-4f7a-9b1d-2e4f6a8c0e1b"
        ])
    );
    let secret = format!("{}/secret/4c1d7e9a-2b3f-4a5c-8d6e-0f1a2b3c4d5e", app(PAY));
    let old_secret = format!("{}/secret/5d2e8f0b-3c4a-4b6d-9e7f-1a2b3c4d5e6f", app(PAY));
    let cert = format!("{}/cert/6e3f9a1c-4d5b-4c7e-8f8a-2b3c4d5e6f7a", app(PAY));
    assert_eq!(credential_ids(&pay), {
        let mut v = vec![secret.clone(), old_secret.clone(), cert.clone()];
        v.sort();
        v
    });
    let s = credential(&pay, &secret);
    assert_eq!(s["kind"], "client-secret");
    assert_eq!(s["name"], "prod-2026 (client secret of payments-api)");
    assert_eq!(s["status"], "active");
    assert_eq!(s["created_at"], "2026-04-02T09:15:00Z");
    assert_eq!(s["last_rotated_at"], "2026-04-02T09:15:00Z");
    assert_eq!(s["expires_at"], "2027-04-02T09:15:00Z");
    assert_eq!(s["last_used_at"], Value::Null);
    assert_eq!(s["preview"], "Q8~… (hint only)");
    assert_eq!(s["fingerprint"], Value::Null);
    assert_eq!(s["sources"], json!(["azure-entra"]));
    assert!(s["attributes"].get("secret_in_export").is_none());
    assert_eq!(
        s["attributes"]["lifecycle_authority"],
        pay["lifecycle_authority"]
    );
    // ended before the newest credential of the export was created: provably expired
    let o = credential(&pay, &old_secret);
    assert_eq!(o["status"], "expired");
    assert_eq!(o["expires_at"], "2025-06-01T00:00:00Z");
    assert_eq!(o["preview"], "Zk4… (hint only)");
    let c = credential(&pay, &cert);
    assert_eq!(c["kind"], "certificate");
    assert_eq!(c["status"], "active");
    assert_eq!(c["created_at"], "2025-10-01T00:00:00Z");
    assert_eq!(c["expires_at"], "2027-09-30T23:59:59Z");
    assert_eq!(
        c["attributes"]["thumbprint"],
        "2ACD57A9F4F6998DE4378A51E6C53ABD6EF163C9"
    );
    assert_eq!(c["attributes"]["usage"], "Verify");
    assert_eq!(c["attributes"]["key_type"], "AsymmetricX509Cert");

    // its service principal holds the grants
    let pay_sp = show(d, &sp(PAY));
    assert_eq!(pay_sp["kind"], "entra-service-principal");
    assert_eq!(pay_sp["privilege"], "admin");
    assert_eq!(pay_sp["attributes"]["application"], app(PAY));
    let mut grants: Vec<(String, String, Value)> = pay_sp["grants"]
        .as_array()
        .expect("grants")
        .iter()
        .map(|g| {
            (
                g["actions"][0].as_str().expect("action").to_string(),
                g["privilege"].as_str().expect("privilege").to_string(),
                g["attributes"]["lifecycle"].clone(),
            )
        })
        .collect();
    grants.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        grants,
        [
            (
                "Application.ReadWrite.All".to_string(),
                "admin".to_string(),
                json!(["issue", "rotate", "revoke"])
            ),
            ("Mail.Send".to_string(), "write".to_string(), Value::Null),
        ]
    );

    // ci-github-deployer: Contributor on the subscription, federated with GitHub Actions
    let ci_sp = show(d, &sp(CI));
    assert_eq!(ci_sp["privilege"], "write");
    assert_eq!(
        ci_sp["attributes"]["privilege_reason"],
        "Contributor at subscription scope /subscriptions/6d1f0e2a-8b3c-4d5e-9f60-7a8b9c0d1e2f"
    );
    let g = &ci_sp["grants"][0];
    assert_eq!(g["actions"], json!(["Contributor"]));
    assert_eq!(g["attributes"]["broad"], true);
    assert_eq!(g["attributes"]["scope_level"], "subscription");
    let ci = show(d, &app(CI));
    assert_eq!(ci["privilege"], "write");
    assert_eq!(ci["created_at"], "2024-03-05T10:12:44Z");
    assert_eq!(ci["tags"], json!({"service": "platform"}));
    let prod = format!("{}/federated/infra-production", app(CI));
    let wild = format!("{}/federated/any-acme-repo", app(CI));
    assert_eq!(
        ci["attributes"]["federated_credentials"],
        json!([prod, wild])
    );
    let ext = ci["attributes"]["external_trust"].as_array().expect("ext");
    assert_eq!(ext.len(), 2);
    assert_eq!(ext[0]["kind"], "federated-credential");
    assert_eq!(ext[0]["weak"], false);
    assert_eq!(ext[1]["weak"], true);
    let f = credential(&ci, &prod);
    assert_eq!(f["kind"], "federated-credential");
    assert_eq!(f["status"], "active");
    assert_eq!(f["expires_at"], Value::Null);
    assert_eq!(f["created_at"], Value::Null);
    let a = &f["attributes"];
    assert_eq!(a["no_secret"], true);
    assert_eq!(a["rotation"], "not-applicable");
    assert_eq!(a["provider"], "github-actions");
    assert_eq!(a["issuer"], "https://token.actions.githubusercontent.com");
    assert_eq!(a["subject"], "repo:acme-corp/infra:environment:production");
    assert_eq!(a["repository"], "acme-corp/infra");
    assert_eq!(a["restricted_to"], json!({"environment": "production"}));
    assert_eq!(a["subject_match"], "exact");
    assert_eq!(a["audiences"], json!(["api://AzureADTokenExchange"]));
    assert!(a.get("weaknesses").is_none());
    assert_eq!(
        authority(&a["lifecycle_authority"]),
        [(
            "federated:https://token.actions.githubusercontent.com#repo:acme-corp/infra:environment:production"
                .to_string(),
            cans(&["use"])
        )]
    );
    let w = &credential(&ci, &wild)["attributes"];
    assert_eq!(w["subject_match"], "expression");
    assert_eq!(w["wildcard"], true);
    assert_eq!(w["repository"], "acme-corp/*");
    assert_eq!(
        w["claims_matching_expression"],
        "claims['sub'] matches 'repo:acme-corp/*'"
    );
    assert!(
        w["weaknesses"][0]
            .as_str()
            .is_some_and(|s| s.starts_with("subject matched by a wildcard expression"))
    );

    // a third-party application owning the subscription
    let vendor = show(d, &sp(VENDOR));
    assert_eq!(vendor["name"], "Contoso Cloud Backup");
    assert_eq!(vendor["privilege"], "admin");
    assert_eq!(
        vendor["attributes"]["privilege_reason"],
        "Owner at subscription scope /subscriptions/6d1f0e2a-8b3c-4d5e-9f60-7a8b9c0d1e2f: may grant itself any access there"
    );
    assert_eq!(vendor["attributes"]["third_party"], true);
    assert_eq!(vendor["attributes"]["multi_tenant"], true);
    assert_eq!(vendor["attributes"]["verified_publisher"], "Contoso Ltd");
    assert_eq!(
        vendor["attributes"]["external_trust"],
        json!([{
            "kind": "third-party-application",
            "tenant": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
            "publisher": "Contoso Ltd",
            "reason": "application registered in another tenant acts in this one"
        }])
    );

    // the managed identity of a Function app: Azure's to rotate
    let mi = show(d, &sp(MI));
    assert_eq!(mi["kind"], "entra-managed-identity");
    assert_eq!(mi["privilege"], "write");
    assert_eq!(mi["attributes"]["managed_by"], "azure");
    assert_eq!(mi["attributes"]["managed_identity_type"], "system-assigned");
    assert_eq!(
        mi["attributes"]["azure_resource"],
        "/subscriptions/6d1f0e2a-8b3c-4d5e-9f60-7a8b9c0d1e2f/resourcegroups/rg-orders/providers/Microsoft.Web/sites/orders-func"
    );
    assert_eq!(mi["lifecycle_authority"]["principals"], json!([]));
    assert!(
        mi["lifecycle_authority"]["note"]
            .as_str()
            .is_some_and(|n| n.starts_with("Azure issues and rotates"))
    );
    let mc = credential(
        &mi,
        &format!("{}/cert/8a5b1c3e-6f7d-4e9a-8b1c-4d5e6f7a8b9c", sp(MI)),
    );
    assert_eq!(mc["created_at"], "2026-11-26T07:18:00Z");
    assert_eq!(mc["expires_at"], "2027-02-24T07:18:00Z");
    assert_eq!(mc["attributes"]["rotation"], "azure-managed");
    assert_eq!(
        mc["attributes"]["thumbprint"],
        "9F2C4A6E8B0D1F3A5C7E9B1D3F5A7C9E1B3D5F7A"
    );

    // legacy-reporting: its principal disabled, its owner gone, a secret until 2299
    let legacy_sp = show(d, &sp(LEGACY));
    assert_eq!(legacy_sp["status"], "inactive");
    assert_eq!(legacy_sp["privilege"], "read");
    let legacy = show(d, &app(LEGACY));
    assert_eq!(legacy["attributes"]["owners"], json!([]));
    assert_eq!(
        legacy["attributes"]["notes"],
        "Owner left in 2022; kept for the quarterly board report"
    );
    let forever = credential(
        &legacy,
        &format!(
            "{}/secret/7f4a0b2d-5e6c-4d8f-9a0b-3c4d5e6f7a8b",
            app(LEGACY)
        ),
    );
    assert_eq!(forever["status"], "active");
    assert_eq!(forever["created_at"], "2019-11-04T14:25:00Z");
    assert_eq!(forever["expires_at"], "2299-12-31T05:00:00Z");
    // without owners, only administrators may manage it
    assert_eq!(
        authority(&legacy["lifecycle_authority"])
            .into_iter()
            .map(|(p, _)| p)
            .collect::<Vec<_>>(),
        [sp(PAY), user("2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f")]
    );

    // Microsoft's own principal
    let graph = show(d, &sp(GRAPH));
    assert_eq!(graph["attributes"]["managed_by"], "microsoft");
    assert_eq!(graph["attributes"]["first_party"], true);
    assert_eq!(graph["privilege"], "none");
    assert!(graph["attributes"].get("external_trust").is_none());

    // again, explicitly, by alias and recognised by content: nothing new, nothing changed
    let again = import(d, "azure", &[&file]);
    assert_idempotent(d, &again);
    let again = import(d, "entra", &[&file]);
    assert_idempotent(d, &again);
    let again = import(d, "auto", &[&file]);
    assert_eq!(summary(&again)[0].1, "azure-entra");
    assert_idempotent(d, &again);
}

#[test]
fn separate_az_outputs() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    // `az ad sp list` alone: the tenant is the principals' most common owner organisation
    let sps = copy_fixture(d, "azure/sp-list.json", "azure/sp.json");
    let r = import(d, "auto", &[&sps]);
    assert_eq!(summary(&r)[0].1, "azure-entra");
    let ids = list_ids(d);
    assert_eq!(ids.len(), 6);
    assert!(
        ids.iter().all(|i| i.starts_with(&format!("azure:{T}:sp/"))),
        "{ids:?}"
    );
    let ci = show(d, &sp(CI));
    assert_eq!(
        ci["attributes"]["tenant_from"],
        "most common appOwnerOrganizationId of the service principals"
    );
    // app role assignments attached to payments-api's principal are role data: known privilege
    assert_eq!(ci["privilege"], "none");
    assert_eq!(show(d, &sp(PAY))["privilege"], "admin");
    assert_eq!(show(d, &sp(VENDOR))["attributes"]["third_party"], true);

    // `cat app.json sp.json`: the applications' tenant comes from their principals
    let apps = std::fs::read(fixture("azure/app-list.json")).expect("read");
    let mut both = apps.clone();
    both.extend(std::fs::read(fixture("azure/sp-list.json")).expect("read"));
    std::fs::write(d.join("azure/both.json"), &both).expect("write");
    let r = import(d, "azure", &[Path::new("azure/both.json")]);
    assert_eq!(
        summary(&r)[0].2,
        9 + 7 + 2,
        "9 identities, 7 credentials (the applications' 6, the managed identity's certificate), 2 grants"
    );
    let pay = show(d, &app(PAY));
    assert_eq!(pay["account"], T);
    assert_eq!(
        pay["attributes"]["tenant_from"],
        "appOwnerOrganizationId of the service principal of an application in the file"
    );
    assert_eq!(pay["attributes"]["service_principal"], sp(PAY));
    assert_eq!(credential_ids(&pay).len(), 3);
    // the applications alone name no tenant id: their publisher domain stands in
    std::fs::write(d.join("azure/apps.json"), &apps).expect("write");
    import(d, "azure", &[Path::new("azure/apps.json")]);
    let alone = show(d, &format!("azure:acme.onmicrosoft.com:app/{PAY}"));
    assert_eq!(
        alone["attributes"]["tenant_from"],
        "most common publisherDomain of the applications"
    );
    assert_eq!(alone["privilege"], "unknown");
    // role assignments alone name no tenant: refused, pointing at the bundle
    let roles = std::fs::read(fixture("azure/role-assignments.json")).expect("read");
    refused(
        d,
        "azure",
        "azure/roles.json",
        &roles,
        &["role assignments only", "tenantId"],
        &[],
    );
    // … and within a bundle with the tenant they give the same principals their grants
    let mut b = format!("{{\"tenantId\": \"{T}\", \"roleAssignments\": ").into_bytes();
    b.extend_from_slice(&roles);
    b.extend_from_slice(b"}");
    std::fs::write(d.join("azure/roles-bundle.json"), &b).expect("write");
    let r = import(d, "auto", &[Path::new("azure/roles-bundle.json")]);
    assert_eq!(summary(&r)[0].2, 4, "four grants to service principals");
    let vendor = show(d, &sp(VENDOR));
    assert_eq!(vendor["grants"][0]["actions"], json!(["Owner"]));

    let again = import(
        d,
        "azure",
        &[
            Path::new("azure/both.json"),
            Path::new("azure/roles-bundle.json"),
        ],
    );
    assert_idempotent(d, &again);
}

#[test]
fn bad_input_is_named_and_nothing_is_committed() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let file = bundle(d);
    import(d, "azure", &[&file]);
    let before = state(d);
    let text = std::fs::read_to_string(d.join(&file)).expect("read");

    refused(
        d,
        "azure",
        "bad/truncated.json",
        &text.as_bytes()[..text.len() / 3],
        &["bad/truncated.json:", "truncated"],
        &[],
    );
    let wrong = text.replacen(
        "\"endDateTime\": \"2027-04-02T09:15:00Z\"",
        "\"endDateTime\": 20270402",
        1,
    );
    let line = wrong
        .lines()
        .position(|l| l.contains("20270402"))
        .expect("line")
        + 1;
    refused(
        d,
        "azure",
        "bad/wrong-type.json",
        wrong.as_bytes(),
        &[&format!(
            "bad/wrong-type.json:{line}: field `applications[1].passwordCredentials[0].endDateTime`"
        )],
        &[],
    );
    let wrong = text.replacen(
        "\"accountEnabled\": false",
        "\"accountEnabled\": \"maybe\"",
        1,
    );
    refused(
        d,
        "azure",
        "bad/flag.json",
        wrong.as_bytes(),
        &[
            "field `servicePrincipals[2].accountEnabled`",
            "expected true or false",
        ],
        &[],
    );
    refused(
        d,
        "azure",
        "bad/binary.json",
        b"\xff\xfe\x00\x01",
        &["bad/binary.json:1:", "UTF-8"],
        &[],
    );
    refused(d, "azure", "bad/empty.json", b"\n", &["empty"], &[]);
    refused(
        d,
        "azure",
        "bad/other.json",
        b"{\"foo\": 1}",
        &["neither an application"],
        &[],
    );
    refused(
        d,
        "azure",
        "bad/fic.json",
        br#"[{"issuer": "https://token.actions.githubusercontent.com", "subject": "repo:o/r:ref:refs/heads/main", "name": "x"}]"#,
        &["field `[0]`", "federatedIdentityCredentials"],
        &[],
    );
    castellan(d)
        .args(["import", "azure"])
        .arg(&file)
        .arg("bad/flag.json")
        .assert()
        .code(2);

    assert_eq!(state(d), before, "a failed import changed the inventory");
    verify_ledger(d);
}

#[test]
fn secret_values_are_never_stored() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    const PLANTED: &str = "Q8~kP3mZ9xPLANTEDSECRETvalue0123456789ab";
    const BLOB: &str = "MIIPLANTEDCERTBLOBMIIDdzCCAl+gAwIBAgIQ";
    // `az ad app credential reset` prints `secretText` once; a copy of the output kept it
    let text = std::fs::read_to_string(fixture("azure/acme-tenant-bundle.json"))
        .expect("read")
        .replacen(
            "\"secretText\": null",
            &format!("\"secretText\": \"{PLANTED}\""),
            1,
        )
        .replacen("\"key\": null", &format!("\"key\": \"{BLOB}\""), 1);
    std::fs::create_dir_all(d.join("azure")).expect("mkdir");
    std::fs::write(d.join("azure/leaky.json"), &text).expect("write");
    let out = import(d, "azure", &[Path::new("azure/leaky.json")]);
    let pay = show(d, &app(PAY));
    let s = credential(
        &pay,
        &format!("{}/secret/4c1d7e9a-2b3f-4a5c-8d6e-0f1a2b3c4d5e", app(PAY)),
    );
    assert_eq!(s["attributes"]["secret_in_export"], true);
    assert_eq!(s["preview"], "Q8~… (hint only)");
    let c = credential(
        &pay,
        &format!("{}/cert/6e3f9a1c-4d5b-4c7e-8f8a-2b3c4d5e6f7a", app(PAY)),
    );
    assert_eq!(c["attributes"]["key_in_export"], true);
    // a hint longer than Graph's three characters is cut
    let long = text.replacen("\"hint\": \"Q8~\"", &format!("\"hint\": \"{PLANTED}\""), 1);
    std::fs::write(d.join("azure/leaky.json"), &long).expect("write");
    import(d, "azure", &[Path::new("azure/leaky.json")]);
    // and a secret pasted into a field of the wrong type is not echoed
    let bad = text.replacen(
        "\"startDateTime\": \"2026-04-02T09:15:00Z\"",
        &format!("\"startDateTime\": \"{PLANTED}\""),
        1,
    );
    let stderr = refused(
        d,
        "azure",
        "azure/bad.json",
        bad.as_bytes(),
        &["startDateTime", "RFC 3339"],
        &["PLANTEDSECRET", "kP3mZ9x"],
    );
    let shown = serde_json::to_vec(&show(d, &app(PAY))).expect("json");
    let out = serde_json::to_vec(&out).expect("json");
    let everything = written_bytes(d, &[&out, &shown, stderr.as_bytes(), &list_raw(d)]);
    assert_absent(
        &everything,
        &[PLANTED, "PLANTEDSECRET", "kP3mZ9x", BLOB, "PLANTEDCERTBLOB"],
    );
}
