//! The service over a real store and a hand-made chain (blocks made and
//! committed as the engine would), with a webhook receiver on loopback
//! and a fake engine that makes the reward's block.

use super::*;
use crate::automation::facts::{Birthday, Consents, Facts, MemoryFacts};
use crate::automation::webhook::{self, WebhookSecret};
use crate::handle::{ChainEvent, ChainView, Request, Ticket};
use crate::store::{Commit, Store, TxLocation};
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use guild_api::automation::EventType;
use guild_ledger::block::{BlockHeader, CommitCertificate, CommitSignature};
use guild_ledger::crypto::Keypair;
use guild_ledger::genesis::{Genesis, GenesisMember};
use guild_ledger::params::Params;
use guild_ledger::programme::EarnRuleSpec;
use guild_ledger::state::BlockBuilder;
use guild_ledger::tx::{SignedTransaction, TxBody, VerifiedTx};
use guild_ledger::types::{Cents, ChainId, Nonce, Points, ShopName};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU16, Ordering};
use tokio::sync::watch;

fn shop_key() -> Keypair {
    Keypair::from_secret(&[1; 32])
}

fn customer(n: u8) -> Address {
    Keypair::from_secret(&[100 + n; 32]).address()
}

/// The chain the harness makes blocks of.
struct Chain {
    chain_id: ChainId,
    store: Store,
    state: State,
    head: BlockHeader,
    view: watch::Sender<Arc<ChainView>>,
    events: broadcast::Sender<ChainEvent>,
    receipts: u64,
}

impl Chain {
    fn nonce(&self) -> u64 {
        self.state
            .account(&shop_key().address())
            .map_or(0, |a| a.nonce.0)
    }

    fn sign(&self, body: TxBody) -> SignedTransaction {
        Transaction {
            author: shop_key().address(),
            nonce: Nonce(self.nonce()),
            body,
        }
        .sign(&shop_key(), &self.chain_id)
    }

    /// Stores, publishes and announces the next block (one transaction of
    /// the shop).
    fn commit(&mut self, body: TxBody) -> (TxId, TxLocation) {
        let tx = self.sign(body);
        let verified: VerifiedTx = tx.verify(&self.chain_id).unwrap();
        let id = verified.id();
        let time = Timestamp(now_ms().max(self.state.chain().time.0 + 1));
        let mut builder =
            BlockBuilder::new(&self.state, &self.head, time, shop_key().address()).unwrap();
        builder.push(verified).unwrap();
        let applied = builder.finish();
        let effects = Arc::new(applied.effects.clone());
        let header = applied.block.header().clone();
        let mut certificate = CommitCertificate {
            height: header.height,
            round: 0,
            block_hash: header.hash(),
            signatures: vec![],
        };
        certificate.signatures.push(CommitSignature {
            voter: shop_key().address(),
            signature: certificate.vote().sign(&shop_key(), &self.chain_id),
        });
        let (commit, state) = Commit::new(&self.state, applied, certificate.clone());
        self.store.commit(&commit).unwrap();
        self.state = state.clone();
        self.head = header.clone();
        self.view.send_modify(|view| {
            let mut next = (**view).clone();
            next.state = state;
            next.head = header.clone();
            next.certificate = Some(certificate);
            *view = Arc::new(next);
        });
        let _ = self.events.send(ChainEvent::Final {
            block: Arc::new(commit.block),
            ids: Arc::new(commit.tx_ids),
            effects,
            state: self.state.clone(),
        });
        (
            id,
            TxLocation {
                height: header.height,
                index: 0,
            },
        )
    }

    /// A grant of `points` to `customer` reporting a purchase.
    fn earn(&mut self, customer: Address, points: u64) -> TxId {
        self.receipts += 1;
        let receipt = ReceiptHash::new(&shop_key().address(), &format!("R-{}", self.receipts));
        self.commit(TxBody::Earn {
            customer,
            points: Points(points),
            purchase: Some(Cents(points * 100)),
            receipt,
            reason: guild_ledger::Memo::new("till").unwrap(),
        })
        .0
    }
}

/// A shop's node without consensus: blocks are made by [`Chain`], and a
/// fake engine gives birthday rewards by making their block.
struct Harness {
    dir: tempfile::TempDir,
    chain: Arc<Mutex<Chain>>,
    handle: NodeHandle,
    facts: Arc<MemoryFacts>,
}

