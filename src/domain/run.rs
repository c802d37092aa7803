//! The record of one reconciliation pass.
use chrono::{DateTime, Utc};

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
    /// One line per error: hotel and cause, never personal data.
    pub error_details: Vec<String>,
}

impl ReconciliationRun {
    pub fn start(trigger: Trigger, hotel_ids: Vec<String>, now: DateTime<Utc>) -> Self {
        ReconciliationRun {
            id: uuid::Uuid::now_v7().to_string(),
            started_at: super::page::truncate_micros(now),
            finished_at: None,
            trigger: trigger.name().to_string(),
            state: RunState::Running,
            hotel_ids,
            messages_checked: 0,
            flags_raised: 0,
            messages_skipped: 0,
            errors: 0,
            error_details: Vec::new(),
        }
    }
}
