//! The mempool: transactions waiting for a block.
//!
//! Every admitted transaction is applied, in arrival order, on top of the
//! last final state by a speculative [`BlockBuilder`], so a transaction is
//! only admitted if it would be valid after everything already waiting (a
//! second spend of the same points is refused at the door with the same
//! precise error a block would give). After each final block the pool is
//! rebuilt on the new state: included transactions leave, and those that
//! became invalid are dropped with their reason.
//!
//! The pool is bounded in count and bytes; when full it refuses with
//! [`MempoolError::Busy`] rather than growing.

use guild_ledger::block::BlockHeader;
use guild_ledger::crypto::Address;
use guild_ledger::error::TxError;
use guild_ledger::state::{BlockBuilder, State};
use guild_ledger::tx::{SignedTransaction, TxId, VerifiedTx};
use guild_ledger::types::Timestamp;
use std::collections::{BTreeMap, HashMap};

/// Why a transaction was not admitted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MempoolError {
    /// The pool is full.
    #[error("node busy: {waiting} transactions are waiting for a block; try again in a moment")]
    Busy {
        /// Transactions waiting.
        waiting: usize,
    },
    /// The transaction would fail if included now.
    #[error("{0}")]
    Rejected(TxError),
}

/// What happened to an admitted transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Newly added.
    Added,
    /// Already waiting (a duplicate submission is harmless).
    Known,
}

/// Limits of the pool.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most transactions waiting.
    pub max_txs: usize,
    /// Most bytes of transactions waiting.
    pub max_bytes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_txs: 20_000,
            max_bytes: 16 * 1024 * 1024,
        }
    }
}

/// Transactions waiting for a block.
pub struct Mempool {
    limits: Limits,
    order: BTreeMap<u64, VerifiedTx>,
    ids: HashMap<TxId, u64>,
    next_seq: u64,
    bytes: usize,
    builder: Option<BlockBuilder>,
}

impl Mempool {
    /// An empty pool on top of `state`.
    pub fn new(limits: Limits, state: &State, parent: &BlockHeader, now: Timestamp) -> Mempool {
        Mempool {
            limits,
            order: BTreeMap::new(),
            ids: HashMap::new(),
            next_seq: 0,
            bytes: 0,
            builder: speculative(state, parent, now),
        }
    }

    /// Transactions waiting.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// True if nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// True if no transaction could be admitted now (count limit reached).
    pub fn is_full(&self) -> bool {
        self.order.len() >= self.limits.max_txs
    }

    /// True if `id` is waiting.
    pub fn contains(&self, id: &TxId) -> bool {
        self.ids.contains_key(id)
    }

    /// The waiting transaction `id`.
    pub fn get(&self, id: &TxId) -> Option<&VerifiedTx> {
        self.ids.get(id).and_then(|seq| self.order.get(seq))
    }

    /// If `signed` is exactly (same signature) a waiting transaction with
    /// id `id`, its verified form: its signature need not be checked again.
    pub fn verified(&self, id: &TxId, signed: &SignedTransaction) -> Option<VerifiedTx> {
        self.get(id).filter(|tx| tx.signed() == signed).cloned()
    }

    /// The waiting transactions in arrival order.
    pub fn iter(&self) -> impl Iterator<Item = &VerifiedTx> {
        self.order.values()
    }

    /// The speculative block everything waiting is applied to, if any: its
    /// state (the head's with the waiting transactions), height and time.
    pub fn speculative(&self) -> Option<&BlockBuilder> {
        self.builder.as_ref()
    }

    /// Admits `tx` if it would be valid after everything already waiting.
    pub fn admit(&mut self, tx: VerifiedTx) -> Result<Admission, MempoolError> {
        if self.contains(&tx.id()) {
            return Ok(Admission::Known);
        }
        if self.order.len() >= self.limits.max_txs || self.bytes + tx.size() > self.limits.max_bytes
        {
            return Err(MempoolError::Busy {
                waiting: self.order.len(),
            });
        }
        if let Some(builder) = &mut self.builder {
            builder.push(tx.clone()).map_err(MempoolError::Rejected)?;
        }
        self.insert(tx);
        Ok(Admission::Added)
    }

    fn insert(&mut self, tx: VerifiedTx) {
        self.bytes += tx.size();
        self.ids.insert(tx.id(), self.next_seq);
        self.order.insert(self.next_seq, tx);
        self.next_seq += 1;
    }

    /// Rebuilds the pool on a new final state: drops `included` and returns
    /// the transactions that are no longer valid, with the reason.
    pub fn rebuild(
        &mut self,
        state: &State,
        parent: &BlockHeader,
        now: Timestamp,
        included: &[TxId],
    ) -> Vec<(TxId, TxError)> {
        for id in included {
            if let Some(seq) = self.ids.remove(id)
                && let Some(tx) = self.order.remove(&seq)
            {
                self.bytes -= tx.size();
            }
        }
        let waiting = std::mem::take(&mut self.order);
        self.ids.clear();
        self.bytes = 0;
        self.builder = speculative(state, parent, now);
        let mut dropped = Vec::new();
        for tx in waiting.into_values() {
            let id = tx.id();
            let result = match &mut self.builder {
                Some(builder) => builder.push(tx.clone()),
                None => Ok(()),
            };
            match result {
                Ok(()) => self.insert(tx),
                Err(error) => dropped.push((id, error)),
            }
        }
        dropped
    }
}

