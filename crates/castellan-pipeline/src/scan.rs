//! `castellan scan`: discovery of credentials in files and git history, tied into the inventory.
//!
//! Each distinct secret (by fingerprint) found under one scanned root becomes one credential
//! sighting of source `scan` in scope `scan:<root>`: the inventoried credential when the match
//! identifies one (an AWS access key id, a fingerprint the inventory already holds), which is
//! then *exposed*, or else a new *unmanaged* credential `scan:<provider>:<fingerprint prefix>`.
//! The places it was seen are kept with it (`locations`: `path:line` or `path:line@commit`).
//! References to managed secrets (`${{ secrets.X }}`, `secretKeyRef`) are stored as consumer
//! entities: which pipeline or workload uses which secret.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use castellan_model::{Attributes, Credential, FingerprintKey, Status};
use castellan_scan::git::{GitCache, GitOptions, GitStats, scan_git};
use castellan_scan::scan::{ScanOptions, ScanReport, Scanner};
use castellan_scan::{Rules, Sighting};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use castellan_store::Tx;

use crate::{Context, PipelineError, Progress};

/// The estate folder whose entries `castellan run` scans: each a git repository (its history is
/// scanned) or a folder or file (its files are).
pub const REPOS_DIR: &str = "repos";

/// The fingerprint ignore file read at the top of each scanned folder.
pub const IGNORE_FILE: &str = ".castellan-ignore";

/// What to scan and how.
#[derive(Debug, Clone, Default)]
pub struct ScanRequest {
    /// Files and directories (or repositories with `git`).
    pub roots: Vec<PathBuf>,
    /// Scan the full git history of each root instead of its files.
    pub git: bool,
    /// Only the staged changes of each root (pre-commit).
    pub staged: bool,
    /// Only the commits after this revision.
    pub since_commit: Option<String>,
    /// Do not honour `.gitignore`.
    pub no_ignore: bool,
    /// Skip files larger than this many bytes.
    pub max_file_size: Option<u64>,
    /// Extra rule files.
    pub rules_dir: Option<PathBuf>,
    /// Sightings already reviewed: a previous JSON report, or a file of fingerprints.
    pub baseline: Option<PathBuf>,
}

/// Figures of one scanned root.
#[derive(Debug, Clone, Serialize)]
pub struct RootSummary {
    /// The root as given.
    pub root: String,
    /// Files (or blobs) scanned.
    pub files: u64,
    /// Bytes scanned.
    pub bytes: u64,
    /// Git figures, for history scans.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git: Option<GitStats>,
}

/// What a scan found, after baseline filtering.
#[derive(Debug, Default)]
pub struct ScanOutcome {
    /// Each root with its sightings and references (places relative to the root).
    pub roots: Vec<(RootSummary, ScanReport)>,
    /// Sightings dropped because the baseline lists them.
    pub baselined: u64,
    /// Inventory credential each fingerprint was tied to (exposed), when stored.
    pub linked: BTreeMap<String, String>,
    /// Credentials written (exposed inventory ones and new unmanaged ones).
    pub credentials: u64,
}

/// The figures of a scan, for run reports.
#[derive(Debug, Clone, Serialize)]
pub struct ScanSummary {
    /// Each root scanned.
    pub roots: Vec<RootSummary>,
    /// Sightings (places).
    pub sightings: u64,
    /// Distinct secrets.
    pub secrets: u64,
    /// Of those, inventoried credentials now marked exposed.
    pub exposed_inventory: u64,
    /// References to managed secrets.
    pub references: u64,
}

impl ScanOutcome {
    /// The figures.
    pub fn summary(&self) -> ScanSummary {
        let distinct: BTreeSet<&str> = self
            .roots
            .iter()
            .flat_map(|(_, r)| r.sightings.iter().map(|s| s.fingerprint.as_str()))
            .collect();
        ScanSummary {
            roots: self.roots.iter().map(|(s, _)| s.clone()).collect(),
            sightings: self
                .roots
                .iter()
                .map(|(_, r)| r.sightings.len() as u64)
                .sum(),
            secrets: distinct.len() as u64,
            exposed_inventory: self.linked.values().collect::<BTreeSet<_>>().len() as u64,
            references: self
                .roots
                .iter()
                .map(|(_, r)| r.references.len() as u64)
                .sum(),
        }
    }
}

fn scan_error(msg: String) -> PipelineError {
    PipelineError::Usage(msg)
}

