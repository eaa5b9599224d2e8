//! FargateService end to end: one apply in any order, rollouts that follow the TaskDefinition, updates
//! of only what changed, silence on resync, dependency wake-ups, and deletion in the right order.

use anyhow::{Context as _, Result, ensure};
use aws_sdk_ecs::types::Service;
use ecs_controller::api::conditions::{READY, STALLED};
use ecs_controller::api::{ConditionStatus, FargateService};
use ecs_controller_e2e::fixtures::{
    Network, cluster_manifest, manifests_file, network, network_configuration, register_revision,
    service_manifest, task_definition_manifest,
};
use ecs_controller_e2e::harness::*;
use ecs_controller_e2e::probes::describe_service;
use kube::api::Api;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

const T: Duration = Duration::from_secs(60);

fn tags(s: &Service) -> BTreeMap<String, String> {
    s.tags()
        .iter()
        .map(|t| {
            (
                t.key().unwrap_or_default().to_string(),
                t.value().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn cluster_task_definition_and_service_in_one_apply_then_rollouts_updates_and_ordered_deletion()
-> Result<()> {
    let ecs = ecs().await?;
    let setup = Setup::new("e2e-svc").await?;
    let net = network()?;
    let cluster_name = unique("e2e-svc");
    let family = unique("e2e-svc-web");

    // One `kubectl apply` with the service first and the cluster last.
    let manifests = [
        service_manifest("web", "main", "web", &net, 1),
        task_definition_manifest("web", &family, "nginx:1.27"),
        cluster_manifest("main", &cluster_name),
    ];
    let file = manifests_file(&setup.ns.name, &manifests)?;
    let path = file.to_str().context("path")?;
    let (ok, out) = kubectl(&["apply", "-n", &setup.ns.name, "-f", path])?;
    ensure!(ok, "kubectl apply: {out}");
    let (ok, out) = kubectl(&[
        "wait",
        "-n",
        &setup.ns.name,
        "--for=condition=Ready",
        "-f",
        path,
        "--timeout=90s",
    ])?;
    ensure!(ok, "kubectl wait: {out}");

    let services = &setup.services;
    let tds = &setup.tds;
    let clusters = &setup.clusters;
    let obj = wait_ready(services, "web", ConditionStatus::True, T).await?;
    let td1 = tds
        .get("web")
        .await?
        .status
        .and_then(|s| s.arn)
        .context("td arn")?;
    let cluster_arn = clusters
        .get("main")
        .await?
        .status
        .and_then(|s| s.arn)
        .context("cluster arn")?;
    let svc = describe_service(&ecs, &cluster_arn, "web")
        .await?
        .context("service exists")?;
    assert_eq!(svc.status(), Some("ACTIVE"));
    assert_eq!(svc.task_definition(), Some(td1.as_str()));
    assert_eq!(
        obj.pointer("/status/arn").and_then(|a| a.as_str()),
        svc.service_arn()
    );
    assert_eq!(
        obj.pointer("/status/taskDefinitionArn").and_then(|a| a.as_str()),
        Some(td1.as_str())
    );
    assert_eq!(
        obj.pointer("/status/desiredCount").and_then(|a| a.as_i64()),
        Some(1)
    );
    assert_eq!(
        obj.pointer("/status/runningCount").and_then(|a| a.as_i64()),
        Some(1)
    );
    assert_eq!(
        obj.pointer("/status/rolloutState").and_then(|a| a.as_str()),
        Some("COMPLETED")
    );
    let mut subnets: Vec<_> = svc
        .network_configuration()
        .and_then(|n| n.awsvpc_configuration())
        .map(|a| a.subnets().to_vec())
        .unwrap_or_default();
    subnets.sort();
    let mut want = net.subnets.clone();
    want.sort();
    assert_eq!(subnets, want);
    assert_eq!(tags(&svc).get("app").map(String::as_str), Some("web"));
    let progressing = condition(&obj, "Progressing").context("Progressing condition")?;
    assert_eq!(
        (progressing.status, progressing.reason.as_str()),
        (ConditionStatus::False, "RolloutComplete")
    );

    // Let the first convergence settle (moto ignores some CreateService fields, so one UpdateService
    // stores them), then: resyncs (every 3 s here) make no changing call at all.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let before = setup.controller.mutating_calls();
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(
        setup.controller.mutating_calls(),
        before,
        "resyncs of unchanged objects changed something"
    );

    // Image change: revision 2, exactly one UpdateService, status says so.
    let updates = setup.controller.calls("UpdateService");
    apply(tds, task_definition_manifest("web", &family, "nginx:1.28")).await?;
    let td2 = eventually("revision 2", T, || async {
        Ok(tds
            .get("web")
            .await?
            .status
            .and_then(|s| s.arn)
            .filter(|a| a.ends_with(":2")))
    })
    .await?;
    eventually("the service to run revision 2", T, || async {
        let obj = wait_ready(services, "web", ConditionStatus::True, T).await?;
        Ok(
            (obj.pointer("/status/taskDefinitionArn").and_then(|a| a.as_str()) == Some(td2.as_str()))
                .then_some(()),
        )
    })
    .await?;
    let svc = describe_service(&ecs, &cluster_arn, "web")
        .await?
        .context("service")?;
    assert_eq!(svc.task_definition(), Some(td2.as_str()));
    tokio::time::sleep(Duration::from_secs(7)).await;
    assert_eq!(
        setup.controller.calls("UpdateService") - updates,
        1,
        "one rollout, one UpdateService"
    );

    // desiredCount, network and tags: AWS follows.
    let mut changed = service_manifest("web", "main", "web", &net, 3);
    changed["spec"]["networkConfiguration"]["awsvpcConfiguration"]["subnets"] = json!([net.subnets[0]]);
    changed["spec"]["tags"] = json!([{"key": "app", "value": "web"}, {"key": "tier", "value": "frontend"}]);
    apply(services, changed).await?;
    eventually("AWS to follow count, network and tags", T, || async {
        let s = describe_service(&ecs, &cluster_arn, "web")
            .await?
            .context("service")?;
        let subnets = s
            .network_configuration()
            .and_then(|n| n.awsvpc_configuration())
            .map(|a| a.subnets().to_vec());
        Ok((s.desired_count() == 3
            && subnets == Some(vec![net.subnets[0].clone()])
            && tags(&s).get("tier").map(String::as_str) == Some("frontend"))
        .then_some(()))
    })
    .await?;
    wait_ready(services, "web", ConditionStatus::True, T).await?;

    // The cluster first: it waits for its service instead of failing in AWS.
    clusters.delete("main", &Default::default()).await?;
    let obj = eventually("the cluster to wait for its service", T, || async {
        let obj = serde_json::to_value(clusters.get("main").await?)?;
        Ok(condition(&obj, READY)
            .filter(|c| c.reason == "HasDependents")
            .map(|_| obj))
    })
    .await?;
    let message = condition(&obj, READY).map(|c| c.message).unwrap_or_default();
    assert!(
        message.contains("web"),
        "the condition names the service: {message}"
    );
    let c = ecs.describe_clusters().clusters(&cluster_arn).send().await?;
    assert_eq!(c.clusters().first().and_then(|c| c.status()), Some("ACTIVE"));

    // Then everything: no ACTIVE ECS resource is left.
    services.delete("web", &Default::default()).await?;
    tds.delete("web", &Default::default()).await?;
    for (what, gone) in [
        (
            "service",
            Box::pin(async {
                eventually("service gone", T, || async {
                    Ok(services.get_opt("web").await?.is_none().then_some(()))
                })
                .await
            }) as std::pin::Pin<Box<dyn Future<Output = Result<()>>>>,
        ),
        (
            "task definition",
            Box::pin(async {
                eventually("td gone", T, || async {
                    Ok(tds.get_opt("web").await?.is_none().then_some(()))
                })
                .await
            }),
        ),
        (
            "cluster",
            Box::pin(async {
                eventually("cluster gone", T, || async {
                    Ok(clusters.get_opt("main").await?.is_none().then_some(()))
                })
                .await
            }),
        ),
    ] {
        gone.await.with_context(|| format!("{what} object"))?;
    }
    let svc = describe_service(&ecs, &cluster_arn, "web").await?;
    assert!(
        svc.as_ref().is_none_or(|s| s.status() == Some("INACTIVE")),
        "service left: {svc:?}"
    );
    let c = ecs.describe_clusters().clusters(&cluster_arn).send().await?;
    assert_eq!(c.clusters().first().and_then(|c| c.status()), Some("INACTIVE"));
    let active = ecs
        .list_task_definitions()
        .family_prefix(&family)
        .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
        .send()
        .await?;
    assert!(
        active.task_definition_arns().is_empty(),
        "ACTIVE revisions left: {:?}",
        active.task_definition_arns()
    );
    Ok(())
}

#[tokio::test]
async fn a_missing_dependency_is_reported_and_its_arrival_wakes_the_service() -> Result<()> {
    // A long resync period: only the watch on TaskDefinitions can wake the service in time.
    let setup = Setup::builder("e2e-svcdep")
        .args(&["--resync-period", "10m"])
        .start()
        .await?;
    let net = network()?;
    let clusters = &setup.clusters;
    let services = &setup.services;
    let tds = &setup.tds;
    apply(clusters, cluster_manifest("main", &unique("e2e-dep"))).await?;
    // The cluster first, so that the task definition is the one dependency missing (otherwise the
    // first DependencyNotReady may name the cluster, still being created).
    wait_ready(clusters, "main", ConditionStatus::True, T).await?;
    apply(services, service_manifest("web", "main", "later", &net, 1)).await?;
    let obj = eventually("DependencyNotReady", T, || async {
        let obj = serde_json::to_value(services.get("web").await?)?;
        Ok(condition(&obj, READY)
            .filter(|c| c.reason == "DependencyNotReady")
            .map(|_| obj))
    })
    .await?;
    let ready = condition(&obj, READY).context("Ready")?;
    assert_eq!(ready.status, ConditionStatus::False);
    assert!(
        ready.message.contains("TaskDefinition later"),
        "names the dependency: {}",
        ready.message
    );

    let start = std::time::Instant::now();
    apply(
        tds,
        task_definition_manifest("later", &unique("e2e-later"), "nginx:1"),
    )
    .await?;
    wait_ready(services, "web", ConditionStatus::True, Duration::from_secs(30)).await?;
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "woken by the watch, not by a resync"
    );

    for (api_delete, name) in [("svc", "web")] {
        let _ = api_delete;
        delete_and_wait_gone(services, name, T).await?;
    }
    delete_and_wait_gone(tds, "later", T).await?;
    delete_and_wait_gone(clusters, "main", T).await?;
    Ok(())
}

/// A service that waits for its task definition is looked up while it waits (with the others waiting,
/// in shared calls) and created without a second look-up. A service of that name made elsewhere in
/// between makes ECS refuse the create ("Creation of service was not idempotent"; moto would overwrite
/// the service, so the fault proxy answers as ECS does): the controller then looks again and adopts it.
#[tokio::test]
async fn a_service_made_elsewhere_while_ours_waited_is_adopted_after_ecs_refuses_the_create() -> Result<()> {
    use ecs_controller_e2e::faultproxy::{FaultConfig, FaultProxy};
    let proxy = FaultProxy::start(&env("MOTO_URL")?, FaultConfig::default())?;
    let setup = Setup::builder("e2e-ahead")
        .env("AWS_ENDPOINT_URL", &proxy.url())
        .args(&["--resync-period", "10m"])
        .start()
        .await?;
    let ecs = ecs().await?;
    let net = network()?;
    let (clusters, services, tds) = (&setup.clusters, &setup.services, &setup.tds);
    let cluster_name = unique("e2e-ahead");
    apply(clusters, cluster_manifest("main", &cluster_name)).await?;
    wait_ready(clusters, "main", ConditionStatus::True, T).await?;
    let service_name = unique("e2e-ahead");
    let mut svc = service_manifest("web", "main", "later", &net, 1);
    svc["spec"]["serviceName"] = json!(service_name);
    svc["spec"]["adoption"] = json!("AdoptOrCreate");
    apply(services, svc).await?;
    eventually("looked up while waiting for its task definition", T, || async {
        let obj = serde_json::to_value(services.get("web").await?)?;
        let waiting = condition(&obj, READY).is_some_and(|c| c.reason == "DependencyNotReady");
        Ok((waiting && setup.controller.calls("DescribeServices") > 0).then_some(()))
    })
    .await?;

    // Someone else creates the service now, straight in AWS.
    let theirs = register_revision(&ecs, &unique("e2e-theirs"), None).await?;
    ecs.create_service()
        .cluster(&cluster_name)
        .service_name(&service_name)
        .task_definition(&theirs)
        .desired_count(1)
        .network_configuration(network_configuration(&net)?)
        .send()
        .await?;
    proxy.refuse(
        "CreateService",
        400,
        "InvalidParameterException",
        "Creation of service was not idempotent.",
    );
    apply(
        tds,
        task_definition_manifest("later", &unique("e2e-later"), "nginx:1"),
    )
    .await?;
    let obj = wait_ready(services, "web", ConditionStatus::True, T).await?;
    assert_eq!(
        proxy.refused("CreateService"),
        1,
        "created without a look-up after the wait, refused once, then adopted"
    );
    assert_eq!(obj["status"]["adopted"], json!(true), "{}", obj["status"]);
    let ours = obj["status"]["taskDefinitionArn"]
        .as_str()
        .context("taskDefinitionArn")?;
    ensure!(ours != theirs, "the adopted service runs our revision now");
    proxy.accept("CreateService");
    delete_and_wait_gone(services, "web", T).await?;
    delete_and_wait_gone(tds, "later", T).await?;
    delete_and_wait_gone(clusters, "main", T).await?;
    Ok(())
}

#[tokio::test]
async fn invalid_services_are_rejected_with_a_message() -> Result<()> {
    let client = kube().await?;
    let ns = TestNamespace::create(&client, "e2e-svcinvalid").await?;
    let api: Api<FargateService> = ns.api();
    let net = Network {
        subnets: vec!["subnet-0abc".into()],
        security_groups: vec!["sg-0abc".into()],
    };
    let with = |patch: &dyn Fn(&mut serde_json::Value)| {
        let mut m = service_manifest("bad", "c", "t", &net, 1);
        patch(&mut m["spec"]);
        m
    };
    let corpus: Vec<(serde_json::Value, &str)> = vec![
        (
            with(&|s| s["clusterArn"] = json!("arn:aws:ecs:us-east-1:123456789012:cluster/x")),
            "set at most one of clusterRef or clusterArn",
        ),
        (
            with(&|s| {
                s.as_object_mut().map(|o| o.remove("taskDefinitionRef"));
            }),
            "set exactly one of taskDefinitionRef or taskDefinitionArn",
        ),
        (
            with(&|s| s["networkConfiguration"]["awsvpcConfiguration"]["subnets"] = json!([])),
            "should have at least 1 items",
        ),
        (
            with(&|s| s["launchType"] = json!("EC2")),
            "Unsupported value: \"EC2\"",
        ),
        (
            with(&|s| {
                s["launchType"] = json!("FARGATE");
                s["capacityProviderStrategy"] = json!([{"capacityProvider": "FARGATE", "weight": 1}])
            }),
            "set launchType or capacityProviderStrategy, not both",
        ),
        (
            with(&|s| s["deploymentConfiguration"]["maximumPercent"] = json!(300)),
            "should be less than or equal to 200",
        ),
        (
            with(&|s| s["deploymentConfiguration"]["minimumHealthyPercent"] = json!(-1)),
            "should be greater than or equal to 0",
        ),
        (
            with(
                &|s| s["loadBalancers"] = json!([{"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/1", "containerName": "app", "containerPort": 0}]),
            ),
            "should be greater than or equal to 1",
        ),
        (
            with(&|s| s["desiredCount"] = json!(-2)),
            "should be greater than or equal to 0",
        ),
        (
            with(&|s| s["networkConfiguration"]["awsvpcConfiguration"]["subnets"] = json!(["not-a-subnet"])),
            "should match",
        ),
    ];
    assert_all_rejected(&api, corpus).await?;
    apply(&api, with(&|_| {})).await?;
    let err = apply(&api, with(&|s| s["serviceName"] = json!("renamed")))
        .await
        .expect_err("rename rejected");
    assert!(format!("{err:#}").contains("serviceName is immutable"), "{err:#}");
    let err = apply(&api, with(&|s| s["clusterRef"] = json!({"name": "other"})))
        .await
        .expect_err("move rejected");
    assert!(
        format!("{err:#}").contains("the cluster of a service is immutable"),
        "{err:#}"
    );
    Ok(())
}

#[tokio::test]
async fn a_desired_count_left_out_of_the_spec_is_left_to_aws() -> Result<()> {
    let ecs = ecs().await?;
    let setup = Setup::new("e2e-svc-count").await?;
    let net = network()?;
    apply(
        &setup.clusters,
        cluster_manifest("main", &unique("e2e-svc-count")),
    )
    .await?;
    apply(
        &setup.tds,
        task_definition_manifest("web", &unique("e2e-svc-count"), "nginx:1.27"),
    )
    .await?;
    let mut manifest = service_manifest("web", "main", "web", &net, 1);
    if let Some(spec) = manifest["spec"].as_object_mut() {
        spec.remove("desiredCount");
    }
    apply(&setup.services, manifest.clone()).await?;
    let web = wait_ready(&setup.services, "web", ConditionStatus::True, T).await?;
    let cluster = wait_ready(&setup.clusters, "main", ConditionStatus::True, T).await?;
    let cluster_arn = cluster["status"]["arn"].as_str().context("arn")?.to_string();
    let name = web["status"]["serviceName"].as_str().unwrap_or("web").to_string();
    let count = |s: Option<Service>| s.map(|s| s.desired_count());
    // Created with ECS's default of one task.
    assert_eq!(count(describe_service(&ecs, &cluster_arn, &name).await?), Some(1));
    // Someone (an operator, a scaler no object owns) sets 3 in AWS: resyncs keep it.
    ecs.update_service()
        .cluster(&cluster_arn)
        .service(&name)
        .desired_count(3)
        .send()
        .await?;
    more_reconciles(&setup.controller, "FargateService", 3.0).await?;
    assert_eq!(
        count(describe_service(&ecs, &cluster_arn, &name).await?),
        Some(3),
        "a count the spec leaves out is not reset"
    );
    // Set in the spec, it is managed again.
    manifest["spec"]["desiredCount"] = json!(2);
    apply(&setup.services, manifest).await?;
    eventually("desiredCount 2 in AWS", T, || async {
        Ok((count(describe_service(&ecs, &cluster_arn, &name).await?) == Some(2)).then_some(()))
    })
    .await?;
    Ok(())
}

#[tokio::test]
async fn a_new_force_new_deployment_value_redeploys_the_service_once() -> Result<()> {
    use ecs_controller_e2e::faultproxy::{FaultConfig, FaultProxy};
    let ecs = ecs().await?;
    // Redeploys are counted in the requests sent: against moto the controller also sends one
    // UpdateService right after creating a service (moto's CreateService drops deploymentConfiguration,
    // docs/moto.md), which must not count as a redeploy.
    let proxy = FaultProxy::start(&env("MOTO_URL")?, FaultConfig::default())?;
    proxy.record_requests();
    let redeploys = || {
        proxy
            .sent("UpdateService")
            .iter()
            .filter(|body| body.get("forceNewDeployment") == Some(&json!(true)))
            .count()
    };
    let setup = Setup::builder("e2e-svc-redeploy")
        .env("AWS_ENDPOINT_URL", &proxy.url())
        .start()
        .await?;
    let net = network()?;
    apply(
        &setup.clusters,
        cluster_manifest("main", &unique("e2e-svc-redeploy")),
    )
    .await?;
    apply(
        &setup.tds,
        task_definition_manifest("web", &unique("e2e-svc-redeploy"), "nginx:1.27"),
    )
    .await?;
    let mut manifest = service_manifest("web", "main", "web", &net, 1);
    manifest["spec"]["forceNewDeployment"] = json!("2026-12-03T06:00:00Z");
    apply(&setup.services, manifest.clone()).await?;
    let web = wait_ready(&setup.services, "web", ConditionStatus::True, T).await?;
    let cluster = wait_ready(&setup.clusters, "main", ConditionStatus::True, T).await?;
    let cluster_arn = cluster["status"]["arn"].as_str().context("arn")?.to_string();
    let name = web["status"]["serviceName"].as_str().unwrap_or("web").to_string();
    let primary =
        |s: Option<Service>| s.and_then(|s| s.deployments().first().and_then(|d| d.id().map(str::to_string)));
    let created = primary(describe_service(&ecs, &cluster_arn, &name).await?).context("deployment")?;
    assert_eq!(
        web.pointer("/status/forcedDeployment"),
        Some(&json!("2026-12-03T06:00:00Z"))
    );
    // Past the reconcile after the creation (the one that sends moto what it dropped).
    more_reconciles(&setup.controller, "FargateService", 2.0).await?;
    assert_eq!(
        redeploys(),
        0,
        "the value a service is created with starts no redeploy"
    );

    // A new value: one UpdateService with forceNewDeployment (moto gives the deployment a new id).
    manifest["spec"]["forceNewDeployment"] = json!("2026-12-03T07:00:00Z");
    apply(&setup.services, manifest).await?;
    eventually("a new deployment in AWS", T, || async {
        let now = primary(describe_service(&ecs, &cluster_arn, &name).await?);
        Ok((now.is_some() && now.as_deref() != Some(created.as_str())).then_some(()))
    })
    .await?;
    let services = setup.services.clone();
    eventually("status.forcedDeployment to follow", T, || async {
        let obj = serde_json::to_value(services.get("web").await?)?;
        Ok((obj.pointer("/status/forcedDeployment") == Some(&json!("2026-12-03T07:00:00Z"))).then_some(()))
    })
    .await?;
    assert_eq!(redeploys(), 1);
    // Resyncs send it no more.
    more_reconciles(&setup.controller, "FargateService", 3.0).await?;
    assert_eq!(redeploys(), 1, "redeployed once");
    Ok(())
}

#[tokio::test]
async fn a_scalable_target_no_scaling_policy_owns_keeps_the_count() -> Result<()> {
    use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
    let ecs = ecs().await?;
    let aas = aas().await?;
    let setup = Setup::new("e2e-svc-ext").await?;
    let net = network()?;
    let cluster_name = unique("e2e-svc-ext");
    apply(&setup.clusters, cluster_manifest("main", &cluster_name)).await?;
    apply(
        &setup.tds,
        task_definition_manifest("web", &unique("e2e-svc-ext"), "nginx:1.27"),
    )
    .await?;
    apply(&setup.services, service_manifest("web", "main", "web", &net, 1)).await?;
    let web = wait_ready(&setup.services, "web", ConditionStatus::True, T).await?;
    let cluster_arn = web["status"]["clusterArn"]
        .as_str()
        .context("cluster")?
        .to_string();
    let name = web["status"]["serviceName"].as_str().context("name")?.to_string();
    // Terraform (say) registers the service with Application Auto Scaling, which then scales it to 4.
    let resource_id = format!("service/{cluster_name}/{name}");
    aas.register_scalable_target()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(&resource_id)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .min_capacity(1)
        .max_capacity(6)
        .send()
        .await?;
    ecs.update_service()
        .cluster(&cluster_arn)
        .service(&name)
        .desired_count(4)
        .send()
        .await?;
    let scaled = eventually("status.scaledBy names the scalable target", T, || async {
        let obj = serde_json::to_value(setup.services.get("web").await?)?;
        Ok((obj["status"]["scaledBy"] == json!(format!("ScalableTarget {resource_id}"))).then_some(obj))
    })
    .await?;
    ensure!(
        scaled["status"]["desiredCount"] == json!(4),
        "{}",
        scaled["status"]
    );
    more_reconciles(&setup.controller, "FargateService", 3.0).await?;
    let count = describe_service(&ecs, &cluster_arn, &name)
        .await?
        .map(|s| s.desired_count());
    assert_eq!(
        count,
        Some(4),
        "the scaler's count is kept, not reset to the spec's 1"
    );
    aas.deregister_scalable_target()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(&resource_id)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .send()
        .await?;
    Ok(())
}

/// The ARN of revision `n` of the TaskDefinition `web`, once its status shows it.
async fn revision_arn(tds: &Api<ecs_controller::api::TaskDefinition>, n: i64) -> Result<String> {
    eventually(&format!("revision {n}"), T, || async {
        let td = serde_json::to_value(tds.get("web").await?)?;
        Ok((td["status"]["revision"] == json!(n))
            .then(|| td["status"]["arn"].as_str().map(str::to_string))
            .flatten())
    })
    .await
}

/// How DescribeServices answers in [`a_rollout_goes_in_progress_then_complete_and_a_circuit_breaker_rollback_is_not_retried`].
#[derive(Clone, Debug, PartialEq)]
enum Rollout {
    /// moto's own answer (a deployment is COMPLETED at once).
    AsMoto,
    /// The PRIMARY deployment IN_PROGRESS, its task not running yet.
    InProgress,
    /// The PRIMARY deployment COMPLETED, its task running.
    Completed,
    /// Once the service runs another revision than `old`: the circuit breaker rolled it back to `old`
    /// (the new deployment FAILED, `old` PRIMARY again); until then as `Completed`.
    RolledBackTo(String),
}

/// The rollout path real ECS takes, which moto does not (its deployments stay on the first revision and
/// complete at once): answers to DescribeServices rewritten by the fault proxy as ECS gives them during
/// a rollout, once it completed, and after a circuit-breaker rollback.
#[tokio::test]
async fn a_rollout_goes_in_progress_then_complete_and_a_circuit_breaker_rollback_is_not_retried() -> Result<()>
{
    use ecs_controller_e2e::faultproxy::{FaultConfig, FaultProxy};
    use std::sync::{Arc, Mutex};
    let proxy = FaultProxy::start(&env("MOTO_URL")?, FaultConfig::default())?;
    let mode = Arc::new(Mutex::new(Rollout::AsMoto));
    let seen = mode.clone();
    proxy.rewrite("DescribeServices", move |answer| {
        let mode = seen.lock().map(|m| m.clone()).unwrap_or(Rollout::AsMoto);
        let Some(services) = answer.get_mut("services").and_then(|s| s.as_array_mut()) else {
            return;
        };
        for s in services {
            // moto leaves its deployments on the first revision; ECS's PRIMARY runs the service's.
            let current = s["taskDefinition"].clone();
            let Some(deployments) = s.get_mut("deployments").and_then(|d| d.as_array_mut()) else {
                continue;
            };
            if mode != Rollout::AsMoto {
                for d in deployments.iter_mut().filter(|d| d["status"] == "PRIMARY") {
                    d["taskDefinition"] = current.clone();
                }
            }
            match &mode {
                Rollout::AsMoto => {}
                Rollout::InProgress => {
                    for d in deployments.iter_mut().filter(|d| d["status"] == "PRIMARY") {
                        d["rolloutState"] = json!("IN_PROGRESS");
                        d["rolloutStateReason"] = json!("ECS deployment ecs-svc/1 in progress.");
                        d["runningCount"] = json!(0);
                        d["pendingCount"] = json!(1);
                    }
                    s["runningCount"] = json!(0);
                    s["pendingCount"] = json!(1);
                }
                Rollout::RolledBackTo(old) if current != json!(old) => {
                    let mut back = deployments.first().cloned().unwrap_or_default();
                    for d in deployments.iter_mut() {
                        d["status"] = json!("ACTIVE");
                        d["rolloutState"] = json!("FAILED");
                        d["rolloutStateReason"] =
                            json!("ECS deployment circuit breaker: tasks failed to start.");
                    }
                    back["status"] = json!("PRIMARY");
                    back["taskDefinition"] = json!(old);
                    back["rolloutState"] = json!("COMPLETED");
                    deployments.insert(0, back);
                    s["taskDefinition"] = json!(old);
                }
                Rollout::Completed | Rollout::RolledBackTo(_) => {
                    for d in deployments.iter_mut().filter(|d| d["status"] == "PRIMARY") {
                        d["rolloutState"] = json!("COMPLETED");
                        d["rolloutStateReason"] = json!("ECS deployment ecs-svc/1 completed.");
                        d["runningCount"] = json!(1);
                        d["pendingCount"] = json!(0);
                    }
                }
            }
        }
    });
    let setup = Setup::builder("e2e-svc-rollout")
        .env("AWS_ENDPOINT_URL", &proxy.url())
        .start()
        .await?;
    let net = network()?;
    let family = unique("e2e-svc-rollout");
    apply(
        &setup.clusters,
        cluster_manifest("main", &unique("e2e-svc-rollout")),
    )
    .await?;
    apply(&setup.tds, task_definition_manifest("web", &family, "nginx:1")).await?;
    apply(&setup.services, service_manifest("web", "main", "web", &net, 1)).await?;
    wait_ready(&setup.services, "web", ConditionStatus::True, T).await?;
    let ready_reason = |obj: &serde_json::Value| condition(obj, READY).map(|c| (c.status, c.reason));

    // A new revision rolls out: IN_PROGRESS while ECS says so, then COMPLETED.
    *mode.lock().map_err(|_| anyhow::anyhow!("poisoned"))? = Rollout::InProgress;
    apply(&setup.tds, task_definition_manifest("web", &family, "nginx:2")).await?;
    let rev2 = revision_arn(&setup.tds, 2).await?;
    // (The first status after UpdateService comes from its answer; the rollout state from the next
    // DescribeServices.) On revision 2: a DescribeServices between the switch to IN_PROGRESS and the
    // UpdateService shows the deployment of revision 1 in progress, and the UpdateService's answer
    // (moto's, no rollout state) is then written Ready.
    let rolling = eventually(
        "RolloutInProgress of revision 2 with ECS's rollout state",
        T,
        || async {
            let obj = serde_json::to_value(setup.services.get("web").await?)?;
            Ok(
                (ready_reason(&obj) == Some((ConditionStatus::False, "RolloutInProgress".into()))
                    && obj["status"]["rolloutState"] == "IN_PROGRESS"
                    && obj["status"]["taskDefinitionArn"] == json!(rev2))
                .then_some(obj),
            )
        },
    )
    .await?;
    assert_eq!(
        rolling["status"]["rolloutStateReason"],
        "ECS deployment ecs-svc/1 in progress."
    );
    assert_eq!(
        condition(&rolling, "Progressing").map(|c| c.status),
        Some(ConditionStatus::True)
    );
    *mode.lock().map_err(|_| anyhow::anyhow!("poisoned"))? = Rollout::Completed;
    let done = wait_ready(&setup.services, "web", ConditionStatus::True, T).await?;
    assert_eq!(done["status"]["taskDefinitionArn"], json!(rev2));
    assert_eq!(done["status"]["rolloutState"], "COMPLETED");

    // The next revision fails and the circuit breaker rolls back to revision 2: RolloutFailed, Stalled,
    // the rejected revision recorded and never sent again (before the fix, the first look at the
    // rollback sent it again, and again at every resync).
    *mode.lock().map_err(|_| anyhow::anyhow!("poisoned"))? = Rollout::RolledBackTo(rev2.clone());
    apply(&setup.tds, task_definition_manifest("web", &family, "nginx:3")).await?;
    let rev3 = revision_arn(&setup.tds, 3).await?;
    let failed = eventually("RolloutFailed", T, || async {
        let obj = serde_json::to_value(setup.services.get("web").await?)?;
        Ok((ready_reason(&obj) == Some((ConditionStatus::False, "RolloutFailed".into()))).then_some(obj))
    })
    .await?;
    assert_eq!(failed["status"]["failedTaskDefinitionArn"], json!(rev3));
    assert_eq!(failed["status"]["taskDefinitionArn"], json!(rev2));
    assert_eq!(
        condition(&failed, STALLED).map(|c| c.status),
        Some(ConditionStatus::True)
    );
    let updates = proxy.counts().by_operation("UpdateService").forwarded;
    more_reconciles(&setup.controller, "FargateService", 3.0).await?;
    assert_eq!(
        proxy.counts().by_operation("UpdateService").forwarded,
        updates,
        "the rolled-back revision is not rolled out again"
    );

    Ok(())
}

/// A status write of a cluster that changes nothing a service reads of it (here the handled
/// reconcile request; in a mass deletion, "waiting for N services" counting down; in steady state,
/// the task counts) wakes no service. Before, each one woke every service on the cluster.
#[tokio::test]
async fn a_cluster_status_write_services_do_not_read_wakes_none_of_them() -> Result<()> {
    use kube::api::{Patch, PatchParams};
    const N: usize = 10;
    // No resync in the window: every service reconcile counted is a wake-up.
    let setup = Setup::builder("e2e-svc-wake")
        .args(&["--resync-period", "10m"])
        .start()
        .await?;
    let net = network()?;
    apply(&setup.clusters, cluster_manifest("main", &unique("e2e-svc-wake"))).await?;
    apply(
        &setup.tds,
        task_definition_manifest("web", &unique("e2e-svc-wake"), "nginx:1"),
    )
    .await?;
    for i in 0..N {
        apply(
            &setup.services,
            service_manifest(&format!("web-{i}"), "main", "web", &net, 1),
        )
        .await?;
    }
    for i in 0..N {
        wait_ready(&setup.services, &format!("web-{i}"), ConditionStatus::True, T).await?;
    }
    // Let the services' own follow-ups (status writes, rollout checks) finish.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let before = reconciles(&setup.controller, "FargateService").await?;

    for round in 0..3 {
        let stamp = format!("2026-12-02T00:00:0{round}Z");
        let patch =
            json!({"metadata": {"annotations": {"ecs.kubefargate.dev/reconcile-requested-at": stamp}}});
        setup
            .clusters
            .patch("main", &PatchParams::default(), &Patch::Merge(patch))
            .await?;
        let clusters = setup.clusters.clone();
        eventually("the cluster to write its status", T, || async {
            let obj = serde_json::to_value(clusters.get("main").await?)?;
            Ok((obj
                .pointer("/status/lastHandledReconcileAt")
                .and_then(|v| v.as_str())
                == Some(stamp.as_str()))
            .then_some(()))
        })
        .await?;
    }
    // A wake-up follows the cluster's event within milliseconds; 3 s is ample.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let woken = reconciles(&setup.controller, "FargateService").await? - before;
    ensure!(
        woken == 0.0,
        "3 cluster status writes that change nothing services read caused {woken} service reconciles"
    );
    Ok(())
}

/// With the CODE_DEPLOY deployment controller the rollouts are CodeDeploy's: a new TaskDefinition revision
/// is never sent with UpdateService (ECS refuses it), and the status says who rolls out and what is
/// waiting for it. moto keeps the controller type it was created with and lists no deployments for it.
#[tokio::test]
async fn a_service_on_codedeploy_is_left_to_codedeploy_and_says_so() -> Result<()> {
    let ecs = ecs().await?;
    let setup = Setup::new("e2e-svc-codedeploy").await?;
    let net = network()?;
    let family = unique("e2e-svc-codedeploy");
    apply(&setup.clusters, cluster_manifest("main", &family)).await?;
    apply(&setup.tds, task_definition_manifest("web", &family, "nginx:1.27")).await?;
    let mut manifest = service_manifest("web", "main", "web", &net, 1);
    manifest["spec"]["deploymentController"] = json!({"type": "CODE_DEPLOY"});
    // (moto drops a deployment configuration sent with CreateService, so the controller would send it
    // again with UpdateService, which CODE_DEPLOY allows; left out, any UpdateService is a mistake.)
    if let Some(spec) = manifest["spec"].as_object_mut() {
        spec.remove("deploymentConfiguration");
    }
    apply(&setup.services, manifest).await?;
    let web = wait_ready(&setup.services, "web", ConditionStatus::True, T).await?;
    let ready = condition(&web, READY).context("Ready")?;
    assert_eq!(ready.reason, "RolloutByCodeDeploy", "{}", ready.message);
    assert_eq!(
        web.pointer("/status/deploymentController"),
        Some(&json!("CODE_DEPLOY"))
    );
    let first = web["status"]["taskDefinitionArn"]
        .as_str()
        .context("revision")?
        .to_string();

    // A new revision: reported as CodeDeploy's to deploy, never sent.
    apply(&setup.tds, task_definition_manifest("web", &family, "nginx:1.28")).await?;
    let services = setup.services.clone();
    let message = eventually(
        "the status to name the revision waiting for CodeDeploy",
        T,
        || async {
            let obj = serde_json::to_value(services.get("web").await?)?;
            let ready = condition(&obj, READY);
            Ok(ready
                .filter(|c| {
                    c.status == ConditionStatus::True && c.message.contains("is for CodeDeploy to deploy")
                })
                .map(|c| c.message))
        },
    )
    .await?;
    ensure!(message.contains(":2 is for CodeDeploy"), "{message}");
    more_reconciles(&setup.controller, "FargateService", 2.0).await?;
    assert_eq!(
        setup.controller.calls("UpdateService"),
        0,
        "nothing to send while CodeDeploy owns rollouts"
    );
    let cluster = wait_ready(&setup.clusters, "main", ConditionStatus::True, T).await?;
    let cluster_arn = cluster["status"]["arn"].as_str().context("arn")?;
    let name = web["status"]["serviceName"].as_str().unwrap_or("web");
    let service = describe_service(&ecs, cluster_arn, name)
        .await?
        .context("the service")?;
    assert_eq!(
        service.task_definition(),
        Some(first.as_str()),
        "still on the first revision"
    );
    Ok(())
}
