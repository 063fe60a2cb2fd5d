//! A big room over real TCP: 2,000 people join one room at once, and each
//! member is told about the others a bounded number of times per presence
//! interval, not once per joiner (which made join storms quadratic). The
//! test counts frames; the only clock it reads is to know how many
//! intervals the storm lasted.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use parley_protocol::{ClientFrame, ServerFrame};
use tokio::sync::Semaphore;

use common::{test_config, Client, TestServer};

const MEMBERS: usize = 2_000;

/// What one member saw during the storm.
#[derive(Debug, Default)]
struct Seen {
    presence: usize,
    largest_member_page: usize,
    last_count: Option<u64>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_storm_tells_each_member_a_bounded_number_of_times() {
    // Two thousand clients and their server in one process.
    rlimit::increase_nofile_limit(u64::MAX).unwrap();
    let mut config = test_config();
    config.limits.max_connections_per_ip = 0;
    config.limits.connect_rate_per_ip =
        parley::config::Rate::new(1_000_000, Duration::from_secs(1));
    config.limits.max_http_connections_per_ip = 0;
    let interval = config.limits.presence_interval;
    let count_every = config.limits.large_room_presence_interval;
    let page = config.limits.member_page;
    let server = Arc::new(TestServer::start(config).await);

    let started = Instant::now();
    let gate = Arc::new(Semaphore::new(200));
    let mut joining = Vec::new();
    for i in 0..MEMBERS {
        let (server, gate) = (server.clone(), gate.clone());
        joining.push(tokio::spawn(async move {
            let _permit = gate.acquire().await.unwrap();
            let mut client = server.hello(&format!("member{i:04}")).await;
            let joined = client.join("big").await;
            drop(_permit);
            let ServerFrame::Joined { members, .. } = joined else {
                unreachable!()
            };
            (client, members.len())
        }));
    }
    let mut clients: Vec<(Client, Seen)> = Vec::new();
    for task in joining {
        let (client, page_len) = task.await.unwrap();
        clients.push((
            client,
            Seen {
                largest_member_page: page_len,
                ..Seen::default()
            },
        ));
    }
    let storm = started.elapsed();
    // Let the last count go out (a large room tells it at most once per
    // `count_every`), then read everything each got.
    tokio::time::sleep(count_every + interval * 2).await;
    let mut reading = Vec::new();
    for (mut client, mut seen) in clients {
        reading.push(tokio::spawn(async move {
            for frame in client.until_pong().await {
                if let ServerFrame::Presence { count, joined, .. } = frame {
                    seen.presence += 1;
                    assert!(joined.len() <= 1000, "a large room names nobody");
                    seen.last_count = Some(count);
                }
            }
            seen
        }));
    }
    let intervals = (storm.as_secs_f64() / interval.as_secs_f64()).ceil() as usize + 3;
    let mut most = 0;
    for task in reading {
        let seen = task.await.unwrap();
        assert!(
            seen.largest_member_page <= page,
            "joined carries one page of members"
        );
        assert_eq!(
            seen.last_count,
            Some(MEMBERS as u64),
            "the last word is the full count"
        );
        most = most.max(seen.presence);
    }
    assert!(
        most <= intervals,
        "a member got {most} presence frames in a storm of {storm:?} ({intervals} intervals); one per joiner would be {MEMBERS}"
    );
    assert!(most < MEMBERS / 10);
}

#[tokio::test]
async fn members_are_paged_and_filtered_in_nickname_order() {
    let server = TestServer::start(test_config()).await;
    let mut clients = Vec::new();
    for nick in ["mina", "Mika", "joon", "ana", "miro", "Bo"] {
        let mut c = server.hello(nick).await;
        c.join("r").await;
        clients.push(c);
    }
    let asker = &mut clients[0];
    let ask = |prefix: Option<&str>, after: Option<&str>, limit| ClientFrame::Members {
        room: "r".into(),
        prefix: prefix.map(str::to_owned),
        after: after.map(str::to_owned),
        limit,
    };
    let page = |frame: ServerFrame| match frame {
        ServerFrame::Members {
            members,
            more,
            count,
            ..
        } => (members, more, count),
        other => panic!("expected members, got {other:?}"),
    };
    asker.send(ask(None, None, Some(2))).await;
    let first = page(
        asker
            .recv_until(|f| matches!(f, ServerFrame::Members { .. }))
            .await,
    );
    assert_eq!(first, (vec!["ana".into(), "Bo".into()], true, 6));
    asker.send(ask(None, Some("Bo"), Some(100))).await;
    let rest = page(
        asker
            .recv_until(|f| matches!(f, ServerFrame::Members { .. }))
            .await,
    );
    assert_eq!(rest.0, vec!["joon", "Mika", "mina", "miro"]);
    assert!(!rest.1);
    asker.send(ask(Some("MI"), None, None)).await;
    let mi = page(
        asker
            .recv_until(|f| matches!(f, ServerFrame::Members { .. }))
            .await,
    );
    assert_eq!(mi.0, vec!["Mika", "mina", "miro"]);
    asker.send(ask(None, None, None)).await;
    asker
        .send(ClientFrame::Members {
            room: "elsewhere".into(),
            prefix: None,
            after: None,
            limit: None,
        })
        .await;
    let refused = asker
        .recv_until(|f| matches!(f, ServerFrame::Error { .. }))
        .await;
    assert_eq!(
        common::error_code(&refused),
        parley_protocol::ErrorCode::NotJoined
    );
}

#[tokio::test]
async fn a_leave_and_a_join_within_one_interval_show_nothing() {
    let mut config = test_config();
    config.limits.presence_interval = Duration::from_secs(3600);
    let server = TestServer::start(config).await;
    let mut watcher = server.hello("watcher").await;
    let mut flip = server.hello("flip").await;
    watcher.join("r").await;
    flip.join("r").await;
    server.hub.flush_news();
    watcher.until_pong().await;
    flip.send(ClientFrame::Leave { room: "r".into() }).await;
    flip.join("r").await;
    server.hub.flush_news();
    let frames = watcher.until_pong().await;
    assert!(frames.is_empty(), "{frames:?}");
}