/// Builds the scanner for a request: built-in rules plus `--rules DIR`.
pub fn scanner_for(req: &ScanRequest, key: &FingerprintKey) -> Result<Scanner, PipelineError> {
    let mut rules = Rules::builtin().map_err(|e| PipelineError::Internal(e.to_string()))?;
    if let Some(dir) = &req.rules_dir {
        rules.add_dir(dir).map_err(|e| scan_error(e.to_string()))?;
    }
    let mut options = ScanOptions {
        no_ignore: req.no_ignore,
        ..ScanOptions::default()
    };
    if let Some(max) = req.max_file_size {
        options.max_file_size = max;
    }
    Scanner::new(rules, key.clone(), options).map_err(|e| scan_error(e.to_string()))
}

/// Scans without touching any database (pre-commit hooks, CI gates): the key is only used to
/// fingerprint, and git caches are not used.
pub fn scan_only(
    req: &ScanRequest,
    key: &FingerprintKey,
    cache_dir: Option<&Path>,
    progress: &dyn Progress,
) -> Result<ScanOutcome, PipelineError> {
    let scanner = scanner_for(req, key)?;
    let mut outcome = ScanOutcome::default();
    for root in &req.roots {
        if !root.exists() {
            return Err(scan_error(format!(
                "{}: no such file or directory",
                root.display()
            )));
        }
        progress.message(&format!("scanning {}", root.display()));
        let label = root.display().to_string();
        let (report, git) = if req.git || req.staged || req.since_commit.is_some() {
            let options = GitOptions {
                since_commit: req.since_commit.clone(),
                staged: req.staged,
            };
            let cache_path = cache_dir.map(|d| cache_file(d, root, &scanner, key));
            let mut cache = match &cache_path {
                Some(p) if !req.staged && req.since_commit.is_none() => {
                    GitCache::load(p, &rules_digest(&scanner, key))
                }
                _ => GitCache::default(),
            };
            let (report, stats) = scan_git(&scanner, root, &options, &mut cache)
                .map_err(|e| scan_error(e.to_string()))?;
            if let Some(p) = cache_path
                && !req.staged
                && req.since_commit.is_none()
            {
                cache.rules_digest = rules_digest(&scanner, key);
                cache.save(&p).map_err(|source| PipelineError::Write {
                    path: p.clone(),
                    source,
                })?;
            }
            (report, Some(stats))
        } else {
            (scanner.scan_paths(std::slice::from_ref(root)), None)
        };
        let summary = RootSummary {
            root: label,
            files: report.files,
            bytes: report.bytes,
            git,
        };
        outcome.roots.push((summary, report));
    }
    // A root's own `.castellan-ignore` (fingerprints reviewed as false positives or accepted,
    // one per line, `#` comments) applies to that root.
    for (summary, report) in &mut outcome.roots {
        let file = Path::new(&summary.root).join(IGNORE_FILE);
        if file.is_file() {
            let known = read_baseline(&file)?;
            let before = report.sightings.len();
            report
                .sightings
                .retain(|s| !known.contains(s.fingerprint.as_str()));
            outcome.baselined += (before - report.sightings.len()) as u64;
        }
    }
    if let Some(path) = &req.baseline {
        let known = read_baseline(path)?;
        for (_, report) in &mut outcome.roots {
            let before = report.sightings.len();
            report
                .sightings
                .retain(|s| !known.contains(s.fingerprint.as_str()));
            outcome.baselined += (before - report.sightings.len()) as u64;
        }
    }
    Ok(outcome)
}

/// Scans and stores the result in one transaction (one import run per root, swept like any
/// source: a secret no longer found under a root is marked gone there), then signs a checkpoint.
pub fn scan_and_store(
    ctx: &mut Context,
    req: &ScanRequest,
    progress: &dyn Progress,
) -> Result<ScanOutcome, PipelineError> {
    let cache_dir = ctx.data_dir.join("scan-cache");
    let mut outcome = scan_only(req, &ctx.fingerprint_key, Some(&cache_dir), progress)?;
    let now = ctx.clock.now();
    let mut tx = ctx.store.begin(now)?;
    store_scan(&mut tx, &mut outcome)?;
    tx.commit()?;
    ctx.checkpoint()?;
    Ok(outcome)
}

/// A file at a commit (`None` for a plain file).
type FileAt<'a> = (&'a str, Option<&'a str>);

/// The credential sightings are written to: the inventoried credential (if any), the AWS key
/// id paired with a secret (if any), and the sightings.
type Target<'a> = (Option<String>, Option<String>, Vec<&'a Sighting>);

