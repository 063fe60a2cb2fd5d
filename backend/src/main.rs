//! The `parley-backend` binary: configuration, logging and signals around
//! [`parley::server::run`].

use anyhow::Context;
use clap::{Parser, Subcommand};
use parley::admin::AdminArgs;
use parley::Config;
use tracing_subscriber::EnvFilter;

/// The command line: the server's flags, or a subcommand.
#[derive(Debug, Parser)]
#[command(
    name = "parley-backend",
    version,
    about = "Parley chat server",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    config: Config,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Server admins in the database: `grant NICK`, `revoke NICK`, `list`.
    Admin(AdminArgs),
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let done = match cli.command {
        // Off the async threads: the PostgreSQL client blocks.
        Some(Command::Admin(args)) => {
            tokio::task::spawn_blocking(move || parley::admin::run(&args))
                .await
                .map_err(anyhow::Error::from)
                .and_then(|done| done.map_err(anyhow::Error::from))
                .map(|said| println!("{said}"))
        }
        None => serve(cli.config).await,
    };
    if let Err(err) = done {
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
    let hub = parley::server::hub(&config).await.with_context(|| {
        format!(
            "cannot start with the database {}",
            parley::store::redact_url(&config.database_url)
        )
    })?;
    parley::server::link(&config, &hub)
        .await
        .map_err(anyhow::Error::msg)?;
    println!("Parley is running: open http://{}", listener.local_addr()?);
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
