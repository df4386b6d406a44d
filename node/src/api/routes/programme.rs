//! `GET /v1/programme`: the earn rules, tiers and campaigns in force.

use crate::api::extract::ApiPath;
use crate::api::{ApiError, ApiState};
use axum::Json;
use axum::extract::State;
use guild_api::{ErrorBody, ProgrammeInfo, ReceiptState};
use guild_ledger::hash::Hash;
use guild_ledger::types::ReceiptHash;

/// The programme at the head: currency and time zone, tiers, each shop's
/// earn rules (in force and next), every campaign with its budget left.
#[utoipa::path(
    get,
    path = "/v1/programme",
    tag = "programme",
    responses((status = 200, description = "The programme at the head block.", body = ProgrammeInfo))
)]
pub async fn programme(State(api): State<ApiState>) -> Json<ProgrammeInfo> {
    Json(ProgrammeInfo::new(&api.handle.view().state))
}

/// Where one earn's receipt stands: points given, refunded so far, taken
/// back, shortfall, and what the customer still holds of it.
#[utoipa::path(
    get,
    path = "/v1/receipts/{shop}/{receipt}",
    tag = "programme",
    params(
        ("shop" = String, Path, description = "The issuing shop's address."),
        ("receipt" = String, Path, description = "The receipt hash (64 hex characters): H(receipt/v1, shop, receipt id)."),
    ),
    responses(
        (status = 200, description = "The receipt at the head.", body = ReceiptState),
        (status = 400, description = "`bad_address` or `bad_id`.", body = ErrorBody),
        (status = 404, description = "`unknown_receipt`.", body = ErrorBody),
    )
)]
pub async fn receipt(
    State(api): State<ApiState>,
    ApiPath((shop, receipt)): ApiPath<(String, String)>,
) -> Result<Json<ReceiptState>, ApiError> {
    let shop = super::parse_address(&shop)?;
    let hash = Hash::from_hex(receipt.trim()).ok_or_else(|| ApiError::BadId {
        text: receipt.chars().take(80).collect(),
    })?;
    let hash = ReceiptHash(hash);
    let view = api.handle.view();
    let state = view
        .state
        .receipt(&shop, &hash)
        .map(ReceiptState::new)
        .ok_or(ApiError::UnknownReceipt)?;
    Ok(Json(state.with_id(super::receipt_id(&api, &shop, &hash))))
}
