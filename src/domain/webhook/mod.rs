//! Provider status webhooks, read as the providers send them: each provider's payload
//! is mapped to status events by one table (`twilio`, `whatsapp`, `sendgrid`), and its
//! signature is checked here too, with constant-time comparisons. Pure: bytes in,
//! events or a refusal out. Facts and sources: `PROVIDERS.md`.
pub mod sendgrid;
pub mod twilio;
pub mod whatsapp;

use super::message::MessageCategory;
use super::status_event::EventDraft;

/// A provider whose webhooks sentlog takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    Twilio,
    WhatsApp,
    SendGrid,
}

impl Provider {
    pub const ALL: [Provider; 3] = [Provider::Twilio, Provider::WhatsApp, Provider::SendGrid];

    /// The name in paths, metrics and `--provider`.
    pub fn name(self) -> &'static str {
        match self {
            Provider::Twilio => "twilio",
            Provider::WhatsApp => "whatsapp",
            Provider::SendGrid => "sendgrid",
        }
    }

    pub fn from_name(name: &str) -> Option<Provider> {
        Provider::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The `provider` the hub records its messages under (the error table's names).
    pub fn message_provider(self) -> &'static str {
        match self {
            Provider::Twilio => "twilio",
            Provider::WhatsApp => "whatsapp_cloud",
            Provider::SendGrid => "sendgrid",
        }
    }
}

/// What one webhook request carried, in the contract's terms.
#[derive(Debug, Clone, Default)]
pub struct Mapped {
    /// Events to apply, addressed by provider id.
    pub events: Vec<EventDraft>,
    /// Categories the provider billed a message as (WhatsApp's `pricing.category`):
    /// they fill a message's category when the hub left it empty.
    pub categories: Vec<(String, MessageCategory)>,
    /// Provider events the contract has no status for (an email `open`, a
    /// `deferred`, an unknown status): acknowledged and counted, by provider name.
    pub acknowledged: Vec<String>,
}

/// A body that is not what the provider sends: answered 400 with this reason, and
/// nothing in it is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed(pub String);

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a request's signature was refused (the answer names it; no secret is shown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureError {
    /// The signature header is absent.
    Missing,
    /// It is present but does not verify under any configured secret.
    Mismatch,
    /// SendGrid: the timestamp header is absent, unreadable, or outside the tolerance.
    Stale,
}

impl SignatureError {
    pub fn reason(self) -> &'static str {
        match self {
            SignatureError::Missing => "the signature header is missing",
            SignatureError::Mismatch => "the signature does not verify",
            SignatureError::Stale => {
                "the signature timestamp is missing or more than 5 minutes from the server's clock"
            }
        }
    }
}

/// One status callback as a provider would send it, for sample traffic
/// (`sentlog demo --webhooks`, `webhook-replay`) and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callback {
    pub provider_message_id: String,
    pub status: super::message::MessageStatus,
    pub occurred_at: chrono::DateTime<chrono::Utc>,
    pub error_code: String,
    pub error_message: String,
}

/// The provider's name for `status` in a mapping table: the first row that maps to it.
fn provider_status(
    table: &[(&'static str, Option<super::message::MessageStatus>)],
    status: super::message::MessageStatus,
) -> Option<&'static str> {
    table
        .iter()
        .find(|(_, s)| *s == Some(status))
        .map(|(name, _)| *name)
}

/// Equal texts, compared without an early exit (digests of equal length, folded).
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    use sha2::{Digest, Sha256};
    let (x, y) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    x.iter()
        .zip(y.iter())
        .fold(0u8, |acc, (p, q)| acc | (p ^ q))
        == 0
}

/// A `timestamp` in Unix seconds, sent as a number or a string (WhatsApp sends a
/// string, SendGrid a number); `at` names the object in the refusal.
fn unix_seconds(
    value: Option<&serde_json::Value>,
    at: &str,
) -> Result<chrono::DateTime<chrono::Utc>, Malformed> {
    let seconds = match value {
        Some(serde_json::Value::String(s)) => s.trim().parse::<i64>().ok(),
        Some(serde_json::Value::Number(n)) => n.as_i64(),
        _ => None,
    };
    seconds
        .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
        .ok_or_else(|| Malformed(format!("{at}.timestamp must be Unix seconds")))
}

/// The DER bytes of a PEM block (armour lines dropped) or of bare base64.
pub fn pem_or_base64(text: &str) -> Option<Vec<u8>> {
    let b64: String = text
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .flat_map(|l| l.trim().chars())
        .collect();
    base64_decode(&b64)
}

/// Decodes standard (padded) base64, as Twilio and SendGrid send signatures.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The parsing helpers the three payload readers share.
fn required<'a>(value: Option<&'a str>, field: &str) -> Result<&'a str, Malformed> {
    match value.map(str::trim) {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(Malformed(format!("{field} is required"))),
    }
}

#[cfg(test)]
mod tests;
