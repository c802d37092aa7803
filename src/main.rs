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
        /// Web console address, or "off" (overrides SENTLOG_CONSOLE_LISTEN).
        #[arg(long)]
        console_listen: Option<String>,
        /// Provider webhooks' address, or "off" (overrides SENTLOG_WEBHOOK_LISTEN).
        #[arg(long)]
        webhook_listen: Option<String>,
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
    /// Write every message matching the filters, as CSV, from a running server.
    Export(Box<ExportArgs>),
    /// Access tokens.
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
    /// Fill the database with realistic demo data: guest stays of 2 to 5 messages.
    Demo {
        #[arg(long, default_value_t = 20_000)]
        messages: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Write which stays truly need a CSM (CSV: hotel_id,stay_key,scenario,needs_csm).
        #[arg(long)]
        truth: Option<std::path::PathBuf>,
        /// Write the demo messages' provider callbacks into this directory (twilio.txt,
        /// whatsapp.jsonl, sendgrid.jsonl, and a SendGrid signing key) for
        /// `webhook-replay`, without touching the database.
        #[arg(long)]
        webhooks: Option<std::path::PathBuf>,
        /// The AccountSid the Twilio samples carry.
        #[arg(long, default_value = "ACdemo")]
        twilio_account_sid: String,
    },
    /// Post a file of recorded provider callbacks, signed as the provider signs them,
    /// to a running server's webhook listener, and print what became of them.
    WebhookReplay {
        /// twilio, whatsapp or sendgrid.
        #[arg(long)]
        provider: String,
        /// One request body per line (as `demo --webhooks` writes them).
        file: PathBuf,
        /// The webhook listener (webhook_listen).
        #[arg(long, default_value = "http://127.0.0.1:8090")]
        url: String,
        /// Twilio: the auth token; WhatsApp: the app secret; SendGrid: a file holding
        /// the PKCS#8 private key. Absent: requests go unsigned.
        #[arg(long, env = "SENTLOG_WEBHOOK_SECRET", hide_env_values = true)]
        secret: Option<String>,
        /// Twilio: the URL Twilio calls, as the server's public_base_url gives it
        /// (default: URL/webhooks/twilio).
        #[arg(long)]
        signed_url: Option<String>,
    },
}

#[derive(clap::Args)]
struct ExportArgs {
    /// The running sentlog server.
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    server: String,
    /// Access token (agent role or above), when the server has tokens.
    #[arg(long, env = "SENTLOG_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// CSV file to write (default: standard output).
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Hotel ids (repeatable).
    #[arg(long = "hotel")]
    hotels: Vec<String>,
    /// Recipient phone, any format.
    #[arg(long)]
    phone: Option<String>,
    /// Case-insensitive substring of the campaign name.
    #[arg(long)]
    campaign_name: Option<String>,
    /// Campaign ids (repeatable).
    #[arg(long = "campaign-id")]
    campaign_ids: Vec<String>,
    #[arg(long)]
    check_in_from: Option<String>,
    #[arg(long)]
    check_in_to: Option<String>,
    #[arg(long)]
    check_out_from: Option<String>,
    #[arg(long)]
    check_out_to: Option<String>,
    /// whatsapp, sms or email (repeatable).
    #[arg(long = "channel")]
    channels: Vec<String>,
    /// e.g. undelivered, failed (repeatable).
    #[arg(long = "status")]
    statuses: Vec<String>,
    #[arg(long)]
    email: Option<String>,
    /// PMS reservation id.
    #[arg(long)]
    reservation: Option<String>,
    #[arg(long)]
    provider_message_id: Option<String>,
    /// e.g. invalid_number (repeatable).
    #[arg(long = "error-category")]
    error_categories: Vec<String>,
    /// What the messages are for, e.g. marketing (repeatable).
    #[arg(long = "category")]
    categories: Vec<String>,
    /// Only messages stuck now (no news for longer than their channel's stuck_after).
    #[arg(long)]
    stuck: bool,
}

