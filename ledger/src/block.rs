//! Blocks, consensus votes and commit certificates.
//!
//! A block is final when it carries a [`CommitCertificate`]: precommit votes
//! for its hash from more than two thirds of the members valid at its
//! height. Anyone holding the member set can check that from the data alone
//! with [`CommitCertificate::verify`].

use crate::codec;
use crate::crypto::{self, Address, Keypair, Signature};
use crate::hash::{Hash, domain, sha256, tagged_hash};
use crate::tx::{SignedTransaction, TxId, VerifiedTx};
use crate::types::{ChainId, Height, Timestamp};
use std::collections::BTreeSet;

/// The part of a block that is hashed and voted on.
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
pub struct BlockHeader {
    /// Height: the genesis header is 0, each block one more than its parent.
    pub height: Height,
    /// Hash of the previous block's header.
    pub prev_hash: Hash,
    /// Time chosen by the proposer; strictly greater than the parent's.
    pub time: Timestamp,
    /// The member that proposed the block (the zero address for genesis).
    pub proposer: Address,
    /// Merkle root of the block's transaction ids (see [`tx_root`]).
    pub tx_root: Hash,
    /// Root of the state tree after applying the block.
    pub state_root: Hash,
}

impl BlockHeader {
    /// The block hash: `tagged_hash("guild/block/v1", encode(header))`.
    pub fn hash(&self) -> Hash {
        tagged_hash(domain::BLOCK, &[&codec::encode(self)])
    }
}

/// A block: a header and the transactions it orders.
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
pub struct Block {
    /// The header.
    pub header: BlockHeader,
    /// The transactions, applied in this order.
    pub txs: Vec<SignedTransaction>,
}

/// A transaction of a block failed its signature check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("transaction {index} of block {height} has a bad signature (author {author})")]
pub struct BadTxSignature {
    /// The block height.
    pub height: Height,
    /// Position of the transaction in the block.
    pub index: usize,
    /// The claimed author.
    pub author: Address,
}

