//! PMS guest records pushed over gRPC: upsert, read, and batch lookups for the
//! reconciliation.
use chrono::NaiveDate;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::upsert::excluded;

use super::connection::{from_db, to_db};
use super::schema::pms_guests;
use super::{DbConn, StoreError, WriteTransaction};
use crate::domain::guest::PmsGuest;
use crate::with_conn;

const CHUNK: usize = 500;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = pms_guests, treat_none_as_default_value = false)]
struct GuestRow {
    hotel_id: String,
    pms_guest_id: String,
    pms_reservation_id: Option<String>,
    full_name: Option<String>,
    phone: Option<String>,
    phone_normalized: Option<String>,
    email: Option<String>,
    email_normalized: Option<String>,
    check_in_date: Option<NaiveDate>,
    check_out_date: Option<NaiveDate>,
    updated_at: NaiveDateTime,
}

impl From<&PmsGuest> for GuestRow {
    fn from(g: &PmsGuest) -> Self {
        GuestRow {
            hotel_id: g.hotel_id.clone(),
            pms_guest_id: g.pms_guest_id.clone(),
            pms_reservation_id: g.pms_reservation_id.clone(),
            full_name: g.full_name.clone(),
            phone: g.phone.clone(),
            phone_normalized: g.phone_normalized.clone(),
            email: g.email.clone(),
            email_normalized: g.email_normalized.clone(),
            check_in_date: g.check_in_date,
            check_out_date: g.check_out_date,
            updated_at: to_db(g.updated_at),
        }
    }
}

impl From<GuestRow> for PmsGuest {
    fn from(r: GuestRow) -> Self {
        PmsGuest {
            hotel_id: r.hotel_id,
            pms_guest_id: r.pms_guest_id,
            pms_reservation_id: r.pms_reservation_id,
            full_name: r.full_name,
            phone: r.phone,
            phone_normalized: r.phone_normalized,
            email: r.email,
            email_normalized: r.email_normalized,
            check_in_date: r.check_in_date,
            check_out_date: r.check_out_date,
            updated_at: from_db(r.updated_at),
        }
    }
}

/// Inserts or replaces records on (hotel_id, pms_guest_id), in one transaction.
/// A record repeated in the batch: the last one wins.
pub fn upsert(conn: &mut DbConn, guests: &[PmsGuest]) -> Result<usize, StoreError> {
    let mut rows: Vec<GuestRow> = Vec::with_capacity(guests.len());
    for g in guests {
        let row = GuestRow::from(g);
        match rows
            .iter_mut()
            .find(|r| r.hotel_id == row.hotel_id && r.pms_guest_id == row.pms_guest_id)
        {
            Some(existing) => *existing = row,
            None => rows.push(row),
        }
    }
    with_conn!(conn, c => c.write_transaction(|c| {
        for chunk in rows.chunks(CHUNK) {
            diesel::insert_into(pms_guests::table)
                .values(chunk)
                .on_conflict((pms_guests::hotel_id, pms_guests::pms_guest_id))
                .do_update()
                .set((
                    pms_guests::pms_reservation_id.eq(excluded(pms_guests::pms_reservation_id)),
                    pms_guests::full_name.eq(excluded(pms_guests::full_name)),
                    pms_guests::phone.eq(excluded(pms_guests::phone)),
                    pms_guests::phone_normalized.eq(excluded(pms_guests::phone_normalized)),
                    pms_guests::email.eq(excluded(pms_guests::email)),
                    pms_guests::email_normalized.eq(excluded(pms_guests::email_normalized)),
                    pms_guests::check_in_date.eq(excluded(pms_guests::check_in_date)),
                    pms_guests::check_out_date.eq(excluded(pms_guests::check_out_date)),
                    pms_guests::updated_at.eq(excluded(pms_guests::updated_at)),
                ))
                .execute(c)?;
        }
        Ok::<_, StoreError>(())
    }))?;
    Ok(guests.len())
}

pub fn get(conn: &mut DbConn, hotel_id: &str, pms_guest_id: &str) -> Result<PmsGuest, StoreError> {
    let row: GuestRow = with_conn!(conn, c => pms_guests::table
        .filter(pms_guests::hotel_id.eq(hotel_id.to_string()))
        .filter(pms_guests::pms_guest_id.eq(pms_guest_id.to_string()))
        .select(GuestRow::as_select())
        .first(c)?);
    Ok(row.into())
}

/// The hotel's records whose check-in falls in `[from, to]` (index `pms_guests_check_in`).
pub fn arriving(
    conn: &mut DbConn,
    hotel_id: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<PmsGuest>, StoreError> {
    let rows: Vec<GuestRow> = with_conn!(conn, c => pms_guests::table
        .filter(pms_guests::hotel_id.eq(hotel_id.to_string()))
        .filter(pms_guests::check_in_date.between(from, to))
        .select(GuestRow::as_select())
        .load(c)?);
    Ok(rows.into_iter().map(Into::into).collect())
}

/// The hotel's records with these guest ids, and those of these reservations: two
/// set-based queries per 500 keys.
pub fn lookup(
    conn: &mut DbConn,
    hotel_id: &str,
    guest_ids: &[String],
    reservation_ids: &[String],
) -> Result<Vec<PmsGuest>, StoreError> {
    let mut rows: Vec<GuestRow> = Vec::new();
    with_conn!(conn, c => {
        for chunk in guest_ids.chunks(CHUNK) {
            rows.extend(pms_guests::table
                .filter(pms_guests::hotel_id.eq(hotel_id.to_string()))
                .filter(pms_guests::pms_guest_id.eq_any(chunk.to_vec()))
                .select(GuestRow::as_select())
                .load::<GuestRow>(c)?);
        }
        for chunk in reservation_ids.chunks(CHUNK) {
            rows.extend(pms_guests::table
                .filter(pms_guests::hotel_id.eq(hotel_id.to_string()))
                .filter(pms_guests::pms_reservation_id.eq_any(chunk.to_vec()))
                .select(GuestRow::as_select())
                .load::<GuestRow>(c)?);
        }
    });
    Ok(rows.into_iter().map(Into::into).collect())
}
