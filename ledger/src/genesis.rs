//! Genesis: the founding members and rules of a network, and the state and
//! header they produce.

use crate::block::{BlockHeader, tx_root};
use crate::crypto::Address;
use crate::error::GenesisError;
use crate::hash::Hash;
use crate::merkle::MerkleTree;
use crate::params::{Params, bounds};
use crate::programme::{Locale, Programme, TierTable};
use crate::state::{ChainInfo, Member, ShopStats, State, StateKey, Supply};
use crate::types::{ChainId, Height, Points, ProposalId, ShopName, Timestamp};
use rpds::{RedBlackTreeMapSync, RedBlackTreeSetSync};
use std::collections::BTreeSet;

/// Everything a network starts from. Nodes of one network must use the same
/// genesis; its header hash identifies the chain.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Genesis {
    /// The network's id; every signature covers it.
    pub chain_id: ChainId,
    /// Time of the genesis header; the first block must be later.
    pub time: Timestamp,
    /// The founding member shops.
    pub members: Vec<GenesisMember>,
    /// The starting rules.
    pub params: Params,
    /// The programme's currency, time zone and starting tiers (default:
    /// pounds sterling, UTC, no tiers).
    #[serde(default)]
    pub programme: GenesisProgramme,
}

/// The programme settings a network starts with.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GenesisProgramme {
    /// Currency and time zone, fixed for the network's life.
    #[serde(default)]
    pub locale: Locale,
    /// Starting tiers (changed later by governance).
    #[serde(default)]
    pub tiers: TierTable,
}

/// A founding member.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GenesisMember {
    /// Registered name.
    pub name: ShopName,
    /// Its key.
    pub address: Address,
}

impl Genesis {
    /// Checks members and parameters.
    pub fn validate(&self) -> Result<(), GenesisError> {
        if self.members.is_empty() {
            return Err(GenesisError::NoMembers);
        }
        if self.members.len() > bounds::MAX_MEMBERS {
            return Err(GenesisError::TooManyMembers {
                count: self.members.len(),
                max: bounds::MAX_MEMBERS,
            });
        }
        let mut names = BTreeSet::new();
        let mut keys = BTreeSet::new();
        for m in &self.members {
            m.address.check_usable()?;
            if !names.insert(m.name.folded()) {
                return Err(GenesisError::DuplicateName {
                    name: m.name.clone(),
                });
            }
            if !keys.insert(m.address) {
                return Err(GenesisError::DuplicateMember { address: m.address });
            }
        }
        self.params.validate()?;
        self.programme.locale.validate()?;
        self.programme.tiers.validate()?;
        Ok(())
    }

    /// The state at height 0 and the genesis header (height 0, zero parent,
    /// zero proposer, empty transaction list).
    pub fn build(&self) -> Result<(State, BlockHeader), GenesisError> {
        self.validate()?;
        let mut members = RedBlackTreeMapSync::new_sync();
        for m in &self.members {
            members.insert_mut(
                m.address,
                Member {
                    name: m.name.clone(),
                    address: m.address,
                    since: Height(0),
                    issue_day: 0,
                    issued_today: Points::ZERO,
                    stats: ShopStats::default(),
                },
            );
        }
        let mut state = State {
            chain: ChainInfo {
                chain_id: self.chain_id.clone(),
                height: Height(0),
                time: self.time,
                prev_hash: Hash::ZERO,
                next_proposal: ProposalId(1),
            },
            params: self.params.clone(),
            supply: Supply::default(),
            members,
            accounts: RedBlackTreeMapSync::new_sync(),
            debts: RedBlackTreeMapSync::new_sync(),
            receipts: RedBlackTreeMapSync::new_sync(),
            proposals: RedBlackTreeMapSync::new_sync(),
            programme: Programme {
                locale: self.programme.locale.clone(),
                tiers: self.programme.tiers.clone(),
                ..Programme::default()
            },
            rules: RedBlackTreeMapSync::new_sync(),
            campaigns: RedBlackTreeMapSync::new_sync(),
            customers: RedBlackTreeMapSync::new_sync(),
            campaign_uses: RedBlackTreeMapSync::new_sync(),
            receipt_lots: RedBlackTreeSetSync::new_sync(),
            shop_campaigns: RedBlackTreeSetSync::new_sync(),
            expiry: RedBlackTreeSetSync::new_sync(),
            activations: RedBlackTreeSetSync::new_sync(),
            tree: MerkleTree::new(),
        };
        let leaves = state
            .entries()
            .into_iter()
            .map(|(k, v)| (crate::state::key_position(&k), crate::state::value_hash(&v)))
            .collect();
        state.tree = MerkleTree::from_entries(leaves);
        let header = BlockHeader {
            height: Height(0),
            prev_hash: Hash::ZERO,
            time: self.time,
            proposer: Address([0; 32]),
            tx_root: tx_root(&[]),
            state_root: state.root(),
        };
        debug_assert!(state.encoded(&StateKey::Chain).is_some());
        Ok((state, header))
    }
}
