//! The outbox against its journal: replay, torn writes at every byte,
//! compaction, pruning and erasure.

use super::*;
use guild_api::automation::{Explanation, Trigger};
use guild_ledger::crypto::Keypair;

fn customer(n: u8) -> Address {
    Keypair::from_secret(&[n; 32]).address()
}

fn entry(id: &str, customer: Address, created_ms: u64) -> Entry {
    Entry {
        id: id.into(),
        automation: "earned".into(),
        event_type: Trigger::PointsEarned {
            min_points: Points(1),
        }
        .event_type(),
        action: "todo:Thank {name}".parse().unwrap(),
        customer,
        cause: format!("earned/{id}"),
        created_ms,
        time_ms: created_ms,
        held_out: false,
        explanation: Explanation {
            trigger: "points-earned".into(),
            summary: "a sale here gave 10 points".into(),
            ..Explanation::default()
        },
    }
}

fn attempt(id: &str, at_ms: u64, next_ms: Option<u64>) -> Change {
    Change::Attempt {
        id: id.into(),
        attempt: AttemptInfo {
            at_ms,
            ok: next_ms.is_none(),
            http_status: Some(if next_ms.is_none() { 200 } else { 500 }),
            detail: "HTTP".into(),
        },
        next_ms,
    }
}

fn delivered(id: &str, at_ms: u64) -> Change {
    Change::Finished {
        id: id.into(),
        at_ms,
        status: DeliveryStatus::Delivered,
        outcome: "HTTP 200".into(),
        reward_points: None,
    }
}

/// A little history: three events, retries, one delivered, a cursor.
fn history() -> Vec<Vec<Change>> {
    let a = customer(1);
    let b = customer(2);
    vec![
        vec![
            Change::Enqueued {
                entry: Box::new(entry("evt_a", a, 100)),
            },
            Change::Enqueued {
                entry: Box::new(entry("evt_b", b, 100)),
            },
            Change::Cursor { height: Height(5) },
        ],
        vec![attempt("evt_a", 110, Some(120))],
        vec![attempt("evt_a", 121, None), delivered("evt_a", 121)],
        vec![
            Change::Enqueued {
                entry: Box::new(entry("evt_c", a, 200)),
            },
            Change::Cursor { height: Height(9) },
        ],
        vec![attempt("evt_b", 210, Some(400))],
    ]
}

fn summary(outbox: &Outbox) -> Vec<(String, DeliveryStatus, u32, u64)> {
    let mut all: Vec<_> = outbox
        .entries()
        .map(|s| (s.entry.id.clone(), s.status, s.attempt_count, s.next_ms))
        .collect();
    all.sort();
    all
}

#[test]
fn the_journal_replays_to_the_same_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let mut outbox = Outbox::open(dir.path()).unwrap();
    for batch in history() {
        outbox.commit(batch).unwrap();
    }
    let expected = summary(&outbox);
    assert_eq!(
        expected,
        vec![
            ("evt_a".to_string(), DeliveryStatus::Delivered, 2, 120),
            ("evt_b".to_string(), DeliveryStatus::Retrying, 1, 400),
            ("evt_c".to_string(), DeliveryStatus::Pending, 0, 200),
        ]
    );
    assert_eq!(outbox.cursor(), Some(Height(9)));
    assert_eq!(outbox.waiting(), 2);
    assert_eq!(
        outbox.due(300, 10, |_| false).len(),
        1,
        "evt_c is due, evt_b at 400"
    );
    assert_eq!(outbox.next_due(|_| false), Some(200));
    drop(outbox);
    let reopened = Outbox::open(dir.path()).unwrap();
    assert_eq!(summary(&reopened), expected);
    assert_eq!(reopened.cursor(), Some(Height(9)));
    assert_eq!(reopened.skipped(), 0);
}

#[test]
fn an_event_enqueued_twice_is_kept_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut outbox = Outbox::open(dir.path()).unwrap();
    let first = entry("evt_a", customer(1), 100);
    outbox
        .commit(vec![Change::Enqueued {
            entry: Box::new(first.clone()),
        }])
        .unwrap();
    outbox
        .commit(vec![attempt("evt_a", 110, Some(500))])
        .unwrap();
    // The same id again (a scan after a crash): no second entry, and the
    // first keeps its attempts.
    let mut again = entry("evt_a", customer(1), 999);
    again.cause = "earned/other".into();
    outbox
        .commit(vec![Change::Enqueued {
            entry: Box::new(again),
        }])
        .unwrap();
    assert!(outbox.contains("evt_a"));
    let state = outbox.get("evt_a").unwrap();
    assert_eq!(state.entry, first);
    assert_eq!(state.attempt_count, 1);
    drop(outbox);
    let reopened = Outbox::open(dir.path()).unwrap();
    assert_eq!(reopened.get("evt_a").unwrap().entry, first);
    assert_eq!(reopened.entries().count(), 1);
}

