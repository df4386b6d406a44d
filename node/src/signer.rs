//! The member's signing record: what it last voted for, kept durably so a
//! restarted member never signs two different votes for one height, round
//! and step.
//!
//! Before a vote leaves the node, the record is written to its own small
//! file with [`guild_os::durable::write_atomically`]: temp file →
//! `sync_all` → rename → directory sync (sled's `flush` does not fsync on
//! Linux, so this cannot live in sled). The signer refuses
//! any vote that is not strictly after the recorded one, except the very
//! same vote (whose recorded signature it returns again). The record also
//! keeps the member's Tendermint lock, restored on restart.

use crate::consensus::VoteSigner;
use guild_ledger::block::{Vote, VoteKind};
use guild_ledger::codec;
use guild_ledger::crypto::{Keypair, Signature};
use guild_ledger::hash::Hash;
use guild_ledger::types::{ChainId, Height};
use guild_os::durable::{self, DurableError, Existing};
use std::path::PathBuf;

/// The largest signing record read: a record holds the votes of one
/// height, a few hundred bytes each.
pub const MAX_RECORD_BYTES: u64 = 1024 * 1024;

/// What the signing record file holds.
#[derive(Clone, Debug, PartialEq, Eq, bincode::Encode, bincode::Decode)]
pub struct SigningRecord {
    /// The last vote signed.
    pub last: Vote,
    /// Its signature.
    pub signature: Signature,
    /// The lock at `last.height` (round and block of the latest non-nil
    /// precommit at that height).
    pub lock: Option<(u32, Hash)>,
    /// Every vote signed at `last.height`, with its signature, so a
    /// restarted member can repeat them (never replace them).
    pub votes: Vec<(Vote, Signature)>,
}

/// Errors of the signing record.
#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    /// The file cannot be read or written.
    #[error("signing record {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        #[source]
        source: DurableError,
    },
    /// The file does not decode.
    #[error(
        "signing record {path} is corrupt ({reason}); the node refuses to start because this file protects the network against double votes. Restore it from a backup, or, only if you are sure this member has not voted at the current height, delete it."
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// A member's signing record as the engine uses it: it signs votes (never
/// two different ones for one height, round and kind) and gives back, at a
/// height, the lock held and the votes already signed. [`FileSigner`] keeps
/// it in a file, fsynced before each vote leaves; [`MemorySigner`] keeps it
/// in memory (tests and simulations).
pub trait VoteRecord: VoteSigner + Send {
    /// The lock held at `height`, if the record is for that height.
    fn lock_at(&self, height: Height) -> Option<(u32, Hash)>;
    /// The votes signed at `height` (empty if the record is for another
    /// height).
    fn votes_at(&self, height: Height) -> Vec<(Vote, Signature)>;
    /// Why the last vote refused was refused because the record could not
    /// be written (not by its rules), once: the engine stops on it.
    fn take_failure(&mut self) -> Option<SignerError> {
        None
    }
}

/// Signs votes with the member key, recording each durably first.
pub struct FileSigner {
    key: Keypair,
    chain_id: ChainId,
    path: PathBuf,
    record: Option<SigningRecord>,
    /// A write of the record that failed, until the engine takes it.
    failure: Option<SignerError>,
}

fn order(vote: &Vote) -> (Height, u32, u8) {
    let step = match vote.kind {
        VoteKind::Prevote => 0,
        VoteKind::Precommit => 1,
    };
    (vote.height, vote.round, step)
}

impl FileSigner {
    /// Opens the record at `path` (none yet is fine: a new member).
    pub fn open(key: Keypair, chain_id: ChainId, path: PathBuf) -> Result<FileSigner, SignerError> {
        let record = match durable::read_bounded(&path, MAX_RECORD_BYTES) {
            Ok(Some(bytes)) => Some(codec::decode(&bytes).map_err(|e| SignerError::Corrupt {
                path: path.clone(),
                reason: e.to_string(),
            })?),
            Ok(None) => None,
            Err(DurableError::TooLarge { limit, .. }) => {
                return Err(SignerError::Corrupt {
                    path,
                    reason: format!("it is larger than {limit} bytes"),
                });
            }
            Err(source) => return Err(SignerError::Io { path, source }),
        };
        Ok(FileSigner {
            key,
            chain_id,
            path,
            record,
            failure: None,
        })
    }

