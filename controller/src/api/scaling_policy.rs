//! `ScalingPolicy`: the Application Auto Scaling setup of one FargateService (service namespace `ecs`,
//! dimension `ecs:service:DesiredCount`): its scalable target, scaling policies (target tracking, step,
//! predictive) and scheduled actions. Fields carry Application Auto Scaling's own names, camelCased, so
//! what `aws application-autoscaling put-scaling-policy --cli-input-json` / `put-scheduled-action` takes
//! (and CloudFormation, ACK) pastes in.

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
#[x_kube(validation = Rule::new("has(self.region) == has(oldSelf.region) && (!has(self.region) || self.region == oldSelf.region)").message("region is immutable: create a new ScalingPolicy instead"))]
// Not an AWS rule: the fields of the API before it took AWS's names are refused rather than pruned, so a
// manifest written for the old API is not taken as "no policies" (which deletes the target's policies).
#[x_kube(validation = Rule::new("!has(self.targetTracking)").message("targetTracking was replaced by scalingPolicies (policyType TargetTrackingScaling, targetTrackingScalingPolicyConfiguration): see the CHANGELOG").field_path(".targetTracking"))]
#[x_kube(validation = Rule::new("!has(self.stepScaling)").message("stepScaling was replaced by scalingPolicies (policyType StepScaling, stepScalingPolicyConfiguration): see the CHANGELOG").field_path(".stepScaling"))]
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
    /// The scalable target's scaling policies, each as `aws application-autoscaling put-scaling-policy`
    /// takes it (AWS: the `ScalingPolicies` that DescribeScalingPolicies answers), keyed by `policyName`.
    /// Policies on the target that are not listed here are deleted; left out: the target has none.
    /// At most 50 (Application Auto Scaling's quota of scaling policies per scalable target).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 50))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["policyName".into()]))]
    pub scaling_policies: Option<Vec<PolicySpec>>,
    /// The scalable target's scheduled actions, each as `aws application-autoscaling put-scheduled-action`
    /// takes it, keyed by `scheduledActionName`. Actions on the target that are not listed here are
    /// deleted. At most 200 (the quota of scheduled actions per scalable target).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 200))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["scheduledActionName".into()]))]
    pub scheduled_actions: Option<Vec<ScheduledAction>>,
    /// Removed: target-tracking policies are `scalingPolicies` items with policyType
    /// TargetTrackingScaling (CHANGELOG). Refused when set; an object stored with it before the rename is
    /// kept (Stalled, nothing changed in AWS) until its manifest is rewritten.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "removed_field")]
    pub target_tracking: Option<serde_json::Value>,
    /// Removed: step-scaling policies are `scalingPolicies` items with policyType StepScaling
    /// (CHANGELOG). Refused when set; an object stored with it before the rename is kept (Stalled,
    /// nothing changed in AWS) until its manifest is rewritten.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "removed_field")]
    pub step_scaling: Option<serde_json::Value>,
    /// AWS region of the scalable target. With `serviceRef` it is the service's region; when set, it must
    /// match it. With `resourceId` it defaults to the controller's region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-z]{2}(-[a-z]+)+-\d$"))]
    pub region: Option<String>,
    /// Adoption, deletion and management policies (`adoption`, `deletionPolicy`, `managementPolicy`).
    #[serde(flatten)]
    pub policies: super::Policies,
}

/// The schema of a list the API no longer has: any items, kept as stored (not pruned) so that the
/// controller sees it and refuses to act on an object written for the old API.
fn removed_field(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": "array", "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}})
}

/// Drops the `default` that `#[serde(default)]` puts in a field's schema (the field stays required:
/// [`name_required`]).
fn no_default(schema: &mut schemars::Schema) {
    schema.remove("default");
}

