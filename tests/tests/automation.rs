//! Automations on a real `guild node` process, with a webhook receiver on
//! loopback that checks every signature (Standard Webhooks) and records
//! each `webhook-id`.
//!
//! One shop runs its node with a short retry schedule
//! (`GUILD_AUTOMATION_RETRY_MS=200`, for tests only). Through the `guild`
//! command it adds a webhook endpoint and a `points-earned` automation;
//! the till's sales (`POST /v1/sale`) fire events. The test checks:
//!
//! - the receiver first answers 500: every event is retried;
//! - the node is killed with `kill -9` while the deliveries are pending,
//!   then restarted: every expected event arrives, each exactly once by
//!   `webhook-id` (the ids are the ones the cause predicts: `earned/<tx>`),
//!   every request verifies, and the log holds each event once (the blocks
//!   processed again after the restart fire nothing twice);
//! - a customer who withdraws consent while her event waits gets nothing:
//!   the event is cancelled with the reason, and her next purchase fires
//!   nothing at all.

mod common;

use common::*;
use guild_ledger::crypto::Address;
use guild_ledger::programme::EarnRuleSpec;
use guild_ledger::tx::TxBody;
use guild_ledger::types::{Cents, Points};
use guild_node::automation::event_id;
use guild_node::automation::webhook::{self, WebhookSecret};
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashMap};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the receiver saw.
#[derive(Default)]
struct Seen {
    /// Every request: its `webhook-id`, whether it verified, the status
    /// answered, the payload.
    requests: Vec<(String, bool, u16, Value)>,
}

impl Seen {
    fn attempts(&self, id: &str) -> usize {
        self.requests.iter().filter(|r| r.0 == id).count()
    }

    /// Ids accepted (answered 2xx), with how many times.
    fn accepted(&self) -> HashMap<String, usize> {
        let mut accepted = HashMap::new();
        for (id, _, status, _) in &self.requests {
            if *status < 300 {
                *accepted.entry(id.clone()).or_insert(0) += 1;
            }
        }
        accepted
    }
}

struct Receiver {
    url: String,
    status: Arc<AtomicU16>,
    secret: Arc<Mutex<Option<WebhookSecret>>>,
    seen: Arc<Mutex<Seen>>,
}

