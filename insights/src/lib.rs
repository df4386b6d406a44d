//! # guild-insights: knowing a shop's customers from its own history
//!
//! The ledger already holds every purchase that earned points, under the
//! customer's key and never their name. This crate turns a list of
//! purchases into what a shop owner acts on and an analyst can check:
//!
//! - [`purchase`]: the purchase log and the per-customer summary every
//!   model reads (the conventions of Fader, Hardie & Lee: one purchase per
//!   customer per day, time in weeks, frequency = repeat purchase days).
//! - [`segment`]: the named RFM segments and the table that names a
//!   customer's from their recency and frequency scores.
//! - [`models`]: the BG/NBD purchase model and the Gamma-Gamma spend
//!   model, fitted by maximum likelihood on the shop's customers, and the
//!   lifetime value they give.
//! - [`log`]: a till's purchase log (`customer,date,amount` CSV), read
//!   strictly, so a shop can bring its history before joining.
//! - [`holdout`]: the models' predictions against what customers actually
//!   bought after the calibration period.
//!
//! Everything here is a pure function of its input: no I/O, no clock, no
//! randomness. The node computes insights from its store and the `guild`
//! command from a CSV file; both call the same functions, so the figures a
//! shop sees are the figures a test checks against published values.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod holdout;
pub mod log;
pub mod models;
pub mod purchase;
pub mod segment;

pub use purchase::{CustomerSummary, Day, Purchase, summarize};
pub use segment::{Segment, UnknownSegment};

pub use holdout::{Holdout, HoldoutRow, compare_holdout};
pub use log::{LogError, PurchaseLog, read_purchase_log};
pub use models::{
    BgNbd, ClvSettings, CustomerValue, FitError, GammaGamma, MIN_REPEAT_CUSTOMERS, ModelError,
    Models, fit_models,
};
