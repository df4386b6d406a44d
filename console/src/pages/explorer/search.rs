//! The explorer's one search box: what was typed decides where it goes.

use super::{frame, search_form};
use crate::auth::Visitor;
use crate::form::Errors;
use crate::{BASE, Console};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use guild_ledger::crypto::Address;
use guild_ledger::hash::Hash;
use guild_ledger::tx::TxId;
use guild_ledger::types::ReceiptHash;
use serde::Deserialize;

/// `?q=`.
#[derive(Debug, Deserialize)]
pub struct Q {
    #[serde(default)]
    q: String,
}

/// What a query is, before asking the node.
#[derive(Debug, PartialEq, Eq)]
pub enum Query_ {
    /// A block height.
    Height(u64),
    /// 64 hex characters: a transaction id.
    Hash(Hash),
    /// An account.
    Address(Address),
    /// A shop (name or address) and a receipt (id or hash).
    Receipt(String, String),
}

/// Reads a query; the error says what it is not.
pub fn parse(q: &str) -> Result<Query_, String> {
    let q = q.trim();
    if q.is_empty() {
        return Err("type a block height, a transaction id, an address or a receipt".into());
    }
    if let Some((shop, receipt)) = q.split_once(char::is_whitespace) {
        return Ok(Query_::Receipt(
            shop.trim().to_string(),
            receipt.trim().to_string(),
        ));
    }
    if q.bytes().all(|b| b.is_ascii_digit()) {
        return q
            .parse()
            .map(Query_::Height)
            .map_err(|_| format!("{q} is too large for a block height"));
    }
    if let Some(hash) = Hash::from_hex(q) {
        return Ok(Query_::Hash(hash));
    }
    if q.starts_with("guild1") {
        return q
            .parse()
            .map(Query_::Address)
            .map_err(|e| format!("{q} is not an address: {e}"));
    }
    Err(format!(
        "nothing on the chain looks like {:?}: give a block height (42), a transaction id (64 hex characters), an address (guild1…) or a shop and a receipt id (Bakery R-1001)",
        q.chars().take(80).collect::<String>()
    ))
}

/// `GET /console/explorer/search?q=`.
pub async fn search(
    State(console): State<Console>,
    visitor: Visitor,
    Query(Q { q }): Query<Q>,
) -> Response {
    match resolve(&console, &q).await {
        Ok(to) => Redirect::to(&to).into_response(),
        Err(message) => {
            let mut errors = Errors::none();
            errors.add("q", message);
            (
                StatusCode::NOT_FOUND,
                frame(&console, &visitor, "Search", search_form(&q, &errors)),
            )
                .into_response()
        }
    }
}

async fn resolve(console: &Console, q: &str) -> Result<String, String> {
    let node = |e: guild_api::ClientError| e.to_string();
    match parse(q)? {
        Query_::Height(h) => {
            let head = console.node.head().await.map_err(node)?;
            if h == 0 || h > head.height.0 {
                return Err(format!(
                    "there is no block {h}: the chain's blocks are 1 to {}",
                    head.height
                ));
            }
            Ok(format!("{BASE}/explorer/blocks/{h}"))
        }
        Query_::Hash(hash) => match console.node.tx(&TxId(hash)).await.map_err(node)? {
            Some(_) => Ok(format!("{BASE}/explorer/tx/{hash}")),
            None => Err(format!("this node knows no transaction with id {hash}")),
        },
        Query_::Address(a) => Ok(format!("{BASE}/explorer/accounts/{a}")),
        Query_::Receipt(shop, receipt) => {
            let members = console.node.members().await.map_err(node)?;
            let address = match shop.parse::<Address>() {
                Ok(a) => a,
                Err(_) => members
                    .members
                    .iter()
                    .find(|m| m.name.as_str().eq_ignore_ascii_case(&shop))
                    .map(|m| m.address)
                    .ok_or_else(|| format!("no member shop is called {shop:?}"))?,
            };
            let hash = Hash::from_hex(&receipt)
                .map(ReceiptHash)
                .unwrap_or_else(|| ReceiptHash::new(&address, &receipt));
            match console.node.receipt(&address, &hash).await {
                Ok(_) => Ok(format!("{BASE}/explorer/receipts/{address}/{}", hash.0)),
                Err(guild_api::ClientError::Node { status: 404, .. }) => {
                    Err(format!("{shop} has no receipt {receipt} on the chain"))
                }
                Err(e) => Err(e.to_string()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_told_apart() {
        assert_eq!(parse("42"), Ok(Query_::Height(42)));
        assert!(matches!(parse(&"ab".repeat(32)), Ok(Query_::Hash(_))));
        assert_eq!(
            parse("Bakery R-1"),
            Ok(Query_::Receipt("Bakery".into(), "R-1".into()))
        );
        assert!(
            parse("guild1nonsense")
                .unwrap_err()
                .contains("is not an address")
        );
        assert!(
            parse("banana")
                .unwrap_err()
                .contains("nothing on the chain looks like")
        );
        assert!(parse("  ").is_err());
    }
}
