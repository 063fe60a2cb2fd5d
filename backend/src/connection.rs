//! One client connection, from the first frame to the close handshake.
//!
//! This is what the original design spread over `@OnOpen`, `@OnMessage`,
//! `@OnClose` and `@OnError`, as one task and one loop. The task owns the
//! socket: it reads the client's frames and applies them
//! ([`crate::commands`]), writes whatever the hub queued in the
//! connection's [`Outbox`](crate::outbox::Outbox), pings, and notices when
//! the client is gone, too slow, abusive, or the server is shutting down.
//! How the connection ended decides what happens to the session (see
//! [`Ending`]): ended at once, or kept for a resume.
//!
//! The loop never waits on the database. A request that reads the store
//! (`join` with history from disk, `history`) runs *beside* it: the loop
//! keeps writing the outbox, pinging and watching for shutdown while the
//! read is under way, and holds back the client's next frames (up to
//! `--pipeline-frames`, then it stops reading the socket) so they are
//! applied in the order they were sent.
//!
//! [`serve`] is written against any `Sink` + `Stream` of WebSocket
//! messages, so unit tests drive it through in-memory channels.

use std::collections::VecDeque;
use std::sync::Arc;

use futures_util::{Sink, SinkExt, Stream, StreamExt};
use tokio::time::{sleep, Instant};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_util::sync::CancellationToken;

use crate::commands::{Client, Pending, Step};
use crate::config::Limits;
use crate::ending::Ending;
use crate::hub::Hub;
use crate::metrics;
use crate::outbox::{outbox, OutboxReceiver};

pub use crate::ids::Caller;

/// Serves one client until it leaves, fails, or `shutdown` is cancelled.
pub async fn serve<S>(mut socket: S, hub: Arc<Hub>, shutdown: CancellationToken, caller: Caller)
where
    S: Stream<Item = Result<Message, WsError>> + Sink<Message, Error = WsError> + Unpin,
{
    metrics::connection_opened();
    // Borrowed: a copy would add its size to every connection's task.
    let limits = hub.limits();
    let (outbox, mut inbox) = outbox(limits.outbox_capacity, limits.outbox_bytes);
    let mut client = Client::new(hub.clone(), outbox, caller);

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
    // The request waiting on the store, and the frames that came after it.
    let mut pending: Option<Pending> = None;
    let mut held: VecDeque<Message> = VecDeque::new();

    let ending = loop {
        tokio::select! {
            _ = &mut shutting_down => break Ending::Shutdown,
            _ = &mut overflowing => break Ending::SlowConsumer,
            _ = &mut taken_over => break Ending::Replaced,
            Some(frame) = inbox.recv() => {
                if let Err(ending) = write_frames(&mut socket, frame, &mut inbox, limits).await {
                    break ending;
                }
            }
            outcome = async { pending.as_mut().expect("guarded by is_some").await }, if pending.is_some() => {
                pending = None;
                if let Some(ending) = client.settle(outcome) {
                    break ending;
                }
                // Apply what the client sent meanwhile, until one waits again.
                if let Some(ending) = apply_held(&mut client, &mut held, &mut pending) {
                    break ending;
                }
            }
            incoming = socket.next(), if held.len() < limits.pipeline_frames => match incoming {
                None => break Ending::Vanished,
                Some(Err(err)) => break read_failed(err),
                Some(Ok(message)) => {
                    last_heard = Instant::now();
                    if pending.is_some() && !matches!(message, Message::Close(_)) {
                        held.push_back(message);
                        continue;
                    }
                    match client.on_message(message) {
                        Step::Next => {}
                        Step::Wait(request) => pending = Some(request),
                        Step::End(ending) => break ending,
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
            _ = &mut hello_deadline, if client.identity().is_none() => break Ending::HelloTimeout,
        }
    };

    tracing::debug!(?ending, nick = client.nick(), "connection ending");
    if ending == Ending::WriteStuck {
        // Too slow, like a full queue, only noticed by the write timeout.
        metrics::slow_consumer_dropped();
    }
    // A request still reading is abandoned (a join is undone) before the
    // session is settled.
    drop(pending);
    // Settle the session first, so the hub stops queueing frames for this
    // connection at once, even if its close handshake takes a while.
    if let Some(identity) = client.identity() {
        if ending.ends_session() {
            hub.end_session(identity);
        } else if ending != Ending::Replaced {
            hub.detach(identity);
        }
    }
    close(&mut socket, &mut inbox, ending, limits).await;
    metrics::connection_closed();
}

/// How a failed read ends the connection.
fn read_failed(err: WsError) -> Ending {
    match err {
        WsError::Capacity(_) => Ending::TooBig,
        WsError::Protocol(_) => Ending::ProtocolError,
        WsError::Utf8(_) => Ending::BadUtf8,
        err => {
            tracing::debug!(%err, "websocket read failed");
            Ending::Vanished
        }
    }
}

/// Applies held-back frames in order until one starts a request that must
/// be waited for (left in `pending`) or ends the connection.
fn apply_held(
    client: &mut Client,
    held: &mut VecDeque<Message>,
    pending: &mut Option<Pending>,
) -> Option<Ending> {
    while pending.is_none() {
        let message = held.pop_front()?;
        match client.on_message(message) {
            Step::Next => {}
            Step::Wait(request) => *pending = Some(request),
            Step::End(ending) => return Some(ending),
        }
    }
    None
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
    let overflowed = inbox.overflowed.clone();
    let batch = async {
        socket.feed(Message::Text(first)).await?;
        for _ in 1..limits.write_batch {
            match inbox.try_recv() {
                Some(frame) => socket.feed(Message::Text(frame)).await?,
                None => break,
            }
        }
        socket.flush().await
    };
    tokio::select! {
        written = tokio::time::timeout(limits.write_timeout, batch) => match written {
            Ok(Ok(())) => Ok(()),
            // The client stopped reading while its socket buffer filled up.
            Ok(Err(WsError::WriteBufferFull(_))) => {
                metrics::slow_consumer_dropped();
                Err(Ending::SlowConsumer)
            }
            Ok(Err(_)) => Err(Ending::Vanished),
            Err(_) => Err(Ending::WriteStuck),
        },
        _ = overflowed.cancelled() => Err(Ending::SlowConsumer),
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
        if ending.socket_is_healthy() {
            while let Some(frame) = inbox.try_recv() {
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
