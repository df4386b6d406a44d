//! The state transition: `apply(state, block) -> state`, and the block
//! builder a proposer uses to pack transactions into a valid block.
//!
//! This file holds the block's steps and the transactions of points and
//! governance in the order they are applied; the earn kinds' issuing and
//! reversal are in `earn.rs`, the programme's transactions in
//! `programme.rs`, record access (undo log, touched keys, derived indexes)
//! in `records.rs`, the lot arithmetic in `lots.rs` and the records in
//! `model.rs`.
//!
//! A block is applied in three steps:
//! 1. **begin**: check height, parent link, time and proposer; then expire
//!    every lot whose `expires_at <= block.time` (breakage of its issuer);
//! 2. **transactions**, in order; a block with any failing transaction is
//!    invalid;
//! 3. **end**: carry out proposals that take effect at the next height, then
//!    recompute the state root from the records touched.

use super::lots;
use super::model::*;
use super::{State, key_position, value_hash};
use crate::block::{BlockHeader, VerifiedBlock, tx_root};
use crate::crypto::Address;
use crate::error::{BlockError, TxError};
use crate::params::bounds;
use crate::programme::{Campaign, CampaignUse, CustomerRecord, ShopRules};
use crate::tx::{GovernanceAction, TxBody, VerifiedTx};
use crate::types::{CampaignId, Cents, Height, Points, ProposalId, ReceiptHash, Timestamp};

/// One record written by a block: its key and new encoding (`None`: deleted).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateChange {
    /// The record's key.
    pub key: StateKey,
    /// Its new encoding, or `None` if it was removed.
    pub value: Option<Vec<u8>>,
}

/// The result of applying a block.
#[derive(Clone, Debug)]
pub struct Applied {
    /// The block (for a built block, with its header completed).
    pub block: VerifiedBlock,
    /// The state after the block.
    pub state: State,
    /// The records the block wrote, each once, sorted by key.
    pub changes: Vec<StateChange>,
    /// What each transaction did to points, in order.
    pub effects: Vec<TxEffect>,
}

/// What one transaction did to points, as the ledger applied it: what a
/// reader such as the audit's report needs beyond the records' end state
/// (who redeemed whose points where), so it never re-implements the rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// `issuer` issued points to `holder` (a new or grown lot).
    Issued {
        /// The issuing shop.
        issuer: Address,
        /// Who received them.
        holder: Address,
        /// How many.
        points: Points,
        /// When they expire.
        expires_at: Timestamp,
        /// A grant, a sale (the referrer's reward included) or a birthday.
        kind: EarnKind,
    },
    /// `holder` spent points at `shop`: the lot portions spent, soonest
    /// expiry first.
    Redeemed {
        /// Who spent them.
        holder: Address,
        /// Where.
        shop: Address,
        /// The portions spent.
        lots: Vec<Lot>,
    },
    /// A reversal by `issuer` took points back from `holder`.
    Reversed {
        /// The issuing shop.
        issuer: Address,
        /// The customer.
        holder: Address,
        /// Taken back.
        taken: Points,
        /// Due back but already spent.
        shortfall: Points,
    },
    /// Points moved between holders.
    Transferred {
        /// The sender.
        from: Address,
        /// The recipient.
        to: Address,
        /// The portions moved.
        lots: Vec<Lot>,
    },
}

/// An [`Effect`] and the position of its transaction in the block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxEffect {
    /// Index of the transaction in the block.
    pub index: usize,
    /// What it did.
    pub effect: Effect,
}

