//! A cluster as operators run it: three nodes on one PostgreSQL, linked by
//! redis-server, behind nginx with deploy/nginx.conf. One node is killed
//! with SIGKILL in the middle of a flood: its clients reconnect through
//! nginx, land on the other nodes, resume their sessions and catch up, and
//! in the end every client has seen every room event exactly once, in
//! `seq` order, without a gap, every acknowledged message among them.
//! Needs PostgreSQL, redis-server and nginx (scripts/setup.sh).

mod common;

#[path = "common/nginx.rs"]
mod nginx;
#[path = "common/postgres.rs"]
mod pg;
#[path = "common/redis.rs"]
mod redis;

use std::time::{Duration, Instant};

use parley_protocol::{ClientFrame, ServerFrame};

use common::{Client, ServerProcess};

use common::cluster::node;

/// How long a client keeps trying to get back in.
const COMEBACK: Duration = Duration::from_secs(20);

/// A member of the room that comes back by itself, as the browser app
/// does: reconnect, `hello` with the resume token, `join {since}`.
struct Member {
    url: String,
    nick: String,
    token: Option<String>,
    client: Option<Client>,
    /// The `seq` of every room event seen, in order.
    seen: Vec<u64>,
    /// Where each of `seen` came from, for a failure to tell.
    sources: Vec<Source>,
    /// How many times it had to come back.
    comebacks: usize,
}

impl Member {
    async fn arrive(url: &str, nick: &str) -> Member {
        let mut member = Member {
            url: url.to_owned(),
            nick: nick.to_owned(),
            token: None,
            client: None,
            seen: Vec::new(),
            sources: Vec::new(),
            comebacks: 0,
        };
        member.enter().await;
        member
    }

    fn last(&self) -> u64 {
        self.seen.last().copied().unwrap_or(0)
    }

