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

use crate::consensus::{self, Consensus, Input, Output, SignedVote, Step, VoteSigner};
use crate::handle::{ChainEvent, ChainView, Request, SubmitError, Submitted};
use crate::mempool::{self, Admission, Mempool, MempoolError};
use crate::p2p::{Command, MAX_SYNC_BLOCKS, NetEvent, Verdict};
use crate::signer::FileSigner;
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
use libp2p::PeerId;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{broadcast, mpsc, oneshot, watch};

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
    /// Test only: behave as a Byzantine member that signs a second,
    /// conflicting vote for every vote and a second block for every
    /// proposal (bypassing the signing record). Used to show that honest
    /// nodes stay safe.
    #[doc(hidden)]
    pub equivocate: bool,
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
            equivocate: false,
        }
    }
}

/// The member's signer, shared across the heights' consensus machines.
#[derive(Clone)]
pub struct SharedSigner(Option<Arc<Mutex<FileSigner>>>);

impl SharedSigner {
    /// A member's signer.
    pub fn member(signer: FileSigner) -> SharedSigner {
        SharedSigner(Some(Arc::new(Mutex::new(signer))))
    }

    /// An observer's (never signs).
    pub fn observer() -> SharedSigner {
        SharedSigner(None)
    }

    fn lock_at(&self, height: Height) -> Option<(u32, Hash)> {
        let signer = self.0.as_ref()?;
        signer.lock().ok()?.lock_at(height)
    }

    fn votes_at(&self, height: Height) -> Vec<(Vote, Signature)> {
        match &self.0 {
            Some(signer) => signer
                .lock()
                .map(|s| s.votes_at(height))
                .unwrap_or_default(),
            None => Vec::new(),
        }
    }
}

impl VoteSigner for SharedSigner {
    fn sign_vote(&mut self, vote: &Vote) -> Option<Signature> {
        let signer = self.0.as_ref()?;
        let mut signer = signer.lock().ok()?;
        signer.sign_vote(vote)
    }
}

/// A block seen at the current height, and its verdict.
struct Candidate {
    block: Block,
    /// The result of applying it, if it is valid.
    applied: Option<Applied>,
}

/// What the engine needs to run.
pub struct EngineParts {
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
    /// Requests from the API.
    pub requests: mpsc::Receiver<Request>,
    /// Events from the network.
    pub net_events: mpsc::Receiver<NetEvent>,
    /// Commands to the network.
    pub net: mpsc::Sender<Command>,
    /// Where snapshots are published.
    pub view: watch::Sender<Arc<ChainView>>,
    /// Where chain events are published.
    pub events: broadcast::Sender<ChainEvent>,
}

/// The engine's state.
pub struct Engine {
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
    buffered: Vec<(PeerId, ConsensusMessage)>,
    timers: BTreeMap<(Instant, u64), (Height, Step, u32)>,
    timer_seq: u64,
    waiters: HashMap<TxId, Vec<oneshot::Sender<Result<Submitted, SubmitError>>>>,
    sync_in_flight: Option<(PeerId, Instant)>,
    peer_heads: HashMap<PeerId, Height>,
    peers: usize,
    last_block_at: Instant,
    /// Transactions in the last block.
    last_block_txs: usize,
    /// Admitted transactions not gossiped yet, and when they are due.
    outbox: Vec<SignedTransaction>,
    outbox_due: Option<Instant>,
    net: mpsc::Sender<Command>,
    view: watch::Sender<Arc<ChainView>>,
    events: broadcast::Sender<ChainEvent>,
}

/// Most consensus messages buffered for the next height.
const MAX_BUFFERED: usize = 1_000;
/// Most waiting transactions re-published per stuck tick.
const REPUBLISH_TXS: usize = 256;
/// How often the engine ticks (re-broadcast, status, idle blocks, sync).
const TICK: Duration = Duration::from_millis(250);
/// How often the head is announced to peers.
const STATUS_EVERY: Duration = Duration::from_secs(2);
/// A sync request with no answer after this long is abandoned.
const SYNC_TIMEOUT: Duration = Duration::from_secs(30);

