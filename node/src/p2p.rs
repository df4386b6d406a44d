//! The libp2p side of a node: one [`NetworkBehaviour`] composed of existing
//! behaviours, and one event loop that owns the [`Swarm`].
//!
//! - **gossipsub** carries [`Gossip`]: consensus messages, batches of
//!   transactions and head announcements, on one topic per chain. A message
//!   is decoded strictly here and judged by the engine ([`Verdict`]) before
//!   gossipsub forwards it; a peer that sends malformed or badly signed
//!   messages collects strikes and is blocked for a while
//!   (`allow_block_list`). Gossip is anonymous (no
//!   libp2p signature, see [`Envelope`]): what it carries is signed by the
//!   ledger's own keys, so each node checks each signature once.
//! - **request-response** (`/guild/sync/1`) serves final blocks to peers
//!   catching up.
//! - **identify**, **ping**, **mDNS** (optional) and **connection limits**.
//! - the configured peers (genesis `peers`, `--peer`) are dialled at start
//!   and re-dialled with backoff while not connected ([`redial`]): nodes on
//!   different hosts need no mDNS.
//!
//! The loop knows nothing about consensus or the ledger's rules: it turns
//! swarm events into [`NetEvent`]s for the engine and carries out the
//! engine's [`Command`]s. Chain data is read from the [`Store`] only to
//! answer sync requests.

use crate::store::Store;
use crate::wire::{self, Envelope, Gossip, SyncRequest, SyncResponse};
use futures::{AsyncReadExt, AsyncWriteExt, StreamExt};
use guild_ledger::types::{ChainId, Height};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent, behaviour::toggle::Toggle};
use libp2p::{
    Multiaddr, PeerId, StreamProtocol, Swarm, allow_block_list, connection_limits, gossipsub,
    identify, identity, mdns, noise, ping, request_response, tcp, yamux,
};
use std::collections::{HashMap, HashSet};
use std::io;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

pub mod redial;

pub use crate::wire::{MAX_GOSSIP_BYTES, MAX_SYNC_BLOCKS, MAX_SYNC_REQUEST, MAX_SYNC_RESPONSE};
/// The request-response protocol that serves final blocks (v2: answers
/// carry the server's head, and a request may ask for that alone).
pub const SYNC_PROTOCOL: &str = "/guild/sync/2";
/// Strikes (bad messages) before a peer is blocked.
const STRIKES_TO_BLOCK: u32 = 5;
/// How long a misbehaving peer stays blocked.
const BLOCK_FOR: Duration = Duration::from_secs(600);
/// How often the configured peers due a dial are looked at (each backs
/// off on its own, [`redial`]).
const REDIAL_EVERY: Duration = Duration::from_millis(500);

/// Network settings of one node.
pub struct NetConfig {
    /// The node's libp2p identity.
    pub keypair: identity::Keypair,
    /// Addresses to listen on.
    pub listen: Vec<Multiaddr>,
    /// Peers to dial and keep dialling.
    pub peers: Vec<Multiaddr>,
    /// Discover peers on the LAN with mDNS.
    pub mdns: bool,
    /// The chain (its id names the gossip topic).
    pub chain_id: ChainId,
    /// If set, only these peers may connect (members and named observers).
    pub allowed: Option<HashSet<PeerId>>,
    /// Most established connections.
    pub max_connections: u32,
}

/// What the network tells the engine.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // gossip is the common case; boxing it would only add an allocation
pub enum NetEvent {
    /// A gossip message, decoded; `from` forwarded it. Gossipsub holds it
    /// until the engine answers with [`Command::Judged`].
    Gossip {
        /// The forwarding peer.
        from: PeerId,
        /// Gossipsub's name for the message.
        id: gossipsub::MessageId,
        /// The message.
        message: Gossip,
    },
    /// A peer answered a sync request.
    Synced {
        /// The peer.
        from: PeerId,
        /// Its answer.
        response: SyncResponse,
    },
    /// A sync request failed.
    SyncFailed {
        /// The peer asked.
        peer: PeerId,
        /// Why.
        failure: SyncFailure,
    },
    /// A peer connected (it may be behind or ahead of us).
    Connected(PeerId),
    /// A peer's last connection closed.
    Disconnected(PeerId),
    /// The node is listening on this address.
    Listening(Multiaddr),
}

