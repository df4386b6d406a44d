//! The accountant's monthly export and the settlement invoice between two
//! shops: the report's figures for one month, with every amount in points
//! and in money at the settlement value, laid out for bookkeeping.
//!
//! [`MonthExport`] has one [`ShopLine`] per shop (its own points: issued,
//! redeemed at it, redeemed elsewhere, reversed, expired, the liability at
//! the month's end) and one [`CounterpartyLine`] per pair of shops that had
//! dealings (what each owes the other, what was paid, the net). The month is
//! a month of the network's local dates ([`crate::Period::local_position`]),
//! so the export of every month, added up, is the report over them all
//! (tested), and each shop's line satisfies
//! `liability = opening + issued − reversed − redeemed_here_own −
//! redeemed_elsewhere_own − expired`.
//!
//! [`Invoice`] is what one shop bills another for a month: the redemptions
//! of the other's points at it, line by line, less the redemptions of its
//! own points at the other, with the settlements acknowledged and the
//! balance due; with the heights and hashes the figures come from.

use crate::activity::Activity;
use crate::report::{PeriodInfo, ReportError, SettlementLine, ShopRef, cents};
use crate::statement::{CrossLine, StatementDebt};
use guild_ledger::hash::Hash;
use guild_ledger::programme::Currency;
use guild_ledger::types::{ChainId, Height};

/// Points and what they are worth at the settlement value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Amount {
    /// Points.
    pub points: u64,
    /// In minor units of the currency (`None` on overflow).
    pub cents: Option<u64>,
}

impl Amount {
    fn new(points: u64, rate: u64) -> Amount {
        Amount {
            points,
            cents: cents(points, rate),
        }
    }
}

/// One shop's own row of the month.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ShopLine {
    /// The shop.
    pub shop: ShopRef,
    /// Its points held by customers at the start of the month.
    pub opening_liability: Amount,
    /// Points it issued.
    pub issued: Amount,
    /// Its own points redeemed at it.
    pub redeemed_here_own: Amount,
    /// Other shops' points redeemed at it (they owe it).
    pub redeemed_here_others: Amount,
    /// Its points redeemed at other shops (it owes them).
    pub redeemed_elsewhere_own: Amount,
    /// Its points taken back by its reversals.
    pub reversed: Amount,
    /// Its points that expired unspent.
    pub expired: Amount,
    /// Its points held by customers at the end of the month.
    pub liability: Amount,
}

/// What a shop and one counterparty owe each other, from the shop's side.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CounterpartyLine {
    /// The shop.
    pub shop: ShopRef,
    /// The other shop.
    pub counterparty: ShopRef,
    /// The counterparty's points redeemed at the shop this month.
    pub owed_to_shop: Amount,
    /// The shop's points redeemed at the counterparty this month.
    pub owed_by_shop: Amount,
    /// Settlements the shop acknowledged from the counterparty this month.
    pub paid_to_shop: Amount,
    /// Settlements the counterparty acknowledged from the shop this month.
    pub paid_by_shop: Amount,
    /// What the counterparty owes the shop at the end of the month.
    pub receivable: Amount,
    /// What the shop owes the counterparty at the end of the month.
    pub payable: Amount,
    /// `receivable − payable`, in points: positive, the counterparty is to
    /// pay the shop.
    pub net_points: i128,
    /// The same in minor units.
    pub net_cents: Option<i128>,
}

/// The accountant's export of one month.
#[derive(Clone, Debug, serde::Serialize)]
pub struct MonthExport {
    /// The network.
    pub chain_id: ChainId,
    /// Hash of its genesis header.
    pub genesis_hash: Hash,
    /// The whole chain was verified up to this height.
    pub verified_height: Height,
    /// The month, `YYYY-MM` (local dates).
    pub month: String,
    /// The month on the chain.
    pub period: PeriodInfo,
    /// The network's currency.
    pub currency: Currency,
    /// Minor units per point at the end of the month.
    pub settlement_cents_per_point: u64,
    /// One row per shop that was ever a member, by name.
    pub shops: Vec<ShopLine>,
    /// One row per shop and counterparty with dealings, by shop then
    /// counterparty.
    pub counterparties: Vec<CounterpartyLine>,
}

