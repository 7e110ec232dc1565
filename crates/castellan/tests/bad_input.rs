//! Bad input: a clear error naming file/line/field, exit 2, no panic, nothing committed.

mod common;

use std::path::Path;

use common::*;
use predicates::prelude::*;

const HEADER: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated";

fn row(user: &str, rotated: &str) -> String {
    format!(
        "{user},arn:aws:iam::123456789012:user/{user},2024-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,true,{rotated},N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n"
    )
}

/// The state a failed import must leave untouched.
fn state(dir: &Path) -> (String, String) {
    let inv = castellan(dir)
        .args(["inventory", "list", "--all", "--json"])
        .assert()
        .success();
    let ledger = castellan(dir)
        .args(["ledger", "verify", "--json"])
        .assert()
        .success();
    let ledger = json(&ledger.get_output().stdout);
    (
        String::from_utf8_lossy(&inv.get_output().stdout).into_owned(),
        ledger["entries"].to_string(),
    )
}

fn baseline(dir: &Path) -> (String, String) {
    estate_in(dir);
    castellan(dir)
        .args(["run", "estate", "--now", NOW, "-q"])
        .assert()
        .success();
    state(dir)
}

fn expect_rejected(dir: &Path, source: &str, file: &str, content: &[u8], must_mention: &[&str]) {
    std::fs::write(dir.join(file), content).expect("write");
    let before = state(dir);
    let mut a = castellan(dir)
        .args(["import", source, file, "--now", NOW])
        .assert()
        .code(2);
    for m in must_mention {
        a = a.stderr(predicate::str::contains(*m));
    }
    let stderr = String::from_utf8_lossy(&a.get_output().stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        before,
        state(dir),
        "a rejected import changed the database ({file})"
    );
}

#[test]
fn malformed_credential_reports_are_rejected_whole() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    baseline(d);
    // wrong column count on line 3 (the valid row 2 must not be committed either)
    let mut short = format!(
        "{HEADER}\n{}",
        row("fresh-user", "2026-01-01T00:00:00+00:00")
    );
    short.push_str("broken,arn:aws:iam::123456789012:user/broken,2024\n");
    expect_rejected(
        d,
        "aws-credential-report",
        "short.csv",
        short.as_bytes(),
        &["short.csv:3", "columns"],
    );
    // bad date: names the line and the column
    let bad = format!("{HEADER}\n{}", row("x", "2026-13-45T00:00:00+00:00"));
    expect_rejected(
        d,
        "aws-credential-report",
        "date.csv",
        bad.as_bytes(),
        &["date.csv:2", "access_key_1_last_rotated"],
    );
    // bad flag
    let flag = format!(
        "{HEADER}\n{}",
        row("x", "2026-01-01T00:00:00+00:00").replace(",false,true,", ",false,maybe,")
    );
    expect_rejected(
        d,
        "aws-credential-report",
        "flag.csv",
        flag.as_bytes(),
        &["flag.csv:2", "access_key_1_active"],
    );
    // bad ARN
    let arn = format!(
        "{HEADER}\n{}",
        row("x", "2026-01-01T00:00:00+00:00")
            .replace("arn:aws:iam::123456789012:user/x", "not-an-arn")
    );
    expect_rejected(
        d,
        "aws-credential-report",
        "arn.csv",
        arn.as_bytes(),
        &["arn.csv:2", "arn"],
    );
    // empty, binary junk, wrong header, wrong encoding
    expect_rejected(
        d,
        "aws-credential-report",
        "empty.csv",
        b"",
        &["empty.csv", "empty"],
    );
    expect_rejected(
        d,
        "aws-credential-report",
        "junk.bin",
        &[0x00, 0xff, 0x13, 0x37, 0x89, 0x50, 0x4e, 0x47],
        &["junk.bin:1"],
    );
    expect_rejected(
        d,
        "aws-credential-report",
        "other.csv",
        b"name,email\nx,y\n",
        &["other.csv:1", "credential report"],
    );
    let mut latin1 = format!("{HEADER}\n").into_bytes();
    latin1.extend(
        row("j\u{fc}rgen", "2026-01-01T00:00:00+00:00")
            .replace('\u{fc}', "\u{1}")
            .as_bytes(),
    );
    let pos = latin1.iter().position(|b| *b == 1).expect("marker");
    latin1[pos] = 0xfc; // ü in ISO-8859-1: invalid UTF-8
    expect_rejected(
        d,
        "aws-credential-report",
        "latin1.csv",
        &latin1,
        &["latin1.csv:2", "UTF-8"],
    );
    // truncated JSON envelope
    expect_rejected(
        d,
        "aws-credential-report",
        "trunc.json",
        br#"{"Content": "dXNlcixhcm4s"#,
        &["trunc.json"],
    );
}

