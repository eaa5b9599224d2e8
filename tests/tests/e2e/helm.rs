//! The Helm chart (`charts/ecs-controller`) against the real kube-apiserver: lint, server-side dry runs
//! of what it renders, install / upgrade / uninstall, the values schema, the chart's CRDs against
//! `crds/`, and the controller running with exactly the chart's RBAC. Also `docs/iam-policy.json`
//! against the AWS operations the code calls.
//!
//! Needs `helm` and `kubectl` on PATH (`source .local-test/env`; `hack/build-tools.sh helm` builds helm).

use anyhow::{Context as _, Result, bail, ensure};
use ecs_controller::api::conditions::READY;
use ecs_controller::api::{ConditionStatus, EcsCluster, FargateService, ScalingPolicy, TaskDefinition};
use ecs_controller_e2e::fixtures::{
    cluster_manifest, network, scaling_policy_manifest, service_manifest, task_definition_manifest,
};
use ecs_controller_e2e::harness::*;
use ecs_controller_e2e::kinds::{crd_names, group, namespaced_plurals, plurals};
use kube::api::Api;
use serde::Deserialize as _;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(90);

fn chart() -> String {
    repo_root().join("charts/ecs-controller").display().to_string()
}

fn all_options_values() -> String {
    repo_root()
        .join("charts/ecs-controller/ci/all-options-values.yaml")
        .display()
        .to_string()
}

/// The Kubernetes version `helm template` and `helm lint` render for. helm built with `go install`
/// (hack/build-tools.sh) reports a default of v1.20, which the chart's `kubeVersion: >=1.30.0-0`
/// rejects, so pass the version the local environment runs (hack/versions.env). `helm install` asks
/// the API server instead.
fn kube_version() -> String {
    std::fs::read_to_string(repo_root().join("hack/versions.env"))
        .ok()
        .and_then(|text| {
            text.lines().find_map(|l| {
                l.strip_prefix("KUBERNETES_VERSION=")
                    .map(|v| v.trim().to_string())
            })
        })
        .unwrap_or_else(|| "v1.35.0".to_string())
}

struct Output {
    ok: bool,
    stdout: String,
    stderr: String,
}

