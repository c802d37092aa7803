//! What every use case shares: the store, the regions phones are read in, the page
//! token keys, the reconciler, the live change feed and the open-stream gate. Built
//! once from the configuration by `app::start` (and by tests through it).
use std::collections::HashMap;
use std::sync::Arc;

use super::feed::ChangeFeed;
use super::streams::StreamGate;
use crate::config::{PmsSettings, Validated};
use crate::domain::page::PageTokens;
use crate::domain::phone::RegionMap;
use crate::domain::stuck::StuckAfter;
use crate::pms::db::PushedRecords;
use crate::pms::mews::Mews;
use crate::pms::{Directories, PmsDirectory};
use crate::reconcile::Reconciler;
use crate::store::Store;
use crate::store::status_events::Parking;

/// What every request handler shares.
pub struct AppState {
    pub store: Store,
    pub regions: RegionMap,
    pub page_tokens: PageTokens,
    pub reconciler: Arc<Reconciler>,
    pub feed: Arc<ChangeFeed>,
    pub streams: StreamGate,
    /// When a silent message counts as stuck.
    pub stuck_after: StuckAfter,
    /// How early callbacks wait for their message.
    pub parking: Parking,
}

impl AppState {
    pub fn new(store: Store, config: &Validated) -> Self {
        let secret = match &config.settings.page_token_secret {
            Some(s) => s.as_bytes().to_vec(),
            None => rand::random::<[u8; 32]>().to_vec(),
        };
        AppState {
            reconciler: Arc::new(reconciler(store.clone(), config)),
            feed: ChangeFeed::new(store.clone()),
            store,
            regions: config.regions.clone(),
            page_tokens: PageTokens::new(&secret),
            stuck_after: config.stuck_after,
            parking: Parking {
                ttl: chrono::Duration::hours(i64::from(config.settings.parked_ttl_hours)),
                cap: config.settings.max_parked_per_hotel as i64,
            },
            streams: StreamGate::new(
                config.settings.max_open_streams,
                config.settings.max_open_streams_per_token,
            ),
        }
    }
}

/// The reconciler of a configuration: each hotel's PMS directory, pushed records
/// for the hotels without a vendor connection.
pub fn reconciler(store: Store, config: &Validated) -> Reconciler {
    let mut by_hotel: HashMap<String, Arc<dyn PmsDirectory>> = HashMap::new();
    for (hotel, pms) in &config.settings.pms {
        match pms {
            PmsSettings::Mews(m) => {
                let mews = Mews::new(m.clone()).expect("validated with the settings");
                by_hotel.insert(hotel.clone(), Arc::new(mews));
            }
        }
    }
    let directories = Directories {
        default: Arc::new(PushedRecords {
            store: store.clone(),
        }),
        by_hotel,
    };
    let mut r = Reconciler::new(
        store,
        config.regions.clone(),
        directories,
        config.reconcile_statuses.clone(),
    );
    r.chunk_size = config.settings.reconcile.chunk_size;
    r.thresholds.confirm_after_failures = config.settings.reconcile.confirm_after_failures;
    r.thresholds.urgent_days = config.settings.reconcile.urgent_days;
    r
}
