//! Delivering an event: the retry schedule, and the webhook POST.
//!
//! The service (`service.rs`) takes the outbox's due entries, checks the
//! customer's consent **at send time** (withdrawn: cancelled, with the
//! reason in the log), and runs each action on a task of its own, at most
//! [`MAX_IN_FLIGHT`] at once, so a slow receiver never holds up the others
//! or the node. Each attempt's result is written to the outbox before the
//! next step.
//!
//! A webhook is delivered when the receiver answers 2xx within
//! [`REQUEST_TIMEOUT`]; any other answer, a timeout or no connection is
//! retried by [`RetrySchedule`]: 10 s, 30 s, 2 min, 10 min, 30 min, 1 h,
//! 2 h, 4 h, then every 6 h, each with ±20 % jitter (so many events that
//! failed together do not all come back at once), until
//! [`RetrySchedule::give_up_after`] (3 days) has passed since the event:
//! then it is dead, and listed as such. Redirects are not followed (a
//! receiver that moved gives its new URL to the shop), and at most
//! [`MAX_RESPONSE_LOGGED`] bytes of an answer are read, for the log.

use super::webhook::{HEADER_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP, WebhookSecret};
use std::time::Duration;

/// The most actions running at once.
pub const MAX_IN_FLIGHT: usize = 8;
/// How long a receiver has to answer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// How long connecting may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Bytes of a receiver's answer kept for the log.
pub const MAX_RESPONSE_LOGGED: usize = 200;

/// When to try again after a failed attempt, as data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetrySchedule {
    /// The wait after the 1st, 2nd, … failed attempt; the last repeats.
    pub delays: Vec<Duration>,
    /// Jitter, ± per mille of each wait.
    pub jitter_permille: u32,
    /// An event still failing this long after it fired is given up.
    pub give_up_after: Duration,
}

impl Default for RetrySchedule {
    fn default() -> RetrySchedule {
        let minutes = |m: u64| Duration::from_secs(m * 60);
        RetrySchedule {
            delays: vec![
                Duration::from_secs(10),
                Duration::from_secs(30),
                minutes(2),
                minutes(10),
                minutes(30),
                minutes(60),
                minutes(120),
                minutes(240),
                minutes(360),
            ],
            jitter_permille: 200,
            give_up_after: Duration::from_secs(3 * 24 * 3600),
        }
    }
}

impl RetrySchedule {
    /// The default schedule with every wait (and the give-up time) scaled
    /// so the first wait is `first`: tests use 200 ms (see
    /// `GUILD_AUTOMATION_RETRY_MS` in docs/automation.md).
    pub fn scaled(first: Duration) -> RetrySchedule {
        let default = RetrySchedule::default();
        let base = default.delays[0].as_secs_f64();
        let factor = first.as_secs_f64() / base;
        RetrySchedule {
            delays: default.delays.iter().map(|d| d.mul_f64(factor)).collect(),
            jitter_permille: default.jitter_permille,
            give_up_after: default.give_up_after.mul_f64(factor),
        }
    }

    /// The wait after failed attempt number `attempt` (1 for the first),
    /// with jitter from `draw` (any number; its value mod 2001 picks the
    /// jitter between −100 % and +100 % of `jitter_permille`).
    pub fn delay(&self, attempt: u32, draw: u32) -> Duration {
        let index = (attempt.max(1) as usize - 1).min(self.delays.len().saturating_sub(1));
        let base = self
            .delays
            .get(index)
            .copied()
            .unwrap_or(Duration::from_secs(60));
        let spread = f64::from(draw % 2001) / 1000.0 - 1.0;
        let jitter = spread * f64::from(self.jitter_permille) / 1000.0;
        base.mul_f64((1.0 + jitter).max(0.0))
    }

    /// The instant to try again after failed attempt `attempt` at
    /// `now_ms`, or `None` if the event (fired at `fired_ms`) is to be
    /// given up.
    pub fn next(&self, attempt: u32, now_ms: u64, fired_ms: u64, draw: u32) -> Option<u64> {
        let give_up = fired_ms.saturating_add(self.give_up_after.as_millis() as u64);
        let next = now_ms.saturating_add(self.delay(attempt, draw).as_millis() as u64);
        (now_ms < give_up).then_some(next)
    }
}

/// A random number for jitter.
pub fn jitter_draw() -> u32 {
    let mut bytes = [0u8; 4];
    match getrandom::fill(&mut bytes) {
        Ok(()) => u32::from_be_bytes(bytes),
        Err(_) => 1000,
    }
}

