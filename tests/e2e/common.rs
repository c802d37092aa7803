//! Test harness: a fresh database per test (a SQLite file, or a throwaway PostgreSQL
//! database when SENTLOG_TEST_POSTGRES_URL is set) and the real server on an
//! ephemeral port, reached with the generated tonic clients over TCP.
#![allow(dead_code)]

use diesel::prelude::*;
use sentlog::app::RunningServer;
use sentlog::config::Settings;
use sentlog::proto;
use sentlog::proto::guest_service_client::GuestServiceClient;
use sentlog::proto::message_service_client::MessageServiceClient;
use sentlog::proto::reconciliation_service_client::ReconciliationServiceClient;
use tonic::transport::Channel;

/// Where the PostgreSQL suite finds its server, e.g. postgres://postgres@127.0.0.1:5432/test
pub const PG_ENV: &str = "SENTLOG_TEST_POSTGRES_URL";

/// A database that exists for one test and is removed after it.
pub struct TestDb {
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl TestDb {
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("sentlog.db").display());
        TestDb {
            url,
            cleanup: Cleanup::Sqlite(dir),
        }
    }

    /// A throwaway database on the PostgreSQL named by PG_ENV, or None (the test is
    /// skipped, and says so) when the variable is not set.
    pub fn postgres() -> Option<TestDb> {
        let Ok(admin_url) = std::env::var(PG_ENV) else {
            eprintln!(
                "skipped: set {PG_ENV} (e.g. postgres://postgres@127.0.0.1:5432/test) to run the PostgreSQL suite"
            );
            return None;
        };
        let name = format!("sentlog_test_{}", uuid::Uuid::now_v7().simple());
        let mut admin = PgConnection::establish(&admin_url)
            .unwrap_or_else(|e| panic!("{PG_ENV} is set but PostgreSQL is unreachable: {e}"));
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .expect("create test database");
        Some(TestDb {
            url: with_database(&admin_url, &name),
            cleanup: Cleanup::Postgres { admin_url, name },
        })
    }
}

/// The same server URL with another database name.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let host_part = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    format!("{host_part}/{name}{query}")
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Cleanup::Postgres { admin_url, name } = &self.cleanup
            && let Ok(mut admin) = PgConnection::establish(admin_url)
        {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut admin);
        }
    }
}

/// The real server, on its own database, on 127.0.0.1 with an ephemeral port.
pub struct TestServer {
    pub server: Option<RunningServer>,
    /// The database this server owns (dropped with it); None for a second instance.
    pub db: Option<TestDb>,
    pub url: String,
    pub channel: Channel,
}

impl TestServer {
    pub async fn start(db: TestDb) -> TestServer {
        Self::start_with(db, |_| {}).await
    }

    pub async fn start_with(db: TestDb, tune: impl FnOnce(&mut Settings)) -> TestServer {
        let url = db.url.clone();
        let mut server = Self::start_on(&url, tune).await;
        server.db = Some(db);
        server
    }

    /// Another instance of the service on the same database.
    pub async fn another_instance(&self, tune: impl FnOnce(&mut Settings)) -> TestServer {
        Self::start_on(&self.url, tune).await
    }

    pub fn is_postgres(&self) -> bool {
        self.url.starts_with("postgres")
    }

