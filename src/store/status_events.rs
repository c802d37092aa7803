//! Status events: applied to messages order-independently, kept as history.
//!
//! A batch is one transaction with set-based statements whatever its size: resolve
//! provider ids (1 query), lock and read the messages (1), read the batch's event ids
//! already seen (1), insert the history (1 per 500 events), update the changed messages
//! (1 per 1000 messages). On PostgreSQL the messages are locked in id order, so two
//! batches touching the same messages queue instead of deadlocking; SQLite has one
//! writer at a time.
use crate::domain::status_event::{EventResult, HistoryEvent};

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Integer, Nullable, Text, Timestamp};

use super::connection::{from_db, to_db};
use super::dialect::Dialect;
use super::message_key::{Key, MessageKey, id_key, id_keys};
use super::rows::{HistoryRow, StateRow};
use super::schema::status_events;
use super::{DbConn, StoreError, WriteTransaction};
use crate::domain::error_category::ErrorCategory;
use crate::domain::message::ChangedMessage;
use crate::domain::message::{Channel, MessageStatus};
use crate::domain::status::{StatusReport, StatusState};
use crate::domain::status_event::{Current, EventOutcome, StatusEvent};
use crate::domain::suppression::AddressKey;
use crate::with_conn;

pub(crate) const HISTORY_CHUNK: usize = 500;
/// Messages per UPDATE: 11 parameters each, under SQLite's 32,766 for a whole batch
/// (at most 1000 events), so the tally trigger runs once and appends one set of tallies.
pub(crate) const UPDATE_CHUNK: usize = 1000;

impl StateRow {
    pub(crate) fn current(&self) -> Result<Current, StoreError> {
        Ok(Current {
            channel: Channel::from_code(self.channel),
            provider: self.provider.clone(),
            state: self.state()?,
        })
    }

    fn state(&self) -> Result<StatusState, StoreError> {
        Ok(StatusState {
            status: MessageStatus::from_code(self.status).ok_or_else(|| {
                StoreError::Corrupt(format!("message {} has an unknown status", self.id))
            })?,
            status_changed_at: from_db(self.status_changed_at),
            status_event_id: self.status_event_id.clone(),
            error_code: self.error_code.clone(),
            error_message: self.error_message.clone(),
            error_category: ErrorCategory::from_code(self.error_category).unwrap_or_default(),
            sent_at: self.sent_at.map(from_db),
            delivered_at: self.delivered_at.map(from_db),
            read_at: self.read_at.map(from_db),
            failed_at: self.failed_at.map(from_db),
        })
    }
}

impl HistoryRow {
    /// The history row of a message's first status (the one it was recorded with).
    pub fn first(message_id: &str, report: &StatusReport, received_at: DateTime<Utc>) -> Self {
        Self::kept(message_id, report, EventOutcome::Applied, received_at)
    }

    /// The history row of an event kept with its outcome.
    pub fn kept(
        message_id: &str,
        report: &StatusReport,
        outcome: EventOutcome,
        received_at: DateTime<Utc>,
    ) -> Self {
        HistoryRow {
            message_id: message_id.to_string(),
            event_id: report.event_id.clone(),
            status: report.status.code(),
            occurred_at: to_db(report.occurred_at),
            received_at: to_db(received_at),
            error_code: report.error_code.clone(),
            error_message: report.error_message.clone(),
            error_category: report.error_category.code(),
            outcome: outcome.code(),
        }
    }
}

/// Inserts history rows in chunks; an event already kept is left as it is.
pub fn insert_history<C: Dialect>(c: &mut C, rows: &[HistoryRow]) -> Result<(), StoreError> {
    for chunk in rows.chunks(HISTORY_CHUNK) {
        c.insert_history_chunk(chunk)?;
    }
    Ok(())
}

/// What a batch did: a result per event, and the messages whose status changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub results: Vec<EventResult>,
    pub status_changes: Vec<ChangedMessage>,
    /// Events parked for messages not recorded yet.
    pub parked: usize,
}

/// How early callbacks are parked (`parked_ttl_hours`, `max_parked_per_hotel`).
#[derive(Debug, Clone, Copy)]
pub struct Parking {
    pub ttl: chrono::Duration,
    /// Events parked at most per caller scope (a hotel, or a caller's set of hotels).
    pub cap: i64,
}

