//! Messages: recording, reading, listing and counting.
use crate::domain::filter::Counts;
use crate::domain::message::Recorded;
use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::dsl::count_star;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Timestamp};

use super::connection::{Plans, from_db, to_db};
use super::dialect::Dialect;
use super::fragments::{StaticSql, filter_in, filter_matched_names, row_before, static_sql};
use super::message_key::{Key, MessageKey, id_key, id_keys};
use super::rows::HistoryRow;
use super::schema::{campaigns, messages};
use super::status_events::insert_history;
use super::tallies;
use super::{DbConn, StoreError, WriteTransaction};
use crate::domain::day_split;
use crate::domain::error_category::ErrorCategory;
use crate::domain::filter::{DateRange, MessageQuery};
use crate::domain::message::ChangedMessage;
use crate::domain::message::{Channel, Message, MessageCategory, MessageStatus, NewMessage};
use crate::domain::page::{Cursor, truncate_micros};
use crate::domain::status::{StatusReport, StatusState};
use crate::domain::stuck::{self, StuckSince};
use crate::domain::suppression::AddressKey;
use crate::with_conn;

/// Rows per INSERT statement: 32 columns x 400 stays under SQLite's 32,766 parameters.
const INSERT_CHUNK: usize = 400;
/// PostgreSQL takes 65,535 parameters: a whole batch (at most 1000 messages) is one
/// INSERT, so the tally trigger runs once per batch and appends one set of tallies.
const PG_INSERT_CHUNK: usize = 2000;
/// The event id of the status a message was recorded with.
pub const RECORDED_EVENT_ID: &str = "recorded";

/// A row of `messages`, read or inserted alike.
#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = messages, treat_none_as_default_value = false)]
pub struct MessageRow {
    #[diesel(serialize_as = Key)]
    pub id: String,
    pub hotel_id: String,
    pub external_id: String,
    pub phone_region: Option<String>,
    pub campaign_id: Option<String>,
    pub campaign_name: Option<String>,
    pub channel: i32,
    pub recipient_phone: Option<String>,
    pub phone_valid: bool,
    pub recipient_email: Option<String>,
    pub email_normalized: Option<String>,
    pub guest_name: Option<String>,
    pub pms_guest_id: Option<String>,
    pub pms_reservation_id: Option<String>,
    pub check_in_date: Option<NaiveDate>,
    pub check_out_date: Option<NaiveDate>,
    pub status: i32,
    pub scheduled_at: Option<NaiveDateTime>,
    pub provider: Option<String>,
    pub provider_message_id: Option<String>,
    pub template_name: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub error_category: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub status_changed_at: NaiveDateTime,
    pub status_event_id: String,
    pub sent_at: Option<NaiveDateTime>,
    pub delivered_at: Option<NaiveDateTime>,
    pub read_at: Option<NaiveDateTime>,
    pub failed_at: Option<NaiveDateTime>,
    pub category: i32,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = campaigns, treat_none_as_default_value = false)]
struct CampaignInsert {
    hotel_id: String,
    name: String,
    name_folded: String,
}

impl TryFrom<MessageRow> for Message {
    type Error = StoreError;

    fn try_from(r: MessageRow) -> Result<Self, StoreError> {
        let corrupt = |what: &str, code: i32| {
            StoreError::Corrupt(format!(
                "message {} has an unknown {what} code {code}",
                r.id
            ))
        };
        Ok(Message {
            channel: Channel::from_code(r.channel).ok_or_else(|| corrupt("channel", r.channel))?,
            status: MessageStatus::from_code(r.status)
                .ok_or_else(|| corrupt("status", r.status))?,
            error_category: ErrorCategory::from_code(r.error_category)
                .ok_or_else(|| corrupt("error category", r.error_category))?,
            scheduled_at: r.scheduled_at.map(from_db),
            created_at: from_db(r.created_at),
            updated_at: from_db(r.updated_at),
            status_changed_at: from_db(r.status_changed_at),
            sent_at: r.sent_at.map(from_db),
            delivered_at: r.delivered_at.map(from_db),
            read_at: r.read_at.map(from_db),
            // Derived at read time by the service, which knows the thresholds and now.
            stuck: false,
            category: MessageCategory::from_code(r.category)
                .ok_or_else(|| corrupt("message category", r.category))?,
            failed_at: r.failed_at.map(from_db),
            id: r.id,
            hotel_id: r.hotel_id,
            external_id: r.external_id,
            phone_region: r.phone_region,
            campaign_id: r.campaign_id,
            campaign_name: r.campaign_name,
            recipient_phone: r.recipient_phone,
            phone_valid: r.phone_valid,
            recipient_email: r.recipient_email,
            guest_name: r.guest_name,
            pms_guest_id: r.pms_guest_id,
            pms_reservation_id: r.pms_reservation_id,
            check_in_date: r.check_in_date,
            check_out_date: r.check_out_date,
            provider: r.provider,
            provider_message_id: r.provider_message_id,
            template_name: r.template_name,
            error_code: r.error_code,
            error_message: r.error_message,
        })
    }
}

/// The row of a new message, and the history row of the status it was recorded with.
fn insert_form(m: &NewMessage, id: String, now: DateTime<Utc>) -> (MessageRow, HistoryRow) {
    let first = StatusReport {
        status: m.status,
        occurred_at: now,
        event_id: RECORDED_EVENT_ID.to_string(),
        error_code: m.error_code.clone(),
        error_message: m.error_message.clone(),
        error_category: m.error_category,
    };
    let s = StatusState::from_first(&first);
    let history = HistoryRow::first(&id, &first, now);
    let row = MessageRow {
        id,
        hotel_id: m.hotel_id.clone(),
        external_id: m.external_id.clone(),
        phone_region: m.phone_region.clone(),
        campaign_id: m.campaign_id.clone(),
        campaign_name: m.campaign_name.clone(),
        channel: m.channel.code(),
        recipient_phone: m.recipient_phone.clone(),
        phone_valid: m.phone_valid,
        recipient_email: m.recipient_email.clone(),
        email_normalized: m.email_normalized.clone(),
        guest_name: m.guest_name.clone(),
        pms_guest_id: m.pms_guest_id.clone(),
        pms_reservation_id: m.pms_reservation_id.clone(),
        check_in_date: m.check_in_date,
        check_out_date: m.check_out_date,
        status: s.status.code(),
        scheduled_at: m.scheduled_at.map(to_db),
        provider: m.provider.clone(),
        provider_message_id: m.provider_message_id.clone(),
        template_name: m.template_name.clone(),
        error_code: s.error_code,
        error_message: s.error_message,
        error_category: s.error_category.code(),
        created_at: to_db(now),
        updated_at: to_db(now),
        status_changed_at: to_db(s.status_changed_at),
        status_event_id: s.status_event_id,
        sent_at: s.sent_at.map(to_db),
        delivered_at: s.delivered_at.map(to_db),
        read_at: s.read_at.map(to_db),
        failed_at: s.failed_at.map(to_db),
        category: m.category.code(),
    };
    (row, history)
}