impl Block {
    /// Checks every transaction signature (`verify_strict`).
    pub fn verify_signatures(self, chain_id: &ChainId) -> Result<VerifiedBlock, BadTxSignature> {
        let height = self.header.height;
        let txs = self
            .txs
            .into_iter()
            .enumerate()
            .map(|(index, tx)| {
                let author = tx.tx.author;
                tx.verify(chain_id).map_err(|_| BadTxSignature {
                    height,
                    index,
                    author,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(VerifiedBlock {
            header: self.header,
            txs,
        })
    }

    /// Encoded size in bytes.
    pub fn encoded_len(&self) -> usize {
        codec::encode(self).len()
    }
}

/// A block whose transaction signatures have all been checked (only
/// [`Block::verify_signatures`] and [`VerifiedBlock::from_parts`] make one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedBlock {
    header: BlockHeader,
    txs: Vec<VerifiedTx>,
}

impl VerifiedBlock {
    /// Assembles a block from transactions verified one by one (e.g. in
    /// parallel by the caller).
    pub fn from_parts(header: BlockHeader, txs: Vec<VerifiedTx>) -> VerifiedBlock {
        VerifiedBlock { header, txs }
    }

    /// The header.
    pub fn header(&self) -> &BlockHeader {
        &self.header
    }

    /// The transactions.
    pub fn txs(&self) -> &[VerifiedTx] {
        &self.txs
    }

    /// Back to a plain block.
    pub fn into_block(self) -> Block {
        Block {
            header: self.header,
            txs: self.txs.into_iter().map(VerifiedTx::into_signed).collect(),
        }
    }
}

/// Merkle root of a list of transaction ids, RFC 6962 style:
/// `leaf = SHA-256(0x00 || id)`, `node = SHA-256(0x01 || left || right)`, the
/// left subtree holding the largest power of two below the count; an empty
/// list hashes to `tagged_hash("guild/tx-tree/v1")`.
pub fn tx_root(ids: &[TxId]) -> Hash {
    fn root(ids: &[TxId]) -> Hash {
        match ids {
            [] => Hash::ZERO,
            [one] => sha256(&[&[0u8], &one.0.0]),
            _ => {
                let split = ids.len().next_power_of_two() / 2;
                sha256(&[&[1u8], &root(&ids[..split]).0, &root(&ids[split..]).0])
            }
        }
    }
    if ids.is_empty() {
        tagged_hash(domain::TX_TREE, &[])
    } else {
        root(ids)
    }
}

/// The two vote kinds of the consensus protocol.
#[derive(
    Clone,
    Copy,
    Debug,
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
#[serde(rename_all = "snake_case")]
pub enum VoteKind {
    /// First-round vote.
    Prevote,
    /// Second-round vote; more than 2/3 of these for a block finalize it.
    Precommit,
}

/// What a member votes for. `block: None` is a vote for no block ("nil").
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    bincode::Encode,
    bincode::Decode,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct Vote {
    /// Prevote or precommit.
    pub kind: VoteKind,
    /// Height being decided.
    pub height: Height,
    /// Consensus round within the height.
    pub round: u32,
    /// The block hash voted for, or `None` for nil.
    pub block: Option<Hash>,
}

impl Vote {
    /// Signs the vote: `signing_bytes("guild/vote/v1", chain_id, encode(vote))`.
    pub fn sign(&self, key: &Keypair, chain_id: &ChainId) -> Signature {
        key.sign(domain::VOTE, chain_id, &codec::encode(self))
    }

    /// Checks `voter`'s signature on this vote.
    pub fn verify(
        &self,
        voter: &Address,
        chain_id: &ChainId,
        signature: &Signature,
    ) -> Result<(), crypto::BadSignature> {
        crypto::verify(
            voter,
            domain::VOTE,
            chain_id,
            &codec::encode(self),
            signature,
        )
    }
}

/// One member's precommit signature in a certificate.
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
pub struct CommitSignature {
    /// The member.
    pub voter: Address,
    /// Its signature on `Vote { Precommit, height, round, Some(block_hash) }`.
    pub signature: Signature,
}

/// Proof that a block is final: precommits for it, at one round, from more
/// than 2/3 of the members valid at its height, sorted by voter.
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
pub struct CommitCertificate {
    /// Height of the block.
    pub height: Height,
    /// Round in which it was decided.
    pub round: u32,
    /// Hash of the block's header.
    pub block_hash: Hash,
    /// The precommit signatures, strictly increasing by voter.
    pub signatures: Vec<CommitSignature>,
}

/// The smallest number of members that is more than 2/3 of `members`.
pub fn quorum(members: usize) -> usize {
    members * 2 / 3 + 1
}

/// Why a certificate does not prove finality.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    /// The certificate is for another height.
    #[error("certificate is for height {found}, the block is at height {expected}")]
    WrongHeight {
        /// The block's height.
        expected: Height,
        /// The certificate's height.
        found: Height,
    },
    /// The certificate is for another block.
    #[error("certificate is for block {found}, not {expected}")]
    WrongBlock {
        /// The block's hash.
        expected: Hash,
        /// The certified hash.
        found: Hash,
    },
    /// Signatures out of order or repeated.
    #[error("certificate signatures are not sorted by voter or repeat a voter")]
    Unsorted,
    /// A signer is not a member at this height.
    #[error("certificate is signed by {voter}, who is not a member at this height")]
    NotAMember {
        /// The signer.
        voter: Address,
    },
    /// A signature does not verify.
    #[error("certificate signature of {voter} does not verify")]
    BadSignature {
        /// The signer.
        voter: Address,
    },
    /// Too few signatures.
    #[error("certificate has {signatures} of {members} member signatures; {needed} are needed")]
    NoQuorum {
        /// Valid signatures.
        signatures: usize,
        /// Members at this height.
        members: usize,
        /// The quorum.
        needed: usize,
    },
}

impl CommitCertificate {
    /// The vote each signature covers.
    pub fn vote(&self) -> Vote {
        Vote {
            kind: VoteKind::Precommit,
            height: self.height,
            round: self.round,
            block: Some(self.block_hash),
        }
    }

    /// Checks that this certificate finalizes `header` under the member set
    /// valid at its height.
    pub fn verify(
        &self,
        chain_id: &ChainId,
        header: &BlockHeader,
        members: &BTreeSet<Address>,
    ) -> Result<(), CertificateError> {
        if self.height != header.height {
            return Err(CertificateError::WrongHeight {
                expected: header.height,
                found: self.height,
            });
        }
        let expected = header.hash();
        if self.block_hash != expected {
            return Err(CertificateError::WrongBlock {
                expected,
                found: self.block_hash,
            });
        }
        if self
            .signatures
            .windows(2)
            .any(|pair| pair[0].voter >= pair[1].voter)
        {
            return Err(CertificateError::Unsorted);
        }
        let needed = quorum(members.len());
        if self.signatures.len() < needed {
            return Err(CertificateError::NoQuorum {
                signatures: self.signatures.len(),
                members: members.len(),
                needed,
            });
        }
        let vote = self.vote();
        for sig in &self.signatures {
            if !members.contains(&sig.voter) {
                return Err(CertificateError::NotAMember { voter: sig.voter });
            }
            vote.verify(&sig.voter, chain_id, &sig.signature)
                .map_err(|_| CertificateError::BadSignature { voter: sig.voter })?;
        }
        Ok(())
    }
}

/// A block with the certificate that makes it final.
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
pub struct FinalBlock {
    /// The block.
    pub block: Block,
    /// Its commit certificate.
    pub certificate: CommitCertificate,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain() -> ChainId {
        ChainId::new("test").unwrap()
    }

    fn keys(n: u8) -> Vec<Keypair> {
        (1..=n).map(|i| Keypair::from_secret(&[i; 32])).collect()
    }

    fn header() -> BlockHeader {
        BlockHeader {
            height: Height(1),
            prev_hash: Hash([1; 32]),
            time: Timestamp(1),
            proposer: Address([2; 32]),
            tx_root: tx_root(&[]),
            state_root: Hash([3; 32]),
        }
    }

    fn certify(header: &BlockHeader, signers: &[Keypair]) -> CommitCertificate {
        let mut cert = CommitCertificate {
            height: header.height,
            round: 0,
            block_hash: header.hash(),
            signatures: vec![],
        };
        let vote = cert.vote();
        cert.signatures = signers
            .iter()
            .map(|k| CommitSignature {
                voter: k.address(),
                signature: vote.sign(k, &chain()),
            })
            .collect();
        cert.signatures.sort_by_key(|s| s.voter);
        cert
    }

    fn members(keys: &[Keypair]) -> BTreeSet<Address> {
        keys.iter().map(Keypair::address).collect()
    }

    #[test]
    fn quorum_is_more_than_two_thirds() {
        assert_eq!(quorum(1), 1);
        assert_eq!(quorum(3), 3);
        assert_eq!(quorum(4), 3);
        assert_eq!(quorum(6), 5);
        assert_eq!(quorum(7), 5);
    }

    #[test]
    fn a_quorum_certificate_verifies() {
        let k = keys(4);
        let cert = certify(&header(), &k[..3]);
        assert_eq!(cert.verify(&chain(), &header(), &members(&k)), Ok(()));
    }

    #[test]
    fn short_forged_and_foreign_certificates_fail() {
        let k = keys(4);
        let short = certify(&header(), &k[..2]);
        assert!(matches!(
            short.verify(&chain(), &header(), &members(&k)),
            Err(CertificateError::NoQuorum {
                signatures: 2,
                needed: 3,
                ..
            })
        ));
        let outsider = keys(5);
        let foreign = certify(&header(), &outsider[2..5]);
        assert!(matches!(
            foreign.verify(&chain(), &header(), &members(&k)),
            Err(CertificateError::NotAMember { .. })
        ));
        let mut forged = certify(&header(), &k[..3]);
        forged.signatures[1].signature.0[0] ^= 1;
        assert!(matches!(
            forged.verify(&chain(), &header(), &members(&k)),
            Err(CertificateError::BadSignature { .. })
        ));
        let mut doubled = certify(&header(), &k[..3]);
        doubled.signatures[2] = doubled.signatures[1].clone();
        assert_eq!(
            doubled.verify(&chain(), &header(), &members(&k)),
            Err(CertificateError::Unsorted)
        );
        let mut other = header();
        other.time = Timestamp(2);
        assert!(matches!(
            certify(&header(), &k[..3]).verify(&chain(), &other, &members(&k)),
            Err(CertificateError::WrongBlock { .. })
        ));
    }

    #[test]
    fn votes_are_not_transactions() {
        let k = Keypair::from_secret(&[1; 32]);
        let vote = Vote {
            kind: VoteKind::Prevote,
            height: Height(1),
            round: 0,
            block: None,
        };
        let sig = vote.sign(&k, &chain());
        assert!(vote.verify(&k.address(), &chain(), &sig).is_ok());
        let bytes = codec::encode(&vote);
        assert!(crypto::verify(&k.address(), domain::TX, &chain(), &bytes, &sig).is_err());
    }

    #[test]
    fn tx_root_depends_on_order_and_content() {
        let a = TxId(Hash([1; 32]));
        let b = TxId(Hash([2; 32]));
        assert_ne!(tx_root(&[a, b]), tx_root(&[b, a]));
        assert_ne!(tx_root(&[a]), tx_root(&[a, a]));
        assert_ne!(tx_root(&[]), Hash::ZERO);
    }
}
