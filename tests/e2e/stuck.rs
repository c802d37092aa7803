//! Stuck messages: derived when read from how long a message has gone without news,
//! per channel. Time passes by backdating rows with SQL, not by sleeping.
use chrono::{Duration, Utc};
use sentlog::proto::{self, Channel, MessageStatus};

use crate::backend_tests;
use crate::common::*;

backend_tests!(
    messages_become_stuck_as_time_passes,
    stuck_after_is_configured_per_channel,
    stuck_counts_read_the_stuck_indexes,
    a_stay_range_counts_its_stuck_messages_from_its_index
);

/// A hotel's messages as most are: delivered, with a stay. Beside them the stuck
/// indexes are smaller than the stay-date indexes, as at any real size, and the
/// planner's choice between them is not a tie on a table of a few rows.
fn mostly_delivered() -> Vec<proto::NewMessage> {
    (0..300)
        .map(|i| {
            let mut m = message(
                &format!("delivered-{i}"),
                Channel::Sms,
                MessageStatus::Delivered,
            );
            m.check_out_date = "2026-12-20".into();
            m
        })
        .collect()
}

fn message(external_id: &str, channel: Channel, status: MessageStatus) -> proto::NewMessage {
    let mut m = new_message("h1", external_id, "+33612345678");
    m.channel = channel as i32;
    m.status = status as i32;
    if channel == Channel::Email {
        m.recipient_email = "camille@example.com".into();
    }
    m
}

/// Moves a column of one message back in time, as if it had been written `ago`.
fn backdate(server: &TestServer, id: &str, column: &str, ago: Duration) {
    let at = (Utc::now() - ago)
        .naive_utc()
        .format("%Y-%m-%d %H:%M:%S%.6f");
    let mut conn = server.store().conn().unwrap();
    let sql = format!(
        "UPDATE messages SET {column} = '{at}' WHERE id = {}",
        sql_id(&conn, id)
    );
    let n = exec(&mut conn, &sql);
    assert_eq!(n, 1);
}

async fn stuck_ids(server: &TestServer, extra: proto::MessageFilter) -> Vec<String> {
    let mut ids: Vec<String> = list_all(
        &mut server.messages(),
        proto::MessageFilter {
            stuck: true,
            ..extra
        },
        2,
    )
    .await
    .into_iter()
    .inspect(|m| assert!(m.stuck, "a stuck filter lists stuck messages"))
    .map(|m| m.id)
    .collect();
    ids.sort();
    ids
}

