//! A Job's pod template as an ECS Fargate task definition: a documented subset (`docs/jobs.md`, one
//! row per field), and every field outside it refused with its path, never dropped.
//!
//! Pure: no client, no clock, no AWS call. Every Kubernetes struct is destructured without `..`, so a
//! field a newer k8s-openapi adds does not compile until it is translated or refused here. All
//! refusals are collected, so one answer lists everything to change.

mod quantity;
mod size;

use crate::api::task_definition::{self as td, ContainerDefinition, TaskDefinitionSpec};
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::api::core::v1::{PodTemplateSpec, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// The pod-template annotation that gives containers ECS secrets:
/// `{"<container>": {"<ENV_NAME>": "<Secrets Manager or SSM parameter ARN>"}}`.
pub(crate) const SECRETS_ANNOTATION: &str = "ecs.kubefargate.dev/secrets";
/// The ServiceAccount annotation of IAM roles for service accounts (EKS): here the task role.
pub(crate) const ROLE_ANNOTATION: &str = "eks.amazonaws.com/role-arn";
/// Annotations under this prefix belong to ecs-controller: an unknown one is a typo, refused.
const OWN_PREFIX: &str = "ecs.kubefargate.dev/";
/// The label the apiserver puts on every Job's pod template (Kubernetes 1.27+): the log stream prefix.
const JOB_NAME_LABEL: &str = "batch.kubernetes.io/job-name";
/// The same label before Kubernetes 1.27 (still set beside the new one).
const LEGACY_JOB_NAME_LABEL: &str = "job-name";
/// The log stream prefix when the template carries neither label.
const DEFAULT_STREAM_PREFIX: &str = "job";
/// ECS: a task definition is at most 64 KiB (measured, as `kinds/task_definition` does, as its JSON).
const MAX_TASK_DEFINITION_BYTES: usize = 64 * 1024;
/// ECS service quota "Containers per task definition": 10, not adjustable.
const MAX_CONTAINERS: usize = 10;
/// ECS ContainerDefinition `stopTimeout`: "The valid values for Fargate are 2-120 seconds".
const STOP_TIMEOUT: (i64, i64) = (2, 120);
/// ECS ContainerDefinition `memory` / `memoryReservation`: "don't specify less than 6 MiB" (the Docker
/// 20.10 daemon reserves 6 MiB per container).
const MIN_CONTAINER_MIB: u128 = 6;
/// Fargate (platform 1.4+) gives every task 20 GiB of ephemeral storage; `ephemeralStorage` takes
/// 21-200 GiB.
const FREE_STORAGE_GIB: u128 = 20;
const MAX_STORAGE_GIB: u128 = 200;
/// ECS `linuxParameters.capabilities`: the valid values (ECS API reference, KernelCapabilities).
const ECS_CAPABILITIES: [&str; 38] = [
    "ALL",
    "AUDIT_CONTROL",
    "AUDIT_WRITE",
    "BLOCK_SUSPEND",
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "IPC_LOCK",
    "IPC_OWNER",
    "KILL",
    "LEASE",
    "LINUX_IMMUTABLE",
    "MAC_ADMIN",
    "MAC_OVERRIDE",
    "MKNOD",
    "NET_ADMIN",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_RAW",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_CHROOT",
    "SYS_MODULE",
    "SYS_NICE",
    "SYS_PACCT",
    "SYS_PTRACE",
    "SYS_RAWIO",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "SYSLOG",
    "WAKE_ALARM",
];

/// What the admin's FargateProfile fixes for every Job it admits.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Defaults {
    /// The role ECS pulls images, fetches secrets and writes logs with; a Job cannot choose it.
    pub execution_role_arn: Option<String>,
    /// The CloudWatch Logs group every container logs to (awslogs); without it, no logConfiguration.
    pub log_group: Option<String>,
    /// The tasks' region (`awslogs-region`).
    pub region: String,
}

/// The task definition of a pod template (its `family` and `tags` are the caller's), and its size.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Translated {
    pub spec: TaskDefinitionSpec,
    pub size: Size,
}

/// The Fargate size chosen, and what the containers asked for (for an Event or an annotation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Size {
    /// CPU units of the task (1024 = 1 vCPU).
    pub cpu: u32,
    /// MiB of the task.
    pub memory: u32,
    /// CPU units asked: what the pod would request on a node (app containers and sidecars added up,
    /// or the largest init phase if larger), with the larger of request and limit of each container.
    pub asked_cpu: u32,
    /// MiB asked, counted as `asked_cpu` is.
    pub asked_memory: u32,
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} vCPU and {} MiB (the containers ask for {} vCPU and {} MiB)",
            vcpu(u128::from(self.cpu)),
            self.memory,
            vcpu(u128::from(self.asked_cpu)),
            self.asked_memory
        )
    }
}

/// One field of the pod template that is not translated, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Refusal {
    /// Where, from the Job: `spec.template.spec.containers[0].env[2].valueFrom.secretKeyRef`.
    pub path: String,
    pub message: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// The task definition of `template` for Fargate, or every field that keeps it from being one.
/// `service_account` is the template's ServiceAccount, as the caller resolved it (its role annotation
/// becomes the task role).
pub(crate) fn translate(
    template: &PodTemplateSpec,
    service_account: Option<&ServiceAccount>,
    defaults: &Defaults,
) -> Result<Translated, Vec<Refusal>> {
    let mut r = Refusals::default();
    let root = Path::root();
    let PodTemplateSpec { metadata, spec } = template;
    let meta = metadata_of(metadata.as_ref(), &root.child("metadata"), defaults, &mut r);
    let translated = match spec {
        Some(spec) => pod(
            spec,
            &root.child("spec"),
            &meta,
            service_account,
            defaults,
            &mut r,
        ),
        None => {
            r.refuse(&root.child("spec"), "a Job's pod template needs a spec");
            None
        }
    };
    match translated {
        Some(t) if r.0.is_empty() => Ok(t),
        _ => Err(r.finish()),
    }
}

// ---- paths and refusals ---------------------------------------------------------------------------

/// A field path from the Job, as Kubernetes writes them (`a.b[0].c[key]`).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Path(String);

impl Path {
    fn root() -> Self {
        Path("spec.template".into())
    }
    fn child(&self, name: &str) -> Self {
        Path(format!("{}.{name}", self.0))
    }
    fn index(&self, i: usize) -> Self {
        Path(format!("{}[{i}]", self.0))
    }
    fn key(&self, key: &str) -> Self {
        Path(format!("{}[{key}]", self.0))
    }
}

#[derive(Default)]
struct Refusals(Vec<Refusal>);

impl Refusals {
    fn refuse(&mut self, at: &Path, message: impl Into<String>) {
        self.0.push(Refusal {
            path: at.0.clone(),
            message: message.into(),
        });
    }

    /// Refuses `at.name` when `set`, saying why it has no Fargate meaning.
    fn absent(&mut self, set: bool, at: &Path, name: &str, why: &str) {
        if set {
            self.refuse(&at.child(name), why);
        }
    }

    /// The refusals in the order found, each once (a pod-level field can be refused for every
    /// container it applies to).
    fn finish(self) -> Vec<Refusal> {
        let mut seen = BTreeSet::new();
        self.0
            .into_iter()
            .filter(|x| seen.insert((x.path.clone(), x.message.clone())))
            .collect()
    }
}

fn any<T>(v: &Option<Vec<T>>) -> bool {
    v.as_ref().is_some_and(|v| !v.is_empty())
}

fn text(v: &Option<String>) -> bool {
    v.as_ref().is_some_and(|v| !v.is_empty())
}

fn yes(v: &Option<bool>) -> bool {
    *v == Some(true)
}

fn vcpu(units: u128) -> String {
    if units.is_multiple_of(1024) {
        (units / 1024).to_string()
    } else {
        format!("{:.3}", units as f64 / 1024.0)
            .trim_end_matches('0')
            .to_string()
    }
}

fn to_i32(x: u128) -> i32 {
    i32::try_from(x).unwrap_or(i32::MAX)
}

// ---- metadata -------------------------------------------------------------------------------------

/// What the template's metadata gives the task: ECS secrets per container and the log stream prefix.
#[derive(Default)]
struct Meta {
    secrets: BTreeMap<String, Vec<td::Secret>>,
    stream_prefix: String,
}

