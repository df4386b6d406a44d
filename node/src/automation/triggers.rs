//! Deciding what fired: pure functions of the ledger state, this shop's
//! history, the customer's directory facts and scores, and today's local
//! day. No clock, no I/O: the caller passes "now".
//!
//! ## Causes, and why each fires once
//!
//! Every occurrence names its **cause**, a stable text from which the
//! event's id follows ([`event_id`]: a tagged hash of the automation's
//! name and the cause). The outbox refuses an id it has seen, so
//! evaluating the same facts again (after a restart, at every scan, on
//! every block) never fires twice:
//!
//! | trigger | cause | recurs |
//! |---|---|---|
//! | points earned | `earned/<tx id>` | never (block-driven: each block once) |
//! | tier reached | `tier/<customer>/<tier>/<day reached>` | when reached again after dropping out |
//! | close to next tier | `close/<customer>/<next tier>/<day it came within N>` | likewise |
//! | points expiring | `expiry/<customer>/<expiry instant>` | once per lot |
//! | at risk | `at_risk/<customer>/<last purchase day>` | after a new purchase |
//! | birthday | `birthday/<customer>/<year>` | once a year |
//! | first purchase | `first/<customer>` | never |
//! | days since last purchase | `lapsed/<customer>/<last purchase day>` | after a new purchase |
//! | campaign started | `campaign/<id>/<customer>` | never |
//!
//! A deviation from "the block's state before and after": tier and
//! "close to tier" are decided from the customer's ledger record by the
//! time-driven scan, not by comparing the states around one block. The
//! record keeps the points earned per local day, so the day the customer
//! crossed a threshold is computed exactly ([`crossing_day`]) whenever the
//! scan runs; a restarted node needs no state of an old block, and a tier
//! reached by the window moving on (or lost and regained) is seen too.
//!
//! ## Only what happens from now on
//!
//! An automation acts on what happens after it was enabled
//! (`enabled_ms`, `enabled_height`), and the scan looks back at most
//! [`LOOKBACK_DAYS`] (birthdays: [`BIRTHDAY_GRACE_DAYS`]) for occurrences
//! a stopped node missed. Points expiring are the exception: a lot about
//! to expire is worth a reminder even if the automation is new. Every
//! look-back is shorter than the outbox keeps ids, so "once" holds.

use super::facts::Birthday;
use super::history::CustomerHistory;
use super::spec::Automation;
use guild_api::automation::{Condition, Figures, Trigger};
use guild_insights::Segment;
use guild_ledger::crypto::Address;
use guild_ledger::hash::tagged_hash;
use guild_ledger::programme::CustomerRecord;
use guild_ledger::state::State;
use guild_ledger::tx::{Transaction, TxBody, TxId};
use guild_ledger::types::{Cents, Height, MS_PER_DAY, Points, Timestamp};

/// Days the scan looks back for an occurrence a stopped node missed.
pub const LOOKBACK_DAYS: u64 = 30;
/// Days after a birthday it is still celebrated (a node off that day).
pub const BIRTHDAY_GRACE_DAYS: u64 = 3;
/// Days after the last purchase here a customer may still be "at risk".
pub const AT_RISK_HORIZON_DAYS: u64 = 365;
/// The days figures such as "spent" cover.
pub const FIGURES_DAYS: u64 = 365;

/// The domain of [`event_id`]'s hash.
const EVENT_DOMAIN: &str = "guild/automation-event/v1";

/// The id of the event `automation` fires for `cause`: `evt_` and 32 hex
/// characters of `tagged_hash("guild/automation-event/v1", name, cause)`.
pub fn event_id(automation: &str, cause: &str) -> String {
    let hash = tagged_hash(EVENT_DOMAIN, &[automation.as_bytes(), cause.as_bytes()]);
    format!("evt_{}", hex::encode(&hash.0[..16]))
}

/// What the triggers look at besides the customer.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    /// The head state.
    pub state: &'a State,
    /// This node's shop.
    pub shop: Address,
    /// Now.
    pub now: Timestamp,
    /// Today, as a local day of the network's time zone.
    pub today: u64,
}

