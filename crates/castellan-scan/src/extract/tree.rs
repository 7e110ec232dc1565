//! A small, forgiving reader for YAML (block and flow styles) and JSON (with comments and
//! trailing commas) that keeps the byte offset of every scalar.
//!
//! It is not a conforming YAML parser: it reads the shapes configuration files use (indented
//! mappings and sequences, compact sequences, quoted, plain and block scalars, one-line or
//! multi-line flow collections, tags, anchors, comments, several documents) and never fails:
//! what it cannot read it skips. Nesting is bounded, so hostile input cannot exhaust the stack.

use super::util::slice;

/// Deepest nesting read; deeper content is skipped.
const MAX_DEPTH: usize = 96;
/// Longest quoted scalar or flow collection inside a YAML block document.
const MAX_INLINE: usize = 256 * 1024;

/// A scalar value and where its raw text lies in the content.
#[derive(Clone)]
pub(crate) struct Scalar {
    /// The value (quotes removed, escapes decoded, block scalars joined).
    pub value: String,
    /// Byte offset of the raw value (inside the quotes for quoted scalars).
    pub offset: usize,
    /// Byte length of the raw value.
    pub len: usize,
    /// A YAML tag such as `!vault`.
    pub tag: Option<String>,
    /// The raw text is exactly `value`, so offsets inside the value are offsets in the content.
    pub verbatim: bool,
    /// A literal block scalar (`|`): value line `k` is content line `k` after the first.
    pub block: bool,
}

impl Scalar {
    /// The content offset of byte `i` of the value when the value is verbatim, else the
    /// scalar's own offset.
    pub fn offset_of(&self, i: usize) -> usize {
        if self.verbatim {
            self.offset + i
        } else {
            self.offset
        }
    }
}

/// A node of a YAML or JSON document.
#[derive(Clone)]
pub(crate) enum Node {
    Null,
    Scalar(Scalar),
    Map(Vec<Entry>),
    Seq(Vec<Node>),
}

/// One `key: value` of a mapping.
#[derive(Clone)]
pub(crate) struct Entry {
    pub key: String,
    pub key_offset: usize,
    pub value: Node,
}

impl Node {
    /// The value under `key` of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entries()
            .iter()
            .find(|e| e.key == key)
            .map(|e| &e.value)
    }

    /// The value under `key` of a mapping, ignoring ASCII case.
    pub fn get_ci(&self, key: &str) -> Option<&Node> {
        self.entries()
            .iter()
            .find(|e| e.key.eq_ignore_ascii_case(key))
            .map(|e| &e.value)
    }

    /// Follows a path of keys.
    pub fn at(&self, keys: &[&str]) -> Option<&Node> {
        keys.iter().try_fold(self, |n, k| n.get(k))
    }

    pub fn scalar(&self) -> Option<&Scalar> {
        match self {
            Node::Scalar(s) => Some(s),
            _ => None,
        }
    }

    /// The scalar's value.
    pub fn str(&self) -> Option<&str> {
        self.scalar().map(|s| s.value.as_str())
    }

    /// The string under `key`.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Node::str)
    }

    /// The mapping's entries (empty for anything else).
    pub fn entries(&self) -> &[Entry] {
        match self {
            Node::Map(e) => e,
            _ => &[],
        }
    }

    /// The sequence's items (empty for anything else).
    pub fn items(&self) -> &[Node] {
        match self {
            Node::Seq(i) => i,
            _ => &[],
        }
    }

    /// Visits this node and every node below it, with the path of keys (sequence items as
    /// their index) leading to it.
    pub fn visit<'n>(&'n self, path: &mut Vec<String>, f: &mut dyn FnMut(&[String], &'n Node)) {
        f(path, self);
        match self {
            Node::Map(entries) => {
                for e in entries {
                    path.push(e.key.clone());
                    e.value.visit(path, f);
                    path.pop();
                }
            }
            Node::Seq(items) => {
                for (i, n) in items.iter().enumerate() {
                    path.push(i.to_string());
                    n.visit(path, f);
                    path.pop();
                }
            }
            Node::Null | Node::Scalar(_) => {}
        }
    }
}

/// Every document of a YAML stream.
pub(crate) fn parse_yaml(text: &str) -> Vec<Node> {
    Yaml::new(text).documents()
}