fn metadata_of(m: Option<&ObjectMeta>, at: &Path, defaults: &Defaults, r: &mut Refusals) -> Meta {
    let mut meta = Meta {
        stream_prefix: DEFAULT_STREAM_PREFIX.into(),
        ..Meta::default()
    };
    let Some(m) = m else { return meta };
    let ObjectMeta {
        annotations,
        creation_timestamp: _,
        deletion_grace_period_seconds,
        deletion_timestamp,
        finalizers,
        generate_name,
        generation,
        labels,
        managed_fields,
        name,
        namespace,
        owner_references,
        resource_version,
        self_link,
        uid,
    } = m;
    const NO_MEANING: &str =
        "has no meaning in a pod template run on Fargate (only labels and annotations do)";
    r.absent(
        deletion_grace_period_seconds.is_some(),
        at,
        "deletionGracePeriodSeconds",
        NO_MEANING,
    );
    r.absent(deletion_timestamp.is_some(), at, "deletionTimestamp", NO_MEANING);
    r.absent(any(finalizers), at, "finalizers", NO_MEANING);
    r.absent(text(generate_name), at, "generateName", NO_MEANING);
    r.absent(generation.is_some(), at, "generation", NO_MEANING);
    r.absent(any(managed_fields), at, "managedFields", NO_MEANING);
    r.absent(text(name), at, "name", NO_MEANING);
    r.absent(text(namespace), at, "namespace", NO_MEANING);
    r.absent(any(owner_references), at, "ownerReferences", NO_MEANING);
    r.absent(text(resource_version), at, "resourceVersion", NO_MEANING);
    r.absent(text(self_link), at, "selfLink", NO_MEANING);
    r.absent(text(uid), at, "uid", NO_MEANING);
    // Labels select the pod in Kubernetes: accepted, not copied (the caller tags the task). The Job's
    // name label, which the apiserver adds, prefixes the log streams.
    let job_name = labels.as_ref().and_then(|l| {
        l.get(JOB_NAME_LABEL)
            .or_else(|| l.get(LEGACY_JOB_NAME_LABEL))
            .filter(|j| !j.is_empty())
    });
    if let Some(job) = job_name {
        meta.stream_prefix = job.clone();
    }
    let annotations_at = at.child("annotations");
    for (key, value) in annotations.iter().flatten() {
        let key_at = annotations_at.key(key);
        if key == SECRETS_ANNOTATION {
            meta.secrets = secrets_of(value, &key_at, defaults, r);
        } else if key.starts_with(OWN_PREFIX) {
            r.refuse(
                &key_at,
                format!("is not an ecs-controller annotation (the only one on a pod template is {SECRETS_ANNOTATION})"),
            );
        }
        // Any other annotation is for Kubernetes tools and has no effect on a task: accepted.
    }
    meta
}

/// The secrets annotation: container -> ECS secrets (environment variable name, ARN).
fn secrets_of(
    value: &str,
    at: &Path,
    defaults: &Defaults,
    r: &mut Refusals,
) -> BTreeMap<String, Vec<td::Secret>> {
    let parsed: BTreeMap<String, BTreeMap<String, String>> = match serde_json::from_str(value) {
        Ok(p) => p,
        Err(e) => {
            r.refuse(
                at,
                format!(r#"must be JSON {{"<container>": {{"<ENV_NAME>": "<Secrets Manager or SSM parameter ARN>"}}}}: {e}"#),
            );
            return BTreeMap::new();
        }
    };
    if defaults.execution_role_arn.is_none() && parsed.values().any(|s| !s.is_empty()) {
        // ECS fetches secrets with the task execution role; without one the task cannot start.
        r.refuse(
            at,
            "ECS fetches secrets with the task execution role, and the FargateProfile names none",
        );
    }
    let mut out = BTreeMap::new();
    for (container, vars) in parsed {
        let mut secrets = Vec::new();
        for (name, arn) in vars {
            if let Err(why) = env_name(&name) {
                r.refuse(at, format!("container {container:?}: secret {name:?} {why}"));
            }
            if !secret_arn(&arn) {
                r.refuse(
                    at,
                    format!(
                        "container {container:?}: secret {name:?} must be a Secrets Manager or SSM parameter ARN \
                         (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME or arn:aws:ssm:REGION:ACCOUNT:parameter/NAME), \
                         not {arn:?}"
                    ),
                );
            }
            secrets.push(td::Secret {
                name,
                value_from: arn,
            });
        }
        out.insert(container, secrets);
    }
    out
}

/// `arn:aws[-partition]:(secretsmanager|ssm):REGION:ACCOUNT:RESOURCE`: what ECS's `valueFrom` takes as
/// an ARN (and the TaskDefinition CRD's rule for `secrets[].valueFrom`).
fn secret_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, region, account, resource] = parts.as_slice() else {
        return false;
    };
    *prefix == "arn"
        && partition
            .strip_prefix("aws")
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'))
        && matches!(*service, "secretsmanager" | "ssm")
        && !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && !resource.is_empty()
        && arn.len() <= 1024
}

/// An IAM role ARN (the TaskDefinition CRD's pattern for `taskRoleArn`).
fn role_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, region, account, resource] = parts.as_slice() else {
        return false;
    };
    *prefix == "arn"
        && partition
            .strip_prefix("aws")
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'))
        && *service == "iam"
        && region.is_empty()
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && resource.strip_prefix("role/").is_some_and(|n| !n.is_empty())
}

// ---- the pod --------------------------------------------------------------------------------------

/// What every container takes from the pod.
struct Shared<'a> {
    security: PodSecurity,
    /// Every volume of the pod (translated or refused), for the mounts.
    volumes: BTreeSet<String>,
    stop_timeout: Option<i32>,
    secrets: &'a BTreeMap<String, Vec<td::Secret>>,
    secrets_at: Path,
    execution_role: bool,
}

/// A container as ECS sees it, and what it asks of the task.
struct Part {
    at: Path,
    role: Role,
    def: ContainerDefinition,
    demand: Demand,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    /// `containers[]`: essential.
    App,
    /// `initContainers[]`: runs to success, in order, before the app containers.
    Init,
    /// `initContainers[]` with `restartPolicy: Always`: started before the app containers, stopped
    /// with them.
    Sidecar,
}

