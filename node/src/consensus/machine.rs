//! The Tendermint state machine for one height (Algorithm 1 of Buchman, Kwon
//! and Milosevic, "The latest gossip on BFT consensus", arXiv:1807.04938).
//!
//! (Over the ~800 lines the project keeps to, on purpose: it is one step
//! function of Algorithm 1, and its rules read best beside each other, as
//! in the paper. Vote bookkeeping lives in `votes.rs`.)
//!
//! Every rule is a method named after what it does, with the lines of
//! Algorithm 1 it implements in a comment. After each input the machine
//! re-evaluates all rules until none fires, so inputs may arrive in any
//! order: votes before their proposal, messages of rounds we have not reached
//! yet, timeouts late.

use super::types::{Config, Input, Output, SignedVote, Step, VoteSigner};
use super::votes::{Added, VoteKeeper};
use guild_ledger::block::{CommitCertificate, Vote, VoteKind, quorum};
use guild_ledger::crypto::Address;
use guild_ledger::hash::Hash;
use guild_ledger::types::Height;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Votes and proposals for rounds more than this far beyond the current
/// round are ignored, which bounds what a faulty member can make us store.
/// (Rounds last at least a few seconds each, so an honest member is never
/// that far ahead; and it re-broadcasts its votes, so nothing needed is
/// lost for good.)
pub const MAX_ROUNDS_AHEAD: u32 = 1000;

/// Distinct proposals kept per round. Only a faulty proposer sends more than
/// one; beyond this number a proposal is still kept if f+1 members voted for
/// its block (at least one of them honest), so the proposal a decision can
/// need is not crowded out.
pub const MAX_PROPOSALS_PER_ROUND: usize = 4;

/// A proposal as received: the paper's `<PROPOSAL, h, r, v, vr>` plus the
/// caller's verdict `valid(v)`. Only proposals from `proposer(h, r)` are
/// stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Proposal {
    block: Hash,
    valid_round: Option<u32>,
    valid: bool,
}

/// The "for the first time" guards of the current round (reset by
/// `StartRound`).
#[derive(Clone, Copy, Debug, Default)]
struct RoundFlags {
    /// Line 34 fired (timeout prevote scheduled).
    prevote_timeout: bool,
    /// Line 36 fired (polka for the proposal seen).
    polka_for_proposal: bool,
    /// Line 47 fired (timeout precommit scheduled).
    precommit_timeout: bool,
    /// The stall guard of the prevote step is scheduled.
    prevote_guard: bool,
    /// The stall guard of the precommit step is scheduled.
    precommit_guard: bool,
}

/// Tendermint consensus for one height, as a pure state machine.
///
/// See the [module documentation](super) for the idea and an example.
pub struct Consensus<S: VoteSigner> {
    height: Height,
    members: BTreeSet<Address>,
    /// The members in ascending order, for `proposer`.
    order: Vec<Address>,
    /// `me` if it is a member: the address we vote and propose as.
    voter: Option<Address>,
    signer: S,
    config: Config,
    /// `quorum(n)` distinct members (2f+1 when n = 3f+1).
    quorum: usize,
    /// n - q + 1 distinct members (f+1 when n = 3f+1).
    skip: usize,
    started: bool,
    /// `round_p`.
    round: u32,
    /// `step_p`.
    step: Step,
    /// `(lockedRound_p, lockedValue_p)`.
    locked: Option<(u32, Hash)>,
    /// `(validRound_p, validValue_p)`.
    valid: Option<(u32, Hash)>,
    /// `decision_p[h_p]`.
    decided: Option<Hash>,
    flags: RoundFlags,
    /// The round we asked the caller to build a block for.
    awaiting_block: Option<u32>,
    votes: VoteKeeper,
    /// Proposals from each round's proposer, in arrival order.
    proposals: BTreeMap<u32, Vec<Proposal>>,
    own_votes: Vec<SignedVote>,
    own_proposal: Option<(u32, Hash, Option<u32>)>,
}

impl<S: VoteSigner> fmt::Debug for Consensus<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Consensus")
            .field("height", &self.height)
            .field("members", &self.members.len())
            .field("voter", &self.voter)
            .field("round", &self.round)
            .field("step", &self.step)
            .field("locked", &self.locked)
            .field("valid", &self.valid)
            .field("decided", &self.decided)
            .finish_non_exhaustive()
    }
}

impl<S: VoteSigner> Consensus<S> {
    /// A machine for `height` among `members`. `me: None` (or an address
    /// that is not a member) makes an observer: it never proposes or votes
    /// but tracks votes and can still output [`Output::Decided`].
    ///
    /// Nothing happens before [`start`](Self::start); inputs handed in
    /// before it are stored.
    pub fn new(
        height: Height,
        members: BTreeSet<Address>,
        me: Option<Address>,
        signer: S,
        config: Config,
    ) -> Self {
        let n = members.len();
        let quorum = quorum(n);
        // f+1 for n = 3f+1, and in general the smallest number of members
        // that must include one outside any set of n - q faulty ones.
        let skip = n.saturating_sub(quorum).saturating_add(1);
        let voter = me.filter(|address| members.contains(address));
        let order = members.iter().copied().collect();
        Consensus {
            height,
            members,
            order,
            voter,
            signer,
            config,
            quorum,
            skip,
            started: false,
            round: 0,
            step: Step::Propose,
            locked: None,
            valid: None,
            decided: None,
            flags: RoundFlags::default(),
            awaiting_block: None,
            votes: VoteKeeper::new(quorum, skip),
            proposals: BTreeMap::new(),
            own_votes: Vec::new(),
            own_proposal: None,
        }
    }

    /// Restores the lock (`lockedRound_p`, `lockedValue_p`) a member had
    /// before a restart, from its signing record: the highest-round
    /// precommit for a block it signed at this height. `validValue_p` is not
    /// restored, but when this member proposes while it has a lock and no
    /// valid value, it proposes the locked block (see `start_round`); the
    /// node should therefore keep the block it is locked on (if it is gone,
    /// the node cannot serve that proposal and the round times out).
    pub fn with_lock(mut self, round: u32, block: Hash) -> Self {
        self.locked = Some((round, block));
        self
    }

    /// Restores a vote this member signed at this height before a restart
    /// (from its signing record). It is counted, re-broadcast with
    /// [`own_votes`](Self::own_votes), and when the machine reaches its round
    /// and kind again it casts this vote again instead of asking the signer
    /// for another. Without it, a vote lost in the crash could never be sent
    /// again, and with few members (3 of 3 needed) the height would stall.
    /// Ignored unless it is this member's vote at this height.
    pub fn with_own_vote(mut self, vote: SignedVote) -> Self {
        if Some(vote.voter) != self.voter
            || vote.vote.height != self.height
            || !self.within_window(vote.vote.round)
        {
            return self;
        }
        if let Added::Counted | Added::Duplicate = self.votes.add(vote.clone())
            && !self.own_votes.contains(&vote)
        {
            self.own_votes.push(vote);
        }
        self
    }

    /// The prevotes that justify our valid value: 2f+1 prevotes for
    /// `validValue_p` in `validRound_p` (empty without a valid value).
    /// Re-broadcast them together with [`own_votes`](Self::own_votes): when
    /// the value is re-proposed with that valid round, every member needs
    /// this polka to accept it (line 28), and a member may have missed a
    /// vote in it (sent to us alone by a Byzantine member, or lost before it
    /// came back online).
    pub fn proof_of_lock(&self) -> Vec<SignedVote> {
        match self.valid {
            Some((round, block)) => self.votes.votes_for(round, VoteKind::Prevote, Some(block)),
            None => Vec::new(),
        }
    }

    /// `upon start do StartRound(0)` (line 10). Returns what to do: build or
    /// propose a block if we are the proposer of round 0, else schedule the
    /// propose timeout; plus whatever inputs stored before `start` now
    /// trigger. Calling it again does nothing.
    pub fn start(&mut self) -> Vec<Output> {
        let mut out = Vec::new();
        if self.started {
            return out;
        }
        self.started = true;
        // line 10: upon start do StartRound(0)
        self.start_round(0, &mut out);
        self.evaluate(&mut out);
        out
    }

