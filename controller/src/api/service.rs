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
    /// How a rollout replaces tasks: the strategy (rolling, blue/green, linear, canary), the healthy and
    /// maximum percentages, the circuit breaker, CloudWatch alarms and lifecycle hooks. Fields left out
    /// keep the service's values.
    // Boxed, as `service_connect_configuration`: rarely set, and a cached service held them inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_configuration: Option<Box<DeploymentConfiguration>>,
    /// Who rolls out new task definitions: `ECS` (ECS's own rolling, blue/green, linear or canary
    /// deployments), `CODE_DEPLOY` (AWS CodeDeploy blue/green deployments) or `EXTERNAL` (task sets made
    /// by another tool). With CODE_DEPLOY or EXTERNAL the controller never changes the service's task
    /// definition, network, platform version or load balancers (ECS refuses that in UpdateService): the
    /// rollout belongs to CodeDeploy or the external tool, and the status says so
    /// (`status.deploymentController`). Left out: not managed (ECS's default for a new service).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_controller: Option<DeploymentController>,
    /// Service Connect: the Cloud Map namespace (left out: the cluster's `serviceConnectDefaults`) and
    /// the task definition's named ports this service offers to, and reaches, other services. A change
    /// is rolled out with a new deployment. Left out: not managed.
    // Boxed: 176 bytes in every cached service (200 for `deployment_configuration`) where most set none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_connect_configuration: Option<Box<ServiceConnectConfiguration>>,
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

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(self.minimumHealthyPercent) || !has(self.maximumPercent) || self.minimumHealthyPercent <= self.maximumPercent").message("minimumHealthyPercent must be <= maximumPercent"))]
// LinearConfiguration: "Only valid when the deployment strategy is LINEAR"; CanaryConfiguration: "Only
// valid when the deployment strategy is CANARY" (ECS API reference, DeploymentConfiguration).
#[x_kube(validation = Rule::new("!has(self.linearConfiguration) || (has(self.strategy) && self.strategy == 'LINEAR')").message("deploymentConfiguration.linearConfiguration: only with strategy LINEAR"))]
#[x_kube(validation = Rule::new("!has(self.canaryConfiguration) || (has(self.strategy) && self.strategy == 'CANARY')").message("deploymentConfiguration.canaryConfiguration: only with strategy CANARY"))]
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
    /// `ROLLING` (ECS's default: tasks are replaced in place), `BLUE_GREEN` (a full new revision, then
    /// all traffic at once), `LINEAR` (traffic in equal steps) or `CANARY` (a share first, then the
    /// rest). Blue/green, linear and canary need load balancers with `advancedConfiguration` or
    /// Service Connect; the status shows the lifecycle stage while they run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["ROLLING", "BLUE_GREEN", "LINEAR", "CANARY"]))]
    pub strategy: Option<String>,
    /// Minutes both revisions keep running after production traffic moved (blue/green, linear,
    /// canary), so a rollback is instant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub bake_time_in_minutes: Option<i32>,
    /// Custom logic (a Lambda function) or a pause at stages of a blue/green, linear or canary rollout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle_hooks: Option<Vec<DeploymentLifecycleHook>>,
    /// With strategy LINEAR: the share of production traffic moved in each step and the wait between steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linear_configuration: Option<LinearConfiguration>,
    /// With strategy CANARY: the share of production traffic moved first and the wait before the rest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_configuration: Option<CanaryConfiguration>,
    /// With strategy ROLLING: declare a rollout successful once a share of the new tasks is healthy,
    /// instead of waiting for the service to settle completely.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub early_success_criteria: Option<EarlySuccessCriteria>,
}

/// Who rolls out the service's new task definitions.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct DeploymentController {
    /// `ECS`, `CODE_DEPLOY` or `EXTERNAL`.
    #[serde(rename = "type")]
    #[schemars(extend("enum" = ["ECS", "CODE_DEPLOY", "EXTERNAL"]))]
    pub type_: String,
}

