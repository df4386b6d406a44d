//! The task that builds the history at start and then follows committed
//! blocks (see the module documentation of [`super`]).

use super::{Insights, Snapshot, Status};
use crate::handle::ChainEvent;
use crate::store::{Store, StoreError, StoreSource};
use guild_audit::{AuditError, BlockObserver, BlockSource, Discrepancy, SourceError};
use guild_insights::History;
use guild_insights::history::OutOfOrder;
use guild_ledger::block::{BadTxSignature, BlockHeader};
use guild_ledger::crypto::Address;
use guild_ledger::error::{BlockError, GenesisError};
use guild_ledger::genesis::Genesis;
use guild_ledger::hash::Hash;
use guild_ledger::state::{Applied, State};
use guild_ledger::tx::Transaction;
use guild_ledger::types::{ChainId, Height};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, oneshot, watch};
use tokio::task::JoinHandle;

/// Why the follower stopped.
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    /// The genesis does not build.
    #[error("the genesis does not build: {0}")]
    Genesis(#[from] GenesisError),
    /// The store could not be read.
    #[error("the store could not be read: {0}")]
    Store(#[from] StoreError),
    /// The replay of the stored chain failed.
    #[error("the stored chain could not be replayed: {0}")]
    Replay(#[from] AuditError),
    /// A stored block is missing.
    #[error("block {height} is not in the store")]
    Missing {
        /// Its height.
        height: Height,
    },
    /// A stored block has a bad signature.
    #[error("a stored block does not verify: {0}")]
    Signature(#[from] BadTxSignature),
    /// A stored block does not apply.
    #[error("a stored block does not apply: {0}")]
    Block(#[from] BlockError),
    /// Blocks arrived out of order.
    #[error(transparent)]
    OutOfOrder(#[from] OutOfOrder),
    /// The stop signal arrived while replaying.
    #[error("stopped")]
    Stopped,
    /// A worker task failed.
    #[error("an insights task failed: {0}")]
    Task(String),
}

/// The running follower; [`Follower::stop`] ends it (so does dropping
/// it).
pub struct Follower {
    stopping: Arc<AtomicBool>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Follower {
    /// Stops following (a replay in progress stops at its next block) and
    /// waits up to five seconds for the task to end.
    pub async fn stop(mut self) {
        self.stopping.store(true, Ordering::Relaxed);
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), &mut self.task).await;
    }
}

/// Starts the insights of the chain of `genesis` stored in `store`,
/// following the committed blocks of `events` (subscribe before any block
/// can be committed after the store's head is read). Returns the handle
/// readers use and the follower to stop.
pub fn spawn(
    genesis: Arc<Genesis>,
    store: Store,
    events: broadcast::Receiver<ChainEvent>,
) -> (Insights, Follower) {
    let target = store.head().unwrap_or(Height(0));
    let (status, readers) = watch::channel(Status::Building {
        height: Height(0),
        target,
    });
    let stopping = Arc::new(AtomicBool::new(false));
    let (stop, stopped) = oneshot::channel();
    let task = tokio::spawn(run(
        genesis,
        store,
        events,
        status,
        stopping.clone(),
        stopped,
        target,
    ));
    (
        Insights::new(readers),
        Follower {
            stopping,
            stop: Some(stop),
            task,
        },
    )
}

/// The history and the state and header of its last block.
#[derive(Clone)]
struct Chain {
    history: History,
    state: State,
    header: BlockHeader,
}

impl Chain {
    fn publish(&self, status: &watch::Sender<Status>) {
        status.send_replace(Status::Ready(Arc::new(Snapshot::new(
            self.history.clone(),
            self.state.clone(),
        ))));
    }
}

async fn run(
    genesis: Arc<Genesis>,
    store: Store,
    mut events: broadcast::Receiver<ChainEvent>,
    status: watch::Sender<Status>,
    stopping: Arc<AtomicBool>,
    mut stopped: oneshot::Receiver<()>,
    target: Height,
) {
    let chain_id = genesis.chain_id.clone();
    let built = {
        let (store, status, stopping) = (store.clone(), status.clone(), stopping.clone());
        worker(move || build(&genesis, store, target, &status, &stopping)).await
    };
    let mut chain = match built {
        Ok(chain) => chain,
        Err(error) => return fail(&status, &error),
    };
    tracing::info!(height = %chain.header.height, "insights built from the stored chain");
    chain.publish(&status);
    loop {
        let event = tokio::select! {
            event = events.recv() => event,
            _ = &mut stopped => return,
        };
        let next = match event {
            Ok(ChainEvent::Final {
                block,
                effects,
                state,
                ..
            }) => {
                let (store, chain_id) = (store.clone(), chain_id.clone());
                worker(move || {
                    let height = block.block.header.height;
                    if height <= chain.header.height {
                        return Ok(chain);
                    }
                    let mut chain = catch_up(chain, &store, &chain_id, Height(height.0 - 1))?;
                    let txs: Vec<&Transaction> = block.block.txs.iter().map(|t| &t.tx).collect();
                    chain.history.apply_parts(
                        &chain.state,
                        &block.block.header,
                        &txs,
                        &state,
                        &effects,
                    )?;
                    chain.state = state;
                    chain.header = block.block.header.clone();
                    Ok(chain)
                })
                .await
            }
            Err(RecvError::Lagged(missed)) => {
                tracing::info!(
                    missed,
                    "insights fell behind the chain; reading the missed blocks from the store"
                );
                let (store, chain_id) = (store.clone(), chain_id.clone());
                worker(move || {
                    let head = store.head()?;
                    catch_up(chain, &store, &chain_id, head)
                })
                .await
            }
            Err(RecvError::Closed) => return,
        };
        chain = match next {
            Ok(chain) => chain,
            Err(error) => return fail(&status, &error),
        };
        chain.publish(&status);
    }
}

/// Runs `work` on the blocking pool.
async fn worker(
    work: impl FnOnce() -> Result<Chain, FollowError> + Send + 'static,
) -> Result<Chain, FollowError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| FollowError::Task(e.to_string()))?
}

fn fail(status: &watch::Sender<Status>, error: &FollowError) {
    if matches!(error, FollowError::Stopped) {
        return;
    }
    tracing::error!(%error, "insights stopped");
    status.send_replace(Status::Failed {
        reason: error.to_string(),
    });
}

/// Replays the stored blocks up to `target` into a new history (the
/// audit's verified replay).
fn build(
    genesis: &Genesis,
    store: Store,
    target: Height,
    status: &watch::Sender<Status>,
    stopping: &AtomicBool,
) -> Result<Chain, FollowError> {
    let (state, header) = genesis.build()?;
    let mut observer = Builder {
        history: History::new(&state),
        last: None,
        stopping,
    };
    if target.0 > 0 {
        let mut source = FixedHead {
            inner: StoreSource::new(store),
            head: target,
        };
        let outcome = guild_audit::verify_chain(
            genesis,
            &mut source,
            &guild_audit::VerifyOptions::default(),
            &mut observer,
            &mut |progress| {
                status.send_replace(Status::Building {
                    height: progress.height,
                    target,
                });
            },
        );
        if stopping.load(Ordering::Relaxed) {
            return Err(FollowError::Stopped);
        }
        outcome?;
    }
    let (state, header) = observer.last.unwrap_or((state, header));
    Ok(Chain {
        history: observer.history,
        state,
        header,
    })
}

/// Adds each replayed block to the history, and stops the replay when
/// the node stops.
struct Builder<'a> {
    history: History,
    last: Option<(State, BlockHeader)>,
    stopping: &'a AtomicBool,
}

impl BlockObserver for Builder<'_> {
    fn block(&mut self, before: &State, applied: &Applied) -> Result<(), Discrepancy> {
        if self.stopping.load(Ordering::Relaxed) {
            return Err(Discrepancy::at(
                applied.block.header().height,
                guild_audit::Rule::ReportModel,
                "the node is stopping",
            ));
        }
        self.history.block(before, applied)?;
        self.last = Some((applied.state.clone(), applied.block.header().clone()));
        Ok(())
    }
}

