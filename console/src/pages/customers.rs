//! Customers: who buys here, who is slipping away, and one customer's
//! page.
//!
//! - `GET /console/customers`: the search form and this shop's customers
//!   from `GET /v1/insights/customers` (segment, last purchase, spend,
//!   points), at-risk customers first, named from the shop's directory
//!   (`GET /v1/customers`, with the user's admin token).
//! - `GET /console/customers?q=…`: a customer's address opens their page;
//!   other text searches the directory's names and emails (the API's own
//!   rule: at most 100 characters, ignoring case).
//! - `GET /console/customers/{address}`: balance and lots with their
//!   expiry (`GET /v1/accounts/{a}`), tier, history, lifetime value and
//!   activity probability (insights), and the directory entry with its
//!   consents where the shop has one.
//!
//! Personal data (names, emails, consents) is shown only here, to a
//! signed-in user: these routes are not on the explorer.

use crate::auth::{SignedIn, Visitor};
use crate::form::{Errors, Field};
use crate::{BASE, Console, PageError, layout};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use guild_api::customers::{MAX_SEARCH_CHARS, PageQuery};
use guild_api::shown::Shown;
use guild_api::{CustomerEntry, CustomerInsight, CustomerSummary, CustomersQuery, Segment};
use guild_ledger::crypto::Address;
use maud::{Markup, html};
use serde::Deserialize;
use std::collections::BTreeMap;

/// The area's routes.
pub fn routes() -> Router<Console> {
    Router::new()
        .route("/customers", get(index))
        .route("/customers/{address}", get(customer))
}

/// The most customers the list shows.
const LIST: u32 = 500;

/// `?q=` of the customers page.
#[derive(Debug, Default, Deserialize)]
struct Search {
    #[serde(default)]
    q: String,
}

/// What the search box holds: nothing, an address, or directory text.
#[derive(Debug, PartialEq, Eq)]
enum Wanted {
    Nothing,
    Address(Address),
    Text(String),
}

/// Reads the search box with the API's rules: an address when it parses
/// as one (`guild1…`), else text of at most [`MAX_SEARCH_CHARS`]
/// characters.
fn wanted(q: &str) -> Result<Wanted, String> {
    let q = q.trim();
    if q.is_empty() {
        return Ok(Wanted::Nothing);
    }
    if let Ok(address) = q.parse::<Address>() {
        return Ok(Wanted::Address(address));
    }
    if q.starts_with("guild1") && !q.contains(' ') {
        let why = q
            .parse::<Address>()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        return Err(format!("this looks like an address but is not one: {why}"));
    }
    let n = q.chars().count();
    if n > MAX_SEARCH_CHARS {
        return Err(format!(
            "search for at most {MAX_SEARCH_CHARS} characters (this is {n})"
        ));
    }
    Ok(Wanted::Text(q.to_string()))
}

fn customer_url(address: &Address) -> String {
    format!("{BASE}/customers/{address}")
}

/// The order of the list: at-risk customers first, then those who need
/// attention, then the rest as the node gave them (most spend first).
fn urgency(segment: Segment) -> u8 {
    match segment {
        Segment::AtRisk => 0,
        Segment::CantLoseThem => 1,
        Segment::AboutToSleep | Segment::NeedAttention => 2,
        _ => 3,
    }
}

