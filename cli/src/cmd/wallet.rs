//! `guild wallet`: a customer's keys, balance, history, sending, redeeming
//! and verifying.
//!
//! Key commands (`new`, `generate`, `import`, `export`, `list`, `address`)
//! work on the wallet file alone; the others talk to the node given by
//! `--node` / `GUILD_NODE`. Every command prints what it did (or, with
//! `--json`, one JSON document on stdout) and exits 0 only on success.

pub mod common;
mod confirm;
mod customer;
mod keys;
mod programme;

use crate::Globals;
use clap::{Args, Subcommand};
use common::{Ctx, TxOptions, with_json_errors};
use std::path::PathBuf;

/// Options of `guild wallet`.
#[derive(Args)]
pub struct WalletArgs {
    /// Which key of the wallet to use (by name or address), when it holds
    /// several.
    #[arg(long, global = true)]
    pub key: Option<String>,
    #[command(subcommand)]
    command: WalletCommand,
}

#[derive(Subcommand)]
enum WalletCommand {
    /// Create a wallet file holding one new key (default file:
    /// ~/.guild/wallet.json).
    New {
        /// The new key's name.
        #[arg(long, default_value = "main")]
        name: String,
        /// Replace an existing wallet file (its keys are lost unless backed
        /// up).
        #[arg(long)]
        force: bool,
    },
    /// Add another new key to the wallet.
    Generate {
        /// The new key's name.
        name: String,
    },
    /// Add an existing secret key to the wallet (creating the wallet if
    /// needed).
    Import {
        /// The key's name in this wallet.
        name: String,
        /// The secret key, 64 hex characters (default: read from stdin or a
        /// hidden prompt, which keeps it out of the shell history).
        #[arg(long)]
        secret: Option<String>,
    },
    /// Show a key's secret, for a backup. Whoever sees it can spend the
    /// points.
    Export {
        /// The key (default: --key, or the only key).
        name: Option<String>,
        /// Write the secret to this file (created with owner-only
        /// permissions).
        #[arg(long, conflicts_with = "stdout")]
        out: Option<PathBuf>,
        /// Print the secret on stdout.
        #[arg(long)]
        stdout: bool,
        /// With --out: replace an existing file.
        #[arg(long)]
        force: bool,
    },
    /// List the wallet's keys and addresses (no passphrase needed).
    List,
    /// Print a key's address, to give to a shop or a friend (no passphrase
    /// needed).
    Address {
        /// The key (default: --key, or the only key).
        name: Option<String>,
    },
    /// Show the balance: the total and the lots by issuing shop and expiry.
    Balance {
        /// Look at another account instead of the wallet's.
        #[arg(long)]
        address: Option<String>,
    },
    /// Show recent transactions, newest first.
    History {
        /// Look at another account instead of the wallet's.
        #[arg(long)]
        address: Option<String>,
        /// How many transactions (1 to 500).
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=500))]
        limit: u64,
    },
    /// Send points to another address.
    Send {
        /// The recipient's address (guild1…).
        #[arg(long)]
        to: String,
        /// How many points.
        #[arg(long, allow_hyphen_values = true)]
        points: String,
        /// A note for the recipient (up to 140 bytes).
        #[arg(long)]
        memo: Option<String>,
        /// Send to a member shop's address as a plain transfer (to spend
        /// points at a shop, use `guild wallet redeem` instead).
        #[arg(long)]
        to_shop: bool,
        #[command(flatten)]
        tx: TxOptions,
    },
    /// Spend points at a shop; waits until final and prints a receipt for
    /// the clerk, with what the points are worth.
    ///
    /// With --request, the shop and the points are those of the line the
    /// till shows (guild:redeem?shop=…&points=…&ref=…). With --out FILE the
    /// redemption is signed but not sent: the file is one JSON document (a
    /// signed transaction file, as `guild submit FILE` reads) to hand back
    /// to the till, which may take it uploaded or its contents pasted.
    Redeem {
        /// The shop: its registered name (or the start of it) or its address.
        #[arg(long, required_unless_present = "request")]
        at: Option<String>,
        /// How many points.
        #[arg(long, allow_hyphen_values = true, required_unless_present = "request")]
        points: Option<String>,
        /// The till's redemption request, the whole line it shows
        /// (guild:redeem?shop=guild1…&points=250&ref=T-0042), instead of
        /// --at and --points.
        #[arg(long, conflicts_with_all = ["at", "points"])]
        request: Option<String>,
        /// The amount again, when it is above your limit (`guild wallet
        /// confirm`): must equal --points. Without it a terminal asks.
        #[arg(long)]
        confirm: Option<String>,
        #[command(flatten)]
        tx: TxOptions,
    },
    /// Ask for the amount a second time before signing a redemption above
    /// a limit (or every redemption); without an option, show the setting.
    /// The setting is kept in the wallet file.
    #[command(group(clap::ArgGroup::new("limit").args(["above", "always", "off"])))]
    Confirm {
        /// Ask for redemptions of more than this many points.
        #[arg(long)]
        above: Option<String>,
        /// Ask for every redemption.
        #[arg(long)]
        always: bool,
        /// Never ask.
        #[arg(long)]
        off: bool,
    },
    /// Check the balance against a Merkle proof and a block signed by more
    /// than 2/3 of the shops, without trusting the node.
    Verify {
        /// Look at another account instead of the wallet's.
        #[arg(long)]
        address: Option<String>,
        /// Trust the network described by this genesis file (e.g.
        /// devnet/genesis.json) instead of the node's word.
        #[arg(long)]
        genesis: Option<PathBuf>,
    },
    /// Explain a sale's points line by line, recomputed by this wallet
    /// from records proven against the certified chain.
    Explain {
        /// The sale's transaction id (64 hex characters).
        id: String,
        /// Trust the network described by this genesis file.
        #[arg(long)]
        genesis: Option<PathBuf>,
    },
    /// Show the tier, the points earned in the window and what is left to
    /// the next tier, from proven records.
    Tier {
        /// Look at another account instead of the wallet's.
        #[arg(long)]
        address: Option<String>,
        /// Trust the network described by this genesis file.
        #[arg(long)]
        genesis: Option<PathBuf>,
    },
    /// Accept a referral by another customer (before your first purchase).
    Refer {
        /// The referrer's address (guild1…).
        #[arg(long)]
        by: String,
        #[command(flatten)]
        tx: TxOptions,
    },
}

