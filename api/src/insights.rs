//! Customer insights over HTTP: `GET /v1/insights/customers`,
//! `/v1/insights/segments` and `/v1/insights/kpis` (docs/api.md;
//! definitions in docs/insights.md).
//!
//! A node computes insights from the public ledger every member holds
//! ([`guild_insights::History`], kept up to date block by block), so these
//! reads need no token. The builders here turn a history and the ledger
//! state at the head into the answers; they are pure (the "now" of an
//! answer is the head block's time), so the same history and state give
//! the same answer on every node.
//!
//! Conventions beyond the API's: days are the shop's local days, written
//! `YYYY-MM-DD` (months `YYYY-MM`); money that is counted (spend, budgets)
//! is an integer in minor units as everywhere, money that is estimated
//! (means, model predictions, lifetime values, uplifts) a number in minor
//! units; rates and shares are numbers from 0 to 1, `null` when their
//! denominator is zero.

use crate::account::{LotInfo, account_info};
use crate::error::ErrorDetail;
use guild_audit::Date;
use guild_insights::history::Customer;
use guild_insights::kpi::{self, Kpis, Period};
use guild_insights::rfm;
use guild_insights::value::{
    self, HORIZON_WEEKS, MIN_REPEAT_CUSTOMERS, ModelsAbsent, ValueColumns,
};
use guild_insights::{Day, History, Scope, summarize};
use guild_ledger::crypto::Address;
use guild_ledger::programme::Currency;
use guild_ledger::state::State;
use guild_ledger::types::{
    CampaignId, CampaignName, Cents, Height, Points, ShopName, TierName, Timestamp,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

pub use guild_insights::Segment;

/// The most customers one page of `GET /v1/insights/customers` holds.
pub const MAX_CUSTOMERS_PAGE: u32 = 5_000;

/// The page size when none is asked for.
pub const DEFAULT_CUSTOMERS_PAGE: u32 = 1_000;

/// The period of `GET /v1/insights/kpis` when none is given: the 30 days
/// ending with the head's day.
pub const DEFAULT_KPI_DAYS: u64 = 30;

/// The query of `GET /v1/insights/customers`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CustomersQuery {
    /// The shop: its name (any case) or address (default: the group,
    /// every shop's purchases together).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shop: Option<String>,
    /// Only the customers of this segment (`at_risk`, `At risk`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<String>,
    /// How many customers, 1 to 5,000 (default 1,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// How many matching customers to skip first (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u32>,
}

/// The query of `GET /v1/insights/segments`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SegmentsQuery {
    /// The shop: its name or address (default: the group).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shop: Option<String>,
}

/// The query of `GET /v1/insights/kpis`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct KpisQuery {
    /// The shop: its name or address (default: the group).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shop: Option<String>,
    /// The first day, `YYYY-MM-DD` (default: 29 days before `to`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The last day, included (default: the head's day). At most 3,660
    /// days after `from`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

/// The shop an answer is about (`null` in an answer: the whole group).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InsightShop {
    /// Its address.
    pub address: Address,
    /// Its name (its last name, for a shop that is no longer a member).
    pub name: ShopName,
}

/// A customer's RFM scores, each 1 (worst) to 5 (best).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RfmScores {
    /// Recency: days since the last purchase day, fewer is better.
    pub r: u8,
    /// Frequency: purchase days.
    pub f: u8,
    /// Monetary: spend.
    pub m: u8,
}

