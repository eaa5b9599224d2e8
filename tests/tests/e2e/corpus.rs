//! The bad-input corpus: every manifest under `tests/corpus/<kind>/` is invalid or hostile, and must be
//! either rejected at admission with a clear message, or accepted and then reported by the controller
//! (`Stalled=True` with a specific reason, or, where the controller keeps waiting by design, `Ready=False`
//! and `Reconciling=True` with that reason), without a hot loop, a crash, or any change to the valid
//! objects of another namespace (the "victims").
//!
//! Each file starts with two comment lines:
//!
//! ```text
//! # expect: rejected <text in the API server's message>
//! # expect: rejected-update <text>     (two documents: a valid create, then the invalid update)
//! # expect: stalled <Reason>
//! # expect: waiting <Reason>
//! # why: <one line>
//! ```
//!
//! Manifests carry no namespace (the test applies them in its own) and may use placeholders the test
//! fills in: `${SUBNET}`, `${SECURITY_GROUP}`, `${RUN}` (unique per run, for AWS names),
//! `${VICTIM_NAMESPACE}`, `${VICTIM_CLUSTER_NAME}`, `${VICTIM_CLUSTER_ARN}`, `${VICTIM_FAMILY}`,
//! `${VICTIM_SERVICE_NAME}`, `${BASE_CLUSTER_NAME}` and `${REPEAT:<text>:<count>}` (huge strings without
//! huge files). In the test's namespace a valid base set exists: EcsCluster `corpus-cluster`,
//! TaskDefinition `corpus-td` (and `corpus-run-td`, which moto can run tasks of), FargateService
//! `corpus-svc` and ScalingPolicy `corpus-policy`; the victim namespace holds `victim-cluster`,
//! `victim-td` and `victim-svc`, names the corpus may use to try to reach across namespaces.

use anyhow::{Context as _, Result, bail, ensure};
use aws_sdk_applicationautoscaling::types::ServiceNamespace;
use aws_sdk_ecs::types::{ClusterField, ServiceField, TaskDefinitionField, TaskDefinitionStatus};
use ecs_controller::api::conditions::{READY, RECONCILING, STALLED};
use ecs_controller::api::{
    ConditionStatus, EcsCluster, FargateProfile, FargateService, FargateTask, ScalingPolicy, TaskDefinition,
};
use ecs_controller_e2e::fixtures::{
    cluster_manifest, expand_placeholders, network, runnable_task_definition_manifest, service_manifest,
    task_definition_manifest,
};
use ecs_controller_e2e::harness::*;
use ecs_controller_e2e::kinds::corpus_dirs;
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams};
use kube::{Client, Resource};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

const T: Duration = Duration::from_secs(90);
/// The corpus must stay a corpus.
const MIN_CASES: usize = 160;
/// Resync period of the controller under test: longer than the whole test, so no periodic resync
/// happens, and any reconcile in the quiet window below is a requeue or a loop.
const RESYNC: &str = "10m";
/// The quiet window in which the settled corpus must not make the controller busy.
const WINDOW: Duration = Duration::from_secs(10);

#[derive(Clone, Debug, PartialEq, Eq)]
enum Expect {
    Rejected(String),
    RejectedUpdate(String),
    Stalled(String),
    Waiting(String),
}

#[derive(Clone, Debug)]
struct Case {
    /// `kind-dir/NN-name.yaml`, for reports.
    file: String,
    kind: String,
    name: String,
    expect: Expect,
    docs: Vec<Value>,
}

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus")
}

