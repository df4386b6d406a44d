//! Issuing and taking back points: the earn kinds share `issue` (lot,
//! daily cap, totals) and `check_earn`; a reversal takes back a sale's
//! points in proportion to the part refunded, from what is left of its
//! receipt.

use super::lots;
use super::model::*;
use super::transition::{Effect, Pending, proportion};
use crate::crypto::Address;
use crate::error::TxError;
use crate::types::{Cents, Memo, Points, ReceiptHash, Timestamp};

impl Pending {
    /// Issues `points` of `shop` to `customer` as a lot expiring
    /// `point_expiry_days` after today, within the shop's daily cap, and
    /// counts them in the shop's and the network's totals. Returns the
    /// lot's expiry.
    pub(super) fn issue(
        &mut self,
        shop: Address,
        customer: Address,
        points: Points,
    ) -> Result<Timestamp, TxError> {
        let day = self.time.day();
        let expires_at = Timestamp::start_of_day(
            day.saturating_add(u64::from(self.state.params.point_expiry_days))
                .saturating_add(1),
        );
        if points.is_zero() {
            return Ok(expires_at);
        }
        let mut member = self.member(&shop, "issue points")?;
        if member.issue_day != day {
            member.issue_day = day;
            member.issued_today = Points::ZERO;
        }
        let cap = self.state.params.daily_issuance_cap;
        let today = member
            .issued_today
            .checked_add(points)
            .ok_or(TxError::Overflow)?;
        if today > cap {
            return Err(TxError::DailyCapExceeded {
                cap,
                issued_today: member.issued_today,
                requested: points,
            });
        }
        member.issued_today = today;
        member.stats.issued = member
            .stats
            .issued
            .checked_add(points)
            .ok_or(TxError::Overflow)?;
        self.put_member(member);
        self.update_supply(|s| {
            s.issued = s.issued.checked_add(points)?;
            Some(())
        })?;
        let mut account = self.account(&customer);
        lots::add(
            &mut account.lots,
            Lot {
                issuer: shop,
                expires_at,
                amount: points,
            },
        )
        .ok_or(TxError::Overflow)?;
        self.put_account(customer, account);
        Ok(expires_at)
    }

    /// [`Pending::issue`] and its effect.
    pub(super) fn issue_as(
        &mut self,
        kind: EarnKind,
        shop: Address,
        customer: Address,
        points: Points,
    ) -> Result<Timestamp, TxError> {
        let expires_at = self.issue(shop, customer, points)?;
        if !points.is_zero() {
            self.effect(Effect::Issued {
                issuer: shop,
                holder: customer,
                points,
                expires_at,
                kind,
            });
        }
        Ok(expires_at)
    }

    /// The checks every earn kind makes before issuing.
    pub(super) fn check_earn(
        &self,
        shop: &Address,
        customer: &Address,
        receipt: &ReceiptHash,
        action: &'static str,
    ) -> Result<(), TxError> {
        self.member(shop, action)?;
        if customer == shop {
            return Err(TxError::SelfEarn);
        }
        self.check_recipient(customer)?;
        if self.state.receipts.contains_key(&(*shop, *receipt)) {
            return Err(TxError::DuplicateReceipt);
        }
        Ok(())
    }

    pub(super) fn grant(
        &mut self,
        shop: Address,
        customer: Address,
        points: Points,
        purchase: Option<Cents>,
        receipt: ReceiptHash,
        reason: &Memo,
    ) -> Result<(), TxError> {
        self.check_earn(&shop, &customer, &receipt, "issue points")?;
        if points.is_zero() {
            return Err(TxError::ZeroPoints);
        }
        if reason.as_str().trim().is_empty() {
            return Err(TxError::MissingReason);
        }
        let expires_at = self.issue_as(EarnKind::Grant, shop, customer, points)?;
        self.update_stats(&shop, |s| {
            s.granted = s.granted.checked_add(points)?;
            Some(())
        })?;
        self.record_earn(
            shop,
            receipt,
            EarnRecord {
                customer,
                kind: EarnKind::Grant,
                points,
                purchase,
                height: self.height,
                day: self.state.programme.locale.local(self.time).day,
                expires_at,
                remaining: points,
                campaigns: Vec::new(),
                reversal: None,
            },
        );
        Ok(())
    }

