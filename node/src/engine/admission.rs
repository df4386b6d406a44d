//! Admission: API submissions into the mempool, gossiped transactions, and
//! the batching of admitted transactions into gossip messages (one per
//! [`EngineConfig::tx_gossip_delay`](super::EngineConfig::tx_gossip_delay)).

use super::*;

impl<N: Network> Engine<N> {
    /// Handles a request from the API.
    pub fn on_request(&mut self, request: Request) -> Result<(), EngineError> {
        match request {
            Request::Submit { tx, wait, reply } => self.submit(tx, wait, reply),
            Request::Sale { order, mode, reply } => self.on_sale(order, mode, reply),
            Request::Refund {
                receipt,
                amount,
                reply,
            } => self.on_refund(receipt, amount, reply),
            Request::Grant { grant, reply } => self.on_grant(grant, reply),
            Request::IsPending { id, reply } => {
                let _ = reply.send(self.mempool.contains(&id));
                Ok(())
            }
        }
    }

    pub(super) fn submit(
        &mut self,
        tx: SignedTransaction,
        wait: bool,
        reply: oneshot::Sender<Result<Submitted, SubmitError>>,
    ) -> Result<(), EngineError> {
        let id = tx.tx.id(&self.chain_id);
        if let Some(location) = self.store.tx_location(&id)? {
            // Already final: the same signed transaction submitted twice is
            // applied once.
            let _ = reply.send(Ok(Submitted::Final { id, location }));
            return Ok(());
        }
        if self.mempool.is_full() && !self.mempool.contains(&id) {
            // Refuse before paying for a signature check.
            let _ = reply.send(Err(SubmitError::Busy {
                waiting: self.mempool.len(),
            }));
            return Ok(());
        }
        let verified = match self.mempool.verified(&id, &tx) {
            Some(known) => known,
            None => match tx.verify(&self.chain_id) {
                Ok(verified) => verified,
                Err(_) => {
                    let _ = reply.send(Err(SubmitError::BadSignature {
                        chain_id: self.chain_id.clone(),
                    }));
                    return Ok(());
                }
            },
        };
        match self.mempool.admit(verified.clone()) {
            Ok(admission) => {
                if admission == Admission::Added {
                    self.gossip_tx(verified.into_signed());
                }
                if wait {
                    self.waiters.entry(id).or_default().push(reply);
                } else {
                    let _ = reply.send(Ok(Submitted::Pending { id }));
                }
                self.maybe_start_height()?;
            }
            Err(MempoolError::Busy { waiting }) => {
                let _ = reply.send(Err(SubmitError::Busy { waiting }));
            }
            Err(MempoolError::Rejected(error)) => {
                let _ = reply.send(Err(SubmitError::Rejected(error)));
            }
        }
        Ok(())
    }

    /// Queues an admitted transaction for gossip; it leaves with the others
    /// admitted within [`EngineConfig::tx_gossip_delay`].
    pub(super) fn gossip_tx(&mut self, tx: SignedTransaction) {
        if self.outbox.is_empty() {
            self.outbox_due = Some(self.clock.now() + self.config.tx_gossip_delay);
        }
        self.outbox.push(tx);
        if self.outbox.len() >= MAX_GOSSIP_TXS {
            self.flush_outbox(true);
        }
    }

    /// Publishes the queued transactions if they are due (or `now`).
    pub(super) fn flush_outbox(&mut self, now: bool) {
        let due = self.outbox_due.is_some_and(|at| at <= self.clock.now());
        if (now || due) && !self.outbox.is_empty() {
            let txs = std::mem::take(&mut self.outbox);
            self.publish(Gossip::Txs(txs));
        }
        if self.outbox.is_empty() {
            self.outbox_due = None;
        }
    }

    /// Admits gossiped transactions. A batch with a badly signed
    /// transaction is rejected (its sender is penalized), after the valid
    /// ones before it are kept.
    pub(super) fn on_gossip_txs(
        &mut self,
        txs: Vec<SignedTransaction>,
    ) -> Result<Verdict, EngineError> {
        let mut verdict = Verdict::Accept;
        let mut added = false;
        for tx in txs {
            let id = tx.tx.id(&self.chain_id);
            if self.mempool.contains(&id) {
                continue;
            }
            let verified = match tx.verify(&self.chain_id) {
                Ok(verified) => verified,
                Err(_) => {
                    verdict = Verdict::Reject(Offence::TxSignature { id });
                    break;
                }
            };
            // A gossiped transaction that does not apply (already included,
            // reordered nonces, pool full) is simply not kept: the node that
            // admitted it still has it.
            added |= self.mempool.admit(verified).is_ok();
        }
        if added {
            self.maybe_start_height()?;
        }
        Ok(verdict)
    }
}