/// `GET /console/customers`.
async fn index(
    State(console): State<Console>,
    user: SignedIn,
    visitor: Visitor,
    Query(search): Query<Search>,
) -> Result<Response, PageError> {
    let mut errors = Errors::none();
    let mut found: Option<Vec<CustomerSummary>> = None;
    match wanted(&search.q) {
        Ok(Wanted::Address(address)) => {
            return Ok(Redirect::to(&customer_url(&address)).into_response());
        }
        Ok(Wanted::Text(text)) => {
            let page = console
                .node
                .customers(
                    user.token(),
                    &PageQuery {
                        search: Some(text),
                        after: None,
                        limit: Some(100),
                    },
                )
                .await;
            match page {
                Ok(page) => found = Some(page.customers),
                Err(error) if error.is_code("bad_request") => errors.add("q", error.to_string()),
                Err(error) => return Err(error.into()),
            }
        }
        Ok(Wanted::Nothing) => {}
        Err(message) => errors.add("q", message),
    }
    let node = &console.node;
    let head = node.head().await?;
    let insights_query = CustomersQuery {
        shop: head.member.map(|a| a.to_string()),
        limit: Some(LIST),
        ..CustomersQuery::default()
    };
    let directory_query = PageQuery {
        limit: Some(500),
        ..PageQuery::default()
    };
    let (shown, insights, directory) = tokio::try_join!(
        Shown::fetch(node),
        node.insights_customers(&insights_query),
        node.customers(user.token(), &directory_query),
    )?;
    let names: BTreeMap<Address, String> = directory
        .customers
        .iter()
        .filter_map(|c| Some((c.address, c.name.as_ref()?.to_string())))
        .collect();
    let mut rows: Vec<&CustomerInsight> = insights.customers.iter().collect();
    rows.sort_by_key(|r| urgency(r.segment));
    let at_risk = rows.iter().filter(|r| r.segment == Segment::AtRisk).count();
    let body = html! {
        form.card method="get" action={(BASE) "/customers"} role="search" {
            (Field::text("q", "Find a customer",
                "Their address (guild1…) opens their page; other text looks for it in the names and emails of the shop's directory.",
                &search.q).render(&errors))
            button type="submit" { "Search" }
        }
        @if let Some(found) = &found {
            h2 { "Directory matches for “" (search.q.trim()) "”" }
            @if found.is_empty() {
                p #no-match { "No one in the directory has that in their name or email." }
            } @else {
                div.table-wrap {
                    table #found {
                        thead { tr { th { "Name" } th { "Email" } th { "Address" } } }
                        tbody {
                            @for c in found {
                                tr {
                                    td { a href=(customer_url(&c.address)) { (c.name.as_ref().map(|n| n.to_string()).unwrap_or_else(|| "(no name)".into())) } }
                                    td { (c.email.as_ref().map(|e| e.to_string()).unwrap_or_default()) }
                                    td.mono { (c.address) }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Customers" }
        p.muted { (insights.customers_total) " customers as of " (insights.as_of) "; "
            (at_risk) " at risk (they used to buy often and have not for a while), listed first." }
        div.table-wrap {
            table #customers {
                thead { tr { th { "Customer" } th { "Segment" } th { "Last purchase" } th.num { "Spend" } th.num { "Balance" } th.num { "Still active" } } }
                tbody {
                    @for r in &rows {
                        tr class=[(r.segment == Segment::AtRisk).then_some("at-risk")] {
                            td { a href=(customer_url(&r.customer)) {
                                (names.get(&r.customer).cloned().unwrap_or_else(|| short(&r.customer))) } }
                            td { (r.segment.label()) }
                            td { (r.last_purchase) }
                            td.num { (shown.money(r.spend)) }
                            td.num { (r.balance.counted()) }
                            td.num { (probability(r.p_alive)) }
                        }
                    }
                }
            }
        }
        @if insights.matching > LIST {
            p.muted { "The " (LIST) " customers with the most spend are listed; search to find the others." }
        }
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = layout::page(
        &visitor,
        console.explorer_only,
        "/customers",
        "Customers",
        body,
    );
    Ok((status, page).into_response())
}

/// An address shortened for a table: `guild1abcd…wxyz`.
fn short(address: &Address) -> String {
    let text = address.to_string();
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= 16 {
        return text;
    }
    let head: String = chars[..10].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

/// A probability as a whole percentage (`–` without the models).
fn probability(p: Option<f64>) -> String {
    p.filter(|p| p.is_finite())
        .map_or_else(|| "–".to_string(), |p| format!("{:.0}%", p * 100.0))
}

/// `GET /console/customers/{address}`.
async fn customer(
    State(console): State<Console>,
    user: SignedIn,
    visitor: Visitor,
    Path(text): Path<String>,
) -> Result<Markup, PageError> {
    let address = text.parse::<Address>().map_err(|e| {
        PageError::NotFound(format!(
            "'{}' is not a customer's address: {e}",
            text.chars().take(80).collect::<String>()
        ))
    })?;
    let node = &console.node;
    let head = node.head().await?;
    let insights_query = CustomersQuery {
        shop: head.member.map(|a| a.to_string()),
        limit: Some(guild_api::insights::MAX_CUSTOMERS_PAGE),
        ..CustomersQuery::default()
    };
    let (shown, account, history, insights) = tokio::try_join!(
        Shown::fetch(node),
        node.account(&address),
        node.history(&address, 20),
        node.insights_customers(&insights_query),
    )?;
    let entry: Option<CustomerEntry> = match node.customer(user.token(), &address).await {
        Ok(entry) => Some(entry),
        Err(error) if error.is_code("unknown_customer") => None,
        Err(error) => return Err(error.into()),
    };
    let insight = insights.customers.iter().find(|c| c.customer == address);
    let title = entry
        .as_ref()
        .and_then(|e| e.name.as_ref())
        .map_or_else(|| short(&address), |n| n.to_string());
    let body = html! {
        p.mono { (address) }
        div.tiles {
            div.card.tile {
                p.muted { "Balance" }
                p.figure-big #balance { (account.balance.counted()) }
                p.muted { "worth " (shown.worth(account.balance)) }
            }
            @if let Some(i) = insight {
                div.card.tile {
                    p.muted { "Tier · segment" }
                    p.figure-big #tier { (i.tier.as_ref().map(|t| t.to_string()).unwrap_or_else(|| "No tier".into())) }
                    p.muted { (i.segment.label()) " (RFM " (i.rfm.r) (i.rfm.f) (i.rfm.m) ")" }
                }
                div.card.tile {
                    p.muted { "Lifetime value (12 months) · still active" }
                    p.figure-big #clv { (i.clv.map_or_else(|| "–".to_string(), |v| shown.money(guild_ledger::types::Cents(v.max(0.0).round() as u64)))) }
                    p.muted { (probability(i.p_alive)) " likely still active"
                        @if !insights.models.available { " (the models need more repeat customers)" } }
                }
            }
        }
        @if let Some(i) = insight {
            p { "Bought " (i.purchases) " times on " (i.purchase_days) " days, from " (i.first_purchase)
                " to " (i.last_purchase) " (" (i.recency_days) " days ago), spending " (shown.money(i.spend))
                "; earned " (i.points_earned.counted()) ", redeemed " (i.points_redeemed.counted()) " here." }
        } @else {
            p.muted { "No purchase at this shop yet." }
        }
        h2 { "Points and when they expire" }
        @if account.lots.is_empty() {
            p.muted { "No points." }
        } @else {
            div.table-wrap {
                table #lots {
                    thead { tr { th { "Issued by" } th.num { "Points" } th { "Usable until" } } }
                    tbody {
                        @for lot in &account.lots {
                            tr {
                                td { (lot.issuer_name.as_ref().map_or_else(|| lot.issuer.to_string(), |n| n.to_string())) }
                                td.num { (lot.amount.counted()) }
                                td { (shown.usable_until(lot.expires_at)) }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Directory entry" }
        (directory(entry.as_ref(), &shown))
        h2 { "History" }
        @if history.is_empty() {
            p.muted { "Nothing on the ledger yet." }
        } @else {
            div.table-wrap {
                table #history {
                    thead { tr { th { "When" } th { "What" } th { "Receipt" } th.num { "Block" } } }
                    tbody {
                        @for h in &history {
                            tr {
                                td { (shown.time(h.time)) }
                                td { (h.kind) }
                                td { (h.receipt_id.clone().unwrap_or_default()) }
                                td.num { (h.height.0) }
                            }
                        }
                    }
                }
            }
        }
        p { a href={(BASE) "/customers"} { "Back to customers" } }
    };
    Ok(layout::page(
        &visitor,
        console.explorer_only,
        "/customers",
        &title,
        body,
    ))
}

/// The shop's directory entry and its consents, or a note that there is
/// none.
fn directory(entry: Option<&CustomerEntry>, shown: &Shown) -> Markup {
    let Some(e) = entry else {
        return html! { p.muted #directory { "This customer is not in the shop's directory (no name, email or consent kept)." } };
    };
    let text = |v: Option<String>| v.unwrap_or_else(|| "–".to_string());
    html! {
        dl #directory {
            dt { "Name" } dd { (text(e.name.as_ref().map(|n| n.to_string()))) }
            dt { "Email" } dd { (text(e.email.as_ref().map(|n| n.to_string()))) }
            dt { "Birthday" } dd { (text(e.birthday.as_ref().map(|n| n.to_string()))) }
            dt { "Note" } dd { (text(e.note.as_ref().map(|n| n.to_string()))) }
            @for purpose in guild_api::Purpose::ALL {
                @let state = e.consent.get(purpose);
                dt { "Consent to " (purpose.as_str()) }
                dd id={"consent-" (purpose.as_str())} {
                    (if state.given { "given" } else { "not given" })
                    @if let Some(change) = &state.last_change {
                        " (" (shown.time(guild_ledger::types::Timestamp(change.at_ms))) ", via " (change.via.as_str()) ")"
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address() -> Address {
        guild_ledger::Keypair::from_secret(&[7; 32]).address()
    }

    #[test]
    fn the_search_box_takes_an_address_or_directory_text() {
        assert_eq!(wanted("  "), Ok(Wanted::Nothing));
        let a = address();
        assert_eq!(wanted(&format!(" {a} ")), Ok(Wanted::Address(a)));
        assert_eq!(wanted("Mrs Lee"), Ok(Wanted::Text("Mrs Lee".into())));
        let long = "x".repeat(101);
        assert_eq!(
            wanted(&long),
            Err("search for at most 100 characters (this is 101)".into())
        );
        let typo = format!("{}x", a);
        let message = wanted(&typo).unwrap_err();
        assert!(
            message.starts_with("this looks like an address but is not one"),
            "{message}"
        );
    }

    #[test]
    fn at_risk_customers_come_first() {
        let mut segments = vec![Segment::Champions, Segment::NeedAttention, Segment::AtRisk];
        segments.sort_by_key(|s| urgency(*s));
        assert_eq!(
            segments,
            vec![Segment::AtRisk, Segment::NeedAttention, Segment::Champions]
        );
    }

    #[test]
    fn addresses_are_shortened_in_tables() {
        let a = address();
        let s = short(&a);
        assert!(
            s.starts_with("guild1") && s.contains('…') && s.chars().count() == 15,
            "{s}"
        );
    }
}
