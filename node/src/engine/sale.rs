//! Sales and refunds a till asks the shop's own node to sign.
//!
//! A till sends the basket; the engine computes the points with
//! [`State::sale_breakdown`] on the mempool's speculative state (the head
//! with everything already waiting applied, at the speculative block's
//! time), signs the sale with the shop's key at the next free nonce and
//! admits it. Every validating node recomputes the points. If the rules, the
//! customer's tier or a campaign's budget move before the sale is included
//! (another till's sale spent the last of a budget, the clock passed 9
//! o'clock), the block refuses it with `rules_changed` and the mempool drops
//! it; the engine then computes and signs it again by itself, up to
//! [`MAX_RESIGNS`] times, and the till hears the outcome of the last one.

use super::*;
use crate::handle::{SaleMode, SaleOrder, SaleOutcome, Ticket};
use guild_ledger::error::TxError;
use guild_ledger::programme::Breakdown;
use guild_ledger::tx::{Transaction, TxBody};
use guild_ledger::types::{Cents, ReceiptHash};

/// Most times one sale is signed again after the rules moved.
pub const MAX_RESIGNS: u32 = 3;

/// The speculative block is recomputed before a sale if its time is older
/// than this, so time-of-day rules are evaluated at about now.
const STALE_AFTER_MS: u64 = 1_000;

/// A sale this node signed that is not final yet.
pub(super) struct SaleInFlight {
    order: SaleOrder,
    breakdown: Breakdown,
    signed: u32,
    done: Option<oneshot::Sender<Result<SaleOutcome, SubmitError>>>,
}

impl<N: Network> Engine<N> {
    pub(super) fn on_sale(
        &mut self,
        order: SaleOrder,
        mode: SaleMode,
        reply: oneshot::Sender<Result<Ticket<SaleOutcome>, SubmitError>>,
    ) -> Result<(), EngineError> {
        if mode == SaleMode::Preview {
            let result = self.price(&order).map(|breakdown| Ticket {
                now: SaleOutcome {
                    breakdown,
                    submitted: None,
                },
                done: None,
            });
            let _ = reply.send(result);
            return Ok(());
        }
        let (done, done_rx) = oneshot::channel();
        let result = self.sign_sale(order, 1, Some(done))?;
        let _ = reply.send(result.map(|now| Ticket {
            now,
            done: Some(done_rx),
        }));
        Ok(())
    }

    /// The points `order` gets if it goes into the next block.
    fn price(&mut self, order: &SaleOrder) -> Result<Breakdown, SubmitError> {
        let me = self.me().ok_or(SubmitError::NoShopKey)?;
        if order.customer == me {
            return Err(SubmitError::Rejected(TxError::SelfEarn));
        }
        self.refresh_speculative()?;
        let (state, height, time) = self.speculative_at();
        state
            .sale_breakdown(&me, &order.customer, &order.basket, height, time)
            .map_err(SubmitError::Rejected)
    }

    /// The state, height and time a transaction admitted now is checked
    /// against.
    pub(super) fn speculative_at(&self) -> (&State, Height, Timestamp) {
        match self.mempool.speculative() {
            Some(builder) => (builder.state(), builder.height(), builder.time()),
            None => (&self.state, self.next_height(), self.clock.wall_ms()),
        }
    }

    /// Recomputes the mempool's speculative block at the current time if it
    /// is stale.
    pub(super) fn refresh_speculative(&mut self) -> Result<(), SubmitError> {
        let now = self.clock.wall_ms();
        let stale = self
            .mempool
            .speculative()
            .is_some_and(|b| now.0.saturating_sub(b.time().0) > STALE_AFTER_MS);
        if stale {
            self.rebuild_mempool(&[])
                .map_err(|_| SubmitError::Stopped)?;
        }
        Ok(())
    }

