//! The programme's transactions: sales computed from the rules, birthday
//! and referral rewards, earn rules and campaigns. (The rules themselves,
//! pure, are in [`crate::programme`]; this file applies them to the state.)

use super::State;
use super::model::*;
use super::transition::{Pending, proportion};
use crate::crypto::Address;
use crate::error::TxError;
use crate::programme::evaluate::{
    Breakdown, CampaignCost, SaleFacts, check_claim, evaluate, offer_eligibility,
};
use crate::programme::rule::RuleError;
use crate::programme::{
    Basket, Campaign, CampaignSpec, CampaignUse, Claim, CustomerRecord, EarnRule, EarnRuleSpec,
    Reward,
};
use crate::types::{CampaignId, Cents, Height, Points, ReceiptHash, Timestamp};

/// Most campaigns a shop may fund that have not ended.
pub const MAX_OPEN_CAMPAIGNS: usize = 32;

/// Days between two birthday rewards of one customer.
pub const BIRTHDAY_INTERVAL_DAYS: u64 = 365;

impl State {
    /// The points a sale of `basket` by `shop` to `customer` gets in the
    /// block at `height` and `time`, by the rules in this state (the state
    /// before that block's transaction), line by line. The node calls this
    /// to sign a sale and to preview one; every validating node, the audit
    /// and the wallet's `explain` call it to check one.
    pub fn sale_breakdown(
        &self,
        shop: &Address,
        customer: &Address,
        basket: &Basket,
        height: Height,
        time: Timestamp,
    ) -> Result<Breakdown, TxError> {
        basket.validate()?;
        let rule = self
            .rules
            .get(shop)
            .and_then(|r| r.at(height))
            .ok_or(TxError::NoEarnRule)?;
        let locale = &self.programme.locale;
        let local = locale.local(time);
        let default_record = CustomerRecord::default();
        let record = self.customers.get(customer).unwrap_or(&default_record);
        let campaigns = self
            .campaigns_of(shop)
            .filter(|c| c.running(time) && !c.spec.is_offer())
            .map(|c| (c, self.current_use(c, customer, local.day)))
            .collect();
        let facts = SaleFacts {
            shop: *shop,
            customer: *customer,
            time,
            local,
            rule,
            tiers: &self.programme.tiers,
            record,
            campaigns,
        };
        Ok(evaluate(&facts, basket)?)
    }

    /// A customer's use of a campaign in the period of local day `today`
    /// (zero if the stored counts are of an earlier period).
    fn current_use(&self, campaign: &Campaign, customer: &Address, today: u64) -> CampaignUse {
        let start_day = self.programme.locale.local(campaign.spec.start).day;
        let period = campaign.period(start_day, today);
        match self.campaign_uses.get(&(campaign.id, *customer)) {
            Some(used) if used.period == period => *used,
            _ => CampaignUse {
                period,
                ..CampaignUse::default()
            },
        }
    }

    /// The tier a customer is in at `time`, with the points earned in the
    /// window.
    pub fn tier_of(
        &self,
        customer: &Address,
        time: Timestamp,
    ) -> (Option<&crate::programme::Tier>, Points) {
        let today = self.programme.locale.local(time).day;
        let tiers = &self.programme.tiers;
        let earned = self.customers.get(customer).map_or(Points::ZERO, |r| {
            r.earned_in_window(today, tiers.window_days)
        });
        (tiers.tier_for(earned), earned)
    }
}

