//! Redemption: the customer signs, the till only asks and submits.
//!
//! 1. The clerk enters the points; the page makes a
//!    [`RedeemRequest`] (`guild:redeem?shop=…&points=…&ref=…`, with a fresh
//!    reference) and shows it as text, as a QR code and as the customer's
//!    command `guild wallet redeem --request 'TEXT' --out redemption.json`.
//! 2. The customer's wallet signs a `Redeem` transaction and writes the
//!    wallet's signed-transaction file (one JSON document whose `tx` is the
//!    hex of the canonical `SignedTransaction`); the clerk pastes it, or
//!    its bare hex, back (or picks the file: `till.js` reads it into the
//!    text box).
//! 3. The page decodes it with the ledger's codec ([`parse_signed`]),
//!    checks that it is a redemption at this shop for the points of the
//!    request ([`check_redeem`], which says exactly what differs), submits
//!    it and shows the result once final.
//!
//! The requests shown and not yet redeemed travel in the form itself (a
//! hidden field `pending`, `ref:points` separated by spaces), so the
//! server keeps nothing between requests.

use super::{Pairs, Shop, TillPage, field, render, textarea};
use crate::auth::{Change, SignedIn};
use crate::form::{Errors, Field};
use crate::{Console, PageError, layout};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use guild_api::redeem::{RedeemRequest, Reference};
use guild_ledger::codec;
use guild_ledger::crypto::Address;
use guild_ledger::tx::{SignedTransaction, TxBody};
use guild_ledger::types::{ChainId, Height, Points};
use maud::{Markup, html};
use std::time::Duration;

/// The format name of the wallet's signed-transaction file
/// (`guild-wallet`'s `offline::SIGNED_FILE_FORMAT`).
pub const SIGNED_FILE_FORMAT: &str = "guild-signed-tx/v1";

/// The largest signed redemption taken, in bytes (the wallet's own limit
/// for its files).
pub const MAX_SIGNED_BYTES: usize = 256 * 1024;

/// The most requests kept waiting in the form.
pub const MAX_PENDING: usize = 20;

/// How long a redemption waits for its block.
const REDEEM_WAIT: Duration = Duration::from_secs(30);

/// Why a pasted signed redemption cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignedError {
    /// Nothing was pasted.
    #[error(
        "paste the signed redemption from the customer's wallet (the file redemption.json, or its hex)"
    )]
    Empty,
    /// Larger than any signed transaction file.
    #[error("this is {len} bytes; a signed redemption is far smaller (at most {MAX_SIGNED_BYTES})")]
    TooLarge {
        /// Its length.
        len: usize,
    },
    /// JSON that is not the wallet's file.
    #[error("this is not the wallet's signed-transaction file: {reason}")]
    NotASignedFile {
        /// What is wrong.
        reason: String,
    },
    /// Not hex.
    #[error("the signed transaction is not hexadecimal: {reason}")]
    NotHex {
        /// What the decoder said.
        reason: String,
    },
    /// Hex, but not a signed transaction.
    #[error("this is not a signed Guild transaction ({reason}); was it cut off when copied?")]
    NotATransaction {
        /// What the codec said.
        reason: String,
    },
}

/// A signed transaction as pasted: the transaction, and the network the
/// wallet's file says it is signed for (bare hex does not say).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pasted {
    /// The transaction.
    pub signed: SignedTransaction,
    /// The file's `chain_id`, if it came in a file.
    pub chain_id: Option<String>,
}

/// Reads the wallet's signed-transaction file (JSON with `format` and
/// `tx`) or bare hex of a `SignedTransaction`.
pub fn parse_signed(text: &str) -> Result<Pasted, SignedError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(SignedError::Empty);
    }
    if text.len() > MAX_SIGNED_BYTES {
        return Err(SignedError::TooLarge { len: text.len() });
    }
    let (hex_text, chain_id) = if text.starts_with('{') {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| SignedError::NotASignedFile {
                reason: e.to_string(),
            })?;
        match value.get("format").and_then(|f| f.as_str()) {
            Some(SIGNED_FILE_FORMAT) => {}
            Some(other) => {
                return Err(SignedError::NotASignedFile {
                    reason: format!("its format is '{other}', expected '{SIGNED_FILE_FORMAT}'"),
                });
            }
            None => {
                return Err(SignedError::NotASignedFile {
                    reason: format!("it has no \"format\": \"{SIGNED_FILE_FORMAT}\""),
                });
            }
        }
        let tx = value.get("tx").and_then(|t| t.as_str()).ok_or_else(|| {
            SignedError::NotASignedFile {
                reason: "it has no \"tx\" with the transaction's hex".into(),
            }
        })?;
        let chain = value
            .get("chain_id")
            .and_then(|c| c.as_str())
            .map(str::to_string);
        (tx.to_string(), chain)
    } else {
        (text.to_string(), None)
    };
    let compact: String = hex_text.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = hex::decode(&compact).map_err(|e| SignedError::NotHex {
        reason: e.to_string(),
    })?;
    let signed: SignedTransaction =
        codec::decode(&bytes).map_err(|e| SignedError::NotATransaction {
            reason: e.to_string(),
        })?;
    Ok(Pasted { signed, chain_id })
}

