//! Route tests through `warp::test`: every HTTP route, every client frame and
//! every error code, each with the reply it must produce.

mod common;

use std::sync::Arc;
use std::time::Duration;

use parley::config::Config;
use parley::hub::{Hub, Workers};
use parley::store::{MemoryStore, MessageStore};
use parley_protocol::{ChatMessage, ClientFrame, ErrorCode, ServerFrame};
use warp::test::WsClient;
use warp::Filter;

use common::stores::TestStore;
use common::test_config;

/// Builds the app's routes around a fresh, started hub; the hub's workers
/// run until the returned handle is dropped. Presence and typing are told
/// only when a test calls `flush_news`, so frames come in a known order.
fn routes_with(
    mut config: Config,
    store: Arc<dyn MessageStore>,
) -> (
    impl Filter<Extract = (warp::reply::Response,), Error = std::convert::Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    Workers,
) {
    config.limits.presence_interval = Duration::from_secs(3600);
    let hub = Hub::new(config.limits.clone(), store, common::accounts());
    let workers = hub.start().unwrap();
    (parley::server::app(&config, hub).unwrap().routes, workers)
}

fn routes(
    config: Config,
) -> (
    impl Filter<Extract = (warp::reply::Response,), Error = std::convert::Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    Workers,
) {
    let store = Arc::new(MemoryStore::new(config.limits.memory_history));
    routes_with(config, store)
}

/// A request to the server at its default address, as a browser sends it.
fn request() -> warp::test::RequestBuilder {
    warp::test::request().header("host", "127.0.0.1:8080")
}

/// A WebSocket handshake, as [`request`].
fn ws() -> warp::test::WsBuilder {
    warp::test::ws().header("host", "127.0.0.1:8080")
}

async fn connect<F>(routes: &F) -> WsClient
where
    F: Filter<Extract = (warp::reply::Response,), Error = std::convert::Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
{
    ws().path("/ws")
        .handshake(routes.clone())
        .await
        .expect("handshake")
}

async fn recv(client: &mut WsClient) -> ServerFrame {
    let message = tokio::time::timeout(Duration::from_secs(5), client.recv())
        .await
        .expect("a frame in time")
        .expect("a frame");
    serde_json::from_str(message.to_str().expect("text")).expect("server frame")
}

async fn send(client: &mut WsClient, frame: ClientFrame) {
    client.send_text(frame.to_json()).await;
}

async fn hello(client: &mut WsClient, nick: &str) -> ServerFrame {
    send(
        client,
        ClientFrame::Hello {
            nick: nick.into(),
            resume: None,
            token: None,
        },
    )
    .await;
    recv(client).await
}

async fn join(client: &mut WsClient, room: &str) -> ServerFrame {
    send(
        client,
        ClientFrame::Join {
            room: room.into(),
            since: None,
        },
    )
    .await;
    recv(client).await
}

fn say(room: &str, text: &str, cid: &str) -> ClientFrame {
    ClientFrame::Send {
        room: room.into(),
        text: text.into(),
        cid: cid.into(),
        reply_to: None,
    }
}

async fn expect_error(client: &mut WsClient, code: ErrorCode) -> ServerFrame {
    let frame = recv(client).await;
    assert_eq!(common::error_code(&frame), code, "{frame:?}");
    frame
}

#[tokio::test]
async fn healthz_and_unknown_routes() {
    let (routes, _workers) = routes(test_config());
    let res = request().path("/healthz").reply(&routes).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.body(), "ok\n");
    let res = request().path("/api/nope").reply(&routes).await;
    assert_eq!(res.status(), 404);
    let res = request()
        .method("POST")
        .path("/healthz")
        .reply(&routes)
        .await;
    assert_ne!(res.status(), 200);
}

