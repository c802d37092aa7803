//! Messages: the enums every layer shares, and the validation of a message to record.
use chrono::{DateTime, NaiveDate, Utc};

use super::error_category::{ErrorCategory, categorize};
use super::phone::{self, RegionMap};
use super::{FieldError, email};

/// The channel a message went out on. Codes are stored in the database: never renumber.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Channel {
    Whatsapp = 1,
    Sms = 2,
    Email = 3,
}

impl Channel {
    pub const ALL: [Channel; 3] = [Channel::Whatsapp, Channel::Sms, Channel::Email];

    pub fn code(self) -> i32 {
        self as i32
    }

    pub fn from_code(code: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.code() == code)
    }

    /// Whether a message of this channel can reach `status`: READ exists only on
    /// WhatsApp (read receipts); every other status on every channel.
    pub fn accepts(self, status: MessageStatus) -> bool {
        status != MessageStatus::Read || self == Channel::Whatsapp
    }

    /// WhatsApp and SMS go to a phone; email to an address.
    pub fn uses_phone(self) -> bool {
        matches!(self, Channel::Whatsapp | Channel::Sms)
    }

    /// Reads `channel_x`, `X` or `CHANNEL_X` (see `domain::names`).
    pub fn from_name(text: &str) -> Option<Self> {
        super::names::from_name(&Self::ALL, Self::name, "CHANNEL_", text)
    }

    pub fn name(self) -> &'static str {
        match self {
            Channel::Whatsapp => "WHATSAPP",
            Channel::Sms => "SMS",
            Channel::Email => "EMAIL",
        }
    }

    /// How a person names it.
    pub fn label(self) -> &'static str {
        match self {
            Channel::Whatsapp => "WhatsApp",
            Channel::Sms => "SMS",
            Channel::Email => "Email",
        }
    }
}

/// Delivery status, as the console shows it. Codes are stored: never renumber.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MessageStatus {
    Pending = 1,
    Scheduled = 2,
    Validated = 3,
    Cancelled = 4,
    Failed = 5,
    Sent = 6,
    Undelivered = 7,
    Delivered = 8,
    Read = 9,
}

impl MessageStatus {
    pub const ALL: [MessageStatus; 9] = [
        MessageStatus::Pending,
        MessageStatus::Scheduled,
        MessageStatus::Validated,
        MessageStatus::Cancelled,
        MessageStatus::Failed,
        MessageStatus::Sent,
        MessageStatus::Undelivered,
        MessageStatus::Delivered,
        MessageStatus::Read,
    ];

    pub fn code(self) -> i32 {
        self as i32
    }

    pub fn from_code(code: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    /// Reads `message_status_x`, `X` or `MESSAGE_STATUS_X` (see `domain::names`).
    pub fn from_name(text: &str) -> Option<Self> {
        super::names::from_name(&Self::ALL, Self::name, "MESSAGE_STATUS_", text)
    }

    pub fn name(self) -> &'static str {
        match self {
            MessageStatus::Pending => "PENDING",
            MessageStatus::Scheduled => "SCHEDULED",
            MessageStatus::Validated => "VALIDATED",
            MessageStatus::Cancelled => "CANCELLED",
            MessageStatus::Failed => "FAILED",
            MessageStatus::Sent => "SENT",
            MessageStatus::Undelivered => "UNDELIVERED",
            MessageStatus::Delivered => "DELIVERED",
            MessageStatus::Read => "READ",
        }
    }

    /// The console's words, French then English.
    pub fn labels(self) -> (&'static str, &'static str) {
        match self {
            MessageStatus::Pending => ("En attente", "Pending"),
            MessageStatus::Scheduled => ("Programmé", "Scheduled"),
            MessageStatus::Validated => ("Validé", "Validated"),
            MessageStatus::Cancelled => ("Annulé", "Cancelled"),
            MessageStatus::Failed => ("Échec", "Failed"),
            MessageStatus::Sent => ("Envoyé", "Sent"),
            MessageStatus::Undelivered => ("Non livré", "Undelivered"),
            MessageStatus::Delivered => ("Livré", "Delivered"),
            MessageStatus::Read => ("Lu", "Read"),
        }
    }
}

