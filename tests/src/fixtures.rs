//! Manifests the end-to-end tests apply, built in one place because most test files need the same valid
//! EcsCluster, TaskDefinition, FargateService and ScalingPolicy (and the test network of moto) before
//! they change one field of it.

use crate::harness::env;
use anyhow::{Context as _, Result};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The subnets and security groups `make env-up` seeded in moto (`ECS_TEST_SUBNETS`,
/// `ECS_TEST_SECURITY_GROUPS`).
pub struct Network {
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
}

pub fn network() -> Result<Network> {
    let split = |v: String| {
        v.split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    Ok(Network {
        subnets: split(env("ECS_TEST_SUBNETS")?),
        security_groups: split(env("ECS_TEST_SECURITY_GROUPS")?),
    })
}

/// An EcsCluster with both Fargate capacity providers.
pub fn cluster_manifest(name: &str, cluster_name: &str) -> serde_json::Value {
    json!({"apiVersion": "ecs.kubefargate.dev/v1alpha1", "kind": "EcsCluster", "metadata": {"name": name},
           "spec": {"clusterName": cluster_name, "capacityProviders": ["FARGATE", "FARGATE_SPOT"]}})
}

/// An EcsCluster with `clusterName` and the fields of `spec` (an object; anything else adds nothing).
pub fn cluster_manifest_with(name: &str, cluster_name: &str, spec: serde_json::Value) -> serde_json::Value {
    let mut full = json!({"clusterName": cluster_name});
    if let (Some(s), Some(e)) = (full.as_object_mut(), spec.as_object()) {
        s.extend(e.clone());
    }
    json!({"apiVersion": "ecs.kubefargate.dev/v1alpha1", "kind": "EcsCluster", "metadata": {"name": name},
           "spec": full})
}

/// The smallest Fargate TaskDefinition: one container `app` running `image` on port 8080.
pub fn task_definition_manifest(name: &str, family: &str, image: &str) -> serde_json::Value {
    json!({"apiVersion": "ecs.kubefargate.dev/v1alpha1", "kind": "TaskDefinition", "metadata": {"name": name},
           "spec": {"family": family, "cpu": "256", "memory": "512", "networkMode": "awsvpc",
                    "requiresCompatibilities": ["FARGATE"],
                    "containerDefinitions": [{"name": "app", "image": image, "portMappings": [{"containerPort": 8080}]}]}})
}

/// A TaskDefinition moto can run tasks of: one container `app` with memory (moto's RunTask answers 500
/// for a container with neither `memory` nor `memoryReservation`) that logs with awslogs.
pub fn runnable_task_definition_manifest(name: &str, family: &str) -> serde_json::Value {
    json!({"apiVersion": "ecs.kubefargate.dev/v1alpha1", "kind": "TaskDefinition", "metadata": {"name": name},
           "spec": {"family": family, "cpu": "256", "memory": "512", "networkMode": "awsvpc",
                    "requiresCompatibilities": ["FARGATE"],
                    "containerDefinitions": [{"name": "app", "image": "busybox:1.37", "memory": 256,
                        "logConfiguration": {"logDriver": "awslogs", "options": {
                            "awslogs-group": format!("/ecs/{family}"), "awslogs-region": "us-east-1",
                            "awslogs-stream-prefix": "run"}}}]}})
}

/// A FargateTask of the cluster and task definition objects named `cluster` and `td`, running
/// `app` with `command`, plus the fields of `extra` (an object).
pub fn task_manifest(
    name: &str,
    cluster: &str,
    td: &str,
    net: &Network,
    extra: serde_json::Value,
) -> serde_json::Value {
    let mut spec = json!({
        "clusterRef": {"name": cluster}, "taskDefinitionRef": {"name": td},
        "overrides": {"containerOverrides": [{"name": "app", "command": ["sh", "-c", "echo done"]}]},
        "networkConfiguration": {"awsvpcConfiguration": {"subnets": [net.subnets[0]], "securityGroups": net.security_groups}},
        "tags": [{"key": "run", "value": name}]});
    if let (Some(s), Some(e)) = (spec.as_object_mut(), extra.as_object()) {
        s.extend(e.clone());
    }
    json!({"apiVersion": "ecs.kubefargate.dev/v1alpha1", "kind": "FargateTask", "metadata": {"name": name}, "spec": spec})
}

/// A FargateService on the cluster and task definition objects named `cluster` and `td`, tagged
/// `app=<name>`, with a circuit breaker.
pub fn service_manifest(
    name: &str,
    cluster: &str,
    td: &str,
    net: &Network,
    desired: i32,
) -> serde_json::Value {
    json!({"apiVersion": "ecs.kubefargate.dev/v1alpha1", "kind": "FargateService", "metadata": {"name": name},
           "spec": {"clusterRef": {"name": cluster}, "taskDefinitionRef": {"name": td}, "desiredCount": desired,
                    "networkConfiguration": {"awsvpcConfiguration": {"subnets": net.subnets, "securityGroups": net.security_groups}},
                    "deploymentConfiguration": {"minimumHealthyPercent": 100, "maximumPercent": 200,
                                                "deploymentCircuitBreaker": {"enable": true, "rollback": true}},
                    "tags": [{"key": "app", "value": name}]}})
}

/// A ScalingPolicy on the service object `service`: CPU target tracking at `target` and one nightly
/// scheduled action.
pub fn scaling_policy_manifest(name: &str, service: &str, target: f64) -> serde_json::Value {
    json!({"apiVersion": "ecs.kubefargate.dev/v1alpha1", "kind": "ScalingPolicy", "metadata": {"name": name},
           "spec": {"serviceRef": {"name": service}, "minCapacity": 1, "maxCapacity": 3,
                    "scalingPolicies": [{"policyName": "cpu", "policyType": "TargetTrackingScaling",
                                         "targetTrackingScalingPolicyConfiguration": {"targetValue": target,
                                            "predefinedMetricSpecification": {"predefinedMetricType": "ECSServiceAverageCPUUtilization"}}}],
                    "scheduledActions": [{"scheduledActionName": "nightly", "schedule": "cron(0 22 * * ? *)",
                                          "scalableTargetAction": {"minCapacity": 1, "maxCapacity": 1}}]}})
}

/// Writes `manifests` as one multi-document YAML file `<temp dir>/<stem>.yaml` (for `kubectl apply -f`).
pub fn manifests_file(stem: &str, manifests: &[serde_json::Value]) -> Result<PathBuf> {
    let file = std::env::temp_dir().join(format!("{stem}.yaml"));
    std::fs::write(
        &file,
        manifests
            .iter()
            .map(serde_yaml::to_string)
            .collect::<Result<Vec<_>, _>>()?
            .join("---\n"),
    )?;
    Ok(file)
}

/// Fills in (for the corpus files) `${NAME}` and `${REPEAT:<text>:<count>}`; an unknown placeholder is an error.
pub fn expand_placeholders(text: &str, vars: &BTreeMap<&str, String>) -> Result<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').context("unterminated ${ placeholder")?;
        let key = &after[..end];
        if let Some(spec) = key.strip_prefix("REPEAT:") {
            let (unit, count) = spec.rsplit_once(':').context("REPEAT needs <text>:<count>")?;
            out.push_str(&unit.repeat(count.parse().context("REPEAT count")?));
        } else {
            out.push_str(
                vars.get(key)
                    .with_context(|| format!("unknown placeholder ${{{key}}}"))?,
            );
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// `net` as ECS takes it, for a service made straight in AWS (moto) by a test.
pub fn network_configuration(net: &Network) -> Result<aws_sdk_ecs::types::NetworkConfiguration> {
    use aws_sdk_ecs::types::{AssignPublicIp, AwsVpcConfiguration, NetworkConfiguration};
    Ok(NetworkConfiguration::builder()
        .awsvpc_configuration(
            AwsVpcConfiguration::builder()
                .set_subnets(Some(net.subnets.clone()))
                .set_security_groups(Some(net.security_groups.clone()))
                .assign_public_ip(AssignPublicIp::Disabled)
                .build()?,
        )
        .build())
}

/// A Fargate revision registered straight in AWS (moto), as another tool would: one busybox container,
/// with `task_role` when given. Returns its ARN.
pub async fn register_revision(
    ecs: &aws_sdk_ecs::Client,
    family: &str,
    task_role: Option<&str>,
) -> Result<String> {
    use aws_sdk_ecs::types::{Compatibility, ContainerDefinition, NetworkMode};
    let out = ecs
        .register_task_definition()
        .family(family)
        .set_task_role_arn(task_role.map(str::to_string))
        .network_mode(NetworkMode::Awsvpc)
        .requires_compatibilities(Compatibility::Fargate)
        .cpu("256")
        .memory("512")
        .container_definitions(
            ContainerDefinition::builder()
                .name("app")
                .image("busybox:1.37")
                .memory(256)
                .build(),
        )
        .send()
        .await?;
    Ok(out
        .task_definition()
        .and_then(|t| t.task_definition_arn())
        .context("RegisterTaskDefinition answered no ARN")?
        .to_string())
}
