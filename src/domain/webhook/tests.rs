//! The providers' published test vectors (PROVIDERS.md §1.6, §4.4), each mapping row,
//! and refusals.
use chrono::{DateTime, Utc};
use proptest::prelude::*;

use super::*;
use crate::domain::message::MessageStatus;

fn params(pairs: &[(&str, &str)]) -> twilio::Params {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn vector_params() -> twilio::Params {
    params(&[
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+14158675309"),
        ("Digits", "1234"),
        ("From", "+14158675309"),
        ("To", "+18005551212"),
    ])
}

#[test]
fn twilio_signatures_match_the_published_vectors() {
    let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
    let p = vector_params();
    assert_eq!(
        twilio::sign(url, &p, "12345"),
        "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    );
    assert_eq!(
        twilio::sign(
            "https://mycompany.com:443/myapp.php?foo=1&bar=2",
            &p,
            "12345"
        ),
        "kvajT1Ptam85bY51eRf/AJRuM3w="
    );
    let repeated = params(&[
        ("Sid", "CA123"),
        ("SidAccount", "AC123"),
        ("Digits", "5678"),
        ("Digits", "1234"),
        ("Digits", "1234"),
    ]);
    assert_eq!(
        twilio::sign(url, &repeated, "12345"),
        "IK+Dwps556ElfBT0I3Rgjkr1wJU="
    );
    // Twilio may sign with or without the port: both verify against either URL.
    for sig in [
        "RSOYDt4T1cUTdK1PDd93/VVr8B8=",
        "kvajT1Ptam85bY51eRf/AJRuM3w=",
    ] {
        assert_eq!(twilio::verify(url, &p, "12345", Some(sig)), Ok(()));
        assert_eq!(
            twilio::verify(
                "https://mycompany.com:443/myapp.php?foo=1&bar=2",
                &p,
                "12345",
                Some(sig)
            ),
            Ok(())
        );
    }
    assert_eq!(
        twilio::verify(
            "http://mycompany.com/myapp.php?foo=1&bar=2",
            &p,
            "12345",
            Some("0ZXoZLH/DfblKGATFgpif+LLRf4=")
        ),
        Ok(())
    );
    assert_eq!(
        twilio::verify(url, &p, "54321", Some("RSOYDt4T1cUTdK1PDd93/VVr8B8=")),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        twilio::verify(url, &p, "12345", None),
        Err(SignatureError::Missing)
    );
    let mut tampered = p.clone();
    tampered[2].1 = "1235".into();
    assert_eq!(
        twilio::verify(
            url,
            &tampered,
            "12345",
            Some("RSOYDt4T1cUTdK1PDd93/VVr8B8=")
        ),
        Err(SignatureError::Mismatch)
    );
}

const SENDGRID_KEY: &str = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g==";
const SENDGRID_SIGNATURE: &str = "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM=";
const SENDGRID_PAYLOAD: &str = "[{\"email\":\"hello@world.com\",\"event\":\"dropped\",\"reason\":\"Bounced Address\",\"sg_event_id\":\"ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA\",\"sg_message_id\":\"LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0\",\"smtp-id\":\"<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>\",\"timestamp\":1600112492}]\r\n";

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).unwrap()
}

