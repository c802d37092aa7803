//! Retention: old messages go with their history; closed old flags go; recent stay.
use sentlog::proto::{self, MessageStatus};

use crate::backend_tests;
use crate::common::*;

backend_tests!(
    purge_deletes_only_what_is_older_than_the_period,
    every_reference_to_a_message_is_found_by_index,
);

async fn purge_deletes_only_what_is_older_than_the_period(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut m = server.messages();
    let batch = (0..5)
        .map(|i| {
            // One guest each: five stays, five flags.
            let mut msg = new_message("h", &format!("m{i}"), &format!("+3361234567{i}"));
            msg.status = MessageStatus::Undelivered as i32;
            msg
        })
        .collect();
    let ids = record(&mut m, batch).await;
    server
        .reconciliation()
        .run_reconciliation(proto::RunReconciliationRequest::default())
        .await
        .unwrap();
    let flags = server
        .reconciliation()
        .list_flags(proto::ListFlagsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .flags;
    assert_eq!(flags.len(), 5);
    // Close the flag of an old message and of a recent one.
    for f in flags
        .iter()
        .filter(|f| f.message_id == ids[0] || f.message_id == ids[4])
    {
        let mut r = server.reconciliation();
        for state in [proto::FlagState::Acknowledged, proto::FlagState::Dismissed] {
            r.update_flag(proto::UpdateFlagRequest {
                id: f.id.clone(),
                state: state as i32,
                ..Default::default()
            })
            .await
            .unwrap();
        }
    }
    let store = server.store().clone();
    let (old, recent) = (ids[..3].to_vec(), ids[3..].to_vec());
    let old_for_sql = old.clone();
    let flag_of_4 = flags
        .iter()
        .find(|f| f.message_id == ids[4])
        .unwrap()
        .id
        .clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = store.conn().unwrap();
        let list = old_for_sql
            .iter()
            .map(|i| sql_id(&conn, i))
            .collect::<Vec<_>>()
            .join(",");
        assert_eq!(
            exec(
                &mut conn,
                &format!(
                    "UPDATE messages SET created_at = '2020-01-01 00:00:00' WHERE id IN ({list})"
                )
            ),
            3
        );
        assert_eq!(
            exec(
                &mut conn,
                &format!(
                    "UPDATE flags SET updated_at = '2020-01-01 00:00:00' WHERE id = '{flag_of_4}'"
                )
            ),
            1
        );
    })
    .await
    .unwrap();

    let purged = sentlog::service::retention::run_once(server.store(), 30)
        .await
        .unwrap();
    assert_eq!(purged.messages, 3);
    assert_eq!(purged.flags, 1, "the old closed flag of a recent message");

    let left = list_all(&mut m, proto::MessageFilter::default(), 10).await;
    let mut left_ids: Vec<_> = left.iter().map(|x| x.id.clone()).collect();
    left_ids.sort();
    let mut want = recent.clone();
    want.sort();
    assert_eq!(left_ids, want);
    for id in &old {
        let err = m
            .get_message_history(proto::GetMessageHistoryRequest {
                message_id: id.clone(),
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), tonic::Code::NotFound);
    }
    let flags = server
        .reconciliation()
        .list_flags(proto::ListFlagsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .flags;
    assert_eq!(
        flags.len(),
        1,
        "open flag of the recent message 3 stays: {flags:?}"
    );
    assert_eq!(flags[0].message_id, ids[3]);
    // Nothing more to purge.
    assert_eq!(
        sentlog::service::retention::run_once(server.store(), 30)
            .await
            .unwrap(),
        Default::default()
    );
    server.stop().await;
}

#[derive(diesel::QueryableByName)]
struct Reference {
    #[diesel(sql_type = diesel::sql_types::Text)]
    child: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    column: String,
}

#[derive(diesel::QueryableByName)]
struct SqlitePlanRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    detail: String,
}

#[derive(diesel::QueryableByName)]
struct PostgresPlanRow {
    #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
    line: String,
}

/// The plan of deleting one message's rows from each table the `$references` query
/// names as referencing messages, as (table, plan lines); `$backend` spells the id.
macro_rules! reference_plans {
    ($c:expr, $backend:expr, $references:expr, $explain:expr, $row:ty, $line:ident) => {{
        let id = sentlog::store::message_key::id_literal($backend, "m");
        let references: Vec<Reference> = diesel::sql_query($references).load($c).unwrap();
        references
            .into_iter()
            .map(|r| {
                let rows: Vec<$row> = diesel::sql_query(format!(
                    "{} DELETE FROM {} WHERE {} = {id}",
                    $explain, r.child, r.column
                ))
                .load($c)
                .unwrap();
                (
                    r.child,
                    rows.into_iter()
                        .map(|row| row.$line)
                        .collect::<Vec<String>>(),
                )
            })
            .collect::<Vec<_>>()
    }};
}

/// The purge and an erasure delete messages, and each deleted message's rows in the
/// tables referencing it go too (ON DELETE CASCADE): every such lookup must read an
/// index, or deleting a month of messages scans a whole table once per message. The
/// references are read from the database's own catalog, so a new one is checked too.
async fn every_reference_to_a_message_is_found_by_index(db: TestDb) {
    use diesel::RunQueryDsl;
    let server = TestServer::start(db).await;
    let store = server.store().clone();
    let plans = tokio::task::spawn_blocking(move || {
        let mut conn = store.conn().unwrap();
        planned_as_if_large(&mut conn, |conn| match conn {
            sentlog::store::DbConn::Sqlite(c) => reference_plans!(
                c,
                sentlog::store::Backend::Sqlite,
                "SELECT m.name AS child, f.\"from\" AS column FROM sqlite_master m \
                 JOIN pragma_foreign_key_list(m.name) f \
                 WHERE m.type = 'table' AND f.\"table\" = 'messages'",
                "EXPLAIN QUERY PLAN",
                SqlitePlanRow,
                detail
            ),
            sentlog::store::DbConn::Pg(c, _) => reference_plans!(
                c,
                sentlog::store::Backend::Postgres,
                "SELECT t.relname::text AS child, a.attname::text AS column \
                 FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid \
                 JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1] \
                 WHERE k.contype = 'f' AND k.confrelid = 'messages'::regclass",
                "EXPLAIN",
                PostgresPlanRow,
                line
            ),
        })
    })
    .await
    .unwrap();
    let children: Vec<&str> = plans.iter().map(|(child, _)| child.as_str()).collect();
    for table in ["status_events", "flags", "reconciliation_checks"] {
        assert!(
            children.contains(&table),
            "{table} references messages: {children:?}"
        );
    }
    for (child, plan) in &plans {
        let text = plan.join("\n");
        let full_scan = plan.iter().any(|line| {
            (line.starts_with("SCAN") && !line.contains("USING")) || line.contains("Seq Scan")
        });
        assert!(
            !full_scan,
            "{child} is scanned for a message's rows:\n{text}"
        );
    }
    server.stop().await;
}
