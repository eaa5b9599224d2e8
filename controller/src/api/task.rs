//! `FargateTask`: run ECS tasks on Fargate to completion, and report the outcome the way a Job does.

use super::service::{LocalRef, NetworkConfiguration};
use super::task_definition::{EnvironmentFile, KeyValuePair};
use super::{Condition, Tag};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Condition types of a run-to-completion kind, as a Job writes them.
pub const COMPLETE: &str = "Complete";
pub const FAILED: &str = "Failed";

/// The spec fields that may change after creation (a Job's `activeDeadlineSeconds`, `suspend` and
/// `ttlSecondsAfterFinished` may, too). Every other field is immutable: a new run is a new object.
const PRESENCE_RULE: &str = "[has(self.clusterRef), has(self.clusterArn), has(self.taskDefinitionRef), has(self.taskDefinitionArn), has(self.overrides), has(self.networkConfiguration), has(self.launchType), has(self.capacityProviderStrategy), has(self.platformVersion), has(self.enableExecuteCommand), has(self.propagateTags), has(self.tags), has(self.volumeConfigurations), has(self.group), has(self.completions), has(self.parallelism), has(self.backoffLimit), has(self.failurePolicy), has(self.region), has(self.deletionPolicy)] == [has(oldSelf.clusterRef), has(oldSelf.clusterArn), has(oldSelf.taskDefinitionRef), has(oldSelf.taskDefinitionArn), has(oldSelf.overrides), has(oldSelf.networkConfiguration), has(oldSelf.launchType), has(oldSelf.capacityProviderStrategy), has(oldSelf.platformVersion), has(oldSelf.enableExecuteCommand), has(oldSelf.propagateTags), has(oldSelf.tags), has(oldSelf.volumeConfigurations), has(oldSelf.group), has(oldSelf.completions), has(oldSelf.parallelism), has(oldSelf.backoffLimit), has(oldSelf.failurePolicy), has(oldSelf.region), has(oldSelf.deletionPolicy)]";

