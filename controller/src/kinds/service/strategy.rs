//! How a FargateService is rolled out, from the spec to what ECS takes, and back: the deployment
//! configuration (the strategy, bake time, lifecycle hooks, linear and canary steps), the deployment
//! controller, and what an update may change while CodeDeploy or an external tool owns the rollouts.
//! Pure: the plan calls it, the tests below run it on AWS-shaped data.

use crate::api::service::{DeploymentConfiguration as SpecDeployment, DeploymentLifecycleHook};
use crate::aws::ecs::ServiceUpdate;
use aws_sdk_ecs::types as sdk;
use aws_smithy_types::{Document, Number};

/// Who rolls out a service's task definitions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Controller {
    Ecs,
    CodeDeploy,
    External,
}

impl Controller {
    /// The service's deployment controller as ECS reports it (ECS when it reports none).
    pub(super) fn of(service: &sdk::Service) -> Self {
        match service.deployment_controller().map(|c| &c.r#type) {
            Some(sdk::DeploymentControllerType::CodeDeploy) => Controller::CodeDeploy,
            Some(sdk::DeploymentControllerType::External) => Controller::External,
            _ => Controller::Ecs,
        }
    }

    /// Who owns the rollouts, for messages; `None` for ECS (the controller drives them).
    pub(super) fn owner(self) -> Option<&'static str> {
        match self {
            Controller::Ecs => None,
            Controller::CodeDeploy => Some("CodeDeploy"),
            Controller::External => Some("the EXTERNAL deployment controller"),
        }
    }
}

