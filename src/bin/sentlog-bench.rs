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
                ..Default::default()
            };
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
