//! Suppressions: written in the transaction of the event that teaches them (status
//! application, RecordMessages of a failed message, a flag resolved with a corrected
//! number), read by CheckRecipients, never touched by the retention purge, blanked
//! (hash kept) by erasure. Matched by `AddressKey::hash` of the normalised address.
use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::connection::{from_db, to_db};
use super::dialect::Dialect;
use super::message_key::id_key;
use super::rows::SuppressionRow;
use super::schema::{flags, messages, sentlog_meta, suppressions};
use super::{DbConn, StoreError, WriteTransaction};
use crate::domain::error_category::ErrorCategory;
use crate::domain::flag::FlagState;
use crate::domain::message::{Channel, MessageStatus};
use crate::domain::page::Cursor;
use crate::domain::suppression::{self, AddressKey, Reason, Scope, Suppression};
use crate::with_conn;

const CHUNK: usize = 500;
/// The hashes of a whole CheckRecipients batch (1000) in one statement: one round trip.
const ADDRESSES_CHUNK: usize = 1000;
/// Who the server writes as: the name it closes flags with too.
use crate::domain::flag::RESOLVED_BY_SENTLOG as SERVER;

impl TryFrom<SuppressionRow> for Suppression {
    type Error = StoreError;

    fn try_from(r: SuppressionRow) -> Result<Self, StoreError> {
        Ok(Suppression {
            scope: Scope::from_code(r.scope)
                .ok_or_else(|| StoreError::Corrupt(format!("suppression {} scope", r.id)))?,
            reason: Reason::from_code(r.reason)
                .ok_or_else(|| StoreError::Corrupt(format!("suppression {} reason", r.id)))?,
            id: r.id,
            hotel_id: r.hotel_id,
            address: r.address,
            address_hash: r.address_hash,
            corrected: r.corrected,
            source_message_id: r.source_message_id,
            note: r.note,
            created_at: from_db(r.created_at),
            created_by: r.created_by,
            lifted_at: r.lifted_at.map(from_db),
            lifted_by: r.lifted_by,
            lift_note: r.lift_note,
        })
    }
}

/// A new suppression's row.
#[allow(clippy::too_many_arguments)]
pub fn new_row(
    key: &AddressKey,
    hotel_id: &str,
    address: &str,
    scope: Scope,
    reason: Reason,
    corrected: Option<String>,
    source_message_id: Option<String>,
    note: String,
    created_at: DateTime<Utc>,
    created_by: &str,
) -> SuppressionRow {
    SuppressionRow {
        id: uuid::Uuid::now_v7().to_string(),
        hotel_id: hotel_id.to_string(),
        address_hash: key.hash(address),
        address: address.to_string(),
        scope: scope.code(),
        reason: reason.code(),
        corrected,
        source_message_id,
        note,
        created_at: to_db(created_at),
        created_by: created_by.to_string(),
        lifted_at: None,
        lifted_by: None,
        lift_note: None,
    }
}

/// A message's status as status application or recording left it: what suppressions
/// learn from.
#[derive(Debug, Clone)]
pub struct Fact<'a> {
    pub hotel_id: &'a str,
    pub message_id: &'a str,
    pub channel: Channel,
    pub phone: Option<&'a str>,
    pub email: Option<&'a str>,
    pub status: MessageStatus,
    pub error_category: ErrorCategory,
    /// When that status happened.
    pub at: DateTime<Utc>,
}

impl Fact<'_> {
    /// The address the message went to, on its channel.
    fn address(&self) -> Option<&str> {
        if self.channel.uses_phone() {
            self.phone
        } else {
            self.email
        }
        .filter(|a| !a.is_empty())
    }
}

