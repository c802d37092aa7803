//! Change notifications for live watchers across instances: on PostgreSQL each write
//! transaction that records a message or changes a status sends `pg_notify` carrying
//! ids only (never personal data), delivered to every listening instance on commit.
//! SQLite has one process: its changes are fanned out in memory by the caller.
use crate::domain::message::ChangedMessage;
use diesel::prelude::*;

use super::StoreError;
use crate::domain::message::MessageStatus;

pub const CHANNEL: &str = "sentlog_changes";
/// NOTIFY payloads are limited to 8000 bytes: ids go in groups.
pub const IDS_PER_NOTIFY: usize = 100;

/// `id` or `id:previous-status-code`, separated by commas.
pub fn encode(changes: &[ChangedMessage]) -> String {
    changes
        .iter()
        .map(|c| match c.previous {
            Some(p) => format!("{}:{}", c.message_id, p.code()),
            None => c.message_id.clone(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

pub fn decode(payload: &str) -> Vec<ChangedMessage> {
    payload
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once(':') {
            Some((id, code)) => ChangedMessage {
                message_id: id.to_string(),
                previous: code.parse().ok().and_then(MessageStatus::from_code),
            },
            None => ChangedMessage {
                message_id: p.to_string(),
                previous: None,
            },
        })
        .collect()
}

/// A dedicated PostgreSQL connection listening for change notifications.
pub struct Listener {
    conn: diesel::PgConnection,
}

impl Listener {
    pub fn connect(url: &str) -> Result<Self, StoreError> {
        let mut conn = diesel::PgConnection::establish(url)
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        diesel::sql_query(format!("LISTEN {CHANNEL}")).execute(&mut conn)?;
        Ok(Listener { conn })
    }

    /// Notifications received so far (does not block).
    pub fn drain(&mut self) -> Result<Vec<ChangedMessage>, StoreError> {
        let mut out = Vec::new();
        for n in self.conn.notifications_iter() {
            out.extend(decode(&n?.payload));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trip() {
        let changes = vec![
            ChangedMessage {
                message_id: "a".into(),
                previous: None,
            },
            ChangedMessage {
                message_id: "b".into(),
                previous: Some(MessageStatus::Sent),
            },
        ];
        assert_eq!(decode(&encode(&changes)), changes);
    }
}