impl<'a> Context<'a> {
    /// The context at `now` (today from the genesis locale).
    pub fn new(state: &'a State, shop: Address, now: Timestamp) -> Context<'a> {
        let today = state.programme().locale.local(now).day;
        Context {
            state,
            shop,
            now,
            today,
        }
    }

    fn money(&self, amount: Cents) -> String {
        self.state.programme().locale.money(amount)
    }

    /// The local day of an instant.
    pub fn day_of(&self, time_ms: u64) -> u64 {
        self.state.programme().locale.local(Timestamp(time_ms)).day
    }
}

/// One customer as the triggers see them.
#[derive(Clone, Copy, Debug)]
pub struct Customer<'a> {
    /// Their address.
    pub address: Address,
    /// Their earns at this shop.
    pub history: Option<&'a CustomerHistory>,
    /// Their segment (only with their consent to profiling).
    pub segment: Option<Segment>,
    /// Their probability of being active (only with consent to
    /// profiling).
    pub p_active: Option<f64>,
    /// Their birthday, from the directory.
    pub birthday: Option<Birthday>,
}

/// Something that fired for one customer.
#[derive(Clone, Debug, PartialEq)]
pub struct Occurrence {
    /// The stable cause (see the module documentation).
    pub cause: String,
    /// The customer.
    pub customer: Address,
    /// When it happened, ms since the Unix epoch.
    pub time_ms: u64,
    /// What fired, in a sentence with the figures.
    pub summary: String,
    /// The figures.
    pub figures: Figures,
}

/// The calendar date of a day number: (year, month, day).
pub fn civil(day: u64) -> (u32, u8, u8) {
    // Howard Hinnant's civil_from_days.
    let z = day + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let y = (yoe + era * 400 + u64::from(m <= 2)) as u32;
    (y, m, d)
}

/// `YYYY-MM-DD` of a day number.
pub fn date_text(day: u64) -> String {
    let (y, m, d) = civil(day);
    format!("{y:04}-{m:02}-{d:02}")
}

fn is_leap(year: u32) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

/// True if `birthday` falls on day `day` (29 February is kept on 28
/// February in other years).
pub fn is_birthday(birthday: Birthday, day: u64) -> bool {
    let (year, month, date) = civil(day);
    if birthday.month == 2 && birthday.day == 29 && !is_leap(year) {
        return month == 2 && date == 28;
    }
    (birthday.month, birthday.day) == (month, date)
}

/// Points earned in the window of `window` days ending on each day, from
/// a record's per-day points, by prefix sums.
struct Window<'a> {
    days: &'a [guild_ledger::programme::tier::DayPoints],
    prefix: Vec<u64>,
    window: u64,
}

