//! Operating the controller, end to end: metrics for a known sequence, health endpoints, events that
//! are not repeated per resync, JSON logs, leader election with two processes, graceful shutdown,
//! batched resyncs, the reconcile-request annotation, and namespace / label scoping.

use anyhow::{Context as _, Result, ensure};
use ecs_controller::api::{ConditionStatus, EcsCluster};
use ecs_controller_e2e::fixtures::{
    cluster_manifest, cluster_manifest_with, network, service_manifest, task_definition_manifest,
};
use ecs_controller_e2e::harness::*;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams, Patch, PatchParams};
use serde_json::json;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(60);

async fn events_for(client: &kube::Client, ns: &str, name: &str) -> Result<Vec<(String, String, i32)>> {
    let api: Api<Event> = Api::namespaced(client.clone(), ns);
    Ok(api
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
        .map(|e| {
            let count = e.series.as_ref().map_or(1, |s| s.count);
            (e.reason.unwrap_or_default(), e.type_.unwrap_or_default(), count)
        })
        .collect())
}

#[tokio::test]
async fn metrics_health_and_events_follow_a_known_sequence() -> Result<()> {
    let setup = Setup::builder("e2e-ops")
        .args(&["--log-format", "json"])
        .start()
        .await?;
    let base = setup.controller.http_base().await?;
    assert_eq!(http_get(&base, "/healthz").await?.0, 200);
    eventually("/readyz", T, || async {
        Ok((http_get(&base, "/readyz").await?.0 == 200).then_some(()))
    })
    .await?;

    let api = &setup.clusters;
    let cluster_name = unique("e2e-ops");
    apply(
        api,
        cluster_manifest_with(
            "ops",
            &cluster_name,
            json!({"tags": [{"key": "a", "value": "1"}]}),
        ),
    )
    .await?;
    wait_ready(api, "ops", ConditionStatus::True, T).await?;
    // The reconcile that wrote Ready counts its outcome when it returns, a moment after the status
    // write that `wait_ready` saw: wait for the count rather than race it.
    let text = eventually("the ready reconcile counted", T, || async {
        let text = scrape(&setup.controller).await?;
        Ok((metric(
            &text,
            r#"ecs_controller_reconciles_total{kind="EcsCluster",outcome="ready"}"#,
        ) >= 1.0)
            .then_some(text))
    })
    .await?;
    assert_eq!(
        metric(
            &text,
            r#"ecs_controller_aws_calls_total{service="ECS",operation="CreateCluster",outcome="success"}"#
        ),
        1.0,
        "{text}"
    );
    assert!(
        metric(
            &text,
            r#"ecs_controller_reconciles_total{kind="EcsCluster",outcome="ready"}"#
        ) >= 1.0,
        "{text}"
    );
    assert_eq!(
        metric(
            &text,
            r#"ecs_controller_managed_objects{kind="EcsCluster",ready="True"}"#
        ),
        1.0,
        "{text}"
    );
    assert_eq!(
        metric(&text, "ecs_controller_leader"),
        1.0,
        "without leader election a replica leads"
    );
    assert!(
        text.contains("ecs_controller_reconcile_duration_seconds_bucket"),
        "{text}"
    );

    // Resyncs (every 3 s) describe again, change nothing, and publish no event.
    let describes = metric(
        &text,
        r#"ecs_controller_aws_calls_total{service="ECS",operation="DescribeClusters",outcome="success"}"#,
    );
    let events_before = events_for(&setup.client, &setup.ns.name, "ops").await?;
    assert!(
        events_before
            .iter()
            .any(|(r, t, _)| r == "Created" && t == "Normal"),
        "{events_before:?}"
    );
    assert!(
        events_before.iter().any(|(r, _, _)| r == "Active"),
        "the Ready transition: {events_before:?}"
    );
    tokio::time::sleep(Duration::from_secs(8)).await;
    let text = scrape(&setup.controller).await?;
    let describes_after = metric(
        &text,
        r#"ecs_controller_aws_calls_total{service="ECS",operation="DescribeClusters",outcome="success"}"#,
    );
    assert!(
        describes_after >= describes + 2.0,
        "resyncs happened: {describes} -> {describes_after}"
    );
    assert_eq!(
        metric(
            &text,
            r#"ecs_controller_aws_calls_total{service="ECS",operation="TagResource",outcome="success"}"#
        ),
        0.0
    );
    assert_eq!(
        events_for(&setup.client, &setup.ns.name, "ops").await?,
        events_before,
        "no event per resync"
    );

    // An update: one TagResource, one Updated event. A deletion: a Deleted event, the gauge drops.
    apply(
        api,
        cluster_manifest_with(
            "ops",
            &cluster_name,
            json!({"tags": [{"key": "a", "value": "2"}]}),
        ),
    )
    .await?;
    eventually("the Updated event", T, || async {
        Ok(events_for(&setup.client, &setup.ns.name, "ops")
            .await?
            .iter()
            .any(|(r, _, _)| r == "Updated")
            .then_some(()))
    })
    .await?;
    let text = scrape(&setup.controller).await?;
    assert_eq!(
        metric(
            &text,
            r#"ecs_controller_aws_calls_total{service="ECS",operation="TagResource",outcome="success"}"#
        ),
        1.0
    );
    delete_and_wait_gone(api, "ops", T).await?;
    let text = scrape(&setup.controller).await?;
    assert_eq!(
        metric(
            &text,
            r#"ecs_controller_managed_objects{kind="EcsCluster",ready="True"}"#
        ),
        0.0,
        "{text}"
    );
    assert_eq!(
        metric(
            &text,
            r#"ecs_controller_aws_calls_total{service="ECS",operation="DeleteCluster",outcome="success"}"#
        ),
        1.0
    );
    assert!(
        events_for(&setup.client, &setup.ns.name, "ops")
            .await?
            .iter()
            .any(|(r, _, _)| r == "Deleted")
    );

    // JSON logs: every reconcile line names the kind and the object; AWS calls carry the request id.
    let log = setup.controller.log_text();
    let lines: Vec<serde_json::Value> = log.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    ensure!(lines.len() > 10, "the log is JSON lines: {log}");
    let creating = lines
        .iter()
        .find(|l| l["message"] == "creating ECS cluster")
        .context("a 'creating ECS cluster' line")?;
    assert_eq!(creating["span"]["kind"], "EcsCluster", "{creating}");
    assert_eq!(
        creating["span"]["object"],
        format!("{}/ops", setup.ns.name),
        "{creating}"
    );
    assert!(
        lines.iter().any(|l| l["message"] == "AWS call succeeded"
            && l["request_id"].as_str().is_some_and(|r| !r.is_empty())),
        "AWS calls log their request id"
    );
    Ok(())
}

