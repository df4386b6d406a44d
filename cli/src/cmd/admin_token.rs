//! `--token-file`: the shop's admin token, for the commands that work on
//! the shop's own node data off the ledger (the customer directory,
//! automations).

use anyhow::{Context, bail};
use clap::Args;
use std::path::PathBuf;

/// The largest token file read.
const MAX_TOKEN_FILE_BYTES: u64 = 4096;

/// Where the admin token comes from.
#[derive(Args, Clone, Debug)]
pub struct AdminToken {
    /// A file holding the shop node's admin token (`gld_…`); else
    /// GUILD_TOKEN. On a devnet: devnet/<shop>/admin-token.txt.
    #[arg(long, env = "GUILD_TOKEN_FILE", global = true)]
    pub token_file: Option<PathBuf>,
}

impl AdminToken {
    /// The token: from `--token-file`, else from `GUILD_TOKEN`.
    pub fn read(&self) -> anyhow::Result<String> {
        let token = match &self.token_file {
            Some(path) => {
                let bytes = guild_os::durable::read_bounded(path, MAX_TOKEN_FILE_BYTES)
                    .with_context(|| format!("cannot read the token file {}", path.display()))?
                    .with_context(|| format!("there is no token file {}", path.display()))?;
                String::from_utf8(bytes)
                    .with_context(|| format!("{} does not hold a token", path.display()))?
            }
            None => match std::env::var("GUILD_TOKEN") {
                Ok(token) => token,
                Err(_) => bail!(
                    "this command needs the shop node's admin token: give --token-file FILE or set GUILD_TOKEN \
                     (make one with `guild node token create --data DIR --name console --scope admin`; \
                     a devnet keeps one in devnet/<shop>/admin-token.txt)"
                ),
            },
        };
        let token = token.trim().to_string();
        if token.is_empty() {
            bail!("the admin token is empty");
        }
        Ok(token)
    }
}
