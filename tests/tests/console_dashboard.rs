//! The console's dashboard and customers pages in a real browser (headless
//! Chromium, `guild_tests::browser`) against a real `guild node` on
//! loopback:
//!
//! - without signing in, the dashboard sends the browser to the sign-in
//!   page; signing in with an admin token comes back to it;
//! - a sale made through the API (a till's token) shows in the "today"
//!   figures without reloading the page (the live fragment is re-fetched
//!   when the sale's block becomes final);
//! - a customer added to the directory (`POST /v1/customers`) is found on
//!   the customers page by their name, and their page shows the balance
//!   the sale gave and their consents;
//! - a search longer than the API takes is refused beside the field.

mod common;

use common::*;
use guild_tests::browser::Browser;
use serde_json::{Value, json};
use std::time::Duration;

/// The longest wait for a node or a page (generous: CI machines are slow).
const WAIT: Duration = Duration::from_secs(60);

async fn post(net: &Net, path: &str, token: &str, body: Value) -> (u16, Value) {
    let response = net
        .http
        .post(format!("{}{path}", net.api(0)))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_follows_a_sale_live_and_customers_are_found_by_name() {
    if Browser::skip("the_dashboard_follows_a_sale_live_and_customers_are_found_by_name") {
        return;
    }
    let mut net = Net::new(1);
    net.start_all();
    net.wait_height(0, 0, WAIT).await;
    net.set_rule_per(0, "0.10");
    let admin = net.token(0, "owner", "admin");
    let till = net.token(0, "till-1", "sale");
    let console = format!("{}/console", net.api(0));

    // Without signing in, the dashboard is the sign-in page.
    let browser = Browser::start().await;
    browser.goto(&format!("{console}/dashboard")).await;
    browser.wait_for("input[name=token]", WAIT).await;
    let url = browser.current_url().await;
    assert!(
        url.contains("/console/login") && url.contains("next=%2Fconsole%2Fdashboard"),
        "not sent to sign in: {url}"
    );

    // Signing in comes back to the dashboard, with nothing sold today.
    browser.fill("input[name=token]", &admin).await;
    browser.click("main button[type=submit]").await;
    browser
        .wait_for_text("h1", "Dashboard · Bakery", WAIT)
        .await;
    let before = browser.text("#today-sales-detail").await;
    assert!(
        before.contains("0 sales, 0 points issued"),
        "today before the sale: {before}"
    );
    assert!(
        browser
            .source()
            .await
            .contains("Points issued, redeemed and expired per day")
    );
    // A mark on the page: it is gone if the page reloads.
    browser
        .client()
        .execute("window.guildMark = 'still here'; return 1;", vec![])
        .await
        .unwrap();

    // A sale through the API: £6.50 to Alice, 65 points.
    let alice = customer(1).address().to_string();
    let (status, sale) = post(
        &net,
        "/v1/sale",
        &till,
        json!({"customer": alice, "amount": 650, "receipt": "R-1", "timeout_ms": 30000}),
    )
    .await;
    assert_eq!((status, &sale["total"]), (200, &json!(65)), "{sale}");

    let detail = browser
        .wait_for_text("#today-sales-detail", "1 sale, 65 points issued", WAIT)
        .await;
    assert!(detail.contains("65 points"), "{detail}");
    let spend = browser.text("#today-sales").await;
    assert!(spend.contains("6.50"), "today's spend: {spend}");
    let month = browser.text("#month-sales-detail").await;
    assert!(
        month.contains("1 sale, 65 points issued"),
        "this month: {month}"
    );
    let liability = browser.text("#liability").await;
    assert_eq!(liability.trim(), "65 points");
    let mark = browser
        .client()
        .execute("return window.guildMark || 'reloaded';", vec![])
        .await
        .unwrap();
    assert_eq!(mark, json!("still here"), "the page reloaded");
    browser.maybe_screenshot("dashboard").await;

    // The directory: Alice by name, with one consent.
    let (status, entry) = post(
        &net,
        "/v1/customers",
        &admin,
        json!({"address": alice, "name": "Alice Lovelace", "email": "alice@example.org",
               "consent": ["messages"]}),
    )
    .await;
    assert_eq!(status, 201, "{entry}");

    browser.goto(&format!("{console}/customers")).await;
    let list = browser
        .wait_for_text("#customers", "Alice Lovelace", WAIT)
        .await;
    assert!(list.contains("65 points"), "{list}");
    browser.maybe_screenshot("customers").await;

    // A search longer than the API takes is refused beside the field.
    browser.fill("input[name=q]", &"x".repeat(101)).await;
    browser.click("form[role=search] button").await;
    let refused = browser
        .wait_for_text("#f-q-error", "at most 100 characters", WAIT)
        .await;
    assert!(refused.contains("(this is 101)"), "{refused}");

    // Found by part of the name, then opened.
    browser.fill("input[name=q]", "lovelace").await;
    browser.click("form[role=search] button").await;
    browser
        .wait_for_text("#found", "alice@example.org", WAIT)
        .await;
    browser.click("#found a").await;
    browser.wait_for_text("h1", "Alice Lovelace", WAIT).await;
    assert_eq!(browser.text("#balance").await.trim(), "65 points");
    assert!(browser.text("#consent-messages").await.starts_with("given"));
    assert!(
        browser
            .text("#consent-profiling")
            .await
            .starts_with("not given")
    );
    assert!(browser.text("#lots").await.contains("Bakery"));
    assert!(browser.source().await.contains(&alice));
    browser.maybe_screenshot("customer").await;

    // Signed out, the customer's page is not shown.
    browser.click("header form button").await;
    browser.wait_for("input[name=token]", WAIT).await;
    browser.goto(&format!("{console}/customers/{alice}")).await;
    browser.wait_for("input[name=token]", WAIT).await;
    assert!(!browser.source().await.contains("Alice Lovelace"));
}
