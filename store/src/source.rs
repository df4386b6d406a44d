//! The audit's [`BlockSource`] over a node's data directory:
//! [`StoreSource`]. (The HTTP source lives in the `guild` command.)

use crate::{Store, StoreError};
use guild_audit::{AuditError, BlockSource, Discrepancy, Rule, SourceError};
use guild_ledger::block::BlockHeader;
use guild_ledger::crypto::Address;
use guild_ledger::hash::Hash;
use guild_ledger::state::{State, StateKey};
use guild_ledger::types::Height;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A state record's key, for people.
fn describe(key: &StateKey) -> String {
    match key {
        StateKey::Chain => "the chain record".to_string(),
        StateKey::Params => "the parameters record".to_string(),
        StateKey::Supply => "the supply record".to_string(),
        StateKey::Member(a) => format!("the member record of {a}"),
        StateKey::Account(a) => format!("the account record of {a}"),
        StateKey::Debt { debtor, creditor } => {
            format!("the debt record of {debtor} to {creditor}")
        }
        StateKey::Receipt { shop, receipt } => {
            format!("the receipt record {} of shop {shop}", receipt.0)
        }
        StateKey::Proposal(id) => format!("the record of proposal {id}"),
        StateKey::Programme => "the programme record".to_string(),
        StateKey::Rules(a) => format!("the earn rules of shop {a}"),
        StateKey::Campaign(id) => format!("the record of campaign {id}"),
        StateKey::Customer(a) => format!("the programme record of customer {a}"),
        StateKey::CampaignUse { campaign, customer } => {
            format!("the use of campaign {campaign} by {customer}")
        }
    }
}

/// A store failure as the audit's source error.
fn storage(error: StoreError) -> SourceError {
    SourceError::Storage {
        path: error.path().to_string(),
        source: Box::new(error),
    }
}

/// Tries to open a locked database, 100 ms apart.
const LOCK_ATTEMPTS: u32 = 20;

/// Blocks from a node's data directory (`DIR/chain.sled`), which must not
/// be in use by a running node.
pub struct StoreSource {
    store: Store,
}

impl StoreSource {
    /// Opens the chain database of a node's data directory, read for the
    /// audit (nothing is written).
    pub fn open(dir: &Path) -> Result<StoreSource, SourceError> {
        let path = dir.display().to_string();
        if !dir.join("chain.sled").exists() {
            return Err(SourceError::NoChain { path });
        }
        // A database closed a moment ago may stay locked while sled's
        // background threads finish: try for a little while.
        let mut attempts = 0;
        loop {
            match Store::open(dir, 64 * 1024 * 1024) {
                Ok(store) => return Ok(StoreSource { store }),
                Err(StoreError::InUse { .. }) => {
                    attempts += 1;
                    if attempts >= LOCK_ATTEMPTS {
                        return Err(SourceError::Locked { path });
                    }
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                Err(error) => return Err(storage(error)),
            }
        }
    }

    /// Audits an open store.
    pub fn new(store: Store) -> StoreSource {
        StoreSource { store }
    }
}

impl BlockSource for StoreSource {
    fn describe(&self) -> String {
        self.store.path().to_string()
    }

    fn genesis_hash(&mut self) -> Result<Option<Hash>, SourceError> {
        let stored = self.store.raw_tree().get(b"g").map_err(|source| {
            storage(StoreError::Sled {
                path: self.store.path().to_string(),
                source,
            })
        })?;
        Ok(stored.map(|bytes| {
            // A record of the wrong length can match no genesis: report it
            // as the zero hash, which the genesis check refuses.
            Hash(bytes.as_ref().try_into().unwrap_or([0; 32]))
        }))
    }

    fn head(&mut self) -> Result<Height, SourceError> {
        self.store.head().map_err(storage)
    }

    fn blocks(&mut self, from: Height, count: usize) -> Result<Vec<Option<Vec<u8>>>, SourceError> {
        (0..count as u64)
            .map(|i| self.store.block_bytes(Height(from.0 + i)).map_err(storage))
            .collect()
    }

    fn check_final(
        &mut self,
        state: &State,
        head: &BlockHeader,
        member_sets: &[(Height, BTreeSet<Address>)],
    ) -> Result<(), AuditError> {
        let at = head.height;
        let stored = match self.store.load_state() {
            Ok(stored) => stored,
            Err(StoreError::Corrupt { place, reason, .. }) => {
                return Err(Discrepancy::at(
                    at,
                    Rule::StoredState,
                    format!("the stored state is unreadable at {place}: {reason}"),
                )
                .into());
            }
            Err(error) => return Err(storage(error).into()),
        };
        if stored.root() != state.root() {
            let replayed: BTreeMap<_, _> = state.entries().into_iter().collect();
            let kept: BTreeMap<_, _> = stored.entries().into_iter().collect();
            let mut differences = Vec::new();
            for (key, value) in &replayed {
                match kept.get(key) {
                    Some(v) if v == value => {}
                    Some(_) => differences.push(format!("{} differs", describe(key))),
                    None => differences.push(format!("{} is missing", describe(key))),
                }
            }
            for key in kept.keys().filter(|k| !replayed.contains_key(k)) {
                differences.push(format!("{} should not exist", describe(key)));
            }
            let count = differences.len();
            differences.truncate(5);
            return Err(Discrepancy::at(
                at,
                Rule::StoredState,
                format!(
                    "the stored state (root {}) is not the replayed state after block {at} (root {}): {count} record(s): {}",
                    stored.root(),
                    state.root(),
                    differences.join("; ")
                ),
            )
            .into());
        }
        for (height, members) in member_sets {
            let recorded = match self.store.members_at(*height) {
                Ok(recorded) => recorded,
                Err(StoreError::Corrupt { place, reason, .. }) => {
                    return Err(Discrepancy::at(
                        *height,
                        Rule::StoredMembers,
                        format!("the stored member sets are unreadable at {place}: {reason}"),
                    )
                    .into());
                }
                Err(error) => return Err(storage(error).into()),
            };
            if recorded != *members {
                return Err(Discrepancy::at(
                    *height,
                    Rule::StoredMembers,
                    format!(
                        "the stored member set for height {height} ({} members) is not the replayed one ({} members)",
                        recorded.len(),
                        members.len()
                    ),
                )
                .into());
            }
        }
        Ok(())
    }
}
