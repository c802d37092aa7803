//! The store: the only place with SQL. Diesel over SQLite or PostgreSQL, chosen by the
//! database URL; every query runs on a blocking thread, never on the async executor.
pub mod changes;
pub mod connection;
pub mod dialect;
pub mod erasure;
pub mod explain;
pub mod flags;
pub mod fragments;
pub mod guests;
pub mod message_key;
pub mod messages;
pub mod parking;
pub mod recategorize;
pub mod recipients;
pub mod reconcile;
pub mod retention;
pub mod rows;
pub mod runs;
pub mod schema;
pub mod status_events;
pub mod suppressions;
pub mod tallies;

use std::time::Duration;

use diesel::r2d2::{Pool, PooledConnection};

use crate::with_conn;
pub use connection::{Backend, DbConn, DbManager, Plans, PooledDb, WriteTransaction};
use dialect::Dialect;

use crate::domain::suppression::AddressKey;

/// What can go wrong below the gRPC layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or is overloaded: retryable.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("not found")]
    NotFound,
    /// The request conflicts with the stored state (the message says how).
    #[error("{0}")]
    Conflict(String),
    /// A limit that protects the database was reached (the message names it).
    #[error("{0}")]
    Exhausted(String),
    /// A stored value this version cannot read (an unknown enum code).
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// Anything else: a bug or a database fault, logged, never shown to a caller.
    #[error("database error: {0}")]
    Database(diesel::result::Error),
    #[error("migration failed: {0}")]
    Migration(String),
}

impl From<diesel::result::Error> for StoreError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind as K, Error as E};
        match e {
            E::NotFound => StoreError::NotFound,
            E::DatabaseError(K::ClosedConnection | K::UnableToSendCommand, info) => {
                StoreError::Unavailable(info.message().to_string())
            }
            E::DatabaseError(_, ref info) if is_transient(info.message()) => {
                StoreError::Unavailable(info.message().to_string())
            }
            // The connection died inside a transaction (its server was killed or
            // restarted): the pool discards it, and a retry gets a fresh one.
            E::BrokenTransactionManager => {
                StoreError::Unavailable("the connection broke inside a transaction".into())
            }
            // COMMIT failed and so did ROLLBACK: the connection is gone the same way.
            E::RollbackErrorOnCommit { commit_error, .. } => StoreError::Unavailable(format!(
                "the connection broke while committing: {commit_error}"
            )),
            other => StoreError::Database(other),
        }
    }
}

/// Database messages that mean "try again": lock timeouts, shutdowns, cancelled statements.
fn is_transient(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    [
        "database is locked",
        "database table is locked",
        "terminating connection",
        "server closed the connection",
        "connection refused",
        "could not connect",
        "canceling statement due to statement timeout",
        "the database system is shutting down",
        "the database system is starting up",
        "no connection to the server",
        // PostgreSQL's deadlock detector picked this transaction; a retry succeeds.
        "deadlock detected",
    ]
    .iter()
    .any(|needle| m.contains(needle))
}

/// A pool of connections to one database.
#[derive(Clone)]
pub struct Store {
    pool: Pool<DbManager>,
    backend: Backend,
    /// Hashes addresses for suppressions; set once at open (see
    /// `suppressions::address_key`).
    suppression_key: std::sync::Arc<AddressKey>,
    key_source: suppressions::KeySource,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish()
    }
}

impl Store {
    /// Opens the pool and brings the schema up to date; suppressions use the secret
    /// kept in the database (generated at the first start).
    pub fn open(url: &str, pool_size: u32, statement_timeout_ms: u64) -> Result<Store, StoreError> {
        Self::open_with_secret(url, pool_size, statement_timeout_ms, None)
    }

