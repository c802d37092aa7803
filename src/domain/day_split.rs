//! A `[after, before)` recording-time range cut into whole UTC days (answered from
//! the per-day tallies) and the partial days at its edges (counted row by row).
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};

/// Whole UTC days `from..until` (until exclusive); None is unbounded on that side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WholeDays {
    pub from: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
}

/// An instant range `[after, before)`; None is unbounded on that side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instants {
    pub after: Option<DateTime<Utc>>,
    pub before: Option<DateTime<Utc>>,
}

/// The pieces of a range: disjoint, and together exactly the range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaySplit {
    pub whole_days: Option<WholeDays>,
    /// At most two, each shorter than a day.
    pub partial: Vec<Instants>,
}

fn midnight(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(NaiveTime::MIN).and_utc()
}

fn is_midnight(t: DateTime<Utc>) -> bool {
    t == midnight(t.date_naive())
}

/// The first midnight at or after `t`.
fn ceil_day(t: DateTime<Utc>) -> NaiveDate {
    match is_midnight(t) {
        true => t.date_naive(),
        false => t.date_naive() + Duration::days(1),
    }
}

pub fn split(after: Option<DateTime<Utc>>, before: Option<DateTime<Utc>>) -> DaySplit {
    let from = after.map(ceil_day);
    let until = before.map(|t| t.date_naive());
    if let (Some(a), Some(b)) = (after, before) {
        if a >= b {
            return DaySplit {
                whole_days: None,
                partial: Vec::new(),
            };
        }
        if from.zip(until).is_some_and(|(f, u)| f > u) {
            // Both within one day.
            return DaySplit {
                whole_days: None,
                partial: vec![Instants {
                    after: Some(a),
                    before: Some(b),
                }],
            };
        }
    }
    let mut partial = Vec::new();
    if let (Some(a), Some(f)) = (after, from)
        && a < midnight(f)
    {
        partial.push(Instants {
            after: Some(a),
            before: Some(midnight(f)),
        });
    }
    if let (Some(b), Some(u)) = (before, until)
        && midnight(u) < b
    {
        partial.push(Instants {
            after: Some(midnight(u)),
            before: Some(b),
        });
    }
    let no_whole_day = from.zip(until).is_some_and(|(f, u)| f >= u);
    DaySplit {
        whole_days: Some(WholeDays { from, until }).filter(|_| !no_whole_day),
        partial,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn instant(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).unwrap()
    }

    fn in_instants(t: DateTime<Utc>, r: &Instants) -> bool {
        r.after.is_none_or(|a| a <= t) && r.before.is_none_or(|b| t < b)
    }

    fn in_days(t: DateTime<Utc>, d: &WholeDays) -> bool {
        let day = t.date_naive();
        d.from.is_none_or(|f| f <= day) && d.until.is_none_or(|u| day < u)
    }

    #[test]
    fn midnights_need_no_partial_day() {
        let s = split(Some(instant(86_400)), Some(instant(3 * 86_400)));
        assert!(s.partial.is_empty());
        assert_eq!(
            s.whole_days.unwrap(),
            WholeDays {
                from: Some(instant(86_400).date_naive()),
                until: Some(instant(3 * 86_400).date_naive()),
            }
        );
    }

    #[test]
    fn a_range_within_one_day_is_all_partial() {
        let s = split(Some(instant(3_600)), Some(instant(7_200)));
        assert_eq!(s.whole_days, None);
        assert_eq!(s.partial.len(), 1);
    }

    const SPAN: i64 = 10 * 86_400;

    proptest! {
        // Every instant is in exactly one piece when it is in the range, and in none
        // otherwise.
        #[test]
        fn pieces_cover_the_range_exactly_once(
            after in proptest::option::of(0..SPAN),
            before in proptest::option::of(0..SPAN),
            probes in proptest::collection::vec(-86_400..SPAN + 86_400, 50),
            round in any::<bool>(),
        ) {
            // Land on midnights often: they are the edge cases.
            let snap = |s: i64| if round { s - s.rem_euclid(86_400) } else { s };
            let (after, before) = (after.map(snap).map(instant), before.map(snap).map(instant));
            let s = split(after, before);
            prop_assert!(s.partial.len() <= 2);
            for p in &s.partial {
                let (a, b) = (p.after.unwrap(), p.before.unwrap());
                prop_assert!(a < b && b - a <= Duration::days(1));
            }
            for probe in probes {
                let t = instant(probe);
                let wanted = after.is_none_or(|a| a <= t) && before.is_none_or(|b| t < b);
                let hits = s.partial.iter().filter(|p| in_instants(t, p)).count()
                    + s.whole_days.iter().filter(|d| in_days(t, d)).count();
                prop_assert_eq!(hits, usize::from(wanted), "at {}", t);
            }
        }
    }
}
