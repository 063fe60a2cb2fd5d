//! The load itself: connect the clients, then run measuring phases.
//!
//! Each client is one WebSocket on its own task. Senders send on an open-loop
//! schedule: message *k* of a sender is due at `start + k / rate`, and carries
//! its phase and its due time in the text (`P3:1234567:xxxx`). A slow server
//! therefore shows up as latency (measured from the due time, so a backed-up
//! sender cannot hide it), never as a politely lower send rate. Receivers
//! count the messages of the current phase that were due inside its window,
//! and record their latency in an HDR histogram.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use parley_protocol::ClientFrame;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{mpsc, watch, Semaphore};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

type Socket = WebSocketStream<TcpStream>;

/// What the whole run looks like.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The server's WebSocket URL (`ws://127.0.0.1:PORT/ws`).
    pub url: String,
    /// Clients to connect.
    pub clients: usize,
    /// Rooms they are spread over (client i joins room i % rooms).
    pub rooms: usize,
    /// How many of the clients send.
    pub senders: usize,
    /// Message text length in bytes.
    pub size: usize,
    /// Loopback source addresses to spread connections over (127.0.0.2, …).
    pub sources: usize,
    /// Connections being set up at once.
    pub connect_concurrency: usize,
}

/// One measuring phase.
#[derive(Debug, Clone, Copy)]
pub struct Phase {
    /// Total messages per second across all senders.
    pub rate: f64,
    /// Sending before the window opens.
    pub warmup: Duration,
    /// The measured window.
    pub window: Duration,
    /// Waiting for late deliveries after sending stops.
    pub drain: Duration,
}

/// What one phase measured.
#[derive(Debug, Clone)]
pub struct PhaseResult {
    /// Messages due inside the window.
    pub sent: u64,
    /// Deliveries those messages should cause (room members minus the sender).
    pub expected: u64,
    /// Deliveries that arrived.
    pub received: u64,
    /// End-to-end latency in microseconds.
    pub latency: Histogram<u64>,
    /// `error` frames received.
    pub errors: u64,
}

/// Per-receiver counts, sent to the controller when a phase ends.
struct ReceiverStats {
    /// Which collection round these counts answer; a late answer to an
    /// earlier round must not be added to the current one.
    round: u64,
    received: u64,
    errors: u64,
    latency: Histogram<u64>,
}

impl ReceiverStats {
    /// Nothing counted yet; `round` is set when the counts are sent.
    fn empty() -> Self {
        ReceiverStats {
            round: 0,
            received: 0,
            errors: 0,
            latency: histogram(),
        }
    }
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

/// The phase receivers should count, and when its window is.
#[derive(Debug, Clone, Copy, Default)]
struct Window {
    phase: u64,
    /// Window bounds as nanoseconds since the run's epoch.
    from_ns: u64,
    to_ns: u64,
}

/// Connected clients, ready for phases.
pub struct Load {
    plan: Plan,
    epoch: Instant,
    senders: Vec<SplitSink<Socket, Message>>,
    sender_rooms: Vec<usize>,
    room_sizes: Vec<u64>,
    window: watch::Sender<Window>,
    collect: watch::Sender<u64>,
    stats: mpsc::UnboundedReceiver<ReceiverStats>,
    /// Set-up time of every client.
    pub connect_times: Vec<Duration>,
    /// Wall time to connect (and join) every client.
    pub connect_total: Duration,
    next_phase: u64,
}

/// Connects, says hello and joins; returns the socket and the set-up time.
async fn connect_one(
    url: &str,
    server: SocketAddr,
    source: IpAddr,
    nick: String,
    room: String,
) -> anyhow::Result<(Socket, Duration)> {
    let started = Instant::now();
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(source, 0))?;
    let stream = socket
        .connect(server)
        .await
        .with_context(|| format!("connect from {source}"))?;
    stream.set_nodelay(true)?;
    let (mut ws, _) = tokio_tungstenite::client_async(url, stream)
        .await
        .context("websocket handshake")?;
    ws.send(Message::text(
        ClientFrame::Hello { nick, resume: None }.to_json(),
    ))
    .await?;
    ws.send(Message::text(
        ClientFrame::Join { room, since: None }.to_json(),
    ))
    .await?;
    // Wait for `joined` (skipping `welcome` and presence).
    loop {
        match tokio::time::timeout(Duration::from_secs(30), ws.next()).await {
            Ok(Some(Ok(Message::Text(text)))) if text.as_str().contains("\"joined\"") => break,
            Ok(Some(Ok(Message::Text(text)))) if text.as_str().contains("\"error\"") => {
                bail!("server said {}", text.as_str())
            }
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(e))) => return Err(e.into()),
            Ok(None) => bail!("closed before joined"),
            Err(_) => bail!("no joined within 30 s"),
        }
    }
    Ok((ws, started.elapsed()))
}

