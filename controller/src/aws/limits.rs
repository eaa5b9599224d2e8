//! The request rates AWS allows each operation, as the controller's default rate limits.
//!
//! Amazon ECS throttles per account and Region with token buckets, one per group of actions ("Request
//! throttling for the Amazon ECS API", Amazon ECS API Reference): a bucket's maximum capacity is the
//! burst, its refill rate the sustained calls per second, and every action of a group takes from the
//! group's one bucket. AWS Fargate further limits `RunTask` to 20 calls per second, burst and sustained
//! ("AWS Fargate throttling quotas", Amazon ECS Developer Guide), so a RunTask takes from both.
//!
//! Application Auto Scaling documents no request rates (its quotas page lists only counts of targets,
//! policies and scheduled actions); the buckets below for it are this controller's own assumption, set
//! at the level of ECS's read and modify groups, and adapt downwards when AWS answers with throttling.

use super::operations::{ALL, Operation, Service};

/// One token bucket of an AWS account and Region.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limit {
    /// The bucket's name: operations that name the same bucket share it.
    pub bucket: &'static str,
    /// The bucket's maximum capacity: calls at once.
    pub burst: u32,
    /// The bucket's refill rate: calls per second, sustained.
    pub per_second: f64,
    /// Whether AWS documents this limit (false: the controller's assumption).
    pub documented: bool,
}

const fn limit(bucket: &'static str, burst: u32, per_second: f64, documented: bool) -> Limit {
    Limit {
        bucket,
        burst,
        per_second,
        documented,
    }
}

const fn ecs(bucket: &'static str, burst: u32, per_second: f64) -> Limit {
    limit(bucket, burst, per_second, true)
}

const fn assumed(bucket: &'static str, burst: u32, per_second: f64) -> Limit {
    limit(bucket, burst, per_second, false)
}

// Amazon ECS, "Request throttling for the Amazon ECS API": group, actions, capacity, refill rate.
const CLUSTER_MODIFY: Limit = ecs("ECS cluster modify", 20, 1.0);
const CLUSTER_READ: Limit = ecs("ECS cluster read", 50, 20.0);
const TASK_DEFINITION_MODIFY: Limit = ecs("ECS task definition modify", 20, 1.0);
const TASK_DEFINITION_READ: Limit = ecs("ECS task definition read", 50, 20.0);
const TASK_DEFINITION_DELETION: Limit = ecs("ECS task definition deletion", 5, 1.0);
const TAG_MODIFY: Limit = ecs("ECS tag modify", 20, 10.0);
const CLUSTER_RESOURCE_MODIFY: Limit = ecs("ECS cluster resource modify", 100, 40.0);
const CLUSTER_RESOURCE_READ: Limit = ecs("ECS cluster resource read", 100, 20.0);
const SERVICE_MODIFY: Limit = ecs("ECS service modify", 50, 5.0);
const SERVICE_READ: Limit = ecs("ECS service read", 100, 20.0);
// "AWS Fargate throttling quotas": RunTask, 20 calls per second, burst and sustained.
const FARGATE_RUN_TASK: Limit = ecs("Fargate RunTask", 20, 20.0);

// Application Auto Scaling: not documented (see the module's documentation).
const AUTOSCALING_READ: Limit = assumed("Application Auto Scaling read", 50, 20.0);
const AUTOSCALING_MODIFY: Limit = assumed("Application Auto Scaling modify", 20, 5.0);

/// The buckets a call of the operation named `name` of `service` (`ECS`, `ApplicationAutoScaling`, as
/// the metrics label them) takes a token from; none for an operation the controller does not call.
pub fn of_name(service: &str, name: &str) -> &'static [Limit] {
    ALL.iter()
        .find(|op| op.service.name() == service && op.name == name)
        .map_or(&[], |op| of(*op))
}

/// The buckets a call of `op` takes a token from.
pub(crate) fn of(op: Operation) -> &'static [Limit] {
    match (op.service, op.name) {
        (Service::Ecs, "DescribeClusters") => &[CLUSTER_READ],
        (
            Service::Ecs,
            "CreateCluster" | "UpdateCluster" | "PutClusterCapacityProviders" | "DeleteCluster",
        ) => &[CLUSTER_MODIFY],
        (Service::Ecs, "RegisterTaskDefinition" | "DeregisterTaskDefinition") => &[TASK_DEFINITION_MODIFY],
        (Service::Ecs, "DescribeTaskDefinition" | "ListTaskDefinitions") => &[TASK_DEFINITION_READ],
        (Service::Ecs, "DeleteTaskDefinitions") => &[TASK_DEFINITION_DELETION],
        // The blue/green stage of a rollout: a read of the service, in the service read group.
        (Service::Ecs, "DescribeServiceDeployments" | "DescribeServices") => &[SERVICE_READ],
        (Service::Ecs, "CreateService" | "UpdateService" | "DeleteService") => &[SERVICE_MODIFY],
        (Service::Ecs, "RunTask") => &[CLUSTER_RESOURCE_MODIFY, FARGATE_RUN_TASK],
        (Service::Ecs, "StopTask") => &[CLUSTER_RESOURCE_MODIFY],
        (Service::Ecs, "DescribeTasks" | "ListTasks") => &[CLUSTER_RESOURCE_READ],
        (Service::Ecs, "TagResource" | "UntagResource") => &[TAG_MODIFY],
        (Service::ApplicationAutoScaling, name) if name.starts_with("Describe") => &[AUTOSCALING_READ],
        (Service::ApplicationAutoScaling, _) => &[AUTOSCALING_MODIFY],
        // An ECS operation added to `operations` without a row here: the tests below fail; at run time
        // it gets the strictest ECS bucket rather than none.
        (Service::Ecs, _) => &[TASK_DEFINITION_DELETION],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::operations::{self, ALL};

    #[test]
    fn every_operation_has_its_own_row() {
        for op in ALL {
            let limits = of(*op);
            assert!(!limits.is_empty(), "{op}");
            // Only DeleteTaskDefinitions itself may land in the task-definition-deletion bucket: any
            // other ECS operation there fell through to the match's last arm.
            if op.name != "DeleteTaskDefinitions" {
                assert!(
                    limits.iter().all(|l| l.bucket != TASK_DEFINITION_DELETION.bucket),
                    "{op} has no row of its own in aws::limits"
                );
            }
            for l in limits {
                assert!(l.burst >= 1 && l.per_second > 0.0, "{op}: {l:?}");
                assert_eq!(
                    l.documented,
                    op.service == Service::Ecs,
                    "{op}: ECS documents its limits, Application Auto Scaling does not"
                );
            }
        }
    }

    #[test]
    fn actions_of_one_ecs_group_share_its_bucket() {
        assert_eq!(of(operations::CREATE_SERVICE), of(operations::DELETE_SERVICE));
        assert_eq!(
            of(operations::REGISTER_TASK_DEFINITION),
            of(operations::DEREGISTER_TASK_DEFINITION)
        );
        assert_ne!(of(operations::DESCRIBE_SERVICES), of(operations::CREATE_SERVICE));
        // RunTask counts against the cluster-resource group and Fargate's own RunTask quota.
        let run: Vec<_> = of(operations::RUN_TASK).iter().map(|l| l.bucket).collect();
        assert!(run.contains(&of(operations::STOP_TASK)[0].bucket), "{run:?}");
        assert_eq!(run.len(), 2);
    }
}
