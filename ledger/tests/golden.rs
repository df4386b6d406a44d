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
use guild_ledger::programme::evaluate::CampaignCost;
use guild_ledger::programme::*;
use guild_ledger::types::{CampaignId, CampaignName, Category, Permille, TierName};
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

    // The programme's transactions (docs/protocol.md §16.7), after the
    // vectors above so that those stay as they were; format vectors only,
    // signed with nonce 3 like the seven above, not in any block.
    let cafe = &c.shops[1];
    let sale_receipt = ReceiptHash::new(&bakery.address(), "till-1/0002");
    let coffee = Category::new("coffee").unwrap();
    let gift_card = Category::new("gift-card").unwrap();
    let silver = TierName::new("silver").unwrap();
    let programme: Vec<(&str, &Keypair, TxBody)> = vec![
        (
            "sale",
            bakery,
            TxBody::Sale {
                customer: alice.address(),
                receipt: sale_receipt,
                basket: Basket::new(
                    Cents(1_250),
                    vec![
                        BasketLine {
                            category: coffee.clone(),
                            amount: Cents(300),
                        },
                        BasketLine {
                            category: gift_card.clone(),
                            amount: Cents(200),
                        },
                    ],
                ),
                claim: Claim {
                    rule_version: 1,
                    tier: Some(silver.clone()),
                    campaigns: vec![CampaignCost {
                        campaign: CampaignId(1),
                        points: Points(125),
                    }],
                    total: Points(281),
                },
            },
        ),
        (
            "reverse_partial",
            bakery,
            TxBody::Reverse {
                receipt: sale_receipt,
                amount: Some(Cents(500)),
            },
        ),
        (
            "birthday",
            bakery,
            TxBody::Birthday {
                customer: alice.address(),
                receipt: ReceiptHash::new(&bakery.address(), "birthday/2026"),
                points: Points(200),
            },
        ),
        (
            "refer",
            &alice,
            TxBody::Refer {
                referrer: customer(2).address(),
            },
        ),
        (
            "set_earn_rule",
            bakery,
            TxBody::SetEarnRule {
                rule: EarnRuleSpec {
                    points: 1,
                    per: Cents(10),
                    min_spend: Cents(200),
                    multipliers: vec![CategoryMultiplier {
                        category: coffee.clone(),
                        multiplier: Permille(2_000),
                    }],
                    excluded: vec![gift_card],
                    cap: Some(Points(500)),
                    birthday: Points(200),
                },
                effective: Some(Height(10)),
            },
        ),
        (
            "publish_campaign",
            bakery,
            TxBody::PublishCampaign {
                campaign: CampaignSpec {
                    name: CampaignName::new("Double before nine").unwrap(),
                    // Sorted by address: the cafe's (0x81…) before the bakery's (0x8a…).
                    funders: vec![
                        Share {
                            shop: cafe.address(),
                            percent: 40,
                        },
                        Share {
                            shop: bakery.address(),
                            percent: 60,
                        },
                    ],
                    reward: Reward::Multiplier {
                        multiplier: Permille(2_000),
                    },
                    start: Timestamp(T0),
                    end: Timestamp(T0 + 30 * DAY),
                    days: 0b001_1111,
                    hours: Some((0, 9)),
                    categories: vec![coffee],
                    tiers: vec![silver],
                    first_purchase: false,
                    min_spend: Cents(500),
                    budget: Points(10_000),
                    per_customer: Some(CustomerLimit {
                        max_sales: 1,
                        max_points: Points(100),
                        period_days: 1,
                    }),
                    holdout: Permille(100),
                },
            },
        ),
        (
            "approve_campaign",
            cafe,
            TxBody::ApproveCampaign {
                campaign: CampaignId(1),
            },
        ),
        (
            "stop_campaign",
            cafe,
            TxBody::StopCampaign {
                campaign: CampaignId(1),
            },
        ),
        (
            "offer",
            cafe,
            TxBody::Offer {
                campaign: CampaignId(2),
                customer: customer(1).address(),
                receipt: ReceiptHash::new(&cafe.address(), "evt_winback_1"),
            },
        ),
        (
            "propose_set_tiers",
            bakery,
            TxBody::Propose {
                action: GovernanceAction::SetTiers {
                    tiers: silver_gold(),
                },
            },
        ),
    ];
    for (name, author, body) in programme {
        let tx = Transaction {
            author: author.address(),
            nonce: Nonce(3),
            body,
        };
        let signed = tx.clone().sign(author, &c.chain_id);
        line(&format!("tx_{name}"), hex::encode(signed.to_bytes()));
        line(&format!("txid_{name}"), tx.id(&c.chain_id).to_string());
    }
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
