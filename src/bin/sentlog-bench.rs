//! sentlog-bench: seeds a database through the store's bulk path and measures the main
//! paths, printing one Markdown table (and JSON with --json).
//!
//! Today it measures the write path and the reconciliation pass; the query paths join it
//! with the benchmark work.
use std::time::Instant;

use anyhow::Context;
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sentlog::config::Settings;
use sentlog::domain::guest::{self, GuestDraft};
use sentlog::domain::message::{self, Channel, MessageDraft, MessageStatus};
use sentlog::domain::run::Trigger;
use sentlog::domain::status_event::{StatusEvent, Target};
use sentlog::store::{guests, messages, status_events};

#[derive(Parser)]
#[command(
    name = "sentlog-bench",
    about = "Measure sentlog's main paths on a real database"
)]
struct Args {
    /// sqlite://FILE or postgres://... (a fresh database is best).
    #[arg(long, default_value = "sqlite://sentlog-bench.db")]
    database_url: String,
    /// Undelivered messages to seed, each with a PMS guest record.
    #[arg(long, default_value_t = 100_000)]
    undelivered: usize,
    /// Write the figures as JSON too.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
}

struct Row {
    what: String,
    figure: String,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config = Settings {
        database_url: args.database_url.clone(),
        console_listen: "off".into(),
        ..Settings::default()
    }
    .validate()?;
    let runtime = tokio::runtime::Runtime::new()?;
    let store = runtime
        .block_on(sentlog::app::open_store(&config))
        .context("opening the database")?;
    let mut rows = vec![
        Row {
            what: "cores".into(),
            figure: std::thread::available_parallelism()?.to_string(),
        },
        Row {
            what: "backend".into(),
            figure: store.backend().name().into(),
        },
    ];

    // Seed: undelivered messages through the batch path, 1000 a transaction, and their
    // guests (80 % same number, 10 % another number, 10 % no phone).
    let bar = ProgressBar::new(args.undelivered as u64).with_style(
        ProgressStyle::with_template("seeding {bar:40} {pos}/{len} ({eta})").expect("template"),
    );
    let mut rng = StdRng::seed_from_u64(42);
    let run_tag: u64 = rand::random();
    let regions = config.regions.clone();
    let mut conn = store.conn()?;
    let started = Instant::now();
    let mut seeded = 0usize;
    let mut first_phone = String::new();
    while seeded < args.undelivered {
        let n = (args.undelivered - seeded).min(1000);
        let mut batch = Vec::with_capacity(n);
        let mut guest_batch = Vec::with_capacity(n);
        for i in seeded..seeded + n {
            let hotel = format!("hotel-{}", rng.random_range(0..20));
            let phone = format!("+3361{:07}", rng.random_range(0..10_000_000));
            let d = MessageDraft {
                hotel_id: hotel.clone(),
                external_id: format!("bench-{run_tag}-{i}"),
                channel: Some(Channel::Sms),
                recipient_phone: phone.clone(),
                campaign_name: "Bench check-in".into(),
                status: Some(MessageStatus::Undelivered),
                provider: "twilio".into(),
                error_code: "30003".into(),
                pms_guest_id: format!("g-{run_tag}-{i}"),
                check_in_date: (chrono::Utc::now().date_naive()
                    + chrono::Duration::days(rng.random_range(-60..60)))
                .to_string(),
                ..Default::default()
            };
            if i == 0 {
                first_phone = phone.clone();
            }
            batch.push(message::validate(d, &regions)?);
            let roll = rng.random_range(0..10);
            guest_batch.push(guest::validate(
                GuestDraft {
                    hotel_id: hotel,
                    pms_guest_id: format!("g-{run_tag}-{i}"),
                    full_name: "Bench Guest".into(),
                    phone: match roll {
                        0 => format!("+3362{:07}", i % 10_000_000),
                        1 => String::new(),
                        _ => phone,
                    },
                    ..Default::default()
                },
                &regions,
                chrono::Utc::now(),
            )?);
        }
        messages::record(&mut conn, &batch, chrono::Utc::now())?;
        guests::upsert(&mut conn, &guest_batch)?;
        seeded += n;
        bar.inc(n as u64);
    }
    bar.finish_and_clear();
    drop(conn);
    let seconds = started.elapsed().as_secs_f64();
    rows.push(Row {
        what: "undelivered messages seeded".into(),
        figure: args.undelivered.to_string(),
    });
    rows.push(Row {
        what: "record + guest upsert, batches of 1000 (messages/s)".into(),
        figure: format!("{:.0}", args.undelivered as f64 / seconds),
    });

