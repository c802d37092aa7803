//! The providers' status webhooks over HTTP, on their own listener (`webhook_listen`):
//! `POST /webhooks/twilio`, `GET`/`POST /webhooks/whatsapp`, `POST /webhooks/sendgrid`.
//! Each handler finds the provider account, checks its signature over the raw body,
//! maps the payload (`domain::webhook`), makes one call into `service::webhooks`, and
//! answers the way providers expect: 2xx once stored, 4xx for a request that will
//! never be taken, 5xx only when the database is down, so the provider retries.
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::config::Webhooks;
use crate::domain::access::Caller;
use crate::domain::webhook::{
    self, Malformed, Provider, SignatureError, sendgrid, twilio, whatsapp,
};
use crate::service::webhooks::{self as service, Outcomes};
use crate::service::{AppState, ServiceError};

/// Bodies above this are refused (413) before they are read whole.
pub const MAX_BODY_BYTES: usize = 1 << 20;

pub struct WebhookFront {
    pub app: Arc<AppState>,
    pub config: Webhooks,
}

pub fn router(front: Arc<WebhookFront>) -> Router {
    Router::new()
        .route("/webhooks/twilio", post(twilio_status))
        .route(
            "/webhooks/whatsapp",
            get(whatsapp_handshake).post(whatsapp_status),
        )
        .route("/webhooks/sendgrid", post(sendgrid_events))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(front)
}

/// Why a request was not taken, with the answer it gets.
enum Refusal {
    Signature(SignatureError),
    UnknownAccount(String),
    Malformed(Malformed),
    Service(ServiceError),
}

impl Refusal {
    fn outcome(&self) -> &'static str {
        match self {
            Refusal::Signature(SignatureError::Missing) => "missing_signature",
            Refusal::Signature(SignatureError::Stale) => "stale_timestamp",
            Refusal::Signature(SignatureError::Mismatch) => "bad_signature",
            Refusal::UnknownAccount(_) => "unknown_account",
            Refusal::Malformed(_) => "malformed",
            Refusal::Service(ServiceError::Unavailable(_)) => "unavailable",
            Refusal::Service(ServiceError::Exhausted(_)) => "exhausted",
            Refusal::Service(_) => "failed",
        }
    }

    fn response(self) -> Response {
        let (code, reason) = match self {
            Refusal::Signature(e @ SignatureError::Missing) => {
                (StatusCode::UNAUTHORIZED, e.reason().to_string())
            }
            Refusal::Signature(e) => (StatusCode::FORBIDDEN, e.reason().to_string()),
            Refusal::UnknownAccount(why) => (StatusCode::FORBIDDEN, why),
            Refusal::Malformed(m) => (StatusCode::BAD_REQUEST, m.0),
            Refusal::Service(e) => match e {
                ServiceError::Unavailable(why) => (StatusCode::SERVICE_UNAVAILABLE, why),
                // The parking cap: the provider retries later, when there may be room.
                ServiceError::Exhausted(why) => (StatusCode::TOO_MANY_REQUESTS, why),
                ServiceError::Invalid(f) => (StatusCode::BAD_REQUEST, f.to_string()),
                ServiceError::OutOfScope(o) => (
                    StatusCode::FORBIDDEN,
                    format!("{} is not a hotel of this account", o.hotel_id),
                ),
                ServiceError::NotFound(why) | ServiceError::Conflict(why) => {
                    (StatusCode::CONFLICT, why)
                }
                ServiceError::Corrupt | ServiceError::Internal => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error; see the server log".to_string(),
                ),
            },
        };
        (
            code,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            reason,
        )
            .into_response()
    }
}

