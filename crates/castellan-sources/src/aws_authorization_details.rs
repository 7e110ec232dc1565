//! `aws iam get-account-authorization-details` JSON: users, groups, roles and policies of one
//! account, as the AWS CLI prints it (all pages merged) or as a series of page documents (one
//! file holding several JSON documents, or several files imported together).
//!
//! Yields IAM users and roles as identities with their privilege level (and why), their grants
//! (one per policy statement, held by the user, role or group), the trust of every role (external
//! accounts, OIDC federation without a `sub` restriction, public trust), and for every user the
//! principals of the account whose policies let them issue (`iam:CreateAccessKey`), rotate
//! (`iam:UpdateAccessKey`) and revoke (`iam:DeleteAccessKey`) its access keys.
//!
//! Policy documents may be JSON objects (CLI), JSON text or URL-encoded JSON text (raw API).
//! AWS managed policies whose documents are not in the export (exports made with `--filter`
//! without `AWSManagedPolicy`) are resolved from a short list of well-known ones; anything else
//! leaves the privilege marked incomplete rather than guessed.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use castellan_model::{Attributes, Effect, Grant, Identity, Privilege, Status, ids, parse_ts};
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::aws_policy::{
    Decision, PolicyDocument, Statement, admin_reason, decide, is_read_only_managed,
    statement_privilege, well_known_managed, wildcard,
};
use crate::{Records, SourceError};

/// The source name.
pub const SOURCE: &str = "aws-authorization-details";

/// The access-key lifecycle steps and the IAM action that performs each.
pub const LIFECYCLE: [(&str, &str); 3] = [
    ("issue", "iam:CreateAccessKey"),
    ("rotate", "iam:UpdateAccessKey"),
    ("revoke", "iam:DeleteAccessKey"),
];

/// A policy document that parsed while deserialising, so errors carry the field path.
#[derive(Clone, Debug)]
struct Doc(PolicyDocument);

impl<'de> Deserialize<'de> for Doc {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Doc, D::Error> {
        let v = Value::deserialize(d)?;
        PolicyDocument::from_value(&v)
            .map(Doc)
            .map_err(|e| serde::de::Error::custom(format!("policy document {e}")))
    }
}

/// An RFC 3339 timestamp, checked while deserialising.
#[derive(Clone, Copy, Debug)]
struct Ts(Timestamp);

