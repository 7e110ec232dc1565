//! The inventory graph of Castellan.
//!
//! Every other crate speaks in these types: sources produce them, the store persists them,
//! controls read them and the evidence renderers print them. Nothing here does I/O except
//! loading or creating the fingerprint key ([`FingerprintKey::load_or_create`]).
//!
//! Invariants kept by this crate:
//! - a raw secret never appears in a record: credentials carry a [`Fingerprint`] (keyed hash)
//!   and a [`Redacted`] preview, and [`Secret`] refuses to print itself;
//! - ids are stable, readable strings (`aws:123456789012:user/ci-deployer`), see [`ids`];
//! - time comes from a [`Clock`], so every computation can be replayed with a fixed `now`.

pub mod ids;
mod records;
mod secret;
mod time;

pub use records::*;
pub use secret::{
    Fingerprint, FingerprintKey, KeyError, Redacted, Secret, load_or_create_key_file,
};
pub use time::{Clock, TimeError, format_ts, parse_ts};
