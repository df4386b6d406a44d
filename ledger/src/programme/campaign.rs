//! Campaigns: time-boxed extra points with a budget, published by one shop
//! or several together.

use crate::crypto::Address;
use crate::hash::{Hash, tagged_hash};
use crate::types::{
    CampaignId, CampaignName, Category, Cents, Permille, Points, TierName, Timestamp,
};

/// What a campaign gives.
#[derive(
    Clone,
    Debug,
    PartialEq,
    Eq,
    bincode::Encode,
    bincode::Decode,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "snake_case", tag = "kind")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Reward {
    /// Multiplies the points of the (matching part of the) sale, after the
    /// tier multiplier: `multiplier: 2000` is double points.
    Multiplier {
        /// The multiplier (above ×1).
        multiplier: Permille,
    },
    /// A fixed number of points per qualifying sale.
    Bonus {
        /// The points.
        points: Points,
    },
    /// Pays both sides of a referral on the referred customer's first
    /// qualifying purchase.
    Referral {
        /// Points to the customer who referred.
        referrer: Points,
        /// Points to the referred customer.
        referred: Points,
    },
    /// A fixed number of points given to a customer the shop chooses (a
    /// win-back offer sent by an automation), one [`TxBody::Grant`] at a
    /// time; never given at a sale.
    ///
    /// [`TxBody::Grant`]: crate::tx::TxBody::Grant
    Offer {
        /// The points.
        points: Points,
    },
}

/// A limit per customer.
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
pub struct CustomerLimit {
    /// Most sales that get the campaign per period (0: no limit on count).
    pub max_sales: u32,
    /// Most campaign points per period (0: no limit on points).
    pub max_points: Points,
    /// Length of a period in days from the campaign's start (0: the whole
    /// campaign is one period).
    pub period_days: u32,
}

/// One funding shop's share of a campaign's cost.
#[derive(
    Clone,
    Debug,
    PartialEq,
    Eq,
    bincode::Encode,
    bincode::Decode,
    serde::Serialize,
    serde::Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Share {
    /// The shop.
    pub shop: Address,
    /// Its share of the cost, in percent.
    pub percent: u8,
}

/// A campaign as its shops publish it.
#[derive(
    Clone,
    Debug,
    PartialEq,
    Eq,
    bincode::Encode,
    bincode::Decode,
    serde::Serialize,
    serde::Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CampaignSpec {
    /// Its name.
    pub name: CampaignName,
    /// The shops that fund it and where it applies, sorted by address,
    /// with shares summing to 100. A single-shop campaign names only its
    /// publisher at 100.
    pub funders: Vec<Share>,
    /// What it gives.
    pub reward: Reward,
    /// First instant it applies.
    pub start: Timestamp,
    /// First instant it no longer applies.
    pub end: Timestamp,
    /// Days of the week it applies, bit 0 = Monday … bit 6 = Sunday (0:
    /// every day).
    pub days: u8,
    /// Local hours it applies, `[from, to)` (e.g. `[0, 9)` for "before 9").
    pub hours: Option<(u8, u8)>,
    /// Categories it applies to (empty: the whole sale). A multiplier
    /// multiplies only these; a bonus needs one of them in the basket.
    pub categories: Vec<Category>,
    /// Tiers it is for (empty: everyone).
    pub tiers: Vec<TierName>,
    /// Only a customer's first purchase at that shop.
    pub first_purchase: bool,
    /// The least eligible spend of a qualifying sale, in minor units.
    pub min_spend: Cents,
    /// The most points it gives in total.
    pub budget: Points,
    /// A limit per customer, if any.
    pub per_customer: Option<CustomerLimit>,
    /// Share of eligible customers held out (given nothing, to measure the
    /// campaign's effect), in per mille, at most 500.
    pub holdout: Permille,
}

/// A campaign on the ledger.
#[derive(
    Clone,
    Debug,
    PartialEq,
    Eq,
    bincode::Encode,
    bincode::Decode,
    serde::Serialize,
    serde::Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Campaign {
    /// Its id.
    pub id: CampaignId,
    /// The shop that published it.
    pub publisher: Address,
    /// The campaign.
    pub spec: CampaignSpec,
    /// Funders that have signed it, sorted (the publisher signs by
    /// publishing). It runs only once every funder has.
    pub approvals: Vec<Address>,
    /// Points it has given, less budget returned by refunds.
    pub spent: Points,
    /// Set if a funder stopped it early: the instant it stopped.
    pub stopped: Option<Timestamp>,
}

