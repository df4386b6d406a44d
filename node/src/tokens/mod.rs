//! API tokens: which tills (and, later, the web console) may call the
//! node's authenticated endpoints, and with which [`Scope`]s.
//!
//! ## The idea
//!
//! A token is 32 random bytes, shown to the shop once as `gld_` followed by
//! 64 hex characters ([`Secret`]). The node keeps only the SHA-256 of those
//! bytes, in `tokens.json` in its data directory ([`FILE_NAME`]), with the
//! token's unique name (`till-1`), its scopes, when it was made, and its
//! first characters (`gld_1a2b3c4d`) so a person can tell tokens apart in
//! a list ([`TokenInfo`]). Whoever reads the file learns no token.
//!
//! `guild node token create|list|revoke` change the file while the node
//! runs. Every write replaces the whole file atomically
//! ([`guild_os::durable::write_atomically`]), so a reader sees the old list
//! or the new one. [`TokenStore::authenticate`] looks at the file's size,
//! modification time and inode on every call and re-reads it when they
//! changed, so a token made or revoked counts from the next request, with
//! no restart and no re-reading of an unchanged file.
//!
//! ## Invariants
//!
//! - The file never holds a token, only hashes of tokens (and 8 of the 64
//!   hex characters, for recognition).
//! - Names are unique; revoking a token removes it from the file.
//! - No file means no tokens: every authenticated request is refused.
//! - A presented token is hashed before it is compared with anything, so
//!   the time a lookup takes says nothing useful about stored tokens.
//! - The file is bounded ([`MAX_FILE_BYTES`], [`MAX_TOKENS`]).
//!
//! The CLI is the only writer; two `create`/`revoke` commands run at the
//! very same instant could lose one of the two changes (each rewrites the
//! list it read).

mod file;
mod secret;

pub use guild_api::Scope;
pub use secret::{MalformedToken, Secret};

use file::{Cache, TokenFile};
use guild_os::durable::DurableError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

/// The token file's name in the data directory.
pub const FILE_NAME: &str = "tokens.json";

/// The largest token file read, in bytes.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// The most tokens one node keeps.
pub const MAX_TOKENS: usize = 1000;

/// The longest token name, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// What the node keeps about a token (never the token itself).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    /// The unique name, e.g. `till-1`.
    pub name: String,
    /// What the token may do.
    pub scopes: Vec<Scope>,
    /// When it was made, in milliseconds since the Unix epoch.
    pub created_ms: u64,
    /// Its first characters (`gld_` and 8 hex), to recognise it.
    pub prefix: String,
}

impl TokenInfo {
    /// Whether the token may do what `needed` allows.
    pub fn allows(&self, needed: Scope) -> bool {
        self.scopes.iter().any(|scope| scope.covers(needed))
    }
}

/// A token just made: its secret (to show once) and what is stored.
#[derive(Debug)]
pub struct NewToken {
    /// The token; the node cannot show it again.
    pub secret: Secret,
    /// What the node keeps.
    pub info: TokenInfo,
}

