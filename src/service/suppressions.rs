//! Suppressions, transport-free: list, add by hand, lift (RemoveSuppression), and the
//! one-time backfill of what the stored history already teaches.
use std::time::Duration;

use chrono::Utc;

use super::paging::{PagePlans, fetch_page};
use super::{AppState, ServiceError};
use crate::domain::FieldError;
use crate::domain::access::Caller;
use crate::domain::email;
use crate::domain::message::{optional, required};
use crate::domain::page::{Cursor, fingerprint};
use crate::domain::phone;
use crate::domain::suppression::{Reason, Scope, Suppression};
use crate::store::recategorize::{meta, set_meta};
use crate::store::suppressions::{
    self as store, BACKFILL_PROGRESS_KEY, BACKFILLED_KEY, SuppressionQuery,
};
use crate::store::{Store, StoreError};

/// A phone (any format, read in `hotel_id`'s region) or an email, normalised as stored
/// messages are; refused, naming `field`, when it is neither.
fn address(
    state: &AppState,
    field: &str,
    hotel_id: &str,
    text: &str,
) -> Result<String, FieldError> {
    let text = required(field, text)?;
    if text.contains('@') {
        return match email::is_valid(&text) {
            true => Ok(email::normalize(&text)),
            false => Err(FieldError::new(
                field,
                format!("{text:?} is not a valid email"),
            )),
        };
    }
    let n = phone::normalize(&text, state.regions.for_hotel(hotel_id));
    match n.valid {
        true => Ok(n.stored),
        false => Err(FieldError::new(
            field,
            format!("{text:?} is neither a valid phone number nor an email"),
        )),
    }
}

/// What ListSuppressions asks, as sent.
#[derive(Debug, Clone, Default)]
pub struct SuppressionFilterDraft {
    pub hotel_ids: Vec<String>,
    pub reasons: Vec<Reason>,
    pub address: String,
    pub include_lifted: bool,
}

/// ListSuppressions: newest first, within the caller's hotels.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    draft: SuppressionFilterDraft,
    page_size: i32,
    page_token: &str,
) -> Result<(Vec<Suppression>, String), ServiceError> {
    let mut hotel_ids = caller.scope("hotel_ids", draft.hotel_ids)?.sql_list();
    hotel_ids.sort();
    hotel_ids.dedup();
    let mut reasons = draft.reasons;
    reasons.sort();
    reasons.dedup();
    let address_hash = match optional("address", &draft.address)? {
        None => None,
        Some(text) => {
            let region_of = hotel_ids.first().map(String::as_str).unwrap_or("");
            let normalized = address(state, "address", region_of, &text)?;
            Some(state.store.suppression_key().hash(&normalized))
        }
    };
    let query = SuppressionQuery {
        hotel_ids,
        reasons,
        address_hash,
        include_lifted: draft.include_lifted,
    };
    let print = fingerprint(&format!("suppressions:{query:?}"));
    fetch_page(
        state,
        PagePlans::PerCall,
        page_size,
        page_token,
        print,
        "suppression",
        move |c, after, limit| store::list(c, &query, after, limit),
        |s: &Suppression| Cursor {
            at: s.created_at,
            id: s.id.clone(),
        },
    )
    .await
}

/// AddSuppression: a suppression written by hand (MANUAL), e.g. a STOP said at the
/// front desk. Adding one already there answers the one there.
pub async fn add(
    state: &AppState,
    caller: &Caller,
    hotel_id: &str,
    address_text: &str,
    scope: Option<Scope>,
    note: &str,
) -> Result<Suppression, ServiceError> {
    let hotel_id = required("hotel_id", hotel_id)?;
    caller.scope("hotel_id", vec![hotel_id.clone()])?;
    let normalized = address(state, "address", &hotel_id, address_text)?;
    let note = optional("note", note)?.unwrap_or_default();
    let row = store::new_row(
        state.store.suppression_key(),
        &hotel_id,
        &normalized,
        scope.unwrap_or(Scope::All),
        Reason::Manual,
        None,
        None,
        note,
        crate::domain::page::truncate_micros(Utc::now()),
        &caller.name,
    );
    let added = state
        .store
        .run(move |c| store::add(c, row))
        .await
        .map_err(ServiceError::store("suppression"))?;
    tracing::info!(hotel_id = %added.hotel_id, id = %added.id, by = %caller.name, "suppression added");
    Ok(added)
}

/// RemoveSuppression: the guest opted in again. Lifted and recorded (who, when, why)
/// on the suppression, which stays as history.
pub async fn remove(
    state: &AppState,
    caller: &Caller,
    id: &str,
    note: &str,
) -> Result<Suppression, ServiceError> {
    let id = required("id", id)?;
    let note = required("note", note).map_err(|_| {
        FieldError::new(
            "note",
            "say why the suppression is lifted (e.g. \"guest opted in again at check-in\")",
        )
    })?;
    let hotels = caller.all_hotels().sql_list();
    let by = caller.name.clone();
    let what = format!("suppression {id:?}");
    let lifted = state
        .store
        .run(move |c| store::remove(c, &id, &hotels, &by, &note, Utc::now()))
        .await
        .map_err(ServiceError::store(what))?;
    tracing::info!(hotel_id = %lifted.hotel_id, id = %lifted.id, by = %caller.name, "suppression lifted");
    Ok(lifted)
}

/// Messages read per backfill transaction (a range of the primary key).
const BACKFILL_BATCH: usize = 2000;

/// Once per database: the opt-outs, invalid addresses and corrected flags the stored
/// history already holds become suppressions, in short batches. Returns whether it
/// ran now.
pub async fn backfill(store: &Store) -> Result<bool, StoreError> {
    if store.run(|c| meta(c, BACKFILLED_KEY)).await?.is_some() {
        return Ok(false);
    }
    let mut after = store
        .run(|c| meta(c, BACKFILL_PROGRESS_KEY))
        .await?
        .unwrap_or_default();
    loop {
        let (from, s) = (after.clone(), store.clone());
        let last = store
            .run(move |c| {
                let last = store::backfill_batch(c, s.suppression_key(), &from, BACKFILL_BATCH)?;
                if let Some(last) = &last {
                    set_meta(c, BACKFILL_PROGRESS_KEY, last)?;
                }
                Ok(last)
            })
            .await?;
        match last {
            Some(last) => after = last,
            None => break,
        }
        // Leave room to the calls being served.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let s = store.clone();
    let corrected = store
        .run(move |c| store::backfill_corrected(c, s.suppression_key()))
        .await?;
    store.run(|c| set_meta(c, BACKFILLED_KEY, "1")).await?;
    tracing::info!(corrected, "suppressions backfilled from the stored history");
    Ok(true)
}
