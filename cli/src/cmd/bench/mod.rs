//! `guild bench`: load-test a local network of `guild node` processes.
//!
//! The tool builds a throw-away network in a temporary directory (a genesis
//! with N member shops and each shop's encrypted wallet, as the multi-node
//! tests do), starts N `guild node` child processes of this very executable
//! on loopback, and drives them over the HTTP API with real signed
//! transactions:
//!
//! 1. **verify**: before any node starts, the one-core rate of
//!    `SignedTransaction::verify` (`verify_strict` plus the id hash) over
//!    2,000 signed transfers, timed in this process for at least a second;
//! 2. **funding**: each shop earns points to its share of the customers
//!    (sequential nonces per shop, submitted to the shop's own node);
//! 3. **light**: transfers between customers at a low rate, for latency;
//! 4. **load**: transfers at a high rate, for throughput;
//! 5. **overload** (optional): far above capacity, to show the nodes refuse
//!    with `503 busy` while still finalizing blocks.
//!
//! Every phase's transactions are signed before the phase starts (signing
//! costs the CPU the nodes need). Submission is open-loop at the offered
//! rate, with a bounded number of requests in flight. Customer `c` always
//! submits to node `c % N`, with at most one request of its own in flight,
//! and moves to its next nonce once the node admitted the previous one (with
//! `--wait-final`, once it is final): a transaction refused as busy (or lost
//! to a transport error) is offered again later, unchanged (submitting the
//! same signed transaction twice is harmless). A refusal for any other
//! reason takes the customer out of the run (its later nonces cannot apply)
//! and is reported with its code.
//!
//! Submit-to-final latency is measured from the moment a request is sent to
//! the moment its block arrives on node 0's `GET /v1/events` stream (blocks
//! the stream skips are fetched with `GET /v1/blocks/{height}`). A phase's
//! committed rate counts its transactions final by the end of the phase
//! plus a drain period, divided by the time from the phase's start to its
//! last final transaction. Each phase also reports every node's CPU time
//! (`/proc/PID/stat`), the CPU other programs used meanwhile
//! (`/proc/stat`), the largest mempool seen (`GET /v1/head`, sampled) and
//! resident memory; the run ends with each node's `VmRSS`/`VmHWM` and the
//! growth of its data directory per final transaction. `--json` prints the
//! same as one JSON document.
//!
//! Children are killed (SIGKILL) when the tool ends, also on error and on
//! Ctrl-C. `--keep DIR` keeps the network's files (logs, data, genesis).

mod follow;
mod load;
mod network;
mod phase;
mod report;
mod sampling;

use self::follow::{PhaseFinals, Tracker, follow, monitor};
use self::load::{
    Prepared, Sender, Submitter, VerifyRate, customer_key, measure_verify, shop_key, sign_transfers,
};
use self::network::{NodeSpec, Workdir, create_network, start_nodes, wait_ready, workdir};
use self::phase::{Bench, PhasePlan};
use self::report::{NodeReport, Report};
use self::sampling::{Machine, disk_bytes, memory};
use anyhow::Context as _;
use anyhow::{anyhow, bail};
use clap::Args;
use guild_api::NodeClient;
use guild_ledger::crypto::{Address, Keypair};
use guild_ledger::params::Params;
use guild_ledger::tx::{Transaction, TxBody, TxId};
use guild_ledger::types::{ChainId, Nonce, Points, ReceiptHash};
use rayon::prelude::*;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
/// The benchmark network's id.
const CHAIN_ID: &str = "guild-bench";
/// The passphrase of the shops' throw-away wallets.
const PASSPHRASE: &str = "guild bench passphrase";
/// Transactions signed for the one-core verification rate.
const VERIFY_SAMPLE: usize = 2_000;
/// Shortest time the verification rate is measured for.
const VERIFY_MIN_TIME: Duration = Duration::from_secs(1);
/// How long a sender waits before offering a refused transaction again.
const RETRY_AFTER: Duration = Duration::from_millis(100);
/// How far behind its schedule the submitter may fall before it gives up
/// the missed slots (counted as "unsent": the client could not keep up).
const MAX_BACKLOG: Duration = Duration::from_millis(250);
/// The shortest wait for the funding earns to be final (a shop's earns are
/// pipelined, and a node that missed one of them can hold the rest up).
const FUNDING_DRAIN_SECS: u64 = 60;
/// How often node heads (height, mempool) are sampled.
const MONITOR_EVERY: Duration = Duration::from_millis(500);
/// Linux reports process CPU time in ticks of 1/100 s (USER_HZ).
const TICKS_PER_SEC: f64 = 100.0;

