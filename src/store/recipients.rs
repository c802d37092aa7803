//! What CheckRecipients reads: every message to a set of phones or emails in a hotel,
//! and the flags on them. Set-based: a few queries for 1000 recipients.
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::connection::from_db;
use super::schema::{flags, messages};
use super::{DbConn, StoreError};
use crate::domain::error_category::ErrorCategory;
use crate::domain::flag::FlagState;
use crate::domain::message::{Channel, MessageStatus};
use crate::domain::recipient::PastMessage;
use crate::with_conn;

/// A whole CheckRecipients batch (MAX_BATCH) in one statement per table: one round
/// trip each, well under SQLite's 32,766 bound parameters.
const CHUNK: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Address {
    Phone,
    Email,
}

/// (of this hotel, address, channel, status, error category, status changed at, id)
type HistoryRow = (bool, Option<String>, i32, i32, i32, NaiveDateTime, String);

/// Past messages to each of `keys` (stored phones, or normalised emails).
pub fn history(
    conn: &mut DbConn,
    hotel_id: &str,
    address: Address,
    keys: &[String],
) -> Result<Vec<(String, PastMessage)>, StoreError> {
    // Looked up by address alone, the hotel checked on the few rows found: with the
    // hotel in the WHERE clause the planner may walk the whole hotel instead of the
    // address index (500 ms instead of a few at 100,000 messages). The hotel is
    // compared in the SELECT, so a row of another hotel costs a boolean, not a string.
    let mut rows: Vec<HistoryRow> = Vec::new();
    with_conn!(conn, c => {
        for chunk in keys.chunks(CHUNK) {
            let q = match address {
                Address::Phone => messages::table
                    .filter(messages::recipient_phone.eq_any(chunk.to_vec()))
                    .select((messages::hotel_id.eq(hotel_id), messages::recipient_phone, messages::channel, messages::status, messages::error_category, messages::status_changed_at, messages::id))
                    .into_boxed(),
                Address::Email => messages::table
                    .filter(messages::email_normalized.eq_any(chunk.to_vec()))
                    .select((messages::hotel_id.eq(hotel_id), messages::email_normalized, messages::channel, messages::status, messages::error_category, messages::status_changed_at, messages::id))
                    .into_boxed(),
            };
            rows.extend(q.load::<HistoryRow>(c)?);
        }
    });
    Ok(rows
        .into_iter()
        .filter(|r| r.0)
        .filter_map(|(_, key, channel, status, category, at, id)| {
            Some((
                key?,
                PastMessage {
                    id,
                    channel: Channel::from_code(channel)?,
                    status: MessageStatus::from_code(status)?,
                    error_category: ErrorCategory::from_code(category).unwrap_or_default(),
                    at: from_db(at),
                },
            ))
        })
        .collect())
}

/// A flag on a recipient, as CheckRecipients needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientFlag {
    pub key: String,
    pub id: String,
    pub state: FlagState,
    pub corrected_phone: Option<String>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// (recipient, flag id, state, corrected phone, updated at)
type FlagKeyRow = (Option<String>, String, i32, Option<String>, NaiveDateTime);

/// Open and resolved flags on these recipients.
pub fn flags_on(
    conn: &mut DbConn,
    hotel_id: &str,
    address: Address,
    keys: &[String],
) -> Result<Vec<RecipientFlag>, StoreError> {
    let states = vec![
        FlagState::Open.code(),
        FlagState::Acknowledged.code(),
        FlagState::Resolved.code(),
    ];
    let mut rows: Vec<FlagKeyRow> = Vec::new();
    with_conn!(conn, c => {
        for chunk in keys.chunks(CHUNK) {
            let base = flags::table
                .filter(flags::hotel_id.eq(hotel_id.to_string()))
                .filter(flags::state.eq_any(states.clone()))
                .into_boxed();
            let q = match address {
                Address::Phone => base
                    .filter(flags::message_phone.eq_any(chunk.to_vec()))
                    .select((flags::message_phone, flags::id, flags::state, flags::corrected_phone, flags::updated_at)),
                Address::Email => base
                    .filter(flags::message_email.eq_any(chunk.to_vec()))
                    .select((flags::message_email, flags::id, flags::state, flags::corrected_phone, flags::updated_at)),
            };
            rows.extend(q.load::<FlagKeyRow>(c)?);
        }
    });
    Ok(rows
        .into_iter()
        .filter_map(|(key, id, state, corrected_phone, at)| {
            Some(RecipientFlag {
                key: key?,
                id,
                state: FlagState::from_code(state)?,
                corrected_phone,
                updated_at: from_db(at),
            })
        })
        .collect())
}
