//! Provider webhooks (API.md "Provider webhooks"): signed posts from Twilio, WhatsApp
//! and SendGrid reach their messages through the same path as UpdateStatuses; what
//! does not verify, or cannot be read, changes nothing.
use std::collections::BTreeMap;

use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use sentlog::config::{
    SendGridAccountSettings, Settings, TwilioAccountSettings, WhatsAppAccountSettings,
    webhooks::Secret,
};
use sentlog::domain::webhook::{sendgrid, twilio, whatsapp};
use sentlog::proto::{self, Channel, EventOutcome, MessageCategory, MessageStatus};

use crate::backend_tests;
use crate::common::*;

backend_tests!(
    every_mapping_row_reaches_its_message,
    refused_requests_apply_nothing,
    early_callbacks_park_within_the_account_hotels,
    provider_retries_are_duplicates,
    concurrent_posts_end_at_the_precedence_winner,
    demo_samples_replay_signed_as_the_providers_sign,
);

const TWILIO_TOKEN: &str = "twilio-auth-token-0123";
const APP_SECRET: &str = "meta-app-secret-0123";
const VERIFY_TOKEN: &str = "my-verify-token";

/// A server with one account per provider, for hotel `h` (and a second Twilio
/// account for hotel `other`), and a SendGrid signing key.
struct Hooks {
    server: TestServer,
    base: String,
    http: reqwest::Client,
    sendgrid_key: EcdsaKeyPair,
}

async fn start(db: TestDb, tune: impl FnOnce(&mut Settings)) -> Hooks {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
    let key =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    let public_key = sendgrid::PublicKey::spki_base64(key.public_key().as_ref());
    let server = TestServer::start_with(db, |s| {
        s.webhook_listen = Some("127.0.0.1:0".into());
        s.webhooks.twilio = vec![
            TwilioAccountSettings {
                account_sid: "AC-hotel-h".into(),
                auth_token: Some(Secret(TWILIO_TOKEN.into())),
                hotels: vec!["h".into()],
            },
            TwilioAccountSettings {
                account_sid: "AC-other".into(),
                auth_token: Some(Secret("another-token-456".into())),
                hotels: vec!["other".into()],
            },
        ];
        s.webhooks.whatsapp = vec![WhatsAppAccountSettings {
            name: "waba-h".into(),
            app_secret: Some(Secret(APP_SECRET.into())),
            verify_token: Some(Secret(VERIFY_TOKEN.into())),
            hotels: vec!["h".into()],
        }];
        s.webhooks.sendgrid = vec![SendGridAccountSettings {
            name: "sg-h".into(),
            public_key: Some(public_key),
            hotels: vec!["h".into()],
        }];
        tune(s);
    })
    .await;
    let addr = server
        .server
        .as_ref()
        .unwrap()
        .webhook_addr
        .expect("webhooks on");
    Hooks {
        server,
        base: format!("http://{addr}"),
        http: reqwest::Client::new(),
        sendgrid_key: key,
    }
}

type Answer = (u16, String);