#[test]
fn a_journal_cut_at_any_byte_replays_a_prefix_and_takes_appends() {
    let dir = tempfile::tempdir().unwrap();
    let mut outbox = Outbox::open(dir.path()).unwrap();
    let batches = history();
    // The state after each whole record, to compare prefixes with.
    let mut boundaries = vec![(0u64, Vec::new(), None)];
    for batch in &batches {
        for change in batch {
            outbox.commit(vec![change.clone()]).unwrap();
            boundaries.push((outbox.file_bytes(), summary(&outbox), outbox.cursor()));
        }
    }
    drop(outbox);
    let full = std::fs::read(dir.path().join(FILE_NAME)).unwrap();
    for cut in 0..=full.len() {
        let torn = tempfile::tempdir().unwrap();
        std::fs::write(torn.path().join(FILE_NAME), &full[..cut]).unwrap();
        let mut replayed = Outbox::open(torn.path()).unwrap();
        let (end, expected, cursor) = boundaries
            .iter()
            .rev()
            .find(|(end, _, _)| *end as usize <= cut)
            .unwrap()
            .clone();
        assert_eq!(summary(&replayed), expected, "cut at {cut}");
        assert_eq!(replayed.cursor(), cursor, "cut at {cut}");
        assert_eq!(
            replayed.skipped(),
            0,
            "a torn tail is not damage (cut at {cut})"
        );
        assert_eq!(
            std::fs::metadata(torn.path().join(FILE_NAME))
                .unwrap()
                .len(),
            end,
            "cut back to the last whole record (cut at {cut})"
        );
        // The next append lands on a clean line and survives a reopen.
        replayed
            .commit(vec![Change::Enqueued {
                entry: Box::new(entry("evt_new", customer(3), 900)),
            }])
            .unwrap();
        drop(replayed);
        let again = Outbox::open(torn.path()).unwrap();
        assert!(again.contains("evt_new"), "cut at {cut}");
        assert_eq!(again.skipped(), 0, "cut at {cut}");
    }
}

#[test]
fn a_damaged_record_in_the_middle_is_skipped_and_the_rest_kept() {
    let dir = tempfile::tempdir().unwrap();
    let mut outbox = Outbox::open(dir.path()).unwrap();
    for batch in history() {
        outbox.commit(batch).unwrap();
    }
    drop(outbox);
    let path = dir.path().join(FILE_NAME);
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    // Flip a character of the second record (evt_b's enqueue).
    lines[1] = lines[1].replace("evt_b", "evt_x");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let replayed = Outbox::open(dir.path()).unwrap();
    assert_eq!(replayed.skipped(), 1);
    assert!(!replayed.contains("evt_b") && !replayed.contains("evt_x"));
    assert!(replayed.contains("evt_a") && replayed.contains("evt_c"));
    assert_eq!(replayed.cursor(), Some(Height(9)));
}

#[test]
fn compaction_keeps_what_is_live_and_the_ids_and_prunes_by_age() {
    let dir = tempfile::tempdir().unwrap();
    let mut outbox = Outbox::open(dir.path()).unwrap();
    for batch in history() {
        outbox.commit(batch).unwrap();
    }
    // A receiver failing for long: evt_b is retried 30 times more.
    for i in 0..30 {
        outbox
            .commit(vec![attempt("evt_b", 300 + i, Some(400 + i))])
            .unwrap();
    }
    let before = summary(&outbox);
    let size = outbox.file_bytes();
    outbox.compact(1_000).unwrap();
    assert_eq!(summary(&outbox), before);
    assert!(
        outbox.file_bytes() < size / 2,
        "{} of {size}",
        outbox.file_bytes()
    );
    let b = outbox.get("evt_b").unwrap();
    assert_eq!((b.attempt_count, b.attempts.len()), (31, MAX_ATTEMPTS_KEPT));
    outbox
        .commit(vec![attempt("evt_c", 1_100, Some(1_500))])
        .unwrap();
    drop(outbox);
    let mut reopened = Outbox::open(dir.path()).unwrap();
    assert_eq!(reopened.get("evt_c").unwrap().attempt_count, 1);
    assert_eq!(reopened.get("evt_a").unwrap().attempts.len(), 2);
    assert_eq!(reopened.cursor(), Some(Height(9)));
    // After 90 days a finished entry leaves the log but its id stays…
    let day = MS_PER_DAY;
    reopened.maintain(121 + 91 * day).unwrap();
    assert!(reopened.get("evt_a").is_none());
    assert!(reopened.contains("evt_a"));
    assert!(reopened.get("evt_b").is_some(), "waiting entries stay");
    drop(reopened);
    let mut reopened = Outbox::open(dir.path()).unwrap();
    assert!(reopened.contains("evt_a"), "the id survives compaction");
    reopened
        .commit(vec![Change::Enqueued {
            entry: Box::new(entry("evt_a", customer(1), 5)),
        }])
        .unwrap();
    assert!(
        reopened.get("evt_a").is_none(),
        "and refuses the same event"
    );
    // …for 400 days.
    reopened.maintain(401 * day + 1).unwrap();
    assert!(!reopened.contains("evt_a"));
}

#[test]
fn forgetting_a_customer_erases_them_from_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut outbox = Outbox::open(dir.path()).unwrap();
    for batch in history() {
        outbox.commit(batch).unwrap();
    }
    let a = customer(1);
    let erased = outbox.forget(a, 1_000).unwrap();
    assert_eq!(erased, 2);
    assert!(outbox.get("evt_a").is_none() && outbox.get("evt_c").is_none());
    assert!(outbox.get("evt_b").is_some());
    assert!(
        outbox.contains("evt_a"),
        "the id (a hash) stays: nothing fires twice"
    );
    let text = std::fs::read_to_string(dir.path().join(FILE_NAME)).unwrap();
    assert!(!text.contains(&a.to_string()), "{text}");
    assert!(text.contains(&customer(2).to_string()));
    drop(outbox);
    let reopened = Outbox::open(dir.path()).unwrap();
    assert!(reopened.get("evt_a").is_none());
    assert!(reopened.get("evt_b").is_some());
}
