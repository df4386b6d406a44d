//! The sale: the form, its checks, the preview and the receipt.
//!
//! The form is read as name/value pairs: `amount`, `customer`, `receipt`,
//! and category rows `cat1`/`amt1`, `cat2`/`amt2`, … (a row with neither
//! filled in is ignored). [`check`] turns it into the API's
//! [`SaleRequest`] with the rules `guild shop sale` applies: the amount by
//! the one number rule ([`guild_ledger::programme::parse_decimal`], a dot
//! for decimals), categories by [`Category::new`], the address by its
//! parser, the basket by [`Basket::validate`], the receipt id as the node
//! takes it (1 to 64 printable characters).

use super::{Pairs, Shop, TillPage, field, render};
use crate::auth::{Change, SignedIn};
use crate::form::{Errors, Field};
use crate::{Console, PageError, layout};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use guild_api::shown::Shown;
use guild_api::{SaleAnswer, SaleItem, SaleRequest, SaleStatus};
use guild_ledger::crypto::Address;
use guild_ledger::programme::evaluate::{Limit, Outcome};
use guild_ledger::programme::rule::MAX_CATEGORIES;
use guild_ledger::programme::{Basket, BasketLine, Breakdown, parse_decimal};
use guild_ledger::types::{Category, Cents, Points, Timestamp};
use maud::{Markup, html};

/// Category rows shown when the clerk has filled in fewer.
const MIN_ROWS: usize = 3;

/// The longest receipt id the node takes, in bytes.
pub const MAX_RECEIPT_LEN: usize = 64;

/// How long an issued sale waits for its block (the node's longest wait
/// is 60 s).
const SALE_WAIT_MS: u64 = 30_000;

/// The sale form as the clerk filled it in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SaleForm {
    /// The amount paid, as typed.
    pub amount: String,
    /// The customer's address, as pasted or scanned.
    pub customer: String,
    /// The receipt id.
    pub receipt: String,
    /// Category rows (category, amount), as typed.
    pub items: Vec<(String, String)>,
}

impl SaleForm {
    /// Reads the form's fields.
    pub fn from_pairs(pairs: &Pairs) -> SaleForm {
        let mut items = Vec::new();
        for row in 1..=MAX_CATEGORIES {
            let category = field(pairs, &format!("cat{row}")).trim();
            let amount = field(pairs, &format!("amt{row}")).trim();
            items.push((category.to_string(), amount.to_string()));
        }
        while items
            .last()
            .is_some_and(|(c, a)| c.is_empty() && a.is_empty())
        {
            items.pop();
        }
        SaleForm {
            amount: field(pairs, "amount").trim().to_string(),
            customer: field(pairs, "customer").trim().to_string(),
            receipt: field(pairs, "receipt").trim().to_string(),
            items,
        }
    }
}

/// An amount of money typed by a person, with the CLI's message.
pub fn money(text: &str, minor_units: u8) -> Result<Cents, String> {
    parse_decimal(text, minor_units)
        .map(Cents)
        .map_err(|e| format!("\"{text}\" is not an amount of money: {e}"))
}

/// A receipt id as the node takes it.
pub fn receipt_id(text: &str) -> Result<String, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(
            "give the till's receipt id (the form made one up; any 1 to 64 characters)".into(),
        );
    }
    if text.len() > MAX_RECEIPT_LEN {
        return Err(format!(
            "the receipt id is {} bytes long; it may have at most {MAX_RECEIPT_LEN}",
            text.len()
        ));
    }
    if text.chars().any(char::is_control) {
        return Err("the receipt id may not contain control characters".into());
    }
    Ok(text.to_string())
}

