//! Shops on different machines: each member node runs in a network
//! namespace of its own (its own interfaces, addresses and loopback), the
//! namespaces joined by a virtual bridge like shops' machines on a
//! switch. mDNS is off everywhere, so the nodes can find each other only
//! through the genesis file's `peers` and `--peer`.
//!
//! - Four founders start one after the other, each with the genesis peers
//!   only: the first is up before its peers and must find them as they come
//!   up (re-dialling). Every node ends connected to the three others.
//! - A transaction submitted to one node is final on all four, in the same
//!   block.
//! - A fifth shop joins with `guild join` in a fresh namespace, knowing
//!   only one founder's address (`--peer`; its genesis copy lists no
//!   peers): it prints the exact commands, the founders run them (`guild
//!   shop propose add-member …`, `guild shop approve N`), and the join ends
//!   with the shop a member. Started again with `guild node --config`, its
//!   node votes, and its own earn is final on every node.
//!
//! Needs root and `ip` (iproute2). Without them the test says why it did
//! not run, and fails if `GUILD_REQUIRE_NETNS=1` (CI sets it). Every
//! namespace and the bridge are removed when the test ends, pass or fail.

#![allow(clippy::needless_range_loop)] // shops are numbered: index i is namespace i, node i, key i

mod common;

use common::*;
use guild_ledger::crypto::Keypair;
use guild_ledger::genesis::{Genesis, GenesisMember};
use guild_ledger::params::Params;
use guild_ledger::types::{ChainId, ShopName, Timestamp};
use guild_wallet::keystore::{KdfParams, Keystore};
use serde_json::Value;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const FOUNDERS: [&str; 4] = ["Bakery", "Cafe", "Bookshop", "Florist"];
const P2P_PORT: u16 = 4700;
const API_PORT: u16 = 8700;
/// The longest wait for one step (generous: CI machines can be slow).
const WAIT: Duration = Duration::from_secs(60);
/// The longest wait for the vote to make the new shop a member.
const JOIN_WAIT: Duration = Duration::from_secs(120);

/// A bridge and one namespace per shop, removed on drop.
struct Lan {
    bridge: String,
    namespaces: Vec<String>,
    /// The first three octets of the subnet, e.g. "10.123.45".
    prefix: String,
}

