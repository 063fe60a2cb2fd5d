//! Where chat history is kept.
//!
//! The hub talks to history only through [`MessageStore`], a deliberately
//! narrow, synchronous interface: append a batch of room events in one
//! transaction (the store gives each its room's next `seq`, and applies
//! each change to the message it targets), read a room's events after a
//! `seq` (catch-ups), its messages before one (scrollback, in their
//! current state), and search. Nothing here knows about members or
//! sockets, so a networked store (PostgreSQL, for several servers) can be
//! added without touching the hub. The hub never calls a store from an
//! async worker thread: appends run on the [`committer`](crate::committer)
//! thread, reads on the blocking pool.
//!
//! Rules that depend on what is stored (only the author edits, within the
//! edit window; at most so many emoji per message) are checked here, in
//! the same transaction that applies the change, so they hold in commit
//! order. A refused event takes no `seq`; the rest of its batch goes on.
//!
//! Accounts and sign-in tokens are kept by the same store behind a second
//! interface, [`AccountStore`]; [`Stores`] holds one store as both.
//!
//! Three implementations: [`SqliteStore`] (the default, durable, with a
//! full-text index), [`PostgresStore`] (one database shared by several
//! servers) and [`MemoryStore`] (forgets everything on exit; for tests and
//! throwaway runs). A leaf module: it imports nothing of the crate.

pub mod accounts;
#[cfg(test)]
mod contract;
pub mod control;
#[cfg(test)]
mod fixtures;
mod memory;
#[cfg(test)]
#[path = "../../tests/common/postgres.rs"]
pub(crate) mod pg_harness;
mod postgres;
mod search;
mod sqlite;

use std::sync::Arc;

use parley_protocol::{ChatMessage, RoomEvent, SearchHit};
use thiserror::Error;

pub use self::postgres::{redact as redact_url, PostgresStore};
pub use accounts::{Account, AccountError, AccountStore, TokenRecord};
pub use control::{Action, Keep, Person, Rank, RoomControl};
pub use memory::MemoryStore;
pub use search::{query_words, word_matches};
pub use sqlite::{SqliteStore, Synchronous, SCHEMA_V1};

/// A failure of the storage layer.
#[derive(Debug, Error)]
pub enum StoreError {
    /// SQLite reported an error.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL reported an error, or the connection to it failed.
    #[error("database error: {0}")]
    Postgres(#[from] ::postgres::Error),
    /// The database could not be opened or prepared.
    #[error("cannot open the database {path}: {reason}")]
    Open {
        /// The path or URL given.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// The database URL is not one this server understands.
    #[error(
        "unsupported database URL {0:?}: use postgres://…, sqlite://PATH, a file path, or memory"
    )]
    BadUrl(String),
    /// Any other backend failure.
    #[error("storage failed: {0}")]
    Backend(String),
}

impl StoreError {
    /// Whether the database is out of reach for now (a connection failed,
    /// the server is restarting, a transaction lost a race) rather than the
    /// request being wrong: trying again shortly may work.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Postgres(err) => self::postgres::unavailable(err),
            _ => false,
        }
    }
}

/// What a client asked to happen in a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A new message.
    Message {
        /// The validated text.
        text: String,
        /// The message it answers.
        reply_to: Option<u64>,
        /// The members its text names.
        mentions: Vec<String>,
    },
    /// A new text for one's own message.
    Edit {
        /// The message.
        target: u64,
        /// The validated new text.
        text: String,
        /// The members it names.
        mentions: Vec<String>,
    },
    /// One's own message taken back, its text erased.
    Delete {
        /// The message.
        target: u64,
    },
    /// A reaction given (`on`) or taken back.
    React {
        /// The message.
        target: u64,
        /// One emoji.
        emoji: String,
        /// Given or taken back.
        on: bool,
    },
    /// A moderation action (or a topic), checked against the room's
    /// control state in the transaction.
    Moderate {
        /// Who acts (the event's `nick`), as the hub knows them.
        actor: Person,
        /// What they do.
        action: Action,
    },
}

/// A room event before the store gives it a `seq`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// The room, normalised.
    pub room: String,
    /// Who did it.
    pub nick: String,
    /// The client's id for it.
    pub cid: Option<String>,
    /// Server time, ms since the Unix epoch (set by the committer).
    pub ts: u64,
    /// What happened.
    pub change: Change,
}

/// The rules the store checks against what it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// How long after a message its author may edit it, in ms; 0: always.
    pub edit_window_ms: u64,
    /// Most distinct emoji on one message.
    pub max_reactions: usize,
}