/// What recording a batch did.
#[derive(Debug, Clone, Default)]
pub struct RecordedBatch {
    /// One per item, in order.
    pub results: Vec<Recorded>,
    /// Messages whose status the early callbacks parked for them changed.
    pub status_changes: Vec<ChangedMessage>,
    /// Parked early callbacks applied to the new messages, per provider.
    pub unparked: std::collections::BTreeMap<String, i64>,
}

/// Records a batch in one transaction, idempotently on (hotel_id, external_id): a
/// message recorded before keeps its id and is left untouched. Results follow `items`.
/// Early callbacks parked for the new messages are applied in the same transaction.
/// A message recorded already failed (or delivered) teaches (or lifts) suppressions
/// in the same transaction.
pub fn record(
    conn: &mut DbConn,
    items: &[NewMessage],
    now: DateTime<Utc>,
    key: &AddressKey,
) -> Result<RecordedBatch, StoreError> {
    // A concurrent writer of the same keys (PostgreSQL) makes an attempt roll back;
    // the next attempt sees its rows and reports them as existing.
    let mut attempts = 0;
    loop {
        match record_once(conn, items, now, key) {
            Err(StoreError::Unavailable(_)) if attempts < 3 => attempts += 1,
            other => return other,
        }
    }
}

fn record_once(
    conn: &mut DbConn,
    items: &[NewMessage],
    now: DateTime<Utc>,
    key: &AddressKey,
) -> Result<RecordedBatch, StoreError> {
    let now = truncate_micros(now);
    let numbered = conn.backend() == super::Backend::Postgres;
    let rows_per_insert = match conn.backend() {
        super::Backend::Postgres => PG_INSERT_CHUNK,
        super::Backend::Sqlite => INSERT_CHUNK,
    };
    with_conn!(conn, c => c.write_transaction(|c| {
        // Ids already recorded for the batch's pairs: one query per hotel.
        let mut by_hotel: HashMap<&String, Vec<&String>> = HashMap::new();
        for m in items {
            by_hotel.entry(&m.hotel_id).or_default().push(&m.external_id);
        }
        let mut existing: HashMap<(String, String), String> = HashMap::new();
        for (hotel, externals) in by_hotel {
            for chunk in externals.chunks(INSERT_CHUNK) {
                let rows: Vec<(String, String)> = messages::table
                    .filter(messages::hotel_id.eq(hotel))
                    .filter(messages::external_id.eq_any(chunk))
                    .select((messages::external_id, messages::id))
                    .load(c)?;
                for (external, id) in rows {
                    existing.insert((hotel.clone(), external), id);
                }
            }
        }
        // The first item with a key decides; a repeat within the batch reports its id.
        let mut ids: HashMap<(String, String), String> = HashMap::new();
        let mut results = Vec::with_capacity(items.len());
        let mut inserts = Vec::new();
        let mut history = Vec::new();
        for m in items {
            let key = (m.hotel_id.clone(), m.external_id.clone());
            let recorded = match (ids.get(&key), existing.get(&key)) {
                (Some(id), _) | (None, Some(id)) => Recorded { message_id: id.clone(), created: false },
                (None, None) => {
                    let id = uuid::Uuid::now_v7().to_string();
                    let (row, first) = insert_form(m, id.clone(), now);
                    inserts.push(row);
                    history.push(first);
                    Recorded { message_id: id, created: true }
                }
            };
            ids.insert(key, recorded.message_id.clone());
            results.push(recorded);
        }
        for chunk in inserts.chunks(rows_per_insert) {
            let inserted: Vec<String> = diesel::insert_into(messages::table)
                .values(chunk.to_vec())
                .on_conflict((messages::hotel_id, messages::external_id))
                .do_nothing()
                .returning(messages::id)
                .get_results(c)?;
            if inserted.len() != chunk.len() {
                // Another writer recorded some of these between our read and write.
                return Err(StoreError::Unavailable(
                    "a concurrent call recorded the same messages; retry".into(),
                ));
            }
        }
        insert_history(c, &history)?;
        let facts: Vec<super::suppressions::Fact> = inserts
            .iter()
            .filter_map(|m| {
                Some(super::suppressions::Fact {
                    hotel_id: &m.hotel_id,
                    message_id: &m.id,
                    channel: Channel::from_code(m.channel)?,
                    phone: m.recipient_phone.as_deref(),
                    email: m.email_normalized.as_deref(),
                    status: MessageStatus::from_code(m.status)?,
                    error_category: ErrorCategory::from_code(m.error_category).unwrap_or_default(),
                    at: from_db(m.status_changed_at),
                })
            })
            .collect();
        super::suppressions::learn(c, key, &facts)?;
        // Early callbacks that were waiting for these messages.
        let waiting: Vec<super::parking::Recorded> = inserts
            .iter()
            .filter_map(|m| Some((m.id.as_str(), m.hotel_id.as_str(), m.provider.as_deref()?, m.provider_message_id.as_deref()?)))
            .collect();
        let (parked, unparked) = if waiting.is_empty() {
            (Vec::new(), Default::default())
        } else {
            super::parking::take_parked!(c, &waiting)
        };
        let status_changes = if parked.is_empty() {
            Vec::new()
        } else {
            super::status_events::apply_events!(c, &parked, &[], now, numbered, None, key)?.status_changes
        };
        let new: Vec<ChangedMessage> = results
            .iter()
            .filter(|r| r.created)
            .map(|r| ChangedMessage { message_id: r.message_id.clone(), previous: None })
            .collect();
        c.notify_changes(&new)?;
        let mut names: Vec<CampaignInsert> = items
            .iter()
            .filter_map(|m| {
                m.campaign_name.as_ref().map(|n| CampaignInsert {
                    hotel_id: m.hotel_id.clone(),
                    name: n.clone(),
                    name_folded: n.to_lowercase(),
                })
            })
            .collect();
        names.sort_by(|a, b| (&a.hotel_id, &a.name).cmp(&(&b.hotel_id, &b.name)));
        names.dedup_by(|a, b| a.hotel_id == b.hotel_id && a.name == b.name);
        for chunk in names.chunks(INSERT_CHUNK) {
            diesel::insert_into(campaigns::table)
                .values(chunk)
                .on_conflict_do_nothing()
                .execute(c)?;
        }
        Ok(RecordedBatch { results, status_changes, unparked })
    }))
}

/// `query` kept to `column` within `range`; one day is an equality, so the planner
/// walks that day in page order.
macro_rules! within_dates {
    ($query:expr, $column:expr, $range:expr) => {{
        let mut query = $query;
        match ($range.from, $range.to) {
            (Some(a), Some(b)) if a == b => query = query.filter($column.eq(a)),
            (from, to) => {
                if let Some(d) = from {
                    query = query.filter($column.ge(d));
                }
                if let Some(d) = to {
                    query = query.filter($column.le(d));
                }
            }
        }
        query
    }};
}

