//! Fuzzing the WebSocket frame decoder and everything behind it, on stable
//! Rust: proptest writes byte streams into a real connection task (the
//! server's tungstenite decoder, the connection loop, the protocol layer
//! and the hub) through an in-memory pipe: well-formed masked frames of
//! every opcode, valid and mutated JSON, declared lengths up to 2^63,
//! reserved bits, unmasked frames, cut and random bytes. Whatever comes in,
//! the task must neither panic nor hang: once the client stops sending,
//! the connection ends by itself, and everything the server wrote is a
//! well-formed sequence of server frames whose texts are Parley frames.
//!
//! `make test` runs 64 cases; `make fuzz` runs many more (`PROPTEST_CASES`).

use std::sync::Arc;
use std::time::Duration;

use parley::config::Limits;
use parley::hub::{Hub, Workers};
use parley::store::MemoryStore;
use parley_protocol::{ClientFrame, ServerFrame};
use proptest::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;
use tokio_util::sync::CancellationToken;

/// One piece of what the fuzzed client writes.
#[derive(Debug, Clone)]
enum Piece {
    /// A frame: first byte (FIN, RSV, opcode), masked or not, payload.
    Frame {
        head: u8,
        masked: bool,
        payload: Vec<u8>,
    },
    /// A frame header that declares this length and then stops.
    Declares(u64),
    /// Raw bytes.
    Raw(Vec<u8>),
}

fn json_frame() -> impl Strategy<Value = Vec<u8>> {
    let text = "\\PC{0,20}";
    prop_oneof![
        text.prop_map(|nick| ClientFrame::Hello {
            nick,
            resume: None,
            token: None
        }),
        (text, proptest::option::of(0u64..5))
            .prop_map(|(room, since)| ClientFrame::Join { room, since }),
        text.prop_map(|room| ClientFrame::Leave { room }),
        (text, text).prop_map(|(room, text)| ClientFrame::Send {
            room,
            text,
            cid: "c".into(),
            reply_to: None,
        }),
        text.prop_map(|room| ClientFrame::Typing { room }),
        (text, any::<u64>()).prop_map(|(room, before)| ClientFrame::History {
            room,
            before,
            limit: Some(5)
        }),
        Just(ClientFrame::Ping { id: Some(1) }),
    ]
    .prop_map(|f| f.to_json().into_bytes())
}

fn piece() -> impl Strategy<Value = Piece> {
    let payload = prop_oneof![
        4 => json_frame(),
        2 => proptest::collection::vec(any::<u8>(), 0..200),
        1 => (json_frame(), any::<usize>(), any::<u8>()).prop_map(|(mut f, at, b)| {
            if !f.is_empty() {
                let i = at % f.len();
                f[i] = b;
            }
            f
        }),
    ];
    let head = prop_oneof![
        6 => Just(0x81u8),                         // final text
        1 => Just(0x82u8),                         // final binary
        1 => Just(0x89u8),                         // ping
        1 => Just(0x8Au8),                         // pong
        1 => Just(0x88u8),                         // close
        1 => Just(0x01u8),                         // text, not final
        1 => Just(0x80u8),                         // final continuation
        1 => any::<u8>(),                          // anything: RSV bits, reserved opcodes
    ];
    prop_oneof![
        10 => (head, prop::bool::weighted(0.95), payload).prop_map(|(head, masked, payload)| Piece::Frame { head, masked, payload }),
        1 => prop_oneof![Just(u64::MAX >> 1), Just(1u64 << 32), Just(70_000u64), any::<u64>()].prop_map(Piece::Declares),
        1 => proptest::collection::vec(any::<u8>(), 0..64).prop_map(Piece::Raw),
    ]
}

/// The bytes of a piece, as a client would write them.
fn encode(piece: &Piece) -> Vec<u8> {
    match piece {
        Piece::Frame {
            head,
            masked,
            payload,
        } => {
            let mut out = vec![*head];
            let bit = if *masked { 0x80 } else { 0 };
            match payload.len() {
                n if n < 126 => out.push(bit | n as u8),
                n => {
                    out.push(bit | 126);
                    out.extend_from_slice(&(n as u16).to_be_bytes());
                }
            }
            if *masked {
                let mask = [0xa1, 0xb2, 0xc3, 0xd4];
                out.extend_from_slice(&mask);
                out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
            } else {
                out.extend_from_slice(payload);
            }
            out
        }
        Piece::Declares(len) => {
            let mut out = vec![0x81, 0x80 | 127];
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(&[1, 2, 3, 4]);
            out
        }
        Piece::Raw(bytes) => bytes.clone(),
    }
}

