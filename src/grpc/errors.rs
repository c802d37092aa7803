//! One mapping from the use cases' errors to gRPC statuses.
//!
//! Policy: bad input is INVALID_ARGUMENT naming the field; a hotel the caller does not
//! serve is PERMISSION_DENIED; a missing (or invisible) object is NOT_FOUND; a conflict
//! with stored state is FAILED_PRECONDITION; a limit reached is RESOURCE_EXHAUSTED; a
//! database that cannot be reached is UNAVAILABLE (retryable); a fault of ours (corrupt
//! stored data included) is INTERNAL with a generic message, never the database's own
//! text (`service` logged it).
use tonic::Status;

use crate::domain::FieldError;
use crate::domain::access::OutOfScope;
use crate::service::ServiceError;

pub fn invalid_argument(e: FieldError) -> Status {
    Status::invalid_argument(e.to_string())
}

pub fn out_of_scope(e: OutOfScope) -> Status {
    Status::permission_denied(format!(
        "{}: hotel {:?} is not one this caller serves",
        e.field, e.hotel_id
    ))
}

impl From<ServiceError> for Status {
    fn from(e: ServiceError) -> Status {
        match e {
            ServiceError::Invalid(e) => invalid_argument(e),
            ServiceError::OutOfScope(e) => out_of_scope(e),
            ServiceError::NotFound(what) => Status::not_found(what),
            ServiceError::Conflict(why) => Status::failed_precondition(why),
            ServiceError::Exhausted(why) => Status::resource_exhausted(why),
            ServiceError::Unavailable(why) => Status::unavailable(why),
            ServiceError::Corrupt | ServiceError::Internal => {
                Status::internal("internal error; it has been logged")
            }
        }
    }
}
