//! Token buckets per key: per caller for task creation, per remote IP for unauthenticated
//! calls (sign-in, failed authentication). The map is bounded: when it is full, buckets that
//! have refilled (and so are the same as new ones) are dropped; if none has, new keys are
//! refused, so a flood of fresh addresses cannot grow memory without limit.

use quorate_domain::sync::lock;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Allows `burst` requests at once and `per_second` on average, per key.
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
    max_keys: usize,
}

/// Most keys a limiter tracks by default.
pub const DEFAULT_MAX_KEYS: usize = 100_000;

impl RateLimiter {
    /// A limiter; `per_second <= 0` disables it.
    pub fn new(per_second: f64, burst: u32) -> Self {
        Self {
            per_second,
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
            max_keys: DEFAULT_MAX_KEYS,
        }
    }

    /// Tracks at most `max_keys` keys at once.
    #[cfg(test)]
    pub fn with_max_keys(mut self, max_keys: usize) -> Self {
        self.max_keys = max_keys.max(1);
        self
    }

    /// Takes a token for `key`; false when its bucket is empty.
    pub fn allow(&self, key: &str) -> bool {
        if self.per_second <= 0.0 {
            return true;
        }
        let now = Instant::now();
        let mut buckets = lock(&self.buckets);
        if !buckets.contains_key(key) && buckets.len() >= self.max_keys {
            let full_after = self.burst / self.per_second;
            buckets.retain(|_, (tokens, last)| {
                *tokens + now.duration_since(*last).as_secs_f64() * self.per_second < self.burst
                    && now.duration_since(*last).as_secs_f64() < full_after
            });
            if buckets.len() >= self.max_keys {
                return false;
            }
        }
        let (tokens, last) = buckets.entry(key.to_string()).or_insert((self.burst, now));
        let refill = now.duration_since(*last).as_secs_f64() * self.per_second;
        *tokens = (*tokens + refill).min(self.burst);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refused_and_per_key() {
        let l = RateLimiter::new(0.001, 3);
        assert!((0..3).all(|_| l.allow("a")));
        assert!(!l.allow("a"));
        assert!(l.allow("b"));
        assert!(RateLimiter::new(0.0, 1).allow("x"));
    }

    #[test]
    fn the_map_is_bounded_and_refilled_buckets_make_room() {
        let l = RateLimiter::new(0.001, 2).with_max_keys(2);
        assert!(l.allow("a") && l.allow("b"));
        // Both buckets are part-used: a third key has no room.
        assert!(!l.allow("c"));
        assert!(l.allow("a"));
        let fast = RateLimiter::new(1e9, 1).with_max_keys(1);
        assert!(fast.allow("a"));
        std::thread::sleep(std::time::Duration::from_millis(2));
        // "a" has refilled, so it is dropped to make room.
        assert!(fast.allow("b"));
    }
}
