//! The CSM signal (`--csm-signal`): on the realistic demo (guest stays with ground
//! truth), how many flags a CSM gets per 1,000 stays, how many of them are right
//! (precision) and how many of the stays that truly need a CSM they catch (recall),
//! how fast a pass runs, and the latency of the two CSM reads: ListArrivals over a
//! 3-day and a 30-day window, and the first page of ListFlags.
use std::collections::HashSet;
use std::time::Instant;

use chrono::{Duration, Utc};
use sentlog::config::Validated;
use sentlog::domain::flag::{FlagQuery, FlagState};
use sentlog::domain::run::Trigger;
use sentlog::proto;
use sentlog::proto::reconciliation_service_client::ReconciliationServiceClient;
use sentlog::store::Store;

use crate::report::Table;
use crate::server::ServerProcess;
use crate::timing::concurrent_within;
use crate::{CLIENTS, QUERY_BUDGET};

/// The biggest demo hotel: the one whose CSM reads cost the most.
const HOTEL: &str = "paris-opera";

pub fn csm_signal(
    store: &Store,
    config: &Validated,
    database_url: &str,
    messages: usize,
    calls: usize,
    reuse: bool,
    table: &mut Table,
) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    if reuse {
        // The demo and its pass are there already: measure the reads again.
        store.refresh_statistics()?;
        let mut server = ServerProcess::start(database_url)?;
        let result = runtime.block_on(reads(&server, calls, table));
        table.add(
            "server peak resident memory (MB)",
            format!("{:.0}", server.peak_rss_mb()),
        );
        server.stop();
        return result;
    }
    let started = Instant::now();
    let loaded = sentlog::demo::load(store, messages, 1, true)?;
    table.add(
        "realistic demo seeded: messages, stays, seconds",
        format!(
            "{}, {}, {:.0}",
            loaded.created,
            loaded.truth.len(),
            started.elapsed().as_secs_f64()
        ),
    );
    // As production would have by now: tallies settled, the planner's statistics
    // taken on the filled tables (the hourly job), the pages at rest.
    store.settle_tallies()?;
    store.vacuum_after_bulk_load()?;
    store.refresh_statistics()?;
    store.checkpoint()?;

    let reconciler =
        std::sync::Arc::new(sentlog::service::state::reconciler(store.clone(), config));
    let started = Instant::now();
    let run = runtime.block_on(sentlog::service::runs::run_pass(
        &reconciler,
        Trigger::Manual,
        Vec::new(),
    ))?;
    let seconds = started.elapsed().as_secs_f64();
    table.add(
        "reconciliation pass: messages checked, seconds, messages/s",
        format!(
            "{}, {:.1}, {:.0}",
            run.messages_checked,
            seconds,
            run.messages_checked as f64 / seconds
        ),
    );

    let flagged = open_flags(store)?;
    let needing: HashSet<(String, String)> = loaded
        .truth
        .iter()
        .filter(|t| t.needs_csm)
        .map(|t| (t.hotel_id.clone(), t.stay_key.clone()))
        .collect();
    let right = flagged.iter().filter(|k| needing.contains(*k)).count();
    let precision = right as f64 / flagged.len().max(1) as f64;
    let recall = right as f64 / needing.len().max(1) as f64;
    table.add(
        "open flags per 1,000 stays",
        format!(
            "{:.1} ({} flags, {} stays)",
            flagged.len() as f64 * 1000.0 / loaded.truth.len() as f64,
            flagged.len(),
            loaded.truth.len()
        ),
    );
    table.add(
        "precision / recall of the open flags against the ground truth",
        format!(
            "{precision:.3} / {recall:.3} ({right} right of {} flags; {} stays need a CSM)",
            flagged.len(),
            needing.len()
        ),
    );

    let mut server = ServerProcess::start(database_url)?;
    let result = runtime.block_on(reads(&server, calls, table));
    table.add(
        "server peak resident memory (MB)",
        format!("{:.0}", server.peak_rss_mb()),
    );
    server.stop();
    result
}

/// (hotel, stay key) of every open or acknowledged flag.
fn open_flags(store: &Store) -> anyhow::Result<HashSet<(String, String)>> {
    let query = FlagQuery {
        states: vec![FlagState::Open, FlagState::Acknowledged],
        ..FlagQuery::default()
    };
    let mut conn = store.conn()?;
    let mut out = HashSet::new();
    let mut cursor = None;
    loop {
        let page = sentlog::store::flags::list(&mut conn, &query, cursor.as_ref(), 500)?;
        let Some(last) = page.last() else {
            return Ok(out);
        };
        cursor = Some(sentlog::store::flags::cursor_of(last, query.order));
        out.extend(page.into_iter().map(|f| (f.hotel_id, f.stay_key)));
    }
}

/// ListFlags' first page and ListArrivals (3 and 30 days), 8 clients.
async fn reads(server: &ServerProcess, calls: usize, table: &mut Table) -> anyhow::Result<()> {
    let mut channels = Vec::with_capacity(CLIENTS);
    for _ in 0..CLIENTS {
        channels.push(server.channel().await?);
    }
    // The queue first: the wide arrival windows that follow read hundreds of
    // thousands of rows and leave the caches cold for it.
    let ch = channels.clone();
    let t = concurrent_within(calls, QUERY_BUDGET, move |client, _| {
        let mut c = ReconciliationServiceClient::new(ch[client].clone());
        async move {
            c.list_flags(proto::ListFlagsRequest {
                states: vec![
                    proto::FlagState::Open as i32,
                    proto::FlagState::Acknowledged as i32,
                ],
                page_size: 50,
                ..Default::default()
            })
            .await?;
            Ok(())
        }
    })
    .await?;
    table.add(
        "ListFlags, first page of the open queue by urgency (50): p50 / p99 ms, calls/s",
        format!("{:.1} / {:.1}, {:.0}", t.p50, t.p99, t.per_second),
    );
    let today = Utc::now().date_naive();
    for (name, from, to) in [
        (
            "ListArrivals, 3 days from today",
            today,
            today + Duration::days(2),
        ),
        (
            "ListArrivals, 30 days (the last 10 and the next 20)",
            today - Duration::days(10),
            today + Duration::days(19),
        ),
    ] {
        let ch = channels.clone();
        let t = concurrent_within(calls, QUERY_BUDGET, move |client, _| {
            let mut c = ReconciliationServiceClient::new(ch[client].clone());
            async move {
                let r = c
                    .list_arrivals(proto::ListArrivalsRequest {
                        hotel_id: HOTEL.into(),
                        check_in_from: from.to_string(),
                        check_in_to: to.to_string(),
                        page_size: 50,
                        ..Default::default()
                    })
                    .await?
                    .into_inner();
                anyhow::ensure!(!r.arrivals.is_empty(), "no arrival in the window");
                Ok(())
            }
        })
        .await?;
        table.add(
            format!("{name} ({HOTEL}, page of 50): p50 / p99 ms, calls/s"),
            format!("{:.1} / {:.1}, {:.0}", t.p50, t.p99, t.per_second),
        );
    }
    Ok(())
}
