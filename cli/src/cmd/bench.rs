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

use super::devnet::SHOP_NAMES;
use anyhow::{Context, anyhow, bail};
use clap::Args;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use guild_api::{ChainEvent, ClientError, NodeClient, SubmitRequest, TxStatus};
use guild_ledger::crypto::{Address, Keypair};
use guild_ledger::genesis::{Genesis, GenesisMember};
use guild_ledger::params::Params;
use guild_ledger::tx::{SignedTransaction, Transaction, TxBody, TxId};
use guild_ledger::types::{ChainId, Height, Nonce, Points, ReceiptHash, ShopName, Timestamp};
use guild_os::clock::now_ms;
use guild_wallet::keystore::{KdfParams, Keystore};
use hdrhistogram::Histogram;
use rayon::prelude::*;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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

// ---- the machine ------------------------------------------------------------

/// What the figures were measured on.
struct Machine {
    cpus: usize,
    cpu_model: String,
    memory_mib: u64,
}

impl Machine {
    fn detect() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_else(|| "unknown".to_string());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory_mib = meminfo
            .lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .map_or(0, |kb| kb / 1024);
        Machine {
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model,
            memory_mib,
        }
    }
}

// ---- one-core verification rate ------------------------------------------------

/// The one-core rate of `SignedTransaction::verify`.
struct VerifyRate {
    per_sec: f64,
    verified: u64,
    seconds: f64,
}

fn measure_verify(chain_id: &ChainId) -> anyhow::Result<VerifyRate> {
    let keys: Vec<Keypair> = (0..VERIFY_SAMPLE as u64)
        .map(|i| customer_key(1_000_000 + i))
        .collect();
    let txs: Vec<SignedTransaction> = keys
        .iter()
        .enumerate()
        .map(|(i, key)| {
            let to = keys[(i + 1) % keys.len()].address();
            transfer(key, i as u64, to, chain_id)
        })
        .collect();
    let mut timed = Duration::ZERO;
    let mut verified = 0u64;
    while timed < VERIFY_MIN_TIME {
        let batch = txs.clone();
        let start = Instant::now();
        for tx in batch {
            if tx.verify(chain_id).is_err() {
                bail!(
                    "a freshly signed transaction does not verify; the ledger's signing is broken"
                );
            }
        }
        timed += start.elapsed();
        verified += txs.len() as u64;
    }
    Ok(VerifyRate {
        per_sec: verified as f64 / timed.as_secs_f64(),
        verified,
        seconds: timed.as_secs_f64(),
    })
}

// ---- keys and transactions ---------------------------------------------------------

fn shop_key(i: usize) -> Keypair {
    let mut secret = [0u8; 32];
    secret[..10].copy_from_slice(b"bench-shop");
    secret[24..].copy_from_slice(&(i as u64).to_le_bytes());
    Keypair::from_secret(&secret)
}

fn customer_key(i: u64) -> Keypair {
    let mut secret = [0u8; 32];
    secret[..14].copy_from_slice(b"bench-customer");
    secret[24..].copy_from_slice(&i.to_le_bytes());
    Keypair::from_secret(&secret)
}

fn transfer(key: &Keypair, nonce: u64, to: Address, chain_id: &ChainId) -> SignedTransaction {
    Transaction {
        author: key.address(),
        nonce: Nonce(nonce),
        body: TxBody::Transfer {
            to,
            points: Points(1),
            memo: None,
        },
    }
    .sign(key, chain_id)
}

/// A signed transaction ready to send: its id and the `POST /v1/tx` body.
struct Prepared {
    id: TxId,
    request: SubmitRequest,
}

impl Prepared {
    fn new(signed: &SignedTransaction, chain_id: &ChainId) -> Prepared {
        Prepared {
            id: signed.tx.id(chain_id),
            request: SubmitRequest {
                tx: hex::encode(guild_ledger::codec::encode(signed)),
                wait: false,
                timeout_ms: None,
            },
        }
    }
}

/// One author submitting its transactions in nonce order to one node.
struct Sender {
    node: usize,
    /// Signed, not yet admitted, in nonce order.
    queue: VecDeque<Prepared>,
    /// The nonce the next transaction to sign gets.
    next_nonce: u64,
    /// A refusal other than "busy" broke its nonce sequence: no more sends.
    dead: bool,
    /// Its last admitted transaction, while it waits for it to be final
    /// (when a phase sends one transaction per author at a time).
    awaiting: Option<TxId>,
}

impl Sender {
    fn new(node: usize) -> Sender {
        Sender {
            node,
            queue: VecDeque::new(),
            next_nonce: 0,
            dead: false,
            awaiting: None,
        }
    }
}

/// Signs `per_sender` more transfers for every customer, in parallel.
fn sign_transfers(
    customers: &mut [Sender],
    keys: &[Keypair],
    addresses: &[Address],
    per_sender: u64,
    chain_id: &ChainId,
) {
    let n = customers.len();
    let batches: Vec<Vec<Prepared>> = customers
        .par_iter()
        .enumerate()
        .map(|(c, sender)| {
            let to = addresses[(c + 1) % n];
            (sender.next_nonce..sender.next_nonce + per_sender)
                .map(|nonce| Prepared::new(&transfer(&keys[c], nonce, to, chain_id), chain_id))
                .collect()
        })
        .collect();
    for (sender, batch) in customers.iter_mut().zip(batches) {
        sender.next_nonce += per_sender;
        if !sender.dead {
            sender.queue.extend(batch);
        }
    }
}

// ---- the network --------------------------------------------------------------------

/// One node of the benchmark network.
struct NodeSpec {
    name: String,
    data: PathBuf,
    wallet: PathBuf,
    log: PathBuf,
    p2p_port: u16,
    api_port: u16,
}

