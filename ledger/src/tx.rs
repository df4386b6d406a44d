//! Transactions: what members and customers sign.
//!
//! A [`Transaction`] names its author, the author's next [`Nonce`] and a
//! [`TxBody`]. The author signs
//! `signing_bytes("guild/tx/v1", chain_id, encode(transaction))`
//! (see [`crate::crypto::signing_bytes`]); the transaction id is the SHA-256
//! of those same bytes, so it differs between networks too.

use crate::codec;
use crate::crypto::{self, Address, BadSignature, Keypair, Signature};
use crate::hash::{Hash, domain, sha256};
use crate::params::ParamChange;
use crate::programme::{Basket, CampaignSpec, Claim, EarnRuleSpec, TierTable};
use crate::types::{
    CampaignId, Cents, ChainId, Height, Memo, Nonce, Points, ProposalId, ReceiptHash, ShopName,
};
use std::fmt;

/// A transaction's id: SHA-256 of its signing bytes.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    bincode::Encode,
    bincode::Decode,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TxId(pub Hash);

impl fmt::Display for TxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for TxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TxId({})", self.0)
    }
}

/// An unsigned transaction.
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Transaction {
    /// Who signs it; for shop actions, the member shop.
    pub author: Address,
    /// The author's next nonce (their count of earlier transactions).
    pub nonce: Nonce,
    /// What it does.
    pub body: TxBody,
}

/// What a transaction does.
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
#[serde(rename_all = "snake_case", tag = "kind")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum TxBody {
    /// A member shop (the author) grants points by hand (goodwill, a
    /// correction), with a reason; counted apart from sales in reports.
    Earn {
        /// The customer receiving the points.
        customer: Address,
        /// How many points.
        points: Points,
        /// What the customer spent, if the till reports it.
        purchase: Option<Cents>,
        /// The till's receipt id, hashed with the shop's address. A second earn
        /// with the same receipt is refused.
        receipt: ReceiptHash,
        /// Why the points are given (not empty).
        reason: Memo,
    },
    /// The issuing shop (the author) reverses an earlier earn, sale or
    /// birthday reward: in full, or (sales only) the part of the sale
    /// refunded.
    Reverse {
        /// The receipt of the earn being reversed.
        receipt: ReceiptHash,
        /// The amount refunded (`None`: everything not yet refunded).
        amount: Option<Cents>,
    },
    /// A member shop (the author) records a sale; the points are those the
    /// rules in force give, which every node recomputes.
    Sale {
        /// The customer.
        customer: Address,
        /// The till's receipt id, hashed with the shop's address.
        receipt: ReceiptHash,
        /// What was bought: amount and amounts per category.
        basket: Basket,
        /// The points and the rules they came from.
        claim: Claim,
    },
    /// A member shop (the author) gives its birthday reward (the points of
    /// its rule); at most one per customer per 365 days across the group.
    Birthday {
        /// The customer.
        customer: Address,
        /// A receipt id for the reward, hashed with the shop's address.
        receipt: ReceiptHash,
        /// The points (must equal the shop rule's birthday points).
        points: Points,
    },
    /// A customer (the author) accepts a referral from another customer,
    /// before their first purchase.
    Refer {
        /// Who referred them.
        referrer: Address,
    },
    /// A member shop (the author) publishes a new version of its earn rule.
    SetEarnRule {
        /// The rule.
        rule: EarnRuleSpec,
        /// The first height it applies at, after the block it is in
        /// (`None`: the block right after it).
        effective: Option<Height>,
    },
    /// A member shop (the author) publishes a campaign; it runs once every
    /// funding shop has approved it.
    PublishCampaign {
        /// The campaign.
        campaign: CampaignSpec,
    },
    /// A funding shop (the author) signs a co-funded campaign.
    ApproveCampaign {
        /// The campaign.
        campaign: CampaignId,
    },
    /// A funding shop (the author) stops a campaign early.
    StopCampaign {
        /// The campaign.
        campaign: CampaignId,
    },
    /// A holder (the author) sends points to another address.
    Transfer {
        /// The recipient.
        to: Address,
        /// How many points.
        points: Points,
        /// An optional note to the recipient.
        memo: Option<Memo>,
    },
    /// A holder (the author) spends points at a member shop.
    Redeem {
        /// The member shop where the points are spent.
        shop: Address,
        /// How many points.
        points: Points,
    },
    /// A creditor shop (the author) acknowledges that a debtor shop paid it
    /// off the ledger, reducing the debtor's debt to it.
    Settle {
        /// The shop that paid.
        debtor: Address,
        /// The points' worth paid.
        points: Points,
    },
    /// A member proposes a governance action (and approves it by proposing).
    Propose {
        /// What is proposed.
        action: GovernanceAction,
    },
    /// A member approves an open proposal.
    Approve {
        /// Which proposal.
        proposal: ProposalId,
    },
    /// A member shop (the author, one of the campaign's funders) gives a
    /// customer the points of an offer (a campaign whose reward is
    /// `Reward::Offer`), e.g. a win-back offer sent by its automation; the
    /// campaign's conditions, budget, per-customer limit and holdout apply
    /// as at a sale.
    Offer {
        /// The campaign.
        campaign: CampaignId,
        /// The customer.
        customer: Address,
        /// A receipt id for the reward (an automation uses its event id),
        /// hashed with the shop's address: the same cause is refused twice.
        receipt: ReceiptHash,
    },
}

