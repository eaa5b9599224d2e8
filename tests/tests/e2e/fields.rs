//! Every spec field of every kind reaches AWS. `tests/fields/every-field.yaml` sets every field (a
//! second object of a kind where two fields exclude each other); the controller runs behind the fault
//! proxy, which records each request body, and every value of the file must turn up, under its AWS
//! name, in a request about its object. moto drops much of what it is sent (strategies, registries,
//! alarms, most container fields), so the requests are the proof, not moto's answers.
//!
//! A kind's CRD schema is walked too: a spec field that is neither in the file nor in [`NOT_SENT`]
//! (with the reason it never reaches AWS) fails the test, so a new field cannot go unchecked.

use anyhow::{Context, Result, bail, ensure};
use ecs_controller::api::ConditionStatus;
use ecs_controller_e2e::faultproxy::{FaultConfig, FaultProxy};
use ecs_controller_e2e::fixtures::{expand_placeholders, network};
use ecs_controller_e2e::harness::{Profile, Setup, apply, env, eventually, repo_root, unique, wait_ready};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Spec fields that are never part of a request, by kind (`*`: every kind), with the reason.
const NOT_SENT: &[(&str, &str, &str)] = &[
    (
        "*",
        "adoption",
        "the controller's own policy: whether it may take over what exists",
    ),
    (
        "*",
        "deletionPolicy",
        "the controller's own policy: what deleting the object does",
    ),
    (
        "*",
        "managementPolicy",
        "the controller's own policy: whether it writes to AWS at all",
    ),
    (
        "FargateService",
        "forceNewDeployment",
        "a redeploy trigger: a new value sends UpdateService forceNewDeployment=true, never the value itself",
    ),
    (
        "*",
        "region",
        "chooses the regional endpoint a request goes to; not a request field",
    ),
    (
        "TaskDefinition",
        "revisionHistoryLimit",
        "how many revisions the controller keeps ACTIVE",
    ),
    (
        "FargateService",
        "clusterRef.name",
        "resolved to the cluster's ARN, sent as `cluster` (checked through clusterArn)",
    ),
    (
        "FargateService",
        "taskDefinitionRef.name",
        "resolved to the revision ARN, sent as `taskDefinition` (checked through taskDefinitionArn)",
    ),
    (
        "FargateTask",
        "clusterRef.name",
        "resolved to the cluster's ARN, sent as `cluster` (checked through clusterArn)",
    ),
    (
        "FargateTask",
        "taskDefinitionRef.name",
        "resolved to the revision ARN, sent as `taskDefinition` (checked through taskDefinitionArn)",
    ),
    (
        "FargateTask",
        "completions",
        "run-to-completion bookkeeping the controller keeps, as a Job's",
    ),
    (
        "FargateTask",
        "parallelism",
        "run-to-completion bookkeeping the controller keeps, as a Job's",
    ),
    (
        "FargateTask",
        "backoffLimit",
        "run-to-completion bookkeeping the controller keeps, as a Job's",
    ),
    (
        "FargateTask",
        "activeDeadlineSeconds",
        "run-to-completion bookkeeping the controller keeps, as a Job's",
    ),
    (
        "FargateTask",
        "ttlSecondsAfterFinished",
        "run-to-completion bookkeeping the controller keeps, as a Job's",
    ),
    (
        "FargateTask",
        "suspend",
        "run-to-completion bookkeeping the controller keeps, as a Job's",
    ),
    (
        "FargateTask",
        "failurePolicy.rules.[].action",
        "how the controller counts a stopped task",
    ),
    (
        "FargateTask",
        "failurePolicy.rules.[].onExitCodes.containerName",
        "how the controller counts a stopped task",
    ),
    (
        "FargateTask",
        "failurePolicy.rules.[].onExitCodes.operator",
        "how the controller counts a stopped task",
    ),
    (
        "FargateTask",
        "failurePolicy.rules.[].onExitCodes.values",
        "how the controller counts a stopped task",
    ),
    (
        "FargateTask",
        "failurePolicy.rules.[].onStopCodes",
        "how the controller counts a stopped task",
    ),
    (
        "ScalingPolicy",
        "serviceRef.name",
        "resolved to the service's resource id, sent as ResourceId (checked through resourceId)",
    ),
    (
        "FargateProfile",
        "selectors.[].namespace",
        "which objects the profile applies to",
    ),
    (
        "FargateProfile",
        "selectors.[].labels",
        "which objects the profile applies to",
    ),
    (
        "ScalingPolicy",
        "targetTracking",
        "removed (now scalingPolicies): refused at admission, kept only to refuse an object stored before the rename",
    ),
    (
        "ScalingPolicy",
        "stepScaling",
        "removed (now scalingPolicies): refused at admission, kept only to refuse an object stored before the rename",
    ),
    (
        "FargateProfile",
        "allowedTaskRoleArns",
        "a guard rail the controller enforces before any request",
    ),
    (
        "FargateProfile",
        "clusterRef.name",
        "resolved to the cluster's ARN, sent as `cluster` (checked through clusterArn)",
    ),
    (
        "FargateProfile",
        "clusterRef.namespace",
        "resolved to the cluster's ARN, sent as `cluster` (checked through clusterArn)",
    ),
];

