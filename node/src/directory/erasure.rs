//! Other holders of data derived from the directory, which an erasure
//! must reach and an export must include.
//!
//! An automation that queues a birthday message copies the customer's
//! email into its outbox; its delivery log records that the message was
//! sent. When the customer is erased, those copies must go too, in the
//! same call. Each such holder implements [`Erasable`] and is registered
//! with [`Directory::register`](super::Directory::register) when the node
//! starts; [`Directory::erase`](super::Directory::erase) removes the
//! entry, then asks every holder to erase what it keeps, and its
//! [`ErasureReport`](guild_api::ErasureReport) says what each removed.

use guild_ledger::crypto::Address;

/// A holder of data about customers derived from the directory (the
/// automation outbox, to-dos, delivery logs).
///
/// Both methods are called from a blocking thread, never while the
/// directory is locked, and must not change the directory themselves.
pub trait Erasable: Send + Sync {
    /// What it is, for people: `automation outbox`.
    fn holder(&self) -> &str;

    /// Removes everything it keeps about `customer`, durably, and says
    /// how many items it removed. Called again after a failure, so it must
    /// be idempotent (a second call removes 0).
    fn erase(&self, customer: &Address) -> Result<u64, HolderError>;

    /// What it keeps about `customer`, for the customer's export (`None`:
    /// nothing).
    fn export(&self, customer: &Address) -> Result<Option<serde_json::Value>, HolderError> {
        let _ = customer;
        Ok(None)
    }
}

/// A holder could not erase or export.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct HolderError {
    /// What went wrong, for the node's operator.
    pub reason: String,
}

impl HolderError {
    /// A failure for `reason`.
    pub fn new(reason: impl Into<String>) -> HolderError {
        HolderError {
            reason: reason.into(),
        }
    }
}