    // One reconciliation pass over every candidate.
    let reconciler = std::sync::Arc::new(sentlog::app::reconciler(store.clone(), &config));
    let started = Instant::now();
    let run = runtime.block_on(reconciler.run_once(Trigger::Manual, Vec::new()))?;
    let seconds = started.elapsed().as_secs_f64();
    rows.push(Row {
        what: "reconciliation pass: messages checked".into(),
        figure: run.messages_checked.to_string(),
    });
    rows.push(Row {
        what: "reconciliation pass: flags raised".into(),
        figure: run.flags_raised.to_string(),
    });
    rows.push(Row {
        what: "reconciliation pass: seconds".into(),
        figure: format!("{seconds:.2}"),
    });
    rows.push(Row {
        what: "reconciliation pass (messages/s)".into(),
        figure: format!("{:.0}", run.messages_checked as f64 / seconds),
    });

    // UpdateStatuses' store path: batches of 500 events (SENT then DELIVERED per
    // message, shuffled, 10 % replayed duplicates), one transaction per batch.
    let ids: Vec<String> = {
        let mut conn = store.conn()?;
        let mut ids = Vec::new();
        let mut cursor = None;
        loop {
            let page = messages::list(&mut conn, &Default::default(), cursor.as_ref(), 500)?;
            let Some(last) = page.last() else { break };
            cursor = Some(sentlog::domain::page::Cursor {
                at: last.created_at,
                id: last.id.clone(),
            });
            ids.extend(page.into_iter().map(|m| m.id));
        }
        ids
    };
    let base = chrono::Utc::now() - chrono::Duration::minutes(30);
    let mut events = Vec::with_capacity(ids.len() * 2);
    for (i, id) in ids.iter().enumerate() {
        for (status, secs) in [(MessageStatus::Sent, 1), (MessageStatus::Delivered, 5)] {
            events.push(StatusEvent {
                target: Target::Id(id.clone()),
                status,
                occurred_at: base + chrono::Duration::seconds(secs + (i % 60) as i64),
                event_id: Some(format!("{}-{i}", status.name())),
                error_code: None,
                error_message: None,
            });
        }
    }
    for i in (1..events.len()).rev() {
        events.swap(i, rng.random_range(0..=i));
    }
    let duplicates: Vec<StatusEvent> = events.iter().step_by(10).cloned().collect();
    events.extend(duplicates);
    let mut conn = store.conn()?;
    let started = Instant::now();
    for batch in events.chunks(500) {
        status_events::apply(&mut conn, batch, &[], chrono::Utc::now())?;
    }
    let seconds = started.elapsed().as_secs_f64();
    rows.push(Row {
        what: "UpdateStatuses store path, batches of 500, 10 % duplicates (events/s)".into(),
        figure: format!("{:.0}", events.len() as f64 / seconds),
    });

    // The query paths over gRPC: the real server on loopback, 8 concurrent clients.
    runtime.block_on(query_paths(&config, store.clone(), &first_phone, &mut rows))?;

    println!("| measure | figure |\n| --- | --- |");
    for r in &rows {
        println!("| {} | {} |", r.what, r.figure);
    }
    if let Some(path) = args.json {
        let map: serde_json::Map<String, serde_json::Value> = rows
            .iter()
            .map(|r| (r.what.clone(), serde_json::Value::String(r.figure.clone())))
            .collect();
        std::fs::write(path, serde_json::to_string_pretty(&map)?)?;
    }
    Ok(())
}

/// p50 and p99 of `samples` (milliseconds).
fn percentiles(mut samples: Vec<f64>) -> (f64, f64) {
    samples.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    (at(0.5), at(0.99))
}

/// Runs `call` from 8 concurrent clients, `per_client` times each.
async fn concurrent<F, Fut>(per_client: usize, call: F) -> anyhow::Result<(f64, f64, f64)>
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let call = call.clone();
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::with_capacity(per_client);
            for _ in 0..per_client {
                let t = Instant::now();
                call().await?;
                samples.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            Ok::<_, anyhow::Error>(samples)
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    let calls = all.len() as f64 / started.elapsed().as_secs_f64();
    let (p50, p99) = percentiles(all);
    Ok((p50, p99, calls))
}

