//! Stored error categories brought in line with the current error table: the messages
//! and history rows that carry an error code, in id order, a batch per transaction
//! (short transactions: PostgreSQL never holds many row locks for long), and the
//! table's fingerprint kept in `sentlog_meta` once done, so it runs once per table.
use std::collections::BTreeMap;

use diesel::prelude::*;

use super::message_key::{id_key, id_keys};
use super::schema::{messages, sentlog_meta, status_events};
use super::{DbConn, StoreError, WriteTransaction};
use crate::domain::error_category::categorize;
use crate::with_conn;

/// The `sentlog_meta` key of the error table the stored categories follow.
pub const ERROR_TABLE_KEY: &str = "error_table";

pub fn meta(conn: &mut DbConn, key: &str) -> Result<Option<String>, StoreError> {
    Ok(with_conn!(conn, c => sentlog_meta::table
        .filter(sentlog_meta::key.eq(key.to_string()))
        .select(sentlog_meta::value)
        .first::<String>(c)
        .optional()?))
}

pub fn set_meta(conn: &mut DbConn, key: &str, value: &str) -> Result<(), StoreError> {
    with_conn!(conn, c => {
        diesel::insert_into(sentlog_meta::table)
            .values((sentlog_meta::key.eq(key), sentlog_meta::value.eq(value)))
            .on_conflict(sentlog_meta::key)
            .do_update()
            .set(sentlog_meta::value.eq(value))
            .execute(c)?;
    });
    Ok(())
}

/// What one batch did: the last message id read (None: nothing left) and how many
/// messages and history rows changed category.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Batch {
    pub last_id: Option<String>,
    pub messages_changed: usize,
    pub events_changed: usize,
}

/// Recomputes the category of up to `limit` messages with an error code after
/// `after_id`, and of their history rows, in one transaction.
pub fn batch(conn: &mut DbConn, after_id: &str, limit: usize) -> Result<Batch, StoreError> {
    with_conn!(conn, c => c.write_transaction(|c| {
        let rows: Vec<(String, Option<String>, Option<String>, i32)> = messages::table
            .filter(messages::id.gt(id_key(after_id)))
            .filter(messages::error_code.is_not_null())
            .order(messages::id)
            .limit(limit as i64)
            .select((messages::id, messages::provider, messages::error_code, messages::error_category))
            .load(c)?;
        let mut out = Batch { last_id: rows.last().map(|r| r.0.clone()), ..Batch::default() };
        let mut messages_to: BTreeMap<i32, Vec<String>> = BTreeMap::new();
        let provider_of: BTreeMap<&str, Option<&str>> =
            rows.iter().map(|r| (r.0.as_str(), r.1.as_deref())).collect();
        for (id, provider, code, stored) in &rows {
            let now = categorize(provider.as_deref(), code.as_deref()).code();
            if now != *stored {
                messages_to.entry(now).or_default().push(id.clone());
            }
        }
        for (category, ids) in &messages_to {
            out.messages_changed += diesel::update(messages::table.filter(messages::id.eq_any(id_keys(ids.iter().cloned()))))
                .set(messages::error_category.eq(category))
                .execute(c)?;
        }
        let ids: Vec<&str> = provider_of.keys().copied().collect();
        let events: Vec<(String, String, Option<String>, i32)> = status_events::table
            .filter(status_events::message_id.eq_any(id_keys(ids)))
            .filter(status_events::error_code.is_not_null())
            .select((status_events::message_id, status_events::event_id, status_events::error_code, status_events::error_category))
            .load(c)?;
        for (message_id, event_id, code, stored) in events {
            let provider = provider_of.get(message_id.as_str()).copied().flatten();
            let now = categorize(provider, code.as_deref()).code();
            if now != stored {
                out.events_changed += diesel::update(
                    status_events::table
                        .filter(status_events::message_id.eq(id_key(message_id.clone())))
                        .filter(status_events::event_id.eq(&event_id)),
                )
                .set(status_events::error_category.eq(now))
                .execute(c)?;
            }
        }
        Ok(out)
    }))
}

/// Open (or acknowledged) flags whose latest message now fails for a reason that is
/// not about the address: the ones the next pass dismisses.
pub fn open_flags_not_about_the_address(conn: &mut DbConn) -> Result<i64, StoreError> {
    use super::schema::flags;
    let categories: Vec<i32> = crate::domain::error_category::ErrorCategory::ALL
        .into_iter()
        .filter(|c| c.is_not_about_the_recipient())
        .map(|c| c.code())
        .collect();
    let open = [
        crate::domain::flag::FlagState::Open.code(),
        crate::domain::flag::FlagState::Acknowledged.code(),
    ];
    Ok(with_conn!(conn, c => flags::table
        .inner_join(messages::table.on(messages::id.eq(flags::message_id)))
        .filter(flags::state.eq_any(open))
        .filter(messages::error_category.eq_any(categories.clone()))
        .count()
        .get_result::<i64>(c)?))
}