/// The customer's address, as pasted or scanned (a QR code may carry it
/// in capitals, or behind `guild:`).
pub fn customer(text: &str, shop: &Address) -> Result<Address, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("give the customer's address (guild1…): paste it, or scan the QR code their wallet shows".into());
    }
    let text = text.strip_prefix("guild:").unwrap_or(text);
    let address: Address = text
        .parse()
        .map_err(|e| format!("this is not a customer's address: {e}"))?;
    if &address == shop {
        return Err(
            "this is the shop's own address: a shop cannot sell to itself; give the customer's"
                .into(),
        );
    }
    Ok(address)
}

/// Checks the form as `guild shop sale` would and makes the API request;
/// else the message for each refused field.
pub fn check(form: &SaleForm, shop: &Address, minor_units: u8) -> Result<SaleRequest, Errors> {
    let mut errors = Errors::none();
    let amount = money(&form.amount, minor_units).map_err(|m| errors.add("amount", m));
    let customer = customer(&form.customer, shop).map_err(|m| errors.add("customer", m));
    let receipt = receipt_id(&form.receipt).map_err(|m| errors.add("receipt", m));
    let mut lines = Vec::new();
    for (i, (category, value)) in form.items.iter().enumerate() {
        let row = i + 1;
        if category.is_empty() && value.is_empty() {
            continue;
        }
        let category = match Category::new(category) {
            Ok(c) => Some(c),
            Err(e) if category.is_empty() => {
                let _ = e;
                errors.add(
                    &format!("cat{row}"),
                    "give the category of this amount, e.g. coffee",
                );
                None
            }
            Err(e) => {
                errors.add(
                    &format!("cat{row}"),
                    format!("category \"{category}\": {e}"),
                );
                None
            }
        };
        let value = if value.is_empty() {
            errors.add(
                &format!("amt{row}"),
                "give the amount spent in this category, e.g. 3.20",
            );
            None
        } else {
            money(value, minor_units)
                .map_err(|m| errors.add(&format!("amt{row}"), m))
                .ok()
        };
        if let (Some(category), Some(amount)) = (category, value) {
            lines.push(BasketLine { category, amount });
        }
    }
    let (Ok(amount), Ok(customer), Ok(receipt)) = (amount, customer, receipt) else {
        return Err(errors);
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    let basket = Basket::new(amount, lines);
    if let Err(e) = basket.validate() {
        errors.add("amount", format!("the sale is not valid: {e}"));
        return Err(errors);
    }
    Ok(SaleRequest {
        customer: customer.to_string(),
        amount: basket.amount,
        items: basket
            .items
            .into_iter()
            .map(|l| SaleItem {
                category: l.category,
                amount: l.amount,
            })
            .collect(),
        receipt: Some(receipt),
        wait: true,
        timeout_ms: Some(SALE_WAIT_MS),
    })
}

/// The field a node's refusal of a sale belongs beside, by its code.
pub fn field_of(code: &str) -> Option<&'static str> {
    match code {
        "bad_address" => Some("customer"),
        "duplicate_receipt" => Some("receipt"),
        "invalid_basket" | "no_earn_rule" | "daily_cap_exceeded" | "below_minimum" => {
            Some("amount")
        }
        _ => None,
    }
}

/// A sale made: what the receipt shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// The node's answer.
    pub answer: SaleAnswer,
    /// The customer.
    pub customer: Address,
    /// The amount paid.
    pub amount: Cents,
    /// The customer's balance after the sale, if the node said.
    pub balance: Option<Points>,
    /// When it was made.
    pub time: Timestamp,
}