#[tokio::test]
async fn an_aws_error_is_one_warning_event_not_one_per_retry() -> Result<()> {
    let setup = Setup::new("e2e-opserr").await?;
    let api = &setup.clusters;
    apply(api, json!({"apiVersion": "ecs.kubefargate.dev/v1alpha1", "kind": "EcsCluster", "metadata": {"name": "nowhere"},
                       "spec": {"region": "xx-nowhere-1"}}))
    .await?;
    wait_ready(api, "nowhere", ConditionStatus::False, T).await?;
    tokio::time::sleep(Duration::from_secs(8)).await;
    let events = events_for(&setup.client, &setup.ns.name, "nowhere").await?;
    let warnings: Vec<_> = events
        .iter()
        .filter(|(r, t, _)| r == "AwsError" && t == "Warning")
        .collect();
    assert_eq!(
        warnings.len(),
        1,
        "one Warning event for the error, however many retries: {events:?}"
    );
    let text = scrape(&setup.controller).await?;
    assert!(
        metric(
            &text,
            r#"ecs_controller_aws_calls_total{service="ECS",operation="DescribeClusters",outcome="server_error"}"#
        ) >= 2.0,
        "{text}"
    );
    assert!(
        metric(
            &text,
            r#"ecs_controller_requeues_total{kind="EcsCluster",outcome="error"}"#
        ) >= 2.0,
        "{text}"
    );
    release_finalizers(&setup.ns.name, "ecscluster/nowhere")?;
    api.delete("nowhere", &Default::default()).await.ok();
    Ok(())
}

/// The flags of one replica with leader election on Lease `lease` in `namespace`.
fn leader_args<'a>(namespace: &'a str, lease: &'a str, id: &'a str) -> Vec<&'a str> {
    vec![
        "--leader-elect",
        "--leader-election-namespace",
        namespace,
        "--leader-election-lease-name",
        lease,
        "--leader-election-identity",
        id,
    ]
}

