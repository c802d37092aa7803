//! The benchmark's baseline: the same reads and writes the service does, written as
//! plain SQL statements and run through the driver with nothing around them, so the
//! benchmark can say how close the service comes to the database's own limit. Values
//! are inlined as quoted literals.
use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_query;
use diesel::sql_types::{BigInt, Text};

use sentlog::domain::filter::MessageQuery;
use sentlog::domain::message::{Channel, MessageStatus};
use sentlog::domain::status::rank;
use sentlog::store::connection::to_db;
use sentlog::store::message_key::id_literal;
use sentlog::store::messages::MessageRow;
use sentlog::store::{Backend, DbConn, StoreError, WriteTransaction};
use sentlog::with_conn;

fn text(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn time(t: DateTime<Utc>) -> String {
    text(&to_db(t).format("%Y-%m-%d %H:%M:%S%.6f").to_string())
}

fn date(d: NaiveDate) -> String {
    text(&d.to_string())
}

fn list_of(items: impl IntoIterator<Item = String>) -> String {
    items.into_iter().collect::<Vec<_>>().join(", ")
}

/// `column` holding one of `values` (literals): an equality for one value, as the
/// service writes it and as a driver user would. SQLite proves a partial index (the
/// rare statuses') from `status = 4`, never from `status IN (4)`.
fn one_of(column: &str, values: impl IntoIterator<Item = String>) -> String {
    let values: Vec<String> = values.into_iter().collect();
    match values.as_slice() {
        [one] => format!("{column} = {one}"),
        many => format!("{column} IN ({})", many.join(", ")),
    }
}

/// The WHERE clause of a filter, as the service's query applies it, with the campaign
/// names matching the filter's name already looked up (see `campaign_names`).
pub fn where_clause(q: &MessageQuery, names: Option<&[String]>) -> String {
    let mut parts = vec!["1 = 1".to_string()];
    let texts = |v: &[String]| v.iter().map(|s| text(s)).collect::<Vec<_>>();
    if !q.hotel_ids.is_empty() {
        parts.push(one_of("hotel_id", texts(&q.hotel_ids)));
    }
    if !q.phone_forms.is_empty() {
        parts.push(one_of("recipient_phone", texts(&q.phone_forms)));
    }
    if let Some(names) = names {
        parts.push(one_of("campaign_name", texts(names)));
    }
    for (column, range) in [
        ("check_in_date", q.check_in),
        ("check_out_date", q.check_out),
    ] {
        if let Some(d) = range.from {
            parts.push(format!("{column} >= {}", date(d)));
        }
        if let Some(d) = range.to {
            parts.push(format!("{column} <= {}", date(d)));
        }
    }
    if !q.channels.is_empty() {
        parts.push(one_of(
            "channel",
            q.channels.iter().map(|c| c.code().to_string()),
        ));
    }
    if !q.statuses.is_empty() {
        parts.push(one_of(
            "status",
            q.statuses.iter().map(|s| s.code().to_string()),
        ));
    }
    if let Some(t) = q.created_after {
        parts.push(format!("created_at >= {}", time(t)));
    }
    if let Some(t) = q.created_before {
        parts.push(format!("created_at < {}", time(t)));
    }
    parts.join(" AND ")
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

/// The campaign names containing the filter's name, from the small campaigns table
/// (the service's first step too), or None when the filter has no name.
fn campaign_names(conn: &mut DbConn, q: &MessageQuery) -> Result<Option<Vec<String>>, StoreError> {
    let Some(needle) = &q.campaign_name else {
        return Ok(None);
    };
    let hotels = match q.hotel_ids.is_empty() {
        true => String::new(),
        false => format!(
            "hotel_id IN ({}) AND ",
            list_of(q.hotel_ids.iter().map(|h| text(h)))
        ),
    };
    let sql = format!(
        "SELECT name FROM campaigns WHERE {hotels}name_folded LIKE {}",
        text(&format!("%{needle}%"))
    );
    let names: Vec<Name> = with_conn!(conn, c => sql_query(&sql).load(c)?);
    Ok(Some(names.into_iter().map(|n| n.name).collect()))
}

/// One page of the filter, newest first, every column (what ListMessages reads).
pub fn list(conn: &mut DbConn, q: &MessageQuery, limit: usize) -> Result<usize, StoreError> {
    let names = campaign_names(conn, q)?;
    let sql = format!(
        "SELECT * FROM messages WHERE {} ORDER BY created_at DESC, id DESC LIMIT {limit}",
        where_clause(q, names.as_deref())
    );
    let rows: Vec<MessageRow> = with_conn!(conn, c => sql_query(&sql).load(c)?);
    Ok(rows.len())
}

#[derive(QueryableByName)]
struct Group {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Bytes {
    #[diesel(sql_type = BigInt)]
    bytes: i64,
}

/// The database's size on disk, and the messages it holds: PostgreSQL's
/// `pg_database_size` (tables, indexes, TOAST); SQLite's pages (after a checkpoint the
/// WAL holds nothing more).
pub fn disk_use(conn: &mut DbConn) -> Result<(i64, i64), StoreError> {
    let bytes: Bytes = match conn {
        DbConn::Pg(c, _) => {
            sql_query("SELECT pg_database_size(current_database()) AS bytes").get_result(c)?
        }
        DbConn::Sqlite(c) => sql_query(
            "SELECT page_count * page_size AS bytes FROM pragma_page_count(), pragma_page_size()",
        )
        .get_result(c)?,
    };
    let messages: Group =
        with_conn!(conn, c => sql_query("SELECT COUNT(*) AS n FROM messages").get_result(c)?);
    Ok((bytes.bytes, messages.n))
}

/// The campaign of the messages the RecordMessages measure writes. Those reuse the
/// same phones in every run, so a `--reuse` run must not pick its phones among them.
pub const RECORDED_CAMPAIGN_ID: &str = "live";

#[derive(QueryableByName)]
struct Phone {
    #[diesel(sql_type = Text)]
    phone: String,
}

/// Up to `n` phones of `hotel`'s SMS and WhatsApp messages from the seed (not from an
/// earlier run's RecordMessages measure: each run adds a message to each of those).
pub fn seeded_phones(conn: &mut DbConn, hotel: &str, n: usize) -> Result<Vec<String>, StoreError> {
    let sql = format!(
        "SELECT recipient_phone AS phone FROM messages WHERE hotel_id = {} \
         AND channel IN ({}, {}) AND recipient_phone IS NOT NULL \
         AND campaign_id IS DISTINCT FROM {} LIMIT {n}",
        text(hotel),
        Channel::Sms.code(),
        Channel::Whatsapp.code(),
        text(RECORDED_CAMPAIGN_ID),
    );
    let phones: Vec<Phone> = with_conn!(conn, c => sql_query(&sql).load(c)?);
    Ok(phones.into_iter().map(|p| p.phone).collect())
}

#[derive(QueryableByName)]
pub struct IndexDefinition {
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Text)]
    pub definition: String,
}

/// PostgreSQL: reclaims the tallies folded away, as autovacuum does in production
/// whenever a fifth of the small tallies table is dead (SQLite updates tallies in
/// place and has nothing to reclaim).
pub fn vacuum_tallies(conn: &mut DbConn) -> Result<(), StoreError> {
    if let DbConn::Pg(c, _) = conn {
        sql_query("VACUUM message_tallies").execute(c)?;
    }
    Ok(())
}

/// Drops the secondary indexes of `messages` (those no write needs: every unique
/// index stays, so RecordMessages' `ON CONFLICT` and id lookups work) and returns their
/// definitions, read from the catalog, for `rebuild_indexes`. A bulk seed writes the
/// rows without them and sorts each index once at the end, instead of updating twenty
/// B-trees per row.
pub fn drop_secondary_indexes(conn: &mut DbConn) -> Result<Vec<IndexDefinition>, StoreError> {
    let catalog = match conn.backend() {
        Backend::Postgres => {
            "SELECT indexname AS name, indexdef AS definition FROM pg_indexes \
             WHERE schemaname = current_schema() AND tablename = 'messages' \
             AND indexdef NOT LIKE 'CREATE UNIQUE %' ORDER BY indexname"
        }
        Backend::Sqlite => {
            "SELECT name, sql AS definition FROM sqlite_master \
             WHERE type = 'index' AND tbl_name = 'messages' AND sql IS NOT NULL \
             AND sql NOT LIKE 'CREATE UNIQUE %' ORDER BY name"
        }
    };
    let indexes: Vec<IndexDefinition> = with_conn!(conn, c => sql_query(catalog).load(c)?);
    for index in &indexes {
        let drop = format!("DROP INDEX {}", index.name);
        with_conn!(conn, c => sql_query(&drop).execute(c)?);
    }
    Ok(indexes)
}

/// Builds the indexes `drop_secondary_indexes` dropped, from their own definitions,
/// with a sort memory large enough for ten million rows (reset after, so the
/// baselines run with the server's settings).
pub fn rebuild_indexes(conn: &mut DbConn, indexes: &[IndexDefinition]) -> Result<(), StoreError> {
    let (before, after) = match conn.backend() {
        Backend::Postgres => (
            "SET maintenance_work_mem = '1GB'",
            "RESET maintenance_work_mem",
        ),
        // SQLite's default page cache is 2,000 KiB (cache_size -2000).
        Backend::Sqlite => ("PRAGMA cache_size = -1048576", "PRAGMA cache_size = -2000"),
    };
    with_conn!(conn, c => sql_query(before).execute(c)?);
    for index in indexes {
        let started = std::time::Instant::now();
        with_conn!(conn, c => sql_query(&index.definition).execute(c)?);
        eprintln!(
            "rebuilt {} in {:.1} s",
            index.name,
            started.elapsed().as_secs_f64()
        );
    }
    with_conn!(conn, c => sql_query(after).execute(c)?);
    Ok(())
}

/// Counts of the filter per status, channel and error category (what CountMessages reads).
pub fn count(conn: &mut DbConn, q: &MessageQuery) -> Result<i64, StoreError> {
    let names = campaign_names(conn, q)?;
    let sql = format!(
        "SELECT status, channel, error_category, COUNT(*) AS n FROM messages WHERE {} \
         GROUP BY status, channel, error_category",
        where_clause(q, names.as_deref())
    );
    let groups: Vec<Group> = with_conn!(conn, c => sql_query(&sql).load(c)?);
    Ok(groups.iter().map(|g| g.n).sum())
}

/// A status event, as the baseline writes it.
#[derive(Debug, Clone)]
pub struct RawEvent {
    pub message_id: String,
    pub event_id: String,
    pub status: MessageStatus,
    pub occurred_at: DateTime<Utc>,
}

/// A plain-SQL way of applying a batch of events; returns the statuses changed.
pub type ApplyEvents = fn(&mut DbConn, &[RawEvent], DateTime<Utc>) -> Result<usize, StoreError>;

/// The timestamp column an event of `status` fills the first time.
fn milestone_column(status: MessageStatus) -> Option<&'static str> {
    match status {
        MessageStatus::Sent => Some("sent_at"),
        MessageStatus::Delivered => Some("delivered_at"),
        MessageStatus::Read => Some("read_at"),
        MessageStatus::Failed | MessageStatus::Undelivered => Some("failed_at"),
        _ => None,
    }
}

