//! `guild submit` (being written).

use crate::Globals;
use clap::Args;

/// Options of `guild submit`.
#[derive(Args)]
pub struct SubmitArgs {}

/// Runs the command.
pub fn run(_args: SubmitArgs, _globals: &Globals) -> anyhow::Result<()> {
    anyhow::bail!("not yet")
}
