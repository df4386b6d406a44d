//! The customer directory's endpoints (`/v1/customers…`) against a real
//! server: authentication, every endpoint, bad input, and the answers
//! against the OpenAPI document.

use super::*;
use crate::directory::{Erasable, HolderError};
use std::sync::atomic::{AtomicBool, Ordering};

impl TestNode {
    /// An admin token made on this node.
    fn admin(&self) -> String {
        self.tokens
            .create(
                &format!("console-{}", self.tokens.list().unwrap().len()),
                &[Scope::Admin],
            )
            .unwrap()
            .secret
            .reveal()
    }

    /// `method path` with `Authorization: Bearer {token}` and a body.
    async fn call(&self, token: &str, method: &str, path: &str, body: Option<&str>) -> Reply {
        let header = format!("Authorization: Bearer {token}");
        http_with(self.addr, method, path, &[&header], body).await
    }
}

/// Checks `reply` against the documented schema of `method template`.
fn fits(doc: &Value, template: &str, method: &str, reply: &Reply) {
    let schema = response_schema(doc, template, method, reply.status);
    if let Err(error) = validate(doc, schema, &reply.json(), true, template) {
        panic!(
            "{method} {template} does not fit its schema: {error}\n{}",
            reply.body
        );
    }
}

fn lee() -> Address {
    customer_key().address()
}

#[tokio::test]
async fn every_customer_endpoint_needs_an_admin_token() {
    let node = TestNode::start(pending).await;
    let till = node
        .tokens
        .create("till-1", &[Scope::Sale])
        .unwrap()
        .secret
        .reveal();
    let lee = lee();
    let add = format!("{{\"address\":\"{lee}\",\"name\":\"Mrs Lee\"}}");
    let endpoints: Vec<(&str, String, Option<&str>)> = vec![
        ("POST", "/v1/customers".into(), Some(add.as_str())),
        (
            "POST",
            "/v1/customers/import".into(),
            Some("{\"customers\":[]}"),
        ),
        ("GET", "/v1/customers".into(), None),
        ("GET", format!("/v1/customers/{lee}"), None),
        (
            "PATCH",
            format!("/v1/customers/{lee}"),
            Some("{\"name\":\"x\"}"),
        ),
        (
            "PUT",
            format!("/v1/customers/{lee}/consent"),
            Some("{\"messages\":true}"),
        ),
        ("GET", format!("/v1/customers/{lee}/export"), None),
        ("DELETE", format!("/v1/customers/{lee}"), None),
    ];
    for (method, path, body) in &endpoints {
        let reply = http(node.addr, method, path, *body).await;
        assert_unauthorized(&reply);
        let message = node
            .call(&till, method, path, *body)
            .await
            .error(403, "forbidden");
        assert!(
            message.contains("--scope admin"),
            "{method} {path}: {message}"
        );
    }
    assert!(node.directory.is_empty(), "nothing was added");
    node.stop().await;
}

