//! A fixed pool of synchronous PostgreSQL connections, and what a failed
//! call says about its connection: one that broke is dropped (the next
//! call opens another), so a database outage ends by itself.

use std::sync::{Condvar, Mutex};

use std::collections::HashMap;

use postgres::{Client, NoTls, Statement};

use crate::store::StoreError;

/// A connection and the statements prepared on it (by SQL text), so a
/// statement costs one round trip after its first use.
pub(super) struct Conn {
    pub(super) client: Client,
    pub(super) statements: HashMap<String, Statement>,
}

impl Conn {
    fn new(client: Client) -> Conn {
        Conn {
            client,
            statements: HashMap::new(),
        }
    }
}

/// A fixed-size pool of connections: at most `max` are ever open, a call
/// that finds none idle waits for one, and a connection that failed is
/// dropped rather than given back.
pub(super) struct Pool {
    config: postgres::Config,
    max: usize,
    /// Idle connections, and how many are open (or being opened) in all.
    idle: Mutex<(Vec<Conn>, usize)>,
    returned: Condvar,
}

impl Pool {
    pub(super) fn new(config: postgres::Config, max: usize) -> Pool {
        Pool {
            config,
            max: max.max(1),
            idle: Mutex::new((Vec::new(), 0)),
            returned: Condvar::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (Vec<Conn>, usize)> {
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
    pub(super) fn run<T, E: From<postgres::Error>>(
        &self,
        mut f: impl FnMut(&mut Conn) -> Result<T, E>,
        broken: impl Fn(&E) -> bool,
        may_retry: impl Fn() -> bool,
    ) -> Result<T, E> {
        let mut reused = self.take();
        loop {
            let mut client = match reused.take() {
                Some(conn) if !conn.client.is_closed() => (conn, true),
                _ => match self.config.connect(NoTls) {
                    Ok(client) => (Conn::new(client), false),
                    Err(err) => {
                        self.forget();
                        return Err(err.into());
                    }
                },
            };
            let result = f(&mut client.0);
            let failed = result.as_ref().is_err_and(&broken);
            if client.0.client.is_closed() || failed {
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
    fn take(&self) -> Option<Conn> {
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
    pub(super) fn open(&self) -> usize {
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
pub(super) fn connection_failed(err: &postgres::Error) -> bool {
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
pub(super) fn store_error_broken(err: &StoreError) -> bool {
    match err {
        StoreError::Postgres(err) => connection_failed(err),
        _ => true,
    }
}
