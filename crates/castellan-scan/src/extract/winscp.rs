//! WinSCP `WinSCP.ini`: `[Sessions\user@host]` sections with `HostName`, `UserName`,
//! `PortNumber` and `Password` (also `ProxyPassword`, `TunnelPassword`). WinSCP stores them with
//! a reversible obfuscation, not encryption (unless a master password is set): the stored value
//! is reported as the password, with a note.

use std::collections::BTreeMap;

use super::util::{self, MatchExt};
use super::{Extracted, File};

const RULE: &str = "extract.winscp";

pub(crate) fn applies(f: &File) -> bool {
    f.name == "winscp.ini"
}

pub(crate) fn run(f: &File, out: &mut Extracted) {
    let entries = util::ini_sep(f.text, &['=']);
    let master = entries
        .iter()
        .any(|e| e.key.eq_ignore_ascii_case("UseMasterPassword") && e.value == "1");
    let mut sections: BTreeMap<&str, BTreeMap<String, &str>> = BTreeMap::new();
    for e in &entries {
        sections
            .entry(e.section)
            .or_default()
            .insert(e.key.to_ascii_lowercase(), e.value);
    }
    for e in &entries {
        let field = e.key.to_ascii_lowercase();
        if !matches!(
            field.as_str(),
            "password" | "proxypassword" | "tunnelpassword"
        ) || e.value.is_empty()
        {
            continue;
        }
        let Some(s) = sections.get(e.section) else {
            continue;
        };
        let get = |k: &str| {
            s.get(k)
                .map(|v| util::percent_decode(v))
                .unwrap_or_default()
        };
        let (host, user) = match field.as_str() {
            "tunnelpassword" => (get("tunnelhostname"), get("tunnelusername")),
            "proxypassword" => (get("proxyhost"), get("proxyusername")),
            _ => (get("hostname"), get("username")),
        };
        let session =
            util::percent_decode(e.section.strip_prefix("Sessions\\").unwrap_or(e.section));
        let note = if master {
            "encrypted with the WinSCP master password"
        } else {
            "WinSCP reversible obfuscation, not encryption: recoverable by anyone who can read the file"
        };
        out.push(
            util::secret_match(
                RULE,
                "password",
                "winscp",
                e.value,
                e.value_offset,
                e.value.len(),
            )
            .id(format!("{user}@{host}"))
            .ctx("host", host)
            .ctx("user", user)
            .ctx("port", get("portnumber"))
            .ctx("session", session)
            .ctx("field", e.key)
            .ctx(
                "encoding",
                if master {
                    "winscp-master-password"
                } else {
                    "winscp-obfuscated"
                },
            )
            .ctx("note", note),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;

    #[test]
    fn sessions() {
        let text = "[Configuration\\Interface]\nRandomSeedFile=%APPDATA%\\winscp.rnd\n\n[Sessions\\deploy@web01.corp.example]\nHostName=web01.corp.example\nUserName=deploy\nPortNumber=2222\nPassword=A35C4E5C5D6E6D6F1A2B3C4D5E6F7E6D6C6B6A69686766\nTunnelHostName=bastion.corp.example\nTunnelUserName=jump\nTunnelPassword=A35C7E5D6C5B4A39382F\n\n[Sessions\\nopass@ftp.example]\nHostName=ftp.example\nUserName=nopass\nPassword=\n";
        let ex = run("C:\\Program Files\\WinSCP\\WinSCP.ini", text);
        let m = expect_secret(
            &ex,
            text,
            "A35C4E5C5D6E6D6F1A2B3C4D5E6F7E6D6C6B6A69686766",
            8,
            None,
        );
        assert_eq!(m.identifier.as_deref(), Some("deploy@web01.corp.example"));
        assert_eq!(
            m.context.get("encoding").map(String::as_str),
            Some("winscp-obfuscated")
        );
        assert_eq!(m.context.get("port").map(String::as_str), Some("2222"));
        let t = expect_secret(&ex, text, "A35C7E5D6C5B4A39382F", 11, None);
        assert_eq!(t.identifier.as_deref(), Some("jump@bastion.corp.example"));
        assert_eq!(ex.matches.len(), 2, "an empty Password= is not a sighting");
    }
}
