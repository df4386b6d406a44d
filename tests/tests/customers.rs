//! The customer directory on a real node, through the `guild` command:
//!
//! - `guild customer` refuses to run without an admin token and says how
//!   to make one;
//! - a shop adds a customer who has points on the ledger, shows the entry,
//!   records a withdrawn consent, exports everything it holds (the entry
//!   and the ledger lines of the key), and erases the entry;
//! - after the erasure the directory's file holds neither the name nor the
//!   email, the node's other files hold neither either, and
//!   `guild audit verify` still verifies the whole chain, whose lines of
//!   the key are unchanged;
//! - the directory survives a restart of the node.

mod common;

use common::*;
use serde_json::Value;
use std::ffi::OsStr;
use std::path::Path;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);

fn os(s: &str) -> &OsStr {
    OsStr::new(s)
}

/// Runs `guild --node API [--json] customer ARGS… --token-file FILE`;
/// returns the exit code, stdout and stderr.
fn run_customer(api: &str, token: &Path, json: bool, args: &[&str]) -> (i32, String, String) {
    let mut all = vec![os("--node"), os(api)];
    if json {
        all.push(os("--json"));
    }
    all.push(os("customer"));
    all.extend(args.iter().map(|a| os(a)));
    all.push(os("--token-file"));
    all.push(token.as_os_str());
    let out = guild(&all);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// Every file under `dir`, read whole.
fn files_under(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        if entry.file_type().unwrap().is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push((path.clone(), std::fs::read(&path).unwrap()));
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_is_added_exported_and_erased_and_the_chain_still_verifies() {
    let mut net = Net::new(1);
    net.start(0);
    net.wait_height(0, 0, WAIT).await;
    let api = net.api(0);
    let data = net.nodes[0].data.clone();
    let lee = customer(1).address();
    let lee_text = lee.to_string();

    // Points on the ledger first: the key the directory will describe.
    let earn = net.earn(0, 0, &lee, 30, "R-1");
    net.submit_all(0, &[earn]).await;

    // No token: the command says what to do.
    let out = guild(&[os("--node"), os(&api), os("customer"), os("list")]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("guild node token create --data DIR --name console --scope admin"),
        "{stderr}"
    );

    // The shop's admin token, made as the docs say.
    let out = guild(&[
        os("--json"),
        os("node"),
        os("token"),
        os("create"),
        os("--data"),
        data.as_os_str(),
        os("--name"),
        os("console"),
        os("--scope"),
        os("admin"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let made: Value = serde_json::from_slice(&out.stdout).unwrap();
    let token = net.dir.path().join("admin-token.txt");
    std::fs::write(&token, made["token"].as_str().unwrap()).unwrap();

    let (code, stdout, stderr) = run_customer(
        &api,
        &token,
        false,
        &[
            "add",
            &lee_text,
            "--name",
            "Mrs Eleanor Lee",
            "--email",
            "eleanor.lee@example.com",
            "--birthday",
            "02-29",
            "--consent",
            "messages",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout.trim(),
        format!(
            "Added Mrs Eleanor Lee ({lee}) to the Bakery's customer directory; consent: messages yes, profiling no."
        )
    );
    let other = customer(2).address().to_string();
    let (code, _, stderr) =
        run_customer(&api, &token, false, &["add", &other, "--name", "Mr Patel"]);
    assert_eq!(code, 0, "{stderr}");

    // Bad input: a clear error, exit 1, nothing sent.
    let (code, _, stderr) =
        run_customer(&api, &token, false, &["add", &lee_text, "--email", "lee"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("not an email address"), "{stderr}");
    let (code, stdout, _) = run_customer(&api, &token, true, &["add", &lee_text]);
    assert_eq!(code, 1);
    let error: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(error["error"]["code"], "customer_exists");

    let (code, stdout, stderr) = run_customer(&api, &token, true, &["show", &lee_text]);
    assert_eq!(code, 0, "{stderr}");
    let entry: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(entry["birthday"], "02-29");
    assert_eq!(entry["consent"]["messages"]["given"], true);
    assert_eq!(entry["consent"]["messages"]["last_change"]["via"], "cli");

    let (code, stdout, stderr) = run_customer(
        &api,
        &token,
        false,
        &[
            "consent",
            &lee_text,
            "--messages",
            "no",
            "--profiling",
            "yes",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("messages no, profiling yes"), "{stdout}");
    assert!(
        stdout.contains("No message will be sent to them"),
        "{stdout}"
    );

    let export = net.dir.path().join("lee-export.json");
    let (code, stdout, stderr) = run_customer(
        &api,
        &token,
        false,
        &["export", &lee_text, "--out", export.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("1 ledger lines"), "{stdout}");
    let exported: Value = serde_json::from_slice(&std::fs::read(&export).unwrap()).unwrap();
    assert_eq!(exported["directory"]["name"], "Mrs Eleanor Lee");
    assert_eq!(
        exported["directory"]["consent_log"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(exported["account"]["balance"], 30);
    assert_eq!(exported["history"][0]["kind"], "earn");
    assert_eq!(exported["shop"]["name"], "Bakery");

    let before_erase = net
        .get(0, &format!("/v1/accounts/{lee}/history"))
        .await
        .unwrap();

    // Erasing needs --yes without a terminal.
    let (code, _, stderr) = run_customer(&api, &token, false, &["erase", &lee_text]);
    assert_eq!(code, 1);
    assert!(stderr.contains("--yes"), "{stderr}");
    let (code, stdout, stderr) = run_customer(&api, &token, false, &["erase", &lee_text, "--yes"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains(&format!(
            "Erased {lee} from the Bakery's customer directory."
        )),
        "{stdout}"
    );
    assert!(stdout.contains("The ledger is unchanged"), "{stdout}");
    let (code, stdout, _) = run_customer(&api, &token, true, &["show", &lee_text]);
    assert_eq!(code, 1);
    let error: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(error["error"]["code"], "unknown_customer");

    // Nothing of the entry in the directory's file, nor in any file the
    // node keeps (the ledger never had it).
    let directory = std::fs::read_to_string(data.join("customers.json")).unwrap();
    assert!(directory.contains("Mr Patel"), "{directory}");
    for (path, bytes) in files_under(&data) {
        for trace in ["Eleanor", "eleanor.lee@example.com"] {
            assert!(
                !contains(&bytes, trace),
                "{trace} left in {}",
                path.display()
            );
        }
    }

    // The ledger is as it was, and the audit verifies every block.
    let after_erase = net
        .get(0, &format!("/v1/accounts/{lee}/history"))
        .await
        .unwrap();
    assert_eq!(after_erase, before_erase);
    let out = guild(&[
        os("--json"),
        os("audit"),
        os("--node"),
        os(&api),
        os("verify"),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["verified"], true);
    assert_eq!(summary["transactions"], 1);

    // The directory survives a restart.
    net.kill(0);
    net.start(0);
    net.wait_height(0, 1, WAIT).await;
    let (code, stdout, stderr) = run_customer(&api, &token, true, &["list"]);
    assert_eq!(code, 0, "{stderr}");
    let list: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(list["total"], 1);
    assert_eq!(list["customers"][0]["name"], "Mr Patel");
}
