//! Access control: tokens, roles and hotel scoping, for every RPC.
use sentlog::config::{Settings, TokenSettings};
use sentlog::domain::access::{hex, token_hash};
use sentlog::proto::{self, Channel, MessageStatus};
use tonic::transport::Channel as Transport;
use tonic::{Code, Request};

use crate::backend_tests;
use crate::common::*;

backend_tests!(
    every_rpc_checks_token_and_role,
    hotels_are_scoped_inside_every_query,
    list_runs_shows_each_caller_its_own_hotels,
);

const TOKENS: &[(&str, &str, &str)] = &[
    // (token, role, hotels)
    ("tok-ingest-h1", "ingest", "h1"),
    ("tok-agent-h1", "agent", "h1"),
    ("tok-csm-h1", "csm", "h1"),
    ("tok-admin", "admin", "*"),
];

fn with_tokens(s: &mut Settings) {
    s.tokens = token_settings(TOKENS);
}

fn authed<T>(message: T, token: Option<&str>) -> Request<T> {
    let mut r = Request::new(message);
    if let Some(t) = token {
        r.metadata_mut()
            .insert("authorization", format!("Bearer {t}").parse().unwrap());
    }
    r
}

/// Calls `rpc` with an empty request; the code it ends with (Ok for success).
async fn call(channel: &Transport, token: Option<&str>, rpc: &str) -> Code {
    use proto::guest_service_client::GuestServiceClient as G;
    use proto::message_service_client::MessageServiceClient as M;
    use proto::reconciliation_service_client::ReconciliationServiceClient as R;
    let (mut m, mut g, mut r) = (
        M::new(channel.clone()),
        G::new(channel.clone()),
        R::new(channel.clone()),
    );
    fn code<T>(x: Result<T, tonic::Status>) -> Code {
        x.map(|_| Code::Ok).unwrap_or_else(|s| s.code())
    }
    match rpc {
        "RecordMessages" => code(m.record_messages(authed(Default::default(), token)).await),
        "UpdateStatuses" => code(m.update_statuses(authed(Default::default(), token)).await),
        "GetMessage" => code(
            m.get_message(authed(proto::GetMessageRequest { id: "x".into() }, token))
                .await,
        ),
        "ListMessages" => code(m.list_messages(authed(Default::default(), token)).await),
        "CountMessages" => code(m.count_messages(authed(Default::default(), token)).await),
        "GetMessageHistory" => code(
            m.get_message_history(authed(
                proto::GetMessageHistoryRequest {
                    message_id: "x".into(),
                },
                token,
            ))
            .await,
        ),
        "ExportMessages" => code(m.export_messages(authed(Default::default(), token)).await),
        "WatchMessages" => code(m.watch_messages(authed(Default::default(), token)).await),
        "GetCampaignStats" => code(
            m.get_campaign_stats(authed(
                proto::GetCampaignStatsRequest {
                    hotel_id: "h1".into(),
                    campaign_id: "c".into(),
                    ..Default::default()
                },
                token,
            ))
            .await,
        ),
        "UpsertGuests" => code(g.upsert_guests(authed(Default::default(), token)).await),
        "GetGuest" => code(
            g.get_guest(authed(
                proto::GetGuestRequest {
                    hotel_id: "h1".into(),
                    pms_guest_id: "g".into(),
                },
                token,
            ))
            .await,
        ),
        "EraseGuestData" => code(g.erase_guest_data(authed(Default::default(), token)).await),
        "RunReconciliation" => code(
            r.run_reconciliation(authed(Default::default(), token))
                .await,
        ),
        "ListRuns" => code(r.list_runs(authed(Default::default(), token)).await),
        "ListFlags" => code(r.list_flags(authed(Default::default(), token)).await),
        "GetFlag" => code(
            r.get_flag(authed(proto::GetFlagRequest { id: "x".into() }, token))
                .await,
        ),
        "UpdateFlag" => code(
            r.update_flag(authed(
                proto::UpdateFlagRequest {
                    id: "x".into(),
                    ..Default::default()
                },
                token,
            ))
            .await,
        ),
        "CheckRecipients" => code(
            r.check_recipients(authed(
                proto::CheckRecipientsRequest {
                    hotel_id: "h1".into(),
                    ..Default::default()
                },
                token,
            ))
            .await,
        ),
        "ListArrivals" => code(
            r.list_arrivals(authed(
                proto::ListArrivalsRequest {
                    hotel_id: "h1".into(),
                    check_in_from: "2026-12-01".into(),
                    check_in_to: "2026-12-03".into(),
                    ..Default::default()
                },
                token,
            ))
            .await,
        ),
        "ListSuppressions" => code(r.list_suppressions(authed(Default::default(), token)).await),
        "AddSuppression" => code(
            r.add_suppression(authed(
                proto::AddSuppressionRequest {
                    hotel_id: "h1".into(),
                    address: "+33612345678".into(),
                    ..Default::default()
                },
                token,
            ))
            .await,
        ),
        "RemoveSuppression" => code(
            r.remove_suppression(authed(
                proto::RemoveSuppressionRequest {
                    id: "x".into(),
                    note: "opted in again".into(),
                },
                token,
            ))
            .await,
        ),
        other => panic!("no call for {other}"),
    }
}