impl Harness {
    fn new() -> Harness {
        let genesis = Genesis {
            programme: Default::default(),
            chain_id: ChainId::new("automation-tests").unwrap(),
            time: Timestamp(now_ms() - MS_PER_DAY),
            members: vec![GenesisMember {
                name: ShopName::new("Bakery").unwrap(),
                address: shop_key().address(),
            }],
            params: Params::default(),
        };
        let (state, head) = genesis.build().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("chain"), 8 << 20).unwrap();
        store.init(&head, &state).unwrap();
        let (view, view_rx) = watch::channel(Arc::new(ChainView {
            state: state.clone(),
            head: head.clone(),
            certificate: None,
            mempool: 0,
            peers: 0,
            member: Some(shop_key().address()),
            round: 0,
            syncing: false,
            sync: Default::default(),
            quorum: Default::default(),
            recent: crate::recent::RecentStates::new(state.clone()),
        }));
        let (events, _) = broadcast::channel(64);
        let (requests, mailbox) = mpsc::channel(16);
        let chain = Arc::new(Mutex::new(Chain {
            chain_id: genesis.chain_id.clone(),
            store: store.clone(),
            state,
            head,
            view,
            events: events.clone(),
            receipts: 0,
        }));
        chain.lock().unwrap().commit(TxBody::SetEarnRule {
            rule: EarnRuleSpec {
                points: 1,
                per: Cents(100),
                min_spend: Cents(0),
                multipliers: vec![],
                excluded: vec![],
                cap: None,
                birthday: Points(50),
            },
            effective: None,
        });
        tokio::spawn(fake_engine(mailbox, chain.clone()));
        let handle = NodeHandle {
            chain_id: genesis.chain_id.clone(),
            genesis: Arc::new(genesis),
            store,
            view: view_rx,
            insights: crate::insights::Insights::new(
                tokio::sync::watch::channel(crate::insights::Status::Building {
                    height: Height(0),
                    target: Height(0),
                })
                .1,
            ),
            events,
            requests,
        };
        Harness {
            dir,
            chain,
            handle,
            facts: Arc::new(MemoryFacts::default()),
        }
    }

    fn start(&self) -> Running {
        let config = AutomationConfig {
            retry: RetrySchedule::scaled(Duration::from_millis(40)),
            scan_every: Duration::from_millis(200),
            tick: Duration::from_millis(40),
            max_in_flight: 4,
        };
        start(
            self.dir.path(),
            self.handle.clone(),
            self.facts.clone(),
            Arc::new(super::super::NoScores),
            config,
        )
        .unwrap()
    }

    fn consent(&self, customer: Address, name: &str, messages: bool) {
        self.facts.set(
            customer,
            Facts {
                name: Some(name.into()),
                email: None,
                birthday: None,
                consents: Consents {
                    messages,
                    profiling: false,
                },
            },
        );
    }

    fn earn(&self, customer: Address, points: u64) -> TxId {
        self.chain.lock().unwrap().earn(customer, points)
    }
}

/// Answers `Grant` requests by making the reward's block.
async fn fake_engine(mut mailbox: mpsc::Receiver<Request>, chain: Arc<Mutex<Chain>>) {
    while let Some(request) = mailbox.recv().await {
        if let Request::Grant {
            grant: Grant::Birthday { customer, receipt },
            reply,
        } = request
        {
            let (id, location) = chain.lock().unwrap().commit(TxBody::Birthday {
                customer,
                receipt,
                points: Points(50),
            });
            let _ = reply.send(Ok(Ticket {
                now: Submitted::Final { id, location },
                done: None,
            }));
        }
    }
}

/// What the receiver saw: each request's id, whether its signature
/// verified, and the payload.
#[derive(Default)]
struct Received {
    requests: Vec<(String, bool, serde_json::Value)>,
}

struct Receiver {
    url: String,
    seen: Arc<Mutex<Received>>,
    status: Arc<AtomicU16>,
    secret: Arc<Mutex<Option<WebhookSecret>>>,
}