/// A lifecycle hook of a blue/green, linear or canary rollout.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
// DeploymentLifecycleHook.hookTargetArn: "You must provide this parameter when configuring an AWS_LAMBDA
// lifecycle hook" (AWS_LAMBDA is the default target type).
#[x_kube(validation = Rule::new("(has(self.targetType) && self.targetType == 'PAUSE') || has(self.hookTargetArn)").message("lifecycleHooks[].hookTargetArn: required for an AWS_LAMBDA hook (the default targetType)"))]
// (A PAUSE hook at TEST_TRAFFIC_SHIFT or PRODUCTION_TRAFFIC_SHIFT is refused by the plan: as a CEL rule
// over an unbounded list of hooks its estimated cost exceeds the apiserver's budget.)
pub struct DeploymentLifecycleHook {
    /// `AWS_LAMBDA` (default: invoke a Lambda function) or `PAUSE` (wait for ContinueServiceDeployment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["AWS_LAMBDA", "PAUSE"]))]
    pub target_type: Option<String>,
    /// The Lambda function (ARN) of an AWS_LAMBDA hook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook_target_arn: Option<String>,
    /// The role ECS uses to invoke the Lambda function.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// The stages the hook runs at: RECONCILE_SERVICE, PRE_SCALE_UP, POST_SCALE_UP, TEST_TRAFFIC_SHIFT,
    /// POST_TEST_TRAFFIC_SHIFT, PRE_PRODUCTION_TRAFFIC_SHIFT, PRODUCTION_TRAFFIC_SHIFT,
    /// POST_PRODUCTION_TRAFFIC_SHIFT.
    #[schemars(length(min = 1), extend("items" = {"type": "string", "enum": ["RECONCILE_SERVICE", "PRE_SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT", "POST_TEST_TRAFFIC_SHIFT", "PRE_PRODUCTION_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT"]}))]
    pub lifecycle_stages: Vec<String>,
    /// Parameters ECS passes to the Lambda function on each invocation (any JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
    pub hook_details: Option<serde_json::Value>,
    /// How long ECS waits for the hook, and what it does then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_configuration: Option<LifecycleHookTimeout>,
}

/// How long a lifecycle hook may take.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LifecycleHookTimeout {
    /// Minutes ECS waits for the hook (ECS's default: 1440).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_in_minutes: Option<i32>,
    /// `CONTINUE` or `ROLLBACK` (ECS's default) when the hook times out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["CONTINUE", "ROLLBACK"]))]
    pub action: Option<String>,
}

/// The steps of a LINEAR rollout.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LinearConfiguration {
    /// Percent of production traffic moved in each step (ECS: "multiples of 0.1 from 3.0 to 100.0";
    /// default 10.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 3.0, max = 100.0))]
    pub step_percent: Option<f64>,
    /// Minutes between steps (ECS: "0 to 1440"; default 6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 1440))]
    pub step_bake_time_in_minutes: Option<i32>,
}

/// The canary of a CANARY rollout.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CanaryConfiguration {
    /// Percent of production traffic moved first (ECS: "multiples of 0.1 from 0.1 to 100.0"; default 5.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.1, max = 100.0))]
    pub canary_percent: Option<f64>,
    /// Minutes before the remaining traffic moves (ECS: "0 to 1440"; default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 1440))]
    pub canary_bake_time_in_minutes: Option<i32>,
}

/// When a rolling rollout counts as successful.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EarlySuccessCriteria {
    /// Use the early success criteria.
    pub enable: bool,
    /// Percent of the desired count that must be healthy (ECS: "an integer between 0 and 100").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100))]
    pub healthy_percent: Option<i32>,
    /// `BLOCKING` (old tasks stopped before success is declared) or `DEFERRED` (after).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["BLOCKING", "DEFERRED"]))]
    pub source_service_revision_cleanup: Option<String>,
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
    /// For blue/green, linear and canary rollouts: the alternate target group and the listener rules
    /// ECS moves traffic with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advanced_configuration: Option<AdvancedConfiguration>,
}

/// The second target group and the listener rules of an ECS blue/green, linear or canary rollout.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdvancedConfiguration {
    /// The target group (ARN) the new revision's tasks register with.
    pub alternate_target_group_arn: String,
    /// The production listener rule (Application Load Balancer) or listener (Network Load Balancer).
    pub production_listener_rule: String,
    /// The listener rule or listener for test traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_listener_rule: Option<String>,
    /// The role ECS uses to call Elastic Load Balancing.
    pub role_arn: String,
}