coded_enum! {
    /// What a message is for.
    #[derive(Default)]
    pub enum MessageCategory {
        #[default]
        Unspecified = 0,
        /// Stay logistics: confirmation, online check-in, key, directions.
        Utility = 1,
        /// Upsell, offers.
        Marketing = 2,
        /// A reply within a conversation.
        Service = 3,
        Authentication = 4,
    }
}

impl MessageCategory {
    pub fn name(self) -> &'static str {
        match self {
            MessageCategory::Unspecified => "UNSPECIFIED",
            MessageCategory::Utility => "UTILITY",
            MessageCategory::Marketing => "MARKETING",
            MessageCategory::Service => "SERVICE",
            MessageCategory::Authentication => "AUTHENTICATION",
        }
    }

    /// Reads `marketing`, `MARKETING` or `MESSAGE_CATEGORY_MARKETING`.
    pub fn from_name(text: &str) -> Option<Self> {
        super::names::from_name(Self::ALL, Self::name, "MESSAGE_CATEGORY_", text)
    }
}

/// A message as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub id: String,
    pub hotel_id: String,
    pub external_id: String,
    pub phone_region: Option<String>,
    pub campaign_id: Option<String>,
    pub campaign_name: Option<String>,
    pub channel: Channel,
    pub recipient_phone: Option<String>,
    pub phone_valid: bool,
    pub recipient_email: Option<String>,
    pub guest_name: Option<String>,
    pub pms_guest_id: Option<String>,
    pub pms_reservation_id: Option<String>,
    pub check_in_date: Option<NaiveDate>,
    pub check_out_date: Option<NaiveDate>,
    pub status: MessageStatus,
    pub scheduled_at: Option<DateTime<Utc>>,
    pub provider: Option<String>,
    pub provider_message_id: Option<String>,
    pub template_name: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub error_category: ErrorCategory,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub status_changed_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub read_at: Option<DateTime<Utc>>,
    pub failed_at: Option<DateTime<Utc>>,
    /// Should have had news by now (`domain::stuck`): derived when read, never stored.
    pub stuck: bool,
    pub category: MessageCategory,
}

/// A message to record, as a caller sent it (empty text = absent).
#[derive(Debug, Clone, Default)]
pub struct MessageDraft {
    pub hotel_id: String,
    pub external_id: String,
    pub phone_region: String,
    pub campaign_id: String,
    pub campaign_name: String,
    pub channel: Option<Channel>,
    pub recipient_phone: String,
    pub recipient_email: String,
    pub guest_name: String,
    pub pms_guest_id: String,
    pub pms_reservation_id: String,
    pub check_in_date: String,
    pub check_out_date: String,
    pub status: Option<MessageStatus>,
    pub scheduled_at: Option<DateTime<Utc>>,
    pub provider: String,
    pub provider_message_id: String,
    pub template_name: String,
    pub error_code: String,
    pub error_message: String,
    pub category: MessageCategory,
}

/// A validated message, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    pub hotel_id: String,
    pub external_id: String,
    pub phone_region: Option<String>,
    pub campaign_id: Option<String>,
    pub campaign_name: Option<String>,
    pub channel: Channel,
    pub recipient_phone: Option<String>,
    pub phone_valid: bool,
    pub recipient_email: Option<String>,
    pub email_normalized: Option<String>,
    pub guest_name: Option<String>,
    pub pms_guest_id: Option<String>,
    pub pms_reservation_id: Option<String>,
    pub check_in_date: Option<NaiveDate>,
    pub check_out_date: Option<NaiveDate>,
    pub status: MessageStatus,
    pub scheduled_at: Option<DateTime<Utc>>,
    pub provider: Option<String>,
    pub provider_message_id: Option<String>,
    pub template_name: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub error_category: ErrorCategory,
    pub category: MessageCategory,
}

/// Longest text accepted in any single field: generous for names, bounded for storage.
pub const MAX_FIELD_LEN: usize = 1000;

