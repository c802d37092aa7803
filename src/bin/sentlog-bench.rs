//! sentlog-bench: seeds a database the way production fills it, starts the real server
//! in a child process on loopback, and measures every main path over gRPC beside the
//! same work done as plain SQL through the driver. Prints one Markdown table (and JSON
//! with --json). See the README's Performance section.
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{NaiveDate, Utc};
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sentlog::config::Settings;
use sentlog::domain::filter::{FilterDraft, MessageQuery};
use sentlog::domain::guest::{self, GuestDraft};
use sentlog::domain::message::{self, Channel, MessageDraft, MessageStatus};
use sentlog::domain::phone::RegionMap;
use sentlog::proto;
use sentlog::store::raw::{self, RawEvent};
use sentlog::store::{Store, guests, messages};
use tonic::transport::Channel as Transport;

#[derive(Parser)]
#[command(
    name = "sentlog-bench",
    about = "Measure sentlog's main paths against the database's own limit"
)]
struct Args {
    /// sqlite://FILE or postgres://... (a fresh database: the run adds its own data).
    #[arg(long, default_value = "sqlite://sentlog-bench.db")]
    database_url: String,
    /// Messages to seed.
    #[arg(long, default_value_t = 1_000_000)]
    messages: usize,
    /// Calls per client for each query measure (8 clients).
    #[arg(long, default_value_t = 50)]
    calls: usize,
    /// Measure an already seeded database again instead of seeding.
    #[arg(long)]
    reuse: bool,
    /// Also print the database's plan of each filter's list query.
    #[arg(long)]
    explain: bool,
    /// Write the figures as JSON too.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
    /// Instead of the query measures: open this many WatchMessages streams on a
    /// fresh database and measure the server's memory with them open.
    #[arg(long)]
    watchers: Option<usize>,
    /// Internal: serve gRPC on this address (the benchmark's server child process).
    #[arg(long, hide = true)]
    serve: Option<String>,
    /// Internal: the server child's open-stream caps (the watcher measure raises them).
    #[arg(long, hide = true)]
    stream_cap: Option<usize>,
}

const CLIENTS: usize = 8;
/// Longest time one query measure keeps starting calls.
const QUERY_BUDGET: Duration = Duration::from_secs(10);
/// Hotels: a few big ones take most of the traffic, many small ones the rest.
const BIG_HOTELS: usize = 3;
const HOTELS: usize = 50;

struct Table {
    rows: Vec<(String, String)>,
}

impl Table {
    fn add(&mut self, what: impl Into<String>, figure: impl Into<String>) {
        let (what, figure) = (what.into(), figure.into());
        eprintln!("  {what}: {figure}");
        self.rows.push((what, figure));
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let settings = Settings {
        database_url: args.database_url.clone(),
        console_listen: "off".into(),
        request_timeout_ms: 3_600_000,
        ..Settings::default()
    };
    if let Some(addr) = &args.serve {
        let mut settings = settings;
        if let Some(cap) = args.stream_cap {
            settings.max_open_streams = cap;
            settings.max_open_streams_per_token = cap;
        }
        return serve(settings, addr);
    }
    if let Some(n) = args.watchers {
        return watchers(&args.database_url, n);
    }
    let config = settings.clone().validate()?;
    let runtime = tokio::runtime::Runtime::new()?;
    let store = runtime
        .block_on(sentlog::app::open_store(&config))
        .context("opening the database")?;
    let mut table = Table { rows: Vec::new() };
    table.add("cores", std::thread::available_parallelism()?.to_string());
    table.add("backend", store.backend().name());

    let seeded = match args.reuse {
        true => seeded_before(&store, &mut table)?,
        false => seed(&store, &config.regions, args.messages, &mut table)?,
    };
    store.settle_tallies()?;
    store.vacuum_after_bulk_load()?;
    // Measure the database at rest, not the bulk load's checkpoint.
    store.checkpoint()?;
    let mut server = ServerProcess::start(&args.database_url)?;
    let result = runtime.block_on(measure(
        &store,
        &config.regions,
        &server,
        &seeded,
        &args,
        &mut table,
    ));
    table.add(
        "server peak resident memory (MB)",
        format!("{:.0}", server.peak_rss_mb()),
    );
    server.stop();
    result?;

    println!("| measure | figure |\n| --- | --- |");
    for (what, figure) in &table.rows {
        println!("| {what} | {figure} |");
    }
    if args.explain {
        for (name, filter) in filters(&seeded) {
            let query = message_query(filter, &config.regions)?;
            let mut conn = store.conn()?;
            let plan = messages::explain_list(&mut conn, &query)?;
            println!("\n{name}:\n```\n{}\n```", plan.join("\n"));
        }
    }
    if let Some(path) = args.json {
        let map: serde_json::Map<String, serde_json::Value> = table
            .rows
            .iter()
            .map(|(w, f)| (w.clone(), serde_json::Value::String(f.clone())))
            .collect();
        std::fs::write(path, serde_json::to_string_pretty(&map)?)?;
    }
    Ok(())
}

/// The server child: the real service on `addr`, with no schedule, until killed.
fn serve(mut settings: Settings, addr: &str) -> anyhow::Result<()> {
    settings.listen = addr.to_string();
    settings.reconcile.schedule = "off".into();
    let config = settings.validate()?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let store = sentlog::app::open_store(&config).await?;
        let listener = tokio::net::TcpListener::bind(config.listen).await?;
        let server = sentlog::app::start(&config, store, listener).await?;
        tokio::signal::ctrl_c().await?;
        server.stop().await.map_err(|e| anyhow::anyhow!(e))
    })
}