/// Why a sync request got no usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyncFailure {
    /// The answer was larger than this node accepts: ask for fewer blocks.
    #[error("the answer was larger than {limit} bytes")]
    TooLarge {
        /// The limit it passed.
        limit: usize,
    },
    /// No answer in time.
    #[error("no answer in time")]
    Timeout,
    /// The peer could not be reached, or closed the connection.
    #[error("the peer could not be reached: {reason}")]
    Unreachable {
        /// What the transport said.
        reason: String,
    },
    /// The answer did not decode.
    #[error("the answer was malformed: {reason}")]
    Malformed {
        /// What the decoder said.
        reason: String,
    },
    /// The peer does not speak the sync protocol.
    #[error("the peer does not serve blocks ({SYNC_PROTOCOL})")]
    Unsupported,
}

impl SyncFailure {
    fn of(error: &request_response::OutboundFailure) -> SyncFailure {
        use request_response::OutboundFailure as F;
        match error {
            F::Timeout => SyncFailure::Timeout,
            F::UnsupportedProtocols => SyncFailure::Unsupported,
            F::Io(io) => match io.get_ref().and_then(|e| e.downcast_ref::<TooLarge>()) {
                Some(TooLarge { limit }) => SyncFailure::TooLarge { limit: *limit },
                None if io.kind() == io::ErrorKind::InvalidData => SyncFailure::Malformed {
                    reason: io.to_string(),
                },
                None => SyncFailure::Unreachable {
                    reason: io.to_string(),
                },
            },
            other => SyncFailure::Unreachable {
                reason: other.to_string(),
            },
        }
    }
}

/// The engine's judgement of a gossip message: whether gossipsub forwards
/// it, and whether the peer that sent it is penalized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Valid and current: forward it.
    Accept,
    /// Harmless but not worth forwarding (stale, not from a member).
    Ignore,
    /// Invalid (bad signature, wrong chain…): drop it and penalize the
    /// sender. Honest peers forward only what they accepted, so the sender
    /// is the one to blame.
    Reject(Offence),
}

/// What a peer sent that was wrong: why it gets a strike.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Offence {
    /// A gossiped transaction's signature does not verify.
    #[error("transaction {id} has a bad signature")]
    TxSignature {
        /// The transaction.
        id: guild_ledger::tx::TxId,
    },
    /// A vote's signature does not verify.
    #[error("vote with a bad signature")]
    VoteSignature,
    /// A proposal's signature, or its block, does not check.
    #[error("proposal: {0}")]
    Proposal(wire::WireError),
    /// A block of a sync answer does not check.
    #[error("sync: block {height}: {fault}")]
    SyncedBlock {
        /// Its height.
        height: Height,
        /// What is wrong with it.
        fault: SyncedBlockFault,
    },
}

/// What is wrong with a block a peer sent in a sync answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyncedBlockFault {
    /// Its certificate does not verify against our member set.
    #[error(transparent)]
    Certificate(#[from] guild_ledger::block::CertificateError),
    /// The block itself is refused.
    #[error(transparent)]
    Refused(#[from] crate::engine::BlockRefused),
}

/// What the engine asks the network to do.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // publishing is the common case
pub enum Command {
    /// Publish a gossip message.
    Publish(Gossip),
    /// The engine's verdict on a gossip message it was given.
    Judged {
        /// Gossipsub's name for the message.
        id: gossipsub::MessageId,
        /// The peer that sent it.
        from: PeerId,
        /// The verdict.
        verdict: Verdict,
    },
    /// Ask `peer` for final blocks.
    Sync {
        /// The peer.
        peer: PeerId,
        /// The request.
        request: SyncRequest,
    },
    /// The peer sent something invalid (bad signature, wrong chain…).
    Penalize {
        /// The peer.
        peer: PeerId,
        /// What it sent.
        offence: Offence,
    },
    /// Report the peers currently connected.
    Peers(tokio::sync::oneshot::Sender<Vec<PeerId>>),
}

/// The composed behaviour.
#[derive(NetworkBehaviour)]
pub(crate) struct Behaviour {
    limits: connection_limits::Behaviour,
    blocked: allow_block_list::Behaviour<allow_block_list::BlockedPeers>,
    allowed: Toggle<allow_block_list::Behaviour<allow_block_list::AllowedPeers>>,
    gossipsub: gossipsub::Behaviour,
    sync: request_response::Behaviour<SyncCodec>,
    identify: identify::Behaviour,
    ping: ping::Behaviour,
    mdns: Toggle<mdns::tokio::Behaviour>,
}

/// Errors starting the network.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// The swarm could not be built.
    #[error("cannot start networking: {0}")]
    Setup(String),
    /// A listen address cannot be used.
    #[error("cannot listen on {address}: {reason}")]
    Listen {
        /// The address.
        address: Multiaddr,
        /// Why.
        reason: String,
    },
}