/// Reads `due` (ns since epoch) and phase out of a message frame's text
/// without a full JSON parse: `"text":"P<phase>:<due>:`.
fn parse_stamp(frame: &str) -> Option<(u64, u64)> {
    let start = frame.find("\"text\":\"P")? + 9;
    let mut parts = frame[start..].splitn(3, ':');
    let phase = parts.next()?.parse().ok()?;
    let due = parts.next()?.parse().ok()?;
    Some((phase, due))
}

async fn receive(
    mut stream: SplitStream<Socket>,
    epoch: Instant,
    mut window: watch::Receiver<Window>,
    mut collect: watch::Receiver<u64>,
    stats: mpsc::UnboundedSender<ReceiverStats>,
) {
    let mut local = ReceiverStats::empty();
    loop {
        tokio::select! {
            message = stream.next() => {
                let Some(Ok(message)) = message else { return };
                let Message::Text(text) = message else { continue };
                let text = text.as_str();
                if text.starts_with("{\"type\":\"message\"") {
                    let w = *window.borrow_and_update();
                    if let Some((phase, due)) = parse_stamp(text) {
                        if phase == w.phase && due >= w.from_ns && due < w.to_ns {
                            let now = epoch.elapsed().as_nanos() as u64;
                            local.received += 1;
                            let _ = local.latency.record((now.saturating_sub(due) / 1000).max(1));
                        }
                    }
                } else if text.starts_with("{\"type\":\"error\"") {
                    local.errors += 1;
                }
            }
            changed = collect.changed() => {
                if changed.is_err() { return; }
                let round = *collect.borrow_and_update();
                let done = ReceiverStats { round, ..std::mem::replace(&mut local, ReceiverStats::empty()) };
                let _ = stats.send(done);
            }
        }
    }
}

impl Load {
    /// Connects every client of the plan.
    pub async fn connect(plan: Plan) -> anyhow::Result<Load> {
        let server: SocketAddr = {
            let rest = plan
                .url
                .strip_prefix("ws://")
                .context("the URL must start with ws://")?;
            let authority = rest.split('/').next().unwrap_or(rest);
            authority
                .parse()
                .context("the URL must name an IP address and port")?
        };
        if !server.ip().is_loopback() {
            bail!("load is only ever sent to loopback addresses, not {server}");
        }
        let epoch = Instant::now();
        let limit = Arc::new(Semaphore::new(plan.connect_concurrency.max(1)));
        let started = Instant::now();
        let mut tasks = Vec::with_capacity(plan.clients);
        for i in 0..plan.clients {
            let source = IpAddr::V4(Ipv4Addr::new(
                127,
                0,
                0,
                2 + (i % plan.sources.max(1)) as u8,
            ));
            let (url, limit) = (plan.url.clone(), limit.clone());
            let room = format!("bench-{}", i % plan.rooms);
            tasks.push(tokio::spawn(async move {
                let _permit = limit.acquire_owned().await.expect("semaphore open");
                // Unique per run: the previous run's sessions may still be
                // held for their resume grace.
                connect_one(
                    &url,
                    server,
                    source,
                    format!("b{}-{i}", std::process::id()),
                    room,
                )
                .await
            }));
        }
        let (window, window_rx) = watch::channel(Window::default());
        let (collect, collect_rx) = watch::channel(0u64);
        let (stats_tx, stats) = mpsc::unbounded_channel();
        let sender_every = (plan.clients / plan.senders.max(1)).max(1);
        let mut senders = Vec::new();
        let mut sender_rooms = Vec::new();
        let mut connect_times = Vec::with_capacity(plan.clients);
        for (i, task) in tasks.into_iter().enumerate() {
            let (ws, took) = task.await?.with_context(|| format!("client {i}"))?;
            connect_times.push(took);
            let (sink, stream) = ws.split();
            tokio::spawn(receive(
                stream,
                epoch,
                window_rx.clone(),
                collect_rx.clone(),
                stats_tx.clone(),
            ));
            if i % sender_every == 0 && senders.len() < plan.senders {
                senders.push(sink);
                sender_rooms.push(i % plan.rooms);
            } else {
                // Keep the write half alive so the connection stays open.
                std::mem::forget(sink);
            }
        }
        let connect_total = started.elapsed();
        let mut room_sizes = vec![0u64; plan.rooms];
        for i in 0..plan.clients {
            room_sizes[i % plan.rooms] += 1;
        }
        Ok(Load {
            plan,
            epoch,
            senders,
            sender_rooms,
            room_sizes,
            window,
            collect,
            stats,
            connect_times,
            connect_total,
            next_phase: 1,
        })
    }

