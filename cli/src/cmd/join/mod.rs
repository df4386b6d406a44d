//! `guild join`: a new shop joins a running network from its own machine.
//!
//! A shop is a member once the existing members vote it in on the ledger
//! (`AddMember`, docs/protocol.md §9); its node must reach theirs over the
//! network. This command walks a shop owner through it, one step after the
//! other, keeping everything in one folder (`--dir`) so that running it
//! again picks up where it stopped:
//!
//! 1. the network's genesis, from a member's file (`--genesis`) or its
//!    node (`--from URL`), copied to `DIR/genesis.json`;
//! 2. the shop's key: a new wallet `DIR/wallet.json` (a passphrase chosen
//!    as for `guild wallet new`), or an existing one (`--key FILE`);
//! 3. the node configuration `DIR/node.json` (data directory, genesis, key,
//!    listen and API addresses, peers: the genesis peers plus `--peer`), the
//!    file `guild node --config` starts from later;
//! 4. what the members must run to vote the shop in, printed to pass on;
//! 5. the node itself, started here with the shop's key: it follows the
//!    chain as an observer and starts voting by itself at the height the
//!    ledger makes it a member. A progress line says how far the vote has
//!    got; Ctrl-C stops it safely (run the command again to resume).
//!
//! Once a member, the node keeps running here (or stops with
//! `--stop-when-member`). The checks that need no I/O are in `plan.rs`.

mod plan;

use crate::Globals;
use crate::cmd::node::config::{self, NodeFile};
use crate::cmd::wallet::common::{Ctx, block_on, new_passphrase, pick_key, print_json};
use anyhow::{Context, bail};
use clap::Args;
use guild_api::NodeClient;
use guild_ledger::types::ShopName;
use guild_ledger::{Address, Keypair};
use guild_node::{GenesisFile, Multiaddr, Node, NodeConfig};
use guild_wallet::builder;
use guild_wallet::keystore::{KdfParams, Keystore};
use plan::{KnownMember, NodeProgress, Standing};
use serde_json::json;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use zeroize::Zeroizing;

/// Options of `guild join`.
#[derive(Args)]
#[command(
    after_help = "Run it again with the same --dir to resume: every step already done \
is kept. Afterwards, start the node with `guild node --config DIR/node.json`."
)]
pub struct JoinArgs {
    /// The shop's name on the ledger, e.g. Butcher.
    #[arg(long)]
    pub name: String,
    /// The folder for this shop's wallet, node configuration and data
    /// (created if missing; the same folder resumes an earlier run).
    #[arg(long)]
    pub dir: PathBuf,
    /// The network's genesis file, from a member shop (needed the first
    /// time, unless --from).
    #[arg(long, conflicts_with = "from")]
    pub genesis: Option<PathBuf>,
    /// The API of a member's node to fetch the genesis from, e.g.
    /// http://192.168.1.20:8700 (its own genesis peers are not served: add
    /// --peer).
    #[arg(long, value_name = "URL")]
    pub from: Option<String>,
    /// A member's node to connect to (repeatable), e.g.
    /// /ip4/192.168.1.20/tcp/4700, besides the genesis file's peers.
    #[arg(long)]
    pub peer: Vec<Multiaddr>,
    /// Address to listen on for peers (repeatable; default
    /// /ip4/0.0.0.0/tcp/4700 — open that port to the other shops).
    #[arg(long)]
    pub listen: Vec<Multiaddr>,
    /// Where the node's HTTP API listens (default 127.0.0.1:8700).
    #[arg(long)]
    pub api: Option<SocketAddr>,
    /// Use this existing wallet file's key instead of creating
    /// DIR/wallet.json.
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// Which key of the --key wallet (needed if it holds several).
    #[arg(long)]
    pub key_name: Option<String>,
    /// Do not look for peers on the local network (mDNS).
    #[arg(long)]
    pub no_mdns: bool,
    /// Give up if no peer can be reached in this many seconds.
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub connect_timeout: u64,
    /// Stop the node once the shop is a member (default: keep it running
    /// until Ctrl-C).
    #[arg(long)]
    pub stop_when_member: bool,
}

