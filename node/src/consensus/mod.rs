//! # BFT consensus: Tendermint for one height, as a pure state machine
//!
//! The members of the network agree on the next block with the algorithm of
//! Buchman, Kwon and Milosevic, *The latest gossip on BFT consensus*
//! (arXiv:1807.04938, Algorithm 1). With `n` members of which at most `f`
//! are faulty, `n >= 3f + 1`, it never lets two honest members decide
//! different blocks (whatever the network does), and once the network
//! delivers messages within a bound (after "GST") every honest member
//! decides.
//!
//! ## The idea
//!
//! Each height runs in rounds. In round `r` the member `proposer(h, r)`
//! proposes a block; every member **prevotes** for it (or for nil if the
//! block is invalid, absent in time, or conflicts with its lock); a member
//! that sees prevotes for the block from a quorum (2f+1, a "polka")
//! **locks** on it and **precommits** it; a quorum of precommits for a block
//! decides it, and those precommit signatures form the block's
//! [`CommitCertificate`](guild_ledger::block::CommitCertificate). Locks make a
//! decided block the only one that can gather a polka in later rounds;
//! timeouts that grow with the round make rounds eventually long enough once
//! the network behaves.
//!
//! ## This module
//!
//! [`Consensus`] is one height of that algorithm and nothing else: inputs in,
//! outputs out. It does no I/O, reads no clock, draws no randomness, never
//! panics, and the same inputs always give the same outputs. The node around
//! it:
//!
//! - checks signatures of proposals and votes, and judges each proposed
//!   block (`valid` in [`Input::Proposal`]) against its state;
//! - hands in [`Input`]s: proposals, votes, fired timeouts, built blocks;
//! - carries out [`Output`]s: build a block, sign and send a proposal, send a
//!   vote, schedule a timeout, store the decided block with its certificate,
//!   report an equivocation;
//! - signs votes through a [`VoteSigner`] that durably records every vote
//!   before it leaves, so a restarted member never signs two different votes
//!   for one round and kind;
//! - after a decision, starts a new machine for the next height with the
//!   member set of the state after the decided block;
//! - re-broadcasts [`Consensus::own_votes`] and [`Consensus::own_proposal`]
//!   periodically, because nodes that were offline get nothing from gossip.
//!
//! Thresholds for `n` members: a quorum is `q = quorum(n) = floor(2n/3) + 1`
//! (2f+1 for `n = 3f+1`); the round-skip threshold of line 55 is
//! `n - q + 1` (f+1). Each member counts at most once per round and vote
//! kind; a second, different vote is [`Output::Equivocation`] evidence and
//! is not counted.
//!
//! ## Example
//!
//! A single member decides alone.
//!
//! ```
//! use guild_ledger::{ChainId, Hash, Height, Keypair, Signature, Vote};
//! use guild_node::consensus::{Config, Consensus, Input, Output, VoteSigner};
//! use std::collections::BTreeSet;
//!
//! /// Signs without a record; a real node writes each vote to disk first.
//! struct Signer(Keypair, ChainId);
//! impl VoteSigner for Signer {
//!     fn sign_vote(&mut self, vote: &Vote) -> Option<Signature> {
//!         Some(vote.sign(&self.0, &self.1))
//!     }
//! }
//!
//! let key = Keypair::from_secret(&[1; 32]);
//! let me = key.address();
//! let chain = ChainId::new("main-street").unwrap();
//! let signer = Signer(key, chain.clone());
//! let mut machine =
//!     Consensus::new(Height(1), BTreeSet::from([me]), Some(me), signer, Config::default());
//!
//! // We propose round 0: the node builds a block and answers with its hash.
//! let outputs = machine.start();
//! assert_eq!(outputs[0], Output::BuildBlock { round: 0 });
//! let block = Hash([7; 32]);
//! let outputs = machine.handle(Input::BlockBuilt { round: 0, block });
//!
//! // Propose, prevote, precommit, decide.
//! assert!(matches!(outputs[0], Output::Propose { round: 0, .. }));
//! let Some(Output::Decided { block: decided, certificate }) = outputs.last() else {
//!     panic!("a single member decides at once");
//! };
//! assert_eq!(*decided, block);
//! assert_eq!(certificate.signatures[0].voter, me);
//! assert!(machine.is_decided());
//! ```
//!
//! See `docs/consensus.md` for the protocol as a whole: proposer rotation,
//! timeouts, the signing record, fault tolerance per network size and
//! membership changes.

mod machine;
mod types;
mod votes;

pub use machine::{Consensus, MAX_PROPOSALS_PER_ROUND, MAX_ROUNDS_AHEAD};
pub use types::{Config, Input, NoSigner, Output, SignedVote, Step, VoteSigner};
