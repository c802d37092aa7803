//! Who may call: access tokens (`[[tokens]]`; `SENTLOG_TOKENS`) and TLS (`[tls]`;
//! `SENTLOG_TLS_CERT`, `SENTLOG_TLS_KEY`, `SENTLOG_TLS_CLIENT_CA`).
use serde::Deserialize;

use super::{ConfigError, invalid, required_name};
use crate::domain::access::{self, HotelScope, Role, TokenEntry};

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    /// Certificate chain (PEM).
    pub cert: std::path::PathBuf,
    /// Private key (PEM).
    pub key: std::path::PathBuf,
    /// CA (PEM) that client certificates must chain to: mutual TLS when set.
    pub client_ca: Option<std::path::PathBuf>,
}

/// One access token, as `sentlog token new` prints it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TokenSettings {
    pub name: String,
    /// ingest, agent, csm or admin.
    pub role: String,
    /// Hotel ids this token serves, or ["*"] for every hotel.
    pub hotels: Vec<String>,
    /// Hex SHA-256 of the token.
    pub sha256: String,
}

/// The configured tokens, each checked (role, hotels, hash, name).
pub(super) fn tokens(settings: &[TokenSettings]) -> Result<Vec<TokenEntry>, ConfigError> {
    let mut tokens = Vec::new();
    for (i, t) in settings.iter().enumerate() {
        let at = |field: &str| format!("tokens[{i}].{field}");
        let role = Role::parse(&t.role).ok_or_else(|| {
            invalid(
                &at("role"),
                format!("{:?} is not ingest, agent, csm or admin", t.role),
            )
        })?;
        let hotels = hotel_scope(&t.hotels, &at("hotels"))?;
        let sha256 = access::parse_hash(&t.sha256).ok_or_else(|| {
            invalid(
                &at("sha256"),
                "must be 64 hex characters (sentlog token new prints it)",
            )
        })?;
        tokens.push(TokenEntry {
            name: required_name(&t.name, &at("name"))?,
            role,
            hotels,
            sha256,
        });
    }
    Ok(tokens)
}

/// A configured hotel list: ids, or ["*"] for every hotel; empty is refused.
pub(super) fn hotel_scope(list: &[String], setting: &str) -> Result<HotelScope, ConfigError> {
    let hotels: Vec<String> = list
        .iter()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .collect();
    match hotels.as_slice() {
        [] => Err(invalid(
            setting,
            "list the hotel ids it serves, or [\"*\"] for every hotel",
        )),
        [all] if all == "*" => Ok(HotelScope::All),
        list => Ok(HotelScope::Only(list.iter().cloned().collect())),
    }
}

/// The TLS files exist.
pub(super) fn check_tls(tls: Option<&TlsSettings>) -> Result<(), ConfigError> {
    if let Some(tls) = tls {
        for (name, path) in [
            ("tls.cert", Some(&tls.cert)),
            ("tls.key", Some(&tls.key)),
            ("tls.client_ca", tls.client_ca.as_ref()),
        ] {
            if let Some(path) = path
                && !path.is_file()
            {
                return Err(invalid(
                    name,
                    format!("{} is not a readable file", path.display()),
                ));
            }
        }
    }
    Ok(())
}