fn pod(
    spec: &core::PodSpec,
    at: &Path,
    meta: &Meta,
    service_account: Option<&ServiceAccount>,
    defaults: &Defaults,
    r: &mut Refusals,
) -> Option<Translated> {
    let core::PodSpec {
        active_deadline_seconds,
        affinity,
        automount_service_account_token,
        containers,
        dns_config,
        dns_policy,
        enable_service_links,
        ephemeral_containers,
        host_aliases,
        host_ipc,
        host_network,
        host_pid,
        host_users,
        hostname,
        hostname_override,
        image_pull_secrets,
        init_containers,
        node_name,
        node_selector,
        os,
        overhead,
        preemption_policy,
        priority,
        priority_class_name,
        readiness_gates,
        resource_claims,
        resources,
        restart_policy,
        runtime_class_name,
        scheduler_name,
        scheduling_gates,
        security_context,
        // The caller resolves the ServiceAccount and passes it in.
        service_account: _,
        service_account_name: _,
        set_hostname_as_fqdn,
        share_process_namespace,
        subdomain,
        termination_grace_period_seconds,
        // Tolerations only permit a pod onto tainted nodes, never restrict it: on Fargate there is no
        // node, so nothing they allow is lost. Accepted without effect.
        tolerations: _,
        topology_spread_constraints,
        volumes,
        workload_ref,
    } = spec;

    r.absent(
        active_deadline_seconds.is_some(),
        at,
        "activeDeadlineSeconds",
        "a pod's deadline has no ECS equivalent: set the Job's spec.activeDeadlineSeconds",
    );
    r.absent(
        affinity.is_some(),
        at,
        "affinity",
        "Fargate has no nodes to choose between: remove it",
    );
    r.absent(
        yes(automount_service_account_token),
        at,
        "automountServiceAccountToken",
        "a task gets no Kubernetes token (it gets AWS credentials through the task role): remove it or set false",
    );
    r.absent(
        dns_config.is_some(),
        at,
        "dnsConfig",
        "a Fargate task uses its VPC's DNS resolver and takes no DNS settings",
    );
    match dns_policy.as_deref() {
        // ClusterFirst is the apiserver's default: accepted, but the task resolves names through the
        // VPC's resolver (Kubernetes Service names do not resolve). Default is exactly that.
        None | Some("ClusterFirst" | "Default") => {}
        Some(other) => r.refuse(
            &at.child("dnsPolicy"),
            format!("{other} has no ECS equivalent: a Fargate task uses its VPC's DNS resolver (ClusterFirst or Default)"),
        ),
    }
    r.absent(
        yes(enable_service_links),
        at,
        "enableServiceLinks",
        "a task gets no Kubernetes Service environment variables: remove it or set false",
    );
    r.absent(
        any(ephemeral_containers),
        at,
        "ephemeralContainers",
        "a task cannot take ephemeral containers",
    );
    r.absent(
        any(host_aliases),
        at,
        "hostAliases",
        "ECS's extraHosts is not supported with awsvpc networking (Fargate)",
    );
    r.absent(
        yes(host_ipc),
        at,
        "hostIPC",
        "Fargate does not support ipcMode host",
    );
    r.absent(
        yes(host_network),
        at,
        "hostNetwork",
        "Fargate tasks use awsvpc networking, never the host's",
    );
    r.absent(
        yes(host_pid),
        at,
        "hostPID",
        "Fargate supports only pidMode task (shareProcessNamespace: true)",
    );
    r.absent(
        *host_users == Some(false),
        at,
        "hostUsers",
        "Fargate has no user namespaces: remove it or set true",
    );
    r.absent(
        text(hostname),
        at,
        "hostname",
        "ECS's hostname is not supported with awsvpc networking (Fargate)",
    );
    r.absent(
        text(hostname_override),
        at,
        "hostnameOverride",
        "ECS's hostname is not supported with awsvpc networking (Fargate)",
    );
    r.absent(
        any(image_pull_secrets),
        at,
        "imagePullSecrets",
        "a task pulls with the FargateProfile's execution role (ECR), never with a Kubernetes Secret",
    );
    r.absent(text(node_name), at, "nodeName", "Fargate has no nodes");
    r.absent(
        overhead.as_ref().is_some_and(|o| !o.is_empty()),
        at,
        "overhead",
        "a RuntimeClass's overhead has no Fargate meaning",
    );
    r.absent(
        text(preemption_policy),
        at,
        "preemptionPolicy",
        "Fargate does not preempt tasks: remove it",
    );
    r.absent(
        priority.is_some(),
        at,
        "priority",
        "Fargate has no pod priority: remove it",
    );
    r.absent(
        text(priority_class_name),
        at,
        "priorityClassName",
        "Fargate has no pod priority: remove it",
    );
    r.absent(
        any(readiness_gates),
        at,
        "readinessGates",
        "a task has no readiness gates",
    );
    r.absent(
        any(resource_claims),
        at,
        "resourceClaims",
        "Fargate has no dynamic resource allocation",
    );
    match restart_policy.as_deref() {
        // OnFailure: the pod is not restarted in place; each failed task counts against the Job's
        // backoffLimit and a new task replaces it.
        None | Some("Never" | "OnFailure") => {}
        Some(other) => r.refuse(
            &at.child("restartPolicy"),
            format!("{other}: a Job's pod template takes Never or OnFailure"),
        ),
    }
    r.absent(
        text(runtime_class_name),
        at,
        "runtimeClassName",
        "Fargate has one runtime",
    );
    match scheduler_name.as_deref() {
        None | Some("" | "default-scheduler") => {}
        Some(other) => r.refuse(
            &at.child("schedulerName"),
            format!("{other}: Fargate places tasks itself (only default-scheduler, the apiserver's default, is accepted)"),
        ),
    }
    r.absent(
        any(scheduling_gates),
        at,
        "schedulingGates",
        "a task starts when the Job runs it; it has no scheduling gates",
    );
    r.absent(
        yes(set_hostname_as_fqdn),
        at,
        "setHostnameAsFQDN",
        "ECS's hostname is not supported with awsvpc networking (Fargate)",
    );
    r.absent(
        text(subdomain),
        at,
        "subdomain",
        "a task has no Kubernetes DNS name",
    );
    r.absent(
        any(topology_spread_constraints),
        at,
        "topologySpreadConstraints",
        "Fargate places tasks in the subnets the Job runs with; there is no topology to spread over",
    );
    r.absent(
        workload_ref.is_some(),
        at,
        "workloadRef",
        "a task belongs to no Kubernetes workload",
    );

    let runtime_platform = platform(node_selector.as_ref(), os.as_ref(), at, r);
    let security = pod_security(security_context.as_ref(), &at.child("securityContext"), r);
    let stop_timeout = termination_grace_period_seconds.and_then(|s| {
        if s > STOP_TIMEOUT.1 {
            r.refuse(
                &at.child("terminationGracePeriodSeconds"),
                format!(
                    "{s}: it becomes every container's stopTimeout, at most {} seconds on Fargate",
                    STOP_TIMEOUT.1
                ),
            );
            None
        } else {
            // Below 2 s the kubelet waits 2 s anyway (minimumGracePeriodInSeconds), as Fargate does.
            i32::try_from(s.max(STOP_TIMEOUT.0)).ok()
        }
    });
    let (task_volumes, volume_names, volume_storage) =
        volumes_of(volumes.as_deref().unwrap_or_default(), &at.child("volumes"), r);
    let pod_level = resources
        .as_ref()
        .map(|res| pod_resources(res, &at.child("resources"), r))
        .unwrap_or_default();

    let shared = Shared {
        security,
        volumes: volume_names,
        stop_timeout,
        secrets: &meta.secrets,
        secrets_at: Path::root()
            .child("metadata")
            .child("annotations")
            .key(SECRETS_ANNOTATION),
        execution_role: defaults.execution_role_arn.is_some(),
    };
    let init_at = at.child("initContainers");
    let app_at = at.child("containers");
    let mut parts: Vec<Part> = Vec::new();
    for (i, c) in init_containers.iter().flatten().enumerate() {
        parts.push(container(c, &init_at.index(i), true, &shared, r));
    }
    for (i, c) in containers.iter().enumerate() {
        parts.push(container(c, &app_at.index(i), false, &shared, r));
    }
    if containers.is_empty() {
        r.refuse(&app_at, "a pod needs at least one container");
    }
    if parts.len() > MAX_CONTAINERS {
        r.refuse(
            &app_at,
            format!(
                "{} containers in all (initContainers included): ECS allows {MAX_CONTAINERS} per task definition",
                parts.len()
            ),
        );
    }
    let names: BTreeSet<&str> = parts.iter().map(|p| p.def.name.as_str()).collect();
    for container in meta.secrets.keys() {
        if !names.contains(container.as_str()) {
            r.refuse(
                &shared.secrets_at,
                format!("names no container of the pod: {container:?}"),
            );
        }
    }
    depend(&mut parts);

    // The task's size: Kubernetes' rule for a pod's effective request (app containers and sidecars
    // add up; an init container counts alone with the sidecars started before it), EKS on Fargate's
    // rule too, with the larger of request and limit of each container.
    let mut sidecars = Demand::default();
    let mut init_peak = Demand::default();
    let mut apps = Demand::default();
    for p in &parts {
        match p.role {
            Role::App => apps = apps.plus(&p.demand),
            Role::Sidecar => {
                sidecars = sidecars.plus(&p.demand);
                init_peak = init_peak.max(sidecars.clone());
            }
            Role::Init => init_peak = init_peak.max(sidecars.plus(&p.demand)),
        }
    }
    let mut total = apps.plus(&sidecars).max(init_peak).max(pod_level);
    total.storage = total.storage.plus(&volume_storage);
    let size = task_size(&total, at, r);
    let ephemeral_storage = storage(&total.storage, at, r);

    let task_role_arn = task_role(service_account, &at.child("serviceAccountName"), r);
    let log_configuration = defaults.log_group.as_ref().map(|group| td::LogConfiguration {
        log_driver: "awslogs".into(),
        options: BTreeMap::from([
            ("awslogs-group".to_string(), group.clone()),
            ("awslogs-region".to_string(), defaults.region.clone()),
            ("awslogs-stream-prefix".to_string(), meta.stream_prefix.clone()),
        ]),
        secret_options: Vec::new(),
    });
    if log_configuration.is_some() && defaults.execution_role_arn.is_none() {
        // RegisterTaskDefinition: "Fargate requires task definition to have execution role ARN to
        // support log driver awslogs".
        r.refuse(
            &Path::root(),
            "the FargateProfile sets a log group but no execution role, which Fargate needs to write awslogs",
        );
    }
    let container_paths: Vec<Path> = parts.iter().map(|p| p.at.clone()).collect();
    let container_definitions: Vec<ContainerDefinition> = parts
        .into_iter()
        .map(|p| ContainerDefinition {
            log_configuration: log_configuration.clone(),
            ..p.def
        })
        .collect();
    let size = size?;
    let spec = TaskDefinitionSpec {
        cpu: Some(size.cpu.to_string()),
        memory: Some(size.memory.to_string()),
        network_mode: Some("awsvpc".into()),
        requires_compatibilities: Some(vec!["FARGATE".into()]),
        execution_role_arn: defaults.execution_role_arn.clone(),
        task_role_arn,
        runtime_platform,
        ephemeral_storage,
        pid_mode: yes(share_process_namespace).then(|| "task".to_string()),
        volumes: (!task_volumes.is_empty()).then_some(task_volumes),
        container_definitions,
        ..TaskDefinitionSpec::default()
    };
    let bytes = serde_json::to_vec(&spec).map(|b| b.len()).unwrap_or(usize::MAX);
    if bytes > MAX_TASK_DEFINITION_BYTES {
        r.refuse(
            &largest_env(&spec, &container_paths),
            format!(
                "the task definition would be {bytes} bytes; ECS allows {MAX_TASK_DEFINITION_BYTES}: move large \
                 values to Secrets Manager or SSM parameters ({SECRETS_ANNOTATION})"
            ),
        );
    }
    Some(Translated { spec, size })
}

/// Where the task definition is largest: the container with the most environment bytes.
fn largest_env(spec: &TaskDefinitionSpec, paths: &[Path]) -> Path {
    let weight = |c: &ContainerDefinition| -> usize {
        c.environment.iter().map(|e| e.name.len() + e.value.len()).sum()
    };
    spec.container_definitions
        .iter()
        .zip(paths)
        .max_by_key(|(c, _)| weight(c))
        .map(|(c, at)| {
            if weight(c) > 0 {
                at.child("env")
            } else {
                at.clone()
            }
        })
        .unwrap_or_else(|| Path::root().child("spec").child("containers"))
}

