use proptest::prelude::*;

use super::*;

fn suppression(scope: Scope, lifted: bool) -> Suppression {
    Suppression {
        id: "s1".into(),
        hotel_id: "h1".into(),
        address: "+33612345678".into(),
        address_hash: String::new(),
        scope,
        reason: Reason::Manual,
        corrected: None,
        source_message_id: None,
        note: String::new(),
        created_at: Utc::now(),
        created_by: "csm".into(),
        lifted_at: lifted.then(Utc::now),
        lifted_by: None,
        lift_note: None,
    }
}

#[test]
fn what_each_failure_teaches() {
    use ErrorCategory as E;
    assert_eq!(
        taught_by(E::OptedOut, Channel::Sms),
        Some((Reason::OptedOut, Scope::All))
    );
    assert_eq!(
        taught_by(E::MarketingOptOut, Channel::Whatsapp),
        Some((Reason::MarketingOptOut, Scope::Marketing))
    );
    assert_eq!(
        taught_by(E::InvalidNumber, Channel::Sms),
        Some((Reason::InvalidAddress, Scope::All))
    );
    assert_eq!(
        taught_by(E::InvalidAddress, Channel::Email),
        Some((Reason::InvalidAddress, Scope::All))
    );
    assert_eq!(
        taught_by(E::NotMobile, Channel::Whatsapp),
        Some((Reason::InvalidAddress, Scope::All))
    );
    // Failures that say nothing about the address teach nothing.
    for c in [
        E::None,
        E::Unreachable,
        E::NotOnChannel,
        E::MailboxUnavailable,
        E::ContentRejected,
        E::RateLimited,
        E::Other,
        E::OutsideWindow,
        E::SenderSetup,
    ] {
        for ch in Channel::ALL {
            assert_eq!(taught_by(c, ch), None, "{c:?} on {ch:?}");
        }
    }
}

#[test]
fn a_marketing_suppression_blocks_marketing_only() {
    let s = suppression(Scope::Marketing, false);
    assert!(s.blocks(MessageCategory::Marketing));
    for c in [
        MessageCategory::Unspecified,
        MessageCategory::Utility,
        MessageCategory::Service,
        MessageCategory::Authentication,
    ] {
        assert!(!s.blocks(c), "{c:?}");
    }
    for &c in MessageCategory::ALL {
        assert!(suppression(Scope::All, false).blocks(c));
        assert!(!suppression(Scope::All, true).blocks(c), "lifted");
    }
}

#[test]
fn only_invalid_addresses_lift_on_delivery() {
    let lifting: Vec<Reason> = Reason::ALL
        .iter()
        .copied()
        .filter(|r| r.lifted_by_delivery())
        .collect();
    assert_eq!(lifting, vec![Reason::InvalidAddress]);
}

#[test]
fn codes_round_trip() {
    for &r in Reason::ALL {
        assert_eq!(Reason::from_code(r.code()), Some(r));
    }
    for &s in Scope::ALL {
        assert_eq!(Scope::from_code(s.code()), Some(s));
    }
    for &c in MessageCategory::ALL {
        assert_eq!(MessageCategory::from_code(c.code()), Some(c));
    }
}

proptest! {
    #[test]
    fn the_hash_depends_on_the_address_and_the_secret(
        a in "[+0-9a-z@.]{1,20}",
        b in "[+0-9a-z@.]{1,20}",
        secret in proptest::collection::vec(any::<u8>(), 1..40),
        other in proptest::collection::vec(any::<u8>(), 1..40),
    ) {
        let key = AddressKey::new(&secret);
        prop_assert_eq!(key.hash(&a), key.hash(&a));
        prop_assert_eq!(key.hash(&a).len(), 64);
        if a != b {
            prop_assert_ne!(key.hash(&a), key.hash(&b));
        }
        if secret != other {
            prop_assert_ne!(key.hash(&a), AddressKey::new(&other).hash(&a));
            prop_assert_ne!(key.fingerprint(), AddressKey::new(&other).fingerprint());
        }
        // The secret never shows in logs.
        let printed = format!("{key:?}");
        prop_assert!(!printed.contains(&key.hash(&a)));
    }
}
