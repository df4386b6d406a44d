//! What goes into and comes out of the machine: configuration, steps, signed
//! votes, the signing hook, inputs and outputs.

use guild_ledger::block::{CommitCertificate, Vote};
use guild_ledger::crypto::{Address, BadSignature, Signature};
use guild_ledger::hash::Hash;
use guild_ledger::types::ChainId;
use std::time::Duration;

/// The step of a round (the paper's `step_p`). Ordered as in the paper:
/// `Propose < Prevote < Precommit`, so `step >= Step::Prevote` reads as there.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// Waiting for the round's proposal.
    Propose,
    /// Prevoted; waiting for prevotes of the others.
    Prevote,
    /// Precommitted; waiting for precommits of the others.
    Precommit,
}

/// Timeouts. A timeout of `round` lasts `base + delta * round`, so that once
/// the network is synchronous again rounds eventually last long enough for
/// every message of a round to arrive (the paper's partial-synchrony
/// assumption, §2 and Lemma 6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// How long a non-proposer waits for the proposal of round 0.
    pub timeout_propose: Duration,
    /// Added to `timeout_propose` per round.
    pub timeout_propose_delta: Duration,
    /// How long to wait for more prevotes after seeing 2f+1 of any kind.
    pub timeout_prevote: Duration,
    /// Added to `timeout_prevote` per round.
    pub timeout_prevote_delta: Duration,
    /// How long to wait for more precommits after seeing 2f+1 of any kind.
    pub timeout_precommit: Duration,
    /// Added to `timeout_precommit` per round.
    pub timeout_precommit_delta: Duration,
}

impl Default for Config {
    /// Propose 3 s + 0.5 s per round; prevote and precommit 1 s + 0.5 s per
    /// round.
    fn default() -> Self {
        Config {
            timeout_propose: Duration::from_secs(3),
            timeout_propose_delta: Duration::from_millis(500),
            timeout_prevote: Duration::from_secs(1),
            timeout_prevote_delta: Duration::from_millis(500),
            timeout_precommit: Duration::from_secs(1),
            timeout_precommit_delta: Duration::from_millis(500),
        }
    }
}

impl Config {
    /// The timeout of `step` in `round`: `base + delta * round`, saturating
    /// at `Duration::MAX`.
    pub fn timeout(&self, step: Step, round: u32) -> Duration {
        let (base, delta) = match step {
            Step::Propose => (self.timeout_propose, self.timeout_propose_delta),
            Step::Prevote => (self.timeout_prevote, self.timeout_prevote_delta),
            Step::Precommit => (self.timeout_precommit, self.timeout_precommit_delta),
        };
        base.saturating_add(delta.saturating_mul(round))
    }
}

/// A vote with its voter and the voter's signature over it.
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
pub struct SignedVote {
    /// What was voted.
    pub vote: Vote,
    /// Who voted.
    pub voter: Address,
    /// `voter`'s signature over `vote` (see [`Vote::sign`]).
    pub signature: Signature,
}

impl SignedVote {
    /// Checks the signature, as the caller must before handing the vote to
    /// the machine.
    pub fn verify(&self, chain_id: &ChainId) -> Result<(), BadSignature> {
        self.vote.verify(&self.voter, chain_id, &self.signature)
    }
}

/// Signs this node's votes.
///
/// The node's implementation durably records the vote before returning (so a
/// restarted member never signs two different votes for one height, round
/// and kind) and returns `None` when it refuses (a conflict with a vote signed
/// before a restart, or a disk error). The machine then does not cast that
/// vote, but still advances its step as the algorithm says.
///
/// Signing the same vote again must succeed (and may return the recorded
/// signature): after a restart the machine may legitimately repeat a vote.
pub trait VoteSigner {
    /// Records and signs `vote`, or refuses with `None`.
    fn sign_vote(&mut self, vote: &Vote) -> Option<Signature>;
}

impl<S: VoteSigner + ?Sized> VoteSigner for &mut S {
    fn sign_vote(&mut self, vote: &Vote) -> Option<Signature> {
        (**self).sign_vote(vote)
    }
}

impl<S: VoteSigner + ?Sized> VoteSigner for Box<S> {
    fn sign_vote(&mut self, vote: &Vote) -> Option<Signature> {
        (**self).sign_vote(vote)
    }
}

