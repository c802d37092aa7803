//! Provider webhooks (`webhook_listen`, `public_base_url`, `[[webhooks.twilio]]`,
//! `[[webhooks.whatsapp]]`, `[[webhooks.sendgrid]]`): one entry per provider account,
//! each with its secret and the hotels its callbacks may touch.
use std::net::SocketAddr;

use serde::Deserialize;

use super::{ConfigError, access::hotel_scope, invalid, required_name};
use crate::domain::access::HotelScope;
use crate::domain::webhook::sendgrid::PublicKey;

/// A secret read from the config: never shown by `Debug`, so never logged.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookSettings {
    pub twilio: Vec<TwilioAccountSettings>,
    pub whatsapp: Vec<WhatsAppAccountSettings>,
    pub sendgrid: Vec<SendGridAccountSettings>,
}

/// A Twilio account: its callbacks name it in `AccountSid`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TwilioAccountSettings {
    pub account_sid: String,
    /// The primary auth token (Twilio signs with it). Absent: not checked (loopback).
    pub auth_token: Option<Secret>,
    /// Hotel ids, or ["*"].
    pub hotels: Vec<String>,
}

/// A Meta app: its app secret signs the webhooks of its WhatsApp Business Accounts.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WhatsAppAccountSettings {
    /// A name for logs and metrics (e.g. the WABA).
    pub name: String,
    pub app_secret: Option<Secret>,
    /// What you typed as "Verify token" in Meta's webhook settings.
    pub verify_token: Option<Secret>,
    pub hotels: Vec<String>,
}

/// A SendGrid account (or subuser) with the Signed Event Webhook on.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SendGridAccountSettings {
    pub name: String,
    /// The verification key SendGrid shows (base64 DER, PEM accepted).
    pub public_key: Option<String>,
    pub hotels: Vec<String>,
}

/// The accounts, checked: what the webhook listener serves.
#[derive(Debug, Clone, Default)]
pub struct Webhooks {
    /// Where it listens; None: off.
    pub listen: Option<SocketAddr>,
    /// The scheme and host providers call (`https://hooks.example.com`), no trailing `/`.
    pub public_base_url: Option<String>,
    pub twilio: Vec<TwilioAccount>,
    pub whatsapp: Vec<WhatsAppAccount>,
    pub sendgrid: Vec<SendGridAccount>,
}

#[derive(Debug, Clone)]
pub struct TwilioAccount {
    pub account_sid: String,
    pub auth_token: Option<Secret>,
    pub hotels: HotelScope,
}

#[derive(Debug, Clone)]
pub struct WhatsAppAccount {
    pub name: String,
    pub app_secret: Option<Secret>,
    pub verify_token: Option<Secret>,
    pub hotels: HotelScope,
}

#[derive(Debug, Clone)]
pub struct SendGridAccount {
    pub name: String,
    pub public_key: Option<PublicKey>,
    pub hotels: HotelScope,
}

impl Webhooks {
    /// Accounts whose requests are taken without a signature check.
    pub fn unsigned_accounts(&self) -> Vec<String> {
        let twilio = self
            .twilio
            .iter()
            .filter(|a| a.auth_token.is_none())
            .map(|a| format!("webhooks.twilio {}", a.account_sid));
        let whatsapp = self
            .whatsapp
            .iter()
            .filter(|a| a.app_secret.is_none())
            .map(|a| format!("webhooks.whatsapp {}", a.name));
        let sendgrid = self
            .sendgrid
            .iter()
            .filter(|a| a.public_key.is_none())
            .map(|a| format!("webhooks.sendgrid {}", a.name));
        twilio.chain(whatsapp).chain(sendgrid).collect()
    }
}

fn secret(value: &Option<Secret>, setting: &str) -> Result<Option<Secret>, ConfigError> {
    match value {
        Some(Secret(s)) if s.trim().is_empty() => Err(invalid(
            setting,
            "is empty: give the secret, or leave the line out (loopback only)",
        )),
        Some(Secret(s)) => Ok(Some(Secret(s.trim().to_string()))),
        None => Ok(None),
    }
}

