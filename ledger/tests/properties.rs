//! Property tests over random sequences of valid and invalid transactions.
//!
//! After every block: supply is conserved, no balance is negative (lots are
//! never empty), debts equal cross-shop redemptions minus settlements,
//! per-shop liability equals the points of its issue held, replays and
//! other-network signatures are refused; at the end, re-running the same
//! blocks gives the same root and balance proofs verify while tampered ones
//! fail.

mod common;

use common::*;
use guild_ledger::*;
use proptest::prelude::*;
use std::collections::BTreeMap;

const SHOPS: usize = 3;
const CUSTOMERS: u8 = 4;

#[derive(Clone, Debug)]
enum Op {
    Earn {
        shop: usize,
        to: u8,
        points: u64,
        receipt: u8,
    },
    Reverse {
        shop: usize,
        receipt: u8,
    },
    Transfer {
        from: u8,
        to: u8,
        points: u64,
    },
    Redeem {
        from: u8,
        shop: usize,
        points: u64,
    },
    Settle {
        creditor: usize,
        debtor: usize,
        points: u64,
    },
    Replay,
    OtherChain {
        from: u8,
    },
    WaitDays(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..SHOPS, 0..CUSTOMERS, 0u64..60, 0u8..8)
            .prop_map(|(shop, to, points, receipt)| Op::Earn { shop, to, points, receipt }),
        1 => (0..SHOPS, 0u8..8).prop_map(|(shop, receipt)| Op::Reverse { shop, receipt }),
        3 => (0..CUSTOMERS, 0..CUSTOMERS, 0u64..50).prop_map(|(from, to, points)| Op::Transfer { from, to, points }),
        3 => (0..CUSTOMERS, 0..SHOPS, 0u64..50).prop_map(|(from, shop, points)| Op::Redeem { from, shop, points }),
        1 => (0..SHOPS, 0..SHOPS, 0u64..40).prop_map(|(creditor, debtor, points)| Op::Settle { creditor, debtor, points }),
        1 => Just(Op::Replay),
        1 => (0..CUSTOMERS).prop_map(|from| Op::OtherChain { from }),
        1 => (0u64..20).prop_map(Op::WaitDays),
    ]
}

/// What the test expects debts to be: cross-shop redemptions minus
/// settlements, tracked independently of the ledger.
#[derive(Default)]
struct Model {
    debts: BTreeMap<(Address, Address), u64>,
    accepted: Vec<VerifiedTx>,
}

