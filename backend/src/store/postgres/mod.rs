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
//! The schema and its migrations (run at start-up) are in [`schema`], the
//! connection pool in [`pool`], writing in [`write`], reading and search in
//! [`read`], rooms people run in [`control`], accounts in [`accounts`].

mod accounts;
mod control;
mod pool;
mod read;
mod schema;
mod write;

use std::time::Duration;

use parley_protocol::{ChatMessage, RoomEvent};
use std::collections::HashMap;

use postgres::types::ToSql;
use postgres::{IsolationLevel, Row, Statement, Transaction};

pub(crate) use pool::unavailable;
use pool::{connection_failed, store_error_broken, Pool};
use schema::migrate;

use super::{
    Applied, Found, MessageStore, NewEvent, Page, Retention, RoomControl, Rules, Search, StoreError,
};

/// How long sent data may go unacknowledged before the connection counts as
/// dead, unless the URL says otherwise.
const DEAD_CONNECTION: Duration = Duration::from_secs(20);

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

/// Chat history in PostgreSQL.
pub struct PostgresStore {
    /// The one writing connection (a pool of one).
    writer: Pool,
    /// The reading connections.
    readers: Pool,
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
        // A database that vanishes without closing the connection (a
        // network partition) fails calls within seconds instead of hanging
        // the committer: unacknowledged data times out, idle connections
        // are probed.
        if config.get_tcp_user_timeout().is_none() {
            config.tcp_user_timeout(DEAD_CONNECTION);
        }
        config
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(30))
            .keepalives_interval(Duration::from_secs(5))
            .keepalives_retries(3);
        config.application_name("parley");
        let writer = Pool::new(config.clone(), 1);
        writer
            .run(
                |conn| migrate(&mut conn.client),
                connection_failed,
                || false,
            )
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
        f: impl FnOnce(&mut Tx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let began = std::cell::Cell::new(false);
        let mut f = Some(f);
        let result = self.writer.run(
            |conn| -> Result<Result<T, E>, StoreError> {
                let mut tx = Tx {
                    tx: conn.client.transaction()?,
                    statements: &mut conn.statements,
                };
                began.set(true);
                let Some(f) = f.take() else {
                    return Err(StoreError::Backend("a write ran twice".into()));
                };
                match f(&mut tx) {
                    Ok(value) => {
                        tx.tx.commit()?;
                        Ok(Ok(value))
                    }
                    Err(err) => {
                        // Fails (and so drops the connection) if it broke.
                        tx.tx.rollback()?;
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
        f: impl Fn(&mut Tx<'_>) -> Result<T, postgres::Error>,
    ) -> Result<T, StoreError> {
        self.readers.run(
            |conn| -> Result<T, StoreError> {
                let tx = conn
                    .client
                    .build_transaction()
                    .isolation_level(IsolationLevel::RepeatableRead)
                    .read_only(true)
                    .start()?;
                let mut tx = Tx {
                    tx,
                    statements: &mut conn.statements,
                };
                let value = f(&mut tx)?;
                tx.tx.commit()?;
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

/// Statements kept per connection at most; more (SQL built with varying
/// limits) empties the cache.
const MAX_STATEMENTS: usize = 128;

/// A transaction that prepares each statement once per connection.
pub(super) struct Tx<'a> {
    tx: Transaction<'a>,
    statements: &'a mut HashMap<String, Statement>,
}

/// Query parameters.
type Params<'p> = [&'p (dyn ToSql + Sync)];

impl Tx<'_> {
    fn statement(&mut self, sql: &str) -> Result<Statement, postgres::Error> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.tx.prepare(sql)?;
        if self.statements.len() >= MAX_STATEMENTS {
            self.statements.clear();
        }
        self.statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }

    pub(super) fn query(
        &mut self,
        sql: &str,
        params: &Params<'_>,
    ) -> Result<Vec<Row>, postgres::Error> {
        let statement = self.statement(sql)?;
        self.tx.query(&statement, params)
    }

    pub(super) fn query_opt(
        &mut self,
        sql: &str,
        params: &Params<'_>,
    ) -> Result<Option<Row>, postgres::Error> {
        let statement = self.statement(sql)?;
        self.tx.query_opt(&statement, params)
    }

    pub(super) fn query_one(
        &mut self,
        sql: &str,
        params: &Params<'_>,
    ) -> Result<Row, postgres::Error> {
        let statement = self.statement(sql)?;
        self.tx.query_one(&statement, params)
    }

    pub(super) fn execute(
        &mut self,
        sql: &str,
        params: &Params<'_>,
    ) -> Result<u64, postgres::Error> {
        let statement = self.statement(sql)?;
        self.tx.execute(&statement, params)
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

fn room_last_seq(tx: &mut Tx<'_>, room: &str) -> Result<u64, postgres::Error> {
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
