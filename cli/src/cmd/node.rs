//! `guild node`: run one peer node until Ctrl-C or SIGTERM; `guild node
//! token …`: the API tokens of its tills.

mod token;

use crate::Globals;
use crate::passphrase;
use anyhow::Context;
use clap::{Args, Subcommand};
use guild_node::{GenesisFile, Multiaddr, Node, NodeConfig, PeerId};
use guild_wallet::keystore::Keystore;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Options of `guild node` (without a subcommand: run the node).
#[derive(Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct NodeArgs {
    #[command(subcommand)]
    command: Option<NodeCommand>,
    /// Data directory (created if missing): chain database, signing record,
    /// API tokens.
    // (`Option` only because a subcommand needs neither: clap requires
    // both when there is no subcommand.)
    #[arg(long, required = true)]
    pub data: Option<PathBuf>,
    /// The network's genesis file (JSON).
    #[arg(long, required = true)]
    pub genesis: Option<PathBuf>,
    /// Address to listen on for peers (repeatable).
    #[arg(long, default_value = "/ip4/0.0.0.0/tcp/4700")]
    pub listen: Vec<Multiaddr>,
    /// A peer to connect to (repeatable), e.g. /ip4/192.168.1.20/tcp/4700.
    #[arg(long)]
    pub peer: Vec<Multiaddr>,
    /// Where the HTTP API listens. Keep it on 127.0.0.1: on any other
    /// address, API tokens travel unencrypted (the node warns at start);
    /// for tills on other machines put a TLS reverse proxy in front
    /// (docs/till.md).
    #[arg(long, default_value = "127.0.0.1:8700")]
    pub api: SocketAddr,
    /// The shop's wallet file holding its member key. Without it the node
    /// runs as an observer (it follows and verifies the chain, never votes).
    #[arg(long)]
    pub key: Option<PathBuf>,
    /// Which key of the wallet file (needed if it holds several).
    #[arg(long)]
    pub key_name: Option<String>,
    /// Read the wallet passphrase from this file.
    #[arg(long)]
    pub passphrase_file: Option<PathBuf>,
    /// Run as an observer even if --key is given.
    #[arg(long)]
    pub observer: bool,
    /// Do not look for peers on the local network (mDNS).
    #[arg(long)]
    pub no_mdns: bool,
    /// Accept connections only from current members and --allow peers.
    #[arg(long)]
    pub members_only: bool,
    /// A peer id allowed with --members-only (repeatable), e.g. an auditor.
    #[arg(long)]
    pub allow: Vec<PeerId>,
    /// Database cache size in MiB.
    #[arg(long, default_value_t = 32)]
    pub cache_mb: u64,
    /// For tests: the first wait before an automation delivery is retried,
    /// in milliseconds (the schedule keeps its shape, scaled; default
    /// 10 s). See docs/automation.md.
    #[arg(long, env = "GUILD_AUTOMATION_RETRY_MS", hide = true)]
    pub automation_retry_ms: Option<u64>,
    /// For tests: how often the time-driven automation triggers run, in
    /// milliseconds (default 60 s).
    #[arg(long, env = "GUILD_AUTOMATION_SCAN_MS", hide = true)]
    pub automation_scan_ms: Option<u64>,
}

#[derive(Subcommand)]
enum NodeCommand {
    /// Make, list or revoke the API tokens tills use to call this node.
    Token(token::TokenArgs),
}

/// Unlocks the member key from a wallet file.
pub fn member_key(
    path: &std::path::Path,
    name: Option<&str>,
    passphrase_file: Option<&std::path::Path>,
) -> anyhow::Result<guild_ledger::crypto::Keypair> {
    let file = Keystore::open(path)?;
    let info = match name {
        Some(name) => file.key(name)?.clone(),
        None => file.default_key()?.clone(),
    };
    let passphrase = passphrase::read(&format!("wallet {}", path.display()), passphrase_file)?;
    let keystore = file.unlock(&passphrase)?;
    Ok(keystore.keypair(info.name())?)
}

/// Runs `guild node token …`, or else the node until a signal.
pub fn run(args: NodeArgs, globals: &Globals, log: &str) -> anyhow::Result<()> {
    match args.command {
        Some(NodeCommand::Token(token)) => token::run(token, globals),
        None => {
            crate::init_logging(log);
            run_node(args)
        }
    }
}

/// Runs the node until a signal.
fn run_node(args: NodeArgs) -> anyhow::Result<()> {
    let (Some(data), Some(genesis)) = (args.data, args.genesis) else {
        anyhow::bail!("`guild node` needs --data DIR and --genesis FILE");
    };
    let genesis = GenesisFile::read(&genesis)?;
    let key = match (&args.key, args.observer) {
        (Some(path), false) => Some(member_key(
            path,
            args.key_name.as_deref(),
            args.passphrase_file.as_deref(),
        )?),
        _ => None,
    };
    let mut config = NodeConfig::new(data, genesis, key);
    config.listen = args.listen;
    config.peers = args.peer;
    config.api = args.api;
    config.mdns = !args.no_mdns;
    config.members_only = args.members_only;
    config.allow = args.allow;
    config.cache_bytes = args.cache_mb * 1024 * 1024;
    if let Some(ms) = args.automation_retry_ms.filter(|ms| *ms > 0) {
        config.automation.retry = guild_node::automation::delivery::RetrySchedule::scaled(
            std::time::Duration::from_millis(ms),
        );
    }
    if let Some(ms) = args.automation_scan_ms.filter(|ms| *ms > 0) {
        config.automation.scan_every = std::time::Duration::from_millis(ms);
    }
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let mut node = Node::start(config).await?;
        let view = node.handle().view();
        eprintln!(
            "node running: chain {} at height {}, API http://{}, peer id {}{}",
            node.handle().chain_id,
            view.head.height,
            node.api_addr(),
            node.peer_id(),
            match view.member {
                Some(address) => format!(", member {address}"),
                None => ", observer (not voting)".to_string(),
            }
        );
        if let Some(warning) = guild_node::api::exposure_warning(node.api_addr()) {
            eprintln!("{warning}");
        }
        tokio::select! {
            result = node.wait() => {
                result?;
                Ok(())
            }
            _ = shutdown_signal() => {
                eprintln!("stopping…");
                node.shutdown().await?;
                Ok(())
            }
        }
    })
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