    /// Handles one input and returns what to do, in order. After the
    /// decision every input is ignored.
    pub fn handle(&mut self, input: Input) -> Vec<Output> {
        let mut out = Vec::new();
        if self.decided.is_some() {
            return out;
        }
        match input {
            Input::Proposal {
                round,
                proposer,
                block,
                valid_round,
                valid,
            } => self.on_proposal(
                round,
                proposer,
                Proposal {
                    block,
                    valid_round,
                    valid,
                },
            ),
            Input::Vote(vote) => self.on_vote(vote, &mut out),
            Input::Timeout { step, round } => {
                if self.started {
                    self.on_timeout(step, round, &mut out);
                }
            }
            Input::BlockBuilt { round, block } => {
                if self.started {
                    self.on_block_built(round, block, &mut out);
                }
            }
        }
        if self.started {
            self.evaluate(&mut out);
        }
        out
    }

    /// The height this machine decides.
    pub fn height(&self) -> Height {
        self.height
    }

    /// The current round (`round_p`).
    pub fn round(&self) -> u32 {
        self.round
    }

    /// The current step (`step_p`).
    pub fn step(&self) -> Step {
        self.step
    }

    /// The members at this height.
    pub fn members(&self) -> &BTreeSet<Address> {
        &self.members
    }

    /// `proposer(h, r)`: the members in ascending order, index
    /// `(height + round) mod n`. (The zero address if there are no members.)
    pub fn proposer(&self, round: u32) -> Address {
        let n = self.order.len() as u64;
        if n == 0 {
            return Address([0; 32]);
        }
        let index = (self.height.0 % n + u64::from(round) % n) % n;
        usize::try_from(index)
            .ok()
            .and_then(|index| self.order.get(index))
            .copied()
            .unwrap_or(Address([0; 32]))
    }

    /// The votes this node cast at this height, oldest first (for periodic
    /// re-broadcast: gossip gives late joiners nothing).
    pub fn own_votes(&self) -> Vec<SignedVote> {
        self.own_votes.clone()
    }

    /// Our own proposal at the current round, if any: `(round, block,
    /// valid_round)`, for re-broadcast.
    pub fn own_proposal(&self) -> Option<(u32, Hash, Option<u32>)> {
        self.own_proposal
            .filter(|(round, _, _)| *round == self.round)
    }

    /// True once [`Output::Decided`] was output.
    pub fn is_decided(&self) -> bool {
        self.decided.is_some()
    }

    /// The decided block, once decided.
    pub fn decision(&self) -> Option<Hash> {
        self.decided
    }

    /// The current lock, if any: `(lockedRound_p, lockedValue_p)`.
    pub fn lock(&self) -> Option<(u32, Hash)> {
        self.locked
    }

    /// The current valid value, if any: `(validRound_p, validValue_p)`.
    pub fn valid_value(&self) -> Option<(u32, Hash)> {
        self.valid
    }

    /// The quorum `quorum(n)`, in distinct members (2f+1 when n = 3f+1).
    pub fn quorum(&self) -> usize {
        self.quorum
    }

    // ------------------------------------------------------------------
    // Inputs: store, then let `evaluate` fire the rules.
    // ------------------------------------------------------------------

    fn within_window(&self, round: u32) -> bool {
        round <= self.round.saturating_add(MAX_ROUNDS_AHEAD)
    }

    fn on_proposal(&mut self, round: u32, proposer: Address, proposal: Proposal) {
        // "from proposer(h_p, r)" in lines 22, 28, 36 and 49.
        if proposer != self.proposer(round) || !self.within_window(round) {
            return;
        }
        let supported = self
            .votes
            .count_for(round, VoteKind::Prevote, Some(proposal.block))
            >= self.skip
            || self
                .votes
                .count_for(round, VoteKind::Precommit, Some(proposal.block))
                >= self.skip;
        let stored = self.proposals.entry(round).or_default();
        if stored
            .iter()
            .any(|p| p.block == proposal.block && p.valid_round == proposal.valid_round)
        {
            return;
        }
        // Beyond the cap, only a block with f+1 votes and no proposal yet
        // (so at most n/(f+1) more per round).
        let new_block = !stored.iter().any(|p| p.block == proposal.block);
        if stored.len() >= MAX_PROPOSALS_PER_ROUND && !(supported && new_block) {
            return;
        }
        stored.push(proposal);
    }

    fn on_vote(&mut self, vote: SignedVote, out: &mut Vec<Output>) {
        if vote.vote.height != self.height
            || !self.members.contains(&vote.voter)
            || !self.within_window(vote.vote.round)
        {
            return;
        }
        let Added::Conflicting { first, report } = self.votes.add(vote.clone()) else {
            return;
        };
        // Equivocation. Count the vote for its own block (never for "any"),
        // as the paper counts 2f+1 distinct senders per value; see `votes`.
        if let Some(block) = vote.vote.block {
            let proposed = self.is_proposed(vote.vote.round, block);
            self.votes.add_conflicting(vote.clone(), proposed);
        }
        if report {
            tracing::warn!(
                height = %self.height,
                round = vote.vote.round,
                kind = ?vote.vote.kind,
                voter = %vote.voter,
                "member signed two different votes"
            );
            out.push(Output::Equivocation {
                first,
                second: vote,
            });
        }
    }

    /// Whether a vote for `block` in `round` can matter to a rule: `block`
    /// was proposed in `round` (lines 36, 49), or is proposed in the current
    /// round with `round` as its valid round (line 28).
    fn is_proposed(&self, round: u32, block: Hash) -> bool {
        self.proposals
            .get(&round)
            .is_some_and(|stored| stored.iter().any(|p| p.block == block))
            || self
                .current_proposals()
                .any(|p| p.block == block && p.valid_round == Some(round))
    }

    fn on_timeout(&mut self, step: Step, round: u32, out: &mut Vec<Output>) {
        if round != self.round {
            return;
        }
        match step {
            // lines 57-60: OnTimeoutPropose: if step_p = propose, prevote nil
            Step::Propose => {
                if self.step == Step::Propose {
                    self.cast(VoteKind::Prevote, None, out);
                    self.enter_step(Step::Prevote, out);
                }
            }
            // lines 61-64: OnTimeoutPrevote: if step_p = prevote, precommit nil
            Step::Prevote => {
                if self.step == Step::Prevote {
                    self.cast(VoteKind::Precommit, None, out);
                    self.enter_step(Step::Precommit, out);
                }
            }
            // lines 65-67: OnTimeoutPrecommit: StartRound(round_p + 1)
            Step::Precommit => {
                if let Some(next) = round.checked_add(1) {
                    self.start_round(next, out);
                }
            }
        }
    }

    fn on_block_built(&mut self, round: u32, block: Hash, out: &mut Vec<Output>) {
        if self.awaiting_block == Some(round) && round == self.round && self.step == Step::Propose {
            self.awaiting_block = None;
            // lines 18-19: proposal <- getValue(); broadcast PROPOSAL with validRound_p = -1
            self.propose(block, None, out);
        }
    }

    // ------------------------------------------------------------------
    // Actions.
    // ------------------------------------------------------------------

    /// lines 11-21: Function StartRound(round).
    fn start_round(&mut self, round: u32, out: &mut Vec<Output>) {
        tracing::debug!(height = %self.height, round, "starting round");
        // lines 12-13: round_p <- round; step_p <- propose
        self.round = round;
        self.step = Step::Propose;
        self.flags = RoundFlags::default();
        self.awaiting_block = None;
        // line 14: if proposer(h_p, round_p) = p
        if self.voter.is_some() && self.voter == Some(self.proposer(round)) {
            if let Some((valid_round, block)) = self.valid {
                // lines 15-16, 19: propose validValue_p with validRound_p
                self.propose(block, Some(valid_round), out);
            } else if let Some((locked_round, block)) = self.locked {
                // Only after a restart (`with_lock`): in the paper a lock
                // always comes with a valid value (lines 38-43), which was
                // lost. Building a new block would deadlock the height if
                // enough members are locked on this one (they prevote nil
                // on anything else), so propose the locked block: with its
                // lock round if we can see that round's polka (line 28 needs
                // it), else as a new value (line 23 accepts it from members
                // unlocked or locked on it). Any proposal is safe.
                let polka = locked_round < round
                    && self
                        .votes
                        .count_for(locked_round, VoteKind::Prevote, Some(block))
                        >= self.quorum;
                self.propose(block, polka.then_some(locked_round), out);
            } else {
                // line 18: getValue(). The caller builds the block
                // asynchronously; the propose timeout is scheduled too (as
                // malachite does) so that a caller that never answers cannot
                // stall the round: on expiry we prevote nil (line 57).
                self.awaiting_block = Some(round);
                out.push(Output::BuildBlock { round });
                self.schedule(Step::Propose, out);
            }
        } else {
            // line 21: schedule OnTimeoutPropose(h_p, round_p)
            self.schedule(Step::Propose, out);
        }
    }

