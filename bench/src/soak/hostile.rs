//! The soak's hostile clients: one kind per trick the hardening work stops
//! (docs/protocol.md: "Connection limits", "Rate limits", "Close codes",
//! "HTTP endpoints"), each run by a few instances that try again as soon as
//! they are cut off. Each instance has a loopback address of its own
//! (127.0.K.I), so the per-address caps it runs into are its own and never
//! the good clients' (127.0.0.x). Each kind also says what the docs promise
//! for it, so the report can show that the promise held.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;

use super::tally::{Outcome, Tally};
use super::{attacks_http, attacks_ws};

/// The header timeout (`--header-timeout`, 10 s), give or take scheduling.
const HEADER_TIMEOUT_S: std::ops::RangeInclusive<u64> = 9..=12;

/// One kind of hostile client.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// HTTP headers one byte at a time.
    Slowloris,
    /// A request head over the 16 KiB cap.
    BigHeader,
    /// TCP connections that never send anything.
    IdleTcp,
    /// WebSocket pings as fast as possible, never reading.
    PingFlood,
    /// Bad and unknown frames with pings in between.
    Garbage,
    /// `send` as fast as possible.
    SendFlood,
    /// `join`/`leave` as fast as possible.
    JoinLeave,
    /// `join {since:0}` and `history` over and over (read amplification).
    CatchUp,
    /// `typing` as fast as possible.
    TypingFlood,
    /// Invalid UTF-8 in a text frame, or an unmasked frame.
    BadBytes,
    /// Hundreds of WebSockets from one address, never saying hello.
    ConnectFlood,
    /// A refused `Origin`, with a 60 KB header or without.
    BadOrigin,
}

impl Kind {
    /// Every kind, in report order.
    pub const ALL: [Kind; 12] = [
        Kind::Slowloris,
        Kind::BigHeader,
        Kind::IdleTcp,
        Kind::PingFlood,
        Kind::Garbage,
        Kind::SendFlood,
        Kind::JoinLeave,
        Kind::CatchUp,
        Kind::TypingFlood,
        Kind::BadBytes,
        Kind::ConnectFlood,
        Kind::BadOrigin,
    ];

