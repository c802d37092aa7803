//! ListArrivals: the stays arriving in a range of check-in dates of one hotel, and
//! whether each guest has been reached (`domain::arrival`), paged by (check-in date,
//! stay key), with the counts per reach state over the whole range.
use std::collections::HashMap;

use chrono::NaiveDate;

use super::{AppState, ServiceError};
use crate::domain::FieldError;
use crate::domain::access::Caller;
use crate::domain::arrival::{self, Arrival, Reach};
use crate::domain::message::{optional_date, required};
use crate::domain::page::{self, Cursor};
use crate::store::{flags, guests, messages};

/// Longest range of check-in dates one call reads: a call reads every message of its
/// range (see the README's Performance section), so the range bounds its memory.
pub const MAX_RANGE_DAYS: i64 = 31;

/// Arrivals computed at once in this process; more calls wait their turn, so that a
/// burst of wide ranges cannot hold many ranges' messages in memory together.
pub const CONCURRENT_COMPUTATIONS: usize = 2;

static COMPUTING: tokio::sync::Semaphore =
    tokio::sync::Semaphore::const_new(CONCURRENT_COMPUTATIONS);

/// What ListArrivals asks.
#[derive(Debug, Clone, Default)]
pub struct ArrivalsDraft {
    pub hotel_id: String,
    pub check_in_from: String,
    pub check_in_to: String,
    pub reach: Vec<Reach>,
}

/// One page of arrivals, the counts per reach state, and the next page's token.
pub struct ArrivalsPage {
    pub arrivals: Vec<Arrival>,
    pub counts: Vec<(Reach, i64)>,
    pub next_page_token: String,
}

pub async fn list(
    state: &AppState,
    caller: &Caller,
    draft: ArrivalsDraft,
    page_size: i32,
    page_token: &str,
) -> Result<ArrivalsPage, ServiceError> {
    let hotel_id = required("hotel_id", &draft.hotel_id)?;
    caller.scope("hotel_id", vec![hotel_id.clone()])?;
    let date = |field: &str, text: &str| {
        optional_date(field, text)?.ok_or_else(|| FieldError::new(field, "is required"))
    };
    let from: NaiveDate = date("check_in_from", &draft.check_in_from)?;
    let to: NaiveDate = date("check_in_to", &draft.check_in_to)?;
    if to < from {
        return Err(FieldError::new(
            "check_in_to",
            format!("{to} is before check_in_from {from}"),
        )
        .into());
    }
    if (to - from).num_days() >= MAX_RANGE_DAYS {
        return Err(FieldError::new(
            "check_in_to",
            format!("the range is longer than {MAX_RANGE_DAYS} days; ask for a shorter one"),
        )
        .into());
    }
    let limit = page::page_size(page_size)?;
    let mut reach = draft.reach;
    reach.sort();
    reach.dedup();
    let fingerprint = page::fingerprint(&format!("arrivals|{hotel_id}|{from}|{to}|{reach:?}"));
    let after = state.page_tokens.decode(page_token, &fingerprint)?;

    let _turn = COMPUTING
        .acquire()
        .await
        .map_err(|_| ServiceError::Unavailable("the server is shutting down".into()))?;
    let h = hotel_id.clone();
    let (mut found, guests, open) = state
        .store
        .run(move |c| {
            let found = messages::arriving(c, &h, from, to)?;
            let mut keys: Vec<String> = found.iter().map(arrival::stay_key).collect();
            keys.sort();
            keys.dedup();
            let open = flags::open_by_stay(c, &h, &keys)?;
            Ok((found, guests::arriving(c, &h, from, to)?, open))
        })
        .await
        .map_err(ServiceError::store("arrivals"))?;
    super::messages::mark_stuck(state, &mut found);
    let open: HashMap<String, String> = open.into_iter().collect();
    let all = arrival::arrivals(&found, &guests, &open, from, to);
    let counts = arrival::counts(&all);

    let key = |a: &Arrival| Cursor {
        at: a
            .check_in_date
            .and_hms_opt(0, 0, 0)
            .expect("midnight")
            .and_utc(),
        id: a.stay_key.clone(),
    };
    let mut rows: Vec<Arrival> = all
        .into_iter()
        .filter(|a| reach.is_empty() || reach.contains(&a.reach))
        .filter(|a| {
            after.as_ref().is_none_or(|c| {
                let k = key(a);
                (k.at, &k.id) > (c.at, &c.id)
            })
        })
        .take(limit + 1)
        .collect();
    let next_page_token = match rows.len() > limit {
        true => {
            rows.truncate(limit);
            rows.last()
                .map(|last| state.page_tokens.encode(&key(last), &fingerprint))
                .unwrap_or_default()
        }
        false => String::new(),
    };
    Ok(ArrivalsPage {
        arrivals: rows,
        counts,
        next_page_token,
    })
}
