//! A provider's status callback, as received: validated before it touches a message.
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};

use super::FieldError;
use super::error_category::{ErrorCategory, categorize};
use super::message::{ChangedMessage, Channel, MessageStatus, optional};
use super::status::{self, StatusReport, StatusState, Verdict};

/// How far ahead of our clock an event may claim to have happened (clock skew).
pub const MAX_FUTURE: Duration = Duration::days(1);

/// How an event names its message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    Id(String),
    Provider {
        provider: String,
        provider_message_id: String,
    },
}

impl StatusEvent {
    /// The provider named by the event, when it is addressed by provider id.
    pub fn provider(&self) -> Option<&str> {
        match &self.target {
            Target::Provider { provider, .. } => Some(provider),
            Target::Id(_) => None,
        }
    }
}

/// An event as the caller sent it (empty text = absent).
#[derive(Debug, Clone, Default)]
pub struct EventDraft {
    pub message_id: String,
    pub provider: String,
    pub provider_message_id: String,
    pub status: Option<MessageStatus>,
    pub occurred_at: Option<DateTime<Utc>>,
    pub event_id: String,
    pub error_code: String,
    pub error_message: String,
}

/// A well-formed event; whether its message exists is the store's to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusEvent {
    pub target: Target,
    pub status: MessageStatus,
    pub occurred_at: DateTime<Utc>,
    /// None: derived from message, status, time and error code once the message is known.
    pub event_id: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
}

/// What became of one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventOutcome {
    Applied = 1,
    Stale = 2,
    Duplicate = 3,
    Rejected = 4,
    /// Addressed by provider id to no message yet: kept until one is recorded.
    Parked = 5,
}

impl EventOutcome {
    pub fn code(self) -> i32 {
        self as i32
    }

    pub fn from_code(code: i32) -> Option<Self> {
        [
            Self::Applied,
            Self::Stale,
            Self::Duplicate,
            Self::Rejected,
            Self::Parked,
        ]
        .into_iter()
        .find(|o| o.code() == code)
    }

    /// The metric label: `applied`, `stale`, `duplicate`, `rejected`, `parked`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Stale => "stale",
            Self::Duplicate => "duplicate",
            Self::Rejected => "rejected",
            Self::Parked => "parked",
        }
    }
}

pub fn validate(d: EventDraft, now: DateTime<Utc>) -> Result<StatusEvent, FieldError> {
    let message_id = optional("message_id", &d.message_id)?;
    let provider = optional("provider", &d.provider)?.map(|p| p.to_lowercase());
    let provider_message_id = optional("provider_message_id", &d.provider_message_id)?;
    let target = match (message_id, provider, provider_message_id) {
        (Some(id), _, _) => Target::Id(id),
        (None, Some(provider), Some(provider_message_id)) => Target::Provider {
            provider,
            provider_message_id,
        },
        (None, None, Some(_)) => {
            return Err(FieldError::new(
                "provider",
                "is required with provider_message_id (e.g. twilio, whatsapp_cloud, sendgrid)",
            ));
        }
        (None, _, None) => {
            return Err(FieldError::new(
                "message_id",
                "give message_id, or provider and provider_message_id",
            ));
        }
    };
    let status = d
        .status
        .ok_or_else(|| FieldError::new("status", "is required"))?;
    let occurred_at = d
        .occurred_at
        .ok_or_else(|| FieldError::new("occurred_at", "is required"))?;
    if occurred_at > now + MAX_FUTURE {
        return Err(FieldError::new(
            "occurred_at",
            format!("{occurred_at} is more than a day ahead of the server's clock"),
        ));
    }
    Ok(StatusEvent {
        target,
        status,
        occurred_at: crate::domain::page::truncate_micros(occurred_at),
        event_id: optional("event_id", &d.event_id)?,
        error_code: optional("error_code", &d.error_code)?,
        error_message: optional("error_message", &d.error_message)?,
    })
}

/// A kept event, as GetMessageHistory shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEvent {
    pub message_id: String,
    pub event_id: String,
    pub status: MessageStatus,
    pub occurred_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub error_category: ErrorCategory,
    pub outcome: EventOutcome,
}

/// What became of one event of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventResult {
    pub outcome: EventOutcome,
    pub message_id: Option<String>,
    /// The message's status once the whole batch is applied.
    pub current_status: Option<MessageStatus>,
    /// Why a REJECTED event was not applied, naming the field.
    pub error: Option<String>,
}

