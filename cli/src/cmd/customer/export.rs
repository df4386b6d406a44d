//! `guild customer export`: everything the shop holds about a customer,
//! as JSON, to give them.

use super::{Session, parse_address, run_async};
use crate::Globals;
use crate::cmd::admin_token::AdminToken;
use crate::cmd::wallet::common::print_json;
use anyhow::Context;
use clap::Args;
use guild_os::durable::{self, Existing};
use std::path::PathBuf;

/// Options of `guild customer export`.
#[derive(Args)]
pub struct ExportArgs {
    /// The customer's address (guild1…).
    address: String,
    /// Write the export to this file (created readable by you alone;
    /// default: print it on stdout).
    #[arg(long)]
    out: Option<PathBuf>,
    /// With --out: replace an existing file.
    #[arg(long, requires = "out")]
    force: bool,
    #[command(flatten)]
    token: AdminToken,
}

/// `guild customer export`.
pub fn export(args: ExportArgs, globals: &Globals) -> anyhow::Result<()> {
    let address = parse_address(&args.address)?;
    let session = Session::new(globals, &args.token)?;
    run_async(async {
        let export = session
            .client
            .export_customer(&session.token, &address)
            .await?;
        let mut text = serde_json::to_string_pretty(&export)?;
        text.push('\n');
        let Some(out) = &args.out else {
            print!("{text}");
            return Ok(());
        };
        durable::write_atomically(out, text.as_bytes(), Existing::replace_if(args.force))
            .with_context(|| match out.exists() && !args.force {
                true => format!(
                    "{} exists: choose another --out, or add --force",
                    out.display()
                ),
                false => format!("cannot write {}", out.display()),
            })?;
        let lines = export.history.len();
        if session.json {
            return print_json(&serde_json::json!({
                "file": out,
                "customer": export.customer,
                "directory_entry": export.directory.is_some(),
                "ledger_lines": lines,
            }));
        }
        let more = if export.history_complete {
            ""
        } else {
            " (the newest; the key has more)"
        };
        let shop = match session.shop_name().await {
            Some(name) => format!("the {name}"),
            None => "this node".to_string(),
        };
        let derived = match export.held_elsewhere.len() {
            0 => String::new(),
            n => format!(", what {n} other parts of the node derived from it"),
        };
        match &export.directory {
            Some(_) => println!(
                "Wrote everything {shop} holds about {} to {}: the directory entry with its consent log{derived}, and {lines} ledger lines{more}.",
                export.customer,
                out.display()
            ),
            None => println!(
                "Wrote what {shop} holds about {} to {}: its customer directory has no entry for them, so only {lines} ledger lines{more}.",
                export.customer,
                out.display()
            ),
        }
        println!("It holds personal data: give it to the customer only, and delete your copy.");
        Ok(())
    })
}
