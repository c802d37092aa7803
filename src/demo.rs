//! Demo data: several hotels in different countries, check-in / upsell / welcome
//! campaigns over the three channels, every status in plausible proportions, and a
//! share of wrong and invalid phone numbers. Deterministic for a given seed.
use chrono::{DateTime, Duration, NaiveDate, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::domain::guest::{self, GuestDraft};
use crate::domain::message::{self, Channel, MessageCategory, MessageDraft, MessageStatus};
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
        "GB" => format!("07400 {:06}", n % 1_000_000),
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

/// What the generator made of a stay: how its guest can be reached, and so whether a
/// CSM truly has something to fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// Everything arrives (a few messages still on their way).
    Reachable,
    /// WhatsApp fails once (phone off, no data); the SMS fallback arrives.
    Transient,
    /// The phone was off for the first tries, the later messages arrive.
    LateDelivery,
    /// The hub's number is a typo; the PMS holds the right one.
    WrongNumber,
    /// The number on file is not a phone number at all.
    InvalidNumber,
    /// A landline: SMS and WhatsApp cannot reach it.
    Landline,
    /// A dead number the PMS holds too: every phone message fails.
    DeadNumber,
    /// The PMS has the guest but no phone.
    PmsNoPhone,
    /// The booking is not in the PMS (a walk-in typed by hand, a deleted booking).
    NotInPms,
    /// The guest replied STOP to SMS: nothing a CSM can fix.
    OptedOut,
    /// No phone: the hub reaches the guest by email only.
    EmailOnly,
    /// The email address bounces as invalid; the phone works.
    BadEmail,
    /// The provider accepted the message and never said more.
    Stuck,
}

impl Scenario {
    /// The guest's address is wrong or dead: a CSM must find another way.
    pub fn address_is_bad(self) -> bool {
        matches!(
            self,
            Scenario::WrongNumber
                | Scenario::InvalidNumber
                | Scenario::Landline
                | Scenario::DeadNumber
                | Scenario::PmsNoPhone
                | Scenario::NotInPms
                | Scenario::BadEmail
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            Scenario::Reachable => "reachable",
            Scenario::Transient => "transient",
            Scenario::LateDelivery => "late_delivery",
            Scenario::WrongNumber => "wrong_number",
            Scenario::InvalidNumber => "invalid_number",
            Scenario::Landline => "landline",
            Scenario::DeadNumber => "dead_number",
            Scenario::PmsNoPhone => "pms_no_phone",
            Scenario::NotInPms => "not_in_pms",
            Scenario::OptedOut => "opted_out",
            Scenario::EmailOnly => "email_only",
            Scenario::BadEmail => "bad_email",
            Scenario::Stuck => "stuck",
        }
    }

    /// In plausible proportions (percent).
    fn roll(rng: &mut StdRng) -> Scenario {
        use Scenario::*;
        match rng.random_range(0..100) {
            0..=64 => Reachable,
            65..=72 => Transient,
            73..=76 => LateDelivery,
            77..=80 => WrongNumber,
            81 => InvalidNumber,
            82..=83 => Landline,
            84..=86 => DeadNumber,
            87 => PmsNoPhone,
            88 => NotInPms,
            89..=90 => OptedOut,
            91..=94 => EmailOnly,
            95..=96 => BadEmail,
            _ => Stuck,
        }
    }
}

/// One demo stay: its messages (oldest first, each with the time it was recorded), the
/// PMS record of its guest, and the truth the generator knows.
#[derive(Debug, Clone)]
pub struct DemoStay {
    pub hotel_id: String,
    pub stay_key: String,
    pub scenario: Scenario,
    pub check_out: NaiveDate,
    pub messages: Vec<(DateTime<Utc>, MessageDraft)>,
    pub guest: Option<GuestDraft>,
}

