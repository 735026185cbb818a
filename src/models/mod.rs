//! Models that reason over the twin's data: diagnosis (which signal moved first and why)
//! and prescriptions (identified process models, setpoint recommendations, what-if and
//! shadow replay). Pure functions over samples; no clock, no I/O.

pub mod diagnosis;
pub mod prescribe;
