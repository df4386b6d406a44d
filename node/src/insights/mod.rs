//! Customer insights, kept up to date from committed blocks.
//!
//! The node keeps one [`History`] (each customer's purchase days and
//! points, each shop's totals; `guild-insights`) for the whole chain:
//!
//! ```text
//!  start: stored blocks ──verified replay (guild-audit)──▶ History at the head
//!  then:  engine commit ──ChainEvent::Final (block, effects, state)──▶ apply
//!                                           │
//!                     watch ◀── Arc<Snapshot> (history + state, per height)
//!                       │
//!         GET /v1/insights/*, automations ── Snapshot::rows(scope), cached
//! ```
//!
//! - **At start** the follower replays the stored blocks once, with the
//!   audit's verified replay (signatures checked on every core, as
//!   `guild audit verify` does), into a fresh history; meanwhile the
//!   endpoints answer `503 insights_not_ready` with how far it is.
//! - **Then** every committed block arrives as a
//!   [`ChainEvent::Final`](crate::ChainEvent) carrying the effects the
//!   ledger reported and the state after it, and is added with
//!   [`History::apply_parts`]: nothing is applied or verified twice, and
//!   no request ever replays anything.
//! - If the follower falls behind the event stream (it lagged, or missed
//!   a block), it reads the missed blocks from the store and applies them
//!   to the state it holds (checking their signatures, as for any block
//!   applied from storage).
//! - Each block publishes a new [`Snapshot`] (the history and the ledger
//!   state at that height; both are persistent structures, so a snapshot
//!   costs O(1)). A snapshot computes a scope's scored customer rows once,
//!   on first use ([`Snapshot::rows`]), for every reader of that height:
//!   the API's three endpoints and the automations.

mod follower;

pub use follower::{FollowError, Follower, spawn};

use guild_api::insights::InsightRows;
use guild_insights::{History, Scope};
use guild_ledger::state::State;
use guild_ledger::types::Height;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::watch;

/// The insights at one height: the history to it and the ledger state
/// after it.
#[derive(Debug)]
pub struct Snapshot {
    history: History,
    state: State,
    /// Each scope's rows, computed on first use.
    rows: Mutex<HashMap<Scope, Arc<InsightRows>>>,
}

impl Snapshot {
    /// A snapshot of `history` and `state` (the state after the history's
    /// last block).
    pub fn new(history: History, state: State) -> Snapshot {
        Snapshot {
            history,
            state,
            rows: Mutex::new(HashMap::new()),
        }
    }

    /// The height of the last block in it.
    pub fn height(&self) -> Height {
        self.history.height()
    }

    /// The purchase history.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// The ledger state at that height.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// Every customer of `scope` with their history, points, RFM scores,
    /// segment and model columns, most spend first: computed once per
    /// snapshot and scope (a scope is a member shop or the group, so at
    /// most members + 1 are kept). Call it off the async threads for a
    /// large chain: the first call does the work.
    pub fn rows(&self, scope: Scope) -> Arc<InsightRows> {
        let cached = self
            .rows
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&scope)
            .cloned();
        if let Some(rows) = cached {
            return rows;
        }
        let rows = Arc::new(InsightRows::new(&self.history, &self.state, scope));
        self.rows
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(scope)
            .or_insert(rows)
            .clone()
    }
}

/// Where the insights stand.
#[derive(Clone, Debug)]
pub enum Status {
    /// Reading the stored chain at start.
    Building {
        /// Blocks read so far.
        height: Height,
        /// The height it reads to.
        target: Height,
    },
    /// Up to date to the snapshot's height.
    Ready(Arc<Snapshot>),
    /// The follower stopped on a failure (its reason; the node's log has
    /// more).
    Failed {
        /// What went wrong.
        reason: String,
    },
}

/// Why there are no insights to answer with.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NotReady {
    /// Still reading the stored chain.
    #[error(
        "the node is still reading its chain for insights (block {height} of {target}); try again in a moment"
    )]
    Building {
        /// Blocks read so far.
        height: Height,
        /// The height it reads to.
        target: Height,
    },
    /// The follower failed.
    #[error("the node's insights stopped: {reason}; the node operator should check the node's log")]
    Failed {
        /// What went wrong.
        reason: String,
    },
}

/// A cheap, cloneable handle on the node's insights.
#[derive(Clone, Debug)]
pub struct Insights {
    status: watch::Receiver<Status>,
}

impl Insights {
    /// A handle on a status channel (the follower holds the sender).
    pub fn new(status: watch::Receiver<Status>) -> Insights {
        Insights { status }
    }

    /// Where the insights stand now.
    pub fn status(&self) -> Status {
        self.status.borrow().clone()
    }

    /// The latest snapshot, if the insights are built.
    pub fn snapshot(&self) -> Result<Arc<Snapshot>, NotReady> {
        ready(&self.status.borrow())
    }

    /// A snapshot at `height` or later, waiting up to `wait` for the
    /// follower to reach it (it is a block behind the engine at most
    /// briefly); after that, the latest there is.
    pub async fn at_least(
        &self,
        height: Height,
        wait: Duration,
    ) -> Result<Arc<Snapshot>, NotReady> {
        let mut status = self.status.clone();
        let reached = |s: &Status| match s {
            Status::Ready(snapshot) => snapshot.height() >= height,
            Status::Failed { .. } => true,
            Status::Building { .. } => false,
        };
        let _ = tokio::time::timeout(wait, status.wait_for(reached)).await;
        self.snapshot()
    }
}

fn ready(status: &Status) -> Result<Arc<Snapshot>, NotReady> {
    match status {
        Status::Ready(snapshot) => Ok(snapshot.clone()),
        Status::Building { height, target } => Err(NotReady::Building {
            height: *height,
            target: *target,
        }),
        Status::Failed { reason } => Err(NotReady::Failed {
            reason: reason.clone(),
        }),
    }
}
