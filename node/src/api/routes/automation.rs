//! The shop's automations, webhook endpoints, delivery log, to-dos and
//! report (`/v1/automations…`, `/v1/webhooks…`), with the shop's `admin`
//! token. The work is the automation service's (`crate::automation`);
//! these handlers only translate.

use crate::api::auth::{Admin, Authorized};
use crate::api::extract::{ApiPath, ApiQuery, JsonBody};
use crate::api::{ApiError, ApiState};
use crate::automation::{AutomationError, AutomationHandle, DeliveryQuery};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use guild_api::ErrorBody;
use guild_api::automation::{
    AutomationInfo, AutomationReport, Automations, CreatedWebhook, Deliveries, DeliveryStatus,
    NewAutomation, NewWebhook, TodoInfo, Todos, WebhookInfo, Webhooks,
};

/// Deliveries listed when `limit` is not given.
pub const DEFAULT_DELIVERIES: usize = 50;

fn service(api: &ApiState) -> Result<&AutomationHandle, ApiError> {
    api.automation
        .as_ref()
        .ok_or(ApiError::Automation(AutomationError::NotRunning))
}

/// The shop's automations.
#[utoipa::path(
    get,
    path = "/v1/automations",
    tag = "automation",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every automation, by name, with its trigger and action in the command line's grammar and the consents it needs.", body = Automations),
        (status = 401, description = "`unauthorized`.", body = ErrorBody),
        (status = 403, description = "`forbidden`: the token lacks the admin scope.", body = ErrorBody),
        (status = 503, description = "`automation_unavailable`.", body = ErrorBody),
    )
)]
pub async fn list(
    _auth: Authorized<Admin>,
    State(api): State<ApiState>,
) -> Result<Json<Automations>, ApiError> {
    Ok(Json(service(&api)?.list().await?))
}

/// Adds an automation: trigger → condition → action.
#[utoipa::path(
    post,
    path = "/v1/automations",
    tag = "automation",
    security(("bearer" = [])),
    request_body(content = NewAutomation, description = "Name, trigger, condition (default: everyone), action, holdout (per mille, default 0), enabled (default true)."),
    responses(
        (status = 201, description = "Added; it acts on what happens from now on.", body = AutomationInfo),
        (status = 400, description = "`bad_request`: the body is not an automation.", body = ErrorBody),
        (status = 401, description = "`unauthorized`.", body = ErrorBody),
        (status = 403, description = "`forbidden`.", body = ErrorBody),
        (status = 404, description = "`unknown_webhook`: the action names no endpoint of this node.", body = ErrorBody),
        (status = 409, description = "`automation_exists`, `limit_reached`, `no_smtp` (an e-mail action without automation/smtp.json) or `no_shop_key`.", body = ErrorBody),
        (status = 422, description = "`invalid_automation`: what is wrong (a bad name, placeholder, holdout, or a reward that cannot go with the trigger).", body = ErrorBody),
        (status = 503, description = "`automation_unavailable`.", body = ErrorBody),
    )
)]
pub async fn add(
    _auth: Authorized<Admin>,
    State(api): State<ApiState>,
    JsonBody(spec): JsonBody<NewAutomation>,
) -> Result<(StatusCode, Json<AutomationInfo>), ApiError> {
    let info = service(&api)?.add(spec).await?;
    Ok((StatusCode::CREATED, Json(info)))
}

