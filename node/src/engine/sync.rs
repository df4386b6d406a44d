//! Catch-up: peer heads (from status announcements, sync answers and the
//! head-only request sent when a peer connects), sync requests to the best
//! peer with back-off and a request that shrinks when answers are too
//! large, synced blocks checked (certificate, then the ledger's rules) and
//! committed, and the peer penalized when one fails its checks.

use super::*;

impl<N: Network> Engine<N> {
    pub(super) fn penalize(&self, peer: N::Peer, offence: Offence) {
        self.net.penalize(peer, offence);
    }

    pub(super) fn on_status(&mut self, from: N::Peer, status: Status) {
        self.peer_heads.insert(from, status.head);
        if status.head > self.head.height {
            self.request_sync(from);
        }
    }

    /// The highest head a connected peer has told us of.
    pub(super) fn best_peer_head(&self) -> Height {
        self.peer_heads.values().copied().max().unwrap_or(Height(0))
    }

    pub(super) fn request_sync(&mut self, peer: N::Peer) {
        if let Some((_, since)) = self.sync_in_flight
            && self.clock.now().saturating_duration_since(since) < SYNC_TIMEOUT
        {
            return;
        }
        if self.clock.now() < self.sync_retry_at {
            // Backing off after failures; the tick tries again.
            return;
        }
        self.sync_in_flight = Some((peer, self.clock.now()));
        self.net.request_sync(
            peer,
            SyncRequest {
                from: self.next_height(),
                max: self.sync_batch,
            },
        );
        self.publish_view();
    }

    /// Asks the peer with the highest head for blocks, if one is ahead of
    /// us and nothing is asked already.
    pub(super) fn sync_from_best_peer(&mut self) {
        if self.sync_in_flight.is_some() {
            return;
        }
        let best = self
            .peer_heads
            .iter()
            .filter(|(_, head)| **head > self.head.height)
            .max_by_key(|(peer, head)| (**head, **peer))
            .map(|(peer, _)| *peer);
        if let Some(peer) = best {
            self.request_sync(peer);
        }
    }

    /// A sync request brought nothing: back off, ask for fewer blocks if
    /// the answer was too large, and say so once it keeps happening.
    pub(super) fn on_sync_failed(&mut self, peer: N::Peer, failure: SyncFailure) {
        if self.sync_in_flight.is_some_and(|(p, _)| p == peer) {
            self.sync_in_flight = None;
        }
        if let SyncFailure::TooLarge { .. } = failure {
            self.sync_batch = (self.sync_batch / 2).max(1);
        }
        let behind = self.best_peer_head() > self.head.height;
        self.sync_stalled(
            format!("cannot fetch blocks from peer {peer}: {failure}"),
            behind,
        );
    }

    /// Records why catching up made no progress. Logged at warn level from
    /// the third failure in a row (and every tenth after), shown in
    /// `GET /v1/head` until a sync brings blocks again.
    pub(super) fn sync_stalled(&mut self, problem: String, behind: bool) {
        if !behind {
            // Not behind anyone: nothing to catch up, nothing to back off
            // from (a failed head-only request to a flapping peer, say).
            tracing::debug!(%problem, "sync request failed");
            self.sync_problem = None;
            self.publish_view();
            return;
        }
        self.sync_failures = self.sync_failures.saturating_add(1);
        let backoff = SYNC_RETRY_MIN
            .saturating_mul(1 << self.sync_failures.min(8))
            .min(SYNC_RETRY_MAX);
        self.sync_retry_at = self.clock.now() + backoff;
        if self.sync_failures == 3 || self.sync_failures.is_multiple_of(10) {
            tracing::warn!(
                height = %self.head.height,
                peer_head = %self.best_peer_head(),
                failures = self.sync_failures,
                %problem,
                "this node is behind and cannot catch up",
            );
        } else {
            tracing::debug!(%problem, "sync made no progress");
        }
        self.sync_problem = Some(problem);
        self.publish_view();
    }

    /// An answer to a sync request, or to the head-only request sent when
    /// a peer connects (an answer from a peer we are not syncing from).
    pub(super) fn on_synced(
        &mut self,
        from: N::Peer,
        response: SyncResponse,
    ) -> Result<(), EngineError> {
        let answers_sync = self.sync_in_flight.is_some_and(|(p, _)| p == from);
        if answers_sync {
            self.sync_in_flight = None;
        }
        // The answer says how far the peer goes (a peer that announced more
        // than it has is corrected here).
        self.peer_heads.insert(from, response.head);
        let start = self.head.height;
        for final_block in response.blocks {
            let height = final_block.block.header.height;
            if height <= self.head.height {
                continue;
            }
            if height != self.next_height() {
                break;
            }
            let FinalBlock { block, certificate } = final_block;
            if let Err(error) =
                certificate.verify(&self.chain_id, &block.header, &self.state.member_set())
            {
                self.refuse_synced(
                    from,
                    Offence::SyncedBlock {
                        height,
                        fault: error.into(),
                    },
                );
                return Ok(());
            }
            let applied = match self.check_block(block) {
                Ok(applied) => applied,
                Err(refused) => {
                    self.refuse_synced(
                        from,
                        Offence::SyncedBlock {
                            height,
                            fault: refused.into(),
                        },
                    );
                    return Ok(());
                }
            };
            self.commit(applied, certificate)?;
        }
        let progress = self.head.height > start;
        if progress {
            self.sync_failures = 0;
            self.sync_problem = None;
            self.sync_retry_at = self.clock.now();
            self.sync_batch = self.sync_batch.saturating_mul(2).min(MAX_SYNC_BLOCKS);
        }
        if response.head > self.head.height {
            if progress || !answers_sync {
                self.request_sync(from);
            } else {
                // Ahead by its own word, yet nothing that follows our head
                // came: do not loop on it; the tick tries again later.
                self.sync_stalled(
                    format!(
                        "peer {from} says it is at block {} but sent nothing after block {}",
                        response.head, self.head.height
                    ),
                    true,
                );
            }
        }
        self.publish_view();
        Ok(())
    }

    /// A synced block failed its checks: the peer that sent it is
    /// penalized, and it is not taken at its word about its head.
    pub(super) fn refuse_synced(&mut self, from: N::Peer, offence: Offence) {
        let reason = offence.to_string();
        self.penalize(from, offence);
        self.peer_heads.remove(&from);
        let behind = self.best_peer_head() > self.head.height;
        self.sync_stalled(reason, behind);
    }
}
