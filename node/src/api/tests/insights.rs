//! `GET /v1/insights/*` against a real server: exact figures after a few
//! purchases and a refund, the errors, the follower's catch-up and its
//! build from the stored chain.

use super::*;
use crate::insights::{Insights, Status};
use guild_audit::Date;
use guild_ledger::types::Cents;

fn customer(n: u8) -> Keypair {
    Keypair::from_secret(&[100 + n; 32])
}

impl TestNode {
    /// A grant by the Bakery reporting a purchase of `pence` (or none).
    fn purchase(
        &self,
        nonce: u64,
        n: u8,
        points: u64,
        pence: Option<u64>,
        receipt: &str,
    ) -> SignedTransaction {
        let shop = shop_key();
        self.sign(
            &shop,
            nonce,
            TxBody::Earn {
                customer: customer(n).address(),
                points: Points(points),
                purchase: pence.map(Cents),
                receipt: ReceiptHash::new(&shop.address(), receipt),
                reason: guild_ledger::Memo::new("sale").unwrap(),
            },
        )
    }

    /// Block 1: c1 buys £12.50 and £3.00, c2 £4.00, c3 gets 5 points
    /// without a purchase; block 2: c2's purchase is refunded in full.
    fn shop_day(&mut self) -> Timestamp {
        let txs = vec![
            self.purchase(0, 1, 12, Some(1250), "R-1"),
            self.purchase(1, 1, 3, Some(300), "R-2"),
            self.purchase(2, 2, 4, Some(400), "R-3"),
            self.purchase(3, 3, 5, None, "R-4"),
        ];
        let first = self.commit(txs).block.header.time;
        let shop = shop_key();
        let refund = self.sign(
            &shop,
            4,
            TxBody::Reverse {
                receipt: ReceiptHash::new(&shop.address(), "R-3"),
                amount: None,
            },
        );
        self.commit(vec![refund]);
        first
    }
}

fn date(time: Timestamp) -> String {
    Date::of(time).to_string()
}

fn month_index(time: Timestamp) -> u32 {
    Date::of(time).month_of().index()
}

