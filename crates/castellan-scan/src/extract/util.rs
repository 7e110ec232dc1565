//! Helpers shared by the extractors: text decoding that keeps offsets, base64 and percent
//! decoding, credential-name heuristics, placeholder filtering, URLs with passwords.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;

use crate::rules::Confidence;
use crate::{Match, Secret};

/// The content as text with the same byte offsets: every byte of an invalid UTF-8 sequence
/// becomes one `?`.
pub(crate) fn to_text(content: &[u8]) -> Cow<'_, str> {
    if let Ok(s) = std::str::from_utf8(content) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(content.len());
    let mut rest = content;
    loop {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                out.push_str(s);
                break;
            }
            Err(e) => {
                let valid = e.valid_up_to();
                let good = rest.get(..valid).unwrap_or_default();
                out.push_str(std::str::from_utf8(good).unwrap_or_default());
                let bad = e
                    .error_len()
                    .unwrap_or(rest.len().saturating_sub(valid))
                    .max(1);
                out.extend(std::iter::repeat_n('?', bad));
                rest = rest.get(valid + bad..).unwrap_or_default();
                if rest.is_empty() {
                    break;
                }
            }
        }
    }
    Cow::Owned(out)
}

/// `text[a..b]`, or `""` when the range is out of bounds or not on character boundaries.
pub(crate) fn slice(text: &str, a: usize, b: usize) -> &str {
    text.get(a..b).unwrap_or("")
}

/// A new high-confidence match holding `secret` found at `offset..offset+len`.
pub(crate) fn secret_match(
    rule: &str,
    kind: &str,
    provider: &str,
    secret: impl Into<String>,
    offset: usize,
    len: usize,
) -> Match {
    Match {
        rule_id: rule.to_string(),
        secret: Some(Secret::new(normalize_secret(secret.into()))),
        identifier: None,
        offset,
        len,
        kind: kind.to_string(),
        provider: provider.to_string(),
        confidence: Confidence::High,
        context: BTreeMap::new(),
    }
}

/// Fluent setters for the optional parts of a [`Match`].
pub(crate) trait MatchExt: Sized {
    fn id(self, identifier: impl Into<String>) -> Self;
    fn id_opt(self, identifier: Option<String>) -> Self;
    fn ctx(self, key: &str, value: impl Into<String>) -> Self;
    fn ctx_opt(self, key: &str, value: Option<impl Into<String>>) -> Self;
    fn conf(self, confidence: Confidence) -> Self;
}

impl MatchExt for Match {
    fn id(mut self, identifier: impl Into<String>) -> Self {
        let s = identifier.into();
        if !s.is_empty() {
            self.identifier = Some(s);
        }
        self
    }
    fn id_opt(self, identifier: Option<String>) -> Self {
        match identifier {
            Some(i) => self.id(i),
            None => self,
        }
    }
    fn ctx(mut self, key: &str, value: impl Into<String>) -> Self {
        let v = value.into();
        if !v.is_empty() {
            self.context.insert(key.to_string(), v);
        }
        self
    }
    fn ctx_opt(self, key: &str, value: Option<impl Into<String>>) -> Self {
        match value {
            Some(v) => self.ctx(key, v),
            None => self,
        }
    }
    fn conf(mut self, confidence: Confidence) -> Self {
        self.confidence = confidence;
        self
    }
}

/// PEM blocks are compared line by line whatever their indentation or line endings, so a key
/// found in a YAML block scalar and in a `.pem` file has one fingerprint.
pub(crate) fn normalize_secret(s: String) -> String {
    if s.contains("-----BEGIN") {
        normalize_pem(&s)
    } else {
        s
    }
}

/// Trimmed non-empty lines joined by `\n`.
pub(crate) fn normalize_pem(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Standard or URL-safe base64, padding optional, whitespace ignored.
pub(crate) fn b64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() / 4 * 3 + 3);
    let mut buf: u32 = 0;
    let mut bits: u32 = 0;
    let mut padded = false;
    let mut any = false;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => {
                padded = true;
                continue;
            }
            b' ' | b'\n' | b'\r' | b'\t' => continue,
            _ => return None,
        };
        if padded {
            return None;
        }
        any = true;
        buf = ((buf << 6) | u32::from(v)) & 0xffff;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((buf >> bits) & 0xff) as u8);
        }
    }
    if !any || bits >= 6 {
        return None;
    }
    Some(out)
}

/// Base64 that decodes to UTF-8 text.
pub(crate) fn b64_text(s: &str) -> Option<String> {
    String::from_utf8(b64_decode(s.trim())?).ok()
}

