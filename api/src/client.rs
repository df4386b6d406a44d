//! The typed client of a node's API (`docs/api.md`).
//!
//! Every answer is read with a size limit and parsed into this crate's
//! types; every failure is an [`Error`]:
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

use crate::account::{AccountInfo, ProofInfo};
use crate::chain::{BlockInfo, Head, Members, ParamsInfo, Proposals, Settlement, SupplyInfo};
use crate::error::{ErrorBody, code};
use crate::events::{ChainEvent, SseParser};
use crate::tx::{HistoryEntry, Submission, SubmitRequest, TxAnswer, TxStatus};
use guild_ledger::codec;
use guild_ledger::crypto::Address;
use guild_ledger::genesis::Genesis;
use guild_ledger::tx::{SignedTransaction, TxId};
use guild_ledger::types::{ChainId, Height};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::time::{Duration, Instant};

/// The HTTP method of [`NodeClient::admin`] calls.
pub use reqwest::Method;

/// The largest answer read from a node (a block of the largest size allowed
/// as JSON is well below this).
pub const MAX_ANSWER_BYTES: usize = 32 * 1024 * 1024;

/// The longest a node lets one `POST /v1/tx` wait.
pub const MAX_NODE_WAIT: Duration = Duration::from_millis(crate::tx::MAX_WAIT_MS);

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const READ_TIMEOUT: Duration = Duration::from_secs(30);
const POLL_INTERVAL: Duration = Duration::from_millis(300);

/// Shorthand for results of the client.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong talking to a node.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The node's URL is not an `http://` or `https://` URL.
    #[error(
        "{url:?} is not a node URL: give one like http://127.0.0.1:7700 (--node or GUILD_NODE)"
    )]
    BadNodeUrl {
        /// The text given.
        url: String,
    },

    /// No connection to the node (refused, unreachable, timed out).
    #[error(
        "cannot reach node at {url} (is your node running? start it with `guild node …`, or \
         `guild devnet` on a test machine): {reason}"
    )]
    Unreachable {
        /// The node's base URL.
        url: String,
        /// What the connection attempt reported, in short.
        reason: String,
    },

    /// The node answered with an API error (`{"error":{"code","message"}}`).
    /// `code` is the API's stable code, e.g. a ledger rule such as
    /// `insufficient_points` (see `docs/api.md`).
    #[error("{message}")]
    Node {
        /// The HTTP status.
        status: u16,
        /// The stable error code.
        code: String,
        /// The node's message for a person.
        message: String,
    },

    /// The node's answer is not what a Guild node sends.
    #[error(
        "the node at {url} sent an unexpected answer ({reason}); is it a Guild node of a compatible version?"
    )]
    BadResponse {
        /// The URL asked.
        url: String,
        /// What is wrong with the answer.
        reason: String,
    },

    /// A transaction was not final within the time waited, though the
    /// node reaches enough members (or could not say).
    #[error(
        "transaction {id} is not final after {waited_secs} s; it is still waiting on the node. \
         Check later with GET /v1/tx/{id} (`guild status` shows how the network is); do not sign \
         it again"
    )]
    NotFinal {
        /// The transaction id.
        id: TxId,
        /// Seconds waited.
        waited_secs: u64,
    },

    /// A transaction was not final within the time waited because the node
    /// reaches too few member shops for any block to become final.
    #[error(
        "transaction {id} is not final after {waited_secs} s: {}. The transaction waits in the \
         node and becomes final when another shop's node is back (start the stopped nodes; \
         `guild status` shows who is reachable); do not sign it again",
        quorum.describe()
    )]
    NoQuorum {
        /// The transaction id.
        id: TxId,
        /// Seconds waited.
        waited_secs: u64,
        /// What the node reported.
        quorum: crate::chain::QuorumInfo,
    },
}

impl Error {
    /// A stable, machine-readable name for the error. An API error keeps
    /// the node's code (a ledger rule such as `insufficient_points`, or an
    /// API code; `docs/api.md`).
    pub fn code(&self) -> &str {
        match self {
            Error::BadNodeUrl { .. } => "bad_node_url",
            Error::Unreachable { .. } => "node_unreachable",
            Error::Node { code, .. } => code,
            Error::BadResponse { .. } => "bad_response",
            Error::NotFinal { .. } => "not_final",
            Error::NoQuorum { .. } => "no_quorum",
        }
    }