#[tokio::test]
async fn customers_and_kpis_after_a_few_sales() {
    let mut node = TestNode::start(pending).await;
    let first = node.shop_day();
    let head = node.state.chain().time;
    let c1 = customer(1).address();

    let reply = node.get("/v1/insights/customers").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let answer = reply.json();
    assert_eq!(answer["height"], 2);
    assert_eq!(answer["as_of"], date(head));
    assert_eq!(answer["shop"], Value::Null);
    assert_eq!(answer["currency"]["code"], "GBP");
    // c2's only purchase was refunded; c3 never bought: one customer.
    assert_eq!(
        (
            answer["customers_total"].clone(),
            answer["matching"].clone()
        ),
        (Value::from(1), Value::from(1))
    );
    let row = &answer["customers"][0];
    assert_eq!(row["customer"], c1.to_string());
    assert_eq!(row["first_purchase"], date(first));
    assert_eq!(row["last_purchase"], date(first));
    assert_eq!(row["recency_days"], head.day() - first.day());
    // Two purchases on one day: one purchase day, £15.50.
    assert_eq!(
        (row["purchases"].clone(), row["purchase_days"].clone()),
        (Value::from(2), Value::from(1))
    );
    assert_eq!(row["spend"], 1550);
    assert_eq!(row["shops"], 1);
    assert_eq!(
        (row["points_earned"].clone(), row["points_redeemed"].clone()),
        (Value::from(15), Value::from(0))
    );
    assert_eq!(row["balance"], 15);
    assert_eq!(row["lots"][0]["issuer_name"], "Bakery");
    assert_eq!(row["lots"][0]["amount"], 15);
    assert_eq!(row["tier"], Value::Null);
    // A lone customer scores 3 on each: "need attention".
    assert_eq!(row["rfm"], serde_json::json!({"r": 3, "f": 3, "m": 3}));
    assert_eq!(row["segment"], "need_attention");
    assert_eq!(row["clv"], Value::Null);
    assert_eq!(answer["models"]["available"], false);
    assert_eq!(
        answer["models"]["absent"]["code"],
        "too_few_repeat_customers"
    );
    assert_eq!(answer["models"]["needed"], 30);

    // The same by shop name (any case) and address, and by segment.
    let by_name = node.get("/v1/insights/customers?shop=bakery").await.json();
    assert_eq!(by_name["shop"]["name"], "Bakery");
    assert_eq!(by_name["customers"], answer["customers"]);
    let by_address = node
        .get(&format!(
            "/v1/insights/customers?shop={}",
            shop_key().address()
        ))
        .await
        .json();
    assert_eq!(by_address["shop"], by_name["shop"]);
    let champions = node
        .get("/v1/insights/customers?segment=champions")
        .await
        .json();
    assert_eq!(
        (
            champions["matching"].clone(),
            champions["customers"].clone()
        ),
        (Value::from(0), Value::Array(vec![]))
    );
    assert_eq!(champions["segment"], "champions");
    let need = node
        .get("/v1/insights/customers?segment=Need%20attention")
        .await
        .json();
    assert_eq!(need["matching"], 1);

    // Segments: one customer, in "need attention".
    let segments = node.get("/v1/insights/segments?shop=Bakery").await.json();
    assert_eq!(segments["customers"], 1);
    let rows = segments["segments"].as_array().unwrap();
    assert_eq!(rows.len(), 10);
    assert_eq!(rows[0]["segment"], "champions");
    let need = rows
        .iter()
        .find(|s| s["segment"] == "need_attention")
        .unwrap();
    assert_eq!(
        (
            need["customers"].clone(),
            need["share"].clone(),
            need["spend"].clone()
        ),
        (Value::from(1), Value::from(1.0), Value::from(1550))
    );
    assert_eq!(need["label"], "Need attention");

    // KPIs from the day of the purchases to the head's day.
    let path = format!("/v1/insights/kpis?from={}&to={}", date(first), date(head));
    let k = node.get(&path).await.json();
    assert_eq!(
        (k["from"].clone(), k["to"].clone()),
        (Value::from(date(first)), Value::from(date(head)))
    );
    assert_eq!(k["days"], head.day() - first.day() + 1);
    assert_eq!(k["active_customers"], 1);
    assert_eq!(k["new_customers"], 1);
    assert_eq!(k["repeat_customers"], 0);
    assert_eq!(k["repeat_purchase_rate"], 0.0);
    assert_eq!(
        (k["purchases"].clone(), k["spend"].clone()),
        (Value::from(2), Value::from(1550))
    );
    assert_eq!(k["spend_per_active_customer"], 1550.0);
    // Issued 12 + 3 + 4 + 5; the refund took 4 back; none redeemed.
    assert_eq!(
        (k["points_issued"].clone(), k["points_redeemed"].clone()),
        (Value::from(24), Value::from(0))
    );
    assert_eq!(k["redemption_rate"], 0.0);
    assert_eq!(k["liability"], 20);
    assert_eq!(
        (
            k["multi_shop_customers"].clone(),
            k["multi_shop_share"].clone()
        ),
        (Value::from(0), Value::from(0.0))
    );
    let months = (month_index(head) - month_index(first) + 1) as usize;
    let mut active = vec![Value::from(0); months];
    active[0] = Value::from(1);
    assert_eq!(
        k["retention"]["cohorts"],
        serde_json::json!([{
            "month": Date::of(first).month_of().to_string(),
            "customers": 1,
            "active": active,
            "retention": active.iter().map(|a| a.as_f64().unwrap()).collect::<Vec<_>>(),
        }])
    );
    let need = k["segments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["segment"] == "need_attention")
        .unwrap()
        .clone();
    assert_eq!(
        need,
        serde_json::json!({"segment": "need_attention", "customers": 1, "spend": 1550, "average_clv": null})
    );
    assert_eq!(k["campaigns"], Value::Array(vec![]));
    // Without dates: the 30 days ending with the head's day.
    let default = node.get("/v1/insights/kpis").await.json();
    assert_eq!(default["days"], 30);
    assert_eq!(default["to"], date(head));

    // Each answer fits its documented schema.
    let doc = serde_json::to_value(super::super::openapi()).unwrap();
    for (template, url) in [
        ("/v1/insights/customers", "/v1/insights/customers"),
        ("/v1/insights/segments", "/v1/insights/segments"),
        ("/v1/insights/kpis", path.as_str()),
    ] {
        let reply = node.get(url).await;
        let schema = response_schema(&doc, template, "get", 200);
        validate(&doc, schema, &reply.json(), true, url).unwrap();
    }
    node.stop().await;
}

#[tokio::test]
async fn bad_queries_get_specific_errors() {
    let mut node = TestNode::start(pending).await;
    node.shop_day();
    let doc = serde_json::to_value(super::super::openapi()).unwrap();
    let cases = [
        (
            "/v1/insights/customers?segment=vip",
            400,
            "unknown_segment",
            "'vip' is not a segment",
        ),
        (
            "/v1/insights/customers?shop=Nowhere",
            404,
            "unknown_shop",
            "the shops are Bakery",
        ),
        (
            "/v1/insights/customers?limit=0",
            400,
            "bad_request",
            "1 to 5000",
        ),
        (
            "/v1/insights/customers?limit=5001",
            400,
            "bad_request",
            "limit is 5001",
        ),
        (
            "/v1/insights/customers?segmnet=loyal",
            400,
            "bad_request",
            "segmnet",
        ),
        (
            "/v1/insights/segments?shop=Nowhere",
            404,
            "unknown_shop",
            "Nowhere",
        ),
        (
            "/v1/insights/kpis?from=2026-02-30",
            400,
            "bad_date",
            "from: '2026-02-30' is not a real date",
        ),
        (
            "/v1/insights/kpis?to=yesterday",
            400,
            "bad_date",
            "YYYY-MM-DD",
        ),
        (
            "/v1/insights/kpis?from=2026-03-02&to=2026-03-01",
            400,
            "bad_period",
            "ends before it starts",
        ),
        (
            "/v1/insights/kpis?from=2000-01-01&to=2026-03-01",
            400,
            "bad_period",
            "at most 3660 days",
        ),
    ];
    for (url, status, code, says) in cases {
        let reply = node.get(url).await;
        let message = reply.error(status, code);
        assert!(message.contains(says), "{url}: {message}");
        let template = url.split('?').next().unwrap();
        let schema = response_schema(&doc, template, "get", status);
        validate(&doc, schema, &reply.json(), true, url).unwrap();
    }
    let long = "x".repeat(101);
    node.get(&format!("/v1/insights/customers?shop={long}"))
        .await
        .error(400, "bad_request");
    node.stop().await;
}

#[tokio::test]
async fn insights_still_building_answer_503_with_retry_after() {
    let node = TestNode::start(pending).await;
    let (_status, readers) = watch::channel(Status::Building {
        height: Height(40),
        target: Height(900),
    });
    let (requests, _mailbox) = mpsc::channel(1);
    let handle = NodeHandle {
        chain_id: node.chain_id.clone(),
        genesis: node.genesis.clone(),
        store: node.store.clone(),
        view: node.view.subscribe(),
        events: node.events.clone(),
        requests,
        insights: Insights::new(readers),
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(super::super::serve(
        listener,
        handle,
        node.tokens.clone(),
        node.directory.clone(),
        None,
        None,
        std::future::pending(),
    ));
    let reply = http(addr, "GET", "/v1/insights/kpis", None).await;
    let message = reply.error(503, "insights_not_ready");
    assert!(message.contains("block 40 of 900"), "{message}");
    assert_eq!(
        reply.headers.get("retry-after").map(String::as_str),
        Some("1")
    );
    node.stop().await;
}

/// The rows of the group at the follower's snapshot, once it reached
/// `height`.
async fn rows(insights: &Insights, height: u64) -> Value {
    let snapshot = insights
        .at_least(Height(height), Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(snapshot.height(), Height(height));
    let rows = snapshot.rows(guild_insights::Scope::Group);
    serde_json::to_value(rows.page(None, 0, 100)).unwrap()
}

#[tokio::test]
async fn the_follower_catches_up_on_missed_blocks_and_builds_from_the_store() {
    let mut node = TestNode::start(pending).await;
    node.shop_day();
    // A block the follower never hears of, then one it does: it reads
    // the missed one from the store.
    let missed = node.purchase(5, 4, 7, Some(700), "R-5");
    node.commit_block(vec![missed], false);
    let heard = node.purchase(6, 5, 9, Some(900), "R-6");
    node.commit(vec![heard]);
    let followed = rows(&node.insights, 4).await;
    let customers: Vec<&Value> = followed["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["customer"])
        .collect();
    // Most spend first: c1 £15.50, c5 £9, c4 £7.
    assert_eq!(
        customers,
        vec![
            &Value::from(customer(1).address().to_string()),
            &Value::from(customer(5).address().to_string()),
            &Value::from(customer(4).address().to_string()),
        ]
    );
    // A node starting on this store builds the same from its blocks.
    let (built, _follower) = crate::insights::spawn(
        node.genesis.clone(),
        node.store.clone(),
        node.events.subscribe(),
    );
    assert_eq!(rows(&built, 4).await, followed);
    node.stop().await;
}