/// One customer of a shop (or of the group).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CustomerInsight {
    /// The customer's address (the ledger holds no names).
    pub customer: Address,
    /// The first purchase day (`YYYY-MM-DD`).
    pub first_purchase: String,
    /// The last purchase day.
    pub last_purchase: String,
    /// Days from the last purchase day to the answer's `as_of` day.
    pub recency_days: u64,
    /// Days with a purchase (the RFM frequency).
    pub purchase_days: u32,
    /// Purchases (refunded ones left out).
    pub purchases: u32,
    /// Spend, net of refunds, in minor units.
    pub spend: Cents,
    /// Shops (of the answer's scope) where the customer made a purchase.
    pub shops: u32,
    /// Points the scope's shops issued to the customer, less reversals.
    pub points_earned: Points,
    /// Points the customer redeemed at the scope's shops.
    pub points_redeemed: Points,
    /// Points held now (lots of every shop, not expired at the head).
    pub balance: Points,
    /// Those points by lot: issuer and expiry.
    pub lots: Vec<LotInfo>,
    /// The group tier the customer is in at the head (`null`: none).
    #[schema(required = true)]
    pub tier: Option<TierName>,
    /// Points earned from sales in the tier window.
    pub tier_points: Points,
    /// RFM scores among the scope's customers.
    pub rfm: RfmScores,
    /// The segment the scores name.
    pub segment: Segment,
    /// Probability the customer is still active (`null` without models).
    #[schema(required = true)]
    pub p_alive: Option<f64>,
    /// Expected purchase days in the next `models.horizon_weeks` weeks.
    #[schema(required = true)]
    pub expected_purchases: Option<f64>,
    /// Expected spend per purchase day, in minor units.
    #[schema(required = true)]
    pub expected_spend: Option<f64>,
    /// Lifetime value over the next 12 months, in minor units.
    #[schema(required = true)]
    pub clv: Option<f64>,
}

/// Whether the customer value models filled their columns, and if not,
/// why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ModelsInfo {
    /// True if `p_alive`, `expected_purchases` (and, when the spend model
    /// fits, `expected_spend` and `clv`) are filled.
    pub available: bool,
    /// Why they are not (`null` when available): `too_few_repeat_customers`
    /// or `not_built`, with a message.
    #[schema(required = true)]
    pub absent: Option<ErrorDetail>,
    /// Customers with a repeat purchase day.
    pub repeat_customers: u32,
    /// The least the models need.
    pub needed: u32,
    /// The horizon of `expected_purchases`, in weeks.
    pub horizon_weeks: f64,
}

/// `GET /v1/insights/customers`: a shop's (or the group's) customers with
/// their history, points, RFM scores and segment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CustomerInsights {
    /// The head height the answer is computed at.
    pub height: Height,
    /// The head block's time.
    pub time: Timestamp,
    /// The local day recency is counted to (the head's day).
    pub as_of: String,
    /// The shop (`null`: the group, every shop's purchases together).
    #[schema(required = true)]
    pub shop: Option<InsightShop>,
    /// The currency amounts are in.
    pub currency: Currency,
    /// The segment asked for (`null`: every segment).
    #[schema(required = true)]
    pub segment: Option<Segment>,
    /// Customers of the scope, whatever their segment.
    pub customers_total: u32,
    /// Customers in the segment asked for.
    pub matching: u32,
    /// Rows of `matching` skipped before this page.
    pub offset: u32,
    /// The customers, most spend first (then by address).
    pub customers: Vec<CustomerInsight>,
    /// The model columns' status.
    pub models: ModelsInfo,
}

/// One segment of `GET /v1/insights/segments`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SegmentSummary {
    /// The segment.
    pub segment: Segment,
    /// Its name for people.
    pub label: String,
    /// Customers in it.
    pub customers: u32,
    /// Their share of the scope's customers (`null` with none).
    #[schema(required = true)]
    pub share: Option<f64>,
    /// Their spend, in minor units.
    pub spend: Cents,
    /// Spend per customer, in minor units (`null` with none).
    #[schema(required = true)]
    pub average_spend: Option<f64>,
    /// Mean days since the last purchase.
    #[schema(required = true)]
    pub average_recency_days: Option<f64>,
    /// Mean purchase days.
    #[schema(required = true)]
    pub average_purchase_days: Option<f64>,
    /// Mean lifetime value, in minor units (`null` without models).
    #[schema(required = true)]
    pub average_clv: Option<f64>,
}