    /// line 19: broadcast <PROPOSAL, h_p, round_p, proposal, validRound_p>.
    /// A broadcast reaches ourselves too, so the proposal is stored at once.
    fn propose(&mut self, block: Hash, valid_round: Option<u32>, out: &mut Vec<Output>) {
        let round = self.round;
        self.own_proposal = Some((round, block, valid_round));
        out.push(Output::Propose {
            round,
            block,
            valid_round,
        });
        let proposal = Proposal {
            block,
            valid_round,
            // We built it, or it is validValue_p, which was valid (line 36).
            valid: true,
        };
        let stored = self.proposals.entry(round).or_default();
        if !stored.contains(&proposal) {
            stored.insert(0, proposal);
        }
    }

    /// `broadcast <PREVOTE|PRECOMMIT, h_p, round_p, block>`: sign through the
    /// signer, count our own vote, and ask the caller to send it. Nothing is
    /// cast by an observer or when the signer refuses.
    fn cast(&mut self, kind: VoteKind, block: Option<Hash>, out: &mut Vec<Output>) {
        let Some(voter) = self.voter else {
            return;
        };
        if let Some(existing) = self.votes.first_vote_of(&voter, self.round, kind).cloned() {
            // We already voted in this round and step: before a restart
            // (restored with `with_own_vote`, or echoed back by a peer). Cast
            // that vote again rather than sign a second one.
            if existing.vote.block != block {
                tracing::info!(
                    height = %self.height,
                    round = self.round,
                    ?kind,
                    "re-casting the vote signed before a restart"
                );
            }
            if !self.own_votes.contains(&existing) {
                self.own_votes.push(existing.clone());
            }
            out.push(Output::Broadcast(existing));
            return;
        }
        let vote = Vote {
            kind,
            height: self.height,
            round: self.round,
            block,
        };
        let Some(signature) = self.signer.sign_vote(&vote) else {
            tracing::warn!(
                height = %self.height,
                round = self.round,
                ?kind,
                "the vote signer refused; not casting this vote"
            );
            return;
        };
        let signed = SignedVote {
            vote,
            voter,
            signature,
        };
        // The slot was empty (checked above), so the vote is counted.
        self.votes.add(signed.clone());
        self.own_votes.push(signed.clone());
        out.push(Output::Broadcast(signed));
    }

    /// `step_p <- step` (lines 27, 33, 41, 46, 60, 64), plus a stall guard
    /// that is not in the paper: entering the prevote or precommit step also
    /// schedules that step's timeout, at twice its length, once per round.
    ///
    /// The paper only schedules these timeouts upon 2f+1 votes of the step
    /// (lines 34, 47), relying on every message a correct process received
    /// reaching all correct processes. A restarted node forgets what it
    /// received (it keeps only its own votes and lock), so the votes of a
    /// Byzantine member can be gone for good, and correct members can wait
    /// for a 2f+1 that never comes while one of them has moved a round
    /// ahead (found by the simulator, n = 7, seed 4898). Timeouts never
    /// affect safety; when messages flow, the paper's own timer fires first.
    fn enter_step(&mut self, step: Step, out: &mut Vec<Output>) {
        self.step = step;
        let guard = match step {
            Step::Propose => return,
            Step::Prevote => &mut self.flags.prevote_guard,
            Step::Precommit => &mut self.flags.precommit_guard,
        };
        if *guard {
            return;
        }
        *guard = true;
        out.push(Output::ScheduleTimeout {
            step,
            round: self.round,
            after: self.config.timeout(step, self.round).saturating_mul(2),
        });
    }

    fn schedule(&self, step: Step, out: &mut Vec<Output>) {
        out.push(Output::ScheduleTimeout {
            step,
            round: self.round,
            after: self.config.timeout(step, self.round),
        });
    }

    // ------------------------------------------------------------------
    // Rules.
    // ------------------------------------------------------------------

    /// Fires rules until none applies. Each firing changes the decision, the
    /// round (upwards), the step (upwards within a round) or sets a
    /// once-per-round flag, so the loop ends.
    fn evaluate(&mut self, out: &mut Vec<Output>) {
        while self.decided.is_none() {
            let fired = self.decide(out)
                || self.skip_round(out)
                || self.prevote_proposal(out)
                || self.prevote_proposal_with_lock_round(out)
                || self.precommit_polka(out)
                || self.precommit_nil_polka(out)
                || self.schedule_prevote_timeout(out)
                || self.schedule_precommit_timeout(out);
            if !fired {
                break;
            }
        }
    }

    /// Proposals of the current round, in arrival order.
    fn current_proposals(&self) -> impl Iterator<Item = &Proposal> {
        self.proposals.get(&self.round).into_iter().flatten()
    }

    /// lines 49-54: upon <PROPOSAL, h_p, r, v, *> from proposer(h_p, r) AND
    /// 2f+1 <PRECOMMIT, h_p, r, id(v)> while `decision_p[h_p] = nil`:
    /// if valid(v) then decide v. (Any round r, not only the current one.)
    /// Moving to the next height (lines 52-54) is the caller's: it starts a
    /// new machine.
    fn decide(&mut self, out: &mut Vec<Output>) -> bool {
        let found = self.votes.precommit_quorums().find(|(round, block)| {
            self.proposals
                .get(round)
                .is_some_and(|stored| stored.iter().any(|p| p.block == *block && p.valid))
        });
        let Some((round, block)) = found else {
            return false;
        };
        tracing::debug!(height = %self.height, round, "line 49: decided");
        let certificate = CommitCertificate {
            height: self.height,
            round,
            block_hash: block,
            signatures: self.votes.commit_signatures(round, block),
        };
        self.decided = Some(block);
        out.push(Output::Decided { block, certificate });
        true
    }

    /// lines 55-56: upon f+1 <*, h_p, round, *, *> with round > round_p:
    /// StartRound(round). (Counted over distinct voters of either vote kind;
    /// the highest such round is taken.)
    fn skip_round(&mut self, out: &mut Vec<Output>) -> bool {
        let Some(round) = self.votes.skip_round_above(self.round) else {
            return false;
        };
        tracing::debug!(height = %self.height, from = self.round, to = round, "line 55: skipping ahead");
        self.start_round(round, out);
        true
    }

    /// lines 22-27: upon <PROPOSAL, h_p, round_p, v, -1> from
    /// proposer(h_p, round_p) while step_p = propose.
    fn prevote_proposal(&mut self, out: &mut Vec<Output>) -> bool {
        if self.step != Step::Propose {
            return false;
        }
        let Some(proposal) = self
            .current_proposals()
            .find(|p| p.valid_round.is_none())
            .copied()
        else {
            return false;
        };
        // line 23: valid(v) and (lockedRound_p = -1 or lockedValue_p = v)
        let accept = proposal.valid
            && self
                .locked
                .is_none_or(|(_, locked)| locked == proposal.block);
        // line 24 (prevote id(v)) or line 26 (prevote nil)
        self.cast(VoteKind::Prevote, accept.then_some(proposal.block), out);
        // line 27
        self.enter_step(Step::Prevote, out);
        true
    }

    /// lines 28-33: upon <PROPOSAL, h_p, round_p, v, vr> from
    /// proposer(h_p, round_p) AND 2f+1 <PREVOTE, h_p, vr, id(v)> while
    /// step_p = propose and (vr >= 0 and vr < round_p).
    fn prevote_proposal_with_lock_round(&mut self, out: &mut Vec<Output>) -> bool {
        if self.step != Step::Propose {
            return false;
        }
        let round = self.round;
        let found = self.current_proposals().find_map(|p| {
            let vr = p.valid_round?;
            let polka = self.votes.count_for(vr, VoteKind::Prevote, Some(p.block)) >= self.quorum;
            (vr < round && polka).then_some((*p, vr))
        });
        let Some((proposal, vr)) = found else {
            return false;
        };
        // line 29: valid(v) and (lockedRound_p <= vr or lockedValue_p = v)
        let accept = proposal.valid
            && self.locked.is_none_or(|(locked_round, locked)| {
                locked_round <= vr || locked == proposal.block
            });
        // line 30 (prevote id(v)) or line 32 (prevote nil)
        self.cast(VoteKind::Prevote, accept.then_some(proposal.block), out);
        // line 33
        self.enter_step(Step::Prevote, out);
        true
    }

