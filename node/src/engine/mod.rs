//! The engine: the one task that owns the chain.
//!
//! It holds the current state, the mempool and the consensus machine of the
//! height being decided, and reacts to four kinds of events: messages from
//! peers, requests from the API, consensus timeouts and a periodic tick.
//! Everything the consensus machine asks for (build a block, sign and send a
//! proposal, send a vote, schedule a timeout, commit a decision) is carried
//! out here; the rules themselves live in [`crate::consensus`] and the ledger.
//!
//! A height is started lazily: when a transaction is waiting, when another
//! member's consensus message for it arrives, or when the chain has been idle
//! for [`EngineConfig::idle_block_interval`] (so time-based rules such as
//! lot expiry and governance activation still advance). An idle network
//! therefore writes a small block every interval, not a stream of empty ones.
//! Under load the next height waits until [`EngineConfig::min_block_interval`]
//! after the last block, so blocks grow instead of multiplying.
//!
//! Transactions the node admits are gossiped in batches (one message per
//! [`EngineConfig::tx_gossip_delay`]), and every gossip message gets the
//! engine's [`Verdict`], which decides whether gossipsub forwards it and
//! whether its sender is penalized.
//!
//! ## Seams and layout
//!
//! The engine is synchronous: a driver hands it events
//! ([`Engine::on_request`], [`Engine::on_net`]), wakes it when
//! [`Engine::next_wake`] says ([`Engine::on_wake`]), ticks it every [`TICK`]
//! ([`Engine::on_tick`]) and has it announce its head every
//! [`STATUS_EVERY`] ([`Engine::announce`]). [`run`] is that driver over
//! tokio and libp2p. Everything outside comes through seams:
//!
//! - [`Network`] (network.rs): publish, judge, request sync, penalize, with
//!   opaque peer and message ids; [`Libp2pNet`] is the libp2p side;
//! - [`Clock`] (clock.rs): every time read, monotonic and wall-clock;
//! - [`SharedSigner`] (signer.rs) over a [`VoteRecord`]: the signing record
//!   (a fsynced file in a node, memory in tests).
//!
//! The work is split by job: admission.rs (submissions, gossiped
//! transactions, gossip batching), sync.rs (catch-up), driving.rs
//! (consensus messages in, machine outputs out), commit.rs (block checks
//! and commit). `node/tests/engine_sim.rs` runs several real engines over
//! a simulated network with a virtual clock.

use crate::consensus::{self, Consensus, Input, Output, SignedVote, Step, VoteSigner};
use crate::handle::{ChainEvent, ChainView, QuorumView, Request, SubmitError, Submitted, SyncView};
use crate::mempool::{self, Admission, Mempool, MempoolError};
use crate::p2p::{MAX_SYNC_BLOCKS, NetEvent, Offence, SyncFailure, Verdict};
use crate::signer::SignerError;
use crate::signer::VoteRecord;
use crate::store::{Commit, Store, StoreError, TxLocation};
use crate::wire::{
    ConsensusMessage, Gossip, MAX_GOSSIP_TXS, Proposal, SignedProposal, Status, SyncRequest,
    SyncResponse,
};
use guild_ledger::block::{Block, BlockHeader, CommitCertificate, FinalBlock, VerifiedBlock, Vote};
use guild_ledger::crypto::{Address, Keypair, Signature};
use guild_ledger::hash::Hash;
use guild_ledger::state::{Applied, BlockBuilder, State};
use guild_ledger::tx::{SignedTransaction, TxId};
use guild_ledger::types::{ChainId, Height, Timestamp};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, mpsc, oneshot, watch};

mod admission;
mod clock;
mod commit;
pub use commit::BlockRefused;
mod driving;
mod grant;
mod network;
mod sale;
mod signer;
#[cfg(test)]
mod sim;
mod sync;
#[cfg(test)]
mod tests;

/// Why the engine stopped. Both are failures to keep a promise durably,
/// so the node stops rather than go on without it.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Storage failed (a final block could not be written or read).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A vote could not be recorded durably before it was sent: a member
    /// that went on would silently stop voting (and a restart could not
    /// promise it never signed a conflicting vote).
    #[error(
        "cannot record this member's vote durably, so the node stops rather than go on without voting: {0}"
    )]
    SigningRecord(#[source] SignerError),
}

