//! GitHub CLI `gh/hosts.yml` (`host: {oauth_token, user}` and the multi-account
//! `users: {name: {oauth_token}}` layout) and hub's `~/.config/hub` (`host: [{user,
//! oauth_token}]`).

use super::tree::{self, Node};
use super::util::{self, MatchExt};
use super::{Extracted, File};

const RULE: &str = "extract.gh-cli";

pub(crate) fn applies(f: &File) -> bool {
    f.path_ends("gh/hosts.yml") || f.path_ends("gh/hosts.yaml") || f.path_ends(".config/hub")
}

pub(crate) fn run(f: &File, out: &mut Extracted) {
    for doc in tree::parse_yaml(f.text) {
        for host in doc.entries() {
            let provider = match util::provider_for_host(&host.key) {
                "generic" => "github",
                p => p,
            };
            let mut found: Vec<(Option<String>, &Node)> = Vec::new();
            match &host.value {
                Node::Seq(items) => found.extend(
                    items
                        .iter()
                        .map(|i| (i.get_str("user").map(str::to_string), i)),
                ),
                n => {
                    found.push((n.get_str("user").map(str::to_string), n));
                    for u in n.get("users").map(Node::entries).unwrap_or_default() {
                        found.push((Some(u.key.clone()), &u.value));
                    }
                }
            }
            for (user, n) in found {
                let Some(s) = n.get("oauth_token").and_then(Node::scalar) else {
                    continue;
                };
                if util::is_placeholder(&s.value, false) {
                    continue;
                }
                let user = user.unwrap_or_default();
                out.push(
                    util::secret_match(RULE, "token", provider, s.value.clone(), s.offset, s.len)
                        .id(if user.is_empty() {
                            host.key.clone()
                        } else {
                            format!("{user}@{}", host.key)
                        })
                        .ctx("host", host.key.clone())
                        .ctx("user", user),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;

    #[test]
    fn hosts_yml_both_layouts() {
        let text = "github.com:\n    users:\n        octocat:\n            oauth_token: gho_Xk29Lq8Wm3Vz7Rt5Nb1Pc6Hd4Jf0Gs2Ae9Ue\n    git_protocol: https\n    user: octocat\n    oauth_token: gho_Xk29Lq8Wm3Vz7Rt5Nb1Pc6Hd4Jf0Gs2Ae9Ue\nghe.corp.example:\n    user: svc-ci\n    oauth_token: gho_Qw12Er34Ty56Ui78Op90As12Df34Gh56Jk78\nold.example:\n    user: x\n    oauth_token: <token>\n";
        let ex = run("home/.config/gh/hosts.yml", text);
        let m = expect_secret(
            &ex,
            text,
            "gho_Qw12Er34Ty56Ui78Op90As12Df34Gh56Jk78",
            10,
            None,
        );
        assert_eq!(m.identifier.as_deref(), Some("svc-ci@ghe.corp.example"));
        assert_eq!(m.provider, "github");
        assert_eq!(ex.matches.len(), 3);
        assert!(
            ex.matches
                .iter()
                .any(|m| m.identifier.as_deref() == Some("octocat@github.com"))
        );
    }

    #[test]
    fn hub_config() {
        let text = "github.com:\n- user: dev\n  oauth_token: 9f3c2a7b5e1d4c8a6b0e2f9d7a3c5b1e8d4f6a02\n  protocol: https\n";
        let ex = run("home/.config/hub", text);
        expect_secret(
            &ex,
            text,
            "9f3c2a7b5e1d4c8a6b0e2f9d7a3c5b1e8d4f6a02",
            3,
            None,
        );
    }
}
