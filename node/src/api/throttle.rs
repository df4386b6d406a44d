//! Rate limiting of wrong API tokens, per client address.
//!
//! ## The idea
//!
//! A token is 32 random bytes, so guessing one is hopeless; what a flood of
//! wrong tokens can still do is fill the node's log and keep it busy. So a
//! client address that sends [`FailureLimit::max_failures`] requests with
//! a token refused as `401 unauthorized` (wrong, revoked or malformed; a
//! request without any `Authorization` header guesses nothing and is not
//! counted) within [`FailureLimit::window`] is refused
//! with `429 too_many_failures` (and `Retry-After`) on every request that
//! needs a token until the window has passed, without its token being
//! looked at. Only failures count: a till that authenticates thousands of
//! times a day never meets the limit, and a client that never failed is
//! not even in the table.
//!
//! The window is fixed: it starts at a client's first failure and ends
//! [`FailureLimit::window`] later, when the count starts again from zero.
//!
//! ## Bounds
//!
//! The table holds at most [`FailureLimit::capacity`] clients. When a new
//! client fails and the table is full, clients whose window has passed are
//! dropped, and if none has, the client whose window started first: an
//! attacker with very many addresses weakens the limit for its own
//! addresses (each may start again), but can never grow the node's memory
//! nor lock out a till that has not failed. IPv6 clients are counted per
//! `/64` network (one customer line, one household or one server usually
//! holds a whole `/64`), so one machine cannot make itself billions of
//! fresh addresses.
//!
//! Why not the `governor` crate: its keyed limiter counts every request
//! (we count only failures, after the fact) and its key table grows until
//! it is pruned; the few lines here do exactly what is needed with a hard
//! bound and a clock passed in, so the tests need no sleeping.
//!
//! Behind a reverse proxy every request comes from the proxy's address,
//! so all clients share one count (docs/till.md says so).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How many failures, in how long, and how many clients are tracked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FailureLimit {
    /// Failures within one window that block the client.
    pub max_failures: u32,
    /// The window, from a client's first failure.
    pub window: Duration,
    /// The most clients tracked at once.
    pub capacity: usize,
}

impl Default for FailureLimit {
    /// 5 failures a minute, 4,096 clients.
    fn default() -> FailureLimit {
        FailureLimit {
            max_failures: 5,
            window: Duration::from_secs(60),
            capacity: 4096,
        }
    }
}

/// Whom failures are counted for: an IPv4 address, an IPv6 `/64`, or, for
/// a request whose peer address the server did not record (a router used
/// without [`super::serve`], as in tests), one shared key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClientKey {
    /// An IPv4 address (IPv4-mapped IPv6 addresses too).
    V4([u8; 4]),
    /// The first 64 bits of an IPv6 address.
    V6([u8; 8]),
    /// No address known.
    Unknown,
}

impl ClientKey {
    /// The key of a peer address.
    pub fn of(ip: IpAddr) -> ClientKey {
        match ip {
            IpAddr::V4(v4) => ClientKey::V4(v4.octets()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => ClientKey::V4(v4.octets()),
                None => ClientKey::V6(network64(&v6)),
            },
        }
    }
}

fn network64(ip: &Ipv6Addr) -> [u8; 8] {
    let octets = ip.octets();
    let mut out = [0u8; 8];
    out.copy_from_slice(&octets[..8]);
    out
}

/// A client is blocked: how long until it may try again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Blocked {
    /// Until the window ends.
    pub retry_after: Duration,
    /// The limit it reached.
    pub max_failures: u32,
    /// The window of the limit.
    pub window: Duration,
}

impl Blocked {
    /// Whole seconds for `Retry-After` (at least 1).
    pub fn retry_after_secs(&self) -> u64 {
        let secs = self.retry_after.as_secs();
        let partial = self.retry_after.subsec_nanos() > 0;
        (secs + u64::from(partial)).max(1)
    }
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    since: Instant,
    failures: u32,
}

/// The table of failing clients. Cheap to clone; clones share the table.
#[derive(Clone, Debug)]
pub struct Throttle {
    limit: FailureLimit,
    table: Arc<Mutex<HashMap<ClientKey, Entry>>>,
}

impl Default for Throttle {
    fn default() -> Throttle {
        Throttle::new(FailureLimit::default())
    }
}

