//! Retention: messages older than the period go (their history, checks and flags with
//! them, by ON DELETE CASCADE), and so do closed flags; in small batches, each its own
//! short transaction, so a purge never holds a long lock.
use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::connection::to_db;
use super::message_key::id_keys;
use super::schema::{flags, messages};
use super::{DbConn, StoreError, WriteTransaction};
use crate::domain::flag::FlagState;
use crate::with_conn;

/// Rows deleted by one purge batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    pub messages: i64,
    pub flags: i64,
}

/// Deletes at most `batch` closed flags and `batch` messages older than `cutoff`.
pub fn purge_batch(
    conn: &mut DbConn,
    cutoff: DateTime<Utc>,
    batch: usize,
) -> Result<Purged, StoreError> {
    let cutoff = to_db(cutoff);
    let closed = vec![FlagState::Resolved.code(), FlagState::Dismissed.code()];
    with_conn!(conn, c => c.write_transaction(|c| {
        let flag_ids: Vec<String> = flags::table
            .filter(flags::state.eq_any(closed.clone()))
            .filter(flags::updated_at.lt(cutoff))
            .select(flags::id)
            .limit(batch as i64)
            .load(c)?;
        let flags = diesel::delete(flags::table.filter(flags::id.eq_any(flag_ids))).execute(c)? as i64;
        let message_ids: Vec<String> = messages::table
            .filter(messages::created_at.lt(cutoff))
            .select(messages::id)
            .limit(batch as i64)
            .load(c)?;
        let messages = diesel::delete(messages::table.filter(messages::id.eq_any(id_keys(message_ids))))
            .execute(c)? as i64;
        Ok(Purged { messages, flags })
    }))
}
