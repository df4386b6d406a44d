//! The loyalty programme on real nodes: points come from published rules,
//! and every node checks them.
//!
//! Four shops run member nodes. The genesis has a silver tier (300 points
//! earned in 365 days, ×1.5). The test, through the `guild` command (rules,
//! campaigns, tokens) and the tills' HTTP API (`POST /v1/sale` with a bearer
//! token), checks:
//!
//! - the bakery and the café publish earn rules; sales at both shops give
//!   exactly the points the rules say (base rate, a ×2 coffee multiplier);
//! - a customer who earned past 300 points is silver, and the next sale gets
//!   the ×1.5 tier multiplier, line by line in the breakdown;
//! - the café's bonus campaign (50 points a sale, budget 120) pays in full,
//!   then what is left of its budget ("limited: budget"), then nothing with
//!   the reason `budget_spent`;
//! - a Christmas campaign co-funded by bakery 50%, café 30%, bookshop 20%
//!   runs only once all three signed it, and its cost appears in the
//!   settlement as debts of café and bookshop to the bakery by those shares;
//! - a sale signed with more points than the rules give is refused by
//!   every node with `points_mismatch: rules give 125, transaction claims
//!   130`;
//! - a refund of part of a sale takes back that part's points;
//! - all nodes end with the same head and balances.

mod common;

use common::*;
use guild_ledger::genesis::{Genesis, GenesisProgramme};
use guild_ledger::programme::{Basket, Claim, Tier, TierTable};
use guild_ledger::tx::TxBody;
use guild_ledger::types::{Cents, Permille, Points, ReceiptHash, TierName};
use serde_json::{Value, json};
use std::ffi::OsStr;
use std::time::Duration;

/// Gives the network's genesis a silver tier before the nodes start.
fn with_silver_tier(net: &Net) {
    let text = std::fs::read_to_string(&net.genesis).unwrap();
    let mut genesis: Genesis = serde_json::from_str(&text).unwrap();
    genesis.programme = GenesisProgramme {
        tiers: TierTable {
            window_days: 365,
            tiers: vec![Tier {
                name: TierName::new("silver").unwrap(),
                threshold: Points(300),
                multiplier: Permille(1500),
            }],
        },
        ..GenesisProgramme::default()
    };
    std::fs::write(
        &net.genesis,
        serde_json::to_string_pretty(&genesis).unwrap(),
    )
    .unwrap();
}