/// In the caller's transaction: failures that say the recipient must not be messaged
/// write suppressions; deliveries lift the invalid-address suppressions of their
/// address taught before them (consent is lifted only by RemoveSuppression).
pub(crate) fn learn<C: Dialect>(
    c: &mut C,
    key: &AddressKey,
    facts: &[Fact],
) -> Result<(), StoreError> {
    let mut rows = Vec::new();
    let mut delivered = Vec::new();
    for f in facts {
        let Some(address) = f.address() else { continue };
        match f.status {
            MessageStatus::Failed | MessageStatus::Undelivered => {
                if let Some((reason, scope)) = suppression::taught_by(f.error_category, f.channel) {
                    rows.push(new_row(
                        key,
                        f.hotel_id,
                        address,
                        scope,
                        reason,
                        None,
                        Some(f.message_id.to_string()),
                        format!(
                            "Message {} failed: {}.",
                            f.message_id,
                            f.error_category.name()
                        ),
                        f.at,
                        SERVER,
                    ));
                }
            }
            MessageStatus::Delivered | MessageStatus::Read => {
                delivered.push((key.hash(address), f));
            }
            _ => {}
        }
    }
    for chunk in rows.chunks(CHUNK) {
        c.insert_suppressions_chunk(chunk)?;
    }
    if delivered.is_empty() {
        return Ok(());
    }
    let hashes: Vec<String> = delivered.iter().map(|(h, _)| h.clone()).collect();
    for chunk in hashes.chunks(CHUNK) {
        for s in c.active_suppressions_chunk(chunk)? {
            if Reason::from_code(s.reason).is_none_or(|r| !r.lifted_by_delivery()) {
                continue;
            }
            let taught = from_db(s.created_at);
            if let Some((_, f)) = delivered
                .iter()
                .find(|(h, f)| *h == s.address_hash && f.hotel_id == s.hotel_id && f.at > taught)
            {
                c.lift_suppression(
                    &s.id,
                    to_db(f.at),
                    SERVER,
                    &format!(
                        "Message {} was delivered to this address at {}.",
                        f.message_id,
                        f.at.format("%Y-%m-%d %H:%M UTC")
                    ),
                )?;
            }
        }
    }
    Ok(())
}

/// Every suppression of one hotel for these address hashes, lifted ones included
/// (they say which failures a person or a delivery settled).
pub fn of_addresses(
    conn: &mut DbConn,
    hotel_id: &str,
    hashes: &[String],
) -> Result<Vec<Suppression>, StoreError> {
    let mut out = Vec::new();
    for chunk in hashes.chunks(ADDRESSES_CHUNK) {
        let rows: Vec<SuppressionRow> = with_conn!(conn, c => suppressions::table
            .filter(suppressions::address_hash.eq_any(chunk.to_vec()))
            .select(SuppressionRow::as_select())
            .load(c)?);
        for r in rows.into_iter().filter(|r| r.hotel_id == hotel_id) {
            out.push(Suppression::try_from(r)?);
        }
    }
    Ok(out)
}

/// What ListSuppressions asks.
#[derive(Debug, Clone, Default)]
pub struct SuppressionQuery {
    /// Empty: every hotel.
    pub hotel_ids: Vec<String>,
    pub reasons: Vec<Reason>,
    pub address_hash: Option<String>,
    pub include_lifted: bool,
}

/// Newest first, keyset-paged on (created_at, id).
pub fn list(
    conn: &mut DbConn,
    q: &SuppressionQuery,
    after: Option<&Cursor>,
    limit: usize,
) -> Result<Vec<Suppression>, StoreError> {
    let rows: Vec<SuppressionRow> = with_conn!(conn, c => {
        let mut query = suppressions::table
            .select(SuppressionRow::as_select())
            .order((suppressions::created_at.desc(), suppressions::id.desc()))
            .limit(limit as i64)
            .into_boxed();
        if !q.hotel_ids.is_empty() {
            query = query.filter(suppressions::hotel_id.eq_any(q.hotel_ids.clone()));
        }
        if !q.reasons.is_empty() {
            query = query.filter(
                suppressions::reason.eq_any(q.reasons.iter().map(|r| r.code()).collect::<Vec<_>>()),
            );
        }
        if let Some(h) = &q.address_hash {
            query = query.filter(suppressions::address_hash.eq(h.clone()));
        }
        if !q.include_lifted {
            query = query.filter(suppressions::lifted_at.is_null());
        }
        if let Some(cur) = after {
            let at = to_db(cur.at);
            query = query.filter(
                suppressions::created_at
                    .lt(at)
                    .or(suppressions::created_at.eq(at).and(suppressions::id.lt(cur.id.clone()))),
            );
        }
        query.load(c)?
    });
    rows.into_iter().map(Suppression::try_from).collect()
}