/// `%HH` sequences decoded (invalid UTF-8 replaced).
pub(crate) fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b.get(i).copied().unwrap_or(0);
        if c == b'%'
            && let (Some(h), Some(l)) = (
                b.get(i + 1).and_then(|&x| hex_val(x)),
                b.get(i + 2).and_then(|&x| hex_val(x)),
            )
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(c);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub(crate) fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// XML character references and the five predefined entities decoded.
pub(crate) fn xml_unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(p) = rest.find('&') {
        out.push_str(slice(rest, 0, p));
        let tail = slice(rest, p, rest.len());
        let end = tail.find(';').filter(|&e| e <= 10);
        let ent = end.map(|e| slice(tail, 1, e));
        let decoded = match ent {
            Some("amp") => Some('&'),
            Some("lt") => Some('<'),
            Some("gt") => Some('>'),
            Some("quot") => Some('"'),
            Some("apos") => Some('\''),
            Some(e) if e.starts_with("#x") || e.starts_with("#X") => {
                u32::from_str_radix(slice(e, 2, e.len()), 16)
                    .ok()
                    .and_then(char::from_u32)
            }
            Some(e) if e.starts_with('#') => slice(e, 1, e.len())
                .parse::<u32>()
                .ok()
                .and_then(char::from_u32),
            _ => None,
        };
        match (decoded, end) {
            (Some(c), Some(e)) => {
                out.push(c);
                rest = slice(tail, e + 1, tail.len());
            }
            _ => {
                out.push('&');
                rest = slice(tail, 1, tail.len());
            }
        }
    }
    out.push_str(rest);
    out
}

/// The words of an identifier, lower-cased: `spring.datasource.password` → `[spring,
/// datasource, password]`, `clientSecret` → `[client, secret]`, `AWS_SECRET_ACCESS_KEY` →
/// `[aws, secret, access, key]`.
pub(crate) fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let chars: Vec<char> = name.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if c.is_uppercase() && !cur.is_empty() {
            let prev = chars.get(i.wrapping_sub(1)).copied().unwrap_or(' ');
            let next = chars.get(i + 1).copied().unwrap_or(' ');
            if prev.is_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_uppercase() && next.is_lowercase())
            {
                out.push(std::mem::take(&mut cur));
            }
        }
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Last words that make a name describe something *about* a credential rather than hold one.
const NOT_SECRET_LAST: &[&str] = &[
    "id",
    "ids",
    "name",
    "names",
    "user",
    "username",
    "usernames",
    "login",
    "file",
    "files",
    "path",
    "paths",
    "dir",
    "directory",
    "host",
    "hostname",
    "port",
    "enabled",
    "enable",
    "disabled",
    "disable",
    "type",
    "ttl",
    "expiry",
    "expires",
    "expiration",
    "expire",
    "length",
    "len",
    "size",
    "count",
    "timeout",
    "header",
    "prefix",
    "suffix",
    "policy",
    "mode",
    "method",
    "endpoint",
    "field",
    "param",
    "env",
    "var",
    "arn",
    "region",
    "version",
    "format",
    "algorithm",
    "alg",
    "rotation",
    "required",
    "min",
    "max",
    "regex",
    "pattern",
    "location",
    "store",
    "provider",
    "validity",
    "lifetime",
    "age",
    "duration",
    "interval",
    "limit",
    "label",
    "description",
    "desc",
    "hint",
    "ref",
    "reference",
    "namespace",
    "engine",
    "mount",
    "manager",
    "source",
    "hash",
    "lookup",
    "template",
    "reset",
    "strength",
    "complexity",
    "changed",
    "updated",
    "created",
    "at",
    "date",
    "time",
    "timestamp",
    "link",
    "help",
    "text",
    "placeholder",
    "prompt",
    "message",
    "msg",
    "title",
    "class",
    "kind",
    "keyid",
    "fingerprint",
    "digest",
    "public",
    "cert",
    "certificate",
    "crt",
    "ca",
    "issuer",
    "audience",
    "scope",
    "scopes",
    "url",
    "uri",
    "urls",
    "data",
    "helper",
    "command",
    "cmd",
    "script",
    "class",
    "exists",
    "generated",
    "rotate",
    "sha",
    "md5",
    "secrets",
    "keys",
    "tokens",
    "passwords",
    "credentials",
    "inputs",
    "value",
    "enabled",
    "retries",
    "attempts",
    "dest",
    "destination",
    "key_ref",
    "selector",
    "output",
    "outputs",
    "env_var",
    "variable",
    "permissions",
    "write",
    "read",
    "audience",
    "claim",
    "claims",
    "store",
    "backend",
    "plugin",
    "mask",
    "masked",
    "protected",
    "visibility",
    "ref",
    "refs",
    "salt_length",
];

/// Whether a name describes identity or place (`username`, `host`, `url`…) rather than a secret.
pub(crate) fn names_non_secret(name: &str) -> bool {
    words(name).last().is_some_and(|l| {
        NOT_SECRET_LAST.contains(&l.as_str())
            || matches!(
                l.as_str(),
                "database" | "db" | "dbname" | "schema" | "bucket" | "server"
            )
    })
}

