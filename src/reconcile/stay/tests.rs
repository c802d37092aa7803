use std::collections::HashSet;

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use proptest::prelude::*;

use super::*;
use crate::domain::error_category::ErrorCategory as C;
use crate::domain::testing::{message, shuffle};

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
}

fn at(minute: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 10, 0, 0).unwrap() + Duration::minutes(minute)
}

/// Message `n` of the stay R1 (check-in in `days` days, three nights).
fn msg(n: i64, channel: Channel, status: MessageStatus, cat: C, days: i64) -> Message {
    let mut m = message(&format!("m{n:03}"), channel, status, at(n));
    m.pms_reservation_id = Some("R1".into());
    m.check_in_date = Some(today() + Duration::days(days));
    m.check_out_date = Some(today() + Duration::days(days + 3));
    m.error_category = cat;
    if channel == Channel::Email {
        m.recipient_email = Some("camille@example.com".into());
    }
    if status == MessageStatus::Delivered {
        m.delivered_at = Some(at(n) + Duration::seconds(5));
    }
    m
}

fn failed(n: i64, cat: C, days: i64) -> Message {
    msg(n, Channel::Sms, MessageStatus::Undelivered, cat, days)
}

fn pms(phone: &'static str) -> GuestFacts<'static> {
    GuestFacts {
        full_name: Some("Camille Martin"),
        phone: Some(phone),
        email: Some("camille@example.com"),
        email_is_ota_relay: false,
    }
}

const SAME: &str = "+33612345678";

fn decide_with(
    messages: &[Message],
    guest: Option<&GuestFacts>,
    open: Option<&Flag>,
    t: &Thresholds,
) -> StayDecision {
    let refs: Vec<&Message> = messages.iter().collect();
    let covered = HashSet::new();
    let stay = StayFacts {
        hotel_id: "h",
        stay_key: "R1",
        messages: &refs,
        guest,
        open_flag: open,
        covered: &covered,
        region: Region::FR,
        today: today(),
        now: at(1000),
    };
    let new = NewFlag {
        id: "flag-1".into(),
        run_id: None,
        now: at(1000),
    };
    decide(&stay, t, &new)
}

fn run(messages: &[Message], guest: Option<&GuestFacts>, open: Option<&Flag>) -> StayDecision {
    decide_with(messages, guest, open, &Thresholds::default())
}

fn raised(d: &StayDecision) -> Option<&Flag> {
    match d {
        StayDecision::Raise(f) => Some(f),
        _ => None,
    }
}

#[test]
fn one_soft_failure_waits_two_raise() {
    let g = pms(SAME);
    let one = [failed(1, C::Unreachable, 10)];
    assert_eq!(
        run(&one, Some(&g), None),
        StayDecision::Nothing { revisit: true }
    );
    let two = [failed(1, C::Unreachable, 10), failed(2, C::Unreachable, 10)];
    let f = raised(&run(&two, Some(&g), None))
        .cloned()
        .expect("two failures raise");
    assert_eq!(f.reason, FlagReason::PhoneConfirmedByPms);
    assert_eq!(f.message_ids, vec!["m001", "m002"]);
    assert_eq!(f.message_id, "m002");
    assert_eq!(f.attempts, 2);
    assert_eq!(f.priority, FlagPriority::Normal);
}

#[test]
fn one_soft_failure_raises_when_the_guest_arrives_tomorrow() {
    let g = pms(SAME);
    let f = raised(&run(&[failed(1, C::Unreachable, 1)], Some(&g), None))
        .cloned()
        .expect("urgent");
    assert_eq!(f.priority, FlagPriority::Urgent);
    // In house counts as urgent too.
    let f = raised(&run(&[failed(1, C::Unreachable, -1)], Some(&g), None)).cloned();
    assert_eq!(f.map(|f| f.priority), Some(FlagPriority::Urgent));
}

#[test]
fn hard_evidence_raises_at_the_first_failure() {
    let landline = [failed(1, C::NotMobile, 10)];
    let f = raised(&run(&landline, Some(&pms(SAME)), None))
        .cloned()
        .unwrap();
    assert_eq!(f.reason, FlagReason::PhoneNotMobile);
    let mismatch = [failed(1, C::Unreachable, 10)];
    let f = raised(&run(&mismatch, Some(&pms("+33612345687")), None))
        .cloned()
        .unwrap();
    assert_eq!(f.reason, FlagReason::PhoneMismatch);
    assert_eq!(f.suggested_phone.as_deref(), Some("+33612345687"));
}

#[test]
fn failures_not_about_the_recipient_raise_nothing() {
    let ms = [failed(1, C::OptedOut, 1), failed(2, C::RateLimited, 1)];
    assert_eq!(
        run(&ms, Some(&pms("+33612345687")), None),
        StayDecision::Nothing { revisit: false }
    );
}

#[test]
fn a_stay_reached_on_another_channel_raises_no_soft_flag() {
    let g = pms(SAME);
    let ms = [
        msg(
            1,
            Channel::Whatsapp,
            MessageStatus::Failed,
            C::Unreachable,
            1,
        ),
        failed(2, C::Unreachable, 1),
        msg(3, Channel::Email, MessageStatus::Delivered, C::None, 1),
    ];
    assert!(matches!(
        run(&ms, Some(&g), None),
        StayDecision::Nothing { .. }
    ));
}

#[test]
fn a_soft_flag_resolves_once_reached_and_a_hard_one_drops_to_low() {
    let g = pms(SAME);
    let before = [failed(1, C::Unreachable, 5), failed(2, C::Unreachable, 5)];
    let open = raised(&run(&before, Some(&g), None)).cloned().unwrap();
    let mut after = before.to_vec();
    after.push(msg(3, Channel::Email, MessageStatus::Delivered, C::None, 5));
    let StayDecision::Close(closed) = run(&after, Some(&g), Some(&open)) else {
        panic!("soft flag not resolved");
    };
    assert_eq!(closed.state, FlagState::Resolved);
    assert_eq!(closed.resolved_by.as_deref(), Some("sentlog"));
    assert!(
        closed
            .resolution
            .unwrap()
            .starts_with("Guest reached by Email at")
    );

    let before = [failed(1, C::InvalidNumber, 5)];
    let open = raised(&run(&before, Some(&g), None)).cloned().unwrap();
    let mut after = before.to_vec();
    after.push(msg(3, Channel::Email, MessageStatus::Delivered, C::None, 5));
    let StayDecision::Update(low) = run(&after, Some(&g), Some(&open)) else {
        panic!("hard flag not kept");
    };
    assert_eq!(low.state, FlagState::Open);
    assert_eq!(low.priority, FlagPriority::Low);
    assert_eq!(low.reached_channel, Some(Channel::Email));
}

#[test]
fn a_stay_over_raises_nothing_and_its_flag_is_dismissed() {
    let ms = [failed(1, C::InvalidNumber, -10)];
    assert_eq!(
        run(&ms, None, None),
        StayDecision::Nothing { revisit: false }
    );
    let open = raised(&run(&[failed(1, C::InvalidNumber, 1)], None, None))
        .cloned()
        .unwrap();
    let StayDecision::Close(closed) = run(&ms, None, Some(&open)) else {
        panic!("not dismissed");
    };
    assert_eq!(closed.state, FlagState::Dismissed);
    assert!(closed.resolution.unwrap().starts_with("Stay over"));
}

#[test]
fn new_failures_join_the_open_flag_and_the_reason_is_redecided() {
    let g = pms(SAME);
    let first = [failed(1, C::Unreachable, 1)];
    let open = raised(&run(&first, Some(&g), None)).cloned().unwrap();
    assert_eq!(open.reason, FlagReason::PhoneConfirmedByPms);
    let mut more = first.to_vec();
    more.push(msg(
        2,
        Channel::Whatsapp,
        MessageStatus::Failed,
        C::Unreachable,
        1,
    ));
    more.push(failed(3, C::NotMobile, 1));
    let StayDecision::Update(f) = run(&more, Some(&g), Some(&open)) else {
        panic!("not updated");
    };
    assert_eq!(f.id, open.id);
    assert_eq!(f.reason, FlagReason::PhoneNotMobile);
    assert_eq!(f.message_ids, vec!["m001", "m002", "m003"]);
    assert_eq!(f.channels_tried, vec![Channel::Whatsapp, Channel::Sms]);
    // A second pass over the same facts changes nothing.
    assert_eq!(run(&more, Some(&g), Some(&f)), StayDecision::Keep);
}

#[test]
fn messages_a_csm_dealt_with_do_not_raise_again() {
    let ms = [failed(1, C::InvalidNumber, 5)];
    let refs: Vec<&Message> = ms.iter().collect();
    let covered: HashSet<String> = ["m001".to_string()].into();
    let stay = StayFacts {
        hotel_id: "h",
        stay_key: "R1",
        messages: &refs,
        guest: None,
        open_flag: None,
        covered: &covered,
        region: Region::FR,
        today: today(),
        now: at(1000),
    };
    let new = NewFlag {
        id: "f".into(),
        run_id: None,
        now: at(1000),
    };
    assert!(matches!(
        decide(&stay, &Thresholds::default(), &new),
        StayDecision::Nothing { .. }
    ));
}

fn any_message() -> impl Strategy<Value = Message> {
    let statuses = prop::sample::select(vec![
        MessageStatus::Undelivered,
        MessageStatus::Failed,
        MessageStatus::Sent,
        MessageStatus::Delivered,
        MessageStatus::Read,
    ]);
    let channels = prop::sample::select(vec![Channel::Whatsapp, Channel::Sms, Channel::Email]);
    (
        0i64..500,
        channels,
        statuses,
        0i32..14,
        -6i64..15,
        prop::bool::ANY,
    )
        .prop_map(|(n, ch, st, cat, days, other_phone)| {
            let st = if st == MessageStatus::Read && ch != Channel::Whatsapp {
                MessageStatus::Delivered
            } else {
                st
            };
            let mut m = msg(n, ch, st, C::from_code(cat).unwrap(), days);
            if other_phone {
                m.recipient_phone = Some("+33611111111".into());
            }
            m
        })
}

/// Messages with distinct ids (a generated id may repeat).
fn distinct(mut ms: Vec<Message>) -> Vec<Message> {
    ms.sort_by(|a, b| a.id.cmp(&b.id));
    ms.dedup_by(|a, b| a.id == b.id);
    ms
}

fn no_flag(d: &StayDecision) -> bool {
    matches!(d, StayDecision::Nothing { .. })
}

proptest! {
    /// The same messages in any order give the same decision.
    #[test]
    fn order_does_not_matter(mut ms in prop::collection::vec(any_message(), 1..8).prop_map(distinct), seed in 0u64..1000) {
        let g = pms(SAME);
        let a = run(&ms, Some(&g), None);
        shuffle(&mut ms, seed);
        prop_assert_eq!(a, run(&ms, Some(&g), None));
    }

    /// A delivered message never raises a flag that was not raised without it.
    #[test]
    fn a_delivery_never_raises(ms in prop::collection::vec(any_message(), 0..8).prop_map(distinct), n in 600i64..700, with_pms in prop::bool::ANY) {
        let g = pms(SAME);
        let guest = with_pms.then_some(&g);
        let before = run(&ms, guest, None);
        let mut more = ms.clone();
        // Dates unknown: the delivery must not move the stay's dates.
        let mut delivered = msg(n, Channel::Sms, MessageStatus::Delivered, C::None, 3);
        delivered.check_in_date = None;
        delivered.check_out_date = None;
        more.push(delivered);
        let after = run(&more, guest, None);
        if no_flag(&before) {
            prop_assert!(no_flag(&after), "{:?}", after);
        }
    }

    /// A stay that is over never raises; an open flag on it is always dismissed.
    #[test]
    fn over_is_over(ms in prop::collection::vec(any_message(), 1..8).prop_map(distinct)) {
        let ms: Vec<Message> = ms.into_iter().map(|mut m| {
            m.check_in_date = Some(today() - Duration::days(9));
            m.check_out_date = Some(today() - Duration::days(2));
            m
        }).collect();
        prop_assert!(no_flag(&run(&ms, Some(&pms(SAME)), None)));
    }

    /// A raised flag names only failing messages, oldest first, and explains itself.
    #[test]
    fn raised_flags_hold_their_evidence(ms in prop::collection::vec(any_message(), 1..8).prop_map(distinct)) {
        if let StayDecision::Raise(f) = run(&ms, Some(&pms(SAME)), None) {
            let mut sorted = f.message_ids.clone();
            sorted.sort();
            prop_assert_eq!(&sorted, &f.message_ids);
            prop_assert_eq!(f.attempts as usize, f.message_ids.len());
            prop_assert_eq!(f.message_ids.last(), Some(&f.message_id));
            prop_assert!(!f.detail.is_empty());
            for id in &f.message_ids {
                let m = ms.iter().find(|m| &m.id == id).unwrap();
                prop_assert!(matches!(m.status, MessageStatus::Failed | MessageStatus::Undelivered));
            }
        }
    }
}

#[test]
fn a_flag_whose_evidence_is_gone_closes() {
    let g = pms(SAME);
    let before = [failed(1, C::Unreachable, 5), failed(2, C::Unreachable, 5)];
    let open = raised(&run(&before, Some(&g), None)).cloned().unwrap();
    // The table now says the failures were outside WhatsApp's window: not the address.
    let after: Vec<Message> = before
        .iter()
        .cloned()
        .map(|mut m| {
            m.error_category = C::OutsideWindow;
            m
        })
        .collect();
    let StayDecision::Close(closed) = run(&after, Some(&g), Some(&open)) else {
        panic!("not closed");
    };
    assert_eq!(closed.state, FlagState::Dismissed);
    // A late delivery of the very message behind a hard flag: the number works.
    let before = [failed(1, C::InvalidNumber, 5)];
    let open = raised(&run(&before, Some(&g), None)).cloned().unwrap();
    let after = [msg(
        1,
        Channel::Sms,
        MessageStatus::Delivered,
        C::InvalidNumber,
        5,
    )];
    let StayDecision::Close(closed) = run(&after, Some(&g), Some(&open)) else {
        panic!("not closed");
    };
    assert_eq!(closed.state, FlagState::Resolved);
}
