//! A [`MessageStore`] in PostgreSQL, so that several Parley servers can
//! share one history (`--database-url postgres://…`).
//!
//! Same promises as the SQLite store: a batch is one transaction, `ack`
//! only after `COMMIT`; each accepted event gets its room's next `seq`.
//! With several servers writing one room, the seq comes from the room's
//! row in `rooms`, locked (`FOR UPDATE`, rooms in name order so two batches
//! never deadlock) for the whole transaction: the servers take turns per
//! room and the seqs stay gap-free and unique. Nothing is cached between
//! batches, since another server may have written meanwhile.
//!
//! The traits are synchronous (called from the committer thread and the
//! blocking readers), so this uses the synchronous `postgres` client, with
//! one writing connection and a fixed pool of reading ones. A connection
//! that breaks is dropped and the next call opens a new one: a database
//! outage fails calls with [`StoreError`] while it lasts, and ends by
//! itself. Reads run in a read-only `REPEATABLE READ` transaction, so the
//! several queries of one read see one state.
//!
//! The schema version is kept in `parley_schema` and migrations run at
//! start-up under an advisory lock (two servers starting together apply
//! each step once). Writing is in [`write`], reading and search in
//! [`read`], rooms people run in [`control`], accounts in [`accounts`].

mod accounts;
mod control;
mod read;
mod write;

use std::sync::{Condvar, Mutex};
use std::time::Duration;

use parley_protocol::{ChatMessage, RoomEvent};
use postgres::{Client, IsolationLevel, NoTls, Transaction};

use super::{
    Applied, Found, MessageStore, NewEvent, Page, Retention, RoomControl, Rules, Search, StoreError,
};

/// Version 1: the whole schema the SQLite store reached in six steps.
/// Search needs no index table: `folded` holds the text lower-cased and
/// without accents, `search_id` orders hits (a new one for each edit).
const SCHEMA_V1: &str = "
    CREATE TABLE rooms (
        name     TEXT PRIMARY KEY,
        last_seq BIGINT NOT NULL
    );
    CREATE SEQUENCE search_ids;
    CREATE TABLE messages (
        room       TEXT NOT NULL,
        seq        BIGINT NOT NULL,
        nick       TEXT NOT NULL,
        text       TEXT NOT NULL,
        ts         BIGINT NOT NULL,
        cid        TEXT,
        reply_to   BIGINT,
        quote_nick TEXT,
        quote_text TEXT,
        mentions   TEXT NOT NULL DEFAULT '',
        edited_ts  BIGINT,
        deleted    BOOLEAN NOT NULL DEFAULT FALSE,
        search_id  BIGINT,
        folded     TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (room, seq)
    );
    CREATE INDEX messages_by_ts ON messages (ts);
    CREATE INDEX messages_by_search ON messages (search_id) WHERE search_id IS NOT NULL;
    CREATE TABLE changes (
        room     TEXT NOT NULL,
        seq      BIGINT NOT NULL,
        kind     TEXT NOT NULL,
        target   BIGINT NOT NULL,
        nick     TEXT NOT NULL,
        ts       BIGINT NOT NULL,
        text     TEXT,
        mentions TEXT,
        emoji    TEXT,
        on_      BOOLEAN,
        cid      TEXT,
        PRIMARY KEY (room, seq)
    );
    CREATE INDEX changes_by_target ON changes (room, target);
    CREATE INDEX changes_by_ts ON changes (ts);
    CREATE INDEX changes_by_kind ON changes (room, kind, seq);
    CREATE TABLE reactions (
        room   TEXT NOT NULL,
        target BIGINT NOT NULL,
        emoji  TEXT NOT NULL,
        nick   TEXT NOT NULL,
        seq    BIGINT NOT NULL,
        PRIMARY KEY (room, target, emoji, nick)
    );
    CREATE TABLE accounts (
        key        TEXT PRIMARY KEY,
        nick       TEXT NOT NULL,
        hash       TEXT NOT NULL,
        admin      BOOLEAN NOT NULL DEFAULT FALSE,
        created_ms BIGINT NOT NULL
    );
    CREATE TABLE account_looks (
        look TEXT PRIMARY KEY,
        key  TEXT NOT NULL
    );
    CREATE INDEX account_looks_by_key ON account_looks (key);
    CREATE TABLE tokens (
        digest     TEXT PRIMARY KEY,
        key        TEXT NOT NULL,
        expires_ms BIGINT NOT NULL
    );
    CREATE INDEX tokens_by_key ON tokens (key);
    CREATE TABLE room_control (
        room  TEXT PRIMARY KEY,
        state TEXT NOT NULL
    );
    CREATE TABLE dms (
        key  TEXT NOT NULL,
        room TEXT NOT NULL,
        PRIMARY KEY (key, room)
    );
