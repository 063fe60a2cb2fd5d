//! The server's own counters (`GET /metrics`), read before and after the
//! soak: what the server says it refused, limited and closed, to set
//! beside what the hostile clients saw. A client that never reads cannot
//! see the close frame sent to it; the server's count still has it.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::raw::Raw;

/// The counters and gauges of `/metrics`, by name (`parley_…`).
pub type Counters = BTreeMap<String, f64>;

/// Reads the Prometheus text of `/metrics` into name → value (series
/// with labels are left out: Parley's have none).
pub fn parse(text: &str) -> Counters {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (name, value) = l.trim().split_once(' ')?;
            let value = value.trim().parse().ok()?;
            (!name.contains('{')).then(|| (name.to_owned(), value))
        })
        .collect()
}

/// Fetches the server's counters, if it answers within 5 s.
pub async fn fetch(server: SocketAddr) -> Option<Counters> {
    let read = async {
        let source = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let mut raw = Raw::open(server, source).await.ok()?;
        let request =
            format!("GET /metrics HTTP/1.1\r\nHost: {server}\r\nConnection: close\r\n\r\n");
        raw.stream.write_all(request.as_bytes()).await.ok()?;
        let mut answer = Vec::new();
        raw.stream.read_to_end(&mut answer).await.ok()?;
        let answer = String::from_utf8_lossy(&answer);
        let (head, body) = answer.split_once("\r\n\r\n")?;
        head.starts_with("HTTP/1.1 200").then(|| parse(body))
    };
    tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .ok()
        .flatten()
}

/// `after - before` for every counter in `after` (gauges as they are at
/// the end).
pub fn delta(before: &Counters, after: &Counters) -> Counters {
    after
        .iter()
        .map(|(name, &value)| {
            let start = if name.ends_with("_total") {
                before.get(name).copied().unwrap_or(0.0)
            } else {
                0.0
            };
            (name.clone(), value - start)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_read_and_subtracted() {
        let before = parse("# HELP x\nparley_rate_limited_total 10\nparley_connections 3\n");
        let after =
            parse("parley_rate_limited_total 25\n\nparley_connections 1\nwith{label=\"a\"} 4\n");
        let d = delta(&before, &after);
        assert_eq!(d["parley_rate_limited_total"], 15.0);
        assert_eq!(d["parley_connections"], 1.0);
        assert!(!d.contains_key("with{label=\"a\"}"));
    }
}
