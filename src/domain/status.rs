//! Status precedence: the current status of a message is the winner among every event
//! received, whatever order they arrived in (API.md, "Status precedence").
use chrono::{DateTime, Utc};

use super::error_category::ErrorCategory;
use super::message::MessageStatus;

/// Higher rank wins. A late SENT never hides a failure; a DELIVERED after a failure
/// means the guest got it (several devices); READ is the end of the road.
pub fn rank(status: MessageStatus) -> u8 {
    match status {
        MessageStatus::Pending => 0,
        MessageStatus::Scheduled => 1,
        MessageStatus::Validated => 2,
        MessageStatus::Cancelled => 3,
        MessageStatus::Sent => 4,
        MessageStatus::Failed | MessageStatus::Undelivered => 5,
        MessageStatus::Delivered => 6,
        MessageStatus::Read => 7,
    }
}

/// One status report about a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusReport {
    pub status: MessageStatus,
    pub occurred_at: DateTime<Utc>,
    pub event_id: String,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub error_category: ErrorCategory,
}

/// The part of a message that status events decide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusState {
    pub status: MessageStatus,
    pub status_changed_at: DateTime<Utc>,
    /// The winning event's id: the last tie-breaker.
    pub status_event_id: String,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub error_category: ErrorCategory,
    pub sent_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub read_at: Option<DateTime<Utc>>,
    pub failed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The report is now the current status.
    Applied,
    /// Kept in history; a higher-ranked (or earlier equal-ranked) status stands.
    Stale,
}

impl StatusState {
    /// The state of a message whose only event is `first`.
    pub fn from_first(first: &StatusReport) -> Self {
        let blank = StatusState {
            status: first.status,
            status_changed_at: first.occurred_at,
            status_event_id: first.event_id.clone(),
            error_code: None,
            error_message: None,
            error_category: ErrorCategory::None,
            sent_at: None,
            delivered_at: None,
            read_at: None,
            failed_at: None,
        };
        let (mut state, _) = apply(&blank, first);
        state.take_winner(first);
        state
    }

    fn take_winner(&mut self, report: &StatusReport) {
        self.status = report.status;
        self.status_changed_at = report.occurred_at;
        self.status_event_id = report.event_id.clone();
        self.error_code = report.error_code.clone();
        self.error_message = report.error_message.clone();
        self.error_category = report.error_category;
    }
}

/// Does `report` beat the current winner? Rank, then earlier time, then smaller id.
pub fn beats(report: &StatusReport, state: &StatusState) -> bool {
    let (new_rank, cur_rank) = (rank(report.status), rank(state.status));
    if new_rank != cur_rank {
        return new_rank > cur_rank;
    }
    (report.occurred_at, report.event_id.as_str())
        < (state.status_changed_at, state.status_event_id.as_str())
}

/// Folds one new (not duplicate) report into the state. Per-status timestamps take the
/// earliest report of that status, winner or not.
pub fn apply(state: &StatusState, report: &StatusReport) -> (StatusState, Verdict) {
    let mut next = state.clone();
    let at = Some(report.occurred_at);
    let earliest = |slot: Option<DateTime<Utc>>| match slot {
        Some(t) if t <= report.occurred_at => Some(t),
        _ => at,
    };
    match report.status {
        MessageStatus::Sent => next.sent_at = earliest(next.sent_at),
        MessageStatus::Delivered => next.delivered_at = earliest(next.delivered_at),
        MessageStatus::Read => next.read_at = earliest(next.read_at),
        MessageStatus::Failed | MessageStatus::Undelivered => {
            next.failed_at = earliest(next.failed_at)
        }
        _ => {}
    }
    if beats(report, state) {
        next.take_winner(report);
        (next, Verdict::Applied)
    } else {
        (next, Verdict::Stale)
    }
}