/// Runs one or more ECS tasks on Fargate to completion, like a Kubernetes Job.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "ecs.kubefargate.dev",
    version = "v1alpha1",
    kind = "FargateTask",
    namespaced,
    status = "FargateTaskStatus",
    shortname = "ecstask",
    category = "ecs",
    printcolumn(name = "Status", type_ = "string", json_path = ".status.phase"),
    printcolumn(name = "Succeeded", type_ = "integer", json_path = ".status.succeeded"),
    printcolumn(name = "Failed", type_ = "integer", json_path = ".status.failed"),
    printcolumn(name = "Duration", type_ = "string", json_path = ".status.duration"),
    printcolumn(name = "Last-Exit", type_ = "integer", json_path = ".status.lastExitCode"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    printcolumn(
        name = "Reason",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].reason",
        priority = "1"
    ),
    printcolumn(
        name = "Message",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].message",
        priority = "1"
    ),
    doc = "ECS tasks on Fargate run to completion by ecs-controller, like a Kubernetes Job."
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!(has(self.clusterRef) && has(self.clusterArn))").message("set at most one of clusterRef or clusterArn (neither: the selecting FargateProfile's cluster)"))]
#[x_kube(validation = Rule::new("has(self.taskDefinitionRef) != has(self.taskDefinitionArn)").message("set exactly one of taskDefinitionRef or taskDefinitionArn"))]
#[x_kube(validation = Rule::new("!(has(self.launchType) && has(self.capacityProviderStrategy))").message("set launchType or capacityProviderStrategy, not both (RunTask: 'Specify either launchType or capacityProviderStrategy')"))]
#[x_kube(validation = Rule::new("!has(self.capacityProviderStrategy) || self.capacityProviderStrategy.filter(s, has(s.base) && s.base > 0).size() <= 1").message("capacityProviderStrategy: only one provider may set a base"))]
#[x_kube(validation = Rule::new(super::TAGS_RULE_RESERVED).message(super::TAGS_MESSAGE_RESERVED))]
#[x_kube(validation = Rule::new("!has(self.adoption) && !has(self.managementPolicy)").message("adoption and managementPolicy do not apply to a FargateTask: every task it runs is its own"))]
#[x_kube(validation = Rule::new("!has(self.parallelism) || !has(self.completions) || self.parallelism <= self.completions || self.completions == 0").message("parallelism may not exceed completions"))]
#[x_kube(validation = Rule::new(PRESENCE_RULE).message("the spec of a FargateTask is immutable except activeDeadlineSeconds, suspend and ttlSecondsAfterFinished: create a new FargateTask instead"))]
pub struct FargateTaskSpec {
    /// Name of an EcsCluster in this namespace. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self == oldSelf").message("clusterRef is immutable"))]
    pub cluster_ref: Option<LocalRef>,
    /// ARN of a cluster not managed here. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^arn:aws[a-z-]*:ecs:[a-z0-9-]+:[0-9]{12}:cluster/[a-zA-Z0-9_-]+$"))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("clusterArn is immutable"))]
    pub cluster_arn: Option<String>,
    /// Name of a TaskDefinition in this namespace. The revision current when the first task runs is
    /// recorded in `status.taskDefinitionArn` and every task of this object runs it. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self == oldSelf").message("taskDefinitionRef is immutable"))]
    pub task_definition_ref: Option<LocalRef>,
    /// A task-definition revision ARN (`family:revision`). Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(
        pattern = r"^arn:aws[a-z-]*:ecs:[a-z0-9-]+:[0-9]{12}:task-definition/[a-zA-Z0-9_-]+:[0-9]+$"
    ))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("taskDefinitionArn is immutable"))]
    pub task_definition_arn: Option<String>,
    /// RunTask's `overrides`: per-container command, environment, cpu and memory; task cpu, memory,
    /// roles and ephemeral storage. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self == oldSelf").message("overrides are immutable"))]
    pub overrides: Option<TaskOverride>,
    /// Subnets, security groups and public IP of the tasks (`awsvpc`, which Fargate requires).
    /// Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self == oldSelf").message("networkConfiguration is immutable"))]
    pub network_configuration: Option<NetworkConfiguration>,
    /// `FARGATE`. Left out together with `capacityProviderStrategy`, the cluster's default strategy
    /// places the tasks. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["FARGATE"]))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("launchType is immutable"))]
    pub launch_type: Option<String>,
    /// FARGATE / FARGATE_SPOT with base and weight. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 2))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["capacityProvider".into()]))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("capacityProviderStrategy is immutable"))]
    pub capacity_provider_strategy: Option<Vec<super::cluster::CapacityProviderStrategyItem>>,
    /// Fargate platform version, e.g. `LATEST` or `1.4.0`. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 16))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("platformVersion is immutable"))]
    pub platform_version: Option<String>,
    /// Allow `aws ecs execute-command` into the tasks. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self == oldSelf").message("enableExecuteCommand is immutable"))]
    pub enable_execute_command: Option<bool>,
    /// `TASK_DEFINITION` copies the task definition's tags to the tasks; `NONE` (default) does not.
    /// Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["TASK_DEFINITION", "NONE"]))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("propagateTags is immutable"))]
    pub propagate_tags: Option<String>,
    /// Tags of every task (besides the controller's ownership tags). Immutable.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 45))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["key".into()]))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("tags are immutable"))]
    pub tags: Vec<Tag>,
    /// EBS volumes created at launch for the task definition's volumes with `configuredAtLaunch`.
    /// Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("volumeConfigurations are immutable"))]
    pub volume_configurations: Option<Vec<TaskVolumeConfiguration>>,
    /// The task group (RunTask `group`; default `family:<family>`). Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 255))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("group is immutable"))]
    pub group: Option<String>,
    /// Tasks that must succeed (default 1). `0` completes at once. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 10000))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("completions is immutable"))]
    pub completions: Option<i32>,
    /// Tasks running at once (default 1). RunTask starts at most 10 per call; more take several
    /// calls. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("parallelism is immutable"))]
    pub parallelism: Option<i32>,
    /// Failed tasks tolerated: the object fails when more tasks than this have failed (default 3;
    /// a Job's is 6). Failures the failure policy ignores and capacity shortages at launch do not
    /// count. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 1000))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("backoffLimit is immutable"))]
    pub backoff_limit: Option<i32>,
    /// Seconds from the start of the run (`status.startTime`) after which running tasks are stopped
    /// and the object fails (reason `DeadlineExceeded`), launched or not. May change while it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub active_deadline_seconds: Option<i64>,
    /// Seconds after completion or failure at which the object is deleted (default: kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub ttl_seconds_after_finished: Option<i64>,
    /// `true` launches no new task (running ones are left to finish). May change at any time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
    /// How a stopped task's exit codes and stop code count, like a Job's `podFailurePolicy`; the first
    /// matching rule applies. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self == oldSelf").message("failurePolicy is immutable"))]
    pub failure_policy: Option<FailurePolicy>,
    /// AWS region; it is the cluster's region, and when set must match it. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-z]{2}(-[a-z]+)+-\d$"))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("region is immutable"))]
    pub region: Option<String>,
    /// `deletionPolicy`: `Delete` (default) stops running tasks when the object is deleted, `Retain`
    /// leaves them running. (`adoption` and `managementPolicy` do not apply to tasks.)
    #[serde(flatten)]
    pub policies: super::Policies,
}

