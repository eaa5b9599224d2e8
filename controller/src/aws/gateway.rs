//! The one way out to AWS. Every call of the controller goes through a [`Gateway`], so in one place
//! each call is paced under the rate limits ([`RateLimit`]), checked against the operations the
//! running reconcile's kind declared (see [`super::operations`]), counted in the metrics, classified
//! when it fails, and offered to the crash point of the crash-consistency tests.
//!
//! By default each AWS account and Region gets the token buckets AWS throttles it with (one per group
//! of operations, [`super::limits`]), filled at a share of AWS's rates so that other clients of the
//! account keep the rest. A bucket adapts: a throttling answer halves its rate (once per round of calls
//! in flight), and the rate climbs back by a tenth of the full rate per second while AWS stops
//! throttling. A bucket serves the calls of reconciles that a change started ([`Lane::Change`]) before
//! those of periodic resyncs ([`Lane::Routine`]), so a user's change does not queue behind a resync
//! of thousands of objects.

use super::error::{AwsError, ErrorKind, from_sdk};
use super::limits::{self, Limit};
use super::operations::{self, Operation};
use crate::metrics::{AwsOutcome, METRICS};
use aws_sdk_ecs::error::{ProvideErrorMetadata, SdkError};
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// How AWS calls are paced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RateLimit {
    /// Not at all (`--aws-max-rps 0`).
    Off,
    /// One bucket for every call of every account and Region: at most this many calls start per second,
    /// evenly spaced (`--aws-max-rps N`).
    Total(u32),
    /// AWS's buckets per account and Region ([`super::limits`]), at this percentage of AWS's burst and
    /// refill rates (`--aws-rate-share`, the default).
    Documented {
        /// 1 to 100.
        percent: u8,
    },
}

/// Which of a bucket's queues a call waits in: calls of reconciles a change started go first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Lane {
    /// A watch event: the object or something it reads changed, or an error or wait is retried.
    Change = 0,
    /// A periodic resync of every object of a kind.
    Routine = 1,
}

tokio::task_local! {
    static LANE: Lane;
}

/// The lane of the running reconcile; [`Lane::Change`] outside one.
pub(crate) fn lane() -> Lane {
    LANE.try_with(|l| *l).unwrap_or(Lane::Change)
}

/// Runs `f` with its AWS calls in `lane`.
///
/// Not an `async fn`: one would hold `f` twice in its state (the argument, and the scope awaited that
/// owns it), and these wrap whole reconciles (a FargateService's went 40 -> 10 KB with the three).
pub(crate) fn in_lane<F: Future>(lane: Lane, f: F) -> impl Future<Output = F::Output> {
    LANE.scope(lane, f)
}

tokio::task_local! {
    static RESYNC_BEGAN: Option<Instant>;
}

/// When the resync that started the running reconcile began; `None` for a reconcile a change started
/// (and outside one). Its reads may be answered from what was read for the same resync (see
/// `super::listings`).
pub(crate) fn resync_began() -> Option<Instant> {
    RESYNC_BEGAN.try_with(|r| *r).ok().flatten()
}

/// Runs `f` as part of the resync that began at `began` (`None`: not a resync's). Not an `async fn`,
/// as [`in_lane`].
pub(crate) fn in_resync<F: Future>(began: Option<Instant>, f: F) -> impl Future<Output = F::Output> {
    RESYNC_BEGAN.scope(began, f)
}

/// Where AWS calls go through; clones share the limiter (and, made [`Gateway::at`] the same place,
/// its buckets).
#[derive(Clone, Debug)]
pub(crate) struct Gateway {
    limiter: Arc<Limiter>,
    /// The account and Region whose buckets this gateway's calls take from.
    place: Arc<str>,
}

impl Gateway {
    /// A gateway that paces calls as `limit` says.
    pub(crate) fn new(limit: RateLimit) -> Self {
        Self {
            limiter: Arc::new(Limiter::new(limit)),
            place: Arc::from(""),
        }
    }

    /// The same limiter, for the calls of one AWS account and Region (`place` names them).
    pub(crate) fn at(&self, place: &str) -> Self {
        Self {
            limiter: self.limiter.clone(),
            place: Arc::from(place),
        }
    }

