//! The rule book of a stay (API.md "Stays: the CSM works guests, not messages"): all the
//! messages of one guest stay, what the PMS holds for the guest, the stay's open flag
//! and today -> raise, update, resolve or dismiss that one flag. Pure: no I/O.
//!
//! Each failing message is judged by `rules::decide` (what it says about the address);
//! this file weighs the evidence of the whole stay: hard evidence raises at the first
//! failure, soft evidence (PHONE_CONFIRMED_BY_PMS) only after `confirm_after_failures`
//! failures to one address or when the guest arrives within `urgent_days`, and never
//! once the guest was reached; a stay that is over raises nothing.
use std::collections::{BTreeMap, BTreeSet, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use phonenumber::country::Id as Region;

use super::rules::{self, Decision, FlagFinding, GuestFacts, MessageFacts};
use crate::domain::arrival::first_reached;
use crate::domain::email;
use crate::domain::error_category::ErrorCategory;
use crate::domain::flag::{Flag, FlagPriority, FlagReason, FlagState};
use crate::domain::message::{Channel, Message, MessageStatus};

/// How much evidence a flag needs (`[reconcile]` settings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thresholds {
    /// Failures to one address before soft evidence raises a flag.
    pub confirm_after_failures: usize,
    /// A check-in this many days away or fewer is urgent.
    pub urgent_days: i64,
    /// Current statuses that count as a failure (default UNDELIVERED, FAILED).
    pub failing: Vec<MessageStatus>,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            confirm_after_failures: 2,
            urgent_days: 2,
            failing: vec![MessageStatus::Undelivered, MessageStatus::Failed],
        }
    }
}

/// What a new flag gets that the rules cannot know.
#[derive(Debug, Clone)]
pub struct NewFlag {
    pub id: String,
    pub run_id: Option<String>,
    pub now: DateTime<Utc>,
}

/// Everything known of one stay.
#[derive(Debug, Clone)]
pub struct StayFacts<'a> {
    pub hotel_id: &'a str,
    pub stay_key: &'a str,
    /// Every message of the stay, in any order.
    pub messages: &'a [&'a Message],
    /// The PMS record of the stay's guest, if any.
    pub guest: Option<&'a GuestFacts<'a>>,
    /// The stay's open (OPEN or ACKNOWLEDGED) flag, if any.
    pub open_flag: Option<&'a Flag>,
    /// Messages already behind a closed flag of the stay: a CSM dealt with them.
    pub covered: &'a HashSet<String>,
    pub region: Region,
    pub today: NaiveDate,
    pub now: DateTime<Utc>,
}

/// What becomes of the stay's flag.
#[derive(Debug, Clone, PartialEq)]
pub enum StayDecision {
    /// No flag, and none to raise (yet: `revisit` says whether time alone can change
    /// that, so the pass must look at the stay again even if no message changes).
    Nothing { revisit: bool },
    /// A new flag.
    Raise(Flag),
    /// The open flag, with new evidence or priority.
    Update(Flag),
    /// The open flag is closed by sentlog (RESOLVED or DISMISSED, with why).
    Close(Flag),
    /// The open flag stays as it is.
    Keep,
}

/// The order in which reasons win when a stay has several (API.md FlagReason).
const PRECEDENCE: [FlagReason; 8] = [
    FlagReason::PhoneInvalid,
    FlagReason::EmailInvalid,
    FlagReason::GuestNotInPms,
    FlagReason::PhoneMismatch,
    FlagReason::EmailMismatch,
    FlagReason::PhoneNotMobile,
    FlagReason::PmsPhoneMissing,
    FlagReason::PhoneConfirmedByPms,
];

/// Soft evidence: the PMS confirms the address and the failure may be passing (a phone
/// off, a guest abroad). Every other reason says the address itself is wrong.
pub fn is_soft(reason: FlagReason) -> bool {
    reason == FlagReason::PhoneConfirmedByPms
}

fn rank(reason: FlagReason) -> usize {
    PRECEDENCE
        .iter()
        .position(|r| *r == reason)
        .unwrap_or(PRECEDENCE.len())
}

/// The stay's dates: those of its latest message that carries them.
fn dates(messages: &[&Message]) -> (Option<NaiveDate>, Option<NaiveDate>) {
    let latest = |pick: fn(&Message) -> Option<NaiveDate>| {
        messages
            .iter()
            .filter_map(|m| pick(m).map(|d| ((m.created_at, m.id.as_str()), d)))
            .max()
            .map(|(_, d)| d)
    };
    (latest(|m| m.check_in_date), latest(|m| m.check_out_date))
}

/// The guest arrives within `urgent_days`, or is in house.
pub fn arrives_soon(
    check_in: Option<NaiveDate>,
    check_out: Option<NaiveDate>,
    today: NaiveDate,
    urgent_days: i64,
) -> bool {
    let Some(check_in) = check_in else {
        return false;
    };
    let days = (check_in - today).num_days();
    let in_house = days <= 0 && check_out.is_none_or(|out| today <= out);
    in_house || (0..=urgent_days).contains(&days)
}

