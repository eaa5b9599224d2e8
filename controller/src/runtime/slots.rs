//! The reconcile slots of one kind, in two lanes. A periodic resync schedules every object of the kind
//! at once; if a user's change then queued behind them (as it would in kube-runtime's own scheduler,
//! first come first served), a resync of thousands of objects at AWS's rate limits would delay it by
//! minutes. Here a reconcile waits for one of `--concurrency` slots in the lane of what started it: the
//! reconciles a resync scheduled ([`Lane::Routine`]) wait behind everything else ([`Lane::Change`]:
//! watch events, retries, requeues), and an object that changes while its resync reconcile waits moves
//! to the change lane. The lane also goes with the reconcile's AWS calls (see `aws::gateway`).

use crate::aws::Lane;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::Notify;
use tokio::time::Instant;

/// The slots of one kind.
#[derive(Debug)]
pub(crate) struct Slots {
    limit: usize,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    running: usize,
    /// Waiting reconciles by lane, in arrival order: id, object key, wake-up.
    waiting: [VecDeque<(u64, String, Arc<Notify>)>; 2],
    /// Objects a resync scheduled whose reconcile has not started yet, each with the first waiter id
    /// after that resync (a waiter queued before it belongs to an earlier trigger).
    resync: HashMap<String, u64>,
    /// When the last resync began.
    resync_began: Option<Instant>,
    next_id: u64,
}

impl State {
    fn first(&self) -> Option<&(u64, String, Arc<Notify>)> {
        self.waiting.iter().find_map(VecDeque::front)
    }

    /// Removes waiter `id`; the lane it was in.
    fn remove(&mut self, id: u64) -> Option<Lane> {
        for (lane, queue) in [Lane::Change, Lane::Routine].into_iter().zip(&mut self.waiting) {
            if let Some(i) = queue.iter().position(|(w, _, _)| *w == id) {
                queue.remove(i);
                return Some(lane);
            }
        }
        None
    }

    /// Lets the first waiter look again, when a slot is free for it.
    fn wake_first(&self, limit: usize) {
        if self.running < limit
            && let Some((_, _, notify)) = self.first()
        {
            notify.notify_one();
        }
    }
}

/// A slot taken: released when dropped.
#[derive(Debug)]
pub(crate) struct Slot {
    slots: Arc<Slots>,
    /// The lane the reconcile was in when it started.
    pub(crate) lane: Lane,
    /// For a reconcile in the routine lane, when the (last) resync began.
    pub(crate) resync_began: Option<Instant>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut s = self.slots.lock();
        s.running = s.running.saturating_sub(1);
        s.wake_first(self.slots.limit);
    }
}

