//! The group report: per-shop figures, cross-shop flows, settlement
//! positions and programme health, for a period (docs/audit.md explains
//! every figure).

use crate::activity::{Activity, SettlementEvent};
use crate::dates::Date;
use crate::netting::fewest_payments;
use guild_ledger::crypto::Address;
use guild_ledger::hash::Hash;
use guild_ledger::state::{State, Supply};
use guild_ledger::tx::TxId;
use guild_ledger::types::{ChainId, Height, Timestamp};
use std::collections::{BTreeMap, BTreeSet};

/// A report or statement cannot be made as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    /// No shop by that name or address was ever a member.
    #[error("no shop named or with address '{shop}' was ever a member; known shops: {known}")]
    UnknownShop {
        /// What was asked for.
        shop: String,
        /// The shops' names.
        known: String,
    },
    /// An invoice from a shop to itself.
    #[error("{shop} cannot invoice itself: --from and --to must be two different shops")]
    SameShop {
        /// The shop.
        shop: String,
    },
}

/// A shop, named.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ShopRef {
    /// Its name (its address if it was never a member).
    pub name: String,
    /// Its key.
    pub address: Address,
}

/// Where the period lies on the chain.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PeriodInfo {
    /// First date (`None`: from genesis).
    pub from: Option<String>,
    /// Last date (`None`: to the head).
    pub to: Option<String>,
    /// First block in the period.
    pub first_height: Option<Height>,
    /// Last block in the period.
    pub last_height: Option<Height>,
    /// Blocks in the period.
    pub blocks: u64,
    /// Transactions in the period.
    pub transactions: u64,
    /// Height of the state the period starts from.
    pub opening_height: Height,
    /// Height of the state the period ends with.
    pub closing_height: Height,
    /// Hash of that block (the other side checks it on its node).
    pub closing_block_hash: Hash,
    /// Its state root.
    pub closing_state_root: Hash,
}

/// One shop's figures over the period.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ShopFigures {
    /// The shop.
    pub shop: ShopRef,
    /// Still a member at the end of the period.
    pub member: bool,
    /// Points of its issue held by customers at the start.
    pub opening_outstanding: u64,
    /// Points it issued.
    pub issued: u64,
    /// Of `issued`, points granted by hand (`guild shop earn --reason`), not
    /// computed from a sale by the rules.
    pub granted: u64,
    /// Of `issued`, points its campaigns gave at its sales (their cost,
    /// before co-funders' shares).
    pub campaign_points: u64,
    /// Points of its issue taken back by its reversals.
    pub reversed: u64,
    /// Points its reversals could not take back (already spent).
    pub reversal_shortfall: u64,
    /// Points of its issue redeemed at it.
    pub redeemed_at_shop: u64,
    /// Points of its issue redeemed at other shops (it owes them).
    pub redeemed_elsewhere: u64,
    /// Points of other shops redeemed at it (they owe it).
    pub redeemed_from_others: u64,
    /// All points redeemed at it (`redeemed_at_shop + redeemed_from_others`).
    pub redeemed_here: u64,
    /// Points of its issue that expired unspent (breakage).
    pub expired: u64,
    /// Points of its issue held by customers at the end: its liability.
    /// `opening_outstanding + issued − reversed − redeemed_at_shop −
    /// redeemed_elsewhere − expired`.
    pub outstanding: u64,
    /// The liability in cents at the settlement value (`None` on overflow).
    pub outstanding_cents: Option<u64>,
}

/// Points issued by one shop and redeemed at another (or the same).
#[derive(Clone, Debug, serde::Serialize)]
pub struct Flow {
    /// The issuing shop.
    pub issuer: ShopRef,
    /// Where the points were spent.
    pub redeemed_at: ShopRef,
    /// Points.
    pub points: u64,
    /// At the settlement value.
    pub cents: Option<u64>,
}

/// An unsettled debt at the end of the period.
#[derive(Clone, Debug, serde::Serialize)]
pub struct DebtLine {
    /// The shop that owes.
    pub debtor: ShopRef,
    /// The shop owed.
    pub creditor: ShopRef,
    /// Points.
    pub points: u64,
    /// At the settlement value.
    pub cents: Option<u64>,
}

