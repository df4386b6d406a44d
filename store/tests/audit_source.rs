//! The audit over a node's data directory: `guild_audit::verify_chain`
//! reading a [`StoreSource`], on clean chains and on each kind of
//! tampering with the stored blocks and records. (These tests lived in the
//! node's `audit/verify.rs` before the audit and the store became crates of
//! their own.)
use guild_audit::fixture::ChainFixture;
use guild_audit::{
    Activity, AuditError, Discrepancy, Period, Rule, SourceError, Summary, VerifyOptions,
    verify_chain,
};
use guild_ledger::block::{BlockHeader, CommitCertificate, FinalBlock};
use guild_ledger::block::{CommitSignature, Vote, VoteKind};
use guild_ledger::codec;
use guild_ledger::crypto::Keypair;
use guild_ledger::genesis::Genesis;
use guild_ledger::genesis::GenesisMember;
use guild_ledger::params::Params;
use guild_ledger::state::StateKey;
use guild_ledger::tx::SignedTransaction;
use guild_ledger::tx::{GovernanceAction, TxBody};
use guild_ledger::types::{ChainId, Height};
use guild_ledger::types::{Points, ReceiptHash, ShopName, Timestamp};
use guild_store::{Store, StoreSource};
use std::path::Path;

const T0: u64 = 1_767_225_600_000; // 2026-01-01T00:00Z
const MINUTE: u64 = 60_000;

fn key(n: u8) -> Keypair {
    Keypair::from_secret(&[n; 32])
}

fn genesis(members: u8) -> Genesis {
    Genesis {
        programme: Default::default(),
        chain_id: ChainId::new("audit-test").unwrap(),
        time: Timestamp(T0),
        members: (1..=members)
            .map(|i| GenesisMember {
                name: ShopName::new(&format!("Shop{i}")).unwrap(),
                address: key(i).address(),
            })
            .collect(),
        params: Params {
            governance_delay: 1,
            ..Params::default()
        },
    }
}

fn earn(
    chain: &mut ChainFixture<Store>,
    shop: u8,
    customer: u8,
    points: u64,
    receipt: &str,
) -> SignedTransaction {
    let shop = key(shop);
    chain.sign(
        &shop,
        TxBody::Earn {
            reason: guild_ledger::Memo::new("goodwill").unwrap(),
            customer: key(customer).address(),
            points: Points(points),
            purchase: None,
            receipt: ReceiptHash::new(&shop.address(), receipt),
        },
    )
}

/// A 4-shop chain in `dir`: earns, transfers, redemptions, a
/// settlement, a fifth shop added (signing later blocks), then shop 4
/// removed. Returns the height at which shop 4 stops being a member.
fn build(dir: &Path) -> (ChainFixture<Store>, Height) {
    let keys: Vec<Keypair> = (1..=5).map(key).collect();
    let store = Store::open(dir, 16 * 1024 * 1024).unwrap();
    let mut chain = ChainFixture::new(genesis(4), keys, store).unwrap();
    let mut t = T0;
    let mut next = |chain: &mut ChainFixture<Store>, txs| {
        t += MINUTE;
        chain.block(Timestamp(t), txs).unwrap();
    };
    for round in 0..3u8 {
        let txs = (0..8u8)
            .map(|i| {
                earn(
                    &mut chain,
                    1 + i % 3,
                    100 + i,
                    10 + u64::from(i),
                    &format!("r{round}-{i}"),
                )
            })
            .collect();
        next(&mut chain, txs);
    }
    let c = key(100);
    let redeem = chain.sign(
        &c,
        TxBody::Redeem {
            shop: key(2).address(),
            points: Points(15),
        },
    );
    let send = chain.sign(
        &c,
        TxBody::Transfer {
            to: key(101).address(),
            points: Points(5),
            memo: None,
        },
    );
    next(&mut chain, vec![redeem, send]);
    let settle = chain.sign(
        &key(2),
        TxBody::Settle {
            debtor: key(1).address(),
            points: Points(4),
        },
    );
    next(&mut chain, vec![settle]);
    // Shop 5 joins: proposed by 1, approved by 2 and 3 (3 of 4).
    let action = GovernanceAction::AddMember {
        name: ShopName::new("Shop5").unwrap(),
        address: key(5).address(),
    };
    let propose = chain.sign(&key(1), TxBody::Propose { action });
    let id = chain.state().chain().next_proposal;
    let a2 = chain.sign(&key(2), TxBody::Approve { proposal: id });
    let a3 = chain.sign(&key(3), TxBody::Approve { proposal: id });
    next(&mut chain, vec![propose, a2, a3]);
    next(&mut chain, vec![]);
    assert!(chain.state().member(&key(5).address()).is_some());
    let e = earn(&mut chain, 5, 102, 7, "five");
    next(&mut chain, vec![e]);
    // Shop 4 (nothing issued, no debts) is removed.
    let action = GovernanceAction::RemoveMember {
        address: key(4).address(),
    };
    let propose = chain.sign(&key(1), TxBody::Propose { action });
    let id = chain.state().chain().next_proposal;
    let approvals: Vec<_> = [2, 3, 5]
        .iter()
        .map(|i| chain.sign(&key(*i), TxBody::Approve { proposal: id }))
        .collect();
    let mut txs = vec![propose];
    txs.extend(approvals);
    next(&mut chain, txs);
    next(&mut chain, vec![]);
    assert!(chain.state().member(&key(4).address()).is_none());
    let removed_from = Height(chain.height().0 + 1);
    for round in 0..3u8 {
        let e = earn(&mut chain, 1, 103, 3, &format!("late{round}"));
        next(&mut chain, vec![e]);
    }
    (chain, removed_from)
}