/// One suppression of the caller's hotels (empty: any).
pub fn get(conn: &mut DbConn, id: &str, hotel_ids: &[String]) -> Result<Suppression, StoreError> {
    let row: Option<SuppressionRow> = with_conn!(conn, c => {
        let mut q = suppressions::table
            .filter(suppressions::id.eq(id.to_string()))
            .select(SuppressionRow::as_select())
            .into_boxed();
        if !hotel_ids.is_empty() {
            q = q.filter(suppressions::hotel_id.eq_any(hotel_ids.to_vec()));
        }
        q.first(c).optional()?
    });
    row.map(Suppression::try_from)
        .unwrap_or(Err(StoreError::NotFound))
}

/// Adds a suppression; an address already suppressed for that reason answers the
/// suppression it has (the call is safe to repeat).
pub fn add(conn: &mut DbConn, row: SuppressionRow) -> Result<Suppression, StoreError> {
    let (hotel, hash, reason) = (row.hotel_id.clone(), row.address_hash.clone(), row.reason);
    let kept: SuppressionRow = with_conn!(conn, c => c.write_transaction(|c| {
        c.insert_suppressions_chunk(std::slice::from_ref(&row))?;
        Ok::<_, StoreError>(suppressions::table
            .filter(suppressions::hotel_id.eq(&hotel))
            .filter(suppressions::address_hash.eq(&hash))
            .filter(suppressions::reason.eq(reason))
            .filter(suppressions::lifted_at.is_null())
            .select(SuppressionRow::as_select())
            .first(c)?)
    }))?;
    Suppression::try_from(kept)
}

/// Lifts a suppression (the guest opted in again), recording who and why; the row
/// stays. One already lifted is a conflict.
pub fn remove(
    conn: &mut DbConn,
    id: &str,
    hotel_ids: &[String],
    by: &str,
    note: &str,
    now: DateTime<Utc>,
) -> Result<Suppression, StoreError> {
    let current = get(conn, id, hotel_ids)?;
    if let Some(at) = current.lifted_at {
        return Err(StoreError::Conflict(format!(
            "suppression {id} was already lifted at {} by {}",
            at.format("%Y-%m-%d %H:%M UTC"),
            current.lifted_by.as_deref().unwrap_or("?")
        )));
    }
    let now = crate::domain::page::truncate_micros(now);
    let lifted = with_conn!(conn, c => c.lift_suppression(id, to_db(now), by, note)?);
    if !lifted {
        return Err(StoreError::Conflict(format!(
            "suppression {id} changed meanwhile; read it again"
        )));
    }
    get(conn, id, hotel_ids)
}

/// The `sentlog_meta` keys of the address key.
const SECRET_KEY: &str = "suppression_secret";
const FINGERPRINT_KEY: &str = "suppression_key_fingerprint";

/// Where the address key came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    Configured,
    /// Generated earlier and kept in the database.
    Stored,
    /// Generated now (first start without a configured secret).
    Generated,
}

