//! `POST /v1/shop/sign` against a real server: the admin token, the kinds
//! refused before the engine, and back-office actions (a proposal, a
//! settle, an approval) signed as the shop and final, with the ledger's
//! refusals as `POST /v1/tx` gives them.
//!
//! The fake engine hands each grant to the test ([`TestNode::start_signing`]);
//! [`TestNode::answer_grant`] does what the shop's engine does with it:
//! signs the body as the shop at its next nonce, and makes the block if the
//! ledger takes it.

use super::*;
use crate::handle::{Grant, Ticket};
use guild_ledger::tx::GovernanceAction;

fn florist_key() -> Keypair {
    Keypair::from_secret(&[2; 32])
}

impl TestNode {
    /// A token with `scopes` made on this node.
    fn token(&self, name: &str, scopes: &[Scope]) -> String {
        self.tokens.create(name, scopes).unwrap().secret.reveal()
    }

    /// Answers the engine's next grant as the shop's engine does. Returns
    /// the signed transaction if the ledger took it.
    async fn answer_grant(&mut self) -> Option<SignedTransaction> {
        let grants = self.grants.as_mut().expect("a node from start_signing");
        let (grant, reply) = tokio::time::timeout(Duration::from_secs(5), grants.recv())
            .await
            .expect("the engine is asked to sign")
            .expect("the engine is running");
        let Grant::Action(action) = grant else {
            panic!("not a shop action: {grant:?}");
        };
        let shop = shop_key();
        let nonce = self.state.account(&shop.address()).map_or(0, |a| a.nonce.0);
        let tx = self.sign(&shop, nonce, action.into_body());
        let time = Timestamp(self.state.chain().time.0 + 1_000);
        let mut builder = BlockBuilder::new(&self.state, &self.head, time, shop.address()).unwrap();
        if let Err(error) = builder.push(tx.clone().verify(&self.chain_id).unwrap()) {
            let _ = reply.send(Err(SubmitError::Rejected(error)));
            return None;
        }
        let id = tx.tx.id(&self.chain_id);
        self.commit(vec![tx.clone()]);
        let location = TxLocation {
            height: self.head.height,
            index: 0,
        };
        let (finality, done) = oneshot::channel();
        let _ = finality.send(Ok(Submitted::Final { id, location }));
        let _ = reply.send(Ok(Ticket {
            now: Submitted::Pending { id },
            done: Some(done),
        }));
        Some(tx)
    }

    /// `POST /v1/shop/sign` with `token` and `body`, answered by the engine
    /// as [`TestNode::answer_grant`] does.
    async fn shop_sign(&mut self, token: &str, body: &str) -> (Reply, Option<SignedTransaction>) {
        let call = self.sign_call(token, body);
        let signed = self.answer_grant().await;
        (call.await.unwrap(), signed)
    }

    /// The request, sent on a task of its own (the engine answers it
    /// meanwhile).
    fn sign_call(&self, token: &str, body: &str) -> tokio::task::JoinHandle<Reply> {
        let addr = self.addr;
        let header = format!("Authorization: Bearer {token}");
        let body = body.to_string();
        tokio::spawn(async move {
            http_with(addr, "POST", "/v1/shop/sign", &[&header], Some(&body)).await
        })
    }

