//! The benchmark network: its genesis and wallets, the `guild node` child
//! processes, and waiting until they are connected.

use super::PASSPHRASE;
use super::load::shop_key;
use crate::cmd::devnet::SHOP_NAMES;
use anyhow::Context as _;
use anyhow::{anyhow, bail};
use guild_api::NodeClient;
use guild_ledger::genesis::{Genesis, GenesisMember};
use guild_ledger::params::Params;
use guild_ledger::types::{ChainId, ShopName, Timestamp};
use guild_os::clock::now_ms;
use guild_wallet::keystore::{KdfParams, Keystore};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

// ---- the network --------------------------------------------------------------------

/// One node of the benchmark network.
pub(super) struct NodeSpec {
    pub(super) name: String,
    pub(super) data: PathBuf,
    pub(super) wallet: PathBuf,
    pub(super) log: PathBuf,
    pub(super) p2p_port: u16,
    pub(super) api_port: u16,
}

impl NodeSpec {
    pub(super) fn api(&self) -> String {
        format!("http://127.0.0.1:{}", self.api_port)
    }
}

/// The running node processes; killed when dropped.
pub(super) struct Children(pub(super) Vec<Child>);

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
pub(super) enum Workdir {
    Temp(tempfile::TempDir),
    Kept(PathBuf),
}

impl Workdir {
    pub(super) fn path(&self) -> &Path {
        match self {
            Workdir::Temp(dir) => dir.path(),
            Workdir::Kept(path) => path,
        }
    }
}

pub(super) fn workdir(keep: Option<&Path>) -> anyhow::Result<Workdir> {
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
pub(super) fn free_ports(count: usize) -> anyhow::Result<Vec<u16>> {
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
pub(super) fn create_network(
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
        programme: Default::default(),
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

pub(super) fn start_nodes(
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

pub(super) fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Waits until every node answers `/v1/head` and sees all its peers.
pub(super) async fn wait_ready(
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
