//! The points of one sale, computed from the rules: a pure function of the
//! basket and the rule, tier and campaign records in force.
//!
//! ## Order of evaluation (docs/protocol.md §"Programme rules")
//!
//! 1. **Categories**: each part of the basket is weighted by its category's
//!    multiplier (excluded categories weigh 0, the uncategorised rest ×1),
//!    then the shop's rate applies: `base = Σ amount × multiplier × points
//!    / per`. A sale whose eligible amount (the amount less excluded
//!    categories) is below the rule's minimum spend earns nothing.
//! 2. **Tier**: the customer's tier multiplier applies to the base.
//! 3. **Campaign multipliers**, by campaign id: each adds
//!    `(multiplier − 1)` × the tiered points of the part of the basket it
//!    covers.
//! 4. **Fixed bonuses** (bonus and referral campaigns), by campaign id.
//! 5. Every component above is exact (a fraction); the points of each are
//!    the running total rounded down minus the running total before it,
//!    so the sum is the exact total rounded down **once**.
//! 6. **Limits**: each campaign gives at most its budget left and the
//!    customer's points left in its period; then the rule's cap per sale
//!    cuts from the last component backwards.

use super::campaign::{Campaign, CampaignUse, Reward, held_out};
use super::locale::LocalTime;
use super::rule::{Basket, EarnRule};
use super::tier::{CustomerRecord, TierTable};
use crate::crypto::Address;
use crate::types::{
    CampaignId, CampaignName, Category, Cents, Permille, Points, TierName, Timestamp,
};

/// Everything the points of a sale depend on, as read from the state
/// before the sale.
#[derive(Clone, Debug)]
pub struct SaleFacts<'a> {
    /// The selling shop.
    pub shop: Address,
    /// The customer.
    pub customer: Address,
    /// The block time.
    pub time: Timestamp,
    /// The block time in the network's local time.
    pub local: LocalTime,
    /// The shop's rule in force.
    pub rule: &'a EarnRule,
    /// The group's tiers.
    pub tiers: &'a TierTable,
    /// The customer's record (default if none).
    pub record: &'a CustomerRecord,
    /// The shop's running campaigns, by id, each with the customer's use in
    /// its current period.
    pub campaigns: Vec<(&'a Campaign, CampaignUse)>,
}

/// Why a sale gave what it gave, line by line.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Breakdown {
    /// The version of the shop's rule used.
    pub rule_version: u32,
    /// The amount paid.
    pub amount: Cents,
    /// The amount that can earn (less excluded categories).
    pub eligible: Cents,
    /// The basket by category, with the multiplier each got.
    pub categories: Vec<CategoryPart>,
    /// Set if the eligible amount is below the rule's minimum spend (then
    /// nothing is given).
    pub below_minimum: Option<Cents>,
    /// Points from the rate and category multipliers.
    pub base: Points,
    /// The customer's tier, if any, and what it added.
    pub tier: Option<TierPart>,
    /// Each running campaign of the shop: what it gave or why not.
    pub campaigns: Vec<CampaignPart>,
    /// Set if the rule's cap per sale cut the total.
    pub capped: Option<CapPart>,
    /// The referrer's reward, if this sale pays a referral.
    pub referrer: Option<ReferrerPart>,
    /// Points issued to the customer.
    pub total: Points,
}

/// One part of the basket.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CategoryPart {
    /// The category (`None`: the uncategorised rest).
    pub category: Option<Category>,
    /// The amount in it.
    pub amount: Cents,
    /// Its multiplier (0: excluded).
    pub multiplier: Permille,
}

/// What the tier added.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TierPart {
    /// The tier.
    pub name: TierName,
    /// Its multiplier.
    pub multiplier: Permille,
    /// Points the customer earned in the window before this sale.
    pub earned_in_window: Points,
    /// Points it added.
    pub points: Points,
}