impl State {
    /// Applies a block whose signatures have been checked, on top of this
    /// state, whose last block is `parent`. Returns the new state; `self` is
    /// unchanged.
    pub fn apply_block(
        &self,
        parent: &BlockHeader,
        block: &VerifiedBlock,
    ) -> Result<Applied, BlockError> {
        let header = block.header();
        let height = header.height;
        let mut builder = BlockBuilder::new(self, parent, header.time, header.proposer)?;
        if header.height != builder.height {
            return Err(BlockError::WrongHeight {
                current: self.chain.height,
                got: header.height,
            });
        }
        if header.prev_hash != builder.prev_hash {
            return Err(BlockError::WrongParent {
                height,
                expected: builder.prev_hash,
                got: header.prev_hash,
            });
        }
        let max_txs = self.params.max_block_txs;
        if block.txs().len() > max_txs as usize {
            return Err(BlockError::TooManyTxs {
                height,
                count: block.txs().len(),
                max: max_txs,
            });
        }
        let size = block.clone().into_block().encoded_len();
        if size > self.params.max_block_bytes as usize {
            return Err(BlockError::TooLarge {
                height,
                size,
                max: self.params.max_block_bytes,
            });
        }
        let ids: Vec<_> = block.txs().iter().map(VerifiedTx::id).collect();
        let computed = tx_root(&ids);
        if computed != header.tx_root {
            return Err(BlockError::TxRootMismatch {
                height,
                header: header.tx_root,
                computed,
            });
        }
        for (index, tx) in block.txs().iter().enumerate() {
            builder
                .pending
                .apply_tx(tx)
                .map_err(|error| BlockError::Tx {
                    height,
                    index,
                    id: tx.id(),
                    error,
                })?;
        }
        let (state, changes, effects) = builder.pending.end();
        if state.root() != header.state_root {
            return Err(BlockError::StateRootMismatch {
                height,
                header: header.state_root,
                computed: state.root(),
            });
        }
        Ok(Applied {
            block: block.clone(),
            state,
            changes,
            effects,
        })
    }

    /// Checks whether `tx` could be included in the next block, at `time`,
    /// without changing anything (the mempool's admission check).
    pub fn check_tx(&self, tx: &VerifiedTx, time: Timestamp) -> Result<(), TxError> {
        let mut pending = Pending::begin(self, Height(self.chain.height.0.saturating_add(1)), time);
        pending.apply_tx(tx)
    }
}

/// Packs transactions into the next block: each accepted transaction is
/// applied at once, a refused one leaves no trace.
#[derive(Clone, Debug)]
pub struct BlockBuilder {
    pending: Pending,
    height: Height,
    prev_hash: crate::hash::Hash,
    proposer: Address,
    txs: Vec<VerifiedTx>,
    size: usize,
}

/// Encoded size of a block with no transactions.
const EMPTY_BLOCK_BYTES: usize = 8 + 32 + 8 + 32 + 32 + 32 + 8;

impl BlockBuilder {
    /// Starts the block after `parent` (the header of `state`'s last block)
    /// at `time`, proposed by `proposer`.
    pub fn new(
        state: &State,
        parent: &BlockHeader,
        time: Timestamp,
        proposer: Address,
    ) -> Result<BlockBuilder, BlockError> {
        let height = Height(state.chain.height.0.saturating_add(1));
        let chain = &state.chain;
        if parent.height != chain.height
            || parent.state_root != state.root()
            || parent.time != chain.time
            || parent.prev_hash != chain.prev_hash
        {
            return Err(BlockError::ParentMismatch { height });
        }
        if time <= state.chain.time {
            return Err(BlockError::TimeNotIncreasing {
                height,
                previous: state.chain.time,
                got: time,
            });
        }
        if state.member(&proposer).is_none() {
            return Err(BlockError::ProposerNotMember { height, proposer });
        }
        let prev_hash = parent.hash();
        let mut pending = Pending::begin(state, height, time);
        pending.state.chain.prev_hash = prev_hash;
        pending.touch(StateKey::Chain);
        Ok(BlockBuilder {
            pending,
            height,
            prev_hash,
            proposer,
            txs: Vec::new(),
            size: EMPTY_BLOCK_BYTES,
        })
    }

    /// The height of the block being built.
    pub fn height(&self) -> Height {
        self.height
    }

    /// The block's time.
    pub fn time(&self) -> Timestamp {
        self.pending.time
    }

    /// The state with the transactions accepted so far applied (its root
    /// is not recomputed until [`BlockBuilder::finish`]): what the next
    /// transaction is checked against, e.g. to compute a sale's points.
    pub fn state(&self) -> &State {
        &self.pending.state
    }

