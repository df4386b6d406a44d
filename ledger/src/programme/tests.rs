//! Table tests of the pure rule evaluation ([`super::evaluate::evaluate`]):
//! one case per step of the documented order, each asserting the exact
//! points and the outcome or reason of every campaign.

use super::campaign::{
    Campaign, CampaignSpec, CampaignUse, CustomerLimit, Reward, Share, held_out,
};
use super::evaluate::{
    Breakdown, CampaignCost, Claim, ClaimMismatch, Limit, NotGiven, Outcome, RulesChange,
    SaleFacts, check_claim, evaluate,
};
use super::locale::{Locale, ZoneOffset};
use super::rule::{Basket, BasketLine, CategoryMultiplier, EarnRule, EarnRuleSpec};
use super::tier::{CustomerRecord, Tier, TierTable};
use crate::crypto::Address;
use crate::types::{
    CampaignId, CampaignName, Category, Cents, Height, Permille, Points, TierName, Timestamp,
};

const SHOP: Address = Address([1; 32]);
const OTHER_SHOP: Address = Address([2; 32]);
const CUSTOMER: Address = Address([101; 32]);
const REFERRER: Address = Address([102; 32]);
/// 2026-07-01 07:30 UTC, a Wednesday: 08:30 in London (summer time).
const JULY_0730_UTC: u64 = 1_782_891_000_000;
const HOUR: u64 = 3_600_000;

fn cat(name: &str) -> Category {
    Category::new(name).unwrap()
}

fn tier_name(name: &str) -> TierName {
    TierName::new(name).unwrap()
}