/// Where `guild join` keeps each thing in the folder.
struct Folder {
    dir: PathBuf,
    genesis: PathBuf,
    wallet: PathBuf,
    config: PathBuf,
}

impl Folder {
    fn new(dir: &Path) -> Folder {
        Folder {
            dir: dir.to_path_buf(),
            genesis: dir.join("genesis.json"),
            wallet: dir.join("wallet.json"),
            config: dir.join(config::FILE_NAME),
        }
    }
}

/// The shop's key: where it is kept, and its address.
struct KeyChoice {
    wallet: PathBuf,
    key_name: Option<String>,
    address: Address,
    /// Known already when the wallet was just created.
    passphrase: Option<Zeroizing<String>>,
}

/// Prints a step's heading and text (on stderr with `--json`, whose stdout
/// carries only the final answer).
struct Say {
    json: bool,
}

impl Say {
    fn line(&self, text: &str) {
        if self.json {
            eprintln!("{text}");
        } else {
            println!("{text}");
        }
    }
}

/// Runs `guild join`.
pub fn run(args: JoinArgs, globals: &Globals, log: &str) -> anyhow::Result<()> {
    // The node's own messages would drown the guidance: warnings only,
    // unless a log level was asked for.
    crate::init_logging(if log == "info" { "warn" } else { log });
    let say = Say { json: globals.json };
    let name = builder::parse_shop_name(&args.name)?;
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create the folder {}", args.dir.display()))?;
    let folder = Folder::new(&args.dir);
    let saved = match folder.config.exists() {
        true => Some(NodeFile::read(&folder.config)?),
        false => None,
    };
    let resuming = saved.is_some();
    if resuming {
        say.line(&format!(
            "Resuming the join set up in {} (delete the folder to start over).",
            folder.dir.display()
        ));
    }

    // 1. The genesis.
    let (genesis, current_members) = genesis_step(&args, &folder, &say)?;
    // 2. The key.
    let key = key_step(&args, globals, &folder, &name, saved.as_ref(), &say)?;
    let mut known: Vec<KnownMember> = genesis
        .genesis
        .members
        .iter()
        .map(|m| KnownMember {
            name: m.name.clone(),
            address: m.address,
        })
        .collect();
    if let Some(current) = current_members {
        known = current;
    }
    let standing = plan::check(&name, &key.address, &known, resuming)?;
    // 3. The node configuration.
    let node_file = config_step(&args, &folder, &genesis, &key, globals, saved.as_ref())?;
    node_file.write(&folder.config)?;
    say.line(&format!(
        "Node configuration: {} (start the node later with `guild node --config {}`).",
        folder.config.display(),
        folder.config.display()
    ));
    // 4. What the members must do.
    if standing == Standing::Candidate {
        say.line("");
        say.line(&plan::vote_instructions(
            &name,
            &key.address,
            known.len(),
            genesis.genesis.params.governance_delay,
        ));
        say.line("");
    }
    // 5. The node.
    let passphrase = match key.passphrase {
        Some(p) => p,
        None => Zeroizing::new(crate::passphrase::read(
            &format!("wallet {}", key.wallet.display()),
            node_file.passphrase_file.as_deref(),
        )?),
    };
    let file = Keystore::open(&key.wallet)?;
    let info = pick_key(&file, key.key_name.as_deref())?.clone();
    let keypair = file.unlock(&passphrase)?.keypair(info.name())?;
    drop(passphrase);
    run_until_member(
        &args, globals, &say, &name, &folder, node_file, genesis, keypair,
    )
}