/// `GET /v1/insights/segments`: how many customers each segment holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SegmentSummaries {
    /// The head height.
    pub height: Height,
    /// The head block's time.
    pub time: Timestamp,
    /// The day the segments are as of.
    pub as_of: String,
    /// The shop (`null`: the group).
    #[schema(required = true)]
    pub shop: Option<InsightShop>,
    /// The currency.
    pub currency: Currency,
    /// Customers of the scope.
    pub customers: u32,
    /// Every segment, in the order of the segment table.
    pub segments: Vec<SegmentSummary>,
    /// The model columns' status.
    pub models: ModelsInfo,
}

/// One cohort of the retention table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CohortRow {
    /// The month of the cohort's first purchases (`YYYY-MM`).
    pub month: String,
    /// Customers in the cohort.
    pub customers: u32,
    /// `active[k]`: of them, those with a purchase in the `k`-th month
    /// after (month 0 is the cohort's own), up to the period's end.
    pub active: Vec<u32>,
    /// `active[k]` as a share of `customers`.
    pub retention: Vec<f64>,
}

/// Retention by monthly cohort: customers whose first purchase is in the
/// period, by the month of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CohortTable {
    /// The cohorts, oldest first.
    pub cohorts: Vec<CohortRow>,
}

/// A segment at the period's end, with its value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SegmentValue {
    /// The segment.
    pub segment: Segment,
    /// Customers in it at the period's end.
    pub customers: u32,
    /// Their spend up to then, in minor units.
    pub spend: Cents,
    /// Their mean lifetime value, in minor units (`null` without models).
    #[schema(required = true)]
    pub average_clv: Option<f64>,
}

/// An estimated difference, treated minus holdout, with its 95% interval.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Interval {
    /// The estimate.
    pub estimate: f64,
    /// The interval's low end (`null`: too few customers for one).
    #[schema(required = true)]
    pub low: Option<f64>,
    /// The interval's high end.
    #[schema(required = true)]
    pub high: Option<f64>,
    /// How the interval is computed: `newcombe_hybrid_score` or `welch`.
    pub method: String,
}

/// What one group of an A/B comparison did while the campaign ran.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AbGroup {
    /// Customers in the group.
    pub customers: u32,
    /// Of them, those with a purchase at a funding shop.
    pub purchasers: u32,
    /// `purchasers / customers`.
    #[schema(required = true)]
    pub purchase_rate: Option<f64>,
    /// Their spend at the funding shops, in minor units.
    pub spend: f64,
    /// Spend per customer, in minor units.
    #[schema(required = true)]
    pub spend_per_customer: Option<f64>,
}

/// A campaign's treated customers against its holdout.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AbResult {
    /// Customers of the funding shops who had bought before the campaign
    /// began.
    pub eligible: u32,
    /// Those the ledger did not hold out.
    pub treated: AbGroup,
    /// Those it held out (given nothing by the campaign).
    pub holdout: AbGroup,
    /// Uplift in purchase rate (Newcombe's hybrid score interval).
    #[schema(required = true)]
    pub purchase_rate_uplift: Option<Interval>,
    /// Uplift in spend per customer, in minor units (Welch's interval).
    #[schema(required = true)]
    pub spend_uplift: Option<Interval>,
}

/// What a campaign did (figures of the whole campaign, not only the
/// period).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CampaignResult {
    /// Its id.
    pub campaign: CampaignId,
    /// Its name.
    pub name: CampaignName,
    /// The shop that published it.
    pub publisher: Address,
    /// The shops that fund it.
    pub funders: Vec<Address>,
    /// First instant it applies.
    pub start: Timestamp,
    /// First instant it no longer applies.
    pub end: Timestamp,
    /// When a funder stopped it, if one did.
    #[schema(required = true)]
    pub stopped: Option<Timestamp>,
    /// Running at the head.
    pub running: bool,
    /// The first local day it ran.
    pub from: String,
    /// The last local day it ran (the head's day if it still runs).
    pub to: String,
    /// Its budget, in points.
    pub budget: Points,
    /// Points it gave, net of refunds (the ledger's `spent`).
    pub points_given: Points,
    /// `points_given / budget`.
    pub budget_used: f64,
    /// Sales it gave points in (less those refunded in full).
    pub sales: u32,
    /// Their spend, net of refunds, in minor units.
    pub sales_spend: Cents,
    /// Its holdout, in per mille of eligible customers.
    pub holdout_permille: u32,
    /// With a holdout: treated against held out.
    #[schema(required = true)]
    pub ab: Option<AbResult>,
}

