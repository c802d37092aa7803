//! MessageService: thin handlers over the store.
use std::sync::Arc;

use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status};

use super::caller::caller;
use super::convert::status_events::{campaign_stats, event_result};
use super::convert::time::from_proto;
use super::errors::{batch_too_large, invalid_argument, store_error};
use crate::app::AppState;
use crate::domain::FieldError;
use crate::domain::access::Caller;
use crate::domain::filter::{FilterDraft, MessageQuery};
use crate::domain::message::{self, MessageDraft};
use crate::domain::status_event::{self, EventDraft, EventOutcome};
use crate::proto;
use crate::proto::message_service_server::MessageService;
use crate::service::messages as service;
use crate::store::changes::ChangedMessage;
use crate::store::messages as store;
use crate::store::status_events;

/// Most items in one RecordMessages or UpdateStatuses call.
pub const MAX_BATCH: usize = 1000;
/// Changes buffered towards one watcher; one that falls further behind is stopped.
const WATCH_BUFFER: usize = 64;
const WATCH_GIVE_UP: std::time::Duration = std::time::Duration::from_secs(5);

pub struct MessagesApi {
    state: Arc<AppState>,
}

impl MessagesApi {
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

fn outcome_name(code: i32) -> &'static str {
    match EventOutcome::from_code(code) {
        Some(EventOutcome::Applied) => "applied",
        Some(EventOutcome::Stale) => "stale",
        Some(EventOutcome::Duplicate) => "duplicate",
        Some(EventOutcome::Rejected) | None => "rejected",
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
        let items = request.into_inner().messages;
        if items.len() > MAX_BATCH {
            return Err(batch_too_large("messages", items.len(), MAX_BATCH));
        }
        let mut results: Vec<proto::RecordResult> = Vec::with_capacity(items.len());
        let mut valid = Vec::with_capacity(items.len());
        for (index, item) in items.into_iter().enumerate() {
            let checked = MessageDraft::try_from(item)
                .and_then(|d| message::validate(d, &self.state.regions))
                .and_then(|m| match caller.may_see(&m.hotel_id) {
                    true => Ok(m),
                    false => Err(FieldError::new(
                        "hotel_id",
                        format!("hotel {:?} is not one this caller serves", m.hotel_id),
                    )),
                });
            let error = match checked {
                Ok(m) => {
                    valid.push((index, m));
                    String::new()
                }
                Err(e) => e.within(&format!("messages[{index}]")).to_string(),
            };
            results.push(proto::RecordResult {
                index: index as i32,
                error,
                ..Default::default()
            });
        }
        let new_messages: Vec<_> = valid.iter().map(|(_, m)| m.clone()).collect();
        let recorded = self
            .state
            .store
            .run(move |c| store::record(c, &new_messages, chrono::Utc::now()))
            .await
            .map_err(|e| store_error(e, "message"))?;
        let new: Vec<ChangedMessage> = recorded
            .iter()
            .filter(|r| r.created)
            .map(|r| ChangedMessage {
                message_id: r.message_id.clone(),
                previous: None,
            })
            .collect();
        self.state.feed.committed(new).await;
        for ((index, m), r) in valid.iter().zip(recorded) {
            if r.created {
                tracing::info!(
                    message_id = %r.message_id,
                    hotel_id = %m.hotel_id,
                    channel = m.channel.name(),
                    phone = %m.recipient_phone.as_deref().map(crate::domain::phone::mask).unwrap_or_default(),
                    "message recorded"
                );
            }
            results[*index].message_id = r.message_id;
            results[*index].created = r.created;
        }
        Ok(Response::new(proto::RecordMessagesResponse { results }))
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
        let events = request.into_inner().events;
        if events.len() > MAX_BATCH {
            return Err(batch_too_large("events", events.len(), MAX_BATCH));
        }
        let now = chrono::Utc::now();
        let mut results: Vec<Option<proto::StatusEventResult>> = vec![None; events.len()];
        let mut valid = Vec::with_capacity(events.len());
        let mut valid_index = Vec::with_capacity(events.len());
        for (index, e) in events.into_iter().enumerate() {
            match EventDraft::try_from(e).and_then(|d| status_event::validate(d, now)) {
                Ok(event) => {
                    valid.push(event);
                    valid_index.push(index);
                }
                Err(e) => {
                    results[index] = Some(proto::StatusEventResult {
                        index: index as i32,
                        outcome: EventOutcome::Rejected.code(),
                        error: e.within(&format!("events[{index}]")).to_string(),
                        ..Default::default()
                    })
                }
            }
        }
        let hotels = caller.visible_hotels();
        let applied = self
            .state
            .store
            .run(move |c| status_events::apply(c, &valid, &hotels, now))
            .await
            .map_err(|e| store_error(e, "message"))?;
        self.state.feed.committed(applied.status_changes).await;
        let outcomes = &crate::metrics::METRICS.status_events;
        for r in results.iter().flatten() {
            outcomes.with_label_values(&[outcome_name(r.outcome)]).inc();
        }
        for r in &applied.results {
            outcomes
                .with_label_values(&[outcome_name(r.outcome.code())])
                .inc();
        }
        for (index, r) in valid_index.into_iter().zip(applied.results) {
            results[index] = Some(event_result(index, r));
        }
        Ok(Response::new(proto::UpdateStatusesResponse {
            results: results
                .into_iter()
                .map(|r| r.expect("every event has a result"))
                .collect(),
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

    type WatchMessagesStream = ReceiverStream<Result<proto::MessageChange, Status>>;

    async fn watch_messages(
        &self,
        request: Request<proto::WatchMessagesRequest>,
    ) -> Result<Response<Self::WatchMessagesStream>, Status> {
        let caller = caller(&request)?;
        let query = message_query(&self.state, &caller, request.into_inner().filter)?;
        // Counted as open until the watcher hangs up or is stopped.
        let permit = self.state.streams.open(&caller)?;
        let (mut changes, mut stop) = self.state.feed.subscribe();
        let (tx, rx) = tokio::sync::mpsc::channel(WATCH_BUFFER);
        tokio::spawn(async move {
            let _permit = permit;
            loop {
                let change = tokio::select! {
                    _ = stop.changed() => {
                        let _ = tx.send(Err(Status::unavailable(
                            "the server is shutting down; watch again (another instance may answer)",
                        ))).await;
                        return;
                    }
                    _ = tx.closed() => return,
                    got = changes.recv() => got,
                };
                match change {
                    Ok(change) if query.matches(&change.message) => {
                        let out = proto::MessageChange {
                            previous_status: change.previous.map(|s| s.code()).unwrap_or_default(),
                            message: Some(change.message.clone().into()),
                        };
                        if tx.send(Ok(out)).await.is_err() {
                            return;
                        }
                    }
                    Ok(_) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                        let status = Status::resource_exhausted(format!(
                            "this watcher fell {missed} changes behind and was stopped; \
                             read what changed meanwhile with ListMessages (created_after, statuses) \
                             and watch again"
                        ));
                        let _ = tokio::time::timeout(WATCH_GIVE_UP, tx.send(Err(status))).await;
                        return;
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
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
