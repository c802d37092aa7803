//! Hardening: TLS and mutual TLS, load shedding, server deadlines, database outages.
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use sentlog::config::TlsSettings;
use sentlog::proto::{self, MessageStatus};
use tonic::Code;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

use crate::backend_tests;
use crate::common::*;
use crate::mews_mock::*;

backend_tests!(
    garbage_never_panics_nor_writes,
    an_oversized_request_is_resource_exhausted,
    tls_and_mutual_tls,
    calls_beyond_the_limit_are_shed,
    slow_calls_hit_the_server_deadline,
);

struct Pki {
    dir: tempfile::TempDir,
    ca: String,
    client_cert: String,
    client_key: String,
}

fn pki() -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server_cert = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&server_key, &ca)
        .unwrap();
    let client_key = KeyPair::generate().unwrap();
    let client_cert = CertificateParams::new(vec!["hub-ingest".to_string()])
        .unwrap()
        .signed_by(&client_key, &ca)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("server.pem"), server_cert.pem()).unwrap();
    std::fs::write(dir.path().join("server.key"), server_key.serialize_pem()).unwrap();
    std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
    Pki {
        dir,
        ca: ca.pem(),
        client_cert: client_cert.pem(),
        client_key: client_key.serialize_pem(),
    }
}

async fn tls_channel(
    server: &TestServer,
    pki: &Pki,
    with_identity: bool,
) -> Result<Channel, tonic::transport::Error> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&pki.ca))
        .domain_name("localhost");
    if with_identity {
        tls = tls.identity(Identity::from_pem(&pki.client_cert, &pki.client_key));
    }
    Channel::from_shared(format!(
        "https://localhost:{}",
        server.server.as_ref().unwrap().addr.port()
    ))
    .unwrap()
    .tls_config(tls)?
    .connect()
    .await
}

async fn list(channel: Channel) -> Result<proto::ListMessagesResponse, tonic::Status> {
    proto::message_service_client::MessageServiceClient::new(channel)
        .list_messages(proto::ListMessagesRequest::default())
        .await
        .map(|r| r.into_inner())
}

async fn tls_and_mutual_tls(db: TestDb) {
    let pki = pki();
    let dir = pki.dir.path().to_path_buf();
    // TLS only.
    let tls = TestServer::start_with(db, |s| {
        s.tls = Some(TlsSettings {
            cert: dir.join("server.pem"),
            key: dir.join("server.key"),
            client_ca: None,
        });
    })
    .await;
    let channel = tls_channel(&tls, &pki, false).await.expect("TLS handshake");
    list(channel).await.expect("a call over TLS");
    assert!(
        list(tls.channel.clone()).await.is_err(),
        "plaintext is refused"
    );

    // Mutual TLS: a client certificate from the CA is required.
    let mtls = tls
        .another_instance(|s| {
            s.tls = Some(TlsSettings {
                cert: dir.join("server.pem"),
                key: dir.join("server.key"),
                client_ca: Some(dir.join("ca.pem")),
            });
        })
        .await;
    let channel = tls_channel(&mtls, &pki, true)
        .await
        .expect("mTLS handshake");
    list(channel).await.expect("a call over mTLS");
    let refused = match tls_channel(&mtls, &pki, false).await {
        Err(_) => true,
        Ok(channel) => list(channel).await.is_err(),
    };
    assert!(refused, "a client without a certificate is refused");
    mtls.stop().await;
    tls.stop().await;
}

/// A PMS that takes 1.5 s keeps one RunReconciliation busy.
async fn slow_pms_settings() -> (MockMews, impl Fn(&mut sentlog::config::Settings) + Clone) {
    let mut state = MockState {
        delay: Duration::from_millis(1500),
        ..Default::default()
    };
    state.customers.insert(
        "c1".into(),
        customer("c1", "Slow", "Guest", Some("+33612345678"), None),
    );
    let mock = MockMews::start(state).await;
    let mews = mock.settings();
    (mock, move |s: &mut sentlog::config::Settings| {
        s.pms.insert(
            "slow".into(),
            sentlog::config::PmsSettings::Mews(mews.clone()),
        );
    })
}