/// Checks that `signed` is a redemption of `points` at `shop`: the
/// customer (its author) on success, else what differs, in words.
pub fn check_redeem(
    signed: &SignedTransaction,
    shop: &Address,
    shop_name: &str,
    points: Points,
) -> Result<Address, String> {
    match &signed.tx.body {
        TxBody::Redeem {
            shop: at,
            points: given,
        } => {
            let mut differs = Vec::new();
            if at != shop {
                differs.push(format!(
                    "it spends the points at another shop ({at}), not at {shop_name} ({shop})"
                ));
            }
            if *given != points {
                differs.push(format!(
                    "it is for {}, the request asked for {}",
                    given.counted(),
                    points.counted()
                ));
            }
            if differs.is_empty() {
                Ok(signed.tx.author)
            } else {
                Err(format!(
                    "this redemption does not match the request: {}. Nothing was submitted; ask the customer to sign the request shown",
                    differs.join("; ")
                ))
            }
        }
        other => Err(format!(
            "this is a signed {} transaction, not a redemption. Nothing was submitted; ask the customer to sign the redemption request shown (guild wallet redeem --request …)",
            other.kind()
        )),
    }
}

/// The requests waiting, from the hidden field (anything malformed is
/// dropped: the field comes back from the browser).
pub fn parse_pending(text: &str) -> Vec<(Reference, Points)> {
    text.split_whitespace()
        .filter_map(|part| {
            let (reference, points) = part.rsplit_once(':')?;
            let points: u64 = points.parse().ok().filter(|p| *p > 0)?;
            Some((Reference::new(reference).ok()?, Points(points)))
        })
        .take(MAX_PENDING)
        .collect()
}

/// The hidden field's text for `pending`.
pub fn pending_text(pending: &[(Reference, Points)]) -> String {
    pending
        .iter()
        .map(|(r, p)| format!("{r}:{}", p.0))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The request `text` as an SVG QR code.
pub fn qr_svg(text: &str) -> Result<String, qrcode::types::QrError> {
    let code = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M)?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(220, 220)
        .quiet_zone(true)
        .build();
    // The XML declaration has no place inside an HTML page.
    Ok(match svg.find("<svg") {
        Some(start) => svg[start..].to_string(),
        None => svg,
    })
}

/// The customer's command for a request.
pub fn wallet_command(request: &RedeemRequest) -> String {
    format!("guild wallet redeem --request '{request}' --out redemption.json")
}

/// A redemption made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redeemed {
    /// The request's reference.
    pub reference: Reference,
    /// The customer.
    pub customer: Address,
    /// Points spent.
    pub points: Points,
    /// The final block.
    pub height: Height,
    /// The customer's balance after it, if the node said.
    pub balance: Option<Points>,
}

/// The redemption section's state.
#[derive(Clone, Debug, Default)]
pub struct RedeemSection {
    /// Points typed for a new request.
    pub points: String,
    /// Refused values.
    pub errors: Errors,
    /// A message not about one field.
    pub notice: Option<String>,
    /// The request just made.
    pub request: Option<RedeemRequest>,
    /// Requests shown and not yet redeemed, newest first.
    pub pending: Vec<(Reference, Points)>,
    /// The reference chosen for the signed redemption.
    pub selected: String,
    /// The signed redemption as pasted.
    pub signed: String,
    /// The last redemption made.
    pub redeemed: Option<Redeemed>,
}

