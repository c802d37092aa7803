//! The use cases on their own, without a front end: each test opens a real SQLite file
//! (migrated, as the server would), builds the AppState the server builds, and calls
//! the service functions the gRPC handlers and console pages call.
use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::Utc;

use super::*;
use crate::config::Settings;
use crate::domain::access::{Caller, HotelScope, Role};
use crate::domain::filter::FilterDraft;
use crate::domain::guest::GuestDraft;
use crate::domain::message::{Channel, MessageDraft, MessageStatus};
use crate::domain::status_event::{EventDraft, EventOutcome};
use crate::store::{Store, StoreError};

struct Fixture {
    state: Arc<AppState>,
    _dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("service.db").display());
    let mut settings = Settings {
        database_url: url.clone(),
        ..Settings::default()
    };
    settings.reconcile.schedule = "off".into();
    settings.max_open_streams_per_token = 1;
    let config = settings.validate().expect("valid settings");
    let store = Store::open(&url, 2, 5_000).expect("open a SQLite file");
    Fixture {
        state: Arc::new(AppState::new(store, &config)),
        _dir: dir,
    }
}

fn caller_of(role: Role, hotels: &[&str]) -> Caller {
    Caller {
        name: format!("{}-{}", role.name(), hotels.join("+")),
        role,
        hotels: HotelScope::Only(
            hotels
                .iter()
                .map(|h| h.to_string())
                .collect::<BTreeSet<_>>(),
        ),
    }
}