    async fn start_on(url: &str, tune: impl FnOnce(&mut Settings)) -> TestServer {
        let mut settings = Settings {
            database_url: url.to_string(),
            listen: "127.0.0.1:0".into(),
            console_listen: "127.0.0.1:0".into(),
            pool_size: 4,
            ..Settings::default()
        };
        // Tests run passes themselves; a scheduled one would race them.
        settings.reconcile.schedule = "off".into();
        tune(&mut settings);
        let config = settings.validate().expect("valid test settings");
        let store = sentlog::app::open_store(&config).await.expect("open store");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = sentlog::app::start(&config, store, listener).await.unwrap();
        // Tests start from a settled server: its start-up catch-up (recategorising,
        // the suppression backfill) must not race what a test then writes or fakes.
        for _ in 0..600 {
            if server.catch_up_finished() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        // Lazy: a TLS server's test makes its own TLS channel.
        let channel = Channel::from_shared(format!("http://{}", server.addr))
            .unwrap()
            .connect_lazy();
        TestServer {
            server: Some(server),
            db: None,
            url: url.to_string(),
            channel,
        }
    }

    pub fn messages(&self) -> MessageServiceClient<Channel> {
        MessageServiceClient::new(self.channel.clone())
    }

    pub fn guests(&self) -> GuestServiceClient<Channel> {
        GuestServiceClient::new(self.channel.clone())
    }

    pub fn reconciliation(&self) -> ReconciliationServiceClient<Channel> {
        ReconciliationServiceClient::new(self.channel.clone())
    }

    /// The web console's base URL (`http://127.0.0.1:PORT`).
    pub fn console_url(&self) -> String {
        let server = self.server.as_ref().expect("running");
        format!("http://{}", server.console_addr.expect("console on"))
    }

    pub fn store(&self) -> &sentlog::store::Store {
        &self.server.as_ref().expect("running").state.store
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.server.take() {
            s.stop().await.expect("clean stop");
        }
    }
}

/// A hung test fails with a message instead of stalling the whole suite.
pub async fn within_limit(test: impl std::future::Future<Output = ()>) {
    tokio::time::timeout(std::time::Duration::from_secs(240), test)
        .await
        .expect("the test finished within 4 minutes")
}

/// Runs each listed async test body on SQLite, and on PostgreSQL when configured.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::common::within_limit(super::$name($crate::common::TestDb::sqlite())).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(db) = $crate::common::TestDb::postgres() {
                        $crate::common::within_limit(super::$name(db)).await
                    }
                }
            )*
        }
    };
}

/// A valid WhatsApp message for a hotel, to adjust per test.
pub fn new_message(hotel: &str, external_id: &str, phone: &str) -> proto::NewMessage {
    proto::NewMessage {
        hotel_id: hotel.into(),
        external_id: external_id.into(),
        channel: proto::Channel::Whatsapp as i32,
        recipient_phone: phone.into(),
        campaign_id: "c-checkin".into(),
        campaign_name: "Online check-in".into(),
        guest_name: "Camille Martin".into(),
        provider: "whatsapp_cloud".into(),
        ..Default::default()
    }
}

/// Records messages and returns their ids, failing the test on any item error.
pub async fn record(
    client: &mut MessageServiceClient<Channel>,
    messages: Vec<proto::NewMessage>,
) -> Vec<String> {
    let results = client
        .record_messages(proto::RecordMessagesRequest { messages })
        .await
        .expect("RecordMessages")
        .into_inner()
        .results;
    results
        .into_iter()
        .map(|r| {
            assert!(r.error.is_empty(), "item {} refused: {}", r.index, r.error);
            r.message_id
        })
        .collect()
}

/// Every message matching `filter`, through paging with `page_size`.
pub async fn list_all(
    client: &mut MessageServiceClient<Channel>,
    filter: proto::MessageFilter,
    page_size: i32,
) -> Vec<proto::Message> {
    let mut out = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_messages(proto::ListMessagesRequest {
                filter: Some(filter.clone()),
                page_size,
                page_token: token,
            })
            .await
            .expect("ListMessages")
            .into_inner();
        out.extend(page.messages);
        if page.next_page_token.is_empty() {
            return out;
        }
        token = page.next_page_token;
    }
}

/// GetMessageHistory of one message, failing the test on an error.
pub async fn history(
    client: &mut MessageServiceClient<Channel>,
    message_id: &str,
) -> Vec<proto::StatusEvent> {
    client
        .get_message_history(proto::GetMessageHistoryRequest {
            message_id: message_id.to_string(),
        })
        .await
        .expect("GetMessageHistory")
        .into_inner()
        .events
}

