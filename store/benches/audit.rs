//! `guild audit verify` speed beside the all-core `verify_strict` rate of
//! the same transactions, measured in the same run (docs/performance.md,
//! "Audit verify").
//!
//! Builds a chain of transfers offline (certified by 4 members), stores it
//! in a temporary data directory as a node would, then times:
//!
//! - `audit::verify_strict/all_cores`: every transaction signature of the
//!   chain checked on all cores (rayon), nothing else — the ceiling;
//! - `audit::verify/txs=N,block_txs=B`: the full audit from the data
//!   directory (reads, decoding, signatures, certificates, state
//!   transitions and roots, final state comparison);
//! - `audit::phase/…`: each phase of a replay alone on one core, per
//!   transaction (where the time goes).
//!
//! Run: `cargo bench -p guild-store --bench audit`. `GUILD_BENCH_TXS`
//! (default 100000) sets the number of transfers, `GUILD_BENCH_BLOCK_TXS`
//! (default 1000) the transactions per block, `GUILD_BENCH_WINDOW_BYTES`
//! the audit's window size (`VerifyOptions::window_bytes`).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use guild_audit::fixture::ChainFixture;
use guild_audit::{VerifyOptions, verify_chain};
use guild_ledger::*;
use guild_store::{Store, StoreSource};
use rayon::prelude::*;
use std::time::Instant;

const T0: u64 = 1_767_225_600_000;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn key(n: u64, salt: &str) -> Keypair {
    Keypair::from_secret(&hash::sha256(&[salt.as_bytes(), &n.to_be_bytes()]).0)
}

fn main() {
    let total = env("GUILD_BENCH_TXS", 100_000);
    let per_block = env("GUILD_BENCH_BLOCK_TXS", 1_000).clamp(1, 5_000);
    let cores = rayon::current_num_threads();
    println!("audit bench: {total} transfers in blocks of {per_block}, {cores} cores");

    // Chain: 4 shops; block 1 gives each of `per_block` customers 1000
    // points; then blocks of transfers, each customer sending 1 point to
    // the next one.
    let shops: Vec<Keypair> = (1..=4u8).map(|i| Keypair::from_secret(&[i; 32])).collect();
    let genesis = Genesis {
        programme: Default::default(),
        chain_id: ChainId::new("bench-street").unwrap(),
        time: Timestamp(T0),
        members: shops
            .iter()
            .enumerate()
            .map(|(i, k)| GenesisMember {
                name: ShopName::new(&format!("Shop{i}")).unwrap(),
                address: k.address(),
            })
            .collect(),
        params: Params::default(),
    };
    let customers: Vec<Keypair> = (0..per_block as u64).map(|i| key(i, "customer")).collect();
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let store = Store::open(dir.path(), 16 * 1024 * 1024).unwrap();
    let mut chain = ChainFixture::new(genesis.clone(), shops.clone(), store).unwrap();
    let earns: Vec<SignedTransaction> = customers
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let shop = &shops[i % 4];
            chain.sign(
                shop,
                TxBody::Earn {
                    reason: guild_ledger::Memo::new("goodwill").unwrap(),
                    customer: c.address(),
                    points: Points(1_000),
                    purchase: None,
                    receipt: ReceiptHash::new(&shop.address(), &format!("r{i}")),
                },
            )
        })
        .collect();
    let mut time = T0 + 1_000;
    chain.block(Timestamp(time), earns).unwrap();
    let blocks = total.div_ceil(per_block);
    for b in 0..blocks as u64 {
        let n = per_block.min(total - b as usize * per_block);
        let txs: Vec<SignedTransaction> = (0..n)
            .into_par_iter()
            .map(|i| {
                let from = &customers[i];
                Transaction {
                    author: from.address(),
                    nonce: Nonce(b),
                    body: TxBody::Transfer {
                        to: customers[(i + 1) % customers.len()].address(),
                        points: Points(1),
                        memo: None,
                    },
                }
                .sign(from, &genesis.chain_id)
            })
            .collect();
        time += 1_000;
        chain.block(Timestamp(time), txs).unwrap();
    }
    let height = chain.height();
    let store = chain.sink().clone();
    let all: Vec<SignedTransaction> = (1..=height.0)
        .flat_map(|h| store.block(Height(h)).unwrap().unwrap().block.txs)
        .collect();
    let txs = all.len();
    drop(store);
    drop(chain);
    println!(
        "built {txs} transactions in {} blocks in {:.1} s",
        height.0,
        started.elapsed().as_secs_f64()
    );

    // Where a replay's time goes, each phase alone on one core.
    {
        let store = Store::open(dir.path(), 64 << 20).unwrap();
        let per_tx = |t: Instant| t.elapsed().as_secs_f64() * 1e6 / txs as f64;
        let t = Instant::now();
        let raw: Vec<Vec<u8>> = (1..=height.0)
            .map(|h| store.block_bytes(Height(h)).unwrap().unwrap())
            .collect();
        println!("audit::phase/read_store: {:.2} µs/tx", per_tx(t));
        let t = Instant::now();
        let decoded: Vec<FinalBlock> = raw.iter().map(|b| decode(b).unwrap()).collect();
        println!("audit::phase/decode: {:.2} µs/tx", per_tx(t));
        let t = Instant::now();
        let verified: Vec<VerifiedBlock> = decoded
            .into_iter()
            .map(|b| b.block.verify_signatures(&genesis.chain_id).unwrap())
            .collect();
        println!(
            "audit::phase/verify_strict_one_core: {:.2} µs/tx",
            per_tx(t)
        );
        let (mut state, mut parent) = genesis.build().unwrap();
        let t = Instant::now();
        for block in &verified {
            let applied = state.apply_block(&parent, block).unwrap();
            parent = applied.block.header().clone();
            state = applied.state;
        }
        println!("audit::phase/apply_block: {:.2} µs/tx", per_tx(t));
    }

    let mut best_sig = 0f64;
    let mut best_audit = 0f64;
    for _ in 0..3 {
        let copies = all.clone();
        let t = Instant::now();
        let ok = copies
            .into_par_iter()
            .map(|tx| tx.verify(&genesis.chain_id).is_ok())
            .filter(|ok| *ok)
            .count();
        let rate = txs as f64 / t.elapsed().as_secs_f64();
        assert_eq!(ok, txs);
        best_sig = best_sig.max(rate);

        let t = Instant::now();
        let mut source = StoreSource::open(dir.path()).unwrap();
        let options = VerifyOptions {
            window_bytes: env(
                "GUILD_BENCH_WINDOW_BYTES",
                VerifyOptions::default().window_bytes,
            ),
            ..VerifyOptions::default()
        };
        let summary = verify_chain(&genesis, &mut source, &options, &mut (), &mut |_| {}).unwrap();
        let rate = summary.transactions as f64 / t.elapsed().as_secs_f64();
        assert_eq!(summary.transactions as usize, txs);
        best_audit = best_audit.max(rate);
    }
    println!("audit::verify_strict/all_cores,txs={txs}: {best_sig:.0} tx/s (best of 3)");
    println!(
        "audit::verify/txs={txs},block_txs={per_block}: {best_audit:.0} tx/s (best of 3) = {:.0}% of the all-core verify_strict rate",
        100.0 * best_audit / best_sig
    );
}
