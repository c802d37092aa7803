//! UpdateStatuses, GetMessageHistory and GetCampaignStats: late, repeated and
//! out-of-order provider callbacks end in the same message.
use std::collections::HashSet;

use sentlog::proto::{self, Channel, ErrorCategory, EventOutcome, MessageStatus};
use tonic::Code;

use crate::backend_tests;
use crate::common::*;

backend_tests!(
    out_of_order_sequences_end_at_the_precedence_winner,
    duplicates_with_and_without_event_ids,
    read_on_sms_and_bad_items_are_rejected_alone,
    provider_id_finds_the_message,
    error_category_is_derived_stored_and_filterable,
    history_keeps_every_event_in_time_order,
    campaign_stats_match_hand_counts,
    concurrent_batches_converge_without_losing_events,
    oversized_event_batch_is_refused,
    ids_survive_the_move_to_sixteen_bytes,
);

const T0: i64 = 1_790_000_000;

fn at(secs: i64) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp {
        seconds: T0 + secs,
        nanos: 0,
    })
}

fn event(message_id: &str, status: MessageStatus, secs: i64, event_id: &str) -> proto::StatusEvent {
    proto::StatusEvent {
        message_id: message_id.into(),
        status: status as i32,
        occurred_at: at(secs),
        event_id: event_id.into(),
        ..Default::default()
    }
}

fn failure(message_id: &str, status: MessageStatus, secs: i64, code: &str) -> proto::StatusEvent {
    proto::StatusEvent {
        error_code: code.into(),
        error_message: format!("provider error {code}"),
        ..event(message_id, status, secs, &format!("f-{code}-{secs}"))
    }
}

async fn update(
    client: &mut Client,
    events: Vec<proto::StatusEvent>,
) -> Vec<proto::StatusEventResult> {
    client
        .update_statuses(proto::UpdateStatusesRequest { events })
        .await
        .expect("UpdateStatuses")
        .into_inner()
        .results
}

type Client = proto::message_service_client::MessageServiceClient<tonic::transport::Channel>;

async fn get(client: &mut Client, id: &str) -> proto::Message {
    client
        .get_message(proto::GetMessageRequest { id: id.into() })
        .await
        .unwrap()
        .into_inner()
}

async fn out_of_order_sequences_end_at_the_precedence_winner(db: TestDb) {
    use MessageStatus::*;
    let server = TestServer::start(db).await;
    let mut c = server.messages();
    let ids = record(
        &mut c,
        (0..5)
            .map(|i| new_message("h", &format!("m{i}"), "+33612345678"))
            .collect(),
    )
    .await;
    // delivered before sent
    update(&mut c, vec![event(&ids[0], Delivered, 20, "d")]).await;
    let r = update(&mut c, vec![event(&ids[0], Sent, 10, "s")]).await;
    assert_eq!(r[0].outcome, EventOutcome::Stale as i32);
    assert_eq!(r[0].current_status, Delivered as i32);
    let m = get(&mut c, &ids[0]).await;
    assert_eq!(m.status, Delivered as i32);
    assert_eq!(m.sent_at, at(10));
    assert_eq!(m.delivered_at, at(20));
    assert_eq!(m.status_changed_at, at(20));

    // read before delivered (WhatsApp)
    update(
        &mut c,
        vec![
            event(&ids[1], Read, 30, "r"),
            event(&ids[1], Delivered, 20, "d"),
        ],
    )
    .await;
    let m = get(&mut c, &ids[1]).await;
    assert_eq!(m.status, Read as i32);
    assert_eq!((m.read_at, m.delivered_at), (at(30), at(20)));

    // failed after sent keeps FAILED and its error, even when a SENT arrives late
    update(
        &mut c,
        vec![
            event(&ids[2], Sent, 10, "s"),
            failure(&ids[2], Failed, 15, "131026"),
        ],
    )
    .await;
    let r = update(&mut c, vec![event(&ids[2], Sent, 12, "s2")]).await;
    assert_eq!(r[0].outcome, EventOutcome::Stale as i32);
    let m = get(&mut c, &ids[2]).await;
    assert_eq!(m.status, Failed as i32);
    assert_eq!(m.error_code, "131026");
    assert_eq!(m.error_message, "provider error 131026");
    assert_eq!(m.error_category, ErrorCategory::NotOnChannel as i32);
    assert_eq!((m.sent_at, m.failed_at), (at(10), at(15)));

    // delivered after failed wins (a guest with several devices), and clears the error
    update(&mut c, vec![failure(&ids[3], Undelivered, 15, "131049")]).await;
    let r = update(&mut c, vec![event(&ids[3], Delivered, 40, "d")]).await;
    assert_eq!(r[0].outcome, EventOutcome::Applied as i32);
    let m = get(&mut c, &ids[3]).await;
    assert_eq!(m.status, Delivered as i32);
    assert_eq!(m.error_code, "");
    assert_eq!(m.error_category, ErrorCategory::Unspecified as i32);
    assert_eq!(m.failed_at, at(15));

    // a late SENT after a cancel means it did go out
    update(&mut c, vec![event(&ids[4], Cancelled, 50, "c")]).await;
    let r = update(&mut c, vec![event(&ids[4], Sent, 45, "s")]).await;
    assert_eq!(r[0].outcome, EventOutcome::Applied as i32);
    assert_eq!(get(&mut c, &ids[4]).await.status, Sent as i32);
    server.stop().await;
}

