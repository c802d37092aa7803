//! Arrivals: the stays whose check-in falls in a range, from their messages and the
//! PMS guest records, and whether each guest has been reached. A CSM's question is
//! "can we reach this guest before arrival?", not "which message failed?".
use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};

use super::email;
use super::error_category::ErrorCategory;
use super::guest::PmsGuest;
use super::message::{Channel, Message, MessageStatus};

/// Whether a stay's guest has been reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reach {
    /// A message was delivered or read.
    Reached = 1,
    /// No delivery yet, but a message is on its way and not stuck.
    InFlight = 2,
    /// Every message failed, was cancelled or is stuck.
    NotReached = 3,
    /// A PMS guest arriving with no message recorded.
    NoMessage = 4,
}

impl Reach {
    pub const ALL: [Reach; 4] = [
        Reach::Reached,
        Reach::InFlight,
        Reach::NotReached,
        Reach::NoMessage,
    ];

    pub fn code(self) -> i32 {
        self as i32
    }

    pub fn from_code(code: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }

    pub fn name(self) -> &'static str {
        match self {
            Reach::Reached => "REACHED",
            Reach::InFlight => "IN_FLIGHT",
            Reach::NotReached => "NOT_REACHED",
            Reach::NoMessage => "NO_MESSAGE",
        }
    }

    /// Reads `reached`, `NOT_REACHED` or `REACH_STATE_IN_FLIGHT` (see `domain::names`).
    pub fn from_name(text: &str) -> Option<Self> {
        super::names::from_name(&Self::ALL, Self::name, "REACH_STATE_", text)
    }
}

/// One arriving stay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arrival {
    pub stay_key: String,
    pub guest_name: Option<String>,
    pub pms_guest_id: Option<String>,
    pub pms_reservation_id: Option<String>,
    pub check_in_date: NaiveDate,
    pub check_out_date: Option<NaiveDate>,
    pub messages: i32,
    pub reach: Reach,
    pub reached_at: Option<DateTime<Utc>>,
    pub reached_channel: Option<Channel>,
    /// The current status of the stay's latest message.
    pub last_status: Option<MessageStatus>,
    /// The error category of the stay's latest failed message.
    pub last_error_category: ErrorCategory,
    pub stuck: i32,
    pub open_flag_id: Option<String>,
}

/// The stay a message belongs to, within its hotel: its reservation, else its PMS
/// guest, else its recipient (E.164 phone or lower-cased email).
pub fn stay_key(m: &Message) -> String {
    stay_of(
        m.pms_reservation_id.as_deref(),
        m.pms_guest_id.as_deref(),
        m.channel,
        m.recipient_phone.as_deref(),
        m.recipient_email
            .as_deref()
            .map(email::normalize)
            .as_deref(),
        &m.id,
    )
    .1
}

/// Which field of its messages a stay key comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StayKind {
    Reservation,
    Guest,
    Phone,
    Email,
    /// None of them (an erased message): the message is a stay of its own.
    Message,
}

/// The stay key from a message's fields (`email` already normalised), and where it
/// comes from. The migration that gave flags their stay computes the same in SQL.
pub fn stay_of(
    reservation: Option<&str>,
    guest: Option<&str>,
    channel: Channel,
    phone: Option<&str>,
    email: Option<&str>,
    message_id: &str,
) -> (StayKind, String) {
    let (kind, key) = match (
        reservation,
        guest,
        phone.filter(|_| channel.uses_phone()),
        email,
    ) {
        (Some(r), _, _, _) => (StayKind::Reservation, r),
        (None, Some(g), _, _) => (StayKind::Guest, g),
        (None, None, Some(p), _) => (StayKind::Phone, p),
        (None, None, None, Some(e)) => (StayKind::Email, e),
        (None, None, None, None) => (StayKind::Message, message_id),
    };
    (kind, key.to_string())
}

/// The stay a PMS guest record is: its reservation, else the guest.
pub fn guest_stay_key(g: &PmsGuest) -> String {
    g.pms_reservation_id
        .clone()
        .unwrap_or_else(|| g.pms_guest_id.clone())
}

/// When and how the stay was first reached: its earliest DELIVERED or READ.
pub fn first_reached(messages: &[&Message]) -> Option<(DateTime<Utc>, Channel)> {
    messages
        .iter()
        .filter(|m| matches!(m.status, MessageStatus::Delivered | MessageStatus::Read))
        .map(|m| {
            let at = [m.delivered_at, m.read_at]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(m.status_changed_at);
            (at, m.channel, m.id.as_str())
        })
        .min_by(|a, b| (a.0, a.2).cmp(&(b.0, b.2)))
        .map(|(at, channel, _)| (at, channel))
}

