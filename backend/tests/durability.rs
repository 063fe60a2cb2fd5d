//! Durable history: the real server process on a temp SQLite database,
//! killed with SIGKILL mid-conversation; catch-up after a disconnect; the
//! history/live seam under load; schema migration; unusable databases.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parley::store::{MessageStore, SqliteStore, Synchronous, SCHEMA_V1};
use parley_protocol::{ClientFrame, ServerFrame};
use rand::Rng;

use common::{test_config, Client, ServerProcess, TestServer};

/// Starts the server binary on `db` with generous limits for flooding.
fn start_server(db: &Path) -> ServerProcess {
    let url = format!("sqlite://{}", db.display());
    let mut args = vec![
        "--static-dir",
        "/nonexistent",
        "--database-url",
        &url,
        "--catch-up-cap",
        "1000000",
    ];
    args.extend(common::UNLIMITED_FLAGS);
    ServerProcess::spawn(&args)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_acknowledged_is_lost_when_the_server_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("parley.db");
    let mut server = start_server(&db);

    // Three clients send as fast as they can and note every ack.
    let mut senders = Vec::new();
    for n in 0..3 {
        let url = server.url();
        senders.push(tokio::spawn(async move {
            let mut client = Client::connect(&url).await;
            client.hello(&format!("sender{n}")).await;
            client.join("r").await;
            let mut acked = Vec::new();
            let mut i = 0u64;
            loop {
                for _ in 0..20 {
                    let frame = ClientFrame::Send {
                        room: "r".into(),
                        text: format!("{n}-{i}"),
                        cid: format!("{n}-{i}"),
                        reply_to: None,
                    };
                    if client.try_send(frame).await.is_err() {
                        return acked;
                    }
                    i += 1;
                }
                // Read until the socket dies; every ack counts.
                loop {
                    match tokio::time::timeout(Duration::from_millis(20), client.next_frame()).await
                    {
                        Ok(Some(ServerFrame::Ack { seq, cid, .. })) => acked.push((seq, cid)),
                        Ok(Some(_)) => {}
                        Ok(None) => return acked,
                        Err(_) => break,
                    }
                }
            }
        }));
    }
    let delay = rand::rng().random_range(300..1500);
    tokio::time::sleep(Duration::from_millis(delay)).await;
    server.kill_9();
    let mut acked = Vec::new();
    for sender in senders {
        acked.extend(
            tokio::time::timeout(Duration::from_secs(20), sender)
                .await
                .unwrap()
                .unwrap(),
        );
    }
    assert!(
        !acked.is_empty(),
        "some messages were acknowledged before the kill"
    );

    let server = start_server(&db);
    let mut reader = Client::connect(&server.url()).await;
    reader.hello("reader").await;
    reader
        .send(ClientFrame::Join {
            room: "r".into(),
            since: Some(0),
        })
        .await;
    let ServerFrame::Joined {
        history,
        last_seq,
        more,
        ..
    } = reader
        .recv_until(|f| matches!(f, ServerFrame::Joined { .. }))
        .await
    else {
        unreachable!()
    };
    assert!(!more);
    let history = common::messages_of(history);
    let seqs: Vec<u64> = history.iter().map(|m| m.seq).collect();
    assert_eq!(
        seqs,
        (1..=last_seq).collect::<Vec<_>>(),
        "history is gap-free and in order"
    );
    for (seq, cid) in &acked {
        let stored = &history[*seq as usize - 1];
        assert_eq!(
            stored.cid.as_deref(),
            Some(cid.as_str()),
            "acked message {cid} is stored at seq {seq}"
        );
    }
    assert_eq!(
        reader.say("r", "after the restart", "x").await,
        last_seq + 1,
        "seq continues"
    );
    eprintln!(
        "killed after {delay} ms: {} acknowledged, {last_seq} stored",
        acked.len()
    );
}

/// A server in this process on a fresh SQLite file, with a small room cache
/// so catch-ups beyond it are read from the database.
async fn sqlite_server(dir: &Path) -> TestServer {
    sqlite_server_with_cache(dir, 64).await
}