#[tokio::test]
async fn a_customer_is_added_shown_changed_listed_and_erased() {
    let node = TestNode::start(pending).await;
    let doc = serde_json::to_value(super::super::openapi()).unwrap();
    let token = node.admin();
    let lee = lee();
    let body = format!(
        "{{\"address\":\"{lee}\",\"name\":\" Mrs Lee \",\"email\":\"lee@Example.com\",\"birthday\":\"1984-03-14\",\"consent\":[\"messages\"],\"via\":\"cli\"}}"
    );
    let reply = node
        .call(&token, "POST", "/v1/customers", Some(&body))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    fits(&doc, "/v1/customers", "post", &reply);
    let entry = reply.json();
    assert_eq!(entry["name"], "Mrs Lee");
    assert_eq!(entry["email"], "lee@example.com");
    assert_eq!(entry["birthday"], "1984-03-14");
    assert_eq!(entry["consent"]["messages"]["given"], true);
    assert_eq!(entry["consent"]["messages"]["last_change"]["via"], "cli");
    assert_eq!(
        entry["consent"]["messages"]["last_change"]["by"],
        "console-0"
    );
    assert_eq!(entry["consent"]["profiling"]["given"], false);
    assert_eq!(entry["consent"]["profiling"]["last_change"], Value::Null);
    assert!(
        node.directory.may_message(&lee),
        "the node's automations see it"
    );

    let message = node
        .call(&token, "POST", "/v1/customers", Some(&body))
        .await
        .error(409, "customer_exists");
    assert!(message.contains(&lee.to_string()), "{message}");

    let reply = node
        .call(&token, "GET", &format!("/v1/customers/{lee}"), None)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    fits(&doc, "/v1/customers/{address}", "get", &reply);
    assert_eq!(reply.json(), entry);

    let reply = node
        .call(
            &token,
            "PATCH",
            &format!("/v1/customers/{lee}"),
            Some("{\"email\":null,\"note\":\"prefers oat milk\"}"),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    fits(&doc, "/v1/customers/{address}", "patch", &reply);
    assert_eq!(reply.json()["email"], Value::Null);
    assert_eq!(reply.json()["note"], "prefers oat milk");
    assert_eq!(reply.json()["name"], "Mrs Lee", "kept");

    let reply = node
        .call(
            &token,
            "PUT",
            &format!("/v1/customers/{lee}/consent"),
            Some("{\"messages\":false,\"profiling\":true,\"via\":\"console\"}"),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    fits(&doc, "/v1/customers/{address}/consent", "put", &reply);
    let entry = reply.json();
    assert_eq!(entry["consent"]["messages"]["given"], false);
    assert_eq!(entry["consent"]["profiling"]["given"], true);
    let log = entry["consent_log"].as_array().unwrap();
    let events: Vec<(&str, bool, &str)> = log
        .iter()
        .map(|e| {
            (
                e["purpose"].as_str().unwrap(),
                e["given"].as_bool().unwrap(),
                e["via"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        events,
        vec![
            ("messages", true, "cli"),
            ("messages", false, "console"),
            ("profiling", true, "console")
        ]
    );
    assert!(
        !node.directory.may_message(&lee),
        "withdrawn before the answer"
    );
    assert!(node.directory.may_profile(&lee));

    // A second customer, then the list and a search.
    let other = Keypair::from_secret(&[102; 32]).address();
    let reply = node
        .call(
            &token,
            "POST",
            "/v1/customers",
            Some(&format!(
                "{{\"address\":\"{other}\",\"name\":\"Mr Patel\"}}"
            )),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let reply = node
        .call(&token, "GET", "/v1/customers?limit=1", None)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    fits(&doc, "/v1/customers", "get", &reply);
    let page = reply.json();
    assert_eq!(
        (page["total"].as_u64(), page["matching"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(page["customers"].as_array().unwrap().len(), 1);
    let next = page["next"].as_str().unwrap().to_string();
    let page = node
        .call(&token, "GET", &format!("/v1/customers?after={next}"), None)
        .await
        .json();
    assert_eq!(page["customers"].as_array().unwrap().len(), 1);
    assert_eq!(page["next"], Value::Null);
    let page = node
        .call(&token, "GET", "/v1/customers?search=mrs%20LEE", None)
        .await
        .json();
    assert_eq!(page["matching"], 1);
    assert_eq!(page["customers"][0]["address"], lee.to_string());
    assert_eq!(page["customers"][0]["messages"], false);
    assert_eq!(page["customers"][0]["profiling"], true);

    // Erase: gone from the answer, the directory and its file.
    let reply = node
        .call(&token, "DELETE", &format!("/v1/customers/{lee}"), None)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    fits(&doc, "/v1/customers/{address}", "delete", &reply);
    let report = reply.json();
    assert_eq!(report["customer"], lee.to_string());
    assert_eq!(report["directory_entry"], true);
    assert_eq!(report["holders"], serde_json::json!([]));
    let reply = node
        .call(&token, "GET", &format!("/v1/customers/{lee}"), None)
        .await;
    let message = reply.error(404, "unknown_customer");
    fits(&doc, "/v1/customers/{address}", "get", &reply);
    assert!(message.contains("guild customer add"), "{message}");
    node.call(&token, "DELETE", &format!("/v1/customers/{lee}"), None)
        .await
        .error(404, "unknown_customer");
    let file = std::fs::read_to_string(node.directory.path()).unwrap();
    assert!(
        !file.contains("Mrs Lee") && !file.contains(&lee.to_string()),
        "{file}"
    );
    assert!(file.contains("Mr Patel"), "{file}");
    node.stop().await;
}

#[tokio::test]
async fn bad_input_gets_a_specific_error() {
    let node = TestNode::start(pending).await;
    let token = node.admin();
    let lee = lee();
    let add = |fields: &str| format!("{{\"address\":\"{lee}\",{fields}}}");
    for (body, status, code, says) in [
        (
            add("\"email\":\"lee at example.com\""),
            400,
            "bad_email",
            "no @",
        ),
        (
            add("\"email\":\"lee@example\""),
            400,
            "bad_email",
            "needs a dot",
        ),
        (
            add("\"birthday\":\"2023-02-29\""),
            400,
            "bad_birthday",
            "not a leap year",
        ),
        (add("\"birthday\":\"14/03\""), 400, "bad_birthday", "MM-DD"),
        (add("\"name\":\"\""), 400, "bad_name", "1 to 100 characters"),
        (
            add(&format!("\"name\":\"{}\"", "x".repeat(101))),
            400,
            "bad_name",
            "1 to 100",
        ),
        (
            add(&format!("\"note\":\"{}\"", "x".repeat(281))),
            400,
            "bad_note",
            "280",
        ),
        (
            add("\"consent\":[\"marketing\"]"),
            400,
            "bad_request",
            "unknown variant",
        ),
        (add("\"nickname\":\"Lee\""), 400, "bad_request", "nickname"),
        (
            "{\"address\":\"guild1nope\"}".to_string(),
            400,
            "bad_address",
            "guild1nope",
        ),
        (
            "{\"name\":\"Mrs Lee\"}".to_string(),
            400,
            "bad_request",
            "address",
        ),
        ("not json".to_string(), 400, "bad_request", "JSON"),
    ] {
        let reply = node
            .call(&token, "POST", "/v1/customers", Some(&body))
            .await;
        let message = reply.error(status, code);
        assert!(message.contains(says), "{body}: {message}");
    }
    assert!(node.directory.is_empty(), "nothing was added");

    let big = add(&format!("\"note\":\"{}\"", "x".repeat(70_000)));
    node.call(&token, "POST", "/v1/customers", Some(&big))
        .await
        .error(413, "too_large");

    let reply = node
        .call(
            &token,
            "POST",
            "/v1/customers",
            Some(&add("\"name\":\"Mrs Lee\"")),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    let path = format!("/v1/customers/{lee}");
    for (method, path, body, code, says) in [
        (
            "PATCH",
            path.clone(),
            "{}",
            "bad_request",
            "at least one field",
        ),
        (
            "PATCH",
            path.clone(),
            "{\"email\":\"x\"}",
            "bad_email",
            "no @",
        ),
        (
            "PATCH",
            path.clone(),
            "{\"birthday\":\"13-01\"}",
            "bad_birthday",
            "no month 13",
        ),
        (
            "PUT",
            format!("{path}/consent"),
            "{}",
            "bad_request",
            "at least one consent",
        ),
        (
            "PUT",
            format!("{path}/consent"),
            "{\"messages\":\"yes\"}",
            "bad_request",
            "boolean",
        ),
        (
            "GET",
            "/v1/customers?limit=0".into(),
            "",
            "bad_request",
            "1 to 500",
        ),
        (
            "GET",
            "/v1/customers?limit=501".into(),
            "",
            "bad_request",
            "1 to 500",
        ),
        (
            "GET",
            "/v1/customers?after=guild1x".into(),
            "",
            "bad_address",
            "",
        ),
        (
            "GET",
            format!("/v1/customers?search={}", "a".repeat(101)),
            "",
            "bad_request",
            "100",
        ),
        (
            "GET",
            "/v1/customers/guild1nope".into(),
            "",
            "bad_address",
            "",
        ),
        (
            "DELETE",
            "/v1/customers/guild1nope".into(),
            "",
            "bad_address",
            "",
        ),
    ] {
        let body = (!body.is_empty()).then_some(body);
        let message = node
            .call(&token, method, &path, body)
            .await
            .error(400, code);
        assert!(message.contains(says), "{method} {path}: {message}");
    }
    let other = Keypair::from_secret(&[102; 32]).address();
    for (method, path, body) in [
        ("GET", format!("/v1/customers/{other}"), None),
        (
            "PATCH",
            format!("/v1/customers/{other}"),
            Some("{\"name\":\"x\"}"),
        ),
        (
            "PUT",
            format!("/v1/customers/{other}/consent"),
            Some("{\"messages\":true}"),
        ),
        ("DELETE", format!("/v1/customers/{other}"), None),
    ] {
        node.call(&token, method, &path, body)
            .await
            .error(404, "unknown_customer");
    }
    node.stop().await;
}

#[tokio::test]
async fn an_export_holds_the_entry_derived_data_and_the_ledger_lines() {
    let mut node = TestNode::start(pending).await;
    let doc = serde_json::to_value(super::super::openapi()).unwrap();
    let token = node.admin();
    let lee = lee();
    let earn = node.earn(40, "R-1");
    let id = earn.tx.id(&node.chain_id);
    node.commit(vec![earn]);
    struct Outbox;
    impl Erasable for Outbox {
        fn holder(&self) -> &str {
            "automation outbox"
        }
        fn erase(&self, _: &Address) -> Result<u64, HolderError> {
            Ok(1)
        }
        fn export(&self, _: &Address) -> Result<Option<Value>, HolderError> {
            Ok(Some(serde_json::json!({"queued": ["birthday greeting"]})))
        }
    }
    node.directory.register(Arc::new(Outbox));
    let body = format!("{{\"address\":\"{lee}\",\"name\":\"Mrs Lee\",\"consent\":[\"messages\"]}}");
    node.call(&token, "POST", "/v1/customers", Some(&body))
        .await;

    let reply = node
        .call(&token, "GET", &format!("/v1/customers/{lee}/export"), None)
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    fits(&doc, "/v1/customers/{address}/export", "get", &reply);
    let export = reply.json();
    assert_eq!(export["customer"], lee.to_string());
    assert_eq!(export["shop"]["name"], "Bakery");
    assert_eq!(export["shop"]["address"], shop_key().address().to_string());
    assert_eq!(export["directory"]["name"], "Mrs Lee");
    assert_eq!(export["directory"]["consent_log"][0]["purpose"], "messages");
    assert_eq!(export["held_elsewhere"][0]["holder"], "automation outbox");
    assert_eq!(
        export["held_elsewhere"][0]["data"]["queued"][0],
        "birthday greeting"
    );
    assert_eq!(export["account"]["balance"], 40);
    assert_eq!(export["history"][0]["id"], id.to_string());
    assert_eq!(export["history"][0]["kind"], "earn");
    assert_eq!(export["history_complete"], true);
    let about = export["about"].as_str().unwrap();
    assert!(
        about.starts_with("Bakery's node holds about guild1"),
        "{about}"
    );

    // A key the directory does not know: only the ledger lines.
    let stranger = Keypair::from_secret(&[103; 32]).address();
    let reply = node
        .call(
            &token,
            "GET",
            &format!("/v1/customers/{stranger}/export"),
            None,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    fits(&doc, "/v1/customers/{address}/export", "get", &reply);
    assert_eq!(reply.json()["directory"], Value::Null);
    assert_eq!(reply.json()["history"], serde_json::json!([]));
    node.stop().await;
}

#[tokio::test]
async fn an_erasure_reaches_other_holders_and_says_when_one_failed() {
    let node = TestNode::start(pending).await;
    let doc = serde_json::to_value(super::super::openapi()).unwrap();
    let token = node.admin();
    let lee = lee();
    struct Flaky(AtomicBool);
    impl Erasable for Flaky {
        fn holder(&self) -> &str {
            "delivery log"
        }
        fn erase(&self, _: &Address) -> Result<u64, HolderError> {
            if self.0.swap(false, Ordering::SeqCst) {
                Err(HolderError::new("disk full"))
            } else {
                Ok(3)
            }
        }
    }
    node.directory
        .register(Arc::new(Flaky(AtomicBool::new(true))));
    let body = format!("{{\"address\":\"{lee}\",\"email\":\"lee@example.com\"}}");
    node.call(&token, "POST", "/v1/customers", Some(&body))
        .await;
    let path = format!("/v1/customers/{lee}");
    let reply = node.call(&token, "DELETE", &path, None).await;
    let message = reply.error(500, "erasure_incomplete");
    fits(&doc, "/v1/customers/{address}", "delete", &reply);
    assert!(
        message.contains("the delivery log failed: disk full"),
        "{message}"
    );
    assert!(message.contains("erase again"), "{message}");
    node.call(&token, "GET", &path, None)
        .await
        .error(404, "unknown_customer");
    let report = node.call(&token, "DELETE", &path, None).await.json();
    assert_eq!(report["directory_entry"], false);
    assert_eq!(
        report["holders"],
        serde_json::json!([{"holder": "delivery log", "removed": 3}])
    );
    node.stop().await;
}

#[tokio::test]
async fn an_import_adds_many_in_one_request_or_none() {
    let node = TestNode::start(pending).await;
    let doc = serde_json::to_value(super::super::openapi()).unwrap();
    let token = node.admin();
    let customers: Vec<String> = (0..1500u32)
        .map(|i| {
            let mut secret = [7u8; 32];
            secret[..4].copy_from_slice(&i.to_be_bytes());
            let address = Keypair::from_secret(&secret).address();
            format!(
                "{{\"address\":\"{address}\",\"name\":\"Customer {i}\",\"email\":\"c{i}@example.com\",\"birthday\":\"03-14\",\"consent\":[\"messages\"]}}"
            )
        })
        .collect();
    let body = format!("{{\"customers\":[{}]}}", customers.join(","));
    assert!(
        body.len() > crate::api::MAX_BODY_BYTES,
        "larger than other bodies may be"
    );
    let mut bad = customers[..3].to_vec();
    bad[1] = bad[1].replace("c1@example.com", "c1 at example.com");
    let reply = node
        .call(
            &token,
            "POST",
            "/v1/customers/import",
            Some(&format!("{{\"customers\":[{}]}}", bad.join(","))),
        )
        .await;
    let message = reply.error(400, "bad_email");
    fits(&doc, "/v1/customers/import", "post", &reply);
    assert!(
        message.starts_with("customer 2 of the import:"),
        "{message}"
    );
    assert!(node.directory.is_empty(), "all or nothing");

    let reply = node
        .call(&token, "POST", "/v1/customers/import", Some(&body))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    fits(&doc, "/v1/customers/import", "post", &reply);
    assert_eq!(reply.json()["added"], 1500);
    assert_eq!(reply.json()["total"], 1500);
    assert_eq!(node.directory.len(), 1500);
    let reply = node
        .call(&token, "POST", "/v1/customers/import", Some(&body))
        .await;
    reply.error(409, "customer_exists");
    let again = format!(
        "{{\"customers\":[{}],\"skip_existing\":true}}",
        customers[..2].join(",")
    );
    let answer = node
        .call(&token, "POST", "/v1/customers/import", Some(&again))
        .await
        .json();
    assert_eq!(answer["added"], 0);
    assert_eq!(answer["skipped"].as_array().unwrap().len(), 2);

    let over = format!(
        "{{\"customers\":[{}]}}",
        vec![customers[0].as_str(); 2001].join(",")
    );
    let message = node
        .call(&token, "POST", "/v1/customers/import", Some(&over))
        .await
        .error(400, "bad_request");
    assert!(message.contains("at most 2000"), "{message}");
    let huge = format!("{{\"customers\":[],\"via\":\"{}\"}}", "x".repeat(1 << 20));
    let message = node
        .call(&token, "POST", "/v1/customers/import", Some(&huge))
        .await
        .error(413, "too_large");
    assert!(message.contains("1048576"), "{message}");
    node.stop().await;
}
