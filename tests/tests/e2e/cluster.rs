//! EcsCluster end to end: create, observe in AWS, update, drift repair, errors, ownership, deletion.

use anyhow::{Result, ensure};
use aws_sdk_ecs::types::{Cluster, ClusterField, ClusterSetting, ClusterSettingName, Tag};
use ecs_controller::api::conditions::{READY, STALLED};
use ecs_controller::api::{ConditionStatus, EcsCluster, OWNER_UID_TAG};
use ecs_controller_e2e::fixtures::cluster_manifest_with;
use ecs_controller_e2e::harness::*;
use kube::api::Api;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

const T: Duration = Duration::from_secs(60);

async fn describe(ecs: &aws_sdk_ecs::Client, name: &str) -> Result<Option<Cluster>> {
    let out = ecs
        .describe_clusters()
        .clusters(name)
        .include(ClusterField::Settings)
        .include(ClusterField::Tags)
        .include(ClusterField::Configurations)
        .send()
        .await?;
    Ok(out.clusters().first().cloned())
}

fn tags(c: &Cluster) -> BTreeMap<String, String> {
    c.tags()
        .iter()
        .map(|t| {
            (
                t.key().unwrap_or_default().to_string(),
                t.value().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn insights(c: &Cluster) -> Option<String> {
    c.settings()
        .iter()
        .find(|s| s.name() == Some(&ClusterSettingName::ContainerInsights))
        .and_then(|s| s.value())
        .map(str::to_string)
}

fn manifest(name: &str, cluster_name: &str, insights: &str, tags: serde_json::Value) -> serde_json::Value {
    json!({
        "apiVersion": "ecs.kubefargate.dev/v1alpha1",
        "kind": "EcsCluster",
        "metadata": {"name": name},
        "spec": {
            "clusterName": cluster_name,
            "settings": [{"name": "containerInsights", "value": insights}],
            "capacityProviders": ["FARGATE", "FARGATE_SPOT"],
            "defaultCapacityProviderStrategy": [
                {"capacityProvider": "FARGATE", "weight": 1, "base": 1},
                {"capacityProvider": "FARGATE_SPOT", "weight": 4}
            ],
            "configuration": {"executeCommandConfiguration": {"logging": "DEFAULT"}},
            "tags": tags,
        }
    })
}

#[tokio::test]
async fn cluster_create_update_drift_and_delete() -> Result<()> {
    let ecs = ecs().await?;
    let setup = Setup::new("e2e-cluster").await?;
    let api = &setup.clusters;
    let name = "main";
    let cluster_name = unique("e2e-main");

    // Create: kubectl wait sees Ready, AWS has exactly the spec, status.arn matches.
    apply(
        api,
        manifest(
            name,
            &cluster_name,
            "enabled",
            json!([{"key": "team", "value": "platform"}]),
        ),
    )
    .await?;
    let (ok, out) = kubectl(&[
        "wait",
        "-n",
        &setup.ns.name,
        "--for=condition=Ready",
        &format!("ecscluster/{name}"),
        "--timeout=60s",
    ])?;
    ensure!(ok, "kubectl wait failed: {out}");
    let obj = wait_ready(api, name, ConditionStatus::True, T).await?;
    let c = describe(&ecs, &cluster_name)
        .await?
        .expect("cluster exists in AWS");
    assert_eq!(c.status(), Some("ACTIVE"));
    assert_eq!(
        obj.pointer("/status/arn").and_then(|a| a.as_str()),
        c.cluster_arn()
    );
    assert_eq!(
        obj.pointer("/status/status").and_then(|a| a.as_str()),
        Some("ACTIVE")
    );
    assert_eq!(insights(&c).as_deref(), Some("enabled"));
    let mut providers = c.capacity_providers().to_vec();
    providers.sort();
    assert_eq!(providers, vec!["FARGATE", "FARGATE_SPOT"]);
    let strategy: Vec<_> = c
        .default_capacity_provider_strategy()
        .iter()
        .map(|s| (s.capacity_provider().to_string(), s.weight(), s.base()))
        .collect();
    assert_eq!(
        strategy,
        vec![("FARGATE".to_string(), 1, 1), ("FARGATE_SPOT".to_string(), 4, 0)]
    );
    let exec = c
        .configuration()
        .and_then(|c| c.execute_command_configuration())
        .and_then(|e| e.logging())
        .map(|l| l.as_str().to_string());
    assert_eq!(exec.as_deref(), Some("DEFAULT"));
    let t = tags(&c);
    assert_eq!(t.get("team").map(String::as_str), Some("platform"));
    let uid = obj
        .pointer("/metadata/uid")
        .and_then(|u| u.as_str())
        .unwrap_or_default();
    assert_eq!(
        t.get(OWNER_UID_TAG).map(String::as_str),
        Some(uid),
        "ownership tag carries the object's uid"
    );

    // Update in the CR: AWS follows.
    apply(
        api,
        manifest(
            name,
            &cluster_name,
            "disabled",
            json!([{"key": "team", "value": "payments"}, {"key": "tier", "value": "gold"}]),
        ),
    )
    .await?;
    wait_ready(api, name, ConditionStatus::True, T).await?;
    eventually("AWS to follow the spec change", T, || async {
        let c = describe(&ecs, &cluster_name).await?.expect("cluster exists");
        let t = tags(&c);
        Ok((insights(&c).as_deref() == Some("disabled")
            && t.get("team").map(String::as_str) == Some("payments")
            && t.get("tier").map(String::as_str) == Some("gold"))
        .then_some(()))
    })
    .await?;

    // Drift behind the controller's back: it is put back on the next resync (3 s in tests).
    let arn = c.cluster_arn().unwrap_or_default().to_string();
    ecs.untag_resource()
        .resource_arn(&arn)
        .tag_keys("tier")
        .send()
        .await?;
    ecs.tag_resource()
        .resource_arn(&arn)
        .tags(Tag::builder().key("intruder").value("x").build())
        .send()
        .await?;
    ecs.update_cluster()
        .cluster(&cluster_name)
        .settings(
            ClusterSetting::builder()
                .name(ClusterSettingName::ContainerInsights)
                .value("enabled")
                .build(),
        )
        .send()
        .await?;
    eventually("the controller to repair drift", T, || async {
        let c = describe(&ecs, &cluster_name).await?.expect("cluster exists");
        let t = tags(&c);
        Ok((insights(&c).as_deref() == Some("disabled")
            && t.get("tier").map(String::as_str) == Some("gold")
            && !t.contains_key("intruder"))
        .then_some(()))
    })
    .await?;

    // Delete: the cluster is INACTIVE in AWS and the object is gone.
    delete_and_wait_gone(api, name, T).await?;
    let c = describe(&ecs, &cluster_name).await?;
    assert_eq!(
        c.as_ref().and_then(|c| c.status()),
        Some("INACTIVE"),
        "cluster after deletion: {c:?}"
    );
    Ok(())
}

#[tokio::test]
async fn invalid_manifests_are_rejected_with_a_message() -> Result<()> {
    let client = kube().await?;
    let ns = TestNamespace::create(&client, "e2e-invalid").await?;
    let api: Api<EcsCluster> = ns.api();
    let base = |spec: serde_json::Value| json!({"apiVersion": "ecs.kubefargate.dev/v1alpha1", "kind": "EcsCluster", "metadata": {"name": "bad"}, "spec": spec});
    let corpus = [
        (
            json!({"capacityProviders": ["EC2_FANCY"]}),
            "Unsupported value: \"EC2_FANCY\"",
        ),
        (
            json!({"capacityProviders": ["FARGATE"], "defaultCapacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]}),
            "defaultCapacityProviderStrategy may only use providers listed in capacityProviders",
        ),
        (
            json!({"tags": [{"key": "aws:owner", "value": "x"}]}),
            "keys starting with 'aws:' or 'ecs.kubefargate.dev/' are reserved",
        ),
        (json!({"clusterName": "has spaces"}), "should match"),
        (
            json!({"settings": [{"name": "containerInsights", "value": "maybe"}]}),
            "Unsupported value: \"maybe\"",
        ),
        (
            json!({"configuration": {"executeCommandConfiguration": {"logging": "DEFAULT", "logConfiguration": {"s3BucketName": "b"}}}}),
            "logConfiguration needs logging: OVERRIDE",
        ),
    ];
    for (spec, want) in corpus {
        let err = apply(&api, base(spec.clone()))
            .await
            .expect_err(&format!("{spec} must be rejected"));
        let msg = format!("{err:#}");
        assert!(
            msg.contains(want),
            "rejection of {spec} should say {want:?}, said: {msg}"
        );
    }

    // clusterName is immutable.
    apply(&api, base(json!({"clusterName": "first-name"}))).await?;
    let err = apply(&api, base(json!({"clusterName": "second-name"})))
        .await
        .expect_err("rename must be rejected");
    assert!(format!("{err:#}").contains("clusterName is immutable"), "{err:#}");
    Ok(())
}

#[tokio::test]
async fn aws_error_becomes_a_condition_without_a_hot_loop() -> Result<()> {
    let setup = Setup::new("e2e-awserr").await?;
    let api = &setup.clusters;
    // moto serves no region by this name: every ECS call there fails with an HTTP 500 from the endpoint.
    apply(
        api,
        json!({"apiVersion": "ecs.kubefargate.dev/v1alpha1", "kind": "EcsCluster", "metadata": {"name": "nowhere"},
               "spec": {"region": "xx-nowhere-1"}}),
    )
    .await?;
    let obj = wait_ready(api, "nowhere", ConditionStatus::False, T).await?;
    let ready = condition(&obj, READY).expect("Ready is set");
    assert_eq!(ready.reason, "AwsError");
    assert!(
        ready.message.contains("ECS DescribeClusters"),
        "message names the call: {}",
        ready.message
    );
    assert!(
        ready.message.contains("500"),
        "message carries what AWS answered: {}",
        ready.message
    );

    // Backoff, not a hot loop: over 12 s the delays 2+4+8 s allow at most 4 attempts.
    let before = setup.controller.log_text().matches("AWS call failed").count();
    tokio::time::sleep(Duration::from_secs(12)).await;
    let after = setup.controller.log_text().matches("AWS call failed").count();
    assert!(
        after - before <= 4,
        "{} failed calls in 12 s is a hot loop",
        after - before
    );
    assert!(
        after > before,
        "the controller keeps retrying (got {before} then {after})"
    );

    // Deletion cannot confirm that nothing is left in AWS, so the finalizer stays (no leak) and the
    // condition says why; the user can let go by removing the finalizer.
    api.delete("nowhere", &Default::default()).await?;
    eventually("deletion to report the AWS error", T, || async {
        let obj = serde_json::to_value(api.get("nowhere").await?)?;
        let deleting = obj.pointer("/metadata/deletionTimestamp").is_some();
        Ok(condition(&obj, READY)
            .filter(|c| deleting && c.reason == "AwsError" && !c.last_transition_time.is_empty())
            .map(|_| ()))
    })
    .await?;
    assert!(
        api.get_opt("nowhere").await?.is_some(),
        "the finalizer holds the object while AWS cannot be reached"
    );
    release_finalizers(&setup.ns.name, "ecscluster/nowhere")?;
    eventually("the object to go", T, || async {
        Ok(api.get_opt("nowhere").await?.is_none().then_some(()))
    })
    .await?;
    Ok(())
}

#[tokio::test]
async fn a_cluster_owned_by_someone_else_is_left_alone() -> Result<()> {
    let ecs = ecs().await?;
    let setup = Setup::new("e2e-owner").await?;
    let api = &setup.clusters;
    let cluster_name = unique("e2e-foreign");
    ecs.create_cluster()
        .cluster_name(&cluster_name)
        .tags(Tag::builder().key("owner").value("someone-else").build())
        .send()
        .await?;

    apply(
        api,
        json!({"apiVersion": "ecs.kubefargate.dev/v1alpha1", "kind": "EcsCluster", "metadata": {"name": "foreign"},
               "spec": {"clusterName": cluster_name, "tags": [{"key": "owner", "value": "me"}]}}),
    )
    .await?;
    let obj = wait_ready(api, "foreign", ConditionStatus::False, T).await?;
    let ready = condition(&obj, READY).expect("Ready is set");
    assert_eq!(ready.reason, "NotOwned", "{ready:?}");
    assert_eq!(
        condition(&obj, STALLED).map(|c| c.status),
        Some(ConditionStatus::True)
    );

    delete_and_wait_gone(api, "foreign", T).await?;
    let c = describe(&ecs, &cluster_name).await?.expect("still there");
    assert_eq!(
        c.status(),
        Some("ACTIVE"),
        "a cluster the controller does not own is never deleted"
    );
    assert_eq!(
        tags(&c).get("owner").map(String::as_str),
        Some("someone-else"),
        "nor changed"
    );
    Ok(())
}

#[tokio::test]
async fn retain_policy_keeps_the_cluster() -> Result<()> {
    let ecs = ecs().await?;
    let setup = Setup::new("e2e-retain").await?;
    let api = &setup.clusters;
    let cluster_name = unique("e2e-retain");
    apply(
        api,
        json!({"apiVersion": "ecs.kubefargate.dev/v1alpha1", "kind": "EcsCluster",
               "metadata": {"name": "kept", "annotations": {"ecs.kubefargate.dev/deletion-policy": "retain"}},
               "spec": {"clusterName": cluster_name}}),
    )
    .await?;
    wait_ready(api, "kept", ConditionStatus::True, T).await?;
    delete_and_wait_gone(api, "kept", T).await?;
    let c = describe(&ecs, &cluster_name).await?.expect("still there");
    assert_eq!(c.status(), Some("ACTIVE"));
    Ok(())
}

/// An AWS refusal (a 4xx error document, which moto never answers for a valid-looking request) takes
/// the Terminal path end to end: `Stalled=True` with AWS's message, no retry loop, and a new generation
/// tries again.
#[tokio::test]
async fn an_aws_refusal_is_stalled_with_its_message_without_a_loop_and_a_new_generation_retries() -> Result<()>
{
    use ecs_controller_e2e::faultproxy::{FaultConfig, FaultProxy};
    let proxy = FaultProxy::start(&env("MOTO_URL")?, FaultConfig::default())?;
    let message = "The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster.";
    proxy.refuse("CreateCluster", 400, "InvalidParameterException", message);
    let url = proxy.url();
    let setup = Setup::builder("e2e-refused")
        .env("AWS_ENDPOINT_URL", &url)
        .start()
        .await?;
    let api = &setup.clusters;
    let name = unique("e2e-refused");
    apply(api, cluster_manifest_with("main", &name, json!({}))).await?;
    let stalled = eventually("Stalled=True", T, || async {
        let obj = serde_json::to_value(api.get("main").await?)?;
        Ok(condition(&obj, STALLED).filter(|c| c.status == ConditionStatus::True))
    })
    .await?;
    assert_eq!(stalled.reason, "AwsError");
    ensure!(
        stalled.message.contains("InvalidParameterException") && stalled.message.contains(message),
        "{}",
        stalled.message
    );
    // Several resyncs (3 s each here): no retry loop of the refused call.
    let refused = proxy.refused("CreateCluster");
    more_reconciles(&setup.controller, "EcsCluster", 3.0).await?;
    let again = proxy.refused("CreateCluster") - refused;
    ensure!(again <= 3, "{again} more CreateCluster calls after Stalled");
    // AWS would accept it now; the user changes the spec: a new generation is tried again.
    proxy.accept("CreateCluster");
    apply(
        api,
        cluster_manifest_with("main", &name, json!({"tags": [{"key": "try", "value": "2"}]})),
    )
    .await?;
    wait_ready(api, "main", ConditionStatus::True, T).await?;
    delete_and_wait_gone(api, "main", T).await?;
    Ok(())
}
