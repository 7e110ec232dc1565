//! Controls: the catalogue (embedded data) and the built-in evaluators.
//!
//! Evaluation is a pure function of the inventory ([`Estate`]) and `now`: the same store and the
//! same `now` always give the same findings, in the same order. Each finding carries its
//! evidence (dates, thresholds, ids) so the verdict can be checked by hand.

mod catalogue;
mod evaluate;

pub use catalogue::{Catalogue, CatalogueError, Control, Mappings};
pub use evaluate::{Estate, IdentityView, Thresholds, evaluate};