impl DemoStay {
    /// A CSM truly has work here: the hub already tried the guest's address (a
    /// message failed), the stay is not over, and either the address is wrong (a typo,
    /// not a number, a landline, missing, an unknown booking, a bouncing email) or it
    /// is dead and the guest was reached by no other channel.
    pub fn needs_csm(&self, today: NaiveDate) -> bool {
        let has = |statuses: &[MessageStatus]| {
            self.messages
                .iter()
                .any(|(_, m)| m.status.is_some_and(|s| statuses.contains(&s)))
        };
        let tried = has(&[MessageStatus::Failed, MessageStatus::Undelivered]);
        let reached = has(&[MessageStatus::Delivered, MessageStatus::Read]);
        let wrong = self.scenario.address_is_bad() && self.scenario != Scenario::DeadNumber;
        let unreachable = self.scenario == Scenario::DeadNumber && !reached;
        tried && self.check_out >= today && (wrong || unreachable)
    }
}

/// The kinds of message a hub sends a booking, in the order of the stay's timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Confirmation,
    CheckIn,
    Upsell,
    Welcome,
}

impl Kind {
    fn campaign(self, hotel_name: &str) -> (String, &'static str) {
        match self {
            Kind::Confirmation => (
                format!("Booking confirmation — {hotel_name}"),
                "confirmation_v2",
            ),
            Kind::CheckIn => (
                format!("Online check-in — {hotel_name}"),
                "checkin_invite_v3",
            ),
            Kind::Upsell => (
                format!("Upsell room upgrade — {hotel_name}"),
                "upsell_upgrade_v2",
            ),
            Kind::Welcome => (format!("Welcome — {hotel_name}"), "welcome_v1"),
        }
    }

    /// Stay logistics are UTILITY; the upsell is MARKETING (a marketing opt-out blocks
    /// it, not the check-in link).
    fn category(self) -> MessageCategory {
        match self {
            Kind::Upsell => MessageCategory::Marketing,
            Kind::Confirmation | Kind::CheckIn | Kind::Welcome => MessageCategory::Utility,
        }
    }
}

/// How one send turned out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Arrives,
    /// Failed with this provider code.
    Fails(&'static str),
    /// Accepted and never heard of again.
    Silent,
}

/// How a send on `channel` turns out for a stay of this scenario (`try_no`: how many
/// phone sends came before, for the phone that was off only at first).
fn outcome(scenario: Scenario, channel: Channel, try_no: usize, rng: &mut StdRng) -> Outcome {
    use Outcome::*;
    use Scenario::*;
    let phone_dead = |wa: &'static str, sms: &'static str| match channel {
        Channel::Whatsapp => Fails(wa),
        _ => Fails(sms),
    };
    match (scenario, channel) {
        (BadEmail, Channel::Email) => Fails("Invalid Address"),
        (_, Channel::Email) => Arrives,
        (WrongNumber | DeadNumber | PmsNoPhone | NotInPms, _) => phone_dead("131026", "30003"),
        (InvalidNumber, _) => phone_dead("131026", "21211"),
        (Landline, _) => phone_dead("131026", "30006"),
        (OptedOut, Channel::Sms) => Fails("21610"),
        (Transient, Channel::Whatsapp) if try_no == 0 => Fails("131026"),
        (LateDelivery, _) if try_no < 2 => phone_dead("131026", "30003"),
        (Stuck, _) if try_no == 0 => Silent,
        _ if rng.random_range(0..100) < 2 => Silent,
        _ => Arrives,
    }
}

/// The provider of a channel, and the text of one of its codes.
fn provider(channel: Channel) -> &'static str {
    match channel {
        Channel::Sms => "twilio",
        Channel::Whatsapp => "whatsapp_cloud",
        Channel::Email => "sendgrid",
    }
}

fn error_text(code: &str) -> &'static str {
    match code {
        "30003" => "Unreachable destination handset",
        "30006" => "Landline or unreachable carrier",
        "21211" => "Invalid 'To' Phone Number",
        "21610" => "Attempt to send to unsubscribed recipient",
        "131026" => "Message undeliverable",
        "Invalid Address" => "550 5.1.1 The email account that you tried to reach does not exist",
        _ => "Delivery failed",
    }
}