fn request_card(request: &RedeemRequest) -> Markup {
    let text = request.to_string();
    html! {
        div #redeem-request-card {
            p { "Ask the customer to sign this request for " strong { (request.points.counted()) } " (reference " (request.reference) "):" }
            @match qr_svg(&text) {
                Ok(svg) => div.qr #redeem-qr role="img" aria-label="QR code of the redemption request" { (layout::trusted(svg)) },
                Err(e) => (layout::notice("error", &format!("the QR code could not be drawn: {e}"))),
            }
            p { code #redeem-request { (text) } }
            p.help { "On the customer's computer: " code #redeem-command { (wallet_command(request)) } }
        }
    }
}

/// The redemption section of the till page.
pub fn section(user: &SignedIn, shop: &Shop, s: &RedeemSection) -> Markup {
    let pending = pending_text(&s.pending);
    let selected = if s.selected.is_empty() {
        s.pending
            .first()
            .map(|(r, _)| r.to_string())
            .unwrap_or_default()
    } else {
        s.selected.clone()
    };
    html! {
        section.card.no-print #redeem aria-labelledby="redeem-title" {
            h2 #redeem-title { "Redemption" }
            p.help { "The customer spends points with their own wallet: the shop never signs for them. "
                "Ask for the points here, let the customer sign the request, then take the signed redemption back." }
            @if let Some(text) = &s.notice { (layout::notice("error", text)) }
            @if let Some(done) = &s.redeemed {
                div.notice.ok #redeem-result role="status" {
                    "Redeemed " (done.points.counted()) " at " (shop.name) " from " span.mono { (done.customer) }
                    " (request " (done.reference) "), final in block " (done.height.0) "."
                    @if let Some(balance) = done.balance { " Their balance is now " (balance.counted()) "." }
                }
            }
            form #redeem-request-form method="post" action={(crate::BASE) "/till/redeem/request"} novalidate {
                (layout::csrf(&user.session))
                input type="hidden" name="pending" value=(pending);
                (Field::text("points", "Points to redeem", "A whole number of points above 0, e.g. 250.", &s.points).inputmode("numeric").required().render(&s.errors))
                button.secondary type="submit" { "Show the request" }
            }
            @if let Some(request) = &s.request { (request_card(request)) }
            @if !s.pending.is_empty() {
                h3 { "Take the signed redemption back" }
                form #redeem-submit-form method="post" action={(crate::BASE) "/till/redeem/submit"} novalidate {
                    (layout::csrf(&user.session))
                    input type="hidden" name="pending" value=(pending);
                    div class={"field" @if s.errors.get("ref").is_some() { " invalid" }} {
                        label for="f-ref" { "Request" }
                        select #f-ref name="ref" aria-describedby="f-ref-help" {
                            @for (reference, points) in &s.pending {
                                option value=(reference) selected[reference.as_str() == selected] {
                                    (reference) ": " (points.counted())
                                }
                            }
                        }
                        p.help #f-ref-help { "The request the customer signed." }
                        @if let Some(message) = s.errors.get("ref") { p.field-error role="alert" { (message) } }
                    }
                    (textarea("signed", "Signed redemption", "Paste the file redemption.json the customer's wallet wrote (or the transaction's hex), or pick the file below.", &s.signed, &s.errors))
                    div.field {
                        label for="f-signed-file" { "…or the file" }
                        input #f-signed-file type="file" accept=".json,application/json,text/plain" data-into="f-signed";
                    }
                    button type="submit" { "Submit the redemption" }
                }
            }
        }
    }
}

/// `POST /console/till/redeem/request`: a new request for the points.
pub async fn request(
    State(console): State<Console>,
    change: Change<Pairs>,
) -> Result<Response, PageError> {
    let shop = Shop::fetch(&console).await?;
    let user = change.user;
    let mut section = RedeemSection {
        points: field(&change.form, "points").trim().to_string(),
        pending: parse_pending(field(&change.form, "pending")),
        ..RedeemSection::default()
    };
    let points = match guild_ledger::programme::parse_decimal(&section.points, 0) {
        Ok(0) => Err("give at least 1 point".to_string()),
        Ok(n) => Ok(Points(n)),
        Err(e) => Err(format!(
            "\"{}\" is not a whole number of points: {e}",
            section.points
        )),
    };
    let points = match points {
        Ok(points) => points,
        Err(message) => {
            section.errors.add("points", message);
            return Ok(page(
                &console,
                &user,
                &shop,
                section,
                StatusCode::UNPROCESSABLE_ENTITY,
            ));
        }
    };
    let reference = Reference::new(&format!("R-{}", super::random_hex(4)))
        .map_err(|e| PageError::BadForm(e.to_string()))?;
    let request = RedeemRequest {
        shop: shop.address,
        points,
        reference: reference.clone(),
    };
    section.pending.retain(|(r, _)| r != &reference);
    section.pending.insert(0, (reference, points));
    section.pending.truncate(MAX_PENDING);
    section.request = Some(request);
    section.points.clear();
    Ok(page(&console, &user, &shop, section, StatusCode::OK))
}

