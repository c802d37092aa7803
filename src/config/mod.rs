//! Settings: an optional TOML file, then `SENTLOG_*` environment variables, then
//! command-line flags; validated once at start-up with errors naming the setting.
//! Each concern owns its settings, defaults and checks: `access` (tokens, TLS),
//! `reconcile` (the worker and PMS connections), `retention` (the purge), `stuck`
//! (when a silent message is stuck), `env` (the
//! environment); the server's own (addresses, database, regions, limits) are here.
//!
//! Environment variables (each overrides its setting):
//! `SENTLOG_LISTEN`, `DATABASE_URL` (or `SENTLOG_DATABASE_URL`), `SENTLOG_DEFAULT_REGION`,
//! `SENTLOG_HOTEL_REGIONS` (`h1=GB,h2=ES`), `SENTLOG_POOL_SIZE`,
//! `SENTLOG_STATEMENT_TIMEOUT_MS`, `SENTLOG_PAGE_TOKEN_SECRET`,
//! `SENTLOG_REQUEST_TIMEOUT_MS`, `SENTLOG_MAX_CONCURRENT_CALLS`,
//! `SENTLOG_MAX_OPEN_STREAMS`, `SENTLOG_MAX_OPEN_STREAMS_PER_TOKEN`, `SENTLOG_TLS_CERT`,
//! `SENTLOG_TLS_KEY`, `SENTLOG_TLS_CLIENT_CA`, `SENTLOG_CONSOLE_LISTEN`,
//! `SENTLOG_METRICS_LISTEN`, `SENTLOG_WEBHOOK_LISTEN`, `SENTLOG_PUBLIC_BASE_URL`, `SENTLOG_RETENTION_DAYS`, `SENTLOG_RECONCILE_SCHEDULE`,
//! `SENTLOG_TOKENS` (`NAME:ROLE:HOTEL,HOTEL:SHA256;...`), `SENTLOG_STUCK_AFTER_HOURS`
//! (`sms=6,whatsapp=24,email=24`); and `SENTLOG_CONFIG`, the file.
mod access;
mod env;
mod reconcile;
mod retention;
mod stuck;
pub mod webhooks;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;

use serde::Deserialize;

use crate::domain::access::TokenEntry;
use crate::domain::message::MessageStatus;
use crate::domain::phone::{self, RegionMap};
use crate::domain::stuck::StuckAfter;

pub use access::{TlsSettings, TokenSettings};
pub use reconcile::{DEFAULT_CHUNK, DEFAULT_RECONCILE_CRON, PmsSettings, ReconcileSettings};
pub use retention::{DEFAULT_RETENTION_CRON, RetentionSettings};
pub use stuck::StuckAfterSettings;
pub use webhooks::{
    SendGridAccount, SendGridAccountSettings, TwilioAccount, TwilioAccountSettings,
    WebhookSettings, Webhooks, WhatsAppAccount, WhatsAppAccountSettings,
};

