//! The purge of old data: off unless a retention period is configured; `jobs` runs it
//! on its schedule (daily by default).
use std::time::Duration;

use chrono::Utc;

use crate::store::retention::{Purged, purge_batch};
use crate::store::{Store, StoreError};

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