impl Slots {
    /// `limit` reconciles at once (0: no limit, but still in lane order).
    pub(crate) fn new(limit: u16) -> Arc<Self> {
        Arc::new(Self {
            limit: if limit == 0 {
                usize::MAX
            } else {
                usize::from(limit)
            },
            state: Mutex::default(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A resync is about to schedule these objects (every object of the kind; a reconcile the last
    /// resync scheduled and that is still waiting is scheduled again).
    pub(crate) fn resync(&self, keys: impl IntoIterator<Item = String>) {
        let mut s = self.lock();
        let mark = s.next_id;
        s.resync = keys.into_iter().map(|k| (k, mark)).collect();
        s.resync_began = Some(Instant::now());
    }

    /// The object changed (a watch event that starts a reconcile): it is not a resync's any more, and
    /// if its reconcile waits in the routine lane, it moves to the change lane.
    pub(crate) fn changed(&self, key: &str) {
        let mut s = self.lock();
        if s.resync.remove(key).is_none() {
            return;
        }
        let [change, routine] = &mut s.waiting;
        if let Some(i) = routine.iter().position(|(_, k, _)| k == key)
            && let Some(waiter) = routine.remove(i)
        {
            change.push_back(waiter);
        }
        // The moved waiter may be first now.
        s.wake_first(self.limit);
    }

    /// Waits for a slot for the reconcile of `key`.
    pub(crate) async fn take(self: &Arc<Self>, key: String) -> Slot {
        let notify = Arc::new(Notify::new());
        let id = {
            let mut s = self.lock();
            let id = s.next_id;
            s.next_id += 1;
            let lane = if s.resync.contains_key(&key) {
                Lane::Routine
            } else {
                Lane::Change
            };
            s.waiting[lane as usize].push_back((id, key, notify.clone()));
            id
        };
        let mut waiting = Waiting {
            slots: self,
            id,
            done: false,
        };
        loop {
            {
                let mut s = self.lock();
                let first = s.first().map(|(i, _, _)| *i) == Some(id);
                if first && s.running < self.limit {
                    let key = s.first().map(|(_, k, _)| k.clone()).unwrap_or_default();
                    let lane = s.remove(id).unwrap_or(Lane::Change);
                    // The resync this reconcile serves is done with; one marked after it was queued
                    // (a resync longer than its period) still holds a trigger kube-runtime runs next.
                    if s.resync.get(&key).is_some_and(|mark| *mark <= id) {
                        s.resync.remove(&key);
                    }
                    s.running += 1;
                    waiting.done = true;
                    s.wake_first(self.limit);
                    return Slot {
                        slots: self.clone(),
                        lane,
                        resync_began: s.resync_began.filter(|_| lane == Lane::Routine),
                    };
                }
            }
            notify.notified().await;
        }
    }
}

/// A reconcile waiting for a slot; leaves the queue when dropped before its turn.
struct Waiting<'a> {
    slots: &'a Slots,
    id: u64,
    done: bool,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let mut s = self.slots.lock();
        s.remove(self.id);
        s.wake_first(self.slots.limit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Starts a reconcile of `key` that holds its slot for `hold`; returns the order it started in
    /// and its lane through `started`.
    fn reconcile(
        slots: &Arc<Slots>,
        key: &str,
        hold: Duration,
        started: &Arc<Mutex<Vec<(String, Lane)>>>,
    ) -> tokio::task::JoinHandle<()> {
        let (slots, key, started) = (slots.clone(), key.to_string(), started.clone());
        tokio::spawn(async move {
            let slot = slots.take(key.clone()).await;
            started
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push((key, slot.lane));
            tokio::time::sleep(hold).await;
        })
    }

    fn order(started: &Arc<Mutex<Vec<(String, Lane)>>>) -> Vec<(String, Lane)> {
        started.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    #[tokio::test(start_paused = true)]
    async fn changes_start_before_the_resync_waiting_already() {
        let slots = Slots::new(2);
        let started = Arc::default();
        let resynced: Vec<String> = (0..6).map(|i| format!("ns/r{i}")).collect();
        slots.resync(resynced.iter().cloned());
        let mut handles: Vec<_> = resynced
            .iter()
            .map(|k| reconcile(&slots, k, Duration::from_secs(1), &started))
            .collect();
        tokio::time::sleep(Duration::from_millis(10)).await;
        // Two resync reconciles run; a new object's reconcile and a change to r5 (waiting in the
        // routine lane) arrive.
        handles.push(reconcile(&slots, "ns/new", Duration::from_secs(1), &started));
        tokio::time::sleep(Duration::from_millis(10)).await;
        slots.changed("ns/r5");
        for h in handles {
            h.await.expect("reconcile");
        }
        let keys: Vec<String> = order(&started).into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            ["ns/r0", "ns/r1", "ns/new", "ns/r5", "ns/r2", "ns/r3", "ns/r4"]
        );
        let lanes = order(&started);
        assert_eq!(lanes[0].1, Lane::Routine);
        assert_eq!(lanes[2].1, Lane::Change);
        assert_eq!(lanes[3].1, Lane::Change, "r5 changed while it waited");
        assert_eq!(lanes[4].1, Lane::Routine);
    }

    #[tokio::test(start_paused = true)]
    async fn after_its_resync_reconcile_an_object_is_back_in_the_change_lane() {
        let slots = Slots::new(1);
        let started = Arc::default();
        slots.resync(["ns/a".to_string()]);
        reconcile(&slots, "ns/a", Duration::ZERO, &started)
            .await
            .expect("reconcile");
        reconcile(&slots, "ns/a", Duration::ZERO, &started)
            .await
            .expect("reconcile");
        let lanes: Vec<Lane> = order(&started).into_iter().map(|(_, l)| l).collect();
        assert_eq!(lanes, [Lane::Routine, Lane::Change]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_resync_reconcile_knows_when_its_resync_began_and_a_change_does_not() {
        let slots = Slots::new(1);
        tokio::time::advance(Duration::from_secs(5)).await;
        let began = Instant::now();
        slots.resync(["ns/a".to_string()]);
        tokio::time::advance(Duration::from_secs(1)).await;
        let resync = slots.take("ns/a".into()).await;
        assert_eq!((resync.lane, resync.resync_began), (Lane::Routine, Some(began)));
        drop(resync);
        let change = slots.take("ns/a".into()).await;
        assert_eq!((change.lane, change.resync_began), (Lane::Change, None));
    }

    #[tokio::test(start_paused = true)]
    async fn a_resync_longer_than_its_period_stays_in_the_routine_lane() {
        let slots = Slots::new(1);
        let started = Arc::default();
        slots.resync(["ns/a".to_string(), "ns/b".to_string()]);
        let first = reconcile(&slots, "ns/a", Duration::from_secs(1), &started);
        tokio::time::sleep(Duration::from_millis(1)).await;
        let waiting = reconcile(&slots, "ns/b", Duration::ZERO, &started);
        tokio::time::sleep(Duration::from_millis(1)).await;
        // The next tick while b still waits: kube-runtime holds b's second trigger until b's reconcile
        // ends, then runs it; that one is the second resync's, in the routine lane too.
        slots.resync(["ns/a".to_string(), "ns/b".to_string()]);
        first.await.expect("reconcile");
        waiting.await.expect("reconcile");
        reconcile(&slots, "ns/b", Duration::ZERO, &started)
            .await
            .expect("reconcile");
        let lanes: Vec<(String, Lane)> = order(&started);
        assert_eq!(
            lanes,
            [
                ("ns/a".to_string(), Lane::Routine),
                ("ns/b".to_string(), Lane::Routine),
                ("ns/b".to_string(), Lane::Routine)
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn at_most_limit_run_and_a_waiter_given_up_frees_its_place() {
        let slots = Slots::new(1);
        let started = Arc::default();
        let first = reconcile(&slots, "ns/a", Duration::from_secs(1), &started);
        tokio::time::sleep(Duration::from_millis(1)).await;
        let given_up = tokio::time::timeout(Duration::from_millis(100), slots.take("ns/b".into())).await;
        assert!(given_up.is_err(), "the one slot is busy for a second");
        let third = reconcile(&slots, "ns/c", Duration::ZERO, &started);
        first.await.expect("reconcile");
        third.await.expect("reconcile");
        let keys: Vec<String> = order(&started).into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["ns/a", "ns/c"]);
        assert_eq!(slots.lock().running, 0);
        assert!(slots.lock().waiting.iter().all(VecDeque::is_empty));
    }
}