/// What one campaign did.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CampaignPart {
    /// The campaign.
    pub campaign: CampaignId,
    /// Its name.
    pub name: CampaignName,
    /// Points it gave the customer.
    pub points: Points,
    /// Points it gave the referrer (referral campaigns).
    pub referrer_points: Points,
    /// Given in full, limited, or not given and why.
    pub outcome: Outcome,
}

impl CampaignPart {
    /// What the campaign's budget pays for this sale.
    pub fn cost(&self) -> Points {
        Points(self.points.0.saturating_add(self.referrer_points.0))
    }
}

/// What happened to a campaign's points in one sale.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome", content = "reason")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Outcome {
    /// Given in full.
    Given,
    /// Given in part.
    Limited(Limit),
    /// Not given.
    NotGiven(NotGiven),
}

/// What limited a campaign's points.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Limit {
    /// Only what was left of its budget.
    Budget,
    /// The customer's points limit for the period.
    CustomerPoints,
    /// The shop's cap per sale.
    SaleCap,
}

/// Why a running campaign gave nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum NotGiven {
    /// Its budget is spent.
    BudgetSpent,
    /// The customer reached its per-customer limit for the period.
    CustomerLimit,
    /// The customer is in the campaign's holdout group.
    HeldOut,
    /// Not on this day of the week.
    NotThisDay,
    /// Not at this hour.
    NotThisHour,
    /// The basket has none of its categories.
    NoMatchingCategory,
    /// The customer's tier is not among its tiers.
    TierNotIncluded,
    /// Only for a first purchase at the shop.
    NotFirstPurchase,
    /// The eligible amount is below its minimum spend.
    BelowMinimumSpend,
    /// Below the shop rule's minimum spend: the sale earns nothing.
    BelowRuleMinimum,
    /// A referral campaign, and this sale pays no referral.
    NoReferral,
    /// The shop's cap per sale left nothing for it.
    SaleCap,
}

impl NotGiven {
    /// Why, in words (`its budget is spent`).
    pub fn text(self) -> &'static str {
        match self {
            NotGiven::BudgetSpent => "its budget is spent",
            NotGiven::CustomerLimit => "the customer reached its limit",
            NotGiven::HeldOut => "the customer is in its holdout group",
            NotGiven::NotThisDay => "not on this day",
            NotGiven::NotThisHour => "not at this hour",
            NotGiven::NoMatchingCategory => "none of its categories in the basket",
            NotGiven::TierNotIncluded => "not for the customer's tier",
            NotGiven::NotFirstPurchase => "only for a first purchase here",
            NotGiven::BelowMinimumSpend => "below its minimum spend",
            NotGiven::BelowRuleMinimum => "below the shop's minimum spend",
            NotGiven::NoReferral => "no referral to pay",
            NotGiven::SaleCap => "the shop's cap per sale",
        }
    }
}

impl std::fmt::Display for NotGiven {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.text())
    }
}

/// The cap per sale and how much it cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CapPart {
    /// The cap.
    pub cap: Points,
    /// Points it cut.
    pub cut: Points,
}

/// The reward of the customer who referred.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReferrerPart {
    /// Who referred.
    pub referrer: Address,
    /// Points they get.
    pub points: Points,
    /// The referral campaign paying.
    pub campaign: CampaignId,
}

/// What a sale transaction states about its points: everything a
/// validating node recomputes and compares.
#[derive(
    Clone,
    Debug,
    Default,
    PartialEq,
    Eq,
    bincode::Encode,
    bincode::Decode,
    serde::Serialize,
    serde::Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Claim {
    /// The shop's rule version used.
    pub rule_version: u32,
    /// The customer's tier used.
    pub tier: Option<TierName>,
    /// The campaigns that gave points, by id, with their cost.
    pub campaigns: Vec<CampaignCost>,
    /// Points issued to the customer.
    pub total: Points,
}

/// Points one campaign paid in a sale (customer and referrer together).
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    bincode::Encode,
    bincode::Decode,
    serde::Serialize,
    serde::Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CampaignCost {
    /// The campaign.
    pub campaign: CampaignId,
    /// Points paid.
    pub points: Points,
}

/// A total beyond what points can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the points of this sale would overflow")]
pub struct EvalOverflow;

