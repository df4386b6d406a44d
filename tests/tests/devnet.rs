//! `guild devnet` as a shop owner uses it: each shop's node is its own
//! process, a killed one is reported with the command that starts it
//! again, the network goes on with 3 of 4 shops and explains itself with 2
//! (`guild status`, the "only 2 of the 4 shops" message of an online sale),
//! a node killed with `kill -9` starts again on its data directory, and a
//! second devnet or node on a directory in use is refused with the pid of
//! the one using it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{free_port, guild_bin};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A base port whose devnet ports (base..base+4, base+100..base+104) are
/// free now.
fn free_base_port() -> u16 {
    loop {
        let base = free_port();
        if base > 60_000 {
            continue;
        }
        let all_free = (0..4)
            .chain(100..104)
            .all(|offset| std::net::TcpListener::bind(("127.0.0.1", base + offset)).is_ok());
        if all_free {
            return base;
        }
    }
}

/// A running `guild devnet --json`, its stdout lines arriving on a channel.
struct Devnet {
    child: Child,
    lines: mpsc::Receiver<String>,
    stderr: PathBuf,
}

impl Devnet {
    fn start(dir: &Path, base: u16) -> Devnet {
        let stderr = dir.with_extension("stderr.log");
        let child = Command::new(guild_bin())
            .args(["--json", "devnet", "--dir"])
            .arg(dir)
            .args(["--base-port", &base.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let mut child = child;
        let stdout = child.stdout.take().unwrap();
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        Devnet {
            child,
            lines,
            stderr,
        }
    }

    fn next_json(&self, limit: Duration) -> Value {
        let line = self.lines.recv_timeout(limit).unwrap_or_else(|_| {
            panic!(
                "the devnet printed nothing in {limit:?}; its stderr:\n{}",
                std::fs::read_to_string(&self.stderr).unwrap_or_default()
            )
        });
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
    }
}

impl Drop for Devnet {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn alive(pid: u32) -> bool {
    // A zombie is not alive.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| !stat.contains(") Z "))
        .unwrap_or(false)
}

fn signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill {signal} {pid}");
}

fn guild(args: &[&str]) -> Output {
    Command::new(guild_bin())
        .args(args)
        .env_remove("GUILD_NODE")
        .env_remove("GUILD_WALLET")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn status(api: &str) -> (i32, String, Value) {
    let plain = guild(&["--node", api, "status"]);
    let json = guild(&["--node", api, "--json", "status"]);
    assert_eq!(plain.status.code(), json.status.code());
    let value = serde_json::from_slice(&json.stdout).unwrap_or(Value::Null);
    (plain.status.code().unwrap_or(-1), text(&plain), value)
}

/// Posts a sale through the till API of `api` with the shop's till token.
async fn till_sale(api: &str, token: &str, customer: &str, receipt: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{api}/v1/sale"))
        .bearer_auth(token)
        .json(&serde_json::json!({
            "customer": customer, "amount": 500, "receipt": receipt, "timeout_ms": 20_000,
        }))
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .unwrap();
    let code = response.status().as_u16();
    (code, response.json().await.unwrap())
}

async fn wait_for<F: Fn() -> bool>(what: &str, limit: Duration, check: F) {
    let start = Instant::now();
    while !check() {
        assert!(
            start.elapsed() < limit,
            "{what} did not happen in {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shop_owner_stops_nodes_of_a_devnet_and_sees_what_happens() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("devnet");
    let devnet = Devnet::start(&dir, free_base_port());
    let description = devnet.next_json(Duration::from_secs(240));
    let nodes = description["nodes"].as_array().unwrap().clone();
    assert_eq!(nodes.len(), 4);
    let pids: Vec<u32> = nodes
        .iter()
        .map(|n| n["pid"].as_u64().unwrap() as u32)
        .collect();
    let api: Vec<String> = nodes
        .iter()
        .map(|n| n["api"].as_str().unwrap().to_string())
        .collect();
    // Four processes of their own, each with its log, and devnet.json
    // says which.
    for (pid, node) in pids.iter().zip(&nodes) {
        assert!(alive(*pid), "{node}");
        assert_ne!(*pid, devnet.child.id());
        let shop_dir = Path::new(node["wallet"].as_str().unwrap())
            .parent()
            .unwrap();
        assert!(shop_dir.join("node.log").exists());
    }
    let file: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("devnet.json")).unwrap()).unwrap();
    assert_eq!(file["nodes"][1]["pid"].as_u64(), Some(pids[1] as u64));

    let (code, out, json) = status(&api[0]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("All good: 4 of 4 shops reachable, blocks are final."),
        "{out}"
    );
    assert!(out.contains("member: Bakery's node"), "{out}");
    assert_eq!(json["health"], "healthy");
    assert_eq!(json["quorum"]["needed"], 3);

    let token = std::fs::read_to_string(dir.join("bakery/till-token.txt")).unwrap();
    let token = token.trim();
    let customer = guild_ledger::crypto::Keypair::from_secret(&[77; 32])
        .address()
        .to_string();

    // The café's node is killed (SIGKILL): the devnet says so and how to
    // start it again; 3 of 4 shops still finalize a sale.
    signal(pids[1], "-9");
    let event = devnet.next_json(Duration::from_secs(10));
    assert_eq!(event["event"], "node_stopped", "{event}");
    assert_eq!(event["shop"], "cafe");
    assert_eq!(event["pid"].as_u64(), Some(pids[1] as u64));
    assert_eq!(event["running"], 3);
    assert!(
        event["exit"].as_str().unwrap().contains("signal 9"),
        "{event}"
    );
    let restart = event["restart"].as_str().unwrap().to_string();
    assert!(restart.contains(" node --data "), "{restart}");
    let start = Instant::now();
    let (code, out) = loop {
        let (code, out, _) = status(&api[0]);
        if out.contains("3 of 4 shops reachable") || start.elapsed() > Duration::from_secs(15) {
            break (code, out);
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("not reachable: Cafe"), "{out}");
    let (code, sale) = till_sale(&api[0], token, &customer, "R-1").await;
    assert_eq!(code, 200, "{sale}");
    assert_eq!(sale["status"], "final", "{sale}");

    // The bookshop's too: no quorum, and everything says so.
    signal(pids[2], "-9");
    let event = devnet.next_json(Duration::from_secs(10));
    assert_eq!(event["event"], "node_stopped", "{event}");
    assert_eq!(event["shop"], "bookshop");
    assert_eq!(event["running"], 2);
    let start = Instant::now();
    let (code, out, json) = loop {
        let (code, out, json) = status(&api[0]);
        if code != 0 || start.elapsed() > Duration::from_secs(15) {
            break (code, out, json);
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains("No quorum: only 2 of the 4 shops are reachable and 3 are needed to finalize"),
        "{out}"
    );
    assert!(out.contains("(Bookshop, Cafe)"), "{out}");
    assert_eq!(json["health"], "no_quorum");
    assert_eq!(json["quorum"]["has_quorum"], false);
    let head: Value = reqwest::get(format!("{}/v1/head", api[0]))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(head["quorum"]["members"], 4);
    assert_eq!(head["quorum"]["reachable"].as_array().unwrap().len(), 2);

    // An online sale from the shop's wallet explains itself and names no
    // file.
    let wallet = dir.join("bakery/wallet.json");
    let passphrase = dir.join("passphrase.txt");
    let sale = guild(&[
        "--node",
        &api[0],
        "--wallet",
        wallet.to_str().unwrap(),
        "--passphrase-file",
        passphrase.to_str().unwrap(),
        "shop",
        "sale",
        "--to",
        &customer,
        "--amount",
        "3.00",
        "--receipt",
        "R-2",
        "--timeout",
        "3",
    ]);
    let out = text(&sale);
    assert_eq!(sale.status.code(), Some(1), "{out}");
    assert!(
        out.contains("only 2 of the 4 shops are reachable and 3 are needed to finalize"),
        "{out}"
    );
    assert!(
        out.contains("becomes final when another shop's node is back"),
        "{out}"
    );
    assert!(!out.contains("guild submit"), "{out}");

    // The café's node starts again with the printed command, on the data
    // directory of the node killed with SIGKILL (its lock went with it);
    // the waiting sale becomes final.
    let words: Vec<String> = restart
        .split(' ')
        .map(|w| w.trim_matches('\'').to_string())
        .collect();
    let cafe_log = temp.path().join("cafe-again.log");
    let mut cafe = Command::new(guild_bin())
        .args(&words[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&cafe_log).unwrap())
        .spawn()
        .unwrap();
    let event = devnet.next_json(Duration::from_secs(60));
    assert_eq!(event["event"], "node_back", "{event}");
    assert_eq!(event["shop"], "cafe");
    assert_eq!(event["running"], 3);
    let start = Instant::now();
    loop {
        let (code, out, _) = status(&api[0]);
        if code == 0 {
            assert!(out.contains("3 of 4 shops reachable"), "{out}");
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no quorum again: {out}\n{}",
            std::fs::read_to_string(&cafe_log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    // A second devnet, or a second node on a data directory in use, is
    // refused at once with the pid of the one using it.
    let second = guild(&["devnet", "--dir", dir.to_str().unwrap()]);
    let out = text(&second);
    assert_eq!(second.status.code(), Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "another guild devnet is already using {} (pid {})",
            dir.display(),
            devnet.child.id()
        )),
        "{out}"
    );
    let genesis = dir.join("genesis.json");
    let bakery_data = dir.join("bakery/data");
    let second = guild(&[
        "node",
        "--data",
        bakery_data.to_str().unwrap(),
        "--genesis",
        genesis.to_str().unwrap(),
        "--api",
        "127.0.0.1:0",
        "--listen",
        "/ip4/127.0.0.1/tcp/0",
        "--no-mdns",
    ]);
    let out = text(&second);
    assert_eq!(second.status.code(), Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "another guild node is already using {} (pid {})",
            bakery_data.display(),
            pids[0]
        )),
        "{out}"
    );
    assert!(!out.contains("could not acquire lock"), "{out}");

    // SIGTERM stops the devnet and its nodes (not the café's, started by
    // hand); devnet.json no longer names pids.
    let mut devnet = devnet;
    signal(devnet.child.id(), "-TERM");
    let start = Instant::now();
    let exit = loop {
        if let Some(exit) = devnet.child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            start.elapsed() < Duration::from_secs(40),
            "the devnet did not stop"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(exit.success(), "{exit:?}");
    for pid in [pids[0], pids[3]] {
        wait_for("a devnet node to stop", Duration::from_secs(5), || {
            !alive(pid)
        })
        .await;
    }
    assert!(
        cafe.try_wait().unwrap().is_none(),
        "the café's own node stopped"
    );
    let _ = cafe.kill();
    let _ = cafe.wait();
    let file: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("devnet.json")).unwrap()).unwrap();
    assert!(file["nodes"][0]["pid"].is_null(), "{file}");
    drop(devnet);
}
