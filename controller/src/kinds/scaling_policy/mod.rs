//! ScalingPolicy: register the service's scalable target, then make its policies and scheduled actions
//! exactly the spec's (put what is missing or differs, in place by name; delete what the spec dropped).
//! The object owns the service's scaling setup: on deletion everything goes, target last.

use crate::api::scaling_policy::{
    PolicyStatus, ScheduledAction as SpecAction, ScheduledActionStatus, StepScalingPolicy,
    TargetTrackingPolicy,
};
use crate::api::{FargateService, ScalingPolicy, ScalingPolicyStatus};
use crate::aws::autoscaling::{self as aas_api, NewScheduledAction, PolicyConfig};
use crate::aws::operations::{self as op, Operation};
use crate::runtime::conditions::reasons;
use crate::runtime::ownership;
use crate::runtime::relations;
use crate::runtime::{Applied, Cleanup, Context, Error, Managed, Note, State};
use aws_sdk_applicationautoscaling::types as sdk;
use aws_smithy_types::date_time::Format;

use kube::ResourceExt;
use kube::runtime::controller::Controller;
use std::sync::Arc;
use std::time::Duration;

crate::managed_status!(ScalingPolicyStatus);

const RECHECK_DEPENDENCY: Duration = Duration::from_secs(60);

/// The scalable target: `service/<cluster>/<service>` and its region.
struct Target {
    resource_id: String,
    region: Option<String>,
}

async fn resolve(obj: &ScalingPolicy, ctx: &Context) -> Result<Result<Target, String>, Error> {
    if let Some(id) = &obj.spec.resource_id {
        return Ok(Ok(Target {
            resource_id: id.clone(),
            region: obj.spec.region.clone(),
        }));
    }
    let Some(r) = &obj.spec.service_ref else {
        return Ok(Err("no service: set serviceRef or resourceId".into()));
    };
    let created = |s: &FargateService| {
        s.status
            .as_ref()
            .is_some_and(|st| st.arn.is_some() && st.cluster_arn.is_some() && st.service_name.is_some())
    };
    let ns = obj.namespace().unwrap_or_default();
    let Some(svc) = crate::runtime::cache::get::<FargateService>(ctx, &ns, &r.name, created).await? else {
        return Ok(Err(format!("FargateService {} does not exist", r.name)));
    };
    let status = svc.status.unwrap_or_default();
    match (status.arn, status.cluster_arn, status.service_name) {
        (Some(_), Some(cluster_arn), Some(service)) => {
            if let (Some(want), Some(have)) = (&obj.spec.region, &status.region)
                && want != have
            {
                return Err(Error::Terminal {
                    reason: reasons::REGION_MISMATCH,
                    message: format!(
                        "spec.region is {want} but FargateService {} is in {have}: a scalable target is in its service's region",
                        r.name
                    ),
                });
            }
            Ok(Ok(Target {
                resource_id: relations::scaling_resource_id(&cluster_arn, &service),
                region: status.region,
            }))
        }
        _ => Ok(Err(format!(
            "FargateService {} has not been created in AWS yet",
            r.name
        ))),
    }
}

