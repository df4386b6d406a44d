//! The verified replay: fetch, check in parallel, apply in order.

use super::source::{BlockSource, SourceError};
use super::{AuditError, Discrepancy, Rule};
use guild_ledger::block::{BlockHeader, CertificateError, CommitCertificate, FinalBlock};
use guild_ledger::codec::{self, CodecError};
use guild_ledger::crypto::Address;
use guild_ledger::error::BlockError;
use guild_ledger::genesis::Genesis;
use guild_ledger::hash::Hash;
use guild_ledger::state::{Applied, State, StateKey, Supply};
use guild_ledger::tx::{Transaction, VerifiedTx};
use guild_ledger::types::{ChainId, Height};
use guild_ledger::{SignedTransaction, VerifiedBlock};
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How to replay.
#[derive(Clone, Debug)]
pub struct VerifyOptions {
    /// Aim for windows of about this many bytes of blocks (more keeps all
    /// cores busy on chains of small blocks; less uses less memory).
    pub window_bytes: usize,
    /// At most this many blocks per window.
    pub max_window_blocks: usize,
    /// Stop at this height instead of the source's head.
    pub up_to: Option<Height>,
    /// How often the progress callback is called.
    pub progress_every: Duration,
}

impl Default for VerifyOptions {
    fn default() -> VerifyOptions {
        VerifyOptions {
            window_bytes: 256 * 1024,
            max_window_blocks: 1024,
            up_to: None,
            progress_every: Duration::from_millis(200),
        }
    }
}

/// Where the replay stands, for a progress bar.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    /// Last height verified and applied.
    pub height: Height,
    /// The height the replay goes to.
    pub head: Height,
    /// Transactions verified and applied so far.
    pub transactions: u64,
    /// Time since the replay started.
    pub elapsed: Duration,
}

/// What the replay verified.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Summary {
    /// The network.
    pub chain_id: ChainId,
    /// Hash of the genesis header.
    pub genesis_hash: Hash,
    /// What was audited (path or URL).
    pub source: String,
    /// The last height verified.
    pub height: Height,
    /// The source's head when the replay started (above `height` only
    /// with [`VerifyOptions::up_to`]; the source's state is then not
    /// compared).
    pub source_head: Height,
    /// Its block hash.
    pub head_hash: Hash,
    /// Its state root.
    pub state_root: Hash,
    /// Blocks verified.
    pub blocks: u64,
    /// Transactions verified.
    pub transactions: u64,
    /// Transactions by kind.
    pub transactions_by_kind: BTreeMap<&'static str, u64>,
    /// Signatures checked (transactions and certificate precommits).
    pub signatures: u64,
    /// Members at the head.
    pub members: Vec<super::ShopRef>,
    /// Member-set changes replayed (additions and removals taking effect).
    pub member_changes: u64,
    /// Network-wide totals at the head.
    pub supply: Supply,
    /// Points in circulation at the head.
    pub outstanding: u64,
    /// Sum of all unsettled debts between shops, in points.
    pub debts: u64,
    /// Wall time of the replay.
    pub seconds: f64,
    /// Blocks per second.
    pub blocks_per_second: f64,
    /// Transactions per second.
    pub transactions_per_second: f64,
}

/// Sees every block once it is verified and applied, in height order (the
/// reports are built this way, from the same verified pass).
pub trait BlockObserver {
    /// `before` is the state the block was applied to; `applied` holds the
    /// block, the state after it and the records it changed.
    fn block(&mut self, before: &State, applied: &Applied) -> Result<(), Discrepancy>;
}

impl BlockObserver for () {
    fn block(&mut self, _: &State, _: &Applied) -> Result<(), Discrepancy> {
        Ok(())
    }
}

/// Blocks as fetched.
struct RawWindow {
    from: Height,
    blocks: Vec<Option<Vec<u8>>>,
}

/// A transaction whose signature failed, with what is needed to locate it.
struct BadTx {
    tx: Transaction,
}

/// A block after the parallel checks.
enum Checked {
    Missing,
    Undecodable(CodecError),
    Block(Box<CheckedBlock>),
}

struct CheckedBlock {
    header: BlockHeader,
    certificate: CommitCertificate,
    /// The member set the certificate was checked against, and the outcome.
    checked_with: Arc<BTreeSet<Address>>,
    certificate_result: Result<(), CertificateError>,
    txs: Vec<Result<VerifiedTx, BadTx>>,
}

