//! `guild wallet` (being written).

use crate::Globals;
use clap::Args;

/// Options of `guild wallet`.
#[derive(Args)]
pub struct WalletArgs {}

/// Runs the command.
pub fn run(_args: WalletArgs, _globals: &Globals) -> anyhow::Result<()> {
    anyhow::bail!("not yet")
}