/// CountMessages of `filter`, failing the test on an error.
pub async fn counts(
    client: &mut MessageServiceClient<Channel>,
    filter: proto::MessageFilter,
) -> proto::CountMessagesResponse {
    client
        .count_messages(proto::CountMessagesRequest {
            filter: Some(filter),
        })
        .await
        .unwrap()
        .into_inner()
}

/// A message id as hand-written SQL spells it on this connection's backend (ids are
/// stored as 16 bytes: see `store::message_key`).
pub fn sql_id(conn: &sentlog::store::DbConn, id: &str) -> String {
    sentlog::store::message_key::id_literal(conn.backend(), id)
}

/// The `text` column of every row a hand-written query returns.
pub fn texts(conn: &mut sentlog::store::DbConn, sql: &str) -> Vec<String> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        text: String,
    }
    let rows: Vec<Row> = match conn {
        sentlog::store::DbConn::Pg(c, _) => diesel::sql_query(sql).load(c).unwrap(),
        sentlog::store::DbConn::Sqlite(c) => diesel::sql_query(sql).load(c).unwrap(),
    };
    rows.into_iter().map(|r| r.text).collect()
}

/// Runs one SQL statement as an operator would, behind the service's back.
pub fn exec(conn: &mut sentlog::store::DbConn, sql: &str) -> usize {
    match conn {
        sentlog::store::DbConn::Pg(c, _) => diesel::sql_query(sql).execute(c).unwrap(),
        sentlog::store::DbConn::Sqlite(c) => diesel::sql_query(sql).execute(c).unwrap(),
    }
}

/// Runs `f` with PostgreSQL's sequential scans priced out, so that a plan shows the
/// index the planner would use on a real-sized table (a test's few rows are cheaper
/// to scan). SQLite plans as it always does.
pub fn planned_as_if_large<T>(
    conn: &mut sentlog::store::DbConn,
    f: impl FnOnce(&mut sentlog::store::DbConn) -> T,
) -> T {
    use diesel::connection::SimpleConnection;
    if let sentlog::store::DbConn::Pg(c, _) = conn {
        c.batch_execute("SET enable_seqscan = off").unwrap();
    }
    let out = f(conn);
    if let sentlog::store::DbConn::Pg(c, _) = conn {
        c.batch_execute("RESET enable_seqscan").unwrap();
    }
    out
}

/// Runs SQL statements on the server's database as an operator would, behind the
/// service's back, off the async threads.
pub async fn sql(server: &TestServer, statements: &[&str]) {
    let store = server.store().clone();
    let statements: Vec<String> = statements.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let mut conn = store.conn().unwrap();
        for s in &statements {
            exec(&mut conn, s);
        }
    })
    .await
    .unwrap();
}

/// Every flag the request lists, page after page (the request's own page size).
pub async fn list_all_flags(
    server: &TestServer,
    request: proto::ListFlagsRequest,
) -> Vec<proto::Flag> {
    let mut out = Vec::new();
    let mut token = String::new();
    loop {
        let page = server
            .reconciliation()
            .list_flags(proto::ListFlagsRequest {
                page_token: token,
                ..request.clone()
            })
            .await
            .unwrap()
            .into_inner();
        out.extend(page.flags);
        if page.next_page_token.is_empty() {
            return out;
        }
        token = page.next_page_token;
    }
}

/// Token settings for (token, role, hotels comma-separated) triples.
pub fn token_settings(tokens: &[(&str, &str, &str)]) -> Vec<sentlog::config::TokenSettings> {
    tokens
        .iter()
        .map(|(token, role, hotels)| sentlog::config::TokenSettings {
            name: format!("{role}-{hotels}"),
            role: role.to_string(),
            hotels: hotels.split(',').map(String::from).collect(),
            sha256: sentlog::domain::access::hex(&sentlog::domain::access::token_hash(token)),
        })
        .collect()
}
