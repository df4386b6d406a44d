//! The programme's state transition: sales whose points every node
//! recomputes, rule versions, campaigns (co-funded, budgets, debts),
//! tiers, birthday and referral rewards, partial refunds and the
//! per-receipt `remaining` points. One test per rule and per error path.

mod common;

use common::*;
use guild_ledger::genesis::GenesisProgramme;
use guild_ledger::programme::campaign::CampaignError;
use guild_ledger::programme::campaign::held_out;
use guild_ledger::programme::evaluate::{CampaignCost, Limit, NotGiven, Outcome, RulesChange};
use guild_ledger::programme::rule::{BasketError, RuleError};
use guild_ledger::programme::*;
use guild_ledger::state::{EarnKind, Effect, MAX_OPEN_CAMPAIGNS};
use guild_ledger::types::{CampaignId, CampaignName, Permille, TierName};
use guild_ledger::*;

/// Two shops (bakery 0, cafe 1), both with the basic rule in force.
fn two_shops() -> TestChain {
    shops_with_rules(2, GenesisProgramme::default())
}

fn shops_with_rules(n: usize, programme: GenesisProgramme) -> TestChain {
    let mut c = TestChain::with_programme(n, Params::default(), programme);
    for shop in 0..n {
        c.set_rule(shop, basic_rule()).unwrap();
    }
    c.block(vec![]).unwrap();
    c
}

fn with_tiers() -> TestChain {
    shops_with_rules(
        2,
        GenesisProgramme {
            tiers: silver_gold(),
            ..GenesisProgramme::default()
        },
    )
}

fn sale_body(
    c: &TestChain,
    shop: usize,
    customer: &Address,
    receipt: &str,
    b: &Basket,
    claim: Claim,
) -> TxBody {
    TxBody::Sale {
        customer: *customer,
        receipt: ReceiptHash::new(&c.shop(shop), receipt),
        basket: b.clone(),
        claim,
    }
}

fn double() -> Reward {
    Reward::Multiplier {
        multiplier: Permille(2000),
    }
}

fn code(r: Result<Applied, TxError>) -> &'static str {
    r.map(|_| ()).unwrap_err().code()
}

// ----- sales -----------------------------------------------------------------

#[test]
fn a_sale_gives_what_the_rules_give_and_records_it() {
    let mut c = two_shops();
    let alice = customer(1).address();
    let b = c.sale(0, &alice, "S-1", &basket(1250, &[])).unwrap();
    assert_eq!(b.total, Points(125));
    assert_eq!(c.balance(&alice), Points(125));
    let r = c.record(0, "S-1");
    assert_eq!(r.kind, EarnKind::Sale);
    assert_eq!(
        (r.points, r.remaining, r.purchase),
        (Points(125), Points(125), Some(Cents(1250)))
    );
    let record = c.state.customer(&alice).unwrap();
    assert_eq!(record.shops, vec![c.shop(0)]);
    assert_eq!(record.earned_in_window(r.day, 365), Points(125));
    assert_eq!(c.state.supply().issued, Points(125));
    assert_eq!(c.state.member(&c.shop(0)).unwrap().stats.granted, Points(0));
}

#[test]
fn a_sale_at_a_shop_without_a_rule_is_refused() {
    let mut c = TestChain::new(2);
    let alice = customer(1).address();
    let claim = Claim {
        rule_version: 1,
        tier: None,
        campaigns: vec![],
        total: Points(125),
    };
    let body = sale_body(&c, 0, &alice, "S-1", &basket(1250, &[]), claim);
    let err = c.submit(&c.shops[0].clone(), body).unwrap_err();
    assert_eq!(err, TxError::NoEarnRule);
    assert_eq!(err.code(), "no_earn_rule");
    let shop = c.shops[0].clone();
    let err = c
        .submit(
            &shop,
            TxBody::Birthday {
                customer: alice,
                receipt: ReceiptHash::new(&shop.address(), "B-1"),
                points: Points(10),
            },
        )
        .unwrap_err();
    assert_eq!(err, TxError::NoEarnRule);
}

#[test]
fn a_claim_the_rules_do_not_give_is_refused_with_both_figures() {
    let mut c = two_shops();
    let alice = customer(1).address();
    let b = basket(1250, &[]);
    let mut claim = c.breakdown(0, &alice, &b).claim();
    claim.total = Points(130);
    let body = sale_body(&c, 0, &alice, "S-1", &b, claim);
    let before = c.state.root();
    let err = c.submit(&c.shops[0].clone(), body).unwrap_err();
    assert_eq!(err.code(), "points_mismatch");
    assert_eq!(
        err.to_string(),
        "points mismatch: rules give 125, transaction claims 130"
    );
    assert_eq!(c.state.root(), before);
    assert_eq!(c.balance(&alice), Points(0));
}

#[test]
fn a_claim_made_under_an_older_rule_version_is_rules_changed() {
    let mut c = two_shops();
    let alice = customer(1).address();
    let b = basket(1250, &[]);
    let claim = c.breakdown(0, &alice, &b).claim();
    let nonce = c.state.account(&c.shop(0)).unwrap().nonce;
    let body = sale_body(&c, 0, &alice, "S-1", &b, claim);
    // Signed after the rule change below, with the claim made before it.
    let signed = c.tx_with_nonce(&c.shops[0], Nonce(nonce.0 + 1), body);
    // A new version takes effect before the sale is included.
    let mut rule = basic_rule();
    rule.points = 2;
    c.set_rule(0, rule).unwrap();
    let err = c.block(vec![signed]).unwrap_err();
    assert_eq!(err.code(), "rules_changed");
    assert_eq!(
        err,
        TxError::RulesChanged(RulesChange::RuleVersion { now: 2, signed: 1 })
    );
    // Re-signed, it goes through with the new rule.
    assert_eq!(c.sale(0, &alice, "S-1", &b).unwrap().total, Points(250));
}

#[test]
fn a_claim_made_before_the_customer_changed_tier_is_rules_changed() {
    let mut c = with_tiers();
    let alice = customer(1).address();
    let small = basket(1250, &[]);
    let signed = c.sale_tx(0, &alice, "S-2", &small);
    // Meanwhile a 500-point sale makes Alice silver.
    c.sale(1, &alice, "C-1", &basket(5000, &[])).unwrap();
    let err = c.block(vec![signed]).unwrap_err();
    assert!(
        matches!(&err, TxError::RulesChanged(RulesChange::Tier { now: Some(t), signed: None }) if t.as_str() == "silver"),
        "{err:?}"
    );
}

#[test]
fn two_sales_signed_against_the_same_budget_the_second_is_rules_changed() {
    let mut c = two_shops();
    let mut spec = campaign_spec(&[(c.shop(0), 100)], Reward::Bonus { points: Points(50) });
    spec.budget = Points(80);
    let id = c.publish(0, spec).unwrap();
    let (alice, bob) = (customer(1).address(), customer(2).address());
    let first = c.sale_tx(0, &alice, "S-1", &basket(1000, &[]));
    let claim = c.breakdown(0, &bob, &basket(1000, &[])).claim();
    let body = sale_body(&c, 0, &bob, "S-2", &basket(1000, &[]), claim);
    let second = c.tx_with_nonce(&c.shops[0], Nonce(first.tx().nonce.0 + 1), body);
    // Each was signed seeing the whole budget; one block cannot give both.
    let err = c.block(vec![first.clone(), second]).unwrap_err();
    assert_eq!(
        err,
        TxError::RulesChanged(RulesChange::Campaigns {
            now: vec![CampaignCost {
                campaign: id,
                points: Points(30)
            }],
            signed: vec![CampaignCost {
                campaign: id,
                points: Points(50)
            }],
        })
    );
    c.block(vec![first]).unwrap();
    let b = c.sale(0, &bob, "S-2", &basket(1000, &[])).unwrap();
    assert_eq!(b.campaigns[0].outcome, Outcome::Limited(Limit::Budget));
    assert_eq!(b.total, Points(130));
    assert_eq!(c.state.campaign(id).unwrap().spent, Points(80));
    let b = c.sale(0, &bob, "S-3", &basket(1000, &[])).unwrap();
    assert_eq!(
        b.campaigns[0].outcome,
        Outcome::NotGiven(NotGiven::BudgetSpent)
    );
}