/// RunTask's `overrides`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskOverride {
    /// One entry per container, by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 10))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["name".into()]))]
    pub container_overrides: Vec<ContainerOverride>,
    /// Task CPU units or vCPU (`"1024"`, `"1 vCPU"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    /// Task memory in MiB or GB (`"2048"`, `"2 GB"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    /// Role (ARN or short name) the containers' AWS calls use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_role_arn: Option<String>,
    /// Role (ARN or short name) ECS uses to pull images and write logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_role_arn: Option<String>,
    /// Task storage for this run (21-200 GiB on Fargate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ephemeral_storage: Option<super::task_definition::EphemeralStorage>,
}

/// One container's overrides.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContainerOverride {
    /// The container in the task definition.
    #[schemars(length(min = 1, max = 255))]
    pub name: String,
    /// Replaces the image's command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// Added to (or replacing by name) the container's environment.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub environment: Vec<KeyValuePair>,
    /// Environment files (S3) added to the container's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 10))]
    pub environment_files: Vec<EnvironmentFile>,
    /// The container's CPU units for this run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub cpu: Option<i32>,
    /// The container's hard memory limit (MiB) for this run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub memory: Option<i32>,
    /// The container's soft memory limit (MiB) for this run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub memory_reservation: Option<i32>,
}

/// An EBS volume ECS creates for each task at launch (`volumeConfigurations` of RunTask and of
/// CreateService), for a task definition volume marked `configuredAtLaunch`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskVolumeConfiguration {
    /// The volume's name in the task definition.
    #[schemars(length(min = 1, max = 255))]
    pub name: String,
    #[serde(rename = "managedEBSVolume")]
    pub managed_ebs_volume: ManagedEbsVolume,
}

/// The EBS volume (RunTask's `TaskManagedEBSVolumeConfiguration`, CreateService's
/// `ServiceManagedEBSVolumeConfiguration`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManagedEbsVolume {
    /// The role ECS uses to create and attach the volume.
    pub role_arn: String,
    /// Size in GiB (1-65536, by volume type; AWS name sizeInGiB). Left out, the snapshot's size; one of the two is needed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65536))]
    pub size_in_gi_b: Option<i32>,
    /// `gp3` (default), `gp2`, `io1`, `io2`, `st1`, `sc1`, `standard`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["gp2", "gp3", "io1", "io2", "st1", "sc1", "standard"]))]
    pub volume_type: Option<String>,
    /// Provisioned IOPS (gp3, io1, io2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iops: Option<i32>,
    /// Throughput in MiB/s (gp3 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throughput: Option<i32>,
    /// Encrypt the volume (with kmsKeyId, or the account's default EBS key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted: Option<bool>,
    /// The KMS key that encrypts the volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    /// Create the volume from this EBS snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_id: Option<String>,
    /// `ext3`, `ext4` (default) or `xfs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["ext3", "ext4", "xfs"]))]
    pub filesystem_type: Option<String>,
}

/// Rules that decide how a stopped task counts; the first that matches applies, else the task
/// counts as one failure.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FailurePolicy {
    /// Rules tried in order on every stopped task that did not succeed; the first that matches decides (like a Job's podFailurePolicy).
    #[schemars(length(min = 1, max = 20))]
    pub rules: Vec<FailurePolicyRule>,
}