/// `base` (a query on messages) boxed, keeping only messages matching `q`, whose
/// campaign names are already resolved.
///
/// A macro, not a function returning `Box<dyn BoxableExpression<messages::table, DB>>`
/// (diesel's way for dynamic filters): such a function must be generic over the
/// backend to serve both, and diesel 2.3 asks every expression's `QueryFragment<DB>`
/// for the private `DieselReserveSpecialization` bound, which code outside diesel
/// cannot name (tried: rustc E0277 on every condition). The macro expands this one
/// body for the concrete `PgConnection` and `SqliteConnection` of `with_conn!`.
macro_rules! matching {
    ($base:expr, $q:expr, $names:expr) => {{
        let q: &MessageQuery = $q;
        let mut query = $base.into_boxed();
        query = filter_in!(query, messages::hotel_id, q.hotel_ids.as_slice());
        query = filter_in!(query, messages::recipient_phone, q.phone_forms.as_slice());
        query = filter_matched_names!(query, messages::campaign_name, $names);
        query = filter_in!(query, messages::campaign_id, q.campaign_ids.as_slice());
        query = within_dates!(query, messages::check_in_date, q.check_in);
        query = within_dates!(query, messages::check_out_date, q.check_out);
        let channels: Vec<i32> = q.channels.iter().map(|c| c.code()).collect();
        query = filter_in!(query, messages::channel, channels.as_slice());
        query = match rare_status_sql(&q.statuses) {
            Some(status) => query.filter(status),
            None => {
                let statuses: Vec<i32> = q.statuses.iter().map(|s| s.code()).collect();
                filter_in!(query, messages::status, statuses.as_slice())
            }
        };
        if let Some(t) = q.created_after {
            query = query.filter(messages::created_at.ge(to_db(t)));
        }
        if let Some(t) = q.created_before {
            query = query.filter(messages::created_at.lt(to_db(t)));
        }
        if let Some(e) = &q.email {
            query = query.filter(messages::email_normalized.eq(e.clone()));
        }
        if let Some(r) = &q.pms_reservation_id {
            query = query.filter(messages::pms_reservation_id.eq(r.clone()));
        }
        if let Some(p) = &q.provider_message_id {
            query = query.filter(messages::provider_message_id.eq(p.clone()));
        }
        let kinds: Vec<i32> = q.categories.iter().map(|c| c.code()).collect();
        query = filter_in!(query, messages::category, kinds.as_slice());
        query = match rare_error_sql(&q.error_categories) {
            Some(error) => query.filter(error),
            None => {
                let errors: Vec<i32> = q.error_categories.iter().map(|c| c.code()).collect();
                filter_in!(query, messages::error_category, errors.as_slice())
            }
        };
        if let Some(since) = &q.stuck {
            query = query.filter(stuck_condition!(since));
        }
        query
    }};
}

diesel::define_sql_function! {
    /// `COALESCE(a, b)`: when a planned message was due (its schedule, else its
    /// recording), for the stuck condition and its index.
    fn coalesce(a: diesel::sql_types::Nullable<Timestamp>, b: Timestamp) -> Timestamp;
}

/// The statuses that can be stuck, as literal SQL (`None` for the others). The stuck
/// indexes hold only these statuses (migration 000022 on), and SQLite uses a partial
/// index only for a query whose text proves it stays inside: a bound value proves
/// nothing to it. PostgreSQL proves it either way.
fn stuck_status_sql(status: MessageStatus) -> Option<StaticSql<Bool>> {
    match status {
        MessageStatus::Pending => Some(static_sql("status = 1")),
        MessageStatus::Validated => Some(static_sql("status = 3")),
        MessageStatus::Sent => Some(static_sql(SENT_SQL)),
        _ => None,
    }
}

/// A filter on one status that PostgreSQL's `messages_hotel_status` holds (every
/// status but DELIVERED and READ, migration 000020), as literal SQL: a plan shared by
/// every call (`shares_one_plan`) can use that partial index only when the
/// statement's text proves the status is in it, which a bound value does not.
fn rare_status_sql(statuses: &[MessageStatus]) -> Option<StaticSql<Bool>> {
    let [status] = statuses else {
        return None;
    };
    let sql = match status {
        MessageStatus::Pending => "status = 1",
        MessageStatus::Scheduled => "status = 2",
        MessageStatus::Validated => "status = 3",
        MessageStatus::Cancelled => "status = 4",
        MessageStatus::Failed => "status = 5",
        MessageStatus::Sent => SENT_SQL,
        MessageStatus::Undelivered => "status = 7",
        MessageStatus::Delivered | MessageStatus::Read => return None,
    };
    Some(static_sql(sql))
}

/// A filter on one error category that `messages_hotel_error` holds (every one but
/// none), as literal SQL, for the reason `rare_status_sql` gives: SQLite's partial
/// index (migration 000027) is proved only by a literal term of its condition, and a
/// shared PostgreSQL plan only by a literal value.
fn rare_error_sql(categories: &[ErrorCategory]) -> Option<StaticSql<Bool>> {
    /// Indexed by code; code 0 (no error) is not in the index.
    const BY_CODE: [&str; 14] = [
        "",
        "error_category = 1",
        "error_category = 2",
        "error_category = 3",
        "error_category = 4",
        "error_category = 5",
        "error_category = 6",
        "error_category = 7",
        "error_category = 8",
        "error_category = 9",
        "error_category = 10",
        "error_category = 11",
        "error_category = 12",
        "error_category = 13",
    ];
    let [category] = categories else {
        return None;
    };
    match BY_CODE.get(usize::try_from(category.code()).ok()?) {
        Some(sql) if !sql.is_empty() => Some(static_sql(sql)),
        _ => None,
    }
}

/// SENT, as literal SQL, in the words of `messages_stuck_sent`'s condition.
const SENT_SQL: &str = "status = 6";

/// PENDING or VALIDATED, as literal SQL, in the words of `messages_stuck_waiting`'s
/// condition (`stuck_status_sql`).
const WAITING_SQL: &str = "(status = 1 OR status = 3)";

/// Stuck now (`domain::stuck`), as a condition on `query`: SENT since before its
/// channel's instant, or PENDING / VALIDATED due (`COALESCE(scheduled_at,
/// created_at)`) before it. One branch per channel, so each is a range on an index led
/// by (hotel, status, channel): `messages_stuck_sent`, `messages_stuck_waiting`.
macro_rules! stuck_condition {
    ($since:expr) => {{
        let since: &StuckSince = $since;
        let due = coalesce(messages::scheduled_at, messages::created_at);
        let per_channel = |c: Channel| messages::channel.eq(c.code());
        let at = |c: Channel| to_db(since.of(c));
        let sent = static_sql::<Bool>(SENT_SQL).and(
            per_channel(Channel::Whatsapp)
                .and(messages::status_changed_at.lt(at(Channel::Whatsapp)))
                .or(per_channel(Channel::Sms).and(messages::status_changed_at.lt(at(Channel::Sms))))
                .or(per_channel(Channel::Email)
                    .and(messages::status_changed_at.lt(at(Channel::Email)))),
        );
        let waiting = static_sql::<Bool>(WAITING_SQL).and(
            per_channel(Channel::Whatsapp)
                .and(due.lt(at(Channel::Whatsapp)))
                .or(per_channel(Channel::Sms).and(due.lt(at(Channel::Sms))))
                .or(per_channel(Channel::Email).and(due.lt(at(Channel::Email)))),
        );
        sent.or(waiting)
    }};
}

/// `%`, `_` and `\` in a searched name are literal characters.
fn like_pattern(needle: &str) -> String {
    let mut p = String::with_capacity(needle.len() + 2);
    p.push('%');
    for ch in needle.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(ch);
    }
    p.push('%');
    p
}

