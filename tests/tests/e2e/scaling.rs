//! ScalingPolicy end to end: target tracking plus a schedule on a real (moto) service, in-place policy
//! updates, removal of what the spec drops, no tug of war over desiredCount, clean deletion.

use anyhow::{Context as _, Result};
use aws_sdk_applicationautoscaling::types::{PolicyType, ScalableDimension, ServiceNamespace};
use ecs_controller::api::conditions::READY;
use ecs_controller::api::{ConditionStatus, ScalingPolicy};
use ecs_controller_e2e::fixtures::{
    cluster_manifest, network, scaling_policy_manifest, service_manifest, task_definition_manifest,
};
use ecs_controller_e2e::harness::*;
use ecs_controller_e2e::probes::describe_service;
use kube::api::Api;
use serde_json::json;
use std::time::Duration;

const T: Duration = Duration::from_secs(60);

fn policy_manifest(service: &str, target: f64, schedules: serde_json::Value) -> serde_json::Value {
    json!({"apiVersion": "ecs.kubefargate.dev/v1alpha1", "kind": "ScalingPolicy", "metadata": {"name": "web-scaling"},
           "spec": {"serviceRef": {"name": service}, "minCapacity": 1, "maxCapacity": 4,
                    "scalingPolicies": [{"policyName": "cpu", "policyType": "TargetTrackingScaling",
                        "targetTrackingScalingPolicyConfiguration": {"targetValue": target,
                            "predefinedMetricSpecification": {"predefinedMetricType": "ECSServiceAverageCPUUtilization"},
                            "scaleInCooldown": 120, "scaleOutCooldown": 60}}],
                    "scheduledActions": schedules}})
}

/// Adds a policy to a spec's `scalingPolicies`.
fn add_policy(spec: &mut serde_json::Value, policy: serde_json::Value) {
    if let Some(list) = spec["scalingPolicies"].as_array_mut() {
        list.push(policy);
    }
}

fn nightly() -> serde_json::Value {
    json!([{"scheduledActionName": "nightly-scale-down", "schedule": "cron(0 22 * * ? *)", "timezone": "Europe/Berlin",
            "scalableTargetAction": {"minCapacity": 0, "maxCapacity": 1}},
           {"scheduledActionName": "morning-scale-up", "schedule": "cron(0 6 * * ? *)", "timezone": "Europe/Berlin",
            "scalableTargetAction": {"minCapacity": 1, "maxCapacity": 4}}])
}

/// The objects of one scaled service in the setup's namespace: a cluster named `main`, a task definition
/// and a service named `web`, the service Ready. Returns the cluster's name in ECS.
async fn fixture(setup: &Setup, prefix: &str) -> Result<String> {
    let cluster_name = unique(prefix);
    apply(&setup.clusters, cluster_manifest("main", &cluster_name)).await?;
    apply(
        &setup.tds,
        task_definition_manifest("web", &unique(prefix), "nginx:1"),
    )
    .await?;
    apply(
        &setup.services,
        service_manifest("web", "main", "web", &network()?, 1),
    )
    .await?;
    wait_ready(&setup.services, "web", ConditionStatus::True, T).await?;
    Ok(cluster_name)
}