impl Output {
    fn text(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// Runs `program args`, feeding `stdin` if given.
fn run(program: &str, args: &[&str], stdin: Option<&str>) -> Result<Output> {
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "`{program}` is not on PATH. Source the environment file (`source .local-test/env`, or .local/env \
             after `make env-up`); for helm, build it first with `hack/build-tools.sh helm` (it goes to \
             ~/.cache/ecs-controller/helm-<version>/, which hack/env-up.sh puts on PATH when it exists)"
        ),
        Err(e) => return Err(e).with_context(|| format!("starting {program}")),
    };
    // Write from a thread so a large input (the CRDs) cannot deadlock against the output pipes.
    let writer = match (stdin, child.stdin.take()) {
        (Some(input), Some(mut pipe)) => {
            let input = input.to_string();
            Some(std::thread::spawn(move || pipe.write_all(input.as_bytes())))
        }
        _ => None,
    };
    let out = child.wait_with_output()?;
    if let Some(writer) = writer {
        let _ = writer.join();
    }
    Ok(Output {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

fn helm(args: &[&str]) -> Result<Output> {
    run("helm", args, None)
}

/// Runs helm and fails with its output unless it succeeds; returns stdout.
fn helm_ok(args: &[&str]) -> Result<String> {
    let out = helm(args)?;
    ensure!(out.ok, "helm {} failed:\n{}", args.join(" "), out.text());
    Ok(out.stdout)
}

fn kubectl_ok(args: &[&str], stdin: Option<&str>) -> Result<String> {
    let out = run("kubectl", args, stdin)?;
    ensure!(out.ok, "kubectl {} failed:\n{}", args.join(" "), out.text());
    Ok(out.stdout)
}

/// `helm template RELEASE chart -n NAMESPACE --kube-version ... EXTRA...`
pub(super) fn template(release: &str, namespace: &str, extra: &[&str]) -> Result<String> {
    let version = kube_version();
    let chart = chart();
    let mut args = vec![
        "template",
        release,
        chart.as_str(),
        "--namespace",
        namespace,
        "--kube-version",
        version.as_str(),
    ];
    args.extend_from_slice(extra);
    helm_ok(&args)
}

/// The documents of a multi-document YAML stream, as JSON values (empty documents dropped).
pub(super) fn yaml_docs(text: &str) -> Result<Vec<Value>> {
    let mut docs = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(text) {
        let value = Value::deserialize(doc).context("parsing YAML")?;
        if !value.is_null() {
            docs.push(value);
        }
    }
    Ok(docs)
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or_default()
}

/// "Kind namespace/name" of each document, sorted: what a render contains.
fn inventory(docs: &[Value]) -> Vec<String> {
    let mut out: Vec<String> = docs
        .iter()
        .map(|d| {
            let ns = str_at(d, "/metadata/namespace");
            let name = str_at(d, "/metadata/name");
            if ns.is_empty() {
                format!("{} {name}", str_at(d, "/kind"))
            } else {
                format!("{} {ns}/{name}", str_at(d, "/kind"))
            }
        })
        .collect();
    out.sort();
    out
}

/// A unique release name (helm allows 53 characters; the chart adds "-ecs-controller").
fn release_name(prefix: &str) -> String {
    unique(prefix)
}

/// The local apiserver has no Prometheus Operator. To dry-run and install the chart's ServiceMonitor
/// for real, give it a minimal ServiceMonitor CRD (schema-less: it only has to be served), created
/// once and left in place -- unless a real one is already there, which is never touched.
fn ensure_service_monitor_crd() -> Result<()> {
    const NAME: &str = "servicemonitors.monitoring.coreos.com";
    let (exists, _) = kubectl(&["get", "crd", NAME, "-o", "name"])?;
    if !exists {
        let fixture = json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": NAME, "labels": {"ecs.kubefargate.dev/e2e-fixture": "true"}},
            "spec": {"group": "monitoring.coreos.com", "scope": "Namespaced",
                     "names": {"kind": "ServiceMonitor", "listKind": "ServiceMonitorList",
                               "plural": "servicemonitors", "singular": "servicemonitor"},
                     "versions": [{"name": "v1", "served": true, "storage": true,
                                   "schema": {"openAPIV3Schema": {"type": "object",
                                              "x-kubernetes-preserve-unknown-fields": true}}}]}
        });
        // Tests run in parallel: another one may create it first.
        let out = run("kubectl", &["create", "-f", "-"], Some(&fixture.to_string()))?;
        ensure!(
            out.ok || out.text().contains("AlreadyExists"),
            "creating the ServiceMonitor CRD fixture: {}",
            out.text()
        );
    }
    kubectl_ok(
        &[
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            &format!("crd/{NAME}"),
        ],
        None,
    )?;
    Ok(())
}

// --- a) lint ----------------------------------------------------------------------------------

#[test]
fn chart_lints_strictly_with_defaults_and_with_every_option() -> Result<()> {
    let chart = chart();
    let values = all_options_values();
    let version = kube_version();
    helm_ok(&["lint", "--strict", "--kube-version", &version, &chart])?;
    helm_ok(&[
        "lint",
        "--strict",
        "--kube-version",
        &version,
        "-f",
        &values,
        &chart,
    ])?;
    Ok(())
}

// --- b) render + server-side dry run ------------------------------------------------------------

#[tokio::test]
async fn rendered_chart_passes_a_server_side_dry_run_with_defaults_and_with_every_option() -> Result<()> {
    let client = kube().await?;
    let ns = TestNamespace::create(&client, "e2e-helm-tpl").await?;
    let release = release_name("tpl");

    // Defaults: the four CRDs (they exist already: this dry-runs an update), the ServiceAccount, the
    // ClusterRole and its binding, the leader-election Role and binding, the metrics Service, the
    // Deployment.
    let rendered = template(&release, &ns.name, &[])?;
    let full = format!("{release}-ecs-controller");
    let mut want = vec![
        format!("ClusterRole {full}"),
        format!("ClusterRole {full}-profiles"),
        format!("ClusterRoleBinding {full}"),
        format!("ClusterRoleBinding {full}-profiles"),
        format!("Deployment {}/{full}", ns.name),
        format!("Role {}/{full}-leader-election", ns.name),
        format!("RoleBinding {}/{full}-leader-election", ns.name),
        format!("Service {}/{full}-metrics", ns.name),
        format!("ServiceAccount {}/{full}", ns.name),
    ];
    want.extend(
        crd_names()
            .iter()
            .map(|c| format!("CustomResourceDefinition {c}")),
    );
    want.sort();
    assert_eq!(
        inventory(&yaml_docs(&rendered)?),
        want,
        "what the defaults render"
    );
    kubectl_ok(&["apply", "--dry-run=server", "-f", "-"], Some(&rendered))?;

    // Every option. Its watched namespaces must exist for the Roles in them: use two fresh ones.
    // The ServiceMonitor needs its CRD: a minimal fixture is installed (see ensure_service_monitor_crd)
    // rather than skipping that document.
    ensure_service_monitor_crd()?;
    let (a, b) = (
        TestNamespace::create(&client, "e2e-helm-tpl-a").await?,
        TestNamespace::create(&client, "e2e-helm-tpl-b").await?,
    );
    let watched = format!("controller.watchNamespaces=[\"{}\",\"{}\"]", a.name, b.name);
    let values = all_options_values();
    let rendered = template(&release, &ns.name, &["-f", &values, "--set-json", &watched])?;
    let docs = yaml_docs(&rendered)?;
    let kinds: BTreeSet<&str> = docs.iter().map(|d| str_at(d, "/kind")).collect();
    for kind in [
        "CustomResourceDefinition",
        "Deployment",
        "MutatingAdmissionPolicy",
        "MutatingAdmissionPolicyBinding",
        "PodDisruptionBudget",
        "Role",
        "RoleBinding",
        "Service",
        "ServiceAccount",
        "ServiceMonitor",
    ] {
        ensure!(
            kinds.contains(kind),
            "{kind} missing from the all-options render: {kinds:?}"
        );
    }
    // With watchNamespaces, the only cluster-wide RBAC is the one for the cluster-scoped kinds
    // (FargateProfile: read and status).
    let cluster_wide: Vec<&str> = docs
        .iter()
        .filter(|d| matches!(str_at(d, "/kind"), "ClusterRole" | "ClusterRoleBinding"))
        .map(|d| str_at(d, "/metadata/name"))
        .collect();
    ensure!(
        cluster_wide.len() == 2 && cluster_wide.iter().all(|n| n.ends_with("-profiles")),
        "watchNamespaces set: only the profiles' cluster-wide RBAC expected, got {cluster_wide:?}"
    );
    let roles_in: BTreeSet<&str> = docs
        .iter()
        .filter(|d| str_at(d, "/kind") == "Role")
        .map(|d| str_at(d, "/metadata/namespace"))
        .collect();
    assert_eq!(
        roles_in,
        BTreeSet::from([a.name.as_str(), b.name.as_str(), ns.name.as_str()]),
        "a Role in each watched namespace plus the leader-election Role in the release namespace"
    );
    let deployment = docs
        .iter()
        .find(|d| str_at(d, "/kind") == "Deployment")
        .context("Deployment")?;
    let args: Vec<&str> = deployment
        .pointer("/spec/template/spec/containers/0/args")
        .and_then(Value::as_array)
        .context("args")?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for arg in [
        "run",
        "--region=eu-west-1",
        "--leader-elect",
        "--log-format=text",
        "--concurrency=4",
        "--aws-max-rps=10",
        "--aws-rate-share=30",
        "--metrics-bind-address=0.0.0.0:9090",
        "--leader-election-lease-name=ecs-controller-all-options",
        "--aws-timeout=15s",
        "--default-identity=deny",
    ] {
        ensure!(args.contains(&arg), "{arg} missing from {args:?}");
    }
    // The account mapping: a ConfigMap of the release namespace, named in --account-map.
    let map = args
        .iter()
        .find_map(|a| a.strip_prefix("--account-map="))
        .context("--account-map missing")?;
    let (_, map_name) = map.split_once('/').context("namespace/name")?;
    let config_map = docs
        .iter()
        .find(|d| str_at(d, "/kind") == "ConfigMap" && str_at(d, "/metadata/name") == map_name)
        .context("the account ConfigMap")?;
    ensure!(
        config_map.pointer("/data/team-b").and_then(Value::as_str)
            == Some("arn:aws:iam::222222222222:role/ecs-controller"),
        "{config_map}"
    );
    let watch = format!("--watch-namespace={},{}", a.name, b.name);
    ensure!(args.contains(&watch.as_str()), "{watch} missing from {args:?}");
    kubectl_ok(&["apply", "--dry-run=server", "-f", "-"], Some(&rendered))?;
    Ok(())
}

// --- c) install, upgrade, uninstall -------------------------------------------------------------

#[tokio::test]
async fn install_upgrade_and_uninstall_a_release() -> Result<()> {
    let client = kube().await?;
    let ns = TestNamespace::create(&client, "e2e-helm-install").await?;
    let release = release_name("inst");
    let full = format!("{release}-ecs-controller");
    let chart = chart();
    ensure_service_monitor_crd()?;

    // crds.install=false: the CRDs are cluster-wide and shared with every test running in parallel;
    // hack/install-crds.sh created them with server-side apply, so helm would refuse to adopt them
    // (no meta.helm.sh ownership), and a release owning them would make the tests depend on each
    // other. The crds.install=true path (and its helm.sh/resource-policy: keep) is covered by
    // rendering: chart_crds_equal_crds_dir and the dry run above.
    helm_ok(&[
        "install",
        &release,
        &chart,
        "--namespace",
        &ns.name,
        "--set",
        "crds.install=false",
        "--set",
        "podDisruptionBudget.enabled=true",
        "--set",
        "metrics.serviceMonitor.enabled=true",
    ])?;
    let namespaced = [
        format!("deployment.apps/{full}"),
        format!("serviceaccount/{full}"),
        format!("role.rbac.authorization.k8s.io/{full}-leader-election"),
        format!("rolebinding.rbac.authorization.k8s.io/{full}-leader-election"),
        format!("service/{full}-metrics"),
        format!("poddisruptionbudget.policy/{full}"),
        format!("servicemonitor.monitoring.coreos.com/{full}"),
    ];
    let cluster_wide = [
        format!("clusterrole.rbac.authorization.k8s.io/{full}"),
        format!("clusterrolebinding.rbac.authorization.k8s.io/{full}"),
    ];
    let get_names = |refs: &[String], namespace: Option<&str>| -> Result<Vec<String>> {
        let mut args = vec!["get", "--ignore-not-found", "-o", "name"];
        if let Some(ns) = namespace {
            args.extend(["-n", ns]);
        }
        args.extend(refs.iter().map(String::as_str));
        let mut names: Vec<String> = kubectl_ok(&args, None)?.lines().map(str::to_string).collect();
        names.sort();
        Ok(names)
    };
    let sorted = |refs: &[String]| {
        let mut v = refs.to_vec();
        v.sort();
        v
    };
    assert_eq!(get_names(&namespaced, Some(&ns.name))?, sorted(&namespaced));
    assert_eq!(get_names(&cluster_wide, None)?, sorted(&cluster_wide));

    let deployment: Value = serde_json::from_str(&kubectl_ok(
        &["get", "-n", &ns.name, &format!("deployment/{full}"), "-o", "json"],
        None,
    )?)?;
    assert_eq!(deployment.pointer("/spec/replicas"), Some(&json!(2)));
    assert_eq!(
        str_at(&deployment, "/spec/template/spec/serviceAccountName"),
        full.as_str()
    );
    assert_eq!(
        deployment.pointer("/spec/template/spec/securityContext/runAsUser"),
        Some(&json!(65532))
    );

    // Upgrade with a changed value.
    helm_ok(&[
        "upgrade",
        &release,
        &chart,
        "--namespace",
        &ns.name,
        "--reuse-values",
        "--set",
        "replicaCount=3",
    ])?;
    let replicas = kubectl_ok(
        &[
            "get",
            "-n",
            &ns.name,
            &format!("deployment/{full}"),
            "-o",
            "jsonpath={.spec.replicas}",
        ],
        None,
    )?;
    assert_eq!(replicas.trim(), "3", "the upgrade changed the Deployment");
    let status: Value = serde_json::from_str(&helm_ok(&["status", &release, "-n", &ns.name, "-o", "json"])?)?;
    assert_eq!(status.pointer("/version"), Some(&json!(2)), "revision 2");

    // Uninstall: everything goes (helm deletes with background propagation, nothing carries a
    // finalizer, and the environment's kube-controller-manager runs no deployment controller, so
    // there are no ReplicaSets or Pods to collect); the CRDs stay.
    helm_ok(&["uninstall", &release, "--namespace", &ns.name])?;
    eventually(
        "the release's objects to disappear",
        Duration::from_secs(30),
        || async {
            let left: Vec<String> = get_names(&namespaced, Some(&ns.name))?
                .into_iter()
                .chain(get_names(&cluster_wide, None)?)
                .collect();
            Ok(left.is_empty().then_some(()))
        },
    )
    .await?;
    let mut args = vec!["get", "crd", "-o", "name"];
    let crds = crd_names();
    args.extend(crds.iter().map(String::as_str));
    let left = kubectl_ok(&args, None)?;
    assert_eq!(
        left.lines().count(),
        crds.len(),
        "the CRDs survive the uninstall: {left}"
    );
    Ok(())
}

// --- d) the values schema ---------------------------------------------------------------------

#[test]
fn values_schema_rejects_unknown_keys_and_bad_values() -> Result<()> {
    template("schema", "default", &[])?;
    template("schema", "default", &["-f", &all_options_values()])?;
    for (set, want) in [
        ("nonsense=1", "additional properties 'nonsense' not allowed"),
        (
            "controller.nonsense=1",
            "additional properties 'nonsense' not allowed",
        ),
        (
            "serviceAccount.annotation.x=y",
            "additional properties 'annotation' not allowed",
        ),
        ("image.pullPolicy=Sometimes", "/image/pullPolicy"),
        ("controller.logFormat=xml", "/controller/logFormat"),
        ("replicaCount=two", "/replicaCount"),
    ] {
        let version = kube_version();
        let chart = chart();
        let out = helm(&[
            "template",
            "schema",
            &chart,
            "--kube-version",
            &version,
            "--set",
            set,
        ])?;
        ensure!(!out.ok, "--set {set} was accepted");
        let text = out.text();
        ensure!(
            text.contains("schema") && text.contains(want),
            "--set {set}: expected a schema error mentioning {want:?}, got:\n{text}"
        );
    }
    Ok(())
}

// --- e) the chart's CRDs are crds/ --------------------------------------------------------------

#[test]
fn chart_crds_equal_crds_dir() -> Result<()> {
    let path = repo_root().join("crds/ecs.kubefargate.dev.yaml");
    let want = yaml_docs(&std::fs::read_to_string(&path)?)?;
    ensure!(
        want.len() == crd_names().len(),
        "{} holds {} documents",
        path.display(),
        want.len()
    );
    let stale = "the chart's CRDs differ from crds/: run hack/sync-chart-crds.sh";

    let rendered = yaml_docs(&template(
        "crds",
        "default",
        &["--show-only", "templates/crds.yaml"],
    )?)?;
    let stripped: Vec<Value> = rendered
        .into_iter()
        .map(|mut doc| {
            let name = str_at(&doc, "/metadata/name").to_string();
            let annotations = doc
                .pointer_mut("/metadata/annotations")
                .and_then(Value::as_object_mut)
                .with_context(|| format!("no annotations on {name}"))?;
            let keep = annotations.remove("helm.sh/resource-policy");
            ensure!(
                keep == Some(json!("keep")),
                "helm.sh/resource-policy is {keep:?}, want \"keep\""
            );
            if annotations.is_empty() {
                doc["metadata"].as_object_mut().map(|m| m.remove("annotations"));
            }
            Ok(doc)
        })
        .collect::<Result<_>>()?;
    ensure!(stripped == want, "{stale}");

    // crds.keep=false: exactly crds/, no annotation added.
    let unkept = yaml_docs(&template(
        "crds",
        "default",
        &["--show-only", "templates/crds.yaml", "--set", "crds.keep=false"],
    )?)?;
    ensure!(unkept == want, "{stale} (crds.keep=false)");

    // crds.install=false: no CRD at all.
    let without = yaml_docs(&template("crds", "default", &["--set", "crds.install=false"])?)?;
    ensure!(
        without
            .iter()
            .all(|d| str_at(d, "/kind") != "CustomResourceDefinition"),
        "crds.install=false still renders CRDs"
    );
    Ok(())
}

// --- RBAC, statically: exactly the documented rules, no wildcards --------------------------------

/// (apiGroup, resource) -> verbs, over a set of rules (resourceNames noted in the key).
fn rule_table(rules: &[Value]) -> BTreeMap<String, BTreeSet<String>> {
    let strings = |v: &Value, key: &str| -> Vec<String> {
        v.get(key)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    };
    let mut table: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for rule in rules {
        let names = strings(rule, "resourceNames");
        for group in strings(rule, "apiGroups") {
            for resource in strings(rule, "resources") {
                let key = if names.is_empty() {
                    format!("{group}/{resource}")
                } else {
                    format!("{group}/{resource}[{}]", names.join(","))
                };
                table.entry(key).or_default().extend(strings(rule, "verbs"));
            }
        }
    }
    table
}

#[test]
fn rbac_is_exactly_what_the_controller_needs() -> Result<()> {
    let mut controller_rules: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let verbs = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    let g = group();
    for plural in namespaced_plurals() {
        controller_rules.insert(
            format!("{g}/{plural}"),
            verbs(&["get", "list", "watch", "patch", "update"]),
        );
        controller_rules.insert(format!("{g}/{plural}/status"), verbs(&["get", "patch", "update"]));
        controller_rules.insert(format!("{g}/{plural}/finalizers"), verbs(&["update", "patch"]));
    }
    // A finished FargateTask is deleted when its ttlSecondsAfterFinished passes, as a Job's TTL does.
    controller_rules
        .entry(format!("{g}/fargatetasks"))
        .or_default()
        .insert("delete".to_string());
    controller_rules.insert("events.k8s.io/events".into(), verbs(&["create", "patch"]));
    // Jobs run on Fargate: their status and the finalizer, and the service account naming the role.
    controller_rules.insert("batch/jobs".into(), verbs(&["get", "list", "watch", "patch"]));
    controller_rules.insert("batch/jobs/status".into(), verbs(&["patch"]));
    controller_rules.insert("/serviceaccounts".into(), verbs(&["get"]));
    let lease_rules = BTreeMap::from([
        ("coordination.k8s.io/leases".to_string(), verbs(&["create"])),
        (
            "coordination.k8s.io/leases[ecs-controller]".to_string(),
            verbs(&["get", "update", "patch", "watch"]),
        ),
    ]);

    for (extra, controller_kind) in [
        (vec![], "ClusterRole"),
        (
            vec!["--set-json", "controller.watchNamespaces=[\"team-a\",\"team-b\"]"],
            "Role",
        ),
    ] {
        let mut args = vec!["--show-only", "templates/rbac.yaml"];
        args.extend(extra.iter().copied());
        let docs = yaml_docs(&template("rbac", "ecs-system", &args)?)?;
        for doc in &docs {
            for rule in doc.get("rules").and_then(Value::as_array).into_iter().flatten() {
                let text = rule.to_string();
                ensure!(!text.contains("\"*\""), "wildcard in {text}");
            }
        }
        let rules_of =
            |pred: &dyn Fn(&Value) -> bool| -> Vec<&Value> { docs.iter().filter(|d| pred(d)).collect() };
        let controller_roles = rules_of(&|d| {
            str_at(d, "/kind") == controller_kind
                && !str_at(d, "/metadata/name").ends_with("-leader-election")
                && !str_at(d, "/metadata/name").ends_with("-profiles")
        });
        // The cluster-scoped kinds (FargateProfile): read and status only, cluster-wide in both modes.
        let cluster_roles = rules_of(&|d| {
            str_at(d, "/kind") == "ClusterRole" && str_at(d, "/metadata/name").ends_with("-profiles")
        });
        ensure!(
            cluster_roles.len() == 1,
            "one ClusterRole for the cluster-scoped kinds"
        );
        let cluster_scoped: Vec<String> = plurals()
            .into_iter()
            .filter(|p| !namespaced_plurals().contains(p))
            .collect();
        let mut want_cluster = BTreeMap::new();
        for plural in &cluster_scoped {
            want_cluster.insert(format!("{g}/{plural}"), verbs(&["get", "list", "watch"]));
            want_cluster.insert(format!("{g}/{plural}/status"), verbs(&["get", "patch", "update"]));
        }
        let rules = cluster_roles[0]["rules"].as_array().cloned().unwrap_or_default();
        assert_eq!(rule_table(&rules), want_cluster, "cluster-scoped kinds' rules");
        let expected_count = if controller_kind == "Role" { 2 } else { 1 };
        ensure!(
            controller_roles.len() == expected_count,
            "{expected_count} {controller_kind} expected, got {}",
            controller_roles.len()
        );
        for role in controller_roles {
            let rules = role["rules"].as_array().cloned().unwrap_or_default();
            assert_eq!(rule_table(&rules), controller_rules, "{controller_kind} rules");
        }
        let lease = rules_of(&|d| {
            str_at(d, "/kind") == "Role" && str_at(d, "/metadata/name").ends_with("-leader-election")
        });
        ensure!(lease.len() == 1, "one leader-election Role expected");
        assert_eq!(str_at(lease[0], "/metadata/namespace"), "ecs-system");
        let rules = lease[0]["rules"].as_array().cloned().unwrap_or_default();
        assert_eq!(rule_table(&rules), lease_rules, "leader-election rules");
        let kinds: BTreeSet<&str> = docs.iter().map(|d| str_at(d, "/kind")).collect();
        // Both modes: the controller's (Cluster)Role, the profiles' ClusterRole, the Lease's Role.
        let want = BTreeSet::from(["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"]);
        assert_eq!(kinds, want, "no other RBAC objects");
    }
    // Without leader election there is no Lease access at all.
    let docs = yaml_docs(&template(
        "rbac",
        "ecs-system",
        &[
            "--show-only",
            "templates/rbac.yaml",
            "--set",
            "controller.leaderElection.enabled=false",
            "--set",
            "replicaCount=1",
        ],
    )?)?;
    ensure!(
        docs.iter()
            .all(|d| !d.to_string().contains("coordination.k8s.io")),
        "lease rules without leader election"
    );
    Ok(())
}

// --- f) the chart's RBAC suffices for the real controller, and grants no more ---------------------

/// Deletes what was applied from a rendered file (cluster-scoped RBAC outlives the test namespaces).
struct AppliedManifests(PathBuf);

impl Drop for AppliedManifests {
    fn drop(&mut self) {
        let _ = Command::new("kubectl")
            .args(["delete", "--ignore-not-found", "--wait=false", "-f"])
            .arg(&self.0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A kubeconfig for the apiserver of $KUBECONFIG that authenticates with `token`.
fn token_kubeconfig(token: &str, path: &PathBuf) -> Result<()> {
    let admin: Value = serde_json::from_str(&kubectl_ok(
        &["config", "view", "--raw", "--minify", "-o", "json"],
        None,
    )?)?;
    let cluster = admin
        .pointer("/clusters/0/cluster")
        .context("no cluster in $KUBECONFIG")?;
    let mut entry = json!({"server": cluster.get("server").context("no server in $KUBECONFIG")?});
    for key in [
        "certificate-authority-data",
        "certificate-authority",
        "tls-server-name",
    ] {
        if let Some(v) = cluster.get(key) {
            entry[key] = v.clone();
        }
    }
    let config = json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "local", "cluster": entry}],
        "users": [{"name": "controller", "user": {"token": token}}],
        "contexts": [{"name": "controller", "context": {"cluster": "local", "user": "controller"}}],
        "current-context": "controller",
    });
    std::fs::write(path, serde_json::to_vec_pretty(&config)?)?;
    Ok(())
}

