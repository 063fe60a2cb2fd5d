//! Parley behind nginx, run from the shipped deploy/nginx.conf
//! (common/nginx.rs): two server processes with `--trusted-proxy 127.0.0.1`
//! and nginx in front. A WebSocket through nginx says hello, joins and gets
//! its ack; successive connections go round robin to both nodes; the nodes
//! see each client's own address (X-Forwarded-For), so per-address limits
//! hold per client and not for everyone behind the proxy at once; and the
//! config's WebSocket read timeout outlasts the server's heartbeat (checked
//! on the config: waiting past it would take minutes). Also checks the
//! Redis harness (common/redis.rs) the cluster tests use. Needs nginx and
//! redis-server installed (scripts/setup.sh); fails, saying so, without them.

mod common;

#[path = "common/nginx.rs"]
mod nginx;

#[path = "common/redis.rs"]
mod redis_server;

use std::net::SocketAddr;

use tokio_tungstenite::tungstenite;
use tokio_tungstenite::MaybeTlsStream;

use common::{raw, Client, ServerProcess};
use nginx::Nginx;

/// A node as a cluster runs it: behind nginx at 127.0.0.1. One WebSocket
/// per client address, so that the test sees which address a node counts.
fn start_node() -> ServerProcess {
    let mut args = vec![
        "--static-dir",
        "/nonexistent",
        "--database-url",
        "memory",
        "--trusted-proxy",
        "127.0.0.1",
        "--max-connections-per-ip",
        "1",
    ];
    args.extend(common::UNLIMITED_FLAGS);
    ServerProcess::spawn(&args)
}

/// A WebSocket to nginx from the loopback address `from`, or the HTTP
/// status it was refused with.
async fn connect_from(nginx: &Nginx, from: &str) -> Result<Client, u16> {
    let stream = raw::connect_from(nginx.addr(), from).await;
    let handshake = tokio_tungstenite::client_async(nginx.ws_url(), MaybeTlsStream::Plain(stream));
    match tokio::time::timeout(common::WAIT, handshake)
        .await
        .expect("handshake in time")
    {
        Ok((ws, _)) => Ok(Client { ws, resume: None }),
        Err(tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
        Err(other) => panic!("handshake through nginx failed: {other}"),
    }
}

/// GET `path` on `addr`: the status and the body.
async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = raw::connect_from(addr, "127.0.0.1").await;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    let answer = raw::exchange(&mut stream, request.as_bytes()).await;
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (raw::status(&answer), body)
}

/// The rooms named `prefix…` that have members on the node at `addr`.
async fn rooms_with_members(addr: SocketAddr, prefix: &str) -> Vec<String> {
    let (status, body) = get(addr, "/api/rooms").await;
    assert_eq!(status, 200, "{body}");
    let rooms: Vec<serde_json::Value> = serde_json::from_str(&body).expect("a JSON room list");
    rooms
        .iter()
        .filter(|r| r["members"].as_u64().unwrap_or(0) > 0)
        .filter_map(|r| r["room"].as_str())
        .filter(|name| name.starts_with(prefix))
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_from_deploy_config_proxies_websockets_round_robin_with_client_addresses() {
    let a = start_node();
    let b = start_node();
    let nginx = Nginx::start(&[a.addr, b.addr]);

    // Plain HTTP through nginx reaches a node; /metrics is kept per node.
    assert_eq!(get(nginx.addr(), "/healthz").await.0, 200);
    assert_eq!(get(nginx.addr(), "/metrics").await.0, 404);

    // (a) A WebSocket through nginx: hello, join, send, ack.
    let mut alice = connect_from(&nginx, "127.0.0.1").await.expect("admitted");
    alice.hello("alice").await;
    alice.join("lobby").await;
    assert_eq!(alice.say("lobby", "hello through nginx", "c1").await, 1);

    // (b) Successive connections, each from its own address, are spread
    // round robin: each node holds half of them.
    let mut spread = Vec::new();
    for i in 0..6 {
        let mut client = connect_from(&nginx, &format!("127.0.0.{}", 10 + i))
            .await
            .expect("admitted");
        client.hello(&format!("spread{i}")).await;
        client.join(&format!("spread-{i}")).await;
        spread.push(client);
    }
    let on_a = rooms_with_members(a.addr, "spread-").await;
    let on_b = rooms_with_members(b.addr, "spread-").await;
    assert_eq!(on_a.len() + on_b.len(), 6, "{on_a:?} {on_b:?}");
    assert!(
        on_a.len().abs_diff(on_b.len()) <= 1,
        "not round robin: {on_a:?} on one node, {on_b:?} on the other"
    );

    // (d) The nodes count each client's own address, from X-Forwarded-For
    // (with --max-connections-per-ip 1): one address gets one connection on
    // each node (round robin puts the second on the other node), and the
    // third, back on the first node, is refused for that address alone.
    let first = connect_from(&nginx, "127.0.0.20").await.expect("admitted");
    let second = connect_from(&nginx, "127.0.0.20").await.expect("admitted");
    assert_eq!(connect_from(&nginx, "127.0.0.20").await.err(), Some(429));
    let other = connect_from(&nginx, "127.0.0.21").await;
    assert!(other.is_ok(), "another address is not limited with it");
    drop((first, second, other));

    // The WebSocket still works after all that.
    assert_eq!(alice.say("lobby", "still here", "c2").await, 2);

    // (c) nginx must not be what closes a live WebSocket: its read timeout
    // on /ws outlasts the server's pings (one per --heartbeat) with room for
    // a missed one, and frames are passed on unbuffered.
    let config = nginx.config();
    let heartbeat = parley::config::Config::default().limits.heartbeat;
    let read_timeout = nginx::nginx_duration(
        nginx::location_directive(config, "/ws", "proxy_read_timeout")
            .expect("proxy_read_timeout in location /ws"),
    );
    assert!(
        read_timeout > 2 * heartbeat,
        "proxy_read_timeout {read_timeout:?} is not above two heartbeats ({heartbeat:?})"
    );
    assert_eq!(
        nginx::location_directive(config, "/ws", "proxy_buffering"),
        Some("off")
    );
    for sticky in ["ip_hash", "hash ", "sticky"] {
        assert!(
            !config
                .lines()
                .any(|l| l.split('#').next().unwrap().trim().starts_with(sticky)),
            "{sticky} in the config: the nodes are meant to be round robin"
        );
    }
}

/// The Redis harness the cluster tests stand on (common/redis.rs): it
/// answers PING, is gone after a kill, and comes back on the same port, as
/// the nodes' `--redis-url` expects of a restarted Redis.
#[test]
fn redis_harness_kills_and_restarts_on_the_same_port() {
    let mut redis = redis_server::Redis::start();
    let url = redis.url();
    assert_eq!(url, format!("redis://127.0.0.1:{}", redis.port()));
    assert!(redis.answers());
    redis.kill();
    assert!(!redis.answers(), "still answering after SIGKILL");
    redis.restart();
    assert!(redis.answers());
    assert_eq!(redis.url(), url, "restarted on another port");
    let addr = redis.addr();
    drop(redis);
    assert!(!redis_server::ping(addr), "still answering after drop");
}
