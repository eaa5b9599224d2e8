//! The decisions of a ScalingPolicy reconcile, pure: from the spec and what AWS describes (the SDK's
//! own types), which changes to make ([`Action`]), whether a target named by `resourceId` may be taken,
//! what cleanup removes, and the status and state to report. No client, no context, no await: every
//! decision here is unit-tested on AWS-shaped data, including what moto cannot show.

use crate::api::scaling_policy::{
    CustomizedMetricSpecification, MetricDataQuery, MetricDimension, PREDICTIVE, PolicySpec, PolicyStatus,
    PredictiveScalingCustomizedMetricSpecification, PredictiveScalingMetricSpecification,
    PredictiveScalingPolicyConfiguration, PredictiveScalingPredefinedMetric, STEP,
    ScheduledAction as SpecAction, ScheduledActionStatus, StepScalingPolicyConfiguration, SuspendedState,
    TARGET_TRACKING, TargetTrackingScalingPolicyConfiguration,
};
use crate::api::{ScalingPolicy, ScalingPolicySpec, ScalingPolicyStatus};
use crate::aws::autoscaling::{NewScheduledAction, PolicyConfig};
use crate::runtime::conditions::reasons;
use crate::runtime::ownership::{self, Claim};
use crate::runtime::{Deref, Error, Note, State};
use aws_sdk_applicationautoscaling::types as sdk;
use aws_smithy_types::date_time::Format;
use kube::ResourceExt;

/// The scalable target as dereference found it: what the plan starts from.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Target {
    /// `service/<cluster>/<service>`.
    pub(super) resource_id: String,
    /// The region it is in (the service's, `spec.region`, or the account's default).
    pub(super) region: String,
    /// The scalable target as AWS describes it; `None` when none is registered.
    pub(super) current: Option<sdk::ScalableTarget>,
    /// Whether this reconcile takes over a target it did not register (`spec.adoption`).
    pub(super) claim: Claim,
}

/// One change to make in AWS.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Action {
    /// Take over a scalable target this object did not register: no AWS call, an Event.
    Adopt,
    /// Register the scalable target, or update its capacity and suspended state in place.
    RegisterTarget {
        min: i32,
        max: i32,
        suspended: Option<sdk::SuspendedState>,
    },
    /// Create or replace (same name, in place) a scaling policy.
    PutPolicy { name: String, config: PolicyConfig },
    /// Delete a scaling policy the spec does not list.
    DeletePolicy { name: String },
    /// Create or replace (same name, in place) a scheduled action.
    PutScheduled(NewScheduledAction),
    /// Delete a scheduled action the spec does not list.
    DeleteScheduled { name: String },
}

impl Action {
    /// The Event that tells the user about the change once it is made on target `id`.
    pub(super) fn note(&self, id: &str) -> Note {
        match self {
            Action::Adopt => Note::new(
                reasons::ADOPTED,
                format!("adopted the scalable target of {id} (spec.adoption)"),
            ),
            Action::RegisterTarget { min, max, .. } => Note::new(
                reasons::UPDATED,
                format!("registered scalable target {id} ({min}-{max} tasks)"),
            ),
            Action::PutPolicy { name, config } => {
                Note::new(reasons::UPDATED, format!("put {} policy {name}", kind_of(config)))
            }
            Action::DeletePolicy { name } => Note::new(
                reasons::UPDATED,
                format!("deleted scaling policy {name} (dropped from the spec)"),
            ),
            Action::PutScheduled(a) => {
                Note::new(reasons::UPDATED, format!("put scheduled action {}", a.name))
            }
            Action::DeleteScheduled { name } => Note::new(
                reasons::UPDATED,
                format!("deleted scheduled action {name} (dropped from the spec)"),
            ),
        }
    }
}

/// The changes of one step, in order, and the spec error met while planning them: it ends the
/// reconcile once the changes planned before it are made (the order the reconcile has always had:
/// an entry the spec gets wrong stops it where it is met).
#[derive(Debug, Default)]
pub(super) struct Changes {
    pub(super) actions: Vec<Action>,
    pub(super) invalid: Option<Error>,
}

impl FromIterator<Result<Action, Error>> for Changes {
    /// The actions up to the first error, and that error.
    fn from_iter<I: IntoIterator<Item = Result<Action, Error>>>(iter: I) -> Self {
        let mut changes = Changes::default();
        for item in iter {
            match item {
                Ok(action) => changes.actions.push(action),
                Err(e) => {
                    changes.invalid = Some(e);
                    break;
                }
            }
        }
        changes
    }
}

// ---- An object of the API before it took AWS's names ---------------------------------------------

/// Refuses, before any AWS call, an object stored before the API took AWS's names: its old fields
/// (`targetTracking`, `stepScaling`, a scheduled action's `name`) would otherwise read as "no policies"
/// or nameless actions, and the plan would delete the target's policies and scheduled actions.
pub(super) fn from_the_old_api(spec: &ScalingPolicySpec) -> Result<(), Error> {
    let mut old = Vec::new();
    if spec.target_tracking.is_some() {
        old.push("spec.targetTracking (now scalingPolicies with policyType TargetTrackingScaling)");
    }
    if spec.step_scaling.is_some() {
        old.push("spec.stepScaling (now scalingPolicies with policyType StepScaling)");
    }
    if spec
        .scheduled_actions
        .iter()
        .flatten()
        .any(|a| a.scheduled_action_name.is_empty())
    {
        old.push("spec.scheduledActions[].name, minCapacity, maxCapacity (now scheduledActionName and scalableTargetAction)");
    }
    if old.is_empty() {
        return Ok(());
    }
    Err(invalid(format!(
        "written for the ScalingPolicy API before it took Application Auto Scaling's names: {}; nothing was changed in AWS: rewrite the manifest (CHANGELOG) and apply it",
        old.join(", ")
    )))
}

// ---- Ownership: who may touch the target ------------------------------------------------------

/// The waiting state of a target that must exist (adoption `Adopt`, `ObserveOnly`) and does not.
pub(super) fn not_found(resource_id: &str) -> State {
    State::Waiting {
        reason: reasons::NOT_FOUND,
        message: format!(
            "{resource_id} has no scalable target; none is registered (adoption Adopt or ObserveOnly)"
        ),
        recheck: crate::runtime::RECHECK_NOT_FOUND,
    }
}

/// For a target named by `resourceId`, whose ECS service `service` exists (`what` names it): the
/// service must not belong to an object of another namespace; a scalable target this object did not
/// register is someone else's unless the spec asks for adoption; with `adoption: Adopt` a missing
/// target is waited for.
pub(super) fn claim(
    obj: &ScalingPolicy,
    service: &aws_sdk_ecs::types::Service,
    what: &str,
    resource_id: &str,
    current: Option<&sdk::ScalableTarget>,
    status: &ScalingPolicyStatus,
) -> Result<Deref<Claim>, Error> {
    let tag = |key: &str| crate::aws::ecs::tag_value(service.tags(), key);
    let ns = obj.namespace().unwrap_or_default();
    match (
        tag(crate::api::OWNER_NAMESPACE_TAG),
        tag(crate::api::OWNER_NAME_TAG),
    ) {
        // Managed by a FargateService of this namespace: its scalable target is this namespace's.
        (Some(n), Some(_)) if n == ns => return Ok(Deref::Ready(Claim::Owned)),
        (Some(n), name) => {
            return Err(Error::Terminal {
                reason: reasons::NOT_OWNED,
                message: format!(
                    "{what} belongs to FargateService {n}/{}; a ScalingPolicy may only scale services of its own namespace",
                    name.unwrap_or("?")
                ),
            });
        }
        (None, _) => {}
    }
    let registered_here = status.resource_id.as_deref() == Some(resource_id);
    if current.is_some() && !registered_here {
        let claim = ownership::claim::<ScalingPolicy>(
            &obj.spec.policies,
            &ownership::Owner::Unowned { previous_uid: None },
            &format!("the scalable target of {what}"),
        )?;
        return Ok(Deref::Ready(claim));
    }
    if current.is_none() && !registered_here && !ownership::may_create(&obj.spec.policies) {
        return Ok(Deref::Wait(not_found(resource_id)));
    }
    Ok(Deref::Ready(Claim::Owned))
}

/// What cleanup removes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Removal {
    /// The target status records: this object registered (or adopted) it.
    Recorded {
        resource_id: String,
        region: Option<String>,
    },
    /// Nothing: this object never held a target.
    Nothing,
    /// The target the spec names (nothing recorded: never applied, or a crash right after registering).
    SpecTarget,
}

/// What cleanup removes, from status and whether this object lost the one-per-service check to an
/// older policy (`lost_conflict`, confirmed with the API server when the caches say no).
pub(super) fn removal(status: &ScalingPolicyStatus, lost_conflict: bool) -> Removal {
    // A policy that lost the one-per-service check must not remove the winner's setup, even when it
    // recorded the target (it registered before its cache showed the older policy).
    if lost_conflict {
        return Removal::Nothing;
    }
    if let Some(id) = &status.resource_id {
        return Removal::Recorded {
            resource_id: id.clone(),
            region: status.region.clone(),
        };
    }
    // Refused as someone else's: it never was this object's to remove.
    if crate::api::conditions::find(&status.conditions, crate::api::conditions::READY)
        .is_some_and(|c| c.reason == reasons::NOT_OWNED)
    {
        return Removal::Nothing;
    }
    Removal::SpecTarget
}

// ---- The scalable target ----------------------------------------------------------------------

/// Adopt the target when the claim says so; register it when it is missing or differs from the spec.
pub(super) fn scalable_target(spec: &ScalingPolicySpec, target: &Target) -> Changes {
    let mut actions = Vec::new();
    if target.claim == Claim::Adopt {
        actions.push(Action::Adopt);
    }
    let matches = target.current.as_ref().is_some_and(|t| {
        target_matches(
            t,
            spec.min_capacity,
            spec.max_capacity,
            spec.suspended_state.as_ref(),
        )
    });
    if !matches {
        actions.push(Action::RegisterTarget {
            min: spec.min_capacity,
            max: spec.max_capacity,
            suspended: spec.suspended_state.as_ref().map(suspended_state),
        });
    }
    Changes {
        actions,
        invalid: None,
    }
}

fn suspended_state(s: &SuspendedState) -> sdk::SuspendedState {
    sdk::SuspendedState::builder()
        .set_dynamic_scaling_in_suspended(s.dynamic_scaling_in_suspended)
        .set_dynamic_scaling_out_suspended(s.dynamic_scaling_out_suspended)
        .set_scheduled_scaling_suspended(s.scheduled_scaling_suspended)
        .build()
}

/// Capacity always; of the suspended state only what the spec sets (unset in AWS is `false`).
fn target_matches(t: &sdk::ScalableTarget, min: i32, max: i32, suspended: Option<&SuspendedState>) -> bool {
    let same = |want: Option<bool>, have: Option<bool>| want.is_none_or(|w| w == have.unwrap_or(false));
    t.min_capacity() == min
        && t.max_capacity() == max
        && suspended.is_none_or(|s| {
            let h = t.suspended_state();
            same(
                s.dynamic_scaling_in_suspended,
                h.and_then(|h| h.dynamic_scaling_in_suspended()),
            ) && same(
                s.dynamic_scaling_out_suspended,
                h.and_then(|h| h.dynamic_scaling_out_suspended()),
            ) && same(
                s.scheduled_scaling_suspended,
                h.and_then(|h| h.scheduled_scaling_suspended()),
            )
        })
}