#[test]
fn sendgrid_signature_matches_the_published_vector() {
    let key = sendgrid::PublicKey::parse(SENDGRID_KEY).unwrap();
    let body = SENDGRID_PAYLOAD.as_bytes();
    let check = |body: &[u8], sig: Option<&str>, ts: Option<&str>, now: i64| {
        sendgrid::verify(body, &key, sig, ts, at(now))
    };
    assert_eq!(
        check(
            body,
            Some(SENDGRID_SIGNATURE),
            Some("1600112502"),
            1600112502
        ),
        Ok(())
    );
    // Five minutes late still passes; six do not.
    assert_eq!(
        check(
            body,
            Some(SENDGRID_SIGNATURE),
            Some("1600112502"),
            1600112802
        ),
        Ok(())
    );
    assert_eq!(
        check(
            body,
            Some(SENDGRID_SIGNATURE),
            Some("1600112502"),
            1600112863
        ),
        Err(SignatureError::Stale)
    );
    assert_eq!(
        check(body, Some(SENDGRID_SIGNATURE), None, 1600112502),
        Err(SignatureError::Stale)
    );
    assert_eq!(
        check(body, None, Some("1600112502"), 1600112502),
        Err(SignatureError::Missing)
    );
    // The signed message is timestamp + raw body: a re-serialised body fails.
    assert_eq!(
        check(
            SENDGRID_PAYLOAD.trim_end().as_bytes(),
            Some(SENDGRID_SIGNATURE),
            Some("1600112502"),
            1600112502
        ),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        check(
            body,
            Some(SENDGRID_SIGNATURE),
            Some("1600112503"),
            1600112502
        ),
        Err(SignatureError::Mismatch)
    );
    assert!(sendgrid::PublicKey::parse("not a key").is_err());
    assert!(sendgrid::PublicKey::parse("AAAA").is_err());
    let pem = format!("-----BEGIN PUBLIC KEY-----\n{SENDGRID_KEY}\n-----END PUBLIC KEY-----\n");
    assert_eq!(sendgrid::PublicKey::parse(&pem), Ok(key));
}

#[test]
fn sendgrid_events_map_by_the_table() {
    let mapped = sendgrid::map(SENDGRID_PAYLOAD.as_bytes()).unwrap();
    assert_eq!(mapped.events.len(), 1);
    let e = &mapped.events[0];
    assert_eq!(e.provider, "sendgrid");
    assert_eq!(e.provider_message_id, "LRzXl_NHStOGhQ4kofSm_A");
    assert_eq!(e.status, Some(MessageStatus::Failed));
    assert_eq!(e.error_code, "Bounced Address");
    assert_eq!(e.occurred_at, Some(at(1600112492)));
    assert_eq!(
        e.event_id,
        "ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA"
    );
    for (name, status) in sendgrid::EVENTS {
        let body = format!(
            r#"[{{"event":"{name}","sg_message_id":"m1.x","sg_event_id":"e","timestamp":1,
                "type":"bounce","bounce_classification":"Invalid Address","reason":"550 no such user"}}]"#
        );
        let mapped = sendgrid::map(body.as_bytes()).unwrap();
        match status {
            Some(s) => {
                assert_eq!(mapped.events[0].status, Some(*s), "{name}");
                assert!(mapped.acknowledged.is_empty());
            }
            None => {
                assert!(mapped.events.is_empty(), "{name}");
                assert_eq!(mapped.acknowledged, vec![name.to_string()]);
            }
        }
    }
    let bounce = sendgrid::map(
        br#"[{"event":"bounce","sg_message_id":"m1.x","timestamp":1,"type":"bounce",
              "bounce_classification":"Invalid Address","reason":"550 5.1.1 no such user"}]"#,
    )
    .unwrap();
    assert_eq!(bounce.events[0].error_code, "Invalid Address");
    assert_eq!(bounce.events[0].error_message, "550 5.1.1 no such user");
    // An async bounce names no message: acknowledged, not applied.
    let orphan = sendgrid::map(br#"[{"event":"bounce","timestamp":1}]"#).unwrap();
    assert!(orphan.events.is_empty());
    assert_eq!(orphan.acknowledged.len(), 1);
}