/// Demo stays holding `n` messages in all, from a month ago to three weeks
/// ahead, each with 2 to 5 messages over its timeline. Deterministic for a seed.
pub fn stays(n: usize, seed: u64, now: DateTime<Utc>) -> Vec<DemoStay> {
    let mut rng = StdRng::seed_from_u64(seed);
    let today = now.date_naive();
    if n == 0 {
        return Vec::new();
    }
    let mut out = vec![showcase(seed, now)];
    let mut total = 1;
    let mut stay_no = 0u64;
    while total < n {
        stay_no += 1;
        let mut stay = one_stay(&mut rng, seed, stay_no, today, now);
        // Exactly `n` messages: the last stay keeps the start of its timeline.
        stay.messages.truncate(n - total);
        total += stay.messages.len();
        out.push(stay);
    }
    out
}

fn one_stay(
    rng: &mut StdRng,
    seed: u64,
    stay_no: u64,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> DemoStay {
    let roll = rng.random_range(0..100);
    let mut acc = 0;
    let &(hotel_id, hotel_name, region, _) = HOTELS
        .iter()
        .find(|(_, _, _, share)| {
            acc += share;
            roll < acc
        })
        .unwrap_or(&HOTELS[0]);
    let scenario = Scenario::roll(rng);
    let first = *pick(rng, FIRST_NAMES);
    let last = *pick(rng, LAST_NAMES);
    let check_in: NaiveDate = today + Duration::days(rng.random_range(-30..=21));
    let check_out = check_in + Duration::days(rng.random_range(1..8));
    // Booked 3 to 45 days ahead, and never after yesterday.
    let booked =
        (check_in - Duration::days(rng.random_range(3..45))).min(today - Duration::days(1));
    let reservation = format!("{hotel_id}-r{seed}-{stay_no}");
    let guest_id = format!("{hotel_id}-g{seed}-{stay_no}");
    let mobile = national_mobile(region, rng);
    let phone = match scenario {
        Scenario::InvalidNumber => {
            (*pick(rng, &["n/a", "0000", "+33 6 12", "call front desk"])).to_string()
        }
        Scenario::Landline => landline(region, rng),
        Scenario::WrongNumber => {
            let right = phone::normalize(
                &mobile,
                phone::parse_region(region).unwrap_or(phone::RegionMap::default().default),
            );
            swap_last_digits(&right.stored)
        }
        _ => mobile.clone(),
    };
    let email = format!(
        "{}.{}{}@example.com",
        first.to_lowercase(),
        last.to_lowercase(),
        stay_no % 1000
    );
    let at = |day: NaiveDate, hour: u32| -> DateTime<Utc> {
        day.and_hms_opt(hour, rng_minute(stay_no), 0)
            .expect("valid time")
            .and_utc()
    };
    // The timeline a hub sends a booking: confirmation at booking, the upsell a week
    // before, the check-in invite two days before, welcome on arrival day.
    let plan = [
        (Kind::Confirmation, at(booked, 10)),
        (Kind::Upsell, at(check_in - Duration::days(7), 11)),
        (Kind::CheckIn, at(check_in - Duration::days(2), 9)),
        (Kind::Welcome, at(check_in, 8)),
    ];
    let mut messages = Vec::new();
    let mut phone_tries = 0;
    for (i, (kind, sent)) in plan.into_iter().enumerate() {
        if sent < at(booked, 10) || (kind == Kind::Upsell && rng.random_range(0..100) < 40) {
            continue;
        }
        let channel = match (scenario, kind) {
            (Scenario::EmailOnly, _) => Channel::Email,
            (_, Kind::Confirmation) if rng.random_range(0..10) < 7 => Channel::Email,
            (_, Kind::Upsell) if rng.random_range(0..2) == 0 => Channel::Email,
            (_, Kind::Welcome) if rng.random_range(0..3) == 0 => Channel::Sms,
            _ => Channel::Whatsapp,
        };
        let (campaign, template) = kind.campaign(hotel_name);
        let mut sends = vec![channel];
        let mut idx = 0;
        while idx < sends.len() {
            let channel = sends[idx];
            // A WhatsApp that fails falls back to SMS a minute later.
            let sent = sent + Duration::minutes(idx as i64);
            let ext = format!("demo-{seed}-{stay_no}-{i}-{idx}");
            let draft_base = MessageDraft {
                hotel_id: hotel_id.into(),
                external_id: ext.clone(),
                phone_region: region.into(),
                campaign_id: format!("{hotel_id}-{template}"),
                campaign_name: campaign.clone(),
                category: kind.category(),
                channel: Some(channel),
                recipient_phone: if channel.uses_phone() {
                    phone.clone()
                } else {
                    String::new()
                },
                recipient_email: if channel == Channel::Email {
                    email.clone()
                } else {
                    String::new()
                },
                guest_name: format!("{first} {last}"),
                pms_guest_id: guest_id.clone(),
                pms_reservation_id: reservation.clone(),
                check_in_date: check_in.to_string(),
                check_out_date: check_out.to_string(),
                provider: provider(channel).into(),
                provider_message_id: format!("{}-{ext}", provider(channel)),
                template_name: template.into(),
                ..Default::default()
            };
            if sent > now {
                // Not sent yet: planned (the welcome message of a future stay).
                messages.push((
                    now - Duration::hours(1),
                    MessageDraft {
                        status: Some(MessageStatus::Scheduled),
                        scheduled_at: Some(sent),
                        ..draft_base
                    },
                ));
                break;
            }
            let result = outcome(scenario, channel, phone_tries, rng);
            if channel.uses_phone() {
                phone_tries += 1;
            }
            let (status, code) = match result {
                Outcome::Arrives if channel == Channel::Whatsapp && rng.random_range(0..2) == 0 => {
                    (MessageStatus::Read, None)
                }
                Outcome::Arrives => (MessageStatus::Delivered, None),
                Outcome::Silent => (MessageStatus::Sent, None),
                Outcome::Fails(code) => (
                    if channel == Channel::Email || code == "21211" || code == "21610" {
                        MessageStatus::Failed
                    } else {
                        MessageStatus::Undelivered
                    },
                    Some(code),
                ),
            };
            messages.push((
                sent,
                MessageDraft {
                    status: Some(status),
                    error_code: code.unwrap_or_default().into(),
                    error_message: code.map(error_text).unwrap_or_default().into(),
                    ..draft_base
                },
            ));
            if matches!(result, Outcome::Fails(_)) && channel == Channel::Whatsapp {
                sends.push(Channel::Sms);
            }
            idx += 1;
        }
    }
    let guest = pms_record(
        scenario,
        hotel_id,
        &guest_id,
        &reservation,
        &format!("{first} {last}"),
        &phone,
        &mobile,
        region,
        &email,
        check_in,
        check_out,
    );
    DemoStay {
        hotel_id: hotel_id.into(),
        stay_key: reservation,
        scenario,
        check_out,
        messages,
        guest,
    }
}

/// A minute of the hour that differs between stays, so sends do not all share a time.
fn rng_minute(stay_no: u64) -> u32 {
    (stay_no % 60) as u32
}

/// What the PMS holds for the stay's guest, as the hub's PMS integration pushes it.
#[allow(clippy::too_many_arguments)]
fn pms_record(
    scenario: Scenario,
    hotel_id: &str,
    guest_id: &str,
    reservation: &str,
    name: &str,
    used: &str,
    right: &str,
    region: &str,
    email: &str,
    check_in: NaiveDate,
    check_out: NaiveDate,
) -> Option<GuestDraft> {
    let written_as_pms = |p: &str| {
        let r = phone::parse_region(region).unwrap_or(phone::RegionMap::default().default);
        let n = phone::normalize(p, r);
        // Mews and other PMSs write `00` + country code, with spaces.
        if n.valid {
            format!("00{} {}", &n.stored[1..3], &n.stored[3..])
        } else {
            p.to_string()
        }
    };
    let phone = match scenario {
        Scenario::NotInPms => return None,
        Scenario::PmsNoPhone | Scenario::EmailOnly => String::new(),
        Scenario::WrongNumber => written_as_pms(right),
        _ => written_as_pms(used),
    };
    Some(GuestDraft {
        hotel_id: hotel_id.into(),
        pms_guest_id: guest_id.into(),
        pms_reservation_id: reservation.into(),
        full_name: name.into(),
        phone,
        email: email.to_uppercase(),
        check_in_date: check_in.to_string(),
        check_out_date: check_out.to_string(),
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

/// The guest the README's examples look up: reached by WhatsApp.
fn showcase(seed: u64, now: DateTime<Utc>) -> DemoStay {
    let draft = MessageDraft {
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
        category: MessageCategory::Utility,
        ..Default::default()
    };
    let guest = GuestDraft {
        hotel_id: "paris-opera".into(),
        pms_guest_id: "paris-opera-g1".into(),
        pms_reservation_id: "paris-opera-r1".into(),
        full_name: "Camille Martin".into(),
        phone: "0033 6 12 34 56 78".into(),
        email: String::new(),
        check_in_date: draft.check_in_date.clone(),
        check_out_date: draft.check_out_date.clone(),
    };
    DemoStay {
        hotel_id: "paris-opera".into(),
        stay_key: "paris-opera-r1".into(),
        scenario: Scenario::Reachable,
        check_out: NaiveDate::from_ymd_opt(2026, 12, 7).expect("a date"),
        messages: vec![(now - Duration::days(3), draft)],
        guest: Some(guest),
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

/// What the generator knows of one stay it seeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StayTruth {
    pub hotel_id: String,
    pub stay_key: String,
    pub scenario: &'static str,
    /// A CSM truly has something to fix (`DemoStay::needs_csm`).
    pub needs_csm: bool,
}

/// What a load did.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    /// Messages recorded (those already there are left).
    pub created: usize,
    pub truth: Vec<StayTruth>,
}

/// The ground truth as CSV: `hotel_id,stay_key,scenario,needs_csm`.
pub fn truth_csv(truth: &[StayTruth]) -> String {
    let mut out = String::from("hotel_id,stay_key,scenario,needs_csm\n");
    for t in truth {
        out.push_str(&format!(
            "{},{},{},{}\n",
            t.hotel_id, t.stay_key, t.scenario, t.needs_csm
        ));
    }
    out
}

/// Records about `n` demo messages (whole stays) through the store's batch path, in
/// the order they were sent, with their guests' PMS records, then replays their
/// providers' status callbacks; with a progress bar.
pub fn load(store: &Store, n: usize, seed: u64, show_progress: bool) -> Result<Loaded, StoreError> {
    let regions = RegionMap::default();
    let now = Utc::now();
    let all = stays(n, seed, now);
    let truth = all
        .iter()
        .map(|s| StayTruth {
            hotel_id: s.hotel_id.clone(),
            stay_key: s.stay_key.clone(),
            scenario: s.scenario.name(),
            needs_csm: s.needs_csm(now.date_naive()),
        })
        .collect();
    let mut conn = store.conn()?;
    let guests: Vec<_> = all
        .iter()
        .filter_map(|s| s.guest.clone())
        .map(|g| guest::validate(g, &regions, now).expect("demo guests are valid"))
        .collect();
    for chunk in guests.chunks(500) {
        crate::store::guests::upsert(&mut conn, chunk)?;
    }
    let mut sends: Vec<(DateTime<Utc>, MessageDraft)> =
        all.into_iter().flat_map(|s| s.messages).collect();
    sends.sort_by_key(|s| s.0);
    let bar = if show_progress {
        ProgressBar::new(sends.len() as u64).with_style(
            ProgressStyle::with_template("demo data {bar:40} {pos}/{len} messages ({eta})")
                .expect("valid template"),
        )
    } else {
        ProgressBar::hidden()
    };
    let mut created = 0;
    // Messages of one batch share a recording time; 50 a batch keeps them close.
    for (i, chunk) in sends.chunks(50).enumerate() {
        // What the running server does on its own as the tables grow (settling tallies
        // every 30 s, fresh planner statistics hourly): without it a large load on
        // PostgreSQL with autovacuum off keeps plans made for empty tables and slows
        // to a crawl.
        if i > 0 && i % 400 == 0 {
            store.settle_tallies()?;
            store.refresh_statistics()?;
        }
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
        let recorded = messages::record(&mut conn, &batch, at, store.suppression_key())?.results;
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
        status_events::apply(
            &mut conn,
            &events,
            &[],
            at + Duration::hours(1),
            &Default::default(),
            store.suppression_key(),
        )?;
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    Ok(Loaded { created, truth })
}

/// True when the database holds no message yet.
pub fn is_empty(store: &Store) -> Result<bool, StoreError> {
    let mut conn = store.conn()?;
    let page = messages::list(&mut conn, &Default::default(), None, 1)?;
    Ok(page.is_empty())
}

/// The provider status callbacks of the demo's messages (seed `seed`, `n` messages),
/// in the providers' own shapes, one request body per line: sample traffic for
/// `sentlog webhook-replay`, so a hub can try its webhook configuration.
pub fn webhook_samples(
    n: usize,
    seed: u64,
    twilio_account_sid: &str,
) -> Vec<(crate::domain::webhook::Provider, String)> {
    use crate::domain::webhook::{Callback, Provider, sendgrid, twilio, whatsapp};
    let mut sends: Vec<(DateTime<Utc>, MessageDraft)> = stays(n, seed, Utc::now())
        .into_iter()
        .flat_map(|s| s.messages)
        .collect();
    sends.sort_by_key(|s| s.0);
    let mut out = Vec::new();
    for (at, d) in sends {
        let Some(status) = d.status else { continue };
        for (step, after) in journey(status) {
            let failed = matches!(step, MessageStatus::Failed | MessageStatus::Undelivered);
            let callback = Callback {
                provider_message_id: d.provider_message_id.clone(),
                status: step,
                occurred_at: at + Duration::seconds(after),
                error_code: if failed {
                    d.error_code.clone()
                } else {
                    String::new()
                },
                error_message: if failed {
                    d.error_message.clone()
                } else {
                    String::new()
                },
            };
            let body = match d.channel {
                Some(Channel::Sms) => {
                    twilio::body(twilio_account_sid, &callback).map(|b| (Provider::Twilio, b))
                }
                Some(Channel::Whatsapp) => {
                    whatsapp::body(&callback).map(|b| (Provider::WhatsApp, b))
                }
                Some(Channel::Email) => sendgrid::body(&callback).map(|b| (Provider::SendGrid, b)),
                None => None,
            };
            out.extend(body);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_validate_and_look_like_a_hub_s_traffic() {
        let now = Utc::now();
        let stays = stays(5000, 7, now);
        let regions = RegionMap::default();
        let mut statuses = std::collections::HashSet::new();
        let mut channels = std::collections::HashSet::new();
        let mut messages = 0;
        for s in &stays {
            assert!(
                (1..=8).contains(&s.messages.len()),
                "{} has {} messages",
                s.stay_key,
                s.messages.len()
            );
            for (_, d) in &s.messages {
                let m = message::validate(d.clone(), &regions).unwrap();
                statuses.insert(m.status);
                channels.insert(m.channel);
                messages += 1;
            }
        }
        let per_stay = messages as f64 / stays.len() as f64;
        assert!(
            (2.0..=5.0).contains(&per_stay),
            "{per_stay} messages per stay"
        );
        assert_eq!(channels.len(), 3);
        for s in [
            MessageStatus::Delivered,
            MessageStatus::Read,
            MessageStatus::Undelivered,
            MessageStatus::Failed,
            MessageStatus::Sent,
            MessageStatus::Scheduled,
        ] {
            assert!(statuses.contains(&s), "{s:?}");
        }
        let today = now.date_naive();
        let needing = stays.iter().filter(|s| s.needs_csm(today)).count();
        assert!(
            needing > 0 && needing < stays.len() / 5,
            "{needing} of {}",
            stays.len()
        );
        // Check-ins from a month ago to three weeks ahead.
        let check_ins: Vec<NaiveDate> = stays
            .iter()
            .flat_map(|s| {
                s.messages
                    .iter()
                    .map(|(_, d)| d.check_in_date.parse().unwrap())
            })
            .collect();
        assert!(
            check_ins
                .iter()
                .all(|d| *d >= today - Duration::days(31) && *d <= today + Duration::days(22))
        );
    }
}
