//! `GET /v1/insights/customers`, `/v1/insights/segments` and
//! `/v1/insights/kpis`: what a shop can learn from the public ledger
//! (docs/insights.md), from the node's insights snapshot
//! ([`crate::insights`]).
//!
//! The figures come from the ledger every member holds, so these reads
//! need no token. An answer is from the snapshot at the head the request
//! saw (waiting a moment for the insights to reach it), computed off the
//! async threads; a scope's customer rows are computed once per height.

use super::blocking;
use crate::api::extract::ApiQuery;
use crate::api::{ApiError, ApiState};
use crate::insights::Snapshot;
use axum::Json;
use axum::extract::State;
use guild_api::insights::{
    CustomersQuery, DEFAULT_CUSTOMERS_PAGE, KpisQuery, MAX_CUSTOMERS_PAGE, SegmentsQuery,
    kpi_period, kpi_report,
};
use guild_api::{CustomerInsights, ErrorBody, KpiReport, Segment, SegmentSummaries};
use guild_audit::Date;
use guild_insights::{Day, Scope};
use std::sync::Arc;
use std::time::Duration;

/// How long a read waits for the insights to reach the head it saw.
const CATCH_UP_WAIT: Duration = Duration::from_secs(2);

/// The longest `shop` or `segment` accepted (a name is at most 64
/// characters; an address is 69).
const MAX_PARAM_CHARS: usize = 100;

/// The snapshot for a request: at the head the request sees, or the
/// latest there is after a short wait.
async fn snapshot(api: &ApiState) -> Result<Arc<Snapshot>, ApiError> {
    let head = api.handle.view().head.height;
    Ok(api.handle.insights.at_least(head, CATCH_UP_WAIT).await?)
}

fn check_length(name: &str, text: &str) -> Result<(), ApiError> {
    if text.chars().count() > MAX_PARAM_CHARS {
        return Err(ApiError::BadRequest {
            reason: format!("{name} is longer than {MAX_PARAM_CHARS} characters"),
        });
    }
    Ok(())
}

/// The scope of `shop`: a member's (or former member's) name, any case,
/// or its address; the group without one.
fn scope(snapshot: &Snapshot, shop: Option<&str>) -> Result<Scope, ApiError> {
    let Some(text) = shop.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(Scope::Group);
    };
    check_length("shop", text)?;
    let history = snapshot.history();
    if let Ok(address) = text.parse()
        && history.shop_name(&address).is_some()
    {
        return Ok(Scope::Shop(address));
    }
    let folded = text.to_ascii_lowercase();
    if let Some(member) = snapshot.state().member_by_name(text) {
        return Ok(Scope::Shop(member.address));
    }
    history
        .shops()
        .find(|(_, name)| name.folded() == folded)
        .map(|(address, _)| Scope::Shop(*address))
        .ok_or_else(|| {
            let mut known: Vec<String> = history.shops().map(|(_, n)| n.to_string()).collect();
            known.sort();
            ApiError::UnknownShop {
                shop: text.chars().take(MAX_PARAM_CHARS).collect(),
                known,
            }
        })
}

fn segment(text: Option<&str>) -> Result<Option<Segment>, ApiError> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    check_length("segment", text)?;
    text.parse().map(Some).map_err(ApiError::UnknownSegment)
}

fn day(name: &'static str, text: Option<&str>) -> Result<Option<Day>, ApiError> {
    let Some(text) = text else { return Ok(None) };
    let text: String = text.chars().take(MAX_PARAM_CHARS).collect();
    Date::parse(&text)
        .map(|d| Some(Day(d.day_number())))
        .map_err(|error| ApiError::BadDate { name, error })
}

/// A shop's (or the group's) customers with their purchases, points,
/// tier, RFM scores and segment, most spend first.
#[utoipa::path(
    get,
    path = "/v1/insights/customers",
    tag = "insights",
    params(CustomersQuery),
    responses(
        (status = 200, description = "The customers at the head (one page).", body = CustomerInsights),
        (status = 400, description = "`unknown_segment`, or `bad_request` (a limit outside 1 to 5,000, an unknown parameter).", body = ErrorBody),
        (status = 404, description = "`unknown_shop`: no member shop has that name or address.", body = ErrorBody),
        (status = 503, description = "`insights_not_ready`: the node is still reading its chain.", body = ErrorBody),
    )
)]
pub async fn customers(
    State(api): State<ApiState>,
    ApiQuery(query): ApiQuery<CustomersQuery>,
) -> Result<Json<CustomerInsights>, ApiError> {
    let limit = query.limit.unwrap_or(DEFAULT_CUSTOMERS_PAGE);
    if !(1..=MAX_CUSTOMERS_PAGE).contains(&limit) {
        return Err(ApiError::BadRequest {
            reason: format!("limit is {limit}; ask for 1 to {MAX_CUSTOMERS_PAGE} customers"),
        });
    }
    let wanted = segment(query.segment.as_deref())?;
    let snapshot = snapshot(&api).await?;
    let scope = scope(&snapshot, query.shop.as_deref())?;
    let offset = query.offset.unwrap_or(0);
    let page = blocking(move || Ok(snapshot.rows(scope).page(wanted, offset, limit))).await?;
    Ok(Json(page))
}

/// How many customers each segment holds, with their spend, recency,
/// frequency and value.
#[utoipa::path(
    get,
    path = "/v1/insights/segments",
    tag = "insights",
    params(SegmentsQuery),
    responses(
        (status = 200, description = "Every segment at the head, in the order of the segment table.", body = SegmentSummaries),
        (status = 400, description = "`bad_request` (an unknown parameter).", body = ErrorBody),
        (status = 404, description = "`unknown_shop`.", body = ErrorBody),
        (status = 503, description = "`insights_not_ready`.", body = ErrorBody),
    )
)]
pub async fn segments(
    State(api): State<ApiState>,
    ApiQuery(query): ApiQuery<SegmentsQuery>,
) -> Result<Json<SegmentSummaries>, ApiError> {
    let snapshot = snapshot(&api).await?;
    let scope = scope(&snapshot, query.shop.as_deref())?;
    let summaries = blocking(move || Ok(snapshot.rows(scope).segments())).await?;
    Ok(Json(summaries))
}

/// The programme's KPIs over a period of local days (default: the 30
/// days ending today).
#[utoipa::path(
    get,
    path = "/v1/insights/kpis",
    tag = "insights",
    params(KpisQuery),
    responses(
        (status = 200, description = "The KPIs of the period, at the head.", body = KpiReport),
        (status = 400, description = "`bad_date` (not YYYY-MM-DD, or not a real date), `bad_period` (ends before it starts, or longer than 3,660 days) or `bad_request`.", body = ErrorBody),
        (status = 404, description = "`unknown_shop`.", body = ErrorBody),
        (status = 503, description = "`insights_not_ready`.", body = ErrorBody),
    )
)]
pub async fn kpis(
    State(api): State<ApiState>,
    ApiQuery(query): ApiQuery<KpisQuery>,
) -> Result<Json<KpiReport>, ApiError> {
    let from = day("from", query.from.as_deref())?;
    let to = day("to", query.to.as_deref())?;
    let snapshot = snapshot(&api).await?;
    let scope = scope(&snapshot, query.shop.as_deref())?;
    let period = kpi_period(snapshot.state(), from, to).map_err(ApiError::BadPeriod)?;
    let report = blocking(move || {
        Ok(kpi_report(
            snapshot.history(),
            snapshot.state(),
            scope,
            period,
        ))
    })
    .await?;
    Ok(Json(report))
}
