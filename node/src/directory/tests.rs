//! The directory against a temporary data directory.

use super::*;
use guild_api::customers::{CustomerName, Email, Note, Via};
use guild_ledger::Keypair;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

fn customer(n: u8) -> Address {
    Keypair::from_secret(&[n; 32]).address()
}

fn by(at_ms: u64) -> Provenance {
    Provenance {
        at_ms,
        via: Via::Cli,
        by: "console".into(),
    }
}

fn lee(n: u8) -> NewEntry {
    NewEntry {
        name: Some(CustomerName::new(&format!("Mrs Lee {n}")).unwrap()),
        email: Some(Email::new(&format!("lee{n}@example.com")).unwrap()),
        birthday: Some("1984-03-14".parse().unwrap()),
        note: None,
        consent: vec![Purpose::Messages],
        ..NewEntry::bare(customer(n))
    }
}

fn open() -> (Directory, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    (Directory::open(dir.path()).unwrap(), dir)
}

fn file_text(directory: &Directory) -> String {
    std::fs::read_to_string(directory.path()).unwrap()
}

#[test]
fn entries_round_trip_through_the_file() {
    let (directory, dir) = open();
    assert!(directory.is_empty());
    assert!(
        !directory.path().exists(),
        "nothing written before a change"
    );
    let added = directory.add(lee(1), &by(10)).unwrap();
    directory.add(lee(2), &by(11)).unwrap();
    directory
        .update(
            &customer(2),
            &Update {
                note: Some(Some(Note::new("prefers oat milk \"no foam\"").unwrap())),
                ..Update::default()
            },
            12,
        )
        .unwrap();
    directory
        .set_consent(
            &customer(1),
            ConsentSetting {
                messages: Some(false),
                profiling: Some(true),
            },
            &by(13),
        )
        .unwrap();
    let before: Vec<CustomerEntry> = [1, 2].map(|n| directory.get(&customer(n)).unwrap()).into();
    assert_eq!(before[0].created_ms, added.created_ms);
    drop(directory);

    let reopened = Directory::open(dir.path()).unwrap();
    assert_eq!(reopened.len(), 2);
    let after: Vec<CustomerEntry> = [1, 2].map(|n| reopened.get(&customer(n)).unwrap()).into();
    assert_eq!(after, before);
    // One entry per line, in address order, the whole file valid JSON.
    let text = file_text(&reopened);
    assert_eq!(text.lines().count(), 4, "{text}");
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["version"], 1);
    let mut sorted = [customer(1), customer(2)];
    sorted.sort();
    assert_eq!(json["customers"][0]["address"], sorted[0].to_string());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(reopened.path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "private to the node's user");
    }
}

#[test]
fn an_existing_customer_is_refused_and_an_unknown_one_named() {
    let (directory, _dir) = open();
    directory.add(lee(1), &by(10)).unwrap();
    let error = directory.add(lee(1), &by(11)).unwrap_err();
    assert!(matches!(error, DirectoryError::Exists { .. }), "{error}");
    assert_eq!(
        directory.get(&customer(1)).unwrap().created_ms,
        10,
        "unchanged"
    );
    let error = directory
        .set_consent(&customer(9), ConsentSetting::default(), &by(12))
        .unwrap_err();
    assert!(matches!(error, DirectoryError::Unknown { .. }), "{error}");
    assert!(error.to_string().contains("guild customer add"), "{error}");
    let error = directory
        .update(&customer(9), &Update::default(), 12)
        .unwrap_err();
    assert!(matches!(error, DirectoryError::Unknown { .. }), "{error}");
}

