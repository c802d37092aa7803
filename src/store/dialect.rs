//! What differs between the backends, in one place.
//!
//! The store dispatches on the backend one way: `with_conn!` runs one diesel body on
//! the concrete connection (`PgConnection` or `SqliteConnection`), and every statement
//! that cannot be the same text on both, or that diesel types only on a concrete
//! connection (`ON CONFLICT` inside a body generic over the connection, `FOR UPDATE`,
//! `NOTIFY`, advisory locks, maintenance), is a method of `Dialect`, implemented below
//! for each. diesel 2.3 cannot take these as functions generic over the backend: it
//! asks for a private bound (`DieselReserveSpecialization`) that code outside diesel
//! cannot name. A choice of a value (a chunk size, a plan hint) reads
//! `DbConn::backend()`. One diagnostic matches on the connection itself:
//! `messages::explain_list`, whose plan rows differ in shape per backend.
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use diesel::upsert::excluded;
use diesel::{PgConnection, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::StoreError;
use super::changes::{CHANNEL, IDS_PER_NOTIFY, encode};
use super::message_key::id_keys;
use super::rows::{CheckRow, FlagRow, HistoryRow, StateRow, SuppressionRow};
use super::schema::{
    flags, messages, reconciliation_checks as checks, status_events, suppressions,
};
use crate::domain::message::ChangedMessage;

/// Serialises reconciliation passes across instances on one PostgreSQL.
const PASS_LOCK_KEY: i64 = 0x5e47_2ec0;

/// Serialises migrations between instances starting together on one PostgreSQL.
const MIGRATION_LOCK_KEY: i64 = 0x5e47_1061;
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

pub trait Dialect {
    /// Applies this backend's pending migrations (embedded in the binary).
    fn migrate(&mut self) -> Result<(), StoreError>;
    /// History rows; an event already kept is left as it is.
    fn insert_history_chunk(&mut self, rows: &[HistoryRow]) -> Result<(), StoreError>;
    /// Flags; a message that already has an open flag keeps it. The ids inserted.
    fn insert_flags_chunk(&mut self, rows: &[FlagRow]) -> Result<Vec<String>, StoreError>;
    /// "Checked" marks of the reconciliation, replacing older ones.
    fn upsert_checks_chunk(&mut self, rows: &[CheckRow]) -> Result<(), StoreError>;
    /// The messages' status columns, locked for the transaction where the backend can
    /// (PostgreSQL, in id order); SQLite has one writer at a time.
    fn lock_states_chunk(
        &mut self,
        ids: &[String],
        hotel_ids: &[String],
    ) -> Result<Vec<StateRow>, StoreError>;
    /// Tells other instances what changed, on commit (PostgreSQL NOTIFY); SQLite has
    /// one process, whose caller fans changes out in memory.
    fn notify_changes(&mut self, changes: &[ChangedMessage]) -> Result<(), StoreError>;
    /// Becomes the one pass running across instances (a session advisory lock on
    /// PostgreSQL, held until released); SQLite: always.
    fn try_pass_lock(&mut self) -> Result<bool, StoreError>;
    fn release_pass_lock(&mut self) -> Result<(), StoreError>;
    /// Refreshes the planner's statistics (see `Store::refresh_statistics`).
    fn analyze(&mut self) -> Result<(), StoreError>;
    /// Writes every dirty page out now.
    fn checkpoint(&mut self) -> Result<(), StoreError>;
    /// After a bulk load: what autovacuum would do (PostgreSQL); nothing on SQLite.
    fn vacuum_after_bulk_load(&mut self) -> Result<(), StoreError>;
    /// Folds pending tallies into settled ones (PostgreSQL, `tallies::settle_pg`);
    /// SQLite's triggers keep tallies in place.
    fn settle_tallies(&mut self) -> Result<(), StoreError>;
    /// Suppressions; an address already suppressed for that reason keeps the one it
    /// has. How many were new.
    fn insert_suppressions_chunk(&mut self, rows: &[SuppressionRow]) -> Result<usize, StoreError>;
    /// The suppressions not lifted whose address hash is one of `hashes`, any hotel.
    fn active_suppressions_chunk(
        &mut self,
        hashes: &[String],
    ) -> Result<Vec<SuppressionRow>, StoreError>;
    /// Lifts one suppression if it is still active; whether it was.
    fn lift_suppression(
        &mut self,
        id: &str,
        at: chrono::NaiveDateTime,
        by: &str,
        note: &str,
    ) -> Result<bool, StoreError>;
}

/// The methods whose body is the same text on both backends, and the ones given.
macro_rules! dialect {
    ($conn:ty, { $($own:item)* }) => {
        impl Dialect for $conn {
            fn insert_history_chunk(&mut self, rows: &[HistoryRow]) -> Result<(), StoreError> {
                diesel::insert_into(status_events::table)
                    .values(rows.to_vec())
                    .on_conflict_do_nothing()
                    .execute(self)?;
                Ok(())
            }

            fn insert_flags_chunk(&mut self, rows: &[FlagRow]) -> Result<Vec<String>, StoreError> {
                Ok(diesel::insert_into(flags::table)
                    .values(rows.to_vec())
                    .on_conflict_do_nothing()
                    .returning(flags::id)
                    .get_results(self)?)
            }

            fn upsert_checks_chunk(&mut self, rows: &[CheckRow]) -> Result<(), StoreError> {
                diesel::insert_into(checks::table)
                    .values(rows.to_vec())
                    .on_conflict(checks::message_id)
                    .do_update()
                    .set((
                        checks::checked_at.eq(excluded(checks::checked_at)),
                        checks::message_updated_at.eq(excluded(checks::message_updated_at)),
                    ))
                    .execute(self)?;
                Ok(())
            }

            fn insert_suppressions_chunk(&mut self, rows: &[SuppressionRow]) -> Result<usize, StoreError> {
                Ok(diesel::insert_into(suppressions::table)
                    .values(rows.to_vec())
                    .on_conflict_do_nothing()
                    .execute(self)?)
            }

            fn active_suppressions_chunk(
                &mut self,
                hashes: &[String],
            ) -> Result<Vec<SuppressionRow>, StoreError> {
                Ok(suppressions::table
                    .filter(suppressions::address_hash.eq_any(hashes.to_vec()))
                    .filter(suppressions::lifted_at.is_null())
                    .select(SuppressionRow::as_select())
                    .load(self)?)
            }

            fn lift_suppression(
                &mut self,
                id: &str,
                at: chrono::NaiveDateTime,
                by: &str,
                note: &str,
            ) -> Result<bool, StoreError> {
                let lifted = diesel::update(
                    suppressions::table
                        .filter(suppressions::id.eq(id.to_string()))
                        .filter(suppressions::lifted_at.is_null()),
                )
                .set((
                    suppressions::lifted_at.eq(Some(at)),
                    suppressions::lifted_by.eq(Some(by.to_string())),
                    suppressions::lift_note.eq(Some(note.to_string())),
                ))
                .execute(self)?;
                Ok(lifted == 1)
            }

            $($own)*
        }
    };
}

dialect!(PgConnection, {
    fn migrate(&mut self) -> Result<(), StoreError> {
        self.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))?;
        let applied = self.run_pending_migrations(POSTGRES_MIGRATIONS).map(|_| ());
        self.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))?;
        applied.map_err(|e| StoreError::Migration(e.to_string()))
    }

    fn lock_states_chunk(
        &mut self,
        ids: &[String],
        hotel_ids: &[String],
    ) -> Result<Vec<StateRow>, StoreError> {
        let q = messages::table
            .filter(messages::id.eq_any(id_keys(ids.iter().cloned())))
            .order(messages::id)
            .select(StateRow::as_select())
            .for_update();
        Ok(if hotel_ids.is_empty() {
            q.load(self)?
        } else {
            q.filter(messages::hotel_id.eq_any(hotel_ids.to_vec()))
                .load(self)?
        })
    }

    fn notify_changes(&mut self, changes: &[ChangedMessage]) -> Result<(), StoreError> {
        for chunk in changes.chunks(IDS_PER_NOTIFY) {
            diesel::sql_query("SELECT pg_notify($1, $2)")
                .bind::<Text, _>(CHANNEL)
                .bind::<Text, _>(encode(chunk))
                .execute(self)?;
        }
        Ok(())
    }

    fn try_pass_lock(&mut self) -> Result<bool, StoreError> {
        Ok(diesel::select(diesel::dsl::sql::<Bool>(&format!(
            "pg_try_advisory_lock({PASS_LOCK_KEY})"
        )))
        .get_result(self)?)
    }

    fn release_pass_lock(&mut self) -> Result<(), StoreError> {
        diesel::select(diesel::dsl::sql::<Bool>(&format!(
            "pg_advisory_unlock({PASS_LOCK_KEY})"
        )))
        .get_result::<bool>(self)?;
        Ok(())
    }

    fn analyze(&mut self) -> Result<(), StoreError> {
        Ok(self.batch_execute("ANALYZE messages, status_events, campaigns, pms_guests, flags")?)
    }

    fn checkpoint(&mut self) -> Result<(), StoreError> {
        Ok(self.batch_execute("CHECKPOINT")?)
    }

    fn vacuum_after_bulk_load(&mut self) -> Result<(), StoreError> {
        Ok(self.batch_execute(
            "VACUUM (ANALYZE) messages, status_events, pms_guests, message_tallies",
        )?)
    }

    fn settle_tallies(&mut self) -> Result<(), StoreError> {
        super::tallies::settle_pg(self)
    }
});

