//! Thin clients over the AWS SDKs: one client set per region, shared by every reconciler, and the
//! classification of AWS errors into what the reconcilers do next (retry, back off, stop, wait).
//!
//! Credentials, region and endpoint come from aws-config's default chain, so `AWS_ENDPOINT_URL`
//! (moto, LocalStack), IRSA and EKS Pod Identity work without code here.

pub mod accounts;
pub mod autoscaling;
pub mod batch;
pub mod ecs;
pub mod operations;

use crate::metrics::{AwsOutcome, METRICS};
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_ecs::error::{ProvideErrorMetadata, SdkError};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

/// What a failed AWS call means for the reconciler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The resource does not exist.
    NotFound,
    /// AWS asked us to slow down: retry later with a longer backoff.
    Throttled,
    /// AWS rejected the request as invalid: retrying the same request cannot succeed.
    Terminal,
    /// A server-side or network failure: retry with backoff.
    Retryable,
    /// The resource still has dependents (services, tasks): wait for them.
    HasDependents,
}

/// A failed AWS call, with what a user needs to act on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsError {
    pub service: &'static str,
    pub operation: &'static str,
    pub kind: ErrorKind,
    /// The AWS error code, e.g. `ClientException`.
    pub code: Option<String>,
    /// The AWS message, verbatim where AWS sent one.
    pub message: String,
    pub request_id: Option<String>,
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: ", self.service, self.operation)?;
        if let Some(code) = &self.code {
            write!(f, "{code}: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(id) = &self.request_id {
            write!(f, " (request id {id})")?;
        }
        Ok(())
    }
}

impl std::error::Error for AwsError {}

const THROTTLING_CODES: &[&str] = &[
    "LimitExceededException",
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "SlowDown",
];
const NOT_FOUND_CODES: &[&str] = &[
    "ClusterNotFoundException",
    "ServiceNotFoundException",
    "ServiceNotActiveException",
    "TaskDefinitionNotFoundException",
    "ObjectNotFoundException",
    "ResourceNotFoundException",
];
const DEPENDENTS_CODES: &[&str] = &[
    "ClusterContainsServicesException",
    "ClusterContainsTasksException",
    "ClusterContainsContainerInstancesException",
    "ResourceInUseException",
];
const RETRYABLE_CODES: &[&str] = &[
    "ServerException",
    "InternalServerException",
    "InternalFailure",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "ConcurrentUpdateException",
    "ConcurrentModificationException",
    "UpdateInProgressException",
    "ExpiredTokenException",
    "RequestExpired",
    "FailedResourceAccessException",
];

/// Classifies an error code and HTTP status the way every reconciler treats them.
pub fn classify(code: Option<&str>, http_status: Option<u16>) -> ErrorKind {
    match code {
        Some(c) if THROTTLING_CODES.contains(&c) => ErrorKind::Throttled,
        Some(c) if NOT_FOUND_CODES.contains(&c) => ErrorKind::NotFound,
        Some(c) if DEPENDENTS_CODES.contains(&c) => ErrorKind::HasDependents,
        Some(c) if RETRYABLE_CODES.contains(&c) => ErrorKind::Retryable,
        _ => match http_status {
            Some(429) => ErrorKind::Throttled,
            Some(s) if s >= 500 => ErrorKind::Retryable,
            Some(s) if (400..500).contains(&s) => ErrorKind::Terminal,
            // No response at all (timeout, DNS, connection refused): retry.
            None => ErrorKind::Retryable,
            Some(_) if code.is_some() => ErrorKind::Terminal,
            Some(_) => ErrorKind::Retryable,
        },
    }
}

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