/// The writes of UpdateStatuses as plain statements, one transaction per batch and
/// two statements per event: keep the event unless it is a duplicate, and move the
/// message's status when the event outranks it (stale events change nothing).
/// Returns the statuses changed.
pub fn apply_events(
    conn: &mut DbConn,
    events: &[RawEvent],
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let received = time(now);
    let backend = conn.backend();
    // Rows locked in message order, as the service does, so concurrent batches
    // touching the same messages wait for each other instead of deadlocking.
    let mut ordered: Vec<&RawEvent> = events.iter().collect();
    ordered.sort_by(|a, b| a.message_id.cmp(&b.message_id));
    let mut statements = Vec::with_capacity(events.len() * 2);
    for e in ordered {
        let lower: Vec<String> = sentlog::domain::message::MessageStatus::ALL
            .into_iter()
            .filter(|s| rank(*s) < rank(e.status))
            .map(|s| s.code().to_string())
            .collect();
        let at = time(e.occurred_at);
        statements.push((
            format!(
                "INSERT INTO status_events (message_id, event_id, status, occurred_at, received_at, \
                 error_category, outcome) VALUES ({}, {}, {}, {at}, {received}, 0, 1) \
                 ON CONFLICT DO NOTHING",
                id_literal(backend, &e.message_id),
                text(&e.event_id),
                e.status.code()
            ),
            false,
        ));
        statements.push((
            format!(
                "UPDATE messages SET status = {}, status_changed_at = {at}, status_event_id = {}, \
                 updated_at = {received}{} WHERE id = {} AND status IN ({})",
                e.status.code(),
                text(&e.event_id),
                milestone_column(e.status)
                    .map(|c| format!(", {c} = COALESCE({c}, {at})"))
                    .unwrap_or_default(),
                id_literal(backend, &e.message_id),
                list_of(lower)
            ),
            true,
        ));
    }
    run_batch(conn, &statements)
}

