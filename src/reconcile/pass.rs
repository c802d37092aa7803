//! One reconciliation pass, stay by stay (API.md "Stays"). First the open flags, in id
//! order: each is re-decided (closed when the stay was reached or is over, its priority
//! moved as arrival nears). Then the failing messages not looked at since they changed,
//! in id order. Each chunk gathers its stays, reads all their messages and flags with
//! one set-based query per hotel and the PMS with one call per hotel, decides each stay
//! (`stay::decide`, pure) and writes the chunk in one transaction. Memory is bounded by
//! the chunk size, whatever the number of candidates.
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use chrono::Utc;

use super::rules::GuestFacts;
use super::stay::{self, NewFlag, StayDecision, StayFacts, Thresholds};
use crate::domain::flag::Flag;
use crate::domain::message::{Message, MessageStatus};
use crate::domain::phone::RegionMap;
use crate::domain::run::{HotelCounts, ReconciliationRun, RunState, Trigger};
use crate::pms::{Directories, DirectoryGuest, GuestKey};
use crate::store::reconcile::{self as store, Candidate, FlagUpdate, StayRef};
use crate::store::{Store, StoreError, runs};

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// Another pass holds the lock (in this process, or another instance).
    #[error("a reconciliation pass is already running; try again when it ends")]
    AlreadyRunning,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Everything a pass needs; one per process.
pub struct Reconciler {
    pub store: Store,
    pub regions: RegionMap,
    pub directories: Directories,
    /// Current statuses that make a message a candidate (default UNDELIVERED, FAILED).
    pub statuses: Vec<MessageStatus>,
    pub chunk_size: usize,
    /// How much evidence a flag needs; `failing` is `statuses`.
    pub thresholds: Thresholds,
    running: tokio::sync::Mutex<()>,
}

/// What a pass walks.
#[derive(Debug, Clone, Copy)]
enum Walk {
    /// The open flags: the facts or the date may have moved without a message changing.
    OpenFlags,
    /// The messages of this status not looked at since they changed.
    Failing(MessageStatus),
}

/// What a pass learnt of one chunk.
#[derive(Default)]
struct ChunkOutcome {
    raised: Vec<Flag>,
    updates: Vec<FlagUpdate>,
    checked: Vec<(String, chrono::DateTime<Utc>)>,
    /// Messages checked and skipped, per hotel.
    counts: BTreeMap<String, HotelCounts>,
}

impl Reconciler {
    pub fn new(
        store: Store,
        regions: RegionMap,
        directories: Directories,
        statuses: Vec<MessageStatus>,
    ) -> Self {
        Reconciler {
            store,
            regions,
            directories,
            thresholds: Thresholds {
                failing: statuses.clone(),
                ..Thresholds::default()
            },
            statuses,
            chunk_size: crate::config::DEFAULT_CHUNK,
            running: tokio::sync::Mutex::new(()),
        }
    }

    /// Runs one pass over the candidates of `hotel_ids` (empty: every hotel) and returns
    /// its record. Never two at once: in this process (a mutex) nor across instances on
    /// one PostgreSQL (an advisory lock); the loser gets `AlreadyRunning`.
    ///
    /// The pass runs in its own task: a caller that hangs up or times out does not cut
    /// it short (nor leave the cross-instance lock held).
    pub async fn run_once(
        self: &Arc<Self>,
        trigger: Trigger,
        hotel_ids: Vec<String>,
    ) -> Result<ReconciliationRun, ReconcileError> {
        let me = self.clone();
        tokio::spawn(async move { me.run_locked(trigger, hotel_ids).await })
            .await
            .map_err(|e| {
                ReconcileError::Store(StoreError::Unavailable(format!("pass task: {e}")))
            })?
    }

    async fn run_locked(
        &self,
        trigger: Trigger,
        hotel_ids: Vec<String>,
    ) -> Result<ReconciliationRun, ReconcileError> {
        let _local = self
            .running
            .try_lock()
            .map_err(|_| ReconcileError::AlreadyRunning)?;
        let store = self.store.clone();
        let (lock_conn, got) = tokio::task::spawn_blocking(move || {
            let mut conn = store.conn()?;
            let got = store::try_pass_lock(&mut conn)?;
            Ok::<_, StoreError>((conn, got))
        })
        .await
        .map_err(|e| StoreError::Unavailable(e.to_string()))??;
        if !got {
            return Err(ReconcileError::AlreadyRunning);
        }
        let result = self.pass(trigger, hotel_ids).await;
        let _ = tokio::task::spawn_blocking(move || {
            let mut conn = lock_conn;
            if let Err(e) = store::release_pass_lock(&mut conn) {
                tracing::warn!(error = %e, "releasing the pass lock");
            }
        })
        .await;
        result
    }