/// `GET /v1/insights/kpis`: the programme's KPIs over a period.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct KpiReport {
    /// The head height.
    pub height: Height,
    /// The head block's time.
    pub time: Timestamp,
    /// The shop (`null`: the group).
    #[schema(required = true)]
    pub shop: Option<InsightShop>,
    /// The currency.
    pub currency: Currency,
    /// The first day (`YYYY-MM-DD`, included).
    pub from: String,
    /// The last day (included).
    pub to: String,
    /// Days in the period.
    pub days: u64,
    /// Customers with a purchase by the period's end.
    pub customers: u32,
    /// Customers with a purchase day in the period.
    pub active_customers: u32,
    /// Customers whose first purchase is in the period.
    pub new_customers: u32,
    /// Active customers with purchases on two or more days of the period.
    pub repeat_customers: u32,
    /// `repeat_customers / active_customers`.
    #[schema(required = true)]
    pub repeat_purchase_rate: Option<f64>,
    /// Purchases in the period.
    pub purchases: u32,
    /// Their spend, net of refunds, in minor units.
    pub spend: Cents,
    /// Spend per active customer, in minor units.
    #[schema(required = true)]
    pub spend_per_active_customer: Option<f64>,
    /// Points the scope issued in the period.
    pub points_issued: Points,
    /// Points of the scope's issue redeemed in the period.
    pub points_redeemed: Points,
    /// `points_redeemed / points_issued`.
    #[schema(required = true)]
    pub redemption_rate: Option<f64>,
    /// Points of the scope's issue that expired unspent in the period.
    #[serde(default)]
    pub points_expired: Points,
    /// Points of the scope's issue held by customers at the period's end.
    pub liability: Points,
    /// Active customers with purchases at two or more shops in the period.
    pub multi_shop_customers: u32,
    /// `multi_shop_customers / active_customers`.
    #[schema(required = true)]
    pub multi_shop_share: Option<f64>,
    /// Retention by monthly cohort.
    pub retention: CohortTable,
    /// Every segment at the period's end, with its average lifetime value.
    pub segments: Vec<SegmentValue>,
    /// The model columns' status (as of the period's end).
    pub models: ModelsInfo,
    /// The scope's campaigns that ran in the period.
    pub campaigns: Vec<CampaignResult>,
    /// The period day by day, oldest first (what a dashboard draws).
    #[serde(default)]
    pub daily: Vec<KpiDay>,
}

/// One day of a KPI period: the scope's sales and points that day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct KpiDay {
    /// The local day (`YYYY-MM-DD`).
    pub day: String,
    /// Purchases that day (not refunded in full).
    pub purchases: u32,
    /// Their spend, net of refunds, in minor units.
    pub spend: Cents,
    /// Points the scope issued that day.
    pub points_issued: Points,
    /// Points of the scope's issue redeemed that day (anywhere).
    pub points_redeemed: Points,
    /// Points of the scope's issue that expired that day.
    pub points_expired: Points,
}

/// A day as `YYYY-MM-DD`.
pub fn date(day: Day) -> String {
    Date::from_day_number(day.0).to_string()
}

/// The local day of the head.
pub fn head_day(head: &State) -> Day {
    Day(head.programme().locale.local(head.chain().time).day)
}

fn shop_of(history: &History, scope: Scope) -> Option<InsightShop> {
    match scope {
        Scope::Group => None,
        Scope::Shop(address) => history.shop_name(&address).map(|name| InsightShop {
            address,
            name: name.clone(),
        }),
    }
}