/// Campaign names (of the query's hotels) containing the query's name, or None when
/// the query does not filter on a name.
fn campaign_names(conn: &mut DbConn, q: &MessageQuery) -> Result<Option<Vec<String>>, StoreError> {
    match &q.campaign_name {
        Some(needle) => campaign_names_like(conn, &q.hotel_ids, needle).map(Some),
        None => Ok(None),
    }
}

/// Campaign names of these hotels (empty: all) containing `needle` (lower-cased).
pub fn campaign_names_like(
    conn: &mut DbConn,
    hotel_ids: &[String],
    needle: &str,
) -> Result<Vec<String>, StoreError> {
    let pattern = like_pattern(needle);
    let names: Vec<String> = with_conn!(conn, c => {
        let query = campaigns::table
            .filter(campaigns::name_folded.like(pattern.clone()).escape('\\'))
            .select(campaigns::name)
            .distinct()
            .into_boxed();
        // One hotel is an equality: SQLite's statement cache keeps no `IN` list of
        // bound values, so the lookup was prepared again at every call.
        filter_in!(query, campaigns::hotel_id, hotel_ids).load(c)?
    });
    Ok(names)
}

/// A page of matching messages, newest first, after `cursor`.
pub fn list(
    conn: &mut DbConn,
    q: &MessageQuery,
    cursor: Option<&Cursor>,
    limit: usize,
) -> Result<Vec<Message>, StoreError> {
    let names = campaign_names(conn, q)?;
    if names.as_ref().is_some_and(|n| n.is_empty()) {
        return Ok(Vec::new());
    }
    let names = names.as_ref();
    let rows = match q.per_stay_day(max_days_paged_per_day(conn)) {
        Some(days) => {
            // A day's statement keeps one hotel's day of a stay-date index: whatever the
            // values, its plan walks that day, so one plan serves every day and page.
            conn.use_plans(Plans::Shared)?;
            page_rows_per_day(conn, &days, names, cursor, limit)?
        }
        None => {
            conn.use_plans(Plans::shared_when(shares_one_plan(q, names)))?;
            page_rows(conn, q, names, cursor, limit)?
        }
    };
    rows.into_iter().map(Message::try_from).collect()
}

/// One page of `q` (campaign names resolved) after `cursor`, in page order.
/// `$sort_matches`: order by an expression no index provides, so the planner reads
/// the filter's own index and sorts its matches (see `sorts_matches`).
macro_rules! page_query {
    ($q:expr, $names:expr, $cursor:expr, $limit:expr, $sort_matches:expr) => {{
        let mut query = matching!(messages::table, $q, $names);
        if let Some(cur) = $cursor {
            // Row-value comparison: one index range on (created_at, id) on both backends.
            query = query.filter(row_before(
                (messages::created_at, messages::id),
                (
                    to_db(cur.at).into_sql::<Timestamp>(),
                    id_key(cur.id.clone()).into_sql::<MessageKey>(),
                ),
            ));
        }
        let query = match $sort_matches {
            true => query.order((
                static_sql::<Timestamp>("created_at + interval '0 seconds'").desc(),
                messages::id.desc(),
            )),
            false => query.order((messages::created_at.desc(), messages::id.desc())),
        };
        query.limit($limit as i64)
    }};
}

/// Whether PostgreSQL should read a page's matches from the filter's index and sort
/// them. For a check-in or check-out range it otherwise walks every message newest
/// first, betting that the range's matches are among the newest: cheap when they are,
/// but a few thousand rows that are not (new messages of other hotels) cost 39 ms,
/// where the range's index entries, sorted, cost 2 ms (a week of a big hotel at
/// 1,000,000 messages). SQLite already picks the range's index.
fn sorts_matches(conn: &DbConn, q: &MessageQuery) -> bool {
    conn.backend() == super::Backend::Postgres && has_stay_range(q)
}

/// Whether `q` keeps a range of check-in or check-out dates, whose matches are read
/// from that range's index and sorted into page order.
fn has_stay_range(q: &MessageQuery) -> bool {
    [q.check_in, q.check_out]
        .iter()
        .any(|r| r.from.is_some() || r.to.is_some())
}

/// Whether a page of `q` reads its rows in the statement that walks the filter's
/// index, instead of picking ids first. SQLite, without a stay range: it walks the
/// filter's index in page order and stops at the page. PostgreSQL keeps the two
/// steps: asked for whole rows it prices a walk of messages_created (all hotels, in
/// heap order) below the filter's own index, and when the newest messages belong to
/// other hotels a big hotel's SMS page took 125 ms instead of 11; the ids alone come
/// from the filter's index only. Except for a phone search: a phone's messages are
/// few, so its index is the plan whatever else is asked, and the two-step statement
/// cost PostgreSQL more to plan than to run (0.44 ms against 0.08 ms for one step at
/// 1,000,000 messages, when every call was planned; see `shares_one_plan`).
fn reads_rows_in_one_step(conn: &DbConn, q: &MessageQuery) -> bool {
    let searches_phone = !q.phone_forms.is_empty();
    (conn.backend() == super::Backend::Sqlite || searches_phone) && !has_stay_range(q)
}

/// The rows of a page's chosen ids (a list or a subquery), newest first.
macro_rules! rows_in_page_order {
    ($ids:expr) => {
        messages::table
            .filter(messages::id.eq_any($ids))
            .order((messages::created_at.desc(), messages::id.desc()))
            .select(MessageRow::as_select())
    };
}

/// The rows of one page of `q` (campaign names already resolved), newest first.
///
/// The page's ids are chosen first, from an index alone where one covers the filter,
/// and only their rows are read: a range of check-in dates holds thousands of matches
/// to order by recording time, and sorting index entries instead of whole rows keeps
/// it cheap (a big hotel's week at 1,000,000 messages read ~4,000 rows to keep 51).
/// On SQLite a filter without a stay range reads its rows in the same statement.
fn page_rows(
    conn: &mut DbConn,
    q: &MessageQuery,
    names: Option<&Vec<String>>,
    cursor: Option<&Cursor>,
    limit: usize,
) -> Result<Vec<MessageRow>, StoreError> {
    if reads_rows_in_one_step(conn, q) {
        return Ok(
            with_conn!(conn, c => page_query!(q, names, cursor, limit, false)
            .select(MessageRow::as_select())
            .load(c)?),
        );
    }
    let sort_matches = sorts_matches(conn, q);
    Ok(with_conn!(conn, c => {
        let ids = page_query!(q, names, cursor, limit, sort_matches).select(messages::id);
        rows_in_page_order!(ids).load(c)?
    }))
}

/// The longest check-in or check-out range whose page is read a day at a time, in one
/// statement (`NewestOfEach`). A longer one is read from its index and sorted, as an
/// open-ended one is. Two months of a big hotel's delivered WhatsApp check-ins (the
/// benchmark's combined filter) at 1,000,000 messages: PostgreSQL answers the 61 days'
/// index walks, merged, in 5.3–5.7 ms p50 against 9.6–10.6 sorted (and the sort grows
/// with the table: 110.9 ms at 10,000,000, stop 28), so it pages two months a day at a
/// time. SQLite sorts each day's rows again before its merge (a temporary B-tree per
/// day in its query plan): 15.6–16.3 ms against 5.4–6.0 sorted, so it pages two weeks
/// a day at a time (a week costs the same either way).
fn max_days_paged_per_day(conn: &DbConn) -> i64 {
    match conn.backend() {
        super::Backend::Postgres => 62,
        super::Backend::Sqlite => 14,
    }
}

