//! The Prometheus endpoint, scraped after traffic.
use sentlog::proto::{self, MessageStatus};

use crate::backend_tests;
use crate::common::*;

backend_tests!(metrics_show_calls_events_runs_and_flags);

fn line_with<'a>(text: &'a str, metric: &str, parts: &[&str]) -> Option<&'a str> {
    text.lines()
        .find(|l| l.starts_with(metric) && parts.iter().all(|p| l.contains(p)))
}

async fn metrics_show_calls_events_runs_and_flags(db: TestDb) {
    let server =
        TestServer::start_with(db, |s| s.metrics_listen = Some("127.0.0.1:0".into())).await;
    let mut m = server.messages();
    let mut msg = new_message("h", "e1", "+33612345678");
    msg.status = MessageStatus::Undelivered as i32;
    msg.pms_guest_id = "nobody".into();
    // Two failures of the sender's own setup (a paused template), in another hotel.
    let setup = (1..=2)
        .map(|i| {
            let mut s = new_message("h-setup", &format!("s{i}"), "+33612345679");
            s.status = MessageStatus::Failed as i32;
            s.error_code = "132015".into();
            s
        })
        .collect();
    record(&mut m, setup).await;
    let ids = record(&mut m, vec![msg]).await;
    let event = proto::StatusEvent {
        message_id: ids[0].clone(),
        status: MessageStatus::Failed as i32,
        occurred_at: Some(prost_types::Timestamp {
            seconds: 1_790_000_000,
            nanos: 0,
        }),
        event_id: "x".into(),
        ..Default::default()
    };
    m.update_statuses(proto::UpdateStatusesRequest {
        events: vec![event.clone(), event, proto::StatusEvent::default()],
    })
    .await
    .unwrap();
    let _ = m
        .get_message(proto::GetMessageRequest { id: "nope".into() })
        .await;
    server
        .reconciliation()
        .run_reconciliation(proto::RunReconciliationRequest::default())
        .await
        .unwrap();

    let url = format!(
        "http://{}/metrics",
        server.server.as_ref().unwrap().metrics_addr.unwrap()
    );
    let text = reqwest::get(&url).await.unwrap().text().await.unwrap();
    assert!(
        line_with(
            &text,
            "sentlog_grpc_calls_total",
            &["RecordMessages", "code=\"Ok\""]
        )
        .is_some(),
        "{text}"
    );
    assert!(
        line_with(
            &text,
            "sentlog_grpc_calls_total",
            &["GetMessage", "code=\"NotFound\""]
        )
        .is_some()
    );
    assert!(
        line_with(
            &text,
            "sentlog_grpc_call_seconds_bucket",
            &["UpdateStatuses"]
        )
        .is_some()
    );
    for outcome in ["applied", "duplicate", "rejected"] {
        assert!(
            line_with(
                &text,
                "sentlog_status_events_total",
                &[&format!("outcome=\"{outcome}\"")]
            )
            .is_some(),
            "{outcome}"
        );
    }
    assert!(
        line_with(
            &text,
            "sentlog_reconciliation_runs_total",
            &["state=\"succeeded\""]
        )
        .is_some()
    );
    assert!(line_with(&text, "sentlog_reconciliation_run_seconds_count", &[]).is_some());
    assert!(line_with(&text, "sentlog_flags_raised_total", &["GUEST_NOT_IN_PMS"]).is_some());
    assert_eq!(
        line_with(&text, "sentlog_open_flags", &["GUEST_NOT_IN_PMS"])
            .map(|l| l.rsplit(' ').next().unwrap()),
        Some("1"),
        "{text}"
    );
    assert_eq!(
        line_with(&text, "sentlog_db_pool_size", &[]).map(|l| l.rsplit(' ').next().unwrap()),
        Some("4")
    );
    assert_eq!(
        line_with(
            &text,
            "sentlog_sender_setup_failures",
            &["hotel_id=\"h-setup\""]
        )
        .map(|l| l.rsplit(' ').next().unwrap()),
        Some("2"),
        "{text}"
    );
    assert!(line_with(&text, "sentlog_sender_setup_failures", &["hotel_id=\"h\""]).is_none());
    server.stop().await;
}
