//! Prometheus metrics (the `prometheus` crate), rendered as text for `GET /metrics` on
//! their own port when `metrics_listen` is set: calls and latency per RPC and status code, status events
//! per outcome, reconciliation runs, their duration and flags raised per reason, open
//! flags per reason, provider webhook requests and events, messages failed because of the sender's setup per hotel, and the
//! database pool, the last three read at scrape time.
use std::sync::LazyLock;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

use crate::domain::error_category::ErrorCategory;
use crate::domain::run::ReconciliationRun;
use crate::store::{Store, flags, tallies};

pub struct Metrics {
    pub registry: Registry,
    pub calls: IntCounterVec,
    pub latency: HistogramVec,
    pub status_events: IntCounterVec,
    pub runs: IntCounterVec,
    pub run_seconds: HistogramVec,
    pub flags_raised: IntCounterVec,
    pub open_flags: IntGaugeVec,
    pub sender_setup: IntGaugeVec,
    pub parked: IntCounterVec,
    pub webhook_requests: IntCounterVec,
    pub webhook_events: IntCounterVec,
    pub pool_in_use: IntGauge,
    pub pool_size: IntGauge,
}

fn build() -> Result<Metrics, prometheus::Error> {
    let registry = Registry::new_custom(Some("sentlog".into()), None)?;
    let calls = IntCounterVec::new(
        Opts::new("grpc_calls_total", "gRPC calls by method and status code"),
        &["rpc", "code"],
    )?;
    let latency = HistogramVec::new(
        HistogramOpts::new(
            "grpc_call_seconds",
            "gRPC call latency by method and status code",
        )
        .buckets(vec![
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
        ]),
        &["rpc", "code"],
    )?;
    let status_events = IntCounterVec::new(
        Opts::new("status_events_total", "provider status events by outcome"),
        &["outcome"],
    )?;
    let runs = IntCounterVec::new(
        Opts::new(
            "reconciliation_runs_total",
            "reconciliation passes by final state",
        ),
        &["state"],
    )?;
    let run_seconds = HistogramVec::new(
        HistogramOpts::new(
            "reconciliation_run_seconds",
            "duration of reconciliation passes",
        )
        .buckets(vec![0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0]),
        &["trigger"],
    )?;
    let flags_raised = IntCounterVec::new(
        Opts::new("flags_raised_total", "flags raised by reason"),
        &["reason"],
    )?;
    let open_flags = IntGaugeVec::new(
        Opts::new("open_flags", "open or acknowledged flags by reason"),
        &["reason"],
    )?;
    // Per hotel: these are the hub's own problems (an account, a template, a sender
    // number), which its team fixes per hotel.
    let sender_setup = IntGaugeVec::new(
        Opts::new(
            "sender_setup_failures",
            "messages failed because of the sender's setup (ERROR_CATEGORY_SENDER_SETUP), per hotel",
        ),
        &["hotel_id"],
    )?;
    let parked = IntCounterVec::new(
        Opts::new(
            "parked_events_total",
            "early callbacks (events for messages not recorded yet) by provider and what became of them",
        ),
        &["provider", "outcome"],
    )?;
    let webhook_requests = IntCounterVec::new(
        Opts::new(
            "webhook_requests_total",
            "provider webhook requests by provider and outcome (accepted, malformed, \
             bad_signature, unknown_account, ...)",
        ),
        &["provider", "outcome"],
    )?;
    let webhook_events = IntCounterVec::new(
        Opts::new(
            "webhook_events_total",
            "provider webhook events by provider and outcome (applied, stale, duplicate, \
             rejected, parked, or acknowledged: no status of ours)",
        ),
        &["provider", "outcome"],
    )?;
    let pool_in_use = IntGauge::new("db_pool_in_use", "database connections handed out")?;
    let pool_size = IntGauge::new("db_pool_size", "database connections the pool may open")?;
    registry.register(Box::new(calls.clone()))?;
    registry.register(Box::new(latency.clone()))?;
    registry.register(Box::new(status_events.clone()))?;
    registry.register(Box::new(runs.clone()))?;
    registry.register(Box::new(run_seconds.clone()))?;
    registry.register(Box::new(flags_raised.clone()))?;
    registry.register(Box::new(open_flags.clone()))?;
    registry.register(Box::new(sender_setup.clone()))?;
    registry.register(Box::new(parked.clone()))?;
    registry.register(Box::new(webhook_requests.clone()))?;
    registry.register(Box::new(webhook_events.clone()))?;
    registry.register(Box::new(pool_in_use.clone()))?;
    registry.register(Box::new(pool_size.clone()))?;
    Ok(Metrics {
        registry,
        calls,
        latency,
        status_events,
        runs,
        run_seconds,
        flags_raised,
        open_flags,
        sender_setup,
        parked,
        webhook_requests,
        webhook_events,
        pool_in_use,
        pool_size,
    })
}