    /// The kind's name on the command line and in the report.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Slowloris => "slowloris",
            Kind::BigHeader => "big-header",
            Kind::IdleTcp => "idle-tcp",
            Kind::PingFlood => "ping-flood",
            Kind::Garbage => "garbage",
            Kind::SendFlood => "send-flood",
            Kind::JoinLeave => "join-leave",
            Kind::CatchUp => "catch-up",
            Kind::TypingFlood => "typing-flood",
            Kind::BadBytes => "bad-bytes",
            Kind::ConnectFlood => "connect-flood",
            Kind::BadOrigin => "bad-origin",
        }
    }

    /// What one attempt does.
    pub fn what(self) -> &'static str {
        match self {
            Kind::Slowloris => "`GET /healthz`, then a header byte every 500 ms",
            Kind::BigHeader => "`GET /healthz` with a 64 KiB header",
            Kind::IdleTcp => "70 TCP connections from one address that send nothing",
            Kind::PingFlood => "WebSocket, then 1,000 pings in a row without reading",
            Kind::Garbage => "`hello`, then bad JSON, unknown types, binary and invalid frames with `ping`s between, every 20 ms",
            Kind::SendFlood => "`hello`, `join` a good room, then `send` every 1 ms",
            Kind::JoinLeave => "`hello`, then `join`/`leave` of a good room every 5 ms",
            Kind::CatchUp => "`hello`, then `join {since: 0}` of a good room and `history` pages in turn, 50 frames/s, reading every reply",
            Kind::TypingFlood => "`hello`, `join` a good room, then `typing` every 1 ms",
            Kind::BadBytes => "`hello`, then a text frame of invalid UTF-8 or an unmasked frame (in turn)",
            Kind::ConnectFlood => "300 upgrades from one address, 32 handshakes at a time, none saying `hello`",
            Kind::BadOrigin => "upgrade with `Origin: http://evil.example`, with a 60 KB header and without (in turn)",
        }
    }

    /// What docs/protocol.md says the server does about it.
    pub fn documented(self) -> &'static str {
        match self {
            Kind::Slowloris => "cut after the 10 s header timeout",
            Kind::BigHeader => "431",
            Kind::IdleTcp => "cut after the 10 s header timeout; past 64 open from one address, cut at once",
            Kind::PingFlood => "4008 (frame budget); as the client never reads, mostly seen as a reset at once (see the server's counters)",
            Kind::Garbage => "1008 after 20 bad frames in a row (pings do not reset the count)",
            Kind::SendFlood => "`rate_limited` past 20 + 5/s, then 4008",
            Kind::JoinLeave => "`rate_limited` past 40 per 20 s, then 4008",
            Kind::CatchUp => "`rate_limited` past 64 catch-ups/60 s and 20 pages/10 s, then 4008",
            Kind::TypingFlood => "dropped past 5 per 5 s, then 4008",
            Kind::BadBytes => "1007 (invalid UTF-8), 1002 (unmasked)",
            Kind::ConnectFlood => "429 with Retry-After past 256 per address; the admitted closed with 1008 (no hello in 10 s)",
            Kind::BadOrigin => "431 (header cap, checked first), 403 (Origin)",
        }
    }

    /// Whether `outcome` is one the docs promise for this kind.
    pub fn is_documented(self, outcome: &Outcome) -> bool {
        use Outcome::{Close, Cut, Status};
        let status =
            |o: &Outcome, want: &[u16]| matches!(o, Status { code, .. } if want.contains(code));
        match self {
            Kind::Slowloris => {
                matches!(outcome, Cut { after_s, .. } if HEADER_TIMEOUT_S.contains(after_s))
                    || status(outcome, &[408])
            }
            Kind::BigHeader => status(outcome, &[431]),
            Kind::IdleTcp => {
                matches!(outcome, Cut { after_s, .. } if *after_s == 0 || HEADER_TIMEOUT_S.contains(after_s))
            }
            // The server closes with 4008 at once; but its socket still
            // holds the client's unread pings, so the kernel resets the
            // connection and drops the pongs and the close frame not yet
            // taken by a client that does not read (see the server's
            // count of frame-budget closes in the report).
            Kind::PingFlood => {
                *outcome == Close(Some(4008))
                    || *outcome
                        == Cut {
                            after_s: 0,
                            reset: true,
                        }
            }
            Kind::SendFlood | Kind::JoinLeave | Kind::CatchUp | Kind::TypingFlood => {
                *outcome == Close(Some(4008))
            }
            Kind::Garbage => *outcome == Close(Some(1008)),
            Kind::BadBytes => matches!(outcome, Close(Some(1007 | 1002))),
            Kind::ConnectFlood => {
                matches!(
                    outcome,
                    Status {
                        code: 429,
                        retry_after: true
                    }
                ) || *outcome == Close(Some(1008))
            }
            Kind::BadOrigin => status(outcome, &[431, 403]),
        }
    }
}

/// What a hostile instance needs to know.
pub struct Ctx {
    /// Its kind.
    pub kind: Kind,
    /// The server.
    pub server: SocketAddr,
    /// The server's WebSocket URL.
    pub url: String,
    /// Its own loopback address.
    pub source: IpAddr,
    /// The good room it bothers.
    pub room: String,
    /// A prefix for its nicknames (a new one per attempt).
    pub nick: String,
    /// Where it counts.
    pub tally: Arc<Tally>,
}

impl Ctx {
    /// Counts how one attempt ended.
    pub fn outcome(&self, outcome: Outcome) {
        self.tally.outcome(self.kind, outcome);
    }

    /// Counts one answer from the server.
    pub fn answer(&self, answer: &str) {
        self.tally.answer(self.kind, answer);
    }
}

