//! Application Auto Scaling calls for ECS services (namespace `ecs`, dimension
//! `ecs:service:DesiredCount`), each one request through the paced [`AutoScalingClient`], so the
//! reconcilers never build SDK requests or read SDK errors themselves. Inputs and outputs are the SDK's
//! own types.

use super::operations as op;
use super::{AutoScalingClient, AwsError, ErrorKind};
use aws_sdk_applicationautoscaling::types::{
    PolicyType, ScalableDimension, ScalableTarget, ScalableTargetAction, ScalingPolicy, ScheduledAction,
    ServiceNamespace, StepScalingPolicyConfiguration, SuspendedState,
    TargetTrackingScalingPolicyConfiguration,
};

fn ns() -> ServiceNamespace {
    ServiceNamespace::Ecs
}

fn dimension() -> ScalableDimension {
    ScalableDimension::EcsServiceDesiredCount
}

/// The scalable targets of up to 50 services in one call.
pub(crate) async fn describe_scalable_targets(
    aas: &AutoScalingClient,
    resource_ids: &[String],
) -> Result<Vec<ScalableTarget>, AwsError> {
    let mut targets = Vec::new();
    let mut token = None;
    loop {
        let out = aas
            .call(
                op::DESCRIBE_SCALABLE_TARGETS,
                aas.describe_scalable_targets()
                    .service_namespace(ns())
                    .set_resource_ids(Some(resource_ids.to_vec()))
                    .scalable_dimension(dimension())
                    .set_next_token(token)
                    .send(),
            )
            .await?;
        targets.extend(
            out.scalable_targets
                .unwrap_or_default()
                .into_iter()
                .filter(|t| resource_ids.iter().any(|id| id == t.resource_id())),
        );
        token = out.next_token;
        if token.is_none() {
            break;
        }
    }
    Ok(targets)
}

/// Registers (or updates) the scalable target.
pub(crate) async fn register_scalable_target(
    aas: &AutoScalingClient,
    resource_id: &str,
    min: i32,
    max: i32,
    suspended: Option<SuspendedState>,
) -> Result<Option<String>, AwsError> {
    let out = aas
        .call(
            op::REGISTER_SCALABLE_TARGET,
            aas.register_scalable_target()
                .service_namespace(ns())
                .resource_id(resource_id)
                .scalable_dimension(dimension())
                .min_capacity(min)
                .max_capacity(max)
                .set_suspended_state(suspended)
                .send(),
        )
        .await?;
    Ok(out.scalable_target_arn)
}

