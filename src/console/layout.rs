//! The page shell (navigation, banners, style) and small renderers the pages share.
use chrono::{DateTime, NaiveDate, Utc};
use maud::{DOCTYPE, Markup, html};

use super::visitor::Visitor;
use crate::domain::access::Action;
use crate::domain::message::MessageStatus;
use crate::domain::phone;

const STYLE: &str = r#"
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1d2430;background:#f6f7f9}
header{background:#1d3557;color:#fff;padding:.6rem 1.2rem;display:flex;gap:1.2rem;align-items:center}
header a{color:#fff;text-decoration:none;font-weight:600}header a.on{text-decoration:underline}
header .who{margin-left:auto;font-size:.9rem;opacity:.9}
header form{display:inline}header button{font-size:.8rem}
main{padding:1rem 1.2rem;max-width:1400px}
h1{font-size:1.35rem;margin:.3rem 0 .8rem}
.banner{background:#fff3cd;border-bottom:1px solid #e0c36a;padding:.4rem 1.2rem;font-size:.9rem}
.error{background:#fde2e1;border:1px solid #e5a4a0;padding:.5rem .8rem;border-radius:4px}
.ok{background:#e3f4e6;border:1px solid #9ccfa6;padding:.5rem .8rem;border-radius:4px}
.hint{color:#5b6472;font-size:.88rem}
form.filters{background:#fff;border:1px solid #dde1e7;border-radius:6px;padding:.7rem .9rem;margin-bottom:.9rem;display:flex;flex-wrap:wrap;gap:.6rem 1.2rem;align-items:flex-end}
form.filters fieldset{border:0;margin:0;padding:0}form.filters legend{font-size:.8rem;color:#5b6472}
label{font-size:.9rem}input,select,textarea,button{font:inherit}
.counts{display:flex;flex-wrap:wrap;gap:.4rem;margin:.3rem 0 .8rem}
.counts a,.counts span{background:#fff;border:1px solid #dde1e7;border-radius:999px;padding:.15rem .6rem;font-size:.85rem;text-decoration:none;color:inherit}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #dde1e7}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #edf0f3;vertical-align:top;font-size:.9rem}
th{background:#eef1f5;font-weight:600}tr:hover td{background:#fafbfd}
.st{white-space:nowrap;font-weight:600}.st small{font-weight:400;color:#5b6472}
.st-DELIVERED,.st-READ{color:#1b7a35}.st-FAILED,.st-UNDELIVERED{color:#b42318}.st-SENT{color:#1d4ed8}
.pager{margin:.8rem 0;display:flex;gap:1rem}
dl.fields{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;background:#fff;border:1px solid #dde1e7;padding:.7rem;border-radius:6px}
dl.fields dt{color:#5b6472}dl.fields dd{margin:0}
.actions form{display:flex;flex-wrap:wrap;gap:.3rem;align-items:center}
.actions textarea{width:9rem;height:2.2rem}
td.t{white-space:nowrap}
.queue td{overflow-wrap:anywhere}.queue td.why{max-width:20rem}.queue td.actions{width:11rem}
.queue .actions textarea{width:10rem}
.priority-urgent td:first-child{border-left:4px solid #b42318}.priority-urgent .priority{color:#b42318}
.priority-low .priority{color:#5b6472}
"#;

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · sentlog" }
            style { (maud::PreEscaped(STYLE)) }
        }
    }
}

/// A page without navigation (sign-in, errors).
pub fn bare(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body { main { (body) } }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Messages,
    Arrivals,
    Flags,
    Suppressions,
}

/// A console page: navigation, who is signed in, the sign-in-off banner.
pub fn page(visitor: &Visitor, title: &str, section: Section, body: Markup) -> Markup {
    let is = |s: Section| if s == section { "on" } else { "" };
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                header {
                    a href="/messages" class=(is(Section::Messages)) { "Messages envoyés · Sent messages" }
                    @if visitor.caller.may(Action::ReadArrivals) {
                        a href="/arrivals" class=(is(Section::Arrivals)) { "Arrivals" }
                    }
                    @if visitor.caller.may(Action::ReadFlags) {
                        a href="/flags" class=(is(Section::Flags)) { "Flag queue" }
                    }
                    @if visitor.caller.may(Action::ReadSuppressions) {
                        a href="/suppressions" class=(is(Section::Suppressions)) { "Suppressions" }
                    }
                    span.who {
                        (visitor.caller.name) " (" (visitor.caller.role.name()) ")"
                        @if !visitor.sign_in_off {
                            " "
                            form method="post" action="/signout" {
                                input type="hidden" name="csrf" value=(visitor.csrf);
                                button type="submit" { "Sign out" }
                            }
                        }
                    }
                }
                @if visitor.sign_in_off {
                    div.banner role="status" {
                        "Sign-in is off: this server has no access tokens, so anyone who can reach it on this machine may do everything. Configure tokens before opening it to others."
                    }
                }
                main { (body) }
            }
        }
    }
}

/// A status in the console's words, English beside.
pub fn status(s: MessageStatus) -> Markup {
    let (fr, en) = s.labels();
    html! { span class={"st st-" (s.name())} { (fr) " " small { "· " (en) } } }
}

pub fn time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

pub fn opt_time(t: Option<DateTime<Utc>>) -> String {
    t.map(time).unwrap_or_default()
}

pub fn date(d: Option<NaiveDate>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

/// A phone as the visitor's role may see it.
pub fn phone_for(visitor: &Visitor, p: Option<&str>) -> String {
    match p {
        Some(p) if visitor.shows_whole_phones() => p.to_string(),
        Some(p) => phone::mask(p),
        None => String::new(),
    }
}