#[tokio::test]
async fn api_rooms_lists_rooms_with_member_counts() {
    let (routes, _workers) = routes(test_config());
    let mut a = connect(&routes).await;
    hello(&mut a, "ana").await;
    join(&mut a, "Rust").await;
    let mut b = connect(&routes).await;
    hello(&mut b, "bo").await;
    join(&mut b, "rust").await;
    join(&mut b, "go").await;
    let res = request().path("/api/rooms").reply(&routes).await;
    assert_eq!(res.status(), 200);
    let rooms: serde_json::Value = serde_json::from_slice(res.body()).unwrap();
    assert_eq!(
        rooms,
        serde_json::json!([{"room":"rust","members":2,"last_seq":0},{"room":"go","members":1,"last_seq":0}])
    );
}

#[tokio::test]
async fn metrics_are_exposed_for_prometheus() {
    let (routes, _workers) = routes(test_config());
    let res = request().path("/metrics").reply(&routes).await;
    assert_eq!(res.status(), 200);
    let body = String::from_utf8_lossy(res.body()).to_string();
    for name in [
        "parley_connections",
        "parley_messages_in_total",
        "parley_rate_limited_total",
        "parley_slow_consumer_drops_total",
    ] {
        assert!(body.contains(name), "{name} missing from {body}");
    }
}

