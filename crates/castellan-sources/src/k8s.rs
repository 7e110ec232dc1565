//! Kubernetes: the `v1 List` that
//! `kubectl get serviceaccounts,secrets,roles,clusterroles,rolebindings,clusterrolebindings,pods -A -o json`
//! prints, any single object or `…List`, several JSON documents in one file, and plain
//! multi-document manifest YAML (Deployments, StatefulSets, DaemonSets, Jobs, CronJobs and Pods as
//! well as the RBAC objects).
//!
//! Yields:
//! - every **ServiceAccount** as an identity `k8s:<cluster>:<namespace>/sa/<name>`, with its
//!   privilege from RBAC (and why), the groups Kubernetes puts it in, the workloads that run as it
//!   (its consumers, and whether they get its token), its cloud workload-identity links (EKS
//!   `eks.amazonaws.com/role-arn`, GKE `iam.gke.io/gcp-service-account`, Azure
//!   `azure.workload.identity/client-id`), and the subjects that may **issue** a token for it
//!   (`create serviceaccounts/token`, or `create secrets` for a legacy token), **use** its legacy
//!   token (`get`/`list`/`watch` on the token secret) and **revoke** it (`delete` on the secret or
//!   the service account);
//! - every legacy token **Secret** (`kubernetes.io/service-account-token`) as a non-expiring
//!   `token` credential of its service account, with last use from the
//!   `kubernetes.io/legacy-token-last-used` label and invalidation from
//!   `kubernetes.io/legacy-token-invalid-since`; the token itself is only fingerprinted;
//! - one **grant** per RBAC rule per binding subject (service accounts and the
//!   `system:serviceaccounts[:<ns>]` / `system:authenticated` groups), with its privilege level.
//!
//! Secret values other than legacy tokens are neither read nor kept. Annotations of Secrets are
//! never read (`kubectl.kubernetes.io/last-applied-configuration` holds the secret data).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use base64::Engine;
use castellan_model::{
    Credential, Effect, FingerprintKey, Grant, Identity, Privilege, Redacted, Status, parse_ts,
};
use jiff::Timestamp;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::json_input::{Lines, decode_at, documents, text_of};
use crate::{Records, SourceError, show_value};

/// The source name.
pub const SOURCE: &str = "kubernetes";

const TOKEN_SECRET: &str = "kubernetes.io/service-account-token";
const SA_NAME_ANNOTATION: &str = "kubernetes.io/service-account.name";
const LAST_USED_LABEL: &str = "kubernetes.io/legacy-token-last-used";
const INVALID_SINCE_LABEL: &str = "kubernetes.io/legacy-token-invalid-since";
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The cluster name used in ids when none is given: the file name without its extension
/// (`prod-eu.json` ⇒ `prod-eu`), with anything but letters, digits, `-`, `_` and `.` replaced.
pub fn cluster_from_path(path: &Path) -> String {
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("cluster");
    let clean: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    if clean.is_empty() {
        "cluster".into()
    } else {
        clean
    }
}

/// Whether the first bytes of a file look like Kubernetes objects (JSON or YAML).
pub fn looks_like(head: &str) -> bool {
    let t = head.trim_start();
    if t.starts_with('{') {
        return head.contains("\"apiVersion\"") && head.contains("\"kind\"");
    }
    let mut api = false;
    let mut kind = false;
    for line in head.lines() {
        let l = line.trim_start_matches("- ").trim_end();
        if l.starts_with("apiVersion:") {
            api = true;
        }
        if l.starts_with("kind:") {
            kind = true;
        }
    }
    api && kind
}

// ---------------------------------------------------------------------------------------------
// The objects, as far as Castellan reads them.

fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Head {
    #[serde(default, deserialize_with = "nullable")]
    kind: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Meta {
    #[serde(default, deserialize_with = "nullable")]
    name: String,
    #[serde(default, deserialize_with = "nullable")]
    namespace: String,
    uid: Option<String>,
    creation_timestamp: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    labels: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "nullable")]
    annotations: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "nullable")]
    owner_references: Vec<OwnerRef>,
}

/// Metadata of a Secret: annotations only by the two keys that name its service account.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SecretMeta {
    #[serde(default, deserialize_with = "nullable")]
    name: String,
    #[serde(default, deserialize_with = "nullable")]
    namespace: String,
    creation_timestamp: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    labels: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "nullable")]
    annotations: SecretAnnotations,
}