/// Splits what the server wrote into frames (servers never mask); checks
/// each text frame is a Parley frame. Returns whether a Close came last.
fn check_output(mut bytes: &[u8]) -> Result<bool, TestCaseError> {
    let mut closed = false;
    while !bytes.is_empty() {
        prop_assert!(!closed, "nothing after the close frame");
        prop_assert!(bytes.len() >= 2, "a cut frame header");
        let (head, len7) = (bytes[0], bytes[1]);
        prop_assert_eq!(len7 & 0x80, 0, "a server frame is not masked");
        let (len, skip) = match len7 & 0x7f {
            126 => (u16::from_be_bytes([bytes[2], bytes[3]]) as usize, 4),
            127 => (
                u64::from_be_bytes(bytes[2..10].try_into().unwrap()) as usize,
                10,
            ),
            n => (n as usize, 2),
        };
        prop_assert!(bytes.len() >= skip + len, "a cut frame");
        let payload = &bytes[skip..skip + len];
        match head & 0x0f {
            0x1 => {
                let text =
                    std::str::from_utf8(payload).map_err(|e| TestCaseError::fail(e.to_string()))?;
                let frame: Result<ServerFrame, _> = serde_json::from_str(text);
                prop_assert!(frame.is_ok(), "not a Parley frame: {text}");
            }
            0x8 => closed = true,
            0x9 | 0xA => {}
            other => prop_assert!(false, "opcode {other} from the server"),
        }
        bytes = &bytes[skip + len..];
    }
    Ok(closed)
}

fn hub() -> (Arc<Hub>, Workers) {
    let limits = Limits {
        heartbeat: Duration::from_secs(3600),
        hello_timeout: Duration::from_secs(3600),
        ..Limits::default()
    };
    let hub = Hub::new(
        limits,
        Arc::new(MemoryStore::new(100)),
        Arc::new(parley::accounts::Accounts::in_memory(
            parley::config::Config::default().accounts.rules(),
        )),
    );
    let workers = hub.start().unwrap();
    (hub, workers)
}

/// Writes `input` into a fresh connection, then stops writing, and reads
/// what the server says until it hangs up.
async fn exchange(hub: &Arc<Hub>, input: Vec<u8>) -> Result<Vec<u8>, TestCaseError> {
    let (server_io, client_io) = tokio::io::duplex(64 * 1024);
    let limits = hub.limits();
    let config = WebSocketConfig::default()
        .max_message_size(Some(limits.max_frame_bytes))
        .max_frame_size(Some(limits.max_frame_bytes));
    let socket = WebSocketStream::from_raw_socket(server_io, Role::Server, Some(config)).await;
    let task = tokio::spawn(parley::connection::serve(
        socket,
        hub.clone(),
        CancellationToken::new(),
        parley::connection::Caller::default(),
    ));
    let (mut reader, mut writer) = tokio::io::split(client_io);
    let write = async move {
        // The server may hang up half-way; that is its right.
        let _ = writer.write_all(&input).await;
        let _ = writer.shutdown().await;
    };
    let mut output = Vec::new();
    let read = reader.read_to_end(&mut output);
    let (_, read) = tokio::join!(write, read);
    let _ = read;
    let finished = tokio::time::timeout(Duration::from_secs(10), task).await;
    prop_assert!(finished.is_ok(), "the connection task ended by itself");
    prop_assert!(
        finished.unwrap().is_ok(),
        "the connection task did not panic"
    );
    Ok(output)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn any_byte_stream_ends_cleanly(pieces in proptest::collection::vec(piece(), 0..40)) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let (hub, _workers) = hub();
            let input: Vec<u8> = pieces.iter().flat_map(encode).collect();
            let output = exchange(&hub, input).await?;
            check_output(&output)?;
            Ok::<(), TestCaseError>(())
        })?;
    }
}

/// 64 unless `PROPTEST_CASES` says otherwise (`make fuzz` does).
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(64)
}
