//! A Guild peer node.
//!
//! A node keeps the shared ledger with the other shops' nodes:
//!
//! ```text
//!   HTTP API (api) ──submit──▶ engine ◀──events── p2p (libp2p swarm)
//!        ▲                       │  ▲                 │
//!        └──── ChainView ◀───────┘  └── timeouts      └── sync requests served from store
//!                                │
//!                   consensus (pure state machine) · mempool · store (sled)
//! ```
//!
//! - [`consensus`]: Tendermint as a pure state machine: inputs in, outputs out.
//! - [`engine`]: the one task that owns the chain: it feeds the consensus
//!   machine, checks proposals against the ledger, commits final blocks to
//!   the [`store`] (the `guild-store` crate, re-exported), keeps the
//!   [`mempool`], and catches up from peers.
//! - [`p2p`]: libp2p (gossipsub, request-response sync, identify, mDNS,
//!   connection limits, block list). It knows nothing of the rules.
//! - [`api`]: HTTP/JSON for wallets and tills.
//! - [`signer`]: the durable signing record that prevents double votes.
//! - [`tokens`]: the API tokens of tills (hashes in `tokens.json`), which
//!   the API's authenticated endpoints check.
//! - [`directory`]: the shop's customer directory (names, emails,
//!   birthdays, consent) in `customers.json`, off the ledger: never
//!   gossiped, never in a block.
//! - [`insights`]: each customer's purchase history and the shops'
//!   totals, built from the stored chain at start and then kept up to
//!   date from committed blocks; snapshots for the insights endpoints and
//!   the automations.
//! - [`automation`]: the shop's automated journeys (triggers, the durable
//!   webhook outbox, rewards, staff to-dos), on a thread of their own.
//!
//! The audit (`guild-audit`) and the storage layout (`guild-store`) are
//! crates of their own: an auditor embeds verification without linking the
//! node.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod api;
pub mod automation;
pub mod consensus;
pub mod directory;
pub mod engine;
pub mod handle;
pub mod insights;
pub mod mempool;
pub mod node;
pub mod p2p;
pub mod recent;
pub mod signer;
pub mod tokens;
pub mod wire;

/// The node's storage: the `guild-store` crate.
pub use guild_store as store;
/// Which accounts a transaction concerns: `guild_store::history`.
pub use guild_store::history;

pub use engine::EngineConfig;
pub use handle::{ChainEvent, ChainView, Grant, NodeHandle, SubmitError, Submitted};
pub use libp2p::{Multiaddr, PeerId};
pub use node::{ConsoleConfig, GenesisFile, Node, NodeConfig, NodeError};
