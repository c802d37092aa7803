//! WatchMessages: new messages and status changes arrive live, across instances on
//! PostgreSQL; a stalled watcher never slows ingestion and is told it fell behind.
use std::time::{Duration, Instant};

use sentlog::proto::{self, MessageStatus};
use tonic::Code;

use crate::backend_tests;
use crate::common::*;

backend_tests!(
    a_watcher_sees_new_messages_and_status_changes,
    a_stalled_watcher_never_slows_ingestion,
    open_streams_are_capped_per_token_and_overall,
);

fn bearer<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut r = tonic::Request::new(message);
    r.metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    r
}

async fn watch_as(server: &TestServer, token: &str) -> Result<Stream, tonic::Status> {
    server
        .messages()
        .watch_messages(bearer(proto::WatchMessagesRequest::default(), token))
        .await
        .map(|r| r.into_inner())
}

async fn export_as(server: &TestServer, token: &str) -> Result<usize, tonic::Status> {
    let mut stream = server
        .messages()
        .export_messages(bearer(proto::ExportMessagesRequest::default(), token))
        .await?
        .into_inner();
    let mut n = 0;
    while stream.message().await?.is_some() {
        n += 1;
    }
    Ok(n)
}

/// Streams outlive their calls, so they have caps of their own: past either one the
/// caller is told RESOURCE_EXHAUSTED, and a stream that closes frees its place.
async fn open_streams_are_capped_per_token_and_overall(db: TestDb) {
    use sentlog::config::TokenSettings;
    use sentlog::domain::access::{hex, token_hash};
    let server = TestServer::start_with(db, |s| {
        s.max_open_streams = 3;
        s.max_open_streams_per_token = 2;
        s.tokens = [
            ("tok-a", "agent-a"),
            ("tok-b", "agent-b"),
            ("tok-i", "ingest"),
        ]
        .iter()
        .map(|(token, name)| TokenSettings {
            name: name.to_string(),
            role: if *name == "ingest" { "ingest" } else { "agent" }.into(),
            hotels: vec!["*".into()],
            sha256: hex(&token_hash(token)),
        })
        .collect();
    })
    .await;
    let mut ingest = server.messages();
    ingest
        .record_messages(bearer(
            proto::RecordMessagesRequest {
                messages: vec![new_message("h1", "e-1", "+33612345678")],
            },
            "tok-i",
        ))
        .await
        .unwrap();
    let a1 = watch_as(&server, "tok-a").await.unwrap();
    let _a2 = watch_as(&server, "tok-a").await.unwrap();
    let per_token = watch_as(&server, "tok-a").await.unwrap_err();
    assert_eq!(per_token.code(), Code::ResourceExhausted);
    assert!(per_token.message().contains("per token"), "{per_token:?}");
    // An export counts too: the token's two places are taken.
    let export = export_as(&server, "tok-a").await.unwrap_err();
    assert_eq!(export.code(), Code::ResourceExhausted);
    let _b1 = watch_as(&server, "tok-b").await.unwrap();
    let overall = watch_as(&server, "tok-b").await.unwrap_err();
    assert_eq!(overall.code(), Code::ResourceExhausted);
    assert!(
        overall.message().contains("max_open_streams"),
        "{overall:?}"
    );
    // A watcher that hangs up frees its place (the server notices at once).
    drop(a1);
    let started = Instant::now();
    let freed = loop {
        match export_as(&server, "tok-a").await {
            Ok(n) => break n,
            Err(s)
                if s.code() == Code::ResourceExhausted
                    && started.elapsed() < Duration::from_secs(5) =>
            {
                tokio::time::sleep(Duration::from_millis(20)).await
            }
            Err(s) => panic!("the place was not freed: {s:?}"),
        }
    };
    assert_eq!(freed, 1, "the export ran once a place was free");
    server.stop().await;
}

type Stream = tonic::Streaming<proto::MessageChange>;

async fn watch(server: &TestServer, filter: proto::MessageFilter) -> Stream {
    server
        .messages()
        .watch_messages(proto::WatchMessagesRequest {
            filter: Some(filter),
        })
        .await
        .unwrap()
        .into_inner()
}

async fn next(stream: &mut Stream) -> proto::MessageChange {
    tokio::time::timeout(Duration::from_secs(2), stream.message())
        .await
        .expect("a change within the time limit")
        .unwrap()
        .expect("the stream is open")
}

fn delivered(id: &str, secs: i64) -> proto::StatusEvent {
    proto::StatusEvent {
        message_id: id.into(),
        status: MessageStatus::Delivered as i32,
        occurred_at: Some(prost_types::Timestamp {
            seconds: 1_790_000_000 + secs,
            nanos: 0,
        }),
        ..Default::default()
    }
}

