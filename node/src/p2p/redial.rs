//! Keeping in touch with the configured peers (the genesis file's `peers`
//! and `--peer`), with no mDNS: shops on different machines find each
//! other only through these addresses.
//!
//! Each address is dialled at start, and again while no connection to the
//! peer behind it is open: a node that starts before its peers finds them
//! when they come up, and one whose peer restarted reconnects. Failed
//! attempts back off (1 s, 2 s, 4 s … up to [`MAX_BACKOFF`]), so an address
//! that is down costs little; a disconnect makes the peer due again at
//! once. The peer behind an address is learnt from the first connection
//! made to it (or from its `/p2p/` suffix), so a connected peer is not
//! dialled again; an address that turns out to be this node itself (the
//! genesis lists every founder, this one included) is never dialled again.
//!
//! Pure bookkeeping: time comes in as an argument, and the event loop in
//! `p2p.rs` does the dialling.

use libp2p::multiaddr::Protocol;
use libp2p::swarm::ConnectionId;
use libp2p::{Multiaddr, PeerId};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The first wait after a failed dial.
pub const MIN_BACKOFF: Duration = Duration::from_secs(1);
/// The longest wait between two dials of an address that is down.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// One configured address.
#[derive(Debug)]
struct Target {
    address: Multiaddr,
    /// The peer behind it, once known.
    peer: Option<PeerId>,
    /// Failed dials in a row.
    failures: u32,
    /// When it may be dialled next.
    next: Instant,
    /// The address is this node's own.
    is_self: bool,
}

/// The configured peers and when each is due to be dialled.
#[derive(Debug)]
pub struct Redial {
    targets: Vec<Target>,
    /// Dials under way: which target each is for.
    pending: HashMap<ConnectionId, usize>,
}

/// The wait after `failures` failed dials in a row.
pub fn backoff(failures: u32) -> Duration {
    let doubled = MIN_BACKOFF.saturating_mul(1u32 << failures.saturating_sub(1).min(16));
    doubled.min(MAX_BACKOFF)
}

impl Redial {
    /// Every address is due at once; duplicates are dialled once.
    pub fn new(addresses: &[Multiaddr], now: Instant) -> Redial {
        let mut targets: Vec<Target> = Vec::new();
        for address in addresses {
            if targets.iter().any(|t| t.address == *address) {
                continue;
            }
            let peer = address.iter().find_map(|p| match p {
                Protocol::P2p(id) => Some(id),
                _ => None,
            });
            targets.push(Target {
                address: address.clone(),
                peer,
                failures: 0,
                next: now,
                is_self: false,
            });
        }
        Redial {
            targets,
            pending: HashMap::new(),
        }
    }

    /// The addresses to dial now: due, not this node, not connected (per
    /// `connected`) and not being dialled already.
    pub fn due(
        &self,
        now: Instant,
        connected: impl Fn(&PeerId) -> bool,
    ) -> Vec<(usize, Multiaddr)> {
        self.targets
            .iter()
            .enumerate()
            .filter(|(i, t)| {
                !t.is_self
                    && t.next <= now
                    && !t.peer.as_ref().is_some_and(&connected)
                    && !self.pending.values().any(|p| p == i)
            })
            .map(|(i, t)| (i, t.address.clone()))
            .collect()
    }

    /// A dial of target `index` started as `connection`.
    pub fn dialling(&mut self, index: usize, connection: ConnectionId) {
        self.pending.insert(connection, index);
    }

    /// A dial could not even start (bad address, no transport for it).
    pub fn not_started(&mut self, index: usize, now: Instant) {
        self.fail(index, now);
    }

    /// A connection was established; if it was one of our dials, the peer
    /// behind its address is now known and its failures are forgotten.
    pub fn established(&mut self, connection: ConnectionId, peer: PeerId) {
        if let Some(index) = self.pending.remove(&connection)
            && let Some(target) = self.targets.get_mut(index)
        {
            target.peer = Some(peer);
            target.failures = 0;
        }
    }

    /// A dial failed; `to_self` if the address turned out to be this
    /// node's own.
    pub fn failed(&mut self, connection: ConnectionId, to_self: bool, now: Instant) {
        if let Some(index) = self.pending.remove(&connection) {
            if to_self && let Some(target) = self.targets.get_mut(index) {
                target.is_self = true;
            } else {
                self.fail(index, now);
            }
        }
    }