/// The deployment controller to send: the spec's, when it names one that differs from the service's.
pub(super) fn controller_to_send(
    want: Option<&crate::api::service::DeploymentController>,
    service: &sdk::Service,
) -> Option<sdk::DeploymentController> {
    let want = want?;
    let have = service
        .deployment_controller()
        .map_or("ECS", |c| c.r#type.as_str());
    (want.type_ != have).then(|| controller(want)).flatten()
}

/// The spec's deployment controller as CreateService takes it.
pub(super) fn controller(c: &crate::api::service::DeploymentController) -> Option<sdk::DeploymentController> {
    sdk::DeploymentController::builder()
        .r#type(sdk::DeploymentControllerType::from(c.type_.as_str()))
        .build()
        .ok()
}

/// Drops from `u` what UpdateService refuses while `controller` owns the rollouts, and names what was
/// dropped. ECS (UpdateService): with CODE_DEPLOY "only the desired count, deployment configuration,
/// health check grace period, task placement constraints and strategies, enable ECS managed tags option,
/// and propagate tags can be updated"; with EXTERNAL the same without the deployment configuration.
/// The deployment controller itself may always be changed.
pub(super) fn restrict(u: ServiceUpdate, controller: Controller) -> (ServiceUpdate, Vec<&'static str>) {
    if controller == Controller::Ecs {
        return (u, Vec::new());
    }
    let kept = ServiceUpdate {
        desired_count: u.desired_count,
        deployment_configuration: if controller == Controller::CodeDeploy {
            u.deployment_configuration.clone()
        } else {
            None
        },
        health_check_grace_period_seconds: u.health_check_grace_period_seconds,
        enable_ecs_managed_tags: u.enable_ecs_managed_tags,
        propagate_tags: u.propagate_tags.clone(),
        deployment_controller: u.deployment_controller.clone(),
        ..ServiceUpdate::default()
    };
    let mut dropped: Vec<_> = u
        .changed()
        .into_iter()
        .filter(|f| !kept.changed().contains(f))
        .collect();
    if u.force_new_deployment {
        dropped.push("forceNewDeployment");
    }
    (kept, dropped)
}

/// Refuses what ECS refuses in a deployment configuration and admission cannot check cheaply, naming the
/// field. ECS (DeploymentLifecycleHook.lifecycleStages): "PAUSE hooks cannot be configured at
/// TEST_TRAFFIC_SHIFT or PRODUCTION_TRAFFIC_SHIFT stages. These stages are only valid for AWS_LAMBDA
/// hooks."
pub(super) fn check(d: &SpecDeployment) -> Result<(), crate::runtime::Error> {
    for (i, h) in d.lifecycle_hooks.iter().flatten().enumerate() {
        if h.target_type.as_deref() == Some("PAUSE")
            && let Some(stage) = h
                .lifecycle_stages
                .iter()
                .find(|s| matches!(s.as_str(), "TEST_TRAFFIC_SHIFT" | "PRODUCTION_TRAFFIC_SHIFT"))
        {
            return Err(crate::runtime::Error::Terminal {
                reason: crate::runtime::conditions::reasons::INVALID_SPEC,
                message: format!(
                    "spec.deploymentConfiguration.lifecycleHooks[{i}].lifecycleStages: a PAUSE hook cannot \
                     run at {stage} (only an AWS_LAMBDA hook can)"
                ),
            });
        }
    }
    Ok(())
}

/// The user's deployment configuration laid over the current one, so fields left out keep their values.
pub(super) fn deployment(
    d: &SpecDeployment,
    current: Option<&sdk::DeploymentConfiguration>,
) -> sdk::DeploymentConfiguration {
    let mut builder = current
        .cloned()
        .map_or_else(sdk::DeploymentConfiguration::builder, |c| {
            sdk::DeploymentConfiguration::builder()
                .set_minimum_healthy_percent(c.minimum_healthy_percent)
                .set_maximum_percent(c.maximum_percent)
                .set_deployment_circuit_breaker(c.deployment_circuit_breaker)
                .set_alarms(c.alarms)
                .set_strategy(c.strategy)
                .set_bake_time_in_minutes(c.bake_time_in_minutes)
                .set_lifecycle_hooks(c.lifecycle_hooks)
                .set_linear_configuration(c.linear_configuration)
                .set_canary_configuration(c.canary_configuration)
                .set_early_success_criteria(c.early_success_criteria)
        });
    if let Some(v) = d.minimum_healthy_percent {
        builder = builder.minimum_healthy_percent(v);
    }
    if let Some(v) = d.maximum_percent {
        builder = builder.maximum_percent(v);
    }
    if let Some(cb) = &d.deployment_circuit_breaker {
        builder = builder.deployment_circuit_breaker(
            sdk::DeploymentCircuitBreaker::builder()
                .enable(cb.enable)
                .rollback(cb.rollback)
                .build(),
        );
    }
    if let Some(a) = &d.alarms {
        builder = builder.set_alarms(
            sdk::DeploymentAlarms::builder()
                .set_alarm_names(Some(a.alarm_names.clone()))
                .enable(a.enable)
                .rollback(a.rollback)
                .build()
                .ok(),
        );
    }
    if let Some(s) = &d.strategy {
        builder = builder.strategy(sdk::DeploymentStrategy::from(s.as_str()));
    }
    if let Some(v) = d.bake_time_in_minutes {
        builder = builder.bake_time_in_minutes(v);
    }
    if let Some(hooks) = &d.lifecycle_hooks {
        builder = builder.set_lifecycle_hooks(Some(hooks.iter().map(hook).collect()));
    }
    if let Some(l) = &d.linear_configuration {
        builder = builder.linear_configuration(
            sdk::LinearConfiguration::builder()
                .set_step_percent(l.step_percent)
                .set_step_bake_time_in_minutes(l.step_bake_time_in_minutes)
                .build(),
        );
    }
    if let Some(c) = &d.canary_configuration {
        builder = builder.canary_configuration(
            sdk::CanaryConfiguration::builder()
                .set_canary_percent(c.canary_percent)
                .set_canary_bake_time_in_minutes(c.canary_bake_time_in_minutes)
                .build(),
        );
    }
    if let Some(e) = &d.early_success_criteria {
        builder = builder.early_success_criteria(
            sdk::DeploymentEarlySuccessCriteria::builder()
                .enable(e.enable)
                .set_healthy_percent(e.healthy_percent)
                .set_source_service_revision_cleanup(
                    e.source_service_revision_cleanup
                        .as_deref()
                        .map(sdk::ServiceRevisionCleanup::from),
                )
                .build(),
        );
    }
    builder.build()
}

fn hook(h: &DeploymentLifecycleHook) -> sdk::DeploymentLifecycleHook {
    sdk::DeploymentLifecycleHook::builder()
        .set_target_type(
            h.target_type
                .as_deref()
                .map(sdk::DeploymentLifecycleHookTargetType::from),
        )
        .set_hook_target_arn(h.hook_target_arn.clone())
        .set_role_arn(h.role_arn.clone())
        .set_lifecycle_stages(Some(
            h.lifecycle_stages
                .iter()
                .map(|s| sdk::DeploymentLifecycleHookStage::from(s.as_str()))
                .collect(),
        ))
        .set_hook_details(h.hook_details.as_ref().map(document))
        .set_timeout_configuration(h.timeout_configuration.as_ref().map(|t| {
            sdk::DeploymentLifecycleHookTimeoutConfiguration::builder()
                .set_timeout_in_minutes(t.timeout_in_minutes)
                .set_action(t.action.as_deref().map(sdk::DeploymentLifecycleHookAction::from))
                .build()
        }))
        .build()
}

/// A JSON value as the SDK's document type (hookDetails).
pub(super) fn document(v: &serde_json::Value) -> Document {
    use serde_json::Value;
    match v {
        Value::Null => Document::Null,
        Value::Bool(b) => Document::Bool(*b),
        Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => Document::Number(Number::PosInt(u)),
            (None, Some(i), _) => Document::Number(Number::NegInt(i)),
            (None, None, f) => Document::Number(Number::Float(f.unwrap_or_default())),
        },
        Value::String(s) => Document::String(s.clone()),
        Value::Array(a) => Document::Array(a.iter().map(document).collect()),
        Value::Object(o) => Document::Object(o.iter().map(|(k, v)| (k.clone(), document(v))).collect()),
    }
}

