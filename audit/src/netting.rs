//! Netting the group's debts into few payments.
//!
//! Each shop's net position is what the others owe it minus what it owes
//! them; the positions add up to zero. A plan of payments clears everyone
//! when each shop pays (or receives) exactly its net position. Finding the
//! very fewest payments is hard in general (it means splitting the shops
//! into as many groups that clear among themselves as possible); this plan
//! takes the practical route and never needs more than `n − 1` payments for
//! `n` shops with a non-zero position:
//!
//! 1. a debtor and a creditor with exactly opposite positions settle with
//!    one payment (largest first);
//! 2. then, repeatedly, the largest debtor pays the largest creditor the
//!    smaller of the two amounts (ties broken by address), which clears at
//!    least one of them.

use guild_ledger::crypto::Address;
use std::collections::BTreeMap;

/// One payment of the plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Payment {
    /// Who pays.
    pub from: Address,
    /// Who is paid.
    pub to: Address,
    /// Points' worth.
    pub points: u64,
}

/// The payments that clear the net positions `net` (positive: owed to the
/// shop; negative: owed by it). Positions must add up to zero; if they do
/// not, what is left over is not paid.
pub fn fewest_payments(net: &BTreeMap<Address, i128>) -> Vec<Payment> {
    // (amount, address), amounts > 0.
    let mut creditors: Vec<(u128, Address)> = net
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(a, n)| (n.unsigned_abs(), *a))
        .collect();
    let mut debtors: Vec<(u128, Address)> = net
        .iter()
        .filter(|(_, n)| **n < 0)
        .map(|(a, n)| (n.unsigned_abs(), *a))
        .collect();
    let largest_first = |list: &mut Vec<(u128, Address)>| {
        list.sort_by(|x, y| y.0.cmp(&x.0).then(x.1.cmp(&y.1)));
    };
    largest_first(&mut creditors);
    largest_first(&mut debtors);
    let mut payments = Vec::new();
    let mut pay = |from: Address, to: Address, amount: u128| {
        payments.push(Payment {
            from,
            to,
            points: u64::try_from(amount).unwrap_or(u64::MAX),
        });
    };

    // 1. Exact opposites.
    let mut remaining_debtors = Vec::new();
    for debtor in debtors {
        match creditors.iter().position(|c| c.0 == debtor.0) {
            Some(i) => {
                let creditor = creditors.remove(i);
                pay(debtor.1, creditor.1, debtor.0);
            }
            None => remaining_debtors.push(debtor),
        }
    }
    let mut debtors = remaining_debtors;

    // 2. Largest debtor pays largest creditor.
    while !creditors.is_empty() && !debtors.is_empty() {
        largest_first(&mut creditors);
        largest_first(&mut debtors);
        let amount = creditors[0].0.min(debtors[0].0);
        pay(debtors[0].1, creditors[0].1, amount);
        creditors[0].0 -= amount;
        debtors[0].0 -= amount;
        creditors.retain(|c| c.0 > 0);
        debtors.retain(|d| d.0 > 0);
    }
    payments
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shop(n: u8) -> Address {
        Address([n; 32])
    }

    fn positions(list: &[(u8, i128)]) -> BTreeMap<Address, i128> {
        list.iter().map(|(n, p)| (shop(*n), *p)).collect()
    }

    /// Applies the payments to the positions: everyone must end at zero.
    fn clears(net: &BTreeMap<Address, i128>, payments: &[Payment]) -> bool {
        let mut left = net.clone();
        for p in payments {
            *left.entry(p.from).or_default() += i128::from(p.points);
            *left.entry(p.to).or_default() -= i128::from(p.points);
        }
        left.values().all(|v| *v == 0)
    }

    #[test]
    fn a_chain_of_debts_becomes_one_payment() {
        // 1 owes 2 ten, 2 owes 3 ten: 1 pays 3 directly.
        let net = positions(&[(1, -10), (2, 0), (3, 10)]);
        assert_eq!(
            fewest_payments(&net),
            vec![Payment {
                from: shop(1),
                to: shop(3),
                points: 10
            }]
        );
    }

    #[test]
    fn exact_opposites_are_paired_first() {
        // Largest-first alone makes 4 payments (6→5, 5→4, 1→2, 1→2);
        // pairing the 5s first makes 3.
        let net = positions(&[(1, -6), (2, -5), (3, 5), (4, 4), (5, 2)]);
        let payments = fewest_payments(&net);
        assert!(clears(&net, &payments));
        assert_eq!(payments.len(), 3, "{payments:?}");
        assert!(payments.contains(&Payment {
            from: shop(2),
            to: shop(3),
            points: 5
        }));
    }

    #[test]
    fn never_more_than_n_minus_one_payments() {
        let mut seed = 7u64;
        for _ in 0..500 {
            let n = 2 + (seed % 9) as u8;
            let mut list = Vec::new();
            let mut sum = 0i128;
            for i in 1..n {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                let p = (seed >> 33) as i128 % 1_000 - 500;
                sum += p;
                list.push((i, p));
            }
            list.push((n, -sum));
            let net = positions(&list);
            let payments = fewest_payments(&net);
            assert!(clears(&net, &payments), "{list:?}");
            let nonzero = list.iter().filter(|(_, p)| *p != 0).count();
            assert!(payments.len() < nonzero.max(1), "{list:?}: {payments:?}");
            assert!(payments.iter().all(|p| p.points > 0 && p.from != p.to));
        }
    }

    #[test]
    fn nothing_owed_means_no_payment() {
        assert!(fewest_payments(&positions(&[(1, 0), (2, 0)])).is_empty());
        assert!(fewest_payments(&BTreeMap::new()).is_empty());
    }
}