/// The ordering of Kubernetes' init containers with ECS's `dependsOn`: each init container waits for
/// the one before it (SUCCESS after a run-to-completion one, START after a sidecar), and every app
/// container waits for all of them.
fn depend(parts: &mut [Part]) {
    let condition = |role: Role| if role == Role::Sidecar { "START" } else { "SUCCESS" };
    let inits: Vec<(String, Role)> = parts
        .iter()
        .filter(|p| p.role != Role::App)
        .map(|p| (p.def.name.clone(), p.role))
        .collect();
    let mut previous: Option<&(String, Role)> = None;
    for p in parts.iter_mut() {
        match p.role {
            Role::App => {
                p.def.depends_on = inits
                    .iter()
                    .map(|(name, role)| td::ContainerDependency {
                        container_name: name.clone(),
                        condition: condition(*role).into(),
                    })
                    .collect();
            }
            Role::Init | Role::Sidecar => {
                if let Some((name, role)) = previous {
                    p.def.depends_on = vec![td::ContainerDependency {
                        container_name: name.clone(),
                        condition: condition(*role).into(),
                    }];
                }
                previous = inits.iter().find(|(name, _)| *name == p.def.name);
            }
        }
    }
}

/// `nodeSelector` and `os` as the task's runtime platform.
fn platform(
    selector: Option<&BTreeMap<String, String>>,
    os: Option<&core::PodOS>,
    at: &Path,
    r: &mut Refusals,
) -> Option<td::RuntimePlatform> {
    let mut platform = td::RuntimePlatform::default();
    let at_selector = at.child("nodeSelector");
    for (key, value) in selector.into_iter().flatten() {
        let key_at = at_selector.key(key);
        match (key.as_str(), value.as_str()) {
            ("kubernetes.io/arch", "amd64") => platform.cpu_architecture = Some("X86_64".into()),
            ("kubernetes.io/arch", "arm64") => platform.cpu_architecture = Some("ARM64".into()),
            ("kubernetes.io/arch", other) => r.refuse(
                &key_at,
                format!("{other}: Fargate runs amd64 (X86_64) or arm64 (ARM64)"),
            ),
            ("kubernetes.io/os", "linux") => platform.operating_system_family = Some("LINUX".into()),
            ("kubernetes.io/os", other) => r.refuse(
                &key_at,
                format!("{other}: ecs-controller runs Jobs on Linux Fargate tasks only"),
            ),
            // What EKS's Fargate nodes carry: selecting Fargate is what happens.
            ("eks.amazonaws.com/compute-type", "fargate") => {}
            _ => r.refuse(
                &key_at,
                "Fargate has no nodes to select: only kubernetes.io/arch (amd64, arm64) and kubernetes.io/os (linux) are translated",
            ),
        }
    }
    if let Some(core::PodOS { name }) = os {
        if name == "linux" {
            platform.operating_system_family = Some("LINUX".into());
        } else {
            r.refuse(
                &at.child("os").child("name"),
                format!("{name}: ecs-controller runs Jobs on Linux Fargate tasks only"),
            );
        }
    }
    (platform != td::RuntimePlatform::default()).then_some(platform)
}

/// The task role: the ServiceAccount's `eks.amazonaws.com/role-arn` (the caller checks it against the
/// FargateProfile's allowed roles).
fn task_role(sa: Option<&ServiceAccount>, at: &Path, r: &mut Refusals) -> Option<String> {
    let sa = sa?;
    let name = sa.metadata.name.as_deref().unwrap_or("default");
    if any(&sa.image_pull_secrets) {
        // The ServiceAccount admission plugin would add them to the pod.
        r.refuse(
            at,
            format!(
                "ServiceAccount {name} has imagePullSecrets, which a task cannot use (it pulls with the \
                 FargateProfile's execution role)"
            ),
        );
    }
    let arn = sa.metadata.annotations.as_ref()?.get(ROLE_ANNOTATION)?;
    if !role_arn(arn) {
        r.refuse(
            at,
            format!("ServiceAccount {name}'s {ROLE_ANNOTATION} is not an IAM role ARN: {arn:?}"),
        );
        return None;
    }
    Some(arn.clone())
}

// ---- resources and size ---------------------------------------------------------------------------

/// An amount asked of the task, and the field that asks for most of it (named if it is too much).
#[derive(Clone, Debug, Default)]
struct Need {
    total: u128,
    biggest: u128,
    at: Option<Path>,
}

impl Need {
    fn of(amount: u128, at: Path) -> Self {
        Need {
            total: amount,
            biggest: amount,
            at: Some(at),
        }
    }

    fn plus(&self, other: &Need) -> Need {
        let (biggest, at) = if other.biggest > self.biggest {
            (other.biggest, other.at.clone())
        } else {
            (self.biggest, self.at.clone())
        };
        Need {
            total: self.total.saturating_add(other.total),
            biggest,
            at,
        }
    }

    fn max(self, other: Need) -> Need {
        if other.total > self.total { other } else { self }
    }
}

/// CPU units, MiB of memory, MiB of ephemeral storage.
#[derive(Clone, Debug, Default)]
struct Demand {
    cpu: Need,
    memory: Need,
    storage: Need,
}

impl Demand {
    fn plus(&self, o: &Demand) -> Demand {
        Demand {
            cpu: self.cpu.plus(&o.cpu),
            memory: self.memory.plus(&o.memory),
            storage: self.storage.plus(&o.storage),
        }
    }

    /// Each resource on its own, as Kubernetes compares init containers with the rest.
    fn max(self, o: Demand) -> Demand {
        Demand {
            cpu: self.cpu.max(o.cpu),
            memory: self.memory.max(o.memory),
            storage: self.storage.max(o.storage),
        }
    }
}

/// One of `requests` / `limits`: each resource in its unit, with its path.
#[derive(Default)]
struct Amounts {
    cpu: Option<(u128, Path)>,
    memory: Option<(u128, Path)>,
    storage: Option<(u128, Path)>,
}

const CPU_UNITS: (u128, u128) = (1024, 1);
const MIB: (u128, u128) = (1, 1 << 20);

fn amounts(
    list: Option<&BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>>,
    at: &Path,
    storage_allowed: bool,
    r: &mut Refusals,
) -> Amounts {
    let mut out = Amounts::default();
    for (name, q) in list.into_iter().flatten() {
        let key_at = at.key(name);
        let (slot, (mul, div)) = match name.as_str() {
            "cpu" => (&mut out.cpu, CPU_UNITS),
            "memory" => (&mut out.memory, MIB),
            "ephemeral-storage" if storage_allowed => (&mut out.storage, MIB),
            _ => {
                r.refuse(
                    &key_at,
                    "Fargate provides cpu, memory and ephemeral-storage only (no GPUs, hugepages or extended resources)",
                );
                continue;
            }
        };
        match quantity::parse(&q.0) {
            Ok(v) => *slot = Some((v.ceil_scaled(mul, div), key_at)),
            Err(e) => r.refuse(&key_at, e),
        }
    }
    out
}

/// The larger of request and limit, with the field it comes from.
fn larger(request: &Option<(u128, Path)>, limit: &Option<(u128, Path)>) -> Need {
    match (request, limit) {
        (Some((a, at)), Some((b, _))) if a >= b => Need::of(*a, at.clone()),
        (_, Some((b, at))) => Need::of(*b, at.clone()),
        (Some((a, at)), None) => Need::of(*a, at.clone()),
        (None, None) => Need::default(),
    }
}

/// A container's resources: what it asks of the task, and its ECS `cpu`, `memory`, `memoryReservation`.
struct Resources {
    demand: Demand,
    cpu: Option<i32>,
    memory: Option<i32>,
    memory_reservation: Option<i32>,
}

fn container_resources(res: Option<&core::ResourceRequirements>, at: &Path, r: &mut Refusals) -> Resources {
    let Some(core::ResourceRequirements {
        claims,
        limits,
        requests,
    }) = res
    else {
        return Resources {
            demand: Demand::default(),
            cpu: None,
            memory: None,
            memory_reservation: None,
        };
    };
    r.absent(
        any(claims),
        at,
        "claims",
        "Fargate has no dynamic resource allocation",
    );
    let requests = amounts(requests.as_ref(), &at.child("requests"), true, r);
    let limits = amounts(limits.as_ref(), &at.child("limits"), true, r);
    let demand = Demand {
        cpu: larger(&requests.cpu, &limits.cpu),
        memory: larger(&requests.memory, &limits.memory),
        storage: larger(&requests.storage, &limits.storage),
    };
    for (mib, at) in [&requests.memory, &limits.memory].into_iter().flatten() {
        if *mib < MIN_CONTAINER_MIB {
            r.refuse(
                at,
                format!(
                    "ECS takes at least {MIN_CONTAINER_MIB} MiB for a container's memory or memoryReservation"
                ),
            );
        }
    }
    Resources {
        demand,
        // A limit alone is also the request (the apiserver defaults it so in the pod).
        cpu: requests.cpu.as_ref().or(limits.cpu.as_ref()).map(|c| to_i32(c.0)),
        memory: limits.memory.as_ref().map(|m| to_i32(m.0)),
        memory_reservation: requests.memory.as_ref().map(|m| to_i32(m.0)),
    }
}

