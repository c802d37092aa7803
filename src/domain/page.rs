//! Keyset paging: page sizes and opaque, authenticated page tokens.
//!
//! A token carries the sort key of the last row returned and a fingerprint of the
//! query it belongs to, signed with the server's secret: a forged token, a token
//! from another filter or another caller, or garbage is refused.
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::FieldError;

pub const DEFAULT_PAGE_SIZE: usize = 50;
pub const MAX_PAGE_SIZE: usize = 500;
const TOKEN_VERSION: u8 = 1;
pub const MAC_LEN: usize = 16;
const MAX_TOKEN_LEN: usize = 512;

/// `page_size` as API.md says: 0 means the default, larger than the max is clamped,
/// negative is an error.
pub fn page_size(requested: i32) -> Result<usize, FieldError> {
    match requested {
        n if n < 0 => Err(FieldError::new(
            "page_size",
            format!(
                "{n} is negative; give 0 for the default ({DEFAULT_PAGE_SIZE}) or up to {MAX_PAGE_SIZE}"
            ),
        )),
        0 => Ok(DEFAULT_PAGE_SIZE),
        n => Ok((n as usize).min(MAX_PAGE_SIZE)),
    }
}

/// Where a page ended: the sort key of its last row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub at: DateTime<Utc>,
    pub id: String,
}

/// Signs and checks page tokens with the server's secret.
#[derive(Clone)]
pub struct PageTokens {
    secret: Vec<u8>,
}

impl std::fmt::Debug for PageTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PageTokens(..)")
    }
}

impl PageTokens {
    pub fn new(secret: &[u8]) -> Self {
        Self {
            secret: secret.to_vec(),
        }
    }

    /// The server's short MAC of `payload` (page tokens, console sessions; each with
    /// its own leading tag byte so one can never pass for another).
    pub fn mac(&self, payload: &[u8]) -> [u8; MAC_LEN] {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC takes any key");
        mac.update(payload);
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; MAC_LEN];
        out.copy_from_slice(&full[..MAC_LEN]);
        out
    }

    /// The token for the page after `cursor` of the query with this fingerprint.
    pub fn encode(&self, cursor: &Cursor, query_fingerprint: &[u8; 8]) -> String {
        let mut payload = vec![TOKEN_VERSION];
        payload.extend_from_slice(query_fingerprint);
        payload.extend_from_slice(&cursor.at.timestamp_micros().to_be_bytes());
        payload.extend_from_slice(cursor.id.as_bytes());
        let mac = self.mac(&payload);
        payload.extend_from_slice(&mac);
        URL_SAFE_NO_PAD.encode(payload)
    }

    /// Reads a token given back by a caller; empty means the first page.
    pub fn decode(
        &self,
        token: &str,
        query_fingerprint: &[u8; 8],
    ) -> Result<Option<Cursor>, FieldError> {
        if token.is_empty() {
            return Ok(None);
        }
        let invalid = |why: &str| {
            FieldError::new(
                "page_token",
                format!("{why}; pass back next_page_token unchanged, with the same filter"),
            )
        };
        if token.len() > MAX_TOKEN_LEN {
            return Err(invalid("is too long to be a page token"));
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| invalid("is not a page token"))?;
        if bytes.len() < 1 + 8 + 8 + MAC_LEN || bytes[0] != TOKEN_VERSION {
            return Err(invalid("is not a page token"));
        }
        let (payload, mac) = bytes.split_at(bytes.len() - MAC_LEN);
        let expected = self.mac(payload);
        if !constant_time_eq(&expected, mac) {
            return Err(invalid("is not a page token this server issued"));
        }
        if payload[1..9] != query_fingerprint[..] {
            return Err(invalid("belongs to another filter"));
        }
        let micros = i64::from_be_bytes(payload[9..17].try_into().expect("8 bytes"));
        let at = DateTime::from_timestamp_micros(micros).ok_or_else(|| invalid("is corrupt"))?;
        let id = String::from_utf8(payload[17..].to_vec()).map_err(|_| invalid("is corrupt"))?;
        Ok(Some(Cursor { at, id }))
    }
}

/// Compares without an early exit, so timing says nothing of where bytes differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A short digest of a query's canonical text, to bind tokens to it.
pub fn fingerprint(canonical: &str) -> [u8; 8] {
    let digest = Sha256::digest(canonical.as_bytes());
    digest[..8].try_into().expect("8 bytes")
}

/// Both backends keep microseconds: truncating first keeps a stored time equal to the
/// one we computed (and a cursor equal to its row).
pub fn truncate_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).expect("in range")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cursor() -> Cursor {
        Cursor {
            at: DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap(),
            id: "0190-abc".into(),
        }
    }

    #[test]
    fn round_trip() {
        let tokens = PageTokens::new(b"secret");
        let fp = fingerprint("filter");
        let token = tokens.encode(&cursor(), &fp);
        assert_eq!(tokens.decode(&token, &fp).unwrap(), Some(cursor()));
        assert_eq!(tokens.decode("", &fp).unwrap(), None);
    }

    #[test]
    fn refuses_other_filter_secret_and_tampering() {
        let tokens = PageTokens::new(b"secret");
        let token = tokens.encode(&cursor(), &fingerprint("a"));
        assert!(tokens.decode(&token, &fingerprint("b")).is_err());
        assert!(
            PageTokens::new(b"other")
                .decode(&token, &fingerprint("a"))
                .is_err()
        );
        let mut bytes = URL_SAFE_NO_PAD.decode(&token).unwrap();
        bytes[12] ^= 1;
        let forged = URL_SAFE_NO_PAD.encode(bytes);
        let err = tokens.decode(&forged, &fingerprint("a")).unwrap_err();
        assert_eq!(err.field, "page_token");
    }

    #[test]
    fn page_sizes() {
        assert_eq!(page_size(0).unwrap(), 50);
        assert_eq!(page_size(7).unwrap(), 7);
        assert_eq!(page_size(100_000).unwrap(), 500);
        assert_eq!(page_size(-1).unwrap_err().field, "page_size");
    }

    proptest! {
        #[test]
        fn garbage_never_panics(s in "\\PC{0,600}") {
            let tokens = PageTokens::new(b"secret");
            let _ = tokens.decode(&s, &fingerprint("a"));
        }

        #[test]
        fn random_bytes_are_refused(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let tokens = PageTokens::new(b"secret");
            let token = URL_SAFE_NO_PAD.encode(bytes);
            prop_assert!(tokens.decode(&token, &fingerprint("a")).is_err() || token.is_empty());
        }
    }
}
