//! The `sentlog` command: serve, migrate, demo.
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use sentlog::config::{Settings, Validated};
use sentlog::store::connection::redact_url;

#[derive(Parser)]
#[command(
    name = "sentlog",
    version,
    about = "System of record for guest messages"
)]
struct Cli {
    /// TOML settings file (every setting is optional).
    #[arg(long, env = "SENTLOG_CONFIG", global = true)]
    config: Option<PathBuf>,
    /// Database URL: sqlite://FILE or postgres://USER@HOST/DB (overrides DATABASE_URL).
    #[arg(long, global = true)]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve gRPC (with reflection and health) until Ctrl-C or SIGTERM.
    Serve {
        /// Listen address (overrides SENTLOG_LISTEN).
        #[arg(long)]
        listen: Option<String>,
        /// Seed demo data first when the database holds no message.
        #[arg(long)]
        demo: bool,
        /// How many demo messages `--demo` seeds.
        #[arg(long, default_value_t = 20_000)]
        demo_messages: usize,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Run reconciliation: `--once` runs one pass now and prints its counts.
    Reconcile {
        /// Run one pass and exit (the server runs passes on its schedule).
        #[arg(long)]
        once: bool,
        /// Only these hotels (repeatable); default every hotel.
        #[arg(long = "hotel")]
        hotels: Vec<String>,
    },
    /// Fill the database with realistic demo data.
    Demo {
        #[arg(long, default_value_t = 20_000)]
        messages: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

fn settings(cli: &Cli, listen: Option<&String>) -> anyhow::Result<Validated> {
    let mut s = Settings::load(cli.config.as_deref())?;
    if let Some(url) = &cli.database_url {
        s.database_url = url.clone();
    }
    if let Some(l) = listen {
        s.listen = l.clone();
    }
    Ok(s.validate()?)
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Runtime::new()?;
    match &cli.command {
        Command::Serve {
            listen,
            demo,
            demo_messages,
        } => runtime.block_on(serve(
            settings(&cli, listen.as_ref())?,
            *demo,
            *demo_messages,
        )),
        Command::Migrate => {
            let config = settings(&cli, None)?;
            runtime.block_on(sentlog::app::open_store(&config))?;
            println!(
                "migrations applied to {}",
                redact_url(&config.settings.database_url)
            );
            Ok(())
        }
        Command::Reconcile { once, hotels } => {
            if !once {
                anyhow::bail!(
                    "`sentlog serve` runs passes on its schedule; use `sentlog reconcile --once` for one pass now"
                );
            }
            let config = settings(&cli, None)?;
            runtime.block_on(async {
                let store = sentlog::app::open_store(&config).await?;
                let reconciler = sentlog::app::reconciler(store, &config);
                let run = reconciler
                    .run_once(sentlog::domain::run::Trigger::Manual, hotels.clone())
                    .await?;
                println!(
                    "run {}: {}; {} messages checked, {} flags raised, {} skipped, {} errors",
                    run.id,
                    run.state.name(),
                    run.messages_checked,
                    run.flags_raised,
                    run.messages_skipped,
                    run.errors
                );
                for line in &run.error_details {
                    println!("  error: {line}");
                }
                Ok::<_, anyhow::Error>(())
            })
        }
        Command::Demo { messages, seed } => {
            let config = settings(&cli, None)?;
            let store = runtime.block_on(sentlog::app::open_store(&config))?;
            let created = sentlog::demo::load(&store, *messages, *seed, true)?;
            println!(
                "{created} demo messages recorded ({} already there)",
                messages - created
            );
            Ok(())
        }
    }
}

async fn serve(config: Validated, demo: bool, demo_messages: usize) -> anyhow::Result<()> {
    let url = redact_url(&config.settings.database_url);
    let store = sentlog::app::open_store(&config)
        .await
        .with_context(|| format!("opening database {url}"))?;
    if demo && sentlog::demo::is_empty(&store)? {
        let s = store.clone();
        let created =
            tokio::task::spawn_blocking(move || sentlog::demo::load(&s, demo_messages, 1, true))
                .await??;
        tracing::info!(created, "demo data seeded");
    }
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let mut server = sentlog::app::start(&config, store, listener).await?;
    tracing::info!(addr = %server.addr, database = %url, "sentlog serving gRPC");
    tokio::select! {
        result = shutdown_signal() => result?,
        ended = server.wait_ref() => {
            ended.map_err(|e| anyhow::anyhow!(e))?;
            return Ok(());
        }
    }
    tracing::info!("shutting down: finishing in-flight calls");
    server.stop().await.map_err(|e| anyhow::anyhow!(e))?;
    Ok(())
}

async fn shutdown_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await?;
    Ok(())
}
