//! `FargateService`: one ECS service on Fargate, following its TaskDefinition's newest revision.

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
    printcolumn(name = "Desired", type_ = "integer", json_path = ".status.desiredCount"),
    printcolumn(name = "Running", type_ = "integer", json_path = ".status.runningCount"),
    printcolumn(name = "Rollout", type_ = "string", json_path = ".status.rolloutState"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    printcolumn(name = "ARN", type_ = "string", json_path = ".status.arn", priority = "1"),
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
#[x_kube(validation = Rule::new("!(has(self.clusterRef) && has(self.clusterArn))").message("set at most one of clusterRef or clusterArn (neither: the selecting FargateProfile's cluster)"))]
#[x_kube(validation = Rule::new("has(self.clusterRef) == has(oldSelf.clusterRef) && has(self.clusterArn) == has(oldSelf.clusterArn) && (!has(self.clusterRef) || self.clusterRef == oldSelf.clusterRef) && (!has(self.clusterArn) || self.clusterArn == oldSelf.clusterArn)").message("the cluster of a service is immutable: create a new FargateService instead"))]
#[x_kube(validation = Rule::new("has(self.taskDefinitionRef) != has(self.taskDefinitionArn)").message("set exactly one of taskDefinitionRef or taskDefinitionArn"))]
#[x_kube(validation = Rule::new("!(has(self.launchType) && has(self.capacityProviderStrategy))").message("set launchType or capacityProviderStrategy, not both"))]
#[x_kube(validation = Rule::new("!has(self.capacityProviderStrategy) || self.capacityProviderStrategy.filter(s, has(s.base) && s.base > 0).size() <= 1").message("capacityProviderStrategy: only one provider may set a base"))]
#[x_kube(validation = Rule::new(super::TAGS_RULE_RESERVED).message(super::TAGS_MESSAGE_RESERVED))]
#[x_kube(validation = Rule::new("has(self.region) == has(oldSelf.region) && (!has(self.region) || self.region == oldSelf.region)").message("region is immutable: create a new FargateService instead"))]
pub struct FargateServiceSpec {
    /// Name of the ECS service; defaults to metadata.name. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 255), regex(pattern = r"^[a-zA-Z0-9_-]+$"))]
    pub service_name: Option<String>,
    /// Name of an EcsCluster in this namespace. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_ref: Option<LocalRef>,
    /// ARN of a cluster not managed here. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^arn:aws[a-z-]*:ecs:[a-z0-9-]+:[0-9]{12}:cluster/[a-zA-Z0-9_-]+$"))]
    pub cluster_arn: Option<String>,
    /// Name of a TaskDefinition in this namespace; the service follows its newest revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_definition_ref: Option<LocalRef>,
    /// A pinned task-definition revision ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(
        pattern = r"^arn:aws[a-z-]*:ecs:[a-z0-9-]+:[0-9]{12}:task-definition/[a-zA-Z0-9_-]+:[0-9]+$"
    ))]
    pub task_definition_arn: Option<String>,
    /// Number of tasks. Left out, the count is not managed: a new service starts with 1 (ECS's
    /// default) and afterwards AWS keeps whatever count it has (set by hand or by a scaler). While a
    /// ScalingPolicy targets the service this is only the initial value: the scaler owns the count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 5000))]
    pub desired_count: Option<i32>,
    /// `FARGATE`. With neither a launch type nor a capacityProviderStrategy (here or from a
    /// FargateProfile), a new service uses its cluster's default capacity provider strategy, or the
    /// FARGATE launch type when the cluster has none. Naming FARGATE moves a service that runs on a
    /// strategy back to the launch type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["FARGATE"]))]
    pub launch_type: Option<String>,
    /// FARGATE / FARGATE_SPOT with base and weight. A change (or removal, see
    /// `status.capacityProviderStrategyApplied`) is applied with a new deployment, so the tasks move.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 2))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["capacityProvider".into()]))]
    pub capacity_provider_strategy: Option<Vec<super::cluster::CapacityProviderStrategyItem>>,
    /// Fargate platform version, e.g. `LATEST` or `1.4.0`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 16))]
    pub platform_version: Option<String>,
    /// The tasks' awsvpc network (required on Fargate). Left out: the selecting FargateProfile's
    /// subnets and security groups; with no profile either, the service is refused (Stalled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_configuration: Option<NetworkConfiguration>,
    /// How a rollout replaces tasks: the healthy and maximum percentages, the circuit breaker and CloudWatch alarms. Fields left out keep the service's values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_configuration: Option<DeploymentConfiguration>,
    /// Elastic Load Balancing target groups the service registers its tasks with (up to 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 5))]
    pub load_balancers: Option<Vec<LoadBalancer>>,
    /// Seconds to ignore failing load-balancer health checks after a task starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 2147483647))]
    pub health_check_grace_period_seconds: Option<i32>,
    /// Cloud Map registries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1))]
    pub service_registries: Option<Vec<ServiceRegistry>>,
    /// Allow `aws ecs execute-command` into the service's tasks (the task role needs the SSM permissions). Left out: not managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_execute_command: Option<bool>,
    /// `TASK_DEFINITION`, `SERVICE` or `NONE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["TASK_DEFINITION", "SERVICE", "NONE"]))]
    pub propagate_tags: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        rename = "enableECSManagedTags"
    )]
    /// Let ECS tag the service's tasks with the cluster and service names (`aws:ecs:*`). Left out: not managed.
    pub enable_ecs_managed_tags: Option<bool>,
    /// EBS volumes ECS creates for each task at launch, one per task definition volume marked
    /// `configuredAtLaunch`. A change is rolled out with a new deployment. Left out: not managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_configurations: Option<Vec<super::task::TaskVolumeConfiguration>>,
    /// VPC Lattice target groups the service's tasks register with, by the task definition's port name.
    /// A change is rolled out with a new deployment. Left out: not managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_lattice_configurations: Option<Vec<VpcLatticeConfiguration>>,
    /// `ENABLED`: ECS moves tasks to balance them across Availability Zones (after a zone outage, say);
    /// `DISABLED`. Left out: not managed (ECS's default for a new service applies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["ENABLED", "DISABLED"]))]
    pub availability_zone_rebalancing: Option<String>,
    /// Redeploy without another change (a new image behind the same tag, rotated secrets): set or change
    /// this to any new value (a timestamp, a commit) and the controller sends one UpdateService with
    /// forceNewDeployment. The value a new service is created or adopted with starts no redeploy;
    /// `status.forcedDeployment` is the last value handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    pub force_new_deployment: Option<String>,
    /// Tags on the service (the controller adds its ownership tags and removes tags not listed here).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 45))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["key".into()]))]
    pub tags: Vec<Tag>,
    /// AWS region of the service. It is the cluster's region; when set, it must match it (a mismatch is
    /// reported, never acted on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-z]{2}(-[a-z]+)+-\d$"))]
    pub region: Option<String>,
    /// Adoption, deletion and management policies (`adoption`, `deletionPolicy`, `managementPolicy`).
    #[serde(flatten)]
    pub policies: super::Policies,
}