/// The model columns for `customers` (one scope) as of the end of
/// `as_of`, in minor units, or why there are none.
fn model_columns(
    customers: &[Customer],
    as_of: Day,
    minor_units: u8,
) -> (Result<BTreeMap<Address, ValueColumns>, ModelsAbsent>, u32) {
    let log: Vec<_> = customers.iter().flat_map(Customer::purchase_log).collect();
    let summaries = summarize(&log, as_of, minor_units);
    let repeat = summaries.values().filter(|s| s.frequency > 0).count();
    let repeat = u32::try_from(repeat).unwrap_or(u32::MAX);
    let unit = 10f64.powi(i32::from(minor_units));
    let columns = value::value_columns(&summaries).map(|columns| {
        columns
            .into_iter()
            .map(|(a, c)| {
                let minor = ValueColumns {
                    expected_spend: c.expected_spend.map(|v| v * unit),
                    clv: c.clv.map(|v| v * unit),
                    ..c
                };
                (a, minor)
            })
            .collect()
    });
    (columns, repeat)
}

fn models_info<T>(columns: &Result<T, ModelsAbsent>, repeat: u32) -> ModelsInfo {
    ModelsInfo {
        available: columns.is_ok(),
        absent: columns.as_ref().err().map(|absent| ErrorDetail {
            code: absent.code().to_string(),
            message: absent.to_string(),
        }),
        repeat_customers: repeat,
        needed: MIN_REPEAT_CUSTOMERS,
        horizon_weeks: HORIZON_WEEKS,
    }
}

/// A finite number, or `None` (JSON has no NaN).
fn finite(value: f64) -> Option<f64> {
    value.is_finite().then_some(value)
}

/// Every customer of one scope at the head, scored, with the model
/// columns: what `GET /v1/insights/customers` pages through and
/// `GET /v1/insights/segments` adds up (a node computes it once per head
/// and scope; automations read its rows).
#[derive(Clone, Debug, PartialEq)]
pub struct InsightRows {
    /// The head height.
    pub height: Height,
    /// The head block's time.
    pub time: Timestamp,
    /// The day recency is counted to.
    pub as_of: Day,
    /// The scope.
    pub scope: Scope,
    /// The shop (`None`: the group).
    pub shop: Option<InsightShop>,
    /// The currency.
    pub currency: Currency,
    /// Every customer, most spend first (then by address).
    pub rows: Vec<CustomerInsight>,
    /// The model columns' status.
    pub models: ModelsInfo,
}

impl InsightRows {
    /// Computes the rows of `scope` from `history` and the head state.
    pub fn new(history: &History, head: &State, scope: Scope) -> InsightRows {
        let as_of = head_day(head);
        let now = head.chain().time;
        let locale = &head.programme().locale;
        let customers = history.customers(scope);
        let scored = rfm::score_customers(&customers, as_of);
        let (columns, repeat) = model_columns(&customers, as_of, locale.currency.minor_units);
        let none = BTreeMap::new();
        let values = columns.as_ref().unwrap_or(&none);
        let mut rows: Vec<CustomerInsight> = scored
            .iter()
            .map(|s| {
                let c = &s.customer;
                let account = account_info(head, c.address, now);
                let (tier, tier_points) = head.tier_of(&c.address, now);
                let model = values.get(&c.address);
                CustomerInsight {
                    customer: c.address,
                    first_purchase: c.first_day().map(date).unwrap_or_default(),
                    last_purchase: c.last_day().map(date).unwrap_or_default(),
                    recency_days: s.input.recency_days,
                    purchase_days: s.input.frequency,
                    purchases: c.purchases(),
                    spend: Cents(c.spend()),
                    shops: c.shops,
                    points_earned: Points(c.points_earned),
                    points_redeemed: Points(c.points_redeemed),
                    balance: account.balance,
                    lots: account.lots,
                    tier: tier.map(|t| t.name.clone()),
                    tier_points,
                    rfm: RfmScores {
                        r: s.rfm.r,
                        f: s.rfm.f,
                        m: s.rfm.m,
                    },
                    segment: s.segment(),
                    p_alive: model.and_then(|m| finite(m.p_alive)),
                    expected_purchases: model.and_then(|m| finite(m.expected_purchases)),
                    expected_spend: model.and_then(|m| m.expected_spend).and_then(finite),
                    clv: model.and_then(|m| m.clv).and_then(finite),
                }
            })
            .collect();
        rows.sort_by(|a, b| b.spend.cmp(&a.spend).then(a.customer.cmp(&b.customer)));
        InsightRows {
            height: head.chain().height,
            time: now,
            as_of,
            scope,
            shop: shop_of(history, scope),
            currency: locale.currency.clone(),
            rows,
            models: models_info(&columns, repeat),
        }
    }

