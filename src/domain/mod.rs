//! Pure domain rules: no I/O, no diesel, no tonic.
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

pub use error::FieldError;
