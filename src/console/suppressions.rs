//! "Suppressions", under the flag queue: what sentlog will not forget about a
//! recipient (opt-outs, invalid addresses, corrected numbers, STOPs said at the desk),
//! newest first, with a form to add one and, per active row, one to lift it with a
//! reason (ListSuppressions, AddSuppression, RemoveSuppression).
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};

use super::form::Pairs;
use super::layout::{self, Section, opt_time, time};
use super::messages::urlencode;
use super::visitor::Visitor;
use super::{Console, PageError};
use crate::domain::access::Action;
use crate::domain::notice::Notice;
use crate::domain::suppression::{Reason, Scope, Suppression};
use crate::service::suppressions::{self as service, SuppressionFilterDraft};

const PAGE_SIZE: i32 = 50;

fn reason_from(name: &str) -> Option<Reason> {
    Reason::ALL
        .iter()
        .copied()
        .find(|r| format!("{r:?}").eq_ignore_ascii_case(name.trim()))
}

pub async fn page(
    State(console): State<Arc<Console>>,
    visitor: Visitor,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    visitor.require(Action::ReadSuppressions)?;
    let q = Pairs::parse(query.as_deref().unwrap_or(""));
    let (hotel, address, reason) = (q.get("hotel"), q.get("address"), q.get("reason"));
    let include_lifted = q.get("lifted") == "on";
    let here = {
        let mut out = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [("hotel", hotel), ("address", address), ("reason", reason)] {
            if !v.is_empty() {
                out.append_pair(k, v);
            }
        }
        if include_lifted {
            out.append_pair("lifted", "on");
        }
        format!("/suppressions?{}", out.finish())
    };
    let found = async {
        let reasons = match reason {
            "" => Vec::new(),
            name => vec![reason_from(name).ok_or_else(|| {
                crate::domain::FieldError::new("reason", format!("{name:?} is not a reason"))
            })?],
        };
        let draft = SuppressionFilterDraft {
            hotel_ids: match hotel.trim() {
                "" => Vec::new(),
                h => vec![h.to_string()],
            },
            reasons,
            address: address.to_string(),
            include_lifted,
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
    let (found, error, status) = PageError::shown_in_page(found)?;
    let (rows, next) = found.unwrap_or_default();
    let may_change = visitor.caller.may(Action::UpdateSuppressions);
    let body = html! {
        h1 { "Suppressions " small.hint { "· opt-outs, invalid addresses and corrected numbers, kept after retention and erasure" } }
        @if let Some(notice) = Notice::decode(q.get("done"), &console.app.page_tokens, &visitor.session) {
            p.notice role="status" { (notice.text()) }
        }
        form.filters method="get" action="/suppressions" {
            label { "Hotel " input type="text" name="hotel" value=(hotel) size="10"; }
            label { "Phone or email " input type="text" name="address" value=(address) size="18"; }
            label { "Reason "
                select name="reason" {
                    option value="" { "any" }
                    @for r in Reason::ALL {
                        @let v = format!("{r:?}");
                        option value=(v) selected[v.eq_ignore_ascii_case(reason)] { (r.name()) }
                    }
                }
            }
            label { input type="checkbox" name="lifted" checked[include_lifted]; " lifted too" }
            button type="submit" { "Show" }
        }
        @if let Some(e) = &error { p.error role="alert" { (e.message()) } }
        @if may_change {
            form.filters method="post" action="/suppressions" aria-label="Add a suppression" {
                input type="hidden" name="csrf" value=(visitor.csrf);
                label { "Hotel " input type="text" name="hotel" value=(hotel) size="10" required; }
                label { "Phone or email " input type="text" name="address" size="18" required; }
                label { "Scope "
                    select name="scope" {
                        option value="all" { (Scope::All.name()) }
                        option value="marketing" { (Scope::Marketing.name()) }
                    }
                }
                label { "Note " input type="text" name="note" size="24" placeholder="said STOP at the front desk"; }
                button type="submit" { "Add suppression" }
            }
        }
        @if rows.is_empty() && error.is_none() {
            p.hint { "No suppression matches." }
        } @else if !rows.is_empty() {
            table {
                thead { tr {
                    th { "Since" } th { "Hotel" } th { "Address" } th { "Reason" } th { "Scope" }
                    th { "Why" } th { "By" } th { "Lifted" }
                } }
                tbody {
                    @for s in &rows { (row(s, &visitor, may_change, &here)) }
                }
            }
        }
        div.pager {
            @if !q.get("page").is_empty() { a href=(here) { "« First page" } }
            @if !next.is_empty() {
                a href={(here) "&page=" (urlencode(&next))} rel="next" { "Next page »" }
            }
        }
    };
    Ok(visitor.page(
        status,
        layout::page(&visitor, "Suppressions", Section::Suppressions, body),
    ))
}

fn row(s: &Suppression, visitor: &Visitor, may_change: bool, here: &str) -> Markup {
    html! {
        tr id={"suppression-" (s.id)} {
            td { (time(s.created_at)) }
            td { (s.hotel_id) }
            td {
                @if s.address.is_empty() { em { "erased" } } @else { (s.address) }
                @if let Some(c) = &s.corrected { br; small.hint { "use " (c) } }
            }
            td { (s.reason.name()) }
            td { (s.scope.name()) }
            td { (s.note) }
            td { (s.created_by) }
            td {
                @if s.lifted_at.is_some() {
                    (opt_time(s.lifted_at)) " · " (s.lifted_by.as_deref().unwrap_or(""))
                    br; small.hint { (s.lift_note.as_deref().unwrap_or("")) }
                } @else if may_change {
                    form method="post" action={"/suppressions/" (s.id) "/lift"} {
                        input type="hidden" name="csrf" value=(visitor.csrf);
                        input type="hidden" name="return" value=(here);
                        input type="text" name="note" size="16" required placeholder="why (opted in again…)";
                        button type="submit" { "Lift" }
                    }
                }
            }
        }
    }
}

fn back(console: &Console, visitor: &Visitor, ret: &str, done: &Notice) -> Response {
    let path = match super::visitor::safe_next(ret) {
        r if r.starts_with("/suppressions") => r.to_string(),
        _ => "/suppressions?".to_string(),
    };
    let sep = if path.ends_with('?') { "" } else { "&" };
    let done = done.encode(&console.app.page_tokens, &visitor.session);
    Redirect::to(&format!("{path}{sep}done={}", urlencode(&done))).into_response()
}

pub async fn add(
    State(console): State<Arc<Console>>,
    visitor: Visitor,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = Pairs::parse_bytes(&body);
    visitor.check_csrf(&form, &console)?;
    visitor.require(Action::UpdateSuppressions)?;
    let scope = match form.get("scope") {
        "" | "all" => Scope::All,
        "marketing" => Scope::Marketing,
        other => {
            return Err(PageError::Invalid(format!(
                "scope: {other:?} is not all or marketing"
            )));
        }
    };
    let added = service::add(
        &console.app,
        &visitor.caller,
        form.get("hotel"),
        form.get("address"),
        Some(scope),
        form.get("note"),
    )
    .await?;
    let ret = format!("/suppressions?hotel={}", urlencode(&added.hotel_id));
    Ok(back(
        &console,
        &visitor,
        &ret,
        &Notice::Suppression {
            id: added.id,
            lifted: false,
        },
    ))
}

pub async fn lift(
    State(console): State<Arc<Console>>,
    visitor: Visitor,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = Pairs::parse_bytes(&body);
    visitor.check_csrf(&form, &console)?;
    visitor.require(Action::UpdateSuppressions)?;
    let lifted = service::remove(&console.app, &visitor.caller, &id, form.get("note")).await?;
    Ok(back(
        &console,
        &visitor,
        form.get("return"),
        &Notice::Suppression {
            id: lifted.id,
            lifted: true,
        },
    ))
}
