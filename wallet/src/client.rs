//! The node API client: typed calls to a Guild node's HTTP/JSON API
//! (`docs/api.md`).
//!
//! Every answer is read with a size limit and parsed into the types below;
//! every failure is an [`Error`]:
//!
//! - no connection → [`Error::Unreachable`] ("cannot reach node at URL (is it
//!   running? …)");
//! - an API error (`{"error":{"code","message"}}`) → [`Error::Node`] with the
//!   node's stable code and its message for a person;
//! - anything else a Guild node would not send → [`Error::BadResponse`].
//!
//! Submitting is idempotent: [`NodeClient::submit_and_wait`] looks the
//! transaction up first, so a transaction that is already final is reported
//! as such ([`Finality::already_final`]) and never applied twice (the node
//! guarantees the latter in any case).

use crate::error::{Error, Result};
use guild_ledger::block::BlockHeader;
use guild_ledger::codec;
use guild_ledger::genesis::Genesis;
use guild_ledger::params::Params;
use guild_ledger::state::Account;
use guild_ledger::tx::{GovernanceAction, SignedTransaction, Transaction, TxId};
use guild_ledger::types::{ChainId, Height, Nonce, Points, ProposalId, ShopName, Timestamp};
use guild_ledger::{Address, Hash};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// The largest answer read from a node (a block of the largest size allowed
/// as JSON is well below this).
pub const MAX_ANSWER_BYTES: usize = 32 * 1024 * 1024;

/// The longest a node lets one `POST /v1/tx` wait.
pub const MAX_NODE_WAIT: Duration = Duration::from_secs(60);

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const READ_TIMEOUT: Duration = Duration::from_secs(30);
const POLL_INTERVAL: Duration = Duration::from_millis(300);

/// `GET /v1/head`: where the node stands.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Head {
    /// The network's id.
    pub chain_id: ChainId,
    /// Height of the last final block.
    pub height: Height,
    /// Its hash.
    pub hash: Hash,
    /// Its time.
    pub time: Timestamp,
    /// The state root after it.
    pub state_root: Hash,
    /// Consensus round at the next height.
    #[serde(default)]
    pub round: u32,
    /// Transactions waiting.
    #[serde(default)]
    pub mempool: usize,
    /// Connected peers.
    #[serde(default)]
    pub peers: usize,
    /// The node's member address (`None` for an observer).
    #[serde(default)]
    pub member: Option<Address>,
    /// Catching up with the network.
    #[serde(default)]
    pub syncing: bool,
}

/// One entry of `GET /v1/members`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MemberInfo {
    /// Registered name.
    pub name: ShopName,
    /// Its key.
    pub address: Address,
    /// Height it became a member.
    #[serde(default)]
    pub since: Height,
    /// Points it ever issued.
    #[serde(default)]
    pub issued: Points,
    /// Its customers' points still to honour.
    #[serde(default)]
    pub outstanding: Points,
    /// Points redeemed at this shop.
    #[serde(default)]
    pub redeemed_here: Points,
    /// Issued today (by the node's clock).
    #[serde(default)]
    pub issued_today: Points,
}

/// One lot of `GET /v1/accounts/{address}`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct LotInfo {
    /// The shop that issued the points.
    pub issuer: Address,
    /// Its name (`None` if it is no longer a member).
    pub issuer_name: Option<ShopName>,
    /// How many points.
    pub amount: Points,
    /// When they expire.
    pub expires_at: Timestamp,
}

/// `GET /v1/accounts/{address}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AccountInfo {
    /// The account.
    pub address: Address,
    /// Spendable points (lots not expired).
    pub balance: Points,
    /// The nonce its next transaction must carry.
    pub nonce: Nonce,
    /// Spendable lots, soonest expiry first.
    pub lots: Vec<LotInfo>,
    /// Lots past expiry not yet removed by a block (not counted).
    #[serde(default)]
    pub expired: Vec<LotInfo>,
    /// Height of the snapshot.
    pub height: Height,
}

/// One entry of `GET /v1/accounts/{address}/history`, or a final
/// transaction of `GET /v1/tx/{id}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// Transaction id.
    pub id: TxId,
    /// Block height.
    pub height: Height,
    /// Position in the block.
    pub index: u32,
    /// Block time.
    pub time: Timestamp,
    /// Kind (`earn`, `transfer`, …).
    pub kind: String,
    /// The transaction.
    pub tx: Transaction,
}

