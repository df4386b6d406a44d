//! Consensus driving: consensus messages checked and fed to the height's
//! [`Consensus`] machine (or buffered for the next height), heights started
//! lazily, and the machine's outputs carried out (build, propose, vote,
//! schedule a timeout, decide).

use super::*;

impl<N: Network> Engine<N> {
    /// Feeds a consensus message of the height being decided to the
    /// machine (after its signature), keeps one of the next height, and
    /// says whether it is worth forwarding.
    pub(super) fn on_consensus(
        &mut self,
        from: N::Peer,
        message: ConsensusMessage,
    ) -> Result<Verdict, EngineError> {
        if message.height() < self.next_height() {
            return Ok(Verdict::Ignore);
        }
        // Check the signature before the message can start a height, be
        // kept for later or make us ask the sender for blocks.
        let checked = match &message {
            ConsensusMessage::Vote(vote) => vote
                .verify(&self.chain_id)
                .map_err(|_| Offence::VoteSignature),
            ConsensusMessage::Proposal(proposal) => {
                proposal.verify(&self.chain_id).map_err(Offence::Proposal)
            }
        };
        match checked {
            Ok(()) => self.on_signed_consensus(from, message),
            Err(offence) => Ok(Verdict::Reject(offence)),
        }
    }

    /// Goes on with a consensus message whose signature was checked (also
    /// one kept for the next height, when that height starts).
    pub(super) fn on_signed_consensus(
        &mut self,
        from: N::Peer,
        message: ConsensusMessage,
    ) -> Result<Verdict, EngineError> {
        let height = message.height();
        let next = self.next_height();
        if height < next {
            return Ok(Verdict::Ignore);
        }
        let signer = match &message {
            ConsensusMessage::Vote(vote) => vote.voter,
            ConsensusMessage::Proposal(proposal) => proposal.proposer,
        };
        if self.state.member(&signer).is_none() {
            // Not a member now (a member of a later height's set is
            // heard once we get there, by its re-broadcast).
            return Ok(Verdict::Ignore);
        }
        if height > next {
            if height.0 == next.0 + 1 && self.buffered.len() < MAX_BUFFERED {
                self.buffered.push((from, message));
            }
            // A member has finished a height we have not: catch up.
            self.request_sync(from);
            return Ok(Verdict::Ignore);
        }
        if self.machine.is_none() {
            self.start_height()?;
        }
        let input = match message {
            ConsensusMessage::Vote(vote) => Input::Vote(vote),
            ConsensusMessage::Proposal(proposal) => self.proposal_input(proposal),
        };
        self.drive(input)?;
        Ok(Verdict::Accept)
    }

    /// Judges a proposal (signature already checked) and turns it into the
    /// machine's input.
    pub(super) fn proposal_input(&mut self, signed: SignedProposal) -> Input {
        let SignedProposal {
            proposal,
            proposer,
            block,
            ..
        } = signed;
        if !self.candidates.contains_key(&proposal.block) {
            let applied = self.judge(block.clone());
            self.candidates
                .insert(proposal.block, Candidate { block, applied });
        }
        let valid = self
            .candidates
            .get(&proposal.block)
            .is_some_and(|c| c.applied.is_some());
        Input::Proposal {
            round: proposal.round,
            proposer,
            block: proposal.block,
            valid_round: proposal.valid_round,
            valid,
        }
    }

    /// Tendermint's `valid(v)`: the block is not too far in the future and
    /// applies cleanly to the current state.
    ///
    /// A re-proposed block (Tendermint line 16) names the proposer of the
    /// round that built it, not this round's, so the header's proposer need
    /// only be a member (which `apply_block` checks).
    pub(super) fn judge(&self, block: Block) -> Option<Applied> {
        let height = block.header.height;
        let limit = self
            .clock
            .wall_ms()
            .0
            .saturating_add(self.config.max_clock_drift.as_millis() as u64);
        if block.header.time.0 > limit {
            tracing::warn!(%height, time = block.header.time.0, "proposed block is too far in the future; check the proposer's clock");
            return None;
        }
        match self.check_block(block) {
            Ok(applied) => Some(applied),
            Err(reason) => {
                tracing::warn!(%height, %reason, "invalid block proposed");
                None
            }
        }
    }

    /// Starts the next height if there is a reason to: transactions wait
    /// (and [`EngineConfig::min_block_interval`] has passed, or a full
    /// block waits), or the chain has been idle for long.
    pub(super) fn maybe_start_height(&mut self) -> Result<(), EngineError> {
        if self.machine.is_some() || self.sync_in_flight.is_some() {
            return Ok(());
        }
        let idle = self
            .clock
            .now()
            .saturating_duration_since(self.last_block_at)
            >= self.config.idle_block_interval;
        if self.paced_start().is_some_and(|at| at <= self.clock.now()) || idle {
            self.start_height()?;
        }
        Ok(())
    }

    /// When the next height is due to start because transactions wait
    /// (see [`EngineConfig::min_block_interval`]).
    pub(super) fn paced_start(&self) -> Option<Instant> {
        if self.machine.is_some() || self.sync_in_flight.is_some() || self.mempool.is_empty() {
            return None;
        }
        let full = self.mempool.len() >= self.state.params().max_block_txs as usize;
        if self.last_block_txs <= self.config.busy_block_txs || full {
            return Some(self.clock.now());
        }
        Some(self.last_block_at + self.config.min_block_interval)
    }

