//! `guild devnet`: a local network of shops on this machine.
//!
//! The first run creates `DIR`: a genesis with N shops, each shop's wallet
//! (its member key, encrypted with the devnet passphrase in
//! `DIR/passphrase.txt`), each shop's till token (`till-token.txt`, scope
//! sale) and admin token (`admin-token.txt`, for `guild customer`), and
//! `DIR/devnet.json` describing every node. It
//! then starts the N member nodes on loopback, in this one process. Run
//! again on the same `DIR`, it resumes the same chain.

use super::node::shutdown_signal;
use anyhow::{Context, bail};
use clap::Args;
use guild_api::Scope;
use guild_ledger::crypto::Address;
use guild_ledger::crypto::Keypair;
use guild_ledger::genesis::{Genesis, GenesisMember, GenesisProgramme};
use guild_ledger::params::Params;
use guild_ledger::programme::{
    CampaignSpec, CategoryMultiplier, EarnRuleSpec, Locale, Reward, Share, Tier, TierTable,
    ZoneOffset,
};
use guild_ledger::tx::{Transaction, TxBody};
use guild_ledger::types::{
    CampaignName, Category, Cents, ChainId, MS_PER_DAY, Nonce, Permille, Points, ShopName,
    TierName, Timestamp,
};
use guild_node::tokens::TokenStore;
use guild_node::{GenesisFile, Multiaddr, Node, NodeConfig};
use guild_wallet::keystore::{KdfParams, Keystore};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The shops' names, in order (devnet and bench).
pub const SHOP_NAMES: [&str; 12] = [
    "bakery",
    "cafe",
    "bookshop",
    "florist",
    "butcher",
    "grocer",
    "deli",
    "tailor",
    "cobbler",
    "chemist",
    "cheesemonger",
    "ironmonger",
];

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
#[derive(serde::Serialize, serde::Deserialize)]
struct DevnetFile {
    chain_id: String,
    genesis: PathBuf,
    passphrase_file: PathBuf,
    nodes: Vec<DevnetNode>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct DevnetNode {
    name: String,
    address: Address,
    api: String,
    p2p: String,
    data: PathBuf,
    wallet: PathBuf,
}

fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    std::path::absolute(path).with_context(|| format!("bad path {}", path.display()))
}

fn random_hex(bytes: usize) -> anyhow::Result<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| anyhow::anyhow!("no randomness available: {e}"))?;
    Ok(hex::encode(buf))
}

fn create(args: &DevnetArgs, dir: &Path) -> anyhow::Result<DevnetFile> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create devnet directory {}", dir.display()))?;
    let passphrase = random_hex(16)?;
    let passphrase_file = dir.join("passphrase.txt");
    write_private(&passphrase_file, passphrase.as_bytes())?;
    let chain_id = format!("guild-devnet-{}", random_hex(3)?);
    let mut members = Vec::new();
    let mut nodes = Vec::new();
    for i in 0..args.shops {
        let name = SHOP_NAMES
            .get(i as usize)
            .map(|s| s.to_string())
            .unwrap_or_else(|| format!("shop-{i}"));
        let shop_dir = dir.join(&name);
        std::fs::create_dir_all(&shop_dir)?;
        let wallet = shop_dir.join("wallet.json");
        let mut keystore = Keystore::create(&wallet, &passphrase, KdfParams::default(), false)
            .with_context(|| format!("cannot create {name}'s wallet"))?;
        let address = keystore.generate(&name)?;
        keystore.save(&passphrase)?;
        members.push(GenesisMember {
            name: ShopName::new(&title(&name)).map_err(|e| anyhow::anyhow!("{e}"))?,
            address,
        });
        let p2p_port = args.base_port + i;
        let api_port = args.base_port + 100 + i;
        nodes.push(DevnetNode {
            name,
            address,
            api: format!("http://127.0.0.1:{api_port}"),
            p2p: format!("/ip4/127.0.0.1/tcp/{p2p_port}"),
            data: shop_dir.join("data"),
            wallet,
        });
    }
    let genesis = GenesisFile {
        genesis: Genesis {
            programme: example_programme()?,
            chain_id: ChainId::new(&chain_id).map_err(|e| anyhow::anyhow!("{e}"))?,
            time: guild_node::engine::now_ms(),
            members,
            params: Params::default(),
        },
        peers: Vec::new(),
    };
    let genesis_path = dir.join("genesis.json");
    std::fs::write(&genesis_path, serde_json::to_string_pretty(&genesis)?)?;
    let file = DevnetFile {
        chain_id,
        genesis: genesis_path,
        passphrase_file,
        nodes,
    };
    std::fs::write(
        dir.join("devnet.json"),
        serde_json::to_string_pretty(&file)?,
    )?;
    Ok(file)
}

