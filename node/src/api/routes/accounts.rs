//! `GET /v1/accounts/{address}`, `…/history` and `…/proof`.

use super::{block_at, blocking, parse_address, tx_in};
use crate::api::extract::{ApiPath, ApiQuery};
use crate::api::{ApiError, ApiState, now_ms};
use crate::insights::Snapshot;
use crate::store::Store;
use axum::Json;
use axum::extract::State;
use guild_api::account::{account_info, proof_info};
use guild_api::{AccountInfo, ErrorBody, HistoryEntry, ProofInfo, RefundPoints};
use guild_ledger::block::FinalBlock;
use guild_ledger::crypto::Address;
use guild_ledger::tx::TxBody;
use guild_ledger::types::ChainId;

/// History entries returned when `limit` is not given.
pub const DEFAULT_HISTORY: usize = 50;
/// The largest `limit` accepted.
pub const MAX_HISTORY: usize = 500;

/// An account's balance, nonce and lots at the head, as of the wall clock.
#[utoipa::path(
    get,
    path = "/v1/accounts/{address}",
    tag = "accounts",
    params(("address" = String, Path, description = "The account's address (bech32, guild1…).")),
    responses(
        (status = 200, description = "The account at the head, as of the node's clock (an unknown account holds nothing, nonce 0).", body = AccountInfo),
        (status = 400, description = "`bad_address`: the address does not parse.", body = ErrorBody),
    )
)]
pub async fn account(
    State(api): State<ApiState>,
    ApiPath(text): ApiPath<String>,
) -> Result<Json<AccountInfo>, ApiError> {
    let address = parse_address(&text)?;
    let view = api.handle.view();
    Ok(Json(account_info(&view.state, address, now_ms())))
}

/// The query of `GET /v1/accounts/{address}/history`.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// How many entries, 1 to 500 (default 50).
    limit: Option<usize>,
}

/// The account's most recent transactions, newest first.
#[utoipa::path(
    get,
    path = "/v1/accounts/{address}/history",
    tag = "accounts",
    params(("address" = String, Path, description = "The account's address (bech32, guild1…)."), HistoryQuery),
    responses(
        (status = 200, description = "The account's final transactions, newest first; `receipt_id` where this node's shop typed it, `reversal` (points taken back and shortfall) for a reversal.", body = Vec<HistoryEntry>),
        (status = 400, description = "`bad_address` or `bad_request` (a limit outside 1 to 500).", body = ErrorBody),
        (status = 500, description = "`storage` or `internal`.", body = ErrorBody),
    )
)]
pub async fn history(
    State(api): State<ApiState>,
    ApiPath(text): ApiPath<String>,
    ApiQuery(query): ApiQuery<HistoryQuery>,
) -> Result<Json<Vec<HistoryEntry>>, ApiError> {
    let address = parse_address(&text)?;
    let limit = query.limit.unwrap_or(DEFAULT_HISTORY);
    if !(1..=MAX_HISTORY).contains(&limit) {
        return Err(ApiError::BadRequest {
            reason: format!("limit is {limit}; ask for 1 to {MAX_HISTORY} entries"),
        });
    }
    let store = api.handle.store.clone();
    let chain_id = api.handle.chain_id.clone();
    let insights = api.handle.insights.snapshot().ok();
    let entries = blocking(move || {
        let mut entries = history_entries(&store, &chain_id, &address, limit)?;
        for entry in &mut entries {
            explain(&store, insights.as_deref(), entry);
        }
        Ok(entries)
    })
    .await?;
    Ok(Json(entries))
}

/// Adds what the node knows beyond the block to a history entry: the
/// receipt id its own shop typed, and for a reversal what it took back
/// (from the insights, once they have reached its block).
fn explain(store: &Store, insights: Option<&Snapshot>, entry: &mut HistoryEntry) {
    if let Some(hash) = entry.receipt_hash() {
        match store.receipt_id(&entry.tx.author, &hash) {
            Ok(id) => entry.receipt_id = id,
            Err(error) => tracing::warn!(%error, "API: cannot read a receipt id"),
        }
    }
    if let (TxBody::Reverse { .. }, Some(snapshot)) = (&entry.tx.body, insights) {
        entry.reversal = snapshot
            .history()
            .reversal(entry.height, entry.index)
            .map(|r| RefundPoints {
                taken: r.taken,
                shortfall: r.shortfall,
            });
    }
}

/// The most recent `limit` final transactions of `address`, newest first
/// (reads blocks: call it on the blocking pool).
pub fn history_entries(
    store: &Store,
    chain_id: &ChainId,
    address: &Address,
    limit: usize,
) -> Result<Vec<HistoryEntry>, ApiError> {
    let locations = store.history(address, limit)?;
    let mut entries = Vec::with_capacity(locations.len());
    // Newest first: entries of one block are adjacent, so one block is
    // read once.
    let mut current: Option<FinalBlock> = None;
    for location in locations {
        let block = match current.take() {
            Some(block) if block.block.header.height == location.height => block,
            _ => block_at(store, location)?,
        };
        let signed = tx_in(&block, location)?;
        entries.push(HistoryEntry::new(
            signed.tx.id(chain_id),
            location.height,
            location.index,
            block.block.header.time,
            signed.tx.clone(),
        ));
        current = Some(block);
    }
    Ok(entries)
}

/// A Merkle proof of the account against the head's state root, with the
/// head header, its certificate and the members that certify it: all from
/// one snapshot.
#[utoipa::path(
    get,
    path = "/v1/accounts/{address}/proof",
    tag = "accounts",
    params(("address" = String, Path, description = "The account's address (bech32, guild1…).")),
    responses(
        (status = 200, description = "A Merkle proof of the account against the head's state root, with everything needed to check it.", body = ProofInfo),
        (status = 400, description = "`bad_address`: the address does not parse.", body = ErrorBody),
        (status = 500, description = "`storage` or `internal`.", body = ErrorBody),
    )
)]
pub async fn proof(
    State(api): State<ApiState>,
    ApiPath(text): ApiPath<String>,
) -> Result<Json<ProofInfo>, ApiError> {
    let address = parse_address(&text)?;
    let view = api.handle.view();
    let head = &view.head;
    if view.state.root() != head.state_root {
        return Err(ApiError::Internal {
            what: format!(
                "the snapshot's state root does not match the header of block {}",
                head.height
            ),
        });
    }
    let members = api.handle.store.members_at(head.height)?;
    Ok(Json(proof_info(
        &api.handle.chain_id,
        &view.state,
        head,
        view.certificate.as_ref(),
        members.into_iter().collect(),
        address,
    )))
}