impl Receiver {
    /// A receiver answering `status` (changeable) to every signed request,
    /// 401 to one whose signature does not verify.
    async fn start(status: u16) -> Receiver {
        let status = Arc::new(AtomicU16::new(status));
        let secret: Arc<Mutex<Option<WebhookSecret>>> = Arc::new(Mutex::new(None));
        let seen = Arc::new(Mutex::new(Seen::default()));
        let (st, sec, sn) = (status.clone(), secret.clone(), seen.clone());
        let app = axum::Router::new().route(
            "/hooks/guild",
            axum::routing::post(
                move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                    let (status, secret, seen) = (st.clone(), sec.clone(), sn.clone());
                    async move {
                        let header = |name: &str| {
                            headers
                                .get(name)
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or_default()
                                .to_string()
                        };
                        let id = header(webhook::HEADER_ID);
                        let verified = secret.lock().unwrap().as_ref().is_some_and(|s| {
                            webhook::verify(
                                s,
                                &id,
                                &header(webhook::HEADER_TIMESTAMP),
                                &body,
                                &header(webhook::HEADER_SIGNATURE),
                                now_ms() / 1000,
                                webhook::DEFAULT_TOLERANCE_SECS,
                            )
                            .is_ok()
                        });
                        let answer = if verified {
                            status.load(Ordering::SeqCst)
                        } else {
                            401
                        };
                        let payload = serde_json::from_slice(&body).unwrap_or(Value::Null);
                        seen.lock()
                            .unwrap()
                            .requests
                            .push((id, verified, answer, payload));
                        axum::http::StatusCode::from_u16(answer).unwrap()
                    }
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks/guild", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver {
            url,
            status,
            secret,
            seen,
        }
    }
}

/// `guild --node API --json automation --token-file F ARGS…`, which must
/// succeed; its JSON answer.
fn automation_cli(net: &Net, token: &Path, args: &[&str]) -> Value {
    let api = net.api(0);
    let mut all: Vec<&OsStr> = vec![
        OsStr::new("--node"),
        OsStr::new(&api),
        OsStr::new("--json"),
        OsStr::new("automation"),
        OsStr::new("--token-file"),
        token.as_os_str(),
    ];
    all.extend(args.iter().map(OsStr::new));
    let out = guild(&all);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "guild automation {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

/// `guild --node API --json customer ARGS… --token-file F`: the shop's
/// customer directory, where automations read consent; must succeed.
fn customer_cli(net: &Net, token: &Path, args: &[&str]) {
    let api = net.api(0);
    let mut all: Vec<&OsStr> = vec![
        OsStr::new("--node"),
        OsStr::new(&api),
        OsStr::new("--json"),
        OsStr::new("customer"),
    ];
    all.extend(args.iter().map(OsStr::new));
    all.push(OsStr::new("--token-file"));
    all.push(token.as_os_str());
    let out = guild(&all);
    assert!(
        out.status.success(),
        "guild customer {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A final sale of `amount` pence to `customer`; its transaction id.
async fn sell(net: &Net, token: &str, customer: &Address, amount: u64) -> String {
    let response = net
        .http
        .post(format!("{}/v1/sale", net.api(0)))
        .bearer_auth(token)
        .json(&json!({"customer": customer.to_string(), "amount": amount, "timeout_ms": 30000}))
        .timeout(Duration::from_secs(40))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let answer: Value = response.json().await.unwrap();
    assert_eq!(
        (status, &answer["status"]),
        (200, &json!("final")),
        "{answer}\nthe node's log:\n{}",
        tail(&net.logs(0), 60)
    );
    answer["id"].as_str().unwrap().to_string()
}

async fn until<T>(
    what: &str,
    net: &Net,
    limit: Duration,
    mut check: impl FnMut() -> Option<T>,
) -> T {
    let start = Instant::now();
    loop {
        if let Some(found) = check() {
            eprintln!("{what}: after {:?}", start.elapsed());
            return found;
        }
        assert!(
            start.elapsed() < limit,
            "timed out waiting for {what}; the node's log:\n{}",
            tail(&net.logs(0), 40)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The delivery log, by event id.
fn log(net: &Net, token: &Path) -> HashMap<String, Value> {
    let answer = automation_cli(net, token, &["deliveries", "--limit", "500"]);
    answer["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["id"].as_str().unwrap().to_string(), d.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_arrive_once_each_across_kill_9_and_stop_when_consent_is_withdrawn() {
    let mut net = Net::new(1);
    net.extra_env
        .push(("GUILD_AUTOMATION_RETRY_MS".into(), "200".into()));
    let data = net.nodes[0].data.clone();
    std::fs::create_dir_all(&data).unwrap();
    let lee = customer(1).address();
    let ann = customer(2).address();

    // The shop's admin token (it also has the sale scope, for the till).
    let out = guild(&[
        OsStr::new("node"),
        OsStr::new("token"),
        OsStr::new("create"),
        OsStr::new("--data"),
        data.as_os_str(),
        OsStr::new("--name"),
        OsStr::new("console"),
        OsStr::new("--scope"),
        OsStr::new("admin"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let token_file: PathBuf = net.dir.path().join("admin-token.txt");
    std::fs::write(&token_file, format!("{token}\n")).unwrap();

    net.start_all();
    net.wait_height(0, 0, Duration::from_secs(30)).await;
    let (lee_text, ann_text) = (lee.to_string(), ann.to_string());
    for (who, name) in [(&lee_text, "Mrs Lee"), (&ann_text, "Ann")] {
        customer_cli(
            &net,
            &token_file,
            &["add", who, "--name", name, "--consent", "messages"],
        );
    }
    // The shop's earn rule: 1 point per £1.
    let shop = net.shop(0).clone();
    let rule = net.sign(
        &shop,
        0,
        TxBody::SetEarnRule {
            rule: EarnRuleSpec {
                points: 1,
                per: Cents(100),
                min_spend: Cents(0),
                multipliers: vec![],
                excluded: vec![],
                cap: None,
                birthday: Points(0),
            },
            effective: None,
        },
    );
    net.submit_all(0, &[rule]).await;

    // The receiver fails at first.
    let receiver = Receiver::start(500).await;
    let created = automation_cli(&net, &token_file, &["webhook", "add", &receiver.url]);
    let secret = created["secret"].as_str().unwrap();
    *receiver.secret.lock().unwrap() = Some(secret.parse().unwrap());
    let endpoint = created["webhook"]["id"].as_str().unwrap().to_string();
    let added = automation_cli(
        &net,
        &token_file,
        &[
            "add",
            "earned",
            "--trigger",
            "points-earned",
            "--action",
            &format!("webhook:{endpoint}"),
        ],
    );
    assert_eq!(added["event_type"], "points.earned", "{added}");

    // Scripted purchases: three for Mrs Lee, two for Ann.
    let mut expected = BTreeSet::new();
    for (customer, amount) in [(lee, 1250), (ann, 800), (lee, 300), (ann, 4500), (lee, 999)] {
        let tx = sell(&net, &token, &customer, amount).await;
        expected.insert(event_id("earned", &format!("earned/{tx}")));
    }
    // Every event is retried while the receiver fails.
    until(
        "two attempts at every event",
        &net,
        Duration::from_secs(60),
        || {
            let seen = receiver.seen.lock().unwrap();
            expected
                .iter()
                .all(|id| seen.attempts(id) >= 2)
                .then_some(())
        },
    )
    .await;
    let pending = log(&net, &token_file);
    for id in &expected {
        assert_eq!(pending[id]["status"], "retrying", "{}", pending[id]);
    }

    // kill -9 with the deliveries pending; the receiver recovers; restart.
    net.kill(0);
    receiver.status.store(200, Ordering::SeqCst);
    net.start(0);
    net.wait_height(0, 0, Duration::from_secs(30)).await;
    until(
        "every event delivered",
        &net,
        Duration::from_secs(60),
        || {
            let accepted = receiver.seen.lock().unwrap().accepted();
            expected
                .iter()
                .all(|id| accepted.contains_key(id))
                .then_some(())
        },
    )
    .await;
    // A little longer: nothing arrives twice.
    tokio::time::sleep(Duration::from_secs(2)).await;
    {
        let seen = receiver.seen.lock().unwrap();
        let accepted = seen.accepted();
        let ids: BTreeSet<String> = accepted.keys().cloned().collect();
        assert_eq!(ids, expected, "exactly the expected events arrived");
        for (id, times) in &accepted {
            assert_eq!(*times, 1, "{id} was accepted {times} times");
        }
        assert!(seen.requests.iter().all(|r| r.1), "every request verified");
        let lee_payloads: Vec<&Value> = seen
            .requests
            .iter()
            .filter(|r| r.2 == 200 && r.3["data"]["customer"] == lee.to_string())
            .map(|r| &r.3)
            .collect();
        assert_eq!(lee_payloads.len(), 3);
        assert!(lee_payloads.iter().all(|p| {
            p["type"] == "points.earned"
                && p["data"]["customer_name"] == "Mrs Lee"
                && p["data"]["explanation"]["figures"]["points"]
                    .as_u64()
                    .is_some()
        }));
    }
    // The log holds each event once, delivered.
    let delivered = log(&net, &token_file);
    assert_eq!(delivered.len(), expected.len(), "{delivered:?}");
    for id in &expected {
        assert_eq!(delivered[id]["status"], "delivered", "{}", delivered[id]);
    }

    // Consent: the receiver fails again; one more purchase each.
    receiver.status.store(500, Ordering::SeqCst);
    let lee_tx = sell(&net, &token, &lee, 700).await;
    let ann_tx = sell(&net, &token, &ann, 700).await;
    let lee_id = event_id("earned", &format!("earned/{lee_tx}"));
    let ann_id = event_id("earned", &format!("earned/{ann_tx}"));
    until("attempts at both", &net, Duration::from_secs(30), || {
        let seen = receiver.seen.lock().unwrap();
        (seen.attempts(&lee_id) >= 1 && seen.attempts(&ann_id) >= 1).then_some(())
    })
    .await;
    // Ann withdraws her consent while her event waits.
    customer_cli(
        &net,
        &token_file,
        &["consent", &ann_text, "--messages", "no"],
    );
    let ann_entry = until(
        "Ann's event cancelled",
        &net,
        Duration::from_secs(30),
        || {
            let entries = log(&net, &token_file);
            entries
                .get(&ann_id)
                .filter(|e| e["status"] == "cancelled")
                .cloned()
        },
    )
    .await;
    assert!(
        ann_entry["outcome"]
            .as_str()
            .unwrap()
            .contains("consent to messages"),
        "{ann_entry}"
    );
    receiver.status.store(200, Ordering::SeqCst);
    until(
        "Mrs Lee's event delivered",
        &net,
        Duration::from_secs(30),
        || {
            receiver
                .seen
                .lock()
                .unwrap()
                .accepted()
                .contains_key(&lee_id)
                .then_some(())
        },
    )
    .await;
    // Ann's next purchase fires nothing at all.
    let later = sell(&net, &token, &ann, 900).await;
    let later_id = event_id("earned", &format!("earned/{later}"));
    let mrs_lee_again = sell(&net, &token, &lee, 900).await;
    let lee_again_id = event_id("earned", &format!("earned/{mrs_lee_again}"));
    until(
        "Mrs Lee's last event delivered",
        &net,
        Duration::from_secs(30),
        || {
            receiver
                .seen
                .lock()
                .unwrap()
                .accepted()
                .contains_key(&lee_again_id)
                .then_some(())
        },
    )
    .await;
    let entries = log(&net, &token_file);
    assert!(
        !entries.contains_key(&later_id),
        "no event for Ann without consent"
    );
    let seen = receiver.seen.lock().unwrap();
    assert!(!seen.accepted().contains_key(&ann_id));
    assert_eq!(seen.attempts(&later_id), 0);
}