#[test]
fn consent_gates_messages_and_profiling_at_once_and_is_announced() {
    let (directory, _dir) = open();
    let mut changes = directory.subscribe();
    let mut version = directory.version();
    assert!(!directory.may_message(&customer(1)), "no entry, no consent");
    directory.add(lee(1), &by(10)).unwrap();
    assert!(directory.may_message(&customer(1)));
    assert!(!directory.may_profile(&customer(1)));
    assert_eq!(changes.try_recv().unwrap().kind, ChangeKind::Added);
    assert!(version.has_changed().unwrap());
    assert_eq!(*version.borrow_and_update(), 1);

    directory
        .set_consent(
            &customer(1),
            ConsentSetting {
                messages: Some(false),
                profiling: None,
            },
            &by(20),
        )
        .unwrap();
    assert!(
        !directory.may_message(&customer(1)),
        "withdrawn counts at once"
    );
    let change = changes.try_recv().unwrap();
    assert_eq!(
        change,
        DirectoryChange {
            customer: customer(1),
            kind: ChangeKind::ConsentChanged {
                messages: false,
                profiling: false
            },
            version: 2,
        }
    );
    // The same setting again writes and announces nothing.
    let text = file_text(&directory);
    directory
        .set_consent(
            &customer(1),
            ConsentSetting {
                messages: Some(false),
                profiling: None,
            },
            &by(30),
        )
        .unwrap();
    assert!(changes.try_recv().is_err());
    assert_eq!(file_text(&directory), text);
    assert_eq!(*directory.version().borrow(), 2);
}

#[test]
fn birthdays_are_found_by_date_with_the_29th_of_february_on_the_28th() {
    let (directory, _dir) = open();
    let mut leap = NewEntry::bare(customer(1));
    leap.birthday = Some("02-29".parse().unwrap());
    directory.add(leap, &by(1)).unwrap();
    let mut other = NewEntry::bare(customer(2));
    other.birthday = Some("1990-02-28".parse().unwrap());
    directory.add(other, &by(1)).unwrap();
    directory.add(NewEntry::bare(customer(3)), &by(1)).unwrap();
    let on = |y, m, d| directory.birthdays_on(CalendarDate::new(y, m, d).unwrap());
    let mut both = vec![customer(1), customer(2)];
    both.sort();
    assert_eq!(on(2027, 2, 28), both);
    assert_eq!(on(2028, 2, 28), vec![customer(2)]);
    assert_eq!(on(2028, 2, 29), vec![customer(1)]);
    assert_eq!(on(2028, 3, 1), Vec::<Address>::new());
}

#[test]
fn pages_follow_address_order_and_search_names_and_emails() {
    let (directory, _dir) = open();
    for n in 1..=7 {
        directory.add(lee(n), &by(u64::from(n))).unwrap();
    }
    directory.add(NewEntry::bare(customer(8)), &by(8)).unwrap();
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = directory
            .page(&PageRequest {
                search: None,
                after,
                limit: 3,
            })
            .unwrap();
        assert_eq!((page.total, page.matching), (8, 8));
        assert!(page.customers.len() <= 3);
        all.extend(page.customers.iter().map(|c| c.address));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let mut expected: Vec<Address> = (1..=8).map(customer).collect();
    expected.sort();
    assert_eq!(all, expected);

    let found = directory
        .page(&PageRequest {
            search: Some(" LEE3@EXAMPLE ".into()),
            after: None,
            limit: 10,
        })
        .unwrap();
    assert_eq!(found.matching, 1);
    assert_eq!(found.customers[0].address, customer(3));
    let found = directory
        .page(&PageRequest {
            search: Some("mrs lee".into()),
            after: None,
            limit: 2,
        })
        .unwrap();
    assert_eq!((found.matching, found.customers.len()), (7, 2));
    assert!(found.next.is_some());
}

