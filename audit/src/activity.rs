//! What happened in a period, accumulated block by block from the verified
//! replay: the raw material of the report and the statements.
//!
//! Per-shop totals come from the ledger's own `ShopStats` records (their
//! change across each block). Which shop's points were redeemed where, and
//! how old they were, come from the effects the ledger reports for each
//! transaction as it applies it ([`guild_ledger::state::Effect`]), so the
//! report never re-implements a rule of the ledger and cannot disagree with
//! the verified chain.

use crate::dates::{Period, Position};
use crate::{Discrepancy, Rule};
use guild_ledger::block::BlockHeader;
use guild_ledger::crypto::Address;
use guild_ledger::error::GenesisError;
use guild_ledger::genesis::Genesis;
use guild_ledger::programme::Locale;
use guild_ledger::state::{Applied, Effect, ShopStats, State, StateKey, TxEffect};
use guild_ledger::tx::{TxBody, TxId};
use guild_ledger::types::{ChainId, Height, Points, ShopName, Timestamp};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Points issued by one shop redeemed at another, with where to find the
/// redemption on the chain.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CrossRedemption {
    /// Block height.
    pub height: Height,
    /// Position in the block.
    pub index: usize,
    /// The redemption's transaction id.
    pub id: TxId,
    /// Block time.
    pub time: Timestamp,
    /// Who redeemed.
    pub customer: Address,
    /// The shop where the points were spent (the creditor).
    pub redeemed_at: Address,
    /// The shop that issued them (the debtor).
    pub issuer: Address,
    /// How many of that issuer's points.
    pub points: u64,
}

/// A settlement acknowledged on the ledger (`guild shop settle`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SettlementEvent {
    /// Block height.
    pub height: Height,
    /// Position in the block.
    pub index: usize,
    /// The settle transaction's id.
    pub id: TxId,
    /// Block time.
    pub time: Timestamp,
    /// The shop that was paid (author of the settle).
    pub creditor: Address,
    /// The shop that paid.
    pub debtor: Address,
    /// The points' worth paid.
    pub points: u64,
}

/// A shop's totals over the period (changes of its `ShopStats`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Totals {
    pub issued: u64,
    pub granted: u64,
    pub campaign_points: u64,
    pub reversed: u64,
    pub reversal_shortfall: u64,
    pub redeemed_issued: u64,
    pub redeemed_here: u64,
    pub expired: u64,
}

impl Totals {
    /// `after - before`, field by field (the statistics only grow).
    fn change(before: &ShopStats, after: &ShopStats) -> Option<Totals> {
        let d = |a: Points, b: Points| a.0.checked_sub(b.0);
        Some(Totals {
            issued: d(after.issued, before.issued)?,
            granted: d(after.granted, before.granted)?,
            campaign_points: d(after.campaign_points, before.campaign_points)?,
            reversed: d(after.reversed, before.reversed)?,
            reversal_shortfall: d(after.reversal_shortfall, before.reversal_shortfall)?,
            redeemed_issued: d(after.redeemed_issued, before.redeemed_issued)?,
            redeemed_here: d(after.redeemed_here, before.redeemed_here)?,
            expired: d(after.expired, before.expired)?,
        })
    }

    fn add(&mut self, other: &Totals) {
        self.issued += other.issued;
        self.granted += other.granted;
        self.campaign_points += other.campaign_points;
        self.reversed += other.reversed;
        self.reversal_shortfall += other.reversal_shortfall;
        self.redeemed_issued += other.redeemed_issued;
        self.redeemed_here += other.redeemed_here;
        self.expired += other.expired;
    }
}

/// One customer's activity in the period.
#[derive(Clone, Debug, Default)]
pub(crate) struct Customer {
    /// Earns received.
    pub earns: u32,
    /// Shops it earned or redeemed at.
    pub shops: BTreeSet<Address>,
}

