//! Blocks from a node's HTTP API (`GET /v1/genesis`, `/v1/head`,
//! `/v1/blocks/{height}`), fetched several at a time.

use futures::StreamExt;
use guild_api::{ClientError, NodeClient};
use guild_audit::{AuditError, BlockSource, Discrepancy, Rule, SourceError};
use guild_ledger::block::BlockHeader;
use guild_ledger::crypto::Address;
use guild_ledger::genesis::Genesis;
use guild_ledger::hash::Hash;
use guild_ledger::state::State;
use guild_ledger::types::Height;
use std::collections::BTreeSet;

/// Requests in flight at once.
const CONCURRENCY: usize = 16;

/// A node's API, read by the audit through the shared client.
pub struct HttpSource {
    client: NodeClient,
    runtime: tokio::runtime::Runtime,
}

impl HttpSource {
    /// A source reading the node at `base` (e.g. `http://127.0.0.1:7700`).
    pub fn new(base: &str) -> anyhow::Result<HttpSource> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Ok(HttpSource {
            client: NodeClient::new(base)?,
            runtime,
        })
    }

    fn remote(&self, path: &str, reason: impl ToString) -> SourceError {
        SourceError::Remote {
            url: format!("{}{path}", self.client.url()),
            reason: reason.to_string(),
        }
    }

    /// The genesis the node serves.
    pub fn genesis(&self) -> Result<Genesis, SourceError> {
        self.runtime
            .block_on(self.client.genesis())
            .map_err(|e| self.remote("/v1/genesis", e))
    }

    fn head_answer(&self) -> Result<guild_api::Head, SourceError> {
        self.runtime
            .block_on(self.client.head())
            .map_err(|e| self.remote("/v1/head", e))
    }
}

impl BlockSource for HttpSource {
    fn describe(&self) -> String {
        self.client.url().to_string()
    }

    fn genesis_hash(&mut self) -> Result<Option<Hash>, SourceError> {
        // The genesis itself is compared before the replay.
        Ok(None)
    }

    fn head(&mut self) -> Result<Height, SourceError> {
        Ok(self.head_answer()?.height)
    }

    fn blocks(&mut self, from: Height, count: usize) -> Result<Vec<Option<Vec<u8>>>, SourceError> {
        let this = &*self;
        let fetches = (0..count as u64).map(|i| async move {
            let height = Height(from.0 + i);
            let path = format!("/v1/blocks/{height}");
            match this.client.block(height).await {
                // Not (yet) there.
                Err(ClientError::Node { status: 404, .. }) => Ok(None),
                Err(e) => Err(this.remote(&path, e)),
                Ok(answer) => hex::decode(answer.hex.trim())
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
        let now = self.head_answer()?;
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