    /// Transactions accepted so far.
    pub fn len(&self) -> usize {
        self.txs.len()
    }

    /// True if no transaction was accepted yet.
    pub fn is_empty(&self) -> bool {
        self.txs.is_empty()
    }

    /// True if the block has room for `tx` under the size and count limits.
    pub fn has_room_for(&self, tx: &VerifiedTx) -> bool {
        let params = &self.pending.state.params;
        self.txs.len() < params.max_block_txs as usize
            && self.size + tx.size() <= params.max_block_bytes as usize
    }

    /// Applies `tx` and adds it to the block, or refuses it and changes
    /// nothing. The caller checks [`BlockBuilder::has_room_for`] first.
    pub fn push(&mut self, tx: VerifiedTx) -> Result<(), TxError> {
        self.pending.apply_tx(&tx)?;
        self.size += tx.size();
        self.txs.push(tx);
        Ok(())
    }

    /// Ends the block and returns it with the new state.
    pub fn finish(self) -> Applied {
        let (state, changes, effects) = self.pending.end();
        let ids: Vec<_> = self.txs.iter().map(VerifiedTx::id).collect();
        let header = BlockHeader {
            height: self.height,
            prev_hash: self.prev_hash,
            time: state.chain.time,
            proposer: self.proposer,
            tx_root: tx_root(&ids),
            state_root: state.root(),
        };
        Applied {
            block: VerifiedBlock::from_parts(header, self.txs),
            state,
            changes,
            effects,
        }
    }
}

/// A state being changed by one block, with the keys it touched.
#[derive(Clone, Debug)]
pub(super) struct Pending {
    pub(super) state: State,
    touched: Vec<StateKey>,
    /// The records the current transaction changed, as they were before
    /// it: a refused transaction is taken back from this log, so the
    /// persistent maps are not copied for every transaction just in case.
    pub(super) undo: Vec<Undo>,
    effects: Vec<TxEffect>,
    /// Transactions applied so far (the index of the next one).
    applied: usize,
    pub(super) height: Height,
    pub(super) time: Timestamp,
}

/// One record as it was before the current transaction changed it.
#[derive(Clone, Debug)]
pub(super) enum Undo {
    Account(Address, Option<Account>),
    Member(Address, Option<Member>),
    Debt((Address, Address), Option<Points>),
    Receipt((Address, ReceiptHash), Option<EarnRecord>),
    Proposal(ProposalId, Option<Proposal>),
    Rules(Address, Option<ShopRules>),
    Campaign(CampaignId, Option<Campaign>),
    Customer(Address, Option<CustomerRecord>),
    CampaignUse((CampaignId, Address), Option<CampaignUse>),
}

impl Pending {
    /// Starts block `height` at `time`: records height and time and expires
    /// due lots.
    fn begin(parent: &State, height: Height, time: Timestamp) -> Pending {
        let mut p = Pending {
            state: parent.clone(),
            touched: Vec::new(),
            undo: Vec::new(),
            effects: Vec::new(),
            applied: 0,
            height,
            time,
        };
        p.state.chain.height = height;
        p.state.chain.time = time;
        p.touch(StateKey::Chain);
        p.expire_lots();
        p
    }

    pub(super) fn touch(&mut self, key: StateKey) {
        self.touched.push(key);
    }

    /// Applies one transaction atomically: if it is refused, every record
    /// it changed is put back (the scalars a transaction can change,
    /// supply and the next proposal id, are saved whole).
    fn apply_tx(&mut self, tx: &VerifiedTx) -> Result<(), TxError> {
        let supply = self.state.supply.clone();
        let next_proposal = self.state.chain.next_proposal;
        let next_campaign = self.state.programme.next_campaign;
        let touched = self.touched.len();
        let effects = self.effects.len();
        self.undo.clear();
        let result = self.execute(tx);
        if result.is_ok() {
            self.applied += 1;
        } else {
            self.effects.truncate(effects);
            while let Some(undo) = self.undo.pop() {
                self.restore(undo);
            }
            self.state.supply = supply;
            self.state.chain.next_proposal = next_proposal;
            self.state.programme.next_campaign = next_campaign;
            self.touched.truncate(touched);
        }
        self.undo.clear();
        result
    }

