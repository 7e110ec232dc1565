use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use castellan_model::FingerprintKey;
use castellan_sources::{
    SourceError, SourceKind, aws_authorization_details, aws_credential_report, governance, k8s,
};
use castellan_store::{Outcome, Tx};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::{Context, PipelineError, Progress};

/// A file `run` looked at and did not import.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// The file.
    pub path: String,
    /// Why.
    pub reason: String,
}

/// What importing one file did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// The file.
    pub path: String,
    /// The source format.
    pub source: String,
    /// Import run id.
    pub run: i64,
    /// SHA-256 of the file.
    pub sha256: String,
    /// Records read.
    pub records: u64,
    /// New records.
    pub added: u64,
    /// Changed records.
    pub changed: u64,
    /// Unchanged records.
    pub unchanged: u64,
    /// Records of the same scope no longer reported.
    pub gone: u64,
    /// Lifecycle events not stored before (logs: events already known are not counted).
    pub events_added: u64,
}

const HEAD_BYTES: usize = 8192;
const MAX_GOVERNANCE_BYTES: u64 = 16 * 1024 * 1024;
const MAX_JSON_ENVELOPE_BYTES: u64 = 2 * 1024 * 1024 * 1024;

fn read_head(path: &Path) -> Result<Vec<u8>, SourceError> {
    let mut f = File::open(path).map_err(|source| SourceError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let mut buf = vec![0u8; HEAD_BYTES];
    let mut n = 0;
    while n < HEAD_BYTES {
        let k = f.read(&mut buf[n..]).map_err(|source| SourceError::Io {
            path: path.display().to_string(),
            source,
        })?;
        if k == 0 {
            break;
        }
        n += k;
    }
    buf.truncate(n);
    Ok(buf)
}

/// What [`discover`] found: recognised files with their format (governance first), and the rest.
pub type Discovered = (Vec<(PathBuf, SourceKind)>, Vec<Skipped>);

/// Finds the files under `dir` that Castellan recognises (by content), in path order, and lists
/// the others as skipped. Hidden files and folders (`.git`, `.castellan`) are not visited, except
/// `.ssh` folders (they hold `authorized_keys`).
pub fn discover(dir: &Path) -> Result<Discovered, PipelineError> {
    if !dir.is_dir() {
        return Err(PipelineError::Usage(format!(
            "{} is not a folder; give the estate folder that holds your exports and castellan.yaml",
            dir.display()
        )));
    }
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d)
            .map_err(|e| PipelineError::Usage(format!("cannot list {}: {e}", d.display())))?;
        for entry in entries {
            let entry = entry
                .map_err(|e| PipelineError::Usage(format!("cannot list {}: {e}", d.display())))?;
            let name = entry.file_name();
            // Hidden entries are skipped (`.git`, `.castellan`, editors' folders), except the
            // `.ssh` folders that hold authorized_keys files.
            if name.to_string_lossy().starts_with('.') && name != ".ssh" {
                continue;
            }
            // The estate's `repos/` folder holds repositories and work trees to scan for
            // credentials, not exports.
            if d == dir && name == crate::scan::REPOS_DIR {
                continue;
            }
            let path = entry.path();
            let ft = entry.file_type().map_err(|e| {
                PipelineError::Usage(format!("cannot stat {}: {e}", path.display()))
            })?;
            if ft.is_dir() {
                stack.push(path);
            } else if ft.is_file() {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut found = Vec::new();
    let mut skipped = Vec::new();
    for path in files {
        let head = read_head(&path)?;
        if path.extension().is_some_and(|x| x == "rego") {
            continue; // custom controls, read by the assessment
        }
        match castellan_sources::detect(&path, &head) {
            Some(kind) => found.push((path, kind)),
            None => skipped.push(Skipped {
                path: path.display().to_string(),
                reason: "not a recognised export or governance file".into(),
            }),
        }
    }
    let governance: Vec<&PathBuf> = found
        .iter()
        .filter(|(_, k)| *k == SourceKind::Governance)
        .map(|(p, _)| p)
        .collect();
    if governance.len() > 1 {
        return Err(PipelineError::Usage(format!(
            "found {} governance files ({}); an estate has exactly one castellan.yaml",
            governance.len(),
            governance
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    // Governance first, so attribution sees the current file; inventories before the logs that
    // refer to them.
    found.sort_by_key(|(p, k)| (k.order(), p.clone()));
    Ok((found, skipped))
}

struct Hashing<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

fn read_all(path: &Path, limit: u64, what: &str) -> Result<Vec<u8>, SourceError> {
    let display = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|source| SourceError::Io {
        path: display.clone(),
        source,
    })?;
    if meta.len() > limit {
        return Err(SourceError::File {
            path: display,
            message: format!(
                "{} bytes is too large for {what} (limit {limit} bytes)",
                meta.len()
            ),
        });
    }
    std::fs::read(path).map_err(|source| SourceError::Io {
        path: display,
        source,
    })
}

/// What an import needs besides the files: the fingerprint key for secrets a source carries
/// (Kubernetes legacy tokens) and the cluster name given on the command line.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ImportEnv<'a> {
    pub key: &'a FingerprintKey,
    pub cluster: Option<&'a str>,
    pub account: Option<&'a str>,
    pub p12_password: Option<&'a str>,
}

/// Largest file accepted for the sources read whole (JSON exports, logs, certificates).
const MAX_EXPORT_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// Parses a file of one of the sources that are read whole and need nothing from the store.
fn parse_whole(
    kind: SourceKind,
    path: &Path,
    display: &str,
    bytes: &[u8],
    env: ImportEnv<'_>,
) -> Result<castellan_sources::Records, PipelineError> {
    use castellan_sources::{aws_cloudtrail, aws_iam_lists, azure, gcp, github, ssh, vault, x509};
    let records = match kind {
        SourceKind::AwsIamLists => aws_iam_lists::parse(display, bytes, env.account)?,
        SourceKind::AwsCloudTrail => aws_cloudtrail::parse(display, bytes)?,
        SourceKind::Gcp => gcp::parse(display, bytes)?,
        SourceKind::Azure => azure::parse(display, bytes)?,
        SourceKind::GitHub => github::parse(display, bytes)?,
        SourceKind::Vault => vault::parse_for(display, bytes, env.cluster)?,
        SourceKind::X509 => {
            let from_env = std::env::var("CASTELLAN_P12_PASSWORD").ok();
            let password = env.p12_password.or(from_env.as_deref());
            x509::parse_with_password(display, bytes, password)?
        }
        SourceKind::Ssh => ssh::parse_for(display, bytes, None)?,
        other => {
            return Err(PipelineError::Internal(format!(
                "{} is not read by parse_whole ({})",
                other.name(),
                path.display()
            )));
        }
    };
    Ok(records)
}

/// Names access keys the way the inventory already does: a key from `list-access-keys` whose
/// creation equals the last rotation of a credential-report slot of the same user is that
/// slot's credential (the report has no key ids), and a key a CloudTrail log names is the
/// inventory credential that carries its `access_key_id`.
fn resolve_access_keys(
    tx: &mut Tx<'_>,
    kind: SourceKind,
    records: &mut castellan_sources::Records,
    cache: &mut ImportCache,
) -> Result<(), PipelineError> {
    let key_of = |c: &castellan_model::Credential| {
        c.attributes
            .get("access_key_id")
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    let mut map: std::collections::HashMap<String, String> = Default::default();
    match kind {
        SourceKind::AwsIamLists => {
            let users: BTreeSet<String> = records
                .credentials
                .iter()
                .filter(|c| c.kind == "access-key")
                .filter_map(|c| c.identity_id.clone())
                .collect();
            for user in users {
                // One-to-one, deterministically: keys in (creation, key id) order take the
                // free slot of the same creation second with the lowest slot id (two keys made
                // in the same second are told apart by key id order).
                let mut slots: Vec<(i64, String)> = tx
                    .store()?
                    .credentials_of(&user)?
                    .into_iter()
                    .filter(|s| {
                        s.provenance.gone_at.is_none()
                            && s.credential.kind == "access-key"
                            && !s.credential.id.contains("/access-key/")
                    })
                    .filter_map(|s| {
                        // the report has whole seconds; the API may add fractions
                        s.credential
                            .last_rotated_at
                            .map(|t| (t.as_second(), s.credential.id))
                    })
                    .collect();
                slots.sort();
                let mut keys: Vec<(i64, String, String)> = records
                    .credentials
                    .iter()
                    .filter(|c| c.kind == "access-key" && c.identity_id.as_deref() == Some(&user))
                    .filter_map(|c| {
                        c.created_at
                            .map(|t| (t.as_second(), key_of(c).unwrap_or_default(), c.id.clone()))
                    })
                    .collect();
                keys.sort();
                for (second, _, id) in keys {
                    if let Some(i) = slots.iter().position(|(s, _)| *s == second) {
                        let (_, slot) = slots.remove(i);
                        map.insert(id, slot);
                    }
                }
            }
        }
        SourceKind::AwsCloudTrail => {
            // Read once per transaction: the inventories are imported before the logs.
            if cache.access_keys.is_none() {
                cache.access_keys = Some(tx.store()?.access_key_ids()?);
            }
            let known = cache.access_keys.as_ref();
            for c in &records.credentials {
                if let Some(id) = key_of(c).and_then(|k| known.and_then(|m| m.get(&k))) {
                    map.insert(c.id.clone(), id.clone());
                }
            }
        }
        _ => {}
    }
    for c in &mut records.credentials {
        if let Some(id) = map.get(&c.id) {
            c.id = id.clone();
        }
    }
    for e in &mut records.events {
        if let Some(id) = e.credential_id.as_ref().and_then(|c| map.get(c)) {
            e.credential_id = Some(id.clone());
        }
    }
    {
        // A log sighting keeps the latest use any log showed: logs may be imported in any order.
        for c in records
            .credentials
            .iter_mut()
            .filter(|c| is_log_scope(&c.scope))
        {
            let key = (c.id.clone(), c.scope.clone());
            let stored = match cache.last_used.get(&key) {
                Some(t) => *t,
                None => tx.store()?.sighting_last_used(&c.id, &c.source, &c.scope)?,
            };
            c.last_used_at = match (c.last_used_at, stored) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
            if c.last_used_at.is_some() {
                c.ever_used = Some(true);
            }
            cache.last_used.insert(key, c.last_used_at);
        }
    }
    Ok(())
}

/// Whether a scope holds sightings from a log (CloudTrail, a Vault audit device): a log covers a
/// time slice, not the estate, so what it does not mention is not gone, and its sightings keep
/// the latest use any log showed.
fn is_log_scope(scope: &str) -> bool {
    scope.ends_with(":cloudtrail") || scope.contains(":audit:") || scope.ends_with(":audit")
}

/// What one import transaction reads once and reuses across its files.
#[derive(Debug, Default)]
pub(crate) struct ImportCache {
    /// Access key id ⇒ inventory credential id.
    access_keys: Option<std::collections::HashMap<String, String>>,
    /// (credential id, scope) ⇒ the latest use a log sighting holds so far.
    last_used: std::collections::HashMap<(String, String), Option<jiff::Timestamp>>,
    /// Chains read live from TLS endpoints (`castellan import tls`), by the file they were kept
    /// in: imported as x509 with the endpoint's stable scope instead of the file's.
    live_tls: std::collections::BTreeMap<PathBuf, LiveEndpoint>,
}

/// What a live TLS read adds to the chain it kept in a file.
#[derive(Debug)]
#[cfg_attr(not(feature = "tls"), allow(dead_code))]
pub(crate) struct LiveEndpoint {
    /// `HOST:PORT`.
    endpoint: String,
    /// Attributes for every certificate of the chain (`tls_version`, `cipher_suite`…).
    attributes: std::collections::BTreeMap<String, serde_json::Value>,
}

/// A file imported but not yet swept: the run is finished once every file of its source is in.
struct Pending {
    report: ImportReport,
    scopes: Vec<String>,
    data_as_of: Option<String>,
}

/// Imports `files` inside `tx`. Files of one source are imported first and swept together, so
/// the pages of one export given as several files are merged and nothing one page lists is
/// marked gone because another page did not list it.
pub(crate) fn import_files(
    tx: &mut Tx<'_>,
    files: &[(PathBuf, SourceKind)],
    env: ImportEnv<'_>,
    progress: &dyn Progress,
) -> Result<Vec<ImportReport>, PipelineError> {
    import_files_with(tx, files, env, progress, ImportCache::default())
}

/// [`import_files`] with a prepared cache (live TLS reads).
fn import_files_with(
    tx: &mut Tx<'_>,
    files: &[(PathBuf, SourceKind)],
    env: ImportEnv<'_>,
    progress: &dyn Progress,
    mut cache: ImportCache,
) -> Result<Vec<ImportReport>, PipelineError> {
    let mut pending = Vec::with_capacity(files.len());
    for (path, kind) in files {
        pending.push(import_file(tx, path, *kind, env, progress, &mut cache)?);
    }
    // Sweep each source's scopes once, after its last file, counting from its first run.
    let mut sources: Vec<&str> = Vec::new();
    for p in &pending {
        if !sources.contains(&p.report.source.as_str()) {
            sources.push(p.report.source.as_str());
        }
    }
    let sources: Vec<String> = sources.into_iter().map(str::to_string).collect();
    for source in &sources {
        let group: Vec<usize> = (0..pending.len())
            .filter(|&i| &pending[i].report.source == source)
            .collect();
        let (Some(&first), Some(&last)) = (group.first(), group.last()) else {
            continue;
        };
        let since = pending[first].report.run;
        let scopes: BTreeSet<String> = group
            .iter()
            .flat_map(|&i| pending[i].scopes.iter().cloned())
            .filter(|scope| !is_log_scope(scope))
            .collect();
        let mut gone = 0;
        for scope in &scopes {
            gone += tx.sweep_gone(since, source, scope)?;
        }
        pending[last].report.gone = gone;
    }
    let mut reports = Vec::with_capacity(pending.len());
    for p in pending {
        let r = p.report;
        tx.finish_run(
            r.run,
            &r.source,
            &r.path,
            json!({
                "sha256": r.sha256,
                "records": r.records,
                "added": r.added,
                "changed": r.changed,
                "unchanged": r.unchanged,
                "gone": r.gone,
                "events_added": r.events_added,
                "scopes": p.scopes,
                "data_as_of": p.data_as_of.unwrap_or_else(|| tx.now().to_string()),
            }),
        )?;
        reports.push(r);
    }
    Ok(reports)
}

/// Imports one file inside `tx`, without sweeping or finishing its run.
fn import_file(
    tx: &mut Tx<'_>,
    path: &Path,
    kind: SourceKind,
    env: ImportEnv<'_>,
    progress: &dyn Progress,
    cache: &mut ImportCache,
) -> Result<Pending, PipelineError> {
    let display = path.display().to_string();
    progress.message(&format!("importing {display}"));
    let before = snapshot(tx)?;
    // When the export says when it was produced, that is how current the data is.
    let mut data_as_of: Option<String> = None;
    let (run, sha256, records, scopes) = match kind {
        SourceKind::Governance => {
            let bytes = read_all(path, MAX_GOVERNANCE_BYTES, "a governance file")?;
            let sha = hex::encode(Sha256::digest(&bytes));
            let catalogue = castellan_policy::Catalogue::builtin()
                .map_err(|e| PipelineError::Internal(e.to_string()))?;
            let known: Vec<&str> = catalogue.controls.iter().map(|c| c.id.as_str()).collect();
            let gov = governance::parse_checked(&display, &bytes, Some(&known))?;
            let run = tx.start_run(kind.name(), &display, &sha)?;
            let records = import_governance(tx, run, &gov)?;
            (run, sha, records, vec!["governance".to_string()])
        }
        SourceKind::AwsCredentialReportJson => {
            let bytes = read_all(path, MAX_JSON_ENVELOPE_BYTES, "a credential report")?;
            let sha = hex::encode(Sha256::digest(&bytes));
            let mut reader = aws_credential_report::open_json(&display, &bytes)?;
            data_as_of = reader.generated_at.map(castellan_model::format_ts);
            let run = tx.start_run(kind.name(), &display, &sha)?;
            let (records, scopes) = import_rows(tx, run, &mut reader, progress)?;
            (run, sha, records, scopes)
        }
        SourceKind::AwsAuthorizationDetails => {
            let bytes = read_all(
                path,
                MAX_JSON_ENVELOPE_BYTES,
                "an authorization-details export",
            )?;
            let sha = hex::encode(Sha256::digest(&bytes));
            let records = aws_authorization_details::parse(&display, &bytes)?;
            drop(bytes);
            let run = tx.start_run(kind.name(), &display, &sha)?;
            let mut scopes = BTreeSet::new();
            let n = write_records(tx, run, &records, &mut scopes)?;
            progress.advance(n);
            (run, sha, n, scopes.into_iter().collect())
        }
        SourceKind::Kubernetes => {
            let bytes = read_all(path, MAX_JSON_ENVELOPE_BYTES, "a Kubernetes export")?;
            let sha = hex::encode(Sha256::digest(&bytes));
            let cluster = env
                .cluster
                .map(str::to_string)
                .unwrap_or_else(|| k8s::cluster_from_path(path));
            let records = k8s::parse(&display, &bytes, &cluster, env.key)?;
            drop(bytes);
            let run = tx.start_run(kind.name(), &display, &sha)?;
            let mut scopes = BTreeSet::new();
            scopes.insert(format!("k8s:{cluster}"));
            let n = write_records(tx, run, &records, &mut scopes)?;
            progress.advance(n);
            (run, sha, n, scopes.into_iter().collect())
        }
        SourceKind::AwsIamLists
        | SourceKind::AwsCloudTrail
        | SourceKind::Gcp
        | SourceKind::Azure
        | SourceKind::GitHub
        | SourceKind::Vault
        | SourceKind::X509
        | SourceKind::Ssh => {
            let bytes = read_all(path, MAX_EXPORT_BYTES, "an export")?;
            let sha = hex::encode(Sha256::digest(&bytes));
            let mut records = match cache.live_tls.get(path) {
                Some(live) if kind == SourceKind::X509 => {
                    let mut r = castellan_sources::x509::parse_endpoint(&live.endpoint, &bytes)?;
                    for c in &mut r.credentials {
                        c.attributes.extend(live.attributes.clone());
                    }
                    r
                }
                _ => parse_whole(kind, path, &display, &bytes, env)?,
            };
            drop(bytes);
            resolve_access_keys(tx, kind, &mut records, cache)?;
            let run = tx.start_run(kind.name(), &display, &sha)?;
            let mut scopes = BTreeSet::new();
            for c in &records.credentials {
                scopes.insert(c.scope.clone());
            }
            let n = write_records(tx, run, &records, &mut scopes)?;
            progress.advance(n);
            (run, sha, n, scopes.into_iter().collect())
        }
        SourceKind::AwsCredentialReport => {
            let file = File::open(path).map_err(|source| SourceError::Io {
                path: display.clone(),
                source,
            })?;
            let hashing = Hashing {
                inner: file,
                hasher: Sha256::new(),
            };
            let mut reader = aws_credential_report::open_csv(
                &display,
                BufReader::with_capacity(1 << 16, hashing),
            )?;
            // The file is streamed: the run starts before its hash is known.
            let run = tx.start_run(kind.name(), &display, "")?;
            let (records, scopes) = import_rows(tx, run, &mut reader, progress)?;
            let sha = hex::encode(reader.into_inner().into_inner().hasher.finalize());
            tx.set_run_hash(run, &sha)?;
            (run, sha, records, scopes)
        }
    };
    let mut report = ImportReport {
        path: display.clone(),
        source: kind.name().into(),
        run,
        sha256,
        records,
        ..Default::default()
    };
    let after = snapshot(tx)?;
    report.added = after.0 - before.0;
    report.changed = after.1 - before.1;
    report.unchanged = after.2 - before.2;
    report.events_added = after.3 - before.3;
    Ok(Pending {
        report,
        scopes,
        data_as_of,
    })
}

fn snapshot(tx: &mut Tx<'_>) -> Result<(u64, u64, u64, u64), PipelineError> {
    let s = tx.summary()?;
    Ok((s.added, s.changed, s.unchanged, s.events_added))
}

fn import_rows<R: std::io::BufRead>(
    tx: &mut Tx<'_>,
    run: i64,
    reader: &mut aws_credential_report::Reader<R>,
    progress: &dyn Progress,
) -> Result<(u64, Vec<String>), PipelineError> {
    let mut records = 0;
    let mut scopes = BTreeSet::new();
    while let Some(row) = reader.next_row() {
        records += write_records(tx, run, &row?, &mut scopes)?;
        progress.advance(1);
    }
    Ok((records, scopes.into_iter().collect()))
}

fn write_records(
    tx: &mut Tx<'_>,
    run: i64,
    records: &castellan_sources::Records,
    scopes: &mut BTreeSet<String>,
) -> Result<u64, PipelineError> {
    for i in &records.identities {
        if !scopes.contains(&i.scope) {
            scopes.insert(i.scope.clone());
        }
        tx.upsert_identity(run, i)?;
    }
    for c in &records.credentials {
        tx.upsert_credential(run, c)?;
    }
    for g in &records.grants {
        if !scopes.contains(&g.scope) {
            scopes.insert(g.scope.clone());
        }
        tx.upsert_grant(run, g)?;
    }
    for e in &records.events {
        tx.insert_event(run, e)?;
    }
    Ok((records.identities.len()
        + records.credentials.len()
        + records.grants.len()
        + records.events.len()) as u64)
}

fn import_governance(
    tx: &mut Tx<'_>,
    run: i64,
    g: &governance::Governance,
) -> Result<u64, PipelineError> {
    let src = "governance";
    let mut n = 0;
    tx.upsert_entity(
        run,
        "governance",
        "governance:document",
        g.organisation.as_deref().unwrap_or("governance"),
        src,
        src,
        g,
    )?;
    for s in &g.services {
        tx.upsert_entity(run, "service", &s.id, &s.name, src, src, s)?;
        n += 1;
    }
    for p in &g.people {
        tx.upsert_entity(run, "person", &p.id, &p.name, src, src, p)?;
        n += 1;
    }
    for s in &g.suppliers {
        tx.upsert_entity(run, "supplier", &s.id, &s.name, src, src, s)?;
        n += 1;
    }
    for c in &g.contracts {
        let name = c.id.strip_prefix("contract:").unwrap_or(&c.id);
        tx.upsert_entity(run, "contract", &c.id, name, src, src, c)?;
        n += 1;
    }
    for a in &g.attestations {
        let id = format!(
            "attestation:{}:{}",
            a.control,
            castellan_model::format_ts(a.date)
        );
        let outcome = tx.upsert_entity(run, "attestation", &id, &a.control, src, src, a)?;
        if outcome != Outcome::Unchanged {
            tx.append(
                "attestation.recorded",
                &id,
                json!({
                    "control": a.control,
                    "statement": a.statement,
                    "attested_by": a.attested_by,
                    "date": castellan_model::format_ts(a.date),
                    "evidence": a.evidence,
                    "expires": a.expires.map(castellan_model::format_ts),
                }),
            )?;
        }
        n += 1;
    }
    for e in &g.exceptions {
        let outcome = tx.upsert_entity(run, "exception", &e.id, &e.id, src, src, e)?;
        if outcome != Outcome::Unchanged {
            tx.append(
                "exception.granted",
                &e.id,
                json!({
                    "control": e.control,
                    "subject": e.subject,
                    "approver": e.approver,
                    "expires_at": castellan_model::format_ts(e.expires_at),
                    "justification": e.justification,
                    "compensating_controls": e.compensating_controls,
                }),
            )?;
        }
        n += 1;
    }
    Ok(n)
}

/// Loads the stored governance document (the empty governance when none was imported).
pub(crate) fn load_governance(
    store: &mut castellan_store::Store,
) -> Result<governance::Governance, PipelineError> {
    let docs = store.entities("governance")?;
    match docs.into_iter().next() {
        None => Ok(governance::Governance::default()),
        Some(d) => serde_json::from_value(d.data).map_err(|e| {
            PipelineError::Store(castellan_store::StoreError::Corrupt {
                what: "governance document".into(),
                reason: e.to_string(),
            })
        }),
    }
}

/// Re-attributes every present identity from the stored governance; returns how many changed.
pub(crate) fn attribute_all(tx: &mut Tx<'_>) -> Result<u64, PipelineError> {
    Ok(attribute_and_keep(tx)?.0)
}

/// Re-attributes every present identity and returns them (with their new attribution) so an
/// assessment does not read the inventory twice.
pub(crate) fn attribute_and_keep(
    tx: &mut Tx<'_>,
) -> Result<(u64, Vec<castellan_store::StoredIdentity>), PipelineError> {
    let gov = load_governance(tx.store()?)?;
    let attributor = governance::Attributor::new(&gov);
    let mut identities = tx.store()?.identities()?;
    identities.retain(|si| si.provenance.gone_at.is_none());
    let mut changed = 0;
    for si in &mut identities {
        let a = attributor.attribute(&si.identity);
        if a == si.attribution {
            continue;
        }
        if tx
            .update_attribution(&si.identity.id, &si.attribution, &a)?
            .is_some()
        {
            changed += 1;
        }
        si.attribution = a;
    }
    Ok((changed, identities))
}

/// Imports `paths` (each with its format, or detected from content when `None`) in one
/// transaction, re-attributes identities, commits and signs a checkpoint.
pub fn import_paths(
    ctx: &mut Context,
    paths: &[(PathBuf, Option<SourceKind>)],
    progress: &dyn Progress,
) -> Result<Vec<ImportReport>, PipelineError> {
    import_paths_with(ctx, paths, progress, ImportCache::default())
}

/// [`import_paths`] with a prepared cache (live TLS reads).
fn import_paths_with(
    ctx: &mut Context,
    paths: &[(PathBuf, Option<SourceKind>)],
    progress: &dyn Progress,
    cache: ImportCache,
) -> Result<Vec<ImportReport>, PipelineError> {
    let mut resolved = Vec::new();
    for (path, kind) in paths {
        let kind = match kind {
            Some(k) => *k,
            None => {
                let head = read_head(path)?;
                castellan_sources::detect(path, &head).ok_or_else(|| {
                    PipelineError::Source(SourceError::File {
                        path: path.display().to_string(),
                        message: "not a format Castellan recognises; name the source explicitly (`castellan import aws-credential-report FILE`)".into(),
                    })
                })?
            }
        };
        resolved.push((path.clone(), kind));
    }
    resolved.sort_by_key(|(p, k)| (k.order(), p.clone()));
    let now = ctx.clock.now();
    let env = ImportEnv {
        key: &ctx.fingerprint_key,
        cluster: ctx.cluster.as_deref(),
        account: ctx.account.as_deref(),
        p12_password: ctx.p12_password.as_deref(),
    };
    let mut tx = ctx.store.begin(now)?;
    let reports = import_files_with(&mut tx, &resolved, env, progress, cache)?;
    attribute_all(&mut tx)?;
    tx.commit()?;
    ctx.checkpoint()?;
    Ok(reports)
}

/// Reads AWS IAM live (read-only, through the standard AWS credential chain and
/// `AWS_ENDPOINT_URL`), keeps the documents read under `<data dir>/live/aws-<account>-<time>/`
/// as evidence of exactly what the API returned, and imports them like the same exports given
/// as files, in one transaction.
#[cfg(feature = "aws")]
pub fn import_aws_live(
    ctx: &mut Context,
    progress: &dyn Progress,
) -> Result<Vec<ImportReport>, PipelineError> {
    progress.message("reading AWS IAM (live)");
    let exports = castellan_sources::aws_live::fetch(&|m| progress.message(m)).map_err(|e| {
        PipelineError::Source(SourceError::File {
            path: "aws (live)".into(),
            message: format!("{e}; check the AWS credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID…) and, for a test endpoint, AWS_ENDPOINT_URL"),
        })
    })?;
    let stamp: String = castellan_model::format_ts(ctx.clock.now())
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    let dir = ctx
        .data_dir
        .join("live")
        .join(format!("aws-{}-{stamp}", exports.account));
    std::fs::create_dir_all(&dir).map_err(|source| PipelineError::Write {
        path: dir.clone(),
        source,
    })?;
    let mut paths = Vec::new();
    for (name, bytes) in &exports.documents {
        let path = dir.join(name);
        std::fs::write(&path, bytes).map_err(|source| PipelineError::Write {
            path: path.clone(),
            source,
        })?;
        let kind = if name.ends_with("credential-report.csv") {
            SourceKind::AwsCredentialReport
        } else if name.contains("authorization-details") {
            SourceKind::AwsAuthorizationDetails
        } else {
            SourceKind::AwsIamLists
        };
        paths.push((path, Some(kind)));
    }
    ctx.account = Some(exports.account.clone());
    import_paths(ctx, &paths, progress)
}

/// Reads the certificate chains live TLS endpoints present (`castellan import tls HOST:PORT…`),
/// keeps each chain as a PEM bundle under `<data dir>/live/tls-<time>/<host>_<port>.pem` as
/// evidence of what was served, and imports them as `x509` in one transaction, each with the
/// stable scope `x509:tls:HOST:PORT` and the negotiated `tls_version` and `cipher_suite`.
/// Every endpoint is read before anything is written: one that cannot be read (name not found,
/// connection refused, timeout, not TLS) is an input error naming it, and nothing is committed.
#[cfg(feature = "tls")]
pub fn import_tls_live(
    ctx: &mut Context,
    endpoints: &[castellan_sources::tls_live::Endpoint],
    progress: &dyn Progress,
) -> Result<Vec<ImportReport>, PipelineError> {
    use castellan_sources::tls_live;
    let endpoints: BTreeSet<&tls_live::Endpoint> = endpoints.iter().collect();
    if endpoints.is_empty() {
        return Err(PipelineError::Usage(
            "name at least one endpoint: castellan import tls HOST:PORT…".into(),
        ));
    }
    let mut read = Vec::with_capacity(endpoints.len());
    for endpoint in endpoints {
        let presented = tls_live::fetch(endpoint, &|m| progress.message(m)).map_err(|e| {
            PipelineError::Source(SourceError::File {
                path: e.endpoint,
                message: e.message,
            })
        })?;
        read.push(presented);
    }
    let stamp: String = castellan_model::format_ts(ctx.clock.now())
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    let dir = ctx.data_dir.join("live").join(format!("tls-{stamp}"));
    std::fs::create_dir_all(&dir).map_err(|source| PipelineError::Write {
        path: dir.clone(),
        source,
    })?;
    let mut cache = ImportCache::default();
    let mut paths = Vec::new();
    for presented in &read {
        let name = presented.endpoint.file_name();
        let mut path = dir.join(&name);
        let mut n = 1;
        while cache.live_tls.contains_key(&path) {
            n += 1;
            path = dir.join(format!("{}-{n}.pem", name.trim_end_matches(".pem")));
        }
        std::fs::write(&path, presented.pem()).map_err(|source| PipelineError::Write {
            path: path.clone(),
            source,
        })?;
        cache.live_tls.insert(
            path.clone(),
            LiveEndpoint {
                endpoint: presented.endpoint.to_string(),
                attributes: presented.attributes(),
            },
        );
        paths.push((path, Some(SourceKind::X509)));
    }
    import_paths_with(ctx, &paths, progress, cache)
}
