//! Logs never carry a guest's phone, email or name whole, nor an access token, at any
//! level. Its own test binary: it installs the process-wide log subscriber.
use std::io::Write;
use std::sync::{Arc, Mutex};

use sentlog::config::{Settings, TokenSettings};
use sentlog::domain::access::{hex, token_hash};
use sentlog::proto;
use tonic::Request;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn authed<T>(m: T) -> Request<T> {
    let mut r = Request::new(m);
    r.metadata_mut().insert(
        "authorization",
        "Bearer slt_log_secret_token".parse().unwrap(),
    );
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_data_and_tokens_never_reach_the_logs() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_env_filter("trace,h2=info,hyper=info,tower=info,tonic=info")
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    let dir = tempfile::tempdir().unwrap();
    let settings = Settings {
        database_url: format!("sqlite://{}", dir.path().join("logs.db").display()),
        listen: "127.0.0.1:0".into(),
        console_listen: "off".into(),
        tokens: vec![TokenSettings {
            name: "admin-1".into(),
            role: "admin".into(),
            hotels: vec!["*".into()],
            sha256: hex(&token_hash("slt_log_secret_token")),
        }],
        ..Settings::default()
    };
    let config = settings.validate().unwrap();
    let store = sentlog::app::open_store(&config).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = sentlog::app::start(&config, store, listener).await.unwrap();
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", server.addr))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut messages = proto::message_service_client::MessageServiceClient::new(channel.clone());
    let mut reconciliation =
        proto::reconciliation_service_client::ReconciliationServiceClient::new(channel.clone());
    let mut guests = proto::guest_service_client::GuestServiceClient::new(channel.clone());

    let sms = proto::NewMessage {
        hotel_id: "h".into(),
        external_id: "e1".into(),
        channel: proto::Channel::Sms as i32,
        recipient_phone: "+33 6 98 76 54 31".into(),
        guest_name: "Zoé Quintessence".into(),
        status: proto::MessageStatus::Undelivered as i32,
        provider: "twilio".into(),
        error_code: "30003".into(),
        pms_guest_id: "g1".into(),
        ..Default::default()
    };
    let mail = proto::NewMessage {
        external_id: "e2".into(),
        channel: proto::Channel::Email as i32,
        recipient_phone: String::new(),
        recipient_email: "zoe.quintessence@example.com".into(),
        ..sms.clone()
    };
    messages
        .record_messages(authed(proto::RecordMessagesRequest {
            messages: vec![sms, mail],
        }))
        .await
        .unwrap();
    guests
        .upsert_guests(authed(proto::UpsertGuestsRequest {
            guests: vec![proto::PmsGuest {
                hotel_id: "h".into(),
                pms_guest_id: "g1".into(),
                full_name: "Zoé Quintessence".into(),
                phone: "+33 6 98 76 54 13".into(),
                email: "zoe.q@example.org".into(),
                ..Default::default()
            }],
        }))
        .await
        .unwrap();
    reconciliation
        .run_reconciliation(authed(proto::RunReconciliationRequest::default()))
        .await
        .unwrap();
    messages
        .list_messages(authed(proto::ListMessagesRequest {
            filter: Some(proto::MessageFilter {
                phone: "06 98 76 54 31".into(),
                ..Default::default()
            }),
            ..Default::default()
        }))
        .await
        .unwrap();
    reconciliation
        .check_recipients(authed(proto::CheckRecipientsRequest {
            hotel_id: "h".into(),
            phones: vec!["06 98 76 54 31".into()],
            emails: vec!["zoe.quintessence@example.com".into()],
            ..Default::default()
        }))
        .await
        .unwrap();
    // A refused call with a wrong token.
    let mut bad = Request::new(proto::ListMessagesRequest::default());
    bad.metadata_mut()
        .insert("authorization", "Bearer slt_wrong_secret".parse().unwrap());
    assert!(messages.list_messages(bad).await.is_err());
    server.stop().await.unwrap();

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("message recorded"),
        "the capture works: {logs}"
    );
    assert!(logs.contains("+33*******31"), "phones appear masked");
    for secret in [
        "+33698765431",
        "98 76 54 31",
        "0698765431",
        "698765431",
        "+33698765413",
        "zoe.quintessence@example.com",
        "zoe.q@example.org",
        "Quintessence",
        "slt_log_secret_token",
        "slt_wrong_secret",
    ] {
        assert!(
            !logs.contains(secret),
            "{secret:?} leaked into the logs:\n{logs}"
        );
    }
}
