//! `guild insights`: what a shop can learn about its customers from the
//! ledger (docs/insights.md).

mod customers;
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
    #[command(flatten)]
    Report(report::ReportCommand),
}

/// Runs the command.
pub fn run(args: InsightsArgs, globals: &Globals) -> anyhow::Result<()> {
    match args.command {
        InsightsCommand::Report(command) => report::run(command, globals),
    }
}
