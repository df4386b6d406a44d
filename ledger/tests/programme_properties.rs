//! Property tests of the programme over random sales, partial and full
//! refunds, transfers, redemptions, referrals, waits and restarts from a
//! snapshot (`State::from_entries(State::entries())`).
//!
//! After every block: no campaign has spent more than its budget, and what
//! it has spent is exactly the campaign cost of its sales less what their
//! refunds returned; a fully refunded sale has taken back or written off
//! exactly the points it gave (taken + shortfall == points), a partly
//! refunded one its share; receipts never claim more of a lot than the lot
//! holds; supply is conserved and each shop's liability is the points of
//! its issue held; net debts between shops equal cross-shop redemptions
//! plus co-funders' shares of the campaign cost still standing. At a
//! restart the rebuilt state has the same root, tiers, campaigns and sale
//! breakdowns; at the end, replaying the blocks from genesis gives the same
//! root (so the rebuilt indexes behaved like the live ones).

mod common;

use common::*;
use guild_ledger::genesis::GenesisProgramme;
use guild_ledger::programme::*;
use guild_ledger::state::{EarnKind, Effect};
use guild_ledger::types::{CampaignId, Permille};
use guild_ledger::*;
use proptest::prelude::*;
use std::collections::BTreeMap;

const SHOPS: usize = 3;
const CUSTOMERS: u8 = 4;

#[derive(Clone, Debug)]
enum Op {
    Sale {
        shop: usize,
        to: u8,
        amount: u64,
        coffee: u64,
        gift: u64,
        receipt: u8,
    },
    Refund {
        shop: usize,
        receipt: u8,
        /// `None`: everything left; else per mille of the sale amount.
        part: Option<u64>,
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
    Refer {
        who: u8,
        by: u8,
    },
    WaitDays(u64),
    Restart,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..SHOPS, 0..CUSTOMERS, 1u64..6_000, 0u64..3_000, 0u64..1_000, 0u8..10).prop_map(
            |(shop, to, amount, coffee, gift, receipt)| Op::Sale { shop, to, amount, coffee, gift, receipt }
        ),
        3 => (0..SHOPS, 0u8..10, proptest::option::of(1u64..1000))
            .prop_map(|(shop, receipt, part)| Op::Refund { shop, receipt, part }),
        2 => (0..CUSTOMERS, 0..CUSTOMERS, 1u64..300).prop_map(|(from, to, points)| Op::Transfer { from, to, points }),
        2 => (0..CUSTOMERS, 0..SHOPS, 1u64..300).prop_map(|(from, shop, points)| Op::Redeem { from, shop, points }),
        1 => (0..CUSTOMERS, 0..CUSTOMERS).prop_map(|(who, by)| Op::Refer { who, by }),
        1 => (0u64..40).prop_map(Op::WaitDays),
        1 => Just(Op::Restart),
    ]
}

/// Three shops with rules, tiers, and three campaigns: a x2 multiplier
/// co-funded by the bakery (60%) and the cafe (40%), a bonus with limits
/// and a holdout at the bookshop, a referral at the cafe.
fn setup() -> TestChain {
    let params = Params {
        point_expiry_days: 60,
        ..Params::default()
    };
    let programme = GenesisProgramme {
        tiers: silver_gold(),
        ..GenesisProgramme::default()
    };
    let mut c = TestChain::with_programme(SHOPS, params, programme);
    let mut bakery_rule = basic_rule();
    bakery_rule.excluded = vec![cat("gift-card")];
    bakery_rule.multipliers = vec![CategoryMultiplier {
        category: cat("coffee"),
        multiplier: Permille(1500),
    }];
    bakery_rule.cap = Some(Points(700));
    bakery_rule.min_spend = Cents(200);
    c.set_rule(0, bakery_rule).unwrap();
    let mut cafe_rule = basic_rule();
    cafe_rule.points = 3;
    cafe_rule.per = Cents(25);
    c.set_rule(1, cafe_rule).unwrap();
    c.set_rule(2, basic_rule()).unwrap();
    let (bakery, cafe, books) = (c.shop(0), c.shop(1), c.shop(2));
    let mut multiplier = campaign_spec(
        &[(bakery, 60), (cafe, 40)],
        Reward::Multiplier {
            multiplier: Permille(2000),
        },
    );
    multiplier.budget = Points(1_500);
    c.publish(0, multiplier).unwrap();
    c.submit(
        &c.shops[1].clone(),
        TxBody::ApproveCampaign {
            campaign: CampaignId(1),
        },
    )
    .unwrap();
    let mut bonus = campaign_spec(&[(books, 100)], Reward::Bonus { points: Points(40) });
    bonus.budget = Points(600);
    bonus.holdout = Permille(300);
    bonus.per_customer = Some(CustomerLimit {
        max_sales: 3,
        max_points: Points(100),
        period_days: 7,
    });
    c.publish(2, bonus).unwrap();
    let mut referral = campaign_spec(
        &[(cafe, 100)],
        Reward::Referral {
            referrer: Points(50),
            referred: Points(30),
        },
    );
    referral.budget = Points(400);
    c.publish(1, referral).unwrap();
    c
}