async fn duplicates_with_and_without_event_ids(db: TestDb) {
    use MessageStatus::*;
    let server = TestServer::start(db).await;
    let mut c = server.messages();
    let ids = record(&mut c, vec![new_message("h", "m", "+33612345678")]).await;
    let r = update(
        &mut c,
        vec![
            event(&ids[0], Delivered, 20, "sg-1"),
            event(&ids[0], Delivered, 20, "sg-1"),
        ],
    )
    .await;
    assert_eq!(r[0].outcome, EventOutcome::Applied as i32);
    assert_eq!(r[1].outcome, EventOutcome::Duplicate as i32);
    let before = get(&mut c, &ids[0]).await;
    // SendGrid repeats the same event many times; replays without ids derive the same id.
    for _ in 0..3 {
        let r = update(
            &mut c,
            vec![
                event(&ids[0], Delivered, 20, "sg-1"),
                event(&ids[0], Sent, 10, ""),
            ],
        )
        .await;
        assert_eq!(r[0].outcome, EventOutcome::Duplicate as i32);
        assert_eq!(r[0].current_status, Delivered as i32);
        assert_ne!(r[1].outcome, EventOutcome::Rejected as i32);
    }
    let r = update(&mut c, vec![event(&ids[0], Sent, 10, "")]).await;
    assert_eq!(r[0].outcome, EventOutcome::Duplicate as i32);
    // Same time but another error code is another event.
    let r = update(
        &mut c,
        vec![
            failure(&ids[0], Failed, 10, "1"),
            failure(&ids[0], Failed, 10, "1"),
        ],
    )
    .await;
    assert_eq!(r[0].outcome, EventOutcome::Stale as i32);
    assert_eq!(r[1].outcome, EventOutcome::Duplicate as i32);
    // Duplicates by content: SendGrid retries one event under a new `sg_event_id`, a
    // relay stamps Twilio's id-less callbacks with a new id each time.
    for retry in ["sg-1-retry", "sg-1-retry-2"] {
        let r = update(&mut c, vec![event(&ids[0], Delivered, 20, retry)]).await;
        assert_eq!(r[0].outcome, EventOutcome::Duplicate as i32, "{retry}");
    }
    let again = proto::StatusEvent {
        event_id: "relay-stamped-id".into(),
        ..failure(&ids[0], Failed, 10, "1")
    };
    let r = update(&mut c, vec![again]).await;
    assert_eq!(r[0].outcome, EventOutcome::Duplicate as i32);
    // The same status at another time is another event.
    let r = update(&mut c, vec![event(&ids[0], Delivered, 21, "sg-2")]).await;
    assert_eq!(r[0].outcome, EventOutcome::Stale as i32);
    let after = get(&mut c, &ids[0]).await;
    assert_eq!(after.status, before.status);
    assert_eq!(after.sent_at, at(10));
    let history = history(&mut c, &ids[0]).await;
    // recorded (PENDING), delivered, sent, failed, the later delivery: each kept once.
    assert_eq!(history.len(), 5, "{history:?}");
    server.stop().await;
}

