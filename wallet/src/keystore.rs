//! The encrypted keystore: one file holding one or more named secret keys.
//!
//! (Over the ~800 lines the project keeps to, on purpose: the file format,
//! its encryption and the keystore's life cycle stay together so that
//! decrypted keys never leave this module.)
//!
//! # Life cycle
//!
//! - [`Keystore::create`] writes a new, empty keystore.
//! - [`Keystore::open`] reads a file *without* the passphrase and gives a
//!   [`KeystoreFile`]: the public list of key names and addresses
//!   (`wallet list`, `wallet address`).
//! - [`KeystoreFile::unlock`] checks the passphrase and decrypts the secrets
//!   into a [`Keystore`], which can [`generate`](Keystore::generate),
//!   [`import`](Keystore::import) and [`export`](Keystore::export) keys and
//!   hand out [`Keypair`]s for signing.
//! - Changes live in memory until [`Keystore::save`].
//!
//! # File format (version 1)
//!
//! ```json
//! {
//!   "version": 1,
//!   "kdf": { "algorithm": "argon2id", "memory_kib": 19456, "iterations": 2,
//!            "parallelism": 1, "salt": "<16 bytes, hex>" },
//!   "cipher": { "algorithm": "chacha20poly1305", "nonce": "<12 bytes, hex>" },
//!   "keys": [ { "name": "alice", "address": "guild1…" } ],
//!   "passphrase_check": "<32 bytes, hex>",
//!   "ciphertext": "<32 bytes per key + 16-byte tag, hex>",
//!   "redeem_confirmation": { "above": 200 }
//! }
//! ```
//!
//! `redeem_confirmation` (optional; `{"above": N}` or `"always"`) is the
//! customer's redemption limit ([`crate::confirm`]). A file without it has
//! no limit, and is written without it, so files of older wallets load and
//! older wallets read files with no limit set.
//!
//! To decrypt, an auditor computes:
//!
//! 1. `master = Argon2id v0x13(passphrase as UTF-8 bytes, salt, m = memory_kib,
//!    t = iterations, p = parallelism)`, 32 bytes (no secret key, no
//!    associated data).
//! 2. `cipher_key = tagged_hash("guild/keystore/cipher-key/v1", master)` and
//!    `check = tagged_hash("guild/keystore/check/v1", master)`, where
//!    `tagged_hash(d, x) = SHA-256(u64_be(len(d)) ‖ d ‖ x)` as in
//!    [`guild_ledger::hash::tagged_hash`].
//! 3. The associated data: `bytes("guild/keystore/v1") ‖ u32_be(1) ‖
//!    bytes("argon2id") ‖ u32_be(memory_kib) ‖ u32_be(iterations) ‖
//!    u32_be(parallelism) ‖ bytes(salt) ‖ bytes("chacha20poly1305") ‖
//!    u64_be(number of keys) ‖ for each key: bytes(name) ‖ address (32 raw
//!    bytes)`, where `bytes(x) = u64_be(len(x)) ‖ x`; if a redemption limit
//!    is set, followed by `bytes("redeem_confirmation") ‖ u8(1) ‖
//!    u64_be(N)` for `{"above": N}` or `… ‖ u8(2) ‖ u64_be(0)` for
//!    `"always"` (so the limit cannot be edited without the passphrase).
//! 4. `plaintext = ChaCha20-Poly1305-decrypt(cipher_key, nonce, ciphertext,
//!    associated data)`: the keys' 32-byte ed25519 secrets, concatenated in
//!    the order of the list. Each must derive the listed address.
//!
//! # Invariants
//!
//! - The public list is readable without the passphrase but authenticated:
//!   editing a name or address makes decryption fail and the file is
//!   reported [`Error::Corrupt`].
//! - `passphrase_check` tells a wrong passphrase ([`Error::WrongPassphrase`])
//!   from a modified file ([`Error::Corrupt`]). It reveals nothing an attacker
//!   could not learn from the ciphertext: testing a guess still costs one
//!   Argon2id run. It is not part of the associated data, so a modified check
//!   value with the right passphrase is caught as corruption too.
//! - Every save draws a new salt and nonce; a nonce is never reused with a
//!   key.
//! - Files are written atomically (temporary file in the same directory,
//!   `fsync`, rename, `fsync` of the directory), with mode `0600` on Unix. An
//!   existing file is replaced only by [`Keystore::create`] with `force`, or
//!   by [`Keystore::save`] of the keystore read from it, and then only if no
//!   other program changed it in between.
//! - Reading is bounded: at most [`MAX_FILE_BYTES`], [`MAX_KEYS`] keys, and
//!   key-derivation costs within [`KdfParams`]'s limits, so a hostile file
//!   cannot exhaust the machine.
//! - Secrets are held in [`Zeroizing`] buffers and never appear in `Debug`.

use crate::confirm::RedeemLimit;
use crate::error::{Error, Result};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use guild_ledger::hash::{sha256, tagged_hash};
use guild_ledger::{Address, Hash, Keypair};
use guild_os::durable::{self, DurableError, Existing};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use zeroize::{Zeroize, Zeroizing};

/// The file format version this wallet reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// The largest keystore file read, in bytes.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// The most keys one keystore holds.
pub const MAX_KEYS: usize = 1000;

/// The longest key name, in characters.
pub const MAX_NAME_LEN: usize = 32;

/// The fewest characters a new wallet's passphrase may have. The key
/// derivation (argon2id) slows guessing down, but a passphrase of one or
/// two letters is still found in seconds; eight characters is the floor
/// NIST SP 800-63B sets for secrets a person chooses.
pub const MIN_PASSPHRASE_CHARS: usize = 8;

/// Checks a passphrase chosen for a new or re-encrypted wallet (opening an
/// existing wallet accepts whatever passphrase it was made with).
pub fn check_new_passphrase(passphrase: &str) -> Result<()> {
    if passphrase.chars().count() < MIN_PASSPHRASE_CHARS {
        return Err(Error::WeakPassphrase {
            min: MIN_PASSPHRASE_CHARS,
        });
    }
    Ok(())
}

const KDF_ALGORITHM: &str = "argon2id";
const CIPHER_ALGORITHM: &str = "chacha20poly1305";
const AD_DOMAIN: &str = "guild/keystore/v1";
const CIPHER_KEY_DOMAIN: &str = "guild/keystore/cipher-key/v1";
const CHECK_DOMAIN: &str = "guild/keystore/check/v1";
const LIMIT_DOMAIN: &str = "redeem_confirmation";
const SECRET_LEN: usize = 32;
const TAG_LEN: usize = 16;
const NONCE_LEN: usize = 12;
const SALT_LEN: usize = 16;
const MIN_SALT_LEN: usize = 16;
const MAX_SALT_LEN: usize = 64;

/// Argon2id cost settings, stored in the file.
///
/// Both [`Keystore::create`] and reading a file refuse settings outside
/// `MIN_MEMORY_KIB..=MAX_MEMORY_KIB`, `1..=MAX_ITERATIONS` and
/// `1..=MAX_PARALLELISM`: below, the passphrase is too cheap to guess;
/// above, a booby-trapped file could make the wallet allocate or compute
/// without end. [`KdfParams::MINIMUM`] is the cheapest accepted setting (for
/// tests); [`KdfParams::default`] is the recommended one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory, in KiB.
    pub memory_kib: u32,
    /// Number of passes over the memory.
    pub iterations: u32,
    /// Number of lanes.
    pub parallelism: u32,
}