    pub(super) fn start_height(&mut self) -> Result<(), EngineError> {
        let height = self.next_height();
        let members = self.state.member_set();
        let me = self.me().filter(|me| members.contains(me));
        let mut machine = Consensus::new(
            height,
            members,
            me,
            self.signer.clone(),
            self.config.consensus,
        );
        if let Some((round, block)) = self.signer.lock_at(height) {
            machine = machine.with_lock(round, block);
            // The block we are locked on, kept across a restart, so we can
            // re-propose it.
            if let Ok(Some(locked)) = self.store.locked_block()
                && locked.header.hash() == block
                && !self.candidates.contains_key(&block)
            {
                let applied = self.check_block(locked.clone()).ok();
                self.candidates.insert(
                    block,
                    Candidate {
                        block: locked,
                        applied,
                    },
                );
            }
        }
        if let Some(me) = me {
            for (vote, signature) in self.signer.votes_at(height) {
                machine = machine.with_own_vote(SignedVote {
                    vote,
                    voter: me,
                    signature,
                });
            }
        }
        let outputs = machine.start();
        self.machine = Some(machine);
        self.height_started = self.clock.now();
        self.process(outputs)?;
        let buffered = std::mem::take(&mut self.buffered);
        for (from, message) in buffered {
            if message.height() == height {
                // Its signature was checked when it arrived, and its
                // verdict given then.
                self.on_signed_consensus(from, message)?;
            } else if message.height() > height && self.buffered.len() < MAX_BUFFERED {
                self.buffered.push((from, message));
            }
        }
        Ok(())
    }

    pub(super) fn drive(&mut self, input: Input) -> Result<(), EngineError> {
        let Some(machine) = self.machine.as_mut() else {
            return Ok(());
        };
        let outputs = machine.handle(input);
        self.process(outputs)
    }

    pub(super) fn process(&mut self, outputs: Vec<Output>) -> Result<(), EngineError> {
        let mut queue: std::collections::VecDeque<Output> = outputs.into();
        // The machine's last step may have asked for a vote the record
        // could not store: stop before anything else happens.
        if let Some(failure) = self.signer.take_failure() {
            return Err(EngineError::SigningRecord(failure));
        }
        while let Some(output) = queue.pop_front() {
            let height = self.next_height();
            match output {
                Output::BuildBlock { round } => {
                    if let Some(block) = self.build_block()
                        && let Some(machine) = self.machine.as_mut()
                    {
                        queue.extend(machine.handle(Input::BlockBuilt { round, block }));
                        if let Some(failure) = self.signer.take_failure() {
                            return Err(EngineError::SigningRecord(failure));
                        }
                    }
                }
                Output::Propose {
                    round,
                    block,
                    valid_round,
                } => {
                    let (Some(key), Some(candidate)) = (&self.key, self.candidates.get(&block))
                    else {
                        continue;
                    };
                    let signed = Proposal {
                        height,
                        round,
                        valid_round,
                        block,
                    }
                    .sign(key, &self.chain_id, candidate.block.clone());
                    self.publish(Gossip::Consensus(ConsensusMessage::Proposal(
                        signed.clone(),
                    )));
                    self.own_proposal = Some(signed);
                }
                Output::Broadcast(vote) => {
                    if vote.vote.kind == guild_ledger::block::VoteKind::Precommit
                        && let Some(block) = vote.vote.block
                    {
                        // Stored only if the height drags on (see on_tick).
                        self.lock_to_keep = Some(block);
                    }
                    self.publish(Gossip::Consensus(ConsensusMessage::Vote(vote)));
                }
                Output::ScheduleTimeout { step, round, after } => {
                    self.timer_seq += 1;
                    self.timers.insert(
                        (self.clock.now() + after, self.timer_seq),
                        (height, step, round),
                    );
                }
                Output::Decided { block, certificate } => {
                    match self.candidates.remove(&block).and_then(|c| c.applied) {
                        Some(applied) => {
                            self.commit(applied, certificate)?;
                            return self.maybe_start_height();
                        }
                        None => {
                            tracing::error!(%height, %block, "decided a block this node does not hold; catching up from peers");
                            if let Some(peer) = self.peer_heads.keys().next().copied() {
                                self.request_sync(peer);
                            }
                        }
                    }
                }
                Output::Equivocation { first, second } => {
                    self.equivocations += 1;
                    tracing::warn!(voter = %first.voter, first = ?first.vote, second = ?second.vote, "member signed two different votes for one round (evidence kept in the log)");
                }
            }
        }
        self.publish_view();
        Ok(())
    }

    /// Builds this node's proposal from the mempool.
    pub(super) fn build_block(&mut self) -> Option<Hash> {
        let me = self.me()?;
        let time = Timestamp(
            self.clock
                .wall_ms()
                .0
                .max(self.head.time.0.saturating_add(1)),
        );
        let mut builder = match BlockBuilder::new(&self.state, &self.head, time, me) {
            Ok(builder) => builder,
            Err(error) => {
                tracing::error!(%error, "cannot build a block");
                return None;
            }
        };
        for tx in self.mempool.iter() {
            if !builder.has_room_for(tx) {
                break;
            }
            let _ = builder.push(tx.clone());
        }
        let applied = builder.finish();
        let block = applied.block.clone().into_block();
        let hash = block.header.hash();
        self.candidates.insert(
            hash,
            Candidate {
                block,
                applied: Some(applied),
            },
        );
        Some(hash)
    }

    pub(super) fn on_timers(&mut self) -> Result<(), EngineError> {
        let now = self.clock.now();
        while let Some(entry) = self.timers.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let (height, step, round) = entry.remove();
            if height == self.next_height() {
                self.drive(Input::Timeout { step, round })?;
            }
        }
        Ok(())
    }
}
