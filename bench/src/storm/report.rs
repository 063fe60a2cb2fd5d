//! A storm run's report: what `parley-load storm` prints and writes as
//! JSON, and what `parley-report` reads back to write the section "Big
//! rooms: join storms" of docs/benchmarks.md.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;

use serde::{Deserialize, Serialize};

use super::fanout::FanoutResult;

/// One storm: every client joining (again) at once.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StormResult {
    /// Which storm ("first join", "resume after a drop", …).
    pub kind: String,
    /// Clients in it.
    pub clients: usize,
    /// Clients that got their `joined`.
    pub joined: usize,
    /// Clients whose every attempt failed.
    pub gave_up: usize,
    /// Every client joined before the deadline.
    pub finished: bool,
    /// From the first connect to the last `joined` (to the deadline if
    /// not finished), in seconds.
    pub secs: f64,
    /// `secs` per client, in ms.
    pub per_join_ms: f64,
    /// A single client's connect to `joined`: median, 99th percentile, worst.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Worst.
    pub max_ms: f64,
    /// `welcome`s that said `resumed: true`.
    pub resumed: usize,
    /// Everything that went wrong (refusals, resets, closes, `error`
    /// frames), by kind, until the next phase began.
    pub troubles: BTreeMap<String, u64>,
    /// The server's RSS when the storm began.
    pub rss_before_kib: Option<u64>,
    /// … and a second after it ended.
    pub rss_after_kib: Option<u64>,
    /// The server's CPU time during the storm, in seconds.
    pub server_cpu_s: Option<f64>,
    /// The load generator's own CPU time during the storm, in seconds.
    pub load_cpu_s: Option<f64>,
    /// Text frames a client received, on average, from the storm's start
    /// until the next phase (`welcome`, `joined`, `presence`, …).
    #[serde(default)]
    pub frames_per_client: f64,
    /// Before a resume storm: how long the server took to see every
    /// connection gone (a drop) or to restart (a restart), in seconds.
    pub before_s: Option<f64>,
}

impl StormResult {
    /// Troubles of every kind, added up.
    pub fn resets(&self) -> u64 {
        self.troubles.values().sum()
    }

    /// RSS growth per client over the storm, in KiB.
    pub fn kib_per_connection(&self) -> Option<f64> {
        let (before, after) = self.rss_before_kib.zip(self.rss_after_kib)?;
        Some(after.saturating_sub(before) as f64 / self.clients.max(1) as f64)
    }
}

/// One run of `parley-load storm`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StormReport {
    /// The server, as the script named it.
    pub server: String,
    /// A run against the server before the big-room work (the baseline).
    pub baseline: bool,
    /// Its URL.
    pub url: String,
    /// Clients.
    pub clients: usize,
    /// Rooms they were spread over.
    pub rooms: usize,
    /// Loopback source addresses.
    pub sources: usize,
    /// Connections set up at once.
    pub connect_concurrency: usize,
    /// How long a storm may take before it is given up.
    pub deadline_s: f64,
    /// CPUs of the machine (server and load generator share them).
    pub cpus: usize,
    /// The machine's load average (1 min) when the run began.
    pub load1: Option<f64>,
    /// The first join.
    pub first: StormResult,
    /// Fan-out in room 0, if measured.
    pub fanout: Option<FanoutResult>,
    /// Troubles during the fan-out.
    pub fanout_troubles: BTreeMap<String, u64>,
    /// Resume storms, in the order run.
    pub resumes: Vec<StormResult>,
}

impl StormReport {
    /// The resume storm of `kind`, if run.
    /// The first thing that went wrong, if any: a storm in which not every
    /// client joined or something went wrong, or a fan-out that missed a
    /// member.
    pub fn problem(&self) -> Option<String> {
        for s in std::iter::once(&self.first).chain(&self.resumes) {
            if !s.finished || s.joined < s.clients || s.resets() > 0 {
                return Some(format!(
                    "{}: {} of {} joined, troubles {:?}",
                    s.kind, s.joined, s.clients, s.troubles
                ));
            }
        }
        if let Some(f) = &self.fanout {
            let expected = f.members * f.burst;
            if f.one_delivered < f.members
                || f.burst_delivered < expected
                || !self.fanout_troubles.is_empty()
            {
                return Some(format!(
                    "fan-out: {} of {} and {} of {expected} delivered, troubles {:?}",
                    f.one_delivered, f.members, f.burst_delivered, self.fanout_troubles
                ));
            }
        }
        None
    }

