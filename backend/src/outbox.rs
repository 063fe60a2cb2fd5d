//! The bounded queue between the hub and one client's socket.
//!
//! The hub never writes to a socket and never waits for a client: it pushes
//! the already-serialised frame into each recipient's [`Outbox`] with a
//! non-blocking `try_send`. The frame bytes are shared (`Utf8Bytes` is
//! reference-counted), so a message to 1,000 members is serialised once. When
//! a client's queue is full it is too slow to keep up: the outbox trips its
//! `overflowed` token, the connection closes with 1013, and everybody else's
//! delivery carries on untouched.
//!
//! [`encode`] lives here too: a frame is serialised once, on its way into
//! the outboxes, and never again.

use parley_protocol::ServerFrame;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Utf8Bytes;
use tokio_util::sync::CancellationToken;

use crate::metrics;

/// Serialises a frame once, into bytes every recipient can share.
pub fn encode(frame: &ServerFrame) -> Utf8Bytes {
    Utf8Bytes::from(frame.to_json())
}

/// The sending half, held by the hub (once per room membership) and by the
/// connection itself for its own replies.
#[derive(Debug, Clone)]
pub struct Outbox {
    /// Frames waiting to be written to the socket.
    frames: mpsc::Sender<Utf8Bytes>,
    /// Cancelled when the queue overflowed; the connection watches it.
    overflowed: CancellationToken,
    /// Cancelled when another connection resumed this session.
    replaced: CancellationToken,
}

/// The receiving half, owned by the connection task.
#[derive(Debug)]
pub struct OutboxReceiver {
    /// Frames to write, in order.
    pub frames: mpsc::Receiver<Utf8Bytes>,
    /// Cancelled when a push found the queue full.
    pub overflowed: CancellationToken,
    /// Cancelled when another connection took the session over with `resume`.
    pub replaced: CancellationToken,
}

/// Creates a queue holding at most `capacity` frames (at least 1: the
/// configuration refuses 0).
pub fn outbox(capacity: usize) -> (Outbox, OutboxReceiver) {
    let (tx, rx) = mpsc::channel(capacity);
    let overflowed = CancellationToken::new();
    let replaced = CancellationToken::new();
    (
        Outbox {
            frames: tx,
            overflowed: overflowed.clone(),
            replaced: replaced.clone(),
        },
        OutboxReceiver {
            frames: rx,
            overflowed,
            replaced,
        },
    )
}

impl Outbox {
    /// Queues a frame without waiting. Returns false if it was not queued:
    /// the client is gone, or too slow (then it is marked for closing).
    pub fn push(&self, frame: Utf8Bytes) -> bool {
        match self.frames.try_send(frame) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.overflow();
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    /// Marks the client as too slow: its connection closes with 1013.
    pub fn overflow(&self) {
        if !self.overflowed.is_cancelled() {
            metrics::slow_consumer_dropped();
            self.overflowed.cancel();
        }
    }

    /// Tells the connection behind this outbox that another one took its
    /// session over, so it should close without ending the session.
    pub fn replace(&self) {
        self.replaced.cancel();
    }

    /// Whether two handles feed the same queue.
    pub fn same_queue(&self, other: &Outbox) -> bool {
        self.frames.same_channel(&other.frames)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_queue_trips_the_overflow_token_instead_of_waiting() {
        let (tx, mut rx) = outbox(2);
        assert!(tx.push("a".into()));
        assert!(tx.push("b".into()));
        assert!(!rx.overflowed.is_cancelled());
        assert!(!tx.push("c".into()));
        assert!(rx.overflowed.is_cancelled());
        assert_eq!(rx.frames.recv().await.unwrap().as_str(), "a");
        assert_eq!(rx.frames.recv().await.unwrap().as_str(), "b");
    }

    #[test]
    fn a_closed_queue_is_not_an_overflow() {
        let (tx, rx) = outbox(1);
        let token = rx.overflowed.clone();
        drop(rx);
        assert!(!tx.push("a".into()));
        assert!(!token.is_cancelled());
    }
}
