//! The console's Programme and Settlement pages in a real browser
//! (headless Chromium, `guild_tests::browser`) against two real `guild
//! node`s on loopback: Bakery (whose console is used) and Cafe.
//!
//! - the earn rule form refuses a bad amount beside its field and signs
//!   nothing (the shop's nonce stays), then publishes a good rule, which
//!   the page shows once final;
//! - the settlement page shows what Cafe owes Bakery in money, refuses to
//!   record more than is owed beside the field, and records a payment;
//! - a change without signing in is refused with 403 and changes nothing.

mod common;

use common::*;
use guild_tests::browser::Browser;
use std::time::Duration;

/// The longest wait for a node to answer (generous: CI machines are slow).
const WAIT: Duration = Duration::from_secs(60);
/// The longest wait for a page to show something.
const PAGE: Duration = Duration::from_secs(20);

/// `cents` as the network shows money: symbol, units, decimals.
async fn money(net: &Net, cents: u64) -> String {
    let (_, genesis) = net.get(0, "/v1/genesis").await.unwrap();
    let currency = &genesis["programme"]["locale"]["currency"];
    let symbol = currency["symbol"].as_str().unwrap();
    let digits = currency["minor_units"].as_u64().unwrap() as u32;
    if digits == 0 {
        return format!("{symbol}{cents}");
    }
    let unit = 10u64.pow(digits);
    format!(
        "{symbol}{}.{:0width$}",
        cents / unit,
        cents % unit,
        width = digits as usize
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn programme_and_settlement_pages_change_the_ledger_through_the_node() {
    if Browser::skip("programme_and_settlement_pages_change_the_ledger_through_the_node") {
        return;
    }
    let mut net = Net::new(2);
    net.start_all();
    net.wait_height(0, 0, WAIT).await;
    let api = net.api(0);
    let bakery = net.shop(0).address();

    // A customer earns at the Cafe and redeems 40 points at the Bakery: the
    // Cafe owes the Bakery 40 points.
    let lee = customer(1);
    let earn = net.earn(
        1,
        net.nonce(1, &net.shop(1).address()).await,
        &lee.address(),
        100,
        "r-1",
    );
    net.submit_all(1, &[earn]).await;
    let redeem = net.redeem(&lee, net.nonce(0, &lee.address()).await, 0, 40);
    net.submit_all(0, &[redeem]).await;

    // Without signing in, a change is refused and nothing is signed.
    let before = net.nonce(0, &bakery).await;
    let refused = reqwest::Client::new()
        .post(format!("{api}/console/programme/rule"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("points=2&per=0.50")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 403);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("sign in to make changes")
    );
    let settle_refused = reqwest::Client::new()
        .post(format!("{api}/console/settlement/settle"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("debtor={}&points=1", net.shop(1).address()))
        .send()
        .await
        .unwrap();
    assert_eq!(settle_refused.status().as_u16(), 403);

    // Sign in, coming back to the programme page.
    let token = net.token(0, "owner", "admin");
    let browser = Browser::start().await;
    browser.goto(&format!("{api}/console/programme")).await;
    browser.wait_for("input[name=token]", PAGE).await;
    browser.fill("input[name=token]", &token).await;
    browser.click("button[type=submit]").await;
    browser.wait_for_text("h1", "Programme", PAGE).await;
    browser.wait_for_text("#rules", "No rule yet", PAGE).await;

    // A bad amount: the message is beside the field, nothing is signed.
    browser.fill("#f-points", "2").await;
    browser.fill("#f-per", "12,50").await;
    browser.click("#rule-form button[type=submit]").await;
    let message = browser
        .wait_for_text("#f-per-error", "is not an amount of money", PAGE)
        .await;
    assert!(message.contains("12,50"), "{message}");
    assert_eq!(
        browser
            .client()
            .find(fantoccini::Locator::Css("#f-per"))
            .await
            .unwrap()
            .attr("value")
            .await
            .unwrap()
            .as_deref(),
        Some("12,50"),
        "the form keeps what was typed"
    );
    assert_eq!(net.nonce(0, &bakery).await, before, "nothing was signed");

    // A good rule: published, final, shown.
    browser.fill("#f-per", "0.50").await;
    browser.click("#rule-form button[type=submit]").await;
    browser.wait_for_text(".notice.ok", "Published", WAIT).await;
    let rules = browser.wait_for_text("#rules", "2 points per", PAGE).await;
    assert!(rules.contains("0.50"), "{rules}");
    assert_eq!(
        net.nonce(0, &bakery).await,
        before + 1,
        "one transaction signed"
    );
    let (_, programme) = net.get(0, "/v1/programme").await.unwrap();
    let ours = programme["shops"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Bakery")
        .unwrap();
    assert_eq!(ours["rules"]["current"]["spec"]["points"], 2, "{ours}");
    browser.maybe_screenshot("programme").await;

    // Settlement: the debt in money.
    let (_, settlement) = net.get(0, "/v1/settlement").await.unwrap();
    let cents = settlement["debts"][0]["cents"].as_u64().unwrap();
    let forty = money(&net, cents).await;
    browser.goto(&format!("{api}/console/settlement")).await;
    browser.wait_for_text("h1", "Settlement", PAGE).await;
    browser.wait_for_text("#owed-to-me", &forty, PAGE).await;
    let table = browser.text("#owed-to-me-table").await;
    assert!(
        table.contains("Cafe") && table.contains("40 points"),
        "{table}"
    );
    let netted = browser.text("#netted").await;
    assert!(
        netted.contains("Cafe") && netted.contains("Bakery") && netted.contains(&forty),
        "{netted}"
    );
    browser.maybe_screenshot("settlement").await;

    // More than owed: refused beside the field, nothing signed.
    let before = net.nonce(0, &bakery).await;
    browser.fill("#f-points", "41").await;
    browser.click("#settle-form button[type=submit]").await;
    browser
        .wait_for_text(
            "#f-points-error",
            "Cafe owes Bakery 40 points; cannot settle 41",
            PAGE,
        )
        .await;
    assert_eq!(net.nonce(0, &bakery).await, before);

    // A payment of 15 points: recorded, 25 left.
    browser.fill("#f-points", "15").await;
    browser.click("#settle-form button[type=submit]").await;
    browser
        .wait_for_text(".notice.ok", "Recorded the payment", WAIT)
        .await;
    browser
        .wait_for_text("#owed-to-me-table", "25 points", PAGE)
        .await;
    let (_, settlement) = net.get(0, "/v1/settlement").await.unwrap();
    assert_eq!(settlement["debts"][0]["points"], 25, "{settlement}");
}
