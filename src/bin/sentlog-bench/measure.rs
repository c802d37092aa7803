//! The measures against the running server, each beside its plain-SQL baseline: the
//! no-op floor, the reads (every filter's list and count, a funnel, page 20, recipient
//! checks), the writes (recording, status callbacks) and a reconciliation pass.
use std::time::Instant;

use chrono::Utc;
use prost::Message as _;
use rand::SeedableRng;
use rand::rngs::StdRng;
use sentlog::domain::phone::RegionMap;
use sentlog::proto;
use sentlog::proto::message_service_client::MessageServiceClient;
use sentlog::proto::reconciliation_service_client::ReconciliationServiceClient;
use sentlog::store::Store;
use tonic::transport::Channel as Transport;

use crate::fixed_page;
use crate::raw::{self, RawEvent};
use crate::report::Table;
use crate::seed::{Seeded, callbacks, filters, message_query};
use crate::server::{ServerProcess, health_check};
use crate::timing::{concurrent, concurrent_within, one_caller, percentiles};
use crate::{Args, CLIENTS, HOTELS, QUERY_BUDGET};

/// Every measure, in order, over one connection per client (as separate services
/// calling sentlog would have: one shared HTTP/2 connection is served by one task).
pub async fn measure(
    store: &Store,
    regions: &RegionMap,
    server: &ServerProcess,
    seeded: &Seeded,
    args: &Args,
    table: &mut Table,
) -> anyhow::Result<()> {
    let mut channels = Vec::with_capacity(CLIENTS);
    for _ in 0..CLIENTS {
        channels.push(server.channel().await?);
    }
    let floor = floor(&channels, args.calls, table).await?;
    if args.writes_only {
        return writes(store, &channels, table).await;
    }
    reads(store, regions, seeded, &channels, args, floor, table).await?;
    if args.lists_only {
        return Ok(());
    }
    writes(store, &channels, table).await?;
    reconciliation(&channels[0], table).await
}

/// The floor: a gRPC call that does no work (the health check), same clients. Returns
/// its calls/s, for the composed limit. A first round warms the connections up
/// unmeasured; the measured one runs for seconds (400 calls took 40 ms, and its
/// figure swung from 2,000 to 12,000 calls/s between runs).
pub async fn floor(channels: &[Transport], calls: usize, table: &mut Table) -> anyhow::Result<f64> {
    let health = |ch: Vec<Transport>| move |client: usize, _| health_check(ch[client].clone());
    concurrent(calls, health(channels.to_vec())).await?;
    let floor = concurrent_within(
        FLOOR_CALLS_PER_CLIENT,
        FLOOR_BUDGET,
        health(channels.to_vec()),
    )
    .await?;
    table.add(
        "gRPC call doing no work (health check): p50 / p99 ms, calls/s",
        format!(
            "{:.1} / {:.1}, {:.0}",
            floor.p50, floor.p99, floor.per_second
        ),
    );
    Ok(floor.per_second)
}

/// The no-op measure's length: calls per client, and the time it may take.
const FLOOR_CALLS_PER_CLIENT: usize = 5_000;
const FLOOR_BUDGET: std::time::Duration = std::time::Duration::from_secs(5);

/// What a service with no overhead of its own would reach: the database's calls/s
/// and a no-op gRPC call's, one after the other (`1 / (1/plain + 1/floor)`).
pub fn composed_limit(plain_per_second: f64, floor_per_second: f64) -> f64 {
    1.0 / (1.0 / plain_per_second + 1.0 / floor_per_second)
}

