//! Membership changes decided on the ledger change the validator set at the
//! height the ledger says.
//!
//! Four founding shops run member nodes; a fifth shop (Butcher) runs a node
//! with its own key while not a member (an observer that holds a key). The
//! founders vote it in with `Propose { AddMember }` and `Approve`
//! transactions; the ledger records the proposal as passed with an
//! `effective` height (`governance_delay` blocks after the block in which it
//! passed, docs/protocol.md §9). The test then checks, on real nodes:
//!
//! - before the change three running members of four finalize blocks (the
//!   governance transactions themselves go through with Florist down, with
//!   3-signature certificates), and Butcher's own transactions are refused;
//! - every node's member set (API snapshots, and the member sets each node
//!   stored per height) has 4 members for every block before `effective`
//!   and 5 from `effective` on, and every commit certificate verifies
//!   against exactly that set (so from `effective` on it needs 4 signers);
//! - from `effective` on the new member's node says it is a member, its
//!   precommits appear in certificates and it proposes blocks;
//! - with 5 members, killing two founders leaves 3 of 5 running, which is
//!   not a quorum: a pending transaction stays pending and no block is
//!   finalized (3 of 4 were enough before the change); restarting one of
//!   them makes that very transaction final, with a certificate that must
//!   include Butcher's precommit;
//! - all nodes hold the same blocks at the end.

mod common;

use common::*;
use guild_ledger::block::{FinalBlock, quorum};
use guild_ledger::crypto::{Address, Keypair};
use guild_ledger::tx::{GovernanceAction, SignedTransaction, TxBody};
use guild_ledger::types::{Height, Points, ProposalId, ReceiptHash, ShopName};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(60);
const BAKERY: usize = 0;
const CAFE: usize = 1;
const BOOKSHOP: usize = 2;
const FLORIST: usize = 3;
const BUTCHER: usize = 4;

/// How long three running members of five are watched for (not) finalizing.
const STALL: Duration = Duration::from_secs(15);

async fn assert_same_blocks(net: &Net, nodes: &[usize], up_to: u64) {
    for height in 1..=up_to {
        let mut hashes = BTreeMap::new();
        for &i in nodes {
            hashes.insert(i, net.block_hash(i, height).await);
        }
        let first = hashes.values().next().cloned().flatten();
        assert!(first.is_some(), "block {height} missing: {hashes:?}");
        assert!(
            hashes.values().all(|h| *h == first),
            "nodes disagree at height {height}: {hashes:?}"
        );
    }
}

/// Submits with `wait` and insists on `final`; returns the height.
async fn submit_final(net: &Net, i: usize, tx: &SignedTransaction) -> u64 {
    let (status, body) = net.submit(i, tx, true).await;
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("final")),
        "{body}\nnode {i} log:\n{}",
        tail(&net.logs(i), 30)
    );
    body["height"].as_u64().unwrap()
}

/// The final block at `height` on node `i`, as JSON and decoded from its
/// canonical `hex` (block and certificate exactly as the node stores them).
async fn block(net: &Net, i: usize, height: u64) -> (Value, FinalBlock) {
    let (status, json) = net
        .get(i, &format!("/v1/blocks/{height}"))
        .await
        .unwrap_or_else(|| panic!("node {i} does not answer"));
    assert_eq!(status, 200, "block {height} on node {i}: {json}");
    let bytes = hex::decode(json["hex"].as_str().unwrap()).unwrap();
    let decoded: FinalBlock = guild_ledger::codec::decode(&bytes).unwrap();
    (json, decoded)
}

