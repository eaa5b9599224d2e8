//! Kubernetes Events about the managed objects (`events.k8s.io/v1`), a repeat folded into its first
//! Event's series (`series.count`), as client-go's recorder does.
//!
//! Why not kube-runtime's `Recorder`: it keeps every Event it published, whole, for six minutes to
//! find repeats, and prunes that map by scanning it on every publish. Applying or deleting 2000
//! services publishes over 10 000 Events in that time: the map alone grew to 36 MiB while it
//! resized (measured with heaptrack in `make bench`). A repeat needs only the Event's name and
//! count, so this keeps those, a few dozen bytes an Event, and at most [`REMEMBERED`] of them.

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::{Event, EventSeries};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams, PostParams};
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long a repeat counts as the same Event (client-go and kube-runtime use six minutes).
const SERIES_WINDOW: Duration = Duration::from_secs(6 * 60);

/// The most Events remembered for series at once; past it, the oldest are forgotten first (a later
/// repeat of one of them becomes a new Event, which loses nothing but a count).
const REMEMBERED: usize = 4096;

/// `Normal` or `Warning`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventType {
    Normal,
    Warning,
}

impl EventType {
    fn as_str(self) -> &'static str {
        match self {
            EventType::Normal => "Normal",
            EventType::Warning => "Warning",
        }
    }
}

/// Publishes Events for one controller instance.
pub struct Events {
    client: kube::Client,
    controller: String,
    instance: String,
    recent: Mutex<Recent>,
    sequence: AtomicU32,
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events")
            .field("controller", &self.controller)
            .field("instance", &self.instance)
            .finish_non_exhaustive()
    }
}

impl Events {
    pub fn new(client: kube::Client, controller: impl Into<String>, instance: impl Into<String>) -> Self {
        Self {
            client,
            controller: controller.into(),
            instance: instance.into(),
            recent: Mutex::new(Recent::default()),
            sequence: AtomicU32::new(0),
        }
    }

