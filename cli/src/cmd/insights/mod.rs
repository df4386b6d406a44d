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
use std::fmt::Write;

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

/// An aligned table; `align` has one letter per column: `l`eft or
/// `r`ight (numbers).
pub fn table(out: &mut String, headers: &[&str], align: &str, rows: &[Vec<String>]) {
    let right: Vec<bool> = align.chars().map(|c| c == 'r').collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |out: &mut String, cells: Vec<&str>| {
        let mut text = String::new();
        for (i, (cell, width)) in cells.iter().zip(&widths).enumerate() {
            let gap = if i == 0 { "" } else { "  " };
            if right.get(i).copied().unwrap_or(false) {
                let _ = write!(text, "{gap}{cell:>width$}");
            } else {
                let _ = write!(text, "{gap}{cell:<width$}");
            }
        }
        let _ = writeln!(out, "  {}", text.trim_end());
    };
    line(out, headers.to_vec());
    for row in rows {
        line(out, row.iter().map(String::as_str).collect());
    }
}