/// A JSON document (comments and trailing commas allowed).
pub(crate) fn parse_json(text: &str) -> Option<Node> {
    let mut f = Flow {
        text,
        i: 0,
        limit: text.len(),
        yaml: false,
    };
    f.value(0)
}

#[derive(Clone, Copy)]
struct Line {
    /// Offset of the line's first byte (after a BOM).
    start: usize,
    /// Offset of the end of the line's content (before `\r\n`).
    end: usize,
    /// Columns of leading spaces and tabs.
    indent: usize,
    /// Offset of the first non-blank byte.
    body: usize,
}

struct Yaml<'a> {
    text: &'a str,
    lines: Vec<Line>,
    pos: usize,
}

fn is_dash(s: &str) -> bool {
    s == "-" || s.starts_with("- ") || s.starts_with("-\t")
}

impl<'a> Yaml<'a> {
    fn new(text: &'a str) -> Self {
        let bytes = text.as_bytes();
        let mut lines = Vec::new();
        let mut start = 0usize;
        loop {
            let nl =
                memchr::memchr(b'\n', bytes.get(start..).unwrap_or_default()).map(|p| start + p);
            let mut end = nl.unwrap_or(bytes.len());
            if end > start && bytes.get(end - 1) == Some(&b'\r') {
                end -= 1;
            }
            let first = if start == 0 && text.starts_with('\u{feff}') {
                3
            } else {
                start
            };
            let mut body = first;
            while body < end && matches!(bytes.get(body), Some(b' ' | b'\t')) {
                body += 1;
            }
            lines.push(Line {
                start: first,
                end: end.max(first),
                indent: body - first,
                body,
            });
            match nl {
                Some(p) => start = p + 1,
                None => break,
            }
        }
        Yaml {
            text,
            lines,
            pos: 0,
        }
    }

