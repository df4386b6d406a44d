//! Standard Webhooks signatures (<https://www.standardwebhooks.com>).
//!
//! Every delivery carries three headers:
//!
//! - `webhook-id`: the event's id (`evt_…`), the same on every retry, so a
//!   receiver drops a repeat by it;
//! - `webhook-timestamp`: seconds since the Unix epoch when this attempt
//!   was signed;
//! - `webhook-signature`: `v1,` and the base64 of
//!   `HMAC-SHA256(secret, "{id}.{timestamp}.{body}")`, where the secret is
//!   the bytes behind the endpoint's `whsec_<base64>` ([`WebhookSecret`]).
//!
//! [`verify`] is what a receiver does: recompute, compare in constant time
//! (any of several space-separated `v1,` signatures may match, for secret
//! rotation), and refuse a timestamp more than the tolerance away from its
//! clock (a replayed old request). The node's tests and the real-process
//! test use it as their receiver; `docs/automation.md` shows the same in
//! Python.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::fmt;
use std::str::FromStr;

/// The `webhook-id` header.
pub const HEADER_ID: &str = "webhook-id";
/// The `webhook-timestamp` header.
pub const HEADER_TIMESTAMP: &str = "webhook-timestamp";
/// The `webhook-signature` header.
pub const HEADER_SIGNATURE: &str = "webhook-signature";
/// What a secret's text starts with.
pub const SECRET_PREFIX: &str = "whsec_";
/// Bytes of a secret the node makes.
pub const SECRET_BYTES: usize = 32;
/// The tolerance receivers are advised to use: five minutes.
pub const DEFAULT_TOLERANCE_SECS: u64 = 5 * 60;

type HmacSha256 = Hmac<Sha256>;

/// An endpoint's signing secret. `Debug` shows only its prefix.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(Vec<u8>);

/// A secret's text that is not `whsec_` and base64 of 16 to 64 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "this is not a webhook secret: a secret is whsec_ followed by the base64 of 16 to 64 bytes"
)]
pub struct MalformedSecret;

impl WebhookSecret {
    /// [`SECRET_BYTES`] random bytes from the operating system.
    pub fn generate() -> Result<WebhookSecret, getrandom::Error> {
        let mut bytes = vec![0u8; SECRET_BYTES];
        getrandom::fill(&mut bytes)?;
        Ok(WebhookSecret(bytes))
    }

    /// The secret as given to a receiver: `whsec_` + base64.
    pub fn reveal(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(&self.0))
    }

    /// Its first characters (`whsec_` and 8 more), safe to list.
    pub fn prefix(&self) -> String {
        let mut text = self.reveal();
        text.truncate(SECRET_PREFIX.len() + 8);
        text
    }

    /// The signature header value for `id`, `timestamp` and `body`:
    /// `v1,<base64 HMAC-SHA256>`.
    pub fn sign(&self, id: &str, timestamp: u64, body: &[u8]) -> String {
        format!("v1,{}", STANDARD.encode(self.mac(id, timestamp, body)))
    }

    fn mac(&self, id: &str, timestamp: u64, body: &[u8]) -> Vec<u8> {
        let mut mac = match HmacSha256::new_from_slice(&self.0) {
            Ok(mac) => mac,
            // HMAC takes a key of any length; this cannot happen.
            Err(_) => return Vec::new(),
        };
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.finalize().into_bytes().to_vec()
    }
}

impl FromStr for WebhookSecret {
    type Err = MalformedSecret;

    /// Parses `whsec_<base64>` (the prefix may be left out, as the
    /// reference libraries allow).
    fn from_str(text: &str) -> Result<WebhookSecret, MalformedSecret> {
        let text = text.trim();
        let encoded = text.strip_prefix(SECRET_PREFIX).unwrap_or(text);
        let bytes = STANDARD.decode(encoded).map_err(|_| MalformedSecret)?;
        if !(16..=64).contains(&bytes.len()) {
            return Err(MalformedSecret);
        }
        Ok(WebhookSecret(bytes))
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WebhookSecret({}…)", self.prefix())
    }
}

/// Why a received webhook does not verify.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The timestamp is not a whole number of seconds.
    #[error("webhook-timestamp is not a number of seconds")]
    BadTimestamp,
    /// The timestamp is too far from the receiver's clock.
    #[error(
        "webhook-timestamp is more than the tolerance away from now (a replay, or a wrong clock)"
    )]
    OutsideTolerance,
    /// No `v1,` signature matches.
    #[error("no webhook-signature matches the body")]
    BadSignature,
}

