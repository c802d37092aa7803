//! The one extension point for identity: the auth layer (`grpc::auth`) puts the calling
//! `Caller` into request extensions, and every handler reads it with [`caller`].
use tonic::{Request, Status};

use crate::domain::access::Caller;

/// The identity of the caller of `request`.
pub fn caller<T>(request: &Request<T>) -> Result<Caller, Status> {
    request
        .extensions()
        .get::<Caller>()
        .cloned()
        .ok_or_else(|| Status::unauthenticated("no caller identity on this request"))
}