    /// `open`, with the configured suppression secret when there is one.
    pub fn open_with_secret(
        url: &str,
        pool_size: u32,
        statement_timeout_ms: u64,
        suppression_secret: Option<&str>,
    ) -> Result<Store, StoreError> {
        let manager = DbManager::new(url, statement_timeout_ms).map_err(StoreError::Unavailable)?;
        let backend = manager.backend();
        let pool = Pool::builder()
            .max_size(pool_size)
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(5))
            .build(manager)
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        let mut store = Store {
            pool,
            backend,
            suppression_key: std::sync::Arc::new(AddressKey::new(&[])),
            key_source: suppressions::KeySource::Configured,
        };
        store.migrate()?;
        let (key, source) = suppressions::address_key(&mut *store.conn()?, suppression_secret)?;
        store.suppression_key = std::sync::Arc::new(key);
        store.key_source = source;
        Ok(store)
    }

    /// The key suppressions are matched by.
    pub fn suppression_key(&self) -> &AddressKey {
        &self.suppression_key
    }

    /// Where that key came from (a configured secret, or one kept in the database).
    pub fn suppression_key_source(&self) -> suppressions::KeySource {
        self.key_source
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A connection for blocking code (CLI, the reconciliation pass, tests,
    /// benchmarks), planning per call like `run`.
    pub fn conn(&self) -> Result<PooledConnection<DbManager>, StoreError> {
        let mut conn = self
            .pool
            .get()
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        conn.use_plans(Plans::PerCall)?;
        Ok(conn)
    }

    /// Connections handed out now, and the pool's size.
    pub fn pool_state(&self) -> (u32, u32) {
        let state = self.pool.state();
        (
            state.connections - state.idle_connections,
            self.pool.max_size(),
        )
    }

    /// Applies pending migrations (the binary embeds them).
    pub fn migrate(&self) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let result = with_conn!(&mut **conn, c => c.migrate());
        result?;
        drop(conn);
        self.refresh_statistics()
    }

    /// PostgreSQL: what autovacuum does after a bulk load — marks pages all-visible so
    /// counts can read the covering index alone, and refreshes statistics. The
    /// benchmark calls it after seeding (autovacuum is off on this machine kind).
    pub fn vacuum_after_bulk_load(&self) -> Result<(), StoreError> {
        with_conn!(&mut **self.conn()?, c => c.vacuum_after_bulk_load())
    }

    /// Writes every dirty page out now (a PostgreSQL CHECKPOINT, a SQLite WAL
    /// checkpoint), so a benchmark after a bulk load does not measure its write-back.
    pub fn checkpoint(&self) -> Result<(), StoreError> {
        with_conn!(&mut **self.conn()?, c => c.checkpoint())
    }

    /// Refreshes the planner's table statistics. SQLite never gathers them by itself:
    /// without them it takes the index with the most equality columns, which for a
    /// filter on check-in day + channel + status is the status index (36 s for a page
    /// at 1,000,000 messages instead of 15 ms); `analysis_limit` samples each index, so
    /// this takes milliseconds at any size. PostgreSQL's autovacuum normally keeps
    /// them, but it can be off (it is on this project's CI machines), and a growing
    /// table planned with its first statistics slowed batch recording from ~6,000 to
    /// ~400 messages/s at 600,000 messages; ANALYZE samples, under a second at 1M.
    pub fn refresh_statistics(&self) -> Result<(), StoreError> {
        with_conn!(&mut **self.conn()?, c => c.analyze())
    }

    /// Folds the tallies appended by writes into the settled ones (see
    /// `tallies::settle`); the server does it every 30 s.
    pub fn settle_tallies(&self) -> Result<(), StoreError> {
        with_conn!(&mut **self.conn()?, c => c.settle_tallies())
    }

    /// Runs blocking database work on the blocking pool, with PostgreSQL planning each
    /// statement per call (`Plans::PerCall`).
    pub async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, StoreError> + Send + 'static,
    {
        self.run_on_pool(Some(Plans::PerCall), f).await
    }

    /// `run` for work that chooses its own plans first (`DbConn::use_plans`: pages,
    /// message counts): the connection keeps the mode its last use left, so a run of
    /// calls that share their plans pays no switch per call.
    pub async fn run_choosing_plans<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, StoreError> + Send + 'static,
    {
        self.run_on_pool(None, f).await
    }

    async fn run_on_pool<T, F>(&self, plans: Option<Plans>, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConn) -> Result<T, StoreError> + Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool
                .get()
                .map_err(|e| StoreError::Unavailable(e.to_string()))?;
            let result = match plans {
                Some(plans) => conn.use_plans(plans).map_err(StoreError::from),
                None => Ok(()),
            }
            .and_then(|()| f(&mut conn));
            if result.is_err() {
                conn.mark_suspect();
            }
            result
        })
        .await
        .map_err(|e| StoreError::Unavailable(format!("database task ended: {e}")))?
    }
}
