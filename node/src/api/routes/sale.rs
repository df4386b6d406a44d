//! `POST /v1/sale`, `POST /v1/sale/preview`, `POST /v1/refund`: a till
//! sends the basket, the shop's node computes the points by the rules in
//! force and signs (see `engine/sale.rs`). Authenticated with a bearer
//! token of scope `sale` (`guild node token create`).

use crate::api::auth::{Authorized, Sale};
use crate::api::extract::JsonBody;
use crate::api::{ApiError, ApiState};
use crate::handle::{SaleMode, SaleOrder, SaleOutcome, Submitted};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use guild_api::programme::refund_message;
use guild_api::tx::{DEFAULT_WAIT_MS, MAX_WAIT_MS};
use guild_api::{
    ErrorBody, ReceiptState, RefundAnswer, RefundPoints, RefundRequest, SaleAnswer, SaleRequest,
    SaleStatus,
};
use guild_ledger::crypto::Address;
use guild_ledger::programme::{Basket, BasketLine};
use guild_ledger::types::{Cents, Points, ReceiptHash};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Longest receipt id, in bytes.
const MAX_RECEIPT_LEN: usize = 64;

/// Records a sale: the points by the rules in force, signed by this shop.
#[utoipa::path(
    post,
    path = "/v1/sale",
    tag = "tills",
    security(("bearer" = [])),
    request_body(content = SaleRequest, description = "Customer, amount and amounts per category (minor units); `wait` (default true) answers once final."),
    responses(
        (status = 200, description = "Final: `total` points issued, `breakdown` says why.", body = SaleAnswer),
        (status = 202, description = "Signed and waiting for a block.", body = SaleAnswer),
        (status = 400, description = "`bad_request` (JSON, address, receipt id) or `bad_address`.", body = ErrorBody),
        (status = 401, description = "`unauthorized`: no or unknown token.", body = ErrorBody),
        (status = 403, description = "`forbidden`: the token lacks the sale scope.", body = ErrorBody),
        (status = 409, description = "`no_shop_key` (an observer node), or the sale was dropped (its rule's code).", body = ErrorBody),
        (status = 422, description = "Refused by a rule: `invalid_basket`, `no_earn_rule`, `duplicate_receipt`, `daily_cap_exceeded`…", body = ErrorBody),
        (status = 503, description = "`busy` or `stopped`.", body = ErrorBody),
    )
)]
pub async fn sale(
    _auth: Authorized<Sale>,
    State(api): State<ApiState>,
    JsonBody(request): JsonBody<SaleRequest>,
) -> Result<Response, ApiError> {
    let (order, receipt) = order(&api, &request)?;
    let wait = wait_for(request.wait, request.timeout_ms)?;
    // Kept before submitting: the id belongs to the hash whatever happens
    // to the sale (and a till that lost the answer refunds by the id).
    super::keep_receipt_id(&api, &shop(&api)?, &order.receipt, &receipt);
    let outcome = tokio::select! {
        result = api.handle.sale(order, SaleMode::Submit, wait) => result?,
        () = api.stopping() => return Err(ApiError::Submit(crate::SubmitError::Stopped)),
    };
    let answer = answer(outcome, Some(receipt));
    let status = match answer.status {
        SaleStatus::Final => StatusCode::OK,
        _ => StatusCode::ACCEPTED,
    };
    Ok((status, Json(answer)).into_response())
}

