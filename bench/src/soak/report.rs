//! The soak's report: what it holds (also written as JSON), what counts as
//! a problem, and the tables printed on the terminal. The Markdown section
//! for docs/benchmarks.md is [`super::docs`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::counters::Counters;
use super::delivery::{Delivery, Troubles};
use super::hostile::Kind;
use super::tally::KindCounts;
use super::timeline::Interval;

/// How many attempts of a kind ended one way.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ending {
    /// How (`close 4008`, `HTTP 431`, …).
    pub how: String,
    /// How many.
    pub count: u64,
    /// Whether the docs promise this ending for this kind.
    pub documented: bool,
}

/// One hostile kind in the report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HostileRow {
    /// The kind.
    pub kind: Kind,
    /// What an attempt does.
    pub what: String,
    /// What docs/protocol.md says happens.
    pub documented: String,
    /// How attempts ended.
    pub endings: Vec<Ending>,
    /// What the server answered on the way.
    pub answers: BTreeMap<String, u64>,
    /// At least one attempt ended, and every one as documented.
    pub as_documented: bool,
}

/// The rows of `kinds`, from what the hostile clients counted.
pub fn hostile_rows(kinds: &[Kind], counts: &BTreeMap<Kind, KindCounts>) -> Vec<HostileRow> {
    kinds
        .iter()
        .map(|&kind| {
            let seen = counts.get(&kind).cloned().unwrap_or_default();
            let endings: Vec<Ending> = seen
                .outcomes
                .iter()
                .map(|(outcome, &count)| Ending {
                    how: outcome.to_string(),
                    count,
                    documented: kind.is_documented(outcome),
                })
                .collect();
            HostileRow {
                kind,
                what: kind.what().to_owned(),
                documented: kind.documented().to_owned(),
                as_documented: !endings.is_empty() && endings.iter().all(|e| e.documented),
                endings,
                answers: seen.answers,
            }
        })
        .collect()
}

/// The whole soak.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SoakReport {
    /// The server measured.
    pub url: String,
    /// CPUs of the machine (shared by the server and every client).
    pub cpus: usize,
    /// How long the good clients talked among the hostile ones.
    pub duration_s: f64,
    /// Good clients.
    pub clients: usize,
    /// Rooms they were in.
    pub rooms: usize,
    /// Loopback addresses they came from.
    pub sources: usize,
    /// Seconds between two messages of one good client.
    pub every_s: f64,
    /// Message size in bytes.
    pub size: usize,
    /// Instances of each hostile kind.
    pub instances: usize,
    /// Server RSS before any client.
    pub rss_before_kib: Option<u64>,
    /// ... with the good clients connected, before the hostile ones start.
    pub rss_start_kib: Option<u64>,
    /// ... after the soak, every client gone.
    pub rss_end_kib: Option<u64>,
    /// Latency and memory per interval.
    pub intervals: Vec<Interval>,
    /// ... and over the whole soak.
    pub overall: Interval,
    /// Whether the good clients got every message once.
    pub delivery: Delivery,
    /// Cuts and errors of the good clients, and what they saw of the others.
    pub troubles: Troubles,
    /// The hostile kinds.
    pub hostile: Vec<HostileRow>,
    /// The server's counters over the soak (gauges: at the end).
    pub server_counters: Option<Counters>,
    /// Whether the server process was still there at the end.
    pub server_alive: Option<bool>,
}

impl SoakReport {
    /// A server counter over the soak, if it was read.
    pub fn counter(&self, name: &str) -> Option<f64> {
        self.server_counters.as_ref()?.get(name).copied()
    }

    /// What went wrong, if anything (empty: a clean soak).
    pub fn problems(&self) -> Vec<String> {
        let (d, t) = (&self.delivery, &self.troubles);
        let mut problems = Vec::new();
        if d.missing + d.duplicates + d.misrouted > 0 {
            problems.push(format!(
                "good clients: {} missing, {} duplicates, {} misrouted",
                d.missing, d.duplicates, d.misrouted
            ));
        }
        if d.acked < d.sent {
            problems.push(format!(
                "good clients: {} of {} sent acknowledged",
                d.acked, d.sent
            ));
        }
        if !t.cut.is_empty() {
            problems.push(format!("good clients cut off: {:?}", t.cut));
        }
        if !t.errors.is_empty() {
            problems.push(format!("good clients got errors: {:?}", t.errors));
        }
        for row in self.hostile.iter().filter(|r| !r.as_documented) {
            problems.push(format!("{}: not stopped as documented", row.kind.name()));
        }
        if let Some(open) = self.counter("parley_connections").filter(|&n| n > 0.0) {
            problems.push(format!(
                "{open} WebSockets still open on the server after the soak"
            ));
        }
        if self.server_alive == Some(false) {
            problems.push("the server process is gone".to_owned());
        }
        problems
    }
}

