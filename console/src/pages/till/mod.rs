//! The Till: what a clerk at the counter does all day, on one page.
//!
//! - **Sale** ([`sale`]): the amount paid (and, optionally, the parts of it
//!   in categories), the customer's address (pasted, or scanned from the
//!   QR code the customer's wallet shows), a receipt id. *Preview* asks the
//!   node what the sale would earn, line by line (`POST /v1/sale/preview`;
//!   `till.js` asks again as the clerk types); *Issue* makes the sale
//!   (`POST /v1/sale`, answered once final) and shows a printable receipt
//!   with the customer's new balance (`GET /v1/accounts/{a}`).
//! - **Reverse a receipt** ([`refund`]): the receipt id and, for a partial
//!   refund, the amount refunded (`POST /v1/refund`); the page shows the
//!   node's own sentence and figures.
//! - **Redemption** ([`redeem`]): the shop never signs a customer's
//!   redemption. The page shows a redemption request
//!   (`guild:redeem?shop=…&points=…&ref=…`, also as a QR code) that the
//!   customer's wallet signs, and takes the signed redemption back (pasted,
//!   or read from the wallet's file), checks that it is a redemption at
//!   this shop for the points asked, and submits it (`POST /v1/tx`).
//!
//! Every action is a CSRF-checked `POST` made with the signed-in user's
//! admin token (which has the `sale` scope); every value is checked with
//! the rule the CLI and the API use, and a refused value comes back beside
//! its field with status 422. The requests shown and not yet redeemed are
//! kept in the page's own form (hidden fields), so nothing is kept on the
//! server between requests.

pub mod redeem;
pub mod refund;
pub mod sale;

use crate::auth::{SignedIn, Visitor};
use crate::{Console, PageError, assets, layout};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use guild_api::shown::Shown;
use guild_ledger::crypto::Address;
use guild_ledger::types::{ChainId, ShopName};
use maud::{Markup, html};

/// The area's path under [`crate::BASE`].
pub const AREA: &str = "/till";

/// The area's routes.
pub fn routes() -> Router<Console> {
    Router::new()
        .route("/till", get(index))
        .route("/till/sale", post(sale::submit))
        .route("/till/sale/preview", post(sale::preview_fragment))
        .route("/till/refund", post(refund::submit))
        .route("/till/redeem/request", post(redeem::request))
        .route("/till/redeem/submit", post(redeem::submit))
}

/// What every till page needs from the node: this node's shop, the
/// network, and how money and dates are shown.
#[derive(Clone, Debug)]
pub struct Shop {
    /// The shop's address.
    pub address: Address,
    /// Its registered name.
    pub name: ShopName,
    /// The network's id.
    pub chain_id: ChainId,
    /// Currency, time zone and settlement rate.
    pub shown: Shown,
}

impl Shop {
    /// Asks the node (head, members, genesis and parameters). A node
    /// without a shop key (an observer) has no till.
    pub async fn fetch(console: &Console) -> Result<Shop, PageError> {
        let (head, members, shown) = tokio::try_join!(
            console.node.head(),
            console.node.members(),
            Shown::fetch(&console.node)
        )?;
        let address = head.member.ok_or_else(|| {
            PageError::NotFound(
                "this node is an observer: it has no shop key, so it has no till (open the console \
                 of a member shop's node)"
                    .into(),
            )
        })?;
        let name = members
            .members
            .iter()
            .find(|m| m.address == address)
            .map(|m| m.name.clone())
            .ok_or_else(|| {
                PageError::NotFound(format!(
                    "this node's shop {address} is not a member of the network (any more)"
                ))
            })?;
        Ok(Shop {
            address,
            name,
            chain_id: head.chain_id,
            shown,
        })
    }
}

/// The state of the whole till page: each section's form as given, its
/// errors, and what the last action answered.
#[derive(Debug, Default)]
pub struct TillPage {
    /// The sale section.
    pub sale: sale::SaleSection,
    /// The refund section.
    pub refund: refund::RefundSection,
    /// The redemption section.
    pub redeem: redeem::RedeemSection,
}

