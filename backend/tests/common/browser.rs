//! The browser tests' harness: a server (the real binary, serving `dist/`)
//! and a ChromeDriver per test, headless Chromium sessions with fresh
//! profiles, and helpers to join, type, wait, take screenshots and run
//! axe-core. Included by each `browser*.rs` test file (with `#[path]`), not
//! by the other tests, so they do not compile it.

#![allow(dead_code)]

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::LazyLock;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

use crate::common::ServerProcess;

/// Browser tests run one at a time: two Chromiums each are plenty for 2 cores.
pub static ONE_AT_A_TIME: LazyLock<tokio::sync::Mutex<()>> =
    LazyLock::new(|| tokio::sync::Mutex::new(()));

/// How long to wait for anything to appear in a page.
pub const WAIT: Duration = Duration::from_secs(20);

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

pub fn dist() -> PathBuf {
    let dist = repo_root().join("dist");
    assert!(
        dist.join("index.html").exists(),
        "{} has no built app: run `trunk build --release` (or `make test`) first",
        dist.display()
    );
    dist
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn find_program(names: &[&str]) -> PathBuf {
    for name in names {
        for dir in ["/usr/bin", "/usr/local/bin", "/usr/lib/chromium"] {
            let path = Path::new(dir).join(name);
            if path.exists() {
                return path;
            }
        }
    }
    panic!("none of {names:?} is installed: run `scripts/setup.sh --browser` (or `make test`)");
}

/// Whether the ChromeDriver on `port` answers `/status` with `"ready":true`.
/// (It ignores HTTP/1.0 and keeps the connection open, so this speaks
/// HTTP/1.1 and reads only until the answer is in.)
pub fn driver_ready(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET /status HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let (mut reply, mut chunk) = (Vec::new(), [0u8; 4096]);
    while let Ok(n @ 1..) = stream.read(&mut chunk) {
        reply.extend_from_slice(&chunk[..n]);
        if String::from_utf8_lossy(&reply).contains("\"ready\":true") {
            return true;
        }
    }
    false
}

/// Starts ChromeDriver on a free port and waits until it is ready for
/// sessions. Several browser tests start at once on a busy machine, so the
/// wait is generous; a driver that exits (its port was taken meanwhile) is
/// replaced by one on another port.
pub async fn start_driver() -> (Child, u16) {
    let program = find_program(&["chromedriver"]);
    for _ in 0..3 {
        let port = free_port();
        let mut driver = Command::new(&program)
            // Local connections only (ChromeDriver's default). With
            // `--allowed-ips` it listens on every interface, and exits when
            // the IPv6 one is taken, which happens here for some ports.
            .arg(format!("--port={port}"))
            // Its own process group, which the browsers it starts join:
            // a stage stops them all at once, closed sessions or not.
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while tokio::time::Instant::now() < deadline {
            if !matches!(driver.try_wait(), Ok(None)) {
                break;
            }
            if driver_ready(port) {
                return (driver, port);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = driver.kill();
        let _ = driver.wait();
    }
    panic!("ChromeDriver did not become ready (three tries, 30 s each)");
}

/// A server, a ChromeDriver, and scratch folders; all stopped or removed on drop.
pub struct Stage {
    pub server: ServerProcess,
    pub db_dir: tempfile::TempDir,
    driver: Child,
    driver_port: u16,
    /// The browsers' profile folders.
    profiles: std::sync::Mutex<Vec<tempfile::TempDir>>,
}

impl Stage {
    pub async fn start() -> Stage {
        Stage::start_with(&[]).await
    }

    /// A stage whose server gets these flags too.
    pub async fn start_with(flags: &[&str]) -> Stage {
        let db_dir = tempfile::tempdir().unwrap();
        let server = start_server_with(db_dir.path(), None, flags);
        let (driver, driver_port) = start_driver().await;
        Stage {
            server,
            db_dir,
            driver,
            driver_port,
            profiles: Default::default(),
        }
    }

    /// A stage around `server` (a node of a cluster, say).
    pub async fn around(server: ServerProcess) -> Stage {
        let (driver, driver_port) = start_driver().await;
        Stage {
            server,
            db_dir: tempfile::tempdir().unwrap(),
            driver,
            driver_port,
            profiles: Default::default(),
        }
    }

    pub fn app_url(&self) -> String {
        format!("http://{}/", self.server.addr)
    }

    /// A fresh headless Chromium at `width`×`height`, dark or light.
    pub async fn browser(&self, width: u32, height: u32, dark: bool) -> Client {
        let profile = tempfile::tempdir().unwrap();
        let profile_dir = profile.path().to_owned();
        self.profiles.lock().unwrap().push(profile);
        let mut args = vec![
            "--headless".to_owned(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-dev-shm-usage".into(),
            format!("--user-data-dir={}", profile_dir.display()),
            format!("--window-size={width},{height}"),
        ];
        if dark {
            args.push("--force-dark-mode".into());
        }
        let mut options =
            json!({ "binary": find_program(&["chromium", "chromium-browser"]), "args": args });
        if width < 500 {
            // Headless windows are at least 500 px wide; emulate a phone instead.
            options["mobileEmulation"] = json!({ "deviceMetrics": { "width": width, "height": height, "pixelRatio": 2.0, "touch": true } });
        }
        let mut caps = serde_json::Map::new();
        caps.insert("goog:chromeOptions".into(), options);
        ClientBuilder::rustls()
            .unwrap()
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.driver_port))
            .await
            .expect("a Chromium session")
    }
}

impl Drop for Stage {
    fn drop(&mut self) {
        // The driver's whole group: a browser whose session a test did not
        // close (or a test that panicked) would otherwise outlive it.
        if let Ok(group) = i32::try_from(self.driver.id()) {
            // SAFETY: kill(2) with a negative pid signals that process
            // group; it touches no memory of ours.
            unsafe {
                libc::kill(-group, libc::SIGKILL);
            }
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

pub fn start_server(db_dir: &Path, addr: Option<&str>) -> ServerProcess {
    start_server_with(db_dir, addr, &[])
}

/// The server with these flags too.
pub fn start_server_with(db_dir: &Path, addr: Option<&str>, flags: &[&str]) -> ServerProcess {
    let url = format!("sqlite://{}", db_dir.join("parley.db").display());
    // The app built into the binary, as `make run` serves it (a debug
    // build reads `dist/` from disk).
    dist();
    let mut args = vec!["--database-url", &url];
    if let Some(addr) = addr {
        args.extend(["--addr", addr]);
    }
    args.extend(flags);
    ServerProcess::spawn(&args)
}

/// Runs a JS expression (`return …`) and returns its value.
pub async fn js(client: &Client, script: &str) -> Value {
    client.execute(script, vec![]).await.expect("script runs")
}

/// Polls `script` until it returns `true`.
pub async fn wait_until(client: &Client, what: &str, script: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if js(client, script).await == json!(true) {
            return;
        }
        if tokio::time::Instant::now() > deadline {
            let page = js(client, "return document.body.innerText").await;
            panic!("timed out waiting for {what}; the page says: {page}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Opens the app, joins `room` as `nick`, and waits for the chat screen.
pub async fn join(client: &Client, url: &str, nick: &str, room: &str) {
    client.goto(url).await.unwrap();
    let field = client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("[data-testid=join-nick]"))
        .await
        .unwrap();
    field.send_keys(nick).await.unwrap();
    let room_field = client
        .find(Locator::Css("[data-testid=join-room]"))
        .await
        .unwrap();
    room_field.clear().await.unwrap();
    room_field.send_keys(room).await.unwrap();
    client
        .find(Locator::Css("[data-testid=join-submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_until(client, "the chat screen", "return document.querySelector('[data-testid=connection-status]')?.dataset.status === 'online'").await;
}

/// Types `text` in the composer and presses Enter.
pub async fn say(client: &Client, text: &str) {
    let composer = client
        .find(Locator::Css("[data-testid=composer]"))
        .await
        .unwrap();
    composer.send_keys(text).await.unwrap();
    composer.send_keys("\u{E007}").await.unwrap(); // WebDriver's Enter key
}

/// How many messages in the list have exactly this text.
pub async fn count_text(client: &Client, text: &str) -> u64 {
    js(
        client,
        &format!(
            "return [...document.querySelectorAll('[data-testid=message] .msg-body')].filter(e => e.textContent === {}).length",
            json!(text)
        ),
    )
    .await
    .as_u64()
    .unwrap()
}

pub async fn wait_for_text(client: &Client, text: &str) {
    let script = format!(
        "return [...document.querySelectorAll('[data-testid=message] .msg-body')].some(e => e.textContent === {})",
        json!(text)
    );
    wait_until(client, &format!("the message {text:?}"), &script).await;
}

pub async fn save_screenshot(client: &Client, name: &str) {
    let png = client.screenshot().await.unwrap();
    let dir = repo_root().join("docs/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), png).unwrap();
}

/// Clicks the element `css` selects (the first one), waiting for it.
pub async fn click(client: &Client, css: &str) {
    let element = client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"));
    element
        .click()
        .await
        .unwrap_or_else(|e| panic!("cannot click {css}: {e}"));
}

/// Types `keys` (WebDriver key codes allowed) into the element `css` selects.
pub async fn type_into(client: &Client, css: &str, keys: &str) {
    let element = client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"));
    element.send_keys(keys).await.unwrap();
}

/// A CSS selector for the message whose body is exactly `text`, made by the
/// page (the message's `data-seq` or, while pending, its position).
pub async fn message_seq(client: &Client, text: &str) -> String {
    let script = format!(
        "const m = [...document.querySelectorAll('[data-testid=message]')].find(m => m.querySelector('.msg-body')?.textContent === {}); return m ? m.dataset.seq : null",
        json!(text)
    );
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(seq) = js(client, &script).await.as_str().filter(|s| !s.is_empty()) {
            return seq.to_owned();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no sent message {text:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Where `npm ci` (scripts/setup.sh --browser) put axe-core.
pub fn axe_source() -> String {
    let path = repo_root().join("backend/tests/axe/node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run `scripts/setup.sh --browser` (it installs axe-core with npm)",
            path.display()
        )
    })
}

/// Runs axe-core (every rule but the experimental ones) on the page as it
/// is, and fails with a readable list of the violations, if any.
pub async fn axe(client: &Client, screen: &str) {
    if js(client, "return typeof window.axe").await != json!("object") {
        client
            .execute(&format!("{}\nreturn true;", axe_source()), vec![])
            .await
            .expect("axe-core loads");
    }
    let script = r#"
        const done = arguments[arguments.length - 1];
        axe.run(document, { resultTypes: ['violations'] })
            .then(r => done(r.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => ({ target: n.target.join(' '), summary: n.failureSummary, html: n.html.slice(0, 160) })),
            }))))
            .catch(e => done([{ id: 'axe-error', impact: 'critical', help: String(e), nodes: [] }]));
    "#;
    let violations = client
        .execute_async(script, vec![])
        .await
        .expect("axe runs");
    let list = violations.as_array().cloned().unwrap_or_default();
    if list.is_empty() {
        return;
    }
    let mut report = format!("axe-core found {} violation(s) on {screen}:\n", list.len());
    for v in &list {
        report += &format!(
            "- {} ({}): {}\n",
            v["id"].as_str().unwrap_or("?"),
            v["impact"].as_str().unwrap_or("?"),
            v["help"].as_str().unwrap_or("?")
        );
        for node in v["nodes"].as_array().into_iter().flatten() {
            report += &format!(
                "    at {}\n      {}\n      {}\n",
                node["target"].as_str().unwrap_or("?"),
                node["html"].as_str().unwrap_or(""),
                node["summary"]
                    .as_str()
                    .unwrap_or("")
                    .replace('\n', "\n      ")
            );
        }
    }
    panic!("{report}");
}