#[tokio::test]
async fn target_tracking_and_schedules_follow_the_spec_without_a_tug_of_war() -> Result<()> {
    let ecs = ecs().await?;
    let aas = aas().await?;
    let setup = Setup::new("e2e-scale").await?;
    let cluster_name = fixture(&setup, "e2e-scale").await?;
    let (clusters, tds, services, policies) = (&setup.clusters, &setup.tds, &setup.services, &setup.policies);
    let resource_id = format!("service/{cluster_name}/web");

    apply(policies, policy_manifest("web", 60.0, nightly())).await?;
    let obj = wait_ready(policies, "web-scaling", ConditionStatus::True, T).await?;
    assert_eq!(
        obj.pointer("/status/resourceId").and_then(|v| v.as_str()),
        Some(resource_id.as_str())
    );

    // Describe calls on moto show exactly the spec.
    let targets = aas
        .describe_scalable_targets()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_ids(&resource_id)
        .send()
        .await?;
    let target = targets.scalable_targets().first().context("scalable target")?;
    assert_eq!((target.min_capacity(), target.max_capacity()), (1, 4));
    assert_eq!(
        target.scalable_dimension(),
        &ScalableDimension::EcsServiceDesiredCount
    );
    let described = aas
        .describe_scaling_policies()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(&resource_id)
        .send()
        .await?;
    let ps: Vec<_> = described
        .scaling_policies()
        .iter()
        .filter(|p| p.resource_id() == resource_id)
        .collect();
    assert_eq!(ps.len(), 1);
    let p = ps[0];
    assert_eq!(
        (p.policy_name(), p.policy_type()),
        ("cpu", &PolicyType::TargetTrackingScaling)
    );
    let c = p
        .target_tracking_scaling_policy_configuration()
        .context("target tracking")?;
    assert_eq!(c.target_value(), 60.0);
    assert_eq!(
        c.predefined_metric_specification()
            .map(|m| m.predefined_metric_type().as_str()),
        Some("ECSServiceAverageCPUUtilization")
    );
    assert_eq!(
        (c.scale_in_cooldown(), c.scale_out_cooldown()),
        (Some(120), Some(60))
    );
    assert_eq!(
        obj.pointer("/status/policies/0/arn").and_then(|v| v.as_str()),
        Some(p.policy_arn())
    );
    let alarms = obj
        .pointer("/status/policies/0/alarmNames")
        .and_then(|v| v.as_array())
        .map(Vec::len)
        .unwrap_or(0);
    assert_eq!(alarms, p.alarms().len(), "status lists the policy's alarms");
    let actions = aas
        .describe_scheduled_actions()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(&resource_id)
        .send()
        .await?;
    let mut names: Vec<_> = actions
        .scheduled_actions()
        .iter()
        .map(|a| a.scheduled_action_name().to_string())
        .collect();
    names.sort();
    assert_eq!(names, vec!["morning-scale-up", "nightly-scale-down"]);
    let night = actions
        .scheduled_actions()
        .iter()
        .find(|a| a.scheduled_action_name() == "nightly-scale-down")
        .context("nightly")?;
    assert_eq!(
        (night.schedule(), night.timezone()),
        ("cron(0 22 * * ? *)", Some("Europe/Berlin"))
    );
    let act = night.scalable_target_action().context("action")?;
    assert_eq!((act.min_capacity(), act.max_capacity()), (Some(0), Some(1)));

    // The service knows it is scaled.
    let svc = wait_ready(services, "web", ConditionStatus::True, T).await?;
    assert_eq!(
        svc.pointer("/status/scaledBy").and_then(|v| v.as_str()),
        Some("web-scaling")
    );

    // No tug of war: "the scaler" sets desiredCount 3 in AWS; resyncs leave it alone.
    let cluster_arn = clusters
        .get("main")
        .await?
        .status
        .and_then(|s| s.arn)
        .context("cluster arn")?;
    let updates = setup.controller.calls("UpdateService");
    ecs.update_service()
        .cluster(&cluster_arn)
        .service("web")
        .desired_count(3)
        .send()
        .await?;
    tokio::time::sleep(Duration::from_secs(10)).await;
    let s = describe_service(&ecs, &cluster_arn, "web")
        .await?
        .context("service")?;
    assert_eq!(
        s.desired_count(),
        3,
        "the controller did not revert the scaler's desiredCount"
    );
    assert_eq!(
        setup.controller.calls("UpdateService"),
        updates,
        "no UpdateService while the scaler owns the count"
    );

    // targetValue 75: the same policy, updated in place; dropping a schedule removes it in AWS.
    apply(
        policies,
        policy_manifest("web", 75.0, json!([nightly()[0].clone()])),
    )
    .await?;
    eventually("the policy update and the schedule removal", T, || async {
        let d = aas
            .describe_scaling_policies()
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(&resource_id)
            .send()
            .await?;
        let ps: Vec<_> = d
            .scaling_policies()
            .iter()
            .filter(|p| p.resource_id() == resource_id)
            .collect();
        let a = aas
            .describe_scheduled_actions()
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(&resource_id)
            .send()
            .await?;
        let names: Vec<_> = a
            .scheduled_actions()
            .iter()
            .map(|a| a.scheduled_action_name())
            .collect();
        Ok((ps.len() == 1
            && ps[0].policy_name() == "cpu"
            && ps[0]
                .target_tracking_scaling_policy_configuration()
                .map(|c| c.target_value())
                == Some(75.0)
            && names == vec!["nightly-scale-down"])
        .then_some(()))
    })
    .await?;
    wait_ready(policies, "web-scaling", ConditionStatus::True, T).await?;

    // Deleting the service first waits for its ScalingPolicy.
    services.delete("web", &Default::default()).await?;
    eventually("the service to wait for its ScalingPolicy", T, || async {
        let obj = serde_json::to_value(services.get("web").await?)?;
        Ok(condition(&obj, READY)
            .filter(|c| c.reason == "HasDependents" && c.message.contains("web-scaling"))
            .map(|_| ()))
    })
    .await?;

    // Deleting the ScalingPolicy deregisters the scalable target, which in AWS deletes its policies
    // and scheduled actions too (moto keeps them: docs/moto.md).
    let removals = ["DeleteScalingPolicy", "DeleteScheduledAction"];
    let before: Vec<usize> = removals.iter().map(|op| setup.controller.calls(op)).collect();
    delete_and_wait_gone(policies, "web-scaling", T).await?;
    let t = aas
        .describe_scalable_targets()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_ids(&resource_id)
        .send()
        .await?;
    assert!(
        t.scalable_targets()
            .iter()
            .all(|t| t.resource_id() != resource_id),
        "scalable target left"
    );
    let after: Vec<usize> = removals.iter().map(|op| setup.controller.calls(op)).collect();
    assert_eq!(
        before, after,
        "{removals:?}: the target's deregistration removes its policies and scheduled actions"
    );

    // Then the service goes, and the rest.
    eventually("the service to go", T, || async {
        Ok(services.get_opt("web").await?.is_none().then_some(()))
    })
    .await?;
    delete_and_wait_gone(tds, "web", T).await?;
    delete_and_wait_gone(clusters, "main", T).await?;
    Ok(())
}