/// Words that, right before `key`, make it a secret key (`signing_key`, `STRIPE_API_KEY`).
const KEY_QUALIFIERS: &[&str] = &[
    "api",
    "access",
    "secret",
    "private",
    "signing",
    "sign",
    "encryption",
    "encrypt",
    "master",
    "license",
    "licence",
    "hmac",
    "jwt",
    "crypt",
    "cipher",
    "session",
    "auth",
    "app",
    "application",
    "service",
    "account",
    "webhook",
    "client",
    "ssh",
    "integration",
    "admin",
    "shared",
    "consumer",
    "subscription",
    "storage",
    "primary",
    "secondary",
    "deploy",
    "server",
];

/// The credential kind a variable or key name suggests (`DB_PASSWORD` → `password`), if any.
pub(crate) fn secret_kind(name: &str) -> Option<&'static str> {
    let w = words(name);
    let last = w.last()?;
    if NOT_SECRET_LAST.contains(&last.as_str())
        || w.iter().any(|x| x == "existing" || x == "encrypted")
    {
        return None;
    }
    // `passwordKey: password`, `userPasswordKey` name the key of a secret, not the secret.
    let before_last = w
        .len()
        .checked_sub(2)
        .and_then(|i| w.get(i))
        .map(String::as_str);
    if last == "key"
        && matches!(
            before_last,
            Some("password" | "passwd" | "token" | "user" | "username")
        )
    {
        return None;
    }
    let has = |s: &str| w.iter().any(|x| x == s);
    let pair = |a: &str, b: &str| {
        w.windows(2)
            .any(|p| p.first().is_some_and(|x| x == a) && p.get(1).is_some_and(|x| x == b))
    };
    let contains = |s: &str| w.iter().any(|x| x.contains(s));
    if contains("privatekey")
        || pair("private", "key")
        || pair("ssh", "key")
        || pair("client", "key")
        || pair("tls", "key")
    {
        return Some("private-key");
    }
    if contains("password")
        || contains("passwd")
        || contains("passphrase")
        || has("pass")
        || has("pwd")
        || has("pw")
        || has("passw")
    {
        return Some("password");
    }
    if pair("client", "secret") || contains("clientsecret") {
        return Some("client-secret");
    }
    if pair("secret", "key") || contains("secretkey") || (has("secret") && pair("access", "key")) {
        return Some("secret-key");
    }
    if pair("access", "key") || contains("accesskey") {
        return Some("access-key");
    }
    if pair("api", "key") || contains("apikey") || pair("api", "secret") {
        return Some("api-key");
    }
    if w.iter()
        .any(|x| x.contains("token") && !x.contains("tokeniz"))
    {
        return Some("token");
    }
    if contains("secret") {
        return Some("secret");
    }
    if last == "key" || last == "keys" {
        let before = w.len().checked_sub(2).and_then(|i| w.get(i));
        if before.is_some_and(|b| KEY_QUALIFIERS.contains(&b.as_str())) {
            return Some("secret-key");
        }
    }
    if has("credentials")
        || has("credential")
        || has("creds")
        || last == "auth"
        || last == "authorization"
    {
        return Some("credential");
    }
    if has("dsn")
        || pair("connection", "string")
        || contains("connectionstring")
        || has("connstr")
        || pair("conn", "str")
    {
        return Some("connection-string");
    }
    if last == "salt" || last == "pepper" {
        return Some("secret");
    }
    None
}

/// Exact values (lower-cased) that stand for a secret.
const PLACEHOLDER_EXACT: &[&str] = &[
    "secret",
    "secrets",
    "token",
    "apikey",
    "api_key",
    "api-key",
    "mysecret",
    "supersecret",
    "undefined",
    "default",
    "disabled",
    "enabled",
    "required",
    "optional",
    "inherit",
    "write",
    "read",
    "none",
    "null",
    "nil",
    "true",
    "false",
    "yes",
    "no",
    "on",
    "off",
    "empty",
    "tbd",
    "todo",
    "n/a",
    "na",
    "~",
    "-",
    "password",
    "passw0rd",
    "mypassword",
    "secret_key",
    "secretkey",
    "private_key",
    "access_key",
    "token_here",
    "anonymous",
];

/// Substrings (lower-cased) of values that stand for a secret.
const PLACEHOLDER_CONTAINS: &[&str] = &[
    "_here",
    "-here",
    " here",
    "unique phrase",
    "xxx",
    "***",
    "•••",
    "...",
    "<redacted",
    "[redacted",
    "[hidden]",
    "[filtered]",
    "${",
    "{{",
    "$(",
    "#{",
    "<%",
    "%(",
    "secretref:",
];