fn check_invariants(c: &TestChain, model: &Model) -> Result<(), TestCaseError> {
    let supply = c.state.supply();
    prop_assert_eq!(
        supply.outstanding(),
        c.total_balances(),
        "supply conservation"
    );
    prop_assert_eq!(
        supply.issued.0,
        supply.reversed.0 + supply.redeemed.0 + supply.expired.0 + c.total_balances().0
    );
    for (_, account) in c.state.accounts() {
        prop_assert!(account.lots.iter().all(|l| !l.amount.is_zero()));
        prop_assert!(
            account
                .lots
                .iter()
                .all(|l| l.expires_at.0 > c.state.chain().time.0),
            "no expired lot counts"
        );
    }
    for m in c.state.members() {
        let held: u64 = c
            .state
            .accounts()
            .map(|(_, a)| a.balance_of(&m.address).0)
            .sum();
        prop_assert_eq!(m.stats.outstanding().0, held, "liability of {}", m.name);
    }
    let ledger: BTreeMap<(Address, Address), u64> =
        c.state.debts().map(|(k, v)| (*k, v.0)).collect();
    let expected: BTreeMap<(Address, Address), u64> = model
        .debts
        .iter()
        .filter(|(_, v)| **v > 0)
        .map(|(k, v)| (*k, *v))
        .collect();
    prop_assert_eq!(
        ledger,
        expected,
        "debts = cross-shop redemptions - settlements"
    );
    Ok(())
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let params = Params {
        point_expiry_days: 30,
        ..Params::default()
    };
    let mut c = TestChain::with_params(SHOPS, params.clone());
    let mut model = Model::default();
    let cust = |n: u8| customer(n);
    for op in ops {
        let tx = match &op {
            Op::Earn {
                shop,
                to,
                points,
                receipt,
            } => {
                let body = TxBody::Earn {
                    reason: guild_ledger::Memo::new("goodwill").unwrap(),
                    customer: cust(*to).address(),
                    points: Points(*points),
                    purchase: None,
                    receipt: ReceiptHash::new(&c.shop(*shop), &format!("R{receipt}")),
                };
                Some(c.tx(&c.shops[*shop], body))
            }
            Op::Reverse { shop, receipt } => {
                let body = TxBody::Reverse {
                    amount: None,
                    receipt: ReceiptHash::new(&c.shop(*shop), &format!("R{receipt}")),
                };
                Some(c.tx(&c.shops[*shop], body))
            }
            Op::Transfer { from, to, points } => Some(c.tx(
                &cust(*from),
                TxBody::Transfer {
                    to: cust(*to).address(),
                    points: Points(*points),
                    memo: None,
                },
            )),
            Op::Redeem { from, shop, points } => Some(c.tx(
                &cust(*from),
                TxBody::Redeem {
                    shop: c.shop(*shop),
                    points: Points(*points),
                },
            )),
            Op::Settle {
                creditor,
                debtor,
                points,
            } => Some(c.tx(
                &c.shops[*creditor],
                TxBody::Settle {
                    debtor: c.shop(*debtor),
                    points: Points(*points),
                },
            )),
            Op::Replay => {
                if let Some(old) = model.accepted.last().cloned() {
                    let before = c.state.root();
                    let refused = c.block(vec![old]);
                    prop_assert!(
                        matches!(refused, Err(TxError::Replay { .. })),
                        "replay accepted: {:?}",
                        refused
                    );
                    prop_assert_eq!(c.state.root(), before);
                }
                None
            }
            Op::OtherChain { from } => {
                let signed = Transaction {
                    author: cust(*from).address(),
                    nonce: Nonce(0),
                    body: TxBody::Transfer {
                        to: cust(0).address(),
                        points: Points(1),
                        memo: None,
                    },
                }
                .sign(&cust(*from), &ChainId::new("other-street").unwrap());
                prop_assert!(signed.verify(&c.chain_id).is_err());
                None
            }
            Op::WaitDays(d) => {
                c.wait_days(*d);
                c.block(vec![]).unwrap();
                None
            }
        };
        if let Some(tx) = tx {
            // The state the transaction meets, to predict its debts.
            let before = c.state.clone();
            if c.block(vec![tx.clone()]).is_ok() {
                model.accepted.push(tx.clone());
                match &tx.tx().body {
                    TxBody::Redeem { shop, points } => {
                        // Soonest-expiry-first: recompute what was consumed.
                        let mut left = points.0;
                        let account = before.account(&tx.tx().author).cloned().unwrap_or_default();
                        for lot in account
                            .lots
                            .iter()
                            .filter(|l| l.expires_at.0 > c.state.chain().time.0)
                        {
                            let part = lot.amount.0.min(left);
                            left -= part;
                            if lot.issuer != *shop && part > 0 {
                                *model.debts.entry((lot.issuer, *shop)).or_default() += part;
                            }
                        }
                    }
                    TxBody::Settle { debtor, points } => {
                        let entry = model.debts.entry((*debtor, tx.tx().author)).or_default();
                        prop_assert!(*entry >= points.0);
                        *entry -= points.0;
                    }
                    _ => {}
                }
            }
        }
        check_invariants(&c, &model)?;
    }

    // Re-running the same blocks from genesis gives the same state root.
    let (mut state, mut header) = Genesis {
        programme: Default::default(),
        chain_id: c.chain_id.clone(),
        time: Timestamp(T0),
        members: (0..SHOPS)
            .map(|i| GenesisMember {
                name: c.state.member(&c.shop(i)).unwrap().name.clone(),
                address: c.shop(i),
            })
            .collect(),
        params,
    }
    .build()
    .unwrap();
    for block in &c.blocks {
        let verified = block.clone().verify_signatures(&c.chain_id).unwrap();
        let applied = state.apply_block(&header, &verified).unwrap();
        state = applied.state;
        header = applied.block.header().clone();
    }
    prop_assert_eq!(state.root(), c.state.root());

    // Balance proofs verify against the root; tampered ones fail.
    for n in 0..CUSTOMERS {
        let proof = c.state.prove_account(&cust(n).address());
        prop_assert_eq!(proof.verify(&c.header.state_root), Ok(()));
        if let Some(mut account) = proof.account.clone() {
            account.nonce = Nonce(account.nonce.0 + 1);
            let tampered = AccountProof {
                account: Some(account),
                ..proof
            };
            prop_assert!(tampered.verify(&c.header.state_root).is_err());
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn ledger_invariants_hold_over_random_transactions(ops in proptest::collection::vec(op(), 1..60)) {
        run(ops)?;
    }
}