/// The net of the debts between two shops.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PairPosition {
    /// The shop that pays the net.
    pub payer: ShopRef,
    /// The shop paid.
    pub payee: ShopRef,
    /// What the payer owes the payee.
    pub payer_owes: u64,
    /// What the payee owes the payer.
    pub payee_owes: u64,
    /// `payer_owes − payee_owes`.
    pub net_points: u64,
    /// At the settlement value.
    pub net_cents: Option<u64>,
}

/// A shop's position against the whole group.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ShopPosition {
    /// The shop.
    pub shop: ShopRef,
    /// What the other shops owe it.
    pub receivable: u64,
    /// What it owes the other shops.
    pub payable: u64,
    /// `receivable − payable`: positive, it is to be paid.
    pub net_points: i128,
    /// At the settlement value.
    pub net_cents: Option<i128>,
}

/// One payment of the group's netted plan.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PaymentLine {
    /// Who pays.
    pub from: ShopRef,
    /// Who is paid.
    pub to: ShopRef,
    /// Points' worth.
    pub points: u64,
    /// In cents.
    pub cents: Option<u64>,
}

/// A settlement acknowledged on the ledger, with names.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SettlementLine {
    /// Block height.
    pub height: Height,
    /// Position in the block.
    pub index: usize,
    /// The settle transaction.
    pub id: TxId,
    /// Block time (ms).
    pub time: Timestamp,
    /// Its date in the network's local time.
    pub date: String,
    /// The shop paid (who acknowledged).
    pub creditor: ShopRef,
    /// The shop that paid.
    pub debtor: ShopRef,
    /// Points' worth.
    pub points: u64,
    /// In cents.
    pub cents: Option<u64>,
}

/// Who owes whom and how to clear it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SettlementReport {
    /// Unsettled debts at the end of the period.
    pub debts: Vec<DebtLine>,
    /// Net per pair of shops.
    pub pairs: Vec<PairPosition>,
    /// Net per shop against the group.
    pub positions: Vec<ShopPosition>,
    /// The fewest payments that clear everyone (see [`fewest_payments`]).
    pub payments: Vec<PaymentLine>,
    /// Settlements acknowledged on the ledger in the period.
    pub acknowledged: Vec<SettlementLine>,
    /// Their total, in points.
    pub acknowledged_points: u64,
}

/// Programme health, from the ledger alone.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Health {
    /// Customers who earned, redeemed, sent or received points.
    pub active_customers: u64,
    /// Customers who earned at least once.
    pub earning_customers: u64,
    /// Customers who earned at least twice.
    pub repeat_customers: u64,
    /// `repeat_customers / earning_customers`.
    pub repeat_visit_rate: Option<f64>,
    /// Points issued.
    pub points_issued: u64,
    /// Points redeemed.
    pub points_redeemed: u64,
    /// `points_redeemed / points_issued`.
    pub redemption_rate: Option<f64>,
    /// Points-weighted mean of whole UTC days from earn to redemption.
    pub average_days_to_redeem: Option<f64>,
    /// Customers who earned or redeemed at two shops or more.
    pub multi_shop_customers: u64,
    /// `multi_shop_customers / active_customers`.
    pub multi_shop_share: Option<f64>,
}

/// The group report.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Report {
    /// The network.
    pub chain_id: ChainId,
    /// Hash of its genesis header.
    pub genesis_hash: Hash,
    /// The whole chain was verified up to this height.
    pub verified_height: Height,
    /// The period.
    pub period: PeriodInfo,
    /// Cents per point at the end of the period.
    pub settlement_cents_per_point: u64,
    /// Per shop, every shop that was ever a member.
    pub shops: Vec<ShopFigures>,
    /// Points issued by one shop and redeemed at another, non-zero only.
    pub flows: Vec<Flow>,
    /// Settlement.
    pub settlement: SettlementReport,
    /// Programme health.
    pub health: Health,
    /// Network totals at the end of the period.
    pub supply: Supply,
}

/// `n / d`, rounded to 4 decimals; `None` if `d` is 0.
pub(crate) fn ratio(n: u128, d: u128) -> Option<f64> {
    (d > 0).then(|| ((n as f64 / d as f64) * 10_000.0).round() / 10_000.0)
}

