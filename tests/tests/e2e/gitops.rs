//! GitOps friendliness on real objects: kstatus (Flux), Argo CD's health checks and `kubectl wait`
//! agree on what the controller wrote; a server-side re-apply of the same manifests changes nothing;
//! the controller's own writes touch only status and its finalizer.

use crate::argocd::health_of;
use anyhow::{Context as _, Result, ensure};
use aws_sdk_ecs::types::Tag;
use ecs_controller::api::{ConditionStatus, EcsCluster};
use ecs_controller_e2e::fixtures::{
    cluster_manifest, manifests_file, network, service_manifest, task_definition_manifest,
};
use ecs_controller_e2e::harness::*;
use kube::api::Api;
use serde_json::{Value, json};
use std::time::Duration;

const T: Duration = Duration::from_secs(60);

/// kstatus's verdict for a custom resource (sigs.k8s.io/cli-utils/pkg/kstatus, generic rules), which
/// Flux's health checks use: Terminating, InProgress (stale observedGeneration or Reconciling=True),
/// Failed (Stalled=True), else Current.
fn kstatus(obj: &Value) -> &'static str {
    if obj.pointer("/metadata/deletionTimestamp").is_some() {
        return "Terminating";
    }
    let generation = obj.pointer("/metadata/generation").and_then(Value::as_i64);
    let observed = obj.pointer("/status/observedGeneration").and_then(Value::as_i64);
    if observed.is_some() && observed != generation {
        return "InProgress";
    }
    let is_true = |t: &str| condition(obj, t).is_some_and(|c| c.status == ConditionStatus::True);
    if is_true("Reconciling") {
        return "InProgress";
    }
    if is_true("Stalled") {
        return "Failed";
    }
    "Current"
}

fn kubectl_wait_ready(ns: &str, resource: &str) -> Result<bool> {
    Ok(kubectl(&[
        "wait",
        "-n",
        ns,
        "--for=condition=Ready",
        resource,
        "--timeout=3s",
    ])?
    .0)
}

/// The three verdicts on one object: (kstatus, Argo CD health, `kubectl wait` succeeded).
async fn verdicts(api: &Api<EcsCluster>, ns: &str, name: &str) -> Result<(&'static str, String, bool)> {
    let obj = serde_json::to_value(api.get(name).await?)?;
    let (argo, _) = health_of(&obj)?;
    Ok((
        kstatus(&obj),
        argo,
        kubectl_wait_ready(ns, &format!("ecscluster/{name}"))?,
    ))
}

#[tokio::test]
async fn kstatus_argo_cd_and_kubectl_wait_agree_on_what_the_controller_wrote() -> Result<()> {
    let client = kube().await?;
    let ecs = ecs().await?;
    let ns = TestNamespace::create(&client, "e2e-kstatus").await?;
    let api: Api<EcsCluster> = ns.api();

    // First visit: the controller claims the object (Ready=Unknown, Reconciling=True), then dies right
    // after its first AWS call, so the first-visit status is what stays.
    let mut crashing = ControllerProcess::start_with_env(
        &ns.name,
        &[],
        &[("ECS_CONTROLLER_CRASH_AFTER", "DescribeClusters")],
    )?;
    apply(&api, cluster_manifest("first", &unique("e2e-first"))).await?;
    crashing.wait_exit(T).await?;
    let obj = serde_json::to_value(api.get("first").await?)?;
    assert_eq!(
        condition(&obj, "Ready").map(|c| c.status),
        Some(ConditionStatus::Unknown),
        "{obj}"
    );
    assert_eq!(
        verdicts(&api, &ns.name, "first").await?,
        ("InProgress", "Progressing".to_string(), false)
    );
    drop(crashing);

    let _controller = ControllerProcess::start(&ns.name, &[])?;
    // Ready.
    wait_ready(&api, "first", ConditionStatus::True, T).await?;
    assert_eq!(
        verdicts(&api, &ns.name, "first").await?,
        ("Current", "Healthy".to_string(), true)
    );

    // Retrying an AWS error: still in progress for all three.
    apply(&api, json!({"apiVersion": "ecs.kubefargate.dev/v1alpha1", "kind": "EcsCluster", "metadata": {"name": "retrying"},
                       "spec": {"region": "xx-nowhere-1"}}))
    .await?;
    wait_ready(&api, "retrying", ConditionStatus::False, T).await?;
    assert_eq!(
        verdicts(&api, &ns.name, "retrying").await?,
        ("InProgress", "Progressing".to_string(), false)
    );

    // A terminal error (the cluster name belongs to someone else): Stalled, failed for all three.
    let foreign = unique("e2e-foreign");
    ecs.create_cluster()
        .cluster_name(&foreign)
        .tags(Tag::builder().key("owner").value("else").build())
        .send()
        .await?;
    apply(&api, cluster_manifest("stalled", &foreign)).await?;
    wait_ready(&api, "stalled", ConditionStatus::False, T).await?;
    assert_eq!(
        verdicts(&api, &ns.name, "stalled").await?,
        ("Failed", "Degraded".to_string(), false)
    );

    for name in ["first", "stalled"] {
        delete_and_wait_gone(&api, name, T).await?;
    }
    release_finalizers(&ns.name, "ecscluster/retrying")?;
    Ok(())
}

