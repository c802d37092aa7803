//! Assembles the gRPC server: the three services behind the auth layer,
//! server reflection (v1 and v1alpha) and the health service.
use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};

use super::auth::{AuthLayer, Authenticator};
use super::guests::GuestsApi;
use super::limits::LimitsLayer;
use super::messages::MessagesApi;
use super::reconciliation::ReconciliationApi;
use crate::proto;
use crate::proto::guest_service_server::GuestServiceServer;
use crate::proto::message_service_server::MessageServiceServer;
use crate::proto::reconciliation_service_server::ReconciliationServiceServer;
use crate::service::AppState;

/// Largest request accepted: a full batch of 1000 messages with long fields fits.
/// The limits layer enforces it (RESOURCE_EXHAUSTED); tonic's own check, set above it,
/// is only a backstop.
pub const MAX_REQUEST_BYTES: usize = 8 * 1024 * 1024;
const DECODE_BACKSTOP_BYTES: usize = 2 * MAX_REQUEST_BYTES;

/// Serves on `listener` until `shutdown` completes, then lets in-flight calls finish.
/// How the server admits calls.
pub struct ServeOptions {
    pub auth: Authenticator,
    pub limits: LimitsLayer,
    pub tls: Option<ServerTlsConfig>,
}

/// TLS from PEM files: the server's identity, and a client CA for mutual TLS.
pub fn tls_config(
    cert: &std::path::Path,
    key: &std::path::Path,
    client_ca: Option<&std::path::Path>,
) -> std::io::Result<ServerTlsConfig> {
    let identity = Identity::from_pem(std::fs::read(cert)?, std::fs::read(key)?);
    let mut tls = ServerTlsConfig::new().identity(identity);
    if let Some(ca) = client_ca {
        tls = tls.client_ca_root(Certificate::from_pem(std::fs::read(ca)?));
    }
    Ok(tls)
}

pub async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_serving::<MessageServiceServer<MessagesApi>>()
        .await;
    health.set_serving::<GuestServiceServer<GuestsApi>>().await;
    health
        .set_serving::<ReconciliationServiceServer<ReconciliationApi>>()
        .await;

    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;

    let messages = MessageServiceServer::new(MessagesApi::new(state.clone()))
        .max_decoding_message_size(DECODE_BACKSTOP_BYTES);
    let guests = GuestServiceServer::new(GuestsApi::new(state.clone()))
        .max_decoding_message_size(DECODE_BACKSTOP_BYTES);
    let reconciliation = ReconciliationServiceServer::new(ReconciliationApi::new(state.clone()))
        .max_decoding_message_size(DECODE_BACKSTOP_BYTES);

    let mut builder = Server::builder();
    if let Some(tls) = options.tls {
        builder = builder.tls_config(tls)?;
    }
    builder
        .layer(options.limits)
        .layer(AuthLayer::new(options.auth))
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(messages)
        .add_service(guests)
        .add_service(reconciliation)
        .serve_with_incoming_shutdown(
            // No Nagle delay: small gRPC frames would otherwise wait ~40 ms for ACKs.
            TcpListenerStream::new(listener).map(|conn| {
                if let Ok(c) = &conn {
                    let _ = c.set_nodelay(true);
                }
                conn
            }),
            shutdown,
        )
        .await?;
    Ok(())
}
