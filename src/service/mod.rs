//! The use cases both front ends share — the gRPC API and the web console. Each takes
//! the caller and validated input, applies the caller's hotel scope, and runs the
//! store, so neither front end holds a query or a rule of its own.
pub mod arrivals;
pub mod csv;
pub mod feed;
pub mod flags;
pub mod guests;
pub mod jobs;
pub mod messages;
pub mod metrics;
pub mod paging;
pub mod recategorize;
pub mod recipients;
pub mod recording;
pub mod retention;
pub mod runs;
pub mod state;
pub mod statuses;
pub mod streams;
pub mod suppressions;
pub mod webhooks;

pub use state::AppState;

use crate::domain::FieldError;
use crate::domain::access::{OutOfScope, ScopeError};
use crate::reconcile::ReconcileError;
use crate::store::StoreError;

/// Why a use case refused or failed; each front end maps it to its own answer in one
/// exhaustive match (gRPC status, console page). Store failures are turned into these
/// kinds here, and logged here, once: a front end never sees the store's own errors.
#[derive(Debug)]
pub enum ServiceError {
    /// Bad input, naming the field.
    Invalid(FieldError),
    /// The caller named a hotel it does not serve.
    OutOfScope(OutOfScope),
    /// No such object, or one the caller may not see ("message 0190... not found").
    NotFound(String),
    /// The request conflicts with stored state or with what is happening now (a flag
    /// changed meanwhile, a pass already running); the text says how.
    Conflict(String),
    /// A limit on what one caller (or the server) may hold open was reached.
    Exhausted(String),
    /// Retry later: the database cannot be reached, or the server is stopping (the text
    /// says which, for the caller).
    Unavailable(String),
    /// Stored data this version cannot read (an unknown code): a fault of ours.
    Corrupt,
    /// Any other fault of ours.
    Internal,
}

impl ServiceError {
    /// Maps a store failure, logging what the caller is not told; `what` names the
    /// object for NOT_FOUND.
    pub fn store(what: impl Into<String>) -> impl FnOnce(StoreError) -> ServiceError {
        let what = what.into();
        move |error| match error {
            StoreError::NotFound => ServiceError::NotFound(format!("{what} not found")),
            StoreError::Conflict(why) => ServiceError::Conflict(why),
            StoreError::Exhausted(why) => ServiceError::Exhausted(why),
            StoreError::Unavailable(detail) => {
                tracing::warn!(%detail, "database unavailable");
                ServiceError::Unavailable("the database is unavailable; retry shortly".into())
            }
            StoreError::Corrupt(detail) => {
                tracing::error!(%detail, "stored data this version cannot read");
                ServiceError::Corrupt
            }
            StoreError::Database(e) => {
                tracing::error!(error = %e, "database error");
                ServiceError::Internal
            }
            StoreError::Migration(e) => {
                tracing::error!(error = %e, "migration error");
                ServiceError::Internal
            }
        }
    }
}

/// Most items in one batch call (RecordMessages, UpdateStatuses, UpsertGuests,
/// CheckRecipients).
pub const MAX_BATCH: usize = 1000;

/// A batch longer than the contract allows is refused whole, naming the field.
pub fn check_batch(field: &str, len: usize) -> Result<(), ServiceError> {
    match len > MAX_BATCH {
        true => Err(ServiceError::Exhausted(format!(
            "{field}: {len} items; the limit is {MAX_BATCH} a call, split the batch"
        ))),
        false => Ok(()),
    }
}

/// One item of a batch: done, or refused with a reason naming the field.
pub type ItemResult<T> = Result<T, String>;

impl From<FieldError> for ServiceError {
    fn from(e: FieldError) -> Self {
        ServiceError::Invalid(e)
    }
}

impl From<OutOfScope> for ServiceError {
    fn from(e: OutOfScope) -> Self {
        ServiceError::OutOfScope(e)
    }
}

impl From<ScopeError> for ServiceError {
    fn from(e: ScopeError) -> Self {
        match e {
            ScopeError::Invalid(e) => ServiceError::Invalid(e),
            ScopeError::OutOfScope(e) => ServiceError::OutOfScope(e),
        }
    }
}

impl From<ReconcileError> for ServiceError {
    fn from(e: ReconcileError) -> Self {
        match e {
            ReconcileError::AlreadyRunning => ServiceError::Conflict(e.to_string()),
            ReconcileError::Store(error) => ServiceError::store("run")(error),
        }
    }
}

#[cfg(test)]
mod tests;
