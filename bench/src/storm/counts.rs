//! What the storm's clients tell the controller while it waits: how many
//! have their `joined` in each storm and when the last one got it, how
//! many members have each fan-out message, and every trouble (a refused
//! connection, a reset, a close, an `error` frame) by phase and kind. The
//! clients are thousands of tasks and the controller only polls, so these
//! are atomics and two short-held mutexes, not channels.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

/// The parts of a storm run, in order; troubles are counted by the phase
/// they happened in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Every client connects, says `hello` and joins, for the first time.
    Join,
    /// One member sends to the room; everyone else reads.
    Fanout,
    /// Every client dropped its connection at once and resumes its
    /// session within the grace period (`hello {resume}`, `join {since}`).
    ResumeDrop,
    /// The server restarted; every client comes back with its old token
    /// (the session is gone: a fresh one) and `join {since}`.
    ResumeRestart,
}

impl Phase {
    /// Every phase, in order.
    pub const ALL: [Phase; 4] = [
        Phase::Join,
        Phase::Fanout,
        Phase::ResumeDrop,
        Phase::ResumeRestart,
    ];

    /// How the report names it.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Join => "first join",
            Phase::Fanout => "fan-out",
            Phase::ResumeDrop => "resume after a drop",
            Phase::ResumeRestart => "resume after a restart",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// One storm's progress.
pub struct StormCounts {
    /// Clients that have their `joined`.
    pub joined: AtomicUsize,
    /// Clients that gave up (every attempt failed).
    pub gave_up: AtomicUsize,
    /// Of the `welcome`s, those that said `resumed: true`.
    pub resumed: AtomicUsize,
    /// When the last `joined` arrived, ns since the epoch.
    pub last_ns: AtomicU64,
    /// Each client's time from its connect to its `joined`, in µs (the
    /// successful attempt only).
    latency: Mutex<Histogram<u64>>,
}

impl StormCounts {
    fn new() -> Self {
        StormCounts {
            joined: AtomicUsize::new(0),
            gave_up: AtomicUsize::new(0),
            resumed: AtomicUsize::new(0),
            last_ns: AtomicU64::new(0),
            latency: Mutex::new(histogram()),
        }
    }

    /// Clients done, one way or the other.
    pub fn settled(&self) -> usize {
        self.joined.load(Ordering::Acquire) + self.gave_up.load(Ordering::Acquire)
    }

    /// (p50, p99, max) of the single joins, in ms.
    pub fn quantiles_ms(&self) -> (f64, f64, f64) {
        let h = self.latency.lock().unwrap_or_else(|p| p.into_inner());
        let ms = |us: u64| us as f64 / 1000.0;
        (
            ms(h.value_at_quantile(0.5)),
            ms(h.value_at_quantile(0.99)),
            ms(h.max()),
        )
    }
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds")
}

/// Everything the clients share with the controller.
pub struct Counts {
    epoch: Instant,
    phase: AtomicUsize,
    storms: [StormCounts; 4],
    /// Members that have fan-out message k.
    fan: Vec<AtomicUsize>,
    /// When the last member got fan-out message k, ns since the epoch.
    fan_last_ns: Vec<AtomicU64>,
    troubles: Mutex<BTreeMap<(Phase, String), u64>>,
    /// Text frames the clients received, by phase.
    frames: [AtomicU64; 4],
}

impl Counts {
    /// Counts for a run whose fan-out sends `messages` messages.
    pub fn new(messages: usize) -> Self {
        Counts {
            epoch: Instant::now(),
            phase: AtomicUsize::new(0),
            storms: [(); 4].map(|_| StormCounts::new()),
            fan: (0..messages).map(|_| AtomicUsize::new(0)).collect(),
            fan_last_ns: (0..messages).map(|_| AtomicU64::new(0)).collect(),
            troubles: Mutex::new(BTreeMap::new()),
            frames: [(); 4].map(|_| AtomicU64::new(0)),
        }
    }

