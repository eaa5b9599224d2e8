//! Job: run `batch/v1` Jobs with `spec.managedBy: ecs.kubefargate.dev/fargate` as ECS Fargate tasks.

pub(crate) mod status;
