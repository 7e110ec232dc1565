use std::io::Write;

use castellan_model::FingerprintKey;
use castellan_pipeline::{ScanOutcome, ScanRequest, default_data_dir, scan_and_store, scan_only};
use castellan_scan::Rules;
use serde_json::json;

use crate::Failure;
use crate::args::{Global, RulesCmd, ScanArgs, ScanFormat};
use crate::output::{self, Bar};

fn input(msg: String) -> Failure {
    Failure {
        code: crate::exit::INPUT,
        error: anyhow::anyhow!(msg),
    }
}

pub fn run(g: &Global, a: &ScanArgs) -> Result<u8, Failure> {
    let req = ScanRequest {
        roots: a.paths.clone(),
        git: a.git,
        staged: a.staged,
        since_commit: a.since_commit.clone(),
        no_ignore: a.no_ignore,
        max_file_size: Some(a.max_file_size),
        rules_dir: a.rules.clone(),
        baseline: a.baseline.clone(),
    };
    let bar = Bar::new(g);
    let store = !(a.no_store || a.staged);
    let outcome = if store {
        let mut ctx = output::open(g)?;
        scan_and_store(&mut ctx, &req, &bar)?
    } else {
        let data_dir = g
            .data_dir
            .clone()
            .unwrap_or_else(|| default_data_dir(&g.db));
        let key = FingerprintKey::load_or_create(&data_dir).map_err(|e| input(e.to_string()))?;
        scan_only(&req, &key, Some(&data_dir.join("scan-cache")), &bar)?
    };
    bar.finish();
    let mut rule_set = Rules::builtin().map_err(|e| input(e.to_string()))?;
    if let Some(d) = &a.rules {
        rule_set.add_dir(d).map_err(|e| input(e.to_string()))?;
    }
    // The global --json asks for the JSON document when no other format was chosen.
    let format = if g.json && a.format == ScanFormat::Table {
        ScanFormat::Json
    } else {
        a.format
    };
    let text = match format {
        ScanFormat::Table => table(&outcome, store),
        ScanFormat::Json => {
            serde_json::to_string_pretty(&as_json(&outcome)).unwrap_or_default() + "\n"
        }
        ScanFormat::Jsonl => {
            let mut s = String::new();
            for (root, report) in &outcome.roots {
                for x in &report.sightings {
                    let mut v = serde_json::to_value(x).unwrap_or_default();
                    if let Some(o) = v.as_object_mut() {
                        o.insert("root".into(), json!(root.root));
                    }
                    s.push_str(&v.to_string());
                    s.push('\n');
                }
            }
            s
        }
        ScanFormat::Sarif => {
            let all: Vec<_> = outcome
                .roots
                .iter()
                .flat_map(|(_, r)| r.sightings.iter().cloned())
                .collect();
            serde_json::to_string_pretty(&castellan_scan::sarif::to_sarif(
                &all,
                &rule_set,
                env!("CARGO_PKG_VERSION"),
            ))
            .unwrap_or_default()
                + "\n"
        }
    };
    match &a.out {
        Some(path) => std::fs::write(path, text)
            .map_err(|e| input(format!("cannot write {}: {e}", path.display())))?,
        None => {
            if !(g.quiet && format == ScanFormat::Table) {
                let _ = std::io::stdout().write_all(text.as_bytes());
            }
        }
    }
    let found: usize = outcome.roots.iter().map(|(_, r)| r.sightings.len()).sum();
    Ok(if found > 0 && !a.exit_zero {
        crate::exit::FINDINGS
    } else {
        crate::exit::OK
    })
}

fn as_json(o: &ScanOutcome) -> serde_json::Value {
    let mut sightings = Vec::new();
    let mut references = Vec::new();
    let mut skipped = Vec::new();
    for (root, r) in &o.roots {
        for s in &r.sightings {
            let mut v = serde_json::to_value(s).unwrap_or_default();
            if let Some(obj) = v.as_object_mut() {
                obj.insert("root".into(), json!(root.root));
                if let Some(id) = o.linked.get(s.fingerprint.as_str()) {
                    obj.insert("inventory_credential".into(), json!(id));
                }
            }
            sightings.push(v);
        }
        for x in &r.references {
            references.push(json!({
                "root": root.root,
                "path": x.path,
                "line": x.reference.line,
                "store": x.reference.store,
                "name": x.reference.name,
                "consumer": x.reference.consumer,
            }));
        }
        for x in &r.skipped {
            let mut v = serde_json::to_value(x).unwrap_or_default();
            if let Some(obj) = v.as_object_mut() {
                obj.insert("root".into(), json!(root.root));
            }
            skipped.push(v);
        }
    }
    json!({
        "version": 1,
        "roots": o.roots.iter().map(|(s, _)| s).collect::<Vec<_>>(),
        "sightings": sightings,
        "references": references,
        "skipped": skipped,
        "baselined": o.baselined,
        "stored_credentials": o.credentials,
    })
}

