//! Sales, refunds in part and in full (also in the block of the sale), and
//! a campaign with a holdout: what the history and the campaign results
//! make of them.

mod common;

use common::*;
use guild_insights::kpi::{self, Period};
use guild_insights::{Day, Scope};
use guild_ledger::programme::campaign::held_out;
use guild_ledger::programme::{Basket, CampaignSpec, EarnRuleSpec, Reward, Share};
use guild_ledger::types::{CampaignId, CampaignName, Permille};
use guild_ledger::*;

fn rule() -> EarnRuleSpec {
    EarnRuleSpec {
        points: 1,
        per: Cents(10),
        min_spend: Cents(0),
        multipliers: vec![],
        excluded: vec![],
        cap: None,
        birthday: Points(0),
    }
}

/// A sale at the Bakery in the next block, at `time`.
fn sale(
    s: &mut Street,
    customer_n: u8,
    pence: u64,
    receipt: &str,
    time: Timestamp,
) -> SignedTransaction {
    let bakery = shop(1);
    let customer = customer(customer_n).address();
    let basket = Basket::new(Cents(pence), vec![]);
    let height = Height(s.chain.height().0 + 1);
    let claim = s
        .state()
        .sale_breakdown(&bakery.address(), &customer, &basket, height, time)
        .unwrap()
        .claim();
    s.chain.sign(
        &bakery,
        TxBody::Sale {
            customer,
            receipt: ReceiptHash::new(&bakery.address(), receipt),
            basket,
            claim,
        },
    )
}

fn with_rule() -> Street {
    let mut s = Street::new();
    let publish = s.chain.sign(
        &shop(1),
        TxBody::SetEarnRule {
            rule: rule(),
            effective: None,
        },
    );
    s.block(at("2026-01-02", 9), vec![publish]);
    s
}

#[test]
fn refunds_lower_spend_and_a_full_refund_takes_the_purchase() {
    let mut s = with_rule();
    let t = at("2026-01-05", 10);
    // c1 buys £20 and is refunded £5 of it in the same block; c2 buys £8.
    let txs = vec![
        sale(&mut s, 1, 2000, "S-1", t),
        s.reverse(1, "S-1", Some(500)),
        sale(&mut s, 2, 800, "S-2", t),
    ];
    s.block(t, txs);
    let spend = |s: &Street, n: u8| {
        s.history()
            .customers(Scope::Group)
            .iter()
            .find(|c| c.address == customer(n).address())
            .map(|c| (c.purchases(), c.spend()))
    };
    assert_eq!(spend(&s, 1), Some((1, 1500)));
    assert_eq!(spend(&s, 2), Some((1, 800)));
    // A second partial refund, then the rest: the purchase goes.
    let txs = vec![s.reverse(1, "S-1", Some(1000))];
    s.block(at("2026-01-06", 10), txs);
    assert_eq!(spend(&s, 1), Some((1, 500)));
    let txs = vec![s.reverse(1, "S-1", None)];
    s.block(at("2026-01-07", 10), txs);
    assert_eq!(spend(&s, 1), None);
    // The points followed the ledger: 200 given, 50 + 100 + 50 taken back.
    let c2 = s.history().customers(Scope::Group);
    assert_eq!(c2.len(), 1);
    assert_eq!(c2[0].points_earned, 80);
    let bakery = s.history().stats_at(&shop(1).address(), day("2026-01-07"));
    assert_eq!((bakery.issued.0, bakery.reversed.0), (280, 200));
    // A sale and its full refund in one block leave nothing.
    let t = at("2026-01-08", 10);
    let txs = vec![sale(&mut s, 3, 1000, "S-3", t), s.reverse(1, "S-3", None)];
    s.block(t, txs);
    assert!(
        s.history()
            .customers(Scope::Group)
            .iter()
            .all(|c| c.address != customer(3).address())
    );
}

