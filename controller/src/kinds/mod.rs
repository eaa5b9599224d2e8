//! The kinds: one folder per kind, each converging its objects in AWS through the shared
//! [`crate::runtime`].

mod cluster;
mod job;
mod placement;
mod scaling_policy;
mod service;
mod task;
mod task_definition;
