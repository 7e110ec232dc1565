//! The human report: one self-contained HTML file (inline CSS and SVG, no script, no network),
//! with a print stylesheet. Every value from an export is escaped.

use std::collections::BTreeMap;
use std::fmt::Write;

use castellan_policy::Catalogue;
use castellan_store::{Store, StoreError};
use serde_json::Value;

use crate::EvidenceInput;

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn s(v: &Value) -> String {
    match v {
        Value::Null => "—".into(),
        Value::String(t) => escape(t),
        other => escape(&other.to_string()),
    }
}

const CSS: &str = r#"
:root{--fg:#1d2430;--muted:#5b6575;--line:#d9dee6;--bg:#f6f7f9;--crit:#7a1022;--high:#c0392b;--med:#d68910;--low:#2e86c1;--info:#7f8c8d;--ok:#1e8449}
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);margin:0;background:var(--bg)}
header{background:#14213d;color:#fff;padding:20px 32px}header h1{margin:0;font-size:22px}header p{margin:4px 0 0;color:#cfd6e4}
main{padding:20px 32px;max-width:1280px}section{background:#fff;border:1px solid var(--line);border-radius:6px;padding:16px 20px;margin:0 0 18px}
h2{font-size:17px;margin:0 0 12px}table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:12px;text-transform:uppercase;letter-spacing:.03em;color:var(--muted)}td.num,th.num{text-align:right}
.cards{display:flex;flex-wrap:wrap;gap:12px}.card{flex:1 1 150px;border:1px solid var(--line);border-radius:6px;padding:12px;background:#fff}
.card b{display:block;font-size:26px}.card span{color:var(--muted);font-size:12px}
.sev{display:inline-block;border-radius:3px;padding:1px 6px;color:#fff;font-size:11px;font-weight:600;text-transform:uppercase}
.sev-critical{background:var(--crit)}.sev-high{background:var(--high)}.sev-medium{background:var(--med)}.sev-low{background:var(--low)}.sev-info{background:var(--info)}
.st-open{color:var(--high);font-weight:600}.st-excepted{color:var(--med)}.st-closed{color:var(--ok)}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;word-break:break-all}.muted{color:var(--muted)}
.nowrap{white-space:nowrap}.nowrap code{word-break:normal}
@media print{body{background:#fff}header{background:#fff;color:#000;border-bottom:2px solid #000}header p{color:#333}section{border:none;page-break-inside:avoid;padding:8px 0}main{padding:0}}
"#;

fn severity_badge(sev: &str) -> String {
    let sev = escape(sev);
    format!(r#"<span class="sev sev-{sev}">{sev}</span>"#)
}

fn bar_chart(rows: &[(String, u64, u64)]) -> String {
    // rows: (label, open, excepted)
    let max = rows.iter().map(|r| r.1 + r.2).max().unwrap_or(0).max(1);
    let h = 26 * rows.len().max(1) + 10;
    let mut svg = format!(
        r#"<svg role="img" aria-label="Findings per control" width="760" height="{h}" viewBox="0 0 760 {h}" xmlns="http://www.w3.org/2000/svg">"#
    );
    for (i, (label, open, exc)) in rows.iter().enumerate() {
        let y = 6 + i * 26;
        let wo = (*open as f64 / max as f64 * 420.0).round();
        let we = (*exc as f64 / max as f64 * 420.0).round();
        let _ = write!(
            svg,
            r##"<text x="0" y="{ty}" font-size="12" fill="#1d2430">{label}</text><rect x="110" y="{y}" width="{wo}" height="18" fill="#c0392b"/><rect x="{xe}" y="{y}" width="{we}" height="18" fill="#d68910"/><text x="{xt}" y="{ty}" font-size="12" fill="#5b6575">{open} open, {exc} excepted</text>"##,
            ty = y + 13,
            label = escape(label),
            xe = 110.0 + wo,
            xt = 116.0 + wo + we,
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Renders `report.html`.
pub fn render_html(
    store: &mut Store,
    catalogue: &Catalogue,
    input: &EvidenceInput,
    summary: &Value,
    inventory: &Value,
    findings: &Value,
) -> Result<String, StoreError> {
    let org = store
        .entities("governance")?
        .into_iter()
        .next()
        .and_then(|d| {
            d.data
                .get("organisation")
                .and_then(Value::as_str)
                .map(String::from)
        });
    let suppliers = store.entities("supplier")?;
    let contracts = store.entities("contract")?;
    let people: BTreeMap<String, Value> = store
        .entities("person")?
        .into_iter()
        .map(|p| (p.id, p.data))
        .collect();
    let empty = Vec::new();
    let items = inventory["identities"].as_array().unwrap_or(&empty);
    let fs = findings["findings"].as_array().unwrap_or(&empty);

    let mut h = String::with_capacity(64 * 1024);
    let title = match &org {
        Some(o) => format!("NHI governance report — {}", escape(o)),
        None => "NHI governance report".to_string(),
    };
    let _ = write!(
        h,
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>{title}</title><style>{CSS}</style></head><body><header><h1>{title}</h1><p>Assessed {at} · estate <code>{estate}</code> · Castellan {ver}</p></header><main>"#,
        at = escape(&input.generated_at),
        estate = escape(&input.estate),
        ver = env!("CARGO_PKG_VERSION"),
    );

    // Summary cards
    let inv = &summary["inventory"];
    let fsum = &summary["findings"];
    let coverage = inv["owner_coverage"].as_f64().unwrap_or(0.0) * 100.0;
    let _ = write!(
        h,
        r#"<section id="summary"><h2>Summary</h2><div class="cards">"#
    );
    for (label, value) in [
        ("identities", s(&inv["identities"])),
        ("credentials", s(&inv["credentials"])),
        ("open findings", s(&fsum["open"])),
        ("excepted", s(&fsum["excepted"])),
        ("owner coverage", format!("{coverage:.0}%")),
    ] {
        let _ = write!(
            h,
            r#"<div class="card"><b>{value}</b><span>{label}</span></div>"#
        );
    }
    h.push_str("</div><p>Open findings by severity: ");
    for sev in ["critical", "high", "medium", "low", "info"] {
        let _ = write!(
            h,
            "{} {} &nbsp; ",
            severity_badge(sev),
            s(&fsum["open_by_severity"][sev])
        );
    }
    h.push_str("</p></section>");

    // Posture by control
    let mut rows = Vec::new();
    h.push_str(r#"<section id="controls"><h2>Posture by control</h2>"#);
    let mut table = String::from(
        r#"<table><thead><tr><th>Control</th><th>Title</th><th>Status</th><th>NIS2</th><th>CSF 2.0</th><th>OWASP NHI</th><th class="num">Open</th><th class="num">Excepted</th></tr></thead><tbody>"#,
    );
    let empty_controls = Vec::new();
    for c in summary["controls"].as_array().unwrap_or(&empty_controls) {
        let id = c["id"].as_str().unwrap_or("");
        let open = c["open"].as_u64().unwrap_or(0);
        let exc = c["excepted"].as_u64().unwrap_or(0);
        let status = c["status"].as_str().unwrap_or("not_evaluated");
        if c["automation"] == "builtin" || c["automation"] == "custom" {
            rows.push((id.to_string(), open, exc));
        }
        let mappings = catalogue
            .get(id)
            .map(|c| c.mappings.clone())
            .unwrap_or_default();
        let custom = c["automation"] == "custom";
        let label = match status {
            "failing" if custom => {
                r#"<span class="st-open">failing</span> <span class="muted">(custom)</span>"#
            }
            "passing" if custom => {
                r#"<span class="st-closed">passing</span> <span class="muted">(custom)</span>"#
            }
            "failing" => r#"<span class="st-open">failing</span>"#,
            "passing" => r#"<span class="st-closed">passing</span>"#,
            "manual_attestation_required" => {
                r#"<span class="st-open">manual attestation missing</span>"#
            }
            "attested" => r#"<span class="st-excepted">attested</span>"#,
            _ => r#"<span class="muted">not evaluated yet</span>"#,
        };
        let _ = write!(
            table,
            r#"<tr><td class="nowrap"><code>{}</code></td><td>{}</td><td class="nowrap">{label}</td><td>{}</td><td>{}</td><td>{}</td><td class="num">{open}</td><td class="num">{exc}</td></tr>"#,
            escape(id),
            match c["attestation"].as_object() {
                Some(a) => format!(
                    "{}<br><span class=\"muted\">attested by {} on {}: {}</span>",
                    s(&c["title"]),
                    s(&a["attested_by"].clone()),
                    escape(a["date"].as_str().map_or("", |d| &d[..d.len().min(10)])),
                    s(&a["evidence"].clone())
                ),
                None => s(&c["title"]),
            },
            escape(&mappings.nis2.join(", ")),
            escape(&mappings.nist_csf_2.join(", ")),
            escape(&mappings.owasp_nhi_2025.join(", ")),
        );
    }
    table.push_str("</tbody></table>");
    h.push_str(&bar_chart(&rows));
    h.push_str(&table);
    h.push_str(r#"<p class="muted">Controls marked “not evaluated yet” are not decided by this run and are not counted as passing. Manual controls show the attestation and evidence recorded in the governance file.</p></section>"#);

    // Top risks
    let mut ranked: Vec<&Value> = items
        .iter()
        .filter(|i| i["risk"]["score"].as_u64().unwrap_or(0) > 0)
        .collect();
    ranked.sort_by(|a, b| {
        b["risk"]["score"]
            .as_u64()
            .cmp(&a["risk"]["score"].as_u64())
            .then(a["id"].as_str().cmp(&b["id"].as_str()))
    });
    h.push_str(r#"<section id="risks"><h2>Top risks</h2><table><thead><tr><th class="num">Risk</th><th>Identity</th><th>Why</th></tr></thead><tbody>"#);
    for it in ranked.iter().take(10) {
        let why: Vec<String> = it["risk"]["factors"]
            .as_array()
            .unwrap_or(&empty)
            .iter()
            .map(|f| format!("{} (+{})", s(&f["detail"]), s(&f["points"])))
            .collect();
        let _ = write!(
            h,
            r#"<tr><td class="num"><b>{}</b></td><td><code>{}</code></td><td>{}</td></tr>"#,
            s(&it["risk"]["score"]),
            s(&it["id"]),
            why.join("; "),
        );
    }
    h.push_str(r#"</tbody></table><p class="muted">Score 0–100 from open findings, privilege, service criticality, supplier, interactive use and ownership; see docs/controls.md.</p></section>"#);

    // Findings
    let _ = write!(
        h,
        r#"<section id="findings"><h2>Findings ({})</h2>"#,
        fs.len()
    );
    if fs.is_empty() {
        h.push_str("<p>No findings.</p>");
    } else {
        h.push_str(r#"<table><thead><tr><th>Severity</th><th>Status</th><th>Control</th><th>Finding</th><th>Subject</th><th>Exception</th></tr></thead><tbody>"#);
        for f in fs {
            let status = f["status"].as_str().unwrap_or("open");
            let _ = write!(
                h,
                r#"<tr><td>{}</td><td class="st-{st}">{st}</td><td class="nowrap"><code>{}</code></td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>"#,
                severity_badge(f["severity"].as_str().unwrap_or("medium")),
                s(&f["control"]),
                s(&f["title"]),
                s(&f["subject"]),
                s(&f["exception"]),
                st = escape(status),
            );
        }
        h.push_str("</tbody></table>");
    }
    h.push_str("</section>");

    // Ownership gaps
    h.push_str(r#"<section id="ownership"><h2>Ownership gaps</h2><table><thead><tr><th>Identity</th><th>Owner</th><th>Problem</th></tr></thead><tbody>"#);
    let mut gaps = 0;
    for it in items.iter().filter(|i| i["status"] != "gone") {
        let problem = match it["owner"].as_str() {
            None => Some("no owner".to_string()),
            Some(o) => match people.get(&format!("person:{o}")) {
                None => Some("owner is not a declared person".into()),
                Some(p) if p["status"] == "left" => Some(format!(
                    "owner left ({})",
                    p["left_at"].as_str().unwrap_or("date unknown")
                )),
                Some(_) => None,
            },
        };
        if let Some(problem) = problem {
            gaps += 1;
            let _ = write!(
                h,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                s(&it["id"]),
                s(&it["owner"]),
                escape(&problem)
            );
        }
    }
    if gaps == 0 {
        h.push_str(r#"<tr><td colspan="3">Every identity has an active owner.</td></tr>"#);
    }
    h.push_str("</tbody></table></section>");

    // Supplier exposure
    h.push_str(r#"<section id="suppliers"><h2>Supplier exposure</h2><table><thead><tr><th>Supplier</th><th>Contracts</th><th class="num">Identities</th><th class="num">Open findings</th></tr></thead><tbody>"#);
    for sup in &suppliers {
        let name = sup.name.as_str();
        let held = items
            .iter()
            .filter(|i| i["supplier"].as_str() == Some(name) && i["status"] != "gone")
            .count();
        let held_ids: Vec<&str> = items
            .iter()
            .filter(|i| i["supplier"].as_str() == Some(name))
            .filter_map(|i| i["id"].as_str())
            .collect();
        let open = fs
            .iter()
            .filter(|f| {
                f["status"] == "open"
                    && held_ids
                        .iter()
                        .any(|id| f["subject"].as_str().is_some_and(|s| s.starts_with(id)))
            })
            .count();
        let cs: Vec<String> = contracts
            .iter()
            .filter(|c| c.data["supplier_id"] == Value::String(sup.id.clone()))
            .map(|c| {
                format!(
                    "{} ({} → {})",
                    escape(&c.name),
                    s(&c.data["start"]),
                    s(&c.data["end"])
                )
            })
            .collect();
        let _ = write!(
            h,
            r#"<tr><td>{}</td><td>{}</td><td class="num">{held}</td><td class="num">{open}</td></tr>"#,
            escape(name),
            cs.join("<br>")
        );
    }
    if suppliers.is_empty() {
        h.push_str(r#"<tr><td colspan="4">No suppliers declared.</td></tr>"#);
    }
    h.push_str("</tbody></table></section>");

    // Inventory
    let _ = write!(
        h,
        r#"<section id="inventory"><h2>Inventory ({} identities)</h2><table><thead><tr><th>Identity</th><th>Kind</th><th>Status</th><th>Owner</th><th>Service</th><th>Supplier</th><th>Credentials</th><th>Last used</th></tr></thead><tbody>"#,
        items.len()
    );
    for it in items {
        let creds: Vec<String> = it["credentials"]
            .as_array()
            .unwrap_or(&empty)
            .iter()
            .map(|c| {
                format!(
                    "{} <span class=\"muted\">({})</span>",
                    s(&c["kind"]),
                    s(&c["status"])
                )
            })
            .collect();
        let _ = write!(
            h,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            s(&it["id"]),
            s(&it["kind"]),
            s(&it["status"]),
            s(&it["owner"]),
            s(&it["service"]),
            s(&it["supplier"]),
            creds.join("<br>"),
            s(&it["last_used_at"]),
        );
    }
    h.push_str("</tbody></table></section>");

    // Imports and ledger
    h.push_str(r#"<section id="sources"><h2>Sources imported</h2><table><thead><tr><th>File</th><th>Source</th><th class="num">Records</th><th class="num">Added</th><th class="num">Changed</th><th class="num">Gone</th><th>SHA-256</th></tr></thead><tbody>"#);
    for imp in input.imports.as_array().unwrap_or(&empty) {
        let _ = write!(
            h,
            r#"<tr><td><code>{}</code></td><td>{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td><td><code>{}</code></td></tr>"#,
            s(&imp["path"]),
            s(&imp["source"]),
            s(&imp["records"]),
            s(&imp["added"]),
            s(&imp["changed"]),
            s(&imp["gone"]),
            s(&imp["sha256"]),
        );
    }
    h.push_str("</tbody></table>");
    let skipped = input.skipped.as_array().unwrap_or(&empty);
    if !skipped.is_empty() {
        h.push_str("<p class=\"muted\">Not imported: ");
        let list: Vec<String> = skipped
            .iter()
            .map(|k| format!("<code>{}</code>", s(&k["path"])))
            .collect();
        h.push_str(&list.join(", "));
        h.push_str("</p>");
    }
    h.push_str("</section>");
    let cp = &input.checkpoint;
    let _ = write!(
        h,
        r#"<section id="ledger"><h2>Evidence ledger</h2><p>This report was produced from a tamper-evident ledger of {size} events. Verify it with <code>castellan ledger verify</code>.</p><table><tbody><tr><th>Merkle root</th><td><code>{root}</code></td></tr><tr><th>Chain head</th><td><code>{chain}</code></td></tr><tr><th>Signed checkpoint</th><td><code>{origin}</code>, {ts}, key <code>{key}</code></td></tr><tr><th>Signature</th><td><code>{sig}</code></td></tr></tbody></table></section>"#,
        size = cp.tree_size,
        root = escape(&cp.root_hash),
        chain = escape(&cp.chain_head),
        origin = escape(&cp.origin),
        ts = escape(&cp.timestamp),
        key = escape(&cp.key_id),
        sig = escape(&cp.signature),
    );
    h.push_str("</main></body></html>\n");
    Ok(h)
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_markup() {
        assert_eq!(
            super::escape(r#""><img onerror=x>"#),
            "&quot;&gt;&lt;img onerror=x&gt;"
        );
        assert_eq!(
            super::escape("<script>alert('x')</script>"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"
        );
    }
}
