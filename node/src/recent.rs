//! The states after the last few final blocks, kept for record proofs at a
//! recent height (`GET /v1/proofs`).
//!
//! The ledger's state is persistent (structure-sharing maps and Merkle
//! tree), so the state after each of the last [`RECENT_STATES`] blocks
//! costs only the records those blocks changed, not a copy of the state
//! each. The engine keeps a [`RecentStates`] and publishes it in every
//! [`ChainView`](crate::ChainView): pushing a block makes a new value (the
//! ring is behind an `Arc`, so snapshots stay cheap and immutable), and the
//! oldest state is dropped once more than [`RECENT_STATES`] are held.
//! After a restart only the head state is known; older heights fill in as
//! blocks become final.

use guild_ledger::state::State;
use guild_ledger::types::Height;
use std::collections::VecDeque;
use std::sync::Arc;

/// How many states (the head's included) a node keeps for proofs.
pub const RECENT_STATES: usize = 128;

/// The states after consecutive recent blocks, oldest first.
#[derive(Clone, Debug, Default)]
pub struct RecentStates {
    states: Arc<VecDeque<State>>,
}

impl RecentStates {
    /// Just the state at the head.
    pub fn new(head: State) -> RecentStates {
        RecentStates {
            states: Arc::new(VecDeque::from([head])),
        }
    }

    /// These states and `state` (the state after the next block); the
    /// oldest is dropped beyond [`RECENT_STATES`]. A state that does not
    /// follow the newest one held starts the ring afresh.
    pub fn with(&self, state: State) -> RecentStates {
        let follows = self
            .newest()
            .is_some_and(|s| s.chain().height.0.checked_add(1) == Some(state.chain().height.0));
        let mut states = if follows {
            (*self.states).clone()
        } else {
            VecDeque::new()
        };
        states.push_back(state);
        while states.len() > RECENT_STATES {
            states.pop_front();
        }
        RecentStates {
            states: Arc::new(states),
        }
    }

    /// The state after block `height`, if it is kept.
    pub fn at(&self, height: Height) -> Option<&State> {
        let oldest = self.oldest()?.chain().height.0;
        let offset = usize::try_from(height.0.checked_sub(oldest)?).ok()?;
        self.states.get(offset)
    }

    /// The oldest height kept.
    pub fn oldest_height(&self) -> Option<Height> {
        self.oldest().map(|s| s.chain().height)
    }

    /// The newest height kept.
    pub fn newest_height(&self) -> Option<Height> {
        self.newest().map(|s| s.chain().height)
    }

    fn oldest(&self) -> Option<&State> {
        self.states.front()
    }

    fn newest(&self) -> Option<&State> {
        self.states.back()
    }
}
