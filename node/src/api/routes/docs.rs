//! `GET /v1/openapi.json`: the OpenAPI 3.1 document of this API.

use axum::{Extension, Json};
use std::sync::Arc;

/// The document, assembled once when the router is built.
pub struct Document(pub utoipa::openapi::OpenApi);

/// The OpenAPI 3.1 document: every route with its parameters, answers and
/// errors, and the schema of every type (a till vendor generates a client
/// from it).
#[utoipa::path(
    get,
    path = "/v1/openapi.json",
    tag = "meta",
    responses(
        (status = 200, description = "The OpenAPI 3.1 document of this API (this document).", body = Object),
    )
)]
pub async fn openapi_json(
    Extension(document): Extension<Arc<Document>>,
) -> Json<utoipa::openapi::OpenApi> {
    Json(document.0.clone())
}
