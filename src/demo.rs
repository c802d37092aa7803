//! Demo data: several hotels in different countries, check-in / upsell / welcome
//! campaigns over the three channels, every status in plausible proportions, and a
//! share of wrong and invalid phone numbers. Deterministic for a given seed.
use chrono::{DateTime, Duration, NaiveDate, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::domain::guest::{self, GuestDraft};
use crate::domain::message::{self, Channel, MessageDraft, MessageStatus};
use crate::domain::phone::{self, RegionMap};
use crate::domain::status_event::{StatusEvent, Target};
use crate::store::{Store, StoreError, messages, status_events};

/// (hotel id, display name, ISO region, share of the traffic in percent).
pub const HOTELS: &[(&str, &str, &str, u32)] = &[
    ("paris-opera", "Paris Opéra", "FR", 40),
    ("london-soho", "London Soho", "GB", 25),
    ("barcelona-port", "Barcelona Port", "ES", 20),
    ("lisbon-alfama", "Lisbon Alfama", "PT", 15),
];

/// The message every README example finds: a French guest written in national format.
pub const SHOWCASE_PHONE: &str = "06 12 34 56 78";

const FIRST_NAMES: &[&str] = &[
    "Camille", "Louis", "Emma", "Hugo", "Olivia", "Jack", "Lucía", "Mateo", "Beatriz", "João",
    "Amélie", "Noah", "Sofia", "Liam", "Inès", "Martin",
];
const LAST_NAMES: &[&str] = &[
    "Martin",
    "Bernard",
    "Smith",
    "Jones",
    "García",
    "López",
    "Silva",
    "Santos",
    "Dubois",
    "Taylor",
    "Fernández",
    "Costa",
    "Moreau",
    "Brown",
    "Pereira",
    "Laurent",
];

/// Fixed-line numbers in national format, per region: SMS and WhatsApp cannot reach them.
fn landline(region: &str, rng: &mut StdRng) -> String {
    let n: u32 = rng.random_range(0..10_000);
    match region {
        "FR" => format!("01 45 67 {:02} {:02}", n / 100, n % 100),
        "GB" => format!("020 7946 {:04}", n),
        "ES" => format!("91 123 {:04}", n),
        _ => format!("21 123 {:04}", n),
    }
}

/// Mobile numbers in national format, per region (digits appended make them unique).
fn national_mobile(region: &str, rng: &mut StdRng) -> String {
    let n: u32 = rng.random_range(0..10_000_000);
    match region {
        "FR" => format!(
            "06 {:02} {:02} {:02} {:02}",
            n / 1_000_000 % 100,
            n / 10_000 % 100,
            n / 100 % 100,
            n % 100
        ),
        "GB" => format!("07700 9{:05}", n % 100_000),
        "ES" => format!(
            "6{:02} {:03} {:03}",
            n / 1_000_000 % 100,
            n / 1000 % 1000,
            n % 1000
        ),
        _ => format!("91{} {:03} {:03}", n % 10, n / 1000 % 1000, n % 1000),
    }
}

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

/// A status in plausible proportions for a channel (READ only on WhatsApp).
fn status_for(channel: Channel, rng: &mut StdRng) -> MessageStatus {
    use MessageStatus::*;
    let roll = rng.random_range(0..100);
    let s = match roll {
        0..=3 => Pending,
        4..=7 => Scheduled,
        8..=9 => Validated,
        10..=11 => Cancelled,
        12..=16 => Failed,
        17..=25 => Sent,
        26..=33 => Undelivered,
        34..=74 => Delivered,
        _ => Read,
    };
    if s == Read && channel != Channel::Whatsapp {
        Delivered
    } else {
        s
    }
}

/// A provider and, for failures, one of its published error codes.
fn provider_and_error(
    channel: Channel,
    status: MessageStatus,
    rng: &mut StdRng,
) -> (&'static str, Option<(&'static str, &'static str)>) {
    let failed = matches!(status, MessageStatus::Failed | MessageStatus::Undelivered);
    match channel {
        Channel::Sms => ("twilio", failed.then(|| *pick(rng, &[
            ("30003", "Unreachable destination handset"),
            ("30005", "Unknown destination handset"),
            ("30006", "Landline or unreachable carrier"),
            ("21211", "Invalid 'To' Phone Number"),
            ("21610", "Attempt to send to unsubscribed recipient"),
            ("30007", "Message filtered"),
        ]))),
        Channel::Whatsapp => ("whatsapp_cloud", failed.then(|| *pick(rng, &[
            ("131026", "Message undeliverable"),
            ("131049", "This message was not delivered to maintain healthy ecosystem engagement."),
            ("131026", "Message undeliverable"),
        ]))),
        Channel::Email => ("sendgrid", failed.then(|| *pick(rng, &[
            ("Invalid Address", "550 5.1.1 The email account that you tried to reach does not exist"),
            ("Mailbox Unavailable", "552 5.2.2 Mailbox full"),
            ("Technical Failure", "421 4.7.0 Try again later"),
        ]))),
    }
}

/// `n` demo drafts, oldest first, each with the time it was recorded.
pub fn drafts(n: usize, seed: u64, now: DateTime<Utc>) -> Vec<(DateTime<Utc>, MessageDraft)> {
    let mut rng = StdRng::seed_from_u64(seed);
    let today = now.date_naive();
    let span = Duration::days(60);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let roll = rng.random_range(0..100);
        let mut acc = 0;
        let &(hotel_id, hotel_name, region, _) = HOTELS
            .iter()
            .find(|(_, _, _, share)| {
                acc += share;
                roll < acc
            })
            .unwrap_or(&HOTELS[0]);
        let kind = rng.random_range(0..3);
        let (campaign, template) = match kind {
            0 => (
                format!("Online check-in — {hotel_name}"),
                "checkin_invite_v3",
            ),
            1 => (
                format!("Upsell room upgrade — {hotel_name}"),
                "upsell_upgrade_v2",
            ),
            _ => (format!("Welcome — {hotel_name}"), "welcome_v1"),
        };
        let channel = match rng.random_range(0..100) {
            0..=49 => Channel::Whatsapp,
            50..=74 => Channel::Sms,
            _ => Channel::Email,
        };
        let status = status_for(channel, &mut rng);
        let (provider, error) = provider_and_error(channel, status, &mut rng);
        let first = *pick(&mut rng, FIRST_NAMES);
        let last = *pick(&mut rng, LAST_NAMES);
        let check_in: NaiveDate = today + Duration::days(rng.random_range(-30..45));
        let check_out = check_in + Duration::days(rng.random_range(1..8));
        // A few numbers are mistyped or not numbers at all, as real guest records are.
        let phone = match rng.random_range(0..100) {
            0..=1 => (*pick(&mut rng, &["n/a", "0000", "+33 6 12", "call front desk"])).to_string(),
            2..=3 => landline(region, &mut rng),
            _ => national_mobile(region, &mut rng),
        };
        let recorded_at = now - span + span * (i as i32) / (n.max(1) as i32);
        let guest_no = rng.random_range(1000..99999);
        let draft = MessageDraft {
            hotel_id: hotel_id.into(),
            external_id: format!("demo-{seed}-{i}"),
            phone_region: region.into(),
            campaign_id: format!("{hotel_id}-{template}"),
            campaign_name: campaign,
            channel: Some(channel),
            recipient_phone: if channel.uses_phone() {
                phone
            } else {
                String::new()
            },
            recipient_email: if channel == Channel::Email {
                format!(
                    "{}.{}{}@example.com",
                    first.to_lowercase(),
                    last.to_lowercase(),
                    guest_no % 100
                )
            } else {
                String::new()
            },
            guest_name: format!("{first} {last}"),
            pms_guest_id: format!("{hotel_id}-g{guest_no}"),
            pms_reservation_id: format!("{hotel_id}-r{}", guest_no * 3),
            check_in_date: check_in.to_string(),
            check_out_date: check_out.to_string(),
            status: Some(status),
            scheduled_at: None,
            provider: provider.into(),
            provider_message_id: format!("{provider}-{seed}-{i}"),
            template_name: template.into(),
            error_code: error.map(|e| e.0.to_string()).unwrap_or_default(),
            error_message: error.map(|e| e.1.to_string()).unwrap_or_default(),
        };
        out.push((recorded_at, draft));
    }
    if let Some((_, first)) = out.first_mut() {
        *first = showcase(seed);
    }
    out
}

