//! ListArrivals: every stay arriving in a range, from its messages and the PMS guest
//! records, with whether the guest was reached; counts per reach state; keyset pages.
use chrono::{Duration, Utc};
use sentlog::proto::{self, Channel, MessageStatus, ReachState};
use tonic::Code;

use crate::backend_tests;
use crate::common::*;

backend_tests!(arrivals_cover_every_reach_state_and_page);

fn stay_message(
    external_id: &str,
    reservation: &str,
    check_in: &str,
    channel: Channel,
    status: MessageStatus,
) -> proto::NewMessage {
    let mut m = new_message("h1", external_id, "+33612345678");
    m.pms_reservation_id = reservation.into();
    m.check_in_date = check_in.into();
    m.check_out_date = "2026-12-31".into();
    m.channel = channel as i32;
    m.status = status as i32;
    m
}

async fn arrivals(
    server: &TestServer,
    from: &str,
    to: &str,
    reach: Vec<ReachState>,
    page_size: i32,
    page_token: String,
) -> Result<proto::ListArrivalsResponse, tonic::Status> {
    server
        .reconciliation()
        .list_arrivals(proto::ListArrivalsRequest {
            hotel_id: "h1".into(),
            check_in_from: from.into(),
            check_in_to: to.into(),
            reach: reach.into_iter().map(|r| r as i32).collect(),
            page_size,
            page_token,
        })
        .await
        .map(|r| r.into_inner())
}