impl Pending {
    pub(super) fn sale(
        &mut self,
        shop: Address,
        customer: Address,
        receipt: ReceiptHash,
        basket: &Basket,
        claim: &Claim,
    ) -> Result<(), TxError> {
        self.check_earn(&shop, &customer, &receipt, "record sales")?;
        let breakdown =
            self.state
                .sale_breakdown(&shop, &customer, basket, self.height, self.time)?;
        check_claim(&breakdown, claim)?;
        let expires_at = self.issue_as(EarnKind::Sale, shop, customer, breakdown.total)?;
        if let Some(referral) = &breakdown.referrer {
            self.check_recipient(&referral.referrer)?;
            self.issue_as(EarnKind::Sale, shop, referral.referrer, referral.points)?;
        }
        let local_day = self.state.programme.locale.local(self.time).day;
        let mut campaign_cost = Points::ZERO;
        for part in breakdown.campaigns.iter().filter(|p| !p.cost().is_zero()) {
            let cost = part.cost();
            campaign_cost = campaign_cost.checked_add(cost).ok_or(TxError::Overflow)?;
            let mut campaign = self
                .state
                .campaigns
                .get(&part.campaign)
                .cloned()
                .ok_or(TxError::UnknownCampaign { id: part.campaign })?;
            campaign.spent = campaign.spent.checked_add(cost).ok_or(TxError::Overflow)?;
            let mut used = self.state.current_use(&campaign, &customer, local_day);
            used.sales = used.sales.saturating_add(1);
            used.points = used
                .points
                .checked_add(part.points)
                .ok_or(TxError::Overflow)?;
            // Only a per-customer limit reads the counts: without one,
            // nothing is written (a sale touches fewer records).
            if campaign.spec.per_customer.is_some() {
                self.put_campaign_use(campaign.id, customer, used);
            }
            for (funder, share) in campaign.spec.split_cost(cost, &shop) {
                if funder != shop && !share.is_zero() {
                    self.add_debt(funder, shop, share)?;
                }
            }
            self.put_campaign(campaign);
        }
        self.update_stats(&shop, |s| {
            s.campaign_points = s.campaign_points.checked_add(campaign_cost)?;
            Some(())
        })?;
        let window = self.state.programme.tiers.window_days;
        let mut record = self
            .state
            .customers
            .get(&customer)
            .cloned()
            .unwrap_or_default();
        record
            .add_earned(local_day, breakdown.total, window)
            .ok_or(TxError::Overflow)?;
        record.add_shop(shop);
        if breakdown.referrer.is_some() {
            record.referral_paid = true;
        }
        self.put_customer(customer, record);
        self.record_earn(
            shop,
            receipt,
            EarnRecord {
                customer,
                kind: EarnKind::Sale,
                points: breakdown.total,
                purchase: Some(basket.amount),
                height: self.height,
                day: local_day,
                expires_at,
                remaining: breakdown.total,
                campaigns: claim.campaigns.clone(),
                reversal: None,
            },
        );
        Ok(())
    }

    pub(super) fn birthday(
        &mut self,
        shop: Address,
        customer: Address,
        receipt: ReceiptHash,
        points: Points,
    ) -> Result<(), TxError> {
        self.check_earn(&shop, &customer, &receipt, "give birthday rewards")?;
        let rule = self
            .state
            .rules
            .get(&shop)
            .and_then(|r| r.at(self.height))
            .ok_or(TxError::NoEarnRule)?;
        let reward = rule.spec.birthday;
        if reward.is_zero() {
            return Err(TxError::NoBirthdayReward);
        }
        if points != reward {
            return Err(TxError::PointsMismatch {
                rules_give: reward,
                claimed: points,
            });
        }
        let today = self.state.programme.locale.local(self.time).day;
        let mut record = self
            .state
            .customers
            .get(&customer)
            .cloned()
            .unwrap_or_default();
        if let Some(last) = record.last_birthday {
            let next = last.saturating_add(BIRTHDAY_INTERVAL_DAYS);
            if today < next {
                return Err(TxError::BirthdayTooSoon { last, next });
            }
        }
        let expires_at = self.issue_as(EarnKind::Birthday, shop, customer, points)?;
        record.last_birthday = Some(today);
        self.put_customer(customer, record);
        self.record_earn(
            shop,
            receipt,
            EarnRecord {
                customer,
                kind: EarnKind::Birthday,
                points,
                purchase: None,
                height: self.height,
                day: today,
                expires_at,
                remaining: points,
                campaigns: Vec::new(),
                reversal: None,
            },
        );
        Ok(())
    }

