//! From content to sightings, and the filesystem walk.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rayon::prelude::*;

use crate::extract;
use crate::matcher::{Matcher, RegexMatcher};
use crate::rules::{Confidence, RuleError, Rules};
use crate::{FingerprintKey, Match, Place, Reference, Sighting};

/// The inline marker that silences a sighting on its line.
pub const ALLOW_MARKER: &str = "castellan:allow";

/// Scan settings.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Files larger than this are skipped (and reported as skipped).
    pub max_file_size: u64,
    /// Do not honour `.gitignore`/`.ignore` files.
    pub no_ignore: bool,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            max_file_size: 20 * 1024 * 1024,
            no_ignore: false,
        }
    }
}

/// Why a file was not scanned.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
pub enum Skip {
    /// Larger than `max_file_size`.
    TooLarge {
        /// Its size in bytes.
        size: u64,
    },
    /// Looks binary (a NUL byte near the start).
    Binary,
    /// Could not be read or walked (permissions, a symlink loop, a vanished file).
    Unreadable {
        /// What the system said.
        error: String,
    },
}

/// A file that was not scanned, and why.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Skipped {
    /// The path.
    pub path: String,
    /// The reason.
    #[serde(flatten)]
    pub skip: Skip,
}

/// A reference to a managed secret, with the file it was found in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct FileReference {
    /// The file.
    pub path: String,
    /// The reference.
    pub reference: Reference,
}

/// Everything one scan found.
#[derive(Debug, Default)]
pub struct ScanReport {
    /// Sightings, ordered by path, line, column, rule.
    pub sightings: Vec<Sighting>,
    /// References to managed secrets.
    pub references: Vec<FileReference>,
    /// Files not scanned.
    pub skipped: Vec<Skipped>,
    /// Files scanned.
    pub files: u64,
    /// Bytes scanned.
    pub bytes: u64,
}

/// A compiled scanner: rules, matcher and fingerprint key, built once and used for every file.
#[derive(Debug)]
pub struct Scanner {
    rules: Rules,
    matcher: RegexMatcher,
    key: FingerprintKey,
    options: ScanOptions,
}

impl Scanner {
    /// Compiles `rules`.
    pub fn new(rules: Rules, key: FingerprintKey, options: ScanOptions) -> Result<Self, RuleError> {
        let matcher = RegexMatcher::new(&rules)?;
        Ok(Scanner {
            rules,
            matcher,
            key,
            options,
        })
    }

    /// The rules in use.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// The settings in use.
    pub fn options(&self) -> &ScanOptions {
        &self.options
    }

    /// Scans one piece of content labelled `path` (used for the extractors' file-name
    /// recognition and for the sightings' places).
    pub fn scan_content(&self, path: &str, content: &[u8]) -> (Vec<Sighting>, Vec<Reference>) {
        let extracted = extract::extract(Path::new(path), content);
        let mut matches = extracted.matches;
        let from_extractors = matches.len();
        self.matcher.find(content, &mut matches);
        // A rule match inside a value an extractor already reported (the base64 form of a
        // kubeconfig key, the first line of a private key block, a GitHub token in a `.env`) is
        // the same secret: one sighting, named by the provider rule when it is specific (it
        // knows the provider and kind) and keeping what the extractor read around it.
        let rule_matches = matches.split_off(from_extractors);
        for m in rule_matches {
            let overlapping = matches[..from_extractors]
                .iter_mut()
                .find(|e| m.offset < e.offset + e.len.max(1) && e.offset < m.offset + m.len.max(1));
            match overlapping {
                Some(e) => {
                    if m.provider != "generic"
                        && (e.provider == "generic" || m.confidence == Confidence::High)
                    {
                        if !e.context.contains_key("extractor") {
                            e.context.insert("extractor".into(), e.rule_id.clone());
                        }
                        e.rule_id = m.rule_id;
                        e.provider = m.provider;
                        // The extractor read the field, so its kind (password, token…) stands.
                        if e.kind == "secret" {
                            e.kind = m.kind;
                        }
                        e.confidence = e.confidence.max(m.confidence);
                        if e.identifier.is_none() {
                            e.identifier = m.identifier;
                        }
                    }
                }
                None => matches.push(m),
            }
        }
        if matches.is_empty() {
            return (Vec::new(), extracted.references);
        }
        let lines = LineIndex::new(content);
        let mut seen: BTreeSet<(String, usize)> = BTreeSet::new();
        let mut out = Vec::with_capacity(matches.len());
        for m in matches {
            let (line, column) = lines.position(m.offset);
            if lines
                .line_text(content, line)
                .windows(ALLOW_MARKER.len())
                .any(|w| w == ALLOW_MARKER.as_bytes())
            {
                continue;
            }
            let fingerprint = match (&m.secret, &m.identifier) {
                (Some(s), _) => self.key.fingerprint(s),
                (None, Some(id)) => self.key.fingerprint_bytes(id.as_bytes()),
                (None, None) => continue,
            };
            // One value on one line is one sighting; extractors (listed first) win over rules.
            if !seen.insert((fingerprint.as_str().to_string(), line)) {
                continue;
            }
            out.push(self.sighting(
                m,
                fingerprint,
                Place {
                    path: path.to_string(),
                    line,
                    column,
                    commit: None,
                    blob: None,
                    head: None,
                },
            ));
        }
        (out, extracted.references)
    }

