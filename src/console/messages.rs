//! The "sent messages" page (filters, counts per status, newest first with keyset
//! pages), one message with its status history, and the CSV download of a filter.
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;

use super::form::{MessageFilterForm, Pairs};
use super::layout::{self, Section, date, opt_time, phone_for, time};
use super::visitor::Visitor;
use super::{Console, PageError};
use crate::domain::access::{Action, HotelScope};
use crate::domain::error_category::ErrorCategory;
use crate::domain::filter::Counts;
use crate::domain::message::{Channel, Message, MessageStatus};
use crate::service::messages as service;

const PAGE_SIZE: i32 = 50;

pub async fn list_page(
    State(console): State<Arc<Console>>,
    visitor: Visitor,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    visitor.require(Action::ReadMessages)?;
    let form = MessageFilterForm::read(&Pairs::parse(query.as_deref().unwrap_or("")));
    let app = &console.app;
    let found = async {
        let q = service::query(app, &visitor.caller, form.draft()?)?;
        let (counts, page) = tokio::join!(
            service::count(app, q.clone()),
            service::list(app, q, PAGE_SIZE, &form.page)
        );
        Ok::<_, crate::service::ServiceError>((counts?, page?))
    }
    .await;
    let sender_setup = sender_setup_banner(app, &visitor).await;
    let (status, body) = match found {
        Ok((counts, (rows, next))) => (
            StatusCode::OK,
            html! {
                (sender_setup)
                (list_body(&visitor, &form, None, &counts, &rows, &next))
            },
        ),
        Err(e) => {
            let e = PageError::from(e);
            if !matches!(e, PageError::Invalid(_) | PageError::Forbidden(_)) {
                return Err(e);
            }
            (
                e.status(),
                list_body(
                    &visitor,
                    &form,
                    Some(&e.message()),
                    &Counts::default(),
                    &[],
                    "",
                ),
            )
        }
    };
    Ok(visitor.page(
        status,
        layout::page(&visitor, "Sent messages", Section::Messages, body),
    ))
}

fn filters(visitor: &Visitor, form: &MessageFilterForm) -> Markup {
    let several_hotels = match &visitor.caller.hotels {
        HotelScope::All => None,
        HotelScope::Only(set) if set.len() > 1 => Some(set.iter().cloned().collect::<Vec<_>>()),
        HotelScope::Only(_) => Some(Vec::new()),
    };
    html! {
        form.filters method="get" action="/messages" {
            // Filters the banner links to, kept while the others change.
            @for c in &form.error_categories {
                label { "Error " input type="text" name="error_category" value=(c) size="14"; }
            }
            @if !form.since.is_empty() {
                label { "Recorded since " input type="date" name="since" value=(form.since); }
            }
            @match several_hotels {
                None => label { "Hotel " input type="text" name="hotel" value=(form.hotels.first().map(String::as_str).unwrap_or("")) size="8" placeholder="all"; }
                Some(hotels) if !hotels.is_empty() => fieldset {
                    legend { "Hotels" }
                    @for h in &hotels {
                        label { input type="checkbox" name="hotel" value=(h) checked[form.has(&form.hotels, h)]; " " (h) } " "
                    }
                }
                Some(_) => {}
            }
            label { "Phone number " input type="search" name="phone" value=(form.phone) placeholder="06 12 34 56 78" size="16"; }
            label { "Campaign " input type="search" name="campaign" value=(form.campaign) size="14"; }
            fieldset {
                legend { "Check-in" }
                input type="date" name="check_in_from" value=(form.check_in_from) aria-label="check-in from";
                " – "
                input type="date" name="check_in_to" value=(form.check_in_to) aria-label="check-in to";
            }
            fieldset {
                legend { "Check-out" }
                input type="date" name="check_out_from" value=(form.check_out_from) aria-label="check-out from";
                " – "
                input type="date" name="check_out_to" value=(form.check_out_to) aria-label="check-out to";
            }
            fieldset {
                legend { "Channel" }
                @for c in Channel::ALL {
                    label { input type="checkbox" name="channel" value=(c.name()) checked[form.has(&form.channels, c.name())]; " " (Channel::label(c)) } " "
                }
            }
            fieldset {
                legend { "Status" }
                @for s in MessageStatus::ALL {
                    label { input type="checkbox" name="status" value=(s.name()) checked[form.has(&form.statuses, s.name())]; " " (s.labels().0) } " "
                }
            }
            label title="No news for longer than the channel allows (SMS 6 h, WhatsApp and email 24 h by default)" {
                input type="checkbox" name="stuck" value="1" checked[form.stuck]; " Stuck only"
            }
            button type="submit" { "Filter" }
            a href="/messages" { "Reset" }
        }
    }
}

/// Days back the sender-setup banner looks.
const SENDER_SETUP_DAYS: i64 = 7;

