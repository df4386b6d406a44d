//! Applying a block of 1,000 transfers over a state of 1,000,000 accounts,
//! with signature checks measured apart from state work.
//!
//! Run: `cargo bench -p guild-ledger --bench apply_block`.
//! Set `GUILD_BENCH_ACCOUNTS` to change the state size (default 1,000,000).
#![allow(missing_docs)] // criterion's macros generate undocumented items

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use guild_ledger::hash::sha256;
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
    Setup {
        chain_id: genesis.chain_id,
        state,
        parent,
        block,
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

    group.bench_function("decode_block/txs=1000", |b| {
        let bytes = encode(&s.block);
        b.iter(|| black_box(decode::<Block>(&bytes).unwrap()))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