/// A scheduled action's name is required (the list's key), though read as empty when missing.
fn name_required(schema: &mut schemars::Schema) {
    if let Some(required) = schema
        .ensure_object()
        .entry("required")
        .or_insert_with(|| serde_json::Value::Array(Vec::new()))
        .as_array_mut()
    {
        required.insert(0, "scheduledActionName".into());
    }
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

/// `TargetTrackingScaling`: keep a metric near a target value.
pub const TARGET_TRACKING: &str = "TargetTrackingScaling";
/// `StepScaling`: scale by steps when a CloudWatch alarm fires.
pub const STEP: &str = "StepScaling";
/// `PredictiveScaling`: scale ahead of the load forecast from the metric's history.
pub const PREDICTIVE: &str = "PredictiveScaling";

/// One scaling policy: the input of `aws application-autoscaling put-scaling-policy`, less the
/// scalable target (namespace `ecs`, dimension `ecs:service:DesiredCount`, the spec's service).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
// PutScalingPolicy, TargetTrackingScalingPolicyConfiguration: "This parameter is required if you are
// creating a policy and the policy type is TargetTrackingScaling" (and so for StepScaling and
// PredictiveScaling). A configuration of another type is never applied (AWS keeps the one of the
// policy's type), so it is refused rather than silently dropped.
#[x_kube(validation = Rule::new("(self.policyType == 'TargetTrackingScaling') == has(self.targetTrackingScalingPolicyConfiguration)").message("targetTrackingScalingPolicyConfiguration is required with policyType TargetTrackingScaling and not allowed with another policyType").field_path(".targetTrackingScalingPolicyConfiguration"))]
#[x_kube(validation = Rule::new("(self.policyType == 'StepScaling') == has(self.stepScalingPolicyConfiguration)").message("stepScalingPolicyConfiguration is required with policyType StepScaling and not allowed with another policyType").field_path(".stepScalingPolicyConfiguration"))]
#[x_kube(validation = Rule::new("(self.policyType == 'PredictiveScaling') == has(self.predictiveScalingPolicyConfiguration)").message("predictiveScalingPolicyConfiguration is required with policyType PredictiveScaling and not allowed with another policyType").field_path(".predictiveScalingPolicyConfiguration"))]
pub struct PolicySpec {
    /// The name of the scaling policy, unique on the service (AWS: PolicyName, 1-256 printable ASCII
    /// characters, `\p{Print}+`). Renaming a policy deletes the old one and creates the new one.
    #[schemars(length(min = 1, max = 256), regex(pattern = r"^[\x20-\x7E]+$"))]
    pub policy_name: String,
    /// `TargetTrackingScaling`, `StepScaling` or `PredictiveScaling`; set the configuration of that
    /// type, and only it.
    #[schemars(extend("enum" = ["TargetTrackingScaling", "StepScaling", "PredictiveScaling"]))]
    pub policy_type: String,
    /// With policyType TargetTrackingScaling: keep a metric near a target value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_tracking_scaling_policy_configuration: Option<TargetTrackingScalingPolicyConfiguration>,
    /// With policyType StepScaling: the steps a CloudWatch alarm you attach to the policy applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_scaling_policy_configuration: Option<StepScalingPolicyConfiguration>,
    /// With policyType PredictiveScaling: scale ahead of the load forecast from the metric's history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predictive_scaling_policy_configuration: Option<PredictiveScalingPolicyConfiguration>,
}

/// A target-tracking configuration (AWS: TargetTrackingScalingPolicyConfiguration).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
// TargetTrackingScalingPolicyConfiguration: "A predefined metric. You can specify either a predefined
// metric or a customized metric."
#[x_kube(validation = Rule::new("has(self.predefinedMetricSpecification) != has(self.customizedMetricSpecification)").message("set exactly one of predefinedMetricSpecification or customizedMetricSpecification"))]
// TargetTrackingScalingPolicyConfiguration, TargetValue: "Values must be in the range of -2^360 to
// 2^360" (2^360 = 2.348542582773833e108).
#[x_kube(validation = Rule::new("self.targetValue >= -2.348542582773833e108 && self.targetValue <= 2.348542582773833e108").message("targetValue must be in the range of -2^360 to 2^360").field_path(".targetValue"))]
pub struct TargetTrackingScalingPolicyConfiguration {
    /// The value the metric is kept near (a percentage for the utilization metrics, requests per target
    /// per minute for ALBRequestCountPerTarget).
    pub target_value: f64,
    /// A metric AWS defines for ECS services (CPU, memory, ALB requests per target). Set it or
    /// customizedMetricSpecification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predefined_metric_specification: Option<PredefinedMetricSpecification>,
    /// A CloudWatch metric of your own, or a metric math expression over several (`metrics`), instead
    /// of a predefined metric.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customized_metric_specification: Option<CustomizedMetricSpecification>,
    /// Seconds after a scale-in before another. Left out: AWS's default, not managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 86400))]
    pub scale_in_cooldown: Option<i32>,
    /// Seconds after a scale-out before another. Left out: AWS's default, not managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 86400))]
    pub scale_out_cooldown: Option<i32>,
    /// Never remove tasks through this policy (only add); default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_scale_in: Option<bool>,
}

/// A predefined metric of target tracking (AWS: PredefinedMetricSpecification).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
// PredefinedMetricSpecification, ResourceLabel: "Identifies the resource associated with the metric
// type": the target group whose requests ALBRequestCountPerTarget counts; "You can't specify a
// resource label unless the metric type is ALBRequestCountPerTarget".
#[x_kube(validation = Rule::new("self.predefinedMetricType != 'ALBRequestCountPerTarget' || (has(self.resourceLabel) && size(self.resourceLabel) > 0)").message("predefinedMetricType ALBRequestCountPerTarget needs resourceLabel (app/<load-balancer>/<id>/targetgroup/<target-group>/<id>)").field_path(".resourceLabel"))]
#[x_kube(validation = Rule::new("!has(self.resourceLabel) || self.predefinedMetricType == 'ALBRequestCountPerTarget'").message("resourceLabel is only for predefinedMetricType ALBRequestCountPerTarget").field_path(".resourceLabel"))]
pub struct PredefinedMetricSpecification {
    /// `ECSServiceAverageCPUUtilization`, `ECSServiceAverageMemoryUtilization`,
    /// `ALBRequestCountPerTarget`, or the 20-second `ECSServiceAverageCPUUtilizationHighResolution` /
    /// `ECSServiceAverageMemoryUtilizationHighResolution` (the metric types AWS takes for ECS services).
    #[schemars(extend("enum" = ["ECSServiceAverageCPUUtilization", "ECSServiceAverageMemoryUtilization", "ALBRequestCountPerTarget", "ECSServiceAverageCPUUtilizationHighResolution", "ECSServiceAverageMemoryUtilizationHighResolution"]))]
    pub predefined_metric_type: String,
    /// For ALBRequestCountPerTarget: `app/<load-balancer>/<id>/targetgroup/<target-group>/<id>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 1023))]
    pub resource_label: Option<String>,
}

/// A CloudWatch metric of your own for target tracking (AWS: CustomizedMetricSpecification): either
/// one metric (`metricName`, `namespace`, `statistic`, `dimensions`, `unit`) or a metric math
/// expression over several (`metrics`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomizedMetricSpecification {
    /// The CloudWatch metric's name (one metric, without `metrics`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_name: Option<String>,
    /// The CloudWatch metric's namespace, e.g. `MyApp/Queue` (one metric, without `metrics`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// `Average`, `Minimum`, `Maximum`, `SampleCount` or `Sum` (one metric, without `metrics`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["Average", "Minimum", "Maximum", "SampleCount", "Sum"]))]
    pub statistic: Option<String>,
    /// The metric's unit, e.g. `Count`, `Percent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// The metric's dimensions, as it is published (compared in any order).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dimensions: Vec<MetricDimension>,
    /// Metric math: the metrics and expressions, keyed by `id`, whose one result with `returnData`
    /// true (the final expression) is tracked. Instead of metricName, namespace and statistic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["id".into()]))]
    pub metrics: Option<Vec<MetricDataQuery>>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct MetricDimension {
    /// The dimension's name.
    pub name: String,
    /// The dimension's value.
    pub value: String,
}

/// One metric or expression of metric math (AWS: TargetTrackingMetricDataQuery for target tracking,
/// PredictiveScalingMetricDataQuery for predictive scaling; the same fields).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
// TargetTrackingMetricDataQuery / PredictiveScalingMetricDataQuery: "Within each MetricDataQuery
// object, you must specify either Expression or MetricStat, but not both."
#[x_kube(validation = Rule::new("has(self.expression) != has(self.metricStat)").message("set exactly one of expression or metricStat"))]
pub struct MetricDataQuery {
    /// A short name for the result, unique in the list: letters, numbers and underscores, starting with
    /// a lowercase letter. Expressions refer to other results by it.
    // Id: "The valid characters are letters, numbers, and underscores. The first character must be a
    // lowercase letter." (CloudWatch's MetricDataQuery Id: 1-255 characters.)
    #[schemars(length(min = 1, max = 255), regex(pattern = r"^[a-z][a-zA-Z0-9_]*$"))]
    pub id: String,
    /// A metric math expression over the other results' ids, e.g. `m1 / m2 * 100`. Set it or metricStat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    /// A CloudWatch metric and the statistic to take of it. Set it or expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_stat: Option<MetricStat>,
    /// A human-readable label for the result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Whether this is the result scaled on: true for the final expression only, false for the
    /// others; left out with a single metric and no math (AWS's default is true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_data: Option<bool>,
}

/// A CloudWatch metric and its statistic (AWS: TargetTrackingMetricStat / PredictiveScalingMetricStat).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MetricStat {
    /// The CloudWatch metric: name, namespace and dimensions, as ListMetrics shows it.
    pub metric: Metric,
    /// The statistic: any CloudWatch statistic or extended statistic, e.g. `Average`, `Sum`, `p90`.
    pub stat: String,
    /// The unit of the returned data points, e.g. `Count`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

/// A CloudWatch metric (AWS: TargetTrackingMetric / PredictiveScalingMetric).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Metric {
    /// The metric's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_name: Option<String>,
    /// The metric's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The metric's dimensions, as it is published (compared in any order).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dimensions: Vec<MetricDimension>,
}

