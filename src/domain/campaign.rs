//! A campaign's delivery funnel, from its per-status counts.
use super::message::MessageStatus;
use super::status::rank;

#[derive(Debug, Clone, PartialEq)]
pub struct Funnel {
    pub total: i64,
    pub by_status: Vec<(MessageStatus, i64)>,
    /// Messages at SENT or beyond (SENT, FAILED, UNDELIVERED, DELIVERED, READ).
    pub sent_or_later: i64,
    pub sent: i64,
    pub delivered: i64,
    pub read: i64,
    pub undelivered: i64,
    pub failed: i64,
    /// delivered + read over sent-or-later; 0 when nothing was sent.
    pub delivery_rate: f64,
    /// read over delivered + read; 0 when nothing was delivered.
    pub read_rate: f64,
}

pub fn funnel(by_status: &[(MessageStatus, i64)]) -> Funnel {
    let count = |s: MessageStatus| {
        by_status
            .iter()
            .filter(|(x, _)| *x == s)
            .map(|(_, n)| n)
            .sum::<i64>()
    };
    let sent_or_later: i64 = by_status
        .iter()
        .filter(|(s, _)| rank(*s) >= rank(MessageStatus::Sent))
        .map(|(_, n)| n)
        .sum();
    let (delivered, read) = (count(MessageStatus::Delivered), count(MessageStatus::Read));
    let ratio = |a: i64, b: i64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let mut sorted = by_status.to_vec();
    sorted.sort();
    Funnel {
        total: by_status.iter().map(|(_, n)| n).sum(),
        by_status: sorted,
        sent_or_later,
        sent: count(MessageStatus::Sent),
        delivered,
        read,
        undelivered: count(MessageStatus::Undelivered),
        failed: count(MessageStatus::Failed),
        delivery_rate: ratio(delivered + read, sent_or_later),
        read_rate: ratio(read, delivered + read),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use MessageStatus::*;

    #[test]
    fn rates() {
        let f = funnel(&[
            (Pending, 5),
            (Cancelled, 1),
            (Sent, 10),
            (Failed, 4),
            (Undelivered, 6),
            (Delivered, 60),
            (Read, 20),
        ]);
        assert_eq!(f.total, 106);
        assert_eq!(f.sent_or_later, 100);
        assert!((f.delivery_rate - 0.8).abs() < 1e-9);
        assert!((f.read_rate - 0.25).abs() < 1e-9);
    }

    #[test]
    fn empty_funnel_has_zero_rates() {
        let f = funnel(&[(Pending, 3)]);
        assert_eq!((f.delivery_rate, f.read_rate), (0.0, 0.0));
    }
}
