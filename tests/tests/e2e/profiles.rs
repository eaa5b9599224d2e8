//! FargateProfile applied to the kinds, end to end on moto: TaskDefinition, FargateTask and
//! FargateService objects a profile selects get what they leave out from it (execution role, logging,
//! tags, cluster, network), `status.profile` names it, and a task role the profile does not allow is
//! refused before anything runs. (Jobs through profiles: `jobs.rs`.)

use anyhow::{Context as _, Result, ensure};
use ecs_controller::api::ConditionStatus;
use ecs_controller_e2e::fixtures::{cluster_manifest, network, register_revision};
use ecs_controller_e2e::harness::*;
use ecs_controller_e2e::probes::{describe_service, tasks_started_by};
use serde_json::{Value, json};
use std::time::Duration;

const T: Duration = Duration::from_secs(90);
const EXEC_ROLE: &str = "arn:aws:iam::123456789012:role/ecs-exec";
const LOG_GROUP: &str = "/ecs/profiled";

fn text<'a>(obj: &'a Value, pointer: &str) -> &'a str {
    obj.pointer(pointer).and_then(Value::as_str).unwrap_or_default()
}

fn has_tag<'a>(mut tags: impl Iterator<Item = (Option<&'a str>, Option<&'a str>)>) -> bool {
    tags.any(|(k, v)| k == Some("cost-center") && v == Some("data"))
}