async fn read_on_sms_and_bad_items_are_rejected_alone(db: TestDb) {
    use MessageStatus::*;
    let server = TestServer::start(db).await;
    let mut c = server.messages();
    let mut sms = new_message("h", "sms", "+33612345678");
    sms.channel = Channel::Sms as i32;
    let mut email = new_message("h", "mail", "");
    email.channel = Channel::Email as i32;
    email.recipient_email = "a@example.com".into();
    let ids = record(
        &mut c,
        vec![sms, email, new_message("h", "wa", "+33612345678")],
    )
    .await;
    let far_future = Some(prost_types::Timestamp {
        seconds: chrono::Utc::now().timestamp() + 3 * 86_400,
        nanos: 0,
    });
    let events = vec![
        event(&ids[0], Read, 10, "r1"),
        event(&ids[1], Read, 10, "r2"),
        event(&ids[2], Read, 10, "r3"),
        proto::StatusEvent {
            status: 0,
            ..event(&ids[2], Sent, 1, "x1")
        },
        proto::StatusEvent {
            status: 42,
            ..event(&ids[2], Sent, 1, "x2")
        },
        proto::StatusEvent {
            occurred_at: None,
            ..event(&ids[2], Sent, 1, "x3")
        },
        proto::StatusEvent {
            occurred_at: far_future,
            ..event(&ids[2], Sent, 1, "x4")
        },
        event("no-such-message", Sent, 1, "x5"),
        proto::StatusEvent {
            message_id: String::new(),
            ..event("", Sent, 1, "x6")
        },
        event(&ids[0], Delivered, 11, "d1"),
    ];
    let r = update(&mut c, events).await;
    let expect = [
        (EventOutcome::Rejected, "events[0].status"),
        (EventOutcome::Rejected, "events[1].status"),
        (EventOutcome::Applied, ""),
        (EventOutcome::Rejected, "events[3].status"),
        (EventOutcome::Rejected, "events[4].status"),
        (EventOutcome::Rejected, "events[5].occurred_at"),
        (EventOutcome::Rejected, "events[6].occurred_at"),
        (EventOutcome::Rejected, "events[7].message_id"),
        (EventOutcome::Rejected, "events[8].message_id"),
        (EventOutcome::Applied, ""),
    ];
    for (i, (outcome, field)) in expect.iter().enumerate() {
        assert_eq!(r[i].index, i as i32);
        assert_eq!(r[i].outcome, *outcome as i32, "{i}: {:?}", r[i]);
        assert!(r[i].error.starts_with(field), "{i}: {:?}", r[i].error);
    }
    assert!(r[0].error.contains("READ"));
    assert_eq!(get(&mut c, &ids[0]).await.status, Delivered as i32);
    assert_eq!(get(&mut c, &ids[1]).await.status, Pending as i32);
    assert_eq!(get(&mut c, &ids[2]).await.status, Read as i32);
    server.stop().await;
}

async fn provider_id_finds_the_message(db: TestDb) {
    use MessageStatus::*;
    let server = TestServer::start(db).await;
    let mut c = server.messages();
    let mut m = new_message("h", "m", "+33612345678");
    m.channel = Channel::Sms as i32;
    m.provider = "twilio".into();
    m.provider_message_id = "SM0123".into();
    let ids = record(&mut c, vec![m]).await;
    let by_ref = |status: MessageStatus, secs: i64, provider: &str, pid: &str| proto::StatusEvent {
        provider: provider.into(),
        provider_message_id: pid.into(),
        status: status as i32,
        occurred_at: at(secs),
        ..Default::default()
    };
    let r = update(
        &mut c,
        vec![
            by_ref(Sent, 1, "Twilio", "SM0123"),
            by_ref(Delivered, 2, "twilio", "SM0123"),
            by_ref(Delivered, 2, "sendgrid", "SM0123"),
            by_ref(Delivered, 2, "twilio", "SM9999"),
        ],
    )
    .await;
    assert_eq!(r[0].message_id, ids[0]);
    assert_eq!(r[1].outcome, EventOutcome::Applied as i32);
    assert_eq!(r[1].current_status, Delivered as i32);
    // No message of that provider and id yet: parked until one is recorded
    // (tests/e2e/parking.rs).
    assert_eq!(r[2].outcome, EventOutcome::Parked as i32);
    assert_eq!(r[3].outcome, EventOutcome::Parked as i32);
    server.stop().await;
}

