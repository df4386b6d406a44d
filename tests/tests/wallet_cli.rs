//! The `guild wallet`, `guild shop` and `guild submit` commands, run as the
//! real `guild` binary against four real `guild node` processes on
//! loopback: a customer earns at one shop, sends part to a friend, the
//! friend redeems at another shop; balances, lots and the inter-shop debt
//! are checked from `--json` output. Every bad input a person can make is
//! tried, with its message and exit code asserted.

mod common;

use assert_cmd::Command;
use common::*;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);
const CUSTOMER_PASSPHRASE: &str = "a customer's passphrase";

/// What one run of `guild` gave.
struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Out {
    /// Asserts success and parses stdout as JSON.
    fn ok_json(&self) -> Value {
        assert_eq!(self.code, Some(0), "expected success:\n{}", self.explain());
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.explain()))
    }

    /// Asserts success and returns stdout.
    fn ok_text(&self) -> &str {
        assert_eq!(self.code, Some(0), "expected success:\n{}", self.explain());
        &self.stdout
    }

    /// Asserts exit code 1 with `message` on stderr (and no panic or
    /// backtrace), and returns stderr.
    fn fails_with(&self, message: &str) -> &str {
        assert_eq!(
            self.code,
            Some(1),
            "expected exit code 1:\n{}",
            self.explain()
        );
        assert!(
            self.stderr.contains(message),
            "stderr lacks {message:?}:\n{}",
            self.explain()
        );
        for bad in ["panicked", "backtrace", "RUST_BACKTRACE", "Error {"] {
            assert!(!self.stderr.contains(bad), "{}", self.explain());
        }
        &self.stderr
    }

    /// With `--json`, a failure also prints `{"error":{"code","message"}}`.
    fn fails_with_code(&self, code: &str) {
        assert_eq!(
            self.code,
            Some(1),
            "expected exit code 1:\n{}",
            self.explain()
        );
        let body: Value = serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.explain()));
        assert_eq!(body["error"]["code"], code, "{}", self.explain());
        assert!(body["error"]["message"].as_str().is_some());
    }

    fn explain(&self) -> String {
        format!(
            "exit code {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs `guild` with a clean environment (no passphrase, node or wallet
/// from the caller's shell; HOME in the test directory).
struct Guild {
    node: String,
    home: PathBuf,
    dir: PathBuf,
}

impl Guild {
    fn command(&self) -> Command {
        let mut cmd = Command::new(guild_bin());
        for var in [
            "GUILD_PASSPHRASE",
            "GUILD_PASSPHRASE_FILE",
            "GUILD_NODE",
            "GUILD_WALLET",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("HOME", &self.home)
            .env("GUILD_NODE", &self.node)
            .current_dir(&self.dir)
            .timeout(Duration::from_secs(90));
        cmd
    }

    fn run(&self, env: &[(&str, &str)], args: &[&str]) -> Out {
        let mut cmd = self.command();
        for (k, v) in env {
            cmd.env(k, v);
        }
        let output = cmd.args(args).output().unwrap();
        Out {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// A customer's wallet command.
    fn customer(&self, wallet: &Path, args: &[&str]) -> Out {
        let wallet = wallet.to_str().unwrap();
        let mut all = vec!["--wallet", wallet, "wallet"];
        all.extend_from_slice(args);
        self.run(&[("GUILD_PASSPHRASE", CUSTOMER_PASSPHRASE)], &all)
    }

    /// A shop command with shop `i`'s wallet.
    fn shop(&self, net: &Net, i: usize, args: &[&str]) -> Out {
        let wallet = net.nodes[i].wallet.as_ref().unwrap().to_str().unwrap();
        let pass = net.passphrase_file.to_str().unwrap();
        let mut all = vec!["--wallet", wallet, "--passphrase-file", pass, "shop"];
        all.extend_from_slice(args);
        self.run(&[], &all)
    }
}

/// A customer's new wallet: its path and address.
fn new_wallet(guild: &Guild, name: &str) -> (PathBuf, String) {
    let path = guild.dir.join(format!("{name}.json"));
    let out = guild
        .customer(&path, &["--json", "new", "--name", name])
        .ok_json();
    assert_eq!(out["name"], name);
    let address = out["address"].as_str().unwrap().to_string();
    assert!(address.starts_with("guild1"), "{out}");
    (path, address)
}

fn balance(guild: &Guild, wallet: &Path) -> Value {
    guild.customer(wallet, &["--json", "balance"]).ok_json()
}

/// The address with its last character changed: a typo the checksum
/// catches.
fn typo(address: &str) -> String {
    let mut chars: Vec<char> = address.chars().collect();
    let last = chars.len() - 1;
    chars[last] = if chars[last] == 'q' { 'p' } else { 'q' };
    chars.into_iter().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customers_and_shops_earn_send_redeem_settle_and_govern_from_the_command_line() {
    let mut net = Net::new(4);
    net.start_all();
    for i in 0..4 {
        net.wait_height(i, 0, WAIT).await;
    }
    let work = tempfile::tempdir().unwrap();
    let guild = Guild {
        node: net.api(0),
        home: work.path().join("home"),
        dir: work.path().to_path_buf(),
    };
    std::fs::create_dir_all(&guild.home).unwrap();
    let bakery = net.shop(0).address().to_string();
    let cafe = net.shop(1).address().to_string();

    // ---- Keys -----------------------------------------------------------
    let (alice_wallet, alice) = new_wallet(&guild, "alice");
    let (bob_wallet, bob) = new_wallet(&guild, "bob");
    let listed = guild.customer(&alice_wallet, &["--json", "list"]).ok_json();
    assert_eq!(listed["keys"][0]["address"], alice.as_str());
    // The address needs no passphrase.
    let shown = guild
        .run(
            &[],
            &[
                "--wallet",
                alice_wallet.to_str().unwrap(),
                "wallet",
                "address",
            ],
        )
        .ok_text()
        .trim()
        .to_string();
    assert_eq!(shown, alice);

    // ---- A customer earns at shop A (Bakery) ----------------------------
    let earned = guild
        .shop(
            &net,
            0,
            &[
                "--json",
                "earn",
                "--reason",
                "test grant",
                "--to",
                &alice,
                "--points",
                "100",
                "--purchase",
                "12.50",
                "--receipt",
                "R-1",
            ],
        )
        .ok_json();
    assert_eq!(earned["status"], "final", "{earned}");
    assert_eq!(earned["points"], 100);
    assert_eq!(earned["purchase_cents"], 1250);
    assert_eq!(earned["receipt"], "R-1");
    assert_eq!(earned["tx"]["body"]["purchase"], 1250);

    // ---- …sends part of it to a friend ----------------------------------
    let sent = guild
        .customer(
            &alice_wallet,
            &[
                "--json", "send", "--to", &bob, "--points", "30", "--memo", "lunch",
            ],
        )
        .ok_json();
    assert_eq!(sent["status"], "final", "{sent}");
    assert_eq!(sent["balance_after"], 70);
    assert_eq!(sent["tx"]["body"]["memo"], "lunch");

    // ---- …and the friend redeems at shop B (Cafe), by name --------------
    let receipt = guild
        .customer(
            &bob_wallet,
            &["--json", "redeem", "--at", "cafe", "--points", "20"],
        )
        .ok_json();
    assert_eq!(receipt["status"], "final", "{receipt}");
    assert_eq!(receipt["shop"], cafe.as_str());
    assert_eq!(receipt["shop_name"], "Cafe");
    assert_eq!(receipt["balance_after"], 10);
    let redeem_height = receipt["height"].as_u64().unwrap();
    let redeem_id = receipt["id"].as_str().unwrap().to_string();
    // The clerk can check the receipt on any node.
    net.wait_height(2, redeem_height, WAIT).await;
    let (status, found) = net.get(2, &format!("/v1/tx/{redeem_id}")).await.unwrap();
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["status"], "final");
    assert_eq!(found["height"].as_u64(), Some(redeem_height));
    assert_eq!(found["tx"]["author"], bob.as_str());

    // Balances and lots, exactly.
    let a = balance(&guild, &alice_wallet);
    assert_eq!(a["balance"], 70, "{a}");
    assert_eq!(a["lots"].as_array().unwrap().len(), 1, "{a}");
    assert_eq!(a["lots"][0]["issuer"], bakery.as_str());
    assert_eq!(a["lots"][0]["issuer_name"], "Bakery");
    assert_eq!(a["lots"][0]["amount"], 70);
    assert!(a["lots"][0]["expires_at"].as_u64().unwrap() > now_ms());
    assert_eq!(a["nonce"], 1);
    let b = balance(&guild, &bob_wallet);
    assert_eq!(b["balance"], 10, "{b}");
    assert_eq!(b["lots"].as_array().unwrap().len(), 1, "{b}");
    assert_eq!(b["lots"][0]["issuer_name"], "Bakery");
    assert_eq!(b["lots"][0]["amount"], 10);
    // The same lots expire on the same day: points keep their expiry when sent.
    assert_eq!(a["lots"][0]["expires_at"], b["lots"][0]["expires_at"]);

    // The A→B debt: Bakery owes Cafe the 20 points redeemed there.
    let (_, settlement) = net.get(0, "/v1/settlement").await.unwrap();
    let debts = settlement["debts"].as_array().unwrap();
    assert_eq!(debts.len(), 1, "{settlement}");
    assert_eq!(debts[0]["debtor"], bakery.as_str());
    assert_eq!(debts[0]["creditor"], cafe.as_str());
    assert_eq!(debts[0]["points"], 20);
    let cafe_debts = guild.shop(&net, 1, &["--json", "debts"]).ok_json();
    assert_eq!(cafe_debts["owed_to_you"][0]["debtor"], bakery.as_str());
    assert_eq!(cafe_debts["owed_to_you"][0]["points"], 20);
    assert_eq!(cafe_debts["you_owe"].as_array().unwrap().len(), 0);

    // Human-readable output says the same.
    let text = guild.customer(&alice_wallet, &["balance"]);
    assert!(text.ok_text().contains("70 points"), "{}", text.stdout);
    assert!(text.stdout.contains("Bakery"), "{}", text.stdout);

    // History, newest first, from the friend's point of view.
    let history = guild
        .customer(&bob_wallet, &["--json", "history"])
        .ok_json();
    let entries = history["history"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{history}");
    assert_eq!(entries[0]["kind"], "redeem");
    assert_eq!(entries[0]["change"], -20);
    assert_eq!(entries[1]["kind"], "transfer");
    assert_eq!(entries[1]["change"], 30);

    // The shop sees the redemption at its counter.
    let seen = guild.shop(&net, 1, &["--json", "redemptions"]).ok_json();
    let list = seen["redemptions"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{seen}");
    assert_eq!(list[0]["customer"], bob.as_str());
    assert_eq!(list[0]["points"], 20);
    assert_eq!(list[0]["id"], redeem_id.as_str());

    // The balance checks out against a proof and a quorum-signed header.
    let genesis = net.genesis.to_str().unwrap();
    let verified = guild
        .customer(&alice_wallet, &["--json", "verify", "--genesis", genesis])
        .ok_json();
    assert_eq!(verified["verified"], true, "{verified}");
    assert_eq!(verified["balance"], 70);
    assert_eq!(verified["members_from_genesis"], true);
    assert!(verified["signers"].as_u64().unwrap() >= 3, "{verified}");
    let text = guild.customer(&alice_wallet, &["verify"]);
    assert!(text.ok_text().contains("Verified"), "{}", text.stdout);
    assert!(text.stdout.contains("taken from") || text.stdout.contains("genesis"));

    // ---- Redemptions followed live, and a printed receipt ---------------
    let cafe_wallet = net.nodes[1].wallet.clone().unwrap();
    let mut follower = std::process::Command::new(guild_bin())
        .env_remove("GUILD_PASSPHRASE")
        .env("HOME", &guild.home)
        .args(["--node", &guild.node, "--wallet"])
        .arg(&cafe_wallet)
        .args(["shop", "redemptions", "--follow", "--count", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(follower.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert!(line.contains("Following redemptions at Cafe"), "{line}");
    let printed = guild.customer(&bob_wallet, &["redeem", "--at", "Cafe", "--points", "5"]);
    let printed = printed.ok_text();
    for field in [
        "REDEMPTION RECEIPT",
        "Cafe",
        "points:       5",
        "block:",
        "transaction:",
    ] {
        assert!(printed.contains(field), "{field}:\n{printed}");
    }
    let stdout = follower.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let followed = rx.recv_timeout(WAIT).expect("no redemption was followed");
    assert!(followed.contains("5 points"), "{followed}");
    assert!(followed.contains(&bob), "{followed}");
    assert!(
        follower.wait().unwrap().success(),
        "--count 1 ends the follow"
    );

    // ---- Bad input: each refused with a clear message, exit code 1 -------
    let bob_typo = typo(&bob);
    guild
        .customer(&alice_wallet, &["send", "--to", &bob_typo, "--points", "5"])
        .fails_with("check for a typo");
    guild
        .customer(
            &alice_wallet,
            &["--json", "send", "--to", &bob_typo, "--points", "5"],
        )
        .fails_with_code("invalid_address");
    guild
        .customer(&alice_wallet, &["send", "--to", "bob", "--points", "5"])
        .fails_with("'bob' is not a valid Guild address");
    guild
        .customer(&alice_wallet, &["send", "--to", &bob, "--points", "1000"])
        .fails_with("insufficient points: 70 available, 1000 requested");
    guild
        .customer(
            &alice_wallet,
            &["--json", "send", "--to", &bob, "--points", "1000"],
        )
        .fails_with_code("insufficient_points");
    guild
        .customer(
            &alice_wallet,
            &["redeem", "--at", "bakery", "--points", "71"],
        )
        .fails_with("insufficient points: 70 available, 71 requested");
    guild
        .customer(&alice_wallet, &["send", "--to", &bob, "--points", "0"])
        .fails_with("points must be more than zero");
    guild
        .customer(&alice_wallet, &["send", "--to", &bob, "--points", "-5"])
        .fails_with("it cannot be negative");
    // One rule for numbers: no thousands separators, a dot for decimals;
    // the message shows the accepted form.
    guild
        .customer(&alice_wallet, &["send", "--to", &bob, "--points", "1,000"])
        .fails_with("\"1,000\" is not a valid number of points: for 1000 write 1000");
    // A cut-off address is called cut off, not a typo.
    guild
        .customer(
            &alice_wallet,
            &["send", "--to", "guild1xyz", "--points", "5"],
        )
        .fails_with("it has 9 characters, an address has 64");
    // Sending to a member shop is almost always a redemption typed as a
    // send: refused before signing, pointing to `redeem`.
    guild
        .customer(&alice_wallet, &["send", "--to", &cafe, "--points", "5"])
        .fails_with("is the member shop Cafe; nothing was sent. To spend points there, redeem them: guild wallet redeem --at \"cafe\" --points 5");
    guild
        .customer(
            &alice_wallet,
            &["redeem", "--at", "cafe", "--points", "ten"],
        )
        .fails_with("\"ten\" is not a valid number of points");
    guild
        .shop(
            &net,
            0,
            &[
                "earn",
                "--reason",
                "test grant",
                "--to",
                &alice,
                "--points",
                "0",
            ],
        )
        .fails_with("points must be more than zero");
    guild
        .shop(
            &net,
            0,
            &[
                "earn",
                "--reason",
                "test grant",
                "--to",
                &alice,
                "--points",
                "5",
                "--purchase",
                "12.505",
            ],
        )
        .fails_with("give at most 2 decimals, such as 12.50");
    guild
        .shop(
            &net,
            0,
            &[
                "earn",
                "--reason",
                "test grant",
                "--to",
                &alice,
                "--points",
                "5",
                "--purchase",
                "12,50",
            ],
        )
        .fails_with(
            "\"12,50\" is not a valid amount of money: for 12.50 write 12.50; for 1250 write 1250",
        );
    let unknown = guild.customer(
        &alice_wallet,
        &["redeem", "--at", "Pharmacy", "--points", "5"],
    );
    let message = unknown.fails_with("no member shop is named \"Pharmacy\"");
    for member in [
        "Bakery (guild1",
        "Bookshop (guild1",
        "Cafe (guild1",
        "Florist (guild1",
    ] {
        assert!(message.contains(member), "{member}: {message}");
    }
    guild
        .customer(
            &alice_wallet,
            &["--json", "redeem", "--at", "Pharmacy", "--points", "5"],
        )
        .fails_with_code("unknown_shop");
    guild
        .customer(&alice_wallet, &["redeem", "--at", "b", "--points", "5"])
        .fails_with("\"b\" could mean several member shops (Bakery, Bookshop)");
    guild
        .run(
            &[("GUILD_PASSPHRASE", "not the passphrase")],
            &[
                "--wallet",
                alice_wallet.to_str().unwrap(),
                "wallet",
                "send",
                "--to",
                &bob,
                "--points",
                "5",
            ],
        )
        .fails_with("wrong passphrase for keystore");
    let dead = format!("http://127.0.0.1:{}", free_port());
    for args in [
        vec!["wallet", "balance"],
        vec!["wallet", "send", "--to", &bob, "--points", "5"],
    ] {
        let mut all = vec!["--node", &dead, "--wallet", alice_wallet.to_str().unwrap()];
        all.extend(args);
        guild
            .run(&[("GUILD_PASSPHRASE", CUSTOMER_PASSPHRASE)], &all)
            .fails_with(&format!(
                "cannot reach node at {dead} (is your node running? start it with `guild node …`, or `guild devnet` on a test machine)"
            ));
    }
    guild
        .run(
            &[],
            &[
                "--node",
                &dead,
                "--json",
                "--wallet",
                alice_wallet.to_str().unwrap(),
                "wallet",
                "balance",
            ],
        )
        .fails_with_code("node_unreachable");
    guild
        .customer(&alice_wallet, &["new"])
        .fails_with("already exists; pass --force");
    let broken = guild.dir.join("broken.json");
    std::fs::write(&broken, "{\"version\": 1, \"keys\": 3}").unwrap();
    guild
        .customer(&broken, &["balance"])
        .fails_with("is corrupt");
    guild
        .customer(&guild.dir.join("nowhere.json"), &["balance"])
        .fails_with("create one with `guild wallet new`");
    guild
        .customer(&alice_wallet, &["send", "--to", &alice, "--points", "5"])
        .fails_with("cannot send points to yourself");
    guild
        .customer(&alice_wallet, &["export"])
        .fails_with("pass --out FILE");
    // A customer's key is not a shop.
    guild
        .run(
            &[("GUILD_PASSPHRASE", CUSTOMER_PASSPHRASE)],
            &[
                "--wallet",
                alice_wallet.to_str().unwrap(),
                "shop",
                "earn",
                "--reason",
                "test grant",
                "--to",
                &bob,
                "--points",
                "5",
            ],
        )
        .fails_with("is not a member shop");
    // Nothing above changed a balance.
    assert_eq!(balance(&guild, &alice_wallet)["balance"], 70);
    assert_eq!(balance(&guild, &bob_wallet)["balance"], 5);

    // ---- Offline signing, submitting twice, and a replayed nonce --------
    let file = guild.dir.join("gift.json");
    let signed = guild
        .customer(
            &alice_wallet,
            &[
                "--json",
                "send",
                "--to",
                &bob,
                "--points",
                "7",
                "--offline",
                "--out",
                file.to_str().unwrap(),
            ],
        )
        .ok_json();
    assert_eq!(signed["status"], "signed", "{signed}");
    assert_eq!(
        signed["nonce"], 1,
        "the nonce comes from the wallet's record"
    );
    assert_eq!(balance(&guild, &bob_wallet)["balance"], 5, "not sent yet");
    let first = guild
        .run(&[], &["--json", "submit", file.to_str().unwrap()])
        .ok_json();
    assert_eq!(first["status"], "final", "{first}");
    assert_eq!(first["already_final"], false);
    let height = first["height"].as_u64().unwrap();
    let again = guild.run(&[], &["submit", file.to_str().unwrap()]);
    assert!(
        again
            .ok_text()
            .contains(&format!("already final at height {height}")),
        "{}",
        again.stdout
    );
    let again = guild
        .run(&[], &["--json", "submit", file.to_str().unwrap()])
        .ok_json();
    assert_eq!(again["already_final"], true);
    assert_eq!(again["height"].as_u64(), Some(height));
    assert_eq!(balance(&guild, &bob_wallet)["balance"], 12, "applied once");
    assert_eq!(balance(&guild, &alice_wallet)["balance"], 63);
    // Another transaction signed with the nonce already used: a replay.
    let stale = guild.dir.join("stale.json");
    guild
        .customer(
            &alice_wallet,
            &[
                "send",
                "--to",
                &bob,
                "--points",
                "9",
                "--offline",
                "--nonce",
                "1",
                "--out",
                stale.to_str().unwrap(),
            ],
        )
        .ok_text();
    guild
        .run(&[], &["submit", stale.to_str().unwrap()])
        .fails_with("replayed transaction: nonce 1 was already used");
    guild
        .run(&[], &["--json", "submit", stale.to_str().unwrap()])
        .fails_with_code("replay");
    // An altered file is refused before it is sent.
    let text = std::fs::read_to_string(&file).unwrap();
    let forged = guild.dir.join("forged.json");
    std::fs::write(&forged, text.replace("\"nonce\": 1", "\"nonce\": 2")).unwrap();
    guild
        .run(&[], &["submit", forged.to_str().unwrap()])
        .fails_with("not a usable signed transaction");
    // A shop's earn signed offline names the shop by its wallet key; once
    // submitted, the node's member list gives its registered name, and one
    // point is "1 point".
    let one = guild.dir.join("one.json");
    let (dave_wallet, dave) = new_wallet(&guild, "dave");
    guild
        .shop(
            &net,
            0,
            &[
                "earn",
                "--reason",
                "test grant",
                "--to",
                &dave,
                "--points",
                "1",
                "--offline",
                "--out",
                one.to_str().unwrap(),
            ],
        )
        .ok_text();
    let submitted = guild.run(&[], &["submit", one.to_str().unwrap()]);
    assert!(
        submitted
            .ok_text()
            .contains(&format!("Bakery issues 1 point to {dave}")),
        "{}",
        submitted.stdout
    );
    let text = guild.customer(&dave_wallet, &["balance"]);
    assert!(
        text.ok_text().contains(": 1 point (worth "),
        "{}",
        text.stdout
    );
    // A wallet never used online does not know its network.
    let (carol_wallet, _) = new_wallet(&guild, "carol");
    guild
        .customer(
            &carol_wallet,
            &["send", "--to", &bob, "--points", "1", "--offline"],
        )
        .fails_with("--chain-id");
    assert_eq!(balance(&guild, &bob_wallet)["balance"], 12);

    // ---- Reverse an earn, settle a debt ---------------------------------
    guild
        .shop(
            &net,
            0,
            &[
                "--json",
                "earn",
                "--reason",
                "test grant",
                "--to",
                &bob,
                "--points",
                "8",
                "--receipt",
                "R-2",
            ],
        )
        .ok_json();
    assert_eq!(balance(&guild, &bob_wallet)["balance"], 20);
    let reversed = guild
        .shop(&net, 0, &["--json", "reverse", "--receipt", "R-2"])
        .ok_json();
    assert_eq!(reversed["customer"], bob.as_str(), "{reversed}");
    assert_eq!(reversed["points"], 8);
    assert_eq!(balance(&guild, &bob_wallet)["balance"], 12);
    guild
        .shop(&net, 0, &["reverse", "--receipt", "R-2"])
        .fails_with("already reversed");
    // Bakery owes Cafe 25 (20 + 5 redeemed there); Cafe records 10 paid.
    guild
        .shop(&net, 1, &["settle", "--with", "Bakery", "--points", "50"])
        .fails_with("Bakery owes Cafe 25 points; cannot settle 50");
    let settled = guild
        .shop(
            &net,
            1,
            &["--json", "settle", "--with", "Bakery", "--points", "10"],
        )
        .ok_json();
    assert_eq!(settled["remaining"], 15, "{settled}");

    // ---- Governance ------------------------------------------------------
    let proposed = guild
        .shop(
            &net,
            0,
            &[
                "--json",
                "propose",
                "set-param",
                "daily-issuance-cap",
                "5000",
            ],
        )
        .ok_json();
    let id = proposed["proposal"]
        .as_u64()
        .expect("the proposal's number")
        .to_string();
    assert_eq!(proposed["proposal_status"], "open");
    guild.shop(&net, 1, &["approve", &id]).ok_text();
    let approved = guild.shop(&net, 2, &["--json", "approve", &id]).ok_json();
    assert_eq!(approved["proposal_status"], "passed", "{approved}");
    guild
        .shop(&net, 3, &["approve", &id])
        .fails_with("no longer open for approval");
    let listed = guild.run(&[], &["--json", "shop", "proposals"]).ok_json();
    assert_eq!(listed["proposals"][0]["status"], "passed");
}
