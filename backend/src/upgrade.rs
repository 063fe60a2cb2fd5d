//! `GET /ws`: checks the request and turns the HTTP connection into a
//! WebSocket that a [`connection`](crate::connection) task then serves.
//!
//! The upgrade is done here rather than with `warp::ws()` because warp's
//! filter offers no way to set the socket's read and write buffer sizes, and
//! tungstenite's 128 KiB defaults would dominate the memory of every idle
//! connection. Owning the upgrade is also where the Origin check (against
//! cross-site WebSocket hijacking) and the connection limit live.

use std::sync::atomic::{AtomicUsize, Ordering};
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

use crate::config::Limits;
use crate::hub::Hub;

/// Which browser origins may open a WebSocket.
#[derive(Debug, Clone, Default)]
pub struct OriginPolicy {
    /// Any origin is allowed (`*` in the list).
    any: bool,
    /// Allowed origins, lower case, no trailing slash.
    allowed: Vec<String>,
}

impl OriginPolicy {
    /// A policy from the configured list; the server's own host is always allowed.
    pub fn new(origins: &[String]) -> Self {
        let allowed: Vec<String> = origins
            .iter()
            .map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase())
            .filter(|o| !o.is_empty())
            .collect();
        OriginPolicy {
            any: allowed.iter().any(|o| o == "*"),
            allowed,
        }
    }

    /// Whether a request with this `Origin` and `Host` may upgrade. No Origin
    /// means no browser, so no hijacking risk: allowed.
    pub fn allows(&self, origin: Option<&str>, host: Option<&str>) -> bool {
        let Some(origin) = origin else { return true };
        if self.any {
            return true;
        }
        let origin = origin.trim().trim_end_matches('/').to_ascii_lowercase();
        if self.allowed.contains(&origin) {
            return true;
        }
        let authority = origin.split_once("://").map(|(_, authority)| authority);
        matches!((authority, host), (Some(a), Some(h)) if a.eq_ignore_ascii_case(h.trim()))
    }
}

/// What the upgrade route needs to start connections.
#[derive(Clone)]
pub struct Upgrader {
    /// The hub the connections join.
    pub hub: Arc<Hub>,
    /// Cancelled when the server shuts down.
    pub shutdown: CancellationToken,
    /// Tracks connection tasks so shutdown can wait for them.
    pub connections: TaskTracker,
    /// Open WebSocket connections.
    pub open: Arc<AtomicUsize>,
    /// The Origin check.
    pub origins: Arc<OriginPolicy>,
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
        .map(move |headers: HeaderMap, on_upgrade: Option<OnUpgrade>| {
            upgrader.upgrade(&headers, on_upgrade)
        })
}

/// A plain-text answer with a status.
fn refuse(status: StatusCode, text: &'static str) -> Response {
    warp::reply::with_status(text, status).into_response()
}

/// The value of a header as text, if present and printable.
fn header_str<'a>(headers: &'a HeaderMap, name: &header::HeaderName) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The socket settings every connection gets. The write buffer is left
/// unbounded: a catch-up `joined` frame can be megabytes, and what bounds a
/// client's memory is its outbox, not this buffer.
fn socket_config(limits: &Limits) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(limits.read_buffer_bytes)
        .write_buffer_size(limits.write_buffer_bytes)
        .max_message_size(Some(limits.max_frame_bytes))
        .max_frame_size(Some(limits.max_frame_bytes))
}

impl Upgrader {
    fn upgrade(&self, headers: &HeaderMap, on_upgrade: Option<OnUpgrade>) -> Response {
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
        let Some(key) = headers.get(header::SEC_WEBSOCKET_KEY) else {
            return refuse(StatusCode::BAD_REQUEST, "missing Sec-WebSocket-Key\n");
        };
        let origin = header_str(headers, &header::ORIGIN);
        if !self
            .origins
            .allows(origin, header_str(headers, &header::HOST))
        {
            tracing::info!(?origin, "refused a WebSocket from a foreign origin");
            return refuse(
                StatusCode::FORBIDDEN,
                "this origin may not open a WebSocket here\n",
            );
        }
        let Some(on_upgrade) = on_upgrade else {
            return refuse(
                StatusCode::BAD_REQUEST,
                "this connection cannot be upgraded\n",
            );
        };
        let max = self.hub.limits().max_connections;
        if self.open.fetch_add(1, Ordering::AcqRel) >= max {
            self.open.fetch_sub(1, Ordering::AcqRel);
            return refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "the server is full; try again later\n",
            );
        }

        let accept = derive_accept_key(key.as_bytes());
        let this = self.clone();
        self.connections.spawn(async move {
            match on_upgrade.await {
                Ok(upgraded) => {
                    let config = socket_config(this.hub.limits());
                    let socket = WebSocketStream::from_raw_socket(
                        TokioIo::new(upgraded),
                        Role::Server,
                        Some(config),
                    )
                    .await;
                    crate::connection::serve(socket, this.hub.clone(), this.shutdown.clone()).await;
                }
                Err(err) => tracing::debug!(%err, "websocket upgrade failed"),
            }
            this.open.fetch_sub(1, Ordering::AcqRel);
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
    fn same_host_and_listed_origins_are_allowed() {
        let policy = OriginPolicy::new(&["http://localhost:8081/".into()]);
        assert!(policy.allows(None, Some("127.0.0.1:8080")));
        assert!(policy.allows(Some("http://127.0.0.1:8080"), Some("127.0.0.1:8080")));
        assert!(policy.allows(Some("http://LOCALHOST:8081"), Some("127.0.0.1:8080")));
        assert!(!policy.allows(Some("https://evil.example"), Some("127.0.0.1:8080")));
        assert!(!policy.allows(Some("null"), Some("127.0.0.1:8080")));
        assert!(OriginPolicy::new(&["*".into()]).allows(Some("https://evil.example"), None));
    }
}
