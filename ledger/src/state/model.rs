//! The records the state holds, and the keys they are committed under.

use crate::crypto::Address;
use crate::hash::Hash;

use crate::programme::evaluate::CampaignCost;
use crate::tx::GovernanceAction;
use crate::types::{
    CampaignId, Cents, ChainId, Height, Nonce, Points, ProposalId, ReceiptHash, ShopName, Timestamp,
};

/// Where a record lives in the state tree. Its position is
/// `tagged_hash("guild/state-key/v1", encode(key))`.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, bincode::Encode, bincode::Decode,
)]
pub enum StateKey {
    /// The [`ChainInfo`] record.
    Chain,
    /// The [`crate::params::Params`] record.
    Params,
    /// The [`Supply`] record.
    Supply,
    /// A [`Member`] record.
    Member(Address),
    /// An [`Account`] record.
    Account(Address),
    /// What `debtor` owes `creditor`, in points ([`Points`]).
    Debt {
        /// The shop that owes.
        debtor: Address,
        /// The shop owed.
        creditor: Address,
    },
    /// An [`EarnRecord`].
    Receipt {
        /// The issuing shop.
        shop: Address,
        /// The hashed receipt id.
        receipt: ReceiptHash,
    },
    /// A [`Proposal`].
    Proposal(ProposalId),
    /// The [`crate::programme::Programme`] record: locale, tiers, next
    /// campaign id.
    Programme,
    /// A shop's [`crate::programme::ShopRules`].
    Rules(Address),
    /// A [`crate::programme::Campaign`].
    Campaign(CampaignId),
    /// A customer's [`crate::programme::CustomerRecord`].
    Customer(Address),
    /// A customer's [`crate::programme::CampaignUse`] of a campaign.
    CampaignUse {
        /// The campaign.
        campaign: CampaignId,
        /// The customer.
        customer: Address,
    },
}

/// Where the chain stands.
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
pub struct ChainInfo {
    /// The network's id.
    pub chain_id: ChainId,
    /// Height of the last applied block (0 at genesis).
    pub height: Height,
    /// Time of the last applied block.
    pub time: Timestamp,
    /// Hash of the header of the block before the last applied one (zero at
    /// genesis). The last block's own hash cannot be in the state it commits
    /// to.
    pub prev_hash: Hash,
    /// The id the next proposal will get.
    pub next_proposal: ProposalId,
}

/// Network-wide totals. Invariant:
/// `issued - reversed - redeemed - expired` = the sum of all balances.
#[derive(
    Clone,
    Debug,
    Default,
    PartialEq,
    Eq,
    bincode::Encode,
    bincode::Decode,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct Supply {
    /// Points ever issued by earns.
    pub issued: Points,
    /// Points taken back by reversals.
    pub reversed: Points,
    /// Points spent by redemptions.
    pub redeemed: Points,
    /// Points that expired unspent (breakage).
    pub expired: Points,
}

impl Supply {
    /// Points in circulation: `issued - reversed - redeemed - expired`.
    pub fn outstanding(&self) -> Points {
        self.issued
            .saturating_sub(self.reversed)
            .saturating_sub(self.redeemed)
            .saturating_sub(self.expired)
    }
}

/// A member shop.
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
pub struct Member {
    /// Registered name.
    pub name: ShopName,
    /// Its key.
    pub address: Address,
    /// Height from which it is a member.
    pub since: Height,
    /// The UTC day of `issued_today`.
    pub issue_day: u64,
    /// Points issued on `issue_day` (for the daily cap).
    pub issued_today: Points,
    /// Running totals.
    pub stats: ShopStats,
}

/// Running totals of one shop's points.
#[derive(
    Clone,
    Debug,
    Default,
    PartialEq,
    Eq,
    bincode::Encode,
    bincode::Decode,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct ShopStats {
    /// Points it issued.
    pub issued: Points,
    /// Points of its issue taken back by its reversals.
    pub reversed: Points,
    /// Points its reversals could not take back because they had been spent.
    pub reversal_shortfall: Points,
    /// Points of `issued` granted by hand (`Earn`), not computed from a
    /// sale.
    pub granted: Points,
    /// Points of `issued` given by campaigns at its sales.
    pub campaign_points: Points,
    /// Points of its issue redeemed anywhere.
    pub redeemed_issued: Points,
    /// Points redeemed at it, whoever issued them.
    pub redeemed_here: Points,
    /// Points of its issue that expired unspent (its breakage).
    pub expired: Points,
}

impl ShopStats {
    /// Points of its issue still held by customers: its outstanding
    /// liability.
    pub fn outstanding(&self) -> Points {
        self.issued
            .saturating_sub(self.reversed)
            .saturating_sub(self.redeemed_issued)
            .saturating_sub(self.expired)
    }
}

/// Points of one issuer with one expiry.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    bincode::Encode,
    bincode::Decode,
    serde::Serialize,
    serde::Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Lot {
    /// The shop that issued them (and owes their value when they are
    /// redeemed elsewhere).
    pub issuer: Address,
    /// The first instant they no longer count.
    pub expires_at: Timestamp,
    /// How many points (never zero).
    pub amount: Points,
}

/// An account: anyone who holds points or has signed a transaction.
#[derive(
    Clone,
    Debug,
    Default,
    PartialEq,
    Eq,
    bincode::Encode,
    bincode::Decode,
    serde::Serialize,
    serde::Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Account {
    /// The nonce its next transaction must carry.
    pub nonce: Nonce,
    /// Its points, sorted by `(expires_at, issuer)`, at most one lot per pair.
    pub lots: Vec<Lot>,
}

