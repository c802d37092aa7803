//! What sentlog knows of a recipient before a campaign goes out (CheckRecipients).
use chrono::{DateTime, Utc};

use super::error_category::ErrorCategory;
use super::message::MessageCategory;
use super::message::{Channel, MessageStatus};
use super::suppression::{self, Reason, Suppression};

/// One past message to the recipient, as far as the verdict cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PastMessage {
    pub id: String,
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
    /// The suppression that decided DO_NOT_SEND: (id, reason).
    pub suppression: Option<(String, Reason)>,
}

/// Errors that say the recipient itself must not be messaged again as it is, for a
/// message of `asked`: those that teach a suppression whose scope covers it.
fn is_blocking(category: ErrorCategory, channel: Channel, asked: MessageCategory) -> bool {
    suppression::taught_by(category, channel).is_some_and(|(_, scope)| scope.blocks(asked))
}

/// Failures that say nothing about the address for a message of `asked`: they never
/// make a recipient SUSPECT.
fn says_nothing_about_the_address(category: ErrorCategory, asked: MessageCategory) -> bool {
    match category {
        ErrorCategory::OutsideWindow
        | ErrorCategory::ContentRejected
        | ErrorCategory::RateLimited
        | ErrorCategory::SenderSetup => true,
        ErrorCategory::MarketingOptOut => asked != MessageCategory::Marketing,
        _ => false,
    }
}

/// What CheckRecipients was asked about one recipient, beside its history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asked<'a> {
    /// Whether the input parses as a phone or email.
    pub parses: bool,
    pub has_open_flag: bool,
    /// A resolved flag (or CORRECTED suppression) replaced this number.
    pub corrected: bool,
    /// The category of the campaign about to go out.
    pub category: MessageCategory,
    /// The recipient's suppressions in the hotel, lifted ones included: a failure a
    /// suppression was learnt from is settled by that suppression (lifted by a person
    /// or a delivery, it blocks no more).
    pub suppressions: &'a [Suppression],
}

/// The verdict: DO_NOT_SEND on a suppression that blocks the category asked, on a
/// blocking error since the last delivery, or on a resolved flag that corrected the
/// number; SUSPECT on failures about the address since the last delivery or an open
/// flag; OK otherwise (delivered recently, or unknown with no failure).
pub fn assess(asked: Asked, history: &[PastMessage]) -> Knowledge {
    let Asked {
        parses,
        has_open_flag,
        corrected,
        category,
        suppressions,
    } = asked;
    // The suppression that decides: a correction first (it says what to use
    // instead), then consent, then the others; the oldest of a reason.
    let suppression = suppressions
        .iter()
        .filter(|s| s.blocks(category))
        .min_by_key(|s| {
            let rank = match s.reason {
                Reason::Corrected => 0,
                Reason::OptedOut | Reason::MarketingOptOut | Reason::Manual => 1,
                Reason::InvalidAddress => 2,
            };
            (rank, s.created_at)
        });
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
    let settled = |m: &PastMessage| {
        suppressions
            .iter()
            .any(|s| s.source_message_id.as_deref() == Some(m.id.as_str()))
    };
    failures.sort_by_key(|m| m.at);
    let last_error_category = failures
        .last()
        .map(|m| m.error_category)
        .unwrap_or_default();
    let verdict = if !parses {
        Verdict::UnknownFormat
    } else if suppression.is_some()
        || corrected
        || failures
            .iter()
            .any(|m| !settled(m) && is_blocking(m.error_category, m.channel, category))
    {
        Verdict::DoNotSend
    } else if has_open_flag
        || failures
            .iter()
            .any(|m| !settled(m) && !says_nothing_about_the_address(m.error_category, category))
    {
        Verdict::Suspect
    } else {
        Verdict::Ok
    };
    Knowledge {
        last_delivered_at,
        failures_since_delivered: failures.len() as i64,
        last_error_category,
        verdict,
        suppression: suppression
            .filter(|_| parses)
            .map(|s| (s.id.clone(), s.reason)),
    }
}

#[cfg(test)]
mod tests;