struct ServerProcess {
    child: Child,
    addr: String,
}

impl ServerProcess {
    fn start(database_url: &str) -> anyhow::Result<ServerProcess> {
        Self::start_with(database_url, &[])
    }

    fn start_with(database_url: &str, extra: &[&str]) -> anyhow::Result<ServerProcess> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let addr = format!("127.0.0.1:{port}");
        let child = Command::new(std::env::current_exe()?)
            .args(["--database-url", database_url, "--serve", &addr])
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .spawn()
            .context("starting the server process")?;
        Ok(ServerProcess { child, addr })
    }

    async fn channel(&self) -> anyhow::Result<Transport> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match Transport::from_shared(format!("http://{}", self.addr))?
                .connect()
                .await
            {
                Ok(c) => return Ok(c),
                Err(e) if Instant::now() > deadline => return Err(e.into()),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    fn peak_rss_mb(&self) -> f64 {
        self.memory_mb("VmHWM:")
    }

    fn rss_mb(&self) -> f64 {
        self.memory_mb("VmRSS:")
    }

    /// A memory figure of the server process from /proc (kB there), in MB.
    fn memory_mb(&self, field: &str) -> f64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with(field))
                    .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
            })
            .unwrap_or(0.0)
            / 1024.0
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Watchers per HTTP/2 connection (as several consoles or services would hold them).
const WATCHERS_PER_CONNECTION: usize = 100;
/// Longest any step of the watcher measure may take.
const WATCH_STEP_LIMIT: Duration = Duration::from_secs(60);