#[test]
fn an_import_is_one_write_all_or_nothing() {
    let (directory, _dir) = open();
    directory.add(lee(1), &by(1)).unwrap();
    let mut version = directory.version();
    version.borrow_and_update();
    let batch: Vec<NewEntry> = (1..=50).map(lee).collect();
    let error = directory.import(batch.clone(), false, &by(2)).unwrap_err();
    assert!(matches!(error, DirectoryError::Exists { .. }), "{error}");
    assert_eq!(directory.len(), 1, "nothing added");
    let outcome = directory.import(batch, true, &by(2)).unwrap();
    assert_eq!(outcome.added, 49);
    assert_eq!(outcome.skipped, vec![customer(1)]);
    assert_eq!(directory.len(), 50);
    assert_eq!(*version.borrow_and_update(), 2, "one write for the batch");
    let twice = vec![lee(60), lee(60)];
    let error = directory.import(twice, false, &by(3)).unwrap_err();
    assert!(matches!(error, DirectoryError::Twice { .. }), "{error}");
    assert_eq!(directory.len(), 50);
}

/// A holder of derived data for the tests: counts items per customer.
struct Outbox {
    items: Mutex<Vec<Address>>,
    fail: AtomicU64,
}

impl Erasable for Outbox {
    fn holder(&self) -> &str {
        "automation outbox"
    }

    fn erase(&self, customer: &Address) -> Result<u64, HolderError> {
        if self.fail.load(Ordering::SeqCst) > 0 {
            self.fail.fetch_sub(1, Ordering::SeqCst);
            return Err(HolderError::new("the outbox file is read-only"));
        }
        let mut items = self.items.lock().unwrap();
        let before = items.len();
        items.retain(|c| c != customer);
        Ok((before - items.len()) as u64)
    }

    fn export(&self, customer: &Address) -> Result<Option<serde_json::Value>, HolderError> {
        let count = self
            .items
            .lock()
            .unwrap()
            .iter()
            .filter(|c| *c == customer)
            .count();
        Ok((count > 0).then(|| serde_json::json!({ "queued": count })))
    }
}

#[test]
fn erasure_leaves_no_trace_in_the_file_and_reaches_every_holder() {
    let (directory, dir) = open();
    let outbox = Arc::new(Outbox {
        items: Mutex::new(vec![customer(1), customer(1), customer(2)]),
        fail: AtomicU64::new(0),
    });
    directory.register(outbox.clone());
    let mut mrs_lee = lee(1);
    mrs_lee.name = Some(CustomerName::new("Mrs Eleanor Lee").unwrap());
    mrs_lee.email = Some(Email::new("eleanor.lee@example.com").unwrap());
    mrs_lee.note = Some(Note::new("allergic to walnuts").unwrap());
    directory.add(mrs_lee, &by(1)).unwrap();
    directory.add(lee(2), &by(2)).unwrap();
    assert!(file_text(&directory).contains("Eleanor"));
    let held = directory.held_elsewhere(&customer(1)).unwrap();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].data["queued"], 2);

    let mut changes = directory.subscribe();
    let report = directory.erase(&customer(1), 50).unwrap();
    assert!(report.directory_entry);
    assert_eq!(report.erased_ms, 50);
    assert_eq!(report.holders.len(), 1);
    assert_eq!(report.holders[0].removed, 2);
    assert_eq!(changes.try_recv().unwrap().kind, ChangeKind::Erased);
    assert_eq!(directory.get(&customer(1)), None);
    assert!(!directory.may_message(&customer(1)));
    assert!(directory.held_elsewhere(&customer(1)).unwrap().is_empty());

    // Nothing of the entry is left in the data directory's files.
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for trace in [
            "Eleanor",
            "eleanor.lee@example.com",
            "walnuts",
            &customer(1).to_string(),
        ] {
            assert!(!text.contains(trace), "{trace} left in the file: {text}");
        }
    }
    assert_eq!(Directory::open(dir.path()).unwrap().len(), 1);

    // Erasing again: nothing anywhere, so the customer is unknown.
    let error = directory.erase(&customer(1), 60).unwrap_err();
    assert!(matches!(error, DirectoryError::Unknown { .. }), "{error}");
}

