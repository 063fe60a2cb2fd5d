//! Who may open a WebSocket: the server-wide cap on connections, and per
//! client address a cap on open connections and a rate of new ones.
//!
//! One address opening thousands of sockets in a second must not use up
//! the server's connections (or its file descriptors) for everybody else,
//! while an office of a few hundred people behind one NAT must still fit:
//! hence a per-address cap in the hundreds and a rate whose burst lets
//! that office reconnect at once after a restart.
//!
//! Behind a reverse proxy every socket comes from the proxy, so the client
//! address is taken from `X-Forwarded-For`, but only when the peer is a
//! listed `--trusted-proxy`: anybody else could write that header.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use ipnet::IpNet;

/// Why a WebSocket was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The server holds `--max-connections` already (503).
    ServerFull,
    /// This address holds `--max-connections-per-ip` already (429).
    TooManyFromAddress,
    /// This address opens connections faster than its rate (429); it may
    /// try again after this long.
    TooFastFromAddress(Duration),
}

/// What the admission rules are.
#[derive(Debug, Clone)]
pub struct AdmissionRules {
    /// Most WebSockets at once.
    pub max_total: usize,
    /// Most WebSockets at once per client address; 0 for no limit.
    pub max_per_ip: usize,
    /// New WebSockets per client address: this many at once...
    pub burst_per_ip: u32,
    /// ... then one more every this long.
    pub every_per_ip: Duration,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpNet>,
}

/// Counts the open WebSockets, in all and per address.
pub struct Admission {
    rules: AdmissionRules,
    total: AtomicUsize,
    per_ip: Mutex<HashMap<IpAddr, usize>>,
    rate: DefaultKeyedRateLimiter<IpAddr>,
    /// Admissions since the rate limiter forgot idle addresses.
    since_pruned: AtomicU64,
}

/// An admitted connection's place; dropping it frees the place.
#[must_use]
pub struct Ticket {
    admission: Arc<Admission>,
    ip: Option<IpAddr>,
}

/// How many admissions between two prunings of idle addresses' rate state.
const PRUNE_EVERY: u64 = 4096;