    pub fn resume(&self, kind: &str) -> Option<&StormResult> {
        self.resumes.iter().find(|r| r.kind == kind)
    }
}

/// The storm runs whose JSON files are in `dir` (none if there is no
/// such folder).
pub fn load_dir(dir: &Path) -> anyhow::Result<Vec<StormReport>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut reports = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path)?;
            reports.push(
                serde_json::from_str(&text)
                    .with_context(|| format!("reading {}", path.display()))?,
            );
        }
    }
    Ok(reports)
}

fn storm_line(s: &StormResult) -> String {
    let done = if s.finished {
        format!("all {} joined in {:.2} s", s.clients, s.secs)
    } else {
        format!(
            "only {} of {} joined in {:.0} s (gave up: {})",
            s.joined, s.clients, s.secs, s.gave_up
        )
    };
    let opt = |v: Option<f64>, unit: &str| v.map_or("?".into(), |v| format!("{v:.1}{unit}"));
    format!(
        "{:<24} {done}: {:.3} ms per join; single joins p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; \
         {:.1} frames per client; resumed {}; RSS {} → {} KiB ({} per connection); CPU server {}, generator {}; troubles {:?}",
        s.kind,
        s.per_join_ms,
        s.p50_ms,
        s.p99_ms,
        s.max_ms,
        s.frames_per_client,
        s.resumed,
        s.rss_before_kib.map_or("?".into(), |k| k.to_string()),
        s.rss_after_kib.map_or("?".into(), |k| k.to_string()),
        opt(s.kib_per_connection(), " KiB"),
        opt(s.server_cpu_s, " s"),
        opt(s.load_cpu_s, " s"),
        s.troubles
    )
}

/// Prints the report for a person.
pub fn print(report: &StormReport) {
    println!(
        "{}: {} clients in {} room(s), from {} addresses, {} connecting at once ({} CPUs, load {})",
        report.server,
        report.clients,
        report.rooms,
        report.sources,
        report.connect_concurrency,
        report.cpus,
        report.load1.map_or("?".into(), |l| format!("{l:.2}"))
    );
    println!("{}", storm_line(&report.first));
    if let Some(f) = &report.fanout {
        let ms = |v: Option<f64>| v.map_or("?".into(), |v| format!("{v:.1} ms"));
        println!(
            "fan-out to {} members: one message reached {} in {:.1} ms (its ack: {}); {} back to back: {} deliveries \
             in {:.1} ms (last ack: {}) = {:.0}/s; troubles {:?}",
            f.members,
            f.one_delivered,
            f.one_ms,
            ms(f.one_ack_ms),
            f.burst,
            f.burst_delivered,
            f.burst_ms,
            ms(f.burst_ack_ms),
            f.deliveries_per_sec,
            report.fanout_troubles
        );
    }
    for r in &report.resumes {
        let before = r
            .before_s
            .map_or(String::new(), |s| format!(" (after {s:.2} s)"));
        println!("{}{before}", storm_line(r));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resets_add_up_and_memory_is_per_client() {
        let s = StormResult {
            kind: "first join".into(),
            clients: 1000,
            joined: 1000,
            gave_up: 0,
            finished: true,
            secs: 1.0,
            per_join_ms: 1.0,
            p50_ms: 1.0,
            p99_ms: 2.0,
            max_ms: 3.0,
            resumed: 0,
            troubles: [("close 1013".to_owned(), 2), ("HTTP 429".to_owned(), 1)].into(),
            rss_before_kib: Some(10_000),
            rss_after_kib: Some(17_000),
            server_cpu_s: None,
            load_cpu_s: None,
            frames_per_client: 0.0,
            before_s: None,
        };
        assert_eq!(s.resets(), 3);
        assert_eq!(s.kib_per_connection(), Some(7.0));
    }
}
