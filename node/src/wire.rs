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

/// Everything sent by gossip, one enum so a topic can carry only its kind.
#[derive(Clone, Debug, PartialEq, Eq, bincode::Encode, bincode::Decode)]
pub enum Gossip {
    /// Consensus traffic among members.
    Consensus(ConsensusMessage),
    /// A transaction for the mempools.
    Tx(SignedTransaction),
    /// A chain-head announcement.
    Status(Status),
}

/// Sync request: final blocks from `from`, at most `max` of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, bincode::Encode, bincode::Decode)]
pub struct SyncRequest {
    /// First height wanted.
    pub from: Height,
    /// Most blocks wanted.
    pub max: u32,
}

/// Sync response: consecutive final blocks starting at the requested height
/// (empty if the peer has none).
#[derive(Clone, Debug, PartialEq, Eq, bincode::Encode, bincode::Decode)]
pub struct SyncResponse {
    /// The blocks, in height order.
    pub blocks: Vec<FinalBlock>,
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
        let bytes = encode(&Gossip::Consensus(ConsensusMessage::Proposal(
            signed.clone(),
        )));
        let back: Gossip = decode(&bytes).unwrap();
        assert_eq!(back, Gossip::Consensus(ConsensusMessage::Proposal(signed)));
        let mut long = bytes.clone();
        long.push(0);
        assert!(decode::<Gossip>(&long).is_err());
        assert!(decode::<Gossip>(&bytes[..bytes.len() - 1]).is_err());
    }

    proptest::proptest! {
        #[test]
        fn random_bytes_never_panic_the_decoder(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048)) {
            let _ = decode::<Gossip>(&bytes);
            let _ = decode::<SyncRequest>(&bytes);
            let _ = decode::<SyncResponse>(&bytes);
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
            let mut bytes = encode(&Gossip::Consensus(ConsensusMessage::Vote(signed.clone())));
            let index = index % bytes.len();
            bytes[index] ^= 1 << bit;
            if let Ok(Gossip::Consensus(ConsensusMessage::Vote(v))) = decode::<Gossip>(&bytes) {
                proptest::prop_assert!(v != signed);
                proptest::prop_assert!(v.verify(&chain).is_err());
            }
        }
    }
}
