//! sentlog: the system of record for guest messages sent by a hotel messaging hub.
pub mod app;
pub mod config;
pub mod console;
pub mod demo;
pub mod domain;
pub mod grpc;
pub mod pms;
pub mod reconcile;
pub mod service;
pub mod store;
pub mod webhook_replay;
pub mod webhooks;

/// Code generated from `proto/` by build.rs.
pub mod proto {
    #![allow(clippy::all, clippy::pedantic)]
    tonic::include_proto!("sentlog.v1");

    /// The descriptor set that server reflection serves.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        tonic::include_file_descriptor_set!("sentlog_descriptor");
}
