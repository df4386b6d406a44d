//! The ledger state: accounts, members, debts, receipts, proposals, totals
//! and parameters, committed to by one Merkle root.
//!
//! Every record lives under a [`StateKey`]; the state root is the root of a
//! [`MerkleTree`] holding, for each record,
//! `tagged_hash("guild/state-key/v1", encode(key))` →
//! `tagged_hash("guild/state-value/v1", encode(record))`.
//!
//! All maps are persistent (structure-sharing), so cloning a `State` is O(1)
//! and applying a block yields a new state while the old one stays valid.

mod earn;
pub mod lots;
mod model;
mod programme;
mod records;
mod replay;
mod transition;

pub use model::*;
pub use programme::{BIRTHDAY_INTERVAL_DAYS, MAX_OPEN_CAMPAIGNS};
pub use replay::ReplayError;
pub use transition::{Applied, BlockBuilder, Effect, StateChange, TxEffect};

use crate::codec::{self, CodecError};
use crate::crypto::Address;
use crate::hash::{Hash, domain, tagged_hash};
use crate::merkle::{MerkleProof, MerkleTree, ProofError};
use crate::params::Params;
use crate::programme::{Campaign, CampaignUse, CustomerRecord, Programme, ShopRules};
use crate::types::{CampaignId, Height, ProposalId, ReceiptHash, Timestamp};
use rpds::{RedBlackTreeMapSync, RedBlackTreeSetSync};
use std::collections::BTreeSet;

/// The position of a key in the state tree.
pub fn key_position(key: &StateKey) -> Hash {
    tagged_hash(domain::STATE_KEY, &[&codec::encode(key)])
}

/// The committed hash of an encoded record.
pub fn value_hash(encoded: &[u8]) -> Hash {
    tagged_hash(domain::STATE_VALUE, &[encoded])
}

/// The whole ledger state at one height.
#[derive(Clone, Debug)]
pub struct State {
    pub(crate) chain: ChainInfo,
    pub(crate) params: Params,
    pub(crate) supply: Supply,
    pub(crate) members: RedBlackTreeMapSync<Address, Member>,
    pub(crate) accounts: RedBlackTreeMapSync<Address, Account>,
    pub(crate) debts: RedBlackTreeMapSync<(Address, Address), crate::types::Points>,
    pub(crate) receipts: RedBlackTreeMapSync<(Address, ReceiptHash), EarnRecord>,
    pub(crate) proposals: RedBlackTreeMapSync<ProposalId, Proposal>,
    pub(crate) programme: Programme,
    pub(crate) rules: RedBlackTreeMapSync<Address, ShopRules>,
    pub(crate) campaigns: RedBlackTreeMapSync<CampaignId, Campaign>,
    pub(crate) customers: RedBlackTreeMapSync<Address, CustomerRecord>,
    pub(crate) campaign_uses: RedBlackTreeMapSync<(CampaignId, Address), CampaignUse>,
    /// Derived index (not committed): receipts with points remaining, by
    /// the lot holding them: `(holder, issuer, expires_at, height,
    /// receipt)`, so spending from a lot lowers its receipts oldest first.
    pub(crate) receipt_lots:
        RedBlackTreeSetSync<(Address, Address, Timestamp, Height, ReceiptHash)>,
    /// Derived index (not committed): every campaign by each funding shop.
    pub(crate) shop_campaigns: RedBlackTreeSetSync<(Address, CampaignId)>,
    /// Derived index (not committed): every lot by `(expires_at, holder,
    /// issuer)`, so expiry touches only the lots that expire.
    pub(crate) expiry: RedBlackTreeSetSync<(Timestamp, Address, Address)>,
    /// Derived index (not committed): passed proposals by the height they
    /// take effect.
    pub(crate) activations: RedBlackTreeSetSync<(Height, ProposalId)>,
    pub(crate) tree: MerkleTree,
}

impl State {
    /// Where the chain stands.
    pub fn chain(&self) -> &ChainInfo {
        &self.chain
    }

    /// The parameters in force.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Network-wide totals.
    pub fn supply(&self) -> &Supply {
        &self.supply
    }

    /// The state root.
    pub fn root(&self) -> Hash {
        self.tree.root()
    }

    /// A member shop, if `address` is one.
    pub fn member(&self, address: &Address) -> Option<&Member> {
        self.members.get(address)
    }

    /// All member shops, by address.
    pub fn members(&self) -> impl Iterator<Item = &Member> {
        self.members.values()
    }

    /// The member keys: the set that must certify the next block.
    pub fn member_set(&self) -> BTreeSet<Address> {
        self.members.keys().copied().collect()
    }

    /// The member with this name (ignoring case), if any.
    pub fn member_by_name(&self, name: &str) -> Option<&Member> {
        let folded = name.trim_matches(' ').to_ascii_lowercase();
        self.members.values().find(|m| m.name.folded() == folded)
    }

