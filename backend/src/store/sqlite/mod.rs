//! The default [`MessageStore`]: one embedded SQLite file.
//!
//! Durability: the database runs in WAL mode; a batch is one transaction,
//! and the hub sends `ack` only after `COMMIT` returns. The default
//! `synchronous=FULL` fsyncs the WAL on every commit, so an acknowledged
//! event survives a killed server *and* a power cut. Group commit makes
//! that cheap: one fsync per batch (docs/benchmarks.md).
//! `--sqlite-synchronous normal` skips the fsync: still safe when the
//! process is killed, but a power cut may lose the last commits.
//!
//! Erasure: a deleted message's text must be gone from the file, not just
//! hidden. The writer runs with `secure_delete` (freed space is zeroed),
//! the full-text index with FTS5's `secure-delete`, and a batch that
//! deleted something is followed by a WAL checkpoint, so the old pages do
//! not linger in the log either. Every version of an edited text has its
//! own index row, and all of them go with the message.
//!
//! Schema versions are numbered in `PRAGMA user_version` and applied in
//! order at start-up, each in its own transaction. Writing is in
//! [`write`], reading and search in [`read`].

mod accounts;
mod control;
mod read;
mod write;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard};

use parley_protocol::{ChatMessage, RoomEvent};
use rusqlite::{Connection, OpenFlags, OptionalExtension};

use super::{
    Applied, Found, MessageStore, NewEvent, Page, Retention, RoomControl, Rules, Search, StoreError,
};

/// The first schema: messages only. Kept verbatim so the migration test can
/// build a version-1 database.
pub const SCHEMA_V1: &str = "
    CREATE TABLE messages (
        room TEXT NOT NULL,
        seq  INTEGER NOT NULL,
        nick TEXT NOT NULL,
        text TEXT NOT NULL,
        ts   INTEGER NOT NULL,
        cid  TEXT,
        PRIMARY KEY (room, seq)
    ) WITHOUT ROWID;
";

/// Version 2: each room's last seq in its own table, so `seq` continues after
/// retention deletes a room's newest messages; and an index for age-based
/// retention.
const SCHEMA_V2: &str = "
    CREATE TABLE rooms (
        name     TEXT PRIMARY KEY,
        last_seq INTEGER NOT NULL
    ) WITHOUT ROWID;
    INSERT INTO rooms (name, last_seq) SELECT room, MAX(seq) FROM messages GROUP BY room;
    CREATE INDEX messages_by_ts ON messages (ts);
";

/// Version 3: message life. Messages keep their current state (reply,
/// quote, mentions, edit time, tombstone) and their place in the full-text
/// index; changes are events of their own; reactions are counted per
/// message.
const SCHEMA_V3: &str = "
    ALTER TABLE messages ADD COLUMN reply_to INTEGER;
    ALTER TABLE messages ADD COLUMN quote_nick TEXT;
    ALTER TABLE messages ADD COLUMN quote_text TEXT;
    ALTER TABLE messages ADD COLUMN mentions TEXT NOT NULL DEFAULT '';
    ALTER TABLE messages ADD COLUMN edited_ts INTEGER;
    ALTER TABLE messages ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE messages ADD COLUMN search_id INTEGER;
    CREATE TABLE changes (
        room     TEXT NOT NULL,
        seq      INTEGER NOT NULL,
        kind     TEXT NOT NULL,
        target   INTEGER NOT NULL,
        nick     TEXT NOT NULL,
        ts       INTEGER NOT NULL,
        text     TEXT,
        mentions TEXT,
        emoji    TEXT,
        on_      INTEGER,
        cid      TEXT,
        PRIMARY KEY (room, seq)
    ) WITHOUT ROWID;
    CREATE INDEX changes_by_target ON changes (room, target);
    CREATE INDEX changes_by_ts ON changes (ts);
    CREATE TABLE reactions (
        room   TEXT NOT NULL,
        target INTEGER NOT NULL,
        emoji  TEXT NOT NULL,
        nick   TEXT NOT NULL,
        seq    INTEGER NOT NULL,
        PRIMARY KEY (room, target, emoji, nick)
    ) WITHOUT ROWID;
    CREATE VIRTUAL TABLE search USING fts5(text, tokenize = 'unicode61 remove_diacritics 2');
    INSERT INTO search (search, rank) VALUES ('secure-delete', 1);
";

