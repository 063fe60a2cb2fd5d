//! End to end, in real headless Chromium: the built app (`dist/`, from
//! `trunk build --release`) served by the real server binary, driven through
//! ChromeDriver with fantoccini. `make test` builds `dist/` and installs
//! Debian's `chromium` and `chromium-driver` first.
//!
//! Each test starts its own server on a free loopback port, its own
//! ChromeDriver, and browsers with fresh profiles, and stops them all.
//! Screenshots for the README are written to `docs/screenshots/`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::LazyLock;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

use common::ServerProcess;

/// Browser tests run one at a time: two Chromiums each are plenty for 2 cores.
static ONE_AT_A_TIME: LazyLock<tokio::sync::Mutex<()>> =
    LazyLock::new(|| tokio::sync::Mutex::new(()));

/// How long to wait for anything to appear in a page.
const WAIT: Duration = Duration::from_secs(20);

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

fn dist() -> PathBuf {
    let dist = repo_root().join("dist");
    assert!(
        dist.join("index.html").exists(),
        "{} has no built app: run `trunk build --release` (or `make test`) first",
        dist.display()
    );
    dist
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn find_program(names: &[&str]) -> PathBuf {
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
fn driver_ready(port: u16) -> bool {
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
async fn start_driver() -> (Child, u16) {
    let program = find_program(&["chromedriver"]);
    for _ in 0..3 {
        let port = free_port();
        let mut driver = Command::new(&program)
            .args([format!("--port={port}"), "--allowed-ips=127.0.0.1".into()])
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
struct Stage {
    server: ServerProcess,
    db_dir: tempfile::TempDir,
    driver: Child,
    driver_port: u16,
    /// The browsers' profile folders.
    profiles: std::sync::Mutex<Vec<tempfile::TempDir>>,
}

impl Stage {
    async fn start() -> Stage {
        let db_dir = tempfile::tempdir().unwrap();
        let server = start_server(db_dir.path(), None);
        let (driver, driver_port) = start_driver().await;
        Stage {
            server,
            db_dir,
            driver,
            driver_port,
            profiles: Default::default(),
        }
    }

    fn app_url(&self) -> String {
        format!("http://{}/", self.server.addr)
    }

    /// A fresh headless Chromium at `width`×`height`, dark or light.
    async fn browser(&self, width: u32, height: u32, dark: bool) -> Client {
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
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn start_server(db_dir: &Path, addr: Option<&str>) -> ServerProcess {
    let url = format!("sqlite://{}", db_dir.join("parley.db").display());
    let dist = dist();
    let mut args = vec![
        "--database-url",
        &url,
        "--static-dir",
        dist.to_str().unwrap(),
    ];
    if let Some(addr) = addr {
        args.extend(["--addr", addr]);
    }
    ServerProcess::spawn(&args)
}

/// Runs a JS expression (`return …`) and returns its value.
async fn js(client: &Client, script: &str) -> Value {
    client.execute(script, vec![]).await.expect("script runs")
}

/// Polls `script` until it returns `true`.
async fn wait_until(client: &Client, what: &str, script: &str) {
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
async fn join(client: &Client, url: &str, nick: &str, room: &str) {
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
async fn say(client: &Client, text: &str) {
    let composer = client
        .find(Locator::Css("[data-testid=composer]"))
        .await
        .unwrap();
    composer.send_keys(text).await.unwrap();
    composer.send_keys("\u{E007}").await.unwrap(); // WebDriver's Enter key
}

/// How many messages in the list have exactly this text.
async fn count_text(client: &Client, text: &str) -> u64 {
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

async fn wait_for_text(client: &Client, text: &str) {
    let script = format!(
        "return [...document.querySelectorAll('[data-testid=message] .msg-body')].some(e => e.textContent === {})",
        json!(text)
    );
    wait_until(client, &format!("the message {text:?}"), &script).await;
}

async fn save_screenshot(client: &Client, name: &str) {
    let png = client.screenshot().await.unwrap();
    let dir = repo_root().join("docs/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), png).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_people_chat_and_see_each_other() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let stage = Stage::start().await;
    let mina = stage.browser(1280, 800, false).await;
    let joon = stage.browser(1280, 800, false).await;
    join(&mina, &stage.app_url(), "mina", "e2e").await;
    join(&joon, &stage.app_url(), "joon", "e2e").await;

    wait_until(&mina, "joon in the member list", "return [...document.querySelectorAll('[data-testid=member]')].some(e => e.textContent.includes('joon'))").await;
    wait_until(&mina, "the join line", "return [...document.querySelectorAll('[data-testid=system-line]')].some(e => e.textContent === 'joon joined')").await;

    say(&mina, "hello joon").await;
    wait_for_text(&joon, "hello joon").await;
    wait_until(&mina, "the ack", "return document.querySelector('[data-testid=message][data-own=true]')?.dataset.state === 'sent'").await;
    say(&joon, "hi mina! 안녕하세요").await;
    wait_for_text(&mina, "hi mina! 안녕하세요").await;
    assert_eq!(count_text(&mina, "hello joon").await, 1);

    // A second room keeps the first; unread counts show in the sidebar.
    let open = joon
        .find(Locator::Css("[data-testid=open-room-input]"))
        .await
        .unwrap();
    open.send_keys("random\u{E007}").await.unwrap();
    wait_until(&joon, "the second room", "return document.querySelector('[data-testid=room-tab][data-active=true]')?.dataset.room === 'random'").await;
    say(&mina, "are you there?").await;
    wait_until(&joon, "an unread badge on e2e", "return document.querySelector('[data-testid=room-tab][data-room=e2e] [data-testid=room-unread]')?.textContent === '1'").await;
    wait_until(
        &joon,
        "the unread count in the title",
        "return document.title === '(1) Parley'",
    )
    .await;

    for client in [mina, joon] {
        client.close().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enter_during_ime_composition_does_not_send() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let stage = Stage::start().await;
    let browser = stage.browser(1280, 800, false).await;
    join(&browser, &stage.app_url(), "민아", "ime").await;
    let composer = browser
        .find(Locator::Css("[data-testid=composer]"))
        .await
        .unwrap();
    composer.send_keys("안녕").await.unwrap();
    // What a browser dispatches when Enter confirms a Hangul/Kana/Hanzi composition.
    js(
        &browser,
        "const c = document.querySelector('[data-testid=composer]');
         c.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', isComposing: true, bubbles: true, cancelable: true}));
         c.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', keyCode: 229, bubbles: true, cancelable: true}));
         return true",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        js(
            &browser,
            "return document.querySelectorAll('[data-testid=message]').length"
        )
        .await,
        json!(0),
        "nothing was sent"
    );
    assert_eq!(
        js(
            &browser,
            "return document.querySelector('[data-testid=composer]').value"
        )
        .await,
        json!("안녕")
    );
    // A plain Enter after the composition sends.
    composer.send_keys("\u{E007}").await.unwrap();
    wait_for_text(&browser, "안녕").await;
    browser.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn markup_in_messages_is_shown_as_text() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let stage = Stage::start().await;
    let sender = stage.browser(1280, 800, false).await;
    let reader = stage.browser(1280, 800, false).await;
    join(&sender, &stage.app_url(), "mallory", "xss").await;
    join(&reader, &stage.app_url(), "alice", "xss").await;
    js(
        &reader,
        "window.__alerted = false; window.alert = () => { window.__alerted = true; }; return true",
    )
    .await;
    let payload = "<img src=x onerror=alert(1)> <b>bold</b> https://example.com/?q=<script>";
    say(&sender, payload).await;
    wait_for_text(&reader, payload).await;
    assert_eq!(js(&reader, "return document.querySelectorAll('[data-testid=message-list] img, [data-testid=message-list] b, [data-testid=message-list] script').length").await, json!(0));
    assert_eq!(js(&reader, "return window.__alerted").await, json!(false));
    assert_eq!(
        js(&reader, "return [...document.querySelectorAll('[data-testid=message-list] a')].map(a => a.getAttribute('href'))").await,
        json!(["https://example.com/?q=<script>"]),
        "the http link is a link, and only it"
    );
    for client in [sender, reader] {
        client.close().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_sides_reconnect_by_themselves_after_a_server_restart() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let mut stage = Stage::start().await;
    let a = stage.browser(1280, 800, false).await;
    let b = stage.browser(1280, 800, false).await;
    join(&a, &stage.app_url(), "ana", "restart").await;
    join(&b, &stage.app_url(), "bo", "restart").await;
    say(&a, "before the restart").await;
    wait_for_text(&b, "before the restart").await;

    let addr = stage.server.addr.to_string();
    assert!(stage.server.terminate(), "the server exits 0 on SIGTERM");
    for client in [&a, &b] {
        wait_until(client, "the reconnecting status", "return ['reconnecting', 'connecting'].includes(document.querySelector('[data-testid=connection-status]').dataset.status)").await;
    }
    stage.server = start_server(stage.db_dir.path(), Some(&addr));
    for client in [&a, &b] {
        wait_until(client, "online again", "return document.querySelector('[data-testid=connection-status]').dataset.status === 'online'").await;
    }
    say(&a, "after the restart").await;
    wait_for_text(&b, "after the restart").await;
    for client in [&a, &b] {
        assert_eq!(
            count_text(client, "before the restart").await,
            1,
            "nothing shown twice"
        );
        assert_eq!(count_text(client, "after the restart").await, 1);
    }
    for client in [a, b] {
        client.close().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_360px_screen_has_no_horizontal_scroll() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let stage = Stage::start().await;
    let phone = stage.browser(360, 740, false).await;
    let no_overflow = "return document.documentElement.scrollWidth <= window.innerWidth && document.body.scrollWidth <= window.innerWidth";
    phone.goto(&stage.app_url()).await.unwrap();
    phone
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("[data-testid=join-nick]"))
        .await
        .unwrap();
    assert_eq!(js(&phone, "return window.innerWidth").await, json!(360));
    assert_eq!(js(&phone, no_overflow).await, json!(true), "join screen");
    join(
        &phone,
        &stage.app_url(),
        "narrow",
        "a-room-with-a-rather-long-name-for-a-phone",
    )
    .await;
    say(&phone, "https://example.com/a/very/long/link/that/should/wrap/instead/of/pushing/the/page/sideways/at/all").await;
    say(&phone, &"word".repeat(80)).await;
    wait_for_text(&phone, &"word".repeat(80)).await;
    assert_eq!(js(&phone, no_overflow).await, json!(true), "chat screen");
    save_screenshot(&phone, "chat-phone.png").await;
    phone.close().await.unwrap();
}

/// A busy room for the README's screenshots, light and dark.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn screenshots_of_the_join_screen_and_a_busy_chat() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let stage = Stage::start().await;
    let light = stage.browser(1280, 800, false).await;
    light.goto(&stage.app_url()).await.unwrap();
    light
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css("[data-testid=join-nick]"))
        .await
        .unwrap();
    save_screenshot(&light, "join.png").await;

    let others = stage.browser(1280, 800, false).await;
    join(&others, &stage.app_url(), "joon", "general").await;
    let script = [
        ("joon", "Morning! Is the deploy still on for 10:00?"),
        (
            "joon",
            "I pushed the migration fix: https://example.com/parley/pull/42",
        ),
    ];
    for (_, text) in script {
        say(&others, text).await;
    }
    join(&light, &stage.app_url(), "mina", "general").await;
    say(&light, "Yes, 10:00. I'll watch the dashboards 📈").await;
    say(&others, "great, thanks!").await;
    say(&light, "다들 좋은 아침이에요 ☀️").await;
    wait_for_text(&light, "great, thanks!").await;
    wait_until(&light, "all sent", "return [...document.querySelectorAll('[data-testid=message][data-own=true]')].every(m => m.dataset.state === 'sent')").await;
    let composer = others
        .find(Locator::Css("[data-testid=composer]"))
        .await
        .unwrap();
    composer.send_keys("typing a reply").await.unwrap();
    wait_until(&light, "the typing indicator", "return document.querySelector('[data-testid=typing-indicator]').textContent.includes('joon')").await;
    save_screenshot(&light, "chat-light.png").await;

    let dark = stage.browser(1280, 800, true).await;
    join(&dark, &stage.app_url(), "ana", "general").await;
    wait_for_text(&dark, "great, thanks!").await;
    assert_eq!(
        js(
            &dark,
            "return matchMedia('(prefers-color-scheme: dark)').matches"
        )
        .await,
        json!(true)
    );
    save_screenshot(&dark, "chat-dark.png").await;
    for client in [light, others, dark] {
        client.close().await.unwrap();
    }
}