    /// An account, or `None` if it never held points nor signed.
    pub fn account(&self, address: &Address) -> Option<&Account> {
        self.accounts.get(address)
    }

    /// Number of accounts.
    pub fn account_count(&self) -> usize {
        self.accounts.size()
    }

    /// All accounts, by address.
    pub fn accounts(&self) -> impl Iterator<Item = (&Address, &Account)> {
        self.accounts.iter()
    }

    /// What `debtor` owes `creditor`, in points.
    pub fn debt(&self, debtor: &Address, creditor: &Address) -> crate::types::Points {
        self.debts
            .get(&(*debtor, *creditor))
            .copied()
            .unwrap_or_default()
    }

    /// All non-zero debts as `((debtor, creditor), points)`.
    pub fn debts(&self) -> impl Iterator<Item = (&(Address, Address), &crate::types::Points)> {
        self.debts.iter()
    }

    /// The earn recorded under a shop's receipt.
    pub fn receipt(&self, shop: &Address, receipt: &ReceiptHash) -> Option<&EarnRecord> {
        self.receipts.get(&(*shop, *receipt))
    }

    /// Every earn `shop` recorded (sales, grants, birthday rewards), by
    /// receipt hash: what the shop's own reports and automations read of
    /// its customers.
    pub fn receipts_of<'a>(
        &'a self,
        shop: &'a Address,
    ) -> impl Iterator<Item = (&'a ReceiptHash, &'a EarnRecord)> + 'a {
        let first = (*shop, ReceiptHash(Hash::ZERO));
        let last = (*shop, ReceiptHash(Hash([0xff; 32])));
        self.receipts
            .range(first..=last)
            .map(|((_, receipt), record)| (receipt, record))
    }

    /// A proposal.
    pub fn proposal(&self, id: ProposalId) -> Option<&Proposal> {
        self.proposals.get(&id)
    }

    /// All proposals, oldest first.
    pub fn proposals(&self) -> impl Iterator<Item = &Proposal> {
        self.proposals.values()
    }

    /// The programme settings: locale, tiers, next campaign id.
    pub fn programme(&self) -> &Programme {
        &self.programme
    }

    /// A shop's earn rules (empty if it never published one).
    pub fn rules(&self, shop: &Address) -> Option<&ShopRules> {
        self.rules.get(shop)
    }

    /// A campaign.
    pub fn campaign(&self, id: CampaignId) -> Option<&Campaign> {
        self.campaigns.get(&id)
    }

    /// All campaigns, by id.
    pub fn campaigns(&self) -> impl Iterator<Item = &Campaign> {
        self.campaigns.values()
    }

    /// The campaigns `shop` funds, by id.
    pub fn campaigns_of<'a>(
        &'a self,
        shop: &'a Address,
    ) -> impl Iterator<Item = &'a Campaign> + 'a {
        self.shop_campaigns
            .range((*shop, CampaignId(0))..=(*shop, CampaignId(u64::MAX)))
            .filter_map(|(_, id)| self.campaigns.get(id))
    }

    /// What the programme keeps of a customer.
    pub fn customer(&self, address: &Address) -> Option<&CustomerRecord> {
        self.customers.get(address)
    }

    /// A customer's use of a campaign (as last written: its `period` may
    /// be an earlier one).
    pub fn campaign_use(&self, campaign: CampaignId, customer: &Address) -> Option<&CampaignUse> {
        self.campaign_uses.get(&(campaign, *customer))
    }

    /// The encoded record stored under `key`, if any.
    pub fn encoded(&self, key: &StateKey) -> Option<Vec<u8>> {
        match key {
            StateKey::Chain => Some(codec::encode(&self.chain)),
            StateKey::Params => Some(codec::encode(&self.params)),
            StateKey::Supply => Some(codec::encode(&self.supply)),
            StateKey::Member(a) => self.members.get(a).map(codec::encode),
            StateKey::Account(a) => self.accounts.get(a).map(codec::encode),
            StateKey::Debt { debtor, creditor } => {
                self.debts.get(&(*debtor, *creditor)).map(codec::encode)
            }
            StateKey::Receipt { shop, receipt } => {
                self.receipts.get(&(*shop, *receipt)).map(codec::encode)
            }
            StateKey::Proposal(id) => self.proposals.get(id).map(codec::encode),
            StateKey::Programme => Some(codec::encode(&self.programme)),
            StateKey::Rules(a) => self.rules.get(a).map(codec::encode),
            StateKey::Campaign(id) => self.campaigns.get(id).map(codec::encode),
            StateKey::Customer(a) => self.customers.get(a).map(codec::encode),
            StateKey::CampaignUse { campaign, customer } => self
                .campaign_uses
                .get(&(*campaign, *customer))
                .map(codec::encode),
        }
    }

    /// Every record as `(key, encoded record)`, for storage.
    pub fn entries(&self) -> Vec<(StateKey, Vec<u8>)> {
        let mut keys = vec![
            StateKey::Chain,
            StateKey::Params,
            StateKey::Supply,
            StateKey::Programme,
        ];
        keys.extend(self.members.keys().map(|a| StateKey::Member(*a)));
        keys.extend(self.accounts.keys().map(|a| StateKey::Account(*a)));
        keys.extend(self.debts.keys().map(|(debtor, creditor)| StateKey::Debt {
            debtor: *debtor,
            creditor: *creditor,
        }));
        keys.extend(
            self.receipts
                .keys()
                .map(|(shop, receipt)| StateKey::Receipt {
                    shop: *shop,
                    receipt: *receipt,
                }),
        );
        keys.extend(self.proposals.keys().map(|id| StateKey::Proposal(*id)));
        keys.extend(self.rules.keys().map(|a| StateKey::Rules(*a)));
        keys.extend(self.campaigns.keys().map(|id| StateKey::Campaign(*id)));
        keys.extend(self.customers.keys().map(|a| StateKey::Customer(*a)));
        keys.extend(
            self.campaign_uses
                .keys()
                .map(|(campaign, customer)| StateKey::CampaignUse {
                    campaign: *campaign,
                    customer: *customer,
                }),
        );
        keys.into_iter()
            .filter_map(|k| self.encoded(&k).map(|v| (k, v)))
            .collect()
    }

    /// Rebuilds a state from stored records (as produced by
    /// [`State::entries`] and [`Applied::changes`]). The caller should
    /// compare [`State::root`] with the root in the last block header.
    pub fn from_entries(
        entries: impl IntoIterator<Item = (StateKey, Vec<u8>)>,
    ) -> Result<State, StateLoadError> {
        let mut chain = None;
        let mut params = None;
        let mut supply = None;
        let mut members = RedBlackTreeMapSync::new_sync();
        let mut accounts = RedBlackTreeMapSync::new_sync();
        let mut debts = RedBlackTreeMapSync::new_sync();
        let mut receipts = RedBlackTreeMapSync::new_sync();
        let mut proposals = RedBlackTreeMapSync::new_sync();
        let mut programme = None;
        let mut rules = RedBlackTreeMapSync::new_sync();
        let mut campaigns = RedBlackTreeMapSync::new_sync();
        let mut customers = RedBlackTreeMapSync::new_sync();
        let mut campaign_uses = RedBlackTreeMapSync::new_sync();
        let mut leaves = Vec::new();
        for (key, bytes) in entries {
            let bad = |error: CodecError| StateLoadError::Corrupt { key, error };
            match key {
                StateKey::Chain => chain = Some(codec::decode(&bytes).map_err(bad)?),
                StateKey::Params => params = Some(codec::decode(&bytes).map_err(bad)?),
                StateKey::Supply => supply = Some(codec::decode(&bytes).map_err(bad)?),
                StateKey::Member(a) => members.insert_mut(a, codec::decode(&bytes).map_err(bad)?),
                StateKey::Account(a) => accounts.insert_mut(a, codec::decode(&bytes).map_err(bad)?),
                StateKey::Debt { debtor, creditor } => {
                    debts.insert_mut((debtor, creditor), codec::decode(&bytes).map_err(bad)?)
                }
                StateKey::Receipt { shop, receipt } => {
                    receipts.insert_mut((shop, receipt), codec::decode(&bytes).map_err(bad)?)
                }
                StateKey::Proposal(id) => {
                    proposals.insert_mut(id, codec::decode(&bytes).map_err(bad)?)
                }
                StateKey::Programme => programme = Some(codec::decode(&bytes).map_err(bad)?),
                StateKey::Rules(a) => rules.insert_mut(a, codec::decode(&bytes).map_err(bad)?),
                StateKey::Campaign(id) => {
                    campaigns.insert_mut(id, codec::decode(&bytes).map_err(bad)?)
                }
                StateKey::Customer(a) => {
                    customers.insert_mut(a, codec::decode(&bytes).map_err(bad)?)
                }
                StateKey::CampaignUse { campaign, customer } => campaign_uses
                    .insert_mut((campaign, customer), codec::decode(&bytes).map_err(bad)?),
            }
            leaves.push((key_position(&key), value_hash(&bytes)));
        }
        let mut state = State {
            chain: chain.ok_or(StateLoadError::Missing("chain"))?,
            params: params.ok_or(StateLoadError::Missing("params"))?,
            supply: supply.ok_or(StateLoadError::Missing("supply"))?,
            members,
            accounts,
            debts,
            receipts,
            proposals,
            programme: programme.ok_or(StateLoadError::Missing("programme"))?,
            rules,
            campaigns,
            customers,
            campaign_uses,
            receipt_lots: RedBlackTreeSetSync::new_sync(),
            shop_campaigns: RedBlackTreeSetSync::new_sync(),
            expiry: RedBlackTreeSetSync::new_sync(),
            activations: RedBlackTreeSetSync::new_sync(),
            tree: MerkleTree::from_entries(leaves),
        };
        state.rebuild_indexes();
        Ok(state)
    }

    fn rebuild_indexes(&mut self) {
        let mut expiry = RedBlackTreeSetSync::new_sync();
        for (holder, account) in self.accounts.iter() {
            for lot in &account.lots {
                expiry.insert_mut((lot.expires_at, *holder, lot.issuer));
            }
        }
        let mut activations = RedBlackTreeSetSync::new_sync();
        for p in self.proposals.values() {
            if let ProposalStatus::Passed { effective } = p.status {
                activations.insert_mut((effective, p.id));
            }
        }
        let mut receipt_lots = RedBlackTreeSetSync::new_sync();
        for ((shop, receipt), record) in self.receipts.iter() {
            if !record.remaining.is_zero() {
                receipt_lots.insert_mut((
                    record.customer,
                    *shop,
                    record.expires_at,
                    record.height,
                    *receipt,
                ));
            }
        }
        let mut shop_campaigns = RedBlackTreeSetSync::new_sync();
        for campaign in self.campaigns.values() {
            for share in &campaign.spec.funders {
                shop_campaigns.insert_mut((share.shop, campaign.id));
            }
        }
        self.expiry = expiry;
        self.activations = activations;
        self.receipt_lots = receipt_lots;
        self.shop_campaigns = shop_campaigns;
    }

    /// A proof of any record (or of its absence) against [`State::root`].
    pub fn prove(&self, key: &StateKey) -> RecordProof {
        RecordProof {
            key: *key,
            value: self.encoded(key),
            proof: self.tree.prove(&key_position(key)),
        }
    }

    /// A proof of one account (its lots and nonce) against [`State::root`].
    pub fn prove_account(&self, address: &Address) -> AccountProof {
        let key = StateKey::Account(*address);
        AccountProof {
            address: *address,
            account: self.accounts.get(address).cloned(),
            proof: self.tree.prove(&key_position(&key)),
        }
    }
}

