//! WhatsApp Cloud API webhooks (PROVIDERS.md §3): a JSON POST signed with
//! `X-Hub-Signature-256` (`sha256=` + hex HMAC-SHA256 of the raw body under the app
//! secret), and the `GET` subscription handshake.
use ring::hmac;
use serde::Deserialize;

use super::{Malformed, Mapped, SignatureError};
use crate::domain::message::{MessageCategory, MessageStatus};
use crate::domain::status_event::EventDraft;

/// `statuses[].status` → the contract's status (§3.2, M1, M6). `played` (a voice
/// message first played) means the guest got and opened it: READ.
pub const STATUSES: &[(&str, Option<MessageStatus>)] = &[
    ("sent", Some(MessageStatus::Sent)),
    ("delivered", Some(MessageStatus::Delivered)),
    ("read", Some(MessageStatus::Read)),
    ("played", Some(MessageStatus::Read)),
    ("failed", Some(MessageStatus::Failed)),
];

/// `pricing.category` → the message category it fills when the hub left it empty
/// (M5, M10; `marketing_lite` and `authentication_international` are billed variants).
pub const PRICING_CATEGORIES: &[(&str, MessageCategory)] = &[
    ("marketing", MessageCategory::Marketing),
    ("marketing_lite", MessageCategory::Marketing),
    ("utility", MessageCategory::Utility),
    ("authentication", MessageCategory::Authentication),
    (
        "authentication_international",
        MessageCategory::Authentication,
    ),
    ("service", MessageCategory::Service),
];

#[derive(Deserialize)]
struct Payload {
    #[serde(default)]
    entry: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    changes: Vec<Change>,
}

#[derive(Deserialize)]
struct Change {
    #[serde(default)]
    field: String,
    #[serde(default)]
    value: Value,
}

#[derive(Deserialize, Default)]
struct Value {
    #[serde(default)]
    statuses: Vec<StatusObject>,
    #[serde(default)]
    messages: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct StatusObject {
    id: Option<String>,
    status: Option<String>,
    /// Unix seconds, sent as a string (M5, M6); a number is read too.
    timestamp: Option<serde_json::Value>,
    #[serde(default)]
    errors: Vec<ErrorObject>,
    pricing: Option<Pricing>,
}

#[derive(Deserialize)]
struct ErrorObject {
    code: Option<serde_json::Value>,
    title: Option<String>,
    message: Option<String>,
    error_data: Option<ErrorData>,
}

#[derive(Deserialize)]
struct ErrorData {
    details: Option<String>,
}

#[derive(Deserialize)]
struct Pricing {
    category: Option<String>,
}

fn code_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.trim().to_string(),
        other => other.to_string(),
    }
}

