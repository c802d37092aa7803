//! The message filter of API.md, validated and normalised once for every query path
//! (list, count, export, watch).
use chrono::{DateTime, NaiveDate, Utc};

use super::error_category::ErrorCategory;
use super::message::{Channel, MessageCategory, MessageStatus, optional, optional_date};
use super::phone::{self, RegionMap};
use super::stuck::StuckSince;
use super::{FieldError, email, page};

/// A filter as the caller sent it (empty text = not filtered on).
#[derive(Debug, Clone, Default)]
pub struct FilterDraft {
    pub hotel_ids: Vec<String>,
    pub phone: String,
    pub campaign_name: String,
    pub campaign_ids: Vec<String>,
    pub check_in_from: String,
    pub check_in_to: String,
    pub check_out_from: String,
    pub check_out_to: String,
    pub channels: Vec<Channel>,
    pub statuses: Vec<MessageStatus>,
    pub created_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    pub email: String,
    pub pms_reservation_id: String,
    pub provider_message_id: String,
    pub error_categories: Vec<ErrorCategory>,
    /// Only messages that are stuck now.
    pub stuck: bool,
    pub categories: Vec<MessageCategory>,
}

/// An inclusive date range; either end may be open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DateRange {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

impl DateRange {
    pub fn is_set(&self) -> bool {
        self.from.is_some() || self.to.is_some()
    }
}

/// A validated filter. `hotel_ids` is the resolved scope: empty means every hotel.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MessageQuery {
    pub hotel_ids: Vec<String>,
    /// The stored forms the searched phone may take.
    pub phone_forms: Vec<String>,
    /// Lower-cased substring of the campaign name.
    pub campaign_name: Option<String>,
    pub campaign_ids: Vec<String>,
    pub check_in: DateRange,
    pub check_out: DateRange,
    pub channels: Vec<Channel>,
    pub statuses: Vec<MessageStatus>,
    pub created_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    pub email: Option<String>,
    pub pms_reservation_id: Option<String>,
    pub provider_message_id: Option<String>,
    pub error_categories: Vec<ErrorCategory>,
    /// Only stuck messages: those whose silence started before these instants.
    pub stuck: Option<StuckSince>,
    pub categories: Vec<MessageCategory>,
}

/// Longest list accepted in a repeated filter field.
pub const MAX_LIST_LEN: usize = 1000;

impl MessageQuery {
    /// Validates a draft whose hotel scope has already been resolved; `stuck_since` is
    /// what "stuck" means now, for a draft that asks for stuck messages.
    pub fn build(
        draft: FilterDraft,
        regions: &RegionMap,
        stuck_since: StuckSince,
    ) -> Result<Self, FieldError> {
        let within = |e: FieldError| e.within("filter");
        let mut hotel_ids = list("hotel_ids", draft.hotel_ids).map_err(within)?;
        hotel_ids.sort();
        hotel_ids.dedup();
        let phone_forms = match optional("phone", &draft.phone).map_err(within)? {
            Some(p) => phone::search_forms(&p, &regions.for_hotels(&hotel_ids)),
            None => Vec::new(),
        };
        let mut campaign_ids = list("campaign_ids", draft.campaign_ids).map_err(within)?;
        campaign_ids.sort();
        campaign_ids.dedup();
        let check_in = range(
            ("check_in_from", &draft.check_in_from),
            ("check_in_to", &draft.check_in_to),
        )
        .map_err(within)?;
        let check_out = range(
            ("check_out_from", &draft.check_out_from),
            ("check_out_to", &draft.check_out_to),
        )
        .map_err(within)?;
        if let (Some(a), Some(b)) = (draft.created_after, draft.created_before)
            && b < a
        {
            return Err(within(FieldError::new(
                "created_before",
                "is earlier than created_after",
            )));
        }
        Ok(MessageQuery {
            hotel_ids,
            phone_forms,
            campaign_name: optional("campaign_name", &draft.campaign_name)
                .map_err(within)?
                .map(|n| n.to_lowercase()),
            campaign_ids,
            check_in,
            check_out,
            channels: sorted(draft.channels),
            statuses: sorted(draft.statuses),
            created_after: draft.created_after,
            created_before: draft.created_before,
            email: optional("email", &draft.email)
                .map_err(within)?
                .map(|e| email::normalize(&e)),
            pms_reservation_id: optional("pms_reservation_id", &draft.pms_reservation_id)
                .map_err(within)?,
            provider_message_id: optional("provider_message_id", &draft.provider_message_id)
                .map_err(within)?,
            error_categories: sorted(draft.error_categories),
            stuck: draft.stuck.then_some(stuck_since),
            categories: sorted(draft.categories),
        })
    }

