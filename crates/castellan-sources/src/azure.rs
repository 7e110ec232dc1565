//! Microsoft Entra ID (Azure AD) and Azure RBAC: what `az ad sp list --all -o json`,
//! `az ad app list --all -o json` and `az role assignment list --all -o json` print, one output
//! per file or bundled together.
//!
//! Accepted files (JSON; several documents one after the other are merged):
//! - an array of Microsoft Graph **servicePrincipal** objects (`az ad sp list`), or one
//!   (`az ad sp show`);
//! - an array of Graph **application** objects (`az ad app list`), or one (`az ad app show`);
//! - a Graph page `{"@odata.context": …, "value": […]}` of either (`az rest`);
//! - the **bundle** `{"tenantId": …, "applications": […], "servicePrincipals": […],
//!   "roleAssignments": […], "appRoleAssignments": […], "directoryRoleAssignments": […]}`, every
//!   key optional. `az role assignment list` output names no tenant, so it is imported only
//!   inside a bundle (with `tenantId`, or with the service principals it refers to).
//!
//! Application and service-principal objects may carry `federatedIdentityCredentials`,
//! `owners` and (service principals) `appRoleAssignments`, which `az` prints with separate
//! commands; `docs/sources/azure.md` shows the `jq` lines that attach them.
//!
//! Yields:
//! - applications as identities `azure:<tenant>:app/<appId>` (kind `entra-application`) and
//!   service principals as `azure:<tenant>:sp/<appId>` (kind `entra-service-principal` or
//!   `entra-managed-identity`), third-party (`external_trust`) and Microsoft first-party
//!   principals marked;
//! - client secrets `…/secret/<keyId>` (kind `client-secret`, preview from the 3-character
//!   `hint` only), certificates `…/cert/<keyId>` (kind `certificate`, thumbprint) and federated
//!   credentials `…/federated/<name>` (kind `federated-credential`: no secret, no rotation);
//! - grants from Azure RBAC role assignments, Microsoft Graph application permissions (app role
//!   assignments) and Entra directory roles, held by service principals, and the privilege of
//!   each principal from them;
//! - who may add and remove credentials of each application and service principal: its owners,
//!   holders of the Application Administrator, Cloud Application Administrator and Global
//!   Administrator directory roles, and service principals with `Application.ReadWrite.All`
//!   (or a permission that lets them grant it to themselves).
//!
//! The tenant is `tenantId` when the file gives it; otherwise the `appOwnerOrganizationId` of the
//! service principals of the applications in the file, else the most common
//! `appOwnerOrganizationId` outside Microsoft's own tenants, else the most common
//! `publisherDomain` of the applications (recorded as `tenant_from`).
//!
//! Secret values (`secretText`, printed only when a secret is created) and certificate blobs
//! (`key`) are never read: only their presence is noted.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use base64::Engine;
use castellan_model::{
    Attributes, Credential, Effect, Grant, Identity, Privilege, Redacted, Status, parse_ts,
};
use jiff::Timestamp;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::json_input::{decode, documents, line_at, offset_in, text_of};
use crate::{Records, SourceError, show_value};

/// The source name.
pub const SOURCE: &str = "azure-entra";

/// Microsoft's own tenants: first-party applications are registered there.
const MICROSOFT_TENANTS: &[&str] = &[
    "f8cdef31-a31e-4b4a-93e4-5f571e91255a",
    "72f988bf-86f1-41af-91ab-2d7cd011db47",
];

const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

/// Well-known Microsoft Graph application permissions (app role id → value), used when the
/// Microsoft Graph service principal is not in the export.
const GRAPH_APP_ROLES: &[(&str, &str)] = &[
    (
        "9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8",
        "RoleManagement.ReadWrite.Directory",
    ),
    (
        "06b708a9-e830-4db3-a914-8e69da51d44f",
        "AppRoleAssignment.ReadWrite.All",
    ),
    (
        "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9",
        "Application.ReadWrite.All",
    ),
    (
        "19dbc75e-c2e2-444c-a770-ec69d8559fc7",
        "Directory.ReadWrite.All",
    ),
    ("7ab1d382-f21e-4acd-a863-ba3e13f7da61", "Directory.Read.All"),
    ("df021288-bdef-4463-88db-98f22de89214", "User.Read.All"),
    ("741f803b-c850-494e-b5df-cde7c675a1ca", "User.ReadWrite.All"),
    (
        "62a82d76-70ea-41e2-9197-370581804d09",
        "Group.ReadWrite.All",
    ),
    ("b633e1c5-b582-4048-a93e-9f11b44c7e96", "Mail.Send"),
    ("810c84a8-4a9e-49e6-bf7d-12d183f40d01", "Mail.Read"),
    ("e2a3a72e-5f79-4c64-b1b1-878b674786c9", "Mail.ReadWrite"),
];

/// Built-in Entra directory roles that matter here (template id, name).
const DIRECTORY_ROLES: &[(&str, &str)] = &[
    (
        "62e90394-69f5-4237-9190-012177145e10",
        "Global Administrator",
    ),
    (
        "e8611ab8-c189-46e8-94e1-60213ab1f814",
        "Privileged Role Administrator",
    ),
    (
        "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
        "Application Administrator",
    ),
    (
        "158c047a-c907-4556-b7ef-446551a6b5f7",
        "Cloud Application Administrator",
    ),
];

/// Built-in Azure RBAC roles (definition id, name), for assignments that give only the id.
const RBAC_ROLES: &[(&str, &str)] = &[
    ("8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "Owner"),
    ("b24988ac-6180-42a0-ab88-20f7382dd24c", "Contributor"),
    ("acdd72a7-3385-48ef-bd42-f606fba81ae7", "Reader"),
    (
        "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
        "User Access Administrator",
    ),
];

/// Whether the first bytes of a file look like `az ad` / `az role assignment` output or an
/// Azure bundle.
pub fn looks_like(head: &str) -> bool {
    let t = head.trim_start_matches('\u{feff}').trim_start();
    if !(t.starts_with('[') || t.starts_with('{')) {
        return false;
    }
    if head.contains("\"apiVersion\"") && head.contains("\"kind\"") {
        return false;
    }
    let has = |k: &str| head.contains(k);
    has("\"servicePrincipalType\"")
        || has("\"appOwnerOrganizationId\"")
        || has("\"servicePrincipals\"")
        || (has("\"appId\"")
            && (has("\"signInAudience\"")
                || has("\"passwordCredentials\"")
                || has("\"keyCredentials\"")
                || has("\"requiredResourceAccess\"")))
        || (has("\"roleDefinitionName\"") && has("\"principalId\""))
        || has("#servicePrincipals")
        || has("#applications")
}

// ---------------------------------------------------------------------------------------------
// The objects, as far as Castellan reads them.

/// An RFC 3339 timestamp, checked while deserialising.
#[derive(Clone, Copy, Debug)]
struct Ts(Timestamp);

impl<'de> Deserialize<'de> for Ts {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Ts, D::Error> {
        let s = String::deserialize(d)?;
        parse_ts(&s).map(Ts).map_err(|e| {
            serde::de::Error::custom(format!(
                "{} is not an RFC 3339 timestamp ({})",
                show_value(&s),
                e.reason
            ))
        })
    }
}

/// `true`/`false`, or `"True"`/`"False"` as older `az` versions printed them.
#[derive(Clone, Copy, Debug)]
struct Flag(bool);

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Flag, D::Error> {
        match Value::deserialize(d)? {
            Value::Bool(b) => Ok(Flag(b)),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Flag(true)),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Flag(false)),
            _ => Err(serde::de::Error::custom("expected true or false")),
        }
    }
}

/// Whether a secret-bearing field holds a value; the value itself is dropped unread.
#[derive(Clone, Copy, Debug, Default)]
struct Present(bool);

