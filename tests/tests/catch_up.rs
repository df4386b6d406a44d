//! Catch-up across many full blocks, from a member that has no quorum.
//!
//! A member's data directory is filled offline with a certified chain whose
//! first blocks together are far larger than one decoded message used to
//! be allowed (8 MiB), then that member is started alone (the three other
//! members stay down, so there is no consensus traffic at all) and a fresh
//! observer is pointed at it. The observer must learn the member's head
//! when they connect and fetch every block, whatever the size of a sync
//! answer.

mod common;

use common::*;
use guild_audit::fixture::ChainFixture;
use guild_ledger::codec;
use guild_ledger::genesis::Genesis;
use guild_ledger::tx::TxBody;
use guild_ledger::types::{Memo, Points, ReceiptHash, Timestamp};
use guild_node::store::Store;
use std::time::Duration;

/// Blocks of transfers in the prepared chain (after one block of earns).
const TRANSFER_BLOCKS: u64 = 6;
/// Blocks in the prepared chain.
const BLOCKS: u64 = TRANSFER_BLOCKS + 1;
/// Transfers per block (the default `max_block_txs`), each with a memo of
/// the longest length, so few transactions make many bytes.
const TXS_PER_BLOCK: u64 = 5_000;
/// Customers, each funded by one earn.
const CUSTOMERS: u64 = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_observer_catches_up_over_many_full_blocks_from_a_lone_member() {
    guild_bin(); // built (or found) before the clock starts
    let mut net = Net::new(4);
    let genesis: Genesis =
        serde_json::from_str(&std::fs::read_to_string(&net.genesis).unwrap()).unwrap();
    let keys: Vec<_> = net.nodes.iter().map(|n| n.key.clone().unwrap()).collect();
    let shop = keys[0].clone();
    let customers: Vec<_> = (0..CUSTOMERS as u8).map(customer).collect();
    let memo = Memo::new(&"m".repeat(140)).unwrap();

    // The chain, written to the bakery's data directory as its node would.
    let mut bytes_in_first_64 = 0usize;
    let started = std::time::Instant::now();
    {
        let mut fixture = ChainFixture::new(
            genesis.clone(),
            keys.clone(),
            Store::open(&net.nodes[0].data, 16 * 1024 * 1024).unwrap(),
        )
        .unwrap();
        let earns: Vec<_> = customers
            .iter()
            .enumerate()
            .map(|(n, customer)| {
                fixture.sign(
                    &shop,
                    TxBody::Earn {
                        reason: guild_ledger::Memo::new("goodwill").unwrap(),
                        customer: customer.address(),
                        points: Points(1_000),
                        purchase: None,
                        receipt: ReceiptHash::new(&shop.address(), &format!("R-{n}")),
                    },
                )
            })
            .collect();
        let earned = fixture.block(Timestamp(genesis.time.0 + 1), earns).unwrap();
        bytes_in_first_64 += codec::encode(&earned).len();
        for block in 0..TRANSFER_BLOCKS {
            // Customer n sends one point to customer n + 1, round and round.
            let txs: Vec<_> = (0..TXS_PER_BLOCK)
                .map(|i| {
                    let n = (i % CUSTOMERS) as usize;
                    let to = customers[(n + 1) % CUSTOMERS as usize].address();
                    fixture.sign(
                        &customers[n],
                        TxBody::Transfer {
                            to,
                            points: Points(1),
                            memo: Some(memo.clone()),
                        },
                    )
                })
                .collect();
            let time = Timestamp(genesis.time.0 + 2 + block);
            let final_block = fixture.block(time, txs).unwrap();
            bytes_in_first_64 += codec::encode(&final_block).len();
        }
    }
    // What the test is about: one sync answer (up to 64 blocks) is larger
    // than the old decoder limit.
    assert!(
        bytes_in_first_64 > 8 * 1024 * 1024,
        "the prepared chain is only {bytes_in_first_64} bytes"
    );

    eprintln!(
        "chain of {BLOCKS} blocks prepared in {:?}",
        started.elapsed()
    );
    net.start(0);
    assert_eq!(
        net.wait_height(0, BLOCKS, Duration::from_secs(30)).await,
        BLOCKS,
        "the bakery did not start on its prepared chain:\n{}",
        tail(&net.logs(0), 30)
    );
    eprintln!("bakery started at {:?}", started.elapsed());
    let observer = net.add_observer();
    net.start(observer);
    let reached = net
        .wait_height(observer, BLOCKS, Duration::from_secs(90))
        .await;
    assert_eq!(
        reached,
        BLOCKS,
        "the observer stopped at {reached}:\n{}",
        tail(&net.logs(observer), 30)
    );
    eprintln!("observer caught up at {:?}", started.elapsed());
    assert_eq!(
        net.block_hash(observer, BLOCKS).await,
        net.block_hash(0, BLOCKS).await
    );
    // Every customer sent and received as many points as the others.
    for customer in [&customers[0], &customers[57]] {
        assert_eq!(net.balance(observer, &customer.address()).await, 1_000);
        assert_eq!(
            net.nonce(observer, &customer.address()).await,
            TRANSFER_BLOCKS * TXS_PER_BLOCK / CUSTOMERS
        );
    }
    // Caught up, nothing left to report.
    let (_, head) = net.get(observer, "/v1/head").await.unwrap();
    assert_eq!(head["sync"]["problem"], serde_json::Value::Null, "{head}");
    assert_eq!(head["sync"]["best_peer_head"], BLOCKS, "{head}");
}
