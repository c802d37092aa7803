//! Web console sessions: a signed cookie value that holds no token, only the SHA-256
//! of the token it was opened with (or nothing, on a server without tokens), an expiry
//! and a random nonce. The CSRF token of a session is a MAC of its nonce, so a form
//! can only be posted by a page this server rendered for that session.
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};

use super::page::{MAC_LEN, PageTokens, constant_time_eq};

const SESSION_TAG: u8 = b'S';
const CSRF_TAG: u8 = b'C';
const NONCE_LEN: usize = 16;
/// A signed-in console stays open this long.
pub const SESSION_LIFETIME: Duration = Duration::hours(12);

/// Where a console form may send the browser afterwards: only a path of this console.
/// A path starts with a single `/` followed by something other than `/` or `\`
/// (`//host` and `/\host` are other sites to a browser), and holds visible ASCII
/// only: browsers drop tabs and newlines from URLs, so `/\t/evil.example/` would
/// become `//evil.example/`, and a header value cannot hold control characters at
/// all. Anything else falls back to the messages page.
pub fn safe_return_path(requested: &str) -> &str {
    let bytes = requested.as_bytes();
    let one_slash = bytes.first() == Some(&b'/') && !matches!(bytes.get(1), Some(b'/' | b'\\'));
    let visible = bytes.iter().all(|b| b.is_ascii_graphic() && *b != b'\\');
    match one_slash && visible {
        true => requested,
        false => DEFAULT_RETURN_PATH,
    }
}

pub const DEFAULT_RETURN_PATH: &str = "/messages";

/// A verified session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// SHA-256 of the token signed in with; None when the server has no tokens.
    pub token_sha256: Option<[u8; 32]>,
    pub expires_at: DateTime<Utc>,
    pub nonce: [u8; NONCE_LEN],
}

impl Session {
    pub fn new(token_sha256: Option<[u8; 32]>, now: DateTime<Utc>) -> Self {
        Session {
            token_sha256,
            expires_at: now + SESSION_LIFETIME,
            nonce: rand::random(),
        }
    }

    /// The cookie value: tag, expiry, nonce, hash (if any), MAC; base64url.
    pub fn encode(&self, keys: &PageTokens) -> String {
        let mut payload = vec![SESSION_TAG];
        payload.extend_from_slice(&self.expires_at.timestamp().to_be_bytes());
        payload.extend_from_slice(&self.nonce);
        if let Some(h) = &self.token_sha256 {
            payload.extend_from_slice(h);
        }
        let mac = keys.mac(&payload);
        payload.extend_from_slice(&mac);
        URL_SAFE_NO_PAD.encode(payload)
    }