/// A step-scaling configuration (AWS: StepScalingPolicyConfiguration).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
// StepScalingPolicyConfiguration, MinAdjustmentMagnitude: "The minimum value to scale by when the
// adjustment type is PercentChangeInCapacity."
#[x_kube(validation = Rule::new("!has(self.minAdjustmentMagnitude) || self.adjustmentType == 'PercentChangeInCapacity'").message("minAdjustmentMagnitude applies only to adjustmentType PercentChangeInCapacity").field_path(".minAdjustmentMagnitude"))]
pub struct StepScalingPolicyConfiguration {
    /// `ChangeInCapacity`, `ExactCapacity` or `PercentChangeInCapacity`.
    #[schemars(extend("enum" = ["ChangeInCapacity", "ExactCapacity", "PercentChangeInCapacity"]))]
    pub adjustment_type: String,
    /// The steps: how much to scale for each range of the alarm's metric, relative to its threshold
    /// (compared in any order). At most 20 (AWS's quota of step adjustments per policy).
    #[schemars(length(min = 1, max = 20))]
    pub step_adjustments: Vec<StepAdjustment>,
    /// With PercentChangeInCapacity, the least number of tasks a step changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub min_adjustment_magnitude: Option<i32>,
    /// Seconds after a scaling activity before another. Left out: AWS's default, not managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 86400))]
    pub cooldown: Option<i32>,
    /// `Average`, `Minimum` or `Maximum`. Left out: AWS's default (Average), not managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["Average", "Minimum", "Maximum"]))]
    pub metric_aggregation_type: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
// StepAdjustment, MetricIntervalUpperBound: "The upper bound must be greater than the lower bound."
#[x_kube(validation = Rule::new("!has(self.metricIntervalLowerBound) || !has(self.metricIntervalUpperBound) || self.metricIntervalLowerBound < self.metricIntervalUpperBound").message("metricIntervalLowerBound must be below metricIntervalUpperBound").field_path(".metricIntervalUpperBound"))]
// StepAdjustment: "The upper and lower bound can't be null in the same step adjustment."
#[x_kube(validation = Rule::new("has(self.metricIntervalLowerBound) || has(self.metricIntervalUpperBound)").message("set metricIntervalLowerBound, metricIntervalUpperBound or both: they can't both be left out"))]
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

/// A predictive-scaling configuration (AWS: PredictiveScalingPolicyConfiguration).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
// PredictiveScalingPolicyConfiguration, MaxCapacityBuffer: "Required if the MaxCapacityBreachBehavior
// property is set to IncreaseMaxCapacity, and cannot be used otherwise."
#[x_kube(validation = Rule::new("has(self.maxCapacityBuffer) == (has(self.maxCapacityBreachBehavior) && self.maxCapacityBreachBehavior == 'IncreaseMaxCapacity')").message("maxCapacityBuffer is required with maxCapacityBreachBehavior IncreaseMaxCapacity and cannot be used otherwise").field_path(".maxCapacityBuffer"))]
pub struct PredictiveScalingPolicyConfiguration {
    /// The metrics and target utilization to forecast and scale on. One item: AWS takes a list but
    /// "currently only support[s] a single metric specification".
    #[schemars(length(min = 1, max = 1))]
    pub metric_specifications: Vec<PredictiveScalingMetricSpecification>,
    /// `ForecastOnly` (forecast, do not scale; AWS's default) or `ForecastAndScale`. Left out: not managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["ForecastOnly", "ForecastAndScale"]))]
    pub mode: Option<String>,
    /// Seconds by which capacity is added ahead of the forecast (below the forecast interval of 3600;
    /// AWS's default 300). Left out: not managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 3600))]
    pub scheduling_buffer_time: Option<i32>,
    /// `HonorMaxCapacity` (AWS's default) or `IncreaseMaxCapacity`: what to do when the forecast goes
    /// above maxCapacity. Left out: not managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["HonorMaxCapacity", "IncreaseMaxCapacity"]))]
    pub max_capacity_breach_behavior: Option<String>,
    /// With IncreaseMaxCapacity (and only with it): the headroom above the forecast, in percent of it,
    /// that maxCapacity may be raised to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100))]
    pub max_capacity_buffer: Option<i32>,
}

/// The metrics of a predictive policy and its target (AWS: PredictiveScalingMetricSpecification): a
/// metric pair, or a scaling metric and a load metric, each predefined or customized.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
// PredictiveScalingMetricSpecification: "You must specify either a metric pair, or a load metric and a
// scaling metric individually."
#[x_kube(validation = Rule::new("has(self.predefinedMetricPairSpecification) || ((has(self.predefinedScalingMetricSpecification) || has(self.customizedScalingMetricSpecification)) && (has(self.predefinedLoadMetricSpecification) || has(self.customizedLoadMetricSpecification)))").message("set predefinedMetricPairSpecification, or a scaling metric (predefinedScalingMetricSpecification or customizedScalingMetricSpecification) and a load metric (predefinedLoadMetricSpecification or customizedLoadMetricSpecification)"))]
pub struct PredictiveScalingMetricSpecification {
    /// The target utilization of the scaling metric.
    pub target_value: f64,
    /// A predefined pair of a load metric and a scaling metric: `ECSServiceCPUUtilization`,
    /// `ECSServiceMemoryUtilization` or `ALBRequestCount` (with resourceLabel).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predefined_metric_pair_specification: Option<PredictiveScalingPredefinedMetric>,
    /// A predefined scaling metric, e.g. `ECSServiceAverageCPUUtilization`,
    /// `ECSServiceAverageMemoryUtilization`, `ALBRequestCountPerTarget`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predefined_scaling_metric_specification: Option<PredictiveScalingPredefinedMetric>,
    /// A predefined load metric, e.g. `ECSServiceTotalCPUUtilization`,
    /// `ECSServiceTotalMemoryUtilization`, `ALBTargetGroupRequestCount`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predefined_load_metric_specification: Option<PredictiveScalingPredefinedMetric>,
    /// A scaling metric of your own, as metric data queries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customized_scaling_metric_specification: Option<PredictiveScalingCustomizedMetricSpecification>,
    /// A load metric of your own, as metric data queries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customized_load_metric_specification: Option<PredictiveScalingCustomizedMetricSpecification>,
    /// A capacity metric of your own, as metric data queries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customized_capacity_metric_specification: Option<PredictiveScalingCustomizedMetricSpecification>,
}

/// A predefined metric of predictive scaling (AWS: PredictiveScalingPredefinedMetricPairSpecification,
/// ...ScalingMetricSpecification, ...LoadMetricSpecification; the same fields).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PredictiveScalingPredefinedMetric {
    /// The metric type, e.g. `ECSServiceCPUUtilization` (pair), `ECSServiceAverageCPUUtilization`
    /// (scaling), `ECSServiceTotalCPUUtilization` (load).
    #[schemars(length(min = 1))]
    pub predefined_metric_type: String,
    /// For the ALB metric types: `app/<load-balancer>/<id>/targetgroup/<target-group>/<id>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 1023))]
    pub resource_label: Option<String>,
}