    /// Nanoseconds since the run's epoch.
    pub fn now_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    /// The phase troubles are counted in from now on.
    pub fn set_phase(&self, phase: Phase) {
        self.phase.store(phase.index(), Ordering::Release);
    }

    /// The phase under way.
    pub fn phase(&self) -> Phase {
        Phase::ALL[self.phase.load(Ordering::Acquire)]
    }

    /// The counts of the storm of `phase`.
    pub fn storm(&self, phase: Phase) -> &StormCounts {
        &self.storms[phase.index()]
    }

    /// A client has its `joined` in the storm of `phase`, `took_ns` after
    /// its connect began.
    pub fn joined(&self, phase: Phase, took_ns: u64, resumed: bool) {
        let storm = self.storm(phase);
        storm
            .latency
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .saturating_record((took_ns / 1000).max(1));
        storm.last_ns.fetch_max(self.now_ns(), Ordering::AcqRel);
        if resumed {
            storm.resumed.fetch_add(1, Ordering::AcqRel);
        }
        storm.joined.fetch_add(1, Ordering::AcqRel);
    }

    /// A member got fan-out message `k`.
    pub fn delivered(&self, k: usize) {
        if let (Some(count), Some(last)) = (self.fan.get(k), self.fan_last_ns.get(k)) {
            last.fetch_max(self.now_ns(), Ordering::AcqRel);
            count.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// Members that have fan-out message `k`, and when the last got it.
    pub fn fan(&self, k: usize) -> (usize, u64) {
        (
            self.fan[k].load(Ordering::Acquire),
            self.fan_last_ns[k].load(Ordering::Acquire),
        )
    }

    /// A client received a text frame (counted under the current phase).
    pub fn frame(&self) {
        self.frames[self.phase.load(Ordering::Relaxed)].fetch_add(1, Ordering::Relaxed);
    }

    /// Text frames the clients received in `phase`.
    pub fn frames(&self, phase: Phase) -> u64 {
        self.frames[phase.index()].load(Ordering::Acquire)
    }

    /// Something went wrong for a client: counted under the current phase.
    pub fn trouble(&self, kind: impl Into<String>) {
        let key = (self.phase(), kind.into());
        *self
            .troubles
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(key)
            .or_default() += 1;
    }

    /// The troubles of `phase`, by kind.
    pub fn troubles(&self, phase: Phase) -> BTreeMap<String, u64> {
        self.troubles
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|((p, _), _)| *p == phase)
            .map(|((_, kind), n)| (kind.clone(), *n))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn troubles_are_counted_under_the_phase_they_happen_in() {
        let counts = Counts::new(2);
        counts.trouble("close 1013");
        counts.set_phase(Phase::ResumeDrop);
        counts.trouble("close 1013");
        counts.trouble("close 1013");
        assert_eq!(counts.troubles(Phase::Join)["close 1013"], 1);
        assert_eq!(counts.troubles(Phase::ResumeDrop)["close 1013"], 2);
        assert!(counts.troubles(Phase::Fanout).is_empty());
    }

    #[test]
    fn joins_and_deliveries_are_counted() {
        let counts = Counts::new(2);
        counts.joined(Phase::Join, 2_000_000, false);
        counts.joined(Phase::Join, 4_000_000, true);
        let storm = counts.storm(Phase::Join);
        assert_eq!(storm.settled(), 2);
        assert_eq!(storm.resumed.load(Ordering::Acquire), 1);
        let (p50, _, max) = storm.quantiles_ms();
        assert!((p50 - 2.0).abs() < 0.01 && (max - 4.0).abs() < 0.01);
        counts.delivered(1);
        counts.delivered(7); // not a message of this run: ignored
        counts.frame();
        assert_eq!(counts.frames(Phase::Join), 1);
        assert_eq!(counts.fan(1).0, 1);
        assert_eq!(counts.fan(0).0, 0);
    }
}