/// True for values that are empty, template variables or obvious placeholders, not secrets.
/// `allow_short` keeps short values (a real five-character password in a `.pgpass`).
pub(crate) fn is_placeholder(value: &str, allow_short: bool) -> bool {
    let t = value.trim().trim_matches(|c| c == '"' || c == '\'');
    if t.is_empty() {
        return true;
    }
    let lower = t.to_lowercase();
    if PLACEHOLDER_EXACT.contains(&lower.as_str())
        || PLACEHOLDER_CONTAINS.iter().any(|w| lower.contains(w))
    {
        return true;
    }
    if variable_name(t).is_some() || is_templated(t) {
        return true;
    }
    if allow_short && t.len() < 6 {
        // Only the shapes; short real passwords stay.
        return t
            .chars()
            .all(|c| c == '*' || c == 'x' || c == 'X' || c == '.');
    }
    crate::matcher::is_placeholder(t)
}

/// Template shapes: `{{ x }}`, `<x>`, `@x@` (Maven), `__X__` (token replacement), `ENC(…)`
/// (Jasypt), `{cipher}…` (Spring Cloud Config), `%X%`.
fn is_templated(t: &str) -> bool {
    let n = t.len();
    (t.starts_with('<') && t.ends_with('>'))
        || (n > 2 && t.starts_with('@') && t.ends_with('@'))
        || (n > 4 && t.starts_with("__") && t.ends_with("__"))
        || (n > 2 && t.starts_with('%') && t.ends_with('%'))
        || t.starts_with("ENC(")
        || t.starts_with("{cipher}")
        || t.starts_with("!vault")
        || t.starts_with("$ANSIBLE_VAULT")
}

static VARIABLE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r#"^(?:\$\{([A-Za-z_][A-Za-z0-9_.]*)(?::[^}]*|[-=?+][^}]*)?\}|\$([A-Za-z_][A-Za-z0-9_]*)|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)|%([A-Za-z_][A-Za-z0-9_]*)%|<%=?\s*ENV(?:\.fetch\(|\[)\s*["']([A-Za-z_][A-Za-z0-9_]*)["'][^%]*%>)$"#,
    )
    .ok()
});

/// The variable a value only refers to: `${DB_PASSWORD}`, `$DB_PASSWORD`, `$(dbPassword)`,
/// `%DB_PASSWORD%`, `<%= ENV['DB_PASSWORD'] %>`.
pub(crate) fn variable_name(value: &str) -> Option<String> {
    let t = value.trim();
    // VS Code: ${env:NAME}
    if let Some(n) = t.strip_prefix("${env:").and_then(|r| r.strip_suffix('}'))
        && !n.is_empty()
        && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Some(n.to_string());
    }
    let re = VARIABLE.as_ref()?;
    let caps = re.captures(t)?;
    (1..=5)
        .find_map(|g| caps.get(g))
        .map(|m| m.as_str().to_string())
}

/// User, password and place of a URL that carries a password (`postgres://app:pw@db/prod`).
#[derive(Clone)]
pub(crate) struct UrlCred {
    pub scheme: String,
    pub user: String,
    /// The password, percent-decoded.
    pub password: String,
    /// Byte offset of the raw password in the URL string.
    pub pw_start: usize,
    /// Byte length of the raw password.
    pub pw_len: usize,
    pub host: String,
    /// The URL with the password and query removed.
    pub redacted: String,
}

/// Parses `scheme://user:password@host…` inside `value` (the first such URL).
pub(crate) fn url_credentials(value: &str) -> Option<UrlCred> {
    let sep = value.find("://")?;
    let scheme_start = slice(value, 0, sep)
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '+' || c == '.' || c == '-'))
        .map_or(0, |p| p + 1);
    let scheme = slice(value, scheme_start, sep).to_ascii_lowercase();
    if scheme.is_empty() {
        return None;
    }
    let rest_start = sep + 3;
    let rest = slice(value, rest_start, value.len());
    let stop = rest
        .find(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == '`')
        .unwrap_or(rest.len());
    let rest = slice(rest, 0, stop);
    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let at = slice(rest, 0, auth_end).rfind('@')?;
    let userinfo = slice(rest, 0, at);
    let colon = userinfo.find(':')?;
    let user = percent_decode(slice(userinfo, 0, colon));
    let raw_pw = slice(userinfo, colon + 1, userinfo.len());
    if raw_pw.is_empty() {
        return None;
    }
    let hostpart = slice(rest, at + 1, auth_end);
    let host = hostpart
        .rsplit_once(':')
        .filter(|(_, p)| p.chars().all(|c| c.is_ascii_digit()))
        .map_or(hostpart, |(h, _)| h)
        .to_string();
    let path_end = rest.find(['?', '#']).unwrap_or(rest.len());
    let path = slice(rest, auth_end.min(path_end), path_end);
    let redacted = if user.is_empty() {
        format!("{scheme}://{hostpart}{path}")
    } else {
        format!("{scheme}://{}@{hostpart}{path}", slice(userinfo, 0, colon))
    };
    Some(UrlCred {
        scheme,
        user,
        password: percent_decode(raw_pw),
        pw_start: rest_start + colon + 1,
        pw_len: raw_pw.len(),
        host,
        redacted,
    })
}

