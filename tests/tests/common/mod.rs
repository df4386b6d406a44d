//! A real local network for tests: genesis and shop wallets in a temporary
//! directory, and `guild node` processes on loopback that can be killed
//! (SIGKILL) and restarted.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::needless_range_loop
)]

use guild_ledger::crypto::{Address, Keypair};
use guild_ledger::genesis::{Genesis, GenesisMember};
use guild_ledger::params::Params;
use guild_ledger::tx::{SignedTransaction, Transaction, TxBody};
use guild_ledger::types::{ChainId, Nonce, Points, ReceiptHash, ShopName, Timestamp};
use guild_wallet::keystore::{KdfParams, Keystore};
use serde_json::Value;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};

pub const PASSPHRASE: &str = "test passphrase";

/// The `guild` binary, built once per test run.
pub fn guild_bin() -> PathBuf {
    static BUILD: Once = Once::new();
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/<test> → target/<profile>/guild
    let dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
    let bin = dir.join("guild");
    BUILD.call_once(|| {
        let profile = dir.file_name().unwrap().to_str().unwrap().to_string();
        let mut cmd = Command::new(env!("CARGO"));
        cmd.args(["build", "-q", "-p", "guild-cli", "--bin", "guild"]);
        if profile == "release" {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("cargo build guild");
        assert!(status.success(), "building the guild binary failed");
    });
    bin
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub use guild_os::clock::now_ms;

pub struct NodeProc {
    pub name: String,
    pub key: Option<Keypair>,
    pub data: PathBuf,
    pub wallet: Option<PathBuf>,
    pub p2p_port: u16,
    pub api_port: u16,
    pub child: Option<Child>,
    pub log: PathBuf,
}

pub struct Net {
    pub dir: tempfile::TempDir,
    pub chain_id: ChainId,
    pub genesis: PathBuf,
    pub passphrase_file: PathBuf,
    pub nodes: Vec<NodeProc>,
    pub http: reqwest::Client,
    pub extra_env: Vec<(String, String)>,
}

impl Net {
    /// A network of `members` shops (not started).
    pub fn new(members: usize) -> Net {
        let dir = tempfile::tempdir().unwrap();
        let chain_id = ChainId::new("test-net").unwrap();
        let passphrase_file = dir.path().join("passphrase.txt");
        std::fs::write(&passphrase_file, PASSPHRASE).unwrap();
        let names = [
            "Bakery", "Cafe", "Bookshop", "Florist", "Butcher", "Grocer", "Deli",
        ];
        let mut nodes = Vec::new();
        let mut genesis_members = Vec::new();
        for i in 0..members {
            let name = names[i].to_string();
            let key = Keypair::from_secret(&[i as u8 + 1; 32]);
            let wallet = dir.path().join(format!("{}.wallet", name.to_lowercase()));
            let mut ks = Keystore::create(&wallet, PASSPHRASE, KdfParams::MINIMUM, false).unwrap();
            ks.import(&name.to_lowercase(), &hex::encode(key.secret_bytes()))
                .unwrap();
            ks.save(PASSPHRASE).unwrap();
            genesis_members.push(GenesisMember {
                name: ShopName::new(&name).unwrap(),
                address: key.address(),
            });
            nodes.push(NodeProc {
                data: dir.path().join(format!("{}-data", name.to_lowercase())),
                log: dir.path().join(format!("{}.log", name.to_lowercase())),
                name,
                key: Some(key),
                wallet: Some(wallet),
                p2p_port: free_port(),
                api_port: free_port(),
                child: None,
            });
        }
        let genesis = Genesis {
            programme: Default::default(),
            chain_id: chain_id.clone(),
            time: Timestamp(now_ms() - 1000),
            members: genesis_members,
            params: Params::default(),
        };
        let genesis_path = dir.path().join("genesis.json");
        std::fs::write(
            &genesis_path,
            serde_json::to_string_pretty(&genesis).unwrap(),
        )
        .unwrap();
        Net {
            dir,
            chain_id,
            genesis: genesis_path,
            passphrase_file,
            nodes,
            http: reqwest::Client::new(),
            extra_env: Vec::new(),
        }
    }

    /// Adds an observer (no key); returns its index.
    pub fn add_observer(&mut self) -> usize {
        let i = self.nodes.len();
        self.nodes.push(NodeProc {
            name: format!("observer{i}"),
            key: None,
            data: self.dir.path().join(format!("observer{i}-data")),
            wallet: None,
            p2p_port: free_port(),
            api_port: free_port(),
            child: None,
            log: self.dir.path().join(format!("observer{i}.log")),
        });
        i
    }

    /// Adds a node that runs with `key` under `name` (its wallet file
    /// written like a founding shop's), whether or not the key is a member;
    /// returns its index. The genesis is unchanged.
    pub fn add_keyed_node(&mut self, name: &str, key: Keypair) -> usize {
        let i = self.nodes.len();
        let lower = name.to_lowercase();
        let wallet = self.dir.path().join(format!("{lower}.wallet"));
        let mut ks = Keystore::create(&wallet, PASSPHRASE, KdfParams::MINIMUM, false).unwrap();
        ks.import(&lower, &hex::encode(key.secret_bytes())).unwrap();
        ks.save(PASSPHRASE).unwrap();
        self.nodes.push(NodeProc {
            name: name.to_string(),
            key: Some(key),
            data: self.dir.path().join(format!("{lower}-data")),
            wallet: Some(wallet),
            p2p_port: free_port(),
            api_port: free_port(),
            child: None,
            log: self.dir.path().join(format!("{lower}.log")),
        });
        i
    }

    pub fn start_all(&mut self) {
        for i in 0..self.nodes.len() {
            self.start(i);
        }
    }

    pub fn command(&self, i: usize) -> Command {
        let node = &self.nodes[i];
        let mut cmd = Command::new(guild_bin());
        cmd.arg("node")
            .arg("--data")
            .arg(&node.data)
            .arg("--genesis")
            .arg(&self.genesis)
            .arg("--listen")
            .arg(format!("/ip4/127.0.0.1/tcp/{}", node.p2p_port))
            .arg("--api")
            .arg(format!("127.0.0.1:{}", node.api_port))
            .arg("--no-mdns")
            .arg("--log")
            .arg("info");
        for (j, other) in self.nodes.iter().enumerate() {
            if j != i {
                cmd.arg("--peer")
                    .arg(format!("/ip4/127.0.0.1/tcp/{}", other.p2p_port));
            }
        }
        if let Some(wallet) = &node.wallet {
            cmd.arg("--key")
                .arg(wallet)
                .arg("--passphrase-file")
                .arg(&self.passphrase_file);
        }
        for (k, v) in &self.extra_env {
            cmd.env(k, v);
        }
        cmd
    }

    pub fn start(&mut self, i: usize) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.nodes[i].log)
            .unwrap();
        let child = self
            .command(i)
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        self.nodes[i].child = Some(child);
    }

    /// SIGKILL, no clean-up.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.nodes[i].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn api(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.nodes[i].api_port)
    }

    pub fn logs(&self, i: usize) -> String {
        std::fs::read_to_string(&self.nodes[i].log).unwrap_or_default()
    }

    pub async fn get(&self, i: usize, path: &str) -> Option<(u16, Value)> {
        let response = self
            .http
            .get(format!("{}{}", self.api(i), path))
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .ok()?;
        let status = response.status().as_u16();
        let body = response.json().await.ok()?;
        Some((status, body))
    }

    pub async fn submit(&self, i: usize, tx: &SignedTransaction, wait: bool) -> (u16, Value) {
        let body = serde_json::json!({
            "tx": hex::encode(guild_ledger::codec::encode(tx)),
            "wait": wait,
            "timeout_ms": 30000,
        });
        let response = self
            .http
            .post(format!("{}/v1/tx", self.api(i)))
            .json(&body)
            .timeout(Duration::from_secs(40))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    pub async fn height(&self, i: usize) -> Option<u64> {
        let (_, head) = self.get(i, "/v1/head").await?;
        head["height"].as_u64()
    }

    /// Waits until node `i` answers and has reached `height`.
    pub async fn wait_height(&self, i: usize, height: u64, limit: Duration) -> u64 {
        let start = Instant::now();
        loop {
            if let Some(h) = self.height(i).await
                && h >= height
            {
                return h;
            }
            if start.elapsed() > limit {
                panic!(
                    "node {i} did not reach height {height} in {limit:?}; its log:\n{}",
                    tail(&self.logs(i), 40)
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn block_hash(&self, i: usize, height: u64) -> Option<String> {
        let (status, block) = self.get(i, &format!("/v1/blocks/{height}")).await?;
        (status == 200).then(|| block["hash"].as_str().unwrap().to_string())
    }

    pub async fn balance(&self, i: usize, address: &Address) -> u64 {
        let (status, account) = self
            .get(i, &format!("/v1/accounts/{address}"))
            .await
            .unwrap();
        assert_eq!(status, 200, "{account}");
        account["balance"].as_u64().unwrap()
    }

    pub async fn nonce(&self, i: usize, address: &Address) -> u64 {
        let (_, account) = self
            .get(i, &format!("/v1/accounts/{address}"))
            .await
            .unwrap();
        account["nonce"].as_u64().unwrap()
    }

    pub fn shop(&self, i: usize) -> &Keypair {
        self.nodes[i].key.as_ref().unwrap()
    }

    /// A signed earn from shop `shop` to `customer`.
    pub fn earn(
        &self,
        shop: usize,
        nonce: u64,
        customer: &Address,
        points: u64,
        receipt: &str,
    ) -> SignedTransaction {
        let key = self.shop(shop);
        Transaction {
            author: key.address(),
            nonce: Nonce(nonce),
            body: TxBody::Earn {
                reason: guild_ledger::Memo::new("goodwill").unwrap(),
                customer: *customer,
                points: Points(points),
                purchase: None,
                receipt: ReceiptHash::new(&key.address(), receipt),
            },
        }
        .sign(key, &self.chain_id)
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill(i);
        }
    }
}

pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

pub fn customer(n: u8) -> Keypair {
    Keypair::from_secret(&[100 + n; 32])
}

pub fn data_dir(net: &Net, i: usize) -> &Path {
    &net.nodes[i].data
}

// ----- helpers for scripted scenarios and audits ---------------------------

impl Net {
    /// Any transaction signed by `key` with `nonce`.
    pub fn sign(&self, key: &Keypair, nonce: u64, body: TxBody) -> SignedTransaction {
        Transaction {
            author: key.address(),
            nonce: Nonce(nonce),
            body,
        }
        .sign(key, &self.chain_id)
    }

    /// A transfer of `points` from `from` to `to`.
    pub fn transfer(
        &self,
        from: &Keypair,
        nonce: u64,
        to: &Address,
        points: u64,
    ) -> SignedTransaction {
        self.sign(
            from,
            nonce,
            TxBody::Transfer {
                to: *to,
                points: Points(points),
                memo: None,
            },
        )
    }

    /// A redemption of `points` by `holder` at shop `shop`.
    pub fn redeem(
        &self,
        holder: &Keypair,
        nonce: u64,
        shop: usize,
        points: u64,
    ) -> SignedTransaction {
        let shop = self.shop(shop).address();
        self.sign(
            holder,
            nonce,
            TxBody::Redeem {
                shop,
                points: Points(points),
            },
        )
    }

    /// Shop `creditor` acknowledges that shop `debtor` paid it `points`.
    pub fn settle(
        &self,
        creditor: usize,
        nonce: u64,
        debtor: usize,
        points: u64,
    ) -> SignedTransaction {
        let debtor = self.shop(debtor).address();
        self.sign(
            self.shop(creditor),
            nonce,
            TxBody::Settle {
                debtor,
                points: Points(points),
            },
        )
    }

    /// Shop `shop` reverses its earn of `receipt`.
    pub fn reverse(&self, shop: usize, nonce: u64, receipt: &str) -> SignedTransaction {
        let key = self.shop(shop);
        self.sign(
            key,
            nonce,
            TxBody::Reverse {
                amount: None,
                receipt: ReceiptHash::new(&key.address(), receipt),
            },
        )
    }

    /// Submits `txs` to node `i` in order without waiting, then waits until
    /// every one is final; returns their heights.
    pub async fn submit_all(&self, i: usize, txs: &[SignedTransaction]) -> Vec<u64> {
        let mut ids = Vec::new();
        for tx in txs {
            let (status, body) = self.submit(i, tx, false).await;
            assert!(status == 200 || status == 202, "{status} {body}");
            ids.push(body["id"].as_str().unwrap().to_string());
        }
        let start = Instant::now();
        let mut heights = Vec::new();
        for id in ids {
            loop {
                if let Some((200, tx)) = self.get(i, &format!("/v1/tx/{id}")).await
                    && tx["status"] == "final"
                {
                    heights.push(tx["height"].as_u64().unwrap());
                    break;
                }
                assert!(
                    start.elapsed() < Duration::from_secs(60),
                    "transaction {id} not final; node log:\n{}",
                    tail(&self.logs(i), 40)
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        heights
    }
}

/// Runs the `guild` binary with `args` (no standard input).
pub fn guild(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(guild_bin())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

impl Net {
    /// `guild node token create --name NAME --scope SCOPE` on node `i`, as
    /// the docs say: the new token.
    pub fn token(&self, i: usize, name: &str, scope: &str) -> String {
        let out = guild(&[
            std::ffi::OsStr::new("node"),
            std::ffi::OsStr::new("token"),
            std::ffi::OsStr::new("create"),
            std::ffi::OsStr::new("--data"),
            self.nodes[i].data.as_os_str(),
            std::ffi::OsStr::new("--name"),
            std::ffi::OsStr::new(name),
            std::ffi::OsStr::new("--scope"),
            std::ffi::OsStr::new(scope),
        ]);
        assert!(
            out.status.success(),
            "token create failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Sets shop `i`'s earn rule to 1 point per `per` (e.g. "0.10") with
    /// the shop's CLI, through node `i`.
    pub fn set_rule_per(&self, i: usize, per: &str) {
        let api = self.api(i);
        let out = guild(&[
            std::ffi::OsStr::new("--node"),
            std::ffi::OsStr::new(&api),
            std::ffi::OsStr::new("--wallet"),
            self.nodes[i].wallet.as_ref().unwrap().as_os_str(),
            std::ffi::OsStr::new("--passphrase-file"),
            self.passphrase_file.as_os_str(),
            std::ffi::OsStr::new("shop"),
            std::ffi::OsStr::new("rules"),
            std::ffi::OsStr::new("set"),
            std::ffi::OsStr::new("--per"),
            std::ffi::OsStr::new(per),
        ]);
        assert!(
            out.status.success(),
            "rules set failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Copies a directory tree (a stopped node's data directory).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