/// Version 3's second step: the messages already stored go into the index.
fn index_existing(tx: &rusqlite::Transaction<'_>) -> Result<(), rusqlite::Error> {
    let rows: Vec<(String, i64, String)> = tx
        .prepare("SELECT room, seq, text FROM messages")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    for (room, seq, text) in rows {
        tx.execute("INSERT INTO search (text) VALUES (?1)", [&text])?;
        let id = tx.last_insert_rowid();
        tx.execute(
            "UPDATE messages SET search_id = ?1 WHERE room = ?2 AND seq = ?3",
            rusqlite::params![id, room, seq],
        )?;
    }
    tx.execute_batch("CREATE UNIQUE INDEX messages_by_search ON messages (search_id);")
}

/// Version 4: an edit gives its new text an index row of its own and keeps
/// the row of the text it replaced, so that every version can be erased
/// with the message.
const SCHEMA_V4: &str = "
    ALTER TABLE changes ADD COLUMN search_id INTEGER;
";

/// One schema step: SQL, and what else to do in the same transaction.
type Migration = (
    &'static str,
    fn(&rusqlite::Transaction<'_>) -> Result<(), rusqlite::Error>,
);

/// Every schema version, in order; index + 1 is the version number.
const MIGRATIONS: [Migration; 6] = [
    (SCHEMA_V1, |_| Ok(())),
    (SCHEMA_V2, |_| Ok(())),
    (SCHEMA_V3, index_existing),
    (SCHEMA_V4, |_| Ok(())),
    (accounts::SCHEMA_V5, |_| Ok(())),
    (control::SCHEMA_V6, |_| Ok(())),
];

/// How hard SQLite syncs a commit to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Synchronous {
    /// Safe against process crashes (the WAL is written before COMMIT returns).
    Normal,
    /// Also safe against power loss: fsync on every commit (the default).
    #[default]
    Full,
}

/// Chat history in a SQLite file.
pub struct SqliteStore {
    /// Where the file is.
    path: PathBuf,
    /// The one writing connection, and each room's last seq as committed.
    writer: Mutex<Writer>,
    /// The read-only connections.
    readers: Readers,
}

/// A fixed-size pool of read-only connections: at most `max` are ever
/// open, and a read that finds none idle waits for one.
struct Readers {
    max: usize,
    /// Idle connections, and how many are open in all.
    pool: Mutex<(Vec<Connection>, usize)>,
    returned: Condvar,
}

/// The writing connection and what it knows.
struct Writer {
    /// The connection.
    conn: Connection,
    /// Last committed seq per room (loaded on first use).
    last_seqs: HashMap<String, u64>,
}

fn open_error(path: &Path, reason: impl ToString) -> StoreError {
    StoreError::Open {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

/// Brings a database up to the newest schema.
fn migrate(conn: &mut Connection) -> Result<(), rusqlite::Error> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (index, (sql, then)) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        then(&tx)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and migrates it;
    /// reads use at most `max_readers` connections.
    pub fn open(
        path: &Path,
        synchronous: Synchronous,
        max_readers: usize,
    ) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| open_error(path, format!("cannot create {}: {e}", dir.display())))?;
        }
        let mut conn = Connection::open(path).map_err(|e| open_error(path, e))?;
        let prepare = |conn: &mut Connection| -> Result<(), rusqlite::Error> {
            conn.pragma_update(None, "busy_timeout", 5000)?;
            let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(rusqlite::Error::InvalidQuery);
            }
            let sync = match synchronous {
                Synchronous::Normal => "NORMAL",
                Synchronous::Full => "FULL",
            };
            conn.pragma_update(None, "synchronous", sync)?;
            conn.pragma_update(None, "secure_delete", "ON")?;
            let check: String = conn.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
            if check != "ok" {
                return Err(rusqlite::Error::InvalidQuery);
            }
            migrate(conn)
        };
        prepare(&mut conn).map_err(|e| match e {
            rusqlite::Error::InvalidQuery => {
                open_error(path, "not a healthy SQLite database in WAL mode")
            }
            other => open_error(path, other),
        })?;
        Ok(SqliteStore {
            path: path.to_owned(),
            writer: Mutex::new(Writer {
                conn,
                last_seqs: HashMap::new(),
            }),
            readers: Readers {
                max: max_readers.max(1),
                pool: Mutex::new((Vec::new(), 0)),
                returned: Condvar::new(),
            },
        })
    }

    fn writer(&self) -> MutexGuard<'_, Writer> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on an idle read-only connection, opening one if fewer than
    /// the maximum are open, else waiting for one to come back.
    fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, rusqlite::Error>,
    ) -> Result<T, StoreError> {
        let readers = &self.readers;
        let idle = {
            let mut pool = readers.pool.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                if let Some(conn) = pool.0.pop() {
                    break Some(conn);
                }
                if pool.1 < readers.max {
                    pool.1 += 1;
                    break None;
                }
                pool = readers
                    .returned
                    .wait(pool)
                    .unwrap_or_else(|p| p.into_inner());
            }
        };
        let conn = match idle {
            Some(conn) => conn,
            None => {
                let opened = Connection::open_with_flags(
                    &self.path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                );
                match opened {
                    Ok(conn) => conn,
                    Err(err) => {
                        readers.pool.lock().unwrap_or_else(|p| p.into_inner()).1 -= 1;
                        readers.returned.notify_one();
                        return Err(err.into());
                    }
                }
            }
        };
        let result = f(&conn);
        readers
            .pool
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .0
            .push(conn);
        readers.returned.notify_one();
        Ok(result?)
    }

    /// How many read-only connections are open.
    pub fn readers_open(&self) -> usize {
        self.readers
            .pool
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .1
    }

    /// Writes the log into the database file and empties it (so the pages
    /// of deleted texts are gone from both). Done after deletions; callable
    /// by tests.
    pub fn checkpoint(&self) -> Result<(), StoreError> {
        self.writer()
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }
}

