//! The cost of carrying a page over gRPC, apart from finding it. The composed limit's
//! no-op call (the health check) answers with nothing, while a ListMessages page
//! answers with 50 messages (10–14 KB encoded) that the server encodes and the client
//! decodes on the same cores. This server, in its own process like the real one,
//! answers every call with one fixed ListMessages reply (a real page, read from a
//! file) and does no other work; next to its own health check, it tells what the
//! reply alone costs a call.
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use prost::Message as _;
use sentlog::proto;
use tonic::codegen::{Body, StdError, http};
use tonic::transport::Channel as Transport;

use crate::server::{ServerProcess, health_check};
use crate::timing::concurrent_within;
use crate::{Args, CLIENTS};

/// Serves `reply` (an encoded `ListMessagesResponse`) on `addr` until killed, beside
/// the standard health service.
pub fn serve(reply: &std::path::Path, addr: &str) -> anyhow::Result<()> {
    let reply = proto::ListMessagesResponse::decode(std::fs::read(reply)?.as_slice())?;
    let addr = addr.parse()?;
    tokio::runtime::Runtime::new()?.block_on(async {
        let (_, health) = tonic_health::server::health_reporter();
        tonic::transport::Server::builder()
            .tcp_nodelay(true)
            .add_service(health)
            .add_service(FixedPage(Arc::new(reply)))
            .serve(addr)
            .await
    })?;
    Ok(())
}

/// Answers whatever `sentlog.v1.MessageService` method is called with the page (the
/// benchmark calls ListMessages only).
#[derive(Clone)]
struct FixedPage(Arc<proto::ListMessagesResponse>);

impl tonic::server::NamedService for FixedPage {
    const NAME: &'static str = "sentlog.v1.MessageService";
}

impl<B> tonic::codegen::Service<http::Request<B>> for FixedPage
where
    B: Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let page = self.clone();
        Box::pin(async move {
            let mut grpc = tonic::server::Grpc::new(tonic_prost::ProstCodec::default());
            Ok(grpc.unary(page, req).await)
        })
    }
}

impl tonic::server::UnaryService<proto::ListMessagesRequest> for FixedPage {
    type Response = proto::ListMessagesResponse;
    type Future = std::future::Ready<Result<tonic::Response<Self::Response>, tonic::Status>>;

    /// A copy per call, as the real server builds each reply anew.
    fn call(&mut self, _: tonic::Request<proto::ListMessagesRequest>) -> Self::Future {
        std::future::ready(Ok(tonic::Response::new((*self.0).clone())))
    }
}

/// What carrying `reply` costs a call: the fixed-page server's calls/s for the page
/// and for its own no-op, 8 clients, one connection each. The page's own cost per
/// call is `1/page − 1/no-op` (seconds).
pub struct ReplyCost {
    pub page_per_second: f64,
    pub noop_per_second: f64,
}

impl ReplyCost {
    /// The seconds the reply adds to a call (never below zero: run noise).
    pub fn seconds(&self) -> f64 {
        (1.0 / self.page_per_second - 1.0 / self.noop_per_second).max(0.0)
    }
}

/// Starts a fixed-page server for `reply`, measures it, and stops it.
pub async fn measure(
    args: &Args,
    reply: &proto::ListMessagesResponse,
) -> anyhow::Result<ReplyCost> {
    let file = std::env::temp_dir().join(format!("sentlog-bench-page-{}", std::process::id()));
    std::fs::write(&file, reply.encode_to_vec())?;
    let reply_arg = file.to_string_lossy().into_owned();
    let mut server = ServerProcess::start_with(&args.database_url, &["--serve-reply", &reply_arg])?;
    let result = async {
        let mut channels = Vec::with_capacity(CLIENTS);
        for _ in 0..CLIENTS {
            channels.push(server.channel().await?);
        }
        let page = |ch: Vec<Transport>| {
            move |client: usize, _| {
                let mut client =
                    proto::message_service_client::MessageServiceClient::new(ch[client].clone());
                async move {
                    client
                        .list_messages(proto::ListMessagesRequest::default())
                        .await?;
                    Ok(())
                }
            }
        };
        let noop = |ch: Vec<Transport>| move |client: usize, _| health_check(ch[client].clone());
        // Warm both up unmeasured, then measure each for seconds, as the floor is.
        concurrent_within(args.calls, FIXED_BUDGET, page(channels.clone())).await?;
        concurrent_within(args.calls, FIXED_BUDGET, noop(channels.clone())).await?;
        let page =
            concurrent_within(FIXED_CALLS_PER_CLIENT, FIXED_BUDGET, page(channels.clone())).await?;
        let noop = concurrent_within(FIXED_CALLS_PER_CLIENT, FIXED_BUDGET, noop(channels)).await?;
        anyhow::Ok(ReplyCost {
            page_per_second: page.per_second,
            noop_per_second: noop.per_second,
        })
    }
    .await;
    server.stop();
    let _ = std::fs::remove_file(&file);
    result
}

/// Each fixed-server measure's length: calls per client, and the time it may take.
const FIXED_CALLS_PER_CLIENT: usize = 3_000;
const FIXED_BUDGET: std::time::Duration = std::time::Duration::from_secs(3);
