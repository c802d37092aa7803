//! Flags: raised by the reconciliation, worked by CSMs.
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text, Timestamp};

use super::connection::{from_db, to_db};
use super::dialect::Dialect;
use super::rows::FlagRow;
use super::schema::flags;
use super::{DbConn, StoreError, WriteTransaction};
use crate::domain::error_category::ErrorCategory;
use crate::domain::flag::{self, Flag, FlagChange, FlagQuery, FlagReason, FlagState};
use crate::domain::page::Cursor;
use crate::with_conn;

const CHUNK: usize = 500;

impl From<&Flag> for FlagRow {
    fn from(f: &Flag) -> Self {
        FlagRow {
            id: f.id.clone(),
            hotel_id: f.hotel_id.clone(),
            message_id: f.message_id.clone(),
            run_id: f.run_id.clone(),
            reason: f.reason.code(),
            detail: f.detail.clone(),
            message_phone: f.message_phone.clone(),
            pms_phone: f.pms_phone.clone(),
            suggested_phone: f.suggested_phone.clone(),
            message_email: f.message_email.clone(),
            pms_email: f.pms_email.clone(),
            guest_name: f.guest_name.clone(),
            campaign_name: f.campaign_name.clone(),
            error_category: f.error_category.code(),
            corrected_phone: f.corrected_phone.clone(),
            state: f.state.code(),
            resolution: f.resolution.clone(),
            note: f.note.clone(),
            created_at: to_db(f.created_at),
            updated_at: to_db(f.updated_at),
            resolved_by: f.resolved_by.clone(),
        }
    }
}

impl TryFrom<FlagRow> for Flag {
    type Error = StoreError;

    fn try_from(r: FlagRow) -> Result<Self, StoreError> {
        Ok(Flag {
            reason: FlagReason::from_code(r.reason).ok_or_else(|| {
                StoreError::Corrupt(format!("flag {} has an unknown reason", r.id))
            })?,
            state: FlagState::from_code(r.state).ok_or_else(|| {
                StoreError::Corrupt(format!("flag {} has an unknown state", r.id))
            })?,
            error_category: ErrorCategory::from_code(r.error_category).unwrap_or_default(),
            created_at: from_db(r.created_at),
            updated_at: from_db(r.updated_at),
            id: r.id,
            hotel_id: r.hotel_id,
            message_id: r.message_id,
            run_id: r.run_id,
            detail: r.detail,
            message_phone: r.message_phone,
            pms_phone: r.pms_phone,
            suggested_phone: r.suggested_phone,
            message_email: r.message_email,
            pms_email: r.pms_email,
            guest_name: r.guest_name,
            campaign_name: r.campaign_name,
            corrected_phone: r.corrected_phone,
            resolution: r.resolution,
            note: r.note,
            resolved_by: r.resolved_by,
        })
    }
}

/// Inserts new flags; one whose message already has an open flag is not raised (the
/// unique index on open flags decides, so two passes cannot both raise one).
/// Returns the flags raised.
pub fn insert_new<C: Dialect>(c: &mut C, new: &[Flag]) -> Result<Vec<Flag>, StoreError> {
    let rows: Vec<FlagRow> = new.iter().map(FlagRow::from).collect();
    let mut raised = Vec::new();
    for chunk in rows.chunks(CHUNK) {
        let ids = c.insert_flags_chunk(chunk)?;
        raised.extend(new.iter().filter(|f| ids.contains(&f.id)).cloned());
    }
    Ok(raised)
}

/// One flag of a visible hotel (empty: any hotel).
pub fn get(conn: &mut DbConn, id: &str, hotel_ids: &[String]) -> Result<Flag, StoreError> {
    let row: FlagRow = with_conn!(conn, c => {
        let mut q = flags::table.filter(flags::id.eq(id.to_string())).into_boxed();
        if !hotel_ids.is_empty() {
            q = q.filter(flags::hotel_id.eq_any(hotel_ids.to_vec()));
        }
        q.select(FlagRow::as_select()).first(c)?
    });
    Flag::try_from(row)
}