/// A document as JSON (objects with sorted keys: compared and printed the same way whatever the order).
fn json(d: &Document) -> serde_json::Value {
    use serde_json::Value;
    match d {
        Document::Null => Value::Null,
        Document::Bool(b) => Value::Bool(*b),
        Document::Number(Number::PosInt(u)) => Value::from(*u),
        Document::Number(Number::NegInt(i)) => Value::from(*i),
        Document::Number(Number::Float(f)) => Value::from(*f),
        Document::String(s) => Value::String(s.clone()),
        Document::Array(a) => Value::Array(a.iter().map(json).collect()),
        Document::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), json(v))).collect()),
    }
}

/// Whether ECS's deployment configuration differs from the spec's in a field the spec sets.
pub(super) fn deployment_differs(want: &SpecDeployment, have: Option<&sdk::DeploymentConfiguration>) -> bool {
    let Some(h) = have else { return true };
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    want.minimum_healthy_percent
        .is_some_and(|v| Some(v) != h.minimum_healthy_percent())
        || want
            .maximum_percent
            .is_some_and(|v| Some(v) != h.maximum_percent())
        || want.deployment_circuit_breaker.as_ref().is_some_and(|cb| {
            h.deployment_circuit_breaker()
                .is_none_or(|h| h.enable() != cb.enable || h.rollback() != cb.rollback)
        })
        || want.alarms.as_ref().is_some_and(|a| {
            h.alarms().is_none_or(|h| {
                h.enable() != a.enable
                    || h.rollback() != a.rollback
                    || sorted(a.alarm_names.clone()) != sorted(h.alarm_names().to_vec())
            })
        })
        || want
            .strategy
            .as_deref()
            // ECS reports no strategy for a service that never set one: ROLLING.
            .is_some_and(|s| s != h.strategy().map_or("ROLLING", |s| s.as_str()))
        || want
            .bake_time_in_minutes
            .is_some_and(|v| Some(v) != h.bake_time_in_minutes())
        || want.lifecycle_hooks.as_ref().is_some_and(|w| {
            hooks_key(&w.iter().map(hook).collect::<Vec<_>>()) != hooks_key(h.lifecycle_hooks())
        })
        || want.linear_configuration.as_ref().is_some_and(|l| {
            h.linear_configuration().is_none_or(|h| {
                l.step_percent.is_some_and(|v| Some(v) != h.step_percent())
                    || l.step_bake_time_in_minutes
                        .is_some_and(|v| Some(v) != h.step_bake_time_in_minutes())
            })
        })
        || want.canary_configuration.as_ref().is_some_and(|c| {
            h.canary_configuration().is_none_or(|h| {
                c.canary_percent.is_some_and(|v| Some(v) != h.canary_percent())
                    || c.canary_bake_time_in_minutes
                        .is_some_and(|v| Some(v) != h.canary_bake_time_in_minutes())
            })
        })
        || want.early_success_criteria.as_ref().is_some_and(|e| {
            h.early_success_criteria().is_none_or(|h| {
                h.enable() != e.enable
                    || e.healthy_percent.is_some_and(|v| Some(v) != h.healthy_percent())
                    || e.source_service_revision_cleanup
                        .as_deref()
                        .is_some_and(|v| Some(v) != h.source_service_revision_cleanup().map(|c| c.as_str()))
            })
        })
}

/// Lifecycle hooks compared as a set (the order of hooks, and of a hook's stages, means nothing).
fn hooks_key(hooks: &[sdk::DeploymentLifecycleHook]) -> Vec<String> {
    let mut keys: Vec<String> = hooks
        .iter()
        .map(|h| {
            let mut stages: Vec<&str> = h.lifecycle_stages().iter().map(|s| s.as_str()).collect();
            stages.sort_unstable();
            format!(
                "{:?}|{:?}|{:?}|{stages:?}|{:?}|{:?}",
                h.target_type().map_or("AWS_LAMBDA", |t| t.as_str()),
                h.hook_target_arn(),
                h.role_arn(),
                h.hook_details().map(json),
                h.timeout_configuration()
                    .map(|t| (t.timeout_in_minutes(), t.action().map(|a| a.as_str()))),
            )
        })
        .collect();
    keys.sort();
    keys
}