/// `GET /v1/accounts/{address}/proof`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProofInfo {
    /// The account proven.
    pub address: Address,
    /// The network.
    pub chain_id: ChainId,
    /// Height of the header.
    pub height: Height,
    /// Hash of the header.
    pub block_hash: Hash,
    /// State root of the header.
    pub state_root: Hash,
    /// The header in JSON.
    pub header: BlockHeader,
    /// `encode(BlockHeader)`.
    pub header_hex: String,
    /// `encode(CommitCertificate)`, `None` at genesis.
    pub certificate_hex: Option<String>,
    /// `encode(AccountProof)`.
    pub proof_hex: String,
    /// The proven record in JSON.
    pub account: Option<Account>,
    /// The member set the node says is valid at `height`.
    pub members: Vec<Address>,
}

/// One entry of `GET /v1/proposals`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ProposalInfo {
    /// Its id.
    pub id: ProposalId,
    /// Who proposed it.
    pub proposer: Address,
    /// The proposer's name.
    pub proposer_name: Option<ShopName>,
    /// What it does.
    pub action: GovernanceAction,
    /// Height it was made at.
    pub created: Height,
    /// Members who approved it.
    pub approvals: Vec<Address>,
    /// Approvals by current members.
    pub approving: usize,
    /// Approvals needed.
    pub needed: usize,
    /// `open`, `passed`, `executed` or `failed`.
    pub status: String,
    /// First height governed by it (once passed).
    pub effective: Option<Height>,
    /// Why it failed.
    pub failure: Option<String>,
}

/// One debt of `GET /v1/settlement`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DebtInfo {
    /// The shop that owes.
    pub debtor: Address,
    /// Its name.
    pub debtor_name: Option<ShopName>,
    /// The shop owed.
    pub creditor: Address,
    /// Its name.
    pub creditor_name: Option<ShopName>,
    /// Points owed.
    pub points: Points,
    /// Their money value in cents.
    pub cents: Option<u64>,
}

/// `GET /v1/settlement`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Settlement {
    /// Height of the snapshot.
    pub height: Height,
    /// What a point is worth between shops.
    pub settlement_cents_per_point: u64,
    /// Every non-zero debt.
    pub debts: Vec<DebtInfo>,
}

/// `GET /v1/params`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ParamsInfo {
    /// Height of the snapshot.
    pub height: Height,
    /// The parameters.
    #[serde(flatten)]
    pub params: Params,
}

/// One transaction of a block or an event.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BlockTx {
    /// Its id.
    pub id: TxId,
    /// Its kind.
    pub kind: String,
    /// The transaction.
    pub tx: Transaction,
}

/// `GET /v1/blocks/{height}` (the parts a wallet uses).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BlockInfo {
    /// Its height.
    pub height: Height,
    /// Its hash.
    pub hash: Hash,
    /// Its header.
    pub header: BlockHeader,
    /// Its transactions.
    pub txs: Vec<BlockTx>,
}

/// A `block` event of `GET /v1/events`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BlockEvent {
    /// Height of the final block.
    pub height: Height,
    /// Its hash.
    pub hash: Hash,
    /// Its time.
    pub time: Timestamp,
    /// The transactions matching the filter.
    pub txs: Vec<BlockTx>,
}

/// An event of `GET /v1/events`.
#[derive(Clone, Debug)]
pub enum ChainEvent {
    /// A final block.
    Block(BlockEvent),
    /// This subscriber was too slow; `skipped` blocks were not sent.
    Lagged {
        /// How many blocks were skipped.
        skipped: u64,
    },
}

/// Where a submitted transaction ended up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Finality {
    /// Its id.
    pub id: TxId,
    /// The height of the final block holding it.
    pub height: Height,
    /// Its position in that block.
    pub index: u32,
    /// True if it was already final before this submission (a repeated
    /// submission, which changes nothing).
    pub already_final: bool,
}

/// The answer of `POST /v1/tx`.
#[derive(Clone, Debug, Deserialize)]
struct Submission {
    status: String,
    height: Option<Height>,
    index: Option<u32>,
}