fn parse_case(dir: &str, kind: &str, path: &Path, vars: &BTreeMap<&str, String>) -> Result<Case> {
    let file = format!(
        "{dir}/{}",
        path.file_name().and_then(|f| f.to_str()).context("file name")?
    );
    let raw = std::fs::read_to_string(path)?;
    let mut lines = raw.lines();
    let expect = lines
        .next()
        .and_then(|l| l.strip_prefix("# expect: "))
        .context("first line must be `# expect: ...`")?;
    let why = lines
        .next()
        .and_then(|l| l.strip_prefix("# why: "))
        .context("second line must be `# why: ...`")?;
    ensure!(!why.trim().is_empty(), "empty `# why:`");
    let (what, arg) = expect.split_once(' ').context("`# expect: <what> <text>`")?;
    let arg = arg.trim().to_string();
    ensure!(!arg.is_empty(), "the expectation needs a message or reason");
    let expect = match what {
        "rejected" => Expect::Rejected(arg),
        "rejected-update" => Expect::RejectedUpdate(arg),
        "stalled" => Expect::Stalled(arg),
        "waiting" => Expect::Waiting(arg),
        other => bail!("unknown expectation {other:?}"),
    };
    let mut docs = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(&expand_placeholders(&raw, vars)?) {
        let v = Value::deserialize(doc)?;
        if !v.is_null() {
            docs.push(v);
        }
    }
    let want_docs = if matches!(expect, Expect::RejectedUpdate(_)) {
        2
    } else {
        1
    };
    ensure!(
        docs.len() == want_docs,
        "{} YAML documents, expected {want_docs}",
        docs.len()
    );
    let name = docs[0]
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .context("metadata.name")?
        .to_string();
    for d in &docs {
        ensure!(
            d["kind"] == kind,
            "kind {} in the {dir} directory (want {kind})",
            d["kind"]
        );
        ensure!(
            d.pointer("/metadata/name").and_then(Value::as_str) == Some(&name),
            "the documents of one case name one object"
        );
        ensure!(
            d.pointer("/metadata/namespace").is_none(),
            "no namespace in corpus files"
        );
    }
    Ok(Case {
        file,
        kind: kind.to_string(),
        name,
        expect,
        docs,
    })
}

fn load_corpus(vars: &BTreeMap<&str, String>) -> Result<Vec<Case>> {
    let mut cases = Vec::new();
    let mut problems = Vec::new();
    for (dir, kind) in corpus_dirs() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir().join(dir))
            .with_context(|| format!("reading tests/corpus/{dir}"))?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()?;
        files.retain(|p| p.extension().is_some_and(|e| e == "yaml"));
        files.sort();
        for path in files {
            match parse_case(dir, &kind, &path, vars) {
                Ok(c) => cases.push(c),
                Err(e) => problems.push(format!("{}: {e:#}", path.display())),
            }
        }
    }
    let mut names = BTreeSet::new();
    for c in &cases {
        if !names.insert(c.name.clone()) {
            problems.push(format!("{}: metadata.name {} used twice", c.file, c.name));
        }
        if c.kind == "FargateProfile" && !matches!(c.expect, Expect::Rejected(_)) {
            problems.push(format!(
                "{}: an accepted FargateProfile would select other tests' namespaces: profile cases must be rejected",
                c.file
            ));
        }
        if c.name.starts_with("victim-") || c.name.starts_with("corpus-") {
            problems.push(format!(
                "{}: names victim-* and corpus-* are the test's own",
                c.file
            ));
        }
    }
    ensure!(problems.is_empty(), "bad corpus files:\n{}", problems.join("\n"));
    ensure!(
        cases.len() >= MIN_CASES,
        "only {} corpus cases (at least {MIN_CASES})",
        cases.len()
    );
    for (dir, kind) in corpus_dirs() {
        ensure!(
            cases.iter().any(|c| c.kind == kind),
            "no corpus case for {kind} (tests/corpus/{dir})"
        );
    }
    Ok(cases)
}

fn resource(kind: &str) -> ApiResource {
    match kind {
        "EcsCluster" => ApiResource::erase::<EcsCluster>(&()),
        "TaskDefinition" => ApiResource::erase::<TaskDefinition>(&()),
        "FargateService" => ApiResource::erase::<FargateService>(&()),
        "FargateTask" => ApiResource::erase::<FargateTask>(&()),
        "ScalingPolicy" => ApiResource::erase::<ScalingPolicy>(&()),
        "FargateProfile" => ApiResource::erase::<FargateProfile>(&()),
        other => panic!("the corpus test does not know the kind {other}"),
    }
}

/// The kind's API: in the test's namespace, or cluster-wide for a cluster-scoped kind (FargateProfile,
/// whose cases are all rejected at admission: an accepted profile would select other tests' namespaces).
fn dynamic_api(client: &Client, namespace: &str, kind: &str) -> Api<DynamicObject> {
    if kind == "FargateProfile" {
        return Api::all_with(client.clone(), &resource(kind));
    }
    Api::namespaced_with(client.clone(), namespace, &resource(kind))
}

