//! Hostile clients at the HTTP layer, before any WebSocket exists: slow
//! headers, huge headers, idle sockets, a flood of upgrades from one
//! address, and a refused `Origin`. Each records how the server ended
//! every connection it opened (see [`super::tally::Outcome`]).

use std::time::Duration;

use futures_util::future::join_all;
use tokio::sync::Semaphore;
use tokio::time::{interval, timeout, MissedTickBehavior};

use super::hostile::Ctx;
use super::raw::{upgrade_request, Raw};
use super::tally::Outcome;

/// Longer than any limit the server should apply: a connection still open
/// after this was not cut off.
const GIVE_UP: Duration = Duration::from_secs(30);

/// Opens a raw connection, or counts that it could not.
async fn open(ctx: &Ctx) -> Option<Raw> {
    match Raw::open(ctx.server, ctx.source).await {
        Ok(raw) => Some(raw),
        Err(_) => {
            ctx.outcome(Outcome::ConnectFailed);
            None
        }
    }
}

/// Sends `request` and counts the answer (or how the socket ended). The
/// server may answer and close before the whole request is written.
async fn ask(ctx: &Ctx, mut raw: Raw, request: &[u8]) {
    let written = raw.send(request).await;
    let outcome = match raw.read_head(GIVE_UP).await {
        Ok(head) => head.outcome(),
        Err(cut) => written.err().unwrap_or(cut),
    };
    ctx.outcome(outcome);
}

/// A request line, then one header byte every 500 ms for as long as the
/// server lets it.
pub async fn slowloris(ctx: &Ctx) {
    let Some(mut raw) = open(ctx).await else {
        return;
    };
    let start = format!("GET /healthz HTTP/1.1\r\nHost: {}\r\n", ctx.server);
    if let Err(cut) = raw.send(start.as_bytes()).await {
        return ctx.outcome(cut);
    }
    let mut tick = interval(Duration::from_millis(500));
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let drip = b"X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
    let outcome = async {
        for &byte in drip.iter().cycle() {
            tick.tick().await;
            // A pending answer (or end) is looked at before each byte.
            match raw.read_head(Duration::ZERO).await {
                Ok(head) => return head.outcome(),
                Err(Outcome::StillOpen) => {}
                Err(cut) => return cut,
            }
            if let Err(cut) = raw.send(&[byte]).await {
                return cut;
            }
        }
        Outcome::StillOpen
    };
    ctx.outcome(
        timeout(GIVE_UP, outcome)
            .await
            .unwrap_or(Outcome::StillOpen),
    );
}

/// A request with a 64 KiB header (the cap is 16 KiB).
pub async fn big_header(ctx: &Ctx) {
    let Some(raw) = open(ctx).await else {
        return;
    };
    let request = format!(
        "GET /healthz HTTP/1.1\r\nHost: {}\r\nX-Junk: {}\r\n\r\n",
        ctx.server,
        "j".repeat(64 * 1024)
    );
    ask(ctx, raw, request.as_bytes()).await;
}

/// Connections this many at once from one address (the per-address cap on
/// connections that are not WebSockets is 64).
const IDLE_AT_ONCE: usize = 70;

/// Opens [`IDLE_AT_ONCE`] connections that send nothing and waits for the
/// server to close each.
pub async fn idle(ctx: &Ctx) {
    let one = || async {
        let Some(mut raw) = open(ctx).await else {
            return;
        };
        let outcome = match raw.read_head(GIVE_UP).await {
            Ok(head) => head.outcome(),
            Err(cut) => cut,
        };
        ctx.outcome(outcome);
    };
    join_all((0..IDLE_AT_ONCE).map(|_| one())).await;
}

/// Upgrades from one address per attempt: past the per-address caps of
/// 256 WebSockets, opened at most 256 per 10 s.
const FLOOD: usize = 300;

/// Handshakes under way at once: under the per-address cap on connections
/// that are not WebSockets yet (64), which would otherwise cut most of
/// them at once, before the WebSocket caps are reached (idle-tcp shows
/// that cap).
const FLOOD_HANDSHAKES: usize = 32;

/// Opens [`FLOOD`] WebSockets from one address, says nothing on the
/// admitted ones, and counts how each ended.
pub async fn connect_flood(ctx: &Ctx) {
    let handshakes = Semaphore::new(FLOOD_HANDSHAKES);
    let one = || async {
        let permit = handshakes.acquire().await.expect("never closed");
        let Some(mut raw) = open(ctx).await else {
            return;
        };
        let request = upgrade_request(&ctx.server.to_string(), "");
        if let Err(cut) = raw.send(request.as_bytes()).await {
            return ctx.outcome(cut);
        }
        let head = raw.read_head(GIVE_UP).await;
        drop(permit);
        let outcome = match head {
            // Admitted: wait for the hello timeout.
            Ok(head) if head.status == 101 => raw.read_close(GIVE_UP).await,
            Ok(head) => head.outcome(),
            Err(cut) => cut,
        };
        ctx.outcome(outcome);
    };
    join_all((0..FLOOD).map(|_| one())).await;
}

/// An upgrade from a site the server does not serve, with a 60 KB header
/// (`padded`) or without.
pub async fn bad_origin(ctx: &Ctx, padded: bool) {
    let Some(raw) = open(ctx).await else {
        return;
    };
    let pad = if padded {
        format!("X-Pad: {}\r\n", "p".repeat(60 * 1000))
    } else {
        String::new()
    };
    let extra = format!("Origin: http://evil.example\r\n{pad}");
    let request = upgrade_request(&ctx.server.to_string(), &extra);
    ask(ctx, raw, request.as_bytes()).await;
}
