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
    bob.send(ClientFrame::Members {
        room: "lobby".into(),
        prefix: None,
        after: None,
        limit: None,
    })
    .await;
    match bob
        .recv_until(|f| matches!(f, ServerFrame::Members { .. }))
        .await
    {
        ServerFrame::Members { members, count, .. } => {
            assert_eq!(members, ["ann", "bob"]);
            assert_eq!(count, 2);
        }
        _ => unreachable!(),
    }
}