impl Default for Parking {
    /// The configuration's defaults: 24 hours, 10,000 events.
    fn default() -> Self {
        Parking {
            ttl: chrono::Duration::hours(24),
            cap: 10_000,
        }
    }
}

/// Applies a batch of events to the messages of `hotel_ids` (empty: every hotel), in
/// one transaction. Results follow `events`. An event addressed by provider id to no
/// message is parked (`parking`); past the cap the whole batch is refused. Failures
/// that teach a suppression write it, deliveries lift the ones they contradict, in the
/// same transaction (`key` hashes the addresses).
pub fn apply(
    conn: &mut DbConn,
    events: &[StatusEvent],
    hotel_ids: &[String],
    now: DateTime<Utc>,
    parking: &Parking,
    key: &AddressKey,
) -> Result<Applied, StoreError> {
    let numbered_placeholders = conn.backend() == super::Backend::Postgres;
    with_conn!(conn, c => c.write_transaction(|c| {
        apply_events!(c, events, hotel_ids, now, numbered_placeholders, Some(parking), key)
    }))
}

/// The body of `apply`, for any open transaction on a concrete connection `$c` (a
/// macro: diesel cannot take it generic over the connection, see `dialect`). Used by
/// `apply` and by RecordMessages to apply the events parked for its new messages.
macro_rules! apply_events {
    ($c:expr, $events:expr, $hotel_ids:expr, $now:expr, $numbered:expr, $parking:expr, $key:expr) => {{
        use std::collections::HashMap;
        use chrono::{DateTime, NaiveDateTime, Utc};
        use diesel::prelude::*;
        use $crate::domain::message::MessageStatus;
        use $crate::domain::status::StatusState;
        use $crate::domain::status_event::{
            self, Current, EventOutcome, EventResult, Kept, StatusEvent, Target,
        };
        use $crate::store::connection::from_db;
        use $crate::store::dialect::Dialect as _;
        use $crate::store::rows::HistoryRow;
        use $crate::store::schema::{messages, parked_events, status_events};
        use $crate::store::status_events::{
            Applied, HISTORY_CHUNK, Parking, UPDATE_CHUNK, insert_history, lock_states,
            update_states,
        };
        use $crate::store::{StoreError, parking, suppressions};
        let c = &mut *$c;
        let events: &[StatusEvent] = $events;
        let hotel_ids: &[String] = $hotel_ids;
        let now: DateTime<Utc> = $now;
        let parking: Option<&Parking> = $parking;
        // 1. Provider references -> message ids (within the caller's hotels).
        let refs: Vec<&String> = events
            .iter()
            .filter_map(|e| match &e.target {
                Target::Provider { provider_message_id, .. } => Some(provider_message_id),
                Target::Id(_) => None,
            })
            .collect();
        let mut by_ref: HashMap<(String, String), String> = HashMap::new();
        if !refs.is_empty() {
            let mut q = messages::table
                .filter(messages::provider_message_id.eq_any(refs))
                .select((messages::id, messages::provider, messages::provider_message_id))
                .into_boxed();
            if !hotel_ids.is_empty() {
                q = q.filter(messages::hotel_id.eq_any(hotel_ids.to_vec()));
            }
            let rows: Vec<(String, Option<String>, Option<String>)> = q.load(c)?;
            for (id, provider, pid) in rows {
                if let (Some(p), Some(pid)) = (provider, pid) {
                    by_ref.insert((p, pid), id);
                }
            }
        }
        let target_id = |t: &Target| -> Option<String> {
            match t {
                Target::Id(id) => Some(id.clone()),
                Target::Provider { provider, provider_message_id } => by_ref
                    .get(&(provider.clone(), provider_message_id.clone()))
                    .cloned(),
            }
        };

        // 2. The messages, read (and on PostgreSQL locked) in id order.
        let resolved: Vec<Option<String>> = events.iter().map(|e| target_id(&e.target)).collect();
        let mut ids: Vec<String> = resolved.iter().flatten().cloned().collect();
        ids.sort();
        ids.dedup();
        let mut current: HashMap<String, Current> = HashMap::new();
        // (hotel, phone, email) of each message, for its suppressions.
        let mut addresses: HashMap<String, (String, Option<String>, Option<String>)> = HashMap::new();
        for row in lock_states(c, &ids, hotel_ids)? {
            current.insert(row.id.clone(), row.current()?);
            addresses.insert(
                row.id.clone(),
                (row.hotel_id.clone(), row.recipient_phone.clone(), row.email_normalized.clone()),
            );
        }

        // 3. The events already kept for these messages, by id and by content (a
        //    message has a handful, so reading them all beats probing each event).
        let known: Vec<String> = current.keys().cloned().collect();
        let mut kept = Kept::default();
        for chunk in known.chunks(HISTORY_CHUNK) {
            let rows: Vec<(String, String, i32, NaiveDateTime, Option<String>)> = status_events::table
                .filter(status_events::message_id.eq_any(id_keys(chunk.iter().cloned())))
                .select((
                    status_events::message_id,
                    status_events::event_id,
                    status_events::status,
                    status_events::occurred_at,
                    status_events::error_code,
                ))
                .load(c)?;
            for (message_id, event_id, status, occurred_at, code) in rows {
                let Some(status) = MessageStatus::from_code(status) else {
                    return Err(StoreError::Corrupt(format!(
                        "an event of message {message_id} has an unknown status"
                    )));
                };
                kept.insert(&message_id, &event_id, status, from_db(occurred_at), code.as_deref());
            }
        }

        // 4. The rules decide (domain::status_event::fold), without the database.
        let mut decided = status_event::fold(events, &resolved, &mut current, &mut kept);

        // 5. Events addressed by provider id to no message yet wait for it.
        let mut parked = Vec::new();
        if let Some(parking) = parking {
            for (i, (e, id)) in events.iter().zip(&resolved).enumerate() {
                if let (Target::Provider { provider, provider_message_id }, None) = (&e.target, id) {
                    parked.push(parking::row(e, provider, provider_message_id, hotel_ids, now, parking));
                    decided.results[i] = EventResult {
                        outcome: EventOutcome::Parked,
                        message_id: None,
                        current_status: None,
                        error: None,
                    };
                }
            }
            if !parked.is_empty() {
                let scope = parking::scope_of(hotel_ids);
                let waiting: i64 = parked_events::table
                    .filter(parked_events::hotel_scope.eq(&scope))
                    .count()
                    .get_result(c)?;
                if waiting + parked.len() as i64 > parking.cap {
                    return Err(StoreError::Exhausted(format!(
                        "max_parked_per_hotel: {waiting} events already wait for messages of these hotels \
                         (at most {}); record the messages, or retry later",
                        parking.cap
                    )));
                }
                for chunk in parked.chunks(HISTORY_CHUNK) {
                    diesel::insert_into(parked_events::table).values(chunk).execute(c)?;
                }
            }
        }

        // 6. Write the history and the messages that changed, set-based.
        let history: Vec<HistoryRow> = decided
            .history
            .iter()
            .map(|(id, report, outcome)| HistoryRow::kept(id, report, *outcome, now))
            .collect();
        insert_history(c, &history)?;
        let updates: Vec<(&String, &StatusState)> = decided
            .changed
            .iter()
            .map(|id| (id, &current[id].state))
            .collect();
        for chunk in updates.chunks(UPDATE_CHUNK) {
            update_states($numbered, chunk, now).execute(c)?;
        }
        // 7. What the new statuses teach about their recipients.
        let facts: Vec<suppressions::Fact> = decided
            .status_changes
            .iter()
            .filter_map(|changed| {
                let id = &changed.message_id;
                let (hotel_id, phone, email) = addresses.get(id)?;
                let now_is = &current.get(id)?;
                Some(suppressions::Fact {
                    hotel_id,
                    message_id: id,
                    channel: now_is.channel?,
                    phone: phone.as_deref(),
                    email: email.as_deref(),
                    status: now_is.state.status,
                    error_category: now_is.state.error_category,
                    at: now_is.state.status_changed_at,
                })
            })
            .collect();
        suppressions::learn(c, $key, &facts)?;
        c.notify_changes(&decided.status_changes)?;
        Ok::<Applied, StoreError>(Applied {
            results: decided.results,
            status_changes: decided.status_changes,
            parked: parked.len(),
        })
    }};
}
pub(crate) use apply_events;