    /// True for an API error with code `code`.
    pub fn is_code(&self, code: &str) -> bool {
        matches!(self, Error::Node { code: c, .. } if c == code)
    }
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
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|e| Error::BadNodeUrl {
                url: format!("{url} ({e})"),
            })?;
        NodeClient::with_http(url, http)
    }

    /// A client of the node at `url` over a configured HTTP client (e.g.
    /// with a larger connection pool for a load generator). Makes no
    /// request.
    pub fn with_http(url: &str, http: reqwest::Client) -> Result<NodeClient> {
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
    pub async fn members(&self) -> Result<Members> {
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
    pub async fn proposals(&self) -> Result<Proposals> {
        self.get("/v1/proposals").await
    }

    /// `GET /v1/supply`.
    pub async fn supply(&self) -> Result<SupplyInfo> {
        self.get("/v1/supply").await
    }

    /// `GET /v1/settlement`.
    pub async fn settlement(&self) -> Result<Settlement> {
        self.get("/v1/settlement").await
    }

    /// `GET /v1/programme`.
    pub async fn programme(&self) -> Result<crate::ProgrammeInfo> {
        self.get("/v1/programme").await
    }

    /// `GET /v1/insights/customers`: a shop's (or the group's) customers
    /// with their RFM scores and segment.
    pub async fn insights_customers(
        &self,
        query: &crate::CustomersQuery,
    ) -> Result<crate::CustomerInsights> {
        self.get_query("/v1/insights/customers", query).await
    }

    /// `GET /v1/insights/segments`: customers per segment.
    pub async fn insights_segments(
        &self,
        query: &crate::SegmentsQuery,
    ) -> Result<crate::SegmentSummaries> {
        self.get_query("/v1/insights/segments", query).await
    }

    /// `GET /v1/insights/kpis`: the programme's KPIs over a period.
    pub async fn insights_kpis(&self, query: &crate::KpisQuery) -> Result<crate::KpiReport> {
        self.get_query("/v1/insights/kpis", query).await
    }

    /// `GET /v1/receipts/{shop}/{receipt hash}`: where one earn's receipt
    /// stands.
    pub async fn receipt(
        &self,
        shop: &Address,
        receipt: &guild_ledger::types::ReceiptHash,
    ) -> Result<crate::ReceiptState> {
        self.get(&format!("/v1/receipts/{shop}/{}", receipt.0))
            .await
    }

    /// `POST /v1/sale` with a till's bearer `token`.
    pub async fn sale(
        &self,
        token: &str,
        request: &crate::SaleRequest,
    ) -> Result<crate::SaleAnswer> {
        self.post_bearer("/v1/sale", token, request, request.timeout_ms)
            .await
    }

    /// `POST /v1/sale/preview` with a till's bearer `token`.
    pub async fn sale_preview(
        &self,
        token: &str,
        request: &crate::SaleRequest,
    ) -> Result<crate::SaleAnswer> {
        self.post_bearer("/v1/sale/preview", token, request, None)
            .await
    }

    /// `POST /v1/refund` with a till's bearer `token`.
    pub async fn refund(
        &self,
        token: &str,
        request: &crate::RefundRequest,
    ) -> Result<crate::RefundAnswer> {
        self.post_bearer("/v1/refund", token, request, request.timeout_ms)
            .await
    }

    /// `POST /v1/shop/sign` with the shop's `admin` bearer `token`: the
    /// node signs `request.body` as its shop and admits it (final with
    /// `wait`, else pending). A ledger refusal is [`Error::Node`] with the
    /// rule's code, as for `POST /v1/tx`; a kind the shop does not sign
    /// from its back office is `not_a_shop_action`.
    pub async fn shop_sign(
        &self,
        token: &str,
        request: &crate::ShopSignRequest,
    ) -> Result<Submission> {
        let wait_ms = if request.wait {
            request.timeout_ms
        } else {
            Some(0)
        };
        self.post_bearer("/v1/shop/sign", token, request, wait_ms)
            .await
    }

    async fn post_bearer<B: serde::Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        token: &str,
        body: &B,
        wait_ms: Option<u64>,
    ) -> Result<T> {
        let wait = Duration::from_millis(wait_ms.unwrap_or(crate::tx::DEFAULT_WAIT_MS));
        let request = self
            .http
            .post(self.full(path))
            .bearer_auth(token)
            .json(body)
            .timeout(wait.min(MAX_NODE_WAIT) + READ_TIMEOUT);
        self.send(path, request).await
    }

    /// A request with the shop's `admin` bearer `token` (the customer
    /// directory, automations): `method` on `path`, with a JSON `body` for
    /// the methods that take one.
    pub async fn admin<B: serde::Serialize, T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<&B>,
    ) -> Result<T> {
        let mut request = self
            .http
            .request(method, self.full(path))
            .bearer_auth(token)
            .timeout(READ_TIMEOUT);
        if let Some(body) = body {
            request = request.json(body);
        }
        self.send(path, request).await
    }

    /// `GET /v1/whoami` with `token`: the token's name and scopes, if the
    /// node knows it (else `unauthorized`).
    pub async fn whoami(&self, token: &str) -> Result<crate::WhoAmI> {
        self.admin::<(), _>(Method::GET, "/v1/whoami", token, None)
            .await
    }

    /// `GET /v1/blocks/{height}`.
    pub async fn block(&self, height: Height) -> Result<BlockInfo> {
        self.get(&format!("/v1/blocks/{height}")).await
    }

    /// `GET /v1/tx/{id}`: final, pending, or `None` if the node does not
    /// know it.
    pub async fn tx(&self, id: &TxId) -> Result<Option<TxAnswer>> {
        let path = format!("/v1/tx/{id}");
        let answer: TxAnswer = match self.get(&path).await {
            Ok(found) => found,
            Err(e) if e.is_code(code::UNKNOWN_TX) => return Ok(None),
            Err(e) => return Err(e),
        };
        match &answer {
            TxAnswer::Final(found) if found.status == TxStatus::Final => Ok(Some(answer)),
            TxAnswer::Pending(waiting) if waiting.status == TxStatus::Pending => Ok(Some(answer)),
            TxAnswer::Pending(_) => Err(self.bad(&path, "a final transaction without its block")),
            TxAnswer::Final(_) => Err(self.bad(&path, "a pending transaction with a block")),
        }
    }

    /// `POST /v1/tx` with `request` as it is: the node's answer (pending or
    /// final) or its refusal as [`Error::Node`]. The request times out
    /// after its own wait plus 30 s.
    pub async fn submit_request(&self, request: &SubmitRequest) -> Result<Submission> {
        let path = "/v1/tx";
        let wait = if request.wait {
            Duration::from_millis(request.timeout_ms.unwrap_or(crate::tx::DEFAULT_WAIT_MS))
        } else {
            Duration::ZERO
        };
        let request = self
            .http
            .post(self.full(path))
            .json(request)
            .timeout(wait.min(MAX_NODE_WAIT) + READ_TIMEOUT);
        self.send(path, request).await
    }

    /// `POST /v1/tx`: submits `tx`, waiting up to `wait` (at most
    /// [`MAX_NODE_WAIT`]) for it to become final. Returns the location if
    /// final, `None` if still pending.
    pub async fn submit(
        &self,
        tx: &SignedTransaction,
        wait: Option<Duration>,
    ) -> Result<Option<(Height, u32)>> {
        let wait_ms = wait.map(|w| w.min(MAX_NODE_WAIT).as_millis());
        let request = SubmitRequest {
            tx: hex::encode(codec::encode(tx)),
            wait: wait_ms.is_some(),
            timeout_ms: Some(
                wait_ms
                    .map(|ms| u64::try_from(ms).unwrap_or(crate::tx::MAX_WAIT_MS))
                    .unwrap_or(crate::tx::DEFAULT_WAIT_MS),
            ),
        };
        let answer = self.submit_request(&request).await?;
        match (answer.status, answer.height, answer.index) {
            (TxStatus::Final, Some(height), Some(index)) => Ok(Some((height, index))),
            (TxStatus::Pending, _, _) => Ok(None),
            (TxStatus::Final, _, _) => {
                Err(self.bad("/v1/tx", "a final transaction without its block"))
            }
        }
    }

    /// Why `id` is not final yet: [`Error::NoQuorum`] if the node says it
    /// reaches too few members, else [`Error::NotFinal`].
    async fn not_final(&self, id: TxId, waited_secs: u64) -> Error {
        match self.head().await {
            Ok(head) if !head.quorum.has_quorum => Error::NoQuorum {
                id,
                waited_secs,
                quorum: head.quorum,
            },
            _ => Error::NotFinal { id, waited_secs },
        }
    }

    /// Submits `tx` and waits until it is final, for at most `timeout`.
    ///
    /// A transaction the node already holds in a final block is not sent
    /// again and is returned with [`Finality::already_final`] set. If it is
    /// still pending after `timeout`, the answer is [`Error::NoQuorum`] when
    /// the node reaches too few member shops to finalize, else
    /// [`Error::NotFinal`] (either way the transaction may still become
    /// final later: look it up before signing anything new).
    pub async fn submit_and_wait(
        &self,
        tx: &SignedTransaction,
        chain_id: &ChainId,
        timeout: Duration,
    ) -> Result<Finality> {
        let id = tx.tx.id(chain_id);
        if let Some(TxAnswer::Final(found)) = self.tx(&id).await? {
            return Ok(Finality {
                id,
                height: found.height,
                index: found.index,
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
                    Some(TxAnswer::Final(found)) => {
                        return Ok(Finality {
                            id,
                            height: found.height,
                            index: found.index,
                            already_final: false,
                        });
                    }
                    Some(TxAnswer::Pending(_)) => {}
                    // Dropped from this node's mempool without being
                    // final: submit again (the node refuses it with the
                    // reason if it no longer applies).
                    None => submitted = false,
                }
            }
            if start.elapsed() >= timeout {
                return Err(self.not_final(id, timeout.as_secs()).await);
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

    pub(crate) async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let request = self.http.get(self.full(path)).timeout(READ_TIMEOUT);
        self.send(path, request).await
    }

    /// `GET path?query`, the query encoded from `query`'s fields.
    async fn get_query<Q: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        query: &Q,
    ) -> Result<T> {
        let request = self
            .http
            .get(self.full(path))
            .query(query)
            .timeout(READ_TIMEOUT);
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
        match serde_json::from_slice::<ErrorBody>(&bytes) {
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

/// A stream of [`ChainEvent`]s (Server-Sent Events, parsed by
/// [`SseParser`]).
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
}
