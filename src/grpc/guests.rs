//! GuestService: PMS guest records pushed by the hub's PMS integration, and erasure.
use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::caller::caller;
use crate::domain::guest::GuestDraft;
use crate::proto;
use crate::proto::guest_service_server::GuestService;
use crate::service::{AppState, guests as service};

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
        let drafts = request
            .into_inner()
            .guests
            .into_iter()
            .map(GuestDraft::from);
        let done = service::upsert(&self.state, &caller, drafts.collect()).await?;
        Ok(Response::new(proto::UpsertGuestsResponse {
            upserted: done.upserted as i32,
            errors: done
                .errors
                .into_iter()
                .map(|(index, error)| proto::ItemError {
                    index: index as i32,
                    error,
                })
                .collect(),
        }))
    }

    async fn get_guest(
        &self,
        request: Request<proto::GetGuestRequest>,
    ) -> Result<Response<proto::PmsGuest>, Status> {
        let caller = caller(&request)?;
        let req = request.into_inner();
        let found = service::get(&self.state, &caller, &req.hotel_id, &req.pms_guest_id).await?;
        Ok(Response::new(found.into()))
    }

    async fn erase_guest_data(
        &self,
        request: Request<proto::EraseGuestDataRequest>,
    ) -> Result<Response<proto::EraseGuestDataResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.into_inner();
        let erased =
            service::erase(&self.state, &caller, &req.hotel_id, &req.phone, &req.email).await?;
        Ok(Response::new(proto::EraseGuestDataResponse {
            messages_redacted: erased.messages_redacted,
            guests_deleted: erased.guests_deleted,
            flags_redacted: erased.flags_redacted,
            suppressions_redacted: erased.suppressions_redacted,
        }))
    }
}