dialect!(SqliteConnection, {
    fn migrate(&mut self) -> Result<(), StoreError> {
        self.run_pending_migrations(SQLITE_MIGRATIONS)
            .map(|_| ())
            .map_err(|e| StoreError::Migration(e.to_string()))
    }

    fn lock_states_chunk(
        &mut self,
        ids: &[String],
        hotel_ids: &[String],
    ) -> Result<Vec<StateRow>, StoreError> {
        let mut q = messages::table
            .filter(messages::id.eq_any(id_keys(ids.iter().cloned())))
            .order(messages::id)
            .select(StateRow::as_select())
            .into_boxed();
        if !hotel_ids.is_empty() {
            q = q.filter(messages::hotel_id.eq_any(hotel_ids.to_vec()));
        }
        Ok(q.load(self)?)
    }

    fn notify_changes(&mut self, _changes: &[ChangedMessage]) -> Result<(), StoreError> {
        Ok(())
    }

    fn try_pass_lock(&mut self) -> Result<bool, StoreError> {
        Ok(true)
    }

    fn release_pass_lock(&mut self) -> Result<(), StoreError> {
        Ok(())
    }

    fn analyze(&mut self) -> Result<(), StoreError> {
        Ok(self.batch_execute("PRAGMA analysis_limit = 1000; ANALYZE;")?)
    }

    fn checkpoint(&mut self) -> Result<(), StoreError> {
        Ok(self.batch_execute("PRAGMA wal_checkpoint(TRUNCATE)")?)
    }

    fn vacuum_after_bulk_load(&mut self) -> Result<(), StoreError> {
        Ok(())
    }

    fn settle_tallies(&mut self) -> Result<(), StoreError> {
        Ok(())
    }
});
