//! `guild audit` end to end, through the real binary:
//!
//! - a scripted multi-shop scenario on real nodes (3 members and an
//!   observer), audited over the API and from the observer's data
//!   directory, with every report figure computed by hand below;
//! - the four tamper cases on a stopped member's data directory, each
//!   located at its exact height;
//! - the documented example chain (`example_chain`, two months, expiry,
//!   settlements), reported and stated per month.

mod common;

use common::*;
use guild_audit::fixture::{ChainFixture, ChainSink, example_chain};
use guild_ledger::block::FinalBlock;
use guild_ledger::codec;
use guild_ledger::crypto::Keypair;
use guild_ledger::state::{Account, StateKey};
use guild_ledger::tx::{GovernanceAction, TxBody};
use guild_ledger::types::{Height, Points, ReceiptHash, Timestamp};
use guild_node::GenesisFile;
use guild_store::Store;
use serde_json::Value;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);

fn os(s: &str) -> &OsStr {
    OsStr::new(s)
}

/// Runs `guild audit …` and parses its JSON answer; returns the exit code,
/// the JSON (if any) and stderr.
fn audit(args: &[&OsStr]) -> (i32, Value, String) {
    let mut all = vec![os("--json"), os("audit")];
    all.extend_from_slice(args);
    let out = guild(&all);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let json = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), json, stderr)
}

/// `shops[name]` of a report.
fn shop<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["shops"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["shop"]["name"] == name)
        .unwrap_or_else(|| panic!("no shop {name} in {report}"))
}

/// The figures of a shop as
/// `[opening, issued, reversed, shortfall, at shop, elsewhere, from others,
/// redeemed here, expired, outstanding]`.
fn figures(report: &Value, name: &str) -> Vec<u64> {
    let s = shop(report, name);
    [
        "opening_outstanding",
        "issued",
        "reversed",
        "reversal_shortfall",
        "redeemed_at_shop",
        "redeemed_elsewhere",
        "redeemed_from_others",
        "redeemed_here",
        "expired",
        "outstanding",
    ]
    .iter()
    .map(|f| {
        s[f].as_u64()
            .unwrap_or_else(|| panic!("{f} of {name}: {s}"))
    })
    .collect()
}

