//! The default [`MessageStore`]: one embedded SQLite file.
//!
//! Durability: the database runs in WAL mode; a batch is one transaction,
//! and the hub sends `ack` only after `COMMIT` returns. The default
//! `synchronous=FULL` fsyncs the WAL on every commit, so an acknowledged
//! message survives a killed server *and* a power cut. Group commit makes
//! that cheap: one fsync per batch, measured at about 10% of throughput on
//! these machines (docs/benchmarks.md). `--sqlite-synchronous normal` skips
//! the fsync: still safe when the process is killed (the WAL is written
//! before `COMMIT` returns), but a power cut may lose the last commits.
//!
//! Schema versions are numbered in `PRAGMA user_version` and applied in order
//! at start-up, each in its own transaction.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard};

use parley_protocol::ChatMessage;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

use super::{MessageStore, NewMessage, Page, Retention, StoreError};

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

/// Every schema version, in order; index + 1 is the version number.
const MIGRATIONS: [&str; 2] = [SCHEMA_V1, SCHEMA_V2];

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
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
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

impl MessageStore for SqliteStore {
    fn append_batch(&self, batch: &[NewMessage]) -> Result<Vec<ChatMessage>, StoreError> {
        let mut writer = self.writer();
        let Writer { conn, last_seqs } = &mut *writer;
        let tx = conn.transaction()?;
        let mut next: HashMap<&str, u64> = HashMap::new();
        let mut stored = Vec::with_capacity(batch.len());
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO messages (room, seq, nick, text, ts, cid) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for new in batch {
                let last = match next.get(new.room.as_str()) {
                    Some(seq) => *seq,
                    None => match last_seqs.get(&new.room) {
                        Some(seq) => *seq,
                        None => room_last_seq(&tx, &new.room)?,
                    },
                };
                let seq = last + 1;
                insert.execute(params![
                    new.room,
                    to_sql(seq),
                    new.nick,
                    new.text,
                    to_sql(new.ts),
                    new.cid
                ])?;
                next.insert(&new.room, seq);
                stored.push(ChatMessage {
                    room: new.room.clone(),
                    seq,
                    nick: new.nick.clone(),
                    text: new.text.clone(),
                    ts: new.ts,
                    cid: new.cid.clone(),
                });
            }
            let mut upsert = tx.prepare_cached(
                "INSERT INTO rooms (name, last_seq) VALUES (?1, ?2)
                 ON CONFLICT (name) DO UPDATE SET last_seq = excluded.last_seq",
            )?;
            for (room, seq) in &next {
                upsert.execute(params![room, to_sql(*seq)])?;
            }
        }
        tx.commit()?;
        for (room, seq) in next {
            last_seqs.insert(room.to_owned(), seq);
        }
        Ok(stored)
    }

    fn last_seq(&self, room: &str) -> Result<u64, StoreError> {
        self.read(|conn| room_last_seq(conn, room))
    }

    fn range(&self, room: &str, after: u64, upto: u64, limit: usize) -> Result<Page, StoreError> {
        self.read(|conn| {
            let mut statement = conn.prepare_cached(
                "SELECT seq, nick, text, ts, cid FROM messages
                 WHERE room = ?1 AND seq > ?2 AND seq <= ?3 ORDER BY seq DESC LIMIT ?4",
            )?;
            let rows = statement.query_map(
                params![room, to_sql(after), to_sql(upto), limit as i64 + 1],
                |r| {
                    Ok(ChatMessage {
                        room: room.to_owned(),
                        seq: column_u64(r, 0)?,
                        nick: r.get(1)?,
                        text: r.get(2)?,
                        ts: column_u64(r, 3)?,
                        cid: r.get(4)?,
                    })
                },
            )?;
            let mut messages = rows.collect::<Result<Vec<_>, _>>()?;
            let more = messages.len() > limit;
            messages.truncate(limit);
            messages.reverse();
            Ok(Page { messages, more })
        })
    }

    fn prune(&self, retention: &Retention, now_ms: u64, max: usize) -> Result<usize, StoreError> {
        let writer = self.writer();
        let conn = &writer.conn;
        let mut deleted = 0;
        if let Some(keep_ms) = retention.keep_ms {
            deleted += conn
                .prepare_cached(
                    "DELETE FROM messages WHERE (room, seq) IN
                     (SELECT room, seq FROM messages WHERE ts < ?1 LIMIT ?2)",
                )?
                .execute(params![to_sql(now_ms.saturating_sub(keep_ms)), max as i64])?;
        }
        if let Some(keep_last) = retention.keep_last {
            let rooms: Vec<(String, u64)> = conn
                .prepare_cached("SELECT name, last_seq FROM rooms")?
                .query_map([], |r| Ok((r.get(0)?, column_u64(r, 1)?)))?
                .collect::<Result<_, _>>()?;
            for (room, last_seq) in rooms {
                if deleted >= max {
                    break;
                }
                deleted += conn
                    .prepare_cached(
                        "DELETE FROM messages WHERE room = ?1 AND seq IN
                         (SELECT seq FROM messages WHERE room = ?1 AND seq <= ?2 LIMIT ?3)",
                    )?
                    .execute(params![
                        room,
                        to_sql(last_seq.saturating_sub(keep_last)),
                        (max - deleted) as i64
                    ])?;
            }
        }
        Ok(deleted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_message(room: &str, ts: u64) -> NewMessage {
        NewMessage {
            room: room.into(),
            nick: "n".into(),
            text: format!("at {ts}"),
            cid: Some(format!("c{ts}")),
            ts,
        }
    }

    #[test]
    fn seqs_survive_reopening_and_pruning() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/parley.db");
        {
            let store = SqliteStore::open(&path, Synchronous::Normal, 2).unwrap();
            let batch: Vec<_> = (1..=6).map(|ts| new_message("r", ts)).collect();
            let stored = store.append_batch(&batch).unwrap();
            assert_eq!(stored.last().unwrap().seq, 6);
            let keep_two = Retention {
                keep_last: Some(2),
                keep_ms: None,
            };
            assert_eq!(store.prune(&keep_two, 0, 100).unwrap(), 4);
        }
        let store = SqliteStore::open(&path, Synchronous::Full, 2).unwrap();
        assert_eq!(store.last_seq("r").unwrap(), 6);
        let stored = store.append_batch(&[new_message("r", 7)]).unwrap();
        assert_eq!(stored[0].seq, 7);
        let page = store.range("r", 0, u64::MAX, 10).unwrap();
        assert_eq!(
            page.messages.iter().map(|m| m.seq).collect::<Vec<_>>(),
            vec![5, 6, 7]
        );
        assert_eq!(page.messages[0].cid.as_deref(), Some("c5"));
        let page = store.range("r", 0, 6, 1).unwrap();
        assert_eq!((page.messages[0].seq, page.more), (6, true));
    }

    #[test]
    fn reads_share_a_fixed_number_of_connections() {
        let dir = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(
            SqliteStore::open(&dir.path().join("p.db"), Synchronous::Normal, 2).unwrap(),
        );
        store.append_batch(&[new_message("r", 1)]).unwrap();
        let readers: Vec<_> = (0..16)
            .map(|_| {
                let store = store.clone();
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        assert_eq!(store.range("r", 0, 10, 10).unwrap().messages.len(), 1);
                    }
                })
            })
            .collect();
        for reader in readers {
            reader.join().unwrap();
        }
        assert!(store.readers_open() <= 2, "{} open", store.readers_open());
        assert!(store.readers_open() >= 1);
    }

    #[test]
    fn a_failed_batch_leaves_no_gap() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("p.db"), Synchronous::Normal, 2).unwrap();
        store.append_batch(&[new_message("r", 1)]).unwrap();
        // Sabotage the table so the next batch fails half-way, then repair it.
        store.writer().conn.execute_batch("CREATE TRIGGER boom BEFORE INSERT ON messages WHEN NEW.text = 'at 3' BEGIN SELECT RAISE(ABORT, 'boom'); END;").unwrap();
        assert!(store
            .append_batch(&[new_message("r", 2), new_message("r", 3)])
            .is_err());
        store
            .writer()
            .conn
            .execute_batch("DROP TRIGGER boom;")
            .unwrap();
        let stored = store.append_batch(&[new_message("r", 4)]).unwrap();
        assert_eq!(stored[0].seq, 2, "the failed batch consumed no seq");
    }
}
