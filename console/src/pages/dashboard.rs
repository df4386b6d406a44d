//! The Dashboard area (being built: this page is a placeholder until it lands).

use crate::auth::{SignedIn, Visitor};
use crate::{Console, layout};
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use maud::{Markup, html};

/// The area's routes.
pub fn routes() -> Router<Console> {
    Router::new().route("/dashboard", get(index))
}

async fn index(State(console): State<Console>, visitor: Visitor) -> Markup {
    layout::page(
        &visitor,
        console.explorer_only,
        "/dashboard",
        "Dashboard",
        html! { p { "Coming in this release." } },
    )
}

#[allow(dead_code)]
fn signed_in(_: SignedIn) {}