    async fn pass(
        &self,
        trigger: Trigger,
        hotel_ids: Vec<String>,
    ) -> Result<ReconciliationRun, ReconcileError> {
        let mut run = ReconciliationRun::start(trigger, hotel_ids.clone(), Utc::now());
        self.save(&run).await?;
        tracing::info!(run_id = %run.id, trigger = trigger.name(), "reconciliation pass started");
        let outcome = self.walk(&mut run, &hotel_ids).await;
        run.finished_at = Some(Utc::now());
        run.state = match &outcome {
            Ok(()) => RunState::Succeeded,
            Err(_) => RunState::Failed,
        };
        if let Err(e) = &outcome {
            run.errors += 1;
            run.error_details.push(format!("pass stopped: {e}"));
        }
        // A pass stopped by the database leaves its record (state failed) when the
        // database lets us write it; otherwise the caller gets the database error.
        self.save(&run).await?;
        tracing::info!(
            run_id = %run.id,
            state = run.state.name(),
            checked = run.messages_checked,
            flags = run.flags_raised,
            skipped = run.messages_skipped,
            errors = run.errors,
            "reconciliation pass finished"
        );
        Ok(run)
    }

    async fn save(&self, run: &ReconciliationRun) -> Result<(), StoreError> {
        let run = run.clone();
        self.store.run(move |c| runs::save(c, &run)).await
    }

    /// Walks the open flags, then the candidates of each status, chunk by chunk.
    async fn walk(
        &self,
        run: &mut ReconciliationRun,
        hotel_ids: &[String],
    ) -> Result<(), StoreError> {
        let mut failed_hotels: HashSet<String> = HashSet::new();
        self.walk_one(run, hotel_ids, Walk::OpenFlags, &mut failed_hotels)
            .await?;
        for status in self.statuses.clone() {
            self.walk_one(run, hotel_ids, Walk::Failing(status), &mut failed_hotels)
                .await?;
        }
        Ok(())
    }

    /// One walk in id order, chunk by chunk: each chunk's stays are decided per hotel
    /// and the chunk written in one transaction.
    async fn walk_one(
        &self,
        run: &mut ReconciliationRun,
        hotel_ids: &[String],
        walk: Walk,
        failed_hotels: &mut HashSet<String>,
    ) -> Result<(), StoreError> {
        let mut after = String::new();
        loop {
            let (hotels, from, limit) = (hotel_ids.to_vec(), after.clone(), self.chunk_size);
            // Open flags come as (flag id, hotel, stay) with no message to mark, and
            // their key's kind unknown.
            type Row = (String, String, StayRef);
            let (rows, candidates): (Vec<Row>, Vec<Candidate>) = self
                .store
                .run(move |c| match walk {
                    Walk::OpenFlags => {
                        let open = store::open_flags(c, &hotels, &from, limit)?;
                        let rows = open
                            .into_iter()
                            .map(|(id, h, key)| (id, h, (key, None)))
                            .collect();
                        Ok((rows, vec![]))
                    }
                    Walk::Failing(status) => {
                        let found = store::candidates(c, status, &hotels, &from, limit)?;
                        let rows = found
                            .iter()
                            .map(|m| {
                                let stay = (m.stay_key.clone(), Some(m.stay_kind));
                                (m.id.clone(), m.hotel_id.clone(), stay)
                            })
                            .collect();
                        Ok((rows, found))
                    }
                })
                .await?;
            let Some(last) = rows.last() else {
                return Ok(());
            };
            after = last.0.clone();
            let full = rows.len() == self.chunk_size;

            let mut by_hotel: BTreeMap<String, (Vec<StayRef>, Vec<Candidate>)> = BTreeMap::new();
            for (_, hotel, stay_key) in rows {
                by_hotel.entry(hotel).or_default().0.push(stay_key);
            }
            for c in candidates {
                by_hotel.entry(c.hotel_id.clone()).or_default().1.push(c);
            }
            let mut outcome = ChunkOutcome::default();
            for (hotel, (mut keys, candidates)) in by_hotel {
                keys.sort();
                keys.dedup();
                self.settle(run, &hotel, keys, &candidates, failed_hotels, &mut outcome)
                    .await?;
            }
            self.write(run, outcome).await?;
            if !full {
                return Ok(());
            }
        }
    }

