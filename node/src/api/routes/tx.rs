//! `POST /v1/tx` (submit) and `GET /v1/tx/{id}` (look up).

use super::{block_at, blocking, parse_id, tx_in};
use crate::api::extract::{ApiPath, JsonBody};
use crate::api::{ApiError, ApiState};
use crate::handle::Submitted;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use guild_api::tx::{DEFAULT_WAIT_MS, MAX_WAIT_MS};
use guild_api::{ErrorBody, FinalTx, Submission, SubmitRequest, TxAnswer};
use guild_ledger::codec;
use guild_ledger::tx::{SignedTransaction, TxId};
use std::time::Duration;

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
#[utoipa::path(
    post,
    path = "/v1/tx",
    tag = "transactions",
    request_body(content = SubmitRequest, description = "The hex of a canonical signed transaction; with `wait`, the answer comes once it is final."),
    responses(
        (status = 200, description = "Final (with `wait`, or already final before): `status` is `final`, with its block's height and index.", body = Submission),
        (status = 202, description = "Admitted to the mempool: `status` is `pending`.", body = Submission),
        (status = 400, description = "`malformed_tx`, `bad_request` or `bad_signature`.", body = ErrorBody),
        (status = 409, description = "Dropped from the mempool before it became final (the ledger rule's code).", body = ErrorBody),
        (status = 413, description = "`too_large`: the body is over 64 KiB.", body = ErrorBody),
        (status = 422, description = "Refused by a ledger rule (its code, e.g. `insufficient_points`).", body = ErrorBody),
        (status = 503, description = "`busy` (with `Retry-After`) or `stopped`.", body = ErrorBody),
    )
)]
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
        Submitted::Pending { id } => {
            (StatusCode::ACCEPTED, Json(Submission::pending(id))).into_response()
        }
        Submitted::Final { id, location } => (
            StatusCode::OK,
            Json(Submission::final_at(id, location.height, location.index)),
        )
            .into_response(),
    })
}

/// Looks a transaction up: final (with its block), pending, or 404.
#[utoipa::path(
    get,
    path = "/v1/tx/{id}",
    tag = "transactions",
    params(("id" = String, Path, description = "The transaction id (64 hex characters).")),
    responses(
        (status = 200, description = "Final (with its block's height, index and time) or pending.", body = TxAnswer),
        (status = 400, description = "`bad_id`: not 64 hex characters.", body = ErrorBody),
        (status = 404, description = "`unknown_tx`: neither final nor waiting on this node.", body = ErrorBody),
        (status = 500, description = "`storage` or `internal`.", body = ErrorBody),
    )
)]
pub async fn lookup(
    State(api): State<ApiState>,
    ApiPath(text): ApiPath<String>,
) -> Result<Json<TxAnswer>, ApiError> {
    let id = parse_id(&text)?;
    if let Some(found) = final_tx(&api, id).await? {
        return Ok(Json(TxAnswer::Final(Box::new(found))));
    }
    if api.handle.is_pending(id).await {
        return Ok(Json(TxAnswer::Pending(Submission::pending(id))));
    }
    // It may have left the mempool for a block between the two looks.
    match final_tx(&api, id).await? {
        Some(found) => Ok(Json(TxAnswer::Final(Box::new(found)))),
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
        Ok(Some(FinalTx::new(
            id,
            location.height,
            location.index,
            block.block.header.time,
            signed.tx.clone(),
        )))
    })
    .await
}
