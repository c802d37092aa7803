//! MessageService: each handler decodes, makes one call into `service`, encodes.
use std::sync::Arc;

use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status};

use super::caller::caller;
use super::convert::messages::record_result;
use super::convert::status_events::{campaign_stats, event_result};
use super::convert::time::from_proto;
use super::errors::invalid_argument;
use crate::domain::access::Caller;
use crate::domain::filter::{FilterDraft, MessageQuery};
use crate::domain::message::MessageDraft;
use crate::domain::status_event::EventDraft;
use crate::proto;
use crate::proto::message_service_server::MessageService;
use crate::service::{AppState, feed, messages as service, recording, statuses};

pub struct MessagesApi {
    state: Arc<AppState>,
}

impl MessagesApi {
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

/// A filter from the wire, validated and scoped to the caller's hotels.
pub fn message_query(
    state: &AppState,
    caller: &Caller,
    filter: Option<proto::MessageFilter>,
) -> Result<MessageQuery, Status> {
    let draft = FilterDraft::try_from(filter.unwrap_or_default()).map_err(invalid_argument)?;
    Ok(service::query(state, caller, draft)?)
}

#[tonic::async_trait]
impl MessageService for MessagesApi {
    async fn record_messages(
        &self,
        request: Request<proto::RecordMessagesRequest>,
    ) -> Result<Response<proto::RecordMessagesResponse>, Status> {
        let caller = caller(&request)?;
        let drafts = request
            .into_inner()
            .messages
            .into_iter()
            .map(MessageDraft::try_from);
        let results = recording::record(&self.state, &caller, drafts.collect()).await?;
        Ok(Response::new(proto::RecordMessagesResponse {
            results: results.into_iter().enumerate().map(record_result).collect(),
        }))
    }

    async fn get_message(
        &self,
        request: Request<proto::GetMessageRequest>,
    ) -> Result<Response<proto::Message>, Status> {
        let caller = caller(&request)?;
        let found = service::get(&self.state, &caller, &request.into_inner().id).await?;
        Ok(Response::new(found.into()))
    }

    async fn list_messages(
        &self,
        request: Request<proto::ListMessagesRequest>,
    ) -> Result<Response<proto::ListMessagesResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.into_inner();
        let query = message_query(&self.state, &caller, req.filter)?;
        let (rows, next_page_token) =
            service::list(&self.state, query, req.page_size, &req.page_token).await?;
        Ok(Response::new(proto::ListMessagesResponse {
            messages: rows.into_iter().map(Into::into).collect(),
            next_page_token,
        }))
    }

    async fn count_messages(
        &self,
        request: Request<proto::CountMessagesRequest>,
    ) -> Result<Response<proto::CountMessagesResponse>, Status> {
        let caller = caller(&request)?;
        let query = message_query(&self.state, &caller, request.into_inner().filter)?;
        let counts = service::count(&self.state, query).await?;
        Ok(Response::new(counts.into()))
    }

    async fn update_statuses(
        &self,
        request: Request<proto::UpdateStatusesRequest>,
    ) -> Result<Response<proto::UpdateStatusesResponse>, Status> {
        let caller = caller(&request)?;
        let drafts = request
            .into_inner()
            .events
            .into_iter()
            .map(EventDraft::try_from);
        let results = statuses::update(&self.state, &caller, drafts.collect()).await?;
        Ok(Response::new(proto::UpdateStatusesResponse {
            results: results.into_iter().enumerate().map(event_result).collect(),
        }))
    }

    async fn get_message_history(
        &self,
        request: Request<proto::GetMessageHistoryRequest>,
    ) -> Result<Response<proto::GetMessageHistoryResponse>, Status> {
        let caller = caller(&request)?;
        let message_id = request.into_inner().message_id;
        let events = service::history(&self.state, &caller, &message_id).await?;
        Ok(Response::new(proto::GetMessageHistoryResponse {
            events: events.into_iter().map(Into::into).collect(),
        }))
    }

    type ExportMessagesStream =
        std::pin::Pin<Box<dyn Stream<Item = Result<proto::Message, Status>> + Send + 'static>>;

    async fn export_messages(
        &self,
        request: Request<proto::ExportMessagesRequest>,
    ) -> Result<Response<Self::ExportMessagesStream>, Status> {
        let caller = caller(&request)?;
        let query = message_query(&self.state, &caller, request.into_inner().filter)?;
        let rx = service::export(self.state.clone(), &caller, query)?;
        let stream = ReceiverStream::new(rx).map(|r| r.map(Into::into).map_err(Status::from));
        Ok(Response::new(Box::pin(stream)))
    }

    type WatchMessagesStream =
        std::pin::Pin<Box<dyn Stream<Item = Result<proto::MessageChange, Status>> + Send>>;

    async fn watch_messages(
        &self,
        request: Request<proto::WatchMessagesRequest>,
    ) -> Result<Response<Self::WatchMessagesStream>, Status> {
        let caller = caller(&request)?;
        let query = message_query(&self.state, &caller, request.into_inner().filter)?;
        let rx = feed::watch(&self.state, &caller, query)?;
        let stream = ReceiverStream::new(rx).map(|r| {
            r.map(|change| proto::MessageChange {
                previous_status: change.previous.map(|s| s.code()).unwrap_or_default(),
                message: Some(change.message.clone().into()),
            })
            .map_err(Status::from)
        });
        Ok(Response::new(Box::pin(stream)))
    }

    async fn get_campaign_stats(
        &self,
        request: Request<proto::GetCampaignStatsRequest>,
    ) -> Result<Response<proto::CampaignStats>, Status> {
        let caller = caller(&request)?;
        let req = request.into_inner();
        let after = from_proto("sent_after", req.sent_after).map_err(invalid_argument)?;
        let before = from_proto("sent_before", req.sent_before).map_err(invalid_argument)?;
        let stats = service::campaign_stats(
            &self.state,
            &caller,
            &req.hotel_id,
            &req.campaign_id,
            after,
            before,
        )
        .await?;
        Ok(Response::new(campaign_stats(
            stats.hotel_id,
            stats.campaign_id,
            stats.campaign_name,
            stats.funnel,
        )))
    }
}
