//! `.pypirc` (`[pypi]`, `[testpypi]`, custom index sections with `username`, `password`,
//! `repository`) and pip's `pip.conf`/`pip.ini` index URLs with credentials.

use super::util::{self, MatchExt};
use super::{Extracted, File};

const RULE: &str = "extract.pypirc";

pub(crate) fn applies(f: &File) -> bool {
    matches!(
        f.name.as_str(),
        ".pypirc" | "pypirc" | "pip.conf" | "pip.ini"
    )
}

fn default_repo(section: &str) -> &str {
    match section {
        "pypi" | "server-login" => "upload.pypi.org",
        "testpypi" => "test.pypi.org",
        s => s,
    }
}

pub(crate) fn run(f: &File, out: &mut Extracted) {
    let entries = util::ini(f.text);
    for e in &entries {
        if let Some(u) = util::url_credentials(e.value) {
            if !util::is_placeholder(&u.password, true) {
                out.push(
                    util::secret_match(
                        RULE,
                        util::password_or_token(&u.user, &u.password),
                        "pypi",
                        u.password.clone(),
                        e.value_offset + u.pw_start,
                        u.pw_len,
                    )
                    .id(format!("{}@{}", u.user, u.host))
                    .ctx("url", u.redacted.clone())
                    .ctx("section", e.section),
                );
            }
            continue;
        }
        if !e.key.eq_ignore_ascii_case("password") {
            continue;
        }
        if let Some(var) = util::variable_name(e.value) {
            out.reference(f, "environment", &var, e.value_offset, None);
            continue;
        }
        if util::is_placeholder(e.value, true) {
            continue;
        }
        let sibling = |k: &str| {
            entries
                .iter()
                .find(|o| o.section == e.section && o.key.eq_ignore_ascii_case(k))
                .map(|o| o.value.to_string())
        };
        let user = sibling("username").unwrap_or_default();
        let repo = sibling("repository")
            .map(|r| {
                let r = r
                    .split_once("://")
                    .map_or(r.as_str(), |(_, h)| h)
                    .to_string();
                r.split('/').next().unwrap_or_default().to_string()
            })
            .unwrap_or_else(|| default_repo(e.section).to_string());
        let kind = util::password_or_token(&user, e.value);
        out.push(
            util::secret_match(RULE, kind, "pypi", e.value, e.value_offset, e.value.len())
                .id(if user.is_empty() {
                    repo.clone()
                } else {
                    format!("{user}@{repo}")
                })
                .ctx("user", user)
                .ctx("repository", repo)
                .ctx("section", e.section),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;

    #[test]
    fn index_sections() {
        let text = "[distutils]\nindex-servers =\n    pypi\n    internal\n\n[pypi]\nusername = __token__\npassword = pypi-AgEIcHlwaS5vcmcCJGE3ZjQ5Y2RkLTg2\n\n[internal]\nrepository: https://pypi.corp.example/simple/\nusername: builder\npassword: Wq3$zR8!nM\n\n[testpypi]\npassword = <your token>\n";
        let ex = run("home/.pypirc", text);
        let t = expect_secret(&ex, text, "pypi-AgEIcHlwaS5vcmcCJGE3ZjQ5Y2RkLTg2", 8, None);
        assert_eq!(t.kind, "token");
        assert_eq!(t.identifier.as_deref(), Some("__token__@upload.pypi.org"));
        let p = expect_secret(&ex, text, "Wq3$zR8!nM", 13, None);
        assert_eq!(p.identifier.as_deref(), Some("builder@pypi.corp.example"));
        assert_eq!(ex.matches.len(), 2);
    }

    #[test]
    fn pip_index_url() {
        let text = "[global]\nindex-url = https://ci:Tk9-vP2xQ@pkgs.corp.example/simple\n";
        let ex = run("etc/pip.conf", text);
        expect_secret(&ex, text, "Tk9-vP2xQ", 2, None);
    }
}
