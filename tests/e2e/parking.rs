//! Early callbacks are parked, not lost (API.md): a status event addressed by provider
//! id before its message is recorded waits for it, within the caller's hotels, until it
//! expires; a runaway sender meets a cap.
use sentlog::config::Settings;
use sentlog::proto::{self, ErrorCategory, EventOutcome, MessageStatus};
use tonic::{Code, Request};

use crate::backend_tests;
use crate::common::*;

backend_tests!(
    an_early_callback_waits_for_its_message,
    parked_events_never_cross_hotels,
    parked_events_expire_and_meet_a_cap,
);

fn at(seconds: i64) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp {
        seconds: 1_790_000_000 + seconds,
        nanos: 0,
    })
}

/// A Twilio callback for message SID `sid`.
fn callback(sid: &str, status: MessageStatus, seconds: i64, code: &str) -> proto::StatusEvent {
    proto::StatusEvent {
        provider: "twilio".into(),
        provider_message_id: sid.into(),
        status: status as i32,
        occurred_at: at(seconds),
        error_code: code.into(),
        ..Default::default()
    }
}

fn sms(hotel: &str, ext: &str, sid: &str) -> proto::NewMessage {
    proto::NewMessage {
        channel: proto::Channel::Sms as i32,
        provider: "twilio".into(),
        provider_message_id: sid.into(),
        status: MessageStatus::Pending as i32,
        ..new_message(hotel, ext, "+33612345678")
    }
}

fn authed<T>(message: T, token: &str) -> Request<T> {
    let mut r = Request::new(message);
    r.metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    r
}

async fn update(
    server: &TestServer,
    events: Vec<proto::StatusEvent>,
) -> Result<Vec<proto::StatusEventResult>, tonic::Status> {
    server
        .messages()
        .update_statuses(proto::UpdateStatusesRequest { events })
        .await
        .map(|r| r.into_inner().results)
}

async fn message(server: &TestServer, id: &str) -> proto::Message {
    server
        .messages()
        .get_message(proto::GetMessageRequest { id: id.into() })
        .await
        .unwrap()
        .into_inner()
}

async fn an_early_callback_waits_for_its_message(db: TestDb) {
    let server = TestServer::start(db).await;
    // An invalid number fails within milliseconds, before the hub records the send;
    // the SENT arrives later still, out of order.
    let r = update(
        &server,
        vec![callback("SM-early", MessageStatus::Failed, 2, "21211")],
    )
    .await
    .unwrap();
    assert_eq!(r[0].outcome, EventOutcome::Parked as i32, "{r:?}");
    assert!(r[0].error.is_empty() && r[0].message_id.is_empty());
    let r = update(
        &server,
        vec![callback("SM-early", MessageStatus::Sent, 1, "")],
    )
    .await
    .unwrap();
    assert_eq!(r[0].outcome, EventOutcome::Parked as i32);
    // An event addressed by an unknown message id stays REJECTED.
    let r = update(
        &server,
        vec![proto::StatusEvent {
            message_id: "no-such-id".into(),
            status: MessageStatus::Sent as i32,
            occurred_at: at(0),
            ..Default::default()
        }],
    )
    .await
    .unwrap();
    assert_eq!(r[0].outcome, EventOutcome::Rejected as i32);

    let ids = record(
        &mut server.messages(),
        vec![sms("h", "early", "SM-early"), sms("h", "other", "SM-other")],
    )
    .await;
    let m = message(&server, &ids[0]).await;
    assert_eq!(m.status, MessageStatus::Failed as i32, "{m:?}");
    assert_eq!(m.error_code, "21211");
    assert_eq!(m.error_category, ErrorCategory::InvalidNumber as i32);
    assert_eq!(m.sent_at, at(1), "per-status times as if in order");
    assert_eq!(m.failed_at, at(2));
    let history = history(&mut server.messages(), &ids[0]).await;
    assert_eq!(history.len(), 3, "recorded, failed, sent: {history:?}");
    assert!(
        history
            .iter()
            .any(|e| e.status == MessageStatus::Failed as i32
                && e.outcome == EventOutcome::Applied as i32)
    );
    assert_eq!(
        message(&server, &ids[1]).await.status,
        MessageStatus::Pending as i32,
        "another SID took nothing"
    );
    // The provider retries its callback: now a duplicate of the applied event.
    let r = update(
        &server,
        vec![callback("SM-early", MessageStatus::Failed, 2, "21211")],
    )
    .await
    .unwrap();
    assert_eq!(r[0].outcome, EventOutcome::Duplicate as i32);
    // Recording the message again (an idempotent retry) applies nothing twice.
    record(&mut server.messages(), vec![sms("h", "early", "SM-early")]).await;
    assert_eq!(
        message(&server, &ids[0]).await.status,
        MessageStatus::Failed as i32
    );
    server.stop().await;
}

