//! The background jobs, under one scheduler (tokio-cron-scheduler; six-field cron,
//! seconds first, UTC) with one stop: reconciliation passes, the retention purge,
//! settling message tallies, refreshing the planner's statistics and dropping expired
//! early callbacks; and, once per
//! start, stored error categories brought in line with the error table. Each job is a
//! plain use case that tests call directly; a failed run is logged and the schedule
//! goes on.
use std::future::Future;
use std::sync::Arc;

use tokio_cron_scheduler::{Job, JobScheduler, JobSchedulerError};

use super::AppState;
use super::{recategorize, retention, runs, statuses, suppressions};
use crate::config::Validated;
use crate::domain::run::Trigger;
use crate::reconcile::ReconcileError;
use crate::store::{Store, StoreError};

/// Tallies appended by writers are folded into the settled ones this often.
const SETTLE_TALLIES_CRON: &str = "*/30 * * * * *";
/// Early callbacks past their expiry are dropped this often.
const PURGE_PARKED_CRON: &str = "0 * * * * *";
/// The planner's statistics follow a growing table (see `Store::refresh_statistics`).
const REFRESH_STATISTICS_CRON: &str = "0 17 * * * *";

/// The running scheduler, and the one-off catch-up started with it; `stop` ends both.
pub struct Jobs {
    scheduler: JobScheduler,
    catch_up: tokio::task::JoinHandle<()>,
}

impl Jobs {
    /// Schedules every job the configuration turns on.
    pub async fn start(
        state: &Arc<AppState>,
        config: &Validated,
    ) -> Result<Jobs, JobSchedulerError> {
        let scheduler = JobScheduler::new().await?;
        if let Some(cron) = &config.reconcile_cron {
            let reconciler = state.reconciler.clone();
            add(&scheduler, cron, "reconciliation", move || {
                let reconciler = reconciler.clone();
                async move {
                    match runs::run_pass(&reconciler, Trigger::Schedule, Vec::new()).await {
                        Ok(_) => {}
                        Err(ReconcileError::AlreadyRunning) => tracing::info!(
                            "scheduled reconciliation skipped: another pass is running"
                        ),
                        Err(e) => tracing::warn!(error = %e, "scheduled reconciliation failed"),
                    }
                }
            })
            .await?;
        }
        if let Some(days) = config.settings.retention.days {
            let store = state.store.clone();
            add(&scheduler, &config.settings.retention.schedule, "retention purge", move || {
                let store = store.clone();
                async move {
                    if let Err(e) = retention::run_once(&store, days).await {
                        tracing::warn!(error = %e, "retention purge failed; the next run resumes");
                    }
                }
            })
            .await?;
        }
        let store = state.store.clone();
        add(
            &scheduler,
            PURGE_PARKED_CRON,
            "purging expired early callbacks",
            move || {
                let store = store.clone();
                async move {
                    if let Err(e) = statuses::purge_expired_parked(&store).await {
                        tracing::warn!(error = %e, "purging expired early callbacks failed");
                    }
                }
            },
        )
        .await?;
        blocking(
            &scheduler,
            &state.store,
            SETTLE_TALLIES_CRON,
            "settling message tallies",
            |s| s.settle_tallies(),
        )
        .await?;
        blocking(
            &scheduler,
            &state.store,
            REFRESH_STATISTICS_CRON,
            "refreshing planner statistics",
            |s| s.refresh_statistics(),
        )
        .await?;
        scheduler.start().await?;
        // Once per start: stored error categories follow the current error table.
        let store = state.store.clone();
        let catch_up = tokio::spawn(async move {
            if let Err(e) = recategorize::run(&store).await {
                tracing::warn!(error = %e, "recategorising stored errors failed; the next start resumes");
            }
            // Once per database, on the categories just brought up to date.
            if let Err(e) = suppressions::backfill(&store).await {
                tracing::warn!(error = %e, "backfilling suppressions failed; the next start resumes");
            }
        });
        Ok(Jobs {
            scheduler,
            catch_up,
        })
    }

    /// Whether the once-per-start catch-up (recategorising, then the suppression
    /// backfill) has ended.
    pub fn catch_up_finished(&self) -> bool {
        self.catch_up.is_finished()
    }

    pub async fn stop(mut self) -> Result<(), JobSchedulerError> {
        self.catch_up.abort();
        self.scheduler.shutdown().await
    }
}

async fn add<F, Fut>(
    scheduler: &JobScheduler,
    cron: &str,
    what: &'static str,
    run: F,
) -> Result<(), JobSchedulerError>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let run = Arc::new(run);
    let job = Job::new_async(cron, move |_, _| {
        let run = run.clone();
        Box::pin(async move { run().await })
    })?;
    scheduler.add(job).await?;
    tracing::info!(cron, "{what} scheduled");
    Ok(())
}

/// A store job that blocks (one statement batch), run on the blocking pool.
async fn blocking(
    scheduler: &JobScheduler,
    store: &Store,
    cron: &str,
    what: &'static str,
    job: fn(&Store) -> Result<(), StoreError>,
) -> Result<(), JobSchedulerError> {
    let store = store.clone();
    add(scheduler, cron, what, move || {
        let store = store.clone();
        async move {
            match tokio::task::spawn_blocking(move || job(&store)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "{what} failed"),
                Err(e) => tracing::warn!(error = %e, "{what} panicked"),
            }
        }
    })
    .await
}
