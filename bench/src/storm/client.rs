//! One client of a join storm: a task holding one WebSocket, doing what
//! the controller's [`Stage`] says. It connects (a permit of the shared
//! connect limit held from its connect to its `joined`), says `hello` and
//! joins its room; then it reads until told to drop its connection (an
//! abrupt drop: no close frame, so the server keeps the session for a
//! resume), to expect the server's restart, or to quit. Coming back, it
//! says `hello` with its resume token and `join` with the last `seq` it
//! saw, as the browser app does. Any failure on the way (a refused or
//! reset connection, an HTTP refusal, a close, an `error` frame) is
//! counted as a trouble and the client tries again, a few times, slower.
//!
//! It reads frames of protocol 2.0 and of 1.x (the "before" server) alike:
//! it only looks at `welcome`, `joined`, `error` and `message`, reads the
//! few fields it needs, and skips everything else unparsed (`presence`
//! frames come by the million from a 1.x server in a big room).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use parley_protocol::ClientFrame;
use serde::Deserialize;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::WebSocketStream;

use super::counts::{Counts, Phase};

pub(super) type Socket = WebSocketStream<TcpStream>;

/// Attempts at one storm's join before a client gives up.
const ATTEMPTS: u32 = 5;

/// What every client of a run shares.
#[derive(Debug)]
pub struct Plan {
    /// The server.
    pub server: SocketAddr,
    /// Its WebSocket URL.
    pub url: String,
    /// Rooms the clients are spread over (client i joins room i % rooms).
    pub rooms: usize,
    /// Loopback addresses the clients come from (127.0.0.2, …).
    pub sources: usize,
    /// How long a client waits for its `joined`.
    pub join_timeout: Duration,
    /// Unique to this run, so an earlier run's sessions (still held for
    /// their resume grace) do not clash: client i is `<tag>-<i>`.
    pub tag: String,
}

impl Plan {
    /// Room `r`'s name.
    pub fn room(r: usize) -> String {
        format!("storm-{r}")
    }

    /// Client `i`'s source address.
    pub fn source(&self, i: usize) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(
            127,
            0,
            0,
            2 + (i % self.sources.max(1)) as u8,
        ))
    }
}

/// What the controller wants the clients to do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Nothing yet.
    Wait,
    /// Join (again): the storm of this phase.
    Join(Phase),
    /// Drop the connection at once, without a close frame.
    Drop,
    /// The server is about to restart: its close is expected.
    Restart,
    /// The run is over.
    Quit,
}

/// The fields of the server frames a client reads (others are ignored).
#[derive(Debug, Default, Deserialize)]
pub(super) struct Fields {
    /// `welcome`: the resume token.
    pub resume: Option<String>,
    /// `welcome`: whether a session was taken back.
    pub resumed: Option<bool>,
    /// `joined`: the room's newest `seq`.
    pub last_seq: Option<u64>,
    /// `error`: what went wrong.
    pub code: Option<String>,
    /// `ack`: the client's id for the message.
    pub cid: Option<String>,
}

/// The frame's type, from its start (the server writes `type` first).
pub(super) fn frame_type(text: &str) -> &str {
    text.strip_prefix("{\"type\":\"")
        .and_then(|rest| rest.split('"').next())
        .unwrap_or("")
}

/// The number after `"<key>":` in `text`.
fn number_after(text: &str, key: &str) -> Option<u64> {
    let start = text.find(key)? + key.len();
    let digits = text[start..].bytes().take_while(u8::is_ascii_digit).count();
    text[start..start + digits].parse().ok()
}

/// The index of a fan-out message (`"text":"F<k>:…"`) and its `seq`.
pub(super) fn fanout_stamp(text: &str) -> (Option<usize>, Option<u64>) {
    let k = number_after(text, "\"text\":\"F").map(|k| k as usize);
    (k, number_after(text, "\"seq\":"))
}

