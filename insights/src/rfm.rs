//! RFM scores: quintiles 1–5 of recency, frequency and monetary value over
//! a shop's customers, and the segment they name.
//!
//! ## The three measures
//!
//! For each customer with at least one purchase (in the scope, up to the
//! day the scores are *as of*):
//!
//! - **R**ecency: days from the last purchase day to the as-of day; fewer
//!   is better.
//! - **F**requency: the number of days with a purchase (two purchases on
//!   one day are one purchase day); more is better.
//! - **M**onetary: the spend, net of refunds; more is better.
//!
//! ## The score: a mid-rank quintile
//!
//! Among the `n` customers scored, a value that `below` customers do
//! worse than and `ties` customers (itself included) share gets
//!
//! ```text
//! score = 1 + floor(5 × (2·below + ties) / (2·n))      (1 to 5)
//! ```
//!
//! that is, the quintile of its *mid-rank* `(below + ties / 2) / n`. So:
//!
//! - **ties:** equal values always get the same score (a score never
//!   depends on the order customers are listed in);
//! - with distinct values and `n` a multiple of 5, exactly a fifth of the
//!   customers get each score (10 customers: 1,1,2,2,3,3,4,4,5,5);
//! - **small populations:** one customer, or customers who all share a
//!   value, score 3 (the middle: neither better nor worse than the rest);
//!   2 distinct customers score 2 and 4, 3 score 1, 3 and 5, 4 score
//!   1, 2, 4 and 5;
//! - a value shared by many customers gets the score of the middle of its
//!   run: with frequencies `1,1,1,2,5` the three one-day customers score
//!   2, the others 4 and 5.
//!
//! The segment follows from R and F by [`Segment::of`]
//! (docs/insights.md prints the table and its order).

use crate::Segment;
use crate::history::Customer;
use crate::purchase::Day;
use std::cmp::Reverse;

/// The raw RFM measures of one customer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RfmInput {
    /// Days since the last purchase day (lower is better).
    pub recency_days: u64,
    /// Purchase days.
    pub frequency: u32,
    /// Spend, in minor units.
    pub monetary: u64,
}

impl RfmInput {
    /// A customer's measures as of the end of `as_of` (`None` if they had
    /// no purchase by then).
    pub fn of(customer: &Customer, as_of: Day) -> Option<RfmInput> {
        let customer = customer.up_to(as_of)?;
        let last = customer.last_day()?;
        Some(RfmInput {
            recency_days: as_of.0.saturating_sub(last.0),
            frequency: customer.purchase_days(),
            monetary: customer.spend(),
        })
    }
}

/// A customer's three scores, each 1 (worst) to 5 (best).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rfm {
    /// Recency score.
    pub r: u8,
    /// Frequency score.
    pub f: u8,
    /// Monetary score.
    pub m: u8,
}

impl Rfm {
    /// The segment these scores name ([`Segment::of`] of R and F).
    pub fn segment(self) -> Segment {
        Segment::of(self.r, self.f)
    }
}

/// The mid-rank quintile of each value (higher values are better), in the
/// order given; see the module documentation.
pub fn quintiles<T: Ord>(values: &[T]) -> Vec<u8> {
    let n = values.len() as u128;
    let mut sorted: Vec<&T> = values.iter().collect();
    sorted.sort();
    values
        .iter()
        .map(|v| {
            let below = sorted.partition_point(|x| *x < v) as u128;
            let ties = sorted.partition_point(|x| *x <= v) as u128 - below;
            let score = 1 + 5 * (2 * below + ties) / (2 * n);
            score.min(5) as u8
        })
        .collect()
}

/// The RFM scores of each customer's measures, in the order given.
pub fn score(inputs: &[RfmInput]) -> Vec<Rfm> {
    let recency: Vec<Reverse<u64>> = inputs.iter().map(|i| Reverse(i.recency_days)).collect();
    let frequency: Vec<u32> = inputs.iter().map(|i| i.frequency).collect();
    let monetary: Vec<u64> = inputs.iter().map(|i| i.monetary).collect();
    let (r, f, m) = (
        quintiles(&recency),
        quintiles(&frequency),
        quintiles(&monetary),
    );
    r.into_iter()
        .zip(f)
        .zip(m)
        .map(|((r, f), m)| Rfm { r, f, m })
        .collect()
}

/// One scored customer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scored {
    /// The customer as of the scoring day.
    pub customer: Customer,
    /// Their measures.
    pub input: RfmInput,
    /// Their scores.
    pub rfm: Rfm,
}

impl Scored {
    /// Their segment.
    pub fn segment(&self) -> Segment {
        self.rfm.segment()
    }
}