/// Pod-level resources (Kubernetes 1.34+): the task is at least this large.
fn pod_resources(res: &core::ResourceRequirements, at: &Path, r: &mut Refusals) -> Demand {
    let core::ResourceRequirements {
        claims,
        limits,
        requests,
    } = res;
    r.absent(
        any(claims),
        at,
        "claims",
        "Fargate has no dynamic resource allocation",
    );
    let requests = amounts(requests.as_ref(), &at.child("requests"), false, r);
    let limits = amounts(limits.as_ref(), &at.child("limits"), false, r);
    Demand {
        cpu: larger(&requests.cpu, &limits.cpu),
        memory: larger(&requests.memory, &limits.memory),
        storage: Need::default(),
    }
}

/// The smallest Fargate size that holds `total`, or a refusal naming the field that asks most.
fn task_size(total: &Demand, at: &Path, r: &mut Refusals) -> Option<Size> {
    let (cpu, memory) = (total.cpu.total, total.memory.total);
    if let Some((c, m)) = size::round_up(cpu, memory) {
        return Some(Size {
            cpu: c,
            memory: m,
            asked_cpu: u32::try_from(cpu).unwrap_or(u32::MAX),
            asked_memory: u32::try_from(memory).unwrap_or(u32::MAX),
        });
    }
    let fallback = at.child("containers");
    if cpu > u128::from(size::MAX_CPU) {
        r.refuse(
            total.cpu.at.as_ref().unwrap_or(&fallback),
            format!(
                "the task would need {} vCPU (app containers and sidecars add up, init containers count alone); \
                 Fargate's largest task has {} vCPU",
                vcpu(cpu),
                vcpu(u128::from(size::MAX_CPU))
            ),
        );
    }
    if memory > u128::from(size::MAX_MEMORY) {
        r.refuse(
            total.memory.at.as_ref().unwrap_or(&fallback),
            format!(
                "the task would need {memory} MiB (app containers and sidecars add up, init containers count alone); \
                 Fargate's largest task has {} MiB (120 GiB)",
                size::MAX_MEMORY
            ),
        );
    }
    None
}

/// Ephemeral storage past Fargate's free 20 GiB: `ephemeralStorage.sizeInGiB` (21-200).
fn storage(need: &Need, at: &Path, r: &mut Refusals) -> Option<td::EphemeralStorage> {
    let gib = need.total.div_ceil(1024);
    if gib <= FREE_STORAGE_GIB {
        return None;
    }
    if gib > MAX_STORAGE_GIB {
        r.refuse(
            need.at.as_ref().unwrap_or(&at.child("containers")),
            format!(
                "the task would need {gib} GiB of ephemeral storage (containers' ephemeral-storage and emptyDir \
                 sizeLimits add up); Fargate's ephemeralStorage is at most {MAX_STORAGE_GIB} GiB"
            ),
        );
        return None;
    }
    Some(td::EphemeralStorage {
        size_in_gib: to_i32(gib.max(FREE_STORAGE_GIB + 1)),
    })
}

// ---- volumes --------------------------------------------------------------------------------------

/// `emptyDir` volumes as task volumes, every volume's name, and the storage their size limits ask.
fn volumes_of(
    volumes: &[core::Volume],
    at: &Path,
    r: &mut Refusals,
) -> (Vec<td::Volume>, BTreeSet<String>, Need) {
    let mut out = Vec::new();
    let mut names = BTreeSet::new();
    let mut storage = Need::default();
    for (i, v) in volumes.iter().enumerate() {
        let at = at.index(i);
        let core::Volume {
            aws_elastic_block_store,
            azure_disk,
            azure_file,
            cephfs,
            cinder,
            config_map,
            csi,
            downward_api,
            empty_dir,
            ephemeral,
            fc,
            flex_volume,
            flocker,
            gce_persistent_disk,
            git_repo,
            glusterfs,
            host_path,
            image,
            iscsi,
            name,
            nfs,
            persistent_volume_claim,
            photon_persistent_disk,
            portworx_volume,
            projected,
            quobyte,
            rbd,
            scale_io,
            secret,
            storageos,
            vsphere_volume,
        } = v;
        names.insert(name.clone());
        let others = [
            (aws_elastic_block_store.is_some(), "awsElasticBlockStore"),
            (azure_disk.is_some(), "azureDisk"),
            (azure_file.is_some(), "azureFile"),
            (cephfs.is_some(), "cephfs"),
            (cinder.is_some(), "cinder"),
            (config_map.is_some(), "configMap"),
            (csi.is_some(), "csi"),
            (downward_api.is_some(), "downwardAPI"),
            (ephemeral.is_some(), "ephemeral"),
            (fc.is_some(), "fc"),
            (flex_volume.is_some(), "flexVolume"),
            (flocker.is_some(), "flocker"),
            (gce_persistent_disk.is_some(), "gcePersistentDisk"),
            (git_repo.is_some(), "gitRepo"),
            (glusterfs.is_some(), "glusterfs"),
            (host_path.is_some(), "hostPath"),
            (image.is_some(), "image"),
            (iscsi.is_some(), "iscsi"),
            (nfs.is_some(), "nfs"),
            (persistent_volume_claim.is_some(), "persistentVolumeClaim"),
            (photon_persistent_disk.is_some(), "photonPersistentDisk"),
            (portworx_volume.is_some(), "portworxVolume"),
            (projected.is_some(), "projected"),
            (quobyte.is_some(), "quobyte"),
            (rbd.is_some(), "rbd"),
            (scale_io.is_some(), "scaleIO"),
            (secret.is_some(), "secret"),
            (storageos.is_some(), "storageos"),
            (vsphere_volume.is_some(), "vsphereVolume"),
        ];
        let mut refused = false;
        for (set, field) in others {
            if set {
                refused = true;
                r.refuse(
                    &at.child(field),
                    "a task takes emptyDir volumes only (a Kubernetes object's data is never copied into ECS)",
                );
            }
        }
        if let Err(why) = ecs_name(name) {
            r.refuse(&at.child("name"), format!("ECS volume names: {why}"));
        }
        match empty_dir {
            Some(core::EmptyDirVolumeSource { medium, size_limit }) => {
                match medium.as_deref() {
                    None | Some("") => {}
                    Some(m) => r.refuse(
                        &at.child("emptyDir").child("medium"),
                        format!("{m}: Fargate has no memory-backed (tmpfs) volumes; remove medium for task storage"),
                    ),
                }
                if let Some(limit) = size_limit {
                    let limit_at = at.child("emptyDir").child("sizeLimit");
                    match quantity::parse(&limit.0) {
                        Ok(q) => storage = storage.plus(&Need::of(q.ceil_scaled(MIB.0, MIB.1), limit_at)),
                        Err(e) => r.refuse(&limit_at, e),
                    }
                }
                out.push(td::Volume {
                    name: name.clone(),
                    ..td::Volume::default()
                });
            }
            None if !refused => {
                // No source at all is an emptyDir to the apiserver (it defaults one in).
                out.push(td::Volume {
                    name: name.clone(),
                    ..td::Volume::default()
                });
            }
            None => {}
        }
    }
    (out, names, storage)
}

fn mount(m: &core::VolumeMount, at: &Path, volumes: &BTreeSet<String>, r: &mut Refusals) -> td::MountPoint {
    let core::VolumeMount {
        mount_path,
        mount_propagation,
        name,
        read_only,
        // Only emptyDir volumes mount, and they hold no submounts: recursiveReadOnly changes nothing.
        recursive_read_only: _,
        sub_path,
        sub_path_expr,
    } = m;
    if !volumes.contains(name) {
        r.refuse(&at.child("name"), format!("names no volume of the pod: {name:?}"));
    }
    match mount_propagation.as_deref() {
        None | Some("" | "None") => {}
        Some(p) => r.refuse(
            &at.child("mountPropagation"),
            format!("{p}: ECS mounts have no propagation"),
        ),
    }
    r.absent(
        text(sub_path),
        at,
        "subPath",
        "ECS mounts a whole volume (no subPath)",
    );
    r.absent(
        text(sub_path_expr),
        at,
        "subPathExpr",
        "ECS mounts a whole volume (no subPathExpr)",
    );
    td::MountPoint {
        source_volume: name.clone(),
        container_path: mount_path.clone(),
        read_only: read_only.filter(|&ro| ro),
    }
}

// ---- containers -----------------------------------------------------------------------------------

