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
//! - [`history`]: each customer's purchase days and points, and each
//!   shop's totals, kept up to date block by block from the ledger (a
//!   [`guild_audit::BlockObserver`], or fed committed blocks by a node).
//! - [`rfm`]: RFM scores as mid-rank quintiles over a shop's customers,
//!   and their segment.
//! - [`kpi`]: programme KPIs over a period: activity, repeat and
//!   redemption rates, liability, multi-shop customers, the retention
//!   cohort table, segments with their value, campaign results.
//! - [`ab`]: uplift of a treated group over a holdout with 95% intervals
//!   (Newcombe's hybrid score, Welch), and the automations' holdout draw.
//! - [`value`]: the customer value columns (alive probability, expected
//!   purchases and spend, lifetime value) and why they may be absent.
//!
//! Everything here is a pure function of its input: no I/O, no clock, no
//! randomness. The node computes insights from its store and the `guild`
//! command from a CSV file; both call the same functions, so the figures a
//! shop sees are the figures a test checks against published values.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod ab;
pub mod daily;
pub mod history;
pub mod holdout;
pub mod kpi;
pub mod log;
pub mod models;
pub mod purchase;
pub mod rfm;
pub mod segment;
pub mod value;

pub use history::{Customer, History, ReversalFigures, Scope};
pub use purchase::{CustomerSummary, Day, Purchase, summarize};
pub use rfm::{Rfm, RfmInput};
pub use segment::{Segment, UnknownSegment};

pub use holdout::{Holdout, HoldoutRow, compare_holdout};
pub use log::{LogError, PurchaseLog, read_purchase_log};
pub use models::{
    BgNbd, ClvSettings, CustomerValue, FitError, GammaGamma, MIN_REPEAT_CUSTOMERS, ModelError,
    Models, fit_models,
};
