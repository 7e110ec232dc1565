use castellan_model::Redacted;

/// An export that cannot be imported. Every variant names the file, and where it can the line and
/// field, so the user can fix the input. Values are shown only through [`show_value`].
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// A field holds a value of the wrong shape.
    #[error("{path}:{line}: field `{field}`: {message}")]
    Field {
        /// The file.
        path: String,
        /// 1-based line.
        line: u64,
        /// The column or key.
        field: String,
        /// What is wrong and what was expected.
        message: String,
    },
    /// A line is wrong as a whole (column count, encoding).
    #[error("{path}:{line}: {message}")]
    Line {
        /// The file.
        path: String,
        /// 1-based line.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// The file as a whole is not what it should be.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The file cannot be read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl SourceError {
    /// The file the error is about.
    pub fn path(&self) -> &str {
        match self {
            SourceError::Field { path, .. }
            | SourceError::Line { path, .. }
            | SourceError::File { path, .. }
            | SourceError::Io { path, .. } => path,
        }
    }
}

/// Renders an offending input value for an error message without leaking it: short values that
/// look like dates, flags or names are quoted as they are; anything longer, or anything that could
/// be a credential, is shown as a [`Redacted`] preview.
pub fn show_value(v: &str) -> String {
    let plain = v.len() <= 32
        && v.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(
                    c,
                    '-' | ':' | '+' | '.' | 'T' | 'Z' | '_' | ' ' | '/' | '<' | '>'
                )
        });
    let looks_like_token = v.chars().filter(|c| c.is_ascii_digit()).count() >= 4
        && v.chars().filter(|c| c.is_ascii_alphabetic()).count() >= 8;
    if plain && !looks_like_token {
        format!("`{v}`")
    } else {
        format!("a value ({})", Redacted::of(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_shown_secrets_are_not() {
        assert_eq!(show_value("2025-13-01"), "`2025-13-01`");
        assert_eq!(show_value("yes"), "`yes`");
        let s = show_value("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
        assert!(!s.contains("XUtnFEMI/K7MDENG"), "{s}");
        let s = show_value("ghp_abcdefghijklmnop1234");
        assert!(!s.contains("efghijklmnop"), "{s}");
    }
}