/// A server in this process on a fresh SQLite file whose rooms keep the
/// newest `room_cache` messages in memory.
async fn sqlite_server_with_cache(dir: &Path, room_cache: usize) -> TestServer {
    let mut config = test_config();
    common::unlimited(&mut config.limits);
    config.limits.room_cache = room_cache;
    config.limits.catch_up_cap = 100_000;
    // These tests flood one room far past any chat's pace; a commit batch is
    // delivered at once, so the queues must hold a whole burst.
    config.limits.outbox_capacity = 16_384;
    let store: Arc<dyn MessageStore> =
        Arc::new(SqliteStore::open(&dir.join("p.db"), Synchronous::Normal, 4).unwrap());
    TestServer::start_with_store(config, store).await
}

#[tokio::test]
async fn a_returning_client_gets_exactly_what_it_missed_then_live_messages() {
    let dir = tempfile::tempdir().unwrap();
    let server = sqlite_server(dir.path()).await;
    let mut talker = server.hello("talker").await;
    talker.join("r").await;
    let mut away = server.hello("away").await;
    away.join("r").await;
    let last_seen = talker.say("r", "before", "b").await;
    away.recv_until(|f| matches!(f, ServerFrame::Message(_)))
        .await;
    let token = away.resume.clone();
    away.vanish();

    for i in 0..500 {
        talker
            .send(ClientFrame::Send {
                room: "r".into(),
                text: format!("m{i}"),
                cid: format!("c{i}"),
                reply_to: None,
            })
            .await;
    }
    talker
        .recv_until(|f| matches!(f, ServerFrame::Ack { cid, .. } if cid == "c499"))
        .await;

    let mut back = server.client().await;
    back.resume = token;
    back.hello("away").await;
    back.send(ClientFrame::Join {
        room: "r".into(),
        since: Some(last_seen),
    })
    .await;
    let ServerFrame::Joined { history, more, .. } = back.recv().await else {
        panic!("expected joined")
    };
    assert!(!more);
    let history = common::messages_of(history);
    let texts: Vec<String> = history.iter().map(|m| m.text.clone()).collect();
    assert_eq!(texts, (0..500).map(|i| format!("m{i}")).collect::<Vec<_>>());
    assert_eq!(history[0].seq, last_seen + 1);
    talker.say("r", "live", "l").await;
    assert!(
        matches!(back.recv().await, ServerFrame::Message(m) if m.text == "live" && m.seq == last_seen + 501)
    );
}

/// Sends `n` messages to room "r" without waiting in between, numbering their
/// cids on from `sent`, and returns the seq of the last one once it is acked.
async fn send_burst(sender: &mut Client, sent: &mut usize, n: usize) -> u64 {
    for _ in 0..n {
        sender
            .send(ClientFrame::Send {
                room: "r".into(),
                text: "x".into(),
                cid: format!("s{sent}"),
                reply_to: None,
            })
            .await;
        *sent += 1;
    }
    let last = format!("s{}", *sent - 1);
    match sender
        .recv_until(|f| matches!(f, ServerFrame::Ack { cid, .. } if *cid == last))
        .await
    {
        ServerFrame::Ack { seq, .. } => seq,
        _ => unreachable!(),
    }
}

/// Joins room "r" after `since` and collects the seqs it receives, from
/// history and live, until it has seen the message "end" (in either).
async fn join_and_collect(
    url: String,
    nick: String,
    since: u64,
    joined: Arc<AtomicUsize>,
) -> Vec<u64> {
    let mut c = Client::connect(&url).await;
    c.hello(&nick).await;
    c.send(ClientFrame::Join {
        room: "r".into(),
        since: Some(since),
    })
    .await;
    let mut seqs = Vec::new();
    loop {
        match c.recv().await {
            ServerFrame::Joined { history, more, .. } => {
                assert!(!more, "a catch-up under the cap comes whole");
                let history = common::messages_of(history);
                seqs.extend(history.iter().map(|m| m.seq));
                joined.fetch_add(1, Ordering::SeqCst);
                if history.iter().any(|m| m.text == "end") {
                    return seqs;
                }
            }
            ServerFrame::Message(m) => {
                seqs.push(m.seq);
                if m.text == "end" {
                    return seqs;
                }
            }
            _ => {}
        }
    }
}

