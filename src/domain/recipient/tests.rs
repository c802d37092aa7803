use chrono::TimeZone;
use proptest::prelude::*;

use super::*;
use crate::domain::suppression::Scope;
use ErrorCategory as C;
use MessageStatus as S;

fn past(status: MessageStatus, cat: ErrorCategory, secs: i64) -> PastMessage {
    PastMessage {
        id: format!("m{secs}"),
        channel: Channel::Sms,
        status,
        error_category: cat,
        at: Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap(),
    }
}

fn asked(category: MessageCategory, suppressions: &[Suppression]) -> Asked<'_> {
    Asked {
        parses: true,
        has_open_flag: false,
        corrected: false,
        category,
        suppressions,
    }
}

fn plain() -> Asked<'static> {
    asked(MessageCategory::Unspecified, &[])
}

fn suppression(reason: Reason, scope: Scope) -> Suppression {
    Suppression {
        id: format!("s-{reason:?}"),
        hotel_id: "h1".into(),
        address: "+33612345678".into(),
        address_hash: String::new(),
        scope,
        reason,
        corrected: None,
        source_message_id: None,
        note: String::new(),
        created_at: Utc.timestamp_opt(1_700_000_000, 0).unwrap(),
        created_by: "sentlog".into(),
        lifted_at: None,
        lifted_by: None,
        lift_note: None,
    }
}

#[test]
fn verdicts() {
    let unknown = Asked {
        parses: false,
        ..plain()
    };
    assert_eq!(assess(unknown, &[]).verdict, Verdict::UnknownFormat);
    assert_eq!(assess(plain(), &[]).verdict, Verdict::Ok);
    let k = assess(plain(), &[past(S::Delivered, C::None, 5)]);
    assert_eq!(k.verdict, Verdict::Ok);
    assert!(k.last_delivered_at.is_some());
    let k = assess(plain(), &[past(S::Undelivered, C::Unreachable, 5)]);
    assert_eq!(
        (k.verdict, k.failures_since_delivered),
        (Verdict::Suspect, 1)
    );
    assert_eq!(k.last_error_category, C::Unreachable);
    let k = assess(plain(), &[past(S::Failed, C::InvalidNumber, 5)]);
    assert_eq!(k.verdict, Verdict::DoNotSend);
    // A delivery after the failure clears it.
    let k = assess(
        plain(),
        &[
            past(S::Failed, C::InvalidNumber, 5),
            past(S::Read, C::None, 9),
        ],
    );
    assert_eq!((k.verdict, k.failures_since_delivered), (Verdict::Ok, 0));
    let flagged = Asked {
        has_open_flag: true,
        ..plain()
    };
    assert_eq!(assess(flagged, &[]).verdict, Verdict::Suspect);
    let corrected = Asked {
        corrected: true,
        ..flagged
    };
    assert_eq!(assess(corrected, &[]).verdict, Verdict::DoNotSend);
    assert_eq!(
        assess(plain(), &[past(S::Failed, C::OptedOut, 1)]).verdict,
        Verdict::DoNotSend
    );
}

#[test]
fn a_marketing_opt_out_blocks_marketing_only() {
    let history = [past(S::Failed, C::MarketingOptOut, 1)];
    let k = assess(asked(MessageCategory::Marketing, &[]), &history);
    assert_eq!(k.verdict, Verdict::DoNotSend);
    for category in [
        MessageCategory::Utility,
        MessageCategory::Unspecified,
        MessageCategory::Service,
    ] {
        let k = assess(asked(category, &[]), &history);
        assert_eq!(k.verdict, Verdict::Ok, "{category:?}");
        assert_eq!(k.failures_since_delivered, 1);
    }
    let s = [suppression(Reason::MarketingOptOut, Scope::Marketing)];
    let k = assess(asked(MessageCategory::Marketing, &s), &[]);
    assert_eq!(k.verdict, Verdict::DoNotSend);
    assert_eq!(
        k.suppression,
        Some(("s-MarketingOptOut".into(), Reason::MarketingOptOut))
    );
    let k = assess(asked(MessageCategory::Utility, &s), &[]);
    assert_eq!((k.verdict, k.suppression), (Verdict::Ok, None));
}

