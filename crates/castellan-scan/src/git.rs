//! Git history: every distinct blob reachable from any ref scanned once, each sighting attributed
//! to the oldest commit (and its path) that introduced the blob, and marked when the blob is still
//! present at HEAD.
//!
//! The walk is in three steps: (1) the commits reachable from every ref, oldest first; (2) their
//! trees, each distinct tree read once, which gives every distinct blob its first commit and path;
//! (3) the blobs, in pack order and in parallel, through the same [`Scanner`] as files (so the
//! path-aware extractors apply to history too). Memory holds the blob and tree ids and one blob
//! per thread, never the history's content.
//!
//! A [`GitCache`] persists what was scanned, so re-scanning an unchanged repository reads no blob,
//! and a repository that moved on scans only the new commits' new blobs.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use gix::ObjectId;
use gix::objs::{CommitRefIter, Kind, TreeRefIter};
use gix::prelude::Find;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::Sighting;
use crate::scan::{FileReference, ScanReport, Scanner, Skip, Skipped, is_binary};

/// What a git scan covers.
#[derive(Debug, Clone, Default)]
pub struct GitOptions {
    /// Only commits after this revision (reachable from HEAD, not from it): for CI.
    pub since_commit: Option<String>,
    /// Only what is staged in the index and differs from HEAD: for a pre-commit hook.
    pub staged: bool,
}

/// A repository that cannot be scanned.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// Not a repository, or one gix cannot open.
    #[error(
        "{path}: not a git repository that can be opened ({reason}); pass the work tree or the .git/bare directory"
    )]
    Open {
        /// The path given.
        path: PathBuf,
        /// What gix said.
        reason: String,
    },
    /// A revision given by the user does not resolve.
    #[error("{path}: revision {rev} not found ({reason})")]
    Revision {
        /// The repository.
        path: PathBuf,
        /// The revision.
        rev: String,
        /// What gix said.
        reason: String,
    },
    /// The index could not be read.
    #[error("{path}: cannot read the index for --staged ({reason})")]
    Index {
        /// The repository.
        path: PathBuf,
        /// What gix said.
        reason: String,
    },
}

/// Figures of a git scan.
#[derive(Debug, Default, Clone, Serialize)]
pub struct GitStats {
    /// Commits walked (new ones only, on an incremental scan).
    pub commits: u64,
    /// Distinct blobs reachable (in the scanned range).
    pub blobs: u64,
    /// Blobs read and matched in this run.
    pub blobs_scanned: u64,
    /// Blobs skipped because an earlier run scanned them.
    pub blobs_cached: u64,
    /// Bytes of blob content scanned in this run.
    pub bytes_scanned: u64,
    /// Objects that could not be read (missing in a shallow clone, corrupt).
    pub unreadable_objects: u64,
}

/// What a previous scan of a repository learned, so the next one skips it.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct GitCache {
    /// Identifies the rules and the fingerprint key the cache was made with.
    pub rules_digest: String,
    /// Commits already walked.
    #[serde(with = "hex_ids")]
    pub commits: Vec<ObjectId>,
    /// Trees already read.
    #[serde(with = "hex_ids")]
    pub trees: Vec<ObjectId>,
    /// Blobs already scanned.
    #[serde(with = "hex_ids")]
    pub blobs: Vec<ObjectId>,
    /// Sightings found in those blobs (places hold commit and path; `head` is recomputed).
    pub sightings: Vec<Sighting>,
    /// References to managed secrets found in those blobs, with the blob's id (only those of
    /// blobs still at HEAD are reported: they say what the pipelines use now).
    #[serde(default)]
    pub references: Vec<(String, FileReference)>,
}