/// Enum values named on the command line (`--status delivered`), as proto codes.
fn by_name<T: Copy>(
    flag: &str,
    given: &[String],
    all: &[T],
    name: impl Fn(T) -> &'static str + Copy,
    from_name: impl Fn(&str) -> Option<T>,
    code: impl Fn(T) -> i32,
) -> anyhow::Result<Vec<i32>> {
    let values =
        sentlog::domain::names::from_names(&format!("--{flag}"), given, all, name, from_name)?;
    Ok(values.into_iter().map(code).collect())
}

async fn export(args: &ExportArgs) -> anyhow::Result<()> {
    use sentlog::domain::error_category::ErrorCategory;
    use sentlog::domain::message::{Channel, MessageCategory, MessageStatus};
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let filter = sentlog::proto::MessageFilter {
        hotel_ids: args.hotels.clone(),
        phone: text(&args.phone),
        campaign_name: text(&args.campaign_name),
        campaign_ids: args.campaign_ids.clone(),
        check_in_from: text(&args.check_in_from),
        check_in_to: text(&args.check_in_to),
        check_out_from: text(&args.check_out_from),
        check_out_to: text(&args.check_out_to),
        channels: by_name(
            "channel",
            &args.channels,
            &Channel::ALL,
            Channel::name,
            Channel::from_name,
            Channel::code,
        )?,
        statuses: by_name(
            "status",
            &args.statuses,
            &MessageStatus::ALL,
            MessageStatus::name,
            MessageStatus::from_name,
            MessageStatus::code,
        )?,
        created_after: None,
        created_before: None,
        email: text(&args.email),
        pms_reservation_id: text(&args.reservation),
        provider_message_id: text(&args.provider_message_id),
        // NONE is no error: not a category to filter on.
        error_categories: by_name(
            "error-category",
            &args.error_categories,
            &ErrorCategory::ALL[1..],
            ErrorCategory::name,
            |t| ErrorCategory::from_name(t).filter(|c| *c != ErrorCategory::None),
            ErrorCategory::code,
        )?,
        stuck: args.stuck,
        // UNSPECIFIED is no category: not one to filter on.
        categories: by_name(
            "category",
            &args.categories,
            &MessageCategory::ALL[1..],
            MessageCategory::name,
            |t| MessageCategory::from_name(t).filter(|c| *c != MessageCategory::Unspecified),
            MessageCategory::code,
        )?,
    };
    let token = args.token.as_deref();
    let rows = match &args.output {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("creating {}", path.display()))?;
            sentlog::grpc::client::export(
                &args.server,
                token,
                filter,
                std::io::BufWriter::new(file),
                true,
            )
            .await?
        }
        None => {
            sentlog::grpc::client::export(
                &args.server,
                token,
                filter,
                std::io::stdout().lock(),
                false,
            )
            .await?
        }
    };
    eprintln!("{rows} messages exported");
    Ok(())
}

#[derive(Subcommand)]
enum TokenAction {
    /// Print a fresh random token (once) and the configuration line holding its hash.
    New {
        /// Who holds it (shown in logs and as `resolved_by`).
        #[arg(long)]
        name: String,
        /// ingest, agent, csm or admin.
        #[arg(long)]
        role: String,
        /// Hotel ids it serves, comma-separated, or * for every hotel.
        #[arg(long)]
        hotels: String,
    },
}

