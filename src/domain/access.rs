//! Who is calling, and which hotels they may see.
use std::collections::BTreeSet;

use super::FieldError;

/// The hotels a caller serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HotelScope {
    All,
    Only(BTreeSet<String>),
}

/// The identity every handler receives (put in request extensions by the server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub name: String,
    pub hotels: HotelScope,
}

/// A caller named a hotel it does not serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutOfScope {
    pub field: String,
    pub hotel_id: String,
}

impl Caller {
    /// The caller of a server without configured tokens: loopback only, every hotel.
    pub fn anonymous() -> Self {
        Caller {
            name: "anonymous".into(),
            hotels: HotelScope::All,
        }
    }

    pub fn may_see(&self, hotel_id: &str) -> bool {
        match &self.hotels {
            HotelScope::All => true,
            HotelScope::Only(set) => set.contains(hotel_id),
        }
    }

    /// The hotels a query covers: the requested ones, each checked against the
    /// caller's scope, or the whole scope when none are requested (empty = every hotel).
    pub fn resolve_hotels(
        &self,
        field: &str,
        requested: Vec<String>,
    ) -> Result<Vec<String>, OutOfScope> {
        if requested.is_empty() {
            return Ok(match &self.hotels {
                HotelScope::All => Vec::new(),
                HotelScope::Only(set) => set.iter().cloned().collect(),
            });
        }
        if let Some(h) = requested.iter().find(|h| !self.may_see(h.trim())) {
            return Err(OutOfScope {
                field: field.to_string(),
                hotel_id: h.clone(),
            });
        }
        Ok(requested)
    }

    /// The hotel filter for reading one object: empty means any hotel.
    pub fn visible_hotels(&self) -> Vec<String> {
        self.resolve_hotels("", Vec::new()).unwrap_or_default()
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
    fn scoping() {
        let c = Caller {
            name: "csm".into(),
            hotels: HotelScope::Only(["a".to_string(), "b".to_string()].into()),
        };
        assert_eq!(
            c.resolve_hotels("hotel_ids", vec![]).unwrap(),
            vec!["a", "b"]
        );
        assert_eq!(
            c.resolve_hotels("hotel_ids", vec!["a".into()]).unwrap(),
            vec!["a"]
        );
        assert_eq!(
            c.resolve_hotels("hotel_ids", vec!["a".into(), "z".into()])
                .unwrap_err()
                .hotel_id,
            "z"
        );
        assert!(
            Caller::anonymous()
                .resolve_hotels("h", vec![])
                .unwrap()
                .is_empty()
        );
    }
}
