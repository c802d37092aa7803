//! Who is looking at a page: the session cookie read back into a caller, sign-in and
//! sign-out, and the CSRF check of every form post.
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use maud::html;

use super::form::Pairs;
use super::{Console, PageError, html, layout};
use crate::domain::access::{Caller, Role, caller_for_hash, identify, token_hash};
use crate::domain::session::{SESSION_LIFETIME, Session};

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
    /// Refuses a page whose gRPC twin this caller's role may not call.
    pub fn require(&self, rpc: &str) -> Result<(), PageError> {
        match self.caller.may_call(rpc) {
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

fn cookie_value(parts: &Parts) -> Option<&str> {
    parts
        .headers
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
        let session = cookie_value(parts).and_then(|v| Session::decode(v, keys, now));
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

/// Only a path of this console: never another site (an open redirect).
pub fn safe_next(next: &str) -> &str {
    match next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') {
        true => next,
        false => "/messages",
    }
}

fn signin_form(next: &str, error: Option<&str>) -> maud::Markup {
    layout::bare(
        "Sign in",
        html! {
            h1 { "Sign in to sentlog" }
            @if let Some(e) = error { p.error role="alert" { (e) } }
            form method="post" action="/signin" {
                input type="hidden" name="next" value=(next);
                label { "Access token " input type="password" name="token" autocomplete="off" required autofocus; }
                " "
                button type="submit" { "Sign in" }
            }
            p.hint { "Use an agent, CSM or admin token (see " code { "sentlog token new" } "). The console keeps only a signed session cookie, never the token." }
        },
    )
}

pub async fn signin_page(
    State(console): State<Arc<Console>>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Response {
    if console.tokens.is_empty() {
        return axum::response::Redirect::to("/messages").into_response();
    }
    let q = Pairs::parse(query.as_deref().unwrap_or(""));
    html(
        None,
        StatusCode::OK,
        signin_form(safe_next(q.get("next")), None),
    )
}

pub async fn signin(State(console): State<Arc<Console>>, body: Bytes) -> Response {
    let form = Pairs::parse_bytes(&body);
    let next = safe_next(form.get("next")).to_string();
    if console.tokens.is_empty() {
        return axum::response::Redirect::to(&next).into_response();
    }
    let token = form.get("token").trim();
    let refuse = |why: &str| {
        html(
            None,
            StatusCode::UNAUTHORIZED,
            signin_form(&next, Some(why)),
        )
    };
    let Some(caller) = identify(&console.tokens, token) else {
        tracing::info!("console sign-in refused: unknown token");
        return refuse("This token is not one this server knows.");
    };
    if caller.role == Role::Ingest {
        return refuse(
            "This token is for services (role ingest); the console needs an agent, csm or admin token.",
        );
    }
    let session = Session::new(Some(token_hash(token)), Utc::now());
    let cookie = set_cookie(
        &session.encode(&console.app.page_tokens),
        SESSION_LIFETIME.num_seconds(),
    );
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
