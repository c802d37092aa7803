//! Limits on every call, as one tower layer: at most N calls in progress (the next one is
//! shed at once with UNAVAILABLE, retryable, rather than queued without bound), a
//! server-side deadline (DEADLINE_EXCEEDED, naming the limit), and a request size cap
//! (RESOURCE_EXHAUSTED). Health and reflection
//! are exempt so that probes still answer under load.
//!
//! It is also the one place where a request tonic could not decode (bad protobuf,
//! invalid UTF-8 in a string, a broken frame) becomes INVALID_ARGUMENT: tonic answers
//! those INTERNAL, and the contract keeps INTERNAL for the server's own faults.
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::Semaphore;
use tonic::Status;
use tonic::body::Body;
use tonic::codegen::http::{Request, Response};
use tonic::codegen::{BoxFuture, Service};

#[derive(Clone)]
pub struct LimitsLayer {
    permits: Arc<Semaphore>,
    max: usize,
    timeout: Duration,
    max_request_bytes: usize,
}

impl LimitsLayer {
    pub fn new(max_concurrent_calls: usize, timeout: Duration, max_request_bytes: usize) -> Self {
        LimitsLayer {
            permits: Arc::new(Semaphore::new(max_concurrent_calls)),
            max: max_concurrent_calls,
            timeout,
            max_request_bytes,
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

/// Counts a call by method and gRPC status: an error is in the headers (trailers-only
/// response); a success carries its status in the trailers, so no header means OK.
fn record_call(path: &str, headers: &tonic::codegen::http::HeaderMap, elapsed: Duration) {
    let code = match headers.get("grpc-status").and_then(|v| v.to_str().ok()) {
        Some(v) => tonic::Code::from(v.parse::<i32>().unwrap_or(2)),
        None if headers.is_empty() => tonic::Code::Unavailable,
        None => tonic::Code::Ok,
    };
    crate::service::metrics::record_call(path, &format!("{code:?}"), elapsed);
}

/// What tonic says when it cannot read a request (prost's decode errors, gRPC
/// framing and compression errors): the caller sent it wrong.
const REQUEST_DECODE_FAILURES: [&str; 5] = [
    "failed to decode Protobuf message",
    "protocol error: received message",
    "Unexpected EOF decoding stream",
    "Error decompressing",
    "Missing request message",
];

/// INVALID_ARGUMENT in place of tonic's INTERNAL for a request it could not decode.
/// Such an answer has its status in the headers (no handler ran, nothing was sent).
fn undecodable_request(headers: &tonic::codegen::http::HeaderMap) -> Option<Status> {
    let status = Status::from_header_map(headers)?;
    let decode_failure = status.code() == tonic::Code::Internal
        && REQUEST_DECODE_FAILURES
            .iter()
            .any(|prefix| status.message().starts_with(prefix));
    decode_failure.then(|| {
        Status::invalid_argument(format!(
            "the request is not a valid message of this RPC: {}",
            status.message()
        ))
    })
}

fn exempt(path: &str) -> bool {
    path.starts_with("/grpc.health.v1.") || path.starts_with("/grpc.reflection.")
}

/// A request body that fails with RESOURCE_EXHAUSTED past `limit` bytes: tonic turns
/// the error into the call's status (its own size check would say OUT_OF_RANGE).
struct Capped {
    inner: Body,
    seen: usize,
    limit: usize,
}

impl http_body::Body for Capped {
    type Data = tonic::codegen::Bytes;
    type Error = tonic::codegen::StdError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(data) = frame.data_ref()
        {
            self.seen += data.len();
            if self.seen > self.limit {
                return Poll::Ready(Some(Err(Box::new(Status::resource_exhausted(format!(
                    "request larger than the limit of {} bytes; split the batch",
                    self.limit
                ))))));
            }
        }
        polled.map(|f| f.map(|r| r.map_err(Into::into)))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

impl<S, RB> Service<Request<Body>> for Limits<S>
where
    S: Service<Request<Body>, Response = Response<RB>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    RB: Default + Send + 'static,
{
    type Response = Response<RB>;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let path = request.uri().path().to_string();
        if exempt(&path) {
            return Box::pin(self.inner.call(request));
        }
        let limit = self.limits.max_request_bytes;
        let request = request.map(|inner| {
            Body::new(Capped {
                inner,
                seen: 0,
                limit,
            })
        });
        let Ok(permit) = self.limits.permits.clone().try_acquire_owned() else {
            tracing::warn!(rpc = %path, limit = self.limits.max, "call shed: server busy");
            record_call(&path, &Default::default(), Duration::ZERO);
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
            let started = std::time::Instant::now();
            let response = match tokio::time::timeout(timeout, call).await {
                Ok(Ok(mut response)) => {
                    if let Some(status) = undecodable_request(response.headers()) {
                        tracing::debug!(rpc = %path, "undecodable request");
                        let headers = response.headers_mut();
                        headers.remove("grpc-status");
                        headers.remove("grpc-message");
                        headers.remove("grpc-status-details-bin");
                        let _ = status.add_header(headers);
                    }
                    Ok(response)
                }
                Ok(Err(e)) => Err(e),
                Err(_) => {
                    tracing::warn!(rpc = %path, timeout_ms = timeout.as_millis() as u64, "call timed out");
                    Ok(Status::deadline_exceeded(format!(
                        "the call took longer than the server's limit of {} ms",
                        timeout.as_millis()
                    ))
                    .into_http())
                }
            };
            if let Ok(r) = &response {
                record_call(&path, r.headers(), started.elapsed());
            }
            response
        })
    }
}
