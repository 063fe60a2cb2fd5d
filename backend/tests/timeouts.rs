//! Timeouts in virtual time: `connection::serve` is driven through in-memory
//! channels (it is written against any `Sink` + `Stream`), and tokio's clock
//! is paused, so "20 seconds of silence" takes no real time.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::{Sink, Stream};
use parley::config::Limits;
use parley::hub::{Hub, Workers};
use parley::store::MemoryStore;
use parley_protocol::{ClientFrame, ServerFrame};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_util::sync::CancellationToken;

/// The server's end of an in-memory WebSocket.
struct ChannelSocket {
    incoming: mpsc::UnboundedReceiver<Message>,
    outgoing: mpsc::UnboundedSender<Message>,
}

impl Stream for ChannelSocket {
    type Item = Result<Message, WsError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.incoming.poll_recv(cx).map(|m| m.map(Ok))
    }
}

impl Sink<Message> for ChannelSocket {
    type Error = WsError;
    fn poll_ready(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        Poll::Ready(Ok(()))
    }
    fn start_send(self: Pin<&mut Self>, item: Message) -> Result<(), WsError> {
        self.outgoing
            .send(item)
            .map_err(|_| WsError::ConnectionClosed)
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        Poll::Ready(Ok(()))
    }
    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        Poll::Ready(Ok(()))
    }
}

/// The client's end.
struct Peer {
    to_server: mpsc::UnboundedSender<Message>,
    from_server: mpsc::UnboundedReceiver<Message>,
}

impl Peer {
    fn send(&self, frame: ClientFrame) {
        self.to_server.send(Message::text(frame.to_json())).unwrap();
    }

    async fn next(&mut self) -> Message {
        self.from_server
            .recv()
            .await
            .expect("server sent something")
    }

    async fn close_code(&mut self) -> CloseCode {
        loop {
            match self.next().await {
                Message::Close(Some(frame)) => return frame.code,
                Message::Close(None) => panic!("close without a code"),
                _ => continue,
            }
        }
    }
}

fn start(hub: &Arc<Hub>) -> (Peer, tokio::task::JoinHandle<()>) {
    let (to_server, incoming) = mpsc::unbounded_channel();
    let (outgoing, from_server) = mpsc::unbounded_channel();
    let socket = ChannelSocket { incoming, outgoing };
    let task = tokio::spawn(parley::connection::serve(
        socket,
        hub.clone(),
        CancellationToken::new(),
        parley::connection::Caller::default(),
    ));
    (
        Peer {
            to_server,
            from_server,
        },
        task,
    )
}

/// A started hub; its workers stop when the handle is dropped.
fn hub() -> (Arc<Hub>, Workers) {
    hub_with(Limits::default())
}

fn hub_with(limits: Limits) -> (Arc<Hub>, Workers) {
    let hub = Hub::new(
        limits,
        Arc::new(MemoryStore::new(10)),
        Arc::new(parley::accounts::Accounts::in_memory(
            parley::config::Config::default().accounts.rules(),
        )),
    );
    let workers = hub.start().unwrap();
    (hub, workers)
}

/// `nick` says hello and joins `room`.
fn member(hub: &Arc<Hub>, nick: &str, room: &str) -> (Peer, tokio::task::JoinHandle<()>) {
    let (peer, task) = start(hub);
    peer.send(ClientFrame::Hello {
        nick: nick.into(),
        resume: None,
        token: None,
    });
    peer.send(ClientFrame::Join {
        room: room.into(),
        since: None,
    });
    (peer, task)
}

#[tokio::test(start_paused = true)]
async fn a_connection_that_never_says_hello_is_closed_with_1008() {
    let (hub, _workers) = hub();
    let (mut peer, task) = start(&hub);
    let started = tokio::time::Instant::now();
    assert_eq!(peer.close_code().await, CloseCode::Policy);
    assert_eq!(started.elapsed(), Duration::from_secs(10));
    task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_silent_client_is_dropped_after_two_heartbeats_and_kept_for_resume() {
    let (hub, _workers) = hub();
    let (mut peer, task) = start(&hub);
    peer.send(ClientFrame::Hello {
        nick: "quiet".into(),
        resume: None,
        token: None,
    });
    assert!(matches!(peer.next().await, Message::Text(_)));
    let started = tokio::time::Instant::now();
    assert!(matches!(peer.next().await, Message::Ping(_)));
    assert_eq!(started.elapsed(), Duration::from_secs(20));
    assert_eq!(peer.close_code().await, CloseCode::Away);
    assert_eq!(started.elapsed(), Duration::from_secs(40));
    task.await.unwrap();
    assert_eq!(
        hub.is_connected("quiet"),
        Some(false),
        "detached, not ended"
    );
    tokio::time::sleep(Duration::from_secs(31)).await;
    assert_eq!(
        hub.is_connected("quiet"),
        None,
        "ended after the resume grace"
    );
}

#[tokio::test(start_paused = true)]
async fn a_client_that_answers_pings_stays_connected() {
    let (hub, _workers) = hub();
    let (mut peer, _task) = start(&hub);
    peer.send(ClientFrame::Hello {
        nick: "lively".into(),
        resume: None,
        token: None,
    });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
    let mut pings = 0;
    while tokio::time::Instant::now() < deadline {
        match peer.next().await {
            Message::Ping(payload) => {
                pings += 1;
                peer.to_server.send(Message::Pong(payload)).unwrap();
            }
            Message::Close(frame) => panic!("closed: {frame:?}"),
            _ => {}
        }
    }
    assert!(pings >= 14, "{pings} pings");
    assert_eq!(hub.is_connected("lively"), Some(true));
}

#[tokio::test(start_paused = true)]
async fn application_pings_also_count_as_life() {
    let (hub, _workers) = hub();
    let (mut peer, _task) = start(&hub);
    peer.send(ClientFrame::Hello {
        nick: "browser".into(),
        resume: None,
        token: None,
    });
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_secs(10)).await;
        peer.send(ClientFrame::Ping { id: Some(1) });
    }
    // Let the session handle the last ping.
    tokio::time::sleep(Duration::from_millis(1)).await;
    let mut pongs = 0;
    while let Ok(message) = peer.from_server.try_recv() {
        match message {
            Message::Text(text) => {
                if let Ok(ServerFrame::Pong { .. }) = serde_json::from_str(text.as_str()) {
                    pongs += 1;
                }
            }
            Message::Close(frame) => panic!("closed: {frame:?}"),
            _ => {}
        }
    }
    assert_eq!(pongs, 10);
    assert_eq!(hub.is_connected("browser"), Some(true));
}