/// Checks a received webhook: `signatures` is the `webhook-signature`
/// header (space-separated `v1,<base64>` entries), `timestamp` the
/// `webhook-timestamp` header, `now_secs` the receiver's clock, and the
/// timestamp may be at most `tolerance_secs` from it.
pub fn verify(
    secret: &WebhookSecret,
    id: &str,
    timestamp: &str,
    body: &[u8],
    signatures: &str,
    now_secs: u64,
    tolerance_secs: u64,
) -> Result<(), VerifyError> {
    let sent: u64 = timestamp
        .trim()
        .parse()
        .map_err(|_| VerifyError::BadTimestamp)?;
    if sent.abs_diff(now_secs) > tolerance_secs {
        return Err(VerifyError::OutsideTolerance);
    }
    let expected = secret.mac(id, sent, body);
    let matches = signatures
        .split(' ')
        .filter_map(|entry| entry.split_once(','))
        .filter(|(version, _)| *version == "v1")
        .filter_map(|(_, encoded)| STANDARD.decode(encoded).ok())
        .any(|given| constant_time_eq(&given, &expected));
    if matches {
        Ok(())
    } else {
        Err(VerifyError::BadSignature)
    }
}

/// Compares without leaking where two byte strings differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    // The reference libraries' test vector (standard-webhooks, Svix).
    const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const ID: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
    const TIMESTAMP: u64 = 1_649_367_553;
    const BODY: &[u8] = br#"{"email":"test@example.com","username":"test_user"}"#;
    const SIGNATURE: &str = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";

    #[test]
    fn the_specification_vector_signs_and_verifies() {
        let secret: WebhookSecret = SECRET.parse().unwrap();
        assert_eq!(secret.sign(ID, TIMESTAMP, BODY), SIGNATURE);
        assert_eq!(secret.reveal(), SECRET);
        verify(
            &secret,
            ID,
            "1649367553",
            BODY,
            SIGNATURE,
            TIMESTAMP + 10,
            300,
        )
        .unwrap();
        // Several signatures (secret rotation): any may match.
        let several = format!("v1,AAAA v1a,xyz {SIGNATURE}");
        verify(&secret, ID, "1649367553", BODY, &several, TIMESTAMP, 300).unwrap();
    }

    #[test]
    fn a_changed_body_id_timestamp_or_secret_does_not_verify() {
        let secret: WebhookSecret = SECRET.parse().unwrap();
        let check = |secret: &WebhookSecret, id: &str, ts: &str, body: &[u8]| {
            verify(secret, id, ts, body, SIGNATURE, TIMESTAMP, 300)
        };
        let other = WebhookSecret::generate().unwrap();
        assert_eq!(
            check(&other, ID, "1649367553", BODY),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(
            check(&secret, "msg_other", "1649367553", BODY),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(
            check(&secret, ID, "1649367554", BODY),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(
            check(&secret, ID, "1649367553", b"{}"),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(
            check(&secret, ID, "soon", BODY),
            Err(VerifyError::BadTimestamp)
        );
        let old = verify(
            &secret,
            ID,
            "1649367553",
            BODY,
            SIGNATURE,
            TIMESTAMP + 301,
            300,
        );
        assert_eq!(old, Err(VerifyError::OutsideTolerance));
        let early = verify(
            &secret,
            ID,
            "1649367553",
            BODY,
            SIGNATURE,
            TIMESTAMP - 301,
            300,
        );
        assert_eq!(early, Err(VerifyError::OutsideTolerance));
        assert_eq!(
            verify(
                &secret,
                ID,
                "1649367553",
                BODY,
                "v2,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=",
                TIMESTAMP,
                300
            ),
            Err(VerifyError::BadSignature)
        );
    }

    #[test]
    fn made_secrets_round_trip_and_hide_in_debug() {
        let secret = WebhookSecret::generate().unwrap();
        let text = secret.reveal();
        assert!(text.starts_with("whsec_"));
        assert_eq!(text.parse::<WebhookSecret>().unwrap(), secret);
        assert!(text.starts_with(&secret.prefix()));
        assert!(!format!("{secret:?}").contains(&text[14..]));
        assert_ne!(WebhookSecret::generate().unwrap(), secret);
        for bad in ["", "whsec_", "whsec_!!!!", "whsec_AAAA"] {
            assert_eq!(bad.parse::<WebhookSecret>(), Err(MalformedSecret), "{bad}");
        }
    }
}