    /// Computes, signs and admits a sale (attempt `signed`); remembers it
    /// so it can be signed again if the rules move.
    fn sign_sale(
        &mut self,
        order: SaleOrder,
        signed: u32,
        done: Option<oneshot::Sender<Result<SaleOutcome, SubmitError>>>,
    ) -> Result<Result<SaleOutcome, SubmitError>, EngineError> {
        let breakdown = match self.price(&order) {
            Ok(breakdown) => breakdown,
            Err(error) => return Ok(Err(error)),
        };
        let body = TxBody::Sale {
            customer: order.customer,
            receipt: order.receipt,
            basket: order.basket.clone(),
            claim: breakdown.claim(),
        };
        let (id, admitted) = self.sign_and_admit(body)?;
        if let Err(error) = admitted {
            return Ok(Err(error));
        }
        self.sales.insert(
            id,
            SaleInFlight {
                order,
                breakdown: breakdown.clone(),
                signed,
                done,
            },
        );
        // A network of one member decides and commits the block while the
        // sale is being admitted, before it was registered above.
        if let Some(location) = self.store.tx_location(&id)? {
            self.sale_final(id, location);
        }
        Ok(Ok(SaleOutcome {
            breakdown,
            submitted: Some(Submitted::Pending { id }),
        }))
    }

    /// Signs `body` with the shop's key at the next free nonce (after the
    /// waiting transactions) and admits it.
    pub(super) fn sign_and_admit(
        &mut self,
        body: TxBody,
    ) -> Result<(TxId, Result<(), SubmitError>), EngineError> {
        let Some(key) = self.key.clone() else {
            return Ok((TxId(Hash::ZERO), Err(SubmitError::NoShopKey)));
        };
        let (state, _, _) = self.speculative_at();
        let nonce = state
            .account(&key.address())
            .map(|a| a.nonce)
            .unwrap_or_default();
        let tx = Transaction {
            author: key.address(),
            nonce,
            body,
        }
        .sign(&key, &self.chain_id);
        let id = tx.tx.id(&self.chain_id);
        let (reply, mut answer) = oneshot::channel();
        self.submit(tx, false, reply)?;
        let admitted = match answer.try_recv() {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) => Err(error),
            Err(_) => Err(SubmitError::Stopped),
        };
        Ok((id, admitted))
    }

    pub(super) fn on_refund(
        &mut self,
        receipt: ReceiptHash,
        amount: Option<Cents>,
        reply: oneshot::Sender<Result<Ticket<Submitted>, SubmitError>>,
    ) -> Result<(), EngineError> {
        let (id, admitted) = self.sign_and_admit(TxBody::Reverse { receipt, amount })?;
        let result = match admitted {
            Ok(()) => Ok(Ticket {
                now: Submitted::Pending { id },
                done: Some(self.await_final(id)?),
            }),
            Err(error) => Err(error),
        };
        let _ = reply.send(result);
        Ok(())
    }

    /// A channel that completes once `id` (signed and admitted by this
    /// node) is final or dropped; at once if it is final already (a network
    /// of one member commits the block while the transaction is admitted).
    pub(super) fn await_final(
        &mut self,
        id: TxId,
    ) -> Result<oneshot::Receiver<Result<Submitted, SubmitError>>, EngineError> {
        let (done, done_rx) = oneshot::channel();
        match self.store.tx_location(&id)? {
            Some(location) => {
                let _ = done.send(Ok(Submitted::Final { id, location }));
            }
            None => self.waiters.entry(id).or_default().push(done),
        }
        Ok(done_rx)
    }

    /// Tells the till a sale of ours is final.
    pub(super) fn sale_final(&mut self, id: TxId, location: TxLocation) {
        if let Some(sale) = self.sales.remove(&id)
            && let Some(done) = sale.done
        {
            let _ = done.send(Ok(SaleOutcome {
                breakdown: sale.breakdown,
                submitted: Some(Submitted::Final { id, location }),
            }));
        }
    }

    /// A sale of ours was dropped from the mempool: signed again if the
    /// rules moved (up to [`MAX_RESIGNS`] times), else the till is told.
    pub(super) fn sale_dropped(&mut self, id: TxId, error: &TxError) -> Result<(), EngineError> {
        let Some(sale) = self.sales.remove(&id) else {
            return Ok(());
        };
        if matches!(error, TxError::RulesChanged(_)) && sale.signed <= MAX_RESIGNS {
            tracing::info!(%id, %error, "signing the sale again by the rules now in force");
            if let Err(error) = self.sign_sale(sale.order, sale.signed + 1, sale.done)? {
                tracing::warn!(%error, "a sale could not be signed again");
            }
            return Ok(());
        }
        if let Some(done) = sale.done {
            let _ = done.send(Err(SubmitError::Dropped(error.clone())));
        }
        Ok(())
    }
}
