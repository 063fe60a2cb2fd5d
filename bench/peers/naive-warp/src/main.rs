//! The "naive Rust" baseline for Parley's benchmarks: a relay written the way
//! warp's own chat example is, one unbounded channel per client, a
//! `RwLock<HashMap>` of senders, and one `send` (with its own copy of the
//! frame) per recipient. It speaks the hello/join/send subset of Parley's
//! protocol so the same load generator drives it.
//!
//!   naive-warp-relay PORT   (listens on 127.0.0.1 only)

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use futures_util::{SinkExt, StreamExt, TryFutureExt};
use parley_protocol::{ClientFrame, Limits, ServerFrame};
use tokio::sync::{mpsc, RwLock};
use tokio_stream::wrappers::UnboundedReceiverStream;
use warp::ws::{Message, WebSocket};
use warp::Filter;

static NEXT_ID: AtomicUsize = AtomicUsize::new(1);

/// Every client's sender and rooms, plus each room's counter.
#[derive(Default)]
struct State {
    clients: HashMap<usize, (mpsc::UnboundedSender<Message>, HashSet<String>)>,
    seqs: HashMap<String, u64>,
}

type Shared = Arc<RwLock<State>>;

#[tokio::main]
async fn main() {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(8091);
    let state = Shared::default();
    let state = warp::any().map(move || state.clone());
    let chat = warp::path("ws")
        .and(warp::ws())
        .and(state)
        .map(|ws: warp::ws::Ws, state| ws.on_upgrade(move |socket| connected(socket, state)));
    println!("naive warp relay listening on ws://127.0.0.1:{port}/ws");
    warp::serve(chat).run(([127, 0, 0, 1], port)).await;
}

async fn connected(ws: WebSocket, state: Shared) {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let (mut ws_tx, mut ws_rx) = ws.split();
    let (tx, rx) = mpsc::unbounded_channel();
    let mut rx = UnboundedReceiverStream::new(rx);
    tokio::spawn(async move {
        while let Some(message) = rx.next().await {
            ws_tx.send(message).unwrap_or_else(|_| ()).await;
        }
    });
    state
        .write()
        .await
        .clients
        .insert(id, (tx.clone(), HashSet::new()));
    let mut nick = String::new();
    while let Some(Ok(message)) = ws_rx.next().await {
        let Ok(text) = message.to_str() else { continue };
        let Ok(frame) = parley_protocol::parse_client_frame(text) else {
            continue;
        };
        let reply = match frame {
            ClientFrame::Hello { nick: n, .. } => {
                nick = n;
                ServerFrame::Welcome {
                    nick: nick.clone(),
                    session: format!("s_{id}"),
                    resume: String::new(),
                    resumed: false,
                    rooms: vec![],
                    limits: Limits {
                        max_text_chars: 2000,
                        max_frame_bytes: 16384,
                        rate_burst: 0,
                        rate_per_sec: 0,
                        typing_ttl_ms: 6000,
                        resume_grace_ms: 0,
                        edit_window_ms: 0,
                        max_reactions: 0,
                    },
                    account: false,
                    dms: Vec::new(),
                    admin: false,
                }
            }
            ClientFrame::Join { room, .. } => {
                let mut state = state.write().await;
                if let Some((_, rooms)) = state.clients.get_mut(&id) {
                    rooms.insert(room.clone());
                }
                let last_seq = state.seqs.get(&room).copied().unwrap_or(0);
                ServerFrame::Joined {
                    room,
                    members: vec![],
                    member_count: 0,
                    members_more: false,
                    history: vec![],
                    more: false,
                    last_seq,
                    settings: Default::default(),
                }
            }
            ClientFrame::Send {
                room, text, cid, ..
            } => {
                let seq = {
                    let mut state = state.write().await;
                    let seq = state.seqs.entry(room.clone()).or_insert(0);
                    *seq += 1;
                    *seq
                };
                let ts = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as u64);
                let out = ServerFrame::Message(parley_protocol::ChatMessage {
                    room: room.clone(),
                    seq,
                    nick: nick.clone(),
                    text,
                    ts,
                    cid: Some(cid.clone()),
                    ..Default::default()
                })
                .to_json();
                for (other, (tx, rooms)) in state.read().await.clients.iter() {
                    if *other != id && rooms.contains(&room) {
                        let _ = tx.send(Message::text(out.clone()));
                    }
                }
                ServerFrame::Ack { cid, room, seq, ts }
            }
            ClientFrame::Ping { id } => ServerFrame::Pong { id },
            _ => continue,
        };
        let _ = tx.send(Message::text(reply.to_json()));
    }
    state.write().await.clients.remove(&id);
}
