//! Vote bookkeeping for one height: tallies per round, kind and value,
//! equivocation detection, and the thresholds the rules need (2f+1 for a
//! value or for anything; f+1 distinct voters in a round).
//!
//! # Counting, as in the paper
//!
//! "2f+1 ⟨PREVOTE, h, r, id(v)⟩" means prevotes for `v` from 2f+1 distinct
//! members, and "2f+1 ⟨PREVOTE, h, r, ∗⟩" prevotes from 2f+1 distinct
//! members. Every member counts once (votes carry no weight), so throughout
//! this module "2f+1" is the quorum `quorum(n) = floor(2n/3) + 1` and "f+1"
//! is `n - quorum(n) + 1`, counted in distinct members; they equal 2f+1 and
//! f+1 exactly when n = 3f+1. So:
//!
//! - the **first** vote of a member in a round and kind counts for "any"
//!   (`*`) and for its value;
//! - a **conflicting** vote (same member, round and kind, another value) is
//!   equivocation: reported once, never counted for "any" (a member counts
//!   once there), but it may be counted for its own value, once per value
//!   ([`VoteKeeper::add_conflicting`]). Safety does not suffer: two sets of
//!   2f+1 members share at least f+1 members, one of them honest, and honest
//!   members never equivocate. Liveness needs it: if an honest member locked
//!   on a polka that includes a Byzantine member's vote sent to it alone,
//!   the others can only accept the re-proposal (line 28) once they count
//!   that same vote, even if the Byzantine member sent them a different one
//!   first.
//!
//! Memory stays bounded: one first vote per (member, round, kind), plus at
//! most [`MAX_CONFLICTING`] conflicting ones, which the machine only exceeds
//! (up to [`MAX_CONFLICTING_FORCED`]) for blocks that have a proposal.
//!
//! The keeper does not check membership, height or signatures: the machine
//! filters those before calling [`VoteKeeper::add`].

use super::types::SignedVote;
use guild_ledger::block::{CommitSignature, VoteKind};
use guild_ledger::crypto::Address;
use guild_ledger::hash::Hash;
use std::collections::{BTreeMap, BTreeSet};

/// Conflicting votes kept per (member, round, kind) for any block.
pub(crate) const MAX_CONFLICTING: usize = 4;
/// Conflicting votes kept per (member, round, kind) for blocks that have a
/// proposal.
pub(crate) const MAX_CONFLICTING_FORCED: usize = 16;

/// What [`VoteKeeper::add`] did with a vote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Added {
    /// First vote of this member for this round and kind: counted.
    Counted,
    /// A vote already held: ignored.
    Duplicate,
    /// A vote that differs from the member's first one for this round and
    /// kind: not counted yet (see [`VoteKeeper::add_conflicting`]).
    Conflicting {
        /// The member's first vote.
        first: SignedVote,
        /// True the first time this (member, round, kind) conflicts: report
        /// it as evidence.
        report: bool,
    },
}

/// One member's votes of one kind in one round.
#[derive(Debug)]
struct Slot {
    first: SignedVote,
    /// Conflicting votes, each for a distinct block other than `first`'s.
    conflicting: Vec<SignedVote>,
}

impl Slot {
    fn votes(&self) -> impl Iterator<Item = &SignedVote> {
        std::iter::once(&self.first).chain(&self.conflicting)
    }
}

/// The votes of one kind in one round.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    /// Per member, in ascending member order.
    slots: BTreeMap<Address, Slot>,
    /// Distinct members per value (`None` = nil).
    counts: BTreeMap<Option<Hash>, usize>,
}

impl Tally {
    /// Members that voted for `value`.
    pub(crate) fn count(&self, value: Option<Hash>) -> usize {
        self.counts.get(&value).copied().unwrap_or(0)
    }

    /// Members that voted at all (the paper's `*`).
    pub(crate) fn total(&self) -> usize {
        self.slots.len()
    }

    /// A value with at least `threshold` votes, if any. With `threshold` a
    /// quorum and at most f equivocating members, at most one value can
    /// reach it.
    pub(crate) fn value_with(&self, threshold: usize) -> Option<Option<Hash>> {
        self.counts
            .iter()
            .find(|(_, count)| **count >= threshold)
            .map(|(value, _)| *value)
    }

    /// The votes for `value`, one per member, ascending by member.
    fn votes_for(&self, value: Option<Hash>) -> impl Iterator<Item = &SignedVote> {
        self.slots
            .values()
            .filter_map(move |slot| slot.votes().find(|v| v.vote.block == value))
    }
}