    /// The record as loaded or last written.
    pub fn record(&self) -> Option<&SigningRecord> {
        self.record.as_ref()
    }

    /// The lock held at `height`, if the record is for that height.
    pub fn lock_at(&self, height: Height) -> Option<(u32, Hash)> {
        lock_in(self.record.as_ref(), height)
    }

    /// The votes signed at `height` (empty if the record is for another
    /// height).
    pub fn votes_at(&self, height: Height) -> Vec<(Vote, Signature)> {
        votes_in(self.record.as_ref(), height)
    }

    fn persist(&self, record: &SigningRecord) -> Result<(), SignerError> {
        durable::write_atomically(&self.path, &codec::encode(record), Existing::Replace).map_err(
            |source| SignerError::Io {
                path: self.path.clone(),
                source,
            },
        )
    }
}

/// The record after signing `vote`, or `None` if the record refuses it
/// (a vote not strictly after the last one signed, other than that very
/// vote, whose recorded signature is given again).
fn advance(
    record: Option<&SigningRecord>,
    key: &Keypair,
    chain_id: &ChainId,
    vote: &Vote,
) -> Option<Result<Signature, SigningRecord>> {
    if let Some(record) = record {
        if record.last == *vote {
            return Some(Ok(record.signature));
        }
        if order(vote) <= order(&record.last) {
            tracing::warn!(
                ?vote,
                last = ?record.last,
                "refusing to sign a vote that is not after the last one signed"
            );
            return None;
        }
    }
    let signature = vote.sign(key, chain_id);
    let same_height = record.filter(|r| r.last.height == vote.height);
    let lock = match (vote.kind, vote.block) {
        (VoteKind::Precommit, Some(block)) => Some((vote.round, block)),
        _ => same_height.and_then(|r| r.lock),
    };
    let mut votes = same_height.map(|r| r.votes.clone()).unwrap_or_default();
    votes.push((*vote, signature));
    Some(Err(SigningRecord {
        last: *vote,
        signature,
        lock,
        votes,
    }))
}

fn lock_in(record: Option<&SigningRecord>, height: Height) -> Option<(u32, Hash)> {
    record
        .filter(|r| r.last.height == height)
        .and_then(|r| r.lock)
}

fn votes_in(record: Option<&SigningRecord>, height: Height) -> Vec<(Vote, Signature)> {
    record
        .filter(|r| r.last.height == height)
        .map(|r| r.votes.clone())
        .unwrap_or_default()
}

impl VoteSigner for FileSigner {
    fn sign_vote(&mut self, vote: &Vote) -> Option<Signature> {
        let record = match advance(self.record.as_ref(), &self.key, &self.chain_id, vote)? {
            Ok(again) => return Some(again),
            Err(record) => record,
        };
        if let Err(error) = self.persist(&record) {
            tracing::error!(%error, "cannot record the vote durably; not voting");
            self.failure = Some(error);
            return None;
        }
        let signature = record.signature;
        self.record = Some(record);
        Some(signature)
    }
}

impl VoteRecord for FileSigner {
    fn lock_at(&self, height: Height) -> Option<(u32, Hash)> {
        FileSigner::lock_at(self, height)
    }

    fn votes_at(&self, height: Height) -> Vec<(Vote, Signature)> {
        FileSigner::votes_at(self, height)
    }

    fn take_failure(&mut self) -> Option<SignerError> {
        self.failure.take()
    }
}

/// A signing record kept in memory, with the same rules as [`FileSigner`]
/// (for tests and simulations: a simulated crash keeps it, as a real one
/// keeps the file).
pub struct MemorySigner {
    key: Keypair,
    chain_id: ChainId,
    record: Option<SigningRecord>,
}

impl MemorySigner {
    /// An empty record.
    pub fn new(key: Keypair, chain_id: ChainId) -> MemorySigner {
        MemorySigner {
            key,
            chain_id,
            record: None,
        }
    }
}

impl VoteSigner for MemorySigner {
    fn sign_vote(&mut self, vote: &Vote) -> Option<Signature> {
        match advance(self.record.as_ref(), &self.key, &self.chain_id, vote)? {
            Ok(again) => Some(again),
            Err(record) => {
                let signature = record.signature;
                self.record = Some(record);
                Some(signature)
            }
        }
    }
}

