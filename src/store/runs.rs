//! Reconciliation run records.
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text, Timestamp};

use super::messages::{from_db, to_db};
use super::schema::reconciliation_runs as runs;
use super::{DbConn, StoreError};
use crate::domain::page::Cursor;
use crate::domain::run::{ReconciliationRun, RunState};
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
        let split = |s: &str, sep: char| -> Vec<String> {
            s.split(sep)
                .filter(|x| !x.is_empty())
                .map(String::from)
                .collect()
        };
        ReconciliationRun {
            state: RunState::from_name(&r.state).unwrap_or(RunState::Failed),
            hotel_ids: split(&r.hotel_ids, ','),
            error_details: split(&r.error_details, '\n'),
            started_at: from_db(r.started_at),
            finished_at: r.finished_at.map(from_db),
            id: r.id,
            trigger: r.trigger,
            messages_checked: r.messages_checked,
            flags_raised: r.flags_raised,
            messages_skipped: r.messages_skipped,
            errors: r.errors,
        }
    }
}

/// Writes a run's record (insert, or update of a run already written).
pub fn save(conn: &mut DbConn, run: &ReconciliationRun) -> Result<(), StoreError> {
    let row = RunRow::from(run);
    with_conn!(conn, c => {
        let updated = diesel::update(runs::table.filter(runs::id.eq(row.id.clone())))
            .set(&row)
            .execute(c)?;
        if updated == 0 {
            diesel::insert_into(runs::table).values(&row).execute(c)?;
        }
    });
    Ok(())
}

/// A page of runs, newest first, after `cursor`.
pub fn list(
    conn: &mut DbConn,
    cursor: Option<&Cursor>,
    limit: usize,
) -> Result<Vec<ReconciliationRun>, StoreError> {
    let rows: Vec<RunRow> = with_conn!(conn, c => {
        let mut q = runs::table.into_boxed();
        if let Some(cur) = cursor {
            q = q.filter(
                diesel::dsl::sql::<Bool>("(started_at, id) < (")
                    .bind::<Timestamp, _>(to_db(cur.at))
                    .sql(", ")
                    .bind::<Text, _>(cur.id.clone())
                    .sql(")"),
            );
        }
        q.order((runs::started_at.desc(), runs::id.desc()))
            .limit(limit as i64)
            .select(RunRow::as_select())
            .load(c)?
    });
    Ok(rows.into_iter().map(Into::into).collect())
}
