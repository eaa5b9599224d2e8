//! The kinds: one folder per kind, each converging its objects in AWS through the shared
//! [`crate::runtime`].

pub mod cluster;
pub mod scaling_policy;
pub mod service;
pub mod task_definition;