impl Account {
    /// Total points held.
    pub fn balance(&self) -> Points {
        Points(self.lots.iter().map(|l| l.amount.0).sum())
    }

    /// Total points held that were issued by `issuer`.
    pub fn balance_of(&self, issuer: &Address) -> Points {
        Points(
            self.lots
                .iter()
                .filter(|l| l.issuer == *issuer)
                .map(|l| l.amount.0)
                .sum(),
        )
    }

    /// True if the account carries nothing worth storing.
    pub fn is_empty(&self) -> bool {
        self.nonce == Nonce(0) && self.lots.is_empty()
    }
}

/// What an earn issued, kept under its receipt so it cannot be repeated and
/// can be reversed.
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
pub struct EarnRecord {
    /// Who received the points.
    pub customer: Address,
    /// What kind of earn it was.
    pub kind: EarnKind,
    /// How many points the customer received.
    pub points: Points,
    /// The purchase amount (the till's report for a grant; the basket
    /// amount for a sale).
    pub purchase: Option<Cents>,
    /// Height of the earn.
    pub height: Height,
    /// Local day of the earn (where a sale's points count for tiers).
    pub day: u64,
    /// When the points expire (the lot they are in).
    pub expires_at: Timestamp,
    /// Points of `points` the customer still holds from this receipt:
    /// lowered as the lot they are in is spent, sent on or expires (points
    /// received from others in the same lot are spent first).
    pub remaining: Points,
    /// What campaigns paid in this sale (budget and co-funding are
    /// returned in proportion on a refund).
    pub campaigns: Vec<CampaignCost>,
    /// What reversals have done so far.
    pub reversal: Option<Reversal>,
}

/// The kind of an earn.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    bincode::Encode,
    bincode::Decode,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum EarnKind {
    /// Granted by hand with a reason.
    Grant,
    /// Computed from a sale.
    Sale,
    /// A birthday reward.
    Birthday,
    /// An offer given under a campaign (`TxBody::Offer`).
    Offer,
}

/// What reversals of an earn have done, cumulatively.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    bincode::Encode,
    bincode::Decode,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct Reversal {
    /// Height of the last reversal.
    pub height: Height,
    /// The purchase amount refunded so far (a full reversal refunds all).
    pub refunded: Cents,
    /// Points taken back from the customer.
    pub taken: Points,
    /// Points that could not be taken back (already spent or sent on).
    pub shortfall: Points,
}

impl EarnRecord {
    /// True once nothing is left to reverse.
    pub fn fully_reversed(&self) -> bool {
        match (self.reversal, self.purchase, self.kind) {
            (None, _, _) => false,
            (Some(r), Some(amount), EarnKind::Sale) => r.refunded >= amount,
            (Some(_), _, _) => true,
        }
    }
}

/// A governance proposal.
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
pub struct Proposal {
    /// Its id.
    pub id: ProposalId,
    /// The member that proposed it.
    pub proposer: Address,
    /// What it does.
    pub action: GovernanceAction,
    /// Height it was proposed at.
    pub created: Height,
    /// Members that approved it, sorted.
    pub approvals: Vec<Address>,
    /// Where it stands.
    pub status: ProposalStatus,
}

/// Where a proposal stands.
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
#[serde(rename_all = "snake_case", tag = "status")]
pub enum ProposalStatus {
    /// Collecting approvals.
    Open,
    /// Approved by more than 2/3 of members; takes effect at `effective`.
    Passed {
        /// Height from which it applies.
        effective: Height,
    },
    /// Took effect at `effective`.
    Executed {
        /// Height from which it applies.
        effective: Height,
    },
    /// Passed, but could no longer be carried out when it was due.
    Failed {
        /// Height it was due.
        effective: Height,
        /// Why it could not be carried out.
        reason: ActivationFailure,
    },
}

/// Why a passed proposal could not take effect.
#[derive(
    Clone,
    Debug,
    PartialEq,
    Eq,
    bincode::Encode,
    bincode::Decode,
    serde::Serialize,
    serde::Deserialize,
    thiserror::Error,
)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum ActivationFailure {
    /// Another member took the name meanwhile.
    #[error("the name is already taken by a member")]
    NameTaken,
    /// The key became a member meanwhile.
    #[error("the key is already a member")]
    AlreadyMember,
    /// The member to remove is no longer a member.
    #[error("the shop is not a member")]
    NotAMember,
    /// Removing the last member would stop the network.
    #[error("the last member cannot be removed")]
    LastMember,
    /// The member still has points of its issue outstanding.
    #[error("{points} points it issued are still outstanding")]
    LiabilityOutstanding {
        /// Outstanding points.
        points: Points,
    },
    /// The member still owes or is owed.
    #[error("it still has {points} points of unsettled debts")]
    DebtsOutstanding {
        /// Unsettled points, both directions.
        points: Points,
    },
    /// The network is at its member limit.
    #[error("the network already has the maximum number of members")]
    TooManyMembers,
    /// Together with changes made since it was proposed, the change would
    /// leave the parameters out of range.
    #[error("the parameters would be invalid: {name} out of range")]
    InvalidParams {
        /// The parameter out of range.
        name: String,
    },
}