/// The votes of one round.
#[derive(Debug, Default)]
struct RoundVotes {
    prevotes: Tally,
    precommits: Tally,
    /// Distinct members of either kind (for the f+1 rule, line 55).
    voters: BTreeSet<Address>,
}

impl RoundVotes {
    fn tally_mut(&mut self, kind: VoteKind) -> &mut Tally {
        match kind {
            VoteKind::Prevote => &mut self.prevotes,
            VoteKind::Precommit => &mut self.precommits,
        }
    }

    fn tally(&self, kind: VoteKind) -> &Tally {
        match kind {
            VoteKind::Prevote => &self.prevotes,
            VoteKind::Precommit => &self.precommits,
        }
    }
}

/// All votes of one height.
#[derive(Debug)]
pub(crate) struct VoteKeeper {
    /// 2f+1: the quorum.
    quorum: usize,
    /// f+1: distinct voters in a higher round that make us skip to it.
    skip: usize,
    rounds: BTreeMap<u32, RoundVotes>,
    /// (round, kind, member) already reported as equivocating.
    reported: BTreeSet<(u32, VoteKind, Address)>,
    /// (round, block) with a quorum of precommits: candidates for a decision
    /// (line 49).
    precommit_quorums: BTreeSet<(u32, Hash)>,
    /// Rounds with at least f+1 distinct voters (line 55).
    skip_rounds: BTreeSet<u32>,
    /// An empty tally, returned for rounds without votes.
    empty: Tally,
}

impl VoteKeeper {
    /// A keeper for thresholds `quorum` (2f+1) and `skip` (f+1).
    pub(crate) fn new(quorum: usize, skip: usize) -> Self {
        VoteKeeper {
            quorum,
            skip,
            rounds: BTreeMap::new(),
            reported: BTreeSet::new(),
            precommit_quorums: BTreeSet::new(),
            skip_rounds: BTreeSet::new(),
            empty: Tally::default(),
        }
    }

    /// Records `vote` if it is its member's first for its round and kind.
    pub(crate) fn add(&mut self, vote: SignedVote) -> Added {
        let round = vote.vote.round;
        let kind = vote.vote.kind;
        let voter = vote.voter;
        let votes = self.rounds.entry(round).or_default();
        let tally = votes.tally_mut(kind);
        if let Some(slot) = tally.slots.get(&voter) {
            if slot.votes().any(|held| held.vote == vote.vote) {
                return Added::Duplicate;
            }
            return Added::Conflicting {
                first: slot.first.clone(),
                report: self.reported.insert((round, kind, voter)),
            };
        }
        let value = vote.vote.block;
        tally.slots.insert(
            voter,
            Slot {
                first: vote,
                conflicting: Vec::new(),
            },
        );
        votes.voters.insert(voter);
        if votes.voters.len() >= self.skip {
            self.skip_rounds.insert(round);
        }
        self.count(round, kind, value);
        Added::Counted
    }

    /// Counts a vote for which [`add`](Self::add) answered `Conflicting`,
    /// for its own block only (never for "any", never nil). Kept up to
    /// [`MAX_CONFLICTING`] per (member, round, kind), or up to
    /// [`MAX_CONFLICTING_FORCED`] if `proposed` (its block has a proposal).
    /// Returns whether it was counted.
    pub(crate) fn add_conflicting(&mut self, vote: SignedVote, proposed: bool) -> bool {
        let round = vote.vote.round;
        let kind = vote.vote.kind;
        let Some(block) = vote.vote.block else {
            return false;
        };
        let Some(slot) = self
            .rounds
            .get_mut(&round)
            .and_then(|votes| votes.tally_mut(kind).slots.get_mut(&vote.voter))
        else {
            return false;
        };
        let limit = if proposed {
            MAX_CONFLICTING_FORCED
        } else {
            MAX_CONFLICTING
        };
        if slot.conflicting.len() >= limit || slot.votes().any(|v| v.vote.block == Some(block)) {
            return false;
        }
        slot.conflicting.push(vote);
        self.count(round, kind, Some(block));
        true
    }

    fn count(&mut self, round: u32, kind: VoteKind, value: Option<Hash>) {
        let Some(votes) = self.rounds.get_mut(&round) else {
            return;
        };
        let count = votes.tally_mut(kind).counts.entry(value).or_insert(0);
        *count += 1;
        if kind == VoteKind::Precommit
            && *count >= self.quorum
            && let Some(block) = value
        {
            self.precommit_quorums.insert((round, block));
        }
    }