/// Options of `guild bench`.
#[derive(Args)]
pub struct BenchArgs {
    /// Number of member shops, i.e. node processes.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=12))]
    pub shops: u16,
    /// Number of customer accounts sending transfers.
    #[arg(long, default_value_t = 2_000, value_parser = clap::value_parser!(u32).range(2..=1_000_000))]
    pub customers: u32,
    /// Transfers per second offered in the light phase (latency).
    #[arg(long, default_value_t = 20.0)]
    pub light_rate: f64,
    /// Length of the light phase, in seconds (0 skips it).
    #[arg(long, default_value_t = 10)]
    pub light_secs: u64,
    /// Transfers per second offered in the load phase (throughput).
    #[arg(long, default_value_t = 3_000.0)]
    pub rate: f64,
    /// Length of the load phase, in seconds (0 skips it).
    #[arg(long, default_value_t = 20)]
    pub secs: u64,
    /// Transfers per second offered in the overload phase (0 skips it);
    /// pick a rate far above what the load phase committed.
    #[arg(long, default_value_t = 0.0)]
    pub overload_rate: f64,
    /// Length of the overload phase, in seconds.
    #[arg(long, default_value_t = 30)]
    pub overload_secs: u64,
    /// After a phase, how long to wait for its admitted transactions to be
    /// final, in seconds.
    #[arg(long, default_value_t = 20)]
    pub drain_secs: u64,
    /// In the light and load phases, let each customer send its next
    /// transfer only once the previous one is final (as a cautious wallet
    /// would), instead of as soon as the node admitted it. The offered load
    /// then adapts to the network (at most one transfer per customer
    /// waiting). The funding and overload phases always pipeline.
    #[arg(long)]
    pub wait_final: bool,
    /// Most HTTP submissions in flight at once.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub concurrency: u32,
    /// Each node's database cache (sled), in MiB.
    #[arg(long, default_value_t = 16)]
    pub cache_mb: u64,
    /// Log level of the nodes (their logs are `NAME.log` in the network's
    /// directory; see `--keep`).
    #[arg(long, default_value = "warn")]
    pub node_log: String,
    /// Keep the network's files (data, logs, genesis) in this directory,
    /// which must be empty or not exist, instead of a deleted temporary one.
    #[arg(long)]
    pub keep: Option<PathBuf>,
}

/// Runs the benchmark and prints the report.
pub fn run(args: BenchArgs, json: bool) -> anyhow::Result<()> {
    check_args(&args)?;
    let chain_id = ChainId::new(CHAIN_ID).map_err(|e| anyhow!("bad chain id: {e}"))?;
    let machine = Machine::detect();
    progress(&format!(
        "measuring the one-core verify_strict rate ({VERIFY_SAMPLE} signed transfers)…"
    ));
    let verify = measure_verify(&chain_id)?;
    progress(&format!("  {:.0} signatures/s on one core", verify.per_sec));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let report = runtime.block_on(async {
        tokio::select! {
            report = bench(&args, chain_id, machine, verify) => report,
            _ = tokio::signal::ctrl_c() => Err(anyhow!("interrupted; the nodes were stopped")),
        }
    })?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report.to_json())?);
    } else {
        print!("{}", report.to_text());
    }
    Ok(())
}

fn check_args(args: &BenchArgs) -> anyhow::Result<()> {
    for (name, rate) in [
        ("--light-rate", args.light_rate),
        ("--rate", args.rate),
        ("--overload-rate", args.overload_rate),
    ] {
        if !rate.is_finite() || !(0.0..=1_000_000.0).contains(&rate) {
            bail!("{name} must be between 0 and 1000000 transactions per second, not {rate}");
        }
    }
    if u64::from(args.customers) < u64::from(args.shops) {
        bail!(
            "--customers ({}) must be at least --shops ({})",
            args.customers,
            args.shops
        );
    }
    if args.cache_mb == 0 {
        bail!("--cache-mb must be at least 1");
    }
    Ok(())
}

fn progress(message: &str) {
    eprintln!("bench: {message}");
}