#[test]
fn a_campaign_with_a_holdout_is_compared_with_its_holdout() {
    let mut s = with_rule();
    // Twenty existing customers, each with a £5 purchase on Jan 5.
    let txs: Vec<_> = (1..=20)
        .map(|n| s.purchase(1, n, 500, &format!("G-{n}")))
        .collect();
    s.block(at("2026-01-05", 10), txs);
    let spec = CampaignSpec {
        name: CampaignName::new("January bonus").unwrap(),
        funders: vec![Share {
            shop: shop(1).address(),
            percent: 100,
        }],
        reward: Reward::Bonus { points: Points(50) },
        start: at("2026-01-10", 0),
        end: at("2026-02-10", 0),
        days: 0,
        hours: None,
        categories: vec![],
        tiers: vec![],
        first_purchase: false,
        min_spend: Cents(0),
        budget: Points(10_000),
        per_customer: None,
        holdout: Permille(500),
    };
    let publish = s
        .chain
        .sign(&shop(1), TxBody::PublishCampaign { campaign: spec });
    s.block(at("2026-01-08", 10), vec![publish]);
    let id = CampaignId(1);
    // During the campaign c1…c12 buy £10 each; c21 is new.
    let t = at("2026-01-15", 10);
    let mut txs: Vec<_> = (1..=12)
        .map(|n| sale(&mut s, n, 1000, &format!("S-{n}"), t))
        .collect();
    txs.push(sale(&mut s, 21, 2000, "S-21", t));
    s.block(t, txs);
    // The ledger held out some of them: they got no bonus.
    let is_held = |n: u8| held_out(id, &customer(n).address(), Permille(500));
    let treated_buyers = (1..=12).filter(|n| !is_held(*n)).count() as u32;
    let new_treated = u32::from(!is_held(21));
    let tally = s.history().campaign(id);
    assert_eq!(tally.sales, treated_buyers + new_treated);
    assert_eq!(tally.points, 50 * u64::from(tally.sales));
    assert_eq!(
        tally.spend,
        1000 * u64::from(treated_buyers) + 2000 * u64::from(new_treated)
    );
    // The state's budget record agrees.
    let campaign = s.state().campaign(id).unwrap();
    assert_eq!(campaign.spent.0, tally.points);

    let period = Period::new(day("2026-01-01"), day("2026-01-31")).unwrap();
    let k = kpi::kpis(
        s.history(),
        s.state(),
        Scope::Shop(shop(1).address()),
        period,
        None,
    );
    assert_eq!(k.campaigns.len(), 1);
    let result = &k.campaigns[0];
    assert_eq!(result.tally, tally);
    // It ran from Jan 10 to the head's day (it still runs).
    assert_eq!(
        result.ran,
        Some(Period {
            from: day("2026-01-10"),
            to: day("2026-01-15")
        })
    );
    let ab = result.ab.unwrap();
    // Eligible: the 20 who had bought before Jan 10 (c21 had not).
    assert_eq!(ab.eligible, 20);
    let held = (1..=20).filter(|n| is_held(*n)).count() as u32;
    let held_buyers = (1..=12).filter(|n| is_held(*n)).count() as u32;
    let c = ab.comparison;
    assert_eq!(
        (c.holdout.customers, c.treated.customers),
        (held, 20 - held)
    );
    assert_eq!(
        (c.holdout.purchasers, c.treated.purchasers),
        (held_buyers, treated_buyers)
    );
    let rate = |x: u32, n: u32| f64::from(x) / f64::from(n);
    let uplift = c.purchase_rate.unwrap();
    let expected = rate(treated_buyers, 20 - held) - rate(held_buyers, held);
    assert!((uplift.estimate - expected).abs() < 1e-12);
    let (low, high) = uplift.interval.unwrap();
    assert!(low < uplift.estimate && uplift.estimate < high);
    // Spend per customer in minor units: 1,000 pence (£10) for each buyer.
    let mean = c.treated.mean_spend().unwrap();
    assert!(
        (mean - 1000.0 * rate(treated_buyers, 20 - held)).abs() < 1e-9,
        "{mean}"
    );
    // Not in a period before it ran.
    let december =
        Period::new(Day(day("2026-01-01").0 - 31), Day(day("2026-01-01").0 - 1)).unwrap();
    let k = kpi::kpis(s.history(), s.state(), Scope::Group, december, None);
    assert!(k.campaigns.is_empty());
}

#[test]
fn each_reversal_is_kept_with_what_it_took_and_could_not_take() {
    // R-1001 gives 65 points, R-1002 one, the same day; c1 spends 10 at the
    // cafe; a partial then a full refund of R-1001.
    let mut s = with_rule();
    let t = at("2026-01-05", 10);
    let txs = vec![sale(&mut s, 1, 650, "R-1001", t)];
    s.block(t, txs);
    let t = at("2026-01-05", 10).0 + 1;
    let t = Timestamp(t);
    let txs = vec![sale(&mut s, 1, 10, "R-1002", t)];
    s.block(t, txs);
    let txs = vec![s.redeem(1, 2, 10)];
    s.block(at("2026-01-05", 11), txs);
    let txs = vec![s.reverse(1, "R-1001", Some(325))];
    s.block(at("2026-01-06", 10), txs);
    let h1 = s.history().height();
    let txs = vec![s.reverse(1, "R-1001", None)];
    s.block(at("2026-01-07", 10), txs);
    let h2 = s.history().height();
    let first = s.history().reversal(h1, 0).unwrap();
    assert_eq!(first.shop, shop(1).address());
    assert_eq!(first.customer, customer(1).address());
    // 32 due of the 55 left of R-1001: all taken.
    assert_eq!((first.taken, first.shortfall), (Points(32), Points(0)));
    // The other 33 due, 23 left: 23 taken, 10 already spent.
    let second = s.history().reversal(h2, 0).unwrap();
    assert_eq!((second.taken, second.shortfall), (Points(23), Points(10)));
    // Not a reversal: nothing.
    assert_eq!(s.history().reversal(h2, 1), None);
    assert_eq!(s.history().reversal(Height(h1.0 - 1), 0), None);
    // R-1002's point is still the customer's.
    let record = s
        .state()
        .receipt(
            &shop(1).address(),
            &ReceiptHash::new(&shop(1).address(), "R-1002"),
        )
        .unwrap();
    assert_eq!(record.remaining, Points(1));
}
