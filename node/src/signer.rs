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

/// Signs votes with the member key, recording each durably first.
pub struct FileSigner {
    key: Keypair,
    chain_id: ChainId,
    path: PathBuf,
    record: Option<SigningRecord>,
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
        })
    }

    /// The record as loaded or last written.
    pub fn record(&self) -> Option<&SigningRecord> {
        self.record.as_ref()
    }

    /// The lock held at `height`, if the record is for that height.
    pub fn lock_at(&self, height: Height) -> Option<(u32, Hash)> {
        self.record
            .as_ref()
            .filter(|r| r.last.height == height)
            .and_then(|r| r.lock)
    }

    /// The votes signed at `height` (empty if the record is for another
    /// height).
    pub fn votes_at(&self, height: Height) -> Vec<(Vote, Signature)> {
        self.record
            .as_ref()
            .filter(|r| r.last.height == height)
            .map(|r| r.votes.clone())
            .unwrap_or_default()
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

impl VoteSigner for FileSigner {
    fn sign_vote(&mut self, vote: &Vote) -> Option<Signature> {
        if let Some(record) = &self.record {
            if record.last == *vote {
                return Some(record.signature);
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
        let signature = vote.sign(&self.key, &self.chain_id);
        let previous_lock = self
            .record
            .as_ref()
            .filter(|r| r.last.height == vote.height)
            .and_then(|r| r.lock);
        let lock = match (vote.kind, vote.block) {
            (VoteKind::Precommit, Some(block)) => Some((vote.round, block)),
            _ => previous_lock,
        };
        let mut votes = self
            .record
            .as_ref()
            .filter(|r| r.last.height == vote.height)
            .map(|r| r.votes.clone())
            .unwrap_or_default();
        votes.push((*vote, signature));
        let record = SigningRecord {
            last: *vote,
            signature,
            lock,
            votes,
        };
        if let Err(error) = self.persist(&record) {
            tracing::error!(%error, "cannot record the vote durably; not voting");
            return None;
        }
        self.record = Some(record);
        Some(signature)
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
