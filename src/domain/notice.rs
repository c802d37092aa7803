//! What the console says after a form did something ("Flag … is now resolved"), carried
//! through the post/redirect/get in the URL. Only the server can issue one: the text is
//! built from a small set of templates, and the URL holds the template's values signed
//! with the server's secret for this browser's session. A hand-made `done=any text`
//! shows nothing, a notice cannot be replayed into another session, and no guest's name
//! or phone ever travels in a URL.
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::flag::FlagState;
use super::page::{MAC_LEN, PageTokens, constant_time_eq};
use super::session::Session;

const NOTICE_TAG: u8 = b'N';
/// Flag ids are UUIDs; anything longer is not one of ours.
const MAX_PAYLOAD: usize = 120;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    FlagMoved {
        flag_id: String,
        state: FlagState,
    },
    PassFinished {
        checked: i64,
        raised: i64,
        skipped: i64,
        errors: i64,
    },
    /// A suppression was added (`lifted` false) or lifted.
    Suppression {
        id: String,
        lifted: bool,
    },
}

impl Notice {
    /// The sentence shown in the page's status banner.
    pub fn text(&self) -> String {
        match self {
            Notice::FlagMoved { flag_id, state } => {
                format!("Flag {flag_id} is now {}.", state.name().to_lowercase())
            }
            Notice::PassFinished {
                checked,
                raised,
                skipped,
                errors,
            } => format!(
                "Reconciliation pass finished: {checked} messages checked, {raised} flags raised, {skipped} skipped, {errors} errors."
            ),
            Notice::Suppression { id, lifted: false } => format!("Suppression {id} added."),
            Notice::Suppression { id, lifted: true } => {
                format!("Suppression {id} lifted; it stays in the history.")
            }
        }
    }

    fn payload(&self) -> String {
        match self {
            Notice::FlagMoved { flag_id, state } => format!("flag:{flag_id}:{}", state.name()),
            Notice::PassFinished {
                checked,
                raised,
                skipped,
                errors,
            } => format!("run:{checked}:{raised}:{skipped}:{errors}"),
            Notice::Suppression { id, lifted } => {
                format!("sup:{id}:{}", if *lifted { "lifted" } else { "added" })
            }
        }
    }

    fn parse(payload: &str) -> Option<Notice> {
        let parts: Vec<&str> = payload.split(':').collect();
        match parts.as_slice() {
            ["flag", id, state] => Some(Notice::FlagMoved {
                flag_id: id.to_string(),
                state: FlagState::ALL.into_iter().find(|s| s.name() == *state)?,
            }),
            ["run", c, r, s, e] => Some(Notice::PassFinished {
                checked: c.parse().ok()?,
                raised: r.parse().ok()?,
                skipped: s.parse().ok()?,
                errors: e.parse().ok()?,
            }),
            ["sup", id, how @ ("added" | "lifted")] => Some(Notice::Suppression {
                id: id.to_string(),
                lifted: *how == "lifted",
            }),
            _ => None,
        }
    }

    fn mac(payload: &str, keys: &PageTokens, session: &Session) -> [u8; MAC_LEN] {
        let mut signed = vec![NOTICE_TAG];
        signed.extend_from_slice(&session.nonce);
        signed.extend_from_slice(payload.as_bytes());
        keys.mac(&signed)
    }

    /// The value of the `done` query parameter that carries this notice.
    pub fn encode(&self, keys: &PageTokens, session: &Session) -> String {
        let payload = self.payload();
        let mac = Self::mac(&payload, keys, session);
        format!("{payload}.{}", URL_SAFE_NO_PAD.encode(mac))
    }

    /// The notice a `done` value carries, if this server issued it for this session.
    pub fn decode(value: &str, keys: &PageTokens, session: &Session) -> Option<Notice> {
        let (payload, mac) = value.rsplit_once('.')?;
        if payload.len() > MAX_PAYLOAD {
            return None;
        }
        let mac = URL_SAFE_NO_PAD.decode(mac).ok()?;
        if !constant_time_eq(&Self::mac(payload, keys, session), &mac) {
            return None;
        }
        Self::parse(payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use proptest::prelude::*;

    fn keys() -> PageTokens {
        PageTokens::new(b"a secret of at least sixteen bytes")
    }

    fn moved() -> Notice {
        Notice::FlagMoved {
            flag_id: "0190aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee".into(),
            state: FlagState::Resolved,
        }
    }

    #[test]
    fn round_trips_for_its_session_only() {
        let (a, b) = (
            Session::new(None, Utc::now()),
            Session::new(None, Utc::now()),
        );
        let run = Notice::PassFinished {
            checked: 12,
            raised: 3,
            skipped: 1,
            errors: 0,
        };
        let lifted = Notice::Suppression {
            id: "0190aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee".into(),
            lifted: true,
        };
        for n in [moved(), run, lifted] {
            let done = n.encode(&keys(), &a);
            assert_eq!(Notice::decode(&done, &keys(), &a), Some(n.clone()));
            assert_eq!(Notice::decode(&done, &keys(), &b), None, "another session");
        }
        assert_eq!(
            moved().text(),
            "Flag 0190aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee is now resolved."
        );
    }

    #[test]
    fn hand_made_text_shows_nothing() {
        let s = Session::new(None, Utc::now());
        for forged in [
            "Your account is locked, call +33 1 23 45 67 89",
            "flag:x:RESOLVED",
            "run:1:2:3:4.AAAAAAAAAAAAAAAAAAAAAA",
            "",
        ] {
            assert_eq!(Notice::decode(forged, &keys(), &s), None, "{forged:?}");
        }
    }

    proptest! {
        #[test]
        fn only_signed_values_decode(text in "\\PC{0,80}") {
            let s = Session::new(None, Utc::now());
            prop_assert_eq!(Notice::decode(&text, &keys(), &s), None);
        }
    }
}
