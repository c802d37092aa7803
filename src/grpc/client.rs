//! `sentlog export`: a client of a running server's ExportMessages, writing CSV with
//! `service::csv` (the same records as the console's download) and a progress bar.
//! Memory stays flat: one message at a time from the stream.
use std::io::Write;

use indicatif::{ProgressBar, ProgressStyle};
use tonic::Request;
use tonic::metadata::MetadataValue;

use crate::domain::message::Message;
use crate::proto;
use crate::proto::message_service_client::MessageServiceClient;
use crate::service::csv::{HEADER, record};

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
        let m = Message::try_from(m).map_err(|e| anyhow::anyhow!("the server sent {e}"))?;
        csv.write_record(record(&m))?;
        rows += 1;
        bar.inc(1);
    }
    csv.flush()?;
    bar.finish_and_clear();
    Ok(rows)
}
