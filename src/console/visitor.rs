//! Who is looking at a page: the session cookie read back into a caller, and the CSRF
//! check of every form post. Signing in and out is `signin.rs`.
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use chrono::Utc;

use super::form::Pairs;
use super::{Console, PageError, html};
use crate::domain::access::{Action, Caller, Role, caller_for_hash};
use crate::domain::session::{SESSION_LIFETIME, Session, safe_return_path};

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

pub(super) fn set_cookie(value: &str, max_age: i64) -> String {
    format!("{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}")
}

pub(super) fn cookie_in(headers: &HeaderMap) -> Option<&str> {
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