#[test]
fn malformed_baskets_are_refused() {
    let mut c = two_shops();
    let alice = customer(1).address();
    let shop = c.shops[0].clone();
    let claim = Claim::default();
    let cases = [
        (basket(1000, &[("coffee", 1200)]), "items exceed"),
        (
            Basket {
                amount: Cents(0),
                items: vec![],
            },
            "zero",
        ),
        (
            Basket {
                amount: Cents(1000),
                items: vec![
                    BasketLine {
                        category: cat("tea"),
                        amount: Cents(1),
                    },
                    BasketLine {
                        category: cat("coffee"),
                        amount: Cents(1),
                    },
                ],
            },
            "unsorted",
        ),
        (basket(1000, &[("coffee", 0)]), "zero line"),
        (
            Basket {
                amount: Cents(1_000_000_001),
                items: vec![],
            },
            "too large",
        ),
    ];
    for (b, what) in cases {
        let err = c
            .submit(&shop, sale_body(&c, 0, &alice, "S-1", &b, claim.clone()))
            .unwrap_err();
        assert_eq!(err.code(), "invalid_basket", "{what}");
    }
    let err = c
        .submit(
            &shop,
            sale_body(
                &c,
                0,
                &alice,
                "S-1",
                &basket(1000, &[("coffee", 1200)]),
                claim,
            ),
        )
        .unwrap_err();
    assert_eq!(
        err,
        TxError::InvalidBasket(BasketError::ItemsExceedAmount {
            items: Cents(1200),
            amount: Cents(1000)
        })
    );
}

// ----- earn rules -------------------------------------------------------------

#[test]
fn invalid_rules_and_rules_not_in_the_future_are_refused() {
    let mut c = TestChain::new(2);
    let shop = c.shops[0].clone();
    let mut bad = basic_rule();
    bad.per = Cents(0);
    let effective = Height(c.next_height().0 + 1);
    let err = c
        .submit(
            &shop,
            TxBody::SetEarnRule {
                rule: bad,
                effective: Some(effective),
            },
        )
        .unwrap_err();
    assert_eq!(err, TxError::InvalidRule(RuleError::BadRate));
    assert_eq!(err.code(), "invalid_rule");
    let mut bad = basic_rule();
    bad.excluded = vec![cat("gift-card")];
    bad.multipliers = vec![CategoryMultiplier {
        category: cat("gift-card"),
        multiplier: Permille(2000),
    }];
    let err = c
        .submit(
            &shop,
            TxBody::SetEarnRule {
                rule: bad,
                effective: Some(Height(c.next_height().0 + 1)),
            },
        )
        .unwrap_err();
    assert_eq!(err, TxError::InvalidRule(RuleError::BadCategories));
    let mut bad = basic_rule();
    bad.cap = Some(Points(0));
    let err = c
        .submit(
            &shop,
            TxBody::SetEarnRule {
                rule: bad,
                effective: Some(Height(c.next_height().0 + 1)),
            },
        )
        .unwrap_err();
    assert_eq!(err, TxError::InvalidRule(RuleError::ZeroCap));
    // The block it is in is not the future.
    let now = c.next_height();
    let err = c
        .submit(
            &shop,
            TxBody::SetEarnRule {
                rule: basic_rule(),
                effective: Some(now),
            },
        )
        .unwrap_err();
    assert_eq!(
        err,
        TxError::InvalidRule(RuleError::NotInFuture {
            effective: now,
            current: now
        })
    );
    // A customer cannot publish one.
    let err = c
        .submit(
            &customer(1),
            TxBody::SetEarnRule {
                rule: basic_rule(),
                effective: Some(Height(100)),
            },
        )
        .unwrap_err();
    assert_eq!(err.code(), "not_a_member");
}

#[test]
fn a_new_rule_version_applies_from_its_effective_height_only() {
    let mut c = two_shops();
    let alice = customer(1).address();
    let b = basket(1000, &[]);
    let effective = Height(c.next_height().0 + 3);
    let mut v2 = basic_rule();
    v2.points = 3;
    c.submit(
        &c.shops[0].clone(),
        TxBody::SetEarnRule {
            rule: v2,
            effective: Some(effective),
        },
    )
    .unwrap();
    assert_eq!(c.state.rules(&c.shop(0)).unwrap().latest_version(), 2);
    let mut seen = vec![];
    for i in 0..3 {
        let h = c.next_height();
        let bd = c.sale(0, &alice, &format!("S-{i}"), &b).unwrap();
        seen.push((h.0 >= effective.0, bd.rule_version, bd.total.0));
    }
    assert_eq!(seen, vec![(false, 1, 100), (false, 1, 100), (true, 2, 300)]);
    // The other shop's rule is untouched.
    assert_eq!(c.sale(1, &alice, "C-1", &b).unwrap().rule_version, 1);
}

// ----- campaigns --------------------------------------------------------------

#[test]
fn invalid_campaigns_are_refused() {
    let mut c = two_shops();
    let (bakery, cafe) = (c.shop(0), c.shop(1));
    let shop = c.shops[0].clone();
    let bonus = || Reward::Bonus { points: Points(10) };
    let mut cases: Vec<(CampaignSpec, TxError)> = vec![];
    cases.push((
        campaign_spec(&[(bakery, 60), (cafe, 30)], bonus()),
        CampaignError::BadShares.into(),
    ));
    cases.push((
        campaign_spec(&[(cafe, 100)], bonus()),
        CampaignError::PublisherNotFunder.into(),
    ));
    let outsider = key(50).address();
    cases.push((
        campaign_spec(&[(bakery, 50), (outsider, 50)], bonus()),
        CampaignError::FunderNotMember { shop: outsider }.into(),
    ));
    let mut s = campaign_spec(&[(bakery, 100)], bonus());
    s.end = s.start;
    cases.push((s, CampaignError::BadTimes.into()));
    let mut s = campaign_spec(&[(bakery, 100)], bonus());
    s.end = Timestamp(T0 + 1);
    cases.push((s, CampaignError::BadTimes.into()));
    let mut s = campaign_spec(&[(bakery, 100)], bonus());
    s.hours = Some((9, 9));
    cases.push((s, CampaignError::BadHours.into()));
    let mut s = campaign_spec(&[(bakery, 100)], bonus());
    s.days = 0x80;
    cases.push((s, CampaignError::BadDays.into()));
    cases.push((
        campaign_spec(
            &[(bakery, 100)],
            Reward::Multiplier {
                multiplier: Permille(1000),
            },
        ),
        CampaignError::BadReward.into(),
    ));
    let mut s = campaign_spec(&[(bakery, 100)], bonus());
    s.budget = Points(0);
    cases.push((s, CampaignError::ZeroBudget.into()));
    let mut s = campaign_spec(&[(bakery, 100)], bonus());
    s.holdout = Permille(501);
    cases.push((s, CampaignError::BadHoldout.into()));
    let mut s = campaign_spec(&[(bakery, 100)], bonus());
    s.categories = vec![cat("tea"), cat("coffee")];
    cases.push((s, CampaignError::BadLists.into()));
    let mut s = campaign_spec(
        &[(bakery, 100)],
        Reward::Referral {
            referrer: Points(10),
            referred: Points(10),
        },
    );
    s.first_purchase = true;
    cases.push((s, CampaignError::ReferralFilters.into()));
    for (spec, expected) in cases {
        let err = c
            .submit(&shop, TxBody::PublishCampaign { campaign: spec })
            .unwrap_err();
        assert_eq!(err.code(), "invalid_campaign");
        assert_eq!(err, expected);
    }
    assert_eq!(c.state.programme().next_campaign, CampaignId(1));
    assert_eq!(c.state.campaigns().count(), 0);
}

