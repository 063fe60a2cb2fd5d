//! The soak's good clients: people chatting at a human pace, inside every
//! default limit, among the hostile ones. Each says `hello`, joins one
//! room, says something every few seconds (a `typing` first, as the browser
//! app does), pings every 10 s like the app, and checks what arrives: each
//! message a room-mate sent and the server acknowledged must arrive exactly
//! once. A message carries its sender, number and due time
//! (`G<sender>:<n>:<due ns>:…`) on an open-loop schedule, as in
//! [`crate::load`], so latency counts from when it was due and a server
//! that falls behind cannot hide it by slowing the senders down. A client
//! the server cuts off is counted, then comes back as the app does: `hello`
//! with its resume token and `join {since}`.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use futures_util::{SinkExt, StreamExt};
use parley_protocol::{ChatMessage, ClientFrame, RoomEvent, ServerFrame};
use serde::{Deserialize, Serialize};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::{sleep, timeout, Instant};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::timeline::{Clock, Timeline};

type Socket = WebSocketStream<TcpStream>;

/// Who the good clients are and how they talk.
#[derive(Debug, Clone)]
pub struct GoodPlan {
    /// The server.
    pub server: SocketAddr,
    /// Its WebSocket URL.
    pub url: String,
    /// How many.
    pub clients: usize,
    /// Rooms they are spread over (client i is in room i % rooms).
    pub rooms: usize,
    /// Loopback addresses they come from (127.0.0.2, …).
    pub sources: usize,
    /// How often each says something.
    pub every: Duration,
    /// Message text length in bytes.
    pub size: usize,
}

impl GoodPlan {
    /// The name of room `r`.
    pub fn room_name(r: usize) -> String {
        format!("soak-{r}")
    }

    /// Client `i`'s nickname (unique per run: sessions of an earlier run
    /// may still be held for their resume grace).
    fn nick(i: usize) -> String {
        format!("g{}-{i}", std::process::id())
    }

    fn source(&self, i: usize) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(
            127,
            0,
            0,
            2 + (i % self.sources.max(1)) as u8,
        ))
    }
}

/// What the good clients saw of the hostile ones.
#[derive(Debug, Default, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct Noise {
    /// Messages from others than good clients.
    pub messages: u64,
    /// Presence events of others.
    pub presence: u64,
    /// Typing notices of others.
    pub typing: u64,
}

/// What one good client did and saw.
#[derive(Debug, Default, Clone)]
pub struct GoodResult {
    /// The client.
    pub index: usize,
    /// Its room.
    pub room: usize,
    /// Messages sent.
    pub sent: u64,
    /// Whether message n was acknowledged.
    pub acked: Vec<bool>,
    /// Arrivals of each room-mate's messages: sender → count by number.
    pub received: HashMap<usize, Vec<u32>>,
    /// Frames from others than good clients.
    pub noise: Noise,
    /// `error` frames, by code.
    pub errors: BTreeMap<String, u64>,
    /// How the server cut this client off, and how often.
    pub cut: BTreeMap<String, u64>,
}

/// One good client's connection and state.
pub struct Good {
    plan: Arc<GoodPlan>,
    ws: Socket,
    resume: String,
    last_seq: u64,
    result: GoodResult,
}

/// Text of message `n` of `sender`, due at `due` ns, `size` bytes long.
fn stamp(sender: usize, n: u64, due: u64, size: usize) -> String {
    let head = format!("G{sender}:{n}:{due}:");
    let pad = size.saturating_sub(head.len());
    head + &"hey, how is it going? ".repeat(pad / 22 + 1)[..pad]
}

/// Sender, number and due time out of a good message's text.
fn parse_stamp(text: &str) -> Option<(usize, usize, u64)> {
    let mut parts = text.strip_prefix('G')?.splitn(4, ':');
    let sender = parts.next()?.parse().ok()?;
    let n = parts.next()?.parse().ok()?;
    let due = parts.next()?.parse().ok()?;
    Some((sender, n, due))
}

