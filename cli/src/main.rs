//! `guild`: run a node or a local devnet, use a wallet, audit the ledger.
//!
//! Exit codes: 0 success; 1 the command failed (the message says why and
//! what to do next); 2 the command line itself is wrong (clap's usage
//! errors); `guild status` also 3 (no quorum) and 4 (catching up).

mod cmd;
mod passphrase;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Guild: a shared loyalty-points ledger for local shops.
#[derive(Parser)]
#[command(name = "guild", version, about, propagate_version = true)]
struct Cli {
    /// Print machine-readable JSON on stdout instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// Log level for node output (error, warn, info, debug, trace). Only
    /// `guild node`, `devnet` and `bench` log, so it is left out of the
    /// other commands' help; their own help mentions it.
    #[arg(
        long,
        global = true,
        env = "GUILD_LOG",
        default_value = "info",
        hide = true
    )]
    log: String,
    /// The node API to talk to.
    #[arg(
        long,
        global = true,
        env = "GUILD_NODE",
        default_value = "http://127.0.0.1:7700"
    )]
    node: String,
    /// The wallet file to use.
    #[arg(long, global = true, env = "GUILD_WALLET")]
    wallet: Option<std::path::PathBuf>,
    /// Read the wallet passphrase from this file (else GUILD_PASSPHRASE,
    /// GUILD_PASSPHRASE_FILE, or a prompt).
    #[arg(long, global = true)]
    passphrase_file: Option<std::path::PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a peer node (a shop's member node, or an observer).
    ///
    /// Logs go to stderr; choose how much with `--log LEVEL` or `GUILD_LOG`
    /// (error, warn, info, debug, trace; default info).
    Node(cmd::node::NodeArgs),
    /// Write the genesis file of a new network (its founding shops).
    Genesis(cmd::genesis::GenesisArgs),
    /// Join a running network as a new shop, from its own machine: key,
    /// the members' vote, node configuration, node.
    Join(cmd::join::JoinArgs),
    /// Run a local network of shops on this machine (the quickest start).
    ///
    /// Logs: `--log LEVEL` or `GUILD_LOG` (error, warn, info, debug, trace).
    Devnet(cmd::devnet::DevnetArgs),
    /// Load-test a local 4-node network and report throughput and latency.
    ///
    /// Logs: `--log LEVEL` or `GUILD_LOG` (error, warn, info, debug, trace).
    Bench(cmd::bench::BenchArgs),
    /// Customer commands: keys, balance, history, send, redeem, verify.
    Wallet(cmd::wallet::WalletArgs),
    /// Shop commands: earn, reverse, redemptions, settle, governance.
    Shop(cmd::shop::ShopArgs),
    /// Is my node well, and can the network finalize? (exit code 0 all
    /// good, 1 node unreachable, 3 no quorum, 4 catching up)
    Status(cmd::status::StatusArgs),
    /// Send a transaction signed offline (`--offline`) to a node.
    Submit(cmd::submit::SubmitArgs),
    /// Re-verify the whole ledger and report who owes whom.
    Audit(cmd::audit::AuditArgs),
    /// What a shop can learn from its customers' purchases: segments,
    /// KPIs, and the customer-value models (also on a till's purchase log).
    Insights(cmd::insights::InsightsArgs),
    /// The shop's customer directory, off the ledger: add, show, list,
    /// consent, export, erase.
    Customer(cmd::customer::CustomerArgs),
    /// The shop's automated journeys: triggers, webhooks, rewards, to-dos.
    Automation(cmd::automation::AutomationArgs),
}

/// Options every command can read.
pub struct Globals {
    /// Print JSON.
    pub json: bool,
    /// The node API URL.
    pub node: String,
    /// The wallet file.
    pub wallet: Option<std::path::PathBuf>,
    /// The passphrase file.
    pub passphrase_file: Option<std::path::PathBuf>,
}

fn main() -> ExitCode {
    quiet_on_closed_pipe();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            if let Some(cmd::ExitWith(code)) = error.downcast_ref::<cmd::ExitWith>() {
                return ExitCode::from(*code);
            }
            eprintln!("error: {}", cmd::describe(&error));
            ExitCode::FAILURE
        }
    }
}

/// `guild wallet balance | head -1`: when the reader closes the pipe,
/// `println!` panics with "failed printing to stdout: Broken pipe". Exit
/// quietly instead, with the status a shell gives a process killed by
/// SIGPIPE (128 + 13), as other command-line tools do. (Resetting SIGPIPE
/// itself would need `unsafe`, which the workspace forbids.)
fn quiet_on_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.contains("failed printing to std") && message.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info);
    }));
}

fn init_logging(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(format!(
        "{level},libp2p_gossipsub=error,libp2p_mdns=warn,libp2p_swarm=warn"
    ))
    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let globals = Globals {
        json: cli.json,
        node: cli.node.clone(),
        wallet: cli.wallet.clone(),
        passphrase_file: cli.passphrase_file.clone(),
    };
    match cli.command {
        Command::Node(args) => cmd::node::run(args, &globals, &cli.log),
        Command::Genesis(args) => cmd::genesis::run(args, cli.json),
        Command::Join(args) => cmd::join::run(args, &globals, &cli.log),
        Command::Devnet(args) => {
            init_logging(&cli.log);
            cmd::devnet::run(args, cli.json, &cli.log)
        }
        Command::Bench(args) => cmd::bench::run(args, cli.json),
        Command::Wallet(args) => cmd::wallet::run(args, &globals),
        Command::Shop(args) => cmd::shop::run(args, &globals),
        Command::Status(args) => cmd::status::run(args, &globals),
        Command::Submit(args) => cmd::submit::run(args, &globals),
        Command::Audit(args) => cmd::audit::run(args, &globals),
        Command::Insights(args) => cmd::insights::run(args, &globals),
        Command::Customer(args) => cmd::customer::run(args, &globals),
        Command::Automation(args) => cmd::automation::run(args, &globals),
    }
}
