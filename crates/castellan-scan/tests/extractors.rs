//! Scans `tests/fixtures/extract/` (credential files laid out as they are found: a home
//! directory, a repository with CI files, Kubernetes manifests, Terraform state) end to end and
//! checks what the format-aware extractors report, what they leave alone, and that no raw
//! secret reaches the report.

use std::path::PathBuf;

use castellan_scan::scan::{FileReference, ScanOptions, ScanReport, Scanner};
use castellan_scan::{FingerprintKey, Rules, Sighting};

fn scan() -> ScanReport {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/extract");
    let scanner = Scanner::new(
        Rules::builtin().expect("builtin rules"),
        FingerprintKey::from_bytes([1; 32]),
        ScanOptions::default(),
    )
    .expect("scanner");
    scanner.scan_paths(&[root])
}

/// Every raw secret planted in the fixtures (and the encoded forms they are stored in).
const PLANTED: &[&str] = &[
    "5c1f7a9e-2b4d-4e8a-9c3f-71d2e6b8a0f4",
    "ghp_Fx81kQm2Lr5Tn7Wv3Yb9Pc4Hd6Jf0Gs1Ke2B",
    "Tq9:xLm2!vB7",
    "Tq9\\:xLm2!vB7",
    "glpat-Kx7Qm2Vz9Lw4Rt8Pn3Hc",
    "npm_Q1w2E3r4T5y6U7i8O9p0A1s2D3f4G5h6J7k8",
    "Dk8#qLz2Wv5nHy4",
    "cm9ib3Qkc2hvcDpEazgjcUx6Mld2NW5IeTQ=",
    "eyJhbGciOiJSUzI1NiIsImtpZCI6InNob3AtY2kifQ.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6Y2k6ZGVwbG95In0.Zq3Lx9Vb2Nm7Kc1Wd5Rt8Hp",
    "MIIEpAIBAAKCAQEAsYnThEtIcKeYmAtErIaLoNlY0123",
    "QmFzZTY0U3ludGhldGljS2V5TWF0ZXJpYWxGb3JUZXN0cw",
    "RAAAAAtzc2gtZWQyNTUxOQAAACAAAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHw",
    "gho_Xk29Lq8Wm3Vz7Rt5Nb1Pc6Hd4Jf0Gs2Ae9Uf",
    "Rk8#vQ2!mLz5",
    "Vb7-x2Qm-Pw4",
    "sk_live_51HqLyjWDarjtT1zdp7dcXmPq0Zz9",
    "sntrys_Zk3Lq9Vb2Nm7Xw4Rt8Pc1Hd6",
    "squ_1f2e3d4c5b6a79880706f5e4d3c2b1a0f9e8d7c6",
    "xoxb-2048-4096-Zq7Lm2Vb9Nx4Rt8Kc1Wd",
    "s3cr3t",
    "Pw-9xQ2!kLr5",
    "UHctOXhRMiFrTHI1",
    "ff_8Kd3Ls9Qw2Ez7RtYu",
    "Op9#xL2!mKw4",
    "kF8sJ2mN5qR7tV0wY3zB6cE9gH1jL4oP7sU0xA3d",
    "Rd5!sQ8#wE3z",
    "Tf7#pQ2!vNx8",
];