/// Server-side apply with strict field validation, as `kubectl apply --server-side` does.
async fn apply_strict(api: &Api<DynamicObject>, manifest: &Value) -> Result<DynamicObject, kube::Error> {
    let name = manifest
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    api.patch(
        name,
        &PatchParams::apply(TEST_MANAGER).force().validation_strict(),
        &Patch::Apply(manifest),
    )
    .await
}

/// Where an accepted case's object stands: `Ok(None)` while not settled yet.
fn settled(obj: &Value, expect: &Expect, victim_cluster_arn: &str) -> Result<Option<()>> {
    let generation = obj.pointer("/metadata/generation").and_then(Value::as_i64);
    let Some(ready) = condition(obj, READY) else {
        return Ok(None);
    };
    let (reason, stalled_wanted) = match expect {
        Expect::Stalled(r) => (r, true),
        Expect::Waiting(r) => (r, false),
        _ => bail!("not an accepted case"),
    };
    if ready.observed_generation != generation || ready.status != ConditionStatus::False {
        return Ok(None);
    }
    if &ready.reason != reason {
        return Ok(None);
    }
    ensure!(
        !ready.message.trim().is_empty(),
        "Ready=False/{reason} without a message"
    );
    let stalled = condition(obj, STALLED);
    let reconciling = condition(obj, RECONCILING);
    if stalled_wanted {
        let Some(s) = stalled else { return Ok(None) };
        ensure!(
            s.status == ConditionStatus::True && &s.reason == reason,
            "Stalled is {:?}/{}, want True/{reason}",
            s.status,
            s.reason
        );
        ensure!(
            reconciling.is_none_or(|r| r.status != ConditionStatus::True),
            "Stalled and Reconciling at once"
        );
    } else {
        ensure!(
            stalled.is_none_or(|s| s.status != ConditionStatus::True),
            "Stalled=True, expected only waiting"
        );
        let Some(r) = reconciling else { return Ok(None) };
        ensure!(
            r.status == ConditionStatus::True && &r.reason == reason,
            "Reconciling is {:?}/{}, want True/{reason}",
            r.status,
            r.reason
        );
    }
    // An invalid object never gets hold of an AWS resource (least of all the victim's). A FargateTask
    // records the cluster, revision and start of its run before its first RunTask (so a run keeps
    // them), and a launch ECS refused leaves them recorded: what it must never hold is a task, or the
    // victim's cluster.
    let fields: &[&str] = if obj["kind"] == "FargateTask" {
        ensure!(
            obj.pointer("/status/attempts")
                .and_then(Value::as_array)
                .is_none_or(Vec::is_empty)
                && obj.pointer("/status/active").and_then(Value::as_i64).unwrap_or(0) == 0,
            "a task was launched: {}",
            obj.pointer("/status").unwrap_or(&Value::Null)
        );
        ensure!(
            obj.pointer("/status/clusterArn").and_then(Value::as_str) != Some(victim_cluster_arn),
            "status.clusterArn is the victim's cluster"
        );
        &["arn"]
    } else {
        &[
            "arn",
            "clusterArn",
            "taskDefinitionArn",
            "resourceId",
            "scalableTargetArn",
        ]
    };
    for &field in fields {
        ensure!(
            obj.pointer(&format!("/status/{field}")).is_none(),
            "status.{field} is set: {}",
            obj.pointer(&format!("/status/{field}")).unwrap_or(&Value::Null)
        );
    }
    Ok(Some(()))
}