/// The statement that picks a page of the day queries `$days` of a stay range: each
/// day's newest `$limit` `(created_at, id)` after `$cursor`, merged (`NewestOfEach`).
macro_rules! newest_of_days {
    ($days:expr, $names:expr, $cursor:expr, $limit:expr) => {{
        let limit: usize = $limit;
        let pages = $days
            .iter()
            .map(|day| {
                page_query!(day, $names, $cursor, limit, false)
                    .select((messages::created_at, messages::id))
            })
            .collect();
        NewestOfEach {
            pages,
            limit: limit as i64,
        }
    }};
}

/// One page of the day queries of a stay range (`MessageQuery::per_stay_day`): each
/// day gives its newest `limit` ids after `cursor`, walking that day's entries of the
/// stay-date index in page order, and the page is the newest `limit` of them all,
/// whose rows are then read. A page of a week of a big hotel's check-ins reads
/// 8 × 51 index entries, where sorting the range read all of its ~35,000 at
/// 10,000,000 messages (PostgreSQL in `psql`: 0.1–0.3 ms a day against 39–50 ms).
fn page_rows_per_day(
    conn: &mut DbConn,
    days: &[MessageQuery],
    names: Option<&Vec<String>>,
    cursor: Option<&Cursor>,
    limit: usize,
) -> Result<Vec<MessageRow>, StoreError> {
    let ids: Vec<String> = with_conn!(conn, c => newest_of_days!(days, names, cursor, limit)
        .load::<(NaiveDateTime, String)>(c)?
        .into_iter()
        .map(|(_, id)| id)
        .collect());
    Ok(with_conn!(conn, c => rows_in_page_order!(id_keys(ids)).load(c)?))
}

/// The newest `limit` of several page statements' `(created_at, id)` rows, in page
/// order (newest first, ties by id: ids compare bytewise on both backends), as one
/// statement: `(page) UNION ALL (page) ... ORDER BY 1 DESC, 2 DESC LIMIT n`. A week of
/// check-ins is 8 day statements; sent one by one they cost 8 round trips, parses
/// and executor start-ups where the database's work is 51 index entries each.
struct NewestOfEach<Q> {
    pages: Vec<Q>,
    limit: i64,
}

/// How a backend takes a statement with its own ORDER BY and LIMIT as one arm of a
/// UNION ALL: PostgreSQL in parentheses, SQLite (which allows none there) as a
/// subquery.
trait UnionArm: diesel::backend::Backend {
    const OPEN: &'static str;
    const CLOSE: &'static str;
}

impl UnionArm for diesel::pg::Pg {
    const OPEN: &'static str = "(";
    const CLOSE: &'static str = ")";
}

impl UnionArm for diesel::sqlite::Sqlite {
    const OPEN: &'static str = "SELECT * FROM (";
    const CLOSE: &'static str = ")";
}

impl<Q, DB> diesel::query_builder::QueryFragment<DB> for NewestOfEach<Q>
where
    DB: UnionArm,
    Q: diesel::query_builder::QueryFragment<DB>,
    i64: diesel::serialize::ToSql<diesel::sql_types::BigInt, DB>,
    DB: diesel::sql_types::HasSqlType<diesel::sql_types::BigInt>,
{
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, DB>,
    ) -> QueryResult<()> {
        if let [page] = self.pages.as_slice() {
            // Already in page order and limited; PostgreSQL refuses a second ORDER BY
            // after a lone parenthesised statement.
            return page.walk_ast(out.reborrow());
        }
        for (n, page) in self.pages.iter().enumerate() {
            if n > 0 {
                out.push_sql(" UNION ALL ");
            }
            out.push_sql(DB::OPEN);
            page.walk_ast(out.reborrow())?;
            out.push_sql(DB::CLOSE);
        }
        out.push_sql(" ORDER BY 1 DESC, 2 DESC LIMIT ");
        out.push_bind_param::<diesel::sql_types::BigInt, _>(&self.limit)
    }
}

impl<Q> diesel::query_builder::QueryId for NewestOfEach<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: diesel::query_builder::Query> diesel::query_builder::Query for NewestOfEach<Q> {
    type SqlType = Q::SqlType;
}

impl<Q, Conn> RunQueryDsl<Conn> for NewestOfEach<Q> {}

/// Whether one PostgreSQL plan serves a page of `q` for every hotel and value, so the
/// connection may plan its statement once and reuse it (`Plans::Shared`)
/// instead of planning it at every call. Planning the two-step page statement took
/// 0.4–0.5 ms against 0.02 ms to fetch the shared plan, and 0.2–0.5 ms to run it (a
/// big hotel's channel page at 1,000,000 messages). Shared plans were checked against
/// each hotel's own for these filters: one hotel, phone, one channel, one campaign
/// name, one status of `messages_hotel_status` (`rare_status_sql`), a recording
/// range. They are wrong for the rest: DELIVERED of a big hotel read 124,823 index
/// entries and sorted them (213 ms) where its own plan walks its newest messages, and
/// a stay range's plan depends on its width.
fn shares_one_plan(q: &MessageQuery, names: Option<&Vec<String>>) -> bool {
    let kept = MessageQuery {
        hotel_ids: q.hotel_ids.clone(),
        phone_forms: q.phone_forms.clone(),
        campaign_name: q.campaign_name.clone(),
        channels: q.channels.clone(),
        statuses: q.statuses.clone(),
        created_after: q.created_after,
        created_before: q.created_before,
        ..Default::default()
    };
    let one_hotel_or_phone = q.hotel_ids.len() == 1 || !q.phone_forms.is_empty();
    *q == kept
        && one_hotel_or_phone
        && q.hotel_ids.len() <= 1
        && q.channels.len() <= 1
        && names.is_none_or(|n| n.len() == 1)
        && (q.statuses.is_empty() || rare_status_sql(&q.statuses).is_some())
}

