//! ecs-controller: declare AWS ECS and Fargate in Kubernetes.
//!
//! - [`api`]: the custom resources (spec, status, admission validation).
//! - [`aws`]: thin clients over the AWS SDKs and the classification of their errors.
//! - [`kinds`]: one folder per kind: how its objects are converged in AWS.
//! - [`runtime`]: what every kind shares (the engine, caches, conditions, requeue, the controllers).
//! - [`cli`] and [`telemetry`]: the binary's flags and logging.

pub mod api;
pub mod aws;
pub mod cli;
pub mod import;
mod kinds;
pub mod leader;
pub mod metrics;
pub mod runtime;
pub mod server;
pub mod telemetry;

/// Pure functions the end-to-end tests check against the real apiserver (the Job status a transition
/// from which the apiserver must accept). Not an API.
#[doc(hidden)]
pub mod testing {
    pub use crate::kinds::job::status::{Outcome, Run, is_finished, job_status, reasons};
}
