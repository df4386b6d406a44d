//! `guild node`: run one peer node until Ctrl-C or SIGTERM; `guild node
//! token …`: the API tokens of its tills. `guild node --config FILE` starts
//! it from a configuration file (`config.rs`, written by `guild join`).

pub mod config;
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
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = "To start a node that `guild join` set up: guild node --config DIR/node.json \
(the file names the data directory, genesis, key, listen and API addresses, and peers; \
see README, \"Run a real network\")."
)]
pub struct NodeArgs {
    #[command(subcommand)]
    command: Option<NodeCommand>,
    /// Start from a node configuration file (JSON, written by `guild
    /// join`): data directory, genesis, key, listen and API addresses,
    /// peers. Other options given with it are refused.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with_all = ["data", "genesis", "listen", "peer", "api", "key", "key_name", "no_mdns"]
    )]
    pub config: Option<PathBuf>,
    /// Data directory (created if missing): chain database, signing record,
    /// API tokens.
    // (`Option` only because a subcommand needs neither: clap requires
    // both when there is no subcommand.)
    #[arg(long, required_unless_present = "config")]
    pub data: Option<PathBuf>,
    /// The network's genesis file (JSON).
    #[arg(long, required_unless_present = "config")]
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
    /// The shop's wallet file holding its member key (`--wallet FILE` means
    /// the same). Without it the node runs as an observer (it follows and
    /// verifies the chain, never votes).
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
    /// Serve the shop's web console on this address of its own (e.g.
    /// 127.0.0.1:8701) instead of under /console/ on the API's address.
    /// Anyone who can reach it can try to sign in: keep it on loopback.
    #[arg(long, value_name = "ADDR", conflicts_with = "no_console")]
    pub console: Option<std::net::SocketAddr>,
    /// Serve no web console.
    #[arg(long)]
    pub no_console: bool,
    /// Also serve the read-only explorer (blocks, transactions, members,
    /// proposals, verification; no sign-in and nothing from the customer
    /// directory) on this address, e.g. 0.0.0.0:8780 for the group's
    /// auditors.
    #[arg(long, value_name = "ADDR")]
    pub explorer: Option<std::net::SocketAddr>,
    /// For tests: the first wait before an automation delivery is retried,
    /// in milliseconds (the schedule keeps its shape, scaled; default
    /// 10 s). See docs/automation.md.
    #[arg(long, env = "GUILD_AUTOMATION_RETRY_MS", hide = true)]
    pub automation_retry_ms: Option<u64>,
    /// For tests: how often the time-driven automation triggers run, in
    /// milliseconds (default 60 s).
    #[arg(long, env = "GUILD_AUTOMATION_SCAN_MS", hide = true)]
    pub automation_scan_ms: Option<u64>,
    /// Stop (as on Ctrl-C) when standard input closes: `guild devnet`
    /// starts its nodes so, and they stop with it however it ends.
    #[arg(long, hide = true)]
    pub stop_on_stdin_close: bool,
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

/// The wallet holding the member key: `--key FILE` or the global
/// `--wallet FILE` (the same thing, by the name every other command uses);
/// both naming different files is a mistake worth stopping for.
fn member_wallet<'a>(
    key: Option<&'a std::path::Path>,
    wallet: Option<&'a std::path::Path>,
) -> anyhow::Result<Option<&'a std::path::Path>> {
    match (key, wallet) {
        (Some(key), Some(wallet)) if key != wallet => anyhow::bail!(
            "--key {} and --wallet {} name different wallet files; give one of them \
             (they mean the same for `guild node`)",
            key.display(),
            wallet.display()
        ),
        (key, wallet) => Ok(key.or(wallet)),
    }
}

/// Runs `guild node token …`, or else the node until a signal.
pub fn run(args: NodeArgs, globals: &Globals, log: &str) -> anyhow::Result<()> {
    match args.command {
        Some(NodeCommand::Token(token)) => token::run(token, globals),
        None => {
            crate::init_logging(log);
            run_node(args, globals)
        }
    }
}

/// Fills `args` from `--config FILE` (clap has refused the options it
/// replaces).
fn apply_config_file(mut args: NodeArgs) -> anyhow::Result<NodeArgs> {
    let Some(path) = &args.config else {
        return Ok(args);
    };
    let file = config::NodeFile::read(path)?;
    args.data = Some(file.data);
    args.genesis = Some(file.genesis);
    args.listen = file.listen;
    args.peer = file.peers;
    args.api = file.api;
    args.key = file.key;
    args.key_name = file.key_name;
    if args.passphrase_file.is_none() {
        args.passphrase_file = file.passphrase_file;
    }
    args.no_mdns = !file.mdns;
    Ok(args)
}

