//! The wall clock.
//!
//! The protocol never reads a clock: time reaches the ledger as an input
//! (a block's time, set by its proposer). Nodes, wallets and tools read it
//! here, in one way: milliseconds since the Unix epoch, 0 for a clock set
//! before 1970, saturating far in the future.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch by the wall clock (0 if the clock is
/// before 1970).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_is_after_2023_and_moves_forward() {
        let a = now_ms();
        assert!(a > 1_700_000_000_000);
        assert!(now_ms() >= a);
    }
}