fn audit(dir: &Path, genesis: &Genesis, options: &VerifyOptions) -> Result<Summary, AuditError> {
    let mut source = StoreSource::open(dir).unwrap();
    verify_chain(genesis, &mut source, options, &mut (), &mut |_| {})
}

fn discrepancy(result: Result<Summary, AuditError>) -> Discrepancy {
    match result {
        Err(AuditError::Discrepancy(d)) => *d,
        Err(other) => panic!("not a discrepancy: {other}"),
        Ok(_) => panic!("the chain verified"),
    }
}

/// Rewrites the stored block at `height`.
fn rewrite(dir: &Path, height: Height, change: impl FnOnce(&mut FinalBlock)) {
    let store = Store::open(dir, 1 << 20).unwrap();
    let k = Store::raw_block_key(height);
    let mut block: FinalBlock = codec::decode(&store.raw_tree().get(k).unwrap().unwrap()).unwrap();
    change(&mut block);
    store.raw_tree().insert(k, codec::encode(&block)).unwrap();
    store.flush().unwrap();
}

/// A certificate for `header` signed by `signers`.
fn certify(chain_id: &ChainId, header: &BlockHeader, signers: &[Keypair]) -> CommitCertificate {
    let vote = Vote {
        kind: VoteKind::Precommit,
        height: header.height,
        round: 0,
        block: Some(header.hash()),
    };
    let mut signatures: Vec<_> = signers
        .iter()
        .map(|k| CommitSignature {
            voter: k.address(),
            signature: vote.sign(k, chain_id),
        })
        .collect();
    signatures.sort_by_key(|s| s.voter);
    CommitCertificate {
        height: header.height,
        round: 0,
        block_hash: header.hash(),
        signatures,
    }
}

fn small_windows() -> VerifyOptions {
    VerifyOptions {
        window_bytes: 1,
        max_window_blocks: 1,
        ..VerifyOptions::default()
    }
}

#[test]
fn a_clean_chain_verifies_with_any_window_size() {
    let dir = tempfile::tempdir().unwrap();
    let (chain, _) = build(dir.path());
    let (head, root, supply) = (
        chain.head().clone(),
        chain.state().root(),
        chain.state().supply().clone(),
    );
    let genesis = chain.genesis().clone();
    drop(chain);
    for options in [VerifyOptions::default(), small_windows()] {
        let mut calls = 0;
        let mut source = StoreSource::open(dir.path()).unwrap();
        let summary = verify_chain(&genesis, &mut source, &options, &mut (), &mut |_| {
            calls += 1
        })
        .unwrap();
        assert!(calls >= 2);
        assert_eq!(summary.height, head.height);
        assert_eq!(summary.head_hash, head.hash());
        assert_eq!(summary.state_root, root);
        assert_eq!(summary.supply, supply);
        assert_eq!(summary.transactions, 24 + 2 + 1 + 3 + 1 + 4 + 3);
        assert_eq!(summary.transactions_by_kind["earn"], 24 + 1 + 3);
        assert_eq!(summary.member_changes, 2);
        assert_eq!(summary.members.len(), 4);
        // Customer 100 holds 30 of shop 1 and spends 15 at shop 2; shop 2
        // acknowledges 4.
        assert_eq!(summary.debts, 15 - 4);
    }

    // The report's bookkeeping follows the same chain, governance and
    // a removed member included.
    let mut activity = Activity::new(&genesis, Period::default()).unwrap();
    let mut source = StoreSource::open(dir.path()).unwrap();
    verify_chain(
        &genesis,
        &mut source,
        &VerifyOptions::default(),
        &mut activity,
        &mut |_| {},
    )
    .unwrap();
    let report = activity.report(head.height);
    assert_eq!(report.shops.len(), 5);
    let shop4 = report
        .shops
        .iter()
        .find(|s| s.shop.name == "Shop4")
        .unwrap();
    assert!(!shop4.member);
    assert_eq!(report.health.points_issued, supply.issued.0);
    assert_eq!(report.health.points_redeemed, supply.redeemed.0);
    let outstanding: u64 = report.shops.iter().map(|s| s.outstanding).sum();
    assert_eq!(outstanding, supply.outstanding().0);
    assert_eq!(report.settlement.payments.len(), 1);
    assert_eq!(report.settlement.payments[0].points, 11);
}

