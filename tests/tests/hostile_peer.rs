//! A hostile peer on the gossip network: messages with bad signatures, from
//! another chain, oversized or malformed are dropped without panicking, and
//! the peer that sends them is penalized (strikes, then a block).
//!
//! Four real `guild node` processes run on loopback. The test process is a
//! fifth, hostile libp2p peer speaking the nodes' own gossipsub dialect
//! (anonymous messages named by the hash of their bytes, the chain's topic)
//! so that node 0 accepts its frames at the protocol level and has to judge
//! what they carry. It connects to node 0 only and publishes, one message at
//! a time: garbage bytes, a transaction with a tampered signature, a
//! transaction signed for another chain, a vote for a later height whose
//! signature is not the claimed voter's, a message larger than the nodes' gossip limit and an
//! empty transaction batch. Node 0 must log each strike with its reason,
//! block the peer after the fifth, refuse its re-dial, and the network must
//! still finalize a valid transaction on all four nodes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use futures::StreamExt;
use guild_ledger::block::{Vote, VoteKind};
use guild_ledger::crypto::Keypair;
use guild_ledger::tx::{SignedTransaction, Transaction, TxBody};
use guild_ledger::types::{ChainId, Height, Nonce, Points, ReceiptHash};
use guild_node::consensus::SignedVote;
use guild_node::p2p::{self, MAX_GOSSIP_BYTES};
use guild_node::wire::{self, ConsensusMessage, Envelope, Gossip};
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, PeerId, Swarm, gossipsub, identity, noise, tcp, yamux};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(60);
/// How long node 0 gets to log its verdict on one hostile message.
const VERDICT: Duration = Duration::from_secs(30);

/// The hostile peer: a bare gossipsub swarm configured like a node's.
struct Hostile {
    swarm: Swarm<gossipsub::Behaviour>,
    topic: gossipsub::IdentTopic,
    /// Node 0's peer id and address.
    target: PeerId,
    address: Multiaddr,
    publication: u64,
    /// Node 0 told us it is subscribed to the chain's topic.
    target_subscribed: bool,
    /// Connections to node 0 that closed, and dials of it that failed.
    closed: u32,
    dial_failures: u32,
}

impl Hostile {
    fn new(chain_id: &ChainId, target: PeerId, address: Multiaddr) -> Hostile {
        let topic = p2p::topic(chain_id);
        let config = gossipsub::ConfigBuilder::default()
            // Larger than the nodes' limit, so this peer can send what
            // they must refuse.
            .max_transmit_size(2 * MAX_GOSSIP_BYTES)
            .validation_mode(gossipsub::ValidationMode::Anonymous)
            .message_id_fn(|message: &gossipsub::Message| {
                gossipsub::MessageId::new(guild_ledger::hash::sha256(&[&message.data]).as_bytes())
            })
            .heartbeat_interval(Duration::from_millis(500))
            .flood_publish(true)
            .build()
            .expect("gossipsub config");
        let behaviour =
            gossipsub::Behaviour::new(gossipsub::MessageAuthenticity::Anonymous, config)
                .expect("gossipsub behaviour");
        let key = identity::Keypair::ed25519_from_bytes([0xEE; 32]).expect("hostile key");
        let mut swarm = libp2p::SwarmBuilder::with_existing_identity(key)
            .with_tokio()
            .with_tcp(
                tcp::Config::default().nodelay(true),
                noise::Config::new,
                yamux::Config::default,
            )
            .expect("tcp transport")
            .with_behaviour(|_| behaviour)
            .expect("swarm behaviour")
            .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(120)))
            .build();
        swarm
            .behaviour_mut()
            .subscribe(&topic)
            .expect("subscribe to the chain's topic");
        Hostile {
            swarm,
            topic,
            target,
            address,
            publication: 1,
            target_subscribed: false,
            closed: 0,
            dial_failures: 0,
        }
    }

    fn peer_id(&self) -> PeerId {
        *self.swarm.local_peer_id()
    }

    fn connected(&self) -> bool {
        self.swarm.is_connected(&self.target)
    }

    fn dial(&mut self) {
        self.swarm
            .dial(self.address.clone())
            .expect("dialling node 0 starts");
    }

    /// Drops the connection to node 0 and connects again.
    async fn reconnect(&mut self) {
        let _ = self.swarm.disconnect_peer_id(self.target);
        let down = self.pump_until(VERDICT, |h| !h.connected()).await;
        assert!(down, "the hostile peer could not disconnect");
        self.target_subscribed = false;
        self.dial();
        let up = self
            .pump_until(VERDICT, |h| h.connected() && h.target_subscribed)
            .await;
        assert!(up, "node 0 did not take the hostile peer back in");
    }

    /// Drives the swarm (which is what sends published messages) for `time`.
    async fn pump(&mut self, time: Duration) {
        let deadline = tokio::time::Instant::now() + time;
        while let Ok(event) = tokio::time::timeout_at(deadline, self.swarm.select_next_some()).await
        {
            match event {
                SwarmEvent::Behaviour(gossipsub::Event::Subscribed { peer_id, topic })
                    if peer_id == self.target && topic == self.topic.hash() =>
                {
                    self.target_subscribed = true;
                }
                SwarmEvent::ConnectionClosed { peer_id, .. } if peer_id == self.target => {
                    self.closed += 1;
                }
                SwarmEvent::OutgoingConnectionError { .. } => self.dial_failures += 1,
                _ => {}
            }
        }
    }

    /// Drives the swarm until `done` holds or `limit` passes; whether it held.
    async fn pump_until(
        &mut self,
        limit: Duration,
        mut done: impl FnMut(&Hostile) -> bool,
    ) -> bool {
        let start = Instant::now();
        while start.elapsed() < limit {
            if done(self) {
                return true;
            }
            self.pump(Duration::from_millis(100)).await;
        }
        done(self)
    }

    /// Publishes raw bytes as one gossip message.
    fn publish_bytes(&mut self, bytes: Vec<u8>) {
        self.swarm
            .behaviour_mut()
            .publish(self.topic.clone(), bytes)
            .expect("the hostile peer can publish to node 0");
    }

    /// Publishes `message` in an envelope with a fresh publication number
    /// (so no two messages share a gossipsub id).
    fn publish(&mut self, message: Gossip) {
        self.publication += 1;
        let bytes = wire::encode(&Envelope {
            publication: self.publication,
            message,
        });
        self.publish_bytes(bytes);
    }
}