/// `POST /console/till/redeem/submit`: checks and submits a signed
/// redemption.
pub async fn submit(
    State(console): State<Console>,
    change: Change<Pairs>,
) -> Result<Response, PageError> {
    let shop = Shop::fetch(&console).await?;
    let user = change.user;
    let mut section = RedeemSection {
        pending: parse_pending(field(&change.form, "pending")),
        selected: field(&change.form, "ref").trim().to_string(),
        signed: field(&change.form, "signed").trim().to_string(),
        ..RedeemSection::default()
    };
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let Some((reference, points)) = section
        .pending
        .iter()
        .find(|(r, _)| r.as_str() == section.selected)
        .cloned()
    else {
        section.errors.add(
            "ref",
            "choose the request the customer signed (or show a new one)",
        );
        return Ok(page(&console, &user, &shop, section, unprocessable));
    };
    let pasted = match parse_signed(&section.signed) {
        Ok(pasted) => pasted,
        Err(e) => {
            section.errors.add("signed", e.to_string());
            return Ok(page(&console, &user, &shop, section, unprocessable));
        }
    };
    if let Some(chain) = &pasted.chain_id
        && chain != shop.chain_id.as_str()
    {
        section.errors.add(
            "signed",
            format!(
                "this redemption is signed for the network '{chain}', this shop is on '{}'; the customer's wallet points at another network",
                shop.chain_id
            ),
        );
        return Ok(page(&console, &user, &shop, section, unprocessable));
    }
    let customer = match check_redeem(&pasted.signed, &shop.address, shop.name.as_str(), points) {
        Ok(customer) => customer,
        Err(message) => {
            section.errors.add("signed", message);
            return Ok(page(&console, &user, &shop, section, unprocessable));
        }
    };
    let chain_id: ChainId = shop.chain_id.clone();
    match console
        .node
        .submit_and_wait(&pasted.signed, &chain_id, REDEEM_WAIT)
        .await
    {
        Ok(finality) => {
            let balance = console
                .node
                .account(&customer)
                .await
                .ok()
                .map(|a| a.balance);
            section.pending.retain(|(r, _)| r != &reference);
            section.selected.clear();
            section.signed.clear();
            section.redeemed = Some(Redeemed {
                reference,
                customer,
                points,
                height: finality.height,
                balance,
            });
            Ok(page(&console, &user, &shop, section, StatusCode::OK))
        }
        Err(error) if matches!(error, guild_api::ClientError::Node { .. }) => {
            section.errors.add(
                "signed",
                format!("the node refused the redemption: {error}"),
            );
            Ok(page(&console, &user, &shop, section, unprocessable))
        }
        Err(error) => {
            section.notice = Some(error.to_string());
            let status = PageError::Node(error).status();
            Ok(page(&console, &user, &shop, section, status))
        }
    }
}

fn page(
    console: &Console,
    user: &SignedIn,
    shop: &Shop,
    redeem: RedeemSection,
    status: StatusCode,
) -> Response {
    let page = TillPage {
        sale: super::sale::SaleSection::fresh(shop),
        redeem,
        ..TillPage::default()
    };
    render(console, user, shop, &page, status)
}

#[cfg(test)]
mod tests {
    use super::*;
    use guild_ledger::Keypair;
    use guild_ledger::tx::Transaction;
    use guild_ledger::types::Nonce;

    fn shop() -> Address {
        Keypair::from_secret(&[1; 32]).address()
    }

    fn signed(body: TxBody) -> SignedTransaction {
        let customer = Keypair::from_secret(&[9; 32]);
        let chain = ChainId::new("test-net").unwrap();
        Transaction {
            author: customer.address(),
            nonce: Nonce(0),
            body,
        }
        .sign(&customer, &chain)
    }

    fn redeem(points: u64) -> SignedTransaction {
        signed(TxBody::Redeem {
            shop: shop(),
            points: Points(points),
        })
    }

