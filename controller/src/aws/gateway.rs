//! The one way out to AWS. Every call of the controller goes through [`call`], so in one place each
//! call is paced under the rate limit (`--aws-max-rps`), checked against the operations the running
//! reconcile's kind declared (see [`super::operations`]), counted in the metrics, classified when it
//! fails, and offered to the crash point of the crash-consistency tests.

use super::error::{AwsError, ErrorKind, from_sdk};
use super::operations;
use crate::metrics::{AwsOutcome, METRICS};
use aws_sdk_ecs::error::{ProvideErrorMetadata, SdkError};

/// Runs one AWS call: every call of the controller goes through here, so calls are paced (see
/// [`set_rate_limit`]), counted in the metrics and classified when they fail in one place. A call the
/// running reconcile's kind did not declare (see [`operations`]) is logged and counted as an error
/// of the declarations, so the tests find it.
pub async fn call<T, E>(
    op: operations::Operation,
    request: impl std::future::Future<Output = Result<T, SdkError<E>>>,
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
    pace().await;
    let result = request.await;
    match result {
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

/// The smallest interval between two AWS calls (none by default).
static MIN_INTERVAL: std::sync::OnceLock<std::time::Duration> = std::sync::OnceLock::new();
static NEXT_SLOT: tokio::sync::Mutex<Option<tokio::time::Instant>> = tokio::sync::Mutex::const_new(None);

/// Limits the controller to `max_per_second` AWS calls per second across all kinds (0: no limit).
/// Takes effect once, at start-up.
pub fn set_rate_limit(max_per_second: u32) {
    if max_per_second > 0 {
        let _ = MIN_INTERVAL.set(std::time::Duration::from_secs(1) / max_per_second);
    }
}

/// Waits for this call's slot under the rate limit.
async fn pace() {
    let Some(interval) = MIN_INTERVAL.get().copied() else {
        return;
    };
    let slot = {
        let mut next = NEXT_SLOT.lock().await;
        let now = tokio::time::Instant::now();
        let slot = next.map_or(now, |n| n.max(now));
        *next = Some(slot + interval);
        slot
    };
    tokio::time::sleep_until(slot).await;
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
