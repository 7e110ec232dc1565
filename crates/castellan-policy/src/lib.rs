//! Controls: the catalogue (embedded data) and the built-in evaluators.
//!
//! Evaluation is a pure function of the inventory ([`Estate`]) and `now`: the same store and the
//! same `now` always give the same findings, in the same order. Each finding carries its
//! evidence (dates, thresholds, ids) so the verdict can be checked by hand.

mod catalogue;
pub mod custom;
mod evaluate;
mod frameworks;
mod risk;

pub use catalogue::{Automation, Catalogue, CatalogueError, Control, Mappings, Threshold};
pub use evaluate::{
    Activity, BUILTIN, Estate, Evaluator, IdentityView, ReviewRecord, SourceFreshness, Thresholds,
    apply_exceptions, evaluate,
};
pub use frameworks::{Coverage, Framework, FrameworkItem, Frameworks};
pub use risk::{Risk, RiskFactor, risk};