async fn arrivals_cover_every_reach_state_and_page(db: TestDb) {
    let server = TestServer::start(db).await;
    let ids = record(
        &mut server.messages(),
        vec![
            // r-reached: WhatsApp failed, SMS delivered.
            stay_message(
                "a1",
                "r-reached",
                "2026-12-10",
                Channel::Whatsapp,
                MessageStatus::Failed,
            ),
            stay_message(
                "a2",
                "r-reached",
                "2026-12-10",
                Channel::Sms,
                MessageStatus::Delivered,
            ),
            // r-flight: sent, waiting for news.
            stay_message(
                "b1",
                "r-flight",
                "2026-12-10",
                Channel::Sms,
                MessageStatus::Sent,
            ),
            // r-lost: undelivered, and a send that got stuck.
            stay_message(
                "c1",
                "r-lost",
                "2026-12-11",
                Channel::Whatsapp,
                MessageStatus::Undelivered,
            ),
            stay_message(
                "c2",
                "r-lost",
                "2026-12-11",
                Channel::Sms,
                MessageStatus::Sent,
            ),
            // Another hotel's stay, and one arriving after the range.
            {
                let mut m = stay_message(
                    "x1",
                    "r-other",
                    "2026-12-10",
                    Channel::Sms,
                    MessageStatus::Sent,
                );
                m.hotel_id = "h2".into();
                m
            },
            stay_message(
                "d1",
                "r-later",
                "2026-12-20",
                Channel::Sms,
                MessageStatus::Sent,
            ),
        ],
    )
    .await;
    // The stuck send: its SENT status stood for 7 hours (SMS allows 6).
    let at = (Utc::now() - Duration::hours(7))
        .naive_utc()
        .format("%Y-%m-%d %H:%M:%S%.6f");
    let mut conn = server.store().conn().unwrap();
    let sql = format!(
        "UPDATE messages SET status_changed_at = '{at}' WHERE id = {}",
        sql_id(&conn, &ids[4])
    );
    exec(&mut conn, &sql);
    drop(conn);
    // A PMS guest arriving with no message at all.
    server
        .guests()
        .upsert_guests(proto::UpsertGuestsRequest {
            guests: vec![proto::PmsGuest {
                hotel_id: "h1".into(),
                pms_guest_id: "g-silent".into(),
                pms_reservation_id: "r-silent".into(),
                full_name: "Sam Silent".into(),
                check_in_date: "2026-12-11".into(),
                ..Default::default()
            }],
        })
        .await
        .unwrap();

    let all = arrivals(
        &server,
        "2026-12-10",
        "2026-12-12",
        vec![],
        0,
        String::new(),
    )
    .await
    .unwrap();
    let seen: Vec<(String, i32)> = all
        .arrivals
        .iter()
        .map(|a| (a.stay_key.clone(), a.reach))
        .collect();
    assert_eq!(
        seen,
        vec![
            ("r-flight".to_string(), ReachState::InFlight as i32),
            ("r-reached".to_string(), ReachState::Reached as i32),
            ("r-lost".to_string(), ReachState::NotReached as i32),
            ("r-silent".to_string(), ReachState::NoMessage as i32),
        ],
        "by check-in date, then stay key; this hotel and range only"
    );
    let reached = &all.arrivals[1];
    assert_eq!(reached.messages, 2);
    assert_eq!(reached.reached_channel, Channel::Sms as i32);
    assert!(reached.reached_at.is_some());
    assert_eq!(all.arrivals[2].stuck, 1);
    assert_eq!(all.arrivals[3].guest_name, "Sam Silent");
    let count = |r: ReachState| {
        all.counts
            .iter()
            .find(|c| c.reach == r as i32)
            .map(|c| c.count)
            .unwrap_or(-1)
    };
    for r in [
        ReachState::Reached,
        ReachState::InFlight,
        ReachState::NotReached,
        ReachState::NoMessage,
    ] {
        assert_eq!(count(r), 1, "{r:?}");
    }

    // Which arriving guests have not received anything: a filter on reach.
    let not_reached = arrivals(
        &server,
        "2026-12-10",
        "2026-12-12",
        vec![ReachState::NotReached, ReachState::NoMessage],
        0,
        String::new(),
    )
    .await
    .unwrap();
    assert_eq!(not_reached.arrivals.len(), 2);
    assert_eq!(
        not_reached.counts, all.counts,
        "counts cover the whole range"
    );

    // Pages of one: the same stays, in order, no repeat, no skip.
    let mut token = String::new();
    let mut paged = Vec::new();
    loop {
        let page = arrivals(&server, "2026-12-10", "2026-12-12", vec![], 1, token)
            .await
            .unwrap();
        paged.extend(page.arrivals.into_iter().map(|a| a.stay_key));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(paged, seen.into_iter().map(|(k, _)| k).collect::<Vec<_>>());

    // The console's page: counts on top, a click filters.
    let console = server.console_url();
    let get = |path: String| async move {
        let r = reqwest::get(path).await.unwrap();
        (r.status(), r.text().await.unwrap())
    };
    let (status, page) = get(format!(
        "{console}/arrivals?hotel=h1&from=2026-12-10&to=2026-12-12"
    ))
    .await;
    assert_eq!(status, reqwest::StatusCode::OK);
    assert!(page.contains("Not reached <strong>1</strong>"), "{page}");
    assert!(page.contains("r-silent") && page.contains("Sam Silent"));
    let (_, filtered) = get(format!(
        "{console}/arrivals?hotel=h1&from=2026-12-10&to=2026-12-12&reach=NOT_REACHED"
    ))
    .await;
    assert!(filtered.contains("r-lost") && !filtered.contains("r-reached"));
    let (status, bad) = get(format!(
        "{console}/arrivals?hotel=h1&from=2026-12-12&to=2026-12-10"
    ))
    .await;
    assert_eq!(status, reqwest::StatusCode::BAD_REQUEST);
    assert!(bad.contains("check_in_to"));

    // Bad input names the field; another hotel is out of scope.
    for (from, to, field) in [
        ("", "2026-12-12", "check_in_from"),
        ("2026-12-12", "2026-12-10", "check_in_to"),
        ("2026-01-01", "2026-12-31", "check_in_to"),
    ] {
        let e = arrivals(&server, from, to, vec![], 0, String::new())
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
        assert!(e.message().contains(field), "{e:?}");
    }
    server.stop().await;
}
