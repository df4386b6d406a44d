//! The messages nodes send each other, and their signatures.
//!
//! Everything on the wire is encoded with the ledger's one canonical codec
//! ([`guild_ledger::codec`]) and decoded strictly, so a malformed, trailing
//! or over-long message is refused before anything looks at it.

use crate::consensus::SignedVote;
use guild_ledger::block::{Block, FinalBlock};
use guild_ledger::codec::{self, CodecError};
use guild_ledger::crypto::{self, Address, Keypair, Signature};
use guild_ledger::hash::{Hash, domain};
use guild_ledger::tx::SignedTransaction;
use guild_ledger::types::{ChainId, Height};

/// The part of a block proposal its proposer signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, bincode::Encode, bincode::Decode)]
pub struct Proposal {
    /// Height being decided.
    pub height: Height,
    /// Consensus round.
    pub round: u32,
    /// The round in which the proposer saw a quorum of prevotes for this
    /// block, if it re-proposes one (Tendermint's `validRound`).
    pub valid_round: Option<u32>,
    /// Hash of the proposed block's header.
    pub block: Hash,
}

/// A proposal, its block and the proposer's signature over
/// `signing_bytes("guild/proposal/v1", chain_id, encode(proposal))`.
#[derive(Clone, Debug, PartialEq, Eq, bincode::Encode, bincode::Decode)]
pub struct SignedProposal {
    /// What is proposed.
    pub proposal: Proposal,
    /// The proposer.
    pub proposer: Address,
    /// Its signature.
    pub signature: Signature,
    /// The block itself.
    pub block: Block,
}

impl Proposal {
    /// Signs the proposal with the proposer's key.
    pub fn sign(self, key: &Keypair, chain_id: &ChainId, block: Block) -> SignedProposal {
        let signature = key.sign(domain::PROPOSAL, chain_id, &codec::encode(&self));
        SignedProposal {
            proposal: self,
            proposer: key.address(),
            signature,
            block,
        }
    }
}

impl SignedProposal {
    /// Checks the proposer's signature and that the block is the one named.
    pub fn verify(&self, chain_id: &ChainId) -> Result<(), WireError> {
        crypto::verify(
            &self.proposer,
            domain::PROPOSAL,
            chain_id,
            &codec::encode(&self.proposal),
            &self.signature,
        )
        .map_err(|_| WireError::BadSignature)?;
        if self.block.header.hash() != self.proposal.block
            || self.block.header.height != self.proposal.height
        {
            return Err(WireError::BlockMismatch);
        }
        Ok(())
    }
}

/// A message on the consensus topic.
#[derive(Clone, Debug, PartialEq, Eq, bincode::Encode, bincode::Decode)]
pub enum ConsensusMessage {
    /// A block proposal.
    Proposal(SignedProposal),
    /// A prevote or precommit.
    Vote(SignedVote),
}

impl ConsensusMessage {
    /// The height the message is about.
    pub fn height(&self) -> Height {
        match self {
            ConsensusMessage::Proposal(p) => p.proposal.height,
            ConsensusMessage::Vote(v) => v.vote.height,
        }
    }
}

/// A node's periodic announcement of how far its chain goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, bincode::Encode, bincode::Decode)]
pub struct Status {
    /// Height of its last final block.
    pub head: Height,
    /// Hash of that block.
    pub head_hash: Hash,
}

/// Most transactions in one [`Gossip::Txs`] message.
pub const MAX_GOSSIP_TXS: usize = 512;
/// Largest gossip message: a full block of the largest size the protocol
/// allows, with room for the proposal around it.
pub const MAX_GOSSIP_BYTES: usize = 4 * 1024 * 1024 + 64 * 1024;
/// Largest sync request.
pub const MAX_SYNC_REQUEST: usize = 64;
/// Largest sync response: several blocks, so larger than any one protocol
/// value ([`codec::MAX_DECODE_BYTES`]). A node serving blocks stops adding
/// them before its answer would pass this bound.
pub const MAX_SYNC_RESPONSE: usize = 16 * 1024 * 1024;
/// Most blocks served per sync request.
pub const MAX_SYNC_BLOCKS: u32 = 64;