#[test]
fn a_shop_may_fund_a_bounded_number_of_open_campaigns() {
    let mut c = two_shops();
    let bakery = c.shop(0);
    for _ in 0..MAX_OPEN_CAMPAIGNS {
        c.publish(
            0,
            campaign_spec(&[(bakery, 100)], Reward::Bonus { points: Points(1) }),
        )
        .unwrap();
    }
    let err = c
        .publish(
            0,
            campaign_spec(&[(bakery, 100)], Reward::Bonus { points: Points(1) }),
        )
        .unwrap_err();
    assert_eq!(
        err,
        TxError::TooManyCampaigns {
            max: MAX_OPEN_CAMPAIGNS
        }
    );
    // A stopped one no longer counts.
    c.submit(
        &c.shops[0].clone(),
        TxBody::StopCampaign {
            campaign: CampaignId(1),
        },
    )
    .unwrap();
    c.publish(
        0,
        campaign_spec(&[(bakery, 100)], Reward::Bonus { points: Points(1) }),
    )
    .unwrap();
}

#[test]
fn campaign_approval_and_stop_errors() {
    let mut c = shops_with_rules(3, GenesisProgramme::default());
    let (bakery, cafe) = (c.shop(0), c.shop(1));
    let id = c
        .publish(0, campaign_spec(&[(bakery, 50), (cafe, 50)], double()))
        .unwrap();
    let bookshop = c.shops[2].clone();
    let err = c
        .submit(&bookshop, TxBody::ApproveCampaign { campaign: id })
        .unwrap_err();
    assert_eq!(err, TxError::NotAFunder { id });
    assert_eq!(err.code(), "not_a_funder");
    let err = c
        .submit(&bookshop, TxBody::StopCampaign { campaign: id })
        .unwrap_err();
    assert_eq!(err.code(), "not_a_funder");
    let err = c
        .submit(
            &c.shops[0].clone(),
            TxBody::ApproveCampaign { campaign: id },
        )
        .unwrap_err();
    assert_eq!(err, TxError::CampaignAlreadyApproved { id });
    assert_eq!(err.code(), "campaign_already_approved");
    let err = c
        .submit(
            &c.shops[1].clone(),
            TxBody::ApproveCampaign {
                campaign: CampaignId(9),
            },
        )
        .unwrap_err();
    assert_eq!(err, TxError::UnknownCampaign { id: CampaignId(9) });
    let err = c
        .submit(&customer(1), TxBody::ApproveCampaign { campaign: id })
        .unwrap_err();
    assert_eq!(err.code(), "not_a_member");
    // Stopped: it has ended.
    c.submit(&c.shops[0].clone(), TxBody::StopCampaign { campaign: id })
        .unwrap();
    let err = c
        .submit(
            &c.shops[1].clone(),
            TxBody::ApproveCampaign { campaign: id },
        )
        .unwrap_err();
    assert_eq!(err, TxError::CampaignEnded { id });
    assert_eq!(err.code(), "campaign_ended");
    let err = c
        .submit(&c.shops[0].clone(), TxBody::StopCampaign { campaign: id })
        .unwrap_err();
    assert_eq!(err, TxError::CampaignEnded { id });
    // Past its end: ended too.
    let mut spec = campaign_spec(&[(bakery, 50), (cafe, 50)], double());
    spec.end = Timestamp(c.next_time().0 + DAY);
    let id2 = c.publish(0, spec).unwrap();
    c.wait_days(2);
    let err = c
        .submit(
            &c.shops[1].clone(),
            TxBody::ApproveCampaign { campaign: id2 },
        )
        .unwrap_err();
    assert_eq!(err, TxError::CampaignEnded { id: id2 });
}

#[test]
fn a_stopped_campaign_gives_nothing_from_its_stop_on() {
    let mut c = two_shops();
    let id = c
        .publish(0, campaign_spec(&[(c.shop(0), 100)], double()))
        .unwrap();
    let alice = customer(1).address();
    assert_eq!(
        c.sale(0, &alice, "S-1", &basket(1000, &[])).unwrap().total,
        Points(200)
    );
    let stop = c.tx(&c.shops[0], TxBody::StopCampaign { campaign: id });
    // Signed before the stop, included after it in the same block.
    let claim = c.breakdown(0, &alice, &basket(1000, &[])).claim();
    let body = sale_body(&c, 0, &alice, "S-2", &basket(1000, &[]), claim);
    let after = c.tx_with_nonce(&c.shops[0], Nonce(stop.tx().nonce.0 + 1), body);
    let err = c.block(vec![stop.clone(), after]).unwrap_err();
    assert_eq!(err.code(), "rules_changed");
    c.block(vec![stop]).unwrap();
    let b = c.sale(0, &alice, "S-2", &basket(1000, &[])).unwrap();
    assert_eq!((b.total, b.campaigns.len()), (Points(100), 0));
}