/// The provider a URL scheme implies (`postgresql` → `postgres`).
pub(crate) fn provider_for_scheme(scheme: &str, host: &str) -> &'static str {
    match scheme.split('+').next().unwrap_or(scheme) {
        "postgres" | "postgresql" | "pgsql" => "postgres",
        "mysql" | "mariadb" => "mysql",
        "mongodb" => "mongodb",
        "redis" | "rediss" => "redis",
        "amqp" | "amqps" => "rabbitmq",
        "ftp" | "ftps" | "sftp" => "ftp",
        "ldap" | "ldaps" => "ldap",
        "smtp" | "smtps" => "smtp",
        "jdbc" => "jdbc",
        "mssql" | "sqlserver" => "mssql",
        _ => provider_for_host(host),
    }
}

/// The provider a host name implies (`api.github.com` → `github`).
pub(crate) fn provider_for_host(host: &str) -> &'static str {
    let h = host.to_ascii_lowercase();
    let h = h.trim_end_matches('.');
    let is = |d: &str| h == d || h.ends_with(&format!(".{d}"));
    if is("github.com") || is("ghcr.io") || is("githubusercontent.com") {
        "github"
    } else if h.contains("gitlab") {
        "gitlab"
    } else if is("bitbucket.org") || h.contains("bitbucket") {
        "bitbucket"
    } else if is("heroku.com") {
        "heroku"
    } else if is("amazonaws.com") {
        "aws"
    } else if is("dev.azure.com") || is("visualstudio.com") || is("azurecr.io") {
        "azure"
    } else if is("npmjs.org") || is("npmjs.com") {
        "npm"
    } else if is("pypi.org") || is("python.org") {
        "pypi"
    } else if is("docker.io") || is("docker.com") {
        "docker"
    } else if is("gcr.io") || is("pkg.dev") || is("googleapis.com") {
        "gcp"
    } else if is("quay.io") {
        "quay"
    } else if h.contains("jfrog") || h.contains("artifactory") {
        "jfrog"
    } else {
        "generic"
    }
}

/// The provider a variable name implies (`NPM_TOKEN` → `npm`), or `generic`.
pub(crate) fn provider_for_name(name: &str) -> &'static str {
    let w = words(name);
    let has = |s: &str| w.iter().any(|x| x == s || x.starts_with(s));
    const TABLE: &[(&str, &str)] = &[
        ("aws", "aws"),
        ("github", "github"),
        ("gh", "github"),
        ("gitlab", "gitlab"),
        ("npm", "npm"),
        ("pypi", "pypi"),
        ("docker", "docker"),
        ("dockerhub", "docker"),
        ("slack", "slack"),
        ("stripe", "stripe"),
        ("twilio", "twilio"),
        ("sendgrid", "sendgrid"),
        ("mailgun", "mailgun"),
        ("openai", "openai"),
        ("anthropic", "anthropic"),
        ("azure", "azure"),
        ("gcp", "gcp"),
        ("google", "gcp"),
        ("datadog", "datadog"),
        ("sentry", "sentry"),
        ("heroku", "heroku"),
        ("postgres", "postgres"),
        ("postgresql", "postgres"),
        ("pg", "postgres"),
        ("pgpassword", "postgres"),
        ("mysql", "mysql"),
        ("mariadb", "mysql"),
        ("mongo", "mongodb"),
        ("redis", "redis"),
        ("rabbitmq", "rabbitmq"),
        ("amqp", "rabbitmq"),
        ("vault", "vault"),
        ("sonar", "sonarqube"),
        ("artifactory", "jfrog"),
        ("jfrog", "jfrog"),
        ("cloudflare", "cloudflare"),
        ("terraform", "terraform"),
        ("codecov", "codecov"),
        ("snyk", "snyk"),
        ("jira", "atlassian"),
        ("atlassian", "atlassian"),
    ];
    TABLE
        .iter()
        .find(|(k, _)| {
            if k.len() <= 3 {
                w.iter().any(|x| x == k)
            } else {
                has(k)
            }
        })
        .map_or("generic", |(_, p)| p)
}

/// A `Password=…;` (or `Pwd=`) part of an ADO/ODBC-style connection string: (value, start, len).
pub(crate) fn connection_string_password(value: &str) -> Option<(String, usize, usize)> {
    let lower = value.to_ascii_lowercase();
    for key in ["password=", "pwd="] {
        let mut from = 0;
        while let Some(p) = lower.get(from..).and_then(|s| s.find(key)) {
            let at = from + p;
            let boundary = at == 0
                || matches!(
                    lower.as_bytes().get(at - 1),
                    Some(b';' | b' ' | b'"' | b'\'')
                );
            from = at + key.len();
            if !boundary {
                continue;
            }
            let start = at + key.len();
            let rest = slice(value, start, value.len());
            let end = rest.find(';').unwrap_or(rest.len());
            let pw = slice(rest, 0, end).trim_end();
            if !pw.is_empty() {
                return Some((pw.to_string(), start, pw.len()));
            }
        }
    }
    None
}

