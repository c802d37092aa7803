//! Stored error categories follow the error table: after a start with a table that
//! changed (new codes, new categories), the messages with an error code and their
//! history are recategorised once, in the background, a batch per short transaction.
use std::time::Duration;

use crate::domain::error_category::table_fingerprint;
use crate::store::recategorize::{self, ERROR_TABLE_KEY};
use crate::store::{Store, StoreError};

/// Messages read per transaction.
const BATCH: usize = 1000;

/// Recategorises what the current table classifies differently, unless it was done
/// for this table already. Returns how many messages changed category.
pub async fn run(store: &Store) -> Result<usize, StoreError> {
    let fingerprint = table_fingerprint();
    let done = store
        .run(|c| recategorize::meta(c, ERROR_TABLE_KEY))
        .await?;
    if done.as_deref() == Some(fingerprint.as_str()) {
        return Ok(0);
    }
    let (mut after, mut messages, mut events) = (String::new(), 0, 0);
    loop {
        let from = after.clone();
        let batch = store
            .run(move |c| recategorize::batch(c, &from, BATCH))
            .await?;
        messages += batch.messages_changed;
        events += batch.events_changed;
        match batch.last_id {
            Some(last) => after = last,
            None => break,
        }
        // Leave room to the calls being served.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    store
        .run(move |c| recategorize::set_meta(c, ERROR_TABLE_KEY, &fingerprint))
        .await?;
    if messages + events > 0 {
        let flags = store
            .run(recategorize::open_flags_not_about_the_address)
            .await?;
        tracing::info!(
            messages,
            events,
            open_flags_to_dismiss = flags,
            "stored error categories now follow the current error table; the next \
             reconciliation pass dismisses the open flags whose failures are no longer \
             about the address"
        );
    }
    Ok(messages)
}
