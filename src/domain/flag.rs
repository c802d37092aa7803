//! Flags raised for a CSM: reasons, states, and the workflow they move along.
use super::FieldError;

/// Why a message was flagged. Codes are stored: never renumber.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FlagReason {
    PhoneMismatch = 1,
    PhoneInvalid = 2,
    PhoneNotMobile = 3,
    PhoneConfirmedByPms = 4,
    PmsPhoneMissing = 5,
    GuestNotInPms = 6,
    EmailMismatch = 7,
    EmailInvalid = 8,
}

impl FlagReason {
    pub const ALL: [FlagReason; 8] = [
        FlagReason::PhoneMismatch,
        FlagReason::PhoneInvalid,
        FlagReason::PhoneNotMobile,
        FlagReason::PhoneConfirmedByPms,
        FlagReason::PmsPhoneMissing,
        FlagReason::GuestNotInPms,
        FlagReason::EmailMismatch,
        FlagReason::EmailInvalid,
    ];

    pub fn code(self) -> i32 {
        self as i32
    }

    pub fn from_code(code: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }

    /// Reads `flag_reason_x`, `X` or `FLAG_REASON_X` (see `domain::names`).
    pub fn from_name(text: &str) -> Option<Self> {
        super::names::from_name(&Self::ALL, Self::name, "FLAG_REASON_", text)
    }

    pub fn name(self) -> &'static str {
        match self {
            FlagReason::PhoneMismatch => "PHONE_MISMATCH",
            FlagReason::PhoneInvalid => "PHONE_INVALID",
            FlagReason::PhoneNotMobile => "PHONE_NOT_MOBILE",
            FlagReason::PhoneConfirmedByPms => "PHONE_CONFIRMED_BY_PMS",
            FlagReason::PmsPhoneMissing => "PMS_PHONE_MISSING",
            FlagReason::GuestNotInPms => "GUEST_NOT_IN_PMS",
            FlagReason::EmailMismatch => "EMAIL_MISMATCH",
            FlagReason::EmailInvalid => "EMAIL_INVALID",
        }
    }
}

/// Where a flag is in the CSM's workflow. Codes are stored: never renumber.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FlagState {
    Open = 1,
    Acknowledged = 2,
    Resolved = 3,
    Dismissed = 4,
}

impl FlagState {
    pub const ALL: [FlagState; 4] = [
        FlagState::Open,
        FlagState::Acknowledged,
        FlagState::Resolved,
        FlagState::Dismissed,
    ];

    pub fn code(self) -> i32 {
        self as i32
    }

    pub fn from_code(code: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    /// Reads `flag_state_x`, `X` or `FLAG_STATE_X` (see `domain::names`).
    pub fn from_name(text: &str) -> Option<Self> {
        super::names::from_name(&Self::ALL, Self::name, "FLAG_STATE_", text)
    }

    pub fn name(self) -> &'static str {
        match self {
            FlagState::Open => "OPEN",
            FlagState::Acknowledged => "ACKNOWLEDGED",
            FlagState::Resolved => "RESOLVED",
            FlagState::Dismissed => "DISMISSED",
        }
    }

    /// Still in the queue: counts for "one open flag per message".
    pub fn is_open(self) -> bool {
        matches!(self, FlagState::Open | FlagState::Acknowledged)
    }
}

/// How soon a CSM should look at a flag. Codes are stored and sort the queue
/// ascending: never renumber.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FlagPriority {
    /// Not reached, and the check-in is within `urgent_days` or the guest is in house.
    Urgent = 1,
    /// Not reached.
    Normal = 2,
    /// Reached on another channel; the address evidence stands.
    Low = 3,
}

impl FlagPriority {
    pub const ALL: [FlagPriority; 3] = [
        FlagPriority::Urgent,
        FlagPriority::Normal,
        FlagPriority::Low,
    ];

    pub fn code(self) -> i32 {
        self as i32
    }

    pub fn from_code(code: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.code() == code)
    }

    /// Reads `urgent`, `LOW` or `FLAG_PRIORITY_NORMAL` (see `domain::names`).
    pub fn from_name(text: &str) -> Option<Self> {
        super::names::from_name(&Self::ALL, Self::name, "FLAG_PRIORITY_", text)
    }

    pub fn name(self) -> &'static str {
        match self {
            FlagPriority::Urgent => "URGENT",
            FlagPriority::Normal => "NORMAL",
            FlagPriority::Low => "LOW",
        }
    }
}

/// The order of the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum FlagOrder {
    /// Priority, then check-in date (none last), then creation: who to call first.
    #[default]
    Urgency,
    /// Creation, oldest first (the queue's order before stays).
    Oldest,
}

/// `resolved_by` of a flag the reconciliation closed itself.
pub const RESOLVED_BY_SENTLOG: &str = "sentlog";

/// A CSM's change to a flag, as validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagChange {
    /// None: only the note (or resolution) changes.
    pub state: Option<FlagState>,
    pub note: Option<String>,
    pub resolution: Option<String>,
    /// E.164 of the right number a CSM found.
    pub corrected_phone: Option<String>,
}

