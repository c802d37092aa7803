//! Consent and suppressions (API.md, "Consent, message categories and suppressions"):
//! what a recipient taught sentlog outlives the messages that taught it, a marketing
//! opt-out blocks marketing only, invalid addresses come back when a later message is
//! delivered, and people add and lift suppressions with a trace.
use sentlog::proto::{
    self, Channel, FlagState, MessageCategory, MessageStatus, RecipientVerdict, SuppressionReason,
    SuppressionScope,
};
use tonic::{Code, Request};

use crate::backend_tests;
use crate::common::*;

backend_tests!(
    a_marketing_opt_out_blocks_marketing_only,
    an_opt_out_outlives_retention_and_erasure,
    an_invalid_number_is_ok_again_after_a_delivery,
    suppressions_are_added_and_lifted_with_a_trace,
    a_corrected_flag_suppresses_the_old_number,
    failures_not_about_the_number_raise_nothing,
    suppressions_of_another_hotel_are_not_found,
    the_stored_history_is_backfilled_once,
    another_secret_is_refused_while_suppressions_exist,
    a_flag_the_new_categories_would_not_raise_is_dismissed,
);

async fn check(
    server: &TestServer,
    hotel: &str,
    phone: &str,
    category: MessageCategory,
) -> proto::RecipientCheck {
    server
        .reconciliation()
        .check_recipients(proto::CheckRecipientsRequest {
            hotel_id: hotel.into(),
            phones: vec![phone.into()],
            category: category as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .recipients
        .remove(0)
}

async fn list(
    server: &TestServer,
    request: proto::ListSuppressionsRequest,
) -> Vec<proto::Suppression> {
    server
        .reconciliation()
        .list_suppressions(request)
        .await
        .unwrap()
        .into_inner()
        .suppressions
}

/// A message recorded as already failed with `code` from `provider`.
fn failed(
    hotel: &str,
    ext: &str,
    phone: &str,
    channel: Channel,
    provider: &str,
    code: &str,
) -> proto::NewMessage {
    proto::NewMessage {
        channel: channel as i32,
        provider: provider.into(),
        status: MessageStatus::Failed as i32,
        error_code: code.into(),
        ..new_message(hotel, ext, phone)
    }
}

async fn a_marketing_opt_out_blocks_marketing_only(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut m = server.messages();
    // An upsell on WhatsApp fails: the guest stopped marketing messages (131050).
    let upsell = proto::NewMessage {
        campaign_name: "Spa upsell".into(),
        ..failed(
            "h1",
            "up-1",
            "+33612345678",
            Channel::Whatsapp,
            "whatsapp_cloud",
            "131050",
        )
    };
    let ids = record(&mut m, vec![upsell]).await;
    let marketing = check(&server, "h1", "06 12 34 56 78", MessageCategory::Marketing).await;
    assert_eq!(marketing.verdict, RecipientVerdict::DoNotSend as i32);
    assert_eq!(
        marketing.suppression_reason,
        SuppressionReason::MarketingOptOut as i32
    );
    assert!(!marketing.suppression_id.is_empty());
    let utility = check(&server, "h1", "06 12 34 56 78", MessageCategory::Utility).await;
    assert_eq!(
        utility.verdict,
        RecipientVerdict::Ok as i32,
        "the check-in link still goes out: {utility:?}"
    );
    assert_eq!(utility.suppression_id, "");
    let s = list(&server, Default::default()).await;
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].scope, SuppressionScope::Marketing as i32);
    assert_eq!(s[0].source_message_id, ids[0]);
    assert_eq!(s[0].address, "+33612345678");
    assert_eq!(s[0].created_by, "sentlog");
    server.stop().await;
}

