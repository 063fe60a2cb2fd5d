//! Hostile clients on an open WebSocket: floods of pings, sends, joins and
//! leaves, typing, catch-ups and history pages, bad frames, invalid bytes.
//! The ones the protocol can express go through tokio-tungstenite (which
//! also reads what the server answers, and its close code); the ones no
//! library would send go through [`super::raw`].

use std::future::Future;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use parley_protocol::ClientFrame;
use tokio::net::TcpSocket;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::hostile::Ctx;
use super::raw::{frame, is_reset, Raw};
use super::tally::{answer_label, Outcome};

/// How long a client waits for the server to end things once it has done
/// its worst.
const GIVE_UP: Duration = Duration::from_secs(30);

/// How a tungstenite error reads as an outcome, `started` being when the
/// connection was opened.
fn cut_by(err: &WsError, started: Instant) -> Outcome {
    match err {
        WsError::Http(response) => Outcome::Status {
            code: response.status().as_u16(),
            retry_after: response.headers().contains_key("retry-after"),
        },
        WsError::Io(e) => Outcome::cut(started.elapsed(), is_reset(e)),
        _ => Outcome::cut(started.elapsed(), false),
    }
}

/// Opens a WebSocket with tungstenite from the instance's address and runs
/// a script on it: frame `i` of the script is sent, then the script's
/// pause, and so on, while everything the server sends is counted; ends
/// when the server closes or cuts the socket (its outcome), or when the
/// script is done and the server has not done so within [`GIVE_UP`].
async fn scripted<F>(ctx: &Ctx, pause: Duration, mut script: F)
where
    F: FnMut(u64) -> Option<Message> + Send,
{
    ctx.outcome(run_script(ctx, pause, &mut script).await);
}