#[test]
fn a_co_funded_campaign_runs_once_every_funder_approved_and_splits_its_cost() {
    let mut c = shops_with_rules(3, GenesisProgramme::default());
    let (bakery, cafe, books) = (c.shop(0), c.shop(1), c.shop(2));
    // Bakery publishes, 34 / 33 / 33.
    let id = c
        .publish(
            0,
            campaign_spec(&[(bakery, 34), (cafe, 33), (books, 33)], double()),
        )
        .unwrap();
    let alice = customer(1).address();
    let b = c.sale(0, &alice, "S-1", &basket(1250, &[])).unwrap();
    assert_eq!(
        (b.total, b.campaigns.len()),
        (Points(125), 0),
        "not approved yet"
    );
    c.submit(
        &c.shops[1].clone(),
        TxBody::ApproveCampaign { campaign: id },
    )
    .unwrap();
    let b = c.sale(0, &alice, "S-2", &basket(1250, &[])).unwrap();
    assert_eq!(
        (b.total, b.campaigns.len()),
        (Points(125), 0),
        "bookshop has not approved"
    );
    c.submit(
        &c.shops[2].clone(),
        TxBody::ApproveCampaign { campaign: id },
    )
    .unwrap();
    assert!(c.state.campaign(id).unwrap().approved());
    // Now it runs: 125 campaign points at the bakery's sale.
    let b = c.sale(0, &alice, "S-3", &basket(1250, &[])).unwrap();
    assert_eq!(b.total, Points(250));
    assert_eq!(b.campaigns[0].points, Points(125));
    // 33% of 125 is 41.25: cafe and bookshop owe 41 each; the remainder
    // (125 - 42 - 41 - 41 = 1) is the issuer's.
    assert_eq!(c.state.debt(&cafe, &bakery), Points(41));
    assert_eq!(c.state.debt(&books, &bakery), Points(41));
    assert_eq!(c.state.debts().count(), 2);
    assert_eq!(c.state.campaign(id).unwrap().spent, Points(125));
    assert_eq!(
        c.state.member(&bakery).unwrap().stats.campaign_points,
        Points(125)
    );
    // It runs at every funder's sales: at the cafe, bakery owes its 34%.
    let b = c.sale(1, &alice, "C-1", &basket(1000, &[])).unwrap();
    assert_eq!(b.campaigns[0].points, Points(100));
    assert_eq!(c.state.debt(&bakery, &cafe), Points(0));
    // bakery's 34 cancels against cafe's 41 to bakery: 7 left.
    assert_eq!(c.state.debt(&cafe, &bakery), Points(7));
    assert_eq!(c.state.debt(&books, &cafe), Points(33));
    // A full refund of the bakery's sale returns the budget and the debts.
    c.refund(0, "S-3", None).unwrap();
    assert_eq!(c.state.campaign(id).unwrap().spent, Points(100));
    assert_eq!(c.state.debt(&books, &bakery), Points(0));
    assert_eq!(c.state.debt(&bakery, &cafe), Points(34));
    assert_eq!(c.state.debt(&cafe, &bakery), Points(0));
}

#[test]
fn partial_refunds_of_a_co_funded_sale_return_the_debts_exactly() {
    // Regression: each partial refund split its returned cost afresh, with
    // the rounding remainder to the issuer, so after refunding everything
    // in parts a co-funder still owed points for a campaign cost that had
    // all been returned (here 1 of 5 after refunds of 3/10 and 7/10).
    let mut c = two_shops();
    let (bakery, cafe) = (c.shop(0), c.shop(1));
    let id = c
        .publish(
            0,
            campaign_spec(
                &[(bakery, 50), (cafe, 50)],
                Reward::Bonus { points: Points(10) },
            ),
        )
        .unwrap();
    c.submit(
        &c.shops[1].clone(),
        TxBody::ApproveCampaign { campaign: id },
    )
    .unwrap();
    let alice = customer(1).address();
    c.sale(0, &alice, "S-1", &basket(1000, &[])).unwrap();
    assert_eq!(c.state.debt(&cafe, &bakery), Points(5));
    c.refund(0, "S-1", Some(300)).unwrap();
    assert_eq!(c.state.campaign(id).unwrap().spent, Points(7));
    // 3 of the 10 returned: cafe's share of what is left (7) is 3.5 -> 3.
    assert_eq!(c.state.debt(&cafe, &bakery), Points(3));
    c.refund(0, "S-1", Some(700)).unwrap();
    assert_eq!(c.state.campaign(id).unwrap().spent, Points(0));
    assert_eq!(c.state.debt(&cafe, &bakery), Points(0));
    assert_eq!(c.state.debt(&bakery, &cafe), Points(0));
    assert_eq!(c.state.debts().count(), 0);
}

#[test]
fn a_refund_returns_campaign_budget_in_proportion() {
    let mut c = two_shops();
    let mut spec = campaign_spec(&[(c.shop(0), 100)], double());
    spec.budget = Points(150);
    let id = c.publish(0, spec).unwrap();
    let alice = customer(1).address();
    c.sale(0, &alice, "S-1", &basket(1000, &[])).unwrap();
    assert_eq!(c.state.campaign(id).unwrap().spent, Points(100));
    c.refund(0, "S-1", Some(250)).unwrap();
    assert_eq!(c.state.campaign(id).unwrap().spent, Points(75));
    // The budget returned is available again.
    let b = c.sale(0, &alice, "S-2", &basket(1000, &[])).unwrap();
    assert_eq!(b.campaigns[0].points, Points(75));
    assert_eq!(b.campaigns[0].outcome, Outcome::Limited(Limit::Budget));
    assert_eq!(c.state.campaign(id).unwrap().spent, Points(150));
}

#[test]
fn per_customer_limits_are_kept_per_period() {
    let mut c = two_shops();
    let mut spec = campaign_spec(&[(c.shop(0), 100)], Reward::Bonus { points: Points(30) });
    spec.per_customer = Some(CustomerLimit {
        max_sales: 2,
        max_points: Points(50),
        period_days: 7,
    });
    let id = c.publish(0, spec).unwrap();
    let alice = customer(1).address();
    let got = |c: &mut TestChain, r: &str| {
        let b = c.sale(0, &alice, r, &basket(1000, &[])).unwrap();
        (b.campaigns[0].points.0, b.campaigns[0].outcome)
    };
    assert_eq!(got(&mut c, "S-1"), (30, Outcome::Given));
    assert_eq!(
        got(&mut c, "S-2"),
        (20, Outcome::Limited(Limit::CustomerPoints))
    );
    assert_eq!(
        got(&mut c, "S-3"),
        (0, Outcome::NotGiven(NotGiven::CustomerLimit))
    );
    let used = *c.state.campaign_use(id, &alice).unwrap();
    assert_eq!((used.sales, used.points), (2, Points(50)));
    // A new period.
    c.wait_days(7);
    assert_eq!(got(&mut c, "S-4"), (30, Outcome::Given));
}

// ----- tiers --------------------------------------------------------------------

#[test]
fn crossing_a_threshold_gives_the_multiplier_on_the_next_sale_until_the_window_moves_on() {
    let mut c = with_tiers();
    let alice = customer(1).address();
    // 500 points earned: silver from the next sale on.
    let b = c.sale(0, &alice, "S-1", &basket(5000, &[])).unwrap();
    assert_eq!((b.total, b.tier), (Points(500), None));
    let (tier, earned) = c.state.tier_of(&alice, c.next_time());
    assert_eq!(
        (tier.unwrap().name.as_str(), earned),
        ("silver", Points(500))
    );
    let b = c.sale(1, &alice, "C-1", &basket(1250, &[])).unwrap();
    assert_eq!(b.total, Points(156));
    assert_eq!(b.tier.unwrap().name.as_str(), "silver");
    // Spending everything does not demote.
    c.submit(
        &customer(1),
        TxBody::Redeem {
            shop: c.shop(1),
            points: c.balance(&alice),
        },
    )
    .unwrap();
    assert_eq!(c.balance(&alice), Points(0));
    let b = c.sale(0, &alice, "S-2", &basket(1250, &[])).unwrap();
    assert_eq!(b.total, Points(156));
    // 365 days after the first sale, its 500 points leave the window.
    c.wait_days(364);
    let b = c.sale(0, &alice, "S-3", &basket(1000, &[])).unwrap();
    assert_eq!(b.tier.unwrap().earned_in_window, Points(500 + 156 + 156));
    c.wait_days(1);
    let b = c.sale(0, &alice, "S-4", &basket(1000, &[])).unwrap();
    // The S-3 sale (125) and the later sales' 312 remain: below 500.
    assert_eq!(b.tier, None);
    assert_eq!(b.total, Points(100));
}