// ---- Policies ---------------------------------------------------------------------------------

/// What a policy configuration is, as the Events and logs name it.
pub(super) fn kind_of(config: &PolicyConfig) -> &'static str {
    match config {
        PolicyConfig::TargetTracking(_) => "target-tracking",
        PolicyConfig::Step(_) => "step-scaling",
        PolicyConfig::Predictive(_) => "predictive-scaling",
    }
}

/// Put what is missing or differs (in the spec's order), then delete what the spec does not list.
pub(super) fn policies(spec: &ScalingPolicySpec, existing: &[sdk::ScalingPolicy]) -> Changes {
    let have = |name: &str| existing.iter().find(|p| p.policy_name() == name);
    let puts = spec
        .scaling_policies
        .iter()
        .flatten()
        .filter(|p| have(&p.policy_name).is_none_or(|h| !policy_matches(p, h)))
        .map(|p| {
            Ok(Action::PutPolicy {
                name: p.policy_name.clone(),
                config: policy_config(p)?,
            })
        });
    let dropped = existing
        .iter()
        .filter(|p| !wanted_policy(spec, p.policy_name()))
        .map(|p| {
            Ok(Action::DeletePolicy {
                name: p.policy_name().to_string(),
            })
        });
    puts.chain(dropped).collect()
}

fn wanted_policy(spec: &ScalingPolicySpec, name: &str) -> bool {
    spec.scaling_policies
        .iter()
        .flatten()
        .any(|p| p.policy_name == name)
}

fn invalid(e: impl std::fmt::Display) -> Error {
    Error::Terminal {
        reason: reasons::INVALID_SPEC,
        message: e.to_string(),
    }
}

fn missing(policy: &PolicySpec, field: &str) -> Error {
    invalid(format!(
        "scalingPolicies {}: policyType {} needs {field}",
        policy.policy_name, policy.policy_type
    ))
}

/// The configuration PutScalingPolicy is sent for a spec policy: the one of its policyType (admission
/// refuses a policy without it; an object written before that rule is refused here).
pub(super) fn policy_config(p: &PolicySpec) -> Result<PolicyConfig, Error> {
    fn given<'a, C>(p: &PolicySpec, c: &'a Option<C>, field: &str) -> Result<&'a C, Error> {
        c.as_ref().ok_or_else(|| missing(p, field))
    }
    Ok(match p.policy_type.as_str() {
        TARGET_TRACKING => PolicyConfig::TargetTracking(target_tracking(given(
            p,
            &p.target_tracking_scaling_policy_configuration,
            "targetTrackingScalingPolicyConfiguration",
        )?)?),
        STEP => PolicyConfig::Step(step(given(
            p,
            &p.step_scaling_policy_configuration,
            "stepScalingPolicyConfiguration",
        )?)?),
        PREDICTIVE => PolicyConfig::Predictive(predictive(given(
            p,
            &p.predictive_scaling_policy_configuration,
            "predictiveScalingPolicyConfiguration",
        )?)?),
        other => {
            return Err(invalid(format!(
                "scalingPolicies {}: unknown policyType {other}",
                p.policy_name
            )));
        }
    })
}

/// Whether AWS's policy is the spec's: same type, and of its configuration what the user set.
fn policy_matches(want: &PolicySpec, have: &sdk::ScalingPolicy) -> bool {
    if have.policy_type().as_str() != want.policy_type {
        return false;
    }
    match want.policy_type.as_str() {
        TARGET_TRACKING => want
            .target_tracking_scaling_policy_configuration
            .as_ref()
            .zip(have.target_tracking_scaling_policy_configuration())
            .is_some_and(|(w, h)| target_tracking_matches(w, h)),
        STEP => want
            .step_scaling_policy_configuration
            .as_ref()
            .zip(have.step_scaling_policy_configuration())
            .is_some_and(|(w, h)| step_matches(w, h)),
        PREDICTIVE => want
            .predictive_scaling_policy_configuration
            .as_ref()
            .zip(have.predictive_scaling_policy_configuration())
            .is_some_and(|(w, h)| predictive_matches(w, h)),
        _ => false,
    }
}

/// A wanted optional value is managed only when set.
fn same_if_set<T: PartialEq + ?Sized>(want: Option<&T>, have: Option<&T>) -> bool {
    want.is_none_or(|w| Some(w) == have)
}

/// The same items in any order (each wanted item matched by a distinct one AWS has).
fn same_items<W, H>(want: &[W], have: &[H], eq: impl Fn(&W, &H) -> bool) -> bool {
    if want.len() != have.len() {
        return false;
    }
    let mut used = vec![false; have.len()];
    want.iter().all(|w| {
        let hit = have.iter().enumerate().position(|(i, h)| !used[i] && eq(w, h));
        if let Some(i) = hit {
            used[i] = true;
        }
        hit.is_some()
    })
}

fn dimensions_match(want: &[MetricDimension], have: &[(&str, &str)]) -> bool {
    same_items(want, have, |w, (n, v)| w.name == *n && w.value == *v)
}

fn target_tracking(
    t: &TargetTrackingScalingPolicyConfiguration,
) -> Result<sdk::TargetTrackingScalingPolicyConfiguration, Error> {
    sdk::TargetTrackingScalingPolicyConfiguration::builder()
        .target_value(t.target_value)
        .set_predefined_metric_specification(
            t.predefined_metric_specification
                .as_ref()
                .map(|m| {
                    sdk::PredefinedMetricSpecification::builder()
                        .predefined_metric_type(sdk::MetricType::from(m.predefined_metric_type.as_str()))
                        .set_resource_label(m.resource_label.clone())
                        .build()
                })
                .transpose()
                .map_err(invalid)?,
        )
        .set_customized_metric_specification(
            t.customized_metric_specification
                .as_ref()
                .map(customized_metric)
                .transpose()?,
        )
        .set_scale_in_cooldown(t.scale_in_cooldown)
        .set_scale_out_cooldown(t.scale_out_cooldown)
        .set_disable_scale_in(t.disable_scale_in)
        .build()
        .map_err(invalid)
}

