//! The decisions of a ScalingPolicy reconcile, pure: from the spec and what AWS describes (the SDK's
//! own types), which changes to make ([`Action`]), whether a target named by `resourceId` may be taken,
//! what cleanup removes, and the status and state to report. No client, no context, no await: every
//! decision here is unit-tested on AWS-shaped data, including what moto cannot show.

use crate::api::scaling_policy::{
    PolicyStatus, ScheduledAction as SpecAction, ScheduledActionStatus, StepScalingPolicy, SuspendedState,
    TargetTrackingPolicy,
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
            Action::PutPolicy {
                name,
                config: PolicyConfig::TargetTracking(_),
            } => Note::new(reasons::UPDATED, format!("put target-tracking policy {name}")),
            Action::PutPolicy {
                name,
                config: PolicyConfig::Step(_),
            } => Note::new(reasons::UPDATED, format!("put step-scaling policy {name}")),
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

/// Put what is missing or differs (target tracking, then step scaling), then delete what the spec
/// does not list.
pub(super) fn policies(spec: &ScalingPolicySpec, existing: &[sdk::ScalingPolicy]) -> Changes {
    let have = |name: &str| existing.iter().find(|p| p.policy_name() == name);
    let tracking = spec
        .target_tracking
        .iter()
        .flatten()
        .filter(|tt| have(&tt.name).is_none_or(|p| !target_tracking_matches(tt, p)))
        .map(|tt| {
            Ok(Action::PutPolicy {
                name: tt.name.clone(),
                config: PolicyConfig::TargetTracking(target_tracking(tt)?),
            })
        });
    let steps = spec
        .step_scaling
        .iter()
        .flatten()
        .filter(|st| have(&st.name).is_none_or(|p| !step_matches(st, p)))
        .map(|st| {
            Ok(Action::PutPolicy {
                name: st.name.clone(),
                config: PolicyConfig::Step(step(st)?),
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
    tracking.chain(steps).chain(dropped).collect()
}

fn wanted_policy(spec: &ScalingPolicySpec, name: &str) -> bool {
    spec.target_tracking.iter().flatten().any(|t| t.name == name)
        || spec.step_scaling.iter().flatten().any(|s| s.name == name)
}

fn invalid(e: impl std::fmt::Display) -> Error {
    Error::Terminal {
        reason: reasons::INVALID_SPEC,
        message: e.to_string(),
    }
}

fn target_tracking(t: &TargetTrackingPolicy) -> Result<sdk::TargetTrackingScalingPolicyConfiguration, Error> {
    sdk::TargetTrackingScalingPolicyConfiguration::builder()
        .target_value(t.target_value)
        .set_predefined_metric_specification(
            t.predefined_metric
                .as_ref()
                .map(|m| {
                    sdk::PredefinedMetricSpecification::builder()
                        .predefined_metric_type(sdk::MetricType::from(m.type_.as_str()))
                        .set_resource_label(m.resource_label.clone())
                        .build()
                })
                .transpose()
                .map_err(invalid)?,
        )
        .set_customized_metric_specification(
            t.customized_metric
                .as_ref()
                .map(|m| -> Result<_, Error> {
                    Ok(sdk::CustomizedMetricSpecification::builder()
                        .metric_name(&m.metric_name)
                        .namespace(&m.namespace)
                        .statistic(sdk::MetricStatistic::from(m.statistic.as_str()))
                        .set_unit(m.unit.clone())
                        .set_dimensions(
                            (!m.dimensions.is_empty())
                                .then(|| {
                                    m.dimensions
                                        .iter()
                                        .map(|d| {
                                            sdk::MetricDimension::builder()
                                                .name(&d.name)
                                                .value(&d.value)
                                                .build()
                                        })
                                        .collect::<Result<Vec<_>, _>>()
                                })
                                .transpose()
                                .map_err(invalid)?,
                        )
                        .build())
                })
                .transpose()?,
        )
        .set_scale_in_cooldown(t.scale_in_cooldown)
        .set_scale_out_cooldown(t.scale_out_cooldown)
        .set_disable_scale_in(t.disable_scale_in)
        .build()
        .map_err(invalid)
}

/// Compares only what the user set (AWS may fill in cooldowns and `disableScaleIn: false`).
fn target_tracking_matches(want: &TargetTrackingPolicy, have: &sdk::ScalingPolicy) -> bool {
    let Some(h) = have.target_tracking_scaling_policy_configuration() else {
        return false;
    };
    let predefined_same = match (&want.predefined_metric, h.predefined_metric_specification()) {
        (Some(w), Some(h)) => {
            w.type_ == h.predefined_metric_type().as_str()
                && w.resource_label.as_deref() == h.resource_label()
        }
        (None, None) => true,
        _ => false,
    };
    let customized_same = match (&want.customized_metric, h.customized_metric_specification()) {
        (Some(w), Some(h)) => {
            Some(w.metric_name.as_str()) == h.metric_name()
                && Some(w.namespace.as_str()) == h.namespace()
                && Some(w.statistic.as_str()) == h.statistic().map(|s| s.as_str())
                && w.unit.as_deref() == h.unit()
                && w.dimensions.len() == h.dimensions().len()
                && w.dimensions.iter().all(|d| {
                    h.dimensions()
                        .iter()
                        .any(|hd| hd.name() == d.name && hd.value() == d.value)
                })
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

fn step(s: &StepScalingPolicy) -> Result<sdk::StepScalingPolicyConfiguration, Error> {
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

/// Compares the adjustment type and the steps, and of the rest only what the user set.
fn step_matches(want: &StepScalingPolicy, have: &sdk::ScalingPolicy) -> bool {
    let Some(h) = have.step_scaling_policy_configuration() else {
        return false;
    };
    let steps_same = want.step_adjustments.len() == h.step_adjustments().len()
        && want
            .step_adjustments
            .iter()
            .zip(h.step_adjustments())
            .all(|(w, h)| {
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
                .find(|e| e.scheduled_action_name() == a.name)
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
                .any(|a| a.name == e.scheduled_action_name())
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
        name: a.name.clone(),
        schedule: a.schedule.clone(),
        timezone: a.timezone.clone(),
        start_time: parse_time(&a.start_time)?,
        end_time: parse_time(&a.end_time)?,
        action: sdk::ScalableTargetAction::builder()
            .set_min_capacity(a.min_capacity)
            .set_max_capacity(a.max_capacity)
            .build(),
    })
}

/// Times compare as instants (to the second), the time zone as UTC when unset.
fn action_matches(want: &SpecAction, have: &sdk::ScheduledAction) -> bool {
    let Ok(w) = scheduled_action(want) else {
        return false;
    };
    let ha = have.scalable_target_action();
    w.schedule == have.schedule()
        && w.timezone.as_deref().unwrap_or("UTC") == have.timezone().unwrap_or("UTC")
        && w.start_time.as_ref().map(|t| t.secs()) == have.start_time().map(|t| t.secs())
        && w.end_time.as_ref().map(|t| t.secs()) == have.end_time().map(|t| t.secs())
        && w.action.min_capacity() == ha.and_then(|a| a.min_capacity())
        && w.action.max_capacity() == ha.and_then(|a| a.max_capacity())
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
    use crate::api::scaling_policy::PredefinedMetric;

    fn cpu(target: f64) -> TargetTrackingPolicy {
        TargetTrackingPolicy {
            name: "cpu".into(),
            target_value: target,
            predefined_metric: Some(PredefinedMetric {
                type_: "ECSServiceAverageCPUUtilization".into(),
                resource_label: None,
            }),
            scale_in_cooldown: Some(60),
            ..Default::default()
        }
    }

    fn as_aws(t: &TargetTrackingPolicy, extra_defaults: bool) -> sdk::ScalingPolicy {
        let mut c = target_tracking(t).expect("builds");
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
            .policy_name(&t.name)
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
        assert!(target_tracking_matches(&cpu(50.0), &as_aws(&cpu(50.0), true)));
        assert!(!target_tracking_matches(&cpu(60.0), &as_aws(&cpu(50.0), true)));
        let mut no_scale_in = cpu(50.0);
        no_scale_in.disable_scale_in = Some(true);
        assert!(!target_tracking_matches(&no_scale_in, &as_aws(&cpu(50.0), true)));
    }

    #[test]
    fn scheduled_actions_compare_times_by_instant_and_utc_by_default() {
        let want = SpecAction {
            name: "night".into(),
            schedule: "cron(0 22 * * ? *)".into(),
            start_time: Some("2026-12-01T00:00:00Z".into()),
            min_capacity: Some(0),
            max_capacity: Some(1),
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
            .scalable_target_action(w.action.clone())
            .creation_time(aws_smithy_types::DateTime::from_secs(0))
            .build()
            .expect("builds");
        assert!(action_matches(&want, &have));
        let mut later = want.clone();
        later.max_capacity = Some(2);
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

    fn spec_step(name: &str, adjustment: i32) -> StepScalingPolicy {
        StepScalingPolicy {
            name: name.into(),
            adjustment_type: "ChangeInCapacity".into(),
            step_adjustments: vec![crate::api::scaling_policy::StepAdjustment {
                metric_interval_lower_bound: Some(0.0),
                metric_interval_upper_bound: None,
                scaling_adjustment: adjustment,
            }],
            ..Default::default()
        }
    }

    fn night(start: Option<&str>) -> SpecAction {
        SpecAction {
            name: "night".into(),
            schedule: "cron(0 22 * * ? *)".into(),
            start_time: start.map(str::to_string),
            min_capacity: Some(0),
            max_capacity: Some(1),
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
        s.target_tracking = Some(vec![cpu(50.0)]);
        s.step_scaling = Some(vec![spec_step("burst", 2)]);
        let described = [as_aws(&cpu(50.0), true), described_step("burst", 2)];
        let changes = policies(&s, &described);
        assert!(changes.actions.is_empty(), "{:?}", changes.actions);
        assert!(changes.invalid.is_none());
    }

    #[test]
    fn a_changed_target_value_puts_the_policy_again_under_its_name() {
        let mut s = spec(1, 4);
        s.target_tracking = Some(vec![cpu(70.0)]);
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
        s.step_scaling = Some(vec![spec_step("burst", 3)]);
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
        s.target_tracking = Some(vec![cpu(70.0)]);
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
    fn an_invalid_time_stops_the_plan_after_the_changes_before_it_and_before_any_deletion() {
        let s = ScalingPolicySpec {
            scheduled_actions: Some(vec![
                SpecAction {
                    name: "morning".into(),
                    ..night(None)
                },
                SpecAction {
                    name: "broken".into(),
                    ..night(Some("2026-12-01T00:00:00"))
                },
                SpecAction {
                    name: "evening".into(),
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
                config: PolicyConfig::TargetTracking(target_tracking(&cpu(50.0)).expect("builds")),
            },
            Action::PutPolicy {
                name: "burst".into(),
                config: PolicyConfig::Step(step(&spec_step("burst", 1)).expect("builds")),
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
