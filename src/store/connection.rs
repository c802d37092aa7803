//! One connection type over both backends, and the r2d2 manager that opens it from a
//! URL (`sqlite://FILE` or `postgres://...`), keeping the driver's own error text.
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::ManageConnection;
use diesel::{PgConnection, SqliteConnection};

use crate::domain::page::truncate_micros;

/// An instant as both backends store it: UTC, `TIMESTAMP` without zone, microseconds
/// (truncated first, so what is stored equals what was computed).
pub fn to_db(t: DateTime<Utc>) -> NaiveDateTime {
    truncate_micros(t).naive_utc()
}

/// An instant read back from `to_db`'s form.
pub fn from_db(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

/// A connection to whichever backend the database URL chose.
pub enum DbConn {
    /// With how it plans prepared statements now.
    Pg(PgConnection, Plans),
    Sqlite(SqliteConnection),
}

impl DbConn {
    /// Which backend this connection speaks: for choices of a value (a chunk size, a
    /// plan hint), not of a statement (those are `Dialect` methods).
    pub fn backend(&self) -> Backend {
        match self {
            DbConn::Pg(..) => Backend::Postgres,
            DbConn::Sqlite(_) => Backend::Sqlite,
        }
    }
}

/// How PostgreSQL plans a connection's prepared statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plans {
    /// At every execution, with the bound values: the default (see
    /// `DbManager::connect_db`), because with a few big hotels and many small ones one
    /// plan for every value is wrong for some.
    PerCall,
    /// Once per statement, without the values, reused by every execution: for the
    /// statements one plan serves whatever their values (`messages::shares_one_plan`,
    /// `messages::count_shares_one_plan`), where planning cost more than running.
    Shared,
}

impl Plans {
    /// `Shared` where one plan serves every value, `PerCall` otherwise.
    pub fn shared_when(one_plan_serves: bool) -> Plans {
        match one_plan_serves {
            true => Plans::Shared,
            false => Plans::PerCall,
        }
    }

    fn sql(self) -> &'static str {
        match self {
            Plans::PerCall => "SET plan_cache_mode = force_custom_plan",
            Plans::Shared => "SET plan_cache_mode = force_generic_plan",
        }
    }
}

impl DbConn {
    /// Has PostgreSQL plan the next statements this way. The connection remembers its
    /// mode, so a run of calls of one kind pays no round trip; `Store::run` goes back
    /// to `PerCall` before each use. Inside a transaction nothing changes (a rollback
    /// would undo the switch behind the remembered mode): the rows are the same either
    /// way, only the time differs. SQLite keeps its plans anyway (`.cargo/config.toml`).
    pub fn use_plans(&mut self, plans: Plans) -> Result<(), diesel::result::Error> {
        use diesel::connection::{AnsiTransactionManager, TransactionManager};
        let DbConn::Pg(c, current) = self else {
            return Ok(());
        };
        let in_transaction = !matches!(
            AnsiTransactionManager::transaction_manager_status_mut(c).transaction_depth(),
            Ok(None)
        );
        if *current != plans && !in_transaction {
            c.batch_execute(plans.sql())?;
            *current = plans;
        }
        Ok(())
    }
}

/// Runs one body on the concrete connection, whichever backend it is: the body is
/// compiled once per backend, so dialect features (ON CONFLICT, RETURNING) stay typed.
#[macro_export]
macro_rules! with_conn {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::store::connection::DbConn::Pg($c, _) => $body,
            $crate::store::connection::DbConn::Sqlite($c) => $body,
        }
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Postgres => "postgres",
            Backend::Sqlite => "sqlite",
        }
    }
}

/// Parses a database URL into its backend and the string its driver expects.
pub fn parse_url(url: &str) -> Result<(Backend, String), String> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok((Backend::Postgres, url.to_string()));
    }
    if let Some(path) = url.strip_prefix("sqlite://") {
        if path.is_empty() {
            return Err("sqlite:// needs a file path, e.g. sqlite://sentlog.db".into());
        }
        return Ok((Backend::Sqlite, path.to_string()));
    }
    if let Some(path) = url.strip_prefix("sqlite:")
        && !path.is_empty()
    {
        return Ok((Backend::Sqlite, path.to_string()));
    }
    Err(format!(
        "{:?} is not a database URL sentlog knows: use sqlite://FILE or postgres://USER@HOST/DB",
        redact_url(url)
    ))
}

