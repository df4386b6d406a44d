//! `guild audit`: re-verify the whole ledger independently of any node, and
//! report who owes whom (docs/audit.md).
//!
//! - `guild audit verify`: replays the chain from genesis, checking every
//!   link, certificate, signature, rule and state root; exits 1 at the first
//!   discrepancy, saying where (height, transaction, rule).
//! - `guild audit report [--from DATE] [--to DATE]`: per-shop figures,
//!   cross-shop flows, settlement, programme health.
//! - `guild audit statement --shop SHOP --period YYYY-MM`: one shop's
//!   monthly statement.
//! - `guild audit export --month YYYY-MM [--out FILE]`: the accountant's
//!   wide CSV, a row per shop and per counterparty, points and money.
//! - `guild audit invoice --month YYYY-MM --from SHOP --to SHOP [--out
//!   FILE.html]` (or `--all --dir DIR`): settlement invoices as
//!   print-friendly HTML.
//!
//! Dates and months are the network's local dates (the genesis time zone);
//! money is in its currency.
//!
//! Every command reads the blocks from a node's API (`--node URL`) or a
//! stopped node's data directory (`--data DIR --genesis FILE`), and derives
//! its figures only from the blocks it verified itself.

mod accounts;
pub(crate) mod render;

use crate::Globals;
use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use guild_audit::{
    Activity, AuditError, BlockObserver, BlockSource, Date, Discrepancy, Month, Period, Progress,
    Rule, Summary, VerifyOptions, verify_chain,
};
use guild_ledger::genesis::Genesis;
use guild_ledger::types::Height;
use guild_node::GenesisFile;
use guild_store::StoreSource;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::path::PathBuf;