/// (path, extractor, line, kind, identifier)
const EXPECTED: &[(&str, &str, usize, &str, Option<&str>)] = &[
    (
        "home/.netrc",
        "extract.netrc",
        4,
        "password",
        Some("ops@shop.example@api.heroku.com"),
    ),
    (
        "home/.netrc",
        "extract.netrc",
        5,
        "token",
        Some("deploy-bot@github.com"),
    ),
    (
        "home/.pgpass",
        "extract.pgpass",
        2,
        "password",
        Some("orders_rw@db.prod.internal"),
    ),
    (
        "home/.git-credentials",
        "extract.git-credentials",
        1,
        "token",
        Some("ci-bot@gitlab.corp.example"),
    ),
    (
        "home/.npmrc",
        "extract.npmrc",
        2,
        "token",
        Some("registry.npmjs.org"),
    ),
    (
        "home/.docker/config.json",
        "extract.docker-config",
        4,
        "password",
        Some("robot$shop@index.docker.io"),
    ),
    (
        "home/.kube/config",
        "extract.kubeconfig",
        22,
        "private-key",
        Some("admin"),
    ),
    (
        "home/.kube/config",
        "extract.kubeconfig",
        25,
        "token",
        Some("ci"),
    ),
    (
        "home/.ssh/id_ed25519",
        "extract.private-key",
        1,
        "private-key",
        Some("deploy@ci-runner-07"),
    ),
    (
        "home/.config/gh/hosts.yml",
        "extract.gh-cli",
        4,
        "token",
        Some("octo-ops@github.com"),
    ),
    ("repo/.env", "extract.dotenv", 4, "password", None),
    (
        "repo/.env",
        "extract.dotenv",
        5,
        "password",
        Some("shop@db.internal"),
    ),
    ("repo/.env", "extract.dotenv", 6, "secret-key", None),
    (
        "repo/.github/workflows/deploy.yml",
        "extract.github-actions",
        13,
        "token",
        None,
    ),
    ("repo/.gitlab-ci.yml", "extract.gitlab-ci", 3, "token", None),
    ("repo/Jenkinsfile", "extract.jenkins", 5, "token", None),
    (
        "repo/docker-compose.yml",
        "extract.docker-compose",
        6,
        "password",
        None,
    ),
    (
        "repo/docker-compose.yml",
        "extract.docker-compose",
        11,
        "password",
        Some("shop@db"),
    ),
    (
        "k8s/deployment.yaml",
        "extract.kubernetes",
        9,
        "password",
        Some("db-creds/password"),
    ),
    (
        "k8s/deployment.yaml",
        "extract.kubernetes",
        36,
        "token",
        None,
    ),
    (
        "terraform/prod.tfvars",
        "extract.tfvars",
        2,
        "password",
        None,
    ),
    (
        "terraform/terraform.tfstate",
        "extract.tfstate",
        7,
        "password",
        None,
    ),
    (
        "terraform/terraform.tfstate",
        "extract.tfstate",
        21,
        "secret",
        Some("AKIAIOSFODNN7SYNTH01"),
    ),
    (
        "terraform/terraform.tfstate",
        "extract.tfstate",
        39,
        "password",
        Some("dbadmin@orders.c9xyz.eu-west-1.rds.amazonaws.com"),
    ),
];

