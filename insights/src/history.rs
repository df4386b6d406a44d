//! Each customer's purchase and points history, kept up to date block by
//! block from the ledger.
//!
//! ## Where the figures come from
//!
//! Nothing new goes on the ledger for insights: [`History`] reads what
//! the ledger already holds, block by block, and never re-implements one
//! of its rules.
//!
//! - **Purchases.** A `sale` (the basket's amount; the signer is the
//!   shop) and an `earn` that reports a purchase (`purchase: Some`, more
//!   than zero) are purchases of that customer at that shop, on the shop's
//!   local day (`Locale::local(block time).day`, the day the ledger stores
//!   in the receipt's record). A `reverse` of the same receipt lowers the
//!   purchase's spend by the amount refunded (`amount: Some`, a partial
//!   refund of a sale) or by all that was left (`amount: None`); once
//!   everything is refunded the purchase itself goes. The receipt is read
//!   from the state before the block, or from earlier in the same block.
//! - **Points.** What the ledger reports it did to points
//!   ([`guild_ledger::state::Effect`]): points each shop issued to the
//!   customer (less what reversals took back) and points the customer
//!   redeemed at each shop. Balances, lots and tiers are not kept here:
//!   they are read from the ledger state at the head when an answer is
//!   built.
//! - **Shop totals.** Each shop's running totals (`ShopStats`: issued,
//!   redeemed, expired, outstanding) after the last block of each local
//!   day, so a figure over any period is the difference of two days.
//! - **Campaigns.** The sales each campaign gave points in (from the
//!   sale's claim), and their spend, net of refunds.
//!
//! ## Bounds
//!
//! Memory grows with purchase *days*, not transactions: per customer and
//! shop, one entry per day with purchases (how many, and their spend).
//! At most [`MAX_DAYS_KEPT`] days (ten years of daily visits) are kept one
//! by one per customer and shop; older days are folded into one total
//! (first and last day, days, purchases, spend), so first purchase,
//! counts and spend stay exact while figures of periods that far back
//! lose their day-by-day detail. Per shop, one totals record per local
//! day with a block that changed them; per campaign, three counters.
//!
//! Every map is persistent (structure-sharing, like the ledger's state),
//! so a clone of a `History` costs O(1): the node publishes a snapshot
//! after every block without copying.

use guild_ledger::block::BlockHeader;
use guild_ledger::crypto::Address;
use guild_ledger::genesis::Genesis;
use guild_ledger::state::{Applied, EarnKind, EarnRecord, Effect, ShopStats, State, TxEffect};
use guild_ledger::tx::{Transaction, TxBody};
use guild_ledger::types::{CampaignId, Height, Points, ReceiptHash, ShopName, Timestamp};
use rpds::RedBlackTreeMapSync;
use std::collections::{BTreeMap, HashMap};

use crate::purchase::Day;

/// Purchase days kept one by one per customer and shop; older ones are
/// folded into a total.
pub const MAX_DAYS_KEPT: usize = 3_660;

/// Whose purchases a figure is about: one shop's customers, or the whole
/// group's (every shop's purchases together).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// Every member shop.
    Group,
    /// One shop.
    Shop(Address),
}

impl Scope {
    /// True if purchases at `shop` count in this scope.
    pub fn includes(&self, shop: &Address) -> bool {
        match self {
            Scope::Group => true,
            Scope::Shop(s) => s == shop,
        }
    }
}

/// One customer's purchases on one day.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DayPurchases {
    /// Purchases that day (not refunded in full).
    pub purchases: u32,
    /// Their spend, net of refunds, in minor units.
    pub spend: u64,
}

impl DayPurchases {
    fn add(&mut self, other: DayPurchases) {
        self.purchases = self.purchases.saturating_add(other.purchases);
        self.spend = self.spend.saturating_add(other.spend);
    }
}