    /// Reads a cookie value; None when it is not one this server signed, or expired.
    pub fn decode(value: &str, keys: &PageTokens, now: DateTime<Utc>) -> Option<Session> {
        if value.len() > 200 {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(value).ok()?;
        let fixed = 1 + 8 + NONCE_LEN;
        if bytes.len() != fixed + MAC_LEN && bytes.len() != fixed + 32 + MAC_LEN {
            return None;
        }
        let (payload, mac) = bytes.split_at(bytes.len() - MAC_LEN);
        if payload[0] != SESSION_TAG || !constant_time_eq(&keys.mac(payload), mac) {
            return None;
        }
        let expires = i64::from_be_bytes(payload[1..9].try_into().ok()?);
        let expires_at = DateTime::from_timestamp(expires, 0)?;
        if expires_at <= now {
            return None;
        }
        let nonce = payload[9..fixed].try_into().ok()?;
        let token_sha256 = match payload.len() > fixed {
            true => Some(payload[fixed..].try_into().ok()?),
            false => None,
        };
        Some(Session {
            token_sha256,
            expires_at,
            nonce,
        })
    }

    /// The CSRF token every form of this session carries.
    pub fn csrf_token(&self, keys: &PageTokens) -> String {
        let mut payload = vec![CSRF_TAG];
        payload.extend_from_slice(&self.nonce);
        URL_SAFE_NO_PAD.encode(keys.mac(&payload))
    }

    pub fn csrf_matches(&self, keys: &PageTokens, presented: &str) -> bool {
        constant_time_eq(self.csrf_token(keys).as_bytes(), presented.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn keys() -> PageTokens {
        PageTokens::new(b"a secret of at least sixteen bytes")
    }

    #[test]
    fn round_trips_with_and_without_a_token() {
        let now = Utc::now();
        for hash in [None, Some([7u8; 32])] {
            let s = Session::new(hash, now);
            let back = Session::decode(&s.encode(&keys()), &keys(), now).unwrap();
            assert_eq!(back.token_sha256, hash);
            assert_eq!(back.nonce, s.nonce);
        }
    }

    #[test]
    fn expired_or_foreign_sessions_are_refused() {
        let now = Utc::now();
        let s = Session::new(None, now).encode(&keys());
        assert!(Session::decode(&s, &keys(), now + SESSION_LIFETIME).is_none());
        let other = PageTokens::new(b"another secret, also long enough");
        assert!(Session::decode(&s, &other, now).is_none());
    }

    #[test]
    fn csrf_is_bound_to_the_session() {
        let now = Utc::now();
        let (a, b) = (Session::new(None, now), Session::new(None, now));
        assert!(a.csrf_matches(&keys(), &a.csrf_token(&keys())));
        assert!(!a.csrf_matches(&keys(), &b.csrf_token(&keys())));
        assert!(!a.csrf_matches(&keys(), ""));
    }

    #[test]
    fn a_page_token_is_never_a_session() {
        let cursor = super::super::page::Cursor {
            at: Utc::now(),
            id: "0190aaaaaaaaaaaaaaaaaaaaa".into(),
        };
        let token = keys().encode(&cursor, &[0; 8]);
        assert!(Session::decode(&token, &keys(), Utc::now()).is_none());
    }

    #[test]
    fn return_paths_stay_on_the_console() {
        for ok in [
            "/",
            "/messages",
            "/flags?state=OPEN&done=x",
            "/messages%09x",
        ] {
            assert_eq!(safe_return_path(ok), ok);
        }
        for bad in [
            "",
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example/",
            "/\n/evil.example/",
            " /messages",
            "/a b",
            "/a\\b",
            "https://evil.example/",
            "evil.example",
            "/\u{0}x",
            "/caf\u{e9}",
            "\t//evil.example",
        ] {
            assert_eq!(safe_return_path(bad), DEFAULT_RETURN_PATH, "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn a_return_path_is_a_local_path_a_header_can_hold(s in "\\PC{0,12}|[/\\\\\t\n a-z.]{0,12}") {
            let p = safe_return_path(&s);
            prop_assert!(p == s || p == DEFAULT_RETURN_PATH);
            prop_assert!(p.starts_with('/'));
            prop_assert!(!p.starts_with("//") && !p.starts_with("/\\"));
            // What a browser would make of it after dropping tabs and newlines.
            let seen_by_browser: String = p.chars().filter(|c| !matches!(c, '\t' | '\n' | '\r')).collect();
            prop_assert!(!seen_by_browser.starts_with("//"));
            // Visible ASCII only: a Location header can hold it as it is.
            prop_assert!(p.bytes().all(|b| b.is_ascii_graphic()));
        }

        #[test]
        fn tampered_cookies_never_verify(flip in 0usize..200, bit in 0u8..8) {
            let now = Utc::now();
            let value = Session::new(Some([1u8; 32]), now).encode(&keys());
            let mut bytes = URL_SAFE_NO_PAD.decode(&value).unwrap();
            let i = flip % bytes.len();
            bytes[i] ^= 1 << bit;
            let tampered = URL_SAFE_NO_PAD.encode(bytes);
            prop_assert!(Session::decode(&tampered, &keys(), now).is_none());
        }

        #[test]
        fn garbage_never_panics(s in ".{0,300}") {
            let _ = Session::decode(&s, &keys(), Utc::now());
        }
    }
}
