//! Concurrent callers and their latency percentiles.
use std::time::{Duration, Instant};

use crate::CLIENTS;

pub fn percentiles(mut samples: Vec<f64>) -> (f64, f64) {
    samples.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    (at(0.5), at(0.99))
}

pub struct Timing {
    pub p50: f64,
    pub p99: f64,
    pub per_second: f64,
    pub elapsed: Duration,
}

impl Timing {
    /// The percentiles and rate of `samples` (ms) taken over `elapsed`.
    fn of(samples: Vec<f64>, elapsed: Duration) -> Timing {
        let per_second = samples.len() as f64 / elapsed.as_secs_f64();
        let (p50, p99) = percentiles(samples);
        Timing {
            p50,
            p99,
            per_second,
            elapsed,
        }
    }
}

/// Runs `call(client, i)` from 8 concurrent clients, `per_client` times each.
pub async fn concurrent<F, Fut>(per_client: usize, call: F) -> anyhow::Result<Timing>
where
    F: Fn(usize, usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    concurrent_within(per_client, Duration::MAX, call).await
}

/// Runs `call(0, i)` `calls` times from one caller, one call after the other: the
/// latency of a call alone, without others queueing for the same cores.
pub async fn one_caller<F, Fut>(calls: usize, call: F) -> anyhow::Result<Timing>
where
    F: Fn(usize, usize) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let started = Instant::now();
    let mut samples = Vec::with_capacity(calls);
    for i in 0..calls {
        let t = Instant::now();
        call(0, i).await?;
        samples.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(Timing::of(samples, started.elapsed()))
}

/// Like `concurrent`, but clients start no new call after `budget`, so a slow query
/// is measured on fewer calls instead of holding the run for minutes.
pub async fn concurrent_within<F, Fut>(
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
    Ok(Timing::of(all, started.elapsed()))
}