/// Step 1: the genesis, kept as `DIR/genesis.json`; with `--from`, also
/// the member list the node there knows now.
fn genesis_step(
    args: &JoinArgs,
    folder: &Folder,
    say: &Say,
) -> anyhow::Result<(GenesisFile, Option<Vec<KnownMember>>)> {
    let kept = match folder.genesis.exists() {
        true => Some(GenesisFile::read(&folder.genesis)?),
        false => None,
    };
    let (given, members) = match (&args.genesis, &args.from) {
        (Some(path), _) => (Some(GenesisFile::read(path)?), None),
        (None, Some(url)) => {
            let (genesis, members) = fetch_genesis(url)?;
            (Some(genesis), Some(members))
        }
        (None, None) => (None, None),
    };
    let genesis = match (kept, given) {
        (Some(kept), Some(given)) => {
            if kept.genesis != given.genesis {
                bail!(
                    "{} was set up for network {} and the genesis given is {} network {}: \
                     use another --dir for another network",
                    folder.dir.display(),
                    kept.genesis.chain_id,
                    if kept.genesis.chain_id == given.genesis.chain_id {
                        "a different genesis of"
                    } else {
                        "for"
                    },
                    given.genesis.chain_id
                );
            }
            kept
        }
        (Some(kept), None) => kept,
        (None, Some(given)) => {
            let text = serde_json::to_string_pretty(&given).context("cannot encode the genesis")?;
            guild_os::durable::write_atomically(
                &folder.genesis,
                text.as_bytes(),
                guild_os::durable::Existing::Refuse,
            )
            .with_context(|| format!("cannot write {}", folder.genesis.display()))?;
            let founders = given.genesis.members.len();
            say.line(&format!(
                "Network {}: {founders} founding shop{}; genesis kept in {}.",
                given.genesis.chain_id,
                if founders == 1 { "" } else { "s" },
                folder.genesis.display()
            ));
            given
        }
        (None, None) => bail!(
            "which network? Give the genesis file a member shop sent you (--genesis FILE), \
             or the address of a member's node (--from http://HOST:8700)"
        ),
    };
    Ok((genesis, members))
}

/// `GET /v1/genesis` and `/v1/members` from a member's node.
fn fetch_genesis(url: &str) -> anyhow::Result<(GenesisFile, Vec<KnownMember>)> {
    let client = NodeClient::new(url)?;
    let unreachable = |e: guild_api::ClientError| {
        anyhow::anyhow!(
            "cannot fetch the genesis from {url}: {e} (is the member's node running, \
             and is its API open to this machine? Or ask for its genesis file and use --genesis)"
        )
    };
    let (genesis, members) = block_on(async {
        let genesis = client.genesis().await;
        let members = client.members().await;
        (genesis, members)
    })?;
    let genesis = genesis.map_err(unreachable)?;
    genesis
        .validate()
        .with_context(|| format!("the genesis served by {url} is not valid"))?;
    let members = members
        .map_err(unreachable)?
        .members
        .into_iter()
        .map(|m| KnownMember {
            name: m.name,
            address: m.address,
        })
        .collect();
    Ok((
        GenesisFile {
            genesis,
            peers: Vec::new(),
        },
        members,
    ))
}

/// A wallet key name for a shop name: lower case, letters and digits,
/// other characters as `-`.
fn key_name_for(name: &ShopName) -> String {
    let mut out: String = name
        .as_str()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .take(32)
        .collect();
    if out.trim_matches('-').is_empty() {
        out = "shop".into();
    }
    out
}

