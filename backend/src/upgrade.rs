//! `GET /ws`: checks the request and turns the HTTP connection into a
//! WebSocket that a [`connection`](crate::connection) task then serves.
//!
//! The upgrade is done here rather than with `warp::ws()` because warp's
//! filter offers no way to size the socket's buffers, and tungstenite's
//! 128 KiB defaults (and unbounded write buffer) would dominate the memory
//! of every connection. Owning the upgrade is also where the handshake is
//! checked strictly (version 13, a 16-byte key), where the `Origin` check
//! against cross-site WebSocket hijacking lives ([`crate::origin`]), and
//! where a connection is admitted or refused ([`crate::admission`]): 503
//! when the server is full, 429 when one address has too many or opens
//! them too fast, both with `Retry-After`.

use std::sync::Arc;

use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use warp::http::{header, HeaderMap, StatusCode};
use warp::reply::{Reply, Response};
use warp::Filter;

use crate::admission::{Admission, Refused};
use crate::config::Limits;
use crate::http::Peer;
use crate::hub::Hub;
use crate::logs::{clip, Throttle};
use crate::origin::{SiteError, SitePolicy};
use crate::throttled;

/// What the upgrade route needs to start connections.
#[derive(Clone)]
pub struct Upgrader {
    /// The hub the connections join.
    pub hub: Arc<Hub>,
    /// Cancelled when the server shuts down.
    pub shutdown: CancellationToken,
    /// Tracks connection tasks so shutdown can wait for them.
    pub connections: TaskTracker,
    /// Who may connect.
    pub admission: Arc<Admission>,
    /// Which hosts and origins are served.
    pub sites: Arc<SitePolicy>,
}

/// The `GET /ws` route.
pub fn route(
    upgrader: Upgrader,
) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    warp::path("ws")
        .and(warp::path::end())
        .and(warp::get())
        .and(warp::header::headers_cloned())
        .and(warp::ext::optional::<OnUpgrade>())
        .and(warp::ext::optional::<Peer>())
        .map(
            move |headers: HeaderMap, on_upgrade: Option<OnUpgrade>, peer: Option<Peer>| {
                upgrader.upgrade(&headers, on_upgrade, peer)
            },
        )
}

/// A plain-text answer with a status.
fn refuse(status: StatusCode, text: &'static str) -> Response {
    warp::reply::with_status(text, status).into_response()
}

/// A refusal that says when to try again.
fn refuse_for(status: StatusCode, text: &'static str, retry_after_secs: u64) -> Response {
    warp::reply::with_header(
        refuse(status, text),
        header::RETRY_AFTER,
        retry_after_secs.max(1),
    )
    .into_response()
}

/// The value of a header as text, if present and printable.
fn header_str<'a>(headers: &'a HeaderMap, name: &header::HeaderName) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Whether a `Sec-WebSocket-Key` is what RFC 6455 asks: 16 random bytes in
/// base64, that is 22 characters, of which the last carries only two bits,
/// and `==`.
fn is_valid_key(key: &[u8]) -> bool {
    let is_base64 = |b: &u8| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/';
    key.len() == 24
        && key[..22].iter().all(is_base64)
        && matches!(key[21], b'A' | b'Q' | b'g' | b'w')
        && &key[22..] == b"=="
}

/// The socket settings every connection gets. The write buffer may hold
/// one whole reply (a catch-up `joined` is at most `--max-reply-bytes`)
/// besides a batch; past that a client that does not read (while it
/// floods pings, say) is cut instead of growing the server's memory.
fn socket_config(limits: &Limits) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(limits.read_buffer_bytes)
        .write_buffer_size(limits.write_buffer_bytes)
        .max_write_buffer_size(limits.max_reply_bytes + limits.write_buffer_bytes + 64 * 1024)
        .max_message_size(Some(limits.max_frame_bytes))
        .max_frame_size(Some(limits.max_frame_bytes))
}

static REFUSED_ORIGIN: Throttle = Throttle::new(10, std::time::Duration::from_secs(60));
static REFUSED_ADMISSION: Throttle = Throttle::new(10, std::time::Duration::from_secs(60));

