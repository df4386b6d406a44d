//! `/v1/customers…`: the shop's customer directory (`crate::directory`),
//! every endpoint with an `admin` token of this node. The directory is
//! this node's own: nothing here touches the ledger or the network.
//!
//! Changes write the directory's file before they answer, on the blocking
//! pool (a write is a few milliseconds of `fsync`).

use super::accounts::history_entries;
use super::{blocking, parse_address};
use crate::api::auth::{Admin, Authorized};
use crate::api::extract::{ApiPath, ApiQuery, JsonBody};
use crate::api::{ApiError, ApiState, now_ms};
use crate::directory::{ConsentSetting, NewEntry, PageRequest, Provenance, Update};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use guild_api::account::account_info;
use guild_api::customers::{
    DEFAULT_PAGE, ExportShop, MAX_EXPORT_HISTORY, MAX_IMPORT, MAX_PAGE, MAX_SEARCH_CHARS,
    export_about,
};
use guild_api::{
    ConsentRequest, CustomerEntry, CustomerExport, CustomerPage, CustomerUpdate, ErasureReport,
    ErrorBody, ImportAnswer, ImportRequest, NewCustomer, Via,
};

/// The largest body of `POST /v1/customers/import`, in bytes (2,000
/// customers with every field filled take about 700 KiB).
pub const MAX_IMPORT_BODY_BYTES: usize = 1024 * 1024;

/// Who made a change: the request's token, through `via` (default `api`),
/// now.
fn provenance(auth: &Authorized<Admin>, via: Option<Via>) -> Provenance {
    Provenance {
        at_ms: now_ms().0,
        via: via.unwrap_or(Via::Api),
        by: auth.token.name.clone(),
    }
}

/// Adds a customer to the shop's directory.
#[utoipa::path(
    post,
    path = "/v1/customers",
    tag = "customers",
    security(("bearer" = [])),
    request_body(content = NewCustomer, description = "The customer's address and what the shop keeps about them; `consent` lists the consents they give now."),
    responses(
        (status = 201, description = "Added.", body = CustomerEntry),
        (status = 400, description = "`bad_address`, `bad_name`, `bad_email`, `bad_birthday`, `bad_note` or `bad_request`.", body = ErrorBody),
        (status = 401, description = "`unauthorized`: no or unknown token.", body = ErrorBody),
        (status = 403, description = "`forbidden`: the token lacks the admin scope.", body = ErrorBody),
        (status = 409, description = "`customer_exists` or `directory_full`.", body = ErrorBody),
        (status = 500, description = "`directory_unavailable`: the directory's file cannot be read or written.", body = ErrorBody),
    )
)]
pub async fn add(
    auth: Authorized<Admin>,
    State(api): State<ApiState>,
    JsonBody(request): JsonBody<NewCustomer>,
) -> Result<(StatusCode, Json<CustomerEntry>), ApiError> {
    let new = NewEntry::parse(&request)?;
    let by = provenance(&auth, request.via);
    let directory = api.directory.clone();
    let entry = blocking(move || Ok(directory.add(new, &by)?)).await?;
    Ok((StatusCode::CREATED, Json(entry)))
}

