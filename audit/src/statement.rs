//! A shop's monthly statement: its liability, where its points went, and
//! each debt to or from another shop, with the block heights and
//! transaction ids the other shop can check on its own node.

use crate::activity::Activity;
use crate::dates::Date;
use crate::report::{PeriodInfo, ReportError, SettlementLine, ShopRef, cents};
use guild_ledger::crypto::Address;
use guild_ledger::tx::TxId;
use guild_ledger::types::{ChainId, Height, Timestamp};
use std::collections::BTreeSet;

/// Points with a shop.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ShopAmount {
    /// The other shop.
    pub shop: ShopRef,
    /// Points.
    pub points: u64,
    /// At the settlement value.
    pub cents: Option<u64>,
}

/// The debts between the statement's shop and one other shop over the
/// month. For each direction:
/// `closing = opening + redeemed − settled`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct StatementDebt {
    /// The other shop.
    pub other: ShopRef,
    /// What the other shop owed this one at the start of the month.
    pub owed_to_shop_opening: u64,
    /// The other shop's points redeemed here in the month (added to it).
    pub owed_to_shop_added: u64,
    /// Settlements of it acknowledged in the month.
    pub owed_to_shop_settled: u64,
    /// What the other shop owes this one at the end of the month.
    pub owed_to_shop_closing: u64,
    /// What this shop owed the other at the start of the month.
    pub owed_by_shop_opening: u64,
    /// This shop's points redeemed at the other in the month.
    pub owed_by_shop_added: u64,
    /// Settlements of it acknowledged in the month.
    pub owed_by_shop_settled: u64,
    /// What this shop owes the other at the end of the month.
    pub owed_by_shop_closing: u64,
    /// `owed_to_shop_closing − owed_by_shop_closing`: positive, the other
    /// shop is to pay this one.
    pub net_points: i128,
    /// At the settlement value.
    pub net_cents: Option<i128>,
}

/// A cross-shop redemption involving the statement's shop.
#[derive(Clone, Debug, serde::Serialize)]
pub struct CrossLine {
    /// Block height.
    pub height: Height,
    /// Position in the block.
    pub index: usize,
    /// The redeem transaction.
    pub id: TxId,
    /// Block time (ms).
    pub time: Timestamp,
    /// Its date in the network's local time.
    pub date: String,
    /// Who redeemed.
    pub customer: Address,
    /// Where the points were spent (the creditor).
    pub redeemed_at: ShopRef,
    /// Who issued them (the debtor).
    pub issuer: ShopRef,
    /// Points.
    pub points: u64,
}

/// A shop's statement for one month.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Statement {
    /// The network.
    pub chain_id: ChainId,
    /// Hash of its genesis header.
    pub genesis_hash: guild_ledger::hash::Hash,
    /// The whole chain was verified up to this height.
    pub verified_height: Height,
    /// The shop.
    pub shop: ShopRef,
    /// The month, `YYYY-MM`.
    pub month: String,
    /// The month on the chain.
    pub period: PeriodInfo,
    /// Cents per point at the end of the month.
    pub settlement_cents_per_point: u64,
    /// Points of its issue held by customers at the start.
    pub opening_outstanding: u64,
    /// Points it issued.
    pub issued: u64,
    /// Points of its issue taken back by its reversals.
    pub reversed: u64,
    /// Points of its issue that expired (breakage).
    pub expired: u64,
    /// Points of its issue redeemed, anywhere.
    pub redeemed_issued: u64,
    /// Points of its issue held by customers at the end.
    pub closing_outstanding: u64,
    /// The liability at the end, in cents.
    pub closing_outstanding_cents: Option<u64>,
    /// Points redeemed at it, by issuing shop (itself included).
    pub redeemed_here_by_issuer: Vec<ShopAmount>,
    /// Points of its issue redeemed at other shops, by shop.
    pub redeemed_elsewhere_by_shop: Vec<ShopAmount>,
    /// Debts with each other shop.
    pub debts: Vec<StatementDebt>,
    /// Settlements in the month it took part in.
    pub settlements: Vec<SettlementLine>,
    /// Cross-shop redemptions in the month it took part in.
    pub cross_redemptions: Vec<CrossLine>,
}

