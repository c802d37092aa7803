//! Guests, flags, runs and recipient checks between protobuf and the domain.
use crate::domain::FieldError;
use crate::domain::arrival::{Arrival, Reach};
use crate::domain::flag::{Flag, FlagOrder, FlagPriority, FlagReason, FlagState};
use crate::domain::guest::{GuestDraft, PmsGuest};
use crate::domain::run::ReconciliationRun;
use crate::domain::suppression::{Reason, Scope, Suppression};
use crate::proto;
use crate::service::arrivals::{ArrivalsDraft, ArrivalsPage};
use crate::service::recipients::RecipientCheck;

use super::messages::{enum_list, enum_value};
use super::time::{date_to_proto, opt_to_proto, to_proto};

impl From<proto::PmsGuest> for GuestDraft {
    fn from(g: proto::PmsGuest) -> Self {
        let proto::PmsGuest {
            hotel_id,
            pms_guest_id,
            pms_reservation_id,
            full_name,
            phone,
            email,
            check_in_date,
            check_out_date,
            // Set by the server.
            updated_at: _,
        } = g;
        GuestDraft {
            hotel_id,
            pms_guest_id,
            pms_reservation_id,
            full_name,
            phone,
            email,
            check_in_date,
            check_out_date,
        }
    }
}

impl From<PmsGuest> for proto::PmsGuest {
    fn from(g: PmsGuest) -> Self {
        proto::PmsGuest {
            hotel_id: g.hotel_id,
            pms_guest_id: g.pms_guest_id,
            pms_reservation_id: g.pms_reservation_id.unwrap_or_default(),
            full_name: g.full_name.unwrap_or_default(),
            phone: g.phone.unwrap_or_default(),
            email: g.email.unwrap_or_default(),
            check_in_date: date_to_proto(g.check_in_date),
            check_out_date: date_to_proto(g.check_out_date),
            updated_at: Some(to_proto(g.updated_at)),
        }
    }
}

impl From<Flag> for proto::Flag {
    fn from(f: Flag) -> Self {
        let text = Option::unwrap_or_default;
        proto::Flag {
            id: f.id,
            hotel_id: f.hotel_id,
            message_id: f.message_id,
            reason: f.reason.code(),
            detail: f.detail,
            message_phone: text(f.message_phone),
            pms_phone: text(f.pms_phone),
            suggested_phone: text(f.suggested_phone),
            message_email: text(f.message_email),
            pms_email: text(f.pms_email),
            guest_name: text(f.guest_name),
            campaign_name: text(f.campaign_name),
            error_category: f.error_category.code(),
            corrected_phone: text(f.corrected_phone),
            state: f.state.code(),
            resolution: text(f.resolution),
            note: text(f.note),
            created_at: Some(to_proto(f.created_at)),
            updated_at: Some(to_proto(f.updated_at)),
            resolved_by: text(f.resolved_by),
            stay_key: f.stay_key,
            check_in_date: date_to_proto(f.check_in_date),
            check_out_date: date_to_proto(f.check_out_date),
            message_ids: f.message_ids,
            attempts: f.attempts,
            channels_tried: f.channels_tried.iter().map(|c| c.code()).collect(),
            reached_at: opt_to_proto(f.reached_at),
            reached_channel: f.reached_channel.map(|c| c.code()).unwrap_or_default(),
            priority: f.priority.code(),
        }
    }
}

impl From<ReconciliationRun> for proto::ReconciliationRun {
    fn from(r: ReconciliationRun) -> Self {
        let error_details = r.error_lines();
        proto::ReconciliationRun {
            id: r.id,
            started_at: Some(to_proto(r.started_at)),
            finished_at: opt_to_proto(r.finished_at),
            trigger: r.trigger,
            messages_checked: r.messages_checked,
            flags_raised: r.flags_raised,
            messages_skipped: r.messages_skipped,
            errors: r.errors,
            state: r.state.name().to_string(),
            hotel_ids: r.hotel_ids,
            error_details,
        }
    }
}

impl From<RecipientCheck> for proto::RecipientCheck {
    fn from(c: RecipientCheck) -> Self {
        proto::RecipientCheck {
            input: c.input,
            normalized: c.normalized,
            valid: c.valid,
            last_delivered_at: opt_to_proto(c.last_delivered_at),
            failures_since_delivered: c.failures_since_delivered,
            last_error_category: c.last_error_category.code(),
            open_flag_id: c.open_flag_id.unwrap_or_default(),
            corrected: c.corrected.unwrap_or_default(),
            verdict: c.verdict.code(),
            suppression_reason: c
                .suppression
                .as_ref()
                .map(|s| s.1.code())
                .unwrap_or_default(),
            suppression_id: c.suppression.map(|s| s.0).unwrap_or_default(),
        }
    }
}

