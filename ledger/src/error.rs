//! Errors of the state transition: one variant per rule, each with a message
//! a shop owner understands.

use crate::block::BadTxSignature;
use crate::crypto::{Address, AddressError};
use crate::hash::Hash;
use crate::params::ParamError;
use crate::programme::campaign::CampaignError;
use crate::programme::evaluate::{ClaimMismatch, EvalOverflow, RulesChange};
use crate::programme::locale::LocaleError;
use crate::programme::rule::{BasketError, RuleError};
use crate::programme::tier::TierError;
use crate::tx::TxId;
use crate::types::{CampaignId, Cents};
use crate::types::{Height, Nonce, Points, ProposalId, ShopName, Timestamp};

/// Why one transaction cannot be applied. Nothing is changed when a
/// transaction fails.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    /// The nonce was already used: the transaction, or another one by the
    /// same author, is already on the ledger.
    #[error("replayed transaction: nonce {got} was already used (next nonce is {expected})")]
    Replay {
        /// The account's next nonce.
        expected: Nonce,
        /// The nonce given.
        got: Nonce,
    },
    /// The nonce skips ahead of the account's next one.
    #[error(
        "nonce {got} is ahead of the account's next nonce {expected}; an earlier transaction is missing"
    )]
    NonceGap {
        /// The account's next nonce.
        expected: Nonce,
        /// The nonce given.
        got: Nonce,
    },
    /// Only member shops may do this.
    #[error("{address} is not a member shop; only members may {action}")]
    NotAMember {
        /// The author.
        address: Address,
        /// What was attempted.
        action: &'static str,
    },
    /// The named shop is not a member.
    #[error("{address} is not a member shop")]
    UnknownShop {
        /// The address given.
        address: Address,
    },
    /// Amounts must be positive.
    #[error("points must be more than zero")]
    ZeroPoints,
    /// Not enough points.
    #[error("insufficient points: {available} available, {requested} requested")]
    InsufficientPoints {
        /// Points held.
        available: Points,
        /// Points asked for.
        requested: Points,
    },
    /// The receipt was already used for an earn.
    #[error("receipt already used: this shop already issued points for that receipt")]
    DuplicateReceipt,
    /// No earn by this shop has that receipt.
    #[error("no earn with that receipt was issued by this shop")]
    UnknownReceipt,
    /// The earn was already reversed.
    #[error("that earn was already reversed at height {height}")]
    AlreadyReversed {
        /// When.
        height: Height,
    },
    /// The shop's daily issuance cap would be exceeded.
    #[error(
        "daily issuance cap exceeded: the cap is {cap} points a day, {issued_today} already issued today, {requested} requested"
    )]
    DailyCapExceeded {
        /// The cap.
        cap: Points,
        /// Issued so far today.
        issued_today: Points,
        /// Requested now.
        requested: Points,
    },
    /// A shop cannot issue points to itself.
    #[error("a shop cannot issue points to itself")]
    SelfEarn,
    /// Sending to oneself does nothing.
    #[error("cannot send points to yourself")]
    SelfTransfer,
    /// A shop cannot redeem points at itself.
    #[error("a shop cannot redeem points at itself; its customers redeem there")]
    SelfRedeem,
    /// A shop cannot settle with itself.
    #[error("a shop cannot settle a debt with itself")]
    SelfSettle,
    /// Settling more than is owed.
    #[error("{debtor} owes this shop {owed} points; cannot settle {requested}")]
    SettleExceedsDebt {
        /// The debtor.
        debtor: Address,
        /// What it owes.
        owed: Points,
        /// What was to be settled.
        requested: Points,
    },
    /// A recipient, customer or member address cannot hold or sign.
    #[error(transparent)]
    InvalidAddress(#[from] AddressError),
    /// No such proposal.
    #[error("there is no proposal {id}")]
    UnknownProposal {
        /// The id given.
        id: ProposalId,
    },
    /// The proposal already passed or ended.
    #[error("proposal {id} is no longer open for approval")]
    ProposalClosed {
        /// The id.
        id: ProposalId,
    },
    /// The member already approved.
    #[error("you already approved proposal {id}")]
    AlreadyApproved {
        /// The id.
        id: ProposalId,
    },
    /// The name belongs to a member.
    #[error("the name '{name}' is already taken by a member")]
    NameTaken {
        /// The name.
        name: ShopName,
    },
    /// The key is a member already.
    #[error("{address} is already a member")]
    AlreadyMember {
        /// The key.
        address: Address,
    },
    /// Removing the last member would stop the network.
    #[error("the last member cannot be removed")]
    LastMember,
    /// The network is at its member limit.
    #[error("the network already has the maximum of {max} members")]
    TooManyMembers {
        /// The limit.
        max: usize,
    },
    /// The proposed parameters are out of range.
    #[error(transparent)]
    InvalidParams(#[from] ParamError),
    /// The transaction is larger than the network allows.
    #[error("transaction too large: {size} bytes, the limit is {max}")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: u32,
    },
    /// A total would overflow.
    #[error("amount too large: a total would overflow")]
    Overflow,
    /// A manual grant without a reason.
    #[error("a manual grant needs a reason (e.g. \"goodwill: late order\")")]
    MissingReason,
    /// The basket is malformed.
    #[error("invalid basket: {0}")]
    InvalidBasket(#[from] BasketError),
    /// The shop has published no earn rule in force.
    #[error("the shop has no earn rule in force; publish one with `guild shop rules set`")]
    NoEarnRule,
    /// The points claimed are not what the rules give.
    #[error("points mismatch: rules give {rules_give}, transaction claims {claimed}")]
    PointsMismatch {
        /// What the rules give.
        rules_give: Points,
        /// What the transaction claims.
        claimed: Points,
    },
    /// The rules, tier or a campaign's budget changed since the sale was
    /// signed.
    #[error("rules changed since the sale was signed: {0}")]
    RulesChanged(RulesChange),
    /// The earn rule is invalid.
    #[error("invalid earn rule: {0}")]
    InvalidRule(#[from] RuleError),
    /// The campaign is invalid.
    #[error("invalid campaign: {0}")]
    InvalidCampaign(#[from] CampaignError),
    /// The tier table is invalid.
    #[error("invalid tiers: {0}")]
    InvalidTiers(#[from] TierError),
    /// No such campaign.
    #[error("there is no campaign {id}")]
    UnknownCampaign {
        /// The id.
        id: CampaignId,
    },
    /// The author does not fund the campaign.
    #[error("this shop is not one of campaign {id}'s funders")]
    NotAFunder {
        /// The campaign.
        id: CampaignId,
    },
    /// The funder already approved.
    #[error("this shop already approved campaign {id}")]
    CampaignAlreadyApproved {
        /// The campaign.
        id: CampaignId,
    },
    /// The campaign is over or stopped.
    #[error("campaign {id} has ended")]
    CampaignEnded {
        /// The campaign.
        id: CampaignId,
    },
    /// The shop has too many campaigns not yet ended.
    #[error("a shop may fund at most {max} campaigns that have not ended")]
    TooManyCampaigns {
        /// The limit.
        max: usize,
    },
    /// The campaign's points are given at sales, not by `TxBody::Offer`.
    #[error("campaign {id} is not an offer: its points are given at sales")]
    NotAnOffer {
        /// The campaign.
        id: CampaignId,
    },
    /// The campaign does not run now.
    #[error(
        "campaign {id} is not running now (not yet signed by every funder, not started, ended or stopped)"
    )]
    CampaignNotRunning {
        /// The campaign.
        id: CampaignId,
    },
    /// The offer gives nothing to this customer now.
    #[error("campaign {id} gives nothing to this customer now: {why}")]
    OfferNotGiven {
        /// The campaign.
        id: CampaignId,
        /// Why.
        why: crate::programme::evaluate::NotGiven,
    },
    /// The shop's rule gives no birthday reward.
    #[error("the shop's rule gives no birthday reward")]
    NoBirthdayReward,
    /// A birthday reward was given less than 365 days ago.
    #[error(
        "a birthday reward was already given on local day {last}; the next is possible from day {next}"
    )]
    BirthdayTooSoon {
        /// Local day of the last one.
        last: u64,
        /// First local day of the next one.
        next: u64,
    },
    /// A referral by oneself.
    #[error("a customer cannot refer themselves")]
    SelfReferral,
    /// The customer already made a purchase or accepted a referral.
    #[error("a referral must be accepted before the first purchase, and only once")]
    ReferralTooLate,
    /// A partial refund of something other than a sale, or beyond what is
    /// left of the sale.
    #[error("cannot refund {requested}: {left} of the sale is left to refund")]
    RefundTooLarge {
        /// Asked for.
        requested: Cents,
        /// Left.
        left: Cents,
    },
    /// A partial amount for an earn that is not a sale.
    #[error("only a sale can be refunded in part; reverse a grant or birthday reward in full")]
    PartialNotASale,
}