/// `token` when the user name or the value says the password is an access token
/// (`x-access-token`, `oauth2`, `ghp_…`, `glpat-…`, `npm_…`, `pypi-…`), else `password`.
pub(crate) fn password_or_token(user: &str, secret: &str) -> &'static str {
    const USERS: &[&str] = &[
        "x-access-token",
        "oauth2",
        "x-oauth-basic",
        "x-token-auth",
        "gitlab-ci-token",
        "__token__",
        "token",
        "private-token",
        "oauth",
        "pat",
        "apikey",
        "api",
        "bearer",
    ];
    const PREFIXES: &[&str] = &[
        "ghp_",
        "gho_",
        "ghs_",
        "ghu_",
        "ghr_",
        "github_pat_",
        "glpat-",
        "gldt-",
        "npm_",
        "pypi-",
        "xoxb-",
        "xoxp-",
        "hf_",
        "sk-",
        "dop_v1_",
        "ATATT",
        "AKCp",
        "cmVmdGtu",
    ];
    if USERS.contains(&user.to_ascii_lowercase().as_str())
        || PREFIXES.iter().any(|p| secret.starts_with(p))
    {
        "token"
    } else {
        "password"
    }
}

/// One `key = value` of an INI-style file.
pub(crate) struct IniEntry<'t> {
    pub section: &'t str,
    pub key: &'t str,
    /// The value, trimmed (quotes and inline comments kept: INI dialects disagree on them).
    pub value: &'t str,
    pub value_offset: usize,
}

/// The entries of an INI-style text (`[section]`, `key = value` or `key: value`, `;`/`#`
/// comment lines).
pub(crate) fn ini(text: &str) -> Vec<IniEntry<'_>> {
    ini_sep(text, &['=', ':'])
}

/// [`ini`] with the given key/value separators.
pub(crate) fn ini_sep<'t>(text: &'t str, seps: &[char]) -> Vec<IniEntry<'t>> {
    let mut out = Vec::new();
    let mut section = "";
    let mut pos = 0usize;
    for raw in text.split_inclusive('\n') {
        let start = pos;
        pos += raw.len();
        let line = raw.trim_end_matches(['\n', '\r']);
        let lead = line.len() - line.trim_start_matches([' ', '\t', '\u{feff}']).len();
        let body = slice(line, lead, line.len());
        if body.is_empty() || body.starts_with(';') || body.starts_with('#') {
            continue;
        }
        if body.starts_with('[') {
            if let Some(end) = body.find(']') {
                section = slice(body, 1, end).trim();
            }
            continue;
        }
        let Some(sep) = body.find(seps) else {
            continue;
        };
        let key = slice(body, 0, sep).trim();
        if key.is_empty() {
            continue;
        }
        let rest = slice(body, sep + 1, body.len());
        let vlead = rest.len() - rest.trim_start().len();
        let value = rest.trim();
        out.push(IniEntry {
            section,
            key,
            value,
            value_offset: start + lead + sep + 1 + vlead,
        });
    }
    out
}

/// An XML element found by [`xml_elements`]: its attributes text and inner text span.
pub(crate) struct XmlElement<'t> {
    pub attrs: &'t str,
    pub inner: &'t str,
    pub inner_offset: usize,
}

/// Every `<tag …>inner</tag>` of `text` (not nested in itself), tag matched exactly.
pub(crate) fn xml_elements<'t>(text: &'t str, base: usize, tag: &str) -> Vec<XmlElement<'t>> {
    let open = format!("<{tag}");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut from = 0usize;
    while let Some(p) = text.get(from..).and_then(|t| t.find(&open)) {
        let at = from + p;
        let after = at + open.len();
        let next = text.as_bytes().get(after).copied();
        if !matches!(next, Some(b'>' | b' ' | b'\t' | b'\n' | b'\r' | b'/')) {
            from = after;
            continue;
        }
        let Some(gt) = text
            .get(after..)
            .and_then(|t| t.find('>'))
            .map(|g| after + g)
        else {
            break;
        };
        let attrs = slice(text, after, gt);
        if attrs.ends_with('/') {
            out.push(XmlElement {
                attrs: slice(attrs, 0, attrs.len() - 1),
                inner: "",
                inner_offset: base + gt,
            });
            from = gt + 1;
            continue;
        }
        let Some(end) = text
            .get(gt + 1..)
            .and_then(|t| t.find(&close))
            .map(|e| gt + 1 + e)
        else {
            break;
        };
        out.push(XmlElement {
            attrs,
            inner: slice(text, gt + 1, end),
            inner_offset: base + gt + 1,
        });
        from = end + close.len();
    }
    out
}