mod hex_ids {
    use gix::ObjectId;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(ids: &[ObjectId], s: S) -> Result<S::Ok, S::Error> {
        let mut text = String::with_capacity(ids.len() * 40);
        for id in ids {
            text.push_str(&id.to_hex().to_string());
        }
        s.serialize_str(&text)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<ObjectId>, D::Error> {
        let text = String::deserialize(d)?;
        if text.len() % 40 != 0 {
            return Err(serde::de::Error::custom(
                "object id list length is not a multiple of 40",
            ));
        }
        (0..text.len() / 40)
            .map(|i| {
                ObjectId::from_hex(text.as_bytes().get(i * 40..i * 40 + 40).unwrap_or_default())
                    .map_err(serde::de::Error::custom)
            })
            .collect()
    }
}

impl GitCache {
    /// Reads a cache file; a missing, unreadable or foreign cache is an empty one.
    pub fn load(path: &Path, rules_digest: &str) -> GitCache {
        let Ok(bytes) = std::fs::read(path) else {
            return GitCache::default();
        };
        match serde_json::from_slice::<GitCache>(&bytes) {
            Ok(c) if c.rules_digest == rules_digest => c,
            _ => GitCache::default(),
        }
    }

    /// Writes the cache file (atomically: a temporary file renamed over it).
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension("tmp");
        std::fs::write(
            &tmp,
            serde_json::to_vec(self).map_err(std::io::Error::other)?,
        )?;
        std::fs::rename(tmp, path)
    }
}

/// Where a blob first appeared.
#[derive(Debug, Clone)]
struct Origin {
    commit: ObjectId,
    path: String,
}

