//! nginx in front of test servers, run from deploy/nginx.conf itself: the
//! file is read at run time and only the lines it marks "rewritten by the
//! harness" change (the upstream servers, the listen address, the pid file,
//! the logs and the temp paths, all into a temp dir), so a test through this
//! proxy proves the shipped config works. `nginx -t` checks the result first;
//! then nginx runs in the foreground (`daemon off`) on a free loopback port
//! and is stopped when the guard is dropped, also when the test panics.
//! Every wait is bounded. Without nginx installed the test fails and says
//! how to install it (scripts/setup.sh). scripts/cluster.sh does the same
//! rewrite in awk.
//!
//! Include it with `#[path = "common/nginx.rs"] mod nginx;`, as
//! common/postgres.rs is.

#![allow(dead_code)]

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long nginx may take to accept connections, or to stop.
const WAIT: Duration = Duration::from_secs(10);

/// A running nginx; stopped and its temp dir deleted on drop.
pub struct Nginx {
    dir: tempfile::TempDir,
    addr: SocketAddr,
    child: Option<Child>,
    config: String,
}

/// The shipped config, deploy/nginx.conf.
pub fn deploy_config_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/nginx.conf")
}

/// The nginx binary: on PATH, or Debian's /usr/sbin/nginx (not on a
/// non-root PATH).
fn nginx_bin() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|dir| dir.join("nginx"))
        .find(|p| p.exists());
    let bin = on_path.unwrap_or_else(|| PathBuf::from("/usr/sbin/nginx"));
    assert!(
        bin.exists(),
        "nginx is not installed: run scripts/setup.sh, which installs Debian's nginx-light package"
    );
    bin
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// The directive `line` (`name ARG [more];`, maybe indented and commented)
/// with its first argument replaced by `path` and its other arguments kept.
fn repath(line: &str, path: &Path) -> String {
    let indent = &line[..line.len() - line.trim_start().len()];
    let code = line.split('#').next().unwrap_or("").trim();
    let code = code.strip_suffix(';').unwrap_or(code);
    let words: Vec<&str> = code.split_whitespace().collect();
    let mut out = format!("{indent}{} {}", words[0], path.display());
    for word in words.iter().skip(2) {
        out.push(' ');
        out.push_str(word);
    }
    out.push(';');
    out
}

/// deploy/nginx.conf's text, rewritten to listen on `listen`, balance over
/// `upstreams` and keep every file it writes in `dir`.
pub fn rewrite(template: &str, listen: SocketAddr, upstreams: &[SocketAddr], dir: &Path) -> String {
    let mut out = String::from("daemon off;\n");
    let mut in_upstream = false;
    let mut seen_upstream = false;
    let mut seen_listen = false;
    for line in template.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        let second = line.split_whitespace().nth(1).unwrap_or("");
        let rewritten = if first == "upstream" && second == "parley" {
            in_upstream = true;
            seen_upstream = true;
            let mut block = line.to_owned();
            for upstream in upstreams {
                block.push_str(&format!("\n        server {upstream};"));
            }
            block
        } else if in_upstream && first == "server" {
            continue;
        } else if first == "listen" {
            seen_listen = true;
            let indent = &line[..line.len() - line.trim_start().len()];
            format!("{indent}listen {listen};")
        } else if first == "pid" {
            repath(line, &dir.join("nginx.pid"))
        } else if first == "error_log" {
            repath(line, &dir.join("error.log"))
        } else if first == "access_log" {
            repath(line, &dir.join("access.log"))
        } else if let Some(kind) = first.strip_suffix("_temp_path") {
            repath(line, &dir.join(kind))
        } else {
            if in_upstream && first == "}" {
                in_upstream = false;
            }
            line.to_owned()
        };
        out.push_str(&rewritten);
        out.push('\n');
    }
    assert!(
        seen_upstream && seen_listen,
        "deploy/nginx.conf must keep its `upstream parley {{` block and its `listen` line"
    );
    out
}

