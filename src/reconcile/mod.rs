//! The reconciliation worker: undelivered messages x PMS guest records -> flags.
//! `rules` decides (pure), `pass` runs one pass, `schedule` runs passes on a cron.
pub mod pass;
pub mod rules;
pub mod schedule;

pub use pass::{ReconcileError, Reconciler};
