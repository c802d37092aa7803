//! GuestService and ReconciliationService: a pass over undelivered messages raises
//! exactly the flags API.md's rule book says; CSMs work the queue; what they find
//! flows back through CheckRecipients.
use std::collections::HashMap;
use std::time::Duration;

use sentlog::proto::{
    self, Channel, ErrorCategory, FlagReason, FlagState, MessageStatus, RecipientVerdict,
};
use tonic::Code;

use crate::backend_tests;
use crate::common::*;
use crate::mews_mock::*;

backend_tests!(
    a_pass_raises_exactly_the_expected_flags,
    flag_workflow_allows_only_the_documented_moves,
    a_message_undelivered_again_after_resolution_is_checked_again,
    check_recipients_verdicts,
    guests_upsert_and_read_back,
    two_passes_at_once_do_not_both_run,
    a_failing_pms_is_counted_and_retried_next_pass,
);

type Messages = proto::message_service_client::MessageServiceClient<tonic::transport::Channel>;

struct Case {
    ext: &'static str,
    channel: Channel,
    address: &'static str,
    status: MessageStatus,
    provider: &'static str,
    error_code: &'static str,
    guest: Option<&'static str>,
    reservation: Option<&'static str>,
    expected: Option<FlagReason>,
}

fn cases() -> Vec<Case> {
    use Channel::*;
    use FlagReason as R;
    use MessageStatus::*;
    let c = |ext, channel, address, status, provider, error_code, guest, expected| Case {
        ext,
        channel,
        address,
        status,
        provider,
        error_code,
        guest,
        reservation: None,
        expected,
    };
    vec![
        c(
            "m-mismatch",
            Sms,
            "06 12 34 56 78",
            Undelivered,
            "twilio",
            "30003",
            Some("g-mismatch"),
            Some(R::PhoneMismatch),
        ),
        c(
            "m-invalid",
            Sms,
            "call the desk",
            Failed,
            "twilio",
            "",
            Some("g-invalid"),
            Some(R::PhoneInvalid),
        ),
        c(
            "m-provider-invalid",
            Sms,
            "06 22 22 22 22",
            Failed,
            "twilio",
            "21211",
            Some("g-absent-1"),
            Some(R::PhoneInvalid),
        ),
        c(
            "m-landline",
            Sms,
            "01 45 67 89 01",
            Undelivered,
            "twilio",
            "30006",
            Some("g-landline"),
            Some(R::PhoneNotMobile),
        ),
        c(
            "m-confirmed",
            Whatsapp,
            "06 33 33 33 33",
            Undelivered,
            "whatsapp_cloud",
            "131026",
            Some("g-confirmed"),
            // Soft evidence: one failure, no arrival date. It waits for a second.
            None,
        ),
        c(
            "m-pms-missing",
            Whatsapp,
            "06 44 44 44 44",
            Failed,
            "whatsapp_cloud",
            "999",
            Some("g-no-phone"),
            Some(R::PmsPhoneMissing),
        ),
        c(
            "m-not-in-pms",
            Sms,
            "06 55 55 55 55",
            Undelivered,
            "twilio",
            "30003",
            Some("g-absent-2"),
            Some(R::GuestNotInPms),
        ),
        Case {
            reservation: Some("r-8"),
            ..c(
                "m-by-reservation",
                Sms,
                "06 66 66 66 66",
                Undelivered,
                "twilio",
                "30003",
                None,
                Some(R::PhoneMismatch),
            )
        },
        c(
            "m-email-mismatch",
            Email,
            "anna@example.com",
            Undelivered,
            "sendgrid",
            "Mailbox Unavailable",
            Some("g-anna"),
            Some(R::EmailMismatch),
        ),
        c(
            "m-email-invalid",
            Email,
            "bob@example.com",
            Failed,
            "sendgrid",
            "Invalid Address",
            Some("g-bob"),
            Some(R::EmailInvalid),
        ),
        c(
            "m-opted-out",
            Sms,
            "06 77 77 77 77",
            Failed,
            "twilio",
            "21610",
            Some("g-opt"),
            None,
        ),
        c(
            "m-rate",
            Whatsapp,
            "06 88 88 88 88",
            Failed,
            "whatsapp_cloud",
            "131049",
            Some("g-rate"),
            None,
        ),
        c(
            "m-delivered",
            Sms,
            "06 99 99 99 99",
            Delivered,
            "twilio",
            "",
            Some("g-ok"),
            None,
        ),
        c(
            "m-email-ok",
            Email,
            "carl@example.com",
            Undelivered,
            "sendgrid",
            "Technical Failure",
            Some("g-carl"),
            None,
        ),
    ]
}

