//! How often anyone may try to sign in: per account (so guessing one
//! account's password from many addresses is slow) and per client address
//! (so one address cannot try many accounts). Every attempt counts, right
//! or wrong; the answer to one over the limit is 429 with `Retry-After`.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::Rate;

/// Attempts between two prunings of idle keys.
const PRUNE_EVERY: u64 = 1024;

/// The sign-in rate limits.
pub struct LoginThrottle {
    per_account: DefaultKeyedRateLimiter<String>,
    per_ip: DefaultKeyedRateLimiter<IpAddr>,
    since_pruned: AtomicU64,
}

/// A bucket of `rate.count` refilled over `rate.per`.
fn quota(rate: Rate) -> Quota {
    let burst = NonZeroU32::new(rate.count).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(rate.interval())
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MAX))
        .allow_burst(burst)
}

impl LoginThrottle {
    /// Limits of `per_account` attempts on one account and `per_ip` from
    /// one address.
    pub fn new(per_account: Rate, per_ip: Rate) -> Self {
        LoginThrottle {
            per_account: RateLimiter::keyed(quota(per_account)),
            per_ip: RateLimiter::keyed(quota(per_ip)),
            since_pruned: AtomicU64::new(0),
        }
    }

    /// Takes one attempt on the account `key` from `ip`, or says how long
    /// to wait.
    pub fn attempt(&self, key: &str, ip: Option<IpAddr>) -> Result<(), Duration> {
        if self.since_pruned.fetch_add(1, Ordering::Relaxed) >= PRUNE_EVERY {
            self.since_pruned.store(0, Ordering::Relaxed);
            self.per_account.retain_recent();
            self.per_ip.retain_recent();
        }
        let now = DefaultClock::default().now();
        if let Some(ip) = ip {
            self.per_ip
                .check_key(&ip)
                .map_err(|n| n.wait_time_from(now))?;
        }
        self.per_account
            .check_key(&key.to_owned())
            .map_err(|n| n.wait_time_from(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_are_limited_per_account_and_per_address() {
        let hour = Duration::from_secs(3600);
        let throttle = LoginThrottle::new(Rate::new(3, hour), Rate::new(5, hour));
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        for _ in 0..3 {
            assert!(throttle.attempt("mina", Some(a)).is_ok());
        }
        // The account is used up, from any address.
        let wait = throttle.attempt("mina", Some(b)).unwrap_err();
        assert!(
            wait > Duration::from_secs(1000) && wait <= hour / 3,
            "{wait:?}"
        );
        // a has two attempts left, on other accounts.
        assert!(throttle.attempt("joon", Some(a)).is_ok());
        assert!(throttle.attempt("ana", Some(a)).is_ok());
        assert!(throttle.attempt("bo", Some(a)).is_err());
        assert!(throttle.attempt("bo", None).is_ok());
    }
}