    /// lines 36-43: upon <PROPOSAL, h_p, round_p, v, *> from
    /// proposer(h_p, round_p) AND 2f+1 <PREVOTE, h_p, round_p, id(v)> while
    /// valid(v) and step_p >= prevote for the first time.
    fn precommit_polka(&mut self, out: &mut Vec<Output>) -> bool {
        if self.step < Step::Prevote || self.flags.polka_for_proposal {
            return false;
        }
        let round = self.round;
        let Some(Some(block)) = self
            .votes
            .tally(round, VoteKind::Prevote)
            .value_with(self.quorum)
        else {
            return false;
        };
        if !self
            .current_proposals()
            .any(|p| p.block == block && p.valid)
        {
            return false;
        }
        self.flags.polka_for_proposal = true;
        // line 37: if step_p = prevote
        if self.step == Step::Prevote {
            tracing::debug!(height = %self.height, round, "line 36: polka; locking and precommitting");
            // lines 38-39: lockedValue_p <- v; lockedRound_p <- round_p.
            // After a restart the restored lock may be from a higher round
            // than the one we are in; a lock never moves to a lower round.
            if self
                .locked
                .is_none_or(|(locked_round, _)| locked_round <= round)
            {
                self.locked = Some((round, block));
            }
            // line 40: broadcast <PRECOMMIT, h_p, round_p, id(v)>
            self.cast(VoteKind::Precommit, Some(block), out);
            // line 41
            self.enter_step(Step::Precommit, out);
        }
        // lines 42-43: validValue_p <- v; validRound_p <- round_p
        self.valid = Some((round, block));
        true
    }

    /// lines 44-46: upon 2f+1 <PREVOTE, h_p, round_p, nil> while
    /// step_p = prevote.
    fn precommit_nil_polka(&mut self, out: &mut Vec<Output>) -> bool {
        if self.step != Step::Prevote
            || self.votes.count_for(self.round, VoteKind::Prevote, None) < self.quorum
        {
            return false;
        }
        // line 45
        self.cast(VoteKind::Precommit, None, out);
        // line 46
        self.enter_step(Step::Precommit, out);
        true
    }

    /// lines 34-35: upon 2f+1 <PREVOTE, h_p, round_p, *> while
    /// step_p = prevote for the first time: schedule OnTimeoutPrevote.
    fn schedule_prevote_timeout(&mut self, out: &mut Vec<Output>) -> bool {
        if self.step != Step::Prevote
            || self.flags.prevote_timeout
            || self.votes.tally(self.round, VoteKind::Prevote).total() < self.quorum
        {
            return false;
        }
        self.flags.prevote_timeout = true;
        self.schedule(Step::Prevote, out);
        true
    }

