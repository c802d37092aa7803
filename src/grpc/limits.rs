//! Limits on every call, as one tower layer: at most N calls in progress (the next one is
//! shed at once with UNAVAILABLE, retryable, rather than queued without bound), and a
//! server-side deadline (DEADLINE_EXCEEDED, naming the limit). Health and reflection
//! are exempt so that probes still answer under load.
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::Semaphore;
use tonic::Status;
use tonic::codegen::http::{Request, Response};
use tonic::codegen::{BoxFuture, Service};

#[derive(Clone)]
pub struct LimitsLayer {
    permits: Arc<Semaphore>,
    max: usize,
    timeout: Duration,
}

impl LimitsLayer {
    pub fn new(max_concurrent_calls: usize, timeout: Duration) -> Self {
        LimitsLayer {
            permits: Arc::new(Semaphore::new(max_concurrent_calls)),
            max: max_concurrent_calls,
            timeout,
        }
    }
}

impl<S> tower::Layer<S> for LimitsLayer {
    type Service = Limits<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Limits {
            inner,
            limits: self.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Limits<S> {
    inner: S,
    limits: LimitsLayer,
}

fn exempt(path: &str) -> bool {
    path.starts_with("/grpc.health.v1.") || path.starts_with("/grpc.reflection.")
}

impl<S, B, RB> Service<Request<B>> for Limits<S>
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

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let path = request.uri().path().to_string();
        if exempt(&path) {
            return Box::pin(self.inner.call(request));
        }
        let Ok(permit) = self.limits.permits.clone().try_acquire_owned() else {
            tracing::warn!(rpc = %path, limit = self.limits.max, "call shed: server busy");
            let status = Status::unavailable(format!(
                "server busy: {} calls already in progress; retry with back-off",
                self.limits.max
            ));
            return Box::pin(async move { Ok(status.into_http()) });
        };
        let timeout = self.limits.timeout;
        let call = self.inner.call(request);
        Box::pin(async move {
            let _permit = permit;
            match tokio::time::timeout(timeout, call).await {
                Ok(response) => response,
                Err(_) => {
                    tracing::warn!(rpc = %path, timeout_ms = timeout.as_millis() as u64, "call timed out");
                    Ok(Status::deadline_exceeded(format!(
                        "the call took longer than the server's limit of {} ms",
                        timeout.as_millis()
                    ))
                    .into_http())
                }
            }
        })
    }
}
