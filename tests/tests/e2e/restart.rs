//! Restarts with cold caches: after every start (or leader change) each kind's cache fills with its own
//! first list, at its own pace. A reconcile that read another kind's cache before it was filled would
//! see "nothing there" and act on it: reset a count an autoscaler set, deregister revisions a live
//! service runs. The failpoint `ECS_CONTROLLER_DELAY_WATCH=<Kind>:<seconds>` makes one kind's first list
//! late on purpose, so the window is there every time instead of by chance.

use anyhow::{Context as _, Result, bail, ensure};
use ecs_controller::api::ConditionStatus;
use ecs_controller_e2e::fixtures::{
    cluster_manifest, network, scaling_policy_manifest, service_manifest, task_definition_manifest,
};
use ecs_controller_e2e::harness::*;
use ecs_controller_e2e::probes::describe_service;
use std::time::Duration;

const T: Duration = Duration::from_secs(90);
/// How late the delayed kind's watch starts: well past the moment the other kinds reconcile.
const LATE: &str = "4";

/// Kills the controller and starts a new one whose watch of `late_kind` starts late; returns once
/// the new one has finished at least `at_least` reconciles of `kind`.
async fn restart_with_late_cache(
    setup: &mut Setup,
    late_kind: &str,
    kind: &str,
    at_least: f64,
) -> Result<()> {
    setup.controller.kill();
    let late = format!("{late_kind}:{LATE}");
    setup.controller =
        ControllerProcess::start_with_env(&setup.ns.name, &[], &[("ECS_CONTROLLER_DELAY_WATCH", &late)])?;
    let controller = &setup.controller;
    eventually(
        &format!("{at_least} {kind} reconciles after the restart"),
        T,
        || async { Ok((reconciles(controller, kind).await? >= at_least).then_some(())) },
    )
    .await
}

#[tokio::test]
async fn restarts_never_reset_a_desired_count_the_autoscaler_set() -> Result<()> {
    const SERVICES: usize = 5;
    let ecs = ecs().await?;
    let mut setup = Setup::new("e2e-restart-scale").await?;
    let cluster_name = unique("e2e-restart");
    apply(&setup.clusters, cluster_manifest("main", &cluster_name)).await?;
    apply(
        &setup.tds,
        task_definition_manifest("web", &unique("e2e-restart"), "nginx:1"),
    )
    .await?;
    let net = network()?;
    for i in 0..SERVICES {
        let name = format!("web-{i}");
        apply(&setup.services, service_manifest(&name, "main", "web", &net, 1)).await?;
        apply(
            &setup.policies,
            scaling_policy_manifest(&format!("{name}-scaling"), &name, 60.0),
        )
        .await?;
    }
    for i in 0..SERVICES {
        wait_ready(
            &setup.policies,
            &format!("web-{i}-scaling"),
            ConditionStatus::True,
            T,
        )
        .await?;
    }
    // The autoscaler scales every service out, behind the controller's back.
    for i in 0..SERVICES {
        ecs.update_service()
            .cluster(&cluster_name)
            .service(format!("web-{i}"))
            .desired_count(3)
            .send()
            .await?;
    }
    for round in 1..=3 {
        restart_with_late_cache(&mut setup, "ScalingPolicy", "FargateService", SERVICES as f64).await?;
        for i in 0..SERVICES {
            let service = describe_service(&ecs, &cluster_name, &format!("web-{i}"))
                .await?
                .context("service in moto")?;
            ensure!(
                service.desired_count() == 3,
                "restart {round}: web-{i} was reset to desiredCount {} (the scaling policy owns it)",
                service.desired_count()
            );
        }
    }
    Ok(())
}

