//! Flags: raised by the reconciliation, worked by CSMs.
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Date, Integer, Text, Timestamp};

use super::connection::{from_db, to_db};
use super::dialect::Dialect;
use super::fragments::{filter_in, row_after, static_sql};
use super::rows::FlagRow;
use super::schema::flags;
use super::{DbConn, StoreError, WriteTransaction};
use crate::domain::error_category::ErrorCategory;
use crate::domain::flag::{
    self, Flag, FlagChange, FlagOrder, FlagPriority, FlagQuery, FlagReason, FlagState,
};
use crate::domain::message::Channel;
use crate::domain::page::Cursor;
use crate::domain::suppression::AddressKey;
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
            stay_key: f.stay_key.clone(),
            check_in_date: f.check_in_date,
            check_out_date: f.check_out_date,
            queue_check_in: f.queue_check_in(),
            message_ids: f.message_ids.join(" "),
            attempts: f.attempts,
            channels_tried: f
                .channels_tried
                .iter()
                .map(|c| c.code().to_string())
                .collect::<Vec<_>>()
                .join(","),
            reached_at: f.reached_at.map(to_db),
            reached_channel: f.reached_channel.map(|c| c.code()),
            priority: f.priority.code(),
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
            priority: FlagPriority::from_code(r.priority).ok_or_else(|| {
                StoreError::Corrupt(format!("flag {} has an unknown priority", r.id))
            })?,
            created_at: from_db(r.created_at),
            updated_at: from_db(r.updated_at),
            message_ids: r
                .message_ids
                .split_whitespace()
                .map(str::to_string)
                .collect(),
            channels_tried: r
                .channels_tried
                .split(',')
                .filter_map(|c| c.trim().parse().ok().and_then(Channel::from_code))
                .collect(),
            reached_at: r.reached_at.map(from_db),
            reached_channel: r.reached_channel.and_then(Channel::from_code),
            stay_key: r.stay_key,
            check_in_date: r.check_in_date,
            check_out_date: r.check_out_date,
            attempts: r.attempts,
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

/// Where a flag stands in the query's order, as a page cursor. The urgency order's
/// extra keys (priority, check-in) ride in the cursor's id: "P|YYYY-MM-DD|flag id".
pub fn cursor_of(f: &Flag, order: FlagOrder) -> Cursor {
    match order {
        FlagOrder::Oldest => Cursor {
            at: f.created_at,
            id: f.id.clone(),
        },
        FlagOrder::Urgency => Cursor {
            at: f.created_at,
            id: format!("{}|{}|{}", f.priority.code(), f.queue_check_in(), f.id),
        },
    }
}

/// The urgency keys of a cursor made by `cursor_of`.
fn urgency_keys(cursor: &Cursor) -> Result<(i32, chrono::NaiveDate, String), StoreError> {
    let bad = || StoreError::Corrupt("page token does not fit the flag queue".into());
    let mut parts = cursor.id.splitn(3, '|');
    let priority = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
    let day = parts.next().and_then(|d| d.parse().ok()).ok_or_else(bad)?;
    let id = parts.next().ok_or_else(bad)?.to_string();
    Ok((priority, day, id))
}