#[test]
fn a_refund_takes_the_points_out_of_the_tier_window() {
    let mut c = with_tiers();
    let alice = customer(1).address();
    c.sale(0, &alice, "S-1", &basket(5000, &[])).unwrap();
    c.refund(0, "S-1", Some(100)).unwrap();
    assert_eq!(c.state.tier_of(&alice, c.next_time()).1, Points(490));
    assert!(c.state.tier_of(&alice, c.next_time()).0.is_none());
}

#[test]
fn set_tiers_takes_effect_after_the_governance_delay() {
    let mut c = two_shops();
    let alice = customer(1).address();
    c.sale(0, &alice, "S-1", &basket(6000, &[])).unwrap();
    let tiers = silver_gold();
    c.submit(
        &c.shops[0].clone(),
        TxBody::Propose {
            action: GovernanceAction::SetTiers {
                tiers: tiers.clone(),
            },
        },
    )
    .unwrap();
    c.submit(
        &c.shops[1].clone(),
        TxBody::Approve {
            proposal: ProposalId(1),
        },
    )
    .unwrap();
    let passed_at = c.state.chain().height;
    let effective = Height(passed_at.0 + c.state.params().governance_delay);
    assert_eq!(
        c.state.proposal(ProposalId(1)).unwrap().status,
        ProposalStatus::Passed { effective }
    );
    assert!(c.state.programme().tiers.tiers.is_empty());
    let mut totals = vec![];
    while c.next_height() <= effective {
        let h = c.next_height();
        let b = c
            .sale(0, &alice, &format!("S-{}", h.0), &basket(1000, &[]))
            .unwrap();
        totals.push((h == effective, b.total.0));
    }
    assert_eq!(totals, vec![(false, 100), (true, 125)]);
    assert_eq!(c.state.programme().tiers, tiers);
    // An invalid table is refused at once.
    let mut bad = silver_gold();
    bad.window_days = 0;
    let err = c
        .submit(
            &c.shops[0].clone(),
            TxBody::Propose {
                action: GovernanceAction::SetTiers { tiers: bad },
            },
        )
        .unwrap_err();
    assert_eq!(err.code(), "invalid_tiers");
}

// ----- birthday and referral ------------------------------------------------------

fn birthday(
    c: &mut TestChain,
    shop: usize,
    to: &Address,
    receipt: &str,
    points: u64,
) -> Result<Applied, TxError> {
    let key = c.shops[shop].clone();
    c.submit(
        &key,
        TxBody::Birthday {
            customer: *to,
            receipt: ReceiptHash::new(&key.address(), receipt),
            points: Points(points),
        },
    )
}

#[test]
fn one_birthday_reward_per_365_days_across_the_group() {
    let mut c = TestChain::new(2);
    let mut rule = basic_rule();
    rule.birthday = Points(200);
    c.set_rule(0, rule.clone()).unwrap();
    c.set_rule(1, rule).unwrap();
    c.block(vec![]).unwrap();
    let alice = customer(1).address();
    birthday(&mut c, 0, &alice, "B-1", 200).unwrap();
    assert_eq!(c.balance(&alice), Points(200));
    let day = c.record(0, "B-1").day;
    c.wait_days(30);
    let err = birthday(&mut c, 1, &alice, "B-1", 200).unwrap_err();
    assert_eq!(
        err,
        TxError::BirthdayTooSoon {
            last: day,
            next: day + 365
        }
    );
    assert_eq!(err.code(), "birthday_too_soon");
    c.wait_days(334);
    assert_eq!(
        birthday(&mut c, 1, &alice, "B-2", 200).unwrap_err(),
        TxError::BirthdayTooSoon {
            last: day,
            next: day + 365
        }
    );
    c.wait_days(1);
    birthday(&mut c, 1, &alice, "B-3", 200).unwrap();
    assert_eq!(
        c.state.customer(&alice).unwrap().last_birthday,
        Some(day + 365)
    );
    // Points other than the rule's are a mismatch.
    let bob = customer(2).address();
    let err = birthday(&mut c, 0, &bob, "B-4", 201).unwrap_err();
    assert_eq!(
        err,
        TxError::PointsMismatch {
            rules_give: Points(200),
            claimed: Points(201)
        }
    );
    // A birthday reward cannot be refunded in part.
    let err = c.refund(1, "B-3", Some(1)).unwrap_err();
    assert_eq!(err, TxError::PartialNotASale);
}

#[test]
fn a_rule_without_a_birthday_reward_gives_none() {
    let mut c = two_shops();
    let err = birthday(&mut c, 0, &customer(1).address(), "B-1", 0).unwrap_err();
    assert_eq!(err, TxError::NoBirthdayReward);
    assert_eq!(err.code(), "no_birthday_reward");
}

#[test]
fn a_referral_is_accepted_once_before_the_first_purchase() {
    let mut c = two_shops();
    let (alice, bob, carol) = (customer(1), customer(2), customer(3));
    let err = c
        .submit(
            &alice,
            TxBody::Refer {
                referrer: alice.address(),
            },
        )
        .unwrap_err();
    assert_eq!(err, TxError::SelfReferral);
    assert_eq!(err.code(), "self_referral");
    c.submit(
        &alice,
        TxBody::Refer {
            referrer: bob.address(),
        },
    )
    .unwrap();
    assert_eq!(
        c.state.customer(&alice.address()).unwrap().referred_by,
        Some(bob.address())
    );
    let err = c
        .submit(
            &alice,
            TxBody::Refer {
                referrer: carol.address(),
            },
        )
        .unwrap_err();
    assert_eq!(err, TxError::ReferralTooLate);
    assert_eq!(err.code(), "referral_too_late");
    c.sale(0, &carol.address(), "S-1", &basket(1000, &[]))
        .unwrap();
    let err = c
        .submit(
            &carol,
            TxBody::Refer {
                referrer: bob.address(),
            },
        )
        .unwrap_err();
    assert_eq!(err, TxError::ReferralTooLate);
}

#[test]
fn a_referral_campaign_pays_both_sides_on_the_first_qualifying_purchase() {
    let mut c = two_shops();
    let mut spec = campaign_spec(
        &[(c.shop(0), 100)],
        Reward::Referral {
            referrer: Points(200),
            referred: Points(100),
        },
    );
    spec.min_spend = Cents(2000);
    let id = c.publish(0, spec).unwrap();
    let (alice, bob) = (customer(1), customer(2));
    c.submit(
        &alice,
        TxBody::Refer {
            referrer: bob.address(),
        },
    )
    .unwrap();
    // Below the campaign's minimum spend: nothing yet.
    let b = c
        .sale(0, &alice.address(), "S-1", &basket(1000, &[]))
        .unwrap();
    assert_eq!(
        b.campaigns[0].outcome,
        Outcome::NotGiven(NotGiven::BelowMinimumSpend)
    );
    let b = c
        .sale(0, &alice.address(), "S-2", &basket(2000, &[]))
        .unwrap();
    assert_eq!(b.total, Points(300));
    assert_eq!(c.balance(&bob.address()), Points(200));
    assert_eq!(c.balance(&alice.address()), Points(100 + 300));
    assert_eq!(c.state.campaign(id).unwrap().spent, Points(300));
    assert!(c.state.customer(&alice.address()).unwrap().referral_paid);
    // Once only.
    let b = c
        .sale(0, &alice.address(), "S-3", &basket(2000, &[]))
        .unwrap();
    assert_eq!(
        b.campaigns[0].outcome,
        Outcome::NotGiven(NotGiven::NoReferral)
    );
    assert_eq!(c.state.supply().outstanding(), c.total_balances());
}