/// Metric math target tracking and a step policy, in AWS's own shape; `extra` more policies.
fn math_and_steps_manifest(extra: &[serde_json::Value]) -> serde_json::Value {
    let metric = |name: &str| {
        json!({"stat": "Sum", "unit": "Count",
               "metric": {"metricName": name, "namespace": "E2E/Queue",
                          "dimensions": [{"name": "Queue", "value": "jobs"}, {"name": "Stage", "value": "e2e"}]}})
    };
    let mut policies = vec![
        json!({"policyName": "backlog", "policyType": "TargetTrackingScaling",
               "targetTrackingScalingPolicyConfiguration": {"targetValue": 100,
                   "customizedMetricSpecification": {"metrics": [
                       {"id": "m1", "metricStat": metric("Visible"), "returnData": false},
                       {"id": "m2", "metricStat": metric("Running"), "returnData": false},
                       {"id": "e1", "expression": "m1 / m2", "label": "backlog per task", "returnData": true}]}}}),
        json!({"policyName": "burst", "policyType": "StepScaling",
               "stepScalingPolicyConfiguration": {"adjustmentType": "ChangeInCapacity", "cooldown": 60,
                   "stepAdjustments": [{"metricIntervalLowerBound": 0, "metricIntervalUpperBound": 10, "scalingAdjustment": 1},
                                       {"metricIntervalLowerBound": 10, "scalingAdjustment": 3}]}}),
    ];
    policies.extend(extra.iter().cloned());
    json!({"apiVersion": "ecs.kubefargate.dev/v1alpha1", "kind": "ScalingPolicy", "metadata": {"name": "web-scaling"},
           "spec": {"serviceRef": {"name": "web"}, "minCapacity": 1, "maxCapacity": 4, "scalingPolicies": policies}})
}