    /// The debt of `debtor` to `creditor` as `GET /v1/settlement` says.
    async fn owed(&self, debtor: Address, creditor: Address) -> u64 {
        let settlement = self.get("/v1/settlement").await.json();
        settlement["debts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["debtor"] == debtor.to_string() && d["creditor"] == creditor.to_string())
            .map_or(0, |d| d["points"].as_u64().unwrap())
    }

    /// Asserts the engine was asked for nothing.
    fn no_grant_asked(&mut self) {
        let grants = self.grants.as_mut().expect("a node from start_signing");
        assert!(grants.try_recv().is_err(), "the engine was asked to sign");
    }
}

#[tokio::test]
async fn signing_needs_an_admin_token() {
    let mut node = TestNode::start_signing().await;
    let settle = format!(
        "{{\"body\":{{\"kind\":\"settle\",\"debtor\":\"{}\",\"points\":5}}}}",
        florist_key().address()
    );
    let reply = node.post("/v1/shop/sign", &settle).await;
    assert_unauthorized(&reply);
    let till = node.token("till-1", &[Scope::Sale]);
    let message = node
        .sign_call(&till, &settle)
        .await
        .unwrap()
        .error(403, "forbidden");
    assert!(message.contains("--scope admin"), "{message}");
    node.no_grant_asked();
    node.stop().await;
}

#[tokio::test]
async fn kinds_signed_elsewhere_are_refused_before_the_engine() {
    let mut node = TestNode::start_signing().await;
    let admin = node.token("console", &[Scope::Admin]);
    let bakery = shop_key().address();
    let cases = [
        (
            format!(
                "{{\"body\":{{\"kind\":\"transfer\",\"to\":\"{}\",\"points\":5,\"memo\":null}}}}",
                customer_key().address()
            ),
            "a transfer is not",
            "guild wallet send",
        ),
        (
            format!("{{\"body\":{{\"kind\":\"redeem\",\"shop\":\"{bakery}\",\"points\":5}}}}"),
            "a redeem is not",
            "guild wallet redeem --request",
        ),
        (
            format!(
                "{{\"body\":{{\"kind\":\"refer\",\"referrer\":\"{}\"}}}}",
                customer_key().address()
            ),
            "a refer is not",
            "guild wallet refer",
        ),
    ];
    for (body, start, hint) in &cases {
        let reply = node.sign_call(&admin, body).await.unwrap();
        let message = reply.error(422, "not_a_shop_action");
        assert!(message.starts_with(start), "{message}");
        assert!(message.contains(hint), "{message}");
    }
    // Not a transaction body at all, and a wait too long.
    let reply = node
        .sign_call(&admin, "{\"body\":{\"kind\":\"gift\",\"points\":5}}")
        .await
        .unwrap();
    reply.error(400, "bad_request");
    let settle = format!(
        "{{\"body\":{{\"kind\":\"settle\",\"debtor\":\"{}\",\"points\":5}},\"wait\":true,\"timeout_ms\":60001}}",
        florist_key().address()
    );
    let message = node
        .sign_call(&admin, &settle)
        .await
        .unwrap()
        .error(400, "bad_request");
    assert!(message.contains("60000"), "{message}");
    node.no_grant_asked();
    node.stop().await;
}

#[tokio::test]
async fn a_node_without_the_shop_key_says_so() {
    // The plain fake engine holds no shop key.
    let node = TestNode::start(pending).await;
    let admin = node.token("console", &[Scope::Admin]);
    let settle = format!(
        "{{\"body\":{{\"kind\":\"settle\",\"debtor\":\"{}\",\"points\":5}}}}",
        florist_key().address()
    );
    let message = node
        .sign_call(&admin, &settle)
        .await
        .unwrap()
        .error(409, "no_shop_key");
    assert!(message.contains("--key"), "{message}");
    node.stop().await;
}

#[tokio::test]
async fn a_proposal_a_settle_and_an_approval_are_signed_as_the_shop() {
    let mut node = TestNode::start_signing().await;
    let doc = serde_json::to_value(super::super::openapi()).unwrap();
    let admin = node.token("console", &[Scope::Admin]);
    let bakery = shop_key().address();
    let florist = florist_key().address();

    // The Bakery proposes the Florist as a member (and so approves it, the
    // only member): final, at the Bakery's nonce 0.
    let propose = format!(
        "{{\"body\":{{\"kind\":\"propose\",\"action\":{{\"action\":\"add_member\",\"name\":\"Florist\",\"address\":\"{florist}\"}}}},\"wait\":true}}"
    );
    let (reply, signed) = node.shop_sign(&admin, &propose).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let validate_answer = |reply: &Reply| {
        let schema = response_schema(&doc, "/v1/shop/sign", "post", reply.status);
        validate(&doc, schema, &reply.json(), true, "POST /v1/shop/sign").unwrap();
    };
    validate_answer(&reply);
    let signed = signed.unwrap();
    assert_eq!((signed.tx.author, signed.tx.nonce), (bakery, Nonce(0)));
    let answer = reply.json();
    assert_eq!(answer["status"], "final");
    assert_eq!(answer["id"], signed.tx.id(&node.chain_id).to_string());
    assert_eq!(answer["height"], 1);
    assert_eq!(answer["index"], 0);
    // Effective after the governance delay.
    node.commit(vec![]);
    node.commit(vec![]);
    let members = node.get("/v1/members").await.json();
    assert_eq!(members["members"].as_array().unwrap().len(), 2, "{members}");

    // The Florist gives points; the customer spends them at the Bakery:
    // the Florist owes the Bakery 30.
    let customer = customer_key();
    let earn = node.sign(
        &florist_key(),
        0,
        TxBody::Earn {
            customer: customer.address(),
            points: Points(50),
            purchase: None,
            receipt: ReceiptHash::new(&florist, "F-1"),
            reason: guild_ledger::Memo::new("welcome").unwrap(),
        },
    );
    let redeem = node.sign(
        &customer,
        0,
        TxBody::Redeem {
            shop: bakery,
            points: Points(30),
        },
    );
    node.commit(vec![earn, redeem]);
    assert_eq!(node.owed(florist, bakery).await, 30);

    // The Bakery acknowledges 20 paid: the debt is 10.
    let settle = format!(
        "{{\"body\":{{\"kind\":\"settle\",\"debtor\":\"{florist}\",\"points\":20}},\"wait\":true}}"
    );
    let (reply, signed) = node.shop_sign(&admin, &settle).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    validate_answer(&reply);
    assert_eq!(signed.unwrap().tx.nonce, Nonce(1));
    assert_eq!(node.owed(florist, bakery).await, 10);

    // More than is owed: the ledger's refusal, as POST /v1/tx gives it.
    let too_much = format!(
        "{{\"body\":{{\"kind\":\"settle\",\"debtor\":\"{florist}\",\"points\":11}},\"wait\":true}}"
    );
    let (reply, signed) = node.shop_sign(&admin, &too_much).await;
    assert!(signed.is_none());
    let message = reply.error(422, "settle_exceeds_debt");
    assert!(message.contains("owes this shop 10 points"), "{message}");
    validate_answer(&reply);
    assert_eq!(node.owed(florist, bakery).await, 10);

    // The Florist proposes a parameter change; the Bakery approves it
    // through the node: it passes with both approvals.
    let proposal = node.sign(
        &florist_key(),
        1,
        TxBody::Propose {
            action: GovernanceAction::SetParam {
                change: guild_ledger::params::ParamChange::DailyIssuanceCap(Points(9_000)),
            },
        },
    );
    node.commit(vec![proposal]);
    let proposals = node.get("/v1/proposals").await.json();
    let open = proposals["proposals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["status"] == "open")
        .unwrap_or_else(|| panic!("an open proposal: {proposals}"))
        .clone();
    let approve = format!(
        "{{\"body\":{{\"kind\":\"approve\",\"proposal\":{}}}}}",
        open["id"]
    );
    let (reply, signed) = node.shop_sign(&admin, &approve).await;
    // Without `wait`: answered once admitted.
    assert_eq!(reply.status, 202, "{}", reply.body);
    validate_answer(&reply);
    assert_eq!(reply.json()["status"], "pending");
    assert_eq!(signed.unwrap().tx.nonce, Nonce(2));
    let proposals = node.get("/v1/proposals").await.json();
    let after = proposals["proposals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == open["id"])
        .unwrap()
        .clone();
    assert_eq!(after["status"], "passed", "{after}");
    assert_eq!(after["approvals"].as_array().unwrap().len(), 2, "{after}");
    node.stop().await;
}
