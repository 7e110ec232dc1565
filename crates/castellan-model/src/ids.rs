//! Stable, readable ids. An id names the thing in its own system's terms, prefixed by the
//! system, so the same export always yields the same ids and a reader can tell what they point at.

/// `aws:<account>:user/<name>` for an IAM user.
pub fn aws_user(account: &str, name: &str) -> String {
    format!("aws:{account}:user/{name}")
}

/// `aws:<account>:role/<name>` for an IAM role.
pub fn aws_role(account: &str, name: &str) -> String {
    format!("aws:{account}:role/{name}")
}

/// `aws:<account>:group/<name>` for an IAM group (a holder of grants, not an identity).
pub fn aws_group(account: &str, name: &str) -> String {
    format!("aws:{account}:group/{name}")
}

/// `aws:<account>:root` for the account root user.
pub fn aws_root(account: &str) -> String {
    format!("aws:{account}:root")
}

/// A credential slot of an identity, e.g. `aws:1234:user/ci/access-key-1`.
pub fn credential_of(identity: &str, slot: &str) -> String {
    format!("{identity}/{slot}")
}

/// `service:<name>`.
pub fn service(name: &str) -> String {
    format!("service:{name}")
}

/// `person:<email>`.
pub fn person(email: &str) -> String {
    format!("person:{}", email.to_ascii_lowercase())
}

/// `supplier:<name>`.
pub fn supplier(name: &str) -> String {
    format!("supplier:{name}")
}

/// `contract:<id>`.
pub fn contract(id: &str) -> String {
    format!("contract:{id}")
}

/// `exception:<id>`.
pub fn exception(id: &str) -> String {
    format!("exception:{id}")
}

/// A finding is one control failing on one subject: `<control>@<subject>`.
pub fn finding(control: &str, subject: &str) -> String {
    format!("{control}@{subject}")
}
