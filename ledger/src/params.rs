//! Network parameters, changed only by a passed governance proposal.

use crate::types::{Cents, Points};

/// The rules a network runs by. Fixed at genesis; changed by `SetParam`
/// proposals, which take effect at a defined height.
#[derive(
    Clone,
    Debug,
    PartialEq,
    Eq,
    bincode::Encode,
    bincode::Decode,
    serde::Serialize,
    serde::Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Params {
    /// Days a point stays valid after it is earned (the lot expires at the
    /// first midnight UTC after that many days). A later change never
    /// shortens lots already issued: their expiry is fixed in the lot.
    pub point_expiry_days: u32,
    /// What one point is worth, in cents, when one shop settles with another.
    pub settlement_cents_per_point: Cents,
    /// The most points one shop may issue in one UTC day.
    pub daily_issuance_cap: Points,
    /// Largest encoded signed transaction, in bytes.
    pub max_tx_bytes: u32,
    /// Largest encoded block, in bytes.
    pub max_block_bytes: u32,
    /// Most transactions in one block.
    pub max_block_txs: u32,
    /// Blocks between a proposal passing and taking effect (at least 1).
    pub governance_delay: u64,
}

/// Hard bounds on parameters, so no governance vote can make blocks larger
/// than nodes can decode or points that never expire.
pub mod bounds {
    /// Longest expiry period: ten years.
    pub const MAX_EXPIRY_DAYS: u32 = 3_650;
    /// Largest transaction any network may allow.
    pub const MAX_TX_BYTES: u32 = 16 * 1024;
    /// Smallest transaction limit: every kind fits, except a transfer with
    /// a long memo.
    pub const MIN_TX_BYTES: u32 = 256;
    /// Largest block any network may allow (well under the decoder limit).
    pub const MAX_BLOCK_BYTES: u32 = 4 * 1024 * 1024;
    /// Most transactions per block any network may allow.
    pub const MAX_BLOCK_TXS: u32 = 20_000;
    /// Longest governance delay, in blocks.
    pub const MAX_GOVERNANCE_DELAY: u64 = 1_000_000;
    /// Most members a network may have (bounds certificate size).
    pub const MAX_MEMBERS: usize = 100;
}

/// A parameter value outside its allowed range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid parameter {name}: {value} is outside {min}..={max}")]
pub struct ParamError {
    /// Which parameter.
    pub name: &'static str,
    /// The value given.
    pub value: u64,
    /// Smallest allowed.
    pub min: u64,
    /// Largest allowed.
    pub max: u64,
}

fn check(name: &'static str, value: u64, min: u64, max: u64) -> Result<(), ParamError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(ParamError {
            name,
            value,
            min,
            max,
        })
    }
}

impl Params {
    /// Checks every parameter against [`bounds`].
    pub fn validate(&self) -> Result<(), ParamError> {
        check(
            "point_expiry_days",
            self.point_expiry_days.into(),
            1,
            bounds::MAX_EXPIRY_DAYS.into(),
        )?;
        check(
            "settlement_cents_per_point",
            self.settlement_cents_per_point.0,
            0,
            1_000_000,
        )?;
        check(
            "daily_issuance_cap",
            self.daily_issuance_cap.0,
            1,
            1_000_000_000_000,
        )?;
        check(
            "max_tx_bytes",
            self.max_tx_bytes.into(),
            bounds::MIN_TX_BYTES.into(),
            bounds::MAX_TX_BYTES.into(),
        )?;
        check(
            "max_block_bytes",
            self.max_block_bytes.into(),
            u64::from(self.max_tx_bytes) + 1024,
            bounds::MAX_BLOCK_BYTES.into(),
        )?;
        check(
            "max_block_txs",
            self.max_block_txs.into(),
            1,
            bounds::MAX_BLOCK_TXS.into(),
        )?;
        check(
            "governance_delay",
            self.governance_delay,
            1,
            bounds::MAX_GOVERNANCE_DELAY,
        )
    }

    /// These parameters with one change applied.
    pub fn with(&self, change: &ParamChange) -> Params {
        let mut out = self.clone();
        match *change {
            ParamChange::PointExpiryDays(v) => out.point_expiry_days = v,
            ParamChange::SettlementCentsPerPoint(v) => out.settlement_cents_per_point = v,
            ParamChange::DailyIssuanceCap(v) => out.daily_issuance_cap = v,
            ParamChange::MaxTxBytes(v) => out.max_tx_bytes = v,
            ParamChange::MaxBlockBytes(v) => out.max_block_bytes = v,
            ParamChange::MaxBlockTxs(v) => out.max_block_txs = v,
            ParamChange::GovernanceDelay(v) => out.governance_delay = v,
        }
        out
    }
}

impl Default for Params {
    /// Defaults suited to a high-street group: points last a year, are worth
    /// one cent each, and a shop may issue up to a million a day.
    fn default() -> Params {
        Params {
            point_expiry_days: 365,
            settlement_cents_per_point: Cents(1),
            daily_issuance_cap: Points(1_000_000),
            max_tx_bytes: 1_024,
            max_block_bytes: 2 * 1024 * 1024,
            max_block_txs: 5_000,
            governance_delay: 2,
        }
    }
}

/// One parameter change, as carried by a `SetParam` proposal.
#[derive(
    Clone,
    Debug,
    PartialEq,
    Eq,
    bincode::Encode,
    bincode::Decode,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ParamChange {
    /// New `point_expiry_days` (applies to lots issued afterwards).
    PointExpiryDays(u32),
    /// New `settlement_cents_per_point`.
    SettlementCentsPerPoint(Cents),
    /// New `daily_issuance_cap`.
    DailyIssuanceCap(Points),
    /// New `max_tx_bytes`.
    MaxTxBytes(u32),
    /// New `max_block_bytes`.
    MaxBlockBytes(u32),
    /// New `max_block_txs`.
    MaxBlockTxs(u32),
    /// New `governance_delay`.
    GovernanceDelay(u64),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert_eq!(Params::default().validate(), Ok(()));
    }

    #[test]
    fn out_of_range_values_are_named() {
        let p = Params::default().with(&ParamChange::PointExpiryDays(0));
        assert_eq!(p.validate().map_err(|e| e.name), Err("point_expiry_days"));
        let p = Params::default().with(&ParamChange::MaxBlockBytes(100));
        assert_eq!(p.validate().map_err(|e| e.name), Err("max_block_bytes"));
        let p = Params::default().with(&ParamChange::GovernanceDelay(0));
        assert_eq!(p.validate().map_err(|e| e.name), Err("governance_delay"));
    }
}