async fn an_opt_out_outlives_retention_and_erasure(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut m = server.messages();
    // The guest replied STOP: Twilio reports 21610 on the next SMS, as a status event.
    let mut sms = new_message("h1", "stop-1", "06 98 76 54 31");
    sms.channel = Channel::Sms as i32;
    sms.provider = "twilio".into();
    sms.provider_message_id = "SM-stop".into();
    sms.status = MessageStatus::Sent as i32;
    let ids = record(&mut m, vec![sms]).await;
    m.update_statuses(proto::UpdateStatusesRequest {
        events: vec![proto::StatusEvent {
            provider: "twilio".into(),
            provider_message_id: "SM-stop".into(),
            status: MessageStatus::Failed as i32,
            occurred_at: Some(prost_types::Timestamp {
                seconds: chrono::Utc::now().timestamp(),
                nanos: 0,
            }),
            error_code: "21610".into(),
            ..Default::default()
        }],
    })
    .await
    .unwrap();
    let before = check(&server, "h1", "+33698765431", MessageCategory::Utility).await;
    assert_eq!(before.verdict, RecipientVerdict::DoNotSend as i32);
    assert_eq!(
        before.suppression_reason,
        SuppressionReason::OptedOut as i32
    );

    // The retention purge deletes every message of the guest.
    sql(
        &server,
        &[&format!(
            "UPDATE messages SET created_at = '2020-01-01 00:00:00' WHERE id = {}",
            sentlog::store::message_key::id_literal(server.store().backend(), &ids[0])
        )],
    )
    .await;
    let purged = sentlog::service::retention::run_once(server.store(), 30)
        .await
        .unwrap();
    assert_eq!(purged.messages, 1);
    assert!(list_all(&mut m, Default::default(), 10).await.is_empty());
    let after_purge = check(&server, "h1", "06 98 76 54 31", MessageCategory::Utility).await;
    assert_eq!(
        after_purge.verdict,
        RecipientVerdict::DoNotSend as i32,
        "an opt-out is not forgotten with its messages: {after_purge:?}"
    );
    assert_eq!(
        after_purge.failures_since_delivered, 0,
        "the history is gone"
    );

    // The guest asks for erasure: the address goes, the opt-out stays.
    let erased = server
        .guests()
        .erase_guest_data(proto::EraseGuestDataRequest {
            hotel_id: "h1".into(),
            phone: "+33 6 98 76 54 31".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(erased.suppressions_redacted, 1);
    let after_erasure = check(&server, "h1", "0698765431", MessageCategory::Utility).await;
    assert_eq!(after_erasure.verdict, RecipientVerdict::DoNotSend as i32);
    let s = list(&server, Default::default()).await;
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].address, "", "erased");
    assert_eq!(s[0].reason, SuppressionReason::OptedOut as i32);
    // No plain phone is left anywhere, in any text column of any table.
    let store = server.store().clone();
    let hits = tokio::task::spawn_blocking(move || {
        let mut conn = store.conn().unwrap();
        crate::erasure::find_everywhere(&mut conn, "698765431")
    })
    .await
    .unwrap();
    assert!(hits.is_empty(), "the phone is still in {hits:?}");
    server.stop().await;
}

async fn an_invalid_number_is_ok_again_after_a_delivery(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut m = server.messages();
    record(
        &mut m,
        vec![failed(
            "h1",
            "bad-1",
            "+33611111111",
            Channel::Sms,
            "twilio",
            "21211",
        )],
    )
    .await;
    let bad = check(&server, "h1", "+33611111111", MessageCategory::Utility).await;
    assert_eq!(bad.verdict, RecipientVerdict::DoNotSend as i32);
    assert_eq!(
        bad.suppression_reason,
        SuppressionReason::InvalidAddress as i32
    );
    // The carrier was wrong: a later message to the number is delivered.
    let mut later = new_message("h1", "good-1", "+33611111111");
    later.channel = Channel::Sms as i32;
    later.status = MessageStatus::Sent as i32;
    let ids = record(&mut m, vec![later]).await;
    m.update_statuses(proto::UpdateStatusesRequest {
        events: vec![proto::StatusEvent {
            message_id: ids[0].clone(),
            status: MessageStatus::Delivered as i32,
            occurred_at: Some(prost_types::Timestamp {
                seconds: chrono::Utc::now().timestamp() + 5,
                nanos: 0,
            }),
            ..Default::default()
        }],
    })
    .await
    .unwrap();
    let ok = check(&server, "h1", "+33611111111", MessageCategory::Utility).await;
    assert_eq!(ok.verdict, RecipientVerdict::Ok as i32, "{ok:?}");
    assert!(list(&server, Default::default()).await.is_empty());
    let history = list(
        &server,
        proto::ListSuppressionsRequest {
            include_lifted: true,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].lifted_by, "sentlog");
    assert!(history[0].lift_note.contains(&ids[0]), "{:?}", history[0]);
    server.stop().await;
}

