//! Authentication and role checks as one tower layer in front of every service.
//!
//! The layer reads `authorization: Bearer <token>`, finds the configured token (by
//! SHA-256, compared in constant time), maps the RPC to its `Action` (`RPC_ACTIONS`),
//! checks the caller's role against `Action::roles`, and puts the `Caller` into the
//! request's extensions,
//! where handlers read it with `grpc::caller::caller`. Health and reflection pass
//! untouched. Without configured tokens every call is the anonymous caller (the server
//! then only listens on loopback). No token value ever reaches a log line.
use std::sync::Arc;
use std::task::{Context, Poll};

use tonic::Status;
use tonic::codegen::http::{HeaderMap, Request, Response};
use tonic::codegen::{BoxFuture, Service};

use crate::domain::access::{self, Action, Caller, TokenEntry};

/// What each RPC does, in the access rules' words. Every RPC of the protos must have a
/// row (a test reads the descriptor set and checks), so a new RPC cannot ship without
/// deciding who may call it; a path with no row is refused.
pub const RPC_ACTIONS: &[(&str, Action)] = &[
    (
        "/sentlog.v1.MessageService/RecordMessages",
        Action::RecordMessages,
    ),
    (
        "/sentlog.v1.MessageService/UpdateStatuses",
        Action::UpdateStatuses,
    ),
    (
        "/sentlog.v1.MessageService/GetMessage",
        Action::ReadMessages,
    ),
    (
        "/sentlog.v1.MessageService/ListMessages",
        Action::ReadMessages,
    ),
    (
        "/sentlog.v1.MessageService/CountMessages",
        Action::ReadMessages,
    ),
    (
        "/sentlog.v1.MessageService/GetMessageHistory",
        Action::ReadMessages,
    ),
    (
        "/sentlog.v1.MessageService/GetCampaignStats",
        Action::ReadMessages,
    ),
    (
        "/sentlog.v1.MessageService/ExportMessages",
        Action::ExportMessages,
    ),
    (
        "/sentlog.v1.MessageService/WatchMessages",
        Action::WatchMessages,
    ),
    (
        "/sentlog.v1.GuestService/UpsertGuests",
        Action::UpsertGuests,
    ),
    ("/sentlog.v1.GuestService/GetGuest", Action::ReadGuests),
    (
        "/sentlog.v1.GuestService/EraseGuestData",
        Action::EraseGuestData,
    ),
    (
        "/sentlog.v1.ReconciliationService/RunReconciliation",
        Action::RunReconciliation,
    ),
    (
        "/sentlog.v1.ReconciliationService/ListRuns",
        Action::ListRuns,
    ),
    (
        "/sentlog.v1.ReconciliationService/ListFlags",
        Action::ReadFlags,
    ),
    (
        "/sentlog.v1.ReconciliationService/GetFlag",
        Action::ReadFlags,
    ),
    (
        "/sentlog.v1.ReconciliationService/UpdateFlag",
        Action::UpdateFlag,
    ),
    (
        "/sentlog.v1.ReconciliationService/CheckRecipients",
        Action::CheckRecipients,
    ),
    (
        "/sentlog.v1.ReconciliationService/ListArrivals",
        Action::ReadArrivals,
    ),
    (
        "/sentlog.v1.ReconciliationService/ListSuppressions",
        Action::ReadSuppressions,
    ),
    (
        "/sentlog.v1.ReconciliationService/AddSuppression",
        Action::UpdateSuppressions,
    ),
    (
        "/sentlog.v1.ReconciliationService/RemoveSuppression",
        Action::UpdateSuppressions,
    ),
];

/// The action of an RPC path, or None for a path that is not an RPC of sentlog.
pub fn action_of(path: &str) -> Option<Action> {
    RPC_ACTIONS
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, a)| *a)
}

/// Paths that never need a token: the standard health and reflection services.
fn is_open(path: &str) -> bool {
    path.starts_with("/grpc.health.v1.Health/")
        || path.starts_with("/grpc.reflection.v1.ServerReflection/")
        || path.starts_with("/grpc.reflection.v1alpha.ServerReflection/")
}

/// Who may call what.
#[derive(Debug, Clone, Default)]
pub struct Authenticator {
    /// Empty: authentication is off.
    pub tokens: Vec<TokenEntry>,
}

