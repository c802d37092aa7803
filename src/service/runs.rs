//! Reconciliation passes: one now, on the schedule (`jobs`) or from the CLI, with its
//! metrics; and the past passes, as the caller may see them.
use std::sync::Arc;

use super::ServiceError;
use super::paging::{PagePlans, fetch_page};
use crate::domain::access::Caller;
use crate::domain::page::{self, Cursor};
use crate::domain::run::{ReconciliationRun, Trigger};
use crate::reconcile::{ReconcileError, Reconciler};
use crate::service::AppState;
use crate::store::runs as store;

/// One page of passes, newest first: a caller who serves some hotels sees only the
/// passes that touched them, with only their counts and error lines.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    page_size: i32,
    page_token: &str,
) -> Result<(Vec<ReconciliationRun>, String), ServiceError> {
    let hotels = caller.all_hotels().sql_list();
    // The token is bound to the caller's hotels, like every other list's.
    let fingerprint = page::fingerprint(&format!("runs|{}", hotels.join(",")));
    let scope = caller.hotels.clone();
    let (rows, next) = fetch_page(
        state,
        PagePlans::PerCall,
        page_size,
        page_token,
        fingerprint,
        "run",
        move |c, cursor, limit| store::list(c, &hotels, cursor, limit),
        |r| Cursor {
            at: r.started_at,
            id: r.id.clone(),
        },
    )
    .await?;
    let rows = rows
        .into_iter()
        .filter_map(|run| run.as_seen_by(&scope))
        .collect();
    Ok((rows, next))
}

/// Runs one pass over `hotel_ids` (empty: every hotel) and counts it in the metrics.
pub async fn run_pass(
    reconciler: &Arc<Reconciler>,
    trigger: Trigger,
    hotel_ids: Vec<String>,
) -> Result<ReconciliationRun, ReconcileError> {
    let run = reconciler.run_once(trigger, hotel_ids).await?;
    super::metrics::record_run(&run);
    Ok(run)
}

/// Runs a pass now over the requested hotels (or all the caller's).
pub async fn run_now(
    state: &AppState,
    caller: &Caller,
    hotel_ids: Vec<String>,
) -> Result<ReconciliationRun, ServiceError> {
    let hotels = caller.scope("hotel_ids", hotel_ids)?.sql_list();
    Ok(run_pass(&state.reconciler, Trigger::Manual, hotels).await?)
}