/// The gossip topic of a chain (v2: anonymous [`Envelope`]s).
pub fn topic(chain_id: &ChainId) -> gossipsub::IdentTopic {
    gossipsub::IdentTopic::new(format!("guild/{}/v2", chain_id.as_str()))
}

/// Gossipsub's name for a message: the hash of its bytes (anonymous
/// messages have no author and sequence number to name them by).
fn message_id(message: &gossipsub::Message) -> gossipsub::MessageId {
    gossipsub::MessageId::new(guild_ledger::hash::sha256(&[&message.data]).as_bytes())
}

/// A starting publication number no earlier run of this node used (so a
/// restarted node's first messages are not taken for ones seen before).
fn first_publication() -> u64 {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        bytes = nanos.to_le_bytes();
    }
    u64::from_le_bytes(bytes)
}

/// Builds the swarm and starts listening.
pub(crate) fn build(config: &NetConfig) -> Result<Swarm<Behaviour>, NetError> {
    let setup = |e: &dyn std::fmt::Display| NetError::Setup(e.to_string());
    let gossip_config = gossipsub::ConfigBuilder::default()
        .max_transmit_size(MAX_GOSSIP_BYTES)
        .validate_messages()
        .validation_mode(gossipsub::ValidationMode::Anonymous)
        .message_id_fn(message_id)
        .heartbeat_interval(Duration::from_millis(500))
        // Publish our own messages to every subscribed peer, not only the
        // mesh: a shop network is small, and consensus latency matters more
        // than the bandwidth saved.
        .flood_publish(true)
        .build()
        .map_err(|e| setup(&e))?;
    let mdns_enabled = config.mdns;
    let allowed = config.allowed.clone();
    let max_connections = config.max_connections;
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(config.keypair.clone())
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| setup(&e))?
        .with_behaviour(|key| {
            let peer_id = key.public().to_peer_id();
            let gossipsub =
                gossipsub::Behaviour::new(gossipsub::MessageAuthenticity::Anonymous, gossip_config)?;
            let mdns = if mdns_enabled {
                match mdns::tokio::Behaviour::new(mdns::Config::default(), peer_id) {
                    Ok(m) => Some(m),
                    Err(error) => {
                        tracing::warn!(%error, "mDNS unavailable; using --peer and genesis peers only");
                        None
                    }
                }
            } else {
                None
            };
            let allowed = allowed.map(|peers| {
                let mut list = allow_block_list::Behaviour::<allow_block_list::AllowedPeers>::default();
                for peer in peers {
                    list.allow_peer(peer);
                }
                list
            });
            Ok(Behaviour {
                limits: connection_limits::Behaviour::new(
                    connection_limits::ConnectionLimits::default()
                        .with_max_established(Some(max_connections))
                        .with_max_established_per_peer(Some(2))
                        .with_max_pending_incoming(Some(32)),
                ),
                blocked: allow_block_list::Behaviour::default(),
                allowed: Toggle::from(allowed),
                gossipsub,
                sync: request_response::Behaviour::with_codec(
                    SyncCodec,
                    [(
                        StreamProtocol::new(SYNC_PROTOCOL),
                        request_response::ProtocolSupport::Full,
                    )],
                    request_response::Config::default()
                        .with_request_timeout(Duration::from_secs(30)),
                ),
                identify: identify::Behaviour::new(identify::Config::new(
                    "/guild/1.0.0".into(),
                    key.public(),
                )),
                ping: ping::Behaviour::default(),
                mdns: Toggle::from(mdns),
            })
        })
        .map_err(|e| setup(&e))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(300)))
        .build();
    swarm
        .behaviour_mut()
        .gossipsub
        .subscribe(&topic(&config.chain_id))
        .map_err(|e| setup(&e))?;
    for address in &config.listen {
        swarm
            .listen_on(address.clone())
            .map_err(|e| NetError::Listen {
                address: address.clone(),
                reason: e.to_string(),
            })?;
    }
    Ok(swarm)
}