    fn s(&self, a: usize, b: usize) -> &'a str {
        slice(self.text, a, b)
    }

    fn byte(&self, i: usize) -> Option<u8> {
        self.text.as_bytes().get(i).copied()
    }

    fn blank(&self, l: &Line) -> bool {
        l.body >= l.end || self.byte(l.body) == Some(b'#')
    }

    fn marker(&self, l: &Line) -> bool {
        if l.indent != 0 {
            return false;
        }
        let s = self.s(l.body, l.end);
        (s.starts_with("---") || s.starts_with("..."))
            && s.as_bytes()
                .get(3)
                .is_none_or(|b| *b == b' ' || *b == b'\t')
    }

    /// The next non-blank line, or `None` at the end or at a document marker.
    fn peek(&mut self) -> Option<Line> {
        while let Some(l) = self.lines.get(self.pos).copied() {
            if self.blank(&l) {
                self.pos += 1;
                continue;
            }
            if self.marker(&l) {
                return None;
            }
            return Some(l);
        }
        None
    }

    fn documents(mut self) -> Vec<Node> {
        let mut docs: Vec<Node> = Vec::new();
        let mut fresh = true;
        while let Some(l) = self.lines.get(self.pos).copied() {
            if self.blank(&l) || (l.indent == 0 && self.byte(l.body) == Some(b'%')) {
                self.pos += 1;
                continue;
            }
            if self.marker(&l) {
                self.pos += 1;
                fresh = true;
                continue;
            }
            let before = self.pos;
            let node = self.node(l.indent, 0);
            if self.pos <= before {
                self.pos = before + 1;
            }
            match node {
                Node::Null => {}
                Node::Map(more) if !fresh && matches!(docs.last(), Some(Node::Map(_))) => {
                    if let Some(Node::Map(prev)) = docs.last_mut() {
                        prev.extend(more);
                    }
                }
                node => docs.push(node),
            }
            fresh = false;
        }
        docs
    }

    /// The node starting at the next line, if it is indented at least `min`.
    fn node(&mut self, min: usize, depth: usize) -> Node {
        if depth > MAX_DEPTH {
            return Node::Null;
        }
        let Some(l) = self.peek() else {
            return Node::Null;
        };
        if l.indent < min {
            return Node::Null;
        }
        let rest = self.s(l.body, l.end);
        if is_dash(rest) {
            self.seq(l.indent, depth + 1)
        } else if self.key_at(l.body, l.end).is_some() {
            self.map(l.indent, depth + 1)
        } else {
            let idx = self.pos;
            let n = self.value(l.body, l.end, l.indent.saturating_sub(1), depth + 1, false);
            if self.pos <= idx {
                self.pos = idx + 1;
            }
            n
        }
    }

    fn map(&mut self, indent: usize, depth: usize) -> Node {
        let mut entries = Vec::new();
        while let Some(l) = self.peek() {
            if l.indent < indent {
                break;
            }
            if l.indent > indent {
                self.pos += 1;
                continue;
            }
            if is_dash(self.s(l.body, l.end)) {
                break;
            }
            let idx = self.pos;
            match self.key_at(l.body, l.end) {
                Some((key, key_offset, after)) => {
                    let value = self.value(after, l.end, indent, depth, true);
                    if self.pos <= idx {
                        self.pos = idx + 1;
                    }
                    entries.push(Entry {
                        key,
                        key_offset,
                        value,
                    });
                }
                None => self.pos += 1,
            }
        }
        Node::Map(entries)
    }

    fn seq(&mut self, indent: usize, depth: usize) -> Node {
        let mut items = Vec::new();
        while let Some(l) = self.peek() {
            if l.indent < indent {
                break;
            }
            if l.indent > indent {
                self.pos += 1;
                continue;
            }
            if !is_dash(self.s(l.body, l.end)) {
                break;
            }
            let idx = self.pos;
            let mut c = l.body + 1;
            while c < l.end && matches!(self.byte(c), Some(b' ' | b'\t')) {
                c += 1;
            }
            let item = if c >= l.end || self.byte(c) == Some(b'#') {
                self.pos += 1;
                self.child(indent, depth, false)
            } else if is_dash(self.s(c, l.end)) || self.key_at(c, l.end).is_some() {
                let col = c - l.start;
                if let Some(line) = self.lines.get_mut(idx) {
                    line.indent = col;
                    line.body = c;
                }
                self.node(col, depth)
            } else {
                self.value(c, l.end, indent, depth, false)
            };
            if self.pos <= idx {
                self.pos = idx + 1;
            }
            items.push(item);
        }
        Node::Seq(items)
    }

    /// The nested block under a key or dash whose line is consumed.
    fn child(&mut self, parent: usize, depth: usize, compact: bool) -> Node {
        let Some(l) = self.peek() else {
            return Node::Null;
        };
        if l.indent > parent {
            return self.node(l.indent, depth + 1);
        }
        if compact && l.indent == parent && is_dash(self.s(l.body, l.end)) {
            return self.seq(parent, depth + 1);
        }
        Node::Null
    }

    /// `&anchor` and `!tag` before a value: (offset after them, tag).
    fn properties(&self, mut i: usize, end: usize) -> (usize, Option<String>) {
        let mut tag = None;
        loop {
            while i < end && matches!(self.byte(i), Some(b' ' | b'\t')) {
                i += 1;
            }
            match self.byte(i) {
                Some(c @ (b'!' | b'&')) if i < end => {
                    let rest = self.s(i, end);
                    let n = rest.find([' ', '\t']).unwrap_or(rest.len());
                    if c == b'!' {
                        tag = Some(slice(rest, 0, n).to_string());
                    }
                    i += n.max(1);
                }
                _ => return (i, tag),
            }
        }
    }

    /// The value starting at `start` on the current line (whose key or dash sits at
    /// `parent` columns), consuming its lines.
    fn value(
        &mut self,
        start: usize,
        end: usize,
        parent: usize,
        depth: usize,
        compact: bool,
    ) -> Node {
        let idx = self.pos;
        let (s, tag) = self.properties(start, end);
        let first = if s < end { self.byte(s) } else { None };
        match first {
            None | Some(b'#') => {
                self.pos = idx + 1;
                match self.child(parent, depth, compact) {
                    Node::Null if tag.is_some() => Node::Scalar(Scalar {
                        value: String::new(),
                        offset: s,
                        len: 0,
                        tag,
                        verbatim: true,
                        block: false,
                    }),
                    n => n,
                }
            }
            Some(b'|' | b'>') => self.block_scalar(s, end, parent, tag),
            Some(q @ (b'"' | b'\'')) => {
                let limit = floor_boundary(self.text, s + MAX_INLINE);
                match quoted(self.text, s, limit, q == b'"') {
                    Some(qs) => {
                        self.skip_to(qs.after);
                        Node::Scalar(Scalar {
                            value: qs.value,
                            offset: s + 1,
                            len: qs.after.saturating_sub(s + 2),
                            tag,
                            verbatim: qs.verbatim,
                            block: false,
                        })
                    }
                    None => self.plain(s, end, tag),
                }
            }
            Some(b'[' | b'{') => {
                let mut f = Flow {
                    text: self.text,
                    i: s,
                    limit: floor_boundary(self.text, s + MAX_INLINE),
                    yaml: true,
                };
                match f.value(depth) {
                    Some(n) => {
                        self.skip_to(f.i);
                        n
                    }
                    None => self.plain(s, end, tag),
                }
            }
            Some(b'*') => {
                self.pos = idx + 1;
                Node::Null
            }
            Some(_) => self.plain(s, end, tag),
        }
    }

    /// Moves past every line that starts before `offset` (at least the current one).
    fn skip_to(&mut self, offset: usize) {
        self.pos += 1;
        while self.lines.get(self.pos).is_some_and(|l| l.start < offset) {
            self.pos += 1;
        }
    }

    fn plain(&mut self, s: usize, end: usize, tag: Option<String>) -> Node {
        self.pos += 1;
        let raw = self.s(s, end);
        let cut = comment_start(raw).unwrap_or(raw.len());
        let v = slice(raw, 0, cut).trim_end();
        Node::Scalar(Scalar {
            value: v.to_string(),
            offset: s,
            len: v.len(),
            tag,
            verbatim: true,
            block: false,
        })
    }

    fn block_scalar(&mut self, s: usize, end: usize, parent: usize, tag: Option<String>) -> Node {
        let header = self.s(s, end);
        let folded = header.starts_with('>');
        self.pos += 1;
        let mut block_indent: Option<usize> = None;
        let mut first: Option<usize> = None;
        let mut last_end = s;
        let mut parts: Vec<&str> = Vec::new();
        let mut blanks = 0usize;
        while let Some(l) = self.lines.get(self.pos).copied() {
            if l.body >= l.end {
                if first.is_some() {
                    blanks += 1;
                }
                self.pos += 1;
                continue;
            }
            if l.indent <= parent {
                break;
            }
            let bi = *block_indent.get_or_insert(l.indent);
            if l.indent < bi {
                break;
            }
            let cs = l.start + bi;
            first.get_or_insert(cs);
            parts.extend(std::iter::repeat_n("", blanks));
            blanks = 0;
            parts.push(self.s(cs, l.end));
            last_end = l.end;
            self.pos += 1;
        }
        let value = if folded {
            parts.join(" ")
        } else {
            parts.join("\n")
        };
        let offset = first.unwrap_or(s);
        Node::Scalar(Scalar {
            verbatim: !folded && parts.len() <= 1,
            block: !folded,
            value,
            offset,
            len: last_end.saturating_sub(offset),
            tag,
        })
    }

    /// A mapping key on `body..end`: (key, key offset, offset after the colon).
    fn key_at(&self, body: usize, end: usize) -> Option<(String, usize, usize)> {
        let s = self.s(body, end);
        let b = s.as_bytes();
        match b.first()? {
            q @ (b'"' | b'\'') => {
                let qs = quoted(self.text, body, end, *q == b'"')?;
                let mut i = qs.after;
                while i < end && matches!(self.byte(i), Some(b' ' | b'\t')) {
                    i += 1;
                }
                let colon = self.byte(i) == Some(b':')
                    && (i + 1 >= end || matches!(self.byte(i + 1), Some(b' ' | b'\t')));
                colon.then(|| (qs.value, body + 1, i + 1))
            }
            b'[' | b'{' | b'#' | b'&' | b'*' | b'!' | b'|' | b'>' | b'%' | b'@' | b'`' | b'?' => {
                None
            }
            _ if is_dash(s) => None,
            _ => {
                for (i, &c) in b.iter().enumerate() {
                    match c {
                        b':' if b.get(i + 1).is_none_or(|n| *n == b' ' || *n == b'\t') => {
                            let key = slice(s, 0, i).trim_end();
                            return (!key.is_empty())
                                .then(|| (key.to_string(), body, body + i + 1));
                        }
                        b'#' if i > 0 && matches!(b.get(i - 1), Some(b' ' | b'\t')) => return None,
                        _ => {}
                    }
                }
                None
            }
        }
    }
}

