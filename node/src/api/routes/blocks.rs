//! `GET /v1/blocks/{height}`.

use super::blocking;
use crate::api::extract::ApiPath;
use crate::api::json::{BlockJson, block_json};
use crate::api::{ApiError, ApiState};
use axum::Json;
use axum::extract::State;
use guild_ledger::block::FinalBlock;
use guild_ledger::codec;
use guild_ledger::types::Height;

/// A final block with its certificate, its transactions as JSON and its
/// canonical bytes as hex.
pub async fn block(
    State(api): State<ApiState>,
    ApiPath(text): ApiPath<String>,
) -> Result<Json<BlockJson>, ApiError> {
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
        Ok(block_json(&chain_id, block, &bytes))
    })
    .await?;
    Ok(Json(block))
}
