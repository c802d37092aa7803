//! Who is calling, and which hotels they may see.
use std::collections::BTreeSet;

use super::FieldError;
use super::message::required;

/// The hotels a caller serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HotelScope {
    All,
    Only(BTreeSet<String>),
}

/// What a caller may do. `csm` includes everything `agent` may; `admin` may do all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Internal services that record messages, statuses and PMS guests.
    Ingest,
    /// Agents reading messages, counts, histories and campaign stats.
    Agent,
    /// Customer Success Managers: agent, plus the flag queue and reconciliation.
    Csm,
    /// Everything, including erasure.
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Ingest, Role::Agent, Role::Csm, Role::Admin];

    pub fn name(self) -> &'static str {
        match self {
            Role::Ingest => "ingest",
            Role::Agent => "agent",
            Role::Csm => "csm",
            Role::Admin => "admin",
        }
    }

    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL
            .into_iter()
            .find(|r| r.name() == name.trim().to_ascii_lowercase())
    }

    /// Whether this role may call an RPC that needs `needed`.
    pub fn satisfies(self, needed: Role) -> bool {
        self == needed || self == Role::Admin || (self == Role::Csm && needed == Role::Agent)
    }
}

/// What a caller may ask for, whichever front end carries it (an RPC, a console
/// page or form). `grpc::auth` maps each RPC to one; the console asks for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    RecordMessages,
    UpdateStatuses,
    /// Messages, their counts and histories, campaign funnels.
    ReadMessages,
    ExportMessages,
    WatchMessages,
    UpsertGuests,
    ReadGuests,
    EraseGuestData,
    RunReconciliation,
    ListRuns,
    /// The flag queue and one flag.
    ReadFlags,
    UpdateFlag,
    CheckRecipients,
    /// Which arriving guests have been reached.
    ReadArrivals,
    /// The suppressions (opt-outs, invalid addresses, corrected numbers).
    ReadSuppressions,
    /// Add or lift a suppression.
    UpdateSuppressions,
}

impl Action {
    /// The roles that may do it: the one table of the access rules (several roles:
    /// any of them; `admin` may do everything, `csm` everything `agent` may).
    pub fn roles(self) -> &'static [Role] {
        match self {
            Action::RecordMessages | Action::UpdateStatuses | Action::UpsertGuests => {
                &[Role::Ingest]
            }
            Action::ReadMessages
            | Action::ExportMessages
            | Action::WatchMessages
            | Action::ReadGuests
            | Action::ReadArrivals
            | Action::ReadSuppressions => &[Role::Agent],
            Action::RunReconciliation
            | Action::ListRuns
            | Action::ReadFlags
            | Action::UpdateFlag
            | Action::UpdateSuppressions => &[Role::Csm],
            Action::CheckRecipients => &[Role::Ingest, Role::Csm],
            Action::EraseGuestData => &[Role::Admin],
        }
    }
}

/// The identity every handler receives (put in request extensions by the server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub name: String,
    pub role: Role,
    pub hotels: HotelScope,
}

/// A caller named a hotel it does not serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutOfScope {
    pub field: String,
    pub hotel_id: String,
}

/// Why a hotel list was refused: not valid text, or a hotel the caller does not serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeError {
    Invalid(FieldError),
    OutOfScope(OutOfScope),
}

impl Caller {
    /// The caller of a server without configured tokens: loopback only, every hotel.
    pub fn anonymous() -> Self {
        Caller {
            name: "anonymous".into(),
            role: Role::Admin,
            hotels: HotelScope::All,
        }
    }

    /// May this caller do `action`?
    pub fn may(&self, action: Action) -> bool {
        action.roles().iter().any(|r| self.role.satisfies(*r))
    }