/// SQLite integers are `i64`; seqs and times fit easily. Negative values
/// (which Parley never writes) read as 0.
fn to_sql(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Reads an integer column written by [`to_sql`].
fn column_u64(row: &rusqlite::Row<'_>, index: usize) -> Result<u64, rusqlite::Error> {
    Ok(row.get::<_, i64>(index)?.max(0) as u64)
}

fn room_last_seq(conn: &Connection, room: &str) -> Result<u64, rusqlite::Error> {
    conn.prepare_cached("SELECT last_seq FROM rooms WHERE name = ?1")?
        .query_row([room], |r| column_u64(r, 0))
        .optional()
        .map(|seq| seq.unwrap_or(0))
}

/// Nicknames as stored in one column (they cannot hold a newline).
fn join_nicks(nicks: &[String]) -> String {
    nicks.join("\n")
}

fn split_nicks(stored: &str) -> Vec<String> {
    stored
        .split('\n')
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect()
}

impl MessageStore for SqliteStore {
    fn append_batch(&self, batch: &[NewEvent], rules: &Rules) -> Result<Vec<Applied>, StoreError> {
        let (applied, erased) = write::append(&mut self.writer(), batch, rules)?;
        if erased {
            // Best effort: a reader holding an old snapshot can keep the log
            // from being emptied now; the next deletion tries again.
            if let Err(err) = self.checkpoint() {
                tracing::debug!(%err, "checkpoint after a deletion did not finish");
            }
        }
        Ok(applied)
    }

    fn last_seq(&self, room: &str) -> Result<u64, StoreError> {
        self.read(|conn| room_last_seq(conn, room))
    }

    fn events(
        &self,
        room: &str,
        after: u64,
        upto: u64,
        limit: usize,
    ) -> Result<Page<RoomEvent>, StoreError> {
        self.read(|conn| read::events(conn, room, after, upto, limit))
    }

    fn messages(
        &self,
        room: &str,
        before: u64,
        limit: usize,
    ) -> Result<Page<ChatMessage>, StoreError> {
        self.read(|conn| read::messages(conn, room, before, limit))
    }

    fn search(&self, search: &Search) -> Result<Found, StoreError> {
        self.read(|conn| read::search(conn, search))
    }

    fn prune(&self, retention: &Retention, now_ms: u64, max: usize) -> Result<usize, StoreError> {
        write::prune(&self.writer().conn, retention, now_ms, max)
    }

    fn control(&self, room: &str) -> Result<RoomControl, StoreError> {
        self.read(|conn| control::control(conn, room))
    }

    fn modlog(&self, room: &str, before: u64, limit: usize) -> Result<Page<RoomEvent>, StoreError> {
        self.read(|conn| control::modlog(conn, room, before, limit))
    }

    fn dm_between(&self, a: &str, b: &str) -> Result<Option<String>, StoreError> {
        self.read(|conn| control::dm_between(conn, a, b))
    }

    fn dms_of(&self, key: &str) -> Result<Vec<String>, StoreError> {
        self.read(|conn| control::dms_of(conn, key))
    }
}

#[cfg(test)]
mod tests;