/// Accumulates a period's activity from the verified replay (a
/// [`crate::BlockObserver`]).
pub struct Activity {
    pub(crate) period: Period,
    /// The network's currency and time zone (fixed at genesis): the period's
    /// dates are local dates.
    pub(crate) locale: Locale,
    pub(crate) chain_id: ChainId,
    pub(crate) genesis_hash: guild_ledger::hash::Hash,
    /// The state before the period's first block, and its height.
    pub(crate) opening: State,
    pub(crate) opening_height: Height,
    /// The state after the period's last block, and that block's header.
    pub(crate) closing: State,
    pub(crate) closing_header: BlockHeader,
    pub(crate) first_height: Option<Height>,
    pub(crate) blocks: u64,
    pub(crate) transactions: u64,
    /// Every shop that was ever a member, with its name.
    pub(crate) shops: BTreeMap<Address, ShopName>,
    pub(crate) totals: BTreeMap<Address, Totals>,
    /// Points by `(issuer, redeemed at)`, the diagonal included.
    pub(crate) flows: BTreeMap<(Address, Address), u64>,
    pub(crate) cross: Vec<CrossRedemption>,
    pub(crate) settlements: Vec<SettlementEvent>,
    pub(crate) customers: HashMap<Address, Customer>,
    /// Σ points × days from earn to redemption, and Σ points.
    pub(crate) redeemed_days: u128,
    pub(crate) redeemed_points: u64,
    /// The UTC day of the earns that created each expiry instant.
    expiry_origin: HashMap<Timestamp, u64>,
}

impl Activity {
    /// Starts at genesis, for `period`.
    pub fn new(genesis: &Genesis, period: Period) -> Result<Activity, GenesisError> {
        let (state, header) = genesis.build()?;
        Ok(Activity {
            period,
            locale: genesis.programme.locale.clone(),
            chain_id: genesis.chain_id.clone(),
            genesis_hash: header.hash(),
            opening_height: Height(0),
            opening: state.clone(),
            shops: state
                .members()
                .map(|m| (m.address, m.name.clone()))
                .collect(),
            closing: state,
            closing_header: header,
            first_height: None,
            blocks: 0,
            transactions: 0,
            totals: BTreeMap::new(),
            flows: BTreeMap::new(),
            cross: Vec::new(),
            settlements: Vec::new(),
            customers: HashMap::new(),
            redeemed_days: 0,
            redeemed_points: 0,
            expiry_origin: HashMap::new(),
        })
    }

    /// The period.
    pub fn period(&self) -> Period {
        self.period
    }

    /// The network's currency and time zone.
    pub fn locale(&self) -> &Locale {
        &self.locale
    }

    /// A shop's name (its address for a key that was never a member).
    pub(crate) fn name(&self, address: &Address) -> String {
        self.shops
            .get(address)
            .map_or_else(|| address.to_string(), |n| n.to_string())
    }
}

impl crate::BlockObserver for Activity {
    fn block(&mut self, before: &State, applied: &Applied) -> Result<(), Discrepancy> {
        let header = applied.block.header();
        let time = header.time;
        for change in &applied.changes {
            if let StateKey::Member(address) = change.key
                && let Some(member) = applied.state.member(&address)
            {
                self.shops
                    .entry(address)
                    .or_insert_with(|| member.name.clone());
            }
        }
        for TxEffect { effect, .. } in &applied.effects {
            if let Effect::Issued { expires_at, .. } = effect {
                self.expiry_origin.insert(*expires_at, time.day());
            }
        }
        match self.period.local_position(&self.locale, time) {
            Position::Before => {
                self.opening = applied.state.clone();
                self.opening_height = header.height;
                self.closing = applied.state.clone();
                self.closing_header = header.clone();
                return Ok(());
            }
            Position::After => return Ok(()),
            Position::Within => {}
        }
        self.first_height.get_or_insert(header.height);
        self.blocks += 1;
        self.transactions += applied.block.txs().len() as u64;

        let totals = stats_changes(before, applied)?;
        record_effects(self, before, applied);
        for (shop, change) in &totals {
            self.totals.entry(*shop).or_default().add(change);
        }
        self.closing = applied.state.clone();
        self.closing_header = header.clone();
        Ok(())
    }
}

