//! `castellan import tls HOST:PORT…` against real TLS servers: a key and a self-signed server
//! certificate made by the real `openssl` binary, served by `openssl s_server` on 127.0.0.1.
//! Castellan connects, takes the chain the server presents (any certificate is accepted: it
//! inventories what is served) and imports it as `x509` with the endpoint's stable scope.
//! Also: a closed port and a port that answers plain HTTP are input errors naming the endpoint,
//! with nothing committed; endpoint syntax errors are usage errors.
//!
//! Without `openssl` on PATH the server tests are skipped with a message, unless
//! `CASTELLAN_REQUIRE_TLS_TEST=1` (CI sets it).
#![cfg(feature = "tls")]

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use predicates::prelude::*;
use serde_json::Value;

const CN: &str = "portal.nordwind.example";

/// Whether `openssl` can be run; panics when it cannot and CASTELLAN_REQUIRE_TLS_TEST=1.
fn have_openssl() -> bool {
    let ok = Command::new("openssl")
        .arg("version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var("CASTELLAN_REQUIRE_TLS_TEST").as_deref() != Ok("1"),
            "CASTELLAN_REQUIRE_TLS_TEST=1 but `openssl` cannot be run"
        );
        eprintln!("skipped: no `openssl` binary on PATH (needed to make and serve a certificate)");
    }
    ok
}

