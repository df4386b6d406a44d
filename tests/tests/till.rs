//! The till's side on a real node (`guild node` process), as issue 14
//! found it and as docs/till.md tells a till vendor:
//!
//! - **the refund case exactly as found**: the bakery (1 point per £0.10)
//!   sells R-1001 for £6.50 (65 points) and another receipt for £0.10
//!   (1 point) to the same customer on the same day; `guild shop reverse
//!   --receipt R-1001` takes back 65 points, not 66, and says so in its
//!   message, its table and `--json`; the other receipt's point stays;
//!   the customer's history (`GET /v1/accounts/{a}/history`, `guild wallet
//!   history`) shows the bakery, the date and the 65 points lost, with the
//!   receipt id the bakery typed;
//! - `POST /v1/refund` says what *this* refund took, what it could not
//!   (already spent) and the receipt's points left, in figures and in one
//!   sentence;
//! - the Python example (docs/examples/till.py, standard library only)
//!   runs against the node: preview, sale, a retried sale, a partial and a
//!   full refund, and a wrong token (when `python3` is installed; `.ci/run`
//!   installs it).

mod common;

use common::*;
use serde_json::{Value, json};
use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// `guild --node API --wallet W --passphrase-file P [--json] shop ARGS…` as
/// shop `i`: (stdout, stderr), failing if it exits non-zero.
fn shop_cli(net: &Net, i: usize, json: bool, args: &[&str]) -> String {
    let node = &net.nodes[i];
    let api = net.api(i);
    let mut all: Vec<&OsStr> = vec![
        OsStr::new("--node"),
        OsStr::new(&api),
        OsStr::new("--wallet"),
        node.wallet.as_ref().unwrap().as_os_str(),
        OsStr::new("--passphrase-file"),
        net.passphrase_file.as_os_str(),
    ];
    if json {
        all.push(OsStr::new("--json"));
    }
    all.push(OsStr::new("shop"));
    all.extend(args.iter().map(OsStr::new));
    let out = guild(&all);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "guild shop {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn till_token(net: &Net, i: usize, name: &str) -> String {
    let out = guild(&[
        OsStr::new("node"),
        OsStr::new("token"),
        OsStr::new("create"),
        OsStr::new("--data"),
        net.nodes[i].data.as_os_str(),
        OsStr::new("--name"),
        OsStr::new(name),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

async fn post(net: &Net, i: usize, path: &str, token: &str, body: Value) -> (u16, Value) {
    let response = net
        .http
        .post(format!("{}{path}", net.api(i)))
        .bearer_auth(token)
        .json(&body)
        .timeout(Duration::from_secs(40))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// A bakery with the devnet's rule (1 point per £0.10), started.
async fn bakery() -> Net {
    let mut net = Net::new(1);
    net.start_all();
    net.wait_height(0, 0, Duration::from_secs(30)).await;
    shop_cli(&net, 0, true, &["rules", "set", "--per", "0.10"]);
    net
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reversing_one_receipt_takes_only_its_points_and_says_so() {
    let net = bakery().await;
    let token = till_token(&net, 0, "till-1");
    let alice = customer(1).address().to_string();
    for (receipt, amount, points) in [("R-1001", 650, 65), ("R-1002", 10, 1)] {
        let (status, sale) = post(
            &net,
            0,
            "/v1/sale",
            &token,
            json!({"customer": alice, "amount": amount, "receipt": receipt, "timeout_ms": 30000}),
        )
        .await;
        assert_eq!((status, &sale["total"]), (200, &json!(points)), "{sale}");
    }
    assert_eq!(net.balance(0, &customer(1).address()).await, 66);

    // As found: reverse R-1001 with the CLI.
    let out = shop_cli(&net, 0, false, &["reverse", "--receipt", "R-1001"]);
    assert!(
        out.contains("Reversed receipt R-1001 (block "),
        "the earn is named:\n{out}"
    );
    assert!(
        out.contains(
            "Refund of 6.50 on receipt R-1001: took back 65 points. The sale is refunded in \
             full; the customer keeps none of its points."
        ),
        "the message:\n{out}"
    );
    let row = |label: &str| {
        out.lines()
            .find(|l| l.trim_start().starts_with(label))
            .unwrap_or_else(|| panic!("no row {label:?}:\n{out}"))
            .split_whitespace()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert!(out.contains("this reversal"), "{out}");
    assert!(out.contains("all refunds so far"), "{out}");
    assert_eq!(row("refunded")[1..], ["6.50", "6.50"], "{out}");
    assert_eq!(row("points taken back")[3..], ["65", "65"], "{out}");
    assert_eq!(
        row("could not take back (shortfall)")[5..],
        ["0", "0"],
        "{out}"
    );
    assert_eq!(
        row("points of the receipt left")[5..],
        ["0", "of", "65"],
        "{out}"
    );
    assert!(!out.contains("shortfall stays"), "no shortfall:\n{out}");
    // The other receipt's point is untouched.
    assert_eq!(net.balance(0, &customer(1).address()).await, 1);

    // The customer's history: the bakery, the date, the points lost, the
    // receipt as the bakery typed it.
    // (The node's insights follow the block a moment after it is final.)
    let mut history = Value::Null;
    for _ in 0..50 {
        let (status, answer) = net
            .get(0, &format!("/v1/accounts/{alice}/history"))
            .await
            .unwrap();
        assert_eq!(status, 200, "{answer}");
        history = answer;
        if !history[0]["reversal"].is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let reversal = &history[0];
    assert_eq!(reversal["kind"], "reverse", "{history}");
    assert_eq!(reversal["receipt_id"], "R-1001", "{history}");
    assert_eq!(
        reversal["reversal"],
        json!({"taken": 65, "shortfall": 0}),
        "{history}"
    );
    assert_eq!(history[1]["receipt_id"], "R-1002", "{history}");
    let out = guild(&[
        OsStr::new("--node"),
        OsStr::new(&net.api(0)),
        OsStr::new("wallet"),
        OsStr::new("history"),
        OsStr::new("--address"),
        OsStr::new(&alice),
    ]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{text}");
    let line = text
        .lines()
        .find(|l| l.contains("reverse"))
        .unwrap_or_else(|| panic!("no reversal in the history:\n{text}"));
    assert!(
        line.contains("-65")
            && line.contains("Bakery took back 65 points (reversal of receipt R-1001)"),
        "{line}"
    );
    assert!(line.contains(&today()), "the date: {line}");

    // The second receipt with the till API, after the customer spent
    // nothing: --json of the CLI names the same figures; here the API.
    let (status, refund) = post(
        &net,
        0,
        "/v1/refund",
        &token,
        json!({"receipt": "R-1002", "timeout_ms": 30000}),
    )
    .await;
    assert_eq!(status, 200, "{refund}");
    assert_eq!(refund["receipt_id"], "R-1002");
    assert_eq!(refund["points"], json!({"taken": 1, "shortfall": 0}));
    assert_eq!(refund["refunded"], 10);
    assert_eq!(refund["receipt"]["receipt_id"], "R-1002");
    assert_eq!(refund["receipt"]["remaining"], 0);
    assert_eq!(
        refund["message"],
        "Refund of 0.10 on receipt R-1002: took back 1 point. The sale is refunded in full; \
         the customer keeps none of its points."
    );
    assert_eq!(net.balance(0, &customer(1).address()).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refund_says_what_it_took_and_what_was_already_spent() {
    let net = bakery().await;
    let token = till_token(&net, 0, "till-1");
    let alice = customer(1);
    let address = alice.address().to_string();
    let (status, sale) = post(
        &net,
        0,
        "/v1/sale",
        &token,
        json!({"customer": address, "amount": 1000, "receipt": "R-2001", "timeout_ms": 30000}),
    )
    .await;
    assert_eq!((status, &sale["total"]), (200, &json!(100)), "{sale}");
    // Half refunded: 50 of the 100 points come back.
    let (status, refund) = post(
        &net,
        0,
        "/v1/refund",
        &token,
        json!({"receipt": "R-2001", "amount": 500, "timeout_ms": 30000}),
    )
    .await;
    assert_eq!(status, 200, "{refund}");
    assert_eq!(refund["points"], json!({"taken": 50, "shortfall": 0}));
    assert_eq!(
        refund["message"],
        "Refund of 5.00 on receipt R-2001: took back 50 points. 5.00 of the sale is left to \
         refund; the customer keeps 50 points of this receipt."
    );
    // The customer sends 40 of the 50 left to a friend (spent, as far as
    // the receipt is concerned).
    let transfer = net.transfer(&alice, 0, &customer(2).address(), 40);
    let (status, answer) = net.submit(0, &transfer, true).await;
    assert_eq!(status, 200, "{answer}");
    // The rest refunded: 50 due, 10 held: 10 taken, 40 short.
    let (status, refund) = post(
        &net,
        0,
        "/v1/refund",
        &token,
        json!({"receipt": "R-2001", "timeout_ms": 30000}),
    )
    .await;
    assert_eq!(status, 200, "{refund}");
    assert_eq!(refund["points"], json!({"taken": 10, "shortfall": 40}));
    assert_eq!(refund["refunded"], 500);
    assert_eq!(
        refund["receipt"],
        json!({"receipt_id": "R-2001", "given": 100, "purchase": 1000, "refunded": 1000,
               "taken": 60, "shortfall": 40, "remaining": 0})
    );
    let message = refund["message"].as_str().unwrap();
    assert!(
        message.starts_with(
            "Refund of 5.00 on receipt R-2001: took back 10 points; 40 points could not be taken back"
        ),
        "{message}"
    );
    assert!(message.contains("the customer owes nothing"), "{message}");
    // A third refund: nothing is left.
    let (status, refused) = post(
        &net,
        0,
        "/v1/refund",
        &token,
        json!({"receipt": "R-2001", "timeout_ms": 30000}),
    )
    .await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["error"]["code"], "already_reversed");
}

fn today() -> String {
    let out = Command::new("date")
        .args(["-u", "+%Y-%m-%d"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn python() -> Option<PathBuf> {
    let found = Command::new("python3").arg("--version").output().ok()?;
    found.status.success().then(|| PathBuf::from("python3"))
}

/// Runs the example till: (exit code, stdout, stderr).
fn till_py(net: &Net, token_file: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/examples/till.py");
    let out = Command::new("python3")
        .arg(script)
        .arg("--node")
        .arg(net.api(0))
        .arg("--token-file")
        .arg(token_file)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_example_till_works_against_a_real_node() {
    if python().is_none() {
        eprintln!("python3 is not installed: the example till is not run (.ci/run installs it)");
        return;
    }
    let net = bakery().await;
    let token_file = net.dir.path().join("till-token.txt");
    std::fs::write(&token_file, till_token(&net, 0, "till-1")).unwrap();
    let alice = customer(1).address().to_string();
    let (code, out, err) = till_py(
        &net,
        &token_file,
        &["preview", "--customer", &alice, "--amount", "6.50"],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out.trim(), "This sale would earn 65 points.");
    let sale = [
        "sale",
        "--customer",
        &alice,
        "--amount",
        "6.50",
        "--receipt",
        "R-1001",
    ];
    let (code, out, err) = till_py(&net, &token_file, &sale);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out.trim(), "Receipt R-1001: 65 points issued.");
    // The same sale again (a till retrying after a lost answer).
    let (code, out, err) = till_py(&net, &token_file, &sale);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        out.trim(),
        "Receipt R-1001 was already recorded; nothing was issued twice."
    );
    assert_eq!(net.balance(0, &customer(1).address()).await, 65);
    let (code, out, err) = till_py(
        &net,
        &token_file,
        &[
            "--json",
            "refund",
            "--receipt",
            "R-1001",
            "--amount",
            "3.25",
        ],
    );
    assert_eq!(code, 0, "{out}{err}");
    let answer: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(answer["points"], json!({"taken": 32, "shortfall": 0}));
    assert!(
        err.contains("Refund of 3.25 on receipt R-1001: took back 32 points."),
        "{err}"
    );
    let (code, out, err) = till_py(&net, &token_file, &["refund", "--receipt", "R-1001"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("Refund of 3.25 on receipt R-1001: took back 33 points."),
        "{out}"
    );
    // Refused: nothing left to refund; a bad amount; a wrong token.
    let (code, _, err) = till_py(&net, &token_file, &["refund", "--receipt", "R-1001"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("This receipt was already refunded in full. (already_reversed:"),
        "{err}"
    );
    let (code, _, err) = till_py(
        &net,
        &token_file,
        &[
            "sale",
            "--customer",
            &alice,
            "--amount",
            "12,50",
            "--receipt",
            "R-9",
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("'12,50' is not an amount: write it like 12.50"),
        "{err}"
    );
    let wrong = net.dir.path().join("wrong-token.txt");
    std::fs::write(
        &wrong,
        "gld_0000000000000000000000000000000000000000000000000000000000000000",
    )
    .unwrap();
    let (code, _, err) = till_py(
        &net,
        &wrong,
        &["preview", "--customer", &alice, "--amount", "1.00"],
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("This till is not connected to the shop's loyalty node")
            && err.contains("(unauthorized:"),
        "{err}"
    );
}
