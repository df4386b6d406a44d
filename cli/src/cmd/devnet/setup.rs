//! The devnet's first run: the genesis, each shop's wallet and tokens,
//! `DIR/devnet.json`, and the example programme each shop publishes once
//! its node is up (the first few blocks).

use super::{DevnetArgs, DevnetFile, DevnetNode};
use anyhow::Context;
use guild_api::{NodeClient, Scope};
use guild_ledger::crypto::Keypair;
use guild_ledger::genesis::{Genesis, GenesisMember, GenesisProgramme};
use guild_ledger::params::Params;
use guild_ledger::programme::{
    CampaignSpec, CategoryMultiplier, EarnRuleSpec, Locale, Reward, Share, Tier, TierTable,
    ZoneOffset,
};
use guild_ledger::tx::{SignedTransaction, Transaction, TxBody};
use guild_ledger::types::{
    CampaignName, Category, Cents, ChainId, MS_PER_DAY, Nonce, Permille, Points, ShopName,
    TierName, Timestamp,
};
use guild_node::GenesisFile;
use guild_node::tokens::TokenStore;
use guild_wallet::keystore::{KdfParams, Keystore};
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

fn random_hex(bytes: usize) -> anyhow::Result<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| anyhow::anyhow!("no randomness available: {e}"))?;
    Ok(hex::encode(buf))
}

/// Creates a new devnet in `dir` (which exists and is empty but for the
/// devnet's lock): passphrase, wallets, genesis, tokens, `devnet.json`.
pub fn create(args: &DevnetArgs, dir: &Path) -> anyhow::Result<DevnetFile> {
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
            pid: None,
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
    for node in &file.nodes {
        std::fs::create_dir_all(&node.data)
            .with_context(|| format!("cannot create {}", node.data.display()))?;
        let tokens = TokenStore::open(&node.data)?;
        let token = tokens.create("till-1", &[Scope::Sale])?;
        write_private(
            &till_token_path(node),
            format!("{}\n", token.secret.reveal()).as_bytes(),
        )?;
    }
    file.save(dir)?;
    Ok(file)
}

pub fn title(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

pub fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

/// Where a devnet shop's admin token (for `guild customer`, `guild
/// automation`; `--token-file`) is kept.
pub fn admin_token_path(node: &DevnetNode) -> PathBuf {
    node.wallet.parent().map_or_else(
        || PathBuf::from("admin-token.txt"),
        |d| d.join("admin-token.txt"),
    )
}

/// Makes the shop's `console` admin token and writes it to
/// `admin-token.txt`, unless that file exists.
pub fn ensure_admin_token(node: &DevnetNode) -> anyhow::Result<()> {
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
pub fn till_token_path(node: &DevnetNode) -> PathBuf {
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
/// Returns the transactions sent (not final yet: the caller waits for them
/// all together).
pub async fn seed_shop(
    client: &NodeClient,
    chain_id: &ChainId,
    key: &Keypair,
    name: &str,
) -> anyhow::Result<Vec<SignedTransaction>> {
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
    let start = client.account(&key.address()).await?.nonce.0;
    let mut signed = Vec::new();
    for (i, body) in bodies.into_iter().enumerate() {
        let tx = Transaction {
            author: key.address(),
            nonce: Nonce(start + i as u64),
            body,
        }
        .sign(key, chain_id);
        client.submit(&tx, None).await?;
        signed.push(tx);
    }
    Ok(signed)
}
