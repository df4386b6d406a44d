//! The engine's view of the network: a [`Network`] it talks to and the
//! [`NetInput`]s it is given, with opaque peer and message ids.
//!
//! Two implementations exist: [`Libp2pNet`] (the `p2p` event loop's command
//! channel, with libp2p's `PeerId` and gossipsub's `MessageId`), and the
//! in-memory simulated network of the engine-level simulator
//! (`node/tests/engine_sim.rs`), where peers are small integers and
//! messages are delivered with seeded delays, drops and partitions.

use crate::p2p::{Command, NetEvent, Offence, SyncFailure, Verdict};
use crate::wire::{Gossip, SyncRequest, SyncResponse};
use guild_ledger::crypto::Address;
use libp2p::{PeerId, gossipsub};
use std::fmt::{Debug, Display};
use std::hash::Hash;
use tokio::sync::mpsc;

/// What the engine asks of the network. Every call is fire-and-forget: what
/// comes back (sync answers, failures, connections) arrives later as a
/// [`NetInput`].
pub trait Network {
    /// A peer's name.
    type Peer: Copy + Eq + Ord + Hash + Debug + Display;
    /// The network's name for a gossip message given to the engine (the
    /// engine hands it back with its verdict).
    type MessageId;

    /// Publishes a gossip message to every peer.
    fn publish(&self, message: Gossip);
    /// The engine's verdict on a gossip message it was given: whether it is
    /// forwarded, and whether `from` is penalized.
    fn judged(&self, id: Self::MessageId, from: Self::Peer, verdict: Verdict);
    /// Asks `peer` for final blocks; the answer (or failure) arrives as
    /// [`NetInput::Synced`] or [`NetInput::SyncFailed`].
    fn request_sync(&self, peer: Self::Peer, request: SyncRequest);
    /// `peer` sent something invalid outside gossip (a bad synced block).
    fn penalize(&self, peer: Self::Peer, offence: Offence);
    /// The peer a member's node is on this network, if it can be told from
    /// the member's address (libp2p: members' nodes use the shop key as
    /// their identity). Used to count the reachable members.
    fn member_peer(&self, member: &Address) -> Option<Self::Peer>;
}

/// What the network tells the engine.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // gossip is the common case; boxing it would only add an allocation
pub enum NetInput<P, M> {
    /// A gossip message, decoded; `from` forwarded it. The engine answers
    /// with [`Network::judged`].
    Gossip {
        /// The forwarding peer.
        from: P,
        /// The network's name for the message.
        id: M,
        /// The message.
        message: Gossip,
    },
    /// A peer answered a sync request.
    Synced {
        /// The peer.
        from: P,
        /// Its answer.
        response: SyncResponse,
    },
    /// A sync request failed.
    SyncFailed {
        /// The peer asked.
        peer: P,
        /// Why.
        failure: SyncFailure,
    },
    /// A peer connected (it may be behind or ahead of us).
    Connected(P),
    /// A peer's last connection closed.
    Disconnected(P),
}

/// The libp2p network: commands to the `p2p` event loop, which owns the
/// swarm. A full channel drops the command (gossip and sync are retried by
/// the engine's tick).
#[derive(Clone, Debug)]
pub struct Libp2pNet(pub mpsc::Sender<Command>);

impl Libp2pNet {
    fn send(&self, command: Command) {
        if let Err(error) = self.0.try_send(command) {
            tracing::debug!(%error, "network command dropped");
        }
    }
}

impl Network for Libp2pNet {
    type Peer = PeerId;
    type MessageId = gossipsub::MessageId;

    fn publish(&self, message: Gossip) {
        self.send(Command::Publish(message));
    }

    fn judged(&self, id: gossipsub::MessageId, from: PeerId, verdict: Verdict) {
        self.send(Command::Judged { id, from, verdict });
    }

    fn request_sync(&self, peer: PeerId, request: SyncRequest) {
        self.send(Command::Sync { peer, request });
    }

    fn penalize(&self, peer: PeerId, offence: Offence) {
        self.send(Command::Penalize { peer, offence });
    }

    fn member_peer(&self, member: &Address) -> Option<PeerId> {
        crate::p2p::peer_id_of(member)
    }
}

/// The engine's input for a libp2p event (`None` for events the engine has
/// no use for, such as a new listening address).
pub fn from_libp2p(event: NetEvent) -> Option<NetInput<PeerId, gossipsub::MessageId>> {
    Some(match event {
        NetEvent::Gossip { from, id, message } => NetInput::Gossip { from, id, message },
        NetEvent::Synced { from, response } => NetInput::Synced { from, response },
        NetEvent::SyncFailed { peer, failure } => NetInput::SyncFailed { peer, failure },
        NetEvent::Connected(peer) => NetInput::Connected(peer),
        NetEvent::Disconnected(peer) => NetInput::Disconnected(peer),
        NetEvent::Listening(_) => return None,
    })
}