/// What a sale would earn now, without issuing anything.
#[utoipa::path(
    post,
    path = "/v1/sale/preview",
    tag = "tills",
    security(("bearer" = [])),
    request_body(content = SaleRequest, description = "As for `POST /v1/sale`; `receipt` and `wait` are ignored."),
    responses(
        (status = 200, description = "`status` is `preview`: the points the sale would get if recorded now.", body = SaleAnswer),
        (status = 400, description = "`bad_request` or `bad_address`.", body = ErrorBody),
        (status = 401, description = "`unauthorized`.", body = ErrorBody),
        (status = 403, description = "`forbidden`.", body = ErrorBody),
        (status = 409, description = "`no_shop_key`: an observer node.", body = ErrorBody),
        (status = 422, description = "`invalid_basket` or `no_earn_rule`.", body = ErrorBody),
    )
)]
pub async fn preview(
    _auth: Authorized<Sale>,
    State(api): State<ApiState>,
    JsonBody(request): JsonBody<SaleRequest>,
) -> Result<Json<SaleAnswer>, ApiError> {
    let (order, _) = order(&api, &request)?;
    let outcome = api.handle.sale(order, SaleMode::Preview, None).await?;
    Ok(Json(answer(outcome, None)))
}

/// Refunds a sale in full or in part: the points that part earned are
/// taken back from what remains of the receipt's points.
#[utoipa::path(
    post,
    path = "/v1/refund",
    tag = "tills",
    security(("bearer" = [])),
    request_body(content = RefundRequest, description = "The receipt id and, for a partial refund, the amount refunded (minor units)."),
    responses(
        (status = 200, description = "Final: what this refund took back (`points.taken`) and could not (`points.shortfall`: already spent), the receipt's figures after it, and a sentence for the clerk (`message`).", body = RefundAnswer),
        (status = 202, description = "Signed and waiting for a block.", body = RefundAnswer),
        (status = 400, description = "`bad_request`.", body = ErrorBody),
        (status = 401, description = "`unauthorized`.", body = ErrorBody),
        (status = 403, description = "`forbidden`.", body = ErrorBody),
        (status = 409, description = "`no_shop_key`, or dropped before final.", body = ErrorBody),
        (status = 422, description = "`unknown_receipt`, `already_reversed`, `refund_too_large`, `partial_not_a_sale`.", body = ErrorBody),
        (status = 503, description = "`busy` or `stopped`.", body = ErrorBody),
    )
)]
pub async fn refund(
    _auth: Authorized<Sale>,
    State(api): State<ApiState>,
    JsonBody(request): JsonBody<RefundRequest>,
) -> Result<Response, ApiError> {
    let shop = shop(&api)?;
    let receipt_id = receipt_id(&request.receipt)?.to_string();
    let hash = ReceiptHash::new(&shop, &receipt_id);
    let wait = wait_for(request.wait, request.timeout_ms)?;
    super::keep_receipt_id(&api, &shop, &hash, &receipt_id);
    let before = api
        .handle
        .view()
        .state
        .receipt(&shop, &hash)
        .map(ReceiptState::new);
    let submitted = tokio::select! {
        result = api.handle.refund(hash, request.amount, wait) => result?,
        () = api.stopping() => return Err(ApiError::Submit(crate::SubmitError::Stopped)),
    };
    let answer = match submitted {
        Submitted::Pending { id } => RefundAnswer {
            status: SaleStatus::Pending,
            id,
            height: None,
            message: format!(
                "The refund of receipt {receipt_id} is signed and waiting for a block (transaction {id}); look it up with GET /v1/tx/{id}, or send the same refund again: it is never applied twice."
            ),
            receipt_id,
            refunded: None,
            points: None,
            receipt: None,
        },
        Submitted::Final { id, location } => {
            // The waiter hears "final" just before the snapshot moves.
            let mut view = api.handle.view.clone();
            let _ = tokio::time::timeout(
                Duration::from_secs(5),
                view.wait_for(|v| v.head.height >= location.height),
            )
            .await;
            let after = api
                .handle
                .view()
                .state
                .receipt(&shop, &hash)
                .map(ReceiptState::new)
                .ok_or(ApiError::Internal {
                    what: format!(
                        "the refund of receipt {receipt_id} is final in block {} but the receipt is not in the state",
                        location.height
                    ),
                })?
                .with_id(Some(receipt_id.clone()));
            let before = before.unwrap_or_else(|| ReceiptState {
                refunded: Cents(0),
                taken: Points::ZERO,
                shortfall: Points::ZERO,
                ..after.clone()
            });
            let (refunded, difference) = after.change_since(&before);
            // The ledger's own report of this reversal, when the insights
            // have reached its block (exact even if another refund of the
            // receipt came in between); else the receipt's difference.
            let points = api
                .handle
                .insights
                .at_least(location.height, Duration::from_secs(2))
                .await
                .ok()
                .and_then(|s| s.history().reversal(location.height, location.index))
                .map_or(difference, |r| RefundPoints {
                    taken: r.taken,
                    shortfall: r.shortfall,
                });
            let refunded = after.purchase.map(|_| refunded);
            RefundAnswer {
                status: SaleStatus::Final,
                id,
                height: Some(location.height),
                message: refund_message(&receipt_id, refunded, points, &after),
                receipt_id,
                refunded,
                points: Some(points),
                receipt: Some(after),
            }
        }
    };
    let status = match answer.status {
        SaleStatus::Final => StatusCode::OK,
        _ => StatusCode::ACCEPTED,
    };
    Ok((status, Json(answer)).into_response())
}

