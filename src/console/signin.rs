//! Signing in and out of the console. The sign-in form is protected against login
//! CSRF (a pre-sign-in session whose token the form carries, and the browser's word
//! that the post came from this console), and sends the browser back only to a path
//! of this console (`session::safe_return_path`).
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use maud::html;

use super::form::Pairs;
use super::visitor::{Visitor, cookie_in, safe_next, set_cookie};
use super::{Console, PageError, html, layout};
use crate::domain::access::{Role, identify, token_hash};
use crate::domain::session::{DEFAULT_RETURN_PATH, SESSION_LIFETIME, Session};

/// A sign-in form is posted only from this console's own page (no login CSRF): the
/// browser must not say the post came from another site (`Sec-Fetch-Site`), and an
/// `Origin` it sends must be this server's.
fn posted_from_this_console(headers: &HeaderMap) -> bool {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let site_ok = match text("sec-fetch-site") {
        None | Some("same-origin") | Some("none") => true,
        Some(_) => false,
    };
    let origin_ok = match (text("origin"), text("host")) {
        (None, _) => true,
        (Some(origin), Some(host)) => origin
            .split_once("://")
            .is_some_and(|(scheme, rest)| matches!(scheme, "http" | "https") && rest == host),
        (Some(_), None) => false,
    };
    site_ok && origin_ok
}

/// The pre-sign-in session of this browser (kept when still valid), whose CSRF token
/// the sign-in form carries; and the cookie to set when it is new.
fn pre_session(headers: &HeaderMap, console: &Console) -> (Session, Option<String>) {
    let keys = &console.app.page_tokens;
    let now = Utc::now();
    match cookie_in(headers).and_then(|v| Session::decode(v, keys, now)) {
        Some(s) => (s, None),
        None => {
            let s = Session::new(None, now);
            let cookie = set_cookie(&s.encode(keys), SESSION_LIFETIME.num_seconds());
            (s, Some(cookie))
        }
    }
}

fn signin_form(next: &str, csrf: &str, error: Option<&str>) -> maud::Markup {
    layout::bare(
        "Sign in",
        html! {
            h1 { "Sign in to sentlog" }
            @if let Some(e) = error { p.error role="alert" { (e) } }
            form method="post" action="/signin" {
                input type="hidden" name="next" value=(next);
                input type="hidden" name="csrf" value=(csrf);
                label { "Access token " input type="password" name="token" autocomplete="off" required autofocus; }
                " "
                button type="submit" { "Sign in" }
            }
            p.hint { "Use an agent, CSM or admin token (see " code { "sentlog token new" } "). The console keeps only a signed session cookie, never the token." }
        },
    )
}

/// The sign-in form again, with `why`, on this browser's pre-sign-in session.
fn signin_answer(
    headers: &HeaderMap,
    console: &Console,
    status: StatusCode,
    next: &str,
    why: Option<&str>,
) -> Response {
    let (session, cookie) = pre_session(headers, console);
    let csrf = session.csrf_token(&console.app.page_tokens);
    html(cookie, status, signin_form(next, &csrf, why))
}

pub async fn signin_page(
    State(console): State<Arc<Console>>,
    headers: HeaderMap,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Response {
    if console.tokens.is_empty() {
        return axum::response::Redirect::to(DEFAULT_RETURN_PATH).into_response();
    }
    let q = Pairs::parse(query.as_deref().unwrap_or(""));
    signin_answer(
        &headers,
        &console,
        StatusCode::OK,
        safe_next(q.get("next")),
        None,
    )
}

pub async fn signin(
    State(console): State<Arc<Console>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = Pairs::parse_bytes(&body);
    let next = safe_next(form.get("next")).to_string();
    if console.tokens.is_empty() {
        return axum::response::Redirect::to(&next).into_response();
    }
    let refuse = |status, why: &str| signin_answer(&headers, &console, status, &next, Some(why));
    let keys = &console.app.page_tokens;
    let form_is_ours = posted_from_this_console(&headers)
        && cookie_in(&headers)
            .and_then(|v| Session::decode(v, keys, Utc::now()))
            .is_some_and(|s| s.csrf_matches(keys, form.get("csrf")));
    if !form_is_ours {
        tracing::info!("console sign-in refused: the form did not come from this console");
        return refuse(
            StatusCode::FORBIDDEN,
            "This sign-in form is stale or did not come from this console; sign in again here.",
        );
    }
    let token = form.get("token").trim();
    let Some(caller) = identify(&console.tokens, token) else {
        tracing::info!("console sign-in refused: unknown token");
        return refuse(
            StatusCode::UNAUTHORIZED,
            "This token is not one this server knows.",
        );
    };
    if caller.role == Role::Ingest {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "This token is for services (role ingest); the console needs an agent, csm or admin token.",
        );
    }
    // A new session (new nonce, so a new CSRF token) for the signed-in visitor.
    let session = Session::new(Some(token_hash(token)), Utc::now());
    let cookie = set_cookie(&session.encode(keys), SESSION_LIFETIME.num_seconds());
    tracing::info!(name = %caller.name, role = caller.role.name(), "console sign-in");
    let mut response = axum::response::Redirect::to(&next).into_response();
    if let Ok(v) = cookie.parse() {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

pub async fn signout(
    State(console): State<Arc<Console>>,
    visitor: Visitor,
    body: Bytes,
) -> Result<Response, PageError> {
    visitor.check_csrf(&Pairs::parse_bytes(&body), &console)?;
    let mut response = axum::response::Redirect::to("/signin").into_response();
    if let Ok(v) = set_cookie("", 0).parse() {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(response)
}