/// Counts from the tallies where they can answer (whole days of recording time, and
/// the partial days at the range's edges from the rows), from the rows otherwise.
/// With `stuck_now`, also how many of them are stuck at that instant (read row by
/// row: tallies know statuses, not waiting times), with the same campaign names; in
/// the statement that counts the rows when that one reads them anyway.
pub fn count(
    conn: &mut DbConn,
    q: &MessageQuery,
    stuck_now: Option<StuckSince>,
) -> Result<Counts, StoreError> {
    conn.use_plans(Plans::shared_when(count_shares_one_plan(q)))?;
    let names = campaign_names(conn, q)?;
    if names.as_ref().is_some_and(|n| n.is_empty()) {
        return Ok(Counts::default());
    }
    let names = names.as_ref();
    let stuck_statements = stuck_now.map(|since| (since, stuck_count_statements(q, &since)));
    if let (None, Some((since, statements))) = (q.stuck, &stuck_statements)
        && counts_stuck_with_rows(conn, q, statements)
    {
        let (groups, stuck) = count_rows_and_stuck(conn, q, since, names)?;
        return Ok(Counts {
            stuck,
            ..Counts::from_groups(groups)
        });
    }
    let mut groups = Vec::new();
    if tallies::can_answer(q) {
        let split = day_split::split(q.created_after, q.created_before);
        if let Some(days) = split.whole_days {
            groups.extend(tallies::count(conn, q, names, days)?);
        }
        for edge in split.partial {
            let mut q = q.clone();
            (q.created_after, q.created_before) = (edge.after, edge.before);
            groups.extend(count_rows(conn, &q, names)?);
        }
    } else {
        groups = count_rows(conn, q, names)?;
    }
    let mut counts = Counts::from_groups(groups);
    counts.stuck = match (q.stuck, stuck_statements) {
        (Some(_), _) => counts.total,
        (None, Some((_, statements))) => count_stuck(conn, names, statements)?,
        (None, None) => 0,
    };
    Ok(counts)
}

/// Whether one PostgreSQL plan serves `count` of `q` whatever its values (see
/// `Plans::Shared`): a phone's count (its messages are few: its index is the plan
/// whatever the phone), and a hotel's count over one stay range (check-in or
/// check-out, not both: which of the two is narrower decides the index), which reads
/// that range's index alone whatever its width. Planning that statement per call took
/// 0.30–0.34 ms of a 1.6–1.9 ms count of a week of a big hotel's check-ins at
/// 1,000,000 messages; a year of them took 112 ms with the shared plan against
/// 250 ms planned with its values (which chose a parallel walk of the same index).
fn count_shares_one_plan(q: &MessageQuery) -> bool {
    let only = |check_in, check_out| MessageQuery {
        hotel_ids: q.hotel_ids.clone(),
        check_in,
        check_out,
        ..Default::default()
    };
    let open = DateRange::default();
    let one_stay_range =
        has_stay_range(q) && (*q == only(q.check_in, open) || *q == only(open, q.check_out));
    let searches_phone = !q.phone_forms.is_empty();
    searches_phone || (q.hotel_ids.len() == 1 && one_stay_range)
}

/// The statements that count a filter's stuck messages: one per branch, read from the
/// stuck indexes alone, or one over the filter's own rows.
enum StuckCount {
    PerBranch(Vec<StuckBranch>),
    /// The filter with the stuck condition added.
    Whole(Box<MessageQuery>),
}

/// How `count` counts `q`'s stuck messages at `since` (and what
/// `explain_stuck_count` shows).
fn stuck_count_statements(q: &MessageQuery, since: &StuckSince) -> StuckCount {
    let branches = stuck_branches(q, since);
    // A filter that keeps no status a message can be stuck in (DELIVERED, say) has no
    // stuck message: nothing to read. The planner does not see that the filter's
    // status and the stuck condition's exclude each other, and read the filter's
    // rows for it (the console's arrivals view, check-in range + channel +
    // DELIVERED, at 1,000,000 messages on PostgreSQL).
    match branches.is_empty() || stuck_indexes_hold(q) {
        true => StuckCount::PerBranch(branches),
        false => StuckCount::Whole(Box::new(MessageQuery {
            stuck: Some(*since),
            ..q.clone()
        })),
    }
}

/// Whether `q` keeps messages by hotel, status, channel, recording time and campaign
/// name only: the columns of the stuck indexes, so that its stuck count can be read
/// from them alone (`StuckCount::PerBranch`; a recording range is a range of their
/// keys, migration 000023). A filter asking more (a phone, a stay range...) has its
/// stuck messages counted among its own rows, in one statement: split per branch,
/// each branch would read those rows again (a week of check-outs: 28 → 208 ms p50 at
/// 1,000,000 messages on PostgreSQL).
fn stuck_indexes_hold(q: &MessageQuery) -> bool {
    let kept = MessageQuery {
        hotel_ids: q.hotel_ids.clone(),
        statuses: q.statuses.clone(),
        channels: q.channels.clone(),
        created_after: q.created_after,
        created_before: q.created_before,
        campaign_name: q.campaign_name.clone(),
        ..Default::default()
    };
    *q == kept
}

/// One (status, channel) of a stuck count: `q` on that channel, the status as literal
/// SQL (see `stuck_status_sql`), and the instant its clock must have started before.
struct StuckBranch {
    q: MessageQuery,
    status: StaticSql<Bool>,
    clock: stuck::Clock,
    before: NaiveDateTime,
}

fn stuck_branches(q: &MessageQuery, since: &StuckSince) -> Vec<StuckBranch> {
    stuck::branches(&q.statuses, &q.channels)
        .into_iter()
        .filter_map(|(status, channel)| {
            Some(StuckBranch {
                q: MessageQuery {
                    statuses: Vec::new(),
                    channels: vec![channel],
                    ..q.clone()
                },
                status: stuck_status_sql(status)?,
                clock: stuck::Clock::of(status)?,
                before: to_db(since.of(channel)),
            })
        })
        .collect()
}

/// The count statement of one `StuckBranch` (campaign names resolved).
macro_rules! stuck_branch_count {
    ($branch:expr, $names:expr) => {{
        let branch: &StuckBranch = $branch;
        let query = matching!(messages::table, &branch.q, $names).filter(branch.status);
        let query = match branch.clock {
            stuck::Clock::StatusChanged => {
                query.filter(messages::status_changed_at.lt(branch.before))
            }
            stuck::Clock::Due => query
                .filter(coalesce(messages::scheduled_at, messages::created_at).lt(branch.before)),
        };
        query.select(count_star())
    }};
}

/// What a count groups messages by, in the order of `tallies::GroupKey`: status,
/// channel, error category, message category.
const COUNT_GROUPS: (
    messages::status,
    messages::channel,
    messages::error_category,
    messages::category,
) = (
    messages::status,
    messages::channel,
    messages::error_category,
    messages::category,
);

/// The statement of `count_rows_and_stuck`: `q`'s groups, each with its count and
/// `SUM(CASE WHEN <stuck at since> THEN 1 ELSE 0 END)`.
macro_rules! rows_and_stuck_count {
    ($q:expr, $since:expr, $names:expr) => {{
        use diesel::dsl::{case_when, sum};
        use diesel::sql_types::Integer;
        let is_stuck = case_when(stuck_condition!($since), 1.into_sql::<Integer>())
            .otherwise(0.into_sql::<Integer>());
        let grouped = messages::table.group_by(COUNT_GROUPS).select((
            COUNT_GROUPS,
            count_star(),
            sum(is_stuck),
        ));
        matching!(grouped, $q, $names)
    }};
}

/// Whether `count` reads `q`'s stuck messages in the statement that counts its rows
/// (`count_rows_and_stuck`): when they are counted among its own rows
/// (`StuckCount::Whole`) and the tallies cannot answer `q`, both read the same rows.
/// PostgreSQL only: there the second statement cost a second planning and a second
/// walk of the range (CountMessages over a week of check-ins at 1,000,000 messages:
/// 731 → 1,536 calls/s). SQLite evaluates the stuck condition on each entry either
/// way (1.46 + 0.28 ms apart, 1.76 ms together) and its folded count measured slower
/// over gRPC (1,309 → 847–1,038 calls/s), so it keeps the two statements.
fn counts_stuck_with_rows(conn: &DbConn, q: &MessageQuery, statements: &StuckCount) -> bool {
    conn.backend() == super::Backend::Postgres
        && matches!(statements, StuckCount::Whole(_))
        && !tallies::can_answer(q)
}