async fn error_category_is_derived_stored_and_filterable(db: TestDb) {
    use MessageStatus::*;
    let server = TestServer::start(db).await;
    let mut c = server.messages();
    let mut sms = new_message("h", "sms", "+33612345678");
    sms.channel = Channel::Sms as i32;
    sms.provider = "twilio".into();
    let mut mail = new_message("h", "mail", "");
    mail.channel = Channel::Email as i32;
    mail.recipient_email = "a@example.com".into();
    mail.provider = "sendgrid".into();
    // Recorded already failed: the category comes from the recorded error code.
    let mut landline = new_message("h", "landline", "+33145678901");
    landline.channel = Channel::Sms as i32;
    landline.provider = "twilio".into();
    landline.status = Failed as i32;
    landline.error_code = "21635".into();
    let ids = record(&mut c, vec![sms, mail, landline]).await;
    update(
        &mut c,
        vec![
            failure(&ids[0], Undelivered, 5, "30003"),
            failure(&ids[1], Undelivered, 5, "Invalid Address"),
        ],
    )
    .await;
    assert_eq!(
        get(&mut c, &ids[0]).await.error_category,
        ErrorCategory::Unreachable as i32
    );
    assert_eq!(
        get(&mut c, &ids[1]).await.error_category,
        ErrorCategory::InvalidAddress as i32
    );
    assert_eq!(
        get(&mut c, &ids[2]).await.error_category,
        ErrorCategory::NotMobile as i32
    );
    let filter = |cats: Vec<ErrorCategory>| proto::MessageFilter {
        error_categories: cats.into_iter().map(|c| c as i32).collect(),
        ..Default::default()
    };
    let found = list_all(&mut c, filter(vec![ErrorCategory::Unreachable]), 10).await;
    assert_eq!(
        found.iter().map(|m| &m.id).collect::<Vec<_>>(),
        vec![&ids[0]]
    );
    let found = list_all(
        &mut c,
        filter(vec![
            ErrorCategory::InvalidAddress,
            ErrorCategory::NotMobile,
        ]),
        10,
    )
    .await;
    assert_eq!(found.len(), 2);
    let counts = c
        .count_messages(proto::CountMessagesRequest { filter: None })
        .await
        .unwrap()
        .into_inner();
    let cats: HashSet<_> = counts
        .by_error_category
        .iter()
        .map(|x| (x.error_category, x.count))
        .collect();
    assert_eq!(
        cats,
        HashSet::from([
            (ErrorCategory::Unreachable as i32, 1),
            (ErrorCategory::InvalidAddress as i32, 1),
            (ErrorCategory::NotMobile as i32, 1)
        ])
    );
    server.stop().await;
}

