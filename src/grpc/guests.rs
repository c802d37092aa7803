//! GuestService: PMS guest records pushed by the hub's PMS integration.
use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::caller::caller;
use super::errors::{batch_too_large, invalid_argument, store_error};
use super::messages::MAX_BATCH;
use crate::app::AppState;
use crate::domain::FieldError;
use crate::domain::guest::{self, GuestDraft};
use crate::domain::message::required;
use crate::proto;
use crate::proto::guest_service_server::GuestService;
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
        _request: Request<proto::EraseGuestDataRequest>,
    ) -> Result<Response<proto::EraseGuestDataResponse>, Status> {
        Err(Status::unimplemented(
            "EraseGuestData arrives with the operations work",
        ))
    }
}
