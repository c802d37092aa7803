//! PMS guest records, as the hub's PMS integration pushes them.
use chrono::{DateTime, NaiveDate, Utc};

use super::message::{optional, optional_date, required};
use super::phone::RegionMap;
use super::{FieldError, email, phone};

/// A guest record as sent (empty text = absent).
#[derive(Debug, Clone, Default)]
pub struct GuestDraft {
    pub hotel_id: String,
    pub pms_guest_id: String,
    pub pms_reservation_id: String,
    pub full_name: String,
    pub phone: String,
    pub email: String,
    pub check_in_date: String,
    pub check_out_date: String,
}

/// A guest record as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PmsGuest {
    pub hotel_id: String,
    pub pms_guest_id: String,
    pub pms_reservation_id: Option<String>,
    pub full_name: Option<String>,
    /// As the PMS holds it.
    pub phone: Option<String>,
    /// Read in the hotel's region: E.164 when it parses.
    pub phone_normalized: Option<String>,
    pub email: Option<String>,
    pub email_normalized: Option<String>,
    pub check_in_date: Option<NaiveDate>,
    pub check_out_date: Option<NaiveDate>,
    pub updated_at: DateTime<Utc>,
}

pub fn validate(
    d: GuestDraft,
    regions: &RegionMap,
    now: DateTime<Utc>,
) -> Result<PmsGuest, FieldError> {
    let hotel_id = required("hotel_id", &d.hotel_id)?;
    let phone = optional("phone", &d.phone)?;
    let email = optional("email", &d.email)?;
    let check_in_date = optional_date("check_in_date", &d.check_in_date)?;
    let check_out_date = optional_date("check_out_date", &d.check_out_date)?;
    if let (Some(i), Some(o)) = (check_in_date, check_out_date)
        && o < i
    {
        return Err(FieldError::new(
            "check_out_date",
            format!("{o} is before check_in_date {i}"),
        ));
    }
    Ok(PmsGuest {
        pms_guest_id: required("pms_guest_id", &d.pms_guest_id)?,
        pms_reservation_id: optional("pms_reservation_id", &d.pms_reservation_id)?,
        full_name: optional("full_name", &d.full_name)?,
        phone_normalized: phone
            .as_deref()
            .map(|p| phone::normalize(p, regions.for_hotel(&hotel_id)).stored),
        email_normalized: email.as_deref().map(email::normalize),
        phone,
        email,
        check_in_date,
        check_out_date,
        updated_at: super::page::truncate_micros(now),
        hotel_id,
    })
}

/// An erasure request, as the store matches it. Who the guest is: the stored forms of the phone (E.164 and as given) and the
/// normalised email. Either may be empty, not both.
#[derive(Debug, Clone, Default)]
pub struct GuestIdentity {
    pub phone_forms: Vec<String>,
    pub email: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Erased {
    pub messages_redacted: i64,
    pub guests_deleted: i64,
    pub flags_redacted: i64,
    /// Suppressions whose address was blanked (they still match, by hash).
    pub suppressions_redacted: i64,
}
