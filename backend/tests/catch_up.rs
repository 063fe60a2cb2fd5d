//! A node's side of a cluster, with a fake broker: another node's events
//! (written straight into the shared store, then hinted late, twice or out
//! of order) reach this node's clients once each and in `seq` order, read
//! from the store where a hint is missing; this node's own events are
//! published; typing goes both ways; a link that is down refuses sends
//! with `busy`.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};

use parley::broker::{Broker, BrokerEventHandler, NickClaim, Pending, SessionRecord};
use parley::store::{Change, MemoryStore, MessageStore, NewEvent, Rules};
use parley_protocol::{ClientFrame, ErrorCode, RoomEvent, ServerFrame};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use common::{Client, TestServer};

/// A broker that records what the node publishes and lets the test play
/// the other nodes.
#[derive(Default)]
struct FakeBroker {
    down: AtomicBool,
    published: Mutex<Vec<RoomEvent>>,
    typed: Mutex<Vec<(String, String)>>,
    handler: Mutex<Option<Weak<dyn BrokerEventHandler>>>,
}

impl std::fmt::Debug for FakeBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FakeBroker")
    }
}

impl Broker for FakeBroker {
    fn start(
        &self,
        handler: Weak<dyn BrokerEventHandler>,
        _stop: CancellationToken,
    ) -> Vec<JoinHandle<()>> {
        *self.handler.lock().unwrap() = Some(handler);
        Vec::new()
    }

    fn publish(&self, event: &RoomEvent) {
        self.published.lock().unwrap().push(event.clone());
    }

    fn typing(&self, room: &str, nick: &str) {
        self.typed
            .lock()
            .unwrap()
            .push((room.to_owned(), nick.to_owned()));
    }

    fn is_up(&self) -> bool {
        !self.down.load(Ordering::Relaxed)
    }

    // One node: every nickname is free and no session is elsewhere.
    fn claim(&self, _claim: NickClaim) -> Pending<Option<String>> {
        Box::pin(async { Ok(None) })
    }

    fn session(&self, _token: &str) -> Pending<Option<SessionRecord>> {
        Box::pin(async { Ok(None) })
    }

    fn update(&self, _token: &str, _record: &SessionRecord) {}

    fn release(&self, _token: &str) {}

    fn moved(&self, _token: &str) {}

    fn presence(&self, _room: &str, _changes: Vec<(String, bool)>) {}

    fn members(&self, _room: &str) -> Pending<Vec<(String, String)>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    fn rooms(&self) -> Pending<Vec<(String, usize)>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    fn reserve(&self, _nick: &str, _keys: Vec<String>) -> Pending<()> {
        Box::pin(async { Ok(()) })
    }

    fn unreserve(&self, _keys: Vec<String>) {}

    fn reserved(&self, _nick: &str, _registered: bool) {}
}

impl FakeBroker {
    fn hub(&self) -> Arc<dyn BrokerEventHandler> {
        self.handler
            .lock()
            .unwrap()
            .as_ref()
            .and_then(Weak::upgrade)
            .expect("the node started its broker")
    }
}

/// "Another node" commits `texts` by `nick` in `room`, straight into the
/// shared store, and returns the events it would hint.
fn elsewhere(store: &MemoryStore, room: &str, nick: &str, texts: &[&str]) -> Vec<RoomEvent> {
    let batch: Vec<NewEvent> = texts
        .iter()
        .map(|text| NewEvent {
            room: room.into(),
            nick: nick.into(),
            cid: None,
            ts: 1,
            change: Change::Message {
                text: (*text).into(),
                reply_to: None,
                mentions: Vec::new(),
            },
        })
        .collect();
    let rules = Rules {
        edit_window_ms: 0,
        max_reactions: 10,
    };
    store
        .append_batch(&batch, &rules)
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect()
}

async fn node() -> (TestServer, Arc<MemoryStore>, Arc<FakeBroker>) {
    node_with(common::test_config()).await
}

async fn node_with(config: parley::Config) -> (TestServer, Arc<MemoryStore>, Arc<FakeBroker>) {
    let store = Arc::new(MemoryStore::new(1000));
    let broker = Arc::new(FakeBroker::default());
    let server = TestServer::start_linked(
        config,
        store.clone(),
        Arc::new(parley::time::now_ms),
        Some(broker.clone()),
    )
    .await;
    (server, store, broker)
}

