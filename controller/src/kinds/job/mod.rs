//! Job: Kubernetes batch/v1 Jobs run as ECS Fargate tasks; [`translate`] turns a Job's pod template
//! into a task definition.

// wired by the Job controller
#[allow(dead_code)]
pub(crate) mod translate;
