//! The CSM flag queue: one row per guest stay, most urgent first (priority, then
//! arrival), with what was tried and whether the guest was reached, the number used
//! beside the PMS's, the workflow buttons (acknowledge, resolve, dismiss, with a note
//! and a corrected phone), and "run reconciliation now".
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};

use super::form::{FlagFilterForm, Pairs};
use super::layout::{self, Section, phone_for, time};
use super::messages::urlencode;
use super::visitor::{Visitor, safe_next};
use super::{Console, PageError};
use crate::domain::access::Action;
use crate::domain::flag::{self, Flag, FlagChange, FlagPriority, FlagReason, FlagState};
use crate::domain::message::optional;
use crate::domain::notice::Notice;
use crate::service::flags as service;

const PAGE_SIZE: i32 = 50;

/// What each workflow button asks for.
const MOVES: [(FlagState, &str); 3] = [
    (FlagState::Acknowledged, "Acknowledge"),
    (FlagState::Resolved, "Resolve"),
    (FlagState::Dismissed, "Dismiss"),
];

pub async fn queue_page(
    State(console): State<Arc<Console>>,
    visitor: Visitor,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    visitor.require(Action::ReadFlags)?;
    let q = Pairs::parse(query.as_deref().unwrap_or(""));
    let form = FlagFilterForm::read(&q);
    let found = async {
        let query = service::query(&visitor.caller, form.draft()?)?;
        service::list(&console.app, query, PAGE_SIZE, &form.page).await
    }
    .await;
    let (found, error, status) = PageError::shown_in_page(found)?;
    let (rows, next) = found.unwrap_or_default();
    let here = format!("/flags?{}", form.query_string());
    let body = html! {
        h1 { "Flag queue " small.hint { "· one row per guest stay, most urgent first" } }
        @if let Some(notice) = Notice::decode(q.get("done"), &console.app.page_tokens, &visitor.session) {
            p.ok role="status" { (notice.text()) }
        }
        (filters(&form))
        @if visitor.caller.may(Action::RunReconciliation) {
            form method="post" action="/reconcile" {
                input type="hidden" name="csrf" value=(visitor.csrf);
                input type="hidden" name="return" value=(here);
                button type="submit" { "Run reconciliation now" }
            }
        }
        @if let Some(e) = &error { p.error role="alert" { (e.message()) } }
        @if rows.is_empty() && error.is_none() {
            p.hint { "No flag to work on with this filter." }
        } @else if !rows.is_empty() {
            table.queue {
                thead { tr {
                    th { "Priority" } th { "Guest · arrival" } th { "Why" } th { "Tried" }
                    th { "Reached" } th { "Number used → PMS" } th { "State" } th { "Work it" }
                } }
                tbody {
                    @for f in &rows { (row(&visitor, f, &here)) }
                }
            }
        }
        div.pager {
            @if !form.page.is_empty() { a href=(here) { "« First page" } }
            @if !next.is_empty() { a href={(here) "&page=" (urlencode(&next))} rel="next" { "Next page »" } }
        }
    };
    Ok(visitor.page(
        status,
        layout::page(&visitor, "Flag queue", Section::Flags, body),
    ))
}

fn filters(form: &FlagFilterForm) -> Markup {
    let has = |list: &[String], v: &str| list.iter().any(|x| x.eq_ignore_ascii_case(v));
    html! {
        form.filters method="get" action="/flags" {
            fieldset {
                legend { "State (none: open and acknowledged)" }
                @for s in FlagState::ALL {
                    label { input type="checkbox" name="state" value=(s.name()) checked[has(&form.states, s.name())]; " " (s.name().to_lowercase()) } " "
                }
            }
            fieldset {
                legend { "Priority" }
                @for p in FlagPriority::ALL {
                    label { input type="checkbox" name="priority" value=(p.name()) checked[has(&form.priorities, p.name())]; " " (p.name().to_lowercase()) } " "
                }
            }
            fieldset {
                legend { "Reason" }
                @for r in FlagReason::ALL {
                    label { input type="checkbox" name="reason" value=(r.name()) checked[has(&form.reasons, r.name())]; " " (reason_label(r)) } " "
                }
            }
            label { "Campaign " input type="search" name="campaign" value=(form.campaign) size="14"; }
            button type="submit" { "Filter" }
            a href="/flags" { "Reset" }
        }
    }
}

fn reason_label(r: FlagReason) -> String {
    r.name().replace('_', " ").to_lowercase()
}