/// Options of `guild audit`.
#[derive(Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    command: AuditCommand,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Replay the chain from genesis and verify every block, certificate,
    /// signature and state root; print a summary.
    Verify {
        #[command(flatten)]
        source: SourceArgs,
    },
    /// Per-shop figures, cross-shop flows, settlement and programme health
    /// over a period, from the verified chain.
    Report {
        #[command(flatten)]
        source: SourceArgs,
        /// First day of the period (YYYY-MM-DD, the network's local date);
        /// default: genesis.
        #[arg(long)]
        from: Option<String>,
        /// Last day of the period, included (YYYY-MM-DD, local); default:
        /// the head.
        #[arg(long)]
        to: Option<String>,
        /// Output format (--json is the same as --format json).
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// A shop's monthly statement, which both sides of each debt can check
    /// against their own node.
    Statement {
        #[command(flatten)]
        source: SourceArgs,
        /// The shop: its name (any case) or address.
        #[arg(long)]
        shop: String,
        /// The month (YYYY-MM, the network's local dates).
        #[arg(long)]
        period: String,
        /// Output format (--json is the same as --format json).
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// The accountant's export of a month: a wide CSV with one row per shop
    /// and one per shop and counterparty, every figure in points and in
    /// money at the settlement value (columns in docs/audit.md).
    Export {
        #[command(flatten)]
        source: SourceArgs,
        /// The month (YYYY-MM, the network's local dates).
        #[arg(long)]
        month: String,
        /// Write the CSV to this file instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// A settlement invoice between two shops for a month, as a
    /// print-friendly HTML page (or every pair's, with --all --dir DIR).
    Invoice {
        #[command(flatten)]
        source: SourceArgs,
        /// The month (YYYY-MM, the network's local dates).
        #[arg(long)]
        month: String,
        /// The shop that bills (name or address): other shops' points were
        /// redeemed at it.
        #[arg(long, required_unless_present = "all", conflicts_with = "all")]
        from: Option<String>,
        /// The shop billed (name or address).
        #[arg(long, required_unless_present = "all", conflicts_with = "all")]
        to: Option<String>,
        /// Write the page to this file instead of stdout.
        #[arg(long, conflicts_with = "all")]
        out: Option<PathBuf>,
        /// One invoice for every pair of shops with dealings or debts that
        /// month, into --dir (from the shop owed the net to the other).
        #[arg(long, requires = "dir")]
        all: bool,
        /// With --all: the directory to write the invoices into (created if
        /// needed).
        #[arg(long, requires = "all")]
        dir: Option<PathBuf>,
    },
}

/// Where the blocks come from.
#[derive(Args)]
struct SourceArgs {
    /// Read the data directory of a stopped node (or a copy of it) instead
    /// of a node's API (--node); needs --genesis.
    #[arg(long)]
    data: Option<PathBuf>,
    /// The network's genesis file. Required with --data; with --node, the
    /// node's genesis must be this one (without it the node's own genesis
    /// is used: compare the printed genesis hash with your group's).
    #[arg(long)]
    genesis: Option<PathBuf>,
    /// Verify only up to this height.
    #[arg(long)]
    up_to: Option<u64>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Table,
    Json,
    Csv,
}

/// Runs the command.
pub fn run(args: AuditArgs, globals: &Globals) -> anyhow::Result<()> {
    match args.command {
        AuditCommand::Verify { source } => {
            let summary = replay(&source, globals, &mut ())?;
            if globals.json {
                let mut value = serde_json::to_value(&summary)?;
                value["verified"] = serde_json::Value::Bool(true);
                println!("{}", serde_json::to_string_pretty(&value)?);
            } else {
                print!("{}", render::summary_text(&summary));
            }
            Ok(())
        }
        AuditCommand::Report {
            source,
            from,
            to,
            format,
        } => {
            let parse = |text: Option<String>, what: &str| {
                text.map(|t| Date::parse(&t).with_context(|| format!("bad --{what}")))
                    .transpose()
            };
            let period = Period::new(parse(from, "from")?, parse(to, "to")?)?;
            let genesis = load_genesis(&source, globals)?;
            let mut activity = Activity::new(&genesis.1, period)?;
            let summary = replay_with(&source, globals, genesis, &mut activity)?;
            let report = activity.report(summary.height);
            match output_format(format, globals) {
                Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
                Format::Csv => print!("{}", render::report_csv(&report)),
                Format::Table => print!("{}", render::report_table(&report, activity.locale())),
            }
            Ok(())
        }
        AuditCommand::Statement {
            source,
            shop,
            period,
            format,
        } => {
            let month = Month::parse(&period).context("bad --period")?;
            let genesis = load_genesis(&source, globals)?;
            let mut activity = Activity::new(&genesis.1, month.period())?;
            let summary = replay_with(&source, globals, genesis, &mut activity)?;
            let statement = activity.statement(&shop, &month.to_string(), summary.height)?;
            match output_format(format, globals) {
                Format::Json => println!("{}", serde_json::to_string_pretty(&statement)?),
                Format::Csv => print!("{}", render::statement_csv(&statement)),
                Format::Table => {
                    print!("{}", render::statement_table(&statement, activity.locale()))
                }
            }
            Ok(())
        }
        AuditCommand::Export { source, month, out } => {
            let (activity, month, height) = replay_month(&source, globals, &month)?;
            let export = activity.export(&month.to_string(), height);
            if globals.json {
                println!("{}", serde_json::to_string_pretty(&export)?);
                return Ok(());
            }
            let csv = accounts::export_csv(&export);
            match out {
                Some(path) => {
                    write_file(&path, &csv)?;
                    eprintln!(
                        "Wrote the export of {month} ({} shops, {} counterparty rows) to {}.",
                        export.shops.len(),
                        export.counterparties.len(),
                        path.display()
                    );
                }
                None => print!("{csv}"),
            }
            Ok(())
        }
        AuditCommand::Invoice {
            source,
            month,
            from,
            to,
            out,
            all,
            dir,
        } => {
            let (activity, month, height) = replay_month(&source, globals, &month)?;
            let label = month.to_string();
            let zone = zone_text(activity.locale());
            if all {
                let Some(dir) = dir else {
                    bail!("--all needs --dir DIR, the directory to write the invoices into");
                };
                std::fs::create_dir_all(&dir)
                    .with_context(|| format!("cannot create directory {}", dir.display()))?;
                let mut written = Vec::new();
                for (creditor, debtor) in activity.invoice_pairs() {
                    let invoice = activity.invoice(
                        &creditor.address.to_string(),
                        &debtor.address.to_string(),
                        &label,
                        height,
                    )?;
                    let path = dir.join(format!(
                        "invoice-{label}-{}-to-{}.html",
                        file_part(&creditor.name),
                        file_part(&debtor.name)
                    ));
                    write_file(&path, &accounts::invoice_html(&invoice, &zone))?;
                    written.push(path);
                }
                if globals.json {
                    println!("{}", serde_json::json!({"month": label, "files": written}));
                } else if written.is_empty() {
                    println!("No shops dealt with each other in {label}: no invoices written.");
                } else {
                    println!("Wrote {} invoice(s) for {label}:", written.len());
                    for path in &written {
                        println!("  {}", path.display());
                    }
                }
                return Ok(());
            }
            let (Some(from), Some(to)) = (from, to) else {
                bail!("give --from SHOP and --to SHOP, or --all --dir DIR");
            };
            let invoice = activity.invoice(&from, &to, &label, height)?;
            if globals.json {
                println!("{}", serde_json::to_string_pretty(&invoice)?);
                return Ok(());
            }
            let page = accounts::invoice_html(&invoice, &zone);
            match out {
                Some(path) => {
                    write_file(&path, &page)?;
                    eprintln!(
                        "Wrote the invoice from {} to {} for {label} to {}.",
                        invoice.from.name,
                        invoice.to.name,
                        path.display()
                    );
                }
                None => print!("{page}"),
            }
            Ok(())
        }
    }
}

/// Replays the chain for one month (`YYYY-MM`, local dates).
fn replay_month(
    source: &SourceArgs,
    globals: &Globals,
    month: &str,
) -> anyhow::Result<(Activity, Month, Height)> {
    let month = Month::parse(month).context("bad --month")?;
    let genesis = load_genesis(source, globals)?;
    let mut activity = Activity::new(&genesis.1, month.period())?;
    let summary = replay_with(source, globals, genesis, &mut activity)?;
    Ok((activity, month, summary.height))
}

/// How the network's zone is described on an invoice: `UTC`, or `local
/// time (UTC+1 at genesis)`.
fn zone_text(locale: &guild_ledger::programme::Locale) -> String {
    match locale.zone.first() {
        None => "UTC".to_string(),
        Some(_) => "the network's local time".to_string(),
    }
}

/// A shop name as part of a file name: letters, digits and `-` only.
fn file_part(name: &str) -> String {
    let part: String = name
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '-' })
        .collect();
    let part = part.trim_matches('-').to_string();
    if part.is_empty() {
        "shop".to_string()
    } else {
        part
    }
}