/// Step 2: the shop's key — `--key FILE`, the one an earlier run chose,
/// or a new wallet in the folder.
fn key_step(
    args: &JoinArgs,
    globals: &Globals,
    folder: &Folder,
    name: &ShopName,
    saved: Option<&NodeFile>,
    say: &Say,
) -> anyhow::Result<KeyChoice> {
    let existing = |wallet: PathBuf, key_name: Option<String>| -> anyhow::Result<KeyChoice> {
        let file = Keystore::open(&wallet)?;
        let info = pick_key(&file, key_name.as_deref())?;
        Ok(KeyChoice {
            address: info.address(),
            key_name: Some(info.name().to_string()),
            wallet,
            passphrase: None,
        })
    };
    if let Some(wallet) = &args.key {
        if let Some(saved_key) = saved.and_then(|s| s.key.as_ref())
            && absolute(saved_key) != absolute(wallet)
        {
            bail!(
                "{} was set up with the key in {}; to use another key, start over with another --dir",
                folder.dir.display(),
                saved_key.display()
            );
        }
        let choice = existing(absolute(wallet), args.key_name.clone())?;
        say.line(&format!(
            "The shop's key: {} in {}.",
            choice.address,
            wallet.display()
        ));
        return Ok(choice);
    }
    if let Some(saved_key) = saved.and_then(|s| s.key.clone()) {
        return existing(saved_key, saved.and_then(|s| s.key_name.clone()));
    }
    if folder.wallet.exists() {
        let choice = existing(folder.wallet.clone(), None)?;
        say.line(&format!(
            "The shop's key: {} in {} (made by an earlier run).",
            choice.address,
            folder.wallet.display()
        ));
        return Ok(choice);
    }
    let ctx = Ctx {
        json: globals.json,
        node: globals.node.clone(),
        wallet: folder.wallet.clone(),
        passphrase_file: globals.passphrase_file.clone(),
        key: None,
    };
    let passphrase = new_passphrase(&ctx)?;
    let mut keystore = Keystore::create(&folder.wallet, &passphrase, KdfParams::default(), false)?;
    let key_name = key_name_for(name);
    let address = keystore.generate(&key_name)?;
    keystore.save(&passphrase)?;
    say.line(&format!(
        "Created the shop's wallet {} with its key {address}.\n\
         Keep the passphrase safe, and back the key up with \
         `guild wallet export --wallet {} --out FILE`.",
        folder.wallet.display(),
        folder.wallet.display()
    ));
    Ok(KeyChoice {
        wallet: folder.wallet.clone(),
        key_name: Some(key_name),
        address,
        passphrase: Some(passphrase),
    })
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// A path inside the folder is written relative to it (the folder can be
/// moved); others absolute.
fn relative_to(dir: &Path, path: &Path) -> PathBuf {
    let (dir, path) = (absolute(dir), absolute(path));
    match path.strip_prefix(&dir) {
        Ok(inside) => inside.to_path_buf(),
        Err(_) => path,
    }
}

/// Step 3: the node configuration, from the options given now, else the
/// saved ones, else the defaults.
fn config_step(
    args: &JoinArgs,
    folder: &Folder,
    genesis: &GenesisFile,
    key: &KeyChoice,
    globals: &Globals,
    saved: Option<&NodeFile>,
) -> anyhow::Result<NodeFile> {
    let listen = match (&args.listen[..], saved) {
        ([], Some(saved)) => saved.listen.clone(),
        ([], None) => vec!["/ip4/0.0.0.0/tcp/4700".parse()?],
        (given, _) => given.to_vec(),
    };
    let api = args
        .api
        .or(saved.map(|s| s.api))
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8700)));
    let mut peers = saved.map(|s| s.peers.clone()).unwrap_or_default();
    for peer in &args.peer {
        if !peers.contains(peer) {
            peers.push(peer.clone());
        }
    }
    let mdns = !args.no_mdns && saved.is_none_or(|s| s.mdns);
    if peers.is_empty() && genesis.peers.is_empty() && !mdns {
        bail!(
            "no member's node to connect to: the genesis file lists no peers and no --peer \
             was given; add --peer /ip4/ADDRESS/tcp/4700 (ask a member shop for its node's address)"
        );
    }
    let passphrase_file = globals
        .passphrase_file
        .as_deref()
        .map(absolute)
        .or_else(|| saved.and_then(|s| s.passphrase_file.clone()));
    Ok(NodeFile {
        data: PathBuf::from("data"),
        genesis: PathBuf::from("genesis.json"),
        key: Some(relative_to(&folder.dir, &key.wallet)),
        key_name: key.key_name.clone(),
        passphrase_file,
        listen,
        api,
        peers,
        mdns,
    })
}