pub use clock::{Clock, SystemClock, now_ms};
pub use network::{Libp2pNet, NetInput, Network, from_libp2p};
pub use signer::SharedSigner;

/// Engine settings.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// Consensus timeouts.
    pub consensus: consensus::Config,
    /// Start a height with no transactions after this long without a block.
    pub idle_block_interval: Duration,
    /// Under load (the last block carried more than
    /// [`EngineConfig::busy_block_txs`] transactions), start the next height
    /// no sooner than this after the last block, unless a full block's worth
    /// of transactions waits: fewer, larger blocks cost each node less per
    /// transaction (votes, storage flush, mempool rebuild). At light load
    /// nothing waits.
    pub min_block_interval: Duration,
    /// See [`EngineConfig::min_block_interval`].
    pub busy_block_txs: usize,
    /// Refuse proposals whose time is further than this ahead of our clock.
    pub max_clock_drift: Duration,
    /// Mempool bounds.
    pub mempool: mempool::Limits,
    /// Re-send our own proposal and votes when a height has not been decided
    /// for this long (gossip gives late joiners nothing from before).
    pub rebroadcast_after: Duration,
    /// Longest a newly admitted transaction waits to be gossiped, so that
    /// transactions arriving together share one message.
    pub tx_gossip_delay: Duration,
}

impl Default for EngineConfig {
    fn default() -> EngineConfig {
        EngineConfig {
            consensus: consensus::Config::default(),
            idle_block_interval: Duration::from_secs(30),
            min_block_interval: Duration::from_millis(100),
            busy_block_txs: 32,
            max_clock_drift: Duration::from_secs(10),
            mempool: mempool::Limits::default(),
            rebroadcast_after: Duration::from_secs(1),
            tx_gossip_delay: Duration::from_millis(5),
        }
    }
}

/// A block seen at the current height, and its verdict.
struct Candidate {
    block: Block,
    /// The result of applying it, if it is valid.
    applied: Option<Applied>,
}

/// What the engine needs to run.
pub struct EngineParts<N> {
    /// Settings.
    pub config: EngineConfig,
    /// The chain id.
    pub chain_id: ChainId,
    /// The member key, if this node is a member.
    pub key: Option<Keypair>,
    /// The signer (with the durable signing record).
    pub signer: SharedSigner,
    /// Storage.
    pub store: Store,
    /// The state at the head.
    pub state: State,
    /// The head header.
    pub head: BlockHeader,
    /// The head's certificate.
    pub certificate: Option<CommitCertificate>,
    /// The network.
    pub net: N,
    /// Where time is read.
    pub clock: Box<dyn Clock>,
    /// Where snapshots are published.
    pub view: watch::Sender<Arc<ChainView>>,
    /// Where chain events are published.
    pub events: broadcast::Sender<ChainEvent>,
}