/// `i` clamped to the text and moved back to a character boundary.
fn floor_boundary(text: &str, i: usize) -> usize {
    let mut i = i.min(text.len());
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Where a ` #` comment starts in a plain scalar.
fn comment_start(raw: &str) -> Option<usize> {
    let b = raw.as_bytes();
    (0..b.len()).find(|&i| {
        b.get(i) == Some(&b'#') && (i == 0 || matches!(b.get(i - 1), Some(b' ' | b'\t')))
    })
}

struct Quoted {
    value: String,
    /// Offset just after the closing quote.
    after: usize,
    verbatim: bool,
}

/// A quoted string opening at `open` (which holds the quote), not reaching past `limit`.
fn quoted(text: &str, open: usize, limit: usize, double: bool) -> Option<Quoted> {
    let body = text.get(open + 1..limit.max(open + 1))?;
    let mut out = String::new();
    let mut verbatim = true;
    let mut chars = body.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' if double => {
                return Some(Quoted {
                    value: out,
                    after: open + 1 + i + 1,
                    verbatim,
                });
            }
            '\'' if !double => {
                if chars.peek().map(|&(_, n)| n) == Some('\'') {
                    chars.next();
                    out.push('\'');
                    verbatim = false;
                    continue;
                }
                return Some(Quoted {
                    value: out,
                    after: open + 1 + i + 1,
                    verbatim,
                });
            }
            '\\' if double => {
                verbatim = false;
                let Some((_, e)) = chars.next() else { break };
                match e {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    '0' => out.push('\0'),
                    'b' => out.push('\u{8}'),
                    'f' => out.push('\u{c}'),
                    'e' => out.push('\u{1b}'),
                    '\n' | '\r' => {
                        while chars
                            .peek()
                            .is_some_and(|&(_, n)| n == ' ' || n == '\t' || n == '\n')
                        {
                            chars.next();
                        }
                    }
                    'x' | 'u' | 'U' => {
                        let n = match e {
                            'x' => 2,
                            'u' => 4,
                            _ => 8,
                        };
                        let mut v: u32 = 0;
                        let mut ok = true;
                        for _ in 0..n {
                            match chars.peek().and_then(|&(_, h)| h.to_digit(16)) {
                                Some(d) => {
                                    v = v.wrapping_mul(16).wrapping_add(d);
                                    chars.next();
                                }
                                None => {
                                    ok = false;
                                    break;
                                }
                            }
                        }
                        if ok && (0xD800..0xDC00).contains(&v) {
                            // A JSON surrogate pair: \uD83D\uDE00.
                            let rest: String = body
                                .get(chars.peek().map_or(body.len(), |&(j, _)| j)..)
                                .unwrap_or("")
                                .chars()
                                .take(6)
                                .collect();
                            if let Some(lo) = rest
                                .strip_prefix("\\u")
                                .and_then(|h| u32::from_str_radix(h, 16).ok())
                                && (0xDC00..0xE000).contains(&lo)
                            {
                                for _ in 0..6 {
                                    chars.next();
                                }
                                v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00);
                            }
                        }
                        out.push(if ok {
                            char::from_u32(v).unwrap_or('\u{fffd}')
                        } else {
                            '\u{fffd}'
                        });
                    }
                    other => out.push(other),
                }
            }
            '\n' | '\r' => {
                verbatim = false;
                if c == '\r' && chars.peek().map(|&(_, n)| n) == Some('\n') {
                    chars.next();
                }
                while out.ends_with([' ', '\t']) {
                    out.pop();
                }
                let mut blank = false;
                while let Some(&(_, n)) = chars.peek() {
                    if n == '\n' {
                        blank = true;
                    } else if !(n == ' ' || n == '\t' || n == '\r') {
                        break;
                    }
                    chars.next();
                }
                out.push(if blank { '\n' } else { ' ' });
            }
            c => out.push(c),
        }
    }
    None
}