fn title(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

/// Runs the devnet until a signal.
pub fn run(args: DevnetArgs, json: bool) -> anyhow::Result<()> {
    let dir = absolute(&args.dir)?;
    let description = dir.join("devnet.json");
    let (file, resumed) = if description.exists() {
        let text = std::fs::read_to_string(&description)
            .with_context(|| format!("cannot read {}", description.display()))?;
        let file: DevnetFile = serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is not a devnet description; use another --dir",
                description.display()
            )
        })?;
        (file, true)
    } else {
        if dir.exists() && std::fs::read_dir(&dir)?.next().is_some() {
            bail!(
                "{} exists and is not a devnet (no devnet.json); choose an empty or new --dir",
                dir.display()
            );
        }
        (create(&args, &dir)?, false)
    };
    let genesis = GenesisFile::read(&file.genesis)?;
    let passphrase = std::fs::read_to_string(&file.passphrase_file)
        .with_context(|| format!("cannot read {}", file.passphrase_file.display()))?;
    let passphrase = passphrase.trim_end().to_string();
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let mut configs = Vec::new();
        let mut keys = Vec::new();
        for node in &file.nodes {
            let key = Keystore::open(&node.wallet)?
                .unlock(&passphrase)?
                .keypair(&node.name)?;
            keys.push(key.clone());
            let mut config = NodeConfig::new(node.data.clone(), genesis.clone(), Some(key));
            let listen: Multiaddr = node.p2p.parse().context("bad p2p address in devnet.json")?;
            config.listen = vec![listen];
            config.peers = file
                .nodes
                .iter()
                .filter(|other| other.name != node.name)
                .filter_map(|other| other.p2p.parse().ok())
                .collect();
            let api = node.api.trim_start_matches("http://");
            config.api = api
                .parse::<SocketAddr>()
                .context("bad API address in devnet.json")?;
            config.mdns = false;
            config.cache_bytes = 16 * 1024 * 1024;
            configs.push(config);
        }
        let mut nodes = Vec::new();
        for (config, info) in configs.into_iter().zip(&file.nodes) {
            let node = Node::start(config)
                .await
                .with_context(|| format!("cannot start {}'s node", info.name))?;
            nodes.push(node);
        }
        if !resumed {
            for ((node, key), info) in nodes.iter().zip(&keys).zip(&file.nodes) {
                seed_shop(node, key, &info.name)
                    .await
                    .with_context(|| format!("cannot set up {}'s example rules", info.name))?;
                let tokens = TokenStore::open(&info.data)?;
                let token = tokens.create("till-1", &[Scope::Sale])?;
                write_private(
                    &till_token_path(info),
                    format!("{}\n", token.secret.reveal()).as_bytes(),
                )?;
            }
        }
        // Each shop's admin token (the directory, automations); devnets
        // made before them get it on their next start.
        for info in &file.nodes {
            ensure_admin_token(info)?;
        }
        let height = nodes
            .first()
            .map(|n| n.handle().view().head.height.0)
            .unwrap_or(0);
        if json {
            println!("{}", serde_json::to_string(&file)?);
        } else {
            print_howto(&file, &dir, resumed, height);
        }
        shutdown_signal().await;
        eprintln!("stopping the devnet…");
        for node in nodes {
            node.shutdown().await?;
        }
        eprintln!("stopped; run the same command again to resume this chain");
        Ok(())
    })
}

/// Where a devnet shop's admin token (for `guild customer`, `guild
/// automation`; `--token-file`) is kept.
fn admin_token_path(node: &DevnetNode) -> PathBuf {
    node.wallet.parent().map_or_else(
        || PathBuf::from("admin-token.txt"),
        |d| d.join("admin-token.txt"),
    )
}

/// Makes the shop's `console` admin token and writes it to
/// `admin-token.txt`, unless that file exists.
fn ensure_admin_token(node: &DevnetNode) -> anyhow::Result<()> {
    let path = admin_token_path(node);
    if path.exists() {
        return Ok(());
    }
    let tokens = TokenStore::open(&node.data)?;
    let taken: Vec<String> = tokens.list()?.into_iter().map(|t| t.name).collect();
    let name = std::iter::once("console".to_string())
        .chain((2..).map(|i| format!("console-{i}")))
        .find(|name| !taken.contains(name))
        .unwrap_or_else(|| "console".to_string());
    let token = tokens.create(&name, &[Scope::Admin])?;
    write_private(&path, format!("{}\n", token.secret.reveal()).as_bytes())
}

/// Where a devnet shop's till token is kept.
fn till_token_path(node: &DevnetNode) -> PathBuf {
    node.wallet.parent().map_or_else(
        || PathBuf::from("till-token.txt"),
        |d| d.join("till-token.txt"),
    )
}

