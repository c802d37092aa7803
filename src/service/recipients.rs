//! CheckRecipients, transport-free: normalise each phone or email, read what the store
//! knows of them in one hotel (a few set-based queries), and judge each with the pure
//! rule in `domain::recipient`.
use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use chrono::{DateTime, Utc};
use phonenumber::country::Id as Region;

use super::{AppState, ServiceError, check_batch};
use crate::domain::access::Caller;
use crate::domain::email;
use crate::domain::error_category::ErrorCategory;
use crate::domain::flag::FlagState;
use crate::domain::message::MessageCategory;
use crate::domain::message::{optional, required};
use crate::domain::phone::{self, NormalizedPhone, RegionMap};
use crate::domain::recipient::{self, Asked, PastMessage, Verdict};
use crate::domain::suppression::{Reason, Suppression};
use crate::store::recipients::{self as store, Address, RecipientFlag};
use crate::store::suppressions;
use crate::store::{Store, StoreError};

/// What sentlog knows of one phone or email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientCheck {
    pub input: String,
    pub normalized: String,
    pub valid: bool,
    pub last_delivered_at: Option<DateTime<Utc>>,
    pub failures_since_delivered: i64,
    pub last_error_category: ErrorCategory,
    pub open_flag_id: Option<String>,
    pub corrected: Option<String>,
    pub verdict: Verdict,
    /// The suppression that decided DO_NOT_SEND: (id, reason).
    pub suppression: Option<(String, Reason)>,
}

/// Phones already normalised, per region by text as given: the hub checks the same
/// guests before each campaign, and libphonenumber's rules are most of a check's
/// cost. Bounded: emptied when full.
type NormalizedByRegion = HashMap<Region, HashMap<String, NormalizedPhone>>;
static NORMALIZED: LazyLock<Mutex<NormalizedByRegion>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));
const NORMALIZED_LIMIT: usize = 100_000;

/// Normalises a batch of phones with one lock to read the cache and one to add what
/// it missed (concurrent checks would otherwise queue on the lock 1000 times a call).
fn normalize_all(inputs: &[String], region: Region) -> Vec<NormalizedPhone> {
    let mut found: Vec<Option<NormalizedPhone>> = match NORMALIZED.lock() {
        Ok(cache) => {
            let by_text = cache.get(&region);
            inputs
                .iter()
                .map(|p| by_text.and_then(|m| m.get(p.as_str())).cloned())
                .collect()
        }
        Err(_) => vec![None; inputs.len()],
    };
    let mut fresh = Vec::new();
    for (p, slot) in inputs.iter().zip(found.iter_mut()) {
        if slot.is_none() {
            let n = phone::normalize(p, region);
            fresh.push((p.clone(), n.clone()));
            *slot = Some(n);
        }
    }
    if !fresh.is_empty()
        && let Ok(mut cache) = NORMALIZED.lock()
    {
        if cache.values().map(HashMap::len).sum::<usize>() + fresh.len() > NORMALIZED_LIMIT {
            cache.clear();
        }
        cache.entry(region).or_default().extend(fresh);
    }
    found
        .into_iter()
        .map(|n| n.expect("every phone normalised"))
        .collect()
}

/// Checks phones then emails, answers in the same order.
/// CheckRecipients: what sentlog knows of each phone and email in one hotel of the
/// caller's, at most `MAX_BATCH` of them together.
pub async fn check(
    state: &AppState,
    caller: &Caller,
    hotel_id: &str,
    phones: Vec<String>,
    emails: Vec<String>,
    category: MessageCategory,
) -> Result<Vec<RecipientCheck>, ServiceError> {
    let hotel_id = required("hotel_id", hotel_id)?;
    caller.scope("hotel_id", vec![hotel_id.clone()])?;
    check_batch("phones and emails", phones.len() + emails.len())?;
    for (field, values) in [("phones", &phones), ("emails", &emails)] {
        for (i, v) in values.iter().enumerate() {
            optional(&format!("{field}[{i}]"), v)?;
        }
    }
    check_in(
        &state.store,
        &state.regions,
        &hotel_id,
        phones,
        emails,
        category,
    )
    .await
    .map_err(ServiceError::store("recipient"))
}