async fn every_rpc_checks_token_and_role(db: TestDb) {
    let server = TestServer::start_with(db, with_tokens).await;
    // The roles each RPC accepts (admin always does).
    let table: &[(&str, &[&str])] = &[
        ("RecordMessages", &["ingest"]),
        ("UpdateStatuses", &["ingest"]),
        ("GetMessage", &["agent", "csm"]),
        ("ListMessages", &["agent", "csm"]),
        ("CountMessages", &["agent", "csm"]),
        ("GetMessageHistory", &["agent", "csm"]),
        ("ExportMessages", &["agent", "csm"]),
        ("WatchMessages", &["agent", "csm"]),
        ("GetCampaignStats", &["agent", "csm"]),
        ("UpsertGuests", &["ingest"]),
        ("GetGuest", &["agent", "csm"]),
        ("EraseGuestData", &[]),
        ("RunReconciliation", &["csm"]),
        ("ListRuns", &["csm"]),
        ("ListFlags", &["csm"]),
        ("GetFlag", &["csm"]),
        ("UpdateFlag", &["csm"]),
        ("CheckRecipients", &["ingest", "csm"]),
        ("ListArrivals", &["agent", "csm"]),
        ("ListSuppressions", &["agent", "csm"]),
        ("AddSuppression", &["csm"]),
        ("RemoveSuppression", &["csm"]),
    ];
    assert_eq!(table.len(), sentlog::grpc::auth::RPC_ACTIONS.len());
    for (rpc, allowed) in table {
        assert_eq!(
            call(&server.channel, None, rpc).await,
            Code::Unauthenticated,
            "{rpc} without token"
        );
        assert_eq!(
            call(&server.channel, Some("tok-forged"), rpc).await,
            Code::Unauthenticated,
            "{rpc} bad token"
        );
        for (token, role, _) in TOKENS {
            let got = call(&server.channel, Some(token), rpc).await;
            if *role == "admin" || allowed.contains(role) {
                assert!(
                    !matches!(got, Code::Unauthenticated | Code::PermissionDenied),
                    "{rpc} as {role}: {got:?}"
                );
            } else {
                assert_eq!(got, Code::PermissionDenied, "{rpc} as {role}");
            }
        }
    }
    // Health and reflection need no token.
    let mut health = tonic_health::pb::health_client::HealthClient::new(server.channel.clone());
    health
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("health is open");
    server.stop().await;
}

