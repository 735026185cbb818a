//! mimic core: the twin's site model, core state machine, historian, daemon, terminal
//! client and command line. Field drivers live in the `mimic-drivers` crate, screens in
//! `mimic-views`.
//!
//! Layers point down only (checked by `tests/layers.rs`): faces ([`cli`], [`tui`], what
//! the twin publishes in [`north`]) → shell ([`daemon`]: tasks, channels, I/O) → wire
//! ([`ipc`]) → [`core`] → domain ([`config`], [`alarms`], [`approvals`], [`users`],
//! [`audit`], [`historian`], [`lifecycle`], [`models`]) → shared ([`time`], [`text`]).
//!
//! One front door: every input reaches the core as a [`core::Msg`]; [`core::update`] is
//! the only place decisions are made (authorisation included) and returns a reply and the
//! effects the daemon carries out. Data flows one way and back: driver tasks → bounded
//! channel → core → [`historian`] batches and immutable snapshots → terminals over the
//! [`ipc`] socket. Every act on the plant is recorded in the hash-chained [`audit`] trail,
//! in the same store and the same transaction as the act, before anything reaches a device.

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
