//! What a failed AWS call means: [`AwsError`] carries what a user needs to act on it (service,
//! operation, AWS code and message, request id) and [`ErrorKind`] what the reconciler does next (retry,
//! back off, stop, wait for dependents). Kept apart from the calls so the classification rules can be
//! read, and tested, in one place without a network.

use aws_sdk_ecs::error::{ProvideErrorMetadata, SdkError};
use std::fmt;

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
fn classify(code: Option<&str>, http_status: Option<u16>) -> ErrorKind {
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

/// Turns an SDK error of any AWS service into an [`AwsError`].
pub(crate) fn from_sdk<E>(service: &'static str, operation: &'static str, err: SdkError<E>) -> AwsError
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
