//! Unit tests of the engine, driven by hand with [`SimNet`] and [`SimClock`]
//! (no tokio, no sockets).

use super::sim::{Chain, SimClock, SimNet, SimOut, SimPeer, engine_at, open_store, temp_dir};
use super::*;
use crate::signer::MemorySigner;
use std::rc::Rc;

struct Fixture {
    chain: Chain,
    clock: SimClock,
    net: SimNet,
    engine: Engine<SimNet>,
    _dir: tempfile::TempDir,
}

/// An engine of member `me` (or an observer) on a chain of `n` members.
fn fixture(n: usize, me: Option<usize>) -> Fixture {
    let chain = Chain::new(n);
    let dir = temp_dir();
    let store = open_store(&chain, dir.path());
    let clock = SimClock::new();
    let net = SimNet {
        members: Rc::new(chain.keys.iter().map(Keypair::address).collect()),
        ..SimNet::default()
    };
    let key = me.map(|i| &chain.keys[i]);
    let signer = match key {
        Some(key) => SharedSigner::member(MemorySigner::new(
            Keypair::from_secret(&key.secret_bytes()),
            chain.genesis.chain_id.clone(),
        )),
        None => SharedSigner::observer(),
    };
    let (engine, _) = engine_at(
        &chain,
        store,
        key,
        signer,
        net.clone(),
        clock.clone(),
        EngineConfig::default(),
    );
    Fixture {
        chain,
        clock,
        net,
        engine,
        _dir: dir,
    }
}

fn submit(engine: &mut Engine<SimNet>, tx: SignedTransaction) -> Result<Submitted, SubmitError> {
    let (reply, mut answer) = oneshot::channel();
    engine
        .on_request(Request::Submit {
            tx,
            wait: false,
            reply,
        })
        .unwrap();
    answer.try_recv().unwrap()
}

fn customer() -> Address {
    Keypair::from_secret(&[200; 32]).address()
}