    fn sighting(
        &self,
        m: Match,
        fingerprint: castellan_model::Fingerprint,
        place: Place,
    ) -> Sighting {
        let rule_name = self
            .rules
            .get(&m.rule_id)
            .map(|r| r.name.clone())
            .unwrap_or_else(|| extract::name_of(&m.rule_id).to_string());
        Sighting {
            rule_name,
            preview: m.secret.as_ref().map(|s| s.redacted()),
            rule_id: m.rule_id,
            kind: m.kind,
            provider: m.provider,
            confidence: m.confidence,
            fingerprint,
            identifier: m.identifier,
            place,
            context: m.context,
        }
    }

    /// Walks `roots` (files or directories; `.gitignore` honoured unless `no_ignore`; hidden
    /// files included, `.git` directories not) and scans every file in parallel.
    pub fn scan_paths(&self, roots: &[PathBuf]) -> ScanReport {
        let (files, mut skipped) = self.enumerate(roots);
        let report = Mutex::new(ScanReport::default());
        let results: Vec<_> = files
            .par_iter()
            .map(|(path, label)| self.scan_file(path, label))
            .collect();
        let mut report = report.into_inner().unwrap_or_default();
        for r in results {
            match r {
                Ok((bytes, sightings, refs, label)) => {
                    report.files += 1;
                    report.bytes += bytes;
                    report.sightings.extend(sightings);
                    report
                        .references
                        .extend(refs.into_iter().map(|reference| FileReference {
                            path: label.clone(),
                            reference,
                        }));
                }
                Err(s) => skipped.push(s),
            }
        }
        report
            .sightings
            .sort_by(|a, b| (&a.place, &a.rule_id).cmp(&(&b.place, &b.rule_id)));
        report.references.sort();
        skipped.sort();
        report.skipped = skipped;
        report
    }

    #[allow(clippy::type_complexity)]
    fn scan_file(
        &self,
        path: &Path,
        label: &str,
    ) -> Result<(u64, Vec<Sighting>, Vec<Reference>, String), Skipped> {
        let skipped = |skip| Skipped {
            path: label.to_string(),
            skip,
        };
        let meta = std::fs::metadata(path).map_err(|e| {
            skipped(Skip::Unreadable {
                error: e.to_string(),
            })
        })?;
        if meta.len() > self.options.max_file_size {
            return Err(skipped(Skip::TooLarge { size: meta.len() }));
        }
        let content = std::fs::read(path).map_err(|e| {
            skipped(Skip::Unreadable {
                error: e.to_string(),
            })
        })?;
        if is_binary(&content) && !extract::reads_binary(path) {
            return Err(skipped(Skip::Binary));
        }
        let (sightings, refs) = self.scan_content(label, &content);
        Ok((content.len() as u64, sightings, refs, label.to_string()))
    }