fn customized_metric(m: &CustomizedMetricSpecification) -> Result<sdk::CustomizedMetricSpecification, Error> {
    let dimensions = m
        .dimensions
        .iter()
        .map(|d| {
            sdk::MetricDimension::builder()
                .name(&d.name)
                .value(&d.value)
                .build()
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(invalid)?;
    let metrics = m
        .metrics
        .as_ref()
        .map(|queries| {
            queries
                .iter()
                .map(target_tracking_query)
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    Ok(sdk::CustomizedMetricSpecification::builder()
        .set_metric_name(m.metric_name.clone())
        .set_namespace(m.namespace.clone())
        .set_statistic(m.statistic.as_deref().map(sdk::MetricStatistic::from))
        .set_unit(m.unit.clone())
        .set_dimensions((!dimensions.is_empty()).then_some(dimensions))
        .set_metrics(metrics)
        .build())
}

/// `$name`: one metric data query of the spec as the SDK's `$query` (target tracking's and predictive
/// scaling's shapes have the same fields under different type names).
macro_rules! metric_query {
    ($name:ident, $query:ident, $stat:ident, $metric:ident, $dimension:ident) => {
        fn $name(q: &MetricDataQuery) -> Result<sdk::$query, Error> {
            let stat = q
                .metric_stat
                .as_ref()
                .map(|s| -> Result<_, Error> {
                    let dimensions = s
                        .metric
                        .dimensions
                        .iter()
                        .map(|d| {
                            sdk::$dimension::builder()
                                .name(&d.name)
                                .value(&d.value)
                                .build()
                        })
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(invalid)?;
                    sdk::$stat::builder()
                        .metric(
                            sdk::$metric::builder()
                                .set_metric_name(s.metric.metric_name.clone())
                                .set_namespace(s.metric.namespace.clone())
                                .set_dimensions((!dimensions.is_empty()).then_some(dimensions))
                                .build(),
                        )
                        .stat(&s.stat)
                        .set_unit(s.unit.clone())
                        .build()
                        .map_err(invalid)
                })
                .transpose()?;
            sdk::$query::builder()
                .id(&q.id)
                .set_expression(q.expression.clone())
                .set_label(q.label.clone())
                .set_metric_stat(stat)
                .set_return_data(q.return_data)
                .build()
                .map_err(invalid)
        }
    };
}

metric_query!(
    target_tracking_query,
    TargetTrackingMetricDataQuery,
    TargetTrackingMetricStat,
    TargetTrackingMetric,
    TargetTrackingMetricDimension
);
metric_query!(
    predictive_query,
    PredictiveScalingMetricDataQuery,
    PredictiveScalingMetricStat,
    PredictiveScalingMetric,
    PredictiveScalingMetricDimension
);

/// A metric data query as both SDK shapes (target tracking's and predictive scaling's) read, for one
/// comparison with the spec's.
struct QueryView<'a> {
    id: &'a str,
    expression: Option<&'a str>,
    label: Option<&'a str>,
    return_data: Option<bool>,
    /// Metric name, namespace, dimensions, stat, unit.
    stat: Option<StatView<'a>>,
}

struct StatView<'a> {
    metric_name: Option<&'a str>,
    namespace: Option<&'a str>,
    dimensions: Vec<(&'a str, &'a str)>,
    stat: &'a str,
    unit: Option<&'a str>,
}

/// `$name`: the SDK's `$query` read as a [`QueryView`] (the two shapes' accessors have the same names).
macro_rules! query_view {
    ($name:ident, $query:ident, $lt:lifetime) => {
        fn $name(q: &$lt sdk::$query) -> Self {
            QueryView {
                id: q.id(),
                expression: q.expression(),
                label: q.label(),
                return_data: q.return_data(),
                stat: q.metric_stat().map(|s| StatView {
                    metric_name: s.metric().and_then(|m| m.metric_name()),
                    namespace: s.metric().and_then(|m| m.namespace()),
                    dimensions: s
                        .metric()
                        .map(|m| m.dimensions().iter().map(|d| (d.name(), d.value())).collect())
                        .unwrap_or_default(),
                    stat: s.stat(),
                    unit: s.unit(),
                }),
            }
        }
    };
}

impl<'a> QueryView<'a> {
    query_view!(of_target_tracking, TargetTrackingMetricDataQuery, 'a);
    query_view!(of_predictive, PredictiveScalingMetricDataQuery, 'a);
}

/// The spec's queries against AWS's, keyed by id (in any order): expression and metric always, label,
/// unit and returnData when set (AWS's returnData defaults to true).
fn queries_match(want: &[MetricDataQuery], have: &[QueryView<'_>]) -> bool {
    same_items(want, have, |w, h| {
        w.id == h.id
            && w.expression.as_deref() == h.expression
            && same_if_set(w.label.as_deref(), h.label)
            && w.return_data.is_none_or(|r| r == h.return_data.unwrap_or(true))
            && match (&w.metric_stat, &h.stat) {
                (None, None) => true,
                (Some(w), Some(h)) => {
                    w.stat == h.stat
                        && same_if_set(w.unit.as_deref(), h.unit)
                        && w.metric.metric_name.as_deref() == h.metric_name
                        && w.metric.namespace.as_deref() == h.namespace
                        && dimensions_match(&w.metric.dimensions, &h.dimensions)
                }
                _ => false,
            }
    })
}

/// Compares only what the user set (AWS may fill in cooldowns and `disableScaleIn: false`).
fn target_tracking_matches(
    want: &TargetTrackingScalingPolicyConfiguration,
    h: &sdk::TargetTrackingScalingPolicyConfiguration,
) -> bool {
    let predefined_same = match (
        &want.predefined_metric_specification,
        h.predefined_metric_specification(),
    ) {
        (Some(w), Some(h)) => {
            w.predefined_metric_type == h.predefined_metric_type().as_str()
                && w.resource_label.as_deref() == h.resource_label()
        }
        (None, None) => true,
        _ => false,
    };
    let customized_same = match (
        &want.customized_metric_specification,
        h.customized_metric_specification(),
    ) {
        (Some(w), Some(h)) => {
            let have_dimensions: Vec<_> = h.dimensions().iter().map(|d| (d.name(), d.value())).collect();
            let have_metrics: Vec<_> = h.metrics().iter().map(QueryView::of_target_tracking).collect();
            w.metric_name.as_deref() == h.metric_name()
                && w.namespace.as_deref() == h.namespace()
                && w.statistic.as_deref() == h.statistic().map(|s| s.as_str())
                && same_if_set(w.unit.as_deref(), h.unit())
                && dimensions_match(&w.dimensions, &have_dimensions)
                && queries_match(w.metrics.as_deref().unwrap_or_default(), &have_metrics)
        }
        (None, None) => true,
        _ => false,
    };
    (want.target_value - h.target_value()).abs() < 1e-9
        && predefined_same
        && customized_same
        && want
            .scale_in_cooldown
            .is_none_or(|v| Some(v) == h.scale_in_cooldown())
        && want
            .scale_out_cooldown
            .is_none_or(|v| Some(v) == h.scale_out_cooldown())
        && want.disable_scale_in.unwrap_or(false) == h.disable_scale_in().unwrap_or(false)
}

fn step(s: &StepScalingPolicyConfiguration) -> Result<sdk::StepScalingPolicyConfiguration, Error> {
    Ok(sdk::StepScalingPolicyConfiguration::builder()
        .adjustment_type(sdk::AdjustmentType::from(s.adjustment_type.as_str()))
        .set_step_adjustments(Some(
            s.step_adjustments
                .iter()
                .map(|a| {
                    sdk::StepAdjustment::builder()
                        .set_metric_interval_lower_bound(a.metric_interval_lower_bound)
                        .set_metric_interval_upper_bound(a.metric_interval_upper_bound)
                        .scaling_adjustment(a.scaling_adjustment)
                        .build()
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(invalid)?,
        ))
        .set_cooldown(s.cooldown)
        .set_metric_aggregation_type(
            s.metric_aggregation_type
                .as_deref()
                .map(sdk::MetricAggregationType::from),
        )
        .set_min_adjustment_magnitude(s.min_adjustment_magnitude)
        .build())
}

/// Compares the adjustment type and the steps (in any order: each is a range of the metric), and of
/// the rest only what the user set.
fn step_matches(want: &StepScalingPolicyConfiguration, h: &sdk::StepScalingPolicyConfiguration) -> bool {
    let steps_same = same_items(&want.step_adjustments, h.step_adjustments(), |w, h| {
        w.metric_interval_lower_bound == h.metric_interval_lower_bound()
            && w.metric_interval_upper_bound == h.metric_interval_upper_bound()
            && w.scaling_adjustment == h.scaling_adjustment()
    });
    Some(want.adjustment_type.as_str()) == h.adjustment_type().map(|a| a.as_str())
        && steps_same
        && want.cooldown.is_none_or(|v| Some(v) == h.cooldown())
        && want
            .metric_aggregation_type
            .as_deref()
            .is_none_or(|v| Some(v) == h.metric_aggregation_type().map(|m| m.as_str()))
        && want
            .min_adjustment_magnitude
            .is_none_or(|v| Some(v) == h.min_adjustment_magnitude())
}

fn predictive(
    p: &PredictiveScalingPolicyConfiguration,
) -> Result<sdk::PredictiveScalingPolicyConfiguration, Error> {
    sdk::PredictiveScalingPolicyConfiguration::builder()
        .set_metric_specifications(Some(
            p.metric_specifications
                .iter()
                .map(predictive_metric_specification)
                .collect::<Result<Vec<_>, _>>()?,
        ))
        .set_mode(p.mode.as_deref().map(sdk::PredictiveScalingMode::from))
        .set_scheduling_buffer_time(p.scheduling_buffer_time)
        .set_max_capacity_breach_behavior(
            p.max_capacity_breach_behavior
                .as_deref()
                .map(sdk::PredictiveScalingMaxCapacityBreachBehavior::from),
        )
        .set_max_capacity_buffer(p.max_capacity_buffer)
        .build()
        .map_err(invalid)
}

fn predictive_metric_specification(
    m: &PredictiveScalingMetricSpecification,
) -> Result<sdk::PredictiveScalingMetricSpecification, Error> {
    let customized = |c: &Option<PredictiveScalingCustomizedMetricSpecification>| {
        c.as_ref()
            .map(|c| {
                sdk::PredictiveScalingCustomizedMetricSpecification::builder()
                    .set_metric_data_queries(Some(
                        c.metric_data_queries
                            .iter()
                            .map(predictive_query)
                            .collect::<Result<Vec<_>, _>>()?,
                    ))
                    .build()
                    .map_err(invalid)
            })
            .transpose()
    };
    // The three predefined specifications: the same fields under different SDK type names.
    macro_rules! predefined {
        ($spec:expr, $sdk:ident) => {
            $spec
                .as_ref()
                .map(|p| {
                    sdk::$sdk::builder()
                        .predefined_metric_type(&p.predefined_metric_type)
                        .set_resource_label(p.resource_label.clone())
                        .build()
                })
                .transpose()
                .map_err(invalid)?
        };
    }
    sdk::PredictiveScalingMetricSpecification::builder()
        .target_value(m.target_value)
        .set_predefined_metric_pair_specification(predefined!(
            m.predefined_metric_pair_specification,
            PredictiveScalingPredefinedMetricPairSpecification
        ))
        .set_predefined_scaling_metric_specification(predefined!(
            m.predefined_scaling_metric_specification,
            PredictiveScalingPredefinedScalingMetricSpecification
        ))
        .set_predefined_load_metric_specification(predefined!(
            m.predefined_load_metric_specification,
            PredictiveScalingPredefinedLoadMetricSpecification
        ))
        .set_customized_scaling_metric_specification(customized(&m.customized_scaling_metric_specification)?)
        .set_customized_load_metric_specification(customized(&m.customized_load_metric_specification)?)
        .set_customized_capacity_metric_specification(customized(
            &m.customized_capacity_metric_specification,
        )?)
        .build()
        .map_err(invalid)
}

/// Compares the metric specifications (in any order) and, of the rest, what the user set.
fn predictive_matches(
    want: &PredictiveScalingPolicyConfiguration,
    h: &sdk::PredictiveScalingPolicyConfiguration,
) -> bool {
    same_items(
        &want.metric_specifications,
        h.metric_specifications(),
        predictive_spec_matches,
    ) && same_if_set(want.mode.as_deref(), h.mode().map(|m| m.as_str()))
        && want
            .scheduling_buffer_time
            .is_none_or(|v| Some(v) == h.scheduling_buffer_time())
        && same_if_set(
            want.max_capacity_breach_behavior.as_deref(),
            h.max_capacity_breach_behavior().map(|b| b.as_str()),
        )
        && want
            .max_capacity_buffer
            .is_none_or(|v| Some(v) == h.max_capacity_buffer())
}

/// The target and each metric: which are set, and what they say.
fn predictive_spec_matches(
    w: &PredictiveScalingMetricSpecification,
    h: &sdk::PredictiveScalingMetricSpecification,
) -> bool {
    let predefined =
        |w: &Option<PredictiveScalingPredefinedMetric>, h: Option<(&str, Option<&str>)>| match (w, h) {
            (Some(w), Some((t, label))) => {
                w.predefined_metric_type == t && w.resource_label.as_deref() == label
            }
            (None, None) => true,
            _ => false,
        };
    let customized =
        |w: &Option<PredictiveScalingCustomizedMetricSpecification>,
         h: Option<&sdk::PredictiveScalingCustomizedMetricSpecification>| match (w, h) {
            (Some(w), Some(h)) => {
                let have: Vec<_> = h
                    .metric_data_queries()
                    .iter()
                    .map(QueryView::of_predictive)
                    .collect();
                queries_match(&w.metric_data_queries, &have)
            }
            (None, None) => true,
            _ => false,
        };
    (w.target_value - h.target_value()).abs() < 1e-9
        && predefined(
            &w.predefined_metric_pair_specification,
            h.predefined_metric_pair_specification()
                .map(|p| (p.predefined_metric_type(), p.resource_label())),
        )
        && predefined(
            &w.predefined_scaling_metric_specification,
            h.predefined_scaling_metric_specification()
                .map(|p| (p.predefined_metric_type(), p.resource_label())),
        )
        && predefined(
            &w.predefined_load_metric_specification,
            h.predefined_load_metric_specification()
                .map(|p| (p.predefined_metric_type(), p.resource_label())),
        )
        && customized(
            &w.customized_scaling_metric_specification,
            h.customized_scaling_metric_specification(),
        )
        && customized(
            &w.customized_load_metric_specification,
            h.customized_load_metric_specification(),
        )
        && customized(
            &w.customized_capacity_metric_specification,
            h.customized_capacity_metric_specification(),
        )
}

// ---- Scheduled actions ------------------------------------------------------------------------

/// Put what is missing or differs, then delete what the spec does not list.
pub(super) fn scheduled_actions(spec: &ScalingPolicySpec, existing: &[sdk::ScheduledAction]) -> Changes {
    let puts = spec
        .scheduled_actions
        .iter()
        .flatten()
        .filter(|a| {
            existing
                .iter()
                .find(|e| e.scheduled_action_name() == a.scheduled_action_name)
                .is_none_or(|e| !action_matches(a, e))
        })
        .map(|a| Ok(Action::PutScheduled(scheduled_action(a)?)));
    let dropped = existing
        .iter()
        .filter(|e| {
            !spec
                .scheduled_actions
                .iter()
                .flatten()
                .any(|a| a.scheduled_action_name == e.scheduled_action_name())
        })
        .map(|e| {
            Ok(Action::DeleteScheduled {
                name: e.scheduled_action_name().to_string(),
            })
        });
    puts.chain(dropped).collect()
}

fn parse_time(s: &Option<String>) -> Result<Option<aws_smithy_types::DateTime>, Error> {
    s.as_deref()
        .map(|t| aws_smithy_types::DateTime::from_str(t, Format::DateTime).map_err(invalid))
        .transpose()
}

fn scheduled_action(a: &SpecAction) -> Result<NewScheduledAction, Error> {
    Ok(NewScheduledAction {
        name: a.scheduled_action_name.clone(),
        schedule: a.schedule.clone(),
        timezone: a.timezone.clone(),
        start_time: parse_time(&a.start_time)?,
        end_time: parse_time(&a.end_time)?,
        action: a.scalable_target_action.as_ref().map(|t| {
            sdk::ScalableTargetAction::builder()
                .set_min_capacity(t.min_capacity)
                .set_max_capacity(t.max_capacity)
                .build()
        }),
    })
}

/// Times compare as instants (to the second), the time zone as UTC when unset; of the capacity bounds
/// only those the spec sets.
fn action_matches(want: &SpecAction, have: &sdk::ScheduledAction) -> bool {
    let Ok(w) = scheduled_action(want) else {
        return false;
    };
    let ha = have.scalable_target_action();
    w.schedule == have.schedule()
        && w.timezone.as_deref().unwrap_or("UTC") == have.timezone().unwrap_or("UTC")
        && w.start_time.as_ref().map(|t| t.secs()) == have.start_time().map(|t| t.secs())
        && w.end_time.as_ref().map(|t| t.secs()) == have.end_time().map(|t| t.secs())
        && w.action.as_ref().is_none_or(|wa| {
            wa.min_capacity()
                .is_none_or(|v| Some(v) == ha.and_then(|a| a.min_capacity()))
                && wa
                    .max_capacity()
                    .is_none_or(|v| Some(v) == ha.and_then(|a| a.max_capacity()))
        })
}

// ---- Status -----------------------------------------------------------------------------------

/// What status says of the target's policies, sorted by name.
fn policy_statuses(policies: &[sdk::ScalingPolicy]) -> Vec<PolicyStatus> {
    let mut out: Vec<PolicyStatus> = policies
        .iter()
        .map(|p| PolicyStatus {
            name: p.policy_name().to_string(),
            arn: p.policy_arn().to_string(),
            alarm_names: p.alarms().iter().map(|a| a.alarm_name().to_string()).collect(),
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// `managementPolicy: ObserveOnly`: the scalable target and its policies, reported as they are.
pub(super) fn observed(
    mut status: ScalingPolicyStatus,
    target: &Target,
    policies: &[sdk::ScalingPolicy],
) -> (ScalingPolicyStatus, State) {
    let id = target.resource_id.as_str();
    // Dereference waits for a missing target before anything is described; kept total here.
    let Some(current) = &target.current else {
        return (status, not_found(id));
    };
    status.resource_id = Some(id.to_string());
    status.scalable_target_arn = current.scalable_target_arn().map(str::to_string);
    status.region = Some(target.region.clone());
    status.policies = policy_statuses(policies);
    let message = format!(
        "{id} scales between {} and {} tasks with {} policies (managementPolicy ObserveOnly: observed, never changed)",
        current.min_capacity(),
        current.max_capacity(),
        status.policies.len()
    );
    let state = State::Ready {
        reason: reasons::OBSERVED,
        message,
    };
    (status, state)
}

/// The status of a converged target: `registered_arn` is what a registration answered (the described
/// target's ARN otherwise), `policies` and `actions` what AWS holds after the changes.
pub(super) fn report(
    mut status: ScalingPolicyStatus,
    spec: &ScalingPolicySpec,
    target: &Target,
    registered_arn: Option<String>,
    policies: &[sdk::ScalingPolicy],
    actions: &[sdk::ScheduledAction],
) -> (ScalingPolicyStatus, State) {
    let id = target.resource_id.as_str();
    if target.claim == Claim::Adopt {
        status.adopted = Some(true);
    }
    status.resource_id = Some(id.to_string());
    status.scalable_target_arn = registered_arn.or_else(|| {
        target
            .current
            .as_ref()
            .and_then(|t| t.scalable_target_arn().map(str::to_string))
    });
    status.region = Some(target.region.clone());
    status.policies = policy_statuses(policies);
    status.scheduled_actions = actions
        .iter()
        .map(|a| ScheduledActionStatus {
            name: a.scheduled_action_name().to_string(),
            arn: a.scheduled_action_arn().to_string(),
        })
        .collect();
    status.scheduled_actions.sort_by(|a, b| a.name.cmp(&b.name));
    let message = format!(
        "{id} scales between {} and {} tasks with {} policies and {} scheduled actions",
        spec.min_capacity,
        spec.max_capacity,
        status.policies.len(),
        status.scheduled_actions.len()
    );
    let state = State::Ready {
        reason: reasons::ACTIVE,
        message,
    };
    (status, state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::scaling_policy::{
        Metric, MetricStat, PredefinedMetricSpecification, ScalableTargetAction, StepAdjustment as SpecStep,
    };

    fn cpu(target: f64) -> PolicySpec {
        PolicySpec {
            policy_name: "cpu".into(),
            policy_type: TARGET_TRACKING.into(),
            target_tracking_scaling_policy_configuration: Some(TargetTrackingScalingPolicyConfiguration {
                target_value: target,
                predefined_metric_specification: Some(PredefinedMetricSpecification {
                    predefined_metric_type: "ECSServiceAverageCPUUtilization".into(),
                    resource_label: None,
                }),
                scale_in_cooldown: Some(60),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// The target-tracking configuration of a spec policy.
    fn tt(p: &mut PolicySpec) -> &mut TargetTrackingScalingPolicyConfiguration {
        p.target_tracking_scaling_policy_configuration
            .as_mut()
            .expect("a target-tracking policy")
    }

    fn as_aws(t: &PolicySpec, extra_defaults: bool) -> sdk::ScalingPolicy {
        let mut c = target_tracking(
            t.target_tracking_scaling_policy_configuration
                .as_ref()
                .expect("tt"),
        )
        .expect("builds");
        if extra_defaults {
            // What AWS reports back: defaults filled in.
            c = sdk::TargetTrackingScalingPolicyConfiguration::builder()
                .target_value(c.target_value())
                .set_predefined_metric_specification(c.predefined_metric_specification().cloned())
                .set_scale_in_cooldown(c.scale_in_cooldown())
                .scale_out_cooldown(300)
                .disable_scale_in(false)
                .build()
                .expect("builds");
        }
        sdk::ScalingPolicy::builder()
            .policy_name(&t.policy_name)
            .policy_arn("arn")
            .service_namespace(sdk::ServiceNamespace::Ecs)
            .resource_id("service/c/s")
            .scalable_dimension(sdk::ScalableDimension::EcsServiceDesiredCount)
            .policy_type(sdk::PolicyType::TargetTrackingScaling)
            .target_tracking_scaling_policy_configuration(c)
            .creation_time(aws_smithy_types::DateTime::from_secs(0))
            .build()
            .expect("builds")
    }

    #[test]
    fn aws_defaults_are_not_drift_but_a_new_target_value_is() {
        assert!(policy_matches(&cpu(50.0), &as_aws(&cpu(50.0), true)));
        assert!(!policy_matches(&cpu(60.0), &as_aws(&cpu(50.0), true)));
        let mut no_scale_in = cpu(50.0);
        tt(&mut no_scale_in).disable_scale_in = Some(true);
        assert!(!policy_matches(&no_scale_in, &as_aws(&cpu(50.0), true)));
    }

    #[test]
    fn scheduled_actions_compare_times_by_instant_and_utc_by_default() {
        let want = SpecAction {
            scheduled_action_name: "night".into(),
            schedule: "cron(0 22 * * ? *)".into(),
            start_time: Some("2026-12-01T00:00:00Z".into()),
            scalable_target_action: Some(ScalableTargetAction {
                min_capacity: Some(0),
                max_capacity: Some(1),
            }),
            ..Default::default()
        };
        let w = scheduled_action(&want).expect("valid");
        let have = sdk::ScheduledAction::builder()
            .scheduled_action_name("night")
            .scheduled_action_arn("arn")
            .service_namespace(sdk::ServiceNamespace::Ecs)
            .schedule("cron(0 22 * * ? *)")
            .resource_id("service/c/s")
            .set_start_time(w.start_time)
            .set_scalable_target_action(w.action.clone())
            .creation_time(aws_smithy_types::DateTime::from_secs(0))
            .build()
            .expect("builds");
        assert!(action_matches(&want, &have));
        let mut later = want.clone();
        later.scalable_target_action = Some(ScalableTargetAction {
            min_capacity: Some(0),
            max_capacity: Some(2),
        });
        assert!(!action_matches(&later, &have));
        assert!(
            scheduled_action(&SpecAction {
                start_time: Some("yesterday".into()),
                ..want
            })
            .is_err()
        );
    }

    // ---- AWS-shaped fixtures (SDK builders) ----------------------------------------------------

    const ID: &str = "service/main/web";

    fn spec(min: i32, max: i32) -> ScalingPolicySpec {
        ScalingPolicySpec {
            service_ref: Some(crate::api::service::LocalRef { name: "web".into() }),
            min_capacity: min,
            max_capacity: max,
            ..Default::default()
        }
    }

    fn described_target(min: i32, max: i32, suspended: Option<sdk::SuspendedState>) -> sdk::ScalableTarget {
        sdk::ScalableTarget::builder()
            .service_namespace(sdk::ServiceNamespace::Ecs)
            .resource_id(ID)
            .scalable_dimension(sdk::ScalableDimension::EcsServiceDesiredCount)
            .min_capacity(min)
            .max_capacity(max)
            .role_arn("arn:aws:iam::1:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService")
            .scalable_target_arn("arn:aws:application-autoscaling:us-east-1:1:scalable-target/described")
            .set_suspended_state(suspended)
            .creation_time(aws_smithy_types::DateTime::from_secs(0))
            .build()
            .expect("builds")
    }

    fn target(current: Option<sdk::ScalableTarget>, claim: Claim) -> Target {
        Target {
            resource_id: ID.into(),
            region: "eu-west-1".into(),
            current,
            claim,
        }
    }

    fn described_step(name: &str, adjustment: i32) -> sdk::ScalingPolicy {
        sdk::ScalingPolicy::builder()
            .policy_name(name)
            .policy_arn(format!("arn:policy/{name}"))
            .service_namespace(sdk::ServiceNamespace::Ecs)
            .resource_id(ID)
            .scalable_dimension(sdk::ScalableDimension::EcsServiceDesiredCount)
            .policy_type(sdk::PolicyType::StepScaling)
            .step_scaling_policy_configuration(
                sdk::StepScalingPolicyConfiguration::builder()
                    .adjustment_type(sdk::AdjustmentType::ChangeInCapacity)
                    .step_adjustments(
                        sdk::StepAdjustment::builder()
                            .metric_interval_lower_bound(0.0)
                            .scaling_adjustment(adjustment)
                            .build()
                            .expect("builds"),
                    )
                    // AWS fills these in when the spec leaves them out.
                    .cooldown(300)
                    .metric_aggregation_type(sdk::MetricAggregationType::Average)
                    .build(),
            )
            .creation_time(aws_smithy_types::DateTime::from_secs(0))
            .build()
            .expect("builds")
    }

    fn spec_step(name: &str, adjustment: i32) -> PolicySpec {
        PolicySpec {
            policy_name: name.into(),
            policy_type: STEP.into(),
            step_scaling_policy_configuration: Some(StepScalingPolicyConfiguration {
                adjustment_type: "ChangeInCapacity".into(),
                step_adjustments: vec![SpecStep {
                    metric_interval_lower_bound: Some(0.0),
                    metric_interval_upper_bound: None,
                    scaling_adjustment: adjustment,
                }],
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn night(start: Option<&str>) -> SpecAction {
        SpecAction {
            scheduled_action_name: "night".into(),
            schedule: "cron(0 22 * * ? *)".into(),
            start_time: start.map(str::to_string),
            scalable_target_action: Some(ScalableTargetAction {
                min_capacity: Some(0),
                max_capacity: Some(1),
            }),
            ..Default::default()
        }
    }

    fn described_action(
        name: &str,
        timezone: Option<&str>,
        start: Option<aws_smithy_types::DateTime>,
    ) -> sdk::ScheduledAction {
        sdk::ScheduledAction::builder()
            .scheduled_action_name(name)
            .scheduled_action_arn(format!("arn:action/{name}"))
            .service_namespace(sdk::ServiceNamespace::Ecs)
            .schedule("cron(0 22 * * ? *)")
            .set_timezone(timezone.map(str::to_string))
            .resource_id(ID)
            .scalable_dimension(sdk::ScalableDimension::EcsServiceDesiredCount)
            .set_start_time(start)
            .scalable_target_action(
                sdk::ScalableTargetAction::builder()
                    .min_capacity(0)
                    .max_capacity(1)
                    .build(),
            )
            .creation_time(aws_smithy_types::DateTime::from_secs(0))
            .build()
            .expect("builds")
    }

    fn names(changes: &Changes) -> Vec<String> {
        changes
            .actions
            .iter()
            .map(|a| match a {
                Action::Adopt => "adopt".to_string(),
                Action::RegisterTarget { min, max, .. } => format!("register {min}-{max}"),
                Action::PutPolicy { name, .. } => format!("put policy {name}"),
                Action::DeletePolicy { name } => format!("delete policy {name}"),
                Action::PutScheduled(a) => format!("put action {}", a.name),
                Action::DeleteScheduled { name } => format!("delete action {name}"),
            })
            .collect()
    }

    fn policy_obj(adoption: Option<crate::api::Adoption>) -> ScalingPolicy {
        let mut p = ScalingPolicy::new(
            "scaler",
            ScalingPolicySpec {
                resource_id: Some(ID.into()),
                policies: crate::api::Policies {
                    adoption,
                    ..Default::default()
                },
                ..spec(1, 4)
            },
        );
        p.spec.service_ref = None;
        p.metadata.namespace = Some("shop".into());
        p
    }

    fn ecs_service(owner: Option<(&str, &str)>) -> aws_sdk_ecs::types::Service {
        let mut b = aws_sdk_ecs::types::Service::builder().service_name("web");
        if let Some((ns, name)) = owner {
            b = b
                .tags(crate::aws::ecs::tag(crate::api::OWNER_NAMESPACE_TAG, ns))
                .tags(crate::aws::ecs::tag(crate::api::OWNER_NAME_TAG, name));
        }
        b.build()
    }

    fn terminal_reason(r: &Result<Deref<Claim>, Error>) -> Option<&'static str> {
        match r {
            Err(Error::Terminal { reason, .. }) => Some(reason),
            _ => None,
        }
    }

    // ---- Policies --------------------------------------------------------------------------------

    #[test]
    fn a_described_policy_with_aws_defaults_filled_in_is_left_alone() {
        let mut s = spec(1, 4);
        s.scaling_policies = Some(vec![cpu(50.0), spec_step("burst", 2)]);
        let described = [as_aws(&cpu(50.0), true), described_step("burst", 2)];
        let changes = policies(&s, &described);
        assert!(changes.actions.is_empty(), "{:?}", changes.actions);
        assert!(changes.invalid.is_none());
    }

    #[test]
    fn a_changed_target_value_puts_the_policy_again_under_its_name() {
        let mut s = spec(1, 4);
        s.scaling_policies = Some(vec![cpu(70.0)]);
        let changes = policies(&s, &[as_aws(&cpu(50.0), true)]);
        let [
            Action::PutPolicy {
                name,
                config: PolicyConfig::TargetTracking(c),
            },
        ] = changes.actions.as_slice()
        else {
            panic!("one target-tracking put expected: {:?}", changes.actions);
        };
        assert_eq!((name.as_str(), c.target_value()), ("cpu", 70.0));
    }

    #[test]
    fn a_changed_step_adjustment_puts_the_step_policy_again() {
        let mut s = spec(1, 4);
        s.scaling_policies = Some(vec![spec_step("burst", 3)]);
        let changes = policies(&s, &[described_step("burst", 2)]);
        assert_eq!(names(&changes), ["put policy burst"]);
        assert!(matches!(
            &changes.actions[0],
            Action::PutPolicy {
                config: PolicyConfig::Step(_),
                ..
            }
        ));
    }

    #[test]
    fn a_policy_in_aws_that_the_spec_does_not_list_is_deleted_after_the_puts() {
        let mut s = spec(1, 4);
        s.scaling_policies = Some(vec![cpu(70.0)]);
        let described = [described_step("made-by-hand", 1), as_aws(&cpu(50.0), true)];
        let changes = policies(&s, &described);
        assert_eq!(names(&changes), ["put policy cpu", "delete policy made-by-hand"]);
        assert_eq!(
            changes.actions[1].note(ID),
            Note::new(
                reasons::UPDATED,
                "deleted scaling policy made-by-hand (dropped from the spec)"
            )
        );
    }

    /// A target-tracking policy on metric math: the share of a queue's backlog per running task.
    fn backlog_math() -> PolicySpec {
        let metric = |name: &str| MetricStat {
            metric: Metric {
                metric_name: Some(name.into()),
                namespace: Some("MyApp/Queue".into()),
                dimensions: vec![
                    MetricDimension {
                        name: "Queue".into(),
                        value: "jobs".into(),
                    },
                    MetricDimension {
                        name: "Stage".into(),
                        value: "prod".into(),
                    },
                ],
            },
            stat: "Sum".into(),
            unit: None,
        };
        PolicySpec {
            policy_name: "backlog".into(),
            policy_type: TARGET_TRACKING.into(),
            target_tracking_scaling_policy_configuration: Some(TargetTrackingScalingPolicyConfiguration {
                target_value: 100.0,
                customized_metric_specification: Some(CustomizedMetricSpecification {
                    metrics: Some(vec![
                        MetricDataQuery {
                            id: "m1".into(),
                            metric_stat: Some(metric("Visible")),
                            return_data: Some(false),
                            ..Default::default()
                        },
                        MetricDataQuery {
                            id: "m2".into(),
                            metric_stat: Some(metric("Running")),
                            return_data: Some(false),
                            ..Default::default()
                        },
                        MetricDataQuery {
                            id: "e1".into(),
                            expression: Some("m1 / m2".into()),
                            label: Some("backlog per task".into()),
                            return_data: Some(true),
                            ..Default::default()
                        },
                    ]),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// A described target-tracking policy with the configuration `c`.
    fn described_tracking(
        name: &str,
        c: sdk::TargetTrackingScalingPolicyConfiguration,
    ) -> sdk::ScalingPolicy {
        sdk::ScalingPolicy::builder()
            .policy_name(name)
            .policy_arn(format!("arn:policy/{name}"))
            .service_namespace(sdk::ServiceNamespace::Ecs)
            .resource_id(ID)
            .scalable_dimension(sdk::ScalableDimension::EcsServiceDesiredCount)
            .policy_type(sdk::PolicyType::TargetTrackingScaling)
            .target_tracking_scaling_policy_configuration(c)
            .creation_time(aws_smithy_types::DateTime::from_secs(0))
            .build()
            .expect("builds")
    }

    fn aws_query(
        id: &str,
        expression: Option<&str>,
        metric: Option<&str>,
        ret: bool,
    ) -> sdk::TargetTrackingMetricDataQuery {
        // As AWS reports it: dimensions in another order than the spec's.
        let stat = metric.map(|name| {
            sdk::TargetTrackingMetricStat::builder()
                .metric(
                    sdk::TargetTrackingMetric::builder()
                        .metric_name(name)
                        .namespace("MyApp/Queue")
                        .dimensions(
                            sdk::TargetTrackingMetricDimension::builder()
                                .name("Stage")
                                .value("prod")
                                .build()
                                .expect("builds"),
                        )
                        .dimensions(
                            sdk::TargetTrackingMetricDimension::builder()
                                .name("Queue")
                                .value("jobs")
                                .build()
                                .expect("builds"),
                        )
                        .build(),
                )
                .stat("Sum")
                .build()
                .expect("builds")
        });
        sdk::TargetTrackingMetricDataQuery::builder()
            .id(id)
            .set_expression(expression.map(str::to_string))
            .set_label(expression.map(|_| "backlog per task".to_string()))
            .set_metric_stat(stat)
            .return_data(ret)
            .build()
            .expect("builds")
    }

    #[test]
    fn metric_math_is_sent_as_aws_takes_it_and_aws_reordering_it_is_not_drift() {
        let mut s = spec(1, 4);
        s.scaling_policies = Some(vec![backlog_math()]);
        let changes = policies(&s, &[]);
        let [
            Action::PutPolicy {
                name,
                config: PolicyConfig::TargetTracking(c),
            },
        ] = changes.actions.as_slice()
        else {
            panic!("one target-tracking put expected: {:?}", changes.actions);
        };
        assert_eq!(name, "backlog");
        let sent = c.customized_metric_specification().expect("a customized metric");
        // Metric math only: no single-metric fields, which AWS refuses next to `metrics`.
        assert_eq!(
            (sent.metric_name(), sent.namespace(), sent.statistic()),
            (None, None, None)
        );
        let ids: Vec<_> = sent.metrics().iter().map(|q| q.id()).collect();
        assert_eq!(ids, ["m1", "m2", "e1"]);
        let e1 = &sent.metrics()[2];
        assert_eq!(
            (e1.expression(), e1.label(), e1.return_data(), e1.metric_stat()),
            (Some("m1 / m2"), Some("backlog per task"), Some(true), None)
        );
        let m1 = sent.metrics()[0].metric_stat().expect("m1 is a metric");
        assert_eq!(m1.stat(), "Sum");
        let metric = m1.metric().expect("m1 names its metric");
        assert_eq!(
            (metric.metric_name(), metric.namespace()),
            (Some("Visible"), Some("MyApp/Queue"))
        );
        assert_eq!(metric.dimensions().len(), 2);
        assert_eq!(sent.metrics()[0].return_data(), Some(false));

        // AWS answers the queries and dimensions in another order, with its defaults: no change.
        let aws = |expression: &str, target: f64| {
            described_tracking(
                "backlog",
                sdk::TargetTrackingScalingPolicyConfiguration::builder()
                    .target_value(target)
                    .customized_metric_specification(
                        sdk::CustomizedMetricSpecification::builder()
                            .metrics(aws_query("e1", Some(expression), None, true))
                            .metrics(aws_query("m2", None, Some("Running"), false))
                            .metrics(aws_query("m1", None, Some("Visible"), false))
                            .build(),
                    )
                    .scale_in_cooldown(300)
                    .scale_out_cooldown(300)
                    .disable_scale_in(false)
                    .build()
                    .expect("builds"),
            )
        };
        assert!(policies(&s, &[aws("m1 / m2", 100.0)]).actions.is_empty());
        // Another expression, or another target, is a change.
        assert_eq!(
            names(&policies(&s, &[aws("m1 / (m2 + 1)", 100.0)])),
            ["put policy backlog"]
        );
        assert_eq!(
            names(&policies(&s, &[aws("m1 / m2", 90.0)])),
            ["put policy backlog"]
        );
        // A query AWS has that the spec does not (or one missing) is a change.
        let mut fewer = backlog_math();
        if let Some(m) = tt(&mut fewer)
            .customized_metric_specification
            .as_mut()
            .and_then(|c| c.metrics.as_mut())
        {
            m.pop();
        }
        s.scaling_policies = Some(vec![fewer]);
        assert_eq!(
            names(&policies(&s, &[aws("m1 / m2", 100.0)])),
            ["put policy backlog"]
        );
    }

    /// A predictive policy on the predefined CPU pair, every option set.
    fn forecast() -> PolicySpec {
        PolicySpec {
            policy_name: "forecast".into(),
            policy_type: PREDICTIVE.into(),
            predictive_scaling_policy_configuration: Some(PredictiveScalingPolicyConfiguration {
                metric_specifications: vec![PredictiveScalingMetricSpecification {
                    target_value: 40.0,
                    predefined_metric_pair_specification: Some(PredictiveScalingPredefinedMetric {
                        predefined_metric_type: "ECSServiceCPUUtilization".into(),
                        resource_label: None,
                    }),
                    ..Default::default()
                }],
                mode: Some("ForecastAndScale".into()),
                scheduling_buffer_time: Some(600),
                max_capacity_breach_behavior: Some("IncreaseMaxCapacity".into()),
                max_capacity_buffer: Some(10),
            }),
            ..Default::default()
        }
    }

    fn described_predictive(name: &str, c: sdk::PredictiveScalingPolicyConfiguration) -> sdk::ScalingPolicy {
        sdk::ScalingPolicy::builder()
            .policy_name(name)
            .policy_arn(format!("arn:policy/{name}"))
            .service_namespace(sdk::ServiceNamespace::Ecs)
            .resource_id(ID)
            .scalable_dimension(sdk::ScalableDimension::EcsServiceDesiredCount)
            .policy_type(sdk::PolicyType::PredictiveScaling)
            .predictive_scaling_policy_configuration(c)
            .creation_time(aws_smithy_types::DateTime::from_secs(0))
            .build()
            .expect("builds")
    }

    fn aws_cpu_pair(target: f64) -> sdk::PredictiveScalingMetricSpecification {
        sdk::PredictiveScalingMetricSpecification::builder()
            .target_value(target)
            .predefined_metric_pair_specification(
                sdk::PredictiveScalingPredefinedMetricPairSpecification::builder()
                    .predefined_metric_type("ECSServiceCPUUtilization")
                    .build()
                    .expect("builds"),
            )
            .build()
            .expect("builds")
    }

    #[test]
    fn a_predictive_policy_is_sent_with_every_field_and_is_told_as_predictive() {
        let mut s = spec(1, 4);
        s.scaling_policies = Some(vec![forecast()]);
        let changes = policies(&s, &[]);
        let want = sdk::PredictiveScalingPolicyConfiguration::builder()
            .metric_specifications(aws_cpu_pair(40.0))
            .mode(sdk::PredictiveScalingMode::ForecastAndScale)
            .scheduling_buffer_time(600)
            .max_capacity_breach_behavior(
                sdk::PredictiveScalingMaxCapacityBreachBehavior::IncreaseMaxCapacity,
            )
            .max_capacity_buffer(10)
            .build()
            .expect("builds");
        assert_eq!(
            changes.actions,
            [Action::PutPolicy {
                name: "forecast".into(),
                config: PolicyConfig::Predictive(want.clone()),
            }]
        );
        assert_eq!(
            changes.actions[0].note(ID),
            Note::new(reasons::UPDATED, "put predictive-scaling policy forecast")
        );
        // Described back as sent: nothing to do; another target or mode is a change.
        assert!(
            policies(&s, &[described_predictive("forecast", want)])
                .actions
                .is_empty()
        );
        let other_target = sdk::PredictiveScalingPolicyConfiguration::builder()
            .metric_specifications(aws_cpu_pair(50.0))
            .mode(sdk::PredictiveScalingMode::ForecastAndScale)
            .scheduling_buffer_time(600)
            .max_capacity_breach_behavior(
                sdk::PredictiveScalingMaxCapacityBreachBehavior::IncreaseMaxCapacity,
            )
            .max_capacity_buffer(10)
            .build()
            .expect("builds");
        assert_eq!(
            names(&policies(&s, &[described_predictive("forecast", other_target)])),
            ["put policy forecast"]
        );
    }

    #[test]
    fn of_a_predictive_policy_only_what_the_spec_sets_is_managed() {
        // The spec sets the metric only; AWS reports its defaults (ForecastOnly, a 300 s buffer,
        // HonorMaxCapacity): no change.
        let mut minimal = forecast();
        if let Some(c) = minimal.predictive_scaling_policy_configuration.as_mut() {
            c.mode = None;
            c.scheduling_buffer_time = None;
            c.max_capacity_breach_behavior = None;
            c.max_capacity_buffer = None;
        }
        let mut s = spec(1, 4);
        s.scaling_policies = Some(vec![minimal]);
        let with_defaults = sdk::PredictiveScalingPolicyConfiguration::builder()
            .metric_specifications(aws_cpu_pair(40.0))
            .mode(sdk::PredictiveScalingMode::ForecastOnly)
            .scheduling_buffer_time(300)
            .max_capacity_breach_behavior(sdk::PredictiveScalingMaxCapacityBreachBehavior::HonorMaxCapacity)
            .build()
            .expect("builds");
        assert!(
            policies(&s, &[described_predictive("forecast", with_defaults.clone())])
                .actions
                .is_empty()
        );
        // The full spec asks for ForecastAndScale where AWS forecasts only: a change.
        s.scaling_policies = Some(vec![forecast()]);
        assert_eq!(
            names(&policies(&s, &[described_predictive("forecast", with_defaults)])),
            ["put policy forecast"]
        );
    }

    #[test]
    fn a_predictive_policy_on_customized_metrics_sends_its_queries_under_each_role() {
        let query = |id: &str, metric: &str, stat: &str| PredictiveScalingCustomizedMetricSpecification {
            metric_data_queries: vec![MetricDataQuery {
                id: id.into(),
                metric_stat: Some(MetricStat {
                    metric: Metric {
                        metric_name: Some(metric.into()),
                        namespace: Some("AWS/ECS".into()),
                        dimensions: vec![MetricDimension {
                            name: "ServiceName".into(),
                            value: "web".into(),
                        }],
                    },
                    stat: stat.into(),
                    unit: Some("Percent".into()),
                }),
                return_data: Some(true),
                ..Default::default()
            }],
        };
        let p = PolicySpec {
            policy_name: "custom-forecast".into(),
            policy_type: PREDICTIVE.into(),
            predictive_scaling_policy_configuration: Some(PredictiveScalingPolicyConfiguration {
                metric_specifications: vec![PredictiveScalingMetricSpecification {
                    target_value: 55.5,
                    predefined_scaling_metric_specification: Some(PredictiveScalingPredefinedMetric {
                        predefined_metric_type: "ECSServiceAverageCPUUtilization".into(),
                        resource_label: None,
                    }),
                    customized_load_metric_specification: Some(query("load", "CPUUtilization", "Sum")),
                    customized_capacity_metric_specification: Some(query(
                        "capacity",
                        "RunningTaskCount",
                        "Average",
                    )),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ..Default::default()
        };
        let Ok(PolicyConfig::Predictive(c)) = policy_config(&p) else {
            panic!("a predictive configuration expected");
        };
        let [m] = c.metric_specifications() else {
            panic!("one metric specification expected");
        };
        assert_eq!(m.target_value(), 55.5);
        assert_eq!(
            m.predefined_scaling_metric_specification()
                .map(|s| s.predefined_metric_type()),
            Some("ECSServiceAverageCPUUtilization")
        );
        assert!(m.predefined_metric_pair_specification().is_none());
        assert!(m.customized_scaling_metric_specification().is_none());
        let load = &m
            .customized_load_metric_specification()
            .expect("a load metric")
            .metric_data_queries()[0];
        let stat = load.metric_stat().expect("a metric");
        assert_eq!(
            (load.id(), stat.stat(), stat.unit()),
            ("load", "Sum", Some("Percent"))
        );
        assert_eq!(
            stat.metric().and_then(|m| m.metric_name()),
            Some("CPUUtilization")
        );
        let capacity = &m
            .customized_capacity_metric_specification()
            .expect("a capacity metric")
            .metric_data_queries()[0];
        assert_eq!(capacity.id(), "capacity");
        // Described back as sent: no change; the load metric's statistic changed: a change.
        let mut s = spec(1, 4);
        s.scaling_policies = Some(vec![p.clone()]);
        assert!(
            policies(&s, &[described_predictive("custom-forecast", c.clone())])
                .actions
                .is_empty()
        );
        let mut other = p;
        if let Some(q) = other
            .predictive_scaling_policy_configuration
            .as_mut()
            .and_then(|c| {
                c.metric_specifications[0]
                    .customized_load_metric_specification
                    .as_mut()
            })
            .and_then(|l| l.metric_data_queries[0].metric_stat.as_mut())
        {
            q.stat = "Average".into();
        }
        s.scaling_policies = Some(vec![other]);
        assert_eq!(
            names(&policies(&s, &[described_predictive("custom-forecast", c)])),
            ["put policy custom-forecast"]
        );
    }

    #[test]
    fn a_policy_whose_type_changes_is_put_again_under_its_name() {
        // A step policy in AWS, a target-tracking one of the same name in the spec.
        let mut tracking = cpu(50.0);
        tracking.policy_name = "burst".into();
        let mut s = spec(1, 4);
        s.scaling_policies = Some(vec![tracking]);
        let changes = policies(&s, &[described_step("burst", 1)]);
        assert!(
            matches!(
                changes.actions.as_slice(),
                [Action::PutPolicy { name, config: PolicyConfig::TargetTracking(_) }] if name == "burst"
            ),
            "{:?}",
            changes.actions
        );
    }

    #[test]
    fn step_adjustments_reported_in_another_order_are_not_drift() {
        let steps = |a: (f64, i32), b: (f64, i32)| {
            [a, b]
                .into_iter()
                .map(|(lower, adj)| SpecStep {
                    metric_interval_lower_bound: Some(lower),
                    metric_interval_upper_bound: (lower == 0.0).then_some(10.0),
                    scaling_adjustment: adj,
                })
                .collect::<Vec<_>>()
        };
        let mut want = spec_step("burst", 1);
        if let Some(c) = want.step_scaling_policy_configuration.as_mut() {
            c.step_adjustments = steps((0.0, 1), (10.0, 3));
        }
        let mut reversed = want.clone();
        if let Some(c) = reversed.step_scaling_policy_configuration.as_mut() {
            c.step_adjustments = steps((10.0, 3), (0.0, 1));
        }
        let Ok(PolicyConfig::Step(c)) = policy_config(&reversed) else {
            panic!("a step configuration expected");
        };
        let have = sdk::ScalingPolicy::builder()
            .policy_name("burst")
            .policy_arn("arn")
            .service_namespace(sdk::ServiceNamespace::Ecs)
            .resource_id(ID)
            .scalable_dimension(sdk::ScalableDimension::EcsServiceDesiredCount)
            .policy_type(sdk::PolicyType::StepScaling)
            .step_scaling_policy_configuration(c)
            .creation_time(aws_smithy_types::DateTime::from_secs(0))
            .build()
            .expect("builds");
        assert!(policy_matches(&want, &have));
        let mut other = want.clone();
        if let Some(c) = other.step_scaling_policy_configuration.as_mut() {
            c.step_adjustments = steps((0.0, 1), (10.0, 4));
        }
        assert!(!policy_matches(&other, &have));
    }

    #[test]
    fn a_policy_without_the_configuration_of_its_type_is_refused_naming_the_field() {
        // Admission refuses it; an object stored before that rule reaches the plan.
        let mut s = spec(1, 4);
        s.scaling_policies = Some(vec![
            cpu(50.0),
            PolicySpec {
                policy_name: "broken".into(),
                policy_type: PREDICTIVE.into(),
                ..Default::default()
            },
        ]);
        let changes = policies(&s, &[described_step("made-by-hand", 1)]);
        assert_eq!(names(&changes), ["put policy cpu"]);
        let Some(Error::Terminal { reason, message }) = &changes.invalid else {
            panic!("a spec error expected: {:?}", changes.invalid);
        };
        assert_eq!(*reason, reasons::INVALID_SPEC);
        assert_eq!(
            message,
            "scalingPolicies broken: policyType PredictiveScaling needs predictiveScalingPolicyConfiguration"
        );
    }

    #[test]
    fn a_put_scaling_policy_input_in_camel_case_is_a_spec_policy_as_it_is() {
        // `aws application-autoscaling put-scaling-policy --cli-input-json` input (less the target),
        // camelCased: every key is a spec field (a key the spec did not know would be lost here).
        let input = serde_json::json!({
            "policyName": "cpu-forecast",
            "policyType": "PredictiveScaling",
            "predictiveScalingPolicyConfiguration": {
                "metricSpecifications": [{
                    "targetValue": 40.0,
                    "predefinedScalingMetricSpecification": {"predefinedMetricType": "ECSServiceAverageCPUUtilization"},
                    "customizedLoadMetricSpecification": {"metricDataQueries": [{
                        "id": "load",
                        "metricStat": {"metric": {"metricName": "CPUUtilization", "namespace": "AWS/ECS",
                            "dimensions": [{"name": "ServiceName", "value": "web"}]}, "stat": "Sum", "unit": "Percent"},
                        "returnData": true
                    }]}
                }],
                "mode": "ForecastAndScale",
                "schedulingBufferTime": 300,
                "maxCapacityBreachBehavior": "IncreaseMaxCapacity",
                "maxCapacityBuffer": 10
            }
        });
        let policy: PolicySpec = serde_json::from_value(input.clone()).expect("a spec policy");
        assert_eq!(serde_json::to_value(&policy).expect("serializes"), input);
        let tracking = serde_json::json!({
            "policyName": "backlog",
            "policyType": "TargetTrackingScaling",
            "targetTrackingScalingPolicyConfiguration": {
                "targetValue": 100.0,
                "customizedMetricSpecification": {"metrics": [
                    {"id": "m1", "metricStat": {"metric": {"metricName": "Visible", "namespace": "MyApp/Queue"}, "stat": "Sum"}, "returnData": false},
                    {"id": "e1", "expression": "m1 / 2", "label": "half", "returnData": true}
                ]},
                "scaleInCooldown": 60, "scaleOutCooldown": 30, "disableScaleIn": false
            }
        });
        let policy: PolicySpec = serde_json::from_value(tracking.clone()).expect("a spec policy");
        assert_eq!(serde_json::to_value(&policy).expect("serializes"), tracking);
        let action = serde_json::json!({
            "scheduledActionName": "night", "schedule": "cron(0 22 * * ? *)", "timezone": "Europe/Berlin",
            "startTime": "2026-12-01T00:00:00Z", "endTime": "2027-12-01T00:00:00Z",
            "scalableTargetAction": {"minCapacity": 0, "maxCapacity": 1}
        });
        let parsed: SpecAction = serde_json::from_value(action.clone()).expect("a scheduled action");
        assert_eq!(serde_json::to_value(&parsed).expect("serializes"), action);
    }

    #[test]
    fn an_object_stored_before_the_rename_is_refused_before_it_deletes_anything() {
        // What the API server reads back for an object written with the old fields: the removed
        // top-level fields kept (declared, not pruned), a scheduled action's old `name` pruned.
        let stored: ScalingPolicySpec = serde_json::from_value(serde_json::json!({
            "serviceRef": {"name": "web"}, "minCapacity": 1, "maxCapacity": 4,
            "targetTracking": [{"name": "cpu", "targetValue": 60,
                                "predefinedMetric": {"type": "ECSServiceAverageCPUUtilization"}}],
            "scheduledActions": [{"schedule": "cron(0 22 * * ? *)"}]
        }))
        .expect("an old object still reads");
        let Err(Error::Terminal { reason, message }) = from_the_old_api(&stored) else {
            panic!("an old object must be refused");
        };
        assert_eq!(reason, reasons::INVALID_SPEC);
        assert!(message.contains("spec.targetTracking"), "{message}");
        assert!(message.contains("spec.scheduledActions[].name"), "{message}");
        assert!(!message.contains("spec.stepScaling"), "{message}");
        // Without the guard, the same spec would have the target's policies deleted.
        assert_eq!(
            names(&policies(&stored, &[as_aws(&cpu(60.0), true)])),
            ["delete policy cpu"]
        );
        // A spec of the new API passes.
        let mut new = spec(1, 4);
        new.scaling_policies = Some(vec![cpu(60.0)]);
        new.scheduled_actions = Some(vec![night(None)]);
        assert!(from_the_old_api(&new).is_ok());
    }

    // ---- Ownership -------------------------------------------------------------------------------

    #[test]
    fn a_target_registered_by_someone_else_is_refused_unless_adoption_is_asked() {
        let theirs = described_target(2, 8, None);
        let status = ScalingPolicyStatus::default();
        let svc = ecs_service(None);
        let refused = claim(
            &policy_obj(None),
            &svc,
            "ECS service web",
            ID,
            Some(&theirs),
            &status,
        );
        assert_eq!(terminal_reason(&refused), Some(reasons::NOT_OWNED));
        let adopted = claim(
            &policy_obj(Some(crate::api::Adoption::Adopt)),
            &svc,
            "ECS service web",
            ID,
            Some(&theirs),
            &status,
        );
        assert!(matches!(adopted, Ok(Deref::Ready(Claim::Adopt))), "{adopted:?}");
        // Once registered here (status records it), the target is this object's: no adoption needed.
        let ours = ScalingPolicyStatus {
            resource_id: Some(ID.into()),
            ..Default::default()
        };
        let owned = claim(
            &policy_obj(None),
            &svc,
            "ECS service web",
            ID,
            Some(&theirs),
            &ours,
        );
        assert!(matches!(owned, Ok(Deref::Ready(Claim::Owned))), "{owned:?}");
    }

    #[test]
    fn only_a_target_this_object_may_take_gets_a_plan_that_deletes_what_the_spec_dropped() {
        // A service managed by a FargateService of another namespace: never scaled from here, so no
        // plan ever deletes its policies.
        let foreign = claim(
            &policy_obj(Some(crate::api::Adoption::Adopt)),
            &ecs_service(Some(("other", "web"))),
            "ECS service web",
            ID,
            Some(&described_target(1, 4, None)),
            &ScalingPolicyStatus::default(),
        );
        assert_eq!(terminal_reason(&foreign), Some(reasons::NOT_OWNED));
        // A service of this namespace: its target is this namespace's, managed without adoption.
        let same_ns = claim(
            &policy_obj(None),
            &ecs_service(Some(("shop", "web"))),
            "ECS service web",
            ID,
            Some(&described_target(1, 4, None)),
            &ScalingPolicyStatus::default(),
        );
        assert!(matches!(same_ns, Ok(Deref::Ready(Claim::Owned))), "{same_ns:?}");
        // Owned (or adopted): what the spec does not list goes.
        let changes = policies(&spec(1, 4), &[described_step("made-by-hand", 1)]);
        assert_eq!(names(&changes), ["delete policy made-by-hand"]);
    }

    #[test]
    fn with_adoption_adopt_a_missing_target_is_waited_for_not_created() {
        let adopt_only = claim(
            &policy_obj(Some(crate::api::Adoption::Adopt)),
            &ecs_service(None),
            "ECS service web",
            ID,
            None,
            &ScalingPolicyStatus::default(),
        );
        let Ok(Deref::Wait(State::Waiting { reason, message, .. })) = adopt_only else {
            panic!("a wait expected: {adopt_only:?}");
        };
        assert_eq!(reason, reasons::NOT_FOUND);
        assert!(message.starts_with(ID), "{message}");
        let or_create = claim(
            &policy_obj(Some(crate::api::Adoption::AdoptOrCreate)),
            &ecs_service(None),
            "ECS service web",
            ID,
            None,
            &ScalingPolicyStatus::default(),
        );
        assert!(
            matches!(or_create, Ok(Deref::Ready(Claim::Owned))),
            "{or_create:?}"
        );
    }

    #[test]
    fn an_adopted_target_is_announced_first_and_reported_as_adopted() {
        let t = target(Some(described_target(1, 4, None)), Claim::Adopt);
        let changes = scalable_target(&spec(1, 4), &t);
        assert_eq!(names(&changes), ["adopt"]);
        assert_eq!(changes.actions[0].note(ID).reason, reasons::ADOPTED);
        let (status, _) = report(ScalingPolicyStatus::default(), &spec(1, 4), &t, None, &[], &[]);
        assert_eq!(status.adopted, Some(true));
        let (status, _) = report(
            ScalingPolicyStatus::default(),
            &spec(1, 4),
            &target(Some(described_target(1, 4, None)), Claim::Owned),
            None,
            &[],
            &[],
        );
        assert_eq!(status.adopted, None);
    }

    // ---- The scalable target ---------------------------------------------------------------------

    #[test]
    fn a_missing_target_is_registered_with_the_spec_capacity() {
        let changes = scalable_target(&spec(1, 4), &target(None, Claim::Owned));
        assert_eq!(names(&changes), ["register 1-4"]);
        assert_eq!(
            changes.actions[0].note(ID).message,
            "registered scalable target service/main/web (1-4 tasks)"
        );
    }

    #[test]
    fn a_min_or_max_capacity_change_registers_the_target_again() {
        let same = target(Some(described_target(1, 4, None)), Claim::Owned);
        assert!(scalable_target(&spec(1, 4), &same).actions.is_empty());
        assert_eq!(names(&scalable_target(&spec(2, 4), &same)), ["register 2-4"]);
        assert_eq!(names(&scalable_target(&spec(1, 6), &same)), ["register 1-6"]);
    }

    #[test]
    fn only_the_suspended_flags_the_spec_sets_are_compared_and_unset_in_aws_is_false() {
        let suspended_in = |v: bool| {
            Some(
                sdk::SuspendedState::builder()
                    .dynamic_scaling_in_suspended(v)
                    .build(),
            )
        };
        let want = |v: Option<bool>| ScalingPolicySpec {
            suspended_state: Some(SuspendedState {
                dynamic_scaling_in_suspended: v,
                ..Default::default()
            }),
            ..spec(1, 4)
        };
        let plain = target(Some(described_target(1, 4, None)), Claim::Owned);
        let suspended = target(Some(described_target(1, 4, suspended_in(true))), Claim::Owned);
        // Suspending scale-in is a change; asking for `false` where AWS says nothing is not.
        let changes = scalable_target(&want(Some(true)), &plain);
        assert_eq!(names(&changes), ["register 1-4"]);
        assert!(matches!(
            &changes.actions[0],
            Action::RegisterTarget { suspended: Some(s), .. } if s.dynamic_scaling_in_suspended() == Some(true)
        ));
        assert!(scalable_target(&want(Some(false)), &plain).actions.is_empty());
        assert!(scalable_target(&want(Some(true)), &suspended).actions.is_empty());
        // A spec that says nothing of suspension leaves AWS's as it is.
        assert!(scalable_target(&spec(1, 4), &suspended).actions.is_empty());
        assert!(scalable_target(&want(None), &suspended).actions.is_empty());
        assert_eq!(
            names(&scalable_target(&want(Some(false)), &suspended)),
            ["register 1-4"]
        );
    }

    // ---- Scheduled actions -----------------------------------------------------------------------

    #[test]
    fn scheduled_actions_match_by_instant_whatever_the_precision_aws_reports() {
        // AWS answers epoch seconds with a fraction; the spec's RFC 3339 string is the same second.
        let start = aws_smithy_types::DateTime::from_fractional_secs(1_796_083_200, 0.25);
        let described = [described_action("night", None, Some(start))];
        let s = ScalingPolicySpec {
            scheduled_actions: Some(vec![night(Some("2026-12-01T00:00:00Z"))]),
            ..spec(1, 4)
        };
        assert!(scheduled_actions(&s, &described).actions.is_empty());
        let later = ScalingPolicySpec {
            scheduled_actions: Some(vec![night(Some("2026-12-01T00:00:01Z"))]),
            ..spec(1, 4)
        };
        assert_eq!(
            names(&scheduled_actions(&later, &described)),
            ["put action night"]
        );
    }

    #[test]
    fn an_unset_time_zone_is_utc_and_another_zone_is_a_change() {
        let s = ScalingPolicySpec {
            scheduled_actions: Some(vec![night(None)]),
            ..spec(1, 4)
        };
        assert!(
            scheduled_actions(&s, &[described_action("night", Some("UTC"), None)])
                .actions
                .is_empty()
        );
        assert!(
            scheduled_actions(&s, &[described_action("night", None, None)])
                .actions
                .is_empty()
        );
        let berlin = ScalingPolicySpec {
            scheduled_actions: Some(vec![SpecAction {
                timezone: Some("Europe/Berlin".into()),
                ..night(None)
            }]),
            ..spec(1, 4)
        };
        let changes = scheduled_actions(&berlin, &[described_action("night", Some("UTC"), None)]);
        assert!(
            matches!(changes.actions.as_slice(), [Action::PutScheduled(a)] if a.timezone.as_deref() == Some("Europe/Berlin")),
            "{:?}",
            changes.actions
        );
    }

    #[test]
    fn a_scheduled_action_the_spec_dropped_is_deleted() {
        let described = [
            described_action("night", None, None),
            described_action("weekend", None, None),
        ];
        let s = ScalingPolicySpec {
            scheduled_actions: Some(vec![night(None)]),
            ..spec(1, 4)
        };
        let changes = scheduled_actions(&s, &described);
        assert_eq!(names(&changes), ["delete action weekend"]);
    }

    #[test]
    fn a_scheduled_action_without_bounds_sends_none_and_leaves_aws_bounds_alone() {
        let s = ScalingPolicySpec {
            scheduled_actions: Some(vec![SpecAction {
                scalable_target_action: None,
                ..night(None)
            }]),
            ..spec(1, 4)
        };
        // AWS has bounds (0-1): not managed, no change.
        assert!(
            scheduled_actions(&s, &[described_action("night", None, None)])
                .actions
                .is_empty()
        );
        let changes = scheduled_actions(&s, &[]);
        assert!(
            matches!(changes.actions.as_slice(), [Action::PutScheduled(a)] if a.action.is_none()),
            "{:?}",
            changes.actions
        );
        // Only the bound the spec sets is compared.
        let only_max = ScalingPolicySpec {
            scheduled_actions: Some(vec![SpecAction {
                scalable_target_action: Some(ScalableTargetAction {
                    min_capacity: None,
                    max_capacity: Some(1),
                }),
                ..night(None)
            }]),
            ..spec(1, 4)
        };
        assert!(
            scheduled_actions(&only_max, &[described_action("night", None, None)])
                .actions
                .is_empty()
        );
    }

    #[test]
    fn an_invalid_time_stops_the_plan_after_the_changes_before_it_and_before_any_deletion() {
        let s = ScalingPolicySpec {
            scheduled_actions: Some(vec![
                SpecAction {
                    scheduled_action_name: "morning".into(),
                    ..night(None)
                },
                SpecAction {
                    scheduled_action_name: "broken".into(),
                    ..night(Some("2026-12-01T00:00:00"))
                },
                SpecAction {
                    scheduled_action_name: "evening".into(),
                    ..night(None)
                },
            ]),
            ..spec(1, 4)
        };
        let changes = scheduled_actions(&s, &[described_action("stale", None, None)]);
        assert_eq!(names(&changes), ["put action morning"]);
        assert!(
            matches!(&changes.invalid, Some(Error::Terminal { reason, .. }) if *reason == reasons::INVALID_SPEC),
            "{:?}",
            changes.invalid
        );
    }

    // ---- Status ----------------------------------------------------------------------------------

    #[test]
    fn the_report_sorts_by_name_and_keeps_the_described_arn_when_registration_answers_none() {
        let t = target(Some(described_target(1, 4, None)), Claim::Owned);
        let policies = [described_step("z-last", 1), as_aws(&cpu(50.0), false)];
        let actions = [
            described_action("weekend", None, None),
            described_action("night", None, None),
        ];
        let (status, state) = report(
            ScalingPolicyStatus::default(),
            &spec(1, 4),
            &t,
            None,
            &policies,
            &actions,
        );
        assert_eq!(
            status.scalable_target_arn.as_deref(),
            Some("arn:aws:application-autoscaling:us-east-1:1:scalable-target/described")
        );
        assert_eq!(
            status
                .policies
                .iter()
                .map(|p| p.name.as_str())
                .collect::<Vec<_>>(),
            ["cpu", "z-last"]
        );
        assert_eq!(
            status
                .scheduled_actions
                .iter()
                .map(|a| a.name.as_str())
                .collect::<Vec<_>>(),
            ["night", "weekend"]
        );
        assert_eq!(
            (status.resource_id.as_deref(), status.region.as_deref()),
            (Some(ID), Some("eu-west-1"))
        );
        assert_eq!(
            state,
            State::Ready {
                reason: reasons::ACTIVE,
                message:
                    "service/main/web scales between 1 and 4 tasks with 2 policies and 2 scheduled actions"
                        .into(),
            }
        );
        let (status, _) = report(
            ScalingPolicyStatus::default(),
            &spec(1, 4),
            &t,
            Some("arn:new".into()),
            &[],
            &[],
        );
        assert_eq!(status.scalable_target_arn.as_deref(), Some("arn:new"));
    }

    #[test]
    fn observe_only_reports_what_aws_has_not_the_spec() {
        let t = target(Some(described_target(3, 9, None)), Claim::Owned);
        let (status, state) = observed(ScalingPolicyStatus::default(), &t, &[as_aws(&cpu(50.0), false)]);
        assert_eq!(status.policies.len(), 1);
        assert!(status.scheduled_actions.is_empty());
        assert_eq!(
            state,
            State::Ready {
                reason: reasons::OBSERVED,
                message: "service/main/web scales between 3 and 9 tasks with 1 policies (managementPolicy ObserveOnly: observed, never changed)".into(),
            }
        );
        let (status, state) = observed(ScalingPolicyStatus::default(), &target(None, Claim::Owned), &[]);
        assert_eq!(status.resource_id, None);
        assert!(matches!(state, State::Waiting { reason, .. } if reason == reasons::NOT_FOUND));
    }

    // ---- Cleanup ---------------------------------------------------------------------------------

    #[test]
    fn cleanup_removes_the_target_status_records_and_nothing_it_was_refused_or_lost() {
        let recorded = ScalingPolicyStatus {
            resource_id: Some(ID.into()),
            region: Some("eu-west-1".into()),
            ..Default::default()
        };
        assert_eq!(
            removal(&recorded, false),
            Removal::Recorded {
                resource_id: ID.into(),
                region: Some("eu-west-1".into())
            }
        );
        // The one-per-service check lost: the winner's setup is not touched, whether or not this
        // policy recorded the target (it may have registered before its cache showed the winner).
        assert_eq!(removal(&ScalingPolicyStatus::default(), true), Removal::Nothing);
        assert_eq!(removal(&recorded, true), Removal::Nothing);
        // Nothing recorded and refused as someone else's: nothing of it is this object's.
        let refused = ScalingPolicyStatus {
            conditions: crate::runtime::conditions::stalled(reasons::NOT_OWNED, "theirs"),
            ..Default::default()
        };
        assert_eq!(removal(&refused, false), Removal::Nothing);
        // Nothing recorded otherwise (a crash right after registering): the spec's target.
        let stalled_otherwise = ScalingPolicyStatus {
            conditions: crate::runtime::conditions::stalled(reasons::INVALID_SPEC, "bad"),
            ..Default::default()
        };
        assert_eq!(removal(&stalled_otherwise, false), Removal::SpecTarget);
    }

    #[test]
    fn every_change_is_told_with_its_event_reason_and_message() {
        let notes: Vec<Note> = [
            Action::PutPolicy {
                name: "cpu".into(),
                config: policy_config(&cpu(50.0)).expect("builds"),
            },
            Action::PutPolicy {
                name: "burst".into(),
                config: policy_config(&spec_step("burst", 1)).expect("builds"),
            },
            Action::PutScheduled(scheduled_action(&night(None)).expect("valid")),
            Action::DeleteScheduled {
                name: "weekend".into(),
            },
        ]
        .iter()
        .map(|a| a.note(ID))
        .collect();
        assert_eq!(
            notes,
            [
                Note::new(reasons::UPDATED, "put target-tracking policy cpu"),
                Note::new(reasons::UPDATED, "put step-scaling policy burst"),
                Note::new(reasons::UPDATED, "put scheduled action night"),
                Note::new(
                    reasons::UPDATED,
                    "deleted scheduled action weekend (dropped from the spec)"
                ),
            ]
        );
    }
}