    pub(super) fn offer(
        &mut self,
        shop: Address,
        id: CampaignId,
        customer: Address,
        receipt: ReceiptHash,
    ) -> Result<(), TxError> {
        self.check_earn(&shop, &customer, &receipt, "give offers")?;
        let mut campaign = self
            .state
            .campaigns
            .get(&id)
            .cloned()
            .ok_or(TxError::UnknownCampaign { id })?;
        let Reward::Offer { points } = campaign.spec.reward else {
            return Err(TxError::NotAnOffer { id });
        };
        if !campaign.spec.funded_by(&shop) {
            return Err(TxError::NotAFunder { id });
        }
        if !campaign.running(self.time) {
            return Err(TxError::CampaignNotRunning { id });
        }
        let local = self.state.programme.locale.local(self.time);
        let (tier, _) = self.state.tier_of(&customer, self.time);
        let tier = tier.map(|t| t.name.clone());
        let mut used = self.state.current_use(&campaign, &customer, local.day);
        if let Some(why) =
            offer_eligibility(&campaign, &customer, &used, local, tier.as_ref(), points)
        {
            return Err(TxError::OfferNotGiven { id, why });
        }
        let expires_at = self.issue_as(EarnKind::Offer, shop, customer, points)?;
        campaign.spent = campaign
            .spent
            .checked_add(points)
            .ok_or(TxError::Overflow)?;
        if campaign.spec.per_customer.is_some() {
            used.sales = used.sales.saturating_add(1);
            used.points = used.points.checked_add(points).ok_or(TxError::Overflow)?;
            self.put_campaign_use(id, customer, used);
        }
        for (funder, share) in campaign.spec.split_cost(points, &shop) {
            if funder != shop && !share.is_zero() {
                self.add_debt(funder, shop, share)?;
            }
        }
        self.put_campaign(campaign);
        self.update_stats(&shop, |s| {
            s.campaign_points = s.campaign_points.checked_add(points)?;
            Some(())
        })?;
        self.record_earn(
            shop,
            receipt,
            EarnRecord {
                customer,
                kind: EarnKind::Offer,
                points,
                purchase: None,
                height: self.height,
                day: local.day,
                expires_at,
                remaining: points,
                campaigns: vec![CampaignCost {
                    campaign: id,
                    points,
                }],
                reversal: None,
            },
        );
        Ok(())
    }

    pub(super) fn refer(&mut self, customer: Address, referrer: Address) -> Result<(), TxError> {
        if referrer == customer {
            return Err(TxError::SelfReferral);
        }
        referrer.check_usable()?;
        let mut record = self
            .state
            .customers
            .get(&customer)
            .cloned()
            .unwrap_or_default();
        if !record.shops.is_empty() || record.referred_by.is_some() {
            return Err(TxError::ReferralTooLate);
        }
        record.referred_by = Some(referrer);
        self.put_customer(customer, record);
        Ok(())
    }

    pub(super) fn set_earn_rule(
        &mut self,
        shop: Address,
        spec: &EarnRuleSpec,
        effective: Option<Height>,
    ) -> Result<(), TxError> {
        self.member(&shop, "publish earn rules")?;
        spec.validate()?;
        let effective = effective.unwrap_or(Height(self.height.0.saturating_add(1)));
        if effective <= self.height {
            return Err(RuleError::NotInFuture {
                effective,
                current: self.height,
            }
            .into());
        }
        let rules = self.state.rules.get(&shop).cloned().unwrap_or_default();
        let version = rules
            .latest_version()
            .checked_add(1)
            .ok_or(TxError::Overflow)?;
        let rule = EarnRule {
            version,
            effective,
            spec: spec.clone(),
        };
        self.put_rules(shop, rules.publish(self.height, rule));
        Ok(())
    }

    pub(super) fn publish_campaign(
        &mut self,
        shop: Address,
        spec: &CampaignSpec,
    ) -> Result<(), TxError> {
        self.member(&shop, "publish campaigns")?;
        spec.validate(&shop, self.time)?;
        for share in &spec.funders {
            if self.state.members.get(&share.shop).is_none() {
                return Err(crate::programme::campaign::CampaignError::FunderNotMember {
                    shop: share.shop,
                }
                .into());
            }
            let open = self
                .state
                .campaigns_of(&share.shop)
                .filter(|c| c.spec.end > self.time && c.stopped.is_none())
                .count();
            if open >= MAX_OPEN_CAMPAIGNS {
                return Err(TxError::TooManyCampaigns {
                    max: MAX_OPEN_CAMPAIGNS,
                });
            }
        }
        let id = self.state.programme.next_campaign;
        self.state.programme.next_campaign =
            CampaignId(id.0.checked_add(1).ok_or(TxError::Overflow)?);
        self.touch_programme();
        self.put_campaign(Campaign {
            id,
            publisher: shop,
            spec: spec.clone(),
            approvals: vec![shop],
            spent: Points::ZERO,
            stopped: None,
        });
        Ok(())
    }