fn container(c: &core::Container, at: &Path, init: bool, pod: &Shared<'_>, r: &mut Refusals) -> Part {
    let core::Container {
        args,
        command,
        env,
        env_from,
        image,
        image_pull_policy,
        lifecycle,
        liveness_probe,
        name,
        ports,
        readiness_probe,
        // How to apply an in-place resize: a task is never resized. Accepted without effect.
        resize_policy: _,
        resources,
        restart_policy,
        restart_policy_rules,
        security_context,
        startup_probe,
        stdin,
        stdin_once,
        termination_message_path,
        termination_message_policy,
        tty,
        volume_devices,
        volume_mounts,
        working_dir,
    } = c;
    let role = match (init, restart_policy.as_deref()) {
        (false, None) => Role::App,
        (true, None) => Role::Init,
        (true, Some("Always")) => Role::Sidecar,
        (true, Some(other)) => {
            r.refuse(
                &at.child("restartPolicy"),
                format!("{other}: an init container takes Always (a sidecar) or nothing"),
            );
            Role::Init
        }
        (false, Some(other)) => {
            r.refuse(
                &at.child("restartPolicy"),
                format!(
                    "{other}: ECS does not restart a container in place; a failed task is replaced by the Job"
                ),
            );
            Role::App
        }
    };
    r.absent(
        any(restart_policy_rules),
        at,
        "restartPolicyRules",
        "ECS does not restart a container in place; a failed task is replaced by the Job",
    );
    if let Err(why) = ecs_name(name) {
        r.refuse(&at.child("name"), format!("ECS container names: {why}"));
    }
    let image = image_of(image.as_deref(), &at.child("image"), pod.execution_role, r);
    match image_pull_policy.as_deref() {
        // Fargate pulls the image for every task: Always is what happens, and IfNotPresent finds
        // nothing present. Both accepted.
        None | Some("" | "Always" | "IfNotPresent") => {}
        Some(other) => r.refuse(
            &at.child("imagePullPolicy"),
            format!("{other}: Fargate pulls the image for every task (Always or IfNotPresent)"),
        ),
    }
    r.absent(
        any(env_from),
        at,
        "envFrom",
        "a Kubernetes ConfigMap's or Secret's data is never copied into ECS: use env values, or ECS secrets \
         (the pod template's ecs.kubefargate.dev/secrets annotation)",
    );
    let secrets = pod.secrets.get(name).cloned().unwrap_or_default();
    let secret_names: BTreeSet<&str> = secrets.iter().map(|s| s.name.as_str()).collect();
    let (environment, vars) = environment_of(
        env.as_deref().unwrap_or_default(),
        &at.child("env"),
        &secret_names,
        r,
    );
    for s in &secrets {
        if vars.contains_key(&s.name) {
            r.refuse(
                &pod.secrets_at,
                format!("container {name:?}: {} is both in env and a secret", s.name),
            );
        }
    }
    let mut expand_all = |list: &Option<Vec<String>>, field: &str| -> Vec<String> {
        let list_at = at.child(field);
        list.iter()
            .flatten()
            .enumerate()
            .map(|(k, s)| expand_checked(s, &vars, &secret_names, &list_at.index(k), r))
            .collect()
    };
    // Kubernetes' command replaces the image's ENTRYPOINT, its args the image's CMD.
    let entry_point = expand_all(command, "command");
    let ecs_command = expand_all(args, "args");
    if let Some(core::Lifecycle {
        post_start,
        pre_stop,
        stop_signal,
    }) = lifecycle
    {
        let at = at.child("lifecycle");
        r.absent(
            post_start.is_some(),
            &at,
            "postStart",
            "ECS has no container lifecycle hooks",
        );
        r.absent(pre_stop.is_some(), &at, "preStop", "ECS has no container lifecycle hooks (a task's containers get SIGTERM, then SIGKILL after stopTimeout)");
        r.absent(
            text(stop_signal),
            &at,
            "stopSignal",
            "ECS stops containers with the image's STOPSIGNAL (or SIGTERM)",
        );
    }
    let health_check = probes(
        [
            ("livenessProbe", liveness_probe.as_ref()),
            ("startupProbe", startup_probe.as_ref()),
            ("readinessProbe", readiness_probe.as_ref()),
        ],
        at,
        r,
    );
    let port_mappings = ports
        .iter()
        .flatten()
        .enumerate()
        .filter_map(|(k, p)| port(p, &at.child("ports").index(k), r))
        .collect();
    let res = container_resources(resources.as_ref(), &at.child("resources"), r);
    let security = container_security(
        security_context.as_ref(),
        &pod.security,
        &at.child("securityContext"),
        r,
    );
    r.absent(yes(stdin), at, "stdin", "a task's containers have no stdin");
    r.absent(
        yes(stdin_once),
        at,
        "stdinOnce",
        "a task's containers have no stdin",
    );
    r.absent(
        yes(tty),
        at,
        "tty",
        "ecs-controller does not give containers a terminal",
    );
    match termination_message_path.as_deref() {
        None | Some("" | "/dev/termination-log") => {}
        Some(p) => r.refuse(
            &at.child("terminationMessagePath"),
            format!("{p}: ECS reads no termination message (only /dev/termination-log, the apiserver's default, is accepted)"),
        ),
    }
    match termination_message_policy.as_deref() {
        None | Some("" | "File") => {}
        Some(p) => r.refuse(
            &at.child("terminationMessagePolicy"),
            format!(
                "{p}: ECS reads no termination message (only File, the apiserver's default, is accepted)"
            ),
        ),
    }
    r.absent(
        any(volume_devices),
        at,
        "volumeDevices",
        "Fargate has no block devices",
    );
    let mount_points = volume_mounts
        .iter()
        .flatten()
        .enumerate()
        .map(|(k, m)| mount(m, &at.child("volumeMounts").index(k), &pod.volumes, r))
        .collect();
    // Init containers run alone (with the sidecars before them): their requests size the task, and
    // as ECS reservations they would count against it beside the app containers, so only their hard
    // memory limit is kept.
    let reserves = role != Role::Init;
    let def = ContainerDefinition {
        name: name.clone(),
        image,
        cpu: res.cpu.filter(|_| reserves),
        memory: res.memory,
        memory_reservation: res.memory_reservation.filter(|_| reserves),
        essential: Some(role == Role::App),
        port_mappings,
        environment,
        secrets,
        command: ecs_command,
        entry_point,
        working_directory: working_dir.clone().filter(|w| !w.is_empty()),
        health_check,
        mount_points,
        linux_parameters: security.linux_parameters,
        readonly_root_filesystem: security.readonly_root_filesystem,
        user: security.user,
        stop_timeout: pod.stop_timeout,
        ..ContainerDefinition::default()
    };
    Part {
        at: at.clone(),
        role,
        def,
        demand: res.demand,
    }
}

/// ECS container and volume names: "Up to 255 letters (uppercase and lowercase), numbers, underscores,
/// and hyphens are allowed" (ContainerDefinition `name`, Volume `name`).
fn ecs_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 255 {
        return Err(format!("1-255 characters, not {}", name.len()));
    }
    match name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        Some(c) => Err(format!("letters, digits, - and _ only, not {c:?}")),
        None => Ok(()),
    }
}

/// An environment variable's name: not empty and without `=` (an environment entry is `NAME=value`;
/// the apiserver refuses both already, and ECS would pass `A=B` on as the variable `A`).
fn env_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        Err("needs a name".into())
    } else if name.contains('=') || name.contains('\0') {
        Err("cannot contain '=' or NUL".into())
    } else {
        Ok(())
    }
}

/// The image, checked against ECS's limits, and for ECR against the execution role it needs.
fn image_of(image: Option<&str>, at: &Path, execution_role: bool, r: &mut Refusals) -> String {
    let Some(image) = image.filter(|i| !i.is_empty()) else {
        r.refuse(at, "a container needs an image");
        return String::new();
    };
    // ECS ContainerDefinition `image`: "up to 255 characters total" with a tag; with a digest "the
    // 255 character limit applies only to the repository URL and image name".
    let repository = image.split_once('@').map_or(image, |(repo, _)| repo);
    if repository.len() > 255 {
        r.refuse(
            at,
            format!(
                "ECS takes image names of up to 255 characters (before any @digest), not {}",
                repository.len()
            ),
        );
    }
    // ECS pulls from ECR with the task execution role; without one the task stops with
    // CannotPullContainerError.
    let host = image.split('/').next().unwrap_or_default();
    if !execution_role && image.contains('/') && host.contains(".dkr.ecr.") {
        r.refuse(
            at,
            "ECS pulls ECR images with the task execution role, and the FargateProfile names none",
        );
    }
    image.to_string()
}

