//! Batching of Describe calls: reconciles that ask for one cluster or service each, at about the same
//! time (a resync of every object of a kind), are served by one DescribeClusters (up to 100 names) or
//! DescribeServices (up to 10 names per cluster) call, so a resync of N services costs about N/10 calls.
//!
//! A batch of one group is sent [`GATHER`] after its first request, or as soon as it holds `max` keys.
//! A batcher made with [`Batcher::holding`] also waits, up to its hold, while requests of the group are
//! announced ([`Batcher::expect`]) and not yet made: deletions that trickle in at a paced call's rate
//! (one DeregisterTaskDefinition per token) still share their DeleteTaskDefinitions calls.

use super::{AwsError, Lane};
use futures::future::BoxFuture;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::time::Instant;

/// How long the first request of a batch waits for companions.
const GATHER: Duration = Duration::from_millis(50);

type Reply<V> = oneshot::Sender<Result<Option<V>, AwsError>>;
/// Fetches the items named `keys` of one group; returns them with their keys (missing ones left out).
pub(crate) type Fetch<G, K, V> =
    Arc<dyn Fn(G, Vec<K>) -> BoxFuture<'static, Result<Vec<(K, V)>, AwsError>> + Send + Sync>;

/// Requests announced per group, and the batching task's wake-up when one is made or given up.
struct Announced<G> {
    count: Mutex<HashMap<G, usize>>,
    changed: Notify,
}

impl<G: Eq + Hash> Announced<G> {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<G, usize>> {
        self.count.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn any(&self, group: &G) -> bool {
        self.lock().get(group).is_some_and(|n| *n > 0)
    }
}

/// A request of `group` announced to its batcher ([`Batcher::expect`]): until it is made
/// ([`Batcher::get_expected`]) or dropped, the group's batch waits for it (up to the batcher's hold).
pub(crate) struct Expected<G: Eq + Hash> {
    group: G,
    announced: Arc<Announced<G>>,
}

impl<G: Eq + Hash> Drop for Expected<G> {
    fn drop(&mut self) {
        let mut count = self.announced.lock();
        if let Some(n) = count.get_mut(&self.group) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                count.remove(&self.group);
            }
        }
        drop(count);
        self.announced.changed.notify_one();
    }
}

/// The requests of one group waiting for their call.
struct Waiting<K, V> {
    requests: Vec<(K, Reply<V>, Lane)>,
    since: Instant,
}

/// A queue of single-item lookups answered in batches of at most `max` keys per group.
pub(crate) struct Batcher<G: Eq + Hash, K, V> {
    tx: mpsc::UnboundedSender<(G, K, Reply<V>, Lane)>,
    announced: Arc<Announced<G>>,
}

impl<G: Eq + Hash, K, V> Clone for Batcher<G, K, V> {
    fn clone(&self) -> Self {
        Self {
            tx: self.tx.clone(),
            announced: self.announced.clone(),
        }
    }
}

impl<G: Eq + Hash, K, V> std::fmt::Debug for Batcher<G, K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Batcher")
    }
}

