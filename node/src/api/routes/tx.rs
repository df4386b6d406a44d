//! `POST /v1/tx` (submit) and `GET /v1/tx/{id}` (look up).

use super::{block_at, blocking, parse_id, tx_in};
use crate::api::extract::{ApiPath, JsonBody};
use crate::api::json::{FinalTx, Submission, TxStatus};
use crate::api::{ApiError, ApiState};
use crate::handle::Submitted;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use guild_ledger::codec;
use guild_ledger::tx::{SignedTransaction, TxId};
use std::time::Duration;

/// How long `wait: true` waits when `timeout_ms` is not given.
pub const DEFAULT_WAIT_MS: u64 = 10_000;
/// The longest `timeout_ms` accepted.
pub const MAX_WAIT_MS: u64 = 60_000;

/// The body of `POST /v1/tx`.
#[derive(serde::Deserialize)]
pub struct SubmitRequest {
    /// Hex of `encode(SignedTransaction)` (an optional `0x` is ignored).
    tx: String,
    /// Answer only once the transaction is final (or the wait times out).
    #[serde(default)]
    wait: bool,
    /// How long to wait, in milliseconds (with `wait`).
    timeout_ms: Option<u64>,
}

/// Decodes the hex of a canonical signed transaction.
pub fn decode_tx(text: &str) -> Result<SignedTransaction, ApiError> {
    let text = text.trim();
    let text = text.strip_prefix("0x").unwrap_or(text);
    let bytes = hex::decode(text).map_err(|e| ApiError::MalformedTx {
        reason: format!("tx is not hexadecimal ({e})"),
    })?;
    codec::decode(&bytes).map_err(|e| ApiError::MalformedTx {
        reason: e.to_string(),
    })
}

/// Submits a transaction: 202 once admitted to the mempool, 200 once final.
pub async fn submit(
    State(api): State<ApiState>,
    JsonBody(request): JsonBody<SubmitRequest>,
) -> Result<Response, ApiError> {
    let signed = decode_tx(&request.tx)?;
    let wait = if request.wait {
        let ms = request.timeout_ms.unwrap_or(DEFAULT_WAIT_MS);
        if ms > MAX_WAIT_MS {
            return Err(ApiError::BadRequest {
                reason: format!(
                    "timeout_ms is {ms}, the longest wait is {MAX_WAIT_MS}; wait again with GET /v1/tx/{{id}} or GET /v1/events"
                ),
            });
        }
        Some(Duration::from_millis(ms))
    } else {
        None
    };
    let id = signed.tx.id(&api.handle.chain_id);
    let submitted = tokio::select! {
        result = api.handle.submit(signed, wait) => result?,
        () = api.stopping() => return Err(ApiError::ShuttingDown { id }),
    };
    Ok(match submitted {
        Submitted::Pending { id } => (
            StatusCode::ACCEPTED,
            Json(Submission {
                id,
                status: TxStatus::Pending,
                height: None,
                index: None,
            }),
        )
            .into_response(),
        Submitted::Final { id, location } => (
            StatusCode::OK,
            Json(Submission {
                id,
                status: TxStatus::Final,
                height: Some(location.height),
                index: Some(location.index),
            }),
        )
            .into_response(),
    })
}

/// Looks a transaction up: final (with its block), pending, or 404.
pub async fn lookup(
    State(api): State<ApiState>,
    ApiPath(text): ApiPath<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&text)?;
    if let Some(found) = final_tx(&api, id).await? {
        return Ok(Json(found).into_response());
    }
    if api.handle.is_pending(id).await {
        let pending = Submission {
            id,
            status: TxStatus::Pending,
            height: None,
            index: None,
        };
        return Ok(Json(pending).into_response());
    }
    // It may have left the mempool for a block between the two looks.
    match final_tx(&api, id).await? {
        Some(found) => Ok(Json(found).into_response()),
        None => Err(ApiError::UnknownTx { id }),
    }
}

async fn final_tx(api: &ApiState, id: TxId) -> Result<Option<FinalTx>, ApiError> {
    let store = api.handle.store.clone();
    blocking(move || {
        let Some(location) = store.tx_location(&id)? else {
            return Ok(None);
        };
        let block = block_at(&store, location)?;
        let signed = tx_in(&block, location)?;
        Ok(Some(FinalTx {
            id,
            status: TxStatus::Final,
            height: location.height,
            index: location.index,
            time: block.block.header.time,
            kind: signed.tx.body.kind(),
            tx: signed.tx.clone(),
        }))
    })
    .await
}