    /// Runs one AWS call (`request`, typically an SDK `send()` not polled yet) for `op`. A call the
    /// running reconcile's kind did not declare is logged and counted as an error of the declarations,
    /// so the tests find it.
    pub(crate) async fn call<T, E>(
        &self,
        op: Operation,
        request: impl Future<Output = Result<T, SdkError<E>>>,
    ) -> Result<T, AwsError>
    where
        T: aws_sdk_ecs::operation::RequestId,
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let (service, operation) = (op.service.name(), op.name);
        if let Some(declared) = operations::current()
            && !declared.contains(&op)
        {
            tracing::error!(
                service,
                operation,
                "AWS operation not declared by the kind being reconciled"
            );
            METRICS.undeclared_aws_call(service, operation);
        }
        let buckets = self.limiter.buckets(&self.place, op);
        let lane = lane();
        for b in &buckets {
            b.acquire(lane).await;
        }
        let started = Instant::now();
        match request.await {
            Ok(v) => {
                tracing::debug!(
                    service,
                    operation,
                    request_id = v.request_id(),
                    "AWS call succeeded"
                );
                METRICS.aws_call(service, operation, AwsOutcome::success);
                crash_point(operation);
                Ok(v)
            }
            Err(e) => {
                let e = from_sdk(service, operation, e);
                let outcome = match e.kind {
                    ErrorKind::Throttled => {
                        for b in &buckets {
                            b.throttled(started);
                        }
                        AwsOutcome::throttled
                    }
                    ErrorKind::Retryable => AwsOutcome::server_error,
                    ErrorKind::NotFound | ErrorKind::Terminal | ErrorKind::HasDependents => {
                        AwsOutcome::client_error
                    }
                };
                METRICS.aws_call(service, operation, outcome);
                Err(e)
            }
        }
    }
}