/// Writes a scan's sightings inside `tx`: one import run per root, credentials tied to the
/// inventory where the match identifies an inventoried one, references as consumers.
pub(crate) fn store_scan(tx: &mut Tx<'_>, outcome: &mut ScanOutcome) -> Result<(), PipelineError> {
    let mut by_key = tx.store()?.access_key_ids()?;
    // Only inventory records count: a key a previous scan found is not thereby managed.
    by_key.retain(|_, id| !id.starts_with("scan:"));
    let by_fingerprint: HashMap<String, String> = tx
        .store()?
        .credentials()?
        .into_iter()
        .filter(|c| c.credential.source != "scan")
        .filter_map(|c| {
            c.credential
                .fingerprint
                .as_ref()
                .map(|f| (f.as_str().to_string(), c.credential.id.clone()))
        })
        .collect();
    let mut linked_all = BTreeMap::new();
    let mut written_all = 0;
    for (root, report) in &outcome.roots {
        let scope = format!("scan:{}", root.root);
        let mine: Vec<&Sighting> = report.sightings.iter().collect();
        let digest = {
            let mut h = Sha256::new();
            for s in &mine {
                h.update(s.fingerprint.as_str());
                h.update(s.place.path.as_bytes());
                h.update(s.place.line.to_le_bytes());
            }
            hex::encode(h.finalize())
        };
        let run = tx.start_run("scan", &root.root, &digest)?;
        // AWS key ids seen per file: a secret access key next to its key id is that key.
        let mut key_ids: HashMap<FileAt<'_>, Vec<(usize, &str)>> = HashMap::new();
        for s in &mine {
            if s.provider == "aws"
                && let Some(id) = s.identifier.as_ref().filter(|i| is_aws_key_id(i))
            {
                key_ids
                    .entry((s.place.path.as_str(), s.place.commit.as_deref()))
                    .or_default()
                    .push((s.place.line, id.as_str()));
            }
        }
        // One credential per target: the inventoried one the sighting identifies, else a new
        // unmanaged one.
        let mut grouped: BTreeMap<String, Target<'_>> = BTreeMap::new();
        for s in mine {
            let paired = if s.provider == "aws" && s.identifier.is_none() && s.preview.is_some() {
                key_ids
                    .get(&(s.place.path.as_str(), s.place.commit.as_deref()))
                    .and_then(|ids| {
                        ids.iter()
                            .min_by_key(|(line, _)| line.abs_diff(s.place.line))
                    })
                    .map(|(_, id)| (*id).to_string())
            } else {
                s.identifier.clone().filter(|i| is_aws_key_id(i))
            };
            let linked = paired
                .as_ref()
                .and_then(|id| by_key.get(id))
                .or_else(|| s.identifier.as_ref().and_then(|id| by_key.get(id)))
                .or_else(|| by_fingerprint.get(s.fingerprint.as_str()))
                .cloned();
            let target = match (&linked, &paired) {
                (Some(l), _) => l.clone(),
                (None, Some(key)) => format!("scan:aws:access-key/{key}"),
                (None, None) => {
                    let fp = s.fingerprint.as_str();
                    let short = fp.rsplit(':').next().unwrap_or(fp);
                    format!("scan:{}:{}", s.provider, &short[..short.len().min(16)])
                }
            };
            if let Some(l) = &linked {
                linked_all.insert(s.fingerprint.as_str().to_string(), l.clone());
            }
            let entry = grouped.entry(target).or_insert((None, None, Vec::new()));
            if entry.0.is_none() {
                entry.0 = linked;
            }
            if entry.1.is_none() {
                entry.1 = paired;
            }
            entry.2.push(s);
        }
        let mut written = 0u64;
        for (target, (linked, paired, sightings)) in &grouped {
            let credential = credential_of(
                target,
                &scope,
                sightings,
                linked.is_some(),
                paired.as_deref(),
            );
            tx.upsert_credential(run, &credential)?;
            written += 1;
        }
        // References: which consumer uses which managed secret.
        let refs: BTreeSet<(String, String, String)> = report
            .references
            .iter()
            .map(|r| {
                (
                    r.reference.store.clone(),
                    r.reference.name.clone(),
                    r.reference
                        .consumer
                        .clone()
                        .unwrap_or_else(|| r.path.clone()),
                )
            })
            .collect();
        for (store, name, consumer) in &refs {
            let id = format!("consumer:{}:{}:{}:{}", root.root, consumer, store, name);
            tx.upsert_entity(
                run,
                "consumer",
                &id,
                consumer,
                "scan",
                &scope,
                &json!({ "kind": "pipeline", "uses": format!("{store}:{name}"), "store": store, "secret": name, "root": root.root }),
            )?;
        }
        let gone = tx.sweep_gone(run, "scan", &scope)?;
        tx.finish_run(
            run,
            "scan",
            &root.root,
            json!({
                "sha256": digest,
                "files": root.files,
                "bytes": root.bytes,
                "credentials": written,
                "references": refs.len(),
                "gone": gone,
                "scopes": [scope],
            }),
        )?;
        written_all += written;
    }
    outcome.linked = linked_all;
    outcome.credentials = written_all;
    Ok(())
}

