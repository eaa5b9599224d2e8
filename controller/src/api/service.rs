//! `FargateService`: one ECS service on Fargate. The spec starts with the essentials; issue 4 completes it.

use super::{Condition, Tag};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Desired state of an ECS service running on Fargate.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "ecs.kubefargate.dev",
    version = "v1alpha1",
    kind = "FargateService",
    namespaced,
    status = "FargateServiceStatus",
    shortname = "ecssvc",
    category = "ecs",
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Reason",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].reason"
    ),
    printcolumn(
        name = "Desired",
        type_ = "integer",
        json_path = ".status.desiredCount"
    ),
    printcolumn(
        name = "Running",
        type_ = "integer",
        json_path = ".status.runningCount"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    printcolumn(
        name = "ARN",
        type_ = "string",
        json_path = ".status.arn",
        priority = "1"
    ),
    printcolumn(
        name = "Message",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].message",
        priority = "1"
    ),
    doc = "An ECS service on Fargate managed by ecs-controller."
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.serviceName) == has(oldSelf.serviceName) && (!has(self.serviceName) || self.serviceName == oldSelf.serviceName)").message("serviceName is immutable: create a new FargateService instead"))]
#[x_kube(validation = Rule::new("has(self.clusterRef) != has(self.clusterArn)").message("set exactly one of clusterRef or clusterArn"))]
#[x_kube(validation = Rule::new("has(self.taskDefinitionRef) != has(self.taskDefinitionArn)").message("set exactly one of taskDefinitionRef or taskDefinitionArn"))]
#[x_kube(validation = Rule::new(super::TAGS_RULE_RESERVED).message(super::TAGS_MESSAGE_RESERVED))]
pub struct FargateServiceSpec {
    /// Name of the ECS service; defaults to metadata.name. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 255), regex(pattern = r"^[a-zA-Z0-9_-]+$"))]
    pub service_name: Option<String>,
    /// Name of an EcsCluster in this namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_ref: Option<LocalRef>,
    /// ARN of a cluster not managed here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_arn: Option<String>,
    /// Name of a TaskDefinition in this namespace; the service follows its newest revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_definition_ref: Option<LocalRef>,
    /// A pinned task-definition ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_definition_arn: Option<String>,
    /// Number of tasks; only the initial value while a ScalingPolicy targets the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub desired_count: Option<i32>,
    pub network_configuration: NetworkConfiguration,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 45))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["key".into()]))]
    pub tags: Vec<Tag>,
}

/// A reference to an object of the expected kind in the same namespace.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct LocalRef {
    #[schemars(length(min = 1))]
    pub name: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NetworkConfiguration {
    pub awsvpc_configuration: AwsVpcConfiguration,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AwsVpcConfiguration {
    /// At least one subnet (at most 16).
    #[schemars(length(min = 1, max = 16))]
    pub subnets: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 5))]
    pub security_groups: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["ENABLED", "DISABLED"]))]
    pub assign_public_ip: Option<String>,
}

/// Observed state of the ECS service.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct FargateServiceStatus {
    #[serde(default)]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_definition_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_count: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running_count: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_count: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout_state: Option<String>,
    /// The last value of the `ecs.kubefargate.dev/reconcile-requested-at` annotation handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}