#[tokio::test]
async fn objects_a_profile_selects_take_what_they_leave_out_from_it_and_a_role_outside_it_is_refused()
-> Result<()> {
    let ecs = ecs().await?;
    let setup = Setup::new("e2e-profiled").await?;
    let ns = setup.ns.name.clone();
    apply(&setup.clusters, cluster_manifest("main", &unique("e2e-profiled"))).await?;
    let cluster = wait_ready(&setup.clusters, "main", ConditionStatus::True, T).await?;
    let cluster_arn = text(&cluster, "/status/arn").to_string();
    let net = network()?;
    // The profile's subnet is the second one: the fixtures' manifests use the first.
    let subnet = net.subnets.get(1).context("two test subnets")?.clone();
    let name = unique("e2e-profiled");
    let _profile = Profile::apply(
        &name,
        &json!({"apiVersion": "ecs.kubefargate.dev/v1alpha1", "kind": "FargateProfile", "metadata": {"name": name},
            "spec": {"clusterRef": {"namespace": ns, "name": "main"},
                     "selectors": [{"namespace": ns, "labels": {"team": "data"}}],
                     "subnets": [subnet], "securityGroups": net.security_groups,
                     "executionRoleArn": EXEC_ROLE, "logging": {"logGroup": LOG_GROUP},
                     "allowedTaskRoleArns": ["arn:aws:iam::123456789012:role/batch-*"],
                     "tags": [{"key": "cost-center", "value": "data"}]}}),
    )?;
    let labels = json!({"team": "data"});

    // A TaskDefinition with neither an execution role nor logging.
    let family = unique("e2e-profiled");
    apply(
        &setup.tds,
        json!({"apiVersion": "ecs.kubefargate.dev/v1alpha1", "kind": "TaskDefinition",
               "metadata": {"name": "td", "labels": labels},
               "spec": {"family": family, "cpu": "256", "memory": "512", "networkMode": "awsvpc",
                        "requiresCompatibilities": ["FARGATE"],
                        "containerDefinitions": [{"name": "app", "image": "busybox:1.37", "memory": 256}]}}),
    )
    .await?;
    let td = wait_ready(&setup.tds, "td", ConditionStatus::True, T).await?;
    assert_eq!(text(&td, "/status/profile"), name);
    let registered = ecs
        .describe_task_definition()
        .task_definition(text(&td, "/status/arn"))
        .include(aws_sdk_ecs::types::TaskDefinitionField::Tags)
        .send()
        .await?;
    let def = registered.task_definition().context("task definition")?;
    assert_eq!(def.execution_role_arn(), Some(EXEC_ROLE));
    let logging = def.container_definitions()[0]
        .log_configuration()
        .context("the profile's logging")?;
    assert_eq!(logging.log_driver().as_str(), "awslogs");
    assert_eq!(
        logging
            .options()
            .and_then(|o| o.get("awslogs-group"))
            .map(String::as_str),
        Some(LOG_GROUP)
    );
    ensure!(
        has_tag(registered.tags().iter().map(|t| (t.key(), t.value()))),
        "{:?}",
        registered.tags()
    );

    // A FargateTask naming neither a cluster nor a network: both come from the profile.
    apply(
        &setup.tasks,
        json!({"apiVersion": "ecs.kubefargate.dev/v1alpha1", "kind": "FargateTask",
               "metadata": {"name": "run", "labels": labels},
               "spec": {"taskDefinitionRef": {"name": "td"}}}),
    )
    .await?;
    let run = eventually("FargateTask run Complete", T, || async {
        let obj = serde_json::to_value(setup.tasks.get("run").await?)?;
        Ok(condition(&obj, "Complete")
            .filter(|c| c.status == ConditionStatus::True)
            .map(|_| obj.clone()))
    })
    .await?;
    assert_eq!(text(&run, "/status/profile"), name);
    assert_eq!(text(&run, "/status/clusterArn"), cluster_arn);
    let started_by = text(&run, "/metadata/uid").replace('-', "");
    let arns = tasks_started_by(&ecs, &cluster_arn, &started_by).await?;
    ensure!(arns.len() == 1, "one task: {arns:?}");
    let described = ecs
        .describe_tasks()
        .cluster(&cluster_arn)
        .set_tasks(Some(arns))
        .include(aws_sdk_ecs::types::TaskField::Tags)
        .send()
        .await?;
    let task = described.tasks().first().context("the task")?;
    let subnets: Vec<&str> = task
        .attachments()
        .iter()
        .flat_map(|a| a.details())
        .filter(|d| d.name() == Some("subnetId"))
        .filter_map(|d| d.value())
        .collect();
    assert_eq!(subnets, vec![subnet.as_str()]);

    // A FargateService naming neither a cluster nor a network.
    apply(
        &setup.services,
        json!({"apiVersion": "ecs.kubefargate.dev/v1alpha1", "kind": "FargateService",
               "metadata": {"name": "web", "labels": labels},
               "spec": {"taskDefinitionRef": {"name": "td"}, "desiredCount": 1}}),
    )
    .await?;
    let web = wait_ready(&setup.services, "web", ConditionStatus::True, T).await?;
    assert_eq!(text(&web, "/status/profile"), name);
    let service = describe_service(&ecs, &cluster_arn, "web")
        .await?
        .context("the ECS service")?;
    let vpc = service
        .network_configuration()
        .and_then(|n| n.awsvpc_configuration())
        .context("the profile's network")?;
    assert_eq!(vpc.subnets(), std::slice::from_ref(&subnet));
    ensure!(
        has_tag(service.tags().iter().map(|t| (t.key(), t.value()))),
        "{:?}",
        service.tags()
    );

    // A revision registered elsewhere, with a task role the profile does not allow, referenced by ARN.
    let foreign_arn = register_revision(
        &ecs,
        &unique("e2e-foreign"),
        Some("arn:aws:iam::123456789012:role/admin"),
    )
    .await?;
    apply(
        &setup.tasks,
        json!({"apiVersion": "ecs.kubefargate.dev/v1alpha1", "kind": "FargateTask",
               "metadata": {"name": "admin", "labels": labels},
               "spec": {"taskDefinitionArn": foreign_arn}}),
    )
    .await?;
    let refused = eventually("FargateTask admin Stalled", T, || async {
        let obj = serde_json::to_value(setup.tasks.get("admin").await?)?;
        Ok(condition(&obj, "Stalled")
            .filter(|c| c.status == ConditionStatus::True)
            .map(|c| (c.reason, c.message, obj.clone())))
    })
    .await?;
    assert_eq!(refused.0, "TaskRoleNotAllowed", "{}", refused.1);
    ensure!(
        refused.1.contains("the task definition's taskRoleArn") && refused.1.contains("role/admin"),
        "{}",
        refused.1
    );
    let started_by = text(&refused.2, "/metadata/uid").replace('-', "");
    let arns = tasks_started_by(&ecs, &cluster_arn, &started_by).await?;
    ensure!(arns.is_empty(), "nothing ran for the refused task: {arns:?}");
    // The same revision for a service: refused, and no ECS service created.
    apply(
        &setup.services,
        json!({"apiVersion": "ecs.kubefargate.dev/v1alpha1", "kind": "FargateService",
               "metadata": {"name": "admin-svc", "labels": labels},
               "spec": {"taskDefinitionArn": foreign_arn, "desiredCount": 1}}),
    )
    .await?;
    let refused = eventually("FargateService admin-svc Stalled", T, || async {
        let obj = serde_json::to_value(setup.services.get("admin-svc").await?)?;
        Ok(condition(&obj, "Stalled")
            .filter(|c| c.status == ConditionStatus::True)
            .map(|c| (c.reason, c.message)))
    })
    .await?;
    assert_eq!(refused.0, "TaskRoleNotAllowed", "{}", refused.1);
    ensure!(refused.1.contains("role/admin"), "{}", refused.1);
    let created = describe_service(&ecs, &cluster_arn, "admin-svc").await?;
    ensure!(
        created.is_none(),
        "no ECS service for the refused one: {created:?}"
    );
    Ok(())
}