/// The rules themselves, one place for every engine: each store looks up
/// what they need (the message's author and time, its reactions) its own
/// way, in its transaction, and asks here.
impl Rules {
    /// Whether `nick` may edit, at `now`, a message `author` sent at
    /// `sent`: only its author, and within the edit window.
    pub fn may_edit(&self, nick: &str, author: &str, sent: u64, now: u64) -> Result<(), Refusal> {
        self.may_delete(nick, author)?;
        if self.edit_window_ms > 0 && now.saturating_sub(sent) > self.edit_window_ms {
            return Err(Refusal::EditWindowClosed);
        }
        Ok(())
    }

    /// Whether `nick` may delete a message by `author`: only its author.
    pub fn may_delete(&self, nick: &str, author: &str) -> Result<(), Refusal> {
        if nick == author {
            Ok(())
        } else {
            Err(Refusal::NotAuthor)
        }
    }

    /// Whether `emoji` may go on a message that has `distinct` different
    /// ones (`has_it`: this one among them, then it is no new one).
    pub fn may_react(&self, distinct: usize, has_it: bool) -> Result<(), Refusal> {
        if !has_it && distinct >= self.max_reactions {
            return Err(Refusal::TooManyReactions);
        }
        Ok(())
    }
}

/// Why the store refused one event of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum Refusal {
    /// No message with that `seq` in that room, or it was deleted.
    #[error("there is no such message in this room (or it was deleted)")]
    NoSuchMessage,
    /// Someone else's message.
    #[error("only its author may change a message")]
    NotAuthor,
    /// Older than the edit window.
    #[error("this message is too old to edit")]
    EditWindowClosed,
    /// As many distinct emoji as allowed, and this is another.
    #[error("this message has as many different reactions as it may")]
    TooManyReactions,
    /// Not the owner, an op or a server admin.
    #[error("only the room's owner, its ops and server admins may do that")]
    NotModerator,
    /// The target's rank is the actor's or higher.
    #[error("you may not do that to someone whose rank is the same as yours or higher")]
    Outranked,
    /// Only the owner makes ops.
    #[error("only the room's owner may make or unmake ops")]
    NotOwner,
    /// Ops and invites are for accounts.
    #[error("only accounts can be ops or be invited; that nickname has no account")]
    NotAnAccount,
    /// The room has an owner already, or a guest asked.
    #[error("the room already has an owner")]
    OwnerTaken,
    /// A direct message has no moderators.
    #[error("a direct message has no moderators")]
    DirectMessage,
    /// The room keeps as many bans as it may.
    #[error("this room has as many bans as it keeps; lift some first")]
    TooManyBans,
}

/// What became of one event of a batch.
pub type Applied = Result<RoomEvent, Refusal>;

/// A page of a room's events or messages, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items, oldest first.
    pub items: Vec<T>,
    /// True when older ones in the requested range were left out.
    pub more: bool,
}

impl<T> Default for Page<T> {
    fn default() -> Self {
        Page {
            items: Vec::new(),
            more: false,
        }
    }
}

/// A search: all of `words` (each a word start), in `rooms`, optionally by
/// `nick`, older than the hit `before`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    /// The words to find.
    pub words: Vec<String>,
    /// Where to look.
    pub rooms: Vec<String>,
    /// Only this author.
    pub nick: Option<String>,
    /// Only hits older than this cursor.
    pub before: Option<u64>,
    /// At most this many hits.
    pub limit: usize,
}

/// A page of search hits, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Found {
    /// The hits.
    pub hits: Vec<SearchHit>,
    /// The cursor for older hits, if there are any.
    pub next: Option<u64>,
}