/// Deregisters the scalable target; one that is already gone counts as done.
pub(crate) async fn deregister_scalable_target(
    aas: &AutoScalingClient,
    resource_id: &str,
) -> Result<(), AwsError> {
    let result = aas
        .call(
            op::DEREGISTER_SCALABLE_TARGET,
            aas.deregister_scalable_target()
                .service_namespace(ns())
                .resource_id(resource_id)
                .scalable_dimension(dimension())
                .send(),
        )
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.kind == ErrorKind::NotFound || is_missing(&e) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Application Auto Scaling answers a ValidationException "No scalable target found..." (or "No scaling
/// policy found...") for what does not exist.
fn is_missing(e: &AwsError) -> bool {
    e.code.as_deref() == Some("ValidationException") && e.message.starts_with("No ")
}

/// Every scaling policy on the service's scalable target.
pub(crate) async fn describe_policies(
    aas: &AutoScalingClient,
    resource_id: &str,
) -> Result<Vec<ScalingPolicy>, AwsError> {
    let mut policies = Vec::new();
    let mut token = None;
    loop {
        let out = aas
            .call(
                op::DESCRIBE_SCALING_POLICIES,
                aas.describe_scaling_policies()
                    .service_namespace(ns())
                    .resource_id(resource_id)
                    .scalable_dimension(dimension())
                    .set_next_token(token)
                    .send(),
            )
            .await?;
        // Filter exactly: some implementations match resource ids by substring.
        policies.extend(
            out.scaling_policies
                .unwrap_or_default()
                .into_iter()
                .filter(|p| p.resource_id() == resource_id),
        );
        token = out.next_token;
        if token.is_none() {
            break;
        }
    }
    Ok(policies)
}

/// The configuration of one policy: target tracking or step scaling.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum PolicyConfig {
    TargetTracking(TargetTrackingScalingPolicyConfiguration),
    Step(StepScalingPolicyConfiguration),
}

/// Creates or replaces (same name, in place) a scaling policy; returns its ARN.
pub(crate) async fn put_scaling_policy(
    aas: &AutoScalingClient,
    resource_id: &str,
    name: &str,
    config: PolicyConfig,
) -> Result<String, AwsError> {
    let req = aas
        .put_scaling_policy()
        .policy_name(name)
        .service_namespace(ns())
        .resource_id(resource_id)
        .scalable_dimension(dimension());
    let req = match config {
        PolicyConfig::TargetTracking(c) => req
            .policy_type(PolicyType::TargetTrackingScaling)
            .target_tracking_scaling_policy_configuration(c),
        PolicyConfig::Step(c) => req
            .policy_type(PolicyType::StepScaling)
            .step_scaling_policy_configuration(c),
    };
    let out = aas.call(op::PUT_SCALING_POLICY, req.send()).await?;
    Ok(out.policy_arn)
}

pub(crate) async fn delete_scaling_policy(
    aas: &AutoScalingClient,
    resource_id: &str,
    name: &str,
) -> Result<(), AwsError> {
    let result = aas
        .call(
            op::DELETE_SCALING_POLICY,
            aas.delete_scaling_policy()
                .policy_name(name)
                .service_namespace(ns())
                .resource_id(resource_id)
                .scalable_dimension(dimension())
                .send(),
        )
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.kind == ErrorKind::NotFound || is_missing(&e) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Every scheduled action on the service's scalable target.
pub(crate) async fn describe_scheduled_actions(
    aas: &AutoScalingClient,
    resource_id: &str,
) -> Result<Vec<ScheduledAction>, AwsError> {
    let mut actions = Vec::new();
    let mut token = None;
    loop {
        let out = aas
            .call(
                op::DESCRIBE_SCHEDULED_ACTIONS,
                aas.describe_scheduled_actions()
                    .service_namespace(ns())
                    .resource_id(resource_id)
                    .scalable_dimension(dimension())
                    .set_next_token(token)
                    .send(),
            )
            .await?;
        actions.extend(
            out.scheduled_actions
                .unwrap_or_default()
                .into_iter()
                .filter(|a| a.resource_id() == resource_id),
        );
        token = out.next_token;
        if token.is_none() {
            break;
        }
    }
    Ok(actions)
}

/// Everything PutScheduledAction takes.
#[derive(Clone, Debug, PartialEq)]
pub struct NewScheduledAction {
    pub name: String,
    pub schedule: String,
    pub timezone: Option<String>,
    pub start_time: Option<aws_smithy_types::DateTime>,
    pub end_time: Option<aws_smithy_types::DateTime>,
    pub action: ScalableTargetAction,
}

pub(crate) async fn put_scheduled_action(
    aas: &AutoScalingClient,
    resource_id: &str,
    a: NewScheduledAction,
) -> Result<(), AwsError> {
    aas.call(
        op::PUT_SCHEDULED_ACTION,
        aas.put_scheduled_action()
            .service_namespace(ns())
            .resource_id(resource_id)
            .scalable_dimension(dimension())
            .scheduled_action_name(a.name)
            .schedule(a.schedule)
            .set_timezone(a.timezone)
            .set_start_time(a.start_time)
            .set_end_time(a.end_time)
            .scalable_target_action(a.action)
            .send(),
    )
    .await
    .map(drop)
}

pub(crate) async fn delete_scheduled_action(
    aas: &AutoScalingClient,
    resource_id: &str,
    name: &str,
) -> Result<(), AwsError> {
    let result = aas
        .call(
            op::DELETE_SCHEDULED_ACTION,
            aas.delete_scheduled_action()
                .service_namespace(ns())
                .resource_id(resource_id)
                .scalable_dimension(dimension())
                .scheduled_action_name(name)
                .send(),
        )
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.kind == ErrorKind::NotFound || is_missing(&e) => Ok(()),
        Err(e) => Err(e),
    }
}
