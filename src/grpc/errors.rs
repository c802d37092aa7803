//! One mapping from the layers' errors to gRPC statuses.
//!
//! Policy: bad input is INVALID_ARGUMENT naming the field; a missing (or invisible)
//! object is NOT_FOUND; a conflict with stored state is FAILED_PRECONDITION; a database
//! that cannot be reached is UNAVAILABLE (retryable); anything else is logged here and
//! answered INTERNAL with a generic message, never the database's own text.
use tonic::Status;

use crate::domain::FieldError;
use crate::domain::access::OutOfScope;
use crate::service::ServiceError;
use crate::store::StoreError;

pub fn invalid_argument(e: FieldError) -> Status {
    Status::invalid_argument(e.to_string())
}

pub fn out_of_scope(e: OutOfScope) -> Status {
    Status::permission_denied(format!(
        "{}: hotel {:?} is not one this caller serves",
        e.field, e.hotel_id
    ))
}

/// Maps a store error; `what` names the object for NOT_FOUND ("message 0190...").
pub fn store_error(e: StoreError, what: &str) -> Status {
    match e {
        StoreError::NotFound => Status::not_found(format!("{what} not found")),
        StoreError::Unavailable(detail) => {
            tracing::warn!(%detail, "database unavailable");
            Status::unavailable("the database is unavailable; retry shortly")
        }
        StoreError::Conflict(message) => Status::failed_precondition(message),
        StoreError::Database(err) => {
            tracing::error!(error = %err, "database error");
            Status::internal("internal error; it has been logged")
        }
        StoreError::Migration(err) => {
            tracing::error!(error = %err, "migration error");
            Status::internal("internal error; it has been logged")
        }
    }
}

/// A batch longer than the contract allows.
pub fn batch_too_large(field: &str, len: usize, max: usize) -> Status {
    Status::resource_exhausted(format!(
        "{field}: {len} items; the limit is {max} a call, split the batch"
    ))
}

impl From<ServiceError> for Status {
    fn from(e: ServiceError) -> Status {
        match e {
            ServiceError::Invalid(e) => invalid_argument(e),
            ServiceError::OutOfScope(e) => out_of_scope(e),
            ServiceError::Store { error, what } => store_error(error, &what),
            ServiceError::Busy(message) => Status::failed_precondition(message),
            ServiceError::Exhausted(message) => Status::resource_exhausted(message),
        }
    }
}
