//! The gRPC layer: authenticates, converts protobuf to domain values (validating as it
//! goes), makes one call into `service`, converts back, and maps errors. No SQL, no
//! rules.
pub mod auth;
pub mod caller;
pub mod client;
pub mod convert;
pub mod errors;
pub mod guests;
pub mod limits;
pub mod messages;
pub mod reconciliation;
pub mod server;
