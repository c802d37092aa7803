//! SendGrid Event Webhook (PROVIDERS.md §4): a JSON array of events, signed with
//! ECDSA P-256 over the timestamp header followed by the raw body.
use chrono::{DateTime, Duration, Utc};
use ring::signature;
use serde::Deserialize;

use super::{Malformed, Mapped, SignatureError, base64_decode};
use crate::domain::message::MessageStatus;
use crate::domain::status_event::EventDraft;

/// `event` → the contract's status (§4.1, S1); None: acknowledged and counted, not
/// applied. A bounce (`type` bounce or blocked) was refused by the receiving server:
/// UNDELIVERED; a drop was never sent: FAILED.
pub const EVENTS: &[(&str, Option<MessageStatus>)] = &[
    ("processed", Some(MessageStatus::Pending)),
    ("delivered", Some(MessageStatus::Delivered)),
    ("bounce", Some(MessageStatus::Undelivered)),
    ("dropped", Some(MessageStatus::Failed)),
    ("deferred", None),
    ("open", None),
    ("click", None),
    ("spamreport", None),
    ("unsubscribe", None),
    ("group_unsubscribe", None),
    ("group_resubscribe", None),
];

/// How far the signature timestamp may be from the server's clock. SendGrid publishes
/// no tolerance (§4.4); five minutes is the contract's.
pub const TIMESTAMP_TOLERANCE: Duration = Duration::minutes(5);

#[derive(Deserialize)]
struct Event {
    event: Option<String>,
    sg_message_id: Option<String>,
    sg_event_id: Option<String>,
    timestamp: Option<serde_json::Value>,
    reason: Option<String>,
    bounce_classification: Option<String>,
    status: Option<String>,
    response: Option<String>,
}

/// The id the hub recorded: the `X-Message-Id` of the send call, which is the part of
/// `sg_message_id` before its first dot.
pub fn message_id(sg_message_id: &str) -> &str {
    sg_message_id.split('.').next().unwrap_or(sg_message_id)
}

/// Maps one webhook body (a JSON array of events).
pub fn map(body: &[u8]) -> Result<Mapped, Malformed> {
    let events: Vec<Event> = serde_json::from_slice(body).map_err(|e| {
        Malformed(format!(
            "the body is not a SendGrid event array (a JSON array of objects): {e}"
        ))
    })?;
    let mut mapped = Mapped::default();
    for (i, e) in events.iter().enumerate() {
        let at = format!("[{i}]");
        let name = super::required(e.event.as_deref(), &format!("{at}.event"))?;
        let Some(status) = EVENTS
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, s)| *s)
        else {
            mapped.acknowledged.push(name.to_string());
            continue;
        };
        let occurred_at = super::unix_seconds(e.timestamp.as_ref(), &at)?;
        // Asynchronous bounces carry no sg_message_id (§4.2): nothing names the message.
        let Some(sg_message_id) = e.sg_message_id.as_deref().filter(|s| !s.trim().is_empty())
        else {
            mapped
                .acknowledged
                .push(format!("{name}_without_sg_message_id"));
            continue;
        };
        let (error_code, error_message) = match status {
            MessageStatus::Failed => (e.reason.clone(), e.response.clone()),
            MessageStatus::Undelivered => (
                e.bounce_classification.clone().or_else(|| e.status.clone()),
                e.reason.clone().or_else(|| e.response.clone()),
            ),
            _ => (None, None),
        };
        mapped.events.push(EventDraft {
            provider: super::Provider::SendGrid.message_provider().into(),
            provider_message_id: message_id(sg_message_id.trim()).to_string(),
            status: Some(status),
            occurred_at: Some(occurred_at),
            event_id: e.sg_event_id.clone().unwrap_or_default(),
            error_code: error_code.unwrap_or_default(),
            error_message: error_message.unwrap_or_default(),
            ..EventDraft::default()
        });
    }
    Ok(mapped)
}

/// The body SendGrid posts for `callback` (None: SendGrid has no such event). The
/// event id is made of the callback, so a replayed file is seen as the same events.
pub fn body(callback: &super::Callback) -> Option<String> {
    let event = super::provider_status(EVENTS, callback.status)?;
    let mut object = serde_json::json!({
        "event": event,
        "sg_message_id": format!("{}.filterdrecv-sample", callback.provider_message_id),
        "sg_event_id": format!("{}-{event}", callback.provider_message_id),
        "timestamp": callback.occurred_at.timestamp(),
    });
    match callback.status {
        MessageStatus::Failed => object["reason"] = callback.error_code.clone().into(),
        MessageStatus::Undelivered => {
            object["type"] = "bounce".into();
            object["bounce_classification"] = callback.error_code.clone().into();
            object["reason"] = callback.error_message.clone().into();
        }
        _ => {}
    }
    Some(serde_json::Value::Array(vec![object]).to_string())
}

/// The DER prefix of a P-256 SubjectPublicKeyInfo; the 65-byte point follows.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// A verification key as SendGrid shows it: base64 DER SubjectPublicKeyInfo of a
/// P-256 key (PEM armour accepted).
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey(Vec<u8>);

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PublicKey(P-256)")
    }
}

impl PublicKey {
    pub fn parse(text: &str) -> Result<PublicKey, String> {
        let der = super::pem_or_base64(text).ok_or("is not base64")?;
        match der.strip_prefix(&P256_SPKI_PREFIX[..]) {
            Some(point) if point.len() == 65 && point[0] == 4 => Ok(PublicKey(point.to_vec())),
            _ => Err(
                "is not a P-256 public key (base64 DER SubjectPublicKeyInfo, as SendGrid shows it)"
                    .into(),
            ),
        }
    }

    /// The key's SubjectPublicKeyInfo for a raw uncompressed point (tests, replay).
    pub fn spki_base64(point: &[u8]) -> String {
        let mut der = P256_SPKI_PREFIX.to_vec();
        der.extend_from_slice(point);
        super::base64_encode(&der)
    }
}

/// Checks the signature header over `timestamp` + `body`, and that the timestamp is
/// within the tolerance of `now`.
pub fn verify(
    body: &[u8],
    key: &PublicKey,
    signature_header: Option<&str>,
    timestamp_header: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), SignatureError> {
    let signature_header = signature_header
        .filter(|s| !s.trim().is_empty())
        .ok_or(SignatureError::Missing)?;
    let timestamp = timestamp_header
        .map(str::trim)
        .ok_or(SignatureError::Stale)?;
    let at = timestamp
        .parse::<i64>()
        .ok()
        .and_then(|s| DateTime::from_timestamp(s, 0))
        .ok_or(SignatureError::Stale)?;
    if (now - at).abs() > TIMESTAMP_TOLERANCE {
        return Err(SignatureError::Stale);
    }
    let der = base64_decode(signature_header).ok_or(SignatureError::Mismatch)?;
    let mut message = timestamp.as_bytes().to_vec();
    message.extend_from_slice(body);
    signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_ASN1, &key.0)
        .verify(&message, &der)
        .map_err(|_| SignatureError::Mismatch)
}