/// Step 5: runs the node with the shop's key until the ledger makes it a
/// member (and on, unless `--stop-when-member`).
#[allow(clippy::too_many_arguments)]
fn run_until_member(
    args: &JoinArgs,
    globals: &Globals,
    say: &Say,
    name: &ShopName,
    folder: &Folder,
    file: NodeFile,
    genesis: GenesisFile,
    keypair: Keypair,
) -> anyhow::Result<()> {
    let address = keypair.address();
    let peer_list: Vec<String> = genesis
        .peers
        .iter()
        .cloned()
        .chain(file.peers.iter().map(Multiaddr::to_string))
        .collect();
    let mut config = NodeConfig::new(folder.dir.join(&file.data), genesis, Some(keypair));
    config.listen = file.listen.clone();
    config.peers = file.peers.clone();
    config.api = file.api;
    config.mdns = file.mdns;
    let connect_timeout = Duration::from_secs(args.connect_timeout);
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let mut node = Node::start(config).await?;
        let api = format!("http://{}", node.api_addr());
        say.line(&format!(
            "The shop's node is running (API {api}); it follows the chain and starts voting \
             once {name} is a member. Ctrl-C stops it; run this command again to resume."
        ));
        let started = Instant::now();
        let mut ever_connected = false;
        let mut last_line = String::new();
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        let signal = crate::cmd::node::shutdown_signal();
        tokio::pin!(signal);
        let since = loop {
            tokio::select! {
                result = node.wait() => {
                    result?;
                    bail!("the node stopped before {name} became a member");
                }
                _ = &mut signal => {
                    node.shutdown().await?;
                    bail!(
                        "stopped before {name} became a member; nothing is lost: run the same \
                         `guild join` again to carry on"
                    );
                }
                _ = tick.tick() => {}
            }
            let view = node.handle().view();
            ever_connected |= view.peers > 0;
            if view.member == Some(address) {
                break view.state.member(&address).map(|m| m.since);
            }
            let in_step =
                view.peers > 0 && !view.syncing && view.head.height >= view.sync.best_peer_head;
            if in_step {
                // The name may have been taken since the genesis.
                if let Err(refused) =
                    plan::check(name, &address, &plan::members_of(&view.state), true)
                {
                    node.shutdown().await?;
                    return Err(refused.into());
                }
            }
            if !ever_connected && started.elapsed() >= connect_timeout {
                node.shutdown().await?;
                bail!(
                    "cannot reach any member's node in {} s (tried {}): check the addresses, that \
                     those nodes are running, and that their TCP port (4700 by default) is open to \
                     this machine (docs/consensus.md, \"Ports\"). Nothing is lost: fix it and run \
                     the same `guild join` again",
                    connect_timeout.as_secs(),
                    if peer_list.is_empty() {
                        "mDNS only".to_string()
                    } else {
                        peer_list.join(", ")
                    }
                );
            }
            let line = plan::progress_line(
                &NodeProgress {
                    height: view.head.height,
                    peers: view.peers,
                    in_step,
                },
                &plan::vote_progress(&view.state, &address),
            );
            if line != last_line {
                say.line(&format!("  … {line}"));
                last_line = line;
            }
        };
        let since_text = since
            .map(|h| format!(" since block {h}"))
            .unwrap_or_default();
        if globals.json {
            print_json(&json!({
                "name": name,
                "address": address,
                "member_since": since,
                "config": folder.config,
                "api": api,
            }))?;
        } else {
            say.line(&format!(
                "{name} is now a member of the network{since_text}: its node votes on every block. \
                 Run `guild status --node {api}` to see it.\n\
                 Start the node later with `guild node --config {}`.",
                folder.config.display()
            ));
        }
        if args.stop_when_member {
            node.shutdown().await?;
            return Ok(());
        }
        tokio::select! {
            result = node.wait() => result?,
            _ = &mut signal => node.shutdown().await?,
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_names_are_made_from_shop_names() {
        assert_eq!(key_name_for(&ShopName::new("Butcher").unwrap()), "butcher");
        assert_eq!(
            key_name_for(&ShopName::new("Tea & Cake 2").unwrap()),
            "tea---cake-2"
        );
    }

    #[test]
    fn paths_inside_the_folder_are_kept_relative() {
        let dir = Path::new("/srv/shop");
        assert_eq!(
            relative_to(dir, Path::new("/srv/shop/wallet.json")),
            PathBuf::from("wallet.json")
        );
        assert_eq!(
            relative_to(dir, Path::new("/home/me/keys.json")),
            PathBuf::from("/home/me/keys.json")
        );
    }
}