/// A builder for the block after `parent`, used only to check admissions.
fn speculative(state: &State, parent: &BlockHeader, now: Timestamp) -> Option<BlockBuilder> {
    let time = Timestamp(now.0.max(parent.time.0.saturating_add(1)));
    let proposer: Address = state.members().next()?.address;
    BlockBuilder::new(state, parent, time, proposer).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use guild_ledger::crypto::Keypair;
    use guild_ledger::genesis::{Genesis, GenesisMember};
    use guild_ledger::params::Params;
    use guild_ledger::tx::{Transaction, TxBody};
    use guild_ledger::types::{ChainId, Nonce, Points, ReceiptHash, ShopName};

    const T0: u64 = 1_767_225_600_000;

    fn setup() -> (ChainId, Keypair, State, BlockHeader) {
        let shop = Keypair::from_secret(&[1; 32]);
        let genesis = Genesis {
            programme: Default::default(),
            chain_id: ChainId::new("test").unwrap(),
            time: Timestamp(T0),
            members: vec![GenesisMember {
                name: ShopName::new("Bakery").unwrap(),
                address: shop.address(),
            }],
            params: Params::default(),
        };
        let (state, header) = genesis.build().unwrap();
        (genesis.chain_id, shop, state, header)
    }

    fn earn(chain: &ChainId, shop: &Keypair, nonce: u64, to: &Keypair, points: u64) -> VerifiedTx {
        Transaction {
            author: shop.address(),
            nonce: Nonce(nonce),
            body: TxBody::Earn {
                reason: guild_ledger::Memo::new("goodwill").unwrap(),
                customer: to.address(),
                points: Points(points),
                purchase: None,
                receipt: ReceiptHash::new(&shop.address(), &format!("r{nonce}")),
            },
        }
        .sign(shop, chain)
        .verify(chain)
        .unwrap()
    }

    fn transfer(
        chain: &ChainId,
        from: &Keypair,
        nonce: u64,
        to: &Keypair,
        points: u64,
    ) -> VerifiedTx {
        Transaction {
            author: from.address(),
            nonce: Nonce(nonce),
            body: TxBody::Transfer {
                to: to.address(),
                points: Points(points),
                memo: None,
            },
        }
        .sign(from, chain)
        .verify(chain)
        .unwrap()
    }

    #[test]
    fn admission_sees_what_is_already_waiting() {
        let (chain, shop, state, header) = setup();
        let alice = Keypair::from_secret(&[101; 32]);
        let bob = Keypair::from_secret(&[102; 32]);
        let mut pool = Mempool::new(Limits::default(), &state, &header, Timestamp(T0 + 1000));
        assert_eq!(
            pool.admit(earn(&chain, &shop, 0, &alice, 50)),
            Ok(Admission::Added)
        );
        assert_eq!(
            pool.admit(earn(&chain, &shop, 0, &alice, 50)),
            Ok(Admission::Known)
        );
        assert_eq!(
            pool.admit(transfer(&chain, &alice, 0, &bob, 30)),
            Ok(Admission::Added)
        );
        // The second spend sees the first one: only 20 points are left.
        match pool.admit(transfer(&chain, &alice, 1, &bob, 30)) {
            Err(MempoolError::Rejected(error)) => {
                assert_eq!(error.code(), "insufficient_points", "{error}");
                assert!(error.to_string().contains("20 available"), "{error}");
            }
            other => panic!("expected a rejection, got {other:?}"),
        }
        assert_eq!(pool.len(), 2);
    }

    #[test]
    fn a_full_pool_says_busy_and_does_not_grow() {
        let (chain, shop, state, header) = setup();
        let alice = Keypair::from_secret(&[101; 32]);
        let limits = Limits {
            max_txs: 3,
            max_bytes: 1 << 20,
        };
        let mut pool = Mempool::new(limits, &state, &header, Timestamp(T0 + 1000));
        for n in 0..3 {
            assert_eq!(
                pool.admit(earn(&chain, &shop, n, &alice, 1)),
                Ok(Admission::Added)
            );
        }
        let error = pool.admit(earn(&chain, &shop, 3, &alice, 1)).unwrap_err();
        assert_eq!(error, MempoolError::Busy { waiting: 3 });
        assert!(error.to_string().starts_with("node busy"));
        assert_eq!(pool.len(), 3);
    }

    #[test]
    fn rebuild_drops_included_and_no_longer_valid_transactions() {
        let (chain, shop, state, header) = setup();
        let alice = Keypair::from_secret(&[101; 32]);
        let bob = Keypair::from_secret(&[102; 32]);
        let mut pool = Mempool::new(Limits::default(), &state, &header, Timestamp(T0 + 1000));
        let first = earn(&chain, &shop, 0, &alice, 10);
        let spend = transfer(&chain, &alice, 0, &bob, 10);
        pool.admit(first.clone()).unwrap();
        pool.admit(spend.clone()).unwrap();
        // A block includes only the earn and, from elsewhere, a different
        // transfer with Alice's nonce 0 that spends the same points.
        let mut builder =
            BlockBuilder::new(&state, &header, Timestamp(T0 + 2000), shop.address()).unwrap();
        builder.push(first.clone()).unwrap();
        let other = transfer(&chain, &alice, 0, &shop, 10);
        builder.push(other.clone()).unwrap();
        let applied = builder.finish();
        let dropped = pool.rebuild(
            &applied.state,
            applied.block.header(),
            Timestamp(T0 + 3000),
            &[first.id(), other.id()],
        );
        assert_eq!(dropped.len(), 1);
        assert_eq!(dropped[0].0, spend.id());
        assert_eq!(dropped[0].1.code(), "replay");
        assert!(pool.is_empty());
    }
}