    /// The votes of `kind` in `round` (empty if none).
    pub(crate) fn tally(&self, round: u32, kind: VoteKind) -> &Tally {
        self.rounds
            .get(&round)
            .map_or(&self.empty, |votes| votes.tally(kind))
    }

    /// Members that voted `kind` in `round` for `value`.
    pub(crate) fn count_for(&self, round: u32, kind: VoteKind, value: Option<Hash>) -> usize {
        self.tally(round, kind).count(value)
    }

    /// The first vote `voter` cast in `round` of `kind`, if any.
    pub(crate) fn first_vote_of(
        &self,
        voter: &Address,
        round: u32,
        kind: VoteKind,
    ) -> Option<&SignedVote> {
        self.tally(round, kind).slots.get(voter).map(|s| &s.first)
    }

    /// The votes of `kind` in `round` for `value`, one per member, strictly
    /// ascending by member.
    pub(crate) fn votes_for(
        &self,
        round: u32,
        kind: VoteKind,
        value: Option<Hash>,
    ) -> Vec<SignedVote> {
        self.tally(round, kind).votes_for(value).cloned().collect()
    }

    /// Rounds and blocks with a quorum of precommits, ascending.
    pub(crate) fn precommit_quorums(&self) -> impl Iterator<Item = (u32, Hash)> + '_ {
        self.precommit_quorums.iter().copied()
    }

    /// The highest round above `round` with at least f+1 distinct voters.
    pub(crate) fn skip_round_above(&self, round: u32) -> Option<u32> {
        let above = round.checked_add(1)?;
        self.skip_rounds.range(above..).next_back().copied()
    }

    /// The precommit signatures for `block` in `round`, strictly ascending by
    /// voter (as a [`CommitCertificate`](guild_ledger::block::CommitCertificate)
    /// requires).
    pub(crate) fn commit_signatures(&self, round: u32, block: Hash) -> Vec<CommitSignature> {
        self.tally(round, VoteKind::Precommit)
            .votes_for(Some(block))
            .map(|vote| CommitSignature {
                voter: vote.voter,
                signature: vote.signature,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use guild_ledger::block::Vote;
    use guild_ledger::crypto::Signature;
    use guild_ledger::types::Height;

    fn vote(voter: u8, round: u32, kind: VoteKind, block: Option<u8>) -> SignedVote {
        SignedVote {
            vote: Vote {
                kind,
                height: Height(1),
                round,
                block: block.map(|b| Hash([b; 32])),
            },
            voter: Address([voter; 32]),
            signature: Signature([voter; 64]),
        }
    }

    fn h(b: u8) -> Option<Hash> {
        Some(Hash([b; 32]))
    }

    #[test]
    fn counts_one_first_vote_per_voter_round_and_kind() {
        let mut keeper = VoteKeeper::new(3, 2);
        assert_eq!(
            keeper.add(vote(1, 0, VoteKind::Prevote, Some(7))),
            Added::Counted
        );
        assert_eq!(
            keeper.add(vote(1, 0, VoteKind::Prevote, Some(7))),
            Added::Duplicate
        );
        // Another kind or round is another slot.
        assert_eq!(
            keeper.add(vote(1, 0, VoteKind::Precommit, Some(7))),
            Added::Counted
        );
        assert_eq!(
            keeper.add(vote(1, 1, VoteKind::Prevote, None)),
            Added::Counted
        );
        assert_eq!(keeper.count_for(0, VoteKind::Prevote, h(7)), 1);
        assert_eq!(keeper.tally(0, VoteKind::Prevote).total(), 1);
        assert_eq!(keeper.tally(5, VoteKind::Prevote).total(), 0);
    }

    #[test]
    fn conflicting_votes_are_reported_once_and_count_only_for_their_block() {
        let mut keeper = VoteKeeper::new(3, 2);
        let first = vote(1, 0, VoteKind::Prevote, Some(7));
        keeper.add(first.clone());
        assert_eq!(
            keeper.add(vote(1, 0, VoteKind::Prevote, None)),
            Added::Conflicting {
                first: first.clone(),
                report: true
            }
        );
        // Nil is never counted from a conflicting vote.
        assert!(!keeper.add_conflicting(vote(1, 0, VoteKind::Prevote, None), true));
        assert_eq!(
            keeper.add(vote(1, 0, VoteKind::Prevote, Some(8))),
            Added::Conflicting {
                first,
                report: false
            }
        );
        assert!(keeper.add_conflicting(vote(1, 0, VoteKind::Prevote, Some(8)), false));
        // Held now: a duplicate, and not counted twice.
        assert_eq!(
            keeper.add(vote(1, 0, VoteKind::Prevote, Some(8))),
            Added::Duplicate
        );
        assert!(!keeper.add_conflicting(vote(1, 0, VoteKind::Prevote, Some(8)), false));
        let tally = keeper.tally(0, VoteKind::Prevote);
        assert_eq!(tally.total(), 1);
        assert_eq!(tally.count(None), 0);
        assert_eq!(tally.count(h(7)), 1);
        assert_eq!(tally.count(h(8)), 1);
    }

    #[test]
    fn conflicting_votes_are_bounded() {
        let mut keeper = VoteKeeper::new(3, 2);
        keeper.add(vote(1, 0, VoteKind::Prevote, Some(0)));
        for b in 1..=MAX_CONFLICTING as u8 {
            assert!(keeper.add_conflicting(vote(1, 0, VoteKind::Prevote, Some(b)), false));
        }
        let next = MAX_CONFLICTING as u8 + 1;
        assert!(!keeper.add_conflicting(vote(1, 0, VoteKind::Prevote, Some(next)), false));
        // A proposed block still gets in, up to the forced limit.
        assert!(keeper.add_conflicting(vote(1, 0, VoteKind::Prevote, Some(next)), true));
        for b in next + 1..=MAX_CONFLICTING_FORCED as u8 {
            assert!(keeper.add_conflicting(vote(1, 0, VoteKind::Prevote, Some(b)), true));
        }
        let last = MAX_CONFLICTING_FORCED as u8 + 1;
        assert!(!keeper.add_conflicting(vote(1, 0, VoteKind::Prevote, Some(last)), true));
        // A vote whose slot does not exist is not counted.
        assert!(!keeper.add_conflicting(vote(2, 0, VoteKind::Prevote, Some(1)), true));
    }

    #[test]
    fn thresholds_are_tracked() {
        let mut keeper = VoteKeeper::new(3, 2);
        keeper.add(vote(1, 4, VoteKind::Prevote, None));
        assert_eq!(keeper.skip_round_above(0), None);
        // A second distinct voter, of the other kind, makes f+1 = 2.
        keeper.add(vote(2, 4, VoteKind::Precommit, Some(9)));
        assert_eq!(keeper.skip_round_above(0), Some(4));
        assert_eq!(keeper.skip_round_above(4), None);
        assert_eq!(keeper.skip_round_above(u32::MAX), None);
        keeper.add(vote(1, 4, VoteKind::Precommit, Some(9)));
        assert_eq!(keeper.precommit_quorums().count(), 0);
        // The third precommit for 9 is a conflicting one of voter 3.
        keeper.add(vote(3, 4, VoteKind::Precommit, None));
        assert!(keeper.add_conflicting(vote(3, 4, VoteKind::Precommit, Some(9)), true));
        assert_eq!(
            keeper.precommit_quorums().collect::<Vec<_>>(),
            vec![(4, Hash([9; 32]))]
        );
        assert_eq!(
            keeper.tally(4, VoteKind::Precommit).value_with(3),
            Some(h(9))
        );
        let voters: Vec<Address> = keeper
            .commit_signatures(4, Hash([9; 32]))
            .iter()
            .map(|s| s.voter)
            .collect();
        assert_eq!(
            voters,
            vec![Address([1; 32]), Address([2; 32]), Address([3; 32])]
        );
        assert_eq!(keeper.votes_for(4, VoteKind::Precommit, None).len(), 1);
        assert_eq!(
            keeper
                .first_vote_of(&Address([3; 32]), 4, VoteKind::Precommit)
                .map(|v| v.vote.block),
            Some(None)
        );
    }

    #[test]
    fn nil_precommits_are_never_decision_candidates() {
        let mut keeper = VoteKeeper::new(1, 1);
        keeper.add(vote(1, 0, VoteKind::Precommit, None));
        assert_eq!(keeper.precommit_quorums().count(), 0);
        assert_eq!(
            keeper.tally(0, VoteKind::Precommit).value_with(1),
            Some(None)
        );
    }
}
