//! Reversing a receipt: all of it, or the part of a sale refunded.
//!
//! The page sends `POST /v1/refund` with the receipt id and, for a
//! partial refund, the amount (by the same number rule as a sale), and
//! shows exactly what the node answers: its sentence for the clerk
//! (`RefundAnswer.message`) and the points taken back and not.

use super::{Pairs, Shop, TillPage, field, render};
use crate::auth::{Change, SignedIn};
use crate::form::{Errors, Field};
use crate::{Console, PageError, layout};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use guild_api::{RefundAnswer, RefundRequest, SaleStatus};
use maud::{Markup, html};

/// How long a refund waits for its block.
const REFUND_WAIT_MS: u64 = 30_000;

/// The refund form as given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RefundForm {
    /// The receipt id.
    pub receipt: String,
    /// The amount refunded (empty: all that is left).
    pub amount: String,
}

/// The refund section's state.
#[derive(Clone, Debug, Default)]
pub struct RefundSection {
    /// The form as given.
    pub form: RefundForm,
    /// Refused values.
    pub errors: Errors,
    /// A refusal not about one field.
    pub notice: Option<String>,
    /// The node's answer to the last refund.
    pub answer: Option<RefundAnswer>,
}

/// Checks the form and makes the API request.
pub fn check(form: &RefundForm, minor_units: u8) -> Result<RefundRequest, Errors> {
    let mut errors = Errors::none();
    let receipt = super::sale::receipt_id(&form.receipt).map_err(|_| {
        errors.add(
            "refund_receipt",
            "give the receipt id printed on the sale's receipt (1 to 64 characters)",
        )
    });
    let amount = if form.amount.trim().is_empty() {
        Ok(None)
    } else {
        super::sale::money(form.amount.trim(), minor_units)
            .map(Some)
            .map_err(|m| errors.add("refund_amount", m))
    };
    match (receipt, amount) {
        (Ok(receipt), Ok(amount)) => Ok(RefundRequest {
            receipt,
            amount,
            wait: true,
            timeout_ms: Some(REFUND_WAIT_MS),
        }),
        _ => Err(errors),
    }
}

/// The field a node's refusal of a refund belongs beside.
pub fn field_of(code: &str) -> Option<&'static str> {
    match code {
        "unknown_receipt" | "already_reversed" | "bad_request" => Some("refund_receipt"),
        "refund_too_large" | "partial_not_a_sale" => Some("refund_amount"),
        _ => None,
    }
}

fn answer_card(shop: &Shop, answer: &RefundAnswer) -> Markup {
    let shown = &shop.shown;
    html! {
        div #refund-answer role="status" {
            p.notice.ok #refund-message { (answer.message) }
            @if answer.status == SaleStatus::Final {
                table {
                    tbody {
                        @if let Some(refunded) = answer.refunded {
                            tr { td { "Refunded" } td.num { (shown.money(refunded)) } }
                        }
                        @if let Some(points) = answer.points {
                            tr { td { "Points taken back" } td.num #refund-taken { (points.taken.0) } }
                            tr { td { "Could not be taken back (already spent)" } td.num #refund-shortfall { (points.shortfall.0) } }
                        }
                        @if let Some(receipt) = &answer.receipt {
                            tr { td { "Points of the receipt the customer keeps" } td.num { (receipt.remaining.0) " of " (receipt.given.0) } }
                        }
                        @if let Some(height) = answer.height {
                            tr { td { "Final in block" } td.num { (height.0) } }
                        }
                    }
                }
            }
        }
    }
}

/// The refund section of the till page.
pub fn section(user: &SignedIn, shop: &Shop, s: &RefundSection) -> Markup {
    html! {
        section.card #refund aria-labelledby="refund-title" {
            h2 #refund-title { "Reverse a receipt" }
            @if let Some(text) = &s.notice { (layout::notice("error", text)) }
            @if let Some(answer) = &s.answer { (answer_card(shop, answer)) }
            form #refund-form method="post" action={(crate::BASE) "/till/refund"} novalidate {
                (layout::csrf(&user.session))
                (Field::text("refund_receipt", "Receipt id", "The id on the sale's receipt.", &s.form.receipt).required().render(&s.errors))
                (Field::text("refund_amount", "Amount refunded (optional)", "For a partial refund, the part of the sale given back, e.g. 4.00; leave empty to reverse all that is left.", &s.form.amount).inputmode("decimal").render(&s.errors))
                button.danger type="submit" { "Reverse" }
            }
        }
    }
}

/// `POST /console/till/refund`.
pub async fn submit(
    State(console): State<Console>,
    change: Change<Pairs>,
) -> Result<Response, PageError> {
    let shop = Shop::fetch(&console).await?;
    let user = change.user;
    let form = RefundForm {
        receipt: field(&change.form, "refund_receipt").trim().to_string(),
        amount: field(&change.form, "refund_amount").trim().to_string(),
    };
    let mut page = TillPage {
        sale: super::sale::SaleSection::fresh(&shop),
        ..TillPage::default()
    };
    let minor = shop.shown.locale().currency.minor_units;
    let request = match check(&form, minor) {
        Ok(request) => request,
        Err(errors) => {
            page.refund = RefundSection {
                form,
                errors,
                ..RefundSection::default()
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
    match console.node.refund(user.token(), &request).await {
        Ok(answer) => {
            page.refund.answer = Some(answer);
            Ok(render(&console, &user, &shop, &page, StatusCode::OK))
        }
        Err(error) => {
            let message = error.to_string();
            let status = match field_of(error.code()) {
                Some(name) => {
                    page.refund.errors.add(name, message);
                    StatusCode::UNPROCESSABLE_ENTITY
                }
                None => {
                    page.refund.notice = Some(message);
                    PageError::Node(error).status()
                }
            };
            page.refund.form = form;
            Ok(render(&console, &user, &shop, &page, status))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use guild_ledger::types::Cents;

    #[test]
    fn a_refund_is_all_that_is_left_or_a_checked_amount() {
        let full = check(
            &RefundForm {
                receipt: " T-1 ".into(),
                amount: "".into(),
            },
            2,
        )
        .unwrap();
        assert_eq!((full.receipt.as_str(), full.amount), ("T-1", None));
        let part = check(
            &RefundForm {
                receipt: "T-1".into(),
                amount: "4".into(),
            },
            2,
        )
        .unwrap();
        assert_eq!(part.amount, Some(Cents(400)));
        let errors = check(
            &RefundForm {
                receipt: "".into(),
                amount: "4,00".into(),
            },
            2,
        )
        .unwrap_err();
        assert!(errors.get("refund_receipt").is_some());
        assert!(
            errors
                .get("refund_amount")
                .unwrap()
                .contains("for 4.00 write 4.00"),
            "{errors:?}"
        );
        assert_eq!(field_of("refund_too_large"), Some("refund_amount"));
    }
}
