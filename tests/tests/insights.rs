//! `guild insights customers | segments | kpis` as the real `guild` binary
//! against a real node: a few purchases at the Bakery and the Cafe, then
//! the tables, CSV and JSON a shop owner gets, and every bad input with
//! its message and exit code.

mod common;

use common::*;
use guild_ledger::crypto::{Address, Keypair};
use guild_ledger::tx::{SignedTransaction, Transaction, TxBody};
use guild_ledger::types::{Cents, Nonce, Points, ReceiptHash};
use serde_json::Value;
use std::ffi::OsStr;
use std::time::Duration;

/// A till's earn reporting a purchase of `pence`.
fn purchase(
    net: &Net,
    shop: usize,
    nonce: u64,
    customer: &Address,
    pence: u64,
    receipt: &str,
) -> SignedTransaction {
    let key = net.shop(shop);
    Transaction {
        author: key.address(),
        nonce: Nonce(nonce),
        body: TxBody::Earn {
            reason: guild_ledger::Memo::new("sale").unwrap(),
            customer: *customer,
            points: Points(pence / 100),
            purchase: Some(Cents(pence)),
            receipt: ReceiptHash::new(&key.address(), receipt),
        },
    }
    .sign(key, &net.chain_id)
}

fn run(net: &Net, args: &[&str]) -> std::process::Output {
    let api = net.api(0);
    let mut all: Vec<&OsStr> = vec![OsStr::new("--node"), OsStr::new(&api)];
    all.extend(args.iter().map(OsStr::new));
    guild(&all)
}

fn ok(output: &std::process::Output) -> String {
    assert!(
        output.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn fails_with(output: &std::process::Output, message: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(message),
        "stderr lacks {message:?}: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_shop_owner_reads_customers_segments_and_kpis() {
    let mut net = Net::new(2);
    net.start_all();
    net.wait_height(0, 0, Duration::from_secs(30)).await;
    let c = |n: u8| Keypair::from_secret(&[100 + n; 32]).address();
    // c1: £12.50 and £3.00 at the Bakery, £4.00 at the Cafe; c2: £20.00
    // at the Bakery.
    let txs = [
        purchase(&net, 0, 0, &c(1), 1250, "A-1"),
        purchase(&net, 0, 1, &c(1), 300, "A-2"),
        purchase(&net, 0, 2, &c(2), 2000, "A-3"),
        purchase(&net, 1, 0, &c(1), 400, "B-1"),
    ];
    net.submit_all(0, &txs).await;

    // The Bakery's customers as CSV: c2 (£20.00) before c1 (£15.50).
    let csv = ok(&run(
        &net,
        &[
            "insights",
            "customers",
            "--shop",
            "bakery",
            "--format",
            "csv",
        ],
    ));
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(
        lines[0].starts_with("customer,segment,r,f,m,first_purchase"),
        "{csv}"
    );
    let c2: Vec<&str> = lines[1].split(',').collect();
    let c1: Vec<&str> = lines[2].split(',').collect();
    assert_eq!(c2[0], c(2).to_string());
    assert_eq!(c1[0], c(1).to_string());
    // spend, currency, points earned (columns 10 to 12).
    assert_eq!(&c2[10..13], ["20.00", "GBP", "20"]);
    assert_eq!(&c1[10..13], ["15.50", "GBP", "15"]);
    // Two customers: R ties (same day) at 3, F ties at 3, M 2 and 4.
    assert_eq!(&c2[1..5], ["need_attention", "3", "3", "4"]);
    assert_eq!(&c1[1..5], ["need_attention", "3", "3", "2"]);

    // The group's table names both shops' customers, with pounds.
    let table = ok(&run(&net, &["insights", "customers"]));
    assert!(
        table.contains("Customers of the group (all shops)"),
        "{table}"
    );
    assert!(table.contains("2 of 2 customers"), "{table}");
    assert!(
        table.contains("£19.50") && table.contains("£20.00"),
        "{table}"
    );
    assert!(table.contains("Need attention"), "{table}");
    assert!(
        table.contains("0 made a repeat purchase, at least 30 are needed"),
        "{table}"
    );

    // JSON is the node's answer.
    let json: Value = serde_json::from_str(&ok(&run(
        &net,
        &["--json", "insights", "segments", "--shop", "Cafe"],
    )))
    .unwrap();
    assert_eq!(json["shop"]["name"], "Cafe");
    assert_eq!(json["customers"], 1);

    // KPIs of the Bakery from the first day of the chain to today.
    let kpis: Value = serde_json::from_str(&ok(&run(
        &net,
        &["insights", "kpis", "--shop", "Bakery", "--format", "json"],
    )))
    .unwrap();
    assert_eq!(kpis["active_customers"], 2);
    assert_eq!(kpis["purchases"], 3);
    assert_eq!(kpis["spend"], 3550);
    assert_eq!(kpis["points_issued"], 35);
    assert_eq!(kpis["liability"], 35);
    // c1 also bought at the Cafe.
    assert_eq!(kpis["multi_shop_customers"], 1);
    let text = ok(&run(&net, &["insights", "kpis", "--shop", "Bakery"]));
    assert!(text.contains("Programme KPIs of Bakery"), "{text}");
    assert!(text.contains("£35.50 spent"), "{text}");
    assert!(text.contains("redemption rate 0.0%"), "{text}");

    // Bad input: a specific message, exit code 1.
    fails_with(
        &run(&net, &["insights", "customers", "--segment", "vip"]),
        "'vip' is not a segment: the segments are champions, loyal",
    );
    fails_with(
        &run(&net, &["insights", "customers", "--shop", "Nowhere"]),
        "no shop is called \"Nowhere\": the shops are Bakery, Cafe",
    );
    fails_with(
        &run(&net, &["insights", "kpis", "--from", "2026-02-30"]),
        "bad --from: '2026-02-30' is not a real date",
    );
    fails_with(
        &run(
            &net,
            &[
                "insights",
                "kpis",
                "--from",
                "2026-03-02",
                "--to",
                "2026-03-01",
            ],
        ),
        "--to 2026-03-01 is before --from 2026-03-02",
    );
    let out = run(
        &net,
        &["--json", "insights", "segments", "--shop", "Nowhere"],
    );
    let body: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(body["error"]["code"], "unknown_shop");
}
