//! FileZilla `recentservers.xml` / `sitemanager.xml` (`filezilla.xml`): each `<Server>`'s
//! `<Pass>` (plain, or `encoding="base64"`), with `Host`, `Port`, `User`, `Protocol` and the
//! site `Name` as context. Passwords protected by a master password (`encoding="crypt"`) are
//! not readable and not reported.

use super::util::{self, MatchExt};
use super::{Extracted, File};

const RULE: &str = "extract.filezilla";

pub(crate) fn applies(f: &File) -> bool {
    matches!(
        f.name.as_str(),
        "recentservers.xml" | "sitemanager.xml" | "filezilla.xml"
    ) || (f.ext() == "xml" && f.in_dir("filezilla") && f.text.contains("<Server"))
}

fn protocol(p: &str) -> &'static str {
    match p {
        "1" => "sftp",
        "3" | "4" => "ftps",
        "6" => "s3",
        _ => "ftp",
    }
}

pub(crate) fn run(f: &File, out: &mut Extracted) {
    for server in util::xml_elements(f.text, 0, "Server") {
        let child = |t: &str| util::xml_child(server.inner, server.inner_offset, t);
        let text = |t: &str| {
            child(t)
                .map(|(v, _, _)| util::xml_unescape(v))
                .unwrap_or_default()
        };
        let Some((raw, off, attrs)) = child("Pass") else {
            continue;
        };
        let encoding = util::xml_attrs(attrs, 0)
            .into_iter()
            .find(|(n, _, _)| *n == "encoding")
            .map(|(_, v, _)| v.to_string())
            .unwrap_or_default();
        let secret = match encoding.as_str() {
            "base64" => match util::b64_text(raw) {
                Some(s) => s,
                None => continue,
            },
            "" | "plain" => util::xml_unescape(raw),
            _ => continue,
        };
        if util::is_placeholder(&secret, true) {
            continue;
        }
        let host = text("Host");
        let user = text("User");
        let proto = protocol(text("Protocol").trim());
        // The site name is the server element's own text in sitemanager.xml.
        let site = server
            .inner
            .rsplit('>')
            .next()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(util::xml_unescape)
            .or_else(|| child("Name").map(|(v, _, _)| util::xml_unescape(v)));
        out.push(
            util::secret_match(RULE, "password", proto, secret, off, raw.len())
                .id(format!("{user}@{host}"))
                .ctx("host", host)
                .ctx("port", text("Port"))
                .ctx("user", user)
                .ctx("protocol", proto)
                .ctx_opt("site", site)
                .ctx(
                    "encoding",
                    if encoding.is_empty() {
                        "plain".to_string()
                    } else {
                        encoding
                    },
                ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;

    #[test]
    fn recent_and_site_manager_servers() {
        // base64("Fz9#rT2!kLm")
        let text = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\" ?>\n<FileZilla3 version=\"3.66.4\" platform=\"windows\">\n  <Servers>\n    <Server>\n      <Host>ftp.shop.example</Host>\n      <Port>21</Port>\n      <Protocol>0</Protocol>\n      <User>deploy</User>\n      <Pass encoding=\"base64\">Rno5I3JUMiFrTG0=</Pass>\n      <Name>Shop &amp; Co</Name>\n    </Server>\n    <Server>\n      <Host>sftp.corp.example</Host>\n      <Port>22</Port>\n      <Protocol>1</Protocol>\n      <User>ops</User>\n      <Pass>Pl&lt;ain-9x</Pass>\n    </Server>\n    <Server>\n      <Host>locked.example</Host>\n      <Pass encoding=\"crypt\" pubkey=\"abc\">c2VjcmV0</Pass>\n    </Server>\n  </Servers>\n</FileZilla3>\n";
        let ex = run("AppData/Roaming/FileZilla/sitemanager.xml", text);
        let m = expect_secret(&ex, text, "Fz9#rT2!kLm", 9, Some("Rno5I3JUMiFrTG0="));
        assert_eq!(m.identifier.as_deref(), Some("deploy@ftp.shop.example"));
        assert_eq!(m.context.get("site").map(String::as_str), Some("Shop & Co"));
        let p = expect_secret(&ex, text, "Pl<ain-9x", 17, Some("Pl&lt;ain-9x"));
        assert_eq!(p.provider, "sftp");
        assert_eq!(ex.matches.len(), 2);
    }
}