/// Turns an SDK error of any AWS service into an [`AwsError`].
pub fn from_sdk<E>(service: &'static str, operation: &'static str, err: SdkError<E>) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let http_status = err.raw_response().map(|r| r.status().as_u16());
    let request_id = err
        .raw_response()
        .and_then(|r| {
            r.headers()
                .get("x-amzn-requestid")
                .or_else(|| r.headers().get("x-amz-request-id"))
        })
        .map(str::to_string);
    let code = err.code().map(str::to_string);
    let body = err
        .raw_response()
        .and_then(|r| r.body().bytes())
        .map(body_text)
        .unwrap_or_default();
    let message = match (err.message(), &err) {
        (Some(m), _) if !m.is_empty() => m.to_string(),
        (_, SdkError::TimeoutError(_)) => "request timed out".to_string(),
        (_, SdkError::DispatchFailure(_)) => {
            format!("could not reach the endpoint: {}", error_chain(&err))
        }
        _ => match http_status {
            Some(s) if body.is_empty() => format!("HTTP {s} without an AWS error message"),
            Some(s) => format!("HTTP {s}: {body}"),
            None => error_chain(&err),
        },
    };
    let kind = classify(code.as_deref(), http_status);
    let e = AwsError {
        service,
        operation,
        kind,
        code,
        message,
        request_id,
    };
    tracing::debug!(service, operation, kind = ?e.kind, request_id = e.request_id.as_deref(), "AWS call failed: {e}");
    e
}

/// A readable excerpt of an error body that is not an AWS error document (an HTML error page, say).
fn body_text(bytes: &[u8]) -> String {
    let raw = String::from_utf8_lossy(bytes);
    let mut text = String::with_capacity(raw.len());
    let mut in_tag = false;
    for ch in raw.chars() {
        match ch {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut out = words.join(" ");
    if out.len() > 240 {
        let cut = (0..=240).rev().find(|i| out.is_char_boundary(*i)).unwrap_or(0);
        out.truncate(cut);
        out.push_str("...");
    }
    out
}

fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// The clients of one region.
#[derive(Clone, Debug)]
pub struct RegionClients {
    pub region: String,
    pub ecs: aws_sdk_ecs::Client,
    pub autoscaling: aws_sdk_applicationautoscaling::Client,
}

/// Where a call goes: the identity (`None`: the controller's own; `Some(role ARN)`: assumed with STS)
/// and the region.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Place {
    pub role: Option<String>,
    pub region: String,
}

/// How the AWS clients are set up.
#[derive(Clone, Debug)]
pub struct Options {
    /// Overrides the default chain's region.
    pub region: Option<String>,
    /// Longest wait for one request attempt.
    pub attempt_timeout: std::time::Duration,
    /// The namespace → account mapping.
    pub accounts: accounts::Accounts,
}

/// One client set per identity and region, created on first use and shared by all reconcilers, plus
/// the batchers that serve single Describe lookups in batches.
#[derive(Clone, Debug)]
pub struct AwsClients {
    base: SdkConfig,
    default_region: String,
    accounts: accounts::Accounts,
    by_place: Arc<Mutex<HashMap<Place, RegionClients>>>,
    clusters: batch::Batcher<Place, String, aws_sdk_ecs::types::Cluster>,
    services: batch::Batcher<(Place, String), String, aws_sdk_ecs::types::Service>,
    scalable_targets: batch::Batcher<Place, String, aws_sdk_applicationautoscaling::types::ScalableTarget>,
}

impl AwsClients {
    /// Loads the default credential chain. Starts the batching tasks, so it must run inside the Tokio
    /// runtime.
    pub async fn load(options: Options) -> Result<Self, String> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(std::time::Duration::from_secs(5))
                .operation_attempt_timeout(options.attempt_timeout)
                .build(),
        );
        if let Some(r) = options.region {
            loader = loader.region(aws_config::Region::new(r));
        }
        let base = loader.load().await;
        let default_region = base
            .region()
            .map(|r| r.to_string())
            .ok_or("no AWS region: set --region or AWS_REGION")?;
        let by_place: Arc<Mutex<HashMap<Place, RegionClients>>> = Arc::default();
        let make = {
            let (base, accounts, by_place) = (base.clone(), options.accounts.clone(), by_place.clone());
            move |place: &Place| clients_at(&base, &accounts, &by_place, place)
        };
        let for_clusters = make.clone();
        let clusters = batch::Batcher::spawn(
            100,
            Arc::new(move |place: Place, names: Vec<String>| {
                let ecs = for_clusters(&place).ecs;
                Box::pin(async move {
                    let found = ecs::describe_clusters(&ecs, &names).await?;
                    Ok(found
                        .into_iter()
                        .filter_map(|c| c.cluster_name().map(str::to_string).map(|n| (n, c)))
                        .collect())
                })
            }),
        );
        let for_services = make.clone();
        let services = batch::Batcher::spawn(
            10,
            Arc::new(move |(place, cluster): (Place, String), names: Vec<String>| {
                let ecs = for_services(&place).ecs;
                Box::pin(async move {
                    let found = ecs::describe_services(&ecs, &cluster, &names).await?;
                    Ok(found
                        .into_iter()
                        .filter_map(|s| s.service_name().map(str::to_string).map(|n| (n, s)))
                        .collect())
                })
            }),
        );
        let for_targets = make;
        let scalable_targets = batch::Batcher::spawn(
            50,
            Arc::new(move |place: Place, ids: Vec<String>| {
                let aas = for_targets(&place).autoscaling;
                Box::pin(async move {
                    let found = autoscaling::describe_scalable_targets(&aas, &ids).await?;
                    Ok(found
                        .into_iter()
                        .map(|t| (t.resource_id().to_string(), t))
                        .collect())
                })
            }),
        );
        Ok(Self {
            base,
            default_region,
            accounts: options.accounts,
            by_place,
            clusters,
            services,
            scalable_targets,
        })
    }

    pub fn default_region(&self) -> &str {
        &self.default_region
    }

    /// The namespace → account mapping.
    pub fn accounts(&self) -> &accounts::Accounts {
        &self.accounts
    }

    /// The base SDK config (the controller's own identity).
    pub fn base_config(&self) -> &SdkConfig {
        &self.base
    }

    /// The AWS account of `namespace`'s objects: `Err` (a message for the user) when the namespace may
    /// not use AWS.
    pub fn for_namespace(&self, namespace: &str) -> Result<Account<'_>, String> {
        Ok(Account {
            clients: self,
            role: self.accounts.role_for(namespace)?,
        })
    }
}