fn openssl(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A port nothing listens on (bound, then released).
fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// The `openssl s_server` child, killed when the test ends (also on panic).
struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A server certificate and its key: self-signed, not a CA, RSA 2048, valid 3650 days from now.
struct Cert {
    cert: PathBuf,
    key: PathBuf,
}

fn make_cert(dir: &Path) -> Cert {
    std::fs::write(
        dir.join("req.cnf"),
        format!(
            "[req]\ndistinguished_name = dn\nx509_extensions = v3\nprompt = no\n\
             [dn]\nO = Nordwind Logistik GmbH\nCN = {CN}\n\
             [v3]\nbasicConstraints = critical, CA:FALSE\n\
             keyUsage = critical, digitalSignature, keyEncipherment\n\
             extendedKeyUsage = serverAuth\n\
             subjectAltName = DNS:{CN}, DNS:www.nordwind.example\n\
             subjectKeyIdentifier = hash\n"
        ),
    )
    .expect("write req.cnf");
    openssl(
        dir,
        &[
            "req", "-x509", "-config", "req.cnf", "-newkey", "rsa:2048", "-nodes", "-keyout",
            "key.pem", "-out", "cert.pem", "-days", "3650",
        ],
    );
    Cert {
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
    }
}

/// Starts `openssl s_server -www` on 127.0.0.1 and waits until it accepts connections.
fn serve(dir: &Path, cert: &Cert) -> Server {
    for _ in 0..5 {
        let port = free_port();
        let child = Command::new("openssl")
            .args(["s_server", "-accept", &format!("127.0.0.1:{port}"), "-cert"])
            .arg(&cert.cert)
            .arg("-key")
            .arg(&cert.key)
            .arg("-www")
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start openssl s_server");
        let mut server = Server { child, port };
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if server.child.try_wait().expect("try_wait").is_some() {
                break; // exited (port taken meanwhile?): try another port
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return server;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        drop(server);
    }
    panic!("openssl s_server did not start");
}

fn show(dir: &Path, id: &str) -> Value {
    let out = castellan(dir)
        .args(["inventory", "show", id, "--json"])
        .assert()
        .success();
    json(&out.get_output().stdout)
}

fn import(dir: &Path, endpoints: &[&str]) -> assert_cmd::assert::Assert {
    castellan(dir)
        .args(["import", "tls"])
        .args(endpoints)
        .arg("--json")
        .assert()
}

/// Nothing was committed: no identity or credential, and no chain kept.
fn nothing_committed(dir: &Path) {
    let out = castellan(dir)
        .args(["--json", "inventory", "list", "--all"])
        .assert()
        .success();
    assert_eq!(
        json(&out.get_output().stdout).as_array().map(Vec::len),
        Some(0)
    );
    assert!(
        !dir.join(".castellan/live").exists(),
        "no chain is kept when a read fails"
    );
}

#[test]
fn a_live_endpoint_is_inventoried_like_its_certificate_file() {
    if !have_openssl() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let work = tmp.path().join("pki");
    std::fs::create_dir_all(&work).expect("mkdir");
    let cert = make_cert(&work);
    let server = serve(&work, &cert);
    let endpoint = format!("127.0.0.1:{}", server.port);

    // what openssl says about the certificate
    let fp: String = openssl(
        &work,
        &[
            "x509",
            "-noout",
            "-fingerprint",
            "-sha256",
            "-in",
            "cert.pem",
        ],
    )
    .trim()
    .rsplit('=')
    .next()
    .expect("fingerprint")
    .replace(':', "")
    .to_lowercase();
    let not_after = openssl(
        &work,
        &[
            "x509", "-noout", "-enddate", "-dateopt", "iso_8601", "-in", "cert.pem",
        ],
    );
    // `notAfter=2036-12-01 06:42:18Z` ⇒ RFC 3339
    let not_after = not_after
        .trim()
        .trim_start_matches("notAfter=")
        .replacen(' ', "T", 1);
    let id = format!("x509:sha256:{fp}");

    let db_dir = tmp.path().join("db");
    std::fs::create_dir_all(&db_dir).expect("mkdir");
    let out = import(&db_dir, &[&endpoint]).success();
    let reports = json(&out.get_output().stdout);
    let reports = reports.as_array().expect("reports");
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0]["source"], "x509");
    assert_eq!(
        reports[0]["added"], 2,
        "certificate and subject: {reports:?}"
    );
    // the chain is kept as evidence, under the data dir
    let kept = db_dir.join(reports[0]["path"].as_str().expect("path"));
    assert!(
        kept.starts_with(db_dir.join(".castellan/live")),
        "{}",
        kept.display()
    );
    assert_eq!(
        kept.file_name().and_then(|n| n.to_str()),
        Some(format!("127.0.0.1_{}.pem", server.port).as_str())
    );
    let pem = std::fs::read_to_string(&kept).expect("kept chain");
    let served = std::fs::read_to_string(&cert.cert).expect("cert");
    let body = |s: &str| -> String {
        s.lines()
            .skip_while(|l| !l.starts_with("-----BEGIN CERTIFICATE"))
            .filter(|l| !l.starts_with("-----"))
            .collect()
    };
    assert_eq!(
        body(&pem),
        body(&served),
        "the kept chain is what was served"
    );

    let ident = show(&db_dir, &id);
    assert_eq!(ident["id"], format!("x509:subject:{CN}"), "{ident:#}");
    assert_eq!(ident["kind"], "x509-subject");
    let c = ident["credentials"]
        .as_array()
        .expect("credentials")
        .iter()
        .find(|c| c["id"] == id.as_str())
        .expect("the certificate")
        .clone();
    let a = &c["attributes"];
    assert_eq!(c["kind"], "certificate");
    assert_eq!(c["name"], CN);
    assert_eq!(c["expires_at"], not_after.as_str(), "{c:#}");
    assert_eq!(
        a["subject"],
        format!("O=Nordwind Logistik GmbH, CN={CN}"),
        "{a:#}"
    );
    assert_eq!(
        a["sans"]["dns"],
        serde_json::json!([CN, "www.nordwind.example"])
    );
    assert_eq!(a["key_algorithm"], "RSA");
    assert_eq!(a["key_bits"], 2048);
    assert_eq!(a["self_signed"], true);
    assert_eq!(a["ca"], false);
    assert_eq!(a["chain_position"], "leaf");
    assert_eq!(a["validity_days"], 3650);
    assert_eq!(a["extended_key_usage"], serde_json::json!(["serverAuth"]));
    assert_eq!(a["sha256_fingerprint"], fp.as_str());
    assert_eq!(a["endpoint"], endpoint.as_str());
    assert_eq!(a["endpoint_address"], endpoint.as_str());
    assert!(
        matches!(a["tls_version"].as_str(), Some("TLSv1.3" | "TLSv1.2")),
        "{a:#}"
    );
    assert!(
        a["cipher_suite"]
            .as_str()
            .is_some_and(|s| s.starts_with("TLS_")),
        "{a:#}"
    );
    assert_eq!(a["handshake_signature_verified"], true);
    assert!(a.get("private_key_in_file").is_none(), "{a:#}");

    // the stable scope is recorded with the run
    let db = all_bytes(&db_dir); // the database (with any WAL) and the data dir
    assert!(contains(&db, &format!("x509:tls:{endpoint}")));

    // the private key is nowhere: not in the database, not in the data dir
    let key = std::fs::read_to_string(&cert.key).expect("key");
    let key_lines: Vec<&str> = key
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .skip(1) // the first line is the same for every RSA-2048 PKCS#8 key
        .filter(|l| l.len() >= 40)
        .collect();
    assert!(key_lines.len() > 10);
    for l in &key_lines {
        assert!(
            !contains(&db, &l[..40]),
            "private key in the database or the data dir"
        );
    }

    // read again: the same certificate, the same scope, nothing changed
    let again = json(&import(&db_dir, &[&endpoint]).success().get_output().stdout);
    for r in again.as_array().expect("reports") {
        assert_eq!(r["added"], 0, "{again:#}");
        assert_eq!(r["changed"], 0, "{again:#}");
        assert_eq!(r["unchanged"], 2, "{again:#}");
    }
    castellan(&db_dir)
        .args(["ledger", "verify"])
        .assert()
        .success();

    // one bad endpoint among good ones: exit 2 naming it, nothing more kept or committed
    let kept_reads = || {
        std::fs::read_dir(db_dir.join(".castellan/live"))
            .expect("live")
            .count()
    };
    let before = kept_reads();
    let ledger = || {
        let v = json(
            &castellan(&db_dir)
                .args(["--json", "ledger", "verify"])
                .assert()
                .success()
                .get_output()
                .stdout,
        );
        (v["entries"].clone(), v["chain_head"].clone())
    };
    let ledger_before = ledger();
    let closed = format!("127.0.0.1:{}", free_port());
    import(&db_dir, &[&endpoint, &closed])
        .code(2)
        .stderr(predicate::str::contains(format!(
            "{closed}: cannot connect"
        )));
    assert_eq!(kept_reads(), before);
    assert_eq!(ledger_before, ledger(), "nothing was committed");
    drop(server);
}

