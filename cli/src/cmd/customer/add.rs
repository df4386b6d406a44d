//! `guild customer add | update | import`: making and changing entries.

use super::{Session, consent_text, parse_address, run_async, who};
use crate::Globals;
use crate::cmd::admin_token::AdminToken;
use crate::cmd::wallet::common::print_json;
use anyhow::{Context, bail};
use clap::Args;
use guild_api::customers::{Birthday, CustomerName, Email, MAX_IMPORT, Note, Purpose};
use guild_api::{CustomerUpdate, ImportRequest, NewCustomer, Via};
use serde_json::json;
use std::path::PathBuf;

/// Options of `guild customer add`.
#[derive(Args)]
pub struct AddArgs {
    /// The customer's address (guild1…), from their wallet
    /// (`guild wallet address`).
    address: String,
    /// Their name, as you write it (e.g. "Mrs Lee").
    #[arg(long)]
    name: Option<String>,
    /// Their email address.
    #[arg(long)]
    email: Option<String>,
    /// Their birthday: MM-DD (03-14), or YYYY-MM-DD if they give the year.
    #[arg(long)]
    birthday: Option<String>,
    /// What they agree to now: messages, profiling, or both
    /// (messages,profiling). Without it, neither.
    #[arg(long, value_delimiter = ',')]
    consent: Vec<Purpose>,
    /// A short note of yours (at most 280 characters).
    #[arg(long)]
    note: Option<String>,
    #[command(flatten)]
    token: AdminToken,
}

/// Checks the values on this side, with the node's own rules, so a typo
/// is caught before anything is sent.
fn check(
    name: Option<&str>,
    email: Option<&str>,
    birthday: Option<&str>,
    note: Option<&str>,
) -> anyhow::Result<()> {
    if let Some(name) = name {
        CustomerName::new(name)?;
    }
    if let Some(email) = email {
        Email::new(email)?;
    }
    if let Some(birthday) = birthday {
        birthday.parse::<Birthday>()?;
    }
    if let Some(note) = note {
        Note::new(note)?;
    }
    Ok(())
}

/// `guild customer add`.
pub fn add(args: AddArgs, globals: &Globals) -> anyhow::Result<()> {
    let address = parse_address(&args.address)?;
    check(
        args.name.as_deref(),
        args.email.as_deref(),
        args.birthday.as_deref(),
        args.note.as_deref(),
    )?;
    let session = Session::new(globals, &args.token)?;
    let request = NewCustomer {
        address: address.to_string(),
        name: args.name,
        email: args.email,
        birthday: args.birthday,
        note: args.note,
        consent: args.consent,
        via: Some(Via::Cli),
    };
    run_async(async {
        let entry = session
            .client
            .add_customer(&session.token, &request)
            .await?;
        if session.json {
            return print_json(&serde_json::to_value(&entry)?);
        }
        println!(
            "Added {} to {}; consent: {}.",
            who(&entry),
            session.directory_name().await,
            consent_text(&entry)
        );
        Ok(())
    })
}

/// Options of `guild customer update`.
#[derive(Args)]
pub struct UpdateArgs {
    /// The customer's address (guild1…).
    address: String,
    /// A new name.
    #[arg(long)]
    name: Option<String>,
    /// A new email address.
    #[arg(long)]
    email: Option<String>,
    /// A new birthday (MM-DD or YYYY-MM-DD).
    #[arg(long)]
    birthday: Option<String>,
    /// A new note.
    #[arg(long)]
    note: Option<String>,
    /// Remove these fields: name, email, birthday, note (comma-separated).
    #[arg(long, value_delimiter = ',')]
    remove: Vec<Field>,
    #[command(flatten)]
    token: AdminToken,
}

/// A field `--remove` can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Field {
    /// The name.
    Name,
    /// The email address.
    Email,
    /// The birthday.
    Birthday,
    /// The note.
    Note,
}

/// `Some(Some(v))` for a value, `Some(None)` for a removal.
fn patch(
    value: Option<String>,
    removed: bool,
    field: &str,
) -> anyhow::Result<Option<Option<String>>> {
    match (value, removed) {
        (Some(_), true) => bail!("give --{field} or --remove {field}, not both"),
        (Some(value), false) => Ok(Some(Some(value))),
        (None, true) => Ok(Some(None)),
        (None, false) => Ok(None),
    }
}

/// `guild customer update`.
pub fn update(args: UpdateArgs, globals: &Globals) -> anyhow::Result<()> {
    let address = parse_address(&args.address)?;
    check(
        args.name.as_deref(),
        args.email.as_deref(),
        args.birthday.as_deref(),
        args.note.as_deref(),
    )?;
    let removes = |field: Field| args.remove.contains(&field);
    let request = CustomerUpdate {
        name: patch(args.name.clone(), removes(Field::Name), "name")?,
        email: patch(args.email.clone(), removes(Field::Email), "email")?,
        birthday: patch(args.birthday.clone(), removes(Field::Birthday), "birthday")?,
        note: patch(args.note.clone(), removes(Field::Note), "note")?,
    };
    if request.is_empty() {
        bail!("nothing to change: give --name, --email, --birthday, --note or --remove FIELD");
    }
    let session = Session::new(globals, &args.token)?;
    run_async(async {
        let entry = session
            .client
            .update_customer(&session.token, &address, &request)
            .await?;
        if session.json {
            return print_json(&serde_json::to_value(&entry)?);
        }
        println!(
            "Updated {} in {}.",
            who(&entry),
            session.directory_name().await
        );
        super::show::print_entry(&entry);
        Ok(())
    })
}

