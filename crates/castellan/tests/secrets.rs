//! Non-negotiable 2: planted secrets never reach the database, the evidence folder, the data
//! directory, stdout or stderr.

mod common;

use common::*;

const AWS_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ8xampleKy";
const GH_TOKEN: &str = "ghp_Zq8vRk2LmN5pXw7Yt3Hs9Jd4Fg6Bc1Ae0Uo2";
const DB_PASSWORD: &str = "Tr0ub4dor&3-horse-battery-staple-9731";

#[test]
fn planted_secrets_never_leave_their_files() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let estate = estate_in(d);
    // Unrecognised files holding secrets sit in the estate.
    std::fs::create_dir_all(estate.join("config")).expect("mkdir");
    std::fs::write(
        estate.join("config/deploy.env"),
        format!("AWS_ACCESS_KEY_ID=AKIAZ7EXAMPLE3PLANTD\nAWS_SECRET_ACCESS_KEY={AWS_SECRET}\nGITHUB_TOKEN={GH_TOKEN}\n"),
    )
    .expect("w");
    std::fs::write(
        estate.join("config/database.yml"),
        format!("production:\n  password: {DB_PASSWORD}\n"),
    )
    .expect("w");
    let mut outputs = Vec::new();
    let a = castellan(d)
        .args(["run", "estate", "--now", NOW])
        .assert()
        .success();
    outputs.extend(a.get_output().stdout.clone());
    outputs.extend(a.get_output().stderr.clone());
    let a = castellan(d)
        .args(["run", "estate", "--now", NOW, "--json"])
        .assert()
        .success();
    outputs.extend(a.get_output().stdout.clone());

    // Secrets pasted into fields of real exports: the errors must not echo them.
    let header =
        std::fs::read_to_string(estate.join("aws/prod-credential-report.csv")).expect("csv");
    let header = header.lines().next().expect("header");
    let bad_row = format!(
        "{header}\nsvc,arn:aws:iam::123456789012:user/svc,2024-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,true,{GH_TOKEN},N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n"
    );
    std::fs::write(d.join("leaky.csv"), bad_row).expect("w");
    let a = castellan(d)
        .args(["import", "aws-credential-report", "leaky.csv"])
        .assert()
        .code(2);
    outputs.extend(a.get_output().stderr.clone());
    let gov = format!(
        "castellan: 1\nsuppliers:\n  - name: acme\n    contracts:\n      - id: A\n        start: 2025-01-01\n        notice_days: {DB_PASSWORD}\n"
    );
    std::fs::write(d.join("leaky.yaml"), gov).expect("w");
    let a = castellan(d)
        .args(["import", "governance", "leaky.yaml"])
        .assert()
        .code(2);
    outputs.extend(a.get_output().stderr.clone());
    let gov =
        format!("castellan: 1\nservices:\n  - name: {AWS_SECRET}\n    criticality: {GH_TOKEN}\n");
    std::fs::write(d.join("leaky2.yaml"), gov).expect("w");
    let a = castellan(d)
        .args(["import", "governance", "leaky2.yaml"])
        .assert()
        .code(2);
    outputs.extend(a.get_output().stderr.clone());

    let mut everything = outputs;
    for f in ["castellan.db", "castellan.db-wal", "castellan.db-shm"] {
        if let Ok(b) = std::fs::read(d.join(f)) {
            everything.extend(b);
        }
    }
    everything.extend(all_bytes(&d.join("castellan-out")));
    everything.extend(all_bytes(&d.join(".castellan")));
    for secret in [AWS_SECRET, GH_TOKEN, DB_PASSWORD] {
        assert!(
            !contains(&everything, secret),
            "secret {}… leaked",
            &secret[..6]
        );
        // not even a long fragment of it
        assert!(
            !contains(&everything, &secret[4..secret.len() - 4]),
            "a fragment of {}… leaked",
            &secret[..6]
        );
    }
    // The database and report still say the files exist (as unrecognised), by path only.
    let summary = read_json(&d.join("castellan-out/summary.json"));
    assert!(summary["skipped"].to_string().contains("deploy.env"));
}