/// Where one customer stands against a campaign's per-customer limit.
#[derive(
    Clone,
    Copy,
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
pub struct CampaignUse {
    /// The period these counts are for.
    pub period: u64,
    /// Sales that got the campaign in that period.
    pub sales: u32,
    /// Campaign points in that period.
    pub points: Points,
}

/// Most shops funding one campaign.
pub const MAX_FUNDERS: usize = 16;

/// Why a campaign was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CampaignError {
    /// No funders, too many, not sorted, a share of 0 or the shares not
    /// summing to 100.
    #[error(
        "funders must be 1 to 16 shops, listed once, with shares of at least 1% summing to 100%"
    )]
    BadShares,
    /// The publisher is not among the funders.
    #[error("the publishing shop must be one of the funders")]
    PublisherNotFunder,
    /// A funder is not a member.
    #[error("funder {shop} is not a member shop")]
    FunderNotMember {
        /// The shop.
        shop: Address,
    },
    /// `end` not after `start`, or already over.
    #[error("the campaign must end after it starts, and after now")]
    BadTimes,
    /// Hours outside 0..=24 or empty.
    #[error("hours must be a range from..to within 0 to 24 with from < to")]
    BadHours,
    /// The day mask has bit 7 set.
    #[error("days must be a mask of bits 0 (Monday) to 6 (Sunday)")]
    BadDays,
    /// A multiplier not above ×1 or beyond ×100, or a zero bonus.
    #[error("the reward must be a multiplier above x1 (at most x100) or at least 1 point")]
    BadReward,
    /// A zero budget.
    #[error("the budget must be at least 1 point")]
    ZeroBudget,
    /// A holdout beyond 50%.
    #[error("the holdout may be at most 500 per mille")]
    BadHoldout,
    /// Category or tier lists out of order or too long.
    #[error("categories and tiers must be sorted, listed once, at most 16 each")]
    BadLists,
    /// A referral campaign with category, tier or first-purchase filters.
    #[error("a referral campaign may only be limited by time and minimum spend")]
    ReferralFilters,
    /// An offer with category, first-purchase or minimum-spend filters
    /// (it is not given at a sale).
    #[error(
        "an offer is not given at a sale: it may be limited by time, days, hours, tiers and per customer, not by categories, first purchase or minimum spend"
    )]
    OfferFilters,
}

impl CampaignSpec {
    /// Checks the shape (membership of funders is checked by the ledger).
    pub fn validate(&self, publisher: &Address, now: Timestamp) -> Result<(), CampaignError> {
        let f = &self.funders;
        let sum: u32 = f.iter().map(|s| u32::from(s.percent)).sum();
        if f.is_empty()
            || f.len() > MAX_FUNDERS
            || sum != 100
            || f.iter().any(|s| s.percent == 0)
            || !f.windows(2).all(|w| w[0].shop < w[1].shop)
        {
            return Err(CampaignError::BadShares);
        }
        if !f.iter().any(|s| &s.shop == publisher) {
            return Err(CampaignError::PublisherNotFunder);
        }
        if self.end <= self.start || self.end <= now {
            return Err(CampaignError::BadTimes);
        }
        if let Some((from, to)) = self.hours
            && (from >= to || to > 24)
        {
            return Err(CampaignError::BadHours);
        }
        if self.days & 0x80 != 0 {
            return Err(CampaignError::BadDays);
        }
        let reward_ok = match &self.reward {
            Reward::Multiplier { multiplier } => {
                *multiplier > Permille::ONE && *multiplier <= super::rule::MAX_MULTIPLIER
            }
            Reward::Bonus { points } => !points.is_zero(),
            Reward::Referral { referrer, referred } => !referrer.is_zero() || !referred.is_zero(),
            Reward::Offer { points } => !points.is_zero(),
        };
        if !reward_ok {
            return Err(CampaignError::BadReward);
        }
        if self.budget.is_zero() {
            return Err(CampaignError::ZeroBudget);
        }
        if self.holdout.0 > 500 {
            return Err(CampaignError::BadHoldout);
        }
        let sorted_cats = self.categories.windows(2).all(|w| w[0] < w[1]);
        let sorted_tiers = self.tiers.windows(2).all(|w| w[0] < w[1]);
        if !sorted_cats
            || !sorted_tiers
            || self.categories.len() > super::rule::MAX_CATEGORIES
            || self.tiers.len() > super::tier::MAX_TIERS
        {
            return Err(CampaignError::BadLists);
        }
        if matches!(self.reward, Reward::Referral { .. })
            && (!self.categories.is_empty() || !self.tiers.is_empty() || self.first_purchase)
        {
            return Err(CampaignError::ReferralFilters);
        }
        if matches!(self.reward, Reward::Offer { .. })
            && (!self.categories.is_empty() || self.first_purchase || self.min_spend.0 != 0)
        {
            return Err(CampaignError::OfferFilters);
        }
        Ok(())
    }

