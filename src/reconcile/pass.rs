//! One reconciliation pass: candidate messages in chunks (one PMS call per hotel per
//! chunk), a decision per message, flags and "checked" marks written per chunk. Memory
//! is bounded by the chunk size, whatever the number of candidates.
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use chrono::Utc;

use super::rules::{self, Decision, GuestFacts, MessageFacts};
use crate::domain::email;
use crate::domain::flag::{Flag, FlagState};
use crate::domain::message::MessageStatus;
use crate::domain::phone::RegionMap;
use crate::domain::run::{HotelCounts, ReconciliationRun, RunState, Trigger};
use crate::pms::{Directories, DirectoryGuest, GuestKey};
use crate::store::reconcile::{self as store, Candidate};
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
    running: tokio::sync::Mutex<()>,
}

/// What a pass learnt of one chunk.
#[derive(Default)]
struct ChunkOutcome {
    flags: Vec<Flag>,
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

    /// Walks the candidates of each status in id order, chunk by chunk.
    async fn walk(
        &self,
        run: &mut ReconciliationRun,
        hotel_ids: &[String],
    ) -> Result<(), StoreError> {
        let mut failed_hotels: HashSet<String> = HashSet::new();
        for status in self.statuses.clone() {
            self.walk_status(run, hotel_ids, status, &mut failed_hotels)
                .await?;
        }
        Ok(())
    }

    async fn walk_status(
        &self,
        run: &mut ReconciliationRun,
        hotel_ids: &[String],
        status: MessageStatus,
        failed_hotels: &mut HashSet<String>,
    ) -> Result<(), StoreError> {
        let mut after = String::new();
        loop {
            let (hotels, from, limit) = (hotel_ids.to_vec(), after.clone(), self.chunk_size);
            let chunk = self
                .store
                .run(move |c| store::candidates(c, status, &hotels, &from, limit))
                .await?;
            let Some(last) = chunk.last() else {
                return Ok(());
            };
            after = last.id.clone();
            let full = chunk.len() == self.chunk_size;

            let mut by_hotel: BTreeMap<String, Vec<Candidate>> = BTreeMap::new();
            for c in chunk {
                by_hotel.entry(c.hotel_id.clone()).or_default().push(c);
            }
            let mut outcome = ChunkOutcome::default();
            for (hotel, candidates) in by_hotel {
                if failed_hotels.contains(&hotel) {
                    continue;
                }
                let keys: Vec<GuestKey> = candidates
                    .iter()
                    .map(|c| GuestKey {
                        pms_guest_id: c.pms_guest_id.clone(),
                        pms_reservation_id: c.pms_reservation_id.clone(),
                    })
                    .collect();
                match self
                    .directories
                    .for_hotel(&hotel)
                    .find_guests(&hotel, &keys)
                    .await
                {
                    Ok(guests) => self.decide_all(run, &candidates, &guests, &mut outcome),
                    Err(e) => {
                        // Not marked checked: the next pass tries this hotel again.
                        tracing::warn!(hotel_id = %hotel, error = %e, "PMS lookup failed");
                        run.count(&hotel, HotelCounts::error(e.to_string()));
                        failed_hotels.insert(hotel);
                    }
                }
            }
            for (hotel, counts) in std::mem::take(&mut outcome.counts) {
                run.count(&hotel, counts);
            }
            let now = Utc::now();
            let raised = self
                .store
                .run(move |c| store::record_chunk(c, &outcome.flags, &outcome.checked, now))
                .await?;
            for f in &raised {
                let one_flag = HotelCounts {
                    flags_raised: 1,
                    ..HotelCounts::default()
                };
                run.count(&f.hotel_id, one_flag);
                *run.raised_by_reason.entry(f.reason).or_default() += 1;
                tracing::debug!(flag_id = %f.id, message_id = %f.message_id, reason = f.reason.name(), "flag raised");
            }
            if !full {
                return Ok(());
            }
        }
    }

    fn decide_all(
        &self,
        run: &ReconciliationRun,
        candidates: &[Candidate],
        guests: &[Option<DirectoryGuest>],
        outcome: &mut ChunkOutcome,
    ) {
        let now = Utc::now();
        for (c, guest) in candidates.iter().zip(guests) {
            let region = self.regions.for_hotel(&c.hotel_id);
            let facts = MessageFacts {
                channel: c.channel,
                recipient_phone: c.recipient_phone.as_deref(),
                recipient_email: c.recipient_email.as_deref(),
                error_category: c.error_category,
                guest_name: c.guest_name.as_deref(),
            };
            let guest_facts = guest.as_ref().map(|g| GuestFacts {
                full_name: g.full_name.as_deref(),
                phone: g.phone.as_deref(),
                email: g.email.as_deref(),
                email_is_ota_relay: g.email_is_ota_relay,
            });
            let counts = outcome.counts.entry(c.hotel_id.clone()).or_default();
            counts.messages_checked += 1;
            match rules::decide(&facts, guest_facts.as_ref(), region) {
                Decision::Skip => counts.messages_skipped += 1,
                Decision::NoFlag => {}
                Decision::Flag(finding) => outcome.flags.push(Flag {
                    id: uuid::Uuid::now_v7().to_string(),
                    hotel_id: c.hotel_id.clone(),
                    message_id: c.id.clone(),
                    run_id: Some(run.id.clone()),
                    reason: finding.reason,
                    detail: finding.detail,
                    message_phone: c.recipient_phone.clone().filter(|_| c.channel.uses_phone()),
                    pms_phone: finding.pms_phone,
                    suggested_phone: finding.suggested_phone,
                    message_email: c.recipient_email.as_deref().map(email::normalize),
                    pms_email: finding.pms_email,
                    guest_name: guest
                        .as_ref()
                        .and_then(|g| g.full_name.clone())
                        .or_else(|| c.guest_name.clone()),
                    campaign_name: c.campaign_name.clone(),
                    error_category: c.error_category,
                    corrected_phone: None,
                    state: FlagState::Open,
                    resolution: None,
                    note: None,
                    created_at: crate::domain::page::truncate_micros(now),
                    updated_at: crate::domain::page::truncate_micros(now),
                    resolved_by: None,
                }),
            }
            outcome.checked.push((c.id.clone(), c.updated_at));
        }
    }
}