/// Node 0's log lines saying it penalized `peer` for a reason containing
/// `reason`.
fn strikes(net: &Net, peer: &PeerId, reason: &str) -> usize {
    let peer = peer.to_string();
    net.logs(0)
        .lines()
        .filter(|l| l.contains("peer sent an invalid message"))
        .filter(|l| l.contains(&peer) && l.contains(reason))
        .count()
}

/// Publishes one hostile message and waits for node 0 to penalize it.
async fn send_and_expect_strike(hostile: &mut Hostile, net: &Net, message: Gossip, reason: &str) {
    hostile.publish(message);
    let peer = hostile.peer_id();
    let struck = hostile
        .pump_until(VERDICT, |_| strikes(net, &peer, reason) > 0)
        .await;
    assert!(
        struck,
        "node 0 did not penalize the hostile peer for {reason:?}; its log:\n{}",
        tail(&net.logs(0), 40)
    );
}

/// An earn from shop 0 signed for `chain_id`.
fn earn_for_chain(net: &Net, chain_id: &ChainId, receipt: &str) -> SignedTransaction {
    let key = net.shop(0);
    Transaction {
        author: key.address(),
        nonce: Nonce(0),
        body: TxBody::Earn {
            reason: guild_ledger::Memo::new("goodwill").unwrap(),
            customer: customer(9).address(),
            points: Points(5),
            purchase: None,
            receipt: ReceiptHash::new(&key.address(), receipt),
        },
    }
    .sign(key, chain_id)
}