/// The frames a peer has been sent so far, decoded (control frames skipped).
fn received(peer: &mut Peer) -> Vec<ServerFrame> {
    let mut frames = Vec::new();
    while let Ok(message) = peer.from_server.try_recv() {
        if let Message::Text(text) = message {
            frames.push(serde_json::from_str(text.as_str()).unwrap());
        }
    }
    frames
}

#[tokio::test(start_paused = true)]
async fn joins_are_told_once_per_presence_interval() {
    let (hub, _workers) = hub();
    let interval = hub.limits().presence_interval;
    let (mut watcher, _w) = start(&hub);
    watcher.send(ClientFrame::Hello {
        nick: "watcher".into(),
        resume: None,
        token: None,
    });
    watcher.send(ClientFrame::Join {
        room: "r".into(),
        since: None,
    });
    tokio::time::sleep(interval * 2).await;
    received(&mut watcher);
    // Three arrive within one interval, and one comes and goes.
    let mut others = Vec::new();
    for nick in ["a", "b", "c", "visitor"] {
        let (peer, task) = start(&hub);
        peer.send(ClientFrame::Hello {
            nick: nick.into(),
            resume: None,
            token: None,
        });
        peer.send(ClientFrame::Join {
            room: "r".into(),
            since: None,
        });
        others.push((peer, task));
    }
    tokio::time::sleep(Duration::from_millis(1)).await;
    others[3].0.send(ClientFrame::Leave { room: "r".into() });
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert_eq!(
        received(&mut watcher),
        vec![],
        "nothing before the interval ends"
    );
    tokio::time::sleep(interval).await;
    assert_eq!(
        received(&mut watcher),
        vec![ServerFrame::Presence {
            room: "r".into(),
            joined: vec!["a".into(), "b".into(), "c".into()],
            left: vec![],
            count: 4,
        }]
    );
    tokio::time::sleep(interval * 4).await;
    assert_eq!(received(&mut watcher), vec![], "and nothing more");
}

#[tokio::test(start_paused = true)]
async fn a_large_room_tells_its_count_once_per_large_room_interval() {
    let limits = Limits {
        large_room: 3,
        ..Limits::default()
    };
    let (interval, every) = (
        limits.presence_interval,
        limits.large_room_presence_interval,
    );
    assert!(every >= interval * 4, "the defaults keep them apart");
    let (hub, _workers) = hub_with(limits);
    let (mut watcher, _w) = member(&hub, "watcher", "r");
    let mut others = Vec::new();
    for nick in ["a", "b"] {
        others.push(member(&hub, nick, "r"));
    }
    tokio::time::sleep(interval * 2).await;
    let count = |frames: Vec<ServerFrame>| -> Vec<u64> {
        frames
            .into_iter()
            .filter_map(|f| match f {
                ServerFrame::Presence {
                    joined,
                    left,
                    count,
                    ..
                } => {
                    assert!(joined.is_empty() && left.is_empty(), "names nobody");
                    Some(count)
                }
                _ => None,
            })
            .collect()
    };
    received(&mut watcher);
    // The room is large now; four more arrive, one per presence interval.
    for nick in ["c", "d", "e", "f"] {
        others.push(member(&hub, nick, "r"));
        tokio::time::sleep(interval).await;
    }
    let early = count(received(&mut watcher));
    assert!(
        early.len() <= 1,
        "{early:?}: at most one count per {every:?}"
    );
    tokio::time::sleep(every).await;
    let told = [early, count(received(&mut watcher))].concat();
    assert_eq!(told.last(), Some(&7), "the last count is told: {told:?}");
    assert!(told.len() <= 2, "{told:?}");
    tokio::time::sleep(every * 3).await;
    assert_eq!(
        count(received(&mut watcher)),
        Vec::<u64>::new(),
        "and nothing more"
    );
}