    /// Does `m` match? The same rules as the store's query, for live changes.
    pub fn matches(&self, m: &super::message::Message) -> bool {
        let within = |r: &DateRange, d: Option<NaiveDate>| match d {
            _ if !r.is_set() => true,
            None => false,
            Some(d) => r.from.is_none_or(|f| d >= f) && r.to.is_none_or(|t| d <= t),
        };
        let any = |list: &[String], v: &Option<String>| {
            list.is_empty() || v.as_ref().is_some_and(|v| list.contains(v))
        };
        let exact = |want: &Option<String>, v: &Option<String>| want.is_none() || want == v;
        (self.hotel_ids.is_empty() || self.hotel_ids.contains(&m.hotel_id))
            && any(&self.phone_forms, &m.recipient_phone)
            && self.campaign_name.as_ref().is_none_or(|needle| {
                m.campaign_name
                    .as_ref()
                    .is_some_and(|n| n.to_lowercase().contains(needle.as_str()))
            })
            && any(&self.campaign_ids, &m.campaign_id)
            && within(&self.check_in, m.check_in_date)
            && within(&self.check_out, m.check_out_date)
            && (self.channels.is_empty() || self.channels.contains(&m.channel))
            && (self.statuses.is_empty() || self.statuses.contains(&m.status))
            && self.created_after.is_none_or(|t| m.created_at >= t)
            && self.created_before.is_none_or(|t| m.created_at < t)
            && exact(
                &self.email,
                &m.recipient_email.as_deref().map(email::normalize),
            )
            && exact(&self.pms_reservation_id, &m.pms_reservation_id)
            && exact(&self.provider_message_id, &m.provider_message_id)
            && (self.error_categories.is_empty()
                || self.error_categories.contains(&m.error_category))
            && self.stuck.is_none_or(|since| since.holds(m))
            && (self.categories.is_empty() || self.categories.contains(&m.category))
    }

    /// This query as one query per day of its check-in (or check-out) range, whose
    /// matches together are exactly this query's: a message has one check-in date. The
    /// store reads a page that way because each day is a range of a stay-date index
    /// already in page order, so a page costs a page's worth of entries a day instead of
    /// every message of the range, sorted (a week of a big hotel's check-ins holds
    /// ~35,000 messages at 10,000,000). `None` when that is not the way to read it: not
    /// exactly one hotel (the stay-date indexes start with it), a key of its own (a
    /// phone, address, reservation or provider id finds its few messages through its
    /// own index), or no range with both ends set of at most `max_days` days. Of two
    /// such ranges the shorter is split; the other stays a filter of every day.
    pub fn per_stay_day(&self, max_days: i64) -> Option<Vec<MessageQuery>> {
        let keyed = !self.phone_forms.is_empty()
            || self.email.is_some()
            || self.pms_reservation_id.is_some()
            || self.provider_message_id.is_some();
        if self.hotel_ids.len() != 1 || keyed {
            return None;
        }
        let days = |r: DateRange| match (r.from, r.to) {
            (Some(from), Some(to)) if from <= to && (to - from).num_days() < max_days => {
                Some((from, (to - from).num_days() + 1))
            }
            _ => None,
        };
        let on_check_in = match (days(self.check_in), days(self.check_out)) {
            (Some((_, a)), Some((_, b))) => a <= b,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => return None,
        };
        let (from, count) = days(match on_check_in {
            true => self.check_in,
            false => self.check_out,
        })?;
        Some(
            (0..count)
                .map(|i| {
                    let day = from + chrono::Duration::days(i);
                    let one = DateRange {
                        from: Some(day),
                        to: Some(day),
                    };
                    let mut q = self.clone();
                    match on_check_in {
                        true => q.check_in = one,
                        false => q.check_out = one,
                    }
                    q
                })
                .collect(),
        )
    }

