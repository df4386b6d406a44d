//! The web console in a real browser: headless Chromium (through
//! `chromedriver`, `guild_tests::browser`) against a real `guild node` on
//! loopback.
//!
//! This file holds the smoke test of the harness itself: the browser opens
//! a node's API and reads what the node answered. Each page of the console
//! has its own file, `tests/tests/console_<page>.rs`, written like this one:
//!
//! ```text
//! mod common;
//! use common::*;
//! use guild_tests::browser::Browser;
//!
//! #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
//! async fn the_till_refuses_a_bad_amount_beside_the_field() {
//!     if Browser::skip("the_till_refuses_a_bad_amount_beside_the_field") {
//!         return;
//!     }
//!     let mut net = Net::new(1);
//!     net.start_all();
//!     net.wait_height(0, 0, WAIT).await;
//!     let browser = Browser::start().await;
//!     browser.goto(&format!("{}/console/login", net.api(0))).await;
//!     // fill, click, wait_for_text, maybe_screenshot("till") …
//! }
//! ```
//!
//! Without Chromium and `chromedriver` the tests say why they did not run,
//! and fail instead if `GUILD_REQUIRE_BROWSER=1` (CI sets it).

mod common;

use common::*;
use guild_tests::browser::Browser;
use std::time::Duration;

/// The longest wait for a node to answer (generous: CI machines are slow).
const WAIT: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_browser_reads_a_real_nodes_head() {
    if Browser::skip("the_browser_reads_a_real_nodes_head") {
        return;
    }
    let mut net = Net::new(1);
    net.start_all();
    net.wait_height(0, 0, WAIT).await;

    let browser = Browser::start().await;
    let url = format!("{}/v1/head", net.api(0));
    browser.goto(&url).await;
    assert_eq!(browser.current_url().await, url);
    // Chromium shows a JSON answer as text in the page's body.
    let text = browser
        .wait_for_text("body", "\"height\"", Duration::from_secs(10))
        .await;
    let head: serde_json::Value = serde_json::from_str(text.trim())
        .unwrap_or_else(|e| panic!("the page is not the node's JSON head ({e}): {text}"));
    assert!(head["height"].is_u64(), "no height in {head}");
    assert!(browser.source().await.contains("\"height\""));

    let shot = browser.dir().join("head.png");
    browser.screenshot(&shot).await;
    let png = std::fs::read(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_element_fails_with_the_selector_and_the_page() {
    if Browser::skip("a_missing_element_fails_with_the_selector_and_the_page") {
        return;
    }
    let browser = Browser::start().await;
    browser
        .goto("data:text/html,<h1>Guild</h1><input id=a><button id=b onclick=\"document.querySelector('h1').textContent='clicked '+document.getElementById('a').value\">go</button>")
        .await;
    browser.fill("#a", "seven").await;
    browser.click("#b").await;
    assert_eq!(
        browser
            .wait_for_text("h1", "clicked", Duration::from_secs(5))
            .await,
        "clicked seven"
    );
    // A wait that cannot succeed panics and says what it looked for.
    let missing = tokio::spawn(async move {
        browser
            .wait_for("#nowhere", Duration::from_millis(300))
            .await;
    })
    .await;
    let panic = missing.expect_err("waiting for a missing element must fail");
    let message = panic
        .into_panic()
        .downcast::<String>()
        .map(|s| *s)
        .unwrap_or_default();
    assert!(
        message.contains("no element matches `#nowhere`"),
        "{message}"
    );
    assert!(
        message.contains("Guild"),
        "the page's text is quoted: {message}"
    );
}