/// Scores every customer who had bought by the end of `as_of`, among
/// themselves; customers who had not are left out. The order is kept.
pub fn score_customers(customers: &[Customer], as_of: Day) -> Vec<Scored> {
    let measured: Vec<(Customer, RfmInput)> = customers
        .iter()
        .filter_map(|c| {
            let input = RfmInput::of(c, as_of)?;
            Some((c.up_to(as_of)?, input))
        })
        .collect();
    let inputs: Vec<RfmInput> = measured.iter().map(|(_, i)| *i).collect();
    measured
        .into_iter()
        .zip(score(&inputs))
        .map(|((customer, input), rfm)| Scored {
            customer,
            input,
            rfm,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quintiles_of_distinct_values() {
        assert_eq!(quintiles(&[7]), vec![3]);
        assert_eq!(quintiles(&[1, 2]), vec![2, 4]);
        assert_eq!(quintiles(&[1, 2, 3]), vec![1, 3, 5]);
        assert_eq!(quintiles(&[1, 2, 3, 4]), vec![1, 2, 4, 5]);
        assert_eq!(quintiles(&[1, 2, 3, 4, 5]), vec![1, 2, 3, 4, 5]);
        // Ten customers: two per score; the order given is kept.
        assert_eq!(
            quintiles(&[10, 1, 9, 2, 8, 3, 7, 4, 6, 5]),
            vec![5, 1, 5, 1, 4, 2, 4, 2, 3, 3]
        );
        assert_eq!(quintiles::<u32>(&[]), Vec::<u8>::new());
    }

    #[test]
    fn equal_values_get_the_same_score() {
        // All equal: the middle.
        assert_eq!(quintiles(&[4, 4, 4, 4]), vec![3, 3, 3, 3]);
        // 1,1,1,2,5 (n = 5): the 1s have below 0, ties 3:
        // 1 + floor(5·3/10) = 2; the 2: below 3, ties 1: 1 + floor(5·7/10)
        // = 4; the 5: below 4, ties 1: 1 + floor(5·9/10) = 5.
        assert_eq!(quintiles(&[1, 2, 1, 5, 1]), vec![2, 4, 2, 5, 2]);
        // 0,0,0,0,0,0,0,0,3,3 (n = 10): 0s: 1 + floor(5·8/20) = 3;
        // 3s: below 8, ties 2: 1 + floor(5·18/20) = 5.
        let values = [0, 0, 0, 0, 0, 0, 0, 0, 3, 3];
        assert_eq!(quintiles(&values), vec![3, 3, 3, 3, 3, 3, 3, 3, 5, 5]);
    }

    #[test]
    fn five_customers_scored_by_hand() {
        // Recency (days), purchase days, spend (pence):
        //   a:   0, 6, 9000   b: 10, 4, 3000   c: 10, 1, 500
        //   d:  40, 5, 12000  e: 100, 1, 800
        // R (fewer days better): a is worse than nobody… it beats 4:
        //   a: below 4, ties 1 → 1 + floor(45/10) = 5
        //   b, c: below 2 (d, e), ties 2 → 1 + floor(30/10) = 4
        //   d: below 1, ties 1 → 1 + floor(15/10) = 2
        //   e: below 0, ties 1 → 1 + floor(5/10) = 1
        // F: c, e (1): below 0, ties 2 → 1 + floor(10/10) = 2;
        //   b (4): below 2 → 1 + floor(25/10) = 3; d (5): below 3 →
        //   1 + floor(35/10) = 4; a (6): below 4 → 5
        // M: c 500 → 1, e 800 → 2, b 3000 → 3, a 9000 → 4, d 12000 → 5
        let input = |recency_days, frequency, monetary| RfmInput {
            recency_days,
            frequency,
            monetary,
        };
        let inputs = [
            input(0, 6, 9000),
            input(10, 4, 3000),
            input(10, 1, 500),
            input(40, 5, 12000),
            input(100, 1, 800),
        ];
        let scores = score(&inputs);
        let rfm = |r, f, m| Rfm { r, f, m };
        assert_eq!(
            scores,
            vec![
                rfm(5, 5, 4),
                rfm(4, 3, 3),
                rfm(4, 2, 1),
                rfm(2, 4, 5),
                rfm(1, 2, 2),
            ]
        );
        let segments: Vec<Segment> = scores.iter().map(|s| s.segment()).collect();
        assert_eq!(
            segments,
            vec![
                Segment::Champions,         // R5 F5
                Segment::PotentialLoyalist, // R4 F3
                Segment::PotentialLoyalist, // R4 F2
                Segment::AtRisk,            // R2 F4
                Segment::Hibernating,       // R1 F2
            ]
        );
    }

    #[test]
    fn a_lone_customer_is_in_the_middle() {
        let one = [RfmInput {
            recency_days: 0,
            frequency: 1,
            monetary: 100,
        }];
        let s = score(&one)[0];
        assert_eq!(s, Rfm { r: 3, f: 3, m: 3 });
        assert_eq!(s.segment(), Segment::NeedAttention);
    }
}