fn ip(args: &[&str]) -> Result<(), String> {
    let output = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run `ip`: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`ip {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

impl Lan {
    /// Why network namespaces cannot be used here, if they cannot.
    fn unavailable() -> Option<String> {
        let uid = Command::new("id").arg("-u").output().ok()?;
        if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
            return Some("not running as root".into());
        }
        match Command::new("ip").arg("-V").output() {
            Ok(o) if o.status.success() => None,
            _ => Some("the `ip` command (iproute2) is missing".into()),
        }
    }

    /// A bridge with the host on `.1` and `count` namespaces on `.2`,
    /// `.3`…, named after this process so parallel runs do not meet.
    fn new(count: usize) -> Result<Lan, String> {
        let pid = std::process::id();
        let prefix = format!("10.{}.{}", 100 + pid % 100, (pid / 100) % 250);
        let mut lan = Lan {
            bridge: format!("gb{}", pid % 10_000_000),
            namespaces: Vec::new(),
            prefix,
        };
        ip(&["link", "add", &lan.bridge, "type", "bridge"])?;
        ip(&[
            "addr",
            "add",
            &format!("{}.1/24", lan.prefix),
            "dev",
            &lan.bridge,
        ])?;
        ip(&["link", "set", &lan.bridge, "up"])?;
        for i in 0..count {
            let ns = format!("guild-{pid}-{i}");
            ip(&["netns", "add", &ns])?;
            lan.namespaces.push(ns.clone());
            let host_end = lan.host_end(i);
            let ns_end = format!("gv{}n{i}", pid % 10_000_000);
            ip(&[
                "link", "add", &host_end, "type", "veth", "peer", "name", &ns_end,
            ])?;
            ip(&["link", "set", &ns_end, "netns", &ns])?;
            ip(&["link", "set", &host_end, "master", &lan.bridge])?;
            ip(&["link", "set", &host_end, "up"])?;
            let address = format!("{}/24", lan.address(i));
            ip(&["-n", &ns, "addr", "add", &address, "dev", &ns_end])?;
            ip(&["-n", &ns, "link", "set", &ns_end, "up"])?;
            ip(&["-n", &ns, "link", "set", "lo", "up"])?;
        }
        Ok(lan)
    }

    /// The host's end of namespace `i`'s veth pair.
    fn host_end(&self, i: usize) -> String {
        format!("gv{}h{i}", std::process::id() % 10_000_000)
    }

    /// Shop `i`'s address.
    fn address(&self, i: usize) -> String {
        format!("{}.{}", self.prefix, i + 2)
    }

    fn p2p(&self, i: usize) -> String {
        format!("/ip4/{}/tcp/{P2P_PORT}", self.address(i))
    }

    fn api(&self, i: usize) -> String {
        format!("http://{}:{API_PORT}", self.address(i))
    }

    /// `guild ARGS…` inside namespace `i`.
    fn guild(&self, i: usize) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.namespaces[i]])
            .arg(guild_bin());
        cmd
    }
}

impl Drop for Lan {
    fn drop(&mut self) {
        // Deleting a namespace deletes its end of each veth pair, and so
        // the pair, once the kernel frees it; the host ends are deleted
        // here at once.
        for (i, ns) in self.namespaces.iter().enumerate() {
            let _ = ip(&["netns", "del", ns]);
            let _ = ip(&["link", "del", &self.host_end(i)]);
        }
        let _ = ip(&["link", "del", &self.bridge]);
    }
}

/// Processes killed on drop (declared after the `Lan`, so dropped before
/// its namespaces are deleted).
#[derive(Default)]
struct Procs(Vec<Child>);

impl Drop for Procs {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

struct Http(reqwest::Client);

impl Http {
    async fn get(&self, url: &str) -> Option<Value> {
        let response = self
            .0
            .get(url)
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .ok()?;
        response.json().await.ok()
    }

    /// Polls `url` until `done` holds; panics with `what` after `WAIT`.
    async fn wait_for(&self, url: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let start = Instant::now();
        loop {
            if let Some(value) = self.get(url).await
                && done(&value)
            {
                return value;
            }
            assert!(start.elapsed() < WAIT, "{what}: {url} never did");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

fn write_wallet(path: &Path, name: &str, key: &Keypair) {
    let mut ks = Keystore::create(path, PASSPHRASE, KdfParams::MINIMUM, false).unwrap();
    ks.import(name, &hex::encode(key.secret_bytes())).unwrap();
    ks.save(PASSPHRASE).unwrap();
}

/// Runs `guild` on the host with `args`, expecting success; returns stdout.
fn run_ok(args: &[&str]) -> String {
    let output = Command::new(guild_bin())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "guild {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_on_separate_hosts_find_each_other_and_a_new_shop_joins() {
    if let Some(reason) = Lan::unavailable() {
        let required = std::env::var("GUILD_REQUIRE_NETNS").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "GUILD_REQUIRE_NETNS=1 but network namespaces cannot be used: {reason}"
        );
        eprintln!(
            "SKIPPED: network namespaces cannot be used ({reason}); run as root with iproute2"
        );
        return;
    }
    let started = Instant::now();
    let lan = Lan::new(FOUNDERS.len() + 1).unwrap_or_else(|e| panic!("cannot set up the LAN: {e}"));
    let mut procs = Procs::default();
    let dir = tempfile::tempdir().unwrap();
    let passphrase = dir.path().join("passphrase.txt");
    std::fs::write(&passphrase, PASSPHRASE).unwrap();
    let http = Http(reqwest::Client::new());

    // The founders' genesis lists each founder's node.
    let keys: Vec<Keypair> = (0..FOUNDERS.len())
        .map(|i| Keypair::from_secret(&[i as u8 + 1; 32]))
        .collect();
    let genesis = Genesis {
        programme: Default::default(),
        chain_id: ChainId::new("high-street").unwrap(),
        time: Timestamp(now_ms() - 1000),
        members: FOUNDERS
            .iter()
            .zip(&keys)
            .map(|(name, key)| GenesisMember {
                name: ShopName::new(name).unwrap(),
                address: key.address(),
            })
            .collect(),
        params: Params::default(),
    };
    let mut file = serde_json::to_value(&genesis).unwrap();
    file["peers"] = (0..FOUNDERS.len()).map(|i| lan.p2p(i)).collect();
    let genesis_path = dir.path().join("genesis.json");
    std::fs::write(&genesis_path, file.to_string()).unwrap();
    let wallets: Vec<PathBuf> = FOUNDERS
        .iter()
        .zip(&keys)
        .map(|(name, key)| {
            let path = dir.path().join(format!("{}.wallet", name.to_lowercase()));
            write_wallet(&path, &name.to_lowercase(), key);
            path
        })
        .collect();

    // Founders start one after the other; the first is alone for a while.
    for i in 0..FOUNDERS.len() {
        let log = std::fs::File::create(dir.path().join(format!("node{i}.log"))).unwrap();
        let child = lan
            .guild(i)
            .arg("node")
            .arg("--data")
            .arg(dir.path().join(format!("data{i}")))
            .arg("--genesis")
            .arg(&genesis_path)
            .args(["--listen", &lan.p2p(i)])
            .args(["--api", &format!("{}:{API_PORT}", lan.address(i))])
            .arg("--no-mdns")
            .arg("--key")
            .arg(&wallets[i])
            .arg("--passphrase-file")
            .arg(&passphrase)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        procs.0.push(child);
        if i == 0 {
            http.wait_for(
                &format!("{}/v1/head", lan.api(0)),
                "Bakery's node answers",
                |_| true,
            )
            .await;
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }
    let log = |i: usize| {
        tail(
            &std::fs::read_to_string(dir.path().join(format!("node{i}.log"))).unwrap_or_default(),
            30,
        )
    };
    for i in 0..FOUNDERS.len() {
        let head = http
            .wait_for(
                &format!("{}/v1/head", lan.api(i)),
                "connected to the 3 others",
                |h| h["peers"].as_u64() == Some(3),
            )
            .await;
        assert_eq!(
            head["member"],
            keys[i].address().to_string(),
            "{head}\n{}",
            log(i)
        );
    }

    // A transaction submitted to Cafe's node is final on all four.
    let customer = customer(1).address();
    let earn = guild_ledger::tx::Transaction {
        author: keys[0].address(),
        nonce: guild_ledger::types::Nonce(0),
        body: guild_ledger::tx::TxBody::Earn {
            reason: guild_ledger::Memo::new("welcome").unwrap(),
            customer,
            points: guild_ledger::types::Points(25),
            purchase: None,
            receipt: guild_ledger::types::ReceiptHash::new(&keys[0].address(), "ns-1"),
        },
    }
    .sign(&keys[0], &genesis.chain_id);
    let response: Value = http
        .0
        .post(format!("{}/v1/tx", lan.api(1)))
        .json(&serde_json::json!({
            "tx": hex::encode(guild_ledger::codec::encode(&earn)),
            "wait": true,
            "timeout_ms": 20000,
        }))
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(response["status"], "final", "{response}\n{}", log(1));
    let id = response["id"].as_str().unwrap().to_string();
    let height = response["height"].as_u64().unwrap();
    let mut hashes = Vec::new();
    for i in 0..FOUNDERS.len() {
        let tx = http
            .wait_for(
                &format!("{}/v1/tx/{id}", lan.api(i)),
                "final everywhere",
                |t| t["status"] == "final",
            )
            .await;
        assert_eq!(tx["height"].as_u64(), Some(height), "{tx}");
        let block = http
            .get(&format!("{}/v1/blocks/{height}", lan.api(i)))
            .await
            .unwrap();
        hashes.push(block["hash"].as_str().unwrap().to_string());
    }
    assert!(hashes.iter().all(|h| *h == hashes[0]), "{hashes:?}");

    // A fifth shop joins from its own namespace, knowing one founder's
    // address only.
    let butcher = FOUNDERS.len();
    let mut bare = file.clone();
    bare["peers"] = Value::Array(Vec::new());
    let bare_path = dir.path().join("genesis-no-peers.json");
    std::fs::write(&bare_path, bare.to_string()).unwrap();
    let join_dir = dir.path().join("butcher");
    let mut join = lan
        .guild(butcher)
        .arg("join")
        .args(["--name", "Butcher"])
        .arg("--dir")
        .arg(&join_dir)
        .arg("--genesis")
        .arg(&bare_path)
        .args(["--peer", &lan.p2p(0)])
        .args(["--listen", &lan.p2p(butcher)])
        .args(["--api", &format!("{}:{API_PORT}", lan.address(butcher))])
        .arg("--no-mdns")
        .arg("--passphrase-file")
        .arg(&passphrase)
        .arg("--stop-when-member")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.path().join("join.log")).unwrap())
        .spawn()
        .unwrap();
    let (lines_tx, lines) = mpsc::channel::<String>();
    let stdout = join.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    procs.0.push(join);
    let mut printed = Vec::new();
    let propose_line = loop {
        let line = lines
            .recv_timeout(WAIT)
            .unwrap_or_else(|_| panic!("join printed no instructions:\n{}", printed.join("\n")));
        printed.push(line.clone());
        if line
            .trim_start()
            .starts_with("guild shop propose add-member")
        {
            break line;
        }
    };
    let words: Vec<&str> = propose_line.split_whitespace().collect();
    assert_eq!(
        words[..6],
        [
            "guild",
            "shop",
            "propose",
            "add-member",
            "--name",
            "Butcher"
        ]
    );
    assert_eq!(words[6], "--address");
    let address = words[7].to_string();

    // The founders vote, running exactly what was printed.
    let bakery = |i: usize| {
        vec![
            "--json".to_string(),
            "--node".to_string(),
            lan.api(i),
            "--wallet".to_string(),
            wallets[i].display().to_string(),
            "--passphrase-file".to_string(),
            passphrase.display().to_string(),
        ]
    };
    let mut propose: Vec<String> = words[..8].iter().skip(1).map(|s| s.to_string()).collect();
    propose.extend(bakery(0));
    let proposed: Value = serde_json::from_str(&run_ok(
        &propose.iter().map(String::as_str).collect::<Vec<_>>(),
    ))
    .unwrap();
    let number = proposed["proposal"]
        .as_u64()
        .unwrap_or_else(|| panic!("{proposed}"));
    for i in [1, 2] {
        let mut approve = vec![
            "shop".to_string(),
            "approve".to_string(),
            number.to_string(),
        ];
        approve.extend(bakery(i));
        run_ok(&approve.iter().map(String::as_str).collect::<Vec<_>>());
    }

    // Blocks go on (earns) until the join says the shop is a member.
    let voted = Instant::now();
    let mut nonce = 1;
    let member_line = loop {
        match lines.recv_timeout(Duration::from_millis(300)) {
            Ok(line) => {
                printed.push(line.clone());
                if line.starts_with("Butcher is now a member") {
                    break line;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let earn = guild_ledger::tx::Transaction {
                    author: keys[0].address(),
                    nonce: guild_ledger::types::Nonce(nonce),
                    body: guild_ledger::tx::TxBody::Earn {
                        reason: guild_ledger::Memo::new("welcome").unwrap(),
                        customer,
                        points: guild_ledger::types::Points(1),
                        purchase: None,
                        receipt: guild_ledger::types::ReceiptHash::new(
                            &keys[0].address(),
                            &format!("drive-{nonce}"),
                        ),
                    },
                }
                .sign(&keys[0], &genesis.chain_id);
                let sent = http
                    .0
                    .post(format!("{}/v1/tx", lan.api(0)))
                    .json(&serde_json::json!({
                        "tx": hex::encode(guild_ledger::codec::encode(&earn)),
                        "wait": true,
                        "timeout_ms": 10000,
                    }))
                    .timeout(Duration::from_secs(15))
                    .send()
                    .await;
                if sent.is_ok_and(|r| r.status().is_success()) {
                    nonce += 1;
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => panic!(
                "join ended before the shop was a member:\n{}\n{}",
                printed.join("\n"),
                std::fs::read_to_string(dir.path().join("join.log")).unwrap_or_default()
            ),
        }
        assert!(
            voted.elapsed() < JOIN_WAIT,
            "not a member {JOIN_WAIT:?} after the vote:\n{}",
            printed.join("\n")
        );
    };
    let transcript = printed.join("\n");
    assert!(
        transcript.contains(&format!("proposal #{number}")),
        "the progress shows the vote:\n{transcript}"
    );
    assert!(
        member_line.contains("its node votes on every block"),
        "{member_line}"
    );
    let next = lines.recv_timeout(WAIT).unwrap_or_default();
    assert_eq!(
        next,
        format!(
            "Start the node later with `guild node --config {}`.",
            join_dir.join("node.json").display()
        )
    );
    let status = procs.0.last_mut().unwrap().wait().unwrap();
    assert!(status.success(), "join exited with {status}:\n{transcript}");

    // The one command to start it later; the node is a member and votes.
    let log_path = dir.path().join("butcher.log");
    let child = lan
        .guild(butcher)
        .arg("node")
        .arg("--config")
        .arg(join_dir.join("node.json"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    procs.0.push(child);
    let head = http
        .wait_for(
            &format!("{}/v1/head", lan.api(butcher)),
            "Butcher's node runs as a member",
            |h| h["member"] == address.as_str(),
        )
        .await;
    assert!(head["peers"].as_u64() >= Some(1), "{head}");
    let earned = run_ok(&[
        "--json",
        "--node",
        &lan.api(butcher),
        "--wallet",
        &join_dir.join("wallet.json").display().to_string(),
        "--passphrase-file",
        &passphrase.display().to_string(),
        "shop",
        "earn",
        "--to",
        &customer.to_string(),
        "--points",
        "7",
        "--reason",
        "welcome to the butcher",
    ]);
    let earned: Value = serde_json::from_str(&earned).unwrap();
    let id = earned["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{earned}"))
        .to_string();
    for i in 0..=butcher {
        http.wait_for(
            &format!("{}/v1/tx/{id}", lan.api(i)),
            "Butcher's earn final everywhere",
            |t| t["status"] == "final",
        )
        .await;
    }
    eprintln!("namespaces test took {:?}", started.elapsed());
}