    /// lines 47-48: upon 2f+1 <PRECOMMIT, h_p, round_p, *> for the first
    /// time: schedule OnTimeoutPrecommit.
    fn schedule_precommit_timeout(&mut self, out: &mut Vec<Output>) -> bool {
        if self.flags.precommit_timeout
            || self.votes.tally(self.round, VoteKind::Precommit).total() < self.quorum
        {
            return false;
        }
        self.flags.precommit_timeout = true;
        self.schedule(Step::Precommit, out);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::super::types::NoSigner;
    use super::*;
    use guild_ledger::block::BlockHeader;
    use guild_ledger::crypto::{Keypair, Signature};
    use guild_ledger::types::{ChainId, Timestamp};
    use std::time::Duration;

    const H: Height = Height(5);

    fn chain() -> ChainId {
        ChainId::new("test-chain").unwrap()
    }

    /// A signer that keeps its record in memory and refuses conflicts, like
    /// the node's (minus the disk).
    struct TestSigner {
        key: Keypair,
        record: BTreeMap<(Height, u32, VoteKind), Option<Hash>>,
        refuse_all: bool,
    }

    impl TestSigner {
        fn new(key: &Keypair) -> Self {
            TestSigner {
                key: key.clone(),
                record: BTreeMap::new(),
                refuse_all: false,
            }
        }
    }

    impl VoteSigner for TestSigner {
        fn sign_vote(&mut self, vote: &Vote) -> Option<Signature> {
            if self.refuse_all {
                return None;
            }
            let slot = (vote.height, vote.round, vote.kind);
            match self.record.get(&slot) {
                Some(block) if *block != vote.block => return None,
                _ => {}
            }
            self.record.insert(slot, vote.block);
            Some(vote.sign(&self.key, &chain()))
        }
    }

    struct Net {
        keys: Vec<Keypair>,
    }

    impl Net {
        fn new(n: u8) -> Self {
            Net {
                keys: (1..=n).map(|i| Keypair::from_secret(&[i; 32])).collect(),
            }
        }

        fn members(&self) -> BTreeSet<Address> {
            self.keys.iter().map(Keypair::address).collect()
        }

        fn key(&self, address: Address) -> &Keypair {
            self.keys.iter().find(|k| k.address() == address).unwrap()
        }

        /// A machine run by the member `address`.
        fn machine(&self, address: Address) -> Consensus<TestSigner> {
            Consensus::new(
                H,
                self.members(),
                Some(address),
                TestSigner::new(self.key(address)),
                Config::default(),
            )
        }

        fn observer(&self) -> Consensus<NoSigner> {
            Consensus::new(H, self.members(), None, NoSigner, Config::default())
        }

        /// Members other than `except`, ascending.
        fn others(&self, except: &[Address]) -> Vec<Address> {
            self.members()
                .into_iter()
                .filter(|a| !except.contains(a))
                .collect()
        }

        fn vote(&self, voter: Address, kind: VoteKind, round: u32, block: Option<Hash>) -> Input {
            let vote = Vote {
                kind,
                height: H,
                round,
                block,
            };
            Input::Vote(SignedVote {
                vote,
                voter,
                signature: vote.sign(self.key(voter), &chain()),
            })
        }
    }

    /// A real header, so that certificates can be checked with
    /// `CommitCertificate::verify`.
    fn header(seed: u8) -> BlockHeader {
        BlockHeader {
            height: H,
            prev_hash: Hash([1; 32]),
            time: Timestamp(1_000 + u64::from(seed)),
            proposer: Address([seed; 32]),
            tx_root: Hash([seed; 32]),
            state_root: Hash([seed; 32]),
        }
    }

    fn block(seed: u8) -> Hash {
        header(seed).hash()
    }

    fn proposal(m: &Consensus<impl VoteSigner>, round: u32, b: Hash, vr: Option<u32>) -> Input {
        Input::Proposal {
            round,
            proposer: m.proposer(round),
            block: b,
            valid_round: vr,
            valid: true,
        }
    }

    fn broadcasts(out: &[Output]) -> Vec<(VoteKind, u32, Option<Hash>)> {
        out.iter()
            .filter_map(|o| match o {
                Output::Broadcast(v) => Some((v.vote.kind, v.vote.round, v.vote.block)),
                _ => None,
            })
            .collect()
    }

    fn decided(out: &[Output]) -> Option<&CommitCertificate> {
        out.iter().find_map(|o| match o {
            Output::Decided { certificate, .. } => Some(certificate),
            _ => None,
        })
    }

    fn timeouts(out: &[Output]) -> Vec<(Step, u32)> {
        out.iter()
            .filter_map(|o| match o {
                Output::ScheduleTimeout { step, round, .. } => Some((*step, *round)),
                _ => None,
            })
            .collect()
    }

    /// A member of a 4-member network that is not the proposer of round 0.
    fn non_proposer(net: &Net) -> Consensus<TestSigner> {
        non_proposer_of(net, &[0])
    }

    /// A member that proposes none of `rounds`.
    fn non_proposer_of(net: &Net, rounds: &[u32]) -> Consensus<TestSigner> {
        let probe = net.observer();
        let proposers: Vec<Address> = rounds.iter().map(|r| probe.proposer(*r)).collect();
        net.machine(net.others(&proposers)[0])
    }

    #[test]
    fn a_single_member_decides_alone() {
        let net = Net::new(1);
        let me = net.keys[0].address();
        let mut m = net.machine(me);
        let out = m.start();
        assert_eq!(out[0], Output::BuildBlock { round: 0 });
        assert_eq!(timeouts(&out), vec![(Step::Propose, 0)]);
        let b = block(9);
        let out = m.handle(Input::BlockBuilt { round: 0, block: b });
        assert_eq!(
            out[0],
            Output::Propose {
                round: 0,
                block: b,
                valid_round: None
            }
        );
        assert_eq!(
            broadcasts(&out),
            vec![
                (VoteKind::Prevote, 0, Some(b)),
                (VoteKind::Precommit, 0, Some(b))
            ]
        );
        let cert = decided(&out).unwrap();
        assert_eq!(cert.signatures.len(), 1);
        cert.verify(&chain(), &header(9), &net.members()).unwrap();
        assert!(m.is_decided());
        assert_eq!(m.decision(), Some(b));
        assert_eq!(m.lock(), Some((0, b)));
        assert_eq!(m.own_votes().len(), 2);
        assert_eq!(m.own_proposal(), Some((0, b, None)));
        // Everything after the decision is ignored.
        assert!(
            m.handle(Input::Timeout {
                step: Step::Precommit,
                round: 0
            })
            .is_empty()
        );
    }

    #[test]
    fn four_members_happy_path_and_certificate_verifies() {
        let net = Net::new(4);
        let mut m = non_proposer(&net);
        let me = m.voter.unwrap();
        assert_eq!(m.quorum(), 3);
        assert_eq!(timeouts(&m.start()), vec![(Step::Propose, 0)]);
        let b = block(1);
        let out = m.handle(proposal(&m, 0, b, None));
        assert_eq!(broadcasts(&out), vec![(VoteKind::Prevote, 0, Some(b))]);
        assert_eq!(m.step(), Step::Prevote);
        let others = net.others(&[me]);
        assert!(
            m.handle(net.vote(others[0], VoteKind::Prevote, 0, Some(b)))
                .is_empty()
        );
        let out = m.handle(net.vote(others[1], VoteKind::Prevote, 0, Some(b)));
        assert_eq!(broadcasts(&out), vec![(VoteKind::Precommit, 0, Some(b))]);
        assert_eq!(m.lock(), Some((0, b)));
        assert_eq!(m.valid_value(), Some((0, b)));
        assert_eq!(m.step(), Step::Precommit);
        assert!(
            m.handle(net.vote(others[2], VoteKind::Precommit, 0, Some(b)))
                .is_empty()
        );
        let out = m.handle(net.vote(others[0], VoteKind::Precommit, 0, Some(b)));
        let cert = decided(&out).unwrap();
        assert_eq!(cert.round, 0);
        assert_eq!(cert.signatures.len(), 3);
        assert!(cert.signatures.windows(2).all(|w| w[0].voter < w[1].voter));
        cert.verify(&chain(), &header(1), &net.members()).unwrap();
    }

    #[test]
    fn inputs_in_any_order_votes_before_the_proposal() {
        let net = Net::new(4);
        let mut m = non_proposer(&net);
        let me = m.voter.unwrap();
        let b = block(2);
        // Everything arrives before start, and before the proposal.
        for voter in net.others(&[me]) {
            assert!(
                m.handle(net.vote(voter, VoteKind::Precommit, 0, Some(b)))
                    .is_empty()
            );
        }
        m.start();
        assert!(!m.is_decided());
        let out = m.handle(proposal(&m, 0, b, None));
        // The decision (line 49) comes first; a decided machine votes no more.
        assert!(broadcasts(&out).is_empty());
        decided(&out)
            .unwrap()
            .verify(&chain(), &header(2), &net.members())
            .unwrap();
    }

    #[test]
    fn decides_for_an_earlier_round() {
        let net = Net::new(4);
        let mut m = non_proposer(&net);
        let me = m.voter.unwrap();
        m.start();
        // Move to round 2 via timeouts-free round skip (f+1 = 2 voters).
        let others = net.others(&[me]);
        m.handle(net.vote(others[0], VoteKind::Prevote, 2, None));
        m.handle(net.vote(others[1], VoteKind::Prevote, 2, None));
        assert_eq!(m.round(), 2);
        let b = block(3);
        m.handle(proposal(&m, 0, b, None));
        for voter in &others {
            m.handle(net.vote(*voter, VoteKind::Precommit, 0, Some(b)));
        }
        assert_eq!(m.decision(), Some(b));
    }

    #[test]
    fn locked_member_refuses_new_values_and_re_proposes_its_valid_value() {
        let net = Net::new(4);
        let probe = net.observer();
        // We are the proposer of round 1.
        let me = probe.proposer(1);
        let mut m = net.machine(me);
        let others = net.others(&[me]);
        m.start();
        let v = block(4);
        m.handle(proposal(&m, 0, v, None));
        m.handle(net.vote(others[0], VoteKind::Prevote, 0, Some(v)));
        let out = m.handle(net.vote(others[1], VoteKind::Prevote, 0, Some(v)));
        assert_eq!(broadcasts(&out), vec![(VoteKind::Precommit, 0, Some(v))]);
        assert_eq!(m.lock(), Some((0, v)));
        // The others precommit nil: 2f+1 precommits of any kind (line 47).
        m.handle(net.vote(others[0], VoteKind::Precommit, 0, None));
        let out = m.handle(net.vote(others[1], VoteKind::Precommit, 0, None));
        assert_eq!(timeouts(&out), vec![(Step::Precommit, 0)]);
        // Line 47 fires only once.
        let out = m.handle(net.vote(others[2], VoteKind::Precommit, 0, None));
        assert!(timeouts(&out).is_empty());
        // Round 1: we propose our valid value with its round (lines 15-16),
        // and prevote it by line 28 (lockedRound 0 <= vr 0).
        let out = m.handle(Input::Timeout {
            step: Step::Precommit,
            round: 0,
        });
        assert_eq!(
            out[0],
            Output::Propose {
                round: 1,
                block: v,
                valid_round: Some(0)
            }
        );
        assert!(!out.contains(&Output::BuildBlock { round: 1 }));
        assert_eq!(broadcasts(&out), vec![(VoteKind::Prevote, 1, Some(v))]);
        assert_eq!(m.own_proposal(), Some((1, v, Some(0))));
    }

    #[test]
    fn a_lock_is_released_only_by_a_later_polka() {
        let net = Net::new(4);
        let mut m = non_proposer_of(&net, &[0, 3]);
        let me = m.voter.unwrap();
        let others = net.others(&[me]);
        let v = block(5);
        let w = block(6);
        // Locked on v in round 1 (restored after a restart).
        m = m.with_lock(1, v);
        m.start();
        // Round 0, a new value w: line 23 fails on the lock, prevote nil.
        let out = m.handle(proposal(&m, 0, w, None));
        assert_eq!(broadcasts(&out), vec![(VoteKind::Prevote, 0, None)]);
        // Round 3: w re-proposed with a polka from round 2 >= lockedRound 1.
        for voter in &others[..2] {
            m.handle(net.vote(*voter, VoteKind::Precommit, 3, None));
        }
        assert_eq!(m.round(), 3);
        let out = m.handle(proposal(&m, 3, w, Some(2)));
        assert!(broadcasts(&out).is_empty(), "no polka for w in round 2 yet");
        let mut out = Vec::new();
        for voter in &others {
            out.extend(m.handle(net.vote(*voter, VoteKind::Prevote, 2, Some(w))));
        }
        assert_eq!(broadcasts(&out), vec![(VoteKind::Prevote, 3, Some(w))]);
    }

    #[test]
    fn a_polka_older_than_the_lock_does_not_release_it() {
        let net = Net::new(4);
        let mut m = non_proposer_of(&net, &[0, 3]).with_lock(2, block(5));
        let me = m.voter.unwrap();
        let others = net.others(&[me]);
        m.start();
        let w = block(6);
        for voter in &others {
            m.handle(net.vote(*voter, VoteKind::Prevote, 1, Some(w)));
        }
        // Go to round 3 and get w proposed with vr = 1 < lockedRound 2.
        m.handle(net.vote(others[0], VoteKind::Precommit, 3, None));
        m.handle(net.vote(others[1], VoteKind::Precommit, 3, None));
        assert_eq!(m.round(), 3);
        let out = m.handle(proposal(&m, 3, w, Some(1)));
        assert_eq!(broadcasts(&out), vec![(VoteKind::Prevote, 3, None)]);
        assert_eq!(m.lock(), Some((2, block(5))));
    }

    #[test]
    fn a_restored_lock_never_moves_to_a_lower_round() {
        let net = Net::new(4);
        let v = block(5);
        let w = block(6);
        let mut m = non_proposer(&net).with_lock(4, v);
        let me = m.voter.unwrap();
        m.start();
        // Round 0: w has a polka; we prevoted nil (locked) but line 36 still
        // makes us precommit w (step = prevote) — without lowering the lock.
        m.handle(proposal(&m, 0, w, None));
        let mut out = Vec::new();
        for voter in net.others(&[me]) {
            out.extend(m.handle(net.vote(voter, VoteKind::Prevote, 0, Some(w))));
        }
        assert_eq!(broadcasts(&out), vec![(VoteKind::Precommit, 0, Some(w))]);
        assert_eq!(m.lock(), Some((4, v)));
    }

    #[test]
    fn skips_to_a_round_with_f_plus_one_voters() {
        let net = Net::new(4);
        let mut m = non_proposer(&net);
        let me = m.voter.unwrap();
        let others = net.others(&[me]);
        m.start();
        // One voter (f = 1) is not enough.
        assert!(
            m.handle(net.vote(others[0], VoteKind::Prevote, 5, None))
                .is_empty()
        );
        assert_eq!(m.round(), 0);
        // f+1 = 2 distinct voters, of any vote kind.
        let out = m.handle(net.vote(others[1], VoteKind::Precommit, 5, None));
        assert_eq!(m.round(), 5);
        assert_eq!(m.step(), Step::Propose);
        if m.proposer(5) == me {
            assert_eq!(out[0], Output::BuildBlock { round: 5 });
        }
        assert!(timeouts(&out).contains(&(Step::Propose, 5)));
        // The propose timeout grows with the round.
        assert!(out.contains(&Output::ScheduleTimeout {
            step: Step::Propose,
            round: 5,
            after: Duration::from_millis(5500)
        }));
        // Votes of rounds already passed never move us back.
        m.handle(net.vote(others[0], VoteKind::Prevote, 1, None));
        m.handle(net.vote(others[1], VoteKind::Prevote, 1, None));
        assert_eq!(m.round(), 5);
    }

    #[test]
    fn votes_far_ahead_other_heights_and_non_members_are_ignored() {
        let net = Net::new(4);
        let mut m = non_proposer(&net);
        let me = m.voter.unwrap();
        let others = net.others(&[me]);
        m.start();
        let far = MAX_ROUNDS_AHEAD + 1;
        m.handle(net.vote(others[0], VoteKind::Prevote, far, None));
        m.handle(net.vote(others[1], VoteKind::Prevote, far, None));
        assert_eq!(m.round(), 0);
        // Another height.
        let stranger = Keypair::from_secret(&[99; 32]);
        for voter in &others {
            let vote = Vote {
                kind: VoteKind::Prevote,
                height: Height(6),
                round: 1,
                block: None,
            };
            m.handle(Input::Vote(SignedVote {
                vote,
                voter: *voter,
                signature: vote.sign(net.key(*voter), &chain()),
            }));
        }
        assert_eq!(m.round(), 0);
        // A non-member.
        let vote = Vote {
            kind: VoteKind::Prevote,
            height: H,
            round: 1,
            block: None,
        };
        m.handle(net.vote(others[0], VoteKind::Prevote, 1, None));
        m.handle(Input::Vote(SignedVote {
            vote,
            voter: stranger.address(),
            signature: vote.sign(&stranger, &chain()),
        }));
        assert_eq!(m.round(), 0);
        // A proposal from someone other than proposer(0).
        let impostor = net.others(&[m.proposer(0)])[0];
        let out = m.handle(Input::Proposal {
            round: 0,
            proposer: impostor,
            block: block(1),
            valid_round: None,
            valid: true,
        });
        assert!(out.is_empty());
        assert_eq!(m.step(), Step::Propose);
    }

    #[test]
    fn equivocation_is_reported_once_and_counted_once_for_any() {
        let net = Net::new(4);
        let mut m = non_proposer(&net);
        let me = m.voter.unwrap();
        let others = net.others(&[me]);
        m.start();
        let b = block(7);
        // We prevote nil on timeout.
        m.handle(Input::Timeout {
            step: Step::Propose,
            round: 0,
        });
        assert!(
            m.handle(net.vote(others[0], VoteKind::Prevote, 0, Some(b)))
                .is_empty()
        );
        let out = m.handle(net.vote(others[0], VoteKind::Prevote, 0, None));
        assert_eq!(out.len(), 1);
        let Output::Equivocation { first, second } = &out[0] else {
            panic!("expected evidence, got {out:?}");
        };
        assert_eq!(first.vote.block, Some(b));
        assert_eq!(second.vote.block, None);
        assert_eq!(first.voter, others[0]);
        // Reported once.
        assert!(
            m.handle(net.vote(others[0], VoteKind::Prevote, 0, Some(block(8))))
                .is_empty()
        );
        // The conflicting nil is not counted: with our nil and one more nil
        // there are only 2 nil prevotes, no nil polka (which would need 3).
        let out = m.handle(net.vote(others[1], VoteKind::Prevote, 0, None));
        assert!(broadcasts(&out).is_empty());
        // The equivocator counts once for "any": 3 members prevoted, line 34
        // fires (with 4 votes counted it would have fired a vote earlier).
        assert_eq!(timeouts(&out), vec![(Step::Prevote, 0)]);
        assert_eq!(m.step(), Step::Prevote);
    }

    /// Found by the simulator (n = 4, seed 3013): a Byzantine member sent its
    /// prevote for v to one honest member only, which locked on v; the
    /// others had received a different prevote from it first. They must
    /// still count its prevote for v when they get it (relayed, or in the
    /// locked member's proof of lock), or they never accept v's re-proposal
    /// while the locked member never accepts anything else.
    /// Found by the simulator (n = 3, seed 2167): two members locked on v
    /// restarted, lost their valid value and, as proposers, built new blocks
    /// which their own locks made them reject, forever. A restarted
    /// proposer with a lock proposes the locked block instead.
    #[test]
    fn a_restarted_proposer_re_proposes_its_locked_block() {
        let net = Net::new(4);
        let probe = net.observer();
        let me = probe.proposer(0);
        let v = block(4);
        // No polka in sight: proposed as a new value.
        let mut m = net.machine(me).with_lock(2, v);
        let out = m.start();
        assert_eq!(
            out[0],
            Output::Propose {
                round: 0,
                block: v,
                valid_round: None
            }
        );
        assert!(!out.contains(&Output::BuildBlock { round: 0 }));
        // Line 23: locked on v, so we prevote it.
        assert_eq!(broadcasts(&out), vec![(VoteKind::Prevote, 0, Some(v))]);
        // With the polka of the lock round in sight (e.g. re-broadcast by its
        // voters), proposed with that round, for line 28.
        let mut m = net.machine(me).with_lock(2, v);
        for voter in net.others(&[me]) {
            m.handle(net.vote(voter, VoteKind::Prevote, 2, Some(v)));
        }
        // At round 0 the lock round is not below the current one (line 28
        // could not use it): a new value again. Then the stored votes make
        // us skip to round 2; our next turn as proposer is round 4.
        let out = m.start();
        assert_eq!(
            out[0],
            Output::Propose {
                round: 0,
                block: v,
                valid_round: None
            }
        );
        assert_eq!(m.round(), 2);
        for voter in net.others(&[me]).iter().take(2) {
            m.handle(net.vote(*voter, VoteKind::Precommit, 4, None));
        }
        assert_eq!(m.round(), 4);
        assert_eq!(m.own_proposal(), Some((4, v, Some(2))));
    }

    #[test]
    fn a_conflicting_vote_for_a_proposed_block_counts_for_that_block() {
        let net = Net::new(4);
        let probe = net.observer();
        // We are the proposer of round 1; the Byzantine member is another
        // non-proposer.
        let me = probe.proposer(1);
        let mut m = net.machine(me);
        let others = net.others(&[me]);
        let byzantine = others
            .iter()
            .copied()
            .find(|a| *a != probe.proposer(0))
            .unwrap();
        let honest: Vec<Address> = others.iter().copied().filter(|a| *a != byzantine).collect();
        m.start();
        let v = block(4);
        // Round 0: we get the Byzantine nil prevote first and prevote nil
        // ourselves on timeout; one honest member prevotes v.
        m.handle(net.vote(byzantine, VoteKind::Prevote, 0, None));
        m.handle(Input::Timeout {
            step: Step::Propose,
            round: 0,
        });
        m.handle(proposal(&m, 0, v, None));
        m.handle(net.vote(honest[0], VoteKind::Prevote, 0, Some(v)));
        m.handle(net.vote(honest[1], VoteKind::Prevote, 0, Some(v)));
        assert_eq!(m.votes.count_for(0, VoteKind::Prevote, Some(v)), 2);
        // The Byzantine prevote for v (which made some member lock) arrives.
        let out = m.handle(net.vote(byzantine, VoteKind::Prevote, 0, Some(v)));
        assert!(matches!(out[0], Output::Equivocation { .. }));
        assert_eq!(m.votes.count_for(0, VoteKind::Prevote, Some(v)), 3);
        // It completes the polka for v: we were still in the prevote step,
        // so line 36 precommits v and locks.
        assert_eq!(m.valid_value(), Some((0, v)));
        assert_eq!(m.lock(), Some((0, v)));
        let pol = m.proof_of_lock();
        assert_eq!(pol.len(), 3);
        assert!(pol.windows(2).all(|w| w[0].voter < w[1].voter));
        assert!(
            pol.iter()
                .all(|p| p.vote.block == Some(v) && p.vote.round == 0)
        );
        // Each member still counts once for "any".
        assert_eq!(m.votes.tally(0, VoteKind::Prevote).total(), 4);
    }

    #[test]
    fn nil_polka_and_timeouts_lead_to_the_next_round() {
        let net = Net::new(4);
        let mut m = non_proposer(&net);
        let me = m.voter.unwrap();
        let others = net.others(&[me]);
        m.start();
        // A stale timeout is ignored.
        assert!(
            m.handle(Input::Timeout {
                step: Step::Prevote,
                round: 0
            })
            .is_empty()
        );
        assert!(
            m.handle(Input::Timeout {
                step: Step::Propose,
                round: 3
            })
            .is_empty()
        );
        // lines 57-60
        let out = m.handle(Input::Timeout {
            step: Step::Propose,
            round: 0,
        });
        assert_eq!(broadcasts(&out), vec![(VoteKind::Prevote, 0, None)]);
        // lines 44-46: nil polka, precommit nil; line 34 fires first only if
        // the polka is not yet there, so here only the precommit.
        m.handle(net.vote(others[0], VoteKind::Prevote, 0, None));
        let out = m.handle(net.vote(others[1], VoteKind::Prevote, 0, None));
        assert_eq!(broadcasts(&out), vec![(VoteKind::Precommit, 0, None)]);
        // A second propose timeout is stale now.
        assert!(
            m.handle(Input::Timeout {
                step: Step::Propose,
                round: 0
            })
            .is_empty()
        );
        m.handle(net.vote(others[0], VoteKind::Precommit, 0, None));
        let out = m.handle(net.vote(others[1], VoteKind::Precommit, 0, None));
        assert_eq!(timeouts(&out), vec![(Step::Precommit, 0)]);
        let out = m.handle(Input::Timeout {
            step: Step::Precommit,
            round: 0,
        });
        assert_eq!(m.round(), 1);
        assert!(!out.is_empty());
    }

    /// Found by the simulator (n = 7, seed 4898): after restarts, the
    /// correct members waited in the precommit step of round 0 for a
    /// 2f+1-th precommit that only a Byzantine member had sent (and they had
    /// forgotten), while the last correct member was in round 1 alone.
    #[test]
    fn stall_guards_end_a_round_without_a_quorum() {
        let net = Net::new(7);
        let mut m = non_proposer(&net);
        let me = m.voter.unwrap();
        let others = net.others(&[me]);
        m.start();
        let b = block(1);
        // Prevoting schedules the prevote guard: twice timeoutPrevote(0).
        let out = m.handle(proposal(&m, 0, b, None));
        assert!(out.contains(&Output::ScheduleTimeout {
            step: Step::Prevote,
            round: 0,
            after: Duration::from_secs(2)
        }));
        // Fewer than 2f+1 = 5 prevotes: line 34 never fires, but the guard
        // does.
        for voter in &others[..3] {
            m.handle(net.vote(*voter, VoteKind::Prevote, 0, Some(b)));
        }
        let out = m.handle(Input::Timeout {
            step: Step::Prevote,
            round: 0,
        });
        assert_eq!(broadcasts(&out), vec![(VoteKind::Precommit, 0, None)]);
        assert!(out.contains(&Output::ScheduleTimeout {
            step: Step::Precommit,
            round: 0,
            after: Duration::from_secs(2)
        }));
        // Fewer than 5 precommits: line 47 never fires, the guard does.
        for voter in &others[..3] {
            m.handle(net.vote(*voter, VoteKind::Precommit, 0, Some(b)));
        }
        m.handle(Input::Timeout {
            step: Step::Precommit,
            round: 0,
        });
        assert_eq!(m.round(), 1);
        // The guard is scheduled once per round and step; line 47 still
        // schedules its own timer when 2f+1 precommits arrive.
        m.handle(Input::Timeout {
            step: Step::Propose,
            round: 1,
        });
        let mut out = Vec::new();
        for voter in &others[..5] {
            out.extend(m.handle(net.vote(*voter, VoteKind::Precommit, 1, None)));
        }
        assert_eq!(timeouts(&out), vec![(Step::Precommit, 1)]);
        assert!(out.contains(&Output::ScheduleTimeout {
            step: Step::Precommit,
            round: 1,
            after: Duration::from_millis(1500)
        }));
    }

    #[test]
    fn prevote_timeout_after_mixed_prevotes() {
        let net = Net::new(4);
        let mut m = non_proposer(&net);
        let me = m.voter.unwrap();
        let others = net.others(&[me]);
        m.start();
        let b = block(1);
        m.handle(proposal(&m, 0, b, None));
        m.handle(net.vote(others[0], VoteKind::Prevote, 0, None));
        let out = m.handle(net.vote(others[1], VoteKind::Prevote, 0, Some(block(2))));
        assert_eq!(timeouts(&out), vec![(Step::Prevote, 0)]);
        // lines 61-64
        let out = m.handle(Input::Timeout {
            step: Step::Prevote,
            round: 0,
        });
        assert_eq!(broadcasts(&out), vec![(VoteKind::Precommit, 0, None)]);
        assert_eq!(m.lock(), None);
    }

    #[test]
    fn invalid_proposals_get_nil_and_are_never_decided() {
        let net = Net::new(4);
        let mut m = non_proposer(&net);
        let me = m.voter.unwrap();
        m.start();
        let b = block(1);
        let out = m.handle(Input::Proposal {
            round: 0,
            proposer: m.proposer(0),
            block: b,
            valid_round: None,
            valid: false,
        });
        assert_eq!(broadcasts(&out), vec![(VoteKind::Prevote, 0, None)]);
        for voter in net.others(&[me]) {
            m.handle(net.vote(voter, VoteKind::Prevote, 0, Some(b)));
            m.handle(net.vote(voter, VoteKind::Precommit, 0, Some(b)));
        }
        assert!(!m.is_decided());
        assert_eq!(m.lock(), None);
    }

    #[test]
    fn an_observer_decides_without_voting() {
        let net = Net::new(4);
        let mut m = net.observer();
        let out = m.start();
        assert_eq!(timeouts(&out), vec![(Step::Propose, 0)]);
        let b = block(1);
        let mut out = m.handle(proposal(&m, 0, b, None));
        for voter in net.members() {
            out.extend(m.handle(net.vote(voter, VoteKind::Prevote, 0, Some(b))));
            out.extend(m.handle(net.vote(voter, VoteKind::Precommit, 0, Some(b))));
        }
        assert!(broadcasts(&out).is_empty());
        assert!(m.own_votes().is_empty());
        let cert = decided(&out).unwrap();
        // Decided at the third precommit.
        assert_eq!(cert.signatures.len(), 3);
        cert.verify(&chain(), &header(1), &net.members()).unwrap();
    }

    #[test]
    fn a_non_member_me_is_an_observer() {
        let net = Net::new(4);
        let stranger = Keypair::from_secret(&[42; 32]);
        let mut m = Consensus::new(
            H,
            net.members(),
            Some(stranger.address()),
            TestSigner::new(&stranger),
            Config::default(),
        );
        m.start();
        let out = m.handle(Input::Timeout {
            step: Step::Propose,
            round: 0,
        });
        assert!(broadcasts(&out).is_empty());
        assert_eq!(m.step(), Step::Prevote);
    }

    #[test]
    fn a_refusing_signer_casts_nothing_but_the_machine_advances() {
        let net = Net::new(4);
        let mut m = non_proposer(&net);
        m.signer.refuse_all = true;
        let me = m.voter.unwrap();
        m.start();
        let b = block(1);
        let out = m.handle(proposal(&m, 0, b, None));
        assert!(broadcasts(&out).is_empty());
        assert_eq!(m.step(), Step::Prevote);
        let others = net.others(&[me]);
        let mut out = Vec::new();
        for voter in &others {
            out.extend(m.handle(net.vote(*voter, VoteKind::Prevote, 0, Some(b))));
        }
        assert!(broadcasts(&out).is_empty());
        assert_eq!(m.step(), Step::Precommit);
        assert_eq!(m.lock(), Some((0, b)));
        assert!(m.own_votes().is_empty());
        // It can still decide on the others' precommits.
        for voter in &others {
            m.handle(net.vote(*voter, VoteKind::Precommit, 0, Some(b)));
        }
        assert!(m.is_decided());
    }

    #[test]
    fn a_restarted_member_does_not_sign_a_conflicting_vote() {
        let net = Net::new(4);
        let mut m = non_proposer(&net);
        let me = m.voter.unwrap();
        m.start();
        let b = block(1);
        m.handle(proposal(&m, 0, b, None));
        assert_eq!(m.own_votes()[0].vote.block, Some(b));
        // "Restart": a new machine with the same signing record.
        let signer = std::mem::replace(&mut m.signer, TestSigner::new(net.key(me)));
        let mut restarted = Consensus::new(H, net.members(), Some(me), signer, Config::default());
        restarted.start();
        // The proposal did not arrive again; the propose timeout would make
        // us prevote nil, which the record refuses.
        let out = restarted.handle(Input::Timeout {
            step: Step::Propose,
            round: 0,
        });
        assert!(broadcasts(&out).is_empty());
        assert_eq!(restarted.step(), Step::Prevote);
        // Repeating the same vote is fine.
        let mut again = {
            let signer = std::mem::replace(&mut restarted.signer, TestSigner::new(net.key(me)));
            Consensus::new(H, net.members(), Some(me), signer, Config::default())
        };
        again.start();
        let out = again.handle(proposal(&again, 0, b, None));
        assert_eq!(broadcasts(&out), vec![(VoteKind::Prevote, 0, Some(b))]);
    }

    #[test]
    fn a_restored_vote_is_cast_again_instead_of_a_new_one() {
        let net = Net::new(4);
        let mut m = non_proposer(&net);
        let me = m.voter.unwrap();
        let others = net.others(&[me]);
        m.start();
        let b = block(1);
        m.handle(proposal(&m, 0, b, None));
        let before = m.own_votes();
        // Restart with the record: the old prevote and a signer that would
        // refuse anything new.
        let mut signer = TestSigner::new(net.key(me));
        signer.refuse_all = true;
        let mut restarted = Consensus::new(H, net.members(), Some(me), signer, Config::default())
            .with_own_vote(before[0].clone());
        assert_eq!(restarted.own_votes(), before);
        restarted.start();
        // The proposal is gone; on the propose timeout the machine would
        // prevote nil, but casts its recorded prevote again.
        let out = restarted.handle(Input::Timeout {
            step: Step::Propose,
            round: 0,
        });
        assert_eq!(out[0], Output::Broadcast(before[0].clone()));
        assert_eq!(broadcasts(&out).len(), 1);
        assert_eq!(restarted.own_votes(), before);
        // It is counted: two more prevotes for b make a polka, and the
        // proposal (re-sent by its proposer) then gets a precommit... which
        // this refusing signer does not sign, but the lock is taken.
        restarted.handle(proposal(&restarted, 0, b, None));
        restarted.handle(net.vote(others[0], VoteKind::Prevote, 0, Some(b)));
        restarted.handle(net.vote(others[1], VoteKind::Prevote, 0, Some(b)));
        assert_eq!(restarted.lock(), Some((0, b)));
        // Votes of someone else, or of another height, are not restored.
        let other = Consensus::new(
            H,
            net.members(),
            Some(others[0]),
            NoSigner,
            Config::default(),
        )
        .with_own_vote(before[0].clone());
        assert!(other.own_votes().is_empty());
    }

    #[test]
    fn a_vote_of_ours_echoed_back_is_cast_again() {
        let net = Net::new(4);
        let mut m = non_proposer(&net);
        let me = m.voter.unwrap();
        m.start();
        let b = block(1);
        // Our prevote for b from before a restart, echoed by a peer.
        let Input::Vote(echo) = net.vote(me, VoteKind::Prevote, 0, Some(b)) else {
            unreachable!()
        };
        m.handle(Input::Vote(echo.clone()));
        let out = m.handle(Input::Timeout {
            step: Step::Propose,
            round: 0,
        });
        assert_eq!(out[0], Output::Broadcast(echo));
        assert_eq!(broadcasts(&out).len(), 1);
        assert!(m.signer.record.is_empty(), "the signer was not asked");
    }

    #[test]
    fn a_restored_vote_of_a_later_round_counts_for_the_round_skip() {
        // n = 3: f+1 = 1, so our own restored vote of round 3 brings us back
        // to round 3 at once.
        let net = Net::new(3);
        let me = net.keys[0].address();
        let Input::Vote(old) = net.vote(me, VoteKind::Precommit, 3, None) else {
            unreachable!()
        };
        let mut m = net.machine(me).with_own_vote(old);
        m.start();
        assert_eq!(m.round(), 3);
    }

    #[test]
    fn a_proposal_with_valid_round_waits_for_its_polka() {
        let net = Net::new(4);
        let mut m = non_proposer(&net);
        let me = m.voter.unwrap();
        let others = net.others(&[me]);
        m.start();
        m.handle(net.vote(others[0], VoteKind::Prevote, 2, None));
        m.handle(net.vote(others[1], VoteKind::Prevote, 2, None));
        assert_eq!(m.round(), 2);
        let v = block(3);
        // vr must be below the current round: vr = 2 never fires line 28.
        assert!(broadcasts(&m.handle(proposal(&m, 2, v, Some(2)))).is_empty());
        // vr = 1 fires once the polka of round 1 is complete.
        assert!(broadcasts(&m.handle(proposal(&m, 2, v, Some(1)))).is_empty());
        m.handle(net.vote(others[0], VoteKind::Prevote, 1, Some(v)));
        m.handle(net.vote(others[1], VoteKind::Prevote, 1, Some(v)));
        let out = m.handle(net.vote(others[2], VoteKind::Prevote, 1, Some(v)));
        assert_eq!(broadcasts(&out), vec![(VoteKind::Prevote, 2, Some(v))]);
    }

    #[test]
    fn a_late_or_stale_block_is_not_proposed() {
        let net = Net::new(4);
        let probe = net.observer();
        let me = probe.proposer(0);
        let mut m = net.machine(me);
        assert_eq!(m.start()[0], Output::BuildBlock { round: 0 });
        assert!(
            m.handle(Input::BlockBuilt {
                round: 1,
                block: block(1)
            })
            .is_empty()
        );
        // The propose timeout fires before the block is built: prevote nil.
        let out = m.handle(Input::Timeout {
            step: Step::Propose,
            round: 0,
        });
        assert_eq!(broadcasts(&out), vec![(VoteKind::Prevote, 0, None)]);
        assert!(
            m.handle(Input::BlockBuilt {
                round: 0,
                block: block(1)
            })
            .is_empty()
        );
        assert_eq!(m.own_proposal(), None);
    }

    #[test]
    fn proposals_per_round_are_bounded() {
        let net = Net::new(4);
        let mut m = non_proposer(&net);
        let me = m.voter.unwrap();
        // Before start, so that no rule consumes them.
        for seed in 0..10 {
            m.handle(proposal(&m, 0, block(seed), None));
        }
        assert_eq!(m.proposals[&0].len(), MAX_PROPOSALS_PER_ROUND);
        // A block with f+1 = 2 prevotes still gets in, once.
        let supported = block(20);
        for voter in net.others(&[me]).iter().take(2) {
            m.handle(net.vote(*voter, VoteKind::Prevote, 0, Some(supported)));
        }
        for vr in [None, Some(0), Some(1)] {
            m.handle(proposal(&m, 0, supported, vr));
        }
        assert_eq!(m.proposals[&0].len(), MAX_PROPOSALS_PER_ROUND + 1);
    }

    #[test]
    fn proposer_rotates_by_height_plus_round() {
        let net = Net::new(4);
        let sorted: Vec<Address> = net.members().into_iter().collect();
        let m = net.observer();
        // H = 5: index (5 + r) mod 4.
        assert_eq!(m.proposer(0), sorted[1]);
        assert_eq!(m.proposer(3), sorted[0]);
        assert_eq!(m.proposer(u32::MAX), sorted[(5 + u32::MAX as usize) % 4]);
        let empty = Consensus::new(H, BTreeSet::new(), None, NoSigner, Config::default());
        assert_eq!(empty.proposer(0), Address([0; 32]));
    }

    #[test]
    fn thresholds_for_small_networks() {
        // (n, quorum, f+1)
        for (n, q, skip) in [
            (1, 1, 1),
            (2, 2, 1),
            (3, 3, 1),
            (4, 3, 2),
            (5, 4, 2),
            (6, 5, 2),
            (7, 5, 3),
        ] {
            let members: BTreeSet<Address> = (0..n).map(|i| Address([i as u8 + 1; 32])).collect();
            let m = Consensus::new(H, members, None, NoSigner, Config::default());
            assert_eq!((m.quorum, m.skip), (q, skip), "n = {n}");
        }
    }
}