/// This node's shop, or `no_shop_key`.
fn shop(api: &ApiState) -> Result<Address, ApiError> {
    api.handle
        .view()
        .member
        .ok_or(ApiError::Submit(crate::SubmitError::NoShopKey))
}

/// The sale order a request describes, and its receipt id.
fn order(api: &ApiState, request: &SaleRequest) -> Result<(SaleOrder, String), ApiError> {
    let shop = shop(api)?;
    let customer = super::parse_address(&request.customer)?;
    let receipt = match &request.receipt {
        Some(text) => receipt_id(text)?.to_string(),
        None => new_receipt_id(),
    };
    let items = request
        .items
        .iter()
        .map(|i| BasketLine {
            category: i.category.clone(),
            amount: i.amount,
        })
        .collect();
    let basket = Basket::new(request.amount, items);
    Ok((
        SaleOrder {
            customer,
            receipt: ReceiptHash::new(&shop, &receipt),
            basket,
        },
        receipt,
    ))
}

/// A receipt id as given: 1 to 64 printable characters.
fn receipt_id(text: &str) -> Result<&str, ApiError> {
    let text = text.trim();
    if text.is_empty() || text.len() > MAX_RECEIPT_LEN || text.chars().any(char::is_control) {
        return Err(ApiError::BadRequest {
            reason: format!("receipt must be 1 to {MAX_RECEIPT_LEN} printable characters"),
        });
    }
    Ok(text)
}

/// A receipt id for a sale sent without one: the time and a counter.
fn new_receipt_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("S-{}-{n}", crate::api::now_ms().0)
}

pub(super) fn wait_for(wait: bool, timeout_ms: Option<u64>) -> Result<Option<Duration>, ApiError> {
    if !wait {
        return Ok(None);
    }
    let ms = timeout_ms.unwrap_or(DEFAULT_WAIT_MS);
    if ms > MAX_WAIT_MS {
        return Err(ApiError::BadRequest {
            reason: format!("timeout_ms is {ms}, the longest wait is {MAX_WAIT_MS}"),
        });
    }
    Ok(Some(Duration::from_millis(ms)))
}

fn answer(outcome: SaleOutcome, receipt: Option<String>) -> SaleAnswer {
    let (status, id, height, index) = match outcome.submitted {
        None => (SaleStatus::Preview, None, None, None),
        Some(Submitted::Pending { id }) => (SaleStatus::Pending, Some(id), None, None),
        Some(Submitted::Final { id, location }) => (
            SaleStatus::Final,
            Some(id),
            Some(location.height),
            Some(location.index),
        ),
    };
    SaleAnswer {
        status,
        id,
        height,
        index,
        receipt,
        total: outcome.breakdown.total,
        breakdown: outcome.breakdown,
    }
}