    /// One customer's row.
    pub fn row(&self, customer: &Address) -> Option<&CustomerInsight> {
        self.rows.iter().find(|r| r.customer == *customer)
    }

    /// The answer to `GET /v1/insights/customers`: the customers in
    /// `segment` (all with `None`), `limit` of them after the first
    /// `offset` (`limit` at most [`MAX_CUSTOMERS_PAGE`]).
    pub fn page(&self, segment: Option<Segment>, offset: u32, limit: u32) -> CustomerInsights {
        let matching: Vec<&CustomerInsight> = self
            .rows
            .iter()
            .filter(|r| segment.is_none_or(|s| r.segment == s))
            .collect();
        let limit = limit.min(MAX_CUSTOMERS_PAGE) as usize;
        CustomerInsights {
            height: self.height,
            time: self.time,
            as_of: date(self.as_of),
            shop: self.shop.clone(),
            currency: self.currency.clone(),
            segment,
            customers_total: count(self.rows.len()),
            matching: count(matching.len()),
            offset,
            customers: matching
                .into_iter()
                .skip(offset as usize)
                .take(limit)
                .cloned()
                .collect(),
            models: self.models.clone(),
        }
    }

    /// The answer to `GET /v1/insights/segments`.
    pub fn segments(&self) -> SegmentSummaries {
        let total = count(self.rows.len());
        let segments = Segment::ALL
            .into_iter()
            .map(|segment| {
                let rows: Vec<&CustomerInsight> =
                    self.rows.iter().filter(|r| r.segment == segment).collect();
                let n = rows.len();
                let mean = |value: &dyn Fn(&CustomerInsight) -> f64| {
                    (n > 0).then(|| rows.iter().map(|r| value(r)).sum::<f64>() / n as f64)
                };
                let spend = rows.iter().fold(0u64, |s, r| s.saturating_add(r.spend.0));
                let clv: Vec<f64> = rows.iter().filter_map(|r| r.clv).collect();
                SegmentSummary {
                    segment,
                    label: segment.label().to_string(),
                    customers: count(n),
                    share: (total > 0).then(|| n as f64 / f64::from(total)),
                    spend: Cents(spend),
                    average_spend: (n > 0).then(|| spend as f64 / n as f64),
                    average_recency_days: mean(&|r| r.recency_days as f64),
                    average_purchase_days: mean(&|r| f64::from(r.purchase_days)),
                    average_clv: (!clv.is_empty())
                        .then(|| clv.iter().sum::<f64>() / clv.len() as f64),
                }
            })
            .collect();
        SegmentSummaries {
            height: self.height,
            time: self.time,
            as_of: date(self.as_of),
            shop: self.shop.clone(),
            currency: self.currency.clone(),
            customers: total,
            segments,
            models: self.models.clone(),
        }
    }
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn interval(uplift: Option<guild_insights::ab::Uplift>, method: &str) -> Option<Interval> {
    let uplift = uplift?;
    Some(Interval {
        estimate: finite(uplift.estimate)?,
        low: uplift.interval.and_then(|(low, _)| finite(low)),
        high: uplift.interval.and_then(|(_, high)| finite(high)),
        method: method.to_string(),
    })
}

fn ab_group(group: &guild_insights::ab::Group) -> AbGroup {
    AbGroup {
        customers: group.customers,
        purchasers: group.purchasers,
        purchase_rate: group.purchase_rate(),
        spend: group.total_spend(),
        spend_per_customer: group.mean_spend().and_then(finite),
    }
}

fn campaign_result(head: &State, figures: &kpi::CampaignFigures) -> Option<CampaignResult> {
    let c = &figures.campaign;
    let ran = figures.ran?;
    let spent = c.spent;
    Some(CampaignResult {
        campaign: c.id,
        name: c.spec.name.clone(),
        publisher: c.publisher,
        funders: c.spec.funders.iter().map(|s| s.shop).collect(),
        start: c.spec.start,
        end: c.spec.end,
        stopped: c.stopped,
        running: c.running(head.chain().time),
        from: date(ran.from),
        to: date(ran.to),
        budget: c.spec.budget,
        points_given: spent,
        budget_used: if c.spec.budget.0 == 0 {
            0.0
        } else {
            spent.0 as f64 / c.spec.budget.0 as f64
        },
        sales: figures.tally.sales,
        sales_spend: Cents(figures.tally.spend),
        holdout_permille: c.spec.holdout.0,
        ab: figures.ab.map(|ab| AbResult {
            eligible: ab.eligible,
            treated: ab_group(&ab.comparison.treated),
            holdout: ab_group(&ab.comparison.holdout),
            purchase_rate_uplift: interval(ab.comparison.purchase_rate, "newcombe_hybrid_score"),
            spend_uplift: interval(ab.comparison.spend, "welch"),
        }),
    })
}

/// The period of a KPI answer: `from` and `to` as asked, or the
/// [`DEFAULT_KPI_DAYS`] ending with the head's day (`to` alone: the 30
/// days ending with it; `from` alone: from it to the head's day).
pub fn kpi_period(
    head: &State,
    from: Option<Day>,
    to: Option<Day>,
) -> Result<Period, kpi::PeriodError> {
    let to = to.unwrap_or_else(|| head_day(head).max(from.unwrap_or(Day(0))));
    let from = from.unwrap_or(Day(to.0.saturating_sub(DEFAULT_KPI_DAYS - 1)));
    Period::new(from, to)
}

/// The answer to `GET /v1/insights/kpis` for `scope` over `period`.
pub fn kpi_report(history: &History, head: &State, scope: Scope, period: Period) -> KpiReport {
    let customers = history.customers(scope);
    let minor_units = head.programme().locale.currency.minor_units;
    let (columns, repeat) = model_columns(&customers, period.to, minor_units);
    let clv: Option<BTreeMap<Address, f64>> = columns.as_ref().ok().map(|columns| {
        columns
            .iter()
            .filter_map(|(a, c)| Some((*a, c.clv.and_then(finite)?)))
            .collect()
    });
    let k: Kpis = kpi::kpis(history, head, scope, period, clv.as_ref());
    let daily: Vec<KpiDay> = guild_insights::daily::daily(history, scope, &customers, period)
        .into_iter()
        .map(|d| KpiDay {
            day: date(d.day),
            purchases: d.purchases,
            spend: Cents(d.spend),
            points_issued: Points(d.points_issued),
            points_redeemed: Points(d.points_redeemed),
            points_expired: Points(d.points_expired),
        })
        .collect();
    let points_expired = daily
        .iter()
        .fold(0u64, |n, d| n.saturating_add(d.points_expired.0));
    KpiReport {
        height: head.chain().height,
        time: head.chain().time,
        shop: shop_of(history, scope),
        currency: head.programme().locale.currency.clone(),
        from: date(period.from),
        to: date(period.to),
        days: period.days(),
        customers: k.customers,
        active_customers: k.active,
        new_customers: k.new,
        repeat_customers: k.repeat,
        repeat_purchase_rate: k.repeat_rate(),
        purchases: k.purchases,
        spend: Cents(k.spend),
        spend_per_active_customer: (k.active > 0).then(|| k.spend as f64 / f64::from(k.active)),
        points_issued: Points(k.points_issued),
        points_redeemed: Points(k.points_redeemed),
        redemption_rate: k.redemption_rate(),
        points_expired: Points(points_expired),
        liability: Points(k.liability),
        multi_shop_customers: k.multi_shop,
        multi_shop_share: k.multi_shop_share(),
        retention: CohortTable {
            cohorts: k
                .cohorts
                .iter()
                .map(|c| CohortRow {
                    month: guild_audit::Month::from_index(c.month)
                        .map(|m| m.to_string())
                        .unwrap_or_default(),
                    customers: c.customers,
                    active: c.active.clone(),
                    retention: c
                        .active
                        .iter()
                        .map(|a| {
                            if c.customers == 0 {
                                0.0
                            } else {
                                f64::from(*a) / f64::from(c.customers)
                            }
                        })
                        .collect(),
                })
                .collect(),
        },
        segments: k
            .segments
            .iter()
            .map(|s| SegmentValue {
                segment: s.segment,
                customers: s.customers,
                spend: Cents(s.spend),
                average_clv: s.average_clv.and_then(finite),
            })
            .collect(),
        models: models_info(&columns, repeat),
        campaigns: k
            .campaigns
            .iter()
            .filter_map(|f| campaign_result(head, f))
            .collect(),
        daily,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use guild_ledger::genesis::{Genesis, GenesisMember};
    use guild_ledger::{ChainId, Keypair, Params};

    fn head() -> State {
        // 2026-03-15 10:00 UTC.
        let genesis = Genesis {
            chain_id: ChainId::new("street").unwrap(),
            time: Timestamp(1_773_568_800_000),
            members: vec![GenesisMember {
                name: ShopName::new("Bakery").unwrap(),
                address: Keypair::from_secret(&[1; 32]).address(),
            }],
            params: Params::default(),
            programme: Default::default(),
        };
        genesis.build().unwrap().0
    }

    fn day(text: &str) -> Day {
        Day(Date::parse(text).unwrap().day_number())
    }

    #[test]
    fn the_kpi_period_defaults_to_the_thirty_days_to_today() {
        let head = head();
        assert_eq!(date(head_day(&head)), "2026-03-15");
        let period = |from: Option<&str>, to: Option<&str>| {
            kpi_period(&head, from.map(day), to.map(day)).map(|p| (date(p.from), date(p.to)))
        };
        let p = |a: &str, b: &str| Ok((a.to_string(), b.to_string()));
        assert_eq!(period(None, None), p("2026-02-14", "2026-03-15"));
        assert_eq!(
            period(None, Some("2026-01-31")),
            p("2026-01-02", "2026-01-31")
        );
        assert_eq!(
            period(Some("2026-03-01"), None),
            p("2026-03-01", "2026-03-15")
        );
        // A `from` after today alone is a one-day period.
        assert_eq!(
            period(Some("2026-04-01"), None),
            p("2026-04-01", "2026-04-01")
        );
        assert_eq!(
            period(Some("2026-03-02"), Some("2026-03-01")),
            Err(kpi::PeriodError::Reversed)
        );
    }

    #[test]
    fn a_chain_without_purchases_has_empty_answers() {
        let head = head();
        let history = History::new(&head);
        let rows = InsightRows::new(&history, &head, Scope::Group);
        assert!(rows.rows.is_empty());
        let page = rows.page(Some(Segment::Loyal), 0, 10);
        assert_eq!((page.customers_total, page.matching), (0, 0));
        let segments = rows.segments();
        assert_eq!(segments.segments.len(), 10);
        assert!(segments.segments.iter().all(|s| s.share.is_none()));
        let period = kpi_period(&head, None, None).unwrap();
        let report = kpi_report(&history, &head, Scope::Group, period);
        assert_eq!(
            (report.active_customers, report.repeat_purchase_rate),
            (0, None)
        );
        assert_eq!(report.redemption_rate, None);
        assert!(report.retention.cohorts.is_empty());
        // One day figure per day of the period, oldest first, all zero.
        assert_eq!(report.daily.len(), 30);
        assert_eq!(
            (report.daily[0].day.as_str(), report.daily[29].day.as_str()),
            ("2026-02-14", "2026-03-15")
        );
        assert!(report.daily.iter().all(|d| d.purchases == 0
            && d.points_issued == Points(0)
            && d.points_expired == Points(0)));
        assert_eq!(report.points_expired, Points(0));
        assert_eq!(
            report.models.absent.unwrap().code,
            "too_few_repeat_customers"
        );
    }
}
