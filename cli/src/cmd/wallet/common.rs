//! What `guild wallet`, `guild shop` and `guild submit` share: finding and
//! unlocking the wallet, talking to the node, signing and submitting (or
//! signing offline), and printing results as text or `--json`.

use crate::Globals;
use anyhow::{Context, anyhow, bail};
use clap::Args;
use guild_api::{ClientError, Finality, MemberInfo, NodeClient};
use guild_ledger::tx::{SignedTransaction, TxBody};
use guild_ledger::types::{ChainId, Nonce, Timestamp};
use guild_ledger::{Address, Keypair};
use guild_wallet::builder;
use guild_wallet::keystore::{KeyInfo, Keystore, KeystoreFile};
use guild_wallet::offline::{NonceRecord, SignedFile};
use serde_json::{Value, json};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The wallet file used when neither `--wallet` nor `GUILD_WALLET` is given.
pub fn default_wallet_path() -> PathBuf {
    let home = std::env::var_os("HOME").or_else(|| std::env::var_os("USERPROFILE"));
    match home {
        Some(home) if !home.is_empty() => PathBuf::from(home).join(".guild").join("wallet.json"),
        _ => PathBuf::from("guild-wallet.json"),
    }
}

/// Everything a wallet or shop command needs from the command line.
pub struct Ctx {
    /// Print JSON on stdout.
    pub json: bool,
    /// The node URL.
    pub node: String,
    /// The wallet file.
    pub wallet: PathBuf,
    /// `--passphrase-file`.
    pub passphrase_file: Option<PathBuf>,
    /// `--key NAME`: which key of the wallet.
    pub key: Option<String>,
}

impl Ctx {
    /// From the global options and a command's `--key`.
    pub fn new(globals: &Globals, key: Option<String>) -> Ctx {
        Ctx {
            json: globals.json,
            node: globals.node.clone(),
            wallet: globals.wallet.clone().unwrap_or_else(default_wallet_path),
            passphrase_file: globals.passphrase_file.clone(),
            key,
        }
    }

    /// A client of the node (no request made yet).
    pub fn client(&self) -> anyhow::Result<NodeClient> {
        Ok(NodeClient::new(&self.node)?)
    }

    /// The wallet file, still locked.
    pub fn keystore(&self) -> anyhow::Result<KeystoreFile> {
        Ok(Keystore::open(&self.wallet)?)
    }

    /// The key the command uses: `--key NAME`, or the wallet's only key.
    pub fn key_info(&self) -> anyhow::Result<KeyInfo> {
        let file = self.keystore()?;
        Ok(pick_key(&file, self.key.as_deref())?.clone())
    }

    /// The address the command is about: `--address` if given, else the
    /// wallet key's (no passphrase needed).
    pub fn address(&self, explicit: Option<&str>) -> anyhow::Result<(Address, Option<String>)> {
        match explicit {
            Some(text) => Ok((builder::parse_address(text)?, None)),
            None => {
                let info = self.key_info()?;
                Ok((info.address(), Some(info.name().to_string())))
            }
        }
    }

    /// Unlocks the wallet (asking for the passphrase) and returns the
    /// signing key.
    pub fn signing_key(&self) -> anyhow::Result<(Keypair, KeyInfo)> {
        let file = self.keystore()?;
        let info = pick_key(&file, self.key.as_deref())?.clone();
        let what = format!("wallet {}", self.wallet.display());
        let passphrase = zeroize::Zeroizing::new(crate::passphrase::read(
            &what,
            self.passphrase_file.as_deref(),
        )?);
        let keystore = file.unlock(&passphrase)?;
        let key = keystore.keypair(info.name())?;
        Ok((key, info))
    }

    /// Where this wallet's nonce record lives.
    pub fn nonce_record_path(&self) -> PathBuf {
        NonceRecord::path_for(&self.wallet)
    }
}

/// The key named `name`, or the only key; several keys and no name is an
/// error that says to pass `--key`.
pub fn pick_key<'a>(file: &'a KeystoreFile, name: Option<&str>) -> anyhow::Result<&'a KeyInfo> {
    match name {
        Some(name) => Ok(file.key(name)?),
        None => match file.default_key() {
            Ok(info) => Ok(info),
            Err(e @ guild_wallet::Error::AmbiguousKey { .. }) => {
                Err(anyhow!(e).context("choose a key with --key NAME"))
            }
            Err(e) => Err(e.into()),
        },
    }
}