#[tokio::test]
async fn a_deleting_task_definition_keeps_waiting_for_its_service_across_restarts() -> Result<()> {
    let ecs = ecs().await?;
    let mut setup = Setup::new("e2e-restart-td").await?;
    let cluster_name = unique("e2e-restart-td");
    let family = unique("e2e-restart-td");
    apply(&setup.clusters, cluster_manifest("main", &cluster_name)).await?;
    apply(&setup.tds, task_definition_manifest("web", &family, "nginx:1")).await?;
    apply(
        &setup.services,
        service_manifest("web", "main", "web", &network()?, 1),
    )
    .await?;
    wait_ready(&setup.services, "web", ConditionStatus::True, T).await?;
    let td = wait_ready(&setup.tds, "web", ConditionStatus::True, T).await?;
    let arn = td
        .pointer("/status/arn")
        .and_then(|v| v.as_str())
        .context("status.arn")?
        .to_string();

    // The task definition is deleted while the service still runs its only revision: it waits.
    setup
        .tds
        .delete("web", &Default::default())
        .await
        .context("deleting the TaskDefinition")?;
    let tds = setup.tds.clone();
    eventually("the TaskDefinition to wait for its service", T, || async {
        let obj = serde_json::to_value(tds.get("web").await?)?;
        Ok(condition(&obj, "Ready")
            .filter(|c| c.reason == "HasDependents")
            .map(|_| ()))
    })
    .await?;

    for round in 1..=3 {
        restart_with_late_cache(&mut setup, "FargateService", "TaskDefinition", 1.0).await?;
        // An error here is a revision that was deleted (moto answers ClientException).
        let status = match ecs.describe_task_definition().task_definition(&arn).send().await {
            Ok(d) => d
                .task_definition()
                .and_then(|t| t.status())
                .map(|s| s.as_str().to_string()),
            Err(e) => Some(format!(
                "gone ({})",
                aws_sdk_ecs::error::ProvideErrorMetadata::message(&e).unwrap_or("no message")
            )),
        };
        ensure!(
            status.as_deref() == Some("ACTIVE"),
            "restart {round}: the revision the service runs is {status:?}, not ACTIVE"
        );
        ensure!(
            setup.controller.calls("DeregisterTaskDefinition") == 0
                && setup.controller.calls("DeleteTaskDefinitions") == 0,
            "restart {round}: the controller removed revisions in use: {}",
            setup.controller.log_text()
        );
        ensure!(
            setup.tds.get_opt("web").await?.is_some(),
            "restart {round}: the TaskDefinition went while its service runs it"
        );
    }

    // Once the service goes, the task definition (deleted above) follows on its own.
    delete_and_wait_gone(&setup.services, "web", T).await?;
    eventually("the TaskDefinition to go after its service", T, || async {
        Ok(setup.tds.get_opt("web").await?.is_none().then_some(()))
    })
    .await?;
    Ok(())
}

/// A cache that lags is confirmed with the API server before anything is deregistered: a service that
/// pins a revision a moment before its TaskDefinition is deleted is not in the controller's cache yet
/// (`ECS_CONTROLLER_LAG_WATCH` holds every FargateService change 20 s), and the deletion waits for it
/// all the same, by the API server's list.
#[tokio::test]
async fn a_task_definition_deleted_while_the_cache_lags_behind_a_new_service_keeps_its_revision() -> Result<()>
{
    let ecs = ecs().await?;
    let setup = Setup::builder("e2e-lag-td")
        .env("ECS_CONTROLLER_LAG_WATCH", "FargateService:20")
        .start()
        .await?;
    let family = unique("e2e-lag-td");
    apply(&setup.clusters, cluster_manifest("main", &unique("e2e-lag-td"))).await?;
    apply(&setup.tds, task_definition_manifest("web", &family, "nginx:1")).await?;
    let td = wait_ready(&setup.tds, "web", ConditionStatus::True, T).await?;
    let arn = td
        .pointer("/status/arn")
        .and_then(|v| v.as_str())
        .context("status.arn")?
        .to_string();
    // The service pins the revision; the controller's cache hears of it 20 s from now.
    let mut svc = service_manifest("web", "main", "web", &network()?, 1);
    svc["spec"]["taskDefinitionArn"] = serde_json::json!(arn);
    svc["spec"]
        .as_object_mut()
        .context("spec")?
        .remove("taskDefinitionRef");
    apply(&setup.services, svc).await?;
    setup.tds.delete("web", &Default::default()).await?;

    // The deletion waits for the service, which only the API server knows of yet.
    let tds = setup.tds.clone();
    eventually(
        "the TaskDefinition to wait for its service",
        Duration::from_secs(15),
        || async {
            let Some(obj) = tds.get_opt("web").await? else {
                bail!("the TaskDefinition was deleted while a service pins its revision");
            };
            let obj = serde_json::to_value(obj)?;
            Ok(condition(&obj, "Ready")
                .filter(|c| c.reason == "HasDependents")
                .map(|_| ()))
        },
    )
    .await?;
    let status = ecs
        .describe_task_definition()
        .task_definition(&arn)
        .send()
        .await?
        .task_definition()
        .and_then(|t| t.status())
        .map(|s| s.as_str().to_string());
    ensure!(
        status.as_deref() == Some("ACTIVE"),
        "the pinned revision is {status:?}"
    );
    ensure!(
        setup.controller.calls("DeregisterTaskDefinition") == 0,
        "a revision was deregistered on the lagging cache's word"
    );
    Ok(())
}