impl From<ClaimMismatch> for TxError {
    fn from(m: ClaimMismatch) -> TxError {
        match m {
            ClaimMismatch::RulesChanged(change) => TxError::RulesChanged(change),
            ClaimMismatch::PointsMismatch {
                rules_give,
                claimed,
            } => TxError::PointsMismatch {
                rules_give,
                claimed,
            },
        }
    }
}

impl From<EvalOverflow> for TxError {
    fn from(_: EvalOverflow) -> TxError {
        TxError::Overflow
    }
}

impl TxError {
    /// A stable, machine-readable name for the rule that refused the
    /// transaction (used by the node's API and the wallet's `--json`
    /// output; it never changes once published).
    pub fn code(&self) -> &'static str {
        match self {
            TxError::Replay { .. } => "replay",
            TxError::NonceGap { .. } => "nonce_gap",
            TxError::NotAMember { .. } => "not_a_member",
            TxError::UnknownShop { .. } => "unknown_shop",
            TxError::ZeroPoints => "zero_points",
            TxError::InsufficientPoints { .. } => "insufficient_points",
            TxError::DuplicateReceipt => "duplicate_receipt",
            TxError::UnknownReceipt => "unknown_receipt",
            TxError::AlreadyReversed { .. } => "already_reversed",
            TxError::DailyCapExceeded { .. } => "daily_cap_exceeded",
            TxError::SelfEarn => "self_earn",
            TxError::SelfTransfer => "self_transfer",
            TxError::SelfRedeem => "self_redeem",
            TxError::SelfSettle => "self_settle",
            TxError::SettleExceedsDebt { .. } => "settle_exceeds_debt",
            TxError::InvalidAddress(_) => "invalid_address",
            TxError::UnknownProposal { .. } => "unknown_proposal",
            TxError::ProposalClosed { .. } => "proposal_closed",
            TxError::AlreadyApproved { .. } => "already_approved",
            TxError::NameTaken { .. } => "name_taken",
            TxError::AlreadyMember { .. } => "already_member",
            TxError::LastMember => "last_member",
            TxError::TooManyMembers { .. } => "too_many_members",
            TxError::InvalidParams(_) => "invalid_params",
            TxError::TooLarge { .. } => "tx_too_large",
            TxError::Overflow => "overflow",
            TxError::MissingReason => "missing_reason",
            TxError::InvalidBasket(_) => "invalid_basket",
            TxError::NoEarnRule => "no_earn_rule",
            TxError::PointsMismatch { .. } => "points_mismatch",
            TxError::RulesChanged(_) => "rules_changed",
            TxError::InvalidRule(_) => "invalid_rule",
            TxError::InvalidCampaign(_) => "invalid_campaign",
            TxError::InvalidTiers(_) => "invalid_tiers",
            TxError::UnknownCampaign { .. } => "unknown_campaign",
            TxError::NotAFunder { .. } => "not_a_funder",
            TxError::CampaignAlreadyApproved { .. } => "campaign_already_approved",
            TxError::CampaignEnded { .. } => "campaign_ended",
            TxError::TooManyCampaigns { .. } => "too_many_campaigns",
            TxError::NotAnOffer { .. } => "not_an_offer",
            TxError::CampaignNotRunning { .. } => "campaign_not_running",
            TxError::OfferNotGiven { .. } => "offer_not_given",
            TxError::NoBirthdayReward => "no_birthday_reward",
            TxError::BirthdayTooSoon { .. } => "birthday_too_soon",
            TxError::SelfReferral => "self_referral",
            TxError::ReferralTooLate => "referral_too_late",
            TxError::RefundTooLarge { .. } => "refund_too_large",
            TxError::PartialNotASale => "partial_not_a_sale",
        }
    }
}

