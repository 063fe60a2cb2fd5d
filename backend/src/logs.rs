//! Logging what clients do without letting them flood the log.
//!
//! Two rules for every line a client can cause: a value it supplied is cut
//! to [`MAX_LOGGED_BYTES`] ([`clip`]), and a line it can repeat at will is
//! written at most a few times a minute ([`Throttle`]), the rest counted
//! and reported with the next line that gets through. So one client
//! sending a 60 KB Origin in a loop costs a few short lines a minute, not
//! 166 MiB/s.
//!
//! A leaf module.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The most bytes of a client-supplied value a log line repeats.
pub const MAX_LOGGED_BYTES: usize = 128;

/// `value` cut to at most [`MAX_LOGGED_BYTES`] bytes (on a character
/// boundary), with `…` and the full length when it was cut.
pub fn clip(value: &str) -> String {
    if value.len() <= MAX_LOGGED_BYTES {
        return value.to_owned();
    }
    let mut end = MAX_LOGGED_BYTES;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &value[..end], value.len())
}

/// Lets a log line through at most `per_window` times per window; counts
/// the rest.
#[derive(Debug)]
pub struct Throttle {
    per_window: u64,
    window: Duration,
    /// When the current window started, and how many lines it let through.
    current: Mutex<Option<(Instant, u64)>>,
    /// Lines held back since the last one let through.
    suppressed: AtomicU64,
}

impl Throttle {
    /// At most `per_window` lines per `window`.
    pub const fn new(per_window: u64, window: Duration) -> Self {
        Throttle {
            per_window,
            window,
            current: Mutex::new(None),
            suppressed: AtomicU64::new(0),
        }
    }

    /// Whether to write the line now: `Some(n)` with the number of lines
    /// held back before it (write it, and say so if `n > 0`), `None` to
    /// drop it.
    pub fn allow(&self) -> Option<u64> {
        let now = Instant::now();
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        let (started, let_through) = current.get_or_insert((now, 0));
        if now.duration_since(*started) >= self.window {
            *started = now;
            *let_through = 0;
        }
        if *let_through >= self.per_window {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        *let_through += 1;
        Some(self.suppressed.swap(0, Ordering::Relaxed))
    }
}

/// Writes a line through a [`Throttle`] (a `static` at the call site):
/// `throttled!(THROTTLE, info, origin = %clip(o), "refused a WebSocket")`.
#[macro_export]
macro_rules! throttled {
    ($throttle:expr, $level:ident, $($rest:tt)+) => {
        if let Some(suppressed) = $throttle.allow() {
            tracing::$level!(suppressed, $($rest)+);
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_clipped_on_a_character_boundary() {
        assert_eq!(clip("short"), "short");
        let long = "é".repeat(100);
        let clipped = clip(&long);
        assert!(clipped.starts_with(&"é".repeat(64)));
        assert!(clipped.ends_with("… (200 bytes)"), "{clipped}");
        assert!(clipped.len() < MAX_LOGGED_BYTES + 20);
        assert_eq!(clip(&"x".repeat(MAX_LOGGED_BYTES)).len(), MAX_LOGGED_BYTES);
        // The cut falls inside a two-byte character: it moves back before it.
        let odd = format!("a{}", "é".repeat(100));
        assert!(
            clip(&odd).starts_with(&format!("a{}…", "é".repeat(63))),
            "{}",
            clip(&odd)
        );
    }

    #[test]
    fn a_throttle_lets_a_few_lines_through_then_counts_the_rest() {
        let throttle = Throttle::new(3, Duration::from_secs(3600));
        assert_eq!(throttle.allow(), Some(0));
        assert_eq!(throttle.allow(), Some(0));
        assert_eq!(throttle.allow(), Some(0));
        for _ in 0..1000 {
            assert_eq!(throttle.allow(), None);
        }
        let next_window = Throttle::new(1, Duration::ZERO);
        assert_eq!(next_window.allow(), Some(0));
        assert_eq!(
            next_window.allow(),
            Some(0),
            "every call starts a new window"
        );
        *throttle.current.lock().unwrap() = None;
        assert_eq!(throttle.allow(), Some(1000), "reports what it held back");
    }
}