#[derive(Debug, Default, Deserialize)]
struct SecretAnnotations {
    #[serde(rename = "kubernetes.io/service-account.name")]
    sa_name: Option<String>,
    #[serde(rename = "kubernetes.io/service-account.uid")]
    sa_uid: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OwnerRef {
    #[serde(default, deserialize_with = "nullable")]
    kind: String,
    #[serde(default, deserialize_with = "nullable")]
    name: String,
}

#[derive(Debug, Default, Deserialize)]
struct NameRef {
    #[serde(default, deserialize_with = "nullable")]
    name: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ServiceAccount {
    #[serde(default)]
    metadata: Meta,
    automount_service_account_token: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    secrets: Vec<NameRef>,
    #[serde(default, deserialize_with = "nullable")]
    image_pull_secrets: Vec<NameRef>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Secret {
    #[serde(default)]
    metadata: SecretMeta,
    #[serde(rename = "type")]
    type_: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    data: BTreeMap<String, Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    string_data: BTreeMap<String, Option<String>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Rule {
    #[serde(default, deserialize_with = "nullable")]
    api_groups: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    resources: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    verbs: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    resource_names: Vec<String>,
    #[serde(default, rename = "nonResourceURLs", deserialize_with = "nullable")]
    non_resource_urls: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Role {
    #[serde(default)]
    metadata: Meta,
    #[serde(default, deserialize_with = "nullable")]
    rules: Vec<Rule>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Subject {
    #[serde(default, deserialize_with = "nullable")]
    kind: String,
    #[serde(default, deserialize_with = "nullable")]
    name: String,
    #[serde(default, deserialize_with = "nullable")]
    namespace: String,
}

#[derive(Debug, Default, Deserialize)]
struct RoleRef {
    #[serde(default, deserialize_with = "nullable")]
    kind: String,
    #[serde(default, deserialize_with = "nullable")]
    name: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Binding {
    #[serde(default)]
    metadata: Meta,
    #[serde(default, deserialize_with = "nullable")]
    subjects: Vec<Subject>,
    #[serde(default)]
    role_ref: RoleRef,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PodSpec {
    service_account_name: Option<String>,
    service_account: Option<String>,
    automount_service_account_token: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    containers: Vec<Container>,
    #[serde(default, deserialize_with = "nullable")]
    init_containers: Vec<Container>,
    #[serde(default, deserialize_with = "nullable")]
    ephemeral_containers: Vec<Container>,
    #[serde(default, deserialize_with = "nullable")]
    volumes: Vec<Volume>,
    #[serde(default, deserialize_with = "nullable")]
    image_pull_secrets: Vec<NameRef>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Container {
    #[serde(default, deserialize_with = "nullable")]
    env: Vec<EnvVar>,
    #[serde(default, deserialize_with = "nullable")]
    env_from: Vec<EnvFrom>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EnvVar {
    value_from: Option<EnvSource>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EnvSource {
    secret_key_ref: Option<NameRef>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EnvFrom {
    secret_ref: Option<NameRef>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Volume {
    secret: Option<SecretVolume>,
    projected: Option<Projected>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SecretVolume {
    secret_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Projected {
    #[serde(default, deserialize_with = "nullable")]
    sources: Vec<ProjectedSource>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProjectedSource {
    secret: Option<NameRef>,
    service_account_token: Option<TokenProjection>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokenProjection {
    audience: Option<String>,
    expiration_seconds: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
struct Pod {
    #[serde(default)]
    metadata: Meta,
    spec: Option<PodSpec>,
}

#[derive(Debug, Default, Deserialize)]
struct PodTemplate {
    spec: Option<PodSpec>,
}

#[derive(Debug, Default, Deserialize)]
struct TemplateSpec {
    template: Option<PodTemplate>,
}

/// Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, ReplicationController.
#[derive(Debug, Default, Deserialize)]
struct Templated {
    #[serde(default)]
    metadata: Meta,
    spec: Option<TemplateSpec>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CronSpec {
    job_template: Option<JobTemplate>,
}

#[derive(Debug, Default, Deserialize)]
struct JobTemplate {
    spec: Option<TemplateSpec>,
}

#[derive(Debug, Default, Deserialize)]
struct CronJob {
    #[serde(default)]
    metadata: Meta,
    spec: Option<CronSpec>,
}

// ---------------------------------------------------------------------------------------------
// Reading the file.

/// One object of the file, not yet decoded.
enum Item<'a> {
    /// From JSON: the raw text and the line it starts on.
    Json(&'a RawValue, u64),
    /// From YAML: the document (1-based) it came from.
    Yaml(Value, usize),
}

#[derive(Deserialize)]
struct JsonEnvelope<'a> {
    #[serde(default, deserialize_with = "nullable")]
    kind: String,
    #[serde(borrow, default)]
    items: Option<Vec<&'a RawValue>>,
}

impl Item<'_> {
    fn decode<T: DeserializeOwned>(&self, path: &str) -> Result<T, SourceError> {
        match self {
            Item::Json(raw, line) => decode_at(path, raw.get(), *line, ""),
            Item::Yaml(v, doc) => {
                let mut track = serde_path_to_error::Track::new();
                T::deserialize(serde_path_to_error::Deserializer::new(v, &mut track)).map_err(|e| {
                    SourceError::File {
                        path: path.into(),
                        message: format!("YAML document {doc}: field {}: {e}", track.path()),
                    }
                })
            }
        }
    }

    fn kind(&self, path: &str) -> Result<String, SourceError> {
        Ok(self.decode::<Head>(path)?.kind)
    }
}

fn items_of_json<'a>(path: &str, text: &'a str) -> Result<Vec<Item<'a>>, SourceError> {
    let mut out = Vec::new();
    let mut lines = Lines::new(text.as_bytes());
    for raw in documents(path, text) {
        let raw = raw?;
        let line = lines.of(raw.get());
        let env: JsonEnvelope<'_> = decode_at(path, raw.get(), line, "")?;
        match env.items {
            Some(items) if env.kind == "List" || env.kind.ends_with("List") => {
                for (i, item) in items.into_iter().enumerate() {
                    let line = lines.of(item.get());
                    if !item.get().starts_with('{') {
                        return Err(SourceError::Field {
                            path: path.into(),
                            line,
                            field: format!("items[{i}]"),
                            message: "is not an object; a List holds Kubernetes objects".into(),
                        });
                    }
                    out.push(Item::Json(item, line));
                }
            }
            _ => out.push(Item::Json(raw, line)),
        }
    }
    Ok(out)
}

fn items_of_yaml(path: &str, text: &str) -> Result<Vec<Item<'static>>, SourceError> {
    // Budgets keep alias expansion ("billion laughs") and depth bounded; the counts are raised
    // from the defaults, which suit configuration files rather than whole-cluster manifests.
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_events: 200_000_000,
            max_nodes: 100_000_000,
            max_documents: 1_000_000,
            max_total_scalar_bytes: 1 << 31,
            max_depth: 128,
        },
    };
    let docs: Vec<Value> =
        serde_saphyr::from_multiple_with_options(text, options).map_err(|e| {
            let message = e.to_string();
            SourceError::File {
                path: path.into(),
                message: format!("is not valid Kubernetes YAML: {}", first_line(&message)),
            }
        })?;
    let mut out = Vec::new();
    for (i, doc) in docs.into_iter().enumerate() {
        match doc {
            Value::Null => {}
            Value::Object(mut m) => {
                let is_list = m
                    .get("kind")
                    .and_then(Value::as_str)
                    .is_some_and(|k| k.ends_with("List"));
                match (is_list, m.remove("items")) {
                    (true, Some(Value::Array(items))) => {
                        out.extend(items.into_iter().map(|v| Item::Yaml(v, i + 1)));
                    }
                    (_, items) => {
                        if let Some(items) = items {
                            m.insert("items".into(), items);
                        }
                        out.push(Item::Yaml(Value::Object(m), i + 1));
                    }
                }
            }
            _ => {
                return Err(SourceError::File {
                    path: path.into(),
                    message: format!(
                        "YAML document {} is not a mapping; expected Kubernetes objects with apiVersion and kind",
                        i + 1
                    ),
                });
            }
        }
    }
    Ok(out)
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

// ---------------------------------------------------------------------------------------------
// RBAC.

const WRITE_VERBS: &[&str] = &[
    "create",
    "update",
    "patch",
    "delete",
    "deletecollection",
    "*",
];
const READ_VERBS: &[&str] = &["get", "list", "watch"];
const ESCALATION_VERBS: &[&str] = &["escalate", "bind", "impersonate"];

fn has(list: &[String], v: &str) -> bool {
    list.iter().any(|x| x == v || x == "*")
}

fn any_of(list: &[String], vs: &[&str]) -> bool {
    vs.iter().any(|v| has(list, v))
}

/// Whether a rule's resources include `resource` (`pods`, `serviceaccounts/token`) in the core group.
fn covers_resource(rule: &Rule, resource: &str) -> bool {
    let core = rule.api_groups.is_empty() || has(&rule.api_groups, "");
    if !core {
        return false;
    }
    rule.resources.iter().any(|r| {
        r == "*"
            || r == resource
            || (r.ends_with("/*") && resource.starts_with(&r[..r.len() - 1]))
            || (r.starts_with("*/") && resource.ends_with(&r[1..]))
    })
}

fn names_ok(rule: &Rule, name: &str) -> bool {
    rule.resource_names.is_empty() || rule.resource_names.iter().any(|n| n == name)
}

/// The privilege one rule gives, on its own, and why when it is administrator-equivalent.
fn rule_privilege(rule: &Rule, namespace: Option<&str>) -> (Privilege, Option<String>) {
    let cluster_wide = namespace.is_none();
    let where_ = match namespace {
        None => "in every namespace".to_string(),
        Some(ns) => format!("in namespace {ns}"),
    };
    if has(&rule.verbs, "*")
        && rule.resources.iter().any(|r| r == "*")
        && has(&rule.api_groups, "*")
    {
        return (
            Privilege::Admin,
            Some(format!("every verb on every resource {where_}")),
        );
    }
    if !rule.non_resource_urls.is_empty() && rule.resources.is_empty() {
        let p = if any_of(&rule.verbs, WRITE_VERBS) {
            Privilege::Write
        } else if any_of(&rule.verbs, READ_VERBS) {
            Privilege::Read
        } else {
            Privilege::None
        };
        return (p, None);
    }
    if any_of(&rule.verbs, ESCALATION_VERBS) {
        return (
            Privilege::Admin,
            Some(format!(
                "may escalate, bind or impersonate ({}) {where_}",
                rule.verbs.join(", ")
            )),
        );
    }
    if cluster_wide {
        if any_of(&rule.verbs, READ_VERBS)
            && covers_resource(rule, "secrets")
            && rule.resource_names.is_empty()
        {
            return (
                Privilege::Admin,
                Some(
                    "may read every secret in the cluster, other service accounts' tokens included"
                        .into(),
                ),
            );
        }
        if has(&rule.verbs, "create")
            && (covers_resource(rule, "serviceaccounts/token") || covers_resource(rule, "pods"))
            && rule.resource_names.is_empty()
        {
            return (
                Privilege::Admin,
                Some(
                    "may act as any service account in the cluster (create pods or tokens)".into(),
                ),
            );
        }
    }
    if any_of(&rule.verbs, WRITE_VERBS) {
        (Privilege::Write, None)
    } else if any_of(&rule.verbs, READ_VERBS) {
        (Privilege::Read, None)
    } else {
        (Privilege::None, None)
    }
}

fn rule(api_groups: &[&str], resources: &[&str], verbs: &[&str]) -> Rule {
    let v = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect();
    Rule {
        api_groups: v(api_groups),
        resources: v(resources),
        verbs: v(verbs),
        resource_names: Vec::new(),
        non_resource_urls: Vec::new(),
    }
}

/// The default user-facing ClusterRoles, summarised, for exports that bind them without listing
/// them (`kubectl get clusterroles` was not part of the export).
fn well_known_cluster_role(name: &str) -> Option<Vec<Rule>> {
    let write = ["create", "delete", "deletecollection", "patch", "update"];
    let read = ["get", "list", "watch"];
    let rw: Vec<&str> = write.iter().chain(read.iter()).copied().collect();
    let workloads = [
        "pods",
        "pods/exec",
        "pods/attach",
        "deployments",
        "statefulsets",
        "daemonsets",
        "replicasets",
        "jobs",
        "cronjobs",
        "services",
        "configmaps",
        "persistentvolumeclaims",
    ];
    Some(match name {
        "cluster-admin" => {
            let mut r = rule(&["*"], &["*"], &["*"]);
            r.non_resource_urls = vec!["*".into()];
            vec![r]
        }
        "admin" => vec![
            rule(&["*"], &workloads, &rw),
            rule(&[""], &["secrets", "serviceaccounts"], &rw),
            rule(&[""], &["serviceaccounts/token"], &["create"]),
            rule(&[""], &["serviceaccounts"], &["impersonate"]),
            rule(
                &["rbac.authorization.k8s.io"],
                &["roles", "rolebindings"],
                &rw,
            ),
        ],
        "edit" => vec![
            rule(&["*"], &workloads, &rw),
            rule(&[""], &["secrets", "serviceaccounts"], &rw),
            rule(&[""], &["serviceaccounts/token"], &["create"]),
            rule(&[""], &["serviceaccounts"], &["impersonate"]),
        ],
        "view" => vec![rule(&["*"], &workloads[..1], &read), {
            let mut r = rule(&["*"], &workloads[3..], &read);
            r.resources.push("serviceaccounts".into());
            r
        }],
        _ => return None,
    })
}

/// Who a binding subject is, as a principal id, and whether it is a service account.
fn principal_of(cluster: &str, s: &Subject, binding_ns: &str) -> Option<(String, bool)> {
    match s.kind.as_str() {
        "ServiceAccount" => {
            let ns = if s.namespace.is_empty() {
                binding_ns
            } else {
                &s.namespace
            };
            Some((sa_id(cluster, ns, &s.name), true))
        }
        "User" => {
            if let Some(rest) = s.name.strip_prefix("system:serviceaccount:")
                && let Some((ns, name)) = rest.split_once(':')
            {
                return Some((sa_id(cluster, ns, name), true));
            }
            Some((format!("k8s:{cluster}:user/{}", s.name), false))
        }
        "Group" => Some((group_id(cluster, &s.name), false)),
        _ => None,
    }
}

fn sa_id(cluster: &str, ns: &str, name: &str) -> String {
    format!("k8s:{cluster}:{ns}/sa/{name}")
}

fn secret_id(cluster: &str, ns: &str, name: &str) -> String {
    format!("k8s:{cluster}:{ns}/secret/{name}")
}

fn group_id(cluster: &str, name: &str) -> String {
    format!("k8s:{cluster}:group/{name}")
}

/// Groups whose grants reach a service account (its token carries them).
fn sa_groups(cluster: &str, ns: &str) -> [String; 3] {
    [
        group_id(cluster, "system:serviceaccounts"),
        group_id(cluster, &format!("system:serviceaccounts:{ns}")),
        group_id(cluster, "system:authenticated"),
    ]
}

/// One binding resolved: who holds which rules, where.
struct Bound {
    principal: String,
    is_sa: bool,
    /// `None`: every namespace (ClusterRoleBinding).
    namespace: Option<String>,
    via: String,
    rules: std::sync::Arc<Vec<Rule>>,
    document: &'static str,
}

// ---------------------------------------------------------------------------------------------
// Workloads.

/// What a workload uses.
#[derive(Default)]
struct Uses {
    service_account: String,
    /// `automounted`, `projected` or `not mounted`.
    token: &'static str,
    projected: Vec<Value>,
    secrets: BTreeSet<String>,
}

fn uses_of(spec: &PodSpec, sa_automount: &HashMap<(String, String), bool>, ns: &str) -> Uses {
    let sa = spec
        .service_account_name
        .as_deref()
        .or(spec.service_account.as_deref())
        .filter(|s| !s.is_empty())
        .unwrap_or("default")
        .to_string();
    let mut u = Uses {
        service_account: sa.clone(),
        ..Default::default()
    };
    for c in spec
        .containers
        .iter()
        .chain(&spec.init_containers)
        .chain(&spec.ephemeral_containers)
    {
        for e in &c.env {
            if let Some(r) = e
                .value_from
                .as_ref()
                .and_then(|v| v.secret_key_ref.as_ref())
                && !r.name.is_empty()
            {
                u.secrets.insert(r.name.clone());
            }
        }
        for e in &c.env_from {
            if let Some(r) = &e.secret_ref
                && !r.name.is_empty()
            {
                u.secrets.insert(r.name.clone());
            }
        }
    }
    for v in &spec.volumes {
        if let Some(name) = v.secret.as_ref().and_then(|s| s.secret_name.as_ref()) {
            u.secrets.insert(name.clone());
        }
        if let Some(p) = &v.projected {
            for s in &p.sources {
                if let Some(r) = &s.secret
                    && !r.name.is_empty()
                {
                    u.secrets.insert(r.name.clone());
                }
                if let Some(t) = &s.service_account_token {
                    u.projected.push(json!({
                        "audience": t.audience,
                        "expiration_seconds": t.expiration_seconds.unwrap_or(3600),
                    }));
                }
            }
        }
    }
    for r in &spec.image_pull_secrets {
        if !r.name.is_empty() {
            u.secrets.insert(r.name.clone());
        }
    }
    let automount = spec.automount_service_account_token.unwrap_or_else(|| {
        sa_automount
            .get(&(ns.to_string(), sa))
            .copied()
            .unwrap_or(true)
    });
    u.token = if automount {
        "automounted"
    } else if !u.projected.is_empty() {
        "projected"
    } else {
        "not mounted"
    };
    u
}

/// The workload a pod belongs to: its controller, with a ReplicaSet traced to its Deployment and a
/// Job to its CronJob by Kubernetes' naming (`<deployment>-<pod-template-hash>`).
fn workload_of(kind: &str, m: &Meta) -> (String, String) {
    if kind == "Pod"
        && let Some(o) = m.owner_references.first()
    {
        let hash = m.labels.get("pod-template-hash");
        return match (o.kind.as_str(), hash) {
            ("ReplicaSet", Some(h)) if o.name.ends_with(&format!("-{h}")) => (
                "Deployment".into(),
                o.name[..o.name.len() - h.len() - 1].to_string(),
            ),
            ("Job", _) if m.labels.contains_key("batch.kubernetes.io/controller-uid") => {
                // CronJob jobs are `<cronjob>-<scheduled minute>`.
                match o.name.rsplit_once('-') {
                    Some((base, n)) if n.chars().all(|c| c.is_ascii_digit()) && n.len() >= 8 => {
                        ("CronJob".into(), base.to_string())
                    }
                    _ => ("Job".into(), o.name.clone()),
                }
            }
            _ => (o.kind.clone(), o.name.clone()),
        };
    }
    (kind.to_string(), m.name.clone())
}

// ---------------------------------------------------------------------------------------------
// The import.

fn ts(path: &str, field: &str, v: &Option<String>) -> Result<Option<Timestamp>, SourceError> {
    match v.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => parse_ts(s).map(Some).map_err(|e| SourceError::File {
            path: path.into(),
            message: format!(
                "{field}: {} is not an RFC 3339 timestamp: {}",
                show_value(s),
                e.reason
            ),
        }),
    }
}

/// `YYYY-MM-DD` (the legacy-token labels) as midnight UTC.
fn label_date(path: &str, what: &str, v: &str) -> Result<Timestamp, SourceError> {
    parse_ts(&format!("{}T00:00:00Z", v.trim())).map_err(|_| SourceError::File {
        path: path.into(),
        message: format!("{what}: {} is not a YYYY-MM-DD date", show_value(v)),
    })
}

/// Service accounts that kube-controller-manager creates for its own controllers
/// (`--use-service-account-credentials`). Add-ons in `kube-system` are not among them: they are
/// the organisation's to own.
const CONTROL_PLANE_SAS: &[&str] = &[
    "attachdetach-controller",
    "bootstrap-signer",
    "certificate-controller",
    "clusterrole-aggregation-controller",
    "cronjob-controller",
    "daemon-set-controller",
    "deployment-controller",
    "disruption-controller",
    "endpoint-controller",
    "endpointslice-controller",
    "endpointslicemirroring-controller",
    "ephemeral-volume-controller",
    "expand-controller",
    "generic-garbage-collector",
    "horizontal-pod-autoscaler",
    "job-controller",
    "legacy-service-account-token-cleaner",
    "namespace-controller",
    "node-controller",
    "persistent-volume-binder",
    "pod-garbage-collector",
    "pv-protection-controller",
    "pvc-protection-controller",
    "replicaset-controller",
    "replication-controller",
    "resourcequota-controller",
    "root-ca-cert-publisher",
    "route-controller",
    "service-account-controller",
    "service-cidrs-controller",
    "service-controller",
    "statefulset-controller",
    "token-cleaner",
    "ttl-after-finished-controller",
    "ttl-controller",
    "validatingadmissionpolicy-status-controller",
];

fn is_control_plane_sa(ns: &str, name: &str) -> bool {
    ns == "kube-system" && CONTROL_PLANE_SAS.contains(&name)
}

/// Parses a Kubernetes export. `cluster` names the cluster in ids (see [`cluster_from_path`]);
/// `key` fingerprints legacy tokens.
pub fn parse(
    path: &str,
    bytes: &[u8],
    cluster: &str,
    key: &FingerprintKey,
) -> Result<Records, SourceError> {
    let text = text_of(
        path,
        bytes,
        "a Kubernetes export is JSON or YAML",
        "`kubectl get … -o json` output or manifest YAML",
    )?;
    let items = if text.trim_start().starts_with(['{', '[']) {
        items_of_json(path, text)?
    } else {
        items_of_yaml(path, text)?
    };

    let mut sas: Vec<ServiceAccount> = Vec::new();
    let mut tokens: Vec<Secret> = Vec::new();
    let mut roles: HashMap<(String, String), std::sync::Arc<Vec<Rule>>> = HashMap::new();
    let mut cluster_roles: HashMap<String, std::sync::Arc<Vec<Rule>>> = HashMap::new();
    let mut bindings: Vec<(bool, Binding)> = Vec::new();
    let mut workloads: Vec<(String, Meta, PodSpec)> = Vec::new();
    let mut recognised = 0usize;
    for item in &items {
        let kind = item.kind(path)?;
        match kind.as_str() {
            "ServiceAccount" => sas.push(item.decode(path)?),
            "Secret" => {
                let s: Secret = item.decode(path)?;
                if s.type_.as_deref() == Some(TOKEN_SECRET) {
                    tokens.push(s);
                }
            }
            "Role" => {
                let r: Role = item.decode(path)?;
                roles.insert(
                    (r.metadata.namespace.clone(), r.metadata.name.clone()),
                    std::sync::Arc::new(r.rules),
                );
            }
            "ClusterRole" => {
                let r: Role = item.decode(path)?;
                cluster_roles.insert(r.metadata.name.clone(), std::sync::Arc::new(r.rules));
            }
            "RoleBinding" => bindings.push((false, item.decode(path)?)),
            "ClusterRoleBinding" => bindings.push((true, item.decode(path)?)),
            "Pod" => {
                let p: Pod = item.decode(path)?;
                if let Some(spec) = p.spec {
                    workloads.push((kind.clone(), p.metadata, spec));
                }
            }
            "Deployment"
            | "ReplicaSet"
            | "StatefulSet"
            | "DaemonSet"
            | "Job"
            | "ReplicationController" => {
                let w: Templated = item.decode(path)?;
                if let Some(spec) = w.spec.and_then(|s| s.template).and_then(|t| t.spec) {
                    workloads.push((kind.clone(), w.metadata, spec));
                }
            }
            "CronJob" => {
                let w: CronJob = item.decode(path)?;
                if let Some(spec) = w
                    .spec
                    .and_then(|s| s.job_template)
                    .and_then(|j| j.spec)
                    .and_then(|s| s.template)
                    .and_then(|t| t.spec)
                {
                    workloads.push((kind.clone(), w.metadata, spec));
                }
            }
            "" => {
                return Err(SourceError::File {
                    path: path.into(),
                    message: "holds an object without `kind`; expected Kubernetes objects".into(),
                });
            }
            _ => continue,
        }
        recognised += 1;
    }
    if recognised == 0 {
        return Err(SourceError::File {
            path: path.into(),
            message: format!(
                "holds {} Kubernetes object(s) but no ServiceAccount, Secret, RBAC object or workload; export them with `kubectl get serviceaccounts,secrets,roles,clusterroles,rolebindings,clusterrolebindings,pods -A -o json`",
                items.len()
            ),
        });
    }
    drop(items);
    let scope = format!("k8s:{cluster}");
    let rbac_known = !bindings.is_empty() || !roles.is_empty() || !cluster_roles.is_empty();

    // Bindings resolved to rules.
    let mut bound: Vec<Bound> = Vec::new();
    for (cluster_wide, b) in &bindings {
        let ns = &b.metadata.namespace;
        let (rules, document) = match b.role_ref.kind.as_str() {
            "Role" => match roles.get(&(ns.clone(), b.role_ref.name.clone())) {
                Some(r) => (r.clone(), "exact"),
                None => (std::sync::Arc::new(Vec::new()), "missing"),
            },
            _ => match cluster_roles.get(&b.role_ref.name) {
                Some(r) => (r.clone(), "exact"),
                None => match well_known_cluster_role(&b.role_ref.name) {
                    Some(r) => (std::sync::Arc::new(r), "summary"),
                    None => (std::sync::Arc::new(Vec::new()), "missing"),
                },
            },
        };
        let via = if *cluster_wide {
            format!(
                "ClusterRoleBinding {} → {} {}",
                b.metadata.name, b.role_ref.kind, b.role_ref.name
            )
        } else {
            format!(
                "RoleBinding {ns}/{} → {} {}",
                b.metadata.name, b.role_ref.kind, b.role_ref.name
            )
        };
        for s in &b.subjects {
            let Some((principal, is_sa)) = principal_of(cluster, s, ns) else {
                continue;
            };
            bound.push(Bound {
                principal,
                is_sa,
                namespace: (!cluster_wide).then(|| ns.clone()),
                via: via.clone(),
                rules: rules.clone(),
                document,
            });
        }
    }

    let mut records = Records::default();
    // Grants, and each holder's highest privilege.
    let mut best: HashMap<String, (Privilege, Option<String>, bool)> = HashMap::new();
    for b in &bound {
        let grant_holder = b.is_sa
            || b.principal.ends_with(":group/system:serviceaccounts")
            || b.principal.contains(":group/system:serviceaccounts:")
            || b.principal.ends_with(":group/system:authenticated");
        if !grant_holder {
            continue;
        }
        let entry = best
            .entry(b.principal.clone())
            .or_insert((Privilege::None, None, false));
        if b.document == "missing" {
            entry.2 = true;
            let mut attributes = BTreeMap::new();
            attributes.insert("document".into(), json!("missing"));
            attributes.insert(
                "namespace".into(),
                json!(b.namespace.as_deref().unwrap_or("*")),
            );
            records.grants.push(Grant {
                id: format!("{}#{}#missing", b.principal, b.via),
                holder: b.principal.clone(),
                source: SOURCE.into(),
                scope: scope.clone(),
                effect: Effect::Allow,
                privilege: Privilege::Unknown,
                actions: Vec::new(),
                resources: Vec::new(),
                via: b.via.clone(),
                attributes,
            });
            continue;
        }
        for (i, r) in b.rules.iter().enumerate() {
            let (p, reason) = rule_privilege(r, b.namespace.as_deref());
            if p.rank() > entry.0.rank() {
                *entry = (
                    p,
                    reason.clone().map(|r| format!("{r} (via {})", b.via)),
                    entry.2,
                );
            }
            let mut resources: Vec<String> = Vec::new();
            for res in &r.resources {
                let groups: Vec<&str> = if r.api_groups.is_empty() {
                    vec![""]
                } else {
                    r.api_groups.iter().map(String::as_str).collect()
                };
                for g in groups {
                    let q = if g.is_empty() {
                        res.clone()
                    } else {
                        format!("{g}/{res}")
                    };
                    if r.resource_names.is_empty() {
                        resources.push(q);
                    } else {
                        resources.extend(r.resource_names.iter().map(|n| format!("{q}/{n}")));
                    }
                }
            }
            resources.extend(r.non_resource_urls.iter().cloned());
            let mut attributes = BTreeMap::new();
            attributes.insert("document".into(), json!(b.document));
            attributes.insert(
                "namespace".into(),
                json!(b.namespace.as_deref().unwrap_or("*")),
            );
            if let Some(reason) = reason {
                attributes.insert("privilege_reason".into(), json!(reason));
            }
            records.grants.push(Grant {
                id: format!("{}#{}#{i}", b.principal, b.via),
                holder: b.principal.clone(),
                source: SOURCE.into(),
                scope: scope.clone(),
                effect: Effect::Allow,
                privilege: p,
                actions: r.verbs.clone(),
                resources,
                via: b.via.clone(),
                attributes,
            });
        }
    }

    // Which workloads use which service account and secret.
    let sa_automount: HashMap<(String, String), bool> = sas
        .iter()
        .filter_map(|s| {
            s.automount_service_account_token
                .map(|a| ((s.metadata.namespace.clone(), s.metadata.name.clone()), a))
        })
        .collect();
    let mut sa_consumers: HashMap<String, BTreeMap<String, Value>> = HashMap::new();
    let mut secret_consumers: HashMap<String, BTreeSet<String>> = HashMap::new();
    for (kind, meta, spec) in &workloads {
        let ns = if meta.namespace.is_empty() {
            "default"
        } else {
            meta.namespace.as_str()
        };
        let u = uses_of(spec, &sa_automount, ns);
        let (wkind, wname) = workload_of(kind, meta);
        let wid = format!("k8s:{cluster}:{ns}/{}/{wname}", wkind.to_ascii_lowercase());
        let mut c =
            json!({ "id": wid, "kind": wkind, "name": format!("{ns}/{wname}"), "token": u.token });
        if !u.projected.is_empty() {
            c["projected_tokens"] = json!(u.projected);
        }
        sa_consumers
            .entry(sa_id(cluster, ns, &u.service_account))
            .or_default()
            .insert(wid.clone(), c);
        for s in u.secrets {
            secret_consumers
                .entry(secret_id(cluster, ns, &s))
                .or_default()
                .insert(wid.clone());
        }
    }

    // Legacy token secrets → credentials.
    let mut sa_tokens: HashMap<String, Vec<(String, String)>> = HashMap::new();
    let mut last_used_of: HashMap<String, Timestamp> = HashMap::new();
    for s in &tokens {
        let m = &s.metadata;
        let ns = if m.namespace.is_empty() {
            "default"
        } else {
            m.namespace.as_str()
        };
        let Some(sa_name) = m.annotations.sa_name.as_deref().filter(|n| !n.is_empty()) else {
            return Err(SourceError::File {
                path: path.into(),
                message: format!(
                    "secret {ns}/{}: type {TOKEN_SECRET} without the {SA_NAME_ANNOTATION} annotation",
                    m.name
                ),
            });
        };
        let identity = sa_id(cluster, ns, sa_name);
        let id = secret_id(cluster, ns, &m.name);
        let created = ts(
            path,
            &format!("secret {ns}/{}: creationTimestamp", m.name),
            &m.creation_timestamp,
        )?;
        let last_used = match m.labels.get(LAST_USED_LABEL) {
            Some(v) => Some(label_date(
                path,
                &format!("secret {ns}/{}: label {LAST_USED_LABEL}", m.name),
                v,
            )?),
            None => None,
        };
        let invalid_since = match m.labels.get(INVALID_SINCE_LABEL) {
            Some(v) => Some(label_date(
                path,
                &format!("secret {ns}/{}: label {INVALID_SINCE_LABEL}", m.name),
                v,
            )?),
            None => None,
        };
        // The token, decoded, is fingerprinted and forgotten.
        let raw = s
            .data
            .get("token")
            .cloned()
            .flatten()
            .map(|b64| {
                base64::engine::general_purpose::STANDARD
                    .decode(b64.trim())
                    .map_err(|_| SourceError::File {
                        path: path.into(),
                        message: format!("secret {ns}/{}: data.token is not base64", m.name),
                    })
            })
            .transpose()?
            .or_else(|| {
                s.string_data
                    .get("token")
                    .cloned()
                    .flatten()
                    .map(String::into_bytes)
            })
            .filter(|t| !t.is_empty());
        let (fingerprint, preview) = match &raw {
            Some(t) => (
                Some(key.fingerprint_bytes(t)),
                Some(Redacted::of(&String::from_utf8_lossy(t))),
            ),
            None => (None, None),
        };
        let mut attributes = BTreeMap::new();
        attributes.insert("namespace".into(), json!(ns));
        attributes.insert("secret_type".into(), json!(TOKEN_SECRET));
        attributes.insert("legacy_token".into(), json!(true));
        attributes.insert("non_expiring".into(), json!(true));
        if let Some(uid) = &m.annotations.sa_uid {
            attributes.insert("service_account_uid".into(), json!(uid));
        }
        let keys: Vec<&String> = s.data.keys().chain(s.string_data.keys()).collect();
        attributes.insert("keys".into(), json!(keys));
        if let Some(t) = invalid_since {
            attributes.insert("invalid_since".into(), json!(castellan_model::format_ts(t)));
        }
        if last_used.is_none() {
            attributes.insert(
                "usage_tracking".into(),
                json!(format!("no {LAST_USED_LABEL} label: unused since the cluster began tracking legacy tokens (Kubernetes 1.28), or the cluster does not track them")),
            );
        }
        if let Some(c) = secret_consumers.get(&id) {
            attributes.insert("consumers".into(), json!(c));
        }
        if let Some(t) = last_used {
            let e = last_used_of.entry(identity.clone()).or_insert(t);
            if t > *e {
                *e = t;
            }
        }
        sa_tokens
            .entry(identity.clone())
            .or_default()
            .push((m.name.clone(), id.clone()));
        records.credentials.push(Credential {
            id,
            identity_id: Some(identity),
            kind: "token".into(),
            source: SOURCE.into(),
            scope: scope.clone(),
            name: format!("{ns}/{} (legacy token of {sa_name})", m.name),
            status: if invalid_since.is_some() {
                Status::Inactive
            } else {
                Status::Active
            },
            created_at: created,
            last_rotated_at: created,
            last_used_at: last_used,
            ever_used: last_used.map(|_| true),
            expires_at: None,
            fingerprint,
            preview,
            attributes,
        });
    }

    // Lifecycle candidates: bindings whose rules touch tokens, secrets or service accounts.
    let lifecycle_rules: Vec<(&Bound, &Rule)> = bound
        .iter()
        .flat_map(|b| b.rules.iter().map(move |r| (b, r)))
        .filter(|(_, r)| {
            covers_resource(r, "serviceaccounts/token")
                || covers_resource(r, "secrets")
                || covers_resource(r, "serviceaccounts")
        })
        .collect();
    let mut by_ns: HashMap<Option<&str>, Vec<(&Bound, &Rule)>> = HashMap::new();
    for (b, r) in lifecycle_rules {
        by_ns
            .entry(b.namespace.as_deref())
            .or_default()
            .push((b, r));
    }

    // Service accounts → identities.
    let mut seen = BTreeSet::new();
    for sa in &sas {
        let m = &sa.metadata;
        let ns = if m.namespace.is_empty() {
            "default"
        } else {
            m.namespace.as_str()
        };
        let id = sa_id(cluster, ns, &m.name);
        if !seen.insert(id.clone()) {
            continue;
        }
        let groups = sa_groups(cluster, ns);
        let mut privilege = Privilege::None;
        let mut reason = None;
        let mut incomplete = false;
        for holder in std::iter::once(&id).chain(groups.iter()) {
            if let Some((p, r, inc)) = best.get(holder) {
                incomplete |= *inc;
                if p.rank() > privilege.rank() {
                    privilege = *p;
                    reason = r.clone();
                }
            }
        }
        if !rbac_known {
            privilege = Privilege::Unknown;
        }
        let mut attributes = BTreeMap::new();
        attributes.insert("namespace".into(), json!(ns));
        if let Some(uid) = &m.uid {
            attributes.insert("uid".into(), json!(uid));
        }
        attributes.insert("groups".into(), json!(groups));
        attributes.insert(
            "automount_token".into(),
            json!(sa.automount_service_account_token.unwrap_or(true)),
        );
        if let Some(r) = reason {
            attributes.insert("privilege_reason".into(), json!(r));
        }
        if incomplete {
            attributes.insert("privilege_incomplete".into(), json!(true));
        }
        if !rbac_known {
            attributes.insert(
                "privilege_reason".into(),
                json!("no RBAC objects in the export: add roles, clusterroles, rolebindings and clusterrolebindings"),
            );
        }
        let consumers: Vec<Value> = sa_consumers
            .get(&id)
            .map(|c| c.values().cloned().collect())
            .unwrap_or_default();
        attributes.insert("consumers".into(), json!(consumers));
        let mut federation = Vec::new();
        for (annotation, provider) in [
            ("eks.amazonaws.com/role-arn", "aws"),
            ("iam.gke.io/gcp-service-account", "gcp"),
            ("azure.workload.identity/client-id", "azure"),
        ] {
            if let Some(v) = m.annotations.get(annotation) {
                federation.push(json!({ "provider": provider, "target": v, "via": annotation }));
            }
        }
        if !federation.is_empty() {
            attributes.insert("workload_identity".into(), json!(federation));
        }
        let pull: Vec<&str> = sa
            .image_pull_secrets
            .iter()
            .map(|r| r.name.as_str())
            .collect();
        if !pull.is_empty() {
            attributes.insert("image_pull_secrets".into(), json!(pull));
        }
        let listed: Vec<&str> = sa.secrets.iter().map(|r| r.name.as_str()).collect();
        if !listed.is_empty() {
            attributes.insert("secrets".into(), json!(listed));
        }
        let tokens = sa_tokens.get(&id).cloned().unwrap_or_default();
        if !tokens.is_empty() {
            attributes.insert(
                "legacy_tokens".into(),
                json!(tokens.iter().map(|(_, id)| id).collect::<Vec<_>>()),
            );
        }
        // Who may issue, use and revoke its tokens.
        let mut authority: BTreeMap<String, (BTreeSet<&str>, BTreeSet<String>)> = BTreeMap::new();
        for (b, r) in by_ns
            .get(&Some(ns))
            .into_iter()
            .chain(by_ns.get(&None))
            .flatten()
        {
            let mut can = Vec::new();
            if has(&r.verbs, "create")
                && covers_resource(r, "serviceaccounts/token")
                && names_ok(r, &m.name)
            {
                can.push("issue");
            }
            if has(&r.verbs, "create") && covers_resource(r, "secrets") {
                can.push("issue");
            }
            if any_of(&r.verbs, READ_VERBS)
                && covers_resource(r, "secrets")
                && !tokens.is_empty()
                && (r.resource_names.is_empty()
                    || tokens.iter().any(|(n, _)| r.resource_names.contains(n))
                    || !has(&r.verbs, "get"))
            {
                can.push("use");
            }
            if has(&r.verbs, "delete")
                && ((covers_resource(r, "serviceaccounts") && names_ok(r, &m.name))
                    || (covers_resource(r, "secrets")
                        && !tokens.is_empty()
                        && (r.resource_names.is_empty()
                            || tokens.iter().any(|(n, _)| r.resource_names.contains(n)))))
            {
                can.push("revoke");
            }
            if !can.is_empty() {
                let e = authority.entry(b.principal.clone()).or_default();
                e.0.extend(can);
                e.1.insert(b.via.clone());
            }
        }
        let principals: Vec<Value> = authority
            .into_iter()
            .map(|(p, (can, via))| json!({ "principal": p, "can": can, "via": via }))
            .collect();
        attributes.insert(
            "lifecycle_authority".into(),
            json!({
                "principals": principals,
                "note": "members of system:masters, and anyone allowed to impersonate them, bypass RBAC; bound tokens (TokenRequest) expire by themselves",
            }),
        );
        let system = is_control_plane_sa(ns, &m.name)
            || (m.name == "default"
                && consumers.is_empty()
                && tokens.is_empty()
                && !best.contains_key(&id));
        if system {
            attributes.insert("managed_by".into(), json!("kubernetes"));
        }
        let mut tags = m.labels.clone();
        for (k, v) in &m.annotations {
            if k != LAST_APPLIED && !tags.contains_key(k) && v.len() <= 256 {
                tags.insert(k.clone(), v.clone());
            }
        }
        records.identities.push(Identity {
            id,
            kind: "k8s-service-account".into(),
            source: SOURCE.into(),
            scope: scope.clone(),
            name: format!("{ns}/{}", m.name),
            account: Some(cluster.to_string()),
            status: Status::Active,
            privilege,
            created_at: ts(
                path,
                &format!("serviceaccount {ns}/{}: creationTimestamp", m.name),
                &m.creation_timestamp,
            )?,
            last_used_at: last_used_of.get(&sa_id(cluster, ns, &m.name)).copied(),
            tags,
            attributes,
        });
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> FingerprintKey {
        FingerprintKey::from_bytes([7; 32])
    }

    const LIST: &str = r#"{
  "apiVersion": "v1",
  "kind": "List",
  "items": [
    {"apiVersion": "v1", "kind": "ServiceAccount",
     "metadata": {"name": "api", "namespace": "payments", "uid": "u-1", "creationTimestamp": "2024-02-01T10:00:00Z",
                  "labels": {"service": "payments"},
                  "annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/payments-api"}},
     "secrets": [{"name": "api-token"}]},
    {"apiVersion": "v1", "kind": "ServiceAccount",
     "metadata": {"name": "default", "namespace": "payments", "creationTimestamp": "2024-02-01T10:00:00Z"}},
    {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
     "metadata": {"name": "api-token", "namespace": "payments", "creationTimestamp": "2024-02-01T10:00:01Z",
                  "labels": {"kubernetes.io/legacy-token-last-used": "2026-11-30"},
                  "annotations": {"kubernetes.io/service-account.name": "api", "kubernetes.io/service-account.uid": "u-1",
                                  "kubectl.kubernetes.io/last-applied-configuration": "{\"data\":{\"token\":\"ZXlKaGJHY2lPaUpTVXpJMU5pSXNJbXRwWkNJNklrdGxlVkJzWVc1MFpXUkVSVUZFUWtWRlJpSjk=\"}}"}},
     "data": {"token": "ZXlKaGJHY2lPaUpTVXpJMU5pSXNJbXRwWkNJNklrdGxlVkJzWVc1MFpXUkVSVUZFUWtWRlJpSjk=", "namespace": "cGF5bWVudHM="}},
    {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
     "metadata": {"name": "db", "namespace": "payments"}, "data": {"password": "aHVudGVyMg=="}},
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
     "metadata": {"name": "token-admin", "namespace": "payments"},
     "rules": [{"apiGroups": [""], "resources": ["serviceaccounts/token"], "verbs": ["create"], "resourceNames": ["api"]},
               {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "delete"]}]},
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
     "metadata": {"name": "ops-tokens", "namespace": "payments"},
     "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "token-admin"},
     "subjects": [{"kind": "Group", "name": "platform-ops", "apiGroup": "rbac.authorization.k8s.io"},
                  {"kind": "ServiceAccount", "name": "rotator", "namespace": "ops"}]},
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
     "metadata": {"name": "api-admin"},
     "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
     "subjects": [{"kind": "ServiceAccount", "name": "api", "namespace": "payments"}]},
    {"apiVersion": "v1", "kind": "Pod",
     "metadata": {"name": "api-7d9f8b6c5-x2x9q", "namespace": "payments", "labels": {"pod-template-hash": "7d9f8b6c5"},
                  "ownerReferences": [{"kind": "ReplicaSet", "name": "api-7d9f8b6c5"}]},
     "spec": {"serviceAccountName": "api", "containers": [{"name": "api", "env": [{"name": "DB", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}]}],
              "volumes": [{"name": "t", "secret": {"secretName": "api-token"}}]}},
    {"apiVersion": "v1", "kind": "Pod",
     "metadata": {"name": "api-7d9f8b6c5-abcde", "namespace": "payments", "labels": {"pod-template-hash": "7d9f8b6c5"},
                  "ownerReferences": [{"kind": "ReplicaSet", "name": "api-7d9f8b6c5"}]},
     "spec": {"serviceAccountName": "api", "containers": [{"name": "api"}]}},
    {"apiVersion": "v1", "kind": "Pod",
     "metadata": {"name": "worker", "namespace": "payments"},
     "spec": {"serviceAccountName": "api", "automountServiceAccountToken": false, "containers": [{"name": "w"}],
              "volumes": [{"name": "p", "projected": {"sources": [{"serviceAccountToken": {"audience": "vault", "expirationSeconds": 600, "path": "t"}}]}}]}}
  ]
}"#;

    #[test]
    fn service_accounts_tokens_rbac_consumers_and_authority() {
        let r = parse("k.json", LIST.as_bytes(), "prod", &key()).expect("parse");
        let api = r
            .identities
            .iter()
            .find(|i| i.id == "k8s:prod:payments/sa/api")
            .expect("api");
        assert_eq!(api.kind, "k8s-service-account");
        assert_eq!(api.privilege, Privilege::Admin);
        assert!(
            api.attributes["privilege_reason"]
                .as_str()
                .is_some_and(|r| r.contains("ClusterRoleBinding api-admin"))
        );
        assert_eq!(api.tags["service"], "payments");
        assert_eq!(
            api.attributes["workload_identity"][0]["target"],
            "arn:aws:iam::111122223333:role/payments-api"
        );
        // two pods of one Deployment are one consumer; the bare pod is another
        let consumers = api.attributes["consumers"].as_array().expect("consumers");
        assert_eq!(consumers.len(), 2, "{consumers:?}");
        assert_eq!(consumers[0]["kind"], "Deployment");
        assert_eq!(consumers[0]["name"], "payments/api");
        assert_eq!(consumers[1]["token"], "projected");
        assert_eq!(
            consumers[1]["projected_tokens"][0]["expiration_seconds"],
            600
        );
        assert_eq!(
            api.last_used_at.map(castellan_model::format_ts).as_deref(),
            Some("2026-11-30T00:00:00Z")
        );
        // who can issue, use, revoke
        let auth = api.attributes["lifecycle_authority"]["principals"]
            .as_array()
            .expect("authority");
        let find = |p: &str| {
            auth.iter()
                .find(|e| e["principal"] == p)
                .unwrap_or_else(|| panic!("no {p} in {auth:?}"))
        };
        assert_eq!(
            find("k8s:prod:group/platform-ops")["can"],
            json!(["issue", "revoke", "use"])
        );
        assert_eq!(
            find("k8s:prod:ops/sa/rotator")["can"],
            json!(["issue", "revoke", "use"])
        );
        assert_eq!(
            find("k8s:prod:payments/sa/api")["can"],
            json!(["issue", "revoke", "use"])
        );
        // the default SA nobody uses is Kubernetes' own
        let def = r
            .identities
            .iter()
            .find(|i| i.id == "k8s:prod:payments/sa/default")
            .expect("default");
        assert_eq!(def.attributes["managed_by"], "kubernetes");
        assert_eq!(def.privilege, Privilege::None);

        // the legacy token: fingerprinted, never kept
        assert_eq!(
            r.credentials.len(),
            1,
            "only the legacy token is a credential"
        );
        let t = &r.credentials[0];
        assert_eq!(t.id, "k8s:prod:payments/secret/api-token");
        assert_eq!(t.identity_id.as_deref(), Some("k8s:prod:payments/sa/api"));
        assert_eq!(t.kind, "token");
        assert_eq!(t.expires_at, None);
        assert!(t.fingerprint.is_some());
        assert_eq!(
            t.attributes["consumers"],
            json!(["k8s:prod:payments/deployment/api"])
        );
        let all = serde_json::to_string(&r).expect("json");
        assert!(
            !all.contains("ZXlKaGJHY2lPaUpTVXpJMU5p"),
            "raw token leaked"
        );
        assert!(
            !all.contains("eyJhbGciOiJSUzI1NiIsImtpZCI6Ik"),
            "decoded token leaked"
        );
        assert!(!all.contains("aHVudGVyMg"), "opaque secret leaked");
        assert!(!all.contains("last-applied"), "annotation kept");

        // grants: cluster-admin for api, one per rule
        let g: Vec<&Grant> = r
            .grants
            .iter()
            .filter(|g| g.holder == "k8s:prod:payments/sa/api")
            .collect();
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].privilege, Privilege::Admin);
        assert_eq!(g[0].attributes["document"], "summary");
    }

    #[test]
    fn yaml_manifests_and_templates() {
        let yaml = r#"
apiVersion: v1
kind: ServiceAccount
metadata:
  name: etl
  namespace: data
automountServiceAccountToken: false
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: etl, namespace: data}
spec:
  template:
    spec:
      serviceAccountName: etl
      containers:
        - name: etl
          envFrom: [{secretRef: {name: warehouse}}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly, namespace: data}
spec:
  jobTemplate:
    spec:
      template:
        spec:
          serviceAccountName: etl
          automountServiceAccountToken: true
          containers: [{name: n}]
---
"#;
        let r = parse("m.yaml", yaml.as_bytes(), "stage", &key()).expect("parse");
        let etl = &r.identities[0];
        assert_eq!(etl.privilege, Privilege::Unknown);
        let c = etl.attributes["consumers"].as_array().expect("consumers");
        assert_eq!(c.len(), 2);
        assert_eq!(c[0]["kind"], "CronJob");
        assert_eq!(c[0]["token"], "automounted");
        assert_eq!(c[1]["kind"], "Deployment");
        assert_eq!(c[1]["token"], "not mounted");
    }

    #[test]
    fn errors_name_file_line_and_field() {
        let bad = "{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [\n {\"kind\": \"ServiceAccount\", \"metadata\": {\"name\": 5}}\n]}";
        let e = parse("k.json", bad.as_bytes(), "c", &key()).expect_err("type error");
        let s = e.to_string();
        assert!(s.contains("k.json:2"), "{s}");
        assert!(s.contains("metadata.name"), "{s}");

        let trunc = &LIST[..LIST.len() / 2];
        let e = parse("k.json", trunc.as_bytes(), "c", &key()).expect_err("truncated");
        assert!(e.to_string().contains("truncated"), "{e}");

        let e = parse("k.json", b"\xff\xfe\x00junk", "c", &key()).expect_err("binary");
        assert!(e.to_string().contains("UTF-8"), "{e}");

        let e = parse("k.yaml", b"", "c", &key()).expect_err("empty");
        assert!(e.to_string().contains("empty"), "{e}");

        let nothing = r#"{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}"#;
        let e = parse("k.json", nothing.as_bytes(), "c", &key()).expect_err("nothing");
        assert!(e.to_string().contains("kubectl get"), "{e}");

        let bad_label = LIST.replace("2026-11-30", "yesterday");
        let e = parse("k.json", bad_label.as_bytes(), "c", &key()).expect_err("label");
        assert!(e.to_string().contains("legacy-token-last-used"), "{e}");

        let bad_token = LIST.replace("ZXlKaGJHY2lPaUpTVXpJMU5pSXNJbXRwWkNJNklrdGxlVkJzWVc1MFpXUkVSVUZFUWtWRlJpSjk=\", \"namespace\"", "not base64!!\", \"namespace\"");
        let e = parse("k.json", bad_token.as_bytes(), "c", &key()).expect_err("b64");
        let s = e.to_string();
        assert!(s.contains("data.token is not base64"), "{s}");
        assert!(!s.contains("not base64!!"), "{s}");
    }

    #[test]
    fn billion_laughs_is_refused() {
        let mut y = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            y.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        y.push_str("apiVersion: v1\nkind: ServiceAccount\n");
        assert!(parse("b.yaml", y.as_bytes(), "c", &key()).is_err());
    }

    #[test]
    fn cluster_names_come_from_the_file_name() {
        assert_eq!(cluster_from_path(Path::new("/x/prod-eu.json")), "prod-eu");
        assert_eq!(
            cluster_from_path(Path::new("my cluster.yaml")),
            "my-cluster"
        );
    }

    #[test]
    fn recognised_by_content() {
        assert!(looks_like(
            "{\"apiVersion\": \"v1\", \"items\": [], \"kind\": \"List\"}"
        ));
        assert!(looks_like("---\napiVersion: v1\nkind: ServiceAccount\n"));
        assert!(!looks_like("castellan: 1\n"));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,400}") {
            let _ = parse("p.json", s.as_bytes(), "c", &key());
            let _ = parse("p.yaml", format!("apiVersion: v1\nkind: ServiceAccount\n{s}").as_bytes(), "c", &key());
        }
    }
}