impl<'de> Deserialize<'de> for Present {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Present, D::Error> {
        let v = Option::<IgnoredAny>::deserialize(d)?;
        Ok(Present(v.is_some()))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PasswordCredential {
    display_name: Option<String>,
    end_date_time: Option<Ts>,
    hint: Option<String>,
    key_id: Option<String>,
    #[serde(default)]
    secret_text: Present,
    start_date_time: Option<Ts>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeyCredential {
    custom_key_identifier: Option<String>,
    display_name: Option<String>,
    end_date_time: Option<Ts>,
    #[serde(default)]
    key: Present,
    key_id: Option<String>,
    start_date_time: Option<Ts>,
    #[serde(rename = "type")]
    type_: Option<String>,
    usage: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClaimsExpression {
    value: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FederatedCredential {
    id: Option<String>,
    name: Option<String>,
    issuer: Option<String>,
    subject: Option<String>,
    audiences: Option<Vec<String>>,
    description: Option<String>,
    claims_matching_expression: Option<ClaimsExpression>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DirectoryObjectRef {
    #[serde(rename = "@odata.type")]
    odata_type: Option<String>,
    id: Option<String>,
    display_name: Option<String>,
    user_principal_name: Option<String>,
    app_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AppRole {
    id: Option<String>,
    value: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AppRoleAssignment {
    id: Option<String>,
    app_role_id: Option<String>,
    principal_id: Option<String>,
    resource_id: Option<String>,
    resource_display_name: Option<String>,
    created_date_time: Option<Ts>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResourceAccess {
    id: Option<String>,
    #[serde(rename = "type")]
    type_: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequiredResourceAccess {
    resource_app_id: Option<String>,
    resource_access: Option<Vec<ResourceAccess>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct VerifiedPublisher {
    display_name: Option<String>,
}

/// An application or a service principal: Graph gives them many fields in common.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DirObject {
    id: Option<String>,
    app_id: Option<String>,
    display_name: Option<String>,
    app_display_name: Option<String>,
    description: Option<String>,
    notes: Option<String>,
    // servicePrincipal
    service_principal_type: Option<String>,
    app_owner_organization_id: Option<String>,
    account_enabled: Option<Flag>,
    alternative_names: Option<Vec<String>>,
    app_role_assignments: Option<Vec<AppRoleAssignment>>,
    // application
    publisher_domain: Option<String>,
    sign_in_audience: Option<String>,
    required_resource_access: Option<Vec<RequiredResourceAccess>>,
    disabled_by_microsoft_status: Option<String>,
    // both
    created_date_time: Option<Ts>,
    tags: Option<Vec<String>>,
    app_roles: Option<Vec<AppRole>>,
    verified_publisher: Option<VerifiedPublisher>,
    password_credentials: Option<Vec<PasswordCredential>>,
    key_credentials: Option<Vec<KeyCredential>>,
    federated_identity_credentials: Option<Vec<FederatedCredential>>,
    owners: Option<Vec<DirectoryObjectRef>>,
}

/// `az role assignment list` item.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RoleAssignment {
    id: Option<String>,
    name: Option<String>,
    principal_id: Option<String>,
    principal_name: Option<String>,
    principal_type: Option<String>,
    role_definition_id: Option<String>,
    role_definition_name: Option<String>,
    scope: Option<String>,
    condition: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RoleDefinitionRef {
    display_name: Option<String>,
    template_id: Option<String>,
}

/// Graph `unifiedRoleAssignment` (Entra directory role), optionally with `roleDefinition` and
/// `principal` expanded.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DirectoryRoleAssignment {
    id: Option<String>,
    principal_id: Option<String>,
    role_definition_id: Option<String>,
    directory_scope_id: Option<String>,
    role_definition: Option<RoleDefinitionRef>,
    principal: Option<DirectoryObjectRef>,
}

/// What a top-level object is, by the keys it has.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Top<'a> {
    tenant_id: Option<String>,
    #[serde(borrow)]
    applications: Option<Vec<&'a RawValue>>,
    #[serde(borrow)]
    service_principals: Option<Vec<&'a RawValue>>,
    #[serde(borrow)]
    role_assignments: Option<Vec<&'a RawValue>>,
    #[serde(borrow)]
    app_role_assignments: Option<&'a RawValue>,
    #[serde(borrow)]
    directory_role_assignments: Option<Vec<&'a RawValue>>,
    #[serde(borrow)]
    value: Option<Vec<&'a RawValue>>,
    #[serde(rename = "@odata.context")]
    odata_context: Option<String>,
    app_id: Option<IgnoredAny>,
    role_definition_name: Option<IgnoredAny>,
    role_definition_id: Option<IgnoredAny>,
}

/// How an array item is recognised.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Peek {
    #[serde(rename = "@odata.type")]
    odata_type: Option<String>,
    app_id: Option<IgnoredAny>,
    service_principal_type: Option<IgnoredAny>,
    app_owner_organization_id: Option<IgnoredAny>,
    service_principal_names: Option<IgnoredAny>,
    principal_id: Option<IgnoredAny>,
    role_definition_id: Option<IgnoredAny>,
    role_definition_name: Option<IgnoredAny>,
    directory_scope_id: Option<IgnoredAny>,
    app_role_id: Option<IgnoredAny>,
    issuer: Option<IgnoredAny>,
}

// ---------------------------------------------------------------------------------------------
// Reading the file.

/// Everything the file holds, merged over its documents.
#[derive(Default)]
struct Input {
    tenant_id: Option<String>,
    applications: Vec<DirObject>,
    service_principals: Vec<DirObject>,
    role_assignments: Option<Vec<RoleAssignment>>,
    app_role_assignments: Option<Vec<AppRoleAssignment>>,
    directory_role_assignments: Option<Vec<DirectoryRoleAssignment>>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Want {
    Any,
    Application,
    ServicePrincipal,
}

fn bad_item(path: &str, text: &str, raw: &RawValue, field: &str, message: &str) -> SourceError {
    SourceError::Field {
        path: path.into(),
        line: line_at(text.as_bytes(), offset_in(text, raw.get())),
        field: if field.is_empty() {
            ".".into()
        } else {
            field.into()
        },
        message: message.into(),
    }
}

fn push_item(
    path: &str,
    text: &str,
    raw: &RawValue,
    field: &str,
    want: Want,
    input: &mut Input,
) -> Result<(), SourceError> {
    if !raw.get().starts_with('{') {
        return Err(bad_item(
            path,
            text,
            raw,
            field,
            "is not an object; expected a Microsoft Graph application or service principal, or a role assignment",
        ));
    }
    let peek: Peek = decode(path, text, raw, field)?;
    let odata = peek.odata_type.as_deref().unwrap_or("");
    let is_sp = odata.ends_with(".servicePrincipal")
        || peek.service_principal_type.is_some()
        || peek.app_owner_organization_id.is_some()
        || peek.service_principal_names.is_some();
    let is_app = odata.ends_with(".application") || peek.app_id.is_some();
    let is_role = peek.principal_id.is_some()
        && (peek.role_definition_id.is_some() || peek.role_definition_name.is_some());
    match want {
        Want::ServicePrincipal => {
            input
                .service_principals
                .push(decode(path, text, raw, field)?);
        }
        Want::Application => input.applications.push(decode(path, text, raw, field)?),
        Want::Any if is_sp => input
            .service_principals
            .push(decode(path, text, raw, field)?),
        Want::Any if is_app => input.applications.push(decode(path, text, raw, field)?),
        Want::Any if is_role && peek.directory_scope_id.is_some() => input
            .directory_role_assignments
            .get_or_insert_with(Vec::new)
            .push(decode(path, text, raw, field)?),
        Want::Any if is_role => input
            .role_assignments
            .get_or_insert_with(Vec::new)
            .push(decode(path, text, raw, field)?),
        Want::Any if peek.app_role_id.is_some() && peek.principal_id.is_some() => input
            .app_role_assignments
            .get_or_insert_with(Vec::new)
            .push(decode(path, text, raw, field)?),
        Want::Any if peek.issuer.is_some() => {
            return Err(bad_item(
                path,
                text,
                raw,
                field,
                "is a federated identity credential on its own: it does not say which application it belongs to; attach `az ad app federated-credential list` output to its application as `federatedIdentityCredentials` (see docs/sources/azure.md)",
            ));
        }
        Want::Any => {
            return Err(bad_item(
                path,
                text,
                raw,
                field,
                "is neither an application, a service principal nor a role assignment (no `appId`, `servicePrincipalType` or `roleDefinitionName`)",
            ));
        }
    }
    Ok(())
}

fn read_input(path: &str, text: &str) -> Result<Input, SourceError> {
    let mut input = Input::default();
    for doc in documents(path, text).collect::<Result<Vec<_>, _>>()? {
        let body = doc.get();
        if body.starts_with('[') {
            let items: Vec<&RawValue> = decode(path, text, doc, "")?;
            for (i, item) in items.into_iter().enumerate() {
                push_item(path, text, item, &format!("[{i}]"), Want::Any, &mut input)?;
            }
            continue;
        }
        if !body.starts_with('{') {
            return Err(SourceError::Line {
                path: path.into(),
                line: line_at(text.as_bytes(), offset_in(text, body)),
                message: "expected a JSON array or object (az -o json output)".into(),
            });
        }
        let top: Top<'_> = decode(path, text, doc, "")?;
        let bundle = top.tenant_id.is_some()
            || top.applications.is_some()
            || top.service_principals.is_some()
            || top.role_assignments.is_some()
            || top.directory_role_assignments.is_some();
        if bundle {
            if let Some(t) = top.tenant_id {
                match &input.tenant_id {
                    Some(x) if !x.eq_ignore_ascii_case(&t) => {
                        return Err(SourceError::File {
                            path: path.into(),
                            message: format!(
                                "`tenantId` is {} in one document and {} in another; bundle one tenant per file",
                                show_value(x),
                                show_value(&t)
                            ),
                        });
                    }
                    _ => input.tenant_id = Some(t.to_ascii_lowercase()),
                }
            }
            for (i, item) in top.applications.unwrap_or_default().into_iter().enumerate() {
                let f = format!("applications[{i}]");
                push_item(path, text, item, &f, Want::Application, &mut input)?;
            }
            for (i, item) in top
                .service_principals
                .unwrap_or_default()
                .into_iter()
                .enumerate()
            {
                let f = format!("servicePrincipals[{i}]");
                push_item(path, text, item, &f, Want::ServicePrincipal, &mut input)?;
            }
            if let Some(list) = top.role_assignments {
                let dst = input.role_assignments.get_or_insert_with(Vec::new);
                for (i, item) in list.into_iter().enumerate() {
                    dst.push(decode(path, text, item, &format!("roleAssignments[{i}]"))?);
                }
            }
            if let Some(raw) = top.app_role_assignments {
                let list: Vec<AppRoleAssignment> = decode(path, text, raw, "appRoleAssignments")?;
                input
                    .app_role_assignments
                    .get_or_insert_with(Vec::new)
                    .extend(list);
            }
            if let Some(list) = top.directory_role_assignments {
                let dst = input
                    .directory_role_assignments
                    .get_or_insert_with(Vec::new);
                for (i, item) in list.into_iter().enumerate() {
                    dst.push(decode(
                        path,
                        text,
                        item,
                        &format!("directoryRoleAssignments[{i}]"),
                    )?);
                }
            }
        } else if let Some(items) = top.value {
            let ctx = top.odata_context.unwrap_or_default();
            let want = if ctx.contains("#servicePrincipals") {
                Want::ServicePrincipal
            } else if ctx.contains("#applications") {
                Want::Application
            } else {
                Want::Any
            };
            for (i, item) in items.into_iter().enumerate() {
                push_item(path, text, item, &format!("value[{i}]"), want, &mut input)?;
            }
        } else if top.app_id.is_some()
            || top.role_definition_name.is_some()
            || top.role_definition_id.is_some()
        {
            push_item(path, text, doc, "", Want::Any, &mut input)?;
        } else {
            return Err(SourceError::File {
                path: path.into(),
                message: "holds a JSON object that is neither an application, a service principal, a Graph page (`value`) nor a Castellan Azure bundle (tenantId / applications / servicePrincipals / roleAssignments)".into(),
            });
        }
    }
    Ok(input)
}

// ---------------------------------------------------------------------------------------------
// Privilege.

fn last_segment(s: &str) -> &str {
    s.trim_end_matches('/').rsplit('/').next().unwrap_or(s)
}

/// `root`, `management-group`, `subscription`, `resource-group` or `resource`.
fn scope_level(scope: &str) -> &'static str {
    let s = scope.trim_end_matches('/').to_ascii_lowercase();
    let parts: Vec<&str> = s.split('/').filter(|p| !p.is_empty()).collect();
    match parts.as_slice() {
        [] => "root",
        ["providers", "microsoft.management", "managementgroups", _] => "management-group",
        ["subscriptions", _] => "subscription",
        ["subscriptions", _, "resourcegroups", _] => "resource-group",
        _ => "resource",
    }
}

/// The privilege of an Azure RBAC role at a scope, why when notable, and whether it is broad.
fn rbac_privilege(role: &str, scope: &str) -> (Privilege, Option<String>, bool) {
    let level = scope_level(scope);
    let wide = matches!(level, "root" | "management-group" | "subscription");
    match role {
        "Owner" | "User Access Administrator" | "Role Based Access Control Administrator" => {
            if wide {
                (
                    Privilege::Admin,
                    Some(format!(
                        "{role} at {level} scope {scope}: may grant itself any access there"
                    )),
                    true,
                )
            } else {
                (
                    Privilege::Write,
                    Some(format!("{role} of {level} {scope} only")),
                    false,
                )
            }
        }
        "Contributor" => (
            Privilege::Write,
            wide.then(|| format!("Contributor at {level} scope {scope}")),
            wide,
        ),
        "Reader" => (Privilege::Read, None, wide),
        _ => {
            let r = role.to_ascii_lowercase();
            if r.contains("reader") || r.contains("viewer") {
                (Privilege::Read, None, false)
            } else if [
                "contributor",
                "owner",
                "administrator",
                "operator",
                "officer",
                "writer",
                "sender",
                "manager",
                "user",
            ]
            .iter()
            .any(|k| r.contains(k))
            {
                (Privilege::Write, None, false)
            } else {
                (
                    Privilege::Unknown,
                    Some(format!("role {role} is not classified by Castellan")),
                    false,
                )
            }
        }
    }
}

/// The privilege of an application permission (app role) on a resource API.
fn permission_privilege(value: &str, resource: &str) -> (Privilege, Option<String>) {
    let escalation = [
        "RoleManagement.ReadWrite.Directory",
        "AppRoleAssignment.ReadWrite.All",
        "Application.ReadWrite.All",
        "RoleAssignmentSchedule.ReadWrite.Directory",
        "RoleEligibilitySchedule.ReadWrite.Directory",
        "PrivilegedAccess.ReadWrite.AzureADGroup",
    ];
    if escalation.contains(&value) {
        return (
            Privilege::Admin,
            Some(format!(
                "{resource} application permission {value}: may take over other applications or grant itself directory roles"
            )),
        );
    }
    if value.contains(".ReadWrite")
        || value.contains(".Write")
        || value.ends_with(".Send")
        || value.contains(".Manage")
        || value.ends_with(".All") && !value.contains(".Read")
    {
        (Privilege::Write, None)
    } else if value.contains(".Read") {
        (Privilege::Read, None)
    } else {
        (
            Privilege::Unknown,
            Some(format!(
                "{resource} permission {value} is not classified by Castellan"
            )),
        )
    }
}

/// The privilege of an Entra directory role.
fn directory_role_privilege(name: &str) -> (Privilege, Option<String>) {
    match name {
        "Global Administrator"
        | "Privileged Role Administrator"
        | "Privileged Authentication Administrator"
        | "Application Administrator"
        | "Cloud Application Administrator" => (
            Privilege::Admin,
            Some(format!(
                "Entra directory role {name}: may add credentials to other applications or assign roles"
            )),
        ),
        n if n.contains("Reader") => (Privilege::Read, None),
        _ => (Privilege::Write, None),
    }
}

/// What a directory role lets its holders do to application and service principal credentials.
fn directory_role_lifecycle(name: &str) -> bool {
    matches!(
        name,
        "Global Administrator" | "Application Administrator" | "Cloud Application Administrator"
    )
}

// ---------------------------------------------------------------------------------------------
// Federated credentials.

/// Attributes describing a federated credential's trust, and its weaknesses.
fn federation(f: &FederatedCredential) -> (Value, Vec<String>) {
    let issuer = f.issuer.clone().unwrap_or_default();
    let subject = f.subject.clone().filter(|s| !s.is_empty());
    let expression = f
        .claims_matching_expression
        .as_ref()
        .and_then(|c| c.value.clone());
    let mut weak = Vec::new();
    let mut v = json!({
        "issuer": issuer,
        "subject": subject,
        "audiences": f.audiences.clone().unwrap_or_default(),
        "subject_match": if expression.is_some() { "expression" } else { "exact" },
    });
    if let Some(e) = &expression {
        v["claims_matching_expression"] = json!(e);
        if e.contains('*') {
            v["wildcard"] = json!(true);
            weak.push(format!(
                "subject matched by a wildcard expression ({e}): every workload it matches may sign in"
            ));
        }
    } else if subject.is_none() {
        weak.push("no subject restriction".into());
    }
    let host = issuer
        .trim_start_matches("https://")
        .split('/')
        .next()
        .unwrap_or("");
    if host == "token.actions.githubusercontent.com" {
        v["provider"] = json!("github-actions");
        let claim = subject.clone().or_else(|| {
            expression
                .as_deref()
                .and_then(|e| e.split('\'').nth(3).or_else(|| e.split('\'').nth(1)))
                .map(str::to_string)
        });
        if let Some(s) = claim.as_deref().and_then(|s| s.strip_prefix("repo:")) {
            let (repo, rest) = s.split_once(':').unwrap_or((s, ""));
            v["repository"] = json!(repo);
            let restriction = if let Some(b) = rest.strip_prefix("ref:refs/heads/") {
                json!({ "branch": b })
            } else if let Some(t) = rest.strip_prefix("ref:refs/tags/") {
                json!({ "tag": t })
            } else if let Some(e) = rest.strip_prefix("environment:") {
                json!({ "environment": e })
            } else if rest == "pull_request" {
                weak.push(format!(
                    "any pull request workflow of {repo} may sign in (subject `pull_request`)"
                ));
                json!("pull_request")
            } else {
                json!(rest)
            };
            v["restricted_to"] = restriction;
        }
    } else if let Some(sa) = subject
        .as_deref()
        .and_then(|s| s.strip_prefix("system:serviceaccount:"))
    {
        v["provider"] = json!("kubernetes");
        v["service_account"] = json!(sa.replacen(':', "/", 1));
    } else if host == "app.terraform.io" {
        v["provider"] = json!("terraform-cloud");
    } else if host == "accounts.google.com" {
        v["provider"] = json!("google");
    } else if host.starts_with("login.microsoftonline.com") || host == "sts.windows.net" {
        v["provider"] = json!("entra");
    }
    if !weak.is_empty() {
        v["weaknesses"] = json!(weak);
    }
    (v, weak)
}

// ---------------------------------------------------------------------------------------------
// The import.

fn is_guid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                b == b'-'
            } else {
                b.is_ascii_hexdigit()
            }
        })
}

/// A certificate thumbprint as hex: `customKeyIdentifier` is base64 of the 20 SHA-1 bytes in
/// Graph output, or already hex.
fn thumbprint(v: &str) -> String {
    if v.len() == 40 && v.bytes().all(|b| b.is_ascii_hexdigit()) {
        return v.to_ascii_uppercase();
    }
    match base64::engine::general_purpose::STANDARD.decode(v) {
        Ok(b) if b.len() == 20 => b.iter().map(|x| format!("{x:02X}")).collect(),
        _ => v.to_string(),
    }
}

/// The preview of a client secret from Graph's `hint` (its first three characters).
fn hint_preview(hint: &str) -> Option<Redacted> {
    let head: String = hint.chars().take(3).collect();
    if head.is_empty() {
        return None;
    }
    serde_json::from_value(json!(format!("{head}… (hint only)"))).ok()
}

fn tags_of(list: &[String]) -> BTreeMap<String, String> {
    list.iter()
        .map(|t| match t.split_once(':') {
            Some((k, v)) if !k.is_empty() => (k.to_string(), v.to_string()),
            _ => (t.clone(), String::new()),
        })
        .collect()
}

/// The tenant the export belongs to, and where that came from.
fn tenant_of(path: &str, input: &Input) -> Result<(String, &'static str), SourceError> {
    if let Some(t) = &input.tenant_id {
        return Ok((t.clone(), "tenantId"));
    }
    let app_ids: BTreeSet<&str> = input
        .applications
        .iter()
        .filter_map(|a| a.app_id.as_deref())
        .collect();
    if let Some(t) = input
        .service_principals
        .iter()
        .filter(|s| s.app_id.as_deref().is_some_and(|a| app_ids.contains(a)))
        .find_map(|s| s.app_owner_organization_id.clone())
    {
        return Ok((
            t.to_ascii_lowercase(),
            "appOwnerOrganizationId of the service principal of an application in the file",
        ));
    }
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for s in &input.service_principals {
        if let Some(t) = &s.app_owner_organization_id {
            let t = t.to_ascii_lowercase();
            if !MICROSOFT_TENANTS.contains(&t.as_str()) {
                *counts.entry(t).or_default() += 1;
            }
        }
    }
    let top = counts.values().copied().max().unwrap_or(0);
    let winners: Vec<&String> = counts
        .iter()
        .filter(|(_, n)| **n == top)
        .map(|(t, _)| t)
        .collect();
    match winners.as_slice() {
        [one] => {
            return Ok((
                (*one).clone(),
                "most common appOwnerOrganizationId of the service principals",
            ));
        }
        [] => {}
        _ => {
            return Err(SourceError::File {
                path: path.into(),
                message: "cannot tell the tenant: the service principals are owned by several tenants equally often; add \"tenantId\" (see docs/sources/azure.md)".into(),
            });
        }
    }
    let mut domains: BTreeMap<String, usize> = BTreeMap::new();
    for a in &input.applications {
        if let Some(d) = &a.publisher_domain {
            *domains.entry(d.to_ascii_lowercase()).or_default() += 1;
        }
    }
    if let Some((d, _)) = domains.iter().max_by_key(|(_, n)| **n) {
        return Ok((d.clone(), "most common publisherDomain of the applications"));
    }
    Err(SourceError::File {
        path: path.into(),
        message: "cannot tell the tenant (no tenantId, no appOwnerOrganizationId, no publisherDomain); bundle the export as {\"tenantId\": …} (see docs/sources/azure.md)".into(),
    })
}

/// A grant a principal holds, before it becomes a [`Grant`].
struct Held {
    privilege: Privilege,
    reason: Option<String>,
}

/// Parses `az ad sp list`, `az ad app list` output or an Azure bundle.
pub fn parse(path: &str, bytes: &[u8]) -> Result<Records, SourceError> {
    let text = text_of(
        path,
        bytes,
        "az output is JSON (use -o json)",
        "`az ad sp list --all -o json` / `az ad app list --all -o json` output or a Castellan Azure bundle",
    )?;
    let input = read_input(path, text)?;
    if input.applications.is_empty()
        && input.service_principals.is_empty()
        && input.role_assignments.as_ref().is_none_or(Vec::is_empty)
        && input
            .app_role_assignments
            .as_ref()
            .is_none_or(Vec::is_empty)
        && input
            .directory_role_assignments
            .as_ref()
            .is_none_or(Vec::is_empty)
    {
        return Ok(Records::default());
    }
    if input.applications.is_empty()
        && input.service_principals.is_empty()
        && input.tenant_id.is_none()
    {
        return Err(SourceError::File {
            path: path.into(),
            message: "holds role assignments only, and `az role assignment list` output names no tenant; bundle it with the tenant id or the service principals: {\"tenantId\": …, \"roleAssignments\": …} (see docs/sources/azure.md)".into(),
        });
    }
    let (tenant, tenant_from) = tenant_of(path, &input)?;
    let tenant_is_guid = is_guid(&tenant);
    let t = tenant.as_str();

    // Object ids → identity ids, and appIds seen.
    let mut object_to_id: HashMap<String, String> = HashMap::new();
    let mut sp_by_object: HashMap<String, usize> = HashMap::new();
    let mut sp_by_app: HashMap<String, usize> = HashMap::new();
    for (i, s) in input.service_principals.iter().enumerate() {
        let Some(app) = s.app_id.as_deref() else {
            return Err(SourceError::File {
                path: path.into(),
                message: format!(
                    "service principal {} has no `appId`",
                    show_value(s.display_name.as_deref().unwrap_or("(unnamed)"))
                ),
            });
        };
        if let Some(o) = &s.id {
            object_to_id.insert(o.to_ascii_lowercase(), format!("azure:{t}:sp/{app}"));
            sp_by_object.insert(o.to_ascii_lowercase(), i);
        }
        sp_by_app.insert(app.to_ascii_lowercase(), i);
    }
    for a in &input.applications {
        let Some(app) = a.app_id.as_deref() else {
            return Err(SourceError::File {
                path: path.into(),
                message: format!(
                    "application {} has no `appId`",
                    show_value(a.display_name.as_deref().unwrap_or("(unnamed)"))
                ),
            });
        };
        if let Some(o) = &a.id {
            object_to_id.insert(o.to_ascii_lowercase(), format!("azure:{t}:app/{app}"));
        }
    }
    let principal_id_of = |object: &str, hint: Option<&DirectoryObjectRef>| -> String {
        let o = object.to_ascii_lowercase();
        if let Some(id) = object_to_id.get(&o) {
            return id.clone();
        }
        match hint.and_then(|h| h.odata_type.as_deref()) {
            Some(k) if k.ends_with(".user") => format!("azure:{t}:user/{o}"),
            Some(k) if k.ends_with(".group") => format!("azure:{t}:group/{o}"),
            Some(k) if k.ends_with(".servicePrincipal") => {
                match hint.and_then(|h| h.app_id.as_deref()) {
                    Some(a) => format!("azure:{t}:sp/{a}"),
                    None => format!("azure:{t}:object/{o}"),
                }
            }
            _ => format!("azure:{t}:object/{o}"),
        }
    };

    // App role id → permission value, from the resource service principals in the export.
    let mut role_values: HashMap<(String, String), String> = HashMap::new();
    for s in &input.service_principals {
        for r in s.app_roles.iter().flatten() {
            if let (Some(o), Some(id), Some(v)) = (&s.id, &r.id, &r.value) {
                role_values.insert((o.to_ascii_lowercase(), id.to_ascii_lowercase()), v.clone());
            }
            if let (Some(a), Some(id), Some(v)) = (&s.app_id, &r.id, &r.value) {
                role_values.insert((a.to_ascii_lowercase(), id.to_ascii_lowercase()), v.clone());
            }
        }
    }
    let permission_name = |resource: &str, role: &str, graph: bool| -> Option<String> {
        let key = (resource.to_ascii_lowercase(), role.to_ascii_lowercase());
        role_values.get(&key).cloned().or_else(|| {
            graph
                .then(|| {
                    GRAPH_APP_ROLES
                        .iter()
                        .find(|(id, _)| id.eq_ignore_ascii_case(role))
                        .map(|(_, v)| v.to_string())
                })
                .flatten()
        })
    };
    let graph_object: Option<String> = input
        .service_principals
        .iter()
        .find(|s| s.app_id.as_deref() == Some(GRAPH_APP_ID))
        .and_then(|s| s.id.as_ref().map(|o| o.to_ascii_lowercase()));

    let app_ids: BTreeSet<String> = input
        .applications
        .iter()
        .filter_map(|a| a.app_id.as_deref().map(str::to_ascii_lowercase))
        .collect();
    let mut records = Records::default();
    let mut held: HashMap<String, Vec<Held>> = HashMap::new();
    // identity id → authority principal → (can, via, name)
    type Authority = BTreeMap<String, (BTreeSet<&'static str>, BTreeSet<String>, Option<String>)>;
    let mut tenant_wide_authority: Authority = BTreeMap::new();
    let mut scoped_authority: HashMap<String, Authority> = HashMap::new();
    let mut sources: Vec<&str> = Vec::new();

    // Azure RBAC.
    if let Some(list) = &input.role_assignments {
        sources.push("azure-rbac");
        let scope = format!("azure:{t}:rbac");
        for (n, a) in list.iter().enumerate() {
            let ptype = a.principal_type.as_deref().unwrap_or("");
            let Some(object) = a.principal_id.as_deref() else {
                continue;
            };
            let known = object_to_id.get(&object.to_ascii_lowercase()).cloned();
            let holder = match (known, ptype) {
                (Some(id), _) => id,
                (None, "ServicePrincipal") => match a.principal_name.as_deref() {
                    Some(app) if is_guid(app) => {
                        format!("azure:{t}:sp/{}", app.to_ascii_lowercase())
                    }
                    _ => format!("azure:{t}:object/{}", object.to_ascii_lowercase()),
                },
                // Users and groups are people, not workloads.
                (None, _) => continue,
            };
            let role = a.role_definition_name.clone().or_else(|| {
                a.role_definition_id.as_deref().and_then(|d| {
                    RBAC_ROLES
                        .iter()
                        .find(|(id, _)| id.eq_ignore_ascii_case(last_segment(d)))
                        .map(|(_, n)| n.to_string())
                })
            });
            let az_scope = a.scope.clone().unwrap_or_else(|| "/".into());
            let (privilege, reason, broad) = match &role {
                Some(r) => rbac_privilege(r, &az_scope),
                None => (
                    Privilege::Unknown,
                    Some("custom role: its permissions are not in the export".into()),
                    false,
                ),
            };
            let role_label = role
                .clone()
                .or_else(|| a.role_definition_id.clone())
                .unwrap_or_default();
            let via = format!("azure-rbac:{role_label}@{az_scope}");
            let mut attributes = Attributes::new();
            attributes.insert("role".into(), json!(role_label));
            attributes.insert("scope_level".into(), json!(scope_level(&az_scope)));
            if let Some(id) = &a.id {
                attributes.insert("assignment_id".into(), json!(id));
            }
            if broad {
                attributes.insert("broad".into(), json!(true));
            }
            if let Some(c) = &a.condition {
                attributes.insert("condition".into(), json!(c));
            }
            if let Some(r) = &reason {
                attributes.insert("privilege_reason".into(), json!(r));
            }
            let reason = reason.or_else(|| Some(format!("{role_label} at {az_scope}")));
            held.entry(holder.clone())
                .or_default()
                .push(Held { privilege, reason });
            let index = a.name.clone().unwrap_or_else(|| n.to_string());
            records.grants.push(Grant {
                id: format!("{holder}#{via}#{index}"),
                holder,
                source: SOURCE.into(),
                scope: scope.clone(),
                effect: Effect::Allow,
                privilege,
                actions: vec![role_label],
                resources: vec![az_scope],
                via,
                attributes,
            });
        }
    }

    // Graph application permissions (app role assignments), embedded or bundled.
    let mut app_roles: Vec<(&AppRoleAssignment, Option<String>)> = Vec::new();
    let mut any_embedded = false;
    for s in &input.service_principals {
        if let Some(list) = &s.app_role_assignments {
            any_embedded = true;
            app_roles.extend(list.iter().map(|a| (a, s.id.clone())));
        }
    }
    if let Some(list) = &input.app_role_assignments {
        app_roles.extend(list.iter().map(|a| (a, None)));
    }
    if any_embedded || input.app_role_assignments.is_some() {
        sources.push("graph-app-roles");
    }
    let directory_scope = format!("azure:{t}:directory");
    let mut seen_assignments = BTreeSet::new();
    for (n, (a, owner)) in app_roles.iter().enumerate() {
        let Some(object) = a.principal_id.clone().or_else(|| owner.clone()) else {
            continue;
        };
        if let Some(id) = &a.id
            && !seen_assignments.insert(id.to_ascii_lowercase())
        {
            continue;
        }
        let Some(holder) = object_to_id.get(&object.to_ascii_lowercase()).cloned() else {
            // Assignments to users and groups: people, not workloads.
            continue;
        };
        let resource = a
            .resource_id
            .clone()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let resource_name = a
            .resource_display_name
            .clone()
            .or_else(|| {
                sp_by_object
                    .get(&resource)
                    .and_then(|i| input.service_principals[*i].display_name.clone())
            })
            .unwrap_or_else(|| resource.clone());
        let graph = graph_object.as_deref() == Some(resource.as_str())
            || resource_name == "Microsoft Graph";
        let role_id = a.app_role_id.clone().unwrap_or_default();
        let value = if role_id == "00000000-0000-0000-0000-000000000000" {
            Some("default access".to_string())
        } else {
            permission_name(&resource, &role_id, graph)
        };
        let (privilege, reason) = match &value {
            Some(v) if v == "default access" => (Privilege::Read, None),
            Some(v) => permission_privilege(v, &resource_name),
            None => (
                Privilege::Unknown,
                Some(format!(
                    "app role {role_id} of {resource_name}: its name is not in the export (add the resource's service principal)"
                )),
            ),
        };
        let permission = value.clone().unwrap_or_else(|| role_id.clone());
        let via = format!("app-role:{resource_name}/{permission}");
        let mut attributes = Attributes::new();
        attributes.insert("resource".into(), json!(resource_name));
        attributes.insert("app_role_id".into(), json!(role_id));
        if let Some(r) = &reason {
            attributes.insert("privilege_reason".into(), json!(r));
        }
        if let Some(c) = a.created_date_time {
            attributes.insert("granted_at".into(), json!(castellan_model::format_ts(c.0)));
        }
        let lifecycle = matches!(
            value.as_deref(),
            Some(
                "Application.ReadWrite.All"
                    | "AppRoleAssignment.ReadWrite.All"
                    | "RoleManagement.ReadWrite.Directory"
            )
        ) && graph;
        if lifecycle {
            attributes.insert("lifecycle".into(), json!(["issue", "rotate", "revoke"]));
            let how = if value.as_deref() == Some("Application.ReadWrite.All") {
                "Microsoft Graph Application.ReadWrite.All".to_string()
            } else {
                format!(
                    "Microsoft Graph {} (may grant itself Application.ReadWrite.All)",
                    permission
                )
            };
            let e = tenant_wide_authority.entry(holder.clone()).or_default();
            e.0.extend(["issue", "rotate", "revoke"]);
            e.1.insert(how);
        }
        let reason = reason.or_else(|| Some(format!("{resource_name} permission {permission}")));
        held.entry(holder.clone())
            .or_default()
            .push(Held { privilege, reason });
        let index = a.id.clone().unwrap_or_else(|| n.to_string());
        records.grants.push(Grant {
            id: format!("{holder}#{via}#{index}"),
            holder,
            source: SOURCE.into(),
            scope: directory_scope.clone(),
            effect: Effect::Allow,
            privilege,
            actions: vec![permission],
            resources: vec![resource_name],
            via,
            attributes,
        });
    }

    // Entra directory roles.
    if let Some(list) = &input.directory_role_assignments {
        sources.push("entra-directory-roles");
        for (n, a) in list.iter().enumerate() {
            let Some(object) = a.principal_id.as_deref() else {
                continue;
            };
            let def = a.role_definition_id.clone().unwrap_or_default();
            let name = a
                .role_definition
                .as_ref()
                .and_then(|d| d.display_name.clone())
                .or_else(|| {
                    let template = a
                        .role_definition
                        .as_ref()
                        .and_then(|d| d.template_id.clone())
                        .unwrap_or_else(|| def.clone());
                    DIRECTORY_ROLES
                        .iter()
                        .find(|(id, _)| id.eq_ignore_ascii_case(&template))
                        .map(|(_, n)| n.to_string())
                })
                .unwrap_or_else(|| def.clone());
            let dir_scope = a.directory_scope_id.clone().unwrap_or_else(|| "/".into());
            let principal = principal_id_of(object, a.principal.as_ref());
            if directory_role_lifecycle(&name) {
                let via = format!("Entra directory role {name} at {dir_scope}");
                let entry = if dir_scope == "/" {
                    tenant_wide_authority.entry(principal.clone()).or_default()
                } else {
                    let target = object_to_id
                        .get(&last_segment(&dir_scope).to_ascii_lowercase())
                        .cloned()
                        .unwrap_or_else(|| dir_scope.clone());
                    scoped_authority
                        .entry(target)
                        .or_default()
                        .entry(principal.clone())
                        .or_default()
                };
                entry.0.extend(["issue", "rotate", "revoke"]);
                entry.1.insert(via);
                if entry.2.is_none() {
                    entry.2 = a
                        .principal
                        .as_ref()
                        .and_then(|p| p.user_principal_name.clone().or(p.display_name.clone()));
                }
            }
            let is_workload = principal.contains(":sp/") || principal.contains(":app/");
            if !is_workload {
                continue;
            }
            let (privilege, reason) = directory_role_privilege(&name);
            let via = format!("entra-role:{name}@{dir_scope}");
            let mut attributes = Attributes::new();
            attributes.insert("role".into(), json!(name));
            attributes.insert("directory_scope".into(), json!(dir_scope));
            if let Some(r) = &reason {
                attributes.insert("privilege_reason".into(), json!(r));
            }
            if directory_role_lifecycle(&name) {
                attributes.insert("lifecycle".into(), json!(["issue", "rotate", "revoke"]));
            }
            let reason = reason.or_else(|| Some(format!("Entra directory role {name}")));
            held.entry(principal.clone())
                .or_default()
                .push(Held { privilege, reason });
            let index = a.id.clone().unwrap_or_else(|| n.to_string());
            records.grants.push(Grant {
                id: format!("{principal}#{via}#{index}"),
                holder: principal,
                source: SOURCE.into(),
                scope: directory_scope.clone(),
                effect: Effect::Allow,
                privilege,
                actions: vec![name],
                resources: vec![dir_scope],
                via,
                attributes,
            });
        }
    }
    let privilege_known = !sources.is_empty();
    let privilege_of = |id: &str| -> (Privilege, Option<String>, bool) {
        if !privilege_known {
            return (Privilege::Unknown, None, false);
        }
        let Some(list) = held.get(id) else {
            return (Privilege::None, None, false);
        };
        let incomplete = list.iter().any(|h| h.privilege == Privilege::Unknown);
        let best = list.iter().max_by_key(|h| h.privilege.rank());
        match best {
            Some(h) => (h.privilege, h.reason.clone(), incomplete),
            None => (Privilege::None, None, incomplete),
        }
    };

    // The export was made after the newest credential or object was created: credentials that
    // ended before that are provably expired.
    let mut as_of: Option<Timestamp> = None;
    let mut note = |t: Option<Ts>| {
        if let Some(t) = t {
            as_of = Some(as_of.map_or(t.0, |a| a.max(t.0)));
        }
    };
    for o in input.applications.iter().chain(&input.service_principals) {
        note(o.created_date_time);
        for p in o.password_credentials.iter().flatten() {
            note(p.start_date_time);
        }
        for k in o.key_credentials.iter().flatten() {
            note(k.start_date_time);
        }
    }

    // Identities and credentials.
    let objects = input
        .applications
        .iter()
        .map(|o| (o, true))
        .chain(input.service_principals.iter().map(|o| (o, false)));
    let mut seen = BTreeSet::new();
    for (o, is_app) in objects {
        let app_id = o.app_id.clone().unwrap_or_default();
        let id = if is_app {
            format!("azure:{t}:app/{app_id}")
        } else {
            format!("azure:{t}:sp/{app_id}")
        };
        if !seen.insert(id.clone()) {
            continue;
        }
        let scope = if is_app {
            format!("azure:{t}:applications")
        } else {
            format!("azure:{t}:service-principals")
        };
        let sp_type = o.service_principal_type.clone().unwrap_or_default();
        let managed_identity = !is_app && sp_type == "ManagedIdentity";
        let mut attributes = Attributes::new();
        attributes.insert("app_id".into(), json!(app_id));
        if let Some(x) = &o.id {
            attributes.insert("object_id".into(), json!(x));
        }
        attributes.insert("tenant_from".into(), json!(tenant_from));
        for (k, v) in [
            ("app_display_name", &o.app_display_name),
            ("description", &o.description),
            ("notes", &o.notes),
            ("sign_in_audience", &o.sign_in_audience),
            ("publisher_domain", &o.publisher_domain),
            ("disabled_by_microsoft", &o.disabled_by_microsoft_status),
        ] {
            if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
                attributes.insert(k.into(), json!(v));
            }
        }
        if !is_app {
            attributes.insert("service_principal_type".into(), json!(sp_type));
        }
        if let Some(p) = o
            .verified_publisher
            .as_ref()
            .and_then(|p| p.display_name.as_ref())
        {
            attributes.insert("verified_publisher".into(), json!(p));
        }
        if matches!(
            o.sign_in_audience.as_deref(),
            Some("AzureADMultipleOrgs" | "AzureADandPersonalMicrosoftAccount")
        ) {
            attributes.insert("multi_tenant".into(), json!(true));
        }
        let mut external: Vec<Value> = Vec::new();
        if !is_app {
            let owner_org = o
                .app_owner_organization_id
                .as_deref()
                .map(str::to_ascii_lowercase);
            if let Some(org) = &owner_org {
                attributes.insert("app_owner_organization_id".into(), json!(org));
                if MICROSOFT_TENANTS.contains(&org.as_str()) {
                    attributes.insert("managed_by".into(), json!("microsoft"));
                    attributes.insert("first_party".into(), json!(true));
                } else if tenant_is_guid && *org != tenant {
                    attributes.insert("third_party".into(), json!(true));
                    external.push(json!({
                        "kind": "third-party-application",
                        "tenant": org,
                        "publisher": o.verified_publisher.as_ref().and_then(|p| p.display_name.clone()),
                        "reason": "application registered in another tenant acts in this one",
                    }));
                }
            }
            if managed_identity {
                attributes.insert("managed_by".into(), json!("azure"));
                let resource = o
                    .alternative_names
                    .iter()
                    .flatten()
                    .find(|n| n.starts_with("/subscriptions/"));
                if let Some(r) = resource {
                    attributes.insert("azure_resource".into(), json!(r));
                }
                let explicit = o
                    .alternative_names
                    .iter()
                    .flatten()
                    .any(|n| n.eq_ignore_ascii_case("isExplicit=True"));
                attributes.insert(
                    "managed_identity_type".into(),
                    json!(if explicit {
                        "user-assigned"
                    } else {
                        "system-assigned"
                    }),
                );
            }
            if app_ids.contains(&app_id.to_ascii_lowercase()) {
                attributes.insert(
                    "application".into(),
                    json!(format!("azure:{t}:app/{app_id}")),
                );
            }
        } else if sp_by_app.contains_key(&app_id.to_ascii_lowercase()) {
            attributes.insert(
                "service_principal".into(),
                json!(format!("azure:{t}:sp/{app_id}")),
            );
        }
        // Requested permissions (not necessarily granted).
        if is_app && let Some(rra) = &o.required_resource_access {
            let mut requested = Vec::new();
            for r in rra {
                let res = r.resource_app_id.clone().unwrap_or_default();
                for a in r.resource_access.iter().flatten() {
                    let rid = a.id.clone().unwrap_or_default();
                    let kind = a.type_.clone().unwrap_or_default();
                    let name = (kind == "Role")
                        .then(|| permission_name(&res, &rid, res == GRAPH_APP_ID))
                        .flatten();
                    requested.push(json!({ "resource_app_id": res, "id": rid, "type": kind, "permission": name }));
                }
            }
            if !requested.is_empty() {
                attributes.insert("requested_permissions".into(), json!(requested));
            }
        }
        // Privilege: held by the service principal; an application shows its principal's.
        let holder = format!("azure:{t}:sp/{app_id}");
        let (privilege, reason, incomplete) = privilege_of(&holder);
        let privilege = if is_app && !sp_by_app.contains_key(&app_id.to_ascii_lowercase()) {
            attributes.insert(
                "privilege_reason".into(),
                json!("an application holds permissions through its service principal, which is not in this file"),
            );
            Privilege::Unknown
        } else {
            match (&reason, privilege_known) {
                (_, false) => {
                    attributes.insert(
                        "privilege_reason".into(),
                        json!("no role assignments in this file: bundle `az role assignment list` (and app role assignments) with the service principals"),
                    );
                }
                (Some(r), true) => {
                    let r = if is_app {
                        format!("{r} (held by its service principal)")
                    } else {
                        r.clone()
                    };
                    attributes.insert("privilege_reason".into(), json!(r));
                }
                (None, true) => {
                    attributes.insert(
                        "privilege_reason".into(),
                        json!(format!("no assignment in {}", sources.join(", "))),
                    );
                }
            }
            if incomplete {
                attributes.insert("privilege_incomplete".into(), json!(true));
            }
            privilege
        };
        if privilege_known {
            attributes.insert("privilege_sources".into(), json!(sources));
        }
        // Federated credentials.
        let mut fic_ids = Vec::new();
        for (i, f) in o
            .federated_identity_credentials
            .iter()
            .flatten()
            .enumerate()
        {
            let name = f
                .name
                .clone()
                .or_else(|| f.id.clone())
                .unwrap_or_else(|| i.to_string());
            let (fed, weak) = federation(f);
            external.push(json!({
                "kind": "federated-credential",
                "issuer": f.issuer,
                "subject": f.subject,
                "claims_matching_expression": f.claims_matching_expression.as_ref().and_then(|c| c.value.clone()),
                "weak": !weak.is_empty(),
            }));
            let cid = format!("{id}/federated/{name}");
            fic_ids.push(cid.clone());
            let mut a = Attributes::new();
            if let Value::Object(m) = fed {
                a.extend(m);
            }
            if let Some(x) = &f.id {
                a.insert("credential_id".into(), json!(x));
            }
            if let Some(d) = &f.description {
                a.insert("description".into(), json!(d));
            }
            a.insert("no_secret".into(), json!(true));
            a.insert("rotation".into(), json!("not-applicable"));
            a.insert(
                "external_trust".into(),
                json!({ "issuer": f.issuer, "subject": f.subject, "weak": !weak.is_empty() }),
            );
            let subject_principal = format!(
                "federated:{}#{}",
                f.issuer.as_deref().unwrap_or(""),
                f.subject
                    .as_deref()
                    .or(f
                        .claims_matching_expression
                        .as_ref()
                        .and_then(|c| c.value.as_deref()))
                    .unwrap_or("*")
            );
            a.insert(
                "lifecycle_authority".into(),
                json!({
                    "principals": [{ "principal": subject_principal, "can": ["use"], "via": ["federated identity credential"] }],
                    "note": "whoever may change the application (its owners and application administrators) may add, change or remove federated credentials",
                }),
            );
            records.credentials.push(Credential {
                id: cid,
                identity_id: Some(id.clone()),
                kind: "federated-credential".into(),
                source: SOURCE.into(),
                scope: scope.clone(),
                name: format!(
                    "{name} (federated credential of {})",
                    o.display_name.as_deref().unwrap_or(&app_id)
                ),
                status: Status::Active,
                created_at: None,
                last_rotated_at: None,
                last_used_at: None,
                ever_used: None,
                expires_at: None,
                fingerprint: None,
                preview: None,
                attributes: a,
            });
        }
        if !fic_ids.is_empty() {
            attributes.insert("federated_credentials".into(), json!(fic_ids));
        }
        if !external.is_empty() {
            attributes.insert("external_trust".into(), json!(external));
        }
        // Owners and lifecycle authority.
        let mut authority: Authority = BTreeMap::new();
        let owners_listed = o.owners.is_some();
        let mut owner_names = Vec::new();
        for w in o.owners.iter().flatten() {
            let Some(oid) = &w.id else { continue };
            let p = principal_id_of(oid, Some(w));
            let label = w.user_principal_name.clone().or(w.display_name.clone());
            owner_names.push(json!({ "principal": p, "name": label }));
            let e = authority.entry(p).or_default();
            e.0.extend(["issue", "rotate", "revoke"]);
            e.1.insert(format!(
                "owner of the {}",
                if is_app {
                    "application"
                } else {
                    "service principal"
                }
            ));
            if e.2.is_none() {
                e.2 = label;
            }
        }
        if owners_listed {
            attributes.insert("owners".into(), json!(owner_names));
        }
        if !managed_identity {
            for (p, (can, via, name)) in tenant_wide_authority
                .iter()
                .chain(scoped_authority.get(&id).into_iter().flatten())
            {
                let e = authority.entry(p.clone()).or_default();
                e.0.extend(can.iter().copied());
                e.1.extend(via.iter().cloned());
                if e.2.is_none() {
                    e.2 = name.clone();
                }
            }
        }
        let authority_known = owners_listed
            || input.directory_role_assignments.is_some()
            || sources.contains(&"graph-app-roles")
            || managed_identity;
        let principals: Vec<Value> = authority
            .iter()
            .map(|(p, (can, via, name))| {
                let mut v = json!({ "principal": p, "can": can, "via": via });
                if let Some(n) = name {
                    v["name"] = json!(n);
                }
                v
            })
            .collect();
        let note = if managed_identity {
            "Azure issues and rotates managed identity credentials; whoever may change the resource it is attached to may use it"
        } else {
            "owners, holders of the Application Administrator, Cloud Application Administrator and Global Administrator roles, and principals with Application.ReadWrite.All may add and remove credentials; whoever holds a secret or private key may use it"
        };
        let authority_value =
            authority_known.then(|| json!({ "principals": principals, "note": note }));
        if let Some(a) = &authority_value {
            attributes.insert("lifecycle_authority".into(), a.clone());
        }

        // Secrets and certificates.
        let display = o.display_name.clone().unwrap_or_else(|| app_id.clone());
        for (i, p) in o.password_credentials.iter().flatten().enumerate() {
            let key_id = p.key_id.clone().unwrap_or_else(|| format!("index-{i}"));
            let expires = p.end_date_time.map(|x| x.0);
            let mut a = Attributes::new();
            a.insert("key_id".into(), json!(key_id));
            if let Some(d) = &p.display_name {
                a.insert("display_name".into(), json!(d));
            }
            if p.secret_text.0 {
                a.insert("secret_in_export".into(), json!(true));
            }
            if !external.is_empty() {
                a.insert("external_trust".into(), json!(external));
            }
            if let Some(v) = &authority_value {
                a.insert("lifecycle_authority".into(), v.clone());
            }
            let status = match (expires, as_of) {
                (Some(x), Some(now)) if x <= now => Status::Expired,
                _ => Status::Active,
            };
            records.credentials.push(Credential {
                id: format!("{id}/secret/{key_id}"),
                identity_id: Some(id.clone()),
                kind: "client-secret".into(),
                source: SOURCE.into(),
                scope: scope.clone(),
                name: match &p.display_name {
                    Some(d) if !d.is_empty() => format!("{d} (client secret of {display})"),
                    _ => format!("client secret {key_id} of {display}"),
                },
                status,
                created_at: p.start_date_time.map(|x| x.0),
                last_rotated_at: p.start_date_time.map(|x| x.0),
                last_used_at: None,
                ever_used: None,
                expires_at: expires,
                fingerprint: None,
                preview: p.hint.as_deref().and_then(hint_preview),
                attributes: a,
            });
        }
        for (i, k) in o.key_credentials.iter().flatten().enumerate() {
            let key_id = k.key_id.clone().unwrap_or_else(|| format!("index-{i}"));
            let expires = k.end_date_time.map(|x| x.0);
            let mut a = Attributes::new();
            a.insert("key_id".into(), json!(key_id));
            if let Some(tp) = k.custom_key_identifier.as_deref().filter(|s| !s.is_empty()) {
                a.insert("thumbprint".into(), json!(thumbprint(tp)));
            }
            for (name, v) in [
                ("display_name", &k.display_name),
                ("key_type", &k.type_),
                ("usage", &k.usage),
            ] {
                if let Some(v) = v {
                    a.insert(name.into(), json!(v));
                }
            }
            if k.type_.as_deref() == Some("Symmetric") {
                a.insert("symmetric".into(), json!(true));
            }
            if k.key.0 {
                a.insert("key_in_export".into(), json!(true));
            }
            if managed_identity {
                a.insert("managed_by".into(), json!("azure"));
                a.insert("rotation".into(), json!("azure-managed"));
            }
            if !external.is_empty() {
                a.insert("external_trust".into(), json!(external));
            }
            if let Some(v) = &authority_value {
                a.insert("lifecycle_authority".into(), v.clone());
            }
            let status = match (expires, as_of) {
                (Some(x), Some(now)) if x <= now => Status::Expired,
                _ => Status::Active,
            };
            records.credentials.push(Credential {
                id: format!("{id}/cert/{key_id}"),
                identity_id: Some(id.clone()),
                kind: "certificate".into(),
                source: SOURCE.into(),
                scope: scope.clone(),
                name: match &k.display_name {
                    Some(d) if !d.is_empty() => format!("{d} (certificate of {display})"),
                    _ => format!("certificate {key_id} of {display}"),
                },
                status,
                created_at: k.start_date_time.map(|x| x.0),
                last_rotated_at: k.start_date_time.map(|x| x.0),
                last_used_at: None,
                ever_used: None,
                expires_at: expires,
                fingerprint: None,
                preview: None,
                attributes: a,
            });
        }

        let status = if o.account_enabled.is_some_and(|f| !f.0)
            || o.disabled_by_microsoft_status.is_some()
        {
            Status::Inactive
        } else {
            Status::Active
        };
        records.identities.push(Identity {
            id,
            kind: if is_app {
                "entra-application"
            } else if managed_identity {
                "entra-managed-identity"
            } else {
                "entra-service-principal"
            }
            .into(),
            source: SOURCE.into(),
            scope,
            name: display,
            account: Some(tenant.clone()),
            status,
            privilege,
            created_at: o.created_date_time.map(|x| x.0),
            last_used_at: None,
            tags: tags_of(o.tags.as_deref().unwrap_or_default()),
            attributes,
        });
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUNDLE: &[u8] =
        include_bytes!("../../castellan/tests/fixtures/azure/acme-tenant-bundle.json");
    const SPS: &[u8] = include_bytes!("../../castellan/tests/fixtures/azure/sp-list.json");
    const APPS: &[u8] = include_bytes!("../../castellan/tests/fixtures/azure/app-list.json");
    const ROLES: &[u8] =
        include_bytes!("../../castellan/tests/fixtures/azure/role-assignments.json");

    const T: &str = "3c7e9a41-52d8-4f6b-9e0a-1b2c3d4e5f60";
    const CI: &str = "5e0c7b2a-91d4-4c3e-8f6a-2b1d0e9c8a71";
    const PAY: &str = "8f2a4c6e-0b1d-4e3f-9a5c-7e9b1d3f5a70";
    const LEGACY: &str = "2d4f6a8c-1e3b-4d5f-a7c9-0b2d4f6a8c1e";
    const MI: &str = "71c3e5a7-9b1d-4f3a-8c5e-7a9b1c3d5e7f";
    const VENDOR: &str = "4b6d8f0a-2c4e-4a6c-8e0a-2c4e6a8c0e2a";

    fn bundle() -> Records {
        parse("acme-tenant-bundle.json", BUNDLE).expect("bundle parses")
    }

    fn ident<'a>(r: &'a Records, id: &str) -> &'a Identity {
        r.identities
            .iter()
            .find(|i| i.id == id)
            .unwrap_or_else(|| panic!("no {id}"))
    }

    fn cred<'a>(r: &'a Records, id: &str) -> &'a Credential {
        r.credentials
            .iter()
            .find(|c| c.id == id)
            .unwrap_or_else(|| panic!("no {id}"))
    }

