//! Early callbacks, parked (API.md "Early callbacks are parked, not lost"): a status
//! event addressed by provider + provider id that matches no message waits, with the
//! caller's hotel scope and an expiry, for RecordMessages to record its message in one
//! of those hotels; it is then applied in that same transaction, through the same fold
//! (precedence, per-status times, history with its own outcome). Expired events are
//! purged by the scheduler.
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::connection::{from_db, to_db};
use super::schema::parked_events;
use super::status_events::Parking;
use super::{DbConn, StoreError, WriteTransaction};
use crate::domain::message::MessageStatus;
use crate::domain::status_event::{StatusEvent, Target};
use crate::with_conn;

#[derive(Debug, Clone, Insertable, Queryable, Selectable)]
#[diesel(table_name = parked_events, treat_none_as_default_value = false)]
pub struct ParkedRow {
    pub id: String,
    pub provider: String,
    pub provider_message_id: String,
    pub hotel_scope: String,
    pub status: i32,
    pub occurred_at: chrono::NaiveDateTime,
    pub event_id: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub received_at: chrono::NaiveDateTime,
    pub expires_at: chrono::NaiveDateTime,
}

/// The caller's hotels as stored: `,h1,h2,` (sorted), or `` for every hotel.
pub fn scope_of(hotel_ids: &[String]) -> String {
    if hotel_ids.is_empty() {
        return String::new();
    }
    let mut hotels = hotel_ids.to_vec();
    hotels.sort();
    hotels.dedup();
    format!(",{},", hotels.join(","))
}

/// Whether a message of `hotel_id` may take an event parked with `scope`: never one
/// that would cross hotels.
pub fn scope_allows(scope: &str, hotel_id: &str) -> bool {
    scope.is_empty() || scope.contains(&format!(",{hotel_id},"))
}

/// The row that parks `e`.
pub fn row(
    e: &StatusEvent,
    provider: &str,
    provider_message_id: &str,
    hotel_ids: &[String],
    now: DateTime<Utc>,
    parking: &Parking,
) -> ParkedRow {
    ParkedRow {
        id: uuid::Uuid::now_v7().to_string(),
        provider: provider.to_string(),
        provider_message_id: provider_message_id.to_string(),
        hotel_scope: scope_of(hotel_ids),
        status: e.status.code(),
        occurred_at: to_db(e.occurred_at),
        event_id: e.event_id.clone(),
        error_code: e.error_code.clone(),
        error_message: e.error_message.clone(),
        received_at: to_db(now),
        expires_at: to_db(now + parking.ttl),
    }
}

/// A message just recorded that may have parked events: (id, hotel, provider, provider id).
pub type Recorded<'a> = (&'a str, &'a str, &'a str, &'a str);

/// Takes the parked events of these new messages (deleting them), as events addressed
/// to the messages' ids; and how many per provider. For use inside a transaction.
macro_rules! take_parked {
    ($c:expr, $recorded:expr) => {{
        use diesel::prelude::*;
        use $crate::store::parking::{ParkedRow, scope_allows};
        use $crate::store::schema::parked_events;
        let c = &mut *$c;
        let recorded: &[$crate::store::parking::Recorded] = $recorded;
        let pids: Vec<&str> = recorded.iter().map(|r| r.3).collect();
        let mut taken: Vec<$crate::domain::status_event::StatusEvent> = Vec::new();
        let mut by_provider: std::collections::BTreeMap<String, i64> = Default::default();
        let mut ids: Vec<String> = Vec::new();
        for chunk in pids.chunks(500) {
            let rows: Vec<ParkedRow> = parked_events::table
                .filter(parked_events::provider_message_id.eq_any(chunk))
                .select(ParkedRow::as_select())
                .load(c)?;
            for row in rows {
                let Some(message) = recorded.iter().find(|r| {
                    r.2 == row.provider
                        && r.3 == row.provider_message_id
                        && scope_allows(&row.hotel_scope, r.1)
                }) else {
                    continue;
                };
                *by_provider.entry(row.provider.clone()).or_default() += 1;
                ids.push(row.id.clone());
                taken.push($crate::store::parking::event_of(row, message.0)?);
            }
        }
        for chunk in ids.chunks(500) {
            diesel::delete(parked_events::table.filter(parked_events::id.eq_any(chunk)))
                .execute(c)?;
        }
        (taken, by_provider)
    }};
}
pub(crate) use take_parked;

/// A parked row as the event it was, now addressed to `message_id`.
pub fn event_of(row: ParkedRow, message_id: &str) -> Result<StatusEvent, StoreError> {
    Ok(StatusEvent {
        target: Target::Id(message_id.to_string()),
        status: MessageStatus::from_code(row.status).ok_or_else(|| {
            StoreError::Corrupt(format!("parked event {} has an unknown status", row.id))
        })?,
        occurred_at: from_db(row.occurred_at),
        event_id: row.event_id,
        error_code: row.error_code,
        error_message: row.error_message,
    })
}

/// Deletes the events parked past their expiry; how many per provider.
pub fn purge_expired(
    conn: &mut DbConn,
    now: DateTime<Utc>,
) -> Result<BTreeMap<String, i64>, StoreError> {
    let cutoff = to_db(now);
    with_conn!(conn, c => c.write_transaction(|c| {
        let expired: Vec<(String, String)> = parked_events::table
            .filter(parked_events::expires_at.le(cutoff))
            .select((parked_events::id, parked_events::provider))
            .load(c)?;
        let mut by_provider: BTreeMap<String, i64> = BTreeMap::new();
        for (_, provider) in &expired {
            *by_provider.entry(provider.clone()).or_default() += 1;
        }
        let ids: Vec<String> = expired.into_iter().map(|(id, _)| id).collect();
        for chunk in ids.chunks(500) {
            diesel::delete(parked_events::table.filter(parked_events::id.eq_any(chunk)))
                .execute(c)?;
        }
        Ok(by_provider)
    }))
}