/// A settlement invoice from one shop to another for a month.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Invoice {
    /// The network.
    pub chain_id: ChainId,
    /// Hash of its genesis header.
    pub genesis_hash: Hash,
    /// The whole chain was verified up to this height.
    pub verified_height: Height,
    /// The month, `YYYY-MM` (local dates).
    pub month: String,
    /// The month on the chain: first and last block, closing hash and
    /// state root.
    pub period: PeriodInfo,
    /// The network's currency.
    pub currency: Currency,
    /// Minor units per point at the end of the month.
    pub settlement_cents_per_point: u64,
    /// The shop that bills (its customers spent the other's points there).
    pub from: ShopRef,
    /// The shop billed.
    pub to: ShopRef,
    /// Redemptions of `to`'s points at `from` this month: charged.
    pub charged: Vec<CrossLine>,
    /// Redemptions of `from`'s points at `to` this month: credited.
    pub credited: Vec<CrossLine>,
    /// Settlements between the two acknowledged this month.
    pub settlements: Vec<SettlementLine>,
    /// The debts both ways: opening, added, settled, closing, net.
    pub debt: StatementDebt,
    /// Total charged.
    pub charged_total: Amount,
    /// Total credited.
    pub credited_total: Amount,
}

impl Invoice {
    /// The balance due from `to` to `from` at the end of the month (negative:
    /// `from` owes `to`), in points and in minor units.
    pub fn balance_due(&self) -> (i128, Option<i128>) {
        (self.debt.net_points, self.debt.net_cents)
    }
}

impl Activity {
    /// The export of the month the activity covers (`month` is its label);
    /// `verified_height` is how far the chain was verified.
    pub fn export(&self, month: &str, verified_height: Height) -> MonthExport {
        let report = self.report(verified_height);
        let rate = report.settlement_cents_per_point;
        let amount = |points| Amount::new(points, rate);
        let shops = report
            .shops
            .iter()
            .map(|s| ShopLine {
                shop: s.shop.clone(),
                opening_liability: amount(s.opening_outstanding),
                issued: amount(s.issued),
                redeemed_here_own: amount(s.redeemed_at_shop),
                redeemed_here_others: amount(s.redeemed_from_others),
                redeemed_elsewhere_own: amount(s.redeemed_elsewhere),
                reversed: amount(s.reversed),
                expired: amount(s.expired),
                liability: amount(s.outstanding),
            })
            .collect();
        let mut counterparties = Vec::new();
        for shop in self.shops_by_name() {
            let Ok(statement) = self.statement(&shop.to_string(), month, verified_height) else {
                continue;
            };
            for d in statement.debts {
                counterparties.push(CounterpartyLine {
                    shop: statement.shop.clone(),
                    counterparty: d.other.clone(),
                    owed_to_shop: amount(d.owed_to_shop_added),
                    owed_by_shop: amount(d.owed_by_shop_added),
                    paid_to_shop: amount(d.owed_to_shop_settled),
                    paid_by_shop: amount(d.owed_by_shop_settled),
                    receivable: amount(d.owed_to_shop_closing),
                    payable: amount(d.owed_by_shop_closing),
                    net_points: d.net_points,
                    net_cents: d.net_cents,
                });
            }
        }
        MonthExport {
            chain_id: report.chain_id,
            genesis_hash: report.genesis_hash,
            verified_height,
            month: month.to_string(),
            period: report.period,
            currency: self.locale.currency.clone(),
            settlement_cents_per_point: rate,
            shops,
            counterparties,
        }
    }

