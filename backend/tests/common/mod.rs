//! Test harness: a real Parley server on a free loopback port, and a typed
//! WebSocket client that fails the test (instead of hanging) when an expected
//! frame does not come.

#![allow(dead_code)]

pub mod cluster;
pub mod raw;
pub mod stores;

// Real servers for the process tests live beside this module and are
// included with `#[path]` only by the tests that start them (postgres.rs is
// also shared with the library's store tests): postgres.rs, redis.rs and
// nginx.rs (deploy/nginx.conf in front of server processes).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use parley::config::Config;
use parley::hub::Hub;
use parley::store::{MemoryStore, MessageStore};
use parley_protocol::{ClientFrame, ServerFrame};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a test waits for any one expected frame.
pub const WAIT: Duration = Duration::from_secs(10);

/// A config for tests: generous rate limits unless a test says otherwise.
pub fn test_config() -> Config {
    Config {
        addr: "127.0.0.1:0".parse().unwrap(),
        static_dir: Some(std::env::temp_dir().join("parley-test-no-dist")),
        ..Config::default()
    }
}

/// Accounts kept in memory, with the default rules.
pub fn accounts() -> Arc<parley::accounts::Accounts> {
    Arc::new(parley::accounts::Accounts::in_memory(
        Config::default().accounts.rules(),
    ))
}

/// Lifts every per-connection rate (sends, the frame budget, joins,
/// catch-ups, history) for tests that flood far past a person's pace.
pub fn unlimited(limits: &mut parley::config::Limits) {
    use parley::config::Rate;
    let plenty = Rate::new(1_000_000_000, Duration::from_secs(1));
    limits.rate_burst = 1_000_000;
    limits.rate_per_sec = 1_000_000;
    limits.frame_budget = plenty;
    limits.join_rate = plenty;
    limits.catch_up_rate = plenty;
    limits.history_rate = plenty;
}

/// The flags that do the same for a server process.
pub const UNLIMITED_FLAGS: [&str; 12] = [
    "--rate-burst",
    "1000000",
    "--rate-per-sec",
    "1000000",
    "--frame-budget",
    "1000000000/1s",
    "--join-rate",
    "1000000000/1s",
    "--catch-up-rate",
    "1000000000/1s",
    "--history-rate",
    "1000000000/1s",
];