fn guests() -> Vec<proto::PmsGuest> {
    let g = |id: &str, phone: &str, email: &str, reservation: &str| proto::PmsGuest {
        hotel_id: "h".into(),
        pms_guest_id: id.into(),
        pms_reservation_id: reservation.into(),
        full_name: format!("Guest {id}"),
        phone: phone.into(),
        email: email.into(),
        ..Default::default()
    };
    vec![
        g("g-mismatch", "06 12 34 56 87", "", ""),
        g("g-invalid", "06 11 11 11 11", "", ""),
        g("g-landline", "+33 1 45 67 89 01", "", ""),
        g("g-confirmed", "0033 6 33 33 33 33", "", ""),
        g("g-no-phone", "", "x@example.com", ""),
        g("g-8", "06 66 66 66 67", "", "r-8"),
        g("g-anna", "", "anna.b@example.org", ""),
        g("g-bob", "", "bob@example.com", ""),
        g("g-opt", "06 77 77 77 77", "", ""),
        g("g-rate", "06 88 88 88 88", "", ""),
        g("g-ok", "06 99 99 99 99", "", ""),
        g("g-carl", "", "CARL@example.com", ""),
    ]
}

/// Records the cases and pushes their guests; returns message ids by external id.
async fn seed(server: &TestServer) -> HashMap<&'static str, String> {
    let mut messages = server.messages();
    let new: Vec<proto::NewMessage> = cases()
        .iter()
        .map(|c| {
            let mut m = new_message("h", c.ext, "");
            m.channel = c.channel as i32;
            if c.channel == Channel::Email {
                m.recipient_email = c.address.into();
            } else {
                m.recipient_phone = c.address.into();
            }
            m.status = c.status as i32;
            m.provider = c.provider.into();
            m.error_code = c.error_code.into();
            m.pms_guest_id = c.guest.unwrap_or("").into();
            m.pms_reservation_id = c.reservation.unwrap_or("").into();
            m.campaign_name = "Online check-in".into();
            m
        })
        .collect();
    let ids = record(&mut messages, new).await;
    let upserted = server
        .guests()
        .upsert_guests(proto::UpsertGuestsRequest { guests: guests() })
        .await
        .unwrap()
        .into_inner();
    assert!(upserted.errors.is_empty(), "{:?}", upserted.errors);
    cases().iter().map(|c| c.ext).zip(ids).collect()
}

async fn run(server: &TestServer) -> proto::ReconciliationRun {
    server
        .reconciliation()
        .run_reconciliation(proto::RunReconciliationRequest::default())
        .await
        .expect("RunReconciliation")
        .into_inner()
}

/// Every flag, three to a page (so that paging is exercised).
async fn all_flags(server: &TestServer, request: proto::ListFlagsRequest) -> Vec<proto::Flag> {
    list_all_flags(
        server,
        proto::ListFlagsRequest {
            page_size: 3,
            ..request
        },
    )
    .await
}