/// Clients join while another floods the room, each after a different
/// `since`: some are answered from the room's cache, some from the database.
/// Every one must get each message after its `since` exactly once, in order,
/// whether as history or live. The flood goes on until all have joined, so
/// the joins land mid-burst however fast the machine is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joining_while_others_send_has_no_gap_and_no_duplicate() {
    /// Messages each room keeps in memory.
    const CACHE: usize = 256;
    /// Messages sent between two joiners.
    const BURST: usize = 100;
    /// Bursts after which the flood gives up waiting for the joiners.
    const MAX_BURSTS: usize = 500;
    let dir = tempfile::tempdir().unwrap();
    let server = sqlite_server_with_cache(dir.path(), CACHE).await;
    let url = server.ws_url();
    let mut sender = server.hello("sender").await;
    sender.join("r").await;
    let mut sent = 0;
    // Enough that the oldest messages are only in the database.
    let mut newest = send_burst(&mut sender, &mut sent, 3 * CACHE).await;

    // How far behind the newest acked message each joiner starts: `None`
    // means from the very beginning. The first two stay inside the cache
    // even if two more bursts land before their join; the others do not.
    let behind = [Some(1), Some(CACHE / 4), Some(2 * CACHE), None];
    let joined = Arc::new(AtomicUsize::new(0));
    let mut joiners = Vec::new();
    for (n, behind) in behind.into_iter().enumerate() {
        let since = behind.map_or(0, |b| newest - b as u64);
        let task = join_and_collect(url.clone(), format!("joiner{n}"), since, joined.clone());
        joiners.push((since, tokio::spawn(task)));
        newest = send_burst(&mut sender, &mut sent, BURST).await;
    }
    let mut bursts = 0;
    // A joiner that ended early has failed; its error shows at the await.
    let failed = |joiners: &[(u64, tokio::task::JoinHandle<Vec<u64>>)]| {
        joiners.iter().any(|(_, task)| task.is_finished())
    };
    while joined.load(Ordering::SeqCst) < joiners.len() && !failed(&joiners) {
        bursts += 1;
        assert!(
            bursts < MAX_BURSTS,
            "the joiners never got their joined frame"
        );
        send_burst(&mut sender, &mut sent, BURST).await;
    }
    // One more burst, all of it live for everyone.
    send_burst(&mut sender, &mut sent, BURST).await;
    let end = sender.say("r", "end", "end").await;
    for (since, joiner) in joiners {
        let seqs = joiner.await.unwrap();
        assert_eq!(
            seqs,
            (since + 1..=end).collect::<Vec<_>>(),
            "joined with since={since}"
        );
    }
}

#[test]
fn a_version_1_database_opens_with_the_current_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(SCHEMA_V1).unwrap();
        conn.execute_batch(
            "INSERT INTO messages VALUES ('r', 1, 'a', 'one', 1000, 'c1'), ('r', 2, 'b', 'two', 2000, NULL);
             PRAGMA user_version = 1;",
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path, Synchronous::Normal, 4).unwrap();
    assert_eq!(store.last_seq("r").unwrap(), 2);
    let page = store.messages("r", u64::MAX, 10).unwrap();
    assert_eq!(
        page.items
            .iter()
            .map(|m| m.text.as_str())
            .collect::<Vec<_>>(),
        vec!["one", "two"]
    );
    let version: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 6, "the current schema");
    // Messages from before search existed are in the index too.
    let found = store
        .search(&parley::store::Search {
            words: parley::store::query_words("two"),
            rooms: vec!["r".into()],
            nick: None,
            before: None,
            limit: 10,
        })
        .unwrap();
    assert_eq!(
        found.hits.iter().map(|h| h.seq).collect::<Vec<_>>(),
        vec![2]
    );
}

/// Runs the binary against `url` and returns its exit status and stderr;
/// a server that starts anyway is killed after 10 s (and the test fails).
fn start_with_database(url: &str) -> (std::process::ExitStatus, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_parley-backend"))
        .args(["--addr", "127.0.0.1:0", "--database-url", url])
        .env("RUST_LOG", "off")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    (
        output.status,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn an_unusable_database_is_a_clear_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a directory").unwrap();
    let corrupt = dir.path().join("corrupt.db");
    std::fs::write(&corrupt, vec![0x42u8; 8192]).unwrap();
    for url in [
        format!("sqlite://{}/sub/p.db", file.display()),
        format!("sqlite://{}", corrupt.display()),
        "postgres://x".into(),
    ] {
        let (status, stderr) = start_with_database(&url);
        assert!(!status.success(), "{url}: should fail");
        assert!(stderr.contains("database"), "{url}: {stderr}");
        assert!(!stderr.contains("panicked"), "{url}: {stderr}");
    }
}
