//! Raw sockets for the soak's hostile clients, which send what no client
//! library would (a header one byte at a time, a 60 KB header, unmasked or
//! invalid frames, pings written without reading) and then must find out
//! how the server ended the conversation: an HTTP status, a close code, or
//! the socket cut.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::Instant;

use super::tally::Outcome;

/// A valid `Sec-WebSocket-Key` (the RFC's example).
pub const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// A WebSocket upgrade request for `/ws` with extra header lines (each
/// ending in `\r\n`).
pub fn upgrade_request(host: &str, extra: &str) -> String {
    format!(
        "GET /ws HTTP/1.1\r\nHost: {host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {KEY}\r\n{extra}\r\n"
    )
}

/// A client WebSocket frame with FIN set: masked as a client must, or not.
pub fn frame(opcode: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    let mut out = vec![0x80 | opcode];
    let mask_bit = if masked { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => out.push(mask_bit | n as u8),
        n if n < 65536 => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    if masked {
        let mask = [0x5a, 0x13, 0xc7, 0x2e];
        out.extend_from_slice(&mask);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    } else {
        out.extend_from_slice(payload);
    }
    out
}

/// A server frame at the start of `buf`: its opcode, its payload, and how
/// many bytes it took; `None` until the whole frame is there. (Server
/// frames are never masked.)
pub fn parse_frame(buf: &[u8]) -> Option<(u8, &[u8], usize)> {
    let (&first, &second) = (buf.first()?, buf.get(1)?);
    let (len, head): (usize, usize) = match second & 0x7f {
        126 => (
            u16::from_be_bytes(buf.get(2..4)?.try_into().ok()?) as usize,
            4,
        ),
        127 => (
            u64::from_be_bytes(buf.get(2..10)?.try_into().ok()?) as usize,
            10,
        ),
        n => (n as usize, 2),
    };
    let payload = buf.get(head..head.checked_add(len)?)?;
    Some((first & 0x0f, payload, head + len))
}

/// The HTTP answer's head: its status, and whether it says when to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// The status code.
    pub status: u16,
    /// Whether a `Retry-After` header came with it.
    pub retry_after: bool,
}

impl Head {
    /// This head as the outcome of an attempt.
    pub fn outcome(self) -> Outcome {
        Outcome::Status {
            code: self.status,
            retry_after: self.retry_after,
        }
    }
}

/// Reads a response head (through the blank line), if complete.
pub fn parse_head(buf: &[u8]) -> Option<(Head, usize)> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let text = String::from_utf8_lossy(&buf[..end]);
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let retry_after = text
        .lines()
        .any(|l| l.to_ascii_lowercase().starts_with("retry-after:"));
    Some((
        Head {
            status,
            retry_after,
        },
        end,
    ))
}

/// One raw TCP connection to the server, with what was read but not used.
pub struct Raw {
    /// The socket.
    pub stream: TcpStream,
    buf: Vec<u8>,
    opened: Instant,
    /// A write failed with a reset.
    reset: bool,
}

