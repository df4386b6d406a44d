//! Money and time as a shop sees them, the accountant's exports and the
//! customer's redemption limit, through the real `guild` binary against
//! two real `guild node` processes of a network in euros, one hour east of
//! UTC: amounts carry the symbol, expiry is the last usable local moment,
//! a redemption prints what it is worth, a redemption above the customer's
//! limit is signed only when the amount is typed again, and `guild audit
//! export` / `invoice` give the month's figures in money.

mod common;

use common::*;
use guild_audit::Date;
use guild_ledger::types::Timestamp;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);
const CUSTOMER_PASSPHRASE: &str = "a customer's passphrase";
const HOUR: u64 = 3_600_000;

struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Out {
    fn explain(&self) -> String {
        format!(
            "exit code {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }

    fn ok_json(&self) -> Value {
        assert_eq!(self.code, Some(0), "expected success:\n{}", self.explain());
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.explain()))
    }

    fn ok_text(&self) -> &str {
        assert_eq!(self.code, Some(0), "expected success:\n{}", self.explain());
        &self.stdout
    }

    fn fails_with(&self, message: &str) {
        assert_eq!(self.code, Some(1), "expected exit 1:\n{}", self.explain());
        assert!(
            self.stderr.contains(message),
            "stderr lacks {message:?}:\n{}",
            self.explain()
        );
        assert!(!self.stderr.contains("panicked"), "{}", self.explain());
    }
}

struct Guild {
    node: String,
    dir: PathBuf,
}

