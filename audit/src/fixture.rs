//! Builds certified chains offline, for tests and benchmarks (feature
//! `fixture`): a [`ChainFixture`] holds the member keys, packs transactions
//! into blocks with the ledger's [`BlockBuilder`], signs their commit
//! certificates and hands each final block to a [`ChainSink`]: nothing
//! (`()`), a [`MemoryChain`] that is also a [`BlockSource`], or a node's
//! store (`guild-store` implements the sink for its `Store` with its
//! `fixture` feature, committing exactly as a node does).
//!
//! Nothing here is used by a running node.

use crate::{AuditError, BlockSource, Discrepancy, Rule, SourceError};
use guild_ledger::block::{
    BlockHeader, CommitCertificate, CommitSignature, FinalBlock, Vote, VoteKind,
};
use guild_ledger::codec;
use guild_ledger::crypto::{Address, Keypair};
use guild_ledger::error::{BlockError, GenesisError, TxError};
use guild_ledger::genesis::Genesis;
use guild_ledger::hash::Hash;
use guild_ledger::state::{Applied, BlockBuilder, State};
use guild_ledger::tx::{SignedTransaction, Transaction, TxBody};
use guild_ledger::types::{Height, Nonce, Timestamp};
use rayon::prelude::*;
use std::collections::{BTreeSet, HashMap};
use std::convert::Infallible;