#[test]
fn malformed_bodies_name_what_is_wrong() {
    let err = sendgrid::map(b"{\"event\":\"delivered\"}").unwrap_err();
    assert!(err.0.contains("JSON array"), "{err}");
    let err = sendgrid::map(br#"[{"event":"delivered","sg_message_id":"m","timestamp":"x"}]"#)
        .unwrap_err();
    assert!(err.0.contains("[0].timestamp"), "{err}");
    let err = sendgrid::map(br#"[{"sg_message_id":"m","timestamp":1}]"#).unwrap_err();
    assert!(err.0.contains("[0].event"), "{err}");
    let err = whatsapp::map(b"not json").unwrap_err();
    assert!(err.0.contains("WhatsApp"), "{err}");
    let err = whatsapp::map(
        br#"{"entry":[{"changes":[{"field":"messages","value":{"statuses":[{"status":"sent","timestamp":"1"}]}}]}]}"#,
    )
    .unwrap_err();
    assert!(
        err.0.contains("entry[0].changes[0].value.statuses[0].id"),
        "{err}"
    );
    let err = twilio::map(&params(&[("MessageStatus", "sent")]), at(0)).unwrap_err();
    assert!(err.0.contains("MessageSid"), "{err}");
}

fn whatsapp_body(status: &str, extra: &str) -> String {
    format!(
        r#"{{"object":"whatsapp_business_account","entry":[{{"id":"WABA","changes":[{{"field":"messages",
        "value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"1","phone_number_id":"2"}},
        "statuses":[{{"id":"wamid.X","status":"{status}","timestamp":"1700000000","recipient_id":"3361"{extra}}}]}}}}]}}]}}"#
    )
}