async fn run_script(
    ctx: &Ctx,
    pause: Duration,
    script: &mut (dyn FnMut(u64) -> Option<Message> + Send),
) -> Outcome {
    let started = Instant::now();
    let Ok(socket) = TcpSocket::new_v4() else {
        return Outcome::ConnectFailed;
    };
    let connected = async {
        socket.bind(std::net::SocketAddr::new(ctx.source, 0))?;
        let stream = socket.connect(ctx.server).await?;
        stream.set_nodelay(true)?;
        Ok::<_, std::io::Error>(stream)
    };
    let Ok(stream) = connected.await else {
        return Outcome::ConnectFailed;
    };
    let ws = match tokio_tungstenite::client_async(ctx.url.as_str(), stream).await {
        Ok((ws, _)) => ws,
        Err(e) => return cut_by(&e, started),
    };
    let (mut sink, mut stream) = ws.split();
    let reader = async {
        loop {
            match stream.next().await {
                Some(Ok(Message::Text(text))) => ctx.answer(&answer_label(text.as_str())),
                Some(Ok(Message::Close(frame))) => {
                    return Outcome::Close(frame.map(|f| u16::from(f.code)))
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return cut_by(&e, started),
                None => return cut_by(&WsError::ConnectionClosed, started),
            }
        }
    };
    tokio::pin!(reader);
    for i in 0u64.. {
        let Some(message) = script(i) else { break };
        tokio::select! {
            outcome = &mut reader => return outcome,
            sent = sink.send(message) => if sent.is_err() { break },
        }
        tokio::select! {
            outcome = &mut reader => return outcome,
            _ = tokio::time::sleep(pause) => {}
        }
    }
    within(GIVE_UP, reader).await
}

/// `future`'s outcome, or [`Outcome::StillOpen`] after `limit`.
async fn within(limit: Duration, future: impl Future<Output = Outcome>) -> Outcome {
    tokio::time::timeout(limit, future)
        .await
        .unwrap_or(Outcome::StillOpen)
}

fn text(frame: ClientFrame) -> Message {
    Message::text(frame.to_json())
}

fn hello(ctx: &Ctx, attempt: u64) -> Message {
    text(ClientFrame::Hello {
        nick: format!("{}-{attempt}", ctx.nick),
        resume: None,
        token: None,
    })
}

fn join(ctx: &Ctx, since: Option<u64>) -> Message {
    text(ClientFrame::Join {
        room: ctx.room.clone(),
        since,
    })
}

/// Pings (125 bytes each) in a row, never reading: well past the frame
/// budget (600 per 60 s).
const PINGS: usize = 1000;

/// A WebSocket that writes [`PINGS`] pings without reading, then reads to
/// see how the server ended it.
pub async fn ping_flood(ctx: &Ctx) {
    let mut raw = match Raw::websocket(ctx.server, ctx.source).await {
        Ok(raw) => raw,
        Err(outcome) => return ctx.outcome(outcome),
    };
    let ping = frame(0x9, &[0x70; 125], true);
    let burst: Vec<u8> = ping
        .iter()
        .copied()
        .cycle()
        .take(ping.len() * 100)
        .collect();
    for _ in 0..PINGS / 100 {
        match tokio::time::timeout(Duration::from_secs(5), raw.send(&burst)).await {
            Ok(Ok(())) => {}
            // The server stopped reading, or cut us: now look why.
            Ok(Err(_)) | Err(_) => break,
        }
    }
    ctx.outcome(raw.read_close(GIVE_UP).await);
}

/// `hello`, then one frame the WebSocket layer must refuse: a text frame
/// that is not UTF-8 (`utf8`), or an unmasked one.
pub async fn bad_bytes(ctx: &Ctx, attempt: u64, utf8: bool) {
    let mut raw = match Raw::websocket(ctx.server, ctx.source).await {
        Ok(raw) => raw,
        Err(outcome) => return ctx.outcome(outcome),
    };
    let Message::Text(hello) = hello(ctx, attempt) else {
        unreachable!("hello is text")
    };
    let mut bytes = frame(0x1, hello.as_bytes(), true);
    if utf8 {
        bytes.extend(frame(0x1, &[b'{', 0xff, 0xfe, b'}'], true));
    } else {
        bytes.extend(frame(0x1, br#"{"type":"ping"}"#, false));
    }
    if let Err(cut) = raw.send(&bytes).await {
        return ctx.outcome(cut);
    }
    ctx.outcome(raw.read_close(GIVE_UP).await);
}

/// `hello`, then bad frames of every sort with a `ping` between, every
/// 20 ms, until the server has had enough.
pub async fn garbage(ctx: &Ctx, attempt: u64) {
    let hello = hello(ctx, attempt);
    scripted(ctx, Duration::from_millis(20), |i| {
        Some(match (i, i % 6) {
            (0, _) => hello.clone(),
            (_, 0) => Message::text("this is not json"),
            (_, 1) => Message::text(r#"{"type":"dance"}"#),
            (_, 2) => Message::binary(vec![1u8, 2, 3]),
            (_, 3) => Message::text(r#"{"type":"join"}"#),
            (_, 4) => Message::text(r#"{"type":"ping"}"#),
            _ => Message::text(r#"{"no":"type"}"#),
        })
    })
    .await;
}

/// `hello`, `join`, then `send` every millisecond.
pub async fn send_flood(ctx: &Ctx, attempt: u64) {
    let (hello, join) = (hello(ctx, attempt), join(ctx, None));
    scripted(ctx, Duration::from_millis(1), |i| {
        Some(match i {
            0 => hello.clone(),
            1 => join.clone(),
            n => text(ClientFrame::Send {
                room: ctx.room.clone(),
                text: format!("flood {n}"),
                cid: format!("f{n}"),
                reply_to: None,
            }),
        })
    })
    .await;
}

/// `hello`, then `join` and `leave` in turn every 5 ms.
pub async fn join_leave(ctx: &Ctx, attempt: u64) {
    let (hello, join) = (hello(ctx, attempt), join(ctx, None));
    let leave = text(ClientFrame::Leave {
        room: ctx.room.clone(),
    });
    scripted(ctx, Duration::from_millis(5), |i| {
        Some(match (i, i % 2) {
            (0, _) => hello.clone(),
            (_, 1) => join.clone(),
            _ => leave.clone(),
        })
    })
    .await;
}

/// `hello`, then `join {since: 0}` (the whole room, up to 1,000 messages)
/// and `history` pages of 200 in turn, 50 frames a second, reading every
/// reply: read amplification, and past the frame budget (10 a second, 600
/// at once) in about 15 s.
pub async fn catch_up(ctx: &Ctx, attempt: u64) {
    let (hello, catch_up) = (hello(ctx, attempt), join(ctx, Some(0)));
    let page = text(ClientFrame::History {
        room: ctx.room.clone(),
        before: u64::from(u32::MAX),
        limit: Some(200),
    });
    scripted(ctx, Duration::from_millis(20), |i| {
        Some(match (i, i % 2) {
            (0, _) => hello.clone(),
            (_, 1) => catch_up.clone(),
            _ => page.clone(),
        })
    })
    .await;
}

/// `hello`, `join`, then `typing` every millisecond.
pub async fn typing_flood(ctx: &Ctx, attempt: u64) {
    let (hello, join) = (hello(ctx, attempt), join(ctx, None));
    let typing = text(ClientFrame::Typing {
        room: ctx.room.clone(),
    });
    scripted(ctx, Duration::from_millis(1), |i| {
        Some(match i {
            0 => hello.clone(),
            1 => join.clone(),
            _ => typing.clone(),
        })
    })
    .await;
}