/// What an attempt gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Done.
    Done {
        /// What happened, for the log.
        detail: String,
        /// The receiver's HTTP status, for a webhook.
        http_status: Option<u16>,
        /// Points given, for a reward.
        points: Option<guild_ledger::types::Points>,
    },
    /// Failed; try again later.
    Retry {
        /// What happened.
        detail: String,
        /// The receiver's HTTP status, if it answered.
        http_status: Option<u16>,
    },
    /// Not to be done, ever (the ledger refused, no address to write to).
    Cancel {
        /// Why.
        reason: String,
    },
}

/// The HTTP client of webhook deliveries: timeouts, no redirects.
pub fn http_client() -> reqwest::Client {
    let builder = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("guild-webhooks/", env!("CARGO_PKG_VERSION")))
        .pool_max_idle_per_host(2);
    match builder.build() {
        Ok(client) => client,
        Err(error) => {
            tracing::error!(%error, "cannot configure the webhook client; using the defaults");
            reqwest::Client::new()
        }
    }
}

/// POSTs `body` to `url`, signed for event `id` at `timestamp` (seconds).
pub async fn post_webhook(
    client: &reqwest::Client,
    url: &str,
    secret: &WebhookSecret,
    id: &str,
    timestamp: u64,
    body: Vec<u8>,
) -> Outcome {
    let signature = secret.sign(id, timestamp, &body);
    let sent = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(HEADER_ID, id)
        .header(HEADER_TIMESTAMP, timestamp.to_string())
        .header(HEADER_SIGNATURE, signature)
        .body(body)
        .send()
        .await;
    match sent {
        Ok(mut response) => {
            let status = response.status();
            let mut text = Vec::new();
            while text.len() < MAX_RESPONSE_LOGGED {
                match response.chunk().await {
                    Ok(Some(chunk)) => text.extend_from_slice(&chunk),
                    _ => break,
                }
            }
            text.truncate(MAX_RESPONSE_LOGGED);
            let answer = String::from_utf8_lossy(&text)
                .chars()
                .filter(|c| !c.is_control())
                .collect::<String>();
            let detail = if answer.trim().is_empty() {
                format!("HTTP {}", status.as_u16())
            } else {
                format!("HTTP {}: {}", status.as_u16(), answer.trim())
            };
            if status.is_success() {
                Outcome::Done {
                    detail,
                    http_status: Some(status.as_u16()),
                    points: None,
                }
            } else {
                Outcome::Retry {
                    detail,
                    http_status: Some(status.as_u16()),
                }
            }
        }
        Err(error) => Outcome::Retry {
            detail: describe(&error),
            http_status: None,
        },
    }
}

/// A transport error in a few words.
fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "no answer in time"
    } else if error.is_connect() {
        "cannot connect"
    } else if error.is_redirect() {
        "redirected (not followed)"
    } else {
        "request failed"
    };
    let mut text = format!("{kind}: {error}");
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let said = cause.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        source = cause.source();
    }
    text.chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_backs_off_with_bounded_jitter_and_gives_up() {
        let s = RetrySchedule::default();
        let secs = |attempt, draw| s.delay(attempt, draw).as_secs_f64();
        // draw 1000 is no jitter.
        assert_eq!(secs(1, 1000), 10.0);
        assert_eq!(secs(2, 1000), 30.0);
        assert_eq!(secs(3, 1000), 120.0);
        assert_eq!(secs(9, 1000), 6.0 * 3600.0);
        assert_eq!(secs(50, 1000), 6.0 * 3600.0, "the last wait repeats");
        // ±20 %.
        assert_eq!(secs(1, 0), 8.0);
        assert_eq!(secs(1, 2000), 12.0);
        for draw in [0, 1, 999, 1500, 2000, 2001, u32::MAX] {
            let d = secs(2, draw);
            assert!((24.0..=36.0).contains(&d), "{draw}: {d}");
        }
        // Rising: each wait (without jitter) at least the one before.
        for attempt in 1..12 {
            assert!(secs(attempt + 1, 1000) >= secs(attempt, 1000));
        }
        let fired = 1_000_000;
        assert!(s.next(3, fired + 1000, fired, 1000).is_some());
        let three_days = 3 * 24 * 3600 * 1000;
        assert_eq!(s.next(40, fired + three_days, fired, 1000), None);
    }

    #[test]
    fn a_scaled_schedule_keeps_the_shape() {
        let s = RetrySchedule::scaled(Duration::from_millis(200));
        assert_eq!(s.delay(1, 1000), Duration::from_millis(200));
        assert_eq!(s.delay(2, 1000), Duration::from_millis(600));
        assert_eq!(s.give_up_after, Duration::from_secs(3 * 24 * 3600 / 50));
    }
}