impl Hooks {
    async fn post(
        &self,
        path: &str,
        content_type: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Answer {
        let mut r = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", content_type)
            .body(body);
        for (k, v) in headers {
            r = r.header(*k, v);
        }
        let r = r.send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// A Twilio callback signed as Twilio signs it (the URL it called, sorted params).
    async fn twilio(&self, params: &[(&str, &str)], token: &str) -> Answer {
        let params: twilio::Params = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let url = format!("{}/webhooks/twilio", self.base);
        let signature = twilio::sign(&url, &params, token);
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params.iter())
            .finish();
        self.post(
            "/webhooks/twilio",
            "application/x-www-form-urlencoded",
            &[("x-twilio-signature", signature)],
            body.into_bytes(),
        )
        .await
    }

    async fn whatsapp(&self, body: String) -> Answer {
        let signature = whatsapp::sign(body.as_bytes(), APP_SECRET);
        self.post(
            "/webhooks/whatsapp",
            "application/json",
            &[("x-hub-signature-256", signature)],
            body.into_bytes(),
        )
        .await
    }

    fn sendgrid_headers(&self, body: &[u8], timestamp: i64) -> Vec<(&'static str, String)> {
        let mut message = timestamp.to_string().into_bytes();
        message.extend_from_slice(body);
        let sig = self
            .sendgrid_key
            .sign(&SystemRandom::new(), &message)
            .unwrap();
        use base64::Engine;
        vec![
            (
                "x-twilio-email-event-webhook-signature",
                base64::engine::general_purpose::STANDARD.encode(sig.as_ref()),
            ),
            (
                "x-twilio-email-event-webhook-timestamp",
                timestamp.to_string(),
            ),
        ]
    }

    async fn sendgrid(&self, body: String) -> Answer {
        let headers = self.sendgrid_headers(body.as_bytes(), chrono::Utc::now().timestamp());
        self.post(
            "/webhooks/sendgrid",
            "application/json",
            &headers,
            body.into_bytes(),
        )
        .await
    }

    async fn message(&self, id: &str) -> proto::Message {
        self.server
            .messages()
            .get_message(proto::GetMessageRequest { id: id.into() })
            .await
            .unwrap()
            .into_inner()
    }

    async fn history(&self, id: &str) -> Vec<proto::StatusEvent> {
        self.server
            .messages()
            .get_message_history(proto::GetMessageHistoryRequest {
                message_id: id.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .events
    }
}

fn outcomes(answer: &Answer) -> BTreeMap<String, usize> {
    assert_eq!(answer.0, 200, "{}", answer.1);
    serde_json::from_str(&answer.1).unwrap()
}

fn sent_by(
    hotel: &str,
    ext: &str,
    channel: Channel,
    provider: &str,
    id: &str,
) -> proto::NewMessage {
    proto::NewMessage {
        channel: channel as i32,
        provider: provider.into(),
        provider_message_id: id.into(),
        status: MessageStatus::Pending as i32,
        recipient_email: if channel == Channel::Email {
            "guest@example.com".into()
        } else {
            String::new()
        },
        ..new_message(hotel, ext, "+33612345678")
    }
}

fn whatsapp_status(id: &str, status: &str, at: i64, extra: &str) -> String {
    format!(
        r#"{{"id":"{id}","status":"{status}","timestamp":"{at}","recipient_id":"33612345678"{extra}}}"#
    )
}

fn whatsapp_body(statuses: &[String]) -> String {
    format!(
        r#"{{"object":"whatsapp_business_account","entry":[{{"id":"102290129340398","changes":[{{"field":"messages","value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"15550783881","phone_number_id":"106540352242922"}},"statuses":[{}]}}}}]}}]}}"#,
        statuses.join(",")
    )
}

fn proto_status(s: sentlog::domain::message::MessageStatus) -> i32 {
    s.code()
}

async fn every_mapping_row_reaches_its_message(db: TestDb) {
    let hooks = start(db, |_| {}).await;
    let now = chrono::Utc::now().timestamp();
    // Twilio: one SMS per row (READ is a WhatsApp-over-Twilio receipt).
    for (name, status) in twilio::STATUSES {
        let sid = format!("SM-{name}");
        let channel = if *name == "read" {
            Channel::Whatsapp
        } else {
            Channel::Sms
        };
        let ids = record(
            &mut hooks.server.messages(),
            vec![sent_by("h", &sid, channel, "twilio", &sid)],
        )
        .await;
        let answer = hooks
            .twilio(
                &[
                    ("AccountSid", "AC-hotel-h"),
                    ("MessageSid", &sid),
                    ("MessageStatus", name),
                    (
                        "ErrorCode",
                        if *name == "undelivered" { "30003" } else { "" },
                    ),
                ],
                TWILIO_TOKEN,
            )
            .await;
        let got = outcomes(&answer);
        let m = hooks.message(&ids[0]).await;
        match status {
            Some(s) if *s == sentlog::domain::message::MessageStatus::Pending => {
                assert_eq!(m.status, MessageStatus::Pending as i32, "{name}");
            }
            Some(s) => {
                assert_eq!(got.get("applied"), Some(&1), "{name}: {got:?}");
                assert_eq!(m.status, proto_status(*s), "{name}");
            }
            None => {
                assert_eq!(got.get("acknowledged"), Some(&1), "{name}: {got:?}");
                assert_eq!(m.status, MessageStatus::Pending as i32, "{name}");
            }
        }
        if *name == "undelivered" {
            assert_eq!(m.error_code, "30003");
            assert_eq!(m.error_category, proto::ErrorCategory::Unreachable as i32);
        }
    }
    // WhatsApp: every status, the error fields, and pricing.category filling an empty
    // category (a category the hub gave is kept).
    for (name, status) in whatsapp::STATUSES {
        let wamid = format!("wamid.{name}");
        let ids = record(
            &mut hooks.server.messages(),
            vec![sent_by(
                "h",
                &wamid,
                Channel::Whatsapp,
                "whatsapp_cloud",
                &wamid,
            )],
        )
        .await;
        let extra = if *name == "failed" {
            r#","errors":[{"code":131026,"title":"Message undeliverable","error_data":{"details":"Unable to deliver"}}],"pricing":{"category":"utility","pricing_model":"PMP"}"#
        } else {
            r#","pricing":{"billable":true,"pricing_model":"PMP","category":"marketing"}"#
        };
        let got = outcomes(
            &hooks
                .whatsapp(whatsapp_body(&[whatsapp_status(&wamid, name, now, extra)]))
                .await,
        );
        assert_eq!(got.get("applied"), Some(&1), "{name}: {got:?}");
        let m = hooks.message(&ids[0]).await;
        assert_eq!(m.status, proto_status(status.unwrap()), "{name}");
        if *name == "failed" {
            assert_eq!(m.error_code, "131026");
            assert_eq!(m.error_category, proto::ErrorCategory::NotOnChannel as i32);
            assert_eq!(m.category, MessageCategory::Utility as i32);
        } else {
            assert_eq!(m.category, MessageCategory::Marketing as i32);
        }
    }
    let given = record(
        &mut hooks.server.messages(),
        vec![proto::NewMessage {
            category: MessageCategory::Utility as i32,
            ..sent_by(
                "h",
                "given",
                Channel::Whatsapp,
                "whatsapp_cloud",
                "wamid.given",
            )
        }],
    )
    .await;
    hooks
        .whatsapp(whatsapp_body(&[whatsapp_status(
            "wamid.given",
            "sent",
            now,
            r#","pricing":{"category":"marketing"}"#,
        )]))
        .await;
    assert_eq!(
        hooks.message(&given[0]).await.category,
        MessageCategory::Utility as i32
    );
    // SendGrid: each event row; the recorded id is the send call's X-Message-Id.
    for (name, status) in sendgrid::EVENTS {
        let x_message_id = format!("sg-{name}");
        let ids = record(
            &mut hooks.server.messages(),
            vec![sent_by(
                "h",
                &x_message_id,
                Channel::Email,
                "sendgrid",
                &x_message_id,
            )],
        )
        .await;
        let body = format!(
            r#"[{{"email":"guest@example.com","timestamp":{now},"event":"{name}","sg_event_id":"ev-{name}","sg_message_id":"{x_message_id}.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0","type":"bounce","bounce_classification":"Invalid Address","reason":"Bounced Address"}}]"#
        );
        let got = outcomes(&hooks.sendgrid(body).await);
        let m = hooks.message(&ids[0]).await;
        match status {
            Some(s) => {
                assert_eq!(m.status, proto_status(*s), "{name}: {got:?}");
            }
            None => {
                assert_eq!(got.get("acknowledged"), Some(&1), "{name}: {got:?}");
                assert_eq!(m.status, MessageStatus::Pending as i32, "{name}");
            }
        }
        match *name {
            "bounce" => assert_eq!(
                m.error_category,
                proto::ErrorCategory::InvalidAddress as i32
            ),
            "dropped" => assert_eq!(m.error_code, "Bounced Address"),
            _ => {}
        }
    }
    // The WhatsApp subscription handshake.
    let url = |token: &str| {
        format!(
            "{}/webhooks/whatsapp?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token={token}",
            hooks.base
        )
    };
    let ok = hooks.http.get(url(VERIFY_TOKEN)).send().await.unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    assert_eq!(ok.text().await.unwrap(), "1158201444");
    let refused = hooks.http.get(url("guess")).send().await.unwrap();
    assert_eq!(refused.status().as_u16(), 403);
    hooks.server.stop().await;
}

async fn refused_requests_apply_nothing(db: TestDb) {
    let hooks = start(db, |_| {}).await;
    let ids = record(
        &mut hooks.server.messages(),
        vec![
            sent_by("h", "t", Channel::Sms, "twilio", "SM-target"),
            sent_by(
                "h",
                "w",
                Channel::Whatsapp,
                "whatsapp_cloud",
                "wamid.target",
            ),
            sent_by("h", "s", Channel::Email, "sendgrid", "sg-target"),
        ],
    )
    .await;
    let failed = [
        ("AccountSid", "AC-hotel-h"),
        ("MessageSid", "SM-target"),
        ("MessageStatus", "failed"),
        ("ErrorCode", "21211"),
    ];
    // Twilio: the wrong token, no signature, a tampered body, an unknown account.
    assert_eq!(hooks.twilio(&failed, "not-the-token").await.0, 403);
    let body = "AccountSid=AC-hotel-h&MessageSid=SM-target&MessageStatus=failed".to_string();
    let unsigned = hooks
        .post(
            "/webhooks/twilio",
            "application/x-www-form-urlencoded",
            &[],
            body.clone().into_bytes(),
        )
        .await;
    assert_eq!(unsigned.0, 401, "{}", unsigned.1);
    let params: twilio::Params = failed
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let signature = twilio::sign(
        &format!("{}/webhooks/twilio", hooks.base),
        &params,
        TWILIO_TOKEN,
    );
    let tampered = hooks
        .post(
            "/webhooks/twilio",
            "application/x-www-form-urlencoded",
            &[("x-twilio-signature", signature)],
            "AccountSid=AC-hotel-h&MessageSid=SM-target&MessageStatus=delivered&ErrorCode=21211"
                .into(),
        )
        .await;
    assert_eq!(tampered.0, 403, "{}", tampered.1);
    let stranger = hooks
        .twilio(
            &[
                ("AccountSid", "AC-stranger"),
                ("MessageSid", "SM-target"),
                ("MessageStatus", "failed"),
            ],
            TWILIO_TOKEN,
        )
        .await;
    assert_eq!(stranger.0, 403);
    assert!(stranger.1.contains("AC-stranger"), "{}", stranger.1);
    let no_sid = hooks
        .twilio(
            &[("AccountSid", "AC-hotel-h"), ("MessageStatus", "failed")],
            TWILIO_TOKEN,
        )
        .await;
    assert_eq!(no_sid.0, 400);
    assert!(no_sid.1.contains("MessageSid"), "{}", no_sid.1);

    // WhatsApp: a signature under another secret, none, a tampered body, not JSON.
    let body = whatsapp_body(&[whatsapp_status("wamid.target", "failed", 1_790_000_000, "")]);
    let wrong = whatsapp::sign(body.as_bytes(), "another-secret");
    let answer = hooks
        .post(
            "/webhooks/whatsapp",
            "application/json",
            &[("x-hub-signature-256", wrong)],
            body.clone().into_bytes(),
        )
        .await;
    assert_eq!(answer.0, 403);
    let answer = hooks
        .post(
            "/webhooks/whatsapp",
            "application/json",
            &[],
            body.clone().into_bytes(),
        )
        .await;
    assert_eq!(answer.0, 401);
    let signature = whatsapp::sign(body.as_bytes(), APP_SECRET);
    let answer = hooks
        .post(
            "/webhooks/whatsapp",
            "application/json",
            &[("x-hub-signature-256", signature)],
            body.replace("failed", "read").into_bytes(),
        )
        .await;
    assert_eq!(answer.0, 403);
    let answer = hooks.whatsapp("{\"entry\": [".into()).await;
    assert_eq!(answer.0, 400);
    assert!(answer.1.contains("WhatsApp"), "{}", answer.1);

    // SendGrid: a stale timestamp, a tampered body, no signature, too big a body.
    let body = format!(
        r#"[{{"event":"dropped","sg_message_id":"sg-target.x","sg_event_id":"e1","timestamp":{},"reason":"Bounced Address"}}]"#,
        chrono::Utc::now().timestamp()
    );
    let stale = hooks.sendgrid_headers(body.as_bytes(), chrono::Utc::now().timestamp() - 600);
    let answer = hooks
        .post(
            "/webhooks/sendgrid",
            "application/json",
            &stale,
            body.clone().into_bytes(),
        )
        .await;
    assert_eq!(answer.0, 403);
    assert!(answer.1.contains("timestamp"), "{}", answer.1);
    let fresh = hooks.sendgrid_headers(body.as_bytes(), chrono::Utc::now().timestamp());
    let answer = hooks
        .post(
            "/webhooks/sendgrid",
            "application/json",
            &fresh,
            body.replace("dropped", "delivered").into_bytes(),
        )
        .await;
    assert_eq!(answer.0, 403);
    let answer = hooks
        .post(
            "/webhooks/sendgrid",
            "application/json",
            &[],
            body.clone().into_bytes(),
        )
        .await;
    assert_eq!(answer.0, 401);
    let huge = format!("[{}]", vec![r#"{"event":"open"}"#; 70_000].join(","));
    assert!(huge.len() > 1 << 20);
    let answer = hooks.sendgrid(huge).await;
    assert_eq!(answer.0, 413);
    let answer = hooks.sendgrid(r#"{"event":"delivered"}"#.into()).await;
    assert_eq!(answer.0, 400);

    for id in &ids {
        let m = hooks.message(id).await;
        assert_eq!(m.status, MessageStatus::Pending as i32, "{m:?}");
        assert_eq!(hooks.history(id).await.len(), 1, "only the recording");
    }
    hooks.server.stop().await;
}

async fn early_callbacks_park_within_the_account_hotels(db: TestDb) {
    let hooks = start(db, |s| s.max_parked_per_hotel = 3).await;
    // A fast failure for an invalid number, before the hub records the send.
    let got = outcomes(
        &hooks
            .twilio(
                &[
                    ("AccountSid", "AC-hotel-h"),
                    ("MessageSid", "SM-early"),
                    ("MessageStatus", "failed"),
                    ("ErrorCode", "21211"),
                    ("ErrorMessage", "Invalid 'To' Phone Number"),
                ],
                TWILIO_TOKEN,
            )
            .await,
    );
    assert_eq!(got.get("parked"), Some(&1), "{got:?}");
    // Hotel h's account parks SM-cross; hotel other records that SID: never applied.
    outcomes(
        &hooks
            .twilio(
                &[
                    ("AccountSid", "AC-hotel-h"),
                    ("MessageSid", "SM-cross"),
                    ("MessageStatus", "failed"),
                    ("ErrorCode", "21211"),
                ],
                TWILIO_TOKEN,
            )
            .await,
    );
    let ids = record(
        &mut hooks.server.messages(),
        vec![
            sent_by("h", "early", Channel::Sms, "twilio", "SM-early"),
            sent_by("other", "cross", Channel::Sms, "twilio", "SM-cross"),
        ],
    )
    .await;
    let m = hooks.message(&ids[0]).await;
    assert_eq!(m.status, MessageStatus::Failed as i32, "{m:?}");
    assert_eq!(m.error_code, "21211");
    assert_eq!(m.error_message, "Invalid 'To' Phone Number");
    let history = hooks.history(&ids[0]).await;
    assert!(
        history
            .iter()
            .any(|e| e.status == MessageStatus::Failed as i32
                && e.outcome == EventOutcome::Applied as i32),
        "{history:?}"
    );
    assert_eq!(
        hooks.message(&ids[1]).await.status,
        MessageStatus::Pending as i32,
        "a parked event of hotel h never reaches hotel other"
    );
    // The cap: SM-cross still waits, two more fill it, the next is refused with 429.
    for sid in ["SM-a", "SM-b"] {
        let a = hooks
            .twilio(
                &[
                    ("AccountSid", "AC-hotel-h"),
                    ("MessageSid", sid),
                    ("MessageStatus", "sent"),
                ],
                TWILIO_TOKEN,
            )
            .await;
        assert_eq!(a.0, 200, "{}", a.1);
    }
    let full = hooks
        .twilio(
            &[
                ("AccountSid", "AC-hotel-h"),
                ("MessageSid", "SM-c"),
                ("MessageStatus", "sent"),
            ],
            TWILIO_TOKEN,
        )
        .await;
    assert_eq!(full.0, 429, "{}", full.1);
    // SM-a's event expires (its time moved back rather than waited for): dropped by
    // the scheduler's purge, which makes room again.
    sql(
        &hooks.server,
        &["UPDATE parked_events SET expires_at = '2020-01-01 00:00:00' WHERE provider_message_id = 'SM-a'"],
    )
    .await;
    let dropped = sentlog::service::statuses::purge_expired_parked(hooks.server.store())
        .await
        .unwrap();
    assert_eq!(dropped, 1);
    let room = hooks
        .twilio(
            &[
                ("AccountSid", "AC-hotel-h"),
                ("MessageSid", "SM-c"),
                ("MessageStatus", "sent"),
            ],
            TWILIO_TOKEN,
        )
        .await;
    assert_eq!(outcomes(&room).get("parked"), Some(&1));
    let late = record(
        &mut hooks.server.messages(),
        vec![sent_by("h", "a", Channel::Sms, "twilio", "SM-a")],
    )
    .await;
    assert_eq!(
        hooks.message(&late[0]).await.status,
        MessageStatus::Pending as i32,
        "an expired event is gone"
    );
    hooks.server.stop().await;
}

async fn provider_retries_are_duplicates(db: TestDb) {
    let hooks = start(db, |_| {}).await;
    let ids = record(
        &mut hooks.server.messages(),
        vec![
            sent_by("h", "t", Channel::Sms, "twilio", "SM-retry"),
            sent_by("h", "s", Channel::Email, "sendgrid", "sg-retry"),
            sent_by("h", "w", Channel::Whatsapp, "whatsapp_cloud", "wamid.retry"),
        ],
    )
    .await;
    let delivered = [
        ("AccountSid", "AC-hotel-h"),
        ("MessageSid", "SM-retry"),
        ("MessageStatus", "delivered"),
    ];
    assert_eq!(
        outcomes(&hooks.twilio(&delivered, TWILIO_TOKEN).await).get("applied"),
        Some(&1)
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    // Twilio sends no event time: the retry, a second later, is the same event.
    let again = outcomes(&hooks.twilio(&delivered, TWILIO_TOKEN).await);
    assert_eq!(again.get("duplicate"), Some(&1), "{again:?}");
    let event = |event_id: &str| {
        format!(
            r#"[{{"event":"delivered","sg_message_id":"sg-retry.filterdrecv-1","sg_event_id":"{event_id}","timestamp":1790000000}}]"#
        )
    };
    assert_eq!(
        outcomes(&hooks.sendgrid(event("first-id")).await).get("applied"),
        Some(&1)
    );
    // SendGrid retries under a new sg_event_id: a duplicate by content.
    let again = outcomes(&hooks.sendgrid(event("retry-id")).await);
    assert_eq!(again.get("duplicate"), Some(&1), "{again:?}");
    let body = whatsapp_body(&[whatsapp_status(
        "wamid.retry",
        "delivered",
        1_790_000_000,
        "",
    )]);
    assert_eq!(
        outcomes(&hooks.whatsapp(body.clone()).await).get("applied"),
        Some(&1)
    );
    assert_eq!(
        outcomes(&hooks.whatsapp(body).await).get("duplicate"),
        Some(&1)
    );
    for id in &ids {
        assert_eq!(
            hooks.history(id).await.len(),
            2,
            "recording and one delivery"
        );
    }
    hooks.server.stop().await;
}

async fn concurrent_posts_end_at_the_precedence_winner(db: TestDb) {
    let hooks = std::sync::Arc::new(start(db, |_| {}).await);
    let messages: Vec<proto::NewMessage> = (0..500)
        .map(|i| {
            let wamid = format!("wamid.c{i}");
            sent_by("h", &wamid, Channel::Whatsapp, "whatsapp_cloud", &wamid)
        })
        .collect();
    let mut ids = Vec::new();
    for chunk in messages.chunks(250) {
        ids.extend(record(&mut hooks.server.messages(), chunk.to_vec()).await);
    }
    // Each message: sent, delivered, read (or failed after sent for every 5th), dealt
    // round-robin into 50 posts so that one message's events race each other.
    let mut statuses = Vec::new();
    for i in 0..500usize {
        let id = format!("wamid.c{i}");
        statuses.push(whatsapp_status(&id, "sent", 1_790_000_000, ""));
        if i.is_multiple_of(5) {
            statuses.push(whatsapp_status(
                &id,
                "failed",
                1_790_000_010,
                r#","errors":[{"code":131026,"title":"Message undeliverable"}]"#,
            ));
        } else {
            statuses.push(whatsapp_status(&id, "delivered", 1_790_000_010, ""));
            statuses.push(whatsapp_status(&id, "read", 1_790_000_020, ""));
        }
    }
    let mut posts: Vec<Vec<String>> = vec![Vec::new(); 50];
    for (n, s) in statuses.into_iter().rev().enumerate() {
        posts[n % 50].push(s);
    }
    let tasks: Vec<_> = posts
        .into_iter()
        .map(|post| {
            let hooks = hooks.clone();
            tokio::spawn(async move { hooks.whatsapp(whatsapp_body(&post)).await })
        })
        .collect();
    for t in tasks {
        let answer = t.await.unwrap();
        assert_eq!(answer.0, 200, "{}", answer.1);
    }
    let all = list_all(
        &mut hooks.server.messages(),
        proto::MessageFilter::default(),
        500,
    )
    .await;
    assert_eq!(all.len(), 500);
    for m in all {
        let i: usize = m
            .provider_message_id
            .trim_start_matches("wamid.c")
            .parse()
            .unwrap();
        let want = if i.is_multiple_of(5) {
            MessageStatus::Failed
        } else {
            MessageStatus::Read
        };
        assert_eq!(m.status, want as i32, "{}", m.provider_message_id);
    }
    assert_eq!(ids.len(), 500);
    let hooks = std::sync::Arc::try_unwrap(hooks).ok().expect("tasks done");
    hooks.server.stop().await;
}

/// `sentlog demo --webhooks` samples, posted by `sentlog webhook-replay` (the binary for
/// Twilio, the same code as a library for the others): every request verified and
/// taken; the events wait for their messages (none recorded here), and a wrong secret
/// is refused without anything applied.
async fn demo_samples_replay_signed_as_the_providers_sign(db: TestDb) {
    use sentlog::domain::webhook::Provider;
    use sentlog::webhook_replay::{Signer, replay, sendgrid_key};
    let (private_pem, public_key) = sentlog::webhook_replay::new_sendgrid_key().unwrap();
    let server = TestServer::start_with(db, |s| {
        s.webhook_listen = Some("127.0.0.1:0".into());
        s.webhooks.twilio = vec![TwilioAccountSettings {
            account_sid: "ACdemo".into(),
            auth_token: Some(Secret(TWILIO_TOKEN.into())),
            hotels: vec!["*".into()],
        }];
        s.webhooks.whatsapp = vec![WhatsAppAccountSettings {
            name: "demo".into(),
            app_secret: Some(Secret(APP_SECRET.into())),
            verify_token: None,
            hotels: vec!["*".into()],
        }];
        s.webhooks.sendgrid = vec![SendGridAccountSettings {
            name: "demo".into(),
            public_key: Some(public_key),
            hotels: vec!["*".into()],
        }];
    })
    .await;
    let base = format!(
        "http://{}",
        server.server.as_ref().unwrap().webhook_addr.unwrap()
    );
    let samples = sentlog::demo::webhook_samples(60, 7, "ACdemo");
    let file_of = |provider: Provider| {
        samples
            .iter()
            .filter(|(p, _)| *p == provider)
            .map(|(_, body)| format!("{body}\n"))
            .collect::<String>()
    };
    let dir = tempfile::tempdir().unwrap();
    let twilio_file = dir.path().join("twilio.txt");
    std::fs::write(&twilio_file, file_of(Provider::Twilio)).unwrap();
    let twilio_lines = file_of(Provider::Twilio).lines().count();
    assert!(twilio_lines > 0);
    let (url, file) = (base.clone(), twilio_file.clone());
    // The binary blocks on its own runtime: off the test's async threads.
    let replayed = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_sentlog"))
            .args(["webhook-replay", "--provider", "twilio", "--url", &url])
            .args(["--secret", TWILIO_TOKEN])
            .arg(&file)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let printed = String::from_utf8_lossy(&replayed.stdout);
    assert!(replayed.status.success(), "{printed}");
    assert!(
        printed.contains(&format!("HTTP 200: {twilio_lines} requests")),
        "{printed}"
    );

    let key = sendgrid_key(private_pem.as_bytes()).unwrap();
    for (provider, signer) in [
        (
            Provider::WhatsApp,
            Signer::WhatsApp {
                app_secret: APP_SECRET.into(),
            },
        ),
        (Provider::SendGrid, Signer::SendGrid { key: Box::new(key) }),
    ] {
        let text = file_of(provider);
        let summary = replay(provider, &text, &base, &signer).await.unwrap();
        assert_eq!(
            summary.by_status.keys().collect::<Vec<_>>(),
            vec![&200],
            "{summary:?}"
        );
        assert!(
            summary.events.get("parked").copied().unwrap_or(0) > 0,
            "{summary:?}"
        );
    }
    // The wrong secret: every request refused, nothing parked by them.
    let wrong = Signer::WhatsApp {
        app_secret: "not-the-secret".into(),
    };
    let summary = replay(
        Provider::WhatsApp,
        &file_of(Provider::WhatsApp),
        &base,
        &wrong,
    )
    .await
    .unwrap();
    assert_eq!(
        summary.by_status.keys().collect::<Vec<_>>(),
        vec![&403],
        "{summary:?}"
    );
    assert!(
        summary.refusals[0].contains("does not verify"),
        "{:?}",
        summary.refusals
    );
    server.stop().await;
}