    fn app(a: &str) -> String {
        format!("azure:{T}:app/{a}")
    }

    fn sp(a: &str) -> String {
        format!("azure:{T}:sp/{a}")
    }

    fn ts(s: &str) -> Option<Timestamp> {
        Some(parse_ts(s).expect("ts"))
    }

    #[test]
    fn applications_and_service_principals_are_identities() {
        let r = bundle();
        assert_eq!(r.identities.len(), 9);
        let ci = ident(&r, &app(CI));
        assert_eq!(ci.kind, "entra-application");
        assert_eq!(ci.source, "azure-entra");
        assert_eq!(ci.scope, format!("azure:{T}:applications"));
        assert_eq!(ci.account.as_deref(), Some(T));
        assert_eq!(ci.name, "ci-github-deployer");
        assert_eq!(ci.created_at, ts("2024-03-05T10:12:44Z"));
        assert_eq!(ci.tags["service"], "platform");
        assert_eq!(ci.attributes["tenant_from"], "tenantId");
        assert_eq!(ci.attributes["service_principal"], json!(sp(CI)));

        let s = ident(&r, &sp(CI));
        assert_eq!(s.kind, "entra-service-principal");
        assert_eq!(s.scope, format!("azure:{T}:service-principals"));
        assert_eq!(s.attributes["application"], json!(app(CI)));

        let legacy = ident(&r, &sp(LEGACY));
        assert_eq!(legacy.status, Status::Inactive, "accountEnabled false");

        let mi = ident(&r, &sp(MI));
        assert_eq!(mi.kind, "entra-managed-identity");
        assert_eq!(mi.attributes["managed_identity_type"], "system-assigned");
        assert!(
            mi.attributes["azure_resource"]
                .as_str()
                .is_some_and(|s| s.ends_with("/sites/orders-func"))
        );

        let graph = ident(&r, &sp(GRAPH_APP_ID));
        assert_eq!(graph.attributes["managed_by"], "microsoft");
        assert!(!graph.attributes.contains_key("external_trust"));
    }

