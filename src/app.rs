//! Builds the service in one function: settings in, running server out. `main` and the
//! tests both start sentlog through here.
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::Validated;
use crate::domain::phone;
use crate::service::AppState;
use crate::store::{Store, StoreError};

/// Opens the database (running migrations) on a blocking thread.
pub async fn open_store(config: &Validated) -> Result<Store, StoreError> {
    let s = config.settings.clone();
    tokio::task::spawn_blocking(move || {
        let store = Store::open_with_secret(
            &s.database_url,
            s.pool_size,
            s.statement_timeout_ms,
            s.suppression_secret.as_deref(),
        )?;
        if store.suppression_key_source() != crate::store::suppressions::KeySource::Configured {
            tracing::warn!(
                "no suppression_secret is configured: suppressions are hashed with a secret \
                 generated once and kept in the database; set suppression_secret (or \
                 SENTLOG_SUPPRESSION_SECRET) to keep it out of the database (README, Consent)"
            );
        }
        Ok(store)
    })
    .await
    .map_err(|e| StoreError::Unavailable(e.to_string()))?
}

/// A server running in the background.
pub struct RunningServer {
    pub addr: SocketAddr,
    /// Where `GET /metrics` answers, when metrics are on.
    pub metrics_addr: Option<SocketAddr>,
    /// Where the web console answers, when on.
    pub console_addr: Option<SocketAddr>,
    /// Where the provider webhooks answer, when on.
    pub webhook_addr: Option<SocketAddr>,
    pub state: Arc<AppState>,
    jobs: Option<crate::service::jobs::Jobs>,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), Box<dyn std::error::Error + Send + Sync>>>,
}

impl RunningServer {
    /// Stops accepting calls, lets in-flight ones finish, and waits for the end.
    pub async fn stop(mut self) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        if let Some(jobs) = self.jobs.take() {
            jobs.stop().await?;
        }
        self.state.feed.shutdown();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        (&mut self.task).await?
    }

    /// Whether the background catch-up of this start (stored error categories brought
    /// up to the current table, then the suppression backfill) has ended.
    pub fn catch_up_finished(&self) -> bool {
        self.jobs.as_ref().is_none_or(|j| j.catch_up_finished())
    }

    /// Waits until the server ends on its own (an error); the server stays stoppable.
    pub async fn wait_ref(&mut self) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        (&mut self.task).await?
    }
}

impl Drop for RunningServer {
    /// A server dropped without `stop` (a panicking caller) still ends its change
    /// listener thread, which would otherwise keep the runtime from shutting down.
    fn drop(&mut self) {
        self.state.feed.shutdown();
    }
}

/// Starts serving on `listener` with an opened store. `shutdown` ends the server.
pub async fn start(
    config: &Validated,
    store: Store,
    listener: TcpListener,
) -> std::io::Result<RunningServer> {
    phone::warm_up();
    let addr = listener.local_addr()?;
    let state = Arc::new(AppState::new(store, config));
    state.feed.start(&config.settings.database_url);
    let (tx, rx) = oneshot::channel::<()>();
    let jobs = crate::service::jobs::Jobs::start(&state, config)
        .await
        .map_err(std::io::Error::other)?;
    if config.tokens.is_empty() {
        tracing::warn!(
            %addr,
            "authentication is off: no access tokens are configured, so every caller may do \
             everything (loopback only); see `sentlog token new`"
        );
    }
    let s = &config.settings;
    let options = crate::grpc::server::ServeOptions {
        auth: crate::grpc::auth::Authenticator {
            tokens: config.tokens.clone(),
        },
        limits: crate::grpc::limits::LimitsLayer::new(
            s.max_concurrent_calls,
            Duration::from_millis(s.request_timeout_ms),
            crate::grpc::server::MAX_REQUEST_BYTES,
        ),
        tls: match &s.tls {
            Some(t) => Some(crate::grpc::server::tls_config(
                &t.cert,
                &t.key,
                t.client_ca.as_deref(),
            )?),
            None => None,
        },
    };
    let metrics_addr = match config.metrics_listen {
        Some(at) => {
            let bound =
                serve_http(&state, "metrics", at, metrics_router(state.store.clone())).await?;
            tracing::info!(addr = %bound, "metrics at http://{bound}/metrics");
            Some(bound)
        }
        None => None,
    };
    let console_addr = match config.console_listen {
        Some(at) => {
            let console = Arc::new(crate::console::Console {
                app: state.clone(),
                tokens: config.tokens.clone(),
            });
            let bound =
                serve_http(&state, "web console", at, crate::console::router(console)).await?;
            tracing::info!(addr = %bound, "web console at http://{bound}/");
            Some(bound)
        }
        None => None,
    };
    let webhook_addr = match config.webhooks.listen {
        Some(at) => {
            let w = &config.webhooks;
            for account in w.unsigned_accounts() {
                tracing::warn!(
                    %account,
                    "webhooks of this account are taken without a signature check (no secret \
                     configured; loopback only)"
                );
            }
            let front = Arc::new(crate::webhooks::WebhookFront {
                app: state.clone(),
                config: w.clone(),
            });
            let bound = serve_http(&state, "webhooks", at, crate::webhooks::router(front)).await?;
            tracing::info!(
                addr = %bound,
                twilio = w.twilio.len(),
                whatsapp = w.whatsapp.len(),
                sendgrid = w.sendgrid.len(),
                "provider webhooks at http://{bound}/webhooks/{{twilio,whatsapp,sendgrid}}"
            );
            Some(bound)
        }
        None => None,
    };
    let task = tokio::spawn(crate::grpc::server::serve(
        listener,
        state.clone(),
        options,
        async {
            let _ = rx.await;
        },
    ));
    Ok(RunningServer {
        addr,
        metrics_addr,
        console_addr,
        webhook_addr,
        state,
        jobs: Some(jobs),
        shutdown: Some(tx),
        task,
    })
}

/// `GET /metrics`: the Prometheus text of `service::metrics`.
fn metrics_router(store: Store) -> axum::Router {
    axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let store = store.clone();
            async move {
                (
                    [("content-type", "text/plain; version=0.0.4")],
                    crate::service::metrics::render(&store).await,
                )
            }
        }),
    )
}

/// Binds `at` and serves `router` there (metrics, the console) until the server stops.
async fn serve_http(
    state: &AppState,
    what: &'static str,
    at: SocketAddr,
    router: axum::Router,
) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(at).await.map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("{what} on {at}: {e} (choose another address)"),
        )
    })?;
    let bound = listener.local_addr()?;
    let mut stop = state.feed.subscribe().1;
    tokio::spawn(async move {
        let shutdown = async move {
            let _ = stop.changed().await;
        };
        if let Err(e) = axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::warn!(error = %e, "{what} stopped");
        }
    });
    Ok(bound)
}