impl KdfParams {
    /// The least memory accepted: 8 MiB.
    pub const MIN_MEMORY_KIB: u32 = 8 * 1024;
    /// The most memory accepted: 1 GiB.
    pub const MAX_MEMORY_KIB: u32 = 1024 * 1024;
    /// The most passes accepted.
    pub const MAX_ITERATIONS: u32 = 10;
    /// The most lanes accepted.
    pub const MAX_PARALLELISM: u32 = 16;

    /// The cheapest accepted setting: 8 MiB, one pass, one lane. Fast
    /// enough for tests; weaker than the default.
    pub const MINIMUM: KdfParams = KdfParams {
        memory_kib: Self::MIN_MEMORY_KIB,
        iterations: 1,
        parallelism: 1,
    };

    /// Why these settings are refused, if they are.
    fn problem(&self) -> Option<String> {
        let KdfParams {
            memory_kib,
            iterations,
            parallelism,
        } = *self;
        if !(Self::MIN_MEMORY_KIB..=Self::MAX_MEMORY_KIB).contains(&memory_kib) {
            Some(format!(
                "memory {memory_kib} KiB is outside the accepted {} to {} KiB",
                Self::MIN_MEMORY_KIB,
                Self::MAX_MEMORY_KIB
            ))
        } else if !(1..=Self::MAX_ITERATIONS).contains(&iterations) {
            Some(format!(
                "{iterations} iterations is outside the accepted 1 to {}",
                Self::MAX_ITERATIONS
            ))
        } else if !(1..=Self::MAX_PARALLELISM).contains(&parallelism) {
            Some(format!(
                "parallelism {parallelism} is outside the accepted 1 to {}",
                Self::MAX_PARALLELISM
            ))
        } else {
            None
        }
    }

    fn check(&self, path: &Path) -> Result<()> {
        match self.problem() {
            None => Ok(()),
            Some(reason) => Err(Error::UnsafeKdfParams {
                path: path.to_path_buf(),
                reason,
            }),
        }
    }
}

impl Default for KdfParams {
    /// OWASP's recommendation for Argon2id: 19 MiB, two passes, one lane.
    fn default() -> Self {
        KdfParams {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }
}

/// The public part of a stored key: its name and address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyInfo {
    name: String,
    address: Address,
}

impl KeyInfo {
    /// The key's name: 1 to [`MAX_NAME_LEN`] characters from `a-z`, `0-9`,
    /// `-` and `_`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key's address.
    pub fn address(&self) -> Address {
        self.address
    }
}

/// A keystore file read from disk, still locked: its key list is known,
/// its secrets are not.
pub struct KeystoreFile {
    path: PathBuf,
    sealed: Sealed,
    digest: Hash,
}

impl KeystoreFile {
    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The keys, in the order stored.
    pub fn keys(&self) -> &[KeyInfo] {
        &self.sealed.keys
    }

    /// The key with this name (ignoring case) or address.
    pub fn key(&self, name_or_address: &str) -> Result<&KeyInfo> {
        let query = Query::new(name_or_address);
        self.sealed
            .keys
            .iter()
            .find(|info| query.matches(info))
            .ok_or_else(|| unknown_key(&self.path, &self.sealed.keys, name_or_address))
    }

    /// The only key, when the keystore holds exactly one.
    pub fn default_key(&self) -> Result<&KeyInfo> {
        only_key(&self.path, &self.sealed.keys)
    }

    /// The file's key-derivation settings.
    pub fn kdf_params(&self) -> KdfParams {
        self.sealed.params
    }

    /// The customer's redemption limit. Read without the passphrase; an
    /// edited limit makes [`KeystoreFile::unlock`] fail as corrupt.
    pub fn redeem_limit(&self) -> RedeemLimit {
        self.sealed.limit
    }

    /// Checks the passphrase and decrypts the keys.
    ///
    /// Takes one Argon2id run. [`Error::WrongPassphrase`] if the passphrase
    /// does not match, [`Error::Corrupt`] if it does but the file was
    /// modified. The passphrase is used as its UTF-8 bytes, exactly as typed.
    pub fn unlock(&self, passphrase: &str) -> Result<Keystore> {
        let secrets = self.sealed.open(&self.path, passphrase)?;
        Ok(Keystore {
            path: self.path.clone(),
            params: self.sealed.params,
            limit: self.sealed.limit,
            keys: self.sealed.keys.clone(),
            secrets,
            on_disk: self.digest,
        })
    }
}

impl fmt::Debug for KeystoreFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeystoreFile")
            .field("path", &self.path)
            .field("keys", &self.sealed.keys)
            .field("kdf", &self.sealed.params)
            .finish_non_exhaustive()
    }
}

/// An unlocked keystore: the key list and the secrets, in memory.
///
/// Changes are written only by [`Keystore::save`].
pub struct Keystore {
    path: PathBuf,
    params: KdfParams,
    limit: RedeemLimit,
    keys: Vec<KeyInfo>,
    /// `secrets[i]` is the secret of `keys[i]`.
    secrets: Vec<Zeroizing<[u8; SECRET_LEN]>>,
    /// Hash of the file's bytes as last read or written, to notice other
    /// programs' changes before overwriting them.
    on_disk: Hash,
}

impl Keystore {
    /// Creates a new, empty keystore at `path` and writes it, creating the
    /// directory if needed (mode `0700` on Unix).
    ///
    /// Refuses with [`Error::Exists`] if a file is already there, unless
    /// `force` is given; without `force` the check is atomic, so a file that
    /// appears meanwhile is not overwritten either.
    pub fn create(
        path: impl AsRef<Path>,
        passphrase: &str,
        params: KdfParams,
        force: bool,
    ) -> Result<Keystore> {
        let path = path.as_ref().to_path_buf();
        params.check(&path)?;
        if !force && exists(&path) {
            return Err(Error::Exists { path });
        }
        create_parent_dir(&path)?;
        let mut keystore = Keystore {
            path,
            params,
            limit: RedeemLimit::Off,
            keys: Vec::new(),
            secrets: Vec::new(),
            on_disk: Hash::ZERO,
        };
        keystore.write(passphrase, force)?;
        Ok(keystore)
    }