/// The first line of a controller log where the API server refused a request.
fn refusal(log: &str) -> Option<String> {
    log.lines()
        .find(|l| l.to_lowercase().contains("forbidden"))
        .map(str::to_string)
}

/// Like `eventually`, but fails at once when the controller's log shows a refusal (missing RBAC
/// shows as a retry loop, not as an exit, so waiting out the timeout would only hide the cause).
async fn until<V, F, Fut>(controller: &ControllerProcess, what: &str, mut check: F) -> Result<V>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<V>>>,
{
    let start = Instant::now();
    let mut last: String;
    loop {
        if let Some(line) = refusal(&controller.log_text()) {
            bail!("waiting for {what}: the controller was refused by the API server:\n{line}");
        }
        match check().await {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => last = "not yet".into(),
            Err(e) => last = format!("{e:#}"),
        }
        if start.elapsed() > T {
            bail!("timed out after {T:?} waiting for {what}: {last}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Waits for Ready=True at the object's current generation; returns the object.
async fn ready<K>(controller: &ControllerProcess, api: &Api<K>, name: &str) -> Result<Value>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug + serde::Serialize,
{
    until(controller, &format!("{name} to be Ready"), || async {
        let obj = serde_json::to_value(api.get(name).await?)?;
        let generation = obj.pointer("/metadata/generation").and_then(Value::as_i64);
        Ok(condition(&obj, READY)
            .filter(|c| c.status == ConditionStatus::True && c.observed_generation == generation)
            .map(|_| obj.clone()))
    })
    .await
}

/// Installs only the chart's ServiceAccount and RBAC, runs the controller binary with that service
/// account's token, and drives every kind through create, update and delete.
async fn controller_runs_with_only_the_charts_rbac(namespaced: bool) -> Result<()> {
    let client = kube().await?;
    let release_ns = TestNamespace::create(&client, "e2e-helm-rbac").await?;
    let work = TestNamespace::create(&client, "e2e-helm-work").await?;
    let release = release_name("rbac");
    let sa = format!("{release}-ecs-controller");
    let lease = "ecs-controller";

    let watched = format!("controller.watchNamespaces=[\"{}\"]", work.name);
    let mut args = vec![
        "--set",
        "crds.install=false",
        "--show-only",
        "templates/serviceaccount.yaml",
        "--show-only",
        "templates/rbac.yaml",
    ];
    if namespaced {
        args.extend(["--set-json", watched.as_str()]);
    }
    let rendered = template(&release, &release_ns.name, &args)?;
    let file = std::env::temp_dir().join(format!("{}.rbac.yaml", unique(&release)));
    std::fs::write(&file, &rendered)?;
    let _applied = AppliedManifests(file.clone());
    kubectl_ok(&["apply", "-f", file.to_str().context("path")?], None)?;

    let token = kubectl_ok(
        &["create", "token", &sa, "-n", &release_ns.name, "--duration=1h"],
        None,
    )?;
    let kubeconfig = std::env::temp_dir().join(format!("{}.kubeconfig", unique(&release)));
    token_kubeconfig(token.trim(), &kubeconfig)?;
    let kc = kubeconfig.to_str().context("path")?.to_string();

    // It is the service account, and it cannot do what the chart does not grant.
    let whoami = kubectl_ok(
        &[
            "--kubeconfig",
            &kc,
            "auth",
            "whoami",
            "-o",
            "jsonpath={.status.userInfo.username}",
        ],
        None,
    )?;
    assert_eq!(
        whoami.trim(),
        format!("system:serviceaccount:{}:{sa}", release_ns.name)
    );
    let out = run("kubectl", &["--kubeconfig", &kc, "get", "secrets", "-A"], None)?;
    ensure!(
        !out.ok && out.text().to_lowercase().contains("forbidden"),
        "the service account can list secrets: {}",
        out.text()
    );
    for (verb, resource, ns) in [
        ("create", "ecsclusters.ecs.kubefargate.dev", work.name.as_str()),
        (
            "delete",
            "fargateservices.ecs.kubefargate.dev",
            work.name.as_str(),
        ),
        ("list", "pods", work.name.as_str()),
        ("get", "configmaps", release_ns.name.as_str()),
        ("list", "leases.coordination.k8s.io", release_ns.name.as_str()),
    ] {
        let out = run(
            "kubectl",
            &["--kubeconfig", &kc, "auth", "can-i", verb, resource, "-n", ns],
            None,
        )?;
        ensure!(
            out.stdout.trim() == "no",
            "the service account can {verb} {resource} in {ns}: {}",
            out.text()
        );
    }
    if namespaced {
        let out = run(
            "kubectl",
            &[
                "--kubeconfig",
                &kc,
                "auth",
                "can-i",
                "list",
                "ecsclusters.ecs.kubefargate.dev",
                "-n",
                "default",
            ],
            None,
        )?;
        ensure!(
            out.stdout.trim() == "no",
            "namespaced RBAC reaches `default`: {}",
            out.text()
        );
    }

    // The real controller, with nothing but that token.
    let help = run(
        controller_binary().to_str().context("path")?,
        &["run", "--help"],
        None,
    )?
    .text();
    let mut extra: Vec<String> = Vec::new();
    let leader_election = help.contains("--leader-elect");
    if leader_election {
        extra.extend([
            "--leader-elect".into(),
            "--leader-election-namespace".into(),
            release_ns.name.clone(),
            "--leader-election-lease-name".into(),
            lease.into(),
        ]);
    }
    let extra_refs: Vec<&str> = extra.iter().map(String::as_str).collect();
    let controller =
        ControllerProcess::start_with_env(&work.name, &extra_refs, &[("KUBECONFIG", kc.as_str())])?;
    let result: Result<()> = async {
        if leader_election {
            until(&controller, "the controller to hold the Lease", || async {
                let out = run(
                    "kubectl",
                    &[
                        "get",
                        "lease",
                        lease,
                        "-n",
                        &release_ns.name,
                        "-o",
                        "jsonpath={.spec.holderIdentity}",
                    ],
                    None,
                )?;
                Ok((out.ok && !out.stdout.trim().is_empty()).then_some(()))
            })
            .await?;
        }

        // Create all four kinds; each becomes Ready.
        let net = network()?;
        let (clusters, tds, services, policies): (
            Api<EcsCluster>,
            Api<TaskDefinition>,
            Api<FargateService>,
            Api<ScalingPolicy>,
        ) = (work.api(), work.api(), work.api(), work.api());
        let cluster_name = unique("e2e-helm");
        let family = unique("e2e-helm-web");
        apply(&clusters, cluster_manifest("main", &cluster_name)).await?;
        apply(&tds, task_definition_manifest("web", &family, "nginx:1.27")).await?;
        apply(&services, service_manifest("web", "main", "web", &net, 1)).await?;
        apply(&policies, scaling_policy_manifest("web", "web", 60.0)).await?;
        ready(&controller, &clusters, "main").await?;
        ready(&controller, &tds, "web").await?;
        ready(&controller, &services, "web").await?;
        ready(&controller, &policies, "web").await?;

        // Update each; each is Ready again for its new generation.
        let mut cluster = cluster_manifest("main", &cluster_name);
        cluster["spec"]["tags"] = json!([{"key": "team", "value": "platform"}]);
        apply(&clusters, cluster).await?;
        apply(&tds, task_definition_manifest("web", &family, "nginx:1.28")).await?;
        let mut service = service_manifest("web", "main", "web", &net, 1);
        service["spec"]["tags"] =
            json!([{"key": "app", "value": "web"}, {"key": "tier", "value": "frontend"}]);
        apply(&services, service).await?;
        apply(&policies, scaling_policy_manifest("web", "web", 50.0)).await?;
        ready(&controller, &clusters, "main").await?;
        let td = ready(&controller, &tds, "web").await?;
        ensure!(
            str_at(&td, "/status/arn").ends_with(":2"),
            "a second revision: {}",
            str_at(&td, "/status/arn")
        );
        ready(&controller, &policies, "web").await?;
        until(&controller, "the service to run revision 2", || async {
            let obj = ready(&controller, &services, "web").await?;
            Ok(str_at(&obj, "/status/taskDefinitionArn")
                .ends_with(":2")
                .then_some(()))
        })
        .await?;

        // Delete all four at once; the controller orders the AWS side and removes its finalizers.
        policies.delete("web", &Default::default()).await?;
        services.delete("web", &Default::default()).await?;
        tds.delete("web", &Default::default()).await?;
        clusters.delete("main", &Default::default()).await?;
        until(&controller, "all four objects to disappear", || async {
            let left = [
                policies.get_opt("web").await?.is_some(),
                services.get_opt("web").await?.is_some(),
                tds.get_opt("web").await?.is_some(),
                clusters.get_opt("main").await?.is_some(),
            ];
            Ok((!left.contains(&true)).then_some(()))
        })
        .await?;

        // The Events it recorded (events.k8s.io/v1) went through too.
        let events = kubectl_ok(
            &["get", "events.events.k8s.io", "-n", &work.name, "-o", "name"],
            None,
        )?;
        ensure!(!events.trim().is_empty(), "no Event recorded in {}", work.name);

        // Not a single refusal over the whole run (retries included).
        if let Some(line) = refusal(&controller.log_text()) {
            bail!("the controller was refused with the chart's RBAC:\n{line}");
        }
        Ok(())
    }
    .await;
    let _ = std::fs::remove_file(&kubeconfig);
    result.with_context(|| {
        let log = controller.log_text();
        let lines: Vec<&str> = log.lines().collect();
        format!(
            "controller log {} (last 40 lines):\n{}",
            controller.log.display(),
            lines[lines.len().saturating_sub(40)..].join("\n")
        )
    })
}

#[tokio::test]
async fn controller_runs_with_only_the_charts_cluster_role() -> Result<()> {
    controller_runs_with_only_the_charts_rbac(false).await
}

#[tokio::test]
async fn controller_runs_with_only_the_charts_namespaced_roles() -> Result<()> {
    controller_runs_with_only_the_charts_rbac(true).await
}

// --- g) the IAM policy lists exactly what the code calls ----------------------------------------

/// Every AWS operation the controller declares (`ecs_controller::aws::operations`), as IAM actions.
/// Every call goes through `aws::call` with one of them, so this is every action the code can use.
fn iam_actions_called_by_the_code() -> BTreeSet<String> {
    ecs_controller::aws::operations::ALL
        .iter()
        .map(|o| o.iam_action())
        .collect()
}

#[test]
fn iam_policy_lists_exactly_the_operations_the_code_calls() -> Result<()> {
    let called = iam_actions_called_by_the_code();
    let path = repo_root().join("docs/iam-policy.json");
    let policy: Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
    let mut allowed = BTreeSet::new();
    for statement in policy["Statement"].as_array().context("Statement")? {
        assert_eq!(statement["Effect"], "Allow");
        let actions: Vec<&str> = match &statement["Action"] {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            other => bail!("Action is {other}"),
        };
        for action in actions {
            ensure!(!action.contains('*'), "wildcard action {action}");
            ensure!(allowed.insert(action.to_string()), "{action} listed twice");
            match action {
                "iam:PassRole" => assert_eq!(
                    statement.pointer("/Condition/StringEquals/iam:PassedToService"),
                    Some(&json!("ecs-tasks.amazonaws.com")),
                    "iam:PassRole only to ECS tasks"
                ),
                "iam:CreateServiceLinkedRole" => {
                    let mut services: Vec<&str> = statement
                        .pointer("/Condition/StringEquals/iam:AWSServiceName")
                        .and_then(Value::as_array)
                        .context("iam:AWSServiceName condition")?
                        .iter()
                        .filter_map(Value::as_str)
                        .collect();
                    services.sort();
                    assert_eq!(
                        services,
                        ["ecs.amazonaws.com", "ecs.application-autoscaling.amazonaws.com"]
                    );
                }
                _ => {}
            }
        }
    }
    let for_aws_apis: BTreeSet<String> = allowed
        .iter()
        .filter(|a| a.starts_with("ecs:") || a.starts_with("application-autoscaling:"))
        .cloned()
        .collect();
    let missing: Vec<_> = called.difference(&for_aws_apis).collect();
    let unused: Vec<_> = for_aws_apis.difference(&called).collect();
    ensure!(
        missing.is_empty() && unused.is_empty(),
        "{} is out of date: add {missing:?}, remove {unused:?} (from controller/src/aws/operations.rs)",
        path.display()
    );
    // Beyond the APIs the controller calls, only what AWS checks on its behalf (see docs/iam.md).
    let others: BTreeSet<&str> = allowed
        .iter()
        .map(String::as_str)
        .filter(|a| !for_aws_apis.contains(*a))
        .collect();
    assert_eq!(
        others,
        BTreeSet::from([
            "cloudwatch:DeleteAlarms",
            "cloudwatch:DescribeAlarms",
            "cloudwatch:PutMetricAlarm",
            "iam:CreateServiceLinkedRole",
            "iam:PassRole",
        ]),
        "actions beyond the controller's own calls (explain any new one in docs/iam.md)"
    );
    Ok(())
}

// --- g) the opt-in MutatingAdmissionPolicy: teams only label their Jobs ---------------------------

#[tokio::test]
async fn the_charts_admission_policy_sets_managed_by_on_labelled_jobs_only() -> Result<()> {
    let client = kube().await?;
    let ns = TestNamespace::create(&client, "e2e-helm-map").await?;
    // Off by default: nothing rendered.
    let off = template(
        "ecs-map",
        "ecs-system",
        &["--show-only", "templates/jobs-managed-by.yaml"],
    );
    ensure!(
        off.is_err() || off.as_deref().is_ok_and(|t| t.trim().is_empty()),
        "rendered without the value: {off:?}"
    );
    let release = unique("map");
    let rendered = template(
        &release,
        "ecs-system",
        &[
            "--show-only",
            "templates/jobs-managed-by.yaml",
            "--set",
            "jobs.injectManagedBy=true",
        ],
    )?;
    let file = std::env::temp_dir().join(format!("{release}-map.yaml"));
    std::fs::write(&file, &rendered)?;
    let (ok, out) = kubectl(&["apply", "-f", &file.to_string_lossy()])?;
    ensure!(ok, "kubectl apply: {out}");
    let _applied = AppliedManifests(file.clone());
    let jobs: Api<k8s_openapi::api::batch::v1::Job> = ns.api();
    let job = |name: &str, labels: serde_json::Value| -> Result<k8s_openapi::api::batch::v1::Job> {
        Ok(serde_json::from_value(json!({
            "metadata": {"name": name, "labels": labels},
            "spec": {"suspend": true, "template": {"spec": {"restartPolicy": "Never",
                "containers": [{"name": "app", "image": "busybox:1.37"}]}}}}))?)
    };
    // The policy's bindings become active a moment after they are created: retry the first Job.
    let labelled = eventually(
        "a labelled Job gets managedBy",
        Duration::from_secs(60),
        || async {
            let name = unique("labelled");
            let created = jobs
                .create(
                    &Default::default(),
                    &job(&name, json!({"ecs.kubefargate.dev/fargate": "true"}))?,
                )
                .await?;
            let managed = created.spec.as_ref().and_then(|s| s.managed_by.clone());
            if managed.is_none() {
                jobs.delete(&name, &Default::default()).await?;
            }
            Ok(managed)
        },
    )
    .await?;
    assert_eq!(labelled, "ecs.kubefargate.dev/fargate");
    let plain = jobs
        .create(&Default::default(), &job("plain", json!({"team": "a"}))?)
        .await?;
    assert_eq!(
        plain.spec.and_then(|s| s.managed_by),
        None,
        "an unlabelled Job is left alone"
    );
    Ok(())
}