#[test]
fn a_failing_holder_makes_the_erasure_incomplete_and_a_retry_finishes_it() {
    let (directory, _dir) = open();
    let outbox = Arc::new(Outbox {
        items: Mutex::new(vec![customer(1)]),
        fail: AtomicU64::new(1),
    });
    directory.register(outbox.clone());
    directory.add(lee(1), &by(1)).unwrap();
    let error = directory.erase(&customer(1), 10).unwrap_err();
    let DirectoryError::ErasureIncomplete { report, failures } = &error else {
        panic!("{error}");
    };
    assert!(report.directory_entry, "the entry went first");
    assert_eq!(failures[0].0, "automation outbox");
    let message = error.to_string();
    assert!(
        message.contains("the directory entry is erased"),
        "{message}"
    );
    assert!(message.contains("read-only"), "{message}");
    assert!(message.contains("erase again"), "{message}");
    assert_eq!(directory.get(&customer(1)), None);
    assert!(
        !directory.may_message(&customer(1)),
        "no messages meanwhile"
    );

    // The retry reaches the holder although the entry is gone.
    let report = directory.erase(&customer(1), 20).unwrap();
    assert!(!report.directory_entry);
    assert_eq!(report.holders[0].removed, 1);
    assert!(outbox.items.lock().unwrap().is_empty());
}

#[test]
fn a_damaged_file_is_never_used_nor_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let directory = Directory::open(dir.path()).unwrap();
    directory.add(lee(1), &by(1)).unwrap();
    let good = file_text(&directory);
    let address = customer(1).to_string();
    let second = good.replace(&address, &customer(2).to_string());
    let one_line = good.lines().nth(1).unwrap().to_string();
    let long_log = {
        let mut entry: serde_json::Value = serde_json::from_str(&one_line).unwrap();
        let event = entry["consent_log"][0].clone();
        entry["consent_log"] = serde_json::Value::Array(vec![event; 33]);
        format!("{{\"version\":1,\"customers\":[{entry}]}}")
    };
    for (damaged, reason) in [
        ("{", "cut short at line 1"),
        ("nonsense", "not JSON at line 1"),
        (r#"{"version":2,"customers":[]}"#, "format version 2"),
        (
            r#"{"version":1}"#,
            "a value or field this version does not accept",
        ),
        (
            &good.replace("lee1@example.com", "lee1 at example"),
            "line 2 column",
        ),
        (&good.replace("1984-03-14", "1984-02-30"), "line 2 column"),
        (
            &good.replace("\"messages\"", "\"marketing\""),
            "line 2 column",
        ),
        (
            &format!("{{\"version\":1,\"customers\":[{one_line},{one_line}]}}"),
            "is listed twice",
        ),
        (&long_log, "more than 32 consent changes"),
        (
            &good.replace("\"console\"", &format!("\"{}\"", "x".repeat(65))),
            "names a token longer than 64",
        ),
    ] {
        std::fs::write(directory.path(), damaged).unwrap();
        let error = Directory::open(dir.path()).unwrap_err();
        let message = error.to_string();
        assert!(
            matches!(error, DirectoryError::Corrupt { .. }),
            "{damaged}: {message}"
        );
        assert!(message.contains(reason), "{damaged}: {message}");
        assert!(
            message.contains("customers.json"),
            "names the file: {message}"
        );
        assert!(
            !message.contains("lee1"),
            "no personal data in the message: {message}"
        );

        let unavailable = Directory::open_or_unavailable(dir.path());
        assert!(unavailable.is_empty());
        assert!(!unavailable.may_message(&customer(1)));
        let error = unavailable.add(lee(3), &by(2)).unwrap_err();
        assert!(
            matches!(error, DirectoryError::Unavailable { .. }),
            "{error}"
        );
        assert!(error.to_string().contains("restore the file"), "{error}");
        assert!(matches!(
            unavailable.erase(&customer(1), 3),
            Err(DirectoryError::Unavailable { .. })
        ));
        assert!(matches!(
            unavailable.page(&PageRequest {
                limit: 10,
                ..PageRequest::default()
            }),
            Err(DirectoryError::Unavailable { .. })
        ));
        assert_eq!(
            std::fs::read_to_string(directory.path()).unwrap(),
            damaged,
            "left alone"
        );
    }
    // The second customer's file is fine.
    std::fs::write(directory.path(), second).unwrap();
    assert!(
        Directory::open(dir.path())
            .unwrap()
            .get(&customer(2))
            .is_some()
    );

    let error = Directory::open(&dir.path().join("nope")).unwrap_err();
    assert!(matches!(error, DirectoryError::NoDataDir { .. }), "{error}");
}

