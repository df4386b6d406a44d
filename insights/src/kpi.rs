//! Programme KPIs over a period of local days, for one shop or the group.
//!
//! Every figure is over the days `from` to `to`, both included (the
//! shop's local days), and over the scope's purchases (one shop's, or
//! every shop's together for the group). docs/insights.md, "Programme
//! KPIs", states each definition for shop owners:
//!
//! - **active customers**: customers with at least one purchase day in
//!   the period; **new customers**: those whose first purchase (in the
//!   scope) is in the period;
//! - **repeat purchase rate**: of the active customers, the share with
//!   purchases on two or more days of the period;
//! - **redemption rate**: points of the scope's issue redeemed in the
//!   period (anywhere in the group), divided by the points the scope
//!   issued in the period (sales, grants, birthdays and referral rewards;
//!   before any reversal); both from the ledger's shop totals (`ShopStats`
//!   after the last block of `to` minus after the last block before
//!   `from`); `None` when nothing was issued;
//! - **liability**: the scope's points still held by customers after the
//!   last block of `to` (issued − reversed − redeemed − expired, the
//!   ledger's own outstanding figure);
//! - **multi-shop customers**: of the active customers, those with
//!   purchases at two or more member shops in the period (whatever the
//!   scope);
//! - **retention by monthly cohort**: customers whose first purchase is
//!   in the period, grouped by the month of that purchase; the cell of
//!   month `k` is how many of the cohort made a purchase in the `k`-th
//!   month after it (month 0 is the cohort's own month, always all of
//!   them), counting purchases up to `to`;
//! - **segments and average CLV by segment**: RFM segments as of `to`
//!   ([`crate::rfm`]) with each segment's customers, spend and, when the
//!   customer value models could be fitted, its average lifetime value;
//! - **campaign results**: for each campaign of the scope that ran during
//!   the period, the points it gave and the sales it touched
//!   ([`CampaignFigures`]), with the A/B comparison of its holdout.

use crate::Segment;
use crate::ab::{self, Comparison};
use crate::history::{CampaignTally, Customer, History, Scope};
use crate::purchase::Day;
use crate::rfm;
use guild_audit::Date;
use guild_ledger::crypto::Address;
use guild_ledger::programme::Campaign;
use guild_ledger::programme::campaign::held_out;
use guild_ledger::state::{ShopStats, State};
use guild_ledger::types::Timestamp;
use std::collections::{BTreeMap, BTreeSet};

/// The longest period KPIs are computed over (ten years).
pub const MAX_PERIOD_DAYS: u64 = 3_660;

/// The local days `from` to `to`, both included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    /// The first day.
    pub from: Day,
    /// The last day.
    pub to: Day,
}

/// A period that cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    /// `to` is before `from`.
    #[error("the period ends before it starts")]
    Reversed,
    /// Longer than [`MAX_PERIOD_DAYS`].
    #[error("the period is {days} days long; KPIs cover at most {MAX_PERIOD_DAYS} days")]
    TooLong {
        /// Its length.
        days: u64,
    },
}

impl Period {
    /// The days `from` to `to`, checked.
    pub fn new(from: Day, to: Day) -> Result<Period, PeriodError> {
        if to < from {
            return Err(PeriodError::Reversed);
        }
        let days = to.0 - from.0 + 1;
        if days > MAX_PERIOD_DAYS {
            return Err(PeriodError::TooLong { days });
        }
        Ok(Period { from, to })
    }

    /// Its length in days.
    pub fn days(&self) -> u64 {
        self.to.0 - self.from.0 + 1
    }
}

/// One cohort of the retention table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cohort {
    /// The month of the cohort's first purchases, as months since
    /// January 1970 ([`guild_audit::Month::index`]).
    pub month: u32,
    /// Customers in the cohort.
    pub customers: u32,
    /// `active[k]`: of them, those with a purchase in month `k` after the
    /// cohort's month (up to the month of the period's end).
    pub active: Vec<u32>,
}

/// One segment as of the period's end.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SegmentFigures {
    /// The segment.
    pub segment: Segment,
    /// Its customers.
    pub customers: u32,
    /// Their spend up to the period's end, in minor units.
    pub spend: u64,
    /// Their average lifetime value, in the unit of the values given
    /// (`None` without the models, or with no customer).
    pub average_clv: Option<f64>,
}

/// What a campaign did.
#[derive(Clone, Debug, PartialEq)]
pub struct CampaignFigures {
    /// The campaign as the ledger holds it at the head (its budget and
    /// the points it gave, `spent`, net of refunds).
    pub campaign: Campaign,
    /// The sales it gave points in, and their spend.
    pub tally: CampaignTally,
    /// The local days it ran: from its start to its end, its stop, or the
    /// head's day if still running (`None` if it never started).
    pub ran: Option<Period>,
    /// With a holdout: the A/B comparison of its funding shops' customers.
    pub ab: Option<CampaignAb>,
}