async fn suppressions_are_added_and_lifted_with_a_trace(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut r = server.reconciliation();
    // The guest said STOP at the front desk.
    let added = r
        .add_suppression(proto::AddSuppressionRequest {
            hotel_id: "h1".into(),
            address: "06 22 33 44 55".into(),
            note: "said STOP at the front desk".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(added.address, "+33622334455");
    assert_eq!(added.reason, SuppressionReason::Manual as i32);
    assert_eq!(added.scope, SuppressionScope::All as i32);
    // Adding it again answers the one there.
    let again = r
        .add_suppression(proto::AddSuppressionRequest {
            hotel_id: "h1".into(),
            address: "+33622334455".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.id, added.id);
    let email = r
        .add_suppression(proto::AddSuppressionRequest {
            hotel_id: "h1".into(),
            address: " Guest@Example.COM ".into(),
            scope: SuppressionScope::Marketing as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(email.address, "guest@example.com");
    let blocked = check(&server, "h1", "+33622334455", MessageCategory::Utility).await;
    assert_eq!(blocked.verdict, RecipientVerdict::DoNotSend as i32);
    assert_eq!(blocked.suppression_id, added.id);
    // Bad input names the field and changes nothing.
    for (address, field) in [("", "address"), ("call the desk", "address")] {
        let err = r
            .add_suppression(proto::AddSuppressionRequest {
                hotel_id: "h1".into(),
                address: address.into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        assert!(err.message().contains(field), "{}", err.message());
    }
    let err = r
        .add_suppression(proto::AddSuppressionRequest {
            hotel_id: "h1".into(),
            address: "+33622334455".into(),
            scope: 9,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(err.message().contains("scope"), "{}", err.message());
    let err = r
        .remove_suppression(proto::RemoveSuppressionRequest {
            id: added.id.clone(),
            note: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("note"), "{}", err.message());
    // The guest opted in again.
    let lifted = r
        .remove_suppression(proto::RemoveSuppressionRequest {
            id: added.id.clone(),
            note: "opted in again at check-in".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(lifted.lifted_at.is_some());
    assert_eq!(lifted.lift_note, "opted in again at check-in");
    assert_eq!(lifted.lifted_by, "anonymous");
    let ok = check(&server, "h1", "+33622334455", MessageCategory::Utility).await;
    assert_eq!(ok.verdict, RecipientVerdict::Ok as i32);
    let err = r
        .remove_suppression(proto::RemoveSuppressionRequest {
            id: added.id.clone(),
            note: "again".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    // Lifted, not deleted: the history keeps it.
    let active = list(&server, Default::default()).await;
    assert_eq!(
        active.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        [email.id.as_str()]
    );
    let all = list(
        &server,
        proto::ListSuppressionsRequest {
            include_lifted: true,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(all.len(), 2);
    // Filters: by address (any format) and by reason; pages by keyset.
    let by_address = list(
        &server,
        proto::ListSuppressionsRequest {
            address: "GUEST@example.com".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(by_address.len(), 1);
    let by_reason = list(
        &server,
        proto::ListSuppressionsRequest {
            reasons: vec![SuppressionReason::OptedOut as i32],
            include_lifted: true,
            ..Default::default()
        },
    )
    .await;
    assert!(by_reason.is_empty());
    let first = r
        .list_suppressions(proto::ListSuppressionsRequest {
            include_lifted: true,
            page_size: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.suppressions.len(), 1);
    let second = r
        .list_suppressions(proto::ListSuppressionsRequest {
            include_lifted: true,
            page_size: 1,
            page_token: first.next_page_token,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second.suppressions.len(), 1);
    assert_ne!(second.suppressions[0].id, first.suppressions[0].id);
    server.stop().await;
}

/// Records `msg` as a message to guest g1 of h1 arriving tomorrow, whom the PMS holds
/// with `pms_phone`.
async fn arriving_tomorrow(server: &TestServer, mut msg: proto::NewMessage, pms_phone: &str) {
    let tomorrow = (chrono::Utc::now().date_naive() + chrono::Duration::days(1)).to_string();
    msg.pms_guest_id = "g1".into();
    msg.check_in_date = tomorrow.clone();
    record(&mut server.messages(), vec![msg]).await;
    server
        .guests()
        .upsert_guests(proto::UpsertGuestsRequest {
            guests: vec![proto::PmsGuest {
                hotel_id: "h1".into(),
                pms_guest_id: "g1".into(),
                full_name: "Camille Martin".into(),
                phone: pms_phone.into(),
                check_in_date: tomorrow,
                ..Default::default()
            }],
        })
        .await
        .unwrap();
}

async fn a_corrected_flag_suppresses_the_old_number(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut msg = new_message("h1", "wrong-1", "+33612340000");
    msg.status = MessageStatus::Undelivered as i32;
    msg.error_code = "30003".into();
    msg.provider = "twilio".into();
    msg.channel = Channel::Sms as i32;
    arriving_tomorrow(&server, msg, "+33 6 99 88 77 66").await;
    let mut r = server.reconciliation();
    r.run_reconciliation(proto::RunReconciliationRequest::default())
        .await
        .unwrap();
    let flags = list_all_flags(&server, Default::default()).await;
    assert_eq!(flags.len(), 1, "{flags:?}");
    r.update_flag(proto::UpdateFlagRequest {
        id: flags[0].id.clone(),
        state: FlagState::Acknowledged as i32,
        ..Default::default()
    })
    .await
    .unwrap();
    r.update_flag(proto::UpdateFlagRequest {
        id: flags[0].id.clone(),
        state: FlagState::Resolved as i32,
        corrected_phone: "06 99 88 77 66".into(),
        ..Default::default()
    })
    .await
    .unwrap();
    let old = check(&server, "h1", "+33612340000", MessageCategory::Utility).await;
    assert_eq!(old.verdict, RecipientVerdict::DoNotSend as i32);
    assert_eq!(old.corrected, "+33699887766");
    assert_eq!(old.suppression_reason, SuppressionReason::Corrected as i32);
    let s = list(&server, Default::default()).await;
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].corrected, "+33699887766");
    // The new number is fine.
    let new = check(&server, "h1", "+33699887766", MessageCategory::Utility).await;
    assert_eq!(new.verdict, RecipientVerdict::Ok as i32);
    server.stop().await;
}

async fn failures_not_about_the_number_raise_nothing(db: TestDb) {
    let server = TestServer::start(db).await;
    // A WhatsApp template sent outside the 24-hour window (Twilio 63016), to a guest
    // the PMS has with the same number, arriving tomorrow.
    let msg = failed(
        "h1",
        "window-1",
        "+33612345678",
        Channel::Whatsapp,
        "twilio",
        "63016",
    );
    arriving_tomorrow(&server, msg, "+33612345678").await;
    let run = server
        .reconciliation()
        .run_reconciliation(proto::RunReconciliationRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(run.flags_raised, 0);
    assert_eq!(run.messages_skipped, 1, "{run:?}");
    assert!(list_all_flags(&server, Default::default()).await.is_empty());
    let c = check(&server, "h1", "+33612345678", MessageCategory::Utility).await;
    assert_eq!(
        c.verdict,
        RecipientVerdict::Ok as i32,
        "never SUSPECT: {c:?}"
    );
    assert!(list(&server, Default::default()).await.is_empty());
    server.stop().await;
}

fn authed<T>(message: T, token: &str) -> Request<T> {
    let mut r = Request::new(message);
    r.metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    r
}

async fn suppressions_of_another_hotel_are_not_found(db: TestDb) {
    let server = TestServer::start_with(db, |s| {
        s.tokens = token_settings(&[
            ("tok-csm-h1", "csm", "h1"),
            ("tok-agent-h1", "agent", "h1"),
            ("tok-admin", "admin", "*"),
        ]);
    })
    .await;
    let mut r = server.reconciliation();
    let h2 = r
        .add_suppression(authed(
            proto::AddSuppressionRequest {
                hotel_id: "h2".into(),
                address: "+33612345678".into(),
                ..Default::default()
            },
            "tok-admin",
        ))
        .await
        .unwrap()
        .into_inner();
    // The csm of h1 can neither see nor lift h2's suppression, nor add one there.
    let err = r
        .remove_suppression(authed(
            proto::RemoveSuppressionRequest {
                id: h2.id.clone(),
                note: "x".into(),
            },
            "tok-csm-h1",
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = r
        .add_suppression(authed(
            proto::AddSuppressionRequest {
                hotel_id: "h2".into(),
                address: "+33612345678".into(),
                ..Default::default()
            },
            "tok-csm-h1",
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    for token in ["tok-csm-h1", "tok-agent-h1"] {
        let seen = r
            .list_suppressions(authed(Default::default(), token))
            .await
            .unwrap()
            .into_inner()
            .suppressions;
        assert!(seen.is_empty(), "{token} sees {seen:?}");
    }
    // The agent may list but not change.
    let err = r
        .add_suppression(authed(
            proto::AddSuppressionRequest {
                hotel_id: "h1".into(),
                address: "+33612345678".into(),
                ..Default::default()
            },
            "tok-agent-h1",
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    // h1's check does not see h2's suppression.
    let c = r
        .check_recipients(authed(
            proto::CheckRecipientsRequest {
                hotel_id: "h1".into(),
                phones: vec!["+33612345678".into()],
                ..Default::default()
            },
            "tok-csm-h1",
        ))
        .await
        .unwrap()
        .into_inner()
        .recipients;
    assert_eq!(c[0].verdict, RecipientVerdict::Ok as i32);
    server.stop().await;
}

async fn the_stored_history_is_backfilled_once(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut m = server.messages();
    // What an earlier version stored: an opt-out, an invalid number delivered since,
    // and a landline (NOT_MOBILE on SMS).
    record(
        &mut m,
        vec![
            failed(
                "h1",
                "stop",
                "+33612345678",
                Channel::Sms,
                "twilio",
                "21610",
            ),
            failed("h1", "bad", "+33611111111", Channel::Sms, "twilio", "21211"),
            failed(
                "h1",
                "fixed",
                "+33140000000",
                Channel::Sms,
                "twilio",
                "21614",
            ),
        ],
    )
    .await;
    let mut later = new_message("h1", "good", "+33611111111");
    later.channel = Channel::Sms as i32;
    later.status = MessageStatus::Delivered as i32;
    record(&mut m, vec![later]).await;
    // ... before suppressions existed.
    sql(
        &server,
        &[
            "DELETE FROM suppressions",
            "DELETE FROM sentlog_meta WHERE key LIKE 'suppressions_backfill%'",
        ],
    )
    .await;
    let stop = check(&server, "h1", "+33612345678", MessageCategory::Utility).await;
    assert_eq!(stop.suppression_id, "", "nothing stored yet");
    assert!(
        sentlog::service::suppressions::backfill(server.store())
            .await
            .unwrap()
    );
    let stop = check(&server, "h1", "+33612345678", MessageCategory::Utility).await;
    assert_eq!(stop.suppression_reason, SuppressionReason::OptedOut as i32);
    let landline = check(&server, "h1", "+33140000000", MessageCategory::Utility).await;
    assert_eq!(
        landline.suppression_reason,
        SuppressionReason::InvalidAddress as i32
    );
    let delivered_since = check(&server, "h1", "+33611111111", MessageCategory::Utility).await;
    assert_eq!(delivered_since.verdict, RecipientVerdict::Ok as i32);
    assert_eq!(list(&server, Default::default()).await.len(), 2);
    // Once only.
    assert!(
        !sentlog::service::suppressions::backfill(server.store())
            .await
            .unwrap()
    );
    // A message learnt from is never learnt again: the guest who opted in again
    // stays opted in, even if a backfill walks over the old STOP.
    server
        .reconciliation()
        .remove_suppression(proto::RemoveSuppressionRequest {
            id: stop.suppression_id.clone(),
            note: "opted in again".into(),
        })
        .await
        .unwrap();
    sql(
        &server,
        &["DELETE FROM sentlog_meta WHERE key LIKE 'suppressions_backfill%'"],
    )
    .await;
    assert!(
        sentlog::service::suppressions::backfill(server.store())
            .await
            .unwrap()
    );
    let opted_in = check(&server, "h1", "+33612345678", MessageCategory::Utility).await;
    assert_eq!(opted_in.suppression_id, "", "{opted_in:?}");
    assert_eq!(
        opted_in.verdict,
        RecipientVerdict::Ok as i32,
        "the old STOP is settled by the lifted suppression: {opted_in:?}"
    );
    server.stop().await;
}

async fn another_secret_is_refused_while_suppressions_exist(db: TestDb) {
    use sentlog::store::Store;
    use sentlog::store::suppressions::KeySource;
    let url = db.url.clone();
    let server = TestServer::start_with(db, |s| {
        s.suppression_secret = Some("the first secret, 32 characters".into());
    })
    .await;
    assert_eq!(
        server.store().suppression_key_source(),
        KeySource::Configured
    );
    let (u, v) = (url.clone(), url.clone());
    // No suppression yet: another secret is taken (and becomes the one).
    tokio::task::spawn_blocking(move || {
        Store::open_with_secret(&u, 1, 5_000, Some("a second secret of some length")).unwrap();
        Store::open_with_secret(&u, 1, 5_000, Some("the first secret, 32 characters")).unwrap();
    })
    .await
    .unwrap();
    server
        .reconciliation()
        .add_suppression(proto::AddSuppressionRequest {
            hotel_id: "h1".into(),
            address: "+33612345678".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let refused = tokio::task::spawn_blocking(move || {
        Store::open_with_secret(&v, 1, 5_000, Some("a second secret of some length"))
    })
    .await
    .unwrap()
    .unwrap_err()
    .to_string();
    assert!(
        refused.contains("suppression_secret") && refused.contains("another secret"),
        "{refused}"
    );
    // The right one still opens, and the suppression still matches.
    let same = tokio::task::spawn_blocking(move || {
        Store::open_with_secret(&url, 1, 5_000, Some("the first secret, 32 characters")).is_ok()
    })
    .await
    .unwrap();
    assert!(same);
    let c = check(&server, "h1", "06 12 34 56 78", MessageCategory::Utility).await;
    assert_eq!(c.verdict, RecipientVerdict::DoNotSend as i32);
    server.stop().await;
}

async fn a_flag_the_new_categories_would_not_raise_is_dismissed(db: TestDb) {
    let server = TestServer::start(db).await;
    // A flag raised under the old table: the failure was "maybe the number".
    let mut msg = failed(
        "h1",
        "w-1",
        "+33612345678",
        Channel::Whatsapp,
        "twilio",
        "30003",
    );
    msg.status = MessageStatus::Undelivered as i32;
    arriving_tomorrow(&server, msg, "+33612345678").await;
    let mut r = server.reconciliation();
    r.run_reconciliation(proto::RunReconciliationRequest::default())
        .await
        .unwrap();
    let flags = list_all_flags(&server, Default::default()).await;
    assert_eq!(flags.len(), 1, "{flags:?}");
    // The new table calls it OUTSIDE_WINDOW (as the recategorisation at start does).
    let store = server.store().clone();
    let counted = tokio::task::spawn_blocking(move || {
        let mut conn = store.conn().unwrap();
        exec(&mut conn, "UPDATE messages SET error_category = 11");
        sentlog::store::recategorize::open_flags_not_about_the_address(&mut conn).unwrap()
    })
    .await
    .unwrap();
    assert_eq!(counted, 1, "counted for the log before the pass");
    r.run_reconciliation(proto::RunReconciliationRequest::default())
        .await
        .unwrap();
    let flag = r
        .get_flag(proto::GetFlagRequest {
            id: flags[0].id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(flag.state, FlagState::Dismissed as i32);
    assert_eq!(flag.resolved_by, "sentlog");
    assert!(
        flag.resolution
            .starts_with("Not about the number: OUTSIDE_WINDOW."),
        "{}",
        flag.resolution
    );
    server.stop().await;
}