/// A server running in this process on 127.0.0.1 with a free port.
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its hub.
    pub hub: Arc<Hub>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    /// Starts a server with `config`.
    pub async fn start(config: Config) -> TestServer {
        let store: Arc<dyn MessageStore> = Arc::new(MemoryStore::new(config.limits.memory_history));
        Self::start_with_store(config, store).await
    }

    /// Starts a server whose hub uses `store`.
    pub async fn start_with_store(config: Config, store: Arc<dyn MessageStore>) -> TestServer {
        Self::start_with_clock(config, store, Arc::new(parley::time::now_ms)).await
    }

    /// Starts a server whose hub uses `store` and stamps events with `clock`.
    pub async fn start_with_clock(
        config: Config,
        store: Arc<dyn MessageStore>,
        clock: parley::committer::Clock,
    ) -> TestServer {
        Self::start_linked(config, store, clock, None).await
    }

    /// Starts a server whose hub uses `store`, stamps events with `clock`
    /// and, if given, is linked to other nodes through `broker`.
    pub async fn start_linked(
        config: Config,
        store: Arc<dyn MessageStore>,
        clock: parley::committer::Clock,
        broker: Option<Arc<dyn parley::broker::Broker>>,
    ) -> TestServer {
        let listener = parley::server::bind("127.0.0.1:0".parse().unwrap(), 1024).unwrap();
        let addr = listener.local_addr().unwrap();
        let accounts = Arc::new(parley::accounts::Accounts::in_memory(
            config.accounts.rules(),
        ));
        let hub = Hub::with_clock(config.limits.clone(), store, accounts, clock);
        if let Some(broker) = broker {
            hub.attach(broker).expect("a new hub has no broker");
        }
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(parley::server::run(listener, config, hub.clone(), async {
            let _ = stopped.await;
        }));
        TestServer {
            addr,
            hub,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// The WebSocket URL.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// A connected client.
    pub async fn client(&self) -> Client {
        Client::connect(&self.ws_url()).await
    }

    /// A client that said hello as `nick`.
    pub async fn hello(&self, nick: &str) -> Client {
        let mut client = self.client().await;
        client.hello(nick).await;
        client
    }

    /// Signals shutdown and waits (bounded) for the server to stop.
    pub async fn shutdown(mut self) -> Duration {
        let started = std::time::Instant::now();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(20), task)
                .await
                .expect("server stops within 20 s")
                .unwrap()
                .expect("the server ran");
        }
        started.elapsed()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The server binary on a loopback port; killed (SIGKILL) when dropped.
pub struct ServerProcess {
    /// The process.
    pub child: std::process::Child,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl ServerProcess {
    /// Starts `parley-backend` with `args` (plus `--addr 127.0.0.1:0` unless
    /// the args name an address) and reads the address it prints.
    pub fn spawn(args: &[&str]) -> ServerProcess {
        Self::spawn_with(args, std::process::Stdio::inherit(), None)
    }

    /// Like [`ServerProcess::spawn`], with the log (at `info`) written to `log`.
    pub fn spawn_logging_to(args: &[&str], log: &std::path::Path) -> ServerProcess {
        let file = std::fs::File::create(log).unwrap();
        Self::spawn_with(args, file.into(), Some("info"))
    }

    fn spawn_with(
        args: &[&str],
        stderr: std::process::Stdio,
        level: Option<&str>,
    ) -> ServerProcess {
        use std::io::BufRead;
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_parley-backend"));
        if !args.contains(&"--addr") {
            command.args(["--addr", "127.0.0.1:0"]);
        }
        let mut child = command
            .args(args)
            .env(
                "RUST_LOG",
                level
                    .map(str::to_owned)
                    .or_else(|| std::env::var("PARLEY_TEST_LOG").ok())
                    .unwrap_or_else(|| "warn".into()),
            )
            .stdout(std::process::Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("the server binary starts");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .rsplit("http://")
            .next()
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        ServerProcess { child, addr }
    }

    /// The WebSocket URL.
    pub fn url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// The process's resident memory, in bytes.
    pub fn rss_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let kb: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .expect("VmRSS in /proc/PID/status");
        kb * 1024
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill_9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, then waits (bounded) for a clean exit; returns whether it exited 0.
    pub fn terminate(&mut self) -> bool {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill_9();
        false
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A WebSocket client speaking Parley's protocol.
pub struct Client {
    /// The socket.
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// The resume token from the last `welcome`.
    pub resume: Option<String>,
}

impl Client {
    /// Connects to `url`.
    pub async fn connect(url: &str) -> Client {
        let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(url))
            .await
            .expect("connect in time")
            .expect("websocket handshake");
        Client { ws, resume: None }
    }

    /// Sends a frame.
    pub async fn send(&mut self, frame: ClientFrame) {
        self.ws.send(Message::text(frame.to_json())).await.unwrap();
    }

    /// Sends a frame; an error if the socket is gone.
    pub async fn try_send(
        &mut self,
        frame: ClientFrame,
    ) -> Result<(), tokio_tungstenite::tungstenite::Error> {
        self.ws.send(Message::text(frame.to_json())).await
    }

    /// The next server frame, or `None` once the socket is closed or broken.
    pub async fn next_frame(&mut self) -> Option<ServerFrame> {
        loop {
            match self.ws.next().await? {
                Ok(Message::Text(text)) => return serde_json::from_str(text.as_str()).ok(),
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => continue,
            }
        }
    }

    /// Sends raw text.
    pub async fn send_text(&mut self, text: &str) {
        self.ws.send(Message::text(text.to_owned())).await.unwrap();
    }

    /// The next server frame; panics on timeout, close, or a non-text frame.
    pub async fn recv(&mut self) -> ServerFrame {
        loop {
            let message = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("a frame in time")
                .expect("socket open")
                .expect("no socket error");
            match message {
                Message::Text(text) => {
                    return serde_json::from_str(text.as_str()).expect("a valid server frame")
                }
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("expected a text frame, got {other:?}"),
            }
        }
    }

    /// Frames until one matches `pred`, which is returned.
    pub async fn recv_until(&mut self, mut pred: impl FnMut(&ServerFrame) -> bool) -> ServerFrame {
        loop {
            let frame = self.recv().await;
            if pred(&frame) {
                return frame;
            }
        }
    }

    /// Frames until a `presence` in `room` saying that `nick` joined
    /// (`true`) or left (`false`).
    pub async fn told(&mut self, room: &str, nick: &str, joined: bool) {
        self.recv_until(|f| tells(f, room, nick, joined)).await;
    }

    /// Frames (presence and typing included) until the `pong` of a `ping`
    /// sent now; returns the frames before it.
    pub async fn until_pong(&mut self) -> Vec<ServerFrame> {
        self.send(ClientFrame::Ping { id: Some(424242) }).await;
        let mut frames = Vec::new();
        loop {
            match self.recv().await {
                ServerFrame::Pong { id: Some(424242) } => return frames,
                other => frames.push(other),
            }
        }
    }

    /// Asserts nothing arrives for `quiet`.
    pub async fn expect_silence(&mut self, quiet: Duration) {
        if let Ok(Some(Ok(Message::Text(text)))) = tokio::time::timeout(quiet, self.ws.next()).await
        {
            panic!("expected silence, got {text}");
        }
    }

    /// Skips data frames until the server's Close; returns its code.
    pub async fn expect_close(&mut self) -> u16 {
        loop {
            match tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("close in time")
            {
                Some(Ok(Message::Close(Some(CloseFrame { code, .. })))) => return code.into(),
                Some(Ok(Message::Close(None))) => return 1005,
                Some(Ok(_)) => continue,
                Some(Err(err)) => panic!("socket error instead of close: {err}"),
                None => panic!("socket ended without a close frame"),
            }
        }
    }

    /// Says hello and returns the `welcome`.
    pub async fn hello(&mut self, nick: &str) -> ServerFrame {
        let resume = self.resume.clone();
        self.send(ClientFrame::Hello {
            nick: nick.into(),
            resume,
            token: None,
        })
        .await;
        let welcome = self.recv().await;
        match &welcome {
            ServerFrame::Welcome { resume, .. } => self.resume = Some(resume.clone()),
            other => panic!("expected welcome, got {other:?}"),
        }
        welcome
    }

    /// Joins `room` and returns the `joined`.
    pub async fn join(&mut self, room: &str) -> ServerFrame {
        self.send(ClientFrame::Join {
            room: room.into(),
            since: None,
        })
        .await;
        self.recv_until(|f| matches!(f, ServerFrame::Joined { .. }))
            .await
    }

    /// The first page of `room`'s members and its count.
    pub async fn members(&mut self, room: &str) -> (Vec<String>, u64) {
        self.send(ClientFrame::Members {
            room: room.into(),
            prefix: None,
            after: None,
            limit: None,
        })
        .await;
        match self
            .recv_until(|f| matches!(f, ServerFrame::Members { .. }))
            .await
        {
            ServerFrame::Members { members, count, .. } => (members, count),
            _ => unreachable!(),
        }
    }

    /// Sends a message and returns the `ack`'s seq.
    pub async fn say(&mut self, room: &str, text: &str, cid: &str) -> u64 {
        self.send(ClientFrame::Send {
            room: room.into(),
            text: text.into(),
            cid: cid.into(),
            reply_to: None,
        })
        .await;
        match self
            .recv_until(|f| matches!(f, ServerFrame::Ack { .. }))
            .await
        {
            ServerFrame::Ack {
                seq, cid: acked, ..
            } => {
                assert_eq!(acked, cid);
                seq
            }
            _ => unreachable!(),
        }
    }

    /// Sends a Close frame with `code`.
    pub async fn send_close(&mut self, code: u16) {
        let frame = CloseFrame {
            code: code.into(),
            reason: "".into(),
        };
        self.ws.send(Message::Close(Some(frame))).await.unwrap();
    }

    /// Drops the TCP connection without a close handshake.
    pub fn vanish(self) {
        drop(self.ws);
    }
}

/// Whether `frame` is a `presence` in `room` saying that `nick` joined
/// (`true`) or left (`false`).
pub fn tells(frame: &ServerFrame, room: &str, nick: &str, joined: bool) -> bool {
    match frame {
        ServerFrame::Presence {
            room: r,
            joined: arrived,
            left,
            ..
        } if r == room => {
            let list = if joined { arrived } else { left };
            list.iter().any(|n| n == nick)
        }
        _ => false,
    }
}

/// The messages among a `joined` frame's history (the other events are
/// changes to them).
pub fn messages_of(history: Vec<parley_protocol::RoomEvent>) -> Vec<parley_protocol::ChatMessage> {
    history
        .into_iter()
        .filter_map(|event| match event {
            parley_protocol::RoomEvent::Message(message) => Some(message),
            _ => None,
        })
        .collect()
}

/// The `error` code of a frame, or a panic.
pub fn error_code(frame: &ServerFrame) -> parley_protocol::ErrorCode {
    match frame {
        ServerFrame::Error { code, .. } => *code,
        other => panic!("expected an error frame, got {other:?}"),
    }
}

/// Sends `text` to `room`; the ack's seq, or `None` if the send was
/// refused `busy` (any other answer fails the test).
pub async fn try_say(client: &mut Client, room: &str, text: &str, cid: &str) -> Option<u64> {
    client
        .send(ClientFrame::Send {
            room: room.into(),
            text: text.into(),
            cid: cid.into(),
            reply_to: None,
        })
        .await;
    match client
        .recv_until(|f| matches!(f, ServerFrame::Ack { .. } | ServerFrame::Error { .. }))
        .await
    {
        ServerFrame::Ack { seq, .. } => Some(seq),
        refused => {
            assert_eq!(
                error_code(&refused),
                parley_protocol::ErrorCode::Busy,
                "{refused:?}"
            );
            None
        }
    }
}