    /// Reads the keystore at `path` and checks its format and key list,
    /// without the passphrase.
    pub fn open(path: impl AsRef<Path>) -> Result<KeystoreFile> {
        let path = path.as_ref().to_path_buf();
        let bytes = match read_bounded(&path)? {
            Some(bytes) => bytes,
            None => return Err(Error::NotFound { path }),
        };
        let sealed = Sealed::parse(&path, &bytes)?;
        Ok(KeystoreFile {
            digest: sha256(&[&bytes]),
            path,
            sealed,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The keys, in the order stored.
    pub fn keys(&self) -> &[KeyInfo] {
        &self.keys
    }

    /// The key with this name (ignoring case) or address.
    pub fn key(&self, name_or_address: &str) -> Result<&KeyInfo> {
        self.find(name_or_address).map(|(info, _)| info)
    }

    /// The only key, when the keystore holds exactly one; otherwise
    /// [`Error::NoKeys`] or [`Error::AmbiguousKey`] asking to name one.
    pub fn default_key(&self) -> Result<&KeyInfo> {
        only_key(&self.path, &self.keys)
    }

    /// The signing key with this name (ignoring case) or address.
    pub fn keypair(&self, name_or_address: &str) -> Result<Keypair> {
        let (_, secret) = self.find(name_or_address)?;
        Ok(Keypair::from_secret(secret))
    }

    /// Adds a new random key named `name` and returns its address.
    ///
    /// Names are 1 to [`MAX_NAME_LEN`] characters from `a-z`, `0-9`, `-`
    /// and `_`; upper-case letters are stored in lower case, and names are
    /// unique ignoring case. Call [`Keystore::save`] to keep the key.
    pub fn generate(&mut self, name: &str) -> Result<Address> {
        let name = self.new_name(name)?;
        let mut secret = Zeroizing::new([0u8; SECRET_LEN]);
        random(&mut secret[..])?;
        self.insert(name, secret)
    }

    /// Adds an existing key, given as 64 hexadecimal characters (an
    /// optional `0x` prefix and surrounding spaces are ignored), and returns
    /// its address.
    ///
    /// Refuses a key that is already stored, naming it. Call
    /// [`Keystore::save`] to keep the key.
    pub fn import(&mut self, name: &str, secret_hex: &str) -> Result<Address> {
        let name = self.new_name(name)?;
        let text = secret_hex.trim();
        let text = text
            .strip_prefix("0x")
            .or_else(|| text.strip_prefix("0X"))
            .unwrap_or(text);
        if text.len() != 2 * SECRET_LEN {
            return Err(Error::InvalidSecret {
                reason: format!(
                    "expected {} hexadecimal characters, got {}",
                    2 * SECRET_LEN,
                    text.chars().count()
                ),
            });
        }
        let mut secret = Zeroizing::new([0u8; SECRET_LEN]);
        hex::decode_to_slice(text, &mut secret[..]).map_err(|_| Error::InvalidSecret {
            reason: "it may only contain the characters 0-9 and a-f".to_string(),
        })?;
        self.insert(name, secret)
    }

    /// The secret of a key, as 64 lower-case hexadecimal characters, for a
    /// backup or [`Keystore::import`] elsewhere. Whoever sees it can spend
    /// the key's points.
    pub fn export(&self, name_or_address: &str) -> Result<Zeroizing<String>> {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let (_, secret) = self.find(name_or_address)?;
        let mut text = Zeroizing::new(String::with_capacity(2 * SECRET_LEN));
        for byte in secret.iter() {
            text.push(char::from(DIGITS[usize::from(byte >> 4)]));
            text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
        }
        Ok(text)
    }

    /// The key-derivation settings used when saving.
    pub fn kdf_params(&self) -> KdfParams {
        self.params
    }

    /// The customer's redemption limit.
    pub fn redeem_limit(&self) -> RedeemLimit {
        self.limit
    }

    /// Sets the redemption limit (kept by [`Keystore::save`]).
    pub fn set_redeem_limit(&mut self, limit: RedeemLimit) {
        self.limit = limit;
    }

    /// Encrypts the keystore under `passphrase` (with a new salt and nonce)
    /// and atomically replaces its file.
    ///
    /// `passphrase` may differ from the one used to unlock: this is how the
    /// passphrase is changed, so ask for a new one twice. Refuses with
    /// [`Error::ChangedOnDisk`], writing nothing, if another program changed
    /// the file since it was read or last saved.
    pub fn save(&mut self, passphrase: &str) -> Result<()> {
        if let Some(bytes) = read_bounded(&self.path)?
            && sha256(&[&bytes]) != self.on_disk
        {
            return Err(Error::ChangedOnDisk {
                path: self.path.clone(),
            });
        }
        self.write(passphrase, true)
    }

    fn write(&mut self, passphrase: &str, replace: bool) -> Result<()> {
        let mut salt = [0u8; SALT_LEN];
        let mut nonce = [0u8; NONCE_LEN];
        random(&mut salt)?;
        random(&mut nonce)?;
        let sealed = Sealed::seal(
            &self.path,
            passphrase,
            self.params,
            salt.to_vec(),
            nonce,
            self.keys.clone(),
            self.limit,
            &self.secrets,
        )?;
        let bytes = sealed.to_json(&self.path)?;
        write_atomically(&self.path, &bytes, replace)?;
        self.on_disk = sha256(&[&bytes]);
        Ok(())
    }

    fn find(&self, name_or_address: &str) -> Result<(&KeyInfo, &[u8; SECRET_LEN])> {
        let query = Query::new(name_or_address);
        self.keys
            .iter()
            .zip(&self.secrets)
            .find(|(info, _)| query.matches(info))
            .map(|(info, secret)| (info, &**secret))
            .ok_or_else(|| unknown_key(&self.path, &self.keys, name_or_address))
    }

    /// Checks a new key's name: valid and not taken.
    fn new_name(&self, name: &str) -> Result<String> {
        let name = normalize_name(name)?;
        if self.keys.iter().any(|info| info.name == name) {
            return Err(Error::DuplicateName {
                path: self.path.clone(),
                name,
            });
        }
        Ok(name)
    }

    fn insert(&mut self, name: String, secret: Zeroizing<[u8; SECRET_LEN]>) -> Result<Address> {
        let address = Keypair::from_secret(&secret).address();
        if let Some(existing) = self.keys.iter().find(|info| info.address == address) {
            return Err(Error::DuplicateKey {
                path: self.path.clone(),
                address,
                existing: existing.name.clone(),
            });
        }
        if self.keys.len() >= MAX_KEYS {
            return Err(Error::TooManyKeys {
                path: self.path.clone(),
                limit: MAX_KEYS,
            });
        }
        self.keys.push(KeyInfo { name, address });
        self.secrets.push(secret);
        Ok(address)
    }
}

impl fmt::Debug for Keystore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keystore")
            .field("path", &self.path)
            .field("keys", &self.keys)
            .field("kdf", &self.params)
            .field("secrets", &"<redacted>")
            .finish()
    }
}

/// A name or an address to look a key up by.
enum Query {
    Address(Address),
    Name(String),
}

impl Query {
    fn new(text: &str) -> Query {
        let text = text.trim();
        match text.parse::<Address>() {
            Ok(address) => Query::Address(address),
            Err(_) => Query::Name(text.to_ascii_lowercase()),
        }
    }

    fn matches(&self, info: &KeyInfo) -> bool {
        match self {
            Query::Address(address) => info.address == *address,
            Query::Name(name) => info.name == *name,
        }
    }
}

fn unknown_key(path: &Path, keys: &[KeyInfo], name: &str) -> Error {
    Error::UnknownKey {
        path: path.to_path_buf(),
        name: name.trim().to_string(),
        available: names(keys),
    }
}

fn only_key<'a>(path: &Path, keys: &'a [KeyInfo]) -> Result<&'a KeyInfo> {
    match keys {
        [only] => Ok(only),
        [] => Err(Error::NoKeys {
            path: path.to_path_buf(),
        }),
        _ => Err(Error::AmbiguousKey {
            path: path.to_path_buf(),
            available: names(keys),
        }),
    }
}

fn names(keys: &[KeyInfo]) -> Vec<String> {
    keys.iter().map(|info| info.name.clone()).collect()
}

