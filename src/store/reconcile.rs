//! What a reconciliation pass reads and writes: candidate messages in id order, the
//! open flags in id order, every message and flag of a chunk's stays (one set-based
//! query each), and per chunk the flags raised, changed or closed plus the "checked"
//! marks, in one transaction.
use std::collections::HashSet;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::connection::{from_db, to_db};
use super::dialect::Dialect;
use super::flags::insert_new;
use super::message_key::{id_key, id_keys};
use super::messages::MessageRow;
use super::rows::{CheckRow, FlagRow};
use super::schema::{flags, messages, reconciliation_checks as checks};
use super::{DbConn, StoreError, WriteTransaction};
use crate::domain::arrival::{StayKind, stay_of};
use crate::domain::flag::{Flag, FlagState};
use crate::domain::message::{Channel, Message, MessageStatus};
use crate::with_conn;

/// A failing message the pass has not looked at since it last changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub id: String,
    pub hotel_id: String,
    pub stay_key: String,
    pub stay_kind: StayKind,
    pub updated_at: DateTime<Utc>,
}

type CandidateRow = (
    String,
    String,
    i32,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    NaiveDateTime,
);

/// Up to `limit` messages after `after_id` (id order) whose status is `status`, of
/// these hotels (empty: all), not checked since they last changed. One status at a
/// time keeps it a pure range scan of the (status, id) index: with several, the
/// database would sort every candidate for each chunk.
pub fn candidates(
    conn: &mut DbConn,
    status: MessageStatus,
    hotel_ids: &[String],
    after_id: &str,
    limit: usize,
) -> Result<Vec<Candidate>, StoreError> {
    let code = status.code();
    let rows: Vec<CandidateRow> = with_conn!(conn, c => {
        let mut q = messages::table
            .left_join(checks::table)
            .filter(messages::status.eq(code))
            .filter(messages::id.gt(id_key(after_id)))
            .filter(
                checks::message_id
                    .nullable()
                    .is_null()
                    .or(checks::message_updated_at.nullable().ne(messages::updated_at.nullable())),
            )
            .into_boxed();
        if !hotel_ids.is_empty() {
            q = q.filter(messages::hotel_id.eq_any(hotel_ids.to_vec()));
        }
        q.order(messages::id)
            .limit(limit as i64)
            .select((
                messages::id,
                messages::hotel_id,
                messages::channel,
                messages::recipient_phone,
                messages::email_normalized,
                messages::pms_guest_id,
                messages::pms_reservation_id,
                messages::updated_at,
            ))
            .load(c)?
    });
    Ok(rows
        .into_iter()
        .map(|r| {
            let channel = Channel::from_code(r.2).unwrap_or(Channel::Email);
            let (stay_kind, stay_key) = stay_of(
                r.6.as_deref(),
                r.5.as_deref(),
                channel,
                r.3.as_deref(),
                r.4.as_deref(),
                &r.0,
            );
            Candidate {
                stay_key,
                stay_kind,
                updated_at: from_db(r.7),
                id: r.0,
                hotel_id: r.1,
            }
        })
        .collect())
}

/// Up to `limit` open (or acknowledged) flags after `after_id` (id order), of these
/// hotels (empty: all): (id, hotel id, stay key).
pub fn open_flags(
    conn: &mut DbConn,
    hotel_ids: &[String],
    after_id: &str,
    limit: usize,
) -> Result<Vec<(String, String, String)>, StoreError> {
    let open = [FlagState::Open.code(), FlagState::Acknowledged.code()];
    Ok(with_conn!(conn, c => {
        let mut q = flags::table
            .filter(flags::state.eq_any(open))
            .filter(flags::id.gt(after_id.to_string()))
            .into_boxed();
        if !hotel_ids.is_empty() {
            q = q.filter(flags::hotel_id.eq_any(hotel_ids.to_vec()));
        }
        q.order(flags::id)
            .limit(limit as i64)
            .select((flags::id, flags::hotel_id, flags::stay_key))
            .load(c)?
    }))
}

/// Stay keys per query: SQLite takes 32,766 parameters.
const STAYS_PER_QUERY: usize = 1000;

/// The messages of some stays (each with its stay key) and their flags.
pub type Stays = (Vec<(String, Message)>, Vec<Flag>);

/// A stay to read, and where its key comes from when known (a flag's is not).
pub type StayRef = (String, Option<StayKind>);