/// A message as the fold needs it: its channel and provider (to judge an event and
/// categorise its error) and its status columns now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Current {
    pub channel: Option<Channel>,
    pub provider: Option<String>,
    pub state: StatusState,
}

/// What a batch of events decides, for the store to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decisions {
    /// One per event, in order, with the message's status once the batch is applied.
    pub results: Vec<EventResult>,
    /// The events to keep in history: message id, the event, its outcome.
    pub history: Vec<(String, StatusReport, EventOutcome)>,
    /// Messages whose status columns changed (sorted): their new state is in `current`.
    pub changed: Vec<String>,
    /// Messages whose current status changed, with the status before the batch.
    pub status_changes: Vec<ChangedMessage>,
}

/// Folds a batch into its messages, order-independently: each event, addressed to the
/// message id it resolved to (None: no such message visible to the caller), is
/// REJECTED (unknown message, a status its channel cannot have), DUPLICATE (its id, or
/// its derived id, is already kept, or an event with the same status, time and error
/// code is: "duplicates by content"), or kept and judged by precedence (APPLIED or
/// STALE). `current` holds the messages' states and is updated in place; `kept` holds
/// the events already kept and grows with the batch.
pub fn fold(
    events: &[StatusEvent],
    resolved: &[Option<String>],
    current: &mut HashMap<String, Current>,
    kept: &mut Kept,
) -> Decisions {
    let before: HashMap<String, MessageStatus> = current
        .iter()
        .map(|(id, c)| (id.clone(), c.state.status))
        .collect();
    let mut results = Vec::with_capacity(events.len());
    let mut history = Vec::new();
    let mut changed = Vec::new();
    for (e, id) in events.iter().zip(resolved) {
        let Some((id, message)) = id.as_ref().and_then(|id| Some((id, current.get_mut(id)?)))
        else {
            results.push(EventResult::rejected(None, unknown_message(&e.target)));
            continue;
        };
        // A channel this version cannot read accepts nothing but what every channel does.
        let accepted = match message.channel {
            Some(channel) => channel.accepts(e.status),
            None => Channel::ALL.iter().all(|c| c.accepts(e.status)),
        };
        if !accepted {
            let went_by = message
                .channel
                .map(Channel::name)
                .unwrap_or("another channel");
            results.push(EventResult::rejected(
                Some(id.clone()),
                format!(
                    "status: READ exists only for WHATSAPP messages; this one went by {went_by}"
                ),
            ));
            continue;
        }
        let event_id = e.event_id.clone().unwrap_or_else(|| {
            status::derived_event_id(id, e.status, e.occurred_at, e.error_code.as_deref())
        });
        if !kept.insert(
            id,
            &event_id,
            e.status,
            e.occurred_at,
            e.error_code.as_deref(),
        ) {
            results.push(EventResult::of(EventOutcome::Duplicate, id));
            continue;
        }
        let report = StatusReport {
            status: e.status,
            occurred_at: e.occurred_at,
            event_id,
            error_code: e.error_code.clone(),
            error_message: e.error_message.clone(),
            error_category: categorize(message.provider.as_deref(), e.error_code.as_deref()),
        };
        let (next, verdict) = status::apply(&message.state, &report);
        if next != message.state {
            message.state = next;
            changed.push(id.clone());
        }
        let outcome = match verdict {
            Verdict::Applied => EventOutcome::Applied,
            Verdict::Stale => EventOutcome::Stale,
        };
        history.push((id.clone(), report, outcome));
        results.push(EventResult::of(outcome, id));
    }
    for r in &mut results {
        if let Some(id) = &r.message_id {
            r.current_status = current.get(id).map(|c| c.state.status);
        }
    }
    changed.sort();
    changed.dedup();
    let status_changes = changed
        .iter()
        .filter(|id| before.get(*id) != current.get(*id).map(|c| &c.state.status))
        .map(|id| ChangedMessage {
            message_id: id.clone(),
            previous: before.get(id).copied(),
        })
        .collect();
    Decisions {
        results,
        history,
        changed,
        status_changes,
    }
}

/// The events already kept for a batch's messages: by id, and by content (status,
/// time to the microsecond the database keeps, error code), since some providers send
/// one event again under a new id (SendGrid's `sg_event_id` changes on retries).
#[derive(Debug, Clone, Default)]
pub struct Kept {
    ids: HashSet<(String, String)>,
    contents: HashSet<(String, MessageStatus, DateTime<Utc>, Option<String>)>,
}