/// Why the token store refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The data directory does not exist.
    #[error(
        "there is no data directory {path}: give the directory the node runs with (`guild node --data DIR`; the node creates it when it first starts)"
    )]
    NoDataDir {
        /// The directory given.
        path: PathBuf,
    },
    /// A token name with characters or a length the store does not accept.
    #[error(
        "'{name}' is not a token name: use 1 to {MAX_NAME_CHARS} letters, digits, '-', '_' or '.', e.g. till-1"
    )]
    BadName {
        /// The name given (at most 80 characters of it).
        name: String,
    },
    /// A token with this name exists.
    #[error(
        "a token named '{name}' exists already: choose another name, or revoke it first with `guild node token revoke {name}`"
    )]
    DuplicateName {
        /// The name.
        name: String,
    },
    /// No token with this name.
    #[error("no token is named '{name}': `guild node token list` shows the node's tokens")]
    UnknownName {
        /// The name.
        name: String,
    },
    /// A token needs at least one scope.
    #[error("a token needs at least one scope (sale or admin)")]
    NoScope,
    /// The store holds as many tokens as it may.
    #[error("the node holds {limit} tokens already: revoke unused ones first")]
    TooMany {
        /// [`MAX_TOKENS`].
        limit: usize,
    },
    /// The token file is not a token list this version understands.
    #[error(
        "the token file {path} is damaged ({reason}); restore it from a backup or remove it and make the tokens again"
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Reading or writing the token file failed.
    #[error(transparent)]
    File(#[from] DurableError),
    /// The file's metadata cannot be read.
    #[error("cannot look at the token file {path}")]
    Stat {
        /// The file.
        path: PathBuf,
        /// The operating-system error.
        #[source]
        source: std::io::Error,
    },
    /// No randomness for a new token.
    #[error("the system's random number generator failed")]
    Randomness(#[source] getrandom::Error),
}

/// The tokens of one data directory. Cheap to clone; clones share the
/// cache of the file's contents.
#[derive(Clone, Debug)]
pub struct TokenStore {
    path: PathBuf,
    cache: Arc<Mutex<Cache>>,
}

impl TokenStore {
    /// The store of the data directory `data_dir`, which must exist (the
    /// file itself need not: no file, no tokens). Reads nothing yet.
    pub fn open(data_dir: &Path) -> Result<TokenStore, TokenError> {
        if !data_dir.is_dir() {
            return Err(TokenError::NoDataDir {
                path: data_dir.to_path_buf(),
            });
        }
        Ok(TokenStore {
            path: data_dir.join(FILE_NAME),
            cache: Arc::new(Mutex::new(Cache::default())),
        })
    }

    /// The token file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Makes a token named `name` with `scopes`, stores its hash, and
    /// returns it: the only time it is ever seen.
    pub fn create(&self, name: &str, scopes: &[Scope]) -> Result<NewToken, TokenError> {
        check_name(name)?;
        if scopes.is_empty() {
            return Err(TokenError::NoScope);
        }
        let mut file = TokenFile::read(&self.path)?;
        if file.find(name).is_some() {
            return Err(TokenError::DuplicateName { name: name.into() });
        }
        if file.tokens.len() >= MAX_TOKENS {
            return Err(TokenError::TooMany { limit: MAX_TOKENS });
        }
        let secret = Secret::generate()?;
        let mut scopes = scopes.to_vec();
        scopes.sort();
        scopes.dedup();
        let info = TokenInfo {
            name: name.to_string(),
            scopes,
            created_ms: guild_os::clock::now_ms(),
            prefix: secret.prefix(),
        };
        file.push(info.clone(), secret.hash());
        file.write(&self.path)?;
        Ok(NewToken { secret, info })
    }

    /// Every token, oldest first.
    pub fn list(&self) -> Result<Vec<TokenInfo>, TokenError> {
        Ok(TokenFile::read(&self.path)?.infos())
    }

    /// Removes the token named `name`: from the next request on, it is
    /// refused. Returns what was stored about it.
    pub fn revoke(&self, name: &str) -> Result<TokenInfo, TokenError> {
        let mut file = TokenFile::read(&self.path)?;
        let index = file
            .find(name)
            .ok_or_else(|| TokenError::UnknownName { name: name.into() })?;
        let removed = file.tokens.remove(index);
        file.write(&self.path)?;
        Ok(removed.info)
    }

    /// The token `secret` is, if the store holds it (re-reading the file
    /// first if it changed since the last call).
    pub fn authenticate(&self, secret: &Secret) -> Result<Option<TokenInfo>, TokenError> {
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        cache.refresh(&self.path)?;
        Ok(cache.get(&secret.hash()).cloned())
    }
}

/// Checks a token name: 1 to [`MAX_NAME_CHARS`] ASCII letters, digits,
/// `-`, `_` or `.` (it is printed in tables and shell commands).
fn check_name(name: &str) -> Result<(), TokenError> {
    let fits = (1..=MAX_NAME_CHARS).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if fits {
        Ok(())
    } else {
        Err(TokenError::BadName {
            name: name.chars().take(80).collect(),
        })
    }
}

#[cfg(test)]
mod tests;
