//! `Store::commit` of a `Commit` prepared by `Commit::new`: the block, the
//! transaction index and account histories, the member sets and the state,
//! as the engine writes them.

use guild_audit::fixture::example_chain;
use guild_ledger::block::{CommitCertificate, FinalBlock};
use guild_ledger::crypto::Keypair;
use guild_ledger::state::BlockBuilder;
use guild_ledger::tx::{Transaction, TxBody};
use guild_ledger::types::{Height, Nonce, Points, ReceiptHash, Timestamp};
use guild_store::{Commit, Store, TxLocation};

fn address(n: u8) -> guild_ledger::crypto::Address {
    Keypair::from_secret(&[n; 32]).address()
}

#[test]
fn a_committed_chain_has_its_index_histories_and_state() {
    let dir = tempfile::tempdir().unwrap();
    let chain = example_chain(Store::open(dir.path(), 1 << 20).unwrap()).unwrap();
    let state = chain.state().clone();
    let head = chain.head().clone();
    let store = chain.into_sink();
    assert_eq!(store.head().unwrap(), Height(8));
    assert_eq!(store.block(Height(8)).unwrap().unwrap().block.header, head);
    assert_eq!(store.load_state().unwrap().root(), state.root());
    // Customer 1 (key 101): earns in blocks 1 and 2, a redemption in 3;
    // newest first. Its shop's history shows the redemption at it too.
    let history = store.history(&address(101), 10).unwrap();
    let heights: Vec<u64> = history.iter().map(|l| l.height.0).collect();
    assert_eq!(heights, vec![3, 2, 1]);
    let cafe = store.history(&address(2), 10).unwrap();
    assert!(cafe.contains(&TxLocation {
        height: Height(3),
        index: 0
    }));
    // Every transaction is indexed where it is.
    for height in 1..=8 {
        let block = store.block(Height(height)).unwrap().unwrap();
        for (index, tx) in block.block.txs.iter().enumerate() {
            let id = tx.tx.id(&chain_id());
            assert_eq!(
                store.tx_location(&id).unwrap(),
                Some(TxLocation {
                    height: Height(height),
                    index: index as u32
                })
            );
        }
    }
    assert_eq!(store.members_at(Height(8)).unwrap(), state.member_set());
}

fn chain_id() -> guild_ledger::types::ChainId {
    guild_ledger::types::ChainId::new("main-street").unwrap()
}

#[test]
fn commit_new_records_a_member_set_only_when_it_changes() {
    let chain = example_chain(()).unwrap();
    let before = chain.state().clone();
    let shop = Keypair::from_secret(&[1; 32]);
    let mut builder = BlockBuilder::new(
        &before,
        chain.head(),
        Timestamp(chain.head().time.0 + 1_000),
        shop.address(),
    )
    .unwrap();
    let earn = Transaction {
        author: shop.address(),
        nonce: Nonce(7),
        body: TxBody::Earn {
            reason: guild_ledger::Memo::new("goodwill").unwrap(),
            customer: address(150),
            points: Points(3),
            purchase: None,
            receipt: ReceiptHash::new(&shop.address(), "x-1"),
        },
    }
    .sign(&shop, &chain_id())
    .verify(&chain_id())
    .unwrap();
    let id = earn.id();
    builder.push(earn).unwrap();
    let applied = builder.finish();
    let header = applied.block.header().clone();
    let certificate = CommitCertificate {
        height: header.height,
        round: 0,
        block_hash: header.hash(),
        signatures: vec![],
    };
    let (commit, after) = Commit::new(&before, applied, certificate.clone());
    assert_eq!(commit.tx_ids, vec![id]);
    assert_eq!(
        commit.involved,
        vec![{
            let mut v = vec![shop.address(), address(150)];
            v.sort();
            v
        }]
    );
    assert!(commit.new_members.is_none());
    assert!(!commit.changes.is_empty());
    assert_eq!(
        commit.block,
        FinalBlock {
            block: commit.block.block.clone(),
            certificate
        }
    );
    assert_eq!(commit.block.block.header, header);
    assert_eq!(after.root(), header.state_root);
}

#[test]
fn a_database_open_elsewhere_is_in_use_not_sled_jargon() {
    let dir = tempfile::tempdir().unwrap();
    let first = Store::open(dir.path(), 1 << 20).unwrap();
    let error = Store::open(dir.path(), 1 << 20).err().unwrap();
    assert!(
        matches!(&error, guild_store::StoreError::InUse { path } if path == &dir.path().display().to_string()),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "another guild node is already using {}",
            dir.path().display()
        )
    );
    drop(first);
}

#[test]
fn a_receipt_id_is_kept_only_for_its_own_hash_and_survives_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let (bakery, cafe) = (address(1), address(2));
    let hash = ReceiptHash::new(&bakery, "R-1001");
    {
        let store = Store::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(store.receipt_id(&bakery, &hash).unwrap(), None);
        // Another id, another shop's hash, too long or empty: not kept.
        assert!(!store.keep_receipt_id(&bakery, &hash, "R-1002").unwrap());
        assert!(!store.keep_receipt_id(&cafe, &hash, "R-1001").unwrap());
        let long = "R".repeat(65);
        let long_hash = ReceiptHash::new(&bakery, &long);
        assert!(!store.keep_receipt_id(&bakery, &long_hash, &long).unwrap());
        assert!(
            !store
                .keep_receipt_id(&bakery, &ReceiptHash::new(&bakery, ""), "")
                .unwrap()
        );
        assert_eq!(store.receipt_id(&bakery, &hash).unwrap(), None);
        assert!(store.keep_receipt_id(&bakery, &hash, "R-1001").unwrap());
        assert_eq!(
            store.receipt_id(&bakery, &hash).unwrap().as_deref(),
            Some("R-1001")
        );
        // The cafe's node would not know it.
        assert_eq!(store.receipt_id(&cafe, &hash).unwrap(), None);
        store.flush().unwrap();
    }
    let store = Store::open(dir.path(), 1 << 20).unwrap();
    assert_eq!(
        store.receipt_id(&bakery, &hash).unwrap().as_deref(),
        Some("R-1001")
    );
    // The chain's own tree holds nothing of it.
    assert!(store.raw_tree().iter().all(|item| {
        let (_, value) = item.unwrap();
        !value.windows(6).any(|w| w == b"R-1001")
    }));
}
