//! The verified replay: fetch, check in parallel, apply in order.

use crate::source::{BlockSource, SourceError};
use crate::{AuditError, Discrepancy, Rule};
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
    pub members: Vec<crate::ShopRef>,
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
            .map(|m| crate::ShopRef {
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
