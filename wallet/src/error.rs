//! The wallet's one error type.
//!
//! Every variant has named fields and a message written for the person at
//! the till or on the phone: what went wrong, with which file or key, and
//! what to do next. Lower-level causes (I/O) are chained as
//! [`std::error::Error::source`] rather than repeated in the message, so
//! print errors with their chain (`anyhow`'s `{:#}` does this).

use guild_ledger::Address;
use std::path::PathBuf;

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the wallet.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// There is no keystore file at the path.
    #[error("no keystore at {path}: create one with `guild wallet new`")]
    NotFound {
        /// The keystore path.
        path: PathBuf,
    },

    /// Creating a keystore where a file already exists, without `force`.
    #[error(
        "keystore {path} already exists; pass --force to replace it \
         (the keys in it are lost unless you have a backup)"
    )]
    Exists {
        /// The keystore path.
        path: PathBuf,
    },

    /// A new wallet's passphrase is too short to protect its keys.
    #[error(
        "the passphrase is too short: use at least {min} characters (a few words \
         you can remember work well, e.g. \"blue kettle on sunday\"); nothing was written"
    )]
    WeakPassphrase {
        /// The fewest characters accepted ([`crate::keystore::MIN_PASSPHRASE_CHARS`]).
        min: usize,
    },

    /// The passphrase does not open the keystore.
    ///
    /// Decided by the file's passphrase check value, so a modified key list
    /// or ciphertext is reported as [`Error::Corrupt`] instead. An edit of
    /// the key-derivation settings (salt, costs) cannot be told apart from a
    /// wrong passphrase and is reported as this error.
    #[error("wrong passphrase for keystore {path}")]
    WrongPassphrase {
        /// The keystore path.
        path: PathBuf,
    },

    /// The file is not a readable keystore, or was modified: bad JSON, bad
    /// hex, wrong lengths, a key list that no longer matches the encrypted
    /// keys.
    #[error("keystore {path} is corrupt: {reason}")]
    Corrupt {
        /// The keystore path.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// The file was written by a newer (or unknown) version of the wallet.
    #[error(
        "keystore {path} has format version {found}, but this wallet reads only version \
         {supported}: install a newer guild"
    )]
    UnsupportedVersion {
        /// The keystore path.
        path: PathBuf,
        /// The version in the file.
        found: u64,
        /// The version this wallet reads and writes.
        supported: u32,
    },

    /// The key-derivation settings are outside the accepted range: too weak
    /// to protect the keys, or so costly that opening the file would exhaust
    /// the machine (a booby-trapped file).
    #[error("keystore {path} has unsafe key-derivation settings: {reason}")]
    UnsafeKdfParams {
        /// The keystore path.
        path: PathBuf,
        /// Which setting is out of range, and the range.
        reason: String,
    },

    /// Saving would overwrite changes another program made to the file
    /// since this keystore was opened (for example a key added in another
    /// terminal).
    #[error(
        "keystore {path} was changed by another program after it was unlocked; \
         nothing was saved: unlock it again and repeat the change"
    )]
    ChangedOnDisk {
        /// The keystore path.
        path: PathBuf,
    },

    /// An operating-system error while reading or writing a file.
    #[error("cannot {action} {path}")]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// What was being done, e.g. "read keystore".
        action: &'static str,
        /// The operating-system error.
        #[source]
        source: std::io::Error,
    },

    /// No key of that name or address.
    #[error("no key {name:?} in keystore {path} (available: {})", list(available))]
    UnknownKey {
        /// The keystore path.
        path: PathBuf,
        /// The name or address asked for.
        name: String,
        /// The names of the keys the keystore holds.
        available: Vec<String>,
    },

    /// A key is needed, none was named, and the keystore holds none.
    #[error(
        "keystore {path} holds no keys yet: add one with `guild wallet generate NAME` \
         or `guild wallet import NAME`"
    )]
    NoKeys {
        /// The keystore path.
        path: PathBuf,
    },

    /// A key is needed, none was named, and the keystore holds several.
    #[error(
        "keystore {path} holds several keys ({}): name the one to use",
        list(available)
    )]
    AmbiguousKey {
        /// The keystore path.
        path: PathBuf,
        /// The names of the keys the keystore holds.
        available: Vec<String>,
    },

    /// A key name that breaks the naming rule.
    #[error("{name:?} is not a valid key name: {reason}")]
    InvalidName {
        /// The name given.
        name: String,
        /// The rule it breaks.
        reason: &'static str,
    },

    /// A new key's name is already taken (names are compared ignoring case).
    #[error("keystore {path} already has a key named {name:?}: choose another name")]
    DuplicateName {
        /// The keystore path.
        path: PathBuf,
        /// The name, as stored.
        name: String,
    },

    /// The key being imported is already in the keystore.
    #[error("this key ({address}) is already in keystore {path} as {existing:?}")]
    DuplicateKey {
        /// The keystore path.
        path: PathBuf,
        /// The key's address.
        address: Address,
        /// The name it is stored under.
        existing: String,
    },

    /// A secret key given for import is malformed. The message never
    /// repeats the secret.
    #[error("invalid secret key: {reason}")]
    InvalidSecret {
        /// What is wrong with it.
        reason: String,
    },

    /// The keystore already holds the maximum number of keys.
    #[error("keystore {path} is full: it holds the maximum of {limit} keys")]
    TooManyKeys {
        /// The keystore path.
        path: PathBuf,
        /// The maximum.
        limit: usize,
    },

    /// The operating system's random number generator failed.
    #[error("the operating system's random number generator failed: {reason}")]
    Randomness {
        /// The generator's error.
        reason: String,
    },

    /// Encryption failed (an internal limit was exceeded).
    #[error("cannot encrypt keystore {path}: {reason}")]
    Encrypt {
        /// The keystore path.
        path: PathBuf,
        /// Why.
        reason: String,
    },

    // ---- Talking to a node ------------------------------------------
    /// A node could not be reached, refused a request with an API error,
    /// answered something a Guild node would not send, or did not make a
    /// transaction final in time ([`guild_api::ClientError`]).
    #[error(transparent)]
    Api(#[from] guild_api::ClientError),

    /// The node belongs to another network than the transaction or file.
    #[error(
        "the node at {url} runs network {node_chain:?}, but this is for network {expected:?}; \
         use --node to pick a node of that network"
    )]
    WrongNetwork {
        /// The node's URL.
        url: String,
        /// The network expected.
        expected: String,
        /// The node's network.
        node_chain: String,
    },

    // ---- Input from the person at the keyboard ----------------------
    /// A redemption above the customer's limit, without the second
    /// confirmation (nothing was signed).
    #[error(
        "redeeming {points} points needs your confirmation. {reason} Type the amount at the \
         prompt, or pass --confirm {points}; nothing was signed"
    )]
    ConfirmationNeeded {
        /// The redemption's points.
        points: guild_ledger::types::Points,
        /// Why it needs one (the limit).
        reason: String,
    },

    /// The confirmation typed is not the redemption's amount.
    #[error(
        "the confirmation {confirmed} does not match the redemption of {points} points; nothing \
         was signed"
    )]
    ConfirmationMismatch {
        /// The redemption's points.
        points: guild_ledger::types::Points,
        /// What was typed.
        confirmed: guild_ledger::types::Points,
    },

    /// A number of points that is not a whole number above zero.
    #[error("{text:?} is not a valid number of points: {reason}")]
    InvalidPoints {
        /// The text given.
        text: String,
        /// Why.
        reason: guild_ledger::programme::NumberError,
    },

    /// Zero points: nothing to give, send or redeem.
    #[error("{text:?} is not a valid number of points: points must be more than zero")]
    ZeroPoints {
        /// The text given.
        text: String,
    },

    /// A money amount that does not parse (e.g. `12.50`).
    #[error("{text:?} is not a valid amount of money: {reason}")]
    InvalidAmount {
        /// The text given.
        text: String,
        /// Why.
        reason: guild_ledger::programme::NumberError,
    },

    /// An address that does not parse (the message says why: a typo caught
    /// by the checksum, a wrong prefix, a wrong length).
    #[error(transparent)]
    InvalidAddress(#[from] guild_ledger::AddressError),

    /// A text field (memo, shop name, chain id) that breaks its rule.
    #[error(transparent)]
    InvalidText(#[from] guild_ledger::types::TextError),

    /// Some other value given on the command line is invalid.
    #[error("{what} {text:?} is invalid: {reason}")]
    InvalidInput {
        /// What it is, e.g. "parameter".
        what: &'static str,
        /// The text given.
        text: String,
        /// Why, and what is accepted.
        reason: String,
    },

    /// No member shop has that name or address.
    #[error(
        "no member shop is named {query:?}; the members are: {}",
        list(members)
    )]
    UnknownShop {
        /// The name or address given.
        query: String,
        /// The members, as `Name (address)`.
        members: Vec<String>,
    },

    /// Several member shops' names start with the text given.
    #[error(
        "{query:?} could mean several member shops ({}); the members are: {}",
        list(matches),
        list(members)
    )]
    AmbiguousShop {
        /// The name given.
        query: String,
        /// The names it matches.
        matches: Vec<String>,
        /// The members, as `Name (address)`.
        members: Vec<String>,
    },

    /// A shop command run with a key that is not a member shop.
    #[error(
        "{address} is not a member shop of network {chain_id}; shop commands need a member's \
         wallet (--wallet, e.g. devnet/bakery/wallet.json)"
    )]
    NotAMember {
        /// The wallet key's address.
        address: Address,
        /// The network.
        chain_id: String,
    },

    // ---- Offline signing --------------------------------------------
    /// A signed-transaction file that cannot be used.
    #[error("{path} is not a usable signed transaction: {reason}")]
    BadSignedFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// A file that would be overwritten without `--force`.
    #[error("{path} already exists; pass --force to replace it")]
    FileExists {
        /// The file.
        path: PathBuf,
    },

    /// The local nonce record cannot be read.
    #[error(
        "the nonce record {path} is corrupt: {reason}; delete it and pass --nonce N \
         (the account's next nonce, shown by `guild wallet balance`)"
    )]
    BadNonceRecord {
        /// The record's path.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// Offline signing without a nonce or network to use.
    #[error("cannot sign offline for {address}: {reason}")]
    OfflineUnknown {
        /// The signing address.
        address: Address,
        /// What is missing and how to give it.
        reason: String,
    },

    // ---- Verification -----------------------------------------------
    /// The node's proof of an account does not check out.
    #[error("the node's proof does NOT verify: {reason}. Do not trust this node's answers")]
    ProofInvalid {
        /// What failed.
        reason: String,
    },
}

