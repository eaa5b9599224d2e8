//! `EcsCluster`: one ECS cluster, its settings, capacity providers and tags.

use super::{Condition, Tag};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Desired state of an ECS cluster.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "ecs.kubefargate.dev",
    version = "v1alpha1",
    kind = "EcsCluster",
    namespaced,
    status = "EcsClusterStatus",
    shortname = "ecsc",
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
    printcolumn(name = "Status", type_ = "string", json_path = ".status.status"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    printcolumn(name = "ARN", type_ = "string", json_path = ".status.arn", priority = "1"),
    printcolumn(
        name = "Message",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].message",
        priority = "1"
    ),
    doc = "An ECS cluster managed by ecs-controller."
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.clusterName) == has(oldSelf.clusterName) && (!has(self.clusterName) || self.clusterName == oldSelf.clusterName)").message("clusterName is immutable: create a new EcsCluster instead"))]
#[x_kube(validation = Rule::new("has(self.region) == has(oldSelf.region) && (!has(self.region) || self.region == oldSelf.region)").message("region is immutable: create a new EcsCluster instead"))]
#[x_kube(validation = Rule::new("!has(self.defaultCapacityProviderStrategy) || self.defaultCapacityProviderStrategy.all(s, has(self.capacityProviders) && s.capacityProvider in self.capacityProviders)").message("defaultCapacityProviderStrategy may only use providers listed in capacityProviders"))]
#[x_kube(validation = Rule::new("!has(self.defaultCapacityProviderStrategy) || self.defaultCapacityProviderStrategy.filter(s, has(s.base) && s.base > 0).size() <= 1").message("defaultCapacityProviderStrategy: only one provider may set a base"))]
#[x_kube(validation = Rule::new(super::TAGS_RULE_RESERVED).message(super::TAGS_MESSAGE_RESERVED))]
pub struct EcsClusterSpec {
    /// Name of the ECS cluster; defaults to metadata.name. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 255), regex(pattern = r"^[a-zA-Z0-9_-]+$"))]
    pub cluster_name: Option<String>,
    /// AWS region of the cluster; defaults to the controller's region. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-z]{2}(-[a-z]+)+-\d$"))]
    pub region: Option<String>,
    /// Cluster settings (containerInsights). Settings left out are not managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 4))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["name".into()]))]
    pub settings: Option<Vec<ClusterSetting>>,
    /// Execute-command configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration: Option<ClusterConfiguration>,
    /// Capacity providers the cluster may use. When left out, the cluster's providers are not managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2))]
    #[x_kube(merge_strategy = ListMerge::Set)]
    pub capacity_providers: Option<Vec<CapacityProvider>>,
    /// The strategy for services and tasks that name none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["capacityProvider".into()]))]
    pub default_capacity_provider_strategy: Option<Vec<CapacityProviderStrategyItem>>,
    /// The Cloud Map namespace Service Connect uses by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_connect_defaults: Option<ServiceConnectDefaults>,
    /// Tags on the cluster. The controller adds its ownership tags and removes tags not listed here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 45))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["key".into()]))]
    pub tags: Vec<Tag>,
    /// Adoption, deletion and management policies (`adoption`, `deletionPolicy`, `managementPolicy`).
    #[serde(flatten)]
    pub policies: super::Policies,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, JsonSchema)]
pub enum CapacityProvider {
    #[serde(rename = "FARGATE")]
    Fargate,
    #[serde(rename = "FARGATE_SPOT")]
    FargateSpot,
}

