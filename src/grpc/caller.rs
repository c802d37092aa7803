//! The one extension point for identity: an interceptor puts the calling `Caller` into
//! request extensions, and every handler reads it with [`caller`].
use tonic::{Request, Status};

use crate::domain::access::Caller;

/// Attaches the caller's identity to each request. Without configured tokens every
/// call is the anonymous loopback caller.
#[derive(Clone, Default)]
pub struct Identify;

impl tonic::service::Interceptor for Identify {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        request.extensions_mut().insert(Caller::anonymous());
        Ok(request)
    }
}

/// The identity of the caller of `request`.
pub fn caller<T>(request: &Request<T>) -> Result<Caller, Status> {
    request
        .extensions()
        .get::<Caller>()
        .cloned()
        .ok_or_else(|| Status::unauthenticated("no caller identity on this request"))
}