/// A metric of your own for predictive scaling (AWS: PredictiveScalingCustomizedMetricSpecification).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct PredictiveScalingCustomizedMetricSpecification {
    /// The metrics and expressions, keyed by `id`; one of them (with `returnData` true, or the only
    /// one) is the metric.
    #[schemars(length(min = 1))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["id".into()]))]
    pub metric_data_queries: Vec<MetricDataQuery>,
}

/// One scheduled action: the input of `aws application-autoscaling put-scheduled-action`, less the
/// scalable target.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
// PutScheduledAction, Schedule: "at(yyyy-mm-ddThh:mm:ss)", "rate(value unit)" (unit minute | minutes |
// hour | hours | day | days) and "cron(fields)".
#[x_kube(validation = Rule::new("self.schedule.matches('^(cron\\\\([^()]+\\\\)|rate\\\\([1-9][0-9]* (minute|minutes|hour|hours|day|days)\\\\)|at\\\\([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\\\))$')").message("schedule must be cron(<fields>), rate(<n> <minutes|hours|days>) or at(yyyy-mm-ddThh:mm:ss)").field_path(".schedule"))]
#[schemars(transform = name_required)]
pub struct ScheduledAction {
    /// The action's name, unique on the service (AWS: ScheduledActionName, 1-256 characters, no
    /// leading or trailing space, no control characters, no `:`, `/` or `|`).
    #[schemars(
        length(min = 1, max = 256),
        regex(pattern = r"^[^ \x00-\x1f\x7f-\x9f:/|]([^\x00-\x1f\x7f-\x9f:/|]*[^ \x00-\x1f\x7f-\x9f:/|])?$")
    )]
    // Read as empty from an action stored before the rename (its `name` pruned): the controller refuses
    // such an object instead of failing to read every ScalingPolicy.
    #[serde(default)]
    #[schemars(transform = no_default)]
    pub scheduled_action_name: String,
    /// `cron(0 22 * * ? *)`, `rate(1 day)` or `at(2026-12-24T18:00:00)`.
    #[schemars(length(min = 1, max = 1600))]
    pub schedule: String,
    /// IANA time zone of the schedule, e.g. `Europe/Berlin` (default UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 1600))]
    pub timezone: Option<String>,
    /// RFC 3339 time from which the action applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub start_time: Option<String>,
    /// RFC 3339 time after which the action no longer applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub end_time: Option<String>,
    /// The service's new capacity bounds when the action runs: minCapacity, maxCapacity or both.
    /// Left out: the action changes no bound (and AWS's is not managed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scalable_target_action: Option<ScalableTargetAction>,
}

/// The capacity bounds a scheduled action sets (AWS: ScalableTargetAction).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
// RegisterScalableTarget / PutScheduledAction answer "Minimum capacity cannot be greater than maximum
// capacity" (ValidationException) for a minimum above the maximum.
#[x_kube(validation = Rule::new("!has(self.minCapacity) || !has(self.maxCapacity) || self.minCapacity <= self.maxCapacity").message("scalableTargetAction: minCapacity must be <= maxCapacity").field_path(".minCapacity"))]
pub struct ScalableTargetAction {
    /// The service's new minimum task count when the action runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 5000))]
    pub min_capacity: Option<i32>,
    /// The service's new maximum task count when the action runs.
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
