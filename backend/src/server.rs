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

use crate::accounts::Accounts;
use crate::admission::{Admission, AdmissionRules};
use crate::api::Api;
use crate::assets::Readiness;
use crate::cluster::RedisBroker;
use crate::config::Config;
use crate::http::HttpLimits;
use crate::hub::Hub;
use crate::origin::SitePolicy;
use crate::store::{StoreError, Stores};
use crate::upgrade::Upgrader;

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
pub async fn open_store(config: &Config) -> Result<Stores, StoreError> {
    let (url, sync, per_room, readers) = (
        config.database_url.clone(),
        config.sqlite_synchronous,
        config.limits.memory_history,
        config.limits.db_readers,
    );
    tokio::task::spawn_blocking(move || crate::store::open(&url, sync, per_room, readers))
        .await
        .map_err(|e| StoreError::Backend(e.to_string()))?
}

/// Opens the database the config names and builds the hub around it, its
/// accounts loaded: what the binary serves.
pub async fn hub(config: &Config) -> Result<Arc<Hub>, StoreError> {
    let stores = open_store(config).await?;
    let rules = config.accounts.rules();
    let accounts = tokio::task::spawn_blocking(move || Accounts::load(stores.accounts, rules))
        .await
        .map_err(|e| StoreError::Backend(e.to_string()))??;
    Ok(Hub::new(
        config.limits.clone(),
        stores.messages,
        Arc::new(accounts),
    ))
}

/// Links `hub` to the other nodes if `--redis-url` is set. Fails (one
/// line) on a bad or unreachable URL, or a store that cannot be shared.
pub async fn link(config: &Config, hub: &Arc<Hub>) -> Result<(), String> {
    let Some(url) = &config.cluster.redis_url else {
        return Ok(());
    };
    if !config.database_url.starts_with("postgres") {
        return Err(
            "--redis-url links nodes that share one database: give them --database-url postgres://…"
                .to_owned(),
        );
    }
    let broker = RedisBroker::connect(url, &config.cluster, config.limits.resume_grace)
        .await
        .map_err(|e| e.to_string())?;
    hub.attach(Arc::new(broker))
        .map_err(|_| "the hub is already linked".to_owned())
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

/// The hosts and origins `config` serves: its `--public-url`s (by default
/// the listen address), `--allowed-origin`s and `--allowed-host`s. Fails on
/// one that cannot be parsed, naming it.
pub fn site_policy(config: &Config) -> Result<SitePolicy, String> {
    let public_urls = if config.public_urls.is_empty() {
        vec![format!("http://{}", config.addr)]
    } else {
        config.public_urls.clone()
    };
    SitePolicy::new(&public_urls, &config.allowed_origins, &config.allowed_hosts)
}

/// Builds the routes around `hub`; fails if a `--public-url`,
/// `--allowed-origin` or `--allowed-host` cannot be parsed.
pub fn app(
    config: &Config,
    hub: Arc<Hub>,
) -> Result<
    App<
        impl warp::Filter<Extract = (warp::reply::Response,), Error = std::convert::Infallible> + Clone,
    >,
    String,
> {
    let limits = &config.limits;
    let admission = Admission::new(AdmissionRules {
        max_total: limits.max_connections,
        max_per_ip: limits.max_connections_per_ip,
        burst_per_ip: limits.connect_rate_per_ip.count,
        every_per_ip: limits.connect_rate_per_ip.interval(),
        trusted_proxies: config.trusted_proxies.clone(),
    });
    let stop = CancellationToken::new();
    let connections = TaskTracker::new();
    let sites = Arc::new(site_policy(config)?);
    let api = Api {
        accounts: hub.accounts().clone(),
        hub: hub.clone(),
        sites: sites.clone(),
        admission: admission.clone(),
        secure_cookie: sites.is_https(),
    };
    let upgrader = Upgrader {
        hub,
        shutdown: stop.clone(),
        connections: connections.clone(),
        admission,
        sites,
    };
    let routes = crate::routes::routes(
        upgrader,
        api,
        crate::metrics::prometheus(),
        config.app_files(),
    );
    Ok(App {
        routes,
        stop,
        connections,
    })
}

/// Serves Parley on `listener` with `hub` until `shutdown` completes: starts
/// the hub's workers, serves every route, then closes the WebSockets (1001)
/// and HTTP connections, waits for them (at most `--shutdown-timeout`),
/// and commits and delivers whatever is still queued before returning.
pub async fn run(
    listener: TcpListener,
    mut config: Config,
    hub: Arc<Hub>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // The default public URL is the address actually bound (port 0 chooses one).
    config.addr = listener.local_addr()?;
    let App {
        routes,
        stop,
        connections,
    } = app(&config, hub.clone()).map_err(std::io::Error::other)?;
    let workers = hub.start()?;
    tracing::info!(addr = %config.addr, "Parley is listening");
    match config.app_files().readiness() {
        Readiness::Ready => {}
        Readiness::Missing => tracing::warn!(
            "the browser app is not built (no index.html): `/` answers 503; run `make run` or `trunk build --release`"
        ),
        Readiness::DevelopmentBuild => tracing::warn!(
            "dist/ holds a `trunk serve` development build: `/` answers 503; run `trunk build --release`"
        ),
    }

    let limits = &config.limits;
    let http_limits = HttpLimits {
        header_timeout: limits.header_timeout,
        max_header_bytes: limits.max_header_bytes,
        max_connections: limits.max_http_connections,
        max_connections_per_ip: limits.max_http_connections_per_ip,
        exempt: config.trusted_proxies.clone(),
        shutdown_timeout: limits.shutdown_timeout,
    };
    let stop_connections = stop.clone();
    tokio::spawn(async move {
        shutdown.await;
        tracing::info!("shutting down: closing connections with 1001");
        stop_connections.cancel();
    });
    crate::http::serve(listener, routes, http_limits, stop).await;

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
