//! The production-like seed (messages over the last year, stays after sending, a few
//! big hotels and many small ones), the filters the measures aim at, and the provider
//! callbacks the status measure replays.
use std::time::Instant;

use chrono::{NaiveDate, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sentlog::domain::filter::{FilterDraft, MessageQuery};
use sentlog::domain::guest::{self, GuestDraft};
use sentlog::domain::message::{self, Channel, MessageDraft, MessageStatus};
use sentlog::domain::phone::RegionMap;
use sentlog::proto;
use sentlog::store::{Store, guests, messages};

use crate::raw::{self, RawEvent};
use crate::report::Table;
use crate::{BIG_HOTELS, HOTELS};

/// What the seed leaves for the measures to aim at.
pub struct Seeded {
    /// Phones recorded for the biggest hotel.
    pub big_hotel_phones: Vec<String>,
    pub today: NaiveDate,
}

fn hotel_of(rng: &mut StdRng) -> usize {
    // 60 % of the traffic to the big hotels, the rest spread over the small ones.
    match rng.random_range(0..100) {
        n if n < 60 => n % BIG_HOTELS,
        _ => rng.random_range(BIG_HOTELS..HOTELS),
    }
}

fn status_of(rng: &mut StdRng, channel: Channel) -> MessageStatus {
    match rng.random_range(0..100) {
        0..=54 => MessageStatus::Delivered,
        55..=69 if channel == Channel::Whatsapp => MessageStatus::Read,
        55..=69 => MessageStatus::Delivered,
        70..=79 => MessageStatus::Sent,
        80..=86 => MessageStatus::Undelivered,
        87..=88 => MessageStatus::Failed,
        89..=92 => MessageStatus::Pending,
        93..=95 => MessageStatus::Scheduled,
        96..=97 => MessageStatus::Validated,
        _ => MessageStatus::Cancelled,
    }
}

/// Seeds `n` messages through the store's batch path (1000 a transaction, as
/// RecordMessages writes them), and PMS guests for the undelivered ones. In `bulk`,
/// the same rows go through the same path with the secondary indexes of `messages`
/// dropped, and those are rebuilt from their definitions at the end.
pub fn seed(
    store: &Store,
    regions: &RegionMap,
    n: usize,
    bulk: bool,
    table: &mut Table,
) -> anyhow::Result<Seeded> {
    let bar = ProgressBar::new(n as u64).with_style(
        ProgressStyle::with_template("seeding {bar:40} {pos}/{len} messages ({per_sec}, {eta})")
            .expect("template"),
    );
    let mut rng = StdRng::seed_from_u64(42);
    let run: u32 = rand::random();
    let today = Utc::now().date_naive();
    let mut conn = store.conn()?;
    let dropped = match bulk {
        true => raw::drop_secondary_indexes(&mut conn)?,
        false => Vec::new(),
    };
    let started = Instant::now();
    let mut big_hotel_phones = Vec::new();
    let mut undelivered = 0usize;
    let mut done = 0usize;
    // Recorded over the last year, oldest first, as a year of production would be.
    let year = chrono::Duration::days(365);
    let first_recorded = Utc::now() - year;
    while done < n {
        let count = (n - done).min(1000);
        let recorded_at = first_recorded + year * (done as i32) / (n as i32);
        let mut batch = Vec::with_capacity(count);
        let mut guest_batch = Vec::new();
        for i in done..done + count {
            let hotel = hotel_of(&mut rng);
            let hotel_id = format!("hotel-{hotel:02}");
            let channel = match rng.random_range(0..100) {
                0..=49 => Channel::Whatsapp,
                50..=84 => Channel::Sms,
                _ => Channel::Email,
            };
            let status = status_of(&mut rng, channel);
            let phone = format!("+336{:08}", rng.random_range(0..100_000_000u32));
            let (campaign, template) = match rng.random_range(0..3) {
                0 => ("Online check-in", "checkin"),
                1 => ("Upsell room upgrade", "upsell"),
                _ => ("Welcome", "welcome"),
            };
            // Sent in the weeks before the stay.
            let check_in =
                recorded_at.date_naive() + chrono::Duration::days(rng.random_range(1..60));
            let failed = matches!(status, MessageStatus::Undelivered | MessageStatus::Failed);
            let guest_id = format!("g-{run}-{i}");
            let d = MessageDraft {
                hotel_id: hotel_id.clone(),
                external_id: format!("bench-{run}-{i}"),
                channel: Some(channel),
                recipient_phone: match channel {
                    Channel::Email => String::new(),
                    _ => phone.clone(),
                },
                recipient_email: match channel {
                    Channel::Email => format!("guest{i}@example.com"),
                    _ => String::new(),
                },
                campaign_id: format!("{hotel_id}-{template}"),
                campaign_name: format!("{campaign} — hotel {hotel:02}"),
                guest_name: "Bench Guest".into(),
                status: Some(status),
                provider: match channel {
                    Channel::Whatsapp => "whatsapp_cloud",
                    Channel::Sms => "twilio",
                    Channel::Email => "sendgrid",
                }
                .into(),
                error_code: match (failed, channel) {
                    (false, _) => String::new(),
                    (true, Channel::Whatsapp) => "131026".into(),
                    (true, Channel::Sms) => "30003".into(),
                    (true, Channel::Email) => "bounce".into(),
                },
                pms_guest_id: guest_id.clone(),
                check_in_date: check_in.to_string(),
                check_out_date: (check_in + chrono::Duration::days(rng.random_range(1..8)))
                    .to_string(),
                ..Default::default()
            };
            if hotel == 0 && channel != Channel::Email && big_hotel_phones.len() < 1000 {
                big_hotel_phones.push(phone.clone());
            }
            batch.push(message::validate(d, regions)?);
            if failed {
                undelivered += 1;
                // The PMS holds the same number (70 %), another one (20 %), none (10 %).
                let pms_phone = match rng.random_range(0..10) {
                    0 => String::new(),
                    1 | 2 => format!("+337{:08}", rng.random_range(0..100_000_000u32)),
                    _ => phone,
                };
                guest_batch.push(guest::validate(
                    GuestDraft {
                        hotel_id,
                        pms_guest_id: guest_id,
                        full_name: "Bench Guest".into(),
                        phone: pms_phone,
                        ..Default::default()
                    },
                    regions,
                    Utc::now(),
                )?);
            }
        }
        messages::record(&mut conn, &batch, recorded_at, store.suppression_key())?;
        guests::upsert(&mut conn, &guest_batch)?;
        done += count;
        if done.is_multiple_of(10_000) {
            // As the server settles tallies every 30 s and autovacuum reclaims the
            // folded ones. A year's pending tallies folded at once left PostgreSQL's
            // tallies heap at 86 MB, half of it dead, where production's holds 38
            // (its settled index, grown a fold at a time, is 58 MB instead of 31).
            store.settle_tallies()?;
            if done.is_multiple_of(50_000) {
                raw::vacuum_tallies(&mut conn)?;
            }
        }
        if done.is_multiple_of(100_000) {
            // As the server does hourly: plans made for a small table slow a big one.
            store.refresh_statistics()?;
        }
        bar.inc(count as u64);
    }
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    table.add("messages seeded", n.to_string());
    table.add(
        "of which undelivered or failed, with PMS guests",
        undelivered.to_string(),
    );
    match bulk {
        false => table.add(
            "seeding through the store's batch path (messages/s)",
            format!("{:.0}", n as f64 / seconds),
        ),
        true => {
            let rebuilding = Instant::now();
            raw::rebuild_indexes(&mut conn, &dropped)?;
            table.add(
                "bulk seed: store's batch path without the secondary indexes (messages/s); \
                 indexes rebuilt, seconds",
                format!(
                    "{:.0}; {}, {:.0}",
                    n as f64 / seconds,
                    dropped.len(),
                    rebuilding.elapsed().as_secs_f64()
                ),
            );
        }
    }
    Ok(Seeded {
        big_hotel_phones,
        today,
    })
}

/// A filter from the wire, as the service reads it (every hotel in scope).
pub fn message_query(
    filter: proto::MessageFilter,
    regions: &RegionMap,
) -> anyhow::Result<MessageQuery> {
    let draft = FilterDraft::try_from(filter).map_err(|e| anyhow::anyhow!(e))?;
    let stuck_since = sentlog::domain::stuck::StuckAfter::default().since(Utc::now());
    MessageQuery::build(draft, regions, stuck_since).map_err(|e| anyhow::anyhow!(e))
}

/// What an earlier run seeded: the table's size and the big hotel's phones, taken
/// from the seed as a fresh run takes them.
pub fn seeded_before(store: &Store, table: &mut Table) -> anyhow::Result<Seeded> {
    let mut conn = store.conn()?;
    let all = messages::count(&mut conn, &MessageQuery::default(), None)?;
    table.add("messages (seeded before)", all.total.to_string());
    let big_hotel_phones = raw::seeded_phones(&mut conn, "hotel-00", 1000)?;
    Ok(Seeded {
        big_hotel_phones,
        today: Utc::now().date_naive(),
    })
}

/// p50 and p99 of `samples` (milliseconds).
pub fn filters(seeded: &Seeded) -> Vec<(&'static str, proto::MessageFilter)> {
    let day = |d: i64| (seeded.today + chrono::Duration::days(d)).to_string();
    let big = || vec!["hotel-00".to_string()];
    let a_month_ago = Utc::now() - chrono::Duration::days(30);
    vec![
        (
            "phone",
            proto::MessageFilter {
                phone: seeded.big_hotel_phones[7].clone(),
                ..Default::default()
            },
        ),
        (
            "campaign name",
            proto::MessageFilter {
                hotel_ids: big(),
                campaign_name: "check-in".into(),
                ..Default::default()
            },
        ),
        (
            "check-in range",
            proto::MessageFilter {
                hotel_ids: big(),
                check_in_from: day(0),
                check_in_to: day(7),
                ..Default::default()
            },
        ),
        (
            "check-out range",
            proto::MessageFilter {
                hotel_ids: big(),
                check_out_from: day(10),
                check_out_to: day(17),
                ..Default::default()
            },
        ),
        (
            "channel",
            proto::MessageFilter {
                hotel_ids: big(),
                channels: vec![proto::Channel::Sms as i32],
                ..Default::default()
            },
        ),
        (
            "status",
            proto::MessageFilter {
                hotel_ids: big(),
                statuses: vec![proto::MessageStatus::Undelivered as i32],
                ..Default::default()
            },
        ),
        (
            "created range",
            proto::MessageFilter {
                hotel_ids: big(),
                created_after: Some(prost_types::Timestamp {
                    seconds: a_month_ago.timestamp(),
                    nanos: 0,
                }),
                ..Default::default()
            },
        ),
        (
            "combined: check-in range + channel + status",
            proto::MessageFilter {
                hotel_ids: big(),
                check_in_from: day(-30),
                check_in_to: day(30),
                channels: vec![proto::Channel::Whatsapp as i32],
                statuses: vec![proto::MessageStatus::Delivered as i32],
                ..Default::default()
            },
        ),
    ]
}

/// Provider callbacks for these messages: SENT, DELIVERED and READ, shuffled (so
/// 10 %-ish of a message's events arrive after a later one), plus 10 % replays.
pub fn callbacks(ids: &[String], rng: &mut StdRng) -> Vec<RawEvent> {
    let base = Utc::now() - chrono::Duration::minutes(30);
    let mut events = Vec::with_capacity(ids.len() * 3);
    for (i, id) in ids.iter().enumerate() {
        for (status, secs) in [
            (MessageStatus::Sent, 1),
            (MessageStatus::Delivered, 5),
            (MessageStatus::Read, 40),
        ] {
            events.push(RawEvent {
                message_id: id.clone(),
                event_id: format!("{}-{i}", status.name()),
                status,
                occurred_at: base + chrono::Duration::seconds(secs + (i % 60) as i64),
            });
        }
    }
    // Mostly in order, as providers send them; one in ten moved later in the stream.
    for i in 0..events.len() {
        if rng.random_range(0..10) == 0 {
            let j = rng.random_range(i..events.len());
            events.swap(i, j);
        }
    }
    let replays: Vec<RawEvent> = events.iter().step_by(10).cloned().collect();
    for e in replays {
        let at = rng.random_range(0..events.len());
        events.insert(at, e);
    }
    events
}
