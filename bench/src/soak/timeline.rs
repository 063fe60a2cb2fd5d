//! The soak over time: when it talks, and per interval the good clients'
//! latency, the server's memory and CPU and the machine's load, so that a
//! slow leak or a server that falls behind shows up as a trend rather than
//! hiding in a total.

use std::sync::Mutex;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::procfs::{cpu_ticks, load1, rss_kib, TICKS_PER_SEC};

/// The soak's schedule, in nanoseconds since `epoch`.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    /// What the times count from.
    pub epoch: Instant,
    /// The good clients start talking (and the hostile ones start).
    pub start_ns: u64,
    /// The good clients stop talking (and the hostile ones are stopped).
    pub stop_ns: u64,
    /// The good clients stop listening.
    pub end_ns: u64,
}

impl Clock {
    /// Nanoseconds since the epoch, now.
    pub fn now_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    /// The instant `ns` after the epoch.
    pub fn instant(&self, ns: u64) -> Instant {
        self.epoch + Duration::from_nanos(ns)
    }
}

/// One interval of the soak.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Interval {
    /// Seconds after the start.
    pub from_s: f64,
    /// Seconds after the start.
    pub to_s: f64,
    /// Good messages that arrived (first arrivals), by due time.
    pub deliveries: u64,
    /// Median latency.
    pub p50_ms: f64,
    /// 99th percentile latency.
    pub p99_ms: f64,
    /// Worst latency.
    pub max_ms: f64,
    /// The server's highest RSS in the interval.
    pub rss_max_kib: Option<u64>,
    /// The server's RSS at the interval's last sample.
    pub rss_last_kib: Option<u64>,
    /// The server's CPU use over the interval, in % of one core.
    pub server_cpu_pct: Option<f64>,
    /// The machine's load average (1 min) at the interval's last sample.
    pub load1: Option<f64>,
}

/// One look at the server and the machine.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// When, in ns since the epoch.
    pub at_ns: u64,
    /// The server's RSS.
    pub rss_kib: Option<u64>,
    /// The server's CPU time so far, in clock ticks.
    pub cpu_ticks: Option<u64>,
    /// The machine's load average.
    pub load1: Option<f64>,
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

/// Latency by interval of due time, and samples by the time they were taken.
#[derive(Debug)]
pub struct Timeline {
    start_ns: u64,
    every_ns: u64,
    latency: Mutex<Vec<Histogram<u64>>>,
    samples: Mutex<Vec<Sample>>,
}

impl Timeline {
    /// `intervals` intervals of `every`, from `start_ns`.
    pub fn new(start_ns: u64, every: Duration, intervals: usize) -> Timeline {
        Timeline {
            start_ns,
            every_ns: every.as_nanos().max(1) as u64,
            latency: Mutex::new((0..intervals.max(1)).map(|_| histogram()).collect()),
            samples: Mutex::new(Vec::new()),
        }
    }

    fn index(&self, ns: u64, len: usize) -> usize {
        ((ns.saturating_sub(self.start_ns) / self.every_ns) as usize).min(len - 1)
    }

    /// Records the latency of a message due at `due_ns`.
    pub fn record(&self, due_ns: u64, latency_us: u64) {
        let mut latency = self.latency.lock().unwrap_or_else(|p| p.into_inner());
        let i = self.index(due_ns, latency.len());
        let _ = latency[i].record(latency_us.max(1));
    }

    /// Records a sample.
    pub fn record_sample(&self, sample: Sample) {
        self.samples
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(sample);
    }