/// Runs `guild --node API --wallet W --passphrase-file P --json ARGS…` as
/// shop `i`, returning the JSON answer (and failing with the output if it
/// exits non-zero).
fn shop_cli(net: &Net, i: usize, args: &[&str]) -> Value {
    let node = &net.nodes[i];
    let api = net.api(i);
    let mut all: Vec<&OsStr> = vec![
        OsStr::new("--node"),
        OsStr::new(&api),
        OsStr::new("--wallet"),
        node.wallet.as_ref().unwrap().as_os_str(),
        OsStr::new("--passphrase-file"),
        net.passphrase_file.as_os_str(),
        OsStr::new("--json"),
        OsStr::new("shop"),
    ];
    all.extend(args.iter().map(OsStr::new));
    let out = guild(&all);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "guild shop {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

/// A till token for shop `i` (`guild node token create`).
fn till_token(net: &Net, i: usize) -> String {
    let out = guild(&[
        OsStr::new("node"),
        OsStr::new("token"),
        OsStr::new("create"),
        OsStr::new("--data"),
        net.nodes[i].data.as_os_str(),
        OsStr::new("--name"),
        OsStr::new("till-1"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `POST /v1/sale` at shop `i`'s node.
async fn sell(net: &Net, i: usize, token: &str, body: Value) -> (u16, Value) {
    let response = net
        .http
        .post(format!("{}/v1/sale", net.api(i)))
        .bearer_auth(token)
        .json(&body)
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// A final sale's answer, or a failure with the answer.
async fn sold(net: &Net, i: usize, token: &str, body: Value) -> Value {
    let (status, answer) = sell(net, i, token, body).await;
    assert_eq!(status, 200, "sale not final: {answer}");
    assert_eq!(answer["status"], "final", "{answer}");
    answer
}

fn campaign_line<'a>(answer: &'a Value, name: &str) -> &'a Value {
    answer["breakdown"]["campaigns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no campaign {name:?} in {answer}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn points_come_from_the_rules_on_the_ledger_and_every_node_checks_them() {
    let mut net = Net::new(4);
    with_silver_tier(&net);
    net.start_all();
    for i in 0..4 {
        net.wait_height(i, 0, Duration::from_secs(30)).await;
    }
    let (bakery, cafe, bookshop) = (0, 1, 2);
    let bakery_token = till_token(&net, bakery);
    let cafe_token = till_token(&net, cafe);

    // Earn rules, through the CLI.
    shop_cli(
        &net,
        bakery,
        &["rules", "set", "--per", "0.10", "--exclude", "gift-card"],
    );
    shop_cli(
        &net,
        cafe,
        &["rules", "set", "--per", "0.10", "--multiplier", "coffee:2"],
    );
    shop_cli(
        &net,
        cafe,
        &[
            "campaign",
            "publish",
            "--name",
            "Fifty on us",
            "--bonus",
            "50",
            "--budget",
            "120",
            "--end",
            "2099-01-01",
        ],
    );
    let shown = shop_cli(&net, cafe, &["rules", "show", "--shop", "Cafe"]);
    assert_eq!(shown["shops"][0]["name"], "Cafe", "{shown}");

    let alice = customer(1).address().to_string();
    // £12.50 at 1 point per 10p: 125.
    let a1 = sold(
        &net,
        bakery,
        &bakery_token,
        json!({"customer": alice, "amount": 1250, "receipt": "B-1"}),
    )
    .await;
    assert_eq!(a1["total"], 125, "{a1}");
    assert_eq!(a1["breakdown"]["base"], 125);
    assert_eq!(a1["breakdown"]["rule_version"], 1);

    // A forged sale: 130 points where the rules give 125. Every node refuses.
    let bakery_key = net.shop(bakery).clone();
    let nonce = net.nonce(bakery, &bakery_key.address()).await;
    let forged = net.sign(
        &bakery_key,
        nonce,
        TxBody::Sale {
            customer: customer(6).address(),
            receipt: ReceiptHash::new(&bakery_key.address(), "FORGED-1"),
            basket: Basket::new(Cents(1250), vec![]),
            claim: Claim {
                rule_version: 1,
                tier: None,
                campaigns: vec![],
                total: Points(130),
            },
        },
    );
    for i in 0..4 {
        let (status, answer) = net.submit(i, &forged, true).await;
        assert_eq!(status, 422, "node {i} took a forged sale: {answer}");
        assert_eq!(answer["error"]["code"], "points_mismatch", "{answer}");
        assert_eq!(
            answer["error"]["message"],
            "points mismatch: rules give 125, transaction claims 130"
        );
    }

    // £20.00 at the café with £5.00 of coffee at ×2: (500×2 + 1500)/10 =
    // 250, and the bonus campaign's 50.
    let a2 = sold(
        &net,
        cafe,
        &cafe_token,
        json!({"customer": alice, "amount": 2000, "items": [{"category": "coffee", "amount": 500}], "receipt": "C-1"}),
    )
    .await;
    assert_eq!(a2["breakdown"]["base"], 250, "{a2}");
    assert_eq!(campaign_line(&a2, "Fifty on us")["points"], 50);
    assert_eq!(a2["total"], 300);

    // Alice earned 425 points in the window: silver. £10.00 at the bakery:
    // 100 base and 50 from the tier.
    let a3 = sold(
        &net,
        bakery,
        &bakery_token,
        json!({"customer": alice, "amount": 1000, "receipt": "B-2"}),
    )
    .await;
    assert_eq!(a3["breakdown"]["tier"]["name"], "silver", "{a3}");
    assert_eq!(a3["breakdown"]["tier"]["earned_in_window"], 425);
    assert_eq!(a3["breakdown"]["tier"]["points"], 50);
    assert_eq!(a3["total"], 150);

    // The bonus campaign's budget: 120 − 50 = 70 left. Bob gets 50, Carol
    // the last 20, Dave nothing, and each breakdown says why.
    let bob = customer(2).address().to_string();
    let carol = customer(3).address().to_string();
    let dave = customer(4).address().to_string();
    let b = sold(
        &net,
        cafe,
        &cafe_token,
        json!({"customer": bob, "amount": 100}),
    )
    .await;
    assert_eq!(b["total"], 60, "{b}");
    let c = sold(
        &net,
        cafe,
        &cafe_token,
        json!({"customer": carol, "amount": 100}),
    )
    .await;
    assert_eq!(c["total"], 30, "{c}");
    let line = campaign_line(&c, "Fifty on us");
    assert_eq!(line["points"], 20);
    assert_eq!(
        line["outcome"],
        json!({"outcome": "limited", "reason": "budget"})
    );
    let d = sold(
        &net,
        cafe,
        &cafe_token,
        json!({"customer": dave, "amount": 100}),
    )
    .await;
    assert_eq!(d["total"], 10, "{d}");
    assert_eq!(
        campaign_line(&d, "Fifty on us")["outcome"],
        json!({"outcome": "not_given", "reason": "budget_spent"})
    );

    // A co-funded Christmas campaign: double points at the bakery, paid
    // 50/30/20 by bakery, café and bookshop. Not running until all signed.
    shop_cli(
        &net,
        bakery,
        &[
            "campaign",
            "publish",
            "--name",
            "Christmas",
            "--multiplier",
            "2",
            "--budget",
            "1000",
            "--end",
            "2099-01-01",
            "--fund",
            "Bakery:50",
            "--fund",
            "Cafe:30",
            "--fund",
            "Bookshop:20",
        ],
    );
    let eve = customer(5).address().to_string();
    let early = sold(
        &net,
        bakery,
        &bakery_token,
        json!({"customer": eve, "amount": 1000, "receipt": "B-3"}),
    )
    .await;
    assert_eq!(
        early["total"], 100,
        "an unsigned campaign gave points: {early}"
    );
    let listed = shop_cli(&net, bakery, &["campaigns"]);
    let christmas = listed["campaigns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["spec"]["name"] == "Christmas")
        .unwrap()
        .clone();
    assert_eq!(christmas["running"], false);
    let id = christmas["id"].as_u64().unwrap().to_string();
    shop_cli(&net, cafe, &["campaign", "approve", &id]);
    shop_cli(&net, bookshop, &["campaign", "approve", &id]);
    let e = sold(
        &net,
        bakery,
        &bakery_token,
        json!({"customer": eve, "amount": 1000, "receipt": "B-4"}),
    )
    .await;
    assert_eq!(campaign_line(&e, "Christmas")["points"], 100, "{e}");
    assert_eq!(e["total"], 200);
    let at = e["height"].as_u64().unwrap();
    net.wait_height(bookshop, at, Duration::from_secs(30)).await;
    let (_, settlement) = net.get(bookshop, "/v1/settlement").await.unwrap();
    let owed = |debtor: &str| {
        settlement["debts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["debtor_name"] == debtor && d["creditor_name"] == "Bakery")
            .map_or(0, |d| d["points"].as_u64().unwrap())
    };
    assert_eq!(owed("Cafe"), 30, "{settlement}");
    assert_eq!(owed("Bookshop"), 20, "{settlement}");

    // A refund of £4.00 of Eve's £10.00 sale takes back 40% of its 200
    // points.
    let response = net
        .http
        .post(format!("{}/v1/refund", net.api(bakery)))
        .bearer_auth(&bakery_token)
        .json(&json!({"receipt": "B-4", "amount": 400}))
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let refund: Value = response.json().await.unwrap();
    assert_eq!(refund["receipt"]["taken"], 80, "{refund}");
    assert_eq!(refund["receipt"]["shortfall"], 0);
    assert_eq!(refund["receipt"]["remaining"], 120);

    // Every node agrees.
    let head = net.height(bakery).await.unwrap();
    for i in 0..4 {
        net.wait_height(i, head, Duration::from_secs(30)).await;
        assert_eq!(
            net.block_hash(i, head).await,
            net.block_hash(bakery, head).await
        );
        assert_eq!(net.balance(i, &customer(1).address()).await, 575);
        assert_eq!(net.balance(i, &customer(5).address()).await, 220);
    }
}
