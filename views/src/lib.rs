//! # mimic-views
//!
//! The terminal screens of mimic, the digital twin and operator terminal of an
//! industrial site, as **pure functions of plain data**. The daemon builds a
//! [`Snapshot`] (and a [`TrendData`] for the Trend screen), the session keeps a
//! [`UiState`], feeds it keys through [`handle_key`] and draws with [`draw`].
//!
//! Where this crate's responsibility ends: it performs no I/O, has no async
//! runtime, knows no drivers, terminal backend or clock. It does not read
//! `NO_COLOR` (the caller sets [`Theme::color`]), does not translate terminal
//! events (the caller maps them to [`Key`]) and does not act on an [`Action`]
//! (loading a trend, quitting) — it only asks for it.
//!
//! Safety of the display: all untrusted text (tag names, units, device error
//! strings, site and user names) passes through [`sanitize`], which replaces
//! every control character with `�` so escape sequences never reach the
//! terminal. Quality is always shown as text and marker characters, with
//! colour only as an extra; `Theme { color: false }` renders monochrome.
//!
//! Acts that change the plant or the alarm system (acknowledge, shelve,
//! out-of-service, approve, reject) are never returned straight from a key:
//! the key opens a modal confirm popup ([`Modal`] in [`UiState::modal`]) that
//! swallows every key; only Enter with valid input (a non-empty reason where
//! one is required) returns the [`Action`], Esc cancels, Ctrl-C still quits.
//! The header of every screen shows the unacknowledged alarm count and the
//! highest unacknowledged priority.
//!
//! Layouts target 80x24 and use extra width (≥120 columns) for asset,
//! limits, writability and sparklines. Only visible rows are formatted.

mod civil;
pub mod format;
mod model;
mod plot;
mod sanitize;
pub mod screens;
mod state;
mod theme;
pub mod widgets;

pub use model::{
    AlarmPlace, AlarmRow, AlarmStateView, AlarmSummary, AssetRow, AuditRow, DeviceRow, DiagnosisView, FloodRow,
    LifeEventRow, LifeRow, LoopRow, Priority, QualityView, RecommendationRow, RulView, Snapshot, StoreRow, TagCounts,
    TagPage, TagRow, TrendColumn, TrendData, TrendSeries, WhatIfView,
};
pub use sanitize::{PLACEHOLDER, is_unsafe, sanitize};
pub use screens::{App, draw};
pub use state::{
    Action, AlarmLog, AlarmPane, AlarmView, HistoryPage, HistoryRow, KPI_SPANS, Key, KpiFigure, KpiScope, KpiView,
    MAINTENANCE_KINDS, MAX_HISTORY_ROWS, MAX_REASON, MAX_SEARCH, MAX_TREND_TAGS, MaintenanceForm, MaintenanceKind,
    Modal, PageStart, SHELVE_MINUTES, Screen, SortKey, TagList, UiState, handle_key, shelve_label, tag_counts,
    tag_list, unacked_alarms, visible_alarms, visible_audit, visible_devices, visible_recommendations, visible_tags,
    window_start,
};
pub use theme::Theme;
