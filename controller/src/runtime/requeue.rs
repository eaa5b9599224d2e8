//! Requeue policy: when to look at an object again.
//!
//! Ready objects come back after the resync period (drift detection); converging ones soon; failures back
//! off exponentially per object (longer when AWS throttles), so an object that keeps failing never
//! hot-loops and one that recovers starts from the short delay again.

use super::Context;
use super::conditions::{self, reasons};
use crate::api::Condition;
use crate::aws::{AwsError, ErrorKind};
use kube::Resource;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// How fast to retry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pace {
    /// A failure that may pass (server error, network, conflict): 2 s, doubling, up to 5 min.
    Retry,
    /// AWS throttled us: 10 s, doubling, up to 5 min.
    Throttled,
}

const MAX_DELAY: Duration = Duration::from_secs(300);

/// Consecutive failures per object (by uid).
#[derive(Default, Debug)]
pub struct Backoff {
    failures: Mutex<HashMap<String, Failures>>,
}

#[derive(Debug)]
struct Failures {
    count: u32,
    /// No attempt before this time...
    not_before: std::time::Instant,
    /// ...unless the object changed since (a spec edit, a deletion, a reconcile request).
    change: Option<u64>,
}

impl Backoff {
    pub fn key<K: Resource>(obj: &K) -> String {
        obj.meta()
            .uid
            .clone()
            .unwrap_or_else(|| format!("{:?}/{:?}", obj.meta().namespace, obj.meta().name))
    }

    /// Records one more failure and returns the delay before the next attempt.
    pub fn next(&self, key: &str, pace: Pace) -> Duration {
        let mut map = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        let f = map.entry(key.to_string()).or_insert(Failures {
            count: 0,
            not_before: std::time::Instant::now(),
            change: None,
        });
        let delay = jittered(delay_for(f.count, pace), key, f.count);
        f.count = f.count.saturating_add(1);
        f.not_before = std::time::Instant::now() + delay;
        delay
    }

    /// Ties the current backoff of `key` to the object's change key: only a change lifts it early.
    pub fn remember_change(&self, key: &str, change: Option<u64>) {
        if let Some(f) = self
            .failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_mut(key)
        {
            f.change = change;
        }
    }

    /// The time left before the next attempt, when an object in backoff is triggered again without
    /// having changed (a periodic resync, say): such a trigger waits instead of calling AWS early.
    pub fn hold(&self, key: &str, change: Option<u64>) -> Option<Duration> {
        let map = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        let f = map.get(key)?;
        let left = f.not_before.checked_duration_since(std::time::Instant::now())?;
        (f.change == change && !left.is_zero()).then_some(left)
    }

    pub fn reset(&self, key: &str) {
        self.failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
    }
}

/// The delay after `failures` earlier consecutive failures.
pub fn delay_for(failures: u32, pace: Pace) -> Duration {
    let base = match pace {
        Pace::Retry => Duration::from_secs(2),
        Pace::Throttled => Duration::from_secs(10),
    };
    base.saturating_mul(1u32 << failures.min(16)).min(MAX_DELAY)
}

/// `delay` scaled by a factor in [0.8, 1.2), different per object and attempt, so objects that failed
/// together (an AWS outage, a throttle storm) do not all retry in the same instant.
fn jittered(delay: Duration, key: &str, attempt: u32) -> Duration {
    use std::hash::BuildHasher;
    // RandomState is seeded per process (and per instance): a cheap source of spread, not of secrets.
    let r = std::collections::hash_map::RandomState::new().hash_one((key, attempt));
    let factor = 0.8 + 0.4 * ((r % 10_000) as f64 / 10_000.0);
    delay.mul_f64(factor).min(MAX_DELAY)
}

/// Conditions and delay after an AWS error (`None`: wait for a change or the periodic resync).
pub fn after_aws_error(ctx: &Context, key: &str, e: &AwsError) -> (Vec<Condition>, Option<Duration>) {
    let message = e.to_string();
    match e.kind {
        ErrorKind::Terminal => (conditions::stalled(reasons::AWS_ERROR, &message), None),
        ErrorKind::Throttled => (
            conditions::waiting(reasons::THROTTLED, &message),
            Some(ctx.backoff.next(key, Pace::Throttled)),
        ),
        ErrorKind::HasDependents => (
            conditions::waiting(reasons::HAS_DEPENDENTS, &message),
            Some(ctx.backoff.next(key, Pace::Retry)),
        ),
        ErrorKind::Retryable | ErrorKind::NotFound => (
            conditions::waiting(reasons::AWS_ERROR, &message),
            Some(ctx.backoff.next(key, Pace::Retry)),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_caps_and_resets() {
        let b = Backoff::default();
        let delays: Vec<_> = (0..10).map(|_| b.next("x", Pace::Retry).as_secs_f64()).collect();
        for (d, base) in delays
            .iter()
            .zip([2f64, 4., 8., 16., 32., 64., 128., 256., 300., 300.])
        {
            assert!(
                (base * 0.8..=(base * 1.2).min(300.)).contains(d),
                "{d} is not {base} +-20%: {delays:?}"
            );
        }
        b.reset("x");
        assert!(b.next("x", Pace::Retry) < Duration::from_millis(2400));
        assert!(b.next("y", Pace::Throttled) >= Duration::from_secs(8));
        assert_eq!(delay_for(u32::MAX, Pace::Throttled), MAX_DELAY);
    }

    #[test]
    fn jitter_spreads_objects_that_failed_together() {
        let delays: std::collections::BTreeSet<u128> = (0..50)
            .map(|i| jittered(Duration::from_secs(10), &format!("obj-{i}"), 0).as_millis())
            .collect();
        assert!(
            delays.len() > 40,
            "50 objects retry at {} distinct times",
            delays.len()
        );
        assert!(delays.iter().all(|d| (8000..12000).contains(d)), "{delays:?}");
    }

    #[test]
    fn a_backoff_holds_unchanged_objects_and_yields_to_changes() {
        let b = Backoff::default();
        assert_eq!(b.hold("x", Some(1)), None, "no failure, no hold");
        b.next("x", Pace::Throttled);
        b.remember_change("x", Some(1));
        assert!(b.hold("x", Some(1)).is_some_and(|d| d > Duration::from_secs(7)));
        assert_eq!(b.hold("x", Some(2)), None, "a changed object is tried at once");
        b.reset("x");
        assert_eq!(b.hold("x", Some(1)), None);
    }
}
