//! API tests against a real server on 127.0.0.1:0, with a hand-built
//! `NodeHandle` (a genesis store, a watch channel, a broadcast channel) and
//! a fake engine task answering submissions as each test chooses.

use super::routes::events::{Filter, at_shop, block_event};
use crate::directory::Directory;
use crate::handle::{ChainEvent, ChainView, NodeHandle, Request, SubmitError, Submitted};
use crate::store::{Commit, Store, TxLocation};
use crate::tokens::{Scope, TokenStore};
use guild_api::account::account_info as account_json;
use guild_api::chain::members as members_json;
use guild_ledger::block::{BlockHeader, CommitCertificate, CommitSignature, FinalBlock};
use guild_ledger::codec;
use guild_ledger::crypto::{Address, Keypair};
use guild_ledger::error::TxError;
use guild_ledger::genesis::{Genesis, GenesisMember};
use guild_ledger::params::Params;
use guild_ledger::state::{AccountProof, BlockBuilder, State};
use guild_ledger::tx::{SignedTransaction, Transaction, TxBody, TxId, VerifiedTx};
use guild_ledger::types::{ChainId, Height, Nonce, Points, ReceiptHash, ShopName, Timestamp};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, mpsc, oneshot, watch};

mod customers;
mod shop_sign;

const DAY: u64 = 86_400_000;

mod insights;
mod throttle;

type Answer = fn(&SignedTransaction, TxId) -> Result<Submitted, SubmitError>;

/// A `Grant` the fake engine hands to the test (with `start_signing`), and
/// where to answer it.
type GrantCall = (
    crate::handle::Grant,
    oneshot::Sender<Result<crate::handle::Ticket<Submitted>, SubmitError>>,
);

fn shop_key() -> Keypair {
    Keypair::from_secret(&[1; 32])
}

fn customer_key() -> Keypair {
    Keypair::from_secret(&[101; 32])
}

fn pending(_: &SignedTransaction, id: TxId) -> Result<Submitted, SubmitError> {
    Ok(Submitted::Pending { id })
}

/// A node without consensus: tests make blocks with [`TestNode::commit`].
struct TestNode {
    addr: SocketAddr,
    chain_id: ChainId,
    genesis: Arc<Genesis>,
    store: Store,
    state: State,
    head: BlockHeader,
    view: watch::Sender<Arc<ChainView>>,
    events: broadcast::Sender<ChainEvent>,
    insights: crate::insights::Insights,
    _follower: crate::insights::Follower,
    tokens: TokenStore,
    directory: Directory,
    automation: Option<crate::automation::Running>,
    /// The grants the engine was asked for (`start_signing` only).
    grants: Option<mpsc::Receiver<GrantCall>>,
    stop: Option<oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    _dir: tempfile::TempDir,
}

impl TestNode {
    /// Genesis one day ago (so earned points are valid now), one shop.
    async fn start(answer: Answer) -> TestNode {
        TestNode::start_with(answer, 64).await
    }

    async fn start_with(answer: Answer, event_capacity: usize) -> TestNode {
        TestNode::build(answer, event_capacity, false, false).await
    }

    /// With the engine's grants handed to the test ([`TestNode::grants`]),
    /// which answers them as the shop's engine would.
    async fn start_signing() -> TestNode {
        TestNode::build(pending, 64, false, true).await
    }

    /// With the automation service running over the node's data directory.
    async fn start_automated() -> TestNode {
        TestNode::build(pending, 64, true, false).await
    }

    async fn build(
        answer: Answer,
        event_capacity: usize,
        automated: bool,
        signing: bool,
    ) -> TestNode {
        let now = super::now_ms().0;
        let genesis = Genesis {
            programme: Default::default(),
            chain_id: ChainId::new("test-street").unwrap(),
            time: Timestamp(now - DAY),
            members: vec![GenesisMember {
                name: ShopName::new("Bakery").unwrap(),
                address: shop_key().address(),
            }],
            params: Params::default(),
        };
        let (state, head) = genesis.build().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 8 << 20).unwrap();
        store.init(&head, &state).unwrap();
        let (view, view_rx) = watch::channel(Arc::new(ChainView {
            state: state.clone(),
            head: head.clone(),
            certificate: None,
            mempool: 0,
            peers: 2,
            member: Some(shop_key().address()),
            round: 0,
            syncing: false,
            sync: Default::default(),
            quorum: Default::default(),
            recent: crate::recent::RecentStates::new(state.clone()),
        }));
        let (events, _) = broadcast::channel(event_capacity);
        let (requests, mailbox) = mpsc::channel(16);
        let (grant_calls, grants) = mpsc::channel(4);
        let grant_calls = signing.then_some(grant_calls);
        tokio::spawn(fake_engine(
            mailbox,
            genesis.chain_id.clone(),
            answer,
            grant_calls,
        ));
        let (insights, follower) =
            crate::insights::spawn(Arc::new(genesis.clone()), store.clone(), events.subscribe());
        let handle = NodeHandle {
            chain_id: genesis.chain_id.clone(),
            genesis: std::sync::Arc::new(genesis.clone()),
            store: store.clone(),
            view: view_rx,
            events: events.clone(),
            requests,
            insights: insights.clone(),
        };
        let tokens = TokenStore::open(dir.path()).unwrap();
        let directory = Directory::open(dir.path()).unwrap();
        let automation = automated.then(|| {
            crate::automation::service::start(
                dir.path(),
                handle.clone(),
                Arc::new(crate::automation::facts::MemoryFacts::default()),
                Arc::new(crate::automation::NoScores),
                Default::default(),
            )
            .unwrap()
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(super::serve(
            listener,
            handle,
            tokens.clone(),
            directory.clone(),
            automation.as_ref().map(|a| a.handle.clone()),
            None,
            async move {
                let _ = stopped.await;
            },
        ));
        TestNode {
            addr,
            genesis: Arc::new(genesis.clone()),
            chain_id: genesis.chain_id,
            store,
            state,
            head,
            view,
            events,
            insights,
            _follower: follower,
            tokens,
            directory,
            automation,
            grants: signing.then_some(grants),
            stop: Some(stop),
            server,
            _dir: dir,
        }
    }

    fn sign(&self, key: &Keypair, nonce: u64, body: TxBody) -> SignedTransaction {
        Transaction {
            author: key.address(),
            nonce: Nonce(nonce),
            body,
        }
        .sign(key, &self.chain_id)
    }

    fn earn(&self, points: u64, receipt: &str) -> SignedTransaction {
        let shop = shop_key();
        let nonce = self.state.account(&shop.address()).map_or(0, |a| a.nonce.0);
        self.sign(
            &shop,
            nonce,
            TxBody::Earn {
                reason: guild_ledger::Memo::new("goodwill").unwrap(),
                customer: customer_key().address(),
                points: Points(points),
                purchase: None,
                receipt: ReceiptHash::new(&shop.address(), receipt),
            },
        )
    }

    /// Makes, stores, publishes and announces the next block, as the
    /// engine would.
    fn commit(&mut self, txs: Vec<SignedTransaction>) -> FinalBlock {
        self.commit_block(txs, true)
    }

    /// [`TestNode::commit`], with or without the announcement to
    /// subscribers (a subscriber that missed a block).
    fn commit_block(&mut self, txs: Vec<SignedTransaction>, announce: bool) -> FinalBlock {
        let shop = shop_key();
        let verified: Vec<VerifiedTx> = txs
            .into_iter()
            .map(|t| t.verify(&self.chain_id).unwrap())
            .collect();
        let time = Timestamp(self.state.chain().time.0 + 1_000);
        let mut builder = BlockBuilder::new(&self.state, &self.head, time, shop.address()).unwrap();
        for tx in verified {
            builder.push(tx).unwrap();
        }
        let mut applied = builder.finish();
        let effects = Arc::new(std::mem::take(&mut applied.effects));
        let header = applied.block.header().clone();
        let mut certificate = CommitCertificate {
            height: header.height,
            round: 0,
            block_hash: header.hash(),
            signatures: vec![],
        };
        certificate.signatures.push(CommitSignature {
            voter: shop.address(),
            signature: certificate.vote().sign(&shop, &self.chain_id),
        });
        let (commit, state) = Commit::new(&self.state, applied, certificate.clone());
        self.store.commit(&commit).unwrap();
        let Commit {
            block, tx_ids: ids, ..
        } = commit;
        self.state = state.clone();
        self.head = header.clone();
        let after = state.clone();
        self.view.send_modify(|view| {
            let mut next = (**view).clone();
            next.recent = next.recent.with(state.clone());
            next.state = state;
            next.head = header;
            next.certificate = Some(certificate);
            *view = Arc::new(next);
        });
        if announce {
            let _ = self.events.send(ChainEvent::Final {
                block: Arc::new(block.clone()),
                ids: Arc::new(ids),
                effects,
                state: after,
            });
        }
        block
    }

    async fn get(&self, path: &str) -> Reply {
        http(self.addr, "GET", path, None).await
    }

    async fn post(&self, path: &str, body: &str) -> Reply {
        http(self.addr, "POST", path, Some(body)).await
    }

    /// GET with `Authorization: Bearer {token}`.
    async fn get_as(&self, token: &str, path: &str) -> Reply {
        let header = format!("Authorization: Bearer {token}");
        http_with(self.addr, "GET", path, &[&header], None).await
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(automation) = self.automation.take() {
            automation.stop().await;
        }
        tokio::time::timeout(Duration::from_secs(5), &mut self.server)
            .await
            .expect("the server stops on its shutdown future")
            .unwrap()
            .unwrap();
    }
}

async fn fake_engine(
    mut mailbox: mpsc::Receiver<Request>,
    chain_id: ChainId,
    answer: Answer,
    grants: Option<mpsc::Sender<GrantCall>>,
) {
    let mut waiting = HashSet::new();
    while let Some(request) = mailbox.recv().await {
        match request {
            Request::Submit { tx, reply, .. } => {
                let id = tx.tx.id(&chain_id);
                let result = answer(&tx, id);
                if let Ok(Submitted::Pending { id }) = result {
                    waiting.insert(id);
                }
                let _ = reply.send(result);
            }
            Request::IsPending { id, reply } => {
                let _ = reply.send(waiting.contains(&id));
            }
            // The fake engine holds no shop key: it cannot sign sales.
            Request::Sale { reply, .. } => {
                let _ = reply.send(Err(crate::SubmitError::NoShopKey));
            }
            Request::Grant { grant, reply } => match &grants {
                Some(grants) => {
                    let _ = grants.send((grant, reply)).await;
                }
                None => {
                    let _ = reply.send(Err(crate::SubmitError::NoShopKey));
                }
            },
            Request::Refund { reply, .. } => {
                let _ = reply.send(Err(crate::SubmitError::NoShopKey));
            }
        }
    }
}

/// An HTTP answer.
struct Reply {
    status: u16,
    headers: HashMap<String, String>,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// Asserts an error answer and returns its message.
    fn error(&self, status: u16, code: &str) -> String {
        assert_eq!(self.status, status, "{}", self.body);
        let json = self.json();
        assert_eq!(json["error"]["code"], code, "{}", self.body);
        json["error"]["message"].as_str().unwrap().to_string()
    }
}

/// A minimal HTTP/1.1 client (`Connection: close`, reads to the end).
async fn http(addr: SocketAddr, method: &str, path: &str, body: Option<&str>) -> Reply {
    http_with(addr, method, path, &[], body).await
}

/// [`http`] with extra header lines such as `Authorization: Bearer …`.
async fn http_with(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[&str],
    body: Option<&str>,
) -> Reply {
    let stream = TcpStream::connect(addr).await.unwrap();
    http_on(stream, addr, method, path, headers, body).await
}

/// [`http_with`] on a connection already open.
async fn http_on(
    mut stream: TcpStream,
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[&str],
    body: Option<&str>,
) -> Reply {
    let body = body.unwrap_or("");
    let extra: String = headers.iter().map(|h| format!("{h}\r\n")).collect();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{extra}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut raw))
        .await
        .expect("the server answers")
        .unwrap();
    parse_reply(&raw)
}