/// The engine's state.
pub struct Engine<N: Network> {
    config: EngineConfig,
    chain_id: ChainId,
    key: Option<Keypair>,
    signer: SharedSigner,
    store: Store,
    state: State,
    head: BlockHeader,
    certificate: Option<CommitCertificate>,
    mempool: Mempool,
    machine: Option<Consensus<SharedSigner>>,
    height_started: Instant,
    candidates: HashMap<Hash, Candidate>,
    own_proposal: Option<SignedProposal>,
    /// The block we precommitted at this height, not stored yet. The lock
    /// itself is in the signing record; the block is kept in the store
    /// only so it can be re-proposed after a restart, and only once the
    /// height has lasted a second: most heights end sooner, and writing
    /// each block twice would cost every node a block's worth of storage
    /// work per height. A crash before then costs at most a round.
    lock_to_keep: Option<Hash>,
    buffered: Vec<(N::Peer, ConsensusMessage)>,
    timers: BTreeMap<(Instant, u64), (Height, Step, u32)>,
    timer_seq: u64,
    waiters: HashMap<TxId, Vec<oneshot::Sender<Result<Submitted, SubmitError>>>>,
    /// Sales this node signed for its tills, not final yet.
    sales: HashMap<TxId, sale::SaleInFlight>,
    sync_in_flight: Option<(N::Peer, Instant)>,
    /// Blocks asked for per sync request: halved when an answer is too
    /// large for us, grown back after answers that arrive.
    sync_batch: u32,
    /// Sync requests in a row that brought nothing, and the last reason.
    sync_failures: u32,
    sync_problem: Option<String>,
    /// No new sync request before this (backs off after failures).
    sync_retry_at: Instant,
    peer_heads: BTreeMap<N::Peer, Height>,
    peers: usize,
    /// The peers connected now (for the reachable members).
    connected: BTreeSet<N::Peer>,
    last_block_at: Instant,
    /// Transactions in the last block.
    last_block_txs: usize,
    /// Admitted transactions not gossiped yet, and when they are due.
    outbox: Vec<SignedTransaction>,
    outbox_due: Option<Instant>,
    /// Equivocations seen (two different votes of one member for one
    /// round and kind).
    equivocations: u64,
    net: N,
    clock: Box<dyn Clock>,
    view: watch::Sender<Arc<ChainView>>,
    events: broadcast::Sender<ChainEvent>,
    /// The states after the last few final blocks.
    recent: crate::recent::RecentStates,
}

/// Most consensus messages buffered for the next height.
const MAX_BUFFERED: usize = 1_000;
/// Most waiting transactions re-published per stuck tick.
const REPUBLISH_TXS: usize = 256;
/// How often the engine ticks (re-broadcast, status, idle blocks, sync).
pub const TICK: Duration = Duration::from_millis(250);
/// How often the head is announced to peers.
pub const STATUS_EVERY: Duration = Duration::from_secs(2);
/// A sync request with no answer after this long is abandoned.
const SYNC_TIMEOUT: Duration = Duration::from_secs(30);
/// The first wait before asking again after a sync brought nothing; it
/// doubles with each failure in a row, up to [`SYNC_RETRY_MAX`].
const SYNC_RETRY_MIN: Duration = Duration::from_millis(100);
/// The longest wait between sync attempts.
const SYNC_RETRY_MAX: Duration = Duration::from_secs(10);

impl<N: Network> Engine<N> {
    /// An engine over `parts.net`, at the stored head.
    pub fn new(parts: EngineParts<N>) -> Engine<N> {
        let EngineParts {
            config,
            chain_id,
            key,
            signer,
            store,
            state,
            head,
            certificate,
            net,
            clock,
            view,
            events,
        } = parts;
        let now = clock.now();
        let mempool = Mempool::new(config.mempool, &state, &head, clock.wall_ms());
        let recent = crate::recent::RecentStates::new(state.clone());
        let engine = Engine {
            config,
            chain_id,
            key,
            signer,
            store,
            state,
            head,
            certificate,
            mempool,
            machine: None,
            height_started: now,
            candidates: HashMap::new(),
            own_proposal: None,
            lock_to_keep: None,
            buffered: Vec::new(),
            timers: BTreeMap::new(),
            timer_seq: 0,
            waiters: HashMap::new(),
            sales: HashMap::new(),
            sync_in_flight: None,
            sync_batch: MAX_SYNC_BLOCKS,
            sync_failures: 0,
            sync_problem: None,
            sync_retry_at: now,
            peer_heads: BTreeMap::new(),
            peers: 0,
            connected: BTreeSet::new(),
            last_block_at: now,
            last_block_txs: 0,
            outbox: Vec::new(),
            outbox_due: None,
            equivocations: 0,
            net,
            clock,
            view,
            events,
            recent,
        };
        engine.publish_view();
        engine
    }

    /// The next moment [`Engine::on_wake`] has something to do (a consensus
    /// timeout, a gossip batch due, a paced height start), if any. Besides
    /// that, a driver calls [`Engine::on_tick`] every [`TICK`] and
    /// [`Engine::announce`] every [`STATUS_EVERY`].
    pub fn next_wake(&self) -> Option<Instant> {
        let next_timer = self.timers.keys().next().map(|(at, _)| *at);
        [next_timer, self.outbox_due, self.paced_start()]
            .into_iter()
            .flatten()
            .min()
    }