";

/// Every schema version, in order; index + 1 is the version number.
const MIGRATIONS: [&str; 1] = [SCHEMA_V1];

/// The advisory lock that serialises migrations between servers.
const MIGRATION_LOCK: i64 = 0x7061_726c_6579;

/// How long opening a connection may take unless the URL says otherwise.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// `url` with its password (if any) replaced by `***`, for messages.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((user, host)) => {
            let user = match user.split_once(':') {
                Some((name, _)) => format!("{name}:***"),
                None => user.to_owned(),
            };
            // A password in the query string goes too.
            let tail = match tail.find("password=") {
                Some(at) => format!("{}password=***", &tail[..at]),
                None => tail.to_owned(),
            };
            format!("{scheme}://{user}@{host}{tail}")
        }
        None => match tail.find("password=") {
            Some(at) => format!("{scheme}://{authority}{}password=***", &tail[..at]),
            None => url.to_owned(),
        },
    }
}

/// A fixed-size pool of connections: at most `max` are ever open, a call
/// that finds none idle waits for one, and a connection that failed is
/// dropped rather than given back.
struct Pool {
    config: postgres::Config,
    max: usize,
    /// Idle connections, and how many are open (or being opened) in all.
    idle: Mutex<(Vec<Client>, usize)>,
    returned: Condvar,
}