/// Would reading a passphrase prompt on the terminal? (The same order of
/// sources as [`crate::passphrase::read`].)
pub fn will_prompt(file: Option<&Path>) -> bool {
    file.is_none()
        && std::env::var_os("GUILD_PASSPHRASE").is_none()
        && std::env::var_os("GUILD_PASSPHRASE_FILE").is_none()
        && std::io::stdin().is_terminal()
}

/// Reads the passphrase for a new wallet: typed twice at a prompt, or from
/// the usual sources for scripts. Refuses an empty one.
pub fn new_passphrase(ctx: &Ctx) -> anyhow::Result<zeroize::Zeroizing<String>> {
    let what = format!("the new wallet {}", ctx.wallet.display());
    let passphrase = if will_prompt(ctx.passphrase_file.as_deref()) {
        eprintln!(
            "Choose a passphrase for {} (at least {} characters). It encrypts your keys; \
             without it they cannot be used.",
            ctx.wallet.display(),
            guild_wallet::keystore::MIN_PASSPHRASE_CHARS
        );
        let first = zeroize::Zeroizing::new(
            rpassword::prompt_password("New passphrase: ")
                .context("cannot read the passphrase from the terminal")?,
        );
        let second = zeroize::Zeroizing::new(
            rpassword::prompt_password("Repeat the passphrase: ")
                .context("cannot read the passphrase from the terminal")?,
        );
        if *first != *second {
            bail!("the two passphrases differ; nothing was created, try again");
        }
        first
    } else {
        zeroize::Zeroizing::new(crate::passphrase::read(
            &what,
            ctx.passphrase_file.as_deref(),
        )?)
    };
    if passphrase.is_empty() {
        bail!("the passphrase is empty; choose one (it protects the keys in the wallet)");
    }
    guild_wallet::keystore::check_new_passphrase(&passphrase)?;
    Ok(passphrase)
}

/// A current-thread async runtime for one command.
pub fn block_on<F: std::future::Future>(future: F) -> anyhow::Result<F::Output> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    Ok(runtime.block_on(future))
}

/// The wall clock, in milliseconds since 1970.
pub fn now() -> Timestamp {
    Timestamp(guild_os::clock::now_ms())
}

/// Prints a JSON value on stdout.
pub fn print_json(value: &Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Runs a command; with `--json`, a failure is also printed on stdout as
/// `{"error":{"code","message"}}` (the message still goes to stderr and the
/// exit code is 1).
pub fn with_json_errors(
    json: bool,
    command: impl FnOnce() -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let result = command();
    if let (true, Err(error)) = (json, &result) {
        let body =
            json!({"error": {"code": error_code(error), "message": crate::cmd::describe(error)}});
        println!("{body}");
    }
    result
}

/// The stable code of an error: the wallet's or the node client's (which
/// keeps the node's code), or `error`.
pub fn error_code(error: &anyhow::Error) -> String {
    error
        .chain()
        .find_map(|cause| {
            if let Some(e) = cause.downcast_ref::<guild_wallet::Error>() {
                Some(e.code().to_string())
            } else if let Some(e) = cause.downcast_ref::<guild_ledger::TxError>() {
                Some(e.code().to_string())
            } else {
                cause
                    .downcast_ref::<ClientError>()
                    .map(|e| e.code().to_string())
            }
        })
        .unwrap_or_else(|| "error".to_string())
}

/// Member names by address, for messages.
pub fn namer(members: &[MemberInfo]) -> impl Fn(&Address) -> Option<String> + '_ {
    move |address| {
        members
            .iter()
            .find(|m| m.address == *address)
            .map(|m| m.name.to_string())
    }
}

/// A shop given on the command line: a name (needs the member list) or an
/// address.
pub fn shop_arg(members: Option<&[MemberInfo]>, text: &str) -> anyhow::Result<(Address, String)> {
    match members {
        Some(members) => {
            let member = builder::resolve_shop(members, text)?;
            Ok((member.address, member.name.to_string()))
        }
        None => {
            let address = builder::parse_address(text).map_err(|e| {
                anyhow!(e).context(format!(
                    "offline, a shop must be given by its address, not {text:?} (its name needs a node to look up)"
                ))
            })?;
            Ok((address, address.to_string()))
        }
    }
}