#[test]
fn a_file_over_the_limit_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(MAX_FILE_BYTES + 1).unwrap();
    let error = Directory::open(dir.path()).unwrap_err();
    assert!(
        matches!(error, DirectoryError::File(DurableError::TooLarge { .. })),
        "{error}"
    );
}

#[test]
fn the_directory_holds_at_most_its_limit_of_customers() {
    let dir = tempfile::tempdir().unwrap();
    // A file of exactly MAX_CUSTOMERS bare entries, written as the node
    // would.
    let directory = Directory::open(dir.path()).unwrap();
    let entries: Vec<NewEntry> = (0..MAX_CUSTOMERS as u64)
        .map(|i| {
            let mut secret = [0u8; 32];
            secret[..8].copy_from_slice(&i.to_be_bytes());
            secret[31] = 1;
            NewEntry::bare(Keypair::from_secret(&secret).address())
        })
        .collect();
    let outcome = directory.import(entries, false, &by(1)).unwrap();
    assert_eq!(outcome.added, MAX_CUSTOMERS);
    let error = directory.add(lee(1), &by(2)).unwrap_err();
    assert!(matches!(error, DirectoryError::Full { .. }), "{error}");
    assert!(error.to_string().contains("erase customers"), "{error}");
    let error = directory.import(vec![lee(1)], false, &by(2)).unwrap_err();
    assert!(matches!(error, DirectoryError::Full { .. }), "{error}");
    // One more entry in the file by hand is refused when read.
    let text = file_text(&directory);
    let extra = serde_json::to_string(&entry::create(lee(1), &by(3))).unwrap();
    let text = text.replacen("[\n", &format!("[\n{extra},\n"), 1);
    std::fs::write(directory.path(), text).unwrap();
    let error = Directory::open(dir.path()).unwrap_err();
    assert!(
        error.to_string().contains("more than 50000 customers"),
        "{error}"
    );
}

mod model {
    //! Random changes, with restarts, against a plain map of what each
    //! entry must be: the directory and its file never disagree with it.

    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[derive(Clone, Debug)]
    enum Op {
        Add(u8),
        Import(Vec<u8>, bool),
        Rename(u8, Option<u8>),
        Consent(u8, Option<bool>, Option<bool>),
        Erase(u8),
        Reopen,
    }

    fn op() -> impl Strategy<Value = Op> {
        let who = 0u8..6;
        prop_oneof![
            who.clone().prop_map(Op::Add),
            (prop::collection::vec(0u8..6, 0..4), any::<bool>())
                .prop_map(|(list, skip)| Op::Import(list, skip)),
            (who.clone(), prop::option::of(0u8..3)).prop_map(|(n, name)| Op::Rename(n, name)),
            (
                who.clone(),
                prop::option::of(any::<bool>()),
                prop::option::of(any::<bool>())
            )
                .prop_map(|(n, m, p)| Op::Consent(n, m, p)),
            who.prop_map(Op::Erase),
            Just(Op::Reopen),
        ]
    }