impl Pool {
    fn new(config: postgres::Config, max: usize) -> Pool {
        Pool {
            config,
            max: max.max(1),
            idle: Mutex::new((Vec::new(), 0)),
            returned: Condvar::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (Vec<Client>, usize)> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Gives back a slot whose connection is gone.
    fn forget(&self) {
        self.lock().1 -= 1;
        self.returned.notify_one();
    }

    /// Runs `f` on a connection of the pool, opening one if needed. If `f`
    /// fails on an idle connection that turns out to be broken (the
    /// database restarted meanwhile) and `may_retry` says nothing was done,
    /// it runs once more on a new connection.
    fn run<T, E: From<postgres::Error>>(
        &self,
        mut f: impl FnMut(&mut Client) -> Result<T, E>,
        broken: impl Fn(&E) -> bool,
        may_retry: impl Fn() -> bool,
    ) -> Result<T, E> {
        let mut reused = self.take();
        loop {
            let mut client = match reused.take() {
                Some(client) if !client.is_closed() => (client, true),
                _ => match self.config.connect(NoTls) {
                    Ok(client) => (client, false),
                    Err(err) => {
                        self.forget();
                        return Err(err.into());
                    }
                },
            };
            let result = f(&mut client.0);
            let failed = result.as_ref().is_err_and(&broken);
            if client.0.is_closed() || failed {
                // Dropped off the lock: closing blocks for a moment.
                drop(client.0);
                if failed && client.1 && may_retry() {
                    continue;
                }
                self.forget();
            } else {
                self.lock().0.push(client.0);
                self.returned.notify_one();
            }
            return result;
        }
    }

    /// An idle connection, or `None` and a slot to open one in (waiting
    /// while all `max` are busy).
    fn take(&self) -> Option<Client> {
        let mut pool = self.lock();
        loop {
            if let Some(client) = pool.0.pop() {
                return Some(client);
            }
            if pool.1 < self.max {
                pool.1 += 1;
                return None;
            }
            pool = self.returned.wait(pool).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// How many connections are open.
    fn open(&self) -> usize {
        self.lock().1
    }
}

impl Drop for Pool {
    /// Closes the idle connections on a thread of their own: closing one
    /// blocks on its runtime, which must not happen on an async thread
    /// (where the server drops its store at shutdown).
    fn drop(&mut self) {
        let idle = std::mem::take(&mut self.lock().0);
        if idle.is_empty() {
            return;
        }
        let closing = std::thread::spawn(move || drop(idle));
        if closing.join().is_err() {
            tracing::debug!("closing the database connections failed");
        }
    }
}

/// Whether an error says the connection (not the statement) failed: then
/// the connection is dropped and the next call opens another.
fn connection_failed(err: &postgres::Error) -> bool {
    err.as_db_error().is_none()
        || err
            .code()
            .is_some_and(|c| c.code().starts_with("08") || c.code().starts_with("57"))
}

/// Whether an error is the database being out of reach for now: the
/// connection failed, the server is shutting down or short of resources,
/// or the transaction lost a race (serialization failure, deadlock).
pub(crate) fn unavailable(err: &postgres::Error) -> bool {
    connection_failed(err)
        || err
            .code()
            .is_some_and(|c| c.code().starts_with("53") || c.code().starts_with("40"))
}

/// Whether a store error came from a failed connection.
fn store_error_broken(err: &StoreError) -> bool {
    match err {
        StoreError::Postgres(err) => connection_failed(err),
        _ => true,
    }
}

/// Chat history in PostgreSQL.
pub struct PostgresStore {
    /// The one writing connection (a pool of one).
    writer: Pool,
    /// The reading connections.
    readers: Pool,
}

/// Brings a database up to the newest schema, one step per transaction.
fn migrate(client: &mut Client) -> Result<(), postgres::Error> {
    // Held until the end of this function, or until the connection closes.
    client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])?;
    client.batch_execute("CREATE TABLE IF NOT EXISTS parley_schema (version INTEGER NOT NULL)")?;
    for (index, sql) in MIGRATIONS.iter().enumerate() {
        let mut tx = client.transaction()?;
        let version: i32 = tx
            .query_opt("SELECT version FROM parley_schema", &[])?
            .map_or(0, |r| r.get(0));
        if version as usize > index {
            continue;
        }
        tx.batch_execute(sql)?;
        tx.execute("DELETE FROM parley_schema", &[])?;
        tx.execute(
            "INSERT INTO parley_schema (version) VALUES ($1)",
            &[&(index as i32 + 1)],
        )?;
        tx.commit()?;
    }
    client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])?;
    Ok(())
}

impl PostgresStore {
    /// Connects to the database `url` names and migrates it; reads use at
    /// most `max_readers` connections. Fails (naming the URL without its
    /// password) if the URL is bad or the server cannot be reached.
    pub fn open(url: &str, max_readers: usize) -> Result<Self, StoreError> {
        let open_error = |reason: String| StoreError::Open {
            path: redact(url),
            reason,
        };
        let mut config: postgres::Config = url
            .parse()
            .map_err(|e: postgres::Error| open_error(e.to_string()))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        config.application_name("parley");
        let writer = Pool::new(config.clone(), 1);
        writer
            .run(migrate, connection_failed, || false)
            .map_err(|e| open_error(e.to_string().replace('\n', " ")))?;
        Ok(PostgresStore {
            writer,
            readers: Pool::new(config, max_readers),
        })
    }

