//! `guild insights`: what a shop can learn from its customers' purchases
//! (docs/insights.md).
//!
//! - `guild insights customers|segments|kpis`: what the ledger says about
//!   a shop's customers (RFM segments, the customer-value columns,
//!   programme KPIs), from the node's insights endpoints.
//! - `guild insights fit --purchases FILE.csv --calibration-end DATE`:
//!   fits the customer-value models (BG/NBD and Gamma-Gamma) on a purchase
//!   log exported from any till, so a shop can bring its history before it
//!   joins, and compares the models' predictions with the purchases after
//!   the calibration end.

mod customers;
mod fit;
mod kpis;
mod report;
mod segments;

use crate::Globals;
use clap::{Args, Subcommand};

/// Options of `guild insights`.
#[derive(Args)]
pub struct InsightsArgs {
    #[command(subcommand)]
    command: InsightsCommand,
}

#[derive(Subcommand)]
enum InsightsCommand {
    /// Fit the customer-value models on a till's purchase log (CSV with
    /// the columns customer,date,amount) and compare them with the
    /// purchases after the calibration end.
    Fit(fit::FitArgs),
    #[command(flatten)]
    Report(report::ReportCommand),
}

/// Runs the command.
pub fn run(args: InsightsArgs, globals: &Globals) -> anyhow::Result<()> {
    match args.command {
        InsightsCommand::Fit(args) => fit::run(args, globals),
        InsightsCommand::Report(command) => report::run(command, globals),
    }
}

/// An aligned table (the command line's one table printer).
pub(crate) use crate::cmd::audit::render::aligned as table;
