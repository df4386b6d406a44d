//! Applying a block of 1,000 transfers over a state of 1,000,000 accounts,
//! with signature checks measured apart from state work; and, on the same
//! state, a block of 1,000 plain earns (manual grants) against a block of
//! 1,000 rule-computed sales (an earn rule with a category multiplier, a
//! running x2 campaign, customers in a tier), to price the programme's
//! state work per sale.
//!
//! Run: `cargo bench -p guild-ledger --bench apply_block`.
//! Set `GUILD_BENCH_ACCOUNTS` to change the state size (default 1,000,000).
#![allow(missing_docs)] // criterion's macros generate undocumented items

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use guild_ledger::hash::sha256;
use guild_ledger::programme::*;
use guild_ledger::types::{CampaignId, CampaignName, Category, Permille, TierName};
use guild_ledger::*;
use std::hint::black_box;

const TXS: usize = 1_000;
const T0: u64 = 1_767_225_600_000;

fn key(i: u64, salt: &str) -> Keypair {
    Keypair::from_secret(&sha256(&[salt.as_bytes(), &i.to_be_bytes()]).0)
}

struct Setup {
    chain_id: ChainId,
    state: State,
    parent: BlockHeader,
    block: Block,
    /// 1,000 earns by the shop to the senders.
    earns: Block,
    /// 1,000 sales by the shop to the senders.
    sales: Block,
}

fn category(name: &str) -> Category {
    Category::new(name).unwrap()
}

/// The programme records the sales meet: the shop's rule, tiers, a running
/// campaign, and each customer a record placing them in silver.
fn programme_entries(shop: &Address, customers: &[Keypair]) -> Vec<(StateKey, Vec<u8>)> {
    let rule = EarnRule {
        version: 1,
        effective: Height(0),
        spec: EarnRuleSpec {
            points: 1,
            per: Cents(10),
            min_spend: Cents(100),
            multipliers: vec![CategoryMultiplier {
                category: category("coffee"),
                multiplier: Permille(1500),
            }],
            excluded: vec![category("gift-card")],
            cap: Some(Points(5_000)),
            birthday: Points(0),
        },
    };
    let tiers = TierTable {
        window_days: 365,
        tiers: vec![Tier {
            name: TierName::new("silver").unwrap(),
            threshold: Points(500),
            multiplier: Permille(1250),
        }],
    };
    let programme = Programme {
        tiers,
        next_campaign: CampaignId(2),
        ..Programme::default()
    };
    let campaign = Campaign {
        id: CampaignId(1),
        publisher: *shop,
        spec: CampaignSpec {
            name: CampaignName::new("Double points").unwrap(),
            funders: vec![Share {
                shop: *shop,
                percent: 100,
            }],
            reward: Reward::Multiplier {
                multiplier: Permille(2000),
            },
            start: Timestamp(T0),
            end: Timestamp(T0 + 30 * 86_400_000),
            days: 0,
            hours: None,
            categories: vec![],
            tiers: vec![],
            first_purchase: false,
            min_spend: Cents(0),
            budget: Points(100_000_000),
            per_customer: None,
            holdout: Permille(0),
        },
        approvals: vec![*shop],
        spent: Points(0),
        stopped: None,
    };
    let yesterday = Timestamp(T0).day() - 1;
    let mut record = CustomerRecord::default();
    record.add_earned(yesterday, Points(600), 365).unwrap();
    let mut out = vec![
        (StateKey::Programme, encode(&programme)),
        (
            StateKey::Rules(*shop),
            encode(&ShopRules {
                current: Some(rule),
                next: None,
            }),
        ),
        (StateKey::Campaign(CampaignId(1)), encode(&campaign)),
    ];
    out.extend(
        customers
            .iter()
            .map(|k| (StateKey::Customer(k.address()), encode(&record))),
    );
    out
}