/// Whether a rollout of this strategy has lifecycle stages worth reporting (all but ROLLING).
pub(super) fn staged(service: &sdk::Service) -> bool {
    service
        .deployment_configuration()
        .and_then(|d| d.strategy())
        .is_some_and(|s| *s != sdk::DeploymentStrategy::Rolling)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::service::{
        CanaryConfiguration, DeploymentController as SpecController, LifecycleHookTimeout,
        LinearConfiguration,
    };

    fn blue_green() -> SpecDeployment {
        SpecDeployment {
            strategy: Some("BLUE_GREEN".into()),
            bake_time_in_minutes: Some(15),
            lifecycle_hooks: Some(vec![DeploymentLifecycleHook {
                hook_target_arn: Some("arn:aws:lambda:us-east-1:123456789012:function:check".into()),
                role_arn: Some("arn:aws:iam::123456789012:role/hooks".into()),
                lifecycle_stages: vec!["POST_TEST_TRAFFIC_SHIFT".into(), "PRE_SCALE_UP".into()],
                hook_details: Some(serde_json::json!({"threshold": 3, "paths": ["/health"], "ratio": 0.5})),
                timeout_configuration: Some(LifecycleHookTimeout {
                    timeout_in_minutes: Some(30),
                    action: Some("CONTINUE".into()),
                }),
                ..Default::default()
            }]),
            ..Default::default()
        }
    }

    #[test]
    fn a_blue_green_configuration_is_sent_whole_and_then_matches_what_ecs_reports() {
        let want = blue_green();
        let sent = deployment(&want, None);
        assert_eq!(sent.strategy(), Some(&sdk::DeploymentStrategy::BlueGreen));
        assert_eq!(sent.bake_time_in_minutes(), Some(15));
        let hook = &sent.lifecycle_hooks()[0];
        assert_eq!(
            hook.lifecycle_stages(),
            [
                sdk::DeploymentLifecycleHookStage::PostTestTrafficShift,
                sdk::DeploymentLifecycleHookStage::PreScaleUp
            ]
        );
        let details = hook
            .hook_details()
            .and_then(|d| d.as_object())
            .expect("an object");
        assert_eq!(
            details.get("threshold"),
            Some(&Document::Number(Number::PosInt(3)))
        );
        assert_eq!(details.get("ratio"), Some(&Document::Number(Number::Float(0.5))));
        assert_eq!(
            hook.timeout_configuration().and_then(|t| t.action()),
            Some(&sdk::DeploymentLifecycleHookAction::Continue)
        );
        // What ECS then reports (hooks and stages in another order) is no change.
        let mut reported = sent.clone();
        if let Some(s) = reported
            .lifecycle_hooks
            .as_mut()
            .and_then(|h| h.first_mut())
            .and_then(|h| h.lifecycle_stages.as_mut())
        {
            s.reverse();
        }
        assert!(!deployment_differs(&want, Some(&reported)));
        // Another bake time, or a hook's stage, is a change.
        let mut other = want.clone();
        other.bake_time_in_minutes = Some(5);
        assert!(deployment_differs(&other, Some(&reported)));
        let mut other = want.clone();
        if let Some(h) = other.lifecycle_hooks.as_mut().and_then(|h| h.first_mut()) {
            h.lifecycle_stages.push("POST_PRODUCTION_TRAFFIC_SHIFT".into());
        }
        assert!(deployment_differs(&other, Some(&reported)));
    }

    #[test]
    fn fields_left_out_keep_the_services_values_and_rolling_is_the_default_strategy() {
        let current = sdk::DeploymentConfiguration::builder()
            .maximum_percent(200)
            .minimum_healthy_percent(50)
            .build();
        let want = SpecDeployment {
            strategy: Some("ROLLING".into()),
            ..Default::default()
        };
        // ECS reports no strategy for a service that never set one: it rolls.
        assert!(!deployment_differs(&want, Some(&current)));
        let want = SpecDeployment {
            strategy: Some("LINEAR".into()),
            linear_configuration: Some(LinearConfiguration {
                step_percent: Some(25.0),
                step_bake_time_in_minutes: Some(2),
            }),
            ..Default::default()
        };
        assert!(deployment_differs(&want, Some(&current)));
        let sent = deployment(&want, Some(&current));
        assert_eq!(
            (sent.maximum_percent(), sent.minimum_healthy_percent()),
            (Some(200), Some(50))
        );
        assert_eq!(
            sent.linear_configuration().and_then(|l| l.step_percent()),
            Some(25.0)
        );
        assert!(!deployment_differs(&want, Some(&sent)));
        let canary = SpecDeployment {
            strategy: Some("CANARY".into()),
            canary_configuration: Some(CanaryConfiguration {
                canary_percent: Some(10.0),
                canary_bake_time_in_minutes: None,
            }),
            ..Default::default()
        };
        assert!(deployment_differs(&canary, Some(&sent)));
        assert!(!deployment_differs(
            &canary,
            Some(&deployment(&canary, Some(&sent)))
        ));
    }

    #[test]
    fn a_pause_hook_at_a_traffic_shift_is_refused_naming_the_hook() {
        let mut d = blue_green();
        assert!(check(&d).is_ok());
        if let Some(h) = d.lifecycle_hooks.as_mut().and_then(|h| h.first_mut()) {
            h.target_type = Some("PAUSE".into());
            h.hook_target_arn = None;
            // PAUSE at the stages ECS allows it: accepted.
            assert!(check(&d).is_ok());
        }
        let mut hooks = d.lifecycle_hooks.take().unwrap_or_default();
        hooks.push(DeploymentLifecycleHook {
            target_type: Some("PAUSE".into()),
            lifecycle_stages: vec!["PRE_SCALE_UP".into(), "PRODUCTION_TRAFFIC_SHIFT".into()],
            ..Default::default()
        });
        d.lifecycle_hooks = Some(hooks);
        match check(&d) {
            Err(crate::runtime::Error::Terminal { message, .. }) => assert!(
                message.contains("lifecycleHooks[1].lifecycleStages")
                    && message.contains("PRODUCTION_TRAFFIC_SHIFT"),
                "{message}"
            ),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    fn service(controller: Option<sdk::DeploymentControllerType>) -> sdk::Service {
        sdk::Service::builder()
            .set_deployment_controller(
                controller.and_then(|t| sdk::DeploymentController::builder().r#type(t).build().ok()),
            )
            .build()
    }

    #[test]
    fn the_controller_is_sent_only_when_the_spec_names_another() {
        let ecs = SpecController { type_: "ECS".into() };
        let code_deploy = SpecController {
            type_: "CODE_DEPLOY".into(),
        };
        // A service that reports none is on ECS.
        assert_eq!(controller_to_send(Some(&ecs), &service(None)), None);
        assert_eq!(
            controller_to_send(None, &service(Some(sdk::DeploymentControllerType::CodeDeploy))),
            None
        );
        let sent = controller_to_send(Some(&code_deploy), &service(None)).expect("a change");
        assert_eq!(sent.r#type, sdk::DeploymentControllerType::CodeDeploy);
        assert_eq!(
            Controller::of(&service(Some(sdk::DeploymentControllerType::External))),
            Controller::External
        );
    }

    #[test]
    fn while_codedeploy_or_an_external_tool_owns_rollouts_only_what_ecs_allows_is_sent() {
        let u = ServiceUpdate {
            task_definition: Some("arn:aws:ecs:us-east-1:1:task-definition/web:2".into()),
            desired_count: Some(3),
            deployment_configuration: Some(
                sdk::DeploymentConfiguration::builder()
                    .maximum_percent(150)
                    .build(),
            ),
            platform_version: Some("1.4.0".into()),
            health_check_grace_period_seconds: Some(30),
            force_new_deployment: true,
            ..Default::default()
        };
        let (kept, dropped) = restrict(u.clone(), Controller::Ecs);
        assert_eq!((kept, dropped), (u.clone(), vec![]));
        let (kept, dropped) = restrict(u.clone(), Controller::CodeDeploy);
        assert_eq!(
            kept.changed(),
            [
                "desiredCount",
                "deploymentConfiguration",
                "healthCheckGracePeriodSeconds"
            ]
        );
        assert!(!kept.force_new_deployment);
        assert_eq!(
            dropped,
            ["taskDefinition", "platformVersion", "forceNewDeployment"]
        );
        let (kept, dropped) = restrict(u, Controller::External);
        assert_eq!(kept.changed(), ["desiredCount", "healthCheckGracePeriodSeconds"]);
        assert_eq!(
            dropped,
            [
                "taskDefinition",
                "platformVersion",
                "deploymentConfiguration",
                "forceNewDeployment"
            ]
        );
    }
}