impl<G, K, V> Batcher<G, K, V>
where
    G: Clone + Eq + Hash + Send + Sync + 'static,
    K: Clone + Eq + Hash + Send + 'static,
    V: Clone + Send + 'static,
{
    /// Starts the batching task (on the current Tokio runtime).
    pub(crate) fn spawn(max: usize, fetch: Fetch<G, K, V>) -> Self {
        Self::holding(max, Duration::ZERO, fetch)
    }

    /// Starts a batching task whose batches wait up to `hold` (from their first request) for the
    /// requests announced with [`expect`](Self::expect).
    pub(crate) fn holding(max: usize, hold: Duration, fetch: Fetch<G, K, V>) -> Self {
        let (tx, mut rx) = mpsc::unbounded_channel::<(G, K, Reply<V>, Lane)>();
        let announced = Arc::new(Announced {
            count: Mutex::new(HashMap::new()),
            changed: Notify::new(),
        });
        let seen = announced.clone();
        tokio::spawn(async move {
            let mut waiting: HashMap<G, Waiting<K, V>> = HashMap::new();
            let mut open = true;
            let take = |waiting: &mut HashMap<G, Waiting<K, V>>, (group, key, reply, lane)| {
                waiting
                    .entry(group)
                    .or_insert_with(|| Waiting {
                        requests: Vec::new(),
                        since: Instant::now(),
                    })
                    .requests
                    .push((key, reply, lane));
            };
            while open || !waiting.is_empty() {
                // The groups nothing is announced to, read before the queue is drained: a request is
                // queued before its announcement ends, so every request announced to them is drained.
                let settled: Vec<G> = waiting.keys().filter(|g| !seen.any(*g)).cloned().collect();
                loop {
                    match rx.try_recv() {
                        Ok(request) => take(&mut waiting, request),
                        Err(mpsc::error::TryRecvError::Empty) => break,
                        Err(mpsc::error::TryRecvError::Disconnected) => {
                            open = false;
                            break;
                        }
                    }
                }
                let now = Instant::now();
                let mut next: Option<Instant> = None;
                waiting.retain(|group, w| {
                    while w.requests.len() >= max.max(1) {
                        let rest = w.requests.split_off(max.max(1));
                        let full = std::mem::replace(&mut w.requests, rest);
                        send(&fetch, group.clone(), full);
                    }
                    if w.requests.is_empty() {
                        return false;
                    }
                    let gathered = w.since + GATHER;
                    let held = w.since + hold.max(GATHER);
                    let due = !open || now >= held || (now >= gathered && settled.contains(group));
                    if due {
                        send(&fetch, group.clone(), std::mem::take(&mut w.requests));
                        return false;
                    }
                    let at = if now < gathered { gathered } else { held };
                    next = Some(next.map_or(at, |n| n.min(at)));
                    true
                });
                if !open {
                    continue;
                }
                let sleep = tokio::time::sleep_until(next.unwrap_or_else(|| now + Duration::from_secs(3600)));
                tokio::select! {
                    request = rx.recv() => match request {
                        Some(request) => take(&mut waiting, request),
                        None => open = false,
                    },
                    () = seen.changed.notified() => {}
                    () = sleep => {}
                }
            }
        });
        Self { tx, announced }
    }

    /// Announces a request of `group`: the group's batch waits for it while the guard lives (a
    /// batcher made with [`spawn`](Self::spawn) does not wait).
    pub(crate) fn expect(&self, group: G) -> Expected<G> {
        *self.announced.lock().entry(group.clone()).or_default() += 1;
        Expected {
            group,
            announced: self.announced.clone(),
        }
    }

    /// Looks up one item; `None` when it does not exist.
    pub(crate) async fn get(&self, group: G, key: K) -> Result<Option<V>, AwsError> {
        self.request(group, key).await
    }

    /// Queues the lookup of one item now (so an [`Expected`] can be dropped right after), answered by
    /// the future returned.
    pub(crate) fn request(
        &self,
        group: G,
        key: K,
    ) -> impl Future<Output = Result<Option<V>, AwsError>> + use<G, K, V> {
        let (reply, answer) = oneshot::channel();
        let sent = self.tx.send((group, key, reply, super::lane())).is_ok();
        async move {
            let closed = || AwsError {
                service: "controller",
                operation: "batch",
                kind: super::ErrorKind::Retryable,
                code: None,
                message: "the batching task stopped".into(),
                request_id: None,
            };
            if !sent {
                return Err(closed());
            }
            answer.await.map_err(|_| closed())?
        }
    }
}

