//! When a silent message counts as stuck, per channel (`[stuck_after]`, in hours;
//! `SENTLOG_STUCK_AFTER_HOURS=sms=6,whatsapp=24,email=24`).
use serde::Deserialize;

use super::{ConfigError, invalid};
use crate::domain::message::Channel;
use crate::domain::stuck::StuckAfter;

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct StuckAfterSettings {
    pub whatsapp: u32,
    pub sms: u32,
    pub email: u32,
}

impl Default for StuckAfterSettings {
    fn default() -> Self {
        let d = StuckAfter::default();
        StuckAfterSettings {
            whatsapp: d.whatsapp.num_hours() as u32,
            sms: d.sms.num_hours() as u32,
            email: d.email.num_hours() as u32,
        }
    }
}

impl StuckAfterSettings {
    /// `sms=6,whatsapp=24,email=24` (any of the three, in hours).
    pub(super) fn apply_env(&mut self, name: &str, value: &str) -> Result<(), ConfigError> {
        for pair in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let bad = || invalid(name, format!("{pair:?} is not CHANNEL=HOURS, e.g. sms=6"));
            let (channel, hours) = pair.split_once('=').ok_or_else(bad)?;
            let hours: u32 = hours.trim().parse().map_err(|_| bad())?;
            match Channel::from_name(channel).ok_or_else(bad)? {
                Channel::Whatsapp => self.whatsapp = hours,
                Channel::Sms => self.sms = hours,
                Channel::Email => self.email = hours,
            }
        }
        Ok(())
    }

    pub(super) fn validate(&self) -> Result<StuckAfter, ConfigError> {
        for (name, hours) in [
            ("stuck_after.whatsapp", self.whatsapp),
            ("stuck_after.sms", self.sms),
            ("stuck_after.email", self.email),
        ] {
            if !(1..=24 * 90).contains(&hours) {
                return Err(invalid(name, "must be between 1 and 2160 hours"));
            }
        }
        let h = |n: u32| chrono::Duration::hours(i64::from(n));
        Ok(StuckAfter {
            whatsapp: h(self.whatsapp),
            sms: h(self.sms),
            email: h(self.email),
        })
    }
}