/// Flow collections (`{a: 1, b: [x, "y"]}`) and JSON.
struct Flow<'a> {
    text: &'a str,
    i: usize,
    limit: usize,
    /// YAML flow rules (plain scalars, `'` strings, `#` comments) rather than JSON ones.
    yaml: bool,
}

impl Flow<'_> {
    fn byte(&self, i: usize) -> Option<u8> {
        if i >= self.limit {
            return None;
        }
        self.text.as_bytes().get(i).copied()
    }

    fn ws(&mut self) {
        loop {
            match self.byte(self.i) {
                Some(b' ' | b'\t' | b'\r' | b'\n') => self.i += 1,
                Some(0xEF)
                    if self
                        .text
                        .get(self.i..)
                        .is_some_and(|s| s.starts_with('\u{feff}')) =>
                {
                    self.i += 3
                }
                Some(b'#') if self.yaml => self.skip_line(),
                Some(b'/') if !self.yaml && self.byte(self.i + 1) == Some(b'/') => self.skip_line(),
                Some(b'/') if !self.yaml && self.byte(self.i + 1) == Some(b'*') => {
                    let rest = slice(self.text, self.i + 2, self.limit);
                    self.i = rest.find("*/").map_or(self.limit, |p| self.i + 2 + p + 2);
                }
                _ => return,
            }
        }
    }

    fn skip_line(&mut self) {
        let rest = slice(self.text, self.i, self.limit);
        self.i = rest.find('\n').map_or(self.limit, |p| self.i + p);
    }

    fn value(&mut self, depth: usize) -> Option<Node> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.ws();
        match self.byte(self.i)? {
            b'{' => self.map(depth),
            b'[' => self.seq(depth),
            b'"' => self.string(true).map(Node::Scalar),
            b'\'' if self.yaml => self.string(false).map(Node::Scalar),
            _ => self.plain(false).map(Node::Scalar),
        }
    }

    fn string(&mut self, double: bool) -> Option<Scalar> {
        let open = self.i;
        let q = quoted(self.text, open, self.limit, double)?;
        self.i = q.after;
        Some(Scalar {
            value: q.value,
            offset: open + 1,
            len: q.after.saturating_sub(open + 2),
            tag: None,
            verbatim: q.verbatim,
            block: false,
        })
    }

    fn plain(&mut self, key: bool) -> Option<Scalar> {
        let start = self.i;
        let rest = slice(self.text, start, self.limit);
        let b = rest.as_bytes();
        let mut n = 0;
        while let Some(&c) = b.get(n) {
            let stop = match c {
                b',' | b']' | b'}' | b'\n' | b'\r' => true,
                b':' => {
                    key || !self.yaml
                        || b.get(n + 1)
                            .is_none_or(|x| matches!(x, b' ' | b'\t' | b'\n' | b'\r'))
                }
                b' ' | b'\t' => !self.yaml || b.get(n + 1) == Some(&b'#'),
                b'{' | b'[' | b'"' => !self.yaml,
                _ => false,
            };
            if stop {
                break;
            }
            n += 1;
        }
        if n == 0 {
            return None;
        }
        let v = slice(rest, 0, n).trim_end();
        if v.is_empty() {
            return None;
        }
        self.i = start + n;
        Some(Scalar {
            value: v.to_string(),
            offset: start,
            len: v.len(),
            tag: None,
            verbatim: true,
            block: false,
        })
    }

    fn map(&mut self, depth: usize) -> Option<Node> {
        self.i += 1;
        let mut entries = Vec::new();
        loop {
            self.ws();
            match self.byte(self.i)? {
                b'}' => {
                    self.i += 1;
                    return Some(Node::Map(entries));
                }
                b',' => {
                    self.i += 1;
                    continue;
                }
                _ => {}
            }
            let key = match self.byte(self.i)? {
                b'"' => self.string(true)?,
                b'\'' if self.yaml => self.string(false)?,
                _ => self.plain(true)?,
            };
            self.ws();
            let value = if self.byte(self.i) == Some(b':') {
                self.i += 1;
                self.ws();
                match self.byte(self.i)? {
                    b',' | b'}' => Node::Null,
                    _ => self.value(depth + 1)?,
                }
            } else {
                Node::Null
            };
            entries.push(Entry {
                key: key.value,
                key_offset: key.offset,
                value,
            });
            self.ws();
            match self.byte(self.i)? {
                b',' => self.i += 1,
                b'}' => {}
                _ => return None,
            }
        }
    }

    fn seq(&mut self, depth: usize) -> Option<Node> {
        self.i += 1;
        let mut items = Vec::new();
        loop {
            self.ws();
            match self.byte(self.i)? {
                b']' => {
                    self.i += 1;
                    return Some(Node::Seq(items));
                }
                b',' => {
                    self.i += 1;
                    continue;
                }
                _ => {}
            }
            items.push(self.value(depth + 1)?);
            self.ws();
            match self.byte(self.i)? {
                b',' => self.i += 1,
                b']' => {}
                _ => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sc<'n>(n: &'n Node, path: &[&str]) -> &'n Scalar {
        let mut cur = n;
        for p in path {
            cur = match p.parse::<usize>() {
                Ok(i) => cur.items().get(i).expect("item"),
                Err(_) => cur.get(p).expect(p),
            };
        }
        cur.scalar().expect("scalar")
    }

    #[test]
    fn block_yaml_with_offsets() {
        let text = "# c\nname: Deploy\non:\n  push:\njobs:\n  build:\n    env:\n      TOKEN: \"ab\\\"c\" # x\n      PLAIN: v1 # comment\n    steps:\n      - name: one\n        run: |\n          echo hi\n          echo there\n      - uses: x/y@v1\n        with: {a: 1, b: 'q''s'}\n      -\n        name: three\nlist:\n- a\n- b\n";
        let docs = parse_yaml(text);
        assert_eq!(docs.len(), 1);
        let d = &docs[0];
        assert_eq!(d.get_str("name"), Some("Deploy"));
        let tok = sc(d, &["jobs", "build", "env", "TOKEN"]);
        assert_eq!(tok.value, "ab\"c");
        assert_eq!(slice(text, tok.offset, tok.offset + tok.len), "ab\\\"c");
        let plain = sc(d, &["jobs", "build", "env", "PLAIN"]);
        assert_eq!(slice(text, plain.offset, plain.offset + plain.len), "v1");
        let run = sc(d, &["jobs", "build", "steps", "0", "run"]);
        assert_eq!(run.value, "echo hi\necho there");
        assert_eq!(
            sc(d, &["jobs", "build", "steps", "1", "with", "b"]).value,
            "q's"
        );
        assert_eq!(
            sc(d, &["jobs", "build", "steps", "2", "name"]).value,
            "three"
        );
        assert_eq!(sc(d, &["list", "1"]).value, "b");
    }

    #[test]
    fn compact_sequences_and_documents() {
        let text = "a:\n- x: 1\n  y: 2\n- x: 3\nb: c\n---\nkind: Secret\n...\n";
        let docs = parse_yaml(text);
        assert_eq!(docs.len(), 2);
        assert_eq!(sc(&docs[0], &["a", "1", "x"]).value, "3");
        assert_eq!(sc(&docs[0], &["a", "0", "y"]).value, "2");
        assert_eq!(docs[0].get_str("b"), Some("c"));
        assert_eq!(docs[1].get_str("kind"), Some("Secret"));
    }

    #[test]
    fn tags_and_block_indicators() {
        let text =
            "pw: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6162\nother: >-\n  folded\n  text\n";
        let d = &parse_yaml(text)[0];
        let pw = sc(d, &["pw"]);
        assert_eq!(pw.tag.as_deref(), Some("!vault"));
        assert!(pw.value.starts_with("$ANSIBLE_VAULT"));
        assert_eq!(sc(d, &["other"]).value, "folded text");
    }

    #[test]
    fn json_with_comments() {
        let text = "{\n // c\n \"a\": {\"b\": [1, \"t\\u00e9\\ud83d\\ude00\"],},\n \"c\": true }";
        let d = parse_json(text).expect("json");
        let s = sc(&d, &["a", "b", "1"]);
        assert_eq!(s.value, "té😀");
        assert_eq!(sc(&d, &["c"]).value, "true");
    }

    #[test]
    fn hostile_nesting_does_not_overflow() {
        let deep = "- ".repeat(5000) + "x\n";
        let _ = parse_yaml(&deep);
        let deep = "[".repeat(5000);
        let _ = parse_yaml(&format!("a: {deep}\n"));
        assert!(parse_json(&deep).is_none());
        let nested: String = (0..3000)
            .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
            .collect();
        let _ = parse_yaml(&nested);
    }
}