/// `env` as ECS `environment` (one entry per name, the last value winning, as in the kubelet), with
/// `$(VAR)` references expanded as the kubelet does; and the final values, for `command` and `args`.
fn environment_of(
    env: &[core::EnvVar],
    at: &Path,
    secret_names: &BTreeSet<&str>,
    r: &mut Refusals,
) -> (Vec<td::KeyValuePair>, BTreeMap<String, String>) {
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for (j, e) in env.iter().enumerate() {
        let at = at.index(j);
        let core::EnvVar {
            name,
            value,
            value_from,
        } = e;
        if let Some(source) = value_from {
            value_from_refused(source, &at.child("valueFrom"), r);
            continue;
        }
        if let Err(why) = env_name(name) {
            r.refuse(&at.child("name"), why);
            continue;
        }
        let value = expand_checked(
            value.as_deref().unwrap_or_default(),
            &vars,
            secret_names,
            &at.child("value"),
            r,
        );
        if vars.insert(name.clone(), value).is_none() {
            order.push(name.clone());
        }
    }
    let environment = order
        .into_iter()
        .filter_map(|name| {
            let value = vars.get(&name)?.clone();
            Some(td::KeyValuePair { name, value })
        })
        .collect();
    (environment, vars)
}

/// Every kind of `valueFrom`, refused: a Kubernetes object's value never goes into ECS in plain text.
fn value_from_refused(source: &core::EnvVarSource, at: &Path, r: &mut Refusals) {
    let core::EnvVarSource {
        config_map_key_ref,
        field_ref,
        file_key_ref,
        resource_field_ref,
        secret_key_ref,
    } = source;
    let mut refused = false;
    let mut refuse = |set: bool, field: &str, why: &str| {
        if set {
            refused = true;
            r.refuse(&at.child(field), why);
        }
    };
    refuse(
        secret_key_ref.is_some(),
        "secretKeyRef",
        "a Kubernetes Secret's value is never copied into ECS (a task definition is readable in plain text): \
         store it in Secrets Manager or SSM and name it in the ecs.kubefargate.dev/secrets annotation",
    );
    refuse(
        config_map_key_ref.is_some(),
        "configMapKeyRef",
        "a ConfigMap's data is not copied into ECS: set the value in env, or use ECS secrets",
    );
    refuse(
        field_ref.is_some(),
        "fieldRef",
        "a task has no pod fields to read (ECS gives containers ECS_CONTAINER_METADATA_URI_V4 instead)",
    );
    refuse(
        resource_field_ref.is_some(),
        "resourceFieldRef",
        "a task has no pod resources to read (ECS gives containers ECS_CONTAINER_METADATA_URI_V4 instead)",
    );
    refuse(
        file_key_ref.is_some(),
        "fileKeyRef",
        "a task has no Kubernetes volumes to read variables from",
    );
    if !refused {
        r.refuse(at, "is empty: set a value instead");
    }
}

/// `input` expanded as the kubelet expands `$(VAR)`; a reference to one of the container's ECS secrets
/// is refused (its value never passes through the controller, so it would stay literal).
fn expand_checked(
    input: &str,
    vars: &BTreeMap<String, String>,
    secret_names: &BTreeSet<&str>,
    at: &Path,
    r: &mut Refusals,
) -> String {
    let Some((out, unresolved)) = expand(input, vars) else {
        r.refuse(
            at,
            format!("expands past {MAX_TASK_DEFINITION_BYTES} bytes, more than ECS takes for a whole task definition"),
        );
        return String::new();
    };
    for name in unresolved {
        if secret_names.contains(name.as_str()) {
            r.refuse(
                at,
                format!(
                    "$({name}) names an ECS secret, whose value the controller never sees: read the variable \
                     in the program instead"
                ),
            );
        }
    }
    out
}

/// Kubernetes' `$(VAR)` expansion (`third_party/forked/golang/expansion`): `$$` is `$`, `$(NAME)` the
/// value of NAME if defined (else left as written), any other `$` as written. Returns the result and
/// the references left unresolved; `None` past [`MAX_TASK_DEFINITION_BYTES`] (`A=$(A)$(A)` repeated
/// doubles at every step, and would exhaust memory long before ECS refused it).
fn expand(input: &str, vars: &BTreeMap<String, String>) -> Option<(String, Vec<String>)> {
    let mut out = String::with_capacity(input.len());
    let mut unresolved = Vec::new();
    let mut rest = input;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        match after.chars().next() {
            None => {
                out.push('$');
                rest = after;
            }
            Some('$') => {
                out.push('$');
                rest = &after[1..];
            }
            Some('(') => match after.find(')') {
                Some(close) => {
                    let name = &after[1..close];
                    match vars.get(name) {
                        Some(v) if out.len() + v.len() > MAX_TASK_DEFINITION_BYTES => return None,
                        Some(v) => out.push_str(v),
                        None => {
                            out.push_str("$(");
                            out.push_str(name);
                            out.push(')');
                            unresolved.push(name.to_string());
                        }
                    }
                    rest = &after[close + 1..];
                }
                None => {
                    out.push_str("$(");
                    rest = &after[1..];
                }
            },
            Some(c) => {
                out.push('$');
                out.push(c);
                rest = &after[c.len_utf8()..];
            }
        }
    }
    out.push_str(rest);
    Some((out, unresolved))
}

fn port(p: &core::ContainerPort, at: &Path, r: &mut Refusals) -> Option<td::PortMapping> {
    let core::ContainerPort {
        container_port,
        host_ip,
        host_port,
        name,
        protocol,
    } = p;
    r.absent(
        text(host_ip),
        at,
        "hostIP",
        "a Fargate task has its own network interface (awsvpc): no host IP",
    );
    if let Some(h) = host_port.filter(|&h| h != 0 && h != *container_port) {
        r.refuse(
            &at.child("hostPort"),
            format!("{h}: with awsvpc networking (Fargate) hostPort must be omitted or equal containerPort"),
        );
    }
    let protocol = match protocol.as_deref() {
        None | Some("" | "TCP") => "tcp",
        Some("UDP") => "udp",
        Some(other) => {
            r.refuse(
                &at.child("protocol"),
                format!("{other}: ECS port mappings are TCP or UDP"),
            );
            return None;
        }
    };
    if !(1..=65535).contains(container_port) {
        r.refuse(
            &at.child("containerPort"),
            format!("{container_port}: ports are 1-65535"),
        );
        return None;
    }
    Some(td::PortMapping {
        container_port: Some(*container_port),
        protocol: Some(protocol.into()),
        name: name.clone().filter(|n| !n.is_empty()),
        ..td::PortMapping::default()
    })
}

/// One ECS health check from the container's probes: the first set of liveness, startup, readiness;
/// any other is refused (ECS has one health check per container).
fn probes(probes: [(&str, Option<&core::Probe>); 3], at: &Path, r: &mut Refusals) -> Option<td::HealthCheck> {
    let mut chosen: Option<(&str, Option<td::HealthCheck>)> = None;
    for (field, probe) in probes {
        let Some(probe) = probe else { continue };
        match chosen {
            None => chosen = Some((field, health_check(probe, &at.child(field), r))),
            Some((first, _)) => r.refuse(
                &at.child(field),
                format!("ECS has one health check per container, and {first} is it"),
            ),
        }
    }
    chosen.and_then(|(_, check)| check)
}

/// An `exec` probe as an ECS health check. Kubernetes' defaults fill what is unset (period 10 s,
/// timeout 1 s, failure threshold 3), within ECS's ranges: interval 5-300, timeout 2-60, retries 1-10,
/// startPeriod 0-300 (ECS HealthCheck). A 1 s timeout (the apiserver's default) becomes 2, ECS's least.
fn health_check(p: &core::Probe, at: &Path, r: &mut Refusals) -> Option<td::HealthCheck> {
    let core::Probe {
        exec,
        failure_threshold,
        grpc,
        http_get,
        initial_delay_seconds,
        period_seconds,
        success_threshold,
        tcp_socket,
        termination_grace_period_seconds,
        timeout_seconds,
    } = p;
    const CHECKED_IN_CONTAINER: &str =
        "ECS health checks run a command in the container: use exec (e.g. curl or nc in the image)";
    r.absent(http_get.is_some(), at, "httpGet", CHECKED_IN_CONTAINER);
    r.absent(tcp_socket.is_some(), at, "tcpSocket", CHECKED_IN_CONTAINER);
    r.absent(grpc.is_some(), at, "grpc", CHECKED_IN_CONTAINER);
    r.absent(
        termination_grace_period_seconds.is_some(),
        at,
        "terminationGracePeriodSeconds",
        "an ECS health check has no grace period of its own (stopTimeout comes from the pod's terminationGracePeriodSeconds)",
    );
    if success_threshold.is_some_and(|s| s != 1) {
        r.refuse(
            &at.child("successThreshold"),
            "ECS counts a container healthy after one success: only 1 is accepted",
        );
    }
    let mut ranged = |value: i32, field: &str, (lo, hi): (i32, i32), ecs: &str| -> Option<i32> {
        if (lo..=hi).contains(&value) {
            Some(value)
        } else {
            r.refuse(
                &at.child(field),
                format!("{value}: it becomes the ECS health check's {ecs}, which takes {lo}-{hi}"),
            );
            None
        }
    };
    let interval = ranged(
        period_seconds.unwrap_or(10),
        "periodSeconds",
        (5, 300),
        "interval",
    );
    let timeout = ranged(
        timeout_seconds.unwrap_or(1).max(2),
        "timeoutSeconds",
        (2, 60),
        "timeout",
    );
    let retries = ranged(
        failure_threshold.unwrap_or(3),
        "failureThreshold",
        (1, 10),
        "retries",
    );
    let start_period = ranged(
        initial_delay_seconds.unwrap_or(0),
        "initialDelaySeconds",
        (0, 300),
        "startPeriod",
    );
    let command = match exec {
        Some(core::ExecAction { command: Some(c) }) if !c.is_empty() => c,
        Some(_) => {
            r.refuse(
                &at.child("exec").child("command"),
                "an exec probe needs a command",
            );
            return None;
        }
        // http/tcp/grpc: refused above.
        None => return None,
    };
    Some(td::HealthCheck {
        // CMD: run the command directly, as Kubernetes' exec does (no shell).
        command: std::iter::once("CMD".to_string())
            .chain(command.iter().cloned())
            .collect(),
        interval,
        timeout,
        retries,
        start_period,
    })
}