/// Checks a draft and normalises its phone and email. Errors name the field.
pub fn validate(draft: MessageDraft, regions: &RegionMap) -> Result<NewMessage, FieldError> {
    let hotel_id = required("hotel_id", &draft.hotel_id)?;
    let external_id = required("external_id", &draft.external_id)?;
    let channel = draft
        .channel
        .ok_or_else(|| FieldError::new("channel", "is required (WHATSAPP, SMS or EMAIL)"))?;
    let phone_region = optional("phone_region", &draft.phone_region)?;
    let region = match &phone_region {
        Some(code) => phone::parse_region(code).ok_or_else(|| {
            FieldError::new(
                "phone_region",
                format!("{code:?} is not an ISO 3166 region code such as FR or GB"),
            )
        })?,
        None => regions.for_hotel(&hotel_id),
    };

    let raw_phone = optional("recipient_phone", &draft.recipient_phone)?;
    let raw_email = optional("recipient_email", &draft.recipient_email)?;
    if channel.uses_phone() && raw_phone.is_none() {
        return Err(FieldError::new(
            "recipient_phone",
            format!("is required for a {} message", channel.name()),
        ));
    }
    if channel == Channel::Email && raw_email.is_none() {
        return Err(FieldError::new(
            "recipient_email",
            "is required for an EMAIL message",
        ));
    }
    let (recipient_phone, phone_valid) = match raw_phone {
        Some(p) => {
            let n = phone::normalize(&p, region);
            (Some(n.stored), n.valid)
        }
        None => (None, false),
    };
    let email_normalized = raw_email.as_deref().map(email::normalize);

    let check_in_date = optional_date("check_in_date", &draft.check_in_date)?;
    let check_out_date = optional_date("check_out_date", &draft.check_out_date)?;
    if let (Some(i), Some(o)) = (check_in_date, check_out_date)
        && o < i
    {
        return Err(FieldError::new(
            "check_out_date",
            format!("{o} is before check_in_date {i}"),
        ));
    }

    let status = draft.status.unwrap_or(MessageStatus::Pending);
    if !channel.accepts(status) {
        return Err(FieldError::new(
            "status",
            "READ exists only for WHATSAPP messages",
        ));
    }
    let provider = optional("provider", &draft.provider)?.map(|p| p.to_lowercase());
    let error_code = optional("error_code", &draft.error_code)?;
    let error_category = categorize(provider.as_deref(), error_code.as_deref());

    Ok(NewMessage {
        hotel_id,
        external_id,
        phone_region: phone_region.map(|r| r.to_ascii_uppercase()),
        campaign_id: optional("campaign_id", &draft.campaign_id)?,
        campaign_name: optional("campaign_name", &draft.campaign_name)?,
        channel,
        recipient_phone,
        phone_valid,
        recipient_email: raw_email,
        email_normalized,
        guest_name: optional("guest_name", &draft.guest_name)?,
        pms_guest_id: optional("pms_guest_id", &draft.pms_guest_id)?,
        pms_reservation_id: optional("pms_reservation_id", &draft.pms_reservation_id)?,
        check_in_date,
        check_out_date,
        status,
        scheduled_at: draft.scheduled_at,
        provider,
        provider_message_id: optional("provider_message_id", &draft.provider_message_id)?,
        template_name: optional("template_name", &draft.template_name)?,
        error_code,
        error_message: optional("error_message", &draft.error_message)?,
        error_category,
        category: draft.category,
    })
}

/// A required text field, trimmed.
pub fn required(field: &str, value: &str) -> Result<String, FieldError> {
    optional(field, value)?.ok_or_else(|| FieldError::new(field, "is required"))
}

/// An optional text field: trimmed, empty means absent, bounded in length.
pub fn optional(field: &str, value: &str) -> Result<Option<String>, FieldError> {
    let v = value.trim();
    if v.len() > MAX_FIELD_LEN {
        return Err(FieldError::new(
            field,
            format!("is {} bytes long; the limit is {MAX_FIELD_LEN}", v.len()),
        ));
    }
    if v.chars().any(|c| c == '\0') {
        return Err(FieldError::new(field, "contains a NUL character"));
    }
    Ok((!v.is_empty()).then(|| v.to_string()))
}

/// The years a date or a timestamp may fall in, the same for both: anything outside
/// is a typo (`0000-01-01`) that would sort before every real stay.
pub const YEARS: std::ops::RangeInclusive<i32> = 1970..=9999;

