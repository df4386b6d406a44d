//! Wrong tokens are rate limited per client address: 5 `401`s within a
//! minute, then `429 too_many_failures` with `Retry-After` for that
//! address only; good tokens from other addresses are not affected, and
//! neither a request without a token nor a wrong scope (`403`) is a
//! failure.

use super::*;
use std::net::{IpAddr, Ipv4Addr};
use tokio::net::TcpSocket;

/// `GET path` with `token`, from the loopback address `source` (Linux
/// answers on every 127.x address).
async fn get_from(node: &TestNode, source: Ipv4Addr, token: &str, path: &str) -> Reply {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(IpAddr::V4(source), 0)).unwrap();
    let stream = socket.connect(node.addr).await.unwrap();
    let header = format!("Authorization: Bearer {token}");
    http_on(stream, node.addr, "GET", path, &[&header], None).await
}

const WRONG: &str = "gld_0000000000000000000000000000000000000000000000000000000000000000";

#[tokio::test]
async fn five_wrong_tokens_in_a_minute_are_answered_429_for_that_address_only() {
    let node = TestNode::start(pending).await;
    let till = node.tokens.create("till-1", &[Scope::Sale]).unwrap();
    let good = till.secret.reveal();
    let attacker = Ipv4Addr::new(127, 0, 0, 2);
    let shop = Ipv4Addr::new(127, 0, 0, 3);
    // Good requests never count: many of them, then the failures.
    for _ in 0..10 {
        let reply = get_from(&node, attacker, &good, "/v1/whoami").await;
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    for n in 0..5 {
        let reply = get_from(&node, attacker, WRONG, "/v1/whoami").await;
        let message = reply.error(401, "unauthorized");
        assert!(
            message.contains("knows no such API token"),
            "{n}: {message}"
        );
    }
    // The sixth: refused before the token is looked at, with Retry-After.
    let reply = get_from(&node, attacker, WRONG, "/v1/whoami").await;
    let message = reply.error(429, "too_many_failures");
    assert!(
        message.contains("too many requests with a wrong or missing API token"),
        "{message}"
    );
    assert!(message.contains("5 within 60 s"), "{message}");
    let retry: u64 = reply.headers["retry-after"].parse().unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    // Every token route, even with a good token, from that address.
    let reply = get_from(&node, attacker, &good, "/v1/whoami").await;
    reply.error(429, "too_many_failures");
    // The shop's till on another address is not affected.
    let reply = get_from(&node, shop, &good, "/v1/whoami").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    // Public reads need no token and are never limited.
    let reply = get_from(&node, attacker, WRONG, "/v1/head").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    node.stop().await;
}

#[tokio::test]
async fn malformed_tokens_count_no_header_and_a_wrong_scope_do_not() {
    let node = TestNode::start(pending).await;
    let till = node.tokens.create("till-1", &[Scope::Sale]).unwrap();
    let source = Ipv4Addr::new(127, 0, 0, 4);
    // No Authorization header at all: 401, ten times, never 429.
    for _ in 0..10 {
        let socket = TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::new(IpAddr::V4(source), 0)).unwrap();
        let stream = socket.connect(node.addr).await.unwrap();
        let reply = http_on(stream, node.addr, "GET", "/v1/whoami", &[], None).await;
        reply.error(401, "unauthorized");
    }
    // A sale token on an admin endpoint: 403, ten times, never 429.
    for _ in 0..10 {
        let reply = get_from(&node, source, &till.secret.reveal(), "/v1/customers").await;
        reply.error(403, "forbidden");
    }
    for token in ["", "gld_short", "not-a-token", WRONG, WRONG] {
        let reply = get_from(&node, source, token, "/v1/whoami").await;
        reply.error(401, "unauthorized");
    }
    let reply = get_from(&node, source, &till.secret.reveal(), "/v1/whoami").await;
    reply.error(429, "too_many_failures");
    node.stop().await;
}

#[test]
fn the_node_warns_when_its_api_listens_beyond_this_machine() {
    for quiet in ["127.0.0.1:8700", "[::1]:8700", "127.0.0.2:7700"] {
        assert_eq!(super::super::exposure_warning(quiet.parse().unwrap()), None);
    }
    let all = super::super::exposure_warning("0.0.0.0:8700".parse().unwrap()).unwrap();
    assert!(all.contains("listens on 0.0.0.0:8700"), "{all}");
    assert!(all.contains("every network this machine is on"), "{all}");
    assert!(all.contains("plain HTTP"), "{all}");
    assert!(all.contains("TLS reverse proxy"), "{all}");
    let lan = super::super::exposure_warning("192.168.1.20:8700".parse().unwrap()).unwrap();
    assert!(lan.contains("reachable from the network"), "{lan}");
}