#[tokio::test]
async fn metric_math_and_step_policies_reach_aws_by_their_aws_names_and_then_stay_put() -> Result<()> {
    let aas = aas().await?;
    let setup = Setup::new("e2e-scalemath").await?;
    let cluster_name = fixture(&setup, "e2e-scalemath").await?;
    let policies = &setup.policies;
    let resource_id = format!("service/{cluster_name}/web");

    apply(policies, math_and_steps_manifest(&[])).await?;
    wait_ready(policies, "web-scaling", ConditionStatus::True, T).await?;
    let described = aas
        .describe_scaling_policies()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(&resource_id)
        .send()
        .await?;
    let by_name = |name: &str| {
        described
            .scaling_policies()
            .iter()
            .find(|p| p.resource_id() == resource_id && p.policy_name() == name)
            .with_context(|| format!("policy {name} in AWS"))
    };
    let backlog = by_name("backlog")?;
    let metrics = backlog
        .target_tracking_scaling_policy_configuration()
        .and_then(|c| c.customized_metric_specification())
        .context("a customized metric")?
        .metrics();
    let ids: Vec<_> = metrics.iter().map(|q| q.id()).collect();
    assert_eq!(ids, ["m1", "m2", "e1"]);
    assert_eq!(metrics[2].expression(), Some("m1 / m2"));
    assert_eq!(
        metrics[0]
            .metric_stat()
            .and_then(|s| s.metric())
            .map(|m| m.dimensions().len()),
        Some(2)
    );
    let burst = by_name("burst")?;
    assert_eq!(burst.policy_type(), &PolicyType::StepScaling);
    assert_eq!(
        burst
            .step_scaling_policy_configuration()
            .map(|c| c.step_adjustments().len()),
        Some(2)
    );

    // What AWS answers back compares equal to the spec: resyncs (every 3 s) put nothing again.
    let puts = setup.controller.calls("PutScalingPolicy");
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(
        setup.controller.calls("PutScalingPolicy"),
        puts,
        "no PutScalingPolicy at steady state"
    );

    // A predictive policy: moto 5.2.5 refuses policyType PredictiveScaling (docs/moto.md); the
    // controller sends it and reports the refusal on the object, naming the policy type.
    let forecast = json!({"policyName": "forecast", "policyType": "PredictiveScaling",
        "predictiveScalingPolicyConfiguration": {"mode": "ForecastOnly", "metricSpecifications": [
            {"targetValue": 40, "predefinedMetricPairSpecification": {"predefinedMetricType": "ECSServiceCPUUtilization"}}]}});
    apply(policies, math_and_steps_manifest(&[forecast])).await?;
    let obj = wait_ready(policies, "web-scaling", ConditionStatus::False, T).await?;
    let ready = condition(&obj, READY).context("Ready")?;
    assert!(
        ready.message.contains("PutScalingPolicy") && ready.message.contains("PredictiveScaling"),
        "{}",
        ready.message
    );
    // Dropping it again: Ready, the other two policies untouched.
    apply(policies, math_and_steps_manifest(&[])).await?;
    wait_ready(policies, "web-scaling", ConditionStatus::True, T).await?;
    delete_and_wait_gone(policies, "web-scaling", T).await?;
    Ok(())
}

#[tokio::test]
async fn a_missing_service_is_a_dependency_not_ready() -> Result<()> {
    let setup = Setup::new("e2e-scalemissing").await?;
    let policies = &setup.policies;
    apply(policies, policy_manifest("nowhere", 50.0, json!([]))).await?;
    let obj = wait_ready(policies, "web-scaling", ConditionStatus::False, T).await?;
    let ready = condition(&obj, READY).context("Ready")?;
    assert_eq!(ready.reason, "DependencyNotReady");
    assert!(
        ready.message.contains("FargateService nowhere"),
        "{}",
        ready.message
    );
    delete_and_wait_gone(policies, "web-scaling", T).await?;
    Ok(())
}