/// Everything sent by gossip, one enum so a topic can carry only its kind.
#[allow(clippy::large_enum_variant)] // moved, never stored in bulk; a box would only add an allocation
#[derive(Clone, Debug, PartialEq, Eq, bincode::Encode, bincode::Decode)]
pub enum Gossip {
    /// Consensus traffic among members.
    Consensus(ConsensusMessage),
    /// Transactions for the mempools, in the order their sender admitted
    /// them (at most [`MAX_GOSSIP_TXS`]; a longer list is refused as
    /// malformed).
    Txs(Vec<SignedTransaction>),
    /// A chain-head announcement.
    Status(Status),
}

/// One gossip publication: the message and a number its sender never used
/// before.
///
/// Gossip carries no libp2p signature: every payload that matters signs
/// itself (transactions by their author, votes and proposals by a member),
/// so a second signature per message would only double every node's
/// signature checks. Gossipsub then names a message by the hash of its
/// bytes, and `publication` keeps a deliberate re-send (a vote repeated
/// for peers that missed it) from being taken for a duplicate.
#[derive(Clone, Debug, PartialEq, Eq, bincode::Encode, bincode::Decode)]
pub struct Envelope {
    /// The sender's publication counter (starts at a random value).
    pub publication: u64,
    /// The message.
    pub message: Gossip,
}

impl Envelope {
    /// Decodes an envelope strictly and checks its size limits.
    pub fn decode(bytes: &[u8]) -> Result<Envelope, WireError> {
        let envelope: Envelope = codec::decode_within::<_, MAX_GOSSIP_BYTES>(bytes)?;
        if let Gossip::Txs(txs) = &envelope.message
            && (txs.is_empty() || txs.len() > MAX_GOSSIP_TXS)
        {
            return Err(WireError::BadBatch { count: txs.len() });
        }
        Ok(envelope)
    }
}

/// Sync request: final blocks from `from`, at most `max` of them. A
/// request for none (`max` 0) asks only for the peer's head: nodes send one
/// when they connect, as CometBFT's block sync exchanges status messages,
/// so a node learns what a peer holds without waiting for its gossip.
#[derive(Clone, Copy, Debug, PartialEq, Eq, bincode::Encode, bincode::Decode)]
pub struct SyncRequest {
    /// First height wanted.
    pub from: Height,
    /// Most blocks wanted.
    pub max: u32,
}

impl SyncRequest {
    /// Decodes a request strictly, within [`MAX_SYNC_REQUEST`].
    pub fn decode(bytes: &[u8]) -> Result<SyncRequest, WireError> {
        Ok(codec::decode_within::<_, MAX_SYNC_REQUEST>(bytes)?)
    }
}

/// Sync response: the answering node's head, and consecutive final blocks
/// starting at the requested height (none if it has none, or none were
/// asked for).
#[derive(Clone, Debug, PartialEq, Eq, bincode::Encode, bincode::Decode)]
pub struct SyncResponse {
    /// The height of the answering node's last final block.
    pub head: Height,
    /// The blocks, in height order.
    pub blocks: Vec<FinalBlock>,
}

impl SyncResponse {
    /// Decodes a response strictly, within [`MAX_SYNC_RESPONSE`] (larger
    /// than the codec's default limit: an answer carries many blocks).
    pub fn decode(bytes: &[u8]) -> Result<SyncResponse, WireError> {
        Ok(codec::decode_within::<_, MAX_SYNC_RESPONSE>(bytes)?)
    }
}

/// Why a message from a peer was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The bytes do not decode.
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// A signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// A proposal names another block than it carries.
    #[error("proposal does not match its block")]
    BlockMismatch,
    /// A transaction batch is empty or longer than [`MAX_GOSSIP_TXS`].
    #[error("transaction batch of {count} (1 to {MAX_GOSSIP_TXS} allowed)")]
    BadBatch {
        /// Transactions in the batch.
        count: usize,
    },
}

/// Encodes a message for the wire.
pub fn encode<T: bincode::Encode>(message: &T) -> Vec<u8> {
    codec::encode(message)
}