/// An AWS access key id (`AKIA…` long-term, `ASIA…` temporary, 20 characters).
fn is_aws_key_id(s: &str) -> bool {
    s.len() == 20
        && ["AKIA", "ASIA", "ABIA", "ACCA"]
            .iter()
            .any(|p| s.starts_with(p))
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// Whether `path` is a git repository: a work tree with `.git`, or a bare repository.
pub fn is_git_repo(path: &Path) -> bool {
    path.join(".git").exists()
        || (path.join("HEAD").is_file()
            && path.join("objects").is_dir()
            && path.join("refs").is_dir())
}

fn credential_of(
    id: &str,
    scope: &str,
    sightings: &[&Sighting],
    linked: bool,
    access_key_id: Option<&str>,
) -> Credential {
    // The sighting that holds the secret itself describes the credential best.
    let first = sightings
        .iter()
        .find(|s| s.preview.is_some())
        .copied()
        .unwrap_or(sightings[0]);
    let locations: Vec<String> = sightings
        .iter()
        .map(|s| match &s.place.commit {
            Some(c) => format!(
                "{}:{}@{}",
                s.place.path,
                s.place.line,
                &c[..c.len().min(12)]
            ),
            None => format!("{}:{}", s.place.path, s.place.line),
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let rules: Vec<&str> = sightings
        .iter()
        .map(|s| s.rule_id.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let at_head = sightings.iter().any(|s| s.place.head != Some(false));
    let mut attributes = Attributes::new();
    attributes.insert("exposed".into(), json!(true));
    attributes.insert("unmanaged".into(), json!(!linked));
    attributes.insert("rule".into(), json!(first.rule_id));
    attributes.insert("rules".into(), json!(rules));
    attributes.insert("provider".into(), json!(first.provider));
    attributes.insert("confidence".into(), json!(first.confidence.as_str()));
    attributes.insert("locations".into(), json!(locations));
    attributes.insert("present".into(), json!(at_head));
    let mut commits: Vec<&Sighting> = sightings
        .iter()
        .filter(|s| s.place.commit.is_some())
        .copied()
        .collect();
    commits.sort_by(|a, b| a.place.commit.cmp(&b.place.commit));
    if let Some(c) = commits.first().and_then(|s| s.place.commit.clone()) {
        attributes.insert("first_commit".into(), json!(c));
    }
    if let Some(ident) = &first.identifier {
        attributes.insert("identifier".into(), json!(ident));
    }
    if let Some(k) = access_key_id {
        attributes.insert("access_key_id".into(), json!(k));
    }
    for (k, v) in &first.context {
        attributes.insert(format!("context_{k}"), json!(v));
    }
    let secret = sightings.iter().find(|s| s.preview.is_some());
    Credential {
        id: id.to_string(),
        identity_id: None,
        kind: first.kind.clone(),
        source: "scan".into(),
        scope: scope.to_string(),
        name: format!("{} in {}", first.rule_name, first.place.path),
        status: Status::Active,
        created_at: None,
        last_rotated_at: None,
        last_used_at: None,
        ever_used: None,
        expires_at: None,
        fingerprint: secret.map(|s| s.fingerprint.clone()),
        preview: secret.and_then(|s| s.preview.clone()),
        attributes,
    }
}

/// The cache file of a repository: keyed by its canonical path.
fn cache_file(dir: &Path, root: &Path, _scanner: &Scanner, _key: &FingerprintKey) -> PathBuf {
    let canonical = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let digest = Sha256::digest(canonical.display().to_string().as_bytes());
    dir.join(format!("{}.json", &hex::encode(digest)[..24]))
}

/// Identifies the rules and key a git cache was made with: any change rescans everything.
fn rules_digest(scanner: &Scanner, key: &FingerprintKey) -> String {
    let mut h = Sha256::new();
    h.update(key.key_id());
    h.update(env!("CARGO_PKG_VERSION"));
    for r in scanner.rules().iter() {
        h.update(r.id.as_bytes());
        h.update(r.pattern.as_bytes());
        h.update(r.keywords.join("\u{1}").as_bytes());
        h.update(format!("{:?}{}", r.min_entropy, r.placeholders).as_bytes());
    }
    hex::encode(h.finalize())
}

/// Fingerprints to leave out: from a previous `--format json` report (its `sightings[].fingerprint`)
/// or a text file with one fingerprint per line (`#` comments allowed).
pub fn read_baseline(path: &Path) -> Result<BTreeSet<String>, PipelineError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        scan_error(format!(
            "baseline {}: {e}; give a previous `castellan scan --format json` report or a file of fingerprints",
            path.display()
        ))
    })?;
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') {
        let v: serde_json::Value = serde_json::from_str(trimmed).map_err(|e| {
            scan_error(format!(
                "baseline {}: line {}, column {}: not valid JSON ({})",
                path.display(),
                e.line(),
                e.column(),
                e.classify_label()
            ))
        })?;
        let list = v.get("sightings").and_then(|s| s.as_array()).ok_or_else(|| {
            scan_error(format!(
                "baseline {}: no `sightings` list; give a `castellan scan --format json` report",
                path.display()
            ))
        })?;
        return Ok(list
            .iter()
            .filter_map(|s| {
                s.get("fingerprint")
                    .and_then(|f| f.as_str())
                    .map(str::to_string)
            })
            .collect());
    }
    Ok(text
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect())
}