pub(super) fn validate(
    listen: Option<&str>,
    public_base_url: Option<&str>,
    s: &WebhookSettings,
) -> Result<Webhooks, ConfigError> {
    let listen = match listen.map(str::trim) {
        None | Some("off") | Some("") => None,
        Some(a) => Some(a.parse::<SocketAddr>().map_err(|_| {
            invalid(
                "webhook_listen",
                format!("{a:?} is not an address like 127.0.0.1:8090, nor \"off\""),
            )
        })?),
    };
    let public_base_url = match public_base_url.map(str::trim) {
        None | Some("") => None,
        Some(url) => {
            let lower = url.to_ascii_lowercase();
            if !(lower.starts_with("https://") || lower.starts_with("http://"))
                || url.contains('?')
                || url.contains('#')
            {
                return Err(invalid(
                    "public_base_url",
                    format!(
                        "{url:?} must be the scheme and host the providers call, such as \
                         https://hooks.example.com (no query)"
                    ),
                ));
            }
            Some(url.trim_end_matches('/').to_string())
        }
    };
    let mut w = Webhooks {
        listen,
        public_base_url,
        ..Webhooks::default()
    };
    for (i, a) in s.twilio.iter().enumerate() {
        let at = |f: &str| format!("webhooks.twilio[{i}].{f}");
        let account_sid = required_name(&a.account_sid, &at("account_sid"))?;
        if w.twilio.iter().any(|t| t.account_sid == account_sid) {
            return Err(invalid(
                &at("account_sid"),
                format!("{account_sid} is listed twice"),
            ));
        }
        w.twilio.push(TwilioAccount {
            account_sid,
            auth_token: secret(&a.auth_token, &at("auth_token"))?,
            hotels: hotel_scope(&a.hotels, &at("hotels"))?,
        });
    }
    for (i, a) in s.whatsapp.iter().enumerate() {
        let at = |f: &str| format!("webhooks.whatsapp[{i}].{f}");
        let app_secret = secret(&a.app_secret, &at("app_secret"))?;
        if app_secret.is_some() && w.whatsapp.iter().any(|o| o.app_secret == app_secret) {
            // The secret is what tells accounts apart: two sharing one would mix scopes.
            return Err(invalid(
                &at("app_secret"),
                "is the same as another account's: list all their hotels in one entry",
            ));
        }
        w.whatsapp.push(WhatsAppAccount {
            name: required_name(&a.name, &at("name"))?,
            app_secret,
            verify_token: secret(&a.verify_token, &at("verify_token"))?,
            hotels: hotel_scope(&a.hotels, &at("hotels"))?,
        });
    }
    for (i, a) in s.sendgrid.iter().enumerate() {
        let at = |f: &str| format!("webhooks.sendgrid[{i}].{f}");
        let public_key = match &a.public_key {
            Some(k) => Some(PublicKey::parse(k).map_err(|m| invalid(&at("public_key"), m))?),
            None => None,
        };
        if public_key.is_some() && w.sendgrid.iter().any(|o| o.public_key == public_key) {
            return Err(invalid(
                &at("public_key"),
                "is the same as another account's: list all their hotels in one entry",
            ));
        }
        w.sendgrid.push(SendGridAccount {
            name: required_name(&a.name, &at("name"))?,
            public_key,
            hotels: hotel_scope(&a.hotels, &at("hotels"))?,
        });
    }
    if let Some(at) = w.listen
        && !at.ip().is_loopback()
    {
        let unsigned = w.unsigned_accounts();
        if !unsigned.is_empty() {
            return Err(invalid(
                "webhook_listen",
                format!(
                    "{at} is reachable from other machines but these accounts have no secret, \
                     so anyone could post their statuses: {}; add their secrets or listen on \
                     127.0.0.1",
                    unsigned.join(", ")
                ),
            ));
        }
        if !w.twilio.is_empty() && w.public_base_url.is_none() {
            return Err(invalid(
                "public_base_url",
                "is required when Twilio webhooks are served on a public address: Twilio \
                 signs the URL it called (https://your-ingress), which this server cannot see \
                 behind a proxy",
            ));
        }
    }
    Ok(w)
}

#[cfg(test)]
mod tests {
    use super::super::Settings;

    const KEY: &str = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g==";