// ----- refunds ----------------------------------------------------------------------

#[test]
fn refund_errors() {
    let mut c = two_shops();
    let alice = customer(1).address();
    c.sale(0, &alice, "S-1", &basket(1000, &[])).unwrap();
    let err = c.refund(0, "S-1", Some(1001)).unwrap_err();
    assert_eq!(
        err,
        TxError::RefundTooLarge {
            requested: Cents(1001),
            left: Cents(1000)
        }
    );
    assert_eq!(err.code(), "refund_too_large");
    c.refund(0, "S-1", Some(400)).unwrap();
    let err = c.refund(0, "S-1", Some(601)).unwrap_err();
    assert_eq!(
        err,
        TxError::RefundTooLarge {
            requested: Cents(601),
            left: Cents(600)
        }
    );
    assert_eq!(
        c.refund(0, "S-1", Some(0)).unwrap_err(),
        TxError::RefundTooLarge {
            requested: Cents(0),
            left: Cents(600)
        }
    );
    c.refund(0, "S-1", None).unwrap();
    assert_eq!(code(c.refund(0, "S-1", None)), "already_reversed");
    assert_eq!(code(c.refund(0, "S-1", Some(1))), "already_reversed");
    // A grant is reversed whole.
    c.earn(0, &alice, 50, "G-1").unwrap();
    let err = c.refund(0, "G-1", Some(100)).unwrap_err();
    assert_eq!(err, TxError::PartialNotASale);
    assert_eq!(err.code(), "partial_not_a_sale");
    c.refund(0, "G-1", None).unwrap();
    // Another shop cannot refund it.
    let cafe = c.shops[1].clone();
    let err = c
        .submit(
            &cafe,
            TxBody::Reverse {
                receipt: ReceiptHash::new(&c.shop(0), "S-1"),
                amount: None,
            },
        )
        .unwrap_err();
    assert_eq!(err, TxError::UnknownReceipt);
}

#[test]
fn a_grant_needs_a_reason() {
    let mut c = two_shops();
    let shop = c.shops[0].clone();
    for reason in ["", "   "] {
        let err = c
            .submit(
                &shop,
                TxBody::Earn {
                    customer: customer(1).address(),
                    points: Points(10),
                    purchase: None,
                    receipt: ReceiptHash::new(&shop.address(), "G-1"),
                    reason: Memo::new(reason).unwrap(),
                },
            )
            .unwrap_err();
        assert_eq!(err, TxError::MissingReason);
        assert_eq!(err.code(), "missing_reason");
    }
}

fn reversal(c: &TestChain, shop: usize, receipt: &str) -> (u64, u64, u64) {
    let r = c.record(shop, receipt);
    let rev = r.reversal.unwrap();
    (rev.refunded.0, rev.taken.0, rev.shortfall.0)
}

#[test]
fn partial_refunds_take_back_points_in_proportion_and_all_of_them_in_the_end() {
    let mut c = two_shops();
    let alice = customer(1).address();
    c.sale(0, &alice, "S-1", &basket(1000, &[])).unwrap(); // 100 points
    c.refund(0, "S-1", Some(333)).unwrap();
    assert_eq!(reversal(&c, 0, "S-1"), (333, 33, 0));
    c.refund(0, "S-1", Some(333)).unwrap();
    assert_eq!(reversal(&c, 0, "S-1"), (666, 66, 0));
    assert!(!c.record(0, "S-1").fully_reversed());
    c.refund(0, "S-1", None).unwrap();
    assert_eq!(reversal(&c, 0, "S-1"), (1000, 100, 0));
    assert!(c.record(0, "S-1").fully_reversed());
    assert_eq!(c.balance(&alice), Points(0));
    assert_eq!(c.record(0, "S-1").remaining, Points(0));
    let stats = c.state.member(&c.shop(0)).unwrap().stats.clone();
    assert_eq!(
        (stats.reversed, stats.reversal_shortfall),
        (Points(100), Points(0))
    );
    assert_eq!(c.state.supply().outstanding(), c.total_balances());
}

#[test]
fn points_already_spent_become_shortfall() {
    let mut c = two_shops();
    let alice = customer(1);
    c.sale(0, &alice.address(), "S-1", &basket(10_000, &[]))
        .unwrap(); // 1000
    c.refund(0, "S-1", Some(2500)).unwrap();
    assert_eq!(reversal(&c, 0, "S-1"), (2500, 250, 0));
    c.submit(
        &alice,
        TxBody::Redeem {
            shop: c.shop(1),
            points: Points(700),
        },
    )
    .unwrap();
    assert_eq!(c.record(0, "S-1").remaining, Points(50));
    c.refund(0, "S-1", Some(2500)).unwrap();
    // 250 due, 50 held: 50 taken, 200 short.
    assert_eq!(reversal(&c, 0, "S-1"), (5000, 300, 200));
    c.refund(0, "S-1", None).unwrap();
    let (refunded, taken, short) = reversal(&c, 0, "S-1");
    assert_eq!((refunded, taken, short), (10_000, 300, 700));
    assert_eq!(taken + short, 1000);
    let stats = c.state.member(&c.shop(0)).unwrap().stats.clone();
    assert_eq!(
        (stats.reversed, stats.reversal_shortfall),
        (Points(300), Points(700))
    );
    assert_eq!(c.state.supply().outstanding(), c.total_balances());
}

#[test]
fn points_transferred_into_the_same_lot_are_spent_first() {
    let mut c = two_shops();
    let (alice, bob) = (customer(1), customer(2));
    // Same shop, same day: one lot.
    c.sale(0, &bob.address(), "S-B", &basket(500, &[])).unwrap(); // 50
    c.sale(0, &alice.address(), "S-A", &basket(1000, &[]))
        .unwrap(); // 100
    c.submit(
        &bob,
        TxBody::Transfer {
            to: alice.address(),
            points: Points(50),
            memo: None,
        },
    )
    .unwrap();
    assert_eq!(c.record(0, "S-B").remaining, Points(0));
    let lots = &c.state.account(&alice.address()).unwrap().lots;
    assert_eq!(lots.len(), 1);
    assert_eq!(lots[0].amount, Points(150));
    // Spending 60 uses Bob's 50 first, then 10 of Alice's own.
    c.submit(
        &alice,
        TxBody::Redeem {
            shop: c.shop(1),
            points: Points(60),
        },
    )
    .unwrap();
    assert_eq!(c.record(0, "S-A").remaining, Points(90));
    c.refund(0, "S-A", None).unwrap();
    assert_eq!(reversal(&c, 0, "S-A"), (1000, 90, 10));
    assert_eq!(c.balance(&alice.address()), Points(0));
    // Bob's sale: everything he had went on; all shortfall.
    c.refund(0, "S-B", None).unwrap();
    assert_eq!(reversal(&c, 0, "S-B"), (500, 0, 50));
}

#[test]
fn expired_points_of_a_sale_become_shortfall() {
    let params = Params {
        point_expiry_days: 30,
        ..Params::default()
    };
    let mut c = TestChain::with_params(2, params);
    c.set_rule(0, basic_rule()).unwrap();
    c.block(vec![]).unwrap();
    let alice = customer(1).address();
    c.sale(0, &alice, "S-1", &basket(1000, &[])).unwrap();
    c.wait_days(32);
    c.block(vec![]).unwrap();
    assert_eq!(c.record(0, "S-1").remaining, Points(0));
    c.refund(0, "S-1", None).unwrap();
    assert_eq!(reversal(&c, 0, "S-1"), (1000, 0, 100));
}

