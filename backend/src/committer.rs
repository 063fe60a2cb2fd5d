//! Group commit: one thread that writes room events (messages, edits,
//! deletions, reactions) to the store in batches and hands each committed
//! batch back for delivery.
//!
//! Every `send` is queued here instead of being written on the spot. The
//! thread takes everything that queued up while the previous transaction was
//! committing (and, with `--commit-window`, waits that long for more), writes
//! it in one transaction, and only then hands the batch to its
//! [`CommitHandler`], which relays the messages and acknowledges them. So an
//! `ack` always means "committed", a busy server pays for one commit per
//! batch rather than per message, and database work never runs on the async
//! worker threads. The same thread applies the retention policy between
//! batches, in small chunks, so pruning never holds up relaying.
//!
//! The committer knows nothing of sessions or sockets: each message travels
//! with a receipt of the caller's type `R`, which comes back with the
//! outcome. The handler is the one edge back to the hub, named as a trait
//! (as centrifuge names its broker's `BrokerEventHandler`).

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::config::Limits;
use crate::store::{Applied, MessageStore, NewEvent, Retention, Rules, StoreError};

/// Where the committer reads the time it stamps each batch with (ms since
/// the Unix epoch). The server's is the system clock; tests set their own,
/// to step over the edit window.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// What happens to each batch once the store has answered. Called on the
/// committer thread, in commit order.
pub trait CommitHandler<R>: Send + 'static {
    /// The batch is durable: each receipt with what became of its event
    /// (stored, with its `seq` and time, or refused by the store's rules).
    fn committed(&self, batch: Vec<(R, Applied)>);

    /// Nothing of the batch was stored.
    fn failed(&self, batch: Vec<(R, NewEvent)>, error: &StoreError);
}

/// How the committer batches and prunes, and the rules the store checks.
#[derive(Clone)]
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
    /// The edit window and the reaction cap.
    pub rules: Rules,
    /// The time each batch is stamped with.
    pub clock: Clock,
}

impl CommitterConfig {
    /// The committer's part of the server's limits.
    pub fn from_limits(limits: &Limits) -> Self {
        CommitterConfig {
            max_batch: limits.commit_batch,
            window: limits.commit_window,
            queue_capacity: limits.commit_queue,
            retention: Retention {
                keep_last: limits.retain_messages,
                keep_ms: limits.retain_for.map(|d| d.as_millis() as u64),
            },
            prune_every: limits.prune_every,
            prune_chunk: 1000,
            rules: Rules {
                edit_window_ms: limits.edit_window.as_millis() as u64,
                max_reactions: limits.max_reactions,
            },
            clock: Arc::new(crate::time::now_ms),
        }
    }
}

/// Why a message could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubmitError {
    /// The queue is full: the store is not keeping up.
    Busy,
    /// The committer has stopped (the server is shutting down).
    Closed,
}

/// An event waiting for its commit, with its receipt.
type Submission<R> = (R, NewEvent);

/// The queue into the committer. Creating it starts nothing; [`start`]
/// starts the thread that empties it.
pub struct Committer<R> {
    /// The queue; `None` once closed.
    queue: RwLock<Option<SyncSender<Submission<R>>>>,
}

/// The other end of the queue, for [`start`].
pub struct Backlog<R>(Receiver<Submission<R>>);

impl<R: Send + 'static> Committer<R> {
    /// A queue holding at most `capacity` messages.
    pub fn new(capacity: usize) -> (Self, Backlog<R>) {
        let (queue, incoming) = mpsc::sync_channel(capacity);
        (
            Committer {
                queue: RwLock::new(Some(queue)),
            },
            Backlog(incoming),
        )
    }

    /// Queues an event without waiting.
    pub fn submit(&self, receipt: R, message: NewEvent) -> Result<(), SubmitError> {
        let queue = self.queue.read().unwrap_or_else(|p| p.into_inner());
        let Some(queue) = queue.as_ref() else {
            return Err(SubmitError::Closed);
        };
        match queue.try_send((receipt, message)) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => Err(SubmitError::Busy),
            Err(TrySendError::Disconnected(_)) => Err(SubmitError::Closed),
        }
    }

    /// Stops taking messages. The thread commits and hands back what is
    /// queued, then ends.
    pub fn close(&self) {
        self.queue.write().unwrap_or_else(|p| p.into_inner()).take();
    }
}

/// Starts the committer thread: it empties `backlog` into `store` until the
/// queue is closed and drained, handing each batch to `handler`.
pub fn start<R: Send + 'static>(
    backlog: Backlog<R>,
    store: Arc<dyn MessageStore>,
    config: CommitterConfig,
    handler: impl CommitHandler<R>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("parley-committer".into())
        .spawn(move || run(backlog.0, store, config, handler))
}