/// Where the hostile clients go, and how many.
#[derive(Debug, Clone)]
pub struct HostilePlan {
    /// The server.
    pub server: SocketAddr,
    /// Its WebSocket URL.
    pub url: String,
    /// The good clients' room names.
    pub rooms: Vec<String>,
    /// The kinds to run.
    pub kinds: Vec<Kind>,
    /// Instances of each kind.
    pub instances: usize,
    /// Pause before trying again.
    pub pause: Duration,
}

/// The loopback address of instance `i` of `kind`: 127.0.K.I, K ≥ 1.
pub fn source_of(kind: Kind, i: usize) -> IpAddr {
    let k = Kind::ALL.iter().position(|&x| x == kind).unwrap_or(0);
    IpAddr::V4(Ipv4Addr::new(127, 0, 1 + k as u8, 1 + (i % 250) as u8))
}

/// Starts every instance; they run until aborted.
pub fn spawn(plan: &HostilePlan, tally: &Arc<Tally>) -> Vec<JoinHandle<()>> {
    let mut tasks = Vec::new();
    for &kind in &plan.kinds {
        for i in 0..plan.instances {
            let room = plan.rooms[i % plan.rooms.len().max(1)].clone();
            let ctx = Ctx {
                kind,
                server: plan.server,
                url: plan.url.clone(),
                source: source_of(kind, i),
                room,
                nick: format!("h{}-{}-{i}", std::process::id(), kind.name()),
                tally: tally.clone(),
            };
            let pause = plan.pause;
            tasks.push(tokio::spawn(async move {
                // Spread the instances' first attempts a little.
                tokio::time::sleep(pause * i as u32 / 4).await;
                for attempt in 0u64.. {
                    run_once(&ctx, attempt).await;
                    tokio::time::sleep(pause).await;
                }
            }));
        }
    }
    tasks
}

/// One attempt of `ctx.kind`.
async fn run_once(ctx: &Ctx, attempt: u64) {
    match ctx.kind {
        Kind::Slowloris => attacks_http::slowloris(ctx).await,
        Kind::BigHeader => attacks_http::big_header(ctx).await,
        Kind::IdleTcp => attacks_http::idle(ctx).await,
        Kind::ConnectFlood => attacks_http::connect_flood(ctx).await,
        Kind::BadOrigin => attacks_http::bad_origin(ctx, attempt.is_multiple_of(2)).await,
        Kind::PingFlood => attacks_ws::ping_flood(ctx).await,
        Kind::BadBytes => attacks_ws::bad_bytes(ctx, attempt, attempt.is_multiple_of(2)).await,
        Kind::Garbage => attacks_ws::garbage(ctx, attempt).await,
        Kind::SendFlood => attacks_ws::send_flood(ctx, attempt).await,
        Kind::JoinLeave => attacks_ws::join_leave(ctx, attempt).await,
        Kind::CatchUp => attacks_ws::catch_up(ctx, attempt).await,
        Kind::TypingFlood => attacks_ws::typing_flood(ctx, attempt).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_an_address_of_its_own_outside_the_good_clients() {
        let mut seen = std::collections::HashSet::new();
        for kind in Kind::ALL {
            for i in 0..3 {
                let ip = source_of(kind, i);
                assert!(ip.is_loopback());
                assert_ne!(ip.to_string().rsplit_once('.').unwrap().0, "127.0.0");
                assert!(seen.insert(ip), "{ip} twice");
            }
        }
    }

    #[test]
    fn the_documented_endings_are_the_docs() {
        let cut = |after_s| Outcome::Cut {
            after_s,
            reset: false,
        };
        assert!(Kind::Slowloris.is_documented(&cut(10)));
        assert!(!Kind::Slowloris.is_documented(&cut(30)));
        assert!(Kind::IdleTcp.is_documented(&cut(0)));
        assert!(Kind::PingFlood.is_documented(&Outcome::Close(Some(4008))));
        assert!(!Kind::PingFlood.is_documented(&Outcome::StillOpen));
        let refused = Outcome::Status {
            code: 429,
            retry_after: true,
        };
        assert!(Kind::ConnectFlood.is_documented(&refused));
        assert!(!Kind::BigHeader.is_documented(&refused));
    }
}
