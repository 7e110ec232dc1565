//! AWS IAM policy documents: parsing (object, JSON text or URL-encoded JSON text, as the CLI and
//! the raw API give them), action and resource matching with IAM's wildcards, and the privilege a
//! statement gives.
//!
//! This is the subset of IAM's evaluation logic that an offline export supports: identity-based
//! policies (inline and managed, directly and through groups), permissions boundaries and explicit
//! denies. Service control policies, resource policies and session policies are not in an
//! authorization-details export and are not evaluated; conditions are kept and reported, never
//! assumed false (a conditional allow *may* allow).

use castellan_model::{Effect, Privilege};
use serde_json::Value;

/// One statement of a policy document.
#[derive(Clone, Debug, PartialEq)]
pub struct Statement {
    /// `Sid`, when present.
    pub sid: Option<String>,
    /// Allow or Deny.
    pub effect: Effect,
    /// `Action` patterns (empty when the statement uses `NotAction`).
    pub actions: Vec<String>,
    /// `NotAction` patterns.
    pub not_actions: Vec<String>,
    /// `Resource` patterns (empty when the statement uses `NotResource` or, in trust
    /// policies, has none).
    pub resources: Vec<String>,
    /// `NotResource` patterns.
    pub not_resources: Vec<String>,
    /// `Principal` of trust policies, as given (`{"AWS": […], "Service": …}` or `"*"`).
    pub principal: Option<Value>,
    /// `Condition` block, as given.
    pub condition: Option<Value>,
}

/// A parsed policy document.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PolicyDocument {
    /// Its statements, in order.
    pub statements: Vec<Statement>,
}

/// Decodes `%XX` escapes (IAM returns documents URL-encoded per RFC 3986).
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b.get(i + 1..i + 3)?;
            let v = u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn strings(v: Option<&Value>, what: &str) -> Result<Vec<String>, String> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| match x {
                Value::String(s) => Ok(s.clone()),
                other => Err(format!(
                    "`{what}` lists a {} where a string was expected",
                    kind_of(other)
                )),
            })
            .collect(),
        Some(other) => Err(format!(
            "`{what}` is a {}; expected a string or a list of strings",
            kind_of(other)
        )),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "object",
    }
}

impl PolicyDocument {
    /// Parses a document given as a JSON object, as JSON text, or as URL-encoded JSON text.
    /// The error says what is wrong (never echoing the document).
    pub fn from_value(v: &Value) -> Result<PolicyDocument, String> {
        match v {
            Value::Object(_) => Self::from_object(v),
            Value::String(s) => {
                let text = if s.trim_start().starts_with('{') {
                    s.clone()
                } else {
                    percent_decode(s).ok_or("is neither JSON nor URL-encoded JSON")?
                };
                let parsed: Value = serde_json::from_str(&text)
                    .map_err(|e| format!("is not a JSON policy document ({e})"))?;
                Self::from_object(&parsed)
            }
            other => Err(format!(
                "is a {}; expected a policy document",
                kind_of(other)
            )),
        }
    }

    fn from_object(v: &Value) -> Result<PolicyDocument, String> {
        let Some(obj) = v.as_object() else {
            return Err("is not a JSON object".into());
        };
        let stmts: Vec<&Value> = match obj.get("Statement") {
            None => return Err("has no `Statement`".into()),
            Some(Value::Array(a)) => a.iter().collect(),
            Some(s @ Value::Object(_)) => vec![s],
            Some(other) => {
                return Err(format!(
                    "`Statement` is a {}; expected a list or an object",
                    kind_of(other)
                ));
            }
        };
        let mut statements = Vec::with_capacity(stmts.len());
        for (n, s) in stmts.into_iter().enumerate() {
            let Some(o) = s.as_object() else {
                return Err(format!("statement {n} is not an object"));
            };
            let effect = match o.get("Effect").and_then(Value::as_str) {
                Some("Allow") => Effect::Allow,
                Some("Deny") => Effect::Deny,
                _ => {
                    return Err(format!(
                        "statement {n}: `Effect` must be \"Allow\" or \"Deny\""
                    ));
                }
            };
            let field = |k: &str| strings(o.get(k), k).map_err(|e| format!("statement {n}: {e}"));
            statements.push(Statement {
                sid: o.get("Sid").and_then(Value::as_str).map(str::to_string),
                effect,
                actions: field("Action")?,
                not_actions: field("NotAction")?,
                resources: field("Resource")?,
                not_resources: field("NotResource")?,
                principal: o.get("Principal").cloned(),
                condition: o.get("Condition").filter(|c| !c.is_null()).cloned(),
            });
        }
        Ok(PolicyDocument { statements })
    }
}