#[test]
fn up_to_stops_early() {
    let dir = tempfile::tempdir().unwrap();
    let (chain, _) = build(dir.path());
    let genesis = chain.genesis().clone();
    drop(chain);
    // The stored state is the head's: a partial replay does not
    // compare it.
    let options = VerifyOptions {
        up_to: Some(Height(3)),
        ..VerifyOptions::default()
    };
    let summary = audit(dir.path(), &genesis, &options).unwrap();
    assert_eq!((summary.height, summary.blocks), (Height(3), 3));
    assert!(summary.source_head > Height(3));
}

#[test]
fn each_tamper_case_is_located() {
    let dir = tempfile::tempdir().unwrap();
    let (chain, removed_from) = build(dir.path());
    let genesis = chain.genesis().clone();
    let chain_id = genesis.chain_id.clone();
    let head = chain.height();
    drop(chain);
    let copies = tempfile::tempdir().unwrap();
    let copy = |name: &str| {
        let to = copies.path().join(name);
        copy_dir(dir.path(), &to);
        to
    };

    // A flipped byte in a transaction of block 2 (its author's key).
    let d1 = copy("flip");
    {
        let store = Store::open(&d1, 1 << 20).unwrap();
        let k = Store::raw_block_key(Height(2));
        let mut bytes = store.raw_tree().get(k).unwrap().unwrap().to_vec();
        // Header (144 bytes), transaction count (8), then the first
        // transaction's author.
        bytes[144 + 8 + 5] ^= 0x01;
        store.raw_tree().insert(k, bytes).unwrap();
        store.flush().unwrap();
    }
    let d = discrepancy(audit(&d1, &genesis, &VerifyOptions::default()));
    assert_eq!(
        (d.height, d.rule, d.tx_index),
        (Height(2), Rule::TxSignature, Some(0)),
        "{d}"
    );

    // A flipped byte in block 3's header time: its certificate no
    // longer matches it.
    let d2 = copy("header");
    rewrite(&d2, Height(3), |b| b.block.header.time.0 += 1);
    let d = discrepancy(audit(&d2, &genesis, &VerifyOptions::default()));
    assert_eq!((d.height, d.rule), (Height(3), Rule::Certificate), "{d}");

    // A forged precommit in block 4's certificate.
    let d3 = copy("forged");
    rewrite(&d3, Height(4), |b| {
        b.certificate.signatures[1].signature.0[7] ^= 0x80
    });
    let d = discrepancy(audit(&d3, &genesis, &VerifyOptions::default()));
    assert_eq!((d.height, d.rule), (Height(4), Rule::Certificate), "{d}");
    assert!(d.detail.contains("does not verify"), "{d}");

    // A short certificate (2 of 4) on block 5.
    let d4 = copy("short");
    rewrite(&d4, Height(5), |b| b.certificate.signatures.truncate(2));
    let d = discrepancy(audit(&d4, &genesis, &VerifyOptions::default()));
    assert_eq!((d.height, d.rule), (Height(5), Rule::Certificate), "{d}");
    assert!(d.detail.contains("2 of 4"), "{d}");

    // A state record edited in sled.
    let d5 = copy("state");
    {
        let store = Store::open(&d5, 1 << 20).unwrap();
        let k = store
            .raw_tree()
            .scan_prefix(b"s")
            .keys()
            .map(|k| k.unwrap())
            .find(|k| {
                codec::decode::<StateKey>(&k[1..]).is_ok_and(|s| matches!(s, StateKey::Account(_)))
            })
            .unwrap();
        let mut account: guild_ledger::state::Account =
            codec::decode(&store.raw_tree().get(&k).unwrap().unwrap()).unwrap();
        account.lots[0].amount.0 += 1_000;
        store
            .raw_tree()
            .insert(&k, codec::encode(&account))
            .unwrap();
        store.flush().unwrap();
    }
    let d = discrepancy(audit(&d5, &genesis, &VerifyOptions::default()));
    assert_eq!((d.height, d.rule), (head, Rule::StoredState), "{d}");
    assert!(d.detail.contains("the account record of guild1"), "{d}");

    // A block certified by a removed member (with two current ones:
    // a quorum count, but one voter is no member any more), re-signed
    // so nothing else is wrong; in small and large windows.
    let d6 = copy("removed");
    let at = Height(removed_from.0 + 1);
    rewrite(&d6, at, |b| {
        b.certificate = certify(
            &chain_id,
            &b.block.header,
            &[key(1), key(2), key(3), key(4)],
        );
    });
    for options in [VerifyOptions::default(), small_windows()] {
        let d = discrepancy(audit(&d6, &genesis, &options));
        assert_eq!((d.height, d.rule), (at, Rule::Certificate), "{d}");
        assert!(d.detail.contains("not a member"), "{d}");
    }
}