fn upgrade_request() -> warp::test::RequestBuilder {
    request()
        .path("/ws")
        .header("connection", "Upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .header("host", "127.0.0.1:8080")
}

#[tokio::test]
async fn ws_refuses_plain_http_and_foreign_origins() {
    let (routes, _workers) = routes(test_config());
    let res = request().path("/ws").reply(&routes).await;
    assert_eq!(res.status(), 426);
    let res = upgrade_request()
        .header("origin", "https://evil.example")
        .reply(&routes)
        .await;
    assert_eq!(res.status(), 403);
    let res = upgrade_request()
        .header("sec-websocket-version", "8")
        .reply(&routes)
        .await;
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn ws_accepts_own_origin_listed_origins_and_no_origin() {
    let mut config = test_config();
    config.allowed_origins = vec!["http://localhost:8081".into()];
    let (routes, _workers) = routes(config);
    // Without a hyper connection there is nothing to upgrade, but the checks pass.
    for origin in [
        None,
        Some("http://127.0.0.1:8080"),
        Some("http://localhost:8081"),
    ] {
        let mut req = upgrade_request();
        if let Some(origin) = origin {
            req = req.header("origin", origin);
        }
        let res = req.reply(&routes).await;
        assert_ne!(res.status(), 403, "{origin:?}");
    }
    let mut client = ws()
        .path("/ws")
        .header("origin", "http://localhost:8081")
        .handshake(routes.clone())
        .await
        .expect("allowed origin upgrades");
    assert!(matches!(
        hello(&mut client, "ok").await,
        ServerFrame::Welcome { .. }
    ));
    let refused = ws()
        .path("/ws")
        .header("origin", "https://evil.example")
        .handshake(routes)
        .await;
    assert!(refused.is_err());
}

#[tokio::test]
async fn serves_the_app_with_spa_fallback_and_cache_headers() {
    let dir = std::env::temp_dir().join(format!("parley-dist-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("index.html"), "<html>app</html>").unwrap();
    std::fs::write(dir.join("parley-frontend-0123456789abcdef_bg.wasm"), "wasm").unwrap();
    let mut config = test_config();
    config.static_dir = Some(dir.clone());
    let (routes, _workers) = routes(config);
    for path in ["/", "/room/rust"] {
        let res = request().path(path).reply(&routes).await;
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(res.body(), "<html>app</html>");
        assert_eq!(res.headers()["cache-control"], "no-cache");
    }
    let res = request()
        .path("/parley-frontend-0123456789abcdef_bg.wasm")
        .reply(&routes)
        .await;
    assert_eq!(res.status(), 200);
    assert!(res.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("immutable"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_development_build_in_the_folder_is_refused_with_how_to_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("index.html"),
        "<script>const address = '{{__TRUNK_ADDRESS__}}';</script>",
    )
    .unwrap();
    let mut config = test_config();
    config.static_dir = Some(dir.path().to_owned());
    let (routes, _workers) = routes(config);
    for path in ["/", "/index.html", "/room/rust"] {
        let res = request().path(path).reply(&routes).await;
        assert_eq!(res.status(), 503, "{path}");
        let body = String::from_utf8_lossy(res.body()).into_owned();
        assert!(body.contains("trunk build --release"), "{path}: {body}");
    } // A folder without the app says how to build it.
    let mut config = test_config();
    config.static_dir = Some(dir.path().join("nothing-here"));
    let (empty, _workers) = self::routes(config);
    for path in ["/", "/room/rust"] {
        let res = request().path(path).reply(&empty).await;
        assert_eq!(res.status(), 503, "{path}");
        let body = String::from_utf8_lossy(res.body()).into_owned();
        assert!(body.contains("make run"), "{path}: {body}");
    }
}

/// The app built into the binary (a debug build reads `dist/` from disk).
#[tokio::test]
async fn the_built_in_app_answers_with_types_cache_policies_and_etags() {
    let dist = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../dist");
    let index = std::fs::read(dist.join("index.html"))
        .expect("no built app in dist/: run `trunk build --release` (or `make test`) first");
    let wasm = std::fs::read_dir(&dist)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .find(|name| name.ends_with("_bg.wasm"))
        .expect("a wasm bundle in dist/");
    let mut config = test_config();
    config.static_dir = None;
    let (routes, _workers) = routes(config);
    for path in ["/", "/index.html", "/room/rust"] {
        let res = request().path(path).reply(&routes).await;
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(res.body().as_ref(), index.as_slice(), "{path}");
        assert_eq!(res.headers()["content-type"], "text/html; charset=utf-8");
        assert_eq!(res.headers()["cache-control"], "no-cache");
        let etag = res.headers()["etag"].to_str().unwrap().to_owned();
        let again = request()
            .path(path)
            .header("if-none-match", format!("\"other\", {etag}"))
            .reply(&routes)
            .await;
        assert_eq!(again.status(), 304, "{path}");
        assert!(again.body().is_empty());
        let changed = request()
            .path(path)
            .header("if-none-match", "\"other\"")
            .reply(&routes)
            .await;
        assert_eq!(changed.status(), 200, "{path}");
    }
    let res = request().path(&format!("/{wasm}")).reply(&routes).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/wasm");
    assert!(res.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("immutable"));
    assert_eq!(
        res.body().as_ref(),
        std::fs::read(dist.join(&wasm)).unwrap()
    );
    assert_eq!(res.headers()["vary"], "accept-encoding");
    assert!(res.headers().get("content-encoding").is_none());
    // Gzipped for a browser that takes it, with its own ETag.
    let wasm_bytes = std::fs::read(dist.join(&wasm)).unwrap();
    let zipped = request()
        .path(&format!("/{wasm}"))
        .header("accept-encoding", "gzip, deflate, br")
        .reply(&routes)
        .await;
    assert_eq!(zipped.status(), 200);
    assert_eq!(zipped.headers()["content-encoding"], "gzip");
    assert_eq!(zipped.headers()["vary"], "accept-encoding");
    assert_eq!(zipped.headers()["content-type"], "application/wasm");
    assert!(zipped.body().len() < wasm_bytes.len() / 2);
    let mut unzipped = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(zipped.body().as_ref()),
        &mut unzipped,
    )
    .unwrap();
    assert_eq!(unzipped, wasm_bytes);
    let gz_etag = zipped.headers()["etag"].to_str().unwrap().to_owned();
    assert_ne!(gz_etag, res.headers()["etag"].to_str().unwrap());
    let again = request()
        .path(&format!("/{wasm}"))
        .header("accept-encoding", "gzip")
        .header("if-none-match", &gz_etag)
        .reply(&routes)
        .await;
    assert_eq!(again.status(), 304);
    let refused = request()
        .path(&format!("/{wasm}"))
        .header("accept-encoding", "gzip;q=0")
        .reply(&routes)
        .await;
    assert!(refused.headers().get("content-encoding").is_none());
    assert_eq!(refused.body().len(), wasm_bytes.len());
    let head = request()
        .method("HEAD")
        .path(&format!("/{wasm}"))
        .reply(&routes)
        .await;
    assert_eq!(head.status(), 200);
    // Nothing outside the build is reachable.
    for path in ["/../Cargo.toml", "/%2e%2e/Cargo.toml", "/..%2fCargo.toml"] {
        let res = request().path(path).reply(&routes).await;
        assert!(
            !String::from_utf8_lossy(res.body()).contains("[workspace"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn every_frame_gets_its_answer() {
    let (routes, workers) = routes(test_config());
    let hub = workers.hub().clone();
    let mut a = connect(&routes).await;
    let mut b = connect(&routes).await;

    send(&mut a, ClientFrame::Ping { id: Some(7) }).await;
    assert_eq!(recv(&mut a).await, ServerFrame::Pong { id: Some(7) });

    let welcome = hello(&mut a, " Mina ").await;
    let ServerFrame::Welcome {
        nick,
        resumed,
        limits,
        ..
    } = welcome
    else {
        panic!("{welcome:?}")
    };
    assert_eq!(
        (nick.as_str(), resumed, limits.max_text_chars),
        ("Mina", false, 2000)
    );
    hello(&mut b, "joon").await;

    let joined = join(&mut a, "Rust").await;
    assert_eq!(
        joined,
        ServerFrame::Joined {
            room: "rust".into(),
            members: vec!["Mina".into()],
            member_count: 1,
            members_more: false,
            history: vec![],
            more: false,
            last_seq: 0,
            settings: Default::default(),
        }
    );
    let ServerFrame::Joined {
        members,
        member_count,
        ..
    } = join(&mut b, "rust").await
    else {
        panic!()
    };
    assert_eq!(members, vec!["joon".to_string(), "Mina".to_string()]);
    assert_eq!(member_count, 2);
    hub.flush_news();
    let both_joined = ServerFrame::Presence {
        room: "rust".into(),
        joined: vec!["joon".into(), "Mina".into()],
        left: vec![],
        count: 2,
    };
    assert_eq!(recv(&mut a).await, both_joined);
    assert_eq!(recv(&mut b).await, both_joined);

    send(
        &mut a,
        ClientFrame::Members {
            room: "rust".into(),
            prefix: Some("MI".into()),
            after: None,
            limit: None,
        },
    )
    .await;
    assert_eq!(
        recv(&mut a).await,
        ServerFrame::Members {
            room: "rust".into(),
            members: vec!["Mina".into()],
            more: false,
            count: 2
        }
    );

    send(&mut a, say("rust", "hello", "c1")).await;
    let ServerFrame::Ack { cid, room, seq, ts } = recv(&mut a).await else {
        panic!()
    };
    assert_eq!((cid.as_str(), room.as_str(), seq), ("c1", "rust", 1));
    assert_eq!(
        recv(&mut b).await,
        ServerFrame::Message(ChatMessage {
            room: "rust".into(),
            seq: 1,
            nick: "Mina".into(),
            text: "hello".into(),
            ts,
            cid: Some("c1".into()),
            ..ChatMessage::default()
        })
    );

    send(
        &mut b,
        ClientFrame::Typing {
            room: "rust".into(),
        },
    )
    .await;
    send(&mut b, ClientFrame::Ping { id: Some(8) }).await;
    assert_eq!(recv(&mut b).await, ServerFrame::Pong { id: Some(8) });
    hub.flush_news();
    let joon_typing = ServerFrame::Typing {
        room: "rust".into(),
        nicks: vec!["joon".into()],
        count: 1,
    };
    assert_eq!(recv(&mut a).await, joon_typing);
    assert_eq!(
        recv(&mut b).await,
        joon_typing,
        "shared: the typist may ignore itself"
    );

    send(&mut a, say("rust", "second", "c2")).await;
    recv(&mut a).await;
    recv(&mut b).await;
    send(
        &mut b,
        ClientFrame::History {
            room: "rust".into(),
            before: 2,
            limit: Some(10),
        },
    )
    .await;
    let ServerFrame::History {
        room,
        messages,
        more,
    } = recv(&mut b).await
    else {
        panic!()
    };
    assert_eq!(
        (room.as_str(), messages.len(), messages[0].seq, more),
        ("rust", 1, 1, false)
    );

    send(
        &mut b,
        ClientFrame::Leave {
            room: "rust".into(),
        },
    )
    .await;
    assert_eq!(
        recv(&mut b).await,
        ServerFrame::Left {
            room: "rust".into()
        }
    );
    hub.flush_news();
    assert_eq!(
        recv(&mut a).await,
        ServerFrame::Presence {
            room: "rust".into(),
            joined: vec![],
            left: vec!["joon".into()],
            count: 1
        }
    );
}

#[tokio::test]
async fn bad_input_gets_specific_errors_and_the_connection_stays_up() {
    let mut config = test_config();
    config.limits.max_rooms_per_connection = 2;
    let (routes, _workers) = routes(config);
    let mut c = connect(&routes).await;

    c.send_text("{not json").await;
    expect_error(&mut c, ErrorCode::BadJson).await;
    c.send_text(r#"{"type":"dance"}"#).await;
    expect_error(&mut c, ErrorCode::UnknownType).await;
    c.send_text(r#"{"type":"send","room":"x"}"#).await;
    expect_error(&mut c, ErrorCode::InvalidFrame).await;
    c.send(warp::ws::Message::binary(vec![1u8, 2, 3])).await;
    expect_error(&mut c, ErrorCode::BinaryNotSupported).await;
    send(&mut c, say("rust", "hi", "c1")).await;
    expect_error(&mut c, ErrorCode::HelloRequired).await;
    send(
        &mut c,
        ClientFrame::Hello {
            nick: "<script>".into(),
            resume: None,
            token: None,
        },
    )
    .await;
    expect_error(&mut c, ErrorCode::InvalidNick).await;

    let mut other = connect(&routes).await;
    hello(&mut other, "taken").await;
    send(
        &mut c,
        ClientFrame::Hello {
            nick: "TAKEN".into(),
            resume: None,
            token: None,
        },
    )
    .await;
    expect_error(&mut c, ErrorCode::NickTaken).await;

    hello(&mut c, "tester").await;
    send(
        &mut c,
        ClientFrame::Hello {
            nick: "again".into(),
            resume: None,
            token: None,
        },
    )
    .await;
    expect_error(&mut c, ErrorCode::AlreadyIdentified).await;
    send(
        &mut c,
        ClientFrame::Join {
            room: "no spaces".into(),
            since: None,
        },
    )
    .await;
    expect_error(&mut c, ErrorCode::InvalidRoom).await;
    send(&mut c, say("elsewhere", "hi", "c2")).await;
    let err = expect_error(&mut c, ErrorCode::NotJoined).await;
    let ServerFrame::Error { cid, room, .. } = err else {
        unreachable!()
    };
    assert_eq!(
        (cid.as_deref(), room.as_deref()),
        (Some("c2"), Some("elsewhere"))
    );
    send(
        &mut c,
        ClientFrame::Typing {
            room: "elsewhere".into(),
        },
    )
    .await;
    expect_error(&mut c, ErrorCode::NotJoined).await;
    send(
        &mut c,
        ClientFrame::Leave {
            room: "elsewhere".into(),
        },
    )
    .await;
    expect_error(&mut c, ErrorCode::NotJoined).await;
    send(
        &mut c,
        ClientFrame::History {
            room: "elsewhere".into(),
            before: 9,
            limit: None,
        },
    )
    .await;
    expect_error(&mut c, ErrorCode::NotJoined).await;

    join(&mut c, "one").await;
    join(&mut c, "two").await;
    send(
        &mut c,
        ClientFrame::Join {
            room: "three".into(),
            since: None,
        },
    )
    .await;
    expect_error(&mut c, ErrorCode::TooManyRooms).await;

    send(&mut c, say("one", "   ", "c3")).await;
    expect_error(&mut c, ErrorCode::EmptyText).await;
    send(&mut c, say("one", &"x".repeat(2001), "c4")).await;
    let err = expect_error(&mut c, ErrorCode::TextTooLong).await;
    assert!(matches!(err, ServerFrame::Error { cid: Some(ref c), .. } if c == "c4"));
    send(&mut c, say("one", "bell\u{7}", "c5")).await;
    expect_error(&mut c, ErrorCode::InvalidText).await;
    send(&mut c, say("one", "hi", "")).await;
    expect_error(&mut c, ErrorCode::InvalidCid).await;

    // After all that, the connection still works.
    send(&mut c, say("one", "still here", "c6")).await;
    assert!(matches!(
        recv(&mut c).await,
        ServerFrame::Ack { seq: 1, .. }
    ));
}

#[tokio::test]
async fn over_the_rate_limit_a_send_is_refused_and_neither_relayed_nor_stored() {
    let mut config = test_config();
    config.limits.rate_burst = 3;
    config.limits.rate_per_sec = 1;
    let (routes, _workers) = routes(config);
    let mut a = connect(&routes).await;
    let mut b = connect(&routes).await;
    hello(&mut a, "fast").await;
    hello(&mut b, "watcher").await;
    join(&mut a, "r").await;
    join(&mut b, "r").await;
    for i in 0..3 {
        send(&mut a, say("r", "ok", &format!("ok{i}"))).await;
        assert!(matches!(recv(&mut a).await, ServerFrame::Ack { .. }));
    }
    send(&mut a, say("r", "too much", "over")).await;
    let err = expect_error(&mut a, ErrorCode::RateLimited).await;
    assert!(matches!(err, ServerFrame::Error { cid: Some(ref c), .. } if c == "over"));
    for _ in 0..3 {
        assert!(matches!(recv(&mut b).await, ServerFrame::Message(_)));
    }
    send(
        &mut b,
        ClientFrame::History {
            room: "r".into(),
            before: u64::MAX,
            limit: None,
        },
    )
    .await;
    let ServerFrame::History { messages, .. } = recv(&mut b).await else {
        panic!()
    };
    assert_eq!(messages.len(), 3, "the refused message was not stored");
}

#[tokio::test]
async fn a_store_failure_is_an_internal_error_and_nothing_is_relayed() {
    let store = Arc::new(TestStore::new());
    store.fail_commits(true);
    let (routes, _workers) = routes_with(test_config(), store);
    let mut a = connect(&routes).await;
    let mut b = connect(&routes).await;
    hello(&mut a, "a").await;
    hello(&mut b, "b").await;
    join(&mut a, "r").await;
    join(&mut b, "r").await;
    send(&mut a, say("r", "lost?", "c1")).await;
    let err = expect_error(&mut a, ErrorCode::Internal).await;
    assert!(matches!(err, ServerFrame::Error { cid: Some(ref c), .. } if c == "c1"));
    send(&mut b, ClientFrame::Ping { id: None }).await;
    assert_eq!(
        recv(&mut b).await,
        ServerFrame::Pong { id: None },
        "b got no message"
    );
}

#[tokio::test]
async fn a_client_that_keeps_sending_garbage_is_closed() {
    let mut config = test_config();
    config.limits.max_errors_in_row = 20;
    let (routes, _workers) = routes(config);
    let mut c = connect(&routes).await;
    for _ in 0..19 {
        c.send_text("garbage").await;
        expect_error(&mut c, ErrorCode::BadJson).await;
    }
    // A good frame resets the count...
    hello(&mut c, "finally").await;
    for _ in 0..19 {
        c.send_text("garbage").await;
        expect_error(&mut c, ErrorCode::BadJson).await;
    }
    // ...and the twentieth bad one in a row closes the connection.
    c.send_text("garbage").await;
    expect_error(&mut c, ErrorCode::BadJson).await;
    tokio::time::timeout(Duration::from_secs(5), c.recv_closed())
        .await
        .expect("closed in time")
        .expect("closed");
}

#[tokio::test]
async fn pings_and_typing_between_bad_frames_do_not_reset_their_count() {
    let mut config = test_config();
    config.limits.max_errors_in_row = 20;
    let (routes, _workers) = routes(config);
    let mut c = connect(&routes).await;
    hello(&mut c, "sly").await;
    join(&mut c, "r").await;
    for i in 0..19 {
        c.send_text("{\"type\":\"dance\"}").await;
        expect_error(&mut c, ErrorCode::UnknownType).await;
        if i % 2 == 0 {
            send(&mut c, ClientFrame::Ping { id: None }).await;
            assert_eq!(recv(&mut c).await, ServerFrame::Pong { id: None });
        } else {
            send(&mut c, ClientFrame::Typing { room: "r".into() }).await;
        }
    }
    c.send_text("{\"type\":\"dance\"}").await;
    expect_error(&mut c, ErrorCode::UnknownType).await;
    tokio::time::timeout(Duration::from_secs(5), c.recv_closed())
        .await
        .expect("closed in time")
        .expect("closed after twenty bad frames, pings and typing notwithstanding");
}

#[tokio::test]
async fn when_the_store_falls_behind_sends_are_refused_as_busy_and_nothing_is_lost() {
    let mut config = test_config();
    config.limits.commit_queue = 1;
    let store = Arc::new(TestStore::new());
    store.commits.close();
    let (routes, _workers) = routes_with(config, store.clone());
    let mut c = connect(&routes).await;
    hello(&mut c, "writer").await;
    join(&mut c, "r").await;
    // The first message is taken by the committer (stuck in the store), the
    // second waits in the queue, the third finds the queue full.
    send(&mut c, say("r", "one", "c1")).await;
    store.commits.reached().await;
    send(&mut c, say("r", "two", "c2")).await;
    send(&mut c, say("r", "three", "c3")).await;
    let err = expect_error(&mut c, ErrorCode::Busy).await;
    assert!(matches!(err, ServerFrame::Error { cid: Some(ref c), .. } if c == "c3"));
    // Open the gate: the two accepted messages are committed and acknowledged.
    store.commits.open();
    for (seq, cid) in [(1, "c1"), (2, "c2")] {
        match recv(&mut c).await {
            ServerFrame::Ack { seq: s, cid: c, .. } => assert_eq!((s, c.as_str()), (seq, cid)),
            other => panic!("expected an ack, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn message_life_frames_get_their_answers() {
    let (routes, _workers) = routes(test_config());
    let mut a = connect(&routes).await;
    let mut b = connect(&routes).await;
    hello(&mut a, "ana").await;
    hello(&mut b, "bo").await;
    join(&mut a, "r").await;
    join(&mut b, "r").await;
    send(&mut a, say("r", "hello world", "c1")).await;
    let ServerFrame::Ack { seq, .. } = recv(&mut a).await else {
        panic!()
    };
    assert!(matches!(recv(&mut b).await, ServerFrame::Message(_)));
    let changes = [
        ClientFrame::Edit {
            room: "r".into(),
            target: seq,
            text: "hello, world".into(),
            cid: "c2".into(),
        },
        ClientFrame::React {
            room: "r".into(),
            target: seq,
            emoji: "🙂".into(),
            on: true,
            cid: "c3".into(),
        },
        ClientFrame::Delete {
            room: "r".into(),
            target: seq,
            cid: "c4".into(),
        },
    ];
    for (i, frame) in changes.into_iter().enumerate() {
        send(&mut a, frame).await;
        match recv(&mut a).await {
            ServerFrame::Ack { seq: s, .. } => assert_eq!(s, seq + 1 + i as u64),
            other => panic!("expected an ack, got {other:?}"),
        }
        let told = recv(&mut b).await;
        assert!(
            matches!(
                (i, &told),
                (0, ServerFrame::Edited(_))
                    | (1, ServerFrame::Reacted(_))
                    | (2, ServerFrame::Deleted(_))
            ),
            "{told:?}"
        );
    }
    send(
        &mut b,
        ClientFrame::Search {
            query: "hello".into(),
            room: None,
            nick: None,
            before: None,
            limit: None,
            id: None,
        },
    )
    .await;
    assert!(
        matches!(recv(&mut b).await, ServerFrame::SearchResults { hits, .. } if hits.is_empty()),
        "a deleted message is not found"
    );
    send(
        &mut b,
        ClientFrame::React {
            room: "r".into(),
            target: seq,
            emoji: "x".into(),
            on: true,
            cid: "c5".into(),
        },
    )
    .await;
    expect_error(&mut b, ErrorCode::InvalidEmoji).await;
}