#[cfg(test)]
impl AwsClients {
    /// Clients that never reach AWS, for unit tests of the code around the AWS calls (the engine): a
    /// fixed region, no credentials, the controller's own identity for every namespace, and batchers
    /// that refuse every lookup. Deterministic: reads no environment and no profile file.
    pub(crate) fn offline(region: &str) -> Self {
        fn refuse<G: Send + 'static, K: Send + 'static, V: Send + 'static>() -> batch::Fetch<G, K, V> {
            Arc::new(
                |_: G, _: Vec<K>| -> futures::future::BoxFuture<'static, Result<Vec<(K, V)>, AwsError>> {
                    Box::pin(async {
                        Err(AwsError {
                            service: "none",
                            operation: "offline",
                            kind: ErrorKind::Terminal,
                            code: None,
                            message: "offline AWS clients make no call".into(),
                            request_id: None,
                        })
                    })
                },
            )
        }
        let base = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(aws_config::Region::new(region.to_string()))
            .build();
        Self {
            base,
            default_region: region.to_string(),
            accounts: accounts::Accounts::new(None, true),
            by_place: Arc::default(),
            clusters: batch::Batcher::spawn(100, refuse()),
            services: batch::Batcher::spawn(10, refuse()),
            scalable_targets: batch::Batcher::spawn(50, refuse()),
        }
    }
}

/// The clients of one identity (all regions).
#[derive(Clone, Debug)]
pub struct Account<'a> {
    clients: &'a AwsClients,
    role: Option<String>,
}

impl Account<'_> {
    pub fn default_region(&self) -> &str {
        &self.clients.default_region
    }

    /// The assumed role (`None`: the controller's own identity).
    pub fn role(&self) -> Option<&str> {
        self.role.as_deref()
    }

    fn place(&self, region: Option<&str>) -> Place {
        Place {
            role: self.role.clone(),
            region: region.unwrap_or(&self.clients.default_region).to_string(),
        }
    }

    /// The clients for `region` (the default region when `None`).
    pub fn region(&self, region: Option<&str>) -> RegionClients {
        let c = self.clients;
        clients_at(&c.base, &c.accounts, &c.by_place, &self.place(region))
    }

    /// One cluster by name (with settings, configuration and tags), looked up together with the other
    /// lookups of the moment. `None` when it does not exist or is INACTIVE.
    pub async fn describe_cluster(
        &self,
        region: Option<&str>,
        name: &str,
    ) -> Result<Option<aws_sdk_ecs::types::Cluster>, AwsError> {
        let c = self
            .clients
            .clusters
            .get(self.place(region), name.to_string())
            .await?;
        Ok(c.filter(|c| c.status() != Some("INACTIVE")))
    }

    /// One service by name (with tags), batched per cluster. `None` when it does not exist or is
    /// INACTIVE.
    pub async fn describe_service(
        &self,
        region: Option<&str>,
        cluster: &str,
        name: &str,
    ) -> Result<Option<aws_sdk_ecs::types::Service>, AwsError> {
        let s = self
            .clients
            .services
            .get((self.place(region), cluster.to_string()), name.to_string())
            .await?;
        Ok(s.filter(|s| s.status() != Some("INACTIVE")))
    }
}

