//! Commit: a block checked against the current state, and a decided or
//! synced block made final (one store batch, then the head, the mempool,
//! waiting submitters and subscribers).

use super::*;
use guild_ledger::error::BlockError;

/// Why a proposed or synced block is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockRefused {
    /// A transaction's signature does not verify.
    #[error("transaction {index} has a bad signature")]
    BadSignature {
        /// Its position in the block.
        index: usize,
    },
    /// The block breaks a ledger rule.
    #[error(transparent)]
    Rules(#[from] BlockError),
}

impl<N: Network> Engine<N> {
    /// Verifies a block's signatures (reusing the mempool's checks) and
    /// applies it to the current state.
    pub(super) fn check_block(&self, block: Block) -> Result<Applied, BlockRefused> {
        let header = block.header.clone();
        let mut txs = Vec::with_capacity(block.txs.len());
        for (index, tx) in block.txs.into_iter().enumerate() {
            let id = tx.tx.id(&self.chain_id);
            let verified = match self.mempool.verified(&id, &tx) {
                Some(known) => known,
                None => tx
                    .verify(&self.chain_id)
                    .map_err(|_| BlockRefused::BadSignature { index })?,
            };
            txs.push(verified);
        }
        let block = VerifiedBlock::from_parts(header, txs);
        Ok(self.state.apply_block(&self.head, &block)?)
    }

    /// Makes a block final: stores it (one atomic batch, flushed), moves the
    /// head, rebuilds the mempool and tells everyone.
    pub(super) fn commit(
        &mut self,
        mut applied: Applied,
        certificate: CommitCertificate,
    ) -> Result<(), EngineError> {
        // The store keeps no effects; subscribers get them.
        let effects = Arc::new(std::mem::take(&mut applied.effects));
        let (commit, state) = Commit::new(&self.state, applied, certificate.clone());
        self.store.commit(&commit)?;
        let Commit {
            block: final_block,
            tx_ids: ids,
            ..
        } = commit;
        let height = final_block.block.header.height;
        tracing::info!(%height, txs = ids.len(), "block final");
        self.head = final_block.block.header.clone();
        self.recent = self.recent.with(state.clone());
        self.state = state;
        self.certificate = Some(certificate);
        self.machine = None;
        self.timers.clear();
        self.candidates.clear();
        self.own_proposal = None;
        self.lock_to_keep = None;
        self.last_block_at = self.clock.now();
        self.last_block_txs = ids.len();
        // Readers see the new head before anyone hears "final", so a client
        // told its transaction is final reads a state that holds it.
        self.publish_view();
        for (index, id) in ids.iter().enumerate() {
            let location = TxLocation {
                height,
                index: index as u32,
            };
            if let Some(waiters) = self.waiters.remove(id) {
                for waiter in waiters {
                    let _ = waiter.send(Ok(Submitted::Final { id: *id, location }));
                }
            }
            self.sale_final(*id, location);
        }
        self.rebuild_mempool(&ids)?;
        let _ = self.events.send(ChainEvent::Final {
            block: Arc::new(final_block),
            ids: Arc::new(ids),
            effects,
            state: self.state.clone(),
        });
        self.announce();
        self.publish_view();
        Ok(())
    }

    /// Rebuilds the mempool on the current state at the current time
    /// (`included` left in the last block): transactions that became
    /// invalid are dropped and their submitters told; a sale of ours whose
    /// rules moved is signed again.
    pub(super) fn rebuild_mempool(&mut self, included: &[TxId]) -> Result<(), EngineError> {
        let dropped = self
            .mempool
            .rebuild(&self.state, &self.head, self.clock.wall_ms(), included);
        for (id, error) in dropped {
            tracing::info!(%id, %error, "transaction dropped from the mempool");
            if let Some(waiters) = self.waiters.remove(&id) {
                for waiter in waiters {
                    let _ = waiter.send(Err(SubmitError::Dropped(error.clone())));
                }
            }
            self.sale_dropped(id, &error)?;
        }
        Ok(())
    }
}
