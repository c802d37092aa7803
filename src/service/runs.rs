//! Past reconciliation passes, as the caller may see them.
use super::ServiceError;
use super::paging::fetch_page;
use crate::app::AppState;
use crate::domain::access::Caller;
use crate::domain::page::{self, Cursor};
use crate::domain::run::ReconciliationRun;
use crate::store::runs as store;

/// One page of passes, newest first: a caller who serves some hotels sees only the
/// passes that touched them, with only their counts and error lines.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    page_size: i32,
    page_token: &str,
) -> Result<(Vec<ReconciliationRun>, String), ServiceError> {
    let hotels = caller.visible_hotels();
    // The token is bound to the caller's hotels, like every other list's.
    let fingerprint = page::fingerprint(&format!("runs|{}", hotels.join(",")));
    let scope = caller.hotels.clone();
    let (rows, next) = fetch_page(
        state,
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
