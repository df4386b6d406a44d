//! `guild`: run a node or a local devnet, use a wallet, audit the ledger.
//!
//! Exit codes: 0 success; 1 the command failed (the message says why and
//! what to do next); 2 the command line itself is wrong (clap's usage
//! errors).

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
    /// Log level for node output (error, warn, info, debug, trace).
    #[arg(long, global = true, env = "GUILD_LOG", default_value = "info")]
    log: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a peer node (a shop's member node, or an observer).
    Node(cmd::node::NodeArgs),
    /// Run a local network of shops on this machine (the quickest start).
    Devnet(cmd::devnet::DevnetArgs),
    /// Load-test a local 4-node network and report throughput and latency.
    Bench(cmd::bench::BenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(format!(
        "{level},libp2p_gossipsub=warn,libp2p_mdns=warn,libp2p_swarm=warn"
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
    match cli.command {
        Command::Node(args) => {
            init_logging(&cli.log);
            cmd::node::run(args)
        }
        Command::Devnet(args) => {
            init_logging(&cli.log);
            cmd::devnet::run(args, cli.json)
        }
        Command::Bench(args) => cmd::bench::run(args, cli.json),
    }
}
