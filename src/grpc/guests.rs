//! GuestService: PMS guest records pushed by the hub's PMS integration.
use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::caller::caller;
use super::errors::{batch_too_large, invalid_argument, store_error};
use super::messages::MAX_BATCH;
use crate::app::AppState;
use crate::domain::FieldError;
use crate::domain::guest::{self, GuestDraft};
use crate::domain::message::{optional, required};
use crate::proto;
use crate::proto::guest_service_server::GuestService;
use crate::store::erasure::{self, GuestIdentity};
use crate::store::guests as store;

pub struct GuestsApi {
    state: Arc<AppState>,
}

impl GuestsApi {
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

#[tonic::async_trait]
impl GuestService for GuestsApi {
    async fn upsert_guests(
        &self,
        request: Request<proto::UpsertGuestsRequest>,
    ) -> Result<Response<proto::UpsertGuestsResponse>, Status> {
        let caller = caller(&request)?;
        let items = request.into_inner().guests;
        if items.len() > MAX_BATCH {
            return Err(batch_too_large("guests", items.len(), MAX_BATCH));
        }
        let now = chrono::Utc::now();
        let mut errors = Vec::new();
        let mut valid = Vec::with_capacity(items.len());
        for (index, g) in items.into_iter().enumerate() {
            let checked =
                guest::validate(GuestDraft::from(g), &self.state.regions, now).and_then(|g| {
                    match caller.may_see(&g.hotel_id) {
                        true => Ok(g),
                        false => Err(FieldError::new(
                            "hotel_id",
                            format!("hotel {:?} is not one this caller serves", g.hotel_id),
                        )),
                    }
                });
            match checked {
                Ok(g) => valid.push(g),
                Err(e) => errors.push(proto::ItemError {
                    index: index as i32,
                    error: e.within(&format!("guests[{index}]")).to_string(),
                }),
            }
        }
        let upserted = self
            .state
            .store
            .run(move |c| store::upsert(c, &valid))
            .await
            .map_err(|e| store_error(e, "guest"))?;
        Ok(Response::new(proto::UpsertGuestsResponse {
            upserted: upserted as i32,
            errors,
        }))
    }

    async fn get_guest(
        &self,
        request: Request<proto::GetGuestRequest>,
    ) -> Result<Response<proto::PmsGuest>, Status> {
        let caller = caller(&request)?;
        let req = request.into_inner();
        let hotel_id = required("hotel_id", &req.hotel_id).map_err(invalid_argument)?;
        let guest_id = required("pms_guest_id", &req.pms_guest_id).map_err(invalid_argument)?;
        let what = format!("guest {guest_id:?} of hotel {hotel_id:?}");
        // Another hotel's guest reads exactly as a guest that does not exist.
        if !caller.may_see(&hotel_id) {
            return Err(Status::not_found(format!("{what} not found")));
        }
        let found = self
            .state
            .store
            .run(move |c| store::get(c, &hotel_id, &guest_id))
            .await
            .map_err(|e| store_error(e, &what))?;
        Ok(Response::new(found.into()))
    }

    async fn erase_guest_data(
        &self,
        request: Request<proto::EraseGuestDataRequest>,
    ) -> Result<Response<proto::EraseGuestDataResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.into_inner();
        let hotel_id = required("hotel_id", &req.hotel_id).map_err(invalid_argument)?;
        caller
            .resolve_hotels("hotel_id", vec![hotel_id.clone()])
            .map_err(crate::service::ServiceError::from)?;
        let phone = optional("phone", &req.phone).map_err(invalid_argument)?;
        let email = optional("email", &req.email).map_err(invalid_argument)?;
        if phone.is_none() && email.is_none() {
            return Err(invalid_argument(FieldError::new(
                "phone",
                "give the guest's phone or email (or both)",
            )));
        }
        let who = GuestIdentity {
            phone_forms: phone
                .map(|p| {
                    let mut forms = vec![p.trim().to_string()];
                    let n = crate::domain::phone::normalize(
                        &p,
                        self.state.regions.for_hotel(&hotel_id),
                    );
                    if !forms.contains(&n.stored) {
                        forms.push(n.stored);
                    }
                    forms
                })
                .unwrap_or_default(),
            email: email.as_deref().map(crate::domain::email::normalize),
        };
        let by = caller.name.clone();
        let h = hotel_id.clone();
        let erased = self
            .state
            .store
            .run(move |c| erasure::erase(c, &h, &who, &by, chrono::Utc::now()))
            .await
            .map_err(|e| store_error(e, "guest"))?;
        tracing::info!(
            hotel_id = %hotel_id,
            by = %caller.name,
            messages = erased.messages_redacted,
            guests = erased.guests_deleted,
            flags = erased.flags_redacted,
            "guest data erased"
        );
        Ok(Response::new(proto::EraseGuestDataResponse {
            messages_redacted: erased.messages_redacted,
            guests_deleted: erased.guests_deleted,
            flags_redacted: erased.flags_redacted,
        }))
    }
}