/// Purchase days folded into one total (the oldest, beyond
/// [`MAX_DAYS_KEPT`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Folded {
    /// The first folded day.
    pub first: Day,
    /// The last folded day.
    pub last: Day,
    /// Purchase days folded.
    pub days: u32,
    /// Purchases on them.
    pub purchases: u32,
    /// Their spend, in minor units.
    pub spend: u64,
}

impl Folded {
    fn merge(self, other: Folded) -> Folded {
        Folded {
            first: self.first.min(other.first),
            last: self.last.max(other.last),
            days: self.days.saturating_add(other.days),
            purchases: self.purchases.saturating_add(other.purchases),
            spend: self.spend.saturating_add(other.spend),
        }
    }
}

/// One customer at one shop: purchase days and points.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Visits {
    days: BTreeMap<Day, DayPurchases>,
    folded: Option<Folded>,
    points_earned: u64,
    points_redeemed: u64,
}

impl Visits {
    fn add_purchase(&mut self, day: Day, spend: u64) {
        if let Some(folded) = &mut self.folded
            && day <= folded.last
        {
            // A purchase dated in the folded past (cannot happen with
            // block times that only move forward; kept exact anyway).
            folded.purchases = folded.purchases.saturating_add(1);
            folded.spend = folded.spend.saturating_add(spend);
            return;
        }
        self.days.entry(day).or_default().add(DayPurchases {
            purchases: 1,
            spend,
        });
        while self.days.len() > MAX_DAYS_KEPT {
            let Some((day, purchases)) = self.days.pop_first() else {
                break;
            };
            let one = Folded {
                first: day,
                last: day,
                days: 1,
                purchases: purchases.purchases,
                spend: purchases.spend,
            };
            self.folded = Some(self.folded.map_or(one, |f| f.merge(one)));
        }
    }

    /// Takes `spend` off the purchase of `day`, and the purchase itself
    /// if `gone`.
    fn refund(&mut self, day: Day, spend: u64, gone: bool) {
        if let Some(p) = self.days.get_mut(&day) {
            p.spend = p.spend.saturating_sub(spend);
            if gone {
                p.purchases = p.purchases.saturating_sub(1);
            }
            if p.purchases == 0 {
                self.days.remove(&day);
            }
        } else if let Some(folded) = &mut self.folded
            && day <= folded.last
        {
            folded.spend = folded.spend.saturating_sub(spend);
            if gone {
                folded.purchases = folded.purchases.saturating_sub(1);
            }
        }
    }

    fn has_purchases(&self) -> bool {
        !self.days.is_empty() || self.folded.is_some_and(|f| f.purchases > 0)
    }
}

/// The sales a campaign gave points in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CampaignTally {
    /// Sales it gave points in (less those refunded in full).
    pub sales: u32,
    /// Their spend, net of refunds, in minor units.
    pub spend: u64,
    /// Points it paid at those sales (customer and referrer), as claimed.
    pub points: u64,
}

/// A receipt as a reversal needs it: whose purchase, which day, how much,
/// how much refunded so far.
#[derive(Clone, Debug)]
struct ReceiptView {
    customer: Address,
    day: Day,
    purchase: u64,
    /// True if the receipt is a purchase in the history.
    counted: bool,
    refunded: u64,
    campaigns: Vec<CampaignId>,
}

impl ReceiptView {
    fn of(record: &EarnRecord) -> ReceiptView {
        let purchase = record.purchase.map_or(0, |c| c.0);
        ReceiptView {
            customer: record.customer,
            day: Day(record.day),
            purchase,
            counted: match record.kind {
                EarnKind::Sale => true,
                EarnKind::Grant => purchase > 0,
                EarnKind::Birthday | EarnKind::Offer => false,
            },
            refunded: record.reversal.map_or(0, |r| r.refunded.0),
            campaigns: record.campaigns.iter().map(|c| c.campaign).collect(),
        }
    }
}

/// What one reversal (a refund, a voided sale) did, as the ledger
/// reported it: the figures a customer's history shows for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReversalFigures {
    /// The shop that reversed its receipt.
    pub shop: Address,
    /// The customer.
    pub customer: Address,
    /// Points taken back from the customer by this reversal.
    pub taken: Points,
    /// Points this reversal was due but could not take (already spent or
    /// expired): the shop's loss, not the customer's.
    pub shortfall: Points,
}