/// The network event loop: runs until `commands` closes.
pub(crate) async fn run(
    mut swarm: Swarm<Behaviour>,
    config: NetConfig,
    store: Store,
    mut commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<NetEvent>,
) {
    let topic = topic(&config.chain_id);
    let mut publication = first_publication();
    let mut strikes: HashMap<PeerId, u32> = HashMap::new();
    let mut blocked_until: Vec<(Instant, PeerId)> = Vec::new();
    let mut redial = tokio::time::interval(REDIAL_EVERY);
    let mut dialer = redial::Redial::new(&config.peers, Instant::now());
    loop {
        tokio::select! {
            command = commands.recv() => {
                let Some(command) = command else { break };
                match command {
                    Command::Publish(message) => {
                        publication = publication.wrapping_add(1);
                        let bytes = wire::encode(&Envelope { publication, message });
                        if let Err(error) = swarm.behaviour_mut().gossipsub.publish(topic.clone(), bytes) {
                            tracing::debug!(%error, "gossip not published");
                        }
                    }
                    Command::Judged { id, from, verdict } => {
                        let acceptance = match verdict {
                            Verdict::Accept => gossipsub::MessageAcceptance::Accept,
                            Verdict::Ignore => gossipsub::MessageAcceptance::Ignore,
                            Verdict::Reject(offence) => {
                                strike(&mut swarm, &mut strikes, &mut blocked_until, from, &offence.to_string());
                                gossipsub::MessageAcceptance::Reject
                            }
                        };
                        let _ = swarm
                            .behaviour_mut()
                            .gossipsub
                            .report_message_validation_result(&id, &from, acceptance);
                    }
                    Command::Sync { peer, request } => {
                        swarm.behaviour_mut().sync.send_request(&peer, request);
                    }
                    Command::Penalize { peer, offence } => {
                        strike(&mut swarm, &mut strikes, &mut blocked_until, peer, &offence.to_string());
                    }
                    Command::Peers(reply) => {
                        let _ = reply.send(swarm.connected_peers().copied().collect());
                    }
                }
            }
            event = swarm.select_next_some() => {
                track_dials(&mut dialer, &event);
                handle_event(&mut swarm, event, &store, &events, &mut strikes, &mut blocked_until).await;
            }
            _ = redial.tick() => {
                let now = Instant::now();
                blocked_until.retain(|(until, peer)| {
                    if *until <= now {
                        swarm.behaviour_mut().blocked.unblock_peer(*peer);
                        false
                    } else {
                        true
                    }
                });
                for (index, address) in dialer.due(now, |peer| swarm.is_connected(peer)) {
                    let options = libp2p::swarm::dial_opts::DialOpts::from(address.clone());
                    let connection = options.connection_id();
                    match swarm.dial(options) {
                        Ok(()) => dialer.dialling(index, connection),
                        Err(error) => {
                            tracing::debug!(%address, %error, "dial failed");
                            dialer.not_started(index, now);
                        }
                    }
                }
            }
        }
    }
}

/// Tells the redialler what became of its dials.
fn track_dials(dialer: &mut redial::Redial, event: &SwarmEvent<BehaviourEvent>) {
    match event {
        SwarmEvent::ConnectionEstablished {
            peer_id,
            connection_id,
            ..
        } => dialer.established(*connection_id, *peer_id),
        SwarmEvent::OutgoingConnectionError {
            connection_id,
            error,
            ..
        } => {
            let to_self = matches!(error, libp2p::swarm::DialError::LocalPeerId { .. });
            if !to_self {
                tracing::debug!(%error, "could not reach a configured peer");
            }
            dialer.failed(*connection_id, to_self, Instant::now());
        }
        SwarmEvent::ConnectionClosed {
            peer_id,
            num_established: 0,
            ..
        } => dialer.disconnected(peer_id, Instant::now()),
        _ => {}
    }
}