impl Upgrader {
    fn upgrade(
        &self,
        headers: &HeaderMap,
        on_upgrade: Option<OnUpgrade>,
        peer: Option<Peer>,
    ) -> Response {
        let has_token = |name, token: &str| {
            header_str(headers, name)
                .is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        };
        if !has_token(&header::CONNECTION, "upgrade") || !has_token(&header::UPGRADE, "websocket") {
            return refuse(
                StatusCode::UPGRADE_REQUIRED,
                "this endpoint speaks WebSocket only\n",
            );
        }
        if header_str(headers, &header::SEC_WEBSOCKET_VERSION) != Some("13") {
            let reply = warp::reply::with_header(
                refuse(
                    StatusCode::BAD_REQUEST,
                    "unsupported WebSocket version; use 13\n",
                ),
                header::SEC_WEBSOCKET_VERSION,
                "13",
            );
            return reply.into_response();
        }
        let keys: Vec<_> = headers.get_all(header::SEC_WEBSOCKET_KEY).iter().collect();
        let [key] = keys[..] else {
            return refuse(
                StatusCode::BAD_REQUEST,
                "send exactly one Sec-WebSocket-Key\n",
            );
        };
        if !is_valid_key(key.as_bytes()) {
            return refuse(
                StatusCode::BAD_REQUEST,
                "Sec-WebSocket-Key must be 16 bytes in base64\n",
            );
        }
        let origins: Vec<&str> = headers
            .get_all(header::ORIGIN)
            .iter()
            .map(|v| v.to_str().unwrap_or("\u{0}"))
            .collect();
        if let Err(err) = self
            .sites
            .check_origin(&origins, header_str(headers, &header::HOST))
        {
            let origin = origins.first().map(|o| clip(o));
            throttled!(REFUSED_ORIGIN, info, ?origin, %err, "refused a WebSocket");
            let status = match err {
                SiteError::BadHost | SiteError::SeveralOrigins => StatusCode::BAD_REQUEST,
                _ => StatusCode::FORBIDDEN,
            };
            return warp::reply::with_status(format!("{err}\n"), status).into_response();
        }
        let Some(on_upgrade) = on_upgrade else {
            return refuse(
                StatusCode::BAD_REQUEST,
                "this connection cannot be upgraded\n",
            );
        };
        let forwarded = header_str(headers, &header::HeaderName::from_static("x-forwarded-for"));
        let client = self.admission.client_ip(peer.map(|p| p.0), forwarded);
        let ticket = match self.admission.admit(client) {
            Ok(ticket) => ticket,
            Err(refused) => {
                crate::metrics::websocket_refused();
                throttled!(
                    REFUSED_ADMISSION,
                    info,
                    ?client,
                    ?refused,
                    "refused a WebSocket"
                );
                return match refused {
                    Refused::ServerFull => refuse_for(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "the server is full; try again later\n",
                        5,
                    ),
                    Refused::TooManyFromAddress => refuse_for(
                        StatusCode::TOO_MANY_REQUESTS,
                        "too many connections from your address\n",
                        10,
                    ),
                    Refused::TooFastFromAddress(wait) => refuse_for(
                        StatusCode::TOO_MANY_REQUESTS,
                        "too many new connections from your address; slow down\n",
                        wait.as_secs_f64().ceil() as u64,
                    ),
                };
            }
        };

        let accept = derive_accept_key(key.as_bytes());
        let cookie = crate::api::token_of(headers);
        let this = self.clone();
        self.connections.spawn(async move {
            let _ticket = ticket;
            match on_upgrade.await {
                Ok(upgraded) => {
                    let config = socket_config(this.hub.limits());
                    let socket = WebSocketStream::from_raw_socket(
                        TokioIo::new(upgraded),
                        Role::Server,
                        Some(config),
                    )
                    .await;
                    let caller = crate::connection::Caller {
                        cookie,
                        addr: client,
                    };
                    crate::connection::serve(
                        socket,
                        this.hub.clone(),
                        this.shutdown.clone(),
                        caller,
                    )
                    .await;
                }
                Err(err) => tracing::debug!(%err, "websocket upgrade failed"),
            }
        });

        let reply = warp::reply::with_status(warp::reply(), StatusCode::SWITCHING_PROTOCOLS);
        let reply = warp::reply::with_header(reply, header::CONNECTION, "upgrade");
        let reply = warp::reply::with_header(reply, header::UPGRADE, "websocket");
        warp::reply::with_header(reply, header::SEC_WEBSOCKET_ACCEPT, accept).into_response()
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use futures_util::SinkExt;
    use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
    use tokio_tungstenite::tungstenite::Message;

    use super::*;

    /// A socket that accepts every write and counts them.
    #[derive(Default)]
    struct CountingSocket {
        writes: usize,
    }

    impl AsyncRead for CountingSocket {
        fn poll_read(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            _: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            Poll::Pending
        }
    }

    impl AsyncWrite for CountingSocket {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.writes += 1;
            Poll::Ready(Ok(buf.len()))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn a_batch_of_frames_reaches_the_socket_in_one_write() {
        // The connection feeds everything queued and flushes once; that only
        // saves system calls if the socket gathers the frames until then.
        let limits = Limits::default();
        let mut socket = WebSocketStream::from_raw_socket(
            CountingSocket::default(),
            Role::Server,
            Some(socket_config(&limits)),
        )
        .await;
        let frame = r#"{"type":"message","room":"general","seq":1,"nick":"mina","text":"hello there","ts":1}"#;
        for _ in 0..limits.write_batch {
            socket.feed(Message::text(frame)).await.unwrap();
        }
        assert_eq!(
            socket.get_ref().writes,
            0,
            "nothing written before the flush"
        );
        socket.flush().await.unwrap();
        assert_eq!(socket.get_ref().writes, 1);
    }

    #[test]
    fn a_key_must_be_sixteen_bytes_in_base64() {
        assert!(is_valid_key(b"dGhlIHNhbXBsZSBub25jZQ=="));
        for bad in [
            &b"abc"[..],
            b"",
            &[b'A'; 2000],
            b"dGhlIHNhbXBsZSBub25jZQ=!",
            b"dGhlIHNhbXBsZSBub25jZR==",
            b"dGhlIHNhbXBsZSBub25j*Q==",
        ] {
            assert!(!is_valid_key(bad), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn the_write_buffer_holds_a_whole_reply_and_no_more() {
        let limits = Limits::default();
        let config = socket_config(&limits);
        assert!(config.max_write_buffer_size >= limits.max_reply_bytes + limits.write_buffer_bytes);
        assert!(
            config.max_write_buffer_size < 2 * limits.max_reply_bytes + limits.write_buffer_bytes
        );
    }
}
