//! A campaign's delivery funnel (GetCampaignStats) as a bar chart drawn by the server.
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};

use super::layout::{self, Section};
use super::visitor::Visitor;
use super::{Console, PageError};
use crate::domain::access::Action;
use crate::domain::campaign::Funnel;
use crate::service::messages as service;

pub async fn page(
    State(console): State<Arc<Console>>,
    visitor: Visitor,
    Path((hotel_id, campaign_id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    visitor.require(Action::ReadMessages)?;
    let stats = service::campaign_stats(
        &console.app,
        &visitor.caller,
        &hotel_id,
        &campaign_id,
        None,
        None,
    )
    .await?;
    let f = &stats.funnel;
    let name = stats.campaign_name.as_deref().unwrap_or(&stats.campaign_id);
    let body = html! {
        p { a href="/messages" { "« Sent messages" } }
        h1 { "Campaign " (name) " " small.hint { "· hotel " (stats.hotel_id) } }
        p {
            "Delivery rate " strong { (percent(f.delivery_rate)) }
            " · read rate " strong { (percent(f.read_rate)) }
            " · " (f.total) " messages in all"
        }
        (funnel_chart(f))
        p.hint { "Sent counts every message that reached the provider (sent, delivered, read, undelivered or failed); delivered includes read. Rates: delivered over sent, read over delivered." }
    };
    Ok(visitor.page(
        StatusCode::OK,
        layout::page(&visitor, "Campaign", Section::Messages, body),
    ))
}

fn percent(rate: f64) -> String {
    format!("{:.1} %", rate * 100.0)
}

/// The funnel's bars, scaled to the largest; numbers written beside each bar.
pub fn funnel_chart(f: &Funnel) -> Markup {
    let bars = [
        ("Envoyé · Sent", f.sent_or_later, "#1d4ed8"),
        ("Livré · Delivered", f.delivered + f.read, "#1b7a35"),
        ("Lu · Read", f.read, "#15803d"),
        ("Non livré · Undelivered", f.undelivered, "#b45309"),
        ("Échec · Failed", f.failed, "#b42318"),
    ];
    let max = bars.iter().map(|b| b.1).max().unwrap_or(0).max(1) as f64;
    let (label_w, bar_w, row_h) = (190.0, 420.0, 34.0);
    let height = row_h * bars.len() as f64 + 10.0;
    html! {
        svg xmlns="http://www.w3.org/2000/svg" width="720" height=(height) viewBox={"0 0 720 " (height)} role="img" aria-labelledby="funnel-title" {
            title id="funnel-title" { "Campaign funnel: sent, delivered, read, undelivered, failed" }
            @for (i, (label, n, color)) in bars.iter().enumerate() {
                @let y = 5.0 + row_h * i as f64;
                @let w = (*n as f64 / max * bar_w).max(if *n > 0 { 2.0 } else { 0.0 });
                text x="0" y=(y + 21.0) font-size="14" fill="#1d2430" { (label) }
                rect x=(label_w) y=(y + 4.0) width=(format!("{w:.1}")) height="22" rx="3" fill=(color) {}
                text x=(format!("{:.1}", label_w + w + 8.0)) y=(y + 21.0) font-size="14" fill="#1d2430" { (n) }
            }
        }
    }
}
