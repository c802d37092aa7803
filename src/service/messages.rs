//! Finding messages: the filter scoped to the caller, pages, counts, one message,
//! its status history, and a campaign's funnel.
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::ServiceError;
use super::paging::{PagePlans, fetch_page};
use crate::domain::FieldError;
use crate::domain::access::Caller;
use crate::domain::campaign::{self, Funnel};
use crate::domain::filter::Counts;
use crate::domain::filter::{FilterDraft, MessageQuery};
use crate::domain::message::{Message, required};
use crate::domain::page::Cursor;
use crate::domain::status_event::HistoryEvent;
use crate::service::AppState;
use crate::store::messages as store;
use crate::store::status_events;

/// A filter as sent, validated and narrowed to the caller's hotels.
pub fn query(
    state: &AppState,
    caller: &Caller,
    mut draft: FilterDraft,
) -> Result<MessageQuery, ServiceError> {
    draft.hotel_ids = caller
        .scope("filter.hotel_ids", draft.hotel_ids)?
        .sql_list();
    let stuck_since = state.stuck_after.since(Utc::now());
    Ok(MessageQuery::build(draft, &state.regions, stuck_since)?)
}

/// Marks the messages that are stuck now (derived when read, never stored).
pub fn mark_stuck(state: &AppState, messages: &mut [Message]) {
    let since = state.stuck_after.since(Utc::now());
    for m in messages {
        m.stuck = since.holds(m);
    }
}

/// One page of matching messages, newest first, and the next page's token.
pub async fn list(
    state: &AppState,
    query: MessageQuery,
    page_size: i32,
    page_token: &str,
) -> Result<(Vec<Message>, String), ServiceError> {
    let fingerprint = query.fingerprint();
    let (mut rows, next) = fetch_page(
        state,
        PagePlans::ChosenByFetch,
        page_size,
        page_token,
        fingerprint,
        "message",
        move |c, cursor, limit| store::list(c, &query, cursor, limit),
        |m| Cursor {
            at: m.created_at,
            id: m.id.clone(),
        },
    )
    .await?;
    mark_stuck(state, &mut rows);
    Ok((rows, next))
}

/// The counts of a filter, and how many of its messages are stuck now.
pub async fn count(state: &AppState, query: MessageQuery) -> Result<Counts, ServiceError> {
    let since = state.stuck_after.since(Utc::now());
    state
        .store
        .run_choosing_plans(move |c| store::count(c, &query, Some(since)))
        .await
        .map_err(ServiceError::store("message"))
}

/// One message the caller may see; another hotel's is "not found", like a missing one.
pub async fn get(state: &AppState, caller: &Caller, id: &str) -> Result<Message, ServiceError> {
    let id = required("id", id)?;
    let hotels = caller.all_hotels().sql_list();
    let what = format!("message {id:?}");
    let mut found = state
        .store
        .run(move |c| store::get(c, &id, &hotels))
        .await
        .map_err(ServiceError::store(what))?;
    mark_stuck(state, std::slice::from_mut(&mut found));
    Ok(found)
}

/// Every status event kept for a visible message, in the order they happened.
pub async fn history(
    state: &AppState,
    caller: &Caller,
    message_id: &str,
) -> Result<Vec<HistoryEvent>, ServiceError> {
    let id = required("message_id", message_id)?;
    let hotels = caller.all_hotels().sql_list();
    let what = format!("message {id:?}");
    state
        .store
        .run(move |c| {
            // Another hotel's message reads as one that does not exist.
            store::get(c, &id, &hotels)?;
            status_events::history(c, &id)
        })
        .await
        .map_err(ServiceError::store(what))
}

/// A campaign of one hotel, and its funnel over messages recorded in [after, before).
pub struct CampaignStats {
    pub hotel_id: String,
    pub campaign_id: String,
    pub campaign_name: Option<String>,
    pub funnel: Funnel,
}

pub async fn campaign_stats(
    state: &AppState,
    caller: &Caller,
    hotel_id: &str,
    campaign_id: &str,
    after: Option<DateTime<Utc>>,
    before: Option<DateTime<Utc>>,
) -> Result<CampaignStats, ServiceError> {
    let hotel_id = required("hotel_id", hotel_id)?;
    let campaign_id = required("campaign_id", campaign_id)?;
    if let (Some(a), Some(b)) = (after, before)
        && b < a
    {
        return Err(FieldError::new("sent_before", "is earlier than sent_after").into());
    }
    caller.scope("hotel_id", vec![hotel_id.clone()])?;
    let what = format!("campaign {campaign_id:?} of hotel {hotel_id:?}");
    let (h, c) = (hotel_id.clone(), campaign_id.clone());
    let counts = state
        .store
        .run(move |conn| store::campaign_counts(conn, &h, &c, after, before))
        .await
        .map_err(ServiceError::store(what))?;
    Ok(CampaignStats {
        hotel_id,
        campaign_id,
        campaign_name: counts.campaign_name,
        funnel: campaign::funnel(&counts.by_status),
    })
}

/// Rows read from the store at a time by an export.
const EXPORT_PAGE: usize = 500;
/// Messages buffered towards a slow reader.
const EXPORT_BUFFER: usize = 256;

/// Every matching message, newest first, as a stream. The bounded channel is the flow
/// control: when the reader is slow the producer waits, so memory holds one page and
/// the buffer, whatever the total. Dropping the receiver stops the export.
pub fn export(
    state: Arc<AppState>,
    caller: &Caller,
    query: MessageQuery,
) -> Result<tokio::sync::mpsc::Receiver<Result<Message, ServiceError>>, ServiceError> {
    // Counted as open until the last row is read or the reader goes away.
    let permit = state.streams.open(caller)?;
    let (tx, rx) = tokio::sync::mpsc::channel(EXPORT_BUFFER);
    tokio::spawn(async move {
        let _permit = permit;
        let mut cursor: Option<Cursor> = None;
        loop {
            let (q, after) = (query.clone(), cursor.clone());
            let page = match state
                .store
                .run(move |c| store::list(c, &q, after.as_ref(), EXPORT_PAGE))
                .await
            {
                Ok(page) => page,
                Err(e) => {
                    let _ = tx.send(Err(ServiceError::store("message")(e))).await;
                    return;
                }
            };
            let mut page = page;
            mark_stuck(&state, &mut page);
            let full = page.len() == EXPORT_PAGE;
            cursor = page.last().map(|m| Cursor {
                at: m.created_at,
                id: m.id.clone(),
            });
            for m in page {
                if tx.send(Ok(m)).await.is_err() {
                    return; // the reader went away
                }
            }
            if !full {
                return;
            }
        }
    });
    Ok(rx)
}
