//! Timestamps and dates between protobuf and chrono.
use chrono::{DateTime, NaiveDate, Utc};
use prost_types::Timestamp;

use crate::domain::FieldError;
use crate::domain::message::YEARS;

pub fn to_proto(t: DateTime<Utc>) -> Timestamp {
    Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

pub fn opt_to_proto(t: Option<DateTime<Utc>>) -> Option<Timestamp> {
    t.map(to_proto)
}

pub fn from_proto(field: &str, t: Option<Timestamp>) -> Result<Option<DateTime<Utc>>, FieldError> {
    let Some(t) = t else { return Ok(None) };
    if !(0..1_000_000_000).contains(&t.nanos) {
        return Err(FieldError::new(field, "nanos must be within 0..1e9"));
    }
    DateTime::from_timestamp(t.seconds, t.nanos as u32)
        .filter(|d| YEARS.contains(&chrono::Datelike::year(d)))
        .map(Some)
        .ok_or_else(|| {
            FieldError::new(
                field,
                format!("is outside years {}..{}", YEARS.start(), YEARS.end()),
            )
        })
}

pub fn date_to_proto(d: Option<NaiveDate>) -> String {
    d.map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}
