//! The one way out to AWS. Every call of the controller goes through a [`Gateway`], so in one place
//! each call is paced under the rate limit (`--aws-max-rps`), checked against the operations the
//! running reconcile's kind declared (see [`super::operations`]), counted in the metrics, classified
//! when it fails, and offered to the crash point of the crash-consistency tests.
//!
//! A gateway belongs to one [`super::AwsClients`] and is shared by every client it creates, so the limit
//! covers all kinds, accounts and regions together.

use super::error::{AwsError, ErrorKind, from_sdk};
use super::operations::{self, Operation};
use crate::metrics::{AwsOutcome, METRICS};
use aws_sdk_ecs::error::{ProvideErrorMetadata, SdkError};
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::time::Instant;

/// Where AWS calls go through; clones share one rate limit.
#[derive(Clone, Debug)]
pub(crate) struct Gateway {
    pacer: Arc<Pacer>,
}

impl Gateway {
    /// A gateway that lets at most `max_per_second` calls start per second (0: no limit).
    pub(crate) fn new(max_per_second: u32) -> Self {
        Self {
            pacer: Arc::new(Pacer::new(max_per_second)),
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
        self.pacer.wait().await;
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
                    ErrorKind::Throttled => AwsOutcome::throttled,
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

/// The rate limit: calls start at least `interval` apart, each in the next free slot, in the order they
/// asked (a call that finds no call in the last `interval` starts at once).
#[derive(Debug)]
struct Pacer {
    /// The smallest interval between two calls; `None`: no limit.
    interval: Option<Duration>,
    /// The earliest start of the next call.
    next_slot: Mutex<Option<Instant>>,
}

impl Pacer {
    fn new(max_per_second: u32) -> Self {
        Self {
            interval: (max_per_second > 0).then(|| Duration::from_secs(1) / max_per_second),
            next_slot: Mutex::new(None),
        }
    }

    /// Waits for this call's slot.
    async fn wait(&self) {
        let Some(interval) = self.interval else {
            return;
        };
        let slot = {
            let mut next = self.next_slot.lock().unwrap_or_else(PoisonError::into_inner);
            let now = Instant::now();
            let slot = next.map_or(now, |n| n.max(now));
            *next = Some(slot + interval);
            slot
        };
        tokio::time::sleep_until(slot).await;
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

    /// Runs `n` calls one after the other through `gateway`; returns the (virtual) time they took.
    async fn sequential(gateway: &Gateway, n: u32) -> Duration {
        let start = Instant::now();
        for _ in 0..n {
            let answer = gateway
                .call(operations::DESCRIBE_CLUSTERS, instant_answer())
                .await;
            assert!(answer.is_ok(), "{answer:?}");
        }
        start.elapsed()
    }

    #[tokio::test(start_paused = true)]
    async fn n_calls_at_r_per_second_take_n_minus_one_over_r() {
        let gateway = Gateway::new(4);
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

        let gateway = Gateway::new(10);
        assert_eq!(sequential(&gateway, 11).await, Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_calls_are_spread_over_their_slots() {
        let gateway = Gateway::new(5);
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
    async fn zero_means_no_limit() {
        let gateway = Gateway::new(0);
        assert_eq!(sequential(&gateway, 1000).await, Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn separate_gateways_have_separate_budgets() {
        let (a, b) = (Gateway::new(2), Gateway::new(2));
        assert_eq!(sequential(&a, 3).await, Duration::from_secs(1));
        // `b` has not been used: its first call does not wait for `a`'s slots.
        let start = Instant::now();
        let (x, y) = tokio::join!(sequential(&a, 1), sequential(&b, 1));
        assert_eq!((x, y), (Duration::from_millis(500), Duration::ZERO));
        assert_eq!(start.elapsed(), Duration::from_millis(500));
    }
}