fn new_token(name: &str, role: &str, hotels: &str) -> anyhow::Result<()> {
    use base64::Engine;
    use sentlog::domain::access::{Role, hex, token_hash};
    let role = Role::parse(role)
        .ok_or_else(|| anyhow::anyhow!("--role {role:?}: use ingest, agent, csm or admin"))?;
    let hotels: Vec<String> = hotels
        .split(',')
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .collect();
    anyhow::ensure!(
        !hotels.is_empty(),
        "--hotels: list hotel ids (comma-separated) or *"
    );
    anyhow::ensure!(
        !name.trim().is_empty() && !name.contains([':', ';']),
        "--name: give a name without ':' or ';'"
    );
    let secret =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let token = format!("slt_{secret}");
    let hash = hex(&token_hash(&token));
    let quoted: Vec<String> = hotels.iter().map(|h| format!("{h:?}")).collect();
    println!("Token for {name} (shown once; hand it over securely):\n\n    {token}\n");
    println!("Add to the config file:\n");
    println!(
        "[[tokens]]\nname = {name:?}\nrole = \"{}\"\nhotels = [{}]\nsha256 = \"{hash}\"\n",
        role.name(),
        quoted.join(", ")
    );
    println!(
        "or to SENTLOG_TOKENS (entries separated by ;):\n\n    {name}:{}:{}:{hash}",
        role.name(),
        hotels.join(",")
    );
    Ok(())
}

fn settings(cli: &Cli, listen: Option<&String>) -> anyhow::Result<Validated> {
    serve_settings(cli, listen, None, None)
}

fn serve_settings(
    cli: &Cli,
    listen: Option<&String>,
    console_listen: Option<&String>,
    webhook_listen: Option<&String>,
) -> anyhow::Result<Validated> {
    let mut s = Settings::load(cli.config.as_deref())?;
    if let Some(url) = &cli.database_url {
        s.database_url = url.clone();
    }
    if let Some(l) = listen {
        s.listen = l.clone();
    }
    if let Some(l) = console_listen {
        s.console_listen = l.clone();
    }
    if let Some(l) = webhook_listen {
        s.webhook_listen = Some(l.clone());
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
            console_listen,
            webhook_listen,
            demo,
            demo_messages,
        } => runtime.block_on(serve(
            serve_settings(
                &cli,
                listen.as_ref(),
                console_listen.as_ref(),
                webhook_listen.as_ref(),
            )?,
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
                let reconciler =
                    std::sync::Arc::new(sentlog::service::state::reconciler(store, &config));
                let run = sentlog::service::runs::run_pass(
                    &reconciler,
                    sentlog::domain::run::Trigger::Manual,
                    hotels.clone(),
                )
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
                for line in &run.error_lines() {
                    println!("  error: {line}");
                }
                Ok::<_, anyhow::Error>(())
            })
        }
        Command::Token {
            action: TokenAction::New { name, role, hotels },
        } => new_token(name, role, hotels),
        Command::Export(args) => runtime.block_on(export(args)),
        Command::Demo {
            messages,
            seed,
            webhooks: Some(dir),
            twilio_account_sid,
            ..
        } => write_webhook_samples(dir, *messages, *seed, twilio_account_sid),
        Command::WebhookReplay {
            provider,
            file,
            url,
            secret,
            signed_url,
        } => runtime.block_on(webhook_replay(
            provider,
            file,
            url,
            secret.as_deref(),
            signed_url.as_deref(),
        )),
        Command::Demo {
            messages,
            seed,
            truth,
            webhooks: None,
            ..
        } => {
            let config = settings(&cli, None)?;
            let store = runtime.block_on(sentlog::app::open_store(&config))?;
            let loaded = sentlog::demo::load(&store, *messages, *seed, true)?;
            let needing = loaded.truth.iter().filter(|t| t.needs_csm).count();
            println!(
                "{} demo messages recorded in {} stays; {needing} stays need a CSM",
                loaded.created,
                loaded.truth.len()
            );
            if let Some(path) = truth {
                std::fs::write(path, sentlog::demo::truth_csv(&loaded.truth))
                    .with_context(|| format!("writing {}", path.display()))?;
                println!("ground truth written to {}", path.display());
            }
            Ok(())
        }
    }
}