    #[test]
    fn third_party_principal_is_external_trust() {
        let r = bundle();
        let v = ident(&r, &sp(VENDOR));
        assert_eq!(v.attributes["third_party"], true);
        assert_eq!(v.attributes["multi_tenant"], true);
        let ext = &v.attributes["external_trust"][0];
        assert_eq!(ext["kind"], "third-party-application");
        assert_eq!(ext["tenant"], "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d");
        assert_eq!(ext["publisher"], "Contoso Ltd");
        // … holding Owner on the subscription
        assert_eq!(v.privilege, Privilege::Admin);
        assert!(
            v.attributes["privilege_reason"]
                .as_str()
                .is_some_and(|s| s.contains("Owner at subscription scope"))
        );
    }

    #[test]
    fn privilege_from_rbac_graph_permissions_and_directory_roles() {
        let r = bundle();
        let p = |id: &str| ident(&r, id).privilege;
        assert_eq!(
            p(&sp(CI)),
            Privilege::Write,
            "Contributor on the subscription"
        );
        assert_eq!(
            p(&app(CI)),
            Privilege::Write,
            "an app shows its SP's privilege"
        );
        assert!(
            ident(&r, &app(CI)).attributes["privilege_reason"]
                .as_str()
                .is_some_and(|s| s.contains("held by its service principal"))
        );
        assert_eq!(p(&sp(PAY)), Privilege::Admin, "Application.ReadWrite.All");
        assert!(
            ident(&r, &sp(PAY)).attributes["privilege_reason"]
                .as_str()
                .is_some_and(|s| s.contains("Application.ReadWrite.All"))
        );
        assert_eq!(p(&sp(LEGACY)), Privilege::Read);
        assert_eq!(p(&sp(MI)), Privilege::Write);
        assert_eq!(p(&sp(GRAPH_APP_ID)), Privilege::None);
        assert_eq!(
            ident(&r, &sp(CI)).attributes["privilege_sources"],
            json!(["azure-rbac", "graph-app-roles", "entra-directory-roles"])
        );

        // grants: service principals only (Alice's own Owner assignment is not one)
        assert!(!r.grants.iter().any(|g| g.holder.contains(":user/")));
        let contributor = r
            .grants
            .iter()
            .find(|g| g.holder == sp(CI))
            .expect("ci grant");
        assert_eq!(contributor.scope, format!("azure:{T}:rbac"));
        assert_eq!(contributor.actions, vec!["Contributor"]);
        assert_eq!(contributor.attributes["broad"], true);
        assert_eq!(contributor.attributes["scope_level"], "subscription");
        let graph: Vec<&Grant> = r.grants.iter().filter(|g| g.holder == sp(PAY)).collect();
        assert_eq!(graph.len(), 2);
        assert!(
            graph
                .iter()
                .all(|g| g.scope == format!("azure:{T}:directory"))
        );
        let arw = graph
            .iter()
            .find(|g| g.actions == vec!["Application.ReadWrite.All"])
            .expect("ARW");
        assert_eq!(arw.privilege, Privilege::Admin);
        assert_eq!(
            arw.attributes["lifecycle"],
            json!(["issue", "rotate", "revoke"])
        );
        let send = graph
            .iter()
            .find(|g| g.actions == vec!["Mail.Send"])
            .expect("send");
        assert_eq!(send.privilege, Privilege::Write);
        // requested permissions resolved by name
        let req = &ident(&r, &app(PAY)).attributes["requested_permissions"];
        assert_eq!(req[0]["permission"], "Mail.Send");
    }

