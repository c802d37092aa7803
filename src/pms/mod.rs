//! Where the reconciliation finds a message's guest: a PMS directory, chosen per hotel.
//! The default is the records the hub pushes over gRPC (`db`); a hotel can instead be
//! read live from its PMS vendor (`mews`).
pub mod db;
pub mod mews;

use std::collections::HashMap;
use std::sync::Arc;

/// How a message names its guest.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct GuestKey {
    pub pms_guest_id: Option<String>,
    pub pms_reservation_id: Option<String>,
}

/// What a directory knows of a guest.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DirectoryGuest {
    pub full_name: Option<String>,
    /// As the PMS holds it.
    pub phone: Option<String>,
    pub email: Option<String>,
    /// A booking site's temporary relay address, not the guest's own.
    pub email_is_ota_relay: bool,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum PmsError {
    /// Credentials refused (401): fix the configuration; not retried.
    #[error("the PMS refused the credentials (HTTP {0})")]
    Unauthorized(u16),
    /// A business rule or malformed request (400, 403): not retried.
    #[error("the PMS refused the request (HTTP {status}): {message}")]
    Refused { status: u16, message: String },
    /// Still failing after retries (408, 409, 429, 5xx, network): retried next pass.
    #[error("the PMS is unavailable: {0}")]
    Unavailable(String),
    #[error("the PMS answered something unexpected: {0}")]
    Protocol(String),
    #[error("database: {0}")]
    Store(String),
}

/// Finds the guests of a batch of messages: by guest id, else by reservation id.
#[async_trait::async_trait]
pub trait PmsDirectory: Send + Sync {
    /// One answer per key, in order: the guest, or None when the PMS has no record.
    async fn find_guests(
        &self,
        hotel_id: &str,
        keys: &[GuestKey],
    ) -> Result<Vec<Option<DirectoryGuest>>, PmsError>;
}

/// The directory of each hotel.
#[derive(Clone)]
pub struct Directories {
    pub default: Arc<dyn PmsDirectory>,
    pub by_hotel: HashMap<String, Arc<dyn PmsDirectory>>,
}

impl Directories {
    pub fn for_hotel(&self, hotel_id: &str) -> Arc<dyn PmsDirectory> {
        self.by_hotel
            .get(hotel_id)
            .cloned()
            .unwrap_or_else(|| self.default.clone())
    }
}