    /// Binds page tokens to this exact query (and so to the caller's hotel scope).
    /// Whether it asks for stuck messages counts; the instant it was asked does not,
    /// so the next page of "stuck" is still the same query a minute later.
    pub fn fingerprint(&self) -> [u8; 8] {
        let mut key = self.clone();
        key.stuck = self.stuck.map(|_| {
            let epoch = DateTime::<Utc>::UNIX_EPOCH;
            StuckSince {
                whatsapp: epoch,
                sms: epoch,
                email: epoch,
            }
        });
        page::fingerprint(&format!("messages:{key:?}"))
    }
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v.dedup();
    v
}

fn list(field: &str, values: Vec<String>) -> Result<Vec<String>, FieldError> {
    if values.len() > MAX_LIST_LEN {
        return Err(FieldError::new(
            field,
            format!("has {} items; the limit is {MAX_LIST_LEN}", values.len()),
        ));
    }
    let mut out = Vec::with_capacity(values.len());
    for (i, v) in values.iter().enumerate() {
        match optional(&format!("{field}[{i}]"), v)? {
            Some(v) => out.push(v),
            None => return Err(FieldError::new(format!("{field}[{i}]"), "is empty")),
        }
    }
    Ok(out)
}

fn range(from: (&str, &str), to: (&str, &str)) -> Result<DateRange, FieldError> {
    let r = DateRange {
        from: optional_date(from.0, from.1)?,
        to: optional_date(to.0, to.1)?,
    };
    if let (Some(a), Some(b)) = (r.from, r.to)
        && b < a
    {
        return Err(FieldError::new(
            to.0,
            format!("{b} is before {} {a}", from.0),
        ));
    }
    Ok(r)
}

