//! Stays (API.md "Stays: the CSM works guests, not messages"): one flag per stay,
//! evidence before a flag, flags that close themselves, the queue by urgency, and the
//! migration that merged the per-message flags of before.
use std::collections::HashSet;

use chrono::{Duration, NaiveDate, Utc};
use sentlog::proto::{self, Channel, FlagPriority, FlagReason, FlagState, MessageStatus};

use crate::backend_tests;
use crate::common::*;

backend_tests!(
    a_stay_reached_on_another_channel_raises_no_soft_flag_and_resolves_one,
    failures_of_one_stay_make_one_flag,
    soft_evidence_waits_for_a_second_failure_or_an_arrival,
    a_stay_over_raises_nothing_and_its_flag_is_dismissed,
    the_queue_pages_by_urgency_without_repeat_or_skip,
    the_migration_merges_the_flags_of_one_stay,
    failures_not_about_the_address_raise_nothing_even_after_a_table_change,
);

fn day(offset: i64) -> NaiveDate {
    Utc::now().date_naive() + Duration::days(offset)
}

/// A message of reservation `stay` arriving in `arrives` days for three nights.
fn stay_message(
    ext: &str,
    stay: &str,
    phone: &str,
    arrives: i64,
    channel: Channel,
    status: MessageStatus,
    error_code: &str,
) -> proto::NewMessage {
    let mut m = new_message("h", ext, phone);
    m.pms_reservation_id = stay.into();
    m.pms_guest_id = format!("guest-{stay}");
    m.check_in_date = day(arrives).to_string();
    m.check_out_date = day(arrives + 3).to_string();
    m.channel = channel as i32;
    m.status = status as i32;
    m.error_code = error_code.into();
    m.provider = match channel {
        Channel::Email => "sendgrid",
        Channel::Sms => "twilio",
        _ => "whatsapp_cloud",
    }
    .into();
    if channel == Channel::Email {
        m.recipient_phone.clear();
        m.recipient_email = format!("{stay}@example.com");
    }
    m
}

/// The PMS holds exactly the number each stay's messages went to: soft evidence only.
async fn push_guests(server: &TestServer, stays: &[(&str, &str)]) {
    let guests = stays
        .iter()
        .map(|(stay, phone)| proto::PmsGuest {
            hotel_id: "h".into(),
            pms_guest_id: format!("guest-{stay}"),
            pms_reservation_id: (*stay).into(),
            full_name: format!("Guest {stay}"),
            phone: (*phone).into(),
            ..Default::default()
        })
        .collect();
    let r = server
        .guests()
        .upsert_guests(proto::UpsertGuestsRequest { guests })
        .await
        .unwrap()
        .into_inner();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
}

async fn pass(server: &TestServer) -> proto::ReconciliationRun {
    server
        .reconciliation()
        .run_reconciliation(proto::RunReconciliationRequest::default())
        .await
        .unwrap()
        .into_inner()
}

async fn all(server: &TestServer) -> Vec<proto::Flag> {
    list_all_flags(server, proto::ListFlagsRequest::default()).await
}

fn of_stay<'a>(flags: &'a [proto::Flag], stay: &str) -> Vec<&'a proto::Flag> {
    flags.iter().filter(|f| f.stay_key == stay).collect()
}