/// A trouble's name for a WebSocket error.
fn kind_of(error: &tungstenite::Error) -> String {
    use tungstenite::Error;
    match error {
        Error::Http(response) => format!("HTTP {}", response.status().as_u16()),
        Error::Io(e) if e.kind() == std::io::ErrorKind::ConnectionReset => "reset".into(),
        Error::Io(e) => format!("socket: {:?}", e.kind()),
        Error::ConnectionClosed | Error::AlreadyClosed => "closed".into(),
        Error::Protocol(p) => format!("protocol: {p}"),
        other => format!("websocket: {other}"),
    }
}

/// A client's identity and what it remembers between connections.
pub struct Client {
    index: usize,
    nick: String,
    token: Option<String>,
    last_seq: Option<u64>,
}

impl Client {
    /// Client `index` of `plan`.
    pub fn new(index: usize, plan: &Plan) -> Self {
        Client {
            index,
            nick: format!("{}-{index}", plan.tag),
            token: None,
            last_seq: None,
        }
    }

    /// Follows the stages until `Quit`.
    pub async fn run(
        mut self,
        plan: Arc<Plan>,
        counts: Arc<Counts>,
        limit: Arc<Semaphore>,
        mut stage: watch::Receiver<Stage>,
    ) {
        let mut done = Vec::new();
        loop {
            let phase = loop {
                match *stage.borrow_and_update() {
                    Stage::Join(phase) if !done.contains(&phase) => break phase,
                    Stage::Quit => return,
                    _ => {}
                }
                if stage.changed().await.is_err() {
                    return;
                }
            };
            done.push(phase);
            if let Some(ws) = self.join(phase, &plan, &counts, &limit).await {
                self.listen(ws, &counts, &mut stage).await;
            } else {
                counts.storm(phase).gave_up.fetch_add(1, Ordering::AcqRel);
            }
        }
    }

    /// Connects and joins, trying again after a failure; `None` once every
    /// attempt failed.
    async fn join(
        &mut self,
        phase: Phase,
        plan: &Plan,
        counts: &Counts,
        limit: &Semaphore,
    ) -> Option<Socket> {
        for attempt in 1..=ATTEMPTS {
            let permit = limit.acquire().await.ok()?;
            let started = counts.now_ns();
            match tokio::time::timeout(plan.join_timeout, self.connect(plan, counts)).await {
                Ok(Ok((ws, resumed))) => {
                    counts.joined(phase, counts.now_ns() - started, resumed);
                    return Some(ws);
                }
                Ok(Err(kind)) => {
                    if kind == "error nick_taken" {
                        // An earlier attempt's session holds the name, and
                        // its token never arrived: come back as another.
                        self.nick = format!("{}-{attempt}", self.nick);
                    }
                    counts.trouble(kind);
                }
                Err(_) => counts.trouble(format!("no joined within {:?}", plan.join_timeout)),
            }
            drop(permit);
            tokio::time::sleep(Duration::from_millis(200) * attempt).await;
        }
        None
    }

    /// One attempt: connect, `hello` (with the token, if any) and `join`
    /// (since the last `seq` seen, if any); the socket and whether the
    /// session was resumed, or what went wrong.
    async fn connect(&mut self, plan: &Plan, counts: &Counts) -> Result<(Socket, bool), String> {
        let socket = TcpSocket::new_v4().map_err(|e| format!("socket: {:?}", e.kind()))?;
        socket
            .bind(SocketAddr::new(plan.source(self.index), 0))
            .map_err(|e| format!("bind: {:?}", e.kind()))?;
        let stream = socket
            .connect(plan.server)
            .await
            .map_err(|e| format!("connect: {:?}", e.kind()))?;
        stream
            .set_nodelay(true)
            .map_err(|e| format!("socket: {:?}", e.kind()))?;
        let (mut ws, _) = tokio_tungstenite::client_async(plan.url.as_str(), stream)
            .await
            .map_err(|e| kind_of(&e))?;
        let hello = ClientFrame::Hello {
            nick: self.nick.clone(),
            resume: self.token.clone(),
            token: None,
        };
        let join = ClientFrame::Join {
            room: Plan::room(self.index % plan.rooms),
            since: self.last_seq,
        };
        ws.feed(Message::text(hello.to_json()))
            .await
            .map_err(|e| kind_of(&e))?;
        ws.send(Message::text(join.to_json()))
            .await
            .map_err(|e| kind_of(&e))?;
        let mut resumed = false;
        loop {
            let text = match ws.next().await {
                Some(Ok(Message::Text(text))) => text,
                Some(Ok(Message::Close(frame))) => return Err(close_kind(frame)),
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(kind_of(&e)),
                None => return Err("ended".into()),
            };
            counts.frame();
            let text = text.as_str();
            match frame_type(text) {
                "welcome" | "joined" | "error" => {}
                _ => continue,
            }
            let fields: Fields = serde_json::from_str(text).unwrap_or_default();
            match frame_type(text) {
                "welcome" => {
                    self.token = fields.resume.or(self.token.take());
                    resumed = fields.resumed.unwrap_or(false);
                }
                "joined" => {
                    self.last_seq = fields.last_seq.max(self.last_seq);
                    return Ok((ws, resumed));
                }
                _ => return Err(format!("error {}", fields.code.unwrap_or_default())),
            }
        }
    }

