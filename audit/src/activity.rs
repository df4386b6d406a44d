//! What happened in a period, accumulated block by block from the verified
//! replay: the raw material of the report and the statements.
//!
//! Per-shop totals come from the ledger's own `ShopStats` records (their
//! change across each block). Which shop's points were redeemed where, and
//! how old they were, is not recorded by the ledger per transaction: a small
//! model replays each block's lot movements with the ledger's own lot rules
//! ([`guild_ledger::state::lots`]: soonest expiry first for spending, latest
//! first for reversals) and is
//! checked after every block against the ledger's records — every touched
//! account's lots, every debt and every shop's totals — so a report can never
//! silently disagree with the verified chain ([`Rule::ReportModel`]).

use crate::dates::Period;
use crate::{Discrepancy, Rule};
use guild_ledger::block::BlockHeader;
use guild_ledger::crypto::Address;
use guild_ledger::error::GenesisError;
use guild_ledger::genesis::Genesis;
use guild_ledger::state::{Applied, Lot, ShopStats, State, StateKey, lots};
use guild_ledger::tx::{TxBody, TxId};
use guild_ledger::types::{ChainId, Height, Points, ReceiptHash, ShopName, Timestamp};
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
            reversed: d(after.reversed, before.reversed)?,
            reversal_shortfall: d(after.reversal_shortfall, before.reversal_shortfall)?,
            redeemed_issued: d(after.redeemed_issued, before.redeemed_issued)?,
            redeemed_here: d(after.redeemed_here, before.redeemed_here)?,
            expired: d(after.expired, before.expired)?,
        })
    }

    fn add(&mut self, other: &Totals) {
        self.issued += other.issued;
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

fn expiry_of(time: Timestamp, expiry_days: u32) -> Timestamp {
    Timestamp::start_of_day(
        time.day()
            .saturating_add(u64::from(expiry_days))
            .saturating_add(1),
    )
}

impl Activity {
    /// Starts at genesis, for `period`.
    pub fn new(genesis: &Genesis, period: Period) -> Result<Activity, GenesisError> {
        let (state, header) = genesis.build()?;
        Ok(Activity {
            period,
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
        let expiry_days = before.params().point_expiry_days;
        for change in &applied.changes {
            if let StateKey::Member(address) = change.key
                && let Some(member) = applied.state.member(&address)
            {
                self.shops
                    .entry(address)
                    .or_insert_with(|| member.name.clone());
            }
        }
        for tx in applied.block.txs() {
            if let TxBody::Earn { .. } = tx.tx().body {
                self.expiry_origin
                    .insert(expiry_of(time, expiry_days), time.day());
            }
        }
        if self.period.is_before(time) {
            self.opening = applied.state.clone();
            self.opening_height = header.height;
            self.closing = applied.state.clone();
            self.closing_header = header.clone();
            return Ok(());
        }
        if self.period.is_after(time) {
            return Ok(());
        }
        self.first_height.get_or_insert(header.height);
        self.blocks += 1;
        self.transactions += applied.block.txs().len() as u64;

        let totals = stats_changes(before, applied)?;
        let model = BlockModel::run(self, before, applied)?;
        model.check(before, applied, &totals)?;
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

/// The lot movements of one block, replayed from the state before it.
struct BlockModel<'a> {
    before: &'a State,
    time: Timestamp,
    lots: HashMap<Address, Vec<Lot>>,
    earns: HashMap<(Address, ReceiptHash), (Address, Points)>,
    issued: BTreeMap<Address, u64>,
    reversed: BTreeMap<Address, u64>,
    redeemed_here: BTreeMap<Address, u64>,
    redeemed_issued: BTreeMap<Address, u64>,
    /// `(issuer, redeemed at)` → points, issuer ≠ redeemed at.
    cross: BTreeMap<(Address, Address), u64>,
    /// `(debtor, creditor)` → points settled.
    settled: BTreeMap<(Address, Address), u64>,
}

impl<'a> BlockModel<'a> {
    fn lots(&mut self, holder: Address) -> &mut Vec<Lot> {
        let (before, time) = (self.before, self.time);
        self.lots.entry(holder).or_insert_with(|| {
            before
                .account(&holder)
                .map(|a| {
                    a.lots
                        .iter()
                        .filter(|l| l.expires_at > time)
                        .copied()
                        .collect()
                })
                .unwrap_or_default()
        })
    }

    /// Replays the block's transactions, adding the period's flows and
    /// customer figures to `activity`.
    fn run(
        activity: &mut Activity,
        before: &'a State,
        applied: &Applied,
    ) -> Result<BlockModel<'a>, Discrepancy> {
        let header = applied.block.header();
        let (height, time) = (header.height, header.time);
        let expiry_days = before.params().point_expiry_days;
        let mut m = BlockModel {
            before,
            time,
            lots: HashMap::new(),
            earns: HashMap::new(),
            issued: BTreeMap::new(),
            reversed: BTreeMap::new(),
            redeemed_here: BTreeMap::new(),
            redeemed_issued: BTreeMap::new(),
            cross: BTreeMap::new(),
            settled: BTreeMap::new(),
        };
        let is_customer = |a: &Address| before.member(a).is_none();
        for (index, vtx) in applied.block.txs().iter().enumerate() {
            let tx = vtx.tx();
            let author = tx.author;
            let model_error = |what: &str| {
                Discrepancy::at_tx(height, index, vtx.id(), Rule::ReportModel, what.to_string())
            };
            match &tx.body {
                TxBody::Earn {
                    customer,
                    points,
                    receipt,
                    ..
                } => {
                    // Overflow is impossible here: the ledger applied this
                    // block first and refuses overflowing totals.
                    let _ = lots::add(
                        m.lots(*customer),
                        Lot {
                            issuer: author,
                            expires_at: expiry_of(time, expiry_days),
                            amount: *points,
                        },
                    );
                    m.earns.insert((author, *receipt), (*customer, *points));
                    *m.issued.entry(author).or_default() += points.0;
                    if is_customer(customer) {
                        let c = activity.customers.entry(*customer).or_default();
                        c.earns = c.earns.saturating_add(1);
                        c.shops.insert(author);
                    }
                }
                TxBody::Reverse { receipt } => {
                    let (customer, points) = match m.earns.get(&(author, *receipt)) {
                        Some(earn) => *earn,
                        None => before
                            .receipt(&author, receipt)
                            .map(|r| (r.customer, r.points))
                            .ok_or_else(|| model_error("reversal of an unknown earn"))?,
                    };
                    let taken = lots::take_back(m.lots(customer), &author, points).0;
                    *m.reversed.entry(author).or_default() += taken;
                }
                TxBody::Transfer { to, points, .. } => {
                    let moved = lots::take_soonest(m.lots(author), *points);
                    for lot in moved {
                        let _ = lots::add(m.lots(*to), lot);
                    }
                    for who in [author, *to] {
                        if is_customer(&who) {
                            activity.customers.entry(who).or_default();
                        }
                    }
                }
                TxBody::Redeem { shop, points } => {
                    let spent = lots::take_soonest(m.lots(author), *points);
                    *m.redeemed_here.entry(*shop).or_default() += points.0;
                    let mut by_issuer: BTreeMap<Address, u64> = BTreeMap::new();
                    for lot in &spent {
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
                        if before.member(&issuer).is_some() {
                            *m.redeemed_issued.entry(issuer).or_default() += amount;
                        }
                        *activity.flows.entry((issuer, *shop)).or_default() += amount;
                        if issuer != *shop {
                            *m.cross.entry((issuer, *shop)).or_default() += amount;
                            activity.cross.push(CrossRedemption {
                                height,
                                index,
                                id: vtx.id(),
                                time,
                                customer: author,
                                redeemed_at: *shop,
                                issuer,
                                points: amount,
                            });
                        }
                    }
                    if is_customer(&author) {
                        activity
                            .customers
                            .entry(author)
                            .or_default()
                            .shops
                            .insert(*shop);
                    }
                }
                TxBody::Settle { debtor, points } => {
                    *m.settled.entry((*debtor, author)).or_default() += points.0;
                    activity.settlements.push(SettlementEvent {
                        height,
                        index,
                        id: vtx.id(),
                        time,
                        creditor: author,
                        debtor: *debtor,
                        points: points.0,
                    });
                }
                TxBody::Propose { .. } | TxBody::Approve { .. } => {}
            }
        }
        Ok(m)
    }

    /// Compares the model with what the ledger recorded for the block.
    fn check(
        &self,
        before: &State,
        applied: &Applied,
        totals: &BTreeMap<Address, Totals>,
    ) -> Result<(), Discrepancy> {
        let height = applied.block.header().height;
        let wrong = |what: String| {
            Discrepancy::at(
                height,
                Rule::ReportModel,
                format!(
                    "{what}: the report's bookkeeping disagrees with the verified ledger (please report this bug)"
                ),
            )
        };
        for (holder, lots) in &self.lots {
            let recorded = applied
                .state
                .account(holder)
                .map_or(&[][..], |a| a.lots.as_slice());
            if recorded != lots.as_slice() {
                return Err(wrong(format!("lots of {holder}")));
            }
        }
        let mut pairs: BTreeSet<(Address, Address)> = self.cross.keys().copied().collect();
        pairs.extend(self.settled.keys().copied());
        for change in &applied.changes {
            if let StateKey::Debt { debtor, creditor } = change.key {
                pairs.insert((debtor, creditor));
            }
        }
        for (debtor, creditor) in pairs {
            let old = i128::from(before.debt(&debtor, &creditor).0);
            let new = i128::from(applied.state.debt(&debtor, &creditor).0);
            let added = i128::from(self.cross.get(&(debtor, creditor)).copied().unwrap_or(0));
            let settled = i128::from(self.settled.get(&(debtor, creditor)).copied().unwrap_or(0));
            if new - old != added - settled {
                return Err(wrong(format!("debt of {debtor} to {creditor}")));
            }
        }
        let mut shops: BTreeSet<Address> = totals.keys().copied().collect();
        for map in [
            &self.issued,
            &self.reversed,
            &self.redeemed_here,
            &self.redeemed_issued,
        ] {
            shops.extend(map.keys().copied());
        }
        for shop in shops {
            if before.member(&shop).is_none() {
                continue;
            }
            let t = totals.get(&shop).copied().unwrap_or_default();
            let get = |m: &BTreeMap<Address, u64>| m.get(&shop).copied().unwrap_or(0);
            if t.issued != get(&self.issued)
                || t.reversed != get(&self.reversed)
                || t.redeemed_here != get(&self.redeemed_here)
                || t.redeemed_issued != get(&self.redeemed_issued)
            {
                return Err(wrong(format!("totals of shop {shop}")));
            }
        }
        Ok(())
    }
}