/// Sends a prevote five heights ahead of node 0's head that claims member 1
/// as its voter but is signed by an outsider, until node 0 judges one. (A
/// node checks the signature of a message for any later height before it
/// keeps it or asks the sender for blocks; a vote that went stale because
/// blocks were final meanwhile is ignored, not penalized, so it is sent
/// again.)
async fn send_forged_vote(hostile: &mut Hostile, net: &Net) {
    let outsider = Keypair::from_secret(&[0x66; 32]);
    let peer = hostile.peer_id();
    let reason = "vote with a bad signature";
    let start = Instant::now();
    while start.elapsed() < VERDICT * 2 {
        let head = net.height(0).await.expect("node 0 answers");
        let vote = Vote {
            kind: VoteKind::Prevote,
            height: Height(head + 5),
            round: 0,
            block: None,
        };
        let forged = SignedVote {
            vote,
            voter: net.shop(1).address(),
            signature: vote.sign(&outsider, &net.chain_id),
        };
        hostile.publish(Gossip::Consensus(ConsensusMessage::Vote(forged)));
        let asked = Instant::now();
        while asked.elapsed() < VERDICT {
            hostile.pump(Duration::from_millis(200)).await;
            if strikes(net, &peer, reason) > 0 {
                return;
            }
            if net.height(0).await != Some(head) {
                // Stale now: give a verdict already on its way time to
                // reach the log before sending another.
                hostile.pump(Duration::from_secs(1)).await;
                if strikes(net, &peer, reason) > 0 {
                    return;
                }
                break;
            }
        }
    }
    panic!(
        "node 0 did not penalize a forged vote; its log:\n{}",
        tail(&net.logs(0), 40)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_peer_is_penalized_and_blocked_and_the_network_keeps_going() {
    let mut net = Net::new(4);
    net.start_all();
    for i in 0..4 {
        net.wait_height(i, 0, WAIT).await;
    }

    // The hostile peer joins node 0's gossip.
    let node0 = p2p::peer_id_of(&net.shop(0).address()).expect("node 0's peer id");
    let address: Multiaddr = format!("/ip4/127.0.0.1/tcp/{}/p2p/{node0}", net.nodes[0].p2p_port)
        .parse()
        .expect("node 0's address");
    let mut hostile = Hostile::new(&net.chain_id, node0, address);
    let peer = hostile.peer_id();
    hostile.dial();
    let joined = hostile
        .pump_until(WAIT, |h| h.connected() && h.target_subscribed)
        .await;
    assert!(
        joined,
        "the hostile peer did not connect to node 0 and see its subscription; node 0's log:\n{}",
        tail(&net.logs(0), 40)
    );
    // Let gossipsub exchange its first heartbeats.
    hostile.pump(Duration::from_secs(1)).await;

    // 1. Bytes that are no envelope at all.
    hostile.publish_bytes(b"\xff\xfe\xfd this is not a guild gossip envelope".to_vec());
    let struck = hostile
        .pump_until(VERDICT, |_| strikes(&net, &peer, "malformed message") > 0)
        .await;
    assert!(
        struck,
        "node 0 did not penalize malformed bytes; its log:\n{}",
        tail(&net.logs(0), 40)
    );

    // 2. A member's transaction with one flipped bit in its signature.
    let mut tampered = net.earn(0, 0, &customer(8).address(), 5, "hostile-tampered");
    tampered.signature.0[10] ^= 0x01;
    let tampered_id = tampered.tx.id(&net.chain_id);
    send_and_expect_strike(
        &mut hostile,
        &net,
        Gossip::Txs(vec![tampered]),
        &format!("transaction {tampered_id} has a bad signature"),
    )
    .await;

    // 3. A transaction correctly signed, but for another chain.
    let other = ChainId::new("other-net").unwrap();
    let foreign = earn_for_chain(&net, &other, "hostile-foreign");
    assert!(
        foreign.clone().verify(&other).is_ok(),
        "signed for the other chain"
    );
    let foreign_id = foreign.tx.id(&net.chain_id);
    send_and_expect_strike(
        &mut hostile,
        &net,
        Gossip::Txs(vec![foreign]),
        &format!("transaction {foreign_id} has a bad signature"),
    )
    .await;

    // 4. A vote claiming a member as its voter, signed by an outsider.
    send_forged_vote(&mut hostile, &net).await;
    assert_eq!(
        strikes(&net, &peer, ""),
        4,
        "four strikes so far; node 0's log:\n{}",
        tail(&net.logs(0), 40)
    );
    assert!(hostile.connected(), "not blocked before the fifth strike");

    // 5. A message over the nodes' gossip size limit: node 0's gossipsub
    // refuses the frame itself (no strike is required) and stops reading
    // the stream that carried it, which leaves this peer's sending side
    // stuck; it reconnects, and node 0 must still take it in and judge its
    // next message.
    hostile.publish_bytes(vec![0xAB; MAX_GOSSIP_BYTES + 1024]);
    hostile.pump(Duration::from_secs(2)).await;
    hostile.reconnect().await;

    // 6. An empty transaction batch (refused by `Envelope::decode`): the
    // fifth strike, which blocks the peer.
    let closed_before = hostile.closed;
    send_and_expect_strike(
        &mut hostile,
        &net,
        Gossip::Txs(vec![]),
        "transaction batch of 0",
    )
    .await;
    let peer_text = peer.to_string();
    let blocked = hostile
        .pump_until(VERDICT, |h| {
            !h.connected()
                && h.closed > closed_before
                && net
                    .logs(0)
                    .lines()
                    .any(|l| l.contains("blocking peer for") && l.contains(&peer_text))
        })
        .await;
    assert!(
        blocked,
        "node 0 did not block the hostile peer (connected: {}, closed: {}); its log:\n{}",
        hostile.connected(),
        hostile.closed,
        tail(&net.logs(0), 40)
    );

    // A blocked peer's re-dial is refused: the connection fails or is
    // closed at once, and stays down.
    let refusals = hostile.closed + hostile.dial_failures;
    hostile.dial();
    let refused = hostile
        .pump_until(Duration::from_secs(15), |h| {
            h.closed + h.dial_failures > refusals
        })
        .await;
    hostile.pump(Duration::from_secs(2)).await;
    assert!(
        refused && !hostile.connected(),
        "node 0 let the blocked peer back in (connected: {})",
        hostile.connected()
    );

    // Nothing broke: every node still runs, none panicked, the bad
    // transactions are nowhere, and a valid one is final on all four.
    for i in 0..4 {
        let exited = net.nodes[i].child.as_mut().unwrap().try_wait().unwrap();
        assert!(exited.is_none(), "node {i} exited: {exited:?}");
        let log = net.logs(i);
        assert!(!log.contains("panicked"), "node {i} panicked:\n{log}");
        for id in [tampered_id, foreign_id] {
            let (status, body) = net.get(i, &format!("/v1/tx/{id}")).await.unwrap();
            assert_eq!(status, 404, "node {i} kept bad transaction {id}: {body}");
        }
    }
    let alice = customer(1).address();
    let (status, body) = net
        .submit(0, &net.earn(0, 0, &alice, 70, "after-attack"), true)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "final", "{body}");
    let height = body["height"].as_u64().unwrap();
    for i in 0..4 {
        net.wait_height(i, height, WAIT).await;
        assert_eq!(net.balance(i, &alice).await, 70, "node {i}");
    }
}