/// How far a stay's guest was reached, from its messages (already marked stuck or not).
pub fn reach(messages: &[&Message]) -> Reach {
    let delivered =
        |m: &&Message| matches!(m.status, MessageStatus::Delivered | MessageStatus::Read);
    let on_its_way = |m: &&Message| {
        !m.stuck
            && matches!(
                m.status,
                MessageStatus::Pending
                    | MessageStatus::Scheduled
                    | MessageStatus::Validated
                    | MessageStatus::Sent
            )
    };
    if messages.is_empty() {
        Reach::NoMessage
    } else if messages.iter().any(delivered) {
        Reach::Reached
    } else if messages.iter().any(on_its_way) {
        Reach::InFlight
    } else {
        Reach::NotReached
    }
}

/// The arriving stays of one hotel whose check-in falls in `[from, to]`, ordered by
/// check-in date then stay key: from its messages (`stuck` already derived), the PMS
/// guest records (a guest with no message is NO_MESSAGE) and the open flag of each stay
/// (by stay key).
pub fn arrivals(
    messages: &[Message],
    guests: &[PmsGuest],
    open_flags: &HashMap<String, String>,
    from: NaiveDate,
    to: NaiveDate,
) -> Vec<Arrival> {
    let mut stays: BTreeMap<String, Vec<&Message>> = BTreeMap::new();
    for m in messages {
        stays.entry(stay_key(m)).or_default().push(m);
    }
    // Every stay a message names, in the range or not: a guest of one has messages.
    let messaged: std::collections::HashSet<String> = stays.keys().cloned().collect();
    let guest_of: HashMap<String, &PmsGuest> =
        guests.iter().map(|g| (guest_stay_key(g), g)).collect();
    let mut out = Vec::new();
    for (key, mut ms) in stays {
        // Latest first: the stay's dates and name follow its latest message.
        ms.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
        let guest = guest_of.get(&key);
        let check_in = ms
            .iter()
            .find_map(|m| m.check_in_date)
            .or_else(|| guest.and_then(|g| g.check_in_date));
        let Some(check_in_date) = check_in.filter(|d| (from..=to).contains(d)) else {
            continue;
        };
        let first_reached = first_reached(&ms);
        out.push(Arrival {
            guest_name: guest
                .and_then(|g| g.full_name.clone())
                .or_else(|| ms.iter().find_map(|m| m.guest_name.clone())),
            pms_guest_id: ms
                .iter()
                .find_map(|m| m.pms_guest_id.clone())
                .or_else(|| guest.map(|g| g.pms_guest_id.clone())),
            pms_reservation_id: ms.iter().find_map(|m| m.pms_reservation_id.clone()),
            check_in_date,
            check_out_date: ms
                .iter()
                .find_map(|m| m.check_out_date)
                .or_else(|| guest.and_then(|g| g.check_out_date)),
            messages: ms.len() as i32,
            reach: reach(&ms),
            reached_at: first_reached.map(|(at, _)| at),
            reached_channel: first_reached.map(|(_, c)| c),
            last_status: ms.first().map(|m| m.status),
            last_error_category: ms
                .iter()
                .map(|m| m.error_category)
                .find(|c| *c != ErrorCategory::None)
                .unwrap_or_default(),
            stuck: ms.iter().filter(|m| m.stuck).count() as i32,
            open_flag_id: open_flags.get(&key).cloned(),
            stay_key: key,
        });
    }
    for g in guests {
        let key = guest_stay_key(g);
        let Some(check_in_date) = g.check_in_date.filter(|d| (from..=to).contains(d)) else {
            continue;
        };
        if messaged.contains(&key) {
            continue;
        }
        out.push(Arrival {
            stay_key: key,
            guest_name: g.full_name.clone(),
            pms_guest_id: Some(g.pms_guest_id.clone()),
            pms_reservation_id: g.pms_reservation_id.clone(),
            check_in_date,
            check_out_date: g.check_out_date,
            messages: 0,
            reach: Reach::NoMessage,
            reached_at: None,
            reached_channel: None,
            last_status: None,
            last_error_category: ErrorCategory::None,
            stuck: 0,
            open_flag_id: None,
        });
    }
    out.sort_by(|a, b| (a.check_in_date, &a.stay_key).cmp(&(b.check_in_date, &b.stay_key)));
    out
}