impl Error {
    /// A stable, machine-readable name for the error, printed by the CLI's
    /// `--json` output. Errors from the node keep the node's code (a ledger
    /// The wallet's error for a failed durable write or bounded read
    /// ([`guild_os::durable`]) while doing `action`; `exists` says what an
    /// existing file means to the caller.
    pub(crate) fn durable(
        error: guild_os::durable::DurableError,
        action: &'static str,
        exists: impl FnOnce(PathBuf) -> Error,
    ) -> Error {
        use guild_os::durable::DurableError;
        match error {
            DurableError::Io {
                path,
                action,
                source,
            } => Error::Io {
                path,
                action,
                source,
            },
            DurableError::Exists { path } => exists(path),
            DurableError::TooLarge { path, limit } => Error::Io {
                path,
                action,
                source: std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("larger than {limit} bytes"),
                ),
            },
            DurableError::Randomness { source } => Error::Randomness {
                reason: source.to_string(),
            },
        }
    }

    /// rule such as `insufficient_points`, or an API code; `docs/api.md`).
    pub fn code(&self) -> &str {
        match self {
            Error::NotFound { .. } => "no_wallet",
            Error::Exists { .. } | Error::FileExists { .. } => "file_exists",
            Error::WrongPassphrase { .. } => "wrong_passphrase",
            Error::WeakPassphrase { .. } => "weak_passphrase",
            Error::Corrupt { .. } => "corrupt_wallet",
            Error::UnsupportedVersion { .. } => "unsupported_wallet_version",
            Error::UnsafeKdfParams { .. } => "unsafe_kdf_params",
            Error::ChangedOnDisk { .. } => "wallet_changed_on_disk",
            Error::Io { .. } => "io",
            Error::UnknownKey { .. } => "unknown_key",
            Error::NoKeys { .. } => "no_keys",
            Error::AmbiguousKey { .. } => "ambiguous_key",
            Error::InvalidName { .. } => "invalid_key_name",
            Error::DuplicateName { .. } => "duplicate_key_name",
            Error::DuplicateKey { .. } => "duplicate_key",
            Error::InvalidSecret { .. } => "invalid_secret",
            Error::TooManyKeys { .. } => "too_many_keys",
            Error::Randomness { .. } => "randomness",
            Error::Encrypt { .. } => "encrypt",
            Error::Api(e) => e.code(),
            Error::WrongNetwork { .. } => "wrong_network",
            Error::InvalidPoints { .. } | Error::ZeroPoints { .. } => "invalid_points",
            Error::ConfirmationNeeded { .. } => "confirmation_needed",
            Error::ConfirmationMismatch { .. } => "confirmation_mismatch",
            Error::InvalidAmount { .. } => "invalid_amount",
            Error::InvalidAddress(_) => "invalid_address",
            Error::InvalidText(_) => "invalid_text",
            Error::InvalidInput { .. } => "invalid_input",
            Error::UnknownShop { .. } => "unknown_shop",
            Error::AmbiguousShop { .. } => "ambiguous_shop",
            Error::NotAMember { .. } => "not_a_member",
            Error::BadSignedFile { .. } => "bad_signed_file",
            Error::BadNonceRecord { .. } => "bad_nonce_record",
            Error::OfflineUnknown { .. } => "offline_missing",
            Error::ProofInvalid { .. } => "proof_invalid",
        }
    }
}

/// A list of key names for a message.
fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_file_and_the_next_step() {
        let path = PathBuf::from("/home/sam/.guild/wallet.json");
        let text = Error::Exists { path: path.clone() }.to_string();
        assert!(text.contains("/home/sam/.guild/wallet.json"));
        assert!(text.contains("--force"));
        let text = Error::NotFound { path: path.clone() }.to_string();
        assert!(text.contains("guild wallet new"));
        let text = Error::UnknownKey {
            path: path.clone(),
            name: "carol".into(),
            available: vec!["alice".into(), "bob".into()],
        }
        .to_string();
        assert!(text.contains("\"carol\"") && text.contains("alice, bob"));
        let text = Error::UnknownKey {
            path,
            name: "carol".into(),
            available: vec![],
        }
        .to_string();
        assert!(text.contains("available: none"));
    }
}
