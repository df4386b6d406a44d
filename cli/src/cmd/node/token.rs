//! `guild node token create|list|revoke`: the API tokens tills use to call
//! the shop's own node (`Authorization: Bearer gld_…`).
//!
//! The tokens live in the node's data directory (`tokens.json`, hashes
//! only); these commands work on the directory directly, and a running
//! node sees their changes at its next request.

use crate::Globals;
use crate::cmd::wallet::common::{print_json, with_json_errors};
use clap::{Args, Subcommand};
use guild_ledger::types::Timestamp;
use guild_node::tokens::{Scope, TokenInfo, TokenStore};
use guild_wallet::builder::format_time;
use serde_json::json;
use std::path::PathBuf;

/// Options of `guild node token`.
#[derive(Args)]
pub struct TokenArgs {
    #[command(subcommand)]
    command: TokenCommand,
}

/// The node's data directory (as `guild node --data`).
#[derive(Args)]
struct DataDir {
    /// The node's data directory (the one `guild node --data` uses).
    #[arg(long)]
    data: PathBuf,
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Make a token for a till; it is printed once and cannot be shown
    /// again.
    Create {
        #[command(flatten)]
        dir: DataDir,
        /// A unique name for the token, e.g. till-1.
        #[arg(long)]
        name: String,
        /// What the token may do: sale (sales, previews, refunds) or admin
        /// (everything). Repeatable.
        #[arg(long, default_value = "sale", value_parser = parse_scope)]
        scope: Vec<Scope>,
    },
    /// List the node's tokens (names, scopes, when made, first characters).
    List {
        #[command(flatten)]
        dir: DataDir,
    },
    /// Revoke a token: the node refuses it from its next request.
    Revoke {
        #[command(flatten)]
        dir: DataDir,
        /// The token's name.
        name: String,
    },
}

fn parse_scope(text: &str) -> Result<Scope, guild_api::UnknownScope> {
    text.parse()
}

fn open(dir: &DataDir) -> anyhow::Result<TokenStore> {
    Ok(TokenStore::open(&dir.data)?)
}

/// Runs a `guild node token` command.
pub fn run(args: TokenArgs, globals: &Globals) -> anyhow::Result<()> {
    with_json_errors(globals.json, || match args.command {
        TokenCommand::Create { dir, name, scope } => create(&dir, &name, &scope, globals),
        TokenCommand::List { dir } => list(&dir, globals.json),
        TokenCommand::Revoke { dir, name } => revoke(&dir, &name, globals.json),
    })
}

fn scopes_text(info: &TokenInfo) -> String {
    let names: Vec<&str> = info.scopes.iter().map(|s| s.as_str()).collect();
    names.join(",")
}

fn create(dir: &DataDir, name: &str, scopes: &[Scope], globals: &Globals) -> anyhow::Result<()> {
    let made = open(dir)?.create(name, scopes)?;
    let token = made.secret.reveal();
    if globals.json {
        return print_json(&json!({
            "name": made.info.name,
            "scopes": made.info.scopes,
            "created_ms": made.info.created_ms,
            "prefix": made.info.prefix,
            "token": token,
        }));
    }
    // The token alone on stdout (so `TOKEN=$(guild node token create …)`
    // works); the explanation on stderr.
    eprintln!(
        "Made the API token '{}' (scope {}). This is the only time it is shown: \
the node keeps only its hash and cannot show it again. Copy it into the till now; \
if it is lost, revoke it and make another.\n",
        made.info.name,
        scopes_text(&made.info)
    );
    println!("{token}");
    eprintln!(
        "\nTry it against the node's API (--node or GUILD_NODE, now {}):\n  curl -H \"Authorization: Bearer {token}\" {}/v1/whoami",
        globals.node,
        globals.node.trim_end_matches('/')
    );
    Ok(())
}

fn list(dir: &DataDir, json: bool) -> anyhow::Result<()> {
    let tokens = open(dir)?.list()?;
    if json {
        return print_json(&json!({ "tokens": tokens }));
    }
    if tokens.is_empty() {
        println!(
            "No API tokens in {}; make one with `guild node token create --data {} --name till-1`.",
            dir.data.display(),
            dir.data.display()
        );
        return Ok(());
    }
    let width = tokens
        .iter()
        .map(|t| t.name.len())
        .max()
        .unwrap_or(0)
        .max(4);
    println!(
        "{:<width$}  {:<10}  {:<23}  id",
        "name", "scopes", "created"
    );
    for token in &tokens {
        println!(
            "{:<width$}  {:<10}  {:<23}  {}…",
            token.name,
            scopes_text(token),
            format_time(Timestamp(token.created_ms)),
            token.prefix
        );
    }
    Ok(())
}

fn revoke(dir: &DataDir, name: &str, json: bool) -> anyhow::Result<()> {
    let revoked = open(dir)?.revoke(name)?;
    if json {
        return print_json(&json!({ "revoked": revoked }));
    }
    println!(
        "Revoked the API token '{}' ({}…): the node refuses it from its next request.",
        revoked.name, revoked.prefix
    );
    Ok(())
}