/// `--watchers N`: the server's memory with N WatchMessages streams open, the time for
/// one new message to reach all of them, and the memory once they are closed.
fn watchers(database_url: &str, n: usize) -> anyhow::Result<()> {
    use proto::message_service_client::MessageServiceClient;
    let cap = n.to_string();
    let mut server = ServerProcess::start_with(database_url, &["--stream-cap", &cap])?;
    let runtime = tokio::runtime::Runtime::new()?;
    let mut table = Table { rows: Vec::new() };
    let result = runtime.block_on(async {
        let first = server.channel().await?;
        let mut client = MessageServiceClient::new(first.clone());
        let record = |client: &mut MessageServiceClient<Transport>, i: usize| {
            let mut client = client.clone();
            async move {
                client
                    .record_messages(proto::RecordMessagesRequest {
                        messages: vec![proto::NewMessage {
                            hotel_id: "bench-hotel".into(),
                            external_id: format!("watch-{i}-{}", uuid::Uuid::now_v7()),
                            channel: proto::Channel::Sms as i32,
                            recipient_phone: "+33612345678".into(),
                            ..Default::default()
                        }],
                    })
                    .await
            }
        };
        record(&mut client, 0).await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        table.add("watchers", n.to_string());
        let idle = server.rss_mb();
        table.add(
            "server resident memory, no watcher (MB)",
            format!("{idle:.1}"),
        );
        let mut channels = vec![first];
        while channels.len() * WATCHERS_PER_CONNECTION < n {
            channels.push(server.channel().await?);
        }
        let opened = Instant::now();
        let mut streams = Vec::with_capacity(n);
        for i in 0..n {
            let mut c = MessageServiceClient::new(channels[i / WATCHERS_PER_CONNECTION].clone());
            let stream = tokio::time::timeout(
                WATCH_STEP_LIMIT,
                c.watch_messages(proto::WatchMessagesRequest::default()),
            )
            .await
            .context("opening a watcher")??
            .into_inner();
            streams.push(stream);
        }
        table.add(
            "time to open them all (ms)",
            format!("{}", opened.elapsed().as_millis()),
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        let open = server.rss_mb();
        table.add(
            format!("server resident memory, {n} watchers open (MB)"),
            format!("{open:.1}"),
        );
        table.add(
            "per open watcher (KB)",
            format!("{:.1}", (open - idle) * 1024.0 / n.max(1) as f64),
        );
        // One new message reaches every watcher.
        let sent = Instant::now();
        record(&mut client, 1).await?;
        let mut readers = tokio::task::JoinSet::new();
        for mut s in streams {
            readers.spawn(async move {
                let got = tokio::time::timeout(WATCH_STEP_LIMIT, s.message()).await;
                (matches!(got, Ok(Ok(Some(_)))), s)
            });
        }
        let mut reached = 0;
        let mut streams = Vec::with_capacity(n);
        while let Some(done) = readers.join_next().await {
            let (ok, s) = done?;
            reached += usize::from(ok);
            streams.push(s);
        }
        table.add(
            "one new message reached (watchers · ms)",
            format!("{reached} · {}", sent.elapsed().as_millis()),
        );
        table.add(
            "server peak resident memory (MB)",
            format!("{:.1}", server.peak_rss_mb()),
        );
        drop(streams);
        drop(channels);
        tokio::time::sleep(Duration::from_secs(1)).await;
        table.add(
            "server resident memory, all closed (MB)",
            format!("{:.1}", server.rss_mb()),
        );
        anyhow::Ok(())
    });
    server.stop();
    result?;
    println!("| measure | figure |\n| --- | --- |");
    for (what, figure) in &table.rows {
        println!("| {what} | {figure} |");
    }
    Ok(())
}

/// What the seed leaves for the measures to aim at.
struct Seeded {
    /// Phones recorded for the biggest hotel.
    big_hotel_phones: Vec<String>,
    today: NaiveDate,
}

fn hotel_of(rng: &mut StdRng) -> usize {
    // 60 % of the traffic to the big hotels, the rest spread over the small ones.
    match rng.random_range(0..100) {
        n if n < 60 => n % BIG_HOTELS,
        _ => rng.random_range(BIG_HOTELS..HOTELS),
    }
}

fn status_of(rng: &mut StdRng, channel: Channel) -> MessageStatus {
    match rng.random_range(0..100) {
        0..=54 => MessageStatus::Delivered,
        55..=69 if channel == Channel::Whatsapp => MessageStatus::Read,
        55..=69 => MessageStatus::Delivered,
        70..=79 => MessageStatus::Sent,
        80..=86 => MessageStatus::Undelivered,
        87..=88 => MessageStatus::Failed,
        89..=92 => MessageStatus::Pending,
        93..=95 => MessageStatus::Scheduled,
        96..=97 => MessageStatus::Validated,
        _ => MessageStatus::Cancelled,
    }
}

/// Seeds `n` messages through the store's batch path (1000 a transaction, as
/// RecordMessages writes them), and PMS guests for the undelivered ones.
fn seed(store: &Store, regions: &RegionMap, n: usize, table: &mut Table) -> anyhow::Result<Seeded> {
    let bar = ProgressBar::new(n as u64).with_style(
        ProgressStyle::with_template("seeding {bar:40} {pos}/{len} messages ({per_sec}, {eta})")
            .expect("template"),
    );
    let mut rng = StdRng::seed_from_u64(42);
    let run: u32 = rand::random();
    let today = Utc::now().date_naive();
    let mut conn = store.conn()?;
    let started = Instant::now();
    let mut big_hotel_phones = Vec::new();
    let mut undelivered = 0usize;
    let mut done = 0usize;
    // Recorded over the last year, oldest first, as a year of production would be.
    let year = chrono::Duration::days(365);
    let first_recorded = Utc::now() - year;
    while done < n {
        let count = (n - done).min(1000);
        let recorded_at = first_recorded + year * (done as i32) / (n as i32);
        let mut batch = Vec::with_capacity(count);
        let mut guest_batch = Vec::new();
        for i in done..done + count {
            let hotel = hotel_of(&mut rng);
            let hotel_id = format!("hotel-{hotel:02}");
            let channel = match rng.random_range(0..100) {
                0..=49 => Channel::Whatsapp,
                50..=84 => Channel::Sms,
                _ => Channel::Email,
            };
            let status = status_of(&mut rng, channel);
            let phone = format!("+336{:08}", rng.random_range(0..100_000_000u32));
            let (campaign, template) = match rng.random_range(0..3) {
                0 => ("Online check-in", "checkin"),
                1 => ("Upsell room upgrade", "upsell"),
                _ => ("Welcome", "welcome"),
            };
            // Sent in the weeks before the stay.
            let check_in =
                recorded_at.date_naive() + chrono::Duration::days(rng.random_range(1..60));
            let failed = matches!(status, MessageStatus::Undelivered | MessageStatus::Failed);
            let guest_id = format!("g-{run}-{i}");
            let d = MessageDraft {
                hotel_id: hotel_id.clone(),
                external_id: format!("bench-{run}-{i}"),
                channel: Some(channel),
                recipient_phone: match channel {
                    Channel::Email => String::new(),
                    _ => phone.clone(),
                },
                recipient_email: match channel {
                    Channel::Email => format!("guest{i}@example.com"),
                    _ => String::new(),
                },
                campaign_id: format!("{hotel_id}-{template}"),
                campaign_name: format!("{campaign} — hotel {hotel:02}"),
                guest_name: "Bench Guest".into(),
                status: Some(status),
                provider: match channel {
                    Channel::Whatsapp => "whatsapp_cloud",
                    Channel::Sms => "twilio",
                    Channel::Email => "sendgrid",
                }
                .into(),
                error_code: match (failed, channel) {
                    (false, _) => String::new(),
                    (true, Channel::Whatsapp) => "131026".into(),
                    (true, Channel::Sms) => "30003".into(),
                    (true, Channel::Email) => "bounce".into(),
                },
                pms_guest_id: guest_id.clone(),
                check_in_date: check_in.to_string(),
                check_out_date: (check_in + chrono::Duration::days(rng.random_range(1..8)))
                    .to_string(),
                ..Default::default()
            };
            if hotel == 0 && channel != Channel::Email && big_hotel_phones.len() < 1000 {
                big_hotel_phones.push(phone.clone());
            }
            batch.push(message::validate(d, regions)?);
            if failed {
                undelivered += 1;
                // The PMS holds the same number (70 %), another one (20 %), none (10 %).
                let pms_phone = match rng.random_range(0..10) {
                    0 => String::new(),
                    1 | 2 => format!("+337{:08}", rng.random_range(0..100_000_000u32)),
                    _ => phone,
                };
                guest_batch.push(guest::validate(
                    GuestDraft {
                        hotel_id,
                        pms_guest_id: guest_id,
                        full_name: "Bench Guest".into(),
                        phone: pms_phone,
                        ..Default::default()
                    },
                    regions,
                    Utc::now(),
                )?);
            }
        }
        messages::record(&mut conn, &batch, recorded_at)?;
        guests::upsert(&mut conn, &guest_batch)?;
        done += count;
        if done.is_multiple_of(100_000) {
            // As the server does hourly: plans made for a small table slow a big one.
            store.refresh_statistics()?;
        }
        bar.inc(count as u64);
    }
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    table.add("messages seeded", n.to_string());
    table.add(
        "of which undelivered or failed, with PMS guests",
        undelivered.to_string(),
    );
    table.add(
        "seeding through the store's batch path (messages/s)",
        format!("{:.0}", n as f64 / seconds),
    );
    Ok(Seeded {
        big_hotel_phones,
        today,
    })
}

/// A filter from the wire, as the service reads it (every hotel in scope).
fn message_query(
    filter: proto::MessageFilter,
    regions: &RegionMap,
) -> anyhow::Result<MessageQuery> {
    let draft = FilterDraft::try_from(filter).map_err(|e| anyhow::anyhow!(e))?;
    MessageQuery::build(draft, regions).map_err(|e| anyhow::anyhow!(e))
}

/// What an earlier run seeded: the table's size and the big hotel's phones.
fn seeded_before(store: &Store, table: &mut Table) -> anyhow::Result<Seeded> {
    let mut conn = store.conn()?;
    let all = messages::count(&mut conn, &MessageQuery::default())?;
    table.add("messages (seeded before)", all.total.to_string());
    let big = MessageQuery {
        hotel_ids: vec!["hotel-00".into()],
        channels: vec![Channel::Sms, Channel::Whatsapp],
        ..MessageQuery::default()
    };
    let big_hotel_phones = messages::list(&mut conn, &big, None, 1000)?
        .into_iter()
        .filter_map(|m| m.recipient_phone)
        .collect();
    Ok(Seeded {
        big_hotel_phones,
        today: Utc::now().date_naive(),
    })
}

/// p50 and p99 of `samples` (milliseconds).
fn percentiles(mut samples: Vec<f64>) -> (f64, f64) {
    samples.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    (at(0.5), at(0.99))
}

struct Timing {
    p50: f64,
    p99: f64,
    per_second: f64,
    elapsed: Duration,
}

/// Runs `call(client, i)` from 8 concurrent clients, `per_client` times each.
async fn concurrent<F, Fut>(per_client: usize, call: F) -> anyhow::Result<Timing>
where
    F: Fn(usize, usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    concurrent_within(per_client, Duration::MAX, call).await
}

/// Like `concurrent`, but clients start no new call after `budget`, so a slow query
/// is measured on fewer calls instead of holding the run for minutes.
async fn concurrent_within<F, Fut>(
    per_client: usize,
    budget: Duration,
    call: F,
) -> anyhow::Result<Timing>
where
    F: Fn(usize, usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let started = Instant::now();
    let mut tasks = Vec::new();
    for client in 0..CLIENTS {
        let call = call.clone();
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::with_capacity(per_client);
            for i in 0..per_client {
                if started.elapsed() > budget {
                    break;
                }
                let t = Instant::now();
                call(client, i).await?;
                samples.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            Ok::<_, anyhow::Error>(samples)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    let elapsed = started.elapsed();
    let per_second = all.len() as f64 / elapsed.as_secs_f64();
    let (p50, p99) = percentiles(all);
    Ok(Timing {
        p50,
        p99,
        per_second,
        elapsed,
    })
}

fn filters(seeded: &Seeded) -> Vec<(&'static str, proto::MessageFilter)> {
    let day = |d: i64| (seeded.today + chrono::Duration::days(d)).to_string();
    let big = || vec!["hotel-00".to_string()];
    let a_month_ago = Utc::now() - chrono::Duration::days(30);
    vec![
        (
            "phone",
            proto::MessageFilter {
                phone: seeded.big_hotel_phones[7].clone(),
                ..Default::default()
            },
        ),
        (
            "campaign name",
            proto::MessageFilter {
                hotel_ids: big(),
                campaign_name: "check-in".into(),
                ..Default::default()
            },
        ),
        (
            "check-in range",
            proto::MessageFilter {
                hotel_ids: big(),
                check_in_from: day(0),
                check_in_to: day(7),
                ..Default::default()
            },
        ),
        (
            "check-out range",
            proto::MessageFilter {
                hotel_ids: big(),
                check_out_from: day(10),
                check_out_to: day(17),
                ..Default::default()
            },
        ),
        (
            "channel",
            proto::MessageFilter {
                hotel_ids: big(),
                channels: vec![proto::Channel::Sms as i32],
                ..Default::default()
            },
        ),
        (
            "status",
            proto::MessageFilter {
                hotel_ids: big(),
                statuses: vec![proto::MessageStatus::Undelivered as i32],
                ..Default::default()
            },
        ),
        (
            "created range",
            proto::MessageFilter {
                hotel_ids: big(),
                created_after: Some(prost_types::Timestamp {
                    seconds: a_month_ago.timestamp(),
                    nanos: 0,
                }),
                ..Default::default()
            },
        ),
        (
            "combined: check-in range + channel + status",
            proto::MessageFilter {
                hotel_ids: big(),
                check_in_from: day(-30),
                check_in_to: day(30),
                channels: vec![proto::Channel::Whatsapp as i32],
                statuses: vec![proto::MessageStatus::Delivered as i32],
                ..Default::default()
            },
        ),
    ]
}

async fn measure(
    store: &Store,
    regions: &RegionMap,
    server: &ServerProcess,
    seeded: &Seeded,
    args: &Args,
    table: &mut Table,
) -> anyhow::Result<()> {
    use proto::message_service_client::MessageServiceClient;
    use proto::reconciliation_service_client::ReconciliationServiceClient;
    // One connection per client, as separate services calling sentlog would have:
    // a single shared HTTP/2 connection is served by one task, one core.
    let mut channels = Vec::with_capacity(CLIENTS);
    for _ in 0..CLIENTS {
        channels.push(server.channel().await?);
    }
    let channel = channels[0].clone();
    let calls = args.calls;

    // The floor: a gRPC call that does no work (the health check), same clients.
    let ch = channels.clone();
    let floor = concurrent(calls, move |client, _| {
        let mut health = tonic_health::pb::health_client::HealthClient::new(ch[client].clone());
        async move {
            health
                .check(tonic_health::pb::HealthCheckRequest::default())
                .await?;
            Ok(())
        }
    })
    .await?;
    table.add(
        "gRPC call doing no work (health check): p50 / p99 ms, calls/s",
        format!(
            "{:.1} / {:.1}, {:.0}",
            floor.p50, floor.p99, floor.per_second
        ),
    );

    for (name, filter) in filters(seeded) {
        let query = message_query(filter.clone(), regions)?;
        let (ch, f) = (channels.clone(), filter.clone());
        let grpc = concurrent_within(calls, QUERY_BUDGET, move |client, _| {
            let mut client = MessageServiceClient::new(ch[client].clone());
            let f = f.clone();
            async move {
                client
                    .list_messages(proto::ListMessagesRequest {
                        filter: Some(f),
                        page_size: 50,
                        page_token: String::new(),
                    })
                    .await?;
                Ok(())
            }
        })
        .await?;
        let (st, q) = (store.clone(), query.clone());
        let plain = concurrent_within(calls, QUERY_BUDGET, move |_, _| {
            let (st, q) = (st.clone(), q.clone());
            async move {
                st.run(move |c| raw::list(c, &q, 51)).await?;
                Ok(())
            }
        })
        .await?;
        table.add(
            format!("ListMessages {name}: p50 / p99 ms, calls/s; plain SQL calls/s; ratio"),
            format!(
                "{:.1} / {:.1}, {:.0}; {:.0}; {:.2}",
                grpc.p50,
                grpc.p99,
                grpc.per_second,
                plain.per_second,
                grpc.per_second / plain.per_second
            ),
        );
        let (ch, f) = (channels.clone(), filter.clone());
        let grpc = concurrent_within(calls.div_ceil(5), QUERY_BUDGET, move |client, _| {
            let mut client = MessageServiceClient::new(ch[client].clone());
            let f = f.clone();
            async move {
                client
                    .count_messages(proto::CountMessagesRequest { filter: Some(f) })
                    .await?;
                Ok(())
            }
        })
        .await?;
        let (st, q) = (store.clone(), query.clone());
        let plain = concurrent_within(calls.div_ceil(5), QUERY_BUDGET, move |_, _| {
            let (st, q) = (st.clone(), q.clone());
            async move {
                st.run(move |c| raw::count(c, &q)).await?;
                Ok(())
            }
        })
        .await?;
        table.add(
            format!("CountMessages {name}: p50 / p99 ms; plain SQL p50 / p99 ms"),
            format!(
                "{:.1} / {:.1}; {:.1} / {:.1}",
                grpc.p50, grpc.p99, plain.p50, plain.p99
            ),
        );
    }

    let ch = channels.clone();
    let stats = concurrent_within(calls.div_ceil(5), QUERY_BUDGET, move |client, _| {
        let mut client = MessageServiceClient::new(ch[client].clone());
        async move {
            client
                .get_campaign_stats(proto::GetCampaignStatsRequest {
                    hotel_id: "hotel-00".into(),
                    campaign_id: "hotel-00-checkin".into(),
                    ..Default::default()
                })
                .await?;
            Ok(())
        }
    })
    .await?;
    table.add(
        "GetCampaignStats of a big hotel's campaign: p50 / p99 ms",
        format!("{:.1} / {:.1}", stats.p50, stats.p99),
    );

    // Page 20 of a big hotel, reached through page tokens.
    let mut client = MessageServiceClient::new(channel.clone());
    let mut token = String::new();
    let mut page_20 = Vec::new();
    for _ in 0..5 {
        for page in 1..=20 {
            let t = Instant::now();
            let r = client
                .list_messages(proto::ListMessagesRequest {
                    filter: Some(proto::MessageFilter {
                        hotel_ids: vec!["hotel-00".into()],
                        ..Default::default()
                    }),
                    page_size: 50,
                    page_token: token,
                })
                .await?
                .into_inner();
            if page == 20 {
                page_20.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            token = r.next_page_token;
        }
        token = String::new();
    }
    let (p50, p99) = percentiles(page_20);
    table.add(
        "ListMessages page 20 through tokens: p50 / max ms",
        format!("{p50:.1} / {p99:.1}"),
    );

    // CheckRecipients: 1000 phones of the biggest hotel (half recorded, half not).
    let mut phones: Vec<String> = seeded.big_hotel_phones.iter().take(500).cloned().collect();
    phones.extend((0..500).map(|i| format!("+337{:08}", i * 7919)));
    let ch = channels.clone();
    let check = concurrent_within(calls.div_ceil(5), QUERY_BUDGET, move |client, _| {
        let mut client = ReconciliationServiceClient::new(ch[client].clone());
        let phones = phones.clone();
        async move {
            client
                .check_recipients(proto::CheckRecipientsRequest {
                    hotel_id: "hotel-00".into(),
                    phones,
                    emails: vec![],
                })
                .await?;
            Ok(())
        }
    })
    .await?;
    table.add(
        "CheckRecipients 1000 phones of a big hotel: p50 / p99 ms",
        format!("{:.1} / {:.1}", check.p50, check.p99),
    );

    // RecordMessages over gRPC: 8 clients, batches of 1000 new messages.
    let batches_per_client = 5;
    let run: u32 = rand::random();
    let ch = channels.clone();
    let ids = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = ids.clone();
    let recording = concurrent(batches_per_client, move |client_no, batch_no| {
        let mut client = MessageServiceClient::new(ch[client_no].clone());
        let sink = sink.clone();
        async move {
            let messages = (0..1000)
                .map(|i| proto::NewMessage {
                    hotel_id: format!("hotel-{:02}", (client_no * 7 + i) % HOTELS),
                    external_id: format!("rec-{run}-{client_no}-{batch_no}-{i}"),
                    channel: proto::Channel::Whatsapp as i32,
                    recipient_phone: format!(
                        "06 {:02} {:02} {:02} {:02}",
                        i % 100,
                        batch_no,
                        client_no,
                        i / 100
                    ),
                    campaign_id: "live".into(),
                    campaign_name: "Live campaign".into(),
                    provider: "whatsapp_cloud".into(),
                    ..Default::default()
                })
                .collect();
            let r = client
                .record_messages(proto::RecordMessagesRequest { messages })
                .await?
                .into_inner();
            sink.lock()
                .expect("not poisoned")
                .extend(r.results.into_iter().map(|r| r.message_id));
            Ok(())
        }
    })
    .await?;
    let recorded = CLIENTS * batches_per_client * 1000;
    table.add(
        "RecordMessages over gRPC, batches of 1000, 8 clients (messages/s)",
        format!("{:.0}", recorded as f64 / recording.elapsed.as_secs_f64()),
    );

    // UpdateStatuses: the recorded messages' callbacks (SENT, DELIVERED, READ),
    // shuffled, 10 % duplicates, 10 % arriving after a later status; half the messages
    // over gRPC, the other half as plain SQL, batches of 500 from 8 clients.
    let ids = std::mem::take(&mut *ids.lock().expect("not poisoned"));
    let (for_grpc, for_raw) = ids.split_at(ids.len() / 2);
    let mut rng = StdRng::seed_from_u64(7);
    let grpc_events = callbacks(for_grpc, &mut rng);
    let raw_events = callbacks(for_raw, &mut rng);
    let per_client = grpc_events.len().div_ceil(500).div_ceil(CLIENTS);
    let batches: Vec<Vec<proto::StatusEvent>> = grpc_events
        .chunks(500)
        .map(|c| {
            c.iter()
                .map(|e| proto::StatusEvent {
                    message_id: e.message_id.clone(),
                    event_id: e.event_id.clone(),
                    status: e.status.code(),
                    occurred_at: Some(prost_types::Timestamp {
                        seconds: e.occurred_at.timestamp(),
                        nanos: 0,
                    }),
                    ..Default::default()
                })
                .collect()
        })
        .collect();
    let batches = std::sync::Arc::new(batches);
    let ch = channels.clone();
    let grpc = concurrent(per_client, move |client_no, i| {
        let mut client = MessageServiceClient::new(ch[client_no].clone());
        let batch = batches.get(i * CLIENTS + client_no).cloned();
        async move {
            if let Some(events) = batch {
                client
                    .update_statuses(proto::UpdateStatusesRequest { events })
                    .await?;
            }
            Ok(())
        }
    })
    .await?;
    let grpc_rate = grpc_events.len() as f64 / grpc.elapsed.as_secs_f64();
    let raw_batches: std::sync::Arc<Vec<Vec<RawEvent>>> =
        std::sync::Arc::new(raw_events.chunks(500).map(<[RawEvent]>::to_vec).collect());
    let st = store.clone();
    let plain = concurrent(per_client, move |client_no, i| {
        let st = st.clone();
        let batches = raw_batches.clone();
        async move {
            let at = i * CLIENTS + client_no;
            if at < batches.len() {
                st.run(move |c| raw::apply_events(c, &batches[at], Utc::now()))
                    .await?;
            }
            Ok(())
        }
    })
    .await?;
    let raw_rate = raw_events.len() as f64 / plain.elapsed.as_secs_f64();
    table.add(
        "UpdateStatuses over gRPC, batches of 500, 8 clients (events/s); plain SQL (events/s); ratio",
        format!("{grpc_rate:.0}; {raw_rate:.0}; {:.2}", grpc_rate / raw_rate),
    );

    // A reconciliation pass over every undelivered message, with pushed PMS guests.
    let mut client = ReconciliationServiceClient::new(channel.clone());
    let started = Instant::now();
    let run = client
        .run_reconciliation(proto::RunReconciliationRequest::default())
        .await?
        .into_inner();
    let seconds = started.elapsed().as_secs_f64();
    table.add(
        "reconciliation pass: messages checked, flags raised, seconds",
        format!(
            "{}, {}, {seconds:.1}",
            run.messages_checked, run.flags_raised
        ),
    );
    table.add(
        "reconciliation pass (messages/s)",
        format!("{:.0}", run.messages_checked as f64 / seconds),
    );
    Ok(())
}

/// Provider callbacks for these messages: SENT, DELIVERED and READ, shuffled (so
/// 10 %-ish of a message's events arrive after a later one), plus 10 % replays.
fn callbacks(ids: &[String], rng: &mut StdRng) -> Vec<RawEvent> {
    let base = Utc::now() - chrono::Duration::minutes(30);
    let mut events = Vec::with_capacity(ids.len() * 3);
    for (i, id) in ids.iter().enumerate() {
        for (status, secs) in [
            (MessageStatus::Sent, 1),
            (MessageStatus::Delivered, 5),
            (MessageStatus::Read, 40),
        ] {
            events.push(RawEvent {
                message_id: id.clone(),
                event_id: format!("{}-{i}", status.name()),
                status,
                occurred_at: base + chrono::Duration::seconds(secs + (i % 60) as i64),
            });
        }
    }
    // Mostly in order, as providers send them; one in ten moved later in the stream.
    for i in 0..events.len() {
        if rng.random_range(0..10) == 0 {
            let j = rng.random_range(i..events.len());
            events.swap(i, j);
        }
    }
    let replays: Vec<RawEvent> = events.iter().step_by(10).cloned().collect();
    for e in replays {
        let at = rng.random_range(0..events.len());
        events.insert(at, e);
    }
    events
}