impl Throttle {
    /// An empty table with `limit`.
    pub fn new(limit: FailureLimit) -> Throttle {
        Throttle {
            limit,
            table: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// The limit in force.
    pub fn limit(&self) -> FailureLimit {
        self.limit
    }

    /// Whether `client` is blocked at `now`.
    pub fn check(&self, client: ClientKey, now: Instant) -> Result<(), Blocked> {
        let table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        match table.get(&client) {
            Some(entry) if entry.failures >= self.limit.max_failures => {
                let ends = entry.since + self.limit.window;
                if now < ends {
                    Err(Blocked {
                        retry_after: ends - now,
                        max_failures: self.limit.max_failures,
                        window: self.limit.window,
                    })
                } else {
                    Ok(())
                }
            }
            _ => Ok(()),
        }
    }

    /// Counts one failure of `client` at `now`; true if this failure is
    /// the one that blocks it.
    pub fn fail(&self, client: ClientKey, now: Instant) -> bool {
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        let window = self.limit.window;
        if let Some(entry) = table.get_mut(&client) {
            if now.saturating_duration_since(entry.since) >= window {
                *entry = Entry {
                    since: now,
                    failures: 1,
                };
            } else {
                entry.failures = entry.failures.saturating_add(1);
            }
            return entry.failures == self.limit.max_failures;
        }
        if table.len() >= self.limit.capacity {
            table.retain(|_, e| now.saturating_duration_since(e.since) < window);
        }
        if table.len() >= self.limit.capacity {
            let oldest = table.iter().min_by_key(|(_, e)| e.since).map(|(k, _)| *k);
            if let Some(oldest) = oldest {
                table.remove(&oldest);
            }
        }
        if self.limit.capacity > 0 {
            table.insert(
                client,
                Entry {
                    since: now,
                    failures: 1,
                },
            );
        }
        self.limit.max_failures == 1
    }

    /// How many clients are tracked.
    pub fn len(&self) -> usize {
        self.table
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// True if no client is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(last: u8) -> ClientKey {
        ClientKey::of(IpAddr::from([192, 168, 1, last]))
    }

    fn limit(capacity: usize) -> FailureLimit {
        FailureLimit {
            max_failures: 5,
            window: Duration::from_secs(60),
            capacity,
        }
    }

    #[test]
    fn the_fifth_failure_in_a_minute_blocks_until_the_minute_is_over() {
        let throttle = Throttle::new(limit(16));
        let t0 = Instant::now();
        for i in 0..4 {
            assert!(!throttle.fail(v4(1), t0 + Duration::from_secs(i)));
            assert_eq!(throttle.check(v4(1), t0 + Duration::from_secs(i)), Ok(()));
        }
        assert!(throttle.fail(v4(1), t0 + Duration::from_secs(10)));
        let blocked = throttle
            .check(v4(1), t0 + Duration::from_secs(10))
            .unwrap_err();
        assert_eq!(blocked.retry_after, Duration::from_secs(50));
        assert_eq!(blocked.retry_after_secs(), 50);
        // Another client is not affected.
        assert_eq!(throttle.check(v4(2), t0 + Duration::from_secs(10)), Ok(()));
        // Still blocked just before the window ends, free at its end.
        assert!(
            throttle
                .check(v4(1), t0 + Duration::from_millis(59_999))
                .is_err()
        );
        assert_eq!(throttle.check(v4(1), t0 + Duration::from_secs(60)), Ok(()));
        // A failure after the window starts a new count.
        throttle.fail(v4(1), t0 + Duration::from_secs(61));
        assert_eq!(throttle.check(v4(1), t0 + Duration::from_secs(61)), Ok(()));
    }

    #[test]
    fn failures_spread_over_more_than_a_window_never_block() {
        let throttle = Throttle::new(limit(16));
        let t0 = Instant::now();
        for i in 0..20u64 {
            let now = t0 + Duration::from_secs(i * 20);
            throttle.fail(v4(1), now);
            assert_eq!(throttle.check(v4(1), now), Ok(()), "failure {i}");
        }
    }

    #[test]
    fn the_table_never_holds_more_than_its_capacity() {
        let throttle = Throttle::new(limit(8));
        let t0 = Instant::now();
        for n in 0..=255u8 {
            for _ in 0..5 {
                throttle.fail(v4(n), t0 + Duration::from_millis(u64::from(n)));
            }
            assert!(throttle.len() <= 8);
        }
        // The latest clients are still counted (and blocked).
        assert!(
            throttle
                .check(v4(255), t0 + Duration::from_secs(1))
                .is_err()
        );
        // The earliest were dropped to make room.
        assert_eq!(throttle.check(v4(0), t0 + Duration::from_secs(1)), Ok(()));
    }

    #[test]
    fn expired_clients_make_room_before_live_ones() {
        let throttle = Throttle::new(limit(2));
        let t0 = Instant::now();
        for _ in 0..5 {
            throttle.fail(v4(1), t0);
        }
        for _ in 0..5 {
            throttle.fail(v4(2), t0 + Duration::from_secs(30));
        }
        // At 70 s client 1's window is over, client 2's is not: client 1
        // goes, client 2 stays blocked.
        throttle.fail(v4(3), t0 + Duration::from_secs(70));
        assert_eq!(throttle.len(), 2);
        assert!(throttle.check(v4(2), t0 + Duration::from_secs(70)).is_err());
    }

    #[test]
    fn ipv6_clients_are_counted_per_64_network() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(ClientKey::of(a), ClientKey::of(b));
        assert_ne!(ClientKey::of(a), ClientKey::of(c));
        let mapped: IpAddr = "::ffff:192.168.1.7".parse().unwrap();
        assert_eq!(ClientKey::of(mapped), v4(7));
    }

    #[test]
    fn retry_after_rounds_up_to_a_whole_second() {
        let blocked = Blocked {
            retry_after: Duration::from_millis(1),
            max_failures: 5,
            window: Duration::from_secs(60),
        };
        assert_eq!(blocked.retry_after_secs(), 1);
        let blocked = Blocked {
            retry_after: Duration::from_millis(2_500),
            ..blocked
        };
        assert_eq!(blocked.retry_after_secs(), 3);
    }
}