    /// Runs one phase at `phase.rate` messages per second.
    pub async fn run(&mut self, phase: Phase) -> anyhow::Result<PhaseResult> {
        let id = self.next_phase;
        self.next_phase += 1;
        let start_ns = self.epoch.elapsed().as_nanos() as u64 + 50_000_000;
        let from_ns = start_ns + phase.warmup.as_nanos() as u64;
        let to_ns = from_ns + phase.window.as_nanos() as u64;
        self.window.send_replace(Window {
            phase: id,
            from_ns,
            to_ns,
        });

        let per_sender = phase.rate / self.senders.len().max(1) as f64;
        let interval_ns = (1e9 / per_sender.max(1e-6)) as u64;
        let padding = "x".repeat(self.plan.size.saturating_sub(24));
        let mut tasks = Vec::new();
        for (k, mut sink) in std::mem::take(&mut self.senders).into_iter().enumerate() {
            let (epoch, padding) = (self.epoch, padding.clone());
            let room = format!("bench-{}", self.sender_rooms[k]);
            // Stagger senders evenly across one interval.
            let first = start_ns + interval_ns * k as u64 / self.sender_rooms.len().max(1) as u64;
            tasks.push(tokio::spawn(async move {
                let (mut due, mut sent_in_window, mut n) = (first, 0u64, 0u64);
                while due < to_ns {
                    let wait =
                        Duration::from_nanos(due.saturating_sub(epoch.elapsed().as_nanos() as u64));
                    if !wait.is_zero() {
                        sink.flush().await?;
                        tokio::time::sleep(wait).await;
                    }
                    let text = format!("P{id}:{due}:{padding}");
                    let frame = ClientFrame::Send {
                        room: room.clone(),
                        text,
                        cid: format!("{k}-{n}"),
                        reply_to: None,
                    };
                    sink.feed(Message::text(frame.to_json())).await?;
                    if due >= from_ns {
                        sent_in_window += 1;
                    }
                    n += 1;
                    due += interval_ns;
                }
                sink.flush().await?;
                Ok::<_, anyhow::Error>((sink, sent_in_window))
            }));
        }
        let (mut sent, mut expected) = (0, 0);
        for (k, task) in tasks.into_iter().enumerate() {
            let (sink, n) = task.await??;
            self.senders.push(sink);
            sent += n;
            expected += n * (self.room_sizes[self.sender_rooms[k]] - 1);
        }
        tokio::time::sleep(phase.drain).await;

        self.collect.send_modify(|n| *n += 1);
        let round = *self.collect.borrow();
        let mut result = PhaseResult {
            sent,
            expected,
            received: 0,
            latency: histogram(),
            errors: 0,
        };
        let mut answered = 0;
        while answered < self.plan.clients {
            match tokio::time::timeout(Duration::from_secs(10), self.stats.recv()).await {
                // Late for an earlier round, whose result is already out.
                Ok(Some(stats)) if stats.round != round => continue,
                Ok(Some(stats)) => {
                    answered += 1;
                    result.received += stats.received;
                    result.errors += stats.errors;
                    result.latency.add(&stats.latency).expect("same bounds");
                }
                _ => break,
            }
        }
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::parse_stamp;

    #[test]
    fn reads_the_stamp_out_of_a_message_frame() {
        let frame = r#"{"type":"message","room":"bench-0","seq":3,"nick":"b1","text":"P2:123456:xxxx","ts":1}"#;
        assert_eq!(parse_stamp(frame), Some((2, 123456)));
        assert_eq!(parse_stamp(r#"{"type":"message","text":"hello"}"#), None);
    }
}
