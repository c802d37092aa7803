//! Reconciliation run records, with each hotel's share of a pass.
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Text, Timestamp};

use super::connection::{from_db, to_db};
use super::fragments::row_before;
use super::schema::reconciliation_run_hotels as run_hotels;
use super::schema::reconciliation_runs as runs;
use super::{DbConn, StoreError, WriteTransaction};
use crate::domain::page::Cursor;
use crate::domain::run::{HotelCounts, ReconciliationRun, RunState};
use crate::with_conn;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = runs, treat_none_as_default_value = false)]
struct RunRow {
    id: String,
    started_at: NaiveDateTime,
    finished_at: Option<NaiveDateTime>,
    trigger: String,
    state: String,
    hotel_ids: String,
    messages_checked: i64,
    flags_raised: i64,
    messages_skipped: i64,
    errors: i64,
    error_details: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = run_hotels)]
struct RunHotelRow {
    run_id: String,
    hotel_id: String,
    messages_checked: i64,
    flags_raised: i64,
    messages_skipped: i64,
    errors: i64,
    error_details: String,
}

impl From<&ReconciliationRun> for RunRow {
    fn from(r: &ReconciliationRun) -> Self {
        RunRow {
            id: r.id.clone(),
            started_at: to_db(r.started_at),
            finished_at: r.finished_at.map(to_db),
            trigger: r.trigger.clone(),
            state: r.state.name().to_string(),
            hotel_ids: r.hotel_ids.join(","),
            messages_checked: r.messages_checked,
            flags_raised: r.flags_raised,
            messages_skipped: r.messages_skipped,
            errors: r.errors,
            error_details: r.error_details.join("\n"),
        }
    }
}

impl From<RunRow> for ReconciliationRun {
    fn from(r: RunRow) -> Self {
        ReconciliationRun {
            state: RunState::from_name(&r.state).unwrap_or(RunState::Failed),
            hotel_ids: split(&r.hotel_ids, ','),
            error_details: lines(&r.error_details),
            started_at: from_db(r.started_at),
            finished_at: r.finished_at.map(from_db),
            id: r.id,
            trigger: r.trigger,
            messages_checked: r.messages_checked,
            flags_raised: r.flags_raised,
            messages_skipped: r.messages_skipped,
            errors: r.errors,
            per_hotel: Default::default(),
            raised_by_reason: Default::default(),
        }
    }
}

fn split(s: &str, sep: char) -> Vec<String> {
    s.split(sep)
        .filter(|x| !x.is_empty())
        .map(String::from)
        .collect()
}

/// Error lines as stored: one per line.
fn lines(s: &str) -> Vec<String> {
    split(s, '\n')
}

/// Writes a run's record (insert, or update of a run already written) and its
/// per-hotel counts, in one transaction.
pub fn save(conn: &mut DbConn, run: &ReconciliationRun) -> Result<(), StoreError> {
    let row = RunRow::from(run);
    let hotel_rows: Vec<RunHotelRow> = run
        .per_hotel
        .iter()
        .map(|(hotel, c)| RunHotelRow {
            run_id: run.id.clone(),
            hotel_id: hotel.clone(),
            messages_checked: c.messages_checked,
            flags_raised: c.flags_raised,
            messages_skipped: c.messages_skipped,
            errors: c.errors,
            error_details: c.error_details.join("\n"),
        })
        .collect();
    with_conn!(conn, c => c.write_transaction::<_, StoreError, _>(|c| {
        let updated = diesel::update(runs::table.filter(runs::id.eq(row.id.clone())))
            .set(&row)
            .execute(c)?;
        if updated == 0 {
            diesel::insert_into(runs::table).values(&row).execute(c)?;
        }
        diesel::delete(run_hotels::table.filter(run_hotels::run_id.eq(row.id.clone())))
            .execute(c)?;
        for chunk in hotel_rows.chunks(500) {
            diesel::insert_into(run_hotels::table).values(chunk).execute(c)?;
        }
        Ok(())
    }))
}

/// A page of runs, newest first, after `cursor`, with their per-hotel counts. With
/// `hotel_ids` (empty: every hotel), only the runs that touched one of them, and only
/// their counts.
pub fn list(
    conn: &mut DbConn,
    hotel_ids: &[String],
    cursor: Option<&Cursor>,
    limit: usize,
) -> Result<Vec<ReconciliationRun>, StoreError> {
    let (rows, hotel_rows): (Vec<RunRow>, Vec<RunHotelRow>) = with_conn!(conn, c => {
        let mut q = runs::table.into_boxed();
        if !hotel_ids.is_empty() {
            q = q.filter(
                runs::id.eq_any(
                    run_hotels::table
                        .filter(run_hotels::hotel_id.eq_any(hotel_ids.to_vec()))
                        .select(run_hotels::run_id),
                ),
            );
        }
        if let Some(cur) = cursor {
            q = q.filter(row_before(
                (runs::started_at, runs::id),
                (to_db(cur.at).into_sql::<Timestamp>(), cur.id.clone().into_sql::<Text>()),
            ));
        }
        let rows: Vec<RunRow> = q
            .order((runs::started_at.desc(), runs::id.desc()))
            .limit(limit as i64)
            .select(RunRow::as_select())
            .load(c)?;
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let mut h = run_hotels::table
            .filter(run_hotels::run_id.eq_any(ids))
            .into_boxed();
        if !hotel_ids.is_empty() {
            h = h.filter(run_hotels::hotel_id.eq_any(hotel_ids.to_vec()));
        }
        (rows, h.select(RunHotelRow::as_select()).load(c)?)
    });
    let mut runs: Vec<ReconciliationRun> = rows.into_iter().map(Into::into).collect();
    for h in hotel_rows {
        if let Some(run) = runs.iter_mut().find(|r| r.id == h.run_id) {
            run.per_hotel.insert(
                h.hotel_id,
                HotelCounts {
                    messages_checked: h.messages_checked,
                    flags_raised: h.flags_raised,
                    messages_skipped: h.messages_skipped,
                    errors: h.errors,
                    error_details: lines(&h.error_details),
                },
            );
        }
    }
    Ok(runs)
}