/// Removes an automation; what is still waiting of it is cancelled.
#[utoipa::path(
    delete,
    path = "/v1/automations/{name}",
    tag = "automation",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "The automation's name.")),
    responses(
        (status = 200, description = "Removed: what it was.", body = AutomationInfo),
        (status = 401, description = "`unauthorized`.", body = ErrorBody),
        (status = 403, description = "`forbidden`.", body = ErrorBody),
        (status = 404, description = "`unknown_automation`.", body = ErrorBody),
        (status = 503, description = "`automation_unavailable`.", body = ErrorBody),
    )
)]
pub async fn remove(
    _auth: Authorized<Admin>,
    State(api): State<ApiState>,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<AutomationInfo>, ApiError> {
    Ok(Json(service(&api)?.remove(&name).await?))
}

/// Enables an automation: it acts on what happens from now on.
#[utoipa::path(
    post,
    path = "/v1/automations/{name}/enable",
    tag = "automation",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "The automation's name.")),
    responses(
        (status = 200, description = "Enabled.", body = AutomationInfo),
        (status = 401, description = "`unauthorized`.", body = ErrorBody),
        (status = 403, description = "`forbidden`.", body = ErrorBody),
        (status = 404, description = "`unknown_automation`.", body = ErrorBody),
        (status = 503, description = "`automation_unavailable`.", body = ErrorBody),
    )
)]
pub async fn enable(
    _auth: Authorized<Admin>,
    State(api): State<ApiState>,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<AutomationInfo>, ApiError> {
    Ok(Json(service(&api)?.set_enabled(&name, true).await?))
}

/// Disables an automation: nothing new fires, and its waiting deliveries
/// pause until it is enabled again.
#[utoipa::path(
    post,
    path = "/v1/automations/{name}/disable",
    tag = "automation",
    security(("bearer" = [])),
    params(("name" = String, Path, description = "The automation's name.")),
    responses(
        (status = 200, description = "Disabled.", body = AutomationInfo),
        (status = 401, description = "`unauthorized`.", body = ErrorBody),
        (status = 403, description = "`forbidden`.", body = ErrorBody),
        (status = 404, description = "`unknown_automation`.", body = ErrorBody),
        (status = 503, description = "`automation_unavailable`.", body = ErrorBody),
    )
)]
pub async fn disable(
    _auth: Authorized<Admin>,
    State(api): State<ApiState>,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<AutomationInfo>, ApiError> {
    Ok(Json(service(&api)?.set_enabled(&name, false).await?))
}

/// The query of `GET /v1/automations/deliveries`.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesQuery {
    /// Only `pending`, `retrying`, `delivered`, `cancelled`, `dead` or
    /// `held_out`.
    status: Option<String>,
    /// Only this automation.
    automation: Option<String>,
    /// Only this customer (`guild1…`).
    customer: Option<String>,
    /// How many, 1 to 500 (default 50).
    limit: Option<usize>,
}

/// The delivery log: every event, what was tried and how it ended.
#[utoipa::path(
    get,
    path = "/v1/automations/deliveries",
    tag = "automation",
    security(("bearer" = [])),
    params(DeliveriesQuery),
    responses(
        (status = 200, description = "Events, newest first, with their attempts and explanation; `waiting` and `dead` count all.", body = Deliveries),
        (status = 400, description = "`bad_request` (status or limit) or `bad_address`.", body = ErrorBody),
        (status = 401, description = "`unauthorized`.", body = ErrorBody),
        (status = 403, description = "`forbidden`.", body = ErrorBody),
        (status = 503, description = "`automation_unavailable`.", body = ErrorBody),
    )
)]
pub async fn deliveries(
    _auth: Authorized<Admin>,
    State(api): State<ApiState>,
    ApiQuery(query): ApiQuery<DeliveriesQuery>,
) -> Result<Json<Deliveries>, ApiError> {
    let status = query
        .status
        .as_deref()
        .map(str::parse::<DeliveryStatus>)
        .transpose()
        .map_err(|reason| ApiError::BadRequest { reason })?;
    let customer = query
        .customer
        .as_deref()
        .map(super::parse_address)
        .transpose()?;
    let limit = query.limit.unwrap_or(DEFAULT_DELIVERIES);
    let max = crate::automation::service::MAX_DELIVERIES_LISTED;
    if !(1..=max).contains(&limit) {
        return Err(ApiError::BadRequest {
            reason: format!("limit is {limit}; ask for 1 to {max} deliveries"),
        });
    }
    let query = DeliveryQuery {
        status,
        automation: query.automation,
        customer,
        limit,
    };
    Ok(Json(service(&api)?.deliveries(query).await?))
}

/// The query of `GET /v1/automations/todos`.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TodosQuery {
    /// Also the done ones (default false).
    all: Option<bool>,
}

/// The staff's to-dos.
#[utoipa::path(
    get,
    path = "/v1/automations/todos",
    tag = "automation",
    security(("bearer" = [])),
    params(TodosQuery),
    responses(
        (status = 200, description = "Open to-dos, oldest first (with `all=true`, then the done ones).", body = Todos),
        (status = 400, description = "`bad_request`.", body = ErrorBody),
        (status = 401, description = "`unauthorized`.", body = ErrorBody),
        (status = 403, description = "`forbidden`.", body = ErrorBody),
        (status = 503, description = "`automation_unavailable`.", body = ErrorBody),
    )
)]
pub async fn todos(
    _auth: Authorized<Admin>,
    State(api): State<ApiState>,
    ApiQuery(query): ApiQuery<TodosQuery>,
) -> Result<Json<Todos>, ApiError> {
    Ok(Json(
        service(&api)?.todos(query.all.unwrap_or(false)).await?,
    ))
}