/// Decodes a message from the wire, strictly.
pub fn decode<T: codec::Canonical>(bytes: &[u8]) -> Result<T, WireError> {
    Ok(codec::decode(bytes)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use guild_ledger::block::BlockHeader;
    use guild_ledger::types::Timestamp;

    fn block() -> Block {
        Block {
            header: BlockHeader {
                height: Height(3),
                prev_hash: Hash([1; 32]),
                time: Timestamp(5),
                proposer: Address([0; 32]),
                tx_root: Hash([2; 32]),
                state_root: Hash([3; 32]),
            },
            txs: vec![],
        }
    }

    #[test]
    fn proposal_signature_binds_chain_and_block() {
        let key = Keypair::from_secret(&[9; 32]);
        let chain = ChainId::new("test").unwrap();
        let block = block();
        let proposal = Proposal {
            height: Height(3),
            round: 1,
            valid_round: None,
            block: block.header.hash(),
        };
        let signed = proposal.sign(&key, &chain, block.clone());
        assert_eq!(signed.verify(&chain), Ok(()));
        let other = ChainId::new("other").unwrap();
        assert_eq!(signed.verify(&other), Err(WireError::BadSignature));
        let mut swapped = signed.clone();
        swapped.block.header.time = Timestamp(6);
        assert_eq!(swapped.verify(&chain), Err(WireError::BlockMismatch));
        let envelope = Envelope {
            publication: 7,
            message: Gossip::Consensus(ConsensusMessage::Proposal(signed)),
        };
        let bytes = encode(&envelope);
        assert_eq!(Envelope::decode(&bytes), Ok(envelope));
        let mut long = bytes.clone();
        long.push(0);
        assert!(Envelope::decode(&long).is_err());
        assert!(Envelope::decode(&bytes[..bytes.len() - 1]).is_err());
    }

    #[test]
    fn transaction_batches_are_bounded() {
        let key = Keypair::from_secret(&[3; 32]);
        let chain = ChainId::new("test").unwrap();
        let tx = guild_ledger::tx::Transaction {
            author: key.address(),
            nonce: guild_ledger::types::Nonce(0),
            body: guild_ledger::tx::TxBody::Transfer {
                to: key.address(),
                points: guild_ledger::types::Points(1),
                memo: None,
            },
        }
        .sign(&key, &chain);
        let batch = |count: usize| {
            encode(&Envelope {
                publication: 1,
                message: Gossip::Txs(vec![tx.clone(); count]),
            })
        };
        assert!(Envelope::decode(&batch(1)).is_ok());
        assert!(Envelope::decode(&batch(MAX_GOSSIP_TXS)).is_ok());
        assert_eq!(
            Envelope::decode(&batch(MAX_GOSSIP_TXS + 1)),
            Err(WireError::BadBatch {
                count: MAX_GOSSIP_TXS + 1
            })
        );
        assert_eq!(
            Envelope::decode(&batch(0)),
            Err(WireError::BadBatch { count: 0 })
        );
    }

    proptest::proptest! {
        #[test]
        fn random_bytes_never_panic_the_decoder(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048)) {
            let _ = Envelope::decode(&bytes);
            let _ = SyncRequest::decode(&bytes);
            let _ = SyncResponse::decode(&bytes);
        }

        #[test]
        fn a_flipped_byte_in_a_vote_is_refused_or_fails_its_signature(index in 0usize..200, bit in 0u8..8) {
            let key = Keypair::from_secret(&[4; 32]);
            let chain = ChainId::new("test").unwrap();
            let vote = guild_ledger::block::Vote {
                kind: guild_ledger::block::VoteKind::Prevote,
                height: Height(7),
                round: 0,
                block: Some(Hash([5; 32])),
            };
            let signed = SignedVote { vote, voter: key.address(), signature: vote.sign(&key, &chain) };
            let message = Gossip::Consensus(ConsensusMessage::Vote(signed.clone()));
            let mut bytes = encode(&Envelope { publication: 3, message: message.clone() });
            // Flip a bit of the message, not of the publication number.
            let prefix = bytes.len() - encode(&message).len();
            let index = prefix + index % (bytes.len() - prefix);
            bytes[index] ^= 1 << bit;
            if let Ok(Envelope { message: Gossip::Consensus(ConsensusMessage::Vote(v)), .. }) = Envelope::decode(&bytes) {
                proptest::prop_assert!(v != signed);
                proptest::prop_assert!(v.verify(&chain).is_err());
            }
        }
    }
}