/// The PMS record of a demo message's guest, as the hub's PMS integration would push
/// it: mostly the same number written another way, sometimes a different (newer or
/// mistyped) number, sometimes no phone, a different email, or no record at all.
pub fn guest_for(d: &MessageDraft, rng: &mut StdRng) -> Option<GuestDraft> {
    let roll = rng.random_range(0..100);
    if roll < 3 {
        return None;
    }
    let region =
        phone::parse_region(&d.phone_region).unwrap_or(phone::RegionMap::default().default);
    let written = phone::normalize(&d.recipient_phone, region);
    let phone = match roll {
        3..=8 if written.valid => swap_last_digits(&written.stored),
        9..=11 => String::new(),
        // Mews and other PMSs write `00` + country code, with spaces.
        _ if written.valid => format!("00{} {}", &written.stored[1..3], &written.stored[3..]),
        _ => d.recipient_phone.clone(),
    };
    let email = match (d.recipient_email.as_str(), roll) {
        ("", _) => String::new(),
        (e, 12..=16) => e.replacen('@', ".perso@", 1),
        (e, _) => e.to_uppercase(),
    };
    Some(GuestDraft {
        hotel_id: d.hotel_id.clone(),
        pms_guest_id: d.pms_guest_id.clone(),
        pms_reservation_id: d.pms_reservation_id.clone(),
        full_name: d.guest_name.clone(),
        phone,
        email,
        check_in_date: d.check_in_date.clone(),
        check_out_date: d.check_out_date.clone(),
    })
}

