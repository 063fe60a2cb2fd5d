//! One client connection, from the first frame to the close handshake.
//!
//! This is what the original design spread over `@OnOpen`, `@OnMessage`,
//! `@OnClose` and `@OnError`, as one task and one loop. The task owns the
//! socket: it reads the client's frames, writes whatever the hub queued in
//! the connection's [`Outbox`](crate::outbox::Outbox), pings, and notices when
//! the client is gone, too slow, abusive, or the server is shutting down. How
//! the connection ended decides what happens to the session (see
//! [`Ending`]): ended at once, or kept for a resume.
//!
//! [`run`] is written against any `Sink` + `Stream` of WebSocket messages, so
//! unit tests drive it through in-memory channels.

use std::sync::Arc;

use futures_util::{Sink, SinkExt, Stream, StreamExt};
use tokio::time::{sleep, Instant};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_util::sync::CancellationToken;

use parley_protocol::close::{RECONNECTING as CLOSE_RECONNECTING, REPLACED as CLOSE_REPLACED};

use crate::commands::Session;
use crate::config::Limits;
use crate::hub::Hub;
use crate::metrics;
use crate::outbox::{outbox, OutboxReceiver};

/// Why a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The client sent a Close frame (with this code, if any).
    ClientClosed(Option<u16>),
    /// The socket ended or failed without a Close frame.
    Vanished,
    /// Nothing was heard from the client for two heartbeat intervals.
    HeartbeatTimeout,
    /// A write to the client did not finish within the write timeout.
    WriteStuck,
    /// The client's outbound queue overflowed.
    SlowConsumer,
    /// The client sent a frame over the size limit.
    TooBig,
    /// The client sent too many bad frames in a row.
    Abusive,
    /// The client did not say `hello` in time.
    HelloTimeout,
    /// Another connection resumed this session.
    Replaced,
    /// The server is shutting down.
    Shutdown,
}

impl Ending {
    /// The close frame the server sends for this ending, if it sends one.
    fn close_frame(self) -> Option<CloseFrame> {
        let (code, reason) = match self {
            Ending::Shutdown => (CloseCode::Away, "server shutting down"),
            Ending::SlowConsumer => (CloseCode::Again, "too slow: outbound queue full"),
            Ending::TooBig => (CloseCode::Size, "frame too big"),
            Ending::Abusive => (CloseCode::Policy, "too many bad frames in a row"),
            Ending::HelloTimeout => (CloseCode::Policy, "no hello in time"),
            Ending::Replaced => (CloseCode::from(CLOSE_REPLACED), "session resumed elsewhere"),
            Ending::HeartbeatTimeout => (CloseCode::Away, "heartbeat timeout"),
            Ending::ClientClosed(_) | Ending::Vanished | Ending::WriteStuck => return None,
        };
        Some(CloseFrame {
            code,
            reason: reason.into(),
        })
    }

    /// Whether the session ends with the connection (otherwise it is kept
    /// for a resume, or already belongs to another connection).
    fn ends_session(self) -> bool {
        match self {
            Ending::ClientClosed(code) => code != Some(CLOSE_RECONNECTING),
            Ending::Abusive | Ending::HelloTimeout => true,
            _ => false,
        }
    }
}