/// Why a block cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    /// Not the next height.
    #[error("block height {got} does not follow {current}")]
    WrongHeight {
        /// The last applied height.
        current: Height,
        /// The block's height.
        got: Height,
    },
    /// Does not link to the previous block.
    #[error("block {height} links to {got}, but the previous block is {expected}")]
    WrongParent {
        /// The block's height.
        height: Height,
        /// The previous block's hash.
        expected: Hash,
        /// The link in the block.
        got: Hash,
    },
    /// The parent header given is not the header of the state's last block.
    #[error("block {height}: the parent header given does not match the state it is applied to")]
    ParentMismatch {
        /// The block's height.
        height: Height,
    },
    /// Time must move forward.
    #[error("block {height} time {got} is not after the previous block's {previous}")]
    TimeNotIncreasing {
        /// The block's height.
        height: Height,
        /// Previous block time.
        previous: Timestamp,
        /// This block's time.
        got: Timestamp,
    },
    /// The proposer is not a member.
    #[error("block {height} was proposed by {proposer}, who is not a member")]
    ProposerNotMember {
        /// The block's height.
        height: Height,
        /// The proposer.
        proposer: Address,
    },
    /// Too many transactions.
    #[error("block {height} has {count} transactions, the limit is {max}")]
    TooManyTxs {
        /// The block's height.
        height: Height,
        /// Count.
        count: usize,
        /// Limit.
        max: u32,
    },
    /// Too many bytes.
    #[error("block {height} is {size} bytes, the limit is {max}")]
    TooLarge {
        /// The block's height.
        height: Height,
        /// Size.
        size: usize,
        /// Limit.
        max: u32,
    },
    /// The transaction root does not match the transactions.
    #[error(
        "block {height} transaction root {header} does not match its transactions ({computed})"
    )]
    TxRootMismatch {
        /// The block's height.
        height: Height,
        /// In the header.
        header: Hash,
        /// Computed.
        computed: Hash,
    },
    /// A transaction signature is bad.
    #[error(transparent)]
    BadSignature(#[from] BadTxSignature),
    /// A transaction breaks a rule.
    #[error("block {height}, transaction {index} ({id}): {error}")]
    Tx {
        /// The block's height.
        height: Height,
        /// Position in the block.
        index: usize,
        /// Its id.
        id: TxId,
        /// The rule broken.
        error: TxError,
    },
    /// The state root after the block is not the one in its header.
    #[error(
        "block {height} state root {header} does not match the state after applying it ({computed})"
    )]
    StateRootMismatch {
        /// The block's height.
        height: Height,
        /// In the header.
        header: Hash,
        /// Computed.
        computed: Hash,
    },
}

/// Why a genesis file is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenesisError {
    /// No founding members.
    #[error("genesis has no members; a network needs at least one shop")]
    NoMembers,
    /// Too many founding members.
    #[error("genesis has {count} members, at most {max} are allowed")]
    TooManyMembers {
        /// Count.
        count: usize,
        /// Limit.
        max: usize,
    },
    /// Two members share a name.
    #[error("two members are named '{name}'")]
    DuplicateName {
        /// The name.
        name: ShopName,
    },
    /// Two members share a key.
    #[error("{address} is listed twice")]
    DuplicateMember {
        /// The key.
        address: Address,
    },
    /// A member key is unusable.
    #[error(transparent)]
    InvalidAddress(#[from] AddressError),
    /// A parameter is out of range.
    #[error(transparent)]
    InvalidParams(#[from] ParamError),
    /// The currency or time zone is invalid.
    #[error("invalid currency or time zone: {0}")]
    InvalidLocale(#[from] LocaleError),
    /// The tier table is invalid.
    #[error("invalid tiers: {0}")]
    InvalidTiers(#[from] TierError),
}
