//! The reconciliation worker: undelivered messages x PMS guest records -> flags.
//! `rules` decides (pure), `pass` runs one pass; `service::jobs` runs passes on a cron.
pub mod pass;
pub mod rules;
pub mod stay;

pub use pass::{ReconcileError, Reconciler};