impl Receiver {
    /// A receiver on loopback answering `status` (changeable).
    async fn start(status: u16) -> Receiver {
        let seen = Arc::new(Mutex::new(Received::default()));
        let status = Arc::new(AtomicU16::new(status));
        let secret: Arc<Mutex<Option<WebhookSecret>>> = Arc::new(Mutex::new(None));
        let (s, st, sec) = (seen.clone(), status.clone(), secret.clone());
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let (seen, status, secret) = (s.clone(), st.clone(), sec.clone());
                async move {
                    let header = |name: &str| {
                        headers
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_string()
                    };
                    let id = header(webhook::HEADER_ID);
                    let verified = secret.lock().unwrap().as_ref().is_some_and(|secret| {
                        webhook::verify(
                            secret,
                            &id,
                            &header(webhook::HEADER_TIMESTAMP),
                            &body,
                            &header(webhook::HEADER_SIGNATURE),
                            now_ms() / 1000,
                            webhook::DEFAULT_TOLERANCE_SECS,
                        )
                        .is_ok()
                    });
                    let payload = serde_json::from_slice(&body).unwrap_or_default();
                    seen.lock().unwrap().requests.push((id, verified, payload));
                    StatusCode::from_u16(status.load(Ordering::SeqCst)).unwrap()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver {
            url,
            seen,
            status,
            secret,
        }
    }

    fn requests_for(&self, id: &str) -> Vec<(bool, serde_json::Value)> {
        self.seen
            .lock()
            .unwrap()
            .requests
            .iter()
            .filter(|(i, _, _)| i == id)
            .map(|(_, ok, p)| (*ok, p.clone()))
            .collect()
    }
}

async fn until<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn spec(name: &str, trigger: &str, action: &str, holdout: u16) -> NewAutomation {
    NewAutomation {
        name: name.into(),
        trigger: trigger.parse().unwrap(),
        condition: Default::default(),
        action: action.parse().unwrap(),
        holdout_permille: holdout,
        enabled: true,
    }
}

async fn delivery(handle: &AutomationHandle, id: &str) -> Option<DeliveryInfo> {
    let all = handle
        .deliveries(DeliveryQuery {
            limit: 500,
            ..DeliveryQuery::default()
        })
        .await
        .unwrap();
    all.deliveries.into_iter().find(|d| d.id == id)
}

#[tokio::test]
async fn webhooks_are_signed_retried_and_stop_when_consent_is_withdrawn() {
    let h = Harness::new();
    let (lee, ann, bob) = (customer(1), customer(2), customer(3));
    h.consent(lee, "Mrs Lee", true);
    h.consent(ann, "Ann", true);
    h.consent(bob, "Bob", false);
    let receiver = Receiver::start(500).await;
    let running = h.start();
    let service = running.handle.clone();
    let created = service
        .add_webhook(NewWebhook {
            url: receiver.url.clone(),
            description: None,
        })
        .await
        .unwrap();
    *receiver.secret.lock().unwrap() = Some(created.secret.parse().unwrap());
    let action = format!("webhook:{}", created.webhook.id);
    service
        .add(spec("earned", "points-earned", &action, 0))
        .await
        .unwrap();

    let lee_tx = h.earn(lee, 12);
    let ann_tx = h.earn(ann, 7);
    h.earn(bob, 9);
    let lee_id = triggers::event_id("earned", &format!("earned/{lee_tx}"));
    let ann_id = triggers::event_id("earned", &format!("earned/{ann_tx}"));
    // The receiver fails: both are retried.
    for id in [&lee_id, &ann_id] {
        until("two failed attempts", async || {
            delivery(&service, id)
                .await
                .filter(|d| d.attempt_count >= 2 && d.status == DeliveryStatus::Retrying)
        })
        .await;
    }
    // Ann withdraws her consent; the receiver recovers.
    h.consent(ann, "Ann", false);
    receiver.status.store(200, Ordering::SeqCst);
    let lee_done = until("Mrs Lee's event delivered", async || {
        delivery(&service, &lee_id)
            .await
            .filter(|d| d.status == DeliveryStatus::Delivered)
    })
    .await;
    assert_eq!(lee_done.outcome.as_deref(), Some("HTTP 200"));
    assert!(lee_done.attempts.iter().any(|a| a.http_status == Some(500)));
    let ann_done = until("Ann's event cancelled", async || {
        delivery(&service, &ann_id)
            .await
            .filter(|d| d.status == DeliveryStatus::Cancelled)
    })
    .await;
    assert!(
        ann_done
            .outcome
            .as_deref()
            .unwrap()
            .contains("consent to messages"),
        "{ann_done:?}"
    );
    // Every request carried a valid signature and the same id per event.
    let lee_requests = receiver.requests_for(&lee_id);
    assert!(lee_requests.len() >= 3, "{}", lee_requests.len());
    assert!(lee_requests.iter().all(|(ok, _)| *ok));
    let payload = &lee_requests.last().unwrap().1;
    assert_eq!(payload["type"], "points.earned");
    assert_eq!(payload["data"]["id"], lee_id.as_str());
    assert_eq!(payload["data"]["customer"], lee.to_string());
    assert_eq!(payload["data"]["customer_name"], "Mrs Lee");
    assert_eq!(payload["data"]["shop_name"], "Bakery");
    assert_eq!(payload["data"]["explanation"]["figures"]["points"], 12);
    assert_eq!(payload["data"]["explanation"]["trigger"], "points-earned");
    let parsed: WebhookPayload = serde_json::from_value(payload.clone()).unwrap();
    assert_eq!(parsed.event_type, EventType::PointsEarned);
    // Bob never consented: nothing fired for him. Ann's next purchase
    // fires nothing either.
    let ann_count = receiver.requests_for(&ann_id).len();
    let later = h.earn(ann, 5);
    h.earn(lee, 3);
    until("Mrs Lee's second event", async || {
        let all = service
            .deliveries(DeliveryQuery {
                limit: 50,
                ..Default::default()
            })
            .await
            .unwrap();
        (all.deliveries
            .iter()
            .filter(|d| d.customer == lee && d.status == DeliveryStatus::Delivered)
            .count()
            == 2)
            .then_some(())
    })
    .await;
    let all = service
        .deliveries(DeliveryQuery {
            customer: Some(bob),
            limit: 50,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(all.deliveries.is_empty());
    assert!(
        delivery(
            &service,
            &triggers::event_id("earned", &format!("earned/{later}"))
        )
        .await
        .is_none()
    );
    assert_eq!(
        receiver.requests_for(&ann_id).len(),
        ann_count,
        "no more messages for Ann"
    );
    // The endpoint cannot be removed while used.
    let error = service
        .remove_webhook(&created.webhook.id)
        .await
        .unwrap_err();
    assert!(
        matches!(error, AutomationError::WebhookInUse { .. }),
        "{error}"
    );
    running.stop().await;
}

#[tokio::test]
async fn todos_fill_in_their_template_and_held_out_customers_get_nothing() {
    let h = Harness::new();
    let customers: Vec<Address> = (1..=12).map(customer).collect();
    for (i, c) in customers.iter().enumerate() {
        h.consent(*c, &format!("Customer {i}"), true);
    }
    let running = h.start();
    let service = running.handle.clone();
    let action = "todo:Thank {name}: {points} points, {balance} held ({automation})";
    service
        .add(spec("thanks", "points-earned", action, 400))
        .await
        .unwrap();
    for c in &customers {
        h.earn(*c, 10);
    }
    let all = until("12 events", async || {
        let all = service
            .deliveries(DeliveryQuery {
                limit: 50,
                ..Default::default()
            })
            .await
            .unwrap();
        (all.deliveries.len() == 12 && all.waiting == 0).then_some(all)
    })
    .await;
    let held: Vec<Address> = customers
        .iter()
        .copied()
        .filter(|c| report::held_out("thanks", c, 400))
        .collect();
    assert!(
        !held.is_empty() && held.len() < 12,
        "a 40% holdout of 12: {}",
        held.len()
    );
    for d in &all.deliveries {
        let expected = if held.contains(&d.customer) {
            DeliveryStatus::HeldOut
        } else {
            DeliveryStatus::Delivered
        };
        assert_eq!(d.status, expected, "{d:?}");
    }
    let todos = service.todos(false).await.unwrap().todos;
    assert_eq!(todos.len(), 12 - held.len());
    assert!(todos.iter().all(|t| !held.contains(&t.customer)));
    let first = todos
        .iter()
        .find(|t| t.customer == customers[0])
        .or(todos.first())
        .unwrap();
    let i = customers.iter().position(|c| *c == first.customer).unwrap();
    assert_eq!(
        first.text,
        format!("Thank Customer {i}: 10 points, 10 held (thanks)")
    );
    let done = service.todo_done(&first.id).await.unwrap();
    assert!(done.done_ms.is_some());
    assert_eq!(
        service.todos(false).await.unwrap().todos.len(),
        todos.len() - 1
    );
    assert_eq!(service.todos(true).await.unwrap().todos.len(), todos.len());
    // The report counts both groups, by segment and tier.
    let report = service.report().await.unwrap();
    let row = &report.automations[0];
    assert_eq!(
        (row.fired, row.held_out, row.delivered),
        (12, held.len() as u32, 12 - held.len() as u32)
    );
    assert_eq!(row.treated.customers + row.holdout.customers, 12);
    assert_eq!(row.by_tier.len(), 1);
    assert_eq!(row.by_tier[0].group, "none");
    assert_eq!(row.by_segment[0].group, "unknown");
    // Forgetting a customer erases their events and to-dos.
    let gone = customers
        .iter()
        .find(|c| !held.contains(c))
        .copied()
        .unwrap();
    assert!(service.forget(gone).await.unwrap() >= 2);
    let left = service
        .deliveries(DeliveryQuery {
            customer: Some(gone),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(left.deliveries.is_empty());
    assert!(
        service
            .todos(true)
            .await
            .unwrap()
            .todos
            .iter()
            .all(|t| t.customer != gone)
    );
    running.stop().await;
}

#[tokio::test]
async fn a_restart_neither_loses_nor_repeats_events() {
    let h = Harness::new();
    let lee = customer(1);
    h.consent(lee, "Mrs Lee", true);
    let running = h.start();
    running
        .handle
        .add(spec("thanks", "points-earned", "todo:Thank {name}", 0))
        .await
        .unwrap();
    let first = h.earn(lee, 10);
    until("the first to-do", async || {
        let todos = running.handle.todos(false).await.unwrap().todos;
        (todos.len() == 1).then_some(())
    })
    .await;
    running.stop().await;
    // While the service is down, two more purchases.
    let second = h.earn(lee, 20);
    let third = h.earn(lee, 30);
    let running = h.start();
    let todos = until("three to-dos", async || {
        let todos = running.handle.todos(false).await.unwrap().todos;
        (todos.len() >= 3).then_some(todos)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let todos_now = running.handle.todos(false).await.unwrap().todos;
    assert_eq!(todos_now.len(), 3, "{todos:?}");
    let ids: HashSet<String> = todos_now.iter().map(|t| t.id.clone()).collect();
    for tx in [first, second, third] {
        assert!(ids.contains(&triggers::event_id("thanks", &format!("earned/{tx}"))));
    }
    running.stop().await;
}

#[tokio::test]
async fn a_birthday_reward_is_given_once_through_the_ledger() {
    let h = Harness::new();
    let lee = customer(1);
    let today = guild_ledger::programme::Locale::default()
        .local(Timestamp(now_ms()))
        .day;
    let (_, month, day) = triggers::civil(today);
    h.facts.set(
        lee,
        Facts {
            name: Some("Mrs Lee".into()),
            email: None,
            birthday: Some(Birthday { month, day }),
            consents: Consents::default(),
        },
    );
    let running = h.start();
    let service = running.handle.clone();
    let error = service
        .add(spec("treat", "first-purchase", "reward:birthday", 0))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("--trigger birthday"), "{error}");
    let error = service
        .add(spec("campaign", "birthday", "reward:campaign:3", 0))
        .await
        .unwrap_err();
    assert!(matches!(error, AutomationError::NotAnOffer { .. }));
    assert!(error.to_string().contains("--offer N"), "{error}");
    service
        .add(spec("treat", "birthday", "reward:birthday", 0))
        .await
        .unwrap();
    let id = triggers::event_id(
        "treat",
        &format!("birthday/{lee}/{}", triggers::civil(today).0),
    );
    let done = until("the reward", async || {
        delivery(&service, &id)
            .await
            .filter(|d| d.status == DeliveryStatus::Delivered)
    })
    .await;
    assert!(
        done.outcome
            .as_deref()
            .unwrap()
            .contains("birthday reward of 50 points final"),
        "{done:?}"
    );
    let receipt = ReceiptHash::new(&shop_key().address(), &format!("automation:{id}"));
    let state = h.handle.view().state.clone();
    assert_eq!(
        state
            .receipt(&shop_key().address(), &receipt)
            .unwrap()
            .points,
        Points(50)
    );
    // Scans go on: no second reward.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let all = service
        .deliveries(DeliveryQuery {
            limit: 50,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.deliveries.len(), 1);
    let report = service.report().await.unwrap();
    assert_eq!(
        (
            report.automations[0].rewards,
            report.automations[0].reward_points
        ),
        (1, Points(50))
    );
    running.stop().await;
}
