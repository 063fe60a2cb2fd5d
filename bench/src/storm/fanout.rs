//! Fan-out in the room the storm filled: one more client joins it and
//! sends one message, then a burst of a few, and the storm's clients count
//! what they receive. Measured from just before the send to the moment the
//! last member had it, so it is how long one message takes to reach every
//! member of a big room, and how many deliveries per second the server
//! makes there.

use std::time::Duration;

use anyhow::{bail, Context};
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
    /// Members that got it.
    pub one_delivered: usize,
    /// Messages in the burst (sent back to back).
    pub burst: usize,
    /// From the burst's first send to the last member having its last.
    pub burst_ms: f64,
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

/// Sends one message, then `burst` more back to back, to room 0 of
/// `members` storm clients; waits at most `timeout` for each part.
pub async fn run(
    plan: &Plan,
    counts: &Counts,
    members: usize,
    burst: usize,
    timeout: Duration,
) -> anyhow::Result<FanoutResult> {
    let mut ws = sender(plan).await?;
    // Let the sender's own arrival (a presence count) go out first.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let send = |k: usize| {
        Message::text(
            ClientFrame::Send {
                room: Plan::room(0),
                text: text(k),
                cid: k.to_string(),
            }
            .to_json(),
        )
    };
    let started = counts.now_ns();
    ws.send(send(0)).await?;
    let (one_delivered, one_last) = wait_for(counts, 0..1, members, timeout).await;

    tokio::time::sleep(Duration::from_millis(500)).await;
    let burst_started = counts.now_ns();
    for k in 1..=burst {
        ws.feed(send(k)).await?;
    }
    ws.flush().await?;
    let (burst_delivered, burst_last) = wait_for(counts, 1..burst + 1, members, timeout).await;

    // Every send must have been accepted: acks, no `error`.
    let mut acks = 0;
    let reading = async {
        while acks < burst + 1 {
            let Some(frame) = ws.next().await else { break };
            let Message::Text(text) = frame? else {
                continue;
            };
            match frame_type(text.as_str()) {
                "ack" => acks += 1,
                "error" => {
                    let fields: Fields = serde_json::from_str(text.as_str()).unwrap_or_default();
                    counts.trouble(format!("sender: error {}", fields.code.unwrap_or_default()));
                }
                _ => {}
            }
        }
        Ok::<_, anyhow::Error>(())
    };
    let _ = tokio::time::timeout(Duration::from_secs(5), reading).await;
    if acks < burst + 1 {
        counts.trouble(format!("sender: {} of {} acks", acks, burst + 1));
    }
    let _ = ws.close(None).await;

    let burst_ms = burst_last.saturating_sub(burst_started) as f64 / 1e6;
    Ok(FanoutResult {
        members,
        one_ms: one_last.saturating_sub(started) as f64 / 1e6,
        one_delivered,
        burst,
        burst_ms,
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