/// Maps one webhook body. WhatsApp sends no event id: the server derives it from the
/// message, status, time and error code, so a re-delivered webhook is a DUPLICATE.
pub fn map(body: &[u8]) -> Result<Mapped, Malformed> {
    let payload: Payload = serde_json::from_slice(body)
        .map_err(|e| Malformed(format!("the body is not a WhatsApp webhook payload: {e}")))?;
    let mut mapped = Mapped::default();
    let mut hinted = std::collections::HashSet::new();
    for (e, entry) in payload.entry.iter().enumerate() {
        for (c, change) in entry.changes.iter().enumerate() {
            if change.field != "messages" {
                mapped.acknowledged.push(format!("field:{}", change.field));
                continue;
            }
            // Inbound messages from guests are not statuses of ours.
            for _ in &change.value.messages {
                mapped.acknowledged.push("inbound".into());
            }
            for (s, status) in change.value.statuses.iter().enumerate() {
                let at = format!("entry[{e}].changes[{c}].value.statuses[{s}]");
                let id = super::required(status.id.as_deref(), &format!("{at}.id"))?;
                let name = super::required(status.status.as_deref(), &format!("{at}.status"))?
                    .to_ascii_lowercase();
                let occurred_at = super::unix_seconds(status.timestamp.as_ref(), &at)?;
                let Some(mapped_status) = STATUSES
                    .iter()
                    .find(|(n, _)| *n == name)
                    .and_then(|(_, s)| *s)
                else {
                    mapped.acknowledged.push(name);
                    continue;
                };
                let error = status.errors.first();
                let error_code = error
                    .and_then(|e| e.code.as_ref())
                    .map(code_text)
                    .unwrap_or_default();
                let error_message = error
                    .map(|e| {
                        let title = e.title.as_deref().or(e.message.as_deref()).unwrap_or("");
                        match e.error_data.as_ref().and_then(|d| d.details.as_deref()) {
                            Some(details) if !details.is_empty() && details != title => {
                                format!("{title}: {details}")
                            }
                            _ => title.to_string(),
                        }
                    })
                    .unwrap_or_default();
                if let Some(category) = status
                    .pricing
                    .as_ref()
                    .and_then(|p| p.category.as_deref())
                    .and_then(|c| {
                        PRICING_CATEGORIES
                            .iter()
                            .find(|(n, _)| n.eq_ignore_ascii_case(c))
                    })
                    .map(|(_, c)| *c)
                    && hinted.insert(id)
                {
                    // Every status of a message repeats its pricing: one hint a message.
                    mapped.categories.push((id.to_string(), category));
                }
                mapped.events.push(EventDraft {
                    provider: super::Provider::WhatsApp.message_provider().into(),
                    provider_message_id: id.to_string(),
                    status: Some(mapped_status),
                    occurred_at: Some(occurred_at),
                    error_code,
                    error_message,
                    ..EventDraft::default()
                });
            }
        }
    }
    Ok(mapped)
}

/// The body Meta posts for `callback` (None: WhatsApp has no such status).
pub fn body(callback: &super::Callback) -> Option<String> {
    let status = super::provider_status(STATUSES, callback.status)?;
    let mut object = serde_json::json!({
        "id": callback.provider_message_id,
        "status": status,
        "timestamp": callback.occurred_at.timestamp().to_string(),
        "recipient_id": "",
    });
    if !callback.error_code.is_empty() {
        object["errors"] = serde_json::json!([{
            "code": callback.error_code.parse::<i64>().ok(),
            "title": callback.error_message,
        }]);
    }
    let payload = serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "statuses": [object],
        }}]}],
    });
    Some(payload.to_string())
}

/// `X-Hub-Signature-256` for `body` under `app_secret`.
pub fn sign(body: &[u8], app_secret: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, app_secret.as_bytes());
    let tag = hmac::sign(&key, body);
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// Checks `header` (`sha256=<hex>`) against the raw body, in constant time.
pub fn verify(body: &[u8], app_secret: &str, header: Option<&str>) -> Result<(), SignatureError> {
    let header = header
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .ok_or(SignatureError::Missing)?;
    let hex = header
        .strip_prefix("sha256=")
        .ok_or(SignatureError::Mismatch)?;
    let tag = decode_hex(hex).ok_or(SignatureError::Mismatch)?;
    let key = hmac::Key::new(hmac::HMAC_SHA256, app_secret.as_bytes());
    hmac::verify(&key, body, &tag).map_err(|_| SignatureError::Mismatch)
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The `GET` handshake (§3.3): the challenge to echo when `hub.mode` is `subscribe`
/// and `hub.verify_token` is one of ours; None: refuse (403).
pub fn handshake<'a>(query: &'a [(String, String)], verify_tokens: &[&str]) -> Option<&'a str> {
    let get = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let token = get("hub.verify_token")?;
    let known = verify_tokens
        .iter()
        .any(|t| !t.is_empty() && super::constant_time_eq(t, token));
    (get("hub.mode") == Some("subscribe") && known)
        .then(|| get("hub.challenge"))
        .flatten()
}