/// The AWS name of a field whose name differs from the spec's (by kind; keys compare case-insensitively,
/// so `minCapacity` finds Application Auto Scaling's `MinCapacity` unaided).
fn aws_name(kind: &str, path: &str) -> String {
    let leaf = path.rsplit('.').next().unwrap_or(path);
    let renamed = match (kind, path) {
        (_, "clusterArn") => "cluster",
        (_, "taskDefinitionArn") => "taskDefinition",
        ("FargateProfile", "logging.logGroup") => "awslogs-group",
        ("FargateProfile", "logging.streamPrefix") => "awslogs-stream-prefix",
        ("FargateProfile", "logging.createGroup") => "awslogs-create-group",
        _ => leaf,
    };
    renamed.to_ascii_lowercase()
}

/// The requests each kind's fields go out in.
fn operations(kind: &str) -> &'static [&'static str] {
    match kind {
        "EcsCluster" => &[
            "CreateCluster",
            "UpdateCluster",
            "UpdateClusterSettings",
            "PutClusterCapacityProviders",
            "TagResource",
        ],
        "TaskDefinition" => &["RegisterTaskDefinition"],
        "FargateService" => &["CreateService", "UpdateService", "TagResource"],
        "FargateTask" => &["RunTask"],
        "ScalingPolicy" => &["RegisterScalableTarget", "PutScalingPolicy", "PutScheduledAction"],
        "FargateProfile" => &[
            "RegisterTaskDefinition",
            "CreateService",
            "UpdateService",
            "RunTask",
        ],
        _ => &[],
    }
}

/// A field of a manifest: its schema path (`containerDefinitions.[].image`) and value. A scalar, a
/// list of scalars, or a map without a schema of its own (`dockerLabels`, log options).
#[derive(Debug)]
struct Field {
    path: String,
    value: Value,
}

/// The fields of `spec`, walked along its CRD `schema`.
fn fields(schema: &Value, value: &Value, path: &str, out: &mut Vec<Field>) {
    let join = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    if let (Some(props), Some(obj)) = (
        schema.get("properties").and_then(Value::as_object),
        value.as_object(),
    ) {
        for (k, v) in obj {
            if let Some(s) = props.get(k) {
                fields(s, v, &join(k), out);
            }
        }
        return;
    }
    let items = schema.get("items").filter(|i| i.get("properties").is_some());
    if let (Some(items), Some(list)) = (items, value.as_array()) {
        for v in list {
            fields(items, v, &join("[]"), out);
        }
        return;
    }
    out.push(Field {
        path: path.to_string(),
        value: value.clone(),
    });
}

/// Every field path of a CRD schema, as [`fields`] names them.
fn schema_paths(schema: &Value, path: &str, out: &mut BTreeSet<String>) {
    let join = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (k, s) in props {
            schema_paths(s, &join(k), out);
        }
    } else if let Some(items) = schema.get("items").filter(|i| i.get("properties").is_some()) {
        schema_paths(items, &join("[]"), out);
    } else {
        out.insert(path.to_string());
    }
}

