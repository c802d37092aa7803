//! The purge of old data (`[retention]`; `SENTLOG_RETENTION_DAYS`): off unless a
//! number of days is set.
use serde::Deserialize;

use super::{ConfigError, check_cron, invalid};

/// The retention purge: daily at 03:30 UTC.
pub const DEFAULT_RETENTION_CRON: &str = "0 30 3 * * *";

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionSettings {
    /// Keep messages (and closed flags) this many days; None: keep everything.
    pub days: Option<u32>,
    /// 6-field cron of the purge (default daily at 03:30 UTC).
    pub schedule: String,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        RetentionSettings {
            days: None,
            schedule: DEFAULT_RETENTION_CRON.into(),
        }
    }
}

pub(super) fn validate(retention: &RetentionSettings) -> Result<(), ConfigError> {
    if let Some(days) = retention.days {
        if days == 0 {
            return Err(invalid(
                "retention.days",
                "must be at least 1 (or unset to keep everything)",
            ));
        }
        check_cron(&retention.schedule).map_err(|m| invalid("retention.schedule", m))?;
    }
    Ok(())
}