/// The URL without its password, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConnError {
    #[error("{0}")]
    Connect(#[from] diesel::ConnectionError),
    #[error("{0}")]
    Query(#[from] diesel::result::Error),
}

/// Opens connections for the pool and sets each one up.
#[derive(Debug)]
pub struct DbManager {
    backend: Backend,
    target: String,
    statement_timeout_ms: u64,
}

impl DbManager {
    pub fn new(url: &str, statement_timeout_ms: u64) -> Result<Self, String> {
        let (backend, target) = parse_url(url)?;
        Ok(Self {
            backend,
            target,
            statement_timeout_ms,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }
}

/// A pooled connection, with what the pool needs to decide whether to check it
/// before handing it out again.
pub struct PooledDb {
    conn: DbConn,
    /// When the pool last took it back.
    returned_at: Instant,
    /// Its last use ended in an error, which may have been a lost server.
    suspect: bool,
}

impl PooledDb {
    /// The next checkout asks the database whether it is still there.
    pub fn mark_suspect(&mut self) {
        self.suspect = true;
    }
}

impl std::ops::Deref for PooledDb {
    type Target = DbConn;
    fn deref(&self) -> &DbConn {
        &self.conn
    }
}

impl std::ops::DerefMut for PooledDb {
    fn deref_mut(&mut self) -> &mut DbConn {
        &mut self.conn
    }
}

/// A connection back in the pool within this long, after a use that went well, is
/// handed out again without a round trip to check it: under load that check (a
/// `SELECT 1` each checkout) cost as much as a cheap query's own statement.
const TRUSTED_FOR: Duration = Duration::from_secs(2);

impl ManageConnection for DbManager {
    type Connection = PooledDb;
    type Error = ConnError;

    fn connect(&self) -> Result<PooledDb, ConnError> {
        let conn = self.connect_db()?;
        Ok(PooledDb {
            conn,
            returned_at: Instant::now(),
            suspect: false,
        })
    }

    /// A connection idle for a while, or whose last use failed, is checked; one just
    /// given back after a good use is not (a server lost since then fails that call,
    /// which marks it suspect, so the next checkout checks and replaces it).
    fn is_valid(&self, pooled: &mut PooledDb) -> Result<(), ConnError> {
        if !pooled.suspect && pooled.returned_at.elapsed() < TRUSTED_FOR {
            return Ok(());
        }
        crate::with_conn!(&mut pooled.conn, c => c.batch_execute("SELECT 1").map_err(ConnError::from))?;
        pooled.suspect = false;
        Ok(())
    }

    /// A connection that comes back inside a transaction, or whose transaction could
    /// not be rolled back (its server went away mid-transaction), is closed rather
    /// than handed to the next caller. r2d2 asks this as it takes a connection back,
    /// its only hook there, so the return time is noted here for `is_valid`.
    fn has_broken(&self, pooled: &mut PooledDb) -> bool {
        use diesel::r2d2::R2D2Connection;
        pooled.returned_at = Instant::now();
        std::thread::panicking() || crate::with_conn!(&mut pooled.conn, c => c.is_broken())
    }
}

impl DbManager {
    fn connect_db(&self) -> Result<DbConn, ConnError> {
        match self.backend {
            Backend::Postgres => {
                let mut c = PgConnection::establish(&self.target)?;
                // Custom plans: a few big hotels and many small ones make one plan for
                // every hotel wrong for some. A generic plan counted a big hotel's
                // campaign through heap fetches (295 ms) where the plan for its real
                // values reads the covering index (27 ms) at 1,000,000 messages.
                c.batch_execute(&format!(
                    "SET statement_timeout = {}; SET TIME ZONE 'UTC'; {};",
                    self.statement_timeout_ms,
                    Plans::PerCall.sql()
                ))?;
                Ok(DbConn::Pg(c, Plans::PerCall))
            }
            Backend::Sqlite => {
                let mut c = SqliteConnection::establish(&self.target)?;
                // WAL lets readers run beside the one writer; the busy timeout makes a
                // writer wait for the lock instead of failing at once.
                c.batch_execute(&format!(
                    "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
                    self.statement_timeout_ms
                ))?;
                Ok(DbConn::Sqlite(c))
            }
        }
    }
}

/// Write transactions: SQLite takes the write lock up front (BEGIN IMMEDIATE), so two
/// writers queue on the busy timeout instead of failing on a lock upgrade.
pub trait WriteTransaction: Sized {
    fn write_transaction<T, E, F>(&mut self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut Self) -> Result<T, E>,
        E: From<diesel::result::Error>;
}

impl WriteTransaction for PgConnection {
    fn write_transaction<T, E, F>(&mut self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut Self) -> Result<T, E>,
        E: From<diesel::result::Error>,
    {
        self.transaction(f)
    }
}

impl WriteTransaction for SqliteConnection {
    fn write_transaction<T, E, F>(&mut self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut Self) -> Result<T, E>,
        E: From<diesel::result::Error>,
    {
        self.immediate_transaction(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            parse_url("sqlite://sentlog.db").unwrap(),
            (Backend::Sqlite, "sentlog.db".into())
        );
        assert_eq!(
            parse_url("sqlite:///tmp/x.db").unwrap(),
            (Backend::Sqlite, "/tmp/x.db".into())
        );
        assert_eq!(parse_url("postgres://u@h/db").unwrap().0, Backend::Postgres);
        assert!(parse_url("mysql://x").is_err());
        assert!(parse_url("sqlite://").is_err());
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
    }
}
