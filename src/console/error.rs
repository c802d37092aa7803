//! One mapping from the use cases' errors to console pages, with the same policy as
//! the gRPC layer: bad input names the field (400), another hotel's object is simply
//! not found (404), a conflict says why (409), database trouble asks to retry (503),
//! anything else is logged and shown without the database's own words (500).
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

use super::layout;
use crate::service::ServiceError;

#[derive(Debug)]
pub enum PageError {
    /// Not signed in (or the session expired): to the sign-in page, then back.
    SignIn {
        next: String,
    },
    Invalid(String),
    Forbidden(String),
    NotFound(String),
    Conflict(String),
    /// Too many downloads open for this token or this server.
    TooMany(String),
    Unavailable,
    Internal,
}

impl From<ServiceError> for PageError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Invalid(e) => PageError::Invalid(e.to_string()),
            ServiceError::OutOfScope(e) => PageError::Forbidden(format!(
                "{}: hotel {:?} is not one you serve",
                e.field, e.hotel_id
            )),
            ServiceError::NotFound(what) => PageError::NotFound(what),
            ServiceError::Conflict(why) => PageError::Conflict(why),
            ServiceError::Exhausted(why) => PageError::TooMany(why),
            ServiceError::Unavailable(_) => PageError::Unavailable,
            ServiceError::Corrupt | ServiceError::Internal => PageError::Internal,
        }
    }
}

impl PageError {
    /// What a list page shows: its rows, or the error it explains in place (bad
    /// filter input, a hotel the visitor does not serve) with the page's status; any
    /// other error is the whole answer.
    pub fn shown_in_page<T>(
        found: Result<T, ServiceError>,
    ) -> Result<(Option<T>, Option<PageError>, StatusCode), PageError> {
        match found {
            Ok(t) => Ok((Some(t), None, StatusCode::OK)),
            Err(e) => match PageError::from(e) {
                e @ (PageError::Invalid(_) | PageError::Forbidden(_)) => {
                    let status = e.status();
                    Ok((None, Some(e), status))
                }
                e => Err(e),
            },
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            PageError::SignIn { .. } => StatusCode::SEE_OTHER,
            PageError::Invalid(_) => StatusCode::BAD_REQUEST,
            PageError::Forbidden(_) => StatusCode::FORBIDDEN,
            PageError::NotFound(_) => StatusCode::NOT_FOUND,
            PageError::Conflict(_) => StatusCode::CONFLICT,
            PageError::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
            PageError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            PageError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn message(&self) -> String {
        match self {
            PageError::SignIn { .. } => "please sign in".into(),
            PageError::Invalid(m)
            | PageError::Forbidden(m)
            | PageError::NotFound(m)
            | PageError::Conflict(m)
            | PageError::TooMany(m) => m.clone(),
            PageError::Unavailable => "the database is unavailable; retry shortly".into(),
            PageError::Internal => "internal error; it has been logged".into(),
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if let PageError::SignIn { next } = &self {
            let to = format!(
                "/signin?{}",
                form_urlencoded::Serializer::new(String::new())
                    .append_pair("next", next)
                    .finish()
            );
            return Redirect::to(&to).into_response();
        }
        let status = self.status();
        let page = layout::bare(
            status.canonical_reason().unwrap_or("Error"),
            html! {
                h1 { (status.as_u16()) " " (status.canonical_reason().unwrap_or("")) }
                p.error role="alert" { (self.message()) }
                p { a href="/messages" { "Back to sent messages" } }
            },
        );
        super::html(None, status, page)
    }
}