/// The key suppressions are hashed with: the configured secret, else the one generated
/// and kept in `sentlog_meta` at an earlier start, else a new random one kept there.
/// Refuses a configured secret that differs from the one the stored suppressions were
/// hashed with: they would silently match nothing.
pub fn address_key(
    conn: &mut DbConn,
    configured: Option<&str>,
) -> Result<(AddressKey, KeySource), StoreError> {
    use super::recategorize::{meta, set_meta};
    let (key, source) = match configured {
        Some(secret) => (AddressKey::new(secret.as_bytes()), KeySource::Configured),
        None => match meta(conn, SECRET_KEY)? {
            Some(hex) => (AddressKey::new(hex.as_bytes()), KeySource::Stored),
            None => {
                let hex: String = rand::random::<[u8; 32]>()
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                // Another instance starting at the same moment may have written one:
                // keep the first.
                with_conn!(conn, c => diesel::insert_into(sentlog_meta::table)
                    .values((sentlog_meta::key.eq(SECRET_KEY), sentlog_meta::value.eq(&hex)))
                    .on_conflict_do_nothing()
                    .execute(c)?);
                let kept = meta(conn, SECRET_KEY)?.unwrap_or(hex);
                (AddressKey::new(kept.as_bytes()), KeySource::Generated)
            }
        },
    };
    let fingerprint = key.fingerprint();
    match meta(conn, FINGERPRINT_KEY)? {
        Some(stored) if stored != fingerprint => {
            let any: i64 = with_conn!(conn, c => suppressions::table.count().get_result(c)?);
            if any > 0 {
                return Err(StoreError::Conflict(format!(
                    "suppression_secret: the {any} stored suppressions were hashed with another \
                     secret (fingerprint {stored}, this one is {fingerprint}); set the previous \
                     secret back, or they would match no address"
                )));
            }
            set_meta(conn, FINGERPRINT_KEY, &fingerprint)?;
        }
        Some(_) => {}
        None => set_meta(conn, FINGERPRINT_KEY, &fingerprint)?,
    }
    Ok((key, source))
}

/// The `sentlog_meta` key set once the stored history was backfilled.
pub const BACKFILLED_KEY: &str = "suppressions_backfilled";
/// The `sentlog_meta` key of the last message id the backfill went through, so a
/// restart resumes there.
pub const BACKFILL_PROGRESS_KEY: &str = "suppressions_backfill_after";

/// (id, hotel, channel, phone, email, status, error category, status changed at)
type FactRow = (
    String,
    String,
    i32,
    Option<String>,
    Option<String>,
    i32,
    i32,
    chrono::NaiveDateTime,
);