/// Reads the messages' status columns; PostgreSQL locks the rows, in id order.
pub(crate) fn lock_states<C: Dialect>(
    c: &mut C,
    ids: &[String],
    hotel_ids: &[String],
) -> Result<Vec<StateRow>, StoreError> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(HISTORY_CHUNK) {
        out.extend(c.lock_states_chunk(chunk, hotel_ids)?);
    }
    Ok(out)
}

/// One UPDATE for many messages: `WITH v(...) AS (VALUES ...) UPDATE ... FROM v`, a form
/// both PostgreSQL and SQLite (3.33+) accept.
pub(crate) fn update_states<DB>(
    numbered: bool,
    rows: &[(&String, &StatusState)],
    now: DateTime<Utc>,
) -> diesel::query_builder::BoxedSqlQuery<'static, DB, diesel::query_builder::SqlQuery>
where
    DB: diesel::backend::Backend
        + diesel::sql_types::HasSqlType<Text>
        + diesel::sql_types::HasSqlType<MessageKey>
        + diesel::sql_types::HasSqlType<Integer>
        + diesel::sql_types::HasSqlType<Timestamp>,
    String: diesel::serialize::ToSql<Text, DB>,
    Key: diesel::serialize::ToSql<MessageKey, DB>,
    i32: diesel::serialize::ToSql<Integer, DB>,
    NaiveDateTime: diesel::serialize::ToSql<Timestamp, DB>,
{
    const COLUMNS: [&str; 11] = [
        "id",
        "status",
        "status_changed_at",
        "status_event_id",
        "error_code",
        "error_message",
        "error_category",
        "sent_at",
        "delivered_at",
        "read_at",
        "failed_at",
    ];
    let mut n = 0;
    let mut next = || {
        n += 1;
        if numbered {
            format!("${n}")
        } else {
            "?".to_string()
        }
    };
    let values: Vec<String> = rows
        .iter()
        .map(|_| {
            let row: Vec<String> = COLUMNS.iter().map(|_| next()).collect();
            format!("({})", row.join(", "))
        })
        .collect();
    let sets: Vec<String> = COLUMNS[1..]
        .iter()
        .map(|c| format!("{c} = v.{c}"))
        .collect();
    let sql = format!(
        "WITH v({}) AS (VALUES {}) UPDATE messages SET {}, updated_at = {} FROM v WHERE messages.id = v.id",
        COLUMNS.join(", "),
        values.join(", "),
        sets.join(", "),
        next(),
    );
    let mut q = diesel::sql_query(sql).into_boxed::<DB>();
    for (id, s) in rows {
        q = q
            .bind::<MessageKey, _>(id_key((*id).clone()))
            .bind::<Integer, _>(s.status.code())
            .bind::<Timestamp, _>(to_db(s.status_changed_at))
            .bind::<Text, _>(s.status_event_id.clone())
            .bind::<Nullable<Text>, _>(s.error_code.clone())
            .bind::<Nullable<Text>, _>(s.error_message.clone())
            .bind::<Integer, _>(s.error_category.code())
            .bind::<Nullable<Timestamp>, _>(s.sent_at.map(to_db))
            .bind::<Nullable<Timestamp>, _>(s.delivered_at.map(to_db))
            .bind::<Nullable<Timestamp>, _>(s.read_at.map(to_db))
            .bind::<Nullable<Timestamp>, _>(s.failed_at.map(to_db));
    }
    q.bind::<Timestamp, _>(to_db(now))
}

/// Every kept event of a message, in `occurred_at` order (the caller checked that the
/// message is visible).
pub fn history(conn: &mut DbConn, message_id: &str) -> Result<Vec<HistoryEvent>, StoreError> {
    let rows: Vec<HistoryRow> = with_conn!(conn, c => status_events::table
        .filter(status_events::message_id.eq(id_key(message_id)))
        .order((status_events::occurred_at, status_events::event_id))
        .select(HistoryRow::as_select())
        .load(c)?);
    rows.into_iter()
        .map(|r| {
            Ok(HistoryEvent {
                status: MessageStatus::from_code(r.status)
                    .ok_or_else(|| StoreError::Corrupt("unknown status in history".into()))?,
                outcome: EventOutcome::from_code(r.outcome)
                    .ok_or_else(|| StoreError::Corrupt("unknown outcome in history".into()))?,
                error_category: ErrorCategory::from_code(r.error_category).unwrap_or_default(),
                occurred_at: from_db(r.occurred_at),
                received_at: from_db(r.received_at),
                message_id: r.message_id,
                event_id: r.event_id,
                error_code: r.error_code,
                error_message: r.error_message,
            })
        })
        .collect()
}
