//! The Settlement area: what this shop is owed and owes for points
//! redeemed across shops, the group's netted payments, and the form with
//! which a creditor acknowledges that a debtor paid.
//!
//! Debts come from `GET /v1/settlement` (points, and their worth at the
//! group's settlement rate); amounts are shown in money by
//! `guild_api::shown::Shown`. The netted plan is the audit's
//! (`guild_audit::fewest_payments`): few payments that clear every
//! shop's net position. Acknowledging signs `TxBody::Settle` as this shop
//! (as `guild shop settle` does) after the same checks with the same
//! messages: a whole number of points above zero, another shop, and no more
//! than it owes.

use crate::auth::{Change, SignedIn, Visitor};
use crate::form::{Errors, Field};
use crate::pages::programme::sign_as_shop;
use crate::{Console, PageError, layout};
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use guild_api::shown::Shown;
use guild_api::{DebtInfo, Settlement};
use guild_ledger::crypto::Address;
use guild_ledger::tx::TxBody;
use guild_ledger::types::Points;
use maud::{Markup, html};
use serde::Deserialize;
use std::collections::BTreeMap;

/// The area's routes.
pub fn routes() -> Router<Console> {
    Router::new()
        .route("/settlement", get(index))
        .route("/settlement/live", get(live))
        .route("/settlement/settle", post(settle))
}

/// Why an acknowledgement is refused before anything is signed (the
/// messages of `guild shop settle`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SettleError {
    /// Not a whole number of points.
    #[error("{text:?} is not a valid number of points: {reason}")]
    InvalidPoints {
        /// What was typed.
        text: String,
        /// The number rule.
        reason: guild_ledger::programme::NumberError,
    },
    /// Zero points.
    #[error("{text:?} is not a valid number of points: points must be more than zero")]
    ZeroPoints {
        /// What was typed.
        text: String,
    },
    /// The shop itself.
    #[error("a shop cannot settle a debt with itself; choose the shop that paid")]
    Itself,
    /// Not a shop's address.
    #[error("{text:?} is not a member shop's address")]
    UnknownShop {
        /// What was sent.
        text: String,
    },
    /// More than it owes.
    #[error("{debtor} owes {creditor} {owed}; cannot settle {points}")]
    MoreThanOwed {
        /// The debtor's name.
        debtor: String,
        /// This shop's name.
        creditor: String,
        /// What it owes, counted ("3 points").
        owed: String,
        /// What was asked.
        points: Points,
    },
}

impl SettleError {
    /// The form field the message belongs beside.
    pub fn field(&self) -> &'static str {
        match self {
            SettleError::InvalidPoints { .. }
            | SettleError::ZeroPoints { .. }
            | SettleError::MoreThanOwed { .. } => "points",
            SettleError::Itself | SettleError::UnknownShop { .. } => "debtor",
        }
    }
}

/// What `debtor` owes `creditor` in `settlement`.
fn owed(settlement: &Settlement, debtor: &Address, creditor: &Address) -> Points {
    settlement
        .debts
        .iter()
        .find(|d| d.debtor == *debtor && d.creditor == *creditor)
        .map(|d| d.points)
        .unwrap_or(Points::ZERO)
}

/// A shop's name in `settlement`, or its address.
fn name_in(settlement: &Settlement, shop: &Address) -> String {
    settlement
        .debts
        .iter()
        .find_map(|d| {
            if d.debtor == *shop {
                d.debtor_name.as_ref()
            } else if d.creditor == *shop {
                d.creditor_name.as_ref()
            } else {
                None
            }
        })
        .map_or_else(|| shop.to_string(), |n| n.to_string())
}

