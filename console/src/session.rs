//! Signed-in sessions and the sign-in throttle, in memory.
//!
//! A session is created when someone signs in with an `admin` token the
//! node accepted. Its id (16 random bytes, hex) goes in the cookie
//! [`COOKIE`]; its CSRF token (16 more random bytes) goes in every form of
//! its pages. The session keeps the token so the console can call the node
//! as that user; it lives only in this process's memory, so a restart of
//! the node signs everybody out.
//!
//! Limits: a session ends [`IDLE_MS`] after its last request or
//! [`LIFETIME_MS`] after sign-in, whichever is first; at most
//! [`MAX_SESSIONS`] exist (the oldest goes first). Every function takes
//! the current time, so the rules are tested without a clock.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// The session cookie's name.
pub const COOKIE: &str = "guild_session";

/// A session ends this long after its last request (30 minutes).
pub const IDLE_MS: u64 = 30 * 60 * 1000;

/// A session ends this long after sign-in (12 hours).
pub const LIFETIME_MS: u64 = 12 * 60 * 60 * 1000;

/// The most sessions kept at once.
pub const MAX_SESSIONS: usize = 256;

/// Wrong sign-ins allowed per client address per [`THROTTLE_WINDOW_MS`].
pub const MAX_FAILURES: u32 = 5;

/// The sign-in throttle's window (one minute).
pub const THROTTLE_WINDOW_MS: u64 = 60 * 1000;

/// The most client addresses the throttle remembers.
const MAX_THROTTLED: usize = 4096;

/// 16 random bytes as hex.
fn random_hex() -> String {
    let mut bytes = [0u8; 16];
    // The OS's random source; without it there is no safe session id, and
    // a node whose OS has none cannot run at all.
    if getrandom::fill(&mut bytes).is_err() {
        tracing::error!("console: the operating system gave no random bytes");
    }
    hex::encode(bytes)
}

/// One signed-in user.
#[derive(Clone, Debug)]
pub struct Session {
    /// The `admin` token the user signed in with.
    pub token: String,
    /// The token's name on the node (`guild node token list`).
    pub token_name: String,
    /// The CSRF token every form of this session carries.
    pub csrf: String,
    /// When the user signed in (ms since the epoch).
    pub created_ms: u64,
    /// The last request (ms since the epoch).
    pub seen_ms: u64,
}

impl Session {
    fn live(&self, now_ms: u64) -> bool {
        now_ms.saturating_sub(self.seen_ms) < IDLE_MS
            && now_ms.saturating_sub(self.created_ms) < LIFETIME_MS
    }

