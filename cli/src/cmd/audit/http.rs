//! Blocks from a node's HTTP API (`GET /v1/genesis`, `/v1/head`,
//! `/v1/blocks/{height}`), fetched several at a time.

use futures::StreamExt;
use guild_audit::{AuditError, BlockSource, Discrepancy, Rule, SourceError};
use guild_ledger::block::BlockHeader;
use guild_ledger::crypto::Address;
use guild_ledger::genesis::Genesis;
use guild_ledger::hash::Hash;
use guild_ledger::state::State;
use guild_ledger::types::Height;
use std::collections::BTreeSet;
use std::time::Duration;

/// Requests in flight at once.
const CONCURRENCY: usize = 16;

/// A node's API, read by the audit.
pub struct HttpSource {
    base: String,
    client: reqwest::Client,
    runtime: tokio::runtime::Runtime,
}

#[derive(serde::Deserialize)]
struct HeadAnswer {
    height: Height,
    hash: Hash,
    state_root: Hash,
}

#[derive(serde::Deserialize)]
struct BlockAnswer {
    hex: String,
}

impl HttpSource {
    /// A source reading the node at `base` (e.g. `http://127.0.0.1:7700`).
    pub fn new(base: &str) -> anyhow::Result<HttpSource> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()?;
        Ok(HttpSource {
            base: base.trim_end_matches('/').to_string(),
            client,
            runtime,
        })
    }

    fn remote(&self, path: &str, reason: impl ToString) -> SourceError {
        SourceError::Remote {
            url: format!("{}{path}", self.base),
            reason: reason.to_string(),
        }
    }

    /// `GET path` as JSON; `None` on 404.
    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<Option<T>, SourceError> {
        let url = format!("{}{path}", self.base);
        let response = self.client.get(&url).send().await.map_err(|e| {
            self.remote(
                path,
                format!("{e} (is a node serving its API there? give it with --node URL)"),
            )
        })?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            return Err(self.remote(path, format!("HTTP {status}: {body}")));
        }
        response
            .json()
            .await
            .map(Some)
            .map_err(|e| self.remote(path, format!("unexpected answer: {e}")))
    }

    fn get_blocking<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, SourceError> {
        self.runtime
            .block_on(self.get(path))?
            .ok_or_else(|| self.remote(path, "not found (is this a Guild node?)"))
    }

    /// The genesis the node serves.
    pub fn genesis(&self) -> Result<Genesis, SourceError> {
        self.get_blocking("/v1/genesis")
    }
}

impl BlockSource for HttpSource {
    fn describe(&self) -> String {
        self.base.clone()
    }

    fn genesis_hash(&mut self) -> Result<Option<Hash>, SourceError> {
        // The genesis itself is compared before the replay.
        Ok(None)
    }

    fn head(&mut self) -> Result<Height, SourceError> {
        Ok(self.get_blocking::<HeadAnswer>("/v1/head")?.height)
    }

    fn blocks(&mut self, from: Height, count: usize) -> Result<Vec<Option<Vec<u8>>>, SourceError> {
        let this = &*self;
        let fetches = (0..count as u64).map(|i| async move {
            let path = format!("/v1/blocks/{}", from.0 + i);
            match this.get::<BlockAnswer>(&path).await? {
                None => Ok(None),
                Some(answer) => hex::decode(answer.hex.trim())
                    .map(Some)
                    .map_err(|e| this.remote(&path, format!("the block's hex is not hex: {e}"))),
            }
        });
        self.runtime
            .block_on(
                futures::stream::iter(fetches)
                    .buffered(CONCURRENCY)
                    .collect::<Vec<_>>(),
            )
            .into_iter()
            .collect()
    }

    fn check_final(
        &mut self,
        state: &State,
        head: &BlockHeader,
        _member_sets: &[(Height, BTreeSet<Address>)],
    ) -> Result<(), AuditError> {
        let now: HeadAnswer = self.get_blocking("/v1/head")?;
        if now.height < head.height {
            return Err(Discrepancy::at(
                head.height,
                Rule::SourceHead,
                format!(
                    "the node now reports height {}, below the {} it served",
                    now.height, head.height
                ),
            )
            .into());
        }
        if now.height == head.height && (now.hash != head.hash() || now.state_root != state.root())
        {
            return Err(Discrepancy::at(
                head.height,
                Rule::SourceHead,
                format!(
                    "the node reports head {} with state root {}, the replay reached {} with state root {}",
                    now.hash,
                    now.state_root,
                    head.hash(),
                    state.root()
                ),
            )
            .into());
        }
        Ok(())
    }
}