/// The sale section's state.
#[derive(Clone, Debug, Default)]
pub struct SaleSection {
    /// The form as given.
    pub form: SaleForm,
    /// Refused values.
    pub errors: Errors,
    /// A message above the form (`kind`, text).
    pub notice: Option<(&'static str, String)>,
    /// The last preview.
    pub preview: Option<SaleAnswer>,
    /// The last sale made.
    pub receipt: Option<Receipt>,
}

impl SaleSection {
    /// An empty form with a fresh receipt id.
    pub fn fresh(shop: &Shop) -> SaleSection {
        SaleSection {
            form: SaleForm {
                receipt: new_receipt_id(&shop.shown, Timestamp(guild_os::clock::now_ms())),
                ..SaleForm::default()
            },
            ..SaleSection::default()
        }
    }
}

/// A fresh receipt id: `T-` the local date and 8 random hex digits
/// (`T-20261202-1f3a9c0e`).
pub fn new_receipt_id(shown: &Shown, now: Timestamp) -> String {
    let date: String = shown
        .date(now)
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    format!("T-{date}-{}", super::random_hex(4))
}

/// The lines of a breakdown, for people: (what, points).
pub fn breakdown_rows(b: &Breakdown, shown: &Shown) -> Vec<(String, String)> {
    let mut rows = vec![(
        format!(
            "Spent {} ({} earns points)",
            shown.money(b.amount),
            shown.money(b.eligible)
        ),
        String::new(),
    )];
    for part in &b.categories {
        if part.multiplier.0 != 1000 {
            let name = part
                .category
                .as_ref()
                .map_or("uncategorised".to_string(), |c| c.to_string());
            rows.push((
                format!(
                    "{name}: {} at {}",
                    shown.money(part.amount),
                    part.multiplier
                ),
                String::new(),
            ));
        }
    }
    if let Some(min) = b.below_minimum {
        rows.push((
            format!("Below the minimum spend of {}", shown.money(min)),
            "0".into(),
        ));
    }
    rows.push((
        format!("Base (rule v{})", b.rule_version),
        b.base.0.to_string(),
    ));
    if let Some(t) = &b.tier {
        rows.push((
            format!(
                "Tier {} {} ({} earned in the window)",
                t.name,
                t.multiplier,
                t.earned_in_window.counted()
            ),
            format!("+{}", t.points.0),
        ));
    }
    for c in &b.campaigns {
        let name = format!("Campaign “{}”", c.name);
        match c.outcome {
            Outcome::Given => rows.push((name, format!("+{}", c.points.0))),
            Outcome::Limited(limit) => rows.push((
                format!("{name} (limited: {})", limit_text(limit)),
                format!("+{}", c.points.0),
            )),
            Outcome::NotGiven(why) => rows.push((format!("{name}: {}", why.text()), "0".into())),
        }
    }
    if let Some(cap) = &b.capped {
        rows.push((
            format!("Cap of {} a sale", cap.cap.counted()),
            format!("-{}", cap.cut.0),
        ));
    }
    rows.push(("Total".into(), b.total.counted().to_string()));
    rows
}

fn limit_text(limit: Limit) -> &'static str {
    match limit {
        Limit::Budget => "the last of its budget",
        Limit::CustomerPoints => "the customer's limit for the period",
        Limit::SaleCap => "the shop's cap per sale",
    }
}

/// The preview's table (also the fragment `till.js` fetches).
pub fn preview_table(answer: &SaleAnswer, shown: &Shown) -> Markup {
    html! {
        p #preview-total { "This sale earns " strong { (answer.total.counted()) } " now:" }
        table.breakdown {
            tbody {
                @for (what, points) in breakdown_rows(&answer.breakdown, shown) {
                    tr { td { (what) } td.num { (points) } }
                }
            }
        }
    }
}