    fn settings(toml_text: &str) -> Settings {
        toml::from_str(toml_text).unwrap()
    }

    fn error(toml_text: &str) -> String {
        settings(toml_text).validate().unwrap_err().to_string()
    }

    #[test]
    fn accounts_are_read_and_checked() {
        let v = settings(&format!(
            r#"
            webhook_listen = "0.0.0.0:8090"
            public_base_url = "https://hooks.example.com/"
            [[webhooks.twilio]]
            account_sid = "AC1"
            auth_token = "tok"
            hotels = ["h1", "h2"]
            [[webhooks.whatsapp]]
            name = "waba"
            app_secret = "s"
            verify_token = "v"
            hotels = ["*"]
            [[webhooks.sendgrid]]
            name = "sg"
            public_key = "{KEY}"
            hotels = ["h1"]
            "#
        ))
        .validate()
        .unwrap();
        let w = v.webhooks;
        assert_eq!(w.listen.unwrap().port(), 8090);
        assert_eq!(
            w.public_base_url.as_deref(),
            Some("https://hooks.example.com")
        );
        assert_eq!(w.twilio.len() + w.whatsapp.len() + w.sendgrid.len(), 3);
        assert!(w.unsigned_accounts().is_empty());
        // Secrets never reach a log line through Debug.
        let shown = format!("{w:?}");
        assert!(
            !shown.contains("tok\"") && shown.contains("Secret(***)"),
            "{shown}"
        );
        assert_eq!(
            Settings::default().validate().unwrap().webhooks.listen,
            None
        );
    }

    #[test]
    fn a_public_listener_needs_every_secret_and_the_public_url() {
        let err = error(
            r#"
            webhook_listen = "0.0.0.0:8090"
            public_base_url = "https://hooks.example.com"
            [[webhooks.whatsapp]]
            name = "waba"
            hotels = ["*"]
            "#,
        );
        assert!(
            err.contains("webhook_listen") && err.contains("webhooks.whatsapp waba"),
            "{err}"
        );
        let err = error(
            r#"
            webhook_listen = "0.0.0.0:8090"
            [[webhooks.twilio]]
            account_sid = "AC1"
            auth_token = "tok"
            hotels = ["*"]
            "#,
        );
        assert!(err.contains("public_base_url"), "{err}");
        // On loopback an unsigned account is allowed (and warned about at start).
        let v = settings(
            r#"
            webhook_listen = "127.0.0.1:8090"
            [[webhooks.twilio]]
            account_sid = "AC1"
            hotels = ["*"]
            "#,
        )
        .validate()
        .unwrap();
        assert_eq!(v.webhooks.unsigned_accounts(), vec!["webhooks.twilio AC1"]);
    }

    #[test]
    fn errors_name_the_setting() {
        for (text, setting) in [
            (r#"webhook_listen = "here""#, "webhook_listen"),
            (
                r#"public_base_url = "hooks.example.com""#,
                "public_base_url",
            ),
            (
                "[[webhooks.sendgrid]]\nname = \"sg\"\npublic_key = \"AAAA\"\nhotels = [\"*\"]",
                "webhooks.sendgrid[0].public_key",
            ),
            (
                "[[webhooks.twilio]]\naccount_sid = \"AC1\"\nhotels = []",
                "webhooks.twilio[0].hotels",
            ),
            (
                "[[webhooks.twilio]]\naccount_sid = \"AC1\"\nauth_token = \" \"\nhotels = [\"*\"]",
                "webhooks.twilio[0].auth_token",
            ),
            (
                "[[webhooks.twilio]]\naccount_sid = \"AC1\"\nhotels = [\"*\"]\n[[webhooks.twilio]]\naccount_sid = \"AC1\"\nhotels = [\"*\"]",
                "webhooks.twilio[1].account_sid",
            ),
            (
                "[[webhooks.whatsapp]]\nname = \"a\"\napp_secret = \"s\"\nhotels = [\"h1\"]\n[[webhooks.whatsapp]]\nname = \"b\"\napp_secret = \"s\"\nhotels = [\"h2\"]",
                "webhooks.whatsapp[1].app_secret",
            ),
        ] {
            let err = error(text);
            assert!(err.contains(setting), "{text}: {err}");
        }
    }
}