/// Service Connect for one service.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceConnectConfiguration {
    /// Turn Service Connect on for the service.
    pub enabled: bool,
    /// The Cloud Map namespace (name or ARN). Left out: the cluster's `serviceConnectDefaults`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The endpoints this service offers to others (left out: a client only, reaching the others).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub services: Option<Vec<ServiceConnectService>>,
    /// The Service Connect proxy's log configuration (as a container's `logConfiguration`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_configuration: Option<super::task_definition::LogConfiguration>,
    /// The proxy's access logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_log_configuration: Option<ServiceConnectAccessLogConfiguration>,
}

/// One endpoint a service offers through Service Connect.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceConnectService {
    /// The `name` of one of the task definition's port mappings.
    #[schemars(length(min = 1))]
    pub port_name: String,
    /// The name in the namespace (default: the port name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovery_name: Option<String>,
    /// The names and ports clients use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_aliases: Option<Vec<ServiceConnectClientAlias>>,
    /// The port the proxy listens on (default: the port mapping's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 65535))]
    pub ingress_port_override: Option<i32>,
    /// The proxy's timeouts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<ServiceConnectTimeout>,
    /// TLS between the proxies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<ServiceConnectTls>,
}

/// A name and port clients reach a Service Connect endpoint by.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceConnectClientAlias {
    /// The port clients use.
    #[schemars(range(min = 1, max = 65535))]
    pub port: i32,
    /// The DNS name clients use (default: the discovery name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_name: Option<String>,
    /// For blue/green rollouts: the header that sends a request to the new revision as test traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_traffic_rules: Option<ServiceConnectTestTrafficRules>,
}

/// How Service Connect recognises test traffic.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct ServiceConnectTestTrafficRules {
    /// The header to match.
    pub header: ServiceConnectTestTrafficHeader,
}

/// A header that marks test traffic.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct ServiceConnectTestTrafficHeader {
    /// The header's name.
    pub name: String,
    /// The value to match (left out: the header's presence).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<ServiceConnectHeaderValue>,
}

/// A header value to match.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct ServiceConnectHeaderValue {
    /// The exact value.
    pub exact: String,
}

/// The Service Connect proxy's timeouts.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceConnectTimeout {
    /// Seconds a connection may stay idle (0 turns the timeout off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub idle_timeout_seconds: Option<i32>,
    /// Seconds for a whole request (HTTP, HTTP/2, gRPC; 0 turns it off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub per_request_timeout_seconds: Option<i32>,
}

/// TLS for a Service Connect endpoint.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceConnectTls {
    /// The AWS Private CA that issues the certificates.
    pub issuer_certificate_authority: ServiceConnectCertificateAuthority,
    /// The KMS key (ARN or alias) that protects the private keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key: Option<String>,
    /// The role ECS uses for the certificate authority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
}

/// The certificate authority of Service Connect TLS.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceConnectCertificateAuthority {
    /// The AWS Private CA (ARN).
    pub aws_pca_authority_arn: String,
}

/// The Service Connect proxy's access logs.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceConnectAccessLogConfiguration {
    /// `TEXT` or `JSON`.
    #[schemars(extend("enum" = ["TEXT", "JSON"]))]
    pub format: String,
    /// `ENABLED` or `DISABLED`: log query parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["ENABLED", "DISABLED"]))]
    pub include_query_parameters: Option<String>,
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
    /// The hash of the `spec.serviceConnectConfiguration` last sent to ECS (compared as
    /// `volumeConfigurationsApplied` is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_connect_configuration_applied: Option<String>,
    /// The service's deployment controller as ECS reports it (`ECS`, `CODE_DEPLOY`, `EXTERNAL`). With
    /// CODE_DEPLOY or EXTERNAL, rollouts belong to CodeDeploy or the external tool, not to the controller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_controller: Option<String>,
    /// The lifecycle stage of a blue/green, linear or canary rollout in progress (DescribeServiceDeployments),
    /// e.g. `TEST_TRAFFIC_SHIFT`, `BAKE_TIME`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle_stage: Option<String>,
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
