//! The handlers, one module per group of endpoints, and what they share.

pub mod accounts;
pub mod auth;
pub mod automation;
pub mod blocks;
pub mod chain;
pub mod customers;
pub mod docs;
pub mod events;
pub mod insights;
pub mod programme;
pub mod proofs;
pub mod sale;
pub mod shop;
pub mod tx;

use super::ApiError;
use crate::store::{Store, TxLocation};
use axum::http::{Method, Uri};
use guild_ledger::block::FinalBlock;
use guild_ledger::crypto::Address;
use guild_ledger::hash::Hash;
use guild_ledger::tx::{SignedTransaction, TxId};

/// Unknown route → 404 `not_found`.
pub async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::NotFound {
        method: method.to_string(),
        path: uri.path().to_string(),
    }
}

/// Known route, wrong method → 405 `method_not_allowed`.
pub async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::MethodNotAllowed {
        method: method.to_string(),
        path: uri.path().to_string(),
    }
}

/// The receipt id this node keeps for `shop`'s receipt `hash` (its own
/// shop's sales and refunds, `guild_store::Store::keep_receipt_id`), if
/// any. A failed read is logged and shown as no id: the id is only for
/// display.
pub fn receipt_id(
    api: &crate::api::ApiState,
    shop: &Address,
    hash: &guild_ledger::types::ReceiptHash,
) -> Option<String> {
    match api.handle.store.receipt_id(shop, hash) {
        Ok(id) => id,
        Err(error) => {
            tracing::warn!(%error, "API: cannot read a receipt id");
            None
        }
    }
}

/// Keeps `id` as the receipt id of this node's own shop's receipt `hash`
/// (ignored for another shop, or an id that is not the hash's).
pub fn keep_receipt_id(
    api: &crate::api::ApiState,
    shop: &Address,
    hash: &guild_ledger::types::ReceiptHash,
    id: &str,
) {
    if api.handle.view().member != Some(*shop) {
        return;
    }
    if let Err(error) = api.handle.store.keep_receipt_id(shop, hash, id) {
        tracing::warn!(%error, "API: cannot keep a receipt id");
    }
}

/// Parses a bech32 address (`guild1…`).
pub fn parse_address(text: &str) -> Result<Address, ApiError> {
    text.parse().map_err(ApiError::BadAddress)
}

/// Parses a transaction id (64 hex characters).
pub fn parse_id(text: &str) -> Result<TxId, ApiError> {
    Hash::from_hex(text.trim())
        .map(TxId)
        .ok_or_else(|| ApiError::BadId {
            text: text.chars().take(80).collect(),
        })
}

/// Runs store reads that may touch many blocks on the blocking pool.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::Internal {
            what: format!("a storage task failed: {e}"),
        })?
}

/// The transaction at `location` in a block already read.
pub fn tx_in(block: &FinalBlock, location: TxLocation) -> Result<&SignedTransaction, ApiError> {
    usize::try_from(location.index)
        .ok()
        .and_then(|i| block.block.txs.get(i))
        .ok_or_else(|| ApiError::Internal {
            what: format!(
                "the transaction index points at position {} of block {}, which has {} transactions",
                location.index,
                location.height,
                block.block.txs.len()
            ),
        })
}

/// Reads the block holding `location`.
pub fn block_at(store: &Store, location: TxLocation) -> Result<FinalBlock, ApiError> {
    store
        .block(location.height)?
        .ok_or_else(|| ApiError::Internal {
            what: format!(
                "the transaction index points at block {}, which is not stored",
                location.height
            ),
        })
}
