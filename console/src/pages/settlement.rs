//! The Settlement area. Its pages are not built yet: until they are, this
//! page says so and names the commands that do the same job.

use crate::auth::{SignedIn, Visitor};
use crate::{Console, layout};
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use maud::{Markup, html};

/// The area's routes.
pub fn routes() -> Router<Console> {
    Router::new().route("/settlement", get(index))
}

/// `GET /console/settlement` (signed in).
async fn index(State(console): State<Console>, _user: SignedIn, visitor: Visitor) -> Markup {
    let body = html! {
        div.notice.info role="status" {
            "This page is not in the console yet. Meanwhile the same is done with: "
            code { "guild audit report, guild audit export --month YYYY-MM, guild shop settle" } " (see the README)."
        }
    };
    layout::page(
        &visitor,
        console.explorer_only,
        "/settlement",
        "Settlement",
        body,
    )
}