impl CapacityProvider {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fargate => "FARGATE",
            Self::FargateSpot => "FARGATE_SPOT",
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CapacityProviderStrategyItem {
    /// `FARGATE` or `FARGATE_SPOT` (Spot: cheaper, and ECS may stop the task with a two-minute notice).
    pub capacity_provider: CapacityProvider,
    /// Relative share of tasks placed on this provider (0-1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 1000))]
    pub weight: Option<i32>,
    /// Minimum number of tasks on this provider (0-100000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100000))]
    pub base: Option<i32>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum ClusterSettingName {
    #[serde(rename = "containerInsights")]
    ContainerInsights,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterSetting {
    /// The setting: `containerInsights` (CloudWatch Container Insights for the cluster's tasks and services).
    pub name: ClusterSettingName,
    /// `enabled`, `disabled` or `enhanced`.
    #[schemars(length(max = 16), extend("enum" = ["enabled", "disabled", "enhanced"]))]
    pub value: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterConfiguration {
    /// How `aws ecs execute-command` sessions into the cluster's tasks are encrypted and logged. Left
    /// out: not managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execute_command_configuration: Option<ExecuteCommandConfiguration>,
    /// The customer managed KMS keys for the cluster's managed storage and its Fargate tasks'
    /// ephemeral storage. Left out: not managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_storage_configuration: Option<ManagedStorageConfiguration>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManagedStorageConfiguration {
    /// KMS key (id or ARN) that encrypts the cluster's managed storage (EBS volumes of its tasks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    /// KMS key (id or ARN) that encrypts the ephemeral storage of the cluster's Fargate tasks (new tasks
    /// take a change).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fargate_ephemeral_storage_kms_key_id: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(self.logConfiguration) || (has(self.logging) && self.logging == 'OVERRIDE')").message("executeCommandConfiguration.logConfiguration needs logging: OVERRIDE"))]
pub struct ExecuteCommandConfiguration {
    /// KMS key id used to encrypt the data between the local client and the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    /// `NONE`, `DEFAULT` or `OVERRIDE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 16), extend("enum" = ["NONE", "DEFAULT", "OVERRIDE"]))]
    pub logging: Option<String>,
    /// Where session logs go when `logging` is `OVERRIDE`: a CloudWatch Logs group and/or an S3 bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_configuration: Option<ExecuteCommandLogConfiguration>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExecuteCommandLogConfiguration {
    /// CloudWatch Logs group that receives the session logs (it must exist).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_watch_log_group_name: Option<String>,
    /// Whether the log group is encrypted (ECS refuses an unencrypted group when this is true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_watch_encryption_enabled: Option<bool>,
    /// S3 bucket that receives the session logs (it must exist).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_bucket_name: Option<String>,
    /// Whether the bucket is encrypted (ECS refuses an unencrypted bucket when this is true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_encryption_enabled: Option<bool>,
    /// Key prefix of the session logs in the bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_key_prefix: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceConnectDefaults {
    /// Name or ARN of the Cloud Map namespace.
    #[schemars(length(min = 1))]
    pub namespace: String,
}

/// A Service Connect namespace as the spec gave it and as ECS reported it once applied.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceConnectApplied {
    /// `serviceConnectDefaults.namespace` as the spec gave it (a name or an ARN).
    pub namespace: String,
    /// The namespace's ARN, as ECS reported it after applying the spec's value.
    pub arn: String,
}

/// Observed state of the ECS cluster.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct EcsClusterStatus {
    /// Conditions: `Ready`, plus `Reconciling` / `Stalled` as kstatus reads them.
    #[serde(default)]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` the controller last acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `true` once the controller has adopted an AWS resource it did not create (`spec.adoption`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adopted: Option<bool>,
    /// ARN of the ECS cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// Name of the ECS cluster in AWS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_name: Option<String>,
    /// Region the cluster lives in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// ECS cluster status: ACTIVE, PROVISIONING, DEPROVISIONING, FAILED or INACTIVE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Tasks RUNNING in the cluster, as ECS counts them (all of them, not only this controller's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running_tasks_count: Option<i32>,
    /// Tasks PENDING in the cluster, as ECS counts them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_tasks_count: Option<i32>,
    /// ACTIVE services in the cluster, as ECS counts them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_services_count: Option<i32>,
    /// The Service Connect namespace as last applied: the spec's value (a name or an ARN) and the ARN ECS
    /// reported for it. ECS answers with the namespace's ARN whatever the spec gave, so a name is
    /// compared through this record: a new name in the spec, or another ARN in ECS, is a change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_connect_namespace: Option<ServiceConnectApplied>,
    /// The last value of the `ecs.kubefargate.dev/reconcile-requested-at` annotation handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
    /// The AWS account the object's resources live in, recorded at its first successful reconcile. If
    /// the namespace's account mapping later points elsewhere, the object is refused (`NoAwsAccount`)
    /// rather than recreated in the other account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
}