/// Connects client `i`: `hello` (resuming with `resume`) and `join` (since
/// `since`); returns the socket, its resume token and the `joined` page.
async fn connect(
    plan: &GoodPlan,
    i: usize,
    resume: Option<String>,
    since: Option<u64>,
) -> anyhow::Result<(Socket, String, Vec<ChatMessage>, u64)> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(plan.source(i), 0))?;
    let stream = socket.connect(plan.server).await.context("connect")?;
    stream.set_nodelay(true)?;
    let (mut ws, _) = tokio_tungstenite::client_async(plan.url.as_str(), stream)
        .await
        .context("websocket handshake")?;
    let nick = GoodPlan::nick(i);
    ws.send(Message::text(
        ClientFrame::Hello {
            nick,
            resume,
            token: None,
        }
        .to_json(),
    ))
    .await?;
    let room = GoodPlan::room_name(i % plan.rooms);
    ws.send(Message::text(ClientFrame::Join { room, since }.to_json()))
        .await?;
    let mut token = String::new();
    let answer = async {
        while let Some(message) = ws.next().await {
            let Message::Text(text) = message? else {
                continue;
            };
            match serde_json::from_str::<ServerFrame>(text.as_str()) {
                Ok(ServerFrame::Welcome { resume, .. }) => token = resume,
                Ok(ServerFrame::Joined {
                    history, last_seq, ..
                }) => {
                    // Good clients only send messages: the history's
                    // events are all messages.
                    let messages = history
                        .into_iter()
                        .filter_map(|event| match event {
                            RoomEvent::Message(message) => Some(message),
                            _ => None,
                        })
                        .collect();
                    return Ok((messages, last_seq));
                }
                Ok(ServerFrame::Error { code, message, .. }) => {
                    bail!("server said {code:?}: {message}")
                }
                _ => {}
            }
        }
        bail!("closed before joined")
    };
    let (history, last_seq) = timeout(Duration::from_secs(30), answer)
        .await
        .context("no joined within 30 s")??;
    Ok((ws, token, history, last_seq))
}

/// Connects every good client, a few at a time.
pub async fn connect_all(plan: Arc<GoodPlan>) -> anyhow::Result<Vec<Good>> {
    let limit = Arc::new(Semaphore::new(32));
    let mut tasks = Vec::new();
    for i in 0..plan.clients {
        let (plan, limit) = (plan.clone(), limit.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = limit.acquire_owned().await?;
            // The first page is older runs' talk: not counted.
            let (ws, resume, _, last_seq) = connect(&plan, i, None, None).await?;
            let result = GoodResult {
                index: i,
                room: i % plan.rooms,
                ..GoodResult::default()
            };
            Ok::<_, anyhow::Error>(Good {
                plan,
                ws,
                resume,
                last_seq,
                result,
            })
        }));
    }
    let mut clients = Vec::new();
    for (i, task) in tasks.into_iter().enumerate() {
        clients.push(task.await?.with_context(|| format!("good client {i}"))?);
    }
    Ok(clients)
}

impl Good {
    /// Talks until `clock.stop`, listens until `clock.end`, and says goodbye.
    pub async fn run(mut self, clock: Clock, timeline: Arc<Timeline>) -> GoodResult {
        let (i, plan) = (self.result.index, self.plan.clone());
        let every = plan.every.as_nanos() as u64;
        let offset = every * i as u64 / plan.clients.max(1) as u64;
        let room = GoodPlan::room_name(self.result.room);
        let ping_every = Duration::from_secs(10);
        let mut ping = tokio::time::interval_at(Instant::now() + ping_every, ping_every);
        let mut n = 0u64;
        loop {
            let due = clock.start_ns + offset + n * every;
            let talking = due < clock.stop_ns;
            let wake = clock.instant(if talking { due } else { clock.end_ns });
            let trouble = tokio::select! {
                incoming = self.ws.next() => match incoming {
                    Some(Ok(Message::Text(text))) => {
                        self.on_text(text.as_str(), &clock, &timeline);
                        None
                    }
                    Some(Ok(Message::Close(frame))) => Some(match frame {
                        Some(f) => format!("close {}", u16::from(f.code)),
                        None => "close (no code)".to_owned(),
                    }),
                    Some(Ok(_)) => None,
                    Some(Err(e)) => Some(format!("socket error: {e}")),
                    None => Some("socket ended".to_owned()),
                },
                _ = tokio::time::sleep_until(wake) => {
                    if !talking {
                        break;
                    }
                    let text = stamp(i, n, due, plan.size);
                    let typing = ClientFrame::Typing { room: room.clone() };
                    let send = ClientFrame::Send { room: room.clone(), text, cid: n.to_string(), reply_to: None };
                    self.result.sent += 1;
                    self.result.acked.push(false);
                    n += 1;
                    let written = async {
                        self.ws.feed(Message::text(typing.to_json())).await?;
                        self.ws.send(Message::text(send.to_json())).await
                    };
                    written.await.err().map(|e| format!("send failed: {e}"))
                },
                _ = ping.tick() => {
                    let frame = ClientFrame::Ping { id: Some(n) }.to_json();
                    self.ws.send(Message::text(frame)).await.err().map(|e| format!("ping failed: {e}"))
                }
            };
            if let Some(why) = trouble {
                if !self.come_back(why, &clock, &timeline).await {
                    break;
                }
            }
        }
        let _ = timeout(Duration::from_secs(3), self.ws.close(None)).await;
        self.result
    }

