//! Message tallies: messages counted per (hotel, UTC day recorded, campaign, channel,
//! status, error category, message category), kept by the database's triggers on `messages` (see the
//! `message_tallies` migration). Counts whose filter uses only these fields sum
//! tallies instead of reading every matching message.
use diesel::dsl::sum;
use diesel::prelude::*;

use super::fragments::{filter_in, filter_matched_names};
use super::schema::message_tallies as t;
use super::{Backend, DbConn, StoreError};
use crate::domain::day_split::WholeDays;
use crate::domain::error_category::ErrorCategory;
use crate::domain::filter::MessageQuery;
use crate::with_conn;

/// What a count groups messages by: status, channel, error category, message category
/// codes (the row counts group by the same columns of `messages`).
pub type GroupKey = (i32, i32, i32, i32);

/// Each group's key and its messages, as the tallies and the row counts give them.
pub type Groups = Vec<(GroupKey, i64)>;

/// The tallies' group columns, in `GroupKey`'s order.
const TALLY_GROUPS: (t::status, t::channel, t::error_category, t::category) =
    (t::status, t::channel, t::error_category, t::category);

/// Whether the tallies can answer `q`: it filters on nothing they do not keep
/// (recording time aside, which they keep by whole day).
pub fn can_answer(q: &MessageQuery) -> bool {
    q.phone_forms.is_empty()
        && q.email.is_none()
        && q.pms_reservation_id.is_none()
        && q.provider_message_id.is_none()
        && q.check_in.from.is_none()
        && q.check_in.to.is_none()
        && q.check_out.from.is_none()
        && q.check_out.to.is_none()
        // Tallies know statuses, not how long a message has waited.
        && q.stuck.is_none()
}

/// The statement of `count`: `q`'s tallies on `days`, summed per group, as a boxed
/// query for the connection in hand (`$postgres`: its backend is PostgreSQL).
macro_rules! grouped_tallies {
    ($q:expr, $names:expr, $days:expr, $postgres:expr) => {{
        let q: &MessageQuery = $q;
        let days: &WholeDays = $days;
        let mut query = t::table
            .group_by(TALLY_GROUPS)
            .select((TALLY_GROUPS, sum(t::messages)))
            .into_boxed();
        if $postgres {
            query = query.filter(every_tally());
        }
        query = filter_in!(query, t::hotel_id, q.hotel_ids.as_slice());
        if let Some(d) = days.from {
            query = query.filter(t::day.ge(d));
        }
        if let Some(d) = days.until {
            query = query.filter(t::day.lt(d));
        }
        query = filter_matched_names!(query, t::campaign_name, $names);
        query = filter_in!(query, t::campaign_id, q.campaign_ids.as_slice());
        let channels: Vec<i32> = q.channels.iter().map(|c| c.code()).collect();
        let statuses: Vec<i32> = q.statuses.iter().map(|s| s.code()).collect();
        let errors: Vec<i32> = q.error_categories.iter().map(|c| c.code()).collect();
        let kinds: Vec<i32> = q.categories.iter().map(|c| c.code()).collect();
        query = filter_in!(query, t::channel, channels.as_slice());
        query = filter_in!(query, t::status, statuses.as_slice());
        query = filter_in!(query, t::error_category, errors.as_slice());
        filter_in!(query, t::category, kinds.as_slice())
    }};
}

/// The messages matching `q` (campaign names resolved) recorded on `days`, grouped.
pub fn count(
    conn: &mut DbConn,
    q: &MessageQuery,
    names: Option<&Vec<String>>,
    days: WholeDays,
) -> Result<Groups, StoreError> {
    let postgres = conn.backend() == Backend::Postgres;
    let rows: Vec<(GroupKey, Option<i64>)> =
        with_conn!(conn, c => grouped_tallies!(q, names, &days, postgres).load(c)?);
    Ok(rows
        .into_iter()
        .filter_map(|(key, n)| n.filter(|n| *n != 0).map(|n| (key, n)))
        .collect())
}

/// The plan of `count`'s statement for `q` on `days`, one line per node, so tests can
/// check which indexes it reads.
pub fn explain_count(
    conn: &mut DbConn,
    q: &MessageQuery,
    days: WholeDays,
) -> Result<Vec<String>, StoreError> {
    use super::explain::Explain;
    Ok(match conn {
        DbConn::Pg(c, _) => Explain::postgres(grouped_tallies!(q, None, &days, true)).load(c)?,
        DbConn::Sqlite(c) => {
            let rows: Vec<(i32, i32, i32, String)> =
                Explain::sqlite(grouped_tallies!(q, None, &days, false)).load(c)?;
            rows.into_iter().map(|(_, _, _, detail)| detail).collect()
        }
    })
}