/// A bucket's place (account and Region) and name.
type BucketKey = (Arc<str>, &'static str);

/// The buckets of every account and Region, made on first use.
#[derive(Debug)]
struct Limiter {
    limit: RateLimit,
    /// With [`RateLimit::Total`]: the one bucket.
    total: Option<Arc<Bucket>>,
    /// With [`RateLimit::Documented`]: by place and bucket name.
    by_place: Mutex<HashMap<BucketKey, Arc<Bucket>>>,
}

impl Limiter {
    fn new(limit: RateLimit) -> Self {
        let total = match limit {
            RateLimit::Total(n) if n > 0 => Some(Arc::new(Bucket::new(
                "all operations",
                Arc::from(""),
                1.0,
                f64::from(n),
            ))),
            _ => None,
        };
        Self {
            limit,
            total,
            by_place: Mutex::default(),
        }
    }

    /// The buckets a call of `op` at `place` takes from (none when calls are not paced).
    fn buckets(&self, place: &Arc<str>, op: Operation) -> Vec<Arc<Bucket>> {
        match self.limit {
            RateLimit::Off | RateLimit::Total(0) => Vec::new(),
            RateLimit::Total(_) => self.total.iter().cloned().collect(),
            RateLimit::Documented { percent } => {
                let share = f64::from(percent.clamp(1, 100)) / 100.0;
                let mut map = self.by_place.lock().unwrap_or_else(PoisonError::into_inner);
                limits::of(op)
                    .iter()
                    .map(|l: &Limit| {
                        map.entry((place.clone(), l.bucket))
                            .or_insert_with(|| {
                                Arc::new(Bucket::new(
                                    l.bucket,
                                    place.clone(),
                                    (f64::from(l.burst) * share).floor().max(1.0),
                                    l.per_second * share,
                                ))
                            })
                            .clone()
                    })
                    .collect()
            }
        }
    }
}

/// Halving on throttling goes no lower than this fraction of the full rate.
const LOWEST_SHARE: f64 = 1.0 / 32.0;
/// After a cut, the rate climbs back by this fraction of the full rate per second.
const RECOVERY_PER_SECOND: f64 = 0.1;

/// A token bucket: `burst` calls may start at once, then one per `1 / rate` seconds (no timer task:
/// the tokens are counted when a call looks).
/// Waiting calls start in order, those of [`Lane::Change`] first.
#[derive(Debug)]
struct Bucket {
    name: &'static str,
    place: Arc<str>,
    burst: f64,
    /// The full rate, calls per second.
    full: f64,
    state: Mutex<BucketState>,
}

#[derive(Debug, Default)]
struct BucketState {
    /// The tokens in the bucket at the last look, and when that was (`None`: full, never used).
    filled: Option<(Instant, f64)>,
    /// The last cut: when, and the rate it set.
    cut: Option<(Instant, f64)>,
    /// The calls waiting, by lane, in arrival order.
    waiting: [VecDeque<(u64, Arc<Notify>)>; 2],
    next_id: u64,
}

impl BucketState {
    fn first(&self) -> Option<&(u64, Arc<Notify>)> {
        self.waiting.iter().find_map(VecDeque::front)
    }

    fn remove(&mut self, lane: Lane, id: u64) {
        self.waiting[lane as usize].retain(|(i, _)| *i != id);
    }
}

impl Bucket {
    fn new(name: &'static str, place: Arc<str>, burst: f64, full: f64) -> Self {
        let b = Self {
            name,
            place,
            burst,
            full,
            state: Mutex::default(),
        };
        b.publish(full);
        b
    }

    fn lock(&self) -> MutexGuard<'_, BucketState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The rate at `now`: the full rate, or what the last cut left plus the recovery since.
    fn rate(&self, s: &BucketState, now: Instant) -> f64 {
        match s.cut {
            None => self.full,
            Some((at, rate)) => {
                let climbed =
                    self.full * RECOVERY_PER_SECOND * now.saturating_duration_since(at).as_secs_f64();
                (rate + climbed).min(self.full)
            }
        }
    }

    /// Takes a token at `now` if one is there; otherwise says when the next one will be.
    fn take(&self, s: &mut BucketState, now: Instant) -> Result<(), Instant> {
        let rate = self.rate(s, now);
        // Refilled since the last look at the mean of the rates then and now (the rate climbs in a
        // straight line after a cut).
        let tokens = match s.filled {
            None => self.burst,
            Some((at, tokens)) => {
                let mean = (self.rate(s, at) + rate) / 2.0;
                (tokens + mean * now.saturating_duration_since(at).as_secs_f64()).min(self.burst)
            }
        };
        if let Some((at, _)) = s.cut {
            if rate >= self.full {
                // Recovered: the full rate from now on; the cut's time still tells which throttled
                // answers belong to the round it answered.
                s.cut = Some((at, self.full));
            }
            self.publish(rate);
        }
        // A token short by a rounding error counts as whole.
        if tokens >= 1.0 - 1e-9 {
            s.filled = Some((now, (tokens - 1.0).max(0.0)));
            Ok(())
        } else {
            s.filled = Some((now, tokens));
            Err(now + Duration::from_secs_f64((1.0 - tokens) / rate))
        }
    }

    /// Waits for a token, behind the calls waiting before it in its lane and in more urgent lanes.
    async fn acquire(&self, lane: Lane) {
        let notify = Arc::new(Notify::new());
        let id = {
            let mut s = self.lock();
            let id = s.next_id;
            s.next_id += 1;
            s.waiting[lane as usize].push_back((id, notify.clone()));
            id
        };
        let mut queued = Queued {
            bucket: self,
            lane,
            id,
            done: false,
        };
        loop {
            let until = {
                let mut s = self.lock();
                if s.first().map(|(i, _)| *i) != Some(id) {
                    None
                } else {
                    match self.take(&mut s, Instant::now()) {
                        Ok(()) => {
                            s.remove(lane, id);
                            if let Some((_, next)) = s.first() {
                                next.notify_one();
                            }
                            queued.done = true;
                            return;
                        }
                        Err(at) => Some(at),
                    }
                }
            };
            match until {
                Some(at) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(at) => {}
                        () = notify.notified() => {}
                    }
                }
                None => notify.notified().await,
            }
        }
    }

    /// AWS throttled a call that started at `started`: halve the rate and empty the bucket (AWS's is),
    /// unless the call started before the last cut (that cut answered the round of calls it was in).
    fn throttled(&self, started: Instant) {
        let now = Instant::now();
        let rate = {
            let mut s = self.lock();
            if s.cut.is_some_and(|(at, _)| started <= at) {
                return;
            }
            let rate = (self.rate(&s, now) / 2.0).max(self.full * LOWEST_SHARE);
            s.cut = Some((now, rate));
            s.filled = Some((now, 0.0));
            // The first waiting call's deadline moved: let it look again.
            if let Some((_, first)) = s.first() {
                first.notify_one();
            }
            rate
        };
        tracing::info!(bucket = self.name, place = %self.place, rate, "AWS throttled: slowing down");
        self.publish(rate);
    }

    fn publish(&self, rate: f64) {
        METRICS.aws_rate_limit(self.name, &self.place, rate);
    }
}