/// The checks of an acknowledgement: `me` records that the shop `debtor`
/// paid `points` (text as typed).
pub fn check_settle(
    settlement: &Settlement,
    me: &Address,
    debtor: &str,
    points: &str,
) -> Result<(Address, Points), SettleError> {
    let value = guild_ledger::programme::parse_decimal(points, 0).map_err(|reason| {
        SettleError::InvalidPoints {
            text: points.to_string(),
            reason,
        }
    })?;
    if value == 0 {
        return Err(SettleError::ZeroPoints {
            text: points.to_string(),
        });
    }
    let points = Points(value);
    let debtor: Address = debtor
        .trim()
        .parse()
        .map_err(|_| SettleError::UnknownShop {
            text: debtor.to_string(),
        })?;
    if debtor == *me {
        return Err(SettleError::Itself);
    }
    let owes = owed(settlement, &debtor, me);
    if owes < points {
        return Err(SettleError::MoreThanOwed {
            debtor: name_in(settlement, &debtor),
            creditor: name_in(settlement, me),
            owed: owes.counted().to_string(),
            points,
        });
    }
    Ok((debtor, points))
}

/// Every shop's net position (positive: owed to it), in points.
pub fn net_positions(debts: &[DebtInfo]) -> BTreeMap<Address, i128> {
    let mut net = BTreeMap::new();
    for d in debts {
        *net.entry(d.creditor).or_insert(0) += i128::from(d.points.0);
        *net.entry(d.debtor).or_insert(0) -= i128::from(d.points.0);
    }
    net
}

/// What the page shows, read from the node.
struct Figures {
    settlement: Settlement,
    shown: Shown,
    me: Option<Address>,
}

async fn figures(console: &Console) -> Result<Figures, PageError> {
    let (settlement, shown, head) = tokio::try_join!(
        console.node.settlement(),
        Shown::fetch(&console.node),
        console.node.head()
    )?;
    Ok(Figures {
        settlement,
        shown,
        me: head.member,
    })
}

/// `?done=` after an acknowledgement.
#[derive(Debug, Default, Deserialize)]
struct Done {
    done: Option<String>,
}

/// The acknowledgement form as sent.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct SettleForm {
    /// The shop that paid (its address).
    pub debtor: String,
    /// How many points' worth it paid.
    pub points: String,
}

/// `GET /console/settlement`.
async fn index(
    State(console): State<Console>,
    visitor: Visitor,
    user: SignedIn,
    Query(done): Query<Done>,
) -> Result<Markup, PageError> {
    let notice = (done.done.as_deref() == Some("settled")).then_some((
        "ok",
        "Recorded the payment: the debt is smaller by that much.".to_string(),
    ));
    page(
        &console,
        &visitor,
        &user,
        &SettleForm::default(),
        &Errors::none(),
        notice,
    )
    .await
}

async fn page(
    console: &Console,
    visitor: &Visitor,
    user: &SignedIn,
    form: &SettleForm,
    errors: &Errors,
    notice: Option<(&str, String)>,
) -> Result<Markup, PageError> {
    let figures = figures(console).await?;
    let body = html! {
        @if let Some((kind, text)) = &notice { (layout::notice(kind, text)) }
        div data-live={(crate::BASE) "/settlement/live"} { (live_part(&figures)) }
        @if let Some(me) = &figures.me {
            (settle_form(&figures, me, user, form, errors))
        }
        p.muted { "Monthly statements for the accountant (CSV) and invoices between shops: "
            code { "guild audit export --month YYYY-MM" } " and " code { "guild audit invoice --month YYYY-MM --all --dir DIR" } "." }
    };
    Ok(layout::page(
        visitor,
        console.explorer_only,
        "/settlement",
        "Settlement",
        body,
    ))
}

/// `GET /console/settlement/live`: the debts and the netted payments.
async fn live(State(console): State<Console>, _user: SignedIn) -> Result<Markup, PageError> {
    Ok(live_part(&figures(&console).await?))
}

