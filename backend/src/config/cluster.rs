//! The flags of a cluster: where Redis is, and how often the nodes tell
//! each other they are alive.

use std::time::Duration;

use clap::Args;

use super::positive_duration;

/// Cluster flags. Without `--redis-url` the server is one node.
#[derive(Debug, Clone, Args)]
pub struct ClusterFlags {
    /// Redis (`redis://HOST:PORT[/DB]`) linking several nodes that share one
    /// PostgreSQL database (`--database-url postgres://…`): committed room
    /// events and typing go to the other nodes over its pub/sub. Without
    /// it, the server is one node.
    #[arg(long, env = "PARLEY_REDIS_URL")]
    pub redis_url: Option<String>,

    /// How often a node tells the others it is alive (over Redis); each
    /// node also checks by it that its own link works end to end.
    #[arg(long, env = "PARLEY_CLUSTER_HEARTBEAT", default_value = "1s", value_parser = positive_duration)]
    pub cluster_heartbeat: Duration,

    /// How long a node may stay silent before the others count it as gone
    /// (and check every room against the database, for what it committed
    /// but never told); also how long this node's own link may go without
    /// hearing itself before it counts as down and sends are refused
    /// `busy`.
    #[arg(long, env = "PARLEY_CLUSTER_NODE_TIMEOUT", default_value = "5s", value_parser = positive_duration)]
    pub cluster_node_timeout: Duration,

    /// Room events waiting to be published to Redis, at most; what a full
    /// queue drops is made up by the other nodes from the database.
    #[arg(long, env = "PARLEY_CLUSTER_PUBLISH_QUEUE", default_value_t = 65_536)]
    pub cluster_publish_queue: usize,
}