    /// Puts one record back as it was (see [`Pending::apply_tx`]).
    fn restore(&mut self, undo: Undo) {
        match undo {
            Undo::Account(address, old) => self.set_account(address, old.unwrap_or_default()),
            Undo::Member(address, old) => match old {
                Some(member) => self.state.members.insert_mut(address, member),
                None => {
                    self.state.members.remove_mut(&address);
                }
            },
            Undo::Debt(key, old) => match old {
                Some(points) => self.state.debts.insert_mut(key, points),
                None => {
                    self.state.debts.remove_mut(&key);
                }
            },
            Undo::Receipt(key, old) => self.set_receipt(key, old),
            Undo::Proposal(id, old) => self.set_proposal(id, old),
            Undo::Rules(shop, old) => restore_in(&mut self.state.rules, shop, old),
            Undo::Campaign(id, old) => self.set_campaign(id, old),
            Undo::Customer(address, old) => restore_in(&mut self.state.customers, address, old),
            Undo::CampaignUse(key, old) => restore_in(&mut self.state.campaign_uses, key, old),
        }
    }

    /// Records what the current transaction did to points.
    pub(super) fn effect(&mut self, effect: Effect) {
        self.effects.push(TxEffect {
            index: self.applied,
            effect,
        });
    }

    /// Ends the block: due proposals take effect, then the root is
    /// recomputed from the touched records.
    fn end(mut self) -> (State, Vec<StateChange>, Vec<TxEffect>) {
        self.activate_proposals();
        let mut keys = std::mem::take(&mut self.touched);
        keys.sort();
        keys.dedup();
        let mut changes = Vec::with_capacity(keys.len());
        for key in keys {
            let value = self.state.encoded(&key);
            let position = key_position(&key);
            match &value {
                Some(bytes) => self.state.tree.insert(position, value_hash(bytes)),
                None => self.state.tree.remove(&position),
            }
            changes.push(StateChange { key, value });
        }
        (self.state, changes, self.effects)
    }

    // ----- begin and end of block -----------------------------------------

    /// Expires every lot with `expires_at <= time`: the points leave the
    /// holder and count as breakage of their issuer.
    fn expire_lots(&mut self) {
        let due: Vec<(Timestamp, Address, Address)> = self
            .state
            .expiry
            .iter()
            .take_while(|(expires_at, _, _)| *expires_at <= self.time)
            .copied()
            .collect();
        for (expires_at, holder, issuer) in due {
            let mut account = self.account(&holder);
            let amount = lots::remove(&mut account.lots, &issuer, expires_at);
            self.put_account(holder, account);
            // Expired amounts were issued, so these totals cannot overflow.
            let _ = self.update_stats(&issuer, |s| {
                s.expired = s.expired.checked_add(amount)?;
                Some(())
            });
            let _ = self.update_supply(|s| {
                s.expired = s.expired.checked_add(amount)?;
                Some(())
            });
        }
    }

    /// Carries out proposals due at the next height.
    fn activate_proposals(&mut self) {
        let next = Height(self.height.0.saturating_add(1));
        let due: Vec<(Height, ProposalId)> = self
            .state
            .activations
            .iter()
            .take_while(|(effective, _)| *effective <= next)
            .copied()
            .collect();
        let mut membership_changed = false;
        for (effective, id) in due {
            let Some(mut proposal) = self.state.proposals.get(&id).cloned() else {
                continue;
            };
            proposal.status = match self.carry_out(&proposal.action, effective) {
                Ok(()) => {
                    membership_changed |= matches!(
                        proposal.action,
                        GovernanceAction::AddMember { .. } | GovernanceAction::RemoveMember { .. }
                    );
                    ProposalStatus::Executed { effective }
                }
                Err(reason) => ProposalStatus::Failed { effective, reason },
            };
            self.put_proposal(proposal);
        }
        if membership_changed {
            // The quorum moved: an open proposal may now have enough
            // approvals from the remaining members. It passes as if approved
            // in the next block, the first with the new member set.
            let open: Vec<Proposal> = self
                .state
                .proposals
                .values()
                .filter(|p| p.status == ProposalStatus::Open)
                .cloned()
                .collect();
            for proposal in open {
                if self.has_quorum(&proposal) {
                    self.record_approvals(proposal, next);
                }
            }
        }
    }

