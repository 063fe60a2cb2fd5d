//! Stores for tests: the in-memory store, with reads and commits that can
//! be held at a gate or made to fail, so tests can put the server in the
//! states a slow or broken database causes.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use parley::store::{
    Applied, Found, MemoryStore, MessageStore, NewEvent, Page, Retention, RoomControl, Rules,
    Search, StoreError,
};
use parley_protocol::{ChatMessage, RoomEvent};

/// A gate that calls wait at while it is closed. Open unless closed.
#[derive(Default)]
pub struct Gate {
    closed: Mutex<bool>,
    changed: Condvar,
    /// Notified when a call reaches the closed gate.
    reached: tokio::sync::Notify,
}

impl Gate {
    /// Holds every later call at the gate.
    pub fn close(&self) {
        *self.closed.lock().unwrap() = true;
    }

    /// Lets the held calls (and every later one) through.
    pub fn open(&self) {
        *self.closed.lock().unwrap() = false;
        self.changed.notify_all();
    }

    /// Waits (at most 10 s) until a call is held at the gate.
    pub async fn reached(&self) {
        tokio::time::timeout(Duration::from_secs(10), self.reached.notified())
            .await
            .expect("a call reaches the gate in time");
    }

    /// Waits while the gate is closed; at most 30 s, so a test that fails
    /// with the gate closed ends instead of hanging on its runtime's drop.
    fn pass(&self) {
        let mut closed = self.closed.lock().unwrap();
        if *closed {
            self.reached.notify_one();
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while *closed {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return;
            }
            closed = self.changed.wait_timeout(closed, left).unwrap().0;
        }
    }
}

/// The in-memory store with a gate on history reads (`events`, `messages`,
/// `search`) and one on
/// commits, and switches that make reads or commits fail.
pub struct TestStore {
    inner: MemoryStore,
    /// Holds history reads.
    pub reads: Gate,
    /// Holds `append_batch` calls.
    pub commits: Gate,
    failing_reads: AtomicBool,
    failing_commits: AtomicBool,
}

impl TestStore {
    /// A store keeping 10,000 messages per room, every gate open.
    pub fn new() -> Self {
        TestStore {
            inner: MemoryStore::new(10_000),
            reads: Gate::default(),
            commits: Gate::default(),
            failing_reads: AtomicBool::new(false),
            failing_commits: AtomicBool::new(false),
        }
    }

    /// Makes every read fail (`true`) or work again.
    pub fn fail_reads(&self, fail: bool) {
        self.failing_reads.store(fail, Ordering::SeqCst);
    }

    /// Makes every commit fail (`true`: the disk is full) or work again.
    pub fn fail_commits(&self, fail: bool) {
        self.failing_commits.store(fail, Ordering::SeqCst);
    }

    fn check_reads(&self) -> Result<(), StoreError> {
        if self.failing_reads.load(Ordering::SeqCst) {
            return Err(StoreError::Backend("the disk is unreadable".into()));
        }
        Ok(())
    }
}

impl MessageStore for TestStore {
    fn append_batch(&self, batch: &[NewEvent], rules: &Rules) -> Result<Vec<Applied>, StoreError> {
        self.commits.pass();
        if self.failing_commits.load(Ordering::SeqCst) {
            return Err(StoreError::Backend("disk full".into()));
        }
        self.inner.append_batch(batch, rules)
    }
    fn last_seq(&self, room: &str) -> Result<u64, StoreError> {
        self.check_reads()?;
        self.inner.last_seq(room)
    }
    fn events(
        &self,
        room: &str,
        after: u64,
        upto: u64,
        limit: usize,
    ) -> Result<Page<RoomEvent>, StoreError> {
        self.reads.pass();
        self.check_reads()?;
        self.inner.events(room, after, upto, limit)
    }
    fn messages(
        &self,
        room: &str,
        before: u64,
        limit: usize,
    ) -> Result<Page<ChatMessage>, StoreError> {
        self.reads.pass();
        self.check_reads()?;
        self.inner.messages(room, before, limit)
    }
    fn search(&self, search: &Search) -> Result<Found, StoreError> {
        self.reads.pass();
        self.check_reads()?;
        self.inner.search(search)
    }
    fn prune(&self, retention: &Retention, now: u64, max: usize) -> Result<usize, StoreError> {
        self.inner.prune(retention, now, max)
    }
    fn control(&self, room: &str) -> Result<RoomControl, StoreError> {
        self.check_reads()?;
        self.inner.control(room)
    }
    fn modlog(&self, room: &str, before: u64, limit: usize) -> Result<Page<RoomEvent>, StoreError> {
        self.reads.pass();
        self.check_reads()?;
        self.inner.modlog(room, before, limit)
    }
    fn dm_between(&self, a: &str, b: &str) -> Result<Option<String>, StoreError> {
        self.check_reads()?;
        self.inner.dm_between(a, b)
    }
    fn dms_of(&self, key: &str) -> Result<Vec<String>, StoreError> {
        self.check_reads()?;
        self.inner.dms_of(key)
    }
}
