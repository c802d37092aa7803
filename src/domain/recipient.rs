//! What sentlog knows of a recipient before a campaign goes out (CheckRecipients).
use chrono::{DateTime, Utc};

use super::error_category::ErrorCategory;
use super::message::{Channel, MessageStatus};

/// One past message to the recipient, as far as the verdict cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PastMessage {
    pub channel: Channel,
    pub status: MessageStatus,
    pub error_category: ErrorCategory,
    /// When its current status happened.
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Ok = 1,
    Suspect = 2,
    DoNotSend = 3,
    UnknownFormat = 4,
}

impl Verdict {
    pub fn code(self) -> i32 {
        self as i32
    }
}

/// The summary CheckRecipients answers for one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Knowledge {
    pub last_delivered_at: Option<DateTime<Utc>>,
    pub failures_since_delivered: i64,
    pub last_error_category: ErrorCategory,
    pub verdict: Verdict,
}

/// Errors that say the recipient itself must not be messaged again as it is.
fn is_blocking(category: ErrorCategory, channel: Channel) -> bool {
    match category {
        ErrorCategory::InvalidNumber | ErrorCategory::InvalidAddress | ErrorCategory::OptedOut => {
            true
        }
        ErrorCategory::NotMobile => channel.uses_phone(),
        _ => false,
    }
}

/// The verdict: DO_NOT_SEND on a blocking error since the last delivery or a resolved
/// flag that corrected the number; SUSPECT on failures since the last delivery or an
/// open flag; OK otherwise (delivered recently, or unknown with no failure).
pub fn assess(
    parses: bool,
    history: &[PastMessage],
    has_open_flag: bool,
    corrected: bool,
) -> Knowledge {
    let last_delivered_at = history
        .iter()
        .filter(|m| matches!(m.status, MessageStatus::Delivered | MessageStatus::Read))
        .map(|m| m.at)
        .max();
    let mut failures: Vec<&PastMessage> = history
        .iter()
        .filter(|m| matches!(m.status, MessageStatus::Failed | MessageStatus::Undelivered))
        .filter(|m| last_delivered_at.is_none_or(|d| m.at > d))
        .collect();
    failures.sort_by_key(|m| m.at);
    let last_error_category = failures
        .last()
        .map(|m| m.error_category)
        .unwrap_or_default();
    let verdict = if !parses {
        Verdict::UnknownFormat
    } else if corrected
        || failures
            .iter()
            .any(|m| is_blocking(m.error_category, m.channel))
    {
        Verdict::DoNotSend
    } else if !failures.is_empty() || has_open_flag {
        Verdict::Suspect
    } else {
        Verdict::Ok
    };
    Knowledge {
        last_delivered_at,
        failures_since_delivered: failures.len() as i64,
        last_error_category,
        verdict,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn past(status: MessageStatus, cat: ErrorCategory, secs: i64) -> PastMessage {
        PastMessage {
            channel: Channel::Sms,
            status,
            error_category: cat,
            at: Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap(),
        }
    }

    #[test]
    fn verdicts() {
        use ErrorCategory as C;
        use MessageStatus as S;
        assert_eq!(
            assess(false, &[], false, false).verdict,
            Verdict::UnknownFormat
        );
        assert_eq!(assess(true, &[], false, false).verdict, Verdict::Ok);
        let k = assess(true, &[past(S::Delivered, C::None, 5)], false, false);
        assert_eq!(k.verdict, Verdict::Ok);
        assert!(k.last_delivered_at.is_some());
        let k = assess(
            true,
            &[past(S::Undelivered, C::Unreachable, 5)],
            false,
            false,
        );
        assert_eq!(
            (k.verdict, k.failures_since_delivered),
            (Verdict::Suspect, 1)
        );
        assert_eq!(k.last_error_category, C::Unreachable);
        let k = assess(true, &[past(S::Failed, C::InvalidNumber, 5)], false, false);
        assert_eq!(k.verdict, Verdict::DoNotSend);
        // A delivery after the failure clears it.
        let k = assess(
            true,
            &[
                past(S::Failed, C::InvalidNumber, 5),
                past(S::Read, C::None, 9),
            ],
            false,
            false,
        );
        assert_eq!((k.verdict, k.failures_since_delivered), (Verdict::Ok, 0));
        assert_eq!(assess(true, &[], true, false).verdict, Verdict::Suspect);
        assert_eq!(assess(true, &[], true, true).verdict, Verdict::DoNotSend);
        assert_eq!(
            assess(true, &[past(S::Failed, C::OptedOut, 1)], false, false).verdict,
            Verdict::DoNotSend
        );
    }
}
