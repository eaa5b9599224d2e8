//! The kinds: one folder per kind, each converging its objects in AWS through the shared
//! [`crate::runtime`].

mod cluster;
pub(crate) mod job;
mod placement;
pub(crate) mod profile;
mod scaling_policy;
mod service;
mod task;
mod task_definition;