fn table(o: &ScanOutcome, stored: bool) -> String {
    let mut t = output::table(&["What", "Where", "Value", "Confidence", "Inventory"]);
    let mut n = 0;
    let mut distinct = std::collections::BTreeSet::new();
    for (_, r) in &o.roots {
        for s in &r.sightings {
            n += 1;
            distinct.insert(s.fingerprint.as_str().to_string());
            let mut place = format!("{}:{}", s.place.path, s.place.line);
            if let Some(c) = &s.place.commit {
                place.push_str(&format!("@{}", &c[..c.len().min(10)]));
                if s.place.head == Some(false) {
                    place.push_str(" (history only)");
                }
            }
            let value = match (&s.identifier, &s.preview) {
                (Some(i), Some(p)) => format!("{i} {p}"),
                (Some(i), None) => i.clone(),
                (None, Some(p)) => p.to_string(),
                (None, None) => String::new(),
            };
            let inv = match o.linked.get(s.fingerprint.as_str()) {
                Some(id) => format!("EXPOSED {id}"),
                None if stored => "unmanaged (new)".into(),
                None => "-".into(),
            };
            t.add_row(vec![
                s.rule_name.clone(),
                place,
                value,
                s.confidence.as_str().to_string(),
                inv,
            ]);
        }
    }
    let mut out = String::new();
    if n > 0 {
        out.push_str(&t.to_string());
        out.push('\n');
    }
    let files: u64 = o.roots.iter().map(|(s, _)| s.files).sum();
    let bytes: u64 = o.roots.iter().map(|(s, _)| s.bytes).sum();
    let refs: usize = o.roots.iter().map(|(_, r)| r.references.len()).sum();
    let skipped: Vec<_> = o.roots.iter().flat_map(|(_, r)| r.skipped.iter()).collect();
    out.push_str(&format!(
        "{n} sighting(s) of {} distinct secret(s) in {files} file(s)/blob(s), {:.1} MB scanned; {refs} reference(s) to managed secrets",
        distinct.len(),
        bytes as f64 / 1e6
    ));
    if o.baselined > 0 {
        out.push_str(&format!("; {} in the baseline left out", o.baselined));
    }
    out.push('\n');
    if stored {
        out.push_str(&format!(
            "stored: {} credential(s), {} of them inventoried and now marked exposed\n",
            o.credentials,
            o.linked
                .values()
                .collect::<std::collections::BTreeSet<_>>()
                .len()
        ));
    }
    for s in skipped.iter().take(20) {
        let why = match &s.skip {
            castellan_scan::scan::Skip::TooLarge { size } => {
                format!("larger than --max-file-size ({size} bytes)")
            }
            castellan_scan::scan::Skip::Binary => "binary".into(),
            castellan_scan::scan::Skip::Unreadable { error } => error.clone(),
        };
        out.push_str(&format!("skipped {}: {why}\n", s.path));
    }
    if skipped.len() > 20 {
        out.push_str(&format!(
            "… and {} more skipped (see --format json)\n",
            skipped.len() - 20
        ));
    }
    out
}

pub fn rules(g: &Global, c: &RulesCmd) -> Result<u8, Failure> {
    let (dir, check) = match c {
        RulesCmd::List { rules } => (rules, false),
        RulesCmd::Check { rules } => (rules, true),
    };
    let mut set = Rules::builtin().map_err(|e| input(e.to_string()))?;
    if let Some(d) = dir {
        set.add_dir(d).map_err(|e| input(e.to_string()))?;
    }
    if check {
        let failures = set.check().map_err(|e| input(e.to_string()))?;
        let examples: usize = set
            .iter()
            .map(|r| r.examples.len() + r.negative_examples.len())
            .sum();
        if g.json {
            output::print_json(
                &json!({ "rules": set.len(), "examples": examples, "failures": failures }),
            );
        } else {
            for f in &failures {
                println!("FAIL {f}");
            }
            println!(
                "{} rules, {examples} examples: {}",
                set.len(),
                if failures.is_empty() {
                    "all proven".to_string()
                } else {
                    format!("{} failure(s)", failures.len())
                }
            );
        }
        return Ok(if failures.is_empty() {
            crate::exit::OK
        } else {
            crate::exit::INPUT
        });
    }
    if g.json {
        let list: Vec<_> = set
            .iter()
            .map(|r| json!({ "id": r.id, "name": r.name, "kind": r.kind, "provider": r.provider, "confidence": r.confidence.as_str(), "references": r.references }))
            .collect();
        output::print_json(&json!(list));
    } else {
        let mut t = output::table(&["Id", "Name", "Kind", "Provider", "Confidence"]);
        for r in set.iter() {
            t.add_row(vec![
                r.id.clone(),
                r.name.clone(),
                r.kind.clone(),
                r.provider.clone(),
                r.confidence.as_str().to_string(),
            ]);
        }
        println!("{t}\n{} rules", set.len());
    }
    Ok(crate::exit::OK)
}