/// The process's metrics (one registry per process, whatever the servers in it).
pub static METRICS: LazyLock<Metrics> =
    LazyLock::new(|| build().expect("metric names are valid and registered once"));

/// The text exposition, with the scrape-time gauges refreshed from `store`.
pub async fn render(store: &Store) -> String {
    let m = &*METRICS;
    let (in_use, size) = store.pool_state();
    m.pool_in_use.set(i64::from(in_use));
    m.pool_size.set(i64::from(size));
    match store.run(flags::open_counts).await {
        Ok(counts) => {
            m.open_flags.reset();
            for (reason, n) in counts {
                m.open_flags.with_label_values(&[reason.name()]).set(n);
            }
        }
        Err(e) => tracing::warn!(error = %e, "metrics: open flags unavailable"),
    }
    match store
        .run(|c| tallies::per_hotel_with_error(c, ErrorCategory::SenderSetup))
        .await
    {
        Ok(counts) => {
            m.sender_setup.reset();
            for (hotel, n) in counts {
                m.sender_setup.with_label_values(&[hotel.as_str()]).set(n);
            }
        }
        Err(e) => tracing::warn!(error = %e, "metrics: sender-setup failures unavailable"),
    }
    let mut out = Vec::new();
    if let Err(e) = TextEncoder::new().encode(&m.registry.gather(), &mut out) {
        tracing::warn!(error = %e, "metrics encoding failed");
    }
    String::from_utf8(out).unwrap_or_default()
}

/// Counts one finished reconciliation pass: its state, duration and flags by reason.
pub fn record_run(run: &ReconciliationRun) {
    let m = &*METRICS;
    m.runs.with_label_values(&[run.state.name()]).inc();
    let ended = run.finished_at.unwrap_or_else(chrono::Utc::now);
    m.run_seconds
        .with_label_values(&[run.trigger.as_str()])
        .observe((ended - run.started_at).num_milliseconds() as f64 / 1000.0);
    for (reason, n) in &run.raised_by_reason {
        m.flags_raised
            .with_label_values(&[reason.name()])
            .inc_by(*n as u64);
    }
}

/// Counts status events by outcome (`applied`, `stale`, `duplicate`, `rejected`).
pub fn record_status_outcome(outcome: &str) {
    METRICS.status_events.with_label_values(&[outcome]).inc();
}

/// Counts one gRPC call by method and status code, with its latency.
pub fn record_call(rpc: &str, code: &str, elapsed: std::time::Duration) {
    let m = &*METRICS;
    m.calls.with_label_values(&[rpc, code]).inc();
    m.latency
        .with_label_values(&[rpc, code])
        .observe(elapsed.as_secs_f64());
}

/// Counts early callbacks: `parked`, `applied` (to their message once recorded) or
/// `expired`, per provider.
pub fn record_parked(provider: &str, outcome: &str, n: i64) {
    add(
        &METRICS.parked,
        provider,
        outcome,
        u64::try_from(n).unwrap_or(0),
    );
}

/// Adds `n` to a per-(provider, outcome) counter; a zero creates no series.
fn add(counter: &IntCounterVec, provider: &str, outcome: &str, n: u64) {
    if n > 0 {
        counter.with_label_values(&[provider, outcome]).inc_by(n);
    }
}

/// Counts one provider webhook request by its outcome.
pub fn record_webhook_request(provider: &str, outcome: &str) {
    METRICS
        .webhook_requests
        .with_label_values(&[provider, outcome])
        .inc();
}

/// Counts the events of provider webhooks by outcome.
pub fn record_webhook_events(provider: &str, outcome: &str, n: usize) {
    add(&METRICS.webhook_events, provider, outcome, n as u64);
}
