//! sentlog-bench: seeds a database the way production fills it, starts the real server
//! in a child process on loopback, and measures every main path over gRPC beside the
//! same work done as plain SQL through the driver. Prints one Markdown table (and JSON
//! with --json). See the README's Performance section.
mod csm;
mod fixed_page;
mod measure;
mod raw;
mod report;
mod seed;
mod server;
mod timing;
mod watchers;

use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use sentlog::config::Settings;
use sentlog::store::messages;

use report::Table;
use seed::{filters, message_query, seed, seeded_before};
use server::{ServerProcess, serve};
use watchers::watchers;

#[derive(Parser)]
#[command(
    name = "sentlog-bench",
    about = "Measure sentlog's main paths against the database's own limit"
)]
pub struct Args {
    /// sqlite://FILE or postgres://... (a fresh database: the run adds its own data).
    #[arg(long, default_value = "sqlite://sentlog-bench.db")]
    database_url: String,
    /// Messages to seed.
    #[arg(long, default_value_t = 1_000_000)]
    messages: usize,
    /// Calls per client for each query measure (8 clients).
    #[arg(long, default_value_t = 100)]
    calls: usize,
    /// Seed with the secondary indexes of `messages` dropped, and rebuild them from
    /// their own definitions after: the same rows through the same batch path, for
    /// ten million messages, whose seed row by row takes hours. A run stopped during
    /// the seed leaves a database without those indexes: seed it again.
    #[arg(long)]
    bulk_seed: bool,
    /// Measure an already seeded database again instead of seeding.
    #[arg(long)]
    reuse: bool,
    /// Measure only the writes (RecordMessages, UpdateStatuses and their plain-SQL
    /// baselines), to tune them on a `--reuse`d database without the reads' minutes.
    #[arg(long)]
    writes_only: bool,
    /// Measure only ListMessages of each filter (and the no-op floor), to compare two
    /// builds' pages on a `--reuse`d database without the counts' minutes.
    #[arg(long)]
    lists_only: bool,
    /// Messages per ListMessages page (the plain SQL reads one more, as the store
    /// does). A page of 1 next to the default 50 tells what the answer's rows cost on
    /// the gRPC side, which the composed limit's no-op call does not carry.
    #[arg(long, default_value_t = 50)]
    page_size: u32,
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
    /// Instead of the query measures: seed the realistic demo (guest stays with ground
    /// truth) on a fresh database, run one pass, and report the CSM signal (flags per
    /// 1,000 stays, precision, recall, pass speed) and the CSM reads' latency.
    #[arg(long)]
    csm_signal: bool,
    /// Instead of the query measures: on an already seeded database, run the retention
    /// purge of every message recorded more than this many days ago (the scheduled
    /// job's code: batches of 1000, a pause between) and report its pace. The seed
    /// spans 365 days, so 335 purges its oldest month.
    #[arg(long)]
    retention_days: Option<u32>,
    /// Internal: serve gRPC on this address (the benchmark's server child process).
    #[arg(long, hide = true)]
    serve: Option<String>,
    /// Internal: with --serve, serve this encoded ListMessages reply to every call
    /// instead of the service (the fixed-page server of the reply-cost measure).
    #[arg(long, hide = true)]
    serve_reply: Option<std::path::PathBuf>,
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

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let settings = Settings {
        database_url: args.database_url.clone(),
        console_listen: "off".into(),
        request_timeout_ms: 3_600_000,
        ..Settings::default()
    };
    if let (Some(addr), Some(reply)) = (&args.serve, &args.serve_reply) {
        return fixed_page::serve(reply, addr);
    }
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
    // The benchmark's own connections seed and VACUUM a million rows: statements the
    // server never runs, longer than its 30 s limit. The measured server keeps it.
    let config = Settings {
        statement_timeout_ms: 3_600_000,
        ..settings.clone()
    }
    .validate()?;
    let runtime = tokio::runtime::Runtime::new()?;
    let store = runtime
        .block_on(sentlog::app::open_store(&config))
        .context("opening the database")?;
    let mut table = Table { rows: Vec::new() };
    table.add("cores", std::thread::available_parallelism()?.to_string());
    table.add("backend", store.backend().name());
    if args.csm_signal {
        drop(runtime);
        csm::csm_signal(
            &store,
            &config,
            &args.database_url,
            args.messages,
            args.calls,
            args.reuse,
            &mut table,
        )?;
        print(&table);
        return write_json(&table, args.json.as_deref());
    }

    if let Some(days) = args.retention_days {
        let started = std::time::Instant::now();
        let purged = runtime.block_on(sentlog::service::retention::run_once(&store, days))?;
        let seconds = started.elapsed().as_secs_f64();
        table.add(
            format!("retention purge of messages recorded over {days} days ago: messages, closed flags, seconds"),
            format!("{}, {}, {seconds:.1}", purged.messages, purged.flags),
        );
        table.add(
            "retention purge (messages/s)",
            format!("{:.0}", purged.messages as f64 / seconds),
        );
        print(&table);
        return write_json(&table, args.json.as_deref());
    }
    let seeded = match args.reuse {
        true => seeded_before(&store, &mut table)?,
        false => seed(
            &store,
            &config.regions,
            args.messages,
            args.bulk_seed,
            &mut table,
        )?,
    };
    store.settle_tallies()?;
    store.vacuum_after_bulk_load()?;
    // Measure the database at rest, not the bulk load's checkpoint.
    store.checkpoint()?;
    let (bytes, messages) = raw::disk_use(&mut *store.conn()?)?;
    table.add(
        "database on disk: MB; bytes per message (history and indexes included)",
        format!(
            "{:.0}; {:.0}",
            bytes as f64 / 1_048_576.0,
            bytes as f64 / messages.max(1) as f64
        ),
    );
    let mut server = ServerProcess::start(&args.database_url)?;
    let result = runtime.block_on(measure::measure(
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

    print(&table);
    if args.explain {
        for (name, filter) in filters(&seeded) {
            let query = message_query(filter, &config.regions)?;
            let mut conn = store.conn()?;
            let plan = messages::explain_list(&mut conn, &query)?;
            println!("\n{name}:\n```\n{}\n```", plan.join("\n"));
        }
    }
    write_json(&table, args.json.as_deref())
}

/// The table as Markdown on stdout.
fn print(table: &Table) {
    println!("| measure | figure |\n| --- | --- |");
    for (what, figure) in &table.rows {
        println!("| {what} | {figure} |");
    }
}

/// The table as JSON in `path`, if given.
fn write_json(table: &Table, path: Option<&std::path::Path>) -> anyhow::Result<()> {
    if let Some(path) = path {
        let map: serde_json::Map<String, serde_json::Value> = table
            .rows
            .iter()
            .map(|(w, f)| (w.clone(), serde_json::Value::String(f.clone())))
            .collect();
        std::fs::write(path, serde_json::to_string_pretty(&map)?)?;
    }
    Ok(())
}
