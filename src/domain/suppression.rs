//! Suppressions: what sentlog must never forget about a recipient, even once the
//! messages that taught it are purged or erased (an opt-out, an address a provider
//! declared invalid, a number a CSM replaced). Matched by a keyed hash of the address,
//! so erasure can blank the address and keep the match.
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::error_category::ErrorCategory;
use super::message::Channel;
use super::message::MessageCategory;

coded_enum! {
    /// Which messages a suppression blocks.
    pub enum Scope {
        All = 1,
        Marketing = 2,
    }
}

impl Scope {
    /// Whether a suppression of this scope stops a message of `category`.
    pub fn blocks(self, category: MessageCategory) -> bool {
        match self {
            Scope::All => true,
            Scope::Marketing => category == MessageCategory::Marketing,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Scope::All => "all messages",
            Scope::Marketing => "marketing only",
        }
    }
}

coded_enum! {
    /// Why an address is suppressed.
    pub enum Reason {
        OptedOut = 1,
        MarketingOptOut = 2,
        /// A provider said the number or address cannot receive (invalid, not mobile).
        InvalidAddress = 3,
        /// A CSM resolved a flag with another number: this one is stale.
        Corrected = 4,
        /// Added by hand (the guest said STOP at the front desk).
        Manual = 5,
    }
}

impl Reason {
    pub fn name(self) -> &'static str {
        match self {
            Reason::OptedOut => "opted out",
            Reason::MarketingOptOut => "opted out of marketing",
            Reason::InvalidAddress => "invalid address",
            Reason::Corrected => "corrected",
            Reason::Manual => "added by hand",
        }
    }

    /// Only what a provider can contradict goes away by itself: an address declared
    /// invalid that later receives a message. Consent is lifted only by a person.
    pub fn lifted_by_delivery(self) -> bool {
        self == Reason::InvalidAddress
    }
}

/// What a failure teaches about its recipient, if anything: the reason and scope of
/// the suppression it writes.
pub fn taught_by(category: ErrorCategory, channel: Channel) -> Option<(Reason, Scope)> {
    match category {
        ErrorCategory::OptedOut => Some((Reason::OptedOut, Scope::All)),
        ErrorCategory::MarketingOptOut => Some((Reason::MarketingOptOut, Scope::Marketing)),
        ErrorCategory::InvalidNumber | ErrorCategory::InvalidAddress => {
            Some((Reason::InvalidAddress, Scope::All))
        }
        // A landline cannot take SMS or WhatsApp; it can still be called.
        ErrorCategory::NotMobile if channel.uses_phone() => {
            Some((Reason::InvalidAddress, Scope::All))
        }
        _ => None,
    }
}

/// An active or lifted suppression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    pub id: String,
    pub hotel_id: String,
    /// E.164 or lower-cased email; empty once erased.
    pub address: String,
    /// What it is matched by (`AddressKey::hash` of the address); kept on erasure.
    pub address_hash: String,
    pub scope: Scope,
    pub reason: Reason,
    /// The new number, for a CORRECTED suppression.
    pub corrected: Option<String>,
    pub source_message_id: Option<String>,
    pub note: String,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    /// Set once lifted (by RemoveSuppression, or by a later delivery): kept, not
    /// deleted, so the history of consent stays.
    pub lifted_at: Option<DateTime<Utc>>,
    pub lifted_by: Option<String>,
    pub lift_note: Option<String>,
}

impl Suppression {
    /// Whether it stops a message of `category` now.
    pub fn blocks(&self, category: MessageCategory) -> bool {
        self.lifted_at.is_none() && self.scope.blocks(category)
    }
}

/// The keyed hash suppressions are matched by: HMAC-SHA256 of the normalised address
/// (E.164 phone, lower-cased email) under the server's secret, in hex. Keyed, so that
/// the hash of an erased address cannot be found again by hashing guesses without
/// the secret.
#[derive(Clone)]
pub struct AddressKey {
    /// Keyed once: CheckRecipients hashes up to 1000 addresses a call.
    keyed: Hmac<Sha256>,
}

impl std::fmt::Debug for AddressKey {
    // Never print the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AddressKey({})", self.fingerprint())
    }
}

impl AddressKey {
    pub fn new(secret: &[u8]) -> Self {
        AddressKey {
            keyed: Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key"),
        }
    }

    fn mac(&self, parts: &[&[u8]]) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut mac = self.keyed.clone();
        for p in parts {
            mac.update(p);
        }
        let mut out = String::with_capacity(64);
        for b in mac.finalize().into_bytes() {
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 0xf)] as char);
        }
        out
    }

    /// The hash of a normalised address.
    pub fn hash(&self, address: &str) -> String {
        self.mac(&[b"address:", address.as_bytes()])
    }

    /// Names the secret without revealing it: stored beside the suppressions so a
    /// changed secret is caught at start instead of silently matching nothing.
    pub fn fingerprint(&self) -> String {
        self.mac(&[b"sentlog suppression key fingerprint"])[..16].to_string()
    }
}

#[cfg(test)]
mod tests;