    /// Does what is due by now: fired consensus timeouts, the gossip batch,
    /// a paced height start.
    pub fn on_wake(&mut self) -> Result<(), EngineError> {
        self.on_timers()?;
        self.flush_outbox(false);
        self.maybe_start_height()
    }

    /// The head header.
    pub fn head(&self) -> &BlockHeader {
        &self.head
    }

    /// The state at the head.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// Transactions waiting in the mempool.
    pub fn mempool_len(&self) -> usize {
        self.mempool.len()
    }

    /// Equivocations (two different votes of one member for one round and
    /// kind) this engine has seen.
    pub fn equivocations_seen(&self) -> u64 {
        self.equivocations
    }

    /// Which members this node reaches (itself, and the members' nodes it
    /// is connected to), against the quorum of the next height's members
    /// (as shown in `GET /v1/head`; see [`QuorumView`]).
    pub fn quorum_view(&self) -> QuorumView {
        let me = self.me();
        let members = self.state.member_set();
        let reachable = members
            .iter()
            .filter(|member| {
                Some(**member) == me
                    || self
                        .net
                        .member_peer(member)
                        .is_some_and(|peer| self.connected.contains(&peer))
            })
            .copied()
            .collect();
        QuorumView {
            members: members.len(),
            needed: guild_ledger::block::quorum(members.len()),
            reachable,
        }
    }

    /// How catching up goes (as shown in `GET /v1/head`).
    pub fn sync_view(&self) -> SyncView {
        SyncView {
            best_peer_head: self.best_peer_head(),
            problem: self.sync_problem.clone(),
        }
    }

    fn me(&self) -> Option<Address> {
        self.key.as_ref().map(Keypair::address)
    }

    fn next_height(&self) -> Height {
        Height(self.head.height.0 + 1)
    }

    fn publish(&self, message: Gossip) {
        self.net.publish(message);
    }

    fn publish_view(&self) {
        let view = ChainView {
            state: self.state.clone(),
            head: self.head.clone(),
            certificate: self.certificate.clone(),
            mempool: self.mempool.len(),
            peers: self.peers,
            member: self.me().filter(|me| self.state.member(me).is_some()),
            round: self.machine.as_ref().map(|m| m.round()).unwrap_or(0),
            syncing: self.sync_in_flight.is_some(),
            sync: SyncView {
                best_peer_head: self.best_peer_head(),
                problem: self.sync_problem.clone(),
            },
            quorum: self.quorum_view(),
            recent: self.recent.clone(),
        };
        self.view.send_replace(Arc::new(view));
    }

    /// Announces the head to peers (every [`STATUS_EVERY`]).
    pub fn announce(&self) {
        self.publish(Gossip::Status(Status {
            head: self.head.height,
            head_hash: self.head.hash(),
        }));
    }

    /// Handles an event from the network.
    pub fn on_net(&mut self, event: NetInput<N::Peer, N::MessageId>) -> Result<(), EngineError> {
        match event {
            NetInput::Gossip { from, id, message } => {
                let verdict = match message {
                    Gossip::Txs(txs) => self.on_gossip_txs(txs)?,
                    Gossip::Status(status) => {
                        // Unsigned: it speaks only for the peer that sent
                        // it, so it is not forwarded (each node announces
                        // to its own peers).
                        self.on_status(from, status);
                        Verdict::Ignore
                    }
                    Gossip::Consensus(message) => self.on_consensus(from, message)?,
                };
                self.net.judged(id, from, verdict);
            }
            NetInput::Synced { from, response } => self.on_synced(from, response)?,
            NetInput::SyncFailed { peer, failure } => self.on_sync_failed(peer, failure),
            NetInput::Connected(peer) => {
                self.peers += 1;
                self.connected.insert(peer);
                self.announce();
                // Ask the new peer for its head at once: on a quiet network
                // (or one without a quorum) no gossip would tell us.
                if self.sync_in_flight.is_none_or(|(p, _)| p != peer) {
                    self.net.request_sync(
                        peer,
                        SyncRequest {
                            from: self.next_height(),
                            max: 0,
                        },
                    );
                }
                self.publish_view();
            }
            NetInput::Disconnected(peer) => {
                self.peers = self.peers.saturating_sub(1);
                self.connected.remove(&peer);
                self.peer_heads.remove(&peer);
                self.publish_view();
            }
        }
        Ok(())
    }

