//! End-to-end tests against a real kube-apiserver + etcd and moto, driving the real controller binary.
//! Run them with `make test` (which starts and stops the environment) or, after `make env-up`,
//! `source .local/env && cargo test -p ecs-controller-e2e`. What they share (the harness, manifests,
//! reads of AWS state, the kind lists) is this crate's library, `tests/src/`.

mod argocd;
mod cluster;
mod corpus;
mod crds;
mod fields;
mod gitops;
mod helm;
mod hot_text;
mod image;
mod job_status;
mod jobs;
mod operate;
mod ownership;
mod profiles;
mod restart;
mod scaling;
mod service;
mod task;
mod task_definition;
