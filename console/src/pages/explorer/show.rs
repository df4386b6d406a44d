//! The explorer's pages of one thing: a block, a transaction, an account,
//! a receipt. Ledger data only.

use super::{account_link, frame, label, short};
use crate::auth::Visitor;
use crate::{Console, PageError};
use axum::extract::{Path, State};
use guild_api::TxAnswer;
use guild_api::describe::describe_with;
use guild_api::shown::Shown;
use guild_ledger::crypto::Address;
use guild_ledger::hash::Hash;
use guild_ledger::tx::TxId;
use guild_ledger::types::{Height, ReceiptHash};
use maud::{Markup, html};

/// A transaction id or hash from a path, or a clear "not found".
pub fn parse_hash(text: &str, what: &str) -> Result<Hash, PageError> {
    Hash::from_hex(text.trim()).ok_or_else(|| {
        PageError::NotFound(format!(
            "{:?} is not a {what}: it is 64 hexadecimal characters",
            text.chars().take(80).collect::<String>()
        ))
    })
}

fn parse_address(text: &str) -> Result<Address, PageError> {
    text.trim().parse::<Address>().map_err(|e| {
        PageError::NotFound(format!(
            "{:?} is not an account address: {e}",
            text.chars().take(80).collect::<String>()
        ))
    })
}

/// `GET /console/explorer/blocks/{height}`.
pub async fn block(
    State(console): State<Console>,
    visitor: Visitor,
    Path(height): Path<String>,
) -> Result<Markup, PageError> {
    let height: u64 = height.trim().parse().map_err(|_| {
        PageError::NotFound(format!("{height:?} is not a block height (a whole number)"))
    })?;
    let (block, members, shown) = tokio::try_join!(
        console.node.block(Height(height)),
        console.node.members(),
        Shown::fetch(&console.node)
    )?;
    let name = |a: &Address| label(&members, a);
    let h = &block.header;
    let body = html! {
        section.card {
            dl #block-header {
                dt { "Height" } dd { (block.height) }
                dt { "Time" } dd { (shown.time(h.time)) }
                dt { "Hash" } dd.mono { (block.hash) }
                dt { "Previous block" } dd.mono {
                    @if height > 1 { a href={(crate::BASE) "/explorer/blocks/" (height - 1)} { (h.prev_hash) } } @else { (h.prev_hash) }
                }
                dt { "Proposer" } dd { (account_link(&members, &h.proposer)) }
                dt { "Transactions root" } dd.mono { (h.tx_root) }
                dt { "State root" } dd.mono { (h.state_root) }
            }
        }
        h2 { "Certificate: round " (block.certificate.round) ", " (block.certificate.signatures.len()) " signers" }
        ul #signers { @for s in &block.certificate.signatures { li { (account_link(&members, &s.voter)) } } }
        h2 { "Transactions (" (block.txs.len()) ")" }
        @if block.txs.is_empty() { p.muted { "This block holds no transaction." } } @else {
            div.table-wrap { table #block-txs {
                thead { tr { th { "Id" } th { "Kind" } th { "Author" } th { "What it does" } } }
                tbody { @for tx in &block.txs { tr {
                    td.mono { a href={(crate::BASE) "/explorer/tx/" (tx.id)} title=(tx.id) { (short(&tx.id.to_string())) } }
                    td { (tx.kind) }
                    td { (account_link(&members, &tx.tx.author)) }
                    td { (describe_with(&tx.tx, &name)) }
                } } }
            } }
        }
    };
    Ok(frame(&console, &visitor, &format!("Block {height}"), body))
}

