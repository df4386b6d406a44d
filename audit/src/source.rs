//! Where an audit reads blocks from: the [`BlockSource`] trait.
//!
//! This crate implements it for nothing that does I/O: the `guild-store`
//! crate implements it for a stopped node's data directory (`StoreSource`),
//! the `guild` command for a node's HTTP API, and [`crate::fixture`] for a
//! chain held in memory (tests).

use crate::AuditError;
use guild_ledger::block::BlockHeader;
use guild_ledger::crypto::Address;
use guild_ledger::hash::Hash;
use guild_ledger::state::State;
use guild_ledger::types::Height;
use std::collections::BTreeSet;

/// A source could not be read. This says nothing about the chain: the
/// audit could not run.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The storage behind a source failed (a data directory's database
    /// could not be read). The error is the storage's own: this crate does
    /// not know the storage implementations, which live in other crates.
    #[error("{source}")]
    Storage {
        /// The data directory (or other place) read.
        path: String,
        /// The storage's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// The data directory holds no chain.
    #[error(
        "{path} holds no chain database (chain.sled); give the --data directory of a node that has run"
    )]
    NoChain {
        /// The directory.
        path: String,
    },
    /// A running node holds the data directory.
    #[error(
        "the data directory {path} is in use by a running node (sled holds a lock on it); stop the node first, audit a copy of the directory, or audit the running node over its API with --node URL"
    )]
    Locked {
        /// The directory.
        path: String,
    },
    /// A node's API could not be read.
    #[error("cannot read {url}: {reason}")]
    Remote {
        /// The URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
}

/// Final blocks to verify, by height. Implementations only fetch: every
/// check is done by [`crate::verify_chain`].
pub trait BlockSource: Send {
    /// What is being audited, for messages (a path or URL).
    fn describe(&self) -> String;

    /// The hash of the genesis header the source says it holds, if it
    /// records one (a data directory does; it must match the genesis given).
    fn genesis_hash(&mut self) -> Result<Option<Hash>, SourceError>;

    /// The height of the last final block.
    fn head(&mut self) -> Result<Height, SourceError>;

    /// The canonical bytes (`encode(FinalBlock)`) of the blocks `from`,
    /// `from + 1`, … (`count` of them), `None` for a block the source does
    /// not have.
    fn blocks(&mut self, from: Height, count: usize) -> Result<Vec<Option<Vec<u8>>>, SourceError>;

    /// Compares what the source holds besides blocks with the replayed
    /// chain: the state after `head` and `member_sets` (each member set
    /// replayed, with the first height it certifies).
    fn check_final(
        &mut self,
        state: &State,
        head: &BlockHeader,
        member_sets: &[(Height, BTreeSet<Address>)],
    ) -> Result<(), AuditError>;
}