/// The devnet's programme: pounds, London time (summer time 2026–2030),
/// silver and gold tiers.
fn example_programme() -> anyhow::Result<GenesisProgramme> {
    let tiers = TierTable {
        window_days: 365,
        tiers: vec![
            Tier {
                name: TierName::new("silver").map_err(|e| anyhow::anyhow!("{e}"))?,
                threshold: Points(500),
                multiplier: Permille(1250),
            },
            Tier {
                name: TierName::new("gold").map_err(|e| anyhow::anyhow!("{e}"))?,
                threshold: Points(2000),
                multiplier: Permille(1500),
            },
        ],
    };
    // UK summer time: from 01:00 UTC on the last Sunday of March to 01:00
    // UTC on the last Sunday of October.
    let changes: [(u64, i16); 10] = [
        (1_774_746_000_000, 60),
        (1_792_890_000_000, 0),
        (1_806_195_600_000, 60),
        (1_824_944_400_000, 0),
        (1_837_645_200_000, 60),
        (1_856_394_000_000, 0),
        (1_869_094_800_000, 60),
        (1_887_843_600_000, 0),
        (1_901_149_200_000, 60),
        (1_919_293_200_000, 0),
    ];
    Ok(GenesisProgramme {
        locale: Locale {
            zone: changes
                .iter()
                .map(|&(from, offset_minutes)| ZoneOffset {
                    from: Timestamp(from),
                    offset_minutes,
                })
                .collect(),
            ..Locale::default()
        },
        tiers,
    })
}

/// Publishes a new devnet shop's example earn rule (and the café's "double
/// points before 9" campaign), so the first sale has something to show.
async fn seed_shop(node: &Node, key: &Keypair, name: &str) -> anyhow::Result<()> {
    let category = |c: &str| Category::new(c).map_err(|e| anyhow::anyhow!("{e}"));
    let mut rule = EarnRuleSpec {
        points: 1,
        per: Cents(10),
        min_spend: Cents(0),
        multipliers: Vec::new(),
        excluded: vec![category("gift-card")?],
        cap: None,
        birthday: Points::ZERO,
    };
    match name {
        "bakery" => rule.birthday = Points(50),
        "cafe" => {
            rule.multipliers = vec![CategoryMultiplier {
                category: category("coffee")?,
                multiplier: Permille(2000),
            }]
        }
        "bookshop" => {
            rule.per = Cents(20);
            rule.cap = Some(Points(500));
        }
        _ => {}
    }
    let mut bodies = vec![TxBody::SetEarnRule {
        rule,
        effective: None,
    }];
    let now = guild_node::engine::now_ms();
    if name == "cafe" {
        bodies.push(TxBody::PublishCampaign {
            campaign: CampaignSpec {
                name: CampaignName::new("Double points before 9")
                    .map_err(|e| anyhow::anyhow!("{e}"))?,
                funders: vec![Share {
                    shop: key.address(),
                    percent: 100,
                }],
                reward: Reward::Multiplier {
                    multiplier: Permille(2000),
                },
                start: now,
                end: Timestamp(now.0 + 90 * MS_PER_DAY),
                days: 0,
                hours: Some((0, 9)),
                categories: Vec::new(),
                tiers: Vec::new(),
                first_purchase: false,
                min_spend: Cents(0),
                budget: Points(50_000),
                per_customer: None,
                holdout: Permille(0),
            },
        });
    }
    let handle = node.handle();
    let chain_id = handle.chain_id.clone();
    let start = handle
        .view()
        .state
        .account(&key.address())
        .map(|a| a.nonce.0)
        .unwrap_or(0);
    for (i, body) in bodies.into_iter().enumerate() {
        let tx = Transaction {
            author: key.address(),
            nonce: Nonce(start + i as u64),
            body,
        }
        .sign(key, &chain_id);
        handle.submit(tx, None).await?;
    }
    Ok(())
}

fn print_howto(file: &DevnetFile, dir: &Path, resumed: bool, height: u64) {
    let verb = if resumed { "resumed" } else { "created" };
    println!(
        "Guild devnet {} {verb} in {} with {} shops (height {height}). Ctrl-C stops it.",
        file.chain_id,
        dir.display(),
        file.nodes.len()
    );
    println!();
    println!("  {:<12} {:<24} wallet", "shop", "API");
    for node in &file.nodes {
        println!(
            "  {:<12} {:<24} {}",
            node.name,
            node.api,
            node.wallet.display()
        );
    }
    println!();
    if let Some(first) = file.nodes.first() {
        println!("Try it from another terminal:");
        println!("  curl {}/v1/head", first.api);
        println!("  curl {}/v1/members", first.api);
        println!(
            "  export GUILD_NODE={} GUILD_PASSPHRASE_FILE={}",
            first.api,
            file.passphrase_file.display()
        );
        println!("  curl {}/v1/programme", first.api);
        println!(
            "  curl -H \"Authorization: Bearer $(cat {})\" {}/v1/whoami",
            till_token_path(first).display(),
            first.api
        );
        let admin = admin_token_path(first);
        println!(
            "  guild customer add guild1… --name \"Mrs Lee\" --consent messages --token-file {}",
            admin.display()
        );
        println!("  guild automation list --token-file {}", admin.display());
        println!("  guild insights segments --shop {}", first.name);
    }
    if file.nodes.len() < 4 {
        println!();
        println!(
            "Note: with fewer than 4 shops every node must be up for blocks to become final (BFT needs n >= 3f+1 to tolerate f offline nodes)."
        );
    } else {
        let f = (file.nodes.len() - 1) / 3;
        println!();
        println!("The network keeps finalizing blocks with up to {f} node(s) stopped.");
    }
}