fn parse_reply(raw: &[u8]) -> Reply {
    let text = String::from_utf8_lossy(raw);
    let (head, rest) = text.split_once("\r\n\r\n").expect("a complete head");
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let body = if headers
        .get("transfer-encoding")
        .is_some_and(|v| v == "chunked")
    {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    Reply {
        status,
        headers,
        body,
    }
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
    out
}

fn tx_hex(tx: &SignedTransaction) -> String {
    hex::encode(codec::encode(tx))
}

#[tokio::test]
async fn head_describes_the_snapshot() {
    let node = TestNode::start(pending).await;
    let reply = node.get("/v1/head").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let head = reply.json();
    assert_eq!(head["chain_id"], "test-street");
    assert_eq!(head["height"], 0);
    assert_eq!(head["hash"], node.head.hash().to_hex());
    assert_eq!(head["state_root"], node.head.state_root.to_hex());
    assert_eq!(head["time"], node.head.time.0);
    assert_eq!(head["peers"], 2);
    assert_eq!(head["member"], shop_key().address().to_string());
    assert_eq!(head["syncing"], false);
    assert_eq!(
        reply.headers.get("content-type").map(String::as_str),
        Some("application/json")
    );
    node.stop().await;
}

#[tokio::test]
async fn a_fresh_address_has_nothing_and_nonce_zero() {
    let node = TestNode::start(pending).await;
    let address = Keypair::from_secret(&[77; 32]).address();
    let reply = node.get(&format!("/v1/accounts/{address}")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let account = reply.json();
    assert_eq!(account["address"], address.to_string());
    assert_eq!(account["balance"], 0);
    assert_eq!(account["nonce"], 0);
    assert_eq!(account["lots"], Value::Array(vec![]));
    assert_eq!(account["expired"], Value::Array(vec![]));
    node.stop().await;
}

#[tokio::test]
async fn a_mistyped_address_is_refused_with_the_checksum_message() {
    let node = TestNode::start(pending).await;
    let text = customer_key().address().to_string();
    let mut chars: Vec<char> = text.chars().collect();
    let i = chars.len() - 5;
    chars[i] = if chars[i] == 'q' { 'p' } else { 'q' };
    let typo: String = chars.into_iter().collect();
    let message = node
        .get(&format!("/v1/accounts/{typo}"))
        .await
        .error(400, "bad_address");
    assert!(message.contains("checksum"), "{message}");
    assert!(message.contains("check for a typo"), "{message}");
    let message = node
        .get("/v1/accounts/nonsense/history")
        .await
        .error(400, "bad_address");
    assert!(message.contains("'nonsense'"), "{message}");
    node.stop().await;
}

#[tokio::test]
async fn malformed_submissions_are_refused() {
    let node = TestNode::start(pending).await;
    let message = node
        .post("/v1/tx", r#"{"tx":"zz"}"#)
        .await
        .error(400, "malformed_tx");
    assert!(message.contains("not hexadecimal"), "{message}");
    let message = node
        .post("/v1/tx", r#"{"tx":"00010203"}"#)
        .await
        .error(400, "malformed_tx");
    assert!(message.contains("malformed message"), "{message}");
    // A valid transaction with a trailing byte.
    let mut bytes = codec::encode(&node.earn(5, "R-1"));
    bytes.push(0);
    let message = node
        .post("/v1/tx", &format!(r#"{{"tx":"{}"}}"#, hex::encode(bytes)))
        .await
        .error(400, "malformed_tx");
    assert!(message.contains("trailing"), "{message}");
    node.post("/v1/tx", "{not json")
        .await
        .error(400, "bad_request");
    node.post("/v1/tx", r#"{"wait":true}"#)
        .await
        .error(400, "bad_request");
    let body = format!(
        r#"{{"tx":"{}","wait":true,"timeout_ms":600000}}"#,
        tx_hex(&node.earn(5, "R-1"))
    );
    node.post("/v1/tx", &body).await.error(400, "bad_request");
    node.stop().await;
}

#[tokio::test]
async fn a_body_over_the_limit_is_too_large() {
    let node = TestNode::start(pending).await;
    let body = format!(r#"{{"tx":"{}"}}"#, "00".repeat(40 * 1024));
    node.post("/v1/tx", &body).await.error(413, "too_large");
    node.stop().await;
}

#[tokio::test]
async fn submission_is_pending_then_visible_as_pending() {
    let node = TestNode::start(pending).await;
    let tx = node.earn(5, "R-1");
    let id = tx.tx.id(&node.chain_id);
    let reply = node
        .post("/v1/tx", &format!(r#"{{"tx":"{}"}}"#, tx_hex(&tx)))
        .await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    assert_eq!(reply.json()["id"], id.to_string());
    assert_eq!(reply.json()["status"], "pending");
    let reply = node.get(&format!("/v1/tx/{id}")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["status"], "pending");
    node.stop().await;
}

#[tokio::test]
async fn a_busy_engine_gives_503_with_retry_after() {
    let node = TestNode::start(|_, _| Err(SubmitError::Busy { waiting: 10_000 })).await;
    let tx = node.earn(5, "R-1");
    let reply = node
        .post("/v1/tx", &format!(r#"{{"tx":"{}"}}"#, tx_hex(&tx)))
        .await;
    let message = reply.error(503, "busy");
    assert!(message.contains("try again"), "{message}");
    assert_eq!(
        reply.headers.get("retry-after").map(String::as_str),
        Some("1")
    );
    node.stop().await;
}

#[tokio::test]
async fn a_rule_rejection_gives_422_with_the_rule_message() {
    let node = TestNode::start(|_, _| {
        Err(SubmitError::Rejected(TxError::InsufficientPoints {
            available: Points(40),
            requested: Points(50),
        }))
    })
    .await;
    let tx = node.sign(
        &customer_key(),
        0,
        TxBody::Redeem {
            shop: shop_key().address(),
            points: Points(50),
        },
    );
    let message = node
        .post(
            "/v1/tx",
            &format!(r#"{{"tx":"{}","wait":true}}"#, tx_hex(&tx)),
        )
        .await
        .error(422, "insufficient_points");
    assert_eq!(message, "insufficient points: 40 available, 50 requested");
    node.stop().await;
}

#[tokio::test]
async fn dropped_bad_signature_and_stopped_have_their_statuses() {
    let node = TestNode::start(|_, _| {
        Err(SubmitError::Dropped(TxError::InsufficientPoints {
            available: Points(0),
            requested: Points(5),
        }))
    })
    .await;
    let body = format!(r#"{{"tx":"{}","wait":true}}"#, tx_hex(&node.earn(5, "R")));
    let message = node
        .post("/v1/tx", &body)
        .await
        .error(409, "insufficient_points");
    assert!(
        message.starts_with("dropped before it was final"),
        "{message}"
    );
    node.stop().await;

    let node = TestNode::start(|_, _| {
        Err(SubmitError::BadSignature {
            chain_id: ChainId::new("test-street").unwrap(),
        })
    })
    .await;
    let body = format!(r#"{{"tx":"{}"}}"#, tx_hex(&node.earn(5, "R")));
    node.post("/v1/tx", &body).await.error(400, "bad_signature");
    node.stop().await;

    let node = TestNode::start(|_, _| Err(SubmitError::Stopped)).await;
    let body = format!(r#"{{"tx":"{}"}}"#, tx_hex(&node.earn(5, "R")));
    node.post("/v1/tx", &body).await.error(503, "stopped");
    node.stop().await;
}

#[tokio::test]
async fn a_final_answer_gives_200_with_the_location() {
    let node = TestNode::start(|_, id| {
        Ok(Submitted::Final {
            id,
            location: TxLocation {
                height: Height(7),
                index: 3,
            },
        })
    })
    .await;
    let tx = node.earn(5, "R-1");
    let reply = node
        .post(
            "/v1/tx",
            &format!(r#"{{"tx":"{}","wait":true,"timeout_ms":500}}"#, tx_hex(&tx)),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let json = reply.json();
    assert_eq!(json["status"], "final");
    assert_eq!(json["height"], 7);
    assert_eq!(json["index"], 3);
    assert_eq!(json["id"], tx.tx.id(&node.chain_id).to_string());
    node.stop().await;
}

#[tokio::test]
async fn unknown_and_bad_ids() {
    let node = TestNode::start(pending).await;
    let id = "ab".repeat(32);
    let message = node
        .get(&format!("/v1/tx/{id}"))
        .await
        .error(404, "unknown_tx");
    assert!(message.contains("submit it again"), "{message}");
    node.get("/v1/tx/xyz").await.error(400, "bad_id");
    node.stop().await;
}

#[tokio::test]
async fn unknown_routes_and_methods_are_json_errors() {
    let node = TestNode::start(pending).await;
    let message = node.get("/v1/nothing-here").await.error(404, "not_found");
    assert!(message.contains("/v1/nothing-here"), "{message}");
    node.get("/").await.error(404, "not_found");
    node.post("/v1/head", "{}")
        .await
        .error(405, "method_not_allowed");
    node.get("/v1/tx").await.error(405, "method_not_allowed");
    node.stop().await;
}

#[tokio::test]
async fn final_transactions_blocks_history_and_accounts() {
    let mut node = TestNode::start(pending).await;
    let earn = node.earn(50, "R-1");
    let id = earn.tx.id(&node.chain_id);
    let block = node.commit(vec![earn]);
    let customer = customer_key().address();

    let reply = node.get(&format!("/v1/tx/{id}")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let tx = reply.json();
    assert_eq!(tx["status"], "final");
    assert_eq!(tx["height"], 1);
    assert_eq!(tx["index"], 0);
    assert_eq!(tx["time"], block.block.header.time.0);
    assert_eq!(tx["kind"], "earn");
    assert_eq!(tx["tx"]["body"]["kind"], "earn");
    assert_eq!(tx["tx"]["body"]["customer"], customer.to_string());
    assert_eq!(tx["tx"]["body"]["points"], 50);

    let reply = node.get("/v1/blocks/1").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let json = reply.json();
    assert_eq!(json["height"], 1);
    assert_eq!(json["hash"], block.block.header.hash().to_hex());
    assert_eq!(json["txs"][0]["id"], id.to_string());
    assert_eq!(json["txs"][0]["kind"], "earn");
    assert_eq!(json["certificate"]["height"], 1);
    let bytes = hex::decode(json["hex"].as_str().unwrap()).unwrap();
    assert_eq!(codec::decode::<FinalBlock>(&bytes).unwrap(), block);
    let message = node.get("/v1/blocks/2").await.error(404, "unknown_block");
    assert!(message.contains("head is at height 1"), "{message}");
    node.get("/v1/blocks/0")
        .await
        .error(404, "genesis_has_no_block");
    node.get("/v1/blocks/one").await.error(400, "bad_height");

    let reply = node.get(&format!("/v1/accounts/{customer}/history")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let entries = reply.json();
    assert_eq!(entries.as_array().unwrap().len(), 1);
    assert_eq!(entries[0]["id"], id.to_string());
    assert_eq!(entries[0]["kind"], "earn");
    assert_eq!(entries[0]["height"], 1);
    let shop = shop_key().address();
    let second = node.earn(7, "R-2");
    let second_id = second.tx.id(&node.chain_id);
    node.commit(vec![second]);
    let entries = node
        .get(&format!("/v1/accounts/{shop}/history?limit=5"))
        .await
        .json();
    assert_eq!(entries[0]["id"], second_id.to_string(), "newest first");
    assert_eq!(entries[1]["id"], id.to_string());
    let entries = node
        .get(&format!("/v1/accounts/{shop}/history?limit=1"))
        .await
        .json();
    assert_eq!(entries.as_array().unwrap().len(), 1);
    node.get(&format!("/v1/accounts/{shop}/history?limit=501"))
        .await
        .error(400, "bad_request");
    node.get(&format!("/v1/accounts/{shop}/history?limit=x"))
        .await
        .error(400, "bad_request");

    let account = node.get(&format!("/v1/accounts/{customer}")).await.json();
    assert_eq!(account["balance"], 57);
    assert_eq!(account["nonce"], 0);
    assert_eq!(account["height"], 2);
    assert_eq!(account["lots"][0]["issuer"], shop.to_string());
    assert_eq!(account["lots"][0]["issuer_name"], "Bakery");
    assert_eq!(account["lots"][0]["amount"], 57);
    let shop_account = node.get(&format!("/v1/accounts/{shop}")).await.json();
    assert_eq!(shop_account["nonce"], 2, "the next nonce to use");

    let members = &node.get("/v1/members").await.json()["members"];
    assert_eq!(members[0]["name"], "Bakery");
    assert_eq!(members[0]["issued"], 57);
    assert_eq!(members[0]["outstanding"], 57);
    let supply = node.get("/v1/supply").await.json();
    assert_eq!(supply["issued"], 57);
    assert_eq!(supply["outstanding"], 57);
    let params = node.get("/v1/params").await.json();
    assert_eq!(params["point_expiry_days"], 365);
    assert_eq!(params["height"], 2);
    let settlement = node.get("/v1/settlement").await.json();
    assert_eq!(settlement["settlement_cents_per_point"], 1);
    assert_eq!(settlement["debts"], Value::Array(vec![]));
    assert_eq!(
        node.get("/v1/proposals").await.json()["proposals"],
        Value::Array(vec![])
    );
    node.stop().await;
}

/// What a wallet does with the proof endpoint.
fn check_proof(json: &Value, chain_id: &ChainId, address: Address) -> AccountProof {
    let header_bytes = hex::decode(json["header_hex"].as_str().unwrap()).unwrap();
    let header: BlockHeader = codec::decode(&header_bytes).unwrap();
    assert_eq!(json["block_hash"], header.hash().to_hex());
    assert_eq!(json["state_root"], header.state_root.to_hex());
    assert_eq!(json["height"], header.height.0);
    if let Some(cert_hex) = json["certificate_hex"].as_str() {
        let cert: CommitCertificate = codec::decode(&hex::decode(cert_hex).unwrap()).unwrap();
        let members: BTreeSet<Address> = json["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap().parse().unwrap())
            .collect();
        cert.verify(chain_id, &header, &members).unwrap();
    } else {
        assert_eq!(header.height, Height(0));
    }
    let proof: AccountProof =
        codec::decode(&hex::decode(json["proof_hex"].as_str().unwrap()).unwrap()).unwrap();
    assert_eq!(proof.address, address);
    proof.verify(&header.state_root).unwrap();
    proof
}

#[tokio::test]
async fn the_proof_verifies_against_the_certified_header() {
    let mut node = TestNode::start(pending).await;
    let customer = customer_key().address();
    let json = node
        .get(&format!("/v1/accounts/{customer}/proof"))
        .await
        .json();
    assert_eq!(json["certificate_hex"], Value::Null);
    assert_eq!(json["account"], Value::Null);
    let proof = check_proof(&json, &node.chain_id, customer);
    assert_eq!(proof.account, None, "an absent account is proven absent");

    let earn = node.earn(50, "R-1");
    node.commit(vec![earn]);
    let reply = node.get(&format!("/v1/accounts/{customer}/proof")).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let json = reply.json();
    assert_eq!(json["height"], 1);
    assert_eq!(json["members"][0], shop_key().address().to_string());
    let proof = check_proof(&json, &node.chain_id, customer);
    assert_eq!(proof.account.unwrap().balance(), Points(50));
    assert_eq!(json["account"]["lots"][0]["amount"], 50);
    node.stop().await;
}

/// Opens an event stream and returns it once the response head is in (the
/// subscription exists from then on).
async fn subscribe(addr: SocketAddr, path: &str) -> (TcpStream, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut seen = String::new();
    while !seen.contains("\r\n\r\n") {
        read_some(&mut stream, &mut seen).await;
    }
    (stream, seen)
}

async fn read_some(stream: &mut TcpStream, seen: &mut String) -> usize {
    let mut buf = [0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
        .await
        .expect("the stream sends something")
        .unwrap();
    seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    n
}

/// Reads until `count` complete events whose name is in `names` arrived.
async fn read_events(
    stream: &mut TcpStream,
    seen: &mut String,
    names: &[&str],
    count: usize,
) -> Vec<(String, Value)> {
    loop {
        let events = parse_events(seen, names);
        if events.len() >= count {
            return events;
        }
        assert!(read_some(stream, seen).await > 0, "stream closed: {seen}");
    }
}

/// The `(name, data)` of every complete SSE event in `text` named in
/// `names` (chunk-size lines of the transfer encoding are skipped).
fn parse_events(text: &str, names: &[&str]) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut name = None;
    for line in text.lines() {
        if let Some(n) = line.strip_prefix("event: ") {
            name = Some(n.to_string());
        } else if let Some(data) = line.strip_prefix("data: ")
            && let (Some(n), Ok(value)) = (name.take(), serde_json::from_str(data))
            && names.contains(&n.as_str())
        {
            out.push((n, value));
        }
    }
    out
}

#[tokio::test]
async fn events_stream_final_blocks_with_filters() {
    let mut node = TestNode::start(pending).await;
    let (mut all, mut all_seen) = subscribe(node.addr, "/v1/events").await;
    assert!(all_seen.starts_with("HTTP/1.1 200"), "{all_seen}");
    assert!(all_seen.contains("text/event-stream"), "{all_seen}");
    let shop = shop_key().address();
    let (mut redeems, mut redeems_seen) =
        subscribe(node.addr, &format!("/v1/events?kinds=redeem&shop={shop}")).await;
    let (mut earns, mut earns_seen) = subscribe(
        node.addr,
        &format!("/v1/events?kinds=earn,redeem&shop={shop}"),
    )
    .await;

    let earn = node.earn(50, "R-1");
    let earn_id = earn.tx.id(&node.chain_id);
    node.commit(vec![earn]);
    node.commit(vec![]);
    let redeem = node.sign(
        &customer_key(),
        0,
        TxBody::Redeem {
            shop,
            points: Points(20),
        },
    );
    let redeem_id = redeem.tx.id(&node.chain_id);
    node.commit(vec![redeem]);

    let events = read_events(&mut all, &mut all_seen, &["block"], 3).await;
    let heights: Vec<_> = events.iter().map(|(_, d)| d["height"].clone()).collect();
    assert_eq!(heights, vec![1, 2, 3], "every block, even an empty one");
    assert_eq!(events[0].1["txs"][0]["id"], earn_id.to_string());
    assert_eq!(events[0].1["txs"][0]["kind"], "earn");
    assert_eq!(events[0].1["txs"][0]["author"], shop.to_string());
    assert_eq!(
        events[0].1["hash"],
        node.store
            .block(Height(1))
            .unwrap()
            .unwrap()
            .block
            .header
            .hash()
            .to_hex()
    );
    assert_eq!(events[1].1["txs"], Value::Array(vec![]));

    let events = read_events(&mut redeems, &mut redeems_seen, &["block"], 1).await;
    assert_eq!(
        events[0].1["height"], 3,
        "blocks without a redemption are skipped"
    );
    assert_eq!(events[0].1["txs"][0]["id"], redeem_id.to_string());
    assert_eq!(events[0].1["txs"][0]["tx"]["body"]["points"], 20);

    let events = read_events(&mut earns, &mut earns_seen, &["block"], 2).await;
    let heights: Vec<_> = events.iter().map(|(_, d)| d["height"].clone()).collect();
    assert_eq!(heights, vec![1, 3]);

    node.get("/v1/events?kinds=bogus")
        .await
        .error(400, "bad_request");
    node.get("/v1/events?shop=guild1nope")
        .await
        .error(400, "bad_address");
    // Open streams end on shutdown instead of holding it up.
    node.stop().await;
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), all.read_to_end(&mut rest))
        .await
        .expect("the stream ends on shutdown");
}

#[tokio::test]
async fn a_lagging_subscriber_is_told_how_many_blocks_it_missed() {
    let mut node = TestNode::start_with(pending, 2).await;
    let (mut stream, mut seen) = subscribe(node.addr, "/v1/events").await;
    // Five blocks before the stream task runs: the channel keeps two.
    for _ in 0..5 {
        node.commit(vec![]);
    }
    let events = read_events(&mut stream, &mut seen, &["lagged", "block"], 3).await;
    assert_eq!(events[0].0, "lagged");
    assert_eq!(events[0].1["skipped"], 3);
    assert_eq!(events[1].1["height"], 4);
    assert_eq!(events[2].1["height"], 5);
    node.stop().await;
}

#[tokio::test]
async fn shutdown_ends_a_waiting_submission() {
    // The engine never answers (it keeps the reply channel open).
    let node = TestNode::start(pending).await;
    let (requests, mut mailbox) = mpsc::channel(4);
    let held = tokio::spawn(async move {
        let mut kept = Vec::new();
        while let Some(request) = mailbox.recv().await {
            kept.push(request);
        }
    });
    // A second server over a handle whose engine never answers.
    let view = node.view.subscribe();
    let handle = NodeHandle {
        chain_id: node.chain_id.clone(),
        genesis: node.genesis.clone(),
        store: node.store.clone(),
        view,
        events: node.events.clone(),
        requests,
        insights: node.insights.clone(),
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(super::serve(
        listener,
        handle,
        node.tokens.clone(),
        node.directory.clone(),
        None,
        None,
        async move {
            let _ = stopped.await;
        },
    ));
    let body = format!(
        r#"{{"tx":"{}","wait":true,"timeout_ms":60000}}"#,
        tx_hex(&node.earn(5, "R-1"))
    );
    let waiting = tokio::spawn(async move { http(addr, "POST", "/v1/tx", Some(&body)).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _ = stop.send(());
    let reply = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("the waiting submission ends on shutdown")
        .unwrap();
    let message = reply.error(503, "stopped");
    assert!(message.contains("GET /v1/tx/"), "{message}");
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    held.abort();
    node.stop().await;
}

#[test]
fn lots_past_expiry_are_listed_but_not_counted() {
    let shop = shop_key();
    let genesis = Genesis {
        programme: Default::default(),
        chain_id: ChainId::new("test-street").unwrap(),
        time: Timestamp(1_767_225_600_000),
        members: vec![GenesisMember {
            name: ShopName::new("Bakery").unwrap(),
            address: shop.address(),
        }],
        params: Params::default(),
    };
    let (state, header) = genesis.build().unwrap();
    let earn = Transaction {
        author: shop.address(),
        nonce: Nonce(0),
        body: TxBody::Earn {
            reason: guild_ledger::Memo::new("goodwill").unwrap(),
            customer: customer_key().address(),
            points: Points(30),
            purchase: None,
            receipt: ReceiptHash::new(&shop.address(), "R"),
        },
    }
    .sign(&shop, &genesis.chain_id)
    .verify(&genesis.chain_id)
    .unwrap();
    let mut builder = BlockBuilder::new(
        &state,
        &header,
        Timestamp(1_767_225_601_000),
        shop.address(),
    )
    .unwrap();
    builder.push(earn).unwrap();
    let state = builder.finish().state;
    let lot = state.account(&customer_key().address()).unwrap().lots[0];

    let before = account_json(
        &state,
        customer_key().address(),
        Timestamp(lot.expires_at.0 - 1),
    );
    assert_eq!(before.balance, Points(30));
    assert_eq!(before.lots.len(), 1);
    assert!(before.expired.is_empty());
    let at = account_json(&state, customer_key().address(), lot.expires_at);
    assert_eq!(
        at.balance,
        Points(0),
        "a lot no longer counts at its expiry"
    );
    assert!(at.lots.is_empty());
    assert_eq!(at.expired[0].amount, Points(30));
    assert_eq!(
        at.expired[0].issuer_name.as_ref().map(ShopName::as_str),
        Some("Bakery")
    );

    let members = members_json(&state, Timestamp(1_767_225_601_000)).members;
    assert_eq!(members[0].issued_today, Points(30));
    let members = members_json(&state, Timestamp(1_767_225_601_000 + DAY)).members;
    assert_eq!(
        members[0].issued_today,
        Points(0),
        "a new day starts at zero"
    );
}

#[test]
fn shop_filters_follow_where_a_transaction_happens() {
    let a = shop_key().address();
    let b = Keypair::from_secret(&[2; 32]).address();
    let c = customer_key().address();
    let tx = |author, body| Transaction {
        author,
        nonce: Nonce(0),
        body,
    };
    let redeem_at_a = tx(
        c,
        TxBody::Redeem {
            shop: a,
            points: Points(1),
        },
    );
    let a_redeems_at_b = tx(
        a,
        TxBody::Redeem {
            shop: b,
            points: Points(1),
        },
    );
    assert!(at_shop(&redeem_at_a, &a));
    assert!(
        !at_shop(&a_redeems_at_b, &a),
        "a shop redeeming elsewhere is not a redemption at it"
    );
    assert!(at_shop(&a_redeems_at_b, &b));
    let settle = tx(
        a,
        TxBody::Settle {
            debtor: b,
            points: Points(1),
        },
    );
    assert!(at_shop(&settle, &a) && at_shop(&settle, &b) && !at_shop(&settle, &c));

    let filter = Filter::parse(Some("redeem, earn"), Some(&a.to_string())).unwrap();
    assert!(filter.matches(&redeem_at_a));
    assert!(!filter.matches(&settle));
    assert!(!filter.matches(&a_redeems_at_b));
    assert!(Filter::parse(None, None).unwrap().is_empty());
    assert!(Filter::parse(Some("earn,nope"), None).is_err());
    assert!(Filter::parse(None, Some("guild1xyz")).is_err());
}

#[test]
fn block_events_skip_blocks_a_filter_empties() {
    let shop = shop_key();
    let chain_id = ChainId::new("test-street").unwrap();
    let earn = Transaction {
        author: shop.address(),
        nonce: Nonce(0),
        body: TxBody::Earn {
            reason: guild_ledger::Memo::new("goodwill").unwrap(),
            customer: customer_key().address(),
            points: Points(5),
            purchase: None,
            receipt: ReceiptHash::new(&shop.address(), "R"),
        },
    }
    .sign(&shop, &chain_id);
    let header = BlockHeader {
        height: Height(4),
        prev_hash: guild_ledger::hash::Hash::ZERO,
        time: Timestamp(9),
        proposer: shop.address(),
        tx_root: guild_ledger::block::tx_root(&[]),
        state_root: guild_ledger::hash::Hash::ZERO,
    };
    let block = FinalBlock {
        block: guild_ledger::block::Block {
            header: header.clone(),
            txs: vec![earn.clone()],
        },
        certificate: CommitCertificate {
            height: Height(4),
            round: 0,
            block_hash: header.hash(),
            signatures: vec![],
        },
    };
    let none = Filter::default();
    // Ids are taken from the event; missing ones are computed.
    let event = block_event(&chain_id, &block, &[], &none).unwrap();
    assert_eq!(event.txs[0].id, earn.tx.id(&chain_id));
    assert_eq!(event.height, Height(4));
    let redeems = Filter::parse(Some("redeem"), None).unwrap();
    assert!(block_event(&chain_id, &block, &[], &redeems).is_none());
}

#[tokio::test]
async fn the_listener_holds_at_most_its_limit_of_connections() {
    use axum::serve::Listener;
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let mut listener = super::listener::LimitedListener::new(tcp, 1);
    let _first_client = TcpStream::connect(addr).await.unwrap();
    let (first, _) = listener.accept().await;
    let _second_client = TcpStream::connect(addr).await.unwrap();
    assert!(
        tokio::time::timeout(Duration::from_millis(200), listener.accept())
            .await
            .is_err(),
        "a second connection waits while the first is open"
    );
    drop(first);
    tokio::time::timeout(Duration::from_secs(5), listener.accept())
        .await
        .expect("accepted once the first connection closed");
}

// ---- authentication of tills ----------------------------------------------------

/// Asserts a `401 unauthorized` with `WWW-Authenticate: Bearer`.
fn assert_unauthorized(reply: &Reply) -> String {
    let message = reply.error(401, "unauthorized");
    assert_eq!(
        reply.headers.get("www-authenticate").map(String::as_str),
        Some("Bearer"),
        "{:?}",
        reply.headers
    );
    message
}

#[tokio::test]
async fn whoami_needs_a_token_the_node_knows() {
    let node = TestNode::start(pending).await;
    let message = assert_unauthorized(&node.get("/v1/whoami").await);
    assert!(message.contains("guild node token create"), "{message}");
    // Made after the server started: counts at once.
    let till = node.tokens.create("till-1", &[Scope::Sale]).unwrap();
    let token = till.secret.reveal();

    let reply = node.get_as(&token, "/v1/whoami").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.json(),
        serde_json::json!({ "name": "till-1", "scopes": ["sale"] })
    );
    // The scheme is case-insensitive.
    let header = format!("Authorization: bearer {token}");
    let reply = http_with(node.addr, "GET", "/v1/whoami", &[&header], None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);

    let unknown = format!("gld_{}", "ab".repeat(32));
    let message = assert_unauthorized(&node.get_as(&unknown, "/v1/whoami").await);
    assert!(message.contains("revoked"), "{message}");
    let message = assert_unauthorized(&node.get_as(&token[..20], "/v1/whoami").await);
    assert!(message.contains("not a Guild API token"), "{message}");
    let basic = format!("Authorization: Basic {token}");
    let reply = http_with(node.addr, "GET", "/v1/whoami", &[&basic], None).await;
    assert_unauthorized(&reply);
    // The error never echoes the token.
    assert!(!reply.body.contains(&token[4..]), "{}", reply.body);

    node.tokens.revoke("till-1").unwrap();
    assert_unauthorized(&node.get_as(&token, "/v1/whoami").await);
    node.stop().await;
}

#[tokio::test]
async fn till_endpoints_need_a_token_and_refuse_bad_bodies_clearly() {
    let node = TestNode::start(pending).await;
    let customer = Keypair::from_secret(&[9; 32]).address();
    let body = format!("{{\"customer\":\"{customer}\",\"amount\":1250}}");
    for path in ["/v1/sale", "/v1/sale/preview", "/v1/refund"] {
        assert_unauthorized(&node.post(path, &body).await);
    }
    let till = node.tokens.create("till-1", &[Scope::Sale]).unwrap();
    let auth = format!("Authorization: Bearer {}", till.secret.reveal());
    let post = |path: &'static str, body: String| {
        let auth = auth.clone();
        async move { http_with(node.addr, "POST", path, &[&auth], Some(&body)).await }
    };
    // Not JSON of the right shape: 400, naming the field.
    let reply = post("/v1/sale", "{\"amount\":1250}".to_string()).await;
    let message = reply.error(400, "bad_request");
    assert!(message.contains("customer"), "{message}");
    let reply = post(
        "/v1/sale",
        format!("{{\"customer\":\"{customer}\",\"amount\":\"12.50\"}}"),
    )
    .await;
    reply.error(400, "bad_request");
    let reply = post(
        "/v1/sale",
        "{\"customer\":\"guild1nope\",\"amount\":1}".to_string(),
    )
    .await;
    reply.error(400, "bad_address");
    // This test node runs without the shop's key: it says so.
    let message = post("/v1/sale", body.clone())
        .await
        .error(409, "no_shop_key");
    assert!(message.contains("--key"), "{message}");
    let message = post("/v1/refund", "{\"receipt\":\"R-1\"}".to_string())
        .await
        .error(409, "no_shop_key");
    assert!(message.contains("observer"), "{message}");
    // The programme is public.
    let reply = node.get("/v1/programme").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["locale"]["currency"]["code"], "GBP");
    node.stop().await;
}

#[tokio::test]
async fn an_admin_token_has_the_sale_scope_and_a_sale_token_not_admin() {
    use super::auth::{Admin, Authorized, Sale};
    use axum::extract::FromRequestParts;

    let node = TestNode::start(pending).await;
    let admin = node.tokens.create("console", &[Scope::Admin]).unwrap();
    let reply = node.get_as(&admin.secret.reveal(), "/v1/whoami").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.json(),
        serde_json::json!({ "name": "console", "scopes": ["admin"] })
    );

    // The extractor itself.
    let till = node.tokens.create("till-1", &[Scope::Sale]).unwrap();
    let (requests, _mailbox) = mpsc::channel(1);
    let (_stop, shutdown) = watch::channel(false);
    let state = super::ApiState {
        handle: NodeHandle {
            chain_id: node.chain_id.clone(),
            genesis: node.genesis.clone(),
            store: node.store.clone(),
            view: node.view.subscribe(),
            events: node.events.clone(),
            requests,
            insights: node.insights.clone(),
        },
        tokens: node.tokens.clone(),
        directory: node.directory.clone(),
        automation: None,
        throttle: super::throttle::Throttle::default(),
        shutdown,
    };
    let parts = |token: &str| {
        axum::http::Request::builder()
            .header("authorization", format!("Bearer {token}"))
            .body(())
            .unwrap()
            .into_parts()
            .0
    };
    let error = Authorized::<Admin>::from_request_parts(&mut parts(&till.secret.reveal()), &state)
        .await
        .err()
        .unwrap();
    assert_eq!((error.status().as_u16(), error.code()), (403, "forbidden"));
    assert!(error.to_string().contains("--scope admin"), "{error}");
    let ok = Authorized::<Admin>::from_request_parts(&mut parts(&admin.secret.reveal()), &state)
        .await
        .ok()
        .unwrap();
    assert_eq!(ok.token.name, "console");
    let ok = Authorized::<Sale>::from_request_parts(&mut parts(&till.secret.reveal()), &state)
        .await
        .ok()
        .unwrap();
    assert_eq!(ok.token.name, "till-1");
    node.stop().await;
}

#[tokio::test]
async fn a_damaged_token_file_is_an_internal_error_not_a_login() {
    let node = TestNode::start(pending).await;
    let till = node.tokens.create("till-1", &[Scope::Sale]).unwrap();
    std::fs::write(node.tokens.path(), "{ not json").unwrap();
    let reply = node.get_as(&till.secret.reveal(), "/v1/whoami").await;
    let message = reply.error(500, "internal");
    assert!(message.contains("API tokens"), "{message}");
    node.stop().await;
}

#[tokio::test]
async fn browsers_may_send_the_authorization_header() {
    let node = TestNode::start(pending).await;
    let reply = http_with(
        node.addr,
        "OPTIONS",
        "/v1/whoami",
        &[
            "Origin: http://till.example",
            "Access-Control-Request-Method: GET",
            "Access-Control-Request-Headers: authorization",
        ],
        None,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let allowed = reply
        .headers
        .get("access-control-allow-headers")
        .cloned()
        .unwrap_or_default();
    assert!(allowed.contains("authorization"), "{:?}", reply.headers);
    node.stop().await;
}

// ---- the OpenAPI document against the live routes ---------------------------------

/// The `#/components/schemas/…` schema a `$ref` points at.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("unexpected $ref {reference}"));
            let target = &doc["components"]["schemas"][name];
            assert!(!target.is_null(), "$ref to a missing schema {name}");
            resolve(doc, target)
        }
        None => schema,
    }
}

/// The property names a schema documents (through `allOf`, `$ref`).
fn documented_properties(doc: &Value, schema: &Value) -> BTreeSet<String> {
    let schema = resolve(doc, schema);
    let mut names: BTreeSet<String> = schema["properties"]
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    for part in schema["allOf"].as_array().into_iter().flatten() {
        names.extend(documented_properties(doc, part));
    }
    names
}

/// Checks `value` against a JSON Schema of the document: `$ref`, `type`
/// (with `null`), `enum`, `properties`/`required` and, with `strict`, that
/// no property is undocumented; `items`, `allOf`, and `oneOf`/`anyOf`
/// (at least one option fits).
fn validate(
    doc: &Value,
    schema: &Value,
    value: &Value,
    strict: bool,
    at: &str,
) -> Result<(), String> {
    let schema = resolve(doc, schema);
    if let Some(parts) = schema["allOf"].as_array() {
        for part in parts {
            validate(doc, part, value, false, at)?;
        }
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema[key].as_array() {
            let errors: Vec<String> = options
                .iter()
                .filter_map(|o| validate(doc, o, value, strict, at).err())
                .collect();
            if errors.len() == options.len() {
                return Err(format!("{at}: matches none of {key}: {errors:?}"));
            }
        }
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        return Err(format!("{at}: {value} is not one of {allowed:?}"));
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if !types.is_empty() {
        let fits = types.iter().any(|t| match *t {
            "null" => value.is_null(),
            "boolean" => value.is_boolean(),
            "integer" => value.is_u64() || value.is_i64(),
            "number" => value.is_number(),
            "string" => value.is_string(),
            "array" => value.is_array(),
            "object" => value.is_object(),
            other => panic!("unknown schema type {other}"),
        });
        if !fits {
            return Err(format!("{at}: {value} is not of type {types:?}"));
        }
    }
    if let Some(object) = value.as_object() {
        let properties = &schema["properties"];
        for name in schema["required"].as_array().into_iter().flatten() {
            let name = name.as_str().unwrap_or_default();
            if !object.contains_key(name) {
                return Err(format!("{at}: required property {name} is missing"));
            }
        }
        if let Some(properties) = properties.as_object() {
            for (name, property) in properties {
                if let Some(field) = object.get(name) {
                    validate(doc, property, field, true, &format!("{at}.{name}"))?;
                }
            }
        }
        let documented = documented_properties(doc, schema);
        if strict && !documented.is_empty() {
            let extra: Vec<&String> = object.keys().filter(|k| !documented.contains(*k)).collect();
            if !extra.is_empty() {
                return Err(format!("{at}: undocumented properties {extra:?}"));
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (i, item) in array.iter().enumerate() {
            validate(doc, items, item, true, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

/// The documented JSON schema of `method path`'s answer with `status`.
fn response_schema<'a>(doc: &'a Value, path: &str, method: &str, status: u16) -> &'a Value {
    let schema = &doc["paths"][path][method]["responses"][status.to_string()]["content"]["application/json"]
        ["schema"];
    assert!(
        !schema.is_null(),
        "{method} {path} documents no JSON answer with status {status}"
    );
    schema
}

/// Every operation the document lists is served (no routing error), every
/// other method on its path is refused with 405, the document lists
/// exactly the API's routes, and every answer of a documented JSON read
/// validates against its documented schema.
#[tokio::test]
async fn the_openapi_document_matches_the_live_routes() {
    use guild_ledger::params::ParamChange;
    use guild_ledger::tx::GovernanceAction;

    let mut node = TestNode::start_automated().await;
    let earn = node.earn(50, "R-1");
    let id = earn.tx.id(&node.chain_id);
    let propose = node.sign(
        &shop_key(),
        1,
        TxBody::Propose {
            action: GovernanceAction::SetParam {
                change: ParamChange::DailyIssuanceCap(Points(5_000)),
            },
        },
    );
    node.commit(vec![earn, propose]);
    let customer = customer_key().address();

    let reply = node.get("/v1/openapi.json").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let doc = reply.json();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc, serde_json::to_value(super::openapi()).unwrap());

    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|k| ["get", "post", "put", "delete", "patch"].contains(&k.as_str()))
                .map(move |method| (method.to_uppercase(), path.clone()))
        })
        .collect();
    let expected: BTreeSet<(String, String)> = [
        ("POST", "/v1/tx"),
        ("GET", "/v1/tx/{id}"),
        ("GET", "/v1/accounts/{address}"),
        ("GET", "/v1/accounts/{address}/history"),
        ("GET", "/v1/accounts/{address}/proof"),
        ("GET", "/v1/blocks/{height}"),
        ("GET", "/v1/head"),
        ("GET", "/v1/genesis"),
        ("GET", "/v1/members"),
        ("GET", "/v1/params"),
        ("GET", "/v1/proposals"),
        ("GET", "/v1/supply"),
        ("GET", "/v1/settlement"),
        ("GET", "/v1/events"),
        ("GET", "/v1/openapi.json"),
        ("GET", "/v1/whoami"),
        ("GET", "/v1/proofs"),
        ("POST", "/v1/sale"),
        ("POST", "/v1/sale/preview"),
        ("POST", "/v1/refund"),
        ("POST", "/v1/shop/sign"),
        ("GET", "/v1/programme"),
        ("GET", "/v1/receipts/{shop}/{receipt}"),
        ("POST", "/v1/customers"),
        ("GET", "/v1/customers"),
        ("POST", "/v1/customers/import"),
        ("GET", "/v1/customers/{address}"),
        ("PATCH", "/v1/customers/{address}"),
        ("DELETE", "/v1/customers/{address}"),
        ("PUT", "/v1/customers/{address}/consent"),
        ("GET", "/v1/customers/{address}/export"),
        ("GET", "/v1/insights/customers"),
        ("GET", "/v1/insights/segments"),
        ("GET", "/v1/insights/kpis"),
        ("GET", "/v1/automations"),
        ("POST", "/v1/automations"),
        ("DELETE", "/v1/automations/{name}"),
        ("POST", "/v1/automations/{name}/enable"),
        ("POST", "/v1/automations/{name}/disable"),
        ("GET", "/v1/automations/deliveries"),
        ("GET", "/v1/automations/todos"),
        ("POST", "/v1/automations/todos/{id}/done"),
        ("GET", "/v1/automations/report"),
        ("POST", "/v1/webhooks"),
        ("GET", "/v1/webhooks"),
        ("DELETE", "/v1/webhooks/{id}"),
    ]
    .into_iter()
    .map(|(m, p)| (m.to_string(), p.to_string()))
    .collect();
    assert_eq!(documented, expected, "the document lists the API's routes");

    let concrete = |template: &str| {
        template
            .replace("{id}", &id.to_string())
            .replace("{address}", &customer.to_string())
            .replace("{height}", "1")
            .replace("{shop}", &customer.to_string())
            .replace("{receipt}", &guild_ledger::Hash([9; 32]).to_hex())
    };
    let is_routing_error = |reply: &Reply| {
        (reply.status == 404 && reply.body.contains("\"not_found\"")) || reply.status == 405
    };
    let paths: BTreeSet<&String> = documented.iter().map(|(_, p)| p).collect();
    for path in paths {
        let url = concrete(path);
        for method in ["GET", "POST", "PUT", "DELETE", "PATCH"] {
            let served = documented.contains(&(method.to_string(), path.clone()));
            if path == "/v1/events" && served {
                let (_stream, head) = subscribe(node.addr, &url).await;
                assert!(head.starts_with("HTTP/1.1 200"), "{head}");
                continue;
            }
            let body = (method != "GET").then_some("{}");
            let reply = http(node.addr, method, &url, body).await;
            if served {
                assert!(
                    !is_routing_error(&reply),
                    "{method} {path} is documented but not served: {} {}",
                    reply.status,
                    reply.body
                );
            } else {
                assert_eq!(
                    (reply.status, reply.json()["error"]["code"].clone()),
                    (405, Value::from("method_not_allowed")),
                    "{method} {path} is not documented but answered"
                );
            }
        }
    }
    // An undocumented path is not served.
    node.get("/v1/openapi").await.error(404, "not_found");

    // Every JSON read (and a few errors) validates against its schema.
    let mut reads: Vec<(String, String)> = documented
        .iter()
        .filter(|(m, p)| m == "GET" && p != "/v1/events" && p != "/v1/openapi.json")
        .map(|(_, p)| (p.clone(), concrete(p)))
        .collect();
    reads.push((
        "/v1/tx/{id}".into(),
        format!("/v1/tx/{}", TxId(guild_ledger::Hash([7; 32]))),
    ));
    reads.push(("/v1/blocks/{height}".into(), "/v1/blocks/9".into()));
    reads.push((
        "/v1/accounts/{address}".into(),
        "/v1/accounts/guild1nothing".into(),
    ));
    reads.push((
        "/v1/accounts/{address}/history".into(),
        format!("/v1/accounts/{customer}/history?limit=0"),
    ));
    let mut statuses = BTreeSet::new();
    for (template, url) in &reads {
        let reply = node.get(url).await;
        statuses.insert(reply.status);
        let schema = response_schema(&doc, template, "get", reply.status);
        if let Err(error) = validate(&doc, schema, &reply.json(), true, url) {
            panic!("GET {url} does not fit its schema: {error}\n{}", reply.body);
        }
    }
    // (GET /v1/whoami without a token: its documented 401.)
    assert_eq!(statuses, BTreeSet::from([200, 400, 401, 404]));
    let till = node.tokens.create("till-1", &[Scope::Sale]).unwrap();
    let reply = node.get_as(&till.secret.reveal(), "/v1/whoami").await;
    let schema = response_schema(&doc, "/v1/whoami", "get", 200);
    validate(&doc, schema, &reply.json(), true, "GET /v1/whoami").unwrap();
    assert_eq!(
        doc["paths"]["/v1/whoami"]["get"]["security"][0]["bearer"],
        Value::Array(vec![])
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    // The shop's automation reads, with its admin token.
    let admin = node.tokens.create("console", &[Scope::Admin]).unwrap();
    for path in [
        "/v1/automations",
        "/v1/automations/deliveries",
        "/v1/automations/todos",
        "/v1/automations/report",
        "/v1/webhooks",
    ] {
        let reply = node.get_as(&admin.secret.reveal(), path).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
        let schema = response_schema(&doc, path, "get", 200);
        validate(&doc, schema, &reply.json(), true, path).unwrap();
    }
    // The webhook payload and the event types are in the document.
    let payload = &doc["components"]["schemas"]["WebhookPayload"];
    assert!(payload["properties"]["data"].is_object(), "{payload}");
    let types = &doc["components"]["schemas"]["EventType"]["enum"];
    assert!(
        types
            .as_array()
            .unwrap()
            .contains(&Value::from("customer.at_risk")),
        "{types}"
    );

    // The submission answers, pending and refused.
    let next = node.earn(5, "R-2");
    let reply = node
        .post("/v1/tx", &format!("{{\"tx\":\"{}\"}}", tx_hex(&next)))
        .await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    let schema = response_schema(&doc, "/v1/tx", "post", 202);
    validate(&doc, schema, &reply.json(), true, "POST /v1/tx").unwrap();
    let reply = node.post("/v1/tx", "{\"tx\":\"zz\"}").await;
    let schema = response_schema(&doc, "/v1/tx", "post", reply.status);
    validate(&doc, schema, &reply.json(), true, "POST /v1/tx").unwrap();
    let reply = node
        .get(&format!("/v1/tx/{}", next.tx.id(&node.chain_id)))
        .await;
    assert_eq!(reply.json()["status"], "pending");
    let schema = response_schema(&doc, "/v1/tx/{id}", "get", 200);
    validate(&doc, schema, &reply.json(), true, "GET /v1/tx pending").unwrap();

    // The validator is not a rubber stamp.
    let head_schema = response_schema(&doc, "/v1/head", "get", 200);
    let mut head = node.get("/v1/head").await.json();
    validate(&doc, head_schema, &head, true, "head").unwrap();
    head["surprise"] = Value::from(1);
    assert!(validate(&doc, head_schema, &head, true, "head").is_err());
    head.as_object_mut().unwrap().remove("surprise");
    head.as_object_mut().unwrap().remove("node_time");
    assert!(validate(&doc, head_schema, &head, true, "head").is_err());
    head["node_time"] = Value::from("soon");
    assert!(validate(&doc, head_schema, &head, true, "head").is_err());
    node.stop().await;
}

#[tokio::test]
async fn head_members_and_proposals_say_when_they_are_from() {
    let mut node = TestNode::start(pending).await;
    let before = super::now_ms().0;
    let head = node.get("/v1/head").await.json();
    let after = super::now_ms().0;
    let node_time = head["node_time"].as_u64().unwrap();
    assert!((before..=after).contains(&node_time), "{head}");
    let earn = node.earn(5, "R-1");
    node.commit(vec![earn]);
    let members = node.get("/v1/members").await.json();
    assert_eq!(members["height"], 1);
    assert_eq!(members["members"][0]["issued"], 5);
    let proposals = node.get("/v1/proposals").await.json();
    assert_eq!(proposals["height"], 1);
    assert_eq!(proposals["proposals"], Value::Array(vec![]));
    node.stop().await;
}

#[tokio::test]
async fn proofs_of_programme_records_verify_at_a_recent_height() {
    use guild_ledger::programme::{Basket, EarnRuleSpec};
    use guild_ledger::state::{RecordProof, StateKey};
    use guild_ledger::types::Cents;

    let mut node = TestNode::start(pending).await;
    let shop = shop_key();
    let customer = customer_key().address();
    let rule = EarnRuleSpec {
        points: 1,
        per: Cents(100),
        min_spend: Cents(0),
        multipliers: vec![],
        excluded: vec![],
        cap: None,
        birthday: Points(0),
    };
    let set = node.sign(
        &shop,
        0,
        TxBody::SetEarnRule {
            rule,
            effective: Some(Height(2)),
        },
    );
    node.commit(vec![set]);
    let basket = Basket {
        amount: Cents(1250),
        items: vec![],
    };
    let time = Timestamp(node.state.chain().time.0 + 1_000);
    let claim = node
        .state
        .sale_breakdown(&shop.address(), &customer, &basket, Height(2), time)
        .unwrap()
        .claim();
    let sale = node.sign(
        &shop,
        1,
        TxBody::Sale {
            customer,
            receipt: ReceiptHash::new(&shop.address(), "R-1"),
            basket,
            claim,
        },
    );
    let parent_root = node.head.state_root;
    node.commit(vec![sale]);

    // At the sale's parent (height 1): the rule, and no customer record yet.
    let reply = node
        .get(&format!(
            "/v1/proofs?height=1&key=programme&key=rules:{}&key=customer:{customer}",
            shop.address()
        ))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let answer: guild_api::RecordProofs = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(answer.height, Height(1));
    assert_eq!(answer.state_root, parent_root);
    assert_eq!(answer.next_members, vec![shop.address()]);
    let present: Vec<bool> = answer.records.iter().map(|r| r.present).collect();
    assert_eq!(present, [true, true, false]);
    for entry in &answer.records {
        let proof: RecordProof = codec::decode(&hex::decode(&entry.proof_hex).unwrap()).unwrap();
        assert_eq!(guild_api::proofs::key_text(&proof.key), entry.key);
        proof.verify(&parent_root).unwrap();
    }
    // After the sale (height 2): the customer's record exists.
    let reply = node
        .get(&format!("/v1/proofs?height=2&key=Customer:{customer}"))
        .await;
    let answer: guild_api::RecordProofs = serde_json::from_str(&reply.body).unwrap();
    assert!(answer.records[0].present);
    let proof: RecordProof =
        codec::decode(&hex::decode(&answer.records[0].proof_hex).unwrap()).unwrap();
    assert_eq!(proof.key, StateKey::Customer(customer));
    proof.verify(&node.head.state_root).unwrap();

    // Errors.
    node.get("/v1/proofs?height=3&key=programme")
        .await
        .error(404, "proofs_unavailable");
    node.get("/v1/proofs?height=1&key=wallet")
        .await
        .error(400, "bad_key");
    node.get("/v1/proofs?height=1")
        .await
        .error(400, "bad_request");
    node.get("/v1/proofs?key=programme")
        .await
        .error(400, "bad_request");
    let many = vec!["key=chain"; 65].join("&");
    node.get(&format!("/v1/proofs?height=1&{many}"))
        .await
        .error(400, "bad_request");
    // Older than the node keeps.
    for _ in 0..crate::recent::RECENT_STATES {
        node.commit(vec![]);
    }
    let message = node
        .get("/v1/proofs?height=1&key=programme")
        .await
        .error(410, "proofs_unavailable");
    assert!(
        message.contains("keeps the states after the last 128 blocks"),
        "{message}"
    );
    node.stop().await;
}

/// `method path` with the bearer `token` and a JSON body.
async fn send_as(
    node: &TestNode,
    token: &str,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> Reply {
    let header = format!("Authorization: Bearer {token}");
    http_with(node.addr, method, path, &[&header], body).await
}

#[tokio::test]
async fn automations_and_webhooks_over_http_with_the_admin_token() {
    let node = TestNode::start_automated().await;
    let doc = serde_json::to_value(super::openapi()).unwrap();
    let admin = node
        .tokens
        .create("console", &[Scope::Admin])
        .unwrap()
        .secret
        .reveal();
    let till = node
        .tokens
        .create("till-1", &[Scope::Sale])
        .unwrap()
        .secret
        .reveal();
    let check = |reply: &Reply, method: &str, path: &str| {
        let schema = response_schema(&doc, path, method, reply.status);
        validate(&doc, schema, &reply.json(), true, path)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}\n{}", reply.body));
    };

    // A till's token may not touch automations.
    let reply = node.get_as(&till, "/v1/automations").await;
    reply.error(403, "forbidden");
    assert_unauthorized(&node.get("/v1/webhooks").await);

    // An endpoint: the secret is shown once.
    let reply = send_as(
        &node,
        &admin,
        "POST",
        "/v1/webhooks",
        Some(r#"{"url":"https://crm.example/hook","description":"CRM"}"#),
    )
    .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    check(&reply, "post", "/v1/webhooks");
    let created = reply.json();
    let secret = created["secret"].as_str().unwrap().to_string();
    let endpoint = created["webhook"]["id"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"));
    let listed = node.get_as(&admin, "/v1/webhooks").await;
    assert!(!listed.body.contains(&secret), "the secret is never listed");
    assert_eq!(listed.json()["webhooks"][0]["secret_prefix"], &secret[..14]);
    send_as(
        &node,
        &admin,
        "POST",
        "/v1/webhooks",
        Some(r#"{"url":"ftp://crm.example"}"#),
    )
    .await
    .error(400, "bad_url");

    // An automation on it.
    let body = format!(
        r#"{{"name":"earned","trigger":{{"kind":"points_earned","min_points":10}},"action":{{"kind":"webhook","endpoint":"{endpoint}"}},"holdout_permille":100}}"#
    );
    let reply = send_as(&node, &admin, "POST", "/v1/automations", Some(&body)).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    check(&reply, "post", "/v1/automations");
    let info = reply.json();
    assert_eq!(info["trigger_text"], "points-earned:10");
    assert_eq!(info["event_type"], "points.earned");
    assert_eq!(info["consents"], serde_json::json!(["messages"]));
    send_as(&node, &admin, "POST", "/v1/automations", Some(&body))
        .await
        .error(409, "automation_exists");
    // Refusals say what is wrong.
    let bad = r#"{"name":"win-back","trigger":{"kind":"days_since_last_purchase","days":42},"action":{"kind":"todo","text":"Call {nmae}"}}"#;
    let message = send_as(&node, &admin, "POST", "/v1/automations", Some(bad))
        .await
        .error(422, "invalid_automation");
    assert!(message.contains("{nmae} is not a placeholder"), "{message}");
    let unknown = r#"{"name":"w","trigger":{"kind":"birthday"},"action":{"kind":"webhook","endpoint":"wh_0000"}}"#;
    send_as(&node, &admin, "POST", "/v1/automations", Some(unknown))
        .await
        .error(404, "unknown_webhook");
    let email = r#"{"name":"mail","trigger":{"kind":"birthday"},"action":{"kind":"email","subject":"Hi {name}","body":"Happy birthday"}}"#;
    send_as(&node, &admin, "POST", "/v1/automations", Some(email))
        .await
        .error(409, "no_smtp");
    send_as(
        &node,
        &admin,
        "POST",
        "/v1/automations",
        Some(r#"{"name":"x"}"#),
    )
    .await
    .error(400, "bad_request");

    // Enable, disable, list, remove.
    let reply = send_as(
        &node,
        &admin,
        "POST",
        "/v1/automations/earned/disable",
        Some("{}"),
    )
    .await;
    assert_eq!(reply.json()["enabled"], false, "{}", reply.body);
    check(&reply, "post", "/v1/automations/{name}/disable");
    let reply = send_as(&node, &admin, "POST", "/v1/automations/earned/enable", None).await;
    assert_eq!(reply.json()["enabled"], true);
    send_as(&node, &admin, "POST", "/v1/automations/nope/enable", None)
        .await
        .error(404, "unknown_automation");
    let message = send_as(
        &node,
        &admin,
        "DELETE",
        &format!("/v1/webhooks/{endpoint}"),
        None,
    )
    .await
    .error(409, "webhook_in_use");
    assert!(message.contains("earned"), "{message}");
    let reply = node.get_as(&admin, "/v1/automations").await;
    assert_eq!(reply.json()["automations"][0]["name"], "earned");

    // The log's filters are checked.
    node.get_as(&admin, "/v1/automations/deliveries?status=lost")
        .await
        .error(400, "bad_request");
    node.get_as(&admin, "/v1/automations/deliveries?limit=0")
        .await
        .error(400, "bad_request");
    node.get_as(&admin, "/v1/automations/deliveries?customer=guild1nope")
        .await
        .error(400, "bad_address");
    let reply = node
        .get_as(&admin, "/v1/automations/deliveries?status=pending&limit=5")
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    send_as(
        &node,
        &admin,
        "POST",
        "/v1/automations/todos/evt_0/done",
        None,
    )
    .await
    .error(404, "unknown_todo");

    let reply = send_as(&node, &admin, "DELETE", "/v1/automations/earned", None).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    check(&reply, "delete", "/v1/automations/{name}");
    let reply = send_as(
        &node,
        &admin,
        "DELETE",
        &format!("/v1/webhooks/{endpoint}"),
        None,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    send_as(
        &node,
        &admin,
        "DELETE",
        &format!("/v1/webhooks/{endpoint}"),
        None,
    )
    .await
    .error(404, "unknown_webhook");
    node.stop().await;
}
