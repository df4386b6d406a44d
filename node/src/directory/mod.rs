//! The shop's customer directory: what the shop knows about its
//! customers as people, kept off the ledger, in this node only.
//!
//! ## The idea
//!
//! The ledger knows a customer only as a key (`guild1…`) with points,
//! amounts per category, hashed receipts and times, and every shop of
//! the network holds all of it. A name, an email address, a birthday and
//! the customer's consents are different: they belong to the one shop the
//! customer gave them to. So each node keeps its own directory, keyed by
//! the customer's ledger address ([`CustomerEntry`]): never gossiped,
//! never in a block, never sent to another node; exportable
//! (`GET /v1/customers/{address}/export`) and erasable
//! ([`Directory::erase`]). `docs/privacy.md` says this for shop owners.
//!
//! - [`entry`]: the rules of an entry — checking a request, making an
//!   entry, updating it, giving and withdrawing consent with a bounded
//!   consent log. Pure functions.
//! - [`file`](self#storage): `customers.json`, its reading and writing.
//! - [`Directory`] (`store.rs`): the one copy in memory and its writer.
//! - [`Erasable`] (`erasure.rs`): other holders of derived data, which an
//!   erasure reaches in the same call.
//!
//! ## Storage
//!
//! The directory is one file, `customers.json` in the node's data
//! directory ([`FILE_NAME`]), replaced as a whole on every change with
//! [`guild_os::durable::write_atomically`] (temporary file, `fsync`,
//! rename, directory `fsync`): after a crash it holds the old directory
//! or the new, and a change that was answered survives power loss.
//!
//! Why not a tree in the node's sled database: sled is log-structured,
//! so an overwritten or removed value stays in its log segments until
//! they happen to be reclaimed — an erased email could sit in the data
//! directory for months. Replacing the whole file means that once an
//! erasure has been answered, the directory's file no longer holds the
//! entry. (The file system may still hold the old file's blocks until
//! they are reused, and backups hold what they held: `docs/privacy.md`
//! says what the shop should do.) An append-only journal would make each
//! change cheaper but keep old values until compaction, which is the
//! problem again.
//!
//! The price is that each change writes the whole file. Each entry keeps
//! its encoded line ([`file`](self#storage)), so a change copies bytes
//! and does not re-encode 10,000 entries; an import of many customers
//! ([`Directory::import`]) is one write, so a batch costs O(n + k), not
//! O(n·k). Measured (`cargo bench -p guild-node --bench directory`,
//! `docs/performance.md`, "Customer directory"): in a directory of 10,000
//! customers (a 4.8 MB file), one change takes about 23 ms on the
//! development VM's disk, of which 5 ms are copying and writing the bytes
//! (the same change on a RAM disk) and the rest the disk's `fsync`s; an
//! import of 2,000 more, about 33 ms; reading the file when the node
//! starts, about 93 ms.
//!
//! Bounds: at most [`MAX_CUSTOMERS`] entries and [`MAX_FILE_BYTES`]
//! bytes; each value is bounded by its type (`guild_api::customers::fields`),
//! the consent log by `MAX_CONSENT_LOG`. A file that fails any check is
//! not used (and never overwritten): the node keeps the ledger, the
//! directory answers `directory_unavailable` naming the file and the
//! entry, and no one may be messaged or profiled until it is restored
//! ([`Directory::open_or_unavailable`]).
//!
//! ## Consistency
//!
//! The node is the only writer: the HTTP API calls it, nothing else
//! edits the file. A change is checked, written to the file, and only
//! then made visible in memory and announced — so what any reader sees
//! is on disk, and an answer to the API is sent after the write.
//! Changes are serialised by one writer lock; readers are never blocked
//! by a write in progress (they see the state before it until it is
//! durable).
//!
//! ## For automations: the interface
//!
//! ```ignore
//! let directory: Directory = node.directory().clone();
//! // Before any message: is there consent *now*?
//! if directory.may_message(&customer) { /* send */ }
//! // Before acting on a profile (a segment, a prediction):
//! if directory.may_profile(&customer) { /* act */ }
//! // Today's birthdays (29 February is kept on 28 February in other years):
//! let today = CalendarDate::from_days(locale.local(now).day);
//! for customer in directory.birthdays_on(today) { /* … then may_message */ }
//! // The entry itself:
//! let entry: Option<CustomerEntry> = directory.get(&customer);
//! // Withdrawn consent stops pending messages at once:
//! let mut changes = directory.subscribe();
//! while let Ok(change) = changes.recv().await {
//!     if let ChangeKind::ConsentChanged { messages: false, .. } | ChangeKind::Erased = change.kind {
//!         outbox.cancel(&change.customer);
//!     }
//! }
//! // Erasure reaches the outbox in the same call:
//! directory.register(Arc::new(outbox.clone()));   // impl Erasable
//! ```
//!
//! - [`Directory::may_message`] and [`Directory::may_profile`] read the
//!   current entry under a lock; call them right before acting, not
//!   once when queueing. No entry (or an erased one) means no.
//! - [`Directory::subscribe`] announces each durable change
//!   ([`DirectoryChange`]); a subscriber that lags gets `Lagged` and
//!   should re-check what it holds. [`Directory::version`] is a counter
//!   for those who only need "something changed".
//! - Registered [`Erasable`] holders are asked to erase in the same
//!   [`Directory::erase`] call, and to contribute to the export
//!   ([`Directory::held_elsewhere`]).

