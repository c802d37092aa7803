//! Protobuf <-> domain conversions, one module per aggregate.
pub mod messages;
pub mod reconciliation;
pub mod status_events;
pub mod time;
