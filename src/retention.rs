//! The scheduled purge: off unless a retention period is configured; daily by default.
use std::time::Duration;

use chrono::Utc;
use tokio_cron_scheduler::{Job, JobScheduler, JobSchedulerError};

use crate::store::retention::{Purged, purge_batch};
use crate::store::{Store, StoreError};

pub const DEFAULT_CRON: &str = "0 30 3 * * *";
const BATCH: usize = 1000;

/// Purges everything older than `days`, batch by batch, pausing between batches so
/// writers get the database. Returns the totals.
pub async fn run_once(store: &Store, days: u32) -> Result<Purged, StoreError> {
    let cutoff = Utc::now() - chrono::Duration::days(i64::from(days));
    let mut total = Purged::default();
    loop {
        let batch = store.run(move |c| purge_batch(c, cutoff, BATCH)).await?;
        total.messages += batch.messages;
        total.flags += batch.flags;
        if batch.messages < BATCH as i64 && batch.flags < BATCH as i64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tracing::info!(
        days,
        messages = total.messages,
        flags = total.flags,
        "retention purge done"
    );
    Ok(total)
}

/// Adds the purge to `scheduler` on `cron`.
pub async fn schedule(
    scheduler: &JobScheduler,
    store: Store,
    days: u32,
    cron: &str,
) -> Result<(), JobSchedulerError> {
    let job = Job::new_async(cron, move |_, _| {
        let store = store.clone();
        Box::pin(async move {
            if let Err(e) = run_once(&store, days).await {
                tracing::warn!(error = %e, "retention purge failed; the next run resumes");
            }
        })
    })?;
    scheduler.add(job).await?;
    tracing::info!(cron, days, "retention purge scheduled");
    Ok(())
}