fn proportion(points: u64, part: u64, whole: u64) -> u64 {
    if whole == 0 || part >= whole {
        return points;
    }
    (u128::from(points) * u128::from(part) / u128::from(whole)) as u64
}

#[derive(Default)]
struct Model {
    /// Cross-shop redemptions: issuer owes the shop redeemed at.
    redeemed: BTreeMap<(Address, Address), u64>,
}

fn check(c: &TestChain, model: &Model) -> Result<(), TestCaseError> {
    let s = &c.state;
    prop_assert_eq!(s.supply().outstanding(), c.total_balances(), "supply");
    for m in s.members() {
        let held: u64 = s.accounts().map(|(_, a)| a.balance_of(&m.address).0).sum();
        prop_assert_eq!(m.stats.outstanding().0, held, "liability of {}", m.name);
    }
    // Campaign spending, from the receipts.
    let mut kept: BTreeMap<CampaignId, u64> = BTreeMap::new();
    let mut owed: BTreeMap<(Address, Address), i128> = BTreeMap::new();
    let mut claimed: BTreeMap<(Address, Address, Timestamp), u64> = BTreeMap::new();
    for (key, bytes) in s.entries() {
        let StateKey::Receipt { shop, .. } = key else {
            continue;
        };
        let r: EarnRecord = decode(&bytes).unwrap();
        *claimed.entry((r.customer, shop, r.expires_at)).or_default() += r.remaining.0;
        let (refunded, taken, short) = r
            .reversal
            .map_or((0, 0, 0), |v| (v.refunded.0, v.taken.0, v.shortfall.0));
        prop_assert!(r.remaining.0 + taken <= r.points.0);
        if r.kind == EarnKind::Sale {
            let total = r.purchase.unwrap().0;
            prop_assert_eq!(
                taken + short,
                proportion(r.points.0, refunded, total),
                "reversed in proportion"
            );
            if r.fully_reversed() {
                prop_assert_eq!(taken + short, r.points.0, "a full refund returns all");
                prop_assert_eq!(r.remaining, Points(0));
            }
            for cost in &r.campaigns {
                let spec = &s.campaign(cost.campaign).unwrap().spec;
                // A referrer's reward is never taken back: it stays spent.
                let fixed = match spec.reward {
                    Reward::Referral { referrer, .. } => referrer.0.min(cost.points.0),
                    _ => 0,
                };
                let returnable = cost.points.0 - fixed;
                let left = fixed + returnable - proportion(returnable, refunded, total);
                *kept.entry(cost.campaign).or_default() += left;
                for (funder, share) in spec.split_cost(Points(left), &shop) {
                    if funder != shop {
                        *owed.entry((funder, shop)).or_default() += i128::from(share.0);
                    }
                }
            }
        } else if r.reversal.is_some() {
            prop_assert_eq!(taken + short, r.points.0);
        }
    }
    for campaign in s.campaigns() {
        prop_assert!(campaign.spent <= campaign.spec.budget, "over budget");
        prop_assert_eq!(
            campaign.spent.0,
            kept.get(&campaign.id).copied().unwrap_or(0),
            "campaign {} spent",
            campaign.id
        );
    }
    for ((holder, issuer, expires), sum) in claimed {
        let lot = s
            .account(&holder)
            .and_then(|a| {
                a.lots
                    .iter()
                    .find(|l| l.issuer == issuer && l.expires_at == expires)
                    .map(|l| l.amount.0)
            })
            .unwrap_or(0);
        prop_assert!(sum <= lot, "receipts claim {} of a lot of {}", sum, lot);
    }
    // Net debts.
    for (pair, points) in &model.redeemed {
        *owed.entry(*pair).or_default() += i128::from(*points);
    }
    for i in 0..SHOPS {
        for j in (i + 1)..SHOPS {
            let (a, b) = (c.shop(i), c.shop(j));
            let ledger = i128::from(s.debt(&a, &b).0) - i128::from(s.debt(&b, &a).0);
            let expected =
                owed.get(&(a, b)).copied().unwrap_or(0) - owed.get(&(b, a)).copied().unwrap_or(0);
            prop_assert_eq!(ledger, expected, "net debt {} -> {}", i, j);
        }
    }
    Ok(())
}