impl Account<'_> {
    /// The scalable target of one service (`service/<cluster>/<name>`), batched (50 per call).
    pub async fn describe_scalable_target(
        &self,
        region: Option<&str>,
        resource_id: &str,
    ) -> Result<Option<aws_sdk_applicationautoscaling::types::ScalableTarget>, AwsError> {
        self.clients
            .scalable_targets
            .get(self.place(region), resource_id.to_string())
            .await
    }
}

fn clients_at(
    base: &SdkConfig,
    accounts: &accounts::Accounts,
    by_place: &Mutex<HashMap<Place, RegionClients>>,
    place: &Place,
) -> RegionClients {
    let mut map = by_place.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(c) = map.get(place) {
        return c.clone();
    }
    let conf = accounts.config_for(base, place.role.as_deref());
    let r = aws_config::Region::new(place.region.clone());
    let ecs = aws_sdk_ecs::config::Builder::from(&conf)
        .region(r.clone())
        .build();
    let aas = aws_sdk_applicationautoscaling::config::Builder::from(&conf)
        .region(r)
        .build();
    let clients = RegionClients {
        region: place.region.clone(),
        ecs: aws_sdk_ecs::Client::from_conf(ecs),
        autoscaling: aws_sdk_applicationautoscaling::Client::from_conf(aas),
    };
    // A role not prepared yet (the mapping is loading) gets base clients: not cached, so the assumed
    // ones are used as soon as they exist.
    if place.role.is_none() || accounts.has_config(place.role.as_deref()) {
        map.insert(place.clone(), clients.clone());
    }
    clients
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_follows_codes_then_http_status() {
        assert_eq!(
            classify(Some("ThrottlingException"), Some(400)),
            ErrorKind::Throttled
        );
        assert_eq!(
            classify(Some("ClusterNotFoundException"), Some(400)),
            ErrorKind::NotFound
        );
        assert_eq!(
            classify(Some("ClusterContainsServicesException"), Some(400)),
            ErrorKind::HasDependents
        );
        assert_eq!(classify(Some("ServerException"), Some(500)), ErrorKind::Retryable);
        assert_eq!(classify(Some("ClientException"), Some(400)), ErrorKind::Terminal);
        assert_eq!(
            classify(Some("InvalidParameterException"), Some(400)),
            ErrorKind::Terminal
        );
        assert_eq!(classify(None, Some(429)), ErrorKind::Throttled);
        assert_eq!(classify(None, Some(503)), ErrorKind::Retryable);
        assert_eq!(classify(None, None), ErrorKind::Retryable);
    }

    #[test]
    fn html_error_pages_become_one_readable_line() {
        let page = b"<!doctype html>\n<title>500 Internal Server Error</title>\n<h1>Internal Server Error</h1><p>boom</p>";
        assert_eq!(
            body_text(page),
            "500 Internal Server Error Internal Server Error boom"
        );
        assert!(body_text(&[b'x'; 1000]).ends_with("..."));
    }

    #[test]
    fn display_carries_the_aws_message_and_request_id() {
        let e = AwsError {
            service: "ECS",
            operation: "CreateCluster",
            kind: ErrorKind::Terminal,
            code: Some("ClientException".into()),
            message: "Cluster name is invalid".into(),
            request_id: Some("abc-123".into()),
        };
        assert_eq!(
            e.to_string(),
            "ECS CreateCluster: ClientException: Cluster name is invalid (request id abc-123)"
        );
    }
}