pub(crate) fn cents(points: u64, rate: u64) -> Option<u64> {
    points.checked_mul(rate)
}

impl Activity {
    /// Every shop that was ever a member, by name.
    pub(crate) fn shops_by_name(&self) -> Vec<Address> {
        let mut shops: Vec<(String, Address)> =
            self.shops.iter().map(|(a, n)| (n.folded(), *a)).collect();
        shops.sort();
        shops.into_iter().map(|(_, a)| a).collect()
    }

    /// A shop, named.
    pub(crate) fn shop_ref(&self, address: &Address) -> ShopRef {
        ShopRef {
            name: self.name(address),
            address: *address,
        }
    }

    pub(crate) fn settlement_line(&self, e: &SettlementEvent, rate: u64) -> SettlementLine {
        SettlementLine {
            height: e.height,
            index: e.index,
            id: e.id,
            time: e.time,
            date: Date::local(&self.locale, e.time).to_string(),
            creditor: self.shop_ref(&e.creditor),
            debtor: self.shop_ref(&e.debtor),
            points: e.points,
            cents: cents(e.points, rate),
        }
    }

    pub(crate) fn period_info(&self) -> PeriodInfo {
        PeriodInfo {
            from: self.period.from.map(|d| d.to_string()),
            to: self.period.to.map(|d| d.to_string()),
            first_height: self.first_height,
            last_height: self.first_height.map(|_| self.closing_header.height),
            blocks: self.blocks,
            transactions: self.transactions,
            opening_height: self.opening_height,
            closing_height: self.closing_header.height,
            closing_block_hash: self.closing_header.hash(),
            closing_state_root: self.closing_header.state_root,
        }
    }

    /// The report of the period; `verified_height` is how far the chain
    /// was verified.
    pub fn report(&self, verified_height: Height) -> Report {
        let rate = self.closing.params().settlement_cents_per_point.0;
        let outstanding = |state: &State, shop: &Address| {
            state.member(shop).map_or(0, |m| m.stats.outstanding().0)
        };
        let shops = self
            .shops_by_name()
            .into_iter()
            .map(|address| {
                let address = &address;
                let totals = self.totals.get(address).copied().unwrap_or_default();
                let flows_of = |issuer: bool| -> u64 {
                    self.flows
                        .iter()
                        .filter(|((i, at), _)| {
                            i != at && if issuer { i == address } else { at == address }
                        })
                        .map(|(_, p)| *p)
                        .sum()
                };
                let at_shop = self.flows.get(&(*address, *address)).copied().unwrap_or(0);
                let closing = outstanding(&self.closing, address);
                ShopFigures {
                    shop: self.shop_ref(address),
                    member: self.closing.member(address).is_some(),
                    opening_outstanding: outstanding(&self.opening, address),
                    issued: totals.issued,
                    granted: totals.granted,
                    campaign_points: totals.campaign_points,
                    reversed: totals.reversed,
                    reversal_shortfall: totals.reversal_shortfall,
                    redeemed_at_shop: at_shop,
                    redeemed_elsewhere: flows_of(true),
                    redeemed_from_others: flows_of(false),
                    redeemed_here: totals.redeemed_here,
                    expired: totals.expired,
                    outstanding: closing,
                    outstanding_cents: cents(closing, rate),
                }
            })
            .collect();
        let flows = self
            .flows
            .iter()
            .filter(|(_, p)| **p > 0)
            .map(|((issuer, at), points)| Flow {
                issuer: self.shop_ref(issuer),
                redeemed_at: self.shop_ref(at),
                points: *points,
                cents: cents(*points, rate),
            })
            .collect();
        Report {
            chain_id: self.chain_id.clone(),
            genesis_hash: self.genesis_hash,
            verified_height,
            period: self.period_info(),
            settlement_cents_per_point: rate,
            shops,
            flows,
            settlement: self.settlement_report(rate),
            health: self.health(),
            supply: self.closing.supply().clone(),
        }
    }