/// The name a campaign's messages carry, `Some(None)` when they carry none, None when
/// the hotel has no message of that campaign.
pub fn campaign_name(
    conn: &mut DbConn,
    hotel_id: &str,
    campaign_id: &str,
) -> Result<Option<Option<String>>, StoreError> {
    let postgres = conn.backend() == Backend::Postgres;
    let name: Option<String> = with_conn!(conn, c => {
        let mut query = t::table
            .filter(t::hotel_id.eq(hotel_id.to_string()))
            .filter(t::campaign_id.eq(campaign_id.to_string()))
            .filter(t::messages.gt(0))
            .select(t::campaign_name)
            .into_boxed();
        if postgres {
            query = query.filter(every_tally());
        }
        query.first(c).optional()?
    });
    Ok(name.map(|n| Some(n).filter(|n| !n.is_empty())))
}

/// PostgreSQL: every tally, settled or pending, said so that the planner reads a
/// hotel's tallies from the two partial indexes (`message_tallies_settled`,
/// `message_tallies_pending`) in one BitmapOr: no index holds them all (migration
/// 000028). SQLite keeps no pending tallies.
fn every_tally() -> diesel::expression::SqlLiteral<diesel::sql_types::Bool> {
    diesel::dsl::sql("(pending OR NOT pending)")
}

/// Advisory lock key held while settling, so one instance settles at a time.
const SETTLE_LOCK_KEY: i64 = 0x5e47_7a11;

/// PostgreSQL: folds pending tallies (appended by every write) into the settled
/// ones, in one transaction, and drops the settled tallies this fold brought to zero
/// (only those: a fold reads the pending rows and the keys they touch, never the whole
/// table). Does nothing when another instance is settling. SQLite's triggers update
/// tallies in place (one writer at a time), so it has nothing to settle.
pub fn settle_pg(c: &mut diesel::PgConnection) -> Result<(), StoreError> {
    use super::WriteTransaction;
    use diesel::sql_types::{Bool, Date, Text};
    use std::collections::BTreeMap;
    #[derive(QueryableByName)]
    struct Locked {
        #[diesel(sql_type = Bool)]
        locked: bool,
    }
    /// A (hotel, day) where the fold left a settled tally at zero.
    #[derive(QueryableByName)]
    struct Emptied {
        #[diesel(sql_type = Text)]
        hotel_id: String,
        #[diesel(sql_type = Date)]
        day: chrono::NaiveDate,
    }
    c.write_transaction(|c| {
        let lock: Locked = diesel::sql_query(format!(
            "SELECT pg_try_advisory_xact_lock({SETTLE_LOCK_KEY}) AS locked"
        ))
        .get_result(c)?;
        if !lock.locked {
            return Ok(());
        }
        let emptied: Vec<Emptied> = diesel::sql_query(
            "WITH moved AS (
                 DELETE FROM message_tallies WHERE pending
                 RETURNING hotel_id, day, campaign_id, campaign_name, channel, status,
                           error_category, category, messages
             ), settled AS (
                 INSERT INTO message_tallies AS t
                     (hotel_id, day, campaign_id, campaign_name, channel, status,
                      error_category, category, messages, pending)
                 SELECT hotel_id, day, campaign_id, campaign_name, channel, status,
                        error_category, category, SUM(messages)::integer, false
                 FROM moved
                 GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
                 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8
                 ON CONFLICT (hotel_id, day, campaign_id, campaign_name, channel, status,
                              error_category, category) WHERE NOT pending
                 DO UPDATE SET messages = t.messages + EXCLUDED.messages
                 RETURNING t.hotel_id, t.day, t.messages
             )
             SELECT DISTINCT hotel_id, day FROM settled WHERE messages = 0",
        )
        .load(c)?;
        let mut days_by_hotel: BTreeMap<String, Vec<chrono::NaiveDate>> = BTreeMap::new();
        for e in emptied {
            days_by_hotel.entry(e.hotel_id).or_default().push(e.day);
        }
        for (hotel, days) in days_by_hotel {
            diesel::delete(
                t::table
                    .filter(t::hotel_id.eq(hotel))
                    .filter(t::day.eq_any(days))
                    .filter(t::messages.eq(0))
                    .filter(diesel::dsl::sql::<Bool>("NOT pending")),
            )
            .execute(c)?;
        }
        Ok(())
    })
}

/// Messages whose current error is `category`, per hotel (for the metrics): a sum of
/// tallies, never a read of messages.
pub fn per_hotel_with_error(
    conn: &mut DbConn,
    category: ErrorCategory,
) -> Result<Vec<(String, i64)>, StoreError> {
    let rows: Vec<(String, Option<i64>)> = with_conn!(conn, c => t::table
        .filter(t::error_category.eq(category.code()))
        .group_by(t::hotel_id)
        .select((t::hotel_id, sum(t::messages)))
        .load(c)?);
    Ok(rows
        .into_iter()
        .filter_map(|(h, n)| n.filter(|n| *n > 0).map(|n| (h, n)))
        .collect())
}