/// Blocks must be given in height order, each once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the purchase history is at height {at}; block {got} cannot be added to it")]
pub struct OutOfOrder {
    /// The height of the last block added.
    pub at: Height,
    /// The block given.
    pub got: Height,
}

/// Every customer's purchases and points, and each shop's totals, from
/// genesis to the last block added (see the module documentation).
#[derive(Clone, Debug)]
pub struct History {
    height: Height,
    time: Timestamp,
    /// Per (customer, shop).
    visits: RedBlackTreeMapSync<(Address, Address), Visits>,
    /// Each shop's totals after the last block of each local day that
    /// changed them.
    stats: RedBlackTreeMapSync<(Address, Day), ShopStats>,
    campaigns: RedBlackTreeMapSync<CampaignId, CampaignTally>,
    /// Every shop that was ever a member, with its latest name.
    shops: RedBlackTreeMapSync<Address, ShopName>,
    /// What each reversal did, by (height, position in the block).
    reversals: RedBlackTreeMapSync<(Height, u32), ReversalFigures>,
}

impl History {
    /// The empty history of the chain whose genesis state is `genesis`.
    pub fn new(genesis: &State) -> History {
        let mut shops = RedBlackTreeMapSync::new_sync();
        for m in genesis.members() {
            shops.insert_mut(m.address, m.name.clone());
        }
        History {
            height: genesis.chain().height,
            time: genesis.chain().time,
            visits: RedBlackTreeMapSync::new_sync(),
            stats: RedBlackTreeMapSync::new_sync(),
            campaigns: RedBlackTreeMapSync::new_sync(),
            shops,
            reversals: RedBlackTreeMapSync::new_sync(),
        }
    }

    /// The empty history of `genesis`.
    pub fn from_genesis(genesis: &Genesis) -> Result<History, guild_ledger::error::GenesisError> {
        let (state, _) = genesis.build()?;
        Ok(History::new(&state))
    }

    /// The height of the last block added (0: none yet).
    pub fn height(&self) -> Height {
        self.height
    }

    /// The time of the last block added.
    pub fn time(&self) -> Timestamp {
        self.time
    }

    /// Adds a block the ledger applied: `before` is the state it applied
    /// to, `applied` what applying it gave.
    pub fn apply(&mut self, before: &State, applied: &Applied) -> Result<(), OutOfOrder> {
        let txs: Vec<&Transaction> = applied.block.txs().iter().map(|t| t.tx()).collect();
        self.apply_parts(
            before,
            applied.block.header(),
            &txs,
            &applied.state,
            &applied.effects,
        )
    }

    /// [`History::apply`] from the parts of an applied block: its header,
    /// its transactions in order, the state after it and the effects the
    /// ledger reported (a node has these for a committed block without
    /// applying it again).
    pub fn apply_parts(
        &mut self,
        before: &State,
        header: &BlockHeader,
        txs: &[&Transaction],
        after: &State,
        effects: &[TxEffect],
    ) -> Result<(), OutOfOrder> {
        if self.height.0.checked_add(1) != Some(header.height.0) {
            return Err(OutOfOrder {
                at: self.height,
                got: header.height,
            });
        }
        let day = Day(before.programme().locale.local(header.time).day);
        self.shop_totals(before, after, day);
        self.purchases(before, txs, day);
        self.points(before, effects);
        self.reversals_of(header.height, effects);
        self.height = header.height;
        self.time = header.time;
        Ok(())
    }

    /// Member names and each changed `ShopStats`, as of `day`.
    fn shop_totals(&mut self, before: &State, after: &State, day: Day) {
        for member in after.members() {
            if self.shops.get(&member.address) != Some(&member.name) {
                self.shops.insert_mut(member.address, member.name.clone());
            }
            let changed = before
                .member(&member.address)
                .is_none_or(|old| old.stats != member.stats);
            if changed {
                self.stats
                    .insert_mut((member.address, day), member.stats.clone());
            }
        }
    }