/// Adds many customers at once (at most 2,000), with one write of the
/// directory: all of them, or none.
#[utoipa::path(
    post,
    path = "/v1/customers/import",
    tag = "customers",
    security(("bearer" = [])),
    request_body(content = ImportRequest, description = "The new entries, each as for `POST /v1/customers`; `skip_existing` leaves customers with an entry as they are."),
    responses(
        (status = 200, description = "Added (and skipped).", body = ImportAnswer),
        (status = 400, description = "A customer's `bad_address`, `bad_name`, `bad_email`, `bad_birthday` or `bad_note` (the message says which customer), or `bad_request` (more than 2,000, one given twice).", body = ErrorBody),
        (status = 401, description = "`unauthorized`.", body = ErrorBody),
        (status = 403, description = "`forbidden`.", body = ErrorBody),
        (status = 409, description = "`customer_exists` (without `skip_existing`) or `directory_full`.", body = ErrorBody),
        (status = 413, description = "`too_large`: the body is over 1 MiB.", body = ErrorBody),
        (status = 500, description = "`directory_unavailable`.", body = ErrorBody),
    )
)]
pub async fn import(
    auth: Authorized<Admin>,
    State(api): State<ApiState>,
    body: Result<JsonBody<ImportRequest>, ApiError>,
) -> Result<Json<ImportAnswer>, ApiError> {
    let JsonBody(request) = body.map_err(|error| match error {
        ApiError::TooLarge { .. } => ApiError::TooLarge {
            limit: MAX_IMPORT_BODY_BYTES,
        },
        other => other,
    })?;
    if request.customers.len() > MAX_IMPORT {
        return Err(ApiError::BadRequest {
            reason: format!(
                "the import holds {} customers; send at most {MAX_IMPORT} at a time",
                request.customers.len()
            ),
        });
    }
    let entries = request
        .customers
        .iter()
        .enumerate()
        .map(|(index, customer)| {
            NewEntry::parse(customer).map_err(|error| ApiError::InImport {
                position: index + 1,
                source: Box::new(error.into()),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let by = provenance(&auth, request.via);
    let directory = api.directory.clone();
    let skip = request.skip_existing;
    let (outcome, total) = blocking(move || {
        let outcome = directory.import(entries, skip, &by)?;
        Ok((outcome, directory.len()))
    })
    .await?;
    Ok(Json(ImportAnswer {
        added: outcome.added,
        skipped: outcome.skipped,
        total,
    }))
}

/// The query of `GET /v1/customers`.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only customers whose name or email contains this (ignoring case;
    /// at most 100 characters).
    search: Option<String>,
    /// Customers after this address (the previous page's `next`).
    after: Option<String>,
    /// How many, 1 to 500 (default 100).
    limit: Option<usize>,
}

/// The directory, a page at a time, in address order.
#[utoipa::path(
    get,
    path = "/v1/customers",
    tag = "customers",
    security(("bearer" = [])),
    params(ListQuery),
    responses(
        (status = 200, description = "One page; ask again with `after` = `next` for the next.", body = CustomerPage),
        (status = 400, description = "`bad_request` (limit, search) or `bad_address` (after).", body = ErrorBody),
        (status = 401, description = "`unauthorized`.", body = ErrorBody),
        (status = 403, description = "`forbidden`.", body = ErrorBody),
        (status = 500, description = "`directory_unavailable`.", body = ErrorBody),
    )
)]
pub async fn list(
    _auth: Authorized<Admin>,
    State(api): State<ApiState>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<CustomerPage>, ApiError> {
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::BadRequest {
            reason: format!("limit is {limit}; ask for 1 to {MAX_PAGE} customers"),
        });
    }
    if let Some(search) = &query.search
        && search.chars().count() > MAX_SEARCH_CHARS
    {
        return Err(ApiError::BadRequest {
            reason: format!("search for at most {MAX_SEARCH_CHARS} characters"),
        });
    }
    let request = PageRequest {
        search: query.search,
        after: query.after.as_deref().map(parse_address).transpose()?,
        limit,
    };
    let directory = api.directory.clone();
    let page = blocking(move || Ok(directory.page(&request)?)).await?;
    Ok(Json(page))
}

/// What the directory holds about one customer.
#[utoipa::path(
    get,
    path = "/v1/customers/{address}",
    tag = "customers",
    security(("bearer" = [])),
    params(("address" = String, Path, description = "The customer's address (guild1…).")),
    responses(
        (status = 200, description = "The entry, with its consents and their log.", body = CustomerEntry),
        (status = 400, description = "`bad_address`.", body = ErrorBody),
        (status = 401, description = "`unauthorized`.", body = ErrorBody),
        (status = 403, description = "`forbidden`.", body = ErrorBody),
        (status = 404, description = "`unknown_customer`.", body = ErrorBody),
        (status = 500, description = "`directory_unavailable`.", body = ErrorBody),
    )
)]
pub async fn show(
    _auth: Authorized<Admin>,
    State(api): State<ApiState>,
    ApiPath(text): ApiPath<String>,
) -> Result<Json<CustomerEntry>, ApiError> {
    let customer = parse_address(&text)?;
    let entry = api
        .directory
        .entry(&customer)?
        .ok_or(crate::directory::DirectoryError::Unknown { customer })?;
    Ok(Json(entry))
}

/// Changes a customer's name, email, birthday or note: a field left out
/// is kept, `null` removes it.
#[utoipa::path(
    patch,
    path = "/v1/customers/{address}",
    tag = "customers",
    security(("bearer" = [])),
    params(("address" = String, Path, description = "The customer's address (guild1…).")),
    request_body(content = CustomerUpdate, description = "The fields to change (at least one)."),
    responses(
        (status = 200, description = "The entry after the change.", body = CustomerEntry),
        (status = 400, description = "`bad_address`, `bad_name`, `bad_email`, `bad_birthday`, `bad_note` or `bad_request` (no field).", body = ErrorBody),
        (status = 401, description = "`unauthorized`.", body = ErrorBody),
        (status = 403, description = "`forbidden`.", body = ErrorBody),
        (status = 404, description = "`unknown_customer`.", body = ErrorBody),
        (status = 500, description = "`directory_unavailable`.", body = ErrorBody),
    )
)]
pub async fn update(
    _auth: Authorized<Admin>,
    State(api): State<ApiState>,
    ApiPath(text): ApiPath<String>,
    JsonBody(request): JsonBody<CustomerUpdate>,
) -> Result<Json<CustomerEntry>, ApiError> {
    let customer = parse_address(&text)?;
    let update = Update::parse(&request)?;
    if update.is_empty() {
        return Err(ApiError::BadRequest {
            reason:
                "name at least one field to change: name, email, birthday or note (null removes it)"
                    .into(),
        });
    }
    let directory = api.directory.clone();
    let at = now_ms().0;
    let entry = blocking(move || Ok(directory.update(&customer, &update, at)?)).await?;
    Ok(Json(entry))
}

