//! The KPIs, segments and history of a small high street, worked out by
//! hand.
//!
//! Bakery (shop 1) and Cafe (shop 2), customers c1…c5, one point a pound:
//!
//! | block | when (UTC) | what |
//! |---|---|---|
//! | 1 | Jan 5 10:00 | Bakery: c1 £10, c2 £20 (A-2) |
//! | 2 | Jan 20 10:00 | Bakery: c1 £5; Cafe: c3 £8 (B-1) |
//! | 3 | Feb 3 10:00 | Bakery: c1 £12; Cafe: c1 £4 (B-2); c2 redeems 15 at Bakery |
//! | 4 | Feb 3 11:00 | Cafe: c3 £6 (B-3) and £6 (B-4) |
//! | 5 | Feb 10 10:00 | Bakery: c4 £30 (A-5) |
//! | 6 | Feb 12 10:00 | Bakery refunds A-5 in full |
//! | 7 | Feb 20 10:00 | Cafe: c3 £3 (B-5) |
//! | 8 | Feb 25 10:00 | Bakery: c5 £7 (A-6) |
//! | 9 | Mar 2 10:00 | Cafe: c2 £9 (B-6) |

mod common;

use common::*;
use guild_insights::kpi::{self, Period};
use guild_insights::{Scope, Segment};

fn street() -> Street {
    let mut s = Street::new();
    let txs = vec![s.purchase(1, 1, 1000, "A-1"), s.purchase(1, 2, 2000, "A-2")];
    s.block(at("2026-01-05", 10), txs);
    let txs = vec![s.purchase(1, 1, 500, "A-3"), s.purchase(2, 3, 800, "B-1")];
    s.block(at("2026-01-20", 10), txs);
    let txs = vec![
        s.purchase(1, 1, 1200, "A-4"),
        s.purchase(2, 1, 400, "B-2"),
        s.redeem(2, 1, 15),
    ];
    s.block(at("2026-02-03", 10), txs);
    let txs = vec![s.purchase(2, 3, 600, "B-3"), s.purchase(2, 3, 600, "B-4")];
    s.block(at("2026-02-03", 11), txs);
    let txs = vec![s.purchase(1, 4, 3000, "A-5")];
    s.block(at("2026-02-10", 10), txs);
    let txs = vec![s.reverse(1, "A-5", None)];
    s.block(at("2026-02-12", 10), txs);
    let txs = vec![s.purchase(2, 3, 300, "B-5")];
    s.block(at("2026-02-20", 10), txs);
    let txs = vec![s.purchase(1, 5, 700, "A-6")];
    s.block(at("2026-02-25", 10), txs);
    let txs = vec![s.purchase(2, 2, 900, "B-6")];
    s.block(at("2026-03-02", 10), txs);
    s
}

fn february() -> Period {
    Period::new(day("2026-02-01"), day("2026-02-28")).unwrap()
}

#[test]
fn the_history_holds_purchase_days_refunds_and_points() {
    let s = street();
    let h = s.history();
    assert_eq!(h.height().0, 9);
    let customers = h.customers(Scope::Group);
    // c4's only purchase was refunded in full: no longer a customer.
    let who: Vec<_> = customers.iter().map(|c| c.address).collect();
    let mut expected = vec![
        customer(1).address(),
        customer(2).address(),
        customer(3).address(),
        customer(5).address(),
    ];
    expected.sort();
    assert_eq!(who, expected);
    let c3 = customers
        .iter()
        .find(|c| c.address == customer(3).address())
        .unwrap();
    // Jan 20, Feb 3 (two purchases), Feb 20.
    assert_eq!(c3.purchase_days(), 3);
    assert_eq!(c3.purchases(), 4);
    assert_eq!(c3.spend(), 800 + 600 + 600 + 300);
    assert_eq!(c3.first_day(), Some(day("2026-01-20")));
    assert_eq!(c3.last_day(), Some(day("2026-02-20")));
    let c2 = customers
        .iter()
        .find(|c| c.address == customer(2).address())
        .unwrap();
    assert_eq!(c2.shops, 2);
    assert_eq!((c2.points_earned, c2.points_redeemed), (20 + 9, 15));
    // At the Bakery alone, c2 earned 20 and spent 15 there.
    let bakery = h.customers(Scope::Shop(shop(1).address()));
    let c2_bakery = bakery
        .iter()
        .find(|c| c.address == customer(2).address())
        .unwrap();
    assert_eq!(
        (c2_bakery.points_earned, c2_bakery.points_redeemed),
        (20, 15)
    );
    assert_eq!(c2_bakery.spend(), 2000);
    // The refund took c4's 30 points back: Bakery issued 84, got 30 back,
    // 15 were redeemed: 39 outstanding.
    let stats = h.stats_at(&shop(1).address(), day("2026-03-31"));
    assert_eq!(
        (stats.issued.0, stats.reversed.0, stats.redeemed_issued.0),
        (84, 30, 15)
    );
    assert_eq!(stats.outstanding().0, 39);
    // Before its first block, nothing.
    assert_eq!(
        h.stats_at(&shop(1).address(), day("2026-01-04")).issued.0,
        0
    );
}