/// For a target named by `resourceId`: the service must exist and must not belong to an object of
/// another namespace; a scalable target this object did not register is someone else's unless the spec
/// asks for adoption. `Ok(true)`: adopt it now; `Err(state)`: wait (the service does not exist, or
/// `adoption: Adopt` and no scalable target yet).
async fn claim_external(
    obj: &ScalingPolicy,
    aws: &crate::aws::Account<'_>,
    region: &str,
    resource_id: &str,
    target_exists: bool,
    status: &ScalingPolicyStatus,
) -> Result<Result<bool, State>, Error> {
    let mut parts = resource_id.splitn(3, '/').skip(1);
    let (Some(cluster), Some(service)) = (parts.next(), parts.next()) else {
        return Err(Error::Terminal {
            reason: reasons::INVALID_SPEC,
            message: format!("resourceId {resource_id} is not service/<cluster>/<service>"),
        });
    };
    let Some(svc) = aws.describe_service(Some(region), cluster, service).await? else {
        return Ok(Err(State::Waiting {
            reason: reasons::DEPENDENCY_NOT_READY,
            message: format!("ECS service {service} does not exist in cluster {cluster} ({region})"),
            recheck: RECHECK_DEPENDENCY,
        }));
    };
    let tag = |key: &str| crate::aws::ecs::tag_value(svc.tags(), key);
    let ns = obj.namespace().unwrap_or_default();
    let what = format!("ECS service {service} in cluster {cluster}");
    match (
        tag(crate::api::OWNER_NAMESPACE_TAG),
        tag(crate::api::OWNER_NAME_TAG),
    ) {
        // Managed by a FargateService of this namespace: its scalable target is this namespace's.
        (Some(n), Some(_)) if n == ns => return Ok(Ok(false)),
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
    if target_exists && !registered_here {
        let claim = ownership::claim::<ScalingPolicy>(
            &obj.spec.policies,
            &ownership::Owner::Unowned { previous_uid: None },
            &format!("the scalable target of {what}"),
        )?;
        return Ok(Ok(claim == ownership::Claim::Adopt));
    }
    if !target_exists && !registered_here && !ownership::may_create(&obj.spec.policies) {
        return Ok(Err(not_found(resource_id)));
    }
    Ok(Ok(false))
}

fn not_found(resource_id: &str) -> State {
    State::Waiting {
        reason: reasons::NOT_FOUND,
        message: format!(
            "{resource_id} has no scalable target; none is registered (adoption Adopt or ObserveOnly)"
        ),
        recheck: crate::runtime::RECHECK_NOT_FOUND,
    }
}

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

/// `managementPolicy: ObserveOnly`: report the scalable target and its policies, write nothing.
async fn observe(
    aas: &crate::aws::AutoScalingClient,
    mut status: ScalingPolicyStatus,
    id: &str,
    region: &str,
    current: Option<&sdk::ScalableTarget>,
) -> Result<Applied<ScalingPolicyStatus>, Error> {
    let Some(target) = current else {
        return Ok(Applied::new(status, not_found(id)));
    };
    let policies = aas_api::describe_policies(aas, id).await?;
    status.resource_id = Some(id.to_string());
    status.scalable_target_arn = target.scalable_target_arn().map(str::to_string);
    status.region = Some(region.to_string());
    status.policies = policy_statuses(&policies);
    let message = format!(
        "{id} scales between {} and {} tasks with {} policies (managementPolicy ObserveOnly: observed, never changed)",
        target.min_capacity(),
        target.max_capacity(),
        status.policies.len()
    );
    Ok(Applied::new(
        status,
        State::Ready {
            reason: reasons::OBSERVED,
            message,
        },
    ))
}

/// Another ScalingPolicy (created earlier) that already targets the same service.
async fn conflicting(obj: &ScalingPolicy, ctx: &Context) -> Result<Option<String>, Error> {
    let ns = obj.namespace().unwrap_or_default();
    let services = crate::runtime::cache::list::<FargateService>(ctx, &ns).await?;
    let policies = crate::runtime::cache::list::<ScalingPolicy>(ctx, &ns).await?;
    Ok(relations::conflicting_policy(
        obj,
        policies.iter().map(AsRef::as_ref),
        services.iter().map(AsRef::as_ref),
    ))
}

impl Managed for ScalingPolicy {
    type Status = ScalingPolicyStatus;
    const RESYNC_FLAG: &'static str = "scaling-policy-resync-period";
    const OPERATIONS: &'static [Operation] = &[
        op::DESCRIBE_SERVICES,
        op::DESCRIBE_SCALABLE_TARGETS,
        op::REGISTER_SCALABLE_TARGET,
        op::DEREGISTER_SCALABLE_TARGET,
        op::DESCRIBE_SCALING_POLICIES,
        op::PUT_SCALING_POLICY,
        op::DELETE_SCALING_POLICY,
        op::DESCRIBE_SCHEDULED_ACTIONS,
        op::PUT_SCHEDULED_ACTION,
        op::DELETE_SCHEDULED_ACTION,
    ];

    fn status(&self) -> Option<&Self::Status> {
        self.status.as_ref()
    }

    fn policies(&self) -> &crate::api::Policies {
        &self.spec.policies
    }

    async fn apply(
        &self,
        ctx: &Context,
        mut status: ScalingPolicyStatus,
    ) -> Result<Applied<ScalingPolicyStatus>, Error> {
        let aws = crate::runtime::aws_for(ctx, self)?;
        let target = match resolve(self, ctx).await? {
            Ok(t) => t,
            Err(message) => {
                let state = State::Waiting {
                    reason: reasons::DEPENDENCY_NOT_READY,
                    message,
                    recheck: RECHECK_DEPENDENCY,
                };
                return Ok(Applied::new(status, state));
            }
        };
        if let Some(other) = conflicting(self, ctx).await? {
            return Err(Error::Terminal {
                reason: reasons::CONFLICT,
                message: format!(
                    "ScalingPolicy {other} already scales {}: one ScalingPolicy per service",
                    target.resource_id
                ),
            });
        }
        let clients = aws.region(target.region.as_deref());
        let aas = &clients.autoscaling;
        let id = target.resource_id.as_str();
        let spec = &self.spec;

        let mut notes: Vec<Note> = Vec::new();
        // 1. The scalable target.
        let suspended = spec.suspended_state.as_ref().map(|s| {
            sdk::SuspendedState::builder()
                .set_dynamic_scaling_in_suspended(s.dynamic_scaling_in_suspended)
                .set_dynamic_scaling_out_suspended(s.dynamic_scaling_out_suspended)
                .set_scheduled_scaling_suspended(s.scheduled_scaling_suspended)
                .build()
        });
        let current = aws.describe_scalable_target(Some(&clients.region), id).await?;
        if spec.policies.observe_only() {
            return observe(aas, status, id, &clients.region, current.as_ref()).await;
        }
        if spec.resource_id.is_some() {
            match claim_external(self, &aws, &clients.region, id, current.is_some(), &status).await? {
                Ok(true) => {
                    tracing::info!(resource_id = id, "adopting scalable target");
                    notes.push(Note::new(
                        reasons::ADOPTED,
                        format!("adopted the scalable target of {id} (spec.adoption)"),
                    ));
                    status.adopted = Some(true);
                }
                Ok(false) => {}
                Err(state) => return Ok(Applied::new(status, state)),
            }
        }
        let target_arn = match &current {
            Some(t)
                if target_matches(
                    t,
                    spec.min_capacity,
                    spec.max_capacity,
                    spec.suspended_state.as_ref(),
                ) =>
            {
                t.scalable_target_arn().map(str::to_string)
            }
            _ => {
                tracing::info!(
                    resource_id = id,
                    min = spec.min_capacity,
                    max = spec.max_capacity,
                    "registering scalable target"
                );
                notes.push(Note::new(
                    reasons::UPDATED,
                    format!(
                        "registered scalable target {id} ({}-{} tasks)",
                        spec.min_capacity, spec.max_capacity
                    ),
                ));
                aas_api::register_scalable_target(aas, id, spec.min_capacity, spec.max_capacity, suspended)
                    .await?
                    .or_else(|| {
                        current
                            .as_ref()
                            .and_then(|t| t.scalable_target_arn().map(str::to_string))
                    })
            }
        };

        // 2. Policies: put what is missing or differs (same name: in place), delete what the spec dropped.
        let existing = aas_api::describe_policies(aas, id).await?;
        let mut changed = false;
        for tt in spec.target_tracking.iter().flatten() {
            let have = existing.iter().find(|p| p.policy_name() == tt.name);
            if have.is_none_or(|p| !target_tracking_matches(tt, p)) {
                tracing::info!(resource_id = id, policy = %tt.name, "putting target-tracking policy");
                aas_api::put_scaling_policy(
                    aas,
                    id,
                    &tt.name,
                    PolicyConfig::TargetTracking(target_tracking(tt)?),
                )
                .await?;
                changed = true;
                notes.push(Note::new(
                    reasons::UPDATED,
                    format!("put target-tracking policy {}", tt.name),
                ));
            }
        }
        for st in spec.step_scaling.iter().flatten() {
            let have = existing.iter().find(|p| p.policy_name() == st.name);
            if have.is_none_or(|p| !step_matches(st, p)) {
                tracing::info!(resource_id = id, policy = %st.name, "putting step-scaling policy");
                aas_api::put_scaling_policy(aas, id, &st.name, PolicyConfig::Step(step(st)?)).await?;
                changed = true;
                notes.push(Note::new(
                    reasons::UPDATED,
                    format!("put step-scaling policy {}", st.name),
                ));
            }
        }
        for p in &existing {
            if !wanted_policy(spec, p.policy_name()) {
                tracing::info!(
                    resource_id = id,
                    policy = p.policy_name(),
                    "deleting scaling policy dropped from the spec"
                );
                aas_api::delete_scaling_policy(aas, id, p.policy_name()).await?;
                changed = true;
                notes.push(Note::new(
                    reasons::UPDATED,
                    format!(
                        "deleted scaling policy {} (dropped from the spec)",
                        p.policy_name()
                    ),
                ));
            }
        }
        let policies = if changed {
            aas_api::describe_policies(aas, id).await?
        } else {
            existing
        };

        // 3. Scheduled actions, the same way.
        let existing = aas_api::describe_scheduled_actions(aas, id).await?;
        let mut changed = false;
        for a in spec.scheduled_actions.iter().flatten() {
            let have = existing.iter().find(|e| e.scheduled_action_name() == a.name);
            if have.is_none_or(|e| !action_matches(a, e)) {
                tracing::info!(resource_id = id, action = %a.name, "putting scheduled action");
                aas_api::put_scheduled_action(aas, id, scheduled_action(a)?).await?;
                changed = true;
                notes.push(Note::new(
                    reasons::UPDATED,
                    format!("put scheduled action {}", a.name),
                ));
            }
        }
        for e in &existing {
            if !spec
                .scheduled_actions
                .iter()
                .flatten()
                .any(|a| a.name == e.scheduled_action_name())
            {
                tracing::info!(
                    resource_id = id,
                    action = e.scheduled_action_name(),
                    "deleting scheduled action dropped from the spec"
                );
                aas_api::delete_scheduled_action(aas, id, e.scheduled_action_name()).await?;
                changed = true;
                notes.push(Note::new(
                    reasons::UPDATED,
                    format!(
                        "deleted scheduled action {} (dropped from the spec)",
                        e.scheduled_action_name()
                    ),
                ));
            }
        }
        let actions = if changed {
            aas_api::describe_scheduled_actions(aas, id).await?
        } else {
            existing
        };

        status.resource_id = Some(id.to_string());
        status.scalable_target_arn = target_arn;
        status.region = Some(clients.region.clone());
        status.policies = policy_statuses(&policies);
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
        Ok(Applied::new(
            status,
            State::Ready {
                reason: reasons::ACTIVE,
                message,
            },
        )
        .with_notes(notes))
    }

    async fn cleanup(&self, ctx: &Context, status: &ScalingPolicyStatus) -> Result<Cleanup, Error> {
        let aws = crate::runtime::aws_for(ctx, self)?;
        let (id, region) = match &status.resource_id {
            Some(id) => (id.clone(), status.region.clone()),
            // Nothing recorded: never applied, or a crash right after registering. A policy that lost
            // the one-per-service check must not remove the winner's setup.
            None if conflicting(self, ctx).await?.is_some() => return Ok(Cleanup::Done),
            // Refused as someone else's: it never was this object's to remove.
            None if crate::api::conditions::find(&status.conditions, crate::api::conditions::READY)
                .is_some_and(|c| c.reason == reasons::NOT_OWNED) =>
            {
                return Ok(Cleanup::Done);
            }
            None => match resolve(self, ctx).await? {
                Ok(t) => (t.resource_id, t.region),
                // Never registered, and the service is gone: nothing to remove.
                Err(_) => return Ok(Cleanup::Done),
            },
        };
        let aas = &aws.region(region.as_deref()).autoscaling;
        // AWS does not remove policies and scheduled actions with the target everywhere (moto keeps
        // them): remove them first, then the target.
        for p in aas_api::describe_policies(aas, &id).await? {
            aas_api::delete_scaling_policy(aas, &id, p.policy_name()).await?;
        }
        for a in aas_api::describe_scheduled_actions(aas, &id).await? {
            aas_api::delete_scheduled_action(aas, &id, a.scheduled_action_name()).await?;
        }
        tracing::info!(resource_id = %id, "deregistering scalable target");
        aas_api::deregister_scalable_target(aas, &id).await?;
        Ok(Cleanup::Done)
    }

    fn watches(controller: Controller<Self>, ctx: &Arc<Context>) -> Controller<Self> {
        // The service being created (or changing) wakes the policies that name it.
        let policies = controller.store();
        controller.watches_shared_stream(ctx.feeds.subscribe::<FargateService>(), move |s| {
            relations::policies_naming_service(policies.state().iter().map(AsRef::as_ref), &s)
        })
    }
}

