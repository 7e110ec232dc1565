//! Matching engines. [`Matcher`] is the seam: the default [`RegexMatcher`] runs a literal
//! prefilter (Aho-Corasick over every rule's keywords, any case) and then only the candidate
//! rules' regexes, and only in windows around the keyword hits, so memory and time follow the
//! content's size and its keyword density, not the number of rules.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use regex::bytes::Regex;

use crate::rules::{Confidence, RuleError, Rules};
use crate::{Match, Secret};

/// A matching engine over raw content.
pub trait Matcher: Send + Sync {
    /// Appends every match in `content` to `out`.
    fn find(&self, content: &[u8], out: &mut Vec<Match>);
}

/// The longest keyword prefix the prefilter searches for.
const KEYWORD_PREFIX: usize = 6;

/// The first [`KEYWORD_PREFIX`] bytes of a keyword, cut at a character boundary.
fn truncate_keyword(k: &str) -> String {
    let mut end = k.len().min(KEYWORD_PREFIX);
    while !k.is_char_boundary(end) {
        end -= 1;
    }
    k[..end].to_string()
}

/// Bytes searched on each side of a keyword hit; windows are widened to whole lines.
const WINDOW: usize = 512;

/// A rule's regex, compiled on first use: a pre-commit scan of one file compiles only the rules
/// whose keywords occur in it.
/// A compiled regex with the indices of its `secret` and `id` groups.
type CompiledRegex = (Regex, Option<usize>, Option<usize>);

#[derive(Debug)]
struct LazyRegex {
    pattern: String,
    cell: OnceLock<Option<CompiledRegex>>,
}

impl LazyRegex {
    /// The regex with the indices of its `secret` and `id` groups; `None` if it does not compile
    /// (user rules are checked when loaded, built-in ones by the test suite).
    fn get(&self) -> Option<&CompiledRegex> {
        self.cell
            .get_or_init(|| {
                let re = regex::bytes::RegexBuilder::new(&self.pattern)
                    .size_limit(1 << 24)
                    .build()
                    .ok()?;
                let group = |name: &str| re.capture_names().position(|n| n == Some(name));
                let (s, i) = (group("secret"), group("id"));
                Some((re, s, i))
            })
            .as_ref()
    }
}

#[derive(Debug)]
struct Compiled {
    id: String,
    re: LazyRegex,
    kind: String,
    provider: String,
    confidence: Confidence,
    min_entropy: Option<f64>,
    placeholders: bool,
    /// Search only the keyword's own line: the rule's examples are all one line, so its
    /// pattern is proven on single lines (a rule whose examples span lines gets a wide window).
    line_only: bool,
}

/// The default engine: keyword prefilter, then regexes on windows around the hits.
#[derive(Debug)]
pub struct RegexMatcher {
    rules: Vec<Compiled>,
    prefilter: AhoCorasick,
    /// Keyword pattern index → rules that listed it.
    keyword_rules: Vec<Vec<usize>>,
}

impl RegexMatcher {
    /// Compiles every rule (once per process; a scan reuses the matcher for every file).
    pub fn new(rules: &Rules) -> Result<RegexMatcher, RuleError> {
        let mut compiled = Vec::with_capacity(rules.len());
        let mut keywords: Vec<String> = Vec::new();
        let mut keyword_rules: Vec<Vec<usize>> = Vec::new();
        let mut index: BTreeMap<String, usize> = BTreeMap::new();
        for (i, rule) in rules.iter().enumerate() {
            compiled.push(Compiled {
                id: rule.id.clone(),
                re: LazyRegex {
                    pattern: rule.pattern.clone(),
                    cell: OnceLock::new(),
                },
                kind: rule.kind.clone(),
                provider: rule.provider.clone(),
                confidence: rule.confidence,
                min_entropy: rule.min_entropy,
                placeholders: rule.placeholders,
                line_only: !rule.examples.iter().any(|e| e.contains('\n')),
            });
            for kw in &rule.keywords {
                // The prefilter looks for at most the first KEYWORD_PREFIX bytes of a keyword:
                // a smaller automaton (fewer cache misses per byte) that triggers a superset of
                // the rules; each rule's regex still decides.
                let key = truncate_keyword(&kw.to_ascii_lowercase());
                let k = *index.entry(key.clone()).or_insert_with(|| {
                    keywords.push(key);
                    keyword_rules.push(Vec::new());
                    keywords.len() - 1
                });
                if !keyword_rules[k].contains(&i) {
                    keyword_rules[k].push(i);
                }
            }
        }
        let prefilter = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            // A full DFA: one table lookup per byte, the fastest walk for hundreds of keywords
            // (too many for the vectorised packed searcher); a few MB of tables.
            .kind(Some(AhoCorasickKind::DFA))
            .build(&keywords)
            .map_err(|e| RuleError::Invalid {
                file: String::new(),
                rule: "(keywords)".into(),
                reason: e.to_string(),
            })?;
        Ok(RegexMatcher {
            rules: compiled,
            prefilter,
            keyword_rules,
        })
    }