    /// Runs `f` in a write transaction, committed if it returns `Ok`. A
    /// failure before the transaction began (a connection broken while
    /// idle) is retried on a new connection; after that, never: a commit
    /// whose answer was lost may have happened.
    fn write<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&mut Transaction<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let began = std::cell::Cell::new(false);
        let mut f = Some(f);
        let result = self.writer.run(
            |client| -> Result<Result<T, E>, StoreError> {
                let mut tx = client.transaction()?;
                began.set(true);
                let Some(f) = f.take() else {
                    return Err(StoreError::Backend("a write ran twice".into()));
                };
                match f(&mut tx) {
                    Ok(value) => {
                        tx.commit()?;
                        Ok(Ok(value))
                    }
                    Err(err) => {
                        // Fails (and so drops the connection) if it broke.
                        tx.rollback()?;
                        Ok(Err(err))
                    }
                }
            },
            store_error_broken,
            || !began.get(),
        );
        result?
    }

    /// Runs `f` in a read-only transaction that sees one state throughout.
    /// Reads change nothing, so one that fails on a connection broken
    /// while idle is retried on a new one.
    fn read<T>(
        &self,
        f: impl Fn(&mut Transaction<'_>) -> Result<T, postgres::Error>,
    ) -> Result<T, StoreError> {
        self.readers.run(
            |client| -> Result<T, StoreError> {
                let mut tx = client
                    .build_transaction()
                    .isolation_level(IsolationLevel::RepeatableRead)
                    .read_only(true)
                    .start()?;
                let value = f(&mut tx)?;
                tx.commit()?;
                Ok(value)
            },
            store_error_broken,
            || true,
        )
    }

    /// How many reading connections are open.
    pub fn readers_open(&self) -> usize {
        self.readers.open()
    }
}

/// PostgreSQL integers are `i64`; seqs and times fit easily.
fn to_sql(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Reads an integer written by [`to_sql`] (negative values read as 0).
fn from_sql(n: i64) -> u64 {
    n.max(0) as u64
}

fn room_last_seq(tx: &mut Transaction<'_>, room: &str) -> Result<u64, postgres::Error> {
    Ok(tx
        .query_opt("SELECT last_seq FROM rooms WHERE name = $1", &[&room])?
        .map_or(0, |r| from_sql(r.get(0))))
}

impl MessageStore for PostgresStore {
    fn append_batch(&self, batch: &[NewEvent], rules: &Rules) -> Result<Vec<Applied>, StoreError> {
        self.write(|tx| Ok::<_, StoreError>(write::append(tx, batch, rules)?))
    }

    fn last_seq(&self, room: &str) -> Result<u64, StoreError> {
        self.read(|tx| room_last_seq(tx, room))
    }

    fn events(
        &self,
        room: &str,
        after: u64,
        upto: u64,
        limit: usize,
    ) -> Result<Page<RoomEvent>, StoreError> {
        self.read(|tx| read::events(tx, room, after, upto, limit))
    }

    fn messages(
        &self,
        room: &str,
        before: u64,
        limit: usize,
    ) -> Result<Page<ChatMessage>, StoreError> {
        self.read(|tx| read::messages(tx, room, before, limit))
    }

    fn search(&self, search: &Search) -> Result<Found, StoreError> {
        self.read(|tx| read::search(tx, search))
    }

    fn prune(&self, retention: &Retention, now_ms: u64, max: usize) -> Result<usize, StoreError> {
        self.write(|tx| Ok::<_, StoreError>(write::prune(tx, retention, now_ms, max)?))
    }

    fn control(&self, room: &str) -> Result<RoomControl, StoreError> {
        self.read(|tx| control::control(tx, room))
    }

    fn modlog(&self, room: &str, before: u64, limit: usize) -> Result<Page<RoomEvent>, StoreError> {
        self.read(|tx| control::modlog(tx, room, before, limit))
    }

    fn dm_between(&self, a: &str, b: &str) -> Result<Option<String>, StoreError> {
        self.read(|tx| control::dm_between(tx, a, b))
    }

    fn dms_of(&self, key: &str) -> Result<Vec<String>, StoreError> {
        self.read(|tx| control::dms_of(tx, key))
    }
}

#[cfg(test)]
mod tests;