impl Raw {
    /// Connects to `server` from the loopback address `source`.
    pub async fn open(server: SocketAddr, source: IpAddr) -> io::Result<Raw> {
        let socket = TcpSocket::new_v4()?;
        socket.bind(SocketAddr::new(source, 0))?;
        let stream = tokio::time::timeout(Duration::from_secs(10), socket.connect(server))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))??;
        stream.set_nodelay(true)?;
        Ok(Raw {
            stream,
            buf: Vec::new(),
            opened: Instant::now(),
            reset: false,
        })
    }

    /// How the socket ending now reads as an outcome: a reset if this read
    /// says so, or if a write already did (the kernel reports a reset
    /// once, and later reads just see the end).
    pub fn cut(&self, reset: bool) -> Outcome {
        Outcome::cut(self.opened.elapsed(), reset || self.reset)
    }

    /// Writes all of `bytes`; a failure is the server cutting us off.
    pub async fn send(&mut self, bytes: &[u8]) -> Result<(), Outcome> {
        match self.stream.write_all(bytes).await {
            Ok(()) => Ok(()),
            Err(e) => {
                self.reset |= is_reset(&e);
                Err(self.cut(false))
            }
        }
    }

    /// Reads more into the buffer before `deadline`.
    async fn fill(&mut self, deadline: Instant) -> Result<(), Outcome> {
        let mut chunk = [0u8; 16 * 1024];
        match tokio::time::timeout_at(deadline, self.stream.read(&mut chunk)).await {
            Err(_) => Err(Outcome::StillOpen),
            Ok(Ok(0)) => Err(self.cut(false)),
            Ok(Ok(n)) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(())
            }
            Ok(Err(e)) => Err(self.cut(is_reset(&e))),
        }
    }

    /// Reads the HTTP answer's head, within `within`.
    pub async fn read_head(&mut self, within: Duration) -> Result<Head, Outcome> {
        let deadline = Instant::now() + within;
        loop {
            if let Some((head, used)) = parse_head(&self.buf) {
                self.buf.drain(..used);
                return Ok(head);
            }
            self.fill(deadline).await?;
        }
    }

    /// Reads WebSocket frames until the server's Close (whose code is the
    /// outcome) or the end of the socket, within `within`.
    pub async fn read_close(&mut self, within: Duration) -> Outcome {
        let deadline = Instant::now() + within;
        loop {
            while let Some((opcode, payload, used)) = parse_frame(&self.buf) {
                if opcode == 0x8 {
                    let code = payload.get(..2).map(|c| u16::from_be_bytes([c[0], c[1]]));
                    return Outcome::Close(code);
                }
                self.buf.drain(..used);
            }
            if let Err(outcome) = self.fill(deadline).await {
                return outcome;
            }
        }
    }

    /// Opens a WebSocket: the upgrade request, then its 101. Anything else
    /// is the outcome.
    pub async fn websocket(server: SocketAddr, source: IpAddr) -> Result<Raw, Outcome> {
        let mut raw = Raw::open(server, source)
            .await
            .map_err(|_| Outcome::ConnectFailed)?;
        raw.send(upgrade_request(&server.to_string(), "").as_bytes())
            .await?;
        match raw.read_head(Duration::from_secs(10)).await? {
            Head { status: 101, .. } => Ok(raw),
            head => Err(head.outcome()),
        }
    }
}

/// Whether an I/O error is the peer resetting the connection.
pub fn is_reset(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionAborted
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_at_every_length_form() {
        for len in [0, 125, 126, 65535, 65536] {
            let payload = vec![7u8; len];
            let bytes = frame(0x9, &payload, false);
            let (opcode, read, used) = parse_frame(&bytes).expect("a whole frame");
            assert_eq!((opcode, read.len(), used), (0x9, len, bytes.len()));
            assert_eq!(parse_frame(&bytes[..bytes.len() - 1]), None, "{len}");
        }
    }

    #[test]
    fn masked_frames_carry_the_mask_bit_and_hide_the_payload() {
        let bytes = frame(0x1, b"hello", true);
        assert_eq!(bytes[1], 0x80 | 5);
        assert_eq!(bytes.len(), 2 + 4 + 5);
        assert_ne!(&bytes[6..], b"hello");
    }

    #[test]
    fn heads_give_their_status_and_retry_after() {
        let answer =
            b"HTTP/1.1 429 Too Many Requests\r\nretry-after: 3\r\ncontent-length: 0\r\n\r\nrest";
        let (head, used) = parse_head(answer).unwrap();
        assert_eq!(
            head,
            Head {
                status: 429,
                retry_after: true
            }
        );
        assert_eq!(&answer[used..], b"rest");
        assert_eq!(parse_head(b"HTTP/1.1 101 Switching"), None);
    }
}
