//! The console's pages, one module per area. Each area's `routes()` is
//! merged here; the explorer's read-only areas (network, explorer) are the
//! only ones served by [`crate::explorer_router`].

pub mod customers;
pub mod dashboard;
pub mod explorer;
pub mod live;
pub mod login;
pub mod network;
pub mod programme;
pub mod settlement;
pub mod till;

use crate::auth::Visitor;
use crate::{Console, assets};
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

/// Every route of the console (only the explorer's when `explorer_only`).
pub fn routes(explorer_only: bool) -> Router<Console> {
    let mut router = Router::new()
        .route("/", get(home))
        .route("/static/{file}", get(assets::serve))
        .route("/live", get(live::stream))
        .merge(network::routes())
        .merge(explorer::routes());
    if !explorer_only {
        router = router
            .merge(login::routes())
            .merge(till::routes())
            .merge(dashboard::routes())
            .merge(customers::routes())
            .merge(programme::routes())
            .merge(settlement::routes());
    }
    router.fallback(not_found)
}

/// `/console/`: the till for a signed-in user, the explorer on a read-only
/// explorer, otherwise the sign-in page.
pub async fn home(State(console): State<Console>, visitor: Visitor) -> Response {
    let to = if console.explorer_only {
        "/explorer".to_string()
    } else if visitor.signed_in().is_some() {
        "/till".to_string()
    } else {
        return Redirect::to(&crate::auth::login_url(&format!("{}/till", crate::BASE)))
            .into_response();
    };
    Redirect::to(&format!("{}{to}", crate::BASE)).into_response()
}

async fn not_found(visitor: Visitor) -> crate::PageError {
    let path = visitor.path.split('?').next().unwrap_or_default();
    crate::PageError::NotFound(format!(
        "there is no page {} in this console",
        path.chars().take(120).collect::<String>()
    ))
}