    /// The files under `roots`, each with the label used in reports (the path relative to its
    /// root's parent for directories, as given for files).
    fn enumerate(&self, roots: &[PathBuf]) -> (Vec<(PathBuf, String)>, Vec<Skipped>) {
        let mut files = Vec::new();
        let mut skipped = Vec::new();
        for root in roots {
            let mut walk = ignore::WalkBuilder::new(root);
            walk.hidden(false)
                .follow_links(false)
                .git_ignore(!self.options.no_ignore)
                .git_global(false)
                .git_exclude(!self.options.no_ignore)
                .ignore(!self.options.no_ignore)
                .parents(!self.options.no_ignore)
                .require_git(false)
                .filter_entry(|e| e.file_name() != ".git");
            for entry in walk.build() {
                match entry {
                    Ok(e) => {
                        if e.file_type().is_some_and(|t| t.is_file()) {
                            let label = label_of(root, e.path());
                            files.push((e.path().to_path_buf(), label));
                        }
                    }
                    Err(err) => skipped.push(Skipped {
                        path: error_path(&err).unwrap_or_else(|| root.display().to_string()),
                        skip: Skip::Unreadable {
                            error: err.to_string(),
                        },
                    }),
                }
            }
        }
        (files, skipped)
    }
}

fn error_path(err: &ignore::Error) -> Option<String> {
    match err {
        ignore::Error::WithPath { path, .. } => Some(path.display().to_string()),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            error_path(err)
        }
        _ => None,
    }
}

fn label_of(root: &Path, path: &Path) -> String {
    if root.is_file() {
        return root.display().to_string();
    }
    match path.strip_prefix(root) {
        Ok(rel) if !rel.as_os_str().is_empty() => rel.display().to_string(),
        _ => path.display().to_string(),
    }
}

/// A NUL byte in the first 8 KiB means binary, as git decides.
pub fn is_binary(content: &[u8]) -> bool {
    memchr::memchr(0, &content[..content.len().min(8192)]).is_some()
}

/// Byte offset → (line, column), both 1-based.
pub(crate) struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub(crate) fn new(content: &[u8]) -> Self {
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', content).map(|p| p + 1));
        LineIndex { starts }
    }

    pub(crate) fn position(&self, offset: usize) -> (usize, usize) {
        let line = self.starts.partition_point(|&s| s <= offset);
        let start = self.starts[line.saturating_sub(1)];
        (line, offset - start + 1)
    }

    pub(crate) fn line_text<'a>(&self, content: &'a [u8], line: usize) -> &'a [u8] {
        let start = self
            .starts
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or(0)
            .min(content.len());
        let end = self
            .starts
            .get(line)
            .copied()
            .unwrap_or(content.len())
            .min(content.len());
        &content[start..end]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scanner() -> Scanner {
        Scanner::new(
            Rules::builtin().expect("rules"),
            FingerprintKey::from_bytes([7; 32]),
            ScanOptions::default(),
        )
        .expect("scanner")
    }

    #[test]
    fn line_index_positions() {
        let idx = LineIndex::new(b"ab\ncd\n");
        assert_eq!(idx.position(0), (1, 1));
        assert_eq!(idx.position(3), (2, 1));
        assert_eq!(idx.position(4), (2, 2));
    }

    #[test]
    fn finds_aws_key_and_never_keeps_the_secret() {
        let secret = "kq3Vx7Rr9TnZ2bLw5yPd8HcFj4Mg6Ns1Qe0Ua/Bo";
        let text = format!(
            "[default]\naws_access_key_id = AKIAQWERTYUIOPASDFGH\naws_secret_access_key = {secret}\n"
        );
        let (s, _) = scanner().scan_content("creds", text.as_bytes());
        assert!(
            s.iter()
                .any(|s| s.identifier.as_deref() == Some("AKIAQWERTYUIOPASDFGH"))
        );
        let sk = s
            .iter()
            .find(|s| s.rule_id == "castellan.aws.secret-access-key")
            .expect("secret key found");
        assert_eq!((sk.place.line, sk.place.column), (3, 25));
        let dump = format!("{s:?}") + &serde_json::to_string(&s).expect("json");
        assert!(!dump.contains(secret), "raw secret leaked: {dump}");
    }

    #[test]
    fn allow_marker_silences_a_line() {
        let text = "aws_access_key_id = AKIAQWERTYUIOPASDFGH # castellan:allow\n";
        let (s, _) = scanner().scan_content("x", text.as_bytes());
        assert!(s.is_empty());
    }
}
