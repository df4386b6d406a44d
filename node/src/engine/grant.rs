//! Rewards the shop's node gives by itself (an automation's `reward:`
//! action), and the back-office actions its operator asks it to sign
//! (`POST /v1/shop/sign`): the one place a [`Grant`] becomes a
//! transaction.
//!
//! A reward's body is made by the rules in force on the mempool's
//! speculative state (the birthday reward's points are those of the shop's
//! earn rule for the next block; an offer's are its campaign's); a
//! back-office action's body is signed as it was sent (its kind was
//! checked by [`guild_api::ShopAction`]). Either is signed with the shop's
//! key at the next free nonce and admitted like any other transaction: the
//! ledger's rules, budgets and limits apply (a second birthday reward
//! within 365 days is refused, and so is a second grant with the same
//! receipt; a settle larger than the debt is refused).

use super::*;
use crate::handle::{Grant, Ticket};
use guild_ledger::error::TxError;
use guild_ledger::tx::TxBody;

impl<N: Network> Engine<N> {
    /// The transaction body of `grant` by the rules in force.
    fn grant_body(&mut self, grant: &Grant) -> Result<TxBody, SubmitError> {
        let me = self.me().ok_or(SubmitError::NoShopKey)?;
        self.refresh_speculative()?;
        let (state, height, _) = self.speculative_at();
        match grant {
            Grant::Birthday { customer, receipt } => {
                if *customer == me {
                    return Err(SubmitError::Rejected(TxError::SelfEarn));
                }
                let rule = state
                    .rules(&me)
                    .and_then(|rules| rules.at(height))
                    .ok_or(SubmitError::Rejected(TxError::NoEarnRule))?;
                Ok(TxBody::Birthday {
                    customer: *customer,
                    receipt: *receipt,
                    points: rule.spec.birthday,
                })
            }
            Grant::Offer {
                campaign,
                customer,
                receipt,
            } => {
                if *customer == me {
                    return Err(SubmitError::Rejected(TxError::SelfEarn));
                }
                Ok(TxBody::Offer {
                    campaign: *campaign,
                    customer: *customer,
                    receipt: *receipt,
                })
            }
            Grant::Action(action) => Ok(action.body().clone()),
        }
    }

    pub(super) fn on_grant(
        &mut self,
        grant: Grant,
        reply: oneshot::Sender<Result<Ticket<Submitted>, SubmitError>>,
    ) -> Result<(), EngineError> {
        let body = match self.grant_body(&grant) {
            Ok(body) => body,
            Err(error) => {
                let _ = reply.send(Err(error));
                return Ok(());
            }
        };
        let (id, admitted) = self.sign_and_admit(body)?;
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
}