    fn purchases(&mut self, before: &State, txs: &[&Transaction], day: Day) {
        // Receipts written earlier in this block, as they are now.
        let mut receipts: HashMap<(Address, ReceiptHash), ReceiptView> = HashMap::new();
        for tx in txs {
            let shop = tx.author;
            match &tx.body {
                TxBody::Sale {
                    customer,
                    receipt,
                    basket,
                    claim,
                } => {
                    let spend = basket.amount.0;
                    self.visit(*customer, shop, |v| v.add_purchase(day, spend));
                    for cost in &claim.campaigns {
                        let mut tally = self.tally(cost.campaign);
                        tally.sales = tally.sales.saturating_add(1);
                        tally.spend = tally.spend.saturating_add(spend);
                        tally.points = tally.points.saturating_add(cost.points.0);
                        self.campaigns.insert_mut(cost.campaign, tally);
                    }
                    receipts.insert(
                        (shop, *receipt),
                        ReceiptView {
                            customer: *customer,
                            day,
                            purchase: spend,
                            counted: true,
                            refunded: 0,
                            campaigns: claim.campaigns.iter().map(|c| c.campaign).collect(),
                        },
                    );
                }
                TxBody::Earn {
                    customer,
                    purchase,
                    receipt,
                    ..
                } => {
                    let spend = purchase.map_or(0, |c| c.0);
                    if spend > 0 {
                        self.visit(*customer, shop, |v| v.add_purchase(day, spend));
                    }
                    receipts.insert(
                        (shop, *receipt),
                        ReceiptView {
                            customer: *customer,
                            day,
                            purchase: spend,
                            counted: spend > 0,
                            refunded: 0,
                            campaigns: Vec::new(),
                        },
                    );
                }
                TxBody::Reverse { receipt, amount } => {
                    let key = (shop, *receipt);
                    let view = receipts
                        .remove(&key)
                        .or_else(|| before.receipt(&shop, receipt).map(ReceiptView::of));
                    let Some(mut view) = view else { continue };
                    let left = view.purchase.saturating_sub(view.refunded);
                    let now = amount.map_or(left, |a| a.0.min(left));
                    let was_gone = view.purchase > 0 && view.refunded >= view.purchase;
                    view.refunded = view.refunded.saturating_add(now);
                    let gone = !was_gone && view.refunded >= view.purchase;
                    if view.counted {
                        let day = view.day;
                        self.visit(view.customer, shop, |v| v.refund(day, now, gone));
                        for id in &view.campaigns {
                            let mut tally = self.tally(*id);
                            tally.spend = tally.spend.saturating_sub(now);
                            if gone {
                                tally.sales = tally.sales.saturating_sub(1);
                            }
                            self.campaigns.insert_mut(*id, tally);
                        }
                    }
                    receipts.insert(key, view);
                }
                _ => {}
            }
        }
    }

    fn points(&mut self, before: &State, effects: &[TxEffect]) {
        let is_customer = |a: &Address| before.member(a).is_none();
        for TxEffect { effect, .. } in effects {
            match effect {
                Effect::Issued {
                    issuer,
                    holder,
                    points,
                    ..
                } if is_customer(holder) => {
                    self.visit(*holder, *issuer, |v| {
                        v.points_earned = v.points_earned.saturating_add(points.0);
                    });
                }
                Effect::Reversed {
                    issuer,
                    holder,
                    taken,
                    ..
                } if is_customer(holder) => {
                    self.visit(*holder, *issuer, |v| {
                        v.points_earned = v.points_earned.saturating_sub(taken.0);
                    });
                }
                Effect::Redeemed { holder, shop, lots } if is_customer(holder) => {
                    let spent = lots.iter().fold(0u64, |s, l| s.saturating_add(l.amount.0));
                    self.visit(*holder, *shop, |v| {
                        v.points_redeemed = v.points_redeemed.saturating_add(spent);
                    });
                }
                _ => {}
            }
        }
    }

