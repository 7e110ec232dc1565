//! SARIF 2.1.0 output for code-scanning upload (GitHub, GitLab, Azure DevOps, DefectDojo).
//!
//! One run; the driver lists every rule that produced a result; each sighting is a result with
//! its location, the keyed fingerprint as `partialFingerprints` (stable across runs, so a
//! code-scanning service tracks it) and the redacted preview in the message. No raw secret.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::rules::{Confidence, Rules};
use crate::{Sighting, extract};

/// The SARIF level of a confidence.
fn level(c: Confidence) -> &'static str {
    match c {
        Confidence::High => "error",
        Confidence::Medium => "warning",
        Confidence::Low => "note",
    }
}

/// The SARIF document for `sightings`. `version` is the tool version.
pub fn to_sarif(sightings: &[Sighting], rules: &Rules, version: &str) -> Value {
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    let mut descriptors = Vec::new();
    for s in sightings {
        if index.contains_key(s.rule_id.as_str()) {
            continue;
        }
        index.insert(&s.rule_id, descriptors.len());
        let (name, help, refs) = match rules.get(&s.rule_id) {
            Some(r) => (
                r.name.clone(),
                r.references.first().cloned(),
                r.references.clone(),
            ),
            None => (extract::name_of(&s.rule_id).to_string(), None, Vec::new()),
        };
        let mut d = json!({
            "id": s.rule_id,
            "name": name,
            "shortDescription": { "text": name },
            "fullDescription": { "text": format!("{name}: a {} credential ({}) found outside an approved secret store.", s.kind, s.provider) },
            "defaultConfiguration": { "level": level(s.confidence) },
            "help": { "text": "Revoke or rotate the credential first, then remove it from the file and its history and load it from an approved secret store." },
            "properties": {
                "tags": ["security", "secret", s.provider.as_str()],
                "precision": match s.confidence { Confidence::High => "very-high", Confidence::Medium => "high", Confidence::Low => "medium" },
                "security-severity": match s.confidence { Confidence::High => "9.0", Confidence::Medium => "7.5", Confidence::Low => "5.0" },
                "references": refs,
            }
        });
        if let (Some(h), Some(obj)) = (help, d.as_object_mut()) {
            obj.insert("helpUri".into(), json!(h));
        }
        descriptors.push(d);
    }
    let results: Vec<Value> = sightings
        .iter()
        .map(|s| {
            let what = match (&s.preview, &s.identifier) {
                (Some(p), Some(id)) => format!("{} ({id}, {p})", s.rule_name),
                (Some(p), None) => format!("{} ({p})", s.rule_name),
                (None, Some(id)) => format!("{} ({id})", s.rule_name),
                (None, None) => s.rule_name.clone(),
            };
            let mut text = format!("{what} at {}:{}", s.place.path, s.place.line);
            if let Some(c) = &s.place.commit {
                text.push_str(&format!(", introduced in commit {}", &c[..c.len().min(12)]));
                if s.place.head == Some(false) {
                    text.push_str(" (no longer at HEAD, still in history)");
                }
            }
            let mut props = json!({
                "kind": s.kind,
                "provider": s.provider,
                "confidence": s.confidence.as_str(),
                "fingerprint": s.fingerprint.as_str(),
            });
            if let Some(obj) = props.as_object_mut() {
                if let Some(c) = &s.place.commit {
                    obj.insert("commit".into(), json!(c));
                }
                if let Some(b) = &s.place.blob {
                    obj.insert("blob".into(), json!(b));
                }
                if let Some(h) = s.place.head {
                    obj.insert("presentAtHead".into(), json!(h));
                }
                if let Some(id) = &s.identifier {
                    obj.insert("identifier".into(), json!(id));
                }
            }
            json!({
                "ruleId": s.rule_id,
                "ruleIndex": index.get(s.rule_id.as_str()).copied().unwrap_or(0),
                "level": level(s.confidence),
                "message": { "text": text },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": uri_of(&s.place.path), "uriBaseId": "%SRCROOT%" },
                        "region": { "startLine": s.place.line.max(1), "startColumn": s.place.column.max(1) }
                    }
                }],
                "partialFingerprints": { "castellanFingerprint/v1": s.fingerprint.as_str() },
                "properties": props,
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "castellan",
                "semanticVersion": version,
                "informationUri": "https://example.invalid/castellan",
                "rules": descriptors,
            }},
            "columnKind": "utf16CodeUnits",
            "results": results,
        }]
    })
}

/// A relative URI reference for a path: forward slashes, percent-encoding of what a URI may not
/// hold.
fn uri_of(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.replace('\\', "/").bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_encoding() {
        assert_eq!(uri_of("a b/c#d.txt"), "a%20b/c%23d.txt");
        assert_eq!(uri_of("dir\\x.env"), "dir/x.env");
    }
}
