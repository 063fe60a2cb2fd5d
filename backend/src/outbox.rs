//! The bounded queue between the hub and one client's socket.
//!
//! The hub never writes to a socket and never waits for a client: it pushes
//! the already-serialised frame into each recipient's [`Outbox`] with a
//! non-blocking `try_send`. The frame bytes are shared (`Utf8Bytes` is
//! reference-counted), so a message to 1,000 members is serialised once. When
//! a client's queue is full (in frames, or in bytes: `--outbox-bytes`) it is
//! too slow to keep up: the outbox trips its `overflowed` token, the
//! connection closes with 1013, and everybody else's delivery carries on
//! untouched.
//!
//! [`encode`] lives here too: a frame is serialised once, on its way into
//! the outboxes, and never again.

use parley_protocol::ServerFrame;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

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
    /// The bytes queued, and their cap.
    bytes: Arc<Bytes>,
}

/// How many bytes a queue holds, and may hold.
#[derive(Debug)]
struct Bytes {
    queued: AtomicUsize,
    max: usize,
}

/// The receiving half, owned by the connection task.
#[derive(Debug)]
pub struct OutboxReceiver {
    /// Frames to write, in order.
    frames: mpsc::Receiver<Utf8Bytes>,
    /// The bytes queued.
    bytes: Arc<Bytes>,
    /// Cancelled when a push found the queue full.
    pub overflowed: CancellationToken,
    /// Cancelled when another connection took the session over with `resume`.
    pub replaced: CancellationToken,
}

/// Creates a queue holding at most `capacity` frames (at least 1: the
/// configuration refuses 0) and `max_bytes` bytes (but a frame larger than
/// that still fits into an empty queue).
pub fn outbox(capacity: usize, max_bytes: usize) -> (Outbox, OutboxReceiver) {
    let (tx, rx) = mpsc::channel(capacity);
    let overflowed = CancellationToken::new();
    let replaced = CancellationToken::new();
    let bytes = Arc::new(Bytes {
        queued: AtomicUsize::new(0),
        max: max_bytes,
    });
    (
        Outbox {
            frames: tx,
            overflowed: overflowed.clone(),
            replaced: replaced.clone(),
            bytes: bytes.clone(),
        },
        OutboxReceiver {
            frames: rx,
            bytes,
            overflowed,
            replaced,
        },
    )
}

impl OutboxReceiver {
    /// The next frame, waiting for one; `None` once every sender is gone.
    pub async fn recv(&mut self) -> Option<Utf8Bytes> {
        let frame = self.frames.recv().await?;
        self.bytes.queued.fetch_sub(frame.len(), Ordering::AcqRel);
        Some(frame)
    }

    /// The next frame if one is queued.
    pub fn try_recv(&mut self) -> Option<Utf8Bytes> {
        let frame = self.frames.try_recv().ok()?;
        self.bytes.queued.fetch_sub(frame.len(), Ordering::AcqRel);
        Some(frame)
    }
}

impl Outbox {
    /// Queues a frame without waiting. Returns false if it was not queued:
    /// the client is gone, or too slow (then it is marked for closing).
    pub fn push(&self, frame: Utf8Bytes) -> bool {
        let len = frame.len();
        let before = self.bytes.queued.fetch_add(len, Ordering::AcqRel);
        let refused = if before > 0 && before + len > self.bytes.max {
            self.overflow();
            true
        } else {
            match self.frames.try_send(frame) {
                Ok(()) => false,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    self.overflow();
                    true
                }
                Err(mpsc::error::TrySendError::Closed(_)) => true,
            }
        };
        if refused {
            self.bytes.queued.fetch_sub(len, Ordering::AcqRel);
        }
        !refused
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_queue_trips_the_overflow_token_instead_of_waiting() {
        let (tx, mut rx) = outbox(2, 1024);
        assert!(tx.push("a".into()));
        assert!(tx.push("b".into()));
        assert!(!rx.overflowed.is_cancelled());
        assert!(!tx.push("c".into()));
        assert!(rx.overflowed.is_cancelled());
        assert_eq!(rx.recv().await.unwrap().as_str(), "a");
        assert_eq!(rx.try_recv().unwrap().as_str(), "b");
        assert_eq!(rx.try_recv(), None);
    }

    #[test]
    fn the_queue_is_bounded_in_bytes_too_but_takes_one_big_frame_when_empty() {
        let (tx, rx) = outbox(100, 10);
        assert!(
            tx.push("0123456789abcdef".into()),
            "one frame over the cap, alone"
        );
        assert!(!tx.push("x".into()), "nothing beside it");
        assert!(rx.overflowed.is_cancelled());
        let (tx, mut rx) = outbox(100, 10);
        assert!(tx.push("01234".into()));
        assert!(tx.push("56789".into()));
        assert!(!tx.push("a".into()));
        assert_eq!(rx.try_recv().unwrap().as_str(), "01234");
        assert!(tx.push("abcde".into()), "room again once read");
        assert_eq!(rx.bytes.queued.load(Ordering::Acquire), 10);
        drop(rx);
        assert!(!tx.push("z".into()));
        assert_eq!(
            tx.bytes.queued.load(Ordering::Acquire),
            10,
            "a refused frame is not counted"
        );
    }

    #[test]
    fn a_closed_queue_is_not_an_overflow() {
        let (tx, rx) = outbox(1, 1024);
        let token = rx.overflowed.clone();
        drop(rx);
        assert!(!tx.push("a".into()));
        assert!(!token.is_cancelled());
    }
}