fn syncs(outs: &[SimOut]) -> Vec<(SimPeer, SyncRequest)> {
    outs.iter()
        .filter_map(|o| match o {
            SimOut::Sync(peer, request) => Some((*peer, *request)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_submission_is_admitted_and_gossiped_in_one_batch_after_the_delay() {
    // Four members, so this one cannot decide alone.
    let mut f = fixture(4, Some(0));
    let first = f.chain.earn(0, 0, &customer(), 5);
    let second = f.chain.earn(0, 1, &customer(), 5);
    assert!(matches!(
        submit(&mut f.engine, first),
        Ok(Submitted::Pending { .. })
    ));
    assert!(matches!(
        submit(&mut f.engine, second),
        Ok(Submitted::Pending { .. })
    ));
    assert_eq!(f.engine.mempool_len(), 2);
    let before: Vec<_> = f
        .net
        .take()
        .into_iter()
        .filter(|o| matches!(o, SimOut::Publish(Gossip::Txs(_))))
        .collect();
    assert!(before.is_empty(), "gossiped before the delay: {before:?}");
    let due = f.engine.next_wake().unwrap();
    assert!(f.clock.ms_of(due) <= EngineConfig::default().tx_gossip_delay.as_millis() as u64);
    f.clock.advance(EngineConfig::default().tx_gossip_delay);
    f.engine.on_wake().unwrap();
    let batches: Vec<usize> = f
        .net
        .take()
        .into_iter()
        .filter_map(|o| match o {
            SimOut::Publish(Gossip::Txs(txs)) => Some(txs.len()),
            _ => None,
        })
        .collect();
    assert_eq!(batches, vec![2]);
}

#[test]
fn a_badly_signed_submission_is_refused() {
    let mut f = fixture(4, Some(0));
    let mut tx = f.chain.earn(0, 0, &customer(), 5);
    tx.signature = f.chain.earn(1, 0, &customer(), 5).signature;
    assert!(matches!(
        submit(&mut f.engine, tx),
        Err(SubmitError::BadSignature { .. })
    ));
    assert_eq!(f.engine.mempool_len(), 0);
}

#[test]
fn gossip_verdicts_accept_valid_batches_and_reject_bad_signatures() {
    let mut f = fixture(4, Some(0));
    let good = f.chain.earn(1, 0, &customer(), 5);
    let mut bad = f.chain.earn(2, 0, &customer(), 5);
    bad.signature = good.signature;
    let verdict = |f: &mut Fixture, id: u64, txs: Vec<SignedTransaction>| {
        f.engine
            .on_net(NetInput::Gossip {
                from: SimPeer(1),
                id,
                message: Gossip::Txs(txs),
            })
            .unwrap();
        f.net.take().into_iter().find_map(|o| match o {
            SimOut::Judged(judged, from, verdict) => {
                assert_eq!((judged, from), (id, SimPeer(1)));
                Some(verdict)
            }
            _ => None,
        })
    };
    assert_eq!(
        verdict(&mut f, 1, vec![good.clone()]),
        Some(Verdict::Accept)
    );
    assert_eq!(f.engine.mempool_len(), 1);
    assert!(matches!(
        verdict(&mut f, 2, vec![bad]),
        Some(Verdict::Reject(reason)) if reason.to_string().contains("bad signature")
    ));
    assert_eq!(f.engine.mempool_len(), 1);
    // A status is for the sender alone: not forwarded.
    f.engine
        .on_net(NetInput::Gossip {
            from: SimPeer(1),
            id: 3,
            message: Gossip::Status(Status {
                head: Height(0),
                head_hash: f.chain.header.hash(),
            }),
        })
        .unwrap();
    assert!(
        f.net
            .take()
            .iter()
            .any(|o| matches!(o, SimOut::Judged(3, _, Verdict::Ignore)))
    );
}

#[test]
fn a_head_only_answer_from_a_peer_ahead_starts_a_real_sync() {
    let mut f = fixture(4, None);
    f.engine.on_net(NetInput::Connected(SimPeer(2))).unwrap();
    let asked = syncs(&f.net.take());
    assert_eq!(
        asked,
        vec![(
            SimPeer(2),
            SyncRequest {
                from: Height(1),
                max: 0
            }
        )]
    );
    f.engine
        .on_net(NetInput::Synced {
            from: SimPeer(2),
            response: SyncResponse {
                head: Height(5),
                blocks: Vec::new(),
            },
        })
        .unwrap();
    assert_eq!(
        syncs(&f.net.take()),
        vec![(
            SimPeer(2),
            SyncRequest {
                from: Height(1),
                max: MAX_SYNC_BLOCKS
            }
        )]
    );
    assert_eq!(f.engine.sync_view().best_peer_head, Height(5));
}

#[test]
fn failed_syncs_back_off_shrink_the_request_and_say_why() {
    let mut f = fixture(4, None);
    f.engine
        .on_net(NetInput::Gossip {
            from: SimPeer(1),
            id: 1,
            message: Gossip::Status(Status {
                head: Height(3),
                head_hash: Hash([1; 32]),
            }),
        })
        .unwrap();
    assert_eq!(
        syncs(&f.net.take()).len(),
        1,
        "a peer ahead is asked at once"
    );
    for failures in 1..=3u32 {
        f.engine
            .on_net(NetInput::SyncFailed {
                peer: SimPeer(1),
                failure: SyncFailure::TooLarge { limit: 1 },
            })
            .unwrap();
        assert_eq!(f.engine.sync_batch, (MAX_SYNC_BLOCKS >> failures).max(1));
        let backoff = SYNC_RETRY_MIN * (1 << failures);
        // Not before the back-off…
        f.engine.on_tick().unwrap();
        assert!(
            syncs(&f.net.take()).is_empty(),
            "asked again during the back-off"
        );
        // …then again, for fewer blocks.
        f.clock.advance(backoff);
        f.engine.on_tick().unwrap();
        let asked = syncs(&f.net.take());
        assert_eq!(asked.len(), 1);
        assert_eq!(asked[0].1.max, f.engine.sync_batch);
    }
    let view = f.engine.sync_view();
    assert_eq!(view.best_peer_head, Height(3));
    assert!(
        view.problem
            .as_deref()
            .is_some_and(|p| p.contains("larger than")),
        "{view:?}"
    );
}

/// Block 1 of a one-member chain, decided by its only member.
fn first_block() -> (Chain, FinalBlock) {
    let mut f = fixture(1, Some(0));
    let tx = f.chain.earn(0, 0, &customer(), 5);
    submit(&mut f.engine, tx).unwrap();
    f.engine.on_wake().unwrap();
    assert_eq!(
        f.engine.head().height,
        Height(1),
        "a lone member decides alone"
    );
    let block = f.engine.store.block(Height(1)).unwrap().unwrap();
    (f.chain, block)
}

#[test]
fn a_synced_block_with_a_bad_certificate_penalizes_the_peer_and_a_good_one_is_committed() {
    let (chain, good) = first_block();
    let dir = temp_dir();
    let store = open_store(&chain, dir.path());
    let net = SimNet::default();
    let (mut observer, _) = engine_at(
        &chain,
        store,
        None,
        SharedSigner::observer(),
        net.clone(),
        SimClock::new(),
        EngineConfig::default(),
    );
    let mut forged = good.clone();
    forged.certificate.signatures.clear();
    observer
        .on_net(NetInput::Synced {
            from: SimPeer(7),
            response: SyncResponse {
                head: Height(1),
                blocks: vec![forged],
            },
        })
        .unwrap();
    let outs = net.take();
    assert!(
        outs.iter().any(
            |o| matches!(o, SimOut::Penalize(SimPeer(7), reason) if reason.to_string().contains("block 1"))
        ),
        "{outs:?}"
    );
    assert_eq!(observer.head().height, Height(0));
    // The liar's word about its head is dropped.
    assert_eq!(observer.sync_view().best_peer_head, Height(0));

    observer
        .on_net(NetInput::Synced {
            from: SimPeer(8),
            response: SyncResponse {
                head: Height(1),
                blocks: vec![good.clone()],
            },
        })
        .unwrap();
    assert_eq!(observer.head().hash(), good.block.header.hash());
    assert!(!net.take().iter().any(|o| matches!(o, SimOut::Penalize(..))));
}

/// A lone member decides a block while a transaction it signed is being
/// admitted: its till still hears "final" (sales, refunds, rewards).
#[test]
fn a_lone_member_tells_its_till_and_its_automations_when_its_own_transactions_are_final() {
    use crate::handle::{Grant, SaleMode, SaleOrder};
    use guild_ledger::programme::{Basket, EarnRuleSpec};
    use guild_ledger::tx::{Transaction, TxBody};
    use guild_ledger::types::{Cents, Nonce, Points, ReceiptHash};

    let mut f = fixture(1, Some(0));
    let shop = f.chain.keys[0].clone();
    let rule = Transaction {
        author: shop.address(),
        nonce: Nonce(0),
        body: TxBody::SetEarnRule {
            rule: EarnRuleSpec {
                points: 1,
                per: Cents(100),
                min_spend: Cents(0),
                multipliers: vec![],
                excluded: vec![],
                cap: None,
                birthday: Points(50),
            },
            effective: None,
        },
    }
    .sign(&shop, &f.chain.genesis.chain_id);
    submit(&mut f.engine, rule).unwrap();
    f.engine.on_wake().unwrap();
    assert_eq!(f.engine.head().height, Height(1));

    let (reply, mut answer) = oneshot::channel();
    f.engine
        .on_request(Request::Sale {
            order: SaleOrder {
                customer: customer(),
                receipt: ReceiptHash::new(&shop.address(), "S-1"),
                basket: Basket::new(Cents(1250), vec![]),
            },
            mode: SaleMode::Submit,
            reply,
        })
        .unwrap();
    let ticket = answer.try_recv().unwrap().unwrap();
    assert_eq!(f.engine.head().height, Height(2), "decided at once");
    let outcome = ticket.done.unwrap().try_recv().unwrap().unwrap();
    assert!(
        matches!(outcome.submitted, Some(Submitted::Final { .. })),
        "{outcome:?}"
    );
    assert_eq!(outcome.breakdown.total, Points(12));

    let (reply, mut answer) = oneshot::channel();
    f.engine
        .on_request(Request::Grant {
            grant: Grant::Birthday {
                customer: customer(),
                receipt: ReceiptHash::new(&shop.address(), "automation:evt_1"),
            },
            reply,
        })
        .unwrap();
    let ticket = answer.try_recv().unwrap().unwrap();
    let done = ticket.done.unwrap().try_recv().unwrap().unwrap();
    let Submitted::Final { location, .. } = done else {
        panic!("not final: {done:?}");
    };
    assert_eq!(location.height, Height(3));
    let record = f
        .engine
        .state()
        .receipt(
            &shop.address(),
            &ReceiptHash::new(&shop.address(), "automation:evt_1"),
        )
        .unwrap();
    assert_eq!(record.points, Points(50), "the rule's birthday points");

    // A second grant under the same receipt is refused by the ledger.
    let (reply, mut answer) = oneshot::channel();
    f.engine
        .on_request(Request::Grant {
            grant: Grant::Birthday {
                customer: customer(),
                receipt: ReceiptHash::new(&shop.address(), "automation:evt_1"),
            },
            reply,
        })
        .unwrap();
    let refused = answer.try_recv().unwrap().unwrap_err();
    assert_eq!(refused.code(), "duplicate_receipt");
}

/// A back-office action (`POST /v1/shop/sign`) is signed as the shop at
/// its next nonce and final; a ledger refusal comes back as the rule's
/// error, and the nonce is not used up.
#[test]
fn a_shop_action_is_signed_at_the_next_nonce_and_refused_by_the_ledger_rules() {
    use crate::handle::Grant;
    use guild_api::ShopAction;
    use guild_ledger::params::ParamChange;
    use guild_ledger::tx::{GovernanceAction, TxBody};
    use guild_ledger::types::{Memo, Points, ReceiptHash};

    let mut f = fixture(2, Some(0));
    let shop = f.chain.keys[0].address();
    let other = f.chain.keys[1].address();
    let ask = |engine: &mut Engine<SimNet>, body: TxBody| {
        let (reply, mut answer) = oneshot::channel();
        engine
            .on_request(Request::Grant {
                grant: Grant::Action(ShopAction::new(body).unwrap()),
                reply,
            })
            .unwrap();
        answer.try_recv().unwrap()
    };
    // Nothing owed: the ledger's own refusal.
    let refused = ask(
        &mut f.engine,
        TxBody::Settle {
            debtor: other,
            points: Points(5),
        },
    )
    .unwrap_err();
    assert_eq!(refused.code(), "settle_exceeds_debt");
    assert_eq!(f.engine.mempool_len(), 0);

    let propose = TxBody::Propose {
        action: GovernanceAction::SetParam {
            change: ParamChange::DailyIssuanceCap(Points(9_000)),
        },
    };
    let ticket = ask(&mut f.engine, propose.clone()).unwrap();
    let Submitted::Pending { id } = ticket.now else {
        panic!("not pending: {:?}", ticket.now);
    };
    assert!(ticket.done.is_some(), "a way to hear when it is final");
    let grant = TxBody::Earn {
        customer: customer(),
        points: Points(20),
        purchase: None,
        receipt: ReceiptHash::new(&shop, "G-1"),
        reason: Memo::new("sorry for the wait").unwrap(),
    };
    ask(&mut f.engine, grant.clone()).unwrap();
    assert_eq!(f.engine.mempool_len(), 2);
    assert!(f.engine.mempool.contains(&id));
    // Signed by the shop, at nonces 0 and 1, with the bodies as given.
    let mut waiting: Vec<_> = f
        .engine
        .mempool
        .iter()
        .map(|tx| (tx.tx().author, tx.tx().nonce.0, tx.tx().body.clone()))
        .collect();
    waiting.sort_by_key(|(_, nonce, _)| *nonce);
    assert_eq!(waiting, vec![(shop, 0, propose), (shop, 1, grant)]);
}

#[test]
fn the_reachable_members_are_this_member_and_the_connected_members() {
    let mut f = fixture(4, Some(0));
    let address = |i: usize| f.chain.keys[i].address();
    let sorted = |mut list: Vec<Address>| {
        list.sort();
        list
    };
    let alone = f.engine.quorum_view();
    assert_eq!((alone.members, alone.needed), (4, 3));
    assert_eq!(alone.reachable, vec![address(0)]);
    assert!(!alone.has_quorum());
    f.engine.on_net(NetInput::Connected(SimPeer(1))).unwrap();
    // A peer that is no member's node counts for nothing.
    f.engine.on_net(NetInput::Connected(SimPeer(9))).unwrap();
    assert!(!f.engine.quorum_view().has_quorum());
    f.engine.on_net(NetInput::Connected(SimPeer(2))).unwrap();
    let three = f.engine.quorum_view();
    assert_eq!(
        three.reachable,
        sorted(vec![address(0), address(1), address(2)])
    );
    assert!(three.has_quorum());
    f.engine.on_net(NetInput::Disconnected(SimPeer(1))).unwrap();
    let two = f.engine.quorum_view();
    assert_eq!(two.reachable, sorted(vec![address(0), address(2)]));
    assert!(!two.has_quorum());
}

#[test]
fn an_observer_counts_only_the_members_it_is_connected_to() {
    let mut f = fixture(4, None);
    assert!(f.engine.quorum_view().reachable.is_empty());
    for peer in [1, 2] {
        f.engine.on_net(NetInput::Connected(SimPeer(peer))).unwrap();
    }
    assert!(!f.engine.quorum_view().has_quorum());
    f.engine.on_net(NetInput::Connected(SimPeer(3))).unwrap();
    let view = f.engine.quorum_view();
    assert_eq!(view.reachable.len(), 3);
    assert!(view.has_quorum());
}
