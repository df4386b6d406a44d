//! `guild devnet`: a local network of shops on this machine, one real
//! `guild node` process per shop.
//!
//! The first run creates `DIR`: a genesis with N shops, each shop's wallet
//! (its member key, encrypted with the devnet passphrase in
//! `DIR/passphrase.txt`), each shop's till token (`till-token.txt`, scope
//! sale) and admin token (`admin-token.txt`, for `guild customer`), and
//! `DIR/devnet.json` describing every node ([`setup`]). Every run then
//! starts one `guild node` child process per shop on loopback, each with its
//! output in `DIR/<shop>/node.log`, prints a table of shops, pids and API
//! URLs, and supervises them ([`supervise`]): when a node stops (a shop
//! owner's `kill PID`, a crash) the devnet says so, how many shops the
//! network still has against the quorum, and the exact command that starts
//! that node again. It does not restart a node by itself: the devnet is
//! where a shop owner sees what happens when a shop's node goes down.
//! On the first run, once the nodes answer, each shop publishes its example
//! rules through its own node's API (the first few blocks).
//!
//! One devnet at a time per directory: `DIR/LOCK` ([`guild_os::lock`]) is
//! held while it runs, and each node holds its own data directory's lock.
//! Ctrl-C or SIGTERM stops the nodes (their standard input is closed, which
//! a node started by the devnet takes as its signal to stop, so they also
//! stop if the devnet itself is killed) and waits for them. Run again on
//! the same `DIR`, it resumes the same chain.

mod setup;
mod supervise;

pub use setup::SHOP_NAMES;

use anyhow::{Context, bail};
use clap::Args;
use guild_api::NodeClient;
use guild_ledger::crypto::Address;
use guild_node::GenesisFile;
use guild_os::durable::{self, Existing};
use guild_os::lock::{DirLock, LockError};
use guild_wallet::keystore::Keystore;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Options of `guild devnet`.
#[derive(Args)]
pub struct DevnetArgs {
    /// Number of member shops (first run only).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=12))]
    pub shops: u16,
    /// Directory holding the devnet (created on the first run).
    #[arg(long, default_value = "devnet")]
    pub dir: PathBuf,
    /// First TCP port: shop i listens for peers on PORT+i and serves its API
    /// on PORT+100+i (first run only).
    #[arg(long, default_value_t = 7600)]
    pub base_port: u16,
}

/// `DIR/devnet.json`.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct DevnetFile {
    chain_id: String,
    genesis: PathBuf,
    passphrase_file: PathBuf,
    nodes: Vec<DevnetNode>,
}

/// One shop's node in `devnet.json`.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct DevnetNode {
    name: String,
    address: Address,
    api: String,
    p2p: String,
    data: PathBuf,
    wallet: PathBuf,
    /// The node's process id while the devnet runs (`null` when stopped).
    #[serde(default)]
    pid: Option<u32>,
}

impl DevnetFile {
    fn path(dir: &Path) -> PathBuf {
        dir.join("devnet.json")
    }

    fn read(dir: &Path) -> anyhow::Result<DevnetFile> {
        let path = DevnetFile::path(dir);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is not a devnet description; use another --dir",
                path.display()
            )
        })
    }

    /// Writes `DIR/devnet.json` (atomically: a reader never sees half).
    fn save(&self, dir: &Path) -> anyhow::Result<()> {
        let path = DevnetFile::path(dir);
        durable::write_atomically(
            &path,
            serde_json::to_string_pretty(self)?.as_bytes(),
            Existing::Replace,
        )
        .with_context(|| format!("cannot write {}", path.display()))
    }

    fn passphrase(&self) -> anyhow::Result<String> {
        let text = std::fs::read_to_string(&self.passphrase_file)
            .with_context(|| format!("cannot read {}", self.passphrase_file.display()))?;
        Ok(text.trim_end().to_string())
    }
}

fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    std::path::absolute(path).with_context(|| format!("bad path {}", path.display()))
}

/// Takes `DIR/LOCK` for this devnet, or says which devnet holds it.
fn lock(dir: &Path) -> anyhow::Result<DirLock> {
    match DirLock::acquire(dir, "guild devnet") {
        Ok(lock) => Ok(lock),
        Err(error @ LockError::InUse { pid, .. }) => {
            let stop = match pid {
                Some(pid) => format!("Ctrl-C in its terminal, or `kill {pid}`"),
                None => "Ctrl-C in its terminal".to_string(),
            };
            bail!("{error}: it is running already; use it, or stop it first ({stop})")
        }
        Err(error) => Err(error.into()),
    }
}