    /// Publishes one Event about `regarding`, or counts a repeat of one published in the last six
    /// minutes (same object, type, reason and note).
    pub async fn publish(
        &self,
        regarding: &ObjectReference,
        type_: EventType,
        reason: &str,
        note: &str,
    ) -> Result<(), kube::Error> {
        let namespace = regarding.namespace.as_deref().unwrap_or("default");
        let api: Api<Event> = Api::namespaced(self.client.clone(), namespace);
        let key = key(regarding, type_, reason, note);
        let now = Instant::now();
        let repeat = self.lock().repeat(key, now);
        if let Some((name, count)) = repeat {
            let patch = serde_json::json!({
                "series": EventSeries { count, last_observed_time: MicroTime(Timestamp::now()) }
            });
            match api
                .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(_) => return Ok(()),
                // Gone (the API server's event TTL): publish it anew.
                Err(kube::Error::Api(s)) if s.is_not_found() => self.lock().forget(key),
                Err(e) => return Err(e),
            }
        }
        let name = event_name(
            regarding.name.as_deref().unwrap_or("object"),
            Timestamp::now().as_nanosecond(),
            self.sequence.fetch_add(1, Ordering::Relaxed),
        );
        let event = Event {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(namespace.to_string()),
                ..ObjectMeta::default()
            },
            action: Some("Reconcile".into()),
            event_time: Some(MicroTime(Timestamp::now())),
            // The API server's limits: a note of 1 kB, a reason of 128 characters.
            note: Some(truncated(note, 1024).to_string()),
            reason: Some(truncated(reason, 128).to_string()),
            regarding: Some(regarding.clone()),
            reporting_controller: Some(self.controller.clone()),
            reporting_instance: Some(self.instance.clone()),
            type_: Some(type_.as_str().to_string()),
            ..Event::default()
        };
        api.create(&PostParams::default(), &event).await?;
        self.lock().remember(key, name, now);
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Recent> {
        self.recent.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// `<object>.<time><sequence>` in hex: unique per instance (client-go uses `<object>.<time>`), and a
/// DNS subdomain of at most 253 characters as an Event's name must be.
fn event_name(object: &str, nanos: i128, sequence: u32) -> String {
    let object = truncated(object, 253 - 34);
    format!("{object}.{nanos:x}{sequence:08x}")
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn truncated(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn key(regarding: &ObjectReference, type_: EventType, reason: &str, note: &str) -> u64 {
    let mut h = DefaultHasher::new();
    regarding.uid.hash(&mut h);
    regarding.namespace.hash(&mut h);
    regarding.name.hash(&mut h);
    regarding.kind.hash(&mut h);
    type_.hash(&mut h);
    reason.hash(&mut h);
    note.hash(&mut h);
    h.finish()
}

/// Events published in the last [`SERIES_WINDOW`], by key: their name, count and last occurrence.
#[derive(Default, Debug)]
struct Recent {
    by_key: HashMap<u64, Seen>,
}

#[derive(Debug)]
struct Seen {
    name: String,
    count: i32,
    last: Instant,
}

impl Recent {
    /// For a repeat within the window: the Event to count it on and its new count.
    fn repeat(&mut self, key: u64, now: Instant) -> Option<(String, i32)> {
        let seen = self.by_key.get_mut(&key)?;
        if now.duration_since(seen.last) > SERIES_WINDOW {
            self.by_key.remove(&key);
            return None;
        }
        // A series starts at 2: the first occurrence is the Event itself.
        seen.count = seen.count.saturating_add(1).max(2);
        seen.last = now;
        Some((seen.name.clone(), seen.count))
    }

    fn remember(&mut self, key: u64, name: String, now: Instant) {
        if self.by_key.len() >= REMEMBERED {
            self.by_key
                .retain(|_, s| now.duration_since(s.last) <= SERIES_WINDOW);
        }
        if self.by_key.len() >= REMEMBERED {
            // Still full of recent Events: forget the older half.
            let mut times: Vec<Instant> = self.by_key.values().map(|s| s.last).collect();
            let (_, median, _) = times.select_nth_unstable(REMEMBERED / 2);
            let cutoff = *median;
            self.by_key.retain(|_, s| s.last > cutoff);
        }
        self.by_key.insert(
            key,
            Seen {
                name,
                count: 1,
                last: now,
            },
        );
    }

    fn forget(&mut self, key: u64) {
        self.by_key.remove(&key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(name: &str) -> ObjectReference {
        ObjectReference {
            kind: Some("EcsCluster".into()),
            name: Some(name.into()),
            namespace: Some("ns".into()),
            uid: Some(format!("uid-{name}")),
            ..ObjectReference::default()
        }
    }

    #[test]
    fn a_repeat_within_the_window_counts_on_the_first_event() {
        let mut recent = Recent::default();
        let t0 = Instant::now();
        let k = key(&object("a"), EventType::Warning, "AwsError", "boom");
        assert_eq!(recent.repeat(k, t0), None);
        recent.remember(k, "a.1".into(), t0);
        assert_eq!(
            recent.repeat(k, t0 + Duration::from_secs(10)),
            Some(("a.1".into(), 2))
        );
        assert_eq!(
            recent.repeat(k, t0 + Duration::from_secs(20)),
            Some(("a.1".into(), 3))
        );
        // The window runs from the last occurrence.
        assert_eq!(
            recent.repeat(k, t0 + Duration::from_secs(20) + SERIES_WINDOW),
            Some(("a.1".into(), 4))
        );
        assert_eq!(
            recent.repeat(k, t0 + Duration::from_secs(21) + 2 * SERIES_WINDOW),
            None
        );
    }

    #[test]
    fn events_differing_in_object_type_reason_or_note_are_distinct() {
        let base = key(&object("a"), EventType::Normal, "Created", "created");
        assert_ne!(base, key(&object("b"), EventType::Normal, "Created", "created"));
        assert_ne!(base, key(&object("a"), EventType::Warning, "Created", "created"));
        assert_ne!(base, key(&object("a"), EventType::Normal, "Updated", "created"));
        assert_ne!(base, key(&object("a"), EventType::Normal, "Created", "other"));
        assert_eq!(base, key(&object("a"), EventType::Normal, "Created", "created"));
    }

    #[test]
    fn memory_is_bounded_and_the_newest_events_are_kept() {
        let mut recent = Recent::default();
        let t0 = Instant::now();
        let n = REMEMBERED as u64 * 3;
        for i in 0..n {
            recent.remember(i, format!("e.{i}"), t0 + Duration::from_millis(i));
        }
        assert!(recent.by_key.len() <= REMEMBERED, "{}", recent.by_key.len());
        let last = t0 + Duration::from_millis(n);
        assert!(recent.repeat(n - 1, last).is_some(), "the newest is remembered");
        assert!(recent.repeat(0, last).is_none(), "the oldest was forgotten");
        // Past the window, old entries are dropped before any recent one.
        let later = last + SERIES_WINDOW + Duration::from_secs(1);
        recent.remember(n, "fresh".into(), later);
        assert!(recent.by_key.len() <= REMEMBERED);
    }

    #[test]
    fn event_names_are_unique_and_valid() {
        let long = "x".repeat(253);
        let a = event_name(&long, 1_700_000_000_000_000_000, 0);
        let b = event_name(&long, 1_700_000_000_000_000_000, 1);
        assert_ne!(a, b);
        assert!(a.len() <= 253, "{}", a.len());
        assert!(
            a.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.'),
            "{a}"
        );
        assert_eq!(event_name("svc", 255, 1), "svc.ff00000001");
    }

    #[test]
    fn truncation_keeps_whole_characters() {
        assert_eq!(truncated("abc", 5), "abc");
        assert_eq!(truncated("abc", 2), "ab");
        assert_eq!(truncated("aé", 2), "a");
    }
}
