//! `guild genesis`: write the genesis file of a new network — its id, the
//! founding shops and where their nodes listen — for the founders to share.
//!
//! The parameters are the defaults (docs/protocol.md; governance changes
//! them later) and the programme starts with no tiers. The `peers` are not
//! part of the chain: they only tell nodes where to dial first
//! (docs/consensus.md, "Shops on several machines").

use crate::cmd::wallet::common::print_json;
use anyhow::{Context, bail};
use clap::Args;
use guild_ledger::genesis::{Genesis, GenesisMember};
use guild_ledger::params::Params;
use guild_ledger::types::{ChainId, Timestamp};
use guild_node::{GenesisFile, Multiaddr};
use guild_wallet::builder;
use serde_json::json;
use std::path::PathBuf;

/// Options of `guild genesis`.
#[derive(Args)]
pub struct GenesisArgs {
    /// The network's id (letters, digits, `-`), e.g. high-street.
    #[arg(long)]
    pub chain_id: String,
    /// A founding shop NAME=ADDRESS (repeatable), its address from `guild
    /// wallet address` on the shop's wallet.
    #[arg(long = "member", value_name = "NAME=ADDRESS", required = true)]
    pub members: Vec<String>,
    /// A founding shop's node address (repeatable), e.g.
    /// /ip4/192.168.1.20/tcp/4700.
    #[arg(long)]
    pub peer: Vec<Multiaddr>,
    /// Where to write it.
    #[arg(long, default_value = "genesis.json")]
    pub out: PathBuf,
    /// Replace an existing file.
    #[arg(long)]
    pub force: bool,
}

/// Parses `NAME=ADDRESS`.
fn member(text: &str) -> anyhow::Result<GenesisMember> {
    let Some((name, address)) = text.rsplit_once('=') else {
        bail!("--member {text:?}: expected NAME=ADDRESS, e.g. Bakery=guild1…");
    };
    Ok(GenesisMember {
        name: builder::parse_shop_name(name)
            .with_context(|| format!("--member {text:?}: the name"))?,
        address: builder::parse_address(address.trim())
            .with_context(|| format!("--member {text:?}: the address"))?,
    })
}

/// Runs `guild genesis`.
pub fn run(args: GenesisArgs, json: bool) -> anyhow::Result<()> {
    let members = args
        .members
        .iter()
        .map(|m| member(m))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let genesis = Genesis {
        chain_id: ChainId::new(&args.chain_id)
            .map_err(|e| anyhow::anyhow!("--chain-id {:?}: {e}", args.chain_id))?,
        time: Timestamp(guild_os::clock::now_ms()),
        members,
        params: Params::default(),
        programme: Default::default(),
    };
    genesis.validate()?;
    let file = GenesisFile {
        genesis,
        peers: args.peer.iter().map(Multiaddr::to_string).collect(),
    };
    let mut text = serde_json::to_string_pretty(&file).context("cannot encode the genesis")?;
    text.push('\n');
    guild_os::durable::write_atomically(
        &args.out,
        text.as_bytes(),
        guild_os::durable::Existing::replace_if(args.force),
    )
    .with_context(|| {
        format!(
            "cannot write {} (use --force to replace an existing file)",
            args.out.display()
        )
    })?;
    let names: Vec<&str> = file
        .genesis
        .members
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    if json {
        return print_json(&json!({
            "genesis": args.out,
            "chain_id": file.genesis.chain_id,
            "members": file.genesis.members,
            "peers": file.peers,
        }));
    }
    println!(
        "Wrote {}: network {}, founding shops {}.",
        args.out.display(),
        file.genesis.chain_id,
        names.join(", ")
    );
    println!(
        "Give the same file to every founding shop; each starts its node with \
         `guild node --data DIR --genesis {} --key WALLET`.",
        args.out.display()
    );
    if file.peers.is_empty() {
        println!("No --peer given: nodes on other machines will need `--peer` to find each other.");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_name_equals_address() {
        let address = guild_ledger::Keypair::from_secret(&[1; 32]).address();
        let parsed = member(&format!("Tea Room={address}")).unwrap();
        assert_eq!(parsed.name.as_str(), "Tea Room");
        assert_eq!(parsed.address, address);
        let missing = member("Bakery").unwrap_err();
        assert!(
            missing.to_string().contains("expected NAME=ADDRESS"),
            "{missing}"
        );
        let bad = member("Bakery=guild1xyz").unwrap_err();
        assert!(format!("{bad:#}").contains("the address"), "{bad:#}");
    }
}