impl VoteRecord for MemorySigner {
    fn lock_at(&self, height: Height) -> Option<(u32, Hash)> {
        lock_in(self.record.as_ref(), height)
    }

    fn votes_at(&self, height: Height) -> Vec<(Vote, Signature)> {
        votes_in(self.record.as_ref(), height)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn vote(kind: VoteKind, height: u64, round: u32, block: Option<u8>) -> Vote {
        Vote {
            kind,
            height: Height(height),
            round,
            block: block.map(|b| Hash([b; 32])),
        }
    }

    #[test]
    fn a_vote_that_cannot_be_recorded_is_not_signed_and_the_failure_is_kept_once() {
        let dir = tempfile::tempdir().unwrap();
        let records = dir.path().join("records");
        fs::create_dir(&records).unwrap();
        let chain = ChainId::new("test").unwrap();
        let mut signer = FileSigner::open(
            Keypair::from_secret(&[7; 32]),
            chain,
            records.join("signing.record"),
        )
        .unwrap();
        // The record's directory disappears (a disk unmounted under the
        // node): no temp file can be written there, even by root.
        fs::remove_dir(&records).unwrap();
        let a = vote(VoteKind::Prevote, 5, 0, Some(1));
        assert_eq!(signer.sign_vote(&a), None);
        assert!(matches!(
            signer.take_failure(),
            Some(SignerError::Io { .. })
        ));
        assert!(signer.take_failure().is_none(), "taken once");
        // A refusal by the rules is not a failure.
        fs::create_dir(&records).unwrap();
        assert!(
            signer
                .sign_vote(&vote(VoteKind::Prevote, 6, 0, None))
                .is_some()
        );
        assert_eq!(signer.sign_vote(&a), None);
        assert!(signer.take_failure().is_none());
    }

    #[test]
    fn never_signs_two_different_votes_for_one_step_even_after_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signing.record");
        let chain = ChainId::new("test").unwrap();
        let key = || Keypair::from_secret(&[7; 32]);
        let mut signer = FileSigner::open(key(), chain.clone(), path.clone()).unwrap();
        let a = vote(VoteKind::Prevote, 5, 0, Some(1));
        let sig = signer.sign_vote(&a).unwrap();
        assert_eq!(signer.sign_vote(&a), Some(sig), "same vote again is fine");
        let precommit = vote(VoteKind::Precommit, 5, 0, Some(1));
        assert!(signer.sign_vote(&precommit).is_some());
        assert_eq!(signer.lock_at(Height(5)), Some((0, Hash([1; 32]))));

        // Restart: the record survives and still refuses conflicts.
        let mut signer = FileSigner::open(key(), chain, path).unwrap();
        assert_eq!(signer.lock_at(Height(5)), Some((0, Hash([1; 32]))));
        let conflicting = vote(VoteKind::Precommit, 5, 0, None);
        assert_eq!(signer.sign_vote(&conflicting), None);
        assert_eq!(
            signer.sign_vote(&vote(VoteKind::Prevote, 5, 0, Some(2))),
            None
        );
        assert!(
            signer
                .sign_vote(&vote(VoteKind::Prevote, 5, 1, None))
                .is_some()
        );
        assert_eq!(signer.lock_at(Height(5)), Some((0, Hash([1; 32]))));
        assert_eq!(signer.votes_at(Height(5)).len(), 3);
        assert!(
            signer
                .sign_vote(&vote(VoteKind::Prevote, 6, 0, None))
                .is_some()
        );
        assert_eq!(signer.lock_at(Height(6)), None);
        assert_eq!(signer.votes_at(Height(6)).len(), 1);
        assert!(signer.votes_at(Height(5)).is_empty());
    }

    #[test]
    fn corrupt_record_is_refused_with_a_clear_message() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signing.record");
        fs::write(&path, b"garbage").unwrap();
        let chain = ChainId::new("test").unwrap();
        let err = FileSigner::open(Keypair::from_secret(&[7; 32]), chain, path)
            .err()
            .unwrap();
        assert!(err.to_string().contains("is corrupt"), "{err}");
    }
}