/// A call in a bucket's queue; leaves it when dropped before its turn (its reconcile was cancelled).
struct Queued<'a> {
    bucket: &'a Bucket,
    lane: Lane,
    id: u64,
    done: bool,
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let mut s = self.bucket.lock();
        let was_first = s.first().map(|(i, _)| *i) == Some(self.id);
        s.remove(self.lane, self.id);
        if was_first && let Some((_, next)) = s.first() {
            next.notify_one();
        }
    }
}

/// A failpoint for crash-consistency tests: with `ECS_CONTROLLER_CRASH_AFTER=<Operation>` the process
/// exits right after that AWS call succeeds, before anything else (such as a status write) happens.
fn crash_point(operation: &str) {
    static CRASH_AFTER: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    if CRASH_AFTER
        .get_or_init(|| std::env::var("ECS_CONTROLLER_CRASH_AFTER").ok())
        .as_deref()
        == Some(operation)
    {
        tracing::error!(operation, "ECS_CONTROLLER_CRASH_AFTER: exiting on purpose");
        std::process::exit(86);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use aws_sdk_ecs::operation::describe_clusters::{DescribeClustersError, DescribeClustersOutput};

    /// A DescribeClusters that answers at once, without a network.
    pub(crate) fn instant_answer()
    -> impl Future<Output = Result<DescribeClustersOutput, SdkError<DescribeClustersError>>> {
        std::future::ready(Ok(DescribeClustersOutput::builder().build()))
    }

    /// A future whose state holds 4 KB across an await, as a reconcile's holds its locals.
    pub(crate) async fn big_future() -> u8 {
        let held = [7u8; 4096];
        tokio::task::yield_now().await;
        held[4095]
    }

    #[test]
    fn the_task_local_wrappers_hold_their_future_once() {
        let alone = std::mem::size_of_val(&big_future());
        let lane = std::mem::size_of_val(&in_lane(Lane::Change, big_future()));
        let resync = std::mem::size_of_val(&in_resync(None, big_future()));
        // The scope adds its value and a slot for it, not a second copy of the future.
        assert!(lane < alone + 64, "in_lane: {lane} bytes around {alone}");
        assert!(resync < alone + 64, "in_resync: {resync} bytes around {alone}");
    }

    /// Runs `n` calls one after the other through `gateway`; returns the (virtual) time they took.
    async fn sequential(gateway: &Gateway, n: u32) -> Duration {
        sequential_of(gateway, operations::DESCRIBE_CLUSTERS, n).await
    }

    /// [`sequential`] for calls of `op` (answered at once).
    async fn sequential_of(gateway: &Gateway, op: Operation, n: u32) -> Duration {
        let start = Instant::now();
        for _ in 0..n {
            let answer = gateway.call(op, instant_answer()).await;
            assert!(answer.is_ok(), "{answer:?}");
        }
        start.elapsed()
    }

    /// `n` calls of `op` at once through `gateway` in `lane`; the (virtual) time each ended, sorted.
    async fn at_once(gateway: &Gateway, op: Operation, lane: Lane, n: usize) -> Vec<Duration> {
        let start = Instant::now();
        let calls = (0..n).map(|_| {
            in_lane(lane, async {
                let answer = gateway.call(op, instant_answer()).await;
                assert!(answer.is_ok(), "{answer:?}");
                start.elapsed()
            })
        });
        let mut ends = futures::future::join_all(calls).await;
        ends.sort();
        ends
    }

    /// A DescribeClusters that AWS throttled, answered 10 ms after it was sent.
    fn throttled_answer()
    -> impl Future<Output = Result<DescribeClustersOutput, SdkError<DescribeClustersError>>> {
        let meta = aws_sdk_ecs::error::ErrorMetadata::builder()
            .code("ThrottlingException")
            .message("Rate exceeded")
            .build();
        let status = 400.try_into().unwrap_or_else(|e| panic!("{e}"));
        let raw =
            aws_sdk_ecs::config::http::HttpResponse::new(status, aws_smithy_types::body::SdkBody::empty());
        async move {
            tokio::time::sleep(Duration::from_millis(10)).await;
            Err(SdkError::service_error(DescribeClustersError::generic(meta), raw))
        }
    }

    fn documented(percent: u8) -> Gateway {
        Gateway::new(RateLimit::Documented { percent }).at("role@us-east-1")
    }

    #[tokio::test(start_paused = true)]
    async fn an_aws_bucket_allows_its_burst_at_once_then_its_refill_rate() {
        // ECS's service-modify bucket: 50 at once, then 5 per second.
        let gateway = documented(100);
        let ends = at_once(&gateway, operations::CREATE_SERVICE, Lane::Change, 60).await;
        assert_eq!(ends[49], Duration::ZERO, "the burst starts at once");
        assert_eq!(ends[50], Duration::from_millis(200));
        assert_eq!(ends[59], Duration::from_secs(2));
        // UpdateService and DeleteService take from the same bucket, now empty.
        assert_eq!(
            sequential_of(&gateway, operations::DELETE_SERVICE, 1).await,
            Duration::from_millis(200)
        );
        // DescribeServices has a bucket of its own, full.
        assert_eq!(
            sequential_of(&gateway, operations::DESCRIBE_SERVICES, 100).await,
            Duration::ZERO
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_share_scales_burst_and_refill() {
        // Half of 50 at once and of 5 per second: 25, then one per 400 ms.
        let ends = at_once(&documented(50), operations::UPDATE_SERVICE, Lane::Change, 27).await;
        assert_eq!(ends[24], Duration::ZERO);
        assert_eq!(
            ends[25..],
            [Duration::from_millis(400), Duration::from_millis(800)]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_change_goes_before_the_resync_calls_waiting_already() {
        let gateway = Gateway::new(RateLimit::Total(1));
        let start = Instant::now();
        let routine = at_once(&gateway, operations::DESCRIBE_CLUSTERS, Lane::Routine, 4);
        let change = async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            at_once(&gateway, operations::DESCRIBE_CLUSTERS, Lane::Change, 1).await;
            start.elapsed()
        };
        let (routine, change) = tokio::join!(routine, change);
        // One call a second: the first resync call at 0, the change in the next slot, the other three
        // resync calls after it.
        assert_eq!(change, Duration::from_secs(1));
        let secs: Vec<u64> = routine.iter().map(Duration::as_secs).collect();
        assert_eq!(secs, [0, 2, 3, 4]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_given_up_while_waiting_leaves_the_queue() {
        let gateway = Gateway::new(RateLimit::Total(1));
        assert_eq!(sequential(&gateway, 1).await, Duration::ZERO);
        // Waits for the slot at 1 s, but is given up at 500 ms.
        let given_up = tokio::time::timeout(Duration::from_millis(500), sequential(&gateway, 1)).await;
        assert!(given_up.is_err());
        // The next call takes the slot at 1 s that no one used, then the one after.
        assert_eq!(sequential(&gateway, 2).await, Duration::from_millis(1500));
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_halves_the_rate_once_per_round_and_it_climbs_back() {
        // Cluster-read bucket at 100%: 50 at once, 20 per second.
        let gateway = documented(100);
        let bucket = || {
            gateway
                .limiter
                .buckets(&gateway.place, operations::DESCRIBE_CLUSTERS)
                .remove(0)
        };
        let rate = |b: &Bucket| b.rate(&b.lock(), Instant::now());
        // Ten calls in flight together are all throttled: one cut, not ten.
        let answers = futures::future::join_all(
            (0..10).map(|_| gateway.call(operations::DESCRIBE_CLUSTERS, throttled_answer())),
        )
        .await;
        assert!(
            answers
                .iter()
                .all(|a| a.as_ref().is_err_and(|e| e.kind == ErrorKind::Throttled))
        );
        assert_eq!(rate(&bucket()), 10.0);
        // The bucket is empty after a throttle: the next calls come about one per 100 ms (a little
        // faster as the rate climbs back).
        let three = sequential(&gateway, 3).await;
        assert!(
            (Duration::from_millis(280)..=Duration::from_millis(300)).contains(&three),
            "{three:?}"
        );
        // A throttled call that started after the cut cuts again.
        let answer = gateway
            .call(operations::DESCRIBE_CLUSTERS, throttled_answer())
            .await;
        assert!(answer.is_err());
        let after_second_cut = rate(&bucket());
        assert!((after_second_cut - 5.0).abs() < 0.5, "{after_second_cut}");
        // Without throttling it climbs back by 2 per second (a tenth of 20), to the full rate.
        tokio::time::sleep(Duration::from_secs(5)).await;
        let climbed = rate(&bucket());
        assert!((climbed - (after_second_cut + 10.0)).abs() < 0.01, "{climbed}");
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert_eq!(rate(&bucket()), 20.0);
        // Never below 1/32 of the full rate, however often AWS throttles.
        let b = bucket();
        for _ in 0..20 {
            tokio::time::sleep(Duration::from_millis(1)).await;
            b.throttled(Instant::now());
        }
        assert_eq!(rate(&bucket()), 20.0 / 32.0);
    }

    #[tokio::test(start_paused = true)]
    async fn n_calls_at_r_per_second_take_n_minus_one_over_r() {
        let gateway = Gateway::new(RateLimit::Total(4));
        assert_eq!(
            sequential(&gateway, 1).await,
            Duration::ZERO,
            "the first call must not wait"
        );
        // The slot after that first call is 250 ms later: 9 more calls take 9 × 250 ms.
        assert_eq!(sequential(&gateway, 9).await, Duration::from_millis(9 * 250));

        // Once an interval has passed without calls, the next call starts at once again.
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(sequential(&gateway, 1).await, Duration::ZERO);

        let gateway = Gateway::new(RateLimit::Total(10));
        assert_eq!(sequential(&gateway, 11).await, Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_calls_are_spread_over_their_slots() {
        let gateway = Gateway::new(RateLimit::Total(5));
        let start = Instant::now();
        let calls = (0..6).map(|_| {
            let gateway = gateway.clone();
            async move {
                let answer = gateway
                    .call(operations::DESCRIBE_CLUSTERS, instant_answer())
                    .await;
                assert!(answer.is_ok(), "{answer:?}");
                start.elapsed()
            }
        });
        let mut ends = futures::future::join_all(calls).await;
        ends.sort();
        let expected: Vec<Duration> = (0..6).map(|i| Duration::from_millis(i * 200)).collect();
        assert_eq!(ends, expected);
    }

    #[tokio::test(start_paused = true)]
    async fn off_means_no_limit() {
        let gateway = Gateway::new(RateLimit::Off);
        assert_eq!(sequential(&gateway, 1000).await, Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn separate_gateways_have_separate_budgets() {
        let (a, b) = (
            Gateway::new(RateLimit::Total(2)),
            Gateway::new(RateLimit::Total(2)),
        );
        assert_eq!(sequential(&a, 3).await, Duration::from_secs(1));
        // `b` has not been used: its first call does not wait for `a`'s slots.
        let start = Instant::now();
        let (x, y) = tokio::join!(sequential(&a, 1), sequential(&b, 1));
        assert_eq!((x, y), (Duration::from_millis(500), Duration::ZERO));
        assert_eq!(start.elapsed(), Duration::from_millis(500));
    }
}