fn live_part(f: &Figures) -> Markup {
    let s = &f.settlement;
    let money = |d: &DebtInfo| f.shown.money_or_overflow(d.cents);
    let name = |a: &Address| name_in(s, a);
    let owed_to_me: Vec<&DebtInfo> = s
        .debts
        .iter()
        .filter(|d| Some(d.creditor) == f.me)
        .collect();
    let i_owe: Vec<&DebtInfo> = s.debts.iter().filter(|d| Some(d.debtor) == f.me).collect();
    let sum = |list: &[&DebtInfo]| {
        Points(
            list.iter()
                .map(|d| d.points.0)
                .fold(0u64, u64::saturating_add),
        )
    };
    let payments = guild_audit::fewest_payments(&net_positions(&s.debts));
    html! {
        p.muted { "At block " span #settlement-height { (s.height.0) } ". " (f.shown.rate()) " between shops." }
        @if f.me.is_some() {
            div.grid {
                section.card {
                    h2 { "Owed to this shop" }
                    p.figure-big #owed-to-me { (f.shown.money_or_overflow(f.shown.value(sum(&owed_to_me)).map(|c| c.0))) }
                    @if owed_to_me.is_empty() { p { "No shop owes this shop anything." } } @else {
                        table #owed-to-me-table {
                            thead { tr { th { "Shop" } th.num { "Points" } th.num { "Amount" } } }
                            tbody { @for d in &owed_to_me { tr { td { (name(&d.debtor)) } td.num { (d.points.counted()) } td.num { (money(d)) } } } }
                        }
                    }
                }
                section.card {
                    h2 { "This shop owes" }
                    p.figure-big #i-owe { (f.shown.money_or_overflow(f.shown.value(sum(&i_owe)).map(|c| c.0))) }
                    @if i_owe.is_empty() { p { "This shop owes no one anything." } } @else {
                        table #i-owe-table {
                            thead { tr { th { "Shop" } th.num { "Points" } th.num { "Amount" } } }
                            tbody { @for d in &i_owe { tr { td { (name(&d.creditor)) } td.num { (d.points.counted()) } td.num { (money(d)) } } } }
                        }
                    }
                }
            }
        }
        h2 { "The group's netted payments" }
        @if payments.is_empty() {
            p { "Nothing to pay: no shop owes another." }
        } @else {
            p { "These payments clear every debt in the group with as few transfers as the audit finds (each shop pays or receives its net position)." }
            div.table-wrap {
                table #netted {
                    thead { tr { th { "Who pays" } th { "To" } th.num { "Points" } th.num { "Amount" } } }
                    tbody {
                        @for p in &payments {
                            tr {
                                td { (name(&p.from)) } td { (name(&p.to)) }
                                td.num { (Points(p.points).counted()) }
                                td.num { (f.shown.money_or_overflow(f.shown.value(Points(p.points)).map(|c| c.0))) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn settle_form(
    f: &Figures,
    me: &Address,
    user: &SignedIn,
    form: &SettleForm,
    errors: &Errors,
) -> Markup {
    let debtors: Vec<&DebtInfo> = f
        .settlement
        .debts
        .iter()
        .filter(|d| d.creditor == *me)
        .collect();
    let error = errors.get("debtor");
    html! {
        section.card #settle-form {
            h2 { "Record a payment received" }
            p { "When a shop has paid this shop for points redeemed here, record it: this signs, as this shop, that the debt is smaller by that many points." }
            @if let Some(message) = errors.get("settle") { (layout::notice("error", message)) }
            @if debtors.is_empty() {
                p.muted { "No shop owes this shop anything, so there is nothing to record." }
            } @else {
                form method="post" action={(crate::BASE) "/settlement/settle"} {
                    (layout::csrf(&user.session))
                    div class={"field" @if error.is_some() { " invalid" }} {
                        label for="f-debtor" { "Shop that paid" }
                        select #f-debtor name="debtor" aria-describedby="f-debtor-help" aria-invalid=[error.map(|_| "true")] {
                            @for d in &debtors {
                                @let value = d.debtor.to_string();
                                option value=(value) selected[form.debtor == value] {
                                    (name_in(&f.settlement, &d.debtor)) " (owes " (d.points.counted()) ", " (f.shown.money_or_overflow(d.cents)) ")"
                                }
                            }
                        }
                        p.help #f-debtor-help { "The shop whose payment you received." }
                        @if let Some(message) = error { p.field-error #f-debtor-error role="alert" { (message) } }
                    }
                    (Field::text("points", "Points paid for", &format!("How many points' worth it paid, a whole number ({}).", f.shown.rate()), &form.points).inputmode("numeric").required().render(errors))
                    button type="submit" { "Record the payment" }
                }
            }
        }
    }
}

/// `POST /console/settlement/settle`.
async fn settle(State(console): State<Console>, change: Change<SettleForm>) -> Response {
    let Change { user, form } = change;
    let visitor = Visitor {
        session: Some((user.id.clone(), user.session.clone())),
        path: format!("{}/settlement", crate::BASE),
    };
    let refuse = |field: &'static str, message: String| {
        let mut errors = Errors::none();
        errors.add(field, message);
        errors
    };
    let f = match figures(&console).await {
        Ok(f) => f,
        Err(error) => return error.into_response(),
    };
    let Some(me) = f.me else {
        return PageError::NotFound(
            "this node is an observer: it has no shop to settle for".into(),
        )
        .into_response();
    };
    let errors = match check_settle(&f.settlement, &me, &form.debtor, &form.points) {
        Ok((debtor, points)) => {
            match sign_as_shop(&console, user.token(), TxBody::Settle { debtor, points }).await {
                Ok(_) => {
                    return Redirect::to(&format!("{}/settlement?done=settled", crate::BASE))
                        .into_response();
                }
                Err(error) => refuse("settle", format!("The node did not record it: {error}")),
            }
        }
        Err(error) => refuse(error.field(), error.to_string()),
    };
    match page(&console, &visitor, &user, &form, &errors, None).await {
        Ok(markup) => (StatusCode::UNPROCESSABLE_ENTITY, markup).into_response(),
        Err(error) => error.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use guild_ledger::crypto::Keypair;
    use guild_ledger::types::{Height, ShopName};

    fn address(seed: u8) -> Address {
        Keypair::from_secret(&[seed; 32]).address()
    }

    fn settlement(debts: &[(Address, Address, u64)]) -> Settlement {
        Settlement {
            height: Height(3),
            settlement_cents_per_point: 1,
            debts: debts
                .iter()
                .map(|(debtor, creditor, points)| DebtInfo {
                    debtor: *debtor,
                    debtor_name: ShopName::new("Cafe").ok(),
                    creditor: *creditor,
                    creditor_name: ShopName::new("Bakery").ok(),
                    points: Points(*points),
                    cents: Some(*points),
                })
                .collect(),
        }
    }

    #[test]
    fn settling_checks_points_shop_and_debt() {
        let (me, cafe) = (address(1), address(2));
        let s = settlement(&[(cafe, me, 40)]);
        let cafe_text = cafe.to_string();
        assert_eq!(
            check_settle(&s, &me, &cafe_text, "40"),
            Ok((cafe, Points(40)))
        );
        let more = check_settle(&s, &me, &cafe_text, "41").unwrap_err();
        assert_eq!(more.field(), "points");
        assert!(
            more.to_string()
                .contains("owes Bakery 40 points; cannot settle 41"),
            "{more}"
        );
        assert!(matches!(
            check_settle(&s, &me, &cafe_text, "0"),
            Err(SettleError::ZeroPoints { .. })
        ));
        assert!(matches!(
            check_settle(&s, &me, &cafe_text, "1.5"),
            Err(SettleError::InvalidPoints { .. })
        ));
        assert_eq!(
            check_settle(&s, &me, &me.to_string(), "1"),
            Err(SettleError::Itself)
        );
        assert_eq!(
            check_settle(&s, &me, "guild1nope", "1")
                .unwrap_err()
                .field(),
            "debtor"
        );
    }

    #[test]
    fn net_positions_add_up_to_zero() {
        let (a, b, c) = (address(1), address(2), address(3));
        let net = net_positions(&settlement(&[(a, b, 10), (b, c, 4), (c, a, 1)]).debts);
        assert_eq!(net[&a], -9);
        assert_eq!(net[&b], 6);
        assert_eq!(net[&c], 3);
        assert_eq!(net.values().sum::<i128>(), 0);
    }
}