    /// The caller's scope, the one rule of which hotels a call may touch: the hotels
    /// named in `field` (each valid text and served by the caller), or every hotel the
    /// caller serves when none are named.
    pub fn scope(&self, field: &str, requested: Vec<String>) -> Result<Hotels, ScopeError> {
        // Each id is text like any other field (no NUL, bounded), whatever the scope.
        let mut requested = requested
            .iter()
            .enumerate()
            .map(|(i, h)| required(&format!("{field}[{i}]"), h))
            .collect::<Result<Vec<String>, FieldError>>()
            .map_err(ScopeError::Invalid)?;
        if let Some(h) = requested.iter().find(|h| !self.hotels.contains(h)) {
            return Err(ScopeError::OutOfScope(OutOfScope {
                field: field.to_string(),
                hotel_id: h.clone(),
            }));
        }
        requested.sort();
        requested.dedup();
        Ok(match (&self.hotels, requested.is_empty()) {
            (HotelScope::All, true) => Hotels::Every,
            (HotelScope::Only(set), true) => Hotels::Only(set.iter().cloned().collect()),
            (_, false) => Hotels::Only(requested),
        })
    }

    /// Every hotel this caller serves (reading one object, listing passes).
    pub fn all_hotels(&self) -> Hotels {
        self.scope("", Vec::new())
            .expect("naming no hotel is always within scope")
    }

    /// A batch item for `hotel_id` from this caller: refused, naming the field, when
    /// the caller does not serve that hotel.
    pub fn may_write(&self, hotel_id: &str) -> Result<(), FieldError> {
        match self.hotels.contains(hotel_id) {
            true => Ok(()),
            false => Err(FieldError::new(
                "hotel_id",
                format!("hotel {hotel_id:?} is not one this caller serves"),
            )),
        }
    }
}

/// The hotels one call may touch, decided by `Caller::scope`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Hotels {
    Every,
    /// Sorted, without repeats.
    Only(Vec<String>),
}

impl Hotels {
    pub fn contains(&self, hotel_id: &str) -> bool {
        match self {
            Hotels::Every => true,
            Hotels::Only(list) => list.iter().any(|h| h == hotel_id),
        }
    }

    /// The list a store query filters on, in the store's convention: an empty list
    /// puts no condition on the hotel (every hotel). Only the store reads it so.
    pub fn sql_list(&self) -> Vec<String> {
        match self {
            Hotels::Every => Vec::new(),
            Hotels::Only(list) => list.clone(),
        }
    }
}

impl HotelScope {
    pub fn contains(&self, hotel_id: &str) -> bool {
        match self {
            HotelScope::All => true,
            HotelScope::Only(set) => set.contains(hotel_id),
        }
    }
}