/// A reversal takes only from its own receipt: every other receipt's
/// `remaining` is unchanged, its own falls by exactly what it took, the
/// customer's balance falls by the same, and taken + shortfall is what the
/// refund was due (the receipt's proportion, less what earlier refunds
/// already accounted for).
fn check_reversal(
    before: &State,
    after: &State,
    shop: &Address,
    receipt: &ReceiptHash,
    applied: &Applied,
) -> Result<(), TestCaseError> {
    let effects: Vec<(Address, Points, Points)> = applied
        .effects
        .iter()
        .filter_map(|e| match e.effect {
            Effect::Reversed {
                holder,
                taken,
                shortfall,
                ..
            } => Some((holder, taken, shortfall)),
            _ => None,
        })
        .collect();
    prop_assert_eq!(effects.len(), 1);
    let (holder, taken, shortfall) = effects[0];
    for (key, bytes) in before.entries() {
        let StateKey::Receipt {
            shop: s,
            receipt: r,
        } = key
        else {
            continue;
        };
        let old: EarnRecord = decode(&bytes).unwrap();
        let new = after.receipt(&s, &r).unwrap();
        if (s, r) == (*shop, *receipt) {
            prop_assert_eq!(new.remaining.0 + taken.0, old.remaining.0, "own receipt");
            let accounted = |r: &EarnRecord| r.reversal.map_or(0, |v| v.taken.0 + v.shortfall.0);
            prop_assert_eq!(
                accounted(new),
                accounted(&old) + taken.0 + shortfall.0,
                "taken + shortfall = due"
            );
        } else {
            prop_assert_eq!(
                new.remaining,
                old.remaining,
                "another receipt's remaining changed"
            );
        }
    }
    let balance = |s: &State| s.account(&holder).map_or(0, |a| a.balance().0);
    prop_assert_eq!(
        balance(after) + taken.0,
        balance(before),
        "the customer's balance"
    );
    Ok(())
}