/// Serves one client until it leaves, fails, or `shutdown` is cancelled.
pub async fn run<S>(mut socket: S, hub: Arc<Hub>, shutdown: CancellationToken)
where
    S: Stream<Item = Result<Message, WsError>> + Sink<Message, Error = WsError> + Unpin,
{
    metrics::connection_opened();
    // Borrowed: a copy would add its size to every connection's task.
    let limits = &hub.limits;
    let (outbox, mut inbox) = outbox(limits.outbox_capacity);
    let mut session = Session::new(hub.clone(), outbox);

    let heartbeat_every = limits.heartbeat;
    let mut heartbeat = tokio::time::interval_at(Instant::now() + heartbeat_every, heartbeat_every);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_heard = Instant::now();
    let hello_deadline = sleep(limits.hello_timeout);
    tokio::pin!(hello_deadline);
    // Created once: a fresh `cancelled()` per wake-up would register and
    // drop a waiter under the token's lock for every frame delivered.
    let (overflowed, replaced) = (inbox.overflowed.clone(), inbox.replaced.clone());
    let shutting_down = shutdown.cancelled();
    let overflowing = overflowed.cancelled();
    let taken_over = replaced.cancelled();
    tokio::pin!(shutting_down, overflowing, taken_over);

    let ending = loop {
        tokio::select! {
            _ = &mut shutting_down => break Ending::Shutdown,
            _ = &mut overflowing => break Ending::SlowConsumer,
            _ = &mut taken_over => break Ending::Replaced,
            Some(frame) = inbox.frames.recv() => {
                if let Err(ending) = write_frames(&mut socket, frame, &mut inbox, limits).await {
                    break ending;
                }
            }
            incoming = socket.next() => match incoming {
                None => break Ending::Vanished,
                Some(Err(WsError::Capacity(_))) => break Ending::TooBig,
                Some(Err(err)) => {
                    tracing::debug!(%err, "websocket read failed");
                    break Ending::Vanished;
                }
                Some(Ok(message)) => {
                    last_heard = Instant::now();
                    if let Some(ending) = session.on_message(message).await {
                        break ending;
                    }
                }
            },
            _ = heartbeat.tick() => {
                if last_heard.elapsed() >= heartbeat_every * 2 {
                    break Ending::HeartbeatTimeout;
                }
                let ping = socket.send(Message::Ping(Default::default()));
                match tokio::time::timeout(limits.write_timeout, ping).await {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => break Ending::Vanished,
                    Err(_) => break Ending::WriteStuck,
                }
            }
            _ = &mut hello_deadline, if !session.is_identified() => break Ending::HelloTimeout,
        }
    };

    tracing::debug!(?ending, nick = session.nick(), "connection ending");
    // Settle the session first, so the hub stops queueing frames for this
    // connection at once, even if its close handshake takes a while.
    if let Some(identity) = session.identity() {
        if ending.ends_session() {
            hub.end_session(identity);
        } else if ending != Ending::Replaced {
            hub.detach(identity);
        }
    }
    close(&mut socket, &mut inbox, ending, limits).await;
    metrics::connection_closed();
}

/// Writes `first` and whatever else is queued (up to a batch), then flushes
/// once. Gives up when the client stops reading (write timeout) or its queue
/// overflows meanwhile.
async fn write_frames<S>(
    socket: &mut S,
    first: tokio_tungstenite::tungstenite::Utf8Bytes,
    inbox: &mut OutboxReceiver,
    limits: &Limits,
) -> Result<(), Ending>
where
    S: Sink<Message, Error = WsError> + Unpin,
{
    let frames = &mut inbox.frames;
    let batch = async {
        socket.feed(Message::Text(first)).await?;
        for _ in 1..limits.write_batch {
            match frames.try_recv() {
                Ok(frame) => socket.feed(Message::Text(frame)).await?,
                Err(_) => break,
            }
        }
        socket.flush().await
    };
    tokio::select! {
        written = tokio::time::timeout(limits.write_timeout, batch) => match written {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(Ending::Vanished),
            Err(_) => Err(Ending::WriteStuck),
        },
        _ = inbox.overflowed.cancelled() => Err(Ending::SlowConsumer),
    }
}

/// Ends the WebSocket the way `ending` calls for, never waiting longer than
/// the close timeout. When the socket is healthy the frames already queued
/// (the last error, say, or messages in flight at shutdown) go out first.
async fn close<S>(socket: &mut S, inbox: &mut OutboxReceiver, ending: Ending, limits: &Limits)
where
    S: Sink<Message, Error = WsError> + Unpin,
{
    let goodbye = async {
        let healthy = matches!(
            ending,
            Ending::Shutdown
                | Ending::Abusive
                | Ending::TooBig
                | Ending::HelloTimeout
                | Ending::Replaced
        );
        if healthy {
            while let Ok(frame) = inbox.frames.try_recv() {
                socket.feed(Message::Text(frame)).await?;
            }
        }
        match ending.close_frame() {
            Some(frame) => socket.send(Message::Close(Some(frame))).await?,
            // The client's Close was answered by tungstenite; send that answer.
            None if matches!(ending, Ending::ClientClosed(_)) => socket.flush().await?,
            None => {}
        }
        socket.close().await
    };
    let _ = tokio::time::timeout(limits.close_timeout, goodbye).await;
}
