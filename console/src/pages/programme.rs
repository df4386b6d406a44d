//! The Programme area. Its pages are not built yet: until they are, this
//! page says so and names the commands that do the same job.

use crate::auth::{SignedIn, Visitor};
use crate::{Console, layout};
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use maud::{Markup, html};

/// The area's routes.
pub fn routes() -> Router<Console> {
    Router::new().route("/programme", get(index))
}

/// `GET /console/programme` (signed in).
async fn index(State(console): State<Console>, _user: SignedIn, visitor: Visitor) -> Markup {
    let body = html! {
        div.notice.info role="status" {
            "This page is not in the console yet. Meanwhile the same is done with: "
            code { "guild shop rules show, guild shop campaign list, guild automation list" } " (see the README)."
        }
    };
    layout::page(
        &visitor,
        console.explorer_only,
        "/programme",
        "Programme",
        body,
    )
}