async fn a_pass_raises_exactly_the_expected_flags(db: TestDb) {
    let server = TestServer::start(db).await;
    let ids = seed(&server).await;
    let first = run(&server).await;
    assert_eq!(first.state, "succeeded");
    assert_eq!(first.trigger, "manual");
    assert_eq!(first.messages_checked, 13, "{first:?}");
    assert_eq!(first.flags_raised, 9);
    assert_eq!(first.messages_skipped, 2);
    assert_eq!(first.errors, 0);

    let flags = all_flags(&server, Default::default()).await;
    let by_message: HashMap<&str, &proto::Flag> =
        flags.iter().map(|f| (f.message_id.as_str(), f)).collect();
    for c in cases() {
        let got = by_message.get(ids[c.ext].as_str()).map(|f| f.reason);
        assert_eq!(got, c.expected.map(|r| r as i32), "{}", c.ext);
    }
    let mismatch = by_message[ids["m-mismatch"].as_str()];
    assert_eq!(mismatch.suggested_phone, "+33612345687");
    assert_eq!(mismatch.message_phone, "+33612345678");
    assert_eq!(mismatch.pms_phone, "+33612345687");
    assert_eq!(mismatch.guest_name, "Guest g-mismatch");
    assert_eq!(mismatch.campaign_name, "Online check-in");
    assert_eq!(mismatch.error_category, ErrorCategory::Unreachable as i32);
    assert_eq!(mismatch.state, FlagState::Open as i32);
    assert!(
        mismatch.detail.contains("+33612345687"),
        "{}",
        mismatch.detail
    );
    assert_eq!(
        by_message[ids["m-by-reservation"].as_str()].suggested_phone,
        "+33666666667"
    );
    assert_eq!(
        by_message[ids["m-email-mismatch"].as_str()].pms_email,
        "anna.b@example.org"
    );
    assert!(
        flags
            .iter()
            .all(|f| !f.detail.is_empty() && f.hotel_id == "h")
    );
    // One flag per stay: each flag here has one message behind it.
    assert!(
        flags
            .iter()
            .all(|f| f.attempts == 1 && f.message_ids == [f.message_id.clone()])
    );
    // Oldest first on request.
    let oldest = all_flags(
        &server,
        proto::ListFlagsRequest {
            order: proto::FlagOrder::Oldest as i32,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(oldest.len(), flags.len());
    assert!(oldest.windows(2).all(|w| (
        w[0].created_at.unwrap().seconds,
        w[0].created_at.unwrap().nanos,
        &w[0].id
    ) <= (
        w[1].created_at.unwrap().seconds,
        w[1].created_at.unwrap().nanos,
        &w[1].id
    )));

    // A second pass finds nothing new.
    let second = run(&server).await;
    assert_eq!((second.messages_checked, second.flags_raised), (0, 0));
    assert_eq!(all_flags(&server, Default::default()).await.len(), 9);

    // Filters of the queue.
    let invalid = all_flags(
        &server,
        proto::ListFlagsRequest {
            reasons: vec![FlagReason::PhoneInvalid as i32],
            ..Default::default()
        },
    )
    .await;
    assert_eq!(invalid.len(), 2);
    let none = all_flags(
        &server,
        proto::ListFlagsRequest {
            campaign_name: "upsell".into(),
            ..Default::default()
        },
    )
    .await;
    assert!(none.is_empty());
    let some = all_flags(
        &server,
        proto::ListFlagsRequest {
            campaign_name: "CHECK-IN".into(),
            states: vec![FlagState::Open as i32],
            ..Default::default()
        },
    )
    .await;
    assert_eq!(some.len(), 9);

    // Runs, newest first.
    let runs = server
        .reconciliation()
        .list_runs(proto::ListRunsRequest {
            page_size: 1,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(runs.runs[0].id, second.id);
    assert!(!runs.next_page_token.is_empty());
    let older = server
        .reconciliation()
        .list_runs(proto::ListRunsRequest {
            page_size: 1,
            page_token: runs.next_page_token,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(older.runs[0].id, first.id);
    assert!(older.next_page_token.is_empty());
    server.stop().await;
}

async fn update(
    server: &TestServer,
    id: &str,
    state: FlagState,
    corrected_phone: &str,
) -> Result<proto::Flag, tonic::Status> {
    server
        .reconciliation()
        .update_flag(proto::UpdateFlagRequest {
            id: id.into(),
            state: state as i32,
            note: format!("moved to {state:?}"),
            resolution: String::new(),
            corrected_phone: corrected_phone.into(),
        })
        .await
        .map(|r| r.into_inner())
}

async fn flag_workflow_allows_only_the_documented_moves(db: TestDb) {
    let server = TestServer::start(db).await;
    let ids = seed(&server).await;
    run(&server).await;
    let flags = all_flags(&server, Default::default()).await;
    let flag = flags
        .iter()
        .find(|f| f.message_id == ids["m-mismatch"])
        .unwrap()
        .clone();

    let err = update(&server, &flag.id, FlagState::Resolved, "")
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Code::FailedPrecondition,
        "OPEN -> RESOLVED skips ACKNOWLEDGED"
    );
    let err = update(&server, &flag.id, FlagState::Acknowledged, "+33612345687")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().starts_with("corrected_phone"));
    let acked = update(&server, &flag.id, FlagState::Acknowledged, "")
        .await
        .unwrap();
    assert_eq!(acked.state, FlagState::Acknowledged as i32);
    assert_eq!(acked.note, "moved to Acknowledged");
    // Acknowledging again is harmless (a retried call).
    update(&server, &flag.id, FlagState::Acknowledged, "")
        .await
        .unwrap();
    let err = update(&server, &flag.id, FlagState::Open, "")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    let err = update(&server, &flag.id, FlagState::Resolved, "not a number")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().starts_with("corrected_phone"));
    let resolved = update(&server, &flag.id, FlagState::Resolved, "06 12 34 56 87")
        .await
        .unwrap();
    assert_eq!(resolved.state, FlagState::Resolved as i32);
    assert_eq!(resolved.corrected_phone, "+33612345687");
    assert_eq!(resolved.resolved_by, "anonymous");
    for state in [
        FlagState::Dismissed,
        FlagState::Acknowledged,
        FlagState::Resolved,
    ] {
        let err = update(&server, &flag.id, state, "").await.unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition, "{state:?}");
    }
    let got = server
        .reconciliation()
        .get_flag(proto::GetFlagRequest {
            id: flag.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got, resolved);

    // Dismissing another one.
    let other = flags
        .iter()
        .find(|f| f.message_id == ids["m-landline"])
        .unwrap();
    update(&server, &other.id, FlagState::Acknowledged, "")
        .await
        .unwrap();
    let dismissed = update(&server, &other.id, FlagState::Dismissed, "")
        .await
        .unwrap();
    assert_eq!(dismissed.resolved_by, "anonymous");

    let mut client = server.reconciliation();
    let err = client
        .get_flag(proto::GetFlagRequest { id: "nope".into() })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = client
        .update_flag(proto::UpdateFlagRequest {
            id: flag.id.clone(),
            state: 9,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().starts_with("state"));
    let err = client
        .update_flag(proto::UpdateFlagRequest {
            id: "nope".into(),
            state: FlagState::Acknowledged as i32,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = client
        .list_flags(proto::ListFlagsRequest {
            states: vec![0],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().starts_with("states[0]"));

    // The open queue shrank by the two closed flags.
    let open = all_flags(
        &server,
        proto::ListFlagsRequest {
            states: vec![FlagState::Open as i32, FlagState::Acknowledged as i32],
            ..Default::default()
        },
    )
    .await;
    assert_eq!(open.len(), 7);
    server.stop().await;
}

/// A message a CSM dealt with is looked at again when it changes, but raises nothing
/// again; a new failing message of the same stay raises a new flag, of its own.
async fn a_message_undelivered_again_after_resolution_is_checked_again(db: TestDb) {
    let server = TestServer::start(db).await;
    let ids = seed(&server).await;
    run(&server).await;
    let flags = all_flags(&server, Default::default()).await;
    let flag = flags
        .iter()
        .find(|f| f.message_id == ids["m-mismatch"])
        .unwrap();
    update(&server, &flag.id, FlagState::Acknowledged, "")
        .await
        .unwrap();
    update(&server, &flag.id, FlagState::Resolved, "")
        .await
        .unwrap();
    // The provider reports an earlier failure: the message changes, it is a candidate again.
    let mut messages: Messages = server.messages();
    let r = messages
        .update_statuses(proto::UpdateStatusesRequest {
            events: vec![proto::StatusEvent {
                message_id: ids["m-mismatch"].clone(),
                status: MessageStatus::Failed as i32,
                occurred_at: Some(prost_types::Timestamp {
                    seconds: 1_780_000_000,
                    nanos: 0,
                }),
                error_code: "30003".into(),
                ..Default::default()
            }],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.results[0].outcome, proto::EventOutcome::Applied as i32);
    let again = run(&server).await;
    assert_eq!(
        (again.messages_checked, again.flags_raised),
        (1, 0),
        "{again:?}"
    );
    // The hub sends the guest (same PMS guest, so the same stay) another SMS; it fails.
    let mut m = new_message("h", "m-mismatch-2", "06 12 34 56 78");
    m.status = MessageStatus::Undelivered as i32;
    m.provider = "twilio".into();
    m.error_code = "30003".into();
    m.pms_guest_id = "g-mismatch".into();
    let new_id = record(&mut messages, vec![m]).await.remove(0);
    let third = run(&server).await;
    assert_eq!(
        (third.messages_checked, third.flags_raised),
        (1, 1),
        "{third:?}"
    );
    let stay: Vec<_> = all_flags(&server, Default::default())
        .await
        .into_iter()
        .filter(|f| f.stay_key == "g-mismatch")
        .collect();
    assert_eq!(stay.len(), 2);
    let open: Vec<_> = stay
        .iter()
        .filter(|f| f.state == FlagState::Open as i32)
        .collect();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].message_ids, vec![new_id], "only the new failure");
    // And once more: nothing new, the open flag stands.
    assert_eq!(run(&server).await.flags_raised, 0);
    server.stop().await;
}

async fn check_recipients_verdicts(db: TestDb) {
    let server = TestServer::start(db).await;
    let ids = seed(&server).await;
    run(&server).await;
    let flags = all_flags(&server, Default::default()).await;
    let flag = flags
        .iter()
        .find(|f| f.message_id == ids["m-mismatch"])
        .unwrap();
    update(&server, &flag.id, FlagState::Acknowledged, "")
        .await
        .unwrap();
    update(&server, &flag.id, FlagState::Resolved, "+33 6 12 34 56 87")
        .await
        .unwrap();

    let mut client = server.reconciliation();
    let answer = client
        .check_recipients(proto::CheckRecipientsRequest {
            hotel_id: "h".into(),
            phones: vec![
                "06 99 99 99 99".into(),
                "+33 6 55 55 55 55".into(),
                "0622222222".into(),
                "0677777777".into(),
                "06 01 02 03 04".into(),
                "not a phone".into(),
                "06 12 34 56 78".into(),
            ],
            emails: vec![
                "BOB@example.com".into(),
                "nobody@example.com".into(),
                "bad-email".into(),
            ],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .recipients;
    use RecipientVerdict as V;
    let verdicts: Vec<(String, i32)> = answer
        .iter()
        .map(|r| (r.input.clone(), r.verdict))
        .collect();
    let expected = [
        ("06 99 99 99 99", V::Ok),
        ("+33 6 55 55 55 55", V::Suspect),
        ("0622222222", V::DoNotSend),
        ("0677777777", V::DoNotSend),
        ("06 01 02 03 04", V::Ok),
        ("not a phone", V::UnknownFormat),
        ("06 12 34 56 78", V::DoNotSend),
        ("BOB@example.com", V::DoNotSend),
        ("nobody@example.com", V::Ok),
        ("bad-email", V::UnknownFormat),
    ];
    for ((input, got), (want_input, want)) in verdicts.iter().zip(expected) {
        assert_eq!(input, want_input);
        assert_eq!(*got, want as i32, "{input}");
    }
    assert!(answer[0].last_delivered_at.is_some());
    assert_eq!(answer[0].normalized, "+33699999999");
    assert_eq!(answer[1].failures_since_delivered, 1);
    assert_eq!(
        answer[1].last_error_category,
        ErrorCategory::Unreachable as i32
    );
    assert!(!answer[1].open_flag_id.is_empty());
    assert_eq!(
        answer[2].last_error_category,
        ErrorCategory::InvalidNumber as i32
    );
    assert_eq!(answer[6].corrected, "+33612345687");
    assert_eq!(answer[7].normalized, "bob@example.com");
    assert!(!answer[5].valid);

    let err = client
        .check_recipients(proto::CheckRecipientsRequest {
            hotel_id: "h".into(),
            phones: (0..1001)
                .map(|i| format!("06 00 00 {:02} {:02}", i / 100, i % 100))
                .collect(),
            emails: vec![],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted);
    let err = client
        .check_recipients(proto::CheckRecipientsRequest {
            hotel_id: " ".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().starts_with("hotel_id"));
    server.stop().await;
}

async fn guests_upsert_and_read_back(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut client = server.guests();
    let g = |id: &str, phone: &str| proto::PmsGuest {
        hotel_id: "h".into(),
        pms_guest_id: id.into(),
        pms_reservation_id: "r1".into(),
        full_name: "Camille Martin".into(),
        phone: phone.into(),
        email: "camille@example.com".into(),
        check_in_date: "2026-12-01".into(),
        check_out_date: "2026-12-03".into(),
        ..Default::default()
    };
    let answer = client
        .upsert_guests(proto::UpsertGuestsRequest {
            guests: vec![
                g("g1", "00 33 6 12 34 56 78"),
                proto::PmsGuest {
                    pms_guest_id: "".into(),
                    ..g("x", "")
                },
                proto::PmsGuest {
                    check_in_date: "01/12/2026".into(),
                    ..g("y", "")
                },
                proto::PmsGuest {
                    hotel_id: "".into(),
                    ..g("z", "")
                },
            ],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.upserted, 1);
    let fields: Vec<&str> = answer
        .errors
        .iter()
        .map(|e| e.error.split(':').next().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "guests[1].pms_guest_id",
            "guests[2].check_in_date",
            "guests[3].hotel_id"
        ]
    );
    let got = client
        .get_guest(proto::GetGuestRequest {
            hotel_id: "h".into(),
            pms_guest_id: "g1".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.phone, "00 33 6 12 34 56 78", "kept as the PMS holds it");
    assert_eq!(got.check_out_date, "2026-12-03");
    assert!(got.updated_at.is_some());
    // Upsert replaces.
    client
        .upsert_guests(proto::UpsertGuestsRequest {
            guests: vec![g("g1", "+33 6 00 00 00 01")],
        })
        .await
        .unwrap();
    let got = client
        .get_guest(proto::GetGuestRequest {
            hotel_id: "h".into(),
            pms_guest_id: "g1".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.phone, "+33 6 00 00 00 01");
    let err = client
        .get_guest(proto::GetGuestRequest {
            hotel_id: "other".into(),
            pms_guest_id: "g1".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = client
        .get_guest(proto::GetGuestRequest {
            hotel_id: "h".into(),
            pms_guest_id: "".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let err = client
        .upsert_guests(proto::UpsertGuestsRequest {
            guests: (0..1001).map(|i| g(&format!("g{i}"), "")).collect(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted);
    server.stop().await;
}

/// A slow PMS keeps the first pass busy; a second pass started meanwhile (on another
/// instance with PostgreSQL, on the same one with SQLite) must not run.
async fn two_passes_at_once_do_not_both_run(db: TestDb) {
    let mut state = MockState {
        delay: Duration::from_millis(1500),
        ..Default::default()
    };
    state.customers.insert(
        "c1".into(),
        customer("c1", "Slow", "Guest", Some("+33612345678"), None),
    );
    let mock = MockMews::start(state).await;
    let settings = mock.settings();
    let tune = move |s: &mut sentlog::config::Settings| {
        s.pms.insert(
            "slow".into(),
            sentlog::config::PmsSettings::Mews(settings.clone()),
        );
    };
    let a = TestServer::start_with(db, tune.clone()).await;
    let b = if a.is_postgres() {
        Some(a.another_instance(tune).await)
    } else {
        None
    };
    let mut m = new_message("slow", "m1", "+33612345679");
    m.status = MessageStatus::Undelivered as i32;
    m.pms_guest_id = "c1".into();
    record(&mut a.messages(), vec![m]).await;

    let mut first = a.reconciliation();
    let mut second = b.as_ref().unwrap_or(&a).reconciliation();
    let one = tokio::spawn(async move {
        first
            .run_reconciliation(proto::RunReconciliationRequest::default())
            .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let two = second
        .run_reconciliation(proto::RunReconciliationRequest::default())
        .await;
    let one = one.await.unwrap();
    let run = one.expect("the first pass runs").into_inner();
    assert_eq!(run.flags_raised, 1, "{run:?}");
    let err = two.expect_err("the second pass must not run");
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(err.message().contains("already running"));
    if let Some(b) = b {
        b.stop().await;
    }
    a.stop().await;
}

async fn a_failing_pms_is_counted_and_retried_next_pass(db: TestDb) {
    let mut state = MockState::default();
    state.customers.insert(
        "c1".into(),
        customer("c1", "Ana", "Costa", Some("+351912345679"), None),
    );
    for _ in 0..5 {
        state.failures.push_back((503, None));
    }
    let mock = MockMews::start(state).await;
    let settings = mock.settings();
    let server = TestServer::start_with(db, move |s| {
        s.pms.insert(
            "lisbon".into(),
            sentlog::config::PmsSettings::Mews(settings),
        );
    })
    .await;
    let ids = seed(&server).await;
    let mut m = new_message("lisbon", "l1", "+351912345678");
    m.status = MessageStatus::Undelivered as i32;
    m.pms_guest_id = "c1".into();
    record(&mut server.messages(), vec![m]).await;
    let first = run(&server).await;
    assert_eq!(first.errors, 1, "{first:?}");
    assert!(first.error_details[0].contains("lisbon"));
    assert!(!first.error_details[0].contains("SECRET"));
    assert_eq!(first.flags_raised, 9, "the other hotel is not held up");
    let second = run(&server).await;
    assert_eq!(
        (second.errors, second.messages_checked, second.flags_raised),
        (0, 1, 1),
        "{second:?}"
    );
    let lisbon = all_flags(
        &server,
        proto::ListFlagsRequest {
            hotel_ids: vec!["lisbon".into()],
            ..Default::default()
        },
    )
    .await;
    assert_eq!(lisbon[0].reason, FlagReason::PhoneMismatch as i32);
    assert_eq!(lisbon[0].suggested_phone, "+351912345679");
    let _ = ids;
    server.stop().await;
}
