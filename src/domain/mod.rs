//! Pure domain rules: no I/O, no diesel, no tonic.

/// An enum whose codes are stored and sent (never renumbered): its variants in code
/// order (`ALL`), its code, and the variant of a code.
macro_rules! coded_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $code:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant = $code,)+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            pub fn code(self) -> i32 {
                self as i32
            }

            pub fn from_code(code: i32) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.code() == code)
            }
        }
    };
}
pub mod access;
pub mod arrival;
pub mod campaign;
pub mod day_split;
pub mod email;
pub mod error;
pub mod error_category;
pub mod filter;
pub mod flag;
pub mod guest;
pub mod message;
pub mod names;
pub mod notice;
pub mod page;
pub mod phone;
pub mod recipient;
pub mod run;
pub mod session;
pub mod status;
pub mod status_event;
pub mod stuck;
pub mod suppression;
pub mod webhook;

pub use error::FieldError;

/// What the domain's tests share: a message to start from, a seeded shuffle.
#[cfg(test)]
pub(crate) mod testing {
    use chrono::{DateTime, Utc};

    use super::error_category::ErrorCategory;
    use super::message::{Channel, Message, MessageStatus};

    /// A message of hotel `h` recorded (and last changed) at `at`, to adjust per test.
    pub fn message(
        id: &str,
        channel: Channel,
        status: MessageStatus,
        at: DateTime<Utc>,
    ) -> Message {
        Message {
            id: id.into(),
            hotel_id: "h".into(),
            external_id: id.into(),
            phone_region: None,
            campaign_id: None,
            campaign_name: None,
            channel,
            recipient_phone: Some("+33612345678".into()),
            phone_valid: true,
            recipient_email: None,
            guest_name: Some("Camille Martin".into()),
            pms_guest_id: None,
            pms_reservation_id: None,
            check_in_date: None,
            check_out_date: None,
            status,
            scheduled_at: None,
            provider: None,
            provider_message_id: None,
            template_name: None,
            error_code: None,
            error_message: None,
            error_category: ErrorCategory::None,
            created_at: at,
            updated_at: at,
            status_changed_at: at,
            sent_at: None,
            delivered_at: None,
            read_at: None,
            failed_at: None,
            stuck: false,
            category: Default::default(),
        }
    }

    /// The same permutation for the same seed (a small LCG: no dependency).
    pub fn shuffle<T>(items: &mut [T], seed: u64) {
        let mut rng = seed;
        for i in (1..items.len()).rev() {
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            items.swap(i, (rng >> 33) as usize % (i + 1));
        }
    }
}
