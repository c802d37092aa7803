//! EraseGuestData: nothing of the guest remains in any text column of any table; the
//! anonymous counts stay right; other hotels are untouched.
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use sentlog::proto::{self, Channel, MessageStatus};
use tonic::Code;

use crate::backend_tests;
use crate::common::*;

backend_tests!(erasure_leaves_no_trace_and_keeps_the_counts);

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
}

#[derive(QueryableByName)]
struct Hits {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// (table.column, rows) for every text column holding `needle`.
pub(crate) fn find_everywhere(
    conn: &mut sentlog::store::DbConn,
    needle: &str,
) -> Vec<(String, i64)> {
    let columns: Vec<Column> = match conn {
        sentlog::store::DbConn::Pg(c, _) => diesel::sql_query(
            "SELECT table_name::text AS table_name, column_name::text AS column_name FROM information_schema.columns \
             WHERE table_schema = 'public' AND data_type = 'text'",
        )
        .load(c)
        .unwrap(),
        sentlog::store::DbConn::Sqlite(c) => diesel::sql_query(
            "SELECT m.name AS table_name, p.name AS column_name FROM sqlite_master m \
             JOIN pragma_table_info(m.name) p WHERE m.type = 'table' AND p.type = 'TEXT'",
        )
        .load(c)
        .unwrap(),
    };
    assert!(
        columns.len() > 40,
        "all text columns found: {}",
        columns.len()
    );
    let mut hits = Vec::new();
    for col in columns {
        let sql = format!(
            "SELECT COUNT(*) AS n FROM {} WHERE {} LIKE '%{needle}%'",
            col.table_name, col.column_name
        );
        let n: Hits = match conn {
            sentlog::store::DbConn::Pg(c, _) => diesel::sql_query(sql).get_result(c).unwrap(),
            sentlog::store::DbConn::Sqlite(c) => diesel::sql_query(sql).get_result(c).unwrap(),
        };
        if n.n > 0 {
            hits.push((format!("{}.{}", col.table_name, col.column_name), n.n));
        }
    }
    hits
}

async fn erasure_leaves_no_trace_and_keeps_the_counts(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut m = server.messages();
    let zoe = |hotel: &str, ext: &str, channel: Channel| {
        let mut msg = new_message(hotel, ext, "06 98 76 54 31");
        msg.channel = channel as i32;
        msg.guest_name = "Zoé Quintessence".into();
        msg.campaign_id = "camp".into();
        msg.pms_guest_id = "g-zoe".into();
        msg.status = MessageStatus::Undelivered as i32;
        msg.provider = "twilio".into();
        msg.error_code = "30003".into();
        msg.error_message = "Unreachable handset +33698765431".into();
        if channel == Channel::Email {
            msg.recipient_phone.clear();
            msg.recipient_email = "Zoe.Quintessence@example.com".into();
            msg.error_message = "550 <zoe.quintessence@example.com> rejected".into();
        }
        msg
    };
    let mut other = new_message("h", "other", "+33611111111");
    other.campaign_id = "camp".into();
    record(
        &mut m,
        vec![
            zoe("h", "z1", Channel::Sms),
            zoe("h", "z2", Channel::Whatsapp),
            zoe("h", "z3", Channel::Email),
            other,
            proto::NewMessage {
                status: MessageStatus::Delivered as i32,
                error_code: String::new(),
                error_message: String::new(),
                ..zoe("elsewhere", "z4", Channel::Sms)
            },
        ],
    )
    .await;
    server
        .guests()
        .upsert_guests(proto::UpsertGuestsRequest {
            guests: vec![proto::PmsGuest {
                hotel_id: "h".into(),
                pms_guest_id: "g-zoe".into(),
                full_name: "Zoé Quintessence".into(),
                phone: "0033 6 98 76 54 13".into(),
                email: "zoe.q@example.org".into(),
                ..Default::default()
            }],
        })
        .await
        .unwrap();
    let run = server
        .reconciliation()
        .run_reconciliation(proto::RunReconciliationRequest::default())
        .await
        .unwrap()
        .into_inner();
    // Zoé's three failures are one stay: one flag behind all three.
    assert_eq!(run.flags_raised, 1, "{run:?}");
    let stats = |s: &TestServer| {
        let mut c = s.messages();
        async move {
            c.get_campaign_stats(proto::GetCampaignStatsRequest {
                hotel_id: "h".into(),
                campaign_id: "camp".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
        }
    };
    let before = stats(&server).await;

    let mut guests = server.guests();
    let err = guests
        .erase_guest_data(proto::EraseGuestDataRequest {
            hotel_id: "h".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let erased = guests
        .erase_guest_data(proto::EraseGuestDataRequest {
            hotel_id: "h".into(),
            phone: "+33 6 98 76 54 31".into(),
            email: "ZOE.QUINTESSENCE@example.com".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(erased.messages_redacted, 3);
    assert_eq!(
        erased.guests_deleted, 0,
        "the PMS record holds another number and email"
    );
    assert!(erased.flags_redacted >= 1);
    // The PMS record is the guest's too: erase it by its own number.
    let erased = guests
        .erase_guest_data(proto::EraseGuestDataRequest {
            hotel_id: "h".into(),
            phone: "06 98 76 54 13".into(),
            email: "zoe.q@example.org".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(erased.guests_deleted, 1);

    assert_eq!(
        stats(&server).await,
        before,
        "counts per campaign are unchanged"
    );
    let store = server.store().clone();
    let leftovers = tokio::task::spawn_blocking(move || {
        let mut conn = store.conn().unwrap();
        let mut all = Vec::new();
        for needle in [
            "98765431",
            "98 76 54 31",
            "98765413",
            "uintessence",
            "zoe.q",
        ] {
            all.extend(
                find_everywhere(&mut conn, needle)
                    .into_iter()
                    .map(|h| (needle, h)),
            );
        }
        all
    })
    .await
    .unwrap();
    // Only the other hotel's message keeps them.
    let outside: Vec<_> = leftovers
        .iter()
        .filter(|(_, (col, _))| !col.starts_with("messages.") && !col.starts_with("campaigns."))
        .collect();
    assert!(outside.is_empty(), "{outside:?}");
    for (needle, (col, n)) in &leftovers {
        assert_eq!(*n, 1, "{needle} in {col}: only the other hotel's message");
    }
    let elsewhere = list_all(
        &mut m,
        proto::MessageFilter {
            hotel_ids: vec!["elsewhere".into()],
            ..Default::default()
        },
        10,
    )
    .await;
    assert_eq!(elsewhere[0].guest_name, "Zoé Quintessence");
    server.stop().await;
}