/// The thread's loop.
fn run<R>(
    incoming: Receiver<Submission<R>>,
    store: Arc<dyn MessageStore>,
    config: CommitterConfig,
    handler: impl CommitHandler<R>,
) {
    let pruning = !config.retention.is_forever();
    let mut next_prune = Instant::now();
    let mut last_ts = 0;
    loop {
        if pruning && Instant::now() >= next_prune {
            next_prune = prune(store.as_ref(), &config);
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
        let batch = gather(&incoming, first, &config);
        // One clock reading per batch, never going backwards.
        last_ts = (config.clock)().max(last_ts);
        let (receipts, events): (Vec<R>, Vec<NewEvent>) = batch
            .into_iter()
            .map(|(receipt, event)| {
                (
                    receipt,
                    NewEvent {
                        ts: last_ts,
                        ..event
                    },
                )
            })
            .unzip();
        match store.append_batch(&events, &config.rules) {
            Ok(applied) => handler.committed(receipts.into_iter().zip(applied).collect()),
            Err(err) => {
                tracing::error!(%err, events = events.len(), "a batch could not be committed");
                handler.failed(receipts.into_iter().zip(events).collect(), &err);
            }
        }
    }
}

/// `first` and whatever else is queued, up to a batch (waiting up to the
/// commit window for more).
fn gather<R>(
    incoming: &Receiver<Submission<R>>,
    first: Submission<R>,
    config: &CommitterConfig,
) -> Vec<Submission<R>> {
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
    batch
}

/// Applies the retention policy once; returns when to look again.
fn prune(store: &dyn MessageStore, config: &CommitterConfig) -> Instant {
    match store.prune(&config.retention, (config.clock)(), config.prune_chunk) {
        // A full chunk means there may be more: look again soon.
        Ok(n) if n >= config.prune_chunk => Instant::now(),
        Ok(n) => {
            tracing::debug!(deleted = n, "retention pruned messages");
            Instant::now() + config.prune_every
        }
        Err(err) => {
            tracing::warn!(%err, "retention pruning failed");
            Instant::now() + config.prune_every
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc::Sender;

    use parley_protocol::{ChatMessage, RoomEvent};

    use super::*;
    use crate::store::{MemoryStore, Page};

    /// A batch's outcome: the receipts with their seqs, or the failed receipts.
    type Outcome = Result<Vec<(u32, u64)>, Vec<u32>>;

    /// Reports each outcome on a channel.
    struct Report(Sender<Outcome>);

    impl CommitHandler<u32> for Report {
        fn committed(&self, batch: Vec<(u32, Applied)>) {
            let seqs = batch
                .into_iter()
                .map(|(r, applied)| (r, applied.map_or(0, |e| e.seq())))
                .collect();
            let _ = self.0.send(Ok(seqs));
        }
        fn failed(&self, batch: Vec<(u32, NewEvent)>, _: &StoreError) {
            let _ = self
                .0
                .send(Err(batch.into_iter().map(|(r, _)| r).collect()));
        }
    }

    fn message(room: &str) -> NewEvent {
        NewEvent {
            room: room.into(),
            nick: "n".into(),
            cid: None,
            ts: 0,
            change: crate::store::Change::Message {
                text: "t".into(),
                reply_to: None,
                mentions: vec![],
            },
        }
    }

    fn config() -> CommitterConfig {
        CommitterConfig::from_limits(&Limits::default())
    }

    /// A memory store that counts `prune` calls.
    struct Counting {
        inner: MemoryStore,
        prunes: std::sync::atomic::AtomicUsize,
    }

    impl MessageStore for Counting {
        fn append_batch(
            &self,
            batch: &[NewEvent],
            rules: &Rules,
        ) -> Result<Vec<Applied>, StoreError> {
            self.inner.append_batch(batch, rules)
        }
        fn last_seq(&self, room: &str) -> Result<u64, StoreError> {
            self.inner.last_seq(room)
        }
        fn events(
            &self,
            room: &str,
            after: u64,
            upto: u64,
            limit: usize,
        ) -> Result<Page<RoomEvent>, StoreError> {
            self.inner.events(room, after, upto, limit)
        }
        fn messages(
            &self,
            room: &str,
            before: u64,
            limit: usize,
        ) -> Result<Page<ChatMessage>, StoreError> {
            self.inner.messages(room, before, limit)
        }
        fn search(&self, search: &crate::store::Search) -> Result<crate::store::Found, StoreError> {
            self.inner.search(search)
        }
        fn prune(&self, retention: &Retention, now: u64, max: usize) -> Result<usize, StoreError> {
            self.prunes
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            self.inner.prune(retention, now, max)
        }
        fn control(&self, room: &str) -> Result<crate::store::RoomControl, StoreError> {
            self.inner.control(room)
        }
        fn modlog(
            &self,
            room: &str,
            before: u64,
            limit: usize,
        ) -> Result<Page<RoomEvent>, StoreError> {
            self.inner.modlog(room, before, limit)
        }
        fn dm_between(&self, a: &str, b: &str) -> Result<Option<String>, StoreError> {
            self.inner.dm_between(a, b)
        }
        fn dms_of(&self, key: &str) -> Result<Vec<String>, StoreError> {
            self.inner.dms_of(key)
        }
    }

    fn counting() -> Arc<Counting> {
        Arc::new(Counting {
            inner: MemoryStore::new(100),
            prunes: Default::default(),
        })
    }

    fn stored(store: &Counting, room: &str) -> Vec<u64> {
        let page = store.inner.messages(room, u64::MAX, 100).unwrap();
        page.items.iter().map(|m| m.seq).collect()
    }

    #[test]
    fn queued_messages_are_committed_in_one_batch_and_handed_back_in_order() {
        let (committer, backlog) = Committer::new(16);
        for receipt in 0..3 {
            committer
                .submit(receipt, message(if receipt == 1 { "b" } else { "a" }))
                .unwrap();
        }
        committer.close();
        assert_eq!(committer.submit(9, message("a")), Err(SubmitError::Closed));
        let (tx, rx) = std::sync::mpsc::channel();
        let store = counting();
        let before = crate::time::now_ms();
        start(backlog, store.clone(), config(), Report(tx))
            .unwrap()
            .join()
            .unwrap();
        let outcomes: Vec<_> = rx.iter().collect();
        assert_eq!(outcomes, vec![Ok(vec![(0, 1), (1, 1), (2, 2)])]);
        let page = store.inner.messages("a", 11, 10).unwrap();
        assert!(
            page.items.iter().all(|m| m.ts >= before),
            "stamped with the commit time"
        );
        assert_eq!(
            store.prunes.load(std::sync::atomic::Ordering::SeqCst),
            0,
            "no retention, no pruning"
        );
    }

    #[test]
    fn a_commit_window_gathers_what_arrives_within_it_up_to_a_batch() {
        let (committer, backlog) = Committer::new(16);
        let (tx, rx) = std::sync::mpsc::channel();
        let config = CommitterConfig {
            window: Duration::from_secs(5),
            max_batch: 3,
            ..config()
        };
        let thread = start(backlog, Arc::new(MemoryStore::new(10)), config, Report(tx)).unwrap();
        for receipt in 0..4 {
            committer.submit(receipt, message("a")).unwrap();
        }
        let first = rx.recv().unwrap().unwrap();
        assert_eq!(
            first.len(),
            3,
            "the window held the batch open until it was full"
        );
        committer.close();
        thread.join().unwrap();
        assert_eq!(
            rx.iter().map(|o| o.unwrap().len()).collect::<Vec<_>>(),
            vec![1]
        );
    }

    #[test]
    fn retention_prunes_in_chunks_until_done_then_waits() {
        let store = counting();
        let batch: Vec<_> = (0..7).map(|_| message("a")).collect();
        store.inner.append_batch(&batch, &config().rules).unwrap();
        let (committer, backlog) = Committer::<u32>::new(16);
        let config = CommitterConfig {
            retention: Retention {
                keep_last: Some(1),
                keep_ms: None,
            },
            prune_every: Duration::from_secs(3600),
            prune_chunk: 2,
            ..config()
        };
        let (tx, _rx) = std::sync::mpsc::channel();
        let thread = start(backlog, store.clone(), config, Report(tx)).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while stored(&store, "a") != vec![7] && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(
            stored(&store, "a"),
            vec![7],
            "full chunks are followed at once"
        );
        // Then it waits an hour: no more pruning.
        std::thread::sleep(Duration::from_millis(100));
        let prunes = store.prunes.load(std::sync::atomic::Ordering::SeqCst);
        assert_eq!(prunes, 4, "2 + 2 + 2, then a chunk that was not full");
        committer.close();
        thread.join().unwrap();
    }

    #[test]
    fn a_full_queue_is_busy() {
        let (committer, _backlog) = Committer::new(1);
        committer.submit(1, message("a")).unwrap();
        assert_eq!(committer.submit(2, message("a")), Err(SubmitError::Busy));
    }

    #[test]
    fn a_batch_never_exceeds_the_batch_size() {
        let (committer, backlog) = Committer::new(16);
        for receipt in 0..5 {
            committer.submit(receipt, message("a")).unwrap();
        }
        committer.close();
        let (tx, rx) = std::sync::mpsc::channel();
        let config = CommitterConfig {
            max_batch: 2,
            ..config()
        };
        start(backlog, Arc::new(MemoryStore::new(10)), config, Report(tx))
            .unwrap()
            .join()
            .unwrap();
        let sizes: Vec<usize> = rx.iter().map(|o| o.unwrap().len()).collect();
        assert_eq!(sizes, vec![2, 2, 1]);
    }
}