impl Admission {
    /// Counting starts at zero.
    pub fn new(rules: AdmissionRules) -> Arc<Self> {
        let burst = NonZeroU32::new(rules.burst_per_ip).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(rules.every_per_ip)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MAX))
            .allow_burst(burst);
        Arc::new(Admission {
            rules,
            total: AtomicUsize::new(0),
            per_ip: Mutex::new(HashMap::new()),
            rate: RateLimiter::keyed(quota),
            since_pruned: AtomicU64::new(0),
        })
    }

    /// The client's address: the peer's, or when the peer is a trusted
    /// proxy, the nearest address in `X-Forwarded-For` that is not one.
    pub fn client_ip(
        &self,
        peer: Option<SocketAddr>,
        forwarded_for: Option<&str>,
    ) -> Option<IpAddr> {
        let peer = peer?.ip();
        if !self.is_trusted(peer) {
            return Some(peer);
        }
        let mut client = peer;
        for hop in forwarded_for.unwrap_or("").rsplit(',') {
            match hop.trim().parse::<IpAddr>() {
                Ok(ip) if self.is_trusted(ip) => client = ip,
                Ok(ip) => return Some(ip),
                // Garbage in the header: stop at the last address we believe.
                Err(_) => break,
            }
        }
        Some(client)
    }

    fn is_trusted(&self, ip: IpAddr) -> bool {
        self.rules
            .trusted_proxies
            .iter()
            .any(|net| net.contains(&ip))
    }

    /// Admits a connection from `ip` (`None`: unknown, only the total
    /// counts), or says why not.
    pub fn admit(self: &Arc<Self>, ip: Option<IpAddr>) -> Result<Ticket, Refused> {
        if let Some(ip) = ip {
            if let Err(not_until) = self.rate.check_key(&ip) {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                return Err(Refused::TooFastFromAddress(wait));
            }
            if self.since_pruned.fetch_add(1, Ordering::Relaxed) >= PRUNE_EVERY {
                self.since_pruned.store(0, Ordering::Relaxed);
                self.rate.retain_recent();
            }
        }
        if self.total.fetch_add(1, Ordering::AcqRel) >= self.rules.max_total {
            self.total.fetch_sub(1, Ordering::AcqRel);
            return Err(Refused::ServerFull);
        }
        if let (Some(ip), max) = (ip, self.rules.max_per_ip) {
            let mut per_ip = self.per_ip.lock().unwrap_or_else(|p| p.into_inner());
            let open = per_ip.entry(ip).or_insert(0);
            if max > 0 && *open >= max {
                drop(per_ip);
                self.total.fetch_sub(1, Ordering::AcqRel);
                return Err(Refused::TooManyFromAddress);
            }
            *open += 1;
        }
        Ok(Ticket {
            admission: self.clone(),
            ip,
        })
    }

    /// WebSockets open now.
    pub fn open(&self) -> usize {
        self.total.load(Ordering::Acquire)
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let admission = &self.admission;
        if let Some(ip) = self.ip {
            let mut per_ip = admission.per_ip.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(open) = per_ip.get_mut(&ip) {
                *open -= 1;
                if *open == 0 {
                    per_ip.remove(&ip);
                }
            }
        }
        admission.total.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> AdmissionRules {
        AdmissionRules {
            max_total: 5,
            max_per_ip: 2,
            burst_per_ip: 4,
            every_per_ip: Duration::from_secs(3600),
            trusted_proxies: vec!["10.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()],
        }
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn each_address_has_its_cap_and_its_rate_and_all_share_the_total() {
        let admission = Admission::new(rules());
        let a1 = admission.admit(ip("192.0.2.1")).unwrap();
        let _a2 = admission.admit(ip("192.0.2.1")).unwrap();
        assert_eq!(
            admission.admit(ip("192.0.2.1")).err(),
            Some(Refused::TooManyFromAddress)
        );
        drop(a1);
        let _a3 = admission.admit(ip("192.0.2.1")).unwrap();
        // The fifth attempt in the hour (refused ones count) is too fast.
        assert!(
            matches!(admission.admit(ip("192.0.2.1")), Err(Refused::TooFastFromAddress(wait)) if wait > Duration::from_secs(1000))
        );
        let _b = admission.admit(ip("192.0.2.2")).unwrap();
        let _c = admission.admit(None).unwrap();
        let _d = admission.admit(None).unwrap();
        assert_eq!(admission.open(), 5);
        assert_eq!(
            admission.admit(ip("192.0.2.3")).err(),
            Some(Refused::ServerFull)
        );
        assert_eq!(admission.open(), 5, "a refusal takes no place");
    }

    #[test]
    fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
        let admission = Admission::new(rules());
        let peer = |s: &str| Some(s.parse::<SocketAddr>().unwrap());
        let xff = Some("198.51.100.7, 10.1.1.1");
        assert_eq!(
            admission.client_ip(peer("192.0.2.9:5000"), xff),
            ip("192.0.2.9"),
            "not a proxy"
        );
        assert_eq!(
            admission.client_ip(peer("10.0.0.1:5000"), xff),
            ip("198.51.100.7")
        );
        assert_eq!(
            admission.client_ip(peer("[::1]:5000"), Some("203.0.113.5")),
            ip("203.0.113.5")
        );
        assert_eq!(
            admission.client_ip(peer("10.0.0.1:5000"), None),
            ip("10.0.0.1")
        );
        assert_eq!(
            admission.client_ip(peer("10.0.0.1:5000"), Some("junk, 10.2.2.2")),
            ip("10.2.2.2")
        );
        assert_eq!(admission.client_ip(None, xff), None);
    }

    #[test]
    fn no_per_address_cap_when_it_is_zero() {
        let admission = Admission::new(AdmissionRules {
            max_per_ip: 0,
            burst_per_ip: 100,
            ..rules()
        });
        let tickets: Vec<_> = (0..5)
            .map(|_| admission.admit(ip("192.0.2.1")).unwrap())
            .collect();
        assert_eq!(admission.open(), 5);
        drop(tickets);
        assert_eq!(admission.open(), 0);
        assert!(
            admission.per_ip.lock().unwrap().is_empty(),
            "nothing kept for idle addresses"
        );
    }
}