    /// The number of compiled rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// No rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

impl Matcher for RegexMatcher {
    fn find(&self, content: &[u8], out: &mut Vec<Match>) {
        // Per candidate rule, the keyword hit offsets (ascending).
        let mut hits: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        // One pass of the keyword DFA reporting every (overlapping) keyword occurrence.
        for m in self.prefilter.find_overlapping_iter(content) {
            for &r in &self.keyword_rules[m.pattern().as_usize()] {
                let v = hits.entry(r).or_default();
                if v.last() != Some(&m.start()) {
                    v.push(m.start());
                }
            }
        }
        for (r, mut offsets) in hits {
            offsets.sort_unstable();
            offsets.dedup();
            let rule = &self.rules[r];
            let Some((re, secret_group, id_group)) = rule.re.get() else {
                continue;
            };
            let mut seen_end = 0usize;
            for (start, end) in windows(content, &offsets, rule.line_only) {
                let hay = &content[..end];
                let mut at = start.max(seen_end);
                while at < end {
                    // The lazy DFA finds the match; captures (slower engines) run on it only.
                    let Some(found) = re.find_at(hay, at) else {
                        break;
                    };
                    let Some(caps) = re.captures_at(&hay[..found.end()], found.start()) else {
                        at = found.end().max(at + 1);
                        continue;
                    };
                    let whole = caps.get(0).map_or(at..at, |m| m.range());
                    at = if whole.end > whole.start {
                        whole.end
                    } else {
                        whole.end + 1
                    };
                    seen_end = seen_end.max(whole.end);
                    let secret = secret_group.and_then(|g| caps.get(g));
                    let ident = id_group.and_then(|g| caps.get(g));
                    let Some(anchor) = secret.or(ident) else {
                        continue;
                    };
                    let secret_text = secret.map(|m| String::from_utf8_lossy(m.as_bytes()));
                    if let Some(s) = &secret_text {
                        if let Some(min) = rule.min_entropy
                            && entropy(s.as_bytes()) < min
                        {
                            continue;
                        }
                        if rule.placeholders && is_placeholder(s) {
                            continue;
                        }
                    }
                    out.push(Match {
                        rule_id: rule.id.clone(),
                        secret: secret_text.map(|s| Secret::new(s.into_owned())),
                        identifier: ident
                            .map(|m| String::from_utf8_lossy(m.as_bytes()).into_owned()),
                        offset: anchor.start(),
                        len: anchor.len(),
                        kind: rule.kind.clone(),
                        provider: rule.provider.clone(),
                        confidence: rule.confidence,
                        context: BTreeMap::new(),
                    });
                }
            }
        }
    }
}

/// Merged search windows around the (ascending) keyword offsets: the keyword's line, or
/// [`WINDOW`] bytes each side widened to whole lines.
fn windows(content: &[u8], offsets: &[usize], line_only: bool) -> Vec<(usize, usize)> {
    let radius = if line_only { 0 } else { WINDOW };
    let mut out: Vec<(usize, usize)> = Vec::new();
    for &off in offsets {
        if let Some(last) = out.last()
            && off < last.1
        {
            continue; // inside the previous window (whose end is a line end)
        }
        let lo = off.saturating_sub(radius);
        let lo = memchr::memrchr(b'\n', &content[..lo]).map_or(0, |p| p + 1);
        let hi = (off + radius).min(content.len());
        let hi = memchr::memchr(b'\n', &content[hi..]).map_or(content.len(), |p| hi + p);
        match out.last_mut() {
            Some(last) if lo <= last.1 => last.1 = last.1.max(hi),
            _ => out.push((lo, hi)),
        }
    }
    out
}

/// Shannon entropy in bits per byte.
pub fn entropy(bytes: &[u8]) -> f64 {
    if bytes.is_empty() {
        return 0.0;
    }
    let mut counts = [0usize; 256];
    for &b in bytes {
        counts[b as usize] += 1;
    }
    let n = bytes.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

/// Values that stand for a secret rather than being one: template variables, angle-bracket
/// placeholders, repeated characters, and the words people put in examples.
pub fn is_placeholder(value: &str) -> bool {
    let v = value.trim_matches(|c| c == '"' || c == '\'');
    let lower = v.to_ascii_lowercase();
    if v.len() < 6 {
        return true;
    }
    if v.starts_with("${")
        || v.starts_with("{{")
        || v.starts_with("%(")
        || v.starts_with("$(")
        || v.starts_with('<')
        || v.starts_with('$')
            && v[1..]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        || v.contains("{{")
        || v.starts_with("%") && v.ends_with('%')
    {
        return true;
    }
    let first = v.as_bytes()[0];
    if v.bytes().all(|b| b == first) {
        return true;
    }
    const WORDS: &[&str] = &[
        "changeme",
        "change_me",
        "change-me",
        "password",
        "passwd",
        "example",
        "placeholder",
        "your_",
        "your-",
        "yourpassword",
        "secret123",
        "redacted",
        "xxxxxx",
        "******",
        "dummy",
        "sample",
        "notreal",
        "not_real",
        "not-a-real",
        "fake",
        "insert",
        "replace",
        "todo",
        "12345678",
        "abcdefgh",
        "qwerty",
        "letmein",
        "env(",
        "os.environ",
        "getenv",
        "process.env",
    ];
    WORDS.iter().any(|w| lower.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_recognised() {
        for p in [
            "${DB_PASSWORD}",
            "{{ vault_pw }}",
            "<your-token>",
            "changeme",
            "xxxxxxxxxxxx",
            "$SECRET_KEY",
            "your_api_key_here",
            "%DB_PASS%",
        ] {
            assert!(is_placeholder(p), "{p}");
        }
        for s in ["q8Zr2!vLp9#tW", "hunter2-Secure-93xk", "N7vP4eT1sLq0"] {
            assert!(!is_placeholder(s), "{s}");
        }
    }

    #[test]
    fn entropy_of_uniform_and_random() {
        assert!(entropy(b"aaaaaaaa") < 0.01);
        assert!(entropy(b"aB3$kP9!zQ2@") > 3.0);
    }

    #[test]
    fn windows_merge_and_cover_whole_lines() {
        let text = b"line one\nkey here\nline three\n";
        let w = windows(text, &[9], false);
        assert_eq!(w, vec![(0, text.len())]);
        let w = windows(text, &[9, 12], true);
        assert_eq!(w, vec![(9, 17)]);
    }
}