    #[test]
    fn the_wallets_file_and_bare_hex_are_both_read() {
        let tx = redeem(250);
        let hex = hex::encode(codec::encode(&tx));
        let file = serde_json::json!({
            "format": SIGNED_FILE_FORMAT,
            "chain_id": "test-net",
            "id": "ignored",
            "author": tx.tx.author.to_string(),
            "nonce": 0,
            "kind": "redeem",
            "summary": "redeem 250 points",
            "tx": hex,
        })
        .to_string();
        let from_file = parse_signed(&file).unwrap();
        assert_eq!(from_file.signed, tx);
        assert_eq!(from_file.chain_id.as_deref(), Some("test-net"));
        // Bare hex, wrapped over lines as a terminal copies it.
        let wrapped = format!("  {}\n{}  ", &hex[..40], &hex[40..]);
        assert_eq!(
            parse_signed(&wrapped).unwrap(),
            Pasted {
                signed: tx,
                chain_id: None
            }
        );
    }

    #[test]
    fn what_cannot_be_read_says_why() {
        assert_eq!(parse_signed("  "), Err(SignedError::Empty));
        let wrong = parse_signed(r#"{"format":"other/v1","tx":"00"}"#).unwrap_err();
        assert!(
            wrong.to_string().contains("its format is 'other/v1'"),
            "{wrong}"
        );
        let no_tx = parse_signed(r#"{"format":"guild-signed-tx/v1"}"#).unwrap_err();
        assert!(no_tx.to_string().contains("no \"tx\""), "{no_tx}");
        assert!(matches!(
            parse_signed("zz"),
            Err(SignedError::NotHex { .. })
        ));
        let hex = hex::encode(codec::encode(&redeem(5)));
        let cut = parse_signed(&hex[..hex.len() - 8]).unwrap_err();
        assert!(cut.to_string().contains("was it cut off"), "{cut}");
        assert!(matches!(
            parse_signed(&"a".repeat(MAX_SIGNED_BYTES + 2)),
            Err(SignedError::TooLarge { .. })
        ));
    }

    #[test]
    fn a_redemption_must_be_at_this_shop_for_the_points_asked() {
        let customer = Keypair::from_secret(&[9; 32]).address();
        assert_eq!(
            check_redeem(&redeem(250), &shop(), "Bakery", Points(250)),
            Ok(customer)
        );
        let fewer = check_redeem(&redeem(200), &shop(), "Bakery", Points(250)).unwrap_err();
        assert!(
            fewer.contains("it is for 200 points, the request asked for 250 points"),
            "{fewer}"
        );
        let other_shop = Keypair::from_secret(&[2; 32]).address();
        let elsewhere = check_redeem(&redeem(250), &other_shop, "Cafe", Points(250)).unwrap_err();
        assert!(
            elsewhere.contains(&format!("at another shop ({}), not at Cafe", shop())),
            "{elsewhere}"
        );
        let transfer = signed(TxBody::Transfer {
            to: shop(),
            points: Points(250),
            memo: None,
        });
        let not = check_redeem(&transfer, &shop(), "Bakery", Points(250)).unwrap_err();
        assert!(
            not.starts_with("this is a signed transfer transaction, not a redemption"),
            "{not}"
        );
    }

    #[test]
    fn pending_requests_round_trip_through_the_form_and_junk_is_dropped() {
        let pending = vec![
            (Reference::new("R-1").unwrap(), Points(250)),
            (Reference::new("R-2").unwrap(), Points(5)),
        ];
        let text = pending_text(&pending);
        assert_eq!(text, "R-1:250 R-2:5");
        assert_eq!(
            parse_pending(&format!("{text} bad R-3:0 R 4:x <b>:1")),
            pending
        );
    }

    #[test]
    fn the_request_is_drawn_as_a_qr_code_and_a_command() {
        let request = RedeemRequest {
            shop: shop(),
            points: Points(250),
            reference: Reference::new("R-1").unwrap(),
        };
        let svg = qr_svg(&request.to_string()).unwrap();
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(
            svg.contains("<path") || svg.contains("<rect"),
            "modules are drawn"
        );
        assert_eq!(
            wallet_command(&request),
            format!(
                "guild wallet redeem --request 'guild:redeem?shop={}&points=250&ref=R-1' --out redemption.json",
                shop()
            )
        );
    }
}
