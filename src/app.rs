//! Builds the service in one function: settings in, running server out. `main` and the
//! tests both start sentlog through here.
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use std::collections::HashMap;

use crate::config::{PmsSettings, Validated};
use crate::domain::page::PageTokens;
use crate::domain::phone::{self, RegionMap};
use crate::pms::db::PushedRecords;
use crate::pms::mews::Mews;
use crate::pms::{Directories, PmsDirectory};
use crate::reconcile::Reconciler;
use crate::store::{Store, StoreError};
use crate::watch::ChangeFeed;

/// What every request handler shares.
pub struct AppState {
    pub store: Store,
    pub regions: RegionMap,
    pub page_tokens: PageTokens,
    pub reconciler: Arc<Reconciler>,
    pub feed: Arc<ChangeFeed>,
    pub streams: crate::service::streams::StreamGate,
}

impl AppState {
    pub fn new(store: Store, config: &Validated) -> Self {
        let secret = match &config.settings.page_token_secret {
            Some(s) => s.as_bytes().to_vec(),
            None => rand::random::<[u8; 32]>().to_vec(),
        };
        AppState {
            reconciler: Arc::new(reconciler(store.clone(), config)),
            feed: ChangeFeed::new(store.clone()),
            store,
            regions: config.regions.clone(),
            page_tokens: PageTokens::new(&secret),
            streams: crate::service::streams::StreamGate::new(
                config.settings.max_open_streams,
                config.settings.max_open_streams_per_token,
            ),
        }
    }
}

/// The reconciler of a configuration: each hotel's PMS directory, pushed records
/// for the hotels without a vendor connection.
pub fn reconciler(store: Store, config: &Validated) -> Reconciler {
    let mut by_hotel: HashMap<String, Arc<dyn PmsDirectory>> = HashMap::new();
    for (hotel, pms) in &config.settings.pms {
        match pms {
            PmsSettings::Mews(m) => {
                let mews = Mews::new(m.clone()).expect("validated with the settings");
                by_hotel.insert(hotel.clone(), Arc::new(mews));
            }
        }
    }
    let directories = Directories {
        default: Arc::new(PushedRecords {
            store: store.clone(),
        }),
        by_hotel,
    };
    let mut r = Reconciler::new(
        store,
        config.regions.clone(),
        directories,
        config.reconcile_statuses.clone(),
    );
    r.chunk_size = config.settings.reconcile.chunk_size;
    r
}

/// Opens the database (running migrations) on a blocking thread.
pub async fn open_store(config: &Validated) -> Result<Store, StoreError> {
    let s = config.settings.clone();
    tokio::task::spawn_blocking(move || {
        Store::open(&s.database_url, s.pool_size, s.statement_timeout_ms)
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
    pub state: Arc<AppState>,
    scheduler: Option<tokio_cron_scheduler::JobScheduler>,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), Box<dyn std::error::Error + Send + Sync>>>,
}

impl RunningServer {
    /// Stops accepting calls, lets in-flight ones finish, and waits for the end.
    pub async fn stop(mut self) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        if let Some(mut scheduler) = self.scheduler.take() {
            scheduler.shutdown().await?;
        }
        self.state.feed.shutdown();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        (&mut self.task).await?
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
    refresh_statistics_hourly(&state);
    settle_tallies_often(&state);
    let (tx, rx) = oneshot::channel::<()>();
    let mut scheduler = match &config.reconcile_cron {
        Some(cron) => Some(
            crate::reconcile::schedule::start(state.reconciler.clone(), cron)
                .await
                .map_err(std::io::Error::other)?,
        ),
        None => None,
    };
    if let Some(days) = config.settings.retention.days {
        if scheduler.is_none() {
            let s = tokio_cron_scheduler::JobScheduler::new()
                .await
                .map_err(std::io::Error::other)?;
            s.start().await.map_err(std::io::Error::other)?;
            scheduler = Some(s);
        }
        let s = scheduler.as_ref().expect("created above");
        crate::retention::schedule(
            s,
            state.store.clone(),
            days,
            &config.settings.retention.schedule,
        )
        .await
        .map_err(std::io::Error::other)?;
    }
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
            let bound = serve_http(
                &state,
                "metrics",
                at,
                crate::metrics::router(state.store.clone()),
            )
            .await?;
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
        state,
        scheduler,
        shutdown: Some(tx),
        task,
    })
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

/// Keeps the planner's statistics in step with a growing table (see
/// `Store::refresh_statistics`); ends when the server stops.
fn refresh_statistics_hourly(state: &AppState) {
    every(
        state,
        Duration::from_secs(3600),
        "refreshing planner statistics",
        |s| s.refresh_statistics(),
    );
}

/// Folds the tallies writers append into the settled ones, so counts sum few rows
/// (see `Store::settle_tallies`); ends when the server stops.
fn settle_tallies_often(state: &AppState) {
    every(
        state,
        Duration::from_secs(30),
        "settling message tallies",
        |s| s.settle_tallies(),
    );
}

/// Runs `job` on the blocking pool every `period` (the first time after one period)
/// until the server stops; a failure is logged and the next run tries again.
fn every(
    state: &AppState,
    period: Duration,
    what: &'static str,
    job: fn(&crate::store::Store) -> Result<(), crate::store::StoreError>,
) {
    let store = state.store.clone();
    let mut stop = state.feed.subscribe().1;
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(period);
        ticks.tick().await; // the first tick is now
        loop {
            tokio::select! {
                _ = stop.changed() => return,
                _ = ticks.tick() => {
                    let s = store.clone();
                    match tokio::task::spawn_blocking(move || job(&s)).await {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => tracing::warn!(error = %e, "{what} failed"),
                        Err(e) => tracing::warn!(error = %e, "{what} panicked"),
                    }
                }
            }
        }
    });
}