    /// The last connection to `peer` closed: its addresses are due at once.
    pub fn disconnected(&mut self, peer: &PeerId, now: Instant) {
        for target in &mut self.targets {
            if target.peer.as_ref() == Some(peer) {
                target.failures = 0;
                target.next = now;
            }
        }
    }

    /// How many configured addresses are other nodes (not this one).
    pub fn others(&self) -> usize {
        self.targets.iter().filter(|t| !t.is_self).count()
    }

    fn fail(&mut self, index: usize, now: Instant) {
        if let Some(target) = self.targets.get_mut(index) {
            target.failures = target.failures.saturating_add(1);
            target.next = now + backoff(target.failures);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> Multiaddr {
        format!("/ip4/10.0.0.1/tcp/{port}").parse().unwrap()
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let waits: Vec<u64> = (1..=8).map(|f| backoff(f).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30, 30]);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }

    #[test]
    fn every_address_is_due_at_start_and_duplicates_once() {
        let now = Instant::now();
        let redial = Redial::new(&[addr(1), addr(2), addr(1)], now);
        let due: Vec<_> = redial
            .due(now, |_| false)
            .into_iter()
            .map(|(_, a)| a)
            .collect();
        assert_eq!(due, [addr(1), addr(2)]);
    }

    #[test]
    fn a_failed_address_waits_longer_each_time_and_a_dial_in_flight_is_not_repeated() {
        let start = Instant::now();
        let mut redial = Redial::new(&[addr(1)], start);
        let mut now = start;
        let mut waits = Vec::new();
        for n in 0..4u32 {
            let due = redial.due(now, |_| false);
            assert_eq!(due.len(), 1, "attempt {n}");
            let connection = ConnectionId::new_unchecked(n as usize);
            redial.dialling(due[0].0, connection);
            assert!(redial.due(now, |_| false).is_empty(), "dialling already");
            redial.failed(connection, false, now);
            // Not due a moment before the backoff ends, due when it does.
            let wait = backoff(n + 1);
            assert!(
                redial
                    .due(now + wait - Duration::from_millis(1), |_| false)
                    .is_empty()
            );
            now += wait;
            waits.push(wait.as_secs());
        }
        assert_eq!(waits, [1, 2, 4, 8]);
    }

    #[test]
    fn a_connected_peer_is_not_dialled_and_is_due_again_when_it_goes() {
        let now = Instant::now();
        let mut redial = Redial::new(&[addr(1)], now);
        let peer = PeerId::random();
        let (index, _) = redial.due(now, |_| false)[0].clone();
        let connection = ConnectionId::new_unchecked(7);
        redial.dialling(index, connection);
        redial.established(connection, peer);
        assert!(redial.due(now, |p| *p == peer).is_empty());
        // It failed to answer a few times, then was connected, then went.
        redial.disconnected(&peer, now);
        assert_eq!(redial.due(now, |_| false).len(), 1);
    }

    #[test]
    fn a_p2p_suffix_names_the_peer_before_any_connection() {
        let now = Instant::now();
        let peer = PeerId::random();
        let with_id: Multiaddr = format!("/ip4/10.0.0.1/tcp/1/p2p/{peer}").parse().unwrap();
        let redial = Redial::new(&[with_id], now);
        assert!(redial.due(now, |p| *p == peer).is_empty());
        assert_eq!(redial.due(now, |_| false).len(), 1);
    }

    #[test]
    fn this_nodes_own_address_is_dropped() {
        let now = Instant::now();
        let mut redial = Redial::new(&[addr(1), addr(2)], now);
        assert_eq!(redial.others(), 2);
        for (n, (index, _)) in redial.due(now, |_| false).into_iter().enumerate() {
            let connection = ConnectionId::new_unchecked(n);
            redial.dialling(index, connection);
            redial.failed(connection, n == 0, now);
        }
        assert_eq!(redial.others(), 1);
        let later = now + MAX_BACKOFF;
        let due: Vec<_> = redial
            .due(later, |_| false)
            .into_iter()
            .map(|(_, a)| a)
            .collect();
        assert_eq!(due, [addr(2)]);
    }
}