#[tokio::test]
async fn a_server_side_reapply_changes_nothing_and_the_controller_writes_only_status_and_its_finalizer()
-> Result<()> {
    let setup = Setup::new("e2e-gitops").await?;
    let net = network()?;
    let manifests = [
        cluster_manifest("main", &unique("e2e-gitops")),
        task_definition_manifest("web", &unique("e2e-gitops"), "nginx:1"),
        service_manifest("web", "main", "web", &net, 1),
    ];
    let file = manifests_file(&setup.ns.name, &manifests)?;
    let path = file.to_str().context("path")?;
    let gitops = ["--server-side", "--field-manager=gitops"];
    let (ok, out) = kubectl(&[&["apply", "-n", &setup.ns.name, "-f", path][..], &gitops].concat())?;
    ensure!(ok, "{out}");
    let (ok, out) = kubectl(&[
        "wait",
        "-n",
        &setup.ns.name,
        "--for=condition=Ready",
        "-f",
        path,
        "--timeout=90s",
    ])?;
    ensure!(ok, "{out}");
    tokio::time::sleep(Duration::from_secs(4)).await;

    let clusters = &setup.clusters;
    let tds = &setup.tds;
    let services = &setup.services;
    let generations = || async {
        Ok::<_, anyhow::Error>((
            clusters.get("main").await?.metadata.generation,
            tds.get("web").await?.metadata.generation,
            services.get("web").await?.metadata.generation,
        ))
    };
    let before = generations().await?;

    // `kubectl diff` against the live objects: nothing to change.
    let (ok, out) = kubectl(&[&["diff", "-n", &setup.ns.name, "-f", path][..], &gitops].concat())?;
    ensure!(ok && out.trim().is_empty(), "kubectl diff found changes: {out}");
    // And a re-apply bumps no generation.
    let (ok, out) = kubectl(&[&["apply", "-n", &setup.ns.name, "-f", path][..], &gitops].concat())?;
    ensure!(ok, "{out}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(generations().await?, before, "a no-op apply changed a spec");

    // managedFields: ecs-controller owns status (through the status subresource) and its finalizer.
    for (kind, name) in [
        ("ecscluster", "main"),
        ("taskdefinition", "web"),
        ("fargateservice", "web"),
    ] {
        let (ok, out) = kubectl(&[
            "get",
            "-n",
            &setup.ns.name,
            &format!("{kind}/{name}"),
            "-o",
            "json",
            "--show-managed-fields",
        ])?;
        ensure!(ok, "{out}");
        let obj: Value = serde_json::from_str(&out)?;
        let entries: Vec<&Value> = obj["metadata"]["managedFields"]
            .as_array()
            .context("managedFields")?
            .iter()
            .filter(|e| e["manager"] == "ecs-controller")
            .collect();
        ensure!(!entries.is_empty(), "{kind}/{name}: no ecs-controller entry");
        for e in entries {
            let fields = e["fieldsV1"].as_object().context("fieldsV1")?;
            let keys: Vec<&String> = fields.keys().collect();
            match e["subresource"].as_str() {
                Some("status") => ensure!(
                    keys == vec!["f:status"],
                    "{kind}/{name}: status entry touches {keys:?}"
                ),
                _ => {
                    ensure!(
                        keys == vec!["f:metadata"],
                        "{kind}/{name}: main entry touches {keys:?}"
                    );
                    let meta: Vec<&String> = fields["f:metadata"]
                        .as_object()
                        .context("f:metadata")?
                        .keys()
                        .collect();
                    ensure!(
                        meta == vec!["f:finalizers"],
                        "{kind}/{name}: metadata entry touches {meta:?}"
                    );
                }
            }
        }
        let spec_owners: Vec<&Value> = obj["metadata"]["managedFields"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["fieldsV1"].get("f:spec").is_some())
            .map(|e| &e["manager"])
            .collect();
        ensure!(
            spec_owners.iter().all(|m| *m == "gitops"),
            "{kind}/{name}: spec owned by {spec_owners:?}"
        );
    }

    services.delete("web", &Default::default()).await?;
    eventually("service gone", T, || async {
        Ok(services.get_opt("web").await?.is_none().then_some(()))
    })
    .await?;
    delete_and_wait_gone(tds, "web", T).await?;
    delete_and_wait_gone(clusters, "main", T).await?;
    Ok(())
}
