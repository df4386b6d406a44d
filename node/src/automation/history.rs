//! This shop's customers as its own receipts on the ledger show them: who
//! bought here, when first and last, how much, and who holds points it
//! issued.
//!
//! Built once from the head state's receipts of the shop
//! ([`State::receipts_of`]) and kept up to date block by block: the
//! receipts a block of this shop's transactions touched are read again
//! from the state ([`ShopHistory::update`]). Every figure is exact: a
//! refund lowers what a sale counts for (a fully refunded sale is no
//! purchase), and purchases are counted per local day, as the insights
//! do.

use guild_ledger::crypto::Address;
use guild_ledger::state::{EarnKind, EarnRecord, State};
use guild_ledger::tx::{Transaction, TxBody};
use guild_ledger::types::{Cents, Height, Points, ReceiptHash};
use std::collections::{BTreeMap, HashMap};

/// One earn of this shop for a customer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Earn {
    /// Local day.
    pub day: u64,
    /// Height of its block.
    pub height: Height,
    /// Sale, grant or birthday reward.
    pub kind: EarnKind,
    /// Points it gave.
    pub points: Points,
    /// What the customer paid, less refunds (0 when none was reported).
    pub amount: Cents,
}

impl Earn {
    fn of(record: &EarnRecord) -> Earn {
        let refunded = record.reversal.map_or(Cents(0), |r| r.refunded);
        let amount = match (record.kind, record.purchase) {
            (EarnKind::Sale | EarnKind::Grant, Some(paid)) => {
                Cents(paid.0.saturating_sub(refunded.0))
            }
            _ => Cents(0),
        };
        Earn {
            day: record.day,
            height: record.height,
            kind: record.kind,
            points: record.points,
            amount,
        }
    }

    /// True if it is a purchase (a sale, or a grant reporting a purchase,
    /// not refunded in full).
    pub fn is_purchase(&self) -> bool {
        self.kind != EarnKind::Birthday && self.amount.0 > 0
    }
}

/// One customer's earns at this shop.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CustomerHistory {
    earns: BTreeMap<ReceiptHash, Earn>,
}

impl CustomerHistory {
    /// Their purchases, in no particular order.
    pub fn purchases(&self) -> impl Iterator<Item = &Earn> {
        self.earns.values().filter(|e| e.is_purchase())
    }

    /// Their first purchase here (the lowest height).
    pub fn first_purchase(&self) -> Option<Earn> {
        self.purchases().min_by_key(|e| (e.height, e.day)).copied()
    }

    /// The local day of their last purchase here.
    pub fn last_purchase_day(&self) -> Option<u64> {
        self.purchases().map(|e| e.day).max()
    }

    /// Purchase days and spend from local day `from` to `to`, both
    /// included.
    pub fn between(&self, from: u64, to: u64) -> (u32, Cents) {
        let mut days: Vec<u64> = Vec::new();
        let mut spend = 0u64;
        for earn in self.purchases().filter(|e| e.day >= from && e.day <= to) {
            days.push(earn.day);
            spend = spend.saturating_add(earn.amount.0);
        }
        days.sort_unstable();
        days.dedup();
        (u32::try_from(days.len()).unwrap_or(u32::MAX), Cents(spend))
    }
}

/// Every customer's earns at one shop.
#[derive(Clone, Debug, Default)]
pub struct ShopHistory {
    shop: Option<Address>,
    customers: HashMap<Address, CustomerHistory>,
}

impl ShopHistory {
    /// The history of `shop` in `state` (empty for a node without a shop
    /// key).
    pub fn build(state: &State, shop: Option<Address>) -> ShopHistory {
        let mut history = ShopHistory {
            shop,
            customers: HashMap::new(),
        };
        if let Some(shop) = shop {
            for (receipt, record) in state.receipts_of(&shop) {
                history.put(*receipt, record);
            }
        }
        history
    }

    fn put(&mut self, receipt: ReceiptHash, record: &EarnRecord) {
        self.customers
            .entry(record.customer)
            .or_default()
            .earns
            .insert(receipt, Earn::of(record));
    }

    /// Reads again, from `state`, the receipts the shop's transactions in
    /// `txs` touched; returns the customers they concern.
    pub fn update<'a>(
        &mut self,
        state: &State,
        txs: impl IntoIterator<Item = &'a Transaction>,
    ) -> Vec<Address> {
        let Some(shop) = self.shop else {
            return Vec::new();
        };
        let mut touched = Vec::new();
        for tx in txs.into_iter().filter(|tx| tx.author == shop) {
            let receipt = match &tx.body {
                TxBody::Sale { receipt, .. }
                | TxBody::Earn { receipt, .. }
                | TxBody::Birthday { receipt, .. }
                | TxBody::Reverse { receipt, .. } => *receipt,
                _ => continue,
            };
            if let Some(record) = state.receipt(&shop, &receipt) {
                touched.push(record.customer);
                let record = record.clone();
                self.put(receipt, &record);
            }
        }
        touched.sort();
        touched.dedup();
        touched
    }

    /// The shop.
    pub fn shop(&self) -> Option<Address> {
        self.shop
    }

    /// One customer's history (`None`: never earned here).
    pub fn customer(&self, customer: &Address) -> Option<&CustomerHistory> {
        self.customers.get(customer)
    }

    /// Every customer who earned here, sorted.
    pub fn customers(&self) -> Vec<Address> {
        let mut all: Vec<Address> = self.customers.keys().copied().collect();
        all.sort();
        all
    }

    /// How many customers earned here.
    pub fn len(&self) -> usize {
        self.customers.len()
    }

    /// True if no customer earned here.
    pub fn is_empty(&self) -> bool {
        self.customers.is_empty()
    }
}
