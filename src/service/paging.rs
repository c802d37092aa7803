//! Keyset paging shared by every list: check the page size, read the caller's token,
//! fetch one row more than the page, and sign a token for the page's last row.
use super::ServiceError;
use crate::domain::page::{self, Cursor};
use crate::service::AppState;
use crate::store::{DbConn, StoreError};

/// Who decides how PostgreSQL plans a page's statements.
pub enum PagePlans {
    /// Planned per call with their values, as any other use of a connection.
    PerCall,
    /// The fetch decides (`DbConn::use_plans`), and a run of pages that share their
    /// plans pays no switch per call (`Store::run_choosing_plans`).
    ChosenByFetch,
}

/// One page of a list: the rows, and the next page's token (empty on the last page).
#[allow(clippy::too_many_arguments)]
pub async fn fetch_page<T, F>(
    state: &AppState,
    plans: PagePlans,
    page_size: i32,
    page_token: &str,
    fingerprint: [u8; 8],
    what: &str,
    fetch: F,
    cursor_of: impl Fn(&T) -> Cursor,
) -> Result<(Vec<T>, String), ServiceError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConn, Option<&Cursor>, usize) -> Result<Vec<T>, StoreError> + Send + 'static,
{
    let limit = page::page_size(page_size)?;
    let cursor = state.page_tokens.decode(page_token, &fingerprint)?;
    let fetch = move |c: &mut DbConn| fetch(c, cursor.as_ref(), limit + 1);
    let mut rows = match plans {
        PagePlans::PerCall => state.store.run(fetch).await,
        PagePlans::ChosenByFetch => state.store.run_choosing_plans(fetch).await,
    }
    .map_err(ServiceError::store(what))?;
    if rows.len() <= limit {
        return Ok((rows, String::new()));
    }
    rows.truncate(limit);
    let token = rows
        .last()
        .map(|last| state.page_tokens.encode(&cursor_of(last), &fingerprint))
        .unwrap_or_default();
    Ok((rows, token))
}
