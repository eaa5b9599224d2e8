//! Every AWS operation the controller may call, declared once. The list drives the metrics labels,
//! the set of calls that change something (the tests count those), the kinds' declarations (each kind
//! names the operations its reconciles may make, checked at run time by the gateway every call goes
//! through) and the check of `docs/iam-policy.json`, so no list of operations is written anywhere else.

use std::fmt;

/// An AWS API the controller calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Service {
    Ecs,
    ApplicationAutoScaling,
}

impl Service {
    /// The service's name in error messages and metrics labels.
    pub const fn name(self) -> &'static str {
        match self {
            Service::Ecs => "ECS",
            Service::ApplicationAutoScaling => "ApplicationAutoScaling",
        }
    }

    /// The service's prefix in IAM actions (`ecs:CreateService`).
    pub const fn iam_prefix(self) -> &'static str {
        match self {
            Service::Ecs => "ecs",
            Service::ApplicationAutoScaling => "application-autoscaling",
        }
    }
}

/// One AWS operation: its service, its API name, and whether it changes anything in AWS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Operation {
    pub service: Service,
    pub name: &'static str,
    pub mutating: bool,
}

impl Operation {
    /// The IAM action that allows it, e.g. `ecs:CreateService`.
    pub fn iam_action(&self) -> String {
        format!("{}:{}", self.service.iam_prefix(), self.name)
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.service.name(), self.name)
    }
}

macro_rules! operations {
    ($($konst:ident = $service:ident $name:literal $kind:ident;)*) => {
        $(
            pub(crate) const $konst: Operation = Operation {
                service: Service::$service,
                name: $name,
                mutating: operations!(@mutating $kind),
            };
        )*
        /// Every operation the controller calls.
        pub const ALL: &[Operation] = &[$($konst),*];
    };
    (@mutating read) => { false };
    (@mutating write) => { true };
}

operations! {
    DESCRIBE_CLUSTERS = Ecs "DescribeClusters" read;
    CREATE_CLUSTER = Ecs "CreateCluster" write;
    UPDATE_CLUSTER = Ecs "UpdateCluster" write;
    PUT_CLUSTER_CAPACITY_PROVIDERS = Ecs "PutClusterCapacityProviders" write;
    DELETE_CLUSTER = Ecs "DeleteCluster" write;
    REGISTER_TASK_DEFINITION = Ecs "RegisterTaskDefinition" write;
    DESCRIBE_TASK_DEFINITION = Ecs "DescribeTaskDefinition" read;
    LIST_TASK_DEFINITIONS = Ecs "ListTaskDefinitions" read;
    DEREGISTER_TASK_DEFINITION = Ecs "DeregisterTaskDefinition" write;
    DELETE_TASK_DEFINITIONS = Ecs "DeleteTaskDefinitions" write;
    DESCRIBE_SERVICES = Ecs "DescribeServices" read;
    DESCRIBE_SERVICE_DEPLOYMENTS = Ecs "DescribeServiceDeployments" read;
    CREATE_SERVICE = Ecs "CreateService" write;
    UPDATE_SERVICE = Ecs "UpdateService" write;
    DELETE_SERVICE = Ecs "DeleteService" write;
    RUN_TASK = Ecs "RunTask" write;
    DESCRIBE_TASKS = Ecs "DescribeTasks" read;
    LIST_TASKS = Ecs "ListTasks" read;
    STOP_TASK = Ecs "StopTask" write;
    TAG_RESOURCE = Ecs "TagResource" write;
    UNTAG_RESOURCE = Ecs "UntagResource" write;
    DESCRIBE_SCALABLE_TARGETS = ApplicationAutoScaling "DescribeScalableTargets" read;
    REGISTER_SCALABLE_TARGET = ApplicationAutoScaling "RegisterScalableTarget" write;
    DEREGISTER_SCALABLE_TARGET = ApplicationAutoScaling "DeregisterScalableTarget" write;
    DESCRIBE_SCALING_POLICIES = ApplicationAutoScaling "DescribeScalingPolicies" read;
    PUT_SCALING_POLICY = ApplicationAutoScaling "PutScalingPolicy" write;
    DELETE_SCALING_POLICY = ApplicationAutoScaling "DeleteScalingPolicy" write;
    DESCRIBE_SCHEDULED_ACTIONS = ApplicationAutoScaling "DescribeScheduledActions" read;
    PUT_SCHEDULED_ACTION = ApplicationAutoScaling "PutScheduledAction" write;
    DELETE_SCHEDULED_ACTION = ApplicationAutoScaling "DeleteScheduledAction" write;
}

/// The operations of the running reconcile's kind ([`declared_by`] sets them around a reconcile);
/// none outside a reconcile (the batchers' own tasks).
pub(crate) fn current() -> Option<&'static [Operation]> {
    DECLARED.try_with(|ops| *ops).ok()
}

/// Runs `f` with `operations` as the declared operations of the kind being reconciled. Not an `async
/// fn`, as [`super::gateway::in_lane`].
pub(crate) fn declared_by<F: std::future::Future>(
    operations: &'static [Operation],
    f: F,
) -> impl std::future::Future<Output = F::Output> {
    DECLARED.scope(operations, f)
}

tokio::task_local! {
    static DECLARED: &'static [Operation];
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn declared_by_holds_its_future_once() {
        let alone = std::mem::size_of_val(&crate::aws::gateway::tests::big_future());
        let wrapped = std::mem::size_of_val(&declared_by(ALL, crate::aws::gateway::tests::big_future()));
        assert!(
            wrapped < alone + 64,
            "declared_by: {wrapped} bytes around {alone}"
        );
    }

    #[test]
    fn every_operation_is_declared_once() {
        let names: BTreeSet<_> = ALL.iter().map(|o| (o.service, o.name)).collect();
        assert_eq!(names.len(), ALL.len(), "an operation is listed twice");
    }

    #[test]
    fn iam_actions_use_the_services_prefixes() {
        assert_eq!(CREATE_SERVICE.iam_action(), "ecs:CreateService");
        assert_eq!(
            PUT_SCALING_POLICY.iam_action(),
            "application-autoscaling:PutScalingPolicy"
        );
    }
}