/// A page of the queue, oldest first, after `cursor`.
pub fn list(
    conn: &mut DbConn,
    q: &FlagQuery,
    cursor: Option<&Cursor>,
    limit: usize,
) -> Result<Vec<Flag>, StoreError> {
    let names = match &q.campaign_name {
        Some(needle) => {
            let names = super::messages::campaign_names_like(conn, &q.hotel_ids, needle)?;
            if names.is_empty() {
                return Ok(Vec::new());
            }
            Some(names)
        }
        None => None,
    };
    let rows: Vec<FlagRow> = with_conn!(conn, c => {
        let mut query = flags::table.into_boxed();
        if !q.hotel_ids.is_empty() {
            query = query.filter(flags::hotel_id.eq_any(q.hotel_ids.clone()));
        }
        if !q.states.is_empty() {
            query = query.filter(flags::state.eq_any(q.states.iter().map(|s| s.code()).collect::<Vec<_>>()));
        }
        if !q.reasons.is_empty() {
            query = query.filter(flags::reason.eq_any(q.reasons.iter().map(|r| r.code()).collect::<Vec<_>>()));
        }
        if let Some(names) = &names {
            query = query.filter(flags::campaign_name.eq_any(names.clone()));
        }
        if let Some(t) = q.created_after {
            query = query.filter(flags::created_at.ge(to_db(t)));
        }
        if let Some(t) = q.created_before {
            query = query.filter(flags::created_at.lt(to_db(t)));
        }
        if let Some(cur) = cursor {
            query = query.filter(
                diesel::dsl::sql::<Bool>("(created_at, id) > (")
                    .bind::<Timestamp, _>(to_db(cur.at))
                    .sql(", ")
                    .bind::<Text, _>(cur.id.clone())
                    .sql(")"),
            );
        }
        query
            .order((flags::created_at.asc(), flags::id.asc()))
            .limit(limit as i64)
            .select(FlagRow::as_select())
            .load(c)?
    });
    rows.into_iter().map(Flag::try_from).collect()
}

/// Applies a CSM's change if the workflow allows it from the flag's current state.
/// A change that raced another one is refused rather than lost.
pub fn update(
    conn: &mut DbConn,
    id: &str,
    hotel_ids: &[String],
    change: &FlagChange,
    by: &str,
    now: DateTime<Utc>,
) -> Result<Flag, StoreError> {
    let current = get(conn, id, hotel_ids)?;
    flag::check_move(current.state, change.state).map_err(StoreError::Conflict)?;
    let mut next = current.clone();
    if let Some(s) = change.state {
        next.state = s;
    }
    if change.note.is_some() {
        next.note = change.note.clone();
    }
    if change.resolution.is_some() {
        next.resolution = change.resolution.clone();
    }
    if change.corrected_phone.is_some() {
        next.corrected_phone = change.corrected_phone.clone();
    }
    if !next.state.is_open() {
        next.resolved_by = Some(by.to_string());
    }
    next.updated_at = crate::domain::page::truncate_micros(now);
    let updated = with_conn!(conn, c => c.write_transaction(|c| {
        diesel::update(
            flags::table
                .filter(flags::id.eq(id.to_string()))
                .filter(flags::state.eq(current.state.code())),
        )
        .set((
            flags::state.eq(next.state.code()),
            flags::note.eq(next.note.clone()),
            flags::resolution.eq(next.resolution.clone()),
            flags::corrected_phone.eq(next.corrected_phone.clone()),
            flags::resolved_by.eq(next.resolved_by.clone()),
            flags::updated_at.eq(to_db(next.updated_at)),
        ))
        .execute(c)
        .map_err(StoreError::from)
    }))?;
    if updated == 0 {
        return Err(StoreError::Conflict(
            "the flag changed meanwhile; read it again and retry".into(),
        ));
    }
    Ok(next)
}

/// Open-flag counts per reason (for metrics and the console).
pub fn open_counts(conn: &mut DbConn) -> Result<Vec<(FlagReason, i64)>, StoreError> {
    let rows: Vec<(i32, i64)> = with_conn!(conn, c => flags::table
        .filter(flags::state.eq_any(vec![FlagState::Open.code(), FlagState::Acknowledged.code()]))
        .group_by(flags::reason)
        .select((flags::reason, diesel::dsl::count_star()))
        .load(c)?);
    Ok(rows
        .into_iter()
        .filter_map(|(r, n)| FlagReason::from_code(r).map(|r| (r, n)))
        .collect())
}

/// The open (or acknowledged) flag on each of these messages that has one:
/// (message id, flag id), one query per 500 messages.
pub fn open_by_message(
    conn: &mut DbConn,
    message_ids: &[String],
) -> Result<Vec<(String, String)>, StoreError> {
    let open = [FlagState::Open.code(), FlagState::Acknowledged.code()];
    let mut out = Vec::new();
    for chunk in message_ids.chunks(500) {
        let rows: Vec<(String, String)> = with_conn!(conn, c => flags::table
            .filter(flags::message_id.eq_any(chunk.to_vec()))
            .filter(flags::state.eq_any(open))
            .select((flags::message_id, flags::id))
            .load(c)?);
        out.extend(rows);
    }
    Ok(out)
}