impl NodeSpec {
    fn api(&self) -> String {
        format!("http://127.0.0.1:{}", self.api_port)
    }
}

/// The running node processes; killed when dropped.
struct Children(Vec<Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Where the network's files live: a temporary directory (deleted when
/// dropped) or the `--keep` directory.
enum Workdir {
    Temp(tempfile::TempDir),
    Kept(PathBuf),
}

impl Workdir {
    fn path(&self) -> &Path {
        match self {
            Workdir::Temp(dir) => dir.path(),
            Workdir::Kept(path) => path,
        }
    }
}

fn workdir(keep: Option<&Path>) -> anyhow::Result<Workdir> {
    match keep {
        None => tempfile::Builder::new()
            .prefix("guild-bench-")
            .tempdir()
            .map(Workdir::Temp)
            .context("cannot create a temporary directory for the benchmark network"),
        Some(path) => {
            if path.exists() {
                let mut entries = std::fs::read_dir(path)
                    .with_context(|| format!("cannot read --keep directory {}", path.display()))?;
                if entries.next().is_some() {
                    bail!(
                        "--keep directory {} is not empty; give a new or empty directory",
                        path.display()
                    );
                }
            }
            std::fs::create_dir_all(path)
                .with_context(|| format!("cannot create --keep directory {}", path.display()))?;
            let path = std::path::absolute(path)
                .with_context(|| format!("bad path {}", path.display()))?;
            Ok(Workdir::Kept(path))
        }
    }
}

/// Free loopback ports (all listeners are held until every port is picked,
/// so the ports differ).
fn free_ports(count: usize) -> anyhow::Result<Vec<u16>> {
    let listeners = (0..count)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<Vec<_>, _>>()
        .context("cannot find free loopback ports")?;
    listeners
        .iter()
        .map(|l| Ok(l.local_addr()?.port()))
        .collect()
}

/// Writes the genesis, the passphrase file and each shop's wallet.
fn create_network(
    dir: &Path,
    shops: usize,
    chain_id: &ChainId,
) -> anyhow::Result<(PathBuf, PathBuf, Vec<NodeSpec>)> {
    let passphrase_file = dir.join("passphrase.txt");
    std::fs::write(&passphrase_file, PASSPHRASE)
        .with_context(|| format!("cannot write {}", passphrase_file.display()))?;
    let ports = free_ports(2 * shops)?;
    let mut nodes = Vec::new();
    let mut members = Vec::new();
    for (i, name) in SHOP_NAMES.iter().take(shops).enumerate() {
        let key = shop_key(i);
        let wallet = dir.join(format!("{name}.wallet"));
        let mut keystore = Keystore::create(&wallet, PASSPHRASE, KdfParams::MINIMUM, false)
            .with_context(|| format!("cannot create wallet {}", wallet.display()))?;
        keystore
            .import(name, &hex::encode(key.secret_bytes()))
            .with_context(|| format!("cannot import the {name} key"))?;
        keystore
            .save(PASSPHRASE)
            .with_context(|| format!("cannot save wallet {}", wallet.display()))?;
        members.push(GenesisMember {
            name: ShopName::new(name).map_err(|e| anyhow!("bad shop name {name}: {e}"))?,
            address: key.address(),
        });
        nodes.push(NodeSpec {
            name: (*name).to_string(),
            data: dir.join(format!("{name}-data")),
            wallet,
            log: dir.join(format!("{name}.log")),
            p2p_port: ports[2 * i],
            api_port: ports[2 * i + 1],
        });
    }
    let genesis = Genesis {
        chain_id: chain_id.clone(),
        time: Timestamp(now_ms().saturating_sub(1_000)),
        members,
        params: Params::default(),
    };
    let genesis_path = dir.join("genesis.json");
    std::fs::write(&genesis_path, serde_json::to_string_pretty(&genesis)?)
        .with_context(|| format!("cannot write {}", genesis_path.display()))?;
    Ok((genesis_path, passphrase_file, nodes))
}

fn start_nodes(
    nodes: &[NodeSpec],
    genesis: &Path,
    passphrase_file: &Path,
    cache_mb: u64,
    log_level: &str,
) -> anyhow::Result<Children> {
    let exe = std::env::current_exe().context("cannot find this program's own executable")?;
    let mut children = Children(Vec::new());
    for (i, node) in nodes.iter().enumerate() {
        let log = std::fs::File::create(&node.log)
            .with_context(|| format!("cannot create {}", node.log.display()))?;
        let mut cmd = Command::new(&exe);
        cmd.arg("node")
            .arg("--data")
            .arg(&node.data)
            .arg("--genesis")
            .arg(genesis)
            .arg("--listen")
            .arg(format!("/ip4/127.0.0.1/tcp/{}", node.p2p_port))
            .arg("--api")
            .arg(format!("127.0.0.1:{}", node.api_port))
            .arg("--no-mdns")
            .arg("--cache-mb")
            .arg(cache_mb.to_string())
            .arg("--log")
            .arg(log_level)
            .arg("--key")
            .arg(&node.wallet)
            .arg("--passphrase-file")
            .arg(passphrase_file);
        for (j, other) in nodes.iter().enumerate() {
            if j != i {
                cmd.arg("--peer")
                    .arg(format!("/ip4/127.0.0.1/tcp/{}", other.p2p_port));
            }
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .with_context(|| format!("cannot start node {} ({})", node.name, exe.display()))?;
        children.0.push(child);
    }
    Ok(children)
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Waits until every node answers `/v1/head` and sees all its peers.
async fn wait_ready(
    clients: &[NodeClient],
    nodes: &[NodeSpec],
    children: &mut Children,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let want_peers = nodes.len().saturating_sub(1) as u64;
    for (i, node) in nodes.iter().enumerate() {
        loop {
            if let Some(status) = children.0[i].try_wait()? {
                bail!(
                    "node {} exited ({status}) while starting; its log ({}) ends:\n{}",
                    node.name,
                    node.log.display(),
                    tail(&node.log, 20)
                );
            }
            if let Ok(head) = clients[i].head().await
                && head.peers as u64 >= want_peers
            {
                break;
            }
            if Instant::now() > deadline {
                bail!(
                    "node {} did not answer with all {want_peers} peers connected within 60 s; its log ({}) ends:\n{}",
                    node.name,
                    node.log.display(),
                    tail(&node.log, 20)
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(())
}

// ---- process figures -------------------------------------------------------------

/// CPU seconds (user + system) used so far by process `pid` ("self" for
/// this one).
fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / TICKS_PER_SEC)
}

/// (VmRSS, VmHWM) of process `pid`, in bytes.
fn memory(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .map(|kb| kb * 1024)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// Total size of the files under `dir`.
fn disk_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.metadata() {
            Ok(meta) if meta.is_dir() => disk_bytes(&entry.path()),
            Ok(meta) => meta.len(),
            Err(_) => 0,
        })
        .sum()
}

/// CPU seconds of every node, of this process, and of the whole machine
/// (busy, all CPUs together).
struct CpuSample {
    nodes: Vec<Option<f64>>,
    bench: Option<f64>,
    machine: Option<f64>,
}

/// CPU seconds the whole machine has been busy (all CPUs), from
/// `/proc/stat`.
fn machine_busy_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest is in user).
    let busy: u64 = fields
        .iter()
        .take(8)
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .map(|(_, v)| v)
        .sum();
    Some(busy as f64 / TICKS_PER_SEC)
}

fn cpu_sample(children: &Children) -> CpuSample {
    CpuSample {
        nodes: children
            .0
            .iter()
            .map(|c| cpu_seconds(&c.id().to_string()))
            .collect(),
        bench: cpu_seconds("self"),
        machine: machine_busy_seconds(),
    }
}

// ---- following finality -------------------------------------------------------------

/// What is known about submitted transactions and final blocks; shared by
/// the submitter and the event follower.
struct Tracker {
    /// Sent (and not refused) transactions not yet seen final: when the
    /// accepted attempt was sent, in which phase, by which sender.
    sent: HashMap<TxId, (Instant, usize, usize)>,
    /// Every transaction seen final (so a retry of one whose first answer
    /// was lost is not taken for a new submission).
    seen_final: std::collections::HashSet<TxId>,
    /// Final transactions as (phase, sender, id), for the submitter to let
    /// those senders go on.
    released: Vec<(usize, usize, TxId)>,
    /// Per phase: submit-to-final latencies (µs), count, last final time.
    finals: Vec<PhaseFinals>,
    /// Every final block seen: when, height, transaction count.
    blocks: Vec<(Instant, u64, usize)>,
    last_height: Option<u64>,
    /// Final transactions this tool did not send (none expected).
    foreign: u64,
    /// Blocks the event stream skipped (fetched afterwards).
    lagged_blocks: u64,
    /// Why the event stream stopped, if it did.
    stream_error: Option<String>,
}

struct PhaseFinals {
    latency_us: Histogram<u64>,
    count: u64,
    last: Option<Instant>,
}

impl PhaseFinals {
    fn new() -> anyhow::Result<PhaseFinals> {
        Ok(PhaseFinals {
            latency_us: Histogram::new_with_bounds(1, 3_600_000_000, 3)
                .map_err(|e| anyhow!("cannot create a histogram: {e}"))?,
            count: 0,
            last: None,
        })
    }
}

impl Tracker {
    fn final_ids(&mut self, height: u64, ids: &[TxId], at: Instant) {
        self.blocks.push((at, height, ids.len()));
        self.last_height = Some(self.last_height.map_or(height, |h| h.max(height)));
        for id in ids {
            self.seen_final.insert(*id);
            match self.sent.remove(id) {
                Some((sent, phase, sender)) => {
                    self.released.push((phase, sender, *id));
                    if let Some(finals) = self.finals.get_mut(phase) {
                        let us = at.saturating_duration_since(sent).as_micros() as u64;
                        finals.latency_us.saturating_record(us.max(1));
                        finals.count += 1;
                        finals.last = Some(at);
                    }
                }
                None => self.foreign += 1,
            }
        }
    }

    fn pending(&self, phase: usize) -> usize {
        self.sent.values().filter(|(_, p, _)| *p == phase).count()
    }
}

/// Follows node `api`'s event stream, recording every final block; blocks
/// the stream skipped are fetched with `GET /v1/blocks/{height}`.
async fn follow(
    api: String,
    tracker: Arc<Mutex<Tracker>>,
    notify: Arc<tokio::sync::Notify>,
    connected: tokio::sync::oneshot::Sender<()>,
) -> anyhow::Result<()> {
    let client = NodeClient::new(&api)?;
    let mut stream = client
        .events(&[], None)
        .await
        .context("cannot open the event stream")?;
    let _ = connected.send(());
    while let Some(event) = stream.next().await.context("the event stream broke")? {
        let at = Instant::now();
        // Skipped blocks show as a gap in heights (fetched below).
        let ChainEvent::Block(block) = event else {
            continue;
        };
        let ids: Vec<TxId> = block.txs.iter().map(|tx| tx.id).collect();
        let last = tracker.lock().map_err(|_| anyhow!("poisoned"))?.last_height;
        if let Some(last) = last {
            for missing in last + 1..block.height.0 {
                let skipped = client
                    .block(Height(missing))
                    .await
                    .with_context(|| format!("GET {api}/v1/blocks/{missing}"))?;
                let skipped_ids: Vec<TxId> = skipped.txs.iter().map(|tx| tx.id).collect();
                let mut t = tracker.lock().map_err(|_| anyhow!("poisoned"))?;
                t.lagged_blocks += 1;
                t.final_ids(missing, &skipped_ids, Instant::now());
            }
        }
        tracker
            .lock()
            .map_err(|_| anyhow!("poisoned"))?
            .final_ids(block.height.0, &ids, at);
        notify.notify_one();
    }
    bail!("the event stream ended")
}

/// Samples of every node's head: (when, node, height, mempool), or a failed
/// request.
struct HeadSample {
    at: Instant,
    node: usize,
    head: Option<(u64, u64)>,
}

async fn monitor(clients: Vec<NodeClient>, samples: Arc<Mutex<Vec<HeadSample>>>) {
    let mut tick = tokio::time::interval(MONITOR_EVERY);
    loop {
        tick.tick().await;
        for (node, client) in clients.iter().enumerate() {
            let head = client
                .head()
                .await
                .ok()
                .map(|h| (h.height.0, h.mempool as u64));
            if let Ok(mut samples) = samples.lock() {
                samples.push(HeadSample {
                    at: Instant::now(),
                    node,
                    head,
                });
            }
        }
    }
}

// ---- submitting -------------------------------------------------------------

/// How the node answered one submission.
enum Outcome {
    /// 202 (pending) or, with `true`, 200 (already final).
    Accepted(bool),
    Busy(String),
    Refused {
        code: String,
        message: String,
    },
    Transport(String),
}

async fn submit(client: NodeClient, request: SubmitRequest) -> Outcome {
    match client.submit_request(&request).await {
        Ok(answer) => Outcome::Accepted(answer.status == TxStatus::Final),
        Err(ClientError::Node {
            status: 503,
            code,
            message,
        }) if code == guild_api::code::BUSY => Outcome::Busy(format!("HTTP 503: {message}")),
        Err(ClientError::Node {
            status,
            code,
            message,
        }) => Outcome::Refused {
            code,
            message: format!("HTTP {status}: {message}"),
        },
        Err(error) => Outcome::Transport(error.to_string()),
    }
}

/// How a phase's submissions went.
#[derive(Default)]
struct SubmitStats {
    window: Duration,
    attempts: u64,
    accepted: u64,
    busy: u64,
    busy_example: Option<String>,
    /// Refusals by code: count and one message.
    refused: BTreeMap<String, (u64, String)>,
    transport: u64,
    transport_example: Option<String>,
    /// Slots of the schedule given up because the client fell behind.
    unsent: u64,
    /// Retries (after a transport error) answered "already final".
    final_on_retry: u64,
}

/// Senders that may send now, and senders waiting to retry (in time
/// order: every retry waits the same [`RETRY_AFTER`]).
struct Queues {
    ready: VecDeque<usize>,
    delayed: VecDeque<(Instant, usize)>,
}

/// Everything a phase needs to submit.
struct Submitter {
    notify: Arc<tokio::sync::Notify>,
    /// One client per node.
    clients: Vec<NodeClient>,
    tracker: Arc<Mutex<Tracker>>,
    concurrency: usize,
}

impl Submitter {
    /// Offers the senders' transactions at `rate` per second for
    /// `duration` (with `None`, as fast as allowed until every queue is
    /// empty). With `one_at_a_time`, a sender's next transaction waits
    /// until its previous one is final; otherwise only until it is
    /// admitted. Returns once the last request is answered.
    async fn run(
        &self,
        phase: usize,
        senders: &mut [Sender],
        rate: Option<f64>,
        duration: Option<Duration>,
        one_at_a_time: bool,
    ) -> anyhow::Result<SubmitStats> {
        for sender in senders.iter_mut() {
            sender.awaiting = None;
        }
        let mut stats = SubmitStats::default();
        let mut queues = Queues {
            ready: (0..senders.len())
                .filter(|&i| !senders[i].dead && !senders[i].queue.is_empty())
                .collect(),
            delayed: VecDeque::new(),
        };
        let mut inflight = FuturesUnordered::new();
        let start = Instant::now();
        let end = duration.map(|d| start + d);
        let mut issued: u64 = 0;
        let max_backlog = rate.map_or(0, |r| (r * MAX_BACKLOG.as_secs_f64()).ceil() as u64 + 1);
        loop {
            let released = std::mem::take(&mut self.lock()?.released);
            for (p, i, id) in released {
                if p == phase
                    && let Some(sender) = senders.get_mut(i)
                    && sender.awaiting == Some(id)
                {
                    sender.awaiting = None;
                    if !sender.queue.is_empty() {
                        queues.ready.push_back(i);
                    }
                }
            }
            let now = Instant::now();
            let open = end.is_none_or(|end| now < end);
            while let Some(&(at, i)) = queues.delayed.front() {
                if at > now {
                    break;
                }
                queues.delayed.pop_front();
                queues.ready.push_back(i);
            }
            if open {
                let due = match rate {
                    Some(rate) => (rate * now.duration_since(start).as_secs_f64()) as u64,
                    None => u64::MAX,
                };
                if rate.is_some() && due > issued + max_backlog {
                    stats.unsent += due - issued - max_backlog;
                    issued = due - max_backlog;
                }
                while issued < due && inflight.len() < self.concurrency {
                    let Some(i) = queues.ready.pop_front() else {
                        break;
                    };
                    let sender = &senders[i];
                    let Some(tx) = sender.queue.front() else {
                        continue;
                    };
                    {
                        let mut tracker = self.lock()?;
                        if !tracker.seen_final.contains(&tx.id) {
                            // A retry after a transport error keeps the
                            // first attempt's time (it may have been the
                            // one admitted).
                            tracker
                                .sent
                                .entry(tx.id)
                                .or_insert((Instant::now(), phase, i));
                        }
                    }
                    let request = submit(self.clients[sender.node].clone(), tx.request.clone());
                    inflight.push(async move { (i, request.await) });
                    issued += 1;
                    stats.attempts += 1;
                }
            }
            let finished = if duration.is_none() {
                queues.ready.is_empty()
                    && queues.delayed.is_empty()
                    && inflight.is_empty()
                    && senders.iter().all(|s| s.awaiting.is_none())
            } else {
                !open && inflight.is_empty()
            };
            if finished {
                break;
            }
            // Sleep until a request is answered, the next slot is due, a
            // delayed sender may retry, or the window closes.
            let mut wake = now + Duration::from_millis(50);
            if open {
                if let Some(rate) = rate {
                    let next = start + Duration::from_secs_f64((issued + 1) as f64 / rate);
                    wake = wake.min(next.max(now + Duration::from_micros(200)));
                }
                if let Some(end) = end {
                    wake = wake.min(end);
                }
            }
            if let Some(&(at, _)) = queues.delayed.front() {
                wake = wake.min(at);
            }
            tokio::select! {
                Some((i, outcome)) = inflight.next(), if !inflight.is_empty() => {
                    self.settle(i, outcome, senders, one_at_a_time, &mut queues, &mut stats)?;
                }
                _ = self.notify.notified(), if one_at_a_time => {}
                _ = tokio::time::sleep_until(wake.into()) => {}
            }
        }
        stats.window = end.map_or_else(|| start.elapsed(), |end| end.duration_since(start));
        Ok(stats)
    }

    fn lock(&self) -> anyhow::Result<std::sync::MutexGuard<'_, Tracker>> {
        self.tracker
            .lock()
            .map_err(|_| anyhow!("the event follower panicked"))
    }

    fn settle(
        &self,
        i: usize,
        outcome: Outcome,
        senders: &mut [Sender],
        one_at_a_time: bool,
        queues: &mut Queues,
        stats: &mut SubmitStats,
    ) -> anyhow::Result<()> {
        let sender = &mut senders[i];
        let Some(id) = sender.queue.front().map(|tx| tx.id) else {
            return Ok(());
        };
        match outcome {
            Outcome::Accepted(already_final) => {
                stats.accepted += 1;
                sender.queue.pop_front();
                let mut tracker = self.lock()?;
                if already_final && tracker.sent.remove(&id).is_some() {
                    // Admitted by an earlier attempt whose answer was lost,
                    // and final since: its block was not seen as its own.
                    stats.final_on_retry += 1;
                }
                let go_on = !one_at_a_time || !tracker.sent.contains_key(&id);
                drop(tracker);
                if go_on {
                    if !sender.queue.is_empty() {
                        queues.ready.push_back(i);
                    }
                } else {
                    sender.awaiting = Some(id);
                }
            }
            Outcome::Busy(message) => {
                stats.busy += 1;
                stats.busy_example.get_or_insert(message);
                self.lock()?.sent.remove(&id);
                queues.delayed.push_back((Instant::now() + RETRY_AFTER, i));
            }
            Outcome::Refused { code, message } => {
                self.lock()?.sent.remove(&id);
                let entry = stats.refused.entry(code).or_insert((0, message));
                entry.0 += 1;
                // Its later nonces cannot be admitted now.
                sender.dead = true;
                sender.queue.clear();
            }
            Outcome::Transport(message) => {
                // It may have been admitted: offer the same bytes again.
                stats.transport += 1;
                stats.transport_example.get_or_insert(message);
                queues.delayed.push_back((Instant::now() + RETRY_AFTER, i));
            }
        }
        Ok(())
    }
}

// ---- phases --------------------------------------------------------------------

/// The figures of one phase.
struct PhaseReport {
    name: &'static str,
    /// Each sender waited for its previous transaction to be final.
    one_at_a_time: bool,
    offered_rate: Option<f64>,
    submit: SubmitStats,
    finals: u64,
    pending_after_drain: usize,
    /// From the phase's start to its last final transaction.
    final_span: Option<Duration>,
    latency_ms: Option<Latency>,
    blocks: u64,
    max_block_txs: usize,
    /// Per node: CPU seconds used during the phase (with the drain).
    node_cpu: Vec<Option<f64>>,
    bench_cpu: Option<f64>,
    /// CPU seconds used by other programs on the machine meanwhile.
    other_cpu: Option<f64>,
    elapsed: Duration,
    /// Per node: largest mempool seen, and heights at start and end.
    mempool_max: Vec<Option<u64>>,
    /// Per node: resident memory at the end of the phase.
    rss_end: Vec<Option<u64>>,
    heights: Vec<(Option<u64>, Option<u64>)>,
    head_failures: u64,
}

struct Latency {
    p50: f64,
    p99: f64,
    max: f64,
    mean: f64,
}

impl PhaseReport {
    fn committed_per_sec(&self) -> Option<f64> {
        let span = self.final_span?.as_secs_f64();
        (span > 0.0).then(|| self.finals as f64 / span)
    }

    fn node_us_per_tx(&self) -> Option<f64> {
        if self.finals == 0 || self.node_cpu.is_empty() {
            return None;
        }
        let total: f64 = self.node_cpu.iter().copied().sum::<Option<f64>>()?;
        Some(total / self.node_cpu.len() as f64 / self.finals as f64 * 1e6)
    }

    fn cpu_percent(&self, cpu: Option<f64>) -> Option<f64> {
        cpu.map(|s| 100.0 * s / self.elapsed.as_secs_f64().max(1e-9))
    }
}

struct Bench<'a> {
    submitter: Submitter,
    tracker: Arc<Mutex<Tracker>>,
    samples: Arc<Mutex<Vec<HeadSample>>>,
    children: &'a Children,
    shops: usize,
}