#[tokio::test]
async fn invalid_scaling_policies_are_rejected_with_a_message() -> Result<()> {
    let client = kube().await?;
    let ns = TestNamespace::create(&client, "e2e-scaleinvalid").await?;
    let api: Api<ScalingPolicy> = ns.api();
    let with = |patch: &dyn Fn(&mut serde_json::Value)| {
        let mut m = policy_manifest("web", 50.0, nightly());
        patch(&mut m["spec"]);
        m
    };
    let corpus: Vec<(serde_json::Value, &str)> = vec![
        (
            with(&|s| {
                s["minCapacity"] = json!(5);
                s["maxCapacity"] = json!(2)
            }),
            "minCapacity must be <= maxCapacity",
        ),
        (
            with(&|s| {
                s["scalingPolicies"][0]["targetTrackingScalingPolicyConfiguration"]["targetValue"] =
                    json!(3e108)
            }),
            "spec.scalingPolicies[0].targetTrackingScalingPolicyConfiguration.targetValue: Invalid value: targetValue must be in the range of -2^360 to 2^360",
        ),
        (
            with(&|s| {
                s["scalingPolicies"][0]["targetTrackingScalingPolicyConfiguration"]["predefinedMetricSpecification"] =
                    json!({"predefinedMetricType": "ALBRequestCountPerTarget"})
            }),
            "predefinedMetricSpecification.resourceLabel: Invalid value: predefinedMetricType ALBRequestCountPerTarget needs resourceLabel",
        ),
        (
            with(&|s| {
                s["scalingPolicies"][0]["targetTrackingScalingPolicyConfiguration"]["predefinedMetricSpecification"]
                    ["predefinedMetricType"] = json!("DiskIO")
            }),
            "Unsupported value: \"DiskIO\"",
        ),
        (
            with(&|s| s["scalingPolicies"][0]["policyType"] = json!("StepScaling")),
            "spec.scalingPolicies[0].stepScalingPolicyConfiguration: Invalid value: stepScalingPolicyConfiguration is required with policyType StepScaling",
        ),
        (
            with(&|s| s["scheduledActions"][0]["schedule"] = json!("every night at ten")),
            "schedule must be cron(<fields>), rate(<n> <minutes|hours|days>) or at(yyyy-mm-ddThh:mm:ss)",
        ),
        (
            with(&|s| s["scheduledActions"][0]["schedule"] = json!("rate(0 days)")),
            "schedule must be cron",
        ),
        (
            with(&|s| s["scheduledActions"][1]["scheduledActionName"] = json!("nightly-scale-down")),
            "duplicate entries for key [scheduledActionName=\"nightly-scale-down\"]",
        ),
        (
            with(&|s| {
                add_policy(
                    s,
                    json!({"policyName": "cpu", "policyType": "StepScaling",
                    "stepScalingPolicyConfiguration": {"adjustmentType": "ChangeInCapacity",
                        "stepAdjustments": [{"metricIntervalLowerBound": 0, "scalingAdjustment": 1}]}}),
                );
            }),
            "duplicate entries for key [policyName=\"cpu\"]",
        ),
        (
            with(&|s| {
                add_policy(
                    s,
                    json!({"policyName": "steps", "policyType": "StepScaling",
                    "stepScalingPolicyConfiguration": {"adjustmentType": "ChangeInCapacity", "stepAdjustments": []}}),
                );
            }),
            "should have at least 1 items",
        ),
        (
            with(&|s| {
                add_policy(
                    s,
                    json!({"policyName": "steps", "policyType": "StepScaling",
                    "stepScalingPolicyConfiguration": {"adjustmentType": "ChangeInCapacity", "minAdjustmentMagnitude": 2,
                        "stepAdjustments": [{"metricIntervalLowerBound": 0, "scalingAdjustment": 1}]}}),
                );
            }),
            "stepScalingPolicyConfiguration.minAdjustmentMagnitude: Invalid value: minAdjustmentMagnitude applies only to adjustmentType PercentChangeInCapacity",
        ),
        (
            with(&|s| {
                add_policy(
                    s,
                    json!({"policyName": "steps", "policyType": "StepScaling",
                    "stepScalingPolicyConfiguration": {"adjustmentType": "ChangeInCapacity",
                        "stepAdjustments": [{"scalingAdjustment": 1}]}}),
                );
            }),
            "spec.scalingPolicies[1].stepScalingPolicyConfiguration.stepAdjustments[0]: Invalid value: set metricIntervalLowerBound, metricIntervalUpperBound or both",
        ),
        (
            with(&|s| {
                add_policy(
                    s,
                    json!({"policyName": "forecast", "policyType": "PredictiveScaling",
                    "predictiveScalingPolicyConfiguration": {"maxCapacityBuffer": 10, "metricSpecifications": [
                        {"targetValue": 40, "predefinedMetricPairSpecification": {"predefinedMetricType": "ECSServiceCPUUtilization"}}]}}),
                );
            }),
            "spec.scalingPolicies[1].predictiveScalingPolicyConfiguration.maxCapacityBuffer: Invalid value: maxCapacityBuffer is required with maxCapacityBreachBehavior IncreaseMaxCapacity and cannot be used otherwise",
        ),
        (
            with(&|s| {
                add_policy(
                    s,
                    json!({"policyName": "forecast", "policyType": "PredictiveScaling",
                    "predictiveScalingPolicyConfiguration": {"metricSpecifications": [
                        {"targetValue": 40, "predefinedScalingMetricSpecification": {"predefinedMetricType": "ECSServiceAverageCPUUtilization"}}]}}),
                );
            }),
            "or a scaling metric (predefinedScalingMetricSpecification or customizedScalingMetricSpecification) and a load metric",
        ),
        (
            with(&|s| {
                s["scalingPolicies"][0]["targetTrackingScalingPolicyConfiguration"] = json!({"targetValue": 10,
                    "customizedMetricSpecification": {"metrics": [
                        {"id": "m1", "expression": "SUM(METRICS())", "metricStat": {"stat": "Sum", "metric": {"metricName": "Visible"}}}]}})
            }),
            "customizedMetricSpecification.metrics[0]: Invalid value: set exactly one of expression or metricStat",
        ),
        (
            with(&|s| {
                s["stepScaling"] = json!([{"name": "steps", "adjustmentType": "ChangeInCapacity",
                    "stepAdjustments": [{"metricIntervalLowerBound": 0, "scalingAdjustment": 1}]}])
            }),
            "spec.stepScaling: Invalid value: stepScaling was replaced by scalingPolicies (policyType StepScaling",
        ),
        (
            with(&|s| {
                s["resourceId"] = json!("service/c/web");
            }),
            "set exactly one of serviceRef or resourceId",
        ),
        (
            with(&|s| s["scheduledActions"][0]["startTime"] = json!("tomorrow")),
            "startTime",
        ),
    ];
    assert_all_rejected(&api, corpus).await?;
    // The target service cannot change under a policy (its old setup would be left behind in AWS).
    apply(&api, policy_manifest("web", 50.0, nightly())).await?;
    let err = apply(&api, policy_manifest("other", 50.0, nightly()))
        .await
        .expect_err("retarget rejected");
    assert!(
        format!("{err:#}").contains("the target service of a ScalingPolicy is immutable"),
        "{err:#}"
    );
    Ok(())
}

