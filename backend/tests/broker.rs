//! The Redis broker's nickname rules, called directly on two brokers linked
//! by a real redis-server (no hub, no sockets): what the claim and
//! reservation scripts decide, with no race left to luck. An account's
//! nickname is reserved in Redis while it is registered, so a guest on
//! another node is refused it even before that node hears of the account;
//! a reservation is refused while a session holds the nickname; an account
//! signing in is not refused its own.
//! Needs redis-server installed (scripts/setup.sh).

#[path = "common/redis.rs"]
mod redis;

use std::sync::{Arc, Weak};
use std::time::Duration;

use parley::broker::{Broker, BrokerEventHandler, LinkError, NickClaim, SessionRecord};
use parley::cluster::RedisBroker;
use parley::config::ClusterFlags;
use parley_protocol::{look_alike_keys, RoomEvent};
use tokio_util::sync::CancellationToken;

/// A node that hears nothing: these tests only ask the broker.
struct Deaf;

impl BrokerEventHandler for Deaf {
    fn handle_event(&self, _event: RoomEvent) {}
    fn handle_typing(&self, _room: &str, _nick: &str) {}
    fn handle_resync(&self) {}
    fn handle_stale(&self, _rooms: Vec<String>) {}
    fn handle_moved(&self, _token: &str, _node: &str) {}
    fn handle_presence(&self, _room: &str, _node: &str, _changes: Vec<(String, bool)>) {}
    fn handle_node_gone(&self, _node: &str) {}
    fn handle_reserved(&self, _nick: &str, _registered: bool) {}
}

/// Two started brokers on one Redis, stopped when dropped.
struct Nodes {
    a: RedisBroker,
    b: RedisBroker,
    stop: CancellationToken,
    _deaf: Arc<dyn BrokerEventHandler>,
    _redis: redis::Redis,
}

impl Nodes {
    async fn start() -> Nodes {
        let redis = redis::Redis::start();
        let stop = CancellationToken::new();
        let deaf: Arc<dyn BrokerEventHandler> = Arc::new(Deaf);
        let a = node(&redis.url(), &stop, &deaf).await;
        let b = node(&redis.url(), &stop, &deaf).await;
        Nodes {
            a,
            b,
            stop,
            _deaf: deaf,
            _redis: redis,
        }
    }
}

impl Drop for Nodes {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// A started broker on `url` (its beats make its claims count).
async fn node(
    url: &str,
    stop: &CancellationToken,
    deaf: &Arc<dyn BrokerEventHandler>,
) -> RedisBroker {
    let flags = ClusterFlags {
        redis_url: Some(url.to_owned()),
        cluster_heartbeat: Duration::from_millis(100),
        cluster_node_timeout: Duration::from_secs(5),
        cluster_publish_queue: 1024,
    };
    let broker = RedisBroker::connect(url, &flags, Duration::from_secs(30))
        .await
        .expect("redis answers");
    let handler: Weak<dyn BrokerEventHandler> = Arc::downgrade(deaf);
    broker.start(handler, stop.child_token());
    // Its first beat, which makes its claims count.
    tokio::time::sleep(Duration::from_millis(300)).await;
    broker
}

fn claim(nick: &str, token: &str, account: bool) -> NickClaim {
    NickClaim {
        keys: look_alike_keys(nick),
        token: token.to_owned(),
        record: SessionRecord {
            nick: nick.to_owned(),
            account,
            rooms: Vec::new(),
        },
        replaces: None,
        force: account,
    }
}

/// Claims `nick` for a guest on `node` until it is given, refused only as
/// `waiting` allows meanwhile (what frees it is queued), for 5 s at most.
async fn claim_soon(node: &RedisBroker, nick: &str, waiting: fn(&LinkError) -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match node
            .claim(claim(nick, &format!("r_soon_{nick}"), false))
            .await
        {
            Ok(None) => return,
            Err(e) if waiting(&e) && tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            other => panic!("{nick} is free, not {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reserved_nickname_is_refused_to_guests_everywhere_at_once() {
    let Nodes { a, b, .. } = &Nodes::start().await;

    a.reserve("alice", look_alike_keys("alice")).await.unwrap();
    for nick in ["alice", "Alice", "AIice"] {
        assert_eq!(
            b.claim(claim(nick, &format!("r_{nick}"), false)).await,
            Err(LinkError::Reserved {
                nick: "alice".to_owned()
            }),
            "{nick}"
        );
    }
    // The account itself signs in.
    assert_eq!(b.claim(claim("alice", "r_own", true)).await, Ok(None));
    // Another nickname is no business of the reservation.
    assert_eq!(b.claim(claim("bob", "r_bob", false)).await, Ok(None));

    // Not registered after all: guests may have it again.
    a.reserve("carol", look_alike_keys("carol")).await.unwrap();
    a.unreserve(look_alike_keys("carol"));
    // (The lifting is queued with the node's other commands.)
    claim_soon(b, "carol", |e| matches!(e, LinkError::Reserved { .. })).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nickname_a_session_holds_cannot_be_reserved() {
    let Nodes { a, b, .. } = &Nodes::start().await;

    assert_eq!(b.claim(claim("zed", "r_zed", false)).await, Ok(None));
    assert_eq!(
        a.reserve("zed", look_alike_keys("zed")).await,
        Err(LinkError::Held {
            nick: "zed".to_owned(),
            exact: true
        })
    );
    assert_eq!(b.claim(claim("lily", "r_lily", false)).await, Ok(None));
    assert_eq!(
        a.reserve("IiIy", look_alike_keys("IiIy")).await,
        Err(LinkError::Held {
            nick: "lily".to_owned(),
            exact: false
        })
    );
    // Refused, so nothing was reserved: a guest still gets "ZED" once zed
    // has gone.
    b.release("r_zed");
    claim_soon(b, "ZED", |e| matches!(e, LinkError::Held { .. })).await;
}