async fn leader_of(lease: &Api<Lease>, name: &str) -> Result<Option<String>> {
    Ok(lease
        .get_opt(name)
        .await?
        .and_then(|l| l.spec)
        .and_then(|s| s.holder_identity)
        .filter(|h| !h.is_empty()))
}

#[tokio::test]
async fn two_replicas_one_leader_fast_takeover_and_no_writes_after_losing_the_lease() -> Result<()> {
    let client = kube().await?;
    let ns = TestNamespace::create(&client, "e2e-leader").await?;
    let lease_name = unique("lease");
    let args = |id: &'static str| leader_args(&ns.name, &lease_name, id);
    let mut a = ControllerProcess::start(&ns.name, &args("replica-a"))?;
    let mut b = ControllerProcess::start(&ns.name, &args("replica-b"))?;
    let leases: Api<Lease> = Api::namespaced(client.clone(), &ns.name);
    let first = eventually("a leader", T, || async { leader_of(&leases, &lease_name).await }).await?;
    let (leader, follower) = if first == "replica-a" {
        (&mut a, &mut b)
    } else {
        (&mut b, &mut a)
    };

    // Both serve; both are ready (the follower knows its role); only the leader reconciles.
    for p in [&*leader, &*follower] {
        let base = p.http_base().await?;
        eventually("/readyz", T, || async {
            Ok((http_get(&base, "/readyz").await?.0 == 200).then_some(()))
        })
        .await?;
    }
    assert_eq!(metric(&scrape(leader).await?, "ecs_controller_leader"), 1.0);
    assert_eq!(metric(&scrape(follower).await?, "ecs_controller_leader"), 0.0);
    let api: Api<EcsCluster> = ns.api();
    apply(
        &api,
        cluster_manifest_with("one", &unique("e2e-leader"), json!({"tags": []})),
    )
    .await?;
    wait_ready(&api, "one", ConditionStatus::True, T).await?;
    assert!(
        !follower.log_text().contains("reconcile started"),
        "the follower does not reconcile"
    );

    // Kill the leader: the follower takes over once the 15 s Lease expires (renewed every 5 s, so
    // within 15 s of the kill, plus the follower's next look) and reconciles.
    leader.kill();
    let killed = Instant::now();
    let second = eventually("a new leader", Duration::from_secs(25), || async {
        Ok(leader_of(&leases, &lease_name).await?.filter(|h| *h != first))
    })
    .await?;
    let takeover = killed.elapsed();
    assert!(takeover < Duration::from_secs(20), "takeover took {takeover:?}");
    apply(
        &api,
        cluster_manifest_with("two", &unique("e2e-leader"), json!({"tags": []})),
    )
    .await?;
    wait_ready(&api, "two", ConditionStatus::True, T).await?;
    eprintln!("leader {first} killed; {second} took over in {takeover:?}");

    // The lease is taken from the new leader behind its back: it stops at once (exits).
    let now = k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime(k8s_openapi::jiff::Timestamp::now());
    let patch = json!({"spec": {"holderIdentity": "intruder", "renewTime": now, "acquireTime": now, "leaseDurationSeconds": 3600}});
    leases
        .patch(&lease_name, &PatchParams::default(), &Patch::Merge(patch))
        .await?;
    let code = follower.wait_exit(Duration::from_secs(15)).await?;
    assert_eq!(code, Some(1), "a replica that loses the lease exits");
    leases.delete(&lease_name, &Default::default()).await.ok();
    Ok(())
}

#[tokio::test]
async fn sigterm_finishes_and_releases_the_lease_for_a_quick_handover() -> Result<()> {
    let client = kube().await?;
    let ns = TestNamespace::create(&client, "e2e-term").await?;
    let lease_name = unique("lease");
    let args = |id: &'static str| leader_args(&ns.name, &lease_name, id);
    let mut a = ControllerProcess::start(&ns.name, &args("term-a"))?;
    let leases: Api<Lease> = Api::namespaced(client.clone(), &ns.name);
    eventually("term-a to lead", T, || async {
        Ok(leader_of(&leases, &lease_name).await?.filter(|h| h == "term-a"))
    })
    .await?;
    let b = ControllerProcess::start(&ns.name, &args("term-b"))?;
    a.terminate()?;
    let code = a.wait_exit(Duration::from_secs(20)).await?;
    assert_eq!(code, Some(0), "a clean exit on SIGTERM");
    assert!(
        a.log_text().contains("released the leader lease"),
        "{}",
        a.log_text()
    );
    let holder = leader_of(&leases, &lease_name).await?;
    assert!(
        holder.as_deref() != Some("term-a"),
        "the lease was released on exit, holder now {holder:?}"
    );
    eventually("term-b to lead", Duration::from_secs(15), || async {
        Ok(leader_of(&leases, &lease_name).await?.filter(|h| h == "term-b"))
    })
    .await?;
    drop(b);
    Ok(())
}