    /// Keeps what each reversal of the block did.
    fn reversals_of(&mut self, height: Height, effects: &[TxEffect]) {
        for TxEffect { index, effect } in effects {
            if let Effect::Reversed {
                issuer,
                holder,
                taken,
                shortfall,
            } = effect
            {
                let position = u32::try_from(*index).unwrap_or(u32::MAX);
                self.reversals.insert_mut(
                    (height, position),
                    ReversalFigures {
                        shop: *issuer,
                        customer: *holder,
                        taken: *taken,
                        shortfall: *shortfall,
                    },
                );
            }
        }
    }

    /// What the reversal at position `index` of block `height` did, if
    /// the transaction there is a reversal (a customer's history shows it
    /// as the points lost).
    pub fn reversal(&self, height: Height, index: u32) -> Option<ReversalFigures> {
        self.reversals.get(&(height, index)).copied()
    }

    /// Changes the record of `customer` at `shop` (made if missing).
    fn visit(&mut self, customer: Address, shop: Address, change: impl FnOnce(&mut Visits)) {
        let key = (customer, shop);
        // Snapshots share the record, so changing it copies it anyway.
        let mut visits = self.visits.get(&key).cloned().unwrap_or_default();
        change(&mut visits);
        self.visits.insert_mut(key, visits);
    }

    fn tally(&self, id: CampaignId) -> CampaignTally {
        self.campaigns.get(&id).copied().unwrap_or_default()
    }

    /// Every shop that was ever a member, with its latest name.
    pub fn shops(&self) -> impl Iterator<Item = (&Address, &ShopName)> {
        self.shops.iter()
    }

    /// The name of a shop that was ever a member.
    pub fn shop_name(&self, shop: &Address) -> Option<&ShopName> {
        self.shops.get(shop)
    }

    /// A shop's running totals after the last block of local day `day`
    /// (zero before its first).
    pub fn stats_at(&self, shop: &Address, day: Day) -> ShopStats {
        self.stats
            .range((*shop, Day(0))..=(*shop, day))
            .next_back()
            .map(|(_, s)| s.clone())
            .unwrap_or_default()
    }

    /// The sales campaign `id` gave points in.
    pub fn campaign(&self, id: CampaignId) -> CampaignTally {
        self.tally(id)
    }

    /// Every customer with at least one purchase in `scope`, by address,
    /// with their purchases there merged day by day (a purchase day at two
    /// shops is one purchase day of the group).
    pub fn customers(&self, scope: Scope) -> Vec<Customer> {
        self.customers_where(|shop| scope.includes(shop))
    }

    /// Every customer with at least one purchase at one of `shops`, with
    /// their purchases there merged day by day.
    pub fn customers_at(&self, shops: &[Address]) -> Vec<Customer> {
        self.customers_where(|shop| shops.contains(shop))
    }

    fn customers_where(&self, counts: impl Fn(&Address) -> bool) -> Vec<Customer> {
        let mut out: Vec<Customer> = Vec::new();
        for ((customer, shop), visits) in self.visits.iter() {
            if !counts(shop) {
                continue;
            }
            if out.last().is_none_or(|c| c.address != *customer) {
                out.push(Customer::empty(*customer));
            }
            if let Some(entry) = out.last_mut() {
                entry.merge(visits, visits.has_purchases());
            }
        }
        out.retain(|c| c.first_day().is_some());
        out
    }

    /// The shops where `customer` made a purchase on a day from `from` to
    /// `to` (both included), whatever the scope.
    pub fn shops_visited(&self, customer: &Address, from: Day, to: Day) -> Vec<Address> {
        let low = (*customer, Address([0; 32]));
        let high = (*customer, Address([0xff; 32]));
        self.visits
            .range(low..=high)
            .filter(|(_, v)| {
                v.days.range(from..=to).next().is_some()
                    || v.folded
                        .is_some_and(|f| f.purchases > 0 && f.first <= to && f.last >= from)
            })
            .map(|((_, shop), _)| *shop)
            .collect()
    }
}

