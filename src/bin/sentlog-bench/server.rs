//! The server under measure, in its own process (the benchmark binary with the hidden
//! --serve flag), so its memory and CPU are its own.
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use sentlog::config::Settings;
use tonic::transport::Channel as Transport;

/// The server child: the real service on `addr`, with no schedule, until killed.
pub fn serve(mut settings: Settings, addr: &str) -> anyhow::Result<()> {
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

/// One call that does no work: the standard health check, the floor every measure
/// compares against.
pub async fn health_check(channel: Transport) -> anyhow::Result<()> {
    tonic_health::pb::health_client::HealthClient::new(channel)
        .check(tonic_health::pb::HealthCheckRequest::default())
        .await?;
    Ok(())
}

pub struct ServerProcess {
    child: Child,
    addr: String,
}

impl ServerProcess {
    pub fn start(database_url: &str) -> anyhow::Result<ServerProcess> {
        Self::start_with(database_url, &[])
    }

    pub fn start_with(database_url: &str, extra: &[&str]) -> anyhow::Result<ServerProcess> {
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

    pub async fn channel(&self) -> anyhow::Result<Transport> {
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

    pub fn peak_rss_mb(&self) -> f64 {
        self.memory_mb("VmHWM:")
    }

    pub fn rss_mb(&self) -> f64 {
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

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