/// Every message of these stays of one hotel, each with its stay key, and every flag
/// of them (open or closed). Each kind of key is read through its own index, one
/// set-based query per kind present (a chunk of candidates is mostly one kind):
/// asking every index for every key would cost four index searches per stay.
pub fn stays(conn: &mut DbConn, hotel_id: &str, stays: &[StayRef]) -> Result<Stays, StoreError> {
    let mut found = Vec::new();
    let mut flag_rows: Vec<FlagRow> = Vec::new();
    for chunk in stays.chunks(STAYS_PER_QUERY) {
        let wanted: HashSet<&str> = chunk.iter().map(|(k, _)| k.as_str()).collect();
        let of = |kind: StayKind| -> Vec<String> {
            chunk
                .iter()
                .filter(|(_, k)| k.is_none_or(|k| k == kind))
                .map(|(key, _)| key.clone())
                .collect()
        };
        let mut seen: HashSet<String> = HashSet::new();
        for kind in [
            StayKind::Reservation,
            StayKind::Guest,
            StayKind::Phone,
            StayKind::Email,
            StayKind::Message,
        ] {
            let keys = of(kind);
            if keys.is_empty() {
                continue;
            }
            // The hotel is checked below, not in SQL: given `hotel_id = ?`, SQLite's
            // planner (with statistics: four hotels) scans the whole hotel through an
            // index that starts with it instead of probing the key's own index.
            let rows: Vec<MessageRow> = with_conn!(conn, c => {
                let q = messages::table.into_boxed();
                let q = match kind {
                    StayKind::Reservation => q.filter(messages::pms_reservation_id.eq_any(keys)),
                    StayKind::Guest => q
                        .filter(messages::pms_guest_id.eq_any(keys))
                        .filter(messages::pms_reservation_id.is_null()),
                    StayKind::Phone => q.filter(messages::recipient_phone.eq_any(keys)),
                    StayKind::Email => q.filter(messages::email_normalized.eq_any(keys)),
                    StayKind::Message => q.filter(messages::id.eq_any(id_keys(keys))),
                };
                q.select(MessageRow::as_select()).load(c)?
            });
            for row in rows {
                if row.hotel_id != hotel_id || !seen.insert(row.id.clone()) {
                    continue;
                }
                let m = Message::try_from(row)?;
                let key = crate::domain::arrival::stay_key(&m);
                if wanted.contains(key.as_str()) {
                    found.push((key, m));
                }
            }
        }
        let keys: Vec<String> = chunk.iter().map(|(k, _)| k.clone()).collect();
        flag_rows.extend(with_conn!(conn, c => flags::table
            .filter(flags::hotel_id.eq(hotel_id.to_string()))
            .filter(flags::stay_key.eq_any(keys))
            .select(FlagRow::as_select())
            .load::<FlagRow>(c)?));
    }
    let flags = flag_rows
        .into_iter()
        .map(Flag::try_from)
        .collect::<Result<_, _>>()?;
    Ok((found, flags))
}

/// A flag the pass changed, and what it was when read: written only if no one (a CSM)
/// changed it meanwhile.
#[derive(Debug, Clone)]
pub struct FlagUpdate {
    pub next: Flag,
    pub was_state: FlagState,
    pub was_updated_at: DateTime<Utc>,
}

/// What one chunk wrote.
#[derive(Debug, Default)]
pub struct ChunkWritten {
    /// The new flags actually raised (an open flag of the stay wins over a new one).
    pub raised: Vec<Flag>,
    /// The changed or closed flags actually written.
    pub updated: Vec<Flag>,
}

/// Records one chunk's outcome atomically: new flags (one open flag per stay at most),
/// changed and closed flags, and the messages checked, each with the `updated_at` it
/// was checked at.
pub fn record_chunk(
    conn: &mut DbConn,
    new_flags: &[Flag],
    updates: &[FlagUpdate],
    checked: &[(String, DateTime<Utc>)],
    now: DateTime<Utc>,
) -> Result<ChunkWritten, StoreError> {
    let rows: Vec<CheckRow> = checked
        .iter()
        .map(|(id, updated_at)| CheckRow {
            message_id: id.clone(),
            checked_at: to_db(now),
            message_updated_at: to_db(*updated_at),
        })
        .collect();
    with_conn!(conn, c => c.write_transaction(|c| {
        let mut written = ChunkWritten::default();
        for u in updates {
            let row = FlagRow::from(&u.next);
            let n = diesel::update(
                flags::table
                    .filter(flags::id.eq(&row.id))
                    .filter(flags::state.eq(u.was_state.code()))
                    .filter(flags::updated_at.eq(to_db(u.was_updated_at))),
            )
            .set((
                flags::message_id.eq(id_key(row.message_id.clone())),
                flags::reason.eq(row.reason),
                flags::detail.eq(&row.detail),
                flags::message_phone.eq(&row.message_phone),
                flags::pms_phone.eq(&row.pms_phone),
                flags::suggested_phone.eq(&row.suggested_phone),
                flags::message_email.eq(&row.message_email),
                flags::pms_email.eq(&row.pms_email),
                flags::guest_name.eq(&row.guest_name),
                flags::campaign_name.eq(&row.campaign_name),
                flags::error_category.eq(row.error_category),
                flags::state.eq(row.state),
                flags::resolution.eq(&row.resolution),
                flags::resolved_by.eq(&row.resolved_by),
                flags::updated_at.eq(row.updated_at),
                (
                    flags::check_in_date.eq(row.check_in_date),
                    flags::check_out_date.eq(row.check_out_date),
                    flags::queue_check_in.eq(row.queue_check_in),
                    flags::message_ids.eq(&row.message_ids),
                    flags::attempts.eq(row.attempts),
                    flags::channels_tried.eq(&row.channels_tried),
                    flags::reached_at.eq(row.reached_at),
                    flags::reached_channel.eq(row.reached_channel),
                    flags::priority.eq(row.priority),
                ),
            ))
            .execute(c)?;
            if n == 1 {
                written.updated.push(u.next.clone());
            }
        }
        written.raised = insert_new(c, new_flags)?;
        upsert_checks(c, &rows)?;
        Ok(written)
    }))
}

fn upsert_checks<C: Dialect>(c: &mut C, rows: &[CheckRow]) -> Result<(), StoreError> {
    for chunk in rows.chunks(500) {
        c.upsert_checks_chunk(chunk)?;
    }
    Ok(())
}

/// Tries to become the one pass running across every instance on this PostgreSQL
/// (a session advisory lock held by `conn` until [`release_pass_lock`]). SQLite: true.
pub fn try_pass_lock(conn: &mut DbConn) -> Result<bool, StoreError> {
    with_conn!(conn, c => c.try_pass_lock())
}

pub fn release_pass_lock(conn: &mut DbConn) -> Result<(), StoreError> {
    with_conn!(conn, c => c.release_pass_lock())
}