/// `demo --webhooks DIR`: the demo's provider callbacks as sample traffic.
fn write_webhook_samples(
    dir: &std::path::Path,
    messages: usize,
    seed: u64,
    twilio_account_sid: &str,
) -> anyhow::Result<()> {
    use sentlog::domain::webhook::Provider;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let samples = sentlog::demo::webhook_samples(messages, seed, twilio_account_sid);
    for (provider, file) in [
        (Provider::Twilio, "twilio.txt"),
        (Provider::WhatsApp, "whatsapp.jsonl"),
        (Provider::SendGrid, "sendgrid.jsonl"),
    ] {
        let lines: Vec<&str> = samples
            .iter()
            .filter(|(p, _)| *p == provider)
            .map(|(_, body)| body.as_str())
            .collect();
        let path = dir.join(file);
        std::fs::write(&path, lines.join("\n") + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
        println!("{} callbacks written to {}", lines.len(), path.display());
    }
    let (private_pem, public_key) = sentlog::webhook_replay::new_sendgrid_key()?;
    let key_path = dir.join("sendgrid-signing-key.pem");
    std::fs::write(&key_path, private_pem)
        .with_context(|| format!("writing {}", key_path.display()))?;
    println!(
        "SendGrid samples are signed with {}; configure its public key:\n  [[webhooks.sendgrid]]\n  name = \"demo\"\n  public_key = \"{public_key}\"\n  hotels = [\"*\"]",
        key_path.display()
    );
    Ok(())
}

/// `webhook-replay`: posts the file's callbacks and prints what became of them.
async fn webhook_replay(
    provider: &str,
    file: &std::path::Path,
    url: &str,
    secret: Option<&str>,
    signed_url: Option<&str>,
) -> anyhow::Result<()> {
    use sentlog::domain::webhook::Provider;
    use sentlog::webhook_replay::{Signer, replay, sendgrid_key};
    let provider = Provider::from_name(provider).ok_or_else(|| {
        anyhow::anyhow!("--provider {provider:?} is not twilio, whatsapp or sendgrid")
    })?;
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let signer = match (provider, secret) {
        (_, None) => Signer::None,
        (Provider::Twilio, Some(token)) => Signer::Twilio {
            auth_token: token.to_string(),
            url: signed_url
                .map(str::to_string)
                .unwrap_or_else(|| format!("{}/webhooks/twilio", url.trim_end_matches('/'))),
        },
        (Provider::WhatsApp, Some(secret)) => Signer::WhatsApp {
            app_secret: secret.to_string(),
        },
        (Provider::SendGrid, Some(path)) => {
            let bytes = std::fs::read(path)
                .with_context(|| format!("--secret: reading the SendGrid key file {path}"))?;
            Signer::SendGrid {
                key: Box::new(sendgrid_key(&bytes).context("--secret")?),
            }
        }
    };
    let summary = replay(provider, &text, url, &signer).await?;
    for (status, n) in &summary.by_status {
        println!("HTTP {status}: {n} requests");
    }
    for (outcome, n) in &summary.events {
        println!("  {outcome}: {n} events");
    }
    for refusal in &summary.refusals {
        println!("refused: {refusal}");
    }
    if summary.by_status.keys().any(|s| *s != 200) {
        anyhow::bail!("some requests were refused (see above)");
    }
    Ok(())
}

async fn serve(config: Validated, demo: bool, demo_messages: usize) -> anyhow::Result<()> {
    let url = redact_url(&config.settings.database_url);
    let store = sentlog::app::open_store(&config)
        .await
        .with_context(|| format!("opening database {url}"))?;
    if demo && sentlog::demo::is_empty(&store)? {
        let s = store.clone();
        let loaded =
            tokio::task::spawn_blocking(move || sentlog::demo::load(&s, demo_messages, 1, true))
                .await??;
        tracing::info!(
            created = loaded.created,
            stays = loaded.truth.len(),
            "demo data seeded"
        );
        // One pass at once, so that the flag queue and the arrivals show something.
        let reconciler =
            std::sync::Arc::new(sentlog::service::state::reconciler(store.clone(), &config));
        let run = sentlog::service::runs::run_pass(
            &reconciler,
            sentlog::domain::run::Trigger::Manual,
            Vec::new(),
        )
        .await?;
        tracing::info!(
            checked = run.messages_checked,
            flags = run.flags_raised,
            "demo reconciliation pass"
        );
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