/// A node that waits 30 s for a missing hint before it reads the gap
/// from the store: within a test, only what else asks it reads the store.
async fn patient_node() -> (TestServer, Arc<MemoryStore>, Arc<FakeBroker>) {
    let mut config = common::test_config();
    config.limits.cluster_gap_wait = std::time::Duration::from_secs(30);
    node_with(config).await
}

/// The texts of the next `n` messages `client` gets, with their seqs.
async fn next_messages(client: &mut Client, n: usize) -> Vec<(u64, String)> {
    let mut got = Vec::new();
    while got.len() < n {
        if let ServerFrame::Message(m) = client.recv().await {
            got.push((m.seq, m.text));
        }
    }
    got
}

#[tokio::test]
async fn another_node_s_events_arrive_once_each_in_order_whatever_the_hints_do() {
    let (server, store, broker) = node().await;
    let mut ann = server.hello("ann").await;
    ann.join("lobby").await;

    // The hint for 3 comes first (1 and 2 were lost): 1 and 2 are read
    // from the store, then 3, in order.
    let events = elsewhere(&store, "lobby", "zed", &["one", "two", "three"]);
    broker.hub().handle_event(events[2].clone());
    assert_eq!(
        next_messages(&mut ann, 3).await,
        vec![(1, "one".into()), (2, "two".into()), (3, "three".into())]
    );
    // Late and doubled hints change nothing.
    for event in &events {
        broker.hub().handle_event(event.clone());
    }
    // A hint that never comes is found by a resync.
    elsewhere(&store, "lobby", "zed", &["four"]);
    broker.hub().handle_resync();
    assert_eq!(next_messages(&mut ann, 1).await, vec![(4, "four".into())]);

    // Ann's own message is published, acknowledged after the others', and
    // not echoed to her.
    assert_eq!(ann.say("lobby", "mine", "c-1").await, 5);
    let published = broker.published.lock().unwrap().clone();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].seq(), 5);
    let rest = ann.until_pong().await;
    assert!(
        !rest.iter().any(|f| matches!(f, ServerFrame::Message(_))),
        "nothing twice: {rest:?}"
    );
}

#[tokio::test]
async fn an_own_event_that_overtakes_another_node_s_waits_for_it() {
    let (server, store, _broker) = node().await;
    let mut ann = server.hello("ann").await;
    ann.join("lobby").await;
    let mut bob = server.hello("bob").await;
    bob.join("lobby").await;
    // Another node committed 1 and its hint has not come: Ann's message
    // takes 2, and both Ann's ack and Bob's copy wait until 1 is read.
    elsewhere(&store, "lobby", "zed", &["first"]);
    assert_eq!(ann.say("lobby", "second", "c-2").await, 2);
    assert_eq!(
        next_messages(&mut bob, 2).await,
        vec![(1, "first".into()), (2, "second".into())]
    );
}

#[tokio::test]
async fn typing_goes_both_ways_and_a_link_that_is_down_refuses_sends() {
    let (server, _store, broker) = node().await;
    let mut ann = server.hello("ann").await;
    ann.join("lobby").await;

    ann.send(ClientFrame::Typing {
        room: "lobby".into(),
    })
    .await;
    broker.hub().handle_typing("lobby", "zed");
    ann.recv_until(
        |f| matches!(f, ServerFrame::Typing { nicks, .. } if nicks.iter().any(|n| n == "zed")),
    )
    .await;
    assert_eq!(
        *broker.typed.lock().unwrap(),
        vec![("lobby".to_owned(), "ann".to_owned())]
    );

    broker.down.store(true, Ordering::Relaxed);
    ann.send(ClientFrame::Send {
        room: "lobby".into(),
        text: "hello?".into(),
        cid: "c-1".into(),
        reply_to: None,
    })
    .await;
    let refused = ann
        .recv_until(|f| matches!(f, ServerFrame::Error { .. }))
        .await;
    assert_eq!(common::error_code(&refused), ErrorCode::Busy);
    assert!(broker.published.lock().unwrap().is_empty());

    broker.down.store(false, Ordering::Relaxed);
    assert_eq!(ann.say("lobby", "hello!", "c-2").await, 1);
}

