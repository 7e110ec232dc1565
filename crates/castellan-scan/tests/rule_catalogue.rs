//! The built-in rule catalogue as a whole: size, unique ids, references, and that every rule
//! file under `data/rules/` is compiled in.

use std::collections::BTreeSet;

use castellan_scan::Rules;
use castellan_scan::rules::BUILTIN;

fn builtin() -> Rules {
    Rules::builtin().expect("the built-in rules load")
}

#[test]
fn at_least_150_builtin_rules_load() {
    let rules = builtin();
    assert!(rules.len() >= 150, "only {} built-in rules", rules.len());
}

#[test]
fn no_two_rules_share_an_id() {
    let rules = builtin();
    let mut seen = BTreeSet::new();
    let dups: Vec<&str> = rules
        .iter()
        .map(|r| r.id.as_str())
        .filter(|id| !seen.insert(*id))
        .collect();
    assert!(dups.is_empty(), "duplicate rule ids: {dups:?}");
}

#[test]
fn every_rule_has_a_reference() {
    let rules = builtin();
    let missing: Vec<&str> = rules
        .iter()
        .filter(|r| {
            r.references.is_empty() || r.references.iter().any(|u| !u.starts_with("https://"))
        })
        .map(|r| r.id.as_str())
        .collect();
    assert!(
        missing.is_empty(),
        "rules without an https reference: {missing:?}"
    );
}

#[test]
fn ids_are_dotted_castellan_ids_and_rules_carry_examples() {
    let rules = builtin();
    for r in rules.iter() {
        assert!(
            r.id.starts_with("castellan.") && r.id.matches('.').count() >= 2,
            "{}: id is not castellan.<provider>.<thing>",
            r.id
        );
        assert!(!r.examples.is_empty(), "{}: no examples", r.id);
        assert!(
            r.keywords.iter().all(|k| k.len() >= 2),
            "{}: keyword shorter than 2",
            r.id
        );
    }
}

#[test]
fn every_rule_file_is_compiled_in() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/data/rules");
    let on_disk: BTreeSet<String> = std::fs::read_dir(dir)
        .expect("data/rules")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml") || n.ends_with(".yml"))
        .collect();
    let builtin: BTreeSet<String> = BUILTIN
        .iter()
        .map(|(name, _)| (*name).to_string())
        .collect();
    assert_eq!(on_disk, builtin, "data/rules and BUILTIN differ");
}

#[test]
fn generic_rules_come_last() {
    // Sightings of one value on one line are deduplicated in favour of the first rule, so the
    // provider rules must be listed before the generic ones.
    let last = BUILTIN.last().map(|(name, _)| *name);
    assert_eq!(last, Some("generic.yaml"));
}