/// An account and the Merkle path that ties it to a state root. A wallet
/// that trusts a root (from a certified block header) can check its balance
/// without trusting the node that sent the proof.
#[derive(
    Clone,
    Debug,
    PartialEq,
    Eq,
    bincode::Encode,
    bincode::Decode,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct AccountProof {
    /// The account proven.
    pub address: Address,
    /// Its record (`None`: the account does not exist, i.e. holds nothing).
    pub account: Option<Account>,
    /// The Merkle path.
    pub proof: MerkleProof,
}

impl AccountProof {
    /// Checks the proof against a trusted state root.
    pub fn verify(&self, root: &Hash) -> Result<(), ProofError> {
        let key = key_position(&StateKey::Account(self.address));
        let proven = self.proof.verify(root, &key)?;
        let claimed = self.account.as_ref().map(|a| value_hash(&codec::encode(a)));
        if proven == claimed {
            Ok(())
        } else {
            Err(ProofError::ValueMismatch)
        }
    }
}

/// One record's encoding (or its absence) and the Merkle path that ties it
/// to a state root: what a wallet checks the programme records of a block
/// with.
#[derive(Clone, Debug, PartialEq, Eq, bincode::Encode, bincode::Decode)]
pub struct RecordProof {
    /// The record's key.
    pub key: StateKey,
    /// Its canonical encoding (`None`: no such record).
    pub value: Option<Vec<u8>>,
    /// The Merkle path.
    pub proof: MerkleProof,
}

impl RecordProof {
    /// Checks the proof against a trusted state root.
    pub fn verify(&self, root: &Hash) -> Result<(), ProofError> {
        let proven = self.proof.verify(root, &key_position(&self.key))?;
        let claimed = self.value.as_deref().map(value_hash);
        if proven == claimed {
            Ok(())
        } else {
            Err(ProofError::ValueMismatch)
        }
    }

    /// The record, decoded (`Ok(None)`: proven absent).
    pub fn decode<T: codec::Canonical>(&self) -> Result<Option<T>, CodecError> {
        self.value.as_deref().map(codec::decode).transpose()
    }
}

/// A stored state could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateLoadError {
    /// A record does not decode.
    #[error("stored state record {key:?} is corrupt: {error}")]
    Corrupt {
        /// The record's key.
        key: StateKey,
        /// The decoding error.
        error: CodecError,
    },
    /// A record every state has is missing.
    #[error("stored state has no {0} record")]
    Missing(&'static str),
}