/// One customer's purchases and points in a scope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Customer {
    /// The customer's address.
    pub address: Address,
    /// Purchase days kept one by one, oldest first.
    pub days: Vec<(Day, DayPurchases)>,
    /// Older purchase days, folded into a total.
    pub folded: Option<Folded>,
    /// Points the scope's shops issued to them, less reversals.
    pub points_earned: u64,
    /// Points they redeemed at the scope's shops.
    pub points_redeemed: u64,
    /// Shops of the scope where they made a purchase.
    pub shops: u32,
}

impl Customer {
    fn empty(address: Address) -> Customer {
        Customer {
            address,
            days: Vec::new(),
            folded: None,
            points_earned: 0,
            points_redeemed: 0,
            shops: 0,
        }
    }

    fn merge(&mut self, visits: &Visits, has_purchases: bool) {
        self.points_earned = self.points_earned.saturating_add(visits.points_earned);
        self.points_redeemed = self.points_redeemed.saturating_add(visits.points_redeemed);
        if has_purchases {
            self.shops = self.shops.saturating_add(1);
        }
        if let Some(f) = visits.folded.filter(|f| f.purchases > 0) {
            self.folded = Some(self.folded.map_or(f, |mine| mine.merge(f)));
        }
        if self.days.is_empty() {
            self.days = visits.days.iter().map(|(d, p)| (*d, *p)).collect();
            return;
        }
        let mut merged: BTreeMap<Day, DayPurchases> = self.days.drain(..).collect();
        for (day, p) in &visits.days {
            merged.entry(*day).or_default().add(*p);
        }
        self.days = merged.into_iter().collect();
    }

    /// The first purchase day.
    pub fn first_day(&self) -> Option<Day> {
        match (self.folded, self.days.first()) {
            (Some(f), _) => Some(f.first),
            (None, Some((d, _))) => Some(*d),
            (None, None) => None,
        }
    }

    /// The last purchase day.
    pub fn last_day(&self) -> Option<Day> {
        match (self.days.last(), self.folded) {
            (Some((d, _)), _) => Some(*d),
            (None, Some(f)) => Some(f.last),
            (None, None) => None,
        }
    }

    /// Days with a purchase (the RFM frequency).
    pub fn purchase_days(&self) -> u32 {
        let kept = u32::try_from(self.days.len()).unwrap_or(u32::MAX);
        kept.saturating_add(self.folded.map_or(0, |f| f.days))
    }

    /// Purchases.
    pub fn purchases(&self) -> u32 {
        self.days
            .iter()
            .fold(self.folded.map_or(0, |f| f.purchases), |n, (_, p)| {
                n.saturating_add(p.purchases)
            })
    }

    /// Spend, net of refunds, in minor units.
    pub fn spend(&self) -> u64 {
        self.days
            .iter()
            .fold(self.folded.map_or(0, |f| f.spend), |n, (_, p)| {
                n.saturating_add(p.spend)
            })
    }

    /// The customer as they were at the end of `day`: only purchases up to
    /// it (folded days count if the fold began by then); `None` if they
    /// had not bought yet. Points are kept as they are now.
    pub fn up_to(&self, day: Day) -> Option<Customer> {
        let folded = self.folded.filter(|f| f.first <= day);
        let days: Vec<(Day, DayPurchases)> = self
            .days
            .iter()
            .filter(|(d, _)| *d <= day)
            .copied()
            .collect();
        let trimmed = Customer {
            days,
            folded,
            ..self.clone()
        };
        trimmed.first_day().map(|_| trimmed)
    }

    /// The purchase days from `from` to `to` (both included), and their
    /// purchases. Folded days are counted only when the whole fold lies
    /// in the range.
    pub fn between(&self, from: Day, to: Day) -> DayPurchases {
        let mut total = DayPurchases::default();
        if let Some(f) = self.folded
            && f.first >= from
            && f.last <= to
        {
            total.add(DayPurchases {
                purchases: f.purchases,
                spend: f.spend,
            });
        }
        for (_, p) in self.days.iter().filter(|(d, _)| *d >= from && *d <= to) {
            total.add(*p);
        }
        total
    }