/// "N messages failed because of the sender's setup since …": failures a CSM cannot
/// fix and the hub must (an account, a template, a sender number), linking to them.
/// Nothing when there are none, or when the count is unavailable (the page still works).
async fn sender_setup_banner(app: &crate::service::AppState, visitor: &Visitor) -> Markup {
    let since = (chrono::Utc::now() - chrono::Duration::days(SENDER_SETUP_DAYS)).date_naive();
    let form = MessageFilterForm {
        error_categories: vec![ErrorCategory::SenderSetup.name().to_string()],
        since: since.to_string(),
        ..MessageFilterForm::default()
    };
    let counted = async {
        let q = service::query(app, &visitor.caller, form.draft()?)?;
        service::count(app, q).await
    }
    .await;
    match counted {
        Ok(c) if c.total > 0 => html! {
            p.error role="status" {
                a href={"/messages?" (form.query_string())} {
                    (c.total) " messages failed because of the sender's setup since " (since)
                }
                " — the account, a template or the sender number: fixed on the hub's side, not by a CSM."
            }
        },
        _ => html! {},
    }
}

fn list_body(
    visitor: &Visitor,
    form: &MessageFilterForm,
    error: Option<&str>,
    counts: &Counts,
    rows: &[Message],
    next: &str,
) -> Markup {
    let filter = form.query_string();
    let many_hotels = match &visitor.caller.hotels {
        HotelScope::All => true,
        HotelScope::Only(set) => set.len() > 1,
    };
    let stuck_only = {
        let mut f = form.clone();
        f.stuck = true;
        format!("/messages?{}", f.query_string())
    };
    let with_status = |s: MessageStatus| {
        let mut f = form.clone();
        f.statuses = vec![s.name().to_string()];
        format!("/messages?{}", f.query_string())
    };
    html! {
        h1 { "Messages envoyés " small.hint { "· Sent messages" } }
        (filters(visitor, form))
        @if let Some(e) = error { p.error role="alert" { (e) } }
        div.counts aria-label="Counts per status" {
            span { strong { (counts.total) } " messages" }
            @for (s, n) in &counts.by_status {
                a href=(with_status(*s)) { (layout::status(*s)) " " strong { (n) } }
            }
            a.stuck href=(stuck_only) title="no news for longer than the channel allows" { "Bloqué · Stuck " strong { (counts.stuck) } }
        }
        @if visitor.caller.may(Action::ExportMessages) && error.is_none() {
            p { a href={"/messages.csv?" (filter)} download { "Download CSV" } span.hint { " — every message of this filter" } }
        }
        @if rows.is_empty() && error.is_none() {
            p.hint { "No message matches this filter." }
        } @else if !rows.is_empty() {
            table {
                thead { tr {
                    th { "Date (UTC)" } @if many_hotels { th { "Hotel" } } th { "Status" } th { "Channel" } th { "Recipient" } th { "Guest" }
                    th { "Campaign" } th { "Check-in" } th { "Check-out" } th { "Provider error" }
                } }
                tbody {
                    @for m in rows {
                        tr {
                            td.t { a href={"/messages/" (m.id)} { (time(m.created_at)) } }
                            @if many_hotels { td { (m.hotel_id) } }
                            td { (layout::status(m.status)) @if m.stuck { " " small.stuck { "stuck" } } }
                            td { (Channel::label(m.channel)) }
                            td.recipient {
                                @match m.channel {
                                    Channel::Email => (m.recipient_email.as_deref().unwrap_or("")),
                                    _ => (phone_for(visitor, m.recipient_phone.as_deref())),
                                }
                                @if !m.phone_valid && m.channel != Channel::Email { " " small.hint { "(not a valid number)" } }
                            }
                            td { (m.guest_name.as_deref().unwrap_or("")) }
                            td {
                                @match (&m.campaign_id, &m.campaign_name) {
                                    (Some(id), name) => a href={"/campaigns/" (urlencode(&m.hotel_id)) "/" (urlencode(id))} { (name.as_deref().unwrap_or(id)) },
                                    (None, name) => (name.as_deref().unwrap_or("")),
                                }
                            }
                            td { (date(m.check_in_date)) }
                            td { (date(m.check_out_date)) }
                            td { (error_text(m)) }
                        }
                    }
                }
            }
        }
        div.pager {
            @if !form.page.is_empty() { a href={"/messages?" (filter)} { "« First page" } }
            @if !next.is_empty() {
                a href={"/messages?" (filter) (if filter.is_empty() { "" } else { "&" }) "page=" (urlencode(next))} rel="next" { "Next page »" }
            }
        }
    }
}