impl Nginx {
    /// nginx on a free loopback port, round robin over `upstreams`, with
    /// deploy/nginx.conf; panics (saying why) if it cannot start.
    pub fn start(upstreams: &[SocketAddr]) -> Nginx {
        let bin = nginx_bin();
        let template = std::fs::read_to_string(deploy_config_path())
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", deploy_config_path().display()));
        let dir = tempfile::Builder::new()
            .prefix("parley-nginx")
            .tempdir()
            .expect("a temp dir");
        // nginx's workers run as another user (www-data) when started as root.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut last_error = String::new();
        // Another process may take the free port first: then another port.
        for _ in 0..3 {
            let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
            let config = rewrite(&template, addr, upstreams, dir.path());
            let conf = dir.path().join("nginx.conf");
            std::fs::write(&conf, &config).unwrap();
            let check = Command::new(&bin)
                .args(["-t", "-q", "-p"])
                .arg(dir.path())
                .arg("-c")
                .arg(&conf)
                .output()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
            assert!(
                check.status.success(),
                "nginx -t refuses the config made from deploy/nginx.conf:\n{}\n{config}",
                String::from_utf8_lossy(&check.stderr)
            );
            let mut child = Command::new(&bin)
                .arg("-p")
                .arg(dir.path())
                .arg("-c")
                .arg(&conf)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
            let deadline = Instant::now() + WAIT;
            loop {
                if let Ok(Some(status)) = child.try_wait() {
                    let log =
                        std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default();
                    last_error = format!("nginx exited ({status}):\n{log}");
                    break;
                }
                if TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok() {
                    return Nginx {
                        dir,
                        addr,
                        child: Some(child),
                        config,
                    };
                }
                if Instant::now() >= deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("nginx did not accept connections on {addr} within {WAIT:?}");
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        panic!("nginx did not start: {last_error}");
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The WebSocket URL through it.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// The config it runs (deploy/nginx.conf rewritten).
    pub fn config(&self) -> &str {
        &self.config
    }

    /// The temp dir it runs in (`error.log`, `access.log`).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Its access log so far (one line per request, with `upstream=`).
    pub fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("access.log")).unwrap_or_default()
    }

    /// Stops it: SIGQUIT (graceful), SIGTERM after 5 s, SIGKILL after 10 s.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pid = child.id() as libc::pid_t;
        let started = Instant::now();
        // SAFETY: kill(2) on our own child's pid, which has not been reaped.
        unsafe { libc::kill(pid, libc::SIGQUIT) };
        let mut termed = false;
        while started.elapsed() < WAIT {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            if !termed && started.elapsed() > WAIT / 2 {
                // SAFETY: as above.
                unsafe { libc::kill(pid, libc::SIGTERM) };
                termed = true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The value of `directive` (e.g. `proxy_read_timeout`) inside the
/// `location PATH {` block of `config`, if set there.
pub fn location_directive<'a>(config: &'a str, path: &str, directive: &str) -> Option<&'a str> {
    let mut inside = false;
    for line in config.lines() {
        let code = line.split('#').next().unwrap_or("").trim();
        let words: Vec<&str> = code.split_whitespace().collect();
        match words.as_slice() {
            ["location", p, "{"] if *p == path => inside = true,
            ["}"] => inside = false,
            [name, value] if inside && *name == directive => {
                return Some(value.trim_end_matches(';'));
            }
            _ => {}
        }
    }
    None
}

/// An nginx time (`120s`, `2m`, `500ms`, `90` = seconds).
pub fn nginx_duration(value: &str) -> Duration {
    let digits = value.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let n: u64 = digits
        .parse()
        .unwrap_or_else(|_| panic!("not an nginx time: {value}"));
    match &value[digits.len()..] {
        "ms" => Duration::from_millis(n),
        "" | "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n * 60),
        "h" => Duration::from_secs(n * 3600),
        "d" => Duration::from_secs(n * 86400),
        other => panic!("unknown nginx time unit {other:?} in {value}"),
    }
}