#[tokio::test]
async fn a_resync_of_many_services_is_batched() -> Result<()> {
    let setup = Setup::builder("e2e-batch")
        .args(&[
            "--resync-period",
            "10m",
            "--service-resync-period",
            "4s",
            "--concurrency",
            "16",
        ])
        .start()
        .await?;
    let (clusters, tds, services) = (&setup.clusters, &setup.tds, &setup.services);
    apply(clusters, cluster_manifest("main", &unique("e2e-batch"))).await?;
    apply(
        tds,
        task_definition_manifest("web", &unique("e2e-batch"), "nginx:1"),
    )
    .await?;
    let net = network()?;
    const N: usize = 12;
    for i in 0..N {
        apply(
            services,
            service_manifest(&format!("svc{i}"), "main", "web", &net, 1),
        )
        .await?;
    }
    for i in 0..N {
        wait_ready(services, &format!("svc{i}"), ConditionStatus::True, T).await?;
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    let series =
        r#"ecs_controller_aws_calls_total{service="ECS",operation="DescribeServices",outcome="success"}"#;
    let reconciles = r#"ecs_controller_reconciles_total{kind="FargateService",outcome="ready"}"#;
    let before = scrape(&setup.controller).await?;
    tokio::time::sleep(Duration::from_secs(9)).await;
    let after = scrape(&setup.controller).await?;
    let calls = metric(&after, series) - metric(&before, series);
    let resynced = metric(&after, reconciles) - metric(&before, reconciles);
    eprintln!("{resynced} service reconciles cost {calls} DescribeServices calls");
    ensure!(
        resynced >= (2 * N) as f64,
        "two resyncs of {N} services happened: {resynced} reconciles"
    );
    // Unbatched, that would be one call per reconcile; batched, about one per 10 services.
    ensure!(
        calls <= resynced / 4.0,
        "{calls} calls for {resynced} reconciles is not batched"
    );
    for i in 0..N {
        services.delete(&format!("svc{i}"), &Default::default()).await?;
    }
    for i in 0..N {
        let name = format!("svc{i}");
        eventually("services gone", T, || async {
            Ok(services.get_opt(&name).await?.is_none().then_some(()))
        })
        .await?;
    }
    delete_and_wait_gone(tds, "web", T).await?;
    delete_and_wait_gone(clusters, "main", T).await?;
    Ok(())
}

#[tokio::test]
async fn the_reconcile_request_annotation_repairs_drift_now_and_is_acknowledged() -> Result<()> {
    let ecs = ecs().await?;
    let setup = Setup::builder("e2e-annot")
        .args(&["--resync-period", "10m"])
        .start()
        .await?;
    let api = &setup.clusters;
    let cluster_name = unique("e2e-annot");
    apply(
        api,
        cluster_manifest_with(
            "annot",
            &cluster_name,
            json!({"tags": [{"key": "keep", "value": "me"}]}),
        ),
    )
    .await?;
    let obj = wait_ready(api, "annot", ConditionStatus::True, T).await?;
    let arn = obj
        .pointer("/status/arn")
        .and_then(|a| a.as_str())
        .context("arn")?
        .to_string();
    ecs.untag_resource()
        .resource_arn(&arn)
        .tag_keys("keep")
        .send()
        .await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let tags = ecs.list_tags_for_resource().resource_arn(&arn).send().await?;
    assert!(
        tags.tags().iter().all(|t| t.key() != Some("keep")),
        "no resync within 10 minutes"
    );

    let stamp = "2026-11-23T12:00:00Z";
    let patch = json!({"metadata": {"annotations": {"ecs.kubefargate.dev/reconcile-requested-at": stamp}}});
    api.patch("annot", &PatchParams::default(), &Patch::Merge(patch))
        .await?;
    eventually("the annotation to be handled", T, || async {
        let obj = serde_json::to_value(api.get("annot").await?)?;
        Ok((obj
            .pointer("/status/lastHandledReconcileAt")
            .and_then(|v| v.as_str())
            == Some(stamp))
        .then_some(()))
    })
    .await?;
    let tags = ecs.list_tags_for_resource().resource_arn(&arn).send().await?;
    assert!(
        tags.tags()
            .iter()
            .any(|t| t.key() == Some("keep") && t.value() == Some("me")),
        "drift repaired on request"
    );
    delete_and_wait_gone(api, "annot", T).await?;
    Ok(())
}

#[tokio::test]
async fn namespaces_and_a_label_selector_split_the_work() -> Result<()> {
    let client = kube().await?;
    let ns1 = TestNamespace::create(&client, "e2e-shard1").await?;
    let ns2 = TestNamespace::create(&client, "e2e-shard2").await?;
    let other = TestNamespace::create(&client, "e2e-shard3").await?;
    let watched = format!("{},{}", ns1.name, ns2.name);
    let _controller = ControllerProcess::start(
        &ns1.name,
        &["--watch-namespace", &watched, "--label-selector", "shard=a"],
    )?;
    let labelled = |name: &str, shard: &str| {
        let mut m = cluster_manifest_with(name, &unique("e2e-shard"), json!({"tags": []}));
        m["metadata"]["labels"] = json!({"shard": shard});
        m
    };
    let (a1, a2, a3): (Api<EcsCluster>, Api<EcsCluster>, Api<EcsCluster>) =
        (ns1.api(), ns2.api(), other.api());
    apply(&a1, labelled("mine", "a")).await?;
    apply(&a2, labelled("mine-too", "a")).await?;
    apply(&a1, labelled("other-shard", "b")).await?;
    apply(&a3, labelled("other-namespace", "a")).await?;
    wait_ready(&a1, "mine", ConditionStatus::True, T).await?;
    wait_ready(&a2, "mine-too", ConditionStatus::True, T).await?;
    tokio::time::sleep(Duration::from_secs(4)).await;
    for (api, name) in [(&a1, "other-shard"), (&a3, "other-namespace")] {
        let obj = api.get(name).await?;
        assert!(
            obj.status.is_none() && obj.metadata.finalizers.is_none(),
            "{name} is another controller's: {obj:?}"
        );
    }
    delete_and_wait_gone(&a1, "mine", T).await?;
    delete_and_wait_gone(&a2, "mine-too", T).await?;
    Ok(())
}

#[tokio::test]
async fn aws_calls_are_paced_by_the_rate_limit() -> Result<()> {
    let setup = Setup::builder("e2e-rps")
        .args(&["--aws-max-rps", "4", "--resync-period", "10m"])
        .start()
        .await?;
    let api = &setup.clusters;
    for i in 0..4 {
        apply(
            api,
            cluster_manifest_with(
                &format!("paced{i}"),
                &unique("e2e-rps"),
                json!({"tags": [{"key": "k", "value": "v"}]}),
            ),
        )
        .await?;
    }
    for i in 0..4 {
        wait_ready(api, &format!("paced{i}"), ConditionStatus::True, T).await?;
    }
    // The successful calls' log timestamps: never closer than the limit allows (250 ms at 4/s).
    let stamps: Vec<f64> = setup
        .controller
        .log_text()
        .lines()
        .filter(|l| l.contains("AWS call succeeded"))
        .filter_map(|l| l.split_whitespace().next())
        .filter_map(|t| t.parse::<k8s_openapi::jiff::Timestamp>().ok())
        .map(|t| t.as_millisecond() as f64 / 1000.0)
        .collect();
    ensure!(stamps.len() >= 5, "calls seen: {}", stamps.len());
    let closest = stamps.windows(2).map(|w| w[1] - w[0]).fold(f64::MAX, f64::min);
    // A call is logged when it returns, so allow for the spread of response times.
    assert!(
        closest >= 0.15,
        "two AWS calls {closest:.3} s apart under a 4/s limit"
    );
    let span = stamps.last().copied().unwrap_or(0.0) - stamps.first().copied().unwrap_or(0.0);
    assert!(
        span >= (stamps.len() - 1) as f64 * 0.25 * 0.9,
        "{} calls in {span:.2} s exceed 4/s",
        stamps.len()
    );
    for i in 0..4 {
        delete_and_wait_gone(api, &format!("paced{i}"), T).await?;
    }
    Ok(())
}

/// A user's change must not queue behind a periodic resync of many objects waiting at the AWS rate
/// limit: reconciles a change started take the next reconcile slot and the next AWS call. Nor does a
/// shutdown wait for the resync's reconciles still queued.
#[tokio::test]
async fn a_change_made_during_a_slow_resync_reaches_aws_before_the_resync_ends_and_sigterm_does_not_wait_for_it()
-> Result<()> {
    // 2 AWS calls a second and 4 reconciles at once: a resync of 24 task definitions (one
    // DescribeTaskDefinition each) takes 12 s.
    let setup = Setup::builder("e2e-lane")
        .args(&[
            "--aws-max-rps",
            "2",
            "--concurrency",
            "4",
            "--resync-period",
            "10m",
            "--task-definition-resync-period",
            "20s",
        ])
        .start()
        .await?;
    let api = &setup.tds;
    let family = unique("e2e-lane");
    const N: usize = 24;
    for i in 0..N {
        apply(
            api,
            task_definition_manifest(&format!("td{i}"), &format!("{family}-{i}"), "nginx:1"),
        )
        .await?;
    }
    for i in 0..N {
        wait_ready(
            api,
            &format!("td{i}"),
            ConditionStatus::True,
            Duration::from_secs(120),
        )
        .await?;
    }
    // Wait for a resync to start (its first DescribeTaskDefinition), then change td0.
    let resynced = |log: &str| {
        log.lines()
            .filter(|l| {
                l.contains("lane=Routine")
                    && l.contains("AWS call succeeded")
                    && l.contains("DescribeTaskDefinition")
            })
            .count()
    };
    let before = resynced(&setup.controller.log_text());
    eventually("a resync to start", Duration::from_secs(30), || async {
        Ok((resynced(&setup.controller.log_text()) > before).then_some(()))
    })
    .await?;
    let changed = Instant::now();
    apply(
        api,
        task_definition_manifest("td0", &format!("{family}-0"), "nginx:2"),
    )
    .await?;
    let ecs = ecs().await?;
    eventually("td0's new revision in ECS", Duration::from_secs(30), || async {
        let out = ecs
            .list_task_definitions()
            .family_prefix(format!("{family}-0"))
            .send()
            .await?;
        Ok((out.task_definition_arns().len() >= 2).then_some(()))
    })
    .await?;
    let took = changed.elapsed();
    eprintln!("the change reached AWS {took:?} after it was made");
    // The resync's own calls would take 11 s more: the change went first.
    ensure!(
        took < Duration::from_secs(6),
        "the change reached AWS {took:?} after it was made, behind the resync"
    );
    ensure!(
        resynced(&setup.controller.log_text()) < before + N,
        "the resync ended before the change reached AWS: the test measured nothing"
    );

    // SIGTERM while the rest of the resync waits for its slots: those reconciles are dropped (the
    // next process resyncs), only the running ones finish.
    let mut setup = setup;
    let left = N.saturating_sub(resynced(&setup.controller.log_text()) - before);
    let stopping = Instant::now();
    setup.controller.terminate()?;
    let code = setup.controller.wait_exit(Duration::from_secs(30)).await?;
    let stopped = stopping.elapsed();
    eprintln!("stopped {stopped:?} after SIGTERM, {left} resync reconciles left");
    ensure!(code == Some(0), "exit code {code:?}");
    ensure!(
        left >= 4,
        "only {left} resync reconciles were left at SIGTERM: the test measured nothing"
    );
    ensure!(
        stopped < Duration::from_secs(4),
        "SIGTERM took {stopped:?}: the queued resync reconciles ran first"
    );
    Ok(())
}

/// Lines of a controller's text log: (timestamp, line) for those containing `needle`.
fn log_times(log: &str, needle: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains(needle))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn a_leader_cut_off_from_the_api_server_stops_before_another_replica_takes_over() -> Result<()> {
    use ecs_controller_e2e::tcpproxy::{TcpProxy, socket_addr_of};
    let client = kube().await?;
    let ns = TestNamespace::create(&client, "e2e-split").await?;
    let lease_name = unique("lease");
    let args = |id: &'static str| leader_args(&ns.name, &lease_name, id);
    // Replica a reaches the API server through a proxy that can cut it off; AWS stays reachable.
    let proxy = TcpProxy::start(socket_addr_of(&env("KUBE_APISERVER_URL")?)?).await?;
    let kubeconfig = std::fs::read_to_string(env("KUBECONFIG")?)?
        .replace(&env("KUBE_APISERVER_URL")?, &format!("https://{}", proxy.addr));
    let kubeconfig_path = std::env::temp_dir().join(format!("{}.kubeconfig", unique("split")));
    std::fs::write(&kubeconfig_path, kubeconfig)?;
    let path = kubeconfig_path.to_string_lossy().to_string();
    let mut a = ControllerProcess::start_with_env(&ns.name, &args("replica-a"), &[("KUBECONFIG", &path)])?;
    let leases: Api<Lease> = Api::namespaced(client.clone(), &ns.name);
    eventually("replica-a to lead", T, || async {
        Ok(leader_of(&leases, &lease_name)
            .await?
            .filter(|h| h == "replica-a")
            .map(|_| ()))
    })
    .await?;
    let b = ControllerProcess::start(&ns.name, &args("replica-b"))?;
    let api: Api<EcsCluster> = ns.api();
    // A resync every 3 s keeps replica a calling AWS right up to the cut.
    apply(
        &api,
        cluster_manifest_with("one", &unique("e2e-split"), json!({"tags": []})),
    )
    .await?;
    wait_ready(&api, "one", ConditionStatus::True, T).await?;

    proxy.black_hole();
    let cut = Instant::now();
    let code = a.wait_exit(Duration::from_secs(30)).await?;
    let stopped = cut.elapsed();
    assert_eq!(code, Some(1), "the cut-off leader exits");
    eventually("replica-b to lead", Duration::from_secs(40), || async {
        Ok(leader_of(&leases, &lease_name)
            .await?
            .filter(|h| h == "replica-b")
            .map(|_| ()))
    })
    .await?;
    let took_over = cut.elapsed();
    apply(
        &api,
        cluster_manifest_with("two", &unique("e2e-split"), json!({"tags": []})),
    )
    .await?;
    wait_ready(&api, "two", ConditionStatus::True, T).await?;

    // Every AWS call of the old leader happened before the new leader took the lease.
    let a_calls = log_times(&a.log_text(), "AWS call");
    let b_leads = log_times(&b.log_text(), "acquired the lease");
    let (Some(last_a), Some(first_b)) = (a_calls.last(), b_leads.first()) else {
        anyhow::bail!("no AWS call by a ({}) or no takeover by b", a_calls.len());
    };
    ensure!(
        last_a < first_b,
        "replica a called AWS at {last_a}, after replica b took over at {first_b}"
    );
    ensure!(
        a.log_text().contains("no renewal of the leader lease seen"),
        "a stopped for its renew deadline: {}",
        a.log_text()
    );
    eprintln!("cut-off leader stopped after {stopped:?}; replica-b led after {took_over:?}");
    let _ = std::fs::remove_file(&kubeconfig_path);
    Ok(())
}

#[tokio::test]
async fn readyz_stays_not_ready_until_every_kinds_cache_is_synced() -> Result<()> {
    let client = kube().await?;
    let ns = TestNamespace::create(&client, "e2e-readyz").await?;
    // The ScalingPolicy cache syncs 6 s late; the other kinds' at once.
    let controller = ControllerProcess::start_with_env(
        &ns.name,
        &[],
        &[("ECS_CONTROLLER_DELAY_WATCH", "ScalingPolicy:6")],
    )?;
    let started = Instant::now();
    let base = controller.http_base().await?;
    eventually("the EcsCluster cache to sync", T, || async {
        Ok(controller
            .log_text()
            .lines()
            .any(|l| l.contains("cache synced") && l.contains("EcsCluster"))
            .then_some(()))
    })
    .await?;
    let (code, _) = http_get(&base, "/readyz").await?;
    ensure!(
        started.elapsed() < Duration::from_secs(5),
        "too slow to check before the late cache syncs"
    );
    assert_eq!(code, 503, "not ready while a cache is still empty");
    eventually("/readyz", T, || async {
        Ok((http_get(&base, "/readyz").await?.0 == 200).then_some(()))
    })
    .await?;
    assert!(
        started.elapsed() >= Duration::from_secs(5),
        "ready only after the late cache synced ({:?})",
        started.elapsed()
    );
    Ok(())
}
