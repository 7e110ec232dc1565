//! `.git-credentials` (the `store` helper's file, also `$XDG_CONFIG_HOME/git/credentials`):
//! one `https://user:password@host` URL per line, percent-encoded.

use super::util::{self, MatchExt};
use super::{Extracted, File};

const RULE: &str = "extract.git-credentials";

pub(crate) fn applies(f: &File) -> bool {
    f.name == ".git-credentials" || f.name == "git-credentials" || f.path_ends("git/credentials")
}

pub(crate) fn run(f: &File, out: &mut Extracted) {
    let mut pos = 0usize;
    for raw in f.text.split_inclusive('\n') {
        let start = pos;
        pos += raw.len();
        let line = raw.trim_end_matches(['\n', '\r']);
        let lead = line.len() - line.trim_start().len();
        let Some(u) = util::url_credentials(line.trim()) else {
            continue;
        };
        if util::is_placeholder(&u.password, true) {
            continue;
        }
        let kind = util::password_or_token(&u.user, &u.password);
        out.push(
            util::secret_match(
                RULE,
                kind,
                util::provider_for_host(&u.host),
                u.password.clone(),
                start + lead + u.pw_start,
                u.pw_len,
            )
            .id(format!("{}@{}", u.user, u.host))
            .ctx("host", u.host.clone())
            .ctx("user", u.user.clone())
            .ctx("url", u.redacted.clone()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;

    #[test]
    fn urls_with_passwords() {
        let text = "https://octo:ghp_R2d9Lq7Wm4Xz8Kc1Vb6Nf3Hj5Tp0Ys2Ga9Ue@github.com\nhttps://ci%40corp:Pa%3Ass-w0rd9@gitlab.corp.example\nhttps://nobody@host\nhttps://u:${TOKEN}@host\n";
        let ex = run("home/.git-credentials", text);
        let m = expect_secret(
            &ex,
            text,
            "ghp_R2d9Lq7Wm4Xz8Kc1Vb6Nf3Hj5Tp0Ys2Ga9Ue",
            1,
            None,
        );
        assert_eq!((m.kind.as_str(), m.provider.as_str()), ("token", "github"));
        assert_eq!(m.identifier.as_deref(), Some("octo@github.com"));
        let g = expect_secret(&ex, text, "Pa:ss-w0rd9", 2, Some("Pa%3Ass-w0rd9"));
        assert_eq!(g.identifier.as_deref(), Some("ci@corp@gitlab.corp.example"));
        assert_eq!(ex.matches.len(), 2);
    }
}