/// The voters of a block's certificate, from the block's JSON.
fn signers(json: &Value) -> BTreeSet<String> {
    json["certificate"]["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["voter"].as_str().unwrap().to_string())
        .collect()
}

/// The member addresses in the state after node `i`'s head block (the set
/// that governs the next block) and that head's height, from
/// `/v1/members`, read between two equal head heights so both belong to
/// one state.
async fn members_after_head(net: &Net, i: usize) -> (u64, BTreeMap<String, Value>) {
    loop {
        let before = net.height(i).await.unwrap();
        let (status, list) = net.get(i, "/v1/members").await.unwrap();
        assert_eq!(status, 200, "{list}");
        let after = net.height(i).await.unwrap();
        if before == after {
            let members = list["members"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| (m["address"].as_str().unwrap().to_string(), m.clone()))
                .collect();
            return (after, members);
        }
    }
}

/// One snapshot of node `i` (`/v1/accounts/{a}/proof`): the head height and
/// the member set that certified the head block.
async fn members_at_head(net: &Net, i: usize, any: &Address) -> (u64, BTreeSet<String>) {
    let (status, proof) = net
        .get(i, &format!("/v1/accounts/{any}/proof"))
        .await
        .unwrap();
    assert_eq!(status, 200, "{proof}");
    let members = proof["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap().to_string())
        .collect();
    (proof["height"].as_u64().unwrap(), members)
}

async fn proposal(net: &Net, i: usize, id: u64) -> Value {
    let (status, list) = net.get(i, "/v1/proposals").await.unwrap();
    assert_eq!(status, 200, "{list}");
    list["proposals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"].as_u64() == Some(id))
        .cloned()
        .unwrap_or_else(|| panic!("proposal {id} not listed: {list}"))
}

/// Butcher issues 5 points to customer 1 (valid only once it is a member).
fn butcher_earn(net: &Net, butcher: &Keypair, nonce: u64, receipt: &str) -> SignedTransaction {
    net.sign(
        butcher,
        nonce,
        TxBody::Earn {
            reason: guild_ledger::Memo::new("goodwill").unwrap(),
            customer: customer(1).address(),
            points: Points(5),
            purchase: None,
            receipt: ReceiptHash::new(&butcher.address(), receipt),
        },
    )
}

fn set(keys: &[&Keypair]) -> BTreeSet<Address> {
    keys.iter().map(|k| k.address()).collect()
}

fn text(addresses: &BTreeSet<Address>) -> BTreeSet<String> {
    addresses.iter().map(Address::to_string).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_added_member_joins_the_validator_set_at_the_effective_height() {
    let started = Instant::now();
    let mut net = Net::new(4);
    let butcher = Keypair::from_secret(&[5; 32]);
    assert_eq!(net.add_keyed_node("Butcher", butcher.clone()), BUTCHER);
    net.start_all();
    for i in 0..5 {
        net.wait_height(i, 0, WAIT).await;
    }
    let founders: Vec<Keypair> = (0..4).map(|i| net.shop(i).clone()).collect();
    let old_set = set(&founders.iter().collect::<Vec<_>>());
    let mut all: Vec<&Keypair> = founders.iter().collect();
    all.push(&butcher);
    let new_set = set(&all);
    let butcher_text = butcher.address().to_string();
    let alice = customer(1).address();

    // A node started with a key that is not a member runs, as an observer.
    let (_, head) = net.get(BUTCHER, "/v1/head").await.unwrap();
    assert_eq!(head["member"], Value::Null, "{head}");
    assert!(
        net.logs(BUTCHER)
            .contains("not a member at the current height"),
        "{}",
        net.logs(BUTCHER)
    );
    for i in 0..5 {
        let (height, members) = members_after_head(&net, i).await;
        assert_eq!(height, 0);
        assert_eq!(
            members.keys().cloned().collect::<BTreeSet<_>>(),
            text(&old_set),
            "node {i}"
        );
    }
    // The ledger refuses Butcher's transactions as a shop.
    let (status, body) = net
        .submit(BAKERY, &butcher_earn(&net, &butcher, 0, "early"), false)
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "not_a_member", "{body}");

    // The governance transactions go through with Florist down: 3 running
    // members of 4 are a quorum before the change.
    net.kill(FLORIST);
    let propose = net.sign(
        &founders[BAKERY],
        net.nonce(BAKERY, &founders[BAKERY].address()).await,
        TxBody::Propose {
            action: GovernanceAction::AddMember {
                name: ShopName::new("Butcher").unwrap(),
                address: butcher.address(),
            },
        },
    );
    let proposed_at = submit_final(&net, BAKERY, &propose).await;
    let (status, list) = net.get(BAKERY, "/v1/proposals").await.unwrap();
    assert_eq!(status, 200);
    let id = list["proposals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["action"]["address"] == butcher_text.as_str())
        .unwrap_or_else(|| panic!("no proposal adds Butcher: {list}"))["id"]
        .as_u64()
        .unwrap();
    let p = proposal(&net, BAKERY, id).await;
    assert_eq!(p["status"], "open", "{p}");
    assert_eq!(p["created"].as_u64(), Some(proposed_at), "{p}");
    assert_eq!(
        (p["approving"].as_u64(), p["needed"].as_u64()),
        (Some(1), Some(3))
    );

    let approve = |shop: usize, nonce: u64| {
        net.sign(
            &founders[shop],
            nonce,
            TxBody::Approve {
                proposal: ProposalId(id),
            },
        )
    };
    let nonce = net.nonce(CAFE, &founders[CAFE].address()).await;
    let approved_at = submit_final(&net, CAFE, &approve(CAFE, nonce)).await;
    // Final on Cafe's node; Bakery's may commit it a moment later.
    net.wait_height(BAKERY, approved_at, WAIT).await;
    let p = proposal(&net, BAKERY, id).await;
    assert_eq!(p["approving"].as_u64(), Some(2), "{p}");
    assert_eq!(
        p["status"], "open",
        "two approvals of four do not pass: {p}"
    );
    let nonce = net.nonce(BOOKSHOP, &founders[BOOKSHOP].address()).await;
    let passed_at = submit_final(&net, BOOKSHOP, &approve(BOOKSHOP, nonce)).await;
    net.wait_height(BAKERY, passed_at, WAIT).await;

    // The ledger's rule: effective = the block it passed in + governance_delay.
    let p = proposal(&net, BAKERY, id).await;
    assert_eq!(p["status"], "passed", "{p}");
    let (_, params) = net.get(BAKERY, "/v1/params").await.unwrap();
    let delay = params["governance_delay"].as_u64().unwrap();
    assert!(delay >= 1, "{params}");
    let effective = p["effective"].as_u64().unwrap();
    assert_eq!(effective, passed_at + delay, "{p}");

    // Those blocks were certified by the three running founders alone.
    for height in proposed_at..=passed_at {
        let (json, _) = block(&net, BAKERY, height).await;
        let voters = signers(&json);
        assert!(voters.len() >= quorum(4), "block {height}: {voters:?}");
        assert!(
            voters.is_subset(&text(&set(&[
                &founders[BAKERY],
                &founders[CAFE],
                &founders[BOOKSHOP]
            ]))),
            "block {height}: {voters:?}"
        );
    }

    // Florist comes back and catches up; the chain is driven past the
    // effective height with earns, one block at a time, checking the member
    // set of every node at every step.
    net.start(FLORIST);
    net.wait_height(FLORIST, passed_at, WAIT).await;
    let mut bakery_nonce = net.nonce(BAKERY, &founders[BAKERY].address()).await;
    let mut receipt = 0;
    let mut head = passed_at;
    let mut butcher_earned_at = None;
    let mut butcher_proposed = false;
    loop {
        for i in 0..5 {
            net.wait_height(i, head, WAIT).await;
            let (h, members) = members_after_head(&net, i).await;
            // The state after block h governs block h + 1.
            let expected = if h + 1 >= effective {
                &new_set
            } else {
                &old_set
            };
            assert_eq!(
                members.keys().cloned().collect::<BTreeSet<_>>(),
                text(expected),
                "node {i} after block {h} (effective {effective})"
            );
            if let Some(m) = members.get(&butcher_text) {
                assert_eq!(m["since"].as_u64(), Some(effective), "{m}");
                assert_eq!(m["name"], "Butcher", "{m}");
            }
            let (h, members) = members_at_head(&net, i, &alice).await;
            let expected = if h >= effective { &new_set } else { &old_set };
            assert_eq!(members, text(expected), "node {i} at block {h}");
        }
        if head + 1 >= effective && butcher_earned_at.is_none() {
            // Butcher is a member in the state after `head`: its earn is
            // admitted and becomes final.
            let nonce = net.nonce(BUTCHER, &butcher.address()).await;
            let h = submit_final(&net, BUTCHER, &butcher_earn(&net, &butcher, nonce, "late")).await;
            assert!(h >= effective, "{h} < {effective}");
            butcher_earned_at = Some(h);
        }
        if head >= effective {
            let (json, _) = block(&net, BAKERY, head).await;
            butcher_proposed |= json["header"]["proposer"] == butcher_text.as_str();
        }
        if (head >= effective + 5 && butcher_proposed) || head >= effective + 15 {
            break;
        }
        receipt += 1;
        let earn = net.earn(BAKERY, bakery_nonce, &alice, 10, &format!("m-{receipt}"));
        bakery_nonce += 1;
        head = head.max(submit_final(&net, (receipt % 5) as usize, &earn).await);
    }
    assert!(
        butcher_proposed,
        "Butcher proposed none of blocks {effective}..={head}"
    );
    let (_, head_json) = net.get(BUTCHER, "/v1/head").await.unwrap();
    assert_eq!(head_json["member"], butcher_text.as_str(), "{head_json}");

    // Every certificate so far verifies against the set the ledger says
    // for its height, and Butcher's precommits appear from `effective` on.
    let mut butcher_signed = BTreeSet::new();
    for height in 1..=head {
        let expected = if height >= effective {
            &new_set
        } else {
            &old_set
        };
        for i in 0..5 {
            let (json, final_block) = block(&net, i, height).await;
            final_block
                .certificate
                .verify(&net.chain_id, &final_block.block.header, expected)
                .unwrap_or_else(|e| panic!("node {i}, block {height}: {e}"));
            let voters = signers(&json);
            assert!(
                voters.is_subset(&text(expected)),
                "block {height}: {voters:?}"
            );
            if voters.contains(&butcher_text) {
                assert!(height >= effective, "Butcher signed block {height}");
                butcher_signed.insert(height);
            }
        }
    }
    assert!(
        !butcher_signed.is_empty(),
        "no certificate of blocks {effective}..={head} holds Butcher's precommit"
    );

    // Five members need four precommits: with Bookshop and Florist down,
    // Bakery, Cafe and Butcher cannot finalize a waiting transaction.
    net.kill(BOOKSHOP);
    net.kill(FLORIST);
    let running = [BAKERY, CAFE, BUTCHER];
    let mut heights = BTreeMap::new();
    for i in running {
        heights.insert(i, net.height(i).await.unwrap());
    }
    let cafe_nonce = net.nonce(CAFE, &founders[CAFE].address()).await;
    let waiting = net.earn(CAFE, cafe_nonce, &alice, 7, "stalled");
    let (status, body) = net.submit(BAKERY, &waiting, false).await;
    assert_eq!(status, 202, "{body}");
    let id = body["id"].as_str().unwrap().to_string();
    let stall_start = Instant::now();
    while stall_start.elapsed() < STALL {
        tokio::time::sleep(Duration::from_millis(500)).await;
        for i in running {
            assert_eq!(
                net.height(i).await,
                Some(heights[&i]),
                "node {i} finalized a block with 3 of 5 members running"
            );
        }
        let (status, tx) = net.get(BAKERY, &format!("/v1/tx/{id}")).await.unwrap();
        assert_eq!(
            (status, tx["status"].as_str()),
            (200, Some("pending")),
            "{tx}"
        );
    }
    // They were trying: rounds went by at the next height.
    let mut rounds = Vec::new();
    for i in running {
        let (_, head) = net.get(i, "/v1/head").await.unwrap();
        rounds.push(head["round"].as_u64().unwrap());
    }
    assert!(rounds.iter().any(|&r| r >= 1), "rounds {rounds:?}");

    // A fourth member back: that very transaction becomes final, certified
    // by the four running members, Butcher included.
    net.start(FLORIST);
    let restarted = Instant::now();
    let final_at = loop {
        if let Some((200, tx)) = net.get(BAKERY, &format!("/v1/tx/{id}")).await
            && tx["status"] == "final"
        {
            break tx["height"].as_u64().unwrap();
        }
        assert!(
            restarted.elapsed() < WAIT,
            "not final with 4 of 5 members; Bakery log:\n{}",
            tail(&net.logs(BAKERY), 40)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let recovery = restarted.elapsed();
    // Every block from the stalled height up to that one (a restarted
    // proposer may first propose a block without it) is certified by
    // exactly the four running members: Butcher's precommit is needed.
    assert!(final_at > heights[&BAKERY], "{final_at}");
    let four = text(&set(&[
        &founders[BAKERY],
        &founders[CAFE],
        &founders[FLORIST],
        &butcher,
    ]));
    for height in heights[&BAKERY] + 1..=final_at {
        let (json, final_block) = block(&net, BAKERY, height).await;
        final_block
            .certificate
            .verify(&net.chain_id, &final_block.block.header, &new_set)
            .unwrap();
        assert_eq!(signers(&json), four, "block {height}");
    }

    // Bookshop catches up; every node holds the same chain.
    net.start(BOOKSHOP);
    let last = final_at;
    for i in 0..5 {
        net.wait_height(i, last, WAIT).await;
        assert_eq!(
            net.balance(i, &alice).await,
            10 * receipt + 5 + 7,
            "node {i}"
        );
    }
    assert_same_blocks(&net, &[0, 1, 2, 3, 4], last).await;

    // Each node's own record of the member set per height, read from its
    // store once stopped.
    for i in 0..5 {
        net.kill(i);
    }
    for i in 0..5 {
        let store = guild_store::Store::open(&net.nodes[i].data, 1 << 20).unwrap();
        for height in 1..=last {
            let expected = if height >= effective {
                &new_set
            } else {
                &old_set
            };
            assert_eq!(
                &store.members_at(Height(height)).unwrap(),
                expected,
                "node {i}, height {height}"
            );
        }
    }
    eprintln!(
        "effective {effective}, head {last}, Butcher signed {butcher_signed:?}, \
         recovered in {recovery:?}, total {:?}",
        started.elapsed()
    );
}