    /// True if the reward is given by [`TxBody::Grant`](crate::tx::TxBody::Grant)
    /// rather than at sales.
    pub fn is_offer(&self) -> bool {
        matches!(self.reward, Reward::Offer { .. })
    }

    /// True if `shop` funds the campaign (and so it applies to its sales).
    pub fn funded_by(&self, shop: &Address) -> bool {
        self.funders.iter().any(|s| &s.shop == shop)
    }

    /// True if the campaign applies on `weekday` (Monday = 0).
    pub fn on_day(&self, weekday: u8) -> bool {
        self.days == 0 || self.days & (1 << weekday) != 0
    }

    /// True if the campaign applies at local `hour`.
    pub fn at_hour(&self, hour: u8) -> bool {
        self.hours
            .is_none_or(|(from, to)| hour >= from && hour < to)
    }

    /// Each funder's part of `points` of campaign cost: shares rounded
    /// down, the remainder to `issuer` (the shop whose sale gave them).
    pub fn split_cost(&self, points: Points, issuer: &Address) -> Vec<(Address, Points)> {
        let mut parts: Vec<(Address, Points)> = self
            .funders
            .iter()
            .map(|s| {
                let part = u128::from(points.0) * u128::from(s.percent) / 100;
                (s.shop, Points(part as u64))
            })
            .collect();
        let given: u64 = parts.iter().map(|(_, p)| p.0).sum();
        let rest = points.0.saturating_sub(given);
        if let Some(part) = parts.iter_mut().find(|(shop, _)| shop == issuer) {
            part.1 = Points(part.1.0.saturating_add(rest));
        }
        parts
    }
}

impl Campaign {
    /// True if every funder has signed.
    pub fn approved(&self) -> bool {
        self.spec
            .funders
            .iter()
            .all(|s| self.approvals.binary_search(&s.shop).is_ok())
    }

    /// True if the campaign runs at `time` (signed by all, within its
    /// dates, not stopped).
    pub fn running(&self, time: Timestamp) -> bool {
        self.approved()
            && self.spec.start <= time
            && time < self.spec.end
            && self.stopped.is_none_or(|s| time < s)
    }

    /// Points of budget left.
    pub fn budget_left(&self) -> Points {
        self.spec.budget.saturating_sub(self.spent)
    }

    /// The per-customer period `local_day` falls in.
    pub fn period(&self, start_day: u64, local_day: u64) -> u64 {
        match self.spec.per_customer {
            Some(limit) if limit.period_days > 0 => {
                local_day.saturating_sub(start_day) / u64::from(limit.period_days)
            }
            _ => 0,
        }
    }
}

/// True if `customer` is held out of campaign `id` with a holdout of
/// `holdout` per mille: the first two bytes of
/// `tagged_hash("guild/holdout/v1", id, customer)` as a big-endian number,
/// modulo 1000, are below `holdout`.
pub fn held_out(id: CampaignId, customer: &Address, holdout: Permille) -> bool {
    if holdout.0 == 0 {
        return false;
    }
    let h: Hash = tagged_hash(
        crate::hash::domain::HOLDOUT,
        &[&id.0.to_be_bytes(), &customer.0],
    );
    let draw = u32::from(u16::from_be_bytes([h.0[0], h.0[1]])) % 1000;
    draw < holdout.0
}