/// One backfill batch, in one transaction: the `limit` messages after `after_id` in id
/// order (a range of the primary key: every batch costs the same, and the whole
/// backfill is one walk over the table), of which the failed ones whose error teaches
/// a suppression are learnt together with the deliveries to the same addresses (which
/// lift invalid-address ones again). The last id read, None when nothing is left.
pub fn backfill_batch(
    conn: &mut DbConn,
    key: &AddressKey,
    after_id: &str,
    limit: usize,
) -> Result<Option<String>, StoreError> {
    let failed = [
        MessageStatus::Failed.code(),
        MessageStatus::Undelivered.code(),
    ];
    let delivered = [MessageStatus::Delivered.code(), MessageStatus::Read.code()];
    with_conn!(conn, c => c.write_transaction(|c| {
        let select = (
            messages::id,
            messages::hotel_id,
            messages::channel,
            messages::recipient_phone,
            messages::email_normalized,
            messages::status,
            messages::error_category,
            messages::status_changed_at,
        );
        let mut rows: Vec<FactRow> = messages::table
            .filter(messages::id.gt(id_key(after_id)))
            .order(messages::id)
            .limit(limit as i64)
            .select(select)
            .load(c)?;
        let Some(last) = rows.last().map(|r| r.0.clone()) else {
            return Ok(None);
        };
        // The failures that teach (one rule: `suppression::taught_by`).
        rows.retain(|r| {
            failed.contains(&r.5)
                && Channel::from_code(r.2).is_some_and(|ch| {
                    suppression::taught_by(ErrorCategory::from_code(r.6).unwrap_or_default(), ch)
                        .is_some()
                })
        });
        // A message already learnt from (live, while the backfill walks, or at an
        // earlier run) is not learnt again: that would bring back a suppression a
        // person lifted since.
        let ids: Vec<&String> = rows.iter().map(|r| &r.0).collect();
        let learnt: std::collections::HashSet<String> = suppressions::table
            .filter(suppressions::source_message_id.eq_any(ids))
            .select(suppressions::source_message_id.assume_not_null())
            .load::<String>(c)?
            .into_iter()
            .collect();
        rows.retain(|r| !learnt.contains(&r.0));
        let phones: Vec<String> = rows.iter().filter_map(|r| r.3.clone()).collect();
        let emails: Vec<String> = rows.iter().filter_map(|r| r.4.clone()).collect();
        let mut later: Vec<FactRow> = Vec::new();
        for chunk in phones.chunks(CHUNK) {
            later.extend(messages::table
                .filter(messages::recipient_phone.eq_any(chunk.to_vec()))
                .filter(messages::status.eq_any(delivered))
                .select(select)
                .load::<FactRow>(c)?);
        }
        for chunk in emails.chunks(CHUNK) {
            later.extend(messages::table
                .filter(messages::email_normalized.eq_any(chunk.to_vec()))
                .filter(messages::status.eq_any(delivered))
                .select(select)
                .load::<FactRow>(c)?);
        }
        let facts: Vec<Fact> = rows
            .iter()
            .chain(&later)
            .filter_map(|r| {
                Some(Fact {
                    message_id: &r.0,
                    hotel_id: &r.1,
                    channel: Channel::from_code(r.2)?,
                    phone: r.3.as_deref(),
                    email: r.4.as_deref(),
                    status: MessageStatus::from_code(r.5)?,
                    error_category: ErrorCategory::from_code(r.6).unwrap_or_default(),
                    at: from_db(r.7),
                })
            })
            .collect();
        learn(c, key, &facts)?;
        Ok(Some(last))
    }))
}

/// Flags resolved with a corrected number, as CORRECTED suppressions of the old one.
pub fn backfill_corrected(conn: &mut DbConn, key: &AddressKey) -> Result<usize, StoreError> {
    #[allow(clippy::type_complexity)]
    let rows: Vec<(
        String,
        String,
        Option<String>,
        Option<String>,
        chrono::NaiveDateTime,
        Option<String>,
    )> = with_conn!(conn, c => flags::table
            .filter(flags::state.eq(FlagState::Resolved.code()))
            .filter(flags::corrected_phone.is_not_null())
            .filter(flags::message_phone.is_not_null())
            .select((flags::id, flags::hotel_id, flags::message_phone, flags::corrected_phone, flags::updated_at, flags::resolved_by))
            .load(c)?);
    let rows: Vec<SuppressionRow> = rows
        .into_iter()
        .filter_map(|(id, hotel, old, new, at, by)| {
            let (old, new) = (old?, new?);
            (old != new).then(|| {
                corrected_row(
                    key,
                    &hotel,
                    &old,
                    &new,
                    &id,
                    from_db(at),
                    by.as_deref().unwrap_or(SERVER),
                )
            })
        })
        .collect();
    let mut added = 0;
    for chunk in rows.chunks(CHUNK) {
        added += with_conn!(conn, c => c.insert_suppressions_chunk(chunk)?);
    }
    Ok(added)
}

/// The CORRECTED suppression of `old` once a CSM resolved flag `flag_id` with `new`.
pub fn corrected_row(
    key: &AddressKey,
    hotel_id: &str,
    old: &str,
    new: &str,
    flag_id: &str,
    at: DateTime<Utc>,
    by: &str,
) -> SuppressionRow {
    new_row(
        key,
        hotel_id,
        old,
        Scope::All,
        Reason::Corrected,
        Some(new.to_string()),
        None,
        format!("Flag {flag_id} was resolved with the corrected number {new}."),
        at,
        by,
    )
}