fn dial(swarm: &mut Swarm<Behaviour>, address: &Multiaddr) {
    if let Err(error) = swarm.dial(address.clone()) {
        tracing::debug!(%address, %error, "dial failed");
    }
}

fn strike(
    swarm: &mut Swarm<Behaviour>,
    strikes: &mut HashMap<PeerId, u32>,
    blocked_until: &mut Vec<(Instant, PeerId)>,
    peer: PeerId,
    reason: &str,
) {
    let count = strikes.entry(peer).or_default();
    *count += 1;
    tracing::warn!(%peer, %reason, strikes = *count, "peer sent an invalid message");
    if *count >= STRIKES_TO_BLOCK {
        strikes.remove(&peer);
        tracing::warn!(%peer, "blocking peer for {} s", BLOCK_FOR.as_secs());
        swarm.behaviour_mut().blocked.block_peer(peer);
        blocked_until.push((Instant::now() + BLOCK_FOR, peer));
    }
}

async fn handle_event(
    swarm: &mut Swarm<Behaviour>,
    event: SwarmEvent<BehaviourEvent>,
    store: &Store,
    events: &mpsc::Sender<NetEvent>,
    strikes: &mut HashMap<PeerId, u32>,
    blocked_until: &mut Vec<(Instant, PeerId)>,
) {
    match event {
        SwarmEvent::NewListenAddr { address, .. } => {
            tracing::info!(%address, "listening");
            let _ = events.send(NetEvent::Listening(address)).await;
        }
        SwarmEvent::ConnectionEstablished {
            peer_id,
            num_established,
            ..
        } if num_established.get() == 1 => {
            tracing::info!(peer = %peer_id, "peer connected");
            let _ = events.send(NetEvent::Connected(peer_id)).await;
        }
        SwarmEvent::ConnectionClosed {
            peer_id,
            num_established: 0,
            ..
        } => {
            tracing::info!(peer = %peer_id, "peer disconnected");
            let _ = events.send(NetEvent::Disconnected(peer_id)).await;
        }
        SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message {
            propagation_source,
            message_id,
            message,
        })) => {
            let answer_now = match Envelope::decode(&message.data) {
                Ok(Envelope {
                    message: decoded, ..
                }) => {
                    let droppable = matches!(decoded, Gossip::Txs(_));
                    let event = NetEvent::Gossip {
                        from: propagation_source,
                        id: message_id.clone(),
                        message: decoded,
                    };
                    if droppable {
                        // Transactions may be dropped under load (the
                        // submitter's node still has them); consensus
                        // messages wait for room.
                        events.try_send(event).is_err()
                    } else {
                        events.send(event).await.is_err()
                    }
                    .then_some(gossipsub::MessageAcceptance::Ignore)
                }
                Err(error) => {
                    strike(
                        swarm,
                        strikes,
                        blocked_until,
                        propagation_source,
                        &error.to_string(),
                    );
                    Some(gossipsub::MessageAcceptance::Reject)
                }
            };
            // Otherwise the engine judges it (`Command::Judged`).
            if let Some(verdict) = answer_now {
                let _ = swarm
                    .behaviour_mut()
                    .gossipsub
                    .report_message_validation_result(&message_id, &propagation_source, verdict);
            }
        }
        SwarmEvent::Behaviour(BehaviourEvent::Sync(request_response::Event::Message {
            peer,
            message,
            ..
        })) => match message {
            request_response::Message::Request {
                request, channel, ..
            } => {
                let response = serve_sync(store, request);
                let _ = swarm.behaviour_mut().sync.send_response(channel, response);
            }
            request_response::Message::Response { response, .. } => {
                let _ = events
                    .send(NetEvent::Synced {
                        from: peer,
                        response,
                    })
                    .await;
            }
        },
        SwarmEvent::Behaviour(BehaviourEvent::Sync(request_response::Event::OutboundFailure {
            peer,
            error,
            ..
        })) => {
            tracing::debug!(%peer, %error, "sync request failed");
            let failure = SyncFailure::of(&error);
            let _ = events.send(NetEvent::SyncFailed { peer, failure }).await;
        }
        SwarmEvent::Behaviour(BehaviourEvent::Mdns(mdns::Event::Discovered(found))) => {
            for (peer, address) in found {
                if !swarm.is_connected(&peer) {
                    tracing::info!(%peer, %address, "found peer on the LAN");
                    dial(swarm, &address);
                }
            }
        }
        SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
            peer_id,
            info,
            ..
        })) if info.protocol_version != "/guild/1.0.0" => {
            tracing::debug!(peer = %peer_id, version = %info.protocol_version, "peer speaks another protocol");
        }
        _ => {}
    }
}