/// One phase to run.
struct PhasePlan {
    name: &'static str,
    /// Its index in [`Tracker::finals`].
    index: usize,
    /// Offered transactions per second (`None`: as fast as allowed).
    rate: Option<f64>,
    /// How long to offer (`None`: until every sender's queue is empty).
    duration: Option<Duration>,
    /// A sender's next transaction waits until its previous one is final.
    one_at_a_time: bool,
    /// How long to wait afterwards for admitted transactions to be final.
    drain: Duration,
}

impl Bench<'_> {
    async fn phase(&self, plan: PhasePlan, senders: &mut [Sender]) -> anyhow::Result<PhaseReport> {
        let PhasePlan {
            name,
            index: phase,
            rate,
            duration,
            one_at_a_time,
            drain,
        } = plan;
        match (rate, duration) {
            (Some(rate), Some(d)) => progress(&format!(
                "{name}: offering {rate} transfers/s for {} s…",
                d.as_secs()
            )),
            _ => progress(&format!("{name}: submitting…")),
        }
        let cpu_before = cpu_sample(self.children);
        let start = Instant::now();
        let submit = self
            .submitter
            .run(phase, senders, rate, duration, one_at_a_time)
            .await?;
        // Drain: wait for what was admitted to become final.
        let drain_end = Instant::now() + drain;
        loop {
            let pending = self.submitter.lock()?.pending(phase);
            if pending == 0 || Instant::now() >= drain_end {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let elapsed = start.elapsed();
        let cpu_after = cpu_sample(self.children);
        let rss_end: Vec<Option<u64>> = self
            .children
            .0
            .iter()
            .map(|c| memory(c.id()).map(|(rss, _)| rss))
            .collect();
        let tracker = self.tracker.lock().map_err(|_| anyhow!("poisoned"))?;
        let finals = &tracker.finals[phase];
        let latency_ms = (finals.count > 0).then(|| Latency {
            p50: finals.latency_us.value_at_quantile(0.50) as f64 / 1000.0,
            p99: finals.latency_us.value_at_quantile(0.99) as f64 / 1000.0,
            max: finals.latency_us.max() as f64 / 1000.0,
            mean: finals.latency_us.mean() / 1000.0,
        });
        let in_phase: Vec<&(Instant, u64, usize)> = tracker
            .blocks
            .iter()
            .filter(|(at, _, _)| *at >= start)
            .collect();
        let samples = self.samples.lock().map_err(|_| anyhow!("poisoned"))?;
        let mut mempool_max = vec![None; self.shops];
        let mut heights = vec![(None, None); self.shops];
        let mut head_failures = 0;
        for sample in samples.iter().filter(|s| s.at >= start) {
            match sample.head {
                Some((height, mempool)) => {
                    let max: &mut Option<u64> = &mut mempool_max[sample.node];
                    *max = Some(max.map_or(mempool, |m| m.max(mempool)));
                    let h = &mut heights[sample.node];
                    h.0.get_or_insert(height);
                    h.1 = Some(height);
                }
                None => head_failures += 1,
            }
        }
        let delta = |a: Option<f64>, b: Option<f64>| Some(b? - a?);
        let node_cpu: Vec<Option<f64>> = cpu_before
            .nodes
            .iter()
            .zip(&cpu_after.nodes)
            .map(|(a, b)| delta(*a, *b))
            .collect();
        let bench_cpu = delta(cpu_before.bench, cpu_after.bench);
        let other_cpu = {
            let ours: Option<f64> = node_cpu.iter().copied().chain([bench_cpu]).sum();
            delta(cpu_before.machine, cpu_after.machine)
                .zip(ours)
                .map(|(all, ours)| (all - ours).max(0.0))
        };
        let report = PhaseReport {
            name,
            one_at_a_time,
            offered_rate: rate,
            finals: finals.count,
            pending_after_drain: tracker.pending(phase),
            final_span: finals.last.map(|last| last.duration_since(start)),
            latency_ms,
            blocks: in_phase.len() as u64,
            max_block_txs: in_phase.iter().map(|b| b.2).max().unwrap_or(0),
            node_cpu,
            bench_cpu,
            other_cpu,
            elapsed,
            mempool_max,
            rss_end,
            heights,
            head_failures,
            submit,
        };
        progress(&format!(
            "{name}: {} admitted, {} final{}{}",
            report.submit.accepted,
            report.finals,
            report
                .committed_per_sec()
                .map_or(String::new(), |r| format!(", {r:.0} committed/s")),
            report
                .latency_ms
                .as_ref()
                .map_or(String::new(), |l| format!(
                    ", p50 {:.0} ms, p99 {:.0} ms",
                    l.p50, l.p99
                )),
        ));
        Ok(report)
    }
}

/// Per-node figures at the end.
struct NodeReport {
    name: String,
    rss: Option<u64>,
    peak_rss: Option<u64>,
    disk_start: u64,
    disk_end: u64,
    height: Option<u64>,
}

struct Report {
    machine: Machine,
    shops: usize,
    customers: usize,
    /// Customers left out because their earn was not final.
    unfunded: usize,
    cache_mb: u64,
    concurrency: usize,
    funding_points: u64,
    verify: VerifyRate,
    phases: Vec<PhaseReport>,
    nodes: Vec<NodeReport>,
    total_final_txs: u64,
    total_blocks: u64,
    foreign: u64,
    lagged_blocks: u64,
    stream_error: Option<String>,
    kept: Option<PathBuf>,
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

// ---- output ----------------------------------------------------------------------

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn opt(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| "-".to_string(), |v| format!("{v:.decimals$}"))
}

impl Report {
    fn bytes_per_tx(&self, node: &NodeReport) -> Option<f64> {
        (self.total_final_txs > 0).then(|| {
            node.disk_end.saturating_sub(node.disk_start) as f64 / self.total_final_txs as f64
        })
    }

    fn to_text(&self) -> String {
        let mut out = String::new();
        let m = &self.machine;
        let _ = writeln!(
            out,
            "\nGuild bench: {} nodes on one machine ({} CPUs, {}, {} MiB RAM); {} customers, sled cache {} MiB per node, {} submissions in flight at most",
            self.shops,
            m.cpus,
            m.cpu_model,
            m.memory_mib,
            self.customers,
            self.cache_mb,
            self.concurrency
        );
        let _ = writeln!(
            out,
            "verify_strict, one core (SignedTransaction::verify): {:.0} signatures/s ({} in {:.2} s)\n",
            self.verify.per_sec, self.verify.verified, self.verify.seconds
        );
        let _ = writeln!(
            out,
            "{:<9} {:>8} {:>9} {:>9} {:>9} {:>8} {:>6} {:>8} {:>11} {:>8} {:>8} {:>8} {:>7} {:>9}",
            "phase",
            "next on",
            "offered/s",
            "sent/s",
            "admitted",
            "busy",
            "other",
            "final",
            "committed/s",
            "p50 ms",
            "p99 ms",
            "max ms",
            "blocks",
            "max txs/b"
        );
        for p in &self.phases {
            let window = p.submit.window.as_secs_f64().max(1e-9);
            let _ = writeln!(
                out,
                "{:<9} {:>8} {:>9} {:>9.0} {:>9} {:>8} {:>6} {:>8} {:>11} {:>8} {:>8} {:>8} {:>7} {:>9}",
                p.name,
                if p.one_at_a_time { "final" } else { "admitted" },
                p.offered_rate
                    .map_or_else(|| "max".to_string(), |r| format!("{r:.0}")),
                p.submit.attempts as f64 / window,
                p.submit.accepted,
                p.submit.busy,
                p.submit.refused.values().map(|r| r.0).sum::<u64>() + p.submit.transport,
                p.finals,
                opt(p.committed_per_sec(), 0),
                opt(p.latency_ms.as_ref().map(|l| l.p50), 0),
                opt(p.latency_ms.as_ref().map(|l| l.p99), 0),
                opt(p.latency_ms.as_ref().map(|l| l.max), 0),
                p.blocks,
                p.max_block_txs,
            );
        }
        let _ = writeln!(
            out,
            "\nnext on: a sender sends its next transaction once the previous one is final, or as soon as it is admitted (pipelined).\ncommitted/s: the phase's final transactions / time from the phase's start to its last final one; latency: submit to final (block event on {}).\n",
            self.nodes.first().map_or("node 0", |n| n.name.as_str())
        );
        for p in &self.phases {
            if let Some(example) = &p.submit.busy_example {
                let _ = writeln!(
                    out,
                    "{}: {} refused as busy (retried), e.g. {example}",
                    p.name, p.submit.busy
                );
            }
            if p.submit.final_on_retry > 0 {
                let _ = writeln!(
                    out,
                    "{}: {} retries found their transaction already final",
                    p.name, p.submit.final_on_retry
                );
            }
            if p.pending_after_drain > 0 {
                let _ = writeln!(
                    out,
                    "{}: {} sent transactions were not seen final after the drain \
                     (admitted ones still waiting, or requests that got no answer and \
                     were not retried before the phase ended)",
                    p.name, p.pending_after_drain
                );
            }
            if p.submit.unsent > 0 {
                let _ = writeln!(
                    out,
                    "{}: the client fell behind its schedule and skipped {} slots",
                    p.name, p.submit.unsent
                );
            }
            for (code, (count, message)) in &p.submit.refused {
                let _ = writeln!(
                    out,
                    "{}: {count} refused with '{code}', e.g. {message}",
                    p.name
                );
            }
            if p.submit.transport > 0 {
                let _ = writeln!(
                    out,
                    "{}: {} transport errors (retried), e.g. {}",
                    p.name,
                    p.submit.transport,
                    p.submit.transport_example.as_deref().unwrap_or("")
                );
            }
            if p.head_failures > 0 {
                let _ = writeln!(
                    out,
                    "{}: {} GET /v1/head samples failed (node too slow to answer in 5 s)",
                    p.name, p.head_failures
                );
            }
        }
        let _ = writeln!(
            out,
            "\nPer phase and node: CPU (% of one core, over the submission window + drain) / largest mempool seen / RSS MiB at the end;\nothers = other programs on the machine; node µs/tx = CPU time of one node per final transaction (mean of the nodes):"
        );
        let mut header = format!("{:<9}", "phase");
        for n in &self.nodes {
            let _ = write!(header, " {:>22}", n.name);
        }
        let _ = write!(
            header,
            " {:>7} {:>7} {:>12}",
            "bench", "others", "node µs/tx"
        );
        let _ = writeln!(out, "{header}");
        for p in &self.phases {
            let mut line = format!("{:<9}", p.name);
            for (i, cpu) in p.node_cpu.iter().enumerate() {
                let cell = format!(
                    "{}% / {} / {}",
                    opt(p.cpu_percent(*cpu), 0),
                    p.mempool_max[i].map_or_else(|| "-".to_string(), |m| m.to_string()),
                    opt(p.rss_end[i].map(mib), 0)
                );
                let _ = write!(line, " {cell:>22}");
            }
            let _ = write!(
                line,
                " {:>6}% {:>6}% {:>12}",
                opt(p.cpu_percent(p.bench_cpu), 0),
                opt(p.cpu_percent(p.other_cpu), 0),
                opt(p.node_us_per_tx(), 0)
            );
            let _ = writeln!(out, "{line}");
        }
        let _ = writeln!(
            out,
            "\n{:<12} {:>8} {:>9} {:>10} {:>10} {:>8}",
            "node", "RSS MiB", "peak MiB", "disk MiB", "bytes/tx", "height"
        );
        for n in &self.nodes {
            let _ = writeln!(
                out,
                "{:<12} {:>8} {:>9} {:>10.1} {:>10} {:>8}",
                n.name,
                opt(n.rss.map(mib), 1),
                opt(n.peak_rss.map(mib), 1),
                mib(n.disk_end),
                opt(self.bytes_per_tx(n), 0),
                n.height.map_or_else(|| "-".to_string(), |h| h.to_string()),
            );
        }
        let _ = writeln!(
            out,
            "\n{} transactions final in {} blocks; bytes/tx = growth of the data directory since start / final transactions.",
            self.total_final_txs, self.total_blocks
        );
        if self.unfunded > 0 {
            let _ = writeln!(
                out,
                "{} customers sat out the transfer phases: their funding earn was not final in time.",
                self.unfunded
            );
        }
        if self.lagged_blocks > 0 {
            let _ = writeln!(
                out,
                "The event stream skipped {} blocks (fetched afterwards; their latencies are upper bounds).",
                self.lagged_blocks
            );
        }
        if self.foreign > 0 {
            let _ = writeln!(
                out,
                "{} final transactions were not sent by this run.",
                self.foreign
            );
        }
        if let Some(error) = &self.stream_error {
            let _ = writeln!(out, "The event stream stopped: {error}");
        }
        if let Some(path) = &self.kept {
            let _ = writeln!(out, "Network files kept in {}", path.display());
        }
        out
    }

    fn to_json(&self) -> Value {
        let phases: Vec<Value> = self
            .phases
            .iter()
            .map(|p| {
                json!({
                    "name": p.name,
                    "next_after": if p.one_at_a_time { "final" } else { "admitted" },
                    "busy_example": p.submit.busy_example,
                    "final_on_retry": p.submit.final_on_retry,
                    "offered_per_sec": p.offered_rate,
                    "window_secs": p.submit.window.as_secs_f64(),
                    "attempts": p.submit.attempts,
                    "sent_per_sec": p.submit.attempts as f64 / p.submit.window.as_secs_f64().max(1e-9),
                    "admitted": p.submit.accepted,
                    "busy": p.submit.busy,
                    "refused": p.submit.refused.iter().map(|(code, (count, message))| {
                        json!({"code": code, "count": count, "example": message})
                    }).collect::<Vec<_>>(),
                    "transport_errors": p.submit.transport,
                    "unsent": p.submit.unsent,
                    "final": p.finals,
                    "pending_after_drain": p.pending_after_drain,
                    "final_span_secs": p.final_span.map(|d| d.as_secs_f64()),
                    "committed_per_sec": p.committed_per_sec(),
                    "latency_ms": p.latency_ms.as_ref().map(|l| json!({
                        "p50": l.p50, "p99": l.p99, "max": l.max, "mean": l.mean,
                    })),
                    "blocks": p.blocks,
                    "max_block_txs": p.max_block_txs,
                    "elapsed_secs": p.elapsed.as_secs_f64(),
                    "node_cpu_percent": p.node_cpu.iter().map(|c| p.cpu_percent(*c)).collect::<Vec<_>>(),
                    "bench_cpu_percent": p.cpu_percent(p.bench_cpu),
                    "other_programs_cpu_percent": p.cpu_percent(p.other_cpu),
                    "node_cpu_us_per_final_tx": p.node_us_per_tx(),
                    "mempool_max": p.mempool_max,
                    "rss_bytes_end": p.rss_end,
                    "heights": p.heights.iter().map(|(a, b)| json!({"start": a, "end": b})).collect::<Vec<_>>(),
                    "head_failures": p.head_failures,
                })
            })
            .collect();
        let nodes: Vec<Value> = self
            .nodes
            .iter()
            .map(|n| {
                json!({
                    "name": n.name,
                    "rss_bytes": n.rss,
                    "peak_rss_bytes": n.peak_rss,
                    "disk_bytes_start": n.disk_start,
                    "disk_bytes": n.disk_end,
                    "disk_bytes_per_tx": self.bytes_per_tx(n),
                    "height": n.height,
                })
            })
            .collect();
        json!({
            "machine": {
                "cpus": self.machine.cpus,
                "cpu_model": self.machine.cpu_model,
                "memory_mib": self.machine.memory_mib,
            },
            "shops": self.shops,
            "customers": self.customers,
            "unfunded_customers": self.unfunded,
            "funding_points": self.funding_points,
            "cache_mb": self.cache_mb,
            "concurrency": self.concurrency,
            "verify_strict_one_core": {
                "per_sec": self.verify.per_sec,
                "verified": self.verify.verified,
                "secs": self.verify.seconds,
            },
            "phases": phases,
            "nodes": nodes,
            "total_final_txs": self.total_final_txs,
            "total_blocks": self.total_blocks,
            "foreign_txs": self.foreign,
            "lagged_blocks": self.lagged_blocks,
            "stream_error": self.stream_error,
            "kept": self.kept,
        })
    }
}
