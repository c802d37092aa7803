//! The rule book of the reconciliation (API.md, FlagReason): one undelivered message and
//! what the PMS holds for its guest -> a flag reason, or nothing. Pure: no I/O.
use phonenumber::country::Id as Region;

use crate::domain::error_category::ErrorCategory;
use crate::domain::flag::FlagReason;
use crate::domain::message::Channel;
use crate::domain::{email, phone};

/// What the rules need of a message.
#[derive(Debug, Clone)]
pub struct MessageFacts<'a> {
    pub channel: Channel,
    /// As stored: E.164 when it parsed.
    pub recipient_phone: Option<&'a str>,
    pub recipient_email: Option<&'a str>,
    pub error_category: ErrorCategory,
    pub guest_name: Option<&'a str>,
}

/// What the PMS holds for the message's guest.
#[derive(Debug, Clone, Default)]
pub struct GuestFacts<'a> {
    pub full_name: Option<&'a str>,
    /// As the PMS holds it (any format).
    pub phone: Option<&'a str>,
    pub email: Option<&'a str>,
    /// The email is a booking site's temporary relay: never a mismatch by itself.
    pub email_is_ota_relay: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The failure is not about the recipient (opted out, content, rate limit): a CSM
    /// cannot fix it by correcting a number.
    Skip,
    /// Nothing for a CSM to do.
    NoFlag,
    Flag(FlagFinding),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagFinding {
    pub reason: FlagReason,
    /// The PMS's valid number when it differs from the one the message went to.
    pub suggested_phone: Option<String>,
    /// The PMS's number, normalised when it parses.
    pub pms_phone: Option<String>,
    pub pms_email: Option<String>,
    /// One sentence a CSM can act on without opening anything else.
    pub detail: String,
}

/// Decides what one undelivered or failed message calls for. Phones are compared as
/// E.164 after reading both sides in the hotel's region; emails trimmed and case-folded.
pub fn decide(m: &MessageFacts, guest: Option<&GuestFacts>, region: Region) -> Decision {
    if m.error_category.is_not_about_the_recipient() {
        return Decision::Skip;
    }
    if m.channel == Channel::Email {
        decide_email(m, guest)
    } else {
        decide_phone(m, guest, region)
    }
}

fn who(m: &MessageFacts, guest: Option<&GuestFacts>) -> String {
    guest
        .and_then(|g| g.full_name)
        .or(m.guest_name)
        .map(|n| format!(" for {n}"))
        .unwrap_or_default()
}

fn decide_phone(m: &MessageFacts, guest: Option<&GuestFacts>, region: Region) -> Decision {
    let channel = if m.channel == Channel::Sms {
        "SMS"
    } else {
        "WhatsApp message"
    };
    let sent_to = m.recipient_phone.unwrap_or("");
    let ours = phone::normalize(sent_to, region);
    let pms = guest
        .and_then(|g| g.phone)
        .filter(|p| !p.trim().is_empty())
        .map(|p| phone::normalize(p, region));
    let pms_phone = pms.as_ref().map(|p| p.stored.clone());
    let suggested = pms
        .as_ref()
        .filter(|p| p.valid && p.stored != ours.stored)
        .map(|p| p.stored.clone());
    let whom = who(m, guest);
    let flag = |reason: FlagReason, detail: String| {
        Decision::Flag(FlagFinding {
            reason,
            suggested_phone: suggested.clone(),
            pms_phone: pms_phone.clone(),
            pms_email: None,
            detail,
        })
    };
    let try_pms = match &suggested {
        Some(s) => format!(" The PMS holds {s}{whom}: try it."),
        None => String::new(),
    };

    // Provider evidence first: the provider said the number itself is bad.
    if m.error_category == ErrorCategory::InvalidNumber || !ours.valid {
        return flag(
            FlagReason::PhoneInvalid,
            format!("{channel} to {sent_to:?} failed: it is not a valid phone number.{try_pms}"),
        );
    }
    if m.error_category == ErrorCategory::NotMobile {
        return flag(
            FlagReason::PhoneNotMobile,
            format!(
                "{channel} to {sent_to} failed: the provider says it is a landline that cannot receive it.{try_pms}"
            ),
        );
    }
    let Some(guest) = guest else {
        return flag(
            FlagReason::GuestNotInPms,
            format!(
                "{channel} to {sent_to} was not delivered and the PMS has no record of this guest or reservation: check the booking."
            ),
        );
    };
    if let Some(s) = &suggested {
        return flag(
            FlagReason::PhoneMismatch,
            format!(
                "{channel} to {sent_to} was not delivered; the PMS holds {s}{whom}: the message went to a stale or mistyped number."
            ),
        );
    }
    if ours.fixed_line {
        return flag(
            FlagReason::PhoneNotMobile,
            format!(
                "{channel} went to {sent_to}, a landline: ask the guest{whom} for a mobile number."
            ),
        );
    }
    match &pms {
        None => flag(
            FlagReason::PmsPhoneMissing,
            format!(
                "{channel} to {sent_to} was not delivered and the PMS has no phone{whom}: add the guest's number to the PMS."
            ),
        ),
        Some(p) if !p.valid => flag(
            FlagReason::PmsPhoneMissing,
            format!(
                "{channel} to {sent_to} was not delivered and the PMS number {:?}{whom} is not a valid phone: correct it in the PMS.",
                guest.phone.unwrap_or("")
            ),
        ),
        Some(_) => flag(
            FlagReason::PhoneConfirmedByPms,
            format!(
                "{channel} to {sent_to} was not delivered although the PMS holds the same number{whom}: the number on file is likely wrong; contact the guest another way."
            ),
        ),
    }
}

