//! A throwaway PostgreSQL server for tests: `initdb` in a temp dir, started
//! with `pg_ctl` on a free loopback port (as the `postgres` user when the
//! tests run as root, which PostgreSQL refuses), and stopped when the guard
//! is dropped, also when the test panics. Every step is bounded in time.
//! Without PostgreSQL installed the test fails and says how to install it
//! (scripts/setup.sh): a missing server must not look like a pass.
//!
//! Shared by the library's store tests (through `#[path]`) and the process
//! tests in `backend/tests/`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// How long `pg_ctl` may wait for the server to start or stop, in seconds.
const PG_CTL_WAIT: &str = "30";

/// A running PostgreSQL; stopped (fast) and deleted on drop.
pub struct Postgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
    running: bool,
}

/// The newest installed PostgreSQL's `bin` directory.
fn bin_dir() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|bin| bin.join("initdb").exists() && bin.join("pg_ctl").exists())
        .collect();
    found.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    found.pop().unwrap_or_else(|| {
        panic!(
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): \
             run scripts/setup.sh, which installs Debian's postgresql package"
        )
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl Postgres {
    /// Starts a fresh server; panics (saying why) if it cannot.
    pub fn start() -> Postgres {
        let bin = bin_dir();
        let dir = tempfile::Builder::new()
            .prefix("parley-pg")
            .tempdir()
            .expect("a temp dir");
        let as_postgres = is_root();
        let mut pg = Postgres {
            dir,
            bin,
            port: free_port(),
            as_postgres,
            running: false,
        };
        if as_postgres {
            pg.check(
                Command::new("chown").arg("postgres:").arg(pg.dir.path()),
                "chown",
            );
        }
        let data = pg.data();
        pg.run_pg(
            "initdb",
            &[
                "-D",
                &data,
                "-A",
                "trust",
                "-U",
                "parley",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        );
        // Another process may take the free port first: then another port.
        for _ in 0..3 {
            if pg.try_start_server().is_ok() {
                return pg;
            }
            pg.port = free_port();
        }
        pg.start_server();
        pg
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    /// The temp dir the server lives in (its log is `log` there).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL of the database `postgres` as the superuser `parley`.
    pub fn url(&self) -> String {
        self.url_of("postgres")
    }

    /// The URL of the database `db`.
    pub fn url_of(&self, db: &str) -> String {
        format!("postgres://parley@127.0.0.1:{}/{db}", self.port)
    }

    /// Creates the database `db` (with `createdb`); its URL.
    pub fn create_db(&self, db: &str) -> String {
        let port = self.port.to_string();
        self.run_pg(
            "createdb",
            &["-h", "127.0.0.1", "-p", &port, "-U", "parley", db],
        );
        self.url_of(db)
    }

    /// Starts the server (again) on the same port.
    pub fn start_server(&mut self) {
        if let Err(why) = self.try_start_server() {
            panic!("{why}");
        }
    }

    fn try_start_server(&mut self) -> Result<(), String> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("log").display().to_string();
        let data = self.data();
        let args = [
            "-D",
            &data,
            "-o",
            &options,
            "-l",
            &log,
            "-w",
            "-t",
            PG_CTL_WAIT,
            "start",
        ];
        let output = self
            .command("pg_ctl")
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .map_err(|e| format!("cannot run pg_ctl: {e}"))?;
        if !output.status.success() {
            let log = std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default();
            return Err(format!(
                "pg_ctl start failed: {}\n{}\nserver log:\n{log}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        self.running = true;
        Ok(())
    }

    /// Stops the server at once (connections are cut), as an outage would.
    pub fn stop_server(&mut self) {
        let data = self.data();
        self.run_pg(
            "pg_ctl",
            &[
                "-D",
                &data,
                "-m",
                "immediate",
                "-w",
                "-t",
                PG_CTL_WAIT,
                "stop",
            ],
        );
        self.running = false;
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    fn run_pg(&self, program: &str, args: &[&str]) -> Output {
        let mut command = self.command(program);
        command.args(args).current_dir(self.dir.path());
        self.check(&mut command, program)
    }

    fn check(&self, command: &mut Command, what: &str) -> Output {
        let output = command
            .output()
            .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
        if !output.status.success() {
            let log = std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default();
            panic!(
                "{what} failed: {}\n{}\nserver log:\n{log}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        output
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if self.running {
            let data = self.data();
            let _ = self
                .command("pg_ctl")
                .args([
                    "-D",
                    &data,
                    "-m",
                    "immediate",
                    "-w",
                    "-t",
                    PG_CTL_WAIT,
                    "stop",
                ])
                .output();
        }
    }
}

/// Waits up to `limit` for `ready`, polling.
pub fn wait_for(limit: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + limit;
    while std::time::Instant::now() < deadline {
        if ready() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    ready()
}