/// The canonical (lower-case) form of a key name, or why it is invalid.
fn normalize_name(name: &str) -> Result<String> {
    let invalid = |reason| Error::InvalidName {
        name: name.to_string(),
        reason,
    };
    if name.is_empty() || name.chars().count() > MAX_NAME_LEN {
        return Err(invalid("a key name has 1 to 32 characters"));
    }
    let lower = name.to_ascii_lowercase();
    if !lower
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    {
        return Err(invalid(
            "a key name may only use the letters a-z, the digits 0-9, '-' and '_'",
        ));
    }
    Ok(lower)
}

/// The contents of a keystore file, decoded and checked, still encrypted.
struct Sealed {
    params: KdfParams,
    salt: Vec<u8>,
    nonce: [u8; NONCE_LEN],
    keys: Vec<KeyInfo>,
    limit: RedeemLimit,
    check: [u8; 32],
    ciphertext: Vec<u8>,
}

/// The file as JSON (format version 1).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileJson {
    version: u32,
    kdf: KdfJson,
    cipher: CipherJson,
    keys: Vec<KeyJson>,
    passphrase_check: String,
    ciphertext: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    redeem_confirmation: Option<LimitJson>,
}

/// The redemption limit in the file: `{"above": N}` or `"always"`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
enum LimitJson {
    Above(u64),
    Always,
}

impl LimitJson {
    fn of(limit: RedeemLimit) -> Option<LimitJson> {
        match limit {
            RedeemLimit::Off => None,
            RedeemLimit::Above(points) => Some(LimitJson::Above(points.0)),
            RedeemLimit::Always => Some(LimitJson::Always),
        }
    }