/// The id of a report that came without one: the same callback replayed gets the same id.
pub fn derived_event_id(
    message_id: &str,
    status: MessageStatus,
    occurred_at: DateTime<Utc>,
    error_code: Option<&str>,
) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(message_id.as_bytes());
    h.update([0]);
    h.update(status.name().as_bytes());
    h.update([0]);
    h.update(occurred_at.timestamp_micros().to_be_bytes());
    h.update([0]);
    h.update(error_code.unwrap_or("").as_bytes());
    let digest = h.finalize();
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("derived:{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn t(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap()
    }

    fn report(status: MessageStatus, secs: i64, id: &str) -> StatusReport {
        let failed = matches!(status, MessageStatus::Failed | MessageStatus::Undelivered);
        StatusReport {
            status,
            occurred_at: t(secs),
            event_id: id.to_string(),
            error_code: failed.then(|| "30003".to_string()),
            error_message: failed.then(|| "Unreachable".to_string()),
            error_category: if failed {
                ErrorCategory::Unreachable
            } else {
                ErrorCategory::None
            },
        }
    }

    fn fold(reports: &[StatusReport]) -> StatusState {
        let mut state = StatusState::from_first(&report(MessageStatus::Pending, 0, "recorded"));
        for r in reports {
            state = apply(&state, r).0;
        }
        state
    }

    #[test]
    fn late_sent_never_hides_a_failure() {
        let s = fold(&[
            report(MessageStatus::Failed, 5, "f"),
            report(MessageStatus::Sent, 3, "s"),
        ]);
        assert_eq!(s.status, MessageStatus::Failed);
        assert_eq!(s.error_code.as_deref(), Some("30003"));
        assert_eq!(s.sent_at, Some(t(3)));
        assert_eq!(s.failed_at, Some(t(5)));
    }

    #[test]
    fn delivered_after_failure_wins_and_clears_error() {
        let s = fold(&[
            report(MessageStatus::Undelivered, 5, "u"),
            report(MessageStatus::Delivered, 9, "d"),
        ]);
        assert_eq!(s.status, MessageStatus::Delivered);
        assert_eq!(s.error_code, None);
        assert_eq!(s.error_category, ErrorCategory::None);
        assert_eq!(s.failed_at, Some(t(5)));
    }

    #[test]
    fn sent_after_cancel_wins() {
        let s = fold(&[
            report(MessageStatus::Cancelled, 5, "c"),
            report(MessageStatus::Sent, 2, "s"),
        ]);
        assert_eq!(s.status, MessageStatus::Sent);
    }

    #[test]
    fn equal_rank_earlier_wins_then_smaller_id() {
        let s = fold(&[
            report(MessageStatus::Undelivered, 9, "b"),
            report(MessageStatus::Failed, 4, "z"),
        ]);
        assert_eq!(s.status, MessageStatus::Failed);
        let s = fold(&[
            report(MessageStatus::Delivered, 4, "b"),
            report(MessageStatus::Delivered, 4, "a"),
        ]);
        assert_eq!(s.status_event_id, "a");
    }

    #[test]
    fn earliest_timestamp_even_when_stale() {
        let s = fold(&[
            report(MessageStatus::Read, 10, "r"),
            report(MessageStatus::Delivered, 8, "d2"),
            report(MessageStatus::Delivered, 7, "d1"),
        ]);
        assert_eq!(s.status, MessageStatus::Read);
        assert_eq!(s.delivered_at, Some(t(7)));
        assert_eq!(s.read_at, Some(t(10)));
    }

    #[test]
    fn derived_ids_are_stable_and_distinct() {
        let a = derived_event_id("m", MessageStatus::Sent, t(1), None);
        assert_eq!(a, derived_event_id("m", MessageStatus::Sent, t(1), None));
        assert_ne!(a, derived_event_id("m", MessageStatus::Sent, t(2), None));
        assert_ne!(
            a,
            derived_event_id("m", MessageStatus::Sent, t(1), Some("1"))
        );
    }

    fn any_report() -> impl Strategy<Value = StatusReport> {
        (0usize..9, 0i64..20, 0u8..4).prop_map(|(s, secs, id)| {
            report(MessageStatus::ALL[s], secs, &format!("e{id}-{s}-{secs}"))
        })
    }

    proptest! {
        /// The same set of reports gives the same state whatever the arrival order,
        /// and replays (dropped as duplicates by event id) change nothing.
        #[test]
        fn order_independent(
            reports in proptest::collection::vec(any_report(), 1..8),
            seed in any::<u64>(),
            replays in proptest::collection::vec(0usize..8, 0..4),
        ) {
            let mut arrived = reports.clone();
            for r in replays {
                arrived.push(reports[r % reports.len()].clone());
            }
            let mut rng = seed;
            for i in (1..arrived.len()).rev() {
                rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                arrived.swap(i, (rng >> 33) as usize % (i + 1));
            }
            let dedup = |list: &[StatusReport]| {
                let mut seen = std::collections::HashSet::new();
                list.iter().filter(|r| seen.insert(r.event_id.clone())).cloned().collect::<Vec<_>>()
            };
            prop_assert_eq!(fold(&dedup(&arrived)), fold(&dedup(&reports)));
        }
    }
}
