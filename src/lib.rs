//! mimic core: the twin's tag model, site configuration, historian, core state machine,
//! daemon and CLI plumbing. Drivers live in `mimic-drivers`, screens in `mimic-views`.

pub mod config;
pub mod core;