#[test]
fn effects_report_what_a_sale_issued() {
    let mut c = two_shops();
    let mut spec = campaign_spec(
        &[(c.shop(0), 100)],
        Reward::Referral {
            referrer: Points(20),
            referred: Points(10),
        },
    );
    spec.budget = Points(1000);
    c.publish(0, spec).unwrap();
    let (alice, bob) = (customer(1), customer(2));
    c.submit(
        &alice,
        TxBody::Refer {
            referrer: bob.address(),
        },
    )
    .unwrap();
    let claim = c.breakdown(0, &alice.address(), &basket(1000, &[])).claim();
    let tx = c.tx(
        &c.shops[0],
        TxBody::Sale {
            customer: alice.address(),
            receipt: ReceiptHash::new(&c.shop(0), "S-1"),
            basket: basket(1000, &[]),
            claim,
        },
    );
    let applied = c.block(vec![tx]).unwrap();
    let issued: Vec<(Address, Points)> = applied
        .effects
        .iter()
        .filter_map(|e| match &e.effect {
            state::Effect::Issued {
                holder,
                points,
                kind: EarnKind::Sale,
                ..
            } => Some((*holder, *points)),
            _ => None,
        })
        .collect();
    assert_eq!(
        issued,
        vec![(alice.address(), Points(110)), (bob.address(), Points(20))]
    );
}

// ----- offers (a campaign's reward given by a grant) -------------------------

fn offer(
    c: &mut TestChain,
    shop: usize,
    id: CampaignId,
    to: &Address,
    receipt: &str,
) -> Result<Applied, TxError> {
    let key = c.shops[shop].clone();
    let body = TxBody::Offer {
        campaign: id,
        customer: *to,
        receipt: ReceiptHash::new(&key.address(), receipt),
    };
    c.submit(&key, body)
}

fn offer_spec(c: &TestChain, funders: &[(usize, u8)], points: u64) -> CampaignSpec {
    let funders: Vec<(Address, u8)> = funders.iter().map(|&(i, p)| (c.shop(i), p)).collect();
    campaign_spec(
        &funders,
        Reward::Offer {
            points: Points(points),
        },
    )
}

#[test]
fn an_offer_gives_its_points_from_its_budget_and_is_never_given_at_a_sale() {
    let mut c = two_shops();
    let mut spec = offer_spec(&c, &[(0, 100)], 100);
    spec.budget = Points(250);
    let id = c.publish(0, spec).unwrap();
    let (alice, bob, carol) = (
        customer(1).address(),
        customer(2).address(),
        customer(3).address(),
    );
    // Not at a sale: the sale gets its rule's points only.
    let b = c.sale(0, &alice, "S-1", &basket(1250, &[])).unwrap();
    assert_eq!((b.total, b.campaigns.len()), (Points(125), 0));
    offer(&mut c, 0, id, &alice, "W-1").unwrap();
    assert_eq!(c.balance(&alice), Points(225));
    let r = c.record(0, "W-1");
    assert_eq!(
        (r.kind, r.points, r.purchase),
        (EarnKind::Offer, Points(100), None)
    );
    assert_eq!(
        r.campaigns,
        vec![CampaignCost {
            campaign: id,
            points: Points(100)
        }]
    );
    assert_eq!(c.state.campaign(id).unwrap().spent, Points(100));
    assert_eq!(
        c.state.member(&c.shop(0)).unwrap().stats.campaign_points,
        Points(100)
    );
    // The same cause (receipt) twice is refused.
    assert_eq!(
        code(offer(&mut c, 0, id, &alice, "W-1")),
        "duplicate_receipt"
    );
    offer(&mut c, 0, id, &bob, "W-2").unwrap();
    // 50 left of the budget: all or nothing.
    let err = offer(&mut c, 0, id, &carol, "W-3").unwrap_err();
    assert_eq!(
        err,
        TxError::OfferNotGiven {
            id,
            why: NotGiven::BudgetSpent
        }
    );
    assert_eq!(
        err.to_string(),
        format!("campaign {id} gives nothing to this customer now: its budget is spent")
    );
    assert_eq!(c.balance(&carol), Points(0));
    // A full reversal returns the budget; then carol can have it.
    c.refund(0, "W-2", None).unwrap();
    assert_eq!(c.state.campaign(id).unwrap().spent, Points(100));
    offer(&mut c, 0, id, &carol, "W-3").unwrap();
    assert_eq!(c.balance(&carol), Points(100));
    // Offers are not earned from sales: the tier window does not count them.
    let day = c.record(0, "W-3").day;
    assert_eq!(
        c.state
            .customer(&carol)
            .map(|r| r.earned_in_window(day, 365)),
        None
    );
}

#[test]
fn offer_errors() {
    let mut c = two_shops();
    let alice = customer(1).address();
    // A campaign given at sales is not an offer.
    let sales = c
        .publish(0, campaign_spec(&[(c.shop(0), 100)], double()))
        .unwrap();
    assert_eq!(code(offer(&mut c, 0, sales, &alice, "X-1")), "not_an_offer");
    assert_eq!(
        code(offer(&mut c, 0, CampaignId(99), &alice, "X-2")),
        "unknown_campaign"
    );
    // Only a funder gives it, and only while it runs.
    let id = c.publish(0, offer_spec(&c, &[(0, 100)], 40)).unwrap();
    assert_eq!(code(offer(&mut c, 1, id, &alice, "X-3")), "not_a_funder");
    let shared = c
        .publish(0, offer_spec(&c, &[(0, 50), (1, 50)], 40))
        .unwrap();
    assert_eq!(
        code(offer(&mut c, 0, shared, &alice, "X-4")),
        "campaign_not_running"
    );
    c.submit(&c.shops[0].clone(), TxBody::StopCampaign { campaign: id })
        .unwrap();
    assert_eq!(
        code(offer(&mut c, 0, id, &alice, "X-5")),
        "campaign_not_running"
    );
    // An offer cannot be limited by what a sale has.
    let mut bad = offer_spec(&c, &[(0, 100)], 40);
    bad.min_spend = Cents(500);
    let err = c.publish(0, bad).unwrap_err();
    assert_eq!(err, TxError::InvalidCampaign(CampaignError::OfferFilters));
    let mut zero = offer_spec(&c, &[(0, 100)], 0);
    zero.name = CampaignName::new("Nothing").unwrap();
    assert_eq!(
        c.publish(0, zero).unwrap_err(),
        TxError::InvalidCampaign(CampaignError::BadReward)
    );
}

