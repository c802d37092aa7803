//! ReconciliationService: passes, the CSM flag queue, and recipient checks.
use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::caller::caller;
use super::convert::messages::{enum_list, message_category};
use super::convert::reconciliation::{
    flag_order, flag_priority, flag_reason, flag_state, suppression_reason, suppression_scope,
};
use super::convert::time::from_proto;
use super::errors::invalid_argument;
use crate::domain::flag::FlagChange;
use crate::domain::message::optional;
use crate::proto;
use crate::proto::reconciliation_service_server::ReconciliationService;
use crate::service::AppState;
use crate::service::arrivals::{self, ArrivalsDraft};
use crate::service::flags::{self as service, FlagFilterDraft};
use crate::service::recipients;
use crate::service::suppressions::{self, SuppressionFilterDraft};

pub struct ReconciliationApi {
    state: Arc<AppState>,
}

impl ReconciliationApi {
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

#[tonic::async_trait]
impl ReconciliationService for ReconciliationApi {
    async fn run_reconciliation(
        &self,
        request: Request<proto::RunReconciliationRequest>,
    ) -> Result<Response<proto::ReconciliationRun>, Status> {
        let caller = caller(&request)?;
        let run =
            crate::service::runs::run_now(&self.state, &caller, request.into_inner().hotel_ids)
                .await?;
        Ok(Response::new(run.into()))
    }

    async fn list_runs(
        &self,
        request: Request<proto::ListRunsRequest>,
    ) -> Result<Response<proto::ListRunsResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.into_inner();
        let (rows, next_page_token) =
            crate::service::runs::list(&self.state, &caller, req.page_size, &req.page_token)
                .await?;
        Ok(Response::new(proto::ListRunsResponse {
            runs: rows.into_iter().map(Into::into).collect(),
            next_page_token,
        }))
    }

    async fn list_flags(
        &self,
        request: Request<proto::ListFlagsRequest>,
    ) -> Result<Response<proto::ListFlagsResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.into_inner();
        let created_after =
            from_proto("created_after", req.created_after).map_err(invalid_argument)?;
        let created_before =
            from_proto("created_before", req.created_before).map_err(invalid_argument)?;
        let states = enum_list("states", &req.states, flag_state).map_err(invalid_argument)?;
        let reasons = enum_list("reasons", &req.reasons, flag_reason).map_err(invalid_argument)?;
        let priorities =
            enum_list("priorities", &req.priorities, flag_priority).map_err(invalid_argument)?;
        let order = flag_order("order", req.order).map_err(invalid_argument)?;
        let query = service::query(
            &caller,
            FlagFilterDraft {
                hotel_ids: req.hotel_ids,
                states,
                reasons,
                campaign_name: req.campaign_name,
                created_after,
                created_before,
                priorities,
                check_in_from: req.check_in_from,
                check_in_to: req.check_in_to,
                order,
            },
        )?;
        let (rows, next_page_token) =
            service::list(&self.state, query, req.page_size, &req.page_token).await?;
        Ok(Response::new(proto::ListFlagsResponse {
            flags: rows.into_iter().map(Into::into).collect(),
            next_page_token,
        }))
    }

    async fn get_flag(
        &self,
        request: Request<proto::GetFlagRequest>,
    ) -> Result<Response<proto::Flag>, Status> {
        let caller = caller(&request)?;
        let found = service::get(&self.state, &caller, &request.into_inner().id).await?;
        Ok(Response::new(found.into()))
    }

    async fn update_flag(
        &self,
        request: Request<proto::UpdateFlagRequest>,
    ) -> Result<Response<proto::Flag>, Status> {
        let caller = caller(&request)?;
        let req = request.into_inner();
        let change = FlagChange {
            state: flag_state("state", req.state).map_err(invalid_argument)?,
            note: optional("note", &req.note).map_err(invalid_argument)?,
            resolution: optional("resolution", &req.resolution).map_err(invalid_argument)?,
            corrected_phone: optional("corrected_phone", &req.corrected_phone)
                .map_err(invalid_argument)?,
        };
        let updated = service::update(&self.state, &caller, &req.id, change).await?;
        Ok(Response::new(updated.into()))
    }

    async fn check_recipients(
        &self,
        request: Request<proto::CheckRecipientsRequest>,
    ) -> Result<Response<proto::CheckRecipientsResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.into_inner();
        let category = message_category("category", req.category).map_err(invalid_argument)?;
        let checks = recipients::check(
            &self.state,
            &caller,
            &req.hotel_id,
            req.phones,
            req.emails,
            category,
        )
        .await?;
        Ok(Response::new(proto::CheckRecipientsResponse {
            recipients: checks.into_iter().map(Into::into).collect(),
        }))
    }

    async fn list_arrivals(
        &self,
        request: Request<proto::ListArrivalsRequest>,
    ) -> Result<Response<proto::ListArrivalsResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.into_inner();
        let (page_size, page_token) = (req.page_size, req.page_token.clone());
        let draft = ArrivalsDraft::try_from(req).map_err(invalid_argument)?;
        let page = arrivals::list(&self.state, &caller, draft, page_size, &page_token).await?;
        Ok(Response::new(page.into()))
    }

    async fn list_suppressions(
        &self,
        request: Request<proto::ListSuppressionsRequest>,
    ) -> Result<Response<proto::ListSuppressionsResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.into_inner();
        let reasons =
            enum_list("reasons", &req.reasons, suppression_reason).map_err(invalid_argument)?;
        let draft = SuppressionFilterDraft {
            hotel_ids: req.hotel_ids,
            reasons,
            address: req.address,
            include_lifted: req.include_lifted,
        };
        let (rows, next_page_token) =
            suppressions::list(&self.state, &caller, draft, req.page_size, &req.page_token).await?;
        Ok(Response::new(proto::ListSuppressionsResponse {
            suppressions: rows.into_iter().map(Into::into).collect(),
            next_page_token,
        }))
    }

    async fn add_suppression(
        &self,
        request: Request<proto::AddSuppressionRequest>,
    ) -> Result<Response<proto::Suppression>, Status> {
        let caller = caller(&request)?;
        let req = request.into_inner();
        let scope = suppression_scope("scope", req.scope).map_err(invalid_argument)?;
        let added = suppressions::add(
            &self.state,
            &caller,
            &req.hotel_id,
            &req.address,
            scope,
            &req.note,
        )
        .await?;
        Ok(Response::new(added.into()))
    }

    async fn remove_suppression(
        &self,
        request: Request<proto::RemoveSuppressionRequest>,
    ) -> Result<Response<proto::Suppression>, Status> {
        let caller = caller(&request)?;
        let req = request.into_inner();
        let lifted = suppressions::remove(&self.state, &caller, &req.id, &req.note).await?;
        Ok(Response::new(lifted.into()))
    }
}
