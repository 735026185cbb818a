//! mimic core: the twin's site model, core state machine, historian, daemon, terminal
//! client and command line. Field drivers live in the `mimic-drivers` crate, screens in
//! `mimic-views`.
//!
//! Data flows one way and back: driver tasks → bounded channel → [`core`] (pure
//! `update(state, msg) -> effects`) → [`historian`] batches and immutable snapshots →
//! terminals over the [`ipc`] socket. The [`daemon`] is the async shell that moves those
//! messages; it alone owns the devices and the store. Every act on the plant is recorded in
//! the hash-chained [`audit`] trail, in the same store and the same transaction as the act.

pub mod account;
pub mod alarms;
pub mod approvals;
pub mod audit;
pub mod build_info;
pub mod cli;
pub mod config;
pub mod core;
pub mod daemon;
pub mod historian;
pub mod ipc;
pub mod lifecycle;
pub mod models;
pub mod north;
pub mod text;
pub mod time;
pub mod tui;
pub mod users;
