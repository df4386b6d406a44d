//! The console's Till in a real browser against a real `guild node`
//! process on loopback (a one-shop network whose rule gives 1 point per
//! £0.10), as a clerk uses it:
//!
//! - a change posted to the till without signing in is refused (403) and
//!   sells nothing;
//! - signed in with an admin token, a sale of "12,50" is refused with the
//!   amount field's own message and nothing is sold;
//! - a sale of 12.50 previews 125 points, and issuing it shows the receipt
//!   with the new balance, the same as `GET /v1/accounts/{a}`;
//! - reversing the receipt says what the node says and the balance is
//!   back to 0;
//! - a redemption request is shown as text, with its QR code and the
//!   wallet's command; a signed redemption for other points is refused
//!   with what differs, and the one asked for is submitted and final.
//!
//! With `GUILD_SCREENSHOTS=DIR` it writes `till-sale.png`,
//! `till-receipt.png` and `till-redemption.png`.

mod common;

use common::*;
use guild_tests::browser::Browser;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(40);

/// A bakery (1 point per £0.10), started, and an admin token of its node.
async fn bakery() -> (Net, String) {
    let mut net = Net::new(1);
    net.start_all();
    net.wait_height(0, 0, Duration::from_secs(30)).await;
    net.set_rule_per(0, "0.10");
    let token = net.token(0, "owner", "admin");
    (net, token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clerk_sells_reverses_and_takes_a_redemption_at_the_till() {
    if Browser::skip("console_till") {
        return;
    }
    let (net, token) = bakery().await;
    let console = format!("{}/console", net.api(0));
    let alice_key = customer(1);
    let alice = alice_key.address();

    // Without a session, a sale posted to the till is refused.
    let response = net
        .http
        .post(format!("{console}/till/sale"))
        .form(&[
            ("amount", "12.50"),
            ("customer", alice.to_string().as_str()),
            ("receipt", "T-forged"),
            ("action", "issue"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("nothing was changed")
    );
    assert_eq!(net.balance(0, &alice).await, 0);

    // Sign in (the till sends a visitor to the sign-in page first).
    let browser = Browser::start().await;
    browser.goto(&format!("{console}/till")).await;
    browser.wait_for("input[name=token]", WAIT).await;
    browser.fill("input[name=token]", &token).await;
    browser.click("button[type=submit]").await;
    browser.wait_for_text("h1", "Till", WAIT).await;
    browser
        .wait_for_text("main", "Selling as Bakery", WAIT)
        .await;

    // A comma for decimals: the amount's message beside it, nothing sold.
    browser.fill("#f-amount", "12,50").await;
    browser.fill("#f-customer", &alice.to_string()).await;
    browser.click("button[value=issue]").await;
    let message = browser
        .wait_for_text("#f-amount-error", "for 12.50 write 12.50", WAIT)
        .await;
    assert!(message.contains("is not an amount of money"), "{message}");
    assert!(
        browser.source().await.contains(r#"value="12,50""#),
        "the value given comes back"
    );
    assert_eq!(net.balance(0, &alice).await, 0, "nothing was sold");

    // 12.50: the preview shows the points, issuing shows the receipt.
    browser.fill("#f-amount", "12.50").await;
    browser.fill("#f-customer", &alice.to_string()).await;
    browser.click("button[value=preview]").await;
    browser
        .wait_for_text("#preview-total", "125 points", WAIT)
        .await;
    browser
        .wait_for_text("#sale-preview", "Base (rule v1)", WAIT)
        .await;
    assert_eq!(net.balance(0, &alice).await, 0, "a preview sells nothing");
    browser.maybe_screenshot("till-sale").await;
    browser.click("button[value=issue]").await;
    browser
        .wait_for_text("#receipt-points", "125 points", WAIT)
        .await;
    let balance = browser.text("#receipt-balance").await;
    assert_eq!(net.balance(0, &alice).await, 125);
    assert_eq!(balance, "125 points", "the receipt's balance is the node's");
    assert_eq!(browser.text("#receipt-amount").await, "£12.50");
    let receipt = browser.text("#receipt-id").await;
    assert!(receipt.starts_with("T-"), "{receipt}");
    browser.maybe_screenshot("till-receipt").await;
    // The form is fresh for the next customer, with a new receipt id.
    let next_receipt = browser
        .client()
        .find(fantoccini::Locator::Css("#f-receipt"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(next_receipt.starts_with("T-") && next_receipt != receipt);

    // Reverse it: the node's own sentence, and the balance is back.
    browser.fill("#f-refund_receipt", &receipt).await;
    browser.click("#refund-form button[type=submit]").await;
    let said = browser
        .wait_for_text("#refund-message", "took back 125 points", WAIT)
        .await;
    assert!(
        said.contains(&format!("Refund of 12.50 on receipt {receipt}")),
        "{said}"
    );
    assert_eq!(browser.text("#refund-taken").await, "125");
    assert_eq!(net.balance(0, &alice).await, 0);

    // Points to spend, then a redemption request for 50 of them.
    browser.fill("#f-amount", "10").await;
    browser.fill("#f-customer", &alice.to_string()).await;
    browser.click("button[value=issue]").await;
    browser
        .wait_for_text("#receipt-balance", "100 points", WAIT)
        .await;
    browser.fill("#f-points", "50").await;
    browser
        .click("#redeem-request-form button[type=submit]")
        .await;
    let request = browser
        .wait_for_text("#redeem-request", "guild:redeem?", WAIT)
        .await;
    let shop = net.shop(0).address();
    assert!(
        request.starts_with(&format!("guild:redeem?shop={shop}&points=50&ref=R-")),
        "{request}"
    );
    browser.wait_for("#redeem-qr svg", WAIT).await;
    let command = browser.text("#redeem-command").await;
    assert_eq!(
        command,
        format!("guild wallet redeem --request '{request}' --out redemption.json")
    );
    browser.maybe_screenshot("till-redemption").await;

    // The customer signs 40 instead of 50: refused, saying so.
    let nonce = net.nonce(0, &alice).await;
    let wrong = net.redeem(&alice_key, nonce, 0, 40);
    browser
        .fill(
            "#f-signed",
            &hex::encode(guild_ledger::codec::encode(&wrong)),
        )
        .await;
    browser
        .click("#redeem-submit-form button[type=submit]")
        .await;
    browser
        .wait_for_text(
            "#f-signed-error",
            "it is for 40 points, the request asked for 50 points",
            WAIT,
        )
        .await;
    assert_eq!(net.balance(0, &alice).await, 100);

    // The one asked for, as the wallet's file: final, balance 50.
    let right = net.redeem(&alice_key, nonce, 0, 50);
    let file = serde_json::json!({
        "format": "guild-signed-tx/v1",
        "chain_id": net.chain_id.as_str(),
        "id": right.tx.id(&net.chain_id).to_string(),
        "author": alice.to_string(),
        "nonce": nonce,
        "kind": "redeem",
        "summary": "redeem 50 points at Bakery",
        "tx": hex::encode(guild_ledger::codec::encode(&right)),
    })
    .to_string();
    browser.fill("#f-signed", &file).await;
    browser
        .click("#redeem-submit-form button[type=submit]")
        .await;
    let done = browser
        .wait_for_text("#redeem-result", "Redeemed 50 points at Bakery", WAIT)
        .await;
    assert!(done.contains("Their balance is now 50 points"), "{done}");
    assert_eq!(net.balance(0, &alice).await, 50);
}