/// Each touched member's `ShopStats` change across the block.
fn stats_changes(
    before: &State,
    applied: &Applied,
) -> Result<BTreeMap<Address, Totals>, Discrepancy> {
    let height = applied.block.header().height;
    let mut out = BTreeMap::new();
    for change in &applied.changes {
        let StateKey::Member(address) = change.key else {
            continue;
        };
        let old = before.member(&address).map(|m| m.stats.clone());
        let new = applied.state.member(&address).map(|m| m.stats.clone());
        let (old, new) = match (old, new) {
            (Some(old), Some(new)) => (old, new),
            (None, Some(new)) => (ShopStats::default(), new),
            // Removed at the end of the block (no points of its issue can
            // be left, so nothing of it changed in the block).
            (_, None) => continue,
        };
        let totals = Totals::change(&old, &new).ok_or_else(|| {
            Discrepancy::at(
                height,
                Rule::ReportModel,
                format!("the totals of shop {address} went down"),
            )
        })?;
        out.insert(address, totals);
    }
    Ok(out)
}

/// Adds one block's effects (as the ledger applied them) to `activity`:
/// customers' earns and shops, redemption flows and ages, cross-shop
/// redemptions, settlements.
fn record_effects(activity: &mut Activity, before: &State, applied: &Applied) {
    let header = applied.block.header();
    let (height, time) = (header.height, header.time);
    let expiry_days = before.params().point_expiry_days;
    let txs = applied.block.txs();
    let is_customer = |a: &Address| before.member(a).is_none();
    for TxEffect { index, effect } in &applied.effects {
        let id = txs.get(*index).map(|t| t.id());
        match effect {
            Effect::Issued { issuer, holder, .. } => {
                if is_customer(holder) {
                    let c = activity.customers.entry(*holder).or_default();
                    c.earns = c.earns.saturating_add(1);
                    c.shops.insert(*issuer);
                }
            }
            Effect::Transferred { from, to, .. } => {
                for who in [from, to] {
                    if is_customer(who) {
                        activity.customers.entry(*who).or_default();
                    }
                }
            }
            Effect::Redeemed { holder, shop, lots } => {
                let mut by_issuer: BTreeMap<Address, u64> = BTreeMap::new();
                for lot in lots {
                    *by_issuer.entry(lot.issuer).or_default() += lot.amount.0;
                    let origin = activity
                        .expiry_origin
                        .get(&lot.expires_at)
                        .copied()
                        .unwrap_or_else(|| {
                            lot.expires_at
                                .day()
                                .saturating_sub(u64::from(expiry_days) + 1)
                        });
                    let days = time.day().saturating_sub(origin);
                    activity.redeemed_days += u128::from(lot.amount.0) * u128::from(days);
                    activity.redeemed_points += lot.amount.0;
                }
                for (issuer, amount) in by_issuer {
                    *activity.flows.entry((issuer, *shop)).or_default() += amount;
                    if issuer != *shop
                        && let Some(id) = id
                    {
                        activity.cross.push(CrossRedemption {
                            height,
                            index: *index,
                            id,
                            time,
                            customer: *holder,
                            redeemed_at: *shop,
                            issuer,
                            points: amount,
                        });
                    }
                }
                if is_customer(holder) {
                    activity
                        .customers
                        .entry(*holder)
                        .or_default()
                        .shops
                        .insert(*shop);
                }
            }
            Effect::Reversed { .. } => {}
        }
    }
    for (index, vtx) in txs.iter().enumerate() {
        if let TxBody::Settle { debtor, points } = &vtx.tx().body {
            activity.settlements.push(SettlementEvent {
                height,
                index,
                id: vtx.id(),
                time,
                creditor: vtx.tx().author,
                debtor: *debtor,
                points: points.0,
            });
        }
    }
}
