//! `--watchers N`: the server's memory with N WatchMessages streams open.
use std::time::{Duration, Instant};

use anyhow::Context;
use sentlog::proto;
use tonic::transport::Channel as Transport;

use crate::report::Table;
use crate::server::ServerProcess;

/// Watchers per HTTP/2 connection (as several consoles or services would hold them).
const WATCHERS_PER_CONNECTION: usize = 100;
/// Longest any step of the watcher measure may take.
const WATCH_STEP_LIMIT: Duration = Duration::from_secs(60);

/// `--watchers N`: the server's memory with N WatchMessages streams open, the time for
/// one new message to reach all of them, and the memory once they are closed.
pub fn watchers(database_url: &str, n: usize) -> anyhow::Result<()> {
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