fn receipt_card(shop: &Shop, receipt: &Receipt) -> Markup {
    let answer = &receipt.answer;
    let shown = &shop.shown;
    html! {
        section.card #receipt aria-labelledby="receipt-title" {
            h2 #receipt-title { "Receipt" }
            @if answer.status == SaleStatus::Pending {
                (layout::notice("info", "The sale is signed and waiting for a block: its points reach the customer when it is final (look for it in the explorer)."))
            }
            div.receipt {
                p { strong { (shop.name) } }
                p { (shown.time(receipt.time)) }
                p { "Receipt " span #receipt-id { (answer.receipt.as_deref().unwrap_or("")) } }
                p { "Amount " span #receipt-amount { (shown.money(receipt.amount)) } }
                p { "Points " span #receipt-points { (answer.total.counted()) } }
                p { "Customer " span.mono { (receipt.customer) } }
                @if let Some(balance) = receipt.balance {
                    p { "New balance " span #receipt-balance { (balance.counted()) } " (worth " (shown.worth(balance)) ")" }
                }
                @if let Some(height) = answer.height {
                    p.muted { "Final in block " (height.0) }
                }
            }
            p.no-print { button.secondary type="button" data-print { "Print" } }
        }
    }
}

/// The sale section of the till page.
pub fn section(user: &SignedIn, shop: &Shop, s: &SaleSection) -> Markup {
    let symbol_help = format!(
        "What the customer paid, in {} with a dot for decimals, e.g. 12.50.",
        shop.shown.locale().currency.code
    );
    let rows = s.form.items.len().clamp(MIN_ROWS, MAX_CATEGORIES);
    let errors = &s.errors;
    html! {
        @if let Some(receipt) = &s.receipt { (receipt_card(shop, receipt)) }
        section.card.no-print #sale aria-labelledby="sale-title" {
            h2 #sale-title { "Sale" }
            @if let Some((kind, text)) = &s.notice { (layout::notice(kind, text)) }
            form #sale-form method="post" action={(crate::BASE) "/till/sale"} novalidate {
                (layout::csrf(&user.session))
                (Field::text("amount", "Amount", &symbol_help, &s.form.amount).inputmode("decimal").required().render(errors))
                (Field::text("customer", "Customer's address", "Paste the address (guild1…) from the customer's wallet, or scan the QR code it shows.", &s.form.customer).required().render(errors))
                p.no-print { button.secondary #scan type="button" hidden { "Scan QR code" } }
                div #scanner hidden {
                    video #scan-video playsinline muted {}
                    p.help #scan-status role="status" {}
                    button.secondary #scan-stop type="button" { "Stop scanning" }
                }
                (Field::text("receipt", "Receipt id", "The till's id for this sale (made up fresh; change it to your till's own). A refund names it; the same id never earns twice.", &s.form.receipt).required().render(errors))
                details open[s.form.items.iter().any(|(c, a)| !c.is_empty() || !a.is_empty())] {
                    summary { "Categories (optional)" }
                    p.help { "The parts of the amount spent in categories your rules reward (e.g. coffee 3.20); the rest counts as uncategorised." }
                    @for row in 1..=rows {
                        @let (category, amount) = s.form.items.get(row - 1).cloned().unwrap_or_default();
                        div.grid.category-row {
                            (Field::text(&format!("cat{row}"), &format!("Category {row}"), "Lower-case letters, digits and '-'.", &category).render(errors))
                            (Field::text(&format!("amt{row}"), &format!("Amount in category {row}"), "Part of the amount above.", &amount).inputmode("decimal").render(errors))
                        }
                    }
                }
                div #sale-preview aria-live="polite" data-preview={(crate::BASE) "/till/sale/preview"} {
                    @if let Some(preview) = &s.preview { (preview_table(preview, &shop.shown)) }
                }
                p {
                    button.secondary type="submit" name="action" value="preview" { "Preview" }
                    " "
                    button type="submit" name="action" value="issue" { "Issue" }
                }
            }
        }
    }
}

