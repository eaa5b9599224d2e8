//! Chaos end to end: converge 55 objects of all five kinds (the FargateTasks run to completion) while a proxy between the controller and moto
//! fails a third of the AWS calls (throttling, 500, 503, hangs past the SDK timeout, responses dropped
//! after moto acted), the controller is killed with SIGKILL at random moments and the kube-apiserver is
//! restarted once; then check against moto that nothing was duplicated (one revision per family, exactly
//! `completions` tasks per FargateTask) or leaked, delete everything
//! under the same faults, and check that nothing is left.
//!
//! Its own test binary (not part of `e2e`) because it restarts the shared apiserver: cargo runs test
//! binaries one after another. Seed: `CHAOS_SEED` (default 7), printed, so a failure can be replayed.

use anyhow::{Context as _, Result, bail, ensure};
use ecs_controller::api::{
    ConditionStatus, EcsCluster, FargateService, FargateTask, OWNER_UID_TAG, ScalingPolicy, TaskDefinition,
};
use ecs_controller_e2e::faultproxy::{FaultConfig, FaultProxy};
use ecs_controller_e2e::harness::*;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::{Duration, Instant};

const REGION: &str = "ap-southeast-2";
const CLUSTERS: usize = 3;
const SERVICES: usize = 16; // one TaskDefinition each
const POLICIES: usize = 15;
/// FargateTasks of two completions each, one at a time.
const TASKS: usize = 5;
const COMPLETIONS: usize = 2;
const KILLS: usize = 4;
/// The most AWS calls (as the proxy counts them, retries and faults included) the whole run may take:
/// converging and deleting 55 objects needs about 350; a hot loop would blow far past this.
const MAX_CALLS: u64 = 2800;

/// splitmix64: the test's own seeded choices (kill moments).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(lo + self.next() % (hi - lo))
    }
}

/// Subnets and a security group for `REGION` in moto (services are checked against moto's EC2).
fn seed_network() -> Result<(Vec<String>, Vec<String>)> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let out = Command::new(env("ECS_TEST_PYTHON")?)
        .arg(format!("{root}/hack/moto-seed.py"))
        .env("AWS_REGION", REGION)
        .env("AWS_ENDPOINT_URL", env("MOTO_URL")?)
        .output()?;
    ensure!(
        out.status.success(),
        "moto-seed.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout)?;
    let get = |key: &str| -> Result<Vec<String>> {
        let line = text
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .with_context(|| format!("{key} in {text}"))?;
        Ok(line.split(',').map(str::to_string).collect())
    };
    Ok((get("ECS_TEST_SUBNETS")?, get("ECS_TEST_SECURITY_GROUPS")?))
}

fn restart_apiserver() -> Result<()> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    env("ECS_ENV_DIR")?;
    let out = Command::new(format!("{root}/hack/restart-apiserver.sh")).output()?;
    ensure!(
        out.status.success(),
        "restart-apiserver.sh: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

fn start_controller(ns: &str, proxy: &FaultProxy, n: usize) -> Result<ControllerProcess> {
    let url = proxy.url();
    let c = ControllerProcess::start_with_env(
        ns,
        &["--resync-period", "20s", "--aws-timeout", "2s"],
        &[("AWS_ENDPOINT_URL", url.as_str()), ("AWS_REGION", REGION)],
    )?;
    eprintln!("chaos: controller #{n} started (pid {})", c.pid());
    Ok(c)
}

/// Objects whose `Ready` is not True for their generation, by kind/name.
async fn not_ready(client: &kube::Client, ns: &str) -> Result<Vec<String>> {
    async fn of<K>(api: Api<K>) -> Result<Vec<String>>
    where
        K: kube::Resource<DynamicType = ()>
            + Clone
            + serde::de::DeserializeOwned
            + std::fmt::Debug
            + serde::Serialize,
    {
        let mut out = Vec::new();
        for o in api.list(&ListParams::default()).await?.items {
            let v = serde_json::to_value(&o)?;
            let generation = v.pointer("/metadata/generation").and_then(|g| g.as_i64());
            let ok = condition(&v, ecs_controller::api::conditions::READY)
                .is_some_and(|c| c.status == ConditionStatus::True && c.observed_generation == generation);
            if !ok {
                let reason = condition(&v, ecs_controller::api::conditions::READY)
                    .map(|c| format!("{}: {}", c.reason, c.message))
                    .unwrap_or_default();
                out.push(format!("{}/{} ({reason})", K::kind(&()), o.name_any()));
            }
        }
        Ok(out)
    }
    let mut all = of(Api::<EcsCluster>::namespaced(client.clone(), ns)).await?;
    all.extend(of(Api::<TaskDefinition>::namespaced(client.clone(), ns)).await?);
    all.extend(of(Api::<FargateService>::namespaced(client.clone(), ns)).await?);
    all.extend(of(Api::<ScalingPolicy>::namespaced(client.clone(), ns)).await?);
    all.extend(of(Api::<FargateTask>::namespaced(client.clone(), ns)).await?);
    Ok(all)
}

async fn remaining(client: &kube::Client, ns: &str) -> Result<usize> {
    let lp = ListParams::default();
    Ok(Api::<EcsCluster>::namespaced(client.clone(), ns)
        .list(&lp)
        .await?
        .items
        .len()
        + Api::<TaskDefinition>::namespaced(client.clone(), ns)
            .list(&lp)
            .await?
            .items
            .len()
        + Api::<FargateService>::namespaced(client.clone(), ns)
            .list(&lp)
            .await?
            .items
            .len()
        + Api::<ScalingPolicy>::namespaced(client.clone(), ns)
            .list(&lp)
            .await?
            .items
            .len()
        + Api::<FargateTask>::namespaced(client.clone(), ns)
            .list(&lp)
            .await?
            .items
            .len())
}

/// What the chaos acts on: the seeded choices, the running controller and how to start a new one.
struct Chaos<'a> {
    rng: Rng,
    controller: ControllerProcess,
    spawn: &'a mut dyn FnMut() -> Result<ControllerProcess>,
}

