//! The load generator's report, as written to JSON by `parley-load` and read
//! back by `parley-report`.

use serde::{Deserialize, Serialize};

/// One phase in the report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Step {
    /// Messages per second, all senders together.
    pub rate: f64,
    /// Messages due inside the window.
    pub sent: u64,
    /// Deliveries those messages should cause.
    pub expected: u64,
    /// Deliveries that arrived.
    pub received: u64,
    /// `received / expected`.
    pub delivery_ratio: f64,
    /// Deliveries that arrived, per second of window.
    pub deliveries_per_sec: f64,
    /// Median end-to-end latency.
    pub p50_ms: f64,
    /// 99th percentile latency.
    pub p99_ms: f64,
    /// 99.9th percentile latency.
    pub p999_ms: f64,
    /// Worst latency.
    pub max_ms: f64,
    /// `error` frames received.
    pub errors: u64,
    /// Delivery ≥ 99.9 % and p99 ≤ 100 ms.
    pub passed: bool,
}

/// The whole report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// The server measured.
    pub url: String,
    /// Clients connected.
    pub clients: usize,
    /// Rooms they were spread over.
    pub rooms: usize,
    /// Clients that sent.
    pub senders: usize,
    /// Message text size in bytes.
    pub size: usize,
    /// Time to connect every client (handshake, hello, join).
    pub connect_secs: f64,
    /// Clients connected per second.
    pub connections_per_sec: f64,
    /// The slowest single client set-up.
    pub slowest_connect_ms: f64,
    /// Server RSS before connecting.
    pub rss_before_kib: Option<u64>,
    /// Server RSS with every client joined.
    pub rss_connected_kib: Option<u64>,
    /// Server RSS after the last phase.
    pub rss_after_kib: Option<u64>,
    /// RSS growth per connected client.
    pub rss_per_connection_bytes: Option<f64>,
    /// One entry per measured rate.
    pub steps: Vec<Step>,
    /// The highest rate that passed.
    pub best_passing_rate: Option<f64>,
}
