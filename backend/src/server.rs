//! Runs the server on a listener until a shutdown signal, then closes every
//! connection with 1001 and waits (bounded) for them to finish.
//!
//! [`run`] takes the listener and the shutdown future from its caller, as
//! mini-redis does: the binary passes a bound address and Ctrl-C/SIGTERM,
//! tests pass port 0 and a oneshot they control.

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::hub::Hub;
use crate::store::{MessageStore, StoreError};
use crate::upgrade::{OriginPolicy, Upgrader};

/// Binds `addr` with a listen queue of `backlog` connections and no Nagle
/// delays: chat frames are small and latency-bound, and Linux copies
/// TCP_NODELAY from the listener to every socket it accepts.
pub fn bind(addr: std::net::SocketAddr, backlog: u32) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.set_nodelay(true)?;
    socket.bind(addr)?;
    socket.listen(backlog)
}

/// Opens (and migrates) the database the config names, off the async threads.
pub async fn open_store(config: &Config) -> Result<Arc<dyn MessageStore>, StoreError> {
    let (url, sync, per_room) = (
        config.database_url.clone(),
        config.sqlite_synchronous,
        config.limits.memory_history,
    );
    tokio::task::spawn_blocking(move || crate::store::open(&url, sync, per_room))
        .await
        .map_err(|e| StoreError::Backend(e.to_string()))?
}

/// The routes and the handles that stop them: what [`run`] serves, and
/// what route tests drive with `warp::test`.
pub struct App<F> {
    /// Every route.
    pub routes: F,
    /// Cancel to close every WebSocket with 1001.
    pub stop: CancellationToken,
    /// The connection tasks.
    pub connections: TaskTracker,
}

/// Builds the routes around `hub`.
pub fn app(
    config: &Config,
    hub: Arc<Hub>,
) -> App<
    impl warp::Filter<Extract = (warp::reply::Response,), Error = std::convert::Infallible> + Clone,
> {
    let stop = CancellationToken::new();
    let connections = TaskTracker::new();
    let upgrader = Upgrader {
        hub,
        shutdown: stop.clone(),
        connections: connections.clone(),
        open: Default::default(),
        origins: Arc::new(OriginPolicy::new(&config.allowed_origins)),
    };
    let routes = crate::routes::routes(
        upgrader,
        crate::metrics::prometheus(),
        config.static_dir.clone(),
    );
    App {
        routes,
        stop,
        connections,
    }
}

/// Serves Parley on `listener` with `hub` until `shutdown` completes: starts
/// the hub's workers, serves every route, then closes the connections (1001),
/// waits for them (at most `--shutdown-timeout`), and commits and delivers
/// whatever is still queued before returning.
pub async fn run(
    listener: TcpListener,
    config: Config,
    hub: Arc<Hub>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let workers = hub.start()?;
    let App {
        routes,
        stop,
        connections,
    } = app(&config, hub.clone());
    let addr = listener.local_addr().ok();
    tracing::info!(?addr, "Parley is listening");

    let stop_connections = stop.clone();
    warp::serve(routes)
        .incoming(listener)
        .graceful(async move {
            shutdown.await;
            tracing::info!("shutting down: closing connections with 1001");
            stop_connections.cancel();
        })
        .run()
        .await;

    connections.close();
    if tokio::time::timeout(config.limits.shutdown_timeout, connections.wait())
        .await
        .is_err()
    {
        tracing::warn!("some connections did not close within the shutdown timeout");
    }
    workers.stop().await;
    tracing::info!("Parley stopped");
    Ok(())
}