    /// Stores a new earn's record (after its points were added to the
    /// customer's lot, so the lot already holds them).
    pub(super) fn record_earn(&mut self, shop: Address, receipt: ReceiptHash, record: EarnRecord) {
        self.put_receipt(shop, receipt, record);
    }

    pub(super) fn reverse(
        &mut self,
        shop: Address,
        receipt: ReceiptHash,
        amount: Option<Cents>,
    ) -> Result<(), TxError> {
        self.member(&shop, "reverse an earn")?;
        let mut record = self
            .state
            .receipts
            .get(&(shop, receipt))
            .cloned()
            .ok_or(TxError::UnknownReceipt)?;
        if record.fully_reversed()
            && let Some(done) = record.reversal
        {
            return Err(TxError::AlreadyReversed {
                height: done.height,
            });
        }
        let before = record.reversal.unwrap_or(Reversal {
            height: self.height,
            refunded: Cents(0),
            taken: Points::ZERO,
            shortfall: Points::ZERO,
        });
        // What part of the purchase this reversal refunds, and so the points
        // due back in all: the sale's points in proportion, rounded down,
        // exactly all of them once everything is refunded.
        let (refunded, due_total) = match (record.kind, record.purchase) {
            (EarnKind::Sale, Some(total)) if total.0 > 0 => {
                let left = Cents(total.0.saturating_sub(before.refunded.0));
                let now = amount.unwrap_or(left);
                if now.0 == 0 || now > left {
                    return Err(TxError::RefundTooLarge {
                        requested: now,
                        left,
                    });
                }
                let refunded = Cents(before.refunded.0 + now.0);
                (refunded, proportion(record.points, refunded, total))
            }
            _ => {
                if amount.is_some() {
                    return Err(TxError::PartialNotASale);
                }
                (record.purchase.unwrap_or(Cents(0)), record.points)
            }
        };
        let accounted = before.taken.0.saturating_add(before.shortfall.0);
        let due = Points(due_total.0.saturating_sub(accounted));
        let taken = due.min(record.remaining);
        let shortfall = due.saturating_sub(taken);
        record.remaining = record.remaining.saturating_sub(taken);
        let refunded_before = before.refunded;
        record.reversal = Some(Reversal {
            height: self.height,
            refunded,
            taken: before.taken.checked_add(taken).ok_or(TxError::Overflow)?,
            shortfall: before
                .shortfall
                .checked_add(shortfall)
                .ok_or(TxError::Overflow)?,
        });
        let customer = record.customer;
        let (kind, day, expires_at, purchase) =
            (record.kind, record.day, record.expires_at, record.purchase);
        let campaigns = record.campaigns.clone();
        self.put_receipt(shop, receipt, record);
        let mut account = self.account(&customer);
        lots::take_from(&mut account.lots, &shop, expires_at, taken);
        self.put_account(customer, account);
        self.update_stats(&shop, |s| {
            s.reversed = s.reversed.checked_add(taken)?;
            s.reversal_shortfall = s.reversal_shortfall.checked_add(shortfall)?;
            Some(())
        })?;
        self.update_supply(|s| {
            s.reversed = s.reversed.checked_add(taken)?;
            Some(())
        })?;
        self.effect(Effect::Reversed {
            issuer: shop,
            holder: customer,
            taken,
            shortfall,
        });
        if kind == EarnKind::Sale
            && let Some(total) = purchase
        {
            self.return_campaign_costs(shop, &campaigns, refunded_before, refunded, total)?;
            let mut customer_record = self
                .state
                .customers
                .get(&customer)
                .cloned()
                .unwrap_or_default();
            customer_record.remove_earned(day, due);
            self.put_customer(customer, customer_record);
        } else if kind == EarnKind::Offer {
            // An offer is only reversed whole (one part of one): its whole
            // campaign cost, and the co-funders' debts, come back.
            self.return_campaign_costs(shop, &campaigns, Cents(0), Cents(1), Cents(1))?;
        }
        Ok(())
    }
}
