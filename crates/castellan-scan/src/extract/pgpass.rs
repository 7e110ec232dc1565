//! `.pgpass` (`pgpass.conf` on Windows): `hostname:port:database:username:password`, with `\:`
//! and `\\` escapes, `#` comments.

use super::util::{self, MatchExt};
use super::{Extracted, File};

const RULE: &str = "extract.pgpass";

pub(crate) fn applies(f: &File) -> bool {
    matches!(f.name.as_str(), ".pgpass" | "pgpass.conf" | "pgpass")
}

/// Splits a line into its five fields: (unescaped value, raw start, raw end) each.
fn fields(line: &str) -> Vec<(String, usize, usize)> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut start = 0usize;
    let mut chars = line.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                if let Some((_, n)) = chars.next() {
                    cur.push(n);
                }
            }
            ':' if out.len() < 4 => {
                out.push((std::mem::take(&mut cur), start, i));
                start = i + 1;
            }
            ':' => {
                // libpq stops the password at an unescaped colon.
                out.push((std::mem::take(&mut cur), start, i));
                return out;
            }
            c => cur.push(c),
        }
    }
    out.push((cur, start, line.len()));
    out
}

pub(crate) fn run(f: &File, out: &mut Extracted) {
    let mut pos = 0usize;
    for raw in f.text.split_inclusive('\n') {
        let start = pos;
        pos += raw.len();
        let line = raw.trim_end_matches(['\n', '\r']);
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let lead = line.len() - trimmed.len();
        let fs = fields(trimmed);
        let (Some(host), Some(port), Some(db), Some(user), Some(pw)) =
            (fs.first(), fs.get(1), fs.get(2), fs.get(3), fs.get(4))
        else {
            continue;
        };
        if util::is_placeholder(&pw.0, true) {
            continue;
        }
        let off = start + lead + pw.1;
        out.push(
            util::secret_match(
                RULE,
                "password",
                "postgres",
                pw.0.clone(),
                off,
                pw.2.saturating_sub(pw.1),
            )
            .id(format!("{}@{}", user.0, host.0))
            .ctx("host", host.0.clone())
            .ctx("port", port.0.clone())
            .ctx("database", db.0.clone())
            .ctx("user", user.0.clone()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;

    #[test]
    fn entries_with_escapes() {
        let text = "# prod\ndb.prod.internal:5432:orders:app_rw:Tq9\\:x!Lm2\n*:*:*:postgres:dev-Pw77\nlocalhost:5432:*:me:\nbad line\nh:1:d:u:changeme\n";
        let ex = run("home/.pgpass", text);
        let m = expect_secret(&ex, text, "Tq9:x!Lm2", 2, Some("Tq9\\:x!Lm2"));
        assert_eq!(m.identifier.as_deref(), Some("app_rw@db.prod.internal"));
        assert_eq!(
            m.context.get("database").map(String::as_str),
            Some("orders")
        );
        assert_eq!(m.provider, "postgres");
        expect_secret(&ex, text, "dev-Pw77", 3, None);
        assert_eq!(ex.matches.len(), 2);
    }
}