    /// Days with a purchase from `from` to `to` (both included); folded
    /// days count only when the whole fold lies in the range.
    pub fn days_between(&self, from: Day, to: Day) -> u32 {
        let folded = self
            .folded
            .filter(|f| f.first >= from && f.last <= to)
            .map_or(0, |f| f.days);
        let kept = self
            .days
            .iter()
            .filter(|(d, _)| *d >= from && *d <= to)
            .count();
        folded.saturating_add(u32::try_from(kept).unwrap_or(u32::MAX))
    }

    /// The purchases as the models read them: one per purchase day with
    /// its spend. A fold (beyond [`MAX_DAYS_KEPT`] days) is given as its
    /// first and last day, its spend split evenly between them.
    pub fn purchase_log(&self) -> Vec<crate::Purchase<Address>> {
        let mut log = Vec::with_capacity(self.days.len() + 2);
        let purchase = |day, amount| crate::Purchase {
            customer: self.address,
            day,
            amount,
        };
        if let Some(f) = self.folded {
            if f.first == f.last {
                log.push(purchase(f.first, f.spend));
            } else {
                log.push(purchase(f.first, f.spend / 2));
                log.push(purchase(f.last, f.spend - f.spend / 2));
            }
        }
        log.extend(self.days.iter().map(|(day, p)| purchase(*day, p.spend)));
        log
    }
}

impl guild_audit::BlockObserver for History {
    fn block(&mut self, before: &State, applied: &Applied) -> Result<(), guild_audit::Discrepancy> {
        self.apply(before, applied).map_err(|e| {
            guild_audit::Discrepancy::at(
                applied.block.header().height,
                guild_audit::Rule::ReportModel,
                e.to_string(),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_days_are_folded_into_a_total_beyond_the_bound() {
        let mut v = Visits::default();
        let days = MAX_DAYS_KEPT as u64 + 5;
        for d in 0..days {
            v.add_purchase(Day(d), 100);
        }
        // Two purchases on the last day.
        v.add_purchase(Day(days - 1), 50);
        assert_eq!(v.days.len(), MAX_DAYS_KEPT);
        let folded = v.folded.unwrap();
        assert_eq!((folded.first, folded.last), (Day(0), Day(4)));
        assert_eq!((folded.days, folded.purchases, folded.spend), (5, 5, 500));
        let mut c = Customer::empty(Address([1; 32]));
        c.merge(&v, v.has_purchases());
        assert_eq!(c.first_day(), Some(Day(0)));
        assert_eq!(c.last_day(), Some(Day(days - 1)));
        assert_eq!(c.purchase_days(), days as u32);
        assert_eq!(c.purchases(), days as u32 + 1);
        assert_eq!(c.spend(), days * 100 + 50);
        // A refund of a folded day lowers the fold.
        v.refund(Day(2), 100, true);
        let folded = v.folded.unwrap();
        assert_eq!((folded.purchases, folded.spend), (4, 400));
        // Up to a day inside the kept days.
        let early = c.up_to(Day(10)).unwrap();
        assert_eq!(early.purchase_days(), 5 + 6);
        assert_eq!(c.up_to(Day(0)).unwrap().last_day(), Some(Day(4)));
    }

    #[test]
    fn a_refund_in_part_keeps_the_purchase() {
        let mut v = Visits::default();
        v.add_purchase(Day(3), 1000);
        v.add_purchase(Day(3), 200);
        v.refund(Day(3), 400, false);
        assert_eq!(
            v.days.get(&Day(3)),
            Some(&DayPurchases {
                purchases: 2,
                spend: 800
            })
        );
        v.refund(Day(3), 600, true);
        v.refund(Day(3), 200, true);
        assert!(v.days.is_empty() && !v.has_purchases());
    }
}