/// How a transaction command sends its transaction.
#[derive(Args, Clone, Debug)]
pub struct TxOptions {
    /// Sign the transaction into a file instead of sending it (no node
    /// needed); send it later with `guild submit FILE`.
    #[arg(long)]
    pub offline: bool,
    /// With --offline: the nonce to use (the account's next nonce; default
    /// from the wallet's nonce record, kept up to date by online use).
    #[arg(long, requires = "offline")]
    pub nonce: Option<u64>,
    /// With --offline: the network's chain id (default from the wallet's
    /// nonce record).
    #[arg(long, requires = "offline")]
    pub chain_id: Option<String>,
    /// Sign into this file instead of sending it: one JSON document
    /// (a signed transaction file) to hand over, e.g. to a till, or to send
    /// later with `guild submit FILE`. Without --offline the node gives the
    /// nonce and the network, and nothing is sent; with --offline no node
    /// is needed (default file there: KIND-NONCE.guildtx.json).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// With --offline or --out: replace the file if it exists.
    #[arg(long)]
    pub force: bool,
    /// Seconds to wait for the transaction to become final.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
}

/// What became of a transaction command.
pub enum Sent {
    /// Final on the ledger.
    Final {
        /// Where.
        finality: Finality,
        /// The signed transaction.
        signed: SignedTransaction,
        /// The network.
        chain_id: ChainId,
    },
    /// Signed into a file.
    Offline {
        /// The file.
        path: PathBuf,
        /// What the file says.
        file: SignedFile,
    },
}

impl Sent {
    /// The JSON common to every transaction command's result.
    pub fn json(&self) -> Value {
        match self {
            Sent::Final {
                finality,
                signed,
                chain_id,
            } => json!({
                "status": "final",
                "already_final": finality.already_final,
                "id": finality.id,
                "height": finality.height,
                "index": finality.index,
                "chain_id": chain_id,
                "kind": signed.tx.body.kind(),
                "author": signed.tx.author,
                "nonce": signed.tx.nonce,
                "tx": signed.tx,
            }),
            Sent::Offline { path, file } => json!({
                "status": "signed",
                "file": path,
                "id": file.id,
                "chain_id": file.chain_id,
                "kind": file.kind,
                "author": file.author,
                "nonce": file.nonce,
                "summary": file.summary,
            }),
        }
    }

    /// Prints the result of an offline signing (for people).
    pub fn print_offline(&self) {
        if let Sent::Offline { path, file } = self {
            println!("Signed offline (not sent): {}.", file.summary);
            println!(
                "  file:        {}\n  network:     {}\n  nonce:       {}\n  transaction: {}",
                path.display(),
                file.chain_id,
                file.nonce,
                file.id
            );
            println!(
                "Send it when a node is reachable: guild submit {}",
                path.display()
            );
        }
    }
}

/// Signs `body` with `key` and sends it, waiting until final; or, with
/// `--offline`, signs it into a file. `summary` describes it for people.
pub fn send(
    ctx: &Ctx,
    options: &TxOptions,
    key: &Keypair,
    body: TxBody,
    summary: String,
    client: Option<&NodeClient>,
) -> anyhow::Result<Sent> {
    let address = key.address();
    let record_path = ctx.nonce_record_path();
    let kind = body.kind();
    // The record is a convenience online (the node knows the nonce): a
    // broken one is reported and left alone. Offline it is needed.
    let (mut record, keep_record) = match NonceRecord::load(&record_path) {
        Ok(record) => (record, true),
        Err(e) if !options.offline => {
            eprintln!("warning: {e}");
            (NonceRecord::empty(&record_path), false)
        }
        Err(e) => return Err(e.into()),
    };
    if options.offline {
        let chain_id = match &options.chain_id {
            Some(text) => ChainId::new(text.trim())?,
            None => match record.networks(&address).as_slice() {
                [only] => only.clone(),
                [] => {
                    return Err(guild_wallet::Error::OfflineUnknown {
                        address,
                        reason: "this wallet has not been used online yet, so its network is \
                                 unknown: pass --chain-id ID (GET /v1/head shows it) and --nonce N"
                            .to_string(),
                    }
                    .into());
                }
                several => {
                    let names: Vec<String> = several.iter().map(|c| c.to_string()).collect();
                    return Err(guild_wallet::Error::OfflineUnknown {
                        address,
                        reason: format!(
                            "the wallet was used on several networks ({}): pass --chain-id ID",
                            names.join(", ")
                        ),
                    }
                    .into());
                }
            },
        };
        let nonce = match options.nonce {
            Some(n) => Nonce(n),
            None => record.next(&chain_id, &address).ok_or_else(|| {
                guild_wallet::Error::OfflineUnknown {
                    address,
                    reason: format!(
                        "no nonce is recorded for it on network {chain_id}: pass --nonce N \
                         (the account's next nonce, shown by `guild wallet balance --json`)"
                    ),
                }
            })?,
        };
        let signed = builder::sign(key, nonce, &chain_id, body);
        let file = SignedFile::new(&signed, &chain_id, summary);
        let path = options
            .out
            .clone()
            .unwrap_or_else(|| PathBuf::from(format!("{kind}-{}.guildtx.json", nonce.0)));
        file.write(&path, options.force)?;
        record.used(&chain_id, &address, nonce);
        if let Err(e) = record.save() {
            eprintln!("warning: the nonce record was not updated: {e:#}");
        }
        return Ok(Sent::Offline { path, file });
    }

    let owned;
    let client = match client {
        Some(client) => client,
        None => {
            owned = ctx.client()?;
            &owned
        }
    };
    if let Some(path) = &options.out {
        let record = keep_record.then_some(record);
        return hand_off(client, options.force, key, body, summary, record, path);
    }
    if options.force {
        bail!(
            "--force replaces the file of --out or --offline; give one of them, or leave --force out"
        );
    }
    block_on(async {
        let head = client.head().await?;
        let account = client.account(&address).await?;
        let chain_id = head.chain_id;
        let nonce = account.nonce;
        if let Some(recorded) = record.next(&chain_id, &address)
            && recorded > nonce
        {
            eprintln!(
                "note: {} transaction(s) of this wallet signed offline (nonce {} to {}) have not \
                 reached the ledger; this {kind} uses nonce {nonce}, so a file signed with that \
                 nonce will be refused as a replay",
                recorded.0 - nonce.0,
                nonce,
                recorded.0 - 1
            );
        }
        let signed = builder::sign(key, nonce, &chain_id, body);
        let finality = client
            .submit_and_wait(&signed, &chain_id, Duration::from_secs(options.timeout))
            .await
            .map_err(|e| refused(e, kind))?;
        record.used(&chain_id, &address, nonce);
        if keep_record && let Err(e) = record.save() {
            eprintln!("warning: the nonce record was not updated: {e:#}");
        }
        Ok(Sent::Final {
            finality,
            signed,
            chain_id,
        })
    })?
}

