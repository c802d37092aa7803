//! Stuck messages: ones that should have had news by now. Derived at read time, never
//! stored: a SENT message with no later status for longer than its channel's
//! `stuck_after`, or a PENDING / VALIDATED one more than `stuck_after` past its
//! `scheduled_at` (else its `created_at`).
use chrono::{DateTime, Duration, Utc};

use super::message::{Channel, Message, MessageStatus};

/// How long each channel may stay silent before a message counts as stuck.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StuckAfter {
    pub whatsapp: Duration,
    pub sms: Duration,
    pub email: Duration,
}

impl Default for StuckAfter {
    /// SMS delivery reports come within hours; WhatsApp and email may take a day.
    fn default() -> Self {
        StuckAfter {
            whatsapp: Duration::hours(24),
            sms: Duration::hours(6),
            email: Duration::hours(24),
        }
    }
}

impl StuckAfter {
    pub fn of(&self, channel: Channel) -> Duration {
        match channel {
            Channel::Whatsapp => self.whatsapp,
            Channel::Sms => self.sms,
            Channel::Email => self.email,
        }
    }

    /// The instants before which a message's clock must have started, per channel, for
    /// it to be stuck at `now`: what a query compares with.
    pub fn since(&self, now: DateTime<Utc>) -> StuckSince {
        StuckSince {
            whatsapp: now - self.whatsapp,
            sms: now - self.sms,
            email: now - self.email,
        }
    }

    /// Is `m` stuck at `now`?
    pub fn is_stuck(&self, m: &Message, now: DateTime<Utc>) -> bool {
        self.since(now).holds(m)
    }
}

/// What a silent message's clock counts from, for the statuses that can be stuck.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// SENT: since its last status change (no news since).
    StatusChanged,
    /// PENDING, VALIDATED: since it was due, its `scheduled_at` else its `created_at`.
    Due,
}

impl Clock {
    /// The clock of a status that can be stuck; None for the others.
    pub fn of(status: MessageStatus) -> Option<Clock> {
        match status {
            MessageStatus::Sent => Some(Clock::StatusChanged),
            MessageStatus::Pending | MessageStatus::Validated => Some(Clock::Due),
            _ => None,
        }
    }
}

/// The (status, channel) pairs that can hold stuck messages among those a filter on
/// `statuses` and `channels` keeps (empty: any). Counting each pair alone makes each
/// count one range of one index: stuck messages accumulate for as long as a
/// provider never reports, and one scan over an OR of every branch read each of them
/// from the table.
pub fn branches(statuses: &[MessageStatus], channels: &[Channel]) -> Vec<(MessageStatus, Channel)> {
    let kept_status = |s: &MessageStatus| statuses.is_empty() || statuses.contains(s);
    let kept_channel = |c: &Channel| channels.is_empty() || channels.contains(c);
    MessageStatus::ALL
        .into_iter()
        .filter(|s| Clock::of(*s).is_some())
        .filter(kept_status)
        .flat_map(|s| {
            Channel::ALL
                .into_iter()
                .filter(kept_channel)
                .map(move |c| (s, c))
        })
        .collect()
}

/// Per channel, the instant a silent message's clock must have started before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StuckSince {
    pub whatsapp: DateTime<Utc>,
    pub sms: DateTime<Utc>,
    pub email: DateTime<Utc>,
}

impl StuckSince {
    pub fn of(&self, channel: Channel) -> DateTime<Utc> {
        match channel {
            Channel::Whatsapp => self.whatsapp,
            Channel::Sms => self.sms,
            Channel::Email => self.email,
        }
    }

    /// When a message's silence started, for the statuses that can be stuck.
    pub fn clock(m: &Message) -> Option<DateTime<Utc>> {
        match Clock::of(m.status)? {
            Clock::StatusChanged => Some(m.status_changed_at),
            Clock::Due => Some(m.scheduled_at.unwrap_or(m.created_at)),
        }
    }