/// Runs the devnet until a signal.
pub fn run(args: DevnetArgs, json: bool, log: &str) -> anyhow::Result<()> {
    let dir = absolute(&args.dir)?;
    let resumed = DevnetFile::path(&dir).exists();
    if !resumed
        && dir.exists()
        && std::fs::read_dir(&dir)?
            .any(|entry| entry.is_ok_and(|e| e.file_name() != guild_os::lock::LOCK_FILE))
    {
        bail!(
            "{} exists and is not a devnet (no devnet.json); choose an empty or new --dir",
            dir.display()
        );
    }
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create devnet directory {}", dir.display()))?;
    // Before anything is started or written: one devnet per directory.
    let _lock = lock(&dir)?;
    let mut file = if resumed {
        DevnetFile::read(&dir)?
    } else {
        setup::create(&args, &dir)?
    };
    let genesis = GenesisFile::read(&file.genesis)?;
    // Each shop's admin token (the directory, automations); devnets made
    // before them get it on their next start.
    for node in &file.nodes {
        setup::ensure_admin_token(node)?;
    }
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let mut nodes = supervise::Nodes::start(&file, log)?;
        nodes.wait_until_up(&file).await?;
        for (node, pid) in file.nodes.iter_mut().zip(nodes.pids()) {
            node.pid = Some(pid);
        }
        file.save(&dir)?;
        if !resumed {
            let passphrase = file.passphrase()?;
            let chain_id = genesis.genesis.chain_id.clone();
            let mut sent = Vec::new();
            for node in &file.nodes {
                let key = Keystore::open(&node.wallet)?
                    .unlock(&passphrase)?
                    .keypair(&node.name)?;
                let client = NodeClient::new(&node.api)?;
                let txs = setup::seed_shop(&client, &chain_id, &key, &node.name)
                    .await
                    .with_context(|| format!("cannot set up {}'s example rules", node.name))?;
                sent.extend(txs.into_iter().map(|tx| (client.clone(), tx, &node.name)));
            }
            for (client, tx, name) in &sent {
                client
                    .submit_and_wait(tx, &chain_id, Duration::from_secs(60))
                    .await
                    .with_context(|| format!("{name}'s example rules did not become final"))?;
            }
        }
        let height = match file.nodes.first() {
            Some(first) => NodeClient::new(&first.api)?.head().await?.height.0,
            None => 0,
        };
        if json {
            println!("{}", serde_json::to_string(&file)?);
        } else {
            print_howto(&file, &dir, resumed, height);
        }
        nodes.supervise(&file, json).await;
        for node in &mut file.nodes {
            node.pid = None;
        }
        file.save(&dir)?;
        eprintln!("stopped; run the same command again to resume this chain");
        Ok(())
    })
}

/// `path` relative to the current directory when it is inside it (for
/// commands a person copies), else as is.
fn shown(path: &Path) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| path.to_path_buf())
        .display()
        .to_string()
}

fn print_howto(file: &DevnetFile, dir: &Path, resumed: bool, height: u64) {
    let verb = if resumed { "resumed" } else { "created" };
    println!(
        "Guild devnet {} {verb} in {} with {} shops (height {height}). Ctrl-C stops it.",
        file.chain_id,
        shown(dir),
        file.nodes.len()
    );
    println!();
    println!("  {:<12} {:>7}  {:<24} data", "shop", "pid", "API");
    for node in &file.nodes {
        println!(
            "  {:<12} {:>7}  {:<24} {}",
            node.name,
            node.pid.map(|p| p.to_string()).unwrap_or_default(),
            node.api,
            shown(&node.data)
        );
    }
    println!();
    println!(
        "Each shop's node is its own `guild node` process; its output goes to {}.",
        shown(&dir.join("<shop>").join("node.log"))
    );
    if let Some(first) = file.nodes.first() {
        println!();
        println!(
            "Web console of the {}: {}/console/ (sign in with the token in {})",
            first.name,
            first.api,
            shown(&setup::admin_token_path(first))
        );
        println!();
        println!("Try it from another terminal:");
        let node = if first.api == "http://127.0.0.1:7700" {
            String::new()
        } else {
            format!(" --node {}", first.api)
        };
        println!(
            "  guild{node} status             # the network as the {}'s node sees it",
            first.name
        );
        println!("  curl {}/v1/head", first.api);
        println!("  curl {}/v1/members", first.api);
        println!(
            "  export GUILD_NODE={} GUILD_PASSPHRASE_FILE={}",
            first.api,
            shown(&file.passphrase_file)
        );
        println!("  curl {}/v1/programme", first.api);
        println!(
            "  curl -H \"Authorization: Bearer $(cat {})\" {}/v1/whoami",
            shown(&setup::till_token_path(first)),
            first.api
        );
        let admin = shown(&setup::admin_token_path(first));
        println!(
            "  guild customer add guild1… --name \"Mrs Lee\" --consent messages --token-file {admin}"
        );
        println!("  guild automation list --token-file {admin}");
        println!("  guild insights segments --shop {}", first.name);
    }
    let n = file.nodes.len();
    println!();
    if n < 4 {
        println!(
            "Note: with fewer than 4 shops every node must be up for blocks to become final (BFT needs n >= 3f+1 to tolerate f offline nodes)."
        );
    } else {
        let f = (n - 1) / 3;
        let example = file.nodes.get(1).or(file.nodes.first());
        println!(
            "The network keeps finalizing blocks with up to {f} node(s) stopped: try it with `kill {}` (the {}'s node), then `guild status`.",
            example
                .and_then(|e| e.pid)
                .map(|p| p.to_string())
                .unwrap_or_else(|| "PID".into()),
            example.map(|e| e.name.as_str()).unwrap_or("shop")
        );
    }
}