fn write_file(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

fn output_format(format: Format, globals: &Globals) -> Format {
    if globals.json { Format::Json } else { format }
}

/// The source to read and the genesis to replay from.
fn load_genesis(
    args: &SourceArgs,
    globals: &Globals,
) -> anyhow::Result<(Box<dyn BlockSource>, Genesis)> {
    let file = args
        .genesis
        .as_ref()
        .map(|path| GenesisFile::read(path))
        .transpose()?
        .map(|f| f.genesis);
    match &args.data {
        Some(dir) => {
            let Some(genesis) = file else {
                bail!(
                    "--data needs --genesis FILE: the data directory records only the hash of its genesis; give the network's genesis file"
                );
            };
            let source = StoreSource::open(dir)?;
            Ok((Box::new(source), genesis))
        }
        None => {
            let source = guild_api::verify::HttpSource::new(&globals.node)?;
            let served = source.genesis()?;
            let genesis = match file {
                Some(genesis) if genesis != served => {
                    return Err(AuditError::from(Discrepancy::at(
                        Height(0),
                        Rule::Genesis,
                        format!(
                            "the node at {} serves a different genesis (hash {}) than the genesis file given (hash {})",
                            globals.node,
                            header_hash(&served)?,
                            header_hash(&genesis)?
                        ),
                    ))
                    .into());
                }
                Some(genesis) => genesis,
                None => served,
            };
            Ok((Box::new(source), genesis))
        }
    }
}

fn header_hash(genesis: &Genesis) -> anyhow::Result<guild_ledger::hash::Hash> {
    Ok(genesis.build()?.1.hash())
}

fn replay(
    args: &SourceArgs,
    globals: &Globals,
    observer: &mut dyn BlockObserver,
) -> anyhow::Result<Summary> {
    let genesis = load_genesis(args, globals)?;
    replay_with(args, globals, genesis, observer)
}

/// Verifies the chain with a progress bar; on a discrepancy, prints it
/// (as JSON with --json) and fails.
fn replay_with(
    args: &SourceArgs,
    globals: &Globals,
    (mut source, genesis): (Box<dyn BlockSource>, Genesis),
    observer: &mut dyn BlockObserver,
) -> anyhow::Result<Summary> {
    let options = VerifyOptions {
        up_to: args.up_to.map(Height),
        ..VerifyOptions::default()
    };
    let bar = ProgressBar::with_draw_target(
        None,
        if args.quiet {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        },
    );
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} verifying [{bar:30}] {pos}/{len} blocks, {msg} ({elapsed})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let mut update = |p: &Progress| {
        bar.set_length(p.head.0);
        bar.set_position(p.height.0);
        let seconds = p.elapsed.as_secs_f64().max(1e-3);
        bar.set_message(format!(
            "{} transactions; {:.0} blocks/s, {:.0} tx/s",
            p.transactions,
            p.height.0 as f64 / seconds,
            p.transactions as f64 / seconds
        ));
    };
    let result = verify_chain(&genesis, source.as_mut(), &options, observer, &mut update);
    bar.finish_and_clear();
    match result {
        Ok(summary) => Ok(summary),
        Err(AuditError::Discrepancy(d)) => {
            if globals.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &serde_json::json!({"verified": false, "discrepancy": d})
                    )?
                );
            }
            bail!(
                "the chain from {} does not verify at {d}\nnothing after this point was checked; this copy of the ledger is corrupt or has been tampered with: compare with another shop's node (guild audit verify --node URL)",
                source.describe()
            )
        }
        Err(error) => Err(error.into()),
    }
}
