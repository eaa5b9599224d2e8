//! `ScalingPolicy`: the Application Auto Scaling setup of one FargateService. The spec starts with the
//! scalable target; issue 5 adds policies and schedules.

use super::Condition;
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

/// Desired scaling of one FargateService.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "ecs.kubefargate.dev",
    version = "v1alpha1",
    kind = "ScalingPolicy",
    namespaced,
    status = "ScalingPolicyStatus",
    shortname = "ecssp",
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
    printcolumn(name = "Min", type_ = "integer", json_path = ".spec.minCapacity"),
    printcolumn(name = "Max", type_ = "integer", json_path = ".spec.maxCapacity"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    printcolumn(
        name = "ARN",
        type_ = "string",
        json_path = ".status.scalableTargetArn",
        priority = "1"
    ),
    printcolumn(
        name = "Message",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].message",
        priority = "1"
    ),
    doc = "Application Auto Scaling for a FargateService, managed by ecs-controller."
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.serviceRef) != has(self.resourceId)").message("set exactly one of serviceRef or resourceId"))]
#[x_kube(validation = Rule::new("self.minCapacity <= self.maxCapacity").message("minCapacity must be <= maxCapacity"))]
pub struct ScalingPolicySpec {
    /// Name of a FargateService in this namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_ref: Option<super::service::LocalRef>,
    /// `service/<cluster>/<service>` for a service not managed here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^service/[a-zA-Z0-9_-]+/[a-zA-Z0-9_-]+$"))]
    pub resource_id: Option<String>,
    #[schemars(range(min = 0))]
    pub min_capacity: i32,
    #[schemars(range(min = 0))]
    pub max_capacity: i32,
}

/// Observed state of the scaling setup.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScalingPolicyStatus {
    #[serde(default)]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scalable_target_arn: Option<String>,
    /// The last value of the `ecs.kubefargate.dev/reconcile-requested-at` annotation handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}