/// The answer of `GET /v1/tx/{id}`: final or pending.
#[derive(Clone, Debug, Deserialize)]
struct TxLookup {
    status: String,
    height: Option<Height>,
    index: Option<u32>,
    time: Option<Timestamp>,
    kind: Option<String>,
    tx: Option<Transaction>,
}

/// A transaction as `GET /v1/tx/{id}` reports it.
#[derive(Clone, Debug)]
pub enum TxStatus {
    /// In a final block.
    Final(Box<HistoryEntry>),
    /// Waiting in the node's mempool.
    Pending,
}

#[derive(Deserialize)]
struct ApiErrorBody {
    error: ApiErrorInner,
}

#[derive(Deserialize)]
struct ApiErrorInner {
    code: String,
    message: String,
}

/// A client of one node's API.
#[derive(Clone, Debug)]
pub struct NodeClient {
    base: String,
    http: reqwest::Client,
}

impl NodeClient {
    /// A client of the node at `url` (`http://host:port`, with or without a
    /// trailing `/`). Makes no request.
    pub fn new(url: &str) -> Result<NodeClient> {
        let trimmed = url.trim().trim_end_matches('/');
        let rest = trimmed
            .strip_prefix("http://")
            .or_else(|| trimmed.strip_prefix("https://"));
        match rest {
            Some(host) if !host.is_empty() && !host.contains(char::is_whitespace) => {}
            _ => {
                return Err(Error::BadNodeUrl {
                    url: url.to_string(),
                });
            }
        }
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|e| Error::BadNodeUrl {
                url: format!("{url} ({e})"),
            })?;
        Ok(NodeClient {
            base: trimmed.to_string(),
            http,
        })
    }

    /// The node's base URL.
    pub fn url(&self) -> &str {
        &self.base
    }

    /// `GET /v1/head`.
    pub async fn head(&self) -> Result<Head> {
        self.get("/v1/head").await
    }

    /// `GET /v1/genesis`.
    pub async fn genesis(&self) -> Result<Genesis> {
        self.get("/v1/genesis").await
    }

    /// `GET /v1/members`.
    pub async fn members(&self) -> Result<Vec<MemberInfo>> {
        self.get("/v1/members").await
    }

    /// `GET /v1/params`.
    pub async fn params(&self) -> Result<ParamsInfo> {
        self.get("/v1/params").await
    }

    /// `GET /v1/accounts/{address}`.
    pub async fn account(&self, address: &Address) -> Result<AccountInfo> {
        self.get(&format!("/v1/accounts/{address}")).await
    }

    /// `GET /v1/accounts/{address}/history?limit=N`, newest first.
    pub async fn history(&self, address: &Address, limit: usize) -> Result<Vec<HistoryEntry>> {
        self.get(&format!("/v1/accounts/{address}/history?limit={limit}"))
            .await
    }

    /// `GET /v1/accounts/{address}/proof`.
    pub async fn proof(&self, address: &Address) -> Result<ProofInfo> {
        self.get(&format!("/v1/accounts/{address}/proof")).await
    }

    /// `GET /v1/proposals`.
    pub async fn proposals(&self) -> Result<Vec<ProposalInfo>> {
        self.get("/v1/proposals").await
    }

    /// `GET /v1/settlement`.
    pub async fn settlement(&self) -> Result<Settlement> {
        self.get("/v1/settlement").await
    }

    /// `GET /v1/blocks/{height}`.
    pub async fn block(&self, height: Height) -> Result<BlockInfo> {
        self.get(&format!("/v1/blocks/{height}")).await
    }

    /// `GET /v1/tx/{id}`: final, pending, or `None` if the node does not
    /// know it.
    pub async fn tx(&self, id: &TxId) -> Result<Option<TxStatus>> {
        let lookup: TxLookup = match self.get(&format!("/v1/tx/{id}")).await {
            Ok(found) => found,
            Err(Error::Node { code, .. }) if code == "unknown_tx" => return Ok(None),
            Err(e) => return Err(e),
        };
        match lookup.status.as_str() {
            "pending" => Ok(Some(TxStatus::Pending)),
            "final" => match (
                lookup.height,
                lookup.index,
                lookup.time,
                lookup.kind,
                lookup.tx,
            ) {
                (Some(height), Some(index), Some(time), Some(kind), Some(tx)) => {
                    Ok(Some(TxStatus::Final(Box::new(HistoryEntry {
                        id: *id,
                        height,
                        index,
                        time,
                        kind,
                        tx,
                    }))))
                }
                _ => Err(self.bad(
                    &format!("/v1/tx/{id}"),
                    "a final transaction without its block",
                )),
            },
            other => Err(self.bad(
                &format!("/v1/tx/{id}"),
                &format!("unknown status {other:?}"),
            )),
        }
    }

    /// `POST /v1/tx`: submits `tx`, waiting up to `wait` (at most
    /// [`MAX_NODE_WAIT`]) for it to become final. Returns the location if
    /// final, `None` if still pending.
    pub async fn submit(
        &self,
        tx: &SignedTransaction,
        wait: Option<Duration>,
    ) -> Result<Option<(Height, u32)>> {
        let path = "/v1/tx";
        let wait_ms = wait.map(|w| w.min(MAX_NODE_WAIT).as_millis());
        let body = serde_json::json!({
            "tx": hex::encode(codec::encode(tx)),
            "wait": wait_ms.is_some(),
            "timeout_ms": wait_ms.map(|ms| u64::try_from(ms).unwrap_or(60_000)).unwrap_or(10_000),
        });
        let request = self
            .http
            .post(self.full(path))
            .json(&body)
            .timeout(wait.unwrap_or_default().min(MAX_NODE_WAIT) + READ_TIMEOUT);
        let answer: Submission = self.send(path, request).await?;
        match (answer.status.as_str(), answer.height, answer.index) {
            ("final", Some(height), Some(index)) => Ok(Some((height, index))),
            ("pending", _, _) => Ok(None),
            _ => Err(self.bad(path, &format!("unknown status {:?}", answer.status))),
        }
    }

    /// Submits `tx` and waits until it is final, for at most `timeout`.
    ///
    /// A transaction the node already holds in a final block is not sent
    /// again and is returned with [`Finality::already_final`] set. If it is
    /// still pending after `timeout`, the answer is [`Error::NotFinal`] (the
    /// transaction may still become final later: look it up before signing
    /// anything new).
    pub async fn submit_and_wait(
        &self,
        tx: &SignedTransaction,
        chain_id: &ChainId,
        timeout: Duration,
    ) -> Result<Finality> {
        let id = tx.tx.id(chain_id);
        if let Some(TxStatus::Final(entry)) = self.tx(&id).await? {
            return Ok(Finality {
                id,
                height: entry.height,
                index: entry.index,
                already_final: true,
            });
        }
        let start = Instant::now();
        let mut submitted = false;
        loop {
            let left = timeout.saturating_sub(start.elapsed());
            if !submitted {
                if let Some((height, index)) = self.submit(tx, Some(left)).await? {
                    return Ok(Finality {
                        id,
                        height,
                        index,
                        already_final: false,
                    });
                }
                submitted = true;
            } else {
                match self.tx(&id).await? {
                    Some(TxStatus::Final(entry)) => {
                        return Ok(Finality {
                            id,
                            height: entry.height,
                            index: entry.index,
                            already_final: false,
                        });
                    }
                    Some(TxStatus::Pending) => {}
                    // Dropped from this node's mempool without being
                    // final: submit again (the node refuses it with the
                    // reason if it no longer applies).
                    None => submitted = false,
                }
            }
            if start.elapsed() >= timeout {
                return Err(Error::NotFinal {
                    id,
                    waited_secs: timeout.as_secs(),
                });
            }
            tokio::time::sleep(POLL_INTERVAL.min(timeout.saturating_sub(start.elapsed()))).await;
        }
    }

    /// `GET /v1/events?kinds=…&shop=…`: final blocks from now on.
    pub async fn events(&self, kinds: &[&str], shop: Option<&Address>) -> Result<EventStream> {
        let mut query = Vec::new();
        if !kinds.is_empty() {
            query.push(format!("kinds={}", kinds.join(",")));
        }
        if let Some(shop) = shop {
            query.push(format!("shop={shop}"));
        }
        let path = if query.is_empty() {
            "/v1/events".to_string()
        } else {
            format!("/v1/events?{}", query.join("&"))
        };
        let response = self
            .http
            .get(self.full(&path))
            .header("accept", "text/event-stream")
            .send()
            .await
            .map_err(|e| self.transport(&path, e))?;
        if !response.status().is_success() {
            return Err(self.error_answer(&path, response).await);
        }
        Ok(EventStream {
            client: self.clone(),
            path,
            response,
            parser: SseParser::default(),
        })
    }

    fn full(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let request = self.http.get(self.full(path)).timeout(READ_TIMEOUT);
        self.send(path, request).await
    }

    async fn send<T: DeserializeOwned>(
        &self,
        path: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<T> {
        let response = request.send().await.map_err(|e| self.transport(path, e))?;
        if !response.status().is_success() {
            return Err(self.error_answer(path, response).await);
        }
        let bytes = self.read_body(path, response).await?;
        serde_json::from_slice(&bytes).map_err(|e| self.bad(path, &e.to_string()))
    }

    async fn read_body(&self, path: &str, mut response: reqwest::Response) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.transport(path, e))?
        {
            if out.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(self.bad(
                    path,
                    &format!("the answer is larger than {MAX_ANSWER_BYTES} bytes"),
                ));
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    /// Turns a non-success answer into [`Error::Node`] (or
    /// [`Error::BadResponse`] if it is not an API error body).
    async fn error_answer(&self, path: &str, response: reqwest::Response) -> Error {
        let status = response.status().as_u16();
        let bytes = match self.read_body(path, response).await {
            Ok(bytes) => bytes,
            Err(e) => return e,
        };
        match serde_json::from_slice::<ApiErrorBody>(&bytes) {
            Ok(body) => Error::Node {
                status,
                code: body.error.code,
                message: body.error.message,
            },
            Err(_) => self.bad(path, &format!("HTTP status {status} without an error body")),
        }
    }

    fn bad(&self, path: &str, reason: &str) -> Error {
        Error::BadResponse {
            url: self.full(path),
            reason: reason.to_string(),
        }
    }

    fn transport(&self, path: &str, error: reqwest::Error) -> Error {
        if error.is_decode() || error.is_body() && !error.is_timeout() {
            return self.bad(path, &short_reason(&error));
        }
        Error::Unreachable {
            url: self.base.clone(),
            reason: short_reason(&error),
        }
    }
}