/// (path, store, name, line, consumer)
const REFERENCES: &[(&str, &str, &str, usize, Option<&str>)] = &[
    (
        "home/.docker/config.json",
        "docker-credential-desktop",
        "ghcr.io",
        6,
        None,
    ),
    (
        "home/.docker/config.json",
        "docker-credential-ecr-login",
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
        10,
        None,
    ),
    (
        "home/.npmrc",
        "environment",
        "GITHUB_PACKAGES_TOKEN",
        3,
        None,
    ),
    ("repo/.env", "environment", "REDIS_PASS", 7, None),
    (
        "repo/.github/workflows/deploy.yml",
        "github-actions",
        "DOCKERHUB_TOKEN",
        20,
        Some("Deploy/build"),
    ),
    (
        "repo/.github/workflows/deploy.yml",
        "github-actions",
        "NPM_TOKEN",
        24,
        Some("Deploy/build"),
    ),
    (
        "repo/.github/workflows/deploy.yml",
        "vault",
        "secret/data/ci/aws#accessKey",
        34,
        Some("Deploy/deploy"),
    ),
    (
        "repo/.github/workflows/deploy.yml",
        "vault",
        "secret/data/ci/aws#secretKey",
        35,
        Some("Deploy/deploy"),
    ),
    (
        "repo/.github/workflows/deploy.yml",
        "aws-secrets-manager",
        "prod/orders/db",
        38,
        Some("Deploy/deploy"),
    ),
    (
        "repo/.gitlab-ci.yml",
        "vault",
        "ops/production/db#password",
        12,
        Some("deploy-prod"),
    ),
    (
        "repo/.gitlab-ci.yml",
        "gitlab-ci",
        "CI_REGISTRY_PASSWORD",
        14,
        Some("deploy-prod"),
    ),
    (
        "repo/.gitlab-ci.yml",
        "gitlab-ci",
        "DEPLOY_API_TOKEN",
        15,
        Some("deploy-prod"),
    ),
    ("repo/Jenkinsfile", "jenkins", "dockerhub-creds", 4, None),
    (
        "repo/Jenkinsfile",
        "jenkins",
        "nexus-deploy",
        10,
        Some("Publish"),
    ),
    (
        "repo/Jenkinsfile",
        "jenkins",
        "prod-ssh-key",
        17,
        Some("Deploy"),
    ),
    (
        "repo/docker-compose.yml",
        "environment",
        "STRIPE_API_KEY",
        12,
        Some("api"),
    ),
    (
        "repo/docker-compose.yml",
        "docker-secret",
        "api_signing_key",
        14,
        Some("api"),
    ),
    (
        "repo/docker-compose.yml",
        "docker-secret",
        "api_signing_key",
        16,
        None,
    ),
    (
        "k8s/deployment.yaml",
        "vault",
        "secret/data/shop/api",
        22,
        Some("deployment/api"),
    ),
    (
        "k8s/deployment.yaml",
        "kubernetes-secret",
        "regcred",
        25,
        Some("deployment/api"),
    ),
    (
        "k8s/deployment.yaml",
        "kubernetes-secret",
        "db-creds/password",
        33,
        Some("deployment/api"),
    ),
    (
        "k8s/deployment.yaml",
        "kubernetes-secret",
        "api-env",
        41,
        Some("deployment/api"),
    ),
];

fn extractor_sightings(r: &ScanReport) -> Vec<&Sighting> {
    r.sightings
        .iter()
        .filter(|s| s.rule_id.starts_with("extract.") || s.context.contains_key("extractor"))
        .collect()
}

fn describe(r: &ScanReport) -> String {
    let mut out = String::new();
    for s in extractor_sightings(r) {
        out.push_str(&format!(
            "  {} {}:{} {} {:?}\n",
            s.rule_id, s.place.path, s.place.line, s.kind, s.identifier
        ));
    }
    out
}

/// Found by this extractor, either under its own id or named by a provider rule that recognised
/// the same value (the extractor is then kept in `context.extractor`).
fn by(s: &castellan_scan::Sighting, rule: &str) -> bool {
    s.rule_id == rule || s.context.get("extractor").map(String::as_str) == Some(rule)
}

#[test]
fn extractors_report_the_expected_sightings() {
    let r = scan();
    assert!(r.skipped.is_empty(), "skipped: {:?}", r.skipped);
    for (path, rule, line, kind, ident) in EXPECTED {
        let found = r
            .sightings
            .iter()
            .find(|s| s.place.path == *path && by(s, rule) && s.place.line == *line);
        let s = found.unwrap_or_else(|| {
            panic!(
                "no {rule} sighting at {path}:{line}; extractor sightings:\n{}",
                describe(&r)
            )
        });
        assert_eq!(s.kind, *kind, "{path}:{line}");
        assert_eq!(s.identifier.as_deref(), *ident, "{path}:{line}");
        assert_ne!(
            s.rule_name, s.rule_id,
            "extractor {rule} has a display name"
        );
        assert!(s.preview.is_some(), "{path}:{line} has a redacted preview");
    }
    // Nothing else: placeholders (`changeme`, `${VAR}`), references, public keys, commented
    // lines, certificates and non-secret settings are not extractor sightings.
    let extra: Vec<_> = extractor_sightings(&r)
        .into_iter()
        .filter(|s| {
            !EXPECTED
                .iter()
                .any(|(p, rule, l, _, _)| s.place.path == *p && by(s, rule) && s.place.line == *l)
        })
        .map(|s| format!("{} {}:{}", s.rule_id, s.place.path, s.place.line))
        .collect();
    assert!(
        extra.is_empty(),
        "unexpected extractor sightings: {extra:#?}"
    );
}

