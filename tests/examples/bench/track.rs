//! Watches every kind in the benchmark's namespace (kube-runtime watchers, as a user's tooling would)
//! and records, per object, when the harness applied it, when a watch first saw `Ready=True` for its
//! current generation, when it lost `Ready`, and when it disappeared; plus how many changes each kind
//! went through (writes that reached etcd, whoever made them). For run-to-completion kinds (FargateTask)
//! also when a watch first saw `Complete=True` or `Failed=True`, the largest the object got and the most
//! tasks its status listed as running.

use anyhow::{Result, bail};
use futures::StreamExt;
use kube::api::{Api, ApiResource, DynamicObject};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

pub type Key = (&'static str, String);

#[derive(Clone, Debug, Default)]
pub struct Obj {
    pub applied: Option<Instant>,
    pub generation: Option<i64>,
    /// The generation a watch last saw `Ready=True` for, and when it first did.
    pub ready_generation: Option<i64>,
    pub ready_at: Option<Instant>,
    /// `Ready=True` for the current generation in the latest version seen.
    pub ready: bool,
    /// Each time the object went from Ready to not Ready (or to an older generation).
    pub lost_ready: Vec<Instant>,
    pub resource_version: Option<String>,
    pub delete_sent: Option<Instant>,
    pub gone_at: Option<Instant>,
    /// When a watch first saw `Complete=True` (a FargateTask's success), or `Failed=True`.
    pub complete_at: Option<Instant>,
    pub failed_at: Option<Instant>,
    /// The largest version seen, serialized as JSON (bytes), and the largest `status` in it.
    pub max_bytes: usize,
    pub max_status_bytes: usize,
    /// The most `status.active` (tasks running) seen.
    pub max_active: i64,
    /// The bytes of every version seen, summed (what the writes to it cost the kube-apiserver and etcd).
    pub bytes_seen: u64,
    /// The most `status.launches` (RunTask calls asked for) seen, and when it was first seen.
    pub launches: i64,
    pub last_launch_at: Option<Instant>,
}

#[derive(Default)]
struct State {
    objects: HashMap<Key, Obj>,
    /// Versions seen per kind (each a write to etcd).
    changes: BTreeMap<&'static str, u64>,
    /// Kinds whose watch listed everything once.
    synced: HashSet<&'static str>,
    /// Names listed since the latest (re)list began, per kind.
    relisting: HashMap<&'static str, HashSet<String>>,
    errors: u64,
    /// The controller's Events by uid, with the count of their series last seen (an Event the API
    /// server expired stays here, so writes are never undercounted when Events age out).
    events: HashMap<String, u64>,
    /// Event writes seen: one per Event, plus each repeat its series counted.
    event_writes: u64,
}

#[derive(Clone)]
pub struct Tracker {
    state: Arc<Mutex<State>>,
    tasks: Arc<Vec<tokio::task::JoinHandle<()>>>,
}

impl Drop for Tracker {
    fn drop(&mut self) {
        if Arc::strong_count(&self.tasks) == 1 {
            for t in self.tasks.iter() {
                t.abort();
            }
        }
    }
}

/// Whether condition `type_` is True (any generation: a run's outcome does not go stale).
fn condition_true(o: &DynamicObject, type_: &str) -> bool {
    o.data
        .pointer("/status/conditions")
        .and_then(|c| c.as_array())
        .is_some_and(|conditions| {
            conditions
                .iter()
                .any(|c| c["type"] == type_ && c["status"] == "True")
        })
}

fn ready_for_generation(o: &DynamicObject) -> bool {
    let generation = o.metadata.generation;
    o.data
        .pointer("/status/conditions")
        .and_then(|c| c.as_array())
        .is_some_and(|conditions| {
            conditions.iter().any(|c| {
                c["type"] == "Ready"
                    && c["status"] == "True"
                    && c["observedGeneration"].as_i64() == generation
            })
        })
}

impl State {
    fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
        state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn seen(&mut self, kind: &'static str, o: &DynamicObject, now: Instant) {
        let name = o.name_any();
        if let Some(names) = self.relisting.get_mut(kind) {
            names.insert(name.clone());
        }
        let e = self.objects.entry((kind, name)).or_default();
        let new_version = e.resource_version != o.metadata.resource_version;
        if new_version {
            e.resource_version.clone_from(&o.metadata.resource_version);
            *self.changes.entry(kind).or_default() += 1;
        }
        e.gone_at = None;
        e.generation = o.metadata.generation;
        let ready = ready_for_generation(o);
        if ready && e.ready_generation != o.metadata.generation {
            e.ready_generation = o.metadata.generation;
            e.ready_at = Some(now);
        }
        if e.ready && !ready {
            e.lost_ready.push(now);
        }
        e.ready = ready;
        if e.complete_at.is_none() && condition_true(o, "Complete") {
            e.complete_at = Some(now);
        }
        if e.failed_at.is_none() && condition_true(o, "Failed") {
            e.failed_at = Some(now);
        }
        // Sizes only for FargateTask (whose status grows with its running tasks): serializing every
        // version of every kind would cost the harness CPU the controller's phases share.
        if kind == "FargateTask"
            && let Some(status) = o.data.get("status")
        {
            let bytes = serde_json::to_vec(o).map_or(0, |v| v.len());
            e.max_bytes = e.max_bytes.max(bytes);
            if new_version {
                e.bytes_seen += bytes as u64;
            }
            let status_bytes = serde_json::to_vec(status).map_or(0, |v| v.len());
            e.max_status_bytes = e.max_status_bytes.max(status_bytes);
            let int = |f: &str| status.get(f).and_then(|v| v.as_i64()).unwrap_or(0);
            e.max_active = e.max_active.max(int("active"));
            if int("launches") > e.launches {
                e.launches = int("launches");
                e.last_launch_at = Some(now);
            }
        }
    }

    fn gone(&mut self, kind: &'static str, name: String, now: Instant) {
        let e = self.objects.entry((kind, name)).or_default();
        if e.gone_at.is_none() {
            e.gone_at = Some(now);
            *self.changes.entry(kind).or_default() += 1;
        }
        e.ready = false;
    }
}

impl Tracker {
    /// Starts one watch per kind and waits until each listed the namespace once.
    pub async fn start(
        client: &Client,
        namespace: &str,
        kinds: &[(&'static str, ApiResource)],
    ) -> Result<Self> {
        let state = Arc::new(Mutex::new(State::default()));
        let mut tasks = Vec::new();
        for (kind, ar) in kinds {
            let kind: &'static str = kind;
            let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, ar);
            let state = state.clone();
            tasks.push(tokio::spawn(async move {
                let mut stream = watcher(api, watcher::Config::default()).default_backoff().boxed();
                while let Some(event) = stream.next().await {
                    let now = Instant::now();
                    let mut s = State::lock(&state);
                    match event {
                        Ok(watcher::Event::Apply(o)) => s.seen(kind, &o, now),
                        Ok(watcher::Event::InitApply(o)) => s.seen(kind, &o, now),
                        Ok(watcher::Event::Delete(o)) => s.gone(kind, o.name_any(), now),
                        Ok(watcher::Event::Init) => {
                            s.relisting.insert(kind, HashSet::new());
                        }
                        Ok(watcher::Event::InitDone) => {
                            // A relist after a broken watch: what it no longer lists is gone.
                            let listed = s.relisting.remove(kind).unwrap_or_default();
                            let missing: Vec<String> = s
                                .objects
                                .iter()
                                .filter(|((k, n), o)| {
                                    *k == kind && o.gone_at.is_none() && !listed.contains(n)
                                })
                                .map(|((_, n), _)| n.clone())
                                .collect();
                            for name in missing {
                                s.gone(kind, name, now);
                            }
                            s.synced.insert(kind);
                        }
                        Err(e) => {
                            s.errors += 1;
                            eprintln!("bench: watch of {kind}: {e}");
                        }
                    }
                }
            }));
        }
        tasks.push(tokio::spawn(watch_events(
            Api::namespaced(client.clone(), namespace),
            state.clone(),
        )));
        let tracker = Tracker {
            state,
            tasks: Arc::new(tasks),
        };
        let start = Instant::now();
        while State::lock(&tracker.state).synced.len() < kinds.len() {
            if start.elapsed() > Duration::from_secs(60) {
                bail!("the watches did not list the namespace within 60 s");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(tracker)
    }

    /// The controller's Event writes in the namespace since the tracker started.
    pub fn event_writes(&self) -> f64 {
        State::lock(&self.state).event_writes as f64
    }

    pub fn applied(&self, key: &Key, at: Instant) {
        let mut s = State::lock(&self.state);
        let e = s.objects.entry(key.clone()).or_default();
        e.applied = Some(at);
    }

    pub fn delete_sent(&self, key: &Key, at: Instant) {
        let mut s = State::lock(&self.state);
        s.objects.entry(key.clone()).or_default().delete_sent = Some(at);
    }

    pub fn get(&self, key: &Key) -> Obj {
        State::lock(&self.state)
            .objects
            .get(key)
            .cloned()
            .unwrap_or_default()
    }

    pub fn objects(&self, keys: &[Key]) -> Vec<(Key, Obj)> {
        let s = State::lock(&self.state);
        keys.iter()
            .map(|k| (k.clone(), s.objects.get(k).cloned().unwrap_or_default()))
            .collect()
    }

    /// Versions seen so far, per kind.
    pub fn changes(&self) -> BTreeMap<String, u64> {
        State::lock(&self.state)
            .changes
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect()
    }

    /// Times any of `keys` lost Ready within `[from, to]`.
    pub fn lost_ready_between(&self, keys: &[Key], from: Instant, to: Instant) -> Vec<(Key, Instant)> {
        let s = State::lock(&self.state);
        keys.iter()
            .filter_map(|k| s.objects.get(k).map(|o| (k, o)))
            .flat_map(|(k, o)| {
                o.lost_ready
                    .iter()
                    .filter(|t| **t >= from && **t <= to)
                    .map(|t| (k.clone(), *t))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Waits until `done` holds for every key; on timeout, returns the keys it does not hold for.
    pub async fn wait_all(
        &self,
        keys: &[Key],
        timeout: Duration,
        done: impl Fn(&Obj) -> bool,
    ) -> std::result::Result<(), Vec<Key>> {
        let start = Instant::now();
        loop {
            let missing: Vec<Key> = {
                let s = State::lock(&self.state);
                keys.iter()
                    .filter(|k| !s.objects.get(*k).is_some_and(&done))
                    .cloned()
                    .collect()
            };
            if missing.is_empty() {
                return Ok(());
            }
            if start.elapsed() > timeout {
                return Err(missing);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn wait_ready(&self, keys: &[Key], timeout: Duration) -> std::result::Result<(), Vec<Key>> {
        self.wait_all(keys, timeout, |o| o.ready).await
    }

    pub async fn wait_gone(&self, keys: &[Key], timeout: Duration) -> std::result::Result<(), Vec<Key>> {
        self.wait_all(keys, timeout, |o| o.gone_at.is_some()).await
    }

    /// Waits until every key has finished its run: `Complete=True` or `Failed=True`.
    pub async fn wait_finished(&self, keys: &[Key], timeout: Duration) -> std::result::Result<(), Vec<Key>> {
        self.wait_all(keys, timeout, |o| {
            o.complete_at.is_some() || o.failed_at.is_some()
        })
        .await
    }
}

/// Counts the controller's Event writes as a watch sees them: each new Event is one write and each
/// repeat its series counts another (an Event's `series.count` grows with its repeats). A list of
/// Events instead would lose those the API server expired (its `--event-ttl`, 1 h) in between.
async fn watch_events(api: Api<k8s_openapi::api::events::v1::Event>, state: Arc<Mutex<State>>) {
    let mut stream = watcher(api, watcher::Config::default()).default_backoff().boxed();
    while let Some(event) = stream.next().await {
        let e = match event {
            Ok(watcher::Event::Apply(e) | watcher::Event::InitApply(e)) => e,
            Ok(_) => continue,
            Err(err) => {
                State::lock(&state).errors += 1;
                eprintln!("bench: watch of Events: {err}");
                continue;
            }
        };
        if e.reporting_controller.as_deref() != Some("ecs-controller") {
            continue;
        }
        let count = e
            .series
            .as_ref()
            .map_or(1, |s| u64::try_from(s.count.max(1)).unwrap_or(1));
        let mut s = State::lock(&state);
        let before = s.events.insert(e.uid().unwrap_or_default(), count).unwrap_or(0);
        s.event_writes += count.saturating_sub(before);
    }
}