async fn bench(
    args: &BenchArgs,
    chain_id: ChainId,
    machine: Machine,
    verify: VerifyRate,
) -> anyhow::Result<Report> {
    let shops = usize::from(args.shops);
    let customers = args.customers as usize;
    let dir = workdir(args.keep.as_deref())?;
    let (genesis, passphrase_file, nodes) = create_network(dir.path(), shops, &chain_id)?;
    progress(&format!(
        "starting {shops} nodes in {} (sled cache {} MiB each)…",
        dir.path().display(),
        args.cache_mb
    ));
    let mut children = start_nodes(
        &nodes,
        &genesis,
        &passphrase_file,
        args.cache_mb,
        &args.node_log,
    )?;
    let concurrency = args.concurrency as usize;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30))
        .build()
        .context("cannot build the HTTP client")?;
    let apis: Vec<String> = nodes.iter().map(NodeSpec::api).collect();
    let clients = apis
        .iter()
        .map(|api| NodeClient::with_http(api, http.clone()))
        .collect::<Result<Vec<_>, _>>()?;
    wait_ready(&clients, &nodes, &mut children).await?;

    let mut finals = Vec::new();
    for _ in 0..4 {
        finals.push(PhaseFinals::new()?);
    }
    let tracker = Arc::new(Mutex::new(Tracker {
        sent: HashMap::new(),
        seen_final: Default::default(),
        released: Vec::new(),
        finals,
        blocks: Vec::new(),
        last_height: None,
        foreign: 0,
        lagged_blocks: 0,
        stream_error: None,
    }));
    let notify = Arc::new(tokio::sync::Notify::new());
    let (connected_tx, connected_rx) = tokio::sync::oneshot::channel();
    let follower = {
        let tracker = tracker.clone();
        let notify = notify.clone();
        let api = apis[0].clone();
        tokio::spawn(async move {
            if let Err(error) = follow(api, tracker.clone(), notify, connected_tx).await
                && let Ok(mut t) = tracker.lock()
            {
                t.stream_error = Some(format!("{error:#}"));
            }
        })
    };
    let _follower = AbortOnDrop(follower);
    tokio::time::timeout(Duration::from_secs(10), connected_rx)
        .await
        .map_err(|_| anyhow!("node 0's event stream did not open within 10 s"))?
        .map_err(|_| {
            let why = tracker
                .lock()
                .ok()
                .and_then(|t| t.stream_error.clone())
                .unwrap_or_default();
            anyhow!("node 0's event stream failed: {why}")
        })?;
    let samples = Arc::new(Mutex::new(Vec::new()));
    let _monitor = AbortOnDrop(tokio::spawn(monitor(clients.clone(), samples.clone())));
    let disk_start: Vec<u64> = nodes.iter().map(|n| disk_bytes(&n.data)).collect();

    let bench = Bench {
        submitter: Submitter {
            notify,
            clients: clients.clone(),
            tracker: tracker.clone(),
            concurrency,
        },
        tracker: tracker.clone(),
        samples,
        children: &children,
        shops,
    };

    // Customers and how many points each needs.
    progress(&format!("deriving {customers} customer keys…"));
    let keys: Vec<Keypair> = (0..customers as u64)
        .into_par_iter()
        .map(customer_key)
        .collect();
    let addresses: Vec<Address> = keys.iter().map(Keypair::address).collect();
    let light_total = (args.light_rate * args.light_secs as f64).ceil() as u64;
    let load_total = (args.rate * args.secs as f64).ceil() as u64;
    let per_customer =
        |total: u64| total.div_ceil(customers as u64) + 1 + total / customers as u64 / 10;
    // The overload phase can only get as many admitted as the mempools
    // hold plus what the nodes commit meanwhile.
    let overload_cap = (args.overload_rate * args.overload_secs as f64).ceil() as u64;
    let planned = per_customer(light_total) + per_customer(load_total) + per_customer(overload_cap);
    let per_shop = customers.div_ceil(shops) as u64;
    let cap = Params::default().daily_issuance_cap.0;
    let funding_points = (cap / per_shop).min(planned.saturating_mul(2).max(1_000));
    if funding_points < planned {
        bail!(
            "each customer may need {planned} points but the daily issuance cap ({cap} per shop) allows only {funding_points} each; use more --customers or lower rates"
        );
    }

    // Funding: each shop earns to its customers, in nonce order.
    let reason = guild_ledger::Memo::new("bench funding")?;
    let mut shop_senders: Vec<Sender> = (0..shops).map(Sender::new).collect();
    let earns: Vec<(usize, Prepared)> = (0..customers)
        .into_par_iter()
        .map(|c| {
            let s = c % shops;
            let key = shop_key(s);
            let nonce = (c / shops) as u64;
            let signed = Transaction {
                author: key.address(),
                nonce: Nonce(nonce),
                body: TxBody::Earn {
                    reason: reason.clone(),
                    customer: addresses[c],
                    points: Points(funding_points),
                    purchase: None,
                    receipt: ReceiptHash::new(&key.address(), &format!("bench-{c}")),
                },
            }
            .sign(&key, &chain_id);
            (s, Prepared::new(&signed, &chain_id))
        })
        .collect();
    let earn_ids: Vec<TxId> = earns.iter().map(|(_, tx)| tx.id).collect();
    for (s, tx) in earns {
        shop_senders[s].queue.push_back(tx);
        shop_senders[s].next_nonce += 1;
    }
    let mut phases = Vec::new();
    let funding = bench
        .phase(
            PhasePlan {
                name: "funding",
                index: 0,
                rate: None,
                duration: None,
                one_at_a_time: false,
                drain: Duration::from_secs(args.drain_secs.max(FUNDING_DRAIN_SECS)),
            },
            &mut shop_senders,
        )
        .await?;
    if funding.finals == 0 {
        bail!(
            "funding: none of the {customers} earns became final ({} refused: {:?}); see the node logs in {}",
            funding.submit.refused.values().map(|r| r.0).sum::<u64>(),
            funding.submit.refused,
            dir.path().display()
        );
    }
    phases.push(funding);

    // Customers whose earn is not final have nothing to send.
    let mut customer_senders: Vec<Sender> =
        (0..customers).map(|c| Sender::new(c % shops)).collect();
    let unfunded = {
        let tracker = tracker.lock().map_err(|_| anyhow!("poisoned"))?;
        let mut unfunded = 0;
        for (sender, id) in customer_senders.iter_mut().zip(&earn_ids) {
            if tracker.sent.contains_key(id) {
                sender.dead = true;
                unfunded += 1;
            }
        }
        unfunded
    };
    if unfunded > 0 {
        progress(&format!(
            "funding: {unfunded} customers' earns are not final; they sit out"
        ));
    }
    // Customers pipeline (the next transfer once the previous one is
    // admitted) unless --wait-final; the overload phase always pipelines,
    // so the mempools fill up.
    let plan: [(&'static str, f64, u64, u64, bool); 3] = [
        (
            "light",
            args.light_rate,
            args.light_secs,
            light_total,
            args.wait_final,
        ),
        ("load", args.rate, args.secs, load_total, args.wait_final),
        (
            "overload",
            args.overload_rate,
            args.overload_secs,
            overload_cap,
            false,
        ),
    ];
    for (index, (name, rate, secs, total, one_at_a_time)) in plan.into_iter().enumerate() {
        if rate <= 0.0 || secs == 0 {
            continue;
        }
        progress(&format!("{name}: signing {total} transfers ahead…"));
        let wanted = per_customer(total);
        let have = customer_senders
            .iter()
            .map(|s| s.queue.len() as u64)
            .min()
            .unwrap_or(0);
        sign_transfers(
            &mut customer_senders,
            &keys,
            &addresses,
            wanted.saturating_sub(have),
            &chain_id,
        );
        let report = bench
            .phase(
                PhasePlan {
                    name,
                    index: index + 1,
                    rate: Some(rate),
                    duration: Some(Duration::from_secs(secs)),
                    one_at_a_time,
                    drain: Duration::from_secs(args.drain_secs),
                },
                &mut customer_senders,
            )
            .await?;
        phases.push(report);
    }

    // Let the last blocks settle, then measure footprints.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut node_reports = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let (rss, peak_rss) =
            memory(children.0[i].id()).map_or((None, None), |(a, b)| (Some(a), Some(b)));
        let height = clients[i].head().await.ok().map(|h| h.height.0);
        node_reports.push(NodeReport {
            name: node.name.clone(),
            rss,
            peak_rss,
            disk_start: disk_start[i],
            disk_end: disk_bytes(&node.data),
            height,
        });
    }
    let t = tracker.lock().map_err(|_| anyhow!("poisoned"))?;
    let report = Report {
        machine,
        shops,
        customers,
        unfunded,
        cache_mb: args.cache_mb,
        concurrency,
        funding_points,
        verify,
        phases,
        nodes: node_reports,
        total_final_txs: t.blocks.iter().map(|b| b.2 as u64).sum(),
        total_blocks: t.blocks.len() as u64,
        foreign: t.foreign,
        lagged_blocks: t.lagged_blocks,
        stream_error: t.stream_error.clone(),
        kept: match &dir {
            Workdir::Kept(path) => Some(path.clone()),
            Workdir::Temp(_) => None,
        },
    };
    drop(t);
    drop(bench);
    drop(children);
    Ok(report)
}

/// Aborts a spawned task when dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