fn conditions_summary(obj: &Value) -> String {
    conditions_of(obj)
        .iter()
        .map(|c| format!("{}={:?}/{} ({})", c.type_, c.status, c.reason, c.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Applies one case; returns the failure, if any. Accepted cases are checked later.
async fn run_admission(client: &Client, namespace: &str, case: &Case) -> Option<String> {
    let api = dynamic_api(client, namespace, &case.kind);
    let fail = |m: String| Some(format!("{}: {m}", case.file));
    match &case.expect {
        Expect::Rejected(want) => match apply_strict(&api, &case.docs[0]).await {
            Ok(_) => fail(format!("accepted, expected rejection with {want:?}")),
            Err(e) if !format!("{e:#}").contains(want.as_str()) => {
                fail(format!("rejected, but {want:?} is not in the message: {e:#}"))
            }
            Err(_) => match api.get_opt(&case.name).await {
                Ok(Some(_)) => fail("rejected, yet the object exists".into()),
                _ => None,
            },
        },
        Expect::RejectedUpdate(want) => {
            if let Err(e) = apply_strict(&api, &case.docs[0]).await {
                return fail(format!("the valid create was rejected: {e:#}"));
            }
            match apply_strict(&api, &case.docs[1]).await {
                Ok(_) => fail(format!("update accepted, expected rejection with {want:?}")),
                Err(e) if !format!("{e:#}").contains(want.as_str()) => fail(format!(
                    "update rejected, but {want:?} is not in the message: {e:#}"
                )),
                Err(_) => match api.get(&case.name).await {
                    Ok(o) if o.metadata.generation == Some(1) => None,
                    Ok(o) => fail(format!(
                        "update rejected, yet generation is {:?}",
                        o.metadata.generation
                    )),
                    Err(e) => fail(format!("reading it back: {e}")),
                },
            }
        }
        Expect::Stalled(_) | Expect::Waiting(_) => match apply_strict(&api, &case.docs[0]).await {
            Ok(_) => None,
            Err(e) => fail(format!(
                "rejected at admission ({e:#}); the corpus expects the controller to report it"
            )),
        },
    }
}

/// Waits until an accepted case reports what it should; the failure, if any.
async fn wait_reported(
    client: &Client,
    namespace: &str,
    case: &Case,
    victim_cluster_arn: &str,
) -> Option<String> {
    let api = dynamic_api(client, namespace, &case.kind);
    let what = format!("{:?}", case.expect);
    let result = eventually(&what, T, || async {
        let obj = serde_json::to_value(api.get(&case.name).await?)?;
        settled(&obj, &case.expect, victim_cluster_arn)
    })
    .await;
    let e = result.err()?;
    let seen = match api.get(&case.name).await {
        Ok(o) => serde_json::to_value(o).map_or_else(|e| e.to_string(), |v| conditions_summary(&v)),
        Err(e) => e.to_string(),
    };
    Some(format!("{}: {e:#}; conditions: {seen}", case.file))
}

/// The sum of every sample of a metric family (`name{...} value` lines) in Prometheus text.
fn metric_sum(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .filter_map(|l| l.rsplit_once(' ').and_then(|(_, v)| v.trim().parse::<f64>().ok()))
        .sum()
}

struct Victims {
    namespace: String,
    cluster_name: String,
    cluster_arn: String,
    family: String,
    td_arn: String,
    service_name: String,
}

fn sorted_tags<'a>(tags: impl Iterator<Item = (Option<&'a str>, Option<&'a str>)>) -> String {
    let map: BTreeMap<&str, &str> = tags
        .map(|(k, v)| (k.unwrap_or_default(), v.unwrap_or_default()))
        .collect();
    format!("{map:?}")
}

/// What AWS holds of the victims, as comparable facts.
async fn victim_state(
    ecs: &aws_sdk_ecs::Client,
    aas: &aws_sdk_applicationautoscaling::Client,
    v: &Victims,
) -> Result<BTreeMap<String, String>> {
    let mut facts = BTreeMap::new();
    let mut put = |k: &str, v: String| facts.insert(k.to_string(), v);

    let clusters = ecs
        .describe_clusters()
        .clusters(&v.cluster_arn)
        .include(ClusterField::Settings)
        .include(ClusterField::Tags)
        .include(ClusterField::Configurations)
        .send()
        .await?;
    let c = clusters.clusters().first().context("victim cluster")?;
    put("cluster.status", format!("{:?}", c.status()));
    put(
        "cluster.tags",
        sorted_tags(c.tags().iter().map(|t| (t.key(), t.value()))),
    );
    put(
        "cluster.settings",
        format!(
            "{:?}",
            c.settings()
                .iter()
                .map(|s| (s.name().map(|n| n.as_str().to_string()), s.value()))
                .collect::<Vec<_>>()
        ),
    );
    put("cluster.configuration", format!("{:?}", c.configuration()));
    let mut providers = c.capacity_providers().to_vec();
    providers.sort();
    put("cluster.capacityProviders", format!("{providers:?}"));
    put(
        "cluster.defaultStrategy",
        format!("{:?}", c.default_capacity_provider_strategy()),
    );
    put(
        "cluster.activeServicesCount",
        c.active_services_count().to_string(),
    );
    // No task of any namespace was launched into the victim's cluster (a FargateTask by clusterArn).
    let mut tasks = Vec::new();
    for desired in [
        aws_sdk_ecs::types::DesiredStatus::Running,
        aws_sdk_ecs::types::DesiredStatus::Stopped,
    ] {
        let page = ecs
            .list_tasks()
            .cluster(&v.cluster_arn)
            .desired_status(desired)
            .send()
            .await?;
        tasks.extend(page.task_arns().iter().cloned());
    }
    tasks.sort();
    put("cluster.tasks", format!("{tasks:?}"));

    let services = ecs
        .describe_services()
        .cluster(&v.cluster_arn)
        .services(&v.service_name)
        .include(ServiceField::Tags)
        .send()
        .await?;
    let s = services.services().first().context("victim service")?;
    put("service.status", format!("{:?}", s.status()));
    put("service.taskDefinition", format!("{:?}", s.task_definition()));
    put("service.desiredCount", s.desired_count().to_string());
    put("service.launchType", format!("{:?}", s.launch_type()));
    put("service.network", format!("{:?}", s.network_configuration()));
    put(
        "service.deployment",
        format!("{:?}", s.deployment_configuration()),
    );
    put(
        "service.tags",
        sorted_tags(s.tags().iter().map(|t| (t.key(), t.value()))),
    );

    let td = ecs
        .describe_task_definition()
        .task_definition(&v.td_arn)
        .include(TaskDefinitionField::Tags)
        .send()
        .await?;
    let d = td.task_definition().context("victim task definition")?;
    put("taskDefinition.status", format!("{:?}", d.status()));
    put(
        "taskDefinition.cpuMemory",
        format!("{:?}/{:?}", d.cpu(), d.memory()),
    );
    put(
        "taskDefinition.containers",
        format!(
            "{:?}",
            d.container_definitions()
                .iter()
                .map(|c| (c.name(), c.image()))
                .collect::<Vec<_>>()
        ),
    );
    put(
        "taskDefinition.tags",
        sorted_tags(td.tags().iter().map(|t| (t.key(), t.value()))),
    );
    let revisions = ecs
        .list_task_definitions()
        .family_prefix(&v.family)
        .status(TaskDefinitionStatus::Active)
        .send()
        .await?;
    put(
        "taskDefinition.familyActiveRevisions",
        format!("{:?}", revisions.task_definition_arns()),
    );

    let resource_id = format!("service/{}/{}", v.cluster_name, v.service_name);
    let targets = aas
        .describe_scalable_targets()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_ids(&resource_id)
        .send()
        .await?;
    put(
        "scaling.targets",
        format!(
            "{:?}",
            targets
                .scalable_targets()
                .iter()
                .map(|t| (t.min_capacity(), t.max_capacity()))
                .collect::<Vec<_>>()
        ),
    );
    let policies = aas
        .describe_scaling_policies()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(&resource_id)
        .send()
        .await?;
    put(
        "scaling.policies",
        format!(
            "{:?}",
            policies
                .scaling_policies()
                .iter()
                .map(|p| p.policy_name())
                .collect::<Vec<_>>()
        ),
    );
    let actions = aas
        .describe_scheduled_actions()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(&resource_id)
        .send()
        .await?;
    put(
        "scaling.scheduledActions",
        actions.scheduled_actions().len().to_string(),
    );
    Ok(facts)
}

async fn status_arn<K>(api: &Api<K>, name: &str) -> Result<String>
where
    K: Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug + serde::Serialize,
{
    let obj = serde_json::to_value(api.get(name).await?)?;
    obj.pointer("/status/arn")
        .and_then(Value::as_str)
        .map(str::to_string)
        .with_context(|| format!("{name} has no status.arn"))
}

async fn assert_victims_ready(victim_ns: &TestNamespace) -> Result<()> {
    let clusters: Api<EcsCluster> = victim_ns.api();
    let tds: Api<TaskDefinition> = victim_ns.api();
    let services: Api<FargateService> = victim_ns.api();
    for obj in [
        serde_json::to_value(clusters.get("victim-cluster").await?)?,
        serde_json::to_value(tds.get("victim-td").await?)?,
        serde_json::to_value(services.get("victim-svc").await?)?,
    ] {
        let ready = condition(&obj, READY);
        ensure!(
            ready.as_ref().is_some_and(|c| c.status == ConditionStatus::True),
            "victim {} is no longer Ready: {}",
            obj["metadata"]["name"],
            conditions_summary(&obj)
        );
        ensure!(
            obj.pointer("/metadata/generation") == Some(&json!(1)),
            "victim {} changed: generation {}",
            obj["metadata"]["name"],
            obj["metadata"]["generation"]
        );
    }
    Ok(())
}

#[tokio::test]
async fn bad_input_corpus_is_rejected_or_reported_without_loops_and_never_touches_other_namespaces()
-> Result<()> {
    let client = kube().await?;
    let ecs = ecs().await?;
    let aas = aas().await?;
    let net = network()?;
    let victim_ns = TestNamespace::create(&client, "corpus-victim").await?;
    let ns = TestNamespace::create(&client, "corpus").await?;
    let controller = ControllerProcess::start(
        &ns.name,
        &["--watch-namespace", &victim_ns.name, "--resync-period", RESYNC],
    )?;

    // The victims: valid objects in another namespace, under the same controller.
    let victim_cluster_name = unique("corpus-victim");
    let victim_family = unique("corpus-victim");
    let mut victim_cluster = cluster_manifest("victim-cluster", &victim_cluster_name);
    victim_cluster["spec"]["settings"] = json!([{"name": "containerInsights", "value": "enabled"}]);
    victim_cluster["spec"]["defaultCapacityProviderStrategy"] =
        json!([{"capacityProvider": "FARGATE", "weight": 1, "base": 1}]);
    victim_cluster["spec"]["tags"] = json!([{"key": "team", "value": "victim"}]);
    let mut victim_td = task_definition_manifest("victim-td", &victim_family, "nginx:1.27");
    victim_td["spec"]["tags"] = json!([{"key": "team", "value": "victim"}]);
    let victim_svc = service_manifest("victim-svc", "victim-cluster", "victim-td", &net, 1);
    let (v_clusters, v_tds, v_services): (Api<EcsCluster>, Api<TaskDefinition>, Api<FargateService>) =
        (victim_ns.api(), victim_ns.api(), victim_ns.api());
    apply(&v_clusters, victim_cluster).await?;
    apply(&v_tds, victim_td).await?;
    apply(&v_services, victim_svc).await?;
    wait_ready(&v_clusters, "victim-cluster", ConditionStatus::True, T).await?;
    wait_ready(&v_tds, "victim-td", ConditionStatus::True, T).await?;
    wait_ready(&v_services, "victim-svc", ConditionStatus::True, T).await?;

    // The base set in the test's namespace, which some cases collide with or point at by mistake.
    let base_cluster_name = unique("corpus-base");
    let (clusters, tds, services, policies): (
        Api<EcsCluster>,
        Api<TaskDefinition>,
        Api<FargateService>,
        Api<ScalingPolicy>,
    ) = (ns.api(), ns.api(), ns.api(), ns.api());
    apply(&clusters, cluster_manifest("corpus-cluster", &base_cluster_name)).await?;
    apply(
        &tds,
        task_definition_manifest("corpus-td", &unique("corpus-base"), "nginx:1.27"),
    )
    .await?;
    // A task definition moto can run tasks of (corpus-td has no container memory, and moto's RunTask
    // answers 500 for it), for the FargateTask cases that must reach RunTask.
    apply(
        &tds,
        runnable_task_definition_manifest("corpus-run-td", &unique("corpus-run")),
    )
    .await?;
    apply(
        &services,
        service_manifest("corpus-svc", "corpus-cluster", "corpus-td", &net, 1),
    )
    .await?;
    apply(
        &policies,
        json!({"apiVersion": "ecs.kubefargate.dev/v1alpha1", "kind": "ScalingPolicy",
               "metadata": {"name": "corpus-policy"},
               "spec": {"serviceRef": {"name": "corpus-svc"}, "minCapacity": 1, "maxCapacity": 2}}),
    )
    .await?;
    wait_ready(&clusters, "corpus-cluster", ConditionStatus::True, T).await?;
    wait_ready(&tds, "corpus-td", ConditionStatus::True, T).await?;
    wait_ready(&tds, "corpus-run-td", ConditionStatus::True, T).await?;
    wait_ready(&services, "corpus-svc", ConditionStatus::True, T).await?;
    wait_ready(&policies, "corpus-policy", ConditionStatus::True, T).await?;

    let victims = Victims {
        namespace: victim_ns.name.clone(),
        cluster_name: victim_cluster_name.clone(),
        cluster_arn: status_arn(&v_clusters, "victim-cluster").await?,
        family: victim_family.clone(),
        td_arn: status_arn(&v_tds, "victim-td").await?,
        service_name: "victim-svc".into(),
    };
    let before = victim_state(&ecs, &aas, &victims).await?;
    // The snapshot holds what the victims were created with (so comparing it later means something).
    let fact = |k: &str| before.get(k).map_or("", String::as_str);
    ensure!(
        fact("service.desiredCount") == "1"
            && fact("cluster.tags").contains("\"team\": \"victim\"")
            && fact("taskDefinition.tags").contains("\"team\": \"victim\"")
            && fact("service.tags").contains("\"app\": \"victim-svc\"")
            && fact("scaling.targets") == "[]",
        "unexpected victim state before the corpus: {before:#?}"
    );

    let vars: BTreeMap<&str, String> = BTreeMap::from([
        ("SUBNET", net.subnets.first().context("a test subnet")?.clone()),
        (
            "SECURITY_GROUP",
            net.security_groups
                .first()
                .context("a test security group")?
                .clone(),
        ),
        ("RUN", unique("r")),
        ("VICTIM_NAMESPACE", victims.namespace.clone()),
        ("VICTIM_CLUSTER_NAME", victims.cluster_name.clone()),
        ("VICTIM_CLUSTER_ARN", victims.cluster_arn.clone()),
        ("VICTIM_FAMILY", victims.family.clone()),
        ("VICTIM_SERVICE_NAME", victims.service_name.clone()),
        ("BASE_CLUSTER_NAME", base_cluster_name.clone()),
    ]);
    let cases = load_corpus(&vars)?;

    // Admission: every case, every failure collected.
    let mut failures = Vec::new();
    for case in &cases {
        if let Some(f) = run_admission(&client, &ns.name, case).await {
            failures.push(f);
        }
    }
    // The controller's verdict on what admission let through.
    let accepted: Vec<&Case> = cases
        .iter()
        .filter(|c| matches!(c.expect, Expect::Stalled(_) | Expect::Waiting(_)))
        .collect();
    let admitted_failures: BTreeSet<String> = failures.iter().cloned().collect();
    for case in &accepted {
        if admitted_failures
            .iter()
            .any(|f| f.starts_with(&format!("{}:", case.file)))
        {
            continue;
        }
        if let Some(f) = wait_reported(&client, &ns.name, case, &victims.cluster_arn).await {
            failures.push(f);
        }
    }

    // No hot loop: once settled, stalled objects are left alone until they change (no resync happens
    // in this test), and waiting ones are looked at again only after their dependency recheck (60 s)
    // or their error backoff (2 s doubling, so at most a couple of times in the window). A loop would
    // show as hundreds of reconciles and AWS calls.
    let stalled_count = accepted
        .iter()
        .filter(|c| matches!(c.expect, Expect::Stalled(_)))
        .count();
    let waiting_count = accepted.len() - stalled_count;
    let mut stalled_rv = Vec::new();
    for case in accepted.iter().filter(|c| matches!(c.expect, Expect::Stalled(_))) {
        let api = dynamic_api(&client, &ns.name, &case.kind);
        if let Some(o) = api.get_opt(&case.name).await? {
            stalled_rv.push((case.file.clone(), o.metadata.resource_version));
        }
    }
    let m0 = scrape(&controller).await?;
    let start = std::time::Instant::now();
    tokio::time::sleep(WINDOW).await;
    let m1 = scrape(&controller).await?;
    let elapsed = start.elapsed().as_secs_f64();
    let delta = |name: &str| metric_sum(&m1, name) - metric_sum(&m0, name);
    for name in [
        "ecs_controller_reconciles_total",
        "ecs_controller_aws_calls_total",
    ] {
        ensure!(
            metric_sum(&m0, name) > 0.0,
            "no {name} samples in /metrics: the loop check would see nothing"
        );
    }
    let reconciles = delta("ecs_controller_reconciles_total");
    let aws_calls = delta("ecs_controller_aws_calls_total");
    // Status and finalizer writes, where the controller counts them.
    let kube_writes = delta("ecs_controller_kube_writes_total");
    // Each waiting object: at most 2 reconciles in the window, each with at most 2 AWS calls (a Describe
    // and the call that fails) and one status write. Stalled and Ready objects: none at all.
    let budget = 2.0 * waiting_count as f64;
    if reconciles > budget || aws_calls > 2.0 * budget || kube_writes > budget {
        failures.push(format!(
            "hot loop: {reconciles} reconciles, {aws_calls} AWS calls and {kube_writes} Kubernetes writes in \
             {elapsed:.1} s with {stalled_count} stalled and {waiting_count} waiting objects (budget {budget}, \
             {} and {budget})",
            2.0 * budget
        ));
    }
    for (file, rv) in &stalled_rv {
        let case = cases.iter().find(|c| &c.file == file).context("case")?;
        let now = dynamic_api(&client, &ns.name, &case.kind)
            .get(&case.name)
            .await?
            .metadata
            .resource_version;
        if &now != rv {
            failures.push(format!(
                "{file}: a stalled object was written to during the quiet window ({rv:?} -> {now:?})"
            ));
        }
    }
    // Settled verdicts hold (nothing flipped to another state during the window).
    for case in &accepted {
        if failures.iter().any(|f| f.starts_with(&format!("{}:", case.file))) {
            continue;
        }
        let obj = serde_json::to_value(dynamic_api(&client, &ns.name, &case.kind).get(&case.name).await?)?;
        match settled(&obj, &case.expect, &victims.cluster_arn) {
            Ok(Some(())) => {}
            Ok(None) => failures.push(format!(
                "{}: no longer {:?} after the window: {}",
                case.file,
                case.expect,
                conditions_summary(&obj)
            )),
            Err(e) => failures.push(format!("{}: {e:#}", case.file)),
        }
    }

    // Still alive, never panicked.
    let base = controller.http_base().await?;
    match http_get(&base, "/healthz").await {
        Ok((200, _)) => {}
        other => failures.push(format!("the controller is not healthy: {other:?}")),
    }
    if controller.log_text().contains("panicked") {
        failures.push("the controller panicked (see its log)".into());
    }

    // The victims: Ready, unchanged in Kubernetes and in AWS.
    if let Err(e) = assert_victims_ready(&victim_ns).await {
        failures.push(format!("{e:#}"));
    }
    let after = victim_state(&ecs, &aas, &victims).await?;
    for (k, v) in &before {
        if after.get(k) != Some(v) {
            failures.push(format!(
                "victim changed in AWS: {k}: {v} -> {}",
                after.get(k).map_or("(gone)", String::as_str)
            ));
        }
    }

    let by_kind = |k: &str| cases.iter().filter(|c| c.kind == k).count();
    eprintln!(
        "corpus: {} cases ({} EcsCluster, {} TaskDefinition, {} FargateService, {} ScalingPolicy, {} FargateTask); \
         {} stalled, {} waiting; quiet window: {reconciles} reconciles, {aws_calls} AWS calls, \
         {kube_writes} Kubernetes writes",
        cases.len(),
        by_kind("EcsCluster"),
        by_kind("TaskDefinition"),
        by_kind("FargateService"),
        by_kind("ScalingPolicy"),
        by_kind("FargateTask"),
        stalled_count,
        waiting_count,
    );
    ensure!(
        failures.is_empty(),
        "{} of {} corpus cases or checks failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    Ok(())
}
