//! `ScalingPolicy`: the Application Auto Scaling setup of one FargateService (service namespace `ecs`,
//! dimension `ecs:service:DesiredCount`): its scalable target, target-tracking and step policies, and
//! scheduled actions.

use super::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
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
#[x_kube(validation = Rule::new("has(self.serviceRef) == has(oldSelf.serviceRef) && has(self.resourceId) == has(oldSelf.resourceId) && (!has(self.serviceRef) || self.serviceRef == oldSelf.serviceRef) && (!has(self.resourceId) || self.resourceId == oldSelf.resourceId)").message("the target service of a ScalingPolicy is immutable: create a new ScalingPolicy instead"))]
#[x_kube(validation = Rule::new("!has(self.targetTracking) || !has(self.stepScaling) || self.targetTracking.all(t, !self.stepScaling.exists(s, s.name == t.name))").message("policy names must be unique across targetTracking and stepScaling"))]
#[x_kube(validation = Rule::new("has(self.region) == has(oldSelf.region) && (!has(self.region) || self.region == oldSelf.region)").message("region is immutable: create a new ScalingPolicy instead"))]
pub struct ScalingPolicySpec {
    /// Name of a FargateService in this namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_ref: Option<super::service::LocalRef>,
    /// `service/<cluster>/<service>` for a service not managed here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^service/[a-zA-Z0-9_-]+/[a-zA-Z0-9_-]+$"))]
    pub resource_id: Option<String>,
    /// Fewest tasks the scaler may set.
    #[schemars(range(min = 0, max = 5000))]
    pub min_capacity: i32,
    /// Most tasks the scaler may set.
    #[schemars(range(min = 0, max = 5000))]
    pub max_capacity: i32,
    /// Pause parts of the scaling (e.g. during an incident or a migration). Left out: not managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspended_state: Option<SuspendedState>,
    /// Target-tracking policies: keep a metric near a target value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 10))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["name".into()]))]
    pub target_tracking: Option<Vec<TargetTrackingPolicy>>,
    /// Step-scaling policies, driven by CloudWatch alarms you attach to them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 10))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["name".into()]))]
    pub step_scaling: Option<Vec<StepScalingPolicy>>,
    /// Capacity changes on a schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 20))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["name".into()]))]
    pub scheduled_actions: Option<Vec<ScheduledAction>>,
    /// AWS region of the scalable target. With `serviceRef` it is the service's region; when set, it must
    /// match it. With `resourceId` it defaults to the controller's region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-z]{2}(-[a-z]+)+-\d$"))]
    pub region: Option<String>,
    /// Adoption, deletion and management policies (`adoption`, `deletionPolicy`, `managementPolicy`).
    #[serde(flatten)]
    pub policies: super::Policies,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SuspendedState {
    /// Stop target-tracking and step policies from removing tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic_scaling_in_suspended: Option<bool>,
    /// Stop target-tracking and step policies from adding tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic_scaling_out_suspended: Option<bool>,
    /// Stop scheduled actions from running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_scaling_suspended: Option<bool>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.predefinedMetric) != has(self.customizedMetric)").message("set exactly one of predefinedMetric or customizedMetric"))]
#[x_kube(validation = Rule::new("self.targetValue > 0.0").message("targetValue must be greater than 0"))]
pub struct TargetTrackingPolicy {
    /// Policy name, unique on the service.
    #[schemars(length(min = 1, max = 256), regex(pattern = r"^[a-zA-Z0-9_.-]+$"))]
    pub name: String,
    /// The value the metric is kept near.
    pub target_value: f64,
    /// A metric AWS defines for ECS (CPU, memory, ALB requests per target). Set it or customizedMetric.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predefined_metric: Option<PredefinedMetric>,
    /// A CloudWatch metric of your own to track, instead of a predefined one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customized_metric: Option<CustomizedMetric>,
    /// Seconds after a scale-in before another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 86400))]
    pub scale_in_cooldown: Option<i32>,
    /// Seconds after a scale-out before another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 86400))]
    pub scale_out_cooldown: Option<i32>,
    /// Never remove tasks through this policy (only add); default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_scale_in: Option<bool>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.type != 'ALBRequestCountPerTarget' || (has(self.resourceLabel) && size(self.resourceLabel) > 0)").message("ALBRequestCountPerTarget needs resourceLabel (app/<load-balancer>/<id>/targetgroup/<target-group>/<id>)"))]
pub struct PredefinedMetric {
    /// `ECSServiceAverageCPUUtilization`, `ECSServiceAverageMemoryUtilization` or `ALBRequestCountPerTarget` (AWS name: predefinedMetricType).
    #[serde(rename = "type")]
    #[schemars(extend("enum" = ["ECSServiceAverageCPUUtilization", "ECSServiceAverageMemoryUtilization", "ALBRequestCountPerTarget"]))]
    pub type_: String,
    /// For ALBRequestCountPerTarget: `app/<load-balancer>/<id>/targetgroup/<target-group>/<id>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1023))]
    pub resource_label: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomizedMetric {
    /// The CloudWatch metric's name.
    pub metric_name: String,
    /// The CloudWatch metric's namespace, e.g. `MyApp/Queue`.
    pub namespace: String,
    /// `Average`, `Minimum`, `Maximum`, `SampleCount` or `Sum`.
    #[schemars(extend("enum" = ["Average", "Minimum", "Maximum", "SampleCount", "Sum"]))]
    pub statistic: String,
    /// The metric's unit, e.g. `Count`, `Percent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// The metric's dimensions, as it is published.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dimensions: Vec<MetricDimension>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct MetricDimension {
    /// The dimension's name.
    pub name: String,
    /// The dimension's value.
    pub value: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(self.minAdjustmentMagnitude) || self.adjustmentType == 'PercentChangeInCapacity'").message("minAdjustmentMagnitude applies only to adjustmentType PercentChangeInCapacity"))]
pub struct StepScalingPolicy {
    /// Policy name, unique on the service.
    #[schemars(length(min = 1, max = 256), regex(pattern = r"^[a-zA-Z0-9_.-]+$"))]
    pub name: String,
    /// `ChangeInCapacity`, `ExactCapacity` or `PercentChangeInCapacity`.
    #[schemars(extend("enum" = ["ChangeInCapacity", "ExactCapacity", "PercentChangeInCapacity"]))]
    pub adjustment_type: String,
    /// The steps: how much to scale for each range of the alarm's metric, relative to its threshold.
    #[schemars(length(min = 1, max = 20))]
    pub step_adjustments: Vec<StepAdjustment>,
    /// Seconds after a scaling activity before another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 86400))]
    pub cooldown: Option<i32>,
    /// `Average`, `Minimum` or `Maximum`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["Average", "Minimum", "Maximum"]))]
    pub metric_aggregation_type: Option<String>,
    /// With PercentChangeInCapacity, the least number of tasks a step changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub min_adjustment_magnitude: Option<i32>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(self.metricIntervalLowerBound) || !has(self.metricIntervalUpperBound) || self.metricIntervalLowerBound < self.metricIntervalUpperBound").message("metricIntervalLowerBound must be below metricIntervalUpperBound"))]
pub struct StepAdjustment {
    /// The step's lower bound, as a difference from the alarm threshold (inclusive); left out: minus infinity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_interval_lower_bound: Option<f64>,
    /// The step's upper bound, as a difference from the alarm threshold (exclusive); left out: infinity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_interval_upper_bound: Option<f64>,
    /// How much to scale in this step: tasks, or percent, as adjustmentType says (negative scales in).
    pub scaling_adjustment: i32,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.schedule.matches('^(cron\\\\([^()]+\\\\)|rate\\\\([1-9][0-9]* (minute|minutes|hour|hours|day|days)\\\\)|at\\\\([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\\\))$')").message("schedule must be cron(<fields>), rate(<n> <minutes|hours|days>) or at(yyyy-mm-ddThh:mm:ss)"))]
#[x_kube(validation = Rule::new("has(self.minCapacity) || has(self.maxCapacity)").message("a scheduled action sets minCapacity, maxCapacity or both"))]
#[x_kube(validation = Rule::new("!has(self.minCapacity) || !has(self.maxCapacity) || self.minCapacity <= self.maxCapacity").message("scheduled action: minCapacity must be <= maxCapacity"))]
pub struct ScheduledAction {
    /// Action name, unique on the service.
    #[schemars(length(min = 1, max = 256), regex(pattern = r"^[a-zA-Z0-9_.-]+$"))]
    pub name: String,
    /// `cron(0 22 * * ? *)`, `rate(1 day)` or `at(2026-12-24T18:00:00)`.
    #[schemars(length(min = 1, max = 256))]
    pub schedule: String,
    /// IANA time zone of the schedule, e.g. `Europe/Berlin` (default UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub timezone: Option<String>,
    /// RFC 3339 time from which the action applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub start_time: Option<String>,
    /// RFC 3339 time after which the action no longer applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub end_time: Option<String>,
    /// The service's new minimum task count when the action runs (AWS: scalableTargetAction.minCapacity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 5000))]
    pub min_capacity: Option<i32>,
    /// The service's new maximum task count when the action runs (AWS: scalableTargetAction.maxCapacity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 5000))]
    pub max_capacity: Option<i32>,
}

/// One policy as AWS reports it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PolicyStatus {
    /// The policy's name.
    pub name: String,
    /// The policy's ARN.
    pub arn: String,
    /// The CloudWatch alarms Application Auto Scaling created for the policy (target tracking).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alarm_names: Vec<String>,
}

/// One scheduled action as AWS reports it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScheduledActionStatus {
    /// The scheduled action's name.
    pub name: String,
    /// The scheduled action's ARN.
    pub arn: String,
}

/// Observed state of the scaling setup.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScalingPolicyStatus {
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
    /// `service/<cluster>/<service>`: the scalable target's resource id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
    /// ARN of the scalable target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scalable_target_arn: Option<String>,
    /// Region of the scalable target (its service's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The target's scaling policies as Application Auto Scaling reports them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<PolicyStatus>,
    /// The target's scheduled actions as Application Auto Scaling reports them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scheduled_actions: Vec<ScheduledActionStatus>,
    /// The last value of the `ecs.kubefargate.dev/reconcile-requested-at` annotation handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
    /// The AWS account the object's resources live in, recorded at its first successful reconcile. If
    /// the namespace's account mapping later points elsewhere, the object is refused (`NoAwsAccount`)
    /// rather than recreated in the other account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
}