    fn name(n: u8) -> CustomerName {
        CustomerName::new(&format!("Name {n}")).unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn the_directory_follows_the_model(ops in prop::collection::vec(op(), 1..40)) {
            let dir = tempfile::tempdir().unwrap();
            let mut directory = Directory::open(dir.path()).unwrap();
            let mut model: BTreeMap<Address, CustomerEntry> = BTreeMap::new();
            for (step, op) in ops.into_iter().enumerate() {
                let at = step as u64 + 1;
                match op {
                    Op::Add(n) => {
                        let result = directory.add(lee(n + 10), &by(at));
                        match model.get(&customer(n + 10)) {
                            Some(_) => prop_assert!(matches!(result, Err(DirectoryError::Exists { .. })), "{:?}", result),
                            None => {
                                let entry = result.unwrap();
                                prop_assert_eq!(entry.created_ms, at);
                                model.insert(entry.address, entry);
                            }
                        }
                    }
                    Op::Import(list, skip) => {
                        let entries: Vec<NewEntry> = list.iter().map(|n| lee(n + 10)).collect();
                        let mut distinct = list.clone();
                        distinct.sort();
                        distinct.dedup();
                        let exists = list.iter().any(|n| model.contains_key(&customer(n + 10)));
                        let result = directory.import(entries, skip, &by(at));
                        let twice = distinct.len() < list.len();
                        let fresh_twice = {
                            let fresh: Vec<u8> = list.iter().copied().filter(|n| !model.contains_key(&customer(n + 10))).collect();
                            let mut d = fresh.clone();
                            d.sort();
                            d.dedup();
                            d.len() < fresh.len()
                        };
                        if exists && !skip {
                            prop_assert!(result.is_err());
                        } else if (skip && fresh_twice) || (!skip && twice) {
                            prop_assert!(matches!(result, Err(DirectoryError::Twice { .. })), "{:?}", result);
                        } else {
                            result.unwrap();
                            for n in distinct {
                                let address = customer(n + 10);
                                model.entry(address).or_insert_with(|| entry::create(lee(n + 10), &by(at)));
                            }
                        }
                    }
                    Op::Rename(n, new_name) => {
                        let update = Update { name: Some(new_name.map(name)), ..Update::default() };
                        let result = directory.update(&customer(n + 10), &update, at);
                        match model.get(&customer(n + 10)) {
                            None => prop_assert!(matches!(result, Err(DirectoryError::Unknown { .. })), "{:?}", result),
                            Some(current) => {
                                let expected = entry::update(current, &update, at).unwrap_or_else(|| current.clone());
                                prop_assert_eq!(&result.unwrap(), &expected);
                                model.insert(expected.address, expected);
                            }
                        }
                    }
                    Op::Consent(n, messages, profiling) => {
                        let setting = ConsentSetting { messages, profiling };
                        let result = directory.set_consent(&customer(n + 10), setting, &by(at));
                        match model.get(&customer(n + 10)) {
                            None => prop_assert!(matches!(result, Err(DirectoryError::Unknown { .. })), "{:?}", result),
                            Some(current) => {
                                let expected = entry::consent(current, setting, &by(at)).unwrap_or_else(|| current.clone());
                                prop_assert_eq!(&result.unwrap(), &expected);
                                model.insert(expected.address, expected);
                            }
                        }
                    }
                    Op::Erase(n) => {
                        let result = directory.erase(&customer(n + 10), at);
                        match model.remove(&customer(n + 10)) {
                            None => prop_assert!(matches!(result, Err(DirectoryError::Unknown { .. })), "{:?}", result),
                            Some(_) => prop_assert!(result.unwrap().directory_entry),
                        }
                    }
                    Op::Reopen => directory = Directory::open(dir.path()).unwrap(),
                }
                prop_assert_eq!(directory.len(), model.len());
                for n in 0..6 {
                    let address = customer(n + 10);
                    prop_assert_eq!(directory.get(&address), model.get(&address).cloned());
                    let consented = model.get(&address).is_some_and(|e| e.consent.messages.given);
                    prop_assert_eq!(directory.may_message(&address), consented);
                }
            }
            let reopened = Directory::open(dir.path()).unwrap();
            for (address, entry) in &model {
                prop_assert_eq!(reopened.get(address), Some(entry.clone()));
            }
            prop_assert_eq!(reopened.len(), model.len());
        }
    }
}