    /// The invoice from shop `from` to shop `to` (names or addresses) for
    /// the month the activity covers.
    pub fn invoice(
        &self,
        from: &str,
        to: &str,
        month: &str,
        verified_height: Height,
    ) -> Result<Invoice, ReportError> {
        let to_address = self.find_shop(to)?;
        let statement = self.statement(from, month, verified_height)?;
        let me = statement.shop.address;
        if me == to_address {
            return Err(ReportError::SameShop {
                shop: statement.shop.name,
            });
        }
        let rate = statement.settlement_cents_per_point;
        let debt = statement
            .debts
            .iter()
            .find(|d| d.other.address == to_address)
            .cloned()
            .unwrap_or_else(|| self.no_debt(&to_address, rate));
        let charged: Vec<CrossLine> = statement
            .cross_redemptions
            .iter()
            .filter(|c| c.redeemed_at.address == me && c.issuer.address == to_address)
            .cloned()
            .collect();
        let credited: Vec<CrossLine> = statement
            .cross_redemptions
            .iter()
            .filter(|c| c.redeemed_at.address == to_address && c.issuer.address == me)
            .cloned()
            .collect();
        let total = |lines: &[CrossLine]| Amount::new(lines.iter().map(|c| c.points).sum(), rate);
        let settlements = statement
            .settlements
            .into_iter()
            .filter(|s| s.creditor.address == to_address || s.debtor.address == to_address)
            .collect();
        Ok(Invoice {
            chain_id: statement.chain_id,
            genesis_hash: statement.genesis_hash,
            verified_height,
            month: month.to_string(),
            period: statement.period,
            currency: self.locale.currency.clone(),
            settlement_cents_per_point: rate,
            from: statement.shop,
            to: self.shop_ref(&to_address),
            charged_total: total(&charged),
            credited_total: total(&credited),
            charged,
            credited,
            settlements,
            debt,
        })
    }

    /// Every pair of shops with dealings in the month or a debt at its end,
    /// each once, as `(creditor, debtor)` at the month's end (the shop owed
    /// the net first; by name).
    pub fn invoice_pairs(&self) -> Vec<(ShopRef, ShopRef)> {
        let mut pairs = Vec::new();
        let shops = self.shops_by_name();
        for (i, a) in shops.iter().enumerate() {
            for b in shops.iter().skip(i + 1) {
                let dealt = self.flows.get(&(*a, *b)).is_some_and(|p| *p > 0)
                    || self.flows.get(&(*b, *a)).is_some_and(|p| *p > 0)
                    || self.settlements.iter().any(|s| {
                        (s.creditor == *a && s.debtor == *b) || (s.creditor == *b && s.debtor == *a)
                    })
                    || [&self.opening, &self.closing]
                        .iter()
                        .any(|st| st.debt(a, b).0 > 0 || st.debt(b, a).0 > 0);
                if !dealt {
                    continue;
                }
                let a_owed = i128::from(self.closing.debt(b, a).0);
                let b_owed = i128::from(self.closing.debt(a, b).0);
                let (creditor, debtor) = if a_owed >= b_owed { (a, b) } else { (b, a) };
                pairs.push((self.shop_ref(creditor), self.shop_ref(debtor)));
            }
        }
        pairs
    }

