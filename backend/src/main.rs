//! The `parley-backend` binary: configuration, logging and signals around
//! [`parley::server::run`].

use anyhow::Context;
use clap::Parser;
use parley::Config;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() {
    let config = Config::parse();
    if let Err(err) = serve(config).await {
        // One readable line, whatever RUST_BACKTRACE says.
        eprintln!("parley-backend: {err:#}");
        std::process::exit(1);
    }
}

/// Logs at info, but not what warp says about each odd request (a `/../`
/// path is a warning there): clients must not be able to fill the log.
const DEFAULT_LOG_FILTER: &str = "info,warp=error";

async fn serve(mut config: Config) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG_FILTER)),
        )
        .with_writer(std::io::stderr)
        .init();
    // As many open files as the hard limit allows, then fit the caps to it.
    let open_files =
        rlimit::increase_nofile_limit(u64::MAX).context("cannot read the open-file limit")?;
    match config.fit_open_files(open_files) {
        Ok(Some(note)) => tracing::warn!("{note}"),
        Ok(None) => {}
        Err(err) => anyhow::bail!(err),
    }
    parley::server::site_policy(&config).map_err(anyhow::Error::msg)?;
    let listener = parley::server::bind(config.addr, config.listen_backlog)
        .with_context(|| format!("cannot listen on {}", config.addr))?;
    let store = parley::server::open_store(&config)
        .await
        .with_context(|| format!("cannot start with the database {}", config.database_url))?;
    println!("Parley is running: open http://{}", listener.local_addr()?);
    let hub = parley::hub::Hub::new(config.limits.clone(), store);
    parley::server::run(listener, config, hub, shutdown_signal())
        .await
        .context("the server stopped")
}

/// Completes on Ctrl-C (SIGINT) or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
