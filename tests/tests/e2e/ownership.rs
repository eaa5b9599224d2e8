//! Ownership and safety end to end: adoption (`spec.adoption`), `deletionPolicy`, `managementPolicy:
//! ObserveOnly`, refusals across namespaces, and the region of each resource.

use anyhow::{Context as _, Result, ensure};
use aws_sdk_ecs::types::{ClusterField, ContainerDefinition, Tag};
use ecs_controller::api::conditions::{READY, STALLED};
use ecs_controller::api::{
    ConditionStatus, EcsCluster, FargateService, OWNER_NAMESPACE_TAG, OWNER_UID_TAG, ScalingPolicy,
    TaskDefinition,
};
use ecs_controller_e2e::fixtures::{
    cluster_manifest_with, network, network_configuration, register_revision, service_manifest,
    task_definition_manifest,
};
use ecs_controller_e2e::harness::*;
use ecs_controller_e2e::probes::describe_service;
use kube::api::Api;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

const T: Duration = Duration::from_secs(60);

async fn cluster_tags(ecs: &aws_sdk_ecs::Client, name: &str) -> Result<Option<BTreeMap<String, String>>> {
    let out = ecs
        .describe_clusters()
        .clusters(name)
        .include(ClusterField::Tags)
        .include(ClusterField::Settings)
        .send()
        .await?;
    Ok(out
        .clusters()
        .first()
        .filter(|c| c.status() == Some("ACTIVE"))
        .map(|c| {
            c.tags()
                .iter()
                .map(|t| {
                    (
                        t.key().unwrap_or_default().to_string(),
                        t.value().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        }))
}

/// Waits for `Ready=False` with `reason` (and returns the object).
async fn wait_reason<K>(api: &Api<K>, name: &str, reason: &str) -> Result<serde_json::Value>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug + serde::Serialize,
{
    eventually(&format!("{name} Ready=False reason {reason}"), T, || async {
        let obj = serde_json::to_value(api.get(name).await?)?;
        let generation = obj.pointer("/metadata/generation").and_then(|g| g.as_i64());
        Ok(condition(&obj, READY)
            .filter(|c| {
                c.status == ConditionStatus::False
                    && c.reason == reason
                    && c.observed_generation == generation
            })
            .map(|_| obj.clone()))
    })
    .await
}

fn event_reasons(ns: &str) -> Result<Vec<String>> {
    let (ok, out) = kubectl(&["get", "events", "-n", ns, "-o", "json"])?;
    ensure!(ok, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out)?;
    Ok(v["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|e| e["reason"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default())
}

#[tokio::test]
async fn an_unowned_cluster_is_left_alone_until_adopted() -> Result<()> {
    let ecs = ecs().await?;
    let setup = Setup::new("e2e-adopt").await?;
    let api = &setup.clusters;
    let cluster_name = unique("e2e-adopt");

    // Made outside ecs-controller, with a tag of its own.
    ecs.create_cluster()
        .cluster_name(&cluster_name)
        .tags(Tag::builder().key("made-by").value("hand").build())
        .send()
        .await?;
    let before = cluster_tags(&ecs, &cluster_name).await?.context("created")?;

    // No adoption asked: NotOwned, Stalled, and AWS untouched.
    apply(
        api,
        cluster_manifest_with(
            "web",
            &cluster_name,
            json!({"settings": [{"name": "containerInsights", "value": "enabled"}]}),
        ),
    )
    .await?;
    let obj = wait_reason(api, "web", "NotOwned").await?;
    let stalled = condition(&obj, STALLED).context("Stalled condition")?;
    assert_eq!(stalled.status, ConditionStatus::True);
    assert!(stalled.message.contains("spec.adoption"), "{}", stalled.message);
    assert_eq!(cluster_tags(&ecs, &cluster_name).await?.as_ref(), Some(&before));
    assert_eq!(
        setup.controller.mutating_calls(),
        vec![],
        "nothing may be written to a cluster that is not ours"
    );

    // Adopt: the ownership tags are written, the spec applied, and the adoption recorded.
    apply(
        api,
        cluster_manifest_with(
            "web",
            &cluster_name,
            json!({"adoption": "Adopt", "settings": [{"name": "containerInsights", "value": "enabled"}]}),
        ),
    )
    .await?;
    let obj = wait_ready(api, "web", ConditionStatus::True, T).await?;
    assert_eq!(obj.pointer("/status/adopted"), Some(&json!(true)));
    let tags = cluster_tags(&ecs, &cluster_name).await?.context("still there")?;
    let uid = obj.pointer("/metadata/uid").and_then(|u| u.as_str());
    assert_eq!(tags.get(OWNER_UID_TAG).map(String::as_str), uid);
    assert_eq!(tags.get(OWNER_NAMESPACE_TAG), Some(&setup.ns.name));
    // The user's spec owns the tag set: the hand-made tag is not in it, so it goes.
    assert!(!tags.contains_key("made-by"), "{tags:?}");
    eventually("an Adopted event", T, || async {
        Ok(event_reasons(&setup.ns.name)?
            .iter()
            .any(|r| r == "Adopted")
            .then_some(()))
    })
    .await?;

    // From now on it is ours: deletion removes it.
    delete_and_wait_gone(api, "web", T).await?;
    ensure!(
        cluster_tags(&ecs, &cluster_name).await?.is_none(),
        "the adopted cluster was deleted"
    );
    Ok(())
}

#[tokio::test]
async fn adopt_waits_for_a_missing_resource_and_adopt_or_create_creates_it() -> Result<()> {
    let ecs = ecs().await?;
    let setup = Setup::new("e2e-adopt-missing").await?;
    let api = &setup.clusters;
    let cluster_name = unique("e2e-missing");

    apply(
        api,
        cluster_manifest_with("c", &cluster_name, json!({"adoption": "Adopt"})),
    )
    .await?;
    let obj = wait_reason(api, "c", "NotFound").await?;
    let ready = condition(&obj, READY).context("Ready")?;
    assert!(ready.message.contains(&cluster_name), "{}", ready.message);
    ensure!(
        cluster_tags(&ecs, &cluster_name).await?.is_none(),
        "Adopt never creates"
    );
    assert_eq!(setup.controller.calls("CreateCluster"), 0);

    apply(
        api,
        cluster_manifest_with("c", &cluster_name, json!({"adoption": "AdoptOrCreate"})),
    )
    .await?;
    let obj = wait_ready(api, "c", ConditionStatus::True, T).await?;
    // Created, not adopted.
    assert_eq!(obj.pointer("/status/adopted"), None);
    assert_eq!(setup.controller.calls("CreateCluster"), 1);
    Ok(())
}

#[tokio::test]
async fn another_namespaces_resources_are_never_touched() -> Result<()> {
    let client = kube().await?;
    let ecs = ecs().await?;
    let net = network()?;
    let owner = TestNamespace::create(&client, "e2e-tenant-a").await?;
    let intruder = TestNamespace::create(&client, "e2e-tenant-b").await?;
    let _controller = ControllerProcess::start(
        &owner.name,
        &["--watch-namespace", &intruder.name, "--resync-period", "60s"],
    )?;
    let cluster_name = unique("e2e-tenant");
    let family = unique("e2e-tenant");
    let service_name = unique("e2e-tenant");

    // Tenant A: a cluster, a task definition and a service.
    let a_clusters: Api<EcsCluster> = owner.api();
    let a_tds: Api<TaskDefinition> = owner.api();
    let a_services: Api<FargateService> = owner.api();
    apply(
        &a_clusters,
        cluster_manifest_with("main", &cluster_name, json!({})),
    )
    .await?;
    apply(&a_tds, task_definition_manifest("app", &family, "nginx:1")).await?;
    let mut svc = service_manifest("web", "main", "app", &net, 1);
    svc["spec"]["serviceName"] = json!(service_name);
    apply(&a_services, svc).await?;
    let a_cluster = wait_ready(&a_clusters, "main", ConditionStatus::True, T).await?;
    let a_service = wait_ready(&a_services, "web", ConditionStatus::True, T).await?;
    let cluster_arn = a_cluster["status"]["arn"].as_str().context("arn")?.to_string();
    let tags_before = cluster_tags(&ecs, &cluster_name).await?;
    let service_before = describe_service(&ecs, &cluster_name, &service_name)
        .await?
        .context("service")?;

    // Tenant B tries the same cluster by name (even asking to adopt it), the same family, a service in
    // A's cluster by ARN, and a ScalingPolicy on A's service by resource id.
    let b_clusters: Api<EcsCluster> = intruder.api();
    let b_tds: Api<TaskDefinition> = intruder.api();
    let b_services: Api<FargateService> = intruder.api();
    let b_policies: Api<ScalingPolicy> = intruder.api();
    apply(
        &b_clusters,
        cluster_manifest_with("main", &cluster_name, json!({"adoption": "Adopt"})),
    )
    .await?;
    let mut td = task_definition_manifest("app", &family, "evil:1");
    td["spec"]["adoption"] = json!("AdoptOrCreate");
    apply(&b_tds, td).await?;
    apply(
        &b_tds,
        task_definition_manifest("own", &unique("e2e-tenant-b"), "nginx:1"),
    )
    .await?;
    let mut svc = service_manifest("web", "unused", "own", &net, 3);
    svc["spec"].as_object_mut().context("spec")?.remove("clusterRef");
    svc["spec"]["clusterArn"] = json!(cluster_arn);
    apply(&b_services, svc).await?;
    apply(
        &b_policies,
        json!({"apiVersion": "ecs.kubefargate.dev/v1alpha1", "kind": "ScalingPolicy", "metadata": {"name": "scale"},
               "spec": {"resourceId": format!("service/{cluster_name}/{service_name}"),
                        "minCapacity": 0, "maxCapacity": 50, "adoption": "Adopt"}}),
    )
    .await?;

    for (what, obj) in [
        ("cluster", wait_reason(&b_clusters, "main", "NotOwned").await?),
        ("task definition", wait_reason(&b_tds, "app", "NotOwned").await?),
        ("service", wait_reason(&b_services, "web", "NotOwned").await?),
        (
            "scaling policy",
            wait_reason(&b_policies, "scale", "NotOwned").await?,
        ),
    ] {
        let ready = condition(&obj, READY).context("Ready")?;
        assert!(
            ready.message.contains(&owner.name),
            "the {what} refusal names the owner: {}",
            ready.message
        );
    }

    // Nothing of A's changed in AWS: cluster tags, the family's revisions, the service, no scalable target.
    assert_eq!(cluster_tags(&ecs, &cluster_name).await?, tags_before);
    let revisions = ecs
        .list_task_definitions()
        .family_prefix(&family)
        .send()
        .await?
        .task_definition_arns()
        .len();
    assert_eq!(revisions, 1, "tenant B registered nothing into A's family");
    let service_after = describe_service(&ecs, &cluster_name, &service_name)
        .await?
        .context("service")?;
    assert_eq!(service_after.desired_count(), service_before.desired_count());
    assert_eq!(service_after.task_definition(), service_before.task_definition());
    assert_eq!(service_after.tags(), service_before.tags());
    let aas = aas().await?;
    let targets = aas
        .describe_scalable_targets()
        .service_namespace(aws_sdk_applicationautoscaling::types::ServiceNamespace::Ecs)
        .resource_ids(format!("service/{cluster_name}/{service_name}"))
        .send()
        .await?;
    assert!(
        targets.scalable_targets().is_empty(),
        "no scalable target on A's service"
    );
    let listed = ecs.list_services().cluster(&cluster_arn).send().await?;
    assert_eq!(
        listed.service_arns().len(),
        1,
        "tenant B created no service in A's cluster"
    );

    // B's objects go without touching A's resources; A stays Ready.
    for name in ["main"] {
        delete_and_wait_gone(&b_clusters, name, T).await?;
    }
    delete_and_wait_gone(&b_policies, "scale", T).await?;
    delete_and_wait_gone(&b_services, "web", T).await?;
    delete_and_wait_gone(&b_tds, "app", T).await?;
    assert_eq!(cluster_tags(&ecs, &cluster_name).await?, tags_before);
    ensure!(
        describe_service(&ecs, &cluster_name, &service_name)
            .await?
            .is_some_and(|s| s.status() == Some("ACTIVE")),
        "A's service survives B's deletions"
    );
    let a_after = wait_ready(&a_services, "web", ConditionStatus::True, T).await?;
    assert_eq!(a_after["status"]["arn"], a_service["status"]["arn"]);
    Ok(())
}

#[tokio::test]
async fn retain_then_adopt_again() -> Result<()> {
    let ecs = ecs().await?;
    let setup = Setup::new("e2e-retain-adopt").await?;
    let clusters = &setup.clusters;
    let tds = &setup.tds;
    let cluster_name = unique("e2e-kept");
    let family = unique("e2e-kept");

    apply(
        clusters,
        cluster_manifest_with("kept", &cluster_name, json!({"deletionPolicy": "Retain"})),
    )
    .await?;
    let mut td = task_definition_manifest("kept", &family, "nginx:1");
    td["spec"]["deletionPolicy"] = json!("Retain");
    apply(tds, td.clone()).await?;
    let first = wait_ready(clusters, "kept", ConditionStatus::True, T).await?;
    let td_first = wait_ready(tds, "kept", ConditionStatus::True, T).await?;
    let td_arn = td_first["status"]["arn"].as_str().context("arn")?.to_string();

    delete_and_wait_gone(clusters, "kept", T).await?;
    delete_and_wait_gone(tds, "kept", T).await?;
    ensure!(
        cluster_tags(&ecs, &cluster_name).await?.is_some(),
        "Retain leaves the cluster ACTIVE"
    );
    let kept = ecs
        .describe_task_definition()
        .task_definition(&td_arn)
        .send()
        .await?;
    assert_eq!(
        kept.task_definition().and_then(|t| t.status()),
        Some(&aws_sdk_ecs::types::TaskDefinitionStatus::Active)
    );

    // Re-created without adoption: the earlier object's tags are not this one's.
    apply(clusters, cluster_manifest_with("kept", &cluster_name, json!({}))).await?;
    let obj = wait_reason(clusters, "kept", "NotOwned").await?;
    let message = condition(&obj, READY).context("Ready")?.message;
    assert!(
        message.contains("earlier object"),
        "the refusal explains the previous owner: {message}"
    );
    // With adoption it takes the cluster back, and the family too (its revision of the same spec, not a
    // new one).
    apply(
        clusters,
        cluster_manifest_with("kept", &cluster_name, json!({"adoption": "Adopt"})),
    )
    .await?;
    td["spec"]["adoption"] = json!("Adopt");
    td["spec"]["deletionPolicy"] = json!("Delete");
    apply(tds, td).await?;
    let second = wait_ready(clusters, "kept", ConditionStatus::True, T).await?;
    assert_eq!(second["status"]["arn"], first["status"]["arn"]);
    assert_eq!(second.pointer("/status/adopted"), Some(&json!(true)));
    let tags = cluster_tags(&ecs, &cluster_name).await?.context("cluster")?;
    assert_eq!(
        tags.get(OWNER_UID_TAG).map(String::as_str),
        second["metadata"]["uid"].as_str()
    );
    let td_second = wait_ready(tds, "kept", ConditionStatus::True, T).await?;
    assert_eq!(td_second.pointer("/status/adopted"), Some(&json!(true)));
    assert_eq!(td_second["status"]["arn"].as_str(), Some(td_arn.as_str()));
    let revisions = ecs
        .list_task_definitions()
        .family_prefix(&family)
        .send()
        .await?
        .task_definition_arns()
        .len();
    assert_eq!(revisions, 1, "adoption registered no second revision");

    // Delete (the default policy now): the adopted cluster goes.
    delete_and_wait_gone(clusters, "kept", T).await?;
    ensure!(cluster_tags(&ecs, &cluster_name).await?.is_none(), "deleted");
    delete_and_wait_gone(tds, "kept", T).await?;
    Ok(())
}

#[tokio::test]
async fn a_family_registered_elsewhere_after_the_controller_read_the_account_is_still_refused() -> Result<()>
{
    let ecs = ecs().await?;
    let setup = Setup::new("e2e-late-family").await?;
    let tds = &setup.tds;
    // The controller reads the account's ACTIVE revisions once, for its first task definition.
    apply(
        tds,
        task_definition_manifest("first", &unique("e2e-first"), "nginx:1"),
    )
    .await?;
    wait_ready(tds, "first", ConditionStatus::True, T).await?;

    // Then someone else registers a family the controller's list does not hold.
    let family = unique("e2e-late");
    register_revision(&ecs, &family, None).await?;

    // A task definition of that family without adoption: refused as if the family had been listed.
    apply(tds, task_definition_manifest("late", &family, "nginx:1")).await?;
    let obj = wait_reason(tds, "late", "NotOwned").await?;
    assert_eq!(obj.pointer("/status/arn"), None, "{obj}");
    let active = ecs
        .list_task_definitions()
        .family_prefix(&family)
        .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
        .send()
        .await?
        .task_definition_arns()
        .to_vec();
    assert_eq!(active.len(), 1, "only their revision stays ACTIVE: {active:?}");
    assert_eq!(
        setup.controller.calls("DeregisterTaskDefinition"),
        setup.controller.calls("RegisterTaskDefinition") - 1,
        "the registration into their family was withdrawn"
    );
    delete_and_wait_gone(tds, "late", T).await?;
    delete_and_wait_gone(tds, "first", T).await?;
    Ok(())
}

#[tokio::test]
async fn observe_only_reports_and_never_writes() -> Result<()> {
    let ecs = ecs().await?;
    let net = network()?;
    let setup = Setup::new("e2e-observe").await?;
    let cluster_name = unique("e2e-observed");
    let family = unique("e2e-observed");
    let service_name = unique("e2e-observed");

    // Everything made by hand, untagged.
    ecs.create_cluster().cluster_name(&cluster_name).send().await?;
    let td = ecs
        .register_task_definition()
        .family(&family)
        .network_mode(aws_sdk_ecs::types::NetworkMode::Awsvpc)
        .requires_compatibilities(aws_sdk_ecs::types::Compatibility::Fargate)
        .cpu("256")
        .memory("512")
        .container_definitions(
            ContainerDefinition::builder()
                .name("app")
                .image("nginx:1")
                .build(),
        )
        .send()
        .await?;
    let td_arn = td
        .task_definition()
        .and_then(|t| t.task_definition_arn())
        .context("arn")?
        .to_string();
    ecs.create_service()
        .cluster(&cluster_name)
        .service_name(&service_name)
        .task_definition(&td_arn)
        .desired_count(2)
        .network_configuration(network_configuration(&net)?)
        .send()
        .await?;

    // Specs that differ from AWS in every kind: ObserveOnly must report, not converge.
    let clusters = &setup.clusters;
    let tds = &setup.tds;
    let services = &setup.services;
    apply(
        clusters,
        cluster_manifest_with(
            "seen",
            &cluster_name,
            json!({"managementPolicy": "ObserveOnly", "tags": [{"key": "would", "value": "change"}]}),
        ),
    )
    .await?;
    let mut tdm = task_definition_manifest("seen", &family, "nginx:2");
    tdm["spec"]["managementPolicy"] = json!("ObserveOnly");
    apply(tds, tdm).await?;
    let mut svc = service_manifest("seen", "seen", "seen", &net, 5);
    svc["spec"]["serviceName"] = json!(service_name);
    svc["spec"]["managementPolicy"] = json!("ObserveOnly");
    apply(services, svc).await?;

    let c = wait_ready(clusters, "seen", ConditionStatus::True, T).await?;
    let t = wait_ready(tds, "seen", ConditionStatus::True, T).await?;
    let s = wait_ready(services, "seen", ConditionStatus::True, T).await?;
    for obj in [&c, &t, &s] {
        let ready = condition(obj, READY).context("Ready")?;
        assert_eq!(ready.reason, "Observed", "{ready:?}");
    }
    assert_eq!(t["status"]["arn"].as_str(), Some(td_arn.as_str()));
    assert_eq!(
        s["status"]["desiredCount"],
        json!(2),
        "reports AWS's count, not the spec's"
    );
    assert_eq!(
        setup.controller.mutating_calls(),
        vec![],
        "ObserveOnly wrote to AWS"
    );
    let tags = cluster_tags(&ecs, &cluster_name).await?.context("cluster")?;
    assert!(tags.is_empty(), "no ownership or spec tags written: {tags:?}");

    // An object missing in AWS is reported NotFound, never created.
    let missing = unique("e2e-missing");
    apply(
        clusters,
        cluster_manifest_with("missing", &missing, json!({"managementPolicy": "ObserveOnly"})),
    )
    .await?;
    wait_reason(clusters, "missing", "NotFound").await?;

    // Deleting observed objects leaves AWS alone.
    delete_and_wait_gone(services, "seen", T).await?;
    delete_and_wait_gone(tds, "seen", T).await?;
    delete_and_wait_gone(clusters, "seen", T).await?;
    delete_and_wait_gone(clusters, "missing", T).await?;
    assert_eq!(
        setup.controller.mutating_calls(),
        vec![],
        "ObserveOnly wrote to AWS"
    );
    ensure!(
        describe_service(&ecs, &cluster_name, &service_name)
            .await?
            .is_some_and(|s| s.status() == Some("ACTIVE") && s.desired_count() == 2),
        "the observed service is untouched"
    );
    ensure!(cluster_tags(&ecs, &cluster_name).await?.is_some(), "cluster kept");
    Ok(())
}

#[tokio::test]
async fn resources_live_in_their_own_region() -> Result<()> {
    let setup = Setup::new("e2e-region").await?;
    let net = network()?;
    let clusters = &setup.clusters;
    let tds = &setup.tds;
    let services = &setup.services;
    let region = "eu-west-1";
    let cluster_name = unique("e2e-region");
    let family = unique("e2e-region");

    apply(
        clusters,
        cluster_manifest_with("west", &cluster_name, json!({"region": region})),
    )
    .await?;
    let mut td = task_definition_manifest("west", &family, "nginx:1");
    td["spec"]["region"] = json!(region);
    apply(tds, td).await?;
    // This one is in the controller's default region.
    apply(
        tds,
        task_definition_manifest("home", &unique("e2e-home"), "nginx:1"),
    )
    .await?;
    let c = wait_ready(clusters, "west", ConditionStatus::True, T).await?;
    let t = wait_ready(tds, "west", ConditionStatus::True, T).await?;
    for obj in [&c, &t] {
        let arn = obj["status"]["arn"].as_str().context("arn")?;
        assert_eq!(arn.split(':').nth(3), Some(region), "{arn}");
        assert_eq!(obj["status"]["region"], json!(region));
    }

    // A service on the eu-west-1 cluster with a default-region task definition: a clear refusal, not
    // an AWS error. And spec.region must agree with the cluster's.
    apply(services, service_manifest("mixed", "west", "home", &net, 1)).await?;
    let obj = wait_reason(services, "mixed", "RegionMismatch").await?;
    let message = condition(&obj, READY).context("Ready")?.message;
    assert!(message.contains(region), "{message}");
    let mut svc = service_manifest("wrong", "west", "west", &net, 1);
    svc["spec"]["region"] = json!("us-west-2");
    apply(services, svc).await?;
    wait_reason(services, "wrong", "RegionMismatch").await?;

    // Region is immutable on every kind.
    let mut moved = task_definition_manifest("west", &family, "nginx:1");
    moved["spec"]["region"] = json!("us-west-2");
    let err = apply(tds, moved).await.err().context("region change accepted")?;
    assert!(format!("{err:#}").contains("region is immutable"), "{err:#}");
    Ok(())
}

#[tokio::test]
async fn namespaces_map_to_aws_accounts_through_an_admin_owned_config_map() -> Result<()> {
    use k8s_openapi::api::core::v1::ConfigMap;
    let client = kube().await?;
    let ecs = ecs().await?;
    let admin = TestNamespace::create(&client, "e2e-accounts-admin").await?;
    let team_a = TestNamespace::create(&client, "e2e-accounts-a").await?;
    let team_b = TestNamespace::create(&client, "e2e-accounts-b").await?;
    let team_c = TestNamespace::create(&client, "e2e-accounts-c").await?;
    let maps: Api<ConfigMap> = admin.api();
    let mapping = |entries: &[(&str, &str)]| {
        let data: serde_json::Map<String, serde_json::Value> =
            entries.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "accounts"}, "data": data})
    };
    let role_a = "arn:aws:iam::111111111111:role/ecs-controller";
    let role_b = "arn:aws:iam::222222222222:role/ecs-controller";
    // The three namespaces mapped, team b to `b`.
    let all_mapped = |b: &str| {
        mapping(&[
            (&team_a.name, role_a),
            (&team_b.name, b),
            (&team_c.name, "arn:aws:iam::333333333333:role/ecs-controller"),
        ])
    };
    apply(&maps, mapping(&[(&team_a.name, role_a), (&team_b.name, role_b)])).await?;
    let _controller = ControllerProcess::start(
        &team_a.name,
        &[
            "--watch-namespace",
            &team_b.name,
            "--watch-namespace",
            &team_c.name,
            "--account-map",
            &format!("{}/accounts", admin.name),
            // No --default-identity: with a mapping, unmapped namespaces are refused by default.
        ],
    )?;

    // The same cluster name in two namespaces: two accounts, no conflict.
    let cluster_name = unique("e2e-acct");
    let (a, b, c): (Api<EcsCluster>, Api<EcsCluster>, Api<EcsCluster>) =
        (team_a.api(), team_b.api(), team_c.api());
    for api in [&a, &b, &c] {
        apply(api, cluster_manifest_with("main", &cluster_name, json!({}))).await?;
    }
    let in_a = wait_ready(&a, "main", ConditionStatus::True, T).await?;
    let in_b = wait_ready(&b, "main", ConditionStatus::True, T).await?;
    let account = |obj: &serde_json::Value| {
        obj["status"]["arn"]
            .as_str()
            .and_then(|a| a.split(':').nth(4))
            .map(str::to_string)
    };
    assert_eq!(account(&in_a).as_deref(), Some("111111111111"));
    assert_eq!(account(&in_b).as_deref(), Some("222222222222"));
    // Nothing in the controller's own account.
    ensure!(
        cluster_tags(&ecs, &cluster_name).await?.is_none(),
        "the default account has no such cluster"
    );

    // An unmapped namespace is refused while the admin denies the default identity.
    let obj = wait_reason(&c, "main", "NoAwsAccount").await?;
    let message = condition(&obj, READY).context("Ready")?.message;
    assert!(message.contains(&team_c.name), "{message}");

    // An object cannot pick a role: the schema has no such field.
    let mut sneaky = cluster_manifest_with("sneaky", &unique("e2e-acct"), json!({}));
    sneaky["spec"]["roleArn"] = json!(role_a);
    let err = apply(&c, sneaky)
        .await
        .err()
        .context("a roleArn field was accepted")?;
    assert!(format!("{err:#}").contains("roleArn"), "{err:#}");

    // The admin maps the third namespace: its object converges there, at the next look.
    apply(&maps, all_mapped(role_b)).await?;
    let in_c = wait_ready(&c, "main", ConditionStatus::True, T).await?;
    assert_eq!(account(&in_c).as_deref(), Some("333333333333"));

    // The ConfigMap deleted: its namespaces stop (NoAwsAccount at the next look, the 3 s resync here)
    // instead of moving to the controller's own account; back, they converge again.
    maps.delete("accounts", &Default::default()).await?;
    let stopped = wait_reason(&a, "main", "NoAwsAccount").await?;
    let message = condition(&stopped, READY).context("Ready")?.message;
    assert!(message.contains("was deleted"), "{message}");
    assert!(
        condition(&stopped, "Stalled").is_some_and(|c| c.status == ConditionStatus::True),
        "{stopped}"
    );
    ensure!(
        cluster_tags(&ecs, &cluster_name).await?.is_none(),
        "nothing was created in the default account"
    );
    apply(&maps, all_mapped(role_b)).await?;
    let back = wait_ready(&a, "main", ConditionStatus::True, T).await?;
    assert_eq!(account(&back).as_deref(), Some("111111111111"));
    // b too, before the remap below: it still said "was deleted" until its own next look.
    wait_ready(&b, "main", ConditionStatus::True, T).await?;
    assert_eq!(
        back["status"]["accountId"], "111111111111",
        "the account is recorded"
    );

    // Remapped to another account: refused (its cluster lives in 222222222222), not recreated there.
    apply(&maps, all_mapped("arn:aws:iam::444444444444:role/ecs-controller")).await?;
    let refused = wait_reason(&b, "main", "NoAwsAccount").await?;
    let message = condition(&refused, READY).context("Ready")?.message;
    assert!(
        message.contains("222222222222") && message.contains("444444444444"),
        "{message}"
    );
    apply(&maps, all_mapped(role_b)).await?;
    wait_ready(&b, "main", ConditionStatus::True, T).await?;

    for api in [&a, &b, &c] {
        delete_and_wait_gone(api, "main", T).await?;
    }
    Ok(())
}