    fn carry_out(
        &mut self,
        action: &GovernanceAction,
        effective: Height,
    ) -> Result<(), ActivationFailure> {
        match action {
            GovernanceAction::AddMember { name, address } => {
                if self.state.members.contains_key(address) {
                    return Err(ActivationFailure::AlreadyMember);
                }
                if self.state.member_by_name(name.as_str()).is_some() {
                    return Err(ActivationFailure::NameTaken);
                }
                if self.state.members.size() >= bounds::MAX_MEMBERS {
                    return Err(ActivationFailure::TooManyMembers);
                }
                self.put_member(Member {
                    name: name.clone(),
                    address: *address,
                    since: effective,
                    issue_day: 0,
                    issued_today: Points::ZERO,
                    stats: ShopStats::default(),
                });
                Ok(())
            }
            GovernanceAction::RemoveMember { address } => {
                let Some(member) = self.state.members.get(address) else {
                    return Err(ActivationFailure::NotAMember);
                };
                if self.state.members.size() <= 1 {
                    return Err(ActivationFailure::LastMember);
                }
                let outstanding = member.stats.outstanding();
                if !outstanding.is_zero() {
                    return Err(ActivationFailure::LiabilityOutstanding {
                        points: outstanding,
                    });
                }
                let debts: u64 = self
                    .state
                    .debts
                    .iter()
                    .filter(|((d, c), _)| d == address || c == address)
                    .map(|(_, p)| p.0)
                    .sum();
                if debts > 0 {
                    return Err(ActivationFailure::DebtsOutstanding {
                        points: Points(debts),
                    });
                }
                self.state.members.remove_mut(address);
                self.touch(StateKey::Member(*address));
                Ok(())
            }
            GovernanceAction::SetTiers { tiers } => {
                self.state.programme.tiers = tiers.clone();
                self.touch(StateKey::Programme);
                Ok(())
            }
            GovernanceAction::SetParam { change } => {
                // Checked again: another change may have passed meanwhile
                // (e.g. a smaller block limit) that makes this one invalid.
                let params = self.state.params.with(change);
                params
                    .validate()
                    .map_err(|e| ActivationFailure::InvalidParams {
                        name: e.name.to_string(),
                    })?;
                self.state.params = params;
                self.touch(StateKey::Params);
                Ok(())
            }
        }
    }

    // ----- transactions ----------------------------------------------------

    fn execute(&mut self, vtx: &VerifiedTx) -> Result<(), TxError> {
        let max = self.state.params.max_tx_bytes;
        if vtx.size() > max as usize {
            return Err(TxError::TooLarge {
                size: vtx.size(),
                max,
            });
        }
        let tx = vtx.tx();
        let author = tx.author;
        let mut account = self.account(&author);
        if tx.nonce < account.nonce {
            return Err(TxError::Replay {
                expected: account.nonce,
                got: tx.nonce,
            });
        }
        if tx.nonce > account.nonce {
            return Err(TxError::NonceGap {
                expected: account.nonce,
                got: tx.nonce,
            });
        }
        account.nonce =
            crate::types::Nonce(account.nonce.0.checked_add(1).ok_or(TxError::Overflow)?);
        self.put_account(author, account);
        match &tx.body {
            TxBody::Earn {
                customer,
                points,
                purchase,
                receipt,
                reason,
            } => self.grant(author, *customer, *points, *purchase, *receipt, reason),
            TxBody::Reverse { receipt, amount } => self.reverse(author, *receipt, *amount),
            TxBody::Transfer { to, points, .. } => self.transfer(author, *to, *points),
            TxBody::Redeem { shop, points } => self.redeem(author, *shop, *points),
            TxBody::Settle { debtor, points } => self.settle(author, *debtor, *points),
            TxBody::Propose { action } => self.propose(author, action),
            TxBody::Approve { proposal } => self.approve(author, *proposal),
            TxBody::Sale {
                customer,
                receipt,
                basket,
                claim,
            } => self.sale(author, *customer, *receipt, basket, claim),
            TxBody::Birthday {
                customer,
                receipt,
                points,
            } => self.birthday(author, *customer, *receipt, *points),
            TxBody::Refer { referrer } => self.refer(author, *referrer),
            TxBody::SetEarnRule { rule, effective } => self.set_earn_rule(author, rule, *effective),
            TxBody::PublishCampaign { campaign } => self.publish_campaign(author, campaign),
            TxBody::ApproveCampaign { campaign } => self.approve_campaign(author, *campaign),
            TxBody::StopCampaign { campaign } => self.stop_campaign(author, *campaign),
            TxBody::Offer {
                campaign,
                customer,
                receipt,
            } => self.offer(author, *campaign, *customer, *receipt),
        }
    }