#[test]
fn rule_breaks_state_roots_and_gaps_are_located() {
    let dir = tempfile::tempdir().unwrap();
    let (chain, _) = build(dir.path());
    let genesis = chain.genesis().clone();
    let chain_id = genesis.chain_id.clone();
    drop(chain);
    let members: Vec<Keypair> = (1..=4).map(key).collect();
    let copies = tempfile::tempdir().unwrap();
    let copy = |name: &str| {
        let to = copies.path().join(name);
        copy_dir(dir.path(), &to);
        to
    };

    // A wrong state root in a correctly certified header.
    let d1 = copy("root");
    rewrite(&d1, Height(2), |b| {
        b.block.header.state_root.0[0] ^= 1;
        b.certificate = certify(&chain_id, &b.block.header, &members);
    });
    let d = discrepancy(audit(&d1, &genesis, &VerifyOptions::default()));
    assert_eq!((d.height, d.rule), (Height(2), Rule::StateRoot), "{d}");

    // A replayed transaction, certified: the ledger's replay rule.
    let d2 = copy("replay");
    let first = {
        let store = Store::open(&d2, 1 << 20).unwrap();
        store.block(Height(1)).unwrap().unwrap().block.txs[0].clone()
    };
    rewrite(&d2, Height(4), |b| {
        b.block.txs.push(first.clone());
        let ids: Vec<_> = b.block.txs.iter().map(|t| t.tx.id(&chain_id)).collect();
        b.block.header.tx_root = guild_ledger::block::tx_root(&ids);
        b.certificate = certify(&chain_id, &b.block.header, &members);
    });
    let d = discrepancy(audit(&d2, &genesis, &VerifyOptions::default()));
    assert_eq!(
        (d.height, d.rule, d.tx_index, d.tx_error),
        (Height(4), Rule::TxRule, Some(2), Some("replay")),
        "{d}"
    );

    // A missing block and an undecodable one.
    let d3 = copy("gap");
    {
        let store = Store::open(&d3, 1 << 20).unwrap();
        store
            .raw_tree()
            .remove(Store::raw_block_key(Height(6)))
            .unwrap();
        store
            .raw_tree()
            .insert(Store::raw_block_key(Height(3)), vec![1, 2, 3])
            .unwrap();
        store.flush().unwrap();
    }
    let d = discrepancy(audit(&d3, &genesis, &VerifyOptions::default()));
    assert_eq!((d.height, d.rule), (Height(3), Rule::BlockEncoding), "{d}");

    // Another network's genesis.
    let mut other = genesis.clone();
    other.time.0 += 1;
    let d = discrepancy(audit(dir.path(), &other, &VerifyOptions::default()));
    assert_eq!((d.height, d.rule), (Height(0), Rule::Genesis), "{d}");
}

#[test]
fn a_locked_or_empty_data_directory_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        StoreSource::open(dir.path()),
        Err(SourceError::NoChain { .. })
    ));
    let (chain, _) = build(dir.path());
    // The fixture holds the database open, as a running node would.
    assert!(matches!(
        StoreSource::open(dir.path()),
        Err(SourceError::Locked { .. })
    ));
    drop(chain);
    assert!(StoreSource::open(dir.path()).is_ok());
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