impl<'de> Deserialize<'de> for Ts {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Ts, D::Error> {
        let s = String::deserialize(d)?;
        parse_ts(&s).map(Ts).map_err(|e| {
            serde::de::Error::custom(format!(
                "{} is not an RFC 3339 timestamp ({})",
                crate::show_value(&s),
                e.reason
            ))
        })
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Page {
    #[serde(default)]
    user_detail_list: Option<Vec<UserDetail>>,
    #[serde(default)]
    group_detail_list: Option<Vec<GroupDetail>>,
    #[serde(default)]
    role_detail_list: Option<Vec<RoleDetail>>,
    #[serde(default)]
    policies: Option<Vec<ManagedPolicy>>,
    #[serde(default)]
    is_truncated: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Tag {
    key: String,
    #[serde(default)]
    value: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Inline {
    policy_name: String,
    policy_document: Doc,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Attached {
    policy_arn: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Boundary {
    permissions_boundary_arn: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UserDetail {
    #[serde(default)]
    path: Option<String>,
    user_name: String,
    #[serde(default)]
    user_id: Option<String>,
    arn: String,
    #[serde(default)]
    create_date: Option<Ts>,
    #[serde(default)]
    user_policy_list: Vec<Inline>,
    #[serde(default)]
    group_list: Vec<String>,
    #[serde(default)]
    attached_managed_policies: Vec<Attached>,
    #[serde(default)]
    permissions_boundary: Option<Boundary>,
    #[serde(default)]
    tags: Vec<Tag>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GroupDetail {
    group_name: String,
    arn: String,
    #[serde(default)]
    group_policy_list: Vec<Inline>,
    #[serde(default)]
    attached_managed_policies: Vec<Attached>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RoleLastUsed {
    #[serde(default)]
    last_used_date: Option<Ts>,
    #[serde(default)]
    region: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InstanceProfile {
    instance_profile_name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RoleDetail {
    #[serde(default)]
    path: Option<String>,
    role_name: String,
    #[serde(default)]
    role_id: Option<String>,
    arn: String,
    #[serde(default)]
    create_date: Option<Ts>,
    #[serde(default)]
    assume_role_policy_document: Option<Doc>,
    #[serde(default)]
    instance_profile_list: Vec<InstanceProfile>,
    #[serde(default)]
    role_policy_list: Vec<Inline>,
    #[serde(default)]
    attached_managed_policies: Vec<Attached>,
    #[serde(default)]
    permissions_boundary: Option<Boundary>,
    #[serde(default)]
    tags: Vec<Tag>,
    #[serde(default)]
    role_last_used: Option<RoleLastUsed>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    max_session_duration: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PolicyVersion {
    #[serde(default)]
    document: Option<Doc>,
    #[serde(default)]
    is_default_version: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ManagedPolicy {
    arn: String,
    #[serde(default)]
    policy_version_list: Vec<PolicyVersion>,
}

/// 1-based line of byte offset `at` in `bytes`.
fn line_at(bytes: &[u8], at: usize) -> u64 {
    1 + bytes[..at.min(bytes.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count() as u64
}

/// Reads every page document in `bytes` (one or more JSON objects, whitespace between them).
fn pages(path: &str, bytes: &[u8]) -> Result<Vec<Page>, SourceError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if std::str::from_utf8(bytes).is_err() {
        return Err(SourceError::File {
            path: path.into(),
            message: "is not UTF-8 text; an authorization-details export is JSON".into(),
        });
    }
    let mut out = Vec::new();
    let mut stream = serde_json::Deserializer::from_slice(bytes).into_iter::<Page>();
    loop {
        let start = stream.byte_offset();
        match stream.next() {
            None => break,
            Some(Ok(p)) => out.push(p),
            Some(Err(e)) => {
                // Parse that document again, tracking the path, to name the field.
                let mut de = serde_json::Deserializer::from_slice(&bytes[start..]);
                let mut track = serde_path_to_error::Track::new();
                let pd = serde_path_to_error::Deserializer::new(&mut de, &mut track);
                let field = match Page::deserialize(pd) {
                    Err(_) => track.path().to_string(),
                    Ok(_) => String::new(),
                };
                let line = line_at(bytes, start) + e.line().saturating_sub(1) as u64;
                let mut message = e.to_string();
                if let Some(i) = message.find(" at line ") {
                    message.truncate(i);
                }
                if e.is_eof() {
                    message = format!("{message}: the file ends early (truncated?)");
                }
                return Err(if field.is_empty() || field == "." {
                    SourceError::Line {
                        path: path.into(),
                        line,
                        message,
                    }
                } else {
                    SourceError::Field {
                        path: path.into(),
                        line,
                        field,
                        message,
                    }
                });
            }
        }
    }
    if out.is_empty() {
        return Err(SourceError::File {
            path: path.into(),
            message:
                "is empty; expected the JSON printed by `aws iam get-account-authorization-details`"
                    .into(),
        });
    }
    if out.iter().all(|p| {
        p.user_detail_list.is_none()
            && p.role_detail_list.is_none()
            && p.group_detail_list.is_none()
            && p.policies.is_none()
    }) {
        return Err(SourceError::File {
            path: path.into(),
            message: "has none of UserDetailList, GroupDetailList, RoleDetailList, Policies: not an authorization-details export".into(),
        });
    }
    Ok(out)
}

/// A policy as the importer resolved it.
struct Resolved {
    statements: Vec<Statement>,
    /// `exact`, `summary` (well-known policy, summarised) or `missing`.
    document: &'static str,
}

/// A holder's (user, role or group) policies, resolved.
struct Holder {
    id: String,
    /// (via, policy) in attachment order.
    policies: Vec<(String, Resolved)>,
}

fn arn_account(arn: &str) -> Option<&str> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    (parts.len() == 6 && parts[0] == "arn" && parts[2] == "iam")
        .then(|| parts[4])
        .filter(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()))
}

fn resolve_managed(arn: &str, managed: &HashMap<String, PolicyDocument>) -> Resolved {
    if let Some(d) = managed.get(arn) {
        return Resolved {
            statements: d.statements.clone(),
            document: "exact",
        };
    }
    match well_known_managed(arn) {
        Some((d, exact)) => Resolved {
            statements: d.statements,
            document: if exact { "exact" } else { "summary" },
        },
        None => Resolved {
            statements: Vec::new(),
            document: "missing",
        },
    }
}

fn holder(
    id: String,
    inline: &[Inline],
    attached: &[Attached],
    managed: &HashMap<String, PolicyDocument>,
) -> Holder {
    let mut policies = Vec::new();
    for p in inline {
        policies.push((
            format!("inline:{}", p.policy_name),
            Resolved {
                statements: p.policy_document.0.statements.clone(),
                document: "exact",
            },
        ));
    }
    for a in attached {
        policies.push((
            a.policy_arn.clone(),
            resolve_managed(&a.policy_arn, managed),
        ));
    }
    Holder { id, policies }
}

/// A statement's privilege, read-only when AWS designates its managed policy so.
fn privilege_of(s: &Statement, via: &str, account: &str) -> Privilege {
    let p = statement_privilege(s, account);
    if is_read_only_managed(via) && p == Privilege::Write && s.effect == Effect::Allow {
        Privilege::Read
    } else {
        p
    }
}

fn lifecycle_of(s: &Statement) -> Vec<&'static str> {
    LIFECYCLE
        .iter()
        .filter(|(_, action)| s.covers_action(action))
        .map(|(step, _)| *step)
        .collect()
}

fn grants_of(h: &Holder, scope: &str, account: &str) -> Vec<Grant> {
    let mut out = Vec::new();
    for (via, p) in &h.policies {
        if p.document == "missing" {
            let mut attributes = Attributes::new();
            attributes.insert("document".into(), json!("missing"));
            out.push(Grant {
                id: format!("{}#{via}", h.id),
                holder: h.id.clone(),
                source: SOURCE.into(),
                scope: scope.into(),
                effect: Effect::Allow,
                privilege: Privilege::Unknown,
                actions: Vec::new(),
                resources: Vec::new(),
                via: via.clone(),
                attributes,
            });
            continue;
        }
        for (n, s) in p.statements.iter().enumerate() {
            let mut attributes = Attributes::new();
            attributes.insert("document".into(), json!(p.document));
            if let Some(sid) = &s.sid {
                attributes.insert("sid".into(), json!(sid));
            }
            if !s.not_actions.is_empty() {
                attributes.insert("not_actions".into(), json!(s.not_actions));
            }
            if !s.not_resources.is_empty() {
                attributes.insert("not_resources".into(), json!(s.not_resources));
            }
            if let Some(c) = &s.condition {
                attributes.insert("condition".into(), c.clone());
            }
            let lifecycle = lifecycle_of(s);
            if !lifecycle.is_empty() {
                attributes.insert("lifecycle".into(), json!(lifecycle));
            }
            out.push(Grant {
                id: format!("{}#{via}#{n}", h.id),
                holder: h.id.clone(),
                source: SOURCE.into(),
                scope: scope.into(),
                effect: s.effect,
                privilege: privilege_of(s, via, account),
                actions: s.actions.clone(),
                resources: s.resources.clone(),
                via: via.clone(),
                attributes,
            });
        }
    }
    out
}

/// The effective view of a principal: its statements and those of its groups.
struct Principal {
    id: String,
    /// The user name, for `${aws:username}` (roles have none).
    username: Option<String>,
    statements: Vec<Statement>,
    /// Which policy each statement came from (parallel to `statements`).
    vias: Vec<String>,
    /// The policy ARN or inline name of each statement (parallel to `statements`).
    policies: Vec<String>,
    boundary: Option<Vec<Statement>>,
    /// Policies whose documents are not in the export.
    missing: Vec<String>,
    /// The group (index into the export's groups) each statement came from, `None` for the
    /// principal's own policies (parallel to `statements`).
    origin: Vec<Option<usize>>,
    /// The groups it belongs to (indices, no repeats).
    groups: Vec<usize>,
}

impl Principal {
    fn new(
        id: String,
        username: Option<String>,
        holders: &[(Option<usize>, &Holder)],
        boundary: Option<Vec<Statement>>,
    ) -> Principal {
        let mut p = Principal {
            id,
            username,
            statements: Vec::new(),
            vias: Vec::new(),
            policies: Vec::new(),
            boundary,
            missing: Vec::new(),
            origin: Vec::new(),
            groups: Vec::new(),
        };
        for (group, h) in holders {
            if let Some(g) = group {
                if p.groups.contains(g) {
                    continue;
                }
                p.groups.push(*g);
            }
            for (via, r) in &h.policies {
                if r.document == "missing" {
                    p.missing.push(via.clone());
                }
                for s in &r.statements {
                    p.statements.push(s.clone());
                    let how = if h.id == p.id {
                        via.clone()
                    } else {
                        format!("{via} (via {})", h.id)
                    };
                    p.vias.push(how);
                    p.policies.push(via.clone());
                    p.origin.push(*group);
                }
            }
        }
        p
    }

    /// Privilege level and the reason for an admin verdict.
    fn privilege(&self, account: &str) -> (Privilege, Option<String>) {
        if let Some(reason) =
            admin_reason(self.statements.iter(), account, self.boundary.as_deref())
        {
            return (Privilege::Admin, Some(reason));
        }
        let best = self
            .statements
            .iter()
            .zip(&self.policies)
            .filter(|(s, _)| s.effect == Effect::Allow)
            .map(|(s, via)| privilege_of(s, via, account))
            .map(|p| {
                if p == Privilege::Admin {
                    Privilege::Write
                } else {
                    p
                }
            })
            .max_by_key(|p| p.rank());
        let p = match best {
            Some(p) => p,
            None if self.missing.is_empty() => Privilege::None,
            None => Privilege::Unknown,
        };
        (p, None)
    }
}

// Lifecycle authority: who may issue, rotate and revoke each user's access keys.
//
// Every user, role and group is analysed once: for each lifecycle action, the statements that
// bear on it, each classified as reaching every user of the account (`Resource: "*"`,
// `arn:aws:iam::<account>:user/*`, …), some users (the literal prefix of its pattern says which)
// or none. Per user only the holders with a statement for some users whose prefix the user's ARN
// starts with are evaluated again; every other holder's entry is the same for all users and is
// built once.

/// `${aws:username}` replaced with `username` (for indexing a principal's patterns); `None` when
/// the pattern needs a user name and the holder has none (it never matches).
fn with_username(p: &str, username: Option<&str>) -> Option<String> {
    const VAR: &str = "${aws:username}";
    let lower = p.to_ascii_lowercase();
    if !lower.contains(VAR) {
        return Some(p.to_string());
    }
    let u = username?;
    let mut out = String::with_capacity(p.len() + u.len());
    let mut i = 0;
    while let Some(j) = lower[i..].find(VAR) {
        out.push_str(&p[i..i + j]);
        out.push_str(u);
        i += j + VAR.len();
    }
    out.push_str(&p[i..]);
    Some(out)
}

/// Whether a statement's resource patterns depend on the holder's user name.
fn member_dependent(s: &Statement) -> bool {
    s.resources
        .iter()
        .chain(&s.not_resources)
        .any(|p| p.to_ascii_lowercase().contains("${aws:username}"))
}

/// Which of the account's users a resource pattern (or a statement) reaches.
enum Reach {
    /// No user ARN matches.
    Never,
    /// Every user ARN matches.
    All,
    /// Only user ARNs starting with one of these literal prefixes may match.
    Some(Vec<String>),
}

/// `users` is `arn:aws:iam::<account>:user/`.
fn pattern_reach(p: &str, users: &str, username: Option<&str>) -> Reach {
    let Some(p) = with_username(p, username) else {
        return Reach::Never;
    };
    let literal = &p[..p.find(['*', '?', '$']).unwrap_or(p.len())];
    if !(literal.starts_with(users) || users.starts_with(literal)) {
        return Reach::Never;
    }
    if !p.contains('$')
        && let Some(head) = p.strip_suffix('*')
        // `head` matches a prefix of every user ARN and the final `*` the rest.
        && (0..=users.len()).any(|k| wildcard(head, &users[..k], false))
    {
        return Reach::All;
    }
    Reach::Some(vec![literal.to_string()])
}

fn statement_reach(s: &Statement, users: &str, username: Option<&str>) -> Reach {
    if !s.resources.is_empty() {
        let mut prefixes = Vec::new();
        for p in &s.resources {
            match pattern_reach(p, users, username) {
                Reach::All => return Reach::All,
                Reach::Never => {}
                Reach::Some(l) => prefixes.extend(l),
            }
        }
        if prefixes.is_empty() {
            Reach::Never
        } else {
            Reach::Some(prefixes)
        }
    } else if !s.not_resources.is_empty() {
        let mut some = false;
        for p in &s.not_resources {
            match pattern_reach(p, users, username) {
                Reach::All => return Reach::Never,
                Reach::Never => {}
                Reach::Some(_) => some = true,
            }
        }
        if some {
            // Applies to the users the exclusions miss: any user may be one.
            Reach::Some(vec![String::new()])
        } else {
            Reach::All
        }
    } else {
        Reach::All
    }
}

/// The statements of one holder that bear on one lifecycle action over the account's users.
struct Rule {
    /// (statement index, reaches every user); conditional denies and statements that reach no
    /// user are left out (they never decide).
    stmts: Vec<(usize, bool)>,
    /// The decision for a user that only the every-user statements reach.
    base: Decision,
    /// Whether some statement reaches only some users.
    specific: bool,
}

impl Rule {
    fn new(
        statements: &[Statement],
        keep: impl Fn(usize) -> bool,
        action: &str,
        users: &str,
        username: Option<&str>,
        prefixes: &mut Vec<String>,
    ) -> Rule {
        let mut stmts = Vec::new();
        let mut specific = false;
        for (i, s) in statements.iter().enumerate() {
            if !keep(i)
                || (s.effect == Effect::Deny && s.condition.is_some())
                || !s.covers_action(action)
            {
                continue;
            }
            match statement_reach(s, users, username) {
                Reach::Never => {}
                Reach::All => stmts.push((i, true)),
                Reach::Some(p) => {
                    prefixes.extend(p);
                    specific = true;
                    stmts.push((i, false));
                }
            }
        }
        let mut base = Decision::Implicit;
        for s in stmts
            .iter()
            .filter(|(_, all)| *all)
            .map(|(i, _)| &statements[*i])
        {
            match (s.effect, base) {
                (Effect::Deny, _) => {
                    base = Decision::Deny;
                    break;
                }
                (Effect::Allow, Decision::Allow { conditional }) => {
                    base = Decision::Allow {
                        conditional: conditional && s.condition.is_some(),
                    }
                }
                (Effect::Allow, _) => {
                    base = Decision::Allow {
                        conditional: s.condition.is_some(),
                    }
                }
            }
        }
        Rule {
            stmts,
            base,
            specific,
        }
    }

    /// The decision over `arn`, or (`None`) over a user only the every-user statements reach.
    fn decide(
        &self,
        statements: &[Statement],
        action: &str,
        arn: Option<&str>,
        username: Option<&str>,
    ) -> Decision {
        match arn {
            Some(arn) if self.specific => decide(
                self.stmts.iter().map(|(i, _)| &statements[*i]),
                action,
                arn,
                username,
            ),
            _ => self.base,
        }
    }

    /// The allow statements that apply to `arn` (or, `None`, that reach every user).
    fn allows<'a>(
        &'a self,
        statements: &'a [Statement],
        action: &'a str,
        arn: Option<&'a str>,
        username: Option<&'a str>,
    ) -> impl Iterator<Item = usize> + 'a {
        self.stmts
            .iter()
            .filter(move |(i, all)| {
                let s = &statements[*i];
                s.effect == Effect::Allow
                    && match arn {
                        None => *all,
                        Some(arn) => *all || s.applies(action, arn, username),
                    }
            })
            .map(|(i, _)| *i)
    }
}

/// A principal's lifecycle rules.
struct PrincipalRules {
    /// Over all its statements (its own and its groups').
    full: [Rule; 3],
    /// Over its permissions boundary, if it has one.
    boundary: Option<[Rule; 3]>,
    /// Literal prefixes of the statements that reach only some users.
    prefixes: Vec<String>,
    /// Whether some deny or its boundary may stop it doing what a group of it allows.
    fragile: bool,
    /// Whether it holds a lifecycle allow of its own (own policies, or group statements that
    /// name `${aws:username}`, which differ per member).
    own_allow: bool,
}

impl PrincipalRules {
    fn new(p: &Principal, users: &str) -> PrincipalRules {
        let mut prefixes = Vec::new();
        let username = p.username.as_deref();
        let full = LIFECYCLE.map(|(_, action)| {
            Rule::new(
                &p.statements,
                |_| true,
                action,
                users,
                username,
                &mut prefixes,
            )
        });
        let boundary = p.boundary.as_ref().map(|b| {
            LIFECYCLE
                .map(|(_, action)| Rule::new(b, |_| true, action, users, username, &mut prefixes))
        });
        let denies = full.iter().any(|r| {
            r.stmts
                .iter()
                .any(|(i, _)| p.statements[*i].effect == Effect::Deny)
        });
        let boundary_limits = boundary.as_ref().is_some_and(|b| {
            b.iter()
                .any(|r| r.specific || !matches!(r.base, Decision::Allow { .. }))
        });
        let own_allow = full.iter().any(|r| {
            r.stmts
                .iter()
                .any(|(i, _)| p.statements[*i].effect == Effect::Allow && own_like(p, *i))
        });
        prefixes.sort();
        prefixes.dedup();
        PrincipalRules {
            full,
            boundary,
            prefixes,
            fragile: denies || boundary_limits,
            own_allow,
        }
    }

    /// `Some(conditional)` when the principal may perform lifecycle step `k` on `arn`.
    fn may(&self, p: &Principal, k: usize, arn: Option<&str>) -> Option<bool> {
        let action = LIFECYCLE[k].1;
        let username = p.username.as_deref();
        let Decision::Allow { conditional } =
            self.full[k].decide(&p.statements, action, arn, username)
        else {
            return None;
        };
        if let (Some(rules), Some(b)) = (&self.boundary, &p.boundary)
            && !matches!(
                rules[k].decide(b, action, arn, username),
                Decision::Allow { .. }
            )
        {
            return None;
        }
        Some(conditional)
    }
}

/// Whether statement `i` of `p` counts as the principal's own authority rather than its group's.
fn own_like(p: &Principal, i: usize) -> bool {
    p.origin[i].is_none() || member_dependent(&p.statements[i])
}

/// A group's lifecycle rules: its statements that are the same for every member.
struct GroupRules {
    id: String,
    statements: Vec<Statement>,
    vias: Vec<String>,
    rules: [Rule; 3],
    prefixes: Vec<String>,
    /// Member principals (indices).
    members: Vec<usize>,
    /// Members that some deny or boundary may stop.
    fragile: Vec<usize>,
}

/// What a group's members may do to one user's keys.
#[derive(Clone)]
struct GroupAuthority {
    can: Vec<usize>,
    conditional: bool,
    vias: BTreeSet<String>,
    /// Members that may not do all of `can` (principal indices).
    except: Vec<usize>,
}

impl GroupRules {
    fn authority(
        &self,
        principals: &[Principal],
        rules: &[Option<PrincipalRules>],
        arn: Option<&str>,
    ) -> Option<GroupAuthority> {
        let mut a = GroupAuthority {
            can: Vec::new(),
            conditional: false,
            vias: BTreeSet::new(),
            except: Vec::new(),
        };
        for (k, (_, action)) in LIFECYCLE.iter().enumerate() {
            let rule = &self.rules[k];
            if let Decision::Allow { conditional } =
                rule.decide(&self.statements, action, arn, None)
            {
                a.can.push(k);
                a.conditional |= conditional;
                a.vias.extend(
                    rule.allows(&self.statements, action, arn, None)
                        .map(|i| self.vias[i].clone()),
                );
            }
        }
        if a.can.is_empty() {
            return None;
        }
        for &m in &self.fragile {
            let r = rules[m].as_ref().expect("fragile members have rules");
            if a.can
                .iter()
                .any(|&k| r.may(&principals[m], k, arn).is_none())
            {
                a.except.push(m);
            }
        }
        Some(a)
    }

    fn entry(&self, a: &GroupAuthority, principals: &[Principal]) -> Value {
        let can: Vec<&str> = a.can.iter().map(|&k| LIFECYCLE[k].0).collect();
        let mut e = json!({
            "principal": self.id,
            "can": can,
            "via": a.vias,
            "members": self.members.len(),
            "group": true,
        });
        if a.conditional {
            e["conditional"] = json!(true);
        }
        if !a.except.is_empty() {
            e["except"] = json!(
                a.except
                    .iter()
                    .map(|&m| &principals[m].id)
                    .collect::<Vec<_>>()
            );
        }
        e
    }
}

/// The entry of principal `pi` over `arn` (`None`: a user only every-user statements reach):
/// the steps its own policies allow, and those a group allows whose entry excepts it but which
/// it may still perform.
fn principal_entry(
    pi: usize,
    principals: &[Principal],
    rules: &[Option<PrincipalRules>],
    group_of: &HashMap<usize, usize>,
    authority: &dyn Fn(usize) -> Option<GroupAuthority>,
    arn: Option<&str>,
) -> Option<Value> {
    let p = &principals[pi];
    let r = rules[pi].as_ref()?;
    let username = p.username.as_deref();
    // Groups of `p` (indices) whose entry over `arn` excepts it, with the steps they allow.
    let excepted: Vec<(usize, Vec<usize>)> = if r.fragile {
        p.groups
            .iter()
            .filter_map(|&g| group_of.get(&g).map(|&e| (g, e)))
            .filter_map(|(g, e)| authority(e).map(|a| (g, a)))
            .filter(|(_, a)| a.except.contains(&pi))
            .map(|(g, a)| (g, a.can))
            .collect()
    } else {
        Vec::new()
    };
    let mut can = Vec::new();
    let mut vias = BTreeSet::new();
    let mut conditional = false;
    for (k, (step, action)) in LIFECYCLE.iter().enumerate() {
        let Some(c) = r.may(p, k, arn) else { continue };
        // Groups through which `p` performs step `k` without the group's entry saying so.
        let through = |g: usize| {
            excepted
                .iter()
                .any(|(x, steps)| *x == g && steps.contains(&k))
        };
        let applying: Vec<usize> = r.full[k]
            .allows(&p.statements, action, arn, username)
            .filter(|&i| own_like(p, i) || p.origin[i].is_some_and(through))
            .collect();
        if applying.is_empty() {
            continue;
        }
        can.push(*step);
        conditional |= c;
        vias.extend(applying.into_iter().map(|i| p.vias[i].clone()));
    }
    if can.is_empty() {
        return None;
    }
    let mut e = json!({ "principal": p.id, "can": can, "via": vias });
    if conditional {
        e["conditional"] = json!(true);
    }
    Some(e)
}

/// Fills `lifecycle_authority` of every user: `user_index` is (identity index, principal index,
/// ARN) of each user.
fn lifecycle_authority(
    records: &mut Records,
    principals: &[Principal],
    groups: &[(&Holder, Vec<usize>)],
    user_index: &[(usize, usize, String)],
    account: &str,
) {
    let users = format!("arn:aws:iam::{account}:user/");
    let rules: Vec<Option<PrincipalRules>> = principals
        .iter()
        .map(|p| {
            let r = PrincipalRules::new(p, &users);
            let bears = r.full.iter().any(|x| !x.stmts.is_empty());
            bears.then_some(r)
        })
        .collect();

    // Groups with a lifecycle allow the same for every member.
    let mut group_rules: Vec<GroupRules> = Vec::new();
    let mut group_of: HashMap<usize, usize> = HashMap::new(); // group index -> entity
    for (gi, (h, members)) in groups.iter().enumerate() {
        let mut statements = Vec::new();
        let mut vias = Vec::new();
        for (via, r) in &h.policies {
            for s in &r.statements {
                statements.push(s.clone());
                vias.push(via.clone());
            }
        }
        let mut prefixes = Vec::new();
        let shared: Vec<bool> = statements.iter().map(|s| !member_dependent(s)).collect();
        let rules3 = LIFECYCLE.map(|(_, action)| {
            Rule::new(
                &statements,
                |i| shared[i],
                action,
                &users,
                None,
                &mut prefixes,
            )
        });
        let allows = rules3.iter().any(|r| {
            r.stmts
                .iter()
                .any(|(i, _)| statements[*i].effect == Effect::Allow)
        });
        if !allows {
            continue;
        }
        let fragile: Vec<usize> = members
            .iter()
            .copied()
            .filter(|&m| rules[m].as_ref().is_some_and(|r| r.fragile))
            .collect();
        group_of.insert(gi, group_rules.len());
        group_rules.push(GroupRules {
            id: h.id.clone(),
            statements,
            vias,
            rules: rules3,
            prefixes,
            members: members.clone(),
            fragile,
        });
    }

    // Entities: groups first, then principals with authority of their own or an exception.
    let ng = group_rules.len();
    let mut candidate: Vec<bool> = rules
        .iter()
        .map(|r| r.as_ref().is_some_and(|r| r.own_allow))
        .collect();
    for g in &group_rules {
        for &m in &g.fragile {
            candidate[m] = true;
        }
    }
    // Which entities a user ARN starting with a prefix must be evaluated again for.
    let mut index: HashMap<String, Vec<usize>> = HashMap::new();
    for (e, g) in group_rules.iter().enumerate() {
        let members = g.fragile.iter().flat_map(|&m| {
            rules[m]
                .as_ref()
                .map(|r| r.prefixes.iter())
                .into_iter()
                .flatten()
        });
        for p in g.prefixes.iter().chain(members) {
            index.entry(p.clone()).or_default().push(e);
        }
    }
    for (pi, r) in rules.iter().enumerate() {
        let Some(r) = r else { continue };
        if !candidate[pi] {
            continue;
        }
        let groups = principals[pi]
            .groups
            .iter()
            .filter_map(|g| group_of.get(g))
            .flat_map(|&e| group_rules[e].prefixes.iter());
        let mut mine: Vec<&String> = r.prefixes.iter().chain(groups).collect();
        mine.sort();
        mine.dedup();
        for p in mine {
            index.entry(p.clone()).or_default().push(ng + pi);
        }
    }
    for v in index.values_mut() {
        v.sort_unstable();
        v.dedup();
    }

    // What every user gets unless a prefix of theirs says otherwise.
    let base_groups: Vec<Option<GroupAuthority>> = group_rules
        .iter()
        .map(|g| g.authority(principals, &rules, None))
        .collect();
    let base_authority = |e: usize| base_groups[e].clone();
    let mut base: Vec<(usize, Value)> = Vec::new();
    for (e, g) in group_rules.iter().enumerate() {
        if let Some(a) = &base_groups[e] {
            base.push((e, g.entry(a, principals)));
        }
    }
    for pi in (0..principals.len()).filter(|&pi| candidate[pi]) {
        if let Some(v) = principal_entry(pi, principals, &rules, &group_of, &base_authority, None) {
            base.push((ng + pi, v));
        }
    }

    let note = "the account root user can always issue, rotate and revoke; service control policies are not in the export";
    let everyone = json!({
        "principals": base.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>(),
        "note": note,
    });
    let mut again: Vec<usize> = Vec::new();
    for (idx, _, arn) in user_index {
        again.clear();
        for k in (0..=arn.len()).filter(|&k| arn.is_char_boundary(k)) {
            if let Some(es) = index.get(&arn[..k]) {
                again.extend(es);
            }
        }
        again.sort_unstable();
        again.dedup();
        if again.is_empty() {
            // The same for every such user: built once, cloned.
            records.identities[*idx]
                .attributes
                .insert("lifecycle_authority".into(), everyone.clone());
            continue;
        }
        let mut entries = Vec::with_capacity(base.len() + again.len());
        {
            let mut groups_here: HashMap<usize, Option<GroupAuthority>> = HashMap::new();
            for &e in again.iter().filter(|&&e| e < ng) {
                groups_here.insert(e, group_rules[e].authority(principals, &rules, Some(arn)));
            }
            let authority = |e: usize| match groups_here.get(&e) {
                Some(a) => a.clone(),
                None => base_groups[e].clone(),
            };
            let mut b = base.iter().peekable();
            for &e in &again {
                while let Some((be, v)) = b.peek()
                    && *be < e
                {
                    entries.push(v.clone());
                    b.next();
                }
                if b.peek().is_some_and(|(be, _)| *be == e) {
                    b.next();
                }
                let v = if e < ng {
                    groups_here[&e]
                        .as_ref()
                        .map(|a| group_rules[e].entry(a, principals))
                } else {
                    principal_entry(e - ng, principals, &rules, &group_of, &authority, Some(arn))
                };
                entries.extend(v);
            }
            entries.extend(b.map(|(_, v)| v.clone()));
        }
        records.identities[*idx].attributes.insert(
            "lifecycle_authority".into(),
            json!({ "principals": entries, "note": note }),
        );
    }
}

fn condition_keys(c: &Value) -> Vec<String> {
    // {"StringEquals": {"key": value}, …}
    let mut keys = Vec::new();
    if let Some(ops) = c.as_object() {
        for v in ops.values() {
            if let Some(m) = v.as_object() {
                keys.extend(m.keys().map(|k| k.to_ascii_lowercase()));
            }
        }
    }
    keys
}

fn principal_values(p: &Value, key: &str) -> Vec<String> {
    match p {
        Value::String(s) if s == "*" => vec!["*".into()],
        Value::Object(o) => match o.get(key) {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// What a role's trust policy lets in, which of that is external exposure, and which of the
/// exposure is unrestricted (a weakness whatever the contract says).
fn trust_of(doc: &PolicyDocument, account: &str) -> (Value, Vec<String>, Vec<String>) {
    let mut weak = Vec::new();
    let mut accounts = BTreeSet::new();
    let mut services = BTreeSet::new();
    let mut federated = BTreeSet::new();
    let mut public = false;
    let mut exposure = Vec::new();
    for s in &doc.statements {
        if s.effect != Effect::Allow {
            continue;
        }
        let Some(p) = &s.principal else { continue };
        let keys = s.condition.as_ref().map(condition_keys).unwrap_or_default();
        let aws = principal_values(p, "AWS");
        if matches!(p, Value::String(x) if x == "*") || aws.iter().any(|a| a == "*") {
            public = true;
            let limited = keys.iter().any(|k| {
                k == "aws:principalorgid" || k == "aws:principalaccount" || k == "aws:sourceaccount"
            });
            if limited {
                exposure.push(
                    "trusts any AWS principal (limited by an organisation or account condition)"
                        .to_string(),
                );
            } else {
                let w = "trusts any AWS principal: anyone with an AWS account may assume it";
                exposure.push(w.to_string());
                weak.push(w.to_string());
            }
        }
        for a in aws.iter().filter(|a| *a != "*") {
            let acct = if a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit()) {
                a.as_str()
            } else {
                arn_account(a).unwrap_or(a.as_str())
            };
            accounts.insert(a.clone());
            if acct != account {
                let ext_id = keys.iter().any(|k| k == "sts:externalid");
                if ext_id {
                    exposure.push(format!(
                        "trusts external account {acct} (with an ExternalId condition)"
                    ));
                } else {
                    let w =
                        format!("trusts external account {acct} without an ExternalId condition");
                    exposure.push(w.clone());
                    weak.push(w);
                }
            }
        }
        services.extend(principal_values(p, "Service"));
        for f in principal_values(p, "Federated") {
            if f.contains(":oidc-provider/") {
                let host = f.split(":oidc-provider/").nth(1).unwrap_or(&f).to_string();
                let sub_key = format!("{}:sub", host.to_ascii_lowercase());
                let has_sub = keys.iter().any(|k| *k == sub_key || k.ends_with(":sub"));
                if has_sub {
                    exposure.push(format!("OIDC federation with {host}, restricted by `sub`"));
                } else {
                    let w = format!(
                        "OIDC federation with {host} without a `sub` restriction: any workload that provider issues tokens to may assume it"
                    );
                    exposure.push(w.clone());
                    weak.push(w);
                }
            }
            federated.insert(f);
        }
    }
    (
        json!({
            "accounts": accounts,
            "services": services,
            "federated": federated,
            "public": public,
        }),
        exposure,
        weak,
    )
}

fn tags(list: &[Tag]) -> BTreeMap<String, String> {
    list.iter()
        .map(|t| (t.key.clone(), t.value.clone()))
        .collect()
}

/// Parses an authorization-details export (one or more page documents) into identities and
/// grants. `path` names the file in errors.
pub fn parse(path: &str, bytes: &[u8]) -> Result<Records, SourceError> {
    let pages = pages(path, bytes)?;
    let mut users = Vec::new();
    let mut groups = Vec::new();
    let mut roles = Vec::new();
    let mut managed: HashMap<String, PolicyDocument> = HashMap::new();
    let mut truncated = false;
    for p in pages {
        users.extend(p.user_detail_list.unwrap_or_default());
        groups.extend(p.group_detail_list.unwrap_or_default());
        roles.extend(p.role_detail_list.unwrap_or_default());
        truncated |= p.is_truncated.unwrap_or(false);
        for m in p.policies.unwrap_or_default() {
            let default = m
                .policy_version_list
                .into_iter()
                .filter(|v| v.is_default_version)
                .find_map(|v| v.document);
            if let Some(d) = default {
                managed.insert(m.arn, d.0);
            }
        }
    }
    let _ = truncated; // pages are merged; a truncated last page simply lists less

    // One account per export.
    let mut account: Option<String> = None;
    let arns = users
        .iter()
        .map(|u| ("UserDetailList", &u.arn))
        .chain(roles.iter().map(|r| ("RoleDetailList", &r.arn)))
        .chain(groups.iter().map(|g| ("GroupDetailList", &g.arn)));
    for (list, arn) in arns {
        let Some(a) = arn_account(arn) else {
            return Err(SourceError::File {
                path: path.into(),
                message: format!(
                    "{list}: {} is not an IAM ARN (arn:aws:iam::<12-digit account>:…)",
                    crate::show_value(arn)
                ),
            });
        };
        match &account {
            None => account = Some(a.to_string()),
            Some(x) if x == a => {}
            Some(x) => {
                return Err(SourceError::File {
                    path: path.into(),
                    message: format!(
                        "mixes accounts {x} and {a}; an authorization-details export covers one account (import one file per account)"
                    ),
                });
            }
        }
    }
    let Some(account) = account else {
        return Ok(Records::default());
    };
    let scope = format!("aws:{account}");

    let group_holders: BTreeMap<String, Holder> = groups
        .iter()
        .map(|g| {
            let id = ids::aws_group(&account, &g.group_name);
            (
                g.group_name.clone(),
                holder(
                    id,
                    &g.group_policy_list,
                    &g.attached_managed_policies,
                    &managed,
                ),
            )
        })
        .collect();
    let boundary_of = |b: &Option<Boundary>| -> Option<Vec<Statement>> {
        b.as_ref()
            .map(|b| resolve_managed(&b.permissions_boundary_arn, &managed))
            // A boundary whose document is missing is not assumed to restrict anything.
            .filter(|r| r.document != "missing")
            .map(|r| r.statements)
    };

    let mut records = Records::default();
    let mut principals: Vec<Principal> = Vec::with_capacity(users.len() + roles.len());
    let group_index: HashMap<&str, usize> = group_holders
        .keys()
        .enumerate()
        .map(|(i, name)| (name.as_str(), i))
        .collect();
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); group_holders.len()];
    // (identity index, principal index, arn)
    let mut user_index: Vec<(usize, usize, String)> = Vec::new();

    for g in group_holders.values() {
        records.grants.extend(grants_of(g, &scope, &account));
    }

    for u in &users {
        let id = ids::aws_user(&account, &u.user_name);
        let own = holder(
            id.clone(),
            &u.user_policy_list,
            &u.attached_managed_policies,
            &managed,
        );
        records.grants.extend(grants_of(&own, &scope, &account));
        let mut hs: Vec<(Option<usize>, &Holder)> = vec![(None, &own)];
        let mut group_ids = Vec::new();
        for g in &u.group_list {
            group_ids.push(ids::aws_group(&account, g));
            if let (Some(h), Some(&gi)) = (group_holders.get(g), group_index.get(g.as_str())) {
                hs.push((Some(gi), h));
            }
        }
        let principal = Principal::new(
            id.clone(),
            Some(u.user_name.clone()),
            &hs,
            boundary_of(&u.permissions_boundary),
        );
        let (privilege, reason) = principal.privilege(&account);
        let mut attributes = Attributes::new();
        attributes.insert("arn".into(), json!(u.arn));
        if let Some(p) = &u.path {
            attributes.insert("path".into(), json!(p));
        }
        if let Some(uid) = &u.user_id {
            attributes.insert("user_id".into(), json!(uid));
        }
        attributes.insert("groups".into(), json!(group_ids));
        attributes.insert(
            "managed_policies".into(),
            json!(
                u.attached_managed_policies
                    .iter()
                    .map(|a| &a.policy_arn)
                    .collect::<Vec<_>>()
            ),
        );
        attributes.insert(
            "inline_policies".into(),
            json!(
                u.user_policy_list
                    .iter()
                    .map(|p| &p.policy_name)
                    .collect::<Vec<_>>()
            ),
        );
        if let Some(b) = &u.permissions_boundary {
            attributes.insert(
                "permissions_boundary".into(),
                json!(b.permissions_boundary_arn),
            );
        }
        if let Some(r) = reason {
            attributes.insert("privilege_reason".into(), json!(r));
        }
        if !principal.missing.is_empty() {
            attributes.insert("privilege_incomplete".into(), json!(principal.missing));
        }
        records.identities.push(Identity {
            id,
            kind: "aws-iam-user".into(),
            source: SOURCE.into(),
            scope: scope.clone(),
            name: u.user_name.clone(),
            account: Some(account.clone()),
            status: Status::Active,
            privilege,
            created_at: u.create_date.map(|t| t.0),
            last_used_at: None,
            tags: tags(&u.tags),
            attributes,
        });
        for &g in &principal.groups {
            members[g].push(principals.len());
        }
        user_index.push((
            records.identities.len() - 1,
            principals.len(),
            u.arn.clone(),
        ));
        principals.push(principal);
    }

    for r in &roles {
        let id = ids::aws_role(&account, &r.role_name);
        let own = holder(
            id.clone(),
            &r.role_policy_list,
            &r.attached_managed_policies,
            &managed,
        );
        records.grants.extend(grants_of(&own, &scope, &account));
        let principal = Principal::new(
            id.clone(),
            None,
            &[(None, &own)],
            boundary_of(&r.permissions_boundary),
        );
        let (privilege, reason) = principal.privilege(&account);
        let mut attributes = Attributes::new();
        attributes.insert("arn".into(), json!(r.arn));
        if let Some(p) = &r.path {
            attributes.insert("path".into(), json!(p));
            if p.starts_with("/aws-service-role/") {
                attributes.insert("service_linked".into(), json!(true));
                attributes.insert("managed_by".into(), json!("aws"));
            }
        }
        if let Some(rid) = &r.role_id {
            attributes.insert("role_id".into(), json!(rid));
        }
        if let Some(d) = &r.description
            && !d.is_empty()
        {
            attributes.insert("description".into(), json!(d));
        }
        if let Some(m) = r.max_session_duration {
            attributes.insert("max_session_duration".into(), json!(m));
        }
        if !r.instance_profile_list.is_empty() {
            attributes.insert(
                "instance_profiles".into(),
                json!(
                    r.instance_profile_list
                        .iter()
                        .map(|i| &i.instance_profile_name)
                        .collect::<Vec<_>>()
                ),
            );
        }
        attributes.insert(
            "managed_policies".into(),
            json!(
                r.attached_managed_policies
                    .iter()
                    .map(|a| &a.policy_arn)
                    .collect::<Vec<_>>()
            ),
        );
        attributes.insert(
            "inline_policies".into(),
            json!(
                r.role_policy_list
                    .iter()
                    .map(|p| &p.policy_name)
                    .collect::<Vec<_>>()
            ),
        );
        if let Some(b) = &r.permissions_boundary {
            attributes.insert(
                "permissions_boundary".into(),
                json!(b.permissions_boundary_arn),
            );
        }
        if let Some(doc) = &r.assume_role_policy_document {
            let (trust, exposure, weak) = trust_of(&doc.0, &account);
            attributes.insert("trust".into(), trust);
            if !exposure.is_empty() {
                attributes.insert("external_trust".into(), json!(exposure));
            }
            if !weak.is_empty() {
                attributes.insert("trust_weaknesses".into(), json!(weak));
            }
        }
        if let Some(reason) = reason {
            attributes.insert("privilege_reason".into(), json!(reason));
        }
        if !principal.missing.is_empty() {
            attributes.insert("privilege_incomplete".into(), json!(principal.missing));
        }
        let last_used = r.role_last_used.as_ref();
        if let Some(region) = last_used.and_then(|l| l.region.as_ref()) {
            attributes.insert("last_used_region".into(), json!(region));
        }
        records.identities.push(Identity {
            id,
            kind: "aws-iam-role".into(),
            source: SOURCE.into(),
            scope: scope.clone(),
            name: r.role_name.clone(),
            account: Some(account.clone()),
            status: Status::Active,
            privilege,
            created_at: r.create_date.map(|t| t.0),
            last_used_at: last_used.and_then(|l| l.last_used_date).map(|t| t.0),
            tags: tags(&r.tags),
            attributes,
        });
        principals.push(principal);
    }

    // Lifecycle authority over every user's access keys.
    let groups: Vec<(&Holder, Vec<usize>)> = group_holders.values().zip(members).collect();
    lifecycle_authority(&mut records, &principals, &groups, &user_index, &account);
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find<'a>(r: &'a Records, id: &str) -> &'a Identity {
        r.identities
            .iter()
            .find(|i| i.id == id)
            .unwrap_or_else(|| panic!("no {id}"))
    }

    const DOC: &str = r#"{
  "UserDetailList": [
    {"Path": "/ci/", "UserName": "deployer", "UserId": "AIDA1", "Arn": "arn:aws:iam::111122223333:user/ci/deployer",
     "CreateDate": "2024-01-02T03:04:05Z", "UserPolicyList": [], "GroupList": ["ops"],
     "AttachedManagedPolicies": [], "Tags": [{"Key": "service", "Value": "payments"}]},
    {"Path": "/", "UserName": "idle", "Arn": "arn:aws:iam::111122223333:user/idle", "CreateDate": "2024-01-02T03:04:05+00:00"}
  ],
  "GroupDetailList": [
    {"GroupName": "ops", "Arn": "arn:aws:iam::111122223333:group/ops",
     "GroupPolicyList": [{"PolicyName": "keys", "PolicyDocument": "%7B%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22iam%3A%2AAccessKey%22%2C%22Resource%22%3A%22arn%3Aaws%3Aiam%3A%3A111122223333%3Auser%2F%2A%22%7D%5D%7D"}],
     "AttachedManagedPolicies": []}
  ],
  "RoleDetailList": [
    {"RoleName": "admin", "Arn": "arn:aws:iam::111122223333:role/admin", "CreateDate": "2023-01-01T00:00:00Z",
     "AssumeRolePolicyDocument": {"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999988887777:root"}, "Action": "sts:AssumeRole"}]},
     "AttachedManagedPolicies": [{"PolicyName": "AdministratorAccess", "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}],
     "RoleLastUsed": {"LastUsedDate": "2026-11-30T10:00:00Z", "Region": "eu-central-1"}},
    {"RoleName": "gha", "Arn": "arn:aws:iam::111122223333:role/gha",
     "AssumeRolePolicyDocument": {"Statement": [{"Effect": "Allow", "Principal": {"Federated": "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"}, "Action": "sts:AssumeRoleWithWebIdentity", "Condition": {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}}}]},
     "AttachedManagedPolicies": [{"PolicyName": "Custom", "PolicyArn": "arn:aws:iam::111122223333:policy/custom"}]}
  ],
  "Policies": [
    {"PolicyName": "custom", "Arn": "arn:aws:iam::111122223333:policy/custom", "DefaultVersionId": "v2",
     "PolicyVersionList": [
       {"Document": {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}, "VersionId": "v1", "IsDefaultVersion": false},
       {"Document": {"Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}]}, "VersionId": "v2", "IsDefaultVersion": true}
     ]}
  ]
}"#;

    #[test]
    fn users_roles_privilege_trust_and_authority() {
        let r = parse("a.json", DOC.as_bytes()).expect("parse");
        assert_eq!(r.identities.len(), 4);
        let deployer = find(&r, "aws:111122223333:user/deployer");
        // iam:*AccessKey on user/* is escalation (CreateAccessKey on any user)
        assert_eq!(deployer.privilege, Privilege::Admin);
        assert_eq!(deployer.tags["service"], "payments");
        assert_eq!(
            deployer.attributes["groups"],
            json!(["aws:111122223333:group/ops"])
        );
        let idle = find(&r, "aws:111122223333:user/idle");
        assert_eq!(idle.privilege, Privilege::None);
        let authority = &idle.attributes["lifecycle_authority"]["principals"];
        let principals: Vec<&str> = authority
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|e| e["principal"].as_str())
            .collect();
        // the group's authority is one entry for the group, not one per member
        assert_eq!(
            principals,
            vec!["aws:111122223333:group/ops", "aws:111122223333:role/admin"]
        );
        assert_eq!(authority[0]["can"], json!(["issue", "rotate", "revoke"]));
        assert_eq!(authority[0]["via"], json!(["inline:keys"]));
        assert_eq!(authority[0]["members"], json!(1));
        assert_eq!(authority[0]["group"], json!(true));
        assert!(authority[0].get("except").is_none());
        assert_eq!(
            authority[1],
            json!({
                "principal": "aws:111122223333:role/admin",
                "can": ["issue", "rotate", "revoke"],
                "via": ["arn:aws:iam::aws:policy/AdministratorAccess"]
            })
        );
        let admin = find(&r, "aws:111122223333:role/admin");
        assert_eq!(admin.privilege, Privilege::Admin);
        assert!(admin.last_used_at.is_some());
        assert_eq!(
            admin.attributes["external_trust"],
            json!(["trusts external account 999988887777 without an ExternalId condition"])
        );
        let gha = find(&r, "aws:111122223333:role/gha");
        // the default version (v2) counts, not v1
        assert_eq!(gha.privilege, Privilege::Read);
        assert!(
            gha.attributes["trust_weaknesses"][0]
                .as_str()
                .expect("text")
                .contains("without a `sub` restriction")
        );
        // group grants are held by the group; lifecycle tagged
        let g = r
            .grants
            .iter()
            .find(|g| g.holder == "aws:111122223333:group/ops")
            .expect("group grant");
        assert_eq!(
            g.attributes["lifecycle"],
            json!(["issue", "rotate", "revoke"])
        );
    }

    fn authority_of(r: &Records, user: &str) -> Vec<Value> {
        find(r, &format!("aws:111122223333:user/{user}")).attributes["lifecycle_authority"]
            ["principals"]
            .as_array()
            .expect("list")
            .clone()
    }

    const GROUPS: &str = r#"{
  "UserDetailList": [
    {"UserName": "a", "Arn": "arn:aws:iam::111122223333:user/a", "GroupList": ["keyadmins", "everyone"]},
    {"UserName": "b", "Arn": "arn:aws:iam::111122223333:user/b", "GroupList": ["keyadmins", "everyone"],
     "UserPolicyList": [{"PolicyName": "no-revoke", "PolicyDocument": {"Statement": [{"Effect": "Deny", "Action": "iam:DeleteAccessKey", "Resource": "*"}]}}]},
    {"UserName": "c", "Arn": "arn:aws:iam::111122223333:user/c", "GroupList": ["keyadmins"],
     "UserPolicyList": [{"PolicyName": "hands-off", "PolicyDocument": {"Statement": [{"Effect": "Deny", "Action": "iam:*AccessKey", "Resource": "arn:aws:iam::111122223333:user/ci/*"}]}}]},
    {"UserName": "d", "Arn": "arn:aws:iam::111122223333:user/d", "GroupList": ["keyadmins"],
     "UserPolicyList": [{"PolicyName": "maybe", "PolicyDocument": {"Statement": [{"Effect": "Deny", "Action": "iam:*", "Resource": "*", "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}}}]}}]},
    {"Path": "/ci/", "UserName": "builder", "Arn": "arn:aws:iam::111122223333:user/ci/builder", "GroupList": ["everyone"]},
    {"UserName": "root-keys", "Arn": "arn:aws:iam::111122223333:user/root-keys"}
  ],
  "GroupDetailList": [
    {"GroupName": "keyadmins", "Arn": "arn:aws:iam::111122223333:group/keyadmins",
     "GroupPolicyList": [{"PolicyName": "keys", "PolicyDocument": {"Statement": [
       {"Effect": "Allow", "Action": "iam:*AccessKey*", "Resource": "*"},
       {"Effect": "Deny", "Action": "iam:*", "Resource": "arn:aws:iam::111122223333:user/root-keys"}]}}]},
    {"GroupName": "everyone", "Arn": "arn:aws:iam::111122223333:group/everyone",
     "GroupPolicyList": [{"PolicyName": "own-keys", "PolicyDocument": {"Statement": [
       {"Effect": "Allow", "Action": ["iam:CreateAccessKey", "iam:UpdateAccessKey", "iam:DeleteAccessKey"], "Resource": "arn:aws:iam::*:user/${aws:username}"}]}}]}
  ],
  "RoleDetailList": [
    {"RoleName": "rotator", "Arn": "arn:aws:iam::111122223333:role/rotator",
     "RolePolicyList": [{"PolicyName": "rotate", "PolicyDocument": {"Statement": [
       {"Effect": "Allow", "Action": "iam:UpdateAccessKey", "Resource": "arn:aws:iam::111122223333:user/ci/*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}}]}}]}
  ]
}"#;

    #[test]
    fn aws_group_authority_is_one_entry_with_exceptions() {
        let r = parse("g.json", GROUPS.as_bytes()).expect("parse");
        let all3 = json!(["issue", "rotate", "revoke"]);
        // Over a: the group once (b, whose own policy denies revoking, excepted and listed with
        // what it still may do); a manages its own keys through `everyone`, which names
        // ${aws:username} and so is the member's own authority.
        let a = authority_of(&r, "a");
        assert_eq!(
            a,
            vec![
                json!({"principal": "aws:111122223333:group/keyadmins", "can": all3,
                       "via": ["inline:keys"], "members": 4, "group": true,
                       "except": ["aws:111122223333:user/b"]}),
                json!({"principal": "aws:111122223333:user/a", "can": all3,
                       "via": ["inline:own-keys (via aws:111122223333:group/everyone)"]}),
                json!({"principal": "aws:111122223333:user/b", "can": ["issue", "rotate"],
                       "via": ["inline:keys (via aws:111122223333:group/keyadmins)"]}),
            ]
        );
        // Over ci/builder: c's own deny on user/ci/* excepts it too; the role's own conditional
        // allow is its own entry. builder's own-keys policy does not reach it: its ARN has a
        // path, `user/${aws:username}` has none.
        let ci = authority_of(&r, "builder");
        assert_eq!(
            ci[0]["except"],
            json!(["aws:111122223333:user/b", "aws:111122223333:user/c"])
        );
        let ids: Vec<&str> = ci.iter().filter_map(|e| e["principal"].as_str()).collect();
        assert_eq!(
            ids,
            vec![
                "aws:111122223333:group/keyadmins",
                "aws:111122223333:user/b",
                "aws:111122223333:role/rotator"
            ]
        );
        assert_eq!(
            ci[2],
            json!({"principal": "aws:111122223333:role/rotator", "can": ["rotate"],
                   "via": ["inline:rotate"], "conditional": true})
        );
        // A deny in the group's own policy removes the group entry.
        assert_eq!(authority_of(&r, "root-keys"), Vec::<Value>::new());
        // A conditional deny is not assumed to apply: d is not excepted.
        assert!(authority_of(&r, "c")[0].get("except").is_some());
        assert!(
            !authority_of(&r, "c")[0]["except"]
                .as_array()
                .expect("except")
                .iter()
                .any(|m| m == "aws:111122223333:user/d")
        );
    }

    #[test]
    fn aws_group_authority_does_not_multiply_by_members() {
        let users = 2_000;
        let mut doc = String::from(r#"{"UserDetailList": ["#);
        for i in 0..users {
            let groups = if i < 500 { r#"["admins"]"# } else { "[]" };
            doc.push_str(&format!(
                r#"{}{{"UserName": "u{i}", "Arn": "arn:aws:iam::111122223333:user/team/u{i}", "GroupList": {groups}}}"#,
                if i == 0 { "" } else { "," }
            ));
        }
        doc.push_str(r#"], "GroupDetailList": [{"GroupName": "admins", "Arn": "arn:aws:iam::111122223333:group/admins",
            "GroupPolicyList": [{"PolicyName": "keys", "PolicyDocument": {"Statement": [{"Effect": "Allow", "Action": "iam:*AccessKey*", "Resource": "arn:aws:iam::111122223333:user/*"}]}}]}]}"#);
        let r = parse("big.json", doc.as_bytes()).expect("parse");
        let mut entries = 0;
        for i in r.identities.iter() {
            let list = i.attributes["lifecycle_authority"]["principals"]
                .as_array()
                .expect("list");
            assert_eq!(list.len(), 1, "{}", i.id);
            assert_eq!(list[0]["principal"], "aws:111122223333:group/admins");
            assert_eq!(list[0]["members"], json!(500));
            entries += list.len();
        }
        assert_eq!(entries, users);
    }

    #[test]
    fn aws_all_users_patterns() {
        let users = "arn:aws:iam::111122223333:user/";
        let reach = |p: &str| match pattern_reach(p, users, Some("me")) {
            Reach::Never => "never".to_string(),
            Reach::All => "all".to_string(),
            Reach::Some(l) => l.join(","),
        };
        assert_eq!(reach("*"), "all");
        assert_eq!(reach("arn:aws:iam::111122223333:user/*"), "all");
        assert_eq!(reach("arn:aws:iam::*:user/*"), "all");
        assert_eq!(reach("arn:aws:iam::*"), "all");
        assert_eq!(reach("arn:aws:iam::111122223333:*"), "all");
        assert_eq!(reach("arn:aws:iam::444455556666:user/*"), "never");
        assert_eq!(reach("arn:aws:s3:::bucket/*"), "never");
        assert_eq!(reach("arn:aws:iam::111122223333:role/*"), "never");
        assert_eq!(
            reach("arn:aws:iam::111122223333:user/ci/*"),
            "arn:aws:iam::111122223333:user/ci/"
        );
        assert_eq!(reach("arn:aws:iam::*:user/ci/*"), "arn:aws:iam::");
        assert_eq!(
            reach("arn:aws:iam::111122223333:user/${aws:username}"),
            "arn:aws:iam::111122223333:user/me"
        );
        assert_eq!(
            reach("arn:aws:iam::111122223333:user/*x"),
            "arn:aws:iam::111122223333:user/"
        );
    }

    #[test]
    fn pages_merge_and_errors_name_the_field() {
        let two = r#"{"UserDetailList": [{"UserName": "a", "Arn": "arn:aws:iam::111122223333:user/a"}], "IsTruncated": true, "Marker": "x"}
{"UserDetailList": [{"UserName": "b", "Arn": "arn:aws:iam::111122223333:user/b"}], "IsTruncated": false}"#;
        let r = parse("p.json", two.as_bytes()).expect("pages");
        assert_eq!(r.identities.len(), 2);

        let bad = "{\n \"UserDetailList\": [\n  {\"UserName\": \"a\", \"Arn\": \"arn:aws:iam::111122223333:user/a\", \"CreateDate\": \"yesterday\"}\n ]\n}";
        let e = parse("bad.json", bad.as_bytes())
            .expect_err("bad date")
            .to_string();
        assert!(e.contains("bad.json:3"), "{e}");
        assert!(e.contains("UserDetailList[0].CreateDate"), "{e}");

        let bad = r#"{"RoleDetailList": [{"RoleName": "r", "Arn": "arn:aws:iam::111122223333:role/r", "AssumeRolePolicyDocument": {"Statement": [{"Effect": "Perhaps"}]}}]}"#;
        let e = parse("bad.json", bad.as_bytes())
            .expect_err("bad doc")
            .to_string();
        assert!(
            e.contains("RoleDetailList[0].AssumeRolePolicyDocument"),
            "{e}"
        );

        let e = parse("t.json", &DOC.as_bytes()[..300])
            .expect_err("truncated")
            .to_string();
        assert!(e.contains("t.json:"), "{e}");
        let e = parse("x.json", b"{\"Foo\": 1}")
            .expect_err("not an export")
            .to_string();
        assert!(e.contains("not an authorization-details export"), "{e}");
        assert!(parse("e.json", b"").is_err());
        assert!(parse("b.json", b"\xff\xfe\x00junk").is_err());
        let mixed = r#"{"UserDetailList": [{"UserName": "a", "Arn": "arn:aws:iam::111122223333:user/a"}, {"UserName": "b", "Arn": "arn:aws:iam::444455556666:user/b"}]}"#;
        assert!(
            parse("m.json", mixed.as_bytes())
                .expect_err("mixed")
                .to_string()
                .contains("mixes accounts")
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = format!(
            "{{\"UserDetailList\": [{{\"UserName\": \"a\", \"Arn\": \"arn:aws:iam::111122223333:user/a\", \"UserPolicyList\": [{{\"PolicyName\": \"p\", \"PolicyDocument\": {}1{}}}]}}]}}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert!(parse("deep.json", deep.as_bytes()).is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,400}") {
            let _ = parse("fuzz.json", s.as_bytes());
        }
    }
}