/// `count_rows` of `q`, and how many of its rows are stuck at `since`, in one pass.
fn count_rows_and_stuck(
    conn: &mut DbConn,
    q: &MessageQuery,
    since: &StuckSince,
    names: Option<&Vec<String>>,
) -> Result<(tallies::Groups, i64), StoreError> {
    let rows: Vec<(tallies::GroupKey, i64, Option<i64>)> =
        with_conn!(conn, c => rows_and_stuck_count!(q, since, names).load(c)?);
    let stuck = rows.iter().map(|r| r.2.unwrap_or(0)).sum();
    let groups = rows.into_iter().map(|(key, n, _)| (key, n)).collect();
    Ok((groups, stuck))
}

/// How many messages are stuck, by `statements` (campaign names resolved). Per
/// branch, each count is one range of `messages_stuck_sent` or
/// `messages_stuck_waiting`. One count over the OR of every branch read each stuck
/// message from the table, and a SENT message a provider never reports on stays
/// stuck, so they pile up: a big hotel's SMS count took 76 ms p50 that way at
/// 1,000,000 messages on PostgreSQL (SQLite: 988 ms), and 38 ms (31 ms) per branch.
fn count_stuck(
    conn: &mut DbConn,
    names: Option<&Vec<String>>,
    statements: StuckCount,
) -> Result<i64, StoreError> {
    match statements {
        StuckCount::PerBranch(branches) => {
            let mut stuck = 0;
            for branch in &branches {
                stuck += with_conn!(conn, c => stuck_branch_count!(branch, names).first::<i64>(c)?);
            }
            Ok(stuck)
        }
        StuckCount::Whole(whole) => Ok(
            with_conn!(conn, c => matching!(messages::table, &whole, names)
            .select(count_star())
            .first::<i64>(c)?),
        ),
    }
}

/// The plan of each statement `count` runs for `q`'s stuck messages at `since` (one
/// per stuck branch, or the one statement over all of them, which may be the one that
/// counts `q`'s rows too), so tests can check that each reads an index.
pub fn explain_stuck_count(
    conn: &mut DbConn,
    q: &MessageQuery,
    since: &StuckSince,
) -> Result<Vec<Vec<String>>, StoreError> {
    use super::explain::Explain;
    let names = campaign_names(conn, q)?;
    let names = names.as_ref();
    let statements = stuck_count_statements(q, since);
    let folded = counts_stuck_with_rows(conn, q, &statements);
    let mut plans = Vec::new();
    macro_rules! plan {
        ($c:expr, $explain:path, $rows:ty, $detail:expr) => {{
            let c = $c;
            match &statements {
                StuckCount::PerBranch(branches) => {
                    for branch in branches {
                        let rows: Vec<$rows> =
                            $explain(stuck_branch_count!(branch, names)).load(c)?;
                        plans.push(rows.into_iter().map($detail).collect());
                    }
                }
                StuckCount::Whole(_) if folded => {
                    let rows: Vec<$rows> =
                        $explain(rows_and_stuck_count!(q, since, names)).load(c)?;
                    plans.push(rows.into_iter().map($detail).collect());
                }
                StuckCount::Whole(whole) => {
                    let rows: Vec<$rows> =
                        $explain(matching!(messages::table, whole, names).select(count_star()))
                            .load(c)?;
                    plans.push(rows.into_iter().map($detail).collect());
                }
            }
        }};
    }
    match conn {
        DbConn::Pg(c, _) => plan!(c, Explain::postgres, String, |line| line),
        DbConn::Sqlite(c) => {
            let detail = |(_, _, _, detail): (i32, i32, i32, String)| detail;
            plan!(c, Explain::sqlite, (i32, i32, i32, String), detail)
        }
    }
    Ok(plans)
}

/// The hotel's messages whose check-in falls in `[from, to]` (the stay-date index).
pub fn arriving(
    conn: &mut DbConn,
    hotel_id: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<Message>, StoreError> {
    let rows: Vec<MessageRow> = with_conn!(conn, c => messages::table
        .filter(messages::hotel_id.eq(hotel_id.to_string()))
        .filter(messages::check_in_date.between(from, to))
        .select(MessageRow::as_select())
        .load(c)?);
    rows.into_iter().map(Message::try_from).collect()
}

/// Matching messages read one by one, grouped.
fn count_rows(
    conn: &mut DbConn,
    q: &MessageQuery,
    names: Option<&Vec<String>>,
) -> Result<tallies::Groups, StoreError> {
    Ok(with_conn!(conn, c => {
        let grouped = messages::table.group_by(COUNT_GROUPS).select((COUNT_GROUPS, count_star()));
        matching!(grouped, q, names).load(c)?
    }))
}

impl Counts {
    fn from_groups(groups: tallies::Groups) -> Counts {
        let mut status: HashMap<MessageStatus, i64> = HashMap::new();
        let mut channel: HashMap<Channel, i64> = HashMap::new();
        let mut category: HashMap<ErrorCategory, i64> = HashMap::new();
        let mut kind: HashMap<MessageCategory, i64> = HashMap::new();
        let mut total = 0;
        for ((s, ch, cat, k), n) in groups {
            total += n;
            if let Some(k) = MessageCategory::from_code(k) {
                *kind.entry(k).or_default() += n;
            }
            if let Some(s) = MessageStatus::from_code(s) {
                *status.entry(s).or_default() += n;
            }
            if let Some(ch) = Channel::from_code(ch) {
                *channel.entry(ch).or_default() += n;
            }
            if let Some(cat) = ErrorCategory::from_code(cat).filter(|c| *c != ErrorCategory::None) {
                *category.entry(cat).or_default() += n;
            }
        }
        let mut counts = Counts {
            total,
            by_status: status.into_iter().collect(),
            by_channel: channel.into_iter().collect(),
            by_error_category: category.into_iter().collect(),
            by_category: kind.into_iter().collect(),
            stuck: 0,
        };
        counts.by_status.sort();
        counts.by_channel.sort();
        counts.by_error_category.sort();
        counts.by_category.sort();
        counts
    }
}

/// These messages (those that exist), in no particular order.
pub fn get_many(conn: &mut DbConn, ids: &[String]) -> Result<Vec<Message>, StoreError> {
    let mut rows: Vec<MessageRow> = Vec::with_capacity(ids.len());
    with_conn!(conn, c => {
        for chunk in ids.chunks(INSERT_CHUNK) {
            rows.extend(messages::table
                .filter(messages::id.eq_any(id_keys(chunk.iter().cloned())))
                .select(MessageRow::as_select())
                .load::<MessageRow>(c)?);
        }
    });
    rows.into_iter().map(Message::try_from).collect()
}

/// One message, if it exists in one of `hotel_ids` (empty: any hotel).
pub fn get(conn: &mut DbConn, id: &str, hotel_ids: &[String]) -> Result<Message, StoreError> {
    let row: MessageRow = with_conn!(conn, c => {
        let mut query = messages::table.filter(messages::id.eq(id_key(id))).into_boxed();
        if !hotel_ids.is_empty() {
            query = query.filter(messages::hotel_id.eq_any(hotel_ids.to_vec()));
        }
        query.select(MessageRow::as_select()).first(c)?
    });
    Message::try_from(row)
}

/// The database's plan for the first page of `q`, one line per plan row: how an
/// operator (or a test) checks that a filter is served by an index.
pub fn explain_list(conn: &mut DbConn, q: &MessageQuery) -> Result<Vec<String>, StoreError> {
    use super::explain::Explain;
    let names = campaign_names(conn, q)?;
    let names = names.as_ref();
    // The statement that picks the page, as `list` runs it: its rows or its ids; for
    // a range read a day at a time, the one statement over its days.
    let per_day = q.per_stay_day(max_days_paged_per_day(conn));
    let sort_matches = sorts_matches(conn, q);
    let one_step = reads_rows_in_one_step(conn, q);
    macro_rules! plan {
        ($c:expr, $explain:path, $rows:ty, $detail:expr) => {{
            let c = $c;
            let rows: Vec<$rows> = match (&per_day, one_step) {
                (Some(days), _) => {
                    $explain(newest_of_days!(days, names, None::<&Cursor>, 51)).load(c)?
                }
                (None, true) => $explain(
                    page_query!(q, names, None::<&Cursor>, 51, sort_matches)
                        .select(MessageRow::as_select()),
                )
                .load(c)?,
                (None, false) => $explain(
                    page_query!(q, names, None::<&Cursor>, 51, sort_matches).select(messages::id),
                )
                .load(c)?,
            };
            rows.into_iter().map($detail).collect()
        }};
    }
    Ok(match conn {
        DbConn::Pg(c, _) => plan!(c, Explain::postgres, String, |line| line),
        DbConn::Sqlite(c) => {
            let detail = |(_, _, _, detail): (i32, i32, i32, String)| detail;
            plan!(c, Explain::sqlite, (i32, i32, i32, String), detail)
        }
    })
}

/// A campaign's name and its messages per status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignCounts {
    pub campaign_name: Option<String>,
    pub by_status: Vec<(MessageStatus, i64)>,
}