/// Polls `check` while killing and restarting the controller at seeded random moments (`kills` times,
/// restarting the apiserver once after the second kill when `restart_api`), until it holds or `timeout`
/// passes.
async fn under_chaos<F, Fut>(
    what: &str,
    timeout: Duration,
    chaos: &mut Chaos<'_>,
    (kills, restart_api): (usize, bool),
    mut check: F,
) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<String>>>,
{
    let Chaos {
        rng,
        controller,
        spawn,
    } = chaos;
    let start = Instant::now();
    let mut next_kill = start + rng.millis(1500, 6000);
    let mut done_kills = 0;
    let mut last = String::new();
    loop {
        if done_kills < kills && Instant::now() >= next_kill {
            controller.kill();
            done_kills += 1;
            eprintln!("chaos: SIGKILL #{done_kills} at {:?} ({what})", start.elapsed());
            if restart_api && done_kills == 2 {
                restart_apiserver()?;
                eprintln!("chaos: kube-apiserver restarted at {:?}", start.elapsed());
            }
            tokio::time::sleep(rng.millis(200, 1500)).await;
            *controller = spawn()?;
            next_kill = Instant::now() + rng.millis(2000, 8000);
        }
        if done_kills >= kills {
            match check().await {
                Ok(None) => return Ok(()),
                Ok(Some(s)) => last = s,
                Err(e) => last = format!("{e:#}"),
            }
        }
        if start.elapsed() > timeout {
            bail!("{what}: not done after {timeout:?}: {last}");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test]
async fn converges_and_cleans_up_under_faults_crashes_and_an_apiserver_restart() -> Result<()> {
    let seed: u64 = std::env::var("CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7);
    eprintln!("chaos: seed {seed} (replay with CHAOS_SEED={seed})");
    let rng = Rng(seed);
    let client = kube().await?;
    let ns = TestNamespace::create(&client, "e2e-chaos").await?;
    let (subnets, security_groups) = seed_network()?;
    let proxy = FaultProxy::start(
        &env("MOTO_URL")?,
        FaultConfig {
            hang: Duration::from_secs(5),
            ..FaultConfig::new(seed, 1.0 / 3.0)
        },
    )?;
    let moto_ecs = {
        let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(REGION))
            .endpoint_url(env("MOTO_URL")?)
            .load()
            .await;
        (
            aws_sdk_ecs::Client::new(&conf),
            aws_sdk_applicationautoscaling::Client::new(&conf),
        )
    };
    let (ecs, aas) = moto_ecs;
    let ns_name = ns.name.clone();
    let mut n = 0;
    let mut spawn = || {
        n += 1;
        start_controller(&ns_name, &proxy, n)
    };
    let controller = spawn()?;
    let mut chaos = Chaos {
        rng,
        controller,
        spawn: &mut spawn,
    };

    // 55 objects, applied at once.
    let tag = unique("chaos");
    let cluster_names: Vec<String> = (0..CLUSTERS).map(|i| format!("{tag}-c{i}")).collect();
    let families: Vec<String> = (0..SERVICES).map(|i| format!("{tag}-td{i}")).collect();
    let clusters: Api<EcsCluster> = ns.api();
    let tds: Api<TaskDefinition> = ns.api();
    let services: Api<FargateService> = ns.api();
    let policies: Api<ScalingPolicy> = ns.api();
    for (i, name) in cluster_names.iter().enumerate() {
        apply(
            &clusters,
            json!({"apiVersion": "ecs.kubefargate.dev/v1alpha1", "kind": "EcsCluster",
            "metadata": {"name": format!("c{i}")},
            "spec": {"clusterName": name, "capacityProviders": ["FARGATE", "FARGATE_SPOT"]}}),
        )
        .await?;
    }
    for (i, family) in families.iter().enumerate() {
        apply(
            &tds,
            json!({"apiVersion": "ecs.kubefargate.dev/v1alpha1", "kind": "TaskDefinition",
            "metadata": {"name": format!("td{i}")},
            "spec": {"family": family, "cpu": "256", "memory": "512", "networkMode": "awsvpc",
                     "requiresCompatibilities": ["FARGATE"],
                     "containerDefinitions": [{"name": "app", "image": format!("nginx:1.{i}"), "memory": 256}]}}),
        )
        .await?;
        apply(&services, json!({"apiVersion": "ecs.kubefargate.dev/v1alpha1", "kind": "FargateService",
            "metadata": {"name": format!("svc{i}")},
            "spec": {"clusterRef": {"name": format!("c{}", i % CLUSTERS)}, "taskDefinitionRef": {"name": format!("td{i}")},
                     "desiredCount": 1,
                     "networkConfiguration": {"awsvpcConfiguration": {"subnets": subnets, "securityGroups": security_groups}}}}))
        .await?;
        if i < POLICIES {
            apply(&policies, json!({"apiVersion": "ecs.kubefargate.dev/v1alpha1", "kind": "ScalingPolicy",
                "metadata": {"name": format!("scale{i}")},
                "spec": {"serviceRef": {"name": format!("svc{i}")}, "minCapacity": 1, "maxCapacity": 3,
                         "scalingPolicies": [{"policyName": "cpu", "policyType": "TargetTrackingScaling",
                                              "targetTrackingScalingPolicyConfiguration": {"targetValue": 60.0,
                                                 "predefinedMetricSpecification": {"predefinedMetricType": "ECSServiceAverageCPUUtilization"}}}]}}))
            .await?;
        }
    }
    let tasks: Api<FargateTask> = ns.api();
    for i in 0..TASKS {
        apply(&tasks, json!({"apiVersion": "ecs.kubefargate.dev/v1alpha1", "kind": "FargateTask",
            "metadata": {"name": format!("run{i}")},
            "spec": {"clusterRef": {"name": format!("c{}", i % CLUSTERS)}, "taskDefinitionRef": {"name": format!("td{i}")},
                     "completions": COMPLETIONS, "backoffLimit": 0,
                     "networkConfiguration": {"awsvpcConfiguration": {"subnets": [subnets[0]], "securityGroups": security_groups}}}}))
        .await?;
    }
    let total = CLUSTERS + 2 * SERVICES + POLICIES + TASKS;
    assert_eq!(total, 55);

    // Converge under faults, crashes and one apiserver restart.
    let t0 = Instant::now();
    under_chaos(
        "all 55 objects Ready",
        Duration::from_secs(300),
        &mut chaos,
        (KILLS, true),
        || async {
            let pending = not_ready(&client, &ns.name).await?;
            Ok((!pending.is_empty()).then(|| format!("{} not Ready: {}", pending.len(), pending.join("; "))))
        },
    )
    .await?;
    let converge_counts = proxy.counts();
    // No duplicate service: moto replaces a same-name CreateService silently, so count at the proxy the
    // creates of each name moto answered with success (whether or not the controller got the answer),
    // by client token: ECS answers a repeated token with the first result, so only a second token is a
    // second service. (CreateCluster is idempotent by name in ECS, so it is not counted.)
    let mut tokens: BTreeMap<String, BTreeSet<Option<String>>> = BTreeMap::new();
    let mut repeats = 0;
    for c in proxy
        .created()
        .into_iter()
        .filter(|c| c.operation == "CreateService")
    {
        if !tokens.entry(c.name).or_default().insert(c.client_token) {
            repeats += 1;
        }
    }
    ensure!(
        tokens.len() == SERVICES,
        "every service created: {} names in {tokens:?}",
        tokens.len()
    );
    let twice: Vec<_> = tokens.iter().filter(|(_, t)| t.len() > 1).collect();
    ensure!(twice.is_empty(), "services created by two requests: {twice:?}");
    eprintln!("chaos: {repeats} CreateService repeated with the same client token");
    eprintln!(
        "chaos: all Ready after {:?}; {} AWS calls through the proxy, {} of them faults:\n{converge_counts}",
        t0.elapsed(),
        converge_counts.total(),
        converge_counts.faults()
    );
    ensure!(
        converge_counts.faults() > 50,
        "the proxy injected too few faults to mean anything"
    );

    // Invariants against moto itself (not through the proxy).
    let uids: BTreeSet<String> = {
        let mut u = BTreeSet::new();
        let lp = ListParams::default();
        u.extend(
            clusters
                .list(&lp)
                .await?
                .items
                .iter()
                .filter_map(|o| o.metadata.uid.clone()),
        );
        u.extend(
            tds.list(&lp)
                .await?
                .items
                .iter()
                .filter_map(|o| o.metadata.uid.clone()),
        );
        u.extend(
            services
                .list(&lp)
                .await?
                .items
                .iter()
                .filter_map(|o| o.metadata.uid.clone()),
        );
        u
    };
    // One revision per spec version: each family has exactly one revision, ever.
    for family in &families {
        let mut revisions = Vec::new();
        for status in [
            aws_sdk_ecs::types::TaskDefinitionStatus::Active,
            aws_sdk_ecs::types::TaskDefinitionStatus::Inactive,
        ] {
            let out = ecs
                .list_task_definitions()
                .family_prefix(family)
                .status(status)
                .send()
                .await?;
            revisions.extend(out.task_definition_arns().iter().cloned());
        }
        assert_eq!(revisions.len(), 1, "family {family}: {revisions:?}");
    }
    // No ECS resource without its object: every cluster and service of this run is tagged by a live one.
    let listed = ecs.list_clusters().send().await?;
    let mine: Vec<&String> = listed
        .cluster_arns()
        .iter()
        .filter(|a| a.contains(&format!("cluster/{tag}-")))
        .collect();
    let described = ecs
        .describe_clusters()
        .set_clusters(Some(mine.iter().map(|s| s.to_string()).collect()))
        .include(aws_sdk_ecs::types::ClusterField::Tags)
        .send()
        .await?;
    let active: Vec<_> = described
        .clusters()
        .iter()
        .filter(|c| c.status() == Some("ACTIVE"))
        .collect();
    assert_eq!(active.len(), CLUSTERS, "ACTIVE clusters of this run");
    let mut service_count = 0;
    for c in &active {
        let owner = c
            .tags()
            .iter()
            .find(|t| t.key() == Some(OWNER_UID_TAG))
            .and_then(|t| t.value());
        ensure!(
            owner.is_some_and(|o| uids.contains(o)),
            "cluster {:?} has no live owner",
            c.cluster_name()
        );
        let arns = ecs
            .list_services()
            .cluster(c.cluster_arn().unwrap_or_default())
            .send()
            .await?;
        if arns.service_arns().is_empty() {
            continue;
        }
        let described = ecs
            .describe_services()
            .cluster(c.cluster_arn().unwrap_or_default())
            .set_services(Some(arns.service_arns().to_vec()))
            .include(aws_sdk_ecs::types::ServiceField::Tags)
            .send()
            .await?;
        for s in described
            .services()
            .iter()
            .filter(|s| s.status() == Some("ACTIVE"))
        {
            service_count += 1;
            let owner = s
                .tags()
                .iter()
                .find(|t| t.key() == Some(OWNER_UID_TAG))
                .and_then(|t| t.value());
            ensure!(
                owner.is_some_and(|o| uids.contains(o)),
                "service {:?} has no live owner",
                s.service_name()
            );
        }
    }
    assert_eq!(service_count, SERVICES, "ACTIVE services of this run");
    let targets = aas
        .describe_scalable_targets()
        .service_namespace(aws_sdk_applicationautoscaling::types::ServiceNamespace::Ecs)
        .send()
        .await?;
    let run_targets: Vec<_> = targets
        .scalable_targets()
        .iter()
        .filter(|t| t.resource_id().contains(&format!("/{tag}-")))
        .collect();
    assert_eq!(
        run_targets.len(),
        POLICIES,
        "one scalable target per ScalingPolicy"
    );
    // Every run launched exactly its completions: no launch was repeated after a crash, a lost answer
    // or a fault (ListTasks by startedBy; moto lists stopped tasks too).
    for t in tasks.list(&ListParams::default()).await?.items {
        let status = t.status.clone().unwrap_or_default();
        let (cluster, started_by) = (
            status.cluster_arn.clone().context("cluster of the run")?,
            status.started_by.clone().context("startedBy of the run")?,
        );
        let launched = ecs_controller_e2e::probes::tasks_started_by(&ecs, &cluster, &started_by).await?;
        assert_eq!(
            (launched.len(), status.succeeded as usize),
            (COMPLETIONS, COMPLETIONS),
            "FargateTask {}: tasks in AWS {launched:?}",
            t.name_any()
        );
    }

    // Delete everything, still under faults and crashes.
    let dp = DeleteParams::default();
    let lp = ListParams::default();
    clusters.delete_collection(&dp, &lp).await?;
    tds.delete_collection(&dp, &lp).await?;
    services.delete_collection(&dp, &lp).await?;
    policies.delete_collection(&dp, &lp).await?;
    tasks.delete_collection(&dp, &lp).await?;
    let t1 = Instant::now();
    under_chaos(
        "every object deleted",
        Duration::from_secs(300),
        &mut chaos,
        (2, false),
        || async {
            let left = remaining(&client, &ns.name).await?;
            Ok((left > 0).then(|| format!("{left} objects still there (finalizers)")))
        },
    )
    .await?;
    let counts = proxy.counts();
    eprintln!(
        "chaos: all deleted after {:?}; {} AWS calls in total, {} faults:\n{counts}",
        t1.elapsed(),
        counts.total(),
        counts.faults()
    );
    ensure!(
        counts.total() <= MAX_CALLS,
        "{} AWS calls for 55 objects: backoff did not bound the call rate",
        counts.total()
    );

    // Nothing ACTIVE left in moto for this run.
    let described = ecs
        .describe_clusters()
        .set_clusters(Some(cluster_names.clone()))
        .send()
        .await?;
    let left: Vec<_> = described
        .clusters()
        .iter()
        .filter(|c| c.status() != Some("INACTIVE"))
        .filter_map(|c| c.cluster_name())
        .collect();
    assert!(left.is_empty(), "clusters left: {left:?}");
    for c in &cluster_names {
        let arns = ecs.list_services().cluster(c).send().await?;
        if arns.service_arns().is_empty() {
            continue;
        }
        let described = ecs
            .describe_services()
            .cluster(c)
            .set_services(Some(arns.service_arns().to_vec()))
            .send()
            .await?;
        let active: Vec<_> = described
            .services()
            .iter()
            .filter(|s| s.status() == Some("ACTIVE"))
            .filter_map(|s| s.service_name())
            .collect();
        assert!(active.is_empty(), "services left in {c}: {active:?}");
    }
    let mut active_revisions = BTreeMap::new();
    for family in &families {
        let out = ecs
            .list_task_definitions()
            .family_prefix(family)
            .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
            .send()
            .await?;
        if !out.task_definition_arns().is_empty() {
            active_revisions.insert(family.clone(), out.task_definition_arns().to_vec());
        }
    }
    assert!(
        active_revisions.is_empty(),
        "ACTIVE revisions left: {active_revisions:?}"
    );
    let targets = aas
        .describe_scalable_targets()
        .service_namespace(aws_sdk_applicationautoscaling::types::ServiceNamespace::Ecs)
        .send()
        .await?;
    let left: Vec<_> = targets
        .scalable_targets()
        .iter()
        .map(|t| t.resource_id())
        .filter(|id| cluster_names.iter().any(|c| id.contains(&format!("/{c}/"))))
        .collect();
    assert!(left.is_empty(), "scalable targets left: {left:?}");
    chaos.controller.kill();
    Ok(())
}