/// Checks a change on its own: a corrected phone goes with resolving.
pub fn check_change(change: &FlagChange) -> Result<(), FieldError> {
    if change.corrected_phone.is_some() && change.state != Some(FlagState::Resolved) {
        return Err(FieldError::new(
            "corrected_phone",
            "goes with state FLAG_STATE_RESOLVED",
        ));
    }
    Ok(())
}

/// The workflow: OPEN -> ACKNOWLEDGED -> RESOLVED or DISMISSED. Asking for the state a
/// flag is already in changes its note only (a retried call is harmless) while it is
/// still open; a closed flag no longer changes. Err says why, for FAILED_PRECONDITION.
pub fn check_move(from: FlagState, to: Option<FlagState>) -> Result<(), String> {
    let to = to.unwrap_or(from);
    if !from.is_open() {
        return Err(format!(
            "flag is {}; a closed flag no longer changes",
            from.name()
        ));
    }
    let allowed = from == to
        || matches!(
            (from, to),
            (FlagState::Open, FlagState::Acknowledged)
                | (FlagState::Acknowledged, FlagState::Resolved)
                | (FlagState::Acknowledged, FlagState::Dismissed)
        );
    if allowed {
        Ok(())
    } else {
        Err(format!(
            "a flag moves OPEN -> ACKNOWLEDGED -> RESOLVED or DISMISSED; {} -> {} is not a move",
            from.name(),
            to.name()
        ))
    }
}

/// A flag as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Flag {
    pub id: String,
    pub hotel_id: String,
    pub message_id: String,
    pub run_id: Option<String>,
    pub reason: FlagReason,
    pub detail: String,
    pub message_phone: Option<String>,
    pub pms_phone: Option<String>,
    pub suggested_phone: Option<String>,
    pub message_email: Option<String>,
    pub pms_email: Option<String>,
    pub guest_name: Option<String>,
    pub campaign_name: Option<String>,
    pub error_category: super::error_category::ErrorCategory,
    pub corrected_phone: Option<String>,
    pub state: FlagState,
    pub resolution: Option<String>,
    pub note: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    pub resolved_by: Option<String>,
    /// The stay the flag is about (API.md "Stays"), within its hotel.
    pub stay_key: String,
    pub check_in_date: Option<chrono::NaiveDate>,
    pub check_out_date: Option<chrono::NaiveDate>,
    /// Every failing message behind the flag, oldest first; `message_id` is the last.
    pub message_ids: Vec<String>,
    pub attempts: i32,
    /// The channels the stay's messages were sent on.
    pub channels_tried: Vec<super::message::Channel>,
    pub reached_at: Option<chrono::DateTime<chrono::Utc>>,
    pub reached_channel: Option<super::message::Channel>,
    pub priority: FlagPriority,
}

impl Flag {
    /// Where the flag stands in the urgency order; stays without a date come last.
    pub fn queue_check_in(&self) -> chrono::NaiveDate {
        self.check_in_date.unwrap_or(NO_CHECK_IN)
    }
}

/// The queue's stand-in for "no check-in date": the last date a request may carry
/// (`message::YEARS`), so stays without one come last.
pub const NO_CHECK_IN: chrono::NaiveDate = match chrono::NaiveDate::from_ymd_opt(9999, 12, 31) {
    Some(d) => d,
    None => panic!("9999-12-31 is a date"),
};

/// The CSM queue's filter, validated; `hotel_ids` is the resolved scope.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FlagQuery {
    pub hotel_ids: Vec<String>,
    pub states: Vec<FlagState>,
    pub reasons: Vec<FlagReason>,
    /// Lower-cased substring of the campaign name.
    pub campaign_name: Option<String>,
    pub created_after: Option<chrono::DateTime<chrono::Utc>>,
    pub created_before: Option<chrono::DateTime<chrono::Utc>>,
    pub priorities: Vec<FlagPriority>,
    pub check_in_from: Option<chrono::NaiveDate>,
    pub check_in_to: Option<chrono::NaiveDate>,
    pub order: FlagOrder,
}

impl FlagQuery {
    pub fn fingerprint(&self) -> [u8; 8] {
        super::page::fingerprint(&format!("flags:{self:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use FlagState::*;

    #[test]
    fn workflow() {
        let to = |s: FlagState| Some(s);
        let ok = [
            (Open, Acknowledged),
            (Acknowledged, Resolved),
            (Acknowledged, Dismissed),
            (Open, Open),
            (Acknowledged, Acknowledged),
        ];
        for (from, target) in ok {
            assert!(
                check_move(from, to(target)).is_ok(),
                "{from:?} -> {target:?}"
            );
        }
        let refused = [
            (Open, Resolved),
            (Open, Dismissed),
            (Acknowledged, Open),
            (Resolved, Open),
            (Resolved, Resolved),
            (Dismissed, Acknowledged),
        ];
        for (from, target) in refused {
            assert!(
                check_move(from, to(target)).is_err(),
                "{from:?} -> {target:?}"
            );
        }
    }

    #[test]
    fn corrected_phone_only_when_resolving() {
        let mut c = FlagChange {
            state: Some(Acknowledged),
            note: None,
            resolution: None,
            corrected_phone: Some("+33612345678".into()),
        };
        assert_eq!(check_change(&c).unwrap_err().field, "corrected_phone");
        c.state = Some(Resolved);
        assert!(check_change(&c).is_ok());
    }
}