/// Counts the request and answers it: the outcomes as JSON, or the refusal's reason.
fn answer(provider: Provider, result: Result<Outcomes, Refusal>) -> Response {
    match result {
        Ok(outcomes) => {
            crate::service::metrics::record_webhook_request(provider.name(), "accepted");
            let body = serde_json::to_string(&outcomes).unwrap_or_default();
            ([(header::CONTENT_TYPE, "application/json")], body).into_response()
        }
        Err(refusal) => {
            let outcome = refusal.outcome();
            crate::service::metrics::record_webhook_request(provider.name(), outcome);
            if !matches!(refusal, Refusal::Service(_)) {
                // No body, no header values: they may hold personal data or secrets.
                tracing::info!(provider = provider.name(), outcome, "webhook refused");
            }
            refusal.response()
        }
    }
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

async fn ingest(
    front: &WebhookFront,
    caller: Caller,
    provider: Provider,
    mapped: webhook::Mapped,
) -> Result<Outcomes, Refusal> {
    service::ingest(&front.app, &caller, provider, mapped)
        .await
        .map_err(Refusal::Service)
}

/// The URL Twilio called: the configured public base (behind the hub's ingress), else
/// what this request says its host is; then the path and the query as received.
fn twilio_url(front: &WebhookFront, headers: &HeaderMap, query: Option<&str>) -> String {
    let base = match &front.config.public_base_url {
        Some(base) => base.clone(),
        None => format!(
            "http://{}",
            header_text(headers, header::HOST.as_str()).unwrap_or("localhost")
        ),
    };
    match query {
        Some(q) if !q.is_empty() => format!("{base}/webhooks/twilio?{q}"),
        _ => format!("{base}/webhooks/twilio"),
    }
}

async fn twilio_status(
    State(front): State<Arc<WebhookFront>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let provider = Provider::Twilio;
    let result = async {
        let params = twilio::decode_form(&body);
        let sid = twilio::account_sid(&params)
            .ok_or_else(|| Refusal::Malformed(Malformed("AccountSid is required".into())))?;
        let account = front
            .config
            .twilio
            .iter()
            .find(|a| a.account_sid == sid)
            .ok_or_else(|| {
                Refusal::UnknownAccount(format!(
                    "AccountSid {sid} is not configured here (webhooks.twilio)"
                ))
            })?;
        if let Some(token) = &account.auth_token {
            let url = twilio_url(&front, &headers, query.as_deref());
            let signature = header_text(&headers, "x-twilio-signature");
            twilio::verify(&url, &params, &token.0, signature).map_err(Refusal::Signature)?;
        }
        let mapped = twilio::map(&params, chrono::Utc::now()).map_err(Refusal::Malformed)?;
        let caller = service::caller(provider, &account.account_sid, &account.hotels);
        ingest(&front, caller, provider, mapped).await
    }
    .await;
    answer(provider, result)
}

/// Finds the account whose secret verifies the request; an account configured without
/// a secret (loopback only) takes what no signed account verified.
fn signed_account<A>(
    accounts: &[A],
    has_secret: impl Fn(&A) -> bool,
    verifies: impl Fn(&A) -> Result<(), SignatureError>,
) -> Result<&A, Refusal> {
    let mut refusal = None;
    for a in accounts.iter().filter(|a| has_secret(a)) {
        match verifies(a) {
            Ok(()) => return Ok(a),
            Err(e) => {
                refusal.get_or_insert(e);
            }
        }
    }
    if let Some(unsigned) = accounts.iter().find(|a| !has_secret(a)) {
        return Ok(unsigned);
    }
    Err(match refusal {
        Some(e) => Refusal::Signature(e),
        None => Refusal::UnknownAccount("no account of this provider is configured here".into()),
    })
}

async fn whatsapp_status(
    State(front): State<Arc<WebhookFront>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let provider = Provider::WhatsApp;
    let result = async {
        let signature = header_text(&headers, "x-hub-signature-256");
        let account = signed_account(
            &front.config.whatsapp,
            |a| a.app_secret.is_some(),
            |a| {
                let secret = a.app_secret.as_ref().map(|s| s.0.as_str()).unwrap_or("");
                whatsapp::verify(&body, secret, signature)
            },
        )?;
        let mapped = whatsapp::map(&body).map_err(Refusal::Malformed)?;
        let caller = service::caller(provider, &account.name, &account.hotels);
        ingest(&front, caller, provider, mapped).await
    }
    .await;
    answer(provider, result)
}

/// Meta's subscription handshake: echo `hub.challenge` for one of our verify tokens.
async fn whatsapp_handshake(
    State(front): State<Arc<WebhookFront>>,
    RawQuery(query): RawQuery,
) -> Response {
    let query: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect();
    let tokens: Vec<&str> = front
        .config
        .whatsapp
        .iter()
        .filter_map(|a| a.verify_token.as_ref().map(|t| t.0.as_str()))
        .collect();
    match whatsapp::handshake(&query, &tokens) {
        Some(challenge) => {
            crate::service::metrics::record_webhook_request("whatsapp", "handshake");
            (
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                challenge.to_string(),
            )
                .into_response()
        }
        None => {
            crate::service::metrics::record_webhook_request("whatsapp", "handshake_refused");
            (StatusCode::FORBIDDEN, "Forbidden").into_response()
        }
    }
}

async fn sendgrid_events(
    State(front): State<Arc<WebhookFront>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let provider = Provider::SendGrid;
    let result = async {
        let signature = header_text(&headers, "x-twilio-email-event-webhook-signature");
        let timestamp = header_text(&headers, "x-twilio-email-event-webhook-timestamp");
        let now = chrono::Utc::now();
        let account = signed_account(
            &front.config.sendgrid,
            |a| a.public_key.is_some(),
            |a| match &a.public_key {
                Some(key) => sendgrid::verify(&body, key, signature, timestamp, now),
                None => Err(SignatureError::Mismatch),
            },
        )?;
        let mapped = sendgrid::map(&body).map_err(Refusal::Malformed)?;
        let caller = service::caller(provider, &account.name, &account.hotels);
        ingest(&front, caller, provider, mapped).await
    }
    .await;
    answer(provider, result)
}