/// `POST /console/till/sale`: `action=preview` shows what the sale
/// would earn; `action=issue` makes it and shows the receipt.
pub async fn submit(
    State(console): State<Console>,
    change: Change<Pairs>,
) -> Result<Response, PageError> {
    let shop = Shop::fetch(&console).await?;
    let user = change.user;
    let issue = field(&change.form, "action") == "issue";
    let form = SaleForm::from_pairs(&change.form);
    let mut page = TillPage::default();
    let minor = shop.shown.locale().currency.minor_units;
    let request = match check(&form, &shop.address, minor) {
        Ok(request) => request,
        Err(errors) => {
            page.sale = SaleSection {
                form,
                errors,
                ..SaleSection::default()
            };
            return Ok(render(
                &console,
                &user,
                &shop,
                &page,
                StatusCode::UNPROCESSABLE_ENTITY,
            ));
        }
    };
    let answer = if issue {
        console.node.sale(user.token(), &request).await
    } else {
        console.node.sale_preview(user.token(), &request).await
    };
    let answer = match answer {
        Ok(answer) => answer,
        Err(error) => {
            let mut errors = Errors::none();
            let message = error.to_string();
            let status = match field_of(error.code()) {
                Some(name) => {
                    errors.add(name, message);
                    StatusCode::UNPROCESSABLE_ENTITY
                }
                None => {
                    page.sale.notice = Some(("error", message));
                    PageError::Node(error).status()
                }
            };
            page.sale.form = form;
            page.sale.errors = errors;
            return Ok(render(&console, &user, &shop, &page, status));
        }
    };
    if !issue {
        page.sale = SaleSection {
            form,
            preview: Some(answer),
            ..SaleSection::default()
        };
        return Ok(render(&console, &user, &shop, &page, StatusCode::OK));
    }
    let customer: Address = match request.customer.parse() {
        Ok(address) => address,
        Err(_) => return Err(PageError::BadForm("the customer's address changed".into())),
    };
    let balance = match answer.status {
        SaleStatus::Final => console
            .node
            .account(&customer)
            .await
            .ok()
            .map(|a| a.balance),
        _ => None,
    };
    page.sale = SaleSection::fresh(&shop);
    page.sale.notice = Some((
        "ok",
        format!(
            "Sale of {} issued: {} to the customer.",
            shop.shown.money(request.amount),
            answer.total.counted()
        ),
    ));
    page.sale.receipt = Some(Receipt {
        answer,
        customer,
        amount: request.amount,
        balance,
        time: Timestamp(guild_os::clock::now_ms()),
    });
    Ok(render(&console, &user, &shop, &page, StatusCode::OK))
}

