//! PMS guest records (UpsertGuests, GetGuest) and the right to erasure
//! (EraseGuestData).
use super::{AppState, ServiceError, check_batch};
use crate::domain::FieldError;
use crate::domain::access::Caller;
use crate::domain::guest::{self, Erased, GuestDraft, GuestIdentity, PmsGuest};
use crate::domain::message::{optional, required};
use crate::domain::{email, phone};
use crate::store::{erasure, guests as store};

/// What an upsert did: how many records were written, and each refused item's reason.
pub struct Upserted {
    pub upserted: usize,
    pub errors: Vec<(usize, String)>,
}

/// Upserts the valid records of a batch on (hotel, PMS guest id).
pub async fn upsert(
    state: &AppState,
    caller: &Caller,
    drafts: Vec<GuestDraft>,
) -> Result<Upserted, ServiceError> {
    check_batch("guests", drafts.len())?;
    let now = chrono::Utc::now();
    let mut errors = Vec::new();
    let mut valid = Vec::with_capacity(drafts.len());
    for (index, d) in drafts.into_iter().enumerate() {
        let checked = guest::validate(d, &state.regions, now)
            .and_then(|g| caller.may_write(&g.hotel_id).map(|()| g));
        match checked {
            Ok(g) => valid.push(g),
            Err(e) => errors.push((index, e.within(&format!("guests[{index}]")).to_string())),
        }
    }
    let upserted = state
        .store
        .run(move |c| store::upsert(c, &valid))
        .await
        .map_err(ServiceError::store("guest"))?;
    Ok(Upserted { upserted, errors })
}

/// One record; another hotel's guest reads exactly as a guest that does not exist.
pub async fn get(
    state: &AppState,
    caller: &Caller,
    hotel_id: &str,
    pms_guest_id: &str,
) -> Result<PmsGuest, ServiceError> {
    let hotel_id = required("hotel_id", hotel_id)?;
    let guest_id = required("pms_guest_id", pms_guest_id)?;
    let what = format!("guest {guest_id:?} of hotel {hotel_id:?}");
    if !caller.all_hotels().contains(&hotel_id) {
        return Err(ServiceError::NotFound(format!("{what} not found")));
    }
    state
        .store
        .run(move |c| store::get(c, &hotel_id, &guest_id))
        .await
        .map_err(ServiceError::store(what))
}

/// Removes one guest's personal data from every table of one hotel, keeping the
/// anonymous counts; recorded (without the data) in `erasures`.
pub async fn erase(
    state: &AppState,
    caller: &Caller,
    hotel_id: &str,
    phone: &str,
    email: &str,
) -> Result<Erased, ServiceError> {
    let hotel_id = required("hotel_id", hotel_id)?;
    caller.scope("hotel_id", vec![hotel_id.clone()])?;
    let phone = optional("phone", phone)?;
    let email = optional("email", email)?;
    if phone.is_none() && email.is_none() {
        return Err(FieldError::new("phone", "give the guest's phone or email (or both)").into());
    }
    let who = GuestIdentity {
        phone_forms: phone
            .map(|p| phone::stored_forms(&p, state.regions.for_hotel(&hotel_id)))
            .unwrap_or_default(),
        email: email.as_deref().map(email::normalize),
    };
    let hashes: Vec<String> = who
        .phone_forms
        .iter()
        .chain(&who.email)
        .map(|a| state.store.suppression_key().hash(a))
        .collect();
    let (by, h) = (caller.name.clone(), hotel_id.clone());
    let erased = state
        .store
        .run(move |c| erasure::erase(c, &h, &who, &hashes, &by, chrono::Utc::now()))
        .await
        .map_err(ServiceError::store("guest"))?;
    tracing::info!(
        hotel_id = %hotel_id,
        by = %caller.name,
        messages = erased.messages_redacted,
        guests = erased.guests_deleted,
        flags = erased.flags_redacted,
        suppressions = erased.suppressions_redacted,
        "guest data erased"
    );
    Ok(erased)
}