/// The stay is over: its check-out is before today.
pub fn is_over(check_out: Option<NaiveDate>, today: NaiveDate) -> bool {
    check_out.is_some_and(|out| out < today)
}

pub fn priority(
    reached: bool,
    check_in: Option<NaiveDate>,
    check_out: Option<NaiveDate>,
    today: NaiveDate,
    urgent_days: i64,
) -> FlagPriority {
    if reached {
        FlagPriority::Low
    } else if arrives_soon(check_in, check_out, today, urgent_days) {
        FlagPriority::Urgent
    } else {
        FlagPriority::Normal
    }
}

/// What one failing message says, with the message.
struct Finding<'a> {
    message: &'a Message,
    finding: FlagFinding,
}

/// The address a message went to, as the rules compare it.
fn address(m: &Message) -> String {
    if m.channel.uses_phone() {
        m.recipient_phone.clone().unwrap_or_default()
    } else {
        m.recipient_email
            .as_deref()
            .map(email::normalize)
            .unwrap_or_default()
    }
}

fn facts(m: &Message) -> MessageFacts<'_> {
    MessageFacts {
        channel: m.channel,
        recipient_phone: m.recipient_phone.as_deref(),
        recipient_email: m.recipient_email.as_deref(),
        error_category: m.error_category,
        guest_name: m.guest_name.as_deref(),
    }
}

/// Whether a failing message's failure is not about the recipient (counted as skipped).
pub fn is_skipped(m: &Message, guest: Option<&GuestFacts>, region: Region) -> bool {
    rules::decide(&facts(m), guest, region) == Decision::Skip
}

/// Decides what the stay calls for. The result does not depend on the order of
/// `messages`.
pub fn decide(stay: &StayFacts, t: &Thresholds, new: &NewFlag) -> StayDecision {
    let mut messages: Vec<&Message> = stay.messages.to_vec();
    messages.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    let reached = first_reached(&messages);
    let (check_in, check_out) = dates(&messages);
    let (check_in, check_out) = match stay.open_flag {
        // A stay whose messages were purged keeps the dates its flag knew.
        Some(f) if messages.is_empty() => (f.check_in_date, f.check_out_date),
        _ => (check_in, check_out),
    };
    let over = is_over(check_out, stay.today);
    let soon = arrives_soon(check_in, check_out, stay.today, t.urgent_days);

    // What each failing message not yet dealt with says about its address.
    let findings: Vec<Finding> = messages
        .iter()
        .filter(|m| t.failing.contains(&m.status) && !stay.covered.contains(&m.id))
        .filter_map(
            |m| match rules::decide(&facts(m), stay.guest, stay.region) {
                Decision::Flag(finding) => Some(Finding {
                    message: m,
                    finding,
                }),
                Decision::Skip | Decision::NoFlag => None,
            },
        )
        .collect();
    let mut soft_failures: BTreeMap<String, usize> = BTreeMap::new();
    for f in findings.iter().filter(|f| is_soft(f.finding.reason)) {
        *soft_failures.entry(address(f.message)).or_default() += 1;
    }
    let confirmed = soft_failures
        .values()
        .any(|n| *n >= t.confirm_after_failures.max(1));
    let soft_counts = reached.is_none() && (confirmed || soon);
    let evidence: Vec<&Finding> = findings
        .iter()
        .filter(|f| !is_soft(f.finding.reason) || soft_counts)
        .collect();
    // The strongest reason; among its messages, the latest speaks for the flag.
    let lead = evidence
        .iter()
        .min_by(|a, b| {
            let key = |f: &Finding| {
                (
                    rank(f.finding.reason),
                    std::cmp::Reverse((f.message.created_at, f.message.id.clone())),
                )
            };
            key(a).cmp(&key(b))
        })
        .copied();

    let channels: BTreeSet<Channel> = messages.iter().map(|m| m.channel).collect();
    let priority = priority(
        reached.is_some(),
        check_in,
        check_out,
        stay.today,
        t.urgent_days,
    );

    let Some(open) = stay.open_flag else {
        return match lead {
            Some(lead) if !over => {
                let mut flag = Flag {
                    id: new.id.clone(),
                    hotel_id: stay.hotel_id.to_string(),
                    message_id: String::new(),
                    run_id: new.run_id.clone(),
                    reason: lead.finding.reason,
                    detail: String::new(),
                    message_phone: None,
                    pms_phone: None,
                    suggested_phone: None,
                    message_email: None,
                    pms_email: None,
                    guest_name: None,
                    campaign_name: None,
                    error_category: lead.message.error_category,
                    corrected_phone: None,
                    state: FlagState::Open,
                    resolution: None,
                    note: None,
                    created_at: new.now,
                    updated_at: new.now,
                    resolved_by: None,
                    stay_key: stay.stay_key.to_string(),
                    check_in_date: check_in,
                    check_out_date: check_out,
                    message_ids: Vec::new(),
                    attempts: 0,
                    channels_tried: Vec::new(),
                    reached_at: None,
                    reached_channel: None,
                    priority,
                };
                fill(&mut flag, lead, &evidence, &channels, reached, stay);
                StayDecision::Raise(flag)
            }
            // Soft evidence short of its threshold may count later: when the arrival
            // comes within `urgent_days`. Nothing else changes without a new message.
            _ => StayDecision::Nothing {
                revisit: !over
                    && reached.is_none()
                    && findings.iter().any(|f| is_soft(f.finding.reason))
                    && check_in.is_some_and(|d| d >= stay.today),
            },
        };
    };

    let close = |state: FlagState, why: String| {
        let mut closed = open.clone();
        closed.state = state;
        closed.resolution = Some(why);
        closed.resolved_by = Some(crate::domain::flag::RESOLVED_BY_SENTLOG.to_string());
        closed.updated_at = stay.now;
        StayDecision::Close(closed)
    };
    if over {
        let out = check_out
            .map(|d| format!(" (check-out {d})"))
            .unwrap_or_default();
        return close(
            FlagState::Dismissed,
            format!("Stay over{out}: there is no one left to reach before arrival."),
        );
    }
    let hard_now = lead.is_some_and(|l| !is_soft(l.finding.reason));
    // No failure of the stay says anything about the address any more (a late
    // delivery won, or the error table now calls the failure something a CSM cannot
    // fix): nothing is left to fix.
    let evidence_gone = findings.is_empty() && !messages.is_empty();
    if let Some((at, channel)) =
        reached.filter(|_| (is_soft(open.reason) && !hard_now) || evidence_gone)
    {
        return close(
            FlagState::Resolved,
            format!(
                "Guest reached by {} at {}.",
                channel.label(),
                at.format("%Y-%m-%d %H:%M UTC")
            ),
        );
    }
    if evidence_gone {
        // Name what the failures are now, so the CSM sees why the flag went.
        let mut now_called: Vec<&str> = messages
            .iter()
            .filter(|m| m.error_category != ErrorCategory::None)
            .map(|m| m.error_category.name())
            .collect();
        now_called.sort_unstable();
        now_called.dedup();
        let why = match now_called.as_slice() {
            [] => "no failure is left".to_string(),
            names => names.join(", "),
        };
        return close(
            FlagState::Dismissed,
            format!(
                "Not about the number: {why}. No failure of this stay says anything about \
                 the guest's address any more: nothing left to fix."
            ),
        );
    }
    let mut next = open.clone();
    next.priority = priority;
    next.check_in_date = check_in;
    next.check_out_date = check_out;
    match lead {
        Some(lead) => fill(&mut next, lead, &evidence, &channels, reached, stay),
        None => {
            next.reached_at = reached.map(|r| r.0);
            next.reached_channel = reached.map(|r| r.1);
            merge_channels(&mut next, &channels);
        }
    }
    if next == *open {
        StayDecision::Keep
    } else {
        next.updated_at = stay.now;
        StayDecision::Update(next)
    }
}

