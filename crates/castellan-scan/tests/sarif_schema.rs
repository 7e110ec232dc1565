//! The SARIF output validates against the official SARIF 2.1.0 schema (tests/schemas/README.md
//! names its source), for sightings from files and from git history, and holds no raw secret.

use castellan_scan::scan::{ScanOptions, Scanner};
use castellan_scan::{FingerprintKey, Rules, sarif};

const GH: &str = "ghp_Vb7Nm2Qw9Er4Ty6Ui1Op3As5Df8Gh0Jk2Lz4";
const PG: &str = "q9T!vW2#xL7p-Rk4M";

fn validator() -> jsonschema::Validator {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("schemas/sarif-schema-2.1.0.json")).expect("schema");
    jsonschema::validator_for(&schema).expect("schema compiles")
}

#[test]
fn sarif_is_valid_and_secret_free() {
    let rules = Rules::builtin().expect("rules");
    let scanner = Scanner::new(
        rules.clone(),
        FingerprintKey::from_bytes([2; 32]),
        ScanOptions::default(),
    )
    .expect("scanner");
    let (mut sightings, _) = scanner.scan_content(
        "deploy/ci.env",
        format!("GITHUB_TOKEN={GH}\nAWS_ACCESS_KEY_ID=AKIAQNWDCIDEPLF05101\n").as_bytes(),
    );
    let (more, _) = scanner.scan_content(
        "dir with space/.pgpass",
        format!("db.internal:5432:app:svc:{PG}\n").as_bytes(),
    );
    sightings.extend(more);
    // As a history scan reports them.
    if let Some(s) = sightings.first_mut() {
        s.place.commit = Some("5b73ea16ccb265bfef00bb22d931c82eab3cebd2".into());
        s.place.blob = Some("0123456789abcdef0123456789abcdef01234567".into());
        s.place.head = Some(false);
    }
    assert!(sightings.len() >= 3, "{sightings:?}");
    let doc = sarif::to_sarif(&sightings, &rules, "0.1.0");
    let v = validator();
    let errors: Vec<String> = v.iter_errors(&doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "SARIF schema errors: {errors:#?}");
    let text = doc.to_string();
    assert!(
        !text.contains(GH) && !text.contains(PG),
        "raw secret in SARIF"
    );

    // An empty scan is a valid document too.
    let empty = sarif::to_sarif(&[], &rules, "0.1.0");
    assert!(v.is_valid(&empty));
}

#[test]
fn the_validator_rejects_a_broken_document() {
    let v = validator();
    let broken = serde_json::json!({ "version": "2.1.0", "runs": [{ "results": [] }] });
    assert!(!v.is_valid(&broken), "a run without a tool is not SARIF");
}
