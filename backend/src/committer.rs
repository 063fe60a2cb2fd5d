//! Group commit: one thread that writes messages to the store in batches and
//! hands each committed batch back to the hub for delivery.
//!
//! Every `send` is queued here instead of being written on the spot. The
//! thread takes everything that queued up while the previous transaction was
//! committing (and, with `--commit-window`, waits that long for more), writes
//! it in one transaction, and only then lets the hub relay the messages and
//! acknowledge them. So an `ack` always means "committed", a busy server pays
//! for one commit per batch rather than per message, and database work never
//! runs on the async worker threads. The same thread applies the retention
//! policy between batches, in small chunks, so pruning never holds up relaying.

use std::sync::mpsc::{self, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parley_protocol::ChatMessage;

use crate::hub::SessionId;
use crate::outbox::Outbox;
use crate::store::{MessageStore, NewMessage, Retention, StoreError};

/// Who to tell about a message once its batch is committed (or failed).
#[derive(Debug)]
pub struct Receipt {
    /// The author's session: everyone but it gets the message.
    pub author: SessionId,
    /// The author's connection, for the `ack` or the `error`.
    pub reply: Outbox,
}

/// A message waiting to be committed.
#[derive(Debug)]
pub struct Submission {
    /// The message (its `ts` is set by the committer).
    pub message: NewMessage,
    /// Who sent it.
    pub receipt: Receipt,
}

/// Called on the committer thread with each batch's outcome.
pub type DeliverFn =
    dyn Fn(Vec<Receipt>, Vec<NewMessage>, Result<Vec<ChatMessage>, StoreError>) + Send + Sync;

/// How the committer batches and prunes.
#[derive(Debug, Clone)]
pub struct CommitterConfig {
    /// Most messages in one transaction.
    pub max_batch: usize,
    /// How long to wait for more messages after the first of a batch.
    pub window: Duration,
    /// Messages that may wait for a commit before `send`s are refused as busy.
    pub queue_capacity: usize,
    /// What to delete, and how often to look.
    pub retention: Retention,
    /// How often to apply the retention policy.
    pub prune_every: Duration,
    /// Most messages deleted between two batches.
    pub prune_chunk: usize,
}

/// Why a message could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubmitError {
    /// The queue is full: the store is not keeping up.
    Busy,
    /// The committer has stopped (the server is shutting down).
    Closed,
}

/// The handle to the committer thread.
pub struct Committer {
    /// The queue; `None` once closed.
    queue: RwLock<Option<SyncSender<Submission>>>,
    /// The thread, until joined.
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Committer {
    /// Starts the thread.
    pub fn start(
        store: Arc<dyn MessageStore>,
        config: CommitterConfig,
        deliver: Box<DeliverFn>,
    ) -> Self {
        let (queue, incoming) = mpsc::sync_channel(config.queue_capacity.max(1));
        let thread = std::thread::Builder::new()
            .name("parley-committer".into())
            .spawn(move || run(incoming, store, config, deliver))
            .expect("the committer thread starts");
        Committer {
            queue: RwLock::new(Some(queue)),
            thread: Mutex::new(Some(thread)),
        }
    }

    /// Queues a message without waiting.
    pub fn submit(&self, submission: Submission) -> Result<(), SubmitError> {
        let queue = self.queue.read().unwrap_or_else(|p| p.into_inner());
        let Some(queue) = queue.as_ref() else {
            return Err(SubmitError::Closed);
        };
        match queue.try_send(submission) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => Err(SubmitError::Busy),
            Err(TrySendError::Disconnected(_)) => Err(SubmitError::Closed),
        }
    }

    /// Stops taking messages, commits and delivers what is queued, and waits
    /// for the thread to finish. Blocking: call it from `spawn_blocking`.
    pub fn close(&self) {
        self.queue.write().unwrap_or_else(|p| p.into_inner()).take();
        let thread = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(thread) = thread {
            if thread.join().is_err() {
                tracing::error!("the committer thread panicked");
            }
        }
    }
}

impl Drop for Committer {
    fn drop(&mut self) {
        // Let the thread drain and end on its own; don't block the dropper.
        self.queue.write().unwrap_or_else(|p| p.into_inner()).take();
    }
}

/// The thread's loop.
fn run(
    incoming: mpsc::Receiver<Submission>,
    store: Arc<dyn MessageStore>,
    config: CommitterConfig,
    deliver: Box<DeliverFn>,
) {
    let pruning = !config.retention.is_forever();
    let mut next_prune = Instant::now();
    let mut last_ts = 0;
    loop {
        if pruning && Instant::now() >= next_prune {
            match store.prune(&config.retention, crate::time::now_ms(), config.prune_chunk) {
                // A full chunk means there may be more: look again soon.
                Ok(n) if n >= config.prune_chunk => next_prune = Instant::now(),
                Ok(n) => {
                    if n > 0 {
                        tracing::debug!(deleted = n, "retention pruned messages");
                    }
                    next_prune = Instant::now() + config.prune_every;
                }
                Err(err) => {
                    tracing::warn!(%err, "retention pruning failed");
                    next_prune = Instant::now() + config.prune_every;
                }
            }
        }
        let first = if pruning {
            match incoming.recv_timeout(next_prune.saturating_duration_since(Instant::now())) {
                Ok(submission) => submission,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => return,
            }
        } else {
            match incoming.recv() {
                Ok(submission) => submission,
                Err(_) => return,
            }
        };
        let mut batch = vec![first];
        if !config.window.is_zero() {
            let deadline = Instant::now() + config.window;
            while batch.len() < config.max_batch {
                let left = deadline.saturating_duration_since(Instant::now());
                match incoming.recv_timeout(left) {
                    Ok(submission) => batch.push(submission),
                    Err(_) => break,
                }
            }
        }
        while batch.len() < config.max_batch {
            match incoming.try_recv() {
                Ok(submission) => batch.push(submission),
                Err(_) => break,
            }
        }
        // One clock reading per batch, never going backwards.
        last_ts = crate::time::now_ms().max(last_ts);
        let (receipts, messages): (Vec<Receipt>, Vec<NewMessage>) = batch
            .into_iter()
            .map(|s| {
                (
                    s.receipt,
                    NewMessage {
                        ts: last_ts,
                        ..s.message
                    },
                )
            })
            .unzip();
        let result = store.append_batch(&messages);
        if let Err(err) = &result {
            tracing::error!(%err, messages = messages.len(), "a batch could not be committed");
        }
        deliver(receipts, messages, result);
    }
}