fn merge_channels(flag: &mut Flag, channels: &BTreeSet<Channel>) {
    let mut all: BTreeSet<Channel> = flag.channels_tried.iter().copied().collect();
    all.extend(channels.iter().copied());
    flag.channels_tried = all.into_iter().collect();
}

/// Sets what the evidence says on a flag: the lead message's reason and addresses,
/// every message behind it (kept from before too: purged messages stay named).
fn fill(
    flag: &mut Flag,
    lead: &Finding,
    evidence: &[&Finding],
    channels: &BTreeSet<Channel>,
    reached: Option<(DateTime<Utc>, Channel)>,
    stay: &StayFacts,
) {
    let m = lead.message;
    let f = &lead.finding;
    flag.reason = f.reason;
    flag.detail = f.detail.clone();
    flag.message_phone = m.recipient_phone.clone().filter(|_| m.channel.uses_phone());
    flag.message_email = m.recipient_email.as_deref().map(email::normalize);
    flag.pms_phone = f.pms_phone.clone();
    flag.suggested_phone = f.suggested_phone.clone();
    flag.pms_email = f.pms_email.clone();
    flag.guest_name = stay
        .guest
        .and_then(|g| g.full_name.map(str::to_string))
        .or_else(|| m.guest_name.clone());
    flag.campaign_name = m.campaign_name.clone();
    flag.error_category = m.error_category;
    let mut ids = flag.message_ids.clone();
    for e in evidence {
        if !ids.contains(&e.message.id) {
            ids.push(e.message.id.clone());
        }
    }
    // Oldest first: ids are UUIDv7, ordered by creation.
    ids.sort();
    flag.message_id = ids.last().cloned().unwrap_or_else(|| m.id.clone());
    flag.attempts = ids.len() as i32;
    flag.message_ids = ids;
    flag.reached_at = reached.map(|r| r.0);
    flag.reached_channel = reached.map(|r| r.1);
    merge_channels(flag, channels);
}

#[cfg(test)]
mod tests;