#[tokio::test]
async fn a_policy_by_resource_id_also_owns_the_managed_services_count() -> Result<()> {
    let setup = Setup::new("e2e-scaleid").await?;
    let cluster_name = fixture(&setup, "e2e-scaleid").await?;
    let (clusters, tds, services, policies) = (&setup.clusters, &setup.tds, &setup.services, &setup.policies);
    let mut policy = policy_manifest("web", 60.0, json!([]));
    policy["spec"]
        .as_object_mut()
        .context("spec")?
        .remove("serviceRef");
    policy["spec"]["resourceId"] = json!(format!("service/{cluster_name}/web"));
    apply(policies, policy).await?;
    wait_ready(policies, "web-scaling", ConditionStatus::True, T).await?;
    eventually("the service to know its scaler", T, || async {
        let obj = serde_json::to_value(services.get("web").await?)?;
        Ok((obj.pointer("/status/scaledBy").and_then(|v| v.as_str()) == Some("web-scaling")).then_some(()))
    })
    .await?;

    // A second policy on the same service, named by reference this time, is a conflict; deleting it
    // leaves the first one's setup in AWS alone.
    let mut second = policy_manifest("web", 70.0, json!([]));
    second["metadata"]["name"] = json!("second");
    apply(policies, second).await?;
    let obj = wait_ready(policies, "second", ConditionStatus::False, T).await?;
    assert_eq!(
        condition(&obj, READY).map(|c| c.reason),
        Some("Conflict".to_string()),
        "{obj}"
    );
    delete_and_wait_gone(policies, "second", T).await?;
    let resource_id = format!("service/{cluster_name}/web");
    let aas = aas().await?;
    let d = aas
        .describe_scaling_policies()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(&resource_id)
        .send()
        .await?;
    let cpu: Vec<_> = d
        .scaling_policies()
        .iter()
        .filter(|p| p.resource_id() == resource_id)
        .collect();
    assert_eq!(cpu.len(), 1, "the first policy's setup is still there");
    assert_eq!(
        cpu[0]
            .target_tracking_scaling_policy_configuration()
            .map(|c| c.target_value()),
        Some(60.0)
    );

    delete_and_wait_gone(policies, "web-scaling", T).await?;
    delete_and_wait_gone(services, "web", T).await?;
    delete_and_wait_gone(tds, "web", T).await?;
    delete_and_wait_gone(clusters, "main", T).await?;
    Ok(())
}

