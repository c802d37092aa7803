//! The use cases both front ends share — the gRPC API and the web console. Each takes
//! the caller and validated input, applies the caller's hotel scope, and runs the
//! store, so neither front end holds a query or a rule of its own.
pub mod flags;
pub mod messages;
pub mod paging;
pub mod runs;
pub mod streams;

use crate::domain::FieldError;
use crate::domain::access::{OutOfScope, ScopeError};
use crate::reconcile::ReconcileError;
use crate::store::StoreError;

/// Why a use case refused or failed; each front end maps it to its own answer.
#[derive(Debug)]
pub enum ServiceError {
    /// Bad input, naming the field.
    Invalid(FieldError),
    /// The caller named a hotel it does not serve.
    OutOfScope(OutOfScope),
    /// A store failure; `what` names the object for "not found".
    Store { error: StoreError, what: String },
    /// The request conflicts with what is happening now (a pass already running).
    Busy(String),
    /// A limit on what one caller (or the server) may hold open was reached.
    Exhausted(String),
}

impl ServiceError {
    pub fn store(what: impl Into<String>) -> impl FnOnce(StoreError) -> ServiceError {
        let what = what.into();
        move |error| ServiceError::Store { error, what }
    }
}

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
            ReconcileError::AlreadyRunning => ServiceError::Busy(e.to_string()),
            ReconcileError::Store(error) => ServiceError::Store {
                error,
                what: "run".into(),
            },
        }
    }
}