/// `(a, b, points)` triples of a list of objects.
fn triples(list: &Value, a: &str, b: &str, points: &str) -> Vec<(String, String, u64)> {
    let mut out: Vec<_> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x[a]["name"].as_str().unwrap().to_string(),
                x[b]["name"].as_str().unwrap().to_string(),
                x[points].as_u64().unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

fn t(a: &str, b: &str, p: u64) -> (String, String, u64) {
    (a.to_string(), b.to_string(), p)
}

/// Rewrites the stored block at `height` of a stopped node's data.
fn rewrite_block(dir: &Path, height: u64, change: impl FnOnce(&mut FinalBlock)) {
    let store = Store::open(dir, 1 << 20).unwrap();
    let key = Store::raw_block_key(Height(height));
    let mut block: FinalBlock =
        codec::decode(&store.raw_tree().get(key).unwrap().unwrap()).unwrap();
    change(&mut block);
    store.raw_tree().insert(key, codec::encode(&block)).unwrap();
    store.flush().unwrap();
}

fn today() -> String {
    guild_audit::Date::of(Timestamp(now_ms())).to_string()
}

fn tomorrow() -> String {
    guild_audit::Date::of(Timestamp(now_ms() + 86_400_000)).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_network_is_audited_and_every_tamper_case_is_located() {
    let mut net = Net::new(3);
    let observer = net.add_observer();
    net.start_all();
    for i in 0..=observer {
        net.wait_height(i, 0, WAIT).await;
    }
    let (bakery, cafe, bookshop) = (0, 1, 2);
    let c: Vec<Keypair> = (1..=4).map(customer).collect();
    let addr = |n: usize| c[n - 1].address();

    // Round 1: earns. Each customer's points come from one shop, or are
    // spent whole, so which lot a redemption takes is never in doubt.
    let earns = [
        net.earn(bakery, 0, &addr(1), 100, "b-1"),
        net.earn(cafe, 0, &addr(2), 50, "c-1"),
        net.earn(bookshop, 0, &addr(3), 40, "k-1"),
        net.earn(bakery, 1, &addr(3), 10, "b-2"),
    ];
    net.submit_all(0, &earns).await;
    // Round 2: customer 1 spends 60 Bakery points at Cafe and sends 10 to
    // customer 4; customer 2 spends 20 Cafe points at Bakery; customer 3
    // spends all 50 (40 Bookshop, 10 Bakery) at Cafe.
    let spends = [
        net.redeem(&c[0], 0, cafe, 60),
        net.transfer(&c[0], 1, &addr(4), 10),
        net.redeem(&c[1], 0, bakery, 20),
        net.redeem(&c[2], 0, cafe, 50),
    ];
    let spent_at = net.submit_all(0, &spends).await;
    // Round 3: customer 4 spends its 10 Bakery points at Bakery; Cafe
    // reverses c-1 (30 of its 50 points are left to take back); Cafe
    // acknowledges 30 paid by Bakery.
    let last = [
        net.redeem(&c[3], 0, bakery, 10),
        net.reverse(cafe, 1, "c-1"),
        net.settle(cafe, 2, bakery, 30),
    ];
    let heights = net.submit_all(0, &last).await;
    let head = *heights.iter().max().unwrap();
    net.wait_height(observer, head, WAIT).await;

    let genesis = net.genesis.clone();
    let api = net.api(0);
    let (code, summary, stderr) = audit(&[os("--node"), os(&api), os("verify")]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(summary["verified"], true);
    assert!(summary["height"].as_u64().unwrap() >= head);
    assert_eq!(summary["transactions"], 11);
    assert_eq!(summary["transactions_by_kind"]["redeem"], 4);
    assert_eq!(summary["supply"]["issued"], 200);
    assert_eq!(summary["supply"]["redeemed"], 140);
    assert_eq!(summary["supply"]["reversed"], 30);
    assert_eq!(summary["outstanding"], 30);
    assert_eq!(summary["debts"], 100);
    assert_eq!(summary["members"].as_array().unwrap().len(), 3);

    // The same with the genesis file: it must match the node's.
    let (code, _, stderr) = audit(&[
        os("--node"),
        os(&api),
        os("verify"),
        os("--genesis"),
        genesis.as_os_str(),
    ]);
    assert_eq!(code, 0, "{stderr}");

    // The report over the API, for the whole chain.
    let (code, r, stderr) = audit(&[os("--node"), os(&api), os("report")]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(r["settlement_cents_per_point"], 1);
    assert_eq!(r["period"]["transactions"], 11);
    // [opening, issued, reversed, shortfall, at shop, elsewhere, from
    // others, here, expired, outstanding]
    // Bakery: issued 100 + 10; its points redeemed at Cafe 60 + 10 and at
    // itself 10; Cafe's 20 redeemed at it; customer 1 keeps 30.
    assert_eq!(figures(&r, "Bakery"), [0, 110, 0, 0, 10, 70, 20, 30, 0, 30]);
    // Cafe: issued 50; 20 redeemed at Bakery; the reversal takes back the
    // 30 left (20 short); 60 + 50 redeemed at it.
    assert_eq!(figures(&r, "Cafe"), [0, 50, 30, 20, 0, 20, 110, 110, 0, 0]);
    assert_eq!(figures(&r, "Bookshop"), [0, 40, 0, 0, 0, 40, 0, 0, 0, 0]);
    assert_eq!(shop(&r, "Bakery")["outstanding_cents"], 30);
    // Every issue here is a manual grant (`Earn`), none from a sale's rules.
    assert_eq!(shop(&r, "Bakery")["granted"], 110);
    assert_eq!(shop(&r, "Bakery")["campaign_points"], 0);
    assert_eq!(
        triples(&r["flows"], "issuer", "redeemed_at", "points"),
        vec![
            t("Bakery", "Bakery", 10),
            t("Bakery", "Cafe", 70),
            t("Bookshop", "Cafe", 40),
            t("Cafe", "Bakery", 20)
        ]
    );
    let s = &r["settlement"];
    // Bakery owed Cafe 70, paid 30; Cafe owes Bakery 20; Bookshop owes
    // Cafe 40.
    assert_eq!(
        triples(&s["debts"], "debtor", "creditor", "points"),
        vec![
            t("Bakery", "Cafe", 40),
            t("Bookshop", "Cafe", 40),
            t("Cafe", "Bakery", 20)
        ]
    );
    assert_eq!(
        triples(&s["pairs"], "payer", "payee", "net_points"),
        vec![t("Bakery", "Cafe", 20), t("Bookshop", "Cafe", 40)]
    );
    let position = |name: &str| {
        let p = s["positions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["shop"]["name"] == name)
            .unwrap();
        (
            p["receivable"].as_u64().unwrap(),
            p["payable"].as_u64().unwrap(),
            p["net_points"].as_i64().unwrap(),
        )
    };
    assert_eq!(position("Bakery"), (20, 40, -20));
    assert_eq!(position("Cafe"), (80, 20, 60));
    assert_eq!(position("Bookshop"), (0, 40, -40));
    // Two payments clear the group: Bookshop → Cafe 40, Bakery → Cafe 20.
    let payments: Vec<_> = s["payments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["from"]["name"].as_str().unwrap().to_string(),
                p["to"]["name"].as_str().unwrap().to_string(),
                p["points"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        payments,
        vec![t("Bookshop", "Cafe", 40), t("Bakery", "Cafe", 20)]
    );
    assert_eq!(s["acknowledged_points"], 30);
    assert_eq!(s["acknowledged"][0]["creditor"]["name"], "Cafe");
    assert_eq!(s["acknowledged"][0]["debtor"]["name"], "Bakery");
    // Customers: 1 (earned at Bakery, redeemed at Cafe), 2 (Cafe, Bakery),
    // 3 (earned at Bookshop and Bakery, redeemed at Cafe), 4 (received,
    // redeemed at Bakery). 3 earned, 1 of them twice; 140 of 200 points
    // redeemed, all on the day they were earned.
    let h = &r["health"];
    assert_eq!(h["active_customers"], 4);
    assert_eq!(h["earning_customers"], 3);
    assert_eq!(h["repeat_customers"], 1);
    assert_eq!(h["repeat_visit_rate"], 0.3333);
    assert_eq!(h["points_issued"], 200);
    assert_eq!(h["points_redeemed"], 140);
    assert_eq!(h["redemption_rate"], 0.7);
    assert_eq!(h["average_days_to_redeem"], 0.0);
    assert_eq!(h["multi_shop_customers"], 3);
    assert_eq!(h["multi_shop_share"], 0.75);

    // A period after the scenario: nothing happened, the positions stay.
    let (code, later, stderr) = audit(&[
        os("--node"),
        os(&api),
        os("report"),
        os("--from"),
        os(&tomorrow()),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(later["period"]["blocks"], 0);
    assert_eq!(figures(&later, "Bakery"), [30, 0, 0, 0, 0, 0, 0, 0, 0, 30]);
    assert_eq!(later["settlement"]["payments"], r["settlement"]["payments"]);

    // Cafe's statement for this month, from its side of each debt.
    let day = today();
    let month = &day[..7];
    let (code, st, stderr) = audit(&[
        os("--node"),
        os(&api),
        os("statement"),
        os("--shop"),
        os("cafe"),
        os("--period"),
        os(month),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(st["issued"], 50);
    assert_eq!(st["reversed"], 30);
    assert_eq!(st["closing_outstanding"], 0);
    let debt = |name: &str| {
        st["debts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["other"]["name"] == name)
            .unwrap()
            .clone()
    };
    let b = debt("Bakery");
    assert_eq!(
        (
            &b["owed_to_shop_added"],
            &b["owed_to_shop_settled"],
            &b["owed_to_shop_closing"],
            &b["owed_by_shop_closing"],
            &b["net_points"]
        ),
        (&70.into(), &30.into(), &40.into(), &20.into(), &20.into())
    );
    assert_eq!(debt("Bookshop")["owed_to_shop_closing"], 40);
    assert_eq!(st["cross_redemptions"].as_array().unwrap().len(), 4);
    assert!(
        st["cross_redemptions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| spent_at.contains(&x["height"].as_u64().unwrap()))
    );

    // A running node's data directory is locked: a clear error.
    let data0 = net.nodes[0].data.clone();
    let (code, _, stderr) = audit(&[
        os("verify"),
        os("--data"),
        data0.as_os_str(),
        os("--genesis"),
        genesis.as_os_str(),
    ]);
    assert_eq!(code, 1);
    assert!(stderr.contains("in use by a running node"), "{stderr}");

    // The auditor's observer keeps a verified copy: stopped, its data
    // directory verifies to the same head as the members'.
    let observed_head = net.height(observer).await.unwrap();
    net.kill(observer);
    let (code, obs, stderr) = audit(&[
        os("verify"),
        os("--data"),
        net.nodes[observer].data.as_os_str(),
        os("--genesis"),
        genesis.as_os_str(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(obs["height"].as_u64().unwrap() >= observed_head, "{obs}");
    if obs["height"] == summary["height"] {
        assert_eq!(obs["state_root"], summary["state_root"]);
    }
    assert_eq!(obs["transactions"], 11);

    // Tamper cases, each on a copy of the stopped Cafe node's data.
    net.kill(cafe);
    let cafe_data = net.nodes[cafe].data.clone();
    let (code, clean, stderr) = audit(&[
        os("verify"),
        os("--data"),
        cafe_data.as_os_str(),
        os("--genesis"),
        genesis.as_os_str(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let cafe_head = clean["height"].as_u64().unwrap();
    let target = spent_at[0]; // a block holding transactions
    let copy = |name: &str| -> PathBuf {
        let to = net.dir.path().join(format!("tamper-{name}"));
        copy_dir(&cafe_data, &to);
        to
    };
    let verify_copy = |dir: &Path| {
        let (code, out, stderr) = audit(&[
            os("verify"),
            os("--data"),
            dir.as_os_str(),
            os("--genesis"),
            genesis.as_os_str(),
        ]);
        assert_eq!(code, 1, "tampering with {} went unnoticed", dir.display());
        assert_eq!(out["verified"], false, "{out} {stderr}");
        assert!(stderr.contains("does not verify at height"), "{stderr}");
        out["discrepancy"].clone()
    };

    // 1. A flipped byte in a stored block (its first transaction's author).
    let flipped = copy("flip");
    {
        let store = Store::open(&flipped, 1 << 20).unwrap();
        let key = Store::raw_block_key(Height(target));
        let mut bytes = store.raw_tree().get(key).unwrap().unwrap().to_vec();
        bytes[144 + 8 + 5] ^= 0x01;
        store.raw_tree().insert(key, bytes).unwrap();
        store.flush().unwrap();
    }
    let d = verify_copy(&flipped);
    assert_eq!(
        (&d["height"], &d["rule"], &d["tx_index"]),
        (&target.into(), &"tx_signature".into(), &0.into()),
        "{d}"
    );

    // 2. A forged precommit in a certificate.
    let forged = copy("forged");
    rewrite_block(&forged, target, |b| {
        b.certificate.signatures[0].signature.0[3] ^= 0x10
    });
    let d = verify_copy(&forged);
    assert_eq!(
        (&d["height"], &d["rule"]),
        (&target.into(), &"certificate".into()),
        "{d}"
    );
    assert!(
        d["detail"].as_str().unwrap().contains("does not verify"),
        "{d}"
    );

    // 3. A short certificate: one precommit of three.
    let short = copy("short");
    rewrite_block(&short, 1, |b| b.certificate.signatures.truncate(1));
    let d = verify_copy(&short);
    assert_eq!(
        (&d["height"], &d["rule"]),
        (&1.into(), &"certificate".into()),
        "{d}"
    );
    assert!(d["detail"].as_str().unwrap().contains("1 of 3"), "{d}");

    // 4. A state record edited in sled: customer 1 given 1000 points.
    let edited = copy("state");
    {
        let store = Store::open(&edited, 1 << 20).unwrap();
        let mut key = vec![b's'];
        key.extend(codec::encode(&StateKey::Account(addr(1))));
        let mut account: Account =
            codec::decode(&store.raw_tree().get(&key).unwrap().unwrap()).unwrap();
        account.lots[0].amount = Points(1_000);
        store
            .raw_tree()
            .insert(&key, codec::encode(&account))
            .unwrap();
        store.flush().unwrap();
    }
    let d = verify_copy(&edited);
    assert_eq!(
        (&d["height"], &d["rule"]),
        (&cafe_head.into(), &"stored_state".into()),
        "{d}"
    );
    assert!(
        d["detail"]
            .as_str()
            .unwrap()
            .contains(&format!("the account record of {}", addr(1))),
        "{d}"
    );
}

/// A new store in `dir` for a fixture to commit to, as a node's would.
fn open_store(dir: &Path) -> Store {
    Store::open(dir, 16 * 1024 * 1024).unwrap()
}

/// A genesis file for a fixture's genesis.
fn write_genesis<S: ChainSink>(chain: &ChainFixture<S>, path: &Path) {
    let file = GenesisFile {
        genesis: chain.genesis().clone(),
        peers: vec![],
    };
    std::fs::write(path, serde_json::to_string_pretty(&file).unwrap()).unwrap();
}

#[test]
fn a_block_certified_by_a_removed_member_is_located() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let keys: Vec<Keypair> = (1..=4u8).map(|i| Keypair::from_secret(&[i; 32])).collect();
    let mut genesis = example_chain(()).unwrap().genesis().clone();
    genesis.members = keys
        .iter()
        .zip(["Bakery", "Cafe", "Bookshop", "Florist"])
        .map(|(k, name)| guild_ledger::genesis::GenesisMember {
            name: guild_ledger::types::ShopName::new(name).unwrap(),
            address: k.address(),
        })
        .collect();
    let mut chain = ChainFixture::new(genesis, keys.clone(), open_store(&data)).unwrap();
    let mut time = chain.genesis().time.0;
    let mut next = |chain: &mut ChainFixture<Store>, txs| {
        time += 60_000;
        chain.block(Timestamp(time), txs).unwrap();
    };
    let earn = chain.sign(
        &keys[0],
        TxBody::Earn {
            reason: guild_ledger::Memo::new("goodwill").unwrap(),
            customer: customer(1).address(),
            points: Points(10),
            purchase: None,
            receipt: ReceiptHash::new(&keys[0].address(), "r"),
        },
    );
    next(&mut chain, vec![earn]);
    // Florist is removed by the other three (governance delay 1).
    let id = chain.state().chain().next_proposal;
    let mut txs = vec![chain.sign(
        &keys[0],
        TxBody::Propose {
            action: GovernanceAction::RemoveMember {
                address: keys[3].address(),
            },
        },
    )];
    for k in &keys[1..3] {
        txs.push(chain.sign(k, TxBody::Approve { proposal: id }));
    }
    next(&mut chain, txs);
    next(&mut chain, vec![]);
    assert!(chain.state().member(&keys[3].address()).is_none());
    // The next block carries a certificate that counts the removed
    // Florist's precommit: Bakery, Cafe and Florist, 3 "of 4".
    let bad = chain.height().0 + 1;
    time += 60_000;
    chain
        .block_signed_by(
            Timestamp(time),
            vec![],
            &[keys[0].clone(), keys[1].clone(), keys[3].clone()],
        )
        .unwrap();
    let genesis_path = dir.path().join("genesis.json");
    write_genesis(&chain, &genesis_path);
    drop(chain);

    let (code, out, stderr) = audit(&[
        os("verify"),
        os("--data"),
        data.as_os_str(),
        os("--genesis"),
        genesis_path.as_os_str(),
    ]);
    assert_eq!(code, 1, "{stderr}");
    let d = &out["discrepancy"];
    assert_eq!(
        (&d["height"], &d["rule"]),
        (&bad.into(), &"certificate".into()),
        "{d}"
    );
    assert!(
        d["detail"].as_str().unwrap().contains("not a member"),
        "{d}"
    );
    assert!(stderr.contains(&format!("height {bad}")), "{stderr}");

    // --data without --genesis says what to do.
    let out = guild(&[os("audit"), os("verify"), os("--data"), data.as_os_str()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--data needs --genesis"));
}

#[test]
fn the_example_chain_reports_every_figure_by_month() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let chain = example_chain(open_store(&data)).unwrap();
    let genesis = dir.path().join("genesis.json");
    write_genesis(&chain, &genesis);
    drop(chain);
    let source = [
        os("--data"),
        data.as_os_str(),
        os("--genesis"),
        genesis.as_os_str(),
    ];
    let with = |args: &[&'static str]| -> Vec<&OsStr> {
        let mut all: Vec<&OsStr> = args.iter().map(|a| os(a)).collect();
        all.extend_from_slice(&source);
        all
    };

    let (code, v, stderr) = audit(&with(&["verify"]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!((&v["height"], &v["transactions"]), (&8.into(), &15.into()));
    assert_eq!(
        (
            &v["supply"]["issued"],
            &v["supply"]["expired"],
            &v["outstanding"]
        ),
        (&260.into(), &40.into(), &15.into())
    );

    // The whole chain (see example_chain's table; 5 cents a point).
    let (code, r, stderr) = audit(&with(&["report"]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        (&r["period"]["blocks"], &r["period"]["transactions"]),
        (&8.into(), &15.into())
    );
    // [opening, issued, reversed, shortfall, at shop, elsewhere, from
    // others, here, expired, outstanding]
    assert_eq!(
        figures(&r, "Bakery"),
        [0, 190, 30, 20, 0, 145, 10, 10, 0, 15]
    );
    assert_eq!(figures(&r, "Cafe"), [0, 40, 0, 0, 20, 0, 125, 145, 20, 0]);
    assert_eq!(figures(&r, "Bookshop"), [0, 30, 0, 0, 0, 10, 20, 20, 20, 0]);
    assert_eq!(shop(&r, "Bakery")["outstanding_cents"], 75);
    assert_eq!(
        triples(&r["flows"], "issuer", "redeemed_at", "points"),
        vec![
            t("Bakery", "Bookshop", 20),
            t("Bakery", "Cafe", 125),
            t("Bookshop", "Bakery", 10),
            t("Cafe", "Cafe", 20)
        ]
    );
    let s = &r["settlement"];
    assert_eq!(
        triples(&s["debts"], "debtor", "creditor", "points"),
        vec![t("Bakery", "Bookshop", 20), t("Bakery", "Cafe", 85)]
    );
    assert_eq!(s["payments"].as_array().unwrap().len(), 2);
    assert_eq!(s["payments"][0]["points"], 85);
    assert_eq!(s["payments"][0]["cents"], 425);
    assert_eq!(s["acknowledged_points"], 50);
    let h = &r["health"];
    assert_eq!(
        (
            &h["active_customers"],
            &h["earning_customers"],
            &h["repeat_customers"]
        ),
        (&4.into(), &4.into(), &3.into())
    );
    assert_eq!(
        (&h["repeat_visit_rate"], &h["redemption_rate"]),
        (&0.75.into(), &0.6731.into())
    );
    // (100×8 + 20×5 + 20×10 + 10×7 + 25×17) / 175 = 1595 / 175 days.
    assert_eq!(h["average_days_to_redeem"], 9.1143);
    assert_eq!(
        (&h["multi_shop_customers"], &h["multi_shop_share"]),
        (&3.into(), &0.75.into())
    );

    // February: Cafe's and Bookshop's January 5 points expire (breakage);
    // customer 3 spends Bakery points at Cafe; Bookshop's debt is settled.
    let (code, f, stderr) = audit(&with(&[
        "report",
        "--from",
        "2026-02-01",
        "--to",
        "2026-02-28",
    ]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        (&f["period"]["first_height"], &f["period"]["last_height"]),
        (&7.into(), &8.into())
    );
    assert_eq!(figures(&f, "Bakery"), [25, 15, 0, 0, 0, 25, 0, 0, 0, 15]);
    assert_eq!(figures(&f, "Cafe"), [20, 0, 0, 0, 0, 0, 25, 25, 20, 0]);
    assert_eq!(figures(&f, "Bookshop"), [20, 0, 0, 0, 0, 0, 0, 0, 20, 0]);
    assert_eq!(f["settlement"]["acknowledged_points"], 10);
    assert_eq!(f["health"]["average_days_to_redeem"], 17.0);

    // CSV and tables carry the same figures.
    let out = guild(&{
        let mut a = vec![os("audit"), os("report"), os("--format"), os("csv")];
        a.extend_from_slice(&source);
        a
    });
    let csv = String::from_utf8_lossy(&out.stdout);
    assert!(
        csv.starts_with("section,shop,other,figure,value\n"),
        "{csv}"
    );
    assert!(csv.contains("\nshop,Bakery,,issued,190\n"), "{csv}");
    assert!(csv.contains("\nflow,Bakery,Cafe,points,125\n"), "{csv}");
    assert!(csv.contains("\npayment,Bakery,Cafe,points,85\n"), "{csv}");
    let out = guild(&{
        let mut a = vec![os("audit"), os("report")];
        a.extend_from_slice(&source);
        a
    });
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("Fewest payments that clear everyone (2 payment(s))"),
        "{table}"
    );

    // Bookshop's February statement: its breakage and its settled debt.
    let (code, st, stderr) = audit(&with(&[
        "statement",
        "--shop",
        "Bookshop",
        "--period",
        "2026-02",
    ]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        (
            &st["opening_outstanding"],
            &st["expired"],
            &st["closing_outstanding"]
        ),
        (&20.into(), &20.into(), &0.into())
    );
    let b = &st["debts"][0];
    assert_eq!(b["other"]["name"], "Bakery");
    assert_eq!(
        (
            &b["owed_by_shop_opening"],
            &b["owed_by_shop_settled"],
            &b["owed_by_shop_closing"]
        ),
        (&10.into(), &10.into(), &0.into())
    );
    assert_eq!(
        (&b["owed_to_shop_closing"], &b["net_points"]),
        (&20.into(), &20.into())
    );
    assert_eq!(st["settlements"][0]["height"], 8);

    // Bad input is refused with a reason.
    let (code, _, stderr) = audit(&with(&["report", "--from", "2026-02-30"]));
    assert_eq!(code, 1);
    assert!(stderr.contains("not a real date"), "{stderr}");
    let (code, _, stderr) = audit(&with(&[
        "statement",
        "--shop",
        "Butcher",
        "--period",
        "2026-02",
    ]));
    assert_eq!(code, 1);
    assert!(
        stderr.contains("Bakery, Cafe, Bookshop") || stderr.contains("known shops"),
        "{stderr}"
    );
}