/// `POST /console/till/sale/preview`: the preview table alone, for
/// `till.js` as the clerk types (the messages instead when a value is
/// refused, with 422).
pub async fn preview_fragment(
    State(console): State<Console>,
    change: Change<Pairs>,
) -> Result<Response, PageError> {
    let shop = Shop::fetch(&console).await?;
    let form = SaleForm::from_pairs(&change.form);
    let minor = shop.shown.locale().currency.minor_units;
    let request = match check(&form, &shop.address, minor) {
        Ok(request) => request,
        Err(_) => {
            let html = html! { p.muted { "The preview shows once the amount and the customer's address are complete." } };
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, html).into_response());
        }
    };
    match console
        .node
        .sale_preview(change.user.token(), &request)
        .await
    {
        Ok(answer) => Ok(preview_table(&answer, &shop.shown).into_response()),
        Err(error) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            html! { p.field-error role="alert" { (error.to_string()) } },
        )
            .into_response()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use guild_ledger::Keypair;
    use guild_ledger::programme::Locale;

    fn shop() -> Address {
        Keypair::from_secret(&[1; 32]).address()
    }

    fn alice() -> Address {
        Keypair::from_secret(&[9; 32]).address()
    }

    fn pairs(list: &[(&str, &str)]) -> Pairs {
        list.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn a_good_form_becomes_the_api_request() {
        let form = SaleForm::from_pairs(&pairs(&[
            ("amount", " 12.50 "),
            ("customer", &alice().to_string().to_uppercase()),
            ("receipt", "T-1"),
            ("cat1", "pastry"),
            ("amt1", "2"),
            ("cat2", "coffee"),
            ("amt2", "3.20"),
            ("cat3", ""),
            ("amt3", ""),
        ]));
        assert_eq!(form.items.len(), 2, "empty rows at the end are dropped");
        let request = check(&form, &shop(), 2).unwrap();
        assert_eq!(request.amount, Cents(1250));
        assert_eq!(request.customer, alice().to_string());
        assert_eq!(request.receipt.as_deref(), Some("T-1"));
        let items: Vec<(String, u64)> = request
            .items
            .iter()
            .map(|i| (i.category.to_string(), i.amount.0))
            .collect();
        assert_eq!(
            items,
            [("coffee".into(), 320), ("pastry".into(), 200)],
            "sorted as the ledger keeps them"
        );
        assert!(request.wait);
    }

    #[test]
    fn bad_values_are_named_beside_their_fields() {
        let form = SaleForm::from_pairs(&pairs(&[
            ("amount", "12,50"),
            ("customer", "guild1nope"),
            ("receipt", ""),
            ("cat1", "Coffee"),
            ("amt1", "1"),
            ("amt2", "2"),
        ]));
        let errors = check(&form, &shop(), 2).unwrap_err();
        assert_eq!(
            errors.get("amount"),
            Some(
                "\"12,50\" is not an amount of money: for 12.50 write 12.50; for 1250 write 1250 \
                 (no thousands separators, and a dot for decimals): write digits with a dot \
                 before at most 2 decimals, such as 12.50"
            )
        );
        assert!(
            errors
                .get("customer")
                .unwrap()
                .starts_with("this is not a customer's address"),
            "{errors:?}"
        );
        assert!(errors.get("receipt").unwrap().contains("receipt id"));
        assert!(
            errors.get("cat1").unwrap().contains("category \"Coffee\""),
            "{errors:?}"
        );
        assert_eq!(
            errors.get("cat2"),
            Some("give the category of this amount, e.g. coffee")
        );
        assert_eq!(errors.get("amt1"), None);
    }

    #[test]
    fn the_basket_and_the_shop_itself_are_checked() {
        let mut form = SaleForm {
            amount: "5".into(),
            customer: alice().to_string(),
            receipt: "T-2".into(),
            items: vec![("coffee".into(), "6".into())],
        };
        let errors = check(&form, &shop(), 2).unwrap_err();
        assert!(
            errors
                .get("amount")
                .unwrap()
                .starts_with("the sale is not valid"),
            "{errors:?}"
        );
        form.items.clear();
        form.customer = format!("guild:{}", shop());
        let errors = check(&form, &shop(), 2).unwrap_err();
        assert!(
            errors
                .get("customer")
                .unwrap()
                .contains("cannot sell to itself")
        );
        form.amount = "0".into();
        form.customer = alice().to_string();
        assert!(
            check(&form, &shop(), 2)
                .unwrap_err()
                .get("amount")
                .is_some()
        );
        assert!(
            receipt_id(&"x".repeat(65))
                .unwrap_err()
                .contains("at most 64")
        );
        assert!(receipt_id("a\u{7}").is_err());
    }

    #[test]
    fn a_breakdown_reads_line_by_line() {
        let shown = Shown::new(Locale::default(), 1);
        let breakdown = Breakdown {
            rule_version: 2,
            amount: Cents(1250),
            eligible: Cents(1250),
            categories: vec![],
            below_minimum: None,
            base: Points(125),
            tier: None,
            campaigns: vec![],
            capped: None,
            referrer: None,
            total: Points(125),
        };
        let rows = breakdown_rows(&breakdown, &shown);
        assert_eq!(rows[0].0, "Spent £12.50 (£12.50 earns points)");
        assert_eq!(rows[1], ("Base (rule v2)".into(), "125".into()));
        assert_eq!(
            rows.last().unwrap(),
            &("Total".to_string(), "125 points".to_string())
        );
        assert!(new_receipt_id(&shown, Timestamp(1_796_113_800_000)).starts_with("T-20261201-"));
        assert_eq!(field_of("bad_address"), Some("customer"));
        assert_eq!(field_of("busy"), None);
    }
}