async fn query_paths(
    config: &sentlog::config::Validated,
    store: sentlog::store::Store,
    phone: &str,
    rows: &mut Vec<Row>,
) -> anyhow::Result<()> {
    use sentlog::proto;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let mut settings = config.settings.clone();
    settings.reconcile.schedule = "off".into();
    let config = settings.validate()?;
    let server = sentlog::app::start(&config, store, listener).await?;
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", server.addr))?
        .connect()
        .await?;
    let today = chrono::Utc::now().date_naive();
    let day = |d: i64| (today + chrono::Duration::days(d)).to_string();
    let hour_ago = chrono::Utc::now() - chrono::Duration::hours(1);
    let filters: Vec<(&str, proto::MessageFilter)> = vec![
        (
            "hotel",
            proto::MessageFilter {
                hotel_ids: vec!["hotel-3".into()],
                ..Default::default()
            },
        ),
        (
            "phone",
            proto::MessageFilter {
                phone: phone.into(),
                ..Default::default()
            },
        ),
        (
            "campaign name",
            proto::MessageFilter {
                hotel_ids: vec!["hotel-3".into()],
                campaign_name: "check-in".into(),
                ..Default::default()
            },
        ),
        (
            "check-in range",
            proto::MessageFilter {
                hotel_ids: vec!["hotel-3".into()],
                check_in_from: day(0),
                check_in_to: day(7),
                ..Default::default()
            },
        ),
        (
            "channel",
            proto::MessageFilter {
                hotel_ids: vec!["hotel-3".into()],
                channels: vec![proto::Channel::Sms as i32],
                ..Default::default()
            },
        ),
        (
            "status",
            proto::MessageFilter {
                hotel_ids: vec!["hotel-3".into()],
                statuses: vec![proto::MessageStatus::Undelivered as i32],
                ..Default::default()
            },
        ),
        (
            "created range",
            proto::MessageFilter {
                hotel_ids: vec!["hotel-3".into()],
                created_after: Some(prost_types::Timestamp {
                    seconds: hour_ago.timestamp(),
                    nanos: 0,
                }),
                ..Default::default()
            },
        ),
    ];
    for (name, filter) in filters {
        let ch = channel.clone();
        let f = filter.clone();
        let (p50, p99, cps) = concurrent(50, move || {
            let mut client = proto::message_service_client::MessageServiceClient::new(ch.clone());
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
        rows.push(Row {
            what: format!("ListMessages {name}: p50 / p99 ms, calls/s (8 clients)"),
            figure: format!("{p50:.1} / {p99:.1}, {cps:.0}"),
        });
        let ch = channel.clone();
        let (p50, p99, _) = concurrent(10, move || {
            let mut client = proto::message_service_client::MessageServiceClient::new(ch.clone());
            let f = filter.clone();
            async move {
                client
                    .count_messages(proto::CountMessagesRequest { filter: Some(f) })
                    .await?;
                Ok(())
            }
        })
        .await?;
        rows.push(Row {
            what: format!("CountMessages {name}: p50 / p99 ms"),
            figure: format!("{p50:.1} / {p99:.1}"),
        });
    }
    // Page 20 reached through tokens.
    let mut client = proto::message_service_client::MessageServiceClient::new(channel.clone());
    let mut token = String::new();
    let mut page_ms = 0.0;
    for page in 1..=20 {
        let t = Instant::now();
        let r = client
            .list_messages(proto::ListMessagesRequest {
                filter: None,
                page_size: 50,
                page_token: token,
            })
            .await?
            .into_inner();
        if page == 20 {
            page_ms = t.elapsed().as_secs_f64() * 1000.0;
        }
        token = r.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    rows.push(Row {
        what: "ListMessages page 20 through tokens (ms)".into(),
        figure: format!("{page_ms:.1}"),
    });
    // CheckRecipients with 1000 phones of one hotel.
    let phones: Vec<String> = (0..1000)
        .map(|i| format!("+3361{:07}", i * 9973 % 10_000_000))
        .collect();
    let ch = channel.clone();
    let (p50, p99, _) = concurrent(5, move || {
        let mut client =
            proto::reconciliation_service_client::ReconciliationServiceClient::new(ch.clone());
        let phones = phones.clone();
        async move {
            client
                .check_recipients(proto::CheckRecipientsRequest {
                    hotel_id: "hotel-3".into(),
                    phones,
                    emails: vec![],
                })
                .await?;
            Ok(())
        }
    })
    .await?;
    rows.push(Row {
        what: "CheckRecipients 1000 phones: p50 / p99 ms".into(),
        figure: format!("{p50:.1} / {p99:.1}"),
    });
    server.stop().await.map_err(|e| anyhow::anyhow!(e))?;
    let peak_kb = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(String::from)
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<u64>().ok())
        })
        .unwrap_or(0);
    rows.push(Row {
        what: "peak resident memory of the process (server + bench client), MB".into(),
        figure: format!("{:.0}", peak_kb as f64 / 1024.0),
    });
    Ok(())
}
