//! Protobuf <-> domain conversions, one module per aggregate.
pub mod messages;
pub mod time;
