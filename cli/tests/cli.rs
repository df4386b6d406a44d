//! The `guild` binary's basic contract: help, and clear errors with a
//! non-zero exit for bad set-up.

use assert_cmd::Command;

fn guild() -> Command {
    Command::cargo_bin("guild").unwrap()
}

#[test]
fn help_lists_the_commands() {
    let output = guild().arg("--help").output().unwrap();
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    for command in ["node", "devnet", "bench", "customer"] {
        assert!(text.contains(command), "{text}");
    }
}

#[test]
fn customer_commands_say_how_to_get_the_admin_token() {
    let output = guild()
        .env_remove("GUILD_TOKEN")
        .env_remove("GUILD_TOKEN_FILE")
        .args(["--node", "http://127.0.0.1:9", "customer", "list"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(
        text.contains("--token-file FILE or set GUILD_TOKEN")
            && text.contains("guild node token create --data DIR --name console --scope admin"),
        "{text}"
    );
    // A mistyped address is caught before any request.
    let output = guild()
        .env("GUILD_TOKEN", "gld_x")
        .args([
            "--node",
            "http://127.0.0.1:9",
            "customer",
            "show",
            "guild1nope",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(text.contains("guild1nope"), "{text}");
    // So is a birthday that does not exist.
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "gld_x").unwrap();
    let output = guild()
        .args(["--node", "http://127.0.0.1:9", "customer", "add"])
        .arg("guild16chsz6s7l50ylhme866zekzyw8sm48cv7px39pa4e3clv93g0juqyppktj")
        .args(["--birthday", "02-30", "--token-file"])
        .arg(&token)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(text.contains("month 2 has 29 days"), "{text}");
}

#[test]
fn a_missing_genesis_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let output = guild()
        .args(["node", "--no-mdns", "--data"])
        .arg(dir.path().join("data"))
        .arg("--genesis")
        .arg(dir.path().join("nope.json"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(text.contains("cannot read genesis file"), "{text}");
}

#[test]
fn a_broken_genesis_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let genesis = dir.path().join("genesis.json");
    std::fs::write(&genesis, "{\"chain_id\": \"x\"}").unwrap();
    let output = guild()
        .args(["node", "--no-mdns", "--data"])
        .arg(dir.path().join("data"))
        .arg("--genesis")
        .arg(&genesis)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(text.contains("is not valid"), "{text}");
}

#[test]
fn devnet_refuses_a_directory_that_is_not_a_devnet() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("something.txt"), "hello").unwrap();
    let output = guild()
        .args(["devnet", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(text.contains("is not a devnet"), "{text}");
}

#[test]
fn node_tokens_are_made_listed_and_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let run = |args: &[&str]| guild().args(args).output().unwrap();

    let made = run(&[
        "node", "token", "create", "--data", data, "--name", "till-1",
    ]);
    assert!(made.status.success(), "{made:?}");
    let token = String::from_utf8(made.stdout).unwrap().trim().to_string();
    assert!(token.starts_with("gld_") && token.len() == 68, "{token}");
    let said = String::from_utf8_lossy(&made.stderr);
    assert!(said.contains("cannot show it again"), "{said}");
    assert!(
        said.contains(&format!("Authorization: Bearer {token}")),
        "{said}"
    );

    let again = run(&[
        "node", "token", "create", "--data", data, "--name", "till-1",
    ]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));
    let bad_scope = run(&[
        "node", "token", "create", "--data", data, "--name", "t", "--scope", "root",
    ]);
    assert_eq!(bad_scope.status.code(), Some(2));

    let listed = run(&["--json", "node", "token", "list", "--data", data]);
    assert!(listed.status.success(), "{listed:?}");
    let json: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(json["tokens"][0]["name"], "till-1");
    assert_eq!(json["tokens"][0]["scopes"], serde_json::json!(["sale"]));
    assert_eq!(json["tokens"][0]["prefix"], &token[..12]);

    let revoked = run(&["node", "token", "revoke", "--data", data, "till-1"]);
    assert!(revoked.status.success(), "{revoked:?}");
    let unknown = run(&["node", "token", "revoke", "--data", data, "till-1"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no token is named 'till-1'"));

    let missing = dir.path().join("nope");
    let output = guild()
        .args(["node", "token", "list", "--data"])
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("there is no data directory"));
}

#[test]
fn insights_refuse_bad_input_before_asking_a_node() {
    // No node listens on port 9: the input is refused before any request.
    let run = |args: &[&str]| {
        guild()
            .args(["--node", "http://127.0.0.1:9"])
            .args(args)
            .output()
            .unwrap()
    };
    for (args, says) in [
        (
            &["insights", "customers", "--segment", "vip"][..],
            "'vip' is not a segment: the segments are champions, loyal, potential_loyalist",
        ),
        (
            &["insights", "kpis", "--from", "2026-13-01"][..],
            "bad --from: '2026-13-01' is not a real date",
        ),
        (
            &["insights", "kpis", "--to", "1 March"][..],
            "bad --to: '1 March' is not a date of the form YYYY-MM-DD",
        ),
        (
            &[
                "insights",
                "kpis",
                "--from",
                "2026-03-02",
                "--to",
                "2026-03-01",
            ][..],
            "--to 2026-03-01 is before --from 2026-03-02",
        ),
    ] {
        let output = run(args);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        let text = String::from_utf8_lossy(&output.stderr);
        assert!(text.contains(says), "{args:?}: {text}");
    }
    // A good query to no node says so.
    let output = run(&["insights", "segments"]);
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(
        text.contains("cannot reach node at http://127.0.0.1:9"),
        "{text}"
    );
}

#[test]
fn automation_mistakes_are_named_before_anything_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("admin-token.txt");
    std::fs::write(&token, format!("gld_{}\n", "ab".repeat(32))).unwrap();
    // No node listens on port 9: a mistake must be found before asking it.
    let run = |args: &[&str]| {
        guild()
            .args(["--node", "http://127.0.0.1:9", "automation"])
            .args(args)
            .arg("--token-file")
            .arg(&token)
            .output()
            .unwrap()
    };
    for (args, expected) in [
        (
            vec!["add", "x", "--trigger", "sunday", "--action", "todo:hi"],
            "--trigger \"sunday\"",
        ),
        (
            vec![
                "add",
                "x",
                "--trigger",
                "days-since-last-purchase",
                "--action",
                "todo:hi",
            ],
            "write it like days-since-last-purchase:42",
        ),
        (
            vec![
                "add",
                "x",
                "--trigger",
                "birthday",
                "--action",
                "todo:Call {nmae}",
            ],
            "{nmae} is not a placeholder",
        ),
        (
            vec![
                "add",
                "x",
                "--trigger",
                "birthday",
                "--action",
                "email:Hello",
            ],
            "needs its text",
        ),
    ] {
        let output = run(&args);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        let text = String::from_utf8_lossy(&output.stderr);
        assert!(text.contains(expected), "{args:?}: {text}");
    }
    // Without a token at all, the message says where to get one.
    let output = guild()
        .args(["--node", "http://127.0.0.1:9", "automation", "list"])
        .env_remove("GUILD_TOKEN")
        .env_remove("GUILD_TOKEN_FILE")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("admin token"));
    // A well-formed request to a node that is not there.
    let output = run(&["list"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot reach node"));
}

#[test]
fn a_new_wallet_needs_a_passphrase_of_eight_characters() {
    let dir = tempfile::tempdir().unwrap();
    let wallet = dir.path().join("alice.json");
    let pass = dir.path().join("pass.txt");
    std::fs::write(&pass, "x\n").unwrap();
    let output = guild()
        .env_remove("GUILD_PASSPHRASE")
        .env_remove("GUILD_PASSPHRASE_FILE")
        .arg("--wallet")
        .arg(&wallet)
        .arg("--passphrase-file")
        .arg(&pass)
        .args(["wallet", "new", "--name", "alice"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(
        text.contains("the passphrase is too short: use at least 8 characters"),
        "{text}"
    );
    assert!(!wallet.exists(), "nothing is written");
    std::fs::write(&pass, "blue kettle\n").unwrap();
    let output = guild()
        .env_remove("GUILD_PASSPHRASE")
        .env_remove("GUILD_PASSPHRASE_FILE")
        .arg("--wallet")
        .arg(&wallet)
        .arg("--passphrase-file")
        .arg(&pass)
        .args(["wallet", "new", "--name", "alice"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert!(wallet.exists());
}

#[test]
fn wallet_help_shows_only_what_wallet_commands_use() {
    let output = guild()
        .args(["wallet", "balance", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("--wallet"), "{text}");
    assert!(!text.contains("--log"), "a node-only option: {text}");
    let output = guild().args(["node", "--help"]).output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("GUILD_LOG"), "{text}");
    assert!(text.contains("`--wallet FILE` means"), "{text}");
}

#[test]
fn a_node_given_two_different_wallets_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let genesis = dir.path().join("genesis.json");
    std::fs::write(&genesis, "{}").unwrap();
    let output = guild()
        .env_remove("GUILD_WALLET")
        .args(["--wallet", "a.json", "node", "--key", "b.json", "--data"])
        .arg(dir.path().join("data"))
        .arg("--genesis")
        .arg(&genesis)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(
        text.contains("--key b.json and --wallet a.json name different wallet files"),
        "{text}"
    );
}

#[test]
fn status_of_a_node_that_is_down_exits_1_and_says_what_to_do() {
    let output = guild()
        .args(["--node", "http://127.0.0.1:9", "status"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(
        text.contains("cannot reach node at http://127.0.0.1:9 (is your node running? start it with `guild node …`, or `guild devnet` on a test machine)"),
        "{text}"
    );
    let output = guild()
        .args(["--node", "http://127.0.0.1:9", "--json", "status"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let body: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(body["error"]["code"], "node_unreachable", "{body}");
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    // `guild … | head -1`: the reader is gone before guild writes.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let output = std::process::Command::new(assert_cmd::cargo::cargo_bin("guild"))
        .args([
            "insights",
            "fit",
            "--calibration-end",
            "1997-09-30",
            "--purchases",
        ])
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../insights/tests/data/cdnow_sample.csv"
        ))
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(output.status.code(), Some(141), "{stderr}");
}

/// A new wallet in `dir` (passphrase "pass"), and its path.
fn new_wallet(dir: &std::path::Path) -> std::path::PathBuf {
    let wallet = dir.join("wallet.json");
    let output = guild()
        .env("GUILD_PASSPHRASE", "pass")
        .arg("--wallet")
        .arg(&wallet)
        .args(["wallet", "new"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    wallet
}

/// `guild --wallet WALLET wallet redeem ARGS` with the passphrase, on a
/// node address where nothing listens.
fn redeem(wallet: &std::path::Path, args: &[&str]) -> std::process::Output {
    guild()
        .env("GUILD_PASSPHRASE", "pass")
        .args(["--node", "http://127.0.0.1:9", "--wallet"])
        .arg(wallet)
        .args(["wallet", "redeem"])
        .args(args)
        .output()
        .unwrap()
}

const SHOP: &str = "guild16chsz6s7l50ylhme866zekzyw8sm48cv7px39pa4e3clv93g0juqyppktj";

#[test]
fn a_redemption_request_that_does_not_parse_is_refused_with_why() {
    let dir = tempfile::tempdir().unwrap();
    let wallet = new_wallet(dir.path());
    let output = redeem(&wallet, &["--request", "pay me 25 points"]);
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(
        text.contains("is not a redemption request: it should start with 'guild:redeem?'"),
        "{text}"
    );
    let cut = format!("guild:redeem?shop={SHOP}&points=25");
    let output = redeem(&wallet, &["--request", &cut]);
    assert_eq!(output.status.code(), Some(1));
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(text.contains("has no 'ref'"), "{text}");
}

#[test]
fn a_request_goes_without_at_and_points() {
    let dir = tempfile::tempdir().unwrap();
    let wallet = new_wallet(dir.path());
    let request = format!("guild:redeem?shop={SHOP}&points=25&ref=T-42");
    let output = redeem(&wallet, &["--request", &request, "--at", "cafe"]);
    assert_eq!(output.status.code(), Some(2), "a usage error");
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(text.contains("cannot be used with"), "{text}");
    // Without a request, --at and --points are needed.
    let output = redeem(&wallet, &["--at", "cafe"]);
    assert_eq!(output.status.code(), Some(2), "a usage error");
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(text.contains("--points"), "{text}");
}

#[test]
fn a_request_signed_into_a_file_is_the_redemption_it_asks_for() {
    use guild_ledger::tx::TxBody;
    use guild_ledger::types::Points;

    let dir = tempfile::tempdir().unwrap();
    let wallet = new_wallet(dir.path());
    let request = format!("guild:redeem?ref=T-42&points=25&shop={SHOP}");
    let out = dir.path().join("for-the-till.json");
    let offline = [
        "--offline",
        "--nonce",
        "3",
        "--chain-id",
        "main-street",
        "--out",
        out.to_str().unwrap(),
    ];
    // The wallet's confirmation rule applies as to a typed redemption.
    let output = guild()
        .env("GUILD_PASSPHRASE", "pass")
        .arg("--wallet")
        .arg(&wallet)
        .args(["wallet", "confirm", "--above", "10"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let mut args = vec!["--request", request.as_str()];
    args.extend(offline);
    let output = redeem(&wallet, &args);
    assert_eq!(output.status.code(), Some(1));
    assert!(!out.exists(), "nothing is signed without the confirmation");
    args.extend(["--confirm", "25"]);
    let output = redeem(&wallet, &args);
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("reference:   T-42"), "{text}");
    assert!(text.contains("Hand this file"), "{text}");

    let (file, signed) = guild_wallet::offline::SignedFile::read(&out).unwrap();
    assert_eq!(file.chain_id.as_str(), "main-street");
    assert_eq!(signed.tx.nonce.0, 3);
    assert_eq!(
        signed.tx.body,
        TxBody::Redeem {
            shop: SHOP.parse().unwrap(),
            points: Points(25),
        }
    );
    assert!(file.summary.contains("T-42"), "{}", file.summary);
    // One JSON document: what a till reads pasted is the file's text.
    let text = std::fs::read_to_string(&out).unwrap();
    let pasted: guild_wallet::offline::SignedFile = serde_json::from_str(&text).unwrap();
    assert_eq!(pasted, file);
}