impl Breakdown {
    /// What a transaction carrying this breakdown states.
    pub fn claim(&self) -> Claim {
        Claim {
            rule_version: self.rule_version,
            tier: self.tier.as_ref().map(|t| t.name.clone()),
            campaigns: self
                .campaigns
                .iter()
                .filter(|c| !c.cost().is_zero())
                .map(|c| CampaignCost {
                    campaign: c.campaign,
                    points: c.cost(),
                })
                .collect(),
            total: self.total,
        }
    }
}

/// One exact component of the total: `num / denominator` points.
struct Component {
    num: u128,
    /// Index into the campaign parts, or `None` for base and tier.
    campaign: Option<usize>,
    points: u64,
}

/// Computes a sale's points. The basket must be valid
/// ([`Basket::validate`]).
pub fn evaluate(facts: &SaleFacts<'_>, basket: &Basket) -> Result<Breakdown, EvalOverflow> {
    let spec = &facts.rule.spec;
    // 1. Categories.
    let mut categories = Vec::with_capacity(basket.items.len() + 1);
    let mut weighted: u128 = 0; // amount × multiplier, in per-mille minor units
    let mut eligible: u64 = 0;
    for line in &basket.items {
        let multiplier = spec.multiplier(&line.category);
        if multiplier.0 > 0 {
            eligible = eligible.saturating_add(line.amount.0);
        }
        weighted += u128::from(line.amount.0) * u128::from(multiplier.0);
        categories.push(CategoryPart {
            category: Some(line.category.clone()),
            amount: line.amount,
            multiplier,
        });
    }
    let rest = basket.uncategorised();
    if rest.0 > 0 {
        eligible = eligible.saturating_add(rest.0);
        weighted += u128::from(rest.0) * 1000;
        categories.push(CategoryPart {
            category: None,
            amount: rest,
            multiplier: Permille::ONE,
        });
    }
    let mut out = Breakdown {
        rule_version: facts.rule.version,
        amount: basket.amount,
        eligible: Cents(eligible),
        categories,
        below_minimum: None,
        base: Points::ZERO,
        tier: None,
        campaigns: Vec::new(),
        capped: None,
        referrer: None,
        total: Points::ZERO,
    };
    let today = facts.local.day;
    let earned = facts
        .record
        .earned_in_window(today, facts.tiers.window_days);
    let tier = facts.tiers.tier_for(earned);
    let below_minimum = Cents(eligible) < spec.min_spend;
    if below_minimum {
        out.below_minimum = Some(spec.min_spend);
    }

    // 2-4. The exact components over one denominator.
    let rate = u128::from(spec.points);
    let denominator = u128::from(spec.per.0) * 1_000_000_000;
    let tier_multiplier = u128::from(tier.map_or(1000, |t| t.multiplier.0));
    let mut components = vec![Component {
        num: weighted * rate * 1_000_000,
        campaign: None,
        points: 0,
    }];
    if let Some(t) = tier {
        components.push(Component {
            num: weighted * rate * (u128::from(t.multiplier.0) - 1000) * 1000,
            campaign: None,
            points: 0,
        });
    }
    // Campaign parts, by id; multipliers are components before bonuses.
    let mut bonuses = Vec::new();
    let mut referral: Option<(usize, Points)> = None;
    for (index, (campaign, used)) in facts.campaigns.iter().enumerate() {
        let c = &campaign.spec;
        out.campaigns.push(CampaignPart {
            campaign: campaign.id,
            name: c.name.clone(),
            points: Points::ZERO,
            referrer_points: Points::ZERO,
            outcome: Outcome::Given,
        });
        let why = if below_minimum {
            Some(NotGiven::BelowRuleMinimum)
        } else {
            eligibility(facts, campaign, used, basket, tier.map(|t| &t.name))
        };
        if let Some(why) = why {
            out.campaigns[index].outcome = Outcome::NotGiven(why);
            continue;
        }
        match &c.reward {
            Reward::Multiplier { multiplier } => {
                let covered = covered_weight(facts, basket, &c.categories);
                components.push(Component {
                    num: covered * rate * tier_multiplier * (u128::from(multiplier.0) - 1000),
                    campaign: Some(index),
                    points: 0,
                });
            }
            Reward::Bonus { points } => bonuses.push(Component {
                num: u128::from(points.0) * denominator,
                campaign: Some(index),
                points: 0,
            }),
            Reward::Referral { referrer, referred } => {
                if referral.is_some() {
                    // One referral pays once, by the first campaign.
                    out.campaigns[index].outcome = Outcome::NotGiven(NotGiven::NoReferral);
                    continue;
                }
                let cost = referrer.0.saturating_add(referred.0);
                if campaign.budget_left().0 < cost {
                    out.campaigns[index].outcome = Outcome::NotGiven(NotGiven::BudgetSpent);
                    continue;
                }
                referral = Some((index, *referrer));
                bonuses.push(Component {
                    num: u128::from(referred.0) * denominator,
                    campaign: Some(index),
                    points: 0,
                });
            }
            // An offer is given by a grant, never at a sale (the state
            // leaves offers out of a sale's campaigns).
            Reward::Offer { .. } => {}
        }
    }
    components.extend(bonuses);
    if below_minimum {
        components.clear();
    }

    // 5. Round the running total down once.
    let mut running: u128 = 0;
    let mut floor_before: u128 = 0;
    for component in &mut components {
        running = running.saturating_add(component.num);
        let floor = running / denominator;
        component.points = u64::try_from(floor - floor_before).map_err(|_| EvalOverflow)?;
        floor_before = floor;
    }

    // 6. Campaign limits, then the cap per sale from the end backwards.
    for component in &mut components {
        let Some(index) = component.campaign else {
            continue;
        };
        let (campaign, used) = &facts.campaigns[index];
        let referrer_points = match referral {
            Some((i, points)) if i == index => points.0,
            _ => 0,
        };
        let mut allowed = campaign.budget_left().0.saturating_sub(referrer_points);
        let mut limit = Limit::Budget;
        if let Some(l) = campaign.spec.per_customer
            && !l.max_points.is_zero()
            && referral.is_none_or(|(i, _)| i != index)
        {
            let left = l.max_points.0.saturating_sub(used.points.0);
            if left < allowed {
                allowed = left;
                limit = Limit::CustomerPoints;
            }
        }
        let part = &mut out.campaigns[index];
        if component.points > allowed {
            component.points = allowed;
            part.outcome = match (allowed, limit) {
                (0, Limit::Budget) => Outcome::NotGiven(NotGiven::BudgetSpent),
                (0, _) => Outcome::NotGiven(NotGiven::CustomerLimit),
                (_, limit) => Outcome::Limited(limit),
            };
        }
    }
    let mut total: u64 = components
        .iter()
        .try_fold(0u64, |sum, c| sum.checked_add(c.points))
        .ok_or(EvalOverflow)?;
    if let Some(cap) = spec.cap
        && total > cap.0
    {
        let cut = total - cap.0;
        out.capped = Some(CapPart {
            cap,
            cut: Points(cut),
        });
        let mut to_cut = cut;
        for component in components.iter_mut().rev() {
            if to_cut == 0 {
                break;
            }
            let taken = component.points.min(to_cut);
            component.points -= taken;
            to_cut -= taken;
            if let Some(index) = component.campaign
                && taken > 0
            {
                out.campaigns[index].outcome = if component.points == 0 {
                    Outcome::NotGiven(NotGiven::SaleCap)
                } else {
                    Outcome::Limited(Limit::SaleCap)
                };
            }
        }
        total = cap.0;
    }

    // Write the components back into the breakdown.
    out.base = Points(components.first().map_or(0, |c| c.points));
    if let Some(t) = tier {
        out.tier = Some(TierPart {
            name: t.name.clone(),
            multiplier: t.multiplier,
            earned_in_window: earned,
            points: Points(components.get(1).map_or(0, |c| c.points)),
        });
    }
    for component in &components {
        if let Some(index) = component.campaign {
            out.campaigns[index].points = Points(component.points);
        }
    }
    if let Some((index, points)) = referral
        && let Some(referrer) = facts.record.referred_by
        && matches!(
            out.campaigns[index].outcome,
            Outcome::Given | Outcome::Limited(_)
        )
    {
        out.campaigns[index].referrer_points = points;
        out.referrer = Some(ReferrerPart {
            referrer,
            points,
            campaign: out.campaigns[index].campaign,
        });
    }
    out.total = Points(total);
    Ok(out)
}