impl Activity {
    /// The statement of `shop` (a name or address; the activity's period
    /// should be the month) for `month` (`YYYY-MM`, as a label).
    pub fn statement(
        &self,
        shop: &str,
        month: &str,
        verified_height: Height,
    ) -> Result<Statement, ReportError> {
        let me = self.find_shop(shop)?;
        let rate = self.closing.params().settlement_cents_per_point.0;
        let totals = self.totals.get(&me).copied().unwrap_or_default();
        let outstanding = |state: &guild_ledger::state::State| {
            state.member(&me).map_or(0, |m| m.stats.outstanding().0)
        };
        let amount = |other: &Address, points: u64| ShopAmount {
            shop: self.shop_ref(other),
            points,
            cents: cents(points, rate),
        };
        let redeemed_here_by_issuer = self
            .flows
            .iter()
            .filter(|((_, at), p)| *at == me && **p > 0)
            .map(|((issuer, _), p)| amount(issuer, *p))
            .collect();
        let redeemed_elsewhere_by_shop = self
            .flows
            .iter()
            .filter(|((issuer, at), p)| *issuer == me && *at != me && **p > 0)
            .map(|((_, at), p)| amount(at, *p))
            .collect();

        let mut others: BTreeSet<Address> = BTreeSet::new();
        for state in [&self.opening, &self.closing] {
            for ((debtor, creditor), _) in state.debts() {
                if *debtor == me {
                    others.insert(*creditor);
                } else if *creditor == me {
                    others.insert(*debtor);
                }
            }
        }
        for (issuer, at) in self.flows.keys() {
            if *issuer == me && *at != me {
                others.insert(*at);
            } else if *at == me && *issuer != me {
                others.insert(*issuer);
            }
        }
        for s in &self.settlements {
            if s.creditor == me {
                others.insert(s.debtor);
            } else if s.debtor == me {
                others.insert(s.creditor);
            }
        }
        let flow =
            |issuer: &Address, at: &Address| self.flows.get(&(*issuer, *at)).copied().unwrap_or(0);
        let settled = |debtor: &Address, creditor: &Address| -> u64 {
            self.settlements
                .iter()
                .filter(|s| s.debtor == *debtor && s.creditor == *creditor)
                .map(|s| s.points)
                .sum()
        };
        let debts = self
            .shops_by_name()
            .iter()
            .chain(others.iter().filter(|a| !self.shops.contains_key(a)))
            .filter(|a| others.contains(a))
            .map(|other| {
                let to_closing = self.closing.debt(other, &me).0;
                let by_closing = self.closing.debt(&me, other).0;
                let net = i128::from(to_closing) - i128::from(by_closing);
                StatementDebt {
                    other: self.shop_ref(other),
                    owed_to_shop_opening: self.opening.debt(other, &me).0,
                    owed_to_shop_added: flow(other, &me),
                    owed_to_shop_settled: settled(other, &me),
                    owed_to_shop_closing: to_closing,
                    owed_by_shop_opening: self.opening.debt(&me, other).0,
                    owed_by_shop_added: flow(&me, other),
                    owed_by_shop_settled: settled(&me, other),
                    owed_by_shop_closing: by_closing,
                    net_points: net,
                    net_cents: net.checked_mul(i128::from(rate)),
                }
            })
            .collect();
        let settlements = self
            .settlements
            .iter()
            .filter(|s| s.creditor == me || s.debtor == me)
            .map(|s| self.settlement_line(s, rate))
            .collect();
        let cross_redemptions = self
            .cross
            .iter()
            .filter(|c| c.issuer == me || c.redeemed_at == me)
            .map(|c| CrossLine {
                height: c.height,
                index: c.index,
                id: c.id,
                time: c.time,
                date: Date::local(&self.locale, c.time).to_string(),
                customer: c.customer,
                redeemed_at: self.shop_ref(&c.redeemed_at),
                issuer: self.shop_ref(&c.issuer),
                points: c.points,
            })
            .collect();
        let closing = outstanding(&self.closing);
        Ok(Statement {
            chain_id: self.chain_id.clone(),
            genesis_hash: self.genesis_hash,
            verified_height,
            shop: self.shop_ref(&me),
            month: month.to_string(),
            period: self.period_info(),
            settlement_cents_per_point: rate,
            opening_outstanding: outstanding(&self.opening),
            issued: totals.issued,
            reversed: totals.reversed,
            expired: totals.expired,
            redeemed_issued: totals.redeemed_issued,
            closing_outstanding: closing,
            closing_outstanding_cents: cents(closing, rate),
            redeemed_here_by_issuer,
            redeemed_elsewhere_by_shop,
            debts,
            settlements,
            cross_redemptions,
        })
    }
}