trait ClassifyLabel {
    fn classify_label(&self) -> &'static str;
}

impl ClassifyLabel for serde_json::Error {
    fn classify_label(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "read error",
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Data => "unexpected data",
            serde_json::error::Category::Eof => "truncated",
        }
    }
}

/// Scans `ESTATE/repos/*` for `castellan run`: repositories by history, anything else by files.
/// `None` when the estate has no `repos/` folder.
pub(crate) fn scan_estate_repos(
    estate: &Path,
    key: &FingerprintKey,
    cache_dir: &Path,
    progress: &dyn Progress,
) -> Result<Option<ScanOutcome>, PipelineError> {
    let dir = estate.join(REPOS_DIR);
    if !dir.is_dir() {
        return Ok(None);
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| scan_error(format!("cannot list {}: {e}", dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
                && p.extension().is_none_or(|x| x != "sh")
        })
        .collect();
    entries.sort();
    let (repos, plain): (Vec<PathBuf>, Vec<PathBuf>) =
        entries.into_iter().partition(|p| is_git_repo(p));
    let mut outcome = ScanOutcome::default();
    for (roots, git) in [(repos, true), (plain, false)] {
        if roots.is_empty() {
            continue;
        }
        let req = ScanRequest {
            roots,
            git,
            ..ScanRequest::default()
        };
        let part = scan_only(&req, key, Some(cache_dir), progress)?;
        for (mut summary, report) in part.roots {
            // Named relative to the estate, so scopes and evidence do not depend on where the
            // estate folder lies.
            if let Some(name) = Path::new(&summary.root).file_name() {
                summary.root = format!("{REPOS_DIR}/{}", name.to_string_lossy());
            }
            outcome.roots.push((summary, report));
        }
    }
    Ok(Some(outcome))
}

/// Writes the SARIF 2.1.0 file of a scan (the evidence folder's `scan.sarif`): every root's
/// sightings, paths prefixed with their root so that one file covers several repositories.
pub fn write_sarif(outcome: &ScanOutcome, path: &Path) -> Result<PathBuf, PipelineError> {
    let rules = Rules::builtin().map_err(|e| PipelineError::Internal(e.to_string()))?;
    let mut all = Vec::new();
    for (root, report) in &outcome.roots {
        for s in &report.sightings {
            let mut s = s.clone();
            s.place.path = format!("{}/{}", root.root.trim_end_matches('/'), s.place.path);
            all.push(s);
        }
    }
    let doc = castellan_scan::sarif::to_sarif(&all, &rules, env!("CARGO_PKG_VERSION"));
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    std::fs::write(path, text).map_err(|source| PipelineError::Write {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(path.to_path_buf())
}
