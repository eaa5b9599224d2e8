//! Batching of Describe calls: reconciles that ask for one cluster or service each, at about the same
//! time (a resync of every object of a kind), are served by one DescribeClusters (up to 100 names) or
//! DescribeServices (up to 10 names per cluster) call, so a resync of N services costs about N/10 calls.

use super::{AwsError, Lane};
use futures::future::BoxFuture;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// How long the first request of a batch waits for companions.
const GATHER: Duration = Duration::from_millis(50);

type Reply<V> = oneshot::Sender<Result<Option<V>, AwsError>>;
/// Fetches the items named `keys` of one group; returns them with their keys (missing ones left out).
pub(crate) type Fetch<G, K, V> =
    Arc<dyn Fn(G, Vec<K>) -> BoxFuture<'static, Result<Vec<(K, V)>, AwsError>> + Send + Sync>;

/// A queue of single-item lookups answered in batches of at most `max` keys per group.
pub(crate) struct Batcher<G, K, V> {
    tx: mpsc::UnboundedSender<(G, K, Reply<V>, Lane)>,
}

impl<G, K, V> Clone for Batcher<G, K, V> {
    fn clone(&self) -> Self {
        Self { tx: self.tx.clone() }
    }
}

impl<G, K, V> std::fmt::Debug for Batcher<G, K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Batcher")
    }
}

impl<G, K, V> Batcher<G, K, V>
where
    G: Clone + Eq + Hash + Send + 'static,
    K: Clone + Eq + Hash + Send + 'static,
    V: Clone + Send + 'static,
{
    /// Starts the batching task (on the current Tokio runtime).
    pub(crate) fn spawn(max: usize, fetch: Fetch<G, K, V>) -> Self {
        let (tx, mut rx) = mpsc::unbounded_channel::<(G, K, Reply<V>, Lane)>();
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut pending = vec![first];
                let deadline = tokio::time::sleep(GATHER);
                tokio::pin!(deadline);
                loop {
                    tokio::select! {
                        _ = &mut deadline => break,
                        next = rx.recv() => match next {
                            Some(r) => pending.push(r),
                            None => break,
                        },
                    }
                }
                let mut groups: HashMap<G, Vec<(K, Reply<V>, Lane)>> = HashMap::new();
                for (g, k, reply, lane) in pending {
                    groups.entry(g).or_default().push((k, reply, lane));
                }
                for (group, requests) in groups {
                    let mut requests = requests;
                    while !requests.is_empty() {
                        let rest = requests.split_off(requests.len().min(max));
                        let chunk = std::mem::replace(&mut requests, rest);
                        let mut keys: Vec<K> = Vec::with_capacity(chunk.len());
                        for (k, _, _) in &chunk {
                            if !keys.contains(k) {
                                keys.push(k.clone());
                            }
                        }
                        // The call waits in the most urgent lane of the lookups it answers.
                        let lane = chunk.iter().map(|(_, _, l)| *l).min().unwrap_or(Lane::Change);
                        let fetch = fetch.clone();
                        let group = group.clone();
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
                }
            }
        });
        Self { tx }
    }

    /// Looks up one item; `None` when it does not exist.
    pub(crate) async fn get(&self, group: G, key: K) -> Result<Option<V>, AwsError> {
        let (reply, answer) = oneshot::channel();
        let closed = || AwsError {
            service: "controller",
            operation: "batch",
            kind: super::ErrorKind::Retryable,
            code: None,
            message: "the batching task stopped".into(),
            request_id: None,
        };
        self.tx
            .send((group, key, reply, super::lane()))
            .map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }
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
}