/// `--out FILE` without `--offline`: signs `body` at the account's next
/// nonce on the node's network (after any the wallet signed into files and
/// the ledger has not seen yet, so two files signed in a row do not
/// collide) and writes it to `path` without sending it. `record` is the
/// wallet's nonce record (`None`: it could not be read, and is not
/// touched).
fn hand_off(
    client: &NodeClient,
    force: bool,
    key: &Keypair,
    body: TxBody,
    summary: String,
    record: Option<NonceRecord>,
    path: &Path,
) -> anyhow::Result<Sent> {
    let address = key.address();
    let (chain_id, on_ledger) = block_on(async {
        let head = client.head().await?;
        let account = client.account(&address).await?;
        Ok::<_, ClientError>((head.chain_id, account.nonce))
    })??;
    let nonce = record
        .as_ref()
        .and_then(|record| record.next(&chain_id, &address))
        .filter(|recorded| *recorded > on_ledger)
        .unwrap_or(on_ledger);
    let signed = builder::sign(key, nonce, &chain_id, body);
    let file = SignedFile::new(&signed, &chain_id, summary);
    file.write(path, force)?;
    // A record that could not be read is left alone (the load said why).
    if let Some(mut record) = record {
        record.used(&chain_id, &address, nonce);
        if let Err(e) = record.save() {
            eprintln!("warning: the nonce record was not updated: {e:#}");
        }
    }
    Ok(Sent::Offline {
        path: path.to_path_buf(),
        file,
    })
}

/// Adds "the network refused the transfer" (…) to a ledger rule refusal.
pub fn refused(error: ClientError, kind: &str) -> anyhow::Error {
    let noun = match kind {
        "reverse" => "reversal",
        "redeem" => "redemption",
        "settle" => "settlement",
        "propose" => "proposal",
        "approve" => "approval",
        "approve_campaign" => "campaign approval",
        "stop_campaign" => "campaign stop",
        "publish_campaign" => "campaign",
        "set_earn_rule" => "earn rule",
        "refer" => "referral",
        "birthday" => "birthday reward",
        "offer" => "offer",
        other => other,
    };
    match &error {
        ClientError::Node { status, .. } if *status == 422 || *status == 409 => {
            anyhow!(error).context(format!("the network refused the {noun}"))
        }
        _ => anyhow!(error),
    }
}

/// Short form of an id or address for tables.
pub fn short(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= 16 {
        text.to_string()
    } else {
        let head: String = chars.iter().take(10).collect();
        let tail: String = chars.iter().skip(chars.len() - 4).collect();
        format!("{head}…{tail}")
    }
}