async fn a_stay_reached_on_another_channel_raises_no_soft_flag_and_resolves_one(db: TestDb) {
    use Channel::*;
    use MessageStatus::*;
    let server = TestServer::start(db).await;
    let p1 = "+33611000001";
    let p2 = "+33611000002";
    push_guests(&server, &[("r-reached", p1), ("r-later", p2)]).await;
    let mut messages = server.messages();
    record(
        &mut messages,
        vec![
            // WhatsApp failed twice (enough for soft evidence), but the SMS arrived.
            stay_message("a1", "r-reached", p1, 1, Whatsapp, Failed, "131026"),
            stay_message("a2", "r-reached", p1, 1, Whatsapp, Failed, "131026"),
            stay_message("a3", "r-reached", p1, 1, Sms, Delivered, ""),
            // Two failures, no delivery yet: a soft flag.
            stay_message("b1", "r-later", p2, 5, Whatsapp, Failed, "131026"),
            stay_message("b2", "r-later", p2, 5, Sms, Undelivered, "30003"),
        ],
    )
    .await;
    let first = pass(&server).await;
    assert_eq!(first.flags_raised, 1, "{first:?}");
    let flags = all(&server).await;
    assert!(of_stay(&flags, "r-reached").is_empty());
    let soft = of_stay(&flags, "r-later")[0].clone();
    assert_eq!(soft.reason, FlagReason::PhoneConfirmedByPms as i32);
    assert_eq!(soft.priority, FlagPriority::Normal as i32);
    assert_eq!(soft.reached_at, None);

    // The hub's email to the same stay is delivered: the next pass resolves the flag.
    record(
        &mut messages,
        vec![stay_message("b3", "r-later", p2, 5, Email, Delivered, "")],
    )
    .await;
    pass(&server).await;
    let got = server
        .reconciliation()
        .get_flag(proto::GetFlagRequest {
            id: soft.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.state, FlagState::Resolved as i32);
    assert_eq!(got.resolved_by, "sentlog");
    assert!(
        got.resolution.starts_with("Guest reached by Email at"),
        "{}",
        got.resolution
    );
    assert_eq!(
        got.reached_channel,
        Channel::Unspecified as i32,
        "as it was"
    );
    // Nothing new is raised for a reached stay.
    assert_eq!(pass(&server).await.flags_raised, 0);
    server.stop().await;
}

async fn failures_of_one_stay_make_one_flag(db: TestDb) {
    use Channel::*;
    use MessageStatus::*;
    let server = TestServer::start(db).await;
    // The PMS holds another number: hard evidence (PHONE_MISMATCH).
    push_guests(&server, &[("r-three", "+33699999999")]).await;
    let p = "+33611000003";
    let ids = record(
        &mut server.messages(),
        vec![
            stay_message("c1", "r-three", p, 10, Whatsapp, Failed, "131026"),
            stay_message("c2", "r-three", p, 10, Sms, Undelivered, "30003"),
        ],
    )
    .await;
    assert_eq!(pass(&server).await.flags_raised, 1);
    // A third failure joins the open flag instead of raising another.
    let third = record(
        &mut server.messages(),
        vec![stay_message("c3", "r-three", p, 10, Sms, Failed, "30006")],
    )
    .await;
    let run = pass(&server).await;
    assert_eq!((run.messages_checked, run.flags_raised), (1, 0), "{run:?}");
    let flags = all(&server).await;
    assert_eq!(flags.len(), 1);
    let f = &flags[0];
    let expected: Vec<String> = ids.iter().chain(&third).cloned().collect();
    assert_eq!(f.message_ids, expected, "oldest first");
    assert_eq!(f.message_id, third[0], "the latest");
    assert_eq!(f.attempts, 3);
    assert_eq!(f.stay_key, "r-three");
    assert_eq!(f.check_in_date, day(10).to_string());
    assert_eq!(f.check_out_date, day(13).to_string());
    assert_eq!(
        f.channels_tried,
        vec![Whatsapp as i32, Sms as i32],
        "channels in their order"
    );
    // Re-decided from all the evidence, in API.md's order: the PMS's other number
    // (PHONE_MISMATCH) comes before the landline the third send hit.
    assert_eq!(f.reason, FlagReason::PhoneMismatch as i32);
    assert_eq!(f.suggested_phone, "+33699999999");
    assert_eq!(f.guest_name, "Guest r-three");
    server.stop().await;
}

async fn soft_evidence_waits_for_a_second_failure_or_an_arrival(db: TestDb) {
    use Channel::*;
    use MessageStatus::*;
    let server = TestServer::start(db).await;
    let (pa, pb, pc, pd) = (
        "+33611000011",
        "+33611000012",
        "+33611000013",
        "+33612000014",
    );
    push_guests(
        &server,
        &[
            ("r-once", pa),
            ("r-twice", pb),
            ("r-tomorrow", pc),
            ("r-landline", "+33145000014"),
        ],
    )
    .await;
    record(
        &mut server.messages(),
        vec![
            stay_message("d1", "r-once", pa, 10, Sms, Undelivered, "30003"),
            stay_message("d2", "r-twice", pb, 10, Sms, Undelivered, "30003"),
            stay_message("d3", "r-twice", pb, 10, Whatsapp, Failed, "131026"),
            stay_message("d4", "r-tomorrow", pc, 1, Sms, Undelivered, "30003"),
            // A landline: hard evidence at the first failure, even far from arrival.
            stay_message(
                "d5",
                "r-landline",
                "+33145000014",
                20,
                Sms,
                Undelivered,
                "30006",
            ),
        ],
    )
    .await;
    let _ = pd;
    let run = pass(&server).await;
    assert_eq!(run.flags_raised, 3, "{run:?}");
    let flags = all(&server).await;
    assert!(
        of_stay(&flags, "r-once").is_empty(),
        "one soft failure waits"
    );
    assert_eq!(
        of_stay(&flags, "r-twice")[0].reason,
        FlagReason::PhoneConfirmedByPms as i32
    );
    let tomorrow = of_stay(&flags, "r-tomorrow")[0];
    assert_eq!(tomorrow.priority, FlagPriority::Urgent as i32);
    assert_eq!(
        of_stay(&flags, "r-landline")[0].reason,
        FlagReason::PhoneNotMobile as i32
    );
    // Urgent first: the guest arriving tomorrow leads the queue.
    assert_eq!(flags[0].stay_key, "r-tomorrow");

    // Time passes and r-once's arrival comes within two days, though no message
    // changes: the next pass raises it.
    let store = server.store().clone();
    let soon = day(2);
    tokio::task::spawn_blocking(move || {
        let mut conn = store.conn().unwrap();
        exec(
            &mut conn,
            &format!(
                "UPDATE messages SET check_in_date = '{soon}' WHERE pms_reservation_id = 'r-once'"
            ),
        );
    })
    .await
    .unwrap();
    let run = pass(&server).await;
    assert_eq!(run.flags_raised, 1, "{run:?}");
    let flags = all(&server).await;
    assert_eq!(
        of_stay(&flags, "r-once")[0].priority,
        FlagPriority::Urgent as i32
    );
    server.stop().await;
}

async fn a_stay_over_raises_nothing_and_its_flag_is_dismissed(db: TestDb) {
    use Channel::*;
    use MessageStatus::*;
    let server = TestServer::start(db).await;
    record(
        &mut server.messages(),
        vec![
            // Invalid number (hard), but the guest left yesterday.
            stay_message("e1", "r-gone", "+33611000021", -4, Sms, Failed, "21211"),
            stay_message("e2", "r-leaving", "+33611000022", 3, Sms, Failed, "21211"),
        ],
    )
    .await;
    let run = pass(&server).await;
    assert_eq!((run.messages_checked, run.flags_raised), (2, 1), "{run:?}");
    let flags = all(&server).await;
    assert!(of_stay(&flags, "r-gone").is_empty());
    let open = of_stay(&flags, "r-leaving")[0].clone();
    assert_eq!(open.reason, FlagReason::PhoneInvalid as i32);

    // The stay's dates move into the past: the next pass dismisses its flag.
    let store = server.store().clone();
    let (gone_in, gone_out) = (day(-5), day(-1));
    tokio::task::spawn_blocking(move || {
        let mut conn = store.conn().unwrap();
        exec(
            &mut conn,
            &format!(
                "UPDATE messages SET check_in_date = '{gone_in}', check_out_date = '{gone_out}' \
                 WHERE pms_reservation_id = 'r-leaving'"
            ),
        );
    })
    .await
    .unwrap();
    pass(&server).await;
    let got = server
        .reconciliation()
        .get_flag(proto::GetFlagRequest { id: open.id })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.state, FlagState::Dismissed as i32);
    assert_eq!(got.resolved_by, "sentlog");
    assert!(
        got.resolution.starts_with("Stay over"),
        "{}",
        got.resolution
    );
    server.stop().await;
}