    fn settlement_report(&self, rate: u64) -> SettlementReport {
        let state = &self.closing;
        let debts: Vec<DebtLine> = state
            .debts()
            .map(|((debtor, creditor), points)| DebtLine {
                debtor: self.shop_ref(debtor),
                creditor: self.shop_ref(creditor),
                points: points.0,
                cents: cents(points.0, rate),
            })
            .collect();
        let mut pair_keys = BTreeSet::new();
        for ((debtor, creditor), _) in state.debts() {
            pair_keys.insert((*debtor.min(creditor), *debtor.max(creditor)));
        }
        let pairs = pair_keys
            .into_iter()
            .filter_map(|(a, b)| {
                let a_owes = state.debt(&a, &b).0;
                let b_owes = state.debt(&b, &a).0;
                let (payer, payee, payer_owes, payee_owes) = if a_owes >= b_owes {
                    (a, b, a_owes, b_owes)
                } else {
                    (b, a, b_owes, a_owes)
                };
                let net = payer_owes - payee_owes;
                (net > 0).then(|| PairPosition {
                    payer: self.shop_ref(&payer),
                    payee: self.shop_ref(&payee),
                    payer_owes,
                    payee_owes,
                    net_points: net,
                    net_cents: cents(net, rate),
                })
            })
            .collect();
        let mut receivable: BTreeMap<Address, u64> = BTreeMap::new();
        let mut payable: BTreeMap<Address, u64> = BTreeMap::new();
        for ((debtor, creditor), points) in state.debts() {
            *payable.entry(*debtor).or_default() += points.0;
            *receivable.entry(*creditor).or_default() += points.0;
        }
        let mut net: BTreeMap<Address, i128> = BTreeMap::new();
        let positions = self
            .shops_by_name()
            .iter()
            .map(|shop| {
                let r = receivable.get(shop).copied().unwrap_or(0);
                let p = payable.get(shop).copied().unwrap_or(0);
                let n = i128::from(r) - i128::from(p);
                net.insert(*shop, n);
                ShopPosition {
                    shop: self.shop_ref(shop),
                    receivable: r,
                    payable: p,
                    net_points: n,
                    net_cents: n.checked_mul(i128::from(rate)),
                }
            })
            .collect();
        let payments = fewest_payments(&net)
            .into_iter()
            .map(|p| PaymentLine {
                from: self.shop_ref(&p.from),
                to: self.shop_ref(&p.to),
                points: p.points,
                cents: cents(p.points, rate),
            })
            .collect();
        let acknowledged: Vec<SettlementLine> = self
            .settlements
            .iter()
            .map(|e| self.settlement_line(e, rate))
            .collect();
        SettlementReport {
            debts,
            pairs,
            positions,
            payments,
            acknowledged_points: acknowledged.iter().map(|s| s.points).sum(),
            acknowledged,
        }
    }

    fn health(&self) -> Health {
        let active = self.customers.len() as u64;
        let earning = self.customers.values().filter(|c| c.earns >= 1).count() as u64;
        let repeat = self.customers.values().filter(|c| c.earns >= 2).count() as u64;
        let multi = self
            .customers
            .values()
            .filter(|c| c.shops.len() >= 2)
            .count() as u64;
        let issued: u64 = self.totals.values().map(|t| t.issued).sum();
        let redeemed: u64 = self.totals.values().map(|t| t.redeemed_here).sum();
        Health {
            active_customers: active,
            earning_customers: earning,
            repeat_customers: repeat,
            repeat_visit_rate: ratio(repeat.into(), earning.into()),
            points_issued: issued,
            points_redeemed: redeemed,
            redemption_rate: ratio(redeemed.into(), issued.into()),
            average_days_to_redeem: ratio(self.redeemed_days, self.redeemed_points.into()),
            multi_shop_customers: multi,
            multi_shop_share: ratio(multi.into(), active.into()),
        }
    }

