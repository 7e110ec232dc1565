//! JSON input plumbing shared by the JSON importers (GCP, Azure, GitHub, Vault, Kubernetes, AWS
//! IAM lists): the file as text, its stream of documents, line numbers, and serde errors turned
//! into [`SourceError`]s that name the line and the field and never echo an input string.

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::{SourceError, show_value};

/// The 1-based line of byte offset `at` in `bytes`, counted from the start.
///
/// Walking items in order, use [`Lines`] instead: counting from the start for each item would be
/// quadratic.
pub(crate) fn line_at(bytes: &[u8], at: usize) -> u64 {
    1 + bytes[..at.min(bytes.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count() as u64
}

/// The byte offset of `inner` (a slice of `outer`) in `outer`.
pub(crate) fn offset_in(outer: &str, inner: &str) -> usize {
    (inner.as_ptr() as usize).saturating_sub(outer.as_ptr() as usize)
}

/// Line numbers of increasing offsets, counted incrementally (a List of 200,000 objects must not
/// recount the file from the start for each one). An offset before the last one asked is
/// counted from the start.
pub(crate) struct Lines<'b> {
    bytes: &'b [u8],
    at: usize,
    line: u64,
}

impl<'b> Lines<'b> {
    /// A counter over `bytes` (the file's text), starting at its first line.
    pub(crate) fn new(bytes: &'b [u8]) -> Self {
        Lines {
            bytes,
            at: 0,
            line: 1,
        }
    }

    /// The 1-based line of byte offset `offset`.
    pub(crate) fn at(&mut self, offset: usize) -> u64 {
        let offset = offset.min(self.bytes.len());
        if offset < self.at {
            return line_at(self.bytes, offset);
        }
        self.line += self.bytes[self.at..offset]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64;
        self.at = offset;
        self.line
    }

    /// The line `inner` (a slice of the text, e.g. a [`RawValue`] of it) starts on.
    pub(crate) fn of(&mut self, inner: &str) -> u64 {
        let offset = (inner.as_ptr() as usize).saturating_sub(self.bytes.as_ptr() as usize);
        self.at(offset)
    }
}

/// A serde message with any quoted input string replaced by [`show_value`]: a token pasted into
/// a field of the wrong type must not be echoed.
pub(crate) fn scrub(message: &str) -> String {
    let Some(i) = message.find("string \"") else {
        return message.to_string();
    };
    let start = i + "string \"".len();
    let end = message[start..]
        .rfind("\", expected")
        .map(|j| start + j)
        .or_else(|| message.rfind('"').filter(|&j| j >= start));
    match end {
        Some(end) => format!(
            "{}string {}{}",
            &message[..i],
            show_value(&message[start..end]),
            &message[end + 1..]
        ),
        None => format!("{}string (value hidden)", &message[..i]),
    }
}

/// A serde error in JSON text that starts on `base_line`: [`SourceError::Line`] when `field` is
/// empty or `.`, else [`SourceError::Field`]; the line is absolute, the message scrubbed, and
/// an early end of input says so.
pub(crate) fn json_error(
    path: &str,
    base_line: u64,
    e: &serde_json::Error,
    field: &str,
) -> SourceError {
    let line = base_line + e.line().saturating_sub(1) as u64;
    let mut message = e.to_string();
    if let Some(i) = message.find(" at line ") {
        message.truncate(i);
    }
    let mut message = scrub(&message);
    if e.is_eof() {
        message = format!("{message}: the file ends early (truncated?)");
    }
    if field.is_empty() || field == "." {
        SourceError::Line {
            path: path.into(),
            line,
            message,
        }
    } else {
        SourceError::Field {
            path: path.into(),
            line,
            field: field.into(),
            message,
        }
    }
}

/// `inner` (a serde_path_to_error path) after `prefix` (e.g. `[3]` or `iamPolicy`).
fn field_name(prefix: &str, inner: String) -> String {
    match (prefix.is_empty(), inner.as_str()) {
        (true, _) => inner,
        (false, "." | "") => prefix.to_string(),
        (false, p) if p.starts_with('[') => format!("{prefix}{p}"),
        (false, p) => format!("{prefix}.{p}"),
    }
}

/// Decodes `T` from the whole of `text` (nothing may follow the value), calling `line` for the
/// line `text` starts on only on error.
fn decode_with<'a, T: Deserialize<'a>>(
    path: &str,
    text: &'a str,
    line: impl FnOnce() -> u64,
    prefix: &str,
) -> Result<T, SourceError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let mut track = serde_path_to_error::Track::new();
    T::deserialize(serde_path_to_error::Deserializer::new(&mut de, &mut track))
        .and_then(|v| de.end().map(|()| v))
        .map_err(|e| {
            let field = field_name(prefix, track.path().to_string());
            json_error(path, line(), &e, &field)
        })
}

/// Decodes `T` from one raw JSON value of `text`, naming the field (after `prefix`) on error.
/// The line is counted only on error: counting for every item would be quadratic.
pub(crate) fn decode<'a, T: Deserialize<'a>>(
    path: &str,
    text: &'a str,
    raw: &'a RawValue,
    prefix: &str,
) -> Result<T, SourceError> {
    let line = || line_at(text.as_bytes(), offset_in(text, raw.get()));
    decode_with(path, raw.get(), line, prefix)
}

/// Decodes `T` from JSON text that starts on `line`, naming the field (after `prefix`, e.g.
/// `[3]` for an element of a raw array) on error.
pub(crate) fn decode_at<'a, T: Deserialize<'a>>(
    path: &str,
    text: &'a str,
    line: u64,
    prefix: &str,
) -> Result<T, SourceError> {
    decode_with(path, text, || line, prefix)
}