/// IAM wildcard match: `*` any run, `?` one character. `fold` compares ASCII case-insensitively
/// (actions are case-insensitive, resources are not).
pub fn wildcard(pattern: &str, text: &str, fold: bool) -> bool {
    let p = pattern.as_bytes();
    let t = text.as_bytes();
    let eq = |a: u8, b: u8| {
        if fold {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == b'?' || (p[pi] != b'*' && eq(p[pi], t[ti]))) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

/// Replaces the policy variables Castellan can resolve (`${aws:username}` with the holder's user
/// name, the `${*}`, `${?}`, `${$}` escapes). Returns `None` when a variable cannot be resolved
/// offline: such a resource never matches.
fn resolve(pattern: &str, username: Option<&str>) -> Option<String> {
    if !pattern.contains("${") {
        return Some(pattern.to_string());
    }
    let mut out = String::with_capacity(pattern.len());
    let mut rest = pattern;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}')?;
        let var = &after[..end];
        match var {
            "*" => out.push('\u{1}'), // a literal '*', restored below
            "?" => out.push('\u{2}'),
            "$" => out.push('$'),
            v if v.eq_ignore_ascii_case("aws:username") => out.push_str(username?),
            _ => return None,
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

fn resource_matches(pattern: &str, resource: &str, username: Option<&str>) -> bool {
    let Some(p) = resolve(pattern, username) else {
        return false;
    };
    if p.contains(['\u{1}', '\u{2}']) {
        // Escaped wildcards match themselves literally.
        let lit = p.replace('\u{1}', "*").replace('\u{2}', "?");
        return lit == resource;
    }
    wildcard(&p, resource, false)
}

impl Statement {
    /// Whether the statement's action part covers `action` (`service:Name`).
    pub fn covers_action(&self, action: &str) -> bool {
        if !self.actions.is_empty() {
            self.actions.iter().any(|p| wildcard(p, action, true))
        } else if !self.not_actions.is_empty() {
            !self.not_actions.iter().any(|p| wildcard(p, action, true))
        } else {
            false
        }
    }

    /// Whether the statement's resource part covers `resource` for a holder named `username`.
    pub fn covers_resource(&self, resource: &str, username: Option<&str>) -> bool {
        if !self.resources.is_empty() {
            self.resources
                .iter()
                .any(|p| resource_matches(p, resource, username))
        } else if !self.not_resources.is_empty() {
            !self
                .not_resources
                .iter()
                .any(|p| resource_matches(p, resource, username))
        } else {
            true
        }
    }

    /// Whether the statement applies to `action` on `resource`.
    pub fn applies(&self, action: &str, resource: &str, username: Option<&str>) -> bool {
        self.covers_action(action) && self.covers_resource(resource, username)
    }
}

/// The outcome of evaluating a request against a set of statements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// An allow applies and no deny does.
    Allow {
        /// Every applicable allow carries a condition: it may not apply.
        conditional: bool,
    },
    /// An explicit deny applies.
    Deny,
    /// Nothing applies.
    Implicit,
}

/// Evaluates `action` on `resource` against `statements` (explicit deny wins). A deny that
/// carries a condition is not assumed to apply: the answer is "may be allowed".
pub fn decide<'a>(
    statements: impl IntoIterator<Item = &'a Statement>,
    action: &str,
    resource: &str,
    username: Option<&str>,
) -> Decision {
    let mut allow: Option<bool> = None; // Some(conditional)
    for s in statements {
        if !s.applies(action, resource, username) {
            continue;
        }
        match s.effect {
            Effect::Deny if s.condition.is_none() => return Decision::Deny,
            Effect::Deny => {}
            Effect::Allow => {
                let c = s.condition.is_some();
                allow = Some(allow.map_or(c, |prev| prev && c));
            }
        }
    }
    match allow {
        Some(conditional) => Decision::Allow { conditional },
        None => Decision::Implicit,
    }
}

/// Action-name prefixes that only read.
const READ_VERBS: &[&str] = &[
    "Get",
    "List",
    "Describe",
    "BatchGet",
    "BatchRead",
    "BatchCheck",
    "BatchDescribe",
    "BatchDetect",
    "Head",
    "View",
    "Search",
    "Lookup",
    "Query",
    "Scan",
    "Select",
    "Read",
    "Check",
    "Validate",
    "Verify",
    "Detect",
    "Test",
    "Retrieve",
    "Preview",
    "Estimate",
    "Simulate",
    "Filter",
    "Download",
    "Discover",
    "Is",
];

/// Whether an AWS managed policy is one AWS itself designates read-only (`ReadOnlyAccess`,
/// `ViewOnlyAccess`, `SecurityAudit`, `…ReadOnlyAccess`, `…ReadOnly`): its statements read,
/// whatever their verbs look like.
pub fn is_read_only_managed(policy_arn: &str) -> bool {
    let Some(name) = policy_arn.strip_prefix("arn:aws:iam::aws:policy/") else {
        return false;
    };
    let name = name.rsplit('/').next().unwrap_or(name);
    matches!(name, "ViewOnlyAccess" | "SecurityAudit")
        || name.ends_with("ReadOnlyAccess")
        || name.ends_with("ReadOnly")
}

fn is_read_pattern(p: &str) -> bool {
    let Some((_, name)) = p.split_once(':') else {
        return false; // "*" alone
    };
    READ_VERBS
        .iter()
        .any(|v| name.len() >= v.len() && name[..v.len()].eq_ignore_ascii_case(v))
}

/// IAM actions that let a principal raise its own or another principal's privileges.
pub const ESCALATION_ACTIONS: &[(&str, &str)] = &[
    ("iam:AttachUserPolicy", "user"),
    ("iam:PutUserPolicy", "user"),
    ("iam:AttachRolePolicy", "role"),
    ("iam:PutRolePolicy", "role"),
    ("iam:AttachGroupPolicy", "group"),
    ("iam:PutGroupPolicy", "group"),
    ("iam:CreatePolicyVersion", "policy"),
    ("iam:SetDefaultPolicyVersion", "policy"),
    ("iam:UpdateAssumeRolePolicy", "role"),
    ("iam:AddUserToGroup", "group"),
    ("iam:CreateAccessKey", "user"),
    ("iam:CreateLoginProfile", "user"),
    ("iam:UpdateLoginProfile", "user"),
];

/// A request no real policy names: only `*`-style actions on `*` resources cover it.
const FULL_ACCESS_PROBE: (&str, &str) = ("castellan:Probe", "arn:aws:castellan:::probe");

fn probe_arn(account: &str, kind: &str) -> String {
    format!("arn:aws:iam::{account}:{kind}/castellan-probe")
}

/// Why a set of statements makes its holder an administrator, if it does: full access
/// (`*` on `*`) or an allowed privilege-escalation action on any principal or policy of the account.
pub fn admin_reason<'a, I>(
    statements: I,
    account: &str,
    boundary: Option<&[Statement]>,
) -> Option<String>
where
    I: IntoIterator<Item = &'a Statement> + Clone,
{
    let allowed = |action: &str, resource: &str| {
        let own = matches!(
            decide(statements.clone(), action, resource, None),
            Decision::Allow { .. }
        );
        own && boundary.is_none_or(|b| {
            matches!(
                decide(b.iter(), action, resource, None),
                Decision::Allow { .. }
            )
        })
    };
    // Full access needs a literal every-action pattern: `NotAction` lists always leave something out.
    let full_pattern = statements.clone().into_iter().any(|s| {
        s.effect == Effect::Allow
            && s.actions.iter().any(|a| a == "*" || a == "*:*")
            && s.covers_resource(FULL_ACCESS_PROBE.1, None)
    });
    if full_pattern && allowed(FULL_ACCESS_PROBE.0, FULL_ACCESS_PROBE.1) {
        return Some("full access: every action on every resource".into());
    }
    let escalations: Vec<&str> = ESCALATION_ACTIONS
        .iter()
        .filter(|(a, kind)| allowed(a, &probe_arn(account, kind)))
        .map(|(a, _)| *a)
        .collect();
    if escalations.is_empty() {
        None
    } else {
        Some(format!(
            "privilege escalation: may {} on any principal or policy",
            escalations.join(", ")
        ))
    }
}

