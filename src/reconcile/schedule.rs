//! Runs reconciliation passes on a cron schedule (tokio-cron-scheduler; six fields,
//! seconds first, UTC). The job only calls `Reconciler::run_once`; a failed pass is
//! logged and the schedule goes on.
use std::sync::Arc;

use tokio_cron_scheduler::{Job, JobScheduler, JobSchedulerError};

use super::{ReconcileError, Reconciler};
use crate::domain::run::Trigger;

/// The default: every 10 minutes.
pub const DEFAULT_CRON: &str = "0 */10 * * * *";

/// Checks a cron expression the way the scheduler will read it.
pub fn check_cron(expr: &str) -> Result<(), String> {
    Job::new_async(expr, |_, _| Box::pin(async {}))
        .map(|_| ())
        .map_err(|e| {
            format!(
                "{expr:?} is not a 6-field cron expression (sec min hour day month weekday): {e}"
            )
        })
}

/// Starts the schedule; keep the scheduler and `shutdown` it to stop.
pub async fn start(
    reconciler: Arc<Reconciler>,
    cron: &str,
) -> Result<JobScheduler, JobSchedulerError> {
    let scheduler = JobScheduler::new().await?;
    let job = Job::new_async(cron, move |_id, _scheduler| {
        let reconciler = reconciler.clone();
        Box::pin(async move {
            match reconciler.run_once(Trigger::Schedule, Vec::new()).await {
                Ok(_) => {}
                Err(ReconcileError::AlreadyRunning) => {
                    tracing::info!("scheduled reconciliation skipped: another pass is running")
                }
                Err(e) => tracing::warn!(error = %e, "scheduled reconciliation failed"),
            }
        })
    })?;
    scheduler.add(job).await?;
    scheduler.start().await?;
    tracing::info!(cron, "reconciliation scheduled");
    Ok(scheduler)
}