/// The stored chain up to a fixed height: the store grows while the
/// replay runs, and its state is the node's own (checked at start), so
/// nothing beyond the blocks is compared.
struct FixedHead {
    inner: StoreSource,
    head: Height,
}

impl BlockSource for FixedHead {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn genesis_hash(&mut self) -> Result<Option<Hash>, SourceError> {
        self.inner.genesis_hash()
    }

    fn head(&mut self) -> Result<Height, SourceError> {
        Ok(self.head)
    }

    fn blocks(&mut self, from: Height, count: usize) -> Result<Vec<Option<Vec<u8>>>, SourceError> {
        self.inner.blocks(from, count)
    }

    fn check_final(
        &mut self,
        _: &State,
        _: &BlockHeader,
        _: &[(Height, BTreeSet<Address>)],
    ) -> Result<(), AuditError> {
        Ok(())
    }
}

/// Applies the stored blocks after `chain`'s up to `to` (blocks the
/// event stream did not bring), checking their signatures.
fn catch_up(
    mut chain: Chain,
    store: &Store,
    chain_id: &ChainId,
    to: Height,
) -> Result<Chain, FollowError> {
    for h in chain.header.height.0.saturating_add(1)..=to.0 {
        let height = Height(h);
        let block = store
            .block(height)?
            .ok_or(FollowError::Missing { height })?;
        let verified = block.block.verify_signatures(chain_id)?;
        let applied = chain.state.apply_block(&chain.header, &verified)?;
        chain.history.apply(&chain.state, &applied)?;
        chain.header = applied.block.header().clone();
        chain.state = applied.state;
    }
    Ok(chain)
}