/// The page as a visitor of the signed-in user's session.
fn visitor(user: &SignedIn) -> Visitor {
    Visitor {
        session: Some((user.id.clone(), user.session.clone())),
        path: format!("{}{AREA}", crate::BASE),
    }
}

/// Renders the till page with `status` (422 when a value was refused).
pub fn render(
    console: &Console,
    user: &SignedIn,
    shop: &Shop,
    page: &TillPage,
    status: StatusCode,
) -> Response {
    let body = html! {
        p.muted.no-print { "Selling as " strong { (shop.name) } " (" span.mono { (shop.address) } "). "
            "Points are worth " (shop.shown.rate()) " between shops." }
        (sale::section(user, shop, &page.sale))
        div.grid.no-print {
            (refund::section(user, shop, &page.refund))
        }
        (redeem::section(user, shop, &page.redeem))
        (assets::script("till.js"))
    };
    let markup: Markup = layout::page(&visitor(user), console.explorer_only, AREA, "Till", body);
    (status, markup).into_response()
}

/// `GET /console/till`: the empty till, with a fresh receipt id and
/// nothing previewed.
async fn index(State(console): State<Console>, user: SignedIn) -> Result<Response, PageError> {
    let shop = Shop::fetch(&console).await?;
    let page = TillPage {
        sale: sale::SaleSection::fresh(&shop),
        ..TillPage::default()
    };
    Ok(render(&console, &user, &shop, &page, StatusCode::OK))
}

/// `n` random bytes as lower-case hex, for fresh receipt ids and request
/// references.
pub(crate) fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    if getrandom::fill(&mut bytes).is_err() {
        // Without randomness an id is still made from the clock; the node
        // refuses a receipt id used twice, so nothing is sold twice.
        let now = guild_os::clock::now_ms().to_be_bytes();
        for (b, t) in bytes.iter_mut().zip(now.iter().rev()) {
            *b = *t;
        }
    }
    hex::encode(bytes)
}

/// A form's fields as name/value pairs, in order (repeated names kept).
pub type Pairs = Vec<(String, String)>;

/// The value of the field `name` (empty if absent).
pub(crate) fn field<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

/// A multi-line text field, shaped like [`crate::form::Field`]'s.
pub(crate) fn textarea(
    name: &str,
    label: &str,
    help: &str,
    value: &str,
    errors: &crate::form::Errors,
) -> Markup {
    let id = format!("f-{name}");
    let help_id = format!("{id}-help");
    let error_id = format!("{id}-error");
    let error = errors.get(name);
    let described = match error {
        Some(_) => format!("{help_id} {error_id}"),
        None => help_id.clone(),
    };
    html! {
        div class={"field" @if error.is_some() { " invalid" }} {
            label for=(id) { (label) }
            textarea id=(id) name=(name) rows="4" spellcheck="false"
                aria-describedby=(described) aria-invalid=[error.map(|_| "true")] { (value) }
            p.help id=(help_id) { (help) }
            @if let Some(message) = error {
                p.field-error id=(error_id) role="alert" { (message) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_found_by_name_and_missing_ones_are_empty() {
        let pairs: Pairs = vec![
            ("amount".into(), "12.50".into()),
            ("amount".into(), "later".into()),
        ];
        assert_eq!(field(&pairs, "amount"), "12.50");
        assert_eq!(field(&pairs, "customer"), "");
        assert_eq!(random_hex(4).len(), 8);
        assert_ne!(random_hex(8), random_hex(8));
    }

    #[test]
    fn a_textarea_shows_its_error_and_escapes_its_value() {
        let mut errors = crate::form::Errors::none();
        errors.add("signed", "not hex");
        let html =
            textarea("signed", "Signed", "Paste it.", "</textarea><b>", &errors).into_string();
        assert!(html.contains("&lt;/textarea&gt;&lt;b&gt;"), "{html}");
        assert!(
            html.contains(r#"id="f-signed-error" role="alert">not hex"#),
            "{html}"
        );
        assert!(html.contains(r#"aria-invalid="true""#), "{html}");
    }
}