    /// Every sample so far.
    pub fn samples(&self) -> Vec<Sample> {
        self.samples
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Looks at the server `pid` and the machine every `every` until `until_ns`.
    pub async fn sample(&self, pid: Option<u32>, clock: Clock, every: Duration, until_ns: u64) {
        let mut tick = tokio::time::interval(every);
        while clock.now_ns() < until_ns {
            tick.tick().await;
            self.record_sample(Sample {
                at_ns: clock.now_ns(),
                rss_kib: rss_kib(pid),
                cpu_ticks: cpu_ticks(pid),
                load1: load1(),
            });
        }
    }

    /// The intervals, and every one together.
    pub fn intervals(&self) -> (Vec<Interval>, Interval) {
        let latency = self.latency.lock().unwrap_or_else(|p| p.into_inner());
        let samples = self.samples();
        let mut all = histogram();
        let mut rows = Vec::new();
        // The last sample before each interval, for its CPU time.
        let mut previous = samples.iter().rfind(|s| s.at_ns < self.start_ns).copied();
        for (i, h) in latency.iter().enumerate() {
            all.add(h).expect("same bounds");
            let mine: Vec<Sample> = samples
                .iter()
                .filter(|s| s.at_ns >= self.start_ns && self.index(s.at_ns, latency.len()) == i)
                .copied()
                .collect();
            let last = mine.last().copied();
            let from = (i as u64 * self.every_ns) as f64 / 1e9;
            rows.push(Interval {
                from_s: from,
                to_s: from + self.every_ns as f64 / 1e9,
                rss_max_kib: mine.iter().filter_map(|s| s.rss_kib).max(),
                rss_last_kib: last.and_then(|s| s.rss_kib),
                server_cpu_pct: previous.zip(last).and_then(|(a, b)| cpu_pct(&a, &b)),
                load1: last.and_then(|s| s.load1),
                ..summary(h)
            });
            previous = last.or(previous);
        }
        let first = samples.iter().find(|s| s.at_ns >= self.start_ns);
        let whole = Interval {
            from_s: 0.0,
            to_s: rows.last().map_or(0.0, |r| r.to_s),
            rss_max_kib: samples.iter().filter_map(|s| s.rss_kib).max(),
            rss_last_kib: samples.last().and_then(|s| s.rss_kib),
            server_cpu_pct: first.zip(samples.last()).and_then(|(a, b)| cpu_pct(a, b)),
            load1: samples.last().and_then(|s| s.load1),
            ..summary(&all)
        };
        (rows, whole)
    }
}

/// The server's CPU use between two samples, in % of one core.
fn cpu_pct(a: &Sample, b: &Sample) -> Option<f64> {
    let ticks = b.cpu_ticks?.checked_sub(a.cpu_ticks?)? as f64;
    let secs = b.at_ns.checked_sub(a.at_ns).filter(|&ns| ns > 0)? as f64 / 1e9;
    Some(100.0 * ticks / TICKS_PER_SEC / secs)
}

fn summary(h: &Histogram<u64>) -> Interval {
    let ms = |us: u64| us as f64 / 1000.0;
    Interval {
        from_s: 0.0,
        to_s: 0.0,
        deliveries: h.len(),
        p50_ms: ms(h.value_at_quantile(0.5)),
        p99_ms: ms(h.value_at_quantile(0.99)),
        max_ms: ms(h.max()),
        rss_max_kib: None,
        rss_last_kib: None,
        server_cpu_pct: None,
        load1: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(at_ns: u64, rss: u64, ticks: u64) -> Sample {
        Sample {
            at_ns,
            rss_kib: Some(rss),
            cpu_ticks: Some(ticks),
            load1: Some(1.5),
        }
    }

    #[test]
    fn latency_and_samples_land_in_their_interval() {
        let s = 1_000_000_000;
        let timeline = Timeline::new(s, Duration::from_secs(10), 3);
        timeline.record(s + 1, 2_000);
        timeline.record(s + 15 * s, 40_000);
        timeline.record(s + 99 * s, 9_000); // late: the last interval
        timeline.record_sample(sample(s / 2, 100, 0)); // before the start: in no row
        timeline.record_sample(sample(s + 2 * s, 200, 50));
        timeline.record_sample(sample(s + 12 * s, 300, 100));
        timeline.record_sample(sample(s + 13 * s, 250, 150));
        let (rows, all) = timeline.intervals();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].deliveries, 1);
        assert!((rows[1].p99_ms - 40.0).abs() < 0.1);
        assert_eq!(rows[2].deliveries, 1);
        assert_eq!(
            (rows[0].rss_max_kib, rows[0].rss_last_kib),
            (Some(200), Some(200))
        );
        assert_eq!(
            (rows[1].rss_max_kib, rows[1].rss_last_kib),
            (Some(300), Some(250))
        );
        assert_eq!(rows[2].rss_max_kib, None);
        assert_eq!((all.deliveries, all.rss_max_kib), (3, Some(300)));
        assert_eq!(rows[1].from_s, 10.0);
        // 50 ticks (0.5 s of CPU) over the 2.5 s from the last sample
        // before the start; then 100 ticks over 11 s.
        assert!((rows[0].server_cpu_pct.unwrap() - 20.0).abs() < 1e-9);
        assert!((rows[1].server_cpu_pct.unwrap() - 100.0 / 11.0).abs() < 1e-9);
        assert_eq!(rows[2].server_cpu_pct, None);
        assert_eq!(rows[1].load1, Some(1.5));
    }
}
