//! "Arrivals": the stays arriving in a range of check-in dates (today to today + 3 by
//! default) and whether each guest has been reached, with the counts per reach state
//! on top; clicking a count filters the list (ListArrivals).
use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::response::Response;
use chrono::{Duration, Utc};
use maud::{Markup, html};

use super::form::Pairs;
use super::layout::{self, Section, date, opt_time};
use super::messages::urlencode;
use super::visitor::Visitor;
use super::{Console, PageError};
use crate::domain::access::{Action, HotelScope};
use crate::domain::arrival::{Arrival, Reach};
use crate::domain::names::from_names;
use crate::service::arrivals::{self as service, ArrivalsDraft};

const PAGE_SIZE: i32 = 50;

fn reach_label(r: Reach) -> &'static str {
    match r {
        Reach::Reached => "Reached",
        Reach::InFlight => "On its way",
        Reach::NotReached => "Not reached",
        Reach::NoMessage => "No message",
    }
}

pub async fn page(
    State(console): State<Arc<Console>>,
    visitor: Visitor,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    visitor.require(Action::ReadArrivals)?;
    let q = Pairs::parse(query.as_deref().unwrap_or(""));
    let today = Utc::now().date_naive();
    let or = |v: &str, default: String| match v.trim() {
        "" => default,
        v => v.to_string(),
    };
    let hotel = or(
        q.get("hotel"),
        match &visitor.caller.hotels {
            HotelScope::Only(set) => set.iter().next().cloned().unwrap_or_default(),
            HotelScope::All => String::new(),
        },
    );
    let from = or(q.get("from"), today.to_string());
    let to = or(q.get("to"), (today + Duration::days(3)).to_string());
    let reach_names = q.all("reach");
    let here = |reach: &[&str]| {
        let mut out = form_urlencoded::Serializer::new(String::new());
        out.append_pair("hotel", &hotel)
            .append_pair("from", &from)
            .append_pair("to", &to);
        for r in reach {
            out.append_pair("reach", r);
        }
        format!("/arrivals?{}", out.finish())
    };
    let found = async {
        let reach = from_names(
            "reach",
            &reach_names,
            &Reach::ALL,
            Reach::name,
            Reach::from_name,
        )
        .map_err(crate::service::ServiceError::from)?;
        let draft = ArrivalsDraft {
            hotel_id: hotel.clone(),
            check_in_from: from.clone(),
            check_in_to: to.clone(),
            reach,
        };
        service::list(
            &console.app,
            &visitor.caller,
            draft,
            PAGE_SIZE,
            q.get("page"),
        )
        .await
    }
    .await;
    let (page, error, status) = PageError::shown_in_page(found)?;
    let current: Vec<&str> = reach_names.iter().map(String::as_str).collect();
    let body = html! {
        h1 { "Arrivals " small.hint { "· which arriving guests have been reached" } }
        form.filters method="get" action="/arrivals" {
            label { "Hotel " input type="text" name="hotel" value=(hotel) size="10" required; }
            label { "Check-in from " input type="date" name="from" value=(from); }
            label { "to " input type="date" name="to" value=(to); }
            button type="submit" { "Show" }
        }
        @if let Some(e) = &error { p.error role="alert" { (e.message()) } }
        @if let Some(page) = &page {
            div.counts aria-label="Stays per reach state" {
                a href=(here(&[])) { "All " strong { (page.counts.iter().map(|(_, n)| n).sum::<i64>()) } }
                @for (r, n) in &page.counts {
                    a href=(here(&[r.name()])) class=(if current.contains(&r.name()) { "on" } else { "" }) {
                        (reach_label(*r)) " " strong { (n) }
                    }
                }
            }
            @if page.arrivals.is_empty() {
                p.hint { "No stay arrives in this range with this filter." }
            } @else {
                table {
                    thead { tr {
                        th { "Check-in" } th { "Check-out" } th { "Guest" } th { "Stay" } th { "Reach" }
                        th { "Messages" } th { "Last status" } th { "Stuck" } th { "Flag" }
                    } }
                    tbody {
                        @for a in &page.arrivals { (row(a)) }
                    }
                }
            }
            div.pager {
                @if !q.get("page").is_empty() { a href=(here(&current)) { "« First page" } }
                @if !page.next_page_token.is_empty() {
                    a href={(here(&current)) "&page=" (urlencode(&page.next_page_token))} rel="next" { "Next page »" }
                }
            }
        }
    };
    Ok(visitor.page(
        status,
        layout::page(&visitor, "Arrivals", Section::Arrivals, body),
    ))
}

fn row(a: &Arrival) -> Markup {
    html! {
        tr class={"reach-" (a.reach.name())} {
            td { (a.check_in_date) }
            td { (date(a.check_out_date)) }
            td { (a.guest_name.as_deref().unwrap_or("")) }
            td { code { (a.stay_key) } }
            td {
                strong { (reach_label(a.reach)) }
                @if let (Some(at), Some(c)) = (a.reached_at, a.reached_channel) {
                    br; small.hint { (c.name().to_lowercase()) " · " (opt_time(Some(at))) }
                }
            }
            td { (a.messages) }
            td { @if let Some(s) = a.last_status { (layout::status(s)) } }
            td { @if a.stuck > 0 { (a.stuck) } }
            td { @if let Some(f) = &a.open_flag_id { a href={"/flags#flag-" (f)} { "open flag" } } }
        }
    }
}