/// Gives or withdraws a customer's consents; a withdrawal stops messages
/// and profiling-based actions from this answer on.
#[utoipa::path(
    put,
    path = "/v1/customers/{address}/consent",
    tag = "customers",
    security(("bearer" = [])),
    params(("address" = String, Path, description = "The customer's address (guild1…).")),
    request_body(content = ConsentRequest, description = "The consents to set (at least one); each change is logged with the time, the channel and the token."),
    responses(
        (status = 200, description = "The entry after the change.", body = CustomerEntry),
        (status = 400, description = "`bad_address` or `bad_request` (no consent named).", body = ErrorBody),
        (status = 401, description = "`unauthorized`.", body = ErrorBody),
        (status = 403, description = "`forbidden`.", body = ErrorBody),
        (status = 404, description = "`unknown_customer`.", body = ErrorBody),
        (status = 500, description = "`directory_unavailable`.", body = ErrorBody),
    )
)]
pub async fn consent(
    auth: Authorized<Admin>,
    State(api): State<ApiState>,
    ApiPath(text): ApiPath<String>,
    JsonBody(request): JsonBody<ConsentRequest>,
) -> Result<Json<CustomerEntry>, ApiError> {
    let customer = parse_address(&text)?;
    let setting = ConsentSetting::of(&request);
    if setting.is_empty() {
        return Err(ApiError::BadRequest {
            reason:
                "name at least one consent to set: \"messages\" or \"profiling\" (true or false)"
                    .into(),
        });
    }
    let by = provenance(&auth, request.via);
    let directory = api.directory.clone();
    let entry = blocking(move || Ok(directory.set_consent(&customer, setting, &by)?)).await?;
    Ok(Json(entry))
}

/// Everything this node holds about one customer, for the customer: the
/// directory entry, what other parts of the node derived from it, and
/// the ledger lines of their key.
#[utoipa::path(
    get,
    path = "/v1/customers/{address}/export",
    tag = "customers",
    security(("bearer" = [])),
    params(("address" = String, Path, description = "The customer's address (guild1…).")),
    responses(
        (status = 200, description = "The export (`directory` is null when the directory holds nothing about the key).", body = CustomerExport),
        (status = 400, description = "`bad_address`.", body = ErrorBody),
        (status = 401, description = "`unauthorized`.", body = ErrorBody),
        (status = 403, description = "`forbidden`.", body = ErrorBody),
        (status = 500, description = "`directory_unavailable`, `storage` or `internal`.", body = ErrorBody),
    )
)]
pub async fn export(
    _auth: Authorized<Admin>,
    State(api): State<ApiState>,
    ApiPath(text): ApiPath<String>,
) -> Result<Json<CustomerExport>, ApiError> {
    let customer = parse_address(&text)?;
    let now = now_ms();
    let view = api.handle.view();
    let account = account_info(&view.state, customer, now);
    let shop = view.member.map(|address| ExportShop {
        address,
        name: view.state.member(&address).map(|m| m.name.clone()),
    });
    let directory = api.directory.clone();
    let store = api.handle.store.clone();
    let chain_id = api.handle.chain_id.clone();
    let (entry, held_elsewhere, mut history) = blocking(move || {
        let entry = directory.entry(&customer)?;
        let held = directory.held_elsewhere(&customer)?;
        let history = history_entries(&store, &chain_id, &customer, MAX_EXPORT_HISTORY + 1)?;
        Ok((entry, held, history))
    })
    .await?;
    let history_complete = history.len() <= MAX_EXPORT_HISTORY;
    history.truncate(MAX_EXPORT_HISTORY);
    Ok(Json(CustomerExport {
        customer,
        exported_ms: now.0,
        about: export_about(shop.as_ref(), &customer, entry.is_some()),
        shop,
        directory: entry,
        held_elsewhere,
        account,
        history,
        history_complete,
    }))
}

/// Erases a customer: the directory entry and everything derived from it
/// elsewhere in the node. The ledger is unchanged (its lines under the key
/// stay, pseudonymous once the entry is gone).
#[utoipa::path(
    delete,
    path = "/v1/customers/{address}",
    tag = "customers",
    security(("bearer" = [])),
    params(("address" = String, Path, description = "The customer's address (guild1…).")),
    responses(
        (status = 200, description = "Erased: what was removed, and where.", body = ErasureReport),
        (status = 400, description = "`bad_address`.", body = ErrorBody),
        (status = 401, description = "`unauthorized`.", body = ErrorBody),
        (status = 403, description = "`forbidden`.", body = ErrorBody),
        (status = 404, description = "`unknown_customer`: no entry, and nothing derived anywhere.", body = ErrorBody),
        (status = 500, description = "`erasure_incomplete` (the entry is gone but a holder of derived data failed: erase again) or `directory_unavailable`.", body = ErrorBody),
    )
)]
pub async fn erase(
    _auth: Authorized<Admin>,
    State(api): State<ApiState>,
    ApiPath(text): ApiPath<String>,
) -> Result<Json<ErasureReport>, ApiError> {
    let customer = parse_address(&text)?;
    let directory = api.directory.clone();
    let at = now_ms().0;
    let report = blocking(move || Ok(directory.erase(&customer, at)?)).await?;
    Ok(Json(report))
}