/// Why `campaign` does not apply to this sale, if it does not (before
/// budgets and limits on points).
fn eligibility(
    facts: &SaleFacts<'_>,
    campaign: &Campaign,
    used: &CampaignUse,
    basket: &Basket,
    tier: Option<&TierName>,
) -> Option<NotGiven> {
    let c = &campaign.spec;
    if let Some(why) = when_and_who(campaign, facts.local, tier) {
        return Some(why);
    }
    if c.first_purchase && facts.record.has_bought_at(&facts.shop) {
        return Some(NotGiven::NotFirstPurchase);
    }
    if !c.categories.is_empty()
        && !c
            .categories
            .iter()
            .any(|cat| basket.amount_in(cat).0 > 0 && facts.rule.spec.multiplier(cat).0 > 0)
    {
        return Some(NotGiven::NoMatchingCategory);
    }
    if eligible_amount(facts, basket) < c.min_spend {
        return Some(NotGiven::BelowMinimumSpend);
    }
    if let Reward::Referral { .. } = c.reward {
        let r = facts.record;
        if r.referred_by.is_none() || r.referral_paid {
            return Some(NotGiven::NoReferral);
        }
    }
    limits(campaign, &facts.customer, used, Points::ZERO)
}

/// Why an offer (a campaign whose reward is [`Reward::Offer`]) cannot give
/// its `points` to `customer` at `local` time, if it cannot: the checks of a
/// sale's campaigns that need no basket (day, hour, tier, budget,
/// per-customer limit, holdout). An offer gives all its points or nothing.
pub fn offer_eligibility(
    campaign: &Campaign,
    customer: &Address,
    used: &CampaignUse,
    local: LocalTime,
    tier: Option<&TierName>,
    points: Points,
) -> Option<NotGiven> {
    when_and_who(campaign, local, tier).or_else(|| limits(campaign, customer, used, points))
}