async fn messages_become_stuck_as_time_passes(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut planned = message("planned", Channel::Whatsapp, MessageStatus::Validated);
    planned.scheduled_at = Some(prost_types::Timestamp {
        seconds: (Utc::now() + Duration::days(3)).timestamp(),
        nanos: 0,
    });
    let ids = record(
        &mut server.messages(),
        vec![
            message("sms-sent", Channel::Sms, MessageStatus::Sent),
            message("wa-sent", Channel::Whatsapp, MessageStatus::Sent),
            message("email-pending", Channel::Email, MessageStatus::Pending),
            planned,
            message("sms-delivered", Channel::Sms, MessageStatus::Delivered),
            message("sms-fresh", Channel::Sms, MessageStatus::Sent),
        ],
    )
    .await;
    let [sms_sent, wa_sent, email_pending, planned, delivered, _fresh] =
        <[String; 6]>::try_from(ids).unwrap();
    assert!(
        stuck_ids(&server, Default::default()).await.is_empty(),
        "nothing waited yet"
    );
    assert_eq!(
        counts(&mut server.messages(), Default::default())
            .await
            .stuck,
        0
    );

    // Seven hours later: too long for SMS (6 h), not for WhatsApp (24 h).
    backdate(&server, &sms_sent, "status_changed_at", Duration::hours(7));
    backdate(&server, &wa_sent, "status_changed_at", Duration::hours(7));
    // A day and an hour since an email was recorded and never sent.
    backdate(&server, &email_pending, "created_at", Duration::hours(25));
    // Recorded a month ago for a stay in three days: not due, not stuck.
    backdate(&server, &planned, "created_at", Duration::days(30));
    // Delivered long ago: news came.
    backdate(&server, &delivered, "status_changed_at", Duration::days(30));

    let mut expected = vec![sms_sent.clone(), email_pending.clone()];
    expected.sort();
    assert_eq!(stuck_ids(&server, Default::default()).await, expected);
    let all = counts(&mut server.messages(), Default::default()).await;
    assert_eq!((all.total, all.stuck), (6, 2));
    let sms = proto::MessageFilter {
        channels: vec![Channel::Sms as i32],
        ..Default::default()
    };
    assert_eq!(counts(&mut server.messages(), sms.clone()).await.stuck, 1);
    // Counted per status and channel that can be stuck: each filter counts its own.
    let stuck_of = |statuses: Vec<MessageStatus>, channels: Vec<Channel>| proto::MessageFilter {
        statuses: statuses.into_iter().map(|s| s as i32).collect(),
        channels: channels.into_iter().map(|c| c as i32).collect(),
        ..Default::default()
    };
    let two_hours_ago = prost_types::Timestamp {
        seconds: (Utc::now() - Duration::hours(2)).timestamp(),
        nanos: 0,
    };
    for (filter, stuck) in [
        (stuck_of(vec![MessageStatus::Pending], vec![]), 1),
        (stuck_of(vec![MessageStatus::Delivered], vec![]), 0),
        (
            stuck_of(
                vec![MessageStatus::Sent, MessageStatus::Pending],
                vec![Channel::Sms, Channel::Email],
            ),
            2,
        ),
        (
            stuck_of(vec![MessageStatus::Sent], vec![Channel::Whatsapp]),
            0,
        ),
        (
            proto::MessageFilter {
                campaign_name: "CHECK-IN".into(),
                ..Default::default()
            },
            2,
        ),
        // A recording range is read from the stuck indexes' keys: the SMS was
        // recorded now, the email a day and an hour ago.
        (
            proto::MessageFilter {
                created_after: Some(two_hours_ago),
                ..Default::default()
            },
            1,
        ),
        (
            proto::MessageFilter {
                created_before: Some(two_hours_ago),
                channels: vec![Channel::Email as i32],
                ..Default::default()
            },
            1,
        ),
        (
            proto::MessageFilter {
                created_before: Some(two_hours_ago),
                channels: vec![Channel::Sms as i32],
                ..Default::default()
            },
            0,
        ),
    ] {
        assert_eq!(
            counts(&mut server.messages(), filter.clone()).await.stuck,
            stuck,
            "{filter:?}"
        );
    }
    assert_eq!(stuck_ids(&server, sms).await, vec![sms_sent.clone()]);
    let only_stuck = counts(
        &mut server.messages(),
        proto::MessageFilter {
            stuck: true,
            ..Default::default()
        },
    )
    .await;
    assert_eq!((only_stuck.total, only_stuck.stuck), (2, 2));
    let got = server
        .messages()
        .get_message(proto::GetMessageRequest {
            id: sms_sent.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(got.stuck);
    let listed = list_all(&mut server.messages(), Default::default(), 50).await;
    for m in &listed {
        assert_eq!(m.stuck, expected.contains(&m.id), "{}", m.external_id);
    }

    // The console's count and filter say the same.
    let console = server.console_url();
    let page = reqwest::get(format!("{console}/messages"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Stuck <strong>2</strong>"), "{page}");
    let page = reqwest::get(format!("{console}/messages?stuck=1"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for id in [&sms_sent, &email_pending] {
        assert!(page.contains(&format!("/messages/{id}")), "{id} listed");
    }
    assert!(!page.contains(&format!("/messages/{wa_sent}")));

    // Another day: WhatsApp's patience runs out too.
    backdate(&server, &wa_sent, "status_changed_at", Duration::hours(25));
    assert_eq!(
        counts(&mut server.messages(), Default::default())
            .await
            .stuck,
        3
    );
    // News for the SMS: it is not stuck any more.
    server
        .messages()
        .update_statuses(proto::UpdateStatusesRequest {
            events: vec![proto::StatusEvent {
                message_id: sms_sent.clone(),
                status: MessageStatus::Delivered as i32,
                occurred_at: Some(prost_types::Timestamp {
                    seconds: Utc::now().timestamp() - 60,
                    nanos: 0,
                }),
                ..Default::default()
            }],
        })
        .await
        .unwrap();
    let now_stuck = stuck_ids(&server, Default::default()).await;
    assert!(!now_stuck.contains(&sms_sent));
    assert_eq!(now_stuck.len(), 2);
    server.stop().await;
}

async fn stuck_after_is_configured_per_channel(db: TestDb) {
    let server = TestServer::start_with(db, |s| s.stuck_after.sms = 1).await;
    let ids = record(
        &mut server.messages(),
        vec![message("sms-sent", Channel::Sms, MessageStatus::Sent)],
    )
    .await;
    backdate(&server, &ids[0], "status_changed_at", Duration::hours(2));
    assert_eq!(stuck_ids(&server, Default::default()).await, ids);
    server.stop().await;
}

/// A count of a hotel's stuck messages, of a channel or a campaign, reads each
/// (status, channel) from its stuck index: stuck messages pile up for as long as a
/// provider never reports, and reading them from the table made a big hotel's counts
/// take a second on SQLite at 1,000,000 messages.
async fn stuck_counts_read_the_stuck_indexes(db: TestDb) {
    use sentlog::domain::filter::{FilterDraft, MessageQuery};
    let server = TestServer::start(db).await;
    record(
        &mut server.messages(),
        vec![
            message("sms-sent", Channel::Sms, MessageStatus::Sent),
            message("email-pending", Channel::Email, MessageStatus::Pending),
        ],
    )
    .await;
    record(&mut server.messages(), mostly_delivered()).await;
    // Other hotels send too, as on any hub: a hotel alone is not selective.
    let elsewhere = (0..300)
        .map(|i| {
            let mut m = message(
                &format!("other-{i}"),
                Channel::Sms,
                MessageStatus::Delivered,
            );
            m.hotel_id = format!("h{}", 2 + i % 3);
            m
        })
        .collect();
    record(&mut server.messages(), elsewhere).await;
    let store = server.store().clone();
    let plans = tokio::task::spawn_blocking(move || {
        let mut conn = store.conn().unwrap();
        // With statistics, as autovacuum keeps them: without any, PostgreSQL's
        // choice between a few pages of each index is a tie.
        if conn.backend() == sentlog::store::Backend::Postgres {
            exec(&mut conn, "ANALYZE messages");
        }
        let since = sentlog::domain::stuck::StuckAfter::default().since(Utc::now());
        let hotel = FilterDraft {
            hotel_ids: vec!["h1".into()],
            ..Default::default()
        };
        let drafts = [
            hotel.clone(),
            FilterDraft {
                channels: vec![sentlog::domain::message::Channel::Sms],
                ..hotel.clone()
            },
            FilterDraft {
                campaign_name: "check-in".into(),
                ..hotel.clone()
            },
            FilterDraft {
                created_after: Some(Utc::now() - chrono::Duration::days(30)),
                created_before: Some(Utc::now()),
                ..hotel
            },
        ];
        planned_as_if_large(&mut conn, |conn| {
            let mut plans = Vec::new();
            for draft in drafts {
                let q = MessageQuery::build(draft, &Default::default(), since).unwrap();
                plans.extend(
                    sentlog::store::messages::explain_stuck_count(conn, &q, &since).unwrap(),
                );
            }
            plans
        })
    })
    .await
    .unwrap();
    // Every stuck branch of the hotel (3 statuses x 3 channels), of its SMS (3), of a
    // campaign (9), of a recording range (9).
    assert_eq!(plans.len(), 30);
    for plan in plans {
        let text = plan.join("\n");
        assert!(text.contains("messages_stuck_"), "{text}");
        assert!(!text.contains("Seq Scan"), "{text}");
    }
    server.stop().await;
}

/// A stay range counts its stuck messages among its own rows, from the stay-date
/// index alone (it carries the stuck clocks, migration 000025: reading each row from
/// the table made a week of a big hotel's check-outs 16 ms instead of 4 at 1,000,000
/// messages). A filter keeping only statuses that cannot be stuck reads nothing.
async fn a_stay_range_counts_its_stuck_messages_from_its_index(db: TestDb) {
    use sentlog::domain::filter::{FilterDraft, MessageQuery};
    let server = TestServer::start(db).await;
    let mut sent = message("sms-sent", Channel::Sms, MessageStatus::Sent);
    sent.check_out_date = "2026-12-12".into();
    let mut delivered = message("sms-delivered", Channel::Sms, MessageStatus::Delivered);
    delivered.check_out_date = "2026-12-12".into();
    let ids = record(&mut server.messages(), vec![sent, delivered]).await;
    backdate(&server, &ids[0], "status_changed_at", Duration::days(5));
    // As at any real size, the hotel's stuck messages outnumber one week's stays (at
    // 1,000,000 messages a big hotel holds 32,000 and a week of check-outs 3,660): the
    // planner, knowing it, reads the week.
    let other_weeks = (0..300)
        .map(|i| {
            let mut m = message(&format!("sent-{i}"), Channel::Sms, MessageStatus::Sent);
            m.check_out_date = format!("2027-{:02}-{:02}", 1 + i % 12, 1 + i % 28);
            m
        })
        .collect();
    record(&mut server.messages(), other_weeks).await;
    let store = server.store().clone();
    tokio::task::spawn_blocking(move || {
        // What autovacuum keeps up: statistics, and PostgreSQL's visibility map.
        store.refresh_statistics().unwrap();
        store.vacuum_after_bulk_load().unwrap();
    })
    .await
    .unwrap();
    let week = proto::MessageFilter {
        hotel_ids: vec!["h1".into()],
        check_out_from: "2026-12-10".into(),
        check_out_to: "2026-12-17".into(),
        ..Default::default()
    };
    let week = counts(&mut server.messages(), week).await;
    assert_eq!(week.total, 2);
    assert_eq!(week.stuck, 1);
    // A phone's count too reads its stuck messages among its own rows.
    let phone = proto::MessageFilter {
        hotel_ids: vec!["h1".into()],
        phone: "+33612345678".into(),
        ..Default::default()
    };
    let phone = counts(&mut server.messages(), phone).await;
    assert_eq!(phone.total, 302);
    assert_eq!(phone.stuck, 1);

    let store = server.store().clone();
    let sqlite = !server.is_postgres();
    let (range_plans, delivered_plans) = tokio::task::spawn_blocking(move || {
        let mut conn = store.conn().unwrap();
        let since = sentlog::domain::stuck::StuckAfter::default().since(Utc::now());
        let range = FilterDraft {
            hotel_ids: vec!["h1".into()],
            check_out_from: "2026-12-10".into(),
            check_out_to: "2026-12-17".into(),
            ..Default::default()
        };
        let only_delivered = FilterDraft {
            statuses: vec![sentlog::domain::message::MessageStatus::Delivered],
            ..range.clone()
        };
        planned_as_if_large(&mut conn, |conn| {
            let mut explain = |draft| {
                let q = MessageQuery::build(draft, &Default::default(), since).unwrap();
                sentlog::store::messages::explain_stuck_count(conn, &q, &since).unwrap()
            };
            (explain(range), explain(only_delivered))
        })
    })
    .await
    .unwrap();
    assert_eq!(range_plans.len(), 1);
    let text = range_plans[0].join("\n");
    assert!(text.contains("messages_hotel_check_out"), "{text}");
    // From the index alone, not row by row from the table.
    let index_only = if sqlite {
        "COVERING INDEX"
    } else {
        "Index Only Scan"
    };
    assert!(text.contains(index_only), "{text}");
    assert!(delivered_plans.is_empty(), "{delivered_plans:?}");
    server.stop().await;
}
