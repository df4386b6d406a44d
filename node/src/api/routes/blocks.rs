//! `GET /v1/blocks/{height}`.

use super::blocking;
use crate::api::extract::ApiPath;
use crate::api::{ApiError, ApiState};
use axum::Json;
use axum::extract::State;
use guild_api::chain::block_info;
use guild_api::{BlockInfo, ErrorBody};
use guild_ledger::block::FinalBlock;
use guild_ledger::codec;
use guild_ledger::types::Height;

/// A final block with its certificate, its transactions as JSON and its
/// canonical bytes as hex.
#[utoipa::path(
    get,
    path = "/v1/blocks/{height}",
    tag = "blocks",
    params(("height" = u64, Path, description = "The block's height (1 or more).")),
    responses(
        (status = 200, description = "The final block: header, certificate, transactions, and its stored bytes as hex.", body = BlockInfo),
        (status = 400, description = "`bad_height`: not a whole number.", body = ErrorBody),
        (status = 404, description = "`unknown_block` (above the head) or `genesis_has_no_block` (height 0).", body = ErrorBody),
        (status = 500, description = "`storage` or `internal`.", body = ErrorBody),
    )
)]
pub async fn block(
    State(api): State<ApiState>,
    ApiPath(text): ApiPath<String>,
) -> Result<Json<BlockInfo>, ApiError> {
    let height = text
        .trim()
        .parse::<u64>()
        .map(Height)
        .map_err(|_| ApiError::BadHeight {
            text: text.chars().take(40).collect(),
        })?;
    if height == Height(0) {
        return Err(ApiError::GenesisHasNoBlock);
    }
    let head = api.handle.view().head.height;
    let store = api.handle.store.clone();
    let chain_id = api.handle.chain_id.clone();
    let block = blocking(move || {
        let Some(bytes) = store.block_bytes(height)? else {
            return Err(ApiError::UnknownBlock { height, head });
        };
        let block: FinalBlock = codec::decode(&bytes).map_err(|e| ApiError::Internal {
            what: format!("stored block {height} does not decode: {e}"),
        })?;
        Ok(block_info(&chain_id, block, &bytes))
    })
    .await?;
    Ok(Json(block))
}
