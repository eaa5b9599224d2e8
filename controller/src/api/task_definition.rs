//! `TaskDefinition`: one ECS task-definition family; each spec change registers one new revision.
//!
//! The spec mirrors the ECS RegisterTaskDefinition input in camelCase, so the body of an existing
//! `task-definition.json` can be pasted under `spec:` (or converted with
//! `ecs-controller import task-definition FILE.json`).

use super::{Condition, Tag};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Older ACTIVE revisions kept when `revisionHistoryLimit` is not set.
pub const DEFAULT_REVISION_HISTORY_LIMIT: i32 = 3;

/// `cpu` in CPU units, from "1024", "1 vCPU" or "0.25 vCPU" (CEL; used by several rules).
macro_rules! cpu_units {
    () => {
        "(self.cpu.matches('^[0-9]+$') ? int(self.cpu) : int(double(self.cpu.lowerAscii().replace('vcpu', '').trim()) * 1024.0))"
    };
}
/// `memory` in MiB, from "2048", "2 GB" or "0.5 GB" (CEL).
macro_rules! memory_mib {
    () => {
        "(self.memory.matches('^[0-9]+$') ? int(self.memory) : int(double(self.memory.lowerAscii().replace('gb', '').trim()) * 1024.0))"
    };
}

/// Desired state of an ECS task-definition family.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "ecs.kubefargate.dev",
    version = "v1alpha1",
    kind = "TaskDefinition",
    namespaced,
    status = "TaskDefinitionStatus",
    shortname = "ecstd",
    category = "ecs",
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Reason",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].reason"
    ),
    printcolumn(name = "Revision", type_ = "integer", json_path = ".status.revision"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    printcolumn(name = "ARN", type_ = "string", json_path = ".status.arn", priority = "1"),
    printcolumn(
        name = "Message",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].message",
        priority = "1"
    ),
    doc = "An ECS task-definition family managed by ecs-controller."
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.family) == has(oldSelf.family) && (!has(self.family) || self.family == oldSelf.family)").message("family is immutable: create a new TaskDefinition instead"))]
#[x_kube(validation = Rule::new(super::TAGS_RULE_RESERVED).message(super::TAGS_MESSAGE_RESERVED))]
// ECS (RegisterTaskDefinition.cpu / .memory): "expressed as an integer using CPU units (for example,
// 1024) or as a string using vCPUs (for example, 1 vCPU or 1 vcpu)"; memory "in MiB (for example, 1024)
// or as a string using GB (for example, 1GB or 1 GB)". AWS's task size table writes ".25 vCPU" and
// ".5GB": fractions with or without a leading zero, any case, a space or none.
#[x_kube(validation = Rule::new("!has(self.cpu) || self.cpu.matches('^([0-9]+|([0-9]+(\\\\.[0-9]+)?|\\\\.[0-9]+) ?(?i:vcpu))$')").message("cpu must be CPU units (\"1024\") or vCPUs (\"1 vCPU\", \"0.25 vCPU\", \".25 vcpu\")"))]
#[x_kube(validation = Rule::new("!has(self.memory) || self.memory.matches('^([0-9]+|([0-9]+(\\\\.[0-9]+)?|\\\\.[0-9]+) ?(?i:gb))$')").message("memory must be MiB (\"2048\") or GB (\"2 GB\", \"0.5 GB\", \".5 gb\")"))]
#[x_kube(validation = Rule::new(concat!("!(", "has(self.requiresCompatibilities) && 'FARGATE' in self.requiresCompatibilities", ") || (has(self.networkMode) && self.networkMode == 'awsvpc')")).message("Fargate requires networkMode: awsvpc"))]
#[x_kube(validation = Rule::new(concat!("!(", "has(self.requiresCompatibilities) && 'FARGATE' in self.requiresCompatibilities", ") || (has(self.cpu) && has(self.memory))")).message("Fargate requires task-level cpu and memory"))]
#[x_kube(validation = Rule::new(concat!(
    "!(has(self.requiresCompatibilities) && 'FARGATE' in self.requiresCompatibilities) || !has(self.cpu) || !has(self.memory) || ",
    "!self.cpu.matches('^([0-9]+|([0-9]+(\\\\.[0-9]+)?|\\\\.[0-9]+) ?(?i:vcpu))$') || !self.memory.matches('^([0-9]+|([0-9]+(\\\\.[0-9]+)?|\\\\.[0-9]+) ?(?i:gb))$') || ",
    "[", cpu_units!(), "].all(c, [", memory_mib!(), "].all(m, ",
    "(c == 256 && (m == 512 || m == 1024 || m == 2048)) || ",
    "(c == 512 && m >= 1024 && m <= 4096 && m % 1024 == 0) || ",
    "(c == 1024 && m >= 2048 && m <= 8192 && m % 1024 == 0) || ",
    "(c == 2048 && m >= 4096 && m <= 16384 && m % 1024 == 0) || ",
    "(c == 4096 && m >= 8192 && m <= 30720 && m % 1024 == 0) || ",
    "(c == 8192 && m >= 16384 && m <= 61440 && m % 4096 == 0) || ",
    "(c == 16384 && m >= 32768 && m <= 122880 && m % 8192 == 0)))"
)).message("cpu/memory is not a Fargate size: cpu 256 takes memory 512, 1024 or 2048; 512 takes 1024-4096; 1024 takes 2048-8192; 2048 takes 4096-16384 (by 1024); 4096 takes 8192-30720 (by 1024); 8192 takes 16384-61440 (by 4096); 16384 takes 32768-122880 (by 8192)"))]
#[x_kube(validation = Rule::new(concat!(
    "!has(self.cpu) || !self.cpu.matches('^([0-9]+|([0-9]+(\\\\.[0-9]+)?|\\\\.[0-9]+) ?(?i:vcpu))$') || ",
    "self.containerDefinitions.map(c, has(c.cpu) ? c.cpu : 0).sum() <= ", cpu_units!()
)).message("the containers' cpu adds up to more than the task's cpu"))]
#[x_kube(validation = Rule::new(concat!(
    "!has(self.memory) || !self.memory.matches('^([0-9]+|([0-9]+(\\\\.[0-9]+)?|\\\\.[0-9]+) ?(?i:gb))$') || ",
    "[", memory_mib!(), "].all(m, self.containerDefinitions.all(c, (!has(c.memory) || c.memory <= m) && (!has(c.memoryReservation) || c.memoryReservation <= m)))"
)).message("a container's memory (or memoryReservation) is more than the task's memory"))]
#[x_kube(validation = Rule::new("has(self.memory) || self.containerDefinitions.all(c, has(c.memory) || has(c.memoryReservation))").message("without task-level memory, every container needs memory or memoryReservation"))]
#[x_kube(validation = Rule::new("self.containerDefinitions.exists(c, !has(c.essential) || c.essential)").message("at least one container must be essential"))]
#[x_kube(validation = Rule::new(concat!("!(", "has(self.requiresCompatibilities) && 'FARGATE' in self.requiresCompatibilities", ") || !has(self.pidMode) || self.pidMode == 'task'")).message("Fargate supports only pidMode: task"))]
#[x_kube(validation = Rule::new(concat!("!(", "has(self.requiresCompatibilities) && 'FARGATE' in self.requiresCompatibilities", ") || !has(self.ipcMode)")).message("Fargate does not support ipcMode"))]
#[x_kube(validation = Rule::new("!has(self.volumes) || self.containerDefinitions.all(c, !has(c.mountPoints) || c.mountPoints.all(p, self.volumes.exists(v, v.name == p.sourceVolume)))").message("a mountPoint names a sourceVolume that is not in volumes"))]
#[x_kube(validation = Rule::new("has(self.volumes) || self.containerDefinitions.all(c, !has(c.mountPoints) || size(c.mountPoints) == 0)").message("a mountPoint names a sourceVolume that is not in volumes"))]
#[x_kube(validation = Rule::new("self.containerDefinitions.all(c, !has(c.dependsOn) || c.dependsOn.all(d, self.containerDefinitions.exists(o, o.name == d.containerName)))").message("dependsOn must name another container of this task"))]
#[x_kube(validation = Rule::new("has(self.region) == has(oldSelf.region) && (!has(self.region) || self.region == oldSelf.region)").message("region is immutable: create a new TaskDefinition instead"))]
// ECS (ContainerDefinition.stopTimeout): "For tasks using the Fargate launch type, the max stop timeout
// value is 120 seconds"; (.startTimeout): "The valid values for Fargate are 2-120 seconds". On EC2 the
// API sets no maximum: the cap holds only for a task definition that requires FARGATE.
#[x_kube(validation = Rule::new(concat!(
    "!(has(self.requiresCompatibilities) && 'FARGATE' in self.requiresCompatibilities) || ",
    "self.containerDefinitions.all(c, (!has(c.stopTimeout) || c.stopTimeout <= 120) && (!has(c.startTimeout) || c.startTimeout <= 120))"
)).message("on Fargate, a container's stopTimeout and startTimeout are at most 120 seconds"))]
// ECS (PortMapping.hostPort): "If you use containers in a task with the awsvpc or host network mode,
// the hostPort can either be left blank or set to the same value as the containerPort." In bridge mode
// any host port goes (a static port mapping).
#[x_kube(validation = Rule::new(concat!(
    "!has(self.networkMode) || !(self.networkMode in ['awsvpc', 'host']) || ",
    "self.containerDefinitions.all(c, !has(c.portMappings) || c.portMappings.all(p, !has(p.hostPort) || (has(p.containerPort) && p.hostPort == p.containerPort)))"
)).message("with networkMode awsvpc or host, a portMappings[].hostPort must be omitted or equal its containerPort"))]
pub struct TaskDefinitionSpec {
    /// Task-definition family; defaults to metadata.name. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 255), regex(pattern = r"^[a-zA-Z0-9_-]+$"))]
    pub family: Option<String>,
    /// Task cpu: CPU units ("1024") or vCPUs ("1 vCPU").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 16))]
    pub cpu: Option<String>,
    /// Task memory: MiB ("2048") or GB ("2 GB").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 16))]
    pub memory: Option<String>,
    /// `awsvpc` (required on Fargate), `bridge`, `host` or `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["awsvpc", "bridge", "host", "none"]))]
    pub network_mode: Option<String>,
    /// Launch types the task must be valid for, e.g. `[FARGATE]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 3), extend("items" = {"type": "string", "enum": ["FARGATE", "EC2", "EXTERNAL", "MANAGED_INSTANCES"]}))]
    pub requires_compatibilities: Option<Vec<String>>,
    /// The role ECS uses to pull images and write logs: its ARN or its name (the account's role).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    // ECS (RegisterTaskDefinition.executionRoleArn) takes the role's ARN or its short name; IAM role
    // names are 1-64 characters of letters, digits and `+=,.@_-` (IAM CreateRole.RoleName).
    #[schemars(regex(pattern = r"^(arn:aws[a-z-]*:iam::[0-9]{12}:role/.+|[\w+=,.@-]{1,64})$"))]
    pub execution_role_arn: Option<String>,
    /// The role the task's containers assume: its ARN or its name (the account's role).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    // ECS (RegisterTaskDefinition.taskRoleArn): "The short name or full Amazon Resource Name (ARN) of
    // the IAM role that containers in this task can assume"; names as IAM CreateRole.RoleName.
    #[schemars(regex(pattern = r"^(arn:aws[a-z-]*:iam::[0-9]{12}:role/.+|[\w+=,.@-]{1,64})$"))]
    pub task_role_arn: Option<String>,
    /// The CPU architecture and operating system the task runs on. Left out, ECS's default: X86_64 Linux.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_platform: Option<RuntimePlatform>,
    /// Task storage beyond Fargate's default 20 GiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ephemeral_storage: Option<EphemeralStorage>,
    /// `task` is the only value Fargate supports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["host", "task"]))]
    pub pid_mode: Option<String>,
    /// Not supported on Fargate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["host", "task", "none"]))]
    pub ipc_mode: Option<String>,
    /// An App Mesh proxy for the task's traffic (`type: APPMESH`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_configuration: Option<ProxyConfiguration>,
    /// Let AWS Fault Injection Service inject faults into the task's containers (ECS's default: off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_fault_injection: Option<bool>,
    /// Volumes the containers may mount (`mountPoints[].sourceVolume` names them): task storage (`host`), EFS, or EBS configured at launch (`configuredAtLaunch`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 20))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["name".into()]))]
    pub volumes: Option<Vec<Volume>>,
    /// The containers of the task (1-10, unique names).
    #[schemars(length(min = 1, max = 10))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["name".into()]))]
    pub container_definitions: Vec<ContainerDefinition>,
    /// Tags on every revision (the controller adds its ownership and spec-hash tags).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 40))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["key".into()]))]
    pub tags: Vec<Tag>,
    /// How many older ACTIVE revisions to keep besides the current one (default 3). Older ones are
    /// deregistered, except those a FargateService still runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100))]
    pub revision_history_limit: Option<i32>,
    /// AWS region of the family; defaults to the controller's region. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-z]{2}(-[a-z]+)+-\d$"))]
    pub region: Option<String>,
    /// Adoption, deletion and management policies (`adoption`, `deletionPolicy`, `managementPolicy`).
    #[serde(flatten)]
    pub policies: super::Policies,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RuntimePlatform {
    /// `X86_64` or `ARM64`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["X86_64", "ARM64"]))]
    pub cpu_architecture: Option<String>,
    /// e.g. `LINUX`, `WINDOWS_SERVER_2022_CORE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operating_system_family: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EphemeralStorage {
    /// 21-200 GiB on Fargate.
    #[serde(rename = "sizeInGiB")]
    #[schemars(range(min = 21, max = 200))]
    pub size_in_gib: i32,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProxyConfiguration {
    /// `APPMESH`.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "type")]
    pub type_: Option<String>,
    /// The container that is the proxy (e.g. Envoy); it must be in `containerDefinitions`.
    pub container_name: String,
    /// The proxy's settings as name/value pairs (App Mesh: IgnoredUID, ProxyIngressPort, AppPorts, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<KeyValuePair>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Volume {
    /// The volume's name, as `mountPoints[].sourceVolume` gives it.
    #[schemars(length(min = 1, max = 255))]
    pub name: String,
    /// A bind mount on the host (on Fargate: task storage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<HostVolumeProperties>,
    /// An Amazon EFS file system mounted into the task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub efs_volume_configuration: Option<EfsVolumeConfiguration>,
    /// The volume is configured when the task or service starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configured_at_launch: Option<bool>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HostVolumeProperties {
    /// Path on the host to bind-mount (EC2 only; on Fargate leave `host` empty for task storage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_path: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
// ECS (EFSVolumeConfiguration.transitEncryption): "Transit encryption must be turned on if Amazon EFS
// IAM authorization is used"; (EFSAuthorizationConfig.accessPointId): "If an access point is specified,
// ... transit encryption must be on". With IAM DISABLED and no access point, it may be off.
#[x_kube(validation = Rule::new("!has(self.authorizationConfig) || ((!has(self.authorizationConfig.iam) || self.authorizationConfig.iam != 'ENABLED') && !has(self.authorizationConfig.accessPointId)) || (has(self.transitEncryption) && self.transitEncryption == 'ENABLED')").message("efsVolumeConfiguration: IAM authorization or an access point needs transitEncryption: ENABLED"))]
#[x_kube(validation = Rule::new("!has(self.authorizationConfig) || !has(self.authorizationConfig.accessPointId) || !has(self.rootDirectory) || self.rootDirectory == '/'").message("with an EFS access point, rootDirectory must be omitted or '/'"))]
pub struct EfsVolumeConfiguration {
    /// The EFS file system id (`fs-...`).
    #[schemars(regex(pattern = r"^fs-[0-9a-f]+$"))]
    pub file_system_id: String,
    /// Directory of the file system mounted as the volume's root (default `/`; with an access point it must be `/` or left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_directory: Option<String>,
    /// `ENABLED` or `DISABLED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["ENABLED", "DISABLED"]))]
    pub transit_encryption: Option<String>,
    /// Port for the encrypted traffic to EFS (default: chosen by the EFS mount helper).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub transit_encryption_port: Option<i32>,
    /// An EFS access point and/or IAM authorization with the task role (either needs transitEncryption ENABLED).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_config: Option<EfsAuthorizationConfig>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EfsAuthorizationConfig {
    /// The EFS access point (`fsap-...`) that sets the path and POSIX identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^fsap-[0-9a-f]+$"))]
    pub access_point_id: Option<String>,
    /// `ENABLED` or `DISABLED`: use the task role for EFS authorization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["ENABLED", "DISABLED"]))]
    pub iam: Option<String>,
}

/// One container, as in ECS's `containerDefinitions[]`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(self.memory) || !has(self.memoryReservation) || self.memoryReservation <= self.memory").message("memoryReservation must be <= memory"))]
#[x_kube(validation = Rule::new("!has(self.dependsOn) || self.dependsOn.all(d, d.containerName != self.name)").message("a container cannot depend on itself"))]
pub struct ContainerDefinition {
    /// The container's name, unique in the task (letters, digits, `_` and `-`). Other fields refer to it (dependsOn, links, load balancers, Service Connect).
    #[schemars(length(min = 1, max = 255), regex(pattern = r"^[a-zA-Z0-9_-]+$"))]
    pub name: String,
    /// The image, e.g. `public.ecr.aws/nginx/nginx:1.27` or `<account>.dkr.ecr.<region>.amazonaws.com/app@sha256:...`.
    #[schemars(length(min = 1, max = 1024))]
    pub image: String,
    /// Credentials for a private registry outside ECR (a Secrets Manager secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository_credentials: Option<RepositoryCredentials>,
    /// CPU units reserved for the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 196608))]
    pub cpu: Option<i32>,
    /// Hard memory limit (MiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 6))]
    pub memory: Option<i32>,
    /// Soft memory limit (MiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 6))]
    pub memory_reservation: Option<i32>,
    /// Defaults to true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub essential: Option<bool>,
    /// Ports the container listens on. With awsvpc (Fargate) the container port is the task's port.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100))]
    pub port_mappings: Vec<PortMapping>,
    /// Environment variables, compared by name (order does not matter).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100))]
    pub environment: Vec<KeyValuePair>,
    /// Files of `VAR=value` lines in S3, loaded into the environment at start.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 10))]
    pub environment_files: Vec<EnvironmentFile>,
    /// Environment variables whose values come from Secrets Manager or SSM Parameter Store at start (the execution role must be able to read them), compared by name (order does not matter).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 50))]
    pub secrets: Vec<Secret>,
    /// The command (Docker CMD); overrides the image's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    /// The entry point (Docker ENTRYPOINT); overrides the image's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entry_point: Vec<String>,
    /// The working directory of the command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_directory: Option<String>,
    /// A Docker health check; ECS marks the container (and, if essential, the task) unhealthy when it fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheck>,
    /// Where the container's output goes. Left out, a selecting FargateProfile with `logging` gives awslogs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_configuration: Option<LogConfiguration>,
    /// Makes this container the task's FireLens log router (Fluent Bit or Fluentd).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firelens_configuration: Option<FirelensConfiguration>,
    /// Containers that must reach a condition before this one starts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 10))]
    pub depends_on: Vec<ContainerDependency>,
    /// Containers this one reaches by name (bridge network mode only; not on Fargate).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<String>,
    /// Volumes of the task mounted into the container.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 20))]
    pub mount_points: Vec<MountPoint>,
    /// Mount every volume of another container of the task.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes_from: Vec<VolumeFrom>,
    /// Resource limits (`nofile`, ...) of the container's processes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ulimits: Vec<Ulimit>,
    /// Linux-specific settings: capabilities and an init process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linux_parameters: Option<LinuxParameters>,
    /// Mount the container's root file system read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readonly_root_filesystem: Option<bool>,
    /// The user (and group) to run as: `user`, `uid`, `user:group`, `uid:gid`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Seconds to wait before the container is killed after SIGTERM (Fargate: up to 120).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub stop_timeout: Option<i32>,
    /// Seconds to wait for dependencies to resolve (Fargate: up to 120).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub start_timeout: Option<i32>,
    /// Docker labels on the container.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub docker_labels: BTreeMap<String, String>,
    /// Restart the container in place when it exits, rather than stopping the task (ECS's default:
    /// off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<ContainerRestartPolicy>,
    /// Kernel parameters of the container's namespace (`sysctl`): `namespace` (e.g.
    /// `net.ipv4.tcp_keepalive_time`) and `value`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub system_controls: Vec<SystemControl>,
    /// `enabled` (ECS's default: the image tag is resolved to a digest once, so every task of a
    /// deployment runs the same image) or `disabled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["enabled", "disabled"]))]
    pub version_consistency: Option<String>,
    /// Keep stdin open (`docker run -i`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interactive: Option<bool>,
    /// Allocate a TTY (`docker run -t`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pseudo_terminal: Option<bool>,
    /// Active Directory gMSA credential specs (`credentialspec:arn:...` or `credentialspecdomainless:arn:...`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    // ECS (ContainerDefinition.credentialSpecs): "one credspec per container".
    #[schemars(length(max = 1))]
    pub credential_specs: Vec<String>,
}

/// How ECS restarts a container that exits.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContainerRestartPolicy {
    /// Turn restarts on.
    pub enabled: bool,
    /// Exit codes that do not restart the container.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    // ECS (ContainerRestartPolicy.ignoredExitCodes): "up to 50 container exit codes".
    #[schemars(length(max = 50))]
    pub ignored_exit_codes: Vec<i32>,
    /// Seconds a container must run before a restart is attempted again (ECS's default: 300).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    // ECS (ContainerRestartPolicy.restartAttemptPeriod): "minimum of 60 seconds and a maximum of 1800".
    #[schemars(range(min = 60, max = 1800))]
    pub restart_attempt_period: Option<i32>,
}

/// One kernel parameter.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SystemControl {
    /// The parameter, e.g. `net.core.somaxconn`.
    pub namespace: String,
    /// Its value.
    pub value: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RepositoryCredentials {
    /// The Secrets Manager secret with the registry credentials: its ARN, or its name when it is in the
    /// task's Region.
    // ECS (RepositoryCredentials.credentialsParameter): "if the secret exists in the same Region as the
    // task that you're launching then you can use either the full ARN or the name of the secret".
    // Secrets Manager names are 1-512 characters of letters, digits and `/_+=.@-` (CreateSecret.Name).
    #[schemars(regex(pattern = r"^(arn:aws[a-z-]*:secretsmanager:.+|[A-Za-z0-9/_+=.@-]{1,512})$"))]
    pub credentials_parameter: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
// ECS (PortMapping): a mapping names a containerPort, or a containerPortRange without hostPort ("You
// don't specify a hostPortRange").
#[x_kube(validation = Rule::new("has(self.containerPort) != has(self.containerPortRange)").message("a portMapping names containerPort or containerPortRange, not both"))]
#[x_kube(validation = Rule::new("!has(self.containerPortRange) || !has(self.hostPort)").message("a portMapping with containerPortRange takes no hostPort"))]
pub struct PortMapping {
    /// The port the container listens on (or `containerPortRange`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub container_port: Option<i32>,
    /// A range of container ports, `first-last` (e.g. `8000-8099`), bound to a range of host ports ECS
    /// chooses; instead of `containerPort`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    // ECS (PortMapping.containerPortRange): valid values between 1 and 65535, the first port less
    // than the last.
    #[schemars(regex(pattern = r"^[0-9]{1,5}-[0-9]{1,5}$"))]
    pub container_port_range: Option<String>,
    /// The host port. With awsvpc or host networking, left out or equal to containerPort; in bridge mode any port (0: dynamic).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub host_port: Option<i32>,
    /// `tcp` (default) or `udp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["tcp", "udp"]))]
    pub protocol: Option<String>,
    /// Name used by Service Connect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub name: Option<String>,
    /// `http`, `http2` or `grpc` (Service Connect).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["http", "http2", "grpc"]))]
    pub app_protocol: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct KeyValuePair {
    /// The name.
    #[schemars(length(min = 1))]
    pub name: String,
    /// The value.
    #[serde(default)]
    pub value: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentFile {
    /// ARN of the S3 object.
    #[schemars(regex(pattern = r"^arn:aws[a-z-]*:s3:::.+$"))]
    pub value: String,
    /// `s3`.
    #[serde(rename = "type")]
    #[schemars(extend("enum" = ["s3"]))]
    pub type_: String,
}

/// A secret from Secrets Manager or SSM Parameter Store.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.valueFrom.matches('^arn:aws[a-z-]*:(secretsmanager|ssm):[a-z0-9-]+:[0-9]{12}:.+$') || self.valueFrom.matches('^/?[a-zA-Z0-9_.-]+(/[a-zA-Z0-9_.-]+)*$')").message("secret valueFrom must be a Secrets Manager or SSM parameter ARN, or an SSM parameter name"))]
pub struct Secret {
    /// The environment variable (or log option) the secret fills.
    #[schemars(length(min = 1, max = 255))]
    pub name: String,
    /// The secret: a Secrets Manager ARN (optionally with `:json-key:version-stage:version-id`), an SSM parameter ARN, or an SSM parameter name in the task's region.
    #[schemars(length(min = 1, max = 1024))]
    pub value_from: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheck {
    /// e.g. `["CMD-SHELL", "curl -f http://localhost/ || exit 1"]`.
    #[schemars(length(min = 1))]
    pub command: Vec<String>,
    /// Seconds between checks (5-300, default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 5, max = 300))]
    pub interval: Option<i32>,
    /// Seconds a check may take before it counts as failed (2-60, default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 2, max = 60))]
    pub timeout: Option<i32>,
    /// Failed checks in a row before the container is unhealthy (1-10, default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 10))]
    pub retries: Option<i32>,
    /// Seconds of grace after start during which failed checks do not count (0-300; default none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 300))]
    pub start_period: Option<i32>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LogConfiguration {
    /// On Fargate: `awslogs`, `splunk` or `awsfirelens`.
    #[schemars(extend("enum" = ["awslogs", "awsfirelens", "splunk", "fluentd", "gelf", "json-file", "journald", "syslog"]))]
    pub log_driver: String,
    /// The log driver's options, e.g. awslogs-group, awslogs-region, awslogs-stream-prefix.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
    /// Log driver options whose values come from Secrets Manager or SSM.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 10))]
    pub secret_options: Vec<Secret>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FirelensConfiguration {
    /// `fluentd` or `fluentbit`.
    #[serde(rename = "type")]
    #[schemars(extend("enum" = ["fluentd", "fluentbit"]))]
    pub type_: String,
    /// FireLens options, e.g. `enable-ecs-log-metadata`, `config-file-type`, `config-file-value`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContainerDependency {
    /// The container depended on.
    #[schemars(length(min = 1, max = 255))]
    pub container_name: String,
    /// `START`, `COMPLETE`, `SUCCESS` or `HEALTHY`.
    #[schemars(extend("enum" = ["START", "COMPLETE", "SUCCESS", "HEALTHY"]))]
    pub condition: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MountPoint {
    /// The volume's name in `volumes`.
    #[schemars(length(min = 1, max = 255))]
    pub source_volume: String,
    /// Where the volume appears in the container.
    pub container_path: String,
    /// Mount read-only (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VolumeFrom {
    /// The container whose volumes are mounted.
    pub source_container: String,
    /// Mount them read-only (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Ulimit {
    /// e.g. `nofile`.
    pub name: String,
    /// The soft limit.
    pub soft_limit: i32,
    /// The hard limit.
    pub hard_limit: i32,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LinuxParameters {
    /// Linux capabilities added to or dropped from Docker's default set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<KernelCapabilities>,
    /// Run an init process that forwards signals and reaps processes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_process_enabled: Option<bool>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct KernelCapabilities {
    /// Fargate allows only `SYS_PTRACE` to be added.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add: Vec<String>,
    /// Capabilities to drop, e.g. `NET_RAW`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drop: Vec<String>,
}

/// Observed state of the task-definition family.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskDefinitionStatus {
    /// Conditions: `Ready`, plus `Reconciling` / `Stalled` as kstatus reads them.
    #[serde(default)]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` the controller last acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `true` once the controller has adopted an AWS resource it did not create (`spec.adoption`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adopted: Option<bool>,
    /// ARN of the revision that matches the current spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// The task-definition family in AWS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// The revision number of `arn`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<i32>,
    /// Hash of the spec the current revision was registered from (also a tag on the revision).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec_hash: Option<String>,
    /// Region the family lives in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// ACTIVE revisions this object registered, oldest first (the current one last).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub active_revisions: Vec<i32>,
    /// Revisions this object deregistered (`revisionHistoryLimit`) and has not deleted yet: its
    /// deletion deletes them without reading the family's INACTIVE history.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inactive_revisions: Vec<i32>,
    /// The FargateProfile that selects this object (its defaults and guard rails apply), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// The last value of the `ecs.kubefargate.dev/reconcile-requested-at` annotation handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
    /// The AWS account the object's resources live in, recorded at its first successful reconcile. If
    /// the namespace's account mapping later points elsewhere, the object is refused (`NoAwsAccount`)
    /// rather than recreated in the other account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
}
