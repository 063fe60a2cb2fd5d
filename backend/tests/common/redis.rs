//! A throwaway Redis for the cluster tests: `redis-server` on a free loopback
//! port in a temp dir, with nothing saved to disk, ready once it answers
//! `PING`. A test can kill it (SIGKILL, an outage) and start it again on the
//! same port, as a restarted Redis would come back; it is stopped when the
//! guard is dropped, also when the test panics. Every wait is bounded.
//! Without redis-server installed the test fails and says how to install it
//! (scripts/setup.sh): a missing server must not look like a pass.
//!
//! Include it with `#[path = "common/redis.rs"] mod redis_server;`, as
//! common/postgres.rs is.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long Redis may take to answer `PING` after it is started.
const START_WAIT: Duration = Duration::from_secs(10);

/// A running redis-server; killed and its temp dir deleted on drop.
pub struct Redis {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl Redis {
    /// Starts a fresh server; panics (saying why) if it cannot.
    pub fn start() -> Redis {
        let dir = tempfile::Builder::new()
            .prefix("parley-redis")
            .tempdir()
            .expect("a temp dir");
        let mut redis = Redis {
            dir,
            port: free_port(),
            child: None,
        };
        // Another process may take the free port first: then another port.
        for _ in 0..3 {
            if redis.try_start().is_ok() {
                return redis;
            }
            redis.port = free_port();
        }
        redis.restart();
        redis
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its address.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// `redis://127.0.0.1:PORT`, for `--redis-url`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The temp dir it runs in (its log is `redis.log` there).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Whether it answers `PING` now.
    pub fn answers(&self) -> bool {
        ping(self.addr())
    }

    /// SIGKILL, as a crash would: nothing is saved, connections are cut.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port (after [`Redis::kill`]), empty, and
    /// waits until it answers `PING`; panics if it does not.
    pub fn restart(&mut self) {
        self.kill();
        // The old socket may linger for a moment: try for a while.
        let deadline = Instant::now() + START_WAIT;
        loop {
            match self.try_start() {
                Ok(()) => return,
                Err(why) if Instant::now() >= deadline => panic!("{why}"),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    fn try_start(&mut self) -> Result<(), String> {
        let log = self.dir.path().join("redis.log");
        let mut child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .arg("--logfile")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run redis-server ({e}): run scripts/setup.sh, which installs \
                     Debian's redis-server package"
                )
            });
        let deadline = Instant::now() + START_WAIT;
        loop {
            if ping(self.addr()) {
                self.child = Some(child);
                return Ok(());
            }
            if let Ok(Some(status)) = child.try_wait() {
                let log = std::fs::read_to_string(&log).unwrap_or_default();
                return Err(format!(
                    "redis-server on port {} exited ({status}):\n{log}",
                    self.port
                ));
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                let log = std::fs::read_to_string(&log).unwrap_or_default();
                return Err(format!(
                    "redis-server on port {} did not answer PING within {START_WAIT:?}:\n{log}",
                    self.port
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Sends one inline command (words without spaces) to the Redis at `addr`
/// and returns the first line of its answer, within a second.
pub fn command(addr: SocketAddr, words: &[&str]) -> String {
    ask(addr, words).expect("redis answers")
}

/// Whether a Redis at `addr` answers `PING` with `+PONG` (inline command,
/// raw TCP: no client crate needed), within a second.
pub fn ping(addr: SocketAddr) -> bool {
    ask(addr, &["PING"]).as_deref() == Some("+PONG")
}

/// The first line of the answer to an inline command, if the Redis at
/// `addr` takes it and answers within a second.
fn ask(addr: SocketAddr, words: &[&str]) -> Option<String> {
    let limit = Duration::from_secs(1);
    let mut stream = TcpStream::connect_timeout(&addr, limit).ok()?;
    let _ = stream.set_read_timeout(Some(limit));
    let _ = stream.set_write_timeout(Some(limit));
    stream
        .write_all(format!("{}\r\n", words.join(" ")).as_bytes())
        .ok()?;
    let mut answer = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        stream.read_exact(&mut byte).ok()?;
        if byte[0] == b'\n' {
            break;
        }
        answer.push(byte[0]);
    }
    Some(String::from_utf8_lossy(&answer).trim_end().to_owned())
}
