//! Environment overrides of the settings (the list is in `config`'s module doc).
use super::{ConfigError, Settings, TlsSettings, TokenSettings, invalid};

impl Settings {
    /// Environment overrides: `SENTLOG_<SETTING>`, and `DATABASE_URL`.
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        if let Some(v) = var("SENTLOG_LISTEN") {
            self.listen = v;
        }
        if let Some(v) = var("DATABASE_URL").or_else(|| var("SENTLOG_DATABASE_URL")) {
            self.database_url = v;
        }
        if let Some(v) = var("SENTLOG_DEFAULT_REGION") {
            self.default_region = v;
        }
        if let Some(v) = var("SENTLOG_HOTEL_REGIONS") {
            for pair in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let (hotel, region) = pair.split_once('=').ok_or_else(|| {
                    invalid(
                        "SENTLOG_HOTEL_REGIONS",
                        format!("{pair:?} is not HOTEL=REGION"),
                    )
                })?;
                self.hotel_regions
                    .insert(hotel.trim().to_string(), region.trim().to_string());
            }
        }
        if let Some(v) = var("SENTLOG_POOL_SIZE") {
            self.pool_size = v
                .parse()
                .map_err(|_| invalid("SENTLOG_POOL_SIZE", format!("{v:?} is not a number")))?;
        }
        if let Some(v) = var("SENTLOG_STATEMENT_TIMEOUT_MS") {
            self.statement_timeout_ms = v.parse().map_err(|_| {
                invalid(
                    "SENTLOG_STATEMENT_TIMEOUT_MS",
                    format!("{v:?} is not a number"),
                )
            })?;
        }
        if let Some(v) = var("SENTLOG_PAGE_TOKEN_SECRET") {
            self.page_token_secret = Some(v);
        }
        if let Some(v) = var("SENTLOG_SUPPRESSION_SECRET") {
            self.suppression_secret = Some(v);
        }
        if let Some(v) = var("SENTLOG_REQUEST_TIMEOUT_MS") {
            self.request_timeout_ms = v.parse().map_err(|_| {
                invalid(
                    "SENTLOG_REQUEST_TIMEOUT_MS",
                    format!("{v:?} is not a number"),
                )
            })?;
        }
        if let Some(v) = var("SENTLOG_MAX_CONCURRENT_CALLS") {
            self.max_concurrent_calls = v.parse().map_err(|_| {
                invalid(
                    "SENTLOG_MAX_CONCURRENT_CALLS",
                    format!("{v:?} is not a number"),
                )
            })?;
        }
        if let Some(v) = var("SENTLOG_PARKED_TTL_HOURS") {
            self.parked_ttl_hours = v.parse().map_err(|_| {
                invalid("SENTLOG_PARKED_TTL_HOURS", format!("{v:?} is not a number"))
            })?;
        }
        for (name, target) in [
            (
                "SENTLOG_MAX_PARKED_PER_HOTEL",
                &mut self.max_parked_per_hotel,
            ),
            ("SENTLOG_MAX_OPEN_STREAMS", &mut self.max_open_streams),
            (
                "SENTLOG_MAX_OPEN_STREAMS_PER_TOKEN",
                &mut self.max_open_streams_per_token,
            ),
        ] {
            if let Some(v) = var(name) {
                *target = v
                    .parse()
                    .map_err(|_| invalid(name, format!("{v:?} is not a number")))?;
            }
        }
        if let (Some(cert), Some(key)) = (var("SENTLOG_TLS_CERT"), var("SENTLOG_TLS_KEY")) {
            self.tls = Some(TlsSettings {
                cert: cert.into(),
                key: key.into(),
                client_ca: var("SENTLOG_TLS_CLIENT_CA").map(Into::into),
            });
        }
        if let Some(v) = var("SENTLOG_CONSOLE_LISTEN") {
            self.console_listen = v;
        }
        if let Some(v) = var("SENTLOG_WEBHOOK_LISTEN") {
            self.webhook_listen = Some(v);
        }
        if let Some(v) = var("SENTLOG_PUBLIC_BASE_URL") {
            self.public_base_url = Some(v);
        }
        if let Some(v) = var("SENTLOG_METRICS_LISTEN") {
            self.metrics_listen = Some(v);
        }
        if let Some(v) = var("SENTLOG_RETENTION_DAYS") {
            self.retention.days = Some(v.parse().map_err(|_| {
                invalid(
                    "SENTLOG_RETENTION_DAYS",
                    format!("{v:?} is not a number of days"),
                )
            })?);
        }
        if let Some(v) = var("SENTLOG_STUCK_AFTER_HOURS") {
            self.stuck_after
                .apply_env("SENTLOG_STUCK_AFTER_HOURS", &v)?;
        }
        if let Some(v) = var("SENTLOG_RECONCILE_SCHEDULE") {
            self.reconcile.schedule = v;
        }
        if let Some(v) = var("SENTLOG_TOKENS") {
            for entry in v.split(';').map(str::trim).filter(|e| !e.is_empty()) {
                let parts: Vec<&str> = entry.split(':').collect();
                let [name, role, hotels, sha256] = parts[..] else {
                    return Err(invalid(
                        "SENTLOG_TOKENS",
                        "entries are NAME:ROLE:HOTELS:SHA256 (HOTELS comma-separated, or *), separated by ;",
                    ));
                };
                self.tokens.push(TokenSettings {
                    name: name.trim().into(),
                    role: role.trim().into(),
                    hotels: hotels.split(',').map(|h| h.trim().to_string()).collect(),
                    sha256: sha256.trim().into(),
                });
            }
        }
        Ok(())
    }
}
