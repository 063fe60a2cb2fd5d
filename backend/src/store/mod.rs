//! Where chat history is kept.
//!
//! The hub talks to history only through [`MessageStore`], a deliberately
//! narrow, synchronous interface: append a batch of messages in one
//! transaction (the store gives each its room's next `seq`), and read pages by
//! `seq`. Nothing here knows about rooms' members or sockets, so a networked
//! store (PostgreSQL, for several servers) can be added without touching the
//! hub. The hub never calls a store from an async worker thread: appends run
//! on the [`committer`](crate::committer) thread, reads in `spawn_blocking`.
//!
//! Two implementations: [`SqliteStore`] (the default, durable) and
//! [`MemoryStore`] (forgets everything on exit; for tests and throwaway runs).

mod memory;
mod sqlite;

use std::sync::Arc;

use parley_protocol::ChatMessage;
use thiserror::Error;

pub use memory::MemoryStore;
pub use sqlite::{SqliteStore, Synchronous, SCHEMA_V1};

/// A failure of the storage layer.
#[derive(Debug, Error)]
pub enum StoreError {
    /// SQLite reported an error.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The database could not be opened or prepared.
    #[error("cannot open the database {path}: {reason}")]
    Open {
        /// The path or URL given.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// The database URL is not one this server understands.
    #[error("unsupported database URL {0:?}: use sqlite://PATH, a file path, or memory")]
    BadUrl(String),
    /// Any other backend failure.
    #[error("storage failed: {0}")]
    Backend(String),
}

/// A message accepted from a client, before the store gives it a `seq`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    /// The room, normalised.
    pub room: String,
    /// The author's nickname.
    pub nick: String,
    /// The validated text.
    pub text: String,
    /// The author's id for the message.
    pub cid: Option<String>,
    /// Server time, ms since the Unix epoch.
    pub ts: u64,
}

/// A page of messages, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    /// The messages, oldest first.
    pub messages: Vec<ChatMessage>,
    /// True when older messages in the requested range were left out.
    pub more: bool,
}

/// Which old messages may be deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retention {
    /// Keep at most this many messages per room.
    pub keep_last: Option<u64>,
    /// Delete messages older than this many milliseconds.
    pub keep_ms: Option<u64>,
}

impl Retention {
    /// Whether this policy ever deletes anything.
    pub fn is_forever(&self) -> bool {
        self.keep_last.is_none() && self.keep_ms.is_none()
    }
}

/// Chat history, per room, ordered by `seq`.
pub trait MessageStore: Send + Sync + 'static {
    /// Appends `batch` atomically, all or nothing, giving each message its
    /// room's next `seq` (gap-free, also across restarts). Returns the stored
    /// messages in the same order.
    fn append_batch(&self, batch: &[NewMessage]) -> Result<Vec<ChatMessage>, StoreError>;

    /// The room's highest `seq` ever stored, 0 for a new room. Stays put when
    /// retention deletes messages.
    fn last_seq(&self, room: &str) -> Result<u64, StoreError>;

    /// The newest `limit` messages with `after < seq <= upto`, oldest first;
    /// `more` says whether older ones in that range were left out.
    fn range(&self, room: &str, after: u64, upto: u64, limit: usize) -> Result<Page, StoreError>;

    /// Deletes up to `max` messages the retention policy no longer keeps, as
    /// of `now_ms`; returns how many it deleted.
    fn prune(&self, retention: &Retention, now_ms: u64, max: usize) -> Result<usize, StoreError>;
}

/// Opens the store a `--database-url` names: `memory`, `sqlite://PATH`,
/// `sqlite:PATH` or a plain file path. `memory_per_room` bounds the
/// in-memory store, `max_readers` the SQLite store's read connections.
pub fn open(
    url: &str,
    synchronous: Synchronous,
    memory_per_room: usize,
    max_readers: usize,
) -> Result<Arc<dyn MessageStore>, StoreError> {
    let url = url.trim();
    if url == "memory" || url == "memory:" {
        return Ok(Arc::new(MemoryStore::new(memory_per_room)));
    }
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    if path.is_empty() || path.contains("://") {
        return Err(StoreError::BadUrl(url.to_owned()));
    }
    Ok(Arc::new(SqliteStore::open(
        std::path::Path::new(path),
        synchronous,
        max_readers,
    )?))
}

/// The newest `limit` of `matching` (oldest first), and whether any were left out.
pub(crate) fn newest_page<'a>(
    matching: impl DoubleEndedIterator<Item = &'a ChatMessage>,
    limit: usize,
) -> Page {
    let mut messages: Vec<ChatMessage> = matching
        .rev()
        .take(limit.saturating_add(1))
        .cloned()
        .collect();
    let more = messages.len() > limit;
    messages.truncate(limit);
    messages.reverse();
    Page { messages, more }
}