/// Steady state costs near the floor: a resync of many ScalingPolicies reads the policies and scheduled
/// actions of every service at once, in pages (50 per call), not one call per object. Counted from the
/// controller's own log of successful calls over many resyncs (every 3 s in tests).
#[tokio::test]
async fn a_resync_of_many_policies_reads_policies_and_scheduled_actions_in_pages() -> Result<()> {
    resync_reads_are_shared(Setup::new("e2e-scale-pages").await?, "e2e-scale-pages").await
}

/// The same when a resync's reads arrive one at a time (`--concurrency 1`, as they trickle in when a
/// resync holds more objects than reconcile slots): from the second resync of the process on, the
/// first read of a resync lists the namespace (the resync before made enough reads to pay for it), and
/// the resync's later reads are answered from that listing.
#[tokio::test]
async fn a_resync_reading_one_target_at_a_time_still_lists_the_namespace_once() -> Result<()> {
    let setup = Setup::builder("e2e-scale-trickle")
        .args(&["--concurrency", "1"])
        .start()
        .await?;
    resync_reads_are_shared(setup, "e2e-scale-trickle").await
}

async fn resync_reads_are_shared(setup: Setup, prefix: &str) -> Result<()> {
    const N: usize = 10;
    let net = network()?;
    apply(&setup.clusters, cluster_manifest("main", &unique(prefix))).await?;
    apply(
        &setup.tds,
        task_definition_manifest("web", &unique(prefix), "nginx:1"),
    )
    .await?;
    for i in 0..N {
        let svc = format!("web-{i}");
        apply(&setup.services, service_manifest(&svc, "main", "web", &net, 1)).await?;
        apply(
            &setup.policies,
            scaling_policy_manifest(&format!("scale-{i}"), &svc, 50.0 + i as f64),
        )
        .await?;
    }
    for i in 0..N {
        wait_ready(&setup.policies, &format!("scale-{i}"), ConditionStatus::True, T).await?;
    }
    // Settled, and one resync of every policy made (a process forecasts a resync's reads from the
    // one before): count the reads over at least 5 more resyncs.
    let c = &setup.controller;
    more_reconciles(c, "ScalingPolicy", N as f64).await?;
    let (policies_before, actions_before, puts_before) = (
        c.calls("DescribeScalingPolicies"),
        c.calls("DescribeScheduledActions"),
        c.calls("PutScalingPolicy"),
    );
    let reconciles_before = reconciles(c, "ScalingPolicy").await?;
    more_reconciles(c, "ScalingPolicy", (5 * N) as f64).await?;
    let reconciled = reconciles(c, "ScalingPolicy").await? - reconciles_before;
    let policy_reads = c.calls("DescribeScalingPolicies") - policies_before;
    let action_reads = c.calls("DescribeScheduledActions") - actions_before;
    eprintln!(
        "{reconciled} ScalingPolicy reconciles: {policy_reads} DescribeScalingPolicies, {action_reads} DescribeScheduledActions"
    );
    // One call per object would be `reconciled` of each; reads shared by the resync of all N objects
    // are about reconciled / N. Allow stragglers (a resync split across two batches) but not per-object reads.
    let most = (reconciled / 3.0).ceil() as usize;
    assert!(
        policy_reads <= most && action_reads <= most,
        "reads are not shared: {policy_reads} policy and {action_reads} scheduled-action reads for \
         {reconciled} reconciles (at most {most})"
    );
    // What the shared reads answered is what AWS holds: nothing was put again.
    assert_eq!(
        c.calls("PutScalingPolicy"),
        puts_before,
        "a policy was put again at steady state"
    );
    for i in 0..N {
        wait_ready(&setup.policies, &format!("scale-{i}"), ConditionStatus::True, T).await?;
    }
    Ok(())
}
