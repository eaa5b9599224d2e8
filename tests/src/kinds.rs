//! The hand-written lists of what the controller serves and calls, gathered here so that the tests that
//! check the CRDs, the chart's RBAC, the Argo CD health checks, the bad-input corpus and the AWS calls
//! share one copy: when these lists come from a registry in the controller crate, only this file changes.

/// The API group of every kind.
pub const GROUP: &str = "ecs.kubefargate.dev";

/// The kinds, in dependency order.
pub const KINDS: [&str; 4] = ["EcsCluster", "TaskDefinition", "FargateService", "ScalingPolicy"];

/// The kinds' resource plurals, in the order of [`KINDS`] (RBAC rules name them).
pub const PLURALS: [&str; 4] = [
    "ecsclusters",
    "taskdefinitions",
    "fargateservices",
    "scalingpolicies",
];

/// The four CRDs, which `make e2e` installs once (hack/install-crds.sh) and every test shares.
pub const CRD_NAMES: &[&str] = &[
    "ecsclusters.ecs.kubefargate.dev",
    "taskdefinitions.ecs.kubefargate.dev",
    "fargateservices.ecs.kubefargate.dev",
    "scalingpolicies.ecs.kubefargate.dev",
];

/// The bad-input corpus directory of each kind: (`tests/corpus/<dir>`, kind).
pub const CORPUS_DIRS: &[(&str, &str)] = &[
    ("cluster", "EcsCluster"),
    ("task-definition", "TaskDefinition"),
    ("service", "FargateService"),
    ("scaling-policy", "ScalingPolicy"),
];

/// Every AWS operation the controller may call that changes something.
pub const MUTATING_AWS_OPERATIONS: &[&str] = &[
    "CreateCluster",
    "UpdateCluster",
    "PutClusterCapacityProviders",
    "DeleteCluster",
    "RegisterTaskDefinition",
    "DeregisterTaskDefinition",
    "DeleteTaskDefinitions",
    "CreateService",
    "UpdateService",
    "DeleteService",
    "TagResource",
    "UntagResource",
    "RegisterScalableTarget",
    "DeregisterScalableTarget",
    "PutScalingPolicy",
    "DeleteScalingPolicy",
    "PutScheduledAction",
    "DeleteScheduledAction",
];