async fn the_queue_pages_by_urgency_without_repeat_or_skip(db: TestDb) {
    use Channel::*;
    use MessageStatus::*;
    let server = TestServer::start(db).await;
    // 24 stays with invalid numbers (hard evidence), arrivals from in 1 to 12 days,
    // some with a delivered email (LOW), some without dates.
    let mut batch = Vec::new();
    for i in 0..24i64 {
        let stay = format!("q{i:02}");
        let phone = format!("+336110001{i:02}");
        let mut m = stay_message(
            &format!("q{i}"),
            &stay,
            &phone,
            1 + i % 12,
            Sms,
            Failed,
            "21211",
        );
        if i % 7 == 0 {
            m.check_in_date.clear();
            m.check_out_date.clear();
        }
        batch.push(m);
        if i % 5 == 0 {
            let mut e = stay_message(
                &format!("q{i}-mail"),
                &stay,
                &phone,
                1 + i % 12,
                Email,
                Delivered,
                "",
            );
            if i % 7 == 0 {
                e.check_in_date.clear();
                e.check_out_date.clear();
            }
            batch.push(e);
        }
    }
    record(&mut server.messages(), batch).await;
    assert_eq!(pass(&server).await.flags_raised, 24);

    // Page by 5; between pages, more flags are raised.
    let mut seen: Vec<proto::Flag> = Vec::new();
    let mut token = String::new();
    let mut extra = 0;
    loop {
        let page = server
            .reconciliation()
            .list_flags(proto::ListFlagsRequest {
                page_size: 5,
                page_token: token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        seen.extend(page.flags);
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
        if extra < 3 {
            let stay = format!("x{extra}");
            let phone = format!("+336110002{extra:02}");
            record(
                &mut server.messages(),
                vec![stay_message(&stay, &stay, &phone, 1, Sms, Failed, "21211")],
            )
            .await;
            assert_eq!(pass(&server).await.flags_raised, 1);
            extra += 1;
        }
    }
    let ids: HashSet<&str> = seen.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(ids.len(), seen.len(), "no flag twice");
    let originals: Vec<&proto::Flag> = seen
        .iter()
        .filter(|f| f.stay_key.starts_with('q'))
        .collect();
    assert_eq!(originals.len(), 24, "no flag skipped");
    // In order: priority, then check-in (none last), then creation.
    let key = |f: &proto::Flag| {
        let day = if f.check_in_date.is_empty() {
            "9999-12-31".to_string()
        } else {
            f.check_in_date.clone()
        };
        let at = f.created_at.unwrap();
        (f.priority, day, at.seconds, at.nanos, f.id.clone())
    };
    assert!(originals.windows(2).all(|w| key(w[0]) <= key(w[1])));
    assert_eq!(originals[0].priority, FlagPriority::Urgent as i32);
    assert_eq!(originals.last().unwrap().priority, FlagPriority::Low as i32);
    assert!(originals.iter().any(|f| f.check_in_date.is_empty()));

    // Filters: priorities and check-in range.
    let low = list_all_flags(
        &server,
        proto::ListFlagsRequest {
            priorities: vec![FlagPriority::Low as i32],
            ..Default::default()
        },
    )
    .await;
    assert_eq!(low.len(), 5);
    let range = list_all_flags(
        &server,
        proto::ListFlagsRequest {
            check_in_from: day(2).to_string(),
            check_in_to: day(3).to_string(),
            ..Default::default()
        },
    )
    .await;
    assert!(!range.is_empty());
    assert!(range.iter().all(|f| f.check_in_date == day(2).to_string()
        || f.check_in_date == day(3).to_string()));
    let err = server
        .reconciliation()
        .list_flags(proto::ListFlagsRequest {
            check_in_from: "2026-13-01".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert!(
        err.message().starts_with("check_in_from"),
        "{}",
        err.message()
    );
    let err = server
        .reconciliation()
        .list_flags(proto::ListFlagsRequest {
            priorities: vec![7],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(
        err.message().starts_with("priorities[0]"),
        "{}",
        err.message()
    );
    server.stop().await;
}

/// Flags raised before stays (one per message) are merged by the migration: the
/// oldest open flag of a stay keeps every message, the others are dismissed.
async fn the_migration_merges_the_flags_of_one_stay(db: TestDb) {
    use Channel::*;
    use MessageStatus::*;
    let server = TestServer::start(db).await;
    let ids = record(
        &mut server.messages(),
        vec![
            stay_message("m1", "r-m", "+33611000031", 5, Whatsapp, Failed, "131026"),
            stay_message("m2", "r-m", "+33611000031", 5, Sms, Undelivered, "30003"),
            stay_message("m3", "r-m", "+33611000031", 5, Sms, Failed, "30003"),
            stay_message("m4", "r-other", "+33611000032", 5, Sms, Failed, "30003"),
        ],
    )
    .await;
    // Back to before stays: the later migrations that build on its columns first. The
    // two backends' down migrations are the same text.
    let down = [
        include_str!("../../migrations/sqlite/2026-12-01-000017_open_queue/down.sql"),
        include_str!("../../migrations/sqlite/2026-12-01-000014_stays/down.sql"),
    ]
    .concat();
    assert_eq!(
        down,
        [
            include_str!("../../migrations/postgres/2026-12-01-000017_open_queue/down.sql"),
            include_str!("../../migrations/postgres/2026-12-01-000014_stays/down.sql"),
        ]
        .concat()
    );
    // Text ids first (this migration differs between the backends), in one
    // transaction as diesel runs it: SQLite checks the foreign keys at its end.
    let binary_ids_down = match server.is_postgres() {
        true => {
            include_str!("../../migrations/postgres/2026-12-02-000026_binary_message_ids/down.sql")
        }
        false => {
            include_str!("../../migrations/sqlite/2026-12-02-000026_binary_message_ids/down.sql")
        }
    };
    let store = server.store().clone();
    let flag_ids = tokio::task::spawn_blocking(move || {
        let mut conn = store.conn().unwrap();
        exec(&mut conn, "BEGIN");
        for statement in [binary_ids_down, down.as_str()]
            .iter()
            .flat_map(|sql| sql.split(';'))
            .filter(|s| !s.trim().is_empty())
        {
            exec(&mut conn, statement);
        }
        exec(&mut conn, "COMMIT");
        exec(
            &mut conn,
            "DELETE FROM __diesel_schema_migrations WHERE version LIKE '%000014' \
             OR version LIKE '%000017' OR version LIKE '%000026'",
        );
        // One open flag per message, as before; the third one was already resolved.
        let mut flag_ids = Vec::new();
        for (n, (message, state)) in ids.iter().zip([1, 2, 3, 1]).enumerate() {
            let id = format!("old-flag-{n}");
            exec(
                &mut conn,
                &format!(
                    "INSERT INTO flags (id, hotel_id, message_id, reason, detail, error_category, \
                     state, note, created_at, updated_at) VALUES ('{id}', 'h', '{message}', 4, \
                     'Old detail.', 1, {state}, 'called once', '2026-11-0{} 10:00:00', \
                     '2026-11-0{} 10:00:00')",
                    n + 1,
                    n + 1
                ),
            );
            flag_ids.push(id);
        }
        flag_ids
    })
    .await
    .unwrap();
    // Restarting runs the migration again.
    let restarted = server.another_instance(|_| {}).await;
    let flags = all(&restarted).await;
    let get = |id: &str| flags.iter().find(|f| f.id == id).unwrap();
    let keeper = get(&flag_ids[0]);
    assert_eq!(keeper.state, FlagState::Open as i32);
    assert_eq!(keeper.stay_key, "r-m");
    assert_eq!(keeper.attempts, 2);
    assert_eq!(keeper.message_ids.len(), 2);
    assert_eq!(keeper.check_in_date, day(5).to_string());
    assert!(keeper.note.contains("called once"), "{}", keeper.note);
    assert!(
        keeper.note.contains("Merged with flag(s) old-flag-1"),
        "{}",
        keeper.note
    );
    let merged = get(&flag_ids[1]);
    assert_eq!(merged.state, FlagState::Dismissed as i32);
    assert_eq!(merged.resolved_by, "sentlog");
    assert!(
        merged.resolution.contains("Merged into flag old-flag-0"),
        "{}",
        merged.resolution
    );
    assert_eq!(
        get(&flag_ids[2]).state,
        FlagState::Resolved as i32,
        "closed stays closed"
    );
    let other = get(&flag_ids[3]);
    assert_eq!(
        (other.state, other.stay_key.as_str()),
        (FlagState::Open as i32, "r-other")
    );
    assert_eq!(other.note, "called once", "nothing to merge");
    restarted.stop().await;
    server.stop().await;
}

/// Failures that say nothing about the address never raise a flag; a table that
/// changes recategorises stored messages after the next start, and a flag whose
/// evidence is gone then closes.
async fn failures_not_about_the_address_raise_nothing_even_after_a_table_change(db: TestDb) {
    use Channel::*;
    use MessageStatus::*;
    let server = TestServer::start(db).await;
    let p = "+33611000041";
    push_guests(&server, &[("r-window", p), ("r-old", "+33611000042")]).await;
    let ids = record(
        &mut server.messages(),
        vec![
            // Outside WhatsApp's window, then a paused template: the hub's problems.
            stay_message("w1", "r-window", p, 1, Whatsapp, Failed, "131047"),
            stay_message("w2", "r-window", p, 1, Whatsapp, Failed, "132015"),
            stay_message("w3", "r-window", p, 1, Sms, Undelivered, "63016"),
            // Recorded under an older table that did not know 131050.
            stay_message("o1", "r-old", "+33611000042", 1, Whatsapp, Failed, "131050"),
            stay_message("o2", "r-old", "+33611000042", 1, Whatsapp, Failed, "131050"),
        ],
    )
    .await;
    let got = server
        .messages()
        .get_message(proto::GetMessageRequest { id: ids[0].clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        got.error_category,
        proto::ErrorCategory::OutsideWindow as i32
    );
    // Make r-old look as an older table left it: OTHER, and a flag raised on it.
    let store = server.store().clone();
    let (o1, o2) = (ids[3].clone(), ids[4].clone());
    tokio::task::spawn_blocking(move || {
        let mut conn = store.conn().unwrap();
        let sql = format!(
            "UPDATE messages SET error_category = 10 WHERE id IN ({}, {})",
            sql_id(&conn, &o1),
            sql_id(&conn, &o2)
        );
        exec(&mut conn, &sql);
        exec(&mut conn, "DELETE FROM sentlog_meta");
    })
    .await
    .unwrap();
    let run = pass(&server).await;
    assert_eq!(run.flags_raised, 1, "{run:?}");
    assert_eq!(run.messages_skipped, 3, "{run:?}");
    let flags = all(&server).await;
    assert!(of_stay(&flags, "r-window").is_empty());
    let old = of_stay(&flags, "r-old")[0].clone();

    // A restart recategorises the stored messages in the background.
    let restarted = server.another_instance(|_| {}).await;
    let mut category = 0;
    for _ in 0..100 {
        category = restarted
            .messages()
            .get_message(proto::GetMessageRequest { id: ids[3].clone() })
            .await
            .unwrap()
            .into_inner()
            .error_category;
        if category != proto::ErrorCategory::Other as i32 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(category, proto::ErrorCategory::MarketingOptOut as i32);
    pass(&restarted).await;
    let got = restarted
        .reconciliation()
        .get_flag(proto::GetFlagRequest { id: old.id })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.state, FlagState::Dismissed as i32, "{got:?}");
    restarted.stop().await;
    server.stop().await;
}
