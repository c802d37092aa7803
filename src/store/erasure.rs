//! Right to erasure: a guest's phone, email and name removed from every table of one
//! hotel in one transaction. Messages stay (as anonymous rows), so counts per campaign
//! and status are unchanged; PMS records of the guest are deleted; flags on the guest
//! lose every personal field; suppressions lose their address and keep their hash. The
//! erasure itself is recorded without the erased data.
use crate::domain::guest::{Erased, GuestIdentity};
use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::connection::to_db;
use super::message_key::id_keys;
use super::schema::{erasures, flags, messages, pms_guests, status_events, suppressions};
use super::{DbConn, StoreError, WriteTransaction};
use crate::with_conn;

/// What replaces an erased flag's explanation (it quoted the numbers and the name).
pub const ERASED_DETAIL: &str = "Personal data erased on request.";

pub fn erase(
    conn: &mut DbConn,
    hotel_id: &str,
    who: &GuestIdentity,
    address_hashes: &[String],
    requested_by: &str,
    now: DateTime<Utc>,
) -> Result<Erased, StoreError> {
    let hotel = hotel_id.to_string();
    let phones = who.phone_forms.clone();
    let email: Vec<String> = who.email.iter().cloned().collect();
    with_conn!(conn, c => c.write_transaction(|c| {
        // The guest's messages, by phone or email.
        let ids: Vec<String> = messages::table
            .filter(messages::hotel_id.eq(&hotel))
            .filter(
                messages::recipient_phone
                    .eq_any(phones.clone())
                    .or(messages::email_normalized.eq_any(email.clone())),
            )
            .select(messages::id)
            .load(c)?;
        let mut out = Erased::default();
        for chunk in ids.chunks(500) {
            out.messages_redacted += diesel::update(messages::table.filter(messages::id.eq_any(id_keys(chunk.iter().cloned()))))
                .set((
                    messages::recipient_phone.eq(None::<String>),
                    messages::recipient_email.eq(None::<String>),
                    messages::email_normalized.eq(None::<String>),
                    messages::guest_name.eq(None::<String>),
                    // Bounce texts quote the address or number.
                    messages::error_message.eq(None::<String>),
                    messages::updated_at.eq(to_db(now)),
                ))
                .execute(c)? as i64;
            diesel::update(status_events::table.filter(status_events::message_id.eq_any(id_keys(chunk.iter().cloned()))))
                .set(status_events::error_message.eq(None::<String>))
                .execute(c)?;
        }
        out.guests_deleted = diesel::delete(
            pms_guests::table
                .filter(pms_guests::hotel_id.eq(&hotel))
                .filter(
                    pms_guests::phone_normalized
                        .eq_any(phones.clone())
                        .or(pms_guests::phone.eq_any(phones.clone()))
                        .or(pms_guests::email_normalized.eq_any(email.clone())),
                ),
        )
        .execute(c)? as i64;
        let flag_ids: Vec<String> = flags::table
            .filter(flags::hotel_id.eq(&hotel))
            .filter(
                flags::message_id
                    .eq_any(id_keys(ids.iter().cloned()))
                    .or(flags::message_phone.eq_any(phones.clone()))
                    .or(flags::pms_phone.eq_any(phones.clone()))
                    .or(flags::suggested_phone.eq_any(phones.clone()))
                    .or(flags::corrected_phone.eq_any(phones.clone()))
                    .or(flags::message_email.eq_any(email.clone()))
                    .or(flags::pms_email.eq_any(email.clone()))
                    .or(flags::stay_key.eq_any(phones.clone()))
                    .or(flags::stay_key.eq_any(email.clone())),
            )
            .select(flags::id)
            .load(c)?;
        for chunk in flag_ids.chunks(500) {
            out.flags_redacted += diesel::update(flags::table.filter(flags::id.eq_any(chunk.to_vec())))
                .set((
                    flags::message_phone.eq(None::<String>),
                    flags::pms_phone.eq(None::<String>),
                    flags::suggested_phone.eq(None::<String>),
                    flags::corrected_phone.eq(None::<String>),
                    flags::message_email.eq(None::<String>),
                    flags::pms_email.eq(None::<String>),
                    flags::guest_name.eq(None::<String>),
                    flags::note.eq(None::<String>),
                    flags::resolution.eq(None::<String>),
                    flags::detail.eq(ERASED_DETAIL),
                    flags::updated_at.eq(to_db(now)),
                ))
                .execute(c)? as i64;
        }
        // A stay known only by the guest's address is renamed after its flag.
        diesel::update(
            flags::table
                .filter(flags::hotel_id.eq(&hotel))
                .filter(flags::stay_key.eq_any(phones.clone()).or(flags::stay_key.eq_any(email.clone()))),
        )
        .set(flags::stay_key.eq(diesel::dsl::sql::<diesel::sql_types::Text>("'erased:' || id")))
        .execute(c)?;
        // Suppressions stay (an opted-out guest who asked for erasure stays opted out),
        // matched by hash; the address, and a corrected number quoting the guest's
        // phone, go.
        out.suppressions_redacted = diesel::update(
            suppressions::table
                .filter(suppressions::hotel_id.eq(&hotel))
                .filter(suppressions::address_hash.eq_any(address_hashes.to_vec())),
        )
        .set((suppressions::address.eq(""), suppressions::note.eq(ERASED_DETAIL)))
        .execute(c)? as i64;
        diesel::update(
            suppressions::table
                .filter(suppressions::hotel_id.eq(&hotel))
                .filter(suppressions::corrected.eq_any(phones.clone())),
        )
        .set((suppressions::corrected.eq(None::<String>), suppressions::note.eq(ERASED_DETAIL)))
        .execute(c)?;
        diesel::insert_into(erasures::table)
            .values((
                erasures::id.eq(uuid::Uuid::now_v7().to_string()),
                erasures::hotel_id.eq(&hotel),
                erasures::requested_by.eq(requested_by),
                erasures::erased_at.eq(to_db(now)),
                erasures::messages_redacted.eq(out.messages_redacted),
                erasures::guests_deleted.eq(out.guests_deleted),
                erasures::flags_redacted.eq(out.flags_redacted),
                erasures::suppressions_redacted.eq(out.suppressions_redacted),
            ))
            .execute(c)?;
        Ok(out)
    }))
}
