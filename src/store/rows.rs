//! Rows of the tables that several store modules (and the `Dialect`) write or read,
//! kept apart so that those modules import them without importing each other.
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::message_key::Key;
use super::schema::{
    flags, messages, reconciliation_checks as checks, status_events, suppressions,
};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = flags, treat_none_as_default_value = false)]
pub struct FlagRow {
    pub id: String,
    pub hotel_id: String,
    #[diesel(serialize_as = Key)]
    pub message_id: String,
    pub run_id: Option<String>,
    pub reason: i32,
    pub detail: String,
    pub message_phone: Option<String>,
    pub pms_phone: Option<String>,
    pub suggested_phone: Option<String>,
    pub message_email: Option<String>,
    pub pms_email: Option<String>,
    pub guest_name: Option<String>,
    pub campaign_name: Option<String>,
    pub error_category: i32,
    pub corrected_phone: Option<String>,
    pub state: i32,
    pub resolution: Option<String>,
    pub note: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub resolved_by: Option<String>,
    pub stay_key: String,
    pub check_in_date: Option<chrono::NaiveDate>,
    pub check_out_date: Option<chrono::NaiveDate>,
    pub queue_check_in: chrono::NaiveDate,
    /// Space-separated, oldest first.
    pub message_ids: String,
    pub attempts: i32,
    /// Channel codes, comma-separated.
    pub channels_tried: String,
    pub reached_at: Option<NaiveDateTime>,
    pub reached_channel: Option<i32>,
    pub priority: i32,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = checks, treat_none_as_default_value = false)]
pub struct CheckRow {
    #[diesel(serialize_as = Key)]
    pub message_id: String,
    pub checked_at: NaiveDateTime,
    pub message_updated_at: NaiveDateTime,
}

/// The status part of a message row, and what the rules need to judge an event.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = messages)]
pub struct StateRow {
    pub id: String,
    pub hotel_id: String,
    /// The addresses, for the suppressions a failure teaches or a delivery lifts.
    pub recipient_phone: Option<String>,
    pub email_normalized: Option<String>,
    pub channel: i32,
    pub provider: Option<String>,
    pub status: i32,
    pub status_changed_at: NaiveDateTime,
    pub status_event_id: String,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub error_category: i32,
    pub sent_at: Option<NaiveDateTime>,
    pub delivered_at: Option<NaiveDateTime>,
    pub read_at: Option<NaiveDateTime>,
    pub failed_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Insertable, Queryable, Selectable)]
#[diesel(table_name = status_events, treat_none_as_default_value = false)]
pub struct HistoryRow {
    #[diesel(serialize_as = Key)]
    pub message_id: String,
    pub event_id: String,
    pub status: i32,
    pub occurred_at: NaiveDateTime,
    pub received_at: NaiveDateTime,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub error_category: i32,
    pub outcome: i32,
}

/// A suppression as stored (see `store::suppressions`).
#[derive(Debug, Clone, Insertable, Queryable, Selectable)]
#[diesel(table_name = suppressions, treat_none_as_default_value = false)]
pub struct SuppressionRow {
    pub id: String,
    pub hotel_id: String,
    pub address_hash: String,
    pub address: String,
    pub scope: i32,
    pub reason: i32,
    pub corrected: Option<String>,
    pub source_message_id: Option<String>,
    pub note: String,
    pub created_at: NaiveDateTime,
    pub created_by: String,
    pub lifted_at: Option<NaiveDateTime>,
    pub lifted_by: Option<String>,
    pub lift_note: Option<String>,
}
