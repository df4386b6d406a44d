//! The network: the member shops, the head of the chain and whether this
//! node reaches enough members to finalize. Read-only, on the explorer too.

use crate::auth::Visitor;
use crate::{Console, PageError, layout};
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use maud::{Markup, html};

/// The area's routes.
pub fn routes() -> Router<Console> {
    Router::new().route("/network", get(index))
}

/// `GET /console/network`.
async fn index(State(console): State<Console>, visitor: Visitor) -> Result<Markup, PageError> {
    let (head, members) = tokio::try_join!(console.node.head(), console.node.members())?;
    let body = html! {
        section.card {
            p { "Height " strong #head-height { (head.height.0) } ". " (head.quorum.describe()) "." }
        }
        h2 { "Member shops" }
        div.table-wrap {
            table #members {
                thead { tr { th { "Shop" } th { "Address" } } }
                tbody {
                    @for member in &members.members {
                        tr { td { (member.name) } td.mono { (member.address) } }
                    }
                }
            }
        }
    };
    Ok(layout::page(
        &visitor,
        console.explorer_only,
        "/network",
        "Network",
        body,
    ))
}
