//! On-box models of the plant's health, trained and evaluated by `mimic train` / `mimic eval`.

pub mod rul;
