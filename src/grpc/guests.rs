//! GuestService: PMS guest records.
use tonic::{Request, Response, Status};

use crate::proto;
use crate::proto::guest_service_server::GuestService;

pub struct GuestsApi;

#[tonic::async_trait]
impl GuestService for GuestsApi {
    async fn upsert_guests(
        &self,
        _request: Request<proto::UpsertGuestsRequest>,
    ) -> Result<Response<proto::UpsertGuestsResponse>, Status> {
        Err(Status::unimplemented(
            "UpsertGuests arrives with PMS reconciliation",
        ))
    }

    async fn get_guest(
        &self,
        _request: Request<proto::GetGuestRequest>,
    ) -> Result<Response<proto::PmsGuest>, Status> {
        Err(Status::unimplemented(
            "GetGuest arrives with PMS reconciliation",
        ))
    }

    async fn erase_guest_data(
        &self,
        _request: Request<proto::EraseGuestDataRequest>,
    ) -> Result<Response<proto::EraseGuestDataResponse>, Status> {
        Err(Status::unimplemented("EraseGuestData is not available yet"))
    }
}