/// A page of the queue after `cursor`, in the query's order: by urgency (priority,
/// check-in date with none last, creation) or oldest first.
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
    let urgency = match (q.order, cursor) {
        (FlagOrder::Urgency, Some(c)) => Some(urgency_keys(c)?),
        _ => None,
    };
    let rows: Vec<FlagRow> = with_conn!(conn, c => {
        let mut query = flags::table.into_boxed();
        query = filter_in!(query, flags::hotel_id, q.hotel_ids.as_slice());
        if q.states == [FlagState::Open, FlagState::Acknowledged] {
            // Literal, so that the partial indexes of the open queue apply.
            query = query.filter(static_sql::<Bool>("state IN (1, 2)"));
        } else if !q.states.is_empty() {
            query = query.filter(flags::state.eq_any(q.states.iter().map(|s| s.code()).collect::<Vec<_>>()));
        }
        if !q.reasons.is_empty() {
            query = query.filter(flags::reason.eq_any(q.reasons.iter().map(|r| r.code()).collect::<Vec<_>>()));
        }
        if !q.priorities.is_empty() {
            query = query.filter(flags::priority.eq_any(q.priorities.iter().map(|p| p.code()).collect::<Vec<_>>()));
        }
        if let Some(d) = q.check_in_from {
            query = query.filter(flags::check_in_date.ge(d));
        }
        if let Some(d) = q.check_in_to {
            query = query.filter(flags::check_in_date.le(d));
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
        match q.order {
            FlagOrder::Oldest => {
                if let Some(cur) = cursor {
                    query = query.filter(row_after(
                        (flags::created_at, flags::id),
                        (to_db(cur.at).into_sql::<Timestamp>(), cur.id.clone().into_sql::<Text>()),
                    ));
                }
                query = query.order((flags::created_at.asc(), flags::id.asc()));
            }
            FlagOrder::Urgency => {
                if let (Some(cur), Some((priority, day, id))) = (cursor, &urgency) {
                    query = query.filter(row_after(
                        (flags::priority, flags::queue_check_in, flags::created_at, flags::id),
                        (
                            (*priority).into_sql::<Integer>(),
                            (*day).into_sql::<Date>(),
                            to_db(cur.at).into_sql::<Timestamp>(),
                            id.clone().into_sql::<Text>(),
                        ),
                    ));
                }
                query = query.order((
                    flags::priority.asc(),
                    flags::queue_check_in.asc(),
                    flags::created_at.asc(),
                    flags::id.asc(),
                ));
            }
        }
        query
            .limit(limit as i64)
            .select(FlagRow::as_select())
            .load(c)?
    });
    rows.into_iter().map(Flag::try_from).collect()
}

/// Applies a CSM's change if the workflow allows it from the flag's current state.
/// A change that raced another one is refused rather than lost. Resolving with a
/// corrected phone suppresses the old number (CORRECTED) in the same transaction.
pub fn update(
    conn: &mut DbConn,
    id: &str,
    hotel_ids: &[String],
    change: &FlagChange,
    by: &str,
    now: DateTime<Utc>,
    key: &AddressKey,
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
    let corrected = match (&next.message_phone, &next.corrected_phone) {
        (Some(old), Some(new)) if next.state == FlagState::Resolved && old != new => {
            Some(super::suppressions::corrected_row(
                key,
                &next.hotel_id,
                old,
                new,
                &next.id,
                next.updated_at,
                by,
            ))
        }
        _ => None,
    };
    with_conn!(conn, c => c.write_transaction(|c| {
        let updated = diesel::update(
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
        .execute(c)?;
        if updated == 0 {
            return Err(StoreError::Conflict(
                "the flag changed meanwhile; read it again and retry".into(),
            ));
        }
        if let Some(row) = &corrected {
            c.insert_suppressions_chunk(std::slice::from_ref(row))?;
        }
        Ok(())
    }))?;
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

/// The open (or acknowledged) flag of each of these stays of one hotel that has one:
/// (stay key, flag id), one query per 500 stays.
pub fn open_by_stay(
    conn: &mut DbConn,
    hotel_id: &str,
    stay_keys: &[String],
) -> Result<Vec<(String, String)>, StoreError> {
    let open = [FlagState::Open.code(), FlagState::Acknowledged.code()];
    let mut out = Vec::new();
    for chunk in stay_keys.chunks(500) {
        let rows: Vec<(String, String)> = with_conn!(conn, c => flags::table
            .filter(flags::hotel_id.eq(hotel_id.to_string()))
            .filter(flags::stay_key.eq_any(chunk.to_vec()))
            .filter(flags::state.eq_any(open))
            .select((flags::stay_key, flags::id))
            .load(c)?);
        out.extend(rows);
    }
    Ok(out)
}
