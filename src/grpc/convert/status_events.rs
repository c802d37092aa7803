//! Status events and campaign funnels between protobuf and the domain.
use crate::domain::FieldError;
use crate::domain::campaign::Funnel;
use crate::domain::status_event::EventDraft;
use crate::domain::status_event::{EventResult, HistoryEvent};
use crate::proto;

use super::messages::status;
use super::time::{from_proto, to_proto};

impl TryFrom<proto::StatusEvent> for EventDraft {
    type Error = FieldError;

    fn try_from(e: proto::StatusEvent) -> Result<Self, FieldError> {
        let proto::StatusEvent {
            message_id,
            provider,
            provider_message_id,
            status: status_code,
            occurred_at,
            event_id,
            error_code,
            error_message,
            // Set by the server in history responses; ignored on input.
            outcome: _,
            received_at: _,
            error_category: _,
        } = e;
        Ok(EventDraft {
            message_id,
            provider,
            provider_message_id,
            status: status("status", status_code)?,
            occurred_at: from_proto("occurred_at", occurred_at)?,
            event_id,
            error_code,
            error_message,
        })
    }
}

impl From<HistoryEvent> for proto::StatusEvent {
    fn from(h: HistoryEvent) -> Self {
        proto::StatusEvent {
            message_id: h.message_id,
            provider: String::new(),
            provider_message_id: String::new(),
            status: h.status.code(),
            occurred_at: Some(to_proto(h.occurred_at)),
            event_id: h.event_id,
            error_code: h.error_code.unwrap_or_default(),
            error_message: h.error_message.unwrap_or_default(),
            outcome: h.outcome.code(),
            received_at: Some(to_proto(h.received_at)),
            error_category: h.error_category.code(),
        }
    }
}

pub fn event_result((index, r): (usize, EventResult)) -> proto::StatusEventResult {
    proto::StatusEventResult {
        index: index as i32,
        outcome: r.outcome.code(),
        message_id: r.message_id.unwrap_or_default(),
        current_status: r.current_status.map(|s| s.code()).unwrap_or_default(),
        error: r
            .error
            .map(|e| format!("events[{index}].{e}"))
            .unwrap_or_default(),
    }
}

pub fn campaign_stats(
    hotel_id: String,
    campaign_id: String,
    campaign_name: Option<String>,
    f: Funnel,
) -> proto::CampaignStats {
    proto::CampaignStats {
        hotel_id,
        campaign_id,
        campaign_name: campaign_name.unwrap_or_default(),
        total: f.total,
        by_status: f
            .by_status
            .into_iter()
            .map(|(s, count)| proto::StatusCount {
                status: s.code(),
                count,
            })
            .collect(),
        delivery_rate: f.delivery_rate,
        read_rate: f.read_rate,
        sent: f.sent,
        delivered: f.delivered,
        read: f.read,
        undelivered: f.undelivered,
        failed: f.failed,
    }
}