/// A signer that refuses everything: the signer of an observer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoSigner;

impl VoteSigner for NoSigner {
    fn sign_vote(&mut self, _vote: &Vote) -> Option<Signature> {
        None
    }
}

/// Something that happened, handed to [`Consensus::handle`](super::Consensus::handle).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// A proposal for this machine's height from the member named
    /// `proposer`. The caller checked the proposal's signature; `valid` is
    /// the caller's verdict `valid(v)`: the block applies cleanly to the
    /// state at this height. Proposals from anyone but `proposer(round)` are
    /// ignored.
    Proposal {
        /// The round it proposes for.
        round: u32,
        /// Who signed it.
        proposer: Address,
        /// The block's hash (the caller holds the block itself).
        block: Hash,
        /// The round of the proof-of-lock the proposer re-proposes from
        /// (`vr` of the paper; `None` is the paper's `-1`).
        valid_round: Option<u32>,
        /// Whether the block is valid at this height.
        valid: bool,
    },
    /// A vote whose signature the caller checked.
    Vote(SignedVote),
    /// A timeout the machine asked for (via [`Output::ScheduleTimeout`]) has
    /// fired. Stale ones (another round or step) are ignored, as in the
    /// paper.
    Timeout {
        /// The step it was scheduled for.
        step: Step,
        /// The round it was scheduled for.
        round: u32,
    },
    /// Answer to [`Output::BuildBlock`]: the caller built a new block with
    /// this hash.
    BlockBuilt {
        /// The round it was asked for.
        round: u32,
        /// The new block's hash.
        block: Hash,
    },
}

/// Something the caller must do, returned by the machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// We are the proposer of `round` and have no valid value: build a block
    /// and answer with [`Input::BlockBuilt`] (line 18, `getValue()`).
    BuildBlock {
        /// The round to build for.
        round: u32,
    },
    /// Sign and broadcast a proposal of `block` (the caller holds the block
    /// bytes) — line 19. The machine has already taken it as received.
    Propose {
        /// The round.
        round: u32,
        /// The proposed block's hash.
        block: Hash,
        /// The proof-of-lock round of a re-proposed value (`None` for a new
        /// block).
        valid_round: Option<u32>,
    },
    /// Broadcast this vote. It was signed through the [`VoteSigner`] (or is
    /// our vote from before a restart, cast again) and the machine has
    /// already counted it itself.
    Broadcast(SignedVote),
    /// Call back with [`Input::Timeout`] `{ step, round }` after `after`.
    ScheduleTimeout {
        /// The step to report.
        step: Step,
        /// The round to report.
        round: u32,
        /// How long to wait.
        after: Duration,
    },
    /// The height is decided (lines 49-54). The certificate holds the
    /// precommit signatures for `block` at the deciding round, sorted
    /// strictly by voter, at least a quorum of them.
    Decided {
        /// The decided block's hash.
        block: Hash,
        /// Proof of the decision, checkable by anyone with
        /// [`CommitCertificate::verify`].
        certificate: CommitCertificate,
    },
    /// A member signed two different votes for one round and kind. Only the
    /// first is counted; each (voter, round, kind) is reported once.
    Equivocation {
        /// The vote that was counted.
        first: SignedVote,
        /// The conflicting vote.
        second: SignedVote,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_grow_by_delta_per_round_and_saturate() {
        let config = Config::default();
        assert_eq!(config.timeout(Step::Propose, 0), Duration::from_secs(3));
        assert_eq!(
            config.timeout(Step::Propose, 3),
            Duration::from_millis(4500)
        );
        assert_eq!(config.timeout(Step::Prevote, 2), Duration::from_secs(2));
        assert_eq!(
            config.timeout(Step::Precommit, 1),
            Duration::from_millis(1500)
        );
        let huge = Config {
            timeout_precommit: Duration::MAX,
            ..Config::default()
        };
        assert_eq!(huge.timeout(Step::Precommit, u32::MAX), Duration::MAX);
    }

    #[test]
    fn steps_are_ordered_as_in_the_paper() {
        assert!(Step::Propose < Step::Prevote);
        assert!(Step::Prevote < Step::Precommit);
    }
}
