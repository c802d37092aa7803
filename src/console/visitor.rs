//! Who is looking at a page: the session cookie read back into a caller, sign-in and
//! sign-out, and the CSRF check of every form post.
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use maud::html;

use super::form::Pairs;
use super::{Console, PageError, html, layout};
use crate::domain::access::{Action, Caller, Role, caller_for_hash, identify, token_hash};
use crate::domain::session::{DEFAULT_RETURN_PATH, SESSION_LIFETIME, Session, safe_return_path};

pub const COOKIE: &str = "sentlog_session";

/// A visitor with a valid session.
pub struct Visitor {
    pub caller: Caller,
    pub session: Session,
    /// Set-Cookie to send: a session opened by this visit (sign-in off).
    pub new_cookie: Option<String>,
    /// The server has no tokens: everyone on loopback may do everything.
    pub sign_in_off: bool,
    pub csrf: String,
}

impl Visitor {
    /// Refuses a page or form whose action this caller's role may not do.
    pub fn require(&self, action: Action) -> Result<(), PageError> {
        match self.caller.may(action) {
            true => Ok(()),
            false => Err(PageError::Forbidden(format!(
                "your token's role ({}) may not do this",
                self.caller.role.name()
            ))),
        }
    }

    /// Every state-changing form carries the session's CSRF token.
    pub fn check_csrf(&self, form: &Pairs, console: &Console) -> Result<(), PageError> {
        match self
            .session
            .csrf_matches(&console.app.page_tokens, form.get("csrf"))
        {
            true => Ok(()),
            false => Err(PageError::Forbidden(
                "this form is stale or did not come from this console; reload the page and try again"
                    .into(),
            )),
        }
    }

    /// Agents see masked phone numbers; CSMs and admins, who correct them, whole.
    pub fn shows_whole_phones(&self) -> bool {
        self.caller.role != Role::Agent
    }

    pub fn page(&self, status: StatusCode, markup: maud::Markup) -> Response {
        html(self.new_cookie.clone(), status, markup)
    }
}

fn set_cookie(value: &str, max_age: i64) -> String {
    format!("{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}")
}

fn cookie_in(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v)
}

impl FromRequestParts<Arc<Console>> for Visitor {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        console: &Arc<Console>,
    ) -> Result<Self, Self::Rejection> {
        let keys = &console.app.page_tokens;
        let now = Utc::now();
        let session = cookie_in(&parts.headers).and_then(|v| Session::decode(v, keys, now));
        let visitor = |caller, session: Session, new_cookie, sign_in_off| Visitor {
            csrf: session.csrf_token(keys),
            caller,
            session,
            new_cookie,
            sign_in_off,
        };
        if console.tokens.is_empty() {
            return Ok(match session {
                Some(s) if s.token_sha256.is_none() => visitor(Caller::anonymous(), s, None, true),
                _ => {
                    let s = Session::new(None, now);
                    let cookie = set_cookie(&s.encode(keys), SESSION_LIFETIME.num_seconds());
                    visitor(Caller::anonymous(), s, Some(cookie), true)
                }
            });
        }
        let signed_in = session.and_then(|s| {
            let caller = caller_for_hash(&console.tokens, s.token_sha256.as_ref()?)?;
            Some((caller, s))
        });
        match signed_in {
            Some((caller, s)) => Ok(visitor(caller, s, None, false)),
            None => Err(PageError::SignIn {
                next: parts
                    .uri
                    .path_and_query()
                    .map(|p| p.to_string())
                    .unwrap_or_default(),
            }),
        }
    }
}

/// Where to go after a form: a path of this console only (see the rule's doc).
pub fn safe_next(next: &str) -> &str {
    safe_return_path(next)
}

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