pub fn flag_state(field: &str, v: i32) -> Result<Option<FlagState>, FieldError> {
    enum_value(field, v, FlagState::from_code, "FlagState")
}

pub fn flag_reason(field: &str, v: i32) -> Result<Option<FlagReason>, FieldError> {
    enum_value(field, v, FlagReason::from_code, "FlagReason")
}

pub fn flag_priority(field: &str, v: i32) -> Result<Option<FlagPriority>, FieldError> {
    enum_value(field, v, FlagPriority::from_code, "FlagPriority")
}

pub fn flag_order(field: &str, v: i32) -> Result<FlagOrder, FieldError> {
    match proto::FlagOrder::try_from(v) {
        Ok(proto::FlagOrder::Unspecified) => Ok(FlagOrder::Urgency),
        Ok(proto::FlagOrder::Oldest) => Ok(FlagOrder::Oldest),
        Err(_) => Err(FieldError::new(field, format!("{v} is not a FlagOrder"))),
    }
}

/// A reach state from the wire: UNSPECIFIED is None; an unknown number names the field.
pub fn reach(field: &str, code: i32) -> Result<Option<Reach>, FieldError> {
    enum_value(field, code, Reach::from_code, "ReachState")
}

impl TryFrom<proto::ListArrivalsRequest> for ArrivalsDraft {
    type Error = FieldError;

    fn try_from(r: proto::ListArrivalsRequest) -> Result<Self, FieldError> {
        let proto::ListArrivalsRequest {
            hotel_id,
            check_in_from,
            check_in_to,
            reach: reach_codes,
            // Paging is the service's.
            page_size: _,
            page_token: _,
        } = r;
        Ok(ArrivalsDraft {
            hotel_id,
            check_in_from,
            check_in_to,
            reach: enum_list("reach", &reach_codes, reach)?,
        })
    }
}

impl From<Arrival> for proto::Arrival {
    fn from(a: Arrival) -> Self {
        proto::Arrival {
            stay_key: a.stay_key,
            guest_name: a.guest_name.unwrap_or_default(),
            pms_guest_id: a.pms_guest_id.unwrap_or_default(),
            pms_reservation_id: a.pms_reservation_id.unwrap_or_default(),
            check_in_date: date_to_proto(Some(a.check_in_date)),
            check_out_date: date_to_proto(a.check_out_date),
            messages: a.messages,
            reach: a.reach.code(),
            reached_at: opt_to_proto(a.reached_at),
            reached_channel: a.reached_channel.map(|c| c.code()).unwrap_or_default(),
            last_status: a.last_status.map(|s| s.code()).unwrap_or_default(),
            last_error_category: a.last_error_category.code(),
            stuck: a.stuck,
            open_flag_id: a.open_flag_id.unwrap_or_default(),
        }
    }
}

impl From<ArrivalsPage> for proto::ListArrivalsResponse {
    fn from(p: ArrivalsPage) -> Self {
        proto::ListArrivalsResponse {
            arrivals: p.arrivals.into_iter().map(Into::into).collect(),
            counts: p
                .counts
                .into_iter()
                .map(|(r, count)| proto::ReachCount {
                    reach: r.code(),
                    count,
                })
                .collect(),
            next_page_token: p.next_page_token,
        }
    }
}

pub fn suppression_reason(field: &str, v: i32) -> Result<Option<Reason>, FieldError> {
    enum_value(field, v, Reason::from_code, "SuppressionReason")
}

pub fn suppression_scope(field: &str, v: i32) -> Result<Option<Scope>, FieldError> {
    enum_value(field, v, Scope::from_code, "SuppressionScope")
}

impl From<Suppression> for proto::Suppression {
    fn from(s: Suppression) -> Self {
        proto::Suppression {
            id: s.id,
            hotel_id: s.hotel_id,
            address: s.address,
            scope: s.scope.code(),
            reason: s.reason.code(),
            corrected: s.corrected.unwrap_or_default(),
            source_message_id: s.source_message_id.unwrap_or_default(),
            note: s.note,
            created_at: Some(to_proto(s.created_at)),
            created_by: s.created_by,
            lifted_at: opt_to_proto(s.lifted_at),
            lifted_by: s.lifted_by.unwrap_or_default(),
            lift_note: s.lift_note.unwrap_or_default(),
        }
    }
}
