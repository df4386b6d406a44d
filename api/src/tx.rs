//! `POST /v1/tx` (submit) and `GET /v1/tx/{id}` (look up).

use guild_ledger::tx::{Transaction, TxId};
use guild_ledger::types::{Height, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// How long `wait: true` waits when `timeout_ms` is not given.
pub const DEFAULT_WAIT_MS: u64 = 10_000;
/// The longest `timeout_ms` accepted.
pub const MAX_WAIT_MS: u64 = 60_000;

/// The body of `POST /v1/tx`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SubmitRequest {
    /// Hex of `encode(SignedTransaction)` (an optional `0x` is ignored).
    pub tx: String,
    /// Answer only once the transaction is final (or the wait times out).
    #[serde(default)]
    pub wait: bool,
    /// How long to wait, in milliseconds (with `wait`; default 10,000, at
    /// most 60,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

/// `"final"` or `"pending"`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TxStatus {
    /// In a final block.
    Final,
    /// Waiting in the mempool.
    Pending,
}

/// The answer to `POST /v1/tx` (202 pending, 200 final), and to
/// `GET /v1/tx/{id}` for a transaction still waiting.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Submission {
    /// The transaction's id.
    pub id: TxId,
    /// Final or pending.
    pub status: TxStatus,
    /// The height of the block holding it (once final).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<Height>,
    /// Its position in that block (once final).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
}

/// A final transaction, with where and when it was included
/// (`GET /v1/tx/{id}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FinalTx {
    /// The transaction's id.
    pub id: TxId,
    /// Always `final`.
    pub status: TxStatus,
    /// The height of the block holding it.
    pub height: Height,
    /// Its position in that block.
    pub index: u32,
    /// The block's time.
    pub time: Timestamp,
    /// Its kind: `earn`, `reverse`, `transfer`, `redeem`, `settle`,
    /// `propose` or `approve`.
    pub kind: String,
    /// The transaction.
    pub tx: Transaction,
}

/// The answer to `GET /v1/tx/{id}`: final (with its block) or pending.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum TxAnswer {
    /// In a final block.
    Final(Box<FinalTx>),
    /// Waiting in the node's mempool.
    Pending(Submission),
}

/// One entry of `GET /v1/accounts/{address}/history`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HistoryEntry {
    /// The transaction's id.
    pub id: TxId,
    /// The height of the block holding it.
    pub height: Height,
    /// Its position in that block.
    pub index: u32,
    /// The block's time.
    pub time: Timestamp,
    /// Its kind (`earn`, `transfer`, …).
    pub kind: String,
    /// The transaction.
    pub tx: Transaction,
    /// The receipt id as the shop typed it, for a sale, grant or reversal
    /// of the shop whose own node answers (the ledger keeps only the
    /// receipt's hash, `tx.body.receipt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_id: Option<String>,
    /// For a reversal: the points it took back from the customer (the
    /// points lost) and those it could not (already spent or expired).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reversal: Option<crate::RefundPoints>,
}

impl FinalTx {
    /// The answer for `tx` (id `id`) at `index` of the block at `height`
    /// with time `time`.
    pub fn new(id: TxId, height: Height, index: u32, time: Timestamp, tx: Transaction) -> FinalTx {
        FinalTx {
            id,
            status: TxStatus::Final,
            height,
            index,
            time,
            kind: tx.body.kind().to_string(),
            tx,
        }
    }
}

impl HistoryEntry {
    /// The entry for `tx` (id `id`) at `index` of the block at `height`
    /// with time `time`.
    pub fn new(
        id: TxId,
        height: Height,
        index: u32,
        time: Timestamp,
        tx: Transaction,
    ) -> HistoryEntry {
        HistoryEntry {
            id,
            height,
            index,
            time,
            kind: tx.body.kind().to_string(),
            tx,
            receipt_id: None,
            reversal: None,
        }
    }

    /// The receipt hash the transaction names, if it is a shop's earn of
    /// any kind or a reversal (what [`HistoryEntry::receipt_id`] is the id
    /// of).
    pub fn receipt_hash(&self) -> Option<guild_ledger::types::ReceiptHash> {
        use guild_ledger::tx::TxBody;
        match &self.tx.body {
            TxBody::Earn { receipt, .. }
            | TxBody::Sale { receipt, .. }
            | TxBody::Birthday { receipt, .. }
            | TxBody::Offer { receipt, .. }
            | TxBody::Reverse { receipt, .. } => Some(*receipt),
            _ => None,
        }
    }
}

impl Submission {
    /// A transaction waiting in the mempool.
    pub fn pending(id: TxId) -> Submission {
        Submission {
            id,
            status: TxStatus::Pending,
            height: None,
            index: None,
        }
    }

    /// A transaction final at `index` of the block at `height`.
    pub fn final_at(id: TxId, height: Height, index: u32) -> Submission {
        Submission {
            id,
            status: TxStatus::Final,
            height: Some(height),
            index: Some(index),
        }
    }
}
