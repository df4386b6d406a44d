//! Record access for a block being applied: every change to a record goes
//! through a `put_*` here, which logs the record's old value (so a refused
//! transaction is taken back) and marks its key touched (so the root is
//! recomputed from exactly the records a block changed), and keeps the
//! derived indexes (lot expiry, receipt lots, campaigns by shop,
//! activations) in step.

use super::model::*;
use super::transition::{Pending, Undo};
use crate::crypto::Address;
use crate::error::TxError;
use crate::programme::{Campaign, CampaignUse, CustomerRecord, ShopRules};
use crate::types::{CampaignId, Height, Points, ProposalId, ReceiptHash, Timestamp};

impl Pending {
    pub(super) fn account(&self, address: &Address) -> Account {
        self.state
            .accounts
            .get(address)
            .cloned()
            .unwrap_or_default()
    }

    pub(super) fn put_account(&mut self, address: Address, account: Account) {
        let old = self.state.accounts.get(&address).cloned();
        let shrunk: Vec<(Address, Timestamp, Points)> = old
            .as_ref()
            .map(|old| {
                old.lots
                    .iter()
                    .filter_map(|lot| {
                        let now = account
                            .lots
                            .iter()
                            .find(|l| l.issuer == lot.issuer && l.expires_at == lot.expires_at)
                            .map_or(Points::ZERO, |l| l.amount);
                        (now < lot.amount).then_some((lot.issuer, lot.expires_at, now))
                    })
                    .collect()
            })
            .unwrap_or_default();
        self.undo.push(Undo::Account(address, old));
        self.set_account(address, account);
        self.touch(StateKey::Account(address));
        for (issuer, expires_at, amount) in shrunk {
            self.clamp_receipts(address, issuer, expires_at, amount);
        }
    }

    /// Keeps the receipts of one lot within what the lot holds: after the
    /// lot of `issuer` expiring at `expires_at` held by `holder` shrank to
    /// `amount`, the receipts' remaining points are lowered, oldest receipt
    /// first, until they sum to at most `amount` (points received from
    /// others in the same lot are thereby spent first).
    pub(super) fn clamp_receipts(
        &mut self,
        holder: Address,
        issuer: Address,
        expires_at: Timestamp,
        amount: Points,
    ) {
        let from = (
            holder,
            issuer,
            expires_at,
            Height(0),
            ReceiptHash(crate::hash::Hash::ZERO),
        );
        let to = (
            holder,
            issuer,
            expires_at,
            Height(u64::MAX),
            ReceiptHash(crate::hash::Hash([0xff; 32])),
        );
        let receipts: Vec<ReceiptHash> = self
            .state
            .receipt_lots
            .range(from..=to)
            .map(|(_, _, _, _, r)| *r)
            .collect();
        let mut records: Vec<(ReceiptHash, EarnRecord)> = receipts
            .into_iter()
            .filter_map(|r| {
                self.state
                    .receipts
                    .get(&(issuer, r))
                    .map(|rec| (r, rec.clone()))
            })
            .collect();
        let held: u64 = records.iter().map(|(_, r)| r.remaining.0).sum();
        let mut excess = held.saturating_sub(amount.0);
        for (receipt, record) in records.iter_mut() {
            if excess == 0 {
                break;
            }
            let cut = record.remaining.0.min(excess);
            record.remaining = Points(record.remaining.0 - cut);
            excess -= cut;
            self.put_receipt(issuer, *receipt, record.clone());
        }
    }

    /// Stores `account` (removing it if empty) and keeps the expiry index
    /// in step: only lots that appear or disappear change the index.
    pub(super) fn set_account(&mut self, address: Address, account: Account) {
        let index = |lot: &Lot| (lot.expires_at, address, lot.issuer);
        let held = |lots: &[Lot], key| lots.iter().any(|lot| index(lot) == key);
        let old: &[Lot] = match self.state.accounts.get(&address) {
            Some(old) => &old.lots,
            None => &[],
        };
        for lot in old {
            if !held(&account.lots, index(lot)) {
                self.state.expiry.remove_mut(&index(lot));
            }
        }
        for lot in &account.lots {
            if !held(old, index(lot)) {
                self.state.expiry.insert_mut(index(lot));
            }
        }
        if account.is_empty() {
            self.state.accounts.remove_mut(&address);
        } else {
            self.state.accounts.insert_mut(address, account);
        }
    }

    /// Checks that `address` can hold points ([`Address::check_usable`]).
    /// Accounts are only ever created by `earn` and `transfer`, which make
    /// this check, so an address that already has an account passed it
    /// and only new recipients pay for the curve arithmetic.
    pub(super) fn check_recipient(&self, address: &Address) -> Result<(), TxError> {
        if !self.state.accounts.contains_key(address) {
            address.check_usable()?;
        }
        Ok(())
    }

    pub(super) fn member(
        &self,
        address: &Address,
        action: &'static str,
    ) -> Result<Member, TxError> {
        self.state
            .members
            .get(address)
            .cloned()
            .ok_or(TxError::NotAMember {
                address: *address,
                action,
            })
    }

    pub(super) fn put_member(&mut self, member: Member) {
        let address = member.address;
        let old = self.state.members.get(&address).cloned();
        self.undo.push(Undo::Member(address, old));
        self.state.members.insert_mut(address, member);
        self.touch(StateKey::Member(address));
    }