/// Matching messages counted per (status, channel, error category).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub total: i64,
    pub by_status: Vec<(MessageStatus, i64)>,
    pub by_channel: Vec<(Channel, i64)>,
    pub by_error_category: Vec<(ErrorCategory, i64)>,
    /// Every category present, UNSPECIFIED included.
    pub by_category: Vec<(MessageCategory, i64)>,
    /// How many of them are stuck now.
    pub stuck: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now_stuck() -> StuckSince {
        super::super::stuck::StuckAfter::default().since(Utc::now())
    }

    #[test]
    fn normalises_and_checks() {
        let q = MessageQuery::build(
            FilterDraft {
                phone: "06 12 34 56 78".into(),
                campaign_name: "Check-In".into(),
                email: " Anna@Example.com".into(),
                ..Default::default()
            },
            &RegionMap::default(),
            now_stuck(),
        )
        .unwrap();
        assert!(q.phone_forms.contains(&"+33612345678".to_string()));
        assert_eq!(q.campaign_name.as_deref(), Some("check-in"));
        assert_eq!(q.email.as_deref(), Some("anna@example.com"));
    }

    #[test]
    fn bad_ranges_name_the_field() {
        let err = MessageQuery::build(
            FilterDraft {
                check_in_from: "2024-05-02".into(),
                check_in_to: "2024-05-01".into(),
                ..Default::default()
            },
            &RegionMap::default(),
            now_stuck(),
        )
        .unwrap_err();
        assert_eq!(err.field, "filter.check_in_to");
        let err = MessageQuery::build(
            FilterDraft {
                check_out_from: "tomorrow".into(),
                ..Default::default()
            },
            &RegionMap::default(),
            now_stuck(),
        )
        .unwrap_err();
        assert_eq!(err.field, "filter.check_out_from");
    }

    #[test]
    fn fingerprint_ignores_order() {
        let a = MessageQuery::build(
            FilterDraft {
                channels: vec![Channel::Sms, Channel::Email],
                ..Default::default()
            },
            &RegionMap::default(),
            now_stuck(),
        )
        .unwrap();
        let b = MessageQuery::build(
            FilterDraft {
                channels: vec![Channel::Email, Channel::Sms],
                ..Default::default()
            },
            &RegionMap::default(),
            now_stuck(),
        )
        .unwrap();
        assert_eq!(a.fingerprint(), b.fingerprint());
    }

    mod per_stay_day {
        use super::*;
        use crate::domain::testing;
        use proptest::prelude::*;

        fn day(n: i64) -> NaiveDate {
            NaiveDate::from_ymd_opt(2027, 2, 1).unwrap() + chrono::Duration::days(n)
        }

        fn range(from: Option<i64>, to: Option<i64>) -> DateRange {
            DateRange {
                from: from.map(day),
                to: to.map(day),
            }
        }

        fn one_hotel(check_in: DateRange, check_out: DateRange) -> MessageQuery {
            MessageQuery {
                hotel_ids: vec!["h".into()],
                check_in,
                check_out,
                ..Default::default()
            }
        }

        #[test]
        fn splits_the_shorter_bounded_range_only_for_one_hotel_without_a_key() {
            let week = range(Some(0), Some(6));
            let month = range(Some(0), Some(29));
            let days = one_hotel(month, week).per_stay_day(62).unwrap();
            assert_eq!(days.len(), 7);
            assert!(days.iter().all(|q| q.check_in == month));
            assert_eq!(days[6].check_out, range(Some(6), Some(6)));
            // Open-ended, too long, reversed: read as one range.
            assert!(
                one_hotel(range(Some(0), None), DateRange::default())
                    .per_stay_day(62)
                    .is_none()
            );
            assert!(
                one_hotel(range(Some(0), Some(62)), DateRange::default())
                    .per_stay_day(62)
                    .is_none()
            );
            assert_eq!(
                one_hotel(range(Some(0), Some(61)), DateRange::default())
                    .per_stay_day(62)
                    .unwrap()
                    .len(),
                62
            );
            assert!(
                one_hotel(range(Some(3), Some(2)), DateRange::default())
                    .per_stay_day(62)
                    .is_none()
            );
            let mut all_hotels = one_hotel(week, DateRange::default());
            all_hotels.hotel_ids.clear();
            assert!(all_hotels.per_stay_day(62).is_none());
            let mut phone = one_hotel(week, DateRange::default());
            phone.phone_forms = vec!["+33612345678".into()];
            assert!(phone.per_stay_day(62).is_none());
        }

        fn bound() -> impl Strategy<Value = Option<i64>> {
            proptest::option::weighted(0.8, 0..20i64)
        }

        proptest! {
            /// A message the query matches is matched by exactly one day's query, and
            /// one it does not match by none.
            #[test]
            fn each_match_falls_on_exactly_one_day(
                check_in in (bound(), bound()),
                check_out in (bound(), bound()),
                stays in proptest::collection::vec(
                    (proptest::option::of(-2..22i64), proptest::option::of(-2..22i64)),
                    1..30,
                ),
            ) {
                let q = one_hotel(range(check_in.0, check_in.1), range(check_out.0, check_out.1));
                if let Some(days) = q.per_stay_day(10) {
                    for (i, (arrive, leave)) in stays.into_iter().enumerate() {
                        let at = chrono::TimeZone::timestamp_opt(&Utc, 1_790_000_000, 0).unwrap();
                        let mut m = testing::message(&format!("m{i}"), Channel::Sms, MessageStatus::Sent, at);
                        m.hotel_id = "h".into();
                        m.check_in_date = arrive.map(day);
                        m.check_out_date = leave.map(day);
                        let matching_days = days.iter().filter(|d| d.matches(&m)).count();
                        prop_assert_eq!(matching_days, usize::from(q.matches(&m)));
                    }
                }
            }
        }
    }
}