/// The attributes of a start tag's attribute text: (name, raw value, offset of the value).
pub(crate) fn xml_attrs(attrs: &str, base: usize) -> Vec<(&str, &str, usize)> {
    let b = attrs.as_bytes();
    let mut out = Vec::new();
    let mut i = 0usize;
    while i < b.len() {
        while b.get(i).is_some_and(|c| c.is_ascii_whitespace()) {
            i += 1;
        }
        let ns = i;
        while b
            .get(i)
            .is_some_and(|c| !c.is_ascii_whitespace() && *c != b'=' && *c != b'/' && *c != b'>')
        {
            i += 1;
        }
        let name = slice(attrs, ns, i);
        while b.get(i).is_some_and(|c| c.is_ascii_whitespace()) {
            i += 1;
        }
        if b.get(i) != Some(&b'=') {
            if i == ns {
                i += 1;
            }
            continue;
        }
        i += 1;
        while b.get(i).is_some_and(|c| c.is_ascii_whitespace()) {
            i += 1;
        }
        let Some(&q) = b.get(i).filter(|c| **c == b'"' || **c == b'\'') else {
            continue;
        };
        let vs = i + 1;
        let Some(ve) = attrs
            .get(vs..)
            .and_then(|t| t.find(q as char))
            .map(|e| vs + e)
        else {
            break;
        };
        if !name.is_empty() {
            out.push((name, slice(attrs, vs, ve), base + vs));
        }
        i = ve + 1;
    }
    out
}

/// The text of the first `<tag>…</tag>` inside `inner`: (raw text, offset, attributes).
pub(crate) fn xml_child<'t>(
    inner: &'t str,
    base: usize,
    tag: &str,
) -> Option<(&'t str, usize, &'t str)> {
    xml_elements(inner, base, tag).into_iter().next().map(|e| {
        (
            e.inner.trim(),
            e.inner_offset + (e.inner.len() - e.inner.trim_start().len()),
            e.attrs,
        )
    })
}

/// How a source-code string literal treats backslashes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Escapes {
    /// Raw strings: a backslash is a backslash.
    Raw,
    /// PHP single quotes: only `\\` and `\'` are escapes.
    QuoteOnly,
    /// C-like: `\n`, `\t`, `\"`, `\\`, `\$`…
    C,
}

/// A string literal in code.
pub(crate) struct CodeString {
    pub value: String,
    /// Offset of the first byte inside the quotes.
    pub offset: usize,
    /// Raw length inside the quotes.
    pub len: usize,
    pub verbatim: bool,
    /// Offset just after the closing quote.
    pub end: usize,
}