impl Authenticator {
    /// The caller of a request to `path`, or the status that refuses it.
    pub fn authorize(&self, path: &str, headers: &HeaderMap) -> Result<Caller, Status> {
        let caller =
            if self.tokens.is_empty() {
                Caller::anonymous()
            } else {
                let presented = headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
                .map(str::trim)
                .ok_or_else(|| {
                    Status::unauthenticated(
                        "missing access token: send the metadata `authorization: Bearer <token>`",
                    )
                })?;
                access::identify(&self.tokens, presented)
                    .ok_or_else(|| Status::unauthenticated("unknown access token"))?
            };
        let Some(action) = action_of(path) else {
            return Err(Status::unimplemented(format!(
                "{path} is not an RPC of sentlog"
            )));
        };
        if !caller.may(action) {
            let needed: Vec<&str> = action.roles().iter().map(|r| r.name()).collect();
            return Err(Status::permission_denied(format!(
                "{} has role {}; {path} needs {}",
                caller.name,
                caller.role.name(),
                needed.join(" or ")
            )));
        }
        Ok(caller)
    }
}

/// The tower layer that runs [`Authenticator::authorize`] before every call.
#[derive(Clone)]
pub struct AuthLayer {
    auth: Arc<Authenticator>,
}

impl AuthLayer {
    pub fn new(auth: Authenticator) -> Self {
        AuthLayer {
            auth: Arc::new(auth),
        }
    }
}

impl<S> tower::Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            auth: self.auth.clone(),
        }
    }
}

#[derive(Clone)]
pub struct AuthService<S> {
    inner: S,
    auth: Arc<Authenticator>,
}

impl<S, B, RB> Service<Request<B>> for AuthService<S>
where
    S: Service<Request<B>, Response = Response<RB>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
    RB: Default + Send + 'static,
{
    type Response = Response<RB>;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let path = request.uri().path().to_string();
        if is_open(&path) {
            return Box::pin(self.inner.call(request));
        }
        match self.auth.authorize(&path, request.headers()) {
            Ok(caller) => {
                request.extensions_mut().insert(caller);
                Box::pin(self.inner.call(request))
            }
            Err(status) => {
                tracing::info!(rpc = %path, code = ?status.code(), "call refused");
                Box::pin(async move { Ok(status.into_http()) })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;
    use crate::domain::access::{HotelScope, Role, token_hash};

    /// Every RPC of the protos has a row in the role table: a new RPC without one fails
    /// here, before it can ship with no access rule.
    #[test]
    fn every_rpc_of_the_protos_declares_its_roles() {
        let set = prost_types::FileDescriptorSet::decode(crate::proto::FILE_DESCRIPTOR_SET)
            .expect("descriptor set");
        let mut rpcs = Vec::new();
        for file in &set.file {
            for service in &file.service {
                for method in &service.method {
                    rpcs.push(format!(
                        "/{}.{}/{}",
                        file.package(),
                        service.name(),
                        method.name()
                    ));
                }
            }
        }
        assert_eq!(rpcs.len(), 22, "{rpcs:?}");
        for rpc in &rpcs {
            assert!(action_of(rpc).is_some(), "{rpc} has no access rule");
        }
        assert_eq!(rpcs.len(), RPC_ACTIONS.len(), "a rule names no RPC");
    }

    fn headers(token: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(t) = token {
            h.insert("authorization", format!("Bearer {t}").parse().unwrap());
        }
        h
    }

    #[test]
    fn codes() {
        let auth = Authenticator {
            tokens: vec![TokenEntry {
                name: "agent-1".into(),
                role: Role::Agent,
                hotels: HotelScope::All,
                sha256: token_hash("good"),
            }],
        };
        let list = "/sentlog.v1.MessageService/ListMessages";
        let record = "/sentlog.v1.MessageService/RecordMessages";
        assert_eq!(
            auth.authorize(list, &headers(None)).unwrap_err().code(),
            tonic::Code::Unauthenticated
        );
        assert_eq!(
            auth.authorize(list, &headers(Some("bad")))
                .unwrap_err()
                .code(),
            tonic::Code::Unauthenticated
        );
        assert_eq!(
            auth.authorize(record, &headers(Some("good")))
                .unwrap_err()
                .code(),
            tonic::Code::PermissionDenied
        );
        assert_eq!(
            auth.authorize(list, &headers(Some("good"))).unwrap().name,
            "agent-1"
        );
        let open = Authenticator::default();
        assert_eq!(
            open.authorize(record, &headers(None)).unwrap().role,
            Role::Admin
        );
    }
}