    fn limit(json: Option<&LimitJson>) -> RedeemLimit {
        match json {
            None => RedeemLimit::Off,
            Some(LimitJson::Above(n)) => RedeemLimit::Above(guild_ledger::types::Points(*n)),
            Some(LimitJson::Always) => RedeemLimit::Always,
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KdfJson {
    algorithm: String,
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
    salt: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CipherJson {
    algorithm: String,
    nonce: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyJson {
    name: String,
    address: String,
}

/// Only the version, read first so a newer format is reported as such.
#[derive(Deserialize)]
struct VersionJson {
    version: Option<serde_json::Value>,
}

impl Sealed {
    /// Decodes and checks a file's bytes.
    fn parse(path: &Path, bytes: &[u8]) -> Result<Sealed> {
        let corrupt = |reason: String| Error::Corrupt {
            path: path.to_path_buf(),
            reason,
        };
        let probe: VersionJson = serde_json::from_slice(bytes)
            .map_err(|e| corrupt(format!("not a keystore file (invalid JSON: {e})")))?;
        let version = probe
            .version
            .ok_or_else(|| corrupt("not a keystore file (no \"version\")".to_string()))?;
        let found = version
            .as_u64()
            .ok_or_else(|| corrupt(format!("the version {version} is not a number")))?;
        if found != u64::from(FORMAT_VERSION) {
            return Err(Error::UnsupportedVersion {
                path: path.to_path_buf(),
                found,
                supported: FORMAT_VERSION,
            });
        }
        let file: FileJson = serde_json::from_slice(bytes)
            .map_err(|e| corrupt(format!("unexpected contents: {e}")))?;

        if file.kdf.algorithm != KDF_ALGORITHM {
            return Err(corrupt(format!(
                "unknown key-derivation algorithm {:?} (expected {KDF_ALGORITHM:?})",
                file.kdf.algorithm
            )));
        }
        if file.cipher.algorithm != CIPHER_ALGORITHM {
            return Err(corrupt(format!(
                "unknown cipher {:?} (expected {CIPHER_ALGORITHM:?})",
                file.cipher.algorithm
            )));
        }
        let params = KdfParams {
            memory_kib: file.kdf.memory_kib,
            iterations: file.kdf.iterations,
            parallelism: file.kdf.parallelism,
        };
        params.check(path)?;
        let salt = hex::decode(&file.kdf.salt)
            .map_err(|e| corrupt(format!("the salt is not hexadecimal: {e}")))?;
        if !(MIN_SALT_LEN..=MAX_SALT_LEN).contains(&salt.len()) {
            return Err(corrupt(format!(
                "the salt has {} bytes, expected {MIN_SALT_LEN} to {MAX_SALT_LEN}",
                salt.len()
            )));
        }
        let nonce: [u8; NONCE_LEN] = decode_array(&file.cipher.nonce, "nonce", path)?;
        let check: [u8; 32] = decode_array(&file.passphrase_check, "passphrase check", path)?;

        if file.keys.len() > MAX_KEYS {
            return Err(corrupt(format!(
                "it lists {} keys, more than the limit of {MAX_KEYS}",
                file.keys.len()
            )));
        }
        let mut keys: Vec<KeyInfo> = Vec::with_capacity(file.keys.len());
        for entry in &file.keys {
            let name = match normalize_name(&entry.name) {
                Ok(name) if name == entry.name => name,
                _ => return Err(corrupt(format!("invalid key name {:?}", entry.name))),
            };
            let address: Address = entry
                .address
                .parse()
                .map_err(|e| corrupt(format!("the address of key {name:?} is invalid: {e}")))?;
            if let Some(other) = keys.iter().find(|k| k.name == name || k.address == address) {
                return Err(corrupt(format!(
                    "keys {:?} and {name:?} have the same name or address",
                    other.name
                )));
            }
            keys.push(KeyInfo { name, address });
        }

        let ciphertext = hex::decode(&file.ciphertext)
            .map_err(|e| corrupt(format!("the ciphertext is not hexadecimal: {e}")))?;
        let expected = keys.len() * SECRET_LEN + TAG_LEN;
        if ciphertext.len() != expected {
            return Err(corrupt(format!(
                "the ciphertext has {} bytes, expected {expected} for {} keys",
                ciphertext.len(),
                keys.len()
            )));
        }
        Ok(Sealed {
            params,
            salt,
            nonce,
            keys,
            limit: LimitJson::limit(file.redeem_confirmation.as_ref()),
            check,
            ciphertext,
        })
    }

    /// Encrypts `secrets` (one per entry of `keys`). Every argument is one
    /// field of the sealed file, in the file's order.
    #[allow(clippy::too_many_arguments)]
    fn seal(
        path: &Path,
        passphrase: &str,
        params: KdfParams,
        salt: Vec<u8>,
        nonce: [u8; NONCE_LEN],
        keys: Vec<KeyInfo>,
        limit: RedeemLimit,
        secrets: &[Zeroizing<[u8; SECRET_LEN]>],
    ) -> Result<Sealed> {
        let derived = Derived::new(path, passphrase, &params, &salt)?;
        let mut plaintext = Zeroizing::new(Vec::with_capacity(secrets.len() * SECRET_LEN));
        for secret in secrets {
            plaintext.extend_from_slice(&secret[..]);
        }
        let aad = associated_data(&params, &salt, &keys, limit);
        let ciphertext = derived
            .cipher()
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &plaintext,
                    aad: &aad,
                },
            )
            .map_err(|_| Error::Encrypt {
                path: path.to_path_buf(),
                reason: "the key list is too large".to_string(),
            })?;
        Ok(Sealed {
            params,
            salt,
            nonce,
            keys,
            limit,
            check: derived.check,
            ciphertext,
        })
    }

    /// Checks the passphrase and decrypts the secrets.
    fn open(&self, path: &Path, passphrase: &str) -> Result<Vec<Zeroizing<[u8; SECRET_LEN]>>> {
        let corrupt = |reason: &str| Error::Corrupt {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        };
        let derived = Derived::new(path, passphrase, &self.params, &self.salt)?;
        let check_ok = constant_time_eq(&derived.check, &self.check);
        let aad = associated_data(&self.params, &self.salt, &self.keys, self.limit);
        // Wrapped at once, so the secrets are wiped on every path below.
        let decrypted = derived
            .cipher()
            .decrypt(
                Nonce::from_slice(&self.nonce),
                Payload {
                    msg: &self.ciphertext,
                    aad: &aad,
                },
            )
            .map(Zeroizing::new);
        let plaintext = match (decrypted, check_ok) {
            (Ok(plaintext), true) => plaintext,
            (Ok(_), false) => {
                return Err(corrupt(
                    "its passphrase check value was modified (the keys are intact)",
                ));
            }
            (Err(_), true) => {
                return Err(corrupt(
                    "the passphrase is right, but the key list or the encrypted keys were \
                     modified; restore it from a backup",
                ));
            }
            (Err(_), false) => {
                return Err(Error::WrongPassphrase {
                    path: path.to_path_buf(),
                });
            }
        };
        if plaintext.len() != self.keys.len() * SECRET_LEN {
            return Err(corrupt("the encrypted keys do not match the key list"));
        }
        let mut secrets = Vec::with_capacity(self.keys.len());
        for (chunk, info) in plaintext.chunks_exact(SECRET_LEN).zip(&self.keys) {
            let mut secret = Zeroizing::new([0u8; SECRET_LEN]);
            secret.copy_from_slice(chunk);
            if Keypair::from_secret(&secret).address() != info.address {
                return Err(corrupt(&format!(
                    "the secret of key {:?} does not match its address",
                    info.name
                )));
            }
            secrets.push(secret);
        }
        Ok(secrets)
    }

    fn to_json(&self, path: &Path) -> Result<Vec<u8>> {
        let file = FileJson {
            version: FORMAT_VERSION,
            kdf: KdfJson {
                algorithm: KDF_ALGORITHM.to_string(),
                memory_kib: self.params.memory_kib,
                iterations: self.params.iterations,
                parallelism: self.params.parallelism,
                salt: hex::encode(&self.salt),
            },
            cipher: CipherJson {
                algorithm: CIPHER_ALGORITHM.to_string(),
                nonce: hex::encode(self.nonce),
            },
            keys: self
                .keys
                .iter()
                .map(|info| KeyJson {
                    name: info.name.clone(),
                    address: info.address.to_string(),
                })
                .collect(),
            passphrase_check: hex::encode(self.check),
            ciphertext: hex::encode(&self.ciphertext),
            redeem_confirmation: LimitJson::of(self.limit),
        };
        let mut bytes = serde_json::to_vec_pretty(&file).map_err(|e| Error::Io {
            path: path.to_path_buf(),
            action: "encode keystore",
            source: e.into(),
        })?;
        bytes.push(b'\n');
        Ok(bytes)
    }
}

/// Keys derived from the passphrase.
struct Derived {
    cipher_key: Zeroizing<[u8; 32]>,
    check: [u8; 32],
}

impl Derived {
    fn new(path: &Path, passphrase: &str, params: &KdfParams, salt: &[u8]) -> Result<Derived> {
        let unsafe_params = |e: argon2::Error| Error::UnsafeKdfParams {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        let argon_params = argon2::Params::new(
            params.memory_kib,
            params.iterations,
            params.parallelism,
            Some(32),
        )
        .map_err(unsafe_params)?;
        let argon = argon2::Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            argon_params,
        );
        let mut master = Zeroizing::new([0u8; 32]);
        argon
            .hash_password_into(passphrase.as_bytes(), salt, &mut master[..])
            .map_err(unsafe_params)?;
        let mut hash = tagged_hash(CIPHER_KEY_DOMAIN, &[&master[..]]);
        let cipher_key = Zeroizing::new(hash.0);
        hash.0.zeroize();
        let check = tagged_hash(CHECK_DOMAIN, &[&master[..]]).0;
        Ok(Derived { cipher_key, check })
    }

    fn cipher(&self) -> ChaCha20Poly1305 {
        ChaCha20Poly1305::new(Key::from_slice(&self.cipher_key[..]))
    }
}

/// The authenticated (not encrypted) data: everything in the file that
/// decides what the ciphertext means. See the module documentation.
fn associated_data(
    params: &KdfParams,
    salt: &[u8],
    keys: &[KeyInfo],
    limit: RedeemLimit,
) -> Vec<u8> {
    fn put(out: &mut Vec<u8>, bytes: &[u8]) {
        out.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
        out.extend_from_slice(bytes);
    }
    let mut out = Vec::with_capacity(128 + keys.len() * 80);
    put(&mut out, AD_DOMAIN.as_bytes());
    out.extend_from_slice(&FORMAT_VERSION.to_be_bytes());
    put(&mut out, KDF_ALGORITHM.as_bytes());
    out.extend_from_slice(&params.memory_kib.to_be_bytes());
    out.extend_from_slice(&params.iterations.to_be_bytes());
    out.extend_from_slice(&params.parallelism.to_be_bytes());
    put(&mut out, salt);
    put(&mut out, CIPHER_ALGORITHM.as_bytes());
    out.extend_from_slice(&(keys.len() as u64).to_be_bytes());
    for info in keys {
        put(&mut out, info.name.as_bytes());
        out.extend_from_slice(&info.address.0);
    }
    // Absent when no limit is set: such files authenticate exactly as
    // before the setting existed.
    let tagged = match limit {
        RedeemLimit::Off => None,
        RedeemLimit::Above(points) => Some((1u8, points.0)),
        RedeemLimit::Always => Some((2u8, 0)),
    };
    if let Some((tag, value)) = tagged {
        put(&mut out, LIMIT_DOMAIN.as_bytes());
        out.push(tag);
        out.extend_from_slice(&value.to_be_bytes());
    }
    out
}

fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn decode_array<const N: usize>(text: &str, what: &str, path: &Path) -> Result<[u8; N]> {
    let mut out = [0u8; N];
    hex::decode_to_slice(text, &mut out).map_err(|_| Error::Corrupt {
        path: path.to_path_buf(),
        reason: format!("the {what} is not {N} bytes of hexadecimal"),
    })?;
    Ok(out)
}

fn random(out: &mut [u8]) -> Result<()> {
    getrandom::fill(out).map_err(|e| Error::Randomness {
        reason: e.to_string(),
    })
}

fn io_error(path: &Path, action: &'static str) -> impl FnOnce(io::Error) -> Error {
    let path = path.to_path_buf();
    move |source| Error::Io {
        path,
        action,
        source,
    }
}

fn exists(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}

/// Reads a whole file of at most [`MAX_FILE_BYTES`]; `None` if there is none.
fn read_bounded(path: &Path) -> Result<Option<Vec<u8>>> {
    durable::read_bounded(path, MAX_FILE_BYTES).map_err(|error| match error {
        DurableError::TooLarge { path, limit } => Error::Corrupt {
            path,
            reason: format!("it is larger than {limit} bytes; not a keystore"),
        },
        other => Error::durable(other, "read keystore", |path| Error::Exists { path }),
    })
}

/// The directory holding `path` (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    durable::parent_dir(path)
}

fn create_parent_dir(path: &Path) -> Result<()> {
    let dir = parent_dir(path);
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(io_error(dir, "create the directory"))
}

/// Writes `bytes` to `path` so that a crash leaves either the old file or
/// the new one, never a mix ([`guild_os::durable::write_atomically`], mode
/// `0600`). Without `replace`, an existing file is left alone and
/// [`Error::Exists`] returned.
fn write_atomically(path: &Path, bytes: &[u8], replace: bool) -> Result<()> {
    durable::write_atomically(path, bytes, Existing::replace_if(replace)).map_err(|error| {
        Error::durable(error, "write a keystore to", |path| Error::Exists { path })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    const PASS: &str = "correct horse battery staple";

    /// An edit of a keystore file's JSON.
    type Edit = fn(&mut Value);

    fn fresh() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wallet.json");
        (dir, path)
    }

    /// A saved keystore holding "alice" (generated) and "bob" (imported).
    fn two_keys() -> (tempfile::TempDir, PathBuf, Address, Address) {
        let (dir, path) = fresh();
        let mut ks = Keystore::create(&path, PASS, KdfParams::MINIMUM, false).unwrap();
        let alice = ks.generate("alice").unwrap();
        let bob = ks.import("bob", &hex::encode([7u8; 32])).unwrap();
        ks.save(PASS).unwrap();
        (dir, path, alice, bob)
    }

    #[test]
    fn the_redemption_limit_is_kept_and_authenticated() {
        use guild_ledger::types::Points;
        let (_dir, path, _, _) = two_keys();
        // A file written before the setting existed has no limit, and the
        // field is not written while none is set.
        assert_eq!(
            Keystore::open(&path).unwrap().redeem_limit(),
            RedeemLimit::Off
        );
        let value: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        assert!(value.get("redeem_confirmation").is_none());

        let mut ks = unlock(&path, PASS).unwrap();
        ks.set_redeem_limit(RedeemLimit::Above(Points(200)));
        ks.save(PASS).unwrap();
        let value: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        assert_eq!(value["redeem_confirmation"]["above"], 200);
        let file = Keystore::open(&path).unwrap();
        assert_eq!(file.redeem_limit(), RedeemLimit::Above(Points(200)));
        assert_eq!(
            file.unlock(PASS).unwrap().redeem_limit(),
            RedeemLimit::Above(Points(200))
        );

        // Raising or removing it by editing the file is caught on unlock.
        edit_json(&path, |v| {
            v["redeem_confirmation"]["above"] = 100_000.into()
        });
        assert!(is_corrupt(unlock(&path, PASS)));
        edit_json(&path, |v| {
            v.as_object_mut().unwrap().remove("redeem_confirmation");
        });
        assert!(is_corrupt(unlock(&path, PASS)));
        edit_json(&path, |v| v["redeem_confirmation"] = json!({"above": 200}));
        let mut ks = unlock(&path, PASS).unwrap();
        ks.set_redeem_limit(RedeemLimit::Always);
        ks.save(PASS).unwrap();
        assert_eq!(
            unlock(&path, PASS).unwrap().redeem_limit(),
            RedeemLimit::Always
        );
        ks.set_redeem_limit(RedeemLimit::Off);
        ks.save(PASS).unwrap();
        assert_eq!(
            Keystore::open(&path).unwrap().redeem_limit(),
            RedeemLimit::Off
        );
        // A limit of an unknown shape is refused as corrupt.
        edit_json(&path, |v| v["redeem_confirmation"] = json!({"below": 5}));
        assert!(is_corrupt(Keystore::open(&path)));
    }

    fn edit_json(path: &Path, edit: impl FnOnce(&mut Value)) {
        let mut value: Value = serde_json::from_slice(&fs::read(path).unwrap()).unwrap();
        edit(&mut value);
        fs::write(path, serde_json::to_vec_pretty(&value).unwrap()).unwrap();
    }

    fn unlock(path: &Path, passphrase: &str) -> Result<Keystore> {
        Keystore::open(path)?.unlock(passphrase)
    }

    fn is_corrupt(result: Result<impl fmt::Debug>) -> bool {
        matches!(result, Err(Error::Corrupt { .. }))
    }

    #[test]
    fn create_generate_save_open_unlock_round_trips() {
        let (_dir, path, alice, bob) = two_keys();
        let file = Keystore::open(&path).unwrap();
        let listed: Vec<(&str, Address)> = file
            .keys()
            .iter()
            .map(|k| (k.name(), k.address()))
            .collect();
        assert_eq!(listed, vec![("alice", alice), ("bob", bob)]);
        assert_eq!(file.key("bob").unwrap().address(), bob);
        assert_eq!(file.kdf_params(), KdfParams::MINIMUM);

        let ks = file.unlock(PASS).unwrap();
        assert_eq!(ks.keys(), file.keys());
        assert_eq!(ks.keypair("alice").unwrap().address(), alice);
        assert_eq!(ks.keypair("BOB").unwrap().address(), bob);
        assert_eq!(ks.keypair(&alice.to_string()).unwrap().address(), alice);
        assert_eq!(*ks.export("bob").unwrap(), hex::encode([7u8; 32]));
    }

    #[test]
    fn the_file_has_the_documented_shape() {
        let (_dir, path, alice, _) = two_keys();
        let value: Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        assert_eq!(value["version"], 1);
        assert_eq!(value["kdf"]["algorithm"], "argon2id");
        assert_eq!(value["kdf"]["memory_kib"], 8192);
        assert_eq!(value["kdf"]["salt"].as_str().unwrap().len(), 32);
        assert_eq!(value["cipher"]["algorithm"], "chacha20poly1305");
        assert_eq!(value["cipher"]["nonce"].as_str().unwrap().len(), 24);
        assert_eq!(value["keys"][0]["name"], "alice");
        assert_eq!(value["keys"][0]["address"], alice.to_string());
        assert_eq!(
            value["ciphertext"].as_str().unwrap().len(),
            2 * (2 * 32 + 16)
        );
    }

    #[test]
    fn a_wrong_passphrase_is_reported_as_such() {
        let (_dir, path, _, _) = two_keys();
        let err = unlock(&path, "incorrect horse").unwrap_err();
        assert!(matches!(err, Error::WrongPassphrase { .. }), "{err}");
        assert!(err.to_string().contains("wrong passphrase for keystore"));
    }

    #[test]
    fn a_flipped_ciphertext_byte_is_corruption() {
        let (_dir, path, _, _) = two_keys();
        edit_json(&path, |v| {
            let mut bytes = hex::decode(v["ciphertext"].as_str().unwrap()).unwrap();
            bytes[5] ^= 1;
            v["ciphertext"] = hex::encode(bytes).into();
        });
        let err = unlock(&path, PASS).unwrap_err();
        assert!(matches!(err, Error::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains("modified"), "{err}");
    }

    #[test]
    fn an_edited_name_or_address_is_corruption() {
        let (_dir, path, _, _) = two_keys();
        edit_json(&path, |v| v["keys"][0]["name"] = "mallory".into());
        assert!(
            Keystore::open(&path).is_ok(),
            "the list itself is well-formed"
        );
        assert!(is_corrupt(unlock(&path, PASS)));

        let (_dir, path, _, _) = two_keys();
        let other = Keypair::from_secret(&[9; 32]).address().to_string();
        edit_json(&path, |v| v["keys"][1]["address"] = other.into());
        assert!(is_corrupt(unlock(&path, PASS)));

        // Swapping the two entries is caught as well.
        let (_dir, path, _, _) = two_keys();
        edit_json(&path, |v| {
            let keys = v["keys"].as_array_mut().unwrap();
            keys.swap(0, 1);
        });
        assert!(is_corrupt(unlock(&path, PASS)));
    }

    #[test]
    fn an_edited_check_value_is_corruption_not_a_wrong_passphrase() {
        let (_dir, path, _, _) = two_keys();
        edit_json(&path, |v| {
            v["passphrase_check"] = hex::encode([0u8; 32]).into()
        });
        assert!(is_corrupt(unlock(&path, PASS)));
    }

    #[test]
    fn truncated_or_garbage_files_are_corrupt() {
        let (_dir, path, _, _) = two_keys();
        let bytes = fs::read(&path).unwrap();
        let cases: Vec<Vec<u8>> = vec![
            bytes[..bytes.len() / 2].to_vec(),
            Vec::new(),
            b"\x00\xff garbage".to_vec(),
            b"[1, 2, 3]".to_vec(),
            b"{\"keys\": []}".to_vec(),
            b"{\"version\": 1}".to_vec(),
            b"{\"version\": \"one\"}".to_vec(),
        ];
        for case in cases {
            fs::write(&path, &case).unwrap();
            let result = Keystore::open(&path);
            assert!(is_corrupt(result), "{}", String::from_utf8_lossy(&case));
        }
    }

    #[test]
    fn malformed_fields_are_corrupt() {
        let edits: Vec<(&str, Edit)> = vec![
            ("salt hex", |v| v["kdf"]["salt"] = "zz".into()),
            ("short salt", |v| v["kdf"]["salt"] = "0011".into()),
            ("nonce", |v| v["cipher"]["nonce"] = "00".into()),
            ("cipher", |v| v["cipher"]["algorithm"] = "aes".into()),
            ("kdf", |v| v["kdf"]["algorithm"] = "scrypt".into()),
            ("name", |v| v["keys"][0]["name"] = "Alice".into()),
            ("address", |v| v["keys"][0]["address"] = "guild1xyz".into()),
            ("duplicate", |v| v["keys"][1] = v["keys"][0].clone()),
            ("length", |v| v["ciphertext"] = "00".into()),
            ("unknown field", |v| v["extra"] = 1.into()),
        ];
        for (what, edit) in edits {
            let (_dir, path, _, _) = two_keys();
            edit_json(&path, edit);
            assert!(is_corrupt(Keystore::open(&path)), "{what}");
        }
    }

    #[test]
    fn a_newer_version_is_unsupported() {
        let (_dir, path, _, _) = two_keys();
        edit_json(&path, |v| v["version"] = 2.into());
        let err = Keystore::open(&path).unwrap_err();
        assert!(
            matches!(err, Error::UnsupportedVersion { found: 2, .. }),
            "{err}"
        );
    }

    #[test]
    fn absurd_kdf_params_in_a_file_are_refused() {
        let edits: Vec<Edit> = vec![
            |v| v["kdf"]["memory_kib"] = (4u64 * 1024 * 1024).into(),
            |v| v["kdf"]["memory_kib"] = 1024.into(),
            |v| v["kdf"]["iterations"] = 1000.into(),
            |v| v["kdf"]["iterations"] = 0.into(),
            |v| v["kdf"]["parallelism"] = 255.into(),
        ];
        for edit in edits {
            let (_dir, path, _, _) = two_keys();
            edit_json(&path, edit);
            let err = Keystore::open(&path).unwrap_err();
            assert!(matches!(err, Error::UnsafeKdfParams { .. }), "{err}");
        }
    }

    #[test]
    fn creating_unsafe_params_is_refused() {
        let (_dir, path) = fresh();
        let weak = KdfParams {
            memory_kib: 64,
            ..KdfParams::default()
        };
        let err = Keystore::create(&path, PASS, weak, false).unwrap_err();
        assert!(matches!(err, Error::UnsafeKdfParams { .. }), "{err}");
        assert!(!path.exists());
        assert!(KdfParams::default().problem().is_none());
    }

    #[test]
    fn create_never_overwrites_without_force() {
        let (_dir, path, alice, _) = two_keys();
        let before = fs::read(&path).unwrap();
        let err = Keystore::create(&path, PASS, KdfParams::MINIMUM, false).unwrap_err();
        assert!(matches!(err, Error::Exists { .. }), "{err}");
        assert!(err.to_string().contains("--force"));
        assert_eq!(fs::read(&path).unwrap(), before);
        assert_eq!(
            unlock(&path, PASS).unwrap().key("alice").unwrap().address(),
            alice
        );

        let ks = Keystore::create(&path, "new", KdfParams::MINIMUM, true).unwrap();
        assert!(ks.keys().is_empty());
        assert!(unlock(&path, "new").unwrap().keys().is_empty());
    }

    #[test]
    fn the_no_clobber_write_refuses_an_existing_file() {
        let (_dir, path) = fresh();
        fs::write(&path, b"precious").unwrap();
        let err = write_atomically(&path, b"new", false).unwrap_err();
        assert!(matches!(err, Error::Exists { .. }), "{err}");
        assert_eq!(fs::read(&path).unwrap(), b"precious");
        let dir = parent_dir(&path);
        assert_eq!(fs::read_dir(dir).unwrap().count(), 1, "temp file removed");
    }

    #[test]
    fn create_makes_missing_directories() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/wallet.json");
        Keystore::create(&path, PASS, KdfParams::MINIMUM, false).unwrap();
        assert!(Keystore::open(&path).unwrap().keys().is_empty());
    }

    #[test]
    fn a_missing_file_is_not_found() {
        let (_dir, path) = fresh();
        let err = Keystore::open(&path).unwrap_err();
        assert!(matches!(err, Error::NotFound { .. }), "{err}");
        assert!(err.to_string().contains("guild wallet new"));
    }

    #[test]
    fn export_then_import_gives_the_same_address() {
        let (_dir, path, alice, _) = two_keys();
        let secret = unlock(&path, PASS).unwrap().export("alice").unwrap();
        assert_eq!(secret.len(), 64);

        let (_dir2, other) = fresh();
        let mut ks = Keystore::create(&other, "x", KdfParams::MINIMUM, false).unwrap();
        let prefixed = format!("  0x{}\n", secret.to_uppercase());
        assert_eq!(ks.import("alice-copy", &prefixed).unwrap(), alice);
        ks.save("x").unwrap();
        assert_eq!(
            unlock(&other, "x")
                .unwrap()
                .keypair("alice-copy")
                .unwrap()
                .address(),
            alice
        );
    }

    #[test]
    fn unknown_keys_list_the_available_names() {
        let (_dir, path, _, _) = two_keys();
        let ks = unlock(&path, PASS).unwrap();
        let err = ks.keypair("carol").unwrap_err();
        match &err {
            Error::UnknownKey {
                name, available, ..
            } => {
                assert_eq!(name, "carol");
                assert_eq!(available, &["alice", "bob"]);
            }
            other => panic!("{other}"),
        }
        assert!(err.to_string().contains("alice, bob"));
        let stranger = Keypair::from_secret(&[1; 32]).address().to_string();
        assert!(matches!(
            Keystore::open(&path).unwrap().key(&stranger),
            Err(Error::UnknownKey { .. })
        ));
    }

    #[test]
    fn the_default_key_is_the_only_key() {
        let (_dir, path) = fresh();
        let mut ks = Keystore::create(&path, PASS, KdfParams::MINIMUM, false).unwrap();
        assert!(matches!(ks.default_key(), Err(Error::NoKeys { .. })));
        let alice = ks.generate("alice").unwrap();
        assert_eq!(ks.default_key().unwrap().address(), alice);
        ks.generate("bob").unwrap();
        let err = ks.default_key().unwrap_err();
        assert!(matches!(err, Error::AmbiguousKey { .. }), "{err}");
        assert!(err.to_string().contains("alice, bob"));
    }

    #[test]
    fn names_are_checked_and_unique_ignoring_case() {
        let (_dir, path) = fresh();
        let mut ks = Keystore::create(&path, PASS, KdfParams::MINIMUM, false).unwrap();
        for bad in ["", "bob smith", "émile", "a/b", &"x".repeat(33)] {
            assert!(
                matches!(ks.generate(bad), Err(Error::InvalidName { .. })),
                "{bad:?}"
            );
        }
        assert!(ks.generate(&"x".repeat(32)).is_ok());
        ks.generate("Shop_1-main").unwrap();
        assert_eq!(ks.keys()[1].name(), "shop_1-main");
        let err = ks.generate("SHOP_1-MAIN").unwrap_err();
        assert!(matches!(err, Error::DuplicateName { .. }), "{err}");
    }

    #[test]
    fn importing_a_stored_key_again_names_the_existing_one() {
        let (_dir, path, _, bob) = two_keys();
        let mut ks = unlock(&path, PASS).unwrap();
        let err = ks.import("bobby", &hex::encode([7u8; 32])).unwrap_err();
        match &err {
            Error::DuplicateKey {
                existing, address, ..
            } => {
                assert_eq!(existing, "bob");
                assert_eq!(*address, bob);
            }
            other => panic!("{other}"),
        }
        assert!(err.to_string().contains("\"bob\""));
    }

    #[test]
    fn invalid_secrets_are_refused_without_echoing_them() {
        let (_dir, path) = fresh();
        let mut ks = Keystore::create(&path, PASS, KdfParams::MINIMUM, false).unwrap();
        let cases = ["abcd", &"g1".repeat(32), &"ab".repeat(33)];
        for case in cases {
            let err = ks.import("k", case).unwrap_err();
            assert!(matches!(err, Error::InvalidSecret { .. }), "{err}");
            assert!(!err.to_string().contains(case));
        }
        assert!(ks.keys().is_empty());
    }

    #[test]
    fn secrets_never_appear_in_debug() {
        let (_dir, path, _, _) = two_keys();
        let ks = unlock(&path, PASS).unwrap();
        let text = format!("{ks:?} {:?}", Keystore::open(&path).unwrap());
        assert!(text.contains("bob") && text.contains("redacted"));
        assert!(!text.contains(&hex::encode([7u8; 32])));
        assert!(!text.contains("[7, 7, 7"));
    }

    #[test]
    fn every_save_uses_a_new_salt_and_nonce() {
        let (_dir, path, _, _) = two_keys();
        let read = |p: &Path| -> Value { serde_json::from_slice(&fs::read(p).unwrap()).unwrap() };
        let before = read(&path);
        let mut ks = unlock(&path, PASS).unwrap();
        ks.save(PASS).unwrap();
        let after = read(&path);
        assert_ne!(before["kdf"]["salt"], after["kdf"]["salt"]);
        assert_ne!(before["cipher"]["nonce"], after["cipher"]["nonce"]);
        assert_ne!(before["ciphertext"], after["ciphertext"]);
        assert_eq!(before["keys"], after["keys"]);
    }

    #[test]
    fn save_changes_the_passphrase_and_leaves_no_temporary_files() {
        let (dir, path, alice, _) = two_keys();
        let mut ks = unlock(&path, PASS).unwrap();
        ks.save("a new passphrase").unwrap();
        assert!(matches!(
            unlock(&path, PASS),
            Err(Error::WrongPassphrase { .. })
        ));
        let ks = unlock(&path, "a new passphrase").unwrap();
        assert_eq!(ks.keypair("alice").unwrap().address(), alice);
        let entries: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(entries.len(), 1);
    }

    #[test]
    fn save_refuses_to_overwrite_changes_by_another_program() {
        let (_dir, path, _, _) = two_keys();
        let mut first = unlock(&path, PASS).unwrap();
        let mut second = unlock(&path, PASS).unwrap();
        first.generate("carol").unwrap();
        first.save(PASS).unwrap();
        second.generate("dave").unwrap();
        let err = second.save(PASS).unwrap_err();
        assert!(matches!(err, Error::ChangedOnDisk { .. }), "{err}");
        // Carol survived; the second program can retry after unlocking again.
        assert!(Keystore::open(&path).unwrap().key("carol").is_ok());
        // A keystore keeps saving after its own saves.
        first.generate("erin").unwrap();
        first.save(PASS).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn files_are_private_to_their_owner() {
        use std::os::unix::fs::PermissionsExt;
        let (_dir, path, _, _) = two_keys();
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        unlock(&path, PASS).unwrap().save(PASS).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn oversized_files_are_refused_unread() {
        let (_dir, path) = fresh();
        fs::write(&path, vec![b' '; MAX_FILE_BYTES as usize + 1]).unwrap();
        assert!(is_corrupt(Keystore::open(&path)));
    }

    /// Locks the format: fixed passphrase, salt, nonce and key give fixed
    /// bytes. If this fails, old keystores no longer open. The expected
    /// values were computed independently from the module documentation
    /// (Python `cryptography`: Argon2id, SHA-256, ChaCha20-Poly1305).
    #[test]
    fn golden_vector() {
        let path = Path::new("golden.json");
        let salt = vec![0x11; 16];
        let nonce = [0x22; 12];
        let secret = Zeroizing::new([0x33; 32]);
        let keys = vec![KeyInfo {
            name: "bakery".to_string(),
            address: Keypair::from_secret(&secret).address(),
        }];
        let sealed = Sealed::seal(
            path,
            "guild",
            KdfParams::MINIMUM,
            salt,
            nonce,
            keys,
            RedeemLimit::Off,
            &[secret],
        )
        .unwrap();
        let json = String::from_utf8(sealed.to_json(path).unwrap()).unwrap();
        assert_eq!(hex::encode(sealed.check), GOLDEN_CHECK);
        assert_eq!(hex::encode(&sealed.ciphertext), GOLDEN_CIPHERTEXT);
        let reread = Sealed::parse(path, json.as_bytes()).unwrap();
        let secrets = reread.open(path, "guild").unwrap();
        assert_eq!(*secrets[0], [0x33; 32]);
    }

    const GOLDEN_CHECK: &str = "7d0fde1bdb65644b8f2cb723fb6375ff08fc6ce378f5ffff3fa5d9f920d78fa1";
    const GOLDEN_CIPHERTEXT: &str = "acf3003d8418919b155174ecea8a86c8f1598f2faa131918ebeb13b39946bab0e13031946e03339cfd8995e017239943";
}
