//! Chain-wide reads from the current snapshot: head, members, parameters,
//! proposals, supply and settlement.

use crate::api::ApiState;
use crate::api::json::{
    HeadJson, MemberJson, ParamsJson, ProposalJson, SettlementJson, SupplyJson, SyncJson,
    members_json, now_ms, proposals_json, settlement_json,
};
use axum::Json;
use axum::extract::State;

/// Where the node stands: head block, consensus round, mempool, peers.
pub async fn head(State(api): State<ApiState>) -> Json<HeadJson> {
    let view = api.handle.view();
    Json(HeadJson {
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
        sync: SyncJson {
            best_peer_head: view.sync.best_peer_head,
            problem: view.sync.problem.clone(),
        },
    })
}

/// The member shops with their running totals.
pub async fn members(State(api): State<ApiState>) -> Json<Vec<MemberJson>> {
    Json(members_json(&api.handle.view().state, now_ms()))
}

/// The parameters in force.
pub async fn params(State(api): State<ApiState>) -> Json<ParamsJson> {
    let view = api.handle.view();
    Json(ParamsJson {
        height: view.state.chain().height,
        params: view.state.params().clone(),
    })
}

/// The network's genesis (chain id, founding members, first parameters),
/// as in the genesis file: an auditor replays the chain from it.
pub async fn genesis(State(api): State<ApiState>) -> Json<guild_ledger::genesis::Genesis> {
    Json(api.handle.genesis.as_ref().clone())
}

/// Every governance proposal with its status.
pub async fn proposals(State(api): State<ApiState>) -> Json<Vec<ProposalJson>> {
    Json(proposals_json(&api.handle.view().state))
}

/// Network-wide totals of points.
pub async fn supply(State(api): State<ApiState>) -> Json<SupplyJson> {
    let view = api.handle.view();
    let supply = view.state.supply();
    Json(SupplyJson {
        height: view.state.chain().height,
        issued: supply.issued,
        reversed: supply.reversed,
        redeemed: supply.redeemed,
        expired: supply.expired,
        outstanding: supply.outstanding(),
    })
}

/// What the shops owe each other.
pub async fn settlement(State(api): State<ApiState>) -> Json<SettlementJson> {
    Json(settlement_json(&api.handle.view().state))
}