/// Calls `fetch` for one batch (its distinct keys), in the most urgent lane of the lookups it answers,
/// and answers each.
fn send<G, K, V>(fetch: &Fetch<G, K, V>, group: G, chunk: Vec<(K, Reply<V>, Lane)>)
where
    G: Send + 'static,
    K: Clone + Eq + Hash + Send + 'static,
    V: Clone + Send + 'static,
{
    let mut keys: Vec<K> = Vec::with_capacity(chunk.len());
    for (k, _, _) in &chunk {
        if !keys.contains(k) {
            keys.push(k.clone());
        }
    }
    let lane = chunk.iter().map(|(_, _, l)| *l).min().unwrap_or(Lane::Change);
    let fetch = fetch.clone();
    tokio::spawn(super::in_lane(lane, async move {
        match fetch(group, keys).await {
            Ok(found) => {
                let found: HashMap<K, V> = found.into_iter().collect();
                for (k, reply, _) in chunk {
                    let _ = reply.send(Ok(found.get(&k).cloned()));
                }
            }
            Err(e) => {
                for (_, reply, _) in chunk {
                    let _ = reply.send(Err(e.clone()));
                }
            }
        }
    }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[tokio::test]
    async fn concurrent_lookups_share_calls_of_at_most_max_keys() {
        type Calls = Arc<Mutex<Vec<(String, Vec<u32>)>>>;
        let calls: Calls = Arc::default();
        let seen = calls.clone();
        let fetch: Fetch<String, u32, u32> = Arc::new(move |g: String, keys: Vec<u32>| {
            seen.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push((g, keys.clone()));
            Box::pin(async move {
                Ok(keys
                    .into_iter()
                    .filter(|k| k % 7 != 0)
                    .map(|k| (k, k * 10))
                    .collect())
            })
        });
        let b = Batcher::spawn(10, fetch);
        let lookups: Vec<_> = (1..=25u32)
            .map(|k| {
                let b = b.clone();
                async move { (k, b.get("c1".into(), k).await) }
            })
            .collect();
        let results = futures::future::join_all(lookups).await;
        for (k, r) in results {
            let v = r.expect("no error");
            assert_eq!(v, (k % 7 != 0).then_some(k * 10), "key {k}");
        }
        let calls = calls.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        assert_eq!(calls.len(), 3, "25 lookups in batches of 10: {calls:?}");
        assert!(calls.iter().all(|(_, keys)| keys.len() <= 10));
    }

    #[tokio::test]
    async fn a_batch_call_waits_in_the_most_urgent_lane_of_its_lookups() {
        type Lanes = Arc<Mutex<Vec<(String, Lane)>>>;
        let lanes: Lanes = Arc::default();
        let seen = lanes.clone();
        let fetch: Fetch<String, u32, u32> = Arc::new(move |g: String, keys: Vec<u32>| {
            seen.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push((g, crate::aws::lane()));
            Box::pin(async move { Ok(keys.into_iter().map(|k| (k, k)).collect()) })
        });
        let b = Batcher::spawn(10, fetch);
        let lookup = |group: &str, key: u32, lane: Lane| {
            let (b, group) = (b.clone(), group.to_string());
            crate::aws::in_lane(lane, async move { b.get(group, key).await })
        };
        let results = futures::future::join_all([
            lookup("resync only", 1, Lane::Routine),
            lookup("resync only", 2, Lane::Routine),
            lookup("with a change", 3, Lane::Routine),
            lookup("with a change", 4, Lane::Change),
        ])
        .await;
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        let mut lanes = lanes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        lanes.sort();
        assert_eq!(
            lanes,
            [
                ("resync only".to_string(), Lane::Routine),
                ("with a change".to_string(), Lane::Change)
            ]
        );
    }

    type Calls = Arc<Mutex<Vec<(tokio::time::Instant, Vec<u32>)>>>;

    /// A batcher of `max` keys holding up to 30 s, recording when each call was made with which keys.
    fn recording(max: usize) -> (Batcher<&'static str, u32, u32>, Calls) {
        let calls: Calls = Arc::default();
        let seen = calls.clone();
        let fetch: Fetch<&'static str, u32, u32> = Arc::new(move |_, keys: Vec<u32>| {
            seen.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push((tokio::time::Instant::now(), keys.clone()));
            Box::pin(async move { Ok(keys.into_iter().map(|k| (k, k)).collect()) })
        });
        (Batcher::holding(max, Duration::from_secs(30), fetch), calls)
    }

    fn keys_of(calls: &Calls) -> Vec<Vec<u32>> {
        let calls = calls.lock().unwrap_or_else(PoisonError::into_inner);
        calls.iter().map(|(_, k)| k.clone()).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn a_held_batch_waits_for_the_requests_announced_to_it_and_goes_when_the_last_is_made() {
        let (b, calls) = recording(10);
        let start = tokio::time::Instant::now();
        let announced: Vec<_> = (0..3).map(|_| b.expect("place")).collect();
        let mut answers = Vec::new();
        for (i, expected) in (1..=3u32).zip(announced) {
            answers.push((i, tokio::spawn(b.request("place", i))));
            drop(expected);
            if i < 3 {
                // A paced deregistration (ECS: 1 a second) between one deletion and the next.
                tokio::time::sleep(Duration::from_secs(5)).await;
                assert!(
                    keys_of(&calls).is_empty(),
                    "sent before every announced deletion was made"
                );
            }
        }
        for (i, answer) in answers {
            let answer = answer.await.map_err(|e| e.to_string());
            assert!(matches!(answer, Ok(Ok(Some(k))) if k == i), "{i}: {answer:?}");
        }
        let calls = calls.lock().unwrap_or_else(PoisonError::into_inner).clone();
        assert_eq!(
            calls.iter().map(|(_, k)| k.clone()).collect::<Vec<_>>(),
            [vec![1, 2, 3]]
        );
        let sent = calls[0].0 - start;
        assert!(
            sent >= Duration::from_secs(10) && sent < Duration::from_secs(11),
            "{sent:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_held_batch_goes_when_full_or_at_its_hold_and_waits_for_nothing_unannounced() {
        let (b, calls) = recording(2);
        let start = tokio::time::Instant::now();
        let never_made = b.expect("place");
        // Full: sent at once although a request is still announced.
        let full = futures::future::join(b.request("place", 1), b.request("place", 2));
        let (one, two) = full.await;
        assert!(matches!((one, two), (Ok(Some(1)), Ok(Some(2)))));
        // With room left: held for the announced request, up to the hold.
        let held = b.request("place", 3).await;
        assert!(matches!(held, Ok(Some(3))), "{held:?}");
        drop(never_made);
        // Nothing announced: sent after the gathering pause only.
        let before = tokio::time::Instant::now();
        let alone = b.request("place", 4).await;
        assert!(matches!(alone, Ok(Some(4))), "{alone:?}");
        let calls = calls.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let at: Vec<Duration> = calls.iter().map(|(t, _)| *t - start).collect();
        assert_eq!(
            calls.iter().map(|(_, k)| k.clone()).collect::<Vec<_>>(),
            [vec![1, 2], vec![3], vec![4]]
        );
        assert!(at[0] < GATHER, "a full batch waited: {at:?}");
        assert!(
            at[1] >= Duration::from_secs(30) && at[1] < Duration::from_secs(31),
            "{at:?}"
        );
        assert!(calls[2].0 - before <= GATHER, "{at:?}");
    }
}