/// A campaign's holdout against its treated customers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CampaignAb {
    /// Customers eligible: a purchase at a funding shop before the
    /// campaign's first day.
    pub eligible: u32,
    /// Treated (not held out by the ledger) against held out: purchase
    /// at a funding shop while the campaign ran, and spend there in minor
    /// units.
    pub comparison: Comparison,
}

/// The KPIs of one scope over one period.
#[derive(Clone, Debug, PartialEq)]
pub struct Kpis {
    /// The period.
    pub period: Period,
    /// Customers with a purchase by the period's end.
    pub customers: u32,
    /// Customers with a purchase day in the period.
    pub active: u32,
    /// Customers whose first purchase is in the period.
    pub new: u32,
    /// Active customers with two or more purchase days in the period.
    pub repeat: u32,
    /// Purchases in the period.
    pub purchases: u32,
    /// Their spend, in minor units.
    pub spend: u64,
    /// Points the scope issued in the period.
    pub points_issued: u64,
    /// Points of the scope's issue redeemed in the period.
    pub points_redeemed: u64,
    /// Points of the scope's issue held by customers at the end.
    pub liability: u64,
    /// Active customers with purchases at two or more shops in the period.
    pub multi_shop: u32,
    /// The retention table.
    pub cohorts: Vec<Cohort>,
    /// Every segment, in [`Segment::ALL`] order.
    pub segments: Vec<SegmentFigures>,
    /// The scope's campaigns that ran in the period, by id.
    pub campaigns: Vec<CampaignFigures>,
}

fn share(part: u32, whole: u32) -> Option<f64> {
    (whole > 0).then(|| f64::from(part) / f64::from(whole))
}

impl Kpis {
    /// Repeat customers over active customers.
    pub fn repeat_rate(&self) -> Option<f64> {
        share(self.repeat, self.active)
    }

    /// Points redeemed over points issued.
    pub fn redemption_rate(&self) -> Option<f64> {
        (self.points_issued > 0).then(|| self.points_redeemed as f64 / self.points_issued as f64)
    }

    /// Multi-shop customers over active customers.
    pub fn multi_shop_share(&self) -> Option<f64> {
        share(self.multi_shop, self.active)
    }
}

/// The month index of a local day.
pub fn month_of(day: Day) -> u32 {
    Date::from_day_number(day.0).month_of().index()
}

/// The KPIs of `scope` over `period`, from `history` and the ledger state
/// at the head (`head`: campaigns, currency). `clv` holds each customer's
/// lifetime value as of the period's end when the models could be fitted.
pub fn kpis(
    history: &History,
    head: &State,
    scope: Scope,
    period: Period,
    clv: Option<&BTreeMap<Address, f64>>,
) -> Kpis {
    let Period { from, to } = period;
    let customers = history.customers(scope);
    let mut k = Kpis {
        period,
        customers: 0,
        active: 0,
        new: 0,
        repeat: 0,
        purchases: 0,
        spend: 0,
        points_issued: 0,
        points_redeemed: 0,
        liability: 0,
        multi_shop: 0,
        cohorts: Vec::new(),
        segments: Vec::new(),
        campaigns: Vec::new(),
    };
    for c in &customers {
        let Some(first) = c.first_day().filter(|f| *f <= to) else {
            continue;
        };
        k.customers += 1;
        let days = c.days_between(from, to);
        if days == 0 {
            continue;
        }
        let bought = c.between(from, to);
        k.active += 1;
        k.purchases = k.purchases.saturating_add(bought.purchases);
        k.spend = k.spend.saturating_add(bought.spend);
        if days >= 2 {
            k.repeat += 1;
        }
        if first >= from {
            k.new += 1;
        }
        if history.shops_visited(&c.address, from, to).len() >= 2 {
            k.multi_shop += 1;
        }
    }
    let (issued, redeemed, liability) = points(history, scope, period);
    k.points_issued = issued;
    k.points_redeemed = redeemed;
    k.liability = liability;
    k.cohorts = cohorts(&customers, period);
    k.segments = segments(&customers, to, clv);
    k.campaigns = campaigns(history, head, scope, period);
    k
}

/// Points issued and redeemed in the period and the liability at its end,
/// from the shops' running totals.
fn points(history: &History, scope: Scope, period: Period) -> (u64, u64, u64) {
    let shops: Vec<Address> = match scope {
        Scope::Group => history.shops().map(|(a, _)| *a).collect(),
        Scope::Shop(shop) => vec![shop],
    };
    let (mut issued, mut redeemed, mut liability) = (0u64, 0u64, 0u64);
    for shop in shops {
        let end = history.stats_at(&shop, period.to);
        let start = match period.from.0.checked_sub(1) {
            Some(day) => history.stats_at(&shop, Day(day)),
            None => ShopStats::default(),
        };
        issued = issued.saturating_add(end.issued.0.saturating_sub(start.issued.0));
        redeemed = redeemed.saturating_add(
            end.redeemed_issued
                .0
                .saturating_sub(start.redeemed_issued.0),
        );
        liability = liability.saturating_add(end.outstanding().0);
    }
    (issued, redeemed, liability)
}

