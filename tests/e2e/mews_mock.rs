//! A local server that speaks the Mews Connector API's documented wire format
//! (../shared/docs/MEWS.md) and checks what it receives: tokens in the JSON body,
//! exact-case paths, `Limitation.Count` within 1..=1000, cursor paging.
#![allow(dead_code)]

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

pub const CLIENT_TOKEN: &str = "client-token-SECRET-1";
pub const ACCESS_TOKEN: &str = "access-token-SECRET-2";

#[derive(Default)]
pub struct MockState {
    /// Customer id -> the customer's JSON.
    pub customers: BTreeMap<String, Value>,
    /// Reservation id -> its JSON (with AccountId / AccountType).
    pub reservations: BTreeMap<String, Value>,
    /// Answers to give before the real one: (status, Retry-After).
    pub failures: VecDeque<(u16, Option<u64>)>,
    /// Every request received: (path, body).
    pub requests: Vec<(String, Value)>,
    /// Wait this long before answering (a slow PMS).
    pub delay: Duration,
}

pub type Shared = Arc<Mutex<MockState>>;

pub struct MockMews {
    pub addr: SocketAddr,
    pub state: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for MockMews {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl MockMews {
    pub async fn start(state: MockState) -> MockMews {
        let state: Shared = Arc::new(Mutex::new(state));
        let app = Router::new()
            .route("/api/connector/v1/customers/getAll", post(customers))
            .route(
                "/api/connector/v1/reservations/getAll/2023-06-06",
                post(reservations),
            )
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        MockMews { addr, state, task }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn settings(&self) -> sentlog::pms::mews::MewsSettings {
        toml::from_str(&format!(
            "base_url = {:?}\nclient_token = {CLIENT_TOKEN:?}\naccess_token = {ACCESS_TOKEN:?}\nbackoff_ms = 10\n",
            self.base_url()
        ))
        .unwrap()
    }

    pub fn requests(&self) -> Vec<(String, Value)> {
        self.state.lock().unwrap().requests.clone()
    }
}

pub fn customer(
    id: &str,
    first: &str,
    last: &str,
    phone: Option<&str>,
    email: Option<&str>,
) -> Value {
    json!({
        "Id": id,
        "FirstName": first,
        "LastName": last,
        "Phone": phone,
        "Email": email,
        "HasOtaEmail": false,
        "IsActive": true,
        "MergeTargetId": null,
        "Number": "1",
        "UpdatedUtc": "2026-11-01T10:00:00Z"
    })
}

fn refuse(status: StatusCode, message: &str) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert("Request-Id", HeaderValue::from_static("req-mock"));
    (
        status,
        headers,
        Json(json!({ "Message": message, "RequestId": "req-mock" })),
    )
        .into_response()
}

/// Common checks and scripted failures; Ok(count, cursor) to answer for real.
async fn admit(
    state: &Shared,
    path: &str,
    body: &Value,
) -> Result<(usize, Option<String>), Response> {
    let (failure, delay) = {
        let mut s = state.lock().unwrap();
        s.requests.push((path.to_string(), body.clone()));
        (s.failures.pop_front(), s.delay)
    };
    tokio::time::sleep(delay).await;
    if body.get("ClientToken").and_then(Value::as_str) != Some(CLIENT_TOKEN)
        || body.get("AccessToken").and_then(Value::as_str) != Some(ACCESS_TOKEN)
        || body
            .get("Client")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
    {
        return Err(refuse(
            StatusCode::UNAUTHORIZED,
            "Invalid ClientToken or AccessToken.",
        ));
    }
    let count = body
        .pointer("/Limitation/Count")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    if !(1..=1000).contains(&count) {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "Limitation.Count must be within 1..1000.",
        ));
    }
    if let Some((status, retry_after)) = failure {
        let mut headers = HeaderMap::new();
        headers.insert("Request-Id", HeaderValue::from_static("req-mock"));
        if let Some(secs) = retry_after {
            headers.insert(
                "Retry-After",
                HeaderValue::from_str(&secs.to_string()).unwrap(),
            );
        }
        let status = StatusCode::from_u16(status).unwrap();
        return Err((
            status,
            headers,
            Json(json!({ "Message": "scripted failure" })),
        )
            .into_response());
    }
    let cursor = body
        .pointer("/Limitation/Cursor")
        .and_then(Value::as_str)
        .map(String::from);
    Ok((count as usize, cursor))
}

/// One page of `items` (sorted by id) after `cursor`, with the Mews cursor.
fn page(items: Vec<(String, Value)>, count: usize, cursor: Option<String>, key: &str) -> Response {
    let rest: Vec<(String, Value)> = items
        .into_iter()
        .filter(|(id, _)| cursor.as_ref().is_none_or(|c| id > c))
        .take(count)
        .collect();
    let next = rest.last().map(|(id, _)| id.clone());
    let values: Vec<Value> = rest.into_iter().map(|(_, v)| v).collect();
    let mut headers = HeaderMap::new();
    headers.insert("Request-Id", HeaderValue::from_static("req-mock"));
    (
        StatusCode::OK,
        headers,
        Json(json!({ key: values, "Cursor": next })),
    )
        .into_response()
}

fn ids(body: &Value, key: &str) -> Vec<String> {
    body.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

async fn customers(State(state): State<Shared>, Json(body): Json<Value>) -> Response {
    let (count, cursor) = match admit(&state, "customers/getAll", &body).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if body.pointer("/Extent/Customers") != Some(&json!(true)) {
        return refuse(StatusCode::BAD_REQUEST, "Extent is required.");
    }
    let wanted = ids(&body, "CustomerIds");
    if wanted.len() > 1000 {
        return refuse(StatusCode::BAD_REQUEST, "Too many CustomerIds.");
    }
    let items: Vec<(String, Value)> = {
        let s = state.lock().unwrap();
        s.customers
            .iter()
            .filter(|(id, _)| wanted.contains(id))
            .map(|(id, v)| (id.clone(), v.clone()))
            .collect()
    };
    page(items, count, cursor, "Customers")
}

async fn reservations(State(state): State<Shared>, Json(body): Json<Value>) -> Response {
    let (count, cursor) = match admit(&state, "reservations/getAll/2023-06-06", &body).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let wanted = ids(&body, "ReservationIds");
    let items: Vec<(String, Value)> = {
        let s = state.lock().unwrap();
        s.reservations
            .iter()
            .filter(|(id, _)| wanted.contains(id))
            .map(|(id, v)| (id.clone(), v.clone()))
            .collect()
    };
    page(items, count, cursor, "Reservations")
}