#[test]
fn an_offer_keeps_its_per_customer_limit_tiers_and_holdout() {
    let mut c = with_tiers();
    let alice = customer(1).address();
    let mut spec = offer_spec(&c, &[(0, 100)], 30);
    spec.per_customer = Some(CustomerLimit {
        max_sales: 1,
        max_points: Points(0),
        period_days: 30,
    });
    let id = c.publish(0, spec).unwrap();
    offer(&mut c, 0, id, &alice, "L-1").unwrap();
    let err = offer(&mut c, 0, id, &alice, "L-2").unwrap_err();
    assert_eq!(
        err,
        TxError::OfferNotGiven {
            id,
            why: NotGiven::CustomerLimit
        }
    );
    c.wait_days(30);
    offer(&mut c, 0, id, &alice, "L-3").unwrap();
    assert_eq!(c.balance(&alice), Points(60));
    // For gold customers only: alice (no tier) is refused.
    let mut gold = offer_spec(&c, &[(0, 100)], 30);
    gold.name = CampaignName::new("Gold thanks").unwrap();
    gold.tiers = vec![TierName::new("gold").unwrap()];
    let gold = c.publish(0, gold).unwrap();
    let err = offer(&mut c, 0, gold, &alice, "G-1").unwrap_err();
    assert_eq!(
        err,
        TxError::OfferNotGiven {
            id: gold,
            why: NotGiven::TierNotIncluded
        }
    );
    // A holdout of half: the held-out customers are refused, the others get it.
    let mut ab = offer_spec(&c, &[(0, 100)], 10);
    ab.name = CampaignName::new("Win-back test").unwrap();
    ab.holdout = Permille(500);
    let ab = c.publish(0, ab).unwrap();
    let (mut given, mut held) = (0, 0);
    for n in 10..50u8 {
        let who = customer(n).address();
        match offer(&mut c, 0, ab, &who, &format!("H-{n}")) {
            Ok(_) => given += 1,
            Err(TxError::OfferNotGiven {
                why: NotGiven::HeldOut,
                ..
            }) => {
                assert!(held_out(ab, &who, Permille(500)));
                held += 1;
            }
            Err(other) => panic!("{other}"),
        }
    }
    assert_eq!(given + held, 40);
    assert!(given > 10 && held > 10, "given {given}, held out {held}");
}

#[test]
fn a_co_funded_offer_splits_its_cost_as_debts() {
    let mut c = two_shops();
    let (bakery, cafe) = (c.shop(0), c.shop(1));
    let id = c
        .publish(0, offer_spec(&c, &[(0, 60), (1, 40)], 50))
        .unwrap();
    c.submit(
        &c.shops[1].clone(),
        TxBody::ApproveCampaign { campaign: id },
    )
    .unwrap();
    let alice = customer(1).address();
    offer(&mut c, 1, id, &alice, "C-1").unwrap();
    // Given at the cafe: the bakery owes its 60%.
    assert_eq!(c.state.debt(&bakery, &cafe), Points(30));
    assert_eq!(c.state.debt(&cafe, &bakery), Points(0));
    c.refund(1, "C-1", None).unwrap();
    assert_eq!(c.state.debts().count(), 0);
    assert_eq!(c.state.campaign(id).unwrap().spent, Points(0));
}

// ----- issue 14: a refund takes only its own receipt's points ---------------

/// The one `Reversed` effect of a refund: (taken, shortfall).
fn reversed(applied: &Applied) -> (u64, u64) {
    let found: Vec<(u64, u64)> = applied
        .effects
        .iter()
        .filter_map(|e| match e.effect {
            Effect::Reversed {
                taken, shortfall, ..
            } => Some((taken.0, shortfall.0)),
            _ => None,
        })
        .collect();
    assert_eq!(found.len(), 1, "one reversal effect: {found:?}");
    found[0]
}

#[test]
fn refunding_one_receipt_leaves_another_receipts_points_in_the_same_lot() {
    // As reported: 65 points from R-1001 and 1 from another Bakery receipt,
    // both on the same day (one lot of 66); reversing R-1001 took all 66.
    let mut c = two_shops();
    let alice = customer(1).address();
    assert_eq!(
        c.sale(0, &alice, "R-1001", &basket(650, &[]))
            .unwrap()
            .total,
        Points(65)
    );
    assert_eq!(
        c.sale(0, &alice, "R-1002", &basket(10, &[])).unwrap().total,
        Points(1)
    );
    let lots = &c.state.account(&alice).unwrap().lots;
    assert_eq!(lots.len(), 1, "both sales in one lot");
    assert_eq!(lots[0].amount, Points(66));

    let applied = c.refund(0, "R-1001", None).unwrap();
    assert_eq!(reversed(&applied), (65, 0));
    assert_eq!(reversal(&c, 0, "R-1001"), (650, 65, 0));
    assert_eq!(c.record(0, "R-1001").remaining, Points(0));
    assert_eq!(c.record(0, "R-1002").remaining, Points(1));
    assert!(c.record(0, "R-1002").reversal.is_none());
    assert_eq!(c.balance(&alice), Points(1));
    assert_eq!(c.state.supply().outstanding(), c.total_balances());
    // The other receipt can still be refunded for its own point.
    let applied = c.refund(0, "R-1002", None).unwrap();
    assert_eq!(reversed(&applied), (1, 0));
    assert_eq!(c.balance(&alice), Points(0));
}

#[test]
fn refunding_one_receipt_after_spending_takes_only_what_is_left_of_it() {
    // Spending takes the oldest receipt's points first: after 10 spent,
    // R-1001 (older) has 55 left and R-1002 its 1 point.
    let mut c = two_shops();
    let alice = customer(1);
    c.sale(0, &alice.address(), "R-1001", &basket(650, &[]))
        .unwrap();
    c.sale(0, &alice.address(), "R-1002", &basket(10, &[]))
        .unwrap();
    c.submit(
        &alice,
        TxBody::Redeem {
            shop: c.shop(1),
            points: Points(10),
        },
    )
    .unwrap();
    assert_eq!(c.record(0, "R-1001").remaining, Points(55));
    assert_eq!(c.record(0, "R-1002").remaining, Points(1));
    let applied = c.refund(0, "R-1001", None).unwrap();
    // taken + shortfall = given: 55 + 10 = 65.
    assert_eq!(reversed(&applied), (55, 10));
    assert_eq!(reversal(&c, 0, "R-1001"), (650, 55, 10));
    assert_eq!(c.record(0, "R-1002").remaining, Points(1));
    assert_eq!(c.balance(&alice.address()), Points(1));
}

#[test]
fn refunding_the_newer_receipt_leaves_the_older_one() {
    // The other order: the one-point receipt first, then R-1001; part of
    // R-1001 refunded, then the rest.
    let mut c = two_shops();
    let alice = customer(1).address();
    c.sale(0, &alice, "R-1000", &basket(10, &[])).unwrap();
    c.sale(0, &alice, "R-1001", &basket(650, &[])).unwrap();
    let applied = c.refund(0, "R-1001", Some(325)).unwrap();
    assert_eq!(reversed(&applied), (32, 0));
    assert_eq!(c.record(0, "R-1000").remaining, Points(1));
    let applied = c.refund(0, "R-1001", None).unwrap();
    assert_eq!(reversed(&applied), (33, 0));
    assert_eq!(reversal(&c, 0, "R-1001"), (650, 65, 0));
    assert_eq!(c.record(0, "R-1000").remaining, Points(1));
    assert_eq!(c.balance(&alice), Points(1));
}

#[test]
fn reversing_a_grant_leaves_another_grants_points_in_the_same_lot() {
    // The same case with manual grants (`guild shop earn`).
    let mut c = two_shops();
    let alice = customer(1).address();
    c.earn(0, &alice, 65, "R-1001").unwrap();
    c.earn(0, &alice, 1, "R-1002").unwrap();
    let applied = c.refund(0, "R-1001", None).unwrap();
    assert_eq!(reversed(&applied), (65, 0));
    assert_eq!(c.balance(&alice), Points(1));
    assert_eq!(c.record(0, "R-1002").remaining, Points(1));
}
