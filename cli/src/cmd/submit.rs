//! `guild submit FILE`: sends a transaction signed offline (`--offline`)
//! and waits until it is final.
//!
//! Submitting the same file again is safe: a transaction already final is
//! reported as "already final at height H" (exit code 0) and applied only
//! once. A *different* transaction signed with a nonce that was already
//! used is refused by the ledger as a replay (exit code 1).

use super::wallet::common::{block_on, print_json, refused, with_json_errors};
use crate::Globals;
use clap::Args;
use guild_api::ClientError;
use guild_wallet::NodeClient;
use guild_wallet::offline::SignedFile;
use serde_json::json;
use std::path::PathBuf;
use std::time::Duration;

/// Options of `guild submit`.
#[derive(Args)]
pub struct SubmitArgs {
    /// The signed-transaction file written by `--offline`.
    file: PathBuf,
    /// Seconds to wait for the transaction to become final.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    timeout: u64,
}

/// Runs the command.
pub fn run(args: SubmitArgs, globals: &Globals) -> anyhow::Result<()> {
    with_json_errors(globals.json, || {
        let (file, signed) = SignedFile::read(&args.file)?;
        let client = NodeClient::new(&globals.node)?;
        let (finality, members) = block_on(async {
            let head = client.head().await?;
            if head.chain_id != file.chain_id {
                return Err(guild_wallet::Error::WrongNetwork {
                    url: client.url().to_string(),
                    expected: file.chain_id.to_string(),
                    node_chain: head.chain_id.to_string(),
                }
                .into());
            }
            let finality = client
                .submit_and_wait(&signed, &file.chain_id, Duration::from_secs(args.timeout))
                .await
                .map_err(|e| match e {
                    // Only here is there a file to send again.
                    ClientError::NotFinal { .. } | ClientError::NoQuorum { .. } => {
                        let text = format!(
                            "{e}; `guild submit {}` again tells whether it became final",
                            args.file.display()
                        );
                        anyhow::Error::new(e).context(text)
                    }
                    e => refused(e, &file.kind),
                })?;
            // The shops' registered names, for the description (the file
            // was signed where only the wallet's key names were known).
            let members = client
                .members()
                .await
                .map(|m| m.members)
                .unwrap_or_default();
            Ok::<_, anyhow::Error>((finality, members))
        })??;
        let name = |address: &guild_ledger::Address| {
            members
                .iter()
                .find(|m| m.address == *address)
                .map(|m| m.name.to_string())
        };
        let description = guild_wallet::builder::describe_with(&signed.tx, &|a| {
            name(a).unwrap_or_else(|| a.to_string())
        });
        if globals.json {
            return print_json(&json!({
                "status": "final",
                "already_final": finality.already_final,
                "file": args.file,
                "id": finality.id,
                "height": finality.height,
                "index": finality.index,
                "chain_id": file.chain_id,
                "kind": file.kind,
                "author": file.author,
                "nonce": file.nonce,
                "summary": file.summary,
            }));
        }
        if finality.already_final {
            println!(
                "{} is already final at height {} (transaction {}); submitting it again changed nothing.",
                args.file.display(),
                finality.height,
                finality.id
            );
        } else {
            println!("Submitted {}: {description}.", args.file.display());
            println!(
                "Final in block {} (transaction {}).",
                finality.height, finality.id
            );
        }
        Ok(())
    })
}
