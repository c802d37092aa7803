//! RecordMessages: validate each message, check its hotel against the caller's scope,
//! record the batch (idempotent on the hub's external id), tell the live feed.
use super::{AppState, ItemResult, ServiceError, check_batch};
use crate::domain::FieldError;
use crate::domain::access::Caller;
use crate::domain::message::{self, ChangedMessage, MessageDraft, Recorded};
use crate::domain::phone;
use crate::store::messages as store;

/// Records the valid items of a batch; the results follow `drafts` (an item that could
/// not even be read arrives as its error). One bad item does not sink the batch.
pub async fn record(
    state: &AppState,
    caller: &Caller,
    drafts: Vec<Result<MessageDraft, FieldError>>,
) -> Result<Vec<ItemResult<Recorded>>, ServiceError> {
    check_batch("messages", drafts.len())?;
    let mut results: Vec<Option<ItemResult<Recorded>>> = Vec::with_capacity(drafts.len());
    let mut valid = Vec::with_capacity(drafts.len());
    for (index, draft) in drafts.into_iter().enumerate() {
        let checked = draft
            .and_then(|d| message::validate(d, &state.regions))
            .and_then(|m| caller.may_write(&m.hotel_id).map(|()| m));
        match checked {
            Ok(m) => {
                valid.push((index, m));
                results.push(None);
            }
            Err(e) => results.push(Some(Err(e
                .within(&format!("messages[{index}]"))
                .to_string()))),
        }
    }
    let new_messages: Vec<_> = valid.iter().map(|(_, m)| m.clone()).collect();
    let key = state.store.suppression_key().clone();
    let recorded = state
        .store
        .run(move |c| store::record(c, &new_messages, chrono::Utc::now(), &key))
        .await
        .map_err(ServiceError::store("message"))?;
    let created: Vec<ChangedMessage> = recorded
        .results
        .iter()
        .filter(|r| r.created)
        .map(|r| ChangedMessage {
            message_id: r.message_id.clone(),
            previous: None,
        })
        .collect();
    state.feed.committed(created).await;
    // Early callbacks that waited for these messages have just been applied.
    state.feed.committed(recorded.status_changes).await;
    for (provider, n) in &recorded.unparked {
        super::metrics::record_parked(provider, "applied", *n);
    }
    for ((index, m), r) in valid.iter().zip(recorded.results) {
        if r.created {
            tracing::info!(
                message_id = %r.message_id,
                hotel_id = %m.hotel_id,
                channel = m.channel.name(),
                phone = %m.recipient_phone.as_deref().map(phone::mask).unwrap_or_default(),
                "message recorded"
            );
        }
        results[*index] = Some(Ok(r));
    }
    Ok(results
        .into_iter()
        .map(|r| r.expect("every message has a result"))
        .collect())
}
