//! `POST /v1/shop/sign`: the node signs one back-office transaction as its
//! shop (an `admin` token), e.g. for the web console.
//!
//! The body's kind is checked first ([`ShopAction::new`]: a transfer, a
//! redemption, a sale… is `422 not_a_shop_action`, and the engine never
//! sees it); the engine then signs it at the shop's next nonce and admits
//! it like any transaction (`engine/grant.rs`), so a ledger refusal is the
//! same JSON error `POST /v1/tx` gives.

use super::sale::wait_for;
use crate::api::auth::{Admin, Authorized};
use crate::api::extract::JsonBody;
use crate::api::{ApiError, ApiState};
use crate::handle::{Grant, Submitted};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use guild_api::{ErrorBody, ShopAction, ShopSignRequest, Submission};

/// Signs a back-office transaction as this node's shop and submits it.
#[utoipa::path(
    post,
    path = "/v1/shop/sign",
    tag = "shop",
    security(("bearer" = [])),
    request_body(content = ShopSignRequest, description = "A transaction body of a kind the shop signs from its back office (settle, approve, propose, set_earn_rule, publish_campaign, approve_campaign, stop_campaign, earn, reverse); the node signs it at the shop's next nonce. With `wait`, the answer comes once it is final. Each request signs a new transaction."),
    responses(
        (status = 200, description = "Final: `status` is `final`, with its block's height and index.", body = Submission),
        (status = 202, description = "Signed and admitted: `status` is `pending`.", body = Submission),
        (status = 400, description = "`bad_request`: the body is not a transaction body, or `timeout_ms` is over 60,000.", body = ErrorBody),
        (status = 401, description = "`unauthorized`: no or unknown token.", body = ErrorBody),
        (status = 403, description = "`forbidden`: the token lacks the admin scope.", body = ErrorBody),
        (status = 409, description = "`no_shop_key` (a node without the shop's key), or dropped before it was final (the rule's code).", body = ErrorBody),
        (status = 422, description = "`not_a_shop_action` (a kind signed elsewhere), or refused by a ledger rule (its code, e.g. `settle_exceeds_debt`).", body = ErrorBody),
        (status = 503, description = "`busy` (with `Retry-After`) or `stopped`.", body = ErrorBody),
    )
)]
pub async fn sign(
    auth: Authorized<Admin>,
    State(api): State<ApiState>,
    JsonBody(request): JsonBody<ShopSignRequest>,
) -> Result<Response, ApiError> {
    let action = ShopAction::new(request.body)?;
    let wait = wait_for(request.wait, request.timeout_ms)?;
    tracing::info!(token = %auth.token.name, kind = action.body().kind(), "API: signing a shop action");
    let submitted = tokio::select! {
        result = api.handle.grant(Grant::Action(action), wait) => result?,
        () = api.stopping() => return Err(ApiError::Submit(crate::SubmitError::Stopped)),
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