impl Guild {
    fn run(&self, env: &[(&str, &str)], args: &[&str]) -> Out {
        let mut cmd = assert_cmd::Command::new(guild_bin());
        for var in [
            "GUILD_PASSPHRASE",
            "GUILD_PASSPHRASE_FILE",
            "GUILD_NODE",
            "GUILD_WALLET",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("HOME", self.dir.join("home"))
            .env("GUILD_NODE", &self.node)
            .current_dir(&self.dir)
            .timeout(Duration::from_secs(90));
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

    fn customer(&self, wallet: &Path, args: &[&str]) -> Out {
        let mut all = vec!["--wallet", wallet.to_str().unwrap(), "wallet"];
        all.extend_from_slice(args);
        self.run(&[("GUILD_PASSPHRASE", CUSTOMER_PASSPHRASE)], &all)
    }

    fn shop(&self, net: &Net, i: usize, args: &[&str]) -> Out {
        let wallet = net.nodes[i].wallet.as_ref().unwrap().to_str().unwrap();
        let pass = net.passphrase_file.to_str().unwrap();
        let mut all = vec!["--wallet", wallet, "--passphrase-file", pass, "shop"];
        all.extend_from_slice(args);
        self.run(&[], &all)
    }
}

/// Rewrites the test network's genesis: euros, UTC+1 all year.
fn in_euros_an_hour_east(net: &Net) {
    let mut genesis: Value =
        serde_json::from_str(&std::fs::read_to_string(&net.genesis).unwrap()).unwrap();
    genesis["programme"]["locale"] = serde_json::json!({
        "currency": {"code": "EUR", "symbol": "€", "minor_units": 2},
        "zone": [{"from": 0, "offset_minutes": 60}],
    });
    std::fs::write(
        &net.genesis,
        serde_json::to_string_pretty(&genesis).unwrap(),
    )
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amounts_expiry_redeem_limits_and_exports_as_a_shop_sees_them() {
    let mut net = Net::new(2);
    in_euros_an_hour_east(&net);
    net.start_all();
    for i in 0..2 {
        net.wait_height(i, 0, WAIT).await;
    }
    let work = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(work.path().join("home")).unwrap();
    let guild = Guild {
        node: net.api(0),
        dir: work.path().to_path_buf(),
    };
    let wallet = work.path().join("alice.json");
    let alice = guild
        .customer(&wallet, &["--json", "new", "--name", "alice"])
        .ok_json()["address"]
        .as_str()
        .unwrap()
        .to_string();
    let earned = guild
        .shop(
            &net,
            0,
            &[
                "--json", "earn", "--reason", "welcome", "--to", &alice, "--points", "600",
            ],
        )
        .ok_json();
    assert_eq!(earned["status"], "final", "{earned}");

    // ---- The balance: worth in euros, the last usable local moment -------
    let balance = guild.customer(&wallet, &["--json", "balance"]).ok_json();
    let expires_at = balance["lots"][0]["expires_at"].as_u64().unwrap();
    // Lots expire at 00:00 UTC, which is 01:00 here: the last usable local
    // moment is 00:59 on the UTC date of the expiry.
    assert_eq!(expires_at % (24 * HOUR), 0);
    let expected = format!("{} 00:59", Date::of(Timestamp(expires_at)));
    assert_eq!(
        balance["lots"][0]["usable_until"],
        expected.as_str(),
        "{balance}"
    );
    assert_eq!(balance["value"], "€6.00");
    assert_eq!(balance["value_cents"], 600);
    let text = guild.customer(&wallet, &["balance"]);
    let text = text.ok_text();
    assert!(
        text.contains("600 points (worth €6.00 at the group's settlement rate"),
        "{text}"
    );
    assert!(text.contains("usable until"), "{text}");
    assert!(text.contains(&expected), "{text}");

    // ---- A redemption below any limit prints what it is worth -----------
    let text = guild.customer(&wallet, &["redeem", "--at", "cafe", "--points", "150"]);
    let text = text.ok_text();
    assert!(
        text.contains("Redeemed 150 points at Cafe (= €1.50 at the group's settlement rate)."),
        "{text}"
    );
    assert!(
        text.contains("value:        €1.50 (1 point = €0.01)"),
        "{text}"
    );
    assert!(text.contains("UTC+1"), "{text}");

    // ---- The customer's limit ------------------------------------------
    let set = guild
        .customer(&wallet, &["--json", "confirm", "--above", "200"])
        .ok_json();
    assert_eq!(
        (set["mode"].as_str(), set["above"].as_u64()),
        (Some("above"), Some(200))
    );
    let shown = guild.customer(&wallet, &["confirm"]);
    assert!(
        shown.ok_text().contains("more than 200 points"),
        "{}",
        shown.stdout
    );
    let nonce = |g: &Guild| g.customer(&wallet, &["--json", "balance"]).ok_json()["nonce"].clone();
    let before = nonce(&guild);
    // Below the limit: no question.
    guild
        .customer(
            &wallet,
            &["--json", "redeem", "--at", "cafe", "--points", "200"],
        )
        .ok_json();
    let before_above = nonce(&guild);
    assert_ne!(before, before_above);
    // Above it, without the amount again: refused, nothing signed.
    guild
        .customer(&wallet, &["redeem", "--at", "cafe", "--points", "250"])
        .fails_with(
            "redeeming 250 points needs your confirmation. This is above your limit of 200 points.",
        );
    // A wrong amount: refused too.
    guild
        .customer(
            &wallet,
            &[
                "redeem",
                "--at",
                "cafe",
                "--points",
                "250",
                "--confirm",
                "25",
            ],
        )
        .fails_with("the confirmation 25 does not match the redemption of 250 points");
    let wrong = guild.customer(
        &wallet,
        &[
            "--json",
            "redeem",
            "--at",
            "cafe",
            "--points",
            "250",
            "--confirm",
            "25",
        ],
    );
    assert_eq!(wrong.code, Some(1));
    assert!(
        wrong.stdout.contains("confirmation_mismatch"),
        "{}",
        wrong.explain()
    );
    assert_eq!(
        nonce(&guild),
        before_above,
        "a refused redemption was signed"
    );
    // The right amount: signed, final, worth shown.
    let done = guild
        .customer(
            &wallet,
            &[
                "--json",
                "redeem",
                "--at",
                "cafe",
                "--points",
                "250",
                "--confirm",
                "250",
            ],
        )
        .ok_json();
    assert_eq!(done["status"], "final", "{done}");
    assert_eq!(done["confirmed"], true);
    assert_eq!(done["value"], "€2.50");
    assert_eq!(done["balance_after"], 0);
    let redeem_id = done["id"].as_str().unwrap().to_string();

    // Every redemption, by the customer's choice; then off again.
    guild.customer(&wallet, &["confirm", "--always"]).ok_text();
    guild
        .shop(
            &net,
            0,
            &["earn", "--reason", "more", "--to", &alice, "--points", "5"],
        )
        .ok_text();
    guild
        .customer(&wallet, &["redeem", "--at", "cafe", "--points", "1"])
        .fails_with("You asked to confirm every redemption.");
    guild
        .customer(
            &wallet,
            &["redeem", "--at", "cafe", "--points", "1", "--confirm", "1"],
        )
        .ok_text();
    guild.customer(&wallet, &["confirm", "--off"]).ok_text();
    guild
        .customer(&wallet, &["redeem", "--at", "cafe", "--points", "1"])
        .ok_text();

    // ---- The clerk's view: points and money -----------------------------
    let seen = guild.shop(&net, 1, &["--json", "redemptions"]).ok_json();
    let list = seen["redemptions"].as_array().unwrap();
    let line = list.iter().find(|r| r["id"] == redeem_id.as_str()).unwrap();
    assert_eq!(
        (line["points"].as_u64(), line["value"].as_str()),
        (Some(250), Some("€2.50"))
    );
    assert!(
        line["local_time"].as_str().unwrap().ends_with("UTC+1"),
        "{line}"
    );
    let text = guild.shop(&net, 1, &["redemptions"]);
    assert!(
        text.ok_text().contains("250 points =     €2.50"),
        "{}",
        text.stdout
    );
    let debts = guild.shop(&net, 1, &["debts"]);
    assert!(debts.ok_text().contains("(€6.02)"), "{}", debts.stdout);

    // ---- The accountant's export and the invoice -------------------------
    let month = Date::of(Timestamp(now_ms() + HOUR)).month_of().to_string();
    let csv = guild.run(&[], &["audit", "export", "--month", &month, "--quiet"]);
    let csv = csv.ok_text();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let col = |name: &str| header.iter().position(|c| c == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let bakery = rows
        .iter()
        .find(|r| &r[col("row")] == "shop" && &r[col("shop")] == "Bakery")
        .unwrap();
    assert_eq!(&bakery[col("currency")], "EUR");
    assert_eq!(&bakery[col("issued_points")], "605");
    assert_eq!(&bakery[col("issued_money")], "6.05");
    assert_eq!(&bakery[col("redeemed_elsewhere_own_money")], "6.02");
    assert_eq!(&bakery[col("liability_points")], "3");
    let owed = rows
        .iter()
        .find(|r| &r[col("row")] == "counterparty" && &r[col("shop")] == "Cafe")
        .unwrap();
    assert_eq!(&owed[col("counterparty")], "Bakery");
    assert_eq!(&owed[col("net_money")], "6.02");

    let page = work.path().join("invoice.html");
    let out = guild.run(
        &[],
        &[
            "audit",
            "invoice",
            "--month",
            &month,
            "--from",
            "cafe",
            "--to",
            "bakery",
            "--out",
            page.to_str().unwrap(),
            "--quiet",
        ],
    );
    assert_eq!(out.code, Some(0), "{}", out.explain());
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains("Bakery owes Cafe €6.02 (602 points)."),
        "{html}"
    );
    assert!(
        html.contains(&redeem_id),
        "the invoice lacks a redemption line"
    );
    let dir = work.path().join("invoices");
    let out = guild.run(
        &[],
        &[
            "audit",
            "invoice",
            "--month",
            &month,
            "--all",
            "--dir",
            dir.to_str().unwrap(),
            "--quiet",
        ],
    );
    assert_eq!(out.code, Some(0), "{}", out.explain());
    assert!(
        dir.join(format!("invoice-{month}-Cafe-to-Bakery.html"))
            .exists(),
        "{}",
        out.explain()
    );
    guild
        .run(
            &[],
            &[
                "audit", "invoice", "--month", &month, "--from", "cafe", "--to", "cafe", "--quiet",
            ],
        )
        .fails_with("cannot invoice itself");
}