/// The innermost cause of a transport error, e.g. "Connection refused (os
/// error 111)", or "timed out".
fn short_reason(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return "the node did not answer in time".to_string();
    }
    let mut inner: &dyn std::error::Error = error;
    while let Some(source) = inner.source() {
        inner = source;
    }
    let text = inner.to_string();
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => "unknown error".to_string(),
    }
}

/// The largest single event accepted from the event stream.
const MAX_EVENT_BYTES: usize = 32 * 1024 * 1024;

/// A stream of [`ChainEvent`]s (Server-Sent Events, parsed here).
#[derive(Debug)]
pub struct EventStream {
    client: NodeClient,
    path: String,
    response: reqwest::Response,
    parser: SseParser,
}

impl EventStream {
    /// The next event; `None` when the node closes the stream.
    pub async fn next(&mut self) -> Result<Option<ChainEvent>> {
        loop {
            let raw = self
                .parser
                .next_event()
                .map_err(|reason| self.client.bad(&self.path, &reason))?;
            if let Some(raw) = raw {
                if let Some(event) = raw
                    .decode()
                    .map_err(|reason| self.client.bad(&self.path, &reason))?
                {
                    return Ok(Some(event));
                }
                continue;
            }
            match self
                .response
                .chunk()
                .await
                .map_err(|e| self.client.transport(&self.path, e))?
            {
                Some(chunk) => self.parser.push(&chunk),
                None => return Ok(None),
            }
        }
    }
}

