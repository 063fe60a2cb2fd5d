//! What one connection may send, and how fast.
//!
//! Every frame a connection sends counts against one budget (pings,
//! `typing`, bad frames and WebSocket control frames included), as
//! Discord's gateway counts every event: past it the connection is closed
//! with 4008, so no mix of cheap frames can keep a core busy. Within it,
//! each kind of request that costs the server (or the others) something has
//! its own rate: `send`s, `join`/`leave` (each tells every member),
//! catch-ups and `history` pages (database reads, large replies),
//! `members` pages, searches (index reads), and `typing` (told to every
//! member). Edits, deletions and reactions count as `send`s.
//!
//! Each rate is a token bucket (the GCRA form: one timestamp per bucket, 8
//! bytes), read against tokio's clock so tests can run it in virtual time.
//! Eight buckets (the frame budget and seven rates) cost a connection 64
//! bytes, where eight `governor` direct limiters (72 bytes each, measured)
//! would cost 576: idle connections are what a big server holds most of.

use std::time::Duration;

use tokio::time::Instant;

use crate::config::{Limits, Rate};

/// One token bucket: the time (ns after the connection's start) at which
/// it will be full again.
#[derive(Debug, Default, Clone, Copy)]
struct Bucket(u64);

impl Bucket {
    /// Takes a token at `now` (ns); `Err` with how long until one is free.
    fn take(&mut self, rate: &Rate, now: u64) -> Result<(), Duration> {
        let interval = rate.interval().as_nanos() as u64;
        let tolerance = interval.saturating_mul(u64::from(rate.count).saturating_sub(1));
        let full_at = self.0.max(now);
        if full_at - now > tolerance {
            return Err(Duration::from_nanos(full_at - now - tolerance));
        }
        self.0 = full_at.saturating_add(interval);
        Ok(())
    }
}

/// The kinds of frame that have a rate of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `send`.
    Send,
    /// `join` or `leave`.
    Join,
    /// `join` with `since`.
    CatchUp,
    /// `history`.
    History,
    /// `members`.
    Members,
    /// `search`.
    Search,
    /// `typing`.
    Typing,
}

/// One connection's buckets.
#[derive(Debug)]
pub struct Budget {
    started: Instant,
    frames: Bucket,
    sends: Bucket,
    joins: Bucket,
    catch_ups: Bucket,
    history: Bucket,
    members: Bucket,
    searches: Bucket,
    typing: Bucket,
}

impl Budget {
    /// Full buckets, as of now.
    pub fn new() -> Self {
        Budget {
            started: Instant::now(),
            frames: Bucket::default(),
            sends: Bucket::default(),
            joins: Bucket::default(),
            catch_ups: Bucket::default(),
            history: Bucket::default(),
            members: Bucket::default(),
            searches: Bucket::default(),
            typing: Bucket::default(),
        }
    }

    fn now(&self) -> u64 {
        self.started.elapsed().as_nanos() as u64
    }

    /// Counts one frame against the overall budget; `false` once spent.
    pub fn frame(&mut self, limits: &Limits) -> bool {
        let now = self.now();
        self.frames.take(&limits.frame_budget, now).is_ok()
    }

    /// Takes a token for a frame of `kind`; `Err` with how long until
    /// there is one.
    pub fn take(&mut self, kind: Kind, limits: &Limits) -> Result<(), Duration> {
        let now = self.now();
        let sends = Rate::new(
            limits.rate_burst,
            Duration::from_secs(1) * limits.rate_burst / limits.rate_per_sec,
        );
        match kind {
            Kind::Send => self.sends.take(&sends, now),
            Kind::Join => self.joins.take(&limits.join_rate, now),
            Kind::CatchUp => self.catch_ups.take(&limits.catch_up_rate, now),
            Kind::History => self.history.take(&limits.history_rate, now),
            Kind::Members => self.members.take(&limits.members_rate, now),
            Kind::Search => self.searches.take(&limits.search_rate, now),
            Kind::Typing => self.typing.take(&limits.typing_rate, now),
        }
    }
}

impl Default for Budget {
    fn default() -> Self {
        Budget::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_gives_its_count_at_once_then_one_per_interval() {
        let rate = Rate::new(3, Duration::from_secs(3));
        let mut bucket = Bucket::default();
        let s = |n: u64| n * 1_000_000_000;
        for _ in 0..3 {
            assert_eq!(bucket.take(&rate, 0), Ok(()));
        }
        assert_eq!(bucket.take(&rate, 0), Err(Duration::from_secs(1)));
        assert_eq!(bucket.take(&rate, s(1) - 1), Err(Duration::from_nanos(1)));
        assert_eq!(bucket.take(&rate, s(1)), Ok(()));
        assert!(bucket.take(&rate, s(1)).is_err());
        // A long pause refills it, but never beyond its count.
        for _ in 0..3 {
            assert_eq!(bucket.take(&rate, s(100)), Ok(()));
        }
        assert!(bucket.take(&rate, s(100)).is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn each_kind_has_its_own_rate_and_every_frame_counts() {
        let limits = Limits {
            frame_budget: Rate::new(10, Duration::from_secs(10)),
            join_rate: Rate::new(2, Duration::from_secs(10)),
            rate_burst: 3,
            rate_per_sec: 2,
            ..Limits::default()
        };
        let mut budget = Budget::new();
        assert!(budget.take(Kind::Join, &limits).is_ok());
        assert!(budget.take(Kind::Join, &limits).is_ok());
        assert_eq!(
            budget.take(Kind::Join, &limits),
            Err(Duration::from_secs(5))
        );
        for _ in 0..3 {
            assert!(
                budget.take(Kind::Send, &limits).is_ok(),
                "sends are not joins"
            );
        }
        assert_eq!(
            budget.take(Kind::Send, &limits),
            Err(Duration::from_millis(500))
        );
        tokio::time::advance(Duration::from_millis(500)).await;
        assert!(budget.take(Kind::Send, &limits).is_ok(), "two per second");
        for _ in 0..10 {
            assert!(budget.frame(&limits));
        }
        assert!(!budget.frame(&limits), "the eleventh frame in ten seconds");
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(budget.frame(&limits));
    }
}