struct CheckedWindow {
    from: Height,
    blocks: Vec<Checked>,
}

/// Replays the chain of `genesis` from `source`, verifying everything (see
/// the [module docs](super)). `observer` sees each verified block;
/// `progress` is called now and then and at the end.
pub fn verify_chain(
    genesis: &Genesis,
    source: &mut dyn BlockSource,
    options: &VerifyOptions,
    observer: &mut dyn BlockObserver,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Summary, AuditError> {
    let started = Instant::now();
    let (genesis_state, genesis_header) = genesis.build()?;
    let genesis_hash = genesis_header.hash();
    if let Some(stored) = source.genesis_hash()?
        && stored != genesis_hash
    {
        return Err(Discrepancy::at(
            Height(0),
            Rule::Genesis,
            format!(
                "{} holds the chain of genesis {stored}, but the genesis given hashes to {genesis_hash}; give the genesis file of that network",
                source.describe()
            ),
        )
        .into());
    }
    let source_head = source.head()?;
    let head = options
        .up_to
        .map_or(source_head, |limit| source_head.min(limit));
    let chain_id = genesis.chain_id.clone();
    let describe = source.describe();

    let members = Arc::new(genesis_state.member_set());
    let speculative = Mutex::new(members.clone());
    let mut replay = Replay {
        chain_id: chain_id.clone(),
        state: genesis_state,
        parent: genesis_header,
        members,
        member_sets: Vec::new(),
        transactions: 0,
        by_kind: BTreeMap::new(),
        signatures: 0,
    };
    replay
        .member_sets
        .push((Height(0), (*replay.members).clone()));

    let mut last_progress = Instant::now();
    let report = |replay: &Replay, progress: &mut dyn FnMut(&Progress)| {
        progress(&Progress {
            height: replay.parent.height,
            head,
            transactions: replay.transactions,
            elapsed: started.elapsed(),
        })
    };
    report(&replay, progress);

    let outcome: Result<(), AuditError> = std::thread::scope(|scope| {
        let (raw_tx, raw_rx) = sync_channel::<Result<RawWindow, SourceError>>(2);
        let (checked_tx, checked_rx) = sync_channel::<Result<CheckedWindow, SourceError>>(2);
        scope.spawn(|| fetch(source, head, options, raw_tx));
        let checker_chain = chain_id.clone();
        let speculative = &speculative;
        scope.spawn(move || check(&checker_chain, speculative, raw_rx, checked_tx));
        for window in checked_rx {
            let window = window?;
            for (offset, block) in window.blocks.into_iter().enumerate() {
                let height = Height(window.from.0 + offset as u64);
                if replay.apply(height, block, observer)? {
                    *speculative.lock().unwrap_or_else(PoisonError::into_inner) =
                        replay.members.clone();
                }
                if last_progress.elapsed() >= options.progress_every {
                    last_progress = Instant::now();
                    report(&replay, progress);
                }
            }
        }
        if replay.parent.height != head {
            // The fetch thread stopped early without an error: it cannot,
            // but never call a short replay complete.
            return Err(Discrepancy::at(
                Height(replay.parent.height.0 + 1),
                Rule::BlockMissing,
                "the source stopped sending blocks",
            )
            .into());
        }
        Ok(())
    });
    outcome?;
    report(&replay, progress);
    if head == source_head {
        // What the source holds besides blocks describes its head: compare
        // only a complete replay.
        source.check_final(&replay.state, &replay.parent, &replay.member_sets)?;
    }

    let seconds = started.elapsed().as_secs_f64();
    let state = &replay.state;
    let per_second = |n: u64| {
        if seconds > 0.0 {
            n as f64 / seconds
        } else {
            0.0
        }
    };
    Ok(Summary {
        chain_id,
        genesis_hash,
        source: describe,
        height: replay.parent.height,
        source_head,
        head_hash: replay.parent.hash(),
        state_root: state.root(),
        blocks: replay.parent.height.0,
        transactions: replay.transactions,
        transactions_by_kind: replay.by_kind,
        signatures: replay.signatures,
        members: state
            .members()
            .map(|m| super::ShopRef {
                name: m.name.to_string(),
                address: m.address,
            })
            .collect(),
        member_changes: replay.member_sets.len() as u64 - 1,
        supply: state.supply().clone(),
        outstanding: state.supply().outstanding().0,
        debts: state.debts().map(|(_, p)| p.0).sum(),
        seconds,
        blocks_per_second: per_second(replay.parent.height.0),
        transactions_per_second: per_second(replay.transactions),
    })
}

/// The fetch thread: windows of raw blocks, sized to about
/// `options.window_bytes`.
fn fetch(
    source: &mut dyn BlockSource,
    head: Height,
    options: &VerifyOptions,
    out: SyncSender<Result<RawWindow, SourceError>>,
) {
    let mut next = 1u64;
    let mut count = 1usize;
    while next <= head.0 {
        let take = (count as u64).min(head.0 - next + 1) as usize;
        let blocks = match source.blocks(Height(next), take) {
            Ok(mut blocks) => {
                // A source answering with too few blocks has not got them.
                blocks.resize(take, None);
                blocks
            }
            Err(error) => {
                let _ = out.send(Err(error));
                return;
            }
        };
        let bytes: usize = blocks.iter().flatten().map(Vec::len).sum();
        let average = (bytes / take.max(1)).max(1);
        count = (options.window_bytes / average).clamp(1, options.max_window_blocks.max(1));
        let window = RawWindow {
            from: Height(next),
            blocks,
        };
        next += take as u64;
        if out.send(Ok(window)).is_err() {
            return; // the replay stopped
        }
    }
}

/// The check thread: decodes blocks and checks every signature of a window
/// on all cores.
fn check(
    chain_id: &ChainId,
    speculative: &Mutex<Arc<BTreeSet<Address>>>,
    input: Receiver<Result<RawWindow, SourceError>>,
    out: SyncSender<Result<CheckedWindow, SourceError>>,
) {
    for window in input {
        let checked = window.map(|window| {
            let members = speculative
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            check_window(chain_id, &members, window)
        });
        if out.send(checked).is_err() {
            return;
        }
    }
}

fn check_window(
    chain_id: &ChainId,
    members: &Arc<BTreeSet<Address>>,
    window: RawWindow,
) -> CheckedWindow {
    // Decode and check certificates block by block in parallel…
    let decoded: Vec<(Checked, Vec<SignedTransaction>)> = window
        .blocks
        .into_par_iter()
        .map(|bytes| {
            let Some(bytes) = bytes else {
                return (Checked::Missing, Vec::new());
            };
            match codec::decode::<FinalBlock>(&bytes) {
                Err(error) => (Checked::Undecodable(error), Vec::new()),
                Ok(FinalBlock { block, certificate }) => {
                    let certificate_result = certificate.verify(chain_id, &block.header, members);
                    let checked = CheckedBlock {
                        header: block.header,
                        certificate,
                        checked_with: members.clone(),
                        certificate_result,
                        txs: Vec::new(),
                    };
                    (Checked::Block(Box::new(checked)), block.txs)
                }
            }
        })
        .collect();
    // …then every transaction of the window in parallel, so a window of
    // one big block and one of many small blocks both use all cores.
    let (mut blocks, txs): (Vec<Checked>, Vec<Vec<SignedTransaction>>) =
        decoded.into_iter().unzip();
    let flat: Vec<(usize, SignedTransaction)> = txs
        .into_iter()
        .enumerate()
        .flat_map(|(b, txs)| txs.into_iter().map(move |tx| (b, tx)))
        .collect();
    let verified: Vec<(usize, Result<VerifiedTx, BadTx>)> = flat
        .into_par_iter()
        .with_min_len(16)
        .map(|(b, tx)| {
            let copy = tx.tx.clone();
            (b, tx.verify(chain_id).map_err(|_| BadTx { tx: copy }))
        })
        .collect();
    for (b, result) in verified {
        if let Some(Checked::Block(block)) = blocks.get_mut(b) {
            block.txs.push(result);
        }
    }
    CheckedWindow {
        from: window.from,
        blocks,
    }
}

/// The sequential part of the replay.
struct Replay {
    chain_id: ChainId,
    state: State,
    parent: BlockHeader,
    members: Arc<BTreeSet<Address>>,
    /// Each member set with the first height it certifies.
    member_sets: Vec<(Height, BTreeSet<Address>)>,
    transactions: u64,
    by_kind: BTreeMap<&'static str, u64>,
    signatures: u64,
}

impl Replay {
    /// Verifies and applies the block at `height`; returns true if the
    /// member set changed.
    fn apply(
        &mut self,
        height: Height,
        block: Checked,
        observer: &mut dyn BlockObserver,
    ) -> Result<bool, AuditError> {
        let block = match block {
            Checked::Missing => {
                return Err(Discrepancy::at(
                    height,
                    Rule::BlockMissing,
                    "the source has no block at this height, below its head",
                )
                .into());
            }
            Checked::Undecodable(error) => {
                return Err(Discrepancy::at(
                    height,
                    Rule::BlockEncoding,
                    format!("the block's bytes are not a canonical final block: {error}"),
                )
                .into());
            }
            Checked::Block(block) => block,
        };
        let CheckedBlock {
            header,
            certificate,
            checked_with,
            certificate_result,
            txs,
        } = *block;
        if header.height != height {
            return Err(Discrepancy::at(
                height,
                Rule::Height,
                format!(
                    "the block stored at height {height} says it is at height {}",
                    header.height
                ),
            )
            .into());
        }
        let parent_hash = self.parent.hash();
        if header.prev_hash != parent_hash {
            return Err(Discrepancy::at(
                height,
                Rule::PrevHash,
                format!(
                    "the block links to {}, but the verified block {} is {parent_hash}",
                    header.prev_hash, self.parent.height
                ),
            )
            .into());
        }
        // The certificate was checked ahead against the member set known
        // then; check again if the replayed set differs.
        let certificate_result = if *checked_with == *self.members {
            certificate_result
        } else {
            certificate.verify(&self.chain_id, &header, &self.members)
        };
        if let Err(error) = certificate_result {
            return Err(Discrepancy::at(
                height,
                Rule::Certificate,
                format!(
                    "{error} (the replayed member set at this height has {} members)",
                    self.members.len()
                ),
            )
            .into());
        }
        let mut verified = Vec::with_capacity(txs.len());
        for (index, tx) in txs.into_iter().enumerate() {
            match tx {
                Ok(tx) => verified.push(tx),
                Err(BadTx { tx }) => {
                    return Err(Discrepancy::at_tx(
                        height,
                        index,
                        tx.id(&self.chain_id),
                        Rule::TxSignature,
                        format!(
                            "the {} transaction's signature is not by its author {} (verify_strict)",
                            tx.body.kind(),
                            tx.author
                        ),
                    )
                    .into());
                }
            }
        }
        let count = verified.len() as u64;
        let block = VerifiedBlock::from_parts(header, verified);
        let applied = self
            .state
            .apply_block(&self.parent, &block)
            .map_err(|error| block_discrepancy(height, error))?;
        for tx in applied.block.txs() {
            *self.by_kind.entry(tx.tx().body.kind()).or_default() += 1;
        }
        self.transactions += count;
        self.signatures += count + certificate.signatures.len() as u64;
        observer.block(&self.state, &applied)?;
        let membership_changed = applied.changes.iter().any(|change| match change.key {
            StateKey::Member(address) => {
                self.state.member(&address).is_some() != change.value.is_some()
            }
            _ => false,
        });
        self.parent = applied.block.header().clone();
        self.state = applied.state;
        if membership_changed {
            let members = self.state.member_set();
            self.member_sets
                .push((Height(height.0 + 1), members.clone()));
            self.members = Arc::new(members);
        }
        Ok(membership_changed)
    }
}

/// Locates a ledger error.
fn block_discrepancy(height: Height, error: BlockError) -> Discrepancy {
    let detail = error.to_string();
    match error {
        BlockError::Tx {
            index, id, error, ..
        } => {
            let mut d = Discrepancy::at_tx(height, index, id, Rule::TxRule, detail);
            d.tx_error = Some(error.code());
            d
        }
        BlockError::BadSignature(bad) => Discrepancy {
            tx_index: Some(bad.index),
            ..Discrepancy::at(height, Rule::TxSignature, detail)
        },
        BlockError::TxRootMismatch { .. } => Discrepancy::at(height, Rule::TxRoot, detail),
        BlockError::StateRootMismatch { .. } => Discrepancy::at(height, Rule::StateRoot, detail),
        BlockError::TimeNotIncreasing { .. } => Discrepancy::at(height, Rule::BlockTime, detail),
        BlockError::ProposerNotMember { .. } => Discrepancy::at(height, Rule::Proposer, detail),
        BlockError::TooManyTxs { .. } | BlockError::TooLarge { .. } => {
            Discrepancy::at(height, Rule::BlockSize, detail)
        }
        BlockError::WrongHeight { .. } => Discrepancy::at(height, Rule::Height, detail),
        BlockError::WrongParent { .. } | BlockError::ParentMismatch { .. } => {
            Discrepancy::at(height, Rule::PrevHash, detail)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::StoreSource;
    use crate::audit::fixture::ChainFixture;
    use crate::store::Store;
    use guild_ledger::block::{CommitSignature, Vote, VoteKind};
    use guild_ledger::crypto::Keypair;
    use guild_ledger::genesis::GenesisMember;
    use guild_ledger::params::Params;
    use guild_ledger::tx::{GovernanceAction, TxBody};
    use guild_ledger::types::{Points, ReceiptHash, ShopName, Timestamp};
    use std::path::Path;

    const T0: u64 = 1_767_225_600_000; // 2026-01-01T00:00Z
    const MINUTE: u64 = 60_000;

    fn key(n: u8) -> Keypair {
        Keypair::from_secret(&[n; 32])
    }

    fn genesis(members: u8) -> Genesis {
        Genesis {
            chain_id: ChainId::new("audit-test").unwrap(),
            time: Timestamp(T0),
            members: (1..=members)
                .map(|i| GenesisMember {
                    name: ShopName::new(&format!("Shop{i}")).unwrap(),
                    address: key(i).address(),
                })
                .collect(),
            params: Params {
                governance_delay: 1,
                ..Params::default()
            },
        }
    }

    fn earn(
        chain: &mut ChainFixture,
        shop: u8,
        customer: u8,
        points: u64,
        receipt: &str,
    ) -> SignedTransaction {
        let shop = key(shop);
        chain.sign(
            &shop,
            TxBody::Earn {
                customer: key(customer).address(),
                points: Points(points),
                purchase: None,
                receipt: ReceiptHash::new(&shop.address(), receipt),
            },
        )
    }

    /// A 4-shop chain in `dir`: earns, transfers, redemptions, a
    /// settlement, a fifth shop added (signing later blocks), then shop 4
    /// removed. Returns the height at which shop 4 stops being a member.
    fn build(dir: &Path) -> (ChainFixture, Height) {
        let keys: Vec<Keypair> = (1..=5).map(key).collect();
        let mut chain = ChainFixture::new(genesis(4), keys, Some(dir)).unwrap();
        let mut t = T0;
        let mut next = |chain: &mut ChainFixture, txs| {
            t += MINUTE;
            chain.block(Timestamp(t), txs).unwrap();
        };
        for round in 0..3u8 {
            let txs = (0..8u8)
                .map(|i| {
                    earn(
                        &mut chain,
                        1 + i % 3,
                        100 + i,
                        10 + u64::from(i),
                        &format!("r{round}-{i}"),
                    )
                })
                .collect();
            next(&mut chain, txs);
        }
        let c = key(100);
        let redeem = chain.sign(
            &c,
            TxBody::Redeem {
                shop: key(2).address(),
                points: Points(15),
            },
        );
        let send = chain.sign(
            &c,
            TxBody::Transfer {
                to: key(101).address(),
                points: Points(5),
                memo: None,
            },
        );
        next(&mut chain, vec![redeem, send]);
        let settle = chain.sign(
            &key(2),
            TxBody::Settle {
                debtor: key(1).address(),
                points: Points(4),
            },
        );
        next(&mut chain, vec![settle]);
        // Shop 5 joins: proposed by 1, approved by 2 and 3 (3 of 4).
        let action = GovernanceAction::AddMember {
            name: ShopName::new("Shop5").unwrap(),
            address: key(5).address(),
        };
        let propose = chain.sign(&key(1), TxBody::Propose { action });
        let id = chain.state().chain().next_proposal;
        let a2 = chain.sign(&key(2), TxBody::Approve { proposal: id });
        let a3 = chain.sign(&key(3), TxBody::Approve { proposal: id });
        next(&mut chain, vec![propose, a2, a3]);
        next(&mut chain, vec![]);
        assert!(chain.state().member(&key(5).address()).is_some());
        let e = earn(&mut chain, 5, 102, 7, "five");
        next(&mut chain, vec![e]);
        // Shop 4 (nothing issued, no debts) is removed.
        let action = GovernanceAction::RemoveMember {
            address: key(4).address(),
        };
        let propose = chain.sign(&key(1), TxBody::Propose { action });
        let id = chain.state().chain().next_proposal;
        let approvals: Vec<_> = [2, 3, 5]
            .iter()
            .map(|i| chain.sign(&key(*i), TxBody::Approve { proposal: id }))
            .collect();
        let mut txs = vec![propose];
        txs.extend(approvals);
        next(&mut chain, txs);
        next(&mut chain, vec![]);
        assert!(chain.state().member(&key(4).address()).is_none());
        let removed_from = Height(chain.height().0 + 1);
        for round in 0..3u8 {
            let e = earn(&mut chain, 1, 103, 3, &format!("late{round}"));
            next(&mut chain, vec![e]);
        }
        (chain, removed_from)
    }

    fn audit(
        dir: &Path,
        genesis: &Genesis,
        options: &VerifyOptions,
    ) -> Result<Summary, AuditError> {
        let mut source = StoreSource::open(dir).unwrap();
        verify_chain(genesis, &mut source, options, &mut (), &mut |_| {})
    }

    fn discrepancy(result: Result<Summary, AuditError>) -> Discrepancy {
        match result {
            Err(AuditError::Discrepancy(d)) => *d,
            Err(other) => panic!("not a discrepancy: {other}"),
            Ok(_) => panic!("the chain verified"),
        }
    }

    /// Rewrites the stored block at `height`.
    fn rewrite(dir: &Path, height: Height, change: impl FnOnce(&mut FinalBlock)) {
        let store = Store::open(dir, 1 << 20).unwrap();
        let k = Store::raw_block_key(height);
        let mut block: FinalBlock =
            codec::decode(&store.raw_tree().get(k).unwrap().unwrap()).unwrap();
        change(&mut block);
        store.raw_tree().insert(k, codec::encode(&block)).unwrap();
        store.flush().unwrap();
    }

    /// A certificate for `header` signed by `signers`.
    fn certify(chain_id: &ChainId, header: &BlockHeader, signers: &[Keypair]) -> CommitCertificate {
        let vote = Vote {
            kind: VoteKind::Precommit,
            height: header.height,
            round: 0,
            block: Some(header.hash()),
        };
        let mut signatures: Vec<_> = signers
            .iter()
            .map(|k| CommitSignature {
                voter: k.address(),
                signature: vote.sign(k, chain_id),
            })
            .collect();
        signatures.sort_by_key(|s| s.voter);
        CommitCertificate {
            height: header.height,
            round: 0,
            block_hash: header.hash(),
            signatures,
        }
    }

    fn small_windows() -> VerifyOptions {
        VerifyOptions {
            window_bytes: 1,
            max_window_blocks: 1,
            ..VerifyOptions::default()
        }
    }

    #[test]
    fn a_clean_chain_verifies_with_any_window_size() {
        let dir = tempfile::tempdir().unwrap();
        let (chain, _) = build(dir.path());
        let (head, root, supply) = (
            chain.head().clone(),
            chain.state().root(),
            chain.state().supply().clone(),
        );
        let genesis = chain.genesis().clone();
        drop(chain);
        for options in [VerifyOptions::default(), small_windows()] {
            let mut calls = 0;
            let mut source = StoreSource::open(dir.path()).unwrap();
            let summary = verify_chain(&genesis, &mut source, &options, &mut (), &mut |_| {
                calls += 1
            })
            .unwrap();
            assert!(calls >= 2);
            assert_eq!(summary.height, head.height);
            assert_eq!(summary.head_hash, head.hash());
            assert_eq!(summary.state_root, root);
            assert_eq!(summary.supply, supply);
            assert_eq!(summary.transactions, 24 + 2 + 1 + 3 + 1 + 4 + 3);
            assert_eq!(summary.transactions_by_kind["earn"], 24 + 1 + 3);
            assert_eq!(summary.member_changes, 2);
            assert_eq!(summary.members.len(), 4);
            // Customer 100 holds 30 of shop 1 and spends 15 at shop 2; shop 2
            // acknowledges 4.
            assert_eq!(summary.debts, 15 - 4);
        }

        // The report's bookkeeping follows the same chain, governance and
        // a removed member included.
        let mut activity =
            crate::audit::Activity::new(&genesis, crate::audit::Period::default()).unwrap();
        let mut source = StoreSource::open(dir.path()).unwrap();
        verify_chain(
            &genesis,
            &mut source,
            &VerifyOptions::default(),
            &mut activity,
            &mut |_| {},
        )
        .unwrap();
        let report = activity.report(head.height);
        assert_eq!(report.shops.len(), 5);
        let shop4 = report
            .shops
            .iter()
            .find(|s| s.shop.name == "Shop4")
            .unwrap();
        assert!(!shop4.member);
        assert_eq!(report.health.points_issued, supply.issued.0);
        assert_eq!(report.health.points_redeemed, supply.redeemed.0);
        let outstanding: u64 = report.shops.iter().map(|s| s.outstanding).sum();
        assert_eq!(outstanding, supply.outstanding().0);
        assert_eq!(report.settlement.payments.len(), 1);
        assert_eq!(report.settlement.payments[0].points, 11);
    }

    #[test]
    fn up_to_stops_early() {
        let dir = tempfile::tempdir().unwrap();
        let (chain, _) = build(dir.path());
        let genesis = chain.genesis().clone();
        drop(chain);
        // The stored state is the head's: a partial replay does not
        // compare it.
        let options = VerifyOptions {
            up_to: Some(Height(3)),
            ..VerifyOptions::default()
        };
        let summary = audit(dir.path(), &genesis, &options).unwrap();
        assert_eq!((summary.height, summary.blocks), (Height(3), 3));
        assert!(summary.source_head > Height(3));
    }

    #[test]
    fn each_tamper_case_is_located() {
        let dir = tempfile::tempdir().unwrap();
        let (chain, removed_from) = build(dir.path());
        let genesis = chain.genesis().clone();
        let chain_id = genesis.chain_id.clone();
        let head = chain.height();
        drop(chain);
        let copies = tempfile::tempdir().unwrap();
        let copy = |name: &str| {
            let to = copies.path().join(name);
            copy_dir(dir.path(), &to);
            to
        };

        // A flipped byte in a transaction of block 2 (its author's key).
        let d1 = copy("flip");
        {
            let store = Store::open(&d1, 1 << 20).unwrap();
            let k = Store::raw_block_key(Height(2));
            let mut bytes = store.raw_tree().get(k).unwrap().unwrap().to_vec();
            // Header (144 bytes), transaction count (8), then the first
            // transaction's author.
            bytes[144 + 8 + 5] ^= 0x01;
            store.raw_tree().insert(k, bytes).unwrap();
            store.flush().unwrap();
        }
        let d = discrepancy(audit(&d1, &genesis, &VerifyOptions::default()));
        assert_eq!(
            (d.height, d.rule, d.tx_index),
            (Height(2), Rule::TxSignature, Some(0)),
            "{d}"
        );

        // A flipped byte in block 3's header time: its certificate no
        // longer matches it.
        let d2 = copy("header");
        rewrite(&d2, Height(3), |b| b.block.header.time.0 += 1);
        let d = discrepancy(audit(&d2, &genesis, &VerifyOptions::default()));
        assert_eq!((d.height, d.rule), (Height(3), Rule::Certificate), "{d}");

        // A forged precommit in block 4's certificate.
        let d3 = copy("forged");
        rewrite(&d3, Height(4), |b| {
            b.certificate.signatures[1].signature.0[7] ^= 0x80
        });
        let d = discrepancy(audit(&d3, &genesis, &VerifyOptions::default()));
        assert_eq!((d.height, d.rule), (Height(4), Rule::Certificate), "{d}");
        assert!(d.detail.contains("does not verify"), "{d}");

        // A short certificate (2 of 4) on block 5.
        let d4 = copy("short");
        rewrite(&d4, Height(5), |b| b.certificate.signatures.truncate(2));
        let d = discrepancy(audit(&d4, &genesis, &VerifyOptions::default()));
        assert_eq!((d.height, d.rule), (Height(5), Rule::Certificate), "{d}");
        assert!(d.detail.contains("2 of 4"), "{d}");

        // A state record edited in sled.
        let d5 = copy("state");
        {
            let store = Store::open(&d5, 1 << 20).unwrap();
            let k = store
                .raw_tree()
                .scan_prefix(b"s")
                .keys()
                .map(|k| k.unwrap())
                .find(|k| {
                    codec::decode::<StateKey>(&k[1..])
                        .is_ok_and(|s| matches!(s, StateKey::Account(_)))
                })
                .unwrap();
            let mut account: guild_ledger::state::Account =
                codec::decode(&store.raw_tree().get(&k).unwrap().unwrap()).unwrap();
            account.lots[0].amount.0 += 1_000;
            store
                .raw_tree()
                .insert(&k, codec::encode(&account))
                .unwrap();
            store.flush().unwrap();
        }
        let d = discrepancy(audit(&d5, &genesis, &VerifyOptions::default()));
        assert_eq!((d.height, d.rule), (head, Rule::StoredState), "{d}");
        assert!(d.detail.contains("the account record of guild1"), "{d}");

        // A block certified by a removed member (with two current ones:
        // a quorum count, but one voter is no member any more), re-signed
        // so nothing else is wrong; in small and large windows.
        let d6 = copy("removed");
        let at = Height(removed_from.0 + 1);
        rewrite(&d6, at, |b| {
            b.certificate = certify(
                &chain_id,
                &b.block.header,
                &[key(1), key(2), key(3), key(4)],
            );
        });
        for options in [VerifyOptions::default(), small_windows()] {
            let d = discrepancy(audit(&d6, &genesis, &options));
            assert_eq!((d.height, d.rule), (at, Rule::Certificate), "{d}");
            assert!(d.detail.contains("not a member"), "{d}");
        }
    }

    #[test]
    fn rule_breaks_state_roots_and_gaps_are_located() {
        let dir = tempfile::tempdir().unwrap();
        let (chain, _) = build(dir.path());
        let genesis = chain.genesis().clone();
        let chain_id = genesis.chain_id.clone();
        drop(chain);
        let members: Vec<Keypair> = (1..=4).map(key).collect();
        let copies = tempfile::tempdir().unwrap();
        let copy = |name: &str| {
            let to = copies.path().join(name);
            copy_dir(dir.path(), &to);
            to
        };

        // A wrong state root in a correctly certified header.
        let d1 = copy("root");
        rewrite(&d1, Height(2), |b| {
            b.block.header.state_root.0[0] ^= 1;
            b.certificate = certify(&chain_id, &b.block.header, &members);
        });
        let d = discrepancy(audit(&d1, &genesis, &VerifyOptions::default()));
        assert_eq!((d.height, d.rule), (Height(2), Rule::StateRoot), "{d}");

        // A replayed transaction, certified: the ledger's replay rule.
        let d2 = copy("replay");
        let first = {
            let store = Store::open(&d2, 1 << 20).unwrap();
            store.block(Height(1)).unwrap().unwrap().block.txs[0].clone()
        };
        rewrite(&d2, Height(4), |b| {
            b.block.txs.push(first.clone());
            let ids: Vec<_> = b.block.txs.iter().map(|t| t.tx.id(&chain_id)).collect();
            b.block.header.tx_root = guild_ledger::block::tx_root(&ids);
            b.certificate = certify(&chain_id, &b.block.header, &members);
        });
        let d = discrepancy(audit(&d2, &genesis, &VerifyOptions::default()));
        assert_eq!(
            (d.height, d.rule, d.tx_index, d.tx_error),
            (Height(4), Rule::TxRule, Some(2), Some("replay")),
            "{d}"
        );

        // A missing block and an undecodable one.
        let d3 = copy("gap");
        {
            let store = Store::open(&d3, 1 << 20).unwrap();
            store
                .raw_tree()
                .remove(Store::raw_block_key(Height(6)))
                .unwrap();
            store
                .raw_tree()
                .insert(Store::raw_block_key(Height(3)), vec![1, 2, 3])
                .unwrap();
            store.flush().unwrap();
        }
        let d = discrepancy(audit(&d3, &genesis, &VerifyOptions::default()));
        assert_eq!((d.height, d.rule), (Height(3), Rule::BlockEncoding), "{d}");

        // Another network's genesis.
        let mut other = genesis.clone();
        other.time.0 += 1;
        let d = discrepancy(audit(dir.path(), &other, &VerifyOptions::default()));
        assert_eq!((d.height, d.rule), (Height(0), Rule::Genesis), "{d}");
    }

    #[test]
    fn a_locked_or_empty_data_directory_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            StoreSource::open(dir.path()),
            Err(SourceError::NoChain { .. })
        ));
        let (chain, _) = build(dir.path());
        // The fixture holds the database open, as a running node would.
        assert!(matches!(
            StoreSource::open(dir.path()),
            Err(SourceError::Locked { .. })
        ));
        drop(chain);
        assert!(StoreSource::open(dir.path()).is_ok());
    }

    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy_dir(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), target).unwrap();
            }
        }
    }
}