/// Scans the history of the repository at `path` (a work tree, a `.git` directory or a bare
/// repository). `cache` is read and updated in place.
pub fn scan_git(
    scanner: &Scanner,
    path: &Path,
    options: &GitOptions,
    cache: &mut GitCache,
) -> Result<(ScanReport, GitStats), GitError> {
    let open_err = |e: &dyn std::fmt::Display| GitError::Open {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let mut repo = gix::open(path).map_err(|e| open_err(&e))?;
    // Every tree and blob is read once: no object cache (gix's delta-base cache stays).
    repo.object_cache_size(None);
    let mut stats = GitStats::default();
    let head_tree = repo.head_tree_id().ok().map(|id| id.detach());
    let head_blobs = match head_tree {
        Some(t) => blobs_of_tree(&repo, t, &mut stats),
        None => HashSet::new(),
    };

    if options.staged {
        return scan_staged(scanner, &repo, path, &head_blobs);
    }

    // Step 1: commits. With --since-commit, what REV reaches is "already seen".
    let mut seen_commits: HashSet<ObjectId> = cache.commits.iter().copied().collect();
    let mut seen_trees: HashSet<ObjectId> = cache.trees.iter().copied().collect();
    let mut seen_blobs: HashSet<ObjectId> = cache.blobs.iter().copied().collect();
    let tips = if let Some(rev) = &options.since_commit {
        let base = repo
            .rev_parse_single(rev.as_str())
            .map_err(|e| GitError::Revision {
                path: path.to_path_buf(),
                rev: rev.clone(),
                reason: e.to_string(),
            })?
            .detach();
        let base_commits = walk_commits(&repo, vec![base], &HashSet::new(), &mut stats);
        // Blobs present at REV count as known: the range scan reports only what came after.
        for c in &base_commits {
            seen_commits.insert(c.id);
        }
        if let Some(c) = base_commits.iter().find(|c| c.id == base) {
            let mut origins = HashMap::new();
            walk_tree(
                &repo,
                c.tree,
                c.id,
                &mut seen_trees,
                &mut seen_blobs,
                &mut origins,
                &mut stats,
            );
        }
        repo.head_id().map(|h| vec![h.detach()]).unwrap_or_default()
    } else {
        ref_tips(&repo)
    };
    let mut commits = walk_commits(&repo, tips, &seen_commits, &mut stats);
    commits.sort_by_key(|c| (c.time, c.id));
    stats.commits = commits.len() as u64;

    // Step 2: trees, oldest commit first, each tree once.
    let mut origins: HashMap<ObjectId, Origin> = HashMap::new();
    let blobs_before = seen_blobs.len();
    for c in &commits {
        walk_tree(
            &repo,
            c.tree,
            c.id,
            &mut seen_trees,
            &mut seen_blobs,
            &mut origins,
            &mut stats,
        );
    }
    stats.blobs = origins.len() as u64;
    stats.blobs_cached = blobs_before as u64;

    // Step 3: blobs in pack order, in parallel.
    let order = pack_order(&repo, &origins);
    let sync = repo.clone().into_sync();
    type BlobResult = (
        Vec<Sighting>,
        u64,
        Option<Skipped>,
        Vec<(String, FileReference)>,
    );
    let results: Vec<BlobResult> = order
        .par_iter()
        .map_init(
            || {
                // Each blob is read once: no object cache.
                let mut r = sync.to_thread_local();
                r.object_cache_size(None);
                (r, Vec::new())
            },
            |(repo, buf), id| {
                let Some(origin) = origins.get(id) else {
                    return (Vec::new(), 0, None, Vec::new());
                };
                let skipped = |skip| {
                    Some(Skipped {
                        path: format!("{}@{}", origin.path, short(&origin.commit)),
                        skip,
                    })
                };
                let data = match repo.objects.try_find(id, buf) {
                    Ok(Some(d)) if d.kind == Kind::Blob => d.data,
                    Ok(_) => {
                        return (
                            Vec::new(),
                            0,
                            skipped(Skip::Unreadable {
                                error: format!("blob {id} missing"),
                            }),
                            Vec::new(),
                        );
                    }
                    Err(e) => {
                        return (
                            Vec::new(),
                            0,
                            skipped(Skip::Unreadable {
                                error: e.to_string(),
                            }),
                            Vec::new(),
                        );
                    }
                };
                if data.len() as u64 > scanner.options().max_file_size {
                    return (
                        Vec::new(),
                        0,
                        skipped(Skip::TooLarge {
                            size: data.len() as u64,
                        }),
                        Vec::new(),
                    );
                }
                if is_binary(data) && !crate::extract::reads_binary(Path::new(&origin.path)) {
                    return (Vec::new(), data.len() as u64, None, Vec::new());
                }
                let (mut found, refs) = scanner.scan_content(&origin.path, data);
                let blob = id.to_hex().to_string();
                for s in &mut found {
                    s.place.commit = Some(origin.commit.to_hex().to_string());
                    s.place.blob = Some(blob.clone());
                }
                let refs = refs
                    .into_iter()
                    .map(|reference| {
                        (
                            blob.clone(),
                            FileReference {
                                path: origin.path.clone(),
                                reference,
                            },
                        )
                    })
                    .collect();
                (found, data.len() as u64, None, refs)
            },
        )
        .collect();

    let mut report = ScanReport::default();
    let mut refs: Vec<(String, FileReference)> = Vec::new();
    for (found, bytes, skip, r) in results {
        refs.extend(r);
        stats.bytes_scanned += bytes;
        if bytes > 0 {
            stats.blobs_scanned += 1;
        }
        report.sightings.extend(found);
        report.skipped.extend(skip);
    }
    report.files = stats.blobs_scanned;
    report.bytes = stats.bytes_scanned;

    // Update the cache (not for range scans, which see only part of the history).
    if options.since_commit.is_none() {
        cache.commits.extend(commits.iter().map(|c| c.id));
        cache.trees = seen_trees.into_iter().collect();
        cache.trees.sort();
        cache.blobs = seen_blobs.into_iter().collect();
        cache.blobs.sort();
        cache.sightings.extend(report.sightings.iter().cloned());
        report.sightings = cache.sightings.clone();
        cache.references.extend(refs);
        refs = cache.references.clone();
    }
    report.references = refs
        .into_iter()
        .filter(|(blob, _)| {
            ObjectId::from_hex(blob.as_bytes()).is_ok_and(|b| head_blobs.contains(&b))
        })
        .map(|(_, r)| r)
        .collect();
    report.references.sort();
    report.references.dedup();
    for s in &mut report.sightings {
        s.place.head = s
            .place
            .blob
            .as_deref()
            .and_then(|b| ObjectId::from_hex(b.as_bytes()).ok())
            .map(|b| head_blobs.contains(&b));
    }
    report
        .sightings
        .sort_by(|a, b| (&a.place, &a.rule_id).cmp(&(&b.place, &b.rule_id)));
    report.skipped.sort();
    Ok((report, stats))
}

fn short(id: &ObjectId) -> String {
    id.to_hex_with_len(12).to_string()
}

struct CommitInfo {
    id: ObjectId,
    tree: ObjectId,
    time: i64,
}

/// The commit every ref (branches, tags, remotes, HEAD) points at, tags peeled.
fn ref_tips(repo: &gix::Repository) -> Vec<ObjectId> {
    let mut tips = Vec::new();
    if let Ok(h) = repo.head_id() {
        tips.push(h.detach());
    }
    if let Ok(platform) = repo.references()
        && let Ok(all) = platform.all()
    {
        for mut r in all.flatten() {
            if let Ok(id) = r.peel_to_id() {
                tips.push(id.detach());
            }
        }
    }
    tips.sort();
    tips.dedup();
    tips
}

/// Every commit reachable from `tips` and not in `known`.
fn walk_commits(
    repo: &gix::Repository,
    tips: Vec<ObjectId>,
    known: &HashSet<ObjectId>,
    stats: &mut GitStats,
) -> Vec<CommitInfo> {
    let mut out = Vec::new();
    let mut seen: HashSet<ObjectId> = HashSet::new();
    let mut stack = tips;
    let mut buf = Vec::new();
    while let Some(id) = stack.pop() {
        if known.contains(&id) || !seen.insert(id) {
            continue;
        }
        let data = match repo.objects.try_find(&id, &mut buf) {
            Ok(Some(d)) => d,
            _ => {
                // Missing parents are the boundary of a shallow clone.
                stats.unreadable_objects += 1;
                continue;
            }
        };
        match data.kind {
            Kind::Commit => {
                let mut tree = None;
                let mut time = 0;
                for token in CommitRefIter::from_bytes(data.data, repo.object_hash()).flatten() {
                    use gix::objs::commit::ref_iter::Token;
                    match token {
                        Token::Tree { id } => tree = Some(id),
                        Token::Parent { id } => stack.push(id),
                        Token::Committer { signature } => {
                            time = signature.time().map(|t| t.seconds).unwrap_or(0);
                        }
                        _ => {}
                    }
                }
                if let Some(tree) = tree {
                    out.push(CommitInfo { id, tree, time });
                }
            }
            Kind::Tag => {
                if let Ok(target) =
                    gix::objs::TagRefIter::from_bytes(data.data, repo.object_hash()).target_id()
                {
                    stack.push(target);
                }
            }
            _ => {}
        }
    }
    out
}

/// Reads `tree` and its subtrees (those not read before), giving each new blob its origin.
fn walk_tree(
    repo: &gix::Repository,
    tree: ObjectId,
    commit: ObjectId,
    seen_trees: &mut HashSet<ObjectId>,
    seen_blobs: &mut HashSet<ObjectId>,
    origins: &mut HashMap<ObjectId, Origin>,
    stats: &mut GitStats,
) {
    let mut stack = vec![(tree, String::new())];
    let mut buf = Vec::new();
    while let Some((tree, prefix)) = stack.pop() {
        if !seen_trees.insert(tree) {
            continue;
        }
        let data = match repo.objects.try_find(&tree, &mut buf) {
            Ok(Some(d)) if d.kind == Kind::Tree => d,
            _ => {
                stats.unreadable_objects += 1;
                continue;
            }
        };
        for entry in TreeRefIter::from_bytes(data.data, repo.object_hash()).flatten() {
            let name = String::from_utf8_lossy(entry.filename);
            let path = if prefix.is_empty() {
                name.into_owned()
            } else {
                format!("{prefix}/{name}")
            };
            let oid = entry.oid.to_owned();
            if entry.mode.is_tree() {
                stack.push((oid, path));
            } else if entry.mode.is_blob() && seen_blobs.insert(oid) {
                origins.insert(oid, Origin { commit, path });
            }
        }
    }
}

/// Every blob of a tree (no dedup across commits): what HEAD holds.
fn blobs_of_tree(
    repo: &gix::Repository,
    tree: ObjectId,
    stats: &mut GitStats,
) -> HashSet<ObjectId> {
    let mut trees = HashSet::new();
    let mut blobs = HashSet::new();
    let mut origins = HashMap::new();
    walk_tree(
        repo,
        tree,
        tree,
        &mut trees,
        &mut blobs,
        &mut origins,
        stats,
    );
    blobs
}

/// The blobs to read, ordered by their position in the packs (then the loose ones) so that
/// delta bases are decoded from warm caches.
fn pack_order(repo: &gix::Repository, wanted: &HashMap<ObjectId, Origin>) -> Vec<ObjectId> {
    use gix::odb::store::iter::Ordering;
    let mut order = Vec::with_capacity(wanted.len());
    let mut placed: HashSet<ObjectId> = HashSet::with_capacity(wanted.len());
    if let Ok(iter) = repo.objects.iter() {
        for id in iter
            .with_ordering(Ordering::PackAscendingOffsetThenLooseLexicographical)
            .flatten()
        {
            if wanted.contains_key(&id) && placed.insert(id) {
                order.push(id);
            }
        }
    }
    // Anything the iteration did not list (alternates, races) goes last.
    let mut rest: Vec<ObjectId> = wanted
        .keys()
        .filter(|id| !placed.contains(*id))
        .copied()
        .collect();
    rest.sort();
    order.extend(rest);
    order
}

/// Staged content: index entries whose blob HEAD does not hold.
fn scan_staged(
    scanner: &Scanner,
    repo: &gix::Repository,
    path: &Path,
    head_blobs: &HashSet<ObjectId>,
) -> Result<(ScanReport, GitStats), GitError> {
    let index = repo.index_or_empty().map_err(|e| GitError::Index {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let mut report = ScanReport::default();
    let mut stats = GitStats::default();
    let mut buf = Vec::new();
    let mut by_path: BTreeMap<String, ObjectId> = BTreeMap::new();
    for entry in index.entries() {
        if head_blobs.contains(&entry.id) {
            continue;
        }
        by_path.insert(entry.path(&index).to_string(), entry.id);
    }
    for (p, id) in by_path {
        stats.blobs += 1;
        let Ok(Some(d)) = repo.objects.try_find(&id, &mut buf) else {
            report.skipped.push(Skipped {
                path: p,
                skip: Skip::Unreadable {
                    error: format!("staged blob {id} missing"),
                },
            });
            continue;
        };
        if is_binary(d.data) && !crate::extract::reads_binary(Path::new(&p)) {
            continue;
        }
        stats.blobs_scanned += 1;
        stats.bytes_scanned += d.data.len() as u64;
        let (mut found, refs) = scanner.scan_content(&p, d.data);
        for s in &mut found {
            s.place.blob = Some(id.to_hex().to_string());
        }
        report.sightings.extend(found);
        report.references.extend(
            refs.into_iter()
                .map(|reference| crate::scan::FileReference {
                    path: p.clone(),
                    reference,
                }),
        );
    }
    report.files = stats.blobs_scanned;
    report.bytes = stats.bytes_scanned;
    Ok((report, stats))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::Rules;
    use crate::scan::ScanOptions;
    use castellan_model::FingerprintKey;
    use std::process::Command;

    fn git(dir: &Path, args: &[&str]) {
        let out = Command::new("git")
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@example.invalid",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .current_dir(dir)
            .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn scanner() -> Scanner {
        Scanner::new(
            Rules::builtin().expect("rules"),
            FingerprintKey::from_bytes([3; 32]),
            ScanOptions::default(),
        )
        .expect("scanner")
    }

    #[test]
    fn history_attribution_head_presence_and_cache() {
        let dir = tempfile::tempdir().expect("tmp");
        let d = dir.path();
        git(d, &["init", "-q", "-b", "main"]);
        std::fs::write(d.join("README"), "hello\n").expect("w");
        git(d, &["add", "."]);
        git(d, &["commit", "-q", "-m", "first"]);
        std::fs::write(
            d.join("deploy.cfg"),
            "aws_access_key_id = AKIAQWERTYUIOPASDFGH\n",
        )
        .expect("w");
        git(d, &["add", "."]);
        git(d, &["commit", "-q", "-m", "add key"]);
        git(d, &["rm", "-q", "deploy.cfg"]);
        git(d, &["commit", "-q", "-m", "remove key"]);

        let s = scanner();
        let mut cache = GitCache::default();
        let (report, stats) = scan_git(&s, d, &GitOptions::default(), &mut cache).expect("scan");
        assert_eq!(stats.commits, 3);
        let hit = report
            .sightings
            .iter()
            .find(|x| x.identifier.as_deref() == Some("AKIAQWERTYUIOPASDFGH"))
            .expect("key found in history");
        assert_eq!(hit.place.path, "deploy.cfg");
        assert_eq!(hit.place.head, Some(false), "removed from HEAD");
        assert!(hit.place.commit.is_some());

        // Unchanged repository: nothing read again, same sightings.
        let (again, stats2) = scan_git(&s, d, &GitOptions::default(), &mut cache).expect("rescan");
        assert_eq!(stats2.blobs_scanned, 0);
        assert_eq!(stats2.commits, 0);
        assert_eq!(again.sightings.len(), report.sightings.len());

        // A new commit: only its new blob is read.
        std::fs::write(
            d.join("deploy.cfg"),
            "aws_access_key_id = AKIAZZZZYUIOPASDFGH2\n",
        )
        .expect("w");
        git(d, &["add", "."]);
        git(d, &["commit", "-q", "-m", "again"]);
        let (third, stats3) = scan_git(&s, d, &GitOptions::default(), &mut cache).expect("rescan");
        assert_eq!(stats3.commits, 1);
        assert_eq!(stats3.blobs_scanned, 1);
        let new = third
            .sightings
            .iter()
            .find(|x| x.identifier.as_deref() == Some("AKIAZZZZYUIOPASDFGH2"))
            .expect("new key");
        assert_eq!(new.place.head, Some(true));
    }

    #[test]
    fn staged_scan_sees_only_the_index_changes() {
        let dir = tempfile::tempdir().expect("tmp");
        let d = dir.path();
        git(d, &["init", "-q", "-b", "main"]);
        std::fs::write(
            d.join("old.cfg"),
            "aws_access_key_id = AKIAQWERTYUIOPASDFGH\n",
        )
        .expect("w");
        git(d, &["add", "."]);
        git(d, &["commit", "-q", "-m", "first"]);
        std::fs::write(d.join("new.cfg"), "key = AKIAZZZZYUIOPASDFGH2\n").expect("w");
        git(d, &["add", "new.cfg"]);
        let opts = GitOptions {
            staged: true,
            ..Default::default()
        };
        let (report, _) = scan_git(&scanner(), d, &opts, &mut GitCache::default()).expect("scan");
        let ids: Vec<_> = report
            .sightings
            .iter()
            .filter_map(|s| s.identifier.clone())
            .collect();
        assert_eq!(ids, vec!["AKIAZZZZYUIOPASDFGH2".to_string()]);
    }

    #[test]
    fn not_a_repository_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("tmp");
        let err = scan_git(
            &scanner(),
            dir.path(),
            &GitOptions::default(),
            &mut GitCache::default(),
        )
        .expect_err("not a repo");
        assert!(err.to_string().contains("not a git repository"), "{err}");
    }
}