async fn a_watcher_sees_new_messages_and_status_changes(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut stream = watch(
        &server,
        proto::MessageFilter {
            hotel_ids: vec!["h1".into()],
            ..Default::default()
        },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut client = server.messages();
    let ids = record(
        &mut client,
        vec![
            new_message("h2", "other", "+33612345678"),
            new_message("h1", "mine", "+33612345678"),
        ],
    )
    .await;
    let started = Instant::now();
    let first = next(&mut stream).await;
    assert_eq!(
        first.message.as_ref().unwrap().id,
        ids[1],
        "only the watched hotel"
    );
    assert_eq!(first.previous_status, MessageStatus::Unspecified as i32);
    client
        .update_statuses(proto::UpdateStatusesRequest {
            events: vec![delivered(&ids[0], 1), delivered(&ids[1], 1)],
        })
        .await
        .unwrap();
    let change = next(&mut stream).await;
    assert_eq!(change.message.as_ref().unwrap().id, ids[1]);
    assert_eq!(
        change.message.as_ref().unwrap().status,
        MessageStatus::Delivered as i32
    );
    assert_eq!(change.previous_status, MessageStatus::Pending as i32);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "within a second"
    );
    // A replayed event changes nothing, so nothing is sent.
    client
        .update_statuses(proto::UpdateStatusesRequest {
            events: vec![delivered(&ids[1], 1)],
        })
        .await
        .unwrap();
    assert!(
        tokio::time::timeout(Duration::from_millis(400), stream.message())
            .await
            .is_err()
    );
    // Shutdown ends the stream cleanly instead of hanging the server.
    tokio::time::timeout(Duration::from_secs(5), server.stop())
        .await
        .expect("stop does not hang on a watcher");
}

async fn a_stalled_watcher_never_slows_ingestion(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut client = server.messages();
    let mut ids = Vec::new();
    for b in 0..4 {
        let batch = (0..500)
            .map(|i| new_message("h", &format!("m{b}-{i}"), "+33612345678"))
            .collect();
        ids.extend(record(&mut client, batch).await);
    }
    let mut client = server.messages();
    let run = |status: MessageStatus, secs: i64, ids: Vec<String>| {
        let mut client = client.clone();
        async move {
            let started = Instant::now();
            for chunk in ids.chunks(500) {
                let events = chunk
                    .iter()
                    .map(|id| proto::StatusEvent {
                        status: status as i32,
                        ..delivered(id, secs)
                    })
                    .collect();
                client
                    .update_statuses(proto::UpdateStatusesRequest { events })
                    .await
                    .unwrap();
            }
            started.elapsed()
        }
    };
    let without = run(MessageStatus::Sent, 1, ids.clone()).await;
    // A watcher that never reads, on a connection with small HTTP/2 windows so the
    // transport cannot absorb what the watcher does not read.
    let narrow = tonic::transport::Channel::from_shared(format!(
        "http://{}",
        server.server.as_ref().unwrap().addr
    ))
    .unwrap()
    .initial_stream_window_size(65_535)
    .initial_connection_window_size(65_535)
    .connect()
    .await
    .unwrap();
    let mut stalled = proto::message_service_client::MessageServiceClient::new(narrow)
        .watch_messages(proto::WatchMessagesRequest { filter: None })
        .await
        .unwrap()
        .into_inner();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let feed = server.server.as_ref().unwrap().state.feed.clone();
    let published_before = feed.published();
    let with = run(MessageStatus::Delivered, 2, ids.clone()).await;
    assert!(
        with < without * 3 + Duration::from_secs(1),
        "a stalled watcher slowed ingestion: {with:?} with it, {without:?} without"
    );
    let _ = client
        .update_statuses(proto::UpdateStatusesRequest { events: vec![] })
        .await;
    // On PostgreSQL changes reach the feed through LISTEN, a little later: wait until
    // all of them were published, far more than the watcher's buffers hold.
    let deadline = Instant::now() + Duration::from_secs(30);
    while feed.published() - published_before < ids.len() as u64 {
        assert!(Instant::now() < deadline, "the feed published every change");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // When it finally reads, it learns it fell behind.
    let mut ended = None;
    for _ in 0..5000 {
        match tokio::time::timeout(Duration::from_secs(5), stalled.message()).await {
            Ok(Ok(Some(_))) => continue,
            Ok(Err(status)) => {
                ended = Some(status);
                break;
            }
            other => panic!("expected a fell-behind status, got {other:?}"),
        }
    }
    let status = ended.expect("the watcher was stopped");
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert!(status.message().contains("behind"));
    server.stop().await;
}

/// PostgreSQL: a watcher on instance A sees what instance B records and updates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_on_one_instance_sees_changes_made_on_another() {
    let Some(db) = TestDb::postgres() else { return };
    let a = TestServer::start(db).await;
    let b = a.another_instance(|_| {}).await;
    let mut stream = watch(
        &a,
        proto::MessageFilter {
            campaign_name: "check".into(),
            ..Default::default()
        },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut on_b = b.messages();
    let ids = record(&mut on_b, vec![new_message("h", "m1", "+33612345678")]).await;
    let created = next(&mut stream).await;
    assert_eq!(created.message.as_ref().unwrap().id, ids[0]);
    let started = Instant::now();
    on_b.update_statuses(proto::UpdateStatusesRequest {
        events: vec![delivered(&ids[0], 1)],
    })
    .await
    .unwrap();
    let change = next(&mut stream).await;
    assert_eq!(
        change.message.as_ref().unwrap().status,
        MessageStatus::Delivered as i32
    );
    assert_eq!(change.previous_status, MessageStatus::Pending as i32);
    assert!(started.elapsed() < Duration::from_secs(1));
    b.stop().await;
    a.stop().await;
}