async fn history_keeps_every_event_in_time_order(db: TestDb) {
    use MessageStatus::*;
    let server = TestServer::start(db).await;
    let mut c = server.messages();
    let ids = record(&mut c, vec![new_message("h", "m", "+33612345678")]).await;
    update(&mut c, vec![event(&ids[0], Read, 30, "r")]).await;
    update(
        &mut c,
        vec![
            event(&ids[0], Sent, 10, "s"),
            event(&ids[0], Delivered, 20, "d"),
        ],
    )
    .await;
    update(&mut c, vec![event(&ids[0], Delivered, 20, "d")]).await;
    let history = history(&mut c, &ids[0]).await;
    let got: Vec<_> = history
        .iter()
        .map(|e| (e.status, e.event_id.as_str(), e.outcome))
        .collect();
    assert_eq!(
        got,
        vec![
            (Sent as i32, "s", EventOutcome::Stale as i32),
            (Delivered as i32, "d", EventOutcome::Stale as i32),
            (Read as i32, "r", EventOutcome::Applied as i32),
            (Pending as i32, "recorded", EventOutcome::Applied as i32),
        ]
    );
    assert!(
        history
            .iter()
            .all(|e| e.received_at.is_some() && e.message_id == ids[0])
    );
    let err = c
        .get_message_history(proto::GetMessageHistoryRequest {
            message_id: "nope".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = c
        .get_message_history(proto::GetMessageHistoryRequest {
            message_id: "".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().starts_with("message_id"));
    server.stop().await;
}

async fn campaign_stats_match_hand_counts(db: TestDb) {
    use MessageStatus::*;
    let server = TestServer::start(db).await;
    let mut c = server.messages();
    // 10 messages: 1 pending, 1 sent, 1 failed, 1 undelivered, 4 delivered, 2 read.
    let plan = [
        Pending,
        Sent,
        Failed,
        Undelivered,
        Delivered,
        Delivered,
        Delivered,
        Delivered,
        Read,
        Read,
    ];
    let mut batch: Vec<_> = (0..plan.len())
        .map(|i| {
            let mut m = new_message("h", &format!("c{i}"), "+33612345678");
            m.campaign_id = "welcome-dec".into();
            m.campaign_name = "Welcome December".into();
            m
        })
        .collect();
    let mut other = new_message("h", "other", "+33612345678");
    other.campaign_id = "another".into();
    batch.push(other);
    let ids = record(&mut c, batch).await;
    let events: Vec<_> = plan
        .iter()
        .zip(&ids)
        .filter(|(s, _)| **s != Pending)
        .map(|(s, id)| event(id, *s, 10, "e"))
        .collect();
    update(&mut c, events).await;
    let stats = c
        .get_campaign_stats(proto::GetCampaignStatsRequest {
            hotel_id: "h".into(),
            campaign_id: "welcome-dec".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stats.campaign_name, "Welcome December");
    assert_eq!(stats.total, 10);
    assert_eq!(
        (
            stats.sent,
            stats.failed,
            stats.undelivered,
            stats.delivered,
            stats.read
        ),
        (1, 1, 1, 4, 2)
    );
    // delivered+read (6) over sent-or-later (9); read (2) over delivered+read (6).
    assert!(
        (stats.delivery_rate - 6.0 / 9.0).abs() < 1e-9,
        "{}",
        stats.delivery_rate
    );
    assert!(
        (stats.read_rate - 2.0 / 6.0).abs() < 1e-9,
        "{}",
        stats.read_rate
    );
    assert_eq!(stats.by_status.iter().map(|s| s.count).sum::<i64>(), 10);

    // A window that ends before the campaign holds nothing.
    let empty = c
        .get_campaign_stats(proto::GetCampaignStatsRequest {
            hotel_id: "h".into(),
            campaign_id: "welcome-dec".into(),
            sent_before: Some(prost_types::Timestamp {
                seconds: 1_000_000,
                nanos: 0,
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((empty.total, empty.delivery_rate), (0, 0.0));
    let err = c
        .get_campaign_stats(proto::GetCampaignStatsRequest {
            hotel_id: "h".into(),
            campaign_id: "nope".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = c
        .get_campaign_stats(proto::GetCampaignStatsRequest {
            hotel_id: "h".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().starts_with("campaign_id"));
    server.stop().await;
}

async fn concurrent_batches_converge_without_losing_events(db: TestDb) {
    use sentlog::domain::message::MessageStatus as S;
    use sentlog::domain::status::{StatusReport, StatusState, apply};
    let server = TestServer::start_with(db, |s| s.pool_size = 8).await;
    let mut c = server.messages();
    let ids = record(
        &mut c,
        (0..200)
            .map(|i| new_message("h", &format!("m{i}"), "+33612345678"))
            .collect(),
    )
    .await;
    // Per message: SENT, DELIVERED, READ and an UNDELIVERED, at varied times.
    let mut events = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let k = i as i64;
        events.push(event(id, MessageStatus::Sent, 10 + k % 3, "s"));
        events.push(event(id, MessageStatus::Delivered, 20 - k % 5, "d"));
        if i % 2 == 0 {
            events.push(event(id, MessageStatus::Read, 30, "r"));
        }
        events.push(failure(id, MessageStatus::Undelivered, 15, "30003"));
    }
    let mut tasks = Vec::new();
    for client_no in 0..8u64 {
        let mut shuffled = events.clone();
        // A different deterministic order per client.
        let mut seed = client_no.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        for i in (1..shuffled.len()).rev() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            shuffled.swap(i, (seed % (i as u64 + 1)) as usize);
        }
        let mut client = server.messages();
        tasks.push(tokio::spawn(async move {
            for chunk in shuffled.chunks(150) {
                let results = update(&mut client, chunk.to_vec()).await;
                assert!(
                    results
                        .iter()
                        .all(|r| r.outcome != EventOutcome::Rejected as i32),
                    "{results:?}"
                );
            }
        }));
    }
    for t in tasks {
        t.await
            .expect("no client failed (no deadlock, no lost update)");
    }
    for (i, id) in ids.iter().enumerate() {
        // The winner by the pure rule, folded in the original order.
        let mut state = StatusState::from_first(&StatusReport {
            status: S::Pending,
            occurred_at: chrono::Utc::now(),
            event_id: "recorded".into(),
            error_code: None,
            error_message: None,
            error_category: Default::default(),
        });
        let mine: Vec<_> = events.iter().filter(|e| &e.message_id == id).collect();
        for e in &mine {
            let ts = e.occurred_at.unwrap();
            let report = StatusReport {
                status: S::from_code(e.status).unwrap(),
                occurred_at: chrono::DateTime::from_timestamp(ts.seconds, 0).unwrap(),
                event_id: e.event_id.clone(),
                error_code: (!e.error_code.is_empty()).then(|| e.error_code.clone()),
                error_message: (!e.error_message.is_empty()).then(|| e.error_message.clone()),
                error_category: Default::default(),
            };
            state = apply(&state, &report).0;
        }
        let m = get(&mut c, id).await;
        assert_eq!(m.status, state.status.code(), "message {i}");
        assert_eq!(
            m.status_changed_at.unwrap().seconds,
            state.status_changed_at.timestamp()
        );
        assert_eq!(
            m.failed_at.map(|t| t.seconds),
            state.failed_at.map(|t| t.timestamp())
        );
        let history = history(&mut c, id).await;
        assert_eq!(
            history.len(),
            mine.len() + 1,
            "message {i}: each event kept exactly once"
        );
        let applied = history
            .iter()
            .filter(|e| e.outcome == EventOutcome::Applied as i32)
            .count();
        assert!(applied >= 2);
    }
    server.stop().await;
}

async fn oversized_event_batch_is_refused(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut c = server.messages();
    let events = (0..1001)
        .map(|i| event("x", MessageStatus::Sent, i, "e"))
        .collect();
    let err = c
        .update_statuses(proto::UpdateStatusesRequest { events })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted);
    assert!(err.message().contains("events"));
    server.stop().await;
}

/// Messages stored while ids were text keep their ids, history, order and flags
/// through the migration that stores them in 16 bytes (migration 000026), and a
/// copy of an id in another case still finds nothing.
async fn ids_survive_the_move_to_sixteen_bytes(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut client = server.messages();
    let ids = record(
        &mut client,
        (0..5)
            .map(|i| new_message("h", &format!("e{i}"), &format!("+3361234567{i}")))
            .collect(),
    )
    .await;
    let applied = update(
        &mut client,
        vec![event(&ids[0], MessageStatus::Delivered, 5, "d")],
    )
    .await;
    assert_eq!(applied[0].outcome, EventOutcome::Applied as i32);
    let before = list_all(&mut client, proto::MessageFilter::default(), 2).await;
    // Back to text ids, as a database of the previous version holds them.
    let down = match server.is_postgres() {
        true => {
            include_str!("../../migrations/postgres/2026-12-02-000026_binary_message_ids/down.sql")
        }
        false => {
            include_str!("../../migrations/sqlite/2026-12-02-000026_binary_message_ids/down.sql")
        }
    };
    let store = server.store().clone();
    let stored_as_text = tokio::task::spawn_blocking(move || {
        let mut conn = store.conn().unwrap();
        exec(&mut conn, "BEGIN");
        for statement in down.split(';').filter(|s| !s.trim().is_empty()) {
            exec(&mut conn, statement);
        }
        exec(&mut conn, "COMMIT");
        exec(
            &mut conn,
            "DELETE FROM __diesel_schema_migrations WHERE version LIKE '%000026'",
        );
        texts(&mut conn, "SELECT id AS text FROM messages ORDER BY id")
    })
    .await
    .unwrap();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(
        stored_as_text, sorted,
        "the down migration gives the same text back"
    );
    // Restarting runs the migration again.
    let restarted = server.another_instance(|_| {}).await;
    let mut client = restarted.messages();
    let after = list_all(&mut client, proto::MessageFilter::default(), 2).await;
    assert_eq!(after, before, "same messages, same order, same pages");
    let history = history(&mut client, &ids[0]).await;
    assert!(history.iter().any(|e| e.event_id == "d"), "{history:?}");
    // Writes still find the message, and its history still belongs to it.
    let read = update(
        &mut client,
        vec![event(&ids[0], MessageStatus::Read, 9, "r")],
    )
    .await;
    assert_eq!(read[0].outcome, EventOutcome::Applied as i32);
    for wrong in [ids[1].to_uppercase(), ids[1].replace('-', "")] {
        let err = client
            .get_message(proto::GetMessageRequest { id: wrong })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::NotFound);
    }
    restarted.stop().await;
    server.stop().await;
}
