//! mimic core
pub mod historian;