    /// Whether `presented` is this session's CSRF token (compared in
    /// constant time).
    pub fn csrf_matches(&self, presented: &str) -> bool {
        let (a, b) = (self.csrf.as_bytes(), presented.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

/// The sessions of one console.
#[derive(Debug, Default)]
pub struct Sessions {
    inner: Mutex<HashMap<String, Session>>,
    throttle: LoginThrottle,
}

impl Sessions {
    /// Starts a session for `token` (already accepted by the node); returns
    /// its id for the cookie.
    pub fn create(&self, token: String, token_name: String, now_ms: u64) -> (String, Session) {
        let id = random_hex();
        let session = Session {
            token,
            token_name,
            csrf: random_hex(),
            created_ms: now_ms,
            seen_ms: now_ms,
        };
        let mut map = self.lock();
        map.retain(|_, s| s.live(now_ms));
        while map.len() >= MAX_SESSIONS {
            let oldest = map
                .iter()
                .min_by_key(|(_, s)| s.seen_ms)
                .map(|(id, _)| id.clone());
            match oldest {
                Some(oldest) => {
                    map.remove(&oldest);
                }
                None => break,
            }
        }
        map.insert(id.clone(), session.clone());
        (id, session)
    }

    /// The live session with `id`, marked as seen at `now_ms`; an expired
    /// one is removed.
    pub fn get(&self, id: &str, now_ms: u64) -> Option<Session> {
        let mut map = self.lock();
        let session = map.get_mut(id)?;
        if !session.live(now_ms) {
            map.remove(id);
            return None;
        }
        session.seen_ms = now_ms;
        Some(session.clone())
    }

    /// Ends the session `id` (signing out).
    pub fn end(&self, id: &str) {
        self.lock().remove(id);
    }

    /// The sign-in throttle.
    pub fn throttle(&self) -> &LoginThrottle {
        &self.throttle
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        // A panic while holding the lock leaves a map that is still whole.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Counts wrong sign-ins per client address: after [`MAX_FAILURES`]
/// within a minute, sign-ins from that address are refused until the
/// minute is over.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<IpAddr, (u64, u32)>>,
}

impl LoginThrottle {
    /// If `client` may not try now, how many seconds until it may.
    pub fn blocked(&self, client: IpAddr, now_ms: u64) -> Option<u64> {
        let map = self.lock();
        let (start, count) = *map.get(&client)?;
        let elapsed = now_ms.saturating_sub(start);
        (count >= MAX_FAILURES && elapsed < THROTTLE_WINDOW_MS)
            .then(|| (THROTTLE_WINDOW_MS - elapsed).div_ceil(1000).max(1))
    }

    /// Records a wrong sign-in from `client`.
    pub fn failed(&self, client: IpAddr, now_ms: u64) {
        let mut map = self.lock();
        if map.len() >= MAX_THROTTLED && !map.contains_key(&client) {
            map.retain(|_, (start, _)| now_ms.saturating_sub(*start) < THROTTLE_WINDOW_MS);
            if map.len() >= MAX_THROTTLED {
                // Full of live entries: forget the oldest window.
                if let Some(oldest) = map.iter().min_by_key(|(_, (s, _))| *s).map(|(ip, _)| *ip) {
                    map.remove(&oldest);
                }
            }
        }
        let entry = map.entry(client).or_insert((now_ms, 0));
        if now_ms.saturating_sub(entry.0) >= THROTTLE_WINDOW_MS {
            *entry = (now_ms, 0);
        }
        entry.1 = entry.1.saturating_add(1);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, (u64, u32)>> {
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_expire_when_idle_and_at_end_of_life() {
        let sessions = Sessions::default();
        let (id, session) = sessions.create("gld_x".into(), "console".into(), 1_000);
        assert_eq!(id.len(), 32);
        assert_ne!(id, session.csrf);
        assert!(sessions.get(&id, 1_000 + IDLE_MS - 1).is_some());
        // Seen just now, so idle time starts again...
        assert!(sessions.get(&id, 1_000 + 2 * IDLE_MS - 2).is_some());
        // ...and after 30 quiet minutes it is gone.
        assert!(sessions.get(&id, 1_000 + 3 * IDLE_MS).is_none());
        assert!(
            sessions.get(&id, 1_000 + 3 * IDLE_MS - 10).is_none(),
            "removed"
        );

        // Kept busy, it still ends 12 hours after sign-in.
        let (id, _) = sessions.create("gld_y".into(), "console".into(), 0);
        let mut now = 0;
        while now + IDLE_MS / 2 < LIFETIME_MS {
            now += IDLE_MS / 2;
            assert!(sessions.get(&id, now).is_some(), "at {now}");
        }
        assert!(sessions.get(&id, LIFETIME_MS).is_none());
    }

    #[test]
    fn signing_out_ends_the_session_and_ids_are_unguessable() {
        let sessions = Sessions::default();
        let (a, _) = sessions.create("t".into(), "n".into(), 0);
        let (b, _) = sessions.create("t".into(), "n".into(), 0);
        assert_ne!(a, b);
        assert!(sessions.get("0".repeat(32).as_str(), 0).is_none());
        sessions.end(&a);
        assert!(sessions.get(&a, 1).is_none());
        assert!(sessions.get(&b, 1).is_some());
    }

    #[test]
    fn the_oldest_session_makes_room() {
        let sessions = Sessions::default();
        let (first, _) = sessions.create("t".into(), "n".into(), 0);
        for i in 1..MAX_SESSIONS as u64 {
            sessions.create("t".into(), "n".into(), i);
        }
        assert!(sessions.get(&first, MAX_SESSIONS as u64).is_some());
        // `first` was just seen; the next oldest (seen at 1) goes.
        sessions.create("t".into(), "n".into(), MAX_SESSIONS as u64 + 1);
        assert!(sessions.get(&first, MAX_SESSIONS as u64 + 2).is_some());
        assert_eq!(sessions.lock().len(), MAX_SESSIONS);
    }

    #[test]
    fn csrf_must_match_exactly() {
        let sessions = Sessions::default();
        let (_, session) = sessions.create("t".into(), "n".into(), 0);
        assert!(session.csrf_matches(&session.csrf.clone()));
        assert!(!session.csrf_matches(""));
        assert!(!session.csrf_matches(&session.csrf[1..]));
        assert!(!session.csrf_matches(&format!("{}0", session.csrf)));
    }

    #[test]
    fn five_wrong_sign_ins_block_an_address_for_the_rest_of_the_minute() {
        let throttle = LoginThrottle::default();
        let a: IpAddr = "127.0.0.2".parse().unwrap();
        let b: IpAddr = "127.0.0.3".parse().unwrap();
        for i in 0..MAX_FAILURES {
            assert_eq!(throttle.blocked(a, u64::from(i)), None);
            throttle.failed(a, u64::from(i));
        }
        assert_eq!(throttle.blocked(a, 10), Some(60));
        assert_eq!(throttle.blocked(a, 30_500), Some(30));
        assert_eq!(
            throttle.blocked(b, 10),
            None,
            "another address is not blocked"
        );
        assert_eq!(throttle.blocked(a, THROTTLE_WINDOW_MS), None);
        // A new window starts counting from zero.
        throttle.failed(a, THROTTLE_WINDOW_MS + 1);
        assert_eq!(throttle.blocked(a, THROTTLE_WINDOW_MS + 2), None);
    }
}