fn decide_email(m: &MessageFacts, guest: Option<&GuestFacts>) -> Decision {
    let sent_to = m.recipient_email.unwrap_or("");
    let pms_email = guest
        .and_then(|g| g.email)
        .map(email::normalize)
        .filter(|e| !e.is_empty());
    let flag = |reason: FlagReason, detail: String| {
        Decision::Flag(FlagFinding {
            reason,
            suggested_phone: None,
            pms_phone: None,
            pms_email: pms_email.clone(),
            detail,
        })
    };
    let whom = who(m, guest);
    if m.error_category == ErrorCategory::InvalidAddress || !email::is_valid(sent_to) {
        let hint = match &pms_email {
            Some(e) if *e != email::normalize(sent_to) && email::is_valid(e) => {
                format!(" The PMS holds {e}{whom}: try it.")
            }
            _ => String::new(),
        };
        return flag(
            FlagReason::EmailInvalid,
            format!("Email to {sent_to:?} failed: the address is not valid.{hint}"),
        );
    }
    let Some(guest) = guest else {
        return flag(
            FlagReason::GuestNotInPms,
            format!(
                "Email to {sent_to} was not delivered and the PMS has no record of this guest or reservation: check the booking."
            ),
        );
    };
    match &pms_email {
        Some(e)
            if *e != email::normalize(sent_to)
                && email::is_valid(e)
                && !guest.email_is_ota_relay =>
        {
            flag(
                FlagReason::EmailMismatch,
                format!(
                    "Email to {sent_to} was not delivered; the PMS holds {e}{whom}: the message went to a stale or mistyped address."
                ),
            )
        }
        _ => Decision::NoFlag,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sms(phone: &str, cat: ErrorCategory) -> MessageFacts<'_> {
        MessageFacts {
            channel: Channel::Sms,
            recipient_phone: Some(phone),
            recipient_email: None,
            error_category: cat,
            guest_name: Some("Camille Martin"),
        }
    }

    fn guest(phone: Option<&str>) -> GuestFacts<'_> {
        GuestFacts {
            full_name: Some("Camille Martin"),
            phone,
            email: None,
            email_is_ota_relay: false,
        }
    }

    fn reason(d: &Decision) -> Option<FlagReason> {
        match d {
            Decision::Flag(f) => Some(f.reason),
            _ => None,
        }
    }

    use ErrorCategory as C;
    use FlagReason as R;

    #[test]
    fn every_phone_reason() {
        let fr = Region::FR;
        let cases: Vec<(MessageFacts, Option<GuestFacts>, Option<R>)> = vec![
            (
                sms("+33612345678", C::Unreachable),
                Some(guest(Some("06 12 34 56 87"))),
                Some(R::PhoneMismatch),
            ),
            (
                sms("call desk", C::Other),
                Some(guest(Some("0612345678"))),
                Some(R::PhoneInvalid),
            ),
            (
                sms("+33612345678", C::InvalidNumber),
                None,
                Some(R::PhoneInvalid),
            ),
            (
                sms("+33145678901", C::Other),
                Some(guest(Some("+33145678901"))),
                Some(R::PhoneNotMobile),
            ),
            (
                sms("+33612345678", C::NotMobile),
                None,
                Some(R::PhoneNotMobile),
            ),
            (
                sms("+33612345678", C::Unreachable),
                Some(guest(Some("+33 6 12 34 56 78"))),
                Some(R::PhoneConfirmedByPms),
            ),
            (
                sms("+33612345678", C::Unreachable),
                Some(guest(None)),
                Some(R::PmsPhoneMissing),
            ),
            (
                sms("+33612345678", C::Unreachable),
                Some(guest(Some("n/a"))),
                Some(R::PmsPhoneMissing),
            ),
            (sms("+33612345678", C::None), None, Some(R::GuestNotInPms)),
            (sms("+33612345678", C::OptedOut), None, None),
            (
                sms("+33612345678", C::ContentRejected),
                Some(guest(Some("0699999999"))),
                None,
            ),
            (sms("+33612345678", C::RateLimited), None, None),
        ];
        for (m, g, expected) in cases {
            let d = decide(&m, g.as_ref(), fr);
            assert_eq!(reason(&d), expected, "{m:?} {g:?}: {d:?}");
            if let Decision::Flag(f) = &d {
                assert!(
                    f.detail.ends_with('.') && f.detail.len() > 30,
                    "{}",
                    f.detail
                );
            }
        }
        assert_eq!(
            decide(&sms("+33612345678", C::OptedOut), None, fr),
            Decision::Skip
        );
    }

    #[test]
    fn provider_evidence_beats_pms_silence_and_suggests() {
        let d = decide(
            &sms("+33612345678", C::InvalidNumber),
            Some(&guest(Some("06 12 34 56 87"))),
            Region::FR,
        );
        let Decision::Flag(f) = d else { panic!() };
        assert_eq!(f.reason, R::PhoneInvalid);
        assert_eq!(f.suggested_phone.as_deref(), Some("+33612345687"));
    }

    #[test]
    fn mews_style_numbers_are_normalised() {
        let d = decide(
            &sms("+420601123456", C::Unreachable),
            Some(&guest(Some("00420 601 123 456"))),
            Region::FR,
        );
        assert_eq!(reason(&d), Some(R::PhoneConfirmedByPms));
        let d = decide(
            &sms("+33612345678", C::Unreachable),
            Some(&guest(Some("0033612345678"))),
            Region::GB,
        );
        assert_eq!(reason(&d), Some(R::PhoneConfirmedByPms));
    }

    #[test]
    fn swapped_digits_are_a_mismatch() {
        let d = decide(
            &sms("+33612345678", C::Unreachable),
            Some(&guest(Some("+33612345687"))),
            Region::FR,
        );
        let Decision::Flag(f) = d else { panic!() };
        assert_eq!(f.reason, R::PhoneMismatch);
        assert_eq!(f.suggested_phone.as_deref(), Some("+33612345687"));
        assert!(f.detail.contains("+33612345687"));
    }

    #[test]
    fn email_reasons() {
        let mail = |addr: &'static str, cat: C| MessageFacts {
            channel: Channel::Email,
            recipient_phone: None,
            recipient_email: Some(addr),
            error_category: cat,
            guest_name: None,
        };
        let g = |e: &'static str, ota: bool| GuestFacts {
            full_name: Some("Anna B"),
            phone: None,
            email: Some(e),
            email_is_ota_relay: ota,
        };
        assert_eq!(
            reason(&decide(
                &mail("anna@example.com", C::InvalidAddress),
                None,
                Region::FR
            )),
            Some(R::EmailInvalid)
        );
        assert_eq!(
            reason(&decide(
                &mail("anna-at-example", C::Other),
                None,
                Region::FR
            )),
            Some(R::EmailInvalid)
        );
        assert_eq!(
            reason(&decide(
                &mail("anna@example.com", C::MailboxUnavailable),
                None,
                Region::FR
            )),
            Some(R::GuestNotInPms)
        );
        assert_eq!(
            reason(&decide(
                &mail("anna@example.com", C::MailboxUnavailable),
                Some(&g("anna.b@example.org", false)),
                Region::FR
            )),
            Some(R::EmailMismatch)
        );
        assert_eq!(
            decide(
                &mail("Anna@Example.com ", C::MailboxUnavailable),
                Some(&g("anna@example.com", false)),
                Region::FR
            ),
            Decision::NoFlag
        );
        assert_eq!(
            decide(
                &mail("anna@example.com", C::MailboxUnavailable),
                Some(&g("x123@guest.booking.com", true)),
                Region::FR
            ),
            Decision::NoFlag
        );
    }

    proptest! {
        /// Writing the same number nationally or internationally is never a mismatch.
        #[test]
        fn formats_of_one_number_never_mismatch(n in 0u32..1_000_000) {
            let national = format!("06 12 {:02} {:02} {:02}", n / 10_000, n / 100 % 100, n % 100);
            let e164 = phone::normalize(&national, Region::FR).stored;
            let international = format!("00{}", &e164[1..]);
            for pms in [national.as_str(), e164.as_str(), international.as_str()] {
                let d = decide(&sms(&e164, C::Unreachable), Some(&guest(Some(pms))), Region::FR);
                prop_assert_eq!(reason(&d), Some(R::PhoneConfirmedByPms));
            }
        }

        /// Whatever the inputs, a decision is made and a flag always explains itself.
        #[test]
        fn total_and_explained(p in "\\PC{0,20}", q in "\\PC{0,20}", cat in 0i32..14) {
            let cat = C::from_code(cat).unwrap();
            let m = sms(&p, cat);
            let g = guest(Some(&q));
            for d in [decide(&m, Some(&g), Region::FR), decide(&m, None, Region::FR)] {
                if let Decision::Flag(f) = d {
                    prop_assert!(!f.detail.is_empty());
                    if let Some(s) = f.suggested_phone {
                        prop_assert!(s.starts_with('+'));
                    }
                }
            }
        }
    }
}
