//! Who is in a room, across nodes: a room's members and count cover every
//! node; joins and leaves on one node are told on the others; a session
//! that resumes on another node never seems to leave; a node that dies
//! takes its members with it within the node timeout. Real nodes on a real
//! PostgreSQL and redis-server (scripts/setup.sh installs them).

mod common;

#[path = "common/postgres.rs"]
mod pg;
#[path = "common/redis.rs"]
mod redis;

use std::time::Duration;

use parley_protocol::{ClientFrame, ServerFrame};

use common::cluster::node;
use common::Client;

/// Says hello as `nick` (resuming `resume` if given) on `url`.
async fn hello(url: &str, nick: &str, resume: Option<String>) -> Client {
    let mut client = Client::connect(url).await;
    client.resume = resume;
    client.hello(nick).await;
    client
}

/// The members and count of `joined`.
fn members_of(joined: &ServerFrame) -> (Vec<String>, u64) {
    match joined {
        ServerFrame::Joined {
            members,
            member_count,
            ..
        } => (members.clone(), *member_count),
        other => panic!("expected joined, got {other:?}"),
    }
}

/// Every `presence` `client` gets within `wait` (then a ping round trip):
/// (joined, left), flattened.
async fn presence_within(client: &mut Client, wait: Duration) -> (Vec<String>, Vec<String>) {
    tokio::time::sleep(wait).await;
    let (mut joined, mut left) = (Vec::new(), Vec::new());
    for frame in client.until_pong().await {
        if let ServerFrame::Presence {
            joined: j, left: l, ..
        } = frame
        {
            joined.extend(j);
            left.extend(l);
        }
    }
    (joined, left)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_are_counted_and_told_across_nodes_and_a_moving_session_never_leaves() {
    let pg = pg::Postgres::start();
    let db = pg.create_db("parley");
    let redis = redis::Redis::start();
    let (mut a, b) = (node(&db, &redis.url()), node(&db, &redis.url()));

    let mut ann = hello(&a.url(), "ann", None).await;
    ann.join("lobby").await;
    let mut carl = hello(&a.url(), "carl", None).await;
    carl.join("lobby").await;
    // Bob, on the other node, finds them there once A has told (it does
    // each presence interval, 250 ms).
    tokio::time::sleep(Duration::from_millis(600)).await;
    let mut bob = hello(&b.url(), "bob", None).await;
    let (members, count) = members_of(&bob.join("lobby").await);
    assert_eq!(members, ["ann", "bob", "carl"]);
    assert_eq!(count, 3);
    // And they hear of him.
    ann.told("lobby", "bob", true).await;
    carl.told("lobby", "bob", true).await;
    presence_within(&mut bob, Duration::from_millis(300)).await;

    // Ann's connection drops; she resumes on B and joins again from where
    // she was. Nobody anywhere sees her leave or come back.
    let token = ann.resume.clone();
    ann.vanish();
    let mut ann = hello(&b.url(), "ann", token).await;
    ann.send(ClientFrame::Join {
        room: "lobby".into(),
        since: Some(0),
    })
    .await;
    let (members, count) = members_of(
        &ann.recv_until(|f| matches!(f, ServerFrame::Joined { .. }))
            .await,
    );
    assert_eq!((members.len(), count), (3, 3), "{members:?}");
    for (who, client) in [("bob", &mut bob), ("carl", &mut carl)] {
        let (joined, left) = presence_within(client, Duration::from_millis(800)).await;
        assert!(
            !joined.contains(&"ann".to_owned()) && !left.contains(&"ann".to_owned()),
            "{who} saw ann move: joined {joined:?}, left {left:?}"
        );
    }

    // Carl leaves on A: told on B.
    carl.send(ClientFrame::Leave {
        room: "lobby".into(),
    })
    .await;
    bob.told("lobby", "carl", false).await;

    // Dora joins on A, then A dies: she is gone from B within the node
    // timeout, and the count says so.
    let mut dora = hello(&a.url(), "dora", None).await;
    dora.join("lobby").await;
    bob.told("lobby", "dora", true).await;
    a.kill_9();
    bob.told("lobby", "dora", false).await;
    let (members, count) = bob.members("lobby").await;
    assert_eq!(members, ["ann", "bob"]);
    assert_eq!(count, 2);
}

/// `GET /api/rooms` of `addr`: (room, members) in order.
async fn room_list(addr: std::net::SocketAddr) -> Vec<(String, u64)> {
    let answer = common::raw::http(addr, "GET", "/api/rooms", &[], "").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let rooms: Vec<serde_json::Value> = serde_json::from_str(&answer.body).unwrap();
    rooms
        .iter()
        .map(|r| {
            (
                r["room"].as_str().unwrap().to_owned(),
                r["members"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_room_list_covers_every_node() {
    let pg = pg::Postgres::start();
    let db = pg.create_db("parley");
    let redis = redis::Redis::start();
    let (a, b) = (node(&db, &redis.url()), node(&db, &redis.url()));

    // A room whose only member is on A is listed by B, and the reverse;
    // a room with members on both counts them all, once.
    let mut ann = hello(&a.url(), "ann", None).await;
    ann.join("attic").await;
    ann.join("hall").await;
    let mut bob = hello(&b.url(), "bob", None).await;
    bob.join("hall").await;
    bob.join("cellar").await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let expected = vec![
        ("hall".to_owned(), 2),
        ("attic".to_owned(), 1),
        ("cellar".to_owned(), 1),
    ];
    assert_eq!(room_list(a.addr).await, expected);
    assert_eq!(room_list(b.addr).await, expected);
}
