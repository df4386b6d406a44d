//! `GET /v1/whoami`: the token a request is made with (a till's check that
//! its token works).

use crate::api::auth::{Authorized, Sale};
use axum::Json;
use guild_api::{ErrorBody, WhoAmI};

/// The name and scopes of the request's API token.
#[utoipa::path(
    get,
    path = "/v1/whoami",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The token is known and has the sale scope.", body = WhoAmI),
        (status = 401, description = "No token, or one the node does not know (revoked, mistyped).", body = ErrorBody),
        (status = 403, description = "The token lacks the sale scope.", body = ErrorBody)
    )
)]
pub async fn whoami(auth: Authorized<Sale>) -> Json<WhoAmI> {
    Json(WhoAmI {
        name: auth.token.name,
        scopes: auth.token.scopes,
    })
}
