//! Keyset paging shared by every list RPC: read one row more than the page, and if it
//! came, sign a token for the page's last row.
use crate::domain::page::{Cursor, PageTokens};

/// Trims `rows` (read with `limit + 1`) to the page and returns the next page's token,
/// empty on the last page.
pub fn finish_page<T>(
    rows: &mut Vec<T>,
    limit: usize,
    tokens: &PageTokens,
    fingerprint: &[u8; 8],
    cursor_of: impl Fn(&T) -> Cursor,
) -> String {
    if rows.len() <= limit {
        return String::new();
    }
    rows.truncate(limit);
    rows.last()
        .map(|last| tokens.encode(&cursor_of(last), fingerprint))
        .unwrap_or_default()
}
