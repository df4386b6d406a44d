//! `guild customer erase`: remove a customer from the directory and from
//! everything derived from it (asks first at a terminal).

use super::{Session, parse_address, run_async, who};
use crate::Globals;
use crate::cmd::admin_token::AdminToken;
use crate::cmd::wallet::common::print_json;
use anyhow::{Context, bail};
use clap::Args;
use guild_api::ClientError;
use guild_api::code;
use std::io::{BufRead, IsTerminal, Write};

/// Options of `guild customer erase`.
#[derive(Args)]
pub struct EraseArgs {
    /// The customer's address (guild1…).
    address: String,
    /// Do not ask for confirmation (needed when not run at a terminal).
    #[arg(long)]
    yes: bool,
    #[command(flatten)]
    token: AdminToken,
}

/// Asks `question` on the terminal; true only for `yes`.
fn confirm(question: &str) -> anyhow::Result<bool> {
    eprint!("{question} Type yes to erase: ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .context("cannot read the answer from the terminal")?;
    Ok(answer.trim().eq_ignore_ascii_case("yes"))
}

/// `guild customer erase`.
pub fn erase(args: EraseArgs, globals: &Globals) -> anyhow::Result<()> {
    let address = parse_address(&args.address)?;
    if !args.yes && !std::io::stdin().is_terminal() {
        bail!("erasing cannot be undone: add --yes to erase {address} without a question");
    }
    let session = Session::new(globals, &args.token)?;
    run_async(async {
        let directory = session.directory_name().await;
        if !args.yes {
            let entry = match session.client.customer(&session.token, &address).await {
                Ok(entry) => Some(entry),
                Err(e) if e.is_code(code::UNKNOWN_CUSTOMER) => None,
                Err(e) => return Err(e.into()),
            };
            let question = match &entry {
                Some(entry) => format!(
                    "Erase {} from {directory}, with everything derived from it? This cannot be undone.",
                    who(entry)
                ),
                None => format!(
                    "{directory} has no entry for {address}; erase what other parts of the node derived about them?"
                ),
            };
            if !confirm(&question)? {
                bail!("nothing was erased");
            }
        }
        let report = match session
            .client
            .erase_customer(&session.token, &address)
            .await
        {
            Ok(report) => report,
            Err(ClientError::Node { code, message, .. })
                if code == guild_api::code::ERASURE_INCOMPLETE =>
            {
                bail!("{message}")
            }
            Err(e) => return Err(e.into()),
        };
        if session.json {
            return print_json(&serde_json::to_value(&report)?);
        }
        if report.directory_entry {
            println!("Erased {address} from {directory}.");
        } else {
            println!("{directory} had no entry for {address}.");
        }
        for holder in &report.holders {
            println!("  {}: {} items removed", holder.holder, holder.removed);
        }
        println!(
            "The ledger is unchanged: the key's points and purchases stay on it, with nothing that names the person. Backups of the node's data directory made before now still hold the entry (docs/privacy.md)."
        );
        Ok(())
    })
}
