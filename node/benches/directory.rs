//! The customer directory's write path at a busy shop's size: every change
//! rewrites `customers.json` atomically (temporary file, `fsync`, rename,
//! directory `fsync`), so its cost grows with the directory. Measured in a
//! temporary directory on the machine's disk (`TMPDIR`):
//!
//! - `directory::consent/entries=N`: one consent change (the common write);
//! - `directory::add_erase/entries=N`: adding a customer and erasing them
//!   again (two writes);
//! - `directory::import/entries=N,batch=2000`: an import of 2,000
//!   customers into a directory of N (one write);
//! - `directory::open/entries=N`: reading and checking the file when the
//!   node starts.
//!
//! Run: `cargo bench -p guild-node --bench directory`. `GUILD_BENCH_CUSTOMERS`
//! (default 10000) sets N. The file's size is printed first
//! (docs/performance.md, "Customer directory").
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use guild_api::customers::{CustomerName, Email, Via};
use guild_ledger::hash::sha256;
use guild_ledger::{Address, Keypair};
use guild_node::directory::{ConsentSetting, Directory, NewEntry, Provenance, Purpose};
use std::time::Duration;

fn customers() -> usize {
    std::env::var("GUILD_BENCH_CUSTOMERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

fn address(i: u64, salt: &str) -> Address {
    Keypair::from_secret(&sha256(&[salt.as_bytes(), &i.to_be_bytes()]).0).address()
}

/// A typical entry: name, email, birthday, consent to messages.
fn entry(i: u64, salt: &str) -> NewEntry {
    NewEntry {
        name: Some(CustomerName::new(&format!("Customer Number {i}")).unwrap()),
        email: Some(Email::new(&format!("customer.{i}@example.co.uk")).unwrap()),
        birthday: Some(
            format!("{:02}-{:02}", i % 12 + 1, i % 28 + 1)
                .parse()
                .unwrap(),
        ),
        note: None,
        consent: vec![Purpose::Messages],
        ..NewEntry::bare(address(i, salt))
    }
}

fn by() -> Provenance {
    Provenance {
        at_ms: 1_767_225_600_000,
        via: Via::Cli,
        by: "console".into(),
    }
}

/// A directory of `n` typical customers in a new temporary directory.
fn filled(n: usize) -> (Directory, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let directory = Directory::open(dir.path()).unwrap();
    let entries: Vec<NewEntry> = (0..n as u64).map(|i| entry(i, "base")).collect();
    for chunk in entries.chunks(2_000) {
        directory.import(chunk.to_vec(), false, &by()).unwrap();
    }
    (directory, dir)
}

fn bench(c: &mut Criterion) {
    let n = customers();
    let (directory, dir) = filled(n);
    let bytes = std::fs::metadata(directory.path()).unwrap().len();
    println!(
        "directory bench: {n} customers, customers.json is {bytes} bytes ({} per entry)",
        bytes / n.max(1) as u64
    );
    let mut group = c.benchmark_group("directory");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(10));

    let someone = address(n as u64 / 2, "base");
    let mut given = true;
    group.bench_function(format!("consent/entries={n}"), |b| {
        b.iter(|| {
            given = !given;
            let setting = ConsentSetting {
                messages: Some(given),
                profiling: None,
            };
            directory.set_consent(&someone, setting, &by()).unwrap();
        })
    });

    let mut i = 0u64;
    group.bench_function(format!("add_erase/entries={n}"), |b| {
        b.iter(|| {
            i += 1;
            let new = entry(i, "new");
            let address = new.address;
            directory.add(new, &by()).unwrap();
            directory.erase(&address, 0).unwrap();
        })
    });

    let mut round = 0u64;
    group.bench_function(format!("import/entries={n},batch=2000"), |b| {
        b.iter_batched(
            || {
                round += 1;
                let salt = format!("import-{round}");
                let batch: Vec<NewEntry> = (0..2_000).map(|i| entry(i, &salt)).collect();
                let (fresh, dir) = filled(n);
                (fresh, dir, batch)
            },
            |(fresh, dir, batch)| {
                fresh.import(batch, false, &by()).unwrap();
                (fresh, dir)
            },
            BatchSize::PerIteration,
        )
    });

    group.bench_function(format!("open/entries={n}"), |b| {
        b.iter(|| Directory::open(dir.path()).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