/// `GET /console/explorer/tx/{id}`.
pub async fn tx(
    State(console): State<Console>,
    visitor: Visitor,
    Path(id): Path<String>,
) -> Result<Markup, PageError> {
    let id = TxId(parse_hash(&id, "transaction id")?);
    let (answer, members, shown) = tokio::try_join!(
        console.node.tx(&id),
        console.node.members(),
        Shown::fetch(&console.node)
    )?;
    let name = |a: &Address| label(&members, a);
    let body = match answer {
        None => {
            return Err(PageError::NotFound(format!(
                "this node knows no transaction {id}"
            )));
        }
        Some(TxAnswer::Pending(_)) => html! {
            p #tx-status { "Waiting in the node's mempool: not in a final block yet." }
        },
        Some(TxAnswer::Final(found)) => html! {
            section.card { dl #tx-fields {
                dt { "Id" } dd.mono { (found.id) }
                dt { "Status" } dd #tx-status { "final" }
                dt { "Block" } dd { a href={(crate::BASE) "/explorer/blocks/" (found.height)} { (found.height) } ", position " (found.index) }
                dt { "Time" } dd { (shown.time(found.time)) }
                dt { "Kind" } dd { (found.kind) }
                dt { "Author" } dd { (account_link(&members, &found.tx.author)) }
                dt { "Nonce" } dd { (found.tx.nonce.0) }
                dt { "What it does" } dd #tx-summary { (describe_with(&found.tx, &name)) }
            } }
            h2 { "As signed" }
            pre.mono { (serde_json::to_string_pretty(&found.tx.body).unwrap_or_default()) }
        },
    };
    Ok(frame(&console, &visitor, "Transaction", body))
}

/// `GET /console/explorer/accounts/{address}`: balance, lots, history.
pub async fn account(
    State(console): State<Console>,
    visitor: Visitor,
    Path(address): Path<String>,
) -> Result<Markup, PageError> {
    let address = parse_address(&address)?;
    let (info, history, members, shown) = tokio::try_join!(
        console.node.account(&address),
        console.node.history(&address, 50),
        console.node.members(),
        Shown::fetch(&console.node)
    )?;
    let name = |a: &Address| label(&members, a);
    let body = html! {
        section.card {
            p.mono { (address) }
            p { "Balance " strong #balance { (info.balance.counted()) } " at height " (info.height) "." }
        }
        h2 { "Lots" }
        @if info.lots.is_empty() { p.muted { "No points held." } } @else {
            table #lots { thead { tr { th { "Issuer" } th.num { "Points" } th { "Usable until" } } }
                tbody { @for lot in &info.lots { tr {
                    td { (account_link(&members, &lot.issuer)) } td.num { (lot.amount) } td { (shown.usable_until(lot.expires_at)) }
                } } } }
        }
        h2 { "History (latest 50)" }
        @if history.is_empty() { p.muted { "No transaction names this account." } } @else {
            div.table-wrap { table #history {
                thead { tr { th { "Time" } th { "Block" } th { "Kind" } th { "What it does" } } }
                tbody { @for e in &history { tr {
                    td { (shown.time(e.time)) }
                    td { a href={(crate::BASE) "/explorer/tx/" (e.id)} { (e.height) "." (e.index) } }
                    td { (e.kind) }
                    td { (describe_with(&e.tx, &name)) }
                } } }
            } }
        }
    };
    Ok(frame(&console, &visitor, "Account", body))
}

/// `GET /console/explorer/receipts/{shop}/{hash}`.
pub async fn receipt(
    State(console): State<Console>,
    visitor: Visitor,
    Path((shop, hash)): Path<(String, String)>,
) -> Result<Markup, PageError> {
    let shop = parse_address(&shop)?;
    let hash = ReceiptHash(parse_hash(&hash, "receipt hash")?);
    let (state, members) =
        tokio::try_join!(console.node.receipt(&shop, &hash), console.node.members())?;
    let body = html! {
        section.card { dl #receipt {
            dt { "Shop" } dd { (account_link(&members, &shop)) }
            dt { "Receipt hash" } dd.mono { (hash.0) }
            dt { "Points given" } dd { (state.given.counted()) }
            dt { "Points taken back" } dd { (state.taken.counted()) }
            dt { "Still held by the customer" } dd { (state.remaining.counted()) }
        } }
    };
    Ok(frame(&console, &visitor, "Receipt", body))
}