/// Why a fixture block could not be built. `E` is the sink's error.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError<E: std::error::Error + 'static = Infallible> {
    /// The genesis is not valid.
    #[error(transparent)]
    Genesis(#[from] GenesisError),
    /// The block is not valid.
    #[error(transparent)]
    Block(#[from] BlockError),
    /// A transaction is refused.
    #[error("transaction {index} is refused: {error}")]
    Tx {
        /// Its position in the block.
        index: usize,
        /// The rule.
        #[source]
        error: TxError,
    },
    /// A transaction's signature does not verify.
    #[error("transaction {index} has a bad signature")]
    BadSignature {
        /// Its position in the block.
        index: usize,
    },
    /// A name or chain id is not valid.
    #[error(transparent)]
    Text(#[from] guild_ledger::types::TextError),
    /// No current member's key is known.
    #[error("no key of a current member is known to propose the block")]
    NoProposer,
    /// The sink refused the block (e.g. storing failed).
    #[error("the fixture's sink failed: {source}")]
    Sink {
        /// The sink's error.
        #[source]
        source: E,
    },
}

/// Where a [`ChainFixture`] puts what it builds.
pub trait ChainSink {
    /// Why the sink can fail.
    type Error: std::error::Error + Send + 'static;

    /// Records the genesis (before any block).
    fn genesis(&mut self, header: &BlockHeader, state: &State) -> Result<(), Self::Error>;

    /// Records one final block: `before` is the state it applies to,
    /// `applied` what applying it gave, `block` the block with its
    /// certificate.
    fn commit(
        &mut self,
        before: &State,
        applied: &Applied,
        block: &FinalBlock,
    ) -> Result<(), Self::Error>;
}

/// Keeps nothing.
impl ChainSink for () {
    type Error = Infallible;

    fn genesis(&mut self, _: &BlockHeader, _: &State) -> Result<(), Infallible> {
        Ok(())
    }

    fn commit(&mut self, _: &State, _: &Applied, _: &FinalBlock) -> Result<(), Infallible> {
        Ok(())
    }
}

/// A chain kept in memory: every block's canonical bytes, the state after
/// the last block and each member set; a [`BlockSource`] for tests that
/// need no storage.
#[derive(Clone, Debug, Default)]
pub struct MemoryChain {
    genesis: Option<Hash>,
    blocks: Vec<Vec<u8>>,
    state: Option<State>,
    member_sets: Vec<(Height, BTreeSet<Address>)>,
}

impl MemoryChain {
    /// The canonical bytes of the block at `height`, to tamper with.
    pub fn block_bytes_mut(&mut self, height: Height) -> Option<&mut Vec<u8>> {
        let index = usize::try_from(height.0).ok()?.checked_sub(1)?;
        self.blocks.get_mut(index)
    }
}

impl ChainSink for MemoryChain {
    type Error = Infallible;

    fn genesis(&mut self, header: &BlockHeader, state: &State) -> Result<(), Infallible> {
        self.genesis = Some(header.hash());
        self.state = Some(state.clone());
        self.member_sets = vec![(Height(0), state.member_set())];
        Ok(())
    }

    fn commit(
        &mut self,
        before: &State,
        applied: &Applied,
        block: &FinalBlock,
    ) -> Result<(), Infallible> {
        self.blocks.push(codec::encode(block));
        let members = applied.state.member_set();
        if members != before.member_set() {
            let from = Height(block.block.header.height.0 + 1);
            self.member_sets.push((from, members));
        }
        self.state = Some(applied.state.clone());
        Ok(())
    }
}

impl BlockSource for MemoryChain {
    fn describe(&self) -> String {
        "a chain in memory".to_string()
    }

    fn genesis_hash(&mut self) -> Result<Option<Hash>, SourceError> {
        Ok(self.genesis)
    }

    fn head(&mut self) -> Result<Height, SourceError> {
        Ok(Height(self.blocks.len() as u64))
    }

    fn blocks(&mut self, from: Height, count: usize) -> Result<Vec<Option<Vec<u8>>>, SourceError> {
        Ok((0..count as u64)
            .map(|i| {
                let height = from.0 + i;
                let index = usize::try_from(height).ok()?.checked_sub(1)?;
                self.blocks.get(index).cloned()
            })
            .collect())
    }

    fn check_final(
        &mut self,
        state: &State,
        head: &BlockHeader,
        member_sets: &[(Height, BTreeSet<Address>)],
    ) -> Result<(), AuditError> {
        let kept = self.state.as_ref().map(State::root);
        if kept != Some(state.root()) {
            return Err(Discrepancy::at(
                head.height,
                Rule::StoredState,
                "the state kept in memory is not the replayed state",
            )
            .into());
        }
        for (height, members) in member_sets {
            let kept = self
                .member_sets
                .iter()
                .rev()
                .find(|(from, _)| from <= height)
                .map(|(_, m)| m);
            if kept != Some(members) {
                return Err(Discrepancy::at(
                    *height,
                    Rule::StoredMembers,
                    format!("the member set kept for height {height} is not the replayed one"),
                )
                .into());
            }
        }
        Ok(())
    }
}

/// A chain being built (see the module docs).
pub struct ChainFixture<S: ChainSink = ()> {
    genesis: Genesis,
    keys: HashMap<Address, Keypair>,
    nonces: HashMap<Address, u64>,
    state: State,
    head: BlockHeader,
    genesis_header: BlockHeader,
    sink: S,
}

impl<S: ChainSink> ChainFixture<S> {
    /// Starts from `genesis`, knowing the member `keys` (at least one must
    /// be a member to propose); every block is also handed to `sink`.
    pub fn new(
        genesis: Genesis,
        keys: Vec<Keypair>,
        mut sink: S,
    ) -> Result<ChainFixture<S>, FixtureError<S::Error>> {
        let (state, header) = genesis.build()?;
        sink.genesis(&header, &state)
            .map_err(|source| FixtureError::Sink { source })?;
        Ok(ChainFixture {
            genesis,
            keys: keys.into_iter().map(|k| (k.address(), k)).collect(),
            nonces: HashMap::new(),
            state,
            genesis_header: header.clone(),
            head: header,
            sink,
        })
    }

    /// Signs a transaction by `key` with its next nonce (counted by the
    /// fixture).
    pub fn sign(&mut self, key: &Keypair, body: TxBody) -> SignedTransaction {
        let nonce = self.nonces.entry(key.address()).or_default();
        let tx = Transaction {
            author: key.address(),
            nonce: Nonce(*nonce),
            body,
        };
        *nonce += 1;
        tx.sign(key, &self.genesis.chain_id)
    }

    /// The genesis.
    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    /// The genesis header.
    pub fn genesis_header(&self) -> &BlockHeader {
        &self.genesis_header
    }

    /// The state after the last block.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The last block's header.
    pub fn head(&self) -> &BlockHeader {
        &self.head
    }

    /// Where the blocks went.
    pub fn sink(&self) -> &S {
        &self.sink
    }

    /// Where the blocks went (to tamper with them).
    pub fn sink_mut(&mut self) -> &mut S {
        &mut self.sink
    }

    /// Ends building and gives the sink back (for a store: closes it when
    /// dropped).
    pub fn into_sink(self) -> S {
        self.sink
    }

    /// Builds the next block at `time` holding `txs`, certified by every
    /// current member whose key is known.
    pub fn block(
        &mut self,
        time: Timestamp,
        txs: Vec<SignedTransaction>,
    ) -> Result<FinalBlock, FixtureError<S::Error>> {
        let signers: Vec<Keypair> = self
            .state
            .members()
            .filter_map(|m| self.keys.get(&m.address).cloned())
            .collect();
        self.block_signed_by(time, txs, &signers)
    }

    /// Builds the next block at `time` holding `txs`, with a certificate
    /// signed by exactly `signers` (members or not: this is how tests make
    /// bad certificates).
    pub fn block_signed_by(
        &mut self,
        time: Timestamp,
        txs: Vec<SignedTransaction>,
        signers: &[Keypair],
    ) -> Result<FinalBlock, FixtureError<S::Error>> {
        let proposer = self
            .state
            .members()
            .find(|m| self.keys.contains_key(&m.address))
            .map(|m| m.address)
            .ok_or(FixtureError::NoProposer)?;
        let chain_id = &self.genesis.chain_id;
        let mut builder = BlockBuilder::new(&self.state, &self.head, time, proposer)?;
        let verified: Vec<_> = txs
            .into_par_iter()
            .enumerate()
            .map(|(index, tx)| {
                tx.verify(chain_id)
                    .map_err(|_| FixtureError::BadSignature { index })
            })
            .collect::<Result<_, _>>()?;
        for (index, tx) in verified.into_iter().enumerate() {
            builder
                .push(tx)
                .map_err(|error| FixtureError::Tx { index, error })?;
        }
        let applied = builder.finish();
        let header = applied.block.header().clone();
        let mut certificate = CommitCertificate {
            height: header.height,
            round: 0,
            block_hash: header.hash(),
            signatures: Vec::new(),
        };
        let vote = Vote {
            kind: VoteKind::Precommit,
            height: header.height,
            round: 0,
            block: Some(certificate.block_hash),
        };
        certificate.signatures = signers
            .iter()
            .map(|key| CommitSignature {
                voter: key.address(),
                signature: vote.sign(key, chain_id),
            })
            .collect();
        certificate.signatures.sort_by_key(|s| s.voter);
        let final_block = FinalBlock {
            block: applied.block.clone().into_block(),
            certificate,
        };
        self.sink
            .commit(&self.state, &applied, &final_block)
            .map_err(|source| FixtureError::Sink { source })?;
        self.head = header;
        self.state = applied.state;
        Ok(final_block)
    }

    /// The height of the last block.
    pub fn height(&self) -> Height {
        self.head.height
    }
}

/// The worked example of `docs/audit.md`: three shops over January and
/// February 2026 (settlement value 5 cents a point, points valid 30 days).
///
/// | block | time (UTC) | transactions |
/// |---|---|---|
/// | 1 | Jan 2 10:00 | Bakery earns 100 to customer 1 (receipt `b-1`) and 50 to customer 2 (`b-2`) |
/// | 2 | Jan 5 10:00 | Cafe earns 40 to customer 1 (`c-1`); Bookshop earns 30 to customer 3 (`k-1`) |
/// | 3 | Jan 10 10:00 | customer 1 redeems 120 at Cafe; customer 2 sends 20 to customer 4 |
/// | 4 | Jan 12 10:00 | customer 4 redeems 20 at Bookshop; customer 3 redeems 10 at Bakery |
/// | 5 | Jan 15 10:00 | Bakery reverses `b-2`; Cafe acknowledges 40 paid by Bakery |
/// | 6 | Jan 20 10:00 | Bakery earns 25 to customer 3 (`b-3`) |
/// | 7 | Feb 1 10:00 | Bakery earns 10 to customer 2 (`b-4`) |
/// | 8 | Feb 6 10:00 | (Cafe's and Bookshop's Jan 5 points expire) Bakery acknowledges 10 paid by Bookshop; customer 3 redeems 25 at Cafe; Bakery earns 5 to customer 4 (`b-5`) |
///
/// Shops are keys `[1; 32]`, `[2; 32]`, `[3; 32]`; customer `n` is key
/// `[100 + n; 32]`. Every block is also handed to `sink`.
pub fn example_chain<S: ChainSink>(sink: S) -> Result<ChainFixture<S>, FixtureError<S::Error>> {
    use guild_ledger::genesis::GenesisMember;
    use guild_ledger::params::Params;
    use guild_ledger::types::{Cents, ChainId, Points, ReceiptHash, ShopName};

    const JAN_1: u64 = 1_767_225_600_000;
    const DAY: u64 = 86_400_000;
    const HOUR: u64 = 3_600_000;
    let at = |day_of_2026: u64| Timestamp(JAN_1 + (day_of_2026 - 1) * DAY + 10 * HOUR);
    let key = |n: u8| Keypair::from_secret(&[n; 32]);
    let (bakery, cafe, bookshop) = (key(1), key(2), key(3));
    let customer = |n: u8| key(100 + n).address();
    let names = ["Bakery", "Cafe", "Bookshop"];
    let mut members = Vec::new();
    for (k, name) in [&bakery, &cafe, &bookshop].into_iter().zip(names) {
        members.push(GenesisMember {
            name: ShopName::new(name)?,
            address: k.address(),
        });
    }
    let genesis = Genesis {
        programme: Default::default(),
        chain_id: ChainId::new("main-street")?,
        time: Timestamp(JAN_1),
        members,
        params: Params {
            point_expiry_days: 30,
            settlement_cents_per_point: Cents(5),
            governance_delay: 1,
            ..Params::default()
        },
    };
    let mut c = ChainFixture::new(
        genesis,
        vec![bakery.clone(), cafe.clone(), bookshop.clone()],
        sink,
    )?;
    let reason = guild_ledger::Memo::new("fixture earn").map_err(|_| FixtureError::Tx {
        index: 0,
        error: TxError::MissingReason,
    })?;
    let earn = |c: &mut ChainFixture<S>, shop: &Keypair, to: u8, points: u64, receipt: &str| {
        c.sign(
            shop,
            TxBody::Earn {
                reason: reason.clone(),
                customer: customer(to),
                points: Points(points),
                purchase: None,
                receipt: ReceiptHash::new(&shop.address(), receipt),
            },
        )
    };
    let redeem = |c: &mut ChainFixture<S>, who: u8, shop: &Keypair, points: u64| {
        c.sign(
            &key(100 + who),
            TxBody::Redeem {
                shop: shop.address(),
                points: Points(points),
            },
        )
    };
    let settle = |c: &mut ChainFixture<S>, creditor: &Keypair, debtor: &Keypair, points: u64| {
        c.sign(
            creditor,
            TxBody::Settle {
                debtor: debtor.address(),
                points: Points(points),
            },
        )
    };

    let txs = vec![
        earn(&mut c, &bakery, 1, 100, "b-1"),
        earn(&mut c, &bakery, 2, 50, "b-2"),
    ];
    c.block(at(2), txs)?;
    let txs = vec![
        earn(&mut c, &cafe, 1, 40, "c-1"),
        earn(&mut c, &bookshop, 3, 30, "k-1"),
    ];
    c.block(at(5), txs)?;
    let send = c.sign(
        &key(102),
        TxBody::Transfer {
            to: customer(4),
            points: Points(20),
            memo: None,
        },
    );
    let txs = vec![redeem(&mut c, 1, &cafe, 120), send];
    c.block(at(10), txs)?;
    let txs = vec![
        redeem(&mut c, 4, &bookshop, 20),
        redeem(&mut c, 3, &bakery, 10),
    ];
    c.block(at(12), txs)?;
    let reverse = c.sign(
        &bakery,
        TxBody::Reverse {
            amount: None,
            receipt: ReceiptHash::new(&bakery.address(), "b-2"),
        },
    );
    let txs = vec![reverse, settle(&mut c, &cafe, &bakery, 40)];
    c.block(at(15), txs)?;
    let txs = vec![earn(&mut c, &bakery, 3, 25, "b-3")];
    c.block(at(20), txs)?;
    let txs = vec![earn(&mut c, &bakery, 2, 10, "b-4")];
    c.block(at(32), txs)?;
    let txs = vec![
        settle(&mut c, &bakery, &bookshop, 10),
        redeem(&mut c, 3, &cafe, 25),
        earn(&mut c, &bakery, 4, 5, "b-5"),
    ];
    c.block(at(37), txs)?;
    Ok(c)
}
