//! The Mews Connector API as a PMS directory (facts: ../shared/docs/MEWS.md).
//!
//! Every call is `POST {base}/api/connector/v1/{resource}/{action}` with the tokens in
//! the JSON body. Customers come from `customers/getAll` by id (merged customers are
//! followed to their target); a message that names only a reservation finds its guest
//! through `reservations/getAll/2023-06-06` (`AccountId` when `AccountType` is
//! `Customer`). Lists are cursor-paged. 408/409/429/5xx and network errors are retried
//! with exponential back-off and jitter (honouring `Retry-After`), 408 with a smaller
//! page; 400/401/403 are not retried. Tokens never reach a log line.
use std::collections::{HashMap, HashSet};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

use super::{DirectoryGuest, GuestKey, PmsDirectory, PmsError};

/// A hotel's Mews connection.
#[derive(Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MewsSettings {
    /// `https://api.mews.com` (production) or `https://api.mews-demo.com` (demo).
    pub base_url: String,
    pub client_token: String,
    pub access_token: String,
    /// Name and version of the calling application.
    #[serde(default = "default_client")]
    pub client: String,
    /// Items per page (`Limitation.Count`), 1..=1000.
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// Attempts per request before the hotel's error is counted for this pass.
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
    /// First back-off delay; doubled on each retry, with jitter.
    #[serde(default = "default_backoff_ms")]
    pub backoff_ms: u64,
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

impl std::fmt::Debug for MewsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MewsSettings")
            .field("base_url", &self.base_url)
            .field("client", &self.client)
            .field("page_size", &self.page_size)
            .finish_non_exhaustive()
    }
}

fn default_client() -> String {
    format!("sentlog {}", env!("CARGO_PKG_VERSION"))
}
fn default_page_size() -> u32 {
    1000
}
fn default_attempts() -> u32 {
    5
}
fn default_backoff_ms() -> u64 {
    250
}
fn default_timeout_ms() -> u64 {
    30_000
}

/// Longest a `Retry-After` is honoured before the pass gives up on the hotel.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// Ids per request (the API's limit for `CustomerIds` and `ReservationIds`).
const MAX_IDS: usize = 1000;
/// Merge chains longer than this are cut (a loop in the PMS data).
const MAX_MERGE_HOPS: usize = 5;

