//! Applying transactions to a *partial* state: the customer's wallet
//! rebuilds, from a few proven records, the state a sale saw in the middle
//! of its block.
//!
//! A wallet that explains a sale proves the records the sale depends on at
//! the parent of the sale's block. Transactions earlier in the same block
//! may have changed them (another sale spending the same campaign budget, a
//! refund, a referral); [`State::replay`] applies those transactions, in
//! order and by the very same rules, on top of the partial state. It checks
//! no header and no state root (a partial state's root is not the chain's):
//! the records it starts from are what the caller proved, and a transaction
//! that needs a record the caller did not prove simply fails, which the
//! caller reports as "cannot verify" rather than guessing.

use super::{BlockBuilder, State};
use crate::block::BlockHeader;
use crate::crypto::Address;
use crate::error::{BlockError, TxError};
use crate::tx::VerifiedTx;
use crate::types::Timestamp;

/// Why [`State::replay`] stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    /// The block cannot start on this state (time not after the state's
    /// last block, or a proposer the state does not hold as a member).
    #[error("the block cannot start on this state: {0}")]
    Start(BlockError),
    /// A transaction was refused.
    #[error("transaction {index} of the block is refused on this state: {error}")]
    Tx {
        /// Its position among the transactions given.
        index: usize,
        /// The rule that refused it.
        error: TxError,
    },
}

impl State {
    /// The state after applying `txs`, in order, as the start of the block
    /// after this state's last one, at `time`, proposed by `proposer` (a
    /// member in this state). The end-of-block step runs too (proposals
    /// due at the next height take effect), so give states without passed
    /// proposals when replaying the start of a block. No header or root is
    /// checked: see the module documentation.
    pub fn replay(
        &self,
        time: Timestamp,
        proposer: Address,
        txs: &[VerifiedTx],
    ) -> Result<State, ReplayError> {
        let chain = self.chain();
        // The parent header this state would have: `BlockBuilder` checks
        // that it matches the state, and nothing else of it matters here.
        let parent = BlockHeader {
            height: chain.height,
            prev_hash: chain.prev_hash,
            time: chain.time,
            proposer,
            tx_root: crate::hash::Hash::ZERO,
            state_root: self.root(),
        };
        let mut builder =
            BlockBuilder::new(self, &parent, time, proposer).map_err(ReplayError::Start)?;
        for (index, tx) in txs.iter().enumerate() {
            builder
                .push(tx.clone())
                .map_err(|error| ReplayError::Tx { index, error })?;
        }
        Ok(builder.finish().state)
    }
}
