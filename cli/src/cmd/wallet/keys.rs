//! `guild wallet new | generate | import | export | list | address`.

use super::common::{Ctx, new_passphrase, pick_key, print_json};
use anyhow::{Context, bail};
use guild_os::durable::{self, DurableError, Existing};
use guild_wallet::keystore::{KdfParams, Keystore};
use serde_json::json;
use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use zeroize::Zeroizing;

/// `guild wallet new`.
pub fn new(ctx: &Ctx, name: &str, force: bool) -> anyhow::Result<()> {
    if !force && std::fs::symlink_metadata(&ctx.wallet).is_ok() {
        return Err(guild_wallet::Error::Exists {
            path: ctx.wallet.clone(),
        }
        .into());
    }
    let passphrase = new_passphrase(ctx)?;
    let mut keystore = Keystore::create(&ctx.wallet, &passphrase, KdfParams::default(), force)?;
    let address = keystore.generate(name)?;
    keystore.save(&passphrase)?;
    let stored = keystore.key(name)?.name().to_string();
    if ctx.json {
        return print_json(&json!({
            "wallet": ctx.wallet,
            "name": stored,
            "address": address,
        }));
    }
    println!(
        "Created wallet {} with key {stored:?}.",
        ctx.wallet.display()
    );
    println!("Your address: {address}");
    println!();
    println!("Give this address to a shop to earn points, or to a friend to receive them.");
    println!(
        "Keep the passphrase safe, and back up the key with `guild wallet export --out FILE`."
    );
    Ok(())
}

/// `guild wallet generate NAME`.
pub fn generate(ctx: &Ctx, name: &str) -> anyhow::Result<()> {
    let file = ctx.keystore()?;
    let passphrase = Zeroizing::new(crate::passphrase::read(
        &format!("wallet {}", ctx.wallet.display()),
        ctx.passphrase_file.as_deref(),
    )?);
    let mut keystore = file.unlock(&passphrase)?;
    let address = keystore.generate(name)?;
    keystore.save(&passphrase)?;
    let stored = keystore.key(name)?.name().to_string();
    if ctx.json {
        return print_json(&json!({"wallet": ctx.wallet, "name": stored, "address": address}));
    }
    println!(
        "Added key {stored:?} to wallet {}: {address}",
        ctx.wallet.display()
    );
    println!("Use it with --key {stored}.");
    Ok(())
}

/// `guild wallet import NAME [--secret HEX]`.
pub fn import(ctx: &Ctx, name: &str, secret: Option<String>) -> anyhow::Result<()> {
    let secret = Zeroizing::new(match secret {
        Some(secret) => secret,
        None => read_secret()?,
    });
    let (mut keystore, passphrase, created) = match Keystore::open(&ctx.wallet) {
        Ok(file) => {
            let passphrase = Zeroizing::new(crate::passphrase::read(
                &format!("wallet {}", ctx.wallet.display()),
                ctx.passphrase_file.as_deref(),
            )?);
            (file.unlock(&passphrase)?, passphrase, false)
        }
        Err(guild_wallet::Error::NotFound { .. }) => {
            let passphrase = new_passphrase(ctx)?;
            let keystore = Keystore::create(&ctx.wallet, &passphrase, KdfParams::default(), false)?;
            (keystore, passphrase, true)
        }
        Err(e) => return Err(e.into()),
    };
    let address = match keystore.import(name, &secret) {
        Ok(address) => address,
        Err(e) => {
            if created {
                // Leave nothing behind for a refused import.
                let _ = std::fs::remove_file(&ctx.wallet);
            }
            return Err(e.into());
        }
    };
    keystore.save(&passphrase)?;
    let stored = keystore.key(name)?.name().to_string();
    if ctx.json {
        return print_json(&json!({
            "wallet": ctx.wallet,
            "name": stored,
            "address": address,
            "created_wallet": created,
        }));
    }
    if created {
        println!("Created wallet {}.", ctx.wallet.display());
    }
    println!(
        "Imported key {stored:?} into wallet {}: {address}",
        ctx.wallet.display()
    );
    Ok(())
}

/// Reads a secret key from a hidden prompt, or the first line of stdin.
fn read_secret() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        return rpassword::prompt_password("Secret key (64 hexadecimal characters): ")
            .context("cannot read the secret key from the terminal");
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .take_line(&mut line)
        .context("cannot read the secret key from stdin")?;
    if line.trim().is_empty() {
        bail!("no secret key given: pass --secret HEX or send it on stdin");
    }
    Ok(line)
}