fn row(visitor: &Visitor, f: &Flag, here: &str) -> Markup {
    let moves: Vec<_> = MOVES
        .iter()
        .filter(|(to, _)| *to != f.state && flag::check_move(f.state, Some(*to)).is_ok())
        .collect();
    let channels: Vec<&str> = f.channels_tried.iter().map(|c| c.label()).collect();
    html! {
        tr id={"flag-" (f.id)} class={"priority-" (f.priority.name().to_lowercase())} {
            td { strong.priority { (f.priority.name().to_lowercase()) } br; small.hint { "raised " (time(f.created_at)) } }
            td {
                strong { (f.guest_name.as_deref().unwrap_or("(no name)")) } br;
                @match (f.check_in_date, f.check_out_date) {
                    (Some(i), Some(o)) => { (i) " → " (o) }
                    (Some(i), None) => { "arrives " (i) }
                    _ => { small.hint { "no arrival date" } }
                }
                br; small.hint { "stay " (f.stay_key) }
            }
            td.why { strong { (reason_label(f.reason)) } br; small.hint { (f.detail) } }
            td {
                (channels.join(", ")) br;
                (f.attempts) @if f.attempts == 1 { " failure" } @else { " failures" }
                @if let Some(c) = &f.campaign_name { br; small.hint { (c) } }
            }
            td {
                @match (f.reached_at, f.reached_channel) {
                    (Some(at), Some(c)) => { "yes, by " (c.label()) br; small.hint { (time(at)) } }
                    _ => { "not yet" }
                }
            }
            td {
                a href={"/messages/" (f.message_id)} { (phone_for(visitor, f.message_phone.as_deref())) (f.message_email.as_deref().unwrap_or("")) }
                @if f.pms_phone.is_some() || f.pms_email.is_some() {
                    br; "PMS: " (phone_for(visitor, f.pms_phone.as_deref())) (f.pms_email.as_deref().unwrap_or(""))
                }
                @if let Some(s) = &f.suggested_phone { br; small.hint { "try " (phone_for(visitor, Some(s))) } }
            }
            td { (f.state.name().to_lowercase()) @if let Some(n) = &f.note { br; small.hint { "note: " (n) } } }
            td.actions {
                @if visitor.caller.may(Action::UpdateFlag) && !moves.is_empty() {
                    form method="post" action={"/flags/" (f.id)} {
                        input type="hidden" name="csrf" value=(visitor.csrf);
                        input type="hidden" name="return" value=(here);
                        textarea name="note" placeholder="note" aria-label="note" {}
                        @if moves.iter().any(|(to, _)| *to == FlagState::Resolved) {
                            input type="text" name="corrected_phone" placeholder="corrected phone" aria-label="corrected phone" size="14";
                        }
                        @for (to, label) in &moves {
                            button type="submit" name="state" value=(to.name()) { (label) }
                        }
                    }
                }
            }
        }
    }
}

pub async fn update(
    State(console): State<Arc<Console>>,
    visitor: Visitor,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = Pairs::parse_bytes(&body);
    visitor.check_csrf(&form, &console)?;
    visitor.require(Action::UpdateFlag)?;
    let invalid = |e: crate::domain::FieldError| PageError::Invalid(e.to_string());
    let state =
        match form.get("state") {
            "" => None,
            name => Some(FlagState::from_name(name).ok_or_else(|| {
                PageError::Invalid(format!("state: {name:?} is not a flag state"))
            })?),
        };
    let corrected_phone =
        optional("corrected_phone", form.get("corrected_phone")).map_err(invalid)?;
    let change = FlagChange {
        state,
        note: optional("note", form.get("note")).map_err(invalid)?,
        resolution: match (state, &corrected_phone) {
            (Some(FlagState::Resolved), Some(_)) => Some("phone corrected".into()),
            _ => None,
        },
        corrected_phone,
    };
    let updated = service::update(&console.app, &visitor.caller, &id, change).await?;
    let done = Notice::FlagMoved {
        flag_id: updated.id,
        state: updated.state,
    };
    Ok(back_to(&console, &visitor, form.get("return"), &done))
}

pub async fn run_now(
    State(console): State<Arc<Console>>,
    visitor: Visitor,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = Pairs::parse_bytes(&body);
    visitor.check_csrf(&form, &console)?;
    visitor.require(Action::RunReconciliation)?;
    let run = crate::service::runs::run_now(&console.app, &visitor.caller, Vec::new()).await?;
    let done = Notice::PassFinished {
        checked: run.messages_checked,
        raised: run.flags_raised,
        skipped: run.messages_skipped,
        errors: run.errors,
    };
    Ok(back_to(&console, &visitor, form.get("return"), &done))
}

/// Back to the queue the form came from, saying what was done (post/redirect/get)
/// with a notice only this server can issue, for this session.
fn back_to(console: &Console, visitor: &Visitor, ret: &str, done: &Notice) -> Response {
    let ret = match safe_next(ret) {
        r if r.starts_with("/flags") => r,
        _ => "/flags",
    };
    // The queue's own links carry no `done`; one left by an earlier action goes.
    let kept: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(
            Pairs::parse(ret.split_once('?').map_or("", |(_, q)| q))
                .iter()
                .filter(|(k, _)| k != "done"),
        )
        .finish();
    let path = ret.split('?').next().unwrap_or("/flags");
    let done = done.encode(&console.app.page_tokens, &visitor.session);
    let sep = if kept.is_empty() { "" } else { "&" };
    Redirect::to(&format!("{path}?{kept}{sep}done={}", urlencode(&done))).into_response()
}