    /// The campaign `id` for a change by funder `shop`, refused if it has
    /// ended.
    fn open_campaign(&self, shop: &Address, id: CampaignId) -> Result<Campaign, TxError> {
        self.member(shop, "change campaigns")?;
        let campaign = self
            .state
            .campaigns
            .get(&id)
            .cloned()
            .ok_or(TxError::UnknownCampaign { id })?;
        if !campaign.spec.funded_by(shop) {
            return Err(TxError::NotAFunder { id });
        }
        if campaign.spec.end <= self.time || campaign.stopped.is_some() {
            return Err(TxError::CampaignEnded { id });
        }
        Ok(campaign)
    }

    pub(super) fn approve_campaign(
        &mut self,
        shop: Address,
        id: CampaignId,
    ) -> Result<(), TxError> {
        let mut campaign = self.open_campaign(&shop, id)?;
        match campaign.approvals.binary_search(&shop) {
            Ok(_) => return Err(TxError::CampaignAlreadyApproved { id }),
            Err(i) => campaign.approvals.insert(i, shop),
        }
        self.put_campaign(campaign);
        Ok(())
    }

    pub(super) fn stop_campaign(&mut self, shop: Address, id: CampaignId) -> Result<(), TxError> {
        let mut campaign = self.open_campaign(&shop, id)?;
        campaign.stopped = Some(self.time);
        self.put_campaign(campaign);
        Ok(())
    }

    /// A refund of a sale from `refunded_before` to `refunded_after` of
    /// `total` returns each campaign's cost in the same proportion to its
    /// budget, and undoes the co-funders' shares of it (a referrer's reward,
    /// never taken back, stays paid for).
    ///
    /// Each co-funder's share of the cost still standing is always
    /// `split_cost(kept)` (`kept` = the cost less what refunds returned),
    /// so a refund gives back the difference of the two splits: however a
    /// sale is refunded in parts, once all of it is refunded the co-funders'
    /// shares are returned exactly (splitting each returned part afresh
    /// would round every part down and leave them owing).
    pub(super) fn return_campaign_costs(
        &mut self,
        shop: Address,
        campaigns: &[CampaignCost],
        refunded_before: Cents,
        refunded_after: Cents,
        total: Cents,
    ) -> Result<(), TxError> {
        for cost in campaigns {
            let Some(mut campaign) = self.state.campaigns.get(&cost.campaign).cloned() else {
                continue;
            };
            // A referrer's reward went to someone else and is never taken
            // back: that part of the cost stays spent.
            let fixed = match campaign.spec.reward {
                Reward::Referral { referrer, .. } => referrer.min(cost.points),
                _ => Points::ZERO,
            };
            let returnable = cost.points.saturating_sub(fixed);
            let kept = |refunded: Cents| {
                Points(
                    fixed.0.saturating_add(
                        returnable
                            .saturating_sub(proportion(returnable, refunded, total))
                            .0,
                    ),
                )
            };
            let kept_before = kept(refunded_before);
            let kept_after = kept(refunded_after);
            let returned = kept_before.saturating_sub(kept_after);
            if returned.is_zero() {
                continue;
            }
            campaign.spent = campaign.spent.saturating_sub(returned);
            let before = campaign.spec.split_cost(kept_before, &shop);
            let after = campaign.spec.split_cost(kept_after, &shop);
            for ((funder, was), (_, now)) in before.into_iter().zip(after) {
                let back = was.saturating_sub(now);
                if funder != shop && !back.is_zero() {
                    self.add_debt(shop, funder, back)?;
                }
            }
            self.put_campaign(campaign);
        }
        Ok(())
    }

    /// Adds `points` to what `debtor` owes `creditor`, first cancelling
    /// what `creditor` owes `debtor`.
    pub(super) fn add_debt(
        &mut self,
        debtor: Address,
        creditor: Address,
        points: Points,
    ) -> Result<(), TxError> {
        let reverse = self.state.debt(&creditor, &debtor);
        let cancel = reverse.min(points);
        if !cancel.is_zero() {
            self.put_debt(creditor, debtor, reverse.saturating_sub(cancel));
        }
        let rest = points.saturating_sub(cancel);
        if !rest.is_zero() {
            let owed = self
                .state
                .debt(&debtor, &creditor)
                .checked_add(rest)
                .ok_or(TxError::Overflow)?;
            self.put_debt(debtor, creditor, owed);
        }
        Ok(())
    }
}