async fn hotels_are_scoped_inside_every_query(db: TestDb) {
    let server = TestServer::start_with(db, with_tokens).await;
    let admin = Some("tok-admin");
    let mut m = server.messages();
    // One undelivered message in each hotel, with its guest, and a pass to flag them.
    let mut ids = Vec::new();
    for hotel in ["h1", "h2"] {
        let mut msg = new_message(hotel, "e1", "+33612345678");
        msg.status = MessageStatus::Undelivered as i32;
        msg.campaign_id = "camp".into();
        msg.pms_guest_id = "g1".into();
        let r = m
            .record_messages(authed(
                proto::RecordMessagesRequest {
                    messages: vec![msg],
                },
                Some("tok-ingest-h1"),
            ))
            .await
            .unwrap()
            .into_inner()
            .results;
        if hotel == "h2" {
            assert!(
                r[0].error.contains("hotel_id"),
                "ingest-h1 cannot record for h2: {r:?}"
            );
            let r = m
                .record_messages(authed(
                    proto::RecordMessagesRequest {
                        messages: vec![new_message_undelivered(hotel)],
                    },
                    admin,
                ))
                .await
                .unwrap()
                .into_inner()
                .results;
            ids.push(r[0].message_id.clone());
        } else {
            ids.push(r[0].message_id.clone());
        }
    }
    let mut r = server.reconciliation();
    r.run_reconciliation(authed(Default::default(), admin))
        .await
        .unwrap();
    let flags = r
        .list_flags(authed(Default::default(), admin))
        .await
        .unwrap()
        .into_inner()
        .flags;
    assert_eq!(flags.len(), 2);
    let h2_flag = flags
        .iter()
        .find(|f| f.hotel_id == "h2")
        .unwrap()
        .id
        .clone();

    let agent = Some("tok-agent-h1");
    let csm = Some("tok-csm-h1");
    // Another hotel's object reads exactly as one that does not exist.
    let err = m
        .get_message(authed(
            proto::GetMessageRequest { id: ids[1].clone() },
            agent,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let missing = m
        .get_message(authed(
            proto::GetMessageRequest { id: "nope".into() },
            agent,
        ))
        .await
        .unwrap_err();
    assert_eq!(
        err.message().replace(&ids[1], "ID"),
        missing.message().replace("nope", "ID")
    );
    let err = m
        .get_message_history(authed(
            proto::GetMessageHistoryRequest {
                message_id: ids[1].clone(),
            },
            agent,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = r
        .get_flag(authed(
            proto::GetFlagRequest {
                id: h2_flag.clone(),
            },
            csm,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = r
        .update_flag(authed(
            proto::UpdateFlagRequest {
                id: h2_flag.clone(),
                state: proto::FlagState::Acknowledged as i32,
                ..Default::default()
            },
            csm,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let upd = m
        .update_statuses(authed(
            proto::UpdateStatusesRequest {
                events: vec![proto::StatusEvent {
                    message_id: ids[1].clone(),
                    status: MessageStatus::Delivered as i32,
                    occurred_at: Some(prost_types::Timestamp {
                        seconds: 1_790_000_000,
                        nanos: 0,
                    }),
                    ..Default::default()
                }],
            },
            Some("tok-ingest-h1"),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(upd.results[0].outcome, proto::EventOutcome::Rejected as i32);
    assert!(upd.results[0].error.contains("no message"));
    let err = server
        .guests()
        .get_guest(authed(
            proto::GetGuestRequest {
                hotel_id: "h2".into(),
                pms_guest_id: "g1".into(),
            },
            agent,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);

    // Naming another hotel in a filter is PERMISSION_DENIED.
    let h2 = || vec!["h2".to_string()];
    let filter = proto::MessageFilter {
        hotel_ids: h2(),
        ..Default::default()
    };
    let err = m
        .list_messages(authed(
            proto::ListMessagesRequest {
                filter: Some(filter.clone()),
                ..Default::default()
            },
            agent,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert!(err.message().contains("h2"));
    let err = m
        .count_messages(authed(
            proto::CountMessagesRequest {
                filter: Some(filter),
            },
            agent,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = m
        .get_campaign_stats(authed(
            proto::GetCampaignStatsRequest {
                hotel_id: "h2".into(),
                campaign_id: "camp".into(),
                ..Default::default()
            },
            agent,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = r
        .list_flags(authed(
            proto::ListFlagsRequest {
                hotel_ids: h2(),
                ..Default::default()
            },
            csm,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = r
        .run_reconciliation(authed(
            proto::RunReconciliationRequest { hotel_ids: h2() },
            csm,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = r
        .check_recipients(authed(
            proto::CheckRecipientsRequest {
                hotel_id: "h2".into(),
                phones: vec!["0612345678".into()],
                ..Default::default()
            },
            csm,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);

    // An empty hotel list means the caller's own hotels.
    let mine = m
        .list_messages(authed(Default::default(), agent))
        .await
        .unwrap()
        .into_inner()
        .messages;
    assert_eq!(
        mine.iter().map(|x| x.hotel_id.as_str()).collect::<Vec<_>>(),
        vec!["h1"]
    );
    let count = m
        .count_messages(authed(Default::default(), agent))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(count.total, 1);
    let my_flags = r
        .list_flags(authed(Default::default(), csm))
        .await
        .unwrap()
        .into_inner()
        .flags;
    assert_eq!(my_flags.len(), 1);
    assert_eq!(my_flags[0].hotel_id, "h1");
    // A token minted for other filters' pages does not open them.
    let admin_page = m
        .list_messages(authed(
            proto::ListMessagesRequest {
                page_size: 1,
                ..Default::default()
            },
            admin,
        ))
        .await
        .unwrap()
        .into_inner();
    let err = m
        .list_messages(authed(
            proto::ListMessagesRequest {
                page_size: 1,
                page_token: admin_page.next_page_token,
                ..Default::default()
            },
            agent,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let _ = Channel::Sms;
    server.stop().await;
}

fn new_message_undelivered(hotel: &str) -> proto::NewMessage {
    let mut msg = new_message(hotel, "e1", "+33612345678");
    msg.status = MessageStatus::Undelivered as i32;
    msg.campaign_id = "camp".into();
    msg.pms_guest_id = "g1".into();
    msg
}

/// The attack run's ListRuns leak: a run's counts per hotel are visible only for the
/// caller's hotels, and a run that touched none of them is not listed.
async fn list_runs_shows_each_caller_its_own_hotels(db: TestDb) {
    let server = TestServer::start_with(db, |s| {
        with_tokens(s);
        for (token, role, hotel) in [("tok-csm-h2", "csm", "h2"), ("tok-admin-h2", "admin", "h2")] {
            s.tokens.push(TokenSettings {
                name: format!("{role}-{hotel}"),
                role: role.into(),
                hotels: vec![hotel.into()],
                sha256: hex(&token_hash(token)),
            });
        }
    })
    .await;
    let admin = Some("tok-admin");
    let mut undelivered = Vec::new();
    for (hotel, n) in [("h1", 2), ("h2", 1)] {
        for i in 0..n {
            let mut m = new_message(hotel, &format!("{hotel}-{i}"), "+33612345678");
            m.status = MessageStatus::Undelivered as i32;
            undelivered.push(m);
        }
    }
    server
        .messages()
        .record_messages(authed(
            proto::RecordMessagesRequest {
                messages: undelivered,
            },
            admin,
        ))
        .await
        .unwrap();
    let mut r = server.reconciliation();
    let everywhere = r
        .run_reconciliation(authed(Default::default(), admin))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(everywhere.messages_checked, 3);
    let h2_only = r
        .run_reconciliation(authed(
            proto::RunReconciliationRequest {
                hotel_ids: vec!["h2".into()],
            },
            Some("tok-csm-h2"),
        ))
        .await
        .unwrap()
        .into_inner();
    let runs_of = |token: &'static str| {
        let mut r = server.reconciliation();
        async move {
            r.list_runs(authed(Default::default(), Some(token)))
                .await
                .unwrap()
                .into_inner()
                .runs
        }
    };
    // A csm of h1: the pass over every hotel, with h1's counts only.
    let seen = runs_of("tok-csm-h1").await;
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].id, everywhere.id);
    assert_eq!(seen[0].messages_checked, 2);
    assert_eq!(seen[0].hotel_ids, vec!["h1".to_string()]);
    assert!(!format!("{seen:?}").contains("h2"), "{seen:?}");
    // An admin scoped to h2: both passes, h2's counts only.
    let seen = runs_of("tok-admin-h2").await;
    assert_eq!(
        seen.iter().map(|r| r.id.clone()).collect::<Vec<_>>(),
        vec![h2_only.id.clone(), everywhere.id.clone()]
    );
    // The first pass checked h2's message; the second found nothing left to check.
    assert_eq!(
        seen.iter().map(|r| r.messages_checked).collect::<Vec<_>>(),
        vec![0, 1]
    );
    assert_eq!(seen[0].hotel_ids, vec!["h2".to_string()]);
    assert!(!format!("{seen:?}").contains("h1"), "{seen:?}");
    // A caller of every hotel sees the passes whole.
    let seen = runs_of("tok-admin").await;
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].messages_checked, 3);
    assert_eq!(seen[1].flags_raised, everywhere.flags_raised);
    // Page tokens are bound to the caller's hotels too.
    let page = r
        .list_runs(authed(
            proto::ListRunsRequest {
                page_size: 1,
                page_token: String::new(),
            },
            Some("tok-admin-h2"),
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(!page.next_page_token.is_empty());
    let foreign = r
        .list_runs(authed(
            proto::ListRunsRequest {
                page_size: 1,
                page_token: page.next_page_token,
            },
            Some("tok-csm-h1"),
        ))
        .await
        .unwrap_err();
    assert_eq!(foreign.code(), Code::InvalidArgument);
    server.stop().await;
}