/// The checks of one hotel's phones and emails, input already validated.
async fn check_in(
    store: &Store,
    regions: &RegionMap,
    hotel_id: &str,
    phones: Vec<String>,
    emails: Vec<String>,
    category: MessageCategory,
) -> Result<Vec<RecipientCheck>, StoreError> {
    let region = regions.for_hotel(hotel_id);
    let key = store.suppression_key().clone();
    let hotel = hotel_id.to_string();
    // One trip to the blocking pool: normalising 1000 phones takes milliseconds of CPU
    // on a cache miss, and the queries follow.
    let (items, hash_of, history, flags, suppressions) = store
        .run(move |c| {
            // (input, normalised, parses, valid, address kind)
            let mut items: Vec<(String, String, bool, bool, Address)> =
                Vec::with_capacity(phones.len() + emails.len());
            let normalized = normalize_all(&phones, region);
            for (p, n) in phones.into_iter().zip(normalized) {
                items.push((p, n.stored, n.parsed, n.valid, Address::Phone));
            }
            for e in emails {
                let valid = email::is_valid(&e);
                let normalized = email::normalize(&e);
                items.push((e, normalized, valid, valid, Address::Email));
            }
            let keys = |kind: Address| -> Vec<String> {
                let mut k: Vec<String> = items
                    .iter()
                    .filter(|i| i.4 == kind && i.2)
                    .map(|i| i.1.clone())
                    .collect();
                k.sort_unstable();
                k.dedup();
                k
            };
            let (phone_keys, email_keys) = (keys(Address::Phone), keys(Address::Email));
            // Each address hashed once (HMAC), for the query and for matching its answer.
            let hash_of: HashMap<String, String> = phone_keys
                .iter()
                .chain(&email_keys)
                .map(|a| (a.clone(), key.hash(a)))
                .collect();
            let hashes: Vec<String> = hash_of.values().cloned().collect();
            let mut history = store::history(c, &hotel, Address::Phone, &phone_keys)?;
            history.extend(store::history(c, &hotel, Address::Email, &email_keys)?);
            let mut flags = store::flags_on(c, &hotel, Address::Phone, &phone_keys)?;
            flags.extend(store::flags_on(c, &hotel, Address::Email, &email_keys)?);
            let suppressions = suppressions::of_addresses(c, &hotel, &hashes)?;
            Ok((items, hash_of, history, flags, suppressions))
        })
        .await?;
    let mut suppressed: HashMap<String, Vec<Suppression>> = HashMap::new();
    for s in suppressions {
        suppressed
            .entry(s.address_hash.clone())
            .or_default()
            .push(s);
    }
    let mut past: HashMap<String, Vec<PastMessage>> = HashMap::new();
    for (key, m) in history {
        past.entry(key).or_default().push(m);
    }
    let mut on: HashMap<&str, Vec<&RecipientFlag>> = HashMap::new();
    for f in &flags {
        on.entry(f.key.as_str()).or_default().push(f);
    }
    Ok(items
        .into_iter()
        .map(|(input, normalized, parses, valid, _)| {
            let flags = on.get(normalized.as_str()).cloned().unwrap_or_default();
            let open_flag_id = flags
                .iter()
                .filter(|f| f.state.is_open())
                .map(|f| f.id.clone())
                .next();
            let suppressions: &[Suppression] = hash_of
                .get(&normalized)
                .filter(|_| parses)
                .and_then(|h| suppressed.get(h.as_str()))
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            // The latest correction: a resolved flag's, else (flags purged) the
            // suppression's.
            let corrected = flags
                .iter()
                .filter(|f| f.state == FlagState::Resolved && f.corrected_phone.is_some())
                .max_by_key(|f| f.updated_at)
                .and_then(|f| f.corrected_phone.clone())
                .or_else(|| {
                    suppressions
                        .iter()
                        .filter(|s| s.reason == Reason::Corrected && s.lifted_at.is_none())
                        .max_by_key(|s| s.created_at)
                        .and_then(|s| s.corrected.clone())
                });
            let history = past
                .get(normalized.as_str())
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            let k = recipient::assess(
                Asked {
                    parses,
                    has_open_flag: open_flag_id.is_some(),
                    corrected: corrected.is_some(),
                    category,
                    suppressions,
                },
                history,
            );
            RecipientCheck {
                input,
                normalized,
                valid,
                last_delivered_at: k.last_delivered_at,
                failures_since_delivered: k.failures_since_delivered,
                last_error_category: k.last_error_category,
                open_flag_id,
                corrected,
                verdict: k.verdict,
                suppression: k.suppression,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_answers_what_normalize_answers() {
        for input in [
            "06 12 34 56 78",
            "+33612345678",
            "call the desk",
            "0033 1 45 67 89 01",
        ] {
            for region in [Region::FR, Region::GB] {
                let fresh = phone::normalize(input, region);
                let inputs = vec![input.to_string(), input.to_string()];
                assert_eq!(
                    normalize_all(&inputs, region),
                    vec![fresh.clone(), fresh.clone()]
                );
                assert_eq!(
                    normalize_all(&inputs, region),
                    vec![fresh.clone(), fresh],
                    "{input}, cached"
                );
            }
        }
    }
}