/// The same writes, set-based: the best plain-SQL way a driver user would apply a
/// batch, and the baseline UpdateStatuses is held to (#17). One multi-row INSERT of
/// the events, and one UPDATE of each message to its highest-ranked event of the
/// batch when that outranks its status; PostgreSQL locks the rows in id order first.
pub fn apply_events_set_based(
    conn: &mut DbConn,
    events: &[RawEvent],
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let backend = conn.backend();
    let postgres = backend == Backend::Postgres;
    // PostgreSQL types a VALUES list from its literals: timestamps must say so.
    let timestamp = |t: DateTime<Utc>| match postgres {
        true => format!("CAST({} AS timestamp)", time(t)),
        false => time(t),
    };
    let received = timestamp(now);
    let mut winners: BTreeMap<&str, &RawEvent> = BTreeMap::new();
    for e in events {
        let winner = winners.entry(&e.message_id).or_insert(e);
        if rank(e.status) > rank(winner.status) {
            *winner = e;
        }
    }
    let mut statements = Vec::with_capacity(3);
    if postgres {
        statements.push((
            format!(
                "SELECT id FROM messages WHERE id IN ({}) ORDER BY id FOR UPDATE",
                list_of(winners.keys().map(|id| id_literal(backend, id)))
            ),
            false,
        ));
    }
    statements.push((
        format!(
            "INSERT INTO status_events (message_id, event_id, status, occurred_at, received_at, \
             error_category, outcome) VALUES {} ON CONFLICT DO NOTHING",
            list_of(events.iter().map(|e| format!(
                "({}, {}, {}, {}, {received}, 0, 1)",
                id_literal(backend, &e.message_id),
                text(&e.event_id),
                e.status.code(),
                timestamp(e.occurred_at)
            )))
        ),
        false,
    ));
    let rank_of_status = format!(
        "CASE messages.status {} END",
        MessageStatus::ALL
            .map(|s| format!("WHEN {} THEN {}", s.code(), rank(s)))
            .join(" ")
    );
    let milestones = ["sent_at", "delivered_at", "read_at", "failed_at"].map(|column| {
        let codes = list_of(
            MessageStatus::ALL
                .into_iter()
                .filter(|s| milestone_column(*s) == Some(column))
                .map(|s| s.code().to_string()),
        );
        format!("{column} = CASE WHEN v.status IN ({codes}) THEN COALESCE({column}, v.at) ELSE {column} END")
    });
    statements.push((
        format!(
            "WITH v(id, status, event_rank, at, event_id) AS (VALUES {}) \
             UPDATE messages SET status = v.status, status_changed_at = v.at, \
             status_event_id = v.event_id, updated_at = {received}, {} \
             FROM v WHERE messages.id = v.id AND {rank_of_status} < v.event_rank",
            list_of(winners.values().map(|e| format!(
                "({}, {}, {}, {}, {})",
                id_literal(backend, &e.message_id),
                e.status.code(),
                rank(e.status),
                timestamp(e.occurred_at),
                text(&e.event_id)
            ))),
            milestones.join(", ")
        ),
        true,
    ));
    run_batch(conn, &statements)
}

/// Runs a batch's statements in one transaction; returns the rows changed by those
/// marked as counted. A deadlock between concurrent batches is retried, as any driver
/// user would.
fn run_batch(conn: &mut DbConn, statements: &[(String, bool)]) -> Result<usize, StoreError> {
    let mut attempts = 0;
    loop {
        let result = with_conn!(conn, c => c.write_transaction(|c| {
            let mut changed = 0;
            for (statement, counted) in statements {
                let n = sql_query(statement).execute(c)?;
                if *counted {
                    changed += n;
                }
            }
            Ok::<_, StoreError>(changed)
        }));
        match result {
            Err(StoreError::Unavailable(e)) if attempts < 5 && e.contains("deadlock") => {
                attempts += 1
            }
            other => return other,
        }
    }
}
