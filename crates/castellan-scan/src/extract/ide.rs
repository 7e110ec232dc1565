//! Editor settings that store credentials: VS Code (`settings.json` under `Code/User/`, any
//! JSON under `.vscode/` such as `sftp.json` or `launch.json` env blocks) and JetBrains IDEs
//! (`*.xml` under `.idea/` or a JetBrains options directory: `<option name="password"
//! value="…"/>`, `<entry key="token" value="…"/>`, `password="…"` attributes).

use super::refs::{Assign, assignments};
use super::tree::{self, Scalar};
use super::util;
use super::{Emit, Extracted, File};
use crate::rules::Confidence;

const VSCODE: &str = "extract.vscode";
const JETBRAINS: &str = "extract.jetbrains";

fn is_vscode(f: &File) -> bool {
    f.ext() == "json"
        && (f.in_dir(".vscode")
            || f.lower.contains("/code/user/")
            || f.lower.contains("code - insiders/user/")
            || f.lower.contains("vscodium/user/")
            || f.lower.contains(".vscode-server/data/machine/"))
}

fn is_jetbrains(f: &File) -> bool {
    const IDES: &[&str] = &[
        "jetbrains",
        "intellij",
        "pycharm",
        "webstorm",
        "goland",
        "rider",
        "clion",
        "datagrip",
        "phpstorm",
        "rubymine",
        "androidstudio",
    ];
    f.ext() == "xml"
        && (f.in_dir(".idea")
            || (f.in_dir("options") && IDES.iter().any(|i| f.lower.contains(i)))
            || f.lower.contains("/jetbrains/"))
}

pub(crate) fn applies(f: &File) -> bool {
    is_vscode(f) || is_jetbrains(f)
}

pub(crate) fn run(f: &File, out: &mut Extracted) {
    if is_vscode(f) {
        let Some(root) = tree::parse_json(f.text) else {
            return;
        };
        let emit = Emit {
            rule: VSCODE,
            provider: None,
            confidence: Confidence::Medium,
            var_store: Some("environment"),
            consumer: None,
        };
        for a in assignments(&root) {
            // "sqltools.connections" → the last dotted part names the value.
            let name = a.name.rsplit('.').next().unwrap_or(&a.name).to_string();
            let a = Assign { name, ..a };
            if let Some(i) = super::emit(f, &a, &emit, out)
                && let Some(m) = out.matches.get_mut(i)
            {
                m.context.insert("setting".into(), a.path.join("."));
            }
        }
        return;
    }
    let emit = Emit {
        rule: JETBRAINS,
        provider: None,
        confidence: Confidence::Medium,
        var_store: None,
        consumer: None,
    };
    let text = f.text;
    let mut from = 0usize;
    while let Some(p) = text.get(from..).and_then(|t| t.find('<')) {
        let start = from + p + 1;
        let Some(end) = text
            .get(start..)
            .and_then(|t| t.find('>'))
            .map(|e| start + e)
        else {
            break;
        };
        from = end + 1;
        let tag = util::slice(text, start, end);
        if tag.starts_with(['/', '?', '!']) {
            continue;
        }
        let name_len = tag
            .find(|c: char| c.is_whitespace() || c == '/')
            .unwrap_or(tag.len());
        let attrs = util::xml_attrs(util::slice(tag, name_len, tag.len()), start + name_len);
        let attr = |n: &str| attrs.iter().find(|(k, _, _)| *k == n);
        let component = text
            .get(..start)
            .and_then(|t| t.rfind("<component name=\""))
            .and_then(|c| {
                util::slice(text, c + 17, text.len())
                    .split('"')
                    .next()
                    .map(str::to_string)
            });
        let mut candidates: Vec<(String, &str, usize)> = Vec::new();
        if let (Some((_, n, _)), Some((_, v, off))) = (attr("name").or(attr("key")), attr("value"))
        {
            candidates.push((util::xml_unescape(n), v, *off));
        }
        for (k, v, off) in &attrs {
            if !matches!(*k, "name" | "key" | "value") {
                candidates.push((k.to_string(), v, *off));
            }
        }
        for (name, raw, off) in candidates {
            let value = util::xml_unescape(raw);
            let verbatim = value == raw;
            let s = Scalar {
                value: value.clone(),
                offset: off,
                len: raw.len(),
                tag: None,
                verbatim,
                block: false,
            };
            let a = Assign {
                path: vec![name.clone()],
                name,
                value,
                offset: off,
                len: raw.len(),
                verbatim,
                scalar: &s,
            };
            if let Some(i) = super::emit(f, &a, &emit, out)
                && let Some(m) = out.matches.get_mut(i)
                && let Some(c) = &component
            {
                m.context.insert("component".into(), c.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;

    #[test]
    fn vscode_settings() {
        let text = "{\n  // user settings\n  \"editor.fontSize\": 13,\n  \"sqltools.connections\": [\n    {\n      \"name\": \"prod\",\n      \"driver\": \"PostgreSQL\",\n      \"username\": \"report\",\n      \"password\": \"Jc5!wE9#rT\",\n    }\n  ],\n  \"github.copilot.advanced\": { \"authToken\": \"${env:COPILOT_TOKEN}\" },\n  \"rest-client.environmentVariables\": { \"prod\": { \"apiKey\": \"k_live_7Fh2Qw9Lm4Zx8Rt1\" } }\n}\n";
        let ex = run("home/.config/Code/User/settings.json", text);
        let m = expect_secret(&ex, text, "Jc5!wE9#rT", 9, None);
        assert_eq!(m.rule_id, "extract.vscode");
        assert_eq!(
            m.context.get("setting").map(String::as_str),
            Some("sqltools.connections.0.password")
        );
        expect_secret(&ex, text, "k_live_7Fh2Qw9Lm4Zx8Rt1", 13, None);
        assert_eq!(ex.matches.len(), 2);
    }

    #[test]
    fn jetbrains_options() {
        let text = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<project version=\"4\">\n  <component name=\"DeploymentSettings\">\n    <option name=\"password\" value=\"Ux4&amp;zP7!qN\" />\n    <option name=\"passwordLength\" value=\"12\" />\n    <option name=\"token\" value=\"\" />\n  </component>\n  <component name=\"HttpClient\">\n    <entry key=\"API_TOKEN\" value=\"tk_9Vb3Nm7Qw1Ez5Rx\" />\n    <server host=\"h\" user=\"u\" password=\"Sw0rd-Fish-77\" />\n  </component>\n</project>\n";
        let ex = run("proj/.idea/workspace.xml", text);
        let m = expect_secret(&ex, text, "Ux4&zP7!qN", 4, Some("Ux4&amp;zP7!qN"));
        assert_eq!(
            m.context.get("component").map(String::as_str),
            Some("DeploymentSettings")
        );
        expect_secret(&ex, text, "tk_9Vb3Nm7Qw1Ez5Rx", 9, None);
        expect_secret(&ex, text, "Sw0rd-Fish-77", 10, None);
        assert_eq!(ex.matches.len(), 3);
    }
}