#[test]
fn suppressions_outlive_the_history() {
    // No message left (purged or erased): the suppression alone decides.
    let s = [suppression(Reason::OptedOut, Scope::All)];
    for &category in MessageCategory::ALL {
        let k = assess(asked(category, &s), &[]);
        assert_eq!(k.verdict, Verdict::DoNotSend);
        assert_eq!(k.suppression, Some(("s-OptedOut".into(), Reason::OptedOut)));
    }
    let mut lifted = suppression(Reason::OptedOut, Scope::All);
    lifted.lifted_at = Some(Utc::now());
    assert_eq!(
        assess(asked(MessageCategory::Utility, &[lifted]), &[]).verdict,
        Verdict::Ok
    );
}

#[test]
fn a_failure_learnt_from_is_settled_by_its_suppression() {
    // The STOP was learnt; the guest opted in again (lifted by a person).
    let mut s = suppression(Reason::OptedOut, Scope::All);
    s.source_message_id = Some("m1".into());
    s.lifted_at = Some(Utc::now());
    let history = [past(S::Failed, C::OptedOut, 1)];
    let k = assess(plain_with(std::slice::from_ref(&s)), &history);
    assert_eq!((k.verdict, k.failures_since_delivered), (Verdict::Ok, 1));
    // Not lifted: the suppression decides, and says so.
    s.lifted_at = None;
    let k = assess(plain_with(std::slice::from_ref(&s)), &history);
    assert_eq!(k.verdict, Verdict::DoNotSend);
    assert_eq!(k.suppression.map(|s| s.1), Some(Reason::OptedOut));
    // A failure no suppression was learnt from still blocks on its own.
    assert_eq!(assess(plain(), &history).verdict, Verdict::DoNotSend);
}

#[test]
fn a_correction_decides_before_consent() {
    let s = [
        suppression(Reason::OptedOut, Scope::All),
        suppression(Reason::Corrected, Scope::All),
    ];
    let k = assess(plain_with(&s), &[]);
    assert_eq!(k.suppression.map(|s| s.1), Some(Reason::Corrected));
}

fn plain_with(s: &[Suppression]) -> Asked<'_> {
    asked(MessageCategory::Unspecified, s)
}

fn category() -> impl Strategy<Value = ErrorCategory> {
    proptest::sample::select(ErrorCategory::ALL.to_vec())
}

proptest! {
    /// Failures that say nothing about the address never make a recipient SUSPECT.
    #[test]
    fn failures_not_about_the_address_never_make_suspect(
        codes in proptest::collection::vec(
            proptest::sample::select(vec![C::OutsideWindow, C::ContentRejected, C::RateLimited, C::SenderSetup, C::MarketingOptOut]),
            1..6,
        ),
    ) {
        let history: Vec<PastMessage> = codes
            .iter()
            .enumerate()
            .map(|(i, c)| past(S::Failed, *c, i as i64))
            .collect();
        let k = assess(asked(MessageCategory::Utility, &[]), &history);
        prop_assert_eq!(k.verdict, Verdict::Ok);
        prop_assert_eq!(k.failures_since_delivered, codes.len() as i64);
    }

    /// The order the history comes in does not matter.
    #[test]
    fn the_order_of_the_history_does_not_matter(
        items in proptest::collection::vec((any::<bool>(), category(), 0i64..100), 0..8),
    ) {
        let history: Vec<PastMessage> = items
            .iter()
            .map(|(ok, c, t)| {
                if *ok { past(S::Delivered, C::None, *t) } else { past(S::Failed, *c, *t) }
            })
            .collect();
        let mut reversed = history.clone();
        reversed.reverse();
        let a = assess(plain(), &history);
        let b = assess(plain(), &reversed);
        prop_assert_eq!(a.verdict, b.verdict);
        prop_assert_eq!(a.failures_since_delivered, b.failures_since_delivered);
    }

    /// An active ALL suppression is DO_NOT_SEND whatever the history says.
    #[test]
    fn an_all_suppression_always_blocks(
        items in proptest::collection::vec((any::<bool>(), category(), 0i64..100), 0..8),
        reason in proptest::sample::select(Reason::ALL.to_vec()),
    ) {
        let history: Vec<PastMessage> = items
            .iter()
            .map(|(ok, c, t)| {
                if *ok { past(S::Delivered, C::None, *t) } else { past(S::Failed, *c, *t) }
            })
            .collect();
        let s = [suppression(reason, Scope::All)];
        prop_assert_eq!(assess(plain_with(&s), &history).verdict, Verdict::DoNotSend);
    }
}