/// One rule: an action, and the stop codes or exit codes it matches (one of the two).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.onStopCodes) != has(self.onExitCodes)").message("a failure policy rule sets exactly one of onStopCodes or onExitCodes"))]
pub struct FailurePolicyRule {
    /// `Ignore`: retried, not counted against backoffLimit. `Count`: counted (the default without a
    /// rule). `FailTask`: the object fails at once (a Job's `FailJob`).
    pub action: FailureAction,
    /// ECS stop codes, e.g. `SpotInterruption`, `TerminationNotice`, `TaskFailedToStart`,
    /// `EssentialContainerExited`, `ServiceSchedulerInitiated`, `UserInitiated`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 10))]
    pub on_stop_codes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_exit_codes: Option<ExitCodeRule>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum FailureAction {
    Ignore,
    #[default]
    Count,
    FailTask,
}

/// Matches a stopped task by a container's exit code. Containers that exited 0 are left out, as in a
/// Job's podFailurePolicy.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.operator != 'In' || !self.values.exists(v, v == 0)").message("onExitCodes: exit code 0 only with operator NotIn (containers that exited 0 are never matched)"))]
pub struct ExitCodeRule {
    /// Only this container (default: any container of the task).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_name: Option<String>,
    /// `In`: the rule matches when the container's exit code is one of `values`; `NotIn`: when it is none of them.
    pub operator: ExitCodeOperator,
    /// Exit codes (`0` only with `NotIn`).
    #[schemars(length(min = 1, max = 255))]
    pub values: Vec<i32>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum ExitCodeOperator {
    #[default]
    In,
    NotIn,
}

/// `Pending` (nothing launched yet), `Running`, `Succeeded`, `Failed`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum Phase {
    Pending,
    Running,
    Succeeded,
    Failed,
}

/// Observed state of the run.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct FargateTaskStatus {
    /// `Complete` / `Failed` like a Job's; `Ready` (True once complete), `Reconciling` while tasks
    /// run and `Stalled` when failed, as kstatus reads them.
    #[serde(default)]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` the controller last acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    /// When the run started (RFC 3339): its first reconcile with a cluster and a revision, as a Job's
    /// startTime; `activeDeadlineSeconds` counts from here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    /// When the run succeeded or failed (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_time: Option<String>,
    /// From the first launch to completion, once finished (e.g. `2m13s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    /// Tasks launched and not yet stopped.
    #[serde(default)]
    pub active: i32,
    /// Tasks that succeeded: stopped with every essential container exited 0.
    #[serde(default)]
    pub succeeded: i32,
    /// Tasks that failed and count against `backoffLimit`.
    #[serde(default)]
    pub failed: i32,
    /// Tasks that failed and do not count (failure policy `Ignore`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub ignored: i32,
    /// Launches whose tasks ECS could not place (capacity), retried and not counted.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub launch_failures: i32,
    /// The exit code of the task that stopped last: its first essential container's non-zero code, else 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_exit_code: Option<i32>,
    /// The task-definition revision every task of this object runs (pinned at the first launch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_definition_arn: Option<String>,
    /// ARN of the cluster the tasks run in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_arn: Option<String>,
    /// Region the tasks run in (their cluster's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The essential containers of the pinned revision: a task succeeds when all of them exit 0.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub essential_containers: Vec<String>,
    /// Where the pinned revision's containers log with awslogs (group and stream prefix).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub awslogs: Vec<AwsLogs>,
    /// The `startedBy` of every task of this object (a short form of its uid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_by: Option<String>,
    /// Launches asked of RunTask so far (each with its own client token).
    #[serde(default)]
    pub launches: i32,
    /// A launch recorded before its RunTask call, until its tasks are recorded: a restart finds its
    /// tasks by `startedBy` instead of launching again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_launch: Option<PendingLaunch>,
    /// When the last counted failure was seen (the next launch backs off from it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_failure_time: Option<String>,
    /// The tasks: every running one, and the 20 most recent stopped ones.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attempts: Vec<Attempt>,
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

fn is_zero(n: &i32) -> bool {
    *n == 0
}

/// A RunTask call about to be made (or made, if the controller stopped before recording its tasks).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PendingLaunch {
    /// RunTask's clientToken: `<uid>-<launch number>`.
    pub client_token: String,
    /// Tasks asked for (at most 10).
    pub count: i32,
}

/// One ECS task of this object.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    /// The task's ARN.
    pub task_arn: String,
    /// The clientToken of the RunTask call that started it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_token: Option<String>,
    /// ECS's lastStatus (PROVISIONING ... RUNNING ... STOPPED), or MISSING when ECS no longer knows it.
    pub last_status: String,
    /// `Succeeded`, `Failed` or `Ignored` once stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// ECS's stopCode: EssentialContainerExited, TaskFailedToStart, UserInitiated, SpotInterruption, ServiceSchedulerInitiated, TerminationNotice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_code: Option<String>,
    /// ECS's stoppedReason, in its own words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_reason: Option<String>,
    /// When ECS started the task (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// When the task stopped (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<String>,
    /// How each container of the task ended.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub containers: Vec<ContainerResult>,
}

/// How one container of a task ended.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContainerResult {
    /// The container's name.
    pub name: String,
    /// The container's exit code, once it exited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// ECS's reason for a container that did not exit on its own (e.g. OutOfMemoryError, CannotPullContainerError).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// CloudWatch Logs group and stream, when the container logs with awslogs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_group: Option<String>,
    /// The CloudWatch Logs stream of this container in this task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_stream: Option<String>,
}

/// The awslogs settings of one container of the pinned revision.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AwsLogs {
    /// The container's name.
    pub container: String,
    /// Its CloudWatch Logs group (`awslogs-group`).
    pub group: String,
    /// The stream of a task is `<prefix>/<container>/<task id>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_prefix: Option<String>,
}
