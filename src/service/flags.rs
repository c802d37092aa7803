//! The CSM flag queue: list, read, move through the workflow.
use chrono::{DateTime, Utc};

use super::ServiceError;
use super::paging::{PagePlans, fetch_page};
use crate::domain::FieldError;
use crate::domain::access::Caller;
use crate::domain::flag::{
    self, Flag, FlagChange, FlagOrder, FlagPriority, FlagQuery, FlagReason, FlagState,
};
use crate::domain::message::{optional, optional_date, required};
use crate::domain::phone;
use crate::service::AppState;
use crate::store::flags as store;

/// A flag filter as sent (empty = not filtered on).
#[derive(Debug, Clone, Default)]
pub struct FlagFilterDraft {
    pub hotel_ids: Vec<String>,
    pub states: Vec<FlagState>,
    pub reasons: Vec<FlagReason>,
    pub campaign_name: String,
    pub created_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    pub priorities: Vec<FlagPriority>,
    pub check_in_from: String,
    pub check_in_to: String,
    pub order: FlagOrder,
}

/// The filter validated and narrowed to the caller's hotels.
pub fn query(caller: &Caller, draft: FlagFilterDraft) -> Result<FlagQuery, ServiceError> {
    let mut hotel_ids = caller.scope("hotel_ids", draft.hotel_ids)?.sql_list();
    hotel_ids.sort();
    hotel_ids.dedup();
    let (mut states, mut reasons, mut priorities) = (draft.states, draft.reasons, draft.priorities);
    states.sort();
    states.dedup();
    reasons.sort();
    reasons.dedup();
    priorities.sort();
    priorities.dedup();
    let check_in_from = optional_date("check_in_from", &draft.check_in_from)?;
    let check_in_to = optional_date("check_in_to", &draft.check_in_to)?;
    if let (Some(from), Some(to)) = (check_in_from, check_in_to)
        && to < from
    {
        return Err(FieldError::new(
            "check_in_to",
            format!("{to} is before check_in_from {from}"),
        )
        .into());
    }
    Ok(FlagQuery {
        hotel_ids,
        states,
        reasons,
        campaign_name: optional("campaign_name", &draft.campaign_name)?.map(|n| n.to_lowercase()),
        created_after: draft.created_after,
        created_before: draft.created_before,
        priorities,
        check_in_from,
        check_in_to,
        order: draft.order,
    })
}

/// One page of flags in the query's order, and the next page's token.
pub async fn list(
    state: &AppState,
    query: FlagQuery,
    page_size: i32,
    page_token: &str,
) -> Result<(Vec<Flag>, String), ServiceError> {
    let fingerprint = query.fingerprint();
    let order = query.order;
    fetch_page(
        state,
        PagePlans::PerCall,
        page_size,
        page_token,
        fingerprint,
        "flag",
        move |c, cursor, limit| store::list(c, &query, cursor, limit),
        move |f| store::cursor_of(f, order),
    )
    .await
}

pub async fn get(state: &AppState, caller: &Caller, id: &str) -> Result<Flag, ServiceError> {
    let id = required("id", id)?;
    let hotels = caller.all_hotels().sql_list();
    let what = format!("flag {id:?}");
    state
        .store
        .run(move |c| store::get(c, &id, &hotels))
        .await
        .map_err(ServiceError::store(what))
}

/// Moves a flag along the workflow (or only changes its note); a corrected phone is
/// read in the flag's hotel region and must be a valid number.
pub async fn update(
    state: &AppState,
    caller: &Caller,
    id: &str,
    mut change: FlagChange,
) -> Result<Flag, ServiceError> {
    let id = required("id", id)?;
    flag::check_change(&change)?;
    if let Some(raw) = change.corrected_phone.take() {
        let current = get(state, caller, &id).await?;
        let n = phone::normalize(&raw, state.regions.for_hotel(&current.hotel_id));
        if !n.valid {
            return Err(FieldError::new(
                "corrected_phone",
                format!("{raw:?} is not a valid phone number"),
            )
            .into());
        }
        change.corrected_phone = Some(n.stored);
    }
    let hotels = caller.all_hotels().sql_list();
    let what = format!("flag {id:?}");
    let by = caller.name.clone();
    let now = Utc::now();
    let key = state.store.suppression_key().clone();
    let updated = state
        .store
        .run(move |c| store::update(c, &id, &hotels, &change, &by, now, &key))
        .await
        .map_err(ServiceError::store(what))?;
    tracing::info!(flag_id = %updated.id, state = updated.state.name(), by = %caller.name, "flag updated");
    Ok(updated)
}
