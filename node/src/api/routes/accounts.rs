//! `GET /v1/accounts/{address}`, `…/history` and `…/proof`.

use super::{block_at, blocking, parse_address, tx_in};
use crate::api::extract::{ApiPath, ApiQuery};
use crate::api::json::{AccountJson, HistoryEntry, ProofJson, account_json, now_ms};
use crate::api::{ApiError, ApiState};
use axum::Json;
use axum::extract::State;
use guild_ledger::block::FinalBlock;
use guild_ledger::codec;

/// History entries returned when `limit` is not given.
pub const DEFAULT_HISTORY: usize = 50;
/// The largest `limit` accepted.
pub const MAX_HISTORY: usize = 500;

/// An account's balance, nonce and lots at the head, as of the wall clock.
pub async fn account(
    State(api): State<ApiState>,
    ApiPath(text): ApiPath<String>,
) -> Result<Json<AccountJson>, ApiError> {
    let address = parse_address(&text)?;
    let view = api.handle.view();
    Ok(Json(account_json(&view.state, address, now_ms())))
}

/// The query of `GET /v1/accounts/{address}/history`.
#[derive(serde::Deserialize)]
pub struct HistoryQuery {
    limit: Option<usize>,
}

/// The account's most recent transactions, newest first.
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
    let entries = blocking(move || {
        let locations = store.history(&address, limit)?;
        let mut entries = Vec::with_capacity(locations.len());
        // Newest first: entries of one block are adjacent, so one block is
        // read once.
        let mut current: Option<FinalBlock> = None;
        for location in locations {
            let block = match current.take() {
                Some(block) if block.block.header.height == location.height => block,
                _ => block_at(&store, location)?,
            };
            let signed = tx_in(&block, location)?;
            entries.push(HistoryEntry {
                id: signed.tx.id(&chain_id),
                height: location.height,
                index: location.index,
                time: block.block.header.time,
                kind: signed.tx.body.kind(),
                tx: signed.tx.clone(),
            });
            current = Some(block);
        }
        Ok(entries)
    })
    .await?;
    Ok(Json(entries))
}

/// A Merkle proof of the account against the head's state root, with the
/// head header, its certificate and the members that certify it: all from
/// one snapshot.
pub async fn proof(
    State(api): State<ApiState>,
    ApiPath(text): ApiPath<String>,
) -> Result<Json<ProofJson>, ApiError> {
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
    let proof = view.state.prove_account(&address);
    Ok(Json(ProofJson {
        address,
        chain_id: api.handle.chain_id.clone(),
        height: head.height,
        block_hash: head.hash(),
        state_root: head.state_root,
        header: head.clone(),
        header_hex: hex::encode(codec::encode(head)),
        certificate_hex: view
            .certificate
            .as_ref()
            .map(|c| hex::encode(codec::encode(c))),
        proof_hex: hex::encode(codec::encode(&proof)),
        account: proof.account,
        members: members.into_iter().collect(),
    }))
}