/// Which old events may be deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retention {
    /// Keep at most this many events per room.
    pub keep_last: Option<u64>,
    /// Delete events older than this many milliseconds.
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
    /// Applies `batch` in one transaction, all or nothing: each event that
    /// `rules` allow gets its room's next `seq` (gap-free, also across
    /// restarts) and changes the message it targets; the others are refused
    /// and take no `seq`. Returns what became of each, in order.
    fn append_batch(&self, batch: &[NewEvent], rules: &Rules) -> Result<Vec<Applied>, StoreError>;

    /// The room's highest `seq` ever stored, 0 for a new room. Stays put when
    /// retention deletes events.
    fn last_seq(&self, room: &str) -> Result<u64, StoreError>;

    /// The newest `limit` events with `after < seq <= upto`, oldest first,
    /// messages in their current state; `more` says whether older ones in
    /// that range were left out.
    fn events(
        &self,
        room: &str,
        after: u64,
        upto: u64,
        limit: usize,
    ) -> Result<Page<RoomEvent>, StoreError>;

    /// The newest `limit` messages with `seq < before`, oldest first, in
    /// their current state (deleted ones as tombstones).
    fn messages(
        &self,
        room: &str,
        before: u64,
        limit: usize,
    ) -> Result<Page<ChatMessage>, StoreError>;

    /// Messages (not deleted) matching a search, newest first.
    fn search(&self, search: &Search) -> Result<Found, StoreError>;

    /// Deletes up to `max` events the retention policy no longer keeps, as
    /// of `now_ms`; returns how many it deleted.
    fn prune(&self, retention: &Retention, now_ms: u64, max: usize) -> Result<usize, StoreError>;

    /// The room's control state (owner, ops, bans, topic, modes, …) as of
    /// the last commit; the default for a room that has none.
    fn control(&self, room: &str) -> Result<RoomControl, StoreError>;

    /// The newest `limit` moderation and topic events with `seq < before`,
    /// newest first; `more` says whether older ones exist.
    fn modlog(&self, room: &str, before: u64, limit: usize) -> Result<Page<RoomEvent>, StoreError>;

    /// The direct message room of the accounts with keys `a` and `b`, if
    /// one was opened.
    fn dm_between(&self, a: &str, b: &str) -> Result<Option<String>, StoreError>;

    /// The direct message rooms of the account with key `key`.
    fn dms_of(&self, key: &str) -> Result<Vec<String>, StoreError>;
}

/// A store, seen through both of its interfaces.
#[derive(Clone)]
pub struct Stores {
    /// History.
    pub messages: Arc<dyn MessageStore>,
    /// Accounts and tokens.
    pub accounts: Arc<dyn AccountStore>,
}

impl std::fmt::Debug for Stores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stores").finish_non_exhaustive()
    }
}

impl Stores {
    /// Both interfaces of one store.
    pub fn of<S: MessageStore + AccountStore>(store: Arc<S>) -> Stores {
        Stores {
            messages: store.clone(),
            accounts: store,
        }
    }

    /// A [`MemoryStore`] keeping `per_room` events of each room.
    pub fn memory(per_room: usize) -> Stores {
        Stores::of(Arc::new(MemoryStore::new(per_room)))
    }
}

/// Opens the store a `--database-url` names: `memory`, `postgres://…` or
/// `postgresql://…` (PostgreSQL), `sqlite://PATH`, `sqlite:PATH` or a
/// plain file path. `memory_per_room` bounds the in-memory store,
/// `max_readers` the read connections of SQLite or PostgreSQL.
pub fn open(
    url: &str,
    synchronous: Synchronous,
    memory_per_room: usize,
    max_readers: usize,
) -> Result<Stores, StoreError> {
    let url = url.trim();
    if url == "memory" || url == "memory:" {
        return Ok(Stores::memory(memory_per_room));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Stores::of(Arc::new(PostgresStore::open(url, max_readers)?)));
    }
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    if path.is_empty() || path.contains("://") {
        return Err(StoreError::BadUrl(self::postgres::redact(url)));
    }
    Ok(Stores::of(Arc::new(SqliteStore::open(
        std::path::Path::new(path),
        synchronous,
        max_readers,
    )?)))
}

/// The newest `limit` of `items` (oldest first), and whether any were left out.
pub(crate) fn newest_page<T: Clone>(
    items: impl DoubleEndedIterator<Item = T>,
    limit: usize,
) -> Page<T> {
    let mut items: Vec<T> = items.rev().take(limit.saturating_add(1)).collect();
    let more = items.len() > limit;
    items.truncate(limit);
    items.reverse();
    Page { items, more }
}

#[cfg(test)]
mod rules_tests {
    use super::{Refusal, Rules};

    #[test]
    fn only_authors_change_their_messages_edits_within_the_window() {
        let rules = Rules {
            edit_window_ms: 1_000,
            max_reactions: 2,
        };
        assert_eq!(rules.may_delete("ana", "ana"), Ok(()));
        assert_eq!(rules.may_delete("bob", "ana"), Err(Refusal::NotAuthor));
        assert_eq!(rules.may_edit("ana", "ana", 5_000, 6_000), Ok(()));
        assert_eq!(
            rules.may_edit("ana", "ana", 5_000, 6_001),
            Err(Refusal::EditWindowClosed)
        );
        assert_eq!(
            rules.may_edit("bob", "ana", 5_000, 5_000),
            Err(Refusal::NotAuthor)
        );
        let always = Rules {
            edit_window_ms: 0,
            ..rules
        };
        assert_eq!(always.may_edit("ana", "ana", 0, u64::MAX), Ok(()));
        assert_eq!(rules.may_react(1, false), Ok(()));
        assert_eq!(rules.may_react(2, true), Ok(()));
        assert_eq!(rules.may_react(2, false), Err(Refusal::TooManyReactions));
    }
}
