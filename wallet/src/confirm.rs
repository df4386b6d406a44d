//! The customer's redemption limit: above it (or always, by the customer's
//! choice) the wallet signs a redemption only with a second confirmation.
//!
//! At a till the customer's own device signs the redemption, and that
//! signature is the customer's consent; the limit guards it against a
//! mistyped amount or a clerk's wrong figure. The setting lives in the
//! wallet file beside the key list (not secret, but authenticated with it:
//! [`crate::keystore`]), and a redemption above it is signed only when the
//! customer repeats the amount, typed at the prompt or given as
//! `--confirm POINTS`. A wrong or missing confirmation is
//! [`Error::ConfirmationNeeded`] / [`Error::ConfirmationMismatch`], and
//! nothing is signed.
//!
//! ```
//! use guild_wallet::confirm::RedeemLimit;
//! use guild_ledger::types::Points;
//!
//! let limit = RedeemLimit::Above(Points(200));
//! assert!(limit.check(Points(150), None).is_ok());
//! assert!(limit.check(Points(250), None).is_err());
//! assert!(limit.check(Points(250), Some(Points(25))).is_err());
//! assert!(limit.check(Points(250), Some(Points(250))).is_ok());
//! ```

use crate::error::{Error, Result};
use guild_ledger::types::Points;
use std::fmt;

/// When a redemption needs the customer's second confirmation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RedeemLimit {
    /// Never (the default, and what a wallet file without the setting has).
    #[default]
    Off,
    /// For redemptions of more than this many points.
    Above(Points),
    /// For every redemption.
    Always,
}

impl RedeemLimit {
    /// True if redeeming `points` needs a confirmation.
    pub fn needs_confirmation(&self, points: Points) -> bool {
        match self {
            RedeemLimit::Off => false,
            RedeemLimit::Above(limit) => points > *limit,
            RedeemLimit::Always => true,
        }
    }

    /// Why a confirmation is asked for, for the prompt: "This is above your
    /// limit of 200 points." / "You asked to confirm every redemption."
    pub fn reason(&self) -> String {
        match self {
            RedeemLimit::Off => String::new(),
            RedeemLimit::Above(limit) => {
                format!("This is above your limit of {}.", limit.counted())
            }
            RedeemLimit::Always => "You asked to confirm every redemption.".to_string(),
        }
    }

    /// Checks a redemption of `points` against the limit, with the amount
    /// the customer typed again (`confirmed`).
    pub fn check(&self, points: Points, confirmed: Option<Points>) -> Result<()> {
        if !self.needs_confirmation(points) {
            return Ok(());
        }
        match confirmed {
            Some(c) if c == points => Ok(()),
            Some(c) => Err(Error::ConfirmationMismatch {
                points,
                confirmed: c,
            }),
            None => Err(Error::ConfirmationNeeded {
                points,
                reason: self.reason(),
            }),
        }
    }
}

impl fmt::Display for RedeemLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RedeemLimit::Off => f.write_str("no confirmation asked"),
            RedeemLimit::Above(limit) => {
                write!(f, "confirmation asked above {}", limit.counted())
            }
            RedeemLimit::Always => f.write_str("confirmation asked for every redemption"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_redemptions_above_the_limit_need_the_amount_again() {
        let limit = RedeemLimit::Above(Points(200));
        assert!(!limit.needs_confirmation(Points(200)));
        assert!(limit.needs_confirmation(Points(201)));
        assert!(limit.check(Points(200), None).is_ok());
        let err = limit.check(Points(250), None).unwrap_err();
        assert_eq!(err.code(), "confirmation_needed");
        assert!(
            err.to_string().contains("above your limit of 200 points"),
            "{err}"
        );
        let err = limit.check(Points(250), Some(Points(205))).unwrap_err();
        assert_eq!(err.code(), "confirmation_mismatch");
        assert!(limit.check(Points(250), Some(Points(250))).is_ok());
    }

    #[test]
    fn always_and_off() {
        assert!(RedeemLimit::Always.check(Points(1), None).is_err());
        assert!(
            RedeemLimit::Always
                .check(Points(1), Some(Points(1)))
                .is_ok()
        );
        assert!(RedeemLimit::Off.check(Points(u64::MAX), None).is_ok());
        assert_eq!(
            RedeemLimit::Above(Points(1)).to_string(),
            "confirmation asked above 1 point"
        );
    }
}
