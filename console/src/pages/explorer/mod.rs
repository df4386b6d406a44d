//! The explorer: the chain as it is, for shop owners and auditors alike.
//! Read-only, taken by a [`Visitor`], and served to auditors without
//! sign-in by [`crate::explorer_router`]: it shows only what is on the
//! ledger (blocks, transactions, accounts by address, receipts by hash),
//! never the shop's customer directory.
//!
//! - `GET /explorer`: the search box, the latest blocks (live), and the
//!   "Verify the chain" button ([`verify`]);
//! - `GET /explorer/blocks/{height}`, `/explorer/tx/{id}`,
//!   `/explorer/accounts/{address}`, `/explorer/receipts/{shop}/{hash}`
//!   ([`show`]);
//! - `GET /explorer/search?q=` ([`search`]): a height, a transaction id, an
//!   address or a receipt, sent to its page.

pub mod search;
pub mod show;
pub mod verify;

use crate::auth::Visitor;
use crate::{Console, PageError, assets, layout};
use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use guild_api::{BlockInfo, Members};
use guild_ledger::crypto::Address;
use guild_ledger::types::Height;
use maud::{Markup, html};

/// How many blocks the explorer's front page lists.
pub const LATEST: u64 = 10;

/// The area's routes.
pub fn routes() -> Router<Console> {
    Router::new()
        .route("/explorer", get(index))
        .route("/explorer/latest", get(latest_fragment))
        .route("/explorer/search", get(search::search))
        .route("/explorer/blocks/{height}", get(show::block))
        .route("/explorer/tx/{id}", get(show::tx))
        .route("/explorer/accounts/{address}", get(show::account))
        .route("/explorer/receipts/{shop}/{hash}", get(show::receipt))
        .route("/explorer/verify", post(verify::start))
        .route("/explorer/verify/{id}", get(verify::page))
        .route("/explorer/verify/{id}/status", get(verify::status))
}

/// A member's name for `address`, else the address shortened
/// (`guild1abcd…wxyz`): how addresses read in the explorer's tables.
pub fn label(members: &Members, address: &Address) -> String {
    match members.members.iter().find(|m| &m.address == address) {
        Some(member) => member.name.to_string(),
        None => short(&address.to_string()),
    }
}

/// `guild1abcdef…uvwxyz` for a long address or hash.
pub fn short(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= 16 {
        return text.to_string();
    }
    let head: String = chars[..10].iter().collect();
    let tail: String = chars[chars.len() - 6..].iter().collect();
    format!("{head}…{tail}")
}

/// A link to an account's page.
pub fn account_link(members: &Members, address: &Address) -> Markup {
    html! { a.mono href={(crate::BASE) "/explorer/accounts/" (address)} title=(address) { (label(members, address)) } }
}

/// The page frame of the explorer, with its script.
pub fn frame(console: &Console, visitor: &Visitor, title: &str, body: Markup) -> Markup {
    layout::page(
        visitor,
        console.explorer_only,
        "/explorer",
        title,
        html! { (body) (assets::script("explorer.js")) },
    )
}

/// The latest blocks, newest first.
async fn latest(console: &Console) -> Result<(Vec<BlockInfo>, Members), guild_api::ClientError> {
    let (head, members) = tokio::try_join!(console.node.head(), console.node.members())?;
    let lowest = head.height.0.saturating_sub(LATEST - 1).max(1);
    let heights: Vec<u64> = (lowest..=head.height.0).rev().collect();
    let blocks =
        futures::future::try_join_all(heights.into_iter().map(|h| console.node.block(Height(h))))
            .await?;
    Ok((blocks, members))
}

/// The table of the latest blocks (the live part of the front page).
fn latest_table(
    shown: &guild_api::shown::Shown,
    blocks: &[BlockInfo],
    members: &Members,
) -> Markup {
    html! {
        @if blocks.is_empty() {
            p.muted { "No block yet: the chain holds only its genesis." }
        } @else {
            div.table-wrap {
                table #latest-blocks {
                    thead { tr { th.num { "Height" } th { "Time" } th { "Hash" } th.num { "Transactions" } th { "Proposer" } } }
                    tbody {
                        @for block in blocks {
                            tr {
                                td.num { a href={(crate::BASE) "/explorer/blocks/" (block.height)} { (block.height) } }
                                td { (shown.time(block.header.time)) }
                                td.mono title=(block.hash) { (short(&block.hash.to_string())) }
                                td.num { (block.txs.len()) }
                                td { (account_link(members, &block.header.proposer)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The search box (on the front page and on a search that found nothing).
pub fn search_form(query: &str, errors: &crate::form::Errors) -> Markup {
    html! {
        form.card role="search" method="get" action={(crate::BASE) "/explorer/search"} {
            (crate::form::Field::text("q", "Search the chain",
                "A block height (42), a transaction id (64 hex characters), an account address (guild1…), or a receipt: the shop's name or address and the receipt id or its hash (Bakery R-1001).",
                query).required().render(errors))
            button type="submit" { "Search" }
        }
    }
}

/// `GET /console/explorer`.
async fn index(State(console): State<Console>, visitor: Visitor) -> Result<Markup, PageError> {
    let ((blocks, members), shown) = tokio::try_join!(
        latest(&console),
        guild_api::shown::Shown::fetch(&console.node)
    )?;
    let body = html! {
        (search_form("", &crate::form::Errors::none()))
        h2 { span.live-dot {} "Latest blocks" }
        div #latest data-live={(crate::BASE) "/explorer/latest"} { (latest_table(&shown, &blocks, &members)) }
        (verify::button())
    };
    Ok(frame(&console, &visitor, "Explorer", body))
}

/// `GET /console/explorer/latest`: the latest blocks' table alone.
async fn latest_fragment(State(console): State<Console>) -> Result<Markup, PageError> {
    let ((blocks, members), shown) = tokio::try_join!(
        latest(&console),
        guild_api::shown::Shown::fetch(&console.node)
    )?;
    Ok(latest_table(&shown, &blocks, &members))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_shortened_in_the_middle() {
        assert_eq!(short("guild1short"), "guild1short");
        assert_eq!(
            short("guild1qqqqqqqqqqqqqqqqqqqqqqqqqqwxyz12"),
            "guild1qqqq…wxyz12"
        );
    }
}
