//! `guild shop` (being written).

use crate::Globals;
use clap::Args;

/// Options of `guild shop`.
#[derive(Args)]
pub struct ShopArgs {}

/// Runs the command.
pub fn run(_args: ShopArgs, _globals: &Globals) -> anyhow::Result<()> {
    anyhow::bail!("not yet")
}
