//! Accepting TCP connections and speaking HTTP/1.1 on them, within limits.
//!
//! warp's own server builds hyper's connections without a timer, which
//! switches hyper's header read timeout off: a client sending one header
//! byte every few seconds kept its connection (and up to ~400 KiB of
//! header buffer) forever, and one such connection kept the process alive
//! after SIGTERM. So Parley serves warp's routes (as a tower service)
//! through hyper itself, with:
//!
//! - a header read timeout (`--header-timeout`), which also closes idle
//!   keep-alive connections, and a header size cap (`--max-header-bytes`,
//!   431 beyond it);
//! - a cap on connections that have not become WebSockets
//!   (`--max-http-connections`), and on those from one address
//!   (`--max-http-connections-per-ip`; trusted proxies are exempt): past it
//!   new sockets are closed at once;
//! - a hard deadline at shutdown: each connection is asked to finish its
//!   request, and dropped after `--shutdown-timeout`;
//! - accept errors (out of file descriptors) logged a few times a minute,
//!   with a short pause so the loop does not spin.
//!
//! Each request carries the peer's address as a [`Peer`] extension, for
//! the per-address limits of [`crate::admission`].

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_service::Service;
use warp::http::Request;
use warp::reply::Response;

use crate::logs::Throttle;
use crate::throttled;

/// The TCP peer of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer(pub SocketAddr);

/// The limits of the HTTP layer.
#[derive(Debug, Clone)]
pub struct HttpLimits {
    /// How long a client has to send a request's headers (and how long an
    /// idle keep-alive connection stays open).
    pub header_timeout: Duration,
    /// Largest request head, in bytes (at least 8 KiB: hyper's minimum).
    pub max_header_bytes: usize,
    /// Connections that have not become WebSockets, at most.
    pub max_connections: usize,
    /// ... and from one address, at most (0: no limit).
    pub max_connections_per_ip: usize,
    /// Peers exempt from the per-address cap (reverse proxies).
    pub exempt: Vec<ipnet::IpNet>,
    /// How long a connection may take to finish once shutdown starts.
    pub shutdown_timeout: Duration,
}

/// Adds the peer's address to every request of one connection.
#[derive(Clone)]
struct WithPeer<S> {
    inner: S,
    peer: SocketAddr,
}

impl<S, B> Service<Request<B>> for WithPeer<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        request.extensions_mut().insert(Peer(self.peer));
        self.inner.call(request)
    }
}

/// The HTTP connections open, in all and per address.
#[derive(Default)]
struct Open {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

/// A place among the HTTP connections; freed when dropped.
struct Slot {
    open: Arc<Mutex<Open>>,
    ip: Option<IpAddr>,
}

impl Slot {
    /// A place for a connection from `ip` (`None`: exempt from the
    /// per-address cap), if there is one.
    fn take(open: &Arc<Mutex<Open>>, ip: Option<IpAddr>, limits: &HttpLimits) -> Option<Slot> {
        let mut state = open.lock().unwrap_or_else(|p| p.into_inner());
        if state.total >= limits.max_connections {
            return None;
        }
        if let Some(ip) = ip {
            let mine = state.per_ip.entry(ip).or_insert(0);
            if limits.max_connections_per_ip > 0 && *mine >= limits.max_connections_per_ip {
                return None;
            }
            *mine += 1;
        }
        state.total += 1;
        Some(Slot {
            open: open.clone(),
            ip,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut state = self.open.lock().unwrap_or_else(|p| p.into_inner());
        state.total -= 1;
        if let Some(ip) = self.ip {
            if let Some(mine) = state.per_ip.get_mut(&ip) {
                *mine -= 1;
                if *mine == 0 {
                    state.per_ip.remove(&ip);
                }
            }
        }
    }
}

static ACCEPT_FAILED: Throttle = Throttle::new(5, Duration::from_secs(60));
static TOO_MANY: Throttle = Throttle::new(5, Duration::from_secs(60));

/// Serves `routes` on `listener` until `shutdown` is cancelled, then gives
/// every HTTP connection up to the shutdown timeout to finish and returns.
/// (Connections that became WebSockets are not these: their tasks belong to
/// [`crate::upgrade`].)
pub async fn serve<F>(
    listener: TcpListener,
    routes: F,
    limits: HttpLimits,
    shutdown: CancellationToken,
) where
    F: warp::Filter<Extract = (Response,), Error = Infallible> + Clone + Send + Sync + 'static,
{
    let mut http1 = hyper::server::conn::http1::Builder::new();
    http1
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(limits.max_header_bytes);
    let open = Arc::new(Mutex::new(Open::default()));
    let connections = TaskTracker::new();
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(err) => {
                // Usually out of file descriptors: pause instead of spinning.
                throttled!(ACCEPT_FAILED, warn, %err, "could not accept a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let ip = peer.ip();
        let counted = (!limits.exempt.iter().any(|net| net.contains(&ip))).then_some(ip);
        let Some(slot) = Slot::take(&open, counted, &limits) else {
            crate::metrics::http_refused();
            throttled!(TOO_MANY, info, %ip, "too many HTTP connections: closed a new one");
            continue;
        };
        let service = TowerToHyperService::new(WithPeer {
            inner: warp::service(routes.clone()),
            peer,
        });
        let connection = http1
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades();
        let (shutdown, deadline) = (shutdown.clone(), limits.shutdown_timeout);
        connections.spawn(async move {
            let _slot = slot;
            tokio::pin!(connection);
            let finished = tokio::select! {
                finished = &mut connection => finished,
                _ = shutdown.cancelled() => {
                    connection.as_mut().graceful_shutdown();
                    match tokio::time::timeout(deadline, &mut connection).await {
                        Ok(finished) => finished,
                        Err(_) => return, // the deadline: dropped
                    }
                }
            };
            if let Err(err) = finished {
                // Malformed requests, timeouts, resets: the client's business.
                tracing::debug!(%err, "HTTP connection ended with an error");
            }
        });
    }
    connections.close();
    connections.wait().await;
}