/// Runs the command.
pub fn run(args: WalletArgs, globals: &Globals) -> anyhow::Result<()> {
    let ctx = Ctx::new(globals, args.key);
    with_json_errors(ctx.json, || match args.command {
        WalletCommand::New { name, force } => keys::new(&ctx, &name, force),
        WalletCommand::Generate { name } => keys::generate(&ctx, &name),
        WalletCommand::Import { name, secret } => keys::import(&ctx, &name, secret),
        WalletCommand::Export {
            name,
            out,
            stdout,
            force,
        } => keys::export(&ctx, name, out, stdout, force),
        WalletCommand::List => keys::list(&ctx),
        WalletCommand::Address { name } => keys::address(&ctx, name),
        WalletCommand::Balance { address } => customer::balance(&ctx, address.as_deref()),
        WalletCommand::History { address, limit } => {
            customer::history(&ctx, address.as_deref(), limit)
        }
        WalletCommand::Send {
            to,
            points,
            memo,
            to_shop,
            tx,
        } => customer::send(&ctx, &to, &points, memo.as_deref(), to_shop, &tx),
        WalletCommand::Redeem {
            at,
            points,
            request,
            confirm,
            tx,
        } => {
            let target = match (request, at, points) {
                (Some(request), _, _) => customer::RedeemTarget::Request(request),
                (None, Some(at), Some(points)) => customer::RedeemTarget::Typed { at, points },
                // clap requires --at and --points without --request.
                _ => anyhow::bail!("give --at SHOP and --points N, or --request TEXT"),
            };
            customer::redeem(&ctx, &target, confirm.as_deref(), &tx)
        }
        WalletCommand::Confirm { above, always, off } => {
            confirm::set(&ctx, above.as_deref(), always, off)
        }
        WalletCommand::Verify { address, genesis } => {
            customer::verify(&ctx, address.as_deref(), genesis.as_deref())
        }
        WalletCommand::Explain { id, genesis } => programme::explain(&ctx, &id, genesis.as_deref()),
        WalletCommand::Tier { address, genesis } => {
            programme::tier(&ctx, address.as_deref(), genesis.as_deref())
        }
        WalletCommand::Refer { by, tx } => programme::refer(&ctx, &by, &tx),
    })
}