fn error_text(m: &Message) -> String {
    match (&m.error_code, &m.error_message) {
        (None, None) => String::new(),
        (code, message) => {
            let category = m.error_category.name();
            let text = [code.as_deref(), message.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            format!("{text} ({category})")
        }
    }
}

pub fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub async fn detail_page(
    State(console): State<Arc<Console>>,
    visitor: Visitor,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    visitor.require(Action::ReadMessages)?;
    let app = &console.app;
    let m = service::get(app, &visitor.caller, &id).await?;
    let history = service::history(app, &visitor.caller, &id).await?;
    let body = html! {
        p { a href="/messages" { "« Sent messages" } }
        h1 { "Message " (layout::status(m.status)) }
        dl.fields {
            dt { "Hotel" } dd { (m.hotel_id) }
            dt { "Channel" } dd { (Channel::label(m.channel)) }
            @if let Some(p) = &m.recipient_phone {
                dt { "Phone" } dd { (phone_for(&visitor, Some(p))) @if !m.phone_valid { " (not a valid number)" } }
            }
            @if let Some(e) = &m.recipient_email { dt { "Email" } dd { (e) } }
            dt { "Guest" } dd { (m.guest_name.as_deref().unwrap_or("")) }
            dt { "Campaign" } dd { (m.campaign_name.as_deref().unwrap_or("")) }
            dt { "Check-in / check-out" } dd { (date(m.check_in_date)) " → " (date(m.check_out_date)) }
            dt { "Recorded (UTC)" } dd { (time(m.created_at)) }
            dt { "Status since (UTC)" } dd { (time(m.status_changed_at)) @if m.stuck { " — stuck: no news for longer than this channel allows" } }
            dt { "Provider" } dd { (m.provider.as_deref().unwrap_or("")) " " (m.provider_message_id.as_deref().unwrap_or("")) }
            dt { "Provider error" } dd { (error_text(&m)) }
            dt { "Reservation" } dd { (m.pms_reservation_id.as_deref().unwrap_or("")) }
            dt { "Id" } dd { code { (m.id) } }
        }
        h2 { "Status history" }
        @if history.is_empty() {
            p.hint { "No provider event has been received for this message." }
        } @else {
            table {
                thead { tr { th { "Happened (UTC)" } th { "Status" } th { "Received (UTC)" } th { "Outcome" } th { "Error" } } }
                tbody {
                    @for e in &history {
                        tr {
                            td { (time(e.occurred_at)) }
                            td { (layout::status(e.status)) }
                            td { (time(e.received_at)) }
                            td { (format!("{:?}", e.outcome).to_lowercase()) }
                            td {
                                (e.error_code.as_deref().unwrap_or("")) " " (e.error_message.as_deref().unwrap_or(""))
                            }
                        }
                    }
                }
            }
            p.hint { "The current status is the highest-ranked event, whatever order the provider sent them in; stale and duplicate events are kept for the record." }
        }
        dl.fields {
            dt { "Sent (UTC)" } dd { (opt_time(m.sent_at)) }
            dt { "Delivered" } dd { (opt_time(m.delivered_at)) }
            dt { "Read" } dd { (opt_time(m.read_at)) }
            dt { "Failed" } dd { (opt_time(m.failed_at)) }
        }
    };
    Ok(visitor.page(
        StatusCode::OK,
        layout::page(&visitor, "Message", Section::Messages, body),
    ))
}

/// Streams every message of the filter as CSV (the `sentlog export` columns).
pub async fn csv(
    State(console): State<Arc<Console>>,
    visitor: Visitor,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    visitor.require(Action::ExportMessages)?;
    let form = MessageFilterForm::read(&Pairs::parse(query.as_deref().unwrap_or("")));
    let draft = form
        .draft()
        .map_err(|e| PageError::Invalid(e.to_string()))?;
    let q = service::query(&console.app, &visitor.caller, draft)?;
    // The same masking as the page: agents never get a whole phone, on screen or in a file.
    let whole_phones = visitor.shows_whole_phones();
    let rows = ReceiverStream::new(service::export(console.app.clone(), &visitor.caller, q)?).map(
        move |r| {
            r.map(|mut m| {
                if !whole_phones {
                    m.recipient_phone =
                        m.recipient_phone.as_deref().map(crate::domain::phone::mask);
                }
                csv_line(&crate::service::csv::record(&m))
            })
            .map_err(|e| std::io::Error::other(PageError::from(e).message()))
        },
    );
    let header = tokio_stream::once(Ok(csv_line(&crate::service::csv::HEADER)));
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"sentlog-messages.csv\"",
            ),
        ],
        Body::from_stream(header.chain(rows)),
    )
        .into_response())
}

fn csv_line<S: AsRef<[u8]>>(fields: &[S]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    // Writing to memory cannot fail.
    let _ = w.write_record(fields);
    w.into_inner().unwrap_or_default()
}