impl TxBody {
    /// A short lower-case name of the kind, for messages and reports.
    pub fn kind(&self) -> &'static str {
        match self {
            TxBody::Earn { .. } => "earn",
            TxBody::Reverse { .. } => "reverse",
            TxBody::Transfer { .. } => "transfer",
            TxBody::Redeem { .. } => "redeem",
            TxBody::Settle { .. } => "settle",
            TxBody::Propose { .. } => "propose",
            TxBody::Approve { .. } => "approve",
            TxBody::Sale { .. } => "sale",
            TxBody::Birthday { .. } => "birthday",
            TxBody::Refer { .. } => "refer",
            TxBody::SetEarnRule { .. } => "set_earn_rule",
            TxBody::PublishCampaign { .. } => "publish_campaign",
            TxBody::ApproveCampaign { .. } => "approve_campaign",
            TxBody::StopCampaign { .. } => "stop_campaign",
            TxBody::Offer { .. } => "offer",
        }
    }
}

/// A change to the membership or rules, decided by more than 2/3 of members.
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
#[serde(rename_all = "snake_case", tag = "action")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum GovernanceAction {
    /// Admit a shop as a member.
    AddMember {
        /// Its registered name (unique, ignoring case).
        name: ShopName,
        /// Its key: it signs the shop's transactions and consensus votes.
        address: Address,
    },
    /// Remove a member; takes effect only if no points it issued are
    /// outstanding and no debt to or from it is unsettled.
    RemoveMember {
        /// The member to remove.
        address: Address,
    },
    /// Change one network parameter.
    SetParam {
        /// The change.
        change: ParamChange,
    },
    /// Replace the group's tiers.
    SetTiers {
        /// The new tier table.
        tiers: TierTable,
    },
}

/// A transaction with its author's signature.
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
pub struct SignedTransaction {
    /// The transaction.
    pub tx: Transaction,
    /// The author's signature over its signing bytes.
    pub signature: Signature,
}

impl Transaction {
    /// The bytes the author signs for network `chain_id`.
    pub fn signing_bytes(&self, chain_id: &ChainId) -> Vec<u8> {
        crypto::signing_bytes(domain::TX, chain_id, &codec::encode(self))
    }

    /// The id this transaction has on network `chain_id`.
    pub fn id(&self, chain_id: &ChainId) -> TxId {
        TxId(sha256(&[&self.signing_bytes(chain_id)]))
    }

    /// Signs with `key`, which must be the author's key for the result to
    /// verify.
    pub fn sign(self, key: &Keypair, chain_id: &ChainId) -> SignedTransaction {
        let signature = key.sign(domain::TX, chain_id, &codec::encode(&self));
        SignedTransaction {
            tx: self,
            signature,
        }
    }
}

impl SignedTransaction {
    /// The canonical bytes of the signed transaction (what is gossiped and
    /// stored in blocks).
    pub fn to_bytes(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Checks the author's signature (`verify_strict`) for network
    /// `chain_id`, returning the transaction with its id and encoded size.
    pub fn verify(self, chain_id: &ChainId) -> Result<VerifiedTx, BadSignature> {
        let body = codec::encode(&self.tx);
        crypto::verify(
            &self.tx.author,
            domain::TX,
            chain_id,
            &body,
            &self.signature,
        )?;
        let id = TxId(sha256(&[&crypto::signing_bytes(
            domain::TX,
            chain_id,
            &body,
        )]));
        let size = body.len() + self.signature.0.len();
        Ok(VerifiedTx {
            signed: self,
            id,
            size,
        })
    }
}

/// A transaction whose signature has been checked. Only
/// [`SignedTransaction::verify`] makes one, so state transitions can never
/// run on an unchecked signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedTx {
    signed: SignedTransaction,
    id: TxId,
    size: usize,
}

impl VerifiedTx {
    /// The transaction.
    pub fn tx(&self) -> &Transaction {
        &self.signed.tx
    }

    /// The signed transaction.
    pub fn signed(&self) -> &SignedTransaction {
        &self.signed
    }

    /// Its id on the network it was verified for.
    pub fn id(&self) -> TxId {
        self.id
    }

    /// Its encoded size in bytes.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Gives back the signed transaction.
    pub fn into_signed(self) -> SignedTransaction {
        self.signed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain() -> ChainId {
        ChainId::new("test").unwrap()
    }

    fn transfer(key: &Keypair) -> Transaction {
        Transaction {
            author: key.address(),
            nonce: Nonce(0),
            body: TxBody::Transfer {
                to: Keypair::from_secret(&[2; 32]).address(),
                points: Points(5),
                memo: None,
            },
        }
    }

    #[test]
    fn signed_transactions_verify_and_keep_their_id() {
        let key = Keypair::from_secret(&[1; 32]);
        let tx = transfer(&key);
        let id = tx.id(&chain());
        let verified = tx.sign(&key, &chain()).verify(&chain()).unwrap();
        assert_eq!(verified.id(), id);
        assert_eq!(verified.size(), verified.signed().to_bytes().len());
    }

    #[test]
    fn another_chain_or_signer_or_body_does_not_verify() {
        let key = Keypair::from_secret(&[1; 32]);
        let signed = transfer(&key).sign(&key, &chain());
        assert!(
            signed
                .clone()
                .verify(&ChainId::new("other").unwrap())
                .is_err()
        );
        let mut forged = signed.clone();
        forged.tx.author = Keypair::from_secret(&[3; 32]).address();
        assert!(forged.verify(&chain()).is_err());
        let mut altered = signed;
        altered.tx.nonce = Nonce(1);
        assert!(altered.verify(&chain()).is_err());
    }

    #[test]
    fn ids_differ_between_networks() {
        let key = Keypair::from_secret(&[1; 32]);
        let tx = transfer(&key);
        assert_ne!(tx.id(&chain()), tx.id(&ChainId::new("other").unwrap()));
    }
}