/// KiB as MiB with one decimal, or a dash.
pub fn mib(kib: Option<u64>) -> String {
    kib.map_or("–".to_owned(), |k| {
        format!("{:.1} MiB", k as f64 / 1024.0)
    })
}

/// A CPU share as `35 %`, or a dash.
pub fn pct(share: Option<f64>) -> String {
    share.map_or("–".to_owned(), |p| format!("{p:.0} %"))
}

/// A load average, or a dash.
pub fn load(load1: Option<f64>) -> String {
    load1.map_or("–".to_owned(), |l| format!("{l:.1}"))
}

/// A length of time as `10 minutes` or `20 seconds`.
pub fn length(secs: f64) -> String {
    if secs >= 120.0 && secs % 60.0 == 0.0 {
        format!("{:.0} minutes", secs / 60.0)
    } else {
        format!("{secs:.0} seconds")
    }
}

/// An interval as `0–1 min` or `0–5 s`.
pub fn span(row: &Interval) -> String {
    if row.to_s - row.from_s >= 60.0 && row.from_s % 60.0 == 0.0 {
        format!("{:.0}–{:.0} min", row.from_s / 60.0, row.to_s / 60.0)
    } else {
        format!("{:.0}–{:.0} s", row.from_s, row.to_s)
    }
}

/// A kind's endings, `close 4008 ×12, …`.
pub fn endings(row: &HostileRow) -> String {
    if row.endings.is_empty() {
        return "none ended".to_owned();
    }
    let list: Vec<String> = row
        .endings
        .iter()
        .map(|e| {
            let flag = if e.documented {
                ""
            } else {
                " (**not documented**)"
            };
            format!("{} ×{}{flag}", e.how, e.count)
        })
        .collect();
    list.join(", ")
}

/// A kind's answers, `error rate_limited ×5, …`.
pub fn answers(row: &HostileRow) -> String {
    let list: Vec<String> = row
        .answers
        .iter()
        .map(|(a, n)| format!("{a} ×{n}"))
        .collect();
    if list.is_empty() {
        "–".to_owned()
    } else {
        list.join(", ")
    }
}

/// Prints the report as tables.
pub fn print(report: &SoakReport) {
    let (d, t) = (&report.delivery, &report.troubles);
    println!(
        "soak {:.0} s: {} good clients in {} rooms, {} hostile instances of each kind",
        report.duration_s, report.clients, report.rooms, report.instances
    );
    println!(
        "good: sent {}, acked {}, expected {}, missing {}, duplicates {}, misrouted {}; cut {:?}; errors {:?}",
        d.sent, d.acked, d.expected, d.missing, d.duplicates, d.misrouted, t.cut, t.errors
    );
    println!(
        "RSS: {} before, {} start, {} max, {} end",
        mib(report.rss_before_kib),
        mib(report.rss_start_kib),
        mib(report.overall.rss_max_kib),
        mib(report.rss_end_kib)
    );
    println!(
        "{:>12} {:>10} {:>8} {:>8} {:>9} {:>10} {:>8} {:>6}",
        "interval", "arrivals", "p50 ms", "p99 ms", "max ms", "RSS max", "srv CPU", "load"
    );
    for row in report.intervals.iter().chain([&report.overall]) {
        println!(
            "{:>12} {:>10} {:>8.2} {:>8.2} {:>9.2} {:>10} {:>8} {:>6}",
            span(row),
            row.deliveries,
            row.p50_ms,
            row.p99_ms,
            row.max_ms,
            mib(row.rss_max_kib),
            pct(row.server_cpu_pct),
            load(row.load1)
        );
    }
    for row in &report.hostile {
        let ok = if row.as_documented {
            "ok"
        } else {
            "NOT AS DOCUMENTED"
        };
        println!(
            "{:>14}: {ok}: {} | {}",
            row.kind.name(),
            endings(row),
            answers(row)
        );
    }
    if let Some(counters) = &report.server_counters {
        let list: Vec<String> = counters.iter().map(|(n, v)| format!("{n} {v}")).collect();
        println!("server counters over the soak: {}", list.join(", "));
    }
}