/// Answers a sync request from the store: the head, and consecutive final
/// blocks from the requested height, bounded in count and bytes (so the
/// answer always fits in [`MAX_SYNC_RESPONSE`]).
pub fn serve_sync(store: &Store, request: SyncRequest) -> SyncResponse {
    let head = match store.head() {
        Ok(head) => head,
        Err(error) => {
            tracing::error!(%error, "cannot read the head for a peer");
            Height(0)
        }
    };
    let mut blocks = Vec::new();
    let mut bytes = 0usize;
    let max = request.max.min(MAX_SYNC_BLOCKS);
    let mut height = request.from;
    while (blocks.len() as u32) < max && height.0 > 0 && height <= head {
        match store.block(height) {
            Ok(Some(block)) => {
                bytes += wire::encode(&block).len();
                if bytes > MAX_SYNC_RESPONSE - SYNC_RESPONSE_OVERHEAD && !blocks.is_empty() {
                    break;
                }
                blocks.push(block);
            }
            Ok(None) => break,
            Err(error) => {
                tracing::error!(%error, "cannot read block for a peer");
                break;
            }
        }
        height = Height(height.0 + 1);
    }
    SyncResponse { head, blocks }
}

/// Bytes a sync answer spends besides its blocks (head, list length).
const SYNC_RESPONSE_OVERHEAD: usize = 64;

/// The codec of [`SYNC_PROTOCOL`]: one canonical message per stream, read up
/// to a size limit.
#[derive(Clone, Copy, Default)]
pub struct SyncCodec;

/// A message longer than its kind allows (carried inside an `io::Error`,
/// so the engine can tell it from other failures and ask for less).
#[derive(Debug, thiserror::Error)]
#[error("message too large: over {limit} bytes")]
struct TooLarge {
    limit: usize,
}

async fn read_limited<T: futures::AsyncRead + Unpin + Send>(
    io: &mut T,
    limit: usize,
) -> io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    io.take(limit as u64 + 1).read_to_end(&mut buf).await?;
    if buf.len() > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            TooLarge { limit },
        ));
    }
    Ok(buf)
}

fn invalid(error: wire::WireError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, error.to_string())
}

impl request_response::Codec for SyncCodec {
    type Protocol = StreamProtocol;
    type Request = SyncRequest;
    type Response = SyncResponse;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<SyncRequest>
    where
        T: futures::AsyncRead + Unpin + Send,
    {
        SyncRequest::decode(&read_limited(io, MAX_SYNC_REQUEST).await?).map_err(invalid)
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<SyncResponse>
    where
        T: futures::AsyncRead + Unpin + Send,
    {
        SyncResponse::decode(&read_limited(io, MAX_SYNC_RESPONSE).await?).map_err(invalid)
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        request: SyncRequest,
    ) -> io::Result<()>
    where
        T: futures::AsyncWrite + Unpin + Send,
    {
        io.write_all(&wire::encode(&request)).await?;
        io.close().await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        response: SyncResponse,
    ) -> io::Result<()>
    where
        T: futures::AsyncWrite + Unpin + Send,
    {
        io.write_all(&wire::encode(&response)).await?;
        io.close().await
    }
}

/// The libp2p peer id of a member address (members use their shop key as
/// their network identity).
pub fn peer_id_of(address: &guild_ledger::crypto::Address) -> Option<PeerId> {
    let key = identity::ed25519::PublicKey::try_from_bytes(&address.0).ok()?;
    Some(identity::PublicKey::from(key).to_peer_id())
}