fn sms(hotel: &str, external_id: &str) -> MessageDraft {
    MessageDraft {
        hotel_id: hotel.into(),
        external_id: external_id.into(),
        channel: Some(Channel::Sms),
        recipient_phone: "06 12 34 56 78".into(),
        guest_name: "Camille Martin".into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn recording_answers_per_item_and_is_idempotent() {
    let f = fixture();
    let ingest = caller_of(Role::Ingest, &["h1"]);
    let mut no_phone = sms("h1", "e-2");
    no_phone.recipient_phone.clear();
    let drafts = vec![
        Ok(sms("h1", "e-1")),
        Ok(no_phone),
        Ok(sms("h2", "e-3")),
        Err(crate::domain::FieldError::new(
            "channel",
            "99 is not a channel",
        )),
    ];
    let results = recording::record(&f.state, &ingest, drafts).await.unwrap();
    let first = results[0].as_ref().expect("recorded");
    assert!(first.created);
    assert!(
        results[1]
            .as_ref()
            .unwrap_err()
            .starts_with("messages[1].recipient_phone")
    );
    assert!(
        results[2]
            .as_ref()
            .unwrap_err()
            .contains("not one this caller serves")
    );
    assert!(
        results[3]
            .as_ref()
            .unwrap_err()
            .starts_with("messages[3].channel")
    );

    let again = recording::record(&f.state, &ingest, vec![Ok(sms("h1", "e-1"))])
        .await
        .unwrap();
    let again = again[0].as_ref().unwrap();
    assert_eq!(again.message_id, first.message_id);
    assert!(!again.created, "the same external id records nothing new");

    let too_many = (0..=MAX_BATCH)
        .map(|i| Ok(sms("h1", &format!("b-{i}"))))
        .collect();
    assert!(matches!(
        recording::record(&f.state, &ingest, too_many).await,
        Err(ServiceError::Exhausted(m)) if m.contains("1001 items")
    ));
}

#[tokio::test]
async fn statuses_fold_into_the_callers_messages_only() {
    let f = fixture();
    let ingest = caller_of(Role::Ingest, &["h1", "h2"]);
    let recorded = recording::record(
        &f.state,
        &ingest,
        vec![Ok(sms("h1", "e-1")), Ok(sms("h2", "e-2"))],
    )
    .await
    .unwrap();
    let (mine, theirs) = (
        recorded[0].as_ref().unwrap().message_id.clone(),
        recorded[1].as_ref().unwrap().message_id.clone(),
    );
    let event = |id: &str, status, secs| EventDraft {
        message_id: id.into(),
        status: Some(status),
        occurred_at: Some(Utc::now() - chrono::Duration::seconds(secs)),
        event_id: format!("{id}-{secs}"),
        ..Default::default()
    };
    let h1_only = caller_of(Role::Ingest, &["h1"]);
    let results = statuses::update(
        &f.state,
        &h1_only,
        vec![
            Ok(event(&mine, MessageStatus::Delivered, 5)),
            Ok(event(&mine, MessageStatus::Sent, 10)),
            Ok(event(&mine, MessageStatus::Read, 1)),
            Ok(event(&theirs, MessageStatus::Delivered, 5)),
            Ok(event(&mine, MessageStatus::Delivered, 5)),
            Ok(EventDraft::default()),
        ],
    )
    .await
    .unwrap();
    let outcomes: Vec<EventOutcome> = results.iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes,
        [
            EventOutcome::Applied,
            EventOutcome::Stale,
            EventOutcome::Rejected,
            EventOutcome::Rejected,
            EventOutcome::Duplicate,
            EventOutcome::Rejected,
        ]
    );
    assert!(
        results[2]
            .error
            .as_deref()
            .unwrap()
            .contains("READ exists only for WHATSAPP")
    );
    assert!(
        results[3]
            .error
            .as_deref()
            .unwrap()
            .starts_with("message_id: no message")
    );
    assert!(
        results[5]
            .error
            .as_deref()
            .unwrap()
            .starts_with("message_id")
    );
    assert_eq!(results[1].current_status, Some(MessageStatus::Delivered));
    let agent = caller_of(Role::Agent, &["h1"]);
    let history = messages::history(&f.state, &agent, &mine).await.unwrap();
    assert_eq!(history.len(), 3, "recorded, delivered, and the stale send");
    assert!(matches!(
        messages::history(&f.state, &agent, &theirs).await,
        Err(ServiceError::NotFound(_))
    ));
}

#[tokio::test]
async fn guests_are_scoped_and_erasure_needs_an_address() {
    let f = fixture();
    let ingest = caller_of(Role::Ingest, &["h1"]);
    let guest = |hotel: &str| GuestDraft {
        hotel_id: hotel.into(),
        pms_guest_id: "g-1".into(),
        full_name: "Camille Martin".into(),
        phone: "06 12 34 56 78".into(),
        ..Default::default()
    };
    let done = guests::upsert(&f.state, &ingest, vec![guest("h1"), guest("h2")])
        .await
        .unwrap();
    assert_eq!(done.upserted, 1);
    assert_eq!(done.errors.len(), 1);
    assert!(done.errors[0].1.starts_with("guests[1].hotel_id"));
    let agent = caller_of(Role::Agent, &["h1"]);
    let found = guests::get(&f.state, &agent, "h1", "g-1").await.unwrap();
    assert_eq!(
        found.phone.as_deref(),
        Some("06 12 34 56 78"),
        "as the PMS holds it"
    );
    let elsewhere = caller_of(Role::Agent, &["h2"]);
    assert!(matches!(
        guests::get(&f.state, &elsewhere, "h1", "g-1").await,
        Err(ServiceError::NotFound(_))
    ));
    let admin = caller_of(Role::Admin, &["h1"]);
    assert!(matches!(
        guests::erase(&f.state, &admin, "h1", "", " ").await,
        Err(ServiceError::Invalid(e)) if e.field == "phone"
    ));
    let erased = guests::erase(&f.state, &admin, "h1", "+33 6 12 34 56 78", "")
        .await
        .unwrap();
    assert_eq!(erased.guests_deleted, 1);
    assert!(matches!(
        guests::erase(&f.state, &admin, "h2", "0612345678", "").await,
        Err(ServiceError::OutOfScope(_))
    ));
}

#[tokio::test]
async fn an_export_holds_a_stream_place_until_it_is_read() {
    let f = fixture();
    let agent = caller_of(Role::Agent, &["h1"]);
    let ingest = caller_of(Role::Ingest, &["h1"]);
    recording::record(&f.state, &ingest, vec![Ok(sms("h1", "e-1"))])
        .await
        .unwrap();
    let query = || messages::query(&f.state, &agent, FilterDraft::default()).unwrap();
    let mut first = messages::export(f.state.clone(), &agent, query()).unwrap();
    assert!(
        matches!(
            messages::export(f.state.clone(), &agent, query()),
            Err(ServiceError::Exhausted(_))
        ),
        "one place per token here"
    );
    let mut rows = 0;
    while let Some(row) = first.recv().await {
        row.unwrap();
        rows += 1;
    }
    assert_eq!(rows, 1);
    // The producer ended with the last row; its place is free again.
    tokio::task::yield_now().await;
    assert_eq!(f.state.streams.open_count(), 0);
    messages::export(f.state.clone(), &agent, query()).expect("a place was freed");
}

#[test]
fn store_errors_become_kinds_and_corrupt_data_is_ours() {
    let map = |e| ServiceError::store("message \"x\"")(e);
    assert!(
        matches!(map(StoreError::NotFound), ServiceError::NotFound(m) if m == "message \"x\" not found")
    );
    assert!(matches!(
        map(StoreError::Corrupt("code 99".into())),
        ServiceError::Corrupt
    ));
    assert!(
        matches!(map(StoreError::Unavailable("down".into())), ServiceError::Unavailable(m) if !m.contains("down"))
    );
    assert!(matches!(
        map(StoreError::Conflict("changed".into())),
        ServiceError::Conflict(_)
    ));
}
