//! One final block as it is written: [`Commit`].

use crate::history;
use guild_ledger::block::{CommitCertificate, FinalBlock};
use guild_ledger::crypto::Address;
use guild_ledger::state::{Applied, State, StateChange};
use guild_ledger::tx::{TxId, VerifiedTx};
use std::collections::BTreeSet;

/// Everything [`Store::commit`](crate::Store::commit) writes for one final
/// block, prepared by [`Commit::new`].
#[derive(Clone, Debug)]
pub struct Commit {
    /// The block with its commit certificate.
    pub block: FinalBlock,
    /// The id of each transaction, in block order.
    pub tx_ids: Vec<TxId>,
    /// For each transaction, the addresses whose history shows it
    /// ([`history::involved`]).
    pub involved: Vec<Vec<Address>>,
    /// The state records the block wrote (from the ledger).
    pub changes: Vec<StateChange>,
    /// The member set from the next height on, if the block changed it.
    pub new_members: Option<BTreeSet<Address>>,
}

impl Commit {
    /// Prepares the commit of `applied` (what applying a block to `before`
    /// gave) certified by `certificate`. Returns it with the state after
    /// the block.
    pub fn new(
        before: &State,
        applied: Applied,
        certificate: CommitCertificate,
    ) -> (Commit, State) {
        let Applied {
            effects: _,
            block,
            state,
            changes,
        } = applied;
        let tx_ids = block.txs().iter().map(VerifiedTx::id).collect();
        let involved = block
            .txs()
            .iter()
            .map(|tx| history::involved(tx.tx(), &state))
            .collect();
        let members = state.member_set();
        let new_members = (members != before.member_set()).then_some(members);
        let commit = Commit {
            block: FinalBlock {
                block: block.into_block(),
                certificate,
            },
            tx_ids,
            involved,
            changes,
            new_members,
        };
        (commit, state)
    }
}

/// With the `fixture` feature, `guild_audit::fixture::ChainFixture` builds
/// chains straight into a store, committed exactly as a node commits.
#[cfg(feature = "fixture")]
impl guild_audit::fixture::ChainSink for crate::Store {
    type Error = crate::StoreError;

    fn genesis(
        &mut self,
        header: &guild_ledger::block::BlockHeader,
        state: &State,
    ) -> Result<(), crate::StoreError> {
        self.init(header, state)
    }

    fn commit(
        &mut self,
        before: &State,
        applied: &Applied,
        block: &FinalBlock,
    ) -> Result<(), crate::StoreError> {
        let (commit, _) = Commit::new(before, applied.clone(), block.certificate.clone());
        crate::Store::commit(self, &commit)
    }
}
