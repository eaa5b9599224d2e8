//! The AWS layer: thin clients over the AWS SDKs, shared by every reconciler, and the classification
//! of AWS errors into what the reconcilers do next (retry, back off, stop, wait).
//!
//! - [`operations`]: every AWS operation the controller may call, declared once.
//! - `error`: [`AwsError`] and [`ErrorKind`], the classification of failed calls.
//! - `gateway`: the one path of every call (rate limits, declared-operation check, metrics,
//!   classification, crash point).
//! - `limits`: the request rates AWS allows each operation, the default rate limits.
//! - `clients`: [`AwsClients`] (one client set per identity and region, all calling through the
//!   gateway of their `AwsClients`, which owns the rate limit) and [`Account`].
//! - [`ecs`] and [`autoscaling`]: the calls of each service, in the SDKs' own types.
//! - [`accounts`]: which AWS account (IAM role) each namespace's objects live in.
//! - `batch`: single Describe lookups served in batches.
//! - `listings`: a resync's listing of a whole namespace, answering that resync's later reads.
//! - `revisions`: the ACTIVE task definition revisions this process knows of.

pub mod accounts;
pub mod autoscaling;
mod batch;
mod clients;
pub mod ecs;
mod error;
mod gateway;
pub mod limits;
mod listings;
pub mod operations;
mod revisions;

#[cfg(test)]
pub(crate) use clients::OFFLINE_ACCOUNT;
#[allow(
    unused_imports,
    reason = "the path of the type of `Account::region`, for the kinds to name"
)]
pub(crate) use clients::RegionClients;
pub use clients::{Account, AwsClients, Options};
pub(crate) use clients::{AnnouncedDeletion, AutoScalingClient, EcsClient};
pub use error::{AwsError, ErrorKind};
pub use gateway::{Lane, RateLimit};
pub(crate) use gateway::{in_lane, in_resync, lane, resync_began};
pub(crate) use revisions::Family;
