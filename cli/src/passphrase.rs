//! Where a keystore passphrase comes from: `--passphrase-file`, then
//! `GUILD_PASSPHRASE`, then `GUILD_PASSPHRASE_FILE`, then a prompt on the
//! terminal.

use anyhow::{Context, bail};
use std::io::IsTerminal;
use std::path::Path;

/// Reads the passphrase for `what` (e.g. "wallet alice.json").
pub fn read(what: &str, file: Option<&Path>) -> anyhow::Result<String> {
    if let Some(path) = file {
        return from_file(path);
    }
    if let Ok(value) = std::env::var("GUILD_PASSPHRASE") {
        return Ok(value);
    }
    if let Ok(path) = std::env::var("GUILD_PASSPHRASE_FILE") {
        return from_file(Path::new(&path));
    }
    if std::io::stdin().is_terminal() {
        return rpassword::prompt_password(format!("Passphrase for {what}: "))
            .context("cannot read the passphrase from the terminal");
    }
    bail!(
        "no passphrase for {what}: set GUILD_PASSPHRASE or GUILD_PASSPHRASE_FILE, or pass --passphrase-file"
    )
}

fn from_file(path: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read passphrase file {}", path.display()))?;
    Ok(text.trim_end_matches(['\n', '\r']).to_string())
}