    /// Decides the stays `keys` of one hotel: reads their messages and flags (one
    /// query), asks the PMS for their guests (one call), and marks `candidates` checked
    /// unless time alone may change their stay's decision.
    async fn settle(
        &self,
        run: &mut ReconciliationRun,
        hotel: &str,
        keys: Vec<StayRef>,
        candidates: &[Candidate],
        failed_hotels: &mut HashSet<String>,
        outcome: &mut ChunkOutcome,
    ) -> Result<(), StoreError> {
        if failed_hotels.contains(hotel) {
            return Ok(());
        }
        let h = hotel.to_string();
        let (messages, flags) = self.store.run(move |c| store::stays(c, &h, &keys)).await?;
        let mut stays: BTreeMap<String, Vec<Message>> = BTreeMap::new();
        for (key, m) in messages {
            stays.entry(key).or_default().push(m);
        }
        let mut open: HashMap<String, Flag> = HashMap::new();
        let mut covered: HashMap<String, HashSet<String>> = HashMap::new();
        for f in flags {
            if f.state.is_open() {
                open.insert(f.stay_key.clone(), f);
            } else {
                covered
                    .entry(f.stay_key.clone())
                    .or_default()
                    .extend(f.message_ids.iter().cloned());
            }
        }
        // Stays with an open flag but no message left (purged) are still decided.
        for key in open.keys() {
            stays.entry(key.clone()).or_default();
        }
        let order: Vec<String> = stays.keys().cloned().collect();
        let guest_keys: Vec<GuestKey> = order.iter().map(|k| guest_key(&stays[k])).collect();
        let guests = match self
            .directories
            .for_hotel(hotel)
            .find_guests(hotel, &guest_keys)
            .await
        {
            Ok(guests) => guests,
            Err(e) => {
                // Not marked checked: the next pass tries this hotel again.
                tracing::warn!(hotel_id = %hotel, error = %e, "PMS lookup failed");
                run.count(hotel, HotelCounts::error(e.to_string()));
                failed_hotels.insert(hotel.to_string());
                return Ok(());
            }
        };
        let region = self.regions.for_hotel(hotel);
        let now = crate::domain::page::truncate_micros(Utc::now());
        let none = HashSet::new();
        let mut revisit: HashSet<&str> = HashSet::new();
        let mut guest_of: HashMap<&str, Option<&DirectoryGuest>> = HashMap::new();
        for (key, guest) in order.iter().zip(&guests) {
            let refs: Vec<&Message> = stays[key].iter().collect();
            let guest_facts = guest.as_ref().map(facts_of);
            guest_of.insert(key, guest.as_ref());
            let facts = StayFacts {
                hotel_id: hotel,
                stay_key: key,
                messages: &refs,
                guest: guest_facts.as_ref(),
                open_flag: open.get(key),
                covered: covered.get(key).unwrap_or(&none),
                region,
                today: now.date_naive(),
                now,
            };
            let new = NewFlag {
                id: uuid::Uuid::now_v7().to_string(),
                run_id: Some(run.id.clone()),
                now,
            };
            match stay::decide(&facts, &self.thresholds, &new) {
                StayDecision::Nothing { revisit: true } => {
                    revisit.insert(key);
                }
                StayDecision::Nothing { revisit: false } | StayDecision::Keep => {}
                StayDecision::Raise(flag) => outcome.raised.push(flag),
                StayDecision::Update(next) | StayDecision::Close(next) => {
                    let was = &open[key];
                    outcome.updates.push(FlagUpdate {
                        next,
                        was_state: was.state,
                        was_updated_at: was.updated_at,
                    });
                }
            }
        }
        let counts = outcome.counts.entry(hotel.to_string()).or_default();
        for c in candidates {
            counts.messages_checked += 1;
            let message = stays
                .get(&c.stay_key)
                .and_then(|ms| ms.iter().find(|m| m.id == c.id));
            let guest = guest_of.get(c.stay_key.as_str()).copied().flatten();
            if message.is_some_and(|m| stay::is_skipped(m, guest.map(facts_of).as_ref(), region)) {
                counts.messages_skipped += 1;
            }
            if !revisit.contains(c.stay_key.as_str()) {
                outcome.checked.push((c.id.clone(), c.updated_at));
            }
        }
        Ok(())
    }

    /// Writes one chunk and counts what it did.
    async fn write(
        &self,
        run: &mut ReconciliationRun,
        mut outcome: ChunkOutcome,
    ) -> Result<(), StoreError> {
        for (hotel, counts) in std::mem::take(&mut outcome.counts) {
            run.count(&hotel, counts);
        }
        let now = Utc::now();
        let written = self
            .store
            .run(move |c| {
                store::record_chunk(c, &outcome.raised, &outcome.updates, &outcome.checked, now)
            })
            .await?;
        for f in &written.raised {
            let one_flag = HotelCounts {
                flags_raised: 1,
                ..HotelCounts::default()
            };
            run.count(&f.hotel_id, one_flag);
            *run.raised_by_reason.entry(f.reason).or_default() += 1;
            tracing::debug!(flag_id = %f.id, message_id = %f.message_id, reason = f.reason.name(), "flag raised");
        }
        for f in &written.updated {
            tracing::debug!(flag_id = %f.id, state = f.state.name(), priority = f.priority.name(), "flag re-decided");
        }
        Ok(())
    }
}

/// How the stay's messages name its guest: the latest message that names one.
fn guest_key(messages: &[Message]) -> GuestKey {
    messages
        .iter()
        .filter(|m| m.pms_guest_id.is_some() || m.pms_reservation_id.is_some())
        .max_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)))
        .map(|m| GuestKey {
            pms_guest_id: m.pms_guest_id.clone(),
            pms_reservation_id: m.pms_reservation_id.clone(),
        })
        .unwrap_or_default()
}

fn facts_of(g: &DirectoryGuest) -> GuestFacts<'_> {
    GuestFacts {
        full_name: g.full_name.as_deref(),
        phone: g.phone.as_deref(),
        email: g.email.as_deref(),
        email_is_ota_relay: g.email_is_ota_relay,
    }
}