pub mod entry;
mod erasure;
mod file;
mod store;

pub use entry::{ConsentSetting, EntryError, NewEntry, Provenance, Update};
pub use erasure::{Erasable, HolderError};
pub use guild_api::customers::{CalendarDate, CustomerEntry, Purpose};
pub use store::{Directory, ImportOutcome, PageRequest};

use guild_api::ErasureReport;
use guild_ledger::crypto::Address;
use guild_os::durable::DurableError;
use std::path::PathBuf;

/// The directory's file name in the data directory.
pub const FILE_NAME: &str = "customers.json";

/// The most customers one directory holds.
pub const MAX_CUSTOMERS: usize = 50_000;

/// The largest directory file read or written, in bytes (10,000 typical
/// entries take about 4.8 MB).
pub const MAX_FILE_BYTES: u64 = 128 * 1024 * 1024;

/// What changed in the directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirectoryChange {
    /// Whose entry.
    pub customer: Address,
    /// How.
    pub kind: ChangeKind,
    /// The directory's version after the change ([`Directory::version`]).
    pub version: u64,
}

/// How an entry changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    /// A new entry.
    Added,
    /// Its name, email, birthday or note.
    Updated,
    /// A consent was given or withdrawn; the consents now.
    ConsentChanged {
        /// Consent to messages now.
        messages: bool,
        /// Consent to profiling now.
        profiling: bool,
    },
    /// The entry was erased.
    Erased,
}

/// Why the directory refused or failed a change.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// The data directory does not exist.
    #[error("there is no data directory {path}")]
    NoDataDir {
        /// The directory given.
        path: PathBuf,
    },
    /// The customer has an entry already.
    #[error(
        "{customer} is in the customer directory already: change the entry with `guild customer update` (PATCH /v1/customers/{customer}), or erase it first"
    )]
    Exists {
        /// The customer.
        customer: Address,
    },
    /// The customer has no entry.
    #[error(
        "the customer directory has no entry for {customer}: add one with `guild customer add {customer}`"
    )]
    Unknown {
        /// The customer.
        customer: Address,
    },
    /// An import names a customer twice.
    #[error("the import names {customer} twice: give each customer once")]
    Twice {
        /// The customer.
        customer: Address,
    },
    /// The directory holds as much as it may.
    #[error("the customer directory is full: {reason}; erase customers who left first")]
    Full {
        /// What limit.
        reason: String,
    },
    /// The directory's file could not be read when the node started.
    #[error(
        "the customer directory is unavailable: {reason}; the node operator should restore the file from a backup (or move it away to start an empty directory) and restart the node"
    )]
    Unavailable {
        /// Why.
        reason: String,
    },
    /// The file is not a directory this version reads.
    #[error("the customer directory file {path} is damaged ({reason})")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Reading or writing the file failed.
    #[error(transparent)]
    File(#[from] DurableError),
    /// An entry could not be encoded (never expected).
    #[error("cannot encode a directory entry: {reason}")]
    Encode {
        /// The encoder's message.
        reason: String,
    },
    /// A holder of derived data could not export.
    #[error("the {holder} could not say what it holds: {reason}")]
    HolderFailed {
        /// The holder.
        holder: String,
        /// Why.
        reason: String,
    },
    /// The directory entry is gone (or there was none) but a holder of
    /// derived data failed to erase.
    #[error("{}", incomplete_message(report, failures))]
    ErasureIncomplete {
        /// What was erased.
        report: Box<ErasureReport>,
        /// Each holder that failed, and why.
        failures: Vec<(String, String)>,
    },
}

fn incomplete_message(report: &ErasureReport, failures: &[(String, String)]) -> String {
    let done = if report.directory_entry {
        "the directory entry is erased"
    } else {
        "there was no directory entry"
    };
    let failed: Vec<String> = failures
        .iter()
        .map(|(holder, reason)| format!("the {holder} failed: {reason}"))
        .collect();
    format!(
        "the erasure of {} is not complete: {done}, but {}; erase again once the cause is fixed",
        report.customer,
        failed.join("; ")
    )
}

#[cfg(test)]
mod tests;