/// The same number with its last two digits swapped (a classic typo), or the next one.
fn swap_last_digits(e164: &str) -> String {
    let mut digits: Vec<char> = e164.chars().collect();
    let n = digits.len();
    if digits[n - 1] != digits[n - 2] {
        digits.swap(n - 1, n - 2);
    } else {
        digits[n - 1] = if digits[n - 1] == '9' {
            '0'
        } else {
            (digits[n - 1] as u8 + 1) as char
        };
    }
    digits.into_iter().collect()
}

/// The guest the README's examples look up.
fn showcase(seed: u64) -> MessageDraft {
    MessageDraft {
        hotel_id: "paris-opera".into(),
        external_id: format!("demo-{seed}-0"),
        phone_region: "FR".into(),
        campaign_id: "paris-opera-checkin_invite_v3".into(),
        campaign_name: "Online check-in — Paris Opéra".into(),
        channel: Some(Channel::Whatsapp),
        recipient_phone: SHOWCASE_PHONE.into(),
        guest_name: "Camille Martin".into(),
        pms_guest_id: "paris-opera-g1".into(),
        pms_reservation_id: "paris-opera-r1".into(),
        check_in_date: "2026-12-04".into(),
        check_out_date: "2026-12-07".into(),
        status: Some(MessageStatus::Delivered),
        provider: "whatsapp_cloud".into(),
        provider_message_id: "wamid.DEMO0000000001".into(),
        template_name: "checkin_invite_v3".into(),
        ..Default::default()
    }
}