#[test]
fn whatsapp_statuses_map_by_the_table() {
    for (name, status) in whatsapp::STATUSES {
        let mapped = whatsapp::map(whatsapp_body(name, "").as_bytes()).unwrap();
        assert_eq!(mapped.events[0].status, *status, "{name}");
        assert_eq!(mapped.events[0].provider, "whatsapp_cloud");
        assert_eq!(mapped.events[0].provider_message_id, "wamid.X");
        assert_eq!(mapped.events[0].occurred_at, Some(at(1_700_000_000)));
    }
    let failed = whatsapp::map(
        whatsapp_body(
            "failed",
            r#","errors":[{"code":131026,"title":"Message undeliverable","error_data":{"details":"not on WhatsApp"}}],
               "pricing":{"category":"utility","pricing_model":"PMP"}"#,
        )
        .as_bytes(),
    )
    .unwrap();
    assert_eq!(failed.events[0].error_code, "131026");
    assert_eq!(
        failed.events[0].error_message,
        "Message undeliverable: not on WhatsApp"
    );
    assert_eq!(
        failed.categories,
        vec![("wamid.X".to_string(), MessageCategory::Utility)]
    );
    for (name, category) in whatsapp::PRICING_CATEGORIES {
        let extra = format!(r#","pricing":{{"category":"{name}"}}"#);
        let mapped = whatsapp::map(whatsapp_body("sent", &extra).as_bytes()).unwrap();
        assert_eq!(mapped.categories[0].1, *category, "{name}");
    }
    let unknown = whatsapp::map(whatsapp_body("deleted", "").as_bytes()).unwrap();
    assert!(unknown.events.is_empty());
    assert_eq!(unknown.acknowledged, vec!["deleted".to_string()]);
}

#[test]
fn whatsapp_signature_and_handshake() {
    let body = whatsapp_body("read", "");
    let sig = whatsapp::sign(body.as_bytes(), "app-secret");
    assert!(sig.starts_with("sha256=") && sig.len() == 7 + 64);
    assert_eq!(
        whatsapp::verify(body.as_bytes(), "app-secret", Some(&sig)),
        Ok(())
    );
    assert_eq!(
        whatsapp::verify(body.as_bytes(), "other", Some(&sig)),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        whatsapp::verify(b"tampered", "app-secret", Some(&sig)),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        whatsapp::verify(body.as_bytes(), "app-secret", None),
        Err(SignatureError::Missing)
    );
    let q = |mode: &str, token: &str| {
        vec![
            ("hub.mode".to_string(), mode.to_string()),
            ("hub.verify_token".to_string(), token.to_string()),
            ("hub.challenge".to_string(), "1158201444".to_string()),
        ]
    };
    assert_eq!(
        whatsapp::handshake(&q("subscribe", "mine"), &["mine"]),
        Some("1158201444")
    );
    assert_eq!(
        whatsapp::handshake(&q("subscribe", "yours"), &["mine"]),
        None
    );
    assert_eq!(
        whatsapp::handshake(&q("unsubscribe", "mine"), &["mine"]),
        None
    );
    assert_eq!(whatsapp::handshake(&q("subscribe", ""), &[""]), None);
}

#[test]
fn twilio_statuses_map_by_the_table_and_retries_keep_their_id() {
    for (name, status) in twilio::STATUSES {
        let p = params(&[
            ("MessageSid", "SM1"),
            ("MessageStatus", name),
            ("AccountSid", "AC1"),
        ]);
        let mapped = twilio::map(&p, at(10)).unwrap();
        match status {
            Some(s) => assert_eq!(mapped.events[0].status, Some(*s), "{name}"),
            None => assert_eq!(mapped.acknowledged, vec![name.to_string()]),
        }
    }
    let p = params(&[
        ("MessageSid", "SM1"),
        ("MessageStatus", "undelivered"),
        ("ErrorCode", "30003"),
        ("ErrorMessage", "Unreachable destination handset"),
    ]);
    let first = twilio::map(&p, at(10)).unwrap();
    let retry = twilio::map(&p, at(70)).unwrap();
    assert_eq!(first.events[0].event_id, retry.events[0].event_id);
    assert_eq!(first.events[0].error_code, "30003");
    assert_eq!(twilio::account_sid(&p), None);
}

proptest! {
    /// Whatever a client posts, reading it answers events or a reason, never a panic.
    #[test]
    fn any_body_is_read_or_refused(body in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = sendgrid::map(&body);
        let _ = whatsapp::map(&body);
        let _ = twilio::map(&twilio::decode_form(&body), at(0));
    }

    /// A signature verifies for its own body and secret, and for no other body.
    #[test]
    fn signatures_bind_body_and_secret(
        body in proptest::collection::vec(any::<u8>(), 0..200),
        other in proptest::collection::vec(any::<u8>(), 0..200),
        secret in "[a-z0-9]{8,20}",
    ) {
        let sig = whatsapp::sign(&body, &secret);
        prop_assert_eq!(whatsapp::verify(&body, &secret, Some(&sig)), Ok(()));
        if other != body {
            prop_assert_eq!(whatsapp::verify(&other, &secret, Some(&sig)), Err(SignatureError::Mismatch));
        }
        let p = twilio::decode_form(&body);
        let url = "https://hooks.example.com/webhooks/twilio";
        let sig = twilio::sign(url, &p, &secret);
        prop_assert_eq!(twilio::verify(url, &p, &secret, Some(&sig)), Ok(()));
    }
}

/// What the sample renderers write reads back as the callback it came from.
#[test]
fn rendered_samples_map_back_to_their_callback() {
    let callback = |status, code: &str| Callback {
        provider_message_id: "pm-1".into(),
        status,
        occurred_at: at(1_790_000_000),
        error_code: code.into(),
        error_message: "text".into(),
    };
    for status in [
        MessageStatus::Sent,
        MessageStatus::Delivered,
        MessageStatus::Failed,
    ] {
        let c = callback(
            status,
            if status == MessageStatus::Failed {
                "30003"
            } else {
                ""
            },
        );
        let form = twilio::body("AC1", &c).unwrap();
        let mapped = twilio::map(&twilio::decode_form(form.as_bytes()), at(5)).unwrap();
        assert_eq!(mapped.events[0].status, Some(status));
        assert_eq!(mapped.events[0].error_code, c.error_code);
        let c = callback(
            status,
            if status == MessageStatus::Failed {
                "131026"
            } else {
                ""
            },
        );
        let mapped = whatsapp::map(whatsapp::body(&c).unwrap().as_bytes()).unwrap();
        assert_eq!(mapped.events[0].status, Some(status));
        assert_eq!(mapped.events[0].occurred_at, Some(c.occurred_at));
        assert_eq!(mapped.events[0].error_code, c.error_code);
    }
    for status in [
        MessageStatus::Delivered,
        MessageStatus::Failed,
        MessageStatus::Undelivered,
    ] {
        let c = callback(status, "Invalid Address");
        let mapped = sendgrid::map(sendgrid::body(&c).unwrap().as_bytes()).unwrap();
        assert_eq!(mapped.events[0].status, Some(status));
        assert_eq!(mapped.events[0].provider_message_id, "pm-1");
    }
    assert_eq!(sendgrid::body(&callback(MessageStatus::Read, "")), None);
}