const TOKENS: &[(&str, &str, &str)] = &[
    ("tok-ingest-h1", "ingest", "h1"),
    ("tok-ingest-h2", "ingest", "h2"),
    ("tok-admin", "admin", "*"),
];

fn with_tokens(s: &mut Settings) {
    s.tokens = token_settings(TOKENS);
}

async fn parked_events_never_cross_hotels(db: TestDb) {
    let server = TestServer::start_with(db, with_tokens).await;
    let mut m = server.messages();
    // h1's relay parks a failure for SID "SM-shared".
    let r = m
        .update_statuses(authed(
            proto::UpdateStatusesRequest {
                events: vec![callback(
                    "SM-shared",
                    MessageStatus::Undelivered,
                    5,
                    "30003",
                )],
            },
            "tok-ingest-h1",
        ))
        .await
        .unwrap()
        .into_inner()
        .results;
    assert_eq!(r[0].outcome, EventOutcome::Parked as i32);
    let record_as = |hotel: &'static str, token: &'static str| {
        let mut m = server.messages();
        async move {
            m.record_messages(authed(
                proto::RecordMessagesRequest {
                    messages: vec![sms(hotel, &format!("{hotel}-msg"), "SM-shared")],
                },
                token,
            ))
            .await
            .unwrap()
            .into_inner()
            .results[0]
                .message_id
                .clone()
        }
    };
    // h2 records a message with the same SID: h1's event is not h2's to take.
    let in_h2 = record_as("h2", "tok-ingest-h2").await;
    let in_h1 = record_as("h1", "tok-ingest-h1").await;
    let status = |id: String| {
        let mut m = server.messages();
        async move {
            m.get_message(authed(proto::GetMessageRequest { id }, "tok-admin"))
                .await
                .unwrap()
                .into_inner()
                .status
        }
    };
    assert_eq!(status(in_h2).await, MessageStatus::Pending as i32);
    assert_eq!(status(in_h1).await, MessageStatus::Undelivered as i32);
    server.stop().await;
}

async fn parked_events_expire_and_meet_a_cap(db: TestDb) {
    let server = TestServer::start_with(db, |s| s.max_parked_per_hotel = 2).await;
    let r = update(
        &server,
        vec![
            callback("SM-1", MessageStatus::Failed, 1, "21211"),
            callback("SM-2", MessageStatus::Failed, 1, "21211"),
        ],
    )
    .await
    .unwrap();
    assert!(r.iter().all(|r| r.outcome == EventOutcome::Parked as i32));
    // A runaway sender: past the cap the whole batch is refused, nothing parked.
    let err = update(
        &server,
        vec![callback("SM-3", MessageStatus::Failed, 1, "21211")],
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted);
    assert!(
        err.message().contains("max_parked_per_hotel"),
        "{}",
        err.message()
    );

    // SM-1's event expires (its time is moved back rather than waited for).
    let store = server.store().clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = store.conn().unwrap();
        exec(
            &mut conn,
            "UPDATE parked_events SET expires_at = '2020-01-01 00:00:00' WHERE provider_message_id = 'SM-1'",
        );
    })
    .await
    .unwrap();
    let dropped = sentlog::service::statuses::purge_expired_parked(server.store())
        .await
        .unwrap();
    assert_eq!(dropped, 1);
    let ids = record(
        &mut server.messages(),
        vec![
            sms("h", "m1", "SM-1"),
            sms("h", "m2", "SM-2"),
            sms("h", "m3", "SM-3"),
        ],
    )
    .await;
    let statuses: Vec<i32> = {
        let mut out = Vec::new();
        for id in &ids {
            out.push(message(&server, id).await.status);
        }
        out
    };
    assert_eq!(
        statuses,
        [
            MessageStatus::Pending as i32,
            MessageStatus::Failed as i32,
            MessageStatus::Pending as i32
        ],
        "expired, applied, refused"
    );
    // The cap counts what still waits: room again.
    let r = update(
        &server,
        vec![callback("SM-4", MessageStatus::Failed, 1, "21211")],
    )
    .await
    .unwrap();
    assert_eq!(r[0].outcome, EventOutcome::Parked as i32);
    server.stop().await;
}