    pub(super) fn update_stats(
        &mut self,
        shop: &Address,
        change: impl FnOnce(&mut ShopStats) -> Option<()>,
    ) -> Result<(), TxError> {
        if let Some(mut member) = self.state.members.get(shop).cloned() {
            change(&mut member.stats).ok_or(TxError::Overflow)?;
            self.put_member(member);
        }
        Ok(())
    }

    pub(super) fn update_supply(
        &mut self,
        change: impl FnOnce(&mut Supply) -> Option<()>,
    ) -> Result<(), TxError> {
        change(&mut self.state.supply).ok_or(TxError::Overflow)?;
        self.touch(StateKey::Supply);
        Ok(())
    }

    pub(super) fn put_debt(&mut self, debtor: Address, creditor: Address, points: Points) {
        let old = self.state.debts.get(&(debtor, creditor)).copied();
        self.undo.push(Undo::Debt((debtor, creditor), old));
        if points.is_zero() {
            self.state.debts.remove_mut(&(debtor, creditor));
        } else {
            self.state.debts.insert_mut((debtor, creditor), points);
        }
        self.touch(StateKey::Debt { debtor, creditor });
    }

    pub(super) fn put_receipt(&mut self, shop: Address, receipt: ReceiptHash, record: EarnRecord) {
        let old = self.state.receipts.get(&(shop, receipt)).cloned();
        self.undo.push(Undo::Receipt((shop, receipt), old));
        self.set_receipt((shop, receipt), Some(record));
        self.touch(StateKey::Receipt { shop, receipt });
    }

    /// Stores (or removes) a receipt, keeping the receipt-lot index in step.
    pub(super) fn set_receipt(&mut self, key: (Address, ReceiptHash), record: Option<EarnRecord>) {
        let (shop, receipt) = key;
        let index = |r: &EarnRecord| (r.customer, shop, r.expires_at, r.height, receipt);
        if let Some(old) = self.state.receipts.get(&key) {
            let old = index(old);
            self.state.receipt_lots.remove_mut(&old);
        }
        match record {
            Some(record) => {
                if !record.remaining.is_zero() {
                    self.state.receipt_lots.insert_mut(index(&record));
                }
                self.state.receipts.insert_mut(key, record);
            }
            None => {
                self.state.receipts.remove_mut(&key);
            }
        }
    }

    pub(super) fn put_rules(&mut self, shop: Address, rules: ShopRules) {
        let old = self.state.rules.get(&shop).cloned();
        self.undo.push(Undo::Rules(shop, old));
        self.state.rules.insert_mut(shop, rules);
        self.touch(StateKey::Rules(shop));
    }

    pub(super) fn put_campaign(&mut self, campaign: Campaign) {
        let id = campaign.id;
        let old = self.state.campaigns.get(&id).cloned();
        self.undo.push(Undo::Campaign(id, old));
        self.set_campaign(id, Some(campaign));
        self.touch(StateKey::Campaign(id));
    }

    /// Stores (or removes) a campaign, keeping the shop index in step.
    pub(super) fn set_campaign(&mut self, id: CampaignId, campaign: Option<Campaign>) {
        if let Some(old) = self.state.campaigns.get(&id) {
            let shops: Vec<Address> = old.spec.funders.iter().map(|s| s.shop).collect();
            for shop in shops {
                self.state.shop_campaigns.remove_mut(&(shop, id));
            }
        }
        match campaign {
            Some(campaign) => {
                for share in &campaign.spec.funders {
                    self.state.shop_campaigns.insert_mut((share.shop, id));
                }
                self.state.campaigns.insert_mut(id, campaign);
            }
            None => {
                self.state.campaigns.remove_mut(&id);
            }
        }
    }

    pub(super) fn put_customer(&mut self, address: Address, record: CustomerRecord) {
        let old = self.state.customers.get(&address).cloned();
        self.undo.push(Undo::Customer(address, old));
        if record.is_empty() {
            self.state.customers.remove_mut(&address);
        } else {
            self.state.customers.insert_mut(address, record);
        }
        self.touch(StateKey::Customer(address));
    }

    pub(super) fn put_campaign_use(
        &mut self,
        campaign: CampaignId,
        customer: Address,
        used: CampaignUse,
    ) {
        let old = self.state.campaign_uses.get(&(campaign, customer)).copied();
        self.undo.push(Undo::CampaignUse((campaign, customer), old));
        self.state
            .campaign_uses
            .insert_mut((campaign, customer), used);
        self.touch(StateKey::CampaignUse { campaign, customer });
    }

    pub(super) fn touch_programme(&mut self) {
        self.touch(StateKey::Programme);
    }

    pub(super) fn put_proposal(&mut self, proposal: Proposal) {
        let id = proposal.id;
        let old = self.state.proposals.get(&id).cloned();
        self.undo.push(Undo::Proposal(id, old));
        self.set_proposal(id, Some(proposal));
        self.touch(StateKey::Proposal(id));
    }

    /// Stores (or removes) proposal `id`, keeping the activation index in
    /// step.
    pub(super) fn set_proposal(&mut self, id: ProposalId, proposal: Option<Proposal>) {
        if let Some(old) = self.state.proposals.get(&id)
            && let ProposalStatus::Passed { effective } = old.status
        {
            self.state.activations.remove_mut(&(effective, id));
        }
        match proposal {
            Some(proposal) => {
                if let ProposalStatus::Passed { effective } = proposal.status {
                    self.state.activations.insert_mut((effective, id));
                }
                self.state.proposals.insert_mut(id, proposal);
            }
            None => {
                self.state.proposals.remove_mut(&id);
            }
        }
    }
}