/// The statuses a message goes through to reach its final one, seconds after it was
/// recorded: the provider callbacks the demo replays.
fn journey(final_status: MessageStatus) -> Vec<(MessageStatus, i64)> {
    use MessageStatus::*;
    match final_status {
        Pending | Scheduled | Validated | Cancelled => vec![],
        Failed => vec![(Failed, 2)],
        Sent => vec![(Sent, 3)],
        Undelivered => vec![(Sent, 3), (Undelivered, 45)],
        Delivered => vec![(Sent, 3), (Delivered, 20)],
        Read => vec![(Sent, 3), (Delivered, 20), (Read, 600)],
    }
}

/// Records `n` demo messages through the store's batch path, then replays their
/// providers' status callbacks, with a progress bar.
pub fn load(store: &Store, n: usize, seed: u64, show_progress: bool) -> Result<usize, StoreError> {
    let regions = RegionMap::default();
    let all = drafts(n, seed, Utc::now());
    let bar = if show_progress {
        ProgressBar::new(n as u64).with_style(
            ProgressStyle::with_template("demo data {bar:40} {pos}/{len} messages ({eta})")
                .expect("valid template"),
        )
    } else {
        ProgressBar::hidden()
    };
    let mut conn = store.conn()?;
    let mut created = 0;
    let mut guest_rng = StdRng::seed_from_u64(seed ^ 0x6e57);
    // Messages of one batch share a recording time; 50 a batch spreads them out.
    for chunk in all.chunks(50) {
        let at = chunk[0].0;
        let mut batch = Vec::with_capacity(chunk.len());
        let mut finals = Vec::with_capacity(chunk.len());
        for (_, d) in chunk {
            let mut m = message::validate(d.clone(), &regions).expect("demo data is valid");
            let path = journey(m.status);
            finals.push((path, m.error_code.take(), m.error_message.take()));
            if !finals.last().expect("pushed").0.is_empty() {
                m.status = MessageStatus::Pending;
                m.error_category = Default::default();
            }
            batch.push(m);
        }
        let recorded = messages::record(&mut conn, &batch, at)?;
        let mut guests = Vec::new();
        for (_, d) in chunk {
            if let Some(g) = guest_for(d, &mut guest_rng) {
                guests.push(guest::validate(g, &regions, at).expect("demo guests are valid"));
            }
        }
        crate::store::guests::upsert(&mut conn, &guests)?;
        let mut events = Vec::new();
        for (r, (path, code, text)) in recorded.iter().zip(finals) {
            if !r.created {
                continue;
            }
            created += 1;
            for (status, after) in path {
                let failed = matches!(status, MessageStatus::Failed | MessageStatus::Undelivered);
                events.push(StatusEvent {
                    target: Target::Id(r.message_id.clone()),
                    status,
                    occurred_at: at + Duration::seconds(after),
                    event_id: None,
                    error_code: if failed { code.clone() } else { None },
                    error_message: if failed { text.clone() } else { None },
                });
            }
        }
        status_events::apply(&mut conn, &events, &[], at + Duration::hours(1))?;
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    Ok(created)
}

/// True when the database holds no message yet.
pub fn is_empty(store: &Store) -> Result<bool, StoreError> {
    let mut conn = store.conn()?;
    let page = messages::list(&mut conn, &Default::default(), None, 1)?;
    Ok(page.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drafts_validate_and_cover_every_status_and_channel() {
        let drafts = drafts(2000, 7, Utc::now());
        let regions = RegionMap::default();
        let mut statuses = std::collections::HashSet::new();
        let mut channels = std::collections::HashSet::new();
        let mut invalid = 0;
        for (_, d) in drafts {
            let m = message::validate(d, &regions).unwrap();
            statuses.insert(m.status);
            channels.insert(m.channel);
            if m.channel.uses_phone() && !m.phone_valid {
                invalid += 1;
            }
        }
        assert_eq!(statuses.len(), MessageStatus::ALL.len());
        assert_eq!(channels.len(), 3);
        assert!(invalid > 0);
    }
}