/// The state rebuilt from its records must be the same state.
fn check_restart(c: &TestChain) -> Result<State, TestCaseError> {
    let rebuilt = State::from_entries(c.state.entries()).unwrap();
    prop_assert_eq!(rebuilt.root(), c.state.root());
    prop_assert_eq!(rebuilt.programme(), c.state.programme());
    prop_assert_eq!(
        rebuilt.campaigns().cloned().collect::<Vec<_>>(),
        c.state.campaigns().cloned().collect::<Vec<_>>()
    );
    for shop in 0..SHOPS {
        prop_assert_eq!(
            rebuilt
                .campaigns_of(&c.shop(shop))
                .map(|x| x.id)
                .collect::<Vec<_>>(),
            c.state
                .campaigns_of(&c.shop(shop))
                .map(|x| x.id)
                .collect::<Vec<_>>()
        );
    }
    let probe = basket(2_000, &[("coffee", 500)]);
    for n in 0..CUSTOMERS {
        let who = customer(n).address();
        let at = c.next_time();
        prop_assert_eq!(rebuilt.tier_of(&who, at), c.state.tier_of(&who, at));
        for shop in 0..SHOPS {
            let a = rebuilt.sale_breakdown(&c.shop(shop), &who, &probe, c.next_height(), at);
            let b = c
                .state
                .sale_breakdown(&c.shop(shop), &who, &probe, c.next_height(), at);
            prop_assert_eq!(a, b);
        }
    }
    Ok(rebuilt)
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut c = setup();
    let mut model = Model::default();
    for op in ops {
        let tx = match &op {
            Op::Sale {
                shop,
                to,
                amount,
                coffee,
                gift,
                receipt,
            } => {
                let coffee = (*coffee).min(*amount);
                let gift = (*gift).min(amount - coffee);
                let mut items = vec![];
                if coffee > 0 {
                    items.push(("coffee", coffee));
                }
                if gift > 0 {
                    items.push(("gift-card", gift));
                }
                let b = basket(*amount, &items);
                Some(c.sale_tx(*shop, &customer(*to).address(), &format!("S{receipt}"), &b))
            }
            Op::Refund {
                shop,
                receipt,
                part,
            } => {
                let key = c.shops[*shop].clone();
                let receipt = ReceiptHash::new(&key.address(), &format!("S{receipt}"));
                let amount = part.and_then(|p| {
                    c.state
                        .receipt(&key.address(), &receipt)
                        .and_then(|r| r.purchase)
                        .map(|total| Cents((total.0 * p / 1000).max(1)))
                });
                Some(c.tx(&key, TxBody::Reverse { receipt, amount }))
            }
            Op::Transfer { from, to, points } => Some(c.tx(
                &customer(*from),
                TxBody::Transfer {
                    to: customer(*to).address(),
                    points: Points(*points),
                    memo: None,
                },
            )),
            Op::Redeem { from, shop, points } => Some(c.tx(
                &customer(*from),
                TxBody::Redeem {
                    shop: c.shop(*shop),
                    points: Points(*points),
                },
            )),
            Op::Refer { who, by } => Some(c.tx(
                &customer(*who),
                TxBody::Refer {
                    referrer: customer(*by).address(),
                },
            )),
            Op::WaitDays(d) => {
                c.wait_days(*d);
                c.block(vec![]).unwrap();
                None
            }
            Op::Restart => {
                c.state = check_restart(&c)?;
                None
            }
        };
        if let Some(tx) = tx {
            let before = c.state.clone();
            let result = c.block(vec![tx.clone()]);
            if let (Ok(_), TxBody::Redeem { shop, points }) = (&result, &tx.tx().body) {
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
                        *model.redeemed.entry((lot.issuer, *shop)).or_default() += part;
                    }
                }
            }
            if let (Ok(applied), TxBody::Reverse { receipt, .. }) = (&result, &tx.tx().body) {
                check_reversal(&before, &c.state, &tx.tx().author, receipt, applied)?;
            }
            if let (Err(e), TxBody::Sale { .. }) = (&result, &tx.tx().body) {
                // A sale signed with the rules' own claim in its own block
                // is refused only for its receipt or the customer's key.
                prop_assert!(
                    matches!(e, TxError::DuplicateReceipt | TxError::SelfEarn),
                    "sale refused: {:?}",
                    e
                );
            }
        }
        check(&c, &model)?;
    }
    check_restart(&c)?;
    // Same blocks, same root.
    prop_assert_eq!(c.replay().root(), c.state.root());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn programme_invariants_hold_over_random_sales_and_refunds(
        ops in proptest::collection::vec(op(), 1..60)
    ) {
        run(ops)?;
    }
}

#[test]
fn a_campaign_never_spends_beyond_its_budget_under_pressure() {
    // Many sales at once against a small budget, then refunds and more
    // sales: the budget is given out exactly, never more.
    let mut c = setup();
    for round in 0..3u8 {
        for n in 0..CUSTOMERS {
            c.sale(
                0,
                &customer(n).address(),
                &format!("P{round}-{n}"),
                &basket(5_000, &[]),
            )
            .unwrap();
        }
        c.refund(0, &format!("P{round}-0"), Some(1_234)).unwrap();
        let campaign = c.state.campaign(CampaignId(1)).unwrap();
        assert!(campaign.spent <= campaign.spec.budget);
        check(&c, &Model::default())
            .map_err(|e| e.to_string())
            .unwrap();
    }
}
