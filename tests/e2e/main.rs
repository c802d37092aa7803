//! End-to-end tests: the real server over a real socket, on SQLite and PostgreSQL.
mod access;
mod bad_requests;
mod broken_connections;
mod common;
mod console;
mod erasure;
mod export;
mod hardening;
mod messages;
mod metrics;
mod mews;
mod mews_mock;
mod reconciliation;
mod retention;
mod serving;
mod statuses;
mod watch;