/// One event as sent: its name and data.
#[derive(Debug, PartialEq, Eq)]
struct RawEvent {
    event: String,
    data: String,
}

impl RawEvent {
    /// The chain event it carries (`None` for event kinds this wallet does
    /// not know, which are skipped).
    fn decode(&self) -> std::result::Result<Option<ChainEvent>, String> {
        #[derive(Deserialize)]
        struct Lagged {
            skipped: u64,
        }
        match self.event.as_str() {
            "block" => serde_json::from_str(&self.data)
                .map(|block| Some(ChainEvent::Block(block)))
                .map_err(|e| format!("a block event that does not parse: {e}")),
            "lagged" => serde_json::from_str::<Lagged>(&self.data)
                .map(|l| Some(ChainEvent::Lagged { skipped: l.skipped }))
                .map_err(|e| format!("a lagged event that does not parse: {e}")),
            _ => Ok(None),
        }
    }
}

/// Splits a Server-Sent Events byte stream into events (the subset of the
/// format a Guild node sends: `event:`, `data:` and comment lines).
#[derive(Debug, Default)]
struct SseParser {
    buffer: Vec<u8>,
    event: String,
    data: String,
}

impl SseParser {
    fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// The next complete event in the bytes pushed so far.
    fn next_event(&mut self) -> std::result::Result<Option<RawEvent>, String> {
        while let Some(end) = self.buffer.iter().position(|b| *b == b'\n') {
            let mut line: Vec<u8> = self.buffer.drain(..=end).collect();
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            let line = String::from_utf8(line).map_err(|_| "an event that is not UTF-8")?;
            if line.is_empty() {
                let event = RawEvent {
                    event: std::mem::take(&mut self.event),
                    data: std::mem::take(&mut self.data),
                };
                if !event.event.is_empty() || !event.data.is_empty() {
                    return Ok(Some(event));
                }
                continue;
            }
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = match line.split_once(':') {
                Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
                None => (line.as_str(), ""),
            };
            match field {
                "event" => self.event = value.to_string(),
                "data" => {
                    if !self.data.is_empty() {
                        self.data.push('\n');
                    }
                    self.data.push_str(value);
                }
                _ => {}
            }
        }
        if self.buffer.len() + self.data.len() > MAX_EVENT_BYTES {
            return Err(format!("an event larger than {MAX_EVENT_BYTES} bytes"));
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_urls_are_checked_and_normalized() {
        assert_eq!(
            NodeClient::new("http://127.0.0.1:7700/").unwrap().url(),
            "http://127.0.0.1:7700"
        );
        for bad in ["127.0.0.1:7700", "ftp://x", "http://", ""] {
            assert!(
                matches!(NodeClient::new(bad), Err(Error::BadNodeUrl { .. })),
                "{bad}"
            );
        }
    }

    #[tokio::test]
    async fn an_unreachable_node_is_reported_as_such() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let client = NodeClient::new(&format!("http://127.0.0.1:{port}")).unwrap();
        let error = client.head().await.unwrap_err();
        let text = error.to_string();
        assert!(
            text.starts_with(&format!("cannot reach node at http://127.0.0.1:{port}")),
            "{text}"
        );
        assert!(text.contains("guild devnet"), "{text}");
        assert_eq!(error.code(), "node_unreachable");
    }

    #[test]
    fn server_sent_events_are_split_and_decoded() {
        let mut parser = SseParser::default();
        let block = format!(
            "{{\"height\":3,\"hash\":\"{}\",\"time\":5,\"txs\":[]}}",
            Hash::ZERO
        );
        let text = format!(
            ":\n\nevent: lagged\r\ndata: {{\"skipped\":3}}\r\n\r\nevent: block\ndata: {block}\n\nevent: block\nda"
        );
        // Fed in small pieces, as a network would.
        for piece in text.as_bytes().chunks(7) {
            parser.push(piece);
        }
        let first = parser.next_event().unwrap().unwrap();
        assert!(matches!(
            first.decode(),
            Ok(Some(ChainEvent::Lagged { skipped: 3 }))
        ));
        let second = parser.next_event().unwrap().unwrap();
        match second.decode() {
            Ok(Some(ChainEvent::Block(event))) => assert_eq!(event.height, Height(3)),
            other => panic!("{other:?}"),
        }
        // The last event is incomplete.
        assert_eq!(parser.next_event(), Ok(None));
        parser.push(b"ta: {not json\n\n");
        assert!(parser.next_event().unwrap().unwrap().decode().is_err());
        let unknown = RawEvent {
            event: "hello".into(),
            data: "{}".into(),
        };
        assert!(matches!(unknown.decode(), Ok(None)));
    }
}