/// Every setting, with the defaults that let `sentlog serve` run with no file at all.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// gRPC listen address.
    pub listen: String,
    /// `sqlite://FILE` or `postgres://USER@HOST/DB`.
    pub database_url: String,
    /// ISO region for national-format phones of hotels without their own.
    pub default_region: String,
    /// Hotel id -> ISO region.
    pub hotel_regions: BTreeMap<String, String>,
    /// Database connections in the pool.
    pub pool_size: u32,
    /// Longest a single SQL statement may run.
    pub statement_timeout_ms: u64,
    /// Signs page tokens. Instances behind one load balancer must share it; when unset
    /// each process draws its own, so tokens do not survive a restart.
    pub page_token_secret: Option<String>,
    /// The reconciliation worker.
    pub reconcile: ReconcileSettings,
    /// Hotel id -> its PMS vendor connection; hotels not listed use the guest records
    /// pushed over gRPC (UpsertGuests).
    pub pms: BTreeMap<String, PmsSettings>,
    /// Access tokens (their SHA-256); none: authentication off, loopback only.
    pub tokens: Vec<TokenSettings>,
    /// Longest a call may run before DEADLINE_EXCEEDED.
    pub request_timeout_ms: u64,
    /// Calls in progress at once; more are shed with UNAVAILABLE.
    pub max_concurrent_calls: usize,
    /// Open WatchMessages / ExportMessages streams (and console CSV downloads) at
    /// once; a stream outlives its call, so these are counted apart.
    pub max_open_streams: usize,
    /// Open streams for one token (one caller name); more are RESOURCE_EXHAUSTED.
    pub max_open_streams_per_token: usize,
    /// TLS for the gRPC listener (PEM files); absent: plaintext.
    pub tls: Option<TlsSettings>,
    /// Purge of old data; off unless `days` is set.
    pub retention: RetentionSettings,
    /// Prometheus text endpoint (`GET /metrics`) address; None: off.
    pub metrics_listen: Option<String>,
    /// Web console address, or "off".
    pub console_listen: String,
    /// Hours of silence, per channel, after which a message counts as stuck.
    pub stuck_after: StuckAfterSettings,
    /// Hours an early callback (a status event for a message not recorded yet) waits
    /// for its message before it is dropped.
    pub parked_ttl_hours: u32,
    /// Early callbacks waiting at most per caller scope (a hotel): past it, a batch
    /// that would park more is RESOURCE_EXHAUSTED, so a runaway sender cannot fill the
    /// database.
    pub max_parked_per_hotel: usize,
    /// Keys the hash suppressions are matched by (HMAC-SHA256 of the address). Unset:
    /// one is generated at the first start and kept in the database.
    pub suppression_secret: Option<String>,
    /// Provider webhooks' own HTTP listener; None or "off": off.
    pub webhook_listen: Option<String>,
    /// The scheme and host providers call (the hub's public ingress): Twilio signs
    /// that URL.
    pub public_base_url: Option<String>,
    /// Provider accounts whose webhooks are taken.
    pub webhooks: WebhookSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: "127.0.0.1:50051".into(),
            database_url: "sqlite://sentlog.db".into(),
            default_region: "FR".into(),
            hotel_regions: BTreeMap::new(),
            pool_size: 8,
            statement_timeout_ms: 30_000,
            page_token_secret: None,
            reconcile: ReconcileSettings::default(),
            pms: BTreeMap::new(),
            tokens: Vec::new(),
            request_timeout_ms: 30_000,
            max_concurrent_calls: 256,
            max_open_streams: 1_024,
            max_open_streams_per_token: 256,
            tls: None,
            retention: RetentionSettings::default(),
            metrics_listen: None,
            console_listen: "127.0.0.1:8080".into(),
            stuck_after: StuckAfterSettings::default(),
            parked_ttl_hours: 24,
            max_parked_per_hotel: 10_000,
            suppression_secret: None,
            webhook_listen: None,
            public_base_url: None,
            webhooks: WebhookSettings::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: String, message: String },
    #[error("setting {setting}: {message}")]
    Invalid { setting: String, message: String },
}

/// Checks a cron expression the way the scheduler will read it (six fields, seconds
/// first, UTC).
pub fn check_cron(expr: &str) -> Result<(), String> {
    tokio_cron_scheduler::Job::new_async(expr, |_, _| Box::pin(async {}))
        .map(|_| ())
        .map_err(|e| {
            format!(
                "{expr:?} is not a 6-field cron expression (sec min hour day month weekday): {e}"
            )
        })
}

fn invalid(setting: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        setting: setting.into(),
        message: message.into(),
    }
}

/// A name the setting must give (trimmed).
fn required_name(value: &str, setting: &str) -> Result<String, ConfigError> {
    match value.trim() {
        "" => Err(invalid(setting, "is required")),
        v => Ok(v.to_string()),
    }
}

/// Settings checked and turned into the values the service uses.
#[derive(Debug, Clone)]
pub struct Validated {
    pub settings: Settings,
    pub listen: SocketAddr,
    pub regions: RegionMap,
    /// Candidate statuses of the reconciliation.
    pub reconcile_statuses: Vec<MessageStatus>,
    /// None: the schedule is off.
    pub reconcile_cron: Option<String>,
    /// Empty: authentication is off (loopback only).
    pub tokens: Vec<TokenEntry>,
    /// The metrics endpoint's address, when on.
    pub metrics_listen: Option<SocketAddr>,
    /// The web console's address, when on.
    pub console_listen: Option<SocketAddr>,
    /// When a silent message counts as stuck.
    pub stuck_after: StuckAfter,
    /// Provider webhooks: listener and accounts.
    pub webhooks: Webhooks,
}

