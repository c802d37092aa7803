//! Connections that break inside a transaction: the caller is told to retry
//! (UNAVAILABLE), and the pool never hands such a connection to the next caller.
use diesel::connection::{AnsiTransactionManager, TransactionManager};
use diesel::prelude::*;
use sentlog::domain::run::{ReconciliationRun, Trigger};
use sentlog::store::{DbConn, Store, StoreError, runs};

use crate::backend_tests;
use crate::common::*;

backend_tests!(
    a_connection_left_in_a_transaction_is_not_reused,
    a_connection_killed_in_a_transaction_is_unavailable_then_replaced,
);

fn begin(conn: &mut DbConn) {
    match conn {
        DbConn::Pg(c, _) => AnsiTransactionManager::begin_transaction(c).unwrap(),
        DbConn::Sqlite(c) => AnsiTransactionManager::begin_transaction(c).unwrap(),
    }
}

fn campaigns_named(store: &Store, name: &str) -> i64 {
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let sql = format!("SELECT COUNT(*) AS n FROM campaigns WHERE name = '{name}'");
    let mut conn = store.conn().unwrap();
    let rows: Vec<N> = match &mut **conn {
        DbConn::Pg(c, _) => diesel::sql_query(sql).load(c).unwrap(),
        DbConn::Sqlite(c) => diesel::sql_query(sql).load(c).unwrap(),
    };
    rows[0].n
}

fn insert_campaign(name: &str) -> String {
    format!("INSERT INTO campaigns (hotel_id, name, name_folded) VALUES ('h', '{name}', '{name}')")
}

/// A task that dies mid-transaction (a panic, a cancelled call) gives its connection
/// back still inside the transaction; the next caller must not write into it.
async fn a_connection_left_in_a_transaction_is_not_reused(db: TestDb) {
    let store = Store::open(&db.url, 1, 5_000).unwrap();
    {
        let mut conn = store.conn().unwrap();
        begin(&mut conn);
        exec(&mut conn, &insert_campaign("abandoned"));
    }
    {
        let mut conn = store.conn().unwrap();
        match &mut **conn {
            DbConn::Pg(c, _) => c
                .transaction(|c| diesel::sql_query(insert_campaign("kept")).execute(c))
                .unwrap(),
            DbConn::Sqlite(c) => c
                .transaction(|c| diesel::sql_query(insert_campaign("kept")).execute(c))
                .unwrap(),
        };
    }
    let other = Store::open(&db.url, 1, 5_000).unwrap();
    assert_eq!(
        campaigns_named(&other, "kept"),
        1,
        "committed on a connection of its own"
    );
    assert_eq!(campaigns_named(&other, "abandoned"), 0, "never committed");
}

/// The attack run's case: PostgreSQL's backend killed while a transaction is open.
async fn a_connection_killed_in_a_transaction_is_unavailable_then_replaced(db: TestDb) {
    let store = Store::open(&db.url, 1, 5_000).unwrap();
    if store.backend() != sentlog::store::Backend::Postgres {
        eprintln!("PostgreSQL only: a SQLite connection has no server to lose");
        return;
    }
    let admin = Store::open(&db.url, 1, 5_000).unwrap();
    #[derive(QueryableByName)]
    struct Pid {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        pid: i32,
    }
    let mut conn = store.conn().unwrap();
    let DbConn::Pg(c, _) = &mut **conn else {
        unreachable!()
    };
    let pid = diesel::sql_query("SELECT pg_backend_pid() AS pid")
        .get_result::<Pid>(c)
        .unwrap()
        .pid;
    AnsiTransactionManager::begin_transaction(c).unwrap();
    exec(
        &mut admin.conn().unwrap(),
        &format!("SELECT pg_terminate_backend({pid})"),
    );
    // The open transaction cannot be rolled back on a dead connection.
    assert!(AnsiTransactionManager::rollback_transaction(c).is_err());
    let run = ReconciliationRun::start(Trigger::Manual, vec!["h".into()], chrono::Utc::now());
    match runs::save(&mut conn, &run) {
        Err(StoreError::Unavailable(_)) => {}
        other => panic!("expected Unavailable (retryable), got {other:?}"),
    }
    drop(conn);
    // The next caller gets a working connection, and the write goes through.
    store.run(move |c| runs::save(c, &run)).await.unwrap();
}