/// The string literal whose opening quote is at `open` (`'`, `"`, or a Python triple quote);
/// single-quoted literals end at the line's end.
pub(crate) fn code_string(text: &str, open: usize, esc: Escapes) -> Option<CodeString> {
    let rest = text.get(open..)?;
    let q = rest
        .chars()
        .next()
        .filter(|c| matches!(c, '\'' | '"' | '`'))?;
    let triple: String = std::iter::repeat_n(q, 3).collect();
    let (delim, start) = if rest.starts_with(&triple) {
        (triple.as_str(), open + 3)
    } else {
        (triple.get(..1).unwrap_or("\""), open + 1)
    };
    let body = text.get(start..)?;
    let mut value = String::new();
    let mut verbatim = true;
    let mut chars = body.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if body.get(i..).is_some_and(|t| t.starts_with(delim)) {
            return Some(CodeString {
                value,
                offset: start,
                len: i,
                verbatim,
                end: start + i + delim.len(),
            });
        }
        if c == '\n' && delim.len() == 1 {
            return None;
        }
        if c == '\\' && esc != Escapes::Raw {
            let next = chars.peek().map(|&(_, n)| n);
            match (esc, next) {
                (Escapes::QuoteOnly, Some(n)) if n == q || n == '\\' => {
                    chars.next();
                    value.push(n);
                    verbatim = false;
                }
                (Escapes::C, Some(n)) => {
                    chars.next();
                    verbatim = false;
                    value.push(match n {
                        'n' => '\n',
                        't' => '\t',
                        'r' => '\r',
                        '0' => '\0',
                        o => o,
                    });
                }
                _ => value.push(c),
            }
            continue;
        }
        if esc == Escapes::Raw && c == '\\' && chars.peek().map(|&(_, n)| n) == Some(q) {
            // r'\'' still does not end the string.
            value.push(c);
            if let Some((_, n)) = chars.next() {
                value.push(n);
            }
            continue;
        }
        value.push(c);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_camel_snake_and_dots() {
        assert_eq!(
            words("spring.datasource.password"),
            ["spring", "datasource", "password"]
        );
        assert_eq!(words("clientSecret"), ["client", "secret"]);
        assert_eq!(
            words("AWS_SECRET_ACCESS_KEY"),
            ["aws", "secret", "access", "key"]
        );
        assert_eq!(words("APIKey"), ["api", "key"]);
    }

    #[test]
    fn secret_names() {
        for (n, k) in [
            ("DB_PASSWORD", "password"),
            ("PGPASSWORD", "password"),
            ("spring.datasource.password", "password"),
            ("AWS_SECRET_ACCESS_KEY", "secret-key"),
            ("NPM_TOKEN", "token"),
            ("stripeApiKey", "api-key"),
            ("client-secret", "client-secret"),
            ("SENTRY_DSN", "connection-string"),
            ("JWT_SIGNING_KEY", "secret-key"),
            ("private_key_pem", "private-key"),
            ("ansible_become_pass", "password"),
        ] {
            assert_eq!(secret_kind(n), Some(k), "{n}");
        }
        for n in [
            "AWS_ACCESS_KEY_ID",
            "DB_USER",
            "TOKEN_TTL",
            "PASSWORD_MIN_LENGTH",
            "SECRET_NAME",
            "DATABASE_URL",
            "public_key",
            "LOG_LEVEL",
            "cache_key",
        ] {
            assert_eq!(secret_kind(n), None, "{n}");
        }
    }

    #[test]
    fn placeholders_and_variables() {
        for p in [
            "",
            "${DB_PASSWORD}",
            "$TOKEN",
            "$(token)",
            "%PW%",
            "<token>",
            "changeme",
            "your_token_here",
            "{{ vault_pw }}",
            "@db.password@",
            "__TOKEN__",
            "ENC(abc)",
            "xxx-xxx",
        ] {
            assert!(is_placeholder(p, false), "{p}");
        }
        assert!(!is_placeholder("Zq7!kd9#pW", false));
        assert!(!is_placeholder("pg5x", true));
        assert!(is_placeholder("pg5x", false));
        assert_eq!(variable_name("${DB_PW:-x}").as_deref(), Some("DB_PW"));
        assert_eq!(
            variable_name("<%= ENV['DB_PW'] %>").as_deref(),
            Some("DB_PW")
        );
        assert_eq!(variable_name("abc"), None);
    }

    #[test]
    fn base64_round_trip() {
        assert_eq!(b64_text("dXNlcjpwYXNz").as_deref(), Some("user:pass"));
        assert_eq!(b64_text("dXNlcjpwYXNzMQ==").as_deref(), Some("user:pass1"));
        assert!(b64_decode("!!!").is_none());
        assert!(b64_decode("").is_none());
    }

    #[test]
    fn url_with_password() {
        let v = "postgres://app:s%40fe-Pw9@db.internal:5432/prod?sslmode=require";
        let u = url_credentials(v).expect("url");
        assert_eq!(u.user, "app");
        assert_eq!(u.password, "s@fe-Pw9");
        assert_eq!(slice(v, u.pw_start, u.pw_start + u.pw_len), "s%40fe-Pw9");
        assert_eq!(u.host, "db.internal");
        assert_eq!(u.redacted, "postgres://app@db.internal:5432/prod");
        assert!(url_credentials("https://registry.npmjs.org/@scope/pkg").is_none());
        assert!(url_credentials("https://user@host/").is_none());
    }

    #[test]
    fn text_keeps_offsets() {
        let bytes = b"a\xffb\xe2\x82c";
        let t = to_text(bytes);
        assert_eq!(t.len(), bytes.len());
        assert_eq!(t.find('c'), Some(5));
    }

    #[test]
    fn ini_and_xml() {
        let t = "[pypi]\nusername = __token__\npassword: pypi-abc\n";
        let e = ini(t);
        assert_eq!(e.len(), 2);
        let pw = e.get(1).expect("pw");
        assert_eq!(
            (pw.section, pw.key, pw.value),
            ("pypi", "password", "pypi-abc")
        );
        assert_eq!(
            slice(t, pw.value_offset, pw.value_offset + pw.value.len()),
            "pypi-abc"
        );
        let x = "<S><Host>h</Host><Pass encoding=\"base64\">cHc=</Pass><Empty/></S>";
        let (v, off, attrs) = xml_child(x, 0, "Pass").expect("pass");
        assert_eq!(slice(x, off, off + v.len()), "cHc=");
        assert_eq!(
            xml_attrs(attrs, 0).first().map(|a| (a.0, a.1)),
            Some(("encoding", "base64"))
        );
        assert_eq!(xml_unescape("a&amp;b&#33;&lt;"), "a&b!<");
    }

    #[test]
    fn ado_connection_string() {
        let v = "Server=tcp:db;Database=app;User Id=svc;Password=Q9w!e7rT;";
        let (pw, s, l) = connection_string_password(v).expect("pw");
        assert_eq!(pw, "Q9w!e7rT");
        assert_eq!(slice(v, s, s + l), "Q9w!e7rT");
    }
}