    /// Finds a shop that was ever a member by name (ignoring case) or
    /// address.
    pub fn find_shop(&self, text: &str) -> Result<Address, ReportError> {
        let folded = text.trim().to_ascii_lowercase();
        if let Some((address, _)) = self.shops.iter().find(|(_, name)| name.folded() == folded) {
            return Ok(*address);
        }
        if let Ok(address) = text.trim().parse::<Address>()
            && self.shops.contains_key(&address)
        {
            return Ok(address);
        }
        Err(ReportError::UnknownShop {
            shop: text.to_string(),
            known: self
                .shops
                .values()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dates::{Date, Month, Period};
    use crate::fixture::{MemoryChain, example_chain};
    use crate::{Statement, VerifyOptions, verify_chain};
    use guild_ledger::crypto::Keypair;

    fn shop(n: u8) -> Address {
        Keypair::from_secret(&[n; 32]).address()
    }

    /// Replays the example chain (see `example_chain`) for `period`.
    fn activity(period: Period) -> Activity {
        let chain = example_chain(MemoryChain::default()).unwrap();
        let genesis = chain.genesis().clone();
        let mut source = chain.into_sink();
        let mut activity = Activity::new(&genesis, period).unwrap();
        verify_chain(
            &genesis,
            &mut source,
            &VerifyOptions::default(),
            &mut activity,
            &mut |_| {},
        )
        .unwrap();
        activity
    }

    fn figures(r: &Report, name: &str) -> ShopFigures {
        r.shops
            .iter()
            .find(|s| s.shop.name == name)
            .unwrap()
            .clone()
    }

    #[test]
    fn january_report_matches_hand_computed_figures() {
        let d = |t| Some(Date::parse(t).unwrap());
        let r = activity(Period::new(d("2026-01-01"), d("2026-01-31")).unwrap()).report(Height(8));
        assert_eq!(
            (
                r.period.first_height,
                r.period.last_height,
                r.period.blocks,
                r.period.transactions
            ),
            (Some(Height(1)), Some(Height(6)), 6, 11)
        );
        assert_eq!(r.settlement_cents_per_point, 5);
        // Bakery: 100 + 50 + 25 issued; b-2 reversed (30 of 50 left); its
        // points redeemed at Cafe (100) and Bookshop (20, via a transfer).
        let b = figures(&r, "Bakery");
        let got = (
            b.opening_outstanding,
            b.issued,
            b.reversed,
            b.reversal_shortfall,
            b.redeemed_at_shop,
            b.redeemed_elsewhere,
            b.redeemed_from_others,
            b.redeemed_here,
            b.expired,
            b.outstanding,
            b.outstanding_cents,
        );
        assert_eq!(got, (0, 175, 30, 20, 0, 120, 10, 10, 0, 25, Some(125)));
        let c = figures(&r, "Cafe");
        let got = (
            c.issued,
            c.redeemed_at_shop,
            c.redeemed_elsewhere,
            c.redeemed_from_others,
            c.redeemed_here,
            c.expired,
            c.outstanding,
        );
        assert_eq!(got, (40, 20, 0, 100, 120, 0, 20));
        let k = figures(&r, "Bookshop");
        let got = (
            k.issued,
            k.redeemed_at_shop,
            k.redeemed_elsewhere,
            k.redeemed_from_others,
            k.redeemed_here,
            k.expired,
            k.outstanding,
        );
        assert_eq!(got, (30, 0, 10, 20, 20, 0, 20));
        for s in &r.shops {
            assert_eq!(
                s.opening_outstanding + s.issued
                    - s.reversed
                    - s.redeemed_at_shop
                    - s.redeemed_elsewhere
                    - s.expired,
                s.outstanding,
                "{}",
                s.shop.name
            );
        }
        let flows: Vec<(&str, &str, u64)> = r
            .flows
            .iter()
            .map(|f| {
                (
                    f.issuer.name.as_str(),
                    f.redeemed_at.name.as_str(),
                    f.points,
                )
            })
            .collect();
        for expected in [
            ("Bakery", "Cafe", 100),
            ("Bakery", "Bookshop", 20),
            ("Cafe", "Cafe", 20),
            ("Bookshop", "Bakery", 10),
        ] {
            assert!(flows.contains(&expected), "{flows:?}");
        }
        assert_eq!(flows.len(), 4);

        let s = &r.settlement;
        let debts: Vec<(&str, &str, u64)> = s
            .debts
            .iter()
            .map(|d| (d.debtor.name.as_str(), d.creditor.name.as_str(), d.points))
            .collect();
        assert_eq!(debts.len(), 3);
        for expected in [
            ("Bakery", "Cafe", 60),
            ("Bakery", "Bookshop", 20),
            ("Bookshop", "Bakery", 10),
        ] {
            assert!(debts.contains(&expected), "{debts:?}");
        }
        let pairs: Vec<(&str, &str, u64, u64, u64)> = s
            .pairs
            .iter()
            .map(|p| {
                (
                    p.payer.name.as_str(),
                    p.payee.name.as_str(),
                    p.payer_owes,
                    p.payee_owes,
                    p.net_points,
                )
            })
            .collect();
        assert_eq!(pairs.len(), 2);
        assert!(pairs.contains(&("Bakery", "Cafe", 60, 0, 60)));
        assert!(pairs.contains(&("Bakery", "Bookshop", 20, 10, 10)));
        let net = |name: &str| {
            s.positions
                .iter()
                .find(|p| p.shop.name == name)
                .map(|p| (p.receivable, p.payable, p.net_points, p.net_cents))
                .unwrap()
        };
        assert_eq!(net("Bakery"), (10, 80, -70, Some(-350)));
        assert_eq!(net("Cafe"), (60, 0, 60, Some(300)));
        assert_eq!(net("Bookshop"), (20, 10, 10, Some(50)));
        let payments: Vec<(&str, &str, u64, Option<u64>)> = s
            .payments
            .iter()
            .map(|p| (p.from.name.as_str(), p.to.name.as_str(), p.points, p.cents))
            .collect();
        assert_eq!(
            payments,
            vec![
                ("Bakery", "Cafe", 60, Some(300)),
                ("Bakery", "Bookshop", 10, Some(50))
            ]
        );
        assert_eq!(s.acknowledged.len(), 1);
        let a = &s.acknowledged[0];
        assert_eq!(
            (
                a.height,
                a.index,
                a.creditor.name.as_str(),
                a.debtor.name.as_str(),
                a.points,
                a.date.as_str()
            ),
            (Height(5), 1, "Cafe", "Bakery", 40, "2026-01-15")
        );

        // Customers: 1 earned at Bakery and Cafe and redeemed at Cafe; 2
        // earned at Bakery and sent points; 3 earned at Bookshop and Bakery
        // and redeemed at Bakery; 4 only received and redeemed at Bookshop.
        let h = &r.health;
        assert_eq!(
            (
                h.active_customers,
                h.earning_customers,
                h.repeat_customers,
                h.multi_shop_customers
            ),
            (4, 3, 2, 2)
        );
        assert_eq!(h.repeat_visit_rate, Some(0.6667));
        assert_eq!(
            (h.points_issued, h.points_redeemed, h.redemption_rate),
            (245, 150, Some(0.6122))
        );
        // (100×8 + 20×5 + 20×10 + 10×7) / 150 days.
        assert_eq!(h.average_days_to_redeem, Some(7.8));
        assert_eq!(h.multi_shop_share, Some(0.5));
    }

    #[test]
    fn a_period_without_blocks_keeps_the_closing_position() {
        let d = |t| Some(Date::parse(t).unwrap());
        let r = activity(Period::new(d("2026-01-25"), d("2026-01-30")).unwrap()).report(Height(8));
        assert_eq!(
            (
                r.period.blocks,
                r.period.first_height,
                r.period.closing_height
            ),
            (0, None, Height(6))
        );
        assert!(r.flows.is_empty());
        assert_eq!(figures(&r, "Bakery").outstanding, 25);
        assert_eq!(figures(&r, "Bakery").opening_outstanding, 25);
        assert_eq!(r.settlement.debts.len(), 3);
        assert_eq!(r.health.redemption_rate, None);
    }

    #[test]
    fn statements_reconcile_both_sides_of_each_debt() {
        let jan = activity(Month::parse("2026-01").unwrap().period());
        let b = jan.statement("bakery", "2026-01", Height(8)).unwrap();
        assert_eq!(
            (
                b.opening_outstanding,
                b.issued,
                b.reversed,
                b.redeemed_issued,
                b.expired,
                b.closing_outstanding
            ),
            (0, 175, 30, 120, 0, 25)
        );
        let here: Vec<(&str, u64)> = b
            .redeemed_here_by_issuer
            .iter()
            .map(|a| (a.shop.name.as_str(), a.points))
            .collect();
        assert_eq!(here, vec![("Bookshop", 10)]);
        let mut elsewhere: Vec<(&str, u64)> = b
            .redeemed_elsewhere_by_shop
            .iter()
            .map(|a| (a.shop.name.as_str(), a.points))
            .collect();
        elsewhere.sort();
        assert_eq!(elsewhere, vec![("Bookshop", 20), ("Cafe", 100)]);
        let with = |s: &Statement, name: &str| {
            s.debts
                .iter()
                .find(|d| d.other.name == name)
                .cloned()
                .unwrap()
        };
        let bc = with(&b, "Cafe");
        assert_eq!(
            (
                bc.owed_by_shop_opening,
                bc.owed_by_shop_added,
                bc.owed_by_shop_settled,
                bc.owed_by_shop_closing,
                bc.owed_to_shop_closing,
                bc.net_points
            ),
            (0, 100, 40, 60, 0, -60)
        );
        let bk = with(&b, "Bookshop");
        assert_eq!(
            (
                bk.owed_to_shop_added,
                bk.owed_to_shop_closing,
                bk.owed_by_shop_added,
                bk.owed_by_shop_closing,
                bk.net_points
            ),
            (10, 10, 20, 20, -10)
        );
        assert_eq!(b.settlements.len(), 1);
        let cross: Vec<(u64, usize, &str, &str, u64)> = b
            .cross_redemptions
            .iter()
            .map(|c| {
                (
                    c.height.0,
                    c.index,
                    c.issuer.name.as_str(),
                    c.redeemed_at.name.as_str(),
                    c.points,
                )
            })
            .collect();
        assert_eq!(
            cross,
            vec![
                (3, 0, "Bakery", "Cafe", 100),
                (4, 0, "Bakery", "Bookshop", 20),
                (4, 1, "Bookshop", "Bakery", 10)
            ]
        );

        // Cafe's side of the same debt, the same month: mirror figures.
        let c = jan
            .statement(&shop(2).to_string(), "2026-01", Height(8))
            .unwrap();
        let cb = with(&c, "Bakery");
        assert_eq!(
            (
                cb.owed_to_shop_opening,
                cb.owed_to_shop_added,
                cb.owed_to_shop_settled,
                cb.owed_to_shop_closing
            ),
            (
                bc.owed_by_shop_opening,
                bc.owed_by_shop_added,
                bc.owed_by_shop_settled,
                bc.owed_by_shop_closing
            )
        );
        assert_eq!(c.settlements[0].id, b.settlements[0].id);

        // February for Cafe: its Jan 5 points expire, Bakery's are redeemed
        // at it.
        let feb = activity(Month::parse("2026-02").unwrap().period());
        let c = feb.statement("Cafe", "2026-02", Height(8)).unwrap();
        assert_eq!(
            (
                c.period.first_height,
                c.period.last_height,
                c.period.opening_height
            ),
            (Some(Height(7)), Some(Height(8)), Height(6))
        );
        assert_eq!(
            (
                c.opening_outstanding,
                c.issued,
                c.expired,
                c.closing_outstanding
            ),
            (20, 0, 20, 0)
        );
        assert_eq!(c.debts.len(), 1);
        let cb = with(&c, "Bakery");
        assert_eq!(
            (
                cb.owed_to_shop_opening,
                cb.owed_to_shop_added,
                cb.owed_to_shop_settled,
                cb.owed_to_shop_closing,
                cb.net_points,
                cb.net_cents
            ),
            (60, 25, 0, 85, 85, Some(425))
        );
        assert!(c.settlements.is_empty());
        assert_eq!(c.cross_redemptions.len(), 1);
        assert_eq!(
            c.cross_redemptions[0].customer,
            Keypair::from_secret(&[103; 32]).address()
        );

        assert!(matches!(
            feb.statement("Butcher", "2026-02", Height(8)),
            Err(ReportError::UnknownShop { .. })
        ));
    }
}