#[test]
fn group_kpis_of_february() {
    let s = street();
    let k = kpi::kpis(s.history(), s.state(), Scope::Group, february(), None);
    // Active in February: c1 (Feb 3), c3 (Feb 3, Feb 20), c5 (Feb 25); c4's
    // purchase was refunded, c2 only redeemed.
    assert_eq!(k.active, 3);
    assert_eq!(k.customers, 4);
    // New: c5. Repeat (two purchase days): c3.
    assert_eq!((k.new, k.repeat), (1, 1));
    assert_eq!(k.repeat_rate(), Some(1.0 / 3.0));
    // c1: 2 purchases (both on Feb 3), c3: 3, c5: 1; 12+4+6+6+3+7 pounds.
    assert_eq!(k.purchases, 6);
    assert_eq!(k.spend, 3_800);
    // Issued in February: 12+4+6+6+30+3+7 = 68 (the refunded 30
    // included); redeemed 15.
    assert_eq!((k.points_issued, k.points_redeemed), (68, 15));
    assert_eq!(k.redemption_rate(), Some(15.0 / 68.0));
    // Held at the end of February: 43 + 68 issued − 30 reversed − 15
    // redeemed.
    assert_eq!(k.liability, 66);
    // c1 bought at both shops on Feb 3.
    assert_eq!(k.multi_shop, 1);
    assert_eq!(k.multi_shop_share(), Some(1.0 / 3.0));
    // Only c5's first purchase is in February: a cohort of one, not back
    // in February.
    assert_eq!(k.cohorts.len(), 1);
    assert_eq!(k.cohorts[0].month, kpi::month_of(day("2026-02-01")));
    assert_eq!(
        (k.cohorts[0].customers, k.cohorts[0].active.clone()),
        (1, vec![1])
    );
    assert!(k.campaigns.is_empty());
}

#[test]
fn a_shops_kpis_count_its_purchases_only() {
    let s = street();
    let bakery = kpi::kpis(
        s.history(),
        s.state(),
        Scope::Shop(shop(1).address()),
        february(),
        None,
    );
    // c1 (£12 Feb 3) and c5 (£7 Feb 25; new at the Bakery).
    assert_eq!((bakery.active, bakery.new, bakery.repeat), (2, 1, 0));
    assert_eq!((bakery.purchases, bakery.spend), (2, 1_900));
    assert_eq!((bakery.points_issued, bakery.points_redeemed), (49, 15));
    assert_eq!(bakery.liability, 39);
    // c1 also bought at the Cafe that month.
    assert_eq!(bakery.multi_shop_share(), Some(0.5));

    let cafe = kpi::kpis(
        s.history(),
        s.state(),
        Scope::Shop(shop(2).address()),
        february(),
        None,
    );
    // c1 (new at the Cafe on Feb 3) and c3 (Feb 3 twice, Feb 20).
    assert_eq!((cafe.active, cafe.new, cafe.repeat), (2, 1, 1));
    assert_eq!((cafe.purchases, cafe.spend), (4, 1_900));
    assert_eq!((cafe.points_issued, cafe.points_redeemed), (19, 0));
    assert_eq!(cafe.redemption_rate(), Some(0.0));
    assert_eq!(cafe.liability, 27);
}

#[test]
fn retention_by_monthly_cohort() {
    let s = street();
    let quarter = Period::new(day("2026-01-01"), day("2026-03-31")).unwrap();
    let k = kpi::kpis(s.history(), s.state(), Scope::Group, quarter, None);
    let table: Vec<(u32, u32, Vec<u32>)> = k
        .cohorts
        .iter()
        .map(|c| (c.month, c.customers, c.active.clone()))
        .collect();
    let jan = kpi::month_of(day("2026-01-01"));
    // January: c1, c2, c3 — back in February c1 and c3, in March c2.
    // February: c5, not back in March.
    assert_eq!(
        table,
        vec![(jan, 3, vec![3, 2, 1]), (jan + 1, 1, vec![1, 0])]
    );
}