    /// The periodic tick: sync timeouts and retries, idle blocks,
    /// re-broadcast of a height that drags on.
    pub fn on_tick(&mut self) -> Result<(), EngineError> {
        if let Some((_, since)) = self.sync_in_flight
            && self.clock.now().saturating_duration_since(since) >= SYNC_TIMEOUT
        {
            self.sync_in_flight = None;
        }
        self.sync_from_best_peer();
        self.maybe_start_height()?;
        if self
            .clock
            .now()
            .saturating_duration_since(self.height_started)
            >= self.config.rebroadcast_after
            && let Some(machine) = &self.machine
            && !machine.is_decided()
        {
            if let Some(block) = self.lock_to_keep.take()
                && let Some(candidate) = self.candidates.get(&block)
                && let Err(error) = self.store.keep_locked_block(&candidate.block)
            {
                tracing::warn!(%error, "cannot keep the locked block");
            }
            // Gossip gives late joiners nothing from before: re-send what we
            // said at this height.
            if let Some(proposal) = &self.own_proposal
                && machine.own_proposal().is_some()
            {
                self.publish(Gossip::Consensus(ConsensusMessage::Proposal(
                    proposal.clone(),
                )));
            }
            for vote in machine
                .own_votes()
                .into_iter()
                .chain(machine.proof_of_lock())
            {
                self.publish(Gossip::Consensus(ConsensusMessage::Vote(vote)));
            }
            // A peer that missed one of an author's transactions refuses
            // the later ones (nonce gap); re-offer what waits here.
            let waiting: Vec<SignedTransaction> = self
                .mempool
                .iter()
                .take(REPUBLISH_TXS)
                .map(|tx| tx.signed().clone())
                .collect();
            for batch in waiting.chunks(MAX_GOSSIP_TXS) {
                self.publish(Gossip::Txs(batch.to_vec()));
            }
            self.height_started = self.clock.now();
        }
        Ok(())
    }
}

/// For tests: a vote as sent on the wire.
pub fn vote_message(vote: SignedVote) -> Gossip {
    Gossip::Consensus(ConsensusMessage::Vote(vote))
}

/// Runs an engine over libp2p until both the API and the network are gone:
/// a thin driver of [`Engine`]'s synchronous handlers on tokio's clock.
/// Returns an error only if storage fails (the node must then stop: it
/// cannot keep consensus promises it cannot record).
pub async fn run(
    mut engine: Engine<Libp2pNet>,
    mut requests: mpsc::Receiver<Request>,
    mut net_events: mpsc::Receiver<NetEvent>,
) -> Result<(), EngineError> {
    let mut tick = tokio::time::interval(TICK);
    let mut status = tokio::time::interval(STATUS_EVERY);
    let mut requests_open = true;
    let mut net_open = true;
    while requests_open || net_open {
        let wake = engine.next_wake();
        let sleep = tokio::time::sleep_until(
            wake.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600))
                .into(),
        );
        tokio::select! {
            request = requests.recv(), if requests_open => match request {
                Some(request) => engine.on_request(request)?,
                None => requests_open = false,
            },
            event = net_events.recv(), if net_open => match event {
                Some(event) => {
                    if let Some(input) = from_libp2p(event) {
                        engine.on_net(input)?;
                    }
                }
                None => net_open = false,
            },
            _ = sleep, if wake.is_some() => engine.on_wake()?,
            _ = tick.tick() => engine.on_tick()?,
            _ = status.tick() => engine.announce(),
        }
    }
    Ok(())
}
