//! The default directory: guest records the hub's PMS integration pushed (UpsertGuests).
use std::collections::HashMap;

use super::{DirectoryGuest, GuestKey, PmsDirectory, PmsError};
use crate::domain::guest::PmsGuest;
use crate::store::{Store, guests};

pub struct PushedRecords {
    pub store: Store,
}

fn to_directory(g: &PmsGuest) -> DirectoryGuest {
    DirectoryGuest {
        full_name: g.full_name.clone(),
        phone: g.phone.clone(),
        email: g.email.clone(),
        email_is_ota_relay: false,
    }
}

#[async_trait::async_trait]
impl PmsDirectory for PushedRecords {
    async fn find_guests(
        &self,
        hotel_id: &str,
        keys: &[GuestKey],
    ) -> Result<Vec<Option<DirectoryGuest>>, PmsError> {
        let guest_ids: Vec<String> = keys.iter().filter_map(|k| k.pms_guest_id.clone()).collect();
        let reservation_ids: Vec<String> = keys
            .iter()
            .filter_map(|k| k.pms_reservation_id.clone())
            .collect();
        let hotel = hotel_id.to_string();
        let found = self
            .store
            .run(move |c| guests::lookup(c, &hotel, &guest_ids, &reservation_ids))
            .await
            .map_err(|e| PmsError::Store(e.to_string()))?;
        let by_guest: HashMap<&str, &PmsGuest> =
            found.iter().map(|g| (g.pms_guest_id.as_str(), g)).collect();
        let mut by_reservation: HashMap<&str, &PmsGuest> = HashMap::new();
        for g in &found {
            if let Some(r) = &g.pms_reservation_id {
                // Several guests share a reservation: the first pushed stands for it.
                by_reservation.entry(r.as_str()).or_insert(g);
            }
        }
        Ok(keys
            .iter()
            .map(|k| {
                k.pms_guest_id
                    .as_deref()
                    .and_then(|id| by_guest.get(id))
                    .or_else(|| {
                        k.pms_reservation_id
                            .as_deref()
                            .and_then(|r| by_reservation.get(r))
                    })
                    .map(|g| to_directory(g))
            })
            .collect())
    }
}
