//! What a reconciliation pass reads and writes: candidate messages, in id order, and
//! per chunk the flags raised plus the "checked" marks, in one transaction.
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::connection::{from_db, to_db};
use super::dialect::Dialect;
use super::flags::insert_new;
use super::rows::CheckRow;
use super::schema::{messages, reconciliation_checks as checks};
use super::{DbConn, StoreError, WriteTransaction};
use crate::domain::error_category::ErrorCategory;
use crate::domain::flag::Flag;
use crate::domain::message::{Channel, MessageStatus};
use crate::with_conn;

/// An undelivered message the pass has to look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub id: String,
    pub hotel_id: String,
    pub channel: Channel,
    pub recipient_phone: Option<String>,
    pub recipient_email: Option<String>,
    pub error_category: ErrorCategory,
    pub guest_name: Option<String>,
    pub campaign_name: Option<String>,
    pub pms_guest_id: Option<String>,
    pub pms_reservation_id: Option<String>,
    pub updated_at: DateTime<Utc>,
}

type CandidateRow = (
    String,
    String,
    i32,
    Option<String>,
    Option<String>,
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
            .filter(messages::id.gt(after_id.to_string()))
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
                messages::recipient_email,
                messages::error_category,
                messages::guest_name,
                messages::campaign_name,
                messages::pms_guest_id,
                messages::pms_reservation_id,
                messages::updated_at,
            ))
            .load(c)?
    });
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(Candidate {
                channel: Channel::from_code(r.2)?,
                error_category: ErrorCategory::from_code(r.5).unwrap_or_default(),
                updated_at: from_db(r.10),
                id: r.0,
                hotel_id: r.1,
                recipient_phone: r.3,
                recipient_email: r.4,
                guest_name: r.6,
                campaign_name: r.7,
                pms_guest_id: r.8,
                pms_reservation_id: r.9,
            })
        })
        .collect())
}

/// Records one chunk's outcome atomically: the flags (one open flag per message at
/// most) and the messages checked, each with the `updated_at` it was checked at.
/// Returns the flags actually raised.
pub fn record_chunk(
    conn: &mut DbConn,
    new_flags: &[Flag],
    checked: &[(String, DateTime<Utc>)],
    now: DateTime<Utc>,
) -> Result<Vec<Flag>, StoreError> {
    let rows: Vec<CheckRow> = checked
        .iter()
        .map(|(id, updated_at)| CheckRow {
            message_id: id.clone(),
            checked_at: to_db(now),
            message_updated_at: to_db(*updated_at),
        })
        .collect();
    with_conn!(conn, c => c.write_transaction(|c| {
        let raised = insert_new(c, new_flags)?;
        upsert_checks(c, &rows)?;
        Ok(raised)
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