impl From<OutOfScope> for FieldError {
    fn from(e: OutOfScope) -> Self {
        FieldError::new(
            e.field,
            format!("hotel {:?} is not one this caller serves", e.hotel_id),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles() {
        let caller = |role| Caller {
            name: "x".into(),
            role,
            hotels: HotelScope::All,
        };
        let (record, list, flags) = (
            Action::RecordMessages,
            Action::ReadMessages,
            Action::ReadFlags,
        );
        let (check, erase) = (Action::CheckRecipients, Action::EraseGuestData);
        assert!(caller(Role::Ingest).may(record));
        assert!(!caller(Role::Ingest).may(list));
        assert!(caller(Role::Ingest).may(check));
        assert!(caller(Role::Agent).may(list));
        assert!(!caller(Role::Agent).may(flags));
        assert!(!caller(Role::Agent).may(record));
        assert!(caller(Role::Csm).may(list) && caller(Role::Csm).may(flags));
        assert!(caller(Role::Csm).may(check) && !caller(Role::Csm).may(erase));
        assert!(caller(Role::Admin).may(erase) && caller(Role::Admin).may(record));
        assert_eq!(Role::parse(" CSM"), Some(Role::Csm));
    }

    #[test]
    fn scoping() {
        let c = Caller {
            name: "csm".into(),
            role: Role::Csm,
            hotels: HotelScope::Only(["a".to_string(), "b".to_string()].into()),
        };
        let only = |hotels: &[&str]| Hotels::Only(hotels.iter().map(|h| h.to_string()).collect());
        assert_eq!(c.scope("hotel_ids", vec![]).unwrap(), only(&["a", "b"]));
        assert_eq!(c.all_hotels(), only(&["a", "b"]));
        assert_eq!(
            c.scope("hotel_ids", vec!["a".into()]).unwrap(),
            only(&["a"])
        );
        assert!(matches!(
            c.scope("hotel_ids", vec!["a".into(), "z".into()]),
            Err(ScopeError::OutOfScope(e)) if e.hotel_id == "z"
        ));
        // Text rules hold whatever the scope: a NUL is bad input, named.
        for caller in [c.clone(), Caller::anonymous()] {
            assert!(matches!(
                caller.scope("hotel_ids", vec!["a".into(), "a\0".into()]),
                Err(ScopeError::Invalid(e)) if e.field == "hotel_ids[1]"
            ));
        }
        assert_eq!(
            c.scope("hotel_ids", vec![" a ".into(), "a".into()])
                .unwrap(),
            only(&["a"])
        );
        assert_eq!(Caller::anonymous().all_hotels(), Hotels::Every);
        assert!(
            Hotels::Every.sql_list().is_empty(),
            "the store's every-hotel"
        );
        assert!(Hotels::Every.contains("z") && !only(&["a"]).contains("z"));
        assert!(c.may_write("a").is_ok());
        assert_eq!(c.may_write("z").unwrap_err().field, "hotel_id");
    }
}

/// A configured access token: only its SHA-256 is kept.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenEntry {
    pub name: String,
    pub role: Role,
    pub hotels: HotelScope,
    pub sha256: [u8; 32],
}

impl std::fmt::Debug for TokenEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenEntry")
            .field("name", &self.name)
            .field("role", &self.role)
            .field("hotels", &self.hotels)
            .finish_non_exhaustive()
    }
}

/// The SHA-256 of a token, as configured.
pub fn token_hash(token: &str) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::digest(token.as_bytes()).into()
}

/// Reads a hex SHA-256 (64 characters).
pub fn parse_hash(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.trim();
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The caller a presented token stands for.
pub fn identify(tokens: &[TokenEntry], presented: &str) -> Option<Caller> {
    caller_for_hash(tokens, &token_hash(presented))
}

/// The caller whose token has this SHA-256 (a console session keeps only the hash).
/// Every configured hash is compared, in constant time, whatever matches, so timing
/// says nothing of the tokens.
pub fn caller_for_hash(tokens: &[TokenEntry], hash: &[u8; 32]) -> Option<Caller> {
    let mut found: Option<&TokenEntry> = None;
    for entry in tokens {
        if super::page::constant_time_eq(&entry.sha256, hash) {
            found = Some(entry);
        }
    }
    found.map(|e| Caller {
        name: e.name.clone(),
        role: e.role,
        hotels: e.hotels.clone(),
    })
}

#[cfg(test)]
mod token_tests {
    use super::*;

    #[test]
    fn identifies_by_hash_only() {
        let entry = TokenEntry {
            name: "hub".into(),
            role: Role::Ingest,
            hotels: HotelScope::Only(["h1".to_string()].into()),
            sha256: token_hash("slt_secret"),
        };
        let tokens = vec![entry];
        let caller = identify(&tokens, "slt_secret").unwrap();
        assert_eq!((caller.name.as_str(), caller.role), ("hub", Role::Ingest));
        assert!(identify(&tokens, "slt_secreT").is_none());
        assert!(identify(&tokens, "").is_none());
        assert_eq!(parse_hash(&hex(&token_hash("x"))), Some(token_hash("x")));
        assert_eq!(parse_hash("zz"), None);
        assert!(!format!("{:?}", tokens[0]).contains("sha256"));
    }
}