/// A campaign's messages counted per status, recorded within [after, before), with
/// the campaign's name; served by the tallies (and the rows of partial days).
/// NotFound when the hotel has no message of that campaign at all.
pub fn campaign_counts(
    conn: &mut DbConn,
    hotel_id: &str,
    campaign_id: &str,
    after: Option<DateTime<Utc>>,
    before: Option<DateTime<Utc>>,
) -> Result<CampaignCounts, StoreError> {
    let Some(campaign_name) = tallies::campaign_name(conn, hotel_id, campaign_id)? else {
        return Err(StoreError::NotFound);
    };
    let q = MessageQuery {
        hotel_ids: vec![hotel_id.to_string()],
        campaign_ids: vec![campaign_id.to_string()],
        created_after: after,
        created_before: before,
        ..MessageQuery::default()
    };
    Ok(CampaignCounts {
        campaign_name,
        by_status: count(conn, &q, None)?.by_status,
    })
}

/// Fills the category of messages the hub recorded without one, from what the provider
/// billed them as (WhatsApp's `pricing.category`); a category the hub gave is kept.
/// Only messages of `hotel_ids` (empty: any hotel). Returns how many were filled.
pub fn fill_categories(
    conn: &mut DbConn,
    provider: &str,
    categories: &[(String, MessageCategory)],
    hotel_ids: &[String],
) -> Result<usize, StoreError> {
    let mut filled = 0;
    with_conn!(conn, c => {
        for (provider_message_id, category) in categories {
            let target = messages::table
                .filter(messages::provider.eq(provider))
                .filter(messages::provider_message_id.eq(provider_message_id))
                .filter(messages::category.eq(MessageCategory::Unspecified.code()));
            filled += if hotel_ids.is_empty() {
                diesel::update(target)
                    .set(messages::category.eq(category.code()))
                    .execute(c)?
            } else {
                diesel::update(target.filter(messages::hotel_id.eq_any(hotel_ids)))
                    .set(messages::category.eq(category.code()))
                    .execute(c)?
            };
        }
    });
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A literal condition's SQL text.
    fn text(f: StaticSql<Bool>) -> String {
        use diesel::query_builder::QueryFragment;
        let mut builder = diesel::sqlite::SqliteQueryBuilder::new();
        f.to_sql(&mut builder, &diesel::sqlite::Sqlite).unwrap();
        diesel::query_builder::QueryBuilder::finish(builder)
    }

    /// The literal statuses say the codes the rest of the store binds.
    #[test]
    fn stuck_status_literals_are_the_status_codes() {
        for status in MessageStatus::ALL {
            let sql = stuck_status_sql(status).map(text);
            match stuck::Clock::of(status) {
                Some(_) => assert_eq!(sql, Some(format!("status = {}", status.code()))),
                None => assert_eq!(sql, None),
            }
        }
        let waiting = format!(
            "(status = {} OR status = {})",
            MessageStatus::Pending.code(),
            MessageStatus::Validated.code()
        );
        assert_eq!(WAITING_SQL, waiting);
    }

    /// Each one-value filter's literal is the code the rest of the store binds, and a
    /// branch of the condition of SQLite's partial index (migration 000027), so SQLite
    /// proves the filter falls in that index; DELIVERED, READ and no error are not in it.
    #[test]
    fn rare_literals_are_branches_of_the_partial_indexes() {
        let migration = include_str!(
            "../../migrations/sqlite/2026-12-07-000027_partial_status_error_indexes/up.sql"
        );
        // Every term of every index condition: the text after WHERE, cut at OR.
        let code: String = migration
            .lines()
            .filter(|l| !l.trim_start().starts_with("--"))
            .collect::<Vec<_>>()
            .join(" ");
        let branches: Vec<&str> = code
            .split(';')
            .filter_map(|statement| statement.split_once(" WHERE ").map(|(_, c)| c))
            .flat_map(|condition| condition.split(" OR "))
            .map(str::trim)
            .collect();
        // (the filter's literal, the literal it must be, or None where no index holds it)
        let statuses = MessageStatus::ALL.into_iter().map(|status| {
            let held = !matches!(status, MessageStatus::Delivered | MessageStatus::Read);
            (
                rare_status_sql(&[status]).map(text),
                held.then(|| format!("status = {}", status.code())),
            )
        });
        let errors = ErrorCategory::ALL.into_iter().map(|category| {
            (
                rare_error_sql(&[category]).map(text),
                (category != ErrorCategory::None)
                    .then(|| format!("error_category = {}", category.code())),
            )
        });
        for (sql, wanted) in statuses.chain(errors) {
            assert_eq!(sql, wanted);
            if let Some(sql) = sql {
                assert!(
                    branches.contains(&sql.as_str()),
                    "{sql} not in {branches:?}"
                );
            }
        }
        assert!(rare_error_sql(&[ErrorCategory::OptedOut, ErrorCategory::Other]).is_none());
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
    }
}