fn cohorts(customers: &[Customer], period: Period) -> Vec<Cohort> {
    let last = month_of(period.to);
    let mut by_month: BTreeMap<u32, Cohort> = BTreeMap::new();
    for c in customers {
        let Some(first) = c.first_day() else { continue };
        if first < period.from || first > period.to {
            continue;
        }
        let month = month_of(first);
        let cohort = by_month.entry(month).or_insert_with(|| Cohort {
            month,
            customers: 0,
            active: vec![0; (last - month + 1) as usize],
        });
        cohort.customers += 1;
        let months: BTreeSet<u32> = c
            .days
            .iter()
            .filter(|(d, _)| *d >= first && *d <= period.to)
            .map(|(d, _)| month_of(*d))
            .collect();
        for m in months {
            if let Some(cell) = cohort.active.get_mut((m - month) as usize) {
                *cell += 1;
            }
        }
    }
    by_month.into_values().collect()
}

fn segments(
    customers: &[Customer],
    as_of: Day,
    clv: Option<&BTreeMap<Address, f64>>,
) -> Vec<SegmentFigures> {
    let scored = rfm::score_customers(customers, as_of);
    Segment::ALL
        .into_iter()
        .map(|segment| {
            let members: Vec<&rfm::Scored> =
                scored.iter().filter(|s| s.segment() == segment).collect();
            let values: Vec<f64> = clv.map_or_else(Vec::new, |clv| {
                members
                    .iter()
                    .filter_map(|s| clv.get(&s.customer.address).copied())
                    .collect()
            });
            SegmentFigures {
                segment,
                customers: u32::try_from(members.len()).unwrap_or(u32::MAX),
                spend: members
                    .iter()
                    .fold(0u64, |n, s| n.saturating_add(s.customer.spend())),
                average_clv: (!values.is_empty())
                    .then(|| values.iter().sum::<f64>() / values.len() as f64),
            }
        })
        .collect()
}

/// The local days a campaign ran, as of the head.
fn ran(campaign: &Campaign, head: &State) -> Option<Period> {
    let locale = &head.programme().locale;
    let now = head.chain().time;
    let start = campaign.spec.start;
    // A campaign runs once every funder signed it; it is never unsigned.
    if now < start || !campaign.approved() {
        return None;
    }
    let mut end = campaign.spec.end;
    if let Some(stopped) = campaign.stopped {
        end = end.min(stopped);
    }
    if end <= start {
        return None;
    }
    // The last instant it applied (or now, if it still runs).
    let last = Timestamp(end.0 - 1).min(now);
    Period::new(Day(locale.local(start).day), Day(locale.local(last).day)).ok()
}

fn campaigns(
    history: &History,
    head: &State,
    scope: Scope,
    period: Period,
) -> Vec<CampaignFigures> {
    head.campaigns()
        .filter(|c| match scope {
            Scope::Group => true,
            Scope::Shop(shop) => c.spec.funded_by(&shop),
        })
        .filter_map(|c| {
            let ran = ran(c, head);
            let overlaps = ran.is_some_and(|r| r.from <= period.to && r.to >= period.from);
            if !overlaps {
                return None;
            }
            let ab = ran
                .filter(|_| c.spec.holdout.0 > 0)
                .map(|ran| campaign_ab(history, c, ran));
            Some(CampaignFigures {
                campaign: c.clone(),
                tally: history.campaign(c.id),
                ran,
                ab,
            })
        })
        .collect()
}

/// The holdout comparison of a campaign (see [`CampaignAb`]).
fn campaign_ab(history: &History, c: &Campaign, ran: Period) -> CampaignAb {
    let funders: Vec<Address> = c.spec.funders.iter().map(|s| s.shop).collect();
    let customers = history.customers_at(&funders);
    let mut treated = ab::Group::default();
    let mut holdout = ab::Group::default();
    let mut eligible = 0u32;
    for customer in &customers {
        if customer.first_day().is_none_or(|first| first >= ran.from) {
            continue;
        }
        eligible += 1;
        let bought = customer.between(ran.from, ran.to);
        let purchased = customer.days_between(ran.from, ran.to) > 0;
        let spend = bought.spend as f64;
        if held_out(c.id, &customer.address, c.spec.holdout) {
            holdout.add(purchased, spend);
        } else {
            treated.add(purchased, spend);
        }
    }
    CampaignAb {
        eligible,
        comparison: ab::compare(treated, holdout),
    }
}
