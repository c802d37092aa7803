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

use crate::measure::{composed_limit, floor};
use crate::report::Table;
use crate::server::ServerProcess;
use crate::timing::{Timing, concurrent_within};
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
        let result = runtime.block_on(reads(store, &server, calls, table));
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
    let result = runtime.block_on(reads(store, &server, calls, table));
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

/// ListFlags' first page and ListArrivals (3 and 30 days), 8 clients, each beside
/// the store's own statements for it called straight through the pool (no gRPC, no
/// service) and the composed limit of those and a no-op gRPC call.
async fn reads(
    store: &Store,
    server: &ServerProcess,
    calls: usize,
    table: &mut Table,
) -> anyhow::Result<()> {
    let mut channels = Vec::with_capacity(CLIENTS);
    for _ in 0..CLIENTS {
        channels.push(server.channel().await?);
    }
    let floor = floor(&channels, calls, table).await?;
    // The queue first: the wide arrival windows that follow read hundreds of
    // thousands of rows and leave the caches cold for it.
    let ch = channels.clone();
    let grpc = concurrent_within(calls, QUERY_BUDGET, move |client, _| {
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
    let st = store.clone();
    let plain = concurrent_within(calls, QUERY_BUDGET, move |_, _| {
        let st = st.clone();
        async move {
            let query = FlagQuery {
                states: vec![FlagState::Open, FlagState::Acknowledged],
                ..FlagQuery::default()
            };
            st.run(move |c| sentlog::store::flags::list(c, &query, None, 51))
                .await?;
            Ok(())
        }
    })
    .await?;
    report(
        table,
        "ListFlags, first page of the open queue by urgency (50)",
        &grpc,
        &plain,
        floor,
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
        let grpc = concurrent_within(calls, QUERY_BUDGET, move |client, _| {
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
        // The three reads ListArrivals makes, in one checkout as it does.
        let st = store.clone();
        let plain = concurrent_within(calls, QUERY_BUDGET, move |_, _| {
            let st = st.clone();
            async move {
                st.run(move |c| {
                    let found = sentlog::store::messages::arriving(c, HOTEL, from, to)?;
                    let mut keys: Vec<String> = found
                        .iter()
                        .map(sentlog::domain::arrival::stay_key)
                        .collect();
                    keys.sort();
                    keys.dedup();
                    sentlog::store::flags::open_by_stay(c, HOTEL, &keys)?;
                    sentlog::store::guests::arriving(c, HOTEL, from, to)
                })
                .await?;
                Ok(())
            }
        })
        .await?;
        report(
            table,
            &format!("{name} ({HOTEL}, page of 50)"),
            &grpc,
            &plain,
            floor,
        );
    }
    Ok(())
}

/// One CSM read's row: its latency and calls/s, the store's statements' calls/s, and
/// the ratio to the composed limit.
fn report(table: &mut Table, name: &str, grpc: &Timing, plain: &Timing, floor: f64) {
    let limit = composed_limit(plain.per_second, floor);
    table.add(
        format!(
            "{name}: p50 / p99 ms, calls/s; the store's statements alone calls/s; composed limit calls/s; ratio to it"
        ),
        format!(
            "{:.1} / {:.1}, {:.0}; {:.0}; {:.0}; {:.2}",
            grpc.p50,
            grpc.p99,
            grpc.per_second,
            plain.per_second,
            limit,
            grpc.per_second / limit
        ),
    );
}