#[test]
fn a_closed_port_is_an_input_error_naming_the_endpoint() {
    let dir = tempfile::tempdir().expect("tmp");
    let endpoint = format!("127.0.0.1:{}", free_port());
    import(dir.path(), &[&endpoint])
        .code(2)
        .stderr(predicate::str::contains(format!(
            "{endpoint}: cannot connect"
        )));
    nothing_committed(dir.path());
}

#[test]
fn a_port_that_speaks_plain_http_is_not_tls() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let http = std::thread::spawn(move || {
        // one connection: read what the client sends (its ClientHello), answer as HTTP
        if let Ok((mut s, _)) = listener.accept() {
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = s.write_all(
                b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    let dir = tempfile::tempdir().expect("tmp");
    let endpoint = format!("127.0.0.1:{port}");
    import(dir.path(), &[&endpoint])
        .code(2)
        .stderr(predicate::str::contains(endpoint.as_str()))
        .stderr(predicate::str::contains("TLS"));
    http.join().expect("http thread");
    nothing_committed(dir.path());
}

#[test]
fn endpoint_syntax_errors_are_usage_errors() {
    let dir = tempfile::tempdir().expect("tmp");
    for (arg, says) in [
        ("portal.nordwind.example", "missing port"),
        ("portal.nordwind.example:https", "port is not a number"),
        ("portal.nordwind.example:0", "between 1 and 65535"),
        ("2001:db8::1:443", "in brackets"),
        ("https://portal.nordwind.example", "not a URL"),
    ] {
        castellan(dir.path())
            .args(["import", "tls", arg])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(says))
            .stderr(predicate::str::contains("HOST:PORT"));
    }
    castellan(dir.path())
        .args(["import", "tls"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("name at least one endpoint"));
    castellan(dir.path())
        .args(["import", "tls", "--cluster", "prod", "127.0.0.1:443"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("do not apply"));
    assert!(
        !dir.path().join("castellan.db").exists(),
        "a usage error opens no database"
    );
}