impl Kept {
    /// Remembers an event; false when it was kept already, by id or by content.
    pub fn insert(
        &mut self,
        message_id: &str,
        event_id: &str,
        status: MessageStatus,
        occurred_at: DateTime<Utc>,
        error_code: Option<&str>,
    ) -> bool {
        let content = (
            message_id.to_string(),
            status,
            super::page::truncate_micros(occurred_at),
            error_code.map(str::to_string),
        );
        let id = (message_id.to_string(), event_id.to_string());
        if self.ids.contains(&id) || self.contents.contains(&content) {
            return false;
        }
        self.ids.insert(id);
        self.contents.insert(content);
        true
    }
}

/// Unknown and invisible (another hotel's) messages read the same, so ids cannot be probed.
fn unknown_message(target: &Target) -> String {
    match target {
        Target::Id(id) => format!("message_id: no message {id:?}"),
        Target::Provider {
            provider,
            provider_message_id,
        } => format!(
            "provider_message_id: no message with provider {provider:?} and id {provider_message_id:?}"
        ),
    }
}

impl EventResult {
    fn of(outcome: EventOutcome, message_id: &str) -> Self {
        EventResult {
            outcome,
            message_id: Some(message_id.to_string()),
            current_status: None,
            error: None,
        }
    }

    fn rejected(message_id: Option<String>, error: String) -> Self {
        EventResult {
            outcome: EventOutcome::Rejected,
            message_id,
            current_status: None,
            error: Some(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> EventDraft {
        EventDraft {
            message_id: "m1".into(),
            status: Some(MessageStatus::Delivered),
            occurred_at: Some(Utc::now()),
            ..Default::default()
        }
    }

    #[test]
    fn targets() {
        let e = validate(draft(), Utc::now()).unwrap();
        assert_eq!(e.target, Target::Id("m1".into()));
        let mut d = draft();
        d.message_id.clear();
        d.provider = "Twilio".into();
        d.provider_message_id = "SM1".into();
        let e = validate(d, Utc::now()).unwrap();
        assert_eq!(
            e.target,
            Target::Provider {
                provider: "twilio".into(),
                provider_message_id: "SM1".into()
            }
        );
    }

    #[test]
    fn errors_name_the_field() {
        type Mutation = fn(&mut EventDraft);
        let cases: Vec<(Mutation, &str)> = vec![
            (|d| d.message_id.clear(), "message_id"),
            (
                |d| {
                    d.message_id.clear();
                    d.provider_message_id = "SM1".into();
                },
                "provider",
            ),
            (|d| d.status = None, "status"),
            (|d| d.occurred_at = None, "occurred_at"),
            (
                |d| d.occurred_at = Some(Utc::now() + Duration::days(2)),
                "occurred_at",
            ),
            (|d| d.event_id = "x".repeat(5000), "event_id"),
        ];
        for (mutate, field) in cases {
            let mut d = draft();
            mutate(&mut d);
            assert_eq!(validate(d, Utc::now()).unwrap_err().field, field);
        }
    }

    mod fold_rules {
        use super::super::*;
        use chrono::TimeZone;
        use proptest::prelude::*;

        fn t(secs: i64) -> DateTime<Utc> {
            Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap()
        }

        fn message(channel: Channel) -> Current {
            let first = StatusReport {
                status: MessageStatus::Pending,
                occurred_at: t(0),
                event_id: "recorded".into(),
                error_code: None,
                error_message: None,
                error_category: ErrorCategory::None,
            };
            Current {
                channel: Some(channel),
                provider: Some("twilio".into()),
                state: StatusState::from_first(&first),
            }
        }

        fn event(
            id: &str,
            status: MessageStatus,
            secs: i64,
            event_id: Option<&str>,
        ) -> StatusEvent {
            let failed = matches!(status, MessageStatus::Failed | MessageStatus::Undelivered);
            StatusEvent {
                target: Target::Id(id.into()),
                status,
                occurred_at: t(secs),
                event_id: event_id.map(String::from),
                error_code: failed.then(|| "30003".into()),
                error_message: None,
            }
        }

        /// Folds `events` into two messages (m1 WhatsApp, m2 SMS); "gone" is unknown.
        fn run(events: &[StatusEvent]) -> (Decisions, HashMap<String, Current>) {
            let mut current = HashMap::from([
                ("m1".to_string(), message(Channel::Whatsapp)),
                ("m2".to_string(), message(Channel::Sms)),
            ]);
            let resolved: Vec<Option<String>> = events
                .iter()
                .map(|e| match &e.target {
                    Target::Id(id) if current.contains_key(id) => Some(id.clone()),
                    _ => None,
                })
                .collect();
            let mut kept = Kept::default();
            for id in ["m1", "m2"] {
                kept.insert(id, "recorded", MessageStatus::Pending, t(0), None);
            }
            let decided = fold(events, &resolved, &mut current, &mut kept);
            (decided, current)
        }

        #[test]
        fn rejections_duplicates_and_precedence() {
            let (d, current) = run(&[
                event("m2", MessageStatus::Read, 5, None),
                event("gone", MessageStatus::Sent, 1, None),
                event("m1", MessageStatus::Delivered, 4, Some("d")),
                event("m1", MessageStatus::Delivered, 4, Some("d")),
                event("m1", MessageStatus::Sent, 2, None),
            ]);
            let outcomes: Vec<_> = d.results.iter().map(|r| r.outcome).collect();
            assert_eq!(
                outcomes,
                [
                    EventOutcome::Rejected,
                    EventOutcome::Rejected,
                    EventOutcome::Applied,
                    EventOutcome::Duplicate,
                    EventOutcome::Stale,
                ]
            );
            assert!(
                d.results[0]
                    .error
                    .as_deref()
                    .unwrap()
                    .contains("went by SMS")
            );
            assert!(
                d.results[1]
                    .error
                    .as_deref()
                    .unwrap()
                    .starts_with("message_id:")
            );
            assert_eq!(d.results[4].current_status, Some(MessageStatus::Delivered));
            assert_eq!(
                current["m1"].state.sent_at,
                Some(t(2)),
                "a stale event's time counts"
            );
            assert_eq!(d.history.len(), 2, "kept: the delivery and the stale send");
            assert_eq!(d.changed, vec!["m1".to_string()]);
            assert_eq!(
                d.status_changes,
                vec![ChangedMessage {
                    message_id: "m1".into(),
                    previous: Some(MessageStatus::Pending),
                }]
            );
        }

        #[test]
        fn duplicates_by_content_whatever_the_id() {
            let mut again = event("m1", MessageStatus::Undelivered, 4, Some("sg-retry"));
            again.error_message = Some("another text".into());
            let (d, _) = run(&[
                event("m1", MessageStatus::Undelivered, 4, Some("sg-1")),
                again,
                event("m1", MessageStatus::Undelivered, 5, Some("sg-2")),
            ]);
            let outcomes: Vec<_> = d.results.iter().map(|r| r.outcome).collect();
            assert_eq!(
                outcomes,
                [
                    EventOutcome::Applied,
                    EventOutcome::Duplicate,
                    EventOutcome::Stale
                ]
            );
        }

        fn any_event() -> impl Strategy<Value = StatusEvent> {
            (0usize..3, 0usize..9, 0i64..20, proptest::option::of(0u8..3)).prop_map(
                |(m, s, secs, id)| {
                    let target = ["m1", "m2", "gone"][m];
                    let id = id.map(|i| format!("e{i}-{s}-{secs}"));
                    event(target, MessageStatus::ALL[s], secs, id.as_deref())
                },
            )
        }

        proptest! {
            /// The same events give the same messages whatever their order, and a
            /// batch replayed changes nothing and is all duplicates or rejections.
            #[test]
            fn order_independent_and_replay_safe(
                events in proptest::collection::vec(any_event(), 0..10),
                seed in any::<u64>(),
            ) {
                let mut shuffled = events.clone();
                crate::domain::testing::shuffle(&mut shuffled, seed);
                let (_, a) = run(&events);
                let (_, b) = run(&shuffled);
                // Of events equal by content, the first one kept speaks: which id that
                // is depends on the order (the contract calls the others DUPLICATE
                // whatever their id); everything else does not.
                let same = |x: &StatusState| StatusState { status_event_id: String::new(), ..x.clone() };
                prop_assert_eq!(same(&a["m1"].state), same(&b["m1"].state));
                prop_assert_eq!(same(&a["m2"].state), same(&b["m2"].state));

                let twice: Vec<StatusEvent> = events.iter().chain(&events).cloned().collect();
                let (d, c) = run(&twice);
                prop_assert_eq!(&c["m1"].state, &a["m1"].state);
                for r in &d.results[events.len()..] {
                    prop_assert!(matches!(r.outcome, EventOutcome::Duplicate | EventOutcome::Rejected));
                }
                // READ never lands on SMS.
                prop_assert!(a["m2"].state.status != MessageStatus::Read);
            }
        }
    }
}
