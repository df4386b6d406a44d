//! Pure rules for a holder's lots: how points are added, spent and taken
//! back. Lots are kept sorted by `(expires_at, issuer)` with at most one lot
//! per pair and no empty lots.

use super::model::Lot;
use crate::crypto::Address;
use crate::types::Points;

/// Adds points to `lots`, merging with a lot of the same issuer and expiry.
/// Returns `None` on overflow.
pub fn add(lots: &mut Vec<Lot>, lot: Lot) -> Option<()> {
    if lot.amount.is_zero() {
        return Some(());
    }
    let key = (lot.expires_at, lot.issuer);
    match lots.binary_search_by(|l| (l.expires_at, l.issuer).cmp(&key)) {
        Ok(i) => lots[i].amount = lots[i].amount.checked_add(lot.amount)?,
        Err(i) => lots.insert(i, lot),
    }
    Some(())
}

/// Removes `amount` points, soonest expiry first (ties: issuer address
/// order), and returns the portions removed in that order. The caller has
/// checked that the lots hold at least `amount`.
pub fn take_soonest(lots: &mut Vec<Lot>, amount: Points) -> Vec<Lot> {
    let mut left = amount;
    let mut taken = Vec::new();
    for lot in lots.iter_mut() {
        if left.is_zero() {
            break;
        }
        let part = lot.amount.min(left);
        lot.amount = lot.amount.saturating_sub(part);
        left = left.saturating_sub(part);
        taken.push(Lot {
            amount: part,
            ..*lot
        });
    }
    lots.retain(|l| !l.amount.is_zero());
    taken
}

/// Removes up to `max` points issued by `issuer`, latest expiry first (the
/// points most recently earned), and returns how many were removed.
pub fn take_back(lots: &mut Vec<Lot>, issuer: &Address, max: Points) -> Points {
    let mut left = max;
    for lot in lots.iter_mut().rev().filter(|l| l.issuer == *issuer) {
        let part = lot.amount.min(left);
        lot.amount = lot.amount.saturating_sub(part);
        left = left.saturating_sub(part);
    }
    lots.retain(|l| !l.amount.is_zero());
    max.saturating_sub(left)
}

/// Removes up to `max` points from the one lot of `issuer` expiring at
/// `expires_at` (a reversal takes back its own receipt's points), returning
/// how many were removed.
pub fn take_from(
    lots: &mut Vec<Lot>,
    issuer: &Address,
    expires_at: crate::types::Timestamp,
    max: Points,
) -> Points {
    let mut taken = Points::ZERO;
    if let Some(lot) = lots
        .iter_mut()
        .find(|l| l.issuer == *issuer && l.expires_at == expires_at)
    {
        taken = lot.amount.min(max);
        lot.amount = lot.amount.saturating_sub(taken);
    }
    lots.retain(|l| !l.amount.is_zero());
    taken
}

/// Removes the lot of `issuer` expiring at `expires_at`, returning its amount.
pub fn remove(
    lots: &mut Vec<Lot>,
    issuer: &Address,
    expires_at: crate::types::Timestamp,
) -> Points {
    match lots
        .iter()
        .position(|l| l.issuer == *issuer && l.expires_at == expires_at)
    {
        Some(i) => lots.remove(i).amount,
        None => Points::ZERO,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Timestamp;

    fn lot(issuer: u8, expires: u64, amount: u64) -> Lot {
        Lot {
            issuer: Address([issuer; 32]),
            expires_at: Timestamp(expires),
            amount: Points(amount),
        }
    }

    #[test]
    fn adding_merges_and_keeps_order() {
        let mut lots = vec![];
        add(&mut lots, lot(2, 20, 5));
        add(&mut lots, lot(1, 10, 5));
        add(&mut lots, lot(1, 20, 5));
        add(&mut lots, lot(2, 20, 1));
        assert_eq!(lots, vec![lot(1, 10, 5), lot(1, 20, 5), lot(2, 20, 6)]);
    }

    #[test]
    fn spending_takes_soonest_expiry_first() {
        let mut lots = vec![lot(1, 10, 5), lot(2, 20, 5), lot(1, 30, 5)];
        let taken = take_soonest(&mut lots, Points(7));
        assert_eq!(taken, vec![lot(1, 10, 5), lot(2, 20, 2)]);
        assert_eq!(lots, vec![lot(2, 20, 3), lot(1, 30, 5)]);
    }

    #[test]
    fn taking_back_takes_the_issuers_latest_points_only() {
        let mut lots = vec![lot(1, 10, 5), lot(2, 20, 5), lot(1, 30, 5)];
        assert_eq!(
            take_back(&mut lots, &Address([1; 32]), Points(7)),
            Points(7)
        );
        assert_eq!(lots, vec![lot(1, 10, 3), lot(2, 20, 5)]);
        assert_eq!(
            take_back(&mut lots, &Address([1; 32]), Points(9)),
            Points(3)
        );
        assert_eq!(lots, vec![lot(2, 20, 5)]);
    }
}