async fn seed_slow(server: &TestServer) {
    let mut m = new_message("slow", "m1", "+33612345679");
    m.status = MessageStatus::Undelivered as i32;
    m.pms_guest_id = "c1".into();
    record(&mut server.messages(), vec![m]).await;
}

async fn calls_beyond_the_limit_are_shed(db: TestDb) {
    let (_mock, slow) = slow_pms_settings().await;
    let server = TestServer::start_with(db, move |s| {
        slow(s);
        s.max_concurrent_calls = 1;
    })
    .await;
    seed_slow(&server).await;
    let mut busy = server.reconciliation();
    let running = tokio::spawn(async move {
        busy.run_reconciliation(proto::RunReconciliationRequest::default())
            .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = std::time::Instant::now();
    let err = list(server.channel.clone()).await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    assert!(err.message().contains("busy"));
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "shed at once, not queued"
    );
    // Probes still answer.
    tonic_health::pb::health_client::HealthClient::new(server.channel.clone())
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("health is exempt");
    running.await.unwrap().expect("the busy call completes");
    list(server.channel.clone())
        .await
        .expect("capacity is back");
    server.stop().await;
}

async fn slow_calls_hit_the_server_deadline(db: TestDb) {
    let (_mock, slow) = slow_pms_settings().await;
    let server = TestServer::start_with(db, move |s| {
        slow(s);
        s.request_timeout_ms = 400;
    })
    .await;
    seed_slow(&server).await;
    let err = server
        .reconciliation()
        .run_reconciliation(proto::RunReconciliationRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded);
    assert!(err.message().contains("400 ms"));
    // The pass itself went on and finished: its run is recorded, and the lock is free.
    tokio::time::sleep(Duration::from_millis(1800)).await;
    let runs = server
        .reconciliation()
        .list_runs(proto::ListRunsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .runs;
    assert_eq!(runs[0].state, "succeeded");
    assert_eq!(runs[0].flags_raised, 1);
    server.stop().await;
}

/// PostgreSQL only: the database kills every session of the service, then refuses
/// connections for a while. Calls answer UNAVAILABLE meanwhile (never INTERNAL) and the
/// service recovers by itself when the database comes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovers_after_the_database_drops_its_connections() {
    use diesel::prelude::*;
    let Some(db) = TestDb::postgres() else { return };
    let server = TestServer::start(db).await;
    record(
        &mut server.messages(),
        vec![new_message("h", "e1", "+33612345678")],
    )
    .await;
    let name = server.url.rsplit('/').next().unwrap().to_string();
    let admin_url = std::env::var(PG_ENV).unwrap();
    let mut admin = PgConnection::establish(&admin_url).unwrap();
    let kill = format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()"
    );
    // 1. Sessions killed under the pool: the service reconnects.
    diesel::sql_query(&kill).execute(&mut admin).unwrap();
    let mut ok = false;
    for _ in 0..5 {
        match list(server.channel.clone()).await {
            Ok(r) => {
                assert_eq!(r.messages.len(), 1);
                ok = true;
                break;
            }
            Err(e) => assert_eq!(e.code(), Code::Unavailable, "{e:?}"),
        }
    }
    assert!(ok, "the service reconnected");

    // 2. The database refuses connections: UNAVAILABLE, then recovery.
    diesel::sql_query(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"))
        .execute(&mut admin)
        .unwrap();
    diesel::sql_query(&kill).execute(&mut admin).unwrap();
    let err = list(server.channel.clone()).await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    let err = server
        .messages()
        .record_messages(proto::RecordMessagesRequest {
            messages: vec![new_message("h", "e2", "+33612345678")],
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    diesel::sql_query(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
        .execute(&mut admin)
        .unwrap();
    let mut recovered = false;
    for _ in 0..20 {
        if let Ok(r) = list(server.channel.clone()).await {
            assert_eq!(
                r.messages.len(),
                1,
                "nothing was half-written during the outage"
            );
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(recovered, "the service recovered by itself");
    server.stop().await;
}

/// Random text of every kind: empty, unicode, NUL, digits, very long.
fn garbage(rng: &mut rand::rngs::StdRng) -> String {
    use rand::Rng;
    match rng.random_range(0..8) {
        0 => String::new(),
        1 => "x".repeat(rng.random_range(900..1200)),
        2 => "\0\u{202e}\u{fffd}".into(),
        3 => (0..rng.random_range(1..20))
            .map(|_| rng.random_range('0'..='9'))
            .collect(),
        4 => format!("+{}", rng.random_range(0..u64::MAX)),
        5 => format!(
            "{}-{:02}-{:02}",
            rng.random_range(0..10000),
            rng.random_range(0..15),
            rng.random_range(0..40)
        ),
        6 => (0..rng.random_range(1..30))
            .map(|_| char::from_u32(rng.random_range(0..0x2FFFF)).unwrap_or('?'))
            .collect(),
        _ => "06 12 34 56 78".into(),
    }
}

async fn garbage_never_panics_nor_writes(db: TestDb) {
    use rand::{Rng, SeedableRng};
    let server = TestServer::start(db).await;
    let mut client = server.messages();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut created = 0usize;
    for round in 0..30 {
        let messages: Vec<proto::NewMessage> = (0..20)
            .map(|i| proto::NewMessage {
                hotel_id: if rng.random_bool(0.8) {
                    "h".into()
                } else {
                    garbage(&mut rng)
                },
                external_id: format!("r{round}-{i}-{}", garbage(&mut rng)),
                phone_region: if rng.random_bool(0.7) {
                    String::new()
                } else {
                    garbage(&mut rng)
                },
                channel: rng.random_range(-2..6),
                recipient_phone: garbage(&mut rng),
                recipient_email: garbage(&mut rng),
                guest_name: garbage(&mut rng),
                campaign_name: garbage(&mut rng),
                check_in_date: if rng.random_bool(0.5) {
                    String::new()
                } else {
                    garbage(&mut rng)
                },
                check_out_date: if rng.random_bool(0.5) {
                    String::new()
                } else {
                    garbage(&mut rng)
                },
                status: rng.random_range(-1..12),
                error_code: garbage(&mut rng),
                scheduled_at: rng.random_bool(0.2).then(|| prost_types::Timestamp {
                    seconds: rng.random_range(i64::MIN / 2..i64::MAX / 2),
                    nanos: rng.random_range(-5..2_000_000_000),
                }),
                ..Default::default()
            })
            .collect();
        let n = messages.len();
        match client
            .record_messages(proto::RecordMessagesRequest { messages })
            .await
        {
            Ok(r) => {
                let results = r.into_inner().results;
                assert_eq!(results.len(), n);
                for x in &results {
                    assert!(x.error.is_empty() != x.message_id.is_empty(), "{x:?}");
                    assert!(
                        x.error.is_empty() || x.error.starts_with("messages["),
                        "{x:?}"
                    );
                }
                created += results.iter().filter(|x| x.created).count();
            }
            Err(e) => panic!("a batch of bad items must not fail whole: {e:?}"),
        }
        // Garbage filters and tokens: answered, never INTERNAL.
        let request = proto::ListMessagesRequest {
            filter: Some(proto::MessageFilter {
                phone: garbage(&mut rng),
                campaign_name: garbage(&mut rng),
                check_in_from: garbage(&mut rng),
                statuses: vec![rng.random_range(-3..12)],
                ..Default::default()
            }),
            page_size: rng.random_range(-5..1000),
            page_token: garbage(&mut rng),
        };
        if let Err(e) = client.list_messages(request).await {
            assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
        }
    }
    let total = client
        .count_messages(proto::CountMessagesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .total;
    assert_eq!(total as usize, created, "only accepted items were written");
    assert!(created > 0);
    server.stop().await;
}

async fn an_oversized_request_is_resource_exhausted(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut client = server.messages();
    let big = proto::NewMessage {
        guest_name: "x".repeat(9 * 1024 * 1024),
        ..new_message("h", "big", "+33612345678")
    };
    let err = client
        .record_messages(proto::RecordMessagesRequest {
            messages: vec![big],
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    assert!(err.message().contains("bytes"), "{}", err.message());
    // Nothing was written, and the server still answers.
    let total = client
        .count_messages(proto::CountMessagesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .total;
    assert_eq!(total, 0);
    server.stop().await;
}
