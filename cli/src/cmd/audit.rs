//! `guild audit` (being written).

use crate::Globals;
use clap::Args;

/// Options of `guild audit`.
#[derive(Args)]
pub struct AuditArgs {}

/// Runs the command.
pub fn run(_args: AuditArgs, _globals: &Globals) -> anyhow::Result<()> {
    anyhow::bail!("not yet")
}