/// The privilege one statement gives on its own (for an allow; a deny is classified by what it
/// takes away, for display).
pub fn statement_privilege(s: &Statement, account: &str) -> Privilege {
    if admin_reason(std::iter::once(&allow_view(s)), account, None).is_some() {
        return Privilege::Admin;
    }
    if !s.not_actions.is_empty() && s.actions.is_empty() {
        return Privilege::Write; // everything but a list: never read-only
    }
    if s.actions.is_empty() {
        return Privilege::None;
    }
    if s.actions.iter().all(|a| is_read_pattern(a)) {
        Privilege::Read
    } else {
        Privilege::Write
    }
}

fn allow_view(s: &Statement) -> Statement {
    let mut v = s.clone();
    v.effect = Effect::Allow;
    v.condition = None;
    v
}

/// Documents of the AWS managed policies an export often references without including them
/// (`--filter` without `AWSManagedPolicy`). Read-only policies are summarised by their verbs.
/// Returns `(document, exact)`: `exact` is false when the document is a summary.
pub fn well_known_managed(policy_arn: &str) -> Option<(PolicyDocument, bool)> {
    let name = policy_arn.rsplit('/').next()?;
    if !policy_arn.starts_with("arn:aws:iam::aws:policy/") {
        return None;
    }
    let stmt = |actions: &[&str], not_actions: &[&str]| Statement {
        sid: None,
        effect: Effect::Allow,
        actions: actions.iter().map(|s| s.to_string()).collect(),
        not_actions: not_actions.iter().map(|s| s.to_string()).collect(),
        resources: vec!["*".into()],
        not_resources: Vec::new(),
        principal: None,
        condition: None,
    };
    let read = [
        "*:Get*",
        "*:List*",
        "*:Describe*",
        "*:BatchGet*",
        "*:View*",
        "*:Search*",
        "*:Lookup*",
    ];
    let (statements, exact) = match name {
        "AdministratorAccess" => (vec![stmt(&["*"], &[])], true),
        "IAMFullAccess" => (vec![stmt(&["iam:*"], &[])], false),
        "PowerUserAccess" => (
            vec![
                stmt(&[], &["iam:*", "organizations:*", "account:*"]),
                stmt(
                    &[
                        "iam:CreateServiceLinkedRole",
                        "iam:DeleteServiceLinkedRole",
                        "iam:ListRoles",
                        "organizations:DescribeOrganization",
                        "account:ListRegions",
                        "account:GetAccountInformation",
                    ],
                    &[],
                ),
            ],
            true,
        ),
        "ReadOnlyAccess" | "ViewOnlyAccess" | "SecurityAudit" => (vec![stmt(&read, &[])], false),
        n if n.ends_with("ReadOnlyAccess") || n.ends_with("ReadOnly") => {
            (vec![stmt(&read, &[])], false)
        }
        _ => return None,
    };
    Some((PolicyDocument { statements }, exact))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(v: Value) -> PolicyDocument {
        PolicyDocument::from_value(&v).expect("document")
    }

    #[test]
    fn wildcards() {
        assert!(wildcard("iam:*", "IAM:CreateAccessKey", true));
        assert!(wildcard("iam:*AccessKey", "iam:CreateAccessKey", true));
        assert!(!wildcard("iam:Get*", "iam:CreateAccessKey", true));
        assert!(wildcard("s3:?etObject", "s3:GetObject", true));
        assert!(wildcard(
            "arn:aws:iam::*:user/ci/*",
            "arn:aws:iam::1:user/ci/x",
            false
        ));
        assert!(!wildcard(
            "arn:aws:iam::*:user/ci/*",
            "arn:aws:iam::1:user/CI/x",
            false
        ));
        assert!(wildcard("*", "", false));
        assert!(wildcard("a*b*c", "aXXbYYc", false));
        assert!(!wildcard("a*b*c", "aXXbYY", false));
    }

    #[test]
    fn documents_in_every_shape() {
        let obj = json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}});
        let text = Value::String(obj.to_string());
        let encoded = Value::String(
            "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22s3%3AGetObject%22%2C%22Resource%22%3A%22%2A%22%7D%7D".into(),
        );
        let a = doc(obj);
        assert_eq!(a, doc(text));
        assert_eq!(a, doc(encoded));
        assert_eq!(a.statements[0].actions, vec!["s3:GetObject"]);
        assert!(PolicyDocument::from_value(&json!({"Statement": [{"Effect": "Maybe"}]})).is_err());
        assert!(
            PolicyDocument::from_value(&json!({"Statement": [{"Effect": "Allow", "Action": 5}]}))
                .is_err()
        );
        assert!(PolicyDocument::from_value(&json!(7)).is_err());
        assert!(PolicyDocument::from_value(&json!("%ZZ")).is_err());
    }

    #[test]
    fn explicit_deny_wins_and_conditions_are_reported() {
        let d = doc(json!({"Statement": [
            {"Effect": "Allow", "Action": "iam:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "iam:DeleteAccessKey", "Resource": "arn:aws:iam::1:user/ci/terraform"},
            {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}}
        ]}));
        let s = &d.statements;
        assert_eq!(
            decide(
                s,
                "iam:DeleteAccessKey",
                "arn:aws:iam::1:user/ci/terraform",
                None
            ),
            Decision::Deny
        );
        assert_eq!(
            decide(
                s,
                "iam:DeleteAccessKey",
                "arn:aws:iam::1:user/ci/other",
                None
            ),
            Decision::Allow { conditional: false }
        );
        assert_eq!(
            decide(s, "s3:PutObject", "arn:aws:s3:::b/k", None),
            Decision::Allow { conditional: true }
        );
        assert_eq!(decide(s, "ec2:RunInstances", "*", None), Decision::Implicit);
    }

    #[test]
    fn username_variable_resolves_to_the_holder_only() {
        let d = doc(
            json!({"Statement": {"Effect": "Allow", "Action": "iam:CreateAccessKey", "Resource": "arn:aws:iam::1:user/${aws:username}"}}),
        );
        let s = &d.statements;
        let arn = "arn:aws:iam::1:user/backup";
        assert!(matches!(
            decide(s, "iam:CreateAccessKey", arn, Some("backup")),
            Decision::Allow { .. }
        ));
        assert_eq!(
            decide(s, "iam:CreateAccessKey", arn, Some("other")),
            Decision::Implicit
        );
        assert_eq!(
            decide(s, "iam:CreateAccessKey", arn, None),
            Decision::Implicit
        );
        // self-management is not escalation
        assert_eq!(admin_reason(s.iter(), "1", None), None);
    }

    #[test]
    fn privilege_levels() {
        let p = |v: Value| {
            let d = doc(json!({"Statement": v}));
            statement_privilege(&d.statements[0], "1")
        };
        assert_eq!(
            p(json!({"Effect": "Allow", "Action": "*", "Resource": "*"})),
            Privilege::Admin
        );
        assert_eq!(
            p(json!({"Effect": "Allow", "Action": "iam:*", "Resource": "*"})),
            Privilege::Admin
        );
        assert_eq!(
            p(
                json!({"Effect": "Allow", "Action": "iam:PutRolePolicy", "Resource": "arn:aws:iam::1:role/*"})
            ),
            Privilege::Admin
        );
        assert_eq!(
            p(
                json!({"Effect": "Allow", "Action": "iam:CreateAccessKey", "Resource": "arn:aws:iam::1:user/ci/*"})
            ),
            Privilege::Write
        );
        assert_eq!(
            p(json!({"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*"})),
            Privilege::Read
        );
        assert_eq!(
            p(json!({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})),
            Privilege::Write
        );
        assert_eq!(
            p(
                json!({"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"})
            ),
            Privilege::Write
        );
        assert_eq!(
            p(json!({"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"})),
            Privilege::Admin
        );
        assert_eq!(
            p(json!({"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::b/*"})),
            Privilege::Write
        );
    }

    #[test]
    fn boundaries_cap_escalation() {
        let own = doc(json!({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}));
        let boundary = doc(
            json!({"Statement": {"Effect": "Allow", "Action": ["s3:*", "ecs:*"], "Resource": "*"}}),
        );
        assert!(admin_reason(own.statements.iter(), "1", None).is_some());
        assert_eq!(
            admin_reason(own.statements.iter(), "1", Some(&boundary.statements)),
            None
        );
    }

    #[test]
    fn well_known_policies() {
        let (d, exact) =
            well_known_managed("arn:aws:iam::aws:policy/AdministratorAccess").expect("known");
        assert!(exact);
        assert!(admin_reason(d.statements.iter(), "1", None).is_some());
        let (d, _) = well_known_managed("arn:aws:iam::aws:policy/PowerUserAccess").expect("known");
        assert_eq!(admin_reason(d.statements.iter(), "1", None), None);
        let (d, _) =
            well_known_managed("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess").expect("known");
        assert_eq!(statement_privilege(&d.statements[0], "1"), Privilege::Read);
        assert!(well_known_managed("arn:aws:iam::1:policy/AdministratorAccess").is_none());
    }

    proptest::proptest! {
        #[test]
        fn star_matches_everything(s in "[ -~]{0,40}") {
            proptest::prop_assert!(wildcard("*", &s, false));
            proptest::prop_assert!(wildcard(&s.replace(['*', '?'], "x"), &s.replace(['*', '?'], "x"), false));
        }

        #[test]
        fn documents_never_panic(s in "[ -~]{0,200}") {
            let _ = PolicyDocument::from_value(&Value::String(s));
        }
    }
}