pub struct Mews {
    settings: MewsSettings,
    http: reqwest::Client,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Customer {
    id: String,
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    #[serde(default)]
    has_ota_email: bool,
    merge_target_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Reservation {
    id: String,
    account_id: Option<String>,
    account_type: Option<String>,
}

impl Mews {
    pub fn new(settings: MewsSettings) -> Result<Self, String> {
        if !(1..=1000).contains(&settings.page_size) {
            return Err("page_size must be within 1..=1000 (Mews Limitation.Count)".into());
        }
        if !(settings.base_url.starts_with("https://") || settings.base_url.starts_with("http://"))
        {
            return Err(
                "base_url must start with https:// (or http:// for a local test server)".into(),
            );
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(settings.timeout_ms))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Mews { settings, http })
    }

    fn url(&self, operation: &str) -> String {
        format!(
            "{}/api/connector/v1/{operation}",
            self.settings.base_url.trim_end_matches('/')
        )
    }

    /// One POST with retries. `count` is the page size, halved on 408.
    async fn call(
        &self,
        operation: &str,
        body: &Value,
        count: &mut u32,
    ) -> Result<Value, PmsError> {
        let mut delay = Duration::from_millis(self.settings.backoff_ms);
        let mut last_error = String::new();
        for attempt in 1..=self.settings.max_attempts.max(1) {
            let mut payload = body.clone();
            payload["ClientToken"] = json!(self.settings.client_token);
            payload["AccessToken"] = json!(self.settings.access_token);
            payload["Client"] = json!(self.settings.client);
            if let Some(limitation) = payload.get_mut("Limitation") {
                limitation["Count"] = json!(*count);
            }
            let response = self
                .http
                .post(self.url(operation))
                .json(&payload)
                .send()
                .await;
            let response = match response {
                Ok(r) => r,
                Err(e) => {
                    last_error = format!("{operation}: {}", without_url(&e));
                    tracing::warn!(operation, attempt, error = %last_error, "Mews request failed");
                    tokio::time::sleep(jittered(delay)).await;
                    delay *= 2;
                    continue;
                }
            };
            let status = response.status().as_u16();
            let request_id = response
                .headers()
                .get("Request-Id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let text = response.text().await.unwrap_or_default();
            tracing::debug!(operation, status, request_id, attempt, "Mews answered");
            match status {
                200 => {
                    return serde_json::from_str(&text)
                        .map_err(|e| PmsError::Protocol(format!("{operation}: {e}")));
                }
                401 => {
                    tracing::warn!(operation, request_id, "Mews refused the tokens");
                    return Err(PmsError::Unauthorized(status));
                }
                400 | 403 => {
                    let message = error_message(&text);
                    tracing::warn!(
                        operation,
                        status,
                        request_id,
                        message,
                        "Mews refused the request"
                    );
                    return Err(PmsError::Refused { status, message });
                }
                408 => {
                    *count = (*count / 2).max(1);
                    last_error = format!("{operation}: request too heavy (408)");
                }
                409 | 429 | 500..=599 => {
                    last_error = format!("{operation}: HTTP {status}");
                }
                other => {
                    return Err(PmsError::Protocol(format!("{operation}: HTTP {other}")));
                }
            }
            tracing::warn!(
                operation,
                status,
                request_id,
                attempt,
                "Mews busy; retrying"
            );
            if attempt == self.settings.max_attempts {
                break;
            }
            let wait = match retry_after {
                Some(after) if status == 429 => after.min(MAX_RETRY_AFTER),
                _ => jittered(delay),
            };
            tokio::time::sleep(wait).await;
            delay *= 2;
        }
        Err(PmsError::Unavailable(last_error))
    }

    /// Every item of a cursor-paged list operation.
    async fn all_pages<T: serde::de::DeserializeOwned>(
        &self,
        operation: &str,
        mut body: Value,
        items_key: &str,
    ) -> Result<Vec<T>, PmsError> {
        let mut out = Vec::new();
        let mut count = self.settings.page_size;
        let mut cursor: Option<String> = None;
        loop {
            body["Limitation"] = json!({ "Count": count, "Cursor": cursor });
            let page = self.call(operation, &body, &mut count).await?;
            let items: Vec<T> =
                serde_json::from_value(page.get(items_key).cloned().unwrap_or(json!([])))
                    .map_err(|e| PmsError::Protocol(format!("{operation}: {items_key}: {e}")))?;
            let got = items.len();
            out.extend(items);
            cursor = page.get("Cursor").and_then(Value::as_str).map(String::from);
            if cursor.is_none() || got < count as usize {
                return Ok(out);
            }
        }
    }

    async fn customers(&self, ids: &[String]) -> Result<Vec<Customer>, PmsError> {
        let mut out = Vec::new();
        for chunk in ids.chunks(MAX_IDS) {
            let body = json!({
                "CustomerIds": chunk,
                "Extent": { "Customers": true, "Addresses": false },
            });
            out.extend(
                self.all_pages::<Customer>("customers/getAll", body, "Customers")
                    .await?,
            );
        }
        Ok(out)
    }

    /// Customers by id, with merged customers replaced by the one they were merged into.
    async fn customers_followed(
        &self,
        ids: &[String],
    ) -> Result<HashMap<String, Customer>, PmsError> {
        let mut found: HashMap<String, Customer> = HashMap::new();
        let mut wanted: Vec<String> = ids.to_vec();
        let mut seen: HashSet<String> = HashSet::new();
        for _ in 0..=MAX_MERGE_HOPS {
            wanted.retain(|id| seen.insert(id.clone()));
            if wanted.is_empty() {
                break;
            }
            let batch = self.customers(&wanted).await?;
            wanted = batch
                .iter()
                .filter_map(|c| c.merge_target_id.clone())
                .collect();
            for c in batch {
                found.insert(c.id.clone(), c);
            }
        }
        let resolve = |id: &str| -> Option<Customer> {
            let mut current = found.get(id)?;
            for _ in 0..MAX_MERGE_HOPS {
                match current
                    .merge_target_id
                    .as_deref()
                    .and_then(|t| found.get(t))
                {
                    Some(target) => current = target,
                    None => break,
                }
            }
            Some(current.clone())
        };
        Ok(ids
            .iter()
            .filter_map(|id| resolve(id).map(|c| (id.clone(), c)))
            .collect())
    }

    /// Reservation id -> the customer who holds it.
    async fn reservation_owners(
        &self,
        ids: &[String],
    ) -> Result<HashMap<String, String>, PmsError> {
        let mut owners = HashMap::new();
        for chunk in ids.chunks(MAX_IDS) {
            let body = json!({ "ReservationIds": chunk });
            let reservations: Vec<Reservation> = self
                .all_pages("reservations/getAll/2023-06-06", body, "Reservations")
                .await?;
            for r in reservations {
                if r.account_type.as_deref() == Some("Customer")
                    && let Some(account) = r.account_id
                {
                    owners.insert(r.id, account);
                }
            }
        }
        Ok(owners)
    }
}

fn to_directory(c: &Customer) -> DirectoryGuest {
    let name = [c.first_name.as_deref(), c.last_name.as_deref()]
        .into_iter()
        .flatten()
        .filter(|s| !s.trim().is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    DirectoryGuest {
        full_name: (!name.is_empty()).then_some(name),
        phone: c.phone.clone().filter(|p| !p.trim().is_empty()),
        email: c.email.clone().filter(|e| !e.trim().is_empty()),
        email_is_ota_relay: c.has_ota_email,
    }
}

/// The `Message` of a Mews error body, or the start of the body.
fn error_message(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v.get("Message").and_then(Value::as_str).map(String::from))
        .unwrap_or_else(|| body.chars().take(200).collect())
}

/// reqwest errors can carry the URL; ours has no secret in it, but keep messages short.
fn without_url(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    if let Some(url) = e.url() {
        text = text.replace(url.as_str(), url.path());
    }
    text
}

fn jittered(base: Duration) -> Duration {
    let ms = base.as_millis() as u64;
    Duration::from_millis(ms / 2 + rand::random_range(0..=ms.max(1)))
}

#[async_trait::async_trait]
impl PmsDirectory for Mews {
    async fn find_guests(
        &self,
        _hotel_id: &str,
        keys: &[GuestKey],
    ) -> Result<Vec<Option<DirectoryGuest>>, PmsError> {
        let mut guest_ids: Vec<String> =
            keys.iter().filter_map(|k| k.pms_guest_id.clone()).collect();
        guest_ids.sort();
        guest_ids.dedup();
        let mut customers = self.customers_followed(&guest_ids).await?;

        // Keys whose guest was not found by id fall back to their reservation.
        let mut reservation_ids: Vec<String> = keys
            .iter()
            .filter(|k| {
                k.pms_guest_id
                    .as_ref()
                    .is_none_or(|g| !customers.contains_key(g))
            })
            .filter_map(|k| k.pms_reservation_id.clone())
            .collect();
        reservation_ids.sort();
        reservation_ids.dedup();
        let owners = if reservation_ids.is_empty() {
            HashMap::new()
        } else {
            self.reservation_owners(&reservation_ids).await?
        };
        let mut owner_ids: Vec<String> = owners
            .values()
            .filter(|id| !customers.contains_key(*id))
            .cloned()
            .collect();
        owner_ids.sort();
        owner_ids.dedup();
        if !owner_ids.is_empty() {
            customers.extend(self.customers_followed(&owner_ids).await?);
        }

        Ok(keys
            .iter()
            .map(|k| {
                k.pms_guest_id
                    .as_ref()
                    .and_then(|g| customers.get(g))
                    .or_else(|| {
                        k.pms_reservation_id
                            .as_ref()
                            .and_then(|r| owners.get(r))
                            .and_then(|owner| customers.get(owner))
                    })
                    .map(to_directory)
            })
            .collect())
    }
}