/// A calendar date written `YYYY-MM-DD`, within `YEARS`; empty means absent.
pub fn optional_date(field: &str, value: &str) -> Result<Option<NaiveDate>, FieldError> {
    let v = value.trim();
    if v.is_empty() {
        return Ok(None);
    }
    let well_formed = v.len() == 10 && v.as_bytes()[4] == b'-' && v.as_bytes()[7] == b'-';
    match NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        Ok(d) if well_formed && YEARS.contains(&chrono::Datelike::year(&d)) => Ok(Some(d)),
        Ok(_) if well_formed => Err(FieldError::new(
            field,
            format!("{v:?} is outside years {}..{}", YEARS.start(), YEARS.end()),
        )),
        _ => Err(FieldError::new(
            field,
            format!("{v:?} is not a date written YYYY-MM-DD"),
        )),
    }
}

/// A message that is new (`previous` None) or whose status changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedMessage {
    pub message_id: String,
    pub previous: Option<MessageStatus>,
}

/// What recording one message did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub message_id: String,
    pub created: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> MessageDraft {
        MessageDraft {
            hotel_id: "h1".into(),
            external_id: "e1".into(),
            channel: Some(Channel::Sms),
            recipient_phone: "06 12 34 56 78".into(),
            ..Default::default()
        }
    }

    #[test]
    fn dates_take_the_years_timestamps_take() {
        for bad in ["0000-01-01", "1969-12-31", "0001-01-01"] {
            let e = optional_date("check_in_date", bad).unwrap_err();
            assert_eq!(e.field, "check_in_date");
            assert!(e.to_string().contains("1970..9999"), "{e}");
        }
        for ok in ["1970-01-01", "2026-12-24", "9999-12-31"] {
            assert!(
                optional_date("check_in_date", ok).unwrap().is_some(),
                "{ok}"
            );
        }
        assert!(optional_date("check_in_date", "24/12/2026").is_err());
    }

    #[test]
    fn normalizes_phone_in_hotel_region() {
        let mut regions = RegionMap::default();
        regions
            .by_hotel
            .insert("h1".into(), phone::parse_region("ES").unwrap());
        let mut d = draft();
        d.recipient_phone = "612 34 56 78".into();
        let m = validate(d, &regions).unwrap();
        assert_eq!(m.recipient_phone.as_deref(), Some("+34612345678"));
        assert!(m.phone_valid);
    }

    #[test]
    fn request_region_beats_hotel_region() {
        let mut d = draft();
        d.phone_region = "gb".into();
        d.recipient_phone = "07911 123456".into();
        let m = validate(d, &RegionMap::default()).unwrap();
        assert_eq!(m.recipient_phone.as_deref(), Some("+447911123456"));
        assert_eq!(m.phone_region.as_deref(), Some("GB"));
    }

    #[test]
    fn errors_name_the_field() {
        type Mutation = fn(&mut MessageDraft);
        let cases: Vec<(Mutation, &str)> = vec![
            (|d| d.hotel_id.clear(), "hotel_id"),
            (|d| d.external_id = "  ".into(), "external_id"),
            (|d| d.channel = None, "channel"),
            (|d| d.recipient_phone.clear(), "recipient_phone"),
            (|d| d.channel = Some(Channel::Email), "recipient_email"),
            (|d| d.check_in_date = "2024-13-01".into(), "check_in_date"),
            (|d| d.check_out_date = "1/2/2024".into(), "check_out_date"),
            (|d| d.phone_region = "XX".into(), "phone_region"),
            (|d| d.status = Some(MessageStatus::Read), "status"),
            (|d| d.guest_name = "x".repeat(2000), "guest_name"),
            (
                |d| {
                    d.check_in_date = "2024-05-10".into();
                    d.check_out_date = "2024-05-09".into();
                },
                "check_out_date",
            ),
        ];
        for (mutate, field) in cases {
            let mut d = draft();
            mutate(&mut d);
            let err = validate(d, &RegionMap::default()).unwrap_err();
            assert_eq!(err.field, field, "{err}");
        }
    }

    #[test]
    fn unparseable_phone_is_kept() {
        let mut d = draft();
        d.recipient_phone = "call reception".into();
        let m = validate(d, &RegionMap::default()).unwrap();
        assert_eq!(m.recipient_phone.as_deref(), Some("call reception"));
        assert!(!m.phone_valid);
    }

    #[test]
    fn codes_round_trip() {
        for s in MessageStatus::ALL {
            assert_eq!(MessageStatus::from_code(s.code()), Some(s));
        }
        for c in Channel::ALL {
            assert_eq!(Channel::from_code(c.code()), Some(c));
        }
        assert_eq!(MessageStatus::from_code(0), None);
    }
}