    /// Reads until the stage says to stop, counting fan-out messages and
    /// troubles. An unexpected end of the connection is a trouble and ends
    /// the reading; the client waits for the next storm.
    async fn listen(
        &mut self,
        mut ws: Socket,
        counts: &Counts,
        stage: &mut watch::Receiver<Stage>,
    ) {
        let mut restarting = false;
        loop {
            tokio::select! {
                frame = ws.next() => {
                    let ended = match frame {
                        Some(Ok(Message::Text(text))) => {
                            counts.frame();
                            self.on_text(text.as_str(), counts);
                            None
                        }
                        Some(Ok(Message::Close(frame))) => Some(close_kind(frame)),
                        Some(Ok(_)) => None,
                        Some(Err(e)) => Some(kind_of(&e)),
                        None => Some("ended".to_owned()),
                    };
                    if let Some(kind) = ended {
                        // The restart's close may come before this task
                        // has seen the stage that announced it.
                        if !restarting && *stage.borrow() != Stage::Restart {
                            counts.trouble(kind);
                        }
                        return;
                    }
                }
                changed = stage.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    match *stage.borrow() {
                        Stage::Restart => restarting = true,
                        // Drop (and anything else): the socket goes now,
                        // without a close frame.
                        _ => return,
                    }
                }
            }
        }
    }

    fn on_text(&mut self, text: &str, counts: &Counts) {
        match frame_type(text) {
            "message" => {
                let (k, seq) = fanout_stamp(text);
                if let Some(k) = k {
                    counts.delivered(k);
                }
                self.last_seq = seq.max(self.last_seq);
            }
            "error" => {
                let fields: Fields = serde_json::from_str(text).unwrap_or_default();
                counts.trouble(format!("error {}", fields.code.unwrap_or_default()));
            }
            _ => {}
        }
    }
}

/// A trouble's name for a close frame.
fn close_kind(frame: Option<tungstenite::protocol::CloseFrame>) -> String {
    match frame {
        Some(f) => format!("close {}", u16::from(f.code)),
        None => "close (no code)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_read_by_their_start_and_a_few_fields() {
        let message = r#"{"type":"message","room":"storm-0","seq":17,"nick":"s-1","text":"F3:xx","ts":1,"cid":"3"}"#;
        assert_eq!(frame_type(message), "message");
        assert_eq!(fanout_stamp(message), (Some(3), Some(17)));
        let other = r#"{"type":"message","room":"r","seq":2,"nick":"a","text":"hello","ts":1}"#;
        assert_eq!(fanout_stamp(other), (None, Some(2)));
        assert_eq!(frame_type("[1,2]"), "");
        // 1.x's `joined` lacks member_count; its presence has nick/event.
        let joined: Fields = serde_json::from_str(
            r#"{"type":"joined","room":"r","members":["a"],"history":[],"more":false,"last_seq":9}"#,
        )
        .unwrap();
        assert_eq!(joined.last_seq, Some(9));
        let error: Fields =
            serde_json::from_str(r#"{"type":"error","code":"nick_taken","message":"x"}"#).unwrap();
        assert_eq!(error.code.as_deref(), Some("nick_taken"));
    }
}
