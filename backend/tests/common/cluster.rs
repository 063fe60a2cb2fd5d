//! A cluster's node for the process tests: `parley-backend` on a shared
//! PostgreSQL database, linked through Redis, behind a proxy at 127.0.0.1,
//! noticing a broken link or a silent node within two seconds (short for
//! the tests, long enough that a busy test machine does not count a slow
//! node as gone).

#![allow(dead_code)]

use super::ServerProcess;

/// The nodes' `--cluster-node-timeout`.
pub const NODE_TIMEOUT: &str = "2s";

/// Starts a node on `db`, linked through `redis`.
pub fn node(db: &str, redis: &str) -> ServerProcess {
    // The app built into the binary (a debug build reads dist/, if built).
    let mut args = vec![
        "--database-url",
        db,
        "--redis-url",
        redis,
        "--trusted-proxy",
        "127.0.0.1",
        "--cluster-heartbeat",
        "100ms",
        "--cluster-node-timeout",
        NODE_TIMEOUT,
        "--catch-up-cap",
        "1000000",
    ];
    args.extend(super::UNLIMITED_FLAGS);
    ServerProcess::spawn(&args)
}