/// The day, hour and tier conditions of a campaign.
fn when_and_who(
    campaign: &Campaign,
    local: LocalTime,
    tier: Option<&TierName>,
) -> Option<NotGiven> {
    let c = &campaign.spec;
    if !c.on_day(local.weekday) {
        return Some(NotGiven::NotThisDay);
    }
    if !c.at_hour(local.hour) {
        return Some(NotGiven::NotThisHour);
    }
    if !c.tiers.is_empty() && tier.is_none_or(|t| !c.tiers.contains(t)) {
        return Some(NotGiven::TierNotIncluded);
    }
    None
}

/// The budget, the per-customer limit and the holdout of a campaign that
/// would give `points` more (zero for a sale, whose points are limited
/// later).
fn limits(
    campaign: &Campaign,
    customer: &Address,
    used: &CampaignUse,
    points: Points,
) -> Option<NotGiven> {
    let c = &campaign.spec;
    let left = campaign.budget_left();
    if left.is_zero() || left < points {
        return Some(NotGiven::BudgetSpent);
    }
    if let Some(limit) = c.per_customer
        && !matches!(c.reward, Reward::Referral { .. })
    {
        let count_reached = limit.max_sales > 0 && used.sales >= limit.max_sales;
        let after = used.points.0.saturating_add(points.0);
        let points_reached = !limit.max_points.is_zero()
            && (used.points >= limit.max_points || after > limit.max_points.0);
        if count_reached || points_reached {
            return Some(NotGiven::CustomerLimit);
        }
    }
    if held_out(campaign.id, customer, c.holdout) {
        return Some(NotGiven::HeldOut);
    }
    None
}