    /// Removes `points` from `holder`, soonest expiry first.
    fn spend(&mut self, holder: Address, points: Points) -> Result<Vec<Lot>, TxError> {
        if points.is_zero() {
            return Err(TxError::ZeroPoints);
        }
        let mut account = self.account(&holder);
        let available = account.balance();
        if available < points {
            return Err(TxError::InsufficientPoints {
                available,
                requested: points,
            });
        }
        let taken = lots::take_soonest(&mut account.lots, points);
        self.put_account(holder, account);
        Ok(taken)
    }

    fn transfer(&mut self, from: Address, to: Address, points: Points) -> Result<(), TxError> {
        if to == from {
            return Err(TxError::SelfTransfer);
        }
        self.check_recipient(&to)?;
        let moved = self.spend(from, points)?;
        let mut account = self.account(&to);
        for lot in &moved {
            lots::add(&mut account.lots, *lot).ok_or(TxError::Overflow)?;
        }
        self.put_account(to, account);
        self.effect(Effect::Transferred {
            from,
            to,
            lots: moved,
        });
        Ok(())
    }

    fn redeem(&mut self, holder: Address, shop: Address, points: Points) -> Result<(), TxError> {
        if self.state.members.get(&shop).is_none() {
            return Err(TxError::UnknownShop { address: shop });
        }
        if holder == shop {
            return Err(TxError::SelfRedeem);
        }
        let spent = self.spend(holder, points)?;
        self.effect(Effect::Redeemed {
            holder,
            shop,
            lots: spent.clone(),
        });
        self.update_stats(&shop, |s| {
            s.redeemed_here = s.redeemed_here.checked_add(points)?;
            Some(())
        })?;
        self.update_supply(|s| {
            s.redeemed = s.redeemed.checked_add(points)?;
            Some(())
        })?;
        for lot in spent {
            self.update_stats(&lot.issuer, |s| {
                s.redeemed_issued = s.redeemed_issued.checked_add(lot.amount)?;
                Some(())
            })?;
            if lot.issuer != shop {
                let owed = self
                    .state
                    .debt(&lot.issuer, &shop)
                    .checked_add(lot.amount)
                    .ok_or(TxError::Overflow)?;
                self.put_debt(lot.issuer, shop, owed);
            }
        }
        Ok(())
    }

    fn settle(
        &mut self,
        creditor: Address,
        debtor: Address,
        points: Points,
    ) -> Result<(), TxError> {
        self.member(&creditor, "settle debts")?;
        if points.is_zero() {
            return Err(TxError::ZeroPoints);
        }
        if debtor == creditor {
            return Err(TxError::SelfSettle);
        }
        let owed = self.state.debt(&debtor, &creditor);
        let left = owed.checked_sub(points).ok_or(TxError::SettleExceedsDebt {
            debtor,
            owed,
            requested: points,
        })?;
        self.put_debt(debtor, creditor, left);
        Ok(())
    }

