//! Twilio message status callbacks (PROVIDERS.md §1): a form-encoded POST signed with
//! `X-Twilio-Signature`, HMAC-SHA1 under the account's auth token.
use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use ring::hmac;

use super::{Malformed, Mapped, SignatureError, base64_decode, base64_encode, required};
use crate::domain::message::MessageStatus;
use crate::domain::status_event::EventDraft;

/// `MessageStatus` → the contract's status; None: acknowledged, not applied (inbound
/// messages, and `partially_delivered`, whose meaning is not published). T3, T4.
pub const STATUSES: &[(&str, Option<MessageStatus>)] = &[
    ("queued", Some(MessageStatus::Pending)),
    ("accepted", Some(MessageStatus::Pending)),
    ("sending", Some(MessageStatus::Pending)),
    ("scheduled", Some(MessageStatus::Scheduled)),
    ("canceled", Some(MessageStatus::Cancelled)),
    ("sent", Some(MessageStatus::Sent)),
    ("delivered", Some(MessageStatus::Delivered)),
    ("undelivered", Some(MessageStatus::Undelivered)),
    ("failed", Some(MessageStatus::Failed)),
    ("read", Some(MessageStatus::Read)),
    ("partially_delivered", None),
    ("receiving", None),
    ("received", None),
];

/// The form fields of a callback, decoded, in the order received.
pub type Params = Vec<(String, String)>;

pub fn decode_form(body: &[u8]) -> Params {
    form_urlencoded::parse(body).into_owned().collect()
}

fn field<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The account a callback says it is for (`AccountSid`), to find its auth token.
pub fn account_sid(params: &Params) -> Option<&str> {
    field(params, "AccountSid").filter(|s| !s.trim().is_empty())
}

/// Maps one callback. Twilio sends no event time (§1.4): the event takes the receipt
/// time, and its id is made of what the callback says (sid, status, error code), so a
/// retried callback carries the same id and is a DUPLICATE.
pub fn map(params: &Params, received_at: DateTime<Utc>) -> Result<Mapped, Malformed> {
    let sid = required(
        field(params, "MessageSid").or_else(|| field(params, "SmsSid")),
        "MessageSid",
    )?;
    let status = required(
        field(params, "MessageStatus").or_else(|| field(params, "SmsStatus")),
        "MessageStatus",
    )?
    .to_ascii_lowercase();
    let mut mapped = Mapped::default();
    let known = STATUSES.iter().find(|(name, _)| *name == status);
    let Some(status) = known.and_then(|(_, s)| *s) else {
        mapped.acknowledged.push(status);
        return Ok(mapped);
    };
    let error_code = field(params, "ErrorCode").unwrap_or("").trim().to_string();
    let error_message = field(params, "ErrorMessage")
        .or_else(|| field(params, "ChannelStatusMessage"))
        .unwrap_or("")
        .trim()
        .to_string();
    mapped.events.push(EventDraft {
        provider: super::Provider::Twilio.message_provider().into(),
        provider_message_id: sid.to_string(),
        status: Some(status),
        occurred_at: Some(received_at),
        event_id: format!(
            "twilio:{sid}:{}:{error_code}",
            super::provider_status(STATUSES, status).unwrap_or("other")
        ),
        error_code,
        error_message,
        ..EventDraft::default()
    });
    Ok(mapped)
}

/// The form body Twilio posts for `callback` (None: Twilio has no such status).
pub fn body(account_sid: &str, callback: &super::Callback) -> Option<String> {
    let status = super::provider_status(STATUSES, callback.status)?;
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.append_pair("AccountSid", account_sid)
        .append_pair("MessageSid", &callback.provider_message_id)
        .append_pair("SmsSid", &callback.provider_message_id)
        .append_pair("MessageStatus", status)
        .append_pair("SmsStatus", status)
        .append_pair("ApiVersion", "2010-04-01");
    if !callback.error_code.is_empty() {
        form.append_pair("ErrorCode", &callback.error_code);
    }
    Some(form.finish())
}

/// What Twilio signs after the URL (§1.6 step 2): each parameter name in code-point
/// order followed by each of its distinct values, sorted.
fn params_text(params: &Params) -> String {
    let mut by_name: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (k, v) in params {
        by_name.entry(k).or_default().insert(v);
    }
    let mut text = String::new();
    for (name, values) in by_name {
        for value in values {
            text.push_str(name);
            text.push_str(value);
        }
    }
    text
}

/// The string Twilio signs: the URL as called, then the parameters.
fn signed_text(url: &str, params_text: &str) -> String {
    format!("{url}{params_text}")
}

/// `X-Twilio-Signature` for `url` and `params` under `auth_token` (what Twilio sends;
/// used by `webhook-replay` and the tests).
pub fn sign(url: &str, params: &Params, auth_token: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, auth_token.as_bytes());
    let text = signed_text(url, &params_text(params));
    base64_encode(hmac::sign(&key, text.as_bytes()).as_ref())
}

/// Checks `header` against the URL Twilio called (as given, without its port, and
/// with the scheme's default port: Twilio is not consistent about ports, §1.6 step 4).
pub fn verify(
    url: &str,
    params: &Params,
    auth_token: &str,
    header: Option<&str>,
) -> Result<(), SignatureError> {
    let header = header
        .filter(|h| !h.trim().is_empty())
        .ok_or(SignatureError::Missing)?;
    let tag = base64_decode(header).ok_or(SignatureError::Mismatch)?;
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, auth_token.as_bytes());
    let variants = [
        Some(url.to_string()),
        without_port(url),
        with_default_port(url),
    ];
    let params = params_text(params);
    let verified = variants.iter().flatten().any(|u| {
        // ring's verify compares in constant time.
        hmac::verify(&key, signed_text(u, &params).as_bytes(), &tag).is_ok()
    });
    if verified {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// Splits `scheme://authority/rest` into its three parts.
fn split_url(url: &str) -> Option<(&str, &str, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some((scheme, &rest[..end], &rest[end..]))
}

/// The host part and the port of an authority (`[::1]:80` included).
fn port_of(authority: &str) -> Option<(&str, &str)> {
    let (host, port) = authority.rsplit_once(':')?;
    (!port.is_empty() && port.bytes().all(|b| b.is_ascii_digit())).then_some((host, port))
}

fn without_port(url: &str) -> Option<String> {
    let (scheme, authority, rest) = split_url(url)?;
    let (host, _port) = port_of(authority)?;
    Some(format!("{scheme}://{host}{rest}"))
}

fn with_default_port(url: &str) -> Option<String> {
    let (scheme, authority, rest) = split_url(url)?;
    if port_of(authority).is_some() {
        return None;
    }
    let port = match scheme.to_ascii_lowercase().as_str() {
        "https" => 443,
        "http" => 80,
        _ => return None,
    };
    Some(format!("{scheme}://{authority}:{port}{rest}"))
}
