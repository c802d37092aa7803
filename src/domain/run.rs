//! The record of one reconciliation pass, and what of it a caller may see.
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::access::HotelScope;
use super::flag::FlagReason;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Schedule,
    Manual,
}

impl Trigger {
    pub fn name(self) -> &'static str {
        match self {
            Trigger::Schedule => "schedule",
            Trigger::Manual => "manual",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    Running,
    /// Every candidate was looked at (some hotels may have counted errors).
    Succeeded,
    /// The pass stopped early (database unavailable); the next pass resumes.
    Failed,
}

impl RunState {
    pub fn name(self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Succeeded => "succeeded",
            RunState::Failed => "failed",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [RunState::Running, RunState::Succeeded, RunState::Failed]
            .into_iter()
            .find(|s| s.name() == name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconciliationRun {
    pub id: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub trigger: String,
    pub state: RunState,
    /// Hotels covered; empty: every hotel.
    pub hotel_ids: Vec<String>,
    pub messages_checked: i64,
    pub flags_raised: i64,
    pub messages_skipped: i64,
    pub errors: i64,
    /// Errors of the pass itself (not of one hotel), one line each, never personal data.
    pub error_details: Vec<String>,
    /// What the pass did in each hotel it touched (a hotel it was asked for, or one
    /// with a candidate message); the totals above are their sums.
    pub per_hotel: BTreeMap<String, HotelCounts>,
    /// Flags this pass raised, by reason (for metrics; not stored).
    pub raised_by_reason: BTreeMap<FlagReason, i64>,
}

/// One hotel's share of a pass.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HotelCounts {
    pub messages_checked: i64,
    pub flags_raised: i64,
    pub messages_skipped: i64,
    pub errors: i64,
    /// What went wrong in this hotel (a PMS that did not answer), one line each.
    pub error_details: Vec<String>,
}

impl HotelCounts {
    /// One error in this hotel, with its cause.
    pub fn error(cause: impl Into<String>) -> Self {
        HotelCounts {
            errors: 1,
            error_details: vec![cause.into()],
            ..HotelCounts::default()
        }
    }
}

impl ReconciliationRun {
    pub fn start(trigger: Trigger, hotel_ids: Vec<String>, now: DateTime<Utc>) -> Self {
        ReconciliationRun {
            id: uuid::Uuid::now_v7().to_string(),
            started_at: super::page::truncate_micros(now),
            finished_at: None,
            trigger: trigger.name().to_string(),
            state: RunState::Running,
            messages_checked: 0,
            flags_raised: 0,
            messages_skipped: 0,
            errors: 0,
            error_details: Vec::new(),
            raised_by_reason: BTreeMap::new(),
            per_hotel: hotel_ids
                .iter()
                .map(|h| (h.clone(), HotelCounts::default()))
                .collect(),
            hotel_ids,
        }
    }

    /// Every error line: the pass's own, then each hotel's as `hotel ID: cause`.
    pub fn error_lines(&self) -> Vec<String> {
        let hotels = self.per_hotel.iter().flat_map(|(hotel, c)| {
            c.error_details
                .iter()
                .map(move |cause| format!("hotel {hotel}: {cause}"))
        });
        self.error_details.iter().cloned().chain(hotels).collect()
    }

    /// Adds to one hotel's counts and to the totals.
    pub fn count(&mut self, hotel_id: &str, add: HotelCounts) {
        let h = self.per_hotel.entry(hotel_id.to_string()).or_default();
        h.messages_checked += add.messages_checked;
        h.flags_raised += add.flags_raised;
        h.messages_skipped += add.messages_skipped;
        h.errors += add.errors;
        h.error_details.extend(add.error_details);
        self.messages_checked += add.messages_checked;
        self.flags_raised += add.flags_raised;
        self.messages_skipped += add.messages_skipped;
        self.errors += add.errors;
    }

    /// The run as a caller of `scope` may see it: a caller who serves every hotel sees
    /// it whole; any other sees only the hotels it serves (their counts, their errors,
    /// their ids), and nothing at all of a run that touched none of them.
    pub fn as_seen_by(mut self, scope: &HotelScope) -> Option<ReconciliationRun> {
        let HotelScope::Only(mine) = scope else {
            return Some(self);
        };
        self.per_hotel.retain(|h, _| mine.contains(h));
        if self.per_hotel.is_empty() {
            return None;
        }
        self.hotel_ids = self.per_hotel.keys().cloned().collect();
        let sum = |f: fn(&HotelCounts) -> i64| self.per_hotel.values().map(f).sum::<i64>();
        self.messages_checked = sum(|c| c.messages_checked);
        self.flags_raised = sum(|c| c.flags_raised);
        self.messages_skipped = sum(|c| c.messages_skipped);
        self.errors = sum(|c| c.errors);
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn run_over(counts: &[(&str, HotelCounts)]) -> ReconciliationRun {
        let mut run = ReconciliationRun::start(Trigger::Schedule, Vec::new(), Utc::now());
        for (hotel, c) in counts {
            run.count(hotel, c.clone());
            if c.errors > 0 {
                run.count(hotel, HotelCounts::error("PMS timed out"));
            }
        }
        run.error_details
            .push("pass stopped: database unavailable".into());
        run
    }

    fn only(hotels: &[&str]) -> HotelScope {
        HotelScope::Only(hotels.iter().map(|h| h.to_string()).collect())
    }

    #[test]
    fn a_scoped_caller_sees_its_hotels_only() {
        let c = |n| HotelCounts {
            messages_checked: n,
            flags_raised: 1,
            ..HotelCounts::default()
        };
        let mut run = run_over(&[("paris", c(10)), ("london", c(5))]);
        for hotel in ["paris", "london"] {
            run.count(
                hotel,
                HotelCounts::error(format!("PMS of {hotel} timed out")),
            );
        }
        assert_eq!(run.messages_checked, 15);
        let seen = run.clone().as_seen_by(&only(&["london"])).unwrap();
        assert_eq!(seen.messages_checked, 5);
        assert_eq!(seen.flags_raised, 1);
        assert_eq!(seen.errors, 1);
        assert_eq!(seen.hotel_ids, vec!["london".to_string()]);
        assert!(seen.error_lines().iter().all(|l| !l.contains("paris")));
        assert!(
            seen.error_lines()
                .contains(&"hotel london: PMS of london timed out".into())
        );
        assert!(
            seen.error_lines()
                .iter()
                .any(|l| l.starts_with("pass stopped"))
        );
        assert!(run.clone().as_seen_by(&only(&["rome"])).is_none());
        assert_eq!(run.clone().as_seen_by(&HotelScope::All), Some(run));
    }

    proptest! {
        #[test]
        fn no_other_hotel_shows(
            counts in proptest::collection::vec((0usize..4, 0i64..50, 0i64..5, 0i64..5, 0i64..3), 0..8),
            mine in proptest::collection::btree_set(0usize..4, 0..4),
        ) {
            let names = ["a", "b", "c", "d"];
            let counts: Vec<(&str, HotelCounts)> = counts
                .into_iter()
                .map(|(h, m, f, s, e)| (names[h], HotelCounts { messages_checked: m, flags_raised: f, messages_skipped: s, errors: e, error_details: Vec::new() }))
                .collect();
            let run = run_over(&counts);
            let scope = HotelScope::Only(mine.iter().map(|i| names[*i].to_string()).collect());
            let HotelScope::Only(set) = &scope else { unreachable!() };
            match run.clone().as_seen_by(&scope) {
                None => prop_assert!(run.per_hotel.keys().all(|h| !set.contains(h))),
                Some(seen) => {
                    let expected: i64 = counts.iter().filter(|(h, _)| set.contains(*h)).map(|(_, c)| c.messages_checked).sum();
                    prop_assert_eq!(seen.messages_checked, expected);
                    prop_assert!(seen.hotel_ids.iter().all(|h| set.contains(h)));
                    prop_assert!(seen.per_hotel.keys().all(|h| set.contains(h)));
                    let others: Vec<&str> = names.iter().copied().filter(|h| !set.contains(*h)).collect();
                    for line in seen.error_lines() {
                        let foreign = others.iter().any(|h| line.starts_with(&format!("hotel {h}:")));
                        prop_assert!(!foreign, "{}", line);
                    }
                }
            }
        }
    }
}