/// The basket amount that can earn under the shop's rule.
fn eligible_amount(facts: &SaleFacts<'_>, basket: &Basket) -> Cents {
    let excluded: u64 = basket
        .items
        .iter()
        .filter(|l| facts.rule.spec.multiplier(&l.category).0 == 0)
        .map(|l| l.amount.0)
        .sum();
    Cents(basket.amount.0.saturating_sub(excluded))
}

/// The category-weighted amount a campaign covers: the whole basket, or
/// only its categories.
fn covered_weight(facts: &SaleFacts<'_>, basket: &Basket, categories: &[Category]) -> u128 {
    let spec = &facts.rule.spec;
    let weight =
        |cat: &Category| u128::from(basket.amount_in(cat).0) * u128::from(spec.multiplier(cat).0);
    if categories.is_empty() {
        let items: u128 = basket.items.iter().map(|l| weight(&l.category)).sum();
        items + u128::from(basket.uncategorised().0) * 1000
    } else {
        categories.iter().map(weight).sum()
    }
}

/// Why a claimed sale does not match the rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimMismatch {
    /// The rule version, the customer's tier or a campaign's points differ
    /// from what the transaction was signed with: the state moved on
    /// between signing and inclusion (the shop's node re-signs).
    #[error("rules changed since the sale was signed: {0}")]
    RulesChanged(RulesChange),
    /// Same rules, different points: a forged or miscomputed earn.
    #[error("points mismatch: rules give {rules_give}, transaction claims {claimed}")]
    PointsMismatch {
        /// What the rules give.
        rules_give: Points,
        /// What the transaction claims.
        claimed: Points,
    },
}

/// What moved between signing a sale and checking it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RulesChange {
    /// The shop's rule version.
    #[error("the shop's rule is version {now}, the sale used version {signed}")]
    RuleVersion {
        /// In force now.
        now: u32,
        /// Used by the sale.
        signed: u32,
    },
    /// The customer's tier.
    #[error(
        "the customer's tier is {}, the sale used {}",
        tier_text(now),
        tier_text(signed)
    )]
    Tier {
        /// Now.
        now: Option<TierName>,
        /// Used by the sale.
        signed: Option<TierName>,
    },
    /// What campaigns give (a budget or limit was used meanwhile, or a
    /// campaign started or ended).
    #[error(
        "campaigns now give {}, the sale used {}",
        costs_text(now),
        costs_text(signed)
    )]
    Campaigns {
        /// Now.
        now: Vec<CampaignCost>,
        /// Used by the sale.
        signed: Vec<CampaignCost>,
    },
}

fn tier_text(tier: &Option<TierName>) -> String {
    tier.as_ref()
        .map_or_else(|| "none".to_string(), |t| t.to_string())
}

fn costs_text(list: &[CampaignCost]) -> String {
    if list.is_empty() {
        return "nothing".to_string();
    }
    list.iter()
        .map(|c| format!("{} points from campaign {}", c.points, c.campaign))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Compares a transaction's claim with the breakdown recomputed from the
/// state.
pub fn check_claim(computed: &Breakdown, claimed: &Claim) -> Result<(), ClaimMismatch> {
    let expected = computed.claim();
    if expected == *claimed {
        return Ok(());
    }
    let change = if expected.rule_version != claimed.rule_version {
        RulesChange::RuleVersion {
            now: expected.rule_version,
            signed: claimed.rule_version,
        }
    } else if expected.tier != claimed.tier {
        RulesChange::Tier {
            now: expected.tier,
            signed: claimed.tier.clone(),
        }
    } else if expected.campaigns != claimed.campaigns {
        RulesChange::Campaigns {
            now: expected.campaigns,
            signed: claimed.campaigns.clone(),
        }
    } else {
        return Err(ClaimMismatch::PointsMismatch {
            rules_give: expected.total,
            claimed: claimed.total,
        });
    };
    Err(ClaimMismatch::RulesChanged(change))
}