/// Runs the node until a signal.
fn run_node(args: NodeArgs, globals: &Globals) -> anyhow::Result<()> {
    let args = apply_config_file(args)?;
    let (Some(data), Some(genesis)) = (args.data, args.genesis) else {
        anyhow::bail!("`guild node` needs --data DIR and --genesis FILE (or --config FILE)");
    };
    let wallet = member_wallet(args.key.as_deref(), globals.wallet.as_deref())?;
    let genesis = GenesisFile::read(&genesis)?;
    let passphrase_file = args
        .passphrase_file
        .as_deref()
        .or(globals.passphrase_file.as_deref());
    let key = match (wallet, args.observer) {
        (Some(path), false) => Some(member_key(path, args.key_name.as_deref(), passphrase_file)?),
        _ => None,
    };
    match (&key, args.observer) {
        (Some(key), _) => {
            tracing::info!(member = %key.address(), "running as a member: this node votes")
        }
        (None, true) => tracing::info!(
            "running as an observer (--observer): this node follows and verifies, never votes"
        ),
        (None, false) => tracing::info!(
            "running as an observer: no --key (or --wallet) was given, so this node follows and verifies the chain but never votes"
        ),
    }
    let mut config = NodeConfig::new(data, genesis, key);
    config.listen = args.listen;
    config.peers = args.peer;
    config.api = args.api;
    config.mdns = !args.no_mdns;
    config.members_only = args.members_only;
    config.allow = args.allow;
    config.cache_bytes = args.cache_mb * 1024 * 1024;
    config.console = guild_node::ConsoleConfig {
        addr: args.console,
        disabled: args.no_console,
        explorer: args.explorer,
    };
    let first_token = if args.no_console {
        None
    } else {
        console_token(&config.data_dir)?
    };
    if let Some(ms) = args.automation_retry_ms.filter(|ms| *ms > 0) {
        config.automation.retry = guild_node::automation::delivery::RetrySchedule::scaled(
            std::time::Duration::from_millis(ms),
        );
    }
    if let Some(ms) = args.automation_scan_ms.filter(|ms| *ms > 0) {
        config.automation.scan_every = std::time::Duration::from_millis(ms);
    }
    let stdin_closed = args.stop_on_stdin_close.then(stdin_closed);
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
        if let Some(url) = node.console_url() {
            eprintln!("web console: {url}");
            if let Some(token) = &first_token {
                eprintln!(
                    "sign in to it with this admin token, shown once (the node keeps only its hash;                      `guild node token create --name NAME --scope admin` makes another):\n  {token}"
                );
            }
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
            _ = async {
                match stdin_closed {
                    Some(closed) => {
                        let _ = closed.await;
                    }
                    None => std::future::pending().await,
                }
            } => {
                eprintln!("standard input closed (the devnet stopped): stopping…");
                node.shutdown().await?;
                Ok(())
            }
        }
    })
}

/// At a data directory's first start with a console: makes the admin token
/// `console-login` (none of the node's tokens is an admin token yet) and returns
/// its secret to print once. `None` when an admin token exists.
fn console_token(data_dir: &std::path::Path) -> anyhow::Result<Option<String>> {
    use guild_api::Scope;
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create the data directory {}", data_dir.display()))?;
    let tokens = guild_node::tokens::TokenStore::open(data_dir)?;
    if tokens.list()?.iter().any(|t| t.allows(Scope::Admin)) {
        return Ok(None);
    }
    let token = tokens.create("console-login", &[Scope::Admin])?;
    Ok(Some(token.secret.reveal()))
}

/// Completes when standard input reaches its end (or fails): read on a
/// thread of its own, everything read is discarded.
fn stdin_closed() -> tokio::sync::oneshot::Receiver<()> {
    let (closed, receiver) = tokio::sync::oneshot::channel();
    let _ = std::thread::Builder::new()
        .name("stdin-watch".into())
        .spawn(move || {
            let mut buffer = [0u8; 256];
            let mut stdin = std::io::stdin().lock();
            while let Ok(n) = std::io::Read::read(&mut stdin, &mut buffer) {
                if n == 0 {
                    break;
                }
            }
            let _ = closed.send(());
        });
    receiver
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