/// Marks a to-do done.
#[utoipa::path(
    post,
    path = "/v1/automations/todos/{id}/done",
    tag = "automation",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The to-do's id (`evt_…`).")),
    responses(
        (status = 200, description = "Done (marking it again changes nothing).", body = TodoInfo),
        (status = 401, description = "`unauthorized`.", body = ErrorBody),
        (status = 403, description = "`forbidden`.", body = ErrorBody),
        (status = 404, description = "`unknown_todo`.", body = ErrorBody),
        (status = 503, description = "`automation_unavailable`.", body = ErrorBody),
    )
)]
pub async fn todo_done(
    _auth: Authorized<Admin>,
    State(api): State<ApiState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<TodoInfo>, ApiError> {
    Ok(Json(service(&api)?.todo_done(&id).await?))
}

/// The automation report: per automation, events, deliveries and rewards
/// by segment and tier, and the treated and held-out groups' purchases.
#[utoipa::path(
    get,
    path = "/v1/automations/report",
    tag = "automation",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The report over the delivery log (the last 90 days).", body = AutomationReport),
        (status = 401, description = "`unauthorized`.", body = ErrorBody),
        (status = 403, description = "`forbidden`.", body = ErrorBody),
        (status = 503, description = "`automation_unavailable`.", body = ErrorBody),
    )
)]
pub async fn report(
    _auth: Authorized<Admin>,
    State(api): State<ApiState>,
) -> Result<Json<AutomationReport>, ApiError> {
    Ok(Json(service(&api)?.report().await?))
}

/// Adds a webhook endpoint; the answer shows its signing secret, once.
#[utoipa::path(
    post,
    path = "/v1/webhooks",
    tag = "automation",
    security(("bearer" = [])),
    request_body(content = NewWebhook, description = "The receiver's URL and an optional note."),
    responses(
        (status = 201, description = "Added: its id (for `webhook:` actions) and its `whsec_` secret (shown only now).", body = CreatedWebhook),
        (status = 400, description = "`bad_url` or `bad_request`.", body = ErrorBody),
        (status = 401, description = "`unauthorized`.", body = ErrorBody),
        (status = 403, description = "`forbidden`.", body = ErrorBody),
        (status = 409, description = "`limit_reached`.", body = ErrorBody),
        (status = 422, description = "`invalid_automation`: a bad description.", body = ErrorBody),
        (status = 503, description = "`automation_unavailable`.", body = ErrorBody),
    )
)]
pub async fn add_webhook(
    _auth: Authorized<Admin>,
    State(api): State<ApiState>,
    JsonBody(request): JsonBody<NewWebhook>,
) -> Result<(StatusCode, Json<CreatedWebhook>), ApiError> {
    let created = service(&api)?.add_webhook(request).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// The webhook endpoints (never their secrets).
#[utoipa::path(
    get,
    path = "/v1/webhooks",
    tag = "automation",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every endpoint, oldest first, with its secret's first characters.", body = Webhooks),
        (status = 401, description = "`unauthorized`.", body = ErrorBody),
        (status = 403, description = "`forbidden`.", body = ErrorBody),
        (status = 503, description = "`automation_unavailable`.", body = ErrorBody),
    )
)]
pub async fn webhooks(
    _auth: Authorized<Admin>,
    State(api): State<ApiState>,
) -> Result<Json<Webhooks>, ApiError> {
    Ok(Json(service(&api)?.webhooks().await?))
}

/// Removes a webhook endpoint no automation uses.
#[utoipa::path(
    delete,
    path = "/v1/webhooks/{id}",
    tag = "automation",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "The endpoint's id (`wh_…`).")),
    responses(
        (status = 200, description = "Removed: what it was.", body = WebhookInfo),
        (status = 401, description = "`unauthorized`.", body = ErrorBody),
        (status = 403, description = "`forbidden`.", body = ErrorBody),
        (status = 404, description = "`unknown_webhook`.", body = ErrorBody),
        (status = 409, description = "`webhook_in_use`: automations name it.", body = ErrorBody),
        (status = 503, description = "`automation_unavailable`.", body = ErrorBody),
    )
)]
pub async fn remove_webhook(
    _auth: Authorized<Admin>,
    State(api): State<ApiState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<WebhookInfo>, ApiError> {
    Ok(Json(service(&api)?.remove_webhook(&id).await?))
}