    /// Counts a cut and reconnects with the resume token; `false` if that
    /// failed for good.
    async fn come_back(&mut self, why: String, clock: &Clock, timeline: &Timeline) -> bool {
        *self.result.cut.entry(why).or_default() += 1;
        let i = self.result.index;
        for attempt in 1..=10u32 {
            sleep(Duration::from_millis(250) * attempt).await;
            let resume = Some(self.resume.clone());
            match connect(&self.plan, i, resume, Some(self.last_seq)).await {
                Ok((ws, resume, history, last_seq)) => {
                    self.ws = ws;
                    self.resume = resume;
                    for message in &history {
                        self.on_message(message, clock, timeline);
                    }
                    self.last_seq = self.last_seq.max(last_seq);
                    return true;
                }
                Err(e) => {
                    *self
                        .result
                        .cut
                        .entry(format!("reconnect failed: {e:#}"))
                        .or_default() += 1;
                }
            }
        }
        *self.result.cut.entry("gave up".to_owned()).or_default() += 1;
        false
    }

    fn on_text(&mut self, text: &str, clock: &Clock, timeline: &Timeline) {
        let ours = |nick: &str| nick.starts_with(&format!("g{}-", std::process::id()));
        match serde_json::from_str::<ServerFrame>(text) {
            Ok(ServerFrame::Message(message)) => self.on_message(&message, clock, timeline),
            Ok(ServerFrame::Ack { cid, seq, .. }) => {
                if let Some(acked) = cid
                    .parse()
                    .ok()
                    .and_then(|n: usize| self.result.acked.get_mut(n))
                {
                    *acked = true;
                }
                self.last_seq = self.last_seq.max(seq);
            }
            // Presence and typing come coalesced: one frame may name several.
            Ok(ServerFrame::Presence { joined, left, .. })
                if joined.iter().chain(&left).any(|nick| !ours(nick)) =>
            {
                self.result.noise.presence += 1
            }
            Ok(ServerFrame::Typing { nicks, .. }) if nicks.iter().any(|nick| !ours(nick)) => {
                self.result.noise.typing += 1
            }
            Ok(ServerFrame::Error { code, .. }) => {
                let code = serde_json::to_string(&code).unwrap_or_default();
                *self
                    .result
                    .errors
                    .entry(code.trim_matches('"').to_owned())
                    .or_default() += 1;
            }
            Ok(_) => {}
            Err(_) => {
                *self
                    .result
                    .errors
                    .entry("unreadable frame".to_owned())
                    .or_default() += 1
            }
        }
    }

    fn on_message(&mut self, message: &ChatMessage, clock: &Clock, timeline: &Timeline) {
        self.last_seq = self.last_seq.max(message.seq);
        match parse_stamp(&message.text) {
            Some((sender, n, due)) if message.nick == GoodPlan::nick(sender) => {
                let counts = self.result.received.entry(sender).or_default();
                if counts.len() <= n {
                    counts.resize(n + 1, 0);
                }
                counts[n] += 1;
                if counts[n] == 1 {
                    timeline.record(due, clock.now_ns().saturating_sub(due) / 1000);
                }
            }
            _ => self.result.noise.messages += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_reads_back_and_has_the_asked_size() {
        let text = stamp(17, 42, 123_456_789, 80);
        assert_eq!(text.len(), 80);
        assert_eq!(parse_stamp(&text), Some((17, 42, 123_456_789)));
        assert_eq!(parse_stamp("flood 12"), None);
        assert_eq!(parse_stamp(&stamp(1, 2, 3, 0)), Some((1, 2, 3)));
    }
}