/// 1 point per 10p, nothing else.
fn spec() -> EarnRuleSpec {
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

fn basket(amount: u64, items: &[(&str, u64)]) -> Basket {
    Basket::new(
        Cents(amount),
        items
            .iter()
            .map(|(c, a)| BasketLine {
                category: cat(c),
                amount: Cents(*a),
            })
            .collect(),
    )
}

fn tiers() -> TierTable {
    TierTable {
        window_days: 365,
        tiers: vec![
            Tier {
                name: tier_name("silver"),
                threshold: Points(500),
                multiplier: Permille(1250),
            },
            Tier {
                name: tier_name("gold"),
                threshold: Points(2000),
                multiplier: Permille(1500),
            },
        ],
    }
}

/// 2026 London: summer time from 29 March 01:00 UTC to 25 October 01:00 UTC.
fn london() -> Locale {
    Locale {
        zone: vec![
            ZoneOffset {
                from: Timestamp(1_774_746_000_000),
                offset_minutes: 60,
            },
            ZoneOffset {
                from: Timestamp(1_792_890_000_000),
                offset_minutes: 0,
            },
        ],
        ..Locale::default()
    }
}

fn campaign_spec(reward: Reward) -> CampaignSpec {
    CampaignSpec {
        name: CampaignName::new("Summer").unwrap(),
        funders: vec![Share {
            shop: SHOP,
            percent: 100,
        }],
        reward,
        start: Timestamp(0),
        end: Timestamp(u64::MAX),
        days: 0,
        hours: None,
        categories: vec![],
        tiers: vec![],
        first_purchase: false,
        min_spend: Cents(0),
        budget: Points(1_000_000),
        per_customer: None,
        holdout: Permille(0),
    }
}

fn campaign(id: u64, reward: Reward) -> Campaign {
    Campaign {
        id: CampaignId(id),
        publisher: SHOP,
        spec: campaign_spec(reward),
        approvals: vec![SHOP],
        spent: Points(0),
        stopped: None,
    }
}

fn bonus(points: u64) -> Reward {
    Reward::Bonus {
        points: Points(points),
    }
}

fn times(multiplier: u32) -> Reward {
    Reward::Multiplier {
        multiplier: Permille(multiplier),
    }
}

/// Everything a case varies.
struct Case {
    rule: EarnRuleSpec,
    tiers: TierTable,
    record: CustomerRecord,
    campaigns: Vec<(Campaign, CampaignUse)>,
    customer: Address,
    locale: Locale,
    time: u64,
}

impl Case {
    fn new() -> Case {
        Case {
            rule: spec(),
            tiers: tiers(),
            record: CustomerRecord::default(),
            campaigns: vec![],
            customer: CUSTOMER,
            locale: Locale::default(),
            time: JULY_0730_UTC,
        }
    }

    fn rule(mut self, f: impl FnOnce(&mut EarnRuleSpec)) -> Case {
        f(&mut self.rule);
        self
    }

    fn campaign(mut self, c: Campaign) -> Case {
        self.campaigns.push((c, CampaignUse::default()));
        self
    }

    fn campaign_used(mut self, c: Campaign, used: CampaignUse) -> Case {
        self.campaigns.push((c, used));
        self
    }

    /// A customer who earned `points` from sales yesterday.
    fn earned(mut self, points: u64) -> Case {
        let today = self.locale.local(Timestamp(self.time)).day;
        self.record
            .add_earned(today - 1, Points(points), 365)
            .unwrap();
        self
    }

    fn eval(&self, basket: &Basket) -> Breakdown {
        basket.validate().unwrap();
        let rule = EarnRule {
            version: 1,
            effective: Height(1),
            spec: self.rule.clone(),
        };
        let time = Timestamp(self.time);
        let facts = SaleFacts {
            shop: SHOP,
            customer: self.customer,
            time,
            local: self.locale.local(time),
            rule: &rule,
            tiers: &self.tiers,
            record: &self.record,
            campaigns: self.campaigns.iter().map(|(c, u)| (c, *u)).collect(),
        };
        evaluate(&facts, basket).unwrap()
    }
}

/// The points and outcome of each campaign, in order.
fn parts(b: &Breakdown) -> Vec<(u64, Outcome)> {
    b.campaigns
        .iter()
        .map(|c| (c.points.0, c.outcome))
        .collect()
}

// ----- 1. rate, rounding, minimum spend, categories -------------------------

#[test]
fn the_base_rate_gives_one_point_per_ten_pence() {
    let b = Case::new().eval(&basket(1250, &[]));
    assert_eq!(b.base, Points(125));
    assert_eq!(b.total, Points(125));
    assert_eq!(b.eligible, Cents(1250));
    assert_eq!(b.rule_version, 1);
    assert_eq!(b.below_minimum, None);
    // 12.59 is 125.9 points: rounded down.
    assert_eq!(Case::new().eval(&basket(1259, &[])).total, Points(125));
    // 3 points per 7p on 1.00: 300 / 7 = 42.86.
    let b = Case::new()
        .rule(|r| {
            r.points = 3;
            r.per = Cents(7);
        })
        .eval(&basket(100, &[]));
    assert_eq!(b.total, Points(42));
}

#[test]
fn the_total_is_rounded_down_once_not_per_component() {
    // Silver (x1.25) on 12.34: base 123.4, tier 30.85, total 154.25.
    // Rounding each component would give 123 + 30 = 153.
    let b = Case::new().earned(600).eval(&basket(1234, &[]));
    assert_eq!(b.base, Points(123));
    assert_eq!(b.tier.as_ref().unwrap().points, Points(31));
    assert_eq!(b.total, Points(154));
    // Across categories too: 0.05 coffee x1.5 (7.5 tenths) and 0.05 other
    // (5 tenths) is 1.25 points: one, where per line it would be 0 + 0.
    let b = Case::new()
        .rule(|r| {
            r.multipliers = vec![CategoryMultiplier {
                category: cat("coffee"),
                multiplier: Permille(1500),
            }]
        })
        .eval(&basket(10, &[("coffee", 5)]));
    assert_eq!(b.total, Points(1));
}

#[test]
fn below_the_minimum_spend_nothing_is_given() {
    let case = Case::new()
        .rule(|r| r.min_spend = Cents(500))
        .campaign(campaign(1, bonus(50)));
    let b = case.eval(&basket(499, &[]));
    assert_eq!(b.below_minimum, Some(Cents(500)));
    assert_eq!(b.total, Points(0));
    assert_eq!(b.base, Points(0));
    assert_eq!(
        parts(&b),
        vec![(0, Outcome::NotGiven(NotGiven::BelowRuleMinimum))]
    );
    let b = case.eval(&basket(500, &[]));
    assert_eq!(b.below_minimum, None);
    assert_eq!(b.total, Points(100));
}

#[test]
fn excluded_categories_do_not_count_towards_the_minimum_spend() {
    let case = Case::new().rule(|r| {
        r.min_spend = Cents(500);
        r.excluded = vec![cat("gift-card")];
    });
    // 10.00 paid, 6.00 of it a gift card: 4.00 eligible, below 5.00.
    let b = case.eval(&basket(1000, &[("gift-card", 600)]));
    assert_eq!(b.eligible, Cents(400));
    assert_eq!(b.below_minimum, Some(Cents(500)));
    assert_eq!(b.total, Points(0));
    // 5.00 eligible reaches it.
    let b = case.eval(&basket(1100, &[("gift-card", 600)]));
    assert_eq!(b.total, Points(50));
}

#[test]
fn category_multipliers_weigh_their_part_of_the_basket() {
    let case = Case::new().rule(|r| {
        r.multipliers = vec![
            CategoryMultiplier {
                category: cat("coffee"),
                multiplier: Permille(2000),
            },
            CategoryMultiplier {
                category: cat("pastry"),
                multiplier: Permille(500),
            },
        ]
    });
    // 3.00 coffee x2 (60), 2.00 pastry x0.5 (10), 5.00 rest (50).
    let b = case.eval(&basket(1000, &[("coffee", 300), ("pastry", 200)]));
    assert_eq!(b.total, Points(120));
    assert_eq!(b.categories.len(), 3);
    assert_eq!(b.categories[0].multiplier, Permille(2000));
    assert_eq!(b.categories[2].category, None);
    assert_eq!(b.categories[2].amount, Cents(500));
}

#[test]
fn excluded_categories_earn_nothing() {
    let case = Case::new().rule(|r| r.excluded = vec![cat("gift-card")]);
    let b = case.eval(&basket(2000, &[("gift-card", 2000)]));
    assert_eq!(b.total, Points(0));
    assert_eq!(b.eligible, Cents(0));
    assert_eq!(b.categories[0].multiplier, Permille(0));
    let b = case.eval(&basket(2000, &[("gift-card", 1500)]));
    assert_eq!(b.total, Points(50));
}

// ----- 6. the cap per sale ----------------------------------------------------

#[test]
fn the_cap_per_sale_cuts_the_last_components_first() {
    // Base 125, a x2 campaign (+125), a bonus (+50) = 300, cap 200: the
    // bonus goes, then 50 of the multiplier.
    let case = Case::new()
        .rule(|r| r.cap = Some(Points(200)))
        .campaign(campaign(1, times(2000)))
        .campaign(campaign(2, bonus(50)));
    let b = case.eval(&basket(1250, &[]));
    assert_eq!(b.total, Points(200));
    assert_eq!(b.base, Points(125));
    assert_eq!(
        parts(&b),
        vec![
            (75, Outcome::Limited(Limit::SaleCap)),
            (0, Outcome::NotGiven(NotGiven::SaleCap)),
        ]
    );
    let capped = b.capped.unwrap();
    assert_eq!((capped.cap, capped.cut), (Points(200), Points(100)));
    // The claim lists only campaigns that gave something.
    assert_eq!(
        b.claim().campaigns,
        vec![CampaignCost {
            campaign: CampaignId(1),
            points: Points(75)
        }]
    );
    // A cap below the base cuts the base too.
    let b = Case::new()
        .rule(|r| r.cap = Some(Points(100)))
        .eval(&basket(1250, &[]));
    assert_eq!((b.total, b.base), (Points(100), Points(100)));
    // Under the cap nothing is cut.
    let b = Case::new()
        .rule(|r| r.cap = Some(Points(125)))
        .eval(&basket(1250, &[]));
    assert_eq!((b.total, b.capped), (Points(125), None));
}

// ----- 2-4. tier, campaign multipliers, bonuses --------------------------------

#[test]
fn the_tier_multiplier_applies_to_the_base() {
    let b = Case::new().earned(600).eval(&basket(1250, &[]));
    let tier = b.tier.clone().unwrap();
    assert_eq!(tier.name.as_str(), "silver");
    assert_eq!(tier.earned_in_window, Points(600));
    assert_eq!(tier.multiplier, Permille(1250));
    assert_eq!(tier.points, Points(31)); // 31.25
    assert_eq!(b.total, Points(156));
    assert_eq!(b.claim().tier, Some(tier_name("silver")));
    // Gold, x1.5.
    let b = Case::new().earned(2000).eval(&basket(1250, &[]));
    assert_eq!(b.total, Points(187));
    // Below the first threshold: no tier.
    let b = Case::new().earned(499).eval(&basket(1250, &[]));
    assert_eq!((b.total, b.tier), (Points(125), None));
}

#[test]
fn a_campaign_multiplier_multiplies_the_tiered_points() {
    // Silver on 12.50: 156.25; doubled: 312.5.
    let b = Case::new()
        .earned(600)
        .campaign(campaign(1, times(2000)))
        .eval(&basket(1250, &[]));
    assert_eq!(b.base, Points(125));
    assert_eq!(b.tier.as_ref().unwrap().points, Points(31));
    assert_eq!(parts(&b), vec![(156, Outcome::Given)]);
    assert_eq!(b.total, Points(312));
}

#[test]
fn a_category_campaign_multiplies_only_its_categories() {
    let mut c = campaign(1, times(3000));
    c.spec.categories = vec![cat("coffee")];
    let case = Case::new().campaign(c);
    // 4.00 coffee tripled adds 2 x 40.
    let b = case.eval(&basket(1000, &[("coffee", 400)]));
    assert_eq!(b.base, Points(100));
    assert_eq!(parts(&b), vec![(80, Outcome::Given)]);
    assert_eq!(b.total, Points(180));
    // No coffee: not given.
    let b = case.eval(&basket(1000, &[("tea", 400)]));
    assert_eq!(
        parts(&b),
        vec![(0, Outcome::NotGiven(NotGiven::NoMatchingCategory))]
    );
    assert_eq!(b.total, Points(100));
}

#[test]
fn a_bonus_adds_fixed_points_after_the_multipliers() {
    let b = Case::new()
        .campaign(campaign(2, bonus(50)))
        .campaign(campaign(3, times(1500)))
        .eval(&basket(1250, &[]));
    // Multiplier (+62.5) before the bonus whatever the ids: 125 + 62.5 + 50.
    assert_eq!(parts(&b), vec![(50, Outcome::Given), (62, Outcome::Given)]);
    assert_eq!(b.total, Points(237));
    // A bonus campaign's minimum spend.
    let mut c = campaign(2, bonus(50));
    c.spec.min_spend = Cents(2000);
    let b = Case::new().campaign(c).eval(&basket(1250, &[]));
    assert_eq!(
        parts(&b),
        vec![(0, Outcome::NotGiven(NotGiven::BelowMinimumSpend))]
    );
}

// ----- filters ------------------------------------------------------------------

#[test]
fn double_points_before_nine_follows_london_summer_time() {
    let mut c = campaign(1, times(2000));
    c.spec.hours = Some((0, 9));
    let at = |time: u64, locale: Locale| {
        let mut case = Case::new().campaign(c.clone());
        case.time = time;
        case.locale = locale;
        case.eval(&basket(1000, &[]))
    };
    // 07:30 UTC is 08:30 in London: before 9.
    let b = at(JULY_0730_UTC, london());
    assert_eq!(
        (b.total, parts(&b)),
        (Points(200), vec![(100, Outcome::Given)])
    );
    // 08:30 UTC is 09:30 in London: too late, though before 9 in UTC.
    let b = at(JULY_0730_UTC + HOUR, london());
    assert_eq!(
        (b.total, parts(&b)),
        (
            Points(100),
            vec![(0, Outcome::NotGiven(NotGiven::NotThisHour))]
        )
    );
    let b = at(JULY_0730_UTC + HOUR, Locale::default());
    assert_eq!(b.total, Points(200));
}

#[test]
fn the_day_of_week_is_the_local_day() {
    let mut c = campaign(1, bonus(10));
    c.spec.days = 1 << 2; // Wednesdays
    let at = |time: u64, locale: Locale| {
        let mut case = Case::new().campaign(c.clone());
        case.time = time;
        case.locale = locale;
        parts(&case.eval(&basket(1000, &[])))
    };
    // Tuesday 30 June 23:30 UTC is Wednesday 00:30 in London.
    let tuesday_late = JULY_0730_UTC - 8 * HOUR;
    assert_eq!(at(tuesday_late, london()), vec![(10, Outcome::Given)]);
    assert_eq!(
        at(tuesday_late, Locale::default()),
        vec![(0, Outcome::NotGiven(NotGiven::NotThisDay))]
    );
    assert_eq!(
        at(JULY_0730_UTC + 24 * HOUR, london()),
        vec![(0, Outcome::NotGiven(NotGiven::NotThisDay))]
    );
}

#[test]
fn a_tier_campaign_is_only_for_its_tiers() {
    let mut c = campaign(1, bonus(40));
    c.spec.tiers = vec![tier_name("gold")];
    let silver = Case::new().earned(600).campaign(c.clone());
    assert_eq!(
        parts(&silver.eval(&basket(1000, &[]))),
        vec![(0, Outcome::NotGiven(NotGiven::TierNotIncluded))]
    );
    let none = Case::new().campaign(c.clone());
    assert_eq!(
        parts(&none.eval(&basket(1000, &[]))),
        vec![(0, Outcome::NotGiven(NotGiven::TierNotIncluded))]
    );
    let gold = Case::new().earned(2500).campaign(c);
    let b = gold.eval(&basket(1000, &[]));
    assert_eq!(parts(&b), vec![(40, Outcome::Given)]);
    assert_eq!(b.total, Points(190)); // 150 + 40
}

#[test]
fn a_first_purchase_campaign_is_only_for_the_first_sale_at_the_shop() {
    let mut c = campaign(1, bonus(100));
    c.spec.first_purchase = true;
    let mut case = Case::new().campaign(c);
    // A purchase elsewhere does not count.
    case.record.add_shop(OTHER_SHOP);
    let b = case.eval(&basket(1000, &[]));
    assert_eq!(
        (b.total, parts(&b)),
        (Points(200), vec![(100, Outcome::Given)])
    );
    case.record.add_shop(SHOP);
    let b = case.eval(&basket(1000, &[]));
    assert_eq!(
        (b.total, parts(&b)),
        (
            Points(100),
            vec![(0, Outcome::NotGiven(NotGiven::NotFirstPurchase))]
        )
    );
}

// ----- limits: budget, per customer, holdout --------------------------------------

#[test]
fn a_campaign_gives_what_is_left_of_its_budget() {
    let mut c = campaign(1, bonus(50));
    c.spec.budget = Points(100);
    c.spent = Points(90);
    let b = Case::new().campaign(c.clone()).eval(&basket(1000, &[]));
    assert_eq!(parts(&b), vec![(10, Outcome::Limited(Limit::Budget))]);
    assert_eq!(b.total, Points(110));
    // A multiplier too.
    let mut m = campaign(2, times(2000));
    m.spec.budget = Points(30);
    let b = Case::new().campaign(m).eval(&basket(1000, &[]));
    assert_eq!(parts(&b), vec![(30, Outcome::Limited(Limit::Budget))]);
    // Spent: nothing.
    c.spent = Points(100);
    let b = Case::new().campaign(c).eval(&basket(1000, &[]));
    assert_eq!(
        parts(&b),
        vec![(0, Outcome::NotGiven(NotGiven::BudgetSpent))]
    );
    assert_eq!(b.total, Points(100));
    assert!(b.claim().campaigns.is_empty());
}

#[test]
fn per_customer_limits_count_sales_and_points_in_the_period() {
    let mut c = campaign(1, bonus(50));
    c.spec.per_customer = Some(CustomerLimit {
        max_sales: 2,
        max_points: Points(0),
        period_days: 7,
    });
    let used = |sales, points| CampaignUse {
        period: 0,
        sales,
        points: Points(points),
    };
    let b = Case::new()
        .campaign_used(c.clone(), used(1, 50))
        .eval(&basket(1000, &[]));
    assert_eq!(parts(&b), vec![(50, Outcome::Given)]);
    let b = Case::new()
        .campaign_used(c.clone(), used(2, 100))
        .eval(&basket(1000, &[]));
    assert_eq!(
        parts(&b),
        vec![(0, Outcome::NotGiven(NotGiven::CustomerLimit))]
    );
    // A points limit: 60 a period, 20 used, so 40 of the 50.
    c.spec.per_customer = Some(CustomerLimit {
        max_sales: 0,
        max_points: Points(60),
        period_days: 0,
    });
    let b = Case::new()
        .campaign_used(c.clone(), used(1, 20))
        .eval(&basket(1000, &[]));
    assert_eq!(
        parts(&b),
        vec![(40, Outcome::Limited(Limit::CustomerPoints))]
    );
    assert_eq!(b.total, Points(140));
    let b = Case::new()
        .campaign_used(c, used(2, 60))
        .eval(&basket(1000, &[]));
    assert_eq!(
        parts(&b),
        vec![(0, Outcome::NotGiven(NotGiven::CustomerLimit))]
    );
}

#[test]
fn the_holdout_is_a_deterministic_draw_per_customer() {
    // Pinned: with campaign 1 and 500 per mille, customer seed 100 is held
    // out and seed 101 is not (the draw is the hash of §"holdout").
    let held = Address([100; 32]);
    let kept = Address([101; 32]);
    assert!(held_out(CampaignId(1), &held, Permille(500)));
    assert!(!held_out(CampaignId(1), &kept, Permille(500)));
    assert!(!held_out(CampaignId(1), &held, Permille(0)));
    let mut c = campaign(1, bonus(50));
    c.spec.holdout = Permille(500);
    let mut case = Case::new().campaign(c);
    case.customer = held;
    let b = case.eval(&basket(1000, &[]));
    assert_eq!(
        (b.total, parts(&b)),
        (Points(100), vec![(0, Outcome::NotGiven(NotGiven::HeldOut))])
    );
    case.customer = kept;
    let b = case.eval(&basket(1000, &[]));
    assert_eq!(
        (b.total, parts(&b)),
        (Points(150), vec![(50, Outcome::Given)])
    );
    // Roughly half of many customers are held out.
    let out = (0..=255u8)
        .filter(|n| held_out(CampaignId(1), &Address([*n; 32]), Permille(500)))
        .count();
    assert!((96..=160).contains(&out), "{out} of 256 held out");
}

// ----- referral ------------------------------------------------------------------

fn referral() -> Campaign {
    campaign(
        1,
        Reward::Referral {
            referrer: Points(200),
            referred: Points(100),
        },
    )
}

#[test]
fn a_referral_pays_both_sides_once() {
    let mut case = Case::new().campaign(referral());
    case.record.referred_by = Some(REFERRER);
    let b = case.eval(&basket(1000, &[]));
    assert_eq!(b.total, Points(200)); // 100 + 100
    assert_eq!(parts(&b), vec![(100, Outcome::Given)]);
    assert_eq!(b.campaigns[0].referrer_points, Points(200));
    assert_eq!(b.campaigns[0].cost(), Points(300));
    let r = b.referrer.unwrap();
    assert_eq!(
        (r.referrer, r.points, r.campaign),
        (REFERRER, Points(200), CampaignId(1))
    );
    // Already paid: nothing.
    case.record.referral_paid = true;
    let b = case.eval(&basket(1000, &[]));
    assert_eq!(
        (b.total, parts(&b), b.referrer),
        (
            Points(100),
            vec![(0, Outcome::NotGiven(NotGiven::NoReferral))],
            None
        )
    );
}

#[test]
fn a_referral_needs_a_referrer_and_its_whole_cost_in_the_budget() {
    let b = Case::new().campaign(referral()).eval(&basket(1000, &[]));
    assert_eq!(
        (b.total, parts(&b), b.referrer),
        (
            Points(100),
            vec![(0, Outcome::NotGiven(NotGiven::NoReferral))],
            None
        )
    );
    let mut c = referral();
    c.spent = Points(c.spec.budget.0 - 299);
    let mut case = Case::new().campaign(c);
    case.record.referred_by = Some(REFERRER);
    let b = case.eval(&basket(1000, &[]));
    assert_eq!(
        (b.total, parts(&b), b.referrer),
        (
            Points(100),
            vec![(0, Outcome::NotGiven(NotGiven::BudgetSpent))],
            None
        )
    );
}

// ----- the claim ----------------------------------------------------------------

#[test]
fn a_claim_is_checked_against_the_recomputed_breakdown() {
    let b = Case::new()
        .earned(600)
        .campaign(campaign(1, bonus(50)))
        .eval(&basket(1250, &[]));
    let good = b.claim();
    assert_eq!(
        good,
        Claim {
            rule_version: 1,
            tier: Some(tier_name("silver")),
            campaigns: vec![CampaignCost {
                campaign: CampaignId(1),
                points: Points(50)
            }],
            total: Points(206),
        }
    );
    assert_eq!(check_claim(&b, &good), Ok(()));
    let forged = Claim {
        total: Points(300),
        ..good.clone()
    };
    let err = check_claim(&b, &forged).unwrap_err();
    assert_eq!(
        err,
        ClaimMismatch::PointsMismatch {
            rules_give: Points(206),
            claimed: Points(300)
        }
    );
    assert_eq!(
        err.to_string(),
        "points mismatch: rules give 206, transaction claims 300"
    );
    let old_rule = Claim {
        rule_version: 2,
        ..good.clone()
    };
    assert!(matches!(
        check_claim(&b, &old_rule),
        Err(ClaimMismatch::RulesChanged(RulesChange::RuleVersion {
            now: 1,
            signed: 2
        }))
    ));
    let no_tier = Claim {
        tier: None,
        ..good.clone()
    };
    assert!(matches!(
        check_claim(&b, &no_tier),
        Err(ClaimMismatch::RulesChanged(RulesChange::Tier { .. }))
    ));
    let other_budget = Claim {
        campaigns: vec![],
        ..good
    };
    assert!(matches!(
        check_claim(&b, &other_budget),
        Err(ClaimMismatch::RulesChanged(RulesChange::Campaigns { .. }))
    ));
}
