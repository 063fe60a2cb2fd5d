//! Fan-out in the room the storm filled: one more client joins it and
//! sends one message, then a burst of a few, and the storm's clients count
//! what they receive. Measured from just before the send to the moment the
//! last member had it, so it is how long one message takes to reach every
//! member of a big room, and how many deliveries per second the server
//! makes there. The sender's `ack`s are timed too: the server sends a
//! message on only once it is committed (an fsync with SQLite's
//! `synchronous=FULL`), so the ack shows how much of the time was the disk.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context};
use futures_util::stream::SplitStream;
use futures_util::{SinkExt, StreamExt};
use parley_protocol::ClientFrame;
use serde::{Deserialize, Serialize};
use tokio::net::TcpSocket;
use tokio_tungstenite::tungstenite::Message;

use super::client::{frame_type, Fields, Plan, Socket};
use super::counts::Counts;

/// What the fan-out measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FanoutResult {
    /// Members that should receive each message (the sender not counted).
    pub members: usize,
    /// One message alone: from its send to the last member having it.
    pub one_ms: f64,
    /// From its send to its `ack`: the server acknowledges a message, and
    /// sends it to the others, once it is committed to the database.
    pub one_ack_ms: Option<f64>,
    /// Members that got it.
    pub one_delivered: usize,
    /// Messages in the burst (sent back to back).
    pub burst: usize,
    /// From the burst's first send to the last member having its last.
    pub burst_ms: f64,
    /// From the burst's first send to its last `ack`.
    pub burst_ack_ms: Option<f64>,
    /// Deliveries of the burst that arrived.
    pub burst_delivered: usize,
    /// `burst_delivered` per second of `burst_ms`.
    pub deliveries_per_sec: f64,
}

/// The text of fan-out message `k` (64 bytes, as `make bench` sends).
fn text(k: usize) -> String {
    let head = format!("F{k}:");
    format!("{head}{}", "x".repeat(64 - head.len()))
}

/// Connects the sender and joins room 0.
async fn sender(plan: &Plan) -> anyhow::Result<Socket> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(std::net::SocketAddr::new(plan.source(0), 0))?;
    let stream = socket.connect(plan.server).await.context("connect")?;
    stream.set_nodelay(true)?;
    let (mut ws, _) = tokio_tungstenite::client_async(plan.url.as_str(), stream)
        .await
        .context("websocket handshake")?;
    let hello = ClientFrame::Hello {
        nick: format!("{}-sender", plan.tag),
        resume: None,
        token: None,
    };
    let join = ClientFrame::Join {
        room: Plan::room(0),
        since: None,
    };
    ws.feed(Message::text(hello.to_json())).await?;
    ws.send(Message::text(join.to_json())).await?;
    while let Some(frame) = ws.next().await {
        let Message::Text(text) = frame? else {
            continue;
        };
        match frame_type(text.as_str()) {
            "joined" => return Ok(ws),
            "error" => bail!("the sender got {}", text.as_str()),
            _ => {}
        }
    }
    bail!("the sender's connection ended before joined")
}

