//! A provider's status callback, as received: validated before it touches a message.
use super::error_category::ErrorCategory;
use chrono::{DateTime, Duration, Utc};

use super::FieldError;
use super::message::{MessageStatus, optional};

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
}

impl EventOutcome {
    pub fn code(self) -> i32 {
        self as i32
    }

    pub fn from_code(code: i32) -> Option<Self> {
        [Self::Applied, Self::Stale, Self::Duplicate, Self::Rejected]
            .into_iter()
            .find(|o| o.code() == code)
    }

    /// The metric label: `applied`, `stale`, `duplicate`, `rejected`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Stale => "stale",
            Self::Duplicate => "duplicate",
            Self::Rejected => "rejected",
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
}