#[test]
fn context_is_kept_without_secrets() {
    let r = scan();
    let pg = r
        .sightings
        .iter()
        .find(|s| by(s, "extract.pgpass"))
        .expect("pgpass sighting");
    let ctx = |k: &str| pg.context.get(k).map(String::as_str);
    assert_eq!(
        (ctx("host"), ctx("port"), ctx("database"), ctx("user")),
        (
            Some("db.prod.internal"),
            Some("5432"),
            Some("orders"),
            Some("orders_rw")
        )
    );
    let url = r
        .sightings
        .iter()
        .find(|s| by(s, "extract.dotenv") && s.place.line == 5)
        .expect("DATABASE_URL sighting");
    assert_eq!(
        url.context.get("url").map(String::as_str),
        Some("postgres://shop@db.internal:5432/shop")
    );
    assert_eq!(url.place.column, "DATABASE_URL=postgres://shop:".len() + 1);
    let key = r
        .sightings
        .iter()
        .find(|s| by(s, "extract.private-key"))
        .expect("ssh key sighting");
    assert_eq!(key.context.get("encrypted").map(String::as_str), Some("no"));
    assert_eq!(
        key.context.get("algorithm").map(String::as_str),
        Some("ed25519")
    );
    let gha = r
        .sightings
        .iter()
        .find(|s| by(s, "extract.github-actions"))
        .expect("workflow literal");
    assert_eq!(
        gha.context.get("consumer").map(String::as_str),
        Some("Deploy/build")
    );
    assert_eq!(
        gha.context.get("variable").map(String::as_str),
        Some("SENTRY_AUTH_TOKEN")
    );
    // The same password in compose's environment and in its DATABASE_URL: one fingerprint.
    let compose: Vec<_> = r
        .sightings
        .iter()
        .filter(|s| by(s, "extract.docker-compose"))
        .collect();
    assert_eq!(compose.len(), 2);
    assert_eq!(compose[0].fingerprint, compose[1].fingerprint);
}

#[test]
fn references_name_store_line_and_consumer() {
    let r = scan();
    for (path, store, name, line, consumer) in REFERENCES {
        let want = FileReference {
            path: path.to_string(),
            reference: castellan_scan::Reference {
                store: store.to_string(),
                name: name.to_string(),
                line: *line,
                consumer: consumer.map(str::to_string),
            },
        };
        assert!(
            r.references.contains(&want),
            "missing {want:?}; references:\n{:#?}",
            r.references
        );
    }
    assert_eq!(
        r.references.len(),
        REFERENCES.len(),
        "unexpected references: {:#?}",
        r.references
    );
    // Uses of names the file itself does not hold are not references: `vars.*`, non-credential
    // variables.
    assert!(
        !r.references
            .iter()
            .any(|f| f.reference.name == "DOCKERHUB_USER")
    );
    assert!(
        !r.references
            .iter()
            .any(|f| f.reference.name == "CI_REGISTRY_USER")
    );
}

#[test]
fn no_raw_secret_reaches_the_report() {
    let r = scan();
    let debug = format!("{r:?}");
    let json = serde_json::to_string(&r.sightings).expect("sightings serialise");
    for secret in PLANTED {
        assert!(
            !debug.contains(secret),
            "raw secret {secret:?} in the report's Debug output"
        );
        assert!(
            !json.contains(secret),
            "raw secret {secret:?} in the sightings' JSON"
        );
    }
}