#[test]
fn a_bad_row_at_the_end_of_a_large_file_rolls_back_everything() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    baseline(d);
    let mut big = format!("{HEADER}\n");
    for i in 0..5000 {
        big.push_str(&row(&format!("bulk-{i}"), "2026-01-01T00:00:00+00:00"));
    }
    big.push_str(&row("last", "not-a-date"));
    expect_rejected(
        d,
        "aws-credential-report",
        "big.csv",
        big.as_bytes(),
        &["big.csv:5002", "access_key_1_last_rotated"],
    );
}

#[test]
fn a_huge_junk_file_is_refused_without_exhausting_memory() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    baseline(d);
    // 200 MB: a valid header, then one endless line.
    let path = d.join("huge.csv");
    {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
        writeln!(f, "{HEADER}").expect("w");
        let chunk = vec![b'A'; 1 << 20];
        for _ in 0..200 {
            f.write_all(&chunk).expect("w");
        }
        f.write_all(b"\n").expect("w");
    }
    let before = state(d);
    castellan(d)
        .args(["import", "aws-credential-report", "huge.csv", "--now", NOW])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("huge.csv:2"));
    assert_eq!(before, state(d));
    // and a 200 MB file that is not a report at all is refused from its first bytes
    std::fs::write(d.join("huge.bin"), vec![0u8; 1 << 20]).expect("w");
    castellan(d)
        .args(["import", "aws-credential-report", "huge.bin", "--now", NOW])
        .assert()
        .code(2);
}

#[test]
fn malformed_governance_files_are_rejected_with_line_numbers() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    baseline(d);
    let good =
        std::fs::read_to_string(repo_root().join("examples/estate/castellan.yaml")).expect("read");
    let unknown = good.replacen("organisation:", "organisaton:", 1);
    let line = unknown
        .lines()
        .position(|l| l.starts_with("organisaton:"))
        .expect("line")
        + 1;
    expect_rejected(
        d,
        "governance",
        "unknown.yaml",
        unknown.as_bytes(),
        &[&format!("unknown.yaml:{line}"), "organisaton"],
    );
    expect_rejected(d, "governance", "empty.yaml", b"", &["empty.yaml", "empty"]);
    expect_rejected(
        d,
        "governance",
        "junk.yaml",
        &[0xff, 0xfe, 0x00, 0x41],
        &["junk.yaml"],
    );
    expect_rejected(
        d,
        "governance",
        "syntax.yaml",
        b"castellan: 1\nservices: [\n",
        &["syntax.yaml"],
    );
    let bad_date = good.replacen("left_at: 2026-09-30", "left_at: 2026-02-30", 1);
    assert_ne!(bad_date, good, "fixture changed: update this test");
    expect_rejected(
        d,
        "governance",
        "date.yaml",
        bad_date.as_bytes(),
        &["date.yaml:", "left_at"],
    );
}

#[test]
fn run_with_one_bad_file_commits_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let before = baseline(d);
    let estate = d.join("estate");
    std::fs::write(
        estate.join("aws/broken.csv"),
        format!("{HEADER}\n{}", row("x", "bad-date")),
    )
    .expect("w");
    castellan(d)
        .args(["run", "estate", "--now", "2026-12-05T00:00:00Z"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("broken.csv:2"));
    assert_eq!(before, state(d));
}