    pub fn holds(&self, m: &Message) -> bool {
        Self::clock(m).is_some_and(|started| started < self.of(m.channel))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn at(hours: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_790_000_000, 0).unwrap() + Duration::hours(hours)
    }

    fn message(channel: Channel, status: MessageStatus, changed: i64) -> Message {
        let mut m = crate::domain::testing::message("m", channel, status, at(0));
        m.status_changed_at = at(changed);
        m.updated_at = at(changed);
        m
    }

    #[test]
    fn each_channel_has_its_own_patience() {
        let rule = StuckAfter::default();
        let sms = message(Channel::Sms, MessageStatus::Sent, 1);
        assert!(
            !rule.is_stuck(&sms, at(7)),
            "exactly 6 h is not longer than 6 h"
        );
        assert!(rule.is_stuck(&sms, at(8)));
        let whatsapp = message(Channel::Whatsapp, MessageStatus::Sent, 1);
        assert!(!rule.is_stuck(&whatsapp, at(8)));
        assert!(rule.is_stuck(&whatsapp, at(26)));
        let delivered = message(Channel::Sms, MessageStatus::Delivered, 1);
        assert!(!rule.is_stuck(&delivered, at(1000)), "news came");
    }

    #[test]
    fn waiting_messages_count_from_their_schedule() {
        let rule = StuckAfter::default();
        let mut planned = message(Channel::Email, MessageStatus::Validated, 0);
        planned.scheduled_at = Some(at(48));
        assert!(!rule.is_stuck(&planned, at(60)), "not due long enough");
        assert!(rule.is_stuck(&planned, at(73)));
        let pending = message(Channel::Email, MessageStatus::Pending, 0);
        assert!(rule.is_stuck(&pending, at(25)), "from created_at");
    }

    proptest! {
        /// A message is stuck only if its own (status, channel) is one of the branches
        /// of any filter that keeps it: counting branch by branch loses none.
        #[test]
        fn branches_cover_every_stuck_message_a_filter_keeps(
            channel in 0usize..3, status in 0usize..9, changed in 0i64..100, now in 0i64..200,
            statuses in proptest::collection::vec(0usize..9, 0..4),
            channels in proptest::collection::vec(0usize..3, 0..3),
        ) {
            let rule = StuckAfter::default();
            let m = message(Channel::ALL[channel], MessageStatus::ALL[status], changed);
            let statuses: Vec<MessageStatus> = statuses.into_iter().map(|i| MessageStatus::ALL[i]).collect();
            let channels: Vec<Channel> = channels.into_iter().map(|i| Channel::ALL[i]).collect();
            let kept = (statuses.is_empty() || statuses.contains(&m.status))
                && (channels.is_empty() || channels.contains(&m.channel));
            let branches = branches(&statuses, &channels);
            if kept && rule.is_stuck(&m, at(now)) {
                prop_assert!(branches.contains(&(m.status, m.channel)));
            }
            // Each branch is kept by the filter and can be stuck; none repeats.
            for (i, (s, c)) in branches.iter().enumerate() {
                prop_assert!(Clock::of(*s).is_some());
                prop_assert!(statuses.is_empty() || statuses.contains(s));
                prop_assert!(channels.is_empty() || channels.contains(c));
                prop_assert!(!branches[..i].contains(&(*s, *c)));
            }
        }

        /// Time only makes a silent message more stuck, never less.
        #[test]
        fn stuck_stays_stuck_as_time_passes(
            channel in 0usize..3, status in 0usize..9, changed in 0i64..100, now in 0i64..200, later in 0i64..100,
        ) {
            let rule = StuckAfter::default();
            let m = message(Channel::ALL[channel], MessageStatus::ALL[status], changed);
            if rule.is_stuck(&m, at(now)) {
                prop_assert!(rule.is_stuck(&m, at(now + later)));
            }
            // Only messages still waiting for news can be stuck.
            if rule.is_stuck(&m, at(now)) {
                prop_assert!(matches!(m.status, MessageStatus::Sent | MessageStatus::Pending | MessageStatus::Validated));
            }
        }
    }
}