/// Every (key, value) pair anywhere in a request body, keys lower-cased.
fn pairs(body: &Value, out: &mut Vec<(String, Value)>) {
    match body {
        Value::Object(m) => {
            for (k, v) in m {
                out.push((k.to_ascii_lowercase(), v.clone()));
                pairs(v, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|v| pairs(v, out)),
        _ => {}
    }
}

/// Whether a spec value and a sent value are the same thing: equal JSON, a number sent as a string
/// or the other way round (`cpu: "1024"`), a boolean sent as a string (log options), or a time sent
/// as epoch seconds.
fn same(want: &Value, sent: &Value) -> bool {
    if want == sent {
        return true;
    }
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    if let (Some(a), Some(b)) = (text(want), text(sent))
        && a == b
    {
        return true;
    }
    if let (Some(a), Some(b)) = (want.as_f64(), sent.as_f64()) {
        return a == b;
    }
    if let (Some(s), Some(secs)) = (want.as_str(), sent.as_f64()) {
        use aws_sdk_ecs::primitives::{DateTime, DateTimeFormat};
        return DateTime::from_str(s, DateTimeFormat::DateTime).is_ok_and(|t| t.secs() as f64 == secs);
    }
    false
}

/// Whether `field` turns up in `sent` under its AWS name `key`.
fn found(field: &Field, key: &str, sent: &[(String, Value)]) -> bool {
    match &field.value {
        // A list of scalars: one sent list holds every item.
        Value::Array(items) => sent.iter().any(|(k, v)| {
            k == key
                && v.as_array()
                    .is_some_and(|got| items.iter().all(|i| got.iter().any(|g| same(i, g))))
        }),
        // A map: each entry is sent, as a pair or as a `{name, value}` item.
        Value::Object(map) => map.iter().all(|(mk, mv)| {
            let mk = mk.to_ascii_lowercase();
            sent.iter().any(|(k, v)| *k == mk && same(mv, v))
        }),
        scalar => sent.iter().any(|(k, v)| k == key && same(scalar, v)),
    }
}

/// The spec schema of each kind, from the checked-in CRDs.
fn spec_schemas() -> Result<BTreeMap<String, Value>> {
    let text = std::fs::read_to_string(repo_root().join("crds/ecs.kubefargate.dev.yaml"))?;
    let mut out = BTreeMap::new();
    for doc in serde_yaml::Deserializer::from_str(&text) {
        let crd: Value = serde::Deserialize::deserialize(doc)?;
        let kind = crd
            .pointer("/spec/names/kind")
            .and_then(Value::as_str)
            .context("CRD without a kind")?;
        let spec = crd
            .pointer("/spec/versions/0/schema/openAPIV3Schema/properties/spec")
            .context("CRD without a spec schema")?;
        out.insert(kind.to_string(), spec.clone());
    }
    Ok(out)
}

fn not_sent(kind: &str, path: &str) -> bool {
    NOT_SENT
        .iter()
        .any(|(k, p, _)| (*k == "*" || *k == kind) && *p == path)
}

#[tokio::test]
async fn every_spec_field_of_every_kind_reaches_aws() -> Result<()> {
    let schemas = spec_schemas()?;
    let proxy = FaultProxy::start(&env("MOTO_URL")?, FaultConfig::default())?;
    proxy.record_requests();
    let setup = Setup::builder("e2e-fields")
        .env("AWS_ENDPOINT_URL", &proxy.url())
        .start()
        .await?;
    let net = network()?;
    let suffix = unique("f");
    let mut vars: BTreeMap<&str, String> = BTreeMap::new();
    vars.insert("SUFFIX", suffix.clone());
    vars.insert("NS", setup.ns.name.clone());
    vars.insert("SUBNET_A", net.subnets.first().context("a subnet")?.clone());
    vars.insert("SUBNET_B", net.subnets.last().context("a subnet")?.clone());
    vars.insert(
        "SECURITY_GROUP",
        net.security_groups.first().context("a security group")?.clone(),
    );
    let text = std::fs::read_to_string(repo_root().join("tests/fields/every-field.yaml"))?;
    let docs: Vec<&str> = text.split("\n---\n").collect();

    // Coverage: every schema path is set by the file or known not to be sent.
    let mut set: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for doc in &docs {
        let v: Value = serde_yaml::from_str(doc)?;
        let kind = v["kind"].as_str().context("kind")?.to_string();
        let mut fs = Vec::new();
        fields(&schemas[&kind], &v["spec"], "", &mut fs);
        set.entry(kind)
            .or_default()
            .extend(fs.into_iter().map(|f| f.path));
    }
    let mut missing = Vec::new();
    for (kind, schema) in &schemas {
        let mut paths = BTreeSet::new();
        schema_paths(schema, "", &mut paths);
        for p in paths {
            if !not_sent(kind, &p) && !set.get(kind).is_some_and(|s| s.contains(&p)) {
                missing.push(format!("{kind} spec.{p}"));
            }
        }
    }
    ensure!(
        missing.is_empty(),
        "spec fields neither set in tests/fields/every-field.yaml nor listed in NOT_SENT:\n  {}",
        missing.join("\n  ")
    );

    // Apply: what names no ARN first; the rest once the cluster and task definition have theirs.
    let mut applied = Vec::new();
    let mut _profile = None;
    for pass in 0..2 {
        if pass == 1 {
            let cluster = wait_ready(
                &setup.clusters,
                "fields",
                ConditionStatus::True,
                Duration::from_secs(60),
            )
            .await?;
            let td = wait_ready(&setup.tds, "td", ConditionStatus::True, Duration::from_secs(60)).await?;
            vars.insert(
                "CLUSTER_ARN",
                cluster["status"]["arn"].as_str().context("cluster arn")?.into(),
            );
            vars.insert("TD_ARN", td["status"]["arn"].as_str().context("td arn")?.into());
        }
        for doc in &docs {
            if doc.contains("${CLUSTER_ARN}") != (pass == 1) {
                continue;
            }
            let manifest: Value = serde_yaml::from_str(&expand_placeholders(doc, &vars)?)?;
            let kind = manifest["kind"].as_str().context("kind")?.to_string();
            let name = manifest["metadata"]["name"].as_str().context("name")?.to_string();
            match kind.as_str() {
                "EcsCluster" => drop(apply(&setup.clusters, manifest.clone()).await?),
                "TaskDefinition" => drop(apply(&setup.tds, manifest.clone()).await?),
                "FargateService" => drop(apply(&setup.services, manifest.clone()).await?),
                "ScalingPolicy" => drop(apply(&setup.policies, manifest.clone()).await?),
                "FargateTask" => drop(apply(&setup.tasks, manifest.clone()).await?),
                "FargateProfile" => _profile = Some(Profile::apply(&name, &manifest)?),
                other => bail!("unknown kind {other}"),
            }
            applied.push((kind, manifest));
        }
    }

    // Every value of every object turns up in a request about that object.
    let unmatched = || {
        let mut out = Vec::new();
        for (kind, manifest) in &applied {
            let about = manifest
                .pointer("/metadata/annotations/e2e.ecs.kubefargate.dev~1about")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let mut sent = Vec::new();
            for op in operations(kind) {
                for body in proxy.sent(op).iter().filter(|b| b.to_string().contains(about)) {
                    pairs(body, &mut sent);
                }
            }
            let mut fs = Vec::new();
            fields(&schemas[kind], &manifest["spec"], "", &mut fs);
            for f in fs.iter().filter(|f| !not_sent(kind, &f.path)) {
                if !found(f, &aws_name(kind, &f.path), &sent) {
                    out.push(format!(
                        "{kind} {} spec.{} = {}",
                        manifest["metadata"]["name"].as_str().unwrap_or_default(),
                        f.path,
                        f.value
                    ));
                }
            }
        }
        out
    };
    eventually("every field in a request", Duration::from_secs(90), || async {
        let left = unmatched();
        ensure!(
            left.is_empty(),
            "{} fields never sent:\n  {}",
            left.len(),
            left.join("\n  ")
        );
        Ok(Some(()))
    })
    .await
}
