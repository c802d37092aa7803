//! Messages: protobuf requests into domain drafts, domain messages into protobuf.
use crate::domain::FieldError;
use crate::domain::error_category::ErrorCategory;
use crate::domain::filter::Counts;
use crate::domain::filter::FilterDraft;
use crate::domain::message::Recorded;
use crate::domain::message::{
    Channel, Message, MessageCategory, MessageDraft, MessageStatus, optional_date,
};
use crate::proto;
use crate::service::ItemResult;

use super::time::{date_to_proto, from_proto, opt_to_proto, to_proto};

/// An enum from the wire: UNSPECIFIED (0) is "not given"; a number the contract does
/// not know is an error naming the field and the enum (`name`).
pub fn enum_value<T>(
    field: &str,
    v: i32,
    from_code: fn(i32) -> Option<T>,
    name: &str,
) -> Result<Option<T>, FieldError> {
    match v {
        0 => Ok(None),
        v => from_code(v)
            .map(Some)
            .ok_or_else(|| FieldError::new(field, format!("{v} is not a {name}"))),
    }
}

pub fn channel(field: &str, v: i32) -> Result<Option<Channel>, FieldError> {
    enum_value(field, v, Channel::from_code, "Channel")
}

pub fn status(field: &str, v: i32) -> Result<Option<MessageStatus>, FieldError> {
    enum_value(field, v, MessageStatus::from_code, "MessageStatus")
}

pub fn message_category(field: &str, v: i32) -> Result<MessageCategory, FieldError> {
    MessageCategory::from_code(v)
        .ok_or_else(|| FieldError::new(field, format!("{v} is not a MessageCategory")))
}

pub fn error_category(field: &str, v: i32) -> Result<ErrorCategory, FieldError> {
    ErrorCategory::from_code(v)
        .ok_or_else(|| FieldError::new(field, format!("{v} is not an ErrorCategory")))
}

/// A repeated enum filter: every entry must be a known, non-UNSPECIFIED value.
pub fn enum_list<T>(
    field: &str,
    values: &[i32],
    one: impl Fn(&str, i32) -> Result<Option<T>, FieldError>,
) -> Result<Vec<T>, FieldError> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let f = format!("{field}[{i}]");
            one(&f, *v)?
                .ok_or_else(|| FieldError::new(f, "UNSPECIFIED is not a value to filter on"))
        })
        .collect()
}

impl TryFrom<proto::NewMessage> for MessageDraft {
    type Error = FieldError;

    fn try_from(m: proto::NewMessage) -> Result<Self, FieldError> {
        let proto::NewMessage {
            hotel_id,
            external_id,
            phone_region,
            campaign_id,
            campaign_name,
            channel: channel_code,
            recipient_phone,
            recipient_email,
            guest_name,
            pms_guest_id,
            pms_reservation_id,
            check_in_date,
            check_out_date,
            status: status_code,
            scheduled_at,
            provider,
            provider_message_id,
            template_name,
            error_code,
            error_message,
            category,
        } = m;
        Ok(MessageDraft {
            hotel_id,
            external_id,
            phone_region,
            campaign_id,
            campaign_name,
            channel: channel("channel", channel_code)?,
            recipient_phone,
            recipient_email,
            guest_name,
            pms_guest_id,
            pms_reservation_id,
            check_in_date,
            check_out_date,
            status: status("status", status_code)?,
            scheduled_at: from_proto("scheduled_at", scheduled_at)?,
            provider,
            provider_message_id,
            template_name,
            error_code,
            error_message,
            category: message_category("category", category)?,
        })
    }
}

impl TryFrom<proto::MessageFilter> for FilterDraft {
    type Error = FieldError;

    fn try_from(f: proto::MessageFilter) -> Result<Self, FieldError> {
        let proto::MessageFilter {
            hotel_ids,
            phone,
            campaign_name,
            campaign_ids,
            check_in_from,
            check_in_to,
            check_out_from,
            check_out_to,
            channels,
            statuses,
            created_after,
            created_before,
            email,
            pms_reservation_id,
            provider_message_id,
            error_categories,
            stuck,
            categories,
        } = f;
        let within = |e: FieldError| e.within("filter");
        Ok(FilterDraft {
            hotel_ids,
            phone,
            campaign_name,
            campaign_ids,
            check_in_from,
            check_in_to,
            check_out_from,
            check_out_to,
            channels: enum_list("channels", &channels, channel).map_err(within)?,
            statuses: enum_list("statuses", &statuses, status).map_err(within)?,
            created_after: from_proto("created_after", created_after).map_err(within)?,
            created_before: from_proto("created_before", created_before).map_err(within)?,
            email,
            pms_reservation_id,
            provider_message_id,
            error_categories: enum_list("error_categories", &error_categories, |f, v| {
                error_category(f, v).map(|c| (c != ErrorCategory::None).then_some(c))
            })
            .map_err(within)?,
            stuck,
            categories: enum_list("categories", &categories, |f, v| {
                message_category(f, v).map(|c| (c != MessageCategory::Unspecified).then_some(c))
            })
            .map_err(within)?,
        })
    }
}