fn setup(accounts: u64) -> Setup {
    let shop = key(0, "shop");
    let genesis = Genesis {
        programme: Default::default(),
        chain_id: ChainId::new("bench-street").unwrap(),
        time: Timestamp(T0),
        members: vec![GenesisMember {
            name: ShopName::new("Bakery").unwrap(),
            address: shop.address(),
        }],
        params: Params::default(),
    };
    let (genesis_state, _) = genesis.build().unwrap();
    let lot = |amount| Lot {
        issuer: shop.address(),
        expires_at: Timestamp(T0 + 400 * 86_400_000),
        amount: Points(amount),
    };
    let account = encode(&Account {
        nonce: Nonce(0),
        lots: vec![lot(1_000)],
    });
    let senders: Vec<Keypair> = (0..TXS as u64).map(|i| key(i, "sender")).collect();
    let recipients: Vec<Keypair> = (0..TXS as u64).map(|i| key(i, "recipient")).collect();
    let mut entries = genesis_state.entries();
    // Filler accounts: arbitrary addresses (never touched by the block).
    let filler = accounts.saturating_sub(2 * TXS as u64);
    entries.extend((0..filler).map(|i| {
        (
            StateKey::Account(Address(sha256(&[&i.to_be_bytes()]).0)),
            account.clone(),
        )
    }));
    entries.extend(
        senders
            .iter()
            .chain(&recipients)
            .map(|k| (StateKey::Account(k.address()), account.clone())),
    );
    // The genesis Programme record is replaced by one with tiers.
    entries.retain(|(k, _)| *k != StateKey::Programme);
    entries.extend(programme_entries(&shop.address(), &senders));
    let state = State::from_entries(entries).unwrap();
    let parent = BlockHeader {
        height: Height(0),
        prev_hash: Hash::ZERO,
        time: Timestamp(T0),
        proposer: Address([0; 32]),
        tx_root: tx_root(&[]),
        state_root: state.root(),
    };
    let mut builder =
        BlockBuilder::new(&state, &parent, Timestamp(T0 + 1_000), shop.address()).unwrap();
    for (from, to) in senders.iter().zip(&recipients) {
        let tx = Transaction {
            author: from.address(),
            nonce: Nonce(0),
            body: TxBody::Transfer {
                to: to.address(),
                points: Points(7),
                memo: None,
            },
        }
        .sign(from, &genesis.chain_id)
        .verify(&genesis.chain_id)
        .unwrap();
        builder.push(tx).unwrap();
    }
    let block = builder.finish().block.into_block();
    let time = Timestamp(T0 + 1_000);
    let shop_tx = |nonce: usize, body: TxBody| {
        Transaction {
            author: shop.address(),
            nonce: Nonce(nonce as u64),
            body,
        }
        .sign(&shop, &genesis.chain_id)
        .verify(&genesis.chain_id)
        .unwrap()
    };
    let mut builder = BlockBuilder::new(&state, &parent, time, shop.address()).unwrap();
    for (i, to) in senders.iter().enumerate() {
        builder
            .push(shop_tx(
                i,
                TxBody::Earn {
                    customer: to.address(),
                    points: Points(300),
                    purchase: Some(Cents(1_250)),
                    receipt: ReceiptHash::new(&shop.address(), &format!("E{i}")),
                    reason: Memo::new("goodwill").unwrap(),
                },
            ))
            .unwrap();
    }
    let earns = builder.finish().block.into_block();
    let basket = Basket::new(
        Cents(1_250),
        vec![
            BasketLine {
                category: category("coffee"),
                amount: Cents(300),
            },
            BasketLine {
                category: category("gift-card"),
                amount: Cents(200),
            },
        ],
    );
    let mut builder = BlockBuilder::new(&state, &parent, time, shop.address()).unwrap();
    for (i, to) in senders.iter().enumerate() {
        // Each customer once: the state before the block gives every claim.
        let breakdown = state
            .sale_breakdown(&shop.address(), &to.address(), &basket, Height(1), time)
            .unwrap();
        assert_eq!(breakdown.total, Points(300));
        builder
            .push(shop_tx(
                i,
                TxBody::Sale {
                    customer: to.address(),
                    receipt: ReceiptHash::new(&shop.address(), &format!("S{i}")),
                    basket: basket.clone(),
                    claim: breakdown.claim(),
                },
            ))
            .unwrap();
    }
    let sales = builder.finish().block.into_block();
    Setup {
        chain_id: genesis.chain_id,
        state,
        parent,
        block,
        earns,
        sales,
    }
}

fn bench(c: &mut Criterion) {
    let accounts: u64 = std::env::var("GUILD_BENCH_ACCOUNTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let s = setup(accounts);
    let mut group = c.benchmark_group("apply_block");
    group.sample_size(10);

    group.bench_function(format!("verify_signatures/txs={TXS}"), |b| {
        b.iter_batched(
            || s.block.clone(),
            |block| black_box(block.verify_signatures(&s.chain_id).unwrap()),
            BatchSize::LargeInput,
        )
    });

    let verified = s.block.clone().verify_signatures(&s.chain_id).unwrap();
    group.bench_function(format!("state/txs={TXS},accounts={accounts}"), |b| {
        b.iter(|| black_box(s.state.apply_block(&s.parent, &verified).unwrap()))
    });

    let earns = s.earns.clone().verify_signatures(&s.chain_id).unwrap();
    group.bench_function(format!("state_earns/txs={TXS},accounts={accounts}"), |b| {
        b.iter(|| black_box(s.state.apply_block(&s.parent, &earns).unwrap()))
    });
    let sales = s.sales.clone().verify_signatures(&s.chain_id).unwrap();
    group.bench_function(format!("state_sales/txs={TXS},accounts={accounts}"), |b| {
        b.iter(|| black_box(s.state.apply_block(&s.parent, &sales).unwrap()))
    });

    group.bench_function("decode_block/txs=1000", |b| {
        let bytes = encode(&s.block);
        b.iter(|| black_box(decode::<Block>(&bytes).unwrap()))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