// ---- security -------------------------------------------------------------------------------------

/// What the pod's securityContext gives every container.
#[derive(Clone, Debug, Default)]
struct PodSecurity {
    run_as_user: Option<i64>,
    run_as_group: Option<i64>,
    run_as_non_root: Option<(bool, Path)>,
}

fn pod_security(sc: Option<&core::PodSecurityContext>, at: &Path, r: &mut Refusals) -> PodSecurity {
    let Some(core::PodSecurityContext {
        app_armor_profile,
        fs_group,
        fs_group_change_policy,
        run_as_group,
        run_as_non_root,
        run_as_user,
        se_linux_change_policy,
        se_linux_options,
        seccomp_profile,
        supplemental_groups,
        supplemental_groups_policy,
        sysctls,
        windows_options,
    }) = sc
    else {
        return PodSecurity::default();
    };
    r.absent(
        app_armor_profile.is_some(),
        at,
        "appArmorProfile",
        "AppArmor is not available on Fargate",
    );
    r.absent(
        fs_group.is_some(),
        at,
        "fsGroup",
        "ECS does not change volume ownership (no fsGroup)",
    );
    r.absent(
        text(fs_group_change_policy),
        at,
        "fsGroupChangePolicy",
        "ECS does not change volume ownership (no fsGroup)",
    );
    r.absent(
        text(se_linux_change_policy),
        at,
        "seLinuxChangePolicy",
        "SELinux is not available on Fargate",
    );
    r.absent(
        se_linux_options.is_some(),
        at,
        "seLinuxOptions",
        "SELinux is not available on Fargate",
    );
    seccomp(seccomp_profile.as_ref(), &at.child("seccompProfile"), r);
    r.absent(
        any(supplemental_groups),
        at,
        "supplementalGroups",
        "ECS's user takes one uid and one gid (no supplemental groups)",
    );
    r.absent(
        text(supplemental_groups_policy),
        at,
        "supplementalGroupsPolicy",
        "ECS's user takes one uid and one gid (no supplemental groups)",
    );
    r.absent(
        any(sysctls),
        at,
        "sysctls",
        "ecs-controller does not set kernel parameters on Fargate tasks",
    );
    r.absent(
        windows_options.is_some(),
        at,
        "windowsOptions",
        "ecs-controller runs Jobs on Linux Fargate tasks only",
    );
    PodSecurity {
        run_as_user: *run_as_user,
        run_as_group: *run_as_group,
        run_as_non_root: run_as_non_root.map(|v| (v, at.child("runAsNonRoot"))),
    }
}

/// RuntimeDefault is "the container runtime's default profile", which is what a Fargate task gets;
/// any other profile cannot be set on Fargate.
fn seccomp(p: Option<&core::SeccompProfile>, at: &Path, r: &mut Refusals) {
    let Some(core::SeccompProfile {
        localhost_profile,
        type_,
    }) = p
    else {
        return;
    };
    if type_ != "RuntimeDefault" {
        r.refuse(
            &at.child("type"),
            format!("{type_}: a Fargate task runs with its runtime's default seccomp profile (RuntimeDefault) only"),
        );
    }
    r.absent(
        text(localhost_profile),
        at,
        "localhostProfile",
        "Fargate cannot load seccomp profiles",
    );
}

/// What a container's securityContext (over the pod's) becomes in ECS.
struct Security {
    readonly_root_filesystem: Option<bool>,
    user: Option<String>,
    linux_parameters: Option<td::LinuxParameters>,
}

fn container_security(
    sc: Option<&core::SecurityContext>,
    pod: &PodSecurity,
    at: &Path,
    r: &mut Refusals,
) -> Security {
    let empty = core::SecurityContext::default();
    let core::SecurityContext {
        allow_privilege_escalation,
        app_armor_profile,
        capabilities,
        privileged,
        proc_mount,
        read_only_root_filesystem,
        run_as_group,
        run_as_non_root,
        run_as_user,
        se_linux_options,
        seccomp_profile,
        windows_options,
    } = sc.unwrap_or(&empty);
    if *allow_privilege_escalation == Some(false) {
        // ECS's no-new-privileges (dockerSecurityOptions) is not available on Fargate: accepting it
        // would quietly run the container without the protection asked for.
        r.refuse(
            &at.child("allowPrivilegeEscalation"),
            "false cannot be enforced on Fargate (no no_new_privs): remove it or set true",
        );
    }
    r.absent(
        app_armor_profile.is_some(),
        at,
        "appArmorProfile",
        "AppArmor is not available on Fargate",
    );
    r.absent(
        yes(privileged),
        at,
        "privileged",
        "Fargate does not run privileged containers",
    );
    match proc_mount.as_deref() {
        None | Some("" | "Default") => {}
        Some(p) => r.refuse(
            &at.child("procMount"),
            format!("{p}: Fargate mounts /proc its default way"),
        ),
    }
    r.absent(
        se_linux_options.is_some(),
        at,
        "seLinuxOptions",
        "SELinux is not available on Fargate",
    );
    seccomp(seccomp_profile.as_ref(), &at.child("seccompProfile"), r);
    r.absent(
        windows_options.is_some(),
        at,
        "windowsOptions",
        "ecs-controller runs Jobs on Linux Fargate tasks only",
    );

    // The container's settings win over the pod's, as in Kubernetes.
    let uid = run_as_user.or(pod.run_as_user);
    let gid = run_as_group.or(pod.run_as_group);
    let user = match (uid, gid) {
        (Some(u), Some(g)) => Some(format!("{u}:{g}")),
        (Some(u), None) => Some(u.to_string()),
        (None, Some(_)) => {
            let at = if run_as_group.is_some() {
                at.child("runAsGroup")
            } else {
                Path::root()
                    .child("spec")
                    .child("securityContext")
                    .child("runAsGroup")
            };
            r.refuse(
                &at,
                "ECS's user takes a group only after a user (\"uid:gid\"): set runAsUser too",
            );
            None
        }
        (None, None) => None,
    };
    let non_root = run_as_non_root
        .map(|v| (v, at.child("runAsNonRoot")))
        .or_else(|| pod.run_as_non_root.clone());
    if let Some((true, non_root_at)) = non_root
        && uid.is_none_or(|u| u == 0)
    {
        r.refuse(
            &non_root_at,
            "ECS cannot check the image's user before starting it: set runAsUser to a non-zero uid, \
             which the container then runs as",
        );
    }
    let capabilities = capabilities
        .as_ref()
        .and_then(|c| kernel_capabilities(c, &at.child("capabilities"), r));
    Security {
        readonly_root_filesystem: read_only_root_filesystem.filter(|&ro| ro),
        user,
        linux_parameters: capabilities.map(|c| td::LinuxParameters {
            capabilities: Some(c),
            init_process_enabled: None,
        }),
    }
}

/// `capabilities` as ECS's: Fargate adds SYS_PTRACE only ("Fargate supports adding the
/// CAP_SYS_PTRACE Linux capability"); drop takes ECS's valid names. `CAP_` prefixes are dropped.
fn kernel_capabilities(
    c: &core::Capabilities,
    at: &Path,
    r: &mut Refusals,
) -> Option<td::KernelCapabilities> {
    let core::Capabilities { add, drop } = c;
    let bare = |s: &String| s.strip_prefix("CAP_").unwrap_or(s).to_string();
    let mut out = td::KernelCapabilities::default();
    for (k, cap) in add.iter().flatten().enumerate() {
        let name = bare(cap);
        if name == "SYS_PTRACE" {
            out.add.push(name);
        } else {
            r.refuse(
                &at.child("add").index(k),
                format!("{cap}: Fargate allows adding only SYS_PTRACE"),
            );
        }
    }
    for (k, cap) in drop.iter().flatten().enumerate() {
        let name = bare(cap);
        if ECS_CAPABILITIES.contains(&name.as_str()) {
            out.drop.push(name);
        } else {
            r.refuse(
                &at.child("drop").index(k),
                format!("{cap}: not a capability ECS knows (ALL, CHOWN, NET_RAW, SYS_ADMIN, ...)"),
            );
        }
    }
    (out != td::KernelCapabilities::default()).then_some(out)
}

#[cfg(test)]
mod tests;