/// One VPC Lattice target group of a service.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VpcLatticeConfiguration {
    /// The role ECS uses to register the tasks with VPC Lattice (the infrastructure role).
    pub role_arn: String,
    /// The VPC Lattice target group.
    pub target_group_arn: String,
    /// The name of a port mapping in the task definition.
    pub port_name: String,
}

/// A reference to an object of the expected kind in the same namespace.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct LocalRef {
    /// The object's name (`metadata.name`).
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NetworkConfiguration {
    /// The subnets, security groups and public IP of the tasks' network interfaces (awsvpc).
    pub awsvpc_configuration: AwsVpcConfiguration,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AwsVpcConfiguration {
    /// At least one subnet (at most 16).
    #[schemars(length(min = 1, max = 16), extend("items" = {"type": "string", "pattern": "^subnet-[0-9a-f]+$"}))]
    pub subnets: Vec<String>,
    /// Up to 5 security groups.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 5), extend("items" = {"type": "string", "pattern": "^sg-[0-9a-f]+$"}))]
    pub security_groups: Vec<String>,
    /// `ENABLED` or `DISABLED` (default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["ENABLED", "DISABLED"]))]
    pub assign_public_ip: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(self.minimumHealthyPercent) || !has(self.maximumPercent) || self.minimumHealthyPercent <= self.maximumPercent").message("minimumHealthyPercent must be <= maximumPercent"))]
pub struct DeploymentConfiguration {
    /// 0-100: tasks that must stay healthy during a deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100))]
    pub minimum_healthy_percent: Option<i32>,
    /// 100-200: tasks allowed during a deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 100, max = 200))]
    pub maximum_percent: Option<i32>,
    /// Stop a rollout whose tasks keep failing to reach RUNNING (and roll back when `rollback`). The controller reports it (RolloutFailed) and does not retry that revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_circuit_breaker: Option<DeploymentCircuitBreaker>,
    /// CloudWatch alarms that fail a rollout when they go to ALARM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarms: Option<DeploymentAlarms>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentCircuitBreaker {
    /// Turn the circuit breaker on.
    pub enable: bool,
    /// Roll back to the last completed deployment when the breaker trips.
    pub rollback: bool,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentAlarms {
    /// Names of the CloudWatch alarms watched during a rollout.
    #[schemars(length(min = 1, max = 10))]
    pub alarm_names: Vec<String>,
    /// Watch the alarms.
    pub enable: bool,
    /// Roll back to the last completed deployment when an alarm fails the rollout.
    pub rollback: bool,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoadBalancer {
    /// The target group (ARN); its target type must be `ip` for awsvpc tasks.
    #[schemars(regex(pattern = r"^arn:aws[a-z-]*:elasticloadbalancing:.+:targetgroup/.+$"))]
    pub target_group_arn: String,
    /// The container that receives the traffic.
    #[schemars(length(min = 1, max = 255))]
    pub container_name: String,
    /// The container's port that receives the traffic (one of its portMappings).
    #[schemars(range(min = 1, max = 65535))]
    pub container_port: i32,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceRegistry {
    /// The Cloud Map service (ARN) the tasks are registered in.
    #[schemars(regex(pattern = r"^arn:aws[a-z-]*:servicediscovery:.+$"))]
    pub registry_arn: String,
    /// The port for SRV records, when the Cloud Map service uses them and the task uses awsvpc.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<i32>,
    /// The container whose port goes into the SRV records (with containerPort, instead of port).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_name: Option<String>,
    /// The container port for the SRV records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub container_port: Option<i32>,
}

/// Observed state of the ECS service.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct FargateServiceStatus {
    /// `Ready`, `Progressing` (rollouts), and `Reconciling` / `Stalled` as kstatus reads them.
    #[serde(default)]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` the controller last acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `true` once the controller has adopted an AWS resource it did not create (`spec.adoption`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adopted: Option<bool>,
    /// ARN of the ECS service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// Name of the ECS service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    /// ARN of the cluster the service runs in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_arn: Option<String>,
    /// Region the service runs in (its cluster's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The task definition the service runs (its primary deployment's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_definition_arn: Option<String>,
    /// The service's desired count in ECS (the spec's, or the scaler's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_count: Option<i32>,
    /// Tasks RUNNING, as ECS counts them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running_count: Option<i32>,
    /// Tasks PENDING, as ECS counts them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_count: Option<i32>,
    /// The primary deployment's rollout state: IN_PROGRESS, COMPLETED or FAILED.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout_state: Option<String>,
    /// ECS's explanation of `rolloutState`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout_state_reason: Option<String>,
    /// The newest service event's message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_event: Option<String>,
    /// A task definition whose rollout failed (circuit breaker): not retried until the spec or the
    /// referenced TaskDefinition changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_task_definition_arn: Option<String>,
    /// What owns desiredCount, when something does: a ScalingPolicy (its name), or a scalable target
    /// no ScalingPolicy owns (`ScalableTarget service/<cluster>/<name>`, found when the spec's count
    /// differs from the service's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaled_by: Option<String>,
    /// The hash of the `spec.volumeConfigurations` last sent to ECS, compared with the spec where ECS
    /// does not report the service's volumes (DescribeServices shows them on deployments only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_configurations_applied: Option<String>,
    /// The hash of the `spec.vpcLatticeConfigurations` last sent to ECS (compared as
    /// `volumeConfigurationsApplied` is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc_lattice_configurations_applied: Option<String>,
    /// The last `spec.forceNewDeployment` handled: sent with UpdateService forceNewDeployment, or
    /// present when the service was created or first seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forced_deployment: Option<String>,
    /// The FargateProfile that selects this object (its defaults and guard rails apply), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// The last value of the `ecs.kubefargate.dev/reconcile-requested-at` annotation handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
    /// The AWS account the object's resources live in, recorded at its first successful reconcile. If
    /// the namespace's account mapping later points elsewhere, the object is refused (`NoAwsAccount`)
    /// rather than recreated in the other account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// How many times the controller created the ECS service for this object. Part of the
    /// CreateService client token: a recreate after the service was deleted behind the controller's
    /// back is a new request, never an idempotent replay of the first one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creations: Option<i32>,
    /// Whether the service's capacity provider strategy is one the spec (or its FargateProfile) set.
    /// When such a strategy is then removed from the spec, the removal is applied: the service moves
    /// to its cluster's default strategy, or to the FARGATE launch type when the cluster has none. A
    /// strategy the spec never named is not managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_provider_strategy_applied: Option<bool>,
}
