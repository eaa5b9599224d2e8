//! The AWS layer: thin clients over the AWS SDKs, shared by every reconciler, and the classification
//! of AWS errors into what the reconcilers do next (retry, back off, stop, wait).
//!
//! - [`operations`]: every AWS operation the controller may call, declared once.
//! - `error`: [`AwsError`] and [`ErrorKind`], the classification of failed calls.
//! - `gateway`: [`call`], the one path of every call (rate limit, declared-operation check, metrics,
//!   classification, crash point).
//! - `clients`: [`AwsClients`] (one client set per identity and region) and [`Account`].
//! - [`ecs`] and [`autoscaling`]: the calls of each service, in the SDKs' own types.
//! - [`accounts`]: which AWS account (IAM role) each namespace's objects live in.
//! - [`batch`]: single Describe lookups served in batches.

pub mod accounts;
pub mod autoscaling;
pub mod batch;
mod clients;
pub mod ecs;
mod error;
mod gateway;
pub mod operations;

pub use clients::{Account, AwsClients, Options, Place, RegionClients};
pub use error::{AwsError, ErrorKind, classify, from_sdk};
pub use gateway::{call, set_rate_limit};
