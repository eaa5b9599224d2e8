//! `FargateProfile`: an administrator's choice, by namespace and labels, of what runs on ECS Fargate and
//! with which cluster, network, roles, capacity, logging and tags (EKS's Fargate profiles, for ECS).
//! Cluster-scoped, like EKS's, so that teams who may write in a namespace cannot change it.

use super::cluster::CapacityProviderStrategyItem;
use super::{Condition, Tag};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The label an object (or a Job) carries to choose among several profiles that select it.
pub const PROFILE_LABEL: &str = "ecs.kubefargate.dev/fargate-profile";

/// What runs on Fargate, chosen by namespace and labels, and with what. Fields a selected object sets
/// itself win over the profile's; `allowedTaskRoleArns` is a guard rail no object can widen.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "ecs.kubefargate.dev",
    version = "v1alpha1",
    kind = "FargateProfile",
    status = "FargateProfileStatus",
    derive = "PartialEq",
    shortname = "fp",
    category = "ecs",
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Cluster",
        type_ = "string",
        json_path = ".status.clusterArn",
        priority = "1"
    ),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    printcolumn(
        name = "Reason",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].reason",
        priority = "1"
    ),
    doc = "Selects by namespace and labels what runs on ECS Fargate, and with which cluster, network, roles, capacity, logging and tags (an EKS Fargate profile, for ECS)."
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.clusterRef) != has(self.clusterArn)").message("set exactly one of clusterRef or clusterArn"))]
#[x_kube(validation = Rule::new("!has(self.capacityProviderStrategy) || self.capacityProviderStrategy.filter(s, has(s.base) && s.base > 0).size() <= 1").message("capacityProviderStrategy: only one provider may set a base (RunTask and CreateService: 'Only one capacity provider in a capacity provider strategy can have a base defined')"))]
#[x_kube(validation = Rule::new(super::TAGS_RULE_RESERVED).message(super::TAGS_MESSAGE_RESERVED))]
#[x_kube(validation = Rule::new("has(self.subnets) || !has(self.securityGroups) && !has(self.assignPublicIp)").message("securityGroups and assignPublicIp need subnets (awsvpcConfiguration requires subnets)"))]
pub struct FargateProfileSpec {
    /// The EcsCluster object (by namespace and name) the selected workloads run in. Jobs always run
    /// there; FargateTasks and FargateServices that name no cluster of their own run there too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_ref: Option<NamespacedRef>,
    /// The ECS cluster, by ARN, when it is not managed by an EcsCluster object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^arn:aws[a-z-]*:ecs:[a-z0-9-]+:[0-9]{12}:cluster/[A-Za-z0-9_-]{1,255}$"))]
    pub cluster_arn: Option<String>,
    /// Which workloads the profile selects: a workload matches a selector when it lives in the
    /// selector's namespace and carries all of its labels. At most 5 selectors (EKS's limit);
    /// `*` and `?` are wildcards in namespaces and label values, as on EKS.
    #[schemars(length(min = 1, max = 5))]
    pub selectors: Vec<Selector>,
    /// Subnets of the tasks' network interfaces (awsvpcConfiguration.subnets), for workloads that set
    /// no networkConfiguration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 16), extend("items" = {"type": "string", "pattern": "^subnet-[0-9a-f]+$"}))]
    pub subnets: Option<Vec<String>>,
    /// Security groups of those network interfaces (up to 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 5), extend("items" = {"type": "string", "pattern": "^sg-[0-9a-f]+$"}))]
    pub security_groups: Option<Vec<String>>,
    /// `ENABLED` or `DISABLED` (ECS's default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["ENABLED", "DISABLED"]))]
    pub assign_public_ip: Option<String>,
    /// The task execution role (EKS: podExecutionRoleArn): ECS pulls images and writes logs with it.
    /// Set on the task definitions of selected TaskDefinition objects and Jobs that name none.
    /// A role ARN or, as RegisterTaskDefinition takes it, a role name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^(arn:aws[a-z-]*:iam::[0-9]{12}:role/.+|[\w+=,.@-]{1,64})$"))]
    pub execution_role_arn: Option<String>,
    /// Capacity providers for selected workloads that set neither launchType nor a strategy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 20))]
    pub capacity_provider_strategy: Option<Vec<CapacityProviderStrategyItem>>,
    /// awslogs for every container of a selected task definition that sets no logConfiguration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logging: Option<Logging>,
    /// Task roles selected workloads may use: ARNs, `*` matching any characters. Left out: any role.
    /// A task definition, FargateTask override or Job service account naming another role is refused
    /// (Stalled, reason `TaskRoleNotAllowed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 50), extend("items" = {"type": "string", "minLength": 1, "maxLength": 2048}))]
    pub allowed_task_role_arns: Option<Vec<String>>,
    /// Tags added to the tasks, services and task definitions of selected workloads (a workload's
    /// own tag with the same key wins).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 40))]
    pub tags: Vec<Tag>,
}

/// An object of another namespace, by namespace and name.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct NamespacedRef {
    /// The object's namespace.
    #[schemars(length(min = 1, max = 63))]
    pub namespace: String,
    /// The object's name.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

/// One selector: a namespace (required, as on EKS) and labels a workload must all carry.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct Selector {
    /// The namespace (`*` and `?` are wildcards).
    #[schemars(
        length(min = 1, max = 63),
        regex(pattern = r"^[a-z0-9*?]([-a-z0-9*?]*[a-z0-9*?])?$")
    )]
    pub namespace: String,
    /// Labels the workload must all carry (values may use `*` and `?`); at most 5, as on EKS.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = 5))]
    pub labels: BTreeMap<String, String>,
}

/// Where the containers' logs go (awslogs).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Logging {
    /// The CloudWatch Logs group (awslogs-group). 1-512 characters of `[.\-_/#A-Za-z0-9]`.
    #[schemars(length(min = 1, max = 512), regex(pattern = r"^[.\-_/#A-Za-z0-9]+$"))]
    pub log_group: String,
    /// awslogs-stream-prefix; default `ecs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512))]
    pub stream_prefix: Option<String>,
    /// awslogs-create-group: let ECS create the group (the execution role needs logs:CreateLogGroup).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_group: Option<bool>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FargateProfileStatus {
    /// Ready: the profile is valid and its cluster resolves.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` the controller last acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The cluster the selected workloads run in, once resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_arn: Option<String>,
}
