//! `guild audit verify --node URL` over HTTP, shared by the command line
//! and the console's "Verify" button: the audit's block source for a node's
//! API ([`HttpSource`]: `GET /v1/genesis`, `/v1/head`, `/v1/blocks/{height}`,
//! fetched several at a time) and [`verify_node`], the whole replay of the
//! chain a node serves.
//!
//! The audit (`guild_audit::verify_chain`) is synchronous and checks blocks
//! on all cores, so the source blocks on HTTP answers: it runs a small
//! runtime of its own, and must be used from a thread that is not running
//! async tasks (the command's main thread, or a thread the console starts
//! for the job).

use crate::client::{Error as ClientError, NodeClient};
use futures::StreamExt;
use guild_audit::{
    AuditError, BlockObserver, BlockSource, Discrepancy, Progress, Rule, SourceError, Summary,
    VerifyOptions, verify_chain,
};
use guild_ledger::block::BlockHeader;
use guild_ledger::crypto::Address;
use guild_ledger::genesis::Genesis;
use guild_ledger::hash::Hash;
use guild_ledger::state::State;
use guild_ledger::types::Height;
use std::collections::BTreeSet;

/// Requests in flight at once.
const CONCURRENCY: usize = 16;

/// Why a verification over HTTP could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The node's URL is not one.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The source's own runtime could not be made (out of threads or file
    /// descriptors).
    #[error("cannot start the HTTP reader of the audit: {0}")]
    Runtime(#[from] std::io::Error),
}

/// A node's API, read by the audit through the shared client.
pub struct HttpSource {
    client: NodeClient,
    runtime: tokio::runtime::Runtime,
}

impl HttpSource {
    /// A source reading the node at `base` (e.g. `http://127.0.0.1:7700`).
    pub fn new(base: &str) -> Result<HttpSource, StartError> {
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

    fn head_answer(&self) -> Result<crate::Head, SourceError> {
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

/// Replays the whole chain the node at `base` serves, from the genesis it
/// serves, checking every block, certificate and signature and the state
/// root at the head (what `guild audit verify --node URL` does without a
/// genesis file). `progress` is called as the replay goes.
pub fn verify_node(base: &str, progress: &mut dyn FnMut(&Progress)) -> Result<Summary, AuditError> {
    let mut source = HttpSource::new(base).map_err(|e| SourceError::Remote {
        url: base.to_string(),
        reason: e.to_string(),
    })?;
    let genesis = source.genesis()?;
    let observer: &mut dyn BlockObserver = &mut ();
    verify_chain(
        &genesis,
        &mut source,
        &VerifyOptions::default(),
        observer,
        progress,
    )
}