impl From<Message> for proto::Message {
    fn from(m: Message) -> Self {
        let text = Option::unwrap_or_default;
        proto::Message {
            id: m.id,
            hotel_id: m.hotel_id,
            external_id: m.external_id,
            phone_region: text(m.phone_region),
            campaign_id: text(m.campaign_id),
            campaign_name: text(m.campaign_name),
            channel: m.channel.code(),
            recipient_phone: text(m.recipient_phone),
            phone_valid: m.phone_valid,
            recipient_email: text(m.recipient_email),
            guest_name: text(m.guest_name),
            pms_guest_id: text(m.pms_guest_id),
            pms_reservation_id: text(m.pms_reservation_id),
            check_in_date: date_to_proto(m.check_in_date),
            check_out_date: date_to_proto(m.check_out_date),
            status: m.status.code(),
            scheduled_at: opt_to_proto(m.scheduled_at),
            provider: text(m.provider),
            provider_message_id: text(m.provider_message_id),
            template_name: text(m.template_name),
            error_code: text(m.error_code),
            error_message: text(m.error_message),
            error_category: m.error_category.code(),
            created_at: Some(to_proto(m.created_at)),
            updated_at: Some(to_proto(m.updated_at)),
            status_changed_at: Some(to_proto(m.status_changed_at)),
            sent_at: opt_to_proto(m.sent_at),
            delivered_at: opt_to_proto(m.delivered_at),
            read_at: opt_to_proto(m.read_at),
            failed_at: opt_to_proto(m.failed_at),
            stuck: m.stuck,
            category: m.category.code(),
        }
    }
}

/// A message as a server sent it (`sentlog export` reads them back): every field
/// destructured, so a new one breaks the build until it is decided here.
impl TryFrom<proto::Message> for Message {
    type Error = FieldError;

    fn try_from(m: proto::Message) -> Result<Self, FieldError> {
        let proto::Message {
            id,
            hotel_id,
            external_id,
            phone_region,
            campaign_id,
            campaign_name,
            channel: channel_code,
            recipient_phone,
            phone_valid,
            recipient_email,
            guest_name,
            pms_guest_id,
            pms_reservation_id,
            check_in_date,
            check_out_date,
            status: status_code,
            scheduled_at,
            provider,
            provider_message_id,
            template_name,
            error_code,
            error_message,
            error_category,
            created_at,
            updated_at,
            status_changed_at,
            sent_at,
            delivered_at,
            read_at,
            failed_at,
            stuck,
            category,
        } = m;
        let text = |t: String| (!t.is_empty()).then_some(t);
        let instant = |field: &str, t| {
            from_proto(field, t)?.ok_or_else(|| FieldError::new(field, "is missing"))
        };
        Ok(Message {
            id,
            hotel_id,
            external_id,
            phone_region: text(phone_region),
            campaign_id: text(campaign_id),
            campaign_name: text(campaign_name),
            channel: channel("channel", channel_code)?
                .ok_or_else(|| FieldError::new("channel", "is missing"))?,
            recipient_phone: text(recipient_phone),
            phone_valid,
            recipient_email: text(recipient_email),
            guest_name: text(guest_name),
            pms_guest_id: text(pms_guest_id),
            pms_reservation_id: text(pms_reservation_id),
            check_in_date: optional_date("check_in_date", &check_in_date)?,
            check_out_date: optional_date("check_out_date", &check_out_date)?,
            status: status("status", status_code)?
                .ok_or_else(|| FieldError::new("status", "is missing"))?,
            scheduled_at: from_proto("scheduled_at", scheduled_at)?,
            provider: text(provider),
            provider_message_id: text(provider_message_id),
            template_name: text(template_name),
            error_code: text(error_code),
            error_message: text(error_message),
            error_category: ErrorCategory::from_code(error_category).ok_or_else(|| {
                FieldError::new(
                    "error_category",
                    format!("{error_category} is not a category"),
                )
            })?,
            created_at: instant("created_at", created_at)?,
            updated_at: instant("updated_at", updated_at)?,
            status_changed_at: instant("status_changed_at", status_changed_at)?,
            sent_at: from_proto("sent_at", sent_at)?,
            delivered_at: from_proto("delivered_at", delivered_at)?,
            read_at: from_proto("read_at", read_at)?,
            failed_at: from_proto("failed_at", failed_at)?,
            stuck,
            category: message_category("category", category)?,
        })
    }
}

impl From<Counts> for proto::CountMessagesResponse {
    fn from(c: Counts) -> Self {
        proto::CountMessagesResponse {
            total: c.total,
            by_status: c
                .by_status
                .into_iter()
                .map(|(s, count)| proto::StatusCount {
                    status: s.code(),
                    count,
                })
                .collect(),
            by_channel: c
                .by_channel
                .into_iter()
                .map(|(ch, count)| proto::ChannelCount {
                    channel: ch.code(),
                    count,
                })
                .collect(),
            by_error_category: c
                .by_error_category
                .into_iter()
                .map(|(cat, count)| proto::ErrorCategoryCount {
                    error_category: cat.code(),
                    count,
                })
                .collect(),
            stuck: c.stuck,
            by_category: c
                .by_category
                .into_iter()
                .map(|(cat, count)| proto::MessageCategoryCount {
                    category: cat.code(),
                    count,
                })
                .collect(),
        }
    }
}

/// One item of RecordMessages: the message's id and whether it is new, or why not.
pub fn record_result((index, r): (usize, ItemResult<Recorded>)) -> proto::RecordResult {
    let (message_id, created, error) = match r {
        Ok(r) => (r.message_id, r.created, String::new()),
        Err(error) => (String::new(), false, error),
    };
    proto::RecordResult {
        index: index as i32,
        message_id,
        created,
        error,
    }
}
