//! Golden test vectors: the exact bytes and hashes of sample transactions, a
//! genesis and a block. Any change to the wire format fails here, so it is a
//! visible, deliberate decision. To accept a deliberate change, run
//! `GUILD_BLESS=1 cargo test -p guild-ledger --test golden` and commit the
//! updated `tests/golden/vectors.txt` with a note in docs/protocol.md.
//!
//! Every input of every vector (keys, authors, amounts, memo, nonce, chain
//! id, times, proposed member) is written out in docs/protocol.md §16; keep
//! that section in step with `vectors()`. `vectors.txt` itself cannot carry
//! comments: it is compared with `vectors()` line by line.

mod common;

use common::*;
use guild_ledger::*;

fn vectors() -> String {
    let c = TestChain::new(2);
    let bakery = &c.shops[0];
    let alice = customer(1);
    let mut out = String::new();
    let mut line = |name: &str, value: String| out.push_str(&format!("{name} {value}\n"));

    line("chain_id", c.chain_id.to_string());
    line("bakery_address", bakery.address().to_string());
    line("alice_address", alice.address().to_string());
    line("genesis_state_root", c.state.root().to_hex());
    line("genesis_header", hex::encode(encode(&c.header)));
    line("genesis_hash", c.header.hash().to_hex());

    let samples: Vec<(&str, &Keypair, TxBody)> = vec![
        (
            "earn",
            bakery,
            TxBody::Earn {
                reason: Memo::new("goodwill").unwrap(),
                customer: alice.address(),
                points: Points(120),
                purchase: Some(Cents(2_450)),
                receipt: ReceiptHash::new(&bakery.address(), "till-1/0001"),
            },
        ),
        (
            "reverse",
            bakery,
            TxBody::Reverse {
                amount: None,
                receipt: ReceiptHash::new(&bakery.address(), "till-1/0001"),
            },
        ),
        (
            "transfer",
            &alice,
            TxBody::Transfer {
                to: customer(2).address(),
                points: Points(20),
                memo: Some(Memo::new("happy birthday").unwrap()),
            },
        ),
        (
            "redeem",
            &alice,
            TxBody::Redeem {
                shop: c.shop(1),
                points: Points(50),
            },
        ),
        (
            "settle",
            &c.shops[1],
            TxBody::Settle {
                debtor: bakery.address(),
                points: Points(50),
            },
        ),
        (
            "propose",
            bakery,
            TxBody::Propose {
                action: GovernanceAction::AddMember {
                    name: ShopName::new("Corner Books").unwrap(),
                    address: key(30).address(),
                },
            },
        ),
        (
            "approve",
            &c.shops[1],
            TxBody::Approve {
                proposal: ProposalId(1),
            },
        ),
    ];
    let mut verified = Vec::new();
    for (name, author, body) in samples {
        let tx = Transaction {
            author: author.address(),
            nonce: Nonce(3),
            body,
        };
        let signed = tx.clone().sign(author, &c.chain_id);
        line(&format!("tx_{name}"), hex::encode(signed.to_bytes()));
        line(&format!("txid_{name}"), tx.id(&c.chain_id).to_string());
        verified.push(signed.verify(&c.chain_id).unwrap());
    }

    let ids: Vec<TxId> = verified.iter().map(VerifiedTx::id).collect();
    line("tx_root", tx_root(&ids).to_hex());
    let header = BlockHeader {
        height: Height(1),
        prev_hash: c.header.hash(),
        time: Timestamp(T0 + 1_000),
        proposer: bakery.address(),
        tx_root: tx_root(&ids),
        state_root: Hash([0x5a; 32]),
    };
    line("block_header", hex::encode(encode(&header)));
    line("block_hash", header.hash().to_hex());
    let vote = Vote {
        kind: VoteKind::Precommit,
        height: Height(1),
        round: 0,
        block: Some(header.hash()),
    };
    line("vote", hex::encode(encode(&vote)));
    line(
        "vote_signature",
        hex::encode(vote.sign(bakery, &c.chain_id).0),
    );

    // A real block 1: the earn applied to genesis.
    let mut chain = TestChain::new(2);
    chain.earn(0, &alice.address(), 120, "till-1/0001").unwrap();
    line("block1_state_root", chain.state.root().to_hex());
    line("block1", hex::encode(encode(&chain.blocks[0])));
    out
}

#[test]
fn wire_format_matches_the_golden_vectors() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/vectors.txt");
    let actual = vectors();
    if std::env::var_os("GUILD_BLESS").is_some() {
        std::fs::write(path, &actual).unwrap();
    }
    let expected = std::fs::read_to_string(path).unwrap();
    for (e, a) in expected.lines().zip(actual.lines()) {
        assert_eq!(e, a, "golden vector changed");
    }
    assert_eq!(expected.lines().count(), actual.lines().count());
}

#[test]
fn golden_transactions_decode_and_re_encode_to_the_same_bytes() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/vectors.txt");
    let text = std::fs::read_to_string(path).unwrap();
    for line in text
        .lines()
        .filter(|l| l.starts_with("tx_") && !l.starts_with("tx_root"))
    {
        let (_, hexed) = line.split_once(' ').unwrap();
        let bytes = hex::decode(hexed).unwrap();
        let tx: SignedTransaction = decode(&bytes).unwrap();
        assert_eq!(encode(&tx), bytes);
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(decode::<SignedTransaction>(&trailing).is_err());
    }
}