/// The file as text: without BOM, UTF-8 (else the error names the first bad line and adds
/// `not_text`, e.g. "gcloud output is JSON (use --format=json)"), not blank (else "is empty;
/// expected " and `what_is_expected`).
pub(crate) fn text_of<'a>(
    path: &str,
    bytes: &'a [u8],
    not_text: &str,
    what_is_expected: &str,
) -> Result<&'a str, SourceError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| SourceError::Line {
        path: path.into(),
        line: line_at(bytes, e.valid_up_to()),
        message: format!("is not UTF-8 text; {not_text}"),
    })?;
    if text.trim().is_empty() {
        return Err(SourceError::File {
            path: path.into(),
            message: format!("is empty; expected {what_is_expected}"),
        });
    }
    Ok(text)
}

/// The top-level JSON documents of `text` (one value, or several concatenated), in order. A
/// document that does not parse ends the stream with an error naming its line.
pub(crate) fn documents<'p, 'a: 'p>(
    path: &'p str,
    text: &'a str,
) -> impl Iterator<Item = Result<&'a RawValue, SourceError>> + 'p {
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<&RawValue>();
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed {
            return None;
        }
        let start = stream.byte_offset();
        match stream.next()? {
            Ok(raw) => Some(Ok(raw)),
            Err(e) => {
                failed = true;
                let line = line_at(text.as_bytes(), start);
                Some(Err(json_error(path, line, &e, "")))
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Item {
        #[allow(dead_code)]
        n: u64,
    }

    fn all(text: &str) -> Result<Vec<&RawValue>, SourceError> {
        documents("f.json", text).collect()
    }

    #[test]
    fn lines_of_the_nth_document() {
        let text = "{\"n\": 1}\n\n[\n  {\"n\": 2},\n  {\"n\": 3}\n]\n{\"n\":\n 4}\n";
        let docs = all(text).expect("documents");
        assert_eq!(docs.len(), 3);
        let mut lines = Lines::new(text.as_bytes());
        let starts: Vec<u64> = docs.iter().map(|d| lines.of(d.get())).collect();
        assert_eq!(starts, [1, 3, 7]);
        // Items of the array, counted on from there; an earlier offset is recounted.
        let items: Vec<&RawValue> = decode_at("f.json", docs[1].get(), 3, "").expect("items");
        let mut lines = Lines::new(text.as_bytes());
        assert_eq!(lines.of(docs[1].get()), 3);
        assert_eq!(lines.of(items[0].get()), 4);
        assert_eq!(lines.of(items[1].get()), 5);
        assert_eq!(lines.of(docs[0].get()), 1);
        assert_eq!(
            docs.iter()
                .map(|d| line_at(text.as_bytes(), offset_in(text, d.get())))
                .collect::<Vec<_>>(),
            [1, 3, 7]
        );
    }

    #[test]
    fn decode_names_the_field_and_absolute_line() {
        let text = "{\"n\": 1}\n[\n  {\"n\": 2},\n  {\"n\":\n \"x\"}\n]\n";
        let docs = all(text).expect("documents");
        let items: Vec<&RawValue> = decode("f.json", text, docs[1], "").expect("items");
        let e = decode::<Item>("f.json", text, items[1], "[1]").expect_err("bad item");
        match e {
            SourceError::Field { line, field, .. } => {
                assert_eq!(line, 5);
                assert_eq!(field, "[1].n");
            }
            other => panic!("{other:?}"),
        }
        let e = decode_at::<Vec<Item>>("f.json", docs[1].get(), 2, "items").expect_err("bad");
        match e {
            SourceError::Field { line, field, .. } => {
                assert_eq!(line, 5);
                assert_eq!(field, "items[1].n");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn truncated_input_says_so_on_its_line() {
        let text = "{\"n\": 1}\n{\"n\":\n";
        let e = all(text).expect_err("truncated");
        let SourceError::Line { line, message, .. } = &e else {
            panic!("{e:?}");
        };
        assert_eq!(*line, 3);
        assert!(
            message.ends_with("the file ends early (truncated?)"),
            "{message}"
        );
        assert!(!message.contains(" at line "), "{message}");
        // The stream stops after the error.
        assert_eq!(documents("f.json", text).count(), 2);
    }

    #[test]
    fn a_quoted_secret_is_never_in_the_message() {
        let secret = "ghp_SuperSecretTokenValue1234567890abcd";
        let text = format!("{{\"n\": \"{secret}\"}}");
        let docs = all(&text).expect("documents");
        let e = decode::<Item>("f.json", &text, docs[0], "").expect_err("wrong type");
        let shown = e.to_string();
        assert!(!shown.contains(secret), "{shown}");
        assert!(shown.contains("invalid type"), "{shown}");
        assert!(!scrub(&format!("invalid value: string \"{secret}")).contains(secret));
    }

    #[test]
    fn bom_is_stripped_and_bad_utf8_names_its_line() {
        let text = text_of("f.json", b"\xEF\xBB\xBF{}", "x is JSON", "x output").expect("text");
        assert_eq!(text, "{}");
        let e = text_of("f.json", b"{\n\"a\": \"\xFF\"}", "x is JSON", "x output")
            .expect_err("not UTF-8");
        match e {
            SourceError::Line { line, message, .. } => {
                assert_eq!(line, 2);
                assert_eq!(message, "is not UTF-8 text; x is JSON");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn empty_file_says_what_was_expected() {
        for bytes in [&b""[..], b"\xEF\xBB\xBF", b"  \n\t\r\n"] {
            let e = text_of("f.json", bytes, "x is JSON", "`x list` output").expect_err("empty");
            match e {
                SourceError::File { message, .. } => {
                    assert_eq!(message, "is empty; expected `x list` output");
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(all("").expect("no documents").is_empty());
    }
}
