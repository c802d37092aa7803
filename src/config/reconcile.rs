//! The reconciliation worker's settings: its schedule, candidate statuses, chunk size,
//! and each hotel's PMS vendor connection (`[reconcile]`, `[pms.HOTEL]`;
//! `SENTLOG_RECONCILE_SCHEDULE`).
use std::collections::BTreeMap;

use serde::Deserialize;

use super::{ConfigError, check_cron, invalid};
use crate::domain::message::MessageStatus;

/// Reconciliation passes: every 10 minutes.
pub const DEFAULT_RECONCILE_CRON: &str = "0 */10 * * * *";
/// Candidate messages read per chunk: memory stays bounded by it.
pub const DEFAULT_CHUNK: usize = 500;

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ReconcileSettings {
    /// 6-field cron (seconds first, UTC), or "off".
    pub schedule: String,
    /// Current statuses that make a message a candidate.
    pub statuses: Vec<String>,
    /// Messages per chunk (one PMS call per hotel per chunk).
    pub chunk_size: usize,
    /// Failures to one address before soft evidence (the PMS holds the same number)
    /// raises a flag.
    pub confirm_after_failures: usize,
    /// A check-in this many days away or fewer makes a stay urgent.
    pub urgent_days: i64,
}

impl Default for ReconcileSettings {
    fn default() -> Self {
        ReconcileSettings {
            schedule: DEFAULT_RECONCILE_CRON.into(),
            statuses: vec!["UNDELIVERED".into(), "FAILED".into()],
            chunk_size: DEFAULT_CHUNK,
            confirm_after_failures: 2,
            urgent_days: 2,
        }
    }
}

/// A hotel's PMS vendor connection.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(tag = "vendor", rename_all = "lowercase")]
pub enum PmsSettings {
    Mews(crate::pms::mews::MewsSettings),
}

/// The candidate statuses and the cron (None: off) of valid settings.
pub(super) fn validate(
    reconcile: &ReconcileSettings,
    pms: &BTreeMap<String, PmsSettings>,
) -> Result<(Vec<MessageStatus>, Option<String>), ConfigError> {
    let mut reconcile_statuses = Vec::new();
    for name in &reconcile.statuses {
        let status = MessageStatus::from_name(name).ok_or_else(|| {
            invalid(
                "reconcile.statuses",
                format!("{name:?} is not a MessageStatus"),
            )
        })?;
        reconcile_statuses.push(status);
    }
    if reconcile_statuses.is_empty() {
        return Err(invalid(
            "reconcile.statuses",
            "must name at least one status",
        ));
    }
    if !(1..=5000).contains(&reconcile.chunk_size) {
        return Err(invalid(
            "reconcile.chunk_size",
            "must be between 1 and 5000",
        ));
    }
    if !(1..=100).contains(&reconcile.confirm_after_failures) {
        return Err(invalid(
            "reconcile.confirm_after_failures",
            "must be between 1 and 100",
        ));
    }
    if !(0..=60).contains(&reconcile.urgent_days) {
        return Err(invalid(
            "reconcile.urgent_days",
            "must be between 0 and 60 days",
        ));
    }
    let schedule = reconcile.schedule.trim();
    let reconcile_cron = match schedule {
        "" | "off" | "none" | "disabled" => None,
        expr => {
            check_cron(expr).map_err(|m| invalid("reconcile.schedule", m))?;
            Some(expr.to_string())
        }
    };
    for (hotel, pms) in pms {
        match pms {
            PmsSettings::Mews(m) => {
                crate::pms::mews::Mews::new(m.clone())
                    .map_err(|e| invalid(&format!("pms.{hotel}"), e))?;
            }
        }
    }
    Ok((reconcile_statuses, reconcile_cron))
}