/// ListMessages and CountMessages per filter, GetCampaignStats, page 20, CheckRecipients;
/// with `lists_only`, ListMessages alone.
async fn reads(
    store: &Store,
    regions: &RegionMap,
    seeded: &Seeded,
    channels: &[Transport],
    args: &Args,
    floor_per_second: f64,
    table: &mut Table,
) -> anyhow::Result<()> {
    let (calls, lists_only) = (args.calls, args.lists_only);
    let channel = channels[0].clone();
    for (name, filter) in filters(seeded) {
        let query = message_query(filter.clone(), regions)?;
        let page_size = args.page_size;
        let request = move |f: &proto::MessageFilter| proto::ListMessagesRequest {
            filter: Some(f.clone()),
            page_size: page_size as i32,
            page_token: String::new(),
        };
        let reply = MessageServiceClient::new(channel.clone())
            .list_messages(request(&filter))
            .await?
            .into_inner();
        table.add(
            format!("ListMessages {name}: messages in the reply; its encoded bytes"),
            format!("{}; {}", reply.messages.len(), reply.encoded_len()),
        );
        let (ch, f) = (channels.to_vec(), filter.clone());
        let grpc = concurrent_within(calls, QUERY_BUDGET, move |client, _| {
            let mut client = MessageServiceClient::new(ch[client].clone());
            let req = request(&f);
            async move {
                client.list_messages(req).await?;
                Ok(())
            }
        })
        .await?;
        let (st, q) = (store.clone(), query.clone());
        let plain = concurrent_within(calls, QUERY_BUDGET, move |_, _| {
            let (st, q) = (st.clone(), q.clone());
            async move {
                st.run(move |c| raw::list(c, &q, page_size as usize + 1))
                    .await?;
                Ok(())
            }
        })
        .await?;
        let limit = composed_limit(plain.per_second, floor_per_second);
        table.add(
            format!(
                "ListMessages {name}: p50 / p99 ms, calls/s; plain SQL calls/s; ratio; composed limit calls/s; ratio to it"
            ),
            format!(
                "{:.1} / {:.1}, {:.0}; {:.0}; {:.2}; {:.0}; {:.2}",
                grpc.p50,
                grpc.p99,
                grpc.per_second,
                plain.per_second,
                grpc.per_second / plain.per_second,
                limit,
                grpc.per_second / limit
            ),
        );
        // The composed limit's no-op call carries no messages; this page carries
        // `reply`. Its own cost, measured on a server that answers with it and does
        // nothing else, added to the limit's two terms.
        let cost = fixed_page::measure(args, &reply).await?;
        let with_reply = 1.0 / (1.0 / plain.per_second + 1.0 / floor_per_second + cost.seconds());
        table.add(
            format!(
                "ListMessages {name}: the reply alone (a server answering this page, doing nothing else): calls/s; its no-op calls/s; composed limit with the reply calls/s; ratio to it"
            ),
            format!(
                "{:.0}; {:.0}; {:.0}; {:.2}",
                cost.page_per_second,
                cost.noop_per_second,
                with_reply,
                grpc.per_second / with_reply
            ),
        );
        if lists_only {
            continue;
        }
        let (ch, f) = (channels.to_vec(), filter.clone());
        let grpc = concurrent_within(calls.div_ceil(5), QUERY_BUDGET, move |client, _| {
            let mut client = MessageServiceClient::new(ch[client].clone());
            let f = f.clone();
            async move {
                client
                    .count_messages(proto::CountMessagesRequest { filter: Some(f) })
                    .await?;
                Ok(())
            }
        })
        .await?;
        let (st, q) = (store.clone(), query.clone());
        let plain = concurrent_within(calls.div_ceil(5), QUERY_BUDGET, move |_, _| {
            let (st, q) = (st.clone(), q.clone());
            async move {
                st.run(move |c| raw::count(c, &q)).await?;
                Ok(())
            }
        })
        .await?;
        let limit = composed_limit(plain.per_second, floor_per_second);
        table.add(
            format!(
                "CountMessages {name}: p50 / p99 ms; plain SQL p50 / p99 ms; calls/s; composed limit calls/s; ratio to it"
            ),
            format!(
                "{:.1} / {:.1}; {:.1} / {:.1}; {:.0}; {:.0}; {:.2}",
                grpc.p50,
                grpc.p99,
                plain.p50,
                plain.p99,
                grpc.per_second,
                limit,
                grpc.per_second / limit
            ),
        );
    }

    if lists_only {
        return Ok(());
    }
    let ch = channels.to_vec();
    let stats = concurrent_within(calls.div_ceil(5), QUERY_BUDGET, move |client, _| {
        let mut client = MessageServiceClient::new(ch[client].clone());
        async move {
            client
                .get_campaign_stats(proto::GetCampaignStatsRequest {
                    hotel_id: "hotel-00".into(),
                    campaign_id: "hotel-00-checkin".into(),
                    ..Default::default()
                })
                .await?;
            Ok(())
        }
    })
    .await?;
    table.add(
        "GetCampaignStats of a big hotel's campaign: p50 / p99 ms",
        format!("{:.1} / {:.1}", stats.p50, stats.p99),
    );

    // Page 20 of a big hotel, reached through page tokens.
    let mut client = MessageServiceClient::new(channel.clone());
    let mut token = String::new();
    let mut page_20 = Vec::new();
    for _ in 0..5 {
        for page in 1..=20 {
            let t = Instant::now();
            let r = client
                .list_messages(proto::ListMessagesRequest {
                    filter: Some(proto::MessageFilter {
                        hotel_ids: vec!["hotel-00".into()],
                        ..Default::default()
                    }),
                    page_size: 50,
                    page_token: token,
                })
                .await?
                .into_inner();
            if page == 20 {
                page_20.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            token = r.next_page_token;
        }
        token = String::new();
    }
    let (p50, p99) = percentiles(page_20);
    table.add(
        "ListMessages page 20 through tokens: p50 / max ms",
        format!("{p50:.1} / {p99:.1}"),
    );

    // CheckRecipients: 1000 phones of the biggest hotel (half recorded, half not). The
    // first call normalises every phone (libphonenumber); later calls find them in the
    // server's cache, as the hub's checks of the same guests before each campaign do.
    // Both are reported: the first alone, then 8 clients.
    let mut phones: Vec<String> = seeded.big_hotel_phones.iter().take(500).cloned().collect();
    phones.extend((0..500).map(|i| format!("+337{:08}", i * 7919)));
    let ch = channels.to_vec();
    let check_call = move |client: usize, _: usize| {
        let mut client = ReconciliationServiceClient::new(ch[client].clone());
        let request = proto::CheckRecipientsRequest {
            hotel_id: "hotel-00".into(),
            phones: phones.clone(),
            emails: vec![],
            category: proto::MessageCategory::Utility as i32,
        };
        async move {
            client.check_recipients(request).await?;
            Ok(())
        }
    };
    let cold = concurrent_within(1, QUERY_BUDGET, check_call.clone()).await?;
    let alone = one_caller(calls, check_call.clone()).await?;
    let check = concurrent_within(calls, QUERY_BUDGET, check_call).await?;
    table.add(
        "CheckRecipients 1000 phones of a big hotel, first calls (8 at once, phones not yet normalised): max ms",
        format!("{:.1}", cold.p99),
    );
    table.add(
        "CheckRecipients 1000 phones of a big hotel, one caller: p50 / p99 ms",
        format!("{:.1} / {:.1}", alone.p50, alone.p99),
    );
    table.add(
        "CheckRecipients 1000 phones of a big hotel, 8 clients: p50 / p99 ms",
        format!("{:.1} / {:.1}", check.p50, check.p99),
    );

    Ok(())
}

/// RecordMessages (batches of 1000) and UpdateStatuses (batches of 500, shuffled,
/// replayed), each beside the same writes as plain SQL.
async fn writes(store: &Store, channels: &[Transport], table: &mut Table) -> anyhow::Result<()> {
    // RecordMessages over gRPC: 8 clients, batches of 1000 new messages.
    let batches_per_client = 5;
    let run: u32 = rand::random();
    let ch = channels.to_vec();
    let ids = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = ids.clone();
    let recording = concurrent(batches_per_client, move |client_no, batch_no| {
        let mut client = MessageServiceClient::new(ch[client_no].clone());
        let sink = sink.clone();
        async move {
            let messages = (0..1000)
                .map(|i| proto::NewMessage {
                    hotel_id: format!("hotel-{:02}", (client_no * 7 + i) % HOTELS),
                    external_id: format!("rec-{run}-{client_no}-{batch_no}-{i}"),
                    channel: proto::Channel::Whatsapp as i32,
                    recipient_phone: format!(
                        "06 {:02} {:02} {:02} {:02}",
                        i % 100,
                        batch_no,
                        client_no,
                        i / 100
                    ),
                    campaign_id: raw::RECORDED_CAMPAIGN_ID.into(),
                    campaign_name: "Live campaign".into(),
                    provider: "whatsapp_cloud".into(),
                    ..Default::default()
                })
                .collect();
            let r = client
                .record_messages(proto::RecordMessagesRequest { messages })
                .await?
                .into_inner();
            sink.lock()
                .expect("not poisoned")
                .extend(r.results.into_iter().map(|r| r.message_id));
            Ok(())
        }
    })
    .await?;
    let recorded = CLIENTS * batches_per_client * 1000;
    table.add(
        "RecordMessages over gRPC, batches of 1000, 8 clients (messages/s)",
        format!("{:.0}", recorded as f64 / recording.elapsed.as_secs_f64()),
    );

    // UpdateStatuses: the recorded messages' callbacks (SENT, DELIVERED, READ),
    // shuffled, 10 % duplicates, 10 % arriving after a later status; a third of the
    // messages over gRPC, a third as plain SQL statements per event, a third as
    // set-based plain SQL, batches of 500 from 8 clients.
    let ids = std::mem::take(&mut *ids.lock().expect("not poisoned"));
    let third = ids.len() / 3;
    let mut rng = StdRng::seed_from_u64(7);
    let grpc_events = callbacks(&ids[..third], &mut rng);
    let raw_events = callbacks(&ids[third..2 * third], &mut rng);
    let set_events = callbacks(&ids[2 * third..], &mut rng);
    let per_client = grpc_events.len().div_ceil(500).div_ceil(CLIENTS);
    let batches: Vec<Vec<proto::StatusEvent>> = grpc_events
        .chunks(500)
        .map(|c| {
            c.iter()
                .map(|e| proto::StatusEvent {
                    message_id: e.message_id.clone(),
                    event_id: e.event_id.clone(),
                    status: e.status.code(),
                    occurred_at: Some(prost_types::Timestamp {
                        seconds: e.occurred_at.timestamp(),
                        nanos: 0,
                    }),
                    ..Default::default()
                })
                .collect()
        })
        .collect();
    let batches = std::sync::Arc::new(batches);
    let ch = channels.to_vec();
    let grpc = concurrent(per_client, move |client_no, i| {
        let mut client = MessageServiceClient::new(ch[client_no].clone());
        let batch = batches.get(i * CLIENTS + client_no).cloned();
        async move {
            if let Some(events) = batch {
                client
                    .update_statuses(proto::UpdateStatusesRequest { events })
                    .await?;
            }
            Ok(())
        }
    })
    .await?;
    let grpc_rate = grpc_events.len() as f64 / grpc.elapsed.as_secs_f64();
    let per_event = plain_sql_rate(store, &raw_events, per_client, raw::apply_events).await?;
    let set_based =
        plain_sql_rate(store, &set_events, per_client, raw::apply_events_set_based).await?;
    table.add(
        "UpdateStatuses over gRPC, batches of 500, 8 clients (events/s); plain SQL set-based (events/s); ratio",
        format!("{grpc_rate:.0}; {set_based:.0}; {:.2}", grpc_rate / set_based),
    );
    table.add(
        "UpdateStatuses as plain SQL, two statements per event (events/s)",
        format!("{per_event:.0}"),
    );

    Ok(())
}

/// Events/s of `apply` writing `events` as plain SQL, batches of 500 from 8 clients.
async fn plain_sql_rate(
    store: &Store,
    events: &[RawEvent],
    per_client: usize,
    apply: raw::ApplyEvents,
) -> anyhow::Result<f64> {
    let batches: std::sync::Arc<Vec<Vec<RawEvent>>> =
        std::sync::Arc::new(events.chunks(500).map(<[RawEvent]>::to_vec).collect());
    let st = store.clone();
    let plain = concurrent(per_client, move |client_no, i| {
        let st = st.clone();
        let batches = batches.clone();
        async move {
            let at = i * CLIENTS + client_no;
            if at < batches.len() {
                st.run(move |c| apply(c, &batches[at], Utc::now())).await?;
            }
            Ok(())
        }
    })
    .await?;
    Ok(events.len() as f64 / plain.elapsed.as_secs_f64())
}

/// A reconciliation pass over every undelivered message, with pushed PMS guests.
async fn reconciliation(channel: &Transport, table: &mut Table) -> anyhow::Result<()> {
    let mut client = ReconciliationServiceClient::new(channel.clone());
    let started = Instant::now();
    let run = client
        .run_reconciliation(proto::RunReconciliationRequest::default())
        .await?
        .into_inner();
    let seconds = started.elapsed().as_secs_f64();
    table.add(
        "reconciliation pass: messages checked, flags raised, seconds",
        format!(
            "{}, {}, {seconds:.1}",
            run.messages_checked, run.flags_raised
        ),
    );
    table.add(
        "reconciliation pass (messages/s)",
        format!("{:.0}", run.messages_checked as f64 / seconds),
    );
    Ok(())
}