    fn propose(&mut self, proposer: Address, action: &GovernanceAction) -> Result<(), TxError> {
        self.member(&proposer, "make proposals")?;
        match action {
            GovernanceAction::AddMember { name, address } => {
                address.check_usable()?;
                if self.state.members.contains_key(address) {
                    return Err(TxError::AlreadyMember { address: *address });
                }
                if self.state.member_by_name(name.as_str()).is_some() {
                    return Err(TxError::NameTaken { name: name.clone() });
                }
                if self.state.members.size() >= bounds::MAX_MEMBERS {
                    return Err(TxError::TooManyMembers {
                        max: bounds::MAX_MEMBERS,
                    });
                }
            }
            GovernanceAction::RemoveMember { address } => {
                if !self.state.members.contains_key(address) {
                    return Err(TxError::UnknownShop { address: *address });
                }
                if self.state.members.size() <= 1 {
                    return Err(TxError::LastMember);
                }
            }
            GovernanceAction::SetParam { change } => {
                self.state.params.with(change).validate()?;
            }
            GovernanceAction::SetTiers { tiers } => tiers.validate()?,
        }
        let id = self.state.chain.next_proposal;
        self.state.chain.next_proposal = ProposalId(id.0.checked_add(1).ok_or(TxError::Overflow)?);
        self.touch(StateKey::Chain);
        let proposal = Proposal {
            id,
            proposer,
            action: action.clone(),
            created: self.height,
            approvals: vec![proposer],
            status: ProposalStatus::Open,
        };
        self.record_approvals(proposal, self.height);
        Ok(())
    }

    fn approve(&mut self, member: Address, id: ProposalId) -> Result<(), TxError> {
        self.member(&member, "approve proposals")?;
        let mut proposal = self
            .state
            .proposals
            .get(&id)
            .cloned()
            .ok_or(TxError::UnknownProposal { id })?;
        if proposal.status != ProposalStatus::Open {
            return Err(TxError::ProposalClosed { id });
        }
        match proposal.approvals.binary_search(&member) {
            Ok(_) => return Err(TxError::AlreadyApproved { id }),
            Err(i) => proposal.approvals.insert(i, member),
        }
        self.record_approvals(proposal, self.height);
        Ok(())
    }

    /// True if more than 2/3 of the current members approve `proposal`.
    fn has_quorum(&self, proposal: &Proposal) -> bool {
        let approving = proposal
            .approvals
            .iter()
            .filter(|a| self.state.members.contains_key(a))
            .count();
        approving >= crate::block::quorum(self.state.members.size())
    }

    /// Stores a proposal, marking it passed once more than 2/3 of current
    /// members have approved it.
    fn record_approvals(&mut self, mut proposal: Proposal, passed_at: Height) {
        if self.has_quorum(&proposal) {
            let delay = self.state.params.governance_delay;
            proposal.status = ProposalStatus::Passed {
                effective: Height(passed_at.0.saturating_add(delay)),
            };
        }
        self.put_proposal(proposal);
    }
}

/// `points × part / whole`, rounded down (all of `points` when `part` is
/// the whole).
pub(super) fn proportion(points: Points, part: Cents, whole: Cents) -> Points {
    if whole.0 == 0 || part >= whole {
        return points;
    }
    Points((u128::from(points.0) * u128::from(part.0) / u128::from(whole.0)) as u64)
}

/// Puts a map entry back as it was.
pub(super) fn restore_in<K: Ord + Clone, V: Clone>(
    map: &mut rpds::RedBlackTreeMapSync<K, V>,
    key: K,
    old: Option<V>,
) {
    match old {
        Some(value) => map.insert_mut(key, value),
        None => {
            map.remove_mut(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::Block;
    use crate::codec;

    #[test]
    fn empty_block_size_constant_matches_the_codec() {
        let block = Block {
            header: BlockHeader {
                height: Height(1),
                prev_hash: crate::hash::Hash::ZERO,
                time: Timestamp(0),
                proposer: Address([0; 32]),
                tx_root: crate::hash::Hash::ZERO,
                state_root: crate::hash::Hash::ZERO,
            },
            txs: vec![],
        };
        assert_eq!(codec::encode(&block).len(), EMPTY_BLOCK_BYTES);
    }
}