    fn no_debt(&self, other: &guild_ledger::crypto::Address, rate: u64) -> StatementDebt {
        StatementDebt {
            other: self.shop_ref(other),
            owed_to_shop_opening: 0,
            owed_to_shop_added: 0,
            owed_to_shop_settled: 0,
            owed_to_shop_closing: 0,
            owed_by_shop_opening: 0,
            owed_by_shop_added: 0,
            owed_by_shop_settled: 0,
            owed_by_shop_closing: 0,
            net_points: 0,
            net_cents: 0i128.checked_mul(i128::from(rate)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dates::{Date, Month, Period};
    use crate::fixture::{ChainFixture, MemoryChain, example_chain};
    use crate::{VerifyOptions, verify_chain};
    use guild_ledger::crypto::Keypair;
    use guild_ledger::genesis::{Genesis, GenesisMember};
    use guild_ledger::params::Params;
    use guild_ledger::programme::{Locale, ZoneOffset};
    use guild_ledger::tx::TxBody;
    use guild_ledger::types::{Cents, Memo, Points, ReceiptHash, ShopName, Timestamp};

    fn replay(chain: ChainFixture<MemoryChain>, period: Period) -> Activity {
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

    fn month(text: &str) -> MonthExport {
        let chain = example_chain(MemoryChain::default()).unwrap();
        replay(chain, Month::parse(text).unwrap().period()).export(text, Height(8))
    }

    fn line<'a>(e: &'a MonthExport, name: &str) -> &'a ShopLine {
        e.shops.iter().find(|s| s.shop.name == name).unwrap()
    }

    fn pts(a: Amount) -> u64 {
        a.points
    }

    #[test]
    fn january_rows_match_the_worked_example() {
        let jan = month("2026-01");
        assert_eq!(jan.settlement_cents_per_point, 5);
        assert_eq!(jan.currency.code, "GBP");
        let b = line(&jan, "Bakery");
        let got = [
            b.opening_liability,
            b.issued,
            b.redeemed_here_own,
            b.redeemed_here_others,
            b.redeemed_elsewhere_own,
            b.reversed,
            b.expired,
            b.liability,
        ]
        .map(pts);
        assert_eq!(got, [0, 175, 0, 10, 120, 30, 0, 25]);
        assert_eq!(b.liability.cents, Some(125));
        assert_eq!(b.issued.cents, Some(875));
        let c = line(&jan, "Cafe");
        assert_eq!(
            [
                c.issued,
                c.redeemed_here_own,
                c.redeemed_here_others,
                c.liability
            ]
            .map(pts),
            [40, 20, 100, 20]
        );
        // Bakery and Cafe: 100 of Bakery's points spent at Cafe, 40 paid.
        let row = jan
            .counterparties
            .iter()
            .find(|r| r.shop.name == "Bakery" && r.counterparty.name == "Cafe")
            .unwrap();
        assert_eq!(
            [
                row.owed_to_shop,
                row.owed_by_shop,
                row.paid_to_shop,
                row.paid_by_shop,
                row.receivable,
                row.payable
            ]
            .map(pts),
            [0, 100, 0, 40, 0, 60]
        );
        assert_eq!((row.net_points, row.net_cents), (-60, Some(-300)));
        let mirror = jan
            .counterparties
            .iter()
            .find(|r| r.shop.name == "Cafe" && r.counterparty.name == "Bakery")
            .unwrap();
        assert_eq!(mirror.net_points, 60);
        assert_eq!(mirror.paid_to_shop, row.paid_by_shop);
        // Bakery has two counterparties, Cafe one, Bookshop one.
        assert_eq!(jan.counterparties.len(), 4);
    }

    #[test]
    fn the_months_add_up_to_the_report_and_conserve_supply() {
        let whole = {
            let chain = example_chain(MemoryChain::default()).unwrap();
            replay(chain, Period::default()).report(Height(8))
        };
        let months = [month("2026-01"), month("2026-02")];
        for s in &whole.shops {
            let name = s.shop.name.as_str();
            let sum = |f: fn(&ShopLine) -> Amount| -> u64 {
                months.iter().map(|m| f(line(m, name)).points).sum()
            };
            assert_eq!(sum(|l| l.issued), s.issued, "{name}");
            assert_eq!(sum(|l| l.redeemed_here_own), s.redeemed_at_shop, "{name}");
            assert_eq!(
                sum(|l| l.redeemed_here_others),
                s.redeemed_from_others,
                "{name}"
            );
            assert_eq!(
                sum(|l| l.redeemed_elsewhere_own),
                s.redeemed_elsewhere,
                "{name}"
            );
            assert_eq!(sum(|l| l.reversed), s.reversed, "{name}");
            assert_eq!(sum(|l| l.expired), s.expired, "{name}");
            assert_eq!(line(&months[1], name).liability.points, s.outstanding);
            assert_eq!(
                line(&months[1], name).opening_liability,
                line(&months[0], name).liability
            );
            for m in &months {
                let l = line(m, name);
                assert_eq!(
                    l.opening_liability.points + l.issued.points
                        - l.reversed.points
                        - l.redeemed_here_own.points
                        - l.redeemed_elsewhere_own.points
                        - l.expired.points,
                    l.liability.points,
                    "{name} {}",
                    m.month
                );
            }
        }
        let supply = &whole.supply;
        let liability: u64 = months[1].shops.iter().map(|l| l.liability.points).sum();
        assert_eq!(liability, supply.outstanding().0);
        let all = |f: fn(&ShopLine) -> Amount| -> u64 {
            months
                .iter()
                .flat_map(|m| m.shops.iter())
                .map(|l| f(l).points)
                .sum()
        };
        assert_eq!(all(|l| l.issued), supply.issued.0);
        assert_eq!(all(|l| l.expired), supply.expired.0);
        assert_eq!(
            all(|l| l.redeemed_here_own) + all(|l| l.redeemed_here_others),
            supply.redeemed.0
        );
    }

    #[test]
    fn invoices_bill_the_other_shops_points_and_net_the_debt() {
        let chain = example_chain(MemoryChain::default()).unwrap();
        let jan = replay(chain, Month::parse("2026-01").unwrap().period());
        let i = jan.invoice("Cafe", "bakery", "2026-01", Height(8)).unwrap();
        assert_eq!(
            (i.from.name.as_str(), i.to.name.as_str()),
            ("Cafe", "Bakery")
        );
        assert_eq!(i.charged.len(), 1);
        assert_eq!(i.charged[0].height, Height(3));
        assert_eq!(i.charged_total, Amount::new(100, 5));
        assert_eq!(i.credited_total.points, 0);
        assert_eq!(i.settlements.len(), 1);
        assert_eq!(i.balance_due(), (60, Some(300)));
        assert_eq!(i.period.closing_height, Height(6));
        assert!(matches!(
            jan.invoice("Cafe", "cafe", "2026-01", Height(8)),
            Err(ReportError::SameShop { .. })
        ));
        let pairs: Vec<(String, String)> = jan
            .invoice_pairs()
            .into_iter()
            .map(|(a, b)| (a.name, b.name))
            .collect();
        assert_eq!(
            pairs,
            vec![
                ("Bookshop".to_string(), "Bakery".to_string()),
                ("Cafe".to_string(), "Bakery".to_string())
            ]
        );
    }

    /// A network an hour east of UTC: a sale at 23:30 UTC on 31 January is
    /// on 1 February locally, and belongs to February's export.
    #[test]
    fn month_boundaries_are_local_midnight() {
        const FEB_1_UTC: u64 = 1_769_904_000_000;
        let shop = Keypair::from_secret(&[1; 32]);
        let customer = Keypair::from_secret(&[9; 32]).address();
        let genesis = Genesis {
            chain_id: guild_ledger::types::ChainId::new("paris").unwrap(),
            time: Timestamp(FEB_1_UTC - 40 * 86_400_000),
            members: vec![GenesisMember {
                name: ShopName::new("Boulangerie").unwrap(),
                address: shop.address(),
            }],
            params: Params {
                settlement_cents_per_point: Cents(2),
                ..Params::default()
            },
            programme: guild_ledger::genesis::GenesisProgramme {
                locale: Locale {
                    zone: vec![ZoneOffset {
                        from: Timestamp(0),
                        offset_minutes: 60,
                    }],
                    ..Locale::default()
                },
                ..Default::default()
            },
        };
        let build = || {
            let mut chain =
                ChainFixture::new(genesis.clone(), vec![shop.clone()], MemoryChain::default())
                    .unwrap();
            let earn = chain.sign(
                &shop,
                TxBody::Earn {
                    customer,
                    points: Points(70),
                    purchase: None,
                    receipt: ReceiptHash::new(&shop.address(), "late"),
                    reason: Memo::new("late sale").unwrap(),
                },
            );
            chain
                .block(Timestamp(FEB_1_UTC - 30 * 60_000), vec![earn])
                .unwrap();
            chain
        };
        let export =
            |m: &str| replay(build(), Month::parse(m).unwrap().period()).export(m, Height(1));
        assert_eq!(Date::of(Timestamp(FEB_1_UTC - 1)).to_string(), "2026-01-31");
        assert_eq!(line(&export("2026-01"), "Boulangerie").issued.points, 0);
        let feb = export("2026-02");
        assert_eq!(line(&feb, "Boulangerie").issued, Amount::new(70, 2));
        assert_eq!(feb.period.first_height, Some(Height(1)));
    }
}
