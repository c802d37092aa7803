//! ReconciliationService: the PMS cross-check and the CSM flag queue.
use tonic::{Request, Response, Status};

use crate::proto;
use crate::proto::reconciliation_service_server::ReconciliationService;

pub struct ReconciliationApi;

const PENDING: &str = "arrives with PMS reconciliation";

#[tonic::async_trait]
impl ReconciliationService for ReconciliationApi {
    async fn run_reconciliation(
        &self,
        _request: Request<proto::RunReconciliationRequest>,
    ) -> Result<Response<proto::ReconciliationRun>, Status> {
        Err(Status::unimplemented(format!(
            "RunReconciliation {PENDING}"
        )))
    }

    async fn list_runs(
        &self,
        _request: Request<proto::ListRunsRequest>,
    ) -> Result<Response<proto::ListRunsResponse>, Status> {
        Err(Status::unimplemented(format!("ListRuns {PENDING}")))
    }

    async fn list_flags(
        &self,
        _request: Request<proto::ListFlagsRequest>,
    ) -> Result<Response<proto::ListFlagsResponse>, Status> {
        Err(Status::unimplemented(format!("ListFlags {PENDING}")))
    }

    async fn get_flag(
        &self,
        _request: Request<proto::GetFlagRequest>,
    ) -> Result<Response<proto::Flag>, Status> {
        Err(Status::unimplemented(format!("GetFlag {PENDING}")))
    }

    async fn update_flag(
        &self,
        _request: Request<proto::UpdateFlagRequest>,
    ) -> Result<Response<proto::Flag>, Status> {
        Err(Status::unimplemented(format!("UpdateFlag {PENDING}")))
    }

    async fn check_recipients(
        &self,
        _request: Request<proto::CheckRecipientsRequest>,
    ) -> Result<Response<proto::CheckRecipientsResponse>, Status> {
        Err(Status::unimplemented(format!("CheckRecipients {PENDING}")))
    }
}
