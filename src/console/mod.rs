//! The web console: the "sent messages" page, a message's history, a campaign's
//! funnel and the CSM flag queue, as server-rendered HTML. Pages call the same use
//! cases as the gRPC handlers (`crate::service`); this layer parses forms, renders
//! HTML and maps errors to pages. No JavaScript: every page is plain forms and links.
mod arrivals;
mod campaigns;
mod error;
mod flags;
mod form;
mod layout;
mod messages;
mod signin;
mod suppressions;
mod visitor;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::domain::access::TokenEntry;
use crate::service::AppState;

pub use error::PageError;

/// What every console page shares.
pub struct Console {
    pub app: Arc<AppState>,
    /// The configured access tokens (hashes); empty: sign-in is off (loopback only).
    pub tokens: Vec<TokenEntry>,
}

pub fn router(console: Arc<Console>) -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to("/messages") }))
        .route("/signin", get(signin::signin_page).post(signin::signin))
        .route("/signout", post(signin::signout))
        .route("/messages", get(messages::list_page))
        .route("/messages.csv", get(messages::csv))
        .route("/messages/{id}", get(messages::detail_page))
        .route("/campaigns/{hotel_id}/{campaign_id}", get(campaigns::page))
        .route("/arrivals", get(arrivals::page))
        .route("/flags", get(flags::queue_page))
        .route("/flags/{id}", post(flags::update))
        .route("/reconcile", post(flags::run_now))
        .route(
            "/suppressions",
            get(suppressions::page).post(suppressions::add),
        )
        .route("/suppressions/{id}/lift", post(suppressions::lift))
        .fallback(|| async { PageError::NotFound("no such page".into()) })
        .layer(axum::middleware::map_response(security_headers))
        .with_state(console)
}

/// No script, no framing, no sniffing: the pages need none of them.
async fn security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// An HTML page, with the session cookie set when the visit opened one.
pub fn html(
    cookie: Option<String>,
    status: axum::http::StatusCode,
    page: maud::Markup,
) -> Response {
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page.into_string(),
    )
        .into_response();
    if let Some(c) = cookie
        && let Ok(v) = HeaderValue::from_str(&c)
    {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}