    #[test]
    fn lifecycle_authority() {
        let r = bundle();
        let auth = |id: &str| -> Vec<Value> {
            ident(&r, id).attributes["lifecycle_authority"]["principals"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        };
        let pay = auth(&app(PAY));
        let find = |list: &[Value], p: &str| -> Value {
            list.iter()
                .find(|e| e["principal"] == p)
                .cloned()
                .unwrap_or_else(|| panic!("no {p} in {list:?}"))
        };
        let bob = find(
            &pay,
            &format!("azure:{T}:user/1b2c3d4e-5f6a-4b7c-9d8e-0f1a2b3c4d5e"),
        );
        assert_eq!(bob["can"], json!(["issue", "revoke", "rotate"]));
        assert_eq!(bob["name"], "bob.okafor@acme.example");
        assert_eq!(bob["via"], json!(["owner of the application"]));
        let carol = find(
            &pay,
            &format!("azure:{T}:user/2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f"),
        );
        assert!(
            carol["via"][0]
                .as_str()
                .is_some_and(|s| s.contains("Cloud Application Administrator"))
        );
        // an Application Administrator scoped to payments-api only
        let scoped = format!("azure:{T}:object/3d4e5f6a-7b8c-4d9e-8f0a-2b3c4d5e6f7a");
        find(&pay, &scoped);
        assert!(
            !auth(&app(CI))
                .iter()
                .any(|e| e["principal"] == json!(scoped))
        );
        // payments-api's own SP holds Application.ReadWrite.All: it can manage every app
        let ci = auth(&app(CI));
        assert_eq!(
            find(&ci, &sp(PAY))["can"],
            json!(["issue", "revoke", "rotate"])
        );
        // legacy-reporting: no owners left, only the administrators
        let legacy = ident(&r, &app(LEGACY));
        assert_eq!(legacy.attributes["owners"], json!([]));
        // managed identities: Azure's to rotate
        let mi = &ident(&r, &sp(MI)).attributes["lifecycle_authority"];
        assert_eq!(mi["principals"], json!([]));
        assert!(
            mi["note"]
                .as_str()
                .is_some_and(|s| s.contains("Azure issues"))
        );
        // on the credentials too
        let secret = cred(
            &r,
            &format!("{}/secret/4c1d7e9a-2b3f-4a5c-8d6e-0f1a2b3c4d5e", app(PAY)),
        );
        assert_eq!(
            secret.attributes["lifecycle_authority"],
            ident(&r, &app(PAY)).attributes["lifecycle_authority"]
        );
    }

    #[test]
    fn secrets_certificates_expiry_and_preview() {
        let r = bundle();
        let active = cred(
            &r,
            &format!("{}/secret/4c1d7e9a-2b3f-4a5c-8d6e-0f1a2b3c4d5e", app(PAY)),
        );
        assert_eq!(active.kind, "client-secret");
        assert_eq!(active.identity_id.as_deref(), Some(app(PAY).as_str()));
        assert_eq!(active.status, Status::Active);
        assert_eq!(active.expires_at, ts("2027-04-02T09:15:00Z"));
        assert_eq!(active.created_at, ts("2026-04-02T09:15:00Z"));
        assert_eq!(active.last_rotated_at, active.created_at);
        assert_eq!(
            active.preview.as_ref().map(Redacted::as_str),
            Some("Q8~… (hint only)")
        );
        assert_eq!(active.fingerprint, None);
        assert_eq!(active.name, "prod-2026 (client secret of payments-api)");

        let expired = cred(
            &r,
            &format!("{}/secret/5d2e8f0b-3c4a-4b6d-9e7f-1a2b3c4d5e6f", app(PAY)),
        );
        assert_eq!(expired.status, Status::Expired);

        let forever = cred(
            &r,
            &format!(
                "{}/secret/7f4a0b2d-5e6c-4d8f-9a0b-3c4d5e6f7a8b",
                app(LEGACY)
            ),
        );
        assert_eq!(forever.expires_at, ts("2299-12-31T05:00:00Z"));
        assert_eq!(forever.status, Status::Active);

        let cert = cred(
            &r,
            &format!("{}/cert/6e3f9a1c-4d5b-4c7e-8f8a-2b3c4d5e6f7a", app(PAY)),
        );
        assert_eq!(cert.kind, "certificate");
        assert_eq!(
            cert.attributes["thumbprint"],
            "2ACD57A9F4F6998DE4378A51E6C53ABD6EF163C9"
        );
        assert_eq!(cert.attributes["usage"], "Verify");
        assert_eq!(cert.attributes["key_type"], "AsymmetricX509Cert");

        let mi = cred(
            &r,
            &format!("{}/cert/8a5b1c3e-6f7d-4e9a-8b1c-4d5e6f7a8b9c", sp(MI)),
        );
        assert_eq!(mi.attributes["rotation"], "azure-managed");
        assert_eq!(
            mi.attributes["thumbprint"],
            "9F2C4A6E8B0D1F3A5C7E9B1D3F5A7C9E1B3D5F7A"
        );
    }

    #[test]
    fn federated_credentials() {
        let r = bundle();
        let prod = cred(&r, &format!("{}/federated/infra-production", app(CI)));
        assert_eq!(prod.kind, "federated-credential");
        assert_eq!(prod.expires_at, None);
        assert_eq!(prod.attributes["no_secret"], true);
        assert_eq!(prod.attributes["rotation"], "not-applicable");
        assert_eq!(prod.attributes["provider"], "github-actions");
        assert_eq!(prod.attributes["repository"], "acme-corp/infra");
        assert_eq!(
            prod.attributes["restricted_to"]["environment"],
            "production"
        );
        assert_eq!(prod.attributes["subject_match"], "exact");
        assert!(!prod.attributes.contains_key("weaknesses"));
        assert_eq!(
            prod.attributes["lifecycle_authority"]["principals"][0]["can"],
            json!(["use"])
        );

        let wild = cred(&r, &format!("{}/federated/any-acme-repo", app(CI)));
        assert_eq!(wild.attributes["subject_match"], "expression");
        assert_eq!(wild.attributes["wildcard"], true);
        assert_eq!(wild.attributes["repository"], "acme-corp/*");
        assert!(
            wild.attributes["weaknesses"][0]
                .as_str()
                .is_some_and(|s| s.contains("wildcard"))
        );

        let ci = ident(&r, &app(CI));
        let ext = ci.attributes["external_trust"].as_array().expect("ext");
        assert_eq!(ext.len(), 2);
        assert_eq!(ext[1]["weak"], true);
        assert_eq!(
            ci.attributes["federated_credentials"]
                .as_array()
                .map(Vec::len),
            Some(2)
        );
    }

    #[test]
    fn federation_analysis() {
        let f = |subject: &str| FederatedCredential {
            issuer: Some("https://token.actions.githubusercontent.com".into()),
            subject: Some(subject.into()),
            ..Default::default()
        };
        let (v, weak) = federation(&f("repo:o/r:ref:refs/heads/main"));
        assert_eq!(v["restricted_to"]["branch"], "main");
        assert!(weak.is_empty());
        let (v, weak) = federation(&f("repo:o/r:pull_request"));
        assert_eq!(v["restricted_to"], "pull_request");
        assert_eq!(weak.len(), 1);
        let (v, _) = federation(&FederatedCredential {
            issuer: Some("https://oidc.prod-aks.azure.com/abc/".into()),
            subject: Some("system:serviceaccount:payments:api".into()),
            ..Default::default()
        });
        assert_eq!(v["provider"], "kubernetes");
        assert_eq!(v["service_account"], "payments/api");
        let (_, weak) = federation(&FederatedCredential::default());
        assert_eq!(weak, vec!["no subject restriction".to_string()]);
    }

    #[test]
    fn single_outputs_parse_alone() {
        // service principals only: tenant inferred, privilege unknown
        let r = parse("sp.json", SPS).expect("sp list");
        assert_eq!(r.identities.len(), 6);
        assert!(
            r.identities
                .iter()
                .all(|i| i.id.starts_with(&format!("azure:{T}:sp/")))
        );
        let ci = ident(&r, &sp(CI));
        assert_eq!(
            ci.attributes["tenant_from"],
            "most common appOwnerOrganizationId of the service principals"
        );
        // the payments SP carries its app role assignments: those are known
        assert_eq!(ident(&r, &sp(PAY)).privilege, Privilege::Admin);
        assert_eq!(ident(&r, &sp(CI)).privilege, Privilege::None);
        assert_eq!(ident(&r, &sp(VENDOR)).attributes["third_party"], true);

        // applications only: no tenant id, so the publisher domain stands in
        let r = parse("apps.json", APPS).expect("app list");
        assert_eq!(r.identities.len(), 3);
        assert!(
            r.identities
                .iter()
                .all(|i| i.id.starts_with("azure:acme.onmicrosoft.com:app/"))
        );
        assert!(
            r.identities
                .iter()
                .all(|i| i.privilege == Privilege::Unknown)
        );
        assert_eq!(r.credentials.len(), 6);

        // both lists concatenated in one file: the tenant comes from the apps' SPs
        let mut both = APPS.to_vec();
        both.extend_from_slice(SPS);
        let r = parse("both.json", &both).expect("both");
        assert!(r.identities.iter().all(|i| i.account.as_deref() == Some(T)));

        // role assignments alone name no tenant
        let e = parse("roles.json", ROLES).expect_err("roles alone");
        assert!(e.to_string().contains("tenantId"), "{e}");
        // … but do inside a bundle with the tenant
        let mut b = format!("{{\"tenantId\": \"{T}\", \"roleAssignments\": ").into_bytes();
        b.extend_from_slice(ROLES);
        b.extend_from_slice(b"}");
        let r = parse("b.json", &b).expect("roles bundle");
        assert_eq!(r.grants.len(), 4);
        assert!(r.grants.iter().any(|g| g.holder == sp(VENDOR)));

        // a Graph page
        let page = format!(
            "{{\"@odata.context\": \"https://graph.microsoft.com/v1.0/$metadata#servicePrincipals\", \"value\": {}}}",
            String::from_utf8_lossy(SPS)
        );
        assert_eq!(
            parse("p.json", page.as_bytes())
                .expect("page")
                .identities
                .len(),
            6
        );
        assert_eq!(parse("e.json", b"[]").expect("empty"), Records::default());
    }

    #[test]
    fn recognised_by_content() {
        for f in [BUNDLE, SPS, APPS, ROLES] {
            assert!(looks_like(&String::from_utf8_lossy(
                &f[..f.len().min(8192)]
            )));
        }
        assert!(!looks_like("{\"UserDetailList\": []}"));
        assert!(!looks_like("castellan: 1\n"));
        assert!(!looks_like(
            "{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [{\"metadata\": {\"annotations\": {\"azure.workload.identity/client-id\": \"x\"}}}]}"
        ));
        assert!(!looks_like(&String::from_utf8_lossy(include_bytes!(
            "../../castellan/tests/fixtures/gcp/acme-prod-bundle.json"
        ))));
        assert!(!crate::gcp::looks_like(&String::from_utf8_lossy(BUNDLE)));
        assert!(!crate::gcp::looks_like(&String::from_utf8_lossy(ROLES)));
    }

    #[test]
    fn errors_name_file_line_and_field() {
        let text = String::from_utf8_lossy(BUNDLE);
        let bad = text.replacen(
            "\"endDateTime\": \"2027-04-02T09:15:00Z\"",
            "\"endDateTime\": 20270402",
            1,
        );
        let e = parse("b.json", bad.as_bytes()).expect_err("type");
        let s = e.to_string();
        assert!(
            s.contains("applications[1].passwordCredentials[0].endDateTime"),
            "{s}"
        );
        let line = bad
            .lines()
            .position(|l| l.contains("20270402"))
            .expect("line")
            + 1;
        assert!(s.starts_with(&format!("b.json:{line}:")), "{s}");

        let bad = text.replacen(
            "\"accountEnabled\": false",
            "\"accountEnabled\": \"maybe\"",
            1,
        );
        let e = parse("b.json", bad.as_bytes()).expect_err("flag");
        assert!(
            e.to_string()
                .contains("servicePrincipals[2].accountEnabled"),
            "{e}"
        );

        let e = parse("b.json", &BUNDLE[..BUNDLE.len() / 3]).expect_err("truncated");
        assert!(e.to_string().contains("truncated"), "{e}");
        let e = parse("b.json", b"\xff\xfe\x00\x01").expect_err("binary");
        assert!(e.to_string().contains("UTF-8"), "{e}");
        let e = parse("b.json", b"\n").expect_err("empty");
        assert!(e.to_string().contains("empty"), "{e}");
        let e = parse("b.json", b"{\"foo\": 1}").expect_err("other");
        assert!(e.to_string().contains("neither"), "{e}");
        let e = parse("b.json", br#"[{"issuer": "https://token.actions.githubusercontent.com", "subject": "repo:o/r:ref:refs/heads/main", "name": "x"}]"#).expect_err("fic alone");
        assert!(
            e.to_string().contains("federatedIdentityCredentials"),
            "{e}"
        );
        let e = parse("b.json", b"[1, 2]").expect_err("not objects");
        assert!(e.to_string().contains("[0]"), "{e}");
        let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
        assert!(parse("d.json", deep.as_bytes()).is_err());
    }

    #[test]
    fn secrets_never_kept() {
        let planted = "Q8~kP3mZ9xPLANTEDSECRETvalue0123456789ab";
        let text = String::from_utf8_lossy(BUNDLE)
            .replacen(
                "\"secretText\": null",
                &format!("\"secretText\": \"{planted}\""),
                1,
            )
            .replacen(
                "\"key\": null",
                "\"key\": \"MIIPLANTEDCERTBLOBMIIDdzCCAl+gAwIBAgIQ\"",
                1,
            );
        let r = parse("b.json", text.as_bytes()).expect("parse");
        let secret = cred(
            &r,
            &format!("{}/secret/4c1d7e9a-2b3f-4a5c-8d6e-0f1a2b3c4d5e", app(PAY)),
        );
        assert_eq!(secret.attributes["secret_in_export"], true);
        for leaked in ["PLANTEDSECRET", "PLANTEDCERTBLOB", "kP3mZ9x"] {
            assert!(!format!("{r:?}").contains(leaked), "{leaked} in Debug");
            assert!(
                !serde_json::to_string(&r).expect("json").contains(leaked),
                "{leaked} in JSON"
            );
        }
        // a long hint is cut to three characters
        let long = String::from_utf8_lossy(BUNDLE).replacen(
            "\"hint\": \"Q8~\"",
            &format!("\"hint\": \"{planted}\""),
            1,
        );
        let r = parse("b.json", long.as_bytes()).expect("parse");
        assert!(
            !serde_json::to_string(&r)
                .expect("json")
                .contains("PLANTEDSECRET")
        );
        // a secret in a field of the wrong type is not echoed
        let bad = String::from_utf8_lossy(BUNDLE).replacen(
            "\"accountEnabled\": true",
            &format!("\"accountEnabled\": \"{planted}\""),
            1,
        );
        let e = parse("b.json", bad.as_bytes()).expect_err("type");
        assert!(!e.to_string().contains("PLANTEDSECRET"), "{e}");
        let bad = String::from_utf8_lossy(BUNDLE).replacen(
            "\"startDateTime\": \"2026-04-02T09:15:00Z\"",
            &format!("\"startDateTime\": \"{planted}\""),
            1,
        );
        let e = parse("b.json", bad.as_bytes()).expect_err("ts");
        assert!(!e.to_string().contains("PLANTEDSECRET"), "{e}");
    }

    #[test]
    fn classification() {
        assert_eq!(scope_level("/"), "root");
        assert_eq!(
            scope_level("/providers/Microsoft.Management/managementGroups/acme"),
            "management-group"
        );
        assert_eq!(scope_level("/subscriptions/x"), "subscription");
        assert_eq!(
            scope_level("/subscriptions/x/resourceGroups/y"),
            "resource-group"
        );
        assert_eq!(
            rbac_privilege("Owner", "/subscriptions/x").0,
            Privilege::Admin
        );
        assert_eq!(
            rbac_privilege("User Access Administrator", "/").0,
            Privilege::Admin
        );
        assert_eq!(
            rbac_privilege("Owner", "/subscriptions/x/resourceGroups/y").0,
            Privilege::Write
        );
        assert_eq!(
            rbac_privilege("Reader", "/subscriptions/x").0,
            Privilege::Read
        );
        assert_eq!(
            rbac_privilege("Key Vault Secrets User", "/subscriptions/x").0,
            Privilege::Write
        );
        assert_eq!(
            rbac_privilege("Monitoring Metrics Publisher", "/").0,
            Privilege::Unknown
        );
        assert_eq!(
            permission_privilege("RoleManagement.ReadWrite.Directory", "g").0,
            Privilege::Admin
        );
        assert_eq!(
            permission_privilege("User.Read.All", "g").0,
            Privilege::Read
        );
        assert_eq!(
            permission_privilege("Group.ReadWrite.All", "g").0,
            Privilege::Write
        );
        assert_eq!(
            directory_role_privilege("Cloud Application Administrator").0,
            Privilege::Admin
        );
        assert_eq!(directory_role_privilege("Global Reader").0, Privilege::Read);
        assert_eq!(
            thumbprint("9f2c4a6e8b0d1f3a5c7e9b1d3f5a7c9e1b3d5f7a"),
            "9F2C4A6E8B0D1F3A5C7E9B1D3F5A7C9E1B3D5F7A"
        );
        assert!(is_guid(T));
        assert!(!is_guid("acme.onmicrosoft.com"));
    }

    #[test]
    fn large_exports_stay_linear() {
        let mut text = String::from("[");
        for i in 0..5000 {
            if i > 0 {
                text.push(',');
            }
            text.push_str(&format!(
                "\n{{\"id\": \"00000000-0000-4000-8000-{i:012}\", \"appId\": \"10000000-0000-4000-8000-{i:012}\", \"displayName\": \"app-{i}\", \"servicePrincipalType\": \"Application\", \"appOwnerOrganizationId\": \"{T}\", \"accountEnabled\": true, \"passwordCredentials\": [{{\"keyId\": \"k{i}\", \"hint\": \"abc\", \"startDateTime\": \"2026-01-01T00:00:00Z\", \"endDateTime\": \"2027-01-01T00:00:00Z\"}}]}}"
            ));
        }
        text.push_str("\n]");
        let start = std::time::Instant::now();
        let r = parse("big.json", text.as_bytes()).expect("parse");
        assert_eq!(r.identities.len(), 5000);
        assert_eq!(r.credentials.len(), 5000);
        assert!(start.elapsed().as_secs() < 20, "{:?}", start.elapsed());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = parse("p.json", &bytes);
            let _ = looks_like(&String::from_utf8_lossy(&bytes));
        }

        #[test]
        fn never_panics_on_json_like(s in "[\\[\\]{}\",:a-zA-Z0-9/@. -]{0,300}") {
            let _ = parse("p.json", s.as_bytes());
            let _ = parse("p.json", format!("{{\"tenantId\":\"t\",\"servicePrincipals\":[{s}").as_bytes());
            let _ = parse("p.json", format!("[{{\"appId\":\"a\",\"passwordCredentials\":[{s}").as_bytes());
        }
    }
}
