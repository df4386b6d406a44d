//! The engine's clock, injected so tests can drive it with virtual time.
//!
//! The engine reads time only through a [`Clock`]: a monotonic `now` for
//! timeouts, pacing and back-off, and the wall clock (milliseconds since the
//! Unix epoch) for block times and the mempool's view of time-based rules.

use guild_ledger::types::Timestamp;
use std::time::Instant;

/// Where the engine reads the time.
pub trait Clock: Send {
    /// Monotonic time.
    fn now(&self) -> Instant;
    /// Milliseconds since the Unix epoch.
    fn wall_ms(&self) -> Timestamp;
}

/// The machine's clocks.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn wall_ms(&self) -> Timestamp {
        now_ms()
    }
}

/// Milliseconds since the Unix epoch, from the wall clock
/// ([`guild_os::clock`], the one place every crate reads it).
pub fn now_ms() -> Timestamp {
    Timestamp(guild_os::clock::now_ms())
}