fn wanted_policy(spec: &crate::api::ScalingPolicySpec, name: &str) -> bool {
    spec.target_tracking.iter().flatten().any(|t| t.name == name)
        || spec.step_scaling.iter().flatten().any(|s| s.name == name)
}

fn invalid(e: impl std::fmt::Display) -> Error {
    Error::Terminal {
        reason: reasons::INVALID_SPEC,
        message: e.to_string(),
    }
}

fn target_matches(
    t: &sdk::ScalableTarget,
    min: i32,
    max: i32,
    suspended: Option<&crate::api::scaling_policy::SuspendedState>,
) -> bool {
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

pub fn target_tracking(
    t: &TargetTrackingPolicy,
) -> Result<sdk::TargetTrackingScalingPolicyConfiguration, Error> {
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
pub fn target_tracking_matches(want: &TargetTrackingPolicy, have: &sdk::ScalingPolicy) -> bool {
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

pub fn step(s: &StepScalingPolicy) -> Result<sdk::StepScalingPolicyConfiguration, Error> {
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

pub fn step_matches(want: &StepScalingPolicy, have: &sdk::ScalingPolicy) -> bool {
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

fn parse_time(s: &Option<String>) -> Result<Option<aws_smithy_types::DateTime>, Error> {
    s.as_deref()
        .map(|t| aws_smithy_types::DateTime::from_str(t, Format::DateTime).map_err(invalid))
        .transpose()
}

pub fn scheduled_action(a: &SpecAction) -> Result<NewScheduledAction, Error> {
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

pub fn action_matches(want: &SpecAction, have: &sdk::ScheduledAction) -> bool {
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
}
