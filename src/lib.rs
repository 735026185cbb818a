//! mimic core
