//! Between the storms: waiting for the server to notice that every client
//! dropped its connection (its `/metrics` count of open WebSockets), and
//! asking the script that runs the benchmark to restart the server.
//! `parley-load` only knows the server's URL, so a restart is a
//! conversation through a file: the load generator writes `restart`, the
//! script stops the server (SIGTERM: every connection gets 1001), starts it
//! again on the same address and database, and writes `ready <pid>`.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context};
use tokio::time::Instant;

use crate::soak::counters;

/// Waits until the server counts at most `open` WebSockets, for at most
/// `timeout`; how long that took, or `None` if it did not happen.
pub async fn connections_down_to(
    server: SocketAddr,
    open: f64,
    timeout: Duration,
) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < timeout {
        let now = counters::fetch(server).await;
        if now
            .as_ref()
            .and_then(|c| c.get("parley_connections"))
            .is_some_and(|&n| n <= open)
        {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

/// The pid in a `ready <pid>` line.
fn ready_pid(text: &str) -> Option<Option<u32>> {
    let rest = text.trim().strip_prefix("ready")?;
    Some(rest.trim().parse().ok())
}

/// Asks for a restart through `file` and waits (at most `timeout`) for the
/// answer; the new server's pid, if the script gave it.
pub async fn restart(file: &Path, timeout: Duration) -> anyhow::Result<Option<u32>> {
    std::fs::write(file, "restart\n").with_context(|| format!("writing {}", file.display()))?;
    let started = Instant::now();
    while started.elapsed() < timeout {
        if let Some(pid) = std::fs::read_to_string(file)
            .ok()
            .as_deref()
            .and_then(ready_pid)
        {
            return Ok(pid);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    bail!(
        "nobody restarted the server within {timeout:?} (is {} watched?)",
        file.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answer_names_the_new_pid() {
        assert_eq!(ready_pid("ready 4242\n"), Some(Some(4242)));
        assert_eq!(ready_pid("ready\n"), Some(None));
        assert_eq!(ready_pid("restart\n"), None);
    }
}
