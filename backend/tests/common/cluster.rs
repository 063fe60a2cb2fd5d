//! A cluster's node for the process tests: `parley-backend` on a shared
//! PostgreSQL database, linked through Redis, behind a proxy at 127.0.0.1,
//! noticing a broken link or a silent node within a second.

#![allow(dead_code)]

use super::ServerProcess;

/// Starts a node on `db`, linked through `redis`.
pub fn node(db: &str, redis: &str) -> ServerProcess {
    let mut args = vec![
        "--static-dir",
        "/nonexistent",
        "--database-url",
        db,
        "--redis-url",
        redis,
        "--trusted-proxy",
        "127.0.0.1",
        "--cluster-heartbeat",
        "100ms",
        "--cluster-node-timeout",
        "1s",
        "--catch-up-cap",
        "1000000",
    ];
    args.extend(super::UNLIMITED_FLAGS);
    ServerProcess::spawn(&args)
}