impl<'a> Window<'a> {
    fn new(record: &'a CustomerRecord, window_days: u32) -> Window<'a> {
        let mut prefix = Vec::with_capacity(record.earned.len() + 1);
        let mut sum = 0u64;
        prefix.push(0);
        for d in &record.earned {
            sum = sum.saturating_add(d.points.0);
            prefix.push(sum);
        }
        Window {
            days: &record.earned,
            prefix,
            window: u64::from(window_days.max(1)),
        }
    }

    /// Sum of the points of days `<= day`.
    fn up_to(&self, day: u64) -> u64 {
        let n = self.days.partition_point(|d| d.day <= day);
        self.prefix[n]
    }

    /// Points in the window ending on `day` (as `earned_in_window`).
    fn at(&self, day: u64) -> u64 {
        let before_first = day.checked_sub(self.window);
        let dropped = before_first.map_or(0, |d| self.up_to(d));
        self.up_to(day).saturating_sub(dropped)
    }
}

/// The latest local day, up to `today`, on which the customer's points in
/// the tier window rose from below `threshold` to at least it, if they are
/// at least `threshold` today. Points only arrive on days with earnings,
/// so those are the only days a rise can happen.
pub fn crossing_day(
    record: &CustomerRecord,
    window_days: u32,
    threshold: Points,
    today: u64,
) -> Option<u64> {
    let window = Window::new(record, window_days);
    if window.at(today) < threshold.0 {
        return None;
    }
    record
        .earned
        .iter()
        .rev()
        .map(|d| d.day)
        .filter(|day| *day <= today)
        .find(|day| {
            window.at(*day) >= threshold.0
                && day
                    .checked_sub(1)
                    .is_none_or(|before| window.at(before) < threshold.0)
        })
}

/// The figures every event carries: balance, tier standing, last purchase
/// here, spend here.
pub fn common_figures(ctx: &Context<'_>, customer: &Customer<'_>) -> Figures {
    let state = ctx.state;
    let balance = state
        .account(&customer.address)
        .map_or(Points::ZERO, |a| a.balance());
    let (_, tier_points) = state.tier_of(&customer.address, ctx.now);
    let next = state.programme().tiers.next_above(tier_points);
    let mut figures = Figures {
        balance: Some(balance),
        tier_points: Some(tier_points),
        next_tier: next.map(|t| t.name.clone()),
        points_to_next_tier: next.map(|t| t.threshold.saturating_sub(tier_points)),
        ..Figures::default()
    };
    if let Some(history) = customer.history {
        if let Some(last) = history.last_purchase_day() {
            figures.last_purchase = Some(date_text(last));
            figures.days_since_last_purchase =
                Some(u32::try_from(ctx.today.saturating_sub(last)).unwrap_or(u32::MAX));
        }
        let (purchases, spent) =
            history.between(ctx.today.saturating_sub(FIGURES_DAYS - 1), ctx.today);
        figures.purchases = Some(purchases);
        figures.spent = Some(spent);
    }
    if let Some(b) = customer.birthday {
        figures.birthday = Some(format!("{:02}-{:02}", b.month, b.day));
    }
    figures
}

/// The points a transaction of this shop gave its customer, if it is an
/// earn (a sale, a grant, a birthday reward).
fn earned(tx: &Transaction) -> Option<(Address, Points, &'static str)> {
    match &tx.body {
        TxBody::Sale {
            customer, claim, ..
        } => Some((*customer, claim.total, "sale")),
        TxBody::Earn {
            customer, points, ..
        } => Some((*customer, *points, "grant")),
        TxBody::Birthday {
            customer, points, ..
        } => Some((*customer, *points, "birthday reward")),
        _ => None,
    }
}

/// What a block-driven trigger fires for the shop's transactions of the
/// block at `height` (made at `time`). Only `points-earned` is
/// block-driven; the others give nothing here.
pub fn block_occurrences(
    automation: &Automation,
    shop: Address,
    height: Height,
    time: Timestamp,
    txs: &[(TxId, &Transaction)],
) -> Vec<Occurrence> {
    let Trigger::PointsEarned { min_points } = automation.trigger else {
        return Vec::new();
    };
    if height <= automation.enabled_height {
        return Vec::new();
    }
    txs.iter()
        .filter(|(_, tx)| tx.author == shop)
        .filter_map(|(id, tx)| {
            let (customer, points, kind) = earned(tx)?;
            (points >= min_points && !points.is_zero()).then(|| Occurrence {
                cause: format!("earned/{id}"),
                customer,
                time_ms: time.0,
                summary: format!(
                    "a {kind} here gave {} points (transaction {}, block {height}); the automation fires from {} points",
                    points.0,
                    short_hex(&id.to_string()),
                    min_points.0
                ),
                figures: Figures {
                    points: Some(points),
                    tx: Some(*id),
                    ..Figures::default()
                },
            })
        })
        .collect()
}

fn short_hex(text: &str) -> String {
    text.chars().take(12).collect()
}

/// What a time-driven trigger fires for one customer now.
pub fn customer_occurrences(
    automation: &Automation,
    ctx: &Context<'_>,
    customer: &Customer<'_>,
) -> Vec<Occurrence> {
    let enabled_day = ctx.day_of(automation.enabled_ms);
    let earliest = enabled_day.max(ctx.today.saturating_sub(LOOKBACK_DAYS));
    let one = |cause: String, time_ms: u64, summary: String, figures: Figures| {
        vec![Occurrence {
            cause,
            customer: customer.address,
            time_ms,
            summary,
            figures,
        }]
    };
    let c = customer.address;
    let tiers = &ctx.state.programme().tiers;
    let record = ctx.state.customer(&c);
    match &automation.trigger {
        Trigger::PointsEarned { .. } | Trigger::CampaignStarted { .. } => Vec::new(),
        Trigger::TierReached { tier } => {
            let Some(record) = record else {
                return Vec::new();
            };
            let (current, earned) = ctx.state.tier_of(&c, ctx.now);
            let Some(current) = current else {
                return Vec::new();
            };
            let target = match tier {
                Some(name) => match tiers.by_name(name) {
                    Some(t) if t.threshold <= current.threshold => t,
                    _ => return Vec::new(),
                },
                None => current,
            };
            let Some(day) = crossing_day(record, tiers.window_days, target.threshold, ctx.today)
            else {
                return Vec::new();
            };
            if day < earliest {
                return Vec::new();
            }
            one(
                format!("tier/{c}/{}/{day}", target.name),
                ctx.now.0,
                format!(
                    "reached {} on {}: {} points earned in the {}-day window ({} from {} points)",
                    target.name,
                    date_text(day),
                    earned.0,
                    tiers.window_days,
                    target.name,
                    target.threshold.0
                ),
                Figures::default(),
            )
        }
        Trigger::CloseToNextTier { within } => {
            let Some(record) = record else {
                return Vec::new();
            };
            let (_, earned) = ctx.state.tier_of(&c, ctx.now);
            let Some(next) = tiers.next_above(earned) else {
                return Vec::new();
            };
            let gap = next.threshold.saturating_sub(earned);
            if gap > *within || gap.is_zero() {
                return Vec::new();
            }
            let band = Points(next.threshold.0.saturating_sub(within.0).max(1));
            let Some(day) = crossing_day(record, tiers.window_days, band, ctx.today) else {
                return Vec::new();
            };
            if day < earliest {
                return Vec::new();
            }
            one(
                format!("close/{c}/{}/{day}", next.name),
                ctx.now.0,
                format!(
                    "{} points from {} ({} of {} in the {}-day window); the automation fires within {} points",
                    gap.0, next.name, earned.0, next.threshold.0, tiers.window_days, within.0
                ),
                Figures {
                    points: Some(gap),
                    ..Figures::default()
                },
            )
        }
        Trigger::PointsExpiring { within_days } => {
            let Some(account) = ctx.state.account(&c) else {
                return Vec::new();
            };
            let horizon = ctx
                .now
                .0
                .saturating_add(u64::from(*within_days).saturating_mul(MS_PER_DAY));
            account
                .lots
                .iter()
                .filter(|lot| lot.issuer == ctx.shop)
                .filter(|lot| lot.expires_at.0 > ctx.now.0 && lot.expires_at.0 <= horizon)
                .map(|lot| {
                    let day = ctx.day_of(lot.expires_at.0);
                    let in_days = lot.expires_at.0.saturating_sub(ctx.now.0).div_ceil(MS_PER_DAY);
                    Occurrence {
                        cause: format!("expiry/{c}/{}", lot.expires_at.0),
                        customer: c,
                        time_ms: ctx.now.0,
                        summary: format!(
                            "{} points issued here expire on {} (in {in_days} days); the automation reminds {} days before",
                            lot.amount.0,
                            date_text(day),
                            within_days
                        ),
                        figures: Figures {
                            points: Some(lot.amount),
                            expires_at_ms: Some(lot.expires_at.0),
                            ..Figures::default()
                        },
                    }
                })
                .collect()
        }
        Trigger::AtRisk { p_active_below } => {
            let Some(last) = customer
                .history
                .and_then(CustomerHistory::last_purchase_day)
            else {
                return Vec::new();
            };
            if last + AT_RISK_HORIZON_DAYS < ctx.today {
                return Vec::new();
            }
            let summary = match p_active_below {
                Some(threshold) => match customer.p_active {
                    Some(p) if p < *threshold => format!(
                        "probability of being active {p:.2}, below {threshold:.2} (last purchase here {})",
                        date_text(last)
                    ),
                    _ => return Vec::new(),
                },
                None => match customer.segment {
                    Some(Segment::AtRisk) => {
                        format!("segment At risk (last purchase here {})", date_text(last))
                    }
                    _ => return Vec::new(),
                },
            };
            one(
                format!("at_risk/{c}/{last}"),
                ctx.now.0,
                summary,
                Figures::default(),
            )
        }
        Trigger::Birthday => {
            let Some(birthday) = customer.birthday else {
                return Vec::new();
            };
            let earliest = enabled_day.max(ctx.today.saturating_sub(BIRTHDAY_GRACE_DAYS));
            (earliest..=ctx.today)
                .rev()
                .find(|day| is_birthday(birthday, *day))
                .map(|day| {
                    let (year, _, _) = civil(day);
                    one(
                        format!("birthday/{c}/{year}"),
                        ctx.now.0,
                        format!(
                            "birthday on {:02}-{:02} ({})",
                            birthday.month,
                            birthday.day,
                            date_text(day)
                        ),
                        Figures::default(),
                    )
                })
                .unwrap_or_default()
        }
        Trigger::FirstPurchase => {
            let Some(first) = customer.history.and_then(CustomerHistory::first_purchase) else {
                return Vec::new();
            };
            if first.height <= automation.enabled_height
                || first.day < ctx.today.saturating_sub(LOOKBACK_DAYS)
            {
                return Vec::new();
            }
            one(
                format!("first/{c}"),
                ctx.now.0,
                format!(
                    "first purchase here on {} ({}, block {})",
                    date_text(first.day),
                    ctx.money(first.amount),
                    first.height
                ),
                Figures {
                    points: Some(first.points),
                    ..Figures::default()
                },
            )
        }
        Trigger::DaysSinceLastPurchase { days } => {
            let Some(last) = customer
                .history
                .and_then(CustomerHistory::last_purchase_day)
            else {
                return Vec::new();
            };
            let since = ctx.today.saturating_sub(last);
            let crossed = last.saturating_add(u64::from(*days));
            if since < u64::from(*days) || crossed < earliest {
                return Vec::new();
            }
            one(
                format!("lapsed/{c}/{last}"),
                ctx.now.0,
                format!(
                    "{since} days since the last purchase here ({}); the automation fires at {days} days",
                    date_text(last)
                ),
                Figures::default(),
            )
        }
    }
}

/// The campaigns that started for `automation` (a `campaign-started`
/// trigger): those this shop funds, running now, that started after the
/// automation was enabled and within [`LOOKBACK_DAYS`]. Returns `(id,
/// name, start)`.
pub fn started_campaigns(
    automation: &Automation,
    ctx: &Context<'_>,
) -> Vec<(guild_ledger::types::CampaignId, String, Timestamp)> {
    let Trigger::CampaignStarted { campaign } = automation.trigger else {
        return Vec::new();
    };
    let lookback = LOOKBACK_DAYS.saturating_mul(MS_PER_DAY);
    ctx.state
        .campaigns_of(&ctx.shop)
        .filter(|c| campaign.is_none_or(|only| only == c.id))
        .filter(|c| c.running(ctx.now))
        .filter(|c| c.spec.start.0 >= automation.enabled_ms)
        .filter(|c| c.spec.start.0.saturating_add(lookback) >= ctx.now.0)
        .map(|c| (c.id, c.spec.name.to_string(), c.spec.start))
        .collect()
}

/// The occurrence of a started campaign for one customer.
pub fn campaign_occurrence(
    ctx: &Context<'_>,
    customer: Address,
    (id, name, start): &(guild_ledger::types::CampaignId, String, Timestamp),
) -> Occurrence {
    Occurrence {
        cause: format!("campaign/{id}/{customer}"),
        customer,
        time_ms: start.0,
        summary: format!(
            "campaign {id} \"{name}\" started on {}",
            date_text(ctx.day_of(start.0))
        ),
        figures: Figures {
            campaign: Some(*id),
            campaign_name: Some(name.clone()),
            ..Figures::default()
        },
    }
}

/// Whether `condition` holds for the customer: `Ok` with a sentence per
/// part that held, or `Err` with the first part that did not.
pub fn check_condition(
    condition: &Condition,
    ctx: &Context<'_>,
    customer: &Customer<'_>,
) -> Result<Vec<String>, String> {
    let mut held = Vec::new();
    if !condition.segments.is_empty() {
        let names: Vec<&str> = condition.segments.iter().map(|s| s.as_str()).collect();
        match customer.segment {
            Some(segment) if condition.segments.contains(&segment) => held.push(format!(
                "segment {} is one of {}",
                segment.label(),
                names.join(", ")
            )),
            Some(segment) => {
                return Err(format!(
                    "segment {} is not one of {}",
                    segment.label(),
                    names.join(", ")
                ));
            }
            None => return Err("the customer's segment is not known".into()),
        }
    }
    if !condition.tiers.is_empty() {
        let names: Vec<&str> = condition.tiers.iter().map(|t| t.as_str()).collect();
        let (tier, _) = ctx.state.tier_of(&customer.address, ctx.now);
        match tier {
            Some(t) if condition.tiers.contains(&t.name) => {
                held.push(format!("tier {} is one of {}", t.name, names.join(", ")))
            }
            Some(t) => {
                return Err(format!(
                    "tier {} is not one of {}",
                    t.name,
                    names.join(", ")
                ));
            }
            None => {
                return Err(format!(
                    "no tier, where one of {} is needed",
                    names.join(", ")
                ));
            }
        }
    }
    if let Some(min) = condition.min_balance {
        let balance = ctx
            .state
            .account(&customer.address)
            .map_or(Points::ZERO, |a| a.balance());
        if balance < min {
            return Err(format!("holds {} points, fewer than {}", balance.0, min.0));
        }
        held.push(format!("holds {} points, at least {}", balance.0, min.0));
    }
    Ok(held)
}

#[cfg(test)]
mod tests;