/// Waits until `members` have each of `messages` (or `timeout`); how many
/// deliveries arrived, and when the last did (ns since the epoch).
async fn wait_for(
    counts: &Counts,
    messages: std::ops::Range<usize>,
    members: usize,
    timeout: Duration,
) -> (usize, u64) {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let seen: Vec<(usize, u64)> = messages.clone().map(|k| counts.fan(k)).collect();
        let delivered = seen.iter().map(|(n, _)| n).sum::<usize>();
        let last = seen.iter().map(|(_, t)| *t).max().unwrap_or(0);
        if delivered >= members * messages.len() || tokio::time::Instant::now() >= deadline {
            return (delivered, last);
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// When each message's `ack` came (ns since the epoch), read off the
/// sender's socket; an `error` is a trouble.
async fn read_acks(mut stream: SplitStream<Socket>, counts: Arc<Counts>, acks: Acks) {
    while let Some(Ok(frame)) = stream.next().await {
        let Message::Text(text) = frame else { continue };
        let kind = frame_type(text.as_str());
        if kind != "ack" && kind != "error" {
            continue;
        }
        let fields: Fields = serde_json::from_str(text.as_str()).unwrap_or_default();
        if kind == "error" {
            counts.trouble(format!("sender: error {}", fields.code.unwrap_or_default()));
            continue;
        }
        let k: Option<usize> = fields.cid.and_then(|c| c.parse().ok());
        let mut acks = acks.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(slot) = k.and_then(|k| acks.get_mut(k)) {
            *slot = Some(counts.now_ns());
        }
    }
}

type Acks = Arc<Mutex<Vec<Option<u64>>>>;

/// The last ack of `messages` (ns since the epoch), once all came, or
/// `None` after `timeout`.
async fn last_ack(acks: &Acks, messages: std::ops::Range<usize>, timeout: Duration) -> Option<u64> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let got: Option<Vec<u64>> = {
            let acks = acks.lock().unwrap_or_else(|p| p.into_inner());
            messages.clone().map(|k| acks[k]).collect()
        };
        if let Some(times) = got {
            return times.into_iter().max();
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Sends one message, then `burst` more back to back, to room 0 of
/// `members` storm clients; waits at most `timeout` for each part.
pub async fn run(
    plan: &Plan,
    counts: &Arc<Counts>,
    members: usize,
    burst: usize,
    timeout: Duration,
) -> anyhow::Result<FanoutResult> {
    let (mut ws, stream) = sender(plan).await?.split();
    let acks: Acks = Arc::new(Mutex::new(vec![None; burst + 1]));
    let reader = tokio::spawn(read_acks(stream, counts.clone(), acks.clone()));
    // Let the sender's own arrival (a presence count) go out first.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let send = |k: usize| {
        Message::text(
            ClientFrame::Send {
                room: Plan::room(0),
                text: text(k),
                cid: k.to_string(),
                reply_to: None,
            }
            .to_json(),
        )
    };
    let started = counts.now_ns();
    ws.send(send(0)).await?;
    let (one_delivered, one_last) = wait_for(counts, 0..1, members, timeout).await;
    let one_ack = last_ack(&acks, 0..1, timeout).await;

    tokio::time::sleep(Duration::from_millis(500)).await;
    let burst_started = counts.now_ns();
    for k in 1..=burst {
        ws.feed(send(k)).await?;
    }
    ws.flush().await?;
    let (burst_delivered, burst_last) = wait_for(counts, 1..burst + 1, members, timeout).await;
    let burst_ack = last_ack(&acks, 1..burst + 1, timeout).await;
    if one_ack.is_none() || burst_ack.is_none() {
        counts.trouble("sender: an ack missing");
    }
    let _ = ws.close().await;
    reader.abort();

    let ms = |from: u64, to: u64| to.saturating_sub(from) as f64 / 1e6;
    let burst_ms = ms(burst_started, burst_last);
    Ok(FanoutResult {
        members,
        one_ms: ms(started, one_last),
        one_ack_ms: one_ack.map(|t| ms(started, t)),
        one_delivered,
        burst,
        burst_ms,
        burst_ack_ms: burst_ack.map(|t| ms(burst_started, t)),
        burst_delivered,
        deliveries_per_sec: burst_delivered as f64 / (burst_ms / 1000.0).max(1e-9),
    })
}

#[cfg(test)]
mod tests {
    use super::super::client::fanout_stamp;
    use super::*;

    #[test]
    fn a_fanout_text_is_64_bytes_and_reads_back() {
        for k in [0, 7, 10] {
            let t = text(k);
            assert_eq!(t.len(), 64);
            let frame = format!(
                r#"{{"type":"message","room":"storm-0","seq":5,"nick":"x","text":"{t}","ts":1}}"#
            );
            assert_eq!(fanout_stamp(&frame), (Some(k), Some(5)));
        }
    }
}