/// Options of `guild customer import`.
#[derive(Args)]
pub struct ImportArgs {
    /// A CSV file with a header line naming its columns: address
    /// (required), name, email, birthday, consent ("messages",
    /// "profiling", "messages;profiling" or empty), note. A spreadsheet's
    /// "save as CSV" will do.
    file: PathBuf,
    /// Leave customers who are in the directory already as they are
    /// (default: stop at the first one).
    #[arg(long)]
    skip_existing: bool,
    #[command(flatten)]
    token: AdminToken,
}

/// The largest CSV file read, in bytes.
const MAX_CSV_BYTES: u64 = 64 * 1024 * 1024;

/// The most bytes of customers sent in one request (the node takes 1 MiB).
const MAX_BATCH_BYTES: usize = 768 * 1024;

/// One line of the CSV file.
#[derive(serde::Deserialize)]
struct Row {
    address: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    birthday: Option<String>,
    #[serde(default)]
    consent: Option<String>,
    #[serde(default)]
    note: Option<String>,
}

/// An empty cell is no value.
fn cell(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

/// The consents of a `consent` cell: purposes separated by `;`, `,`, `+`
/// or spaces; empty or `none` for neither.
fn consent_cell(text: Option<&str>) -> anyhow::Result<Vec<Purpose>> {
    let text = text.unwrap_or("").trim();
    if text.is_empty() || text == "none" {
        return Ok(Vec::new());
    }
    let mut purposes = text
        .split([';', ',', '+', ' '])
        .filter(|p| !p.is_empty())
        .map(str::parse)
        .collect::<Result<Vec<Purpose>, _>>()?;
    purposes.sort();
    purposes.dedup();
    Ok(purposes)
}

/// Reads and checks the whole file: every customer, or the first line
/// that is wrong.
fn read_csv(path: &std::path::Path) -> anyhow::Result<Vec<NewCustomer>> {
    let bytes = guild_os::durable::read_bounded(path, MAX_CSV_BYTES)
        .with_context(|| format!("cannot read {}", path.display()))?
        .with_context(|| format!("there is no file {}", path.display()))?;
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(bytes.as_slice());
    let headers = reader
        .headers()
        .with_context(|| format!("{} is not a CSV file", path.display()))?
        .clone();
    if !headers.iter().any(|h| h == "address") {
        bail!(
            "{} has no 'address' column: its first line must name the columns, e.g. address,name,email,birthday,consent,note",
            path.display()
        );
    }
    let mut customers = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (index, row) in reader.deserialize::<Row>().enumerate() {
        // Line 1 is the header.
        let line = index + 2;
        let at = || format!("{} line {line}", path.display());
        let row = row.with_context(at)?;
        let address = parse_address(&row.address).with_context(at)?;
        if !seen.insert(address) {
            bail!("{}: {address} is in the file twice", at());
        }
        let customer = NewCustomer {
            address: address.to_string(),
            name: cell(row.name),
            email: cell(row.email),
            birthday: cell(row.birthday),
            note: cell(row.note),
            consent: consent_cell(row.consent.as_deref()).with_context(at)?,
            via: None,
        };
        check(
            customer.name.as_deref(),
            customer.email.as_deref(),
            customer.birthday.as_deref(),
            customer.note.as_deref(),
        )
        .with_context(at)?;
        customers.push(customer);
    }
    Ok(customers)
}

/// Splits `customers` into requests the node accepts (count and bytes).
fn batches(customers: Vec<NewCustomer>) -> anyhow::Result<Vec<Vec<NewCustomer>>> {
    let mut batches = Vec::new();
    let mut batch = Vec::new();
    let mut bytes = 0;
    for customer in customers {
        let size = serde_json::to_vec(&customer)?.len() + 1;
        if !batch.is_empty() && (batch.len() == MAX_IMPORT || bytes + size > MAX_BATCH_BYTES) {
            batches.push(std::mem::take(&mut batch));
            bytes = 0;
        }
        bytes += size;
        batch.push(customer);
    }
    if !batch.is_empty() {
        batches.push(batch);
    }
    Ok(batches)
}

/// `guild customer import`.
pub fn import(args: ImportArgs, globals: &Globals) -> anyhow::Result<()> {
    let customers = read_csv(&args.file)?;
    if customers.is_empty() {
        bail!(
            "{} holds no customers (only a header line?)",
            args.file.display()
        );
    }
    let count = customers.len();
    let session = Session::new(globals, &args.token)?;
    run_async(async {
        let mut added = 0;
        let mut skipped = Vec::new();
        let mut total = 0;
        let mut sent = 0;
        for batch in batches(customers)? {
            let size = batch.len();
            let request = ImportRequest {
                customers: batch,
                skip_existing: args.skip_existing,
                via: Some(Via::Cli),
            };
            let answer = session
                .client
                .import_customers(&session.token, &request)
                .await
                .map_err(|e| {
                    if e.is_code(guild_api::code::CUSTOMER_EXISTS) {
                        anyhow::Error::new(e).context(
                            "add --skip-existing to leave customers who are in the directory already as they are",
                        )
                    } else {
                        e.into()
                    }
                })
                .with_context(|| {
                    let first = sent + 2;
                    let last = sent + size + 1;
                    let done = if sent == 0 {
                        "nothing was added".to_string()
                    } else {
                        format!(
                            "the customers before line {first} were added: run the import again with --skip-existing once this is fixed"
                        )
                    };
                    format!("the node refused the customers of lines {first} to {last} ({done})")
                })?;
            sent += size;
            added += answer.added;
            total = answer.total;
            skipped.extend(answer.skipped);
            if !session.json && sent < count {
                eprintln!("… {sent} of {count} customers sent");
            }
        }
        if session.json {
            return print_json(&json!({
                "added": added,
                "skipped": skipped,
                "total": total,
            }));
        }
        let mut line = format!(
            "Imported {added} customers into {} from {}",
            session.directory_name().await,
            args.file.display()
        );
        if !skipped.is_empty() {
            line.push_str(&format!(
                "; {} were in the directory already and were left as they were",
                skipped.len()
            ));
        }
        println!("{line}. It now holds {total} customers.");
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customer(n: u8) -> String {
        guild_ledger::Keypair::from_secret(&[n; 32])
            .address()
            .to_string()
    }

    fn csv_file(text: &str) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), text).unwrap();
        file
    }

    #[test]
    fn a_spreadsheet_csv_is_read_and_checked() {
        let text = format!(
            "\u{feff}address,name,email,birthday,consent,note\r\n{},\"Lee, Eleanor\",lee@example.com,03-14,messages;profiling,\"likes \"\"rye\"\"\"\r\n{},,,,,\r\n",
            customer(1),
            customer(2)
        );
        let file = csv_file(&text);
        let customers = read_csv(file.path()).unwrap();
        assert_eq!(customers.len(), 2);
        assert_eq!(customers[0].name.as_deref(), Some("Lee, Eleanor"));
        assert_eq!(customers[0].note.as_deref(), Some("likes \"rye\""));
        assert_eq!(
            customers[0].consent,
            vec![Purpose::Messages, Purpose::Profiling]
        );
        assert_eq!(customers[1].name, None);
        assert_eq!(customers[1].consent, vec![]);

        // Columns in any order, only the address required.
        let file = csv_file(&format!("email,address\nx@example.org,{}\n", customer(3)));
        assert_eq!(
            read_csv(file.path()).unwrap()[0].email.as_deref(),
            Some("x@example.org")
        );
    }

    #[test]
    fn a_wrong_line_is_named() {
        for (text, says) in [
            (
                "name\nMrs Lee\n".to_string(),
                "no 'address' column".to_string(),
            ),
            (
                format!(
                    "address,email\n{},lee@example.com\n{},lee at example\n",
                    customer(1),
                    customer(2)
                ),
                "line 3".to_string(),
            ),
            (
                format!("address\n{}\n{}\n", customer(1), customer(1)),
                "twice".to_string(),
            ),
            (
                format!("address,birthday\n{},02-30\n", customer(1)),
                "line 2".to_string(),
            ),
            (
                format!("address,consent\n{},marketing\n", customer(1)),
                "line 2".to_string(),
            ),
            ("address\nguild1nope\n".to_string(), "line 2".to_string()),
        ] {
            let file = csv_file(&text);
            let error = format!("{:#}", read_csv(file.path()).unwrap_err());
            assert!(error.contains(&says), "{text}: {error}");
        }
    }

    #[test]
    fn batches_fit_what_the_node_accepts() {
        let many: Vec<NewCustomer> = (0..4500u32)
            .map(|i| NewCustomer {
                address: customer((i % 200) as u8),
                note: Some("n".repeat(200)),
                ..NewCustomer::default()
            })
            .collect();
        let batches = batches(many).unwrap();
        assert_eq!(batches.iter().map(Vec::len).sum::<usize>(), 4500);
        for batch in &batches {
            assert!(batch.len() <= MAX_IMPORT);
            let body = serde_json::to_vec(&ImportRequest {
                customers: batch.clone(),
                skip_existing: true,
                via: Some(Via::Cli),
            })
            .unwrap();
            assert!(body.len() < 1024 * 1024, "{}", body.len());
        }
    }
}