#[test]
fn segments_as_of_the_end_of_february() {
    // As of Feb 28: recency (days) / purchase days / spend:
    //   c1 25 / 3 / 3100   c2 54 / 1 / 2000   c3 8 / 3 / 2300   c5 3 / 1 / 700
    // R: c2 1, c1 2, c3 4, c5 5 (four distinct values: 1, 2, 4, 5).
    // F: the 1s tie (below 0, ties 2: 2), the 3s tie (below 2: 4).
    // → c1 (2, 4) at risk, c2 (1, 2) hibernating, c3 (4, 4) loyal,
    //   c5 (5, 2) potential loyalist.
    let s = street();
    let k = kpi::kpis(s.history(), s.state(), Scope::Group, february(), None);
    let named: Vec<(Segment, u32, u64)> = k
        .segments
        .iter()
        .filter(|s| s.customers > 0)
        .map(|s| (s.segment, s.customers, s.spend))
        .collect();
    assert_eq!(
        named,
        vec![
            (Segment::Loyal, 1, 2_300),
            (Segment::PotentialLoyalist, 1, 700),
            (Segment::AtRisk, 1, 3_100),
            (Segment::Hibernating, 1, 2_000),
        ]
    );
    assert_eq!(k.segments.len(), Segment::ALL.len());
    assert!(k.segments.iter().all(|s| s.average_clv.is_none()));
    // With lifetime values, their average per segment.
    let clv = [(customer(1).address(), 30.0), (customer(3).address(), 50.0)]
        .into_iter()
        .collect();
    let k = kpi::kpis(s.history(), s.state(), Scope::Group, february(), Some(&clv));
    let loyal = k
        .segments
        .iter()
        .find(|s| s.segment == Segment::Loyal)
        .unwrap();
    assert_eq!(loyal.average_clv, Some(50.0));
    let hibernating = k
        .segments
        .iter()
        .find(|s| s.segment == Segment::Hibernating)
        .unwrap();
    assert_eq!(hibernating.average_clv, None);
}

#[test]
fn periods_are_checked() {
    assert_eq!(
        Period::new(day("2026-02-02"), day("2026-02-01")),
        Err(kpi::PeriodError::Reversed)
    );
    // 2015-12-26 to 2026-01-01 is 3,660 days, both included.
    assert_eq!(
        Period::new(day("2015-12-26"), day("2026-01-01"))
            .unwrap()
            .days(),
        3_660
    );
    assert_eq!(
        Period::new(day("2015-12-25"), day("2026-01-01")),
        Err(kpi::PeriodError::TooLong { days: 3_661 })
    );
    assert_eq!(
        Period::new(day("2026-02-01"), day("2026-02-01"))
            .unwrap()
            .days(),
        1
    );
}

#[test]
fn the_bakerys_february_day_by_day_adds_up_to_its_kpis() {
    let s = street();
    let h = s.history();
    let scope = Scope::Shop(shop(1).address());
    let days = guild_insights::daily::daily(h, scope, &h.customers(scope), february());
    assert_eq!(days.len(), 28);
    assert_eq!(days[0].day, day("2026-02-01"));
    assert_eq!(days[27].day, day("2026-02-28"));
    let on = |d: &str| *days.iter().find(|f| f.day == day(d)).unwrap();
    // Feb 3: c1's £12 (12 points); c2 redeems 15 of the Bakery's points.
    let feb3 = on("2026-02-03");
    assert_eq!((feb3.purchases, feb3.spend), (1, 1_200));
    assert_eq!((feb3.points_issued, feb3.points_redeemed), (12, 15));
    // Feb 10: c4's £30 was refunded in full on Feb 12, so no purchase
    // stays, but its 30 points were issued that day (as the KPIs count).
    let feb10 = on("2026-02-10");
    assert_eq!((feb10.purchases, feb10.points_issued), (0, 30));
    assert_eq!(on("2026-02-25").points_issued, 7);
    assert_eq!(
        on("2026-02-04"),
        guild_insights::daily::DayFigures::empty(day("2026-02-04"))
    );
    let k = kpi::kpis(h, s.state(), scope, february(), None);
    let sum = |f: fn(&guild_insights::daily::DayFigures) -> u64| days.iter().map(f).sum::<u64>();
    assert_eq!(sum(|d| d.points_issued), k.points_issued);
    assert_eq!(sum(|d| d.points_redeemed), k.points_redeemed);
    assert_eq!(sum(|d| d.spend), k.spend);
    assert_eq!(sum(|d| d.points_expired), 0);
}
