//! Chain-wide reads from the current snapshot: head, members, parameters,
//! proposals, supply and settlement.

use crate::api::{ApiState, now_ms};
use axum::Json;
use axum::extract::State;
use guild_api::{
    Head, Members, ParamsInfo, Proposals, QuorumInfo, Settlement, SupplyInfo, SyncInfo, chain,
};
use guild_ledger::genesis::Genesis;

/// Where the node stands: head block, consensus round, mempool, peers, the
/// reachable members against the quorum, and its wall clock.
#[utoipa::path(
    get,
    path = "/v1/head",
    tag = "chain",
    responses((status = 200, description = "Where the node stands.", body = Head))
)]
pub async fn head(State(api): State<ApiState>) -> Json<Head> {
    let view = api.handle.view();
    Json(Head {
        chain_id: api.handle.chain_id.clone(),
        height: view.head.height,
        hash: view.head.hash(),
        time: view.head.time,
        state_root: view.head.state_root,
        round: view.round,
        mempool: view.mempool,
        peers: view.peers,
        member: view.member,
        syncing: view.syncing,
        sync: SyncInfo {
            best_peer_head: view.sync.best_peer_head,
            problem: view.sync.problem.clone(),
        },
        quorum: QuorumInfo::new(view.quorum.members, view.quorum.reachable.clone()),
        node_time: now_ms(),
    })
}

/// The member shops with their running totals, as of the snapshot's
/// height.
#[utoipa::path(
    get,
    path = "/v1/members",
    tag = "chain",
    responses((status = 200, description = "Every member shop, by address.", body = Members))
)]
pub async fn members(State(api): State<ApiState>) -> Json<Members> {
    Json(chain::members(&api.handle.view().state, now_ms()))
}

/// The parameters in force.
#[utoipa::path(
    get,
    path = "/v1/params",
    tag = "chain",
    responses((status = 200, description = "The parameters in force.", body = ParamsInfo))
)]
pub async fn params(State(api): State<ApiState>) -> Json<ParamsInfo> {
    let view = api.handle.view();
    Json(ParamsInfo {
        height: view.state.chain().height,
        params: view.state.params().clone(),
    })
}

/// The network's genesis (chain id, founding members, first parameters),
/// as in the genesis file: an auditor replays the chain from it.
#[utoipa::path(
    get,
    path = "/v1/genesis",
    tag = "chain",
    responses((status = 200, description = "The network's genesis, as in the genesis file.", body = Genesis))
)]
pub async fn genesis(State(api): State<ApiState>) -> Json<Genesis> {
    Json(api.handle.genesis.as_ref().clone())
}

/// Every governance proposal with its status, as of the snapshot's height.
#[utoipa::path(
    get,
    path = "/v1/proposals",
    tag = "chain",
    responses((status = 200, description = "Every proposal, oldest first.", body = Proposals))
)]
pub async fn proposals(State(api): State<ApiState>) -> Json<Proposals> {
    Json(chain::proposals(&api.handle.view().state))
}

/// Network-wide totals of points.
#[utoipa::path(
    get,
    path = "/v1/supply",
    tag = "chain",
    responses((status = 200, description = "Network-wide totals of points.", body = SupplyInfo))
)]
pub async fn supply(State(api): State<ApiState>) -> Json<SupplyInfo> {
    Json(chain::supply(&api.handle.view().state))
}

/// What the shops owe each other.
#[utoipa::path(
    get,
    path = "/v1/settlement",
    tag = "chain",
    responses((status = 200, description = "Every non-zero debt between shops.", body = Settlement))
)]
pub async fn settlement(State(api): State<ApiState>) -> Json<Settlement> {
    Json(chain::settlement(&api.handle.view().state))
}