    /// Connects, says hello (resuming if it can) and joins with `since`,
    /// retrying until it is in.
    async fn enter(&mut self) {
        let started = Instant::now();
        loop {
            assert!(
                started.elapsed() < COMEBACK,
                "{} could not get back in",
                self.nick
            );
            if let Some(client) = self.try_enter().await {
                self.client = Some(client);
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn try_enter(&mut self) -> Option<Client> {
        let (ws, _) = tokio_tungstenite::connect_async(self.url.as_str())
            .await
            .ok()?;
        let mut client = Client { ws, resume: None };
        client
            .try_send(ClientFrame::Hello {
                nick: self.nick.clone(),
                resume: self.token.clone(),
                token: None,
            })
            .await
            .ok()?;
        match client.next_frame().await? {
            ServerFrame::Welcome {
                resume, resumed, ..
            } => {
                assert!(
                    self.token.is_none() || resumed,
                    "{} came back as a new session",
                    self.nick
                );
                self.token = Some(resume);
            }
            // Its old node's claim may not be seen as gone yet: try again.
            _ => return None,
        }
        let since = self.last();
        client
            .try_send(ClientFrame::Join {
                room: "lobby".into(),
                since: Some(since),
            })
            .await
            .ok()?;
        loop {
            match client.next_frame().await? {
                ServerFrame::Joined { history, .. } => {
                    for message in common::messages_of(history) {
                        self.seen.push(message.seq);
                        self.sources.push(Source::History {
                            comebacks: self.comebacks,
                            since,
                        });
                    }
                    return Some(client);
                }
                ServerFrame::Error { .. } => return None,
                _ => {}
            }
        }
    }

    /// The next frame; `None` if the connection was gone and it came back
    /// (what it missed meanwhile is in `seen` now).
    async fn next(&mut self) -> Option<ServerFrame> {
        {
            let client = self.client.as_mut().expect("entered");
            match tokio::time::timeout(Duration::from_secs(10), client.next_frame()).await {
                Ok(Some(ServerFrame::Message(m))) => {
                    self.seen.push(m.seq);
                    self.sources.push(Source::Live {
                        comebacks: self.comebacks,
                    });
                    Some(ServerFrame::Message(m))
                }
                Ok(Some(frame)) => Some(frame),
                Ok(None) => {
                    self.comebacks += 1;
                    self.enter().await;
                    None
                }
                Err(_) => panic!(
                    "{} heard nothing for 10 s; comebacks {}, seen up to {}",
                    self.nick,
                    self.comebacks,
                    self.last()
                ),
            }
        }
    }

    /// Sends `text`: its seq once acknowledged, `None` if refused or if
    /// the connection went away first (then it may or may not be stored).
    async fn say(&mut self, text: &str, cid: &str) -> Option<u64> {
        let frame = ClientFrame::Send {
            room: "lobby".into(),
            text: text.into(),
            cid: cid.into(),
            reply_to: None,
        };
        if self.client.as_mut()?.try_send(frame).await.is_err() {
            self.comebacks += 1;
            self.enter().await;
            return None;
        }
        loop {
            match self.next().await? {
                ServerFrame::Ack {
                    seq, cid: acked, ..
                } if acked == cid => return Some(seq),
                ServerFrame::Error {
                    cid: Some(refused), ..
                } if refused == cid => return None,
                _ => {}
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_mid_flood_loses_nothing_acknowledged_and_shows_nothing_twice() {
    let pg = pg::Postgres::start();
    let db = pg.create_db("parley");
    let redis = redis::Redis::start();
    let mut nodes: Vec<ServerProcess> = (0..3).map(|_| node(&db, &redis.url())).collect();
    let addrs: Vec<_> = nodes.iter().map(|n| n.addr).collect();
    let nginx = nginx::Nginx::start(&addrs);
    let url = nginx.ws_url();

    // Round robin puts two of the six on each node.
    let mut sender = Member::arrive(&url, "sender").await;
    let mut readers = Vec::new();
    for i in 0..5 {
        readers.push(Member::arrive(&url, &format!("reader{i}")).await);
    }
    // Each reader reads all along, on its own task, until it has seen the
    // last seq (0 until the sender knows it).
    let target = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let readers = readers
        .into_iter()
        .map(|mut reader| {
            let target = target.clone();
            tokio::spawn(async move {
                loop {
                    let last = target.load(std::sync::atomic::Ordering::Relaxed);
                    if last > 0 && reader.seen.contains(&last) {
                        return reader;
                    }
                    // Wakes now and then to look at the target; what an
                    // interrupted comeback did is redone on the next.
                    let _ = tokio::time::timeout(Duration::from_millis(200), reader.next()).await;
                }
            })
        })
        .collect::<Vec<_>>();

    let mut acked = Vec::new();
    let started = Instant::now();
    let mut killed = false;
    let mut i = 0;
    while started.elapsed() < Duration::from_secs(4) {
        if !killed && started.elapsed() > Duration::from_millis(1000) {
            nodes[0].kill_9();
            killed = true;
        }
        i += 1;
        if let Some(seq) = sender.say(&format!("m{i}"), &format!("c{i}")).await {
            acked.push(seq);
        }
    }
    let last = loop {
        if let Some(seq) = sender.say("end", "end").await {
            break seq;
        }
        assert!(
            started.elapsed() < COMEBACK,
            "the last word never went through"
        );
    };
    acked.push(last);
    target.store(last, std::sync::atomic::Ordering::Relaxed);

    // Every event once, in order, with no gap: the acknowledged ones, and
    // any whose ack was lost with the node (stored or not, never twice).
    let whole: Vec<u64> = (1..=last).collect();
    let mut comebacks = 0;
    for reader in readers {
        let reader = tokio::time::timeout(COMEBACK, reader)
            .await
            .expect("every reader sees the end")
            .unwrap();
        assert!(
            reader.seen == whole,
            "{} must see every event once, in order, up to {last}: {}",
            reader.nick,
            flaws(&reader.seen, &reader.sources)
        );
        comebacks += reader.comebacks;
    }
    assert!(comebacks > 0, "the killed node's readers had to come back");
    assert!(acked.windows(2).all(|w| w[0] < w[1]));
}

/// Where a member saw an event.
#[derive(Debug, Clone, Copy)]
enum Source {
    /// Live, after coming back `comebacks` times.
    Live { comebacks: usize },
    /// In the history of a `join {since}`.
    History { comebacks: usize, since: u64 },
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Live { comebacks } => write!(f, "live after {comebacks} comebacks"),
            Source::History { comebacks, since } => {
                write!(f, "history since {since} after {comebacks} comebacks")
            }
        }
    }
}

/// What is wrong with `seen` (seqs that should be 1, 2, 3… in order), in a
/// few words rather than thousands of numbers: the places where it does not
/// go up by one, with where the two events came from.
fn flaws(seen: &[u64], sources: &[Source]) -> String {
    let mut flaws = Vec::new();
    let mut previous = 0;
    for (at, &seq) in seen.iter().enumerate() {
        if seq != previous + 1 {
            let before = match at.checked_sub(1) {
                Some(before) => sources[before].to_string(),
                None => "the start".into(),
            };
            flaws.push(format!(
                "[{at}] {previous} ({before}) then {seq} ({})",
                sources[at]
            ));
        }
        previous = seq;
    }
    format!("{} seen, {}", seen.len(), flaws.join(", "))
}