/// Reading one bounded line.
trait TakeLine {
    fn take_line(&mut self, line: &mut String) -> std::io::Result<usize>;
}

impl<R: BufRead> TakeLine for R {
    fn take_line(&mut self, line: &mut String) -> std::io::Result<usize> {
        let mut limited = std::io::Read::take(self, 4096);
        limited.read_line(line)
    }
}

/// `guild wallet export [NAME] (--out FILE | --stdout | --json)`.
pub fn export(
    ctx: &Ctx,
    name: Option<String>,
    out: Option<PathBuf>,
    stdout: bool,
    force: bool,
) -> anyhow::Result<()> {
    if out.is_none() && !stdout && !ctx.json {
        bail!(
            "export shows the secret key, which lets anyone who sees it spend your points: \
             pass --out FILE to write it to a private file, or --stdout to print it"
        );
    }
    if let Some(path) = &out
        && !force
        && std::fs::symlink_metadata(path).is_ok()
    {
        return Err(guild_wallet::Error::FileExists { path: path.clone() }.into());
    }
    let file = ctx.keystore()?;
    let wanted = name.or_else(|| ctx.key.clone());
    let info = pick_key(&file, wanted.as_deref())?.clone();
    let passphrase = Zeroizing::new(crate::passphrase::read(
        &format!("wallet {}", ctx.wallet.display()),
        ctx.passphrase_file.as_deref(),
    )?);
    let keystore = file.unlock(&passphrase)?;
    let secret = keystore.export(info.name())?;
    eprintln!(
        "warning: the secret key of {:?} ({}) lets anyone who has it spend its points. \
         Store it offline; never send it to anyone.",
        info.name(),
        info.address()
    );
    if let Some(path) = out {
        write_private(&path, format!("{}\n", secret.as_str()).as_bytes(), force)?;
        if ctx.json {
            return print_json(&json!({
                "name": info.name(),
                "address": info.address(),
                "file": path,
            }));
        }
        println!(
            "Wrote the secret key of {:?} ({}) to {}.",
            info.name(),
            info.address(),
            path.display()
        );
        println!(
            "Restore it elsewhere with: guild wallet import {} < {}",
            info.name(),
            path.display()
        );
        return Ok(());
    }
    if ctx.json {
        let text = Zeroizing::new(
            serde_json::to_string_pretty(&json!({
                "name": info.name(),
                "address": info.address(),
                "secret": secret.as_str(),
            }))
            .context("cannot encode the answer")?,
        );
        println!("{}", text.as_str());
    } else {
        println!("{}", secret.as_str());
    }
    Ok(())
}

/// Writes a file readable by its owner only, durably (an existing file is
/// replaced only with `force`).
fn write_private(path: &std::path::Path, bytes: &[u8], force: bool) -> anyhow::Result<()> {
    match durable::write_atomically(path, bytes, Existing::replace_if(force)) {
        Ok(()) => Ok(()),
        Err(DurableError::Exists { .. }) => {
            bail!(
                "{} already exists; pass --force to replace it",
                path.display()
            )
        }
        Err(error) => Err(error).with_context(|| format!("cannot write {}", path.display())),
    }
}

/// `guild wallet list`.
pub fn list(ctx: &Ctx) -> anyhow::Result<()> {
    let file = ctx.keystore()?;
    if ctx.json {
        return print_json(&json!({
            "wallet": ctx.wallet,
            "keys": file.keys(),
        }));
    }
    println!("Wallet {}:", ctx.wallet.display());
    if file.keys().is_empty() {
        println!("  (no keys; add one with `guild wallet generate NAME`)");
    }
    for key in file.keys() {
        println!("  {:<16} {}", key.name(), key.address());
    }
    Ok(())
}

/// `guild wallet address [NAME]`.
pub fn address(ctx: &Ctx, name: Option<String>) -> anyhow::Result<()> {
    let file = ctx.keystore()?;
    let wanted = name.or_else(|| ctx.key.clone());
    let info = pick_key(&file, wanted.as_deref())?;
    if ctx.json {
        return print_json(&json!({"name": info.name(), "address": info.address()}));
    }
    println!("{}", info.address());
    Ok(())
}