#[tokio::test]
async fn a_gap_waits_for_its_hint_before_the_store_is_read() {
    let (server, store, broker) = patient_node().await;
    let mut ann = server.hello("ann").await;
    ann.join("lobby").await;
    let events = elsewhere(&store, "lobby", "zed", &["one", "two"]);
    // 2 before 1: it waits (the store is not read yet) ...
    broker.hub().handle_event(events[1].clone());
    let quiet = ann.until_pong().await;
    assert!(
        !quiet.iter().any(|f| matches!(f, ServerFrame::Message(_))),
        "{quiet:?}"
    );
    // ... and 1's hint lets both through, in order.
    broker.hub().handle_event(events[0].clone());
    assert_eq!(
        next_messages(&mut ann, 2).await,
        vec![(1, "one".into()), (2, "two".into())]
    );
}

#[tokio::test]
async fn an_own_event_read_back_before_its_delivery_is_not_echoed() {
    let (server, store, broker) = node().await;
    let mut ann = server.hello("ann").await;
    ann.join("lobby").await;
    let mut bob = server.hello("bob").await;
    bob.join("lobby").await;
    // An event by Ann (a member here) that reaches the room from the store
    // before this node's own delivery of it: Bob gets it, Ann does not.
    let events = elsewhere(&store, "lobby", "ann", &["mine"]);
    broker.hub().handle_event(events[0].clone());
    assert_eq!(next_messages(&mut bob, 1).await, vec![(1, "mine".into())]);
    let rest = ann.until_pong().await;
    assert!(
        !rest.iter().any(|f| matches!(f, ServerFrame::Message(_))),
        "{rest:?}"
    );
}

#[tokio::test]
async fn a_member_from_a_node_that_was_ahead_gets_nothing_twice() {
    // No gap is read before its wait: only the join can make the node read.
    let (server, store, broker) = patient_node().await;
    let mut ann = server.hello("ann").await;
    ann.join("lobby").await;
    // Another node committed 1 to 3 and Bob saw 1 and 2 there; this node
    // has heard of none of them when Bob's connection lands here.
    let events = elsewhere(&store, "lobby", "zed", &["one", "two", "three"]);
    let mut bob = server.hello("bob").await;
    bob.send(ClientFrame::Join {
        room: "lobby".into(),
        since: Some(2),
    })
    .await;
    match bob
        .recv_until(|f| matches!(f, ServerFrame::Joined { .. }))
        .await
    {
        ServerFrame::Joined {
            history, last_seq, ..
        } => {
            assert!(history.is_empty(), "{history:?}");
            assert_eq!(last_seq, 2, "what follows `since` comes live");
        }
        _ => unreachable!(),
    }
    // The join told the node it is behind: it reads the store at once.
    assert_eq!(
        next_messages(&mut ann, 3).await,
        vec![(1, "one".into()), (2, "two".into()), (3, "three".into())]
    );
    // Bob gets only what he lacks, and the late hints change nothing.
    assert_eq!(next_messages(&mut bob, 1).await, vec![(3, "three".into())]);
    for event in &events {
        broker.hub().handle_event(event.clone());
    }
    let rest = bob.until_pong().await;
    assert!(
        !rest.iter().any(|f| matches!(f, ServerFrame::Message(_))),
        "nothing twice: {rest:?}"
    );
}

#[tokio::test]
async fn members_elsewhere_are_counted_and_told_but_never_shadow_one_here() {
    let (server, _store, broker) = node().await;
    let mut ann = server.hello("ann").await;
    ann.join("lobby").await;
    let mut bob = server.hello("bob").await;
    bob.join("lobby").await;
    ann.told("lobby", "bob", true).await;

    // Zed joins on another node: told here, and counted.
    broker
        .hub()
        .handle_presence("lobby", "n-2", vec![("zed".into(), true)]);
    ann.told("lobby", "zed", true).await;
    // A stale hint naming Bob (he is here) changes nothing.
    broker
        .hub()
        .handle_presence("lobby", "n-2", vec![("bob".into(), true)]);
    broker
        .hub()
        .handle_presence("lobby", "n-2", vec![("bob".into(), false)]);
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let told = ann.until_pong().await;
    assert!(
        !told
            .iter()
            .any(|f| common::tells(f, "lobby", "bob", true)
                || common::tells(f, "lobby", "bob", false)),
        "{told:?}"
    );
    let (members, count) = ann.members("lobby").await;
    assert_eq!(members, ["ann", "bob", "zed"]);
    assert_eq!(count, 3);
    // Its node falls silent: Zed is gone.
    broker.hub().handle_node_gone("n-2");
    ann.told("lobby", "zed", false).await;
}
