//! ecs-controller: declare AWS ECS and Fargate in Kubernetes.
//!
//! - [`api`]: the custom resources (spec, status, admission validation).
//! - [`aws`]: thin clients over the AWS SDKs and the classification of their errors.
//! - [`reconcile`]: one reconciler per kind plus the shared machinery (finalizers, conditions, requeue).
//! - [`cli`] and [`telemetry`]: the binary's flags and logging.

pub mod api;
pub mod aws;
pub mod cli;
pub mod import;
pub mod leader;
pub mod metrics;
pub mod reconcile;
pub mod server;
pub mod telemetry;