impl Settings {
    /// Reads the file (when given), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Settings, ConfigError> {
        let mut s = match file {
            Some(path) => Self::from_file(path)?,
            None => Settings::default(),
        };
        s.apply_env(|k| std::env::var(k).ok())?;
        Ok(s)
    }

    pub fn from_file(path: &Path) -> Result<Settings, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.display().to_string(),
            message: e.to_string(),
        })
    }

    pub fn validate(self) -> Result<Validated, ConfigError> {
        let listen: SocketAddr = self.listen.parse().map_err(|_| {
            invalid(
                "listen",
                format!("{:?} is not an address like 127.0.0.1:50051", self.listen),
            )
        })?;
        crate::store::connection::parse_url(&self.database_url)
            .map_err(|m| invalid("database_url", m))?;
        let default = phone::parse_region(&self.default_region).ok_or_else(|| {
            invalid(
                "default_region",
                format!(
                    "{:?} is not an ISO region code such as FR",
                    self.default_region
                ),
            )
        })?;
        let mut regions = RegionMap {
            default,
            by_hotel: Default::default(),
        };
        for (hotel, code) in &self.hotel_regions {
            let region = phone::parse_region(code).ok_or_else(|| {
                invalid(
                    &format!("hotel_regions.{hotel}"),
                    format!("{code:?} is not an ISO region code such as GB"),
                )
            })?;
            regions.by_hotel.insert(hotel.clone(), region);
        }
        if !(1..=512).contains(&self.pool_size) {
            return Err(invalid("pool_size", "must be between 1 and 512"));
        }
        if self.statement_timeout_ms == 0 {
            return Err(invalid("statement_timeout_ms", "must be above 0"));
        }
        if let Some(secret) = &self.page_token_secret
            && secret.len() < 16
        {
            return Err(invalid(
                "page_token_secret",
                "must be at least 16 characters",
            ));
        }
        if let Some(secret) = &self.suppression_secret
            && secret.len() < 16
        {
            return Err(invalid(
                "suppression_secret",
                "must be at least 16 characters",
            ));
        }
        let (reconcile_statuses, reconcile_cron) = reconcile::validate(&self.reconcile, &self.pms)?;
        if self.request_timeout_ms == 0 {
            return Err(invalid("request_timeout_ms", "must be above 0"));
        }
        if !(1..=100_000).contains(&self.max_concurrent_calls) {
            return Err(invalid(
                "max_concurrent_calls",
                "must be between 1 and 100000",
            ));
        }
        if !(1..=24 * 30).contains(&self.parked_ttl_hours) {
            return Err(invalid(
                "parked_ttl_hours",
                "must be between 1 and 720 hours",
            ));
        }
        for (name, value) in [
            ("max_parked_per_hotel", self.max_parked_per_hotel),
            ("max_open_streams", self.max_open_streams),
            (
                "max_open_streams_per_token",
                self.max_open_streams_per_token,
            ),
        ] {
            if !(1..=1_000_000).contains(&value) {
                return Err(invalid(name, "must be between 1 and 1000000"));
            }
        }
        access::check_tls(self.tls.as_ref())?;
        retention::validate(&self.retention)?;
        let tokens = access::tokens(&self.tokens)?;
        if tokens.is_empty() && !listen.ip().is_loopback() {
            return Err(invalid(
                "listen",
                format!(
                    "{listen} is reachable from other machines but no access tokens are configured: \
                     create one with `sentlog token new --name NAME --role admin --hotels '*'` and add the \
                     line it prints to the config file (or SENTLOG_TOKENS), or listen on 127.0.0.1"
                ),
            ));
        }
        let metrics_listen = match &self.metrics_listen {
            Some(a) => Some(a.parse().map_err(|_| {
                invalid(
                    "metrics_listen",
                    format!("{a:?} is not an address like 127.0.0.1:9464"),
                )
            })?),
            None => None,
        };
        let console_listen = match self.console_listen.trim() {
            "off" => None,
            a => {
                let at: SocketAddr = a.parse().map_err(|_| {
                    invalid(
                        "console_listen",
                        format!("{a:?} is not an address like 127.0.0.1:8080, nor \"off\""),
                    )
                })?;
                if tokens.is_empty() && !at.ip().is_loopback() {
                    return Err(invalid(
                        "console_listen",
                        format!(
                            "{at} is reachable from other machines but no access tokens are \
                             configured: add tokens (see `sentlog token new`) or serve the \
                             console on 127.0.0.1"
                        ),
                    ));
                }
                Some(at)
            }
        };
        let stuck_after = self.stuck_after.validate()?;
        let webhooks = webhooks::validate(
            self.webhook_listen.as_deref(),
            self.public_base_url.as_deref(),
            &self.webhooks,
        )?;
        Ok(Validated {
            webhooks,
            stuck_after,
            listen,
            console_listen,
            regions,
            tokens,
            metrics_listen,
            reconcile_statuses,
            reconcile_cron,
            settings: self,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::access::{self, HotelScope};

    #[test]
    fn defaults_validate() {
        let v = Settings::default().validate().unwrap();
        assert_eq!(v.listen.to_string(), "127.0.0.1:50051");
    }

    #[test]
    fn env_overrides_and_errors_name_the_setting() {
        let mut s = Settings::default();
        s.apply_env(|k| match k {
            "SENTLOG_HOTEL_REGIONS" => Some("h1=GB, h2=es".into()),
            "DATABASE_URL" => Some("postgres://u@h/db".into()),
            _ => None,
        })
        .unwrap();
        let v = s.clone().validate().unwrap();
        assert_eq!(v.regions.by_hotel.len(), 2);
        assert_eq!(v.settings.database_url, "postgres://u@h/db");

        let mut bad = s.clone();
        bad.hotel_regions.insert("h3".into(), "Narnia".into());
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .contains("hotel_regions.h3")
        );
        let mut bad = s;
        bad.listen = "nowhere".into();
        assert!(bad.validate().unwrap_err().to_string().contains("listen"));
        let err = Settings::default()
            .apply_env(|k| (k == "SENTLOG_POOL_SIZE").then(|| "many".into()))
            .unwrap_err();
        assert!(err.to_string().contains("SENTLOG_POOL_SIZE"));
    }

    #[test]
    fn reconcile_and_pms_sections() {
        let s: Settings = toml::from_str(
            r#"
            [reconcile]
            schedule = "0 */5 * * * *"
            statuses = ["undelivered", "MESSAGE_STATUS_FAILED"]

            [pms.london]
            vendor = "mews"
            base_url = "https://api.mews-demo.com"
            client_token = "ct"
            access_token = "at"
            "#,
        )
        .unwrap();
        let v = s.clone().validate().unwrap();
        assert_eq!(v.reconcile_statuses.len(), 2);
        assert_eq!(v.reconcile_cron.as_deref(), Some("0 */5 * * * *"));
        let mut bad = s.clone();
        bad.reconcile.schedule = "every minute".into();
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .contains("reconcile.schedule")
        );
        let mut off = s;
        off.reconcile.schedule = "off".into();
        assert_eq!(off.validate().unwrap().reconcile_cron, None);
        let err = toml::from_str::<Settings>("[pms.x]\nvendor = \"opera\"").unwrap_err();
        assert!(err.to_string().contains("opera"), "{err}");
    }

    #[test]
    fn tokens_and_the_default_posture() {
        let hash = access::hex(&access::token_hash("slt_x"));
        let mut s = Settings::default();
        s.apply_env(|k| {
            (k == "SENTLOG_TOKENS").then(|| format!("hub:ingest:h1,h2:{hash};boss:admin:*:{hash}"))
        })
        .unwrap();
        let v = s.clone().validate().unwrap();
        assert_eq!(v.tokens.len(), 2);
        assert_eq!(v.tokens[1].hotels, HotelScope::All);
        let mut bad = s.clone();
        bad.tokens[0].role = "root".into();
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .contains("tokens[0].role")
        );
        let mut bad = s.clone();
        bad.tokens[0].sha256 = "abc".into();
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .contains("tokens[0].sha256")
        );
        let mut open = Settings {
            listen: "0.0.0.0:50051".into(),
            ..Settings::default()
        };
        let err = open.clone().validate().unwrap_err().to_string();
        assert!(err.contains("sentlog token new"), "{err}");
        open.tokens = s.tokens.clone();
        assert!(open.validate().is_ok());
    }

    #[test]
    fn unknown_file_keys_are_refused() {
        let err = toml::from_str::<Settings>("listne = \"x\"").unwrap_err();
        assert!(err.to_string().contains("listne"));
    }
}
