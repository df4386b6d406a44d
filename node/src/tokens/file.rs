//! `tokens.json`: its format, its reading and writing, and the node's cache
//! of it.
//!
//! ```json
//! {
//!   "version": 1,
//!   "tokens": [
//!     { "name": "till-1", "scopes": ["sale"], "created_ms": 1767225600000,
//!       "prefix": "gld_1a2b3c4d", "sha256": "<64 hex: SHA-256 of the 32 secret bytes>" }
//!   ]
//! }
//! ```

use super::{MAX_FILE_BYTES, MAX_TOKENS, TokenError, TokenInfo};
use guild_os::durable::{self, Existing};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;
use std::time::SystemTime;

/// The format version this code reads and writes.
const VERSION: u32 = 1;

/// The whole file.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct TokenFile {
    version: u32,
    pub(super) tokens: Vec<Record>,
}

/// One token in the file.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Record {
    #[serde(flatten)]
    pub(super) info: TokenInfo,
    /// Hex of the SHA-256 of the token's 32 bytes.
    sha256: String,
}

impl Record {
    fn hash(&self) -> Option<[u8; 32]> {
        let mut hash = [0u8; 32];
        hex::decode_to_slice(&self.sha256, &mut hash).ok()?;
        Some(hash)
    }
}

impl TokenFile {
    /// Reads and checks the file at `path`; an empty list if there is none.
    pub(super) fn read(path: &Path) -> Result<TokenFile, TokenError> {
        let Some(bytes) = durable::read_bounded(path, MAX_FILE_BYTES)? else {
            return Ok(TokenFile {
                version: VERSION,
                tokens: Vec::new(),
            });
        };
        let corrupt = |reason: String| TokenError::Corrupt {
            path: path.to_path_buf(),
            reason,
        };
        let file: TokenFile = serde_json::from_slice(&bytes)
            .map_err(|e| corrupt(format!("not a token list: {e}")))?;
        if file.version != VERSION {
            return Err(corrupt(format!(
                "format version {} where this node reads version {VERSION}",
                file.version
            )));
        }
        if file.tokens.len() > MAX_TOKENS {
            return Err(corrupt(format!("more than {MAX_TOKENS} tokens")));
        }
        if let Some(bad) = file.tokens.iter().find(|r| r.hash().is_none()) {
            return Err(corrupt(format!(
                "the hash of token '{}' is not 64 hex characters",
                bad.info.name
            )));
        }
        Ok(file)
    }

    /// Replaces the file at `path` atomically and durably.
    pub(super) fn write(&self, path: &Path) -> Result<(), TokenError> {
        let mut bytes = serde_json::to_vec_pretty(self).map_err(|e| TokenError::Corrupt {
            path: path.to_path_buf(),
            reason: format!("cannot encode the token list: {e}"),
        })?;
        bytes.push(b'\n');
        durable::write_atomically(path, &bytes, Existing::Replace)?;
        Ok(())
    }

    /// The position of the token named `name`.
    pub(super) fn find(&self, name: &str) -> Option<usize> {
        self.tokens.iter().position(|r| r.info.name == name)
    }

    /// Adds a token.
    pub(super) fn push(&mut self, info: TokenInfo, hash: [u8; 32]) {
        self.tokens.push(Record {
            info,
            sha256: hex::encode(hash),
        });
    }

    /// What is stored about each token, in file order (oldest first).
    pub(super) fn infos(self) -> Vec<TokenInfo> {
        self.tokens.into_iter().map(|r| r.info).collect()
    }
}

/// What identifies one version of the file: a write replaces the file by
/// a new one (a new inode), and changes its size or modification time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
    inode: u64,
}

impl Stamp {
    /// The stamp of the file at `path`; `None` if there is no file.
    fn of(path: &Path) -> Result<Option<Stamp>, TokenError> {
        let metadata = match std::fs::metadata(path) {
            Ok(metadata) => metadata,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(TokenError::Stat {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(&metadata);
        #[cfg(not(unix))]
        let inode = 0;
        Ok(Some(Stamp {
            len: metadata.len(),
            modified: metadata.modified().ok(),
            inode,
        }))
    }
}

/// The tokens by hash, as of the file's version `stamp`.
#[derive(Debug, Default)]
pub(super) struct Cache {
    /// `None` before the first read; `Some(None)` when there was no file.
    stamp: Option<Option<Stamp>>,
    by_hash: HashMap<[u8; 32], TokenInfo>,
}

impl Cache {
    /// Re-reads the file at `path` if it changed since the last read. The
    /// stamp is taken before reading, so a write in between only causes
    /// one more read on the next call, never a stale cache.
    pub(super) fn refresh(&mut self, path: &Path) -> Result<(), TokenError> {
        let stamp = Stamp::of(path)?;
        if self.stamp == Some(stamp) {
            return Ok(());
        }
        let file = TokenFile::read(path)?;
        self.by_hash = file
            .tokens
            .into_iter()
            .filter_map(|record| Some((record.hash()?, record.info)))
            .collect();
        self.stamp = Some(stamp);
        tracing::debug!(tokens = self.by_hash.len(), path = %path.display(), "API tokens read");
        Ok(())
    }

    /// The token whose hash is `hash`.
    pub(super) fn get(&self, hash: &[u8; 32]) -> Option<&TokenInfo> {
        self.by_hash.get(hash)
    }
}