/// Milliseconds since the Unix epoch, from the wall clock.
pub fn now_ms() -> Timestamp {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    Timestamp(ms)
}

impl Engine {
    /// Runs the engine until both the API and the network are gone. Returns
    /// an error only if storage fails (the node must then stop: it cannot
    /// keep consensus promises it cannot record).
    pub async fn run(parts: EngineParts) -> Result<(), StoreError> {
        let EngineParts {
            config,
            chain_id,
            key,
            signer,
            store,
            state,
            head,
            certificate,
            mut requests,
            mut net_events,
            net,
            view,
            events,
        } = parts;
        let mempool = Mempool::new(config.mempool, &state, &head, now_ms());
        let mut engine = Engine {
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
            height_started: Instant::now(),
            candidates: HashMap::new(),
            own_proposal: None,
            lock_to_keep: None,
            buffered: Vec::new(),
            timers: BTreeMap::new(),
            timer_seq: 0,
            waiters: HashMap::new(),
            sync_in_flight: None,
            peer_heads: HashMap::new(),
            peers: 0,
            last_block_at: Instant::now(),
            last_block_txs: 0,
            outbox: Vec::new(),
            outbox_due: None,
            net,
            view,
            events,
        };
        engine.publish_view();
        let mut tick = tokio::time::interval(TICK);
        let mut status = tokio::time::interval(STATUS_EVERY);
        let mut requests_open = true;
        let mut net_open = true;
        while requests_open || net_open {
            let next_timer = engine.timers.keys().next().map(|(at, _)| *at);
            let wake = [next_timer, engine.outbox_due, engine.paced_start()]
                .into_iter()
                .flatten()
                .min();
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
                    Some(event) => engine.on_net(event)?,
                    None => net_open = false,
                },
                _ = sleep, if wake.is_some() => {
                    engine.on_timers()?;
                    engine.flush_outbox(false);
                    engine.maybe_start_height()?;
                }
                _ = tick.tick() => engine.on_tick()?,
                _ = status.tick() => engine.announce(),
            }
        }
        Ok(())
    }

    fn me(&self) -> Option<Address> {
        self.key.as_ref().map(Keypair::address)
    }

    fn next_height(&self) -> Height {
        Height(self.head.height.0 + 1)
    }

    fn send(&self, command: Command) {
        if let Err(error) = self.net.try_send(command) {
            tracing::debug!(%error, "network command dropped");
        }
    }

    fn publish(&self, message: Gossip) {
        self.send(Command::Publish(message));
    }

    /// Queues an admitted transaction for gossip; it leaves with the others
    /// admitted within [`EngineConfig::tx_gossip_delay`].
    fn gossip_tx(&mut self, tx: SignedTransaction) {
        if self.outbox.is_empty() {
            self.outbox_due = Some(Instant::now() + self.config.tx_gossip_delay);
        }
        self.outbox.push(tx);
        if self.outbox.len() >= MAX_GOSSIP_TXS {
            self.flush_outbox(true);
        }
    }

    /// Publishes the queued transactions if they are due (or `now`).
    fn flush_outbox(&mut self, now: bool) {
        let due = self.outbox_due.is_some_and(|at| at <= Instant::now());
        if (now || due) && !self.outbox.is_empty() {
            let txs = std::mem::take(&mut self.outbox);
            self.publish(Gossip::Txs(txs));
        }
        if self.outbox.is_empty() {
            self.outbox_due = None;
        }
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
        };
        self.view.send_replace(Arc::new(view));
    }

    fn announce(&self) {
        self.publish(Gossip::Status(Status {
            head: self.head.height,
            head_hash: self.head.hash(),
        }));
    }

    // ---- API requests -------------------------------------------------

    fn on_request(&mut self, request: Request) -> Result<(), StoreError> {
        match request {
            Request::Submit { tx, wait, reply } => self.submit(tx, wait, reply),
            Request::IsPending { id, reply } => {
                let _ = reply.send(self.mempool.contains(&id));
                Ok(())
            }
        }
    }

    fn submit(
        &mut self,
        tx: SignedTransaction,
        wait: bool,
        reply: oneshot::Sender<Result<Submitted, SubmitError>>,
    ) -> Result<(), StoreError> {
        let id = tx.tx.id(&self.chain_id);
        if let Some(location) = self.store.tx_location(&id)? {
            // Already final: the same signed transaction submitted twice is
            // applied once.
            let _ = reply.send(Ok(Submitted::Final { id, location }));
            return Ok(());
        }
        if self.mempool.is_full() && !self.mempool.contains(&id) {
            // Refuse before paying for a signature check.
            let _ = reply.send(Err(SubmitError::Busy {
                waiting: self.mempool.len(),
            }));
            return Ok(());
        }
        let verified = match self.mempool.verified(&id, &tx) {
            Some(known) => known,
            None => match tx.verify(&self.chain_id) {
                Ok(verified) => verified,
                Err(_) => {
                    let _ = reply.send(Err(SubmitError::BadSignature {
                        chain_id: self.chain_id.clone(),
                    }));
                    return Ok(());
                }
            },
        };
        match self.mempool.admit(verified.clone()) {
            Ok(admission) => {
                if admission == Admission::Added {
                    self.gossip_tx(verified.into_signed());
                }
                if wait {
                    self.waiters.entry(id).or_default().push(reply);
                } else {
                    let _ = reply.send(Ok(Submitted::Pending { id }));
                }
                self.maybe_start_height()?;
            }
            Err(MempoolError::Busy { waiting }) => {
                let _ = reply.send(Err(SubmitError::Busy { waiting }));
            }
            Err(MempoolError::Rejected(error)) => {
                let _ = reply.send(Err(SubmitError::Rejected(error)));
            }
        }
        Ok(())
    }

    // ---- network --------------------------------------------------------

    fn on_net(&mut self, event: NetEvent) -> Result<(), StoreError> {
        match event {
            NetEvent::Gossip { from, id, message } => {
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
                self.send(Command::Judged { id, from, verdict });
            }
            NetEvent::Synced { from, response } => self.on_synced(from, response)?,
            NetEvent::SyncFailed { peer } => {
                if self.sync_in_flight.is_some_and(|(p, _)| p == peer) {
                    self.sync_in_flight = None;
                    self.peer_heads.remove(&peer);
                }
            }
            NetEvent::Connected(_) => {
                self.peers += 1;
                self.announce();
                self.publish_view();
            }
            NetEvent::Disconnected(peer) => {
                self.peers = self.peers.saturating_sub(1);
                self.peer_heads.remove(&peer);
                self.publish_view();
            }
            NetEvent::Listening(_) => {}
        }
        Ok(())
    }

    fn penalize(&self, peer: PeerId, reason: impl Into<String>) {
        self.send(Command::Penalize {
            peer,
            reason: reason.into(),
        });
    }

    /// Admits gossiped transactions. A batch with a badly signed
    /// transaction is rejected (its sender is penalized), after the valid
    /// ones before it are kept.
    fn on_gossip_txs(&mut self, txs: Vec<SignedTransaction>) -> Result<Verdict, StoreError> {
        let mut verdict = Verdict::Accept;
        let mut added = false;
        for tx in txs {
            let id = tx.tx.id(&self.chain_id);
            if self.mempool.contains(&id) {
                continue;
            }
            let verified = match tx.verify(&self.chain_id) {
                Ok(verified) => verified,
                Err(_) => {
                    verdict = Verdict::Reject(format!("transaction {id} has a bad signature"));
                    break;
                }
            };
            // A gossiped transaction that does not apply (already included,
            // reordered nonces, pool full) is simply not kept: the node that
            // admitted it still has it.
            added |= self.mempool.admit(verified).is_ok();
        }
        if added {
            self.maybe_start_height()?;
        }
        Ok(verdict)
    }

    fn on_status(&mut self, from: PeerId, status: Status) {
        self.peer_heads.insert(from, status.head);
        if status.head > self.head.height {
            self.request_sync(from);
        }
    }

    fn request_sync(&mut self, peer: PeerId) {
        if let Some((_, since)) = self.sync_in_flight
            && since.elapsed() < SYNC_TIMEOUT
        {
            return;
        }
        self.sync_in_flight = Some((peer, Instant::now()));
        self.send(Command::Sync {
            peer,
            request: SyncRequest {
                from: self.next_height(),
                max: MAX_SYNC_BLOCKS,
            },
        });
        self.publish_view();
    }

    fn on_synced(&mut self, from: PeerId, response: SyncResponse) -> Result<(), StoreError> {
        if self.sync_in_flight.is_some_and(|(p, _)| p == from) {
            self.sync_in_flight = None;
        }
        let full = response.blocks.len() as u32 >= MAX_SYNC_BLOCKS;
        if response.blocks.is_empty() {
            // It has nothing after our head, whatever it (or a forged
            // announcement) said before: do not ask it again until it
            // announces more.
            self.peer_heads.insert(from, self.head.height);
        }
        for final_block in response.blocks {
            let height = final_block.block.header.height;
            if height <= self.head.height {
                continue;
            }
            if height != self.next_height() {
                break;
            }
            let FinalBlock { block, certificate } = final_block;
            if let Err(error) =
                certificate.verify(&self.chain_id, &block.header, &self.state.member_set())
            {
                self.penalize(from, format!("sync: block {height}: {error}"));
                return Ok(());
            }
            let applied = match self.check_block(block) {
                Ok(applied) => applied,
                Err(reason) => {
                    self.penalize(from, format!("sync: block {height}: {reason}"));
                    return Ok(());
                }
            };
            self.commit(applied, certificate)?;
        }
        let behind = self
            .peer_heads
            .get(&from)
            .is_some_and(|h| *h > self.head.height);
        if full || behind {
            self.request_sync(from);
        }
        self.publish_view();
        Ok(())
    }

    /// Verifies a block's signatures (reusing the mempool's checks) and
    /// applies it to the current state.
    fn check_block(&self, block: Block) -> Result<Applied, String> {
        let header = block.header.clone();
        let mut txs = Vec::with_capacity(block.txs.len());
        for (index, tx) in block.txs.into_iter().enumerate() {
            let id = tx.tx.id(&self.chain_id);
            let verified = match self.mempool.verified(&id, &tx) {
                Some(known) => known,
                None => tx
                    .verify(&self.chain_id)
                    .map_err(|_| format!("transaction {index} has a bad signature"))?,
            };
            txs.push(verified);
        }
        let block = VerifiedBlock::from_parts(header, txs);
        self.state
            .apply_block(&self.head, &block)
            .map_err(|e| e.to_string())
    }

    /// Feeds a consensus message of the height being decided to the
    /// machine (after its signature), keeps one of the next height, and
    /// says whether it is worth forwarding.
    fn on_consensus(
        &mut self,
        from: PeerId,
        message: ConsensusMessage,
    ) -> Result<Verdict, StoreError> {
        if message.height() < self.next_height() {
            return Ok(Verdict::Ignore);
        }
        // Check the signature before the message can start a height, be
        // kept for later or make us ask the sender for blocks.
        let checked = match &message {
            ConsensusMessage::Vote(vote) => vote
                .verify(&self.chain_id)
                .map_err(|_| "vote with a bad signature".to_string()),
            ConsensusMessage::Proposal(proposal) => proposal
                .verify(&self.chain_id)
                .map_err(|error| format!("proposal: {error}")),
        };
        match checked {
            Ok(()) => self.on_signed_consensus(from, message),
            Err(reason) => Ok(Verdict::Reject(reason)),
        }
    }

    /// Goes on with a consensus message whose signature was checked (also
    /// one kept for the next height, when that height starts).
    fn on_signed_consensus(
        &mut self,
        from: PeerId,
        message: ConsensusMessage,
    ) -> Result<Verdict, StoreError> {
        let height = message.height();
        let next = self.next_height();
        if height < next {
            return Ok(Verdict::Ignore);
        }
        let signer = match &message {
            ConsensusMessage::Vote(vote) => vote.voter,
            ConsensusMessage::Proposal(proposal) => proposal.proposer,
        };
        if self.state.member(&signer).is_none() {
            // Not a member now (a member of a later height's set is
            // heard once we get there, by its re-broadcast).
            return Ok(Verdict::Ignore);
        }
        if height > next {
            if height.0 == next.0 + 1 && self.buffered.len() < MAX_BUFFERED {
                self.buffered.push((from, message));
            }
            // A member has finished a height we have not: catch up.
            self.request_sync(from);
            return Ok(Verdict::Ignore);
        }
        if self.machine.is_none() {
            self.start_height()?;
        }
        let input = match message {
            ConsensusMessage::Vote(vote) => Input::Vote(vote),
            ConsensusMessage::Proposal(proposal) => self.proposal_input(proposal),
        };
        self.drive(input)?;
        Ok(Verdict::Accept)
    }

    /// Judges a proposal (signature already checked) and turns it into the
    /// machine's input.
    fn proposal_input(&mut self, signed: SignedProposal) -> Input {
        let SignedProposal {
            proposal,
            proposer,
            block,
            ..
        } = signed;
        if !self.candidates.contains_key(&proposal.block) {
            let applied = self.judge(block.clone());
            self.candidates
                .insert(proposal.block, Candidate { block, applied });
        }
        let valid = self
            .candidates
            .get(&proposal.block)
            .is_some_and(|c| c.applied.is_some());
        Input::Proposal {
            round: proposal.round,
            proposer,
            block: proposal.block,
            valid_round: proposal.valid_round,
            valid,
        }
    }

    /// Tendermint's `valid(v)`: the block is not too far in the future and
    /// applies cleanly to the current state.
    ///
    /// A re-proposed block (Tendermint line 16) names the proposer of the
    /// round that built it, not this round's, so the header's proposer need
    /// only be a member (which `apply_block` checks).
    fn judge(&self, block: Block) -> Option<Applied> {
        let height = block.header.height;
        let limit = now_ms()
            .0
            .saturating_add(self.config.max_clock_drift.as_millis() as u64);
        if block.header.time.0 > limit {
            tracing::warn!(%height, time = block.header.time.0, "proposed block is too far in the future; check the proposer's clock");
            return None;
        }
        match self.check_block(block) {
            Ok(applied) => Some(applied),
            Err(reason) => {
                tracing::warn!(%height, %reason, "invalid block proposed");
                None
            }
        }
    }

    // ---- consensus --------------------------------------------------------

    /// Starts the next height if there is a reason to: transactions wait
    /// (and [`EngineConfig::min_block_interval`] has passed, or a full
    /// block waits), or the chain has been idle for long.
    fn maybe_start_height(&mut self) -> Result<(), StoreError> {
        if self.machine.is_some() || self.sync_in_flight.is_some() {
            return Ok(());
        }
        let idle = self.last_block_at.elapsed() >= self.config.idle_block_interval;
        if self.paced_start().is_some_and(|at| at <= Instant::now()) || idle {
            self.start_height()?;
        }
        Ok(())
    }

    /// When the next height is due to start because transactions wait
    /// (see [`EngineConfig::min_block_interval`]).
    fn paced_start(&self) -> Option<Instant> {
        if self.machine.is_some() || self.sync_in_flight.is_some() || self.mempool.is_empty() {
            return None;
        }
        let full = self.mempool.len() >= self.state.params().max_block_txs as usize;
        if self.last_block_txs <= self.config.busy_block_txs || full {
            return Some(Instant::now());
        }
        Some(self.last_block_at + self.config.min_block_interval)
    }

    fn start_height(&mut self) -> Result<(), StoreError> {
        let height = self.next_height();
        let members = self.state.member_set();
        let me = self.me().filter(|me| members.contains(me));
        let mut machine = Consensus::new(
            height,
            members,
            me,
            self.signer.clone(),
            self.config.consensus,
        );
        if let Some((round, block)) = self.signer.lock_at(height) {
            machine = machine.with_lock(round, block);
            // The block we are locked on, kept across a restart, so we can
            // re-propose it.
            if let Ok(Some(locked)) = self.store.locked_block()
                && locked.header.hash() == block
                && !self.candidates.contains_key(&block)
            {
                let applied = self.check_block(locked.clone()).ok();
                self.candidates.insert(
                    block,
                    Candidate {
                        block: locked,
                        applied,
                    },
                );
            }
        }
        if let Some(me) = me {
            for (vote, signature) in self.signer.votes_at(height) {
                machine = machine.with_own_vote(SignedVote {
                    vote,
                    voter: me,
                    signature,
                });
            }
        }
        let outputs = machine.start();
        self.machine = Some(machine);
        self.height_started = Instant::now();
        self.process(outputs)?;
        let buffered = std::mem::take(&mut self.buffered);
        for (from, message) in buffered {
            if message.height() == height {
                // Its signature was checked when it arrived, and its
                // verdict given then.
                self.on_signed_consensus(from, message)?;
            } else if message.height() > height && self.buffered.len() < MAX_BUFFERED {
                self.buffered.push((from, message));
            }
        }
        Ok(())
    }

    fn drive(&mut self, input: Input) -> Result<(), StoreError> {
        let Some(machine) = self.machine.as_mut() else {
            return Ok(());
        };
        let outputs = machine.handle(input);
        self.process(outputs)
    }

    fn process(&mut self, outputs: Vec<Output>) -> Result<(), StoreError> {
        let mut queue: std::collections::VecDeque<Output> = outputs.into();
        while let Some(output) = queue.pop_front() {
            let height = self.next_height();
            match output {
                Output::BuildBlock { round } => {
                    if let Some(block) = self.build_block()
                        && let Some(machine) = self.machine.as_mut()
                    {
                        queue.extend(machine.handle(Input::BlockBuilt { round, block }));
                    }
                }
                Output::Propose {
                    round,
                    block,
                    valid_round,
                } => {
                    let (Some(key), Some(candidate)) = (&self.key, self.candidates.get(&block))
                    else {
                        continue;
                    };
                    let signed = Proposal {
                        height,
                        round,
                        valid_round,
                        block,
                    }
                    .sign(key, &self.chain_id, candidate.block.clone());
                    self.publish(Gossip::Consensus(ConsensusMessage::Proposal(
                        signed.clone(),
                    )));
                    if self.config.equivocate {
                        self.equivocate_proposal(&signed);
                    }
                    self.own_proposal = Some(signed);
                }
                Output::Broadcast(vote) => {
                    if vote.vote.kind == guild_ledger::block::VoteKind::Precommit
                        && let Some(block) = vote.vote.block
                    {
                        // Stored only if the height drags on (see on_tick).
                        self.lock_to_keep = Some(block);
                    }
                    if self.config.equivocate {
                        self.equivocate_vote(&vote);
                    }
                    self.publish(Gossip::Consensus(ConsensusMessage::Vote(vote)));
                }
                Output::ScheduleTimeout { step, round, after } => {
                    self.timer_seq += 1;
                    self.timers.insert(
                        (Instant::now() + after, self.timer_seq),
                        (height, step, round),
                    );
                }
                Output::Decided { block, certificate } => {
                    match self.candidates.remove(&block).and_then(|c| c.applied) {
                        Some(applied) => {
                            self.commit(applied, certificate)?;
                            return self.maybe_start_height();
                        }
                        None => {
                            tracing::error!(%height, %block, "decided a block this node does not hold; catching up from peers");
                            if let Some(peer) = self.peer_heads.keys().next().copied() {
                                self.request_sync(peer);
                            }
                        }
                    }
                }
                Output::Equivocation { first, second } => {
                    tracing::warn!(voter = %first.voter, first = ?first.vote, second = ?second.vote, "member signed two different votes for one round (evidence kept in the log)");
                }
            }
        }
        self.publish_view();
        Ok(())
    }

    /// Test only: a conflicting vote signed straight with the key.
    fn equivocate_vote(&self, vote: &SignedVote) {
        let Some(key) = &self.key else { return };
        let mut other = vote.vote;
        other.block = match other.block {
            Some(_) => None,
            None => Some(Hash([0xee; 32])),
        };
        let signature = other.sign(key, &self.chain_id);
        self.publish(Gossip::Consensus(ConsensusMessage::Vote(SignedVote {
            vote: other,
            voter: vote.voter,
            signature,
        })));
    }

    /// Test only: a second, different block proposed for the same round.
    fn equivocate_proposal(&self, proposal: &SignedProposal) {
        let Some(key) = &self.key else { return };
        let Ok(builder) = BlockBuilder::new(
            &self.state,
            &self.head,
            Timestamp(proposal.block.header.time.0 + 1),
            key.address(),
        ) else {
            return;
        };
        let block = builder.finish().block.into_block();
        let signed = Proposal {
            block: block.header.hash(),
            ..proposal.proposal
        }
        .sign(key, &self.chain_id, block);
        self.publish(Gossip::Consensus(ConsensusMessage::Proposal(signed)));
    }

    /// Builds this node's proposal from the mempool.
    fn build_block(&mut self) -> Option<Hash> {
        let me = self.me()?;
        let time = Timestamp(now_ms().0.max(self.head.time.0.saturating_add(1)));
        let mut builder = match BlockBuilder::new(&self.state, &self.head, time, me) {
            Ok(builder) => builder,
            Err(error) => {
                tracing::error!(%error, "cannot build a block");
                return None;
            }
        };
        for tx in self.mempool.iter() {
            if !builder.has_room_for(tx) {
                break;
            }
            let _ = builder.push(tx.clone());
        }
        let applied = builder.finish();
        let block = applied.block.clone().into_block();
        let hash = block.header.hash();
        self.candidates.insert(
            hash,
            Candidate {
                block,
                applied: Some(applied),
            },
        );
        Some(hash)
    }

    /// Makes a block final: stores it (one atomic batch, flushed), moves the
    /// head, rebuilds the mempool and tells everyone.
    fn commit(
        &mut self,
        applied: Applied,
        certificate: CommitCertificate,
    ) -> Result<(), StoreError> {
        let (commit, state) = Commit::new(&self.state, applied, certificate.clone());
        self.store.commit(&commit)?;
        let Commit {
            block: final_block,
            tx_ids: ids,
            ..
        } = commit;
        let height = final_block.block.header.height;
        tracing::info!(%height, txs = ids.len(), "block final");
        self.head = final_block.block.header.clone();
        self.state = state;
        self.certificate = Some(certificate);
        self.machine = None;
        self.timers.clear();
        self.candidates.clear();
        self.own_proposal = None;
        self.lock_to_keep = None;
        self.last_block_at = Instant::now();
        self.last_block_txs = ids.len();
        for (index, id) in ids.iter().enumerate() {
            if let Some(waiters) = self.waiters.remove(id) {
                let location = TxLocation {
                    height,
                    index: index as u32,
                };
                for waiter in waiters {
                    let _ = waiter.send(Ok(Submitted::Final { id: *id, location }));
                }
            }
        }
        let dropped = self
            .mempool
            .rebuild(&self.state, &self.head, now_ms(), &ids);
        for (id, error) in dropped {
            tracing::info!(%id, %error, "transaction dropped from the mempool");
            if let Some(waiters) = self.waiters.remove(&id) {
                for waiter in waiters {
                    let _ = waiter.send(Err(SubmitError::Dropped(error.clone())));
                }
            }
        }
        let _ = self.events.send(ChainEvent::Final {
            block: Arc::new(final_block),
            ids: Arc::new(ids),
        });
        self.announce();
        self.publish_view();
        Ok(())
    }

    fn on_timers(&mut self) -> Result<(), StoreError> {
        let now = Instant::now();
        while let Some(entry) = self.timers.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let (height, step, round) = entry.remove();
            if height == self.next_height() {
                self.drive(Input::Timeout { step, round })?;
            }
        }
        Ok(())
    }

    fn on_tick(&mut self) -> Result<(), StoreError> {
        if let Some((_, since)) = self.sync_in_flight
            && since.elapsed() >= SYNC_TIMEOUT
        {
            self.sync_in_flight = None;
        }
        self.maybe_start_height()?;
        if self.height_started.elapsed() >= self.config.rebroadcast_after
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
            self.height_started = Instant::now();
        }
        Ok(())
    }
}

/// For tests: a vote as sent on the wire.
pub fn vote_message(vote: SignedVote) -> Gossip {
    Gossip::Consensus(ConsensusMessage::Vote(vote))
}
