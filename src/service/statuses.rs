//! UpdateStatuses: validate each provider event, apply the batch to the caller's
//! hotels in one transaction (precedence, duplicates and rejections decided there),
//! tell the live feed, count the outcomes.
use super::{AppState, ServiceError, check_batch};
use crate::domain::FieldError;
use crate::domain::access::Caller;
use crate::domain::status_event::{self, EventDraft, EventOutcome, EventResult};
use crate::store::status_events;

/// Applies the valid events of a batch; the results follow `drafts`, an event that
/// could not be read or validated being REJECTED with its reason.
pub async fn update(
    state: &AppState,
    caller: &Caller,
    drafts: Vec<Result<EventDraft, FieldError>>,
) -> Result<Vec<EventResult>, ServiceError> {
    check_batch("events", drafts.len())?;
    let now = chrono::Utc::now();
    let mut results: Vec<Option<EventResult>> = vec![None; drafts.len()];
    let mut valid = Vec::with_capacity(drafts.len());
    let mut valid_index = Vec::with_capacity(drafts.len());
    for (index, draft) in drafts.into_iter().enumerate() {
        match draft.and_then(|d| status_event::validate(d, now)) {
            Ok(event) => {
                valid.push(event);
                valid_index.push(index);
            }
            Err(e) => {
                results[index] = Some(EventResult {
                    outcome: EventOutcome::Rejected,
                    message_id: None,
                    current_status: None,
                    // The front end places it under `events[index]`, as the store's.
                    error: Some(e.to_string()),
                })
            }
        }
    }
    let hotels = caller.all_hotels().sql_list();
    let parking = state.parking;
    let key = state.store.suppression_key().clone();
    let providers: Vec<Option<String>> = valid
        .iter()
        .map(|e| e.provider().map(str::to_string))
        .collect();
    let applied = state
        .store
        .run(move |c| status_events::apply(c, &valid, &hotels, now, &parking, &key))
        .await
        .map_err(ServiceError::store("message"))?;
    for (r, provider) in applied.results.iter().zip(&providers) {
        if r.outcome == EventOutcome::Parked {
            super::metrics::record_parked(provider.as_deref().unwrap_or(""), "parked", 1);
        }
    }
    state.feed.committed(applied.status_changes).await;
    for (index, r) in valid_index.into_iter().zip(applied.results) {
        results[index] = Some(r);
    }
    let results: Vec<EventResult> = results
        .into_iter()
        .map(|r| r.expect("every event has a result"))
        .collect();
    for r in &results {
        super::metrics::record_status_outcome(r.outcome.name());
    }
    Ok(results)
}

/// Drops the early callbacks whose message never came within `parked_ttl_hours`,
/// counting them per provider (metric and one log line, no personal data).
pub async fn purge_expired_parked(
    store: &crate::store::Store,
) -> Result<i64, crate::store::StoreError> {
    let now = chrono::Utc::now();
    let expired = store
        .run(move |c| crate::store::parking::purge_expired(c, now))
        .await?;
    let mut total = 0;
    for (provider, n) in &expired {
        super::metrics::record_parked(provider, "expired", *n);
        tracing::info!(provider = %provider, events = n, "early callbacks expired without their message");
        total += n;
    }
    Ok(total)
}