/// Stays per reach state, every state listed.
pub fn counts(arrivals: &[Arrival]) -> Vec<(Reach, i64)> {
    Reach::ALL
        .into_iter()
        .map(|r| (r, arrivals.iter().filter(|a| a.reach == r).count() as i64))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, d).unwrap()
    }

    fn message(id: &str, reservation: &str, channel: Channel, status: MessageStatus) -> Message {
        let at = Utc.timestamp_opt(1_790_000_000, 0).unwrap();
        let mut m = crate::domain::testing::message(id, channel, status, at);
        m.pms_reservation_id = (!reservation.is_empty()).then(|| reservation.to_string());
        m.check_in_date = Some(day(10));
        m.check_out_date = Some(day(12));
        m.delivered_at = matches!(status, MessageStatus::Delivered).then_some(at);
        m
    }

    fn guest(id: &str, reservation: &str, check_in: u32) -> PmsGuest {
        PmsGuest {
            hotel_id: "h".into(),
            pms_guest_id: id.into(),
            pms_reservation_id: Some(reservation.into()),
            full_name: Some("Alex Guest".into()),
            phone: None,
            phone_normalized: None,
            email: None,
            email_normalized: None,
            check_in_date: Some(day(check_in)),
            check_out_date: None,
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn every_reach_state() {
        let mut stuck = message("m5", "r3", Channel::Sms, MessageStatus::Sent);
        stuck.stuck = true;
        let messages = vec![
            message("m1", "r1", Channel::Whatsapp, MessageStatus::Failed),
            message("m2", "r1", Channel::Sms, MessageStatus::Delivered),
            message("m3", "r2", Channel::Whatsapp, MessageStatus::Sent),
            message("m4", "r3", Channel::Whatsapp, MessageStatus::Undelivered),
            stuck,
        ];
        let guests = vec![
            guest("g1", "r1", 10),
            guest("g4", "r4", 11),
            guest("g5", "r5", 20),
        ];
        let flags = HashMap::from([("r3".to_string(), "f4".to_string())]);
        let list = arrivals(&messages, &guests, &flags, day(10), day(11));
        let by_key: HashMap<&str, &Arrival> =
            list.iter().map(|a| (a.stay_key.as_str(), a)).collect();
        assert_eq!(list.len(), 4, "r5 arrives after the range");
        assert_eq!(by_key["r1"].reach, Reach::Reached);
        assert_eq!(by_key["r1"].reached_channel, Some(Channel::Sms));
        assert_eq!(by_key["r1"].messages, 2);
        assert_eq!(
            by_key["r1"].guest_name.as_deref(),
            Some("Alex Guest"),
            "the PMS name"
        );
        assert_eq!(by_key["r2"].reach, Reach::InFlight);
        assert_eq!(by_key["r3"].reach, Reach::NotReached, "failed and stuck");
        assert_eq!(by_key["r3"].stuck, 1);
        assert_eq!(by_key["r3"].open_flag_id.as_deref(), Some("f4"));
        assert_eq!(by_key["r4"].reach, Reach::NoMessage);
        assert_eq!(
            list.last().unwrap().stay_key,
            "r4",
            "by check-in date, then key"
        );
        let counts = counts(&list);
        assert_eq!(counts.iter().map(|(_, n)| n).sum::<i64>(), 4);
    }

    fn any_message() -> impl Strategy<Value = Message> {
        (0usize..4, 0usize..3, 0usize..9, any::<bool>()).prop_map(|(r, c, s, stuck)| {
            let mut m = message(
                &format!("m{r}{c}{s}"),
                ["r1", "r2", "r3", ""][r],
                Channel::ALL[c],
                MessageStatus::ALL[s],
            );
            m.stuck = stuck && matches!(m.status, MessageStatus::Sent | MessageStatus::Pending);
            m
        })
    }

    proptest! {
        /// The answer does not depend on the order of the messages, and a delivered
        /// message always makes its stay reached.
        #[test]
        fn order_free_and_delivery_reaches(
            messages in proptest::collection::vec(any_message(), 0..12),
            seed in any::<u64>(),
        ) {
            let mut shuffled = messages.clone();
            crate::domain::testing::shuffle(&mut shuffled, seed);
            let none = HashMap::new();
            let a = arrivals(&messages, &[], &none, day(1), day(31));
            let b = arrivals(&shuffled, &[], &none, day(1), day(31));
            prop_assert_eq!(a.iter().map(|x| (&x.stay_key, x.reach, x.messages)).collect::<Vec<_>>(),
                            b.iter().map(|x| (&x.stay_key, x.reach, x.messages)).collect::<Vec<_>>());
            let mut more = messages.clone();
            more.push(message("late-delivery", "r1", Channel::Email, MessageStatus::Delivered));
            let c = arrivals(&more, &[], &none, day(1), day(31));
            prop_assert!(c.iter().any(|x| x.stay_key == "r1" && x.reach == Reach::Reached));
        }
    }
}
